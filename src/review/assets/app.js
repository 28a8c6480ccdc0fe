// sohoa review screen. Served by `sohoa review`; talks only to the server it came from.
'use strict';

// The officer's token: from the address, else the one this browser last used here (links
// into the screen, from checks.html, carry none).
const TOKEN_KEY = 'sohoa-token-' + location.host;
let token = new URLSearchParams(location.search).get('token') || localStorage.getItem(TOKEN_KEY) || '';
// Changes not yet in the journal, kept per server address (keep the port across restarts).
const PENDING_KEY = 'sohoa-pending-' + location.host;
const KIND_HINT = {
  sex: '1 = Nam · 2 = Nữ · 3 = chưa xác định', date: 'dd.mm.yyyy (hoặc yyyy)', registration_number: 'số/năm, ví dụ 05/1983',
  id_number: '12 chữ số (9 với CMND cũ)',
};
const STATUS_TEXT = { ok: 'đủ điều kiện', manual: 'cần nhập tay', not_eligible: 'không đủ điều kiện', error: 'lỗi tệp' };
// The server's error codes, worded for officers.
const ERROR_TEXT = {
  too_long: 'giá trị quá dài (tối đa 500 ký tự)', no_reason: 'cần ghi lý do', no_page: 'không có trang này trong sổ',
  no_record: 'trang không có bản ghi này', no_field: 'trang không có ô này', error_page: 'trang lỗi tệp, không sửa được',
  bad_status: 'trạng thái không hợp lệ', bad_request: 'yêu cầu không hợp lệ', no_book: 'không có sổ này',
  journal: 'máy chủ không ghi được nhật ký duyệt', store: 'máy chủ không ghi được tệp trang', export: 'máy chủ không ghi được tệp xuất',
};
function errorText(status, body) {
  if (body && body.vi) return body.vi;
  if (body && ERROR_TEXT[body.code]) return ERROR_TEXT[body.code];
  if (status === 413) return 'yêu cầu quá lớn';
  if (status === 403) return 'máy chủ từ chối (địa chỉ hoặc nguồn không hợp lệ)';
  return (body && body.error) || ('lỗi ' + status);
}

const state = {
  labels: {}, groups: {}, kinds: {}, codes: {}, flagLabels: {}, books: [], book: null, page: null, rec: 0, field: null, others: [],
  view: { s: 1, x: 0, y: 0 }, imgSize: [1, 1],
};
const $ = (id) => document.getElementById(id);

function api(path, params) {
  const q = new URLSearchParams(Object.assign({}, params, { token }));
  return path + '?' + q.toString();
}
async function getJSON(path, params) {
  for (;;) {
    const r = await fetch(api(path, params), { cache: 'no-store' });
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) { await askLogin(); continue; }
    if (!r.ok) throw new Error(errorText(r.status, body));
    return body;
  }
}
async function postJSON(path, params, payload) {
  const r = await fetch(api(path, params), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload || {}),
  });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

// ---- a new address after the server restarted: the queue waits, nothing is dropped.
let login = null;
function askLogin() {
  if (login) return login;
  login = new Promise((resolve) => {
    const dlg = $('login-dialog');
    $('login-pending').textContent = queue.length;
    $('login-error').textContent = '';
    $('login-url').value = '';
    setSaveState('failed', 'CHƯA LƯU: cần địa chỉ mới của máy chủ (' + queue.length + ' thay đổi đang chờ)');
    const submit = (e) => {
      e.preventDefault();
      let url;
      try { url = new URL($('login-url').value.trim()); } catch (err) { url = null; }
      const t = url && url.searchParams.get('token');
      if (!t) { $('login-error').textContent = 'Địa chỉ phải có dạng http://…/?token=…'; return; }
      if (url.origin !== location.origin) {
        $('login-error').textContent = 'Địa chỉ này là của máy chủ khác (' + url.host + '). Các thay đổi đang chờ được giữ cho '
          + location.host + ': hãy chạy lại sohoa review với --port ' + (location.port || '80') + '.';
        return;
      }
      token = t;
      try { localStorage.setItem(TOKEN_KEY, t); } catch (err) { /* private mode */ }
      history.replaceState(null, '', location.pathname + '?token=' + encodeURIComponent(t) + location.hash);
      $('login-form').removeEventListener('submit', submit);
      dlg.close();
      login = null;
      resolve();
    };
    $('login-form').addEventListener('submit', submit);
    dlg.showModal();
    $('login-url').focus();
  });
  return login;
}

