//! Synthetic damaged ledger pages with ground truth, for samples, tests and benchmarks.
//!
//! A page is a birth-register ledger (landscape, ruled table, printed headings) filled with
//! plausible records, then aged: yellowed and unevenly lit paper, faded ink, stains, noise,
//! blur, skew, a dark scanner border, torn corners. The truth (every field's printed text
//! and export value, the skew, whether the page is readable) is written beside the images.

mod script;

pub use script::ScriptFace;

use crate::eval::TruthField;
use crate::restore::rotate;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{GrayImage, Luma};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why synthesis failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// A font is not a font.
    #[error("font {0} cannot be parsed")]
    FontInvalid(String),
    /// A handwriting face is not installed.
    #[error("font {path} not found: install the Debian package {package} (scripts/setup --test does)")]
    FontMissing {
        /// The font file.
        path: &'static str,
        /// The package that installs it.
        package: &'static str,
    },
    /// Writing failed.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
}

/// How the values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hand {
    /// Typed (upright sans serif).
    Typed,
    /// Handwriting-like: slanted serif italic with a wandering baseline and size.
    Hand,
    /// A handwriting face, Vietnamese letters it lacks composed with pen strokes, with a
    /// wandering baseline and size.
    Script(ScriptFace),
}

impl Hand {
    /// Written by hand (with a wandering baseline), not typed.
    pub fn is_hand(self) -> bool {
        self != Hand::Typed
    }
}

/// The damage applied to a page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Damage {
    /// Ink strength 0..1 (1: full black ink, 0.2: barely visible).
    pub ink: f32,
    /// Paper grey level (255 white … 190 dark yellowed).
    pub paper: u8,
    /// Number of stains.
    pub stains: u32,
    /// Noise standard deviation, grey levels.
    pub noise: f32,
    /// Box blur radius in pixels (0: none).
    pub blur: u32,
    /// Content angle, degrees, counter-clockwise positive.
    pub skew_deg: f32,
    /// Dark border around the page.
    pub border: bool,
    /// Fraction of the page torn away from one side (0..1).
    pub torn: f32,
    /// How the table is ruled.
    #[serde(default)]
    pub rules: Rules,
    /// The page photographed rather than scanned.
    #[serde(default)]
    pub photo: Option<Photo>,
}

/// How a ledger page's table is ruled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rules {
    /// Printed rules as dark as the writing.
    #[default]
    Inked,
    /// Printed rules faded to a third of the writing's darkness, broken here and there.
    Faint,
    /// Thin grey rules drawn in pencil, wavering and often broken.
    Pencil,
    /// No rules between the rows (the frame and the header's rule only).
    NoRowRules,
    /// No rules between the columns (the frame only).
    NoColumnRules,
    /// No rules at all: a list set out in columns on plain paper.
    Unruled,
}

/// A page photographed with a hand-held camera.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    /// How far each corner moves, as a fraction of the page's width (keystone and tilt).
    pub perspective: f32,
    /// Page curl near the binding: the largest upward bow of a line, fraction of the height.
    pub curl: f32,
    /// Depth of the shadow falling across one side (grey levels).
    pub shadow: f32,
}

impl Damage {
    /// Clean paper, no damage.
    pub fn none() -> Damage {
        Damage {
            ink: 1.0,
            paper: 245,
            stains: 0,
            noise: 0.0,
            blur: 0,
            skew_deg: 0.0,
            border: false,
            torn: 0.0,
            rules: Rules::Inked,
            photo: None,
        }
    }
}

/// The truth about one page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TruthPage {
    /// File name of the page image.
    pub file: String,
    /// Skew applied, degrees counter-clockwise.
    pub skew_deg: f32,
    /// Whether the page is readable (`false`: expect `not_eligible`).
    pub eligible: bool,
    /// Writing style.
    pub hand: Hand,
    /// Damage applied.
    pub damage: Damage,
    /// Records, one per body row, field id → truth.
    pub records: Vec<BTreeMap<String, TruthField>>,
}

/// One page to make.
#[derive(Clone, Debug)]
pub struct PageSpec {
    /// File name (extension picks the format: `.png`, `.jpg`, `.tif`).
    pub file: String,
    /// Resolution.
    pub dpi: f32,
    /// Writing style.
    pub hand: Hand,
    /// Damage.
    pub damage: Damage,
    /// Body rows filled with records (the rest stay empty).
    pub records: u32,
    /// Registration year of the book.
    pub year: u32,
    /// First registration number on the page.
    pub first_number: u32,
    /// Random seed.
    pub seed: u64,
    /// Birth places of real communes from the gazetteer (most of them) besides a few
    /// historical ones; `false`: the fixed list of historical places only.
    pub real_places: bool,
    /// A form page (portrait, one record, values after printed labels) drawn in this
    /// style, instead of a ledger page.
    pub form: Option<FormStyle>,
    /// The file states no resolution.
    pub no_dpi: bool,
    /// Problems planted in the page's records, for the book checks.
    pub plant: Plant,
    /// A ledger's columns drawn wider or narrower than the template's by up to this
    /// fraction each (another printing of the book).
    pub column_jitter: f32,
    /// An open book's two pages side by side in one image, a ledger table on each (the
    /// right page's records numbered on from the left's), the binding's shadow between
    /// them; the damage is done to the whole.
    pub spread: bool,
}

/// Problems planted in a ledger page's records (rows 0-based, after the records are put
/// in registration order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plant {
    /// This row is entered again right below itself (same number, same person).
    pub duplicate_row: Option<usize>,
    /// This row's registration date is a year before the book's.
    pub wrong_year_row: Option<usize>,
    /// Registrations fall in these months (first, last) of the year, birth dates moved
    /// with them: pages of a book follow one another in time.
    pub months: Option<(u32, u32)>,
}

/// How a form page is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormStyle {
    /// Two label/value pairs on a line where they fit (date of birth and sex, ethnicity
    /// and nationality, number and registration date).
    pub paired: bool,
    /// Values written on dotted leader lines.
    pub leaders: bool,
    /// The labels' other wordings ("Họ và tên", "Ngày sinh", …), in bold, lines closer.
    pub other_labels: bool,
    /// Drawn in boxes: a ruled table of a label column without colons and a value
    /// column, one field a row (no pairs, no leaders).
    #[serde(default)]
    pub boxed: bool,
}

impl PageSpec {
    /// A typed, undamaged ledger page of ten records of 1983 at `dpi`, drawn from `seed`;
    /// change what a case needs with struct update syntax.
    pub fn ledger(file: &str, dpi: f32, seed: u64) -> PageSpec {
        PageSpec {
            file: file.to_string(),
            dpi,
            hand: Hand::Typed,
            damage: Damage::none(),
            records: 10,
            year: 1983,
            first_number: 1,
            seed,
            real_places: false,
            form: None,
            no_dpi: false,
            plant: Plant::default(),
            column_jitter: 0.0,
            spread: false,
        }
    }
}

/// The faces pages are drawn with: DejaVu subsets compiled in (`fonts/`, see its
/// LICENSE), so that the pages, and the golden images drawn from them, do not change with
/// the fonts a system has installed.
struct Fonts {
    regular: &'static [u8],
    bold: &'static [u8],
    italic: &'static [u8],
}

