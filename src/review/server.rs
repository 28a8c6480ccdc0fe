//! The web server behind `sohoa review`.
//!
//! Requests are read whole on their own connection threads ([`super::http`]), then
//! answered one at a time under one lock, so changes are applied in the order they
//! arrive and never race, and no client that stalls can hold up another. Every request
//! must carry an officer's token (`?token=…`, printed in the officer's address); without
//! one the answer is 401, and each change is signed with the officer the token belongs
//! to. Clients name books and pages, never files: a book is looked up among the folders
//! found at start and a page among that book's results, and only then is a path built
//! from our own data. On a loopback address the `Host` header must name this server
//! exactly (DNS rebinding); a state-changing request from a page of another origin is
//! refused. Beyond loopback the server speaks TLS only. Scripts and styles are compiled
//! into the binary; the Content-Security-Policy forbids any other origin.

use super::http::{self, Limits, Request, Response};
use super::live::Book;
use super::team::{self, Place, Presence, Versions};
use super::tls::TlsSource;
use super::{Change, Entry, ReviewError};
use crate::model::{PageResult, PageStatus};
use crate::store::BookDir;
use crate::template::Vocabulary;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// An officer: the name signed on their changes and the token in their address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Officer {
    /// Name.
    pub name: String,
    /// Access token.
    pub token: String,
}

impl Officer {
    /// An officer with the given token, or a random one.
    pub fn new(name: &str, token: Option<String>) -> Officer {
        Officer {
            name: name.to_string(),
            token: token.unwrap_or_else(random_token),
        }
    }
}

/// The shortest token a users file may give.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The longest a wrong token's answer waits.
pub const MAX_SLOW_DOWN: Duration = Duration::from_secs(4);

/// Why a token of the right characters is still easy to guess, if it is: fewer than eight
/// different characters (`aaaaaaaaaaaaaaaa`, `passwordpassword`), one character over a
/// quarter of it, a piece repeated (`abcdabcdabcdabcd`), or more than half of it a run of
/// consecutive characters (`0123456789abcdef`, `zyxwvutsrqponmlk`).
pub fn guessable(token: &str) -> Option<&'static str> {
    let b = token.as_bytes();
    let mut counts = [0usize; 256];
    b.iter().for_each(|&c| counts[c as usize] += 1);
    if counts.iter().filter(|&&n| n > 0).count() < 8 {
        return Some("fewer than 8 different characters");
    }
    if counts.iter().any(|&n| n * 4 > b.len()) {
        return Some("one character over a quarter of it");
    }
    if (1..=b.len() / 2).any(|p| b.iter().zip(&b[p..]).all(|(x, y)| x == y)) {
        return Some("a piece repeated");
    }
    let mut run = 1;
    let mut longest = 1;
    for w in b.windows(2) {
        let step = w[1] as i16 - w[0] as i16;
        run = if step == 1 || step == -1 { run + 1 } else { 1 };
        longest = longest.max(run);
    }
    (longest * 2 > b.len()).then_some("mostly a run of consecutive characters")
}

/// Reads a users file: one officer per line, `name: token` (a token of 16 or more
/// letters, digits, `-`, `_`, `.` or `~`), or a name alone to get a random token printed
/// at start; blank lines and lines starting with `#` are skipped.
pub fn read_officers(path: &Path) -> Result<Vec<Officer>, ServeError> {
    let bad = |line: usize, why: String| ServeError::Users {
        path: path.to_path_buf(),
        line,
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(0, e.to_string()))?;
    let mut officers: Vec<Officer> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, token) = match line.rsplit_once(':') {
            Some((n, t)) => (super::clean_value(n), Some(t.trim().to_string())),
            None => (super::clean_value(line), None),
        };
        if name.is_empty() || name.chars().count() > 60 {
            return Err(bad(i + 1, "a name of 1 to 60 characters is needed".into()));
        }
        if let Some(t) = &token {
            if t.len() < MIN_TOKEN_CHARS || !t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c)) {
                return Err(bad(
                    i + 1,
                    format!("the token must be {MIN_TOKEN_CHARS}+ letters, digits, '-', '_', '.' or '~'"),
                ));
            }
            if let Some(why) = guessable(t) {
                return Err(bad(
                    i + 1,
                    format!("the token is easy to guess ({why}): use a random one, e.g. `openssl rand -hex 16`"),
                ));
            }
        }
        let officer = Officer::new(&name, token);
        if officers.iter().any(|o| o.name == officer.name) {
            return Err(bad(i + 1, format!("{name} is listed twice")));
        }
        if officers.iter().any(|o| o.token == officer.token) {
            return Err(bad(i + 1, "two officers have the same token".into()));
        }
        officers.push(officer);
    }
    if officers.is_empty() {
        return Err(bad(0, "no officer listed".into()));
    }
    Ok(officers)
}