// ---- another officer changed what this one changes: show both values, let them choose.
function askConflict(item, resp) {
  return new Promise((resolve) => {
    const c = resp.conflict || {};
    const ch = item.change;
    $('conflict-who').textContent = c.by;
    $('conflict-when').textContent = fmtTime(c.at);
    const isField = ch.kind === 'field';
    $('conflict-field').textContent = isField ? (state.labels[ch.field] || ch.field) : 'bản ghi (hàng ' + ch.row + ')';
    $('conflict-values').hidden = !isField;
    $('conflict-theirs').textContent = c.value || '(trống)';
    $('conflict-mine').textContent = isField ? (ch.value || '(trống)') : '';
    $('conflict-keep').textContent = isField ? 'Giữ giá trị của tôi' : 'Vẫn duyệt';
    $('conflict-drop').textContent = isField ? 'Lấy giá trị của ' + c.by : 'Xem lại trước';
    const dlg = $('conflict-dialog');
    const done = (keep) => () => { dlg.close(); resolve(keep); };
    $('conflict-keep').onclick = done(true);
    $('conflict-drop').onclick = done(false);
    dlg.oncancel = (e) => e.preventDefault();
    dlg.showModal();
    $('conflict-drop').focus();
  });
}

// ---- saving: every change goes through one ordered queue, mirrored in localStorage so
// that a change not yet acknowledged survives a closed tab or a stopped server.
let queue = loadPending();
let sending = false;
function loadPending() {
  try { return JSON.parse(localStorage.getItem(PENDING_KEY) || '[]'); } catch (e) { return []; }
}
function storePending() {
  try { localStorage.setItem(PENDING_KEY, JSON.stringify(queue)); } catch (e) { /* private mode */ }
}
function setSaveState(kind, text) {
  const el = $('save-state');
  el.className = kind; el.textContent = text;
}
function send(book, change) {
  return new Promise((resolve) => {
    queue.push({ book, change });
    storePending();
    waiters.push(resolve);
    pump();
  });
}
let waiters = [];
async function pump() {
  if (sending) return;
  sending = true;
  while (queue.length) {
    const item = queue[0];
    setSaveState('saving', 'Đang lưu…');
    let resp;
    try {
      const r = await postJSON('/api/change', { book: item.book }, item.change);
      resp = r.body;
      if (r.status >= 500 || r.status === 0 || r.status === 408) throw new Error(errorText(r.status, resp));
      if (r.status === 401) {
        // A new server or a new token: the change stays queued until the new address is given.
        await askLogin();
        continue;
      }
      if (r.status === 409 && resp.code === 'page_reread') {
        // The page was read again from a new scan: the change was for what it was.
        queue.shift(); storePending();
        const open = state.book === item.book && state.page && state.page.name === item.change.page;
        applySaved(item.book, { page: resp.page });
        if (open) await openPage(item.change.page, state.rec);
        setSaveState('failed', 'KHÔNG LƯU: trang ' + item.change.page + ' vừa được đọc lại từ bản quét mới; hãy xem lại trang này');
        continue;
      }
      if (r.status === 409) {
        const keep = await askConflict(item, resp);
        if (keep) {
          item.change.base = resp.conflict.version; storePending();
        } else {
          queue.shift(); storePending();
          takeTheirs(item, resp);
          setSaveState('saved', 'Đã lấy giá trị của ' + resp.conflict.by);
        }
        continue;
      }
      if (r.status !== 200) {
        // Refused for good (e.g. a page read again since): drop it and say so.
        queue.shift(); storePending();
        setSaveState('failed', 'Không lưu được: ' + errorText(r.status, resp));
        continue;
      }
    } catch (e) {
      setSaveState('failed', 'CHƯA LƯU: mất kết nối máy chủ, đang thử lại…');
      await new Promise((r) => setTimeout(r, 1500));
      continue;
    }
    queue.shift(); storePending();
    setSaveState('saved', 'Đã lưu ' + new Date().toLocaleTimeString('vi-VN'));
    applySaved(item.book, resp);
  }
  sending = false;
  const w = waiters; waiters = [];
  w.forEach((f) => f());
}
// After a conflict the officer chose the other's value: the screen shows it.
function takeTheirs(item, resp) {
  applySaved(item.book, { page: resp.page });
  if (item.change.kind !== 'field' || !state.page || state.page.name !== item.change.page) return;
  const rec = record();
  const input = $('f-' + item.change.field);
  if (rec && rec.row === item.change.row && input) {
    input.value = (rec.fields[item.change.field] || {}).final_value || '';
    input.dataset.saved = input.value;
    showCode(input);
  }
}
function applySaved(book, resp) {
  const b = state.books.find((x) => x.name === book);
  if (b && resp.progress) b.progress = resp.progress;
  if (b && resp.page) {
    const p = b.pages.find((x) => x.name === resp.page.name);
    if (p) {
      p.status = resp.page.final_status;
      p.accepted = resp.page.records.filter((r) => r.accepted).length;
      p.doubtful = resp.page.records.filter((r) => !r.accepted && Object.values(r.fields).some((f) => f.doubtful)).length;
    }
  }
  if (state.book === book && state.page && resp.page && state.page.name === resp.page.name) {
    state.page = resp.page;
    decorate();
  }
  renderProgress(); renderPageList();
}
window.addEventListener('pagehide', () => {
  // Whatever is still typed goes into the pending queue (sent on the next visit).
  flushTyping(false);
  storePending();
});