impl Fonts {
    const BUILTIN: Fonts = Fonts {
        regular: include_bytes!("fonts/DejaVuSans.ttf"),
        bold: include_bytes!("fonts/DejaVuSansCondensed-Bold.ttf"),
        italic: include_bytes!("fonts/DejaVuSerifCondensed-Italic.ttf"),
    };
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
    "Lý",
];
const MIDDLE_M: &[&str] = &["Văn", "Hữu", "Đức", "Minh", "Quốc", "Xuân", "Thành", "Công"];
const MIDDLE_F: &[&str] = &["Thị", "Ngọc", "Thanh", "Thu", "Kim", "Diệu", "Mỹ"];
const GIVEN_M: &[&str] = &[
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hùng",
    "Quang",
    "Sơn",
    "Tuấn",
    "Thượng",
    "Lượng",
    "Khoa",
    "Hiếu",
    "Đạt",
    "Phước",
    "Trọng",
];
const GIVEN_F: &[&str] = &[
    "Hương", "Lan", "Mai", "Nga", "Phương", "Thảo", "Yến", "Ánh", "Hằng", "Nguyệt", "Ngữ", "Hợp", "Ước", "Duyên", "Lụa",
];
const PLACES: &[&str] = &[
    "Xã Yên Sở, huyện Hoài Đức, Hà Tây",
    "Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
    "Xã Nghĩa Hưng, huyện Lạng Giang, Hà Bắc",
    "Thị trấn Đông Anh, Hà Nội",
    "Xã Quỳnh Lưu, Nghệ Tĩnh",
    "Bệnh viện huyện Thủy Nguyên, Hải Phòng",
    "Xã Tân Phước, huyện Gò Công, Tiền Giang",
    "Phường Vĩnh Ninh, Huế, Bình Trị Thiên",
    "Xã Ea Tu, Buôn Ma Thuột, Đắk Lắk",
    "Xã Mường Lò, Nghĩa Lộ, Hoàng Liên Sơn",
];
const ETHNIC: &[(&str, u32)] = &[
    ("Kinh", 70),
    ("Tày", 6),
    ("Thái", 6),
    ("Mường", 6),
    ("Hoa", 4),
    ("Nùng", 4),
    ("Khơ-me", 2),
    ("Ê-đê", 2),
];
const NOTES: &[&str] = &["", "", "", "", "Đăng ký lại", "Quá hạn", "Con thứ hai", ""];

/// The table's columns: field id, heading as printed.
pub const COLUMNS: &[(&str, &str)] = &[
    ("so", "Số"),
    ("nksHoTen", "Họ, chữ đệm, tên"),
    ("nksNgaySinh", "Ngày, tháng, năm sinh"),
    ("nksGioiTinh", "Giới tính"),
    ("nksDanToc", "Dân tộc"),
    ("nksQuocTich", "Quốc tịch"),
    ("nksNoiSinh", "Nơi sinh"),
    ("meHoTen", "Họ, chữ đệm, tên mẹ"),
    ("chaHoTen", "Họ, chữ đệm, tên cha"),
    ("ngayDangKy", "Ngày đăng ký"),
    ("ghiChu", "Ghi chú"),
];

fn pick<'a, T>(rng: &mut SmallRng, v: &'a [T]) -> &'a T {
    &v[rng.gen_range(0..v.len())]
}

fn person(rng: &mut SmallRng, female: bool, family: Option<&str>) -> String {
    let fam = family
        .map(|s| s.to_string())
        .unwrap_or_else(|| pick(rng, FAMILY).to_string());
    let (mid, given) = if female {
        (MIDDLE_F, GIVEN_F)
    } else {
        (MIDDLE_M, GIVEN_M)
    };
    format!("{fam} {} {}", pick(rng, mid), pick(rng, given))
}

/// A plausible birth record: field id → (printed text, export value).
fn record(rng: &mut SmallRng, number: u32, year: u32, real_places: bool) -> BTreeMap<String, TruthField> {
    let female = rng.gen_bool(0.5);
    let father_family = pick(rng, FAMILY).to_string();
    let reg_month = rng.gen_range(1..=12u32);
    let reg_day = rng.gen_range(1..=28u32);
    // Born up to ~60 days before registration.
    let back = rng.gen_range(3..60u32);
    let (mut bd, mut bm, mut by) = (reg_day as i32 - back as i32, reg_month as i32, year as i32);
    while bd < 1 {
        bm -= 1;
        if bm < 1 {
            bm = 12;
            by -= 1;
        }
        bd += 28;
    }
    let eth = {
        let total: u32 = ETHNIC.iter().map(|e| e.1).sum();
        let mut r = rng.gen_range(0..total);
        ETHNIC
            .iter()
            .find(|e| {
                if r < e.1 {
                    true
                } else {
                    r -= e.1;
                    false
                }
            })
            .map(|e| e.0)
            .unwrap_or("Kinh")
    };
    let mut m = BTreeMap::new();
    let mut put = |k: &str, text: String, value: String| {
        m.insert(k.to_string(), TruthField { text, value });
    };
    put("so", format!("{number}"), format!("{number:02}/{year}"));
    put("nksHoTen", person(rng, female, Some(&father_family)), String::new());
    put(
        "nksNgaySinh",
        format!("{bd:02}/{bm:02}/{by}"),
        format!("{bd:02}.{bm:02}.{by}"),
    );
    put(
        "nksGioiTinh",
        if female { "Nữ" } else { "Nam" }.into(),
        if female { "2" } else { "1" }.into(),
    );
    put("nksDanToc", eth.into(), eth.into());
    put("nksQuocTich", "Việt Nam".into(), "Việt Nam".into());
    let place = if real_places && rng.gen_bool(0.8) {
        random_place(rng)
    } else {
        pick(rng, PLACES).to_string()
    };
    put("nksNoiSinh", place, String::new());
    put("meHoTen", person(rng, true, None), String::new());
    put("chaHoTen", person(rng, false, Some(&father_family)), String::new());
    put(
        "ngayDangKy",
        format!("{reg_day:02}/{reg_month:02}/{year}"),
        format!("{reg_day:02}.{reg_month:02}.{year}"),
    );
    put("ghiChu", pick(rng, NOTES).to_string(), String::new());
    for f in m.values_mut() {
        if f.value.is_empty() {
            f.value = f.text.clone();
        }
    }
    m
}

/// A plausible birth place: `Xã …, huyện …, <province>`, from a real ward of the gazetteer.
fn random_place(rng: &mut SmallRng) -> String {
    let chains = crate::places::Gazetteer::builtin().ward_chains();
    let (w, d, p) = &chains[rng.gen_range(0..chains.len())];
    let (dt, dn) = crate::places::split_type(d);
    let (_, pn) = crate::places::split_type(p);
    format!("{w}, {} {dn}, {pn}", dt.to_lowercase())
}

/// One line of `text` on white, `height` pixels high: typed (DejaVu Sans) or in a
/// handwriting face, for the line model's tests.
pub fn draw_line(text: &str, hand: Option<ScriptFace>, height: u32) -> Result<GrayImage, SynthError> {
    let bytes = match hand {
        Some(face) => face.load()?,
        None => Fonts::BUILTIN.regular.to_vec(),
    };
    let font = FontRef::try_from_slice(&bytes).map_err(|_| SynthError::FontInvalid(format!("{hand:?}")))?;
    let px = match hand {
        Some(_) => script_px(&font, height as f32 * 0.3),
        None => height as f32 * 0.62,
    };
    let width = (text_width(&font, px, text) + height as f32).ceil() as u32;
    let mut img = GrayImage::from_pixel(width, height, Luma([255]));
    draw_text(
        &mut img,
        &font,
        px,
        height as f32 / 2.0,
        height as f32 * 0.72,
        text,
        20,
        None,
    );
    Ok(img)
}

