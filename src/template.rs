//! Book templates: which field each table column holds, and the Ministry's export columns.
//!
//! Templates live in `models/` (one JSON file per book type and layout) and are compiled
//! into the binary, so a processed batch never depends on files beside the executable.

use crate::model::WordBox;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// What kind of value a field holds; decides OCR settings, normalization and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// `so`: a registration number, exported as `NN/YYYY`.
    RegistrationNumber,
    /// A person's full name.
    Name,
    /// A date (`dd.mm.yyyy`, or a year alone).
    Date,
    /// Sex, exported as its code.
    Sex,
    /// One of the 54 ethnic groups, exported as its name.
    Ethnicity,
    /// A nationality, exported as its name.
    Nationality,
    /// A place, kept as written.
    Place,
    /// A personal ID number: 12 digits (số định danh / CCCD), or 9 (old CMND).
    IdNumber,
    /// Free text.
    Text,
}

/// How a book's pages hold their records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A ruled table, one record per row (books before 2006).
    Ledger,
    /// One record per page, each value written after its printed label (2006–2020).
    Form,
}

impl Layout {
    /// The name used in templates and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Ledger => "ledger",
            Layout::Form => "form",
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One column of a ledger table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Ministry field id (`so`, `nksHoTen`, …).
    pub field: String,
    /// Value kind.
    pub kind: FieldKind,
    /// Typical share of the table width (used when column rules cannot be found).
    pub width: f32,
    /// Column headings seen in books of this type, any era.
    pub headings: Vec<String>,
    /// Every record has a value here (the number, the child's name, birth date and sex,
    /// the registration date): an empty one is flagged `missing`.
    #[serde(default)]
    pub required: bool,
    /// On form pages, the label is printed on some years' forms only (the personal ID,
    /// from 2016): a page without it is no finding. Other labels not found on a form page
    /// leave their field flagged `label_not_found`.
    #[serde(default)]
    pub not_on_every_form: bool,
    /// The band printed over this column and its neighbours (`chong`: "Bên chồng"), an id
    /// of the template's `bands`: a marriage ledger repeats its sub-headings ("Họ và tên",
    /// "Dân tộc") under each spouse's band, and a column is named by both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
    /// What the review screen groups the field under ("Người chết", "Người đi khai");
    /// a banded column's group is its band's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The column holds a second field after the first: "Ngày, giờ chết" the hour of
    /// death, "Họ tên, quan hệ người đi khai" the declarant's relationship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
}

/// A second field written in a column after the first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Split {
    /// What is split off: `hour` (`14 giờ 30` → `14:30`) or `relation` (`Trần Văn B
    /// (con)` → `con`).
    pub how: SplitKind,
    /// The field id that takes it.
    pub into: String,
}

/// What a column holds after its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// An hour of the day, written before or after the date.
    Hour,
    /// A kinship word after a name.
    Relation,
}

/// A band printed over several columns of a ledger's header.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeaderBand {
    /// The id its columns name (`chong`).
    pub id: String,
    /// What the review screen calls the group ("Bên chồng").
    pub label: String,
    /// Its wordings in books ("Bên chồng", "Chồng", "Người chồng").
    pub names: Vec<String>,
}

/// A book template.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Template {
    /// Book type code: `ks`, `kh`, `kt`, …
    pub book_type: String,
    /// How the pages hold their records.
    pub layout: Layout,
    /// Human-readable title.
    pub title: String,
    /// The table's columns, left to right, in the usual order.
    pub columns: Vec<ColumnSpec>,
    /// Tick boxes printed on the page (form books of 2016–2020): one group per field.
    #[serde(default)]
    pub ticks: Vec<TickGroup>,
    /// The book's titles as printed ("Sổ đăng ký kết hôn"): a page that carries one tells
    /// its book's type.
    #[serde(default)]
    pub titles: Vec<String>,
    /// Bands over groups of columns in the header.
    #[serde(default)]
    pub bands: Vec<HeaderBand>,
    /// A book with no template of its own (adoption, guardianship, a type not told): the
    /// table is read by its own headings, each column a field named by its heading.
    #[serde(default)]
    pub own_headings: bool,
}