// ---- books, pages, records
async function loadBooks() {
  const data = await getJSON('/api/books');
  state.labels = Object.fromEntries(data.labels);
  state.groups = data.groups || {};
  state.flagLabels = data.flag_labels || {};
  state.kinds = Object.fromEntries(data.kinds);
  state.codes = data.codes || {};
  state.books = data.books;
  state.user = data.user;
  try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode */ }
  $('user').textContent = 'Người duyệt: ' + data.user;
  const sel = $('book');
  sel.innerHTML = '';
  for (const b of data.books) sel.add(new Option(b.name, b.name));
}
function book() { return state.books.find((b) => b.name === state.book); }

function renderProgress() {
  const b = book(); if (!b) return;
  const p = b.progress;
  $('progress').innerHTML = '';
  const add = (label, n, title) => {
    const s = document.createElement('span'); s.title = title;
    s.append(label + ' '); const v = document.createElement('b'); v.textContent = n; s.append(v, '   ');
    $('progress').append(s);
  };
  add('Đã duyệt', p.accepted + '/' + p.records, 'bản ghi đã duyệt / bản ghi trên các trang đủ điều kiện');
  add('Cần xem', p.to_check, 'bản ghi chưa duyệt (' + p.doubtful + ' có ô nghi ngờ)');
  if (p.manual) add('Trang cần nhập tay', p.manual, 'trang đọc được nhưng không tìm thấy bản ghi: nhập tay');
  add('Trang không đủ điều kiện', p.not_eligible, 'trang');
  if (p.errors) add('Tệp lỗi', p.errors, 'trang không giải mã được');
  $('progress').dataset.accepted = p.accepted;
  $('progress').dataset.toCheck = p.to_check;
}
function renderPageList() {
  const b = book(); if (!b) return;
  const nav = $('pages');
  nav.innerHTML = '';
  for (const p of b.pages) {
    const el = document.createElement('button');
    el.type = 'button'; el.dataset.page = p.name;
    el.className = p.status + (state.page && p.name === state.page.name ? ' current' : '')
      + (p.status === 'ok' && p.records && p.accepted === p.records ? ' done' : '')
      + (p.status === 'ok' && p.doubtful ? ' attention' : '');
    const label = document.createElement('span'); label.className = 'label'; label.textContent = 'Tr. ' + p.page;
    const count = document.createElement('span'); count.className = 'count';
    count.textContent = (p.findings ? '⚑ ' : '') + (p.status === 'ok' ? p.accepted + '/' + p.records : STATUS_TEXT[p.status]);
    if (p.findings) count.title = p.findings + ' phát hiện của kiểm tra sổ';
    const there = state.others.filter((o) => o.page === p.name).map((o) => o.by);
    el.title = p.name + (there.length ? ' · đang mở: ' + there.join(', ') : '');
    if (there.length) {
      el.classList.add('others');
      const who = document.createElement('span'); who.className = 'who'; who.textContent = there.join(', ');
      label.append(who);
    }
    el.append(label, count);
    el.addEventListener('click', () => openPage(p.name, 0));
    nav.append(el);
  }
}

async function openPage(name, rec, fieldIndex) {
  flushTyping(true);
  const page = await getJSON('/api/page', { book: state.book, page: name });
  state.page = page;
  state.rec = Math.max(0, Math.min(rec || 0, page.records.length - 1));
  const img = $('page-img');
  const msg = $('page-message');
  if (page.image) {
    img.hidden = false;
    const loaded = new Promise((res) => { img.onload = res; img.onerror = res; });
    img.src = api('/api/image', { book: state.book, page: name });
    await loaded;
    state.imgSize = page.size;
    const svg = $('boxes');
    svg.setAttribute('viewBox', '0 0 ' + page.size[0] + ' ' + page.size[1]);
    svg.setAttribute('width', page.size[0]); svg.setAttribute('height', page.size[1]);
    img.width = page.size[0]; img.height = page.size[1];
  } else {
    img.hidden = true; img.removeAttribute('src');
  }
  const status = page.final_status;
  if (status !== 'ok') {
    msg.hidden = false;
    const why = page.review ? page.review.reason + ' (' + page.review.by + ')' : reasonsText(page);
    msg.textContent = 'Trang ' + STATUS_TEXT[status] + ': ' + why;
  } else {
    msg.hidden = true;
  }
  renderPageList();
  renderPanel(fieldIndex);
  fit();
  showRecord();
  presenceTick();
  location.replace('#' + encodeURIComponent(state.book) + '/' + encodeURIComponent(name) + '/' + (state.rec + 1));
}