/// The size at which a face's `x` is `x_height` pixels tall: handwriting faces differ
/// widely in how much of the em their letters fill.
fn script_px(font: &FontRef, x_height: f32) -> f32 {
    let probe = 100.0;
    let g = font.glyph_id('x').with_scale(PxScale::from(probe));
    let h = font.outline_glyph(g).map_or(probe / 2.0, |o| o.px_bounds().height());
    probe * x_height / h.max(1.0)
}

/// Puts the planted problems into a page's records.
fn plant(records: &mut Vec<BTreeMap<String, TruthField>>, plant: Plant, rows: usize) {
    if let Some((first, last)) = plant.months {
        for r in records.iter_mut() {
            let month: u32 = r["ngayDangKy"].value[3..5].parse().expect("a month");
            let to = first + (month - 1) * (last - first + 1) / 12;
            for id in ["ngayDangKy", "nksNgaySinh"] {
                let f = r.get_mut(id).expect("a date");
                let (d, m, y): (u32, u32, u32) = (
                    f.value[0..2].parse().expect("a day"),
                    f.value[3..5].parse().expect("a month"),
                    f.value[6..10].parse().expect("a year"),
                );
                // The same shift for both dates (days are at most 28: every month has them).
                let total = (y * 12 + m - 1 + to) - month;
                let (y, m) = (total / 12, total % 12 + 1);
                f.text = format!("{d:02}/{m:02}/{y}");
                f.value = format!("{d:02}.{m:02}.{y}");
            }
        }
        sort_by_registration(records);
    }
    if let Some(r) = plant.wrong_year_row.and_then(|k| records.get_mut(k)) {
        let f = r.get_mut("ngayDangKy").expect("a registration date");
        let year: u32 = f.value[6..10].parse().expect("a year");
        f.text = format!("{}{}", &f.text[..6], year - 1);
        f.value = format!("{}{}", &f.value[..6], year - 1);
    }
    if let Some(k) = plant
        .duplicate_row
        .filter(|&k| k < records.len() && records.len() < rows)
    {
        let copy = records[k].clone();
        records.insert(k + 1, copy);
    }
}

/// A book of five typed pages of 1990 whose numbers run on from page to page, with
/// problems planted for the book checks: numbers 17 (before page 3) missing, on page 4
/// its third record entered twice and its sixth registered in 1989, and page 5 the same
/// sheet as page 2 scanned again (another skew, other noise).
pub fn checks_specs() -> Vec<PageSpec> {
    let page = |n: u32, first: u32, records: u32, skew: f32, noise: f32| PageSpec {
        plant: Plant {
            months: Some([(1, 2), (3, 4), (5, 6), (7, 9)][(n as usize - 1) % 4]),
            ..Plant::default()
        },
        year: 1990,
        first_number: first,
        records,
        damage: Damage {
            paper: 228,
            noise,
            skew_deg: skew,
            ..Damage::none()
        },
        ..PageSpec::ledger(&format!("trang-{n}.png"), 200.0, 900 + u64::from(n))
    };
    let mut rescan = page(2, 9, 8, -1.4, 5.0);
    rescan.plant.months = Some((3, 4));
    rescan.file = "trang-5.png".into();
    vec![
        page(1, 1, 8, 0.6, 2.0),
        page(2, 9, 8, 0.3, 2.0),
        page(3, 18, 8, -0.8, 2.0),
        PageSpec {
            plant: Plant {
                duplicate_row: Some(2),
                wrong_year_row: Some(5),
                months: Some((7, 9)),
            },
            ..page(4, 26, 8, 1.1, 2.0)
        },
        rescan,
    ]
}

/// Registration dates must rise with the number: sort the page's records by date.
fn sort_by_registration(recs: &mut [BTreeMap<String, TruthField>]) {
    let key = |r: &BTreeMap<String, TruthField>| {
        let v = &r["ngayDangKy"].value;
        (v[6..10].to_string(), v[3..5].to_string(), v[0..2].to_string())
    };
    let mut numbers: Vec<TruthField> = recs.iter().map(|r| r["so"].clone()).collect();
    recs.sort_by_key(key);
    for (r, n) in recs.iter_mut().zip(numbers.drain(..)) {
        r.insert("so".into(), n);
    }
}

#[allow(clippy::too_many_arguments)]
/// Draws `text` with its baseline at (`x`, `y`); returns the advance. `jitter` wobbles
/// the baseline and size per character (handwriting-like).
fn draw_text(
    img: &mut GrayImage,
    font: &FontRef,
    px: f32,
    x: f32,
    y: f32,
    text: &str,
    ink: u8,
    mut jitter: Option<&mut SmallRng>,
) -> f32 {
    let mut cx = x;
    for c in text.chars() {
        let (dy, ds) = match jitter.as_deref_mut() {
            Some(r) => (r.gen_range(-0.04..0.04) * px, r.gen_range(0.94..1.06)),
            None => (0.0, 1.0),
        };
        let scale = PxScale::from(px * ds);
        cx += script::draw_char(img, font, scale, (cx, y + dy), c, ink, jitter.as_deref_mut());
    }
    cx - x
}

fn text_width(font: &FontRef, px: f32, text: &str) -> f32 {
    let sf = font.as_scaled(PxScale::from(px));
    text.chars()
        .map(|c| sf.h_advance(font.glyph_id(script::drawn_char(font, c))))
        .sum()
}

/// Splits text into lines that fit `width`.
fn wrap(font: &FontRef, px: f32, text: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let cand = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && text_width(font, px, &cand) > width {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        } else {
            cur = cand;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn fill_rect(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32, v: u8) {
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            img.put_pixel(x, y, Luma([v]));
        }
    }
}