/// Tick boxes that give one field its value: the code of the box ticked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TickGroup {
    /// Ministry field id (`loaiDangKy`, …).
    pub field: String,
    /// What the review screen calls the field.
    pub heading: String,
    /// The boxes, each after its printed label.
    pub boxes: Vec<TickBox>,
}

/// One tick box: its printed label and the code a tick in it gives.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TickBox {
    /// The label printed before the box.
    pub label: String,
    /// The field's value when the box is ticked.
    pub code: String,
}

/// Closed vocabularies and the Ministry's export columns.
#[derive(Clone, Debug, Deserialize)]
pub struct Vocabulary {
    /// The 54 ethnic groups, by name.
    pub ethnicities: Vec<String>,
    /// Nationalities, by name.
    pub nationalities: Vec<String>,
    /// Export columns per book type (`KS`, `KH`, …), in template order.
    pub export_columns: std::collections::BTreeMap<String, Vec<String>>,
    /// Other spellings in use for entries of the lists (`Mông`, `Hmông` → `H'Mông`).
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, String>,
    /// The Ministry's sex codes and what each means (`2` → `Nữ`).
    #[serde(default)]
    pub sex: std::collections::BTreeMap<String, String>,
    /// Coded fields per book type (`KS`): each field's codes and what each means
    /// (`loaiDangKy`: `4` → `Đăng ký quá hạn`). The review screen shows and offers them.
    #[serde(default)]
    pub field_codes: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Codes>>,
}

/// A closed list of codes and what each means.
pub type Codes = std::collections::BTreeMap<String, String>;

impl Vocabulary {
    /// Every spelling of the entries of `list`, each with its entry: the entries
    /// themselves and their aliases.
    pub fn spellings(&self, list: &[String]) -> Vec<(String, String)> {
        list.iter()
            .map(|e| (e.clone(), e.clone()))
            .chain(
                self.aliases
                    .iter()
                    .filter(|(_, e)| list.contains(e))
                    .map(|(a, e)| (a.clone(), e.clone())),
            )
            .collect()
    }
}

/// Why a template could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// No template for that book type and layout.
    #[error("no template for book type '{0}' with layout '{1}' (known: {2})")]
    Unknown(String, Layout, String),
}

const BUILTIN: &[&str] = &[
    include_str!("../models/ks-ledger.json"),
    include_str!("../models/ks-form.json"),
    include_str!("../models/kh-ledger.json"),
    include_str!("../models/kh-form.json"),
    include_str!("../models/kt-ledger.json"),
    include_str!("../models/kt-form.json"),
    include_str!("../models/cmc-ledger.json"),
    include_str!("../models/hn-ledger.json"),
    include_str!("../models/hn-form.json"),
    include_str!("../models/ncn-ledger.json"),
    include_str!("../models/gh-ledger.json"),
    include_str!("../models/unknown-ledger.json"),
];
const VOCAB: &str = include_str!("../models/vocab.json");

impl Template {
    /// The built-in ledger template for a book type (`ks`, …).
    pub fn for_book_type(book_type: &str) -> Result<Template, TemplateError> {
        Template::for_book(book_type, Layout::Ledger)
    }

    /// The built-in template for a book type and layout (`ledger`: one record per table
    /// row; `form`: one record per page, printed labels followed by the values).
    pub fn for_book(book_type: &str, layout: Layout) -> Result<Template, TemplateError> {
        // Parsed once: pages ask for their type's templates one by one.
        static ALL: std::sync::OnceLock<Vec<Template>> = std::sync::OnceLock::new();
        let all = ALL.get_or_init(|| {
            BUILTIN
                .iter()
                .map(|s| serde_json::from_str(s).expect("built-in template is valid JSON"))
                .collect()
        });
        all.iter()
            .find(|t| t.book_type.eq_ignore_ascii_case(book_type) && t.layout == layout)
            .cloned()
            .ok_or_else(|| {
                let known = all
                    .iter()
                    .map(|t| format!("{} {}", t.book_type, t.layout))
                    .collect::<Vec<_>>()
                    .join(", ");
                TemplateError::Unknown(book_type.to_string(), layout, known)
            })
    }