// The page's reasons in Vietnamese (by their codes), the English text for older results.
function reasonsText(page) {
  if (page.reason_codes && page.reason_codes.length) return page.reason_codes.map((r) => r.vi).join('; ');
  return (page.reasons || []).join('; ');
}
// A coded field's value with what the code means: "2 — Nữ", "4 — Đăng ký quá hạn".
function codeText(field, value) {
  const codes = state.codes[field];
  if (!codes || !value) return '';
  return codes[value] ? value + ' — ' + codes[value] : value + ' — mã không hợp lệ (' + Object.entries(codes).map(([k, v]) => k + ' = ' + v).join(', ') + ')';
}
function showCode(input) {
  const el = input.parentElement && input.parentElement.querySelector('.code-label');
  if (el) el.textContent = codeText(input.name, input.value.trim());
}
// The codes a coded field takes, offered as the officer types (the browser's list).
function codeList(field) {
  const list = document.createElement('datalist');
  list.id = 'codes-' + field;
  for (const [code, meaning] of Object.entries(state.codes[field])) list.append(new Option(meaning, code));
  return list;
}
function record() { return state.page && state.page.records[state.rec]; }
function columnsOf(page) { return page.columns.filter((c) => !/^col\d+$/.test(c)); }

function renderPanel(fieldIndex) {
  const page = state.page;
  const info = $('page-info');
  info.innerHTML = '';
  const st = document.createElement('span');
  st.className = 'status ' + page.final_status; st.textContent = STATUS_TEXT[page.final_status];
  info.append('Trang ' + page.page + ' · ' + page.source + ' · ', st);
  if (page.review) info.append(' (' + page.review.by + ', ' + fmtTime(page.review.at) + ')');
  for (const f of (page.findings || []).filter((x) => x.at.row == null)) {
    const s = document.createElement('div'); s.className = 'finding'; s.dataset.code = f.code;
    s.textContent = '⚑ ' + f.vi;
    info.append(s);
  }
  $('toggle-page').textContent = '';
  const readable = page.final_status === 'ok' || page.final_status === 'manual';
  $('toggle-page').append(readable ? 'Trang không đủ điều kiện ' : 'Trang đủ điều kiện ', kbd('F4'));
  $('toggle-page').disabled = !page.editable;
  const form = $('fields');
  form.innerHTML = '';
  const rec = record();
  if (!rec) {
    $('record-head').textContent = page.final_status === 'error' ? 'Tệp không đọc được.'
      : page.final_status === 'manual' ? 'Không tìm thấy bản ghi trên trang: nhập tay.' : 'Trang này không có bản ghi.';
    $('accept').disabled = true;
    return;
  }
  const editable = page.final_status === 'ok';
  $('accept').disabled = !editable;
  const fs = document.createElement('fieldset');
  fs.disabled = !editable; fs.style.border = '0'; fs.style.padding = '0'; fs.style.margin = '0';
  form.append(fs);
  let group = null;
  for (const id of columnsOf(page)) {
    const f = rec.fields[id];
    // Fields of one person under their heading: Bên chồng / Bên vợ, người chết / người đi khai.
    const g = state.groups[id] || null;
    if (g && g !== group) {
      const head = document.createElement('div');
      head.className = 'field-group'; head.textContent = g;
      fs.append(head);
    }
    group = g;
    const row = document.createElement('div');
    row.className = 'field'; row.dataset.field = id;
    const label = document.createElement('label');
    label.htmlFor = 'f-' + id;
    label.append((state.labels[id] || id) + ' ');
    const code = document.createElement('code'); code.textContent = id; label.append(code);
    const crop = document.createElement('div'); crop.className = 'crop';
    if (f && f.bbox[2] > 0) setCrop(crop, f.bbox);
    const input = document.createElement('input');
    input.id = 'f-' + id; input.name = id; input.lang = 'vi'; input.spellcheck = false;
    input.autocomplete = 'off'; input.value = f ? f.final_value : '';
    input.dataset.saved = input.value;
    const hint = KIND_HINT[state.kinds[id]]
      || (state.codes[id] && Object.entries(state.codes[id]).map(([k, v]) => k + ' = ' + v).join(' · '));
    if (hint) { input.placeholder = hint; input.title = hint; }
    input.addEventListener('focus', () => { state.field = id; highlightField(); });
    input.addEventListener('input', (e) => { showCode(input); if (!e.isComposing) scheduleSave(input); });
    input.addEventListener('compositionend', () => scheduleSave(input));
    input.addEventListener('change', () => saveField(input));
    const note = document.createElement('div'); note.className = 'note';
    row.append(label, crop, input);
    if (state.codes[id]) {
      const cl = document.createElement('div'); cl.className = 'code-label'; row.append(cl);
      input.setAttribute('list', 'codes-' + id); row.append(codeList(id));
    }
    row.append(note);
    fs.append(row);
    showCode(input);
  }
  decorate();
  const inputs = fieldInputs();
  if (inputs.length && editable) {
    let i = fieldIndex === 'last' ? inputs.length - 1 : (fieldIndex || 0);
    if (fieldIndex === 'doubtful') i = Math.max(0, inputs.findIndex((x) => (rec.fields[x.name] || {}).doubtful));
    inputs[Math.min(i, inputs.length - 1)].focus();
  }
}
function kbd(t) { const k = document.createElement('kbd'); k.textContent = t; return k; }
function fmtTime(at) { const d = new Date(at); return isNaN(d) ? at : d.toLocaleString('vi-VN'); }