/// Renders one page and its truth.
pub fn render_page(spec: &PageSpec) -> Result<(GrayImage, TruthPage), SynthError> {
    let fonts = Fonts::BUILTIN;
    let regular = FontRef::try_from_slice(fonts.regular).map_err(|_| SynthError::FontInvalid("regular".into()))?;
    let bold = FontRef::try_from_slice(fonts.bold).map_err(|_| SynthError::FontInvalid("bold".into()))?;
    let italic = FontRef::try_from_slice(fonts.italic).map_err(|_| SynthError::FontInvalid("italic".into()))?;
    let script_bytes = match spec.hand {
        Hand::Script(face) => face.load()?,
        _ => Vec::new(),
    };
    let script = match spec.hand {
        Hand::Script(face) => {
            Some(FontRef::try_from_slice(&script_bytes).map_err(|_| SynthError::FontInvalid(format!("{face:?}")))?)
        }
        _ => None,
    };
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    if spec.spread && spec.form.is_none() {
        return render_spread(spec, &mut rng);
    }
    if let Some(style) = spec.form {
        let fonts = FormFonts {
            regular: &regular,
            bold: &bold,
            italic: &italic,
            script: script.as_ref(),
        };
        let (img, records) = render_form(spec, style, &fonts, &mut rng);
        return Ok(finish(img, records, spec, &mut rng));
    }
    let mm = spec.dpi / 25.4;
    let (w, h) = ((297.0 * mm) as u32, (210.0 * mm) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let pt = spec.dpi / 72.0;
    let line_w = ((spec.dpi / 100.0).round() as u32).max(1);

    // Title.
    let title = format!("SỔ ĐĂNG KÝ KHAI SINH — NĂM {}", spec.year);
    let tpx = 14.0 * pt;
    let tw = text_width(&bold, tpx, &title);
    draw_text(&mut img, &bold, tpx, (w as f32 - tw) / 2.0, 16.0 * mm, &title, 0, None);

    // Table geometry.
    let (left, right) = (10.0 * mm, w as f32 - 10.0 * mm);
    let top = 22.0 * mm;
    let header_h = 13.0 * mm;
    let body_rows = 10u32;
    let row_h = ((h as f32 - 8.0 * mm) - (top + header_h)) / body_rows as f32;
    let widths: Vec<f32> = {
        let t = crate::template::Template::for_book_type("ks").expect("built-in template");
        let j = spec.column_jitter;
        let drawn: Vec<f32> = t
            .widths()
            .into_iter()
            .map(|f| {
                if j > 0.0 {
                    f * rng.gen_range(1.0 - j..1.0 + j)
                } else {
                    f
                }
            })
            .collect();
        let total: f32 = drawn.iter().sum();
        drawn.into_iter().map(|f| f / total).collect()
    };
    let mut xs = vec![left];
    for f in &widths {
        xs.push(xs.last().copied().unwrap_or(left) + f * (right - left));
    }
    let mut ys = vec![top, top + header_h];
    for i in 1..=body_rows {
        ys.push(top + header_h + i as f32 * row_h);
    }
    let rules = spec.damage.rules;
    let bottom = *ys.last().unwrap_or(&top);
    for (i, &y) in ys.iter().enumerate() {
        if rules == Rules::Unruled || rules == Rules::NoRowRules && i >= 2 && i + 1 < ys.len() {
            continue;
        }
        draw_rule(
            &mut img,
            &mut rng,
            rules,
            true,
            y,
            left,
            right + line_w as f32,
            line_w,
            mm,
        );
    }
    for (i, &x) in xs.iter().enumerate() {
        if rules == Rules::Unruled || rules == Rules::NoColumnRules && i > 0 && i + 1 < xs.len() {
            continue;
        }
        draw_rule(
            &mut img,
            &mut rng,
            rules,
            false,
            x,
            top,
            bottom + line_w as f32,
            line_w,
            mm,
        );
    }
    // Headings, wrapped and centred.
    let hpx = 7.5 * pt;
    for (c, (_, heading)) in COLUMNS.iter().enumerate() {
        let cw = xs[c + 1] - xs[c] - 4.0 * pt;
        let lines = wrap(&bold, hpx, heading, cw);
        let total = lines.len() as f32 * hpx * 1.15;
        let mut y = top + (header_h - total) / 2.0 + hpx * 0.95;
        for l in &lines {
            let lw = text_width(&bold, hpx, l);
            draw_text(
                &mut img,
                &bold,
                hpx,
                xs[c] + (xs[c + 1] - xs[c] - lw) / 2.0,
                y,
                l,
                0,
                None,
            );
            y += hpx * 1.15;
        }
    }
    // Records.
    let mut records: Vec<BTreeMap<String, TruthField>> = (0..spec.records.min(body_rows))
        .map(|i| record(&mut rng, spec.first_number + i, spec.year, spec.real_places))
        .collect();
    sort_by_registration(&mut records);
    plant(&mut records, spec.plant, body_rows as usize);
    let (font, vpx, ink) = match (spec.hand, &script) {
        (Hand::Script(_), Some(f)) => (f, script_px(f, 4.0 * pt), 35u8),
        (Hand::Hand | Hand::Script(_), _) => (&italic, 9.0 * pt, 40u8),
        (Hand::Typed, _) => (&regular, 8.0 * pt, 10u8),
    };
    for (r, rec) in records.iter().enumerate() {
        let row_top = ys[r + 1];
        for (c, (id, _)) in COLUMNS.iter().enumerate() {
            let text = &rec[*id].text;
            if text.is_empty() {
                continue;
            }
            let cw = xs[c + 1] - xs[c] - 6.0 * pt;
            let lines = wrap(font, vpx, text, cw);
            let lh = vpx * 1.25;
            let total = lines.len() as f32 * lh;
            let mut y = row_top + (row_h - total) / 2.0 + vpx * 0.95;
            for l in &lines {
                let jit = if spec.hand.is_hand() { Some(&mut rng) } else { None };
                draw_text(&mut img, font, vpx, xs[c] + 3.0 * pt, y, l, ink, jit);
                y += lh;
            }
        }
    }
    // What a tear from the right edge takes away is not expected back.
    if spec.damage.torn > 0.0 {
        let torn_from = w as f32 * (1.0 - spec.damage.torn - 0.05);
        for (c, (id, _)) in COLUMNS.iter().enumerate() {
            if xs[c + 1] > torn_from {
                for rec in records.iter_mut() {
                    if let Some(f) = rec.get_mut(*id) {
                        f.value.clear();
                    }
                }
            }
        }
    }
    Ok(finish(img, records, spec, &mut rng))
}

/// Draws one ruling line across `from..to` at `pos` (horizontal: `pos` is y), in the
/// style of `rules`: inked solid, faint and broken, or pencil (thin, grey, wavering).
#[allow(clippy::too_many_arguments)]
fn draw_rule(
    img: &mut GrayImage,
    rng: &mut SmallRng,
    rules: Rules,
    horizontal: bool,
    pos: f32,
    from: f32,
    to: f32,
    width: u32,
    mm: f32,
) {
    let (shade, width, gaps_per_m, wander) = match rules {
        Rules::Faint => (170u8, width, 12.0, 0.0),
        Rules::Pencil => (185, 1.max(width / 2), 25.0, 0.6),
        _ => (0, width, 0.0, 0.0),
    };
    let (mut t, mut drift) = (from, 0.0f32);
    let mut gap_until = from;
    while t < to {
        if gaps_per_m > 0.0 && t >= gap_until && rng.gen_bool(((gaps_per_m / 1000.0) / mm) as f64) {
            gap_until = t + rng.gen_range(0.5..2.5) * mm;
        }
        if wander > 0.0 {
            drift = (drift + rng.gen_range(-0.08..0.08f32)).clamp(-wander * mm, wander * mm);
        }
        if t >= gap_until {
            let p = (pos + drift).max(0.0) as u32;
            let t0 = t as u32;
            if horizontal {
                fill_rect(img, t0, p, t0 + 1, p + width, shade);
            } else {
                fill_rect(img, p, t0, p + width, t0 + 1, shade);
            }
        }
        t += 1.0;
    }
}

/// Ages a clean page and writes its truth.
/// An open book's two ledger pages side by side (see [`PageSpec::spread`]), drawn clean,
/// the binding's shadow darkening the paper over 10 mm either side of the fold, then
/// damaged as one.
fn render_spread(spec: &PageSpec, rng: &mut SmallRng) -> Result<(GrayImage, TruthPage), SynthError> {
    let half = |first_number, seed| PageSpec {
        spread: false,
        first_number,
        seed,
        damage: Damage {
            rules: spec.damage.rules,
            ..Damage::none()
        },
        ..spec.clone()
    };
    let (left, l) = render_page(&half(spec.first_number, spec.seed ^ 0x1ef7))?;
    let (right, r) = render_page(&half(spec.first_number + l.records.len() as u32, spec.seed ^ 0x5164))?;
    let (w, h) = left.dimensions();
    let fold = (10.0 * spec.dpi / 25.4) as i64;
    let img = GrayImage::from_fn(2 * w, h, |x, y| {
        let v = if x < w {
            left.get_pixel(x, y)
        } else {
            right.get_pixel(x - w, y)
        }
        .0[0];
        let d = (x as i64 - w as i64).abs();
        let shade = if d < fold {
            1.0 - 0.4 * (1.0 - d as f32 / fold as f32).powi(2)
        } else {
            1.0
        };
        Luma([(v as f32 * shade) as u8])
    });
    let records = l.records.into_iter().chain(r.records).collect();
    Ok(finish(img, records, spec, rng))
}

fn finish(
    img: GrayImage,
    records: Vec<BTreeMap<String, TruthField>>,
    spec: &PageSpec,
    rng: &mut SmallRng,
) -> (GrayImage, TruthPage) {
    let img = age(img, &spec.damage, spec.dpi, rng);
    let eligible = spec.damage.ink >= 0.3 && spec.damage.torn <= 0.4 && !records.is_empty();
    (
        img,
        TruthPage {
            file: spec.file.clone(),
            skew_deg: spec.damage.skew_deg,
            eligible,
            hand: spec.hand,
            damage: spec.damage.clone(),
            records,
        },
    )
}

struct FormFonts<'a> {
    regular: &'a FontRef<'a>,
    bold: &'a FontRef<'a>,
    italic: &'a FontRef<'a>,
    script: Option<&'a FontRef<'a>>,
}