    /// Relative column widths, summing to 1.
    pub fn widths(&self) -> Vec<f32> {
        let total: f32 = self.columns.iter().map(|c| c.width).sum();
        self.columns.iter().map(|c| c.width / total).collect()
    }

    /// Whether every record has a value for a field id.
    pub fn is_required(&self, field: &str) -> bool {
        self.columns.iter().any(|c| c.field == field && c.required)
    }

    /// The kind of a field id, if the template has it; a column read by its own heading
    /// ([`Template::own_headings`]) has the kind its heading names.
    pub fn kind_of(&self, field: &str) -> Option<FieldKind> {
        match self.columns.iter().find(|c| c.field == field) {
            Some(c) => Some(c.kind),
            None if self.own_headings => Some(kind_named(field)),
            None => None,
        }
    }

    /// What the column of a field id holds after the field, if anything.
    pub fn split_of(&self, field: &str) -> Option<&Split> {
        self.columns.iter().find(|c| c.field == field)?.split.as_ref()
    }

    /// How many of `headers` read like one of the template's column headings.
    pub fn heading_matches(&self, headers: &[String]) -> usize {
        headers
            .iter()
            .filter(|h| {
                let h = fold(h);
                !h.trim().is_empty()
                    && self
                        .columns
                        .iter()
                        .any(|c| c.headings.iter().any(|g| similarity(&h, &fold(g)) >= 0.6))
            })
            .count()
    }

    /// Maps the header texts read from the table's columns to field ids. Returns the ids
    /// in column order and whether the header was used (`false`: the template's order).
    pub fn map_columns(&self, headers: &[String]) -> (Vec<String>, bool) {
        self.map_columns_banded(headers, &[])
    }

    /// [`Template::map_columns`] where each header column may lie under a band
    /// (`bands[i]`, see [`Template::bands_of_columns`]): a column under one band is
    /// never given a field of another band.
    pub fn map_columns_banded(&self, headers: &[String], bands: &[Option<String>]) -> (Vec<String>, bool) {
        let n = headers.len();
        let m = self.columns.len();
        let template_order = || -> Vec<String> {
            (0..n)
                .map(|i| {
                    self.columns
                        .get(i)
                        .map(|c| c.field.clone())
                        .unwrap_or_else(|| format!("col{}", i + 1))
                })
                .collect()
        };
        if n == 0 {
            return (Vec::new(), false);
        }
        // Similarity of each detected column to each template column.
        let sim: Vec<Vec<f32>> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = fold(h);
                let band = bands.get(i).and_then(Option::as_ref);
                self.columns
                    .iter()
                    .map(|c| match (band, &c.band) {
                        (Some(b), Some(cb)) if b != cb => 0.0,
                        _ => self.heading_similarity(&h, c),
                    })
                    .collect()
            })
            .collect();
        // Each heading read matched to the template column it reads most like, best
        // matches first, each column taken once: books set their columns in other orders
        // (sex before the date of birth, the father before the mother). Between near
        // equals the column at the same place in the template is taken.
        let mut pairs: Vec<(f32, usize, usize)> = (0..n)
            .flat_map(|i| (0..m).map(move |j| (i, j)))
            .filter(|&(i, j)| sim[i][j] >= HEADING_MATCH)
            .map(|(i, j)| {
                let off = (i as f32 - j as f32).abs() / n.max(m) as f32;
                (sim[i][j] - PLACE_PREFERENCE * off, i, j)
            })
            .collect();
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut assigned: Vec<Option<usize>> = vec![None; n];
        let mut taken = vec![false; m];
        for (_, i, j) in pairs {
            if assigned[i].is_none() && !taken[j] {
                assigned[i] = Some(j);
                taken[j] = true;
            }
        }
        let matched = assigned.iter().filter(|a| a.is_some()).count();
        fill_gaps(&mut assigned, m);
        if matched * 2 < n {
            return (template_order(), false);
        }
        let ids = assigned
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Some(j) => self.columns[*j].field.clone(),
                None => format!("col{}", i + 1),
            })
            .collect();
        (ids, true)
    }
}