// Classes and notes that follow the saved state, without touching what is being typed.
function decorate() {
  const rec = record(); if (!rec) return;
  const head = $('record-head');
  head.innerHTML = '';
  head.append('Bản ghi ' + (state.rec + 1) + '/' + state.page.records.length + ' (hàng ' + rec.row + ') ');
  if (rec.accepted) {
    const s = document.createElement('span'); s.className = 'accepted';
    s.textContent = '✓ đã duyệt · ' + rec.accepted.by + ' · ' + fmtTime(rec.accepted.at);
    head.append(s);
  }
  head.dataset.accepted = rec.accepted ? 'yes' : 'no';
  const here = state.others.filter((o) => o.page === state.page.name && o.row === rec.row).map((o) => o.by);
  if (here.length) {
    const s = document.createElement('div'); s.className = 'others';
    s.textContent = '⚠ ' + here.join(', ') + ' cũng đang mở bản ghi này';
    head.append(s);
  }
  head.dataset.others = here.join(',');
  const found = (state.page.findings || []).filter((f) => f.at.row === rec.row);
  for (const f of found) {
    const s = document.createElement('div'); s.className = 'finding'; s.dataset.code = f.code;
    s.textContent = '⚑ ' + f.vi;
    head.append(s);
  }
  $('accept').textContent = '';
  $('accept').append(rec.accepted ? 'Bỏ duyệt ' : 'Duyệt bản ghi ', kbd('Ctrl+Enter'));
  $('accept').classList.toggle('undo', !!rec.accepted);
  for (const row of document.querySelectorAll('#fields .field')) {
    const f = rec.fields[row.dataset.field];
    row.classList.toggle('doubtful', !!(f && f.doubtful));
    row.classList.toggle('corrected', !!(f && f.review));
    const note = row.querySelector('.note');
    const parts = [];
    const ocr = codeText(row.dataset.field, f && f.value) || (f && f.value);
    if (f && f.review) parts.push('đã sửa: ' + f.review.by + ', ' + fmtTime(f.review.at) + ' · OCR: «' + ocr + '»');
    if (f && f.flags.length && !(f.flags.length === 1 && f.flags[0] === 'empty'))
      parts.push(f.flags.map((x) => state.flagLabels[x] || x).join(', '));
    if (f && f.text) parts.push('tin cậy ' + Math.round(f.confidence * 100) + '%');
    note.textContent = parts.join(' · ');
  }
  drawBoxes();
}

function setCrop(el, bbox) {
  const pad = 4;
  const [x, y, w, h] = [bbox[0] - pad, bbox[1] - pad, bbox[2] + 2 * pad, bbox[3] + 2 * pad];
  const s = Math.min(420 / w, 56 / h, 2);
  el.style.width = Math.round(w * s) + 'px';
  el.style.height = Math.round(h * s) + 'px';
  el.style.backgroundImage = 'url("' + api('/api/image', { book: state.book, page: state.page.name }) + '")';
  el.style.backgroundSize = Math.round(state.page.size[0] * s) + 'px ' + Math.round(state.page.size[1] * s) + 'px';
  el.style.backgroundPosition = Math.round(-x * s) + 'px ' + Math.round(-y * s) + 'px';
}

function fieldInputs() { return Array.from(document.querySelectorAll('#fields input')); }

// ---- typing and saving fields
const timers = new Map();
function scheduleSave(input) {
  clearTimeout(timers.get(input));
  timers.set(input, setTimeout(() => saveField(input), 700));
}
function saveField(input) {
  clearTimeout(timers.get(input)); timers.delete(input);
  const value = input.value.normalize('NFC');
  if (value === input.dataset.saved) return Promise.resolve();
  input.dataset.saved = value;
  const rec = record();
  return send(state.book, { page: state.page.name, sha256: state.page.sha256, kind: 'field', row: rec.row, field: input.name, value, base: rec.version });
}
// Saves every field still waiting for its timer (before leaving a record or the page).
function flushTyping(wait) {
  const all = fieldInputs().map((i) => saveField(i));
  return wait ? Promise.all(all) : null;
}