/// Settings of a review session.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The output folder of `sohoa process`.
    pub out: PathBuf,
    /// Address to listen on (loopback by default).
    pub bind: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// The officers (at least one).
    pub officers: Vec<Officer>,
    /// TLS, required beyond loopback.
    pub tls: Option<TlsSource>,
    /// What a client may take.
    pub limits: Limits,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No book with page results in the folder.
    #[error("no processed book in {0} (a book folder holds pages/*.json: run `sohoa process` first)")]
    NoBooks(PathBuf),
    /// A book's files cannot be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {reason} (choose another with --port, 0 for any free port)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        reason: String,
    },
    /// The book template is unknown.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// Replaying the journal found pages it could not rewrite.
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// Another review server serves the folder.
    #[error(transparent)]
    Busy(#[from] crate::store::LockError),
    /// TLS cannot be set up.
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    /// Records would cross the network in the clear.
    #[error("{0} is reachable from other computers: the review server serves it over TLS only (--tls, or --tls-cert and --tls-key)")]
    PlainOverNetwork(IpAddr),
    /// The users file is wrong.
    #[error("{}{}: {why}", path.display(), if *line > 0 { format!(" line {line}") } else { String::new() })]
    Users {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the whole file).
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// A running review session.
pub struct Session {
    listener: TcpListener,
    tls: Option<(Arc<rustls::ServerConfig>, String)>,
    limits: Limits,
    app: App,
}

/// What the requests act on.
struct App {
    addr: SocketAddr,
    scheme: &'static str,
    officers: Vec<Officer>,
    books: Vec<Book>,
    book_type: String,
    labels: Vec<(String, String)>,
    /// The group each grouped field is shown under ("Bên chồng").
    groups: std::collections::BTreeMap<String, String>,
    kinds: Vec<(String, crate::template::FieldKind)>,
    codes: Value,
    /// The same codes, for checking what officers enter.
    field_codes: std::collections::BTreeMap<String, crate::template::Codes>,
    vocab: Vocabulary,
    presence: Presence,
    /// Wrong tokens per address, in a row: how many, and when the last came.
    failures: HashMap<IpAddr, (u32, Instant)>,
    /// How long the answer being made waits before it is sent.
    slow_down: Duration,
    /// One server per output folder: a second one's changes would miss the first's.
    _lock: crate::store::OutLock,
}

impl Session {
    /// Loads the processed books, replays their journals and binds the address.
    pub fn start(opts: &ServeOptions) -> Result<Session, ServeError> {
        if !opts.bind.is_loopback() && opts.tls.is_none() {
            return Err(ServeError::PlainOverNetwork(opts.bind));
        }
        assert!(!opts.officers.is_empty(), "a review session needs an officer");
        let book_type = super::book_type_of(&opts.out);
        let vocab = Vocabulary::builtin();
        // Field names, groups and kinds from every layout of the book type given for the
        // run (ledger first), or of every type when each book told its own.
        let fields = crate::template::book_fields(&book_type)?;
        let labels = fields.iter().map(|f| (f.field.clone(), f.heading.clone())).collect();
        let kinds = fields.iter().map(|f| (f.field.clone(), f.kind)).collect();
        let groups = fields
            .iter()
            .filter_map(|f| Some((f.field.clone(), f.group.clone()?)))
            .collect();
        let lock = crate::store::OutLock::take_named(&opts.out, ".sohoa-review.lock")?;
        let given = (!book_type.eq_ignore_ascii_case("auto")).then_some(book_type.as_str());
        let books = load_books(&opts.out, given)?;
        if books.is_empty() {
            return Err(ServeError::NoBooks(opts.out.clone()));
        }
        // Coded fields (sex, the registration type) with what each code means, for the
        // types of the books served (birth's first where two types code a field).
        let mut field_codes = std::collections::BTreeMap::new();
        let mut types: Vec<&str> = books.iter().map(|b| b.book_type.as_str()).collect();
        types.sort_by_key(|t| (*t != "ks", *t));
        types.dedup();
        for t in types {
            for (f, c) in vocab.field_codes(t) {
                field_codes.entry(f).or_insert(c);
            }
        }
        let codes = json!(field_codes);
        let tls = opts.tls.as_ref().map(super::tls::server_config).transpose()?;
        let addr = SocketAddr::new(opts.bind, opts.port);
        let listener = TcpListener::bind(addr).map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(Session {
            listener,
            limits: opts.limits,
            app: App {
                addr,
                scheme: if tls.is_some() { "https" } else { "http" },
                officers: opts.officers.clone(),
                books,
                book_type,
                labels,
                groups,
                kinds,
                codes,
                field_codes,
                vocab,
                presence: Presence::default(),
                failures: HashMap::new(),
                slow_down: Duration::ZERO,
                _lock: lock,
            },
            tls,
        })
    }

    /// Each officer's name and the address they open, token included.
    pub fn urls(&self) -> Vec<(String, String)> {
        let a = &self.app;
        let host = match a.addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        a.officers
            .iter()
            .map(|o| {
                let url = format!("{}://{host}:{}/?token={}", a.scheme, a.addr.port(), o.token);
                (o.name.clone(), url)
            })
            .collect()
    }

    /// The SHA-256 fingerprint of the TLS certificate, when the server speaks TLS.
    pub fn fingerprint(&self) -> Option<&str> {
        self.tls.as_ref().map(|(_, f)| f.as_str())
    }

    /// The books under review: name and page count.
    pub fn books(&self) -> Vec<(String, usize)> {
        self.app.books.iter().map(|b| (b.name.clone(), b.pages.len())).collect()
    }

    /// The books whose journal holds lines that cannot be read (cut short by a crash, or
    /// damaged): name and how many. Their changes are not applied.
    pub fn unreadable_journal_lines(&self) -> Vec<(String, usize)> {
        self.app
            .books
            .iter()
            .filter(|b| b.unreadable_lines > 0)
            .map(|b| (b.name.clone(), b.unreadable_lines))
            .collect()
    }

    /// Answers requests until the process ends.
    pub fn run(self) {
        let app = Mutex::new(self.app);
        http::serve(self.listener, self.tls.map(|(c, _)| c), self.limits, move |req| {
            // A request that panicked left nothing half-done that matters: the journal is
            // written before the page, and the page atomically.
            app.lock().unwrap_or_else(|e| e.into_inner()).respond(req)
        });
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// A refused request: status, a stable code and an English message (the screen words
/// it in Vietnamese from the code).
type Refused = (u16, &'static str, String);

impl App {
    fn respond(&mut self, req: &Request) -> Response {
        let (status, body, kind) = self.answer(req);
        let mut resp = Response::new(status, kind, body);
        resp.delay = std::mem::take(&mut self.slow_down);
        for (k, v) in [
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            (
                "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
        ] {
            resp.headers.push((k, v.to_string()));
        }
        if self.scheme == "https" {
            resp.headers
                .push(("Strict-Transport-Security", "max-age=31536000".into()));
        }
        resp
    }

    fn answer(&mut self, req: &Request) -> (u16, Vec<u8>, &'static str) {
        if !self.host_ok(req) {
            return (403, b"unexpected Host header".to_vec(), TEXT);
        }
        // The screen itself holds no data: it is served without a token (it asks for the
        // officer's address when it has none), so that links into it (`checks.html`) open.
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/") => return (200, INDEX_HTML.as_bytes().to_vec(), "text/html; charset=utf-8"),
            ("GET", "/app.js") => return (200, APP_JS.as_bytes().to_vec(), "text/javascript; charset=utf-8"),
            ("GET", "/app.css") => return (200, APP_CSS.as_bytes().to_vec(), "text/css; charset=utf-8"),
            _ => {}
        }
        let token = req.query("token");
        let officer = token.and_then(|t| self.officer(t));
        if let Some(ip) = req.peer {
            match (token, &officer) {
                (Some(_), None) => self.slow_down = self.failed_token(ip),
                (_, Some(_)) => {
                    self.failures.remove(&ip);
                }
                _ => {}
            }
        }
        let Some(officer) = officer else {
            return (
                401,
                to_json(&json!({
                    "error": "missing or wrong token: open the address that `sohoa review` printed",
                    "code": "unauthorized",
                })),
                JSON,
            );
        };
        let method = req.method.as_str();
        if method != "GET" && !self.origin_ok(req) {
            return (403, b"request from another site refused".to_vec(), TEXT);
        }
        let (book, page) = (req.query("book"), req.query("page"));
        let result: Result<(u16, Vec<u8>, &'static str), Refused> = match (method, req.path.as_str()) {
            ("GET", "/api/books") => {
                self.books.iter_mut().for_each(|b| {
                    b.sync();
                });
                Ok((200, to_json(&self.books_view(&officer.name)), JSON))
            }
            ("GET", "/api/page") => self
                .book_index(book)
                .map(|bi| self.books[bi].sync())
                .and_then(|_| self.page(book, page))
                .map(|(bi, p)| (200, to_json(&self.books[bi].view(p)), JSON)),
            ("GET", "/api/image") => self.image(book, page).map(|b| (200, b, "image/jpeg")),
            ("GET", "/api/team") => Ok((200, to_json(&self.team_view()), JSON)),
            ("POST", "/api/change") => self.change(book, &officer.name, &req.body),
            ("POST", "/api/presence") => self
                .presence(book, &officer.name, &req.body)
                .map(|v| (200, to_json(&v), JSON)),
            ("POST", "/api/export") => self.export(book).map(|v| (200, to_json(&v), JSON)),
            (_, "/" | "/app.js" | "/app.css" | "/api/books" | "/api/page" | "/api/image" | "/api/team") => {
                Err((405, "method", "method not allowed".into()))
            }
            (_, "/api/change" | "/api/export" | "/api/presence") => Err((405, "method", "method not allowed".into())),
            _ => Err((404, "not_found", "not found".into())),
        };
        match result {
            Ok(ok) => ok,
            Err((status, code, msg)) => (status, to_json(&json!({ "error": msg, "code": code })), JSON),
        }
    }

    /// A wrong token from `ip`: logged, and the wait before it is answered, doubling with
    /// each wrong token in a row from the address (a quarter of a second first, at most
    /// [`MAX_SLOW_DOWN`]; forgotten after a quarter of an hour without one).
    fn failed_token(&mut self, ip: IpAddr) -> Duration {
        let now = Instant::now();
        let entry = self.failures.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) > Duration::from_secs(15 * 60) {
            entry.0 = 0;
        }
        *entry = (entry.0 + 1, now);
        let n = entry.0;
        let wait = Duration::from_millis(250 << (n - 1).min(8)).min(MAX_SLOW_DOWN);
        eprintln!(
            "sohoa: refused a wrong token from {ip} ({n} in a row; answered after {:.2} s)",
            wait.as_secs_f32()
        );
        wait
    }

    /// The officer a token belongs to (every token compared whole, in constant time).
    fn officer(&self, token: &str) -> Option<Officer> {
        let mut found = None;
        for o in &self.officers {
            if constant_time_eq(token.as_bytes(), o.token.as_bytes()) {
                found = Some(o.clone());
            }
        }
        found
    }

    /// On a loopback address, only loopback host names (DNS rebinding).
    fn host_ok(&self, req: &Request) -> bool {
        if !self.addr.ip().is_loopback() {
            return true;
        }
        host_allowed(req.header("Host").unwrap_or_default(), self.addr.port())
    }

    /// A state-changing request from a page of another site is refused: browsers name
    /// the page's origin, and it must be this server's own.
    fn origin_ok(&self, req: &Request) -> bool {
        let Some(origin) = req.header("Origin") else {
            return true;
        };
        let Some(host) = origin.strip_prefix(self.scheme).and_then(|o| o.strip_prefix("://")) else {
            return false;
        };
        if self.addr.ip().is_loopback() {
            host_allowed(host, self.addr.port())
        } else {
            Some(host) == req.header("Host")
        }
    }

    fn book_index(&self, book: Option<&str>) -> Result<usize, Refused> {
        let book = book.ok_or((400, "bad_request", "`book` is missing".to_string()))?;
        self.books
            .iter()
            .position(|b| b.name == book)
            .ok_or((404, "no_book", format!("no book {book:?}")))
    }

    /// The book's index and the page.
    fn page(&self, book: Option<&str>, page: Option<&str>) -> Result<(usize, &PageResult), Refused> {
        let bi = self.book_index(book)?;
        let b = &self.books[bi];
        let page = page.ok_or((400, "bad_request", "`page` is missing".to_string()))?;
        b.pages.iter().find(|p| p.name == page).map(|p| (bi, p)).ok_or((
            404,
            "no_page",
            format!("no page {page:?} in book {:?}", b.name),
        ))
    }

    fn image(&self, book: Option<&str>, page: Option<&str>) -> Result<Vec<u8>, Refused> {
        let (bi, p) = self.page(book, page)?;
        let b = &self.books[bi];
        let missing = |why: String| (404, "no_image", why);
        let rel = p
            .image
            .as_deref()
            .ok_or(missing("this page has no image".to_string()))?;
        let path = inside(&b.dir, rel).ok_or(missing("image path leaves the book folder".to_string()))?;
        std::fs::read(&path).map_err(|e| missing(format!("cannot read the page image: {e}")))
    }

    fn books_view(&self, officer: &str) -> Value {
        json!({
            "user": officer,
            "officers": self.officers.iter().map(|o| &o.name).collect::<Vec<_>>(),
            "book_type": self.book_type,
            "labels": self.labels,
            "groups": self.groups,
            "kinds": self.kinds,
            "codes": self.codes,
            "flag_labels": crate::model::Flag::ALL
                .iter()
                .map(|f| (f.as_str(), f.label_vi()))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "books": self.books.iter().map(|b| json!({
                "name": b.name,
                "book_type": b.book_type,
                "progress": super::progress(&b.pages),
                "pages": b.pages.iter().map(|p| {
                    let prog = super::progress(std::slice::from_ref(p));
                    json!({
                        "name": p.name,
                        "page": p.page,
                        "status": p.final_status(),
                        "records": p.records.len(),
                        "accepted": prog.accepted,
                        "doubtful": prog.doubtful,
                        "findings": b.findings.iter().filter(|f| f.at.page == p.name).count(),
                    })
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// For the team lead: each book's progress and each officer's work in it, and who is
    /// where now.
    fn team_view(&self) -> Value {
        json!({
            "books": self.books.iter().map(|b| json!({
                "name": b.name,
                "book_type": b.book_type,
                "progress": super::progress(&b.pages),
                "officers": team::work_by_officer(&b.journal),
            })).collect::<Vec<_>>(),
            "present": self.presence.others(""),
            "type_names": crate::booktype::TYPES
                .iter()
                .chain(std::iter::once(&crate::booktype::UNKNOWN))
                .map(|t| (*t, crate::booktype::type_name(t)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        })
    }

    fn change(
        &mut self,
        book: Option<&str>,
        officer: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>, &'static str), Refused> {
        #[derive(Deserialize)]
        struct Req {
            page: String,
            /// The record version the officer saw.
            #[serde(default)]
            base: Option<u32>,
            /// The SHA-256 of the page's scan as the officer saw it.
            #[serde(default)]
            sha256: Option<String>,
            #[serde(flatten)]
            change: Change,
        }
        let bi = self.book_index(book)?;
        let mut req: Req =
            serde_json::from_slice(body).map_err(|e| (400, "bad_request", format!("bad change: {e}")))?;
        // A value is one the field can hold, in the export's form, before it is saved.
        if let Change::Field { field, value, .. } = &mut req.change {
            let kind = self.kinds.iter().find(|(f, _)| f == field).map(|(_, k)| *k);
            match super::checked_value(kind, self.field_codes.get(field.as_str()), value, &self.vocab) {
                Ok(checked) => *value = checked,
                Err(bad) => {
                    let v = json!({ "error": bad.en, "code": "bad_value", "vi": bad.vi });
                    return Ok((422, to_json(&v), JSON));
                }
            }
        }
        let b = &mut self.books[bi];
        // The page as its file stands now: `process` may have read it again meanwhile.
        let _lock = BookDir::at(&b.dir)
            .lock_pages()
            .map_err(|e| (500, "store", e.to_string()))?;
        let held = b.pages.iter().find(|p| p.name == req.page).map(|p| p.sha256.clone());
        b.sync();
        let pi = b.pages.iter().position(|p| p.name == req.page).ok_or((
            404,
            "no_page",
            format!("no page {:?}", req.page),
        ))?;
        // A change made on the page as it was read from another scan is no change of this
        // one: refused, with the page as it is now.
        if req.sha256.or(held).is_some_and(|seen| seen != b.pages[pi].sha256) {
            let v = json!({
                "error": "this page was read again from a new scan since it was opened; the change was not saved",
                "code": "page_reread",
                "page": b.view(&b.pages[pi]),
            });
            return Ok((409, to_json(&v), JSON));
        }
        if let Some(c) = req
            .base
            .and_then(|base| b.versions.conflict(&req.page, base, officer, &req.change))
        {
            let current = match (&req.change, &c.field) {
                (Change::Field { row, .. }, Some(f)) => b.pages[pi]
                    .records
                    .iter()
                    .find(|r| r.row == *row)
                    .and_then(|r| r.fields.get(f))
                    .map(|f| f.final_value().to_string()),
                _ => None,
            };
            let v = json!({
                "error": format!("{} changed this since it was opened", c.touch.by),
                "code": "conflict",
                "conflict": { "field": c.field, "by": c.touch.by, "at": c.touch.at, "version": c.version, "value": current },
                "page": b.view(&b.pages[pi]),
            });
            return Ok((409, to_json(&v), JSON));
        }
        let entry = Entry {
            at: super::now_rfc3339(),
            by: officer.to_string(),
            page: req.page,
            sha256: b.pages[pi].sha256.clone(),
            change: req.change,
        };
        let mut page = b.pages[pi].clone();
        super::apply(&mut page, &entry).map_err(|e| (422, e.code(), e.to_string()))?;
        // Durable first, then visible.
        super::append_journal(&b.dir, &entry).map_err(|e| (500, e.code(), e.to_string()))?;
        b.pages[pi] = page;
        b.write_page(pi).map_err(|e| (500, e.code(), e.to_string()))?;
        b.versions.record(&entry);
        let v = json!({
            "page": b.view(&b.pages[pi]),
            "progress": super::progress(&b.pages),
            "saved_at": entry.at,
        });
        b.journal.push(entry);
        Ok((200, to_json(&v), JSON))
    }

    /// An officer's screen shows a record: noted, and answered with who else is in the
    /// book and the versions of the page's records (so the screen sees others' changes).
    fn presence(&mut self, book: Option<&str>, officer: &str, body: &[u8]) -> Result<Value, Refused> {
        #[derive(Deserialize)]
        struct Req {
            page: String,
            row: u32,
        }
        let bi = self.book_index(book)?;
        let req: Req = serde_json::from_slice(body).map_err(|e| (400, "bad_request", format!("bad presence: {e}")))?;
        let b = &self.books[bi];
        let page =
            b.pages
                .iter()
                .find(|p| p.name == req.page)
                .ok_or((404, "no_page", format!("no page {:?}", req.page)))?;
        let versions: Vec<Value> = page
            .records
            .iter()
            .map(|r| json!({ "row": r.row, "version": b.versions.version(&page.name, r.row) }))
            .collect();
        self.presence.at(Place {
            by: officer.to_string(),
            book: b.name.clone(),
            page: req.page,
            row: req.row,
        });
        let others: Vec<Place> = self
            .presence
            .others(officer)
            .into_iter()
            .filter(|p| p.book == b.name)
            .collect();
        Ok(json!({ "others": others, "versions": versions }))
    }

    fn export(&mut self, book: Option<&str>) -> Result<Value, Refused> {
        let bi = self.book_index(book)?;
        let fail = |e: String| (500, "export", e);
        // The records as the page files stand (as `process` would export them), and no
        // page rewritten while they are written out.
        let _lock = BookDir::at(&self.books[bi].dir)
            .lock_pages()
            .map_err(|e| fail(e.to_string()))?;
        self.books[bi].sync();
        let b = &self.books[bi];
        let columns = crate::batch::export_columns(&self.vocab, &b.book_type, &b.pages);
        let rows = crate::export::rows_for_book(&b.pages, &columns, &b.book_type);
        let xlsx = crate::export::write_xlsx(&rows, &columns, crate::store::created_time())
            .map_err(|e| fail(e.to_string()))?;
        let csv = crate::export::write_csv(&rows, &columns);
        let write = |name: &str, bytes: &[u8]| BookDir::at(&b.dir).write(name, bytes).map_err(|e| fail(e.to_string()));
        write("records.xlsx", &xlsx)?;
        write("records.csv", &csv)?;
        // Keep the manifest true for the files it lists.
        let manifest_path = b.dir.join(crate::verify::MANIFEST);
        let listed: Vec<PathBuf> = crate::verify::read_manifest(&manifest_path)
            .into_keys()
            .filter_map(|p| p.strip_prefix(&b.dir).ok().map(Path::to_path_buf))
            .collect();
        if !listed.is_empty() {
            let text = crate::verify::manifest_text(&b.dir, &listed).map_err(|e| fail(e.to_string()))?;
            write(crate::verify::MANIFEST, text.as_bytes())?;
        }
        let confirmed = rows.iter().filter(|r| r.confirmed.is_some()).count();
        Ok(json!({
            "rows": rows.len(),
            "confirmed": confirmed,
            "files": ["records.xlsx", "records.csv"],
        }))
    }
}

/// The processed books under `out`, journals replayed; page files the journal changed
/// are rewritten.
fn load_books(out: &Path, given: Option<&str>) -> Result<Vec<Book>, ServeError> {
    let mut books = Vec::new();
    for b in super::read_books(out)? {
        let mut book = Book::load(b)?;
        book.book_type = crate::booktype::of_book(given, &book.pages);
        books.push(book);
    }
    Ok(books)
}

impl Book {
    /// What the screen needs of one of the book's pages: see [`page_view`], and what the
    /// book checks found on it.
    fn view(&self, p: &PageResult) -> Value {
        let mut v = page_view(p, &self.versions);
        let findings: Vec<_> = self.findings.iter().filter(|f| f.at.page == p.name).collect();
        v["findings"] = json!(findings);
        v
    }
}

/// What the screen needs of a page: the result without its word list, each record's
/// version, and for each field whether it is doubtful.
fn page_view(p: &PageResult, versions: &Versions) -> Value {
    let mut v = serde_json::to_value(p).expect("page serializes");
    if let Some(o) = v.as_object_mut() {
        o.remove("words");
        o.insert("final_status".into(), json!(p.final_status()));
        o.insert("editable".into(), json!(p.status != PageStatus::Error));
    }
    if let Some(recs) = v.get_mut("records").and_then(Value::as_array_mut) {
        for (rv, r) in recs.iter_mut().zip(&p.records) {
            if let Some(o) = rv.as_object_mut() {
                o.insert("version".into(), json!(versions.version(&p.name, r.row)));
            }
            if let Some(fields) = rv.get_mut("fields").and_then(Value::as_object_mut) {
                for (k, f) in &r.fields {
                    if let Some(o) = fields.get_mut(k).and_then(Value::as_object_mut) {
                        o.insert("doubtful".into(), json!(f.doubtful()));
                        o.insert("final_value".into(), json!(f.final_value()));
                    }
                }
            }
        }
    }
    v
}

/// `dir/rel` when `rel` is a plain relative path (no `..`, no root) that exists below
/// `dir` after symlinks are resolved.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = dir.join(rel).canonicalize().ok()?;
    full.starts_with(dir.canonicalize().ok()?).then_some(full)
}

/// A Host header naming this loopback server exactly: a loopback address or
/// `localhost`, and the server's port when one is given (`127.0.0.1.evil.example` is not
/// loopback).
fn host_allowed(host: &str, port: u16) -> bool {
    let (name, given) = match host.rsplit_once(':') {
        Some((n, p)) if !n.is_empty() && !p.contains(']') => (n, p.parse::<u16>().ok()),
        _ => (host, Some(port)),
    };
    let loopback = name == "localhost"
        || name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name)
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback && given == Some(port)
}

fn to_json(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("serializes")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_file_names_each_officer_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.txt");
        std::fs::write(&path, "# officers\nLan: 0123456789abcdef0123\n\nNguyễn Bình\n").unwrap();
        let o = read_officers(&path).unwrap();
        assert_eq!(
            o[0],
            Officer {
                name: "Lan".into(),
                token: "0123456789abcdef0123".into()
            }
        );
        assert_eq!((o[1].name.as_str(), o[1].token.len()), ("Nguyễn Bình", 32));
        for (text, line) in [
            ("Lan: short\n", 1),
            ("Lan\nLan\n", 2),
            ("a: 0123456789abcdef0123\nb: 0123456789abcdef0123\n", 2),
            (": 0123456789abcdef0123\n", 1),
            ("Lan: 0123456789abcdef012 3\n", 1),
            ("# nobody\n", 0),
        ] {
            std::fs::write(&path, text).unwrap();
            match read_officers(&path) {
                Err(ServeError::Users { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_this_loopback_server_is_an_allowed_host() {
        for ok in [
            "127.0.0.1:8377",
            "localhost:8377",
            "[::1]:8377",
            "127.1.2.3:8377",
            "localhost",
            "[::1]",
        ] {
            assert!(host_allowed(ok, 8377), "{ok}");
        }
        for bad in [
            "127.0.0.1.evil.example:8377",
            "127.0.0.1.evil.example",
            "evil.example:8377",
            "127.0.0.1:8378",
            "",
            "localhost.:8377",
            "localhost:x",
        ] {
            assert!(!host_allowed(bad, 8377), "{bad}");
        }
    }

    #[test]
    fn paths_stay_inside_the_book() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("images")).unwrap();
        std::fs::write(dir.path().join("images/p.jpg"), b"x").unwrap();
        assert!(inside(dir.path(), "images/p.jpg").is_some());
        assert!(inside(dir.path(), "../etc/passwd").is_none());
        assert!(inside(dir.path(), "/etc/passwd").is_none());
        assert!(inside(dir.path(), "images/../../x").is_none());
    }

    #[test]
    fn tokens_easy_to_guess_are_refused() {
        for t in [
            "aaaaaaaaaaaaaaaa",
            "passwordpassword",
            "abcdabcdabcdabcd",
            "0123456789abcdef",
            "ponmlkjihgfedcba",
        ] {
            assert!(guessable(t).is_some(), "{t}");
        }
        for t in ["lan-0123456789abcdef", "q7Hk2mZp9xW4cVb1", &random_token()] {
            assert_eq!(guessable(t), None, "{t}");
        }
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), &a.as_bytes()[..31]));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
    }
}