impl Template {
    /// How much a folded heading `h` reads like one of column `c`'s headings; a banded
    /// column's headings also with its person named after them ("Dân tộc chồng"), as a
    /// ledger with no band words them.
    fn heading_similarity(&self, h: &str, c: &ColumnSpec) -> f32 {
        let plain = c.headings.iter().map(|g| similarity(h, &fold(g))).fold(0.0, f32::max);
        let Some(band) = c.band.as_ref().and_then(|id| self.bands.iter().find(|b| &b.id == id)) else {
            return plain;
        };
        let person = |n: &String| fold(n).rsplit(' ').next().unwrap_or_default().to_string();
        band.names
            .iter()
            .map(person)
            .flat_map(|p| c.headings.iter().map(move |g| format!("{} {p}", fold(g))))
            .map(|g| similarity(h, &g))
            .fold(plain, f32::max)
    }

    /// The band over each header column (an id of `bands`, `None` for a column under
    /// none): `headers` the headings read, `spans` each column's horizontal extent on the
    /// page, `words` the words read over the header (the band row and the heading row).
    ///
    /// The columns whose headings are those of banded columns fall into runs, a new run
    /// starting where a sub-heading comes again ("Họ và tên" under the second band). Each
    /// run takes the band whose name ("Bên vợ", "Chồng") is printed over it; a run no
    /// name was read over takes the band left over, else the bands in the template's
    /// order.
    pub fn bands_of_columns(&self, headers: &[String], spans: &[(u32, u32)], words: &[WordBox]) -> Vec<Option<String>> {
        let mut out = vec![None; headers.len()];
        if self.bands.is_empty() {
            return out;
        }
        // Each heading's best template column, and whether that one is banded.
        let best: Vec<Option<usize>> = headers
            .iter()
            .map(|h| {
                let h = fold(h);
                self.columns
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        (
                            j,
                            c.headings.iter().map(|g| similarity(&h, &fold(g))).fold(0.0, f32::max),
                        )
                    })
                    .filter(|&(_, s)| s >= HEADING_MATCH && !h.is_empty())
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(j, _)| j)
            })
            .collect();
        // A banded column's key: its first heading, which every band's twin shares.
        let key = |j: usize| {
            self.columns[j]
                .band
                .as_ref()
                .map(|_| fold(&self.columns[j].headings[0]))
        };
        let mut runs: Vec<Vec<usize>> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut open = false;
        for (i, b) in best.iter().enumerate() {
            match b.and_then(key) {
                Some(k) => {
                    if !open || seen.contains(&k) {
                        runs.push(Vec::new());
                        seen.clear();
                    }
                    seen.push(k);
                    open = true;
                    runs.last_mut().expect("a run").push(i);
                }
                // An unread heading inside a run stays in it.
                None if open && b.is_none() => runs.last_mut().expect("a run").push(i),
                None => open = false,
            }
        }
        // Trailing unread headings belong to no run.
        for run in &mut runs {
            while run.last().is_some_and(|&i| best[i].is_none()) {
                run.pop();
            }
        }
        let markers = self.band_markers(words);
        let mut given: Vec<Option<usize>> = runs
            .iter()
            .map(|run| {
                let (x0, x1) = (spans[run[0]].0, spans[run[run.len() - 1]].1);
                markers
                    .iter()
                    .filter(|(x, _, _)| (x0..x1).contains(x))
                    .max_by(|a, b| a.2.total_cmp(&b.2))
                    .map(|m| m.1)
            })
            .collect();
        let unnamed = given.iter().filter(|g| g.is_none()).count();
        let left: Vec<usize> = (0..self.bands.len()).filter(|b| !given.contains(&Some(*b))).collect();
        if unnamed > 0 && unnamed == left.len() {
            let mut left = left.into_iter();
            for g in given.iter_mut().filter(|g| g.is_none()) {
                *g = left.next();
            }
        } else if unnamed > 0 {
            for (k, g) in given.iter_mut().enumerate() {
                g.get_or_insert(k.min(self.bands.len() - 1));
            }
        }
        for (run, g) in runs.iter().zip(given) {
            for &i in run {
                out[i] = g.map(|b| self.bands[b].id.clone());
            }
        }
        out
    }

    /// The band names printed among `words`: each name's centre (x), its band and how well
    /// it reads (a window of as many words as the name has, [`similarity`] of the folded
    /// texts at least 0.75).
    fn band_markers(&self, words: &[WordBox]) -> Vec<(u32, usize, f32)> {
        let folded: Vec<String> = words.iter().map(|w| fold(&w.text)).collect();
        let mut out = Vec::new();
        for (b, band) in self.bands.iter().enumerate() {
            for name in &band.names {
                let name = fold(name);
                let k = name.split(' ').count();
                for start in 0..words.len().saturating_sub(k - 1) {
                    // A name's words stand together: each within two letters' height of
                    // the last, on its line.
                    let together = words[start..start + k].windows(2).all(|p| {
                        let (a, b) = (p[0].bbox, p[1].bbox);
                        let h = a[3].max(b[3]);
                        b[0] >= a[0] && b[0] <= a[0] + a[2] + 2 * h && b[1] < a[1] + h && a[1] < b[1] + h
                    });
                    if !together {
                        continue;
                    }
                    let text = folded[start..start + k].join(" ");
                    let s = similarity(&text, &name);
                    if s >= 0.75 {
                        let boxes = &words[start..start + k];
                        let x0 = boxes.iter().map(|w| w.bbox[0]).min().unwrap_or(0);
                        let x1 = boxes.iter().map(|w| w.bbox[0] + w.bbox[2]).max().unwrap_or(0);
                        // A longer name read is surer than a short one inside it.
                        out.push(((x0 + x1) / 2, b, s * k as f32));
                    }
                }
            }
        }
        out
    }
}