// ---- the page image: zoom, pan, boxes
function applyView() {
  const v = state.view;
  $('stage').style.transform = 'translate(' + v.x + 'px,' + v.y + 'px) scale(' + v.s + ')';
}
function fit() {
  const vw = $('viewer').clientWidth, vh = $('viewer').clientHeight;
  const [w, h] = state.imgSize;
  const s = Math.min(vw / w, vh / h);
  state.view = { s, x: (vw - w * s) / 2, y: Math.max(0, (vh - h * s) / 2) };
  applyView();
}
function zoomAt(factor, cx, cy) {
  const v = state.view;
  const s = Math.min(8, Math.max(0.05, v.s * factor));
  v.x = cx - (cx - v.x) * (s / v.s); v.y = cy - (cy - v.y) * (s / v.s); v.s = s;
  applyView();
}
function zoomCenter(factor) {
  const el = $('viewer'); zoomAt(factor, el.clientWidth / 2, el.clientHeight / 2);
}
// Brings a box of the page into view, zooming in so that the row is readable.
function reveal(bbox, minScale) {
  const el = $('viewer'); const v = state.view;
  const vw = el.clientWidth, vh = el.clientHeight;
  if (minScale && v.s < minScale) v.s = Math.min(minScale, vw / Math.max(1, bbox[2]));
  const x0 = v.x + bbox[0] * v.s, y0 = v.y + bbox[1] * v.s;
  const x1 = x0 + bbox[2] * v.s, y1 = y0 + bbox[3] * v.s;
  if (x0 < 0 || x1 > vw) v.x += (vw - (x1 - x0)) / 2 - x0;
  if (y0 < 0 || y1 > vh) v.y += (vh - (y1 - y0)) / 2 - y0;
  applyView();
}
function drawBoxes() {
  const svg = $('boxes');
  svg.innerHTML = '';
  const page = state.page; if (!page) return;
  const NS = 'http://www.w3.org/2000/svg';
  page.records.forEach((r, i) => {
    const rect = document.createElementNS(NS, 'rect');
    const [x, y, w, h] = r.bbox;
    rect.setAttribute('x', x); rect.setAttribute('y', y); rect.setAttribute('width', w); rect.setAttribute('height', h);
    rect.setAttribute('class', 'row' + (i === state.rec ? ' current' : ''));
    svg.append(rect);
    if (i !== state.rec) return;
    for (const [id, f] of Object.entries(r.fields)) {
      if (!f.bbox[2]) continue;
      const c = document.createElementNS(NS, 'rect');
      c.setAttribute('x', f.bbox[0]); c.setAttribute('y', f.bbox[1]);
      c.setAttribute('width', f.bbox[2]); c.setAttribute('height', f.bbox[3]);
      c.setAttribute('class', 'cell' + (f.doubtful ? ' doubtful' : '') + (id === state.field ? ' focus' : ''));
      c.dataset.field = id;
      svg.append(c);
    }
  });
}
function showRecord() {
  const rec = record();
  if (rec) reveal(rec.bbox, 0);
}
function highlightField() {
  for (const row of document.querySelectorAll('#fields .field'))
    row.classList.toggle('current', row.dataset.field === state.field);
  drawBoxes();
  const rec = record();
  const f = rec && rec.fields[state.field];
  if (f && f.bbox[2]) reveal(f.bbox, 0);
}

(function panAndZoom() {
  const el = $('viewer');
  el.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = el.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  el.addEventListener('pointerdown', (e) => {
    if (e.target.closest('#zoom')) return;
    drag = { x: e.clientX, y: e.clientY, vx: state.view.x, vy: state.view.y };
    el.setPointerCapture(e.pointerId); el.classList.add('panning');
  });
  el.addEventListener('pointermove', (e) => {
    if (!drag) return;
    state.view.x = drag.vx + e.clientX - drag.x; state.view.y = drag.vy + e.clientY - drag.y; applyView();
  });
  const end = () => { drag = null; el.classList.remove('panning'); };
  el.addEventListener('pointerup', end); el.addEventListener('pointercancel', end);
  for (const b of document.querySelectorAll('#zoom button')) {
    b.addEventListener('click', () => {
      if (b.dataset.zoom === 'in') zoomCenter(1.25);
      else if (b.dataset.zoom === 'out') zoomCenter(0.8);
      else fit();
    });
  }
  window.addEventListener('resize', () => fit());
})();

// ---- moving between fields, records and pages
async function gotoRecord(i, fieldIndex) {
  await flushTyping(true);
  state.rec = i; state.field = null;
  renderPanel(fieldIndex); showRecord();
  presenceTick();
  location.replace('#' + encodeURIComponent(state.book) + '/' + encodeURIComponent(state.page.name) + '/' + (i + 1));
}
function okPages() { return book().pages.filter((p) => p.status === 'ok'); }

