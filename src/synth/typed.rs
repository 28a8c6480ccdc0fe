//! Ledger pages of the other book types (marriage, death, parent–child recognition,
//! marital-status confirmation): each type's columns and headings from its template, a
//! band over each person's columns where the type has them ("Bên chồng" / "Bên vợ"),
//! filled with plausible records of the type.

use super::*;
use crate::template::{Layout, Template};

/// The book types `sohoa synth` draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SynthBook {
    /// Birth (khai sinh).
    #[default]
    Ks,
    /// Marriage (kết hôn): a band over each spouse's columns.
    Kh,
    /// Death (khai tử).
    Kt,
    /// Parent–child recognition (nhận cha, mẹ, con): a band over the parent's and the
    /// child's columns.
    Cmc,
    /// Marital-status confirmation (xác nhận tình trạng hôn nhân).
    Hn,
}

impl SynthBook {
    /// The book type's code (`kh`).
    pub fn code(self) -> &'static str {
        match self {
            SynthBook::Ks => "ks",
            SynthBook::Kh => "kh",
            SynthBook::Kt => "kt",
            SynthBook::Cmc => "cmc",
            SynthBook::Hn => "hn",
        }
    }
}

/// One drawn column: its field, heading, band (index into the bands drawn) and width.
struct DrawnColumn {
    field: String,
    heading: String,
    band: Option<usize>,
    width: f32,
}

/// The columns of a type's ledger as drawn: the template's, with its first headings
/// (`alt`: the second where there is one, and the bands in the other order).
fn drawn_columns(t: &Template, alt: bool, jitter: f32, rng: &mut SmallRng) -> (Vec<DrawnColumn>, Vec<String>) {
    let mut band_ids: Vec<&str> = t.bands.iter().map(|b| b.id.as_str()).collect();
    if alt {
        band_ids.reverse();
    }
    let labels: Vec<String> = band_ids
        .iter()
        .map(|id| {
            let b = t.bands.iter().find(|b| b.id == *id).expect("a band of the template");
            b.names[usize::from(alt).min(b.names.len() - 1)].to_uppercase()
        })
        .collect();
    let mut cols: Vec<DrawnColumn> = Vec::new();
    // Unbanded columns before the first band stay first; each band's columns follow in
    // the order drawn; the rest close the table.
    let heading = |c: &crate::template::ColumnSpec| c.headings[usize::from(alt).min(c.headings.len() - 1)].clone();
    let first_band = t
        .columns
        .iter()
        .position(|c| c.band.is_some())
        .unwrap_or(t.columns.len());
    let mut push = |c: &crate::template::ColumnSpec, band: Option<usize>, rng: &mut SmallRng| {
        let w = if jitter > 0.0 {
            c.width * rng.gen_range(1.0 - jitter..1.0 + jitter)
        } else {
            c.width
        };
        cols.push(DrawnColumn {
            field: c.field.clone(),
            heading: heading(c),
            band,
            width: w,
        });
    };
    for c in &t.columns[..first_band] {
        push(c, None, rng);
    }
    for (k, id) in band_ids.iter().enumerate() {
        for c in t.columns.iter().filter(|c| c.band.as_deref() == Some(*id)) {
            push(c, Some(k), rng);
        }
    }
    for c in t.columns[first_band..].iter().filter(|c| c.band.is_none()) {
        push(c, None, rng);
    }
    let total: f32 = cols.iter().map(|c| c.width).sum();
    for c in &mut cols {
        c.width /= total;
    }
    (cols, labels)
}

/// Where a drawn table's rules run.
struct Table {
    /// Column edges, left to right.
    xs: Vec<f32>,
    /// Row edges: the table's top, the header's foot, each body row's foot.
    ys: Vec<f32>,
    /// Height of the band row (0 without bands).
    band_h: f32,
}