/// The fields of a table read by its own headings: each column's heading as printed
/// (whitespace collapsed), `col<N>` for a heading not read, a heading met again numbered
/// (`Ghi chú (2)`).
pub fn own_columns(headers: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
        let h = h.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
        let base = if fold(&h).len() < 2 { format!("col{}", i + 1) } else { h };
        let mut id = base.clone();
        let mut k = 2;
        while out.contains(&id) {
            id = format!("{base} ({k})");
            k += 1;
        }
        out.push(id);
    }
    out
}

/// The kind of value a heading names ("Ngày sinh" a date, "Họ và tên" a name), text when
/// it names none of the kinds checked.
pub fn kind_named(heading: &str) -> FieldKind {
    let h = fold(heading);
    let has = |w: &str| {
        h.split(' ')
            .collect::<Vec<_>>()
            .windows(w.split(' ').count())
            .any(|x| x.join(" ") == w)
    };
    if h == "so" || h.starts_with("so tt") || h.starts_with("so thu tu") || h == "so dang ky" {
        FieldKind::RegistrationNumber
    } else if has("ngay") || has("nam sinh") {
        FieldKind::Date
    } else if has("ho ten") || has("ho va ten") || has("chu dem") {
        FieldKind::Name
    } else if has("gioi tinh") {
        FieldKind::Sex
    } else if has("dan toc") {
        FieldKind::Ethnicity
    } else if has("quoc tich") {
        FieldKind::Nationality
    } else if h.starts_with("noi") || has("que quan") || has("dia chi") {
        FieldKind::Place
    } else {
        FieldKind::Text
    }
}

/// A field of a book type, whatever the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookField {
    /// Field id.
    pub field: String,
    /// Its first heading (or label).
    pub heading: String,
    /// Its kind.
    pub kind: FieldKind,
    /// The group the review screen shows it in ("Bên chồng", "Người chết"), if any.
    pub group: Option<String>,
}