// The next record (after the current one, across pages, wrapping) that `want` accepts;
// `pageMay` says from the page list whether a page can hold one.
async function nextWhere(want, pageMay, fieldIndex) {
  await flushTyping(true);
  const recs = state.page.records;
  for (let i = state.rec + 1; i < recs.length; i++) if (state.page.final_status === 'ok' && want(recs[i])) return gotoRecord(i, fieldIndex);
  const pages = book().pages;
  const at = pages.findIndex((p) => p.name === state.page.name);
  for (let k = 1; k <= pages.length; k++) {
    const p = pages[(at + k) % pages.length];
    if (p.status !== 'ok' || !pageMay(p)) continue;
    const data = await getJSON('/api/page', { book: state.book, page: p.name });
    const i = data.records.findIndex(want);
    if (i >= 0) return openPage(p.name, i, fieldIndex);
  }
  for (let i = 0; i <= state.rec && i < recs.length; i++) if (state.page.final_status === 'ok' && want(recs[i])) return gotoRecord(i, fieldIndex);
  setSaveState('saved', 'Không còn bản ghi nào cần xem trong sổ này.');
}
const unaccepted = (r) => !r.accepted;
const needsAttention = (r) => !r.accepted && Object.values(r.fields).some((f) => f.doubtful);
async function nextAttention() {
  const b = book();
  if (b.progress.doubtful > 0) return nextWhere(needsAttention, (p) => p.doubtful > 0, 'doubtful');
  return nextWhere(unaccepted, (p) => p.accepted < p.records);
}
async function acceptRecord() {
  const rec = record();
  if (!rec || state.page.final_status !== 'ok') return;
  await flushTyping(true);
  const accepted = !rec.accepted;
  await send(state.book, { page: state.page.name, sha256: state.page.sha256, kind: 'accept', row: rec.row, accepted, base: rec.version });
  if (accepted) await nextWhere(unaccepted, (p) => p.accepted < p.records);
}
async function gotoPage(delta) {
  const pages = book().pages;
  const at = pages.findIndex((p) => p.name === state.page.name);
  const p = pages[at + delta];
  if (p) await openPage(p.name, delta < 0 ? 1e9 : 0);
}
async function togglePage() {
  const page = state.page;
  if (!page || !page.editable) return;
  await flushTyping(true);
  if (page.final_status === 'ok' || page.final_status === 'manual') {
    const dlg = $('reason-dialog');
    $('reason').value = '';
    dlg.showModal();
    $('reason').focus();
  } else {
    await send(state.book, { page: page.name, sha256: page.sha256, kind: 'status', status: 'ok', reason: 'Cán bộ xác nhận đọc được' });
    await openPage(page.name, state.rec);
  }
}
$('reason-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const reason = $('reason').value.normalize('NFC').trim();
  if (!reason) return;
  $('reason-dialog').close();
  await send(state.book, { page: state.page.name, sha256: state.page.sha256, kind: 'status', status: 'not_eligible', reason });
  await openPage(state.page.name, state.rec);
});
$('reason-cancel').addEventListener('click', () => $('reason-dialog').close());

document.addEventListener('keydown', async (e) => {
  if (e.isComposing || e.keyCode === 229) return; // the input method is composing
  if ($('reason-dialog').open || $('login-dialog').open || $('conflict-dialog').open || $('team-dialog').open) return;
  const inField = e.target instanceof HTMLInputElement && e.target.closest('#fields');
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault(); await acceptRecord(); return;
  }
  if (e.key === 'Enter' && inField) {
    e.preventDefault();
    const inputs = fieldInputs();
    const i = inputs.indexOf(e.target);
    saveField(e.target);
    if (e.shiftKey) {
      if (i > 0) inputs[i - 1].focus();
      else if (state.rec > 0) await gotoRecord(state.rec - 1, 'last');
    } else if (i + 1 < inputs.length) inputs[i + 1].focus();
    else if (state.rec + 1 < state.page.records.length) await gotoRecord(state.rec + 1);
    return;
  }
  if (e.key === 'F2') { e.preventDefault(); await nextAttention(); return; }
  if (e.key === 'F4') { e.preventDefault(); await togglePage(); return; }
  if (e.altKey && e.key === 'ArrowDown') {
    e.preventDefault();
    if (state.rec + 1 < state.page.records.length) await gotoRecord(state.rec + 1); else await gotoPage(1);
    return;
  }
  if (e.altKey && e.key === 'ArrowUp') {
    e.preventDefault();
    if (state.rec > 0) await gotoRecord(state.rec - 1); else await gotoPage(-1);
    return;
  }
  if (e.key === 'PageDown') { e.preventDefault(); await gotoPage(1); return; }
  if (e.key === 'PageUp') { e.preventDefault(); await gotoPage(-1); return; }
  if (e.altKey && (e.key === '=' || e.key === '+')) { e.preventDefault(); zoomCenter(1.25); return; }
  if (e.altKey && e.key === '-') { e.preventDefault(); zoomCenter(0.8); return; }
  if (e.altKey && e.key === '0') { e.preventDefault(); fit(); }
});
$('accept').addEventListener('click', acceptRecord);
$('next-attention').addEventListener('click', nextAttention);
$('toggle-page').addEventListener('click', togglePage);
$('book').addEventListener('change', async () => {
  await flushTyping(true);
  state.book = $('book').value;
  renderProgress();
  await openFirst();
});
$('export').addEventListener('click', async () => {
  await flushTyping(true);
  await new Promise((r) => { waiters.push(r); pump(); });
  try {
    let r = await postJSON('/api/export', { book: state.book });
    if (r.status === 401) { await askLogin(); r = await postJSON('/api/export', { book: state.book }); }
    const body = r.body;
    if (r.status !== 200) throw new Error(errorText(r.status, body));
    setSaveState('saved', 'Đã xuất ' + body.rows + ' dòng (' + body.confirmed + ' đã duyệt): ' + body.files.join(', '));
  } catch (err) {
    setSaveState('failed', 'Xuất thất bại: ' + err.message);
  }
});