/// A form page (books of 2006–2020): portrait A4, one record, each value written after
/// its printed label; sex, ethnicity and nationality share a line.
fn render_form(
    spec: &PageSpec,
    style: FormStyle,
    f: &FormFonts,
    rng: &mut SmallRng,
) -> (GrayImage, Vec<BTreeMap<String, TruthField>>) {
    let mm = spec.dpi / 25.4;
    let (w, h) = ((210.0 * mm) as u32, (297.0 * mm) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let pt = spec.dpi / 72.0;
    let mut rec = record(rng, spec.first_number, spec.year, spec.real_places);
    // Books from 2016 on (Circular 15/2015) carry the child's personal ID: province code,
    // sex and century, the birth year's last two digits, six more digits.
    let with_id = spec.year >= 2016;
    if with_id {
        let born: u32 = rec["nksNgaySinh"].value[6..10].parse().unwrap_or(spec.year);
        let female = rec["nksGioiTinh"].value == "2";
        let id = format!(
            "{:03}{}{:02}{:06}",
            rng.gen_range(1..=96),
            2 * ((born - 1900) / 100) + u32::from(female),
            born % 100,
            rng.gen_range(0..1_000_000)
        );
        rec.insert(
            "nksSoDinhDanh".to_string(),
            TruthField {
                text: id.clone(),
                value: id,
            },
        );
    }
    let title = "SỔ ĐĂNG KÝ KHAI SINH";
    let tpx = 15.0 * pt;
    let tw = text_width(f.bold, tpx, title);
    draw_text(&mut img, f.bold, tpx, (w as f32 - tw) / 2.0, 20.0 * mm, title, 0, None);
    let year = format!("Năm {}", spec.year);
    let ypx = 11.0 * pt;
    let yw = text_width(f.regular, ypx, &year);
    draw_text(
        &mut img,
        f.regular,
        ypx,
        (w as f32 - yw) / 2.0,
        27.0 * mm,
        &year,
        0,
        None,
    );
    let (vfont, vpx, ink) = match (spec.hand, f.script) {
        (Hand::Script(_), Some(s)) => (s, script_px(s, 5.5 * pt), 35u8),
        (Hand::Hand | Hand::Script(_), _) => (f.italic, 13.0 * pt, 40u8),
        (Hand::Typed, _) => (f.regular, 12.0 * pt, 10u8),
    };
    let lpx = 11.0 * pt;
    let (left, right) = (20.0 * mm, w as f32 - 18.0 * mm);
    let plain: &[&[(&str, &str)]] = &[
        &[("Số", "so")],
        &[("Số định danh cá nhân", "nksSoDinhDanh")],
        &[("Họ, chữ đệm, tên", "nksHoTen")],
        &[("Ngày, tháng, năm sinh", "nksNgaySinh")],
        &[
            ("Giới tính", "nksGioiTinh"),
            ("Dân tộc", "nksDanToc"),
            ("Quốc tịch", "nksQuocTich"),
        ],
        &[("Nơi sinh", "nksNoiSinh")],
        &[("Họ, chữ đệm, tên người mẹ", "meHoTen")],
        &[("Họ, chữ đệm, tên người cha", "chaHoTen")],
        &[("Ngày, tháng, năm đăng ký", "ngayDangKy")],
        &[("Ghi chú", "ghiChu")],
    ];
    let paired: &[&[(&str, &str)]] = &[
        &[("Số", "so"), ("Ngày, tháng, năm đăng ký", "ngayDangKy")],
        &[("Số định danh cá nhân", "nksSoDinhDanh")],
        &[("Họ, chữ đệm, tên", "nksHoTen")],
        &[("Ngày, tháng, năm sinh", "nksNgaySinh"), ("Giới tính", "nksGioiTinh")],
        &[("Dân tộc", "nksDanToc"), ("Quốc tịch", "nksQuocTich")],
        &[("Nơi sinh", "nksNoiSinh")],
        &[("Họ, chữ đệm, tên người mẹ", "meHoTen")],
        &[("Họ, chữ đệm, tên người cha", "chaHoTen")],
        &[("Ghi chú", "ghiChu")],
    ];
    let rows = if style.paired { paired } else { plain };
    // The same labels as other books word them.
    let other = |label: &str| -> String {
        match label {
            "Số" => "Số đăng ký",
            "Số định danh cá nhân" => "Số định danh",
            "Họ, chữ đệm, tên" => "Họ và tên",
            "Ngày, tháng, năm sinh" => "Ngày sinh",
            "Họ, chữ đệm, tên người mẹ" => "Họ và tên mẹ",
            "Họ, chữ đệm, tên người cha" => "Họ và tên cha",
            "Ngày, tháng, năm đăng ký" => "Ngày đăng ký",
            l => l,
        }
        .to_string()
    };
    let lfont = if style.other_labels { f.bold } else { f.regular };
    let pitch = if style.other_labels { 11.0 } else { 14.0 };
    let dot = ((spec.dpi / 110.0).round() as u32).max(1);
    let mut y = 45.0 * mm;
    if style.boxed {
        let value_x = left + 68.0 * mm;
        let top = y - 7.0 * mm;
        let (mut row_top, mut rules) = (top, vec![top]);
        for &(label, id) in plain.iter().flat_map(|r| r.iter()) {
            if id == "nksSoDinhDanh" && !with_id {
                continue;
            }
            let label = if style.other_labels {
                other(label)
            } else {
                label.to_string()
            };
            let base = row_top + 6.5 * mm;
            draw_text(&mut img, lfont, lpx, left + 2.0 * mm, base, &label, 0, None);
            let value = &rec[id].text;
            let lines = wrap(vfont, vpx, value, right - value_x - 4.0 * mm);
            for (k, l) in lines.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
                let yy = base + k as f32 * 6.0 * mm;
                let jitter = spec.hand.is_hand().then_some(&mut *rng);
                draw_text(&mut img, vfont, vpx, value_x + 2.0 * mm, yy, l, ink, jitter);
            }
            row_top += 10.0 * mm + lines.len().saturating_sub(1) as f32 * 6.0 * mm;
            rules.push(row_top);
        }
        for r in rules {
            fill_rect(&mut img, left as u32, r as u32, right as u32 + dot, r as u32 + dot, 0);
        }
        for x in [left, value_x, right] {
            fill_rect(&mut img, x as u32, top as u32, x as u32 + dot, row_top as u32 + dot, 0);
        }
        y = row_top + 10.0 * mm;
    }
    for row in rows.iter().filter(|_| !style.boxed) {
        if row[0].1 == "nksSoDinhDanh" && !with_id {
            continue;
        }
        let slot = (right - left) / row.len() as f32;
        let mut extra_lines = 0;
        for (i, (label, id)) in row.iter().enumerate() {
            let x = left + i as f32 * slot;
            let label = if style.other_labels {
                format!("{}:", other(label))
            } else {
                format!("{label}:")
            };
            draw_text(&mut img, lfont, lpx, x, y, &label, 0, None);
            let vx = x + text_width(lfont, lpx, &label) + 3.0 * mm;
            if style.leaders {
                // A dotted line from the label to the end of its slot, under the value.
                let mut dx = vx - 1.5 * mm;
                while dx < x + slot - 3.0 * mm {
                    fill_rect(
                        &mut img,
                        dx as u32,
                        (y + 0.8 * mm) as u32,
                        dx as u32 + dot,
                        (y + 0.8 * mm) as u32 + dot,
                        0,
                    );
                    dx += 1.3 * mm;
                }
            }
            let value = &rec[*id].text;
            if value.is_empty() {
                continue;
            }
            // A long value goes on under its label, from the left margin.
            let first_width = (x + slot - vx).max(10.0 * mm);
            let lines = wrap(vfont, vpx, value, first_width);
            let (first, rest) = lines
                .split_first()
                .map(|(a, b)| (a.clone(), b.join(" ")))
                .unwrap_or_default();
            draw_text(
                &mut img,
                vfont,
                vpx,
                vx,
                y,
                &first,
                ink,
                spec.hand.is_hand().then_some(&mut *rng),
            );
            if !rest.is_empty() {
                let mut yy = y;
                for l in wrap(vfont, vpx, &rest, right - left) {
                    yy += (pitch - 5.0) * mm;
                    extra_lines += 1;
                    draw_text(
                        &mut img,
                        vfont,
                        vpx,
                        left,
                        yy,
                        &l,
                        ink,
                        spec.hand.is_hand().then_some(&mut *rng),
                    );
                }
            }
        }
        y += pitch * mm + extra_lines as f32 * (pitch - 5.0) * mm;
    }
    if with_id {
        let mut tick_rng = SmallRng::seed_from_u64(spec.seed ^ 0x71c6);
        let ticks = TickRow {
            font: lfont,
            px: lpx,
            line: ((spec.dpi / 110.0).round() as u32).max(1),
            other_labels: style.other_labels,
        };
        ticks.draw(&mut img, &mut rec, (left, right), y, &mut tick_rng);
    }
    (img, vec![rec])
}