/// Renders a ledger page of a type other than birth, and its truth.
pub(super) fn render_typed(spec: &PageSpec) -> Result<(GrayImage, TruthPage), SynthError> {
    let [regular, bold, italic] = Fonts::parsed()?;
    let script_bytes = script_bytes(spec.hand)?;
    let script = script_face(spec.hand, &script_bytes)?;
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    let t = Template::for_book(spec.book.code(), Layout::Ledger).expect("built-in template");
    let (cols, bands) = drawn_columns(&t, spec.alt, spec.column_jitter, &mut rng);
    let mm = px_per_mm(spec.dpi);
    let (w, h) = ((297.0 * mm) as u32, (210.0 * mm) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let pt = spec.dpi / 72.0;
    let title = format!("{} — NĂM {}", t.titles[0].to_uppercase(), spec.year);
    let tpx = 14.0 * pt;
    let tw = text_width(&bold, tpx, &title);
    draw_text(&mut img, &bold, tpx, (w as f32 - tw) / 2.0, 16.0 * mm, &title, 0, None);

    let (left, right, top) = (10.0 * mm, w as f32 - 10.0 * mm, 22.0 * mm);
    let band_h = if bands.is_empty() { 0.0 } else { 6.0 * mm };
    let header_h = band_h + 14.0 * mm;
    let body_rows = 8u32;
    let row_h = ((h as f32 - 8.0 * mm) - (top + header_h)) / body_rows as f32;
    let mut xs = vec![left];
    for c in &cols {
        xs.push(xs.last().copied().unwrap_or(left) + c.width * (right - left));
    }
    let mut ys = vec![top, top + header_h];
    ys.extend((1..=body_rows).map(|i| top + header_h + i as f32 * row_h));
    let table = Table { xs, ys, band_h };
    rule_table(&mut img, &mut rng, spec, &table, &cols);
    print_header(&mut img, &bold, pt, &table, &cols, &bands);
    let mut records: Vec<BTreeMap<String, TruthField>> = (0..spec.records.min(body_rows))
        .map(|i| typed_record(spec.book, &mut rng, spec.first_number + i, spec.year, spec.real_places))
        .collect();
    sort_by_registration(&mut records);
    let (font, vpx, ink) = match (spec.hand, &script) {
        (Hand::Script(_), Some(f)) => (f, script_px(f, 3.6 * pt), 35u8),
        (Hand::Hand | Hand::Script(_), _) => (&italic, 8.0 * pt, 40u8),
        (Hand::Typed, _) => (&regular, 7.0 * pt, 10u8),
    };
    let xs = &table.xs;
    for (r, rec) in records.iter().enumerate() {
        let row_top = table.ys[r + 1];
        for (c, col) in cols.iter().enumerate() {
            let text = rec.get(&col.field).map(|f| f.text.as_str()).unwrap_or("");
            let lines = wrap(font, vpx, text, xs[c + 1] - xs[c] - 5.0 * pt);
            let lh = vpx * 1.2;
            let mut y = row_top + (row_h - lines.len() as f32 * lh) / 2.0 + vpx * 0.95;
            for l in lines.iter().filter(|l| !l.is_empty()) {
                let jit = if spec.hand.is_hand() { Some(&mut rng) } else { None };
                draw_text(&mut img, font, vpx, xs[c] + 2.5 * pt, y, l, ink, jit);
                y += lh;
            }
        }
    }
    // What a tear from the right edge takes away is not expected back.
    if spec.damage.torn > 0.0 {
        let torn_from = w as f32 * (1.0 - spec.damage.torn - 0.05);
        for (_, col) in cols.iter().enumerate().filter(|(c, _)| xs[c + 1] > torn_from) {
            let split = t
                .columns
                .iter()
                .find(|x| x.field == col.field)
                .and_then(|x| x.split.as_ref());
            for rec in records.iter_mut() {
                for id in std::iter::once(&col.field).chain(split.map(|s| &s.into)) {
                    if let Some(f) = rec.get_mut(id) {
                        f.value.clear();
                    }
                }
            }
        }
    }
    Ok(ledger::finish(img, records, spec, &mut rng))
}

/// The table's rules in the page's style: each row's, the rule under each band across its
/// columns, and each column's (one between two columns of a band starting under the
/// band's label).
fn rule_table(img: &mut GrayImage, rng: &mut SmallRng, spec: &PageSpec, table: &Table, cols: &[DrawnColumn]) {
    let rules = spec.damage.rules;
    if rules == Rules::Unruled {
        return;
    }
    let mm = px_per_mm(spec.dpi);
    let line_w = ((spec.dpi / 100.0).round() as u32).max(1);
    let (xs, ys) = (&table.xs, &table.ys);
    let (left, right) = (xs[0], xs[xs.len() - 1]);
    let (top, bottom) = (ys[0], ys[ys.len() - 1]);
    for (i, &y) in ys.iter().enumerate() {
        if rules == Rules::NoRowRules && i >= 2 && i + 1 < ys.len() {
            continue;
        }
        draw_rule(img, rng, rules, true, y, left, right + line_w as f32, line_w, mm);
    }
    let bands = cols.iter().filter_map(|c| c.band).max().map_or(0, |b| b + 1);
    for k in 0..bands {
        let span: Vec<usize> = (0..cols.len()).filter(|&c| cols[c].band == Some(k)).collect();
        let (x0, x1) = (xs[span[0]], xs[span[span.len() - 1] + 1]);
        draw_rule(
            img,
            rng,
            rules,
            true,
            top + table.band_h,
            x0,
            x1 + line_w as f32,
            line_w,
            mm,
        );
    }
    for (i, &x) in xs.iter().enumerate() {
        if rules == Rules::NoColumnRules && i > 0 && i + 1 < xs.len() {
            continue;
        }
        let inner = i > 0 && i < cols.len() && cols[i - 1].band.is_some() && cols[i - 1].band == cols[i].band;
        let from = if inner { top + table.band_h } else { top };
        draw_rule(img, rng, rules, false, x, from, bottom + line_w as f32, line_w, mm);
    }
}

/// Each band's label centred over its columns, and each column's heading wrapped and
/// centred in its cell (under the band, or the header's whole height).
fn print_header(img: &mut GrayImage, bold: &FontRef, pt: f32, table: &Table, cols: &[DrawnColumn], bands: &[String]) {
    let (xs, top, foot) = (&table.xs, table.ys[0], table.ys[1]);
    for (k, label) in bands.iter().enumerate() {
        let span: Vec<usize> = (0..cols.len()).filter(|&c| cols[c].band == Some(k)).collect();
        let (x0, x1) = (xs[span[0]], xs[span[span.len() - 1] + 1]);
        let lpx = 8.0 * pt;
        let lw = text_width(bold, lpx, label);
        let y = top + (table.band_h - lpx) / 2.0 + lpx * 0.9;
        draw_text(img, bold, lpx, (x0 + x1 - lw) / 2.0, y, label, 0, None);
    }
    let hpx = 7.0 * pt;
    for (c, col) in cols.iter().enumerate() {
        let y0 = if col.band.is_some() { top + table.band_h } else { top };
        let lines = wrap(bold, hpx, &col.heading, xs[c + 1] - xs[c] - 4.0 * pt);
        let total = lines.len() as f32 * hpx * 1.15;
        let mut y = y0 + (foot - y0 - total) / 2.0 + hpx * 0.95;
        for l in &lines {
            let lw = text_width(bold, hpx, l);
            draw_text(img, bold, hpx, xs[c] + (xs[c + 1] - xs[c] - lw) / 2.0, y, l, 0, None);
            y += hpx * 1.15;
        }
    }
}

const RELATIONS: &[&str] = &["con", "vợ", "chồng", "cháu", "anh", "em", "chị", "con dâu"];
const CAUSES: &[&str] = &[
    "Già yếu",
    "Bệnh",
    "Tai nạn giao thông",
    "Tai biến mạch máu não",
    "Ốm đau",
];
const DEATH_PLACES: &[&str] = &["Tại nhà", "Bệnh viện đa khoa tỉnh", "Trạm y tế xã", "Tại nhà riêng"];
const STATUSES: &[&str] = &[
    "Chưa đăng ký kết hôn với ai",
    "Đã ly hôn",
    "Có vợ, đã chết",
    "Có chồng, đã chết",
];
const ETHNIC_DRAWN: &[&str] = &["Kinh", "Kinh", "Kinh", "Tày", "Thái", "Mường", "Nùng"];
const PURPOSES: &[&str] = &[
    "Để đăng ký kết hôn",
    "Để mua bán nhà",
    "Để vay vốn ngân hàng",
    "Để bổ sung hồ sơ",
];

/// The date `back_days` days before (`d`, `m`, `y`), counting 28-day months.
fn date_back(d: u32, m: u32, y: u32, back_days: u32) -> (u32, u32, u32) {
    let mut total = (y * 12 + m - 1) * 28 + d - 1;
    total -= back_days.min(total);
    (total % 28 + 1, (total / 28) % 12 + 1, total / (28 * 12))
}

fn date_fields((d, m, y): (u32, u32, u32)) -> (String, String) {
    (format!("{d:02}/{m:02}/{y}"), format!("{d:02}.{m:02}.{y}"))
}

/// A plausible record of a book type: field id → (printed text, export value).
fn typed_record(
    book: SynthBook,
    rng: &mut SmallRng,
    number: u32,
    year: u32,
    real_places: bool,
) -> BTreeMap<String, TruthField> {
    let mut r = Record {
        fields: BTreeMap::new(),
        reg: (rng.gen_range(1..=28u32), rng.gen_range(1..=12u32), year),
        real_places,
    };
    r.put("so", format!("{number}"), format!("{number:02}/{year}"));
    let (t, v) = date_fields(r.reg);
    r.put("ngayDangKy", t, v);
    match book {
        SynthBook::Ks => unreachable!("birth pages are drawn by ledger::render_page"),
        SynthBook::Kh | SynthBook::Cmc => r.two_people(book, rng),
        SynthBook::Kt => r.death(rng),
        SynthBook::Hn => r.status(rng),
    }
    r.fields
}

/// A marriage book's form page of 2006–2020: the number after its label, a ruled table of
/// a column per spouse under their band's name (`alt`: the wife's first) and a row per
/// field under its label, then the registration date and the note after their labels.
pub(super) fn render_person_form(
    spec: &PageSpec,
    f: &form::FormFonts,
    rng: &mut SmallRng,
) -> (GrayImage, Vec<BTreeMap<String, TruthField>>) {
    let t = Template::for_book("kh", Layout::Form).expect("the marriage form template");
    let rec = typed_record(SynthBook::Kh, rng, spec.first_number, spec.year, spec.real_places);
    let mm = px_per_mm(spec.dpi);
    let (w, h) = ((210.0 * mm) as u32, (297.0 * mm) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let pt = spec.dpi / 72.0;
    let title = t.titles[0].to_uppercase();
    let tw = text_width(f.bold, 15.0 * pt, &title);
    draw_text(
        &mut img,
        f.bold,
        15.0 * pt,
        (w as f32 - tw) / 2.0,
        20.0 * mm,
        &title,
        0,
        None,
    );
    let face = form::value_face(spec.hand, f, pt, [4.5, 11.0, 10.0]);
    let (vfont, vpx, ink) = face;
    let lpx = 10.0 * pt;
    let (left, right) = (18.0 * mm, w as f32 - 16.0 * mm);
    let label_value = |img: &mut GrayImage, rng: &mut SmallRng, y: f32, label: &str, value: &str| {
        let label = format!("{label}:");
        draw_text(img, f.regular, lpx, left, y, &label, 0, None);
        let x = left + text_width(f.regular, lpx, &label) + 3.0 * mm;
        draw_text(img, vfont, vpx, x, y, value, ink, spec.hand.is_hand().then_some(rng));
    };
    label_value(&mut img, rng, 38.0 * mm, "Số", &rec["so"].text);
    // The table: a label column, then a column per spouse.
    let mut people = [("chong", &t.bands[0]), ("vo", &t.bands[1])];
    if spec.alt {
        people.reverse();
    }
    let bottom = draw_person_table(&mut img, spec, f, face, (&t, &rec, &people), (left, right), rng);
    label_value(
        &mut img,
        rng,
        bottom + 12.0 * mm,
        "Ngày, tháng, năm đăng ký",
        &rec["ngayDangKy"].text,
    );
    label_value(&mut img, rng, bottom + 24.0 * mm, "Ghi chú", &rec["ghiChu"].text);
    (img, vec![rec])
}

/// The marriage form's table (see [`render_person_form`]), drawn from 46 mm down between
/// `left` and `right`: a header of the people's band names, a row per field with its
/// label and each person's value (written in the value face given). Returns its bottom.
fn draw_person_table(
    img: &mut GrayImage,
    spec: &PageSpec,
    f: &form::FormFonts,
    (vfont, vpx, ink): (&FontRef, f32, u8),
    (t, rec, people): (
        &Template,
        &BTreeMap<String, TruthField>,
        &[(&str, &crate::template::HeaderBand)],
    ),
    (left, right): (f32, f32),
    rng: &mut SmallRng,
) -> f32 {
    let mm = px_per_mm(spec.dpi);
    let pt = spec.dpi / 72.0;
    let lpx = 10.0 * pt;
    let label_w = 52.0 * mm;
    let col_w = (right - left - label_w) / 2.0;
    let (top, head_h, row_h) = (46.0 * mm, 10.0 * mm, 17.0 * mm);
    let rows: Vec<&crate::template::ColumnSpec> = t
        .columns
        .iter()
        .filter(|c| c.band.as_deref() == Some("chong"))
        .collect();
    let bottom = top + head_h + rows.len() as f32 * row_h;
    let line = ((spec.dpi / 110.0).round() as u32).max(1);
    for k in 0..=rows.len() + 1 {
        let y = if k == 0 {
            top
        } else {
            top + head_h + (k - 1) as f32 * row_h
        };
        fill_rect(img, left as u32, y as u32, right as u32 + line, y as u32 + line, 0);
    }
    for x in [left, left + label_w, left + label_w + col_w, right] {
        fill_rect(img, x as u32, top as u32, x as u32 + line, bottom as u32 + line, 0);
    }
    for (i, (_, band)) in people.iter().enumerate() {
        let name = band.names[usize::from(spec.alt).min(band.names.len() - 1)].to_uppercase();
        let x0 = left + label_w + i as f32 * col_w;
        let nw = text_width(f.bold, lpx, &name);
        draw_text(
            img,
            f.bold,
            lpx,
            x0 + (col_w - nw) / 2.0,
            top + 6.5 * mm,
            &name,
            0,
            None,
        );
    }
    for (r, spec_row) in rows.iter().enumerate() {
        let y0 = top + head_h + r as f32 * row_h;
        let label = &spec_row.headings[usize::from(spec.alt).min(spec_row.headings.len() - 1)];
        for (k, l) in wrap(f.regular, lpx, label, label_w - 4.0 * mm).iter().enumerate() {
            draw_text(
                img,
                f.regular,
                lpx,
                left + 2.0 * mm,
                y0 + 6.0 * mm + k as f32 * 4.5 * mm,
                l,
                0,
                None,
            );
        }
        let base = spec_row.field.trim_start_matches("chong");
        for (i, (who, _)) in people.iter().enumerate() {
            let value = rec.get(&format!("{who}{base}")).map_or("", |v| v.text.as_str());
            let x0 = left + label_w + i as f32 * col_w + 2.0 * mm;
            for (k, l) in wrap(vfont, vpx, value, col_w - 4.0 * mm).iter().enumerate() {
                let jitter = spec.hand.is_hand().then_some(&mut *rng);
                draw_text(img, vfont, vpx, x0, y0 + 7.0 * mm + k as f32 * 5.5 * mm, l, ink, jitter);
            }
        }
    }
    bottom
}

/// A record of a type's form page: as its ledger's, the declarant's relationship written
/// on a line of its own.
pub(super) fn form_record(
    book: SynthBook,
    rng: &mut SmallRng,
    number: u32,
    year: u32,
    real_places: bool,
) -> BTreeMap<String, TruthField> {
    let mut rec = typed_record(book, rng, number, year, real_places);
    if let Some(rel) = rec.get_mut("nycQuanHe") {
        rel.text = rel.value.clone();
        if let Some(name) = rec.get_mut("nycHoTen") {
            name.text = name.value.clone();
        }
    }
    rec
}

/// A record being made up.
struct Record {
    fields: BTreeMap<String, TruthField>,
    /// The registration date (day, month, year).
    reg: (u32, u32, u32),
    real_places: bool,
}

impl Record {
    /// A field as printed and as exported (the printed text when `value` is empty).
    fn put(&mut self, k: &str, text: String, value: String) {
        let value = if value.is_empty() { text.clone() } else { value };
        self.fields.insert(k.to_string(), TruthField { text, value });
    }

    /// A field exported but printed in another field's column.
    fn put_unprinted(&mut self, k: &str, value: String) {
        self.fields.insert(
            k.to_string(),
            TruthField {
                text: String::new(),
                value,
            },
        );
    }

    fn place(&self, rng: &mut SmallRng) -> String {
        if self.real_places && rng.gen_bool(0.8) {
            random_place(rng)
        } else {
            pick(rng, PLACES).to_string()
        }
    }

    /// A birth date `ages` years (a range) before the registration.
    fn born(&self, rng: &mut SmallRng, ages: std::ops::Range<u32>) -> (String, String) {
        let (d, m, y) = self.reg;
        date_fields(date_back(d, m, y, rng.gen_range(ages.start * 336..ages.end * 336)))
    }

    /// A person's name, birth date, ethnicity, nationality and residence under `p`.
    fn person(&mut self, rng: &mut SmallRng, p: &str, female: bool, ages: std::ops::Range<u32>) {
        self.put(&format!("{p}HoTen"), person(rng, female, None), String::new());
        let (t, v) = self.born(rng, ages);
        self.put(&format!("{p}NgaySinh"), t, v);
        self.put(
            &format!("{p}DanToc"),
            pick(rng, ETHNIC_DRAWN).to_string(),
            String::new(),
        );
        self.put(&format!("{p}QuocTich"), "Việt Nam".into(), String::new());
        let place = self.place(rng);
        self.put(&format!("{p}NoiCuTru"), place, String::new());
    }

    fn sex(&mut self, k: &str, female: bool) {
        let (t, v) = if female { ("Nữ", "2") } else { ("Nam", "1") };
        self.put(k, t.into(), v.into());
    }

    /// Marriage: husband and wife, each with an ID; recognition: parent and child, and the
    /// decision's number.
    fn two_people(&mut self, book: SynthBook, rng: &mut SmallRng) {
        let people = if book == SynthBook::Kh {
            [("chong", false, 20..36), ("vo", true, 18..32)]
        } else {
            [("cm", rng.gen_bool(0.5), 22..50), ("nc", rng.gen_bool(0.5), 0..18)]
        };
        for (p, female, ages) in people {
            self.person(rng, p, female, ages);
            if book == SynthBook::Kh {
                let id = format!("{:09}", rng.gen_range(10_000_000..400_000_000u32));
                self.put(&format!("{p}SoGiayToTuyThan"), id, String::new());
            }
        }
        if book == SynthBook::Cmc {
            self.put(
                "quyetDinhSo",
                format!("{}/QĐ-UBND", rng.gen_range(1..300)),
                String::new(),
            );
        }
        self.put(
            "ghiChu",
            pick(rng, &["", "", "", "Đăng ký lại"]).to_string(),
            String::new(),
        );
    }

    /// Death: the deceased, the hour and date of death written together, where and of
    /// what, and the declarant with their relationship after their name.
    fn death(&mut self, rng: &mut SmallRng) {
        let female = rng.gen_bool(0.5);
        let (rd, rm, year) = self.reg;
        let (cd, cm, cy) = date_back(rd, rm, year, rng.gen_range(1..14u32));
        self.put("nktHoTen", person(rng, female, None), String::new());
        let (t, v) = date_fields(date_back(cd, cm, cy, rng.gen_range(40 * 336..90 * 336)));
        self.put("nktNgaySinh", t, v);
        self.sex("nktGioiTinh", female);
        self.put("nktDanToc", pick(rng, ETHNIC_DRAWN).to_string(), String::new());
        self.put("nktQuocTich", "Việt Nam".into(), String::new());
        let place = self.place(rng);
        self.put("nktNoiCuTru", place, String::new());
        let (hh, mi) = (rng.gen_range(0..24u32), rng.gen_range(0..12u32) * 5);
        self.put(
            "nktNgayChet",
            format!("{hh} giờ {mi:02} ngày {cd:02}/{cm:02}/{cy}"),
            format!("{cd:02}.{cm:02}.{cy}"),
        );
        self.put_unprinted("nktGioPhutChet", format!("{hh:02}:{mi:02}"));
        self.put("nktNoiChet", pick(rng, DEATH_PLACES).to_string(), String::new());
        self.put("nktNguyenNhanChet", pick(rng, CAUSES).to_string(), String::new());
        let female = rng.gen_bool(0.5);
        let declarant = person(rng, female, None);
        let rel = pick(rng, RELATIONS).to_string();
        self.put("nycHoTen", format!("{declarant} ({rel})"), declarant);
        self.put_unprinted("nycQuanHe", rel);
        self.put("ghiChu", pick(rng, &["", "", "", "Quá hạn"]).to_string(), String::new());
    }

    /// Marital-status confirmation: the person, their ID, status and purpose.
    fn status(&mut self, rng: &mut SmallRng) {
        let female = rng.gen_bool(0.5);
        self.person(rng, "nxn", female, 18..60);
        self.sex("nxnGioiTinh", female);
        let id = format!("{:09}", rng.gen_range(10_000_000..400_000_000u32));
        self.put("nxnSoGiayToTuyThan", id, String::new());
        self.put("nxnTinhTrangHonNhan", pick(rng, STATUSES).to_string(), String::new());
        self.put("nxnMucDichSuDung", pick(rng, PURPOSES).to_string(), String::new());
    }
}