/// The fields of a book type across its layouts, the ledger's first; for `auto`, every
/// type's, birth first.
pub fn book_fields(book_type: &str) -> Result<Vec<BookField>, TemplateError> {
    if book_type.eq_ignore_ascii_case("auto") {
        let mut out: Vec<BookField> = Vec::new();
        for t in crate::booktype::TYPES {
            for f in book_fields(t)? {
                if !out.iter().any(|o| o.field == f.field) {
                    out.push(f);
                }
            }
        }
        return Ok(out);
    }
    let ledger = Template::for_book(book_type, Layout::Ledger)?;
    let form = Template::for_book(book_type, Layout::Form).ok();
    let mut out: Vec<BookField> = Vec::new();
    for c in ledger.columns.iter().chain(form.iter().flat_map(|t| &t.columns)) {
        if !out.iter().any(|f| f.field == c.field) {
            let group = c.group.clone().or_else(|| {
                let band = c.band.as_ref()?;
                ledger.bands.iter().find(|b| &b.id == band).map(|b| b.label.clone())
            });
            out.push(BookField {
                field: c.field.clone(),
                heading: c.headings.first().cloned().unwrap_or_default(),
                kind: c.kind,
                group: group.clone(),
            });
            if let Some(split) = &c.split {
                out.push(BookField {
                    field: split.into.clone(),
                    heading: match split.how {
                        SplitKind::Hour => "Giờ, phút chết".to_string(),
                        SplitKind::Relation => "Quan hệ với người chết".to_string(),
                    },
                    kind: FieldKind::Text,
                    group,
                });
            }
        }
    }
    for g in form.iter().flat_map(|t| &t.ticks) {
        if !out.iter().any(|f| f.field == g.field) {
            out.push(BookField {
                field: g.field.clone(),
                heading: g.heading.clone(),
                kind: FieldKind::Text,
                group: None,
            });
        }
    }
    Ok(out)
}

impl Vocabulary {
    /// The built-in vocabulary.
    pub fn builtin() -> Vocabulary {
        serde_json::from_str(VOCAB).expect("built-in vocabulary is valid JSON")
    }

    /// Export columns for a book type (`ks` → `KS`).
    pub fn export_columns(&self, book_type: &str) -> Option<&Vec<String>> {
        self.export_columns.get(&book_type.to_uppercase())
    }

    /// The coded fields of a book type (`ks`), each with its codes: those of the type's
    /// own list, and sex codes for its fields of that kind.
    pub fn field_codes(&self, book_type: &str) -> std::collections::BTreeMap<String, Codes> {
        let mut out = self
            .field_codes
            .get(&book_type.to_uppercase())
            .cloned()
            .unwrap_or_default();
        for f in book_fields(book_type).unwrap_or_default() {
            if f.kind == FieldKind::Sex {
                out.entry(f.field).or_insert_with(|| self.sex.clone());
            }
        }
        out
    }
}

/// A heading read this much like one of a column's headings (0..1, [`similarity`] of
/// their folded forms) names that column.
pub(crate) const HEADING_MATCH: f32 = 0.5;
/// How much a heading's match loses per template width of distance between its place and
/// the column's place in the template: it settles near equals only.
const PLACE_PREFERENCE: f32 = 0.02;

/// Columns whose header could not be read sit between two matched ones: when the gap
/// holds exactly as many template columns, they take those in order.
fn fill_gaps(assigned: &mut [Option<usize>], m: usize) {
    let n = assigned.len();
    let mut i = 0;
    while i < n {
        if assigned[i].is_some() {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && assigned[i].is_none() {
            i += 1;
        }
        let before = if start == 0 { None } else { assigned[start - 1] };
        let after = if i < n { assigned[i] } else { None };
        let first = before.map(|b| b + 1).unwrap_or(0);
        let end = after.unwrap_or(m);
        // Only when both sides pin the gap (or the gap runs to a table edge that the
        // template also ends at) do the counts agree.
        let pinned = (before.is_some() || start == 0) && (after.is_some() || i == n);
        // The template columns between must not be matched elsewhere (columns in
        // another order).
        let free = end >= first && (first..end).all(|j| !assigned.contains(&Some(j)));
        if pinned && free && end - first == i - start {
            for (k, slot) in assigned[start..i].iter_mut().enumerate() {
                *slot = Some(first + k);
            }
        }
    }
}

/// Lower-case, diacritics removed, `đ` → `d`, punctuation to spaces, spaces collapsed:
/// the form used to compare Vietnamese text loosely.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c if c.is_alphanumeric() => c.to_lowercase().next().unwrap_or(c),
            _ => ' ',
        };
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 1 − normalized edit distance between two strings (by characters).
pub fn similarity(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let n = a.len().max(b.len());
    if n == 0 {
        return 1.0;
    }
    1.0 - edit_distance(&a, &b) as f32 / n as f32
}