/// The tick boxes of the 2016–2020 form books: on time, late, registered again (the
/// registration type, `loaiDangKy`), and an abandoned child (`nksLoaiKhaiSinh` 5).
struct TickRow<'a> {
    font: &'a FontRef<'a>,
    px: f32,
    /// The boxes' line width, pixels.
    line: u32,
    other_labels: bool,
}

impl TickRow<'_> {
    /// Draws the row at baseline `y` across `span`, one box ticked by hand for the
    /// registration type (the note's when it names one), another now and then for an
    /// abandoned child; the ticked ones go into the truth.
    fn draw(
        &self,
        img: &mut GrayImage,
        rec: &mut BTreeMap<String, TruthField>,
        span: (f32, f32),
        y: f32,
        rng: &mut SmallRng,
    ) {
        let boxes: [(&str, &str, &str); 4] = [
            ("Đúng hạn", "Đăng ký đúng hạn", "1"),
            ("Quá hạn", "Đăng ký quá hạn", "4"),
            ("Đăng ký lại", "Đăng ký lại", "2"),
            ("Trẻ bị bỏ rơi", "Trẻ em bị bỏ rơi", "5"),
        ];
        let kind = match rec["ghiChu"].value.as_str() {
            "Quá hạn" => 1,
            "Đăng ký lại" => 2,
            _ if rng.gen_bool(0.1) => 1,
            _ => 0,
        };
        let abandoned = rng.gen_bool(0.08);
        let slot = (span.1 - span.0) / boxes.len() as f32;
        let side = 0.75 * self.px;
        for (i, (short, long, code)) in boxes.iter().enumerate() {
            let label = if self.other_labels { long } else { short };
            let x = span.0 + i as f32 * slot;
            let bx = x + text_width(self.font, self.px, label) + 0.25 * self.px;
            draw_text(img, self.font, self.px, x, y, label, 0, None);
            let (x0, y0, s, t) = (bx as u32, (y - side) as u32, side as u32, self.line);
            fill_rect(img, x0, y0, x0 + s, y0 + t, 0);
            fill_rect(img, x0, y0 + s - t, x0 + s, y0 + s, 0);
            fill_rect(img, x0, y0, x0 + t, y0 + s, 0);
            fill_rect(img, x0 + s - t, y0, x0 + s, y0 + s, 0);
            let ticked = if i < 3 { i == kind } else { abandoned };
            if !ticked {
                continue;
            }
            // A tick or a cross in a pen, a little past the box now and then.
            let w = (self.line as f32 * 1.6).max(1.5);
            let j = |rng: &mut SmallRng| rng.gen_range(-0.08..0.08) * side;
            let (bx, by) = (x0 as f32, y0 as f32);
            if rng.gen_bool(0.7) {
                let a = (bx + 0.15 * side + j(rng), by + 0.5 * side + j(rng));
                let b = (bx + 0.42 * side + j(rng), by + 0.85 * side + j(rng));
                let c = (bx + 1.05 * side + j(rng), by - 0.15 * side + j(rng));
                stroke(img, a, b, w, 40);
                stroke(img, b, c, w, 40);
            } else {
                let (lo, hi) = (0.12 * side, 0.88 * side);
                stroke(img, (bx + lo + j(rng), by + lo), (bx + hi + j(rng), by + hi), w, 40);
                stroke(img, (bx + hi + j(rng), by + lo), (bx + lo + j(rng), by + hi), w, 40);
            }
            let field = if i < 3 { "loaiDangKy" } else { "nksLoaiKhaiSinh" };
            rec.insert(
                field.to_string(),
                TruthField {
                    text: short.to_string(),
                    value: code.to_string(),
                },
            );
        }
    }
}

/// A pen's straight stroke from `a` to `b`, `width` pixels wide.
fn stroke(img: &mut GrayImage, a: (f32, f32), b: (f32, f32), width: f32, ink: u8) {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt().max(1.0);
    let r = width / 2.0;
    for k in 0..=(len * 2.0) as u32 {
        let t = k as f32 / (len * 2.0);
        let (cx, cy) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for y in (cy - r).floor() as i32..=(cy + r).ceil() as i32 {
            for x in (cx - r).floor() as i32..=(cx + r).ceil() as i32 {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                if d <= r && x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
                    let p = img.get_pixel_mut(x as u32, y as u32);
                    p.0[0] = p.0[0].min(ink);
                }
            }
        }
    }
}