// ---- who else is here: the screen says where it is every few seconds and learns where
// the others are and which records of this page changed.
async function presenceTick() {
  const page = state.page, rec = record();
  if (!page || login) return;
  let r;
  try { r = await postJSON('/api/presence', { book: state.book }, { page: page.name, row: rec ? rec.row : 0 }); } catch (e) { return; }
  if (r.status !== 200 || state.page !== page) return;
  state.others = r.body.others || [];
  renderPageList();
  const changed = (r.body.versions || []).some((v) => {
    const mine = page.records.find((x) => x.row === v.row);
    return mine && mine.version !== v.version;
  });
  const waiting = queue.some((q) => q.change.page === page.name) || timers.size > 0;
  if (changed && !waiting) await refreshPage(); else decorate();
}
// Another officer changed this page: take their values where nothing is being typed.
async function refreshPage() {
  const fresh = await getJSON('/api/page', { book: state.book, page: state.page.name });
  if (!state.page || fresh.name !== state.page.name) return;
  state.page = fresh;
  const rec = record();
  for (const input of fieldInputs()) {
    if (input.value !== input.dataset.saved) continue;
    const f = rec && rec.fields[input.name];
    input.value = f ? f.final_value : '';
    input.dataset.saved = input.value;
    showCode(input);
  }
  decorate();
}
setInterval(presenceTick, 5000);

async function showTeam() {
  const data = await getJSON('/api/team');
  const body = $('team-table').tBodies[0];
  body.innerHTML = '';
  const cell = (tr, text) => { const td = document.createElement('td'); td.textContent = text; tr.append(td); };
  const types = {};
  for (const b of data.books) {
    const officers = Object.entries(b.officers);
    const p = b.progress;
    const t = types[b.book_type] || (types[b.book_type] = { books: 0, accepted: 0, records: 0, not_eligible: 0 });
    t.books += 1; t.accepted += p.accepted; t.records += p.records; t.not_eligible += p.not_eligible;
    const tr = document.createElement('tr'); tr.className = 'book';
    cell(tr, b.name + ' (' + (data.type_names[b.book_type] || b.book_type) + ')'); cell(tr, 'cả sổ');
    cell(tr, ''); cell(tr, p.accepted + '/' + p.records); cell(tr, p.not_eligible); cell(tr, '');
    body.append(tr);
    for (const [name, w] of officers) {
      const r = document.createElement('tr');
      cell(r, ''); cell(r, name); cell(r, w.fields); cell(r, w.accepted); cell(r, w.pages); cell(r, fmtTime(w.last));
      body.append(r);
    }
  }
  // Each book type's books and records together.
  for (const [code, t] of Object.entries(types)) {
    const tr = document.createElement('tr'); tr.className = 'book book-type'; tr.dataset.type = code;
    cell(tr, 'Sổ ' + (data.type_names[code] || code) + ': ' + t.books + ' sổ'); cell(tr, 'theo loại');
    cell(tr, ''); cell(tr, t.accepted + '/' + t.records); cell(tr, t.not_eligible); cell(tr, '');
    body.append(tr);
  }
  $('team-present').textContent = data.present.length
    ? 'Đang làm việc: ' + data.present.map((o) => o.by + ' (' + o.book + ', ' + o.page + ', hàng ' + o.row + ')').join('; ')
    : 'Không có ai khác đang mở sổ.';
  $('team-dialog').showModal();
}
$('team').addEventListener('click', showTeam);
$('team-close').addEventListener('click', () => $('team-dialog').close());

async function openFirst() {
  const pages = book().pages;
  const p = pages.find((x) => x.status === 'ok' && x.accepted < x.records) || pages[0];
  await openPage(p.name, 0);
  const r = record();
  if (r && r.accepted) await nextWhere(unaccepted, (x) => x.accepted < x.records);
}

(async function start() {
  try {
    await loadBooks();
    const [b, p, r] = location.hash.slice(1).split('/').map(decodeURIComponent);
    state.book = (state.books.find((x) => x.name === b) || state.books[0]).name;
    $('book').value = state.book;
    renderProgress();
    if (queue.length) pump();
    const known = book().pages.find((x) => x.name === p);
    if (known) await openPage(known.name, (parseInt(r, 10) || 1) - 1);
    else await openFirst();
    document.body.dataset.ready = 'yes';
  } catch (err) {
    document.body.textContent = 'Không mở được: ' + err.message;
  }
})();