/// Levenshtein distance.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tick box's code is a code of its field whose meaning holds the box's printed
    /// label (`4` → `Đăng ký quá hạn` for the box `Quá hạn`), and the sex field is coded.
    #[test]
    fn tick_boxes_give_codes_of_their_fields_list() {
        let codes = Vocabulary::builtin().field_codes("ks");
        let form = Template::for_book("ks", Layout::Form).unwrap();
        assert!(!form.ticks.is_empty());
        for g in &form.ticks {
            for b in &g.boxes {
                let meaning = codes.get(&g.field).and_then(|c| c.get(&b.code));
                assert!(
                    meaning.is_some_and(|m| fold(m).contains(&fold(&b.label))),
                    "{} {}: {:?}",
                    g.field,
                    b.code,
                    meaning
                );
            }
        }
        assert_eq!(codes["nksGioiTinh"]["2"], "Nữ");
    }

    #[test]
    fn headers_read_with_errors_map_to_the_right_fields() {
        let t = Template::for_book_type("ks").unwrap();
        let headers = strings(&[
            "Số",
            "Ho, chữ đêm, tên",
            "Ngày, tháng, năm sinh",
            "Giới tinh",
            "Dân tộc",
            "Quốc tịch",
            "Nơi sinh",
            "Họ, chữ đệm, tên mẹ",
            "Họ, chữ đệm, tên cha",
            "Ngày đăng ký",
            "Ghi chú",
        ]);
        let (ids, used) = t.map_columns(&headers);
        assert!(used);
        assert_eq!(ids[1], "nksHoTen");
        assert_eq!(ids[3], "nksGioiTinh");
        assert_eq!(ids[7], "meHoTen");
        assert_eq!(ids[8], "chaHoTen");
        assert_eq!(ids[10], "ghiChu");
    }

    #[test]
    fn columns_in_another_order_are_named_by_their_headings() {
        let t = Template::for_book_type("ks").unwrap();
        let headers = strings(&[
            "Số TT",
            "Họ và tên",
            "Nam/Nữ",
            "Ngày sinh",
            "Nơi sinh",
            "Dân tộc",
            "Quốc tịch",
            "Họ tên cha",
            "Họ tên mẹ",
            "Ngày đăng ký",
        ]);
        let (ids, used) = t.map_columns(&headers);
        assert!(used);
        let want = "so nksHoTen nksGioiTinh nksNgaySinh nksNoiSinh nksDanToc nksQuocTich chaHoTen meHoTen ngayDangKy";
        assert_eq!(ids.join(" "), want);
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_unreadable_heading_takes_the_template_field_between_its_neighbours() {
        let t = Template::for_book_type("ks").unwrap();
        let mut headers: Vec<String> = t.columns.iter().map(|c| c.headings[0].clone()).collect();
        headers[2] = "¬".to_string();
        let (ids, used) = t.map_columns(&headers);
        assert!(used);
        assert_eq!(ids[2], "nksNgaySinh");
    }

    #[test]
    fn unreadable_header_falls_back_on_template_order() {
        let t = Template::for_book_type("ks").unwrap();
        let headers = vec!["~~".to_string(); 11];
        let (ids, used) = t.map_columns(&headers);
        assert!(!used);
        assert_eq!(ids[0], "so");
        assert_eq!(ids[10], "ghiChu");
    }

    #[test]
    fn fold_removes_vietnamese_diacritics() {
        assert_eq!(fold("Họ, chữ đệm, TÊN"), "ho chu dem ten");
        assert_eq!(fold("Đắk Lắk"), "dak lak");
    }

    /// Words at the given x positions, as read over a header.
    fn words_at(words: &[(&str, u32)]) -> Vec<WordBox> {
        words
            .iter()
            .map(|&(t, x)| WordBox {
                text: t.to_string(),
                bbox: [x, 0, 30, 20],
                confidence: 0.9,
            })
            .collect()
    }

    #[test]
    fn a_marriage_ledgers_columns_are_named_by_their_band_whichever_comes_first() {
        let t = Template::for_book_type("kh").unwrap();
        let subs = [
            "Họ và tên",
            "Ngày sinh",
            "Dân tộc",
            "Quốc tịch",
            "Nơi thường trú",
            "Số CMND",
        ];
        let mut headers = vec!["Số".to_string()];
        for _ in 0..2 {
            headers.extend(subs.iter().map(|s| s.to_string()));
        }
        headers.extend(["Ngày đăng ký".to_string(), "Ghi chú".to_string()]);
        // Columns 100 px wide: the first band over columns 1–6, the second over 7–12.
        let spans: Vec<(u32, u32)> = (0..headers.len() as u32).map(|i| (i * 100, i * 100 + 100)).collect();
        // The wife's band printed first.
        let words = words_at(&[("BÊN", 330), ("VỢ", 370), ("BÊN", 930), ("CHỒNG", 970)]);
        let bands = t.bands_of_columns(&headers, &spans, &words);
        assert_eq!(bands[0], None);
        assert_eq!(bands[1].as_deref(), Some("vo"));
        assert_eq!(bands[12].as_deref(), Some("chong"));
        assert_eq!(bands[13], None);
        let (ids, from_header) = t.map_columns_banded(&headers, &bands);
        assert!(from_header);
        assert_eq!(&ids[1..3], ["voHoTen", "voNgaySinh"]);
        assert_eq!(&ids[7..9], ["chongHoTen", "chongNgaySinh"]);
        assert_eq!(ids[13], "ngayDangKy");
        // One band's name read, the other's not: the run left takes the band left.
        let bands = t.bands_of_columns(&headers, &spans, &words_at(&[("Vợ", 950)]));
        assert_eq!((bands[1].as_deref(), bands[7].as_deref()), (Some("chong"), Some("vo")));
        // No band read: the template's order.
        let bands = t.bands_of_columns(&headers, &spans, &[]);
        assert_eq!((bands[1].as_deref(), bands[7].as_deref()), (Some("chong"), Some("vo")));
        // No band printed, each heading naming its spouse.
        let named: Vec<String> = ["Số", "Họ tên vợ", "Dân tộc vợ", "Họ tên chồng", "Dân tộc chồng"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (ids, _) = t.map_columns_banded(&named, &[]);
        assert_eq!(ids, ["so", "voHoTen", "voDanToc", "chongHoTen", "chongDanToc"]);
    }

    #[test]
    fn a_table_read_by_its_own_headings_names_and_kinds_its_columns() {
        let own = own_columns(&[
            "Số TT".into(),
            "Họ và tên".into(),
            " ".into(),
            "Ghi chú".into(),
            "Ghi chú".into(),
        ]);
        assert_eq!(own, ["Số TT", "Họ và tên", "col3", "Ghi chú", "Ghi chú (2)"]);
        assert_eq!(kind_named("Ngày, tháng, năm sinh"), FieldKind::Date);
        assert_eq!(kind_named("Họ và tên người nhận nuôi"), FieldKind::Name);
        assert_eq!(kind_named("Nơi cư trú"), FieldKind::Place);
        assert_eq!(kind_named("Số TT"), FieldKind::RegistrationNumber);
        assert_eq!(kind_named("Lý do"), FieldKind::Text);
    }
}