/// Applies the damage to a clean page (ink 0 … paper 255).
fn age(clean: GrayImage, d: &Damage, dpi: f32, rng: &mut SmallRng) -> GrayImage {
    let (w, h) = clean.dimensions();
    let paper = d.paper as f32;
    // Uneven light: a gentle gradient across the page.
    let gx = rng.gen_range(-12.0..12.0f32);
    let gy = rng.gen_range(-8.0..8.0f32);
    let stains: Vec<(f32, f32, f32, f32)> = (0..d.stains)
        .map(|_| {
            (
                rng.gen_range(0.0..w as f32),
                rng.gen_range(0.0..h as f32),
                rng.gen_range(0.04..0.12) * w as f32,
                rng.gen_range(25.0..60.0),
            )
        })
        .collect();
    let mut out = GrayImage::new(w, h);
    for (x, y, p) in clean.enumerate_pixels() {
        let fx = x as f32 / w as f32 - 0.5;
        let fy = y as f32 / h as f32 - 0.5;
        let mut bg = paper + gx * fx + gy * fy;
        for &(sx, sy, r, depth) in &stains {
            let dist = ((x as f32 - sx).powi(2) + (y as f32 - sy).powi(2)).sqrt() / r;
            if dist < 1.0 {
                bg -= depth * (1.0 - dist * dist);
            }
        }
        let ink_amount = 1.0 - p.0[0] as f32 / 255.0; // 0 paper … 1 full ink
        let v = bg - ink_amount * d.ink * (bg - 15.0);
        let n = if d.noise > 0.0 { gauss(rng) * d.noise } else { 0.0 };
        out.put_pixel(x, y, Luma([(v + n).clamp(0.0, 255.0) as u8]));
    }
    if d.blur > 0 {
        out = box_blur(&out, d.blur);
    }
    if d.skew_deg.abs() > 0.0 {
        out = rotate(&out, -d.skew_deg, d.paper);
    }
    if d.torn > 0.0 {
        // A ragged tear from the right edge: the scanner's dark lid shows through.
        let (w, h) = out.dimensions();
        let base = w as f32 * (1.0 - d.torn);
        let mut edge = base;
        for y in 0..h {
            edge = (edge + rng.gen_range(-3.0..3.0f32)).clamp(base - 0.05 * w as f32, base + 0.05 * w as f32);
            for x in edge.max(0.0) as u32..w {
                out.put_pixel(x, y, Luma([25]));
            }
        }
    }
    if d.border {
        let m = (dpi * 0.3) as u32;
        let (w, h) = out.dimensions();
        let mut canvas = GrayImage::from_pixel(w + 2 * m, h + 2 * m, Luma([30]));
        image::imageops::replace(&mut canvas, &out, m as i64, (m / 2) as i64);
        out = canvas;
    }
    if let Some(p) = d.photo {
        out = photograph(&out, p, rng);
    }
    out
}

/// The page as a hand-held camera sees it: on a darker table, each corner moved
/// (perspective), the lines bowed near the binding on the left (curl), a shadow falling
/// across one side, the light uneven.
fn photograph(page: &GrayImage, p: Photo, rng: &mut SmallRng) -> GrayImage {
    use crate::restore::perspective::{sample, Homography};
    let (w, h) = (page.width() as f32, page.height() as f32);
    let (cw, ch) = ((w * 1.16) as u32, (h * 1.16) as u32);
    let (mx, my) = (w * 0.08, h * 0.08);
    let mut jitter = || rng.gen_range(-1.0..1.0f32) * p.perspective * w;
    // Keystone: the far edge (the top) narrower, then every corner moved a little more.
    let k = p.perspective * w * 0.8;
    let quad = [
        [mx + k + jitter(), my + jitter()],
        [mx + w - k + jitter(), my + jitter()],
        [mx + w + jitter() * 0.5, my + h + jitter() * 0.5],
        [mx + jitter() * 0.5, my + h + jitter() * 0.5],
    ];
    let rect = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let to_page = Homography::between(quad, rect).expect("a page's corners are not in a line");
    let side = rng.gen_bool(0.5);
    let table = rng.gen_range(35.0..75.0f32);
    let mut out = GrayImage::new(cw, ch);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let [u, v] = to_page.apply([x as f32 + 0.5, y as f32 + 0.5]);
        // Curl: near the binding the page lifts and its lines bow upwards.
        let lift = (1.0 - u / (0.2 * w)).max(0.0);
        let v = v + p.curl * h * lift * lift * (v / h - 0.5).abs().mul_add(-1.0, 1.0);
        let inside = u >= 0.0 && v >= 0.0 && u < w && v < h;
        let value = if inside {
            sample(page, [u, v], 255) as f32
        } else {
            table
        };
        // Shadow across one side, and light falling off towards the corners.
        let across = if side { u / w } else { 1.0 - u / w };
        let shade = p.shadow * (1.0 - across.clamp(0.0, 1.0)).powi(2);
        let (fx, fy) = (x as f32 / cw as f32 - 0.5, y as f32 / ch as f32 - 0.5);
        let vignette = 1.0 - 0.25 * (fx * fx + fy * fy);
        *px = Luma([((value - if inside { shade } else { 0.0 }) * vignette).clamp(0.0, 255.0) as u8]);
    }
    out
}

fn gauss(rng: &mut SmallRng) -> f32 {
    // Box–Muller.
    let u1: f32 = rng.gen_range(1e-6..1.0);
    let u2: f32 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

fn box_blur(img: &GrayImage, r: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let pass = |src: &GrayImage, horizontal: bool| -> GrayImage {
        let mut out = GrayImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let (mut s, mut n) = (0u32, 0u32);
                for k in -(r as i32)..=(r as i32) {
                    let (xx, yy) = if horizontal {
                        (x as i32 + k, y as i32)
                    } else {
                        (x as i32, y as i32 + k)
                    };
                    if xx >= 0 && yy >= 0 && (xx as u32) < w && (yy as u32) < h {
                        s += src.get_pixel(xx as u32, yy as u32).0[0] as u32;
                        n += 1;
                    }
                }
                out.put_pixel(x, y, Luma([(s / n) as u8]));
            }
        }
        out
    };
    pass(&pass(img, true), false)
}

/// The bundled sample book: five pages of increasing damage, one unreadable.
pub fn sample_specs() -> Vec<PageSpec> {
    let base = |file: &str, hand, damage, records, first, seed| PageSpec {
        file: file.to_string(),
        dpi: 150.0,
        hand,
        damage,
        records,
        year: 1983,
        first_number: first,
        seed,
        real_places: false,
        form: None,
        no_dpi: false,
        plant: Plant::default(),
        column_jitter: 0.0,
        spread: false,
    };
    vec![
        base(
            "trang-1.png",
            Hand::Typed,
            Damage {
                paper: 232,
                noise: 0.0,
                skew_deg: 0.8,
                ..Damage::none()
            },
            10,
            1,
            11,
        ),
        base(
            "trang-2.jpg",
            Hand::Typed,
            Damage {
                ink: 0.55,
                paper: 214,
                stains: 3,
                noise: 4.0,
                skew_deg: -2.6,
                border: true,
                ..Damage::none()
            },
            10,
            11,
            12,
        ),
        base(
            "trang-3.tif",
            Hand::Hand,
            Damage {
                ink: 0.8,
                paper: 225,
                stains: 1,
                skew_deg: 1.7,
                ..Damage::none()
            },
            8,
            21,
            13,
        ),
        base(
            "trang-10.jpg",
            Hand::Typed,
            Damage {
                ink: 0.08,
                paper: 205,
                noise: 3.0,
                stains: 2,
                ..Damage::none()
            },
            10,
            29,
            14,
        ),
    ]
}

/// A varied set: `n` pages with random damage, style, resolution and format, from `seed`.
/// About one page in eight is made unreadable (ink faded away or mostly torn off).
pub fn varied_specs(n: u32, seed: u64, dpi: Option<f32>) -> Vec<PageSpec> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let unreadable = rng.gen_bool(0.125);
            let ext = *pick(&mut rng, &["png", "jpg", "tif"]);
            let damage = Damage {
                ink: if unreadable && rng.gen_bool(0.5) {
                    rng.gen_range(0.04..0.1)
                } else {
                    rng.gen_range(0.45..1.0)
                },
                paper: rng.gen_range(200..250),
                stains: rng.gen_range(0..4),
                noise: rng.gen_range(0.0..6.0),
                blur: u32::from(rng.gen_bool(0.2)),
                skew_deg: (rng.gen_range(-6.0..6.0f32) * 100.0).round() / 100.0,
                border: rng.gen_bool(0.4),
                torn: if unreadable && rng.gen_bool(0.5) {
                    rng.gen_range(0.6..0.8)
                } else if rng.gen_bool(0.2) {
                    rng.gen_range(0.02..0.08)
                } else {
                    0.0
                },
                rules: Rules::Inked,
                photo: None,
            };
            PageSpec {
                file: format!("trang-{}.{ext}", i + 1),
                dpi: dpi.unwrap_or_else(|| *pick(&mut rng, &[150.0, 200.0, 300.0])),
                hand: if rng.gen_bool(0.35) { Hand::Hand } else { Hand::Typed },
                damage,
                records: rng.gen_range(4..=10),
                year: rng.gen_range(1976..2005),
                first_number: rng.gen_range(1..60),
                seed: rng.gen(),
                real_places: true,
                form: None,
                no_dpi: false,
                plant: Plant::default(),
                column_jitter: 0.0,
                spread: false,
            }
        })
        .collect()
}

/// The variations of pages as they really come, `n` pages from `seed`: `forms` (form
/// pages drawn in several styles), `rulings` (faint, pencil and missing rules), `photos`
/// (typed ledger pages photographed), `photos-flat` (the same pages scanned flat),
/// `no-dpi` (files that state no resolution), `mixed` (a book of ledger and form pages),
/// `spreads` (an open book's two typed ledger pages in one image; held out: photographed),
/// `unruled` (ledger pages without any rules; held out: the columns of another printing).
/// Every other photographed page is curled near the binding. `held_out` draws the
/// variations kept out of tuning instead: forms worded and set differently with values in
/// a hand (every third drawn in boxes), pencil rules and rules missing between columns (the
/// columns drawn up to 30% wider or narrower than the template's), steeper photographs
/// with more curl.
pub fn variation_specs(set: &str, n: u32, seed: u64, dpi: Option<f32>, held_out: bool) -> Option<Vec<PageSpec>> {
    let mut specs = varied_specs(n, seed, dpi);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed);
    for (i, s) in specs.iter_mut().enumerate() {
        // The variations are about layout, not destroyed pages.
        s.damage.ink = s.damage.ink.max(0.5);
        s.damage.torn = s.damage.torn.min(0.08);
        let form = |rng: &mut SmallRng| FormStyle {
            paired: rng.gen_bool(0.6),
            leaders: rng.gen_bool(0.5),
            other_labels: held_out,
            boxed: held_out && i % 3 == 1,
        };
        match set {
            "forms" => s.form = Some(form(&mut rng)),
            "mixed" => {
                if i % 2 == 1 {
                    s.form = Some(form(&mut rng));
                }
            }
            "rulings" => {
                s.damage.rules = match (held_out, i % 2) {
                    (false, 0) => Rules::Faint,
                    (false, _) => Rules::NoRowRules,
                    (true, 0) => Rules::Pencil,
                    (true, _) => Rules::NoColumnRules,
                };
                // Held out: another printing, its columns not the template's widths.
                if held_out {
                    s.column_jitter = 0.3;
                }
            }
            "photos" | "photos-flat" => {
                s.hand = Hand::Typed;
                s.damage.border = false;
                s.damage.torn = 0.0;
                s.damage.skew_deg = s.damage.skew_deg.clamp(-2.0, 2.0);
                let photo = Photo {
                    perspective: if held_out {
                        rng.gen_range(0.04..0.07)
                    } else {
                        rng.gen_range(0.01..0.04)
                    },
                    curl: match (held_out, i % 2) {
                        (true, _) => rng.gen_range(0.004..0.01),
                        (false, 1) => rng.gen_range(0.002..0.007),
                        (false, _) => 0.0,
                    },
                    shadow: rng.gen_range(10.0..50.0),
                };
                if set == "photos" {
                    s.damage.photo = Some(photo);
                }
            }
            "spreads" => {
                // An open book scanned whole (held out: photographed).
                s.spread = true;
                s.hand = Hand::Typed;
                s.damage.border = false;
                s.damage.torn = 0.0;
                s.damage.skew_deg = s.damage.skew_deg.clamp(-2.0, 2.0);
                if held_out {
                    s.damage.photo = Some(Photo {
                        perspective: rng.gen_range(0.01..0.03),
                        curl: 0.0,
                        shadow: rng.gen_range(10.0..40.0),
                    });
                }
            }
            "unruled" => {
                // No rules at all (held out: the columns of another printing).
                s.damage.rules = Rules::Unruled;
                if held_out {
                    s.column_jitter = 0.3;
                }
            }
            "no-dpi" => s.no_dpi = true,
            _ => return None,
        }
        if s.form.is_some() {
            // Form books are those of 2006–2020.
            s.year = 2006 + (s.year - 1976) % 15;
            if held_out && s.hand == Hand::Typed {
                s.hand = Hand::Hand;
            }
        }
    }
    Some(specs)
}

/// Pages written in handwriting faces (`faces`, one after another): otherwise like the
/// varied set — random damage, resolution and format, real communes for birth places.
pub fn script_specs(n: u32, seed: u64, dpi: Option<f32>, faces: &[ScriptFace]) -> Vec<PageSpec> {
    let mut specs = varied_specs(n, seed, dpi);
    for (i, s) in specs.iter_mut().enumerate() {
        s.hand = Hand::Script(faces[i % faces.len()]);
    }
    specs
}

/// Writes pages to `out/books/<book>/` and their truth to `out/truth/<book>/<stem>.json`.
pub fn write_book(out: &Path, book: &str, specs: &[PageSpec]) -> Result<Vec<PathBuf>, SynthError> {
    let dir = out.join("books").join(book);
    let truth_dir = out.join("truth").join(book);
    let mut written = Vec::new();
    for spec in specs {
        let (img, truth) = render_page(spec)?;
        let bytes = crate::encode::page_file(&img, &spec.file, (!spec.no_dpi).then_some(spec.dpi));
        let path = dir.join(&spec.file);
        write(&path, &bytes)?;
        let stem = Path::new(&spec.file)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let json = serde_json::to_vec_pretty(&truth).expect("truth serializes");
        write(&truth_dir.join(format!("{stem}.json")), &json)?;
        written.push(path);
    }
    Ok(written)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    let io = |cause| SynthError::Io {
        path: path.to_path_buf(),
        cause,
    };
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(io)?;
    std::fs::write(path, bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    /// Every Vietnamese letter: the 12 vowels with each of the five tone marks (and
    /// none), in both cases, plus đ/Đ — 146 precomposed letters in all.
    fn vietnamese_letters() -> Vec<char> {
        let vowels = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"];
        let tones = ["", "\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"];
        let mut out = vec!['đ', 'Đ'];
        for v in vowels {
            for t in tones {
                let lower: String = format!("{v}{t}").nfc().collect();
                let upper: String = lower.to_uppercase().nfc().collect();
                out.extend(lower.chars().chain(upper.chars()));
            }
        }
        out
    }

    #[test]
    fn the_synthetic_faces_cover_every_vietnamese_letter() {
        let letters = vietnamese_letters();
        assert_eq!(letters.len(), 146);
        assert!(letters.iter().all(|c| c.to_string().nfc().count() == 1), "precomposed");
        let fonts = Fonts::BUILTIN;
        for (name, data) in [
            ("regular", fonts.regular),
            ("bold", fonts.bold),
            ("italic", fonts.italic),
        ] {
            let font = FontRef::try_from_slice(data).unwrap();
            let missing: String = letters.iter().filter(|&&c| font.glyph_id(c).0 == 0).collect();
            assert!(missing.is_empty(), "{name} lacks {missing}");
        }
    }
}
