//! Stage 4: turn the text read from each cell into a checked field value.
//!
//! Each field kind has its normalization (NFC text, `dd.mm.yyyy` dates, sex codes,
//! `NN/YYYY` registration numbers) and its checks (real dates, closed vocabularies, birth
//! before registration, the year in `so` equal to the registration year). A failed check
//! becomes a flag on the field and lowers its confidence; the text as read is kept.

pub mod names;

pub use names::title_case;

use crate::model::{FieldResult, Flag, RecordResult};
use crate::template::{edit_distance, fold, similarity, FieldKind, SplitKind, Template, Vocabulary};
use unicode_normalization::UnicodeNormalization;

/// Below this confidence a field is flagged `low_confidence`.
pub const DOUBTFUL: f32 = 0.6;

/// Normalizes one field's text. Returns the export value and the flags raised.
pub fn normalize(kind: FieldKind, text: &str, vocab: &Vocabulary) -> (String, Vec<Flag>) {
    let text = clean(text);
    let mut flags = Vec::new();
    if text.is_empty() {
        return (String::new(), vec![Flag::Empty]);
    }
    let value = match kind {
        FieldKind::RegistrationNumber => {
            let digits: String = text
                .chars()
                .take_while(|c| *c != '/')
                .filter(|c| c.is_ascii_digit())
                .collect();
            if digits.is_empty() {
                flags.push(Flag::NotANumber);
                String::new()
            } else {
                pad2(digits.trim_start_matches('0'))
            }
        }
        FieldKind::Date => match parse_date(&text) {
            Some(d) => {
                if d.day.is_none() {
                    flags.push(Flag::YearOnly);
                }
                d.to_export()
            }
            None => {
                flags.push(Flag::InvalidDate);
                String::new()
            }
        },
        FieldKind::Sex => match fold(&text).as_str() {
            "nam" | "trai" => "1".to_string(),
            "nu" | "gai" => "2".to_string(),
            f => {
                let best = [("nam", "1"), ("nu", "2")]
                    .iter()
                    .map(|(w, c)| (similarity(f, w), *c))
                    .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a });
                if best.0 >= 0.5 {
                    flags.push(Flag::Snapped);
                    best.1.to_string()
                } else {
                    flags.push(Flag::UnknownValue);
                    "3".to_string()
                }
            }
        },
        FieldKind::Ethnicity => snap(&text, &vocab.spellings(&vocab.ethnicities), &mut flags),
        FieldKind::Nationality => snap(&text, &vocab.spellings(&vocab.nationalities), &mut flags),
        FieldKind::Name => {
            if text.chars().any(|c| c.is_ascii_digit()) {
                flags.push(Flag::DigitsInName);
            }
            let (name, mut checked) = names::check_name(&title_case(&name_letters(&text)));
            flags.append(&mut checked);
            name
        }
        FieldKind::Place => {
            // A place begins with a capital ("Xã …", "Bệnh viện …").
            let mut place = crate::places::correct_place(&text, &mut flags);
            if let Some(first) = place.chars().next().filter(|c| c.is_lowercase()) {
                place = first.to_uppercase().chain(place.chars().skip(1)).collect();
            }
            flags.extend(names::check_words(&place));
            place
        }
        FieldKind::IdNumber => {
            let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
            let stray = text
                .chars()
                .any(|c| !c.is_ascii_digit() && !c.is_whitespace() && c != '.');
            if stray || !(digits.len() == 12 || digits.len() == 9) {
                flags.push(Flag::InvalidId);
                String::new()
            } else {
                if digits.len() == 12 && !(1..=96).contains(&digits[..3].parse::<u32>().unwrap_or(0)) {
                    flags.push(Flag::IdProvinceUnknown);
                }
                digits
            }
        }
        FieldKind::Text => {
            flags.extend(names::check_words(&text));
            if names::marks_lost(&text) {
                flags.push(Flag::MarksLost);
            }
            text.clone()
        }
    };
    (value, flags)
}

/// Registration numbers are written with at least two digits.
fn pad2(n: &str) -> String {
    format!("{n:0>2}")
}

/// NFC, collapsed white space, stray edge punctuation removed.
pub fn clean(text: &str) -> String {
    let s: String = text.nfc().collect();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s.trim_matches(|c: char| {
        matches!(
            c,
            '|' | '_' | '—' | '-' | ',' | ';' | ':' | '‘' | '’' | '"' | '\'' | '.' | '[' | ']' | '(' | ')'
        ) || c.is_whitespace()
    })
    .to_string()
}

/// A name's words without what is not writing: marks that are not letters (specks of
/// stain and ruling read as `¬`, `‹`, `:`) are dropped, a word that was mostly such marks
/// goes with them, and an apostrophe inside a word stands for a space ("Ngô'đình") unless
/// it follows a one-letter prefix of a minority name (`H'Hen`, `Y'Bih`). Two syllables
/// run together stand apart where a dot (a leader's, `Hữu.Khọa`) or a capital
/// (`ThịLua`) divides them.
pub fn name_letters(text: &str) -> String {
    let mut words = Vec::new();
    for token in text.split_whitespace() {
        let token: String = token
            .char_indices()
            .map(|(i, c)| if c == '\'' && i > 1 { ' ' } else { c })
            .collect();
        let token = apart(&token);
        for part in token.split(' ') {
            let junk = part.chars().filter(|c| !c.is_alphabetic() && *c != '\'').count();
            let letters: String = part.chars().filter(|c| c.is_alphabetic() || *c == '\'').collect();
            let letters = letters.trim_matches('\'').to_string();
            let n = letters.chars().count();
            if n == 0 || (n == 1 && junk >= 2) {
                continue;
            }
            words.push(letters);
        }
    }
    words.join(" ")
}

/// `Hữu.Khọa` → `Hữu Khọa`, `ThịLua` → `Thị Lua`: a word that is no syllable split at a
/// dot between letters or before a capital after a small letter, when both halves are
/// syllables. Anything else is left as it is (`NguyỄn` is one misread syllable).
fn apart(token: &str) -> String {
    let chars: Vec<(usize, char)> = token.char_indices().collect();
    let letters = |s: &str| s.chars().filter(|c| c.is_alphabetic()).collect::<String>();
    if names::is_syllable(&letters(token)) {
        return token.to_string();
    }
    for k in 1..chars.len() {
        let (i, c) = chars[k];
        let prev = chars[k - 1].1;
        let next = chars.get(k + 1).map(|&(_, n)| n);
        let (left, right) = if c == '.' && prev.is_alphabetic() && next.is_some_and(char::is_alphabetic) {
            (&token[..i], &token[i + 1..])
        } else if c.is_uppercase() && prev.is_lowercase() {
            (&token[..i], &token[i..])
        } else {
            continue;
        };
        if names::is_syllable(&letters(left)) && names::is_syllable(&letters(right)) {
            return format!("{left} {right}");
        }
    }
    token.to_string()
}

/// The list entry `text` names: one of its spellings exactly (letter case, marks kept,
/// punctuation aside), or the closest when clearly closer than any other entry (by a
/// tenth of similarity: "Mông" is not "Mường"); otherwise nothing, flagged
/// `unknown_value` (the text stays in the field's `text` for the officer).
fn snap(text: &str, spellings: &[(String, String)], flags: &mut Vec<Flag>) -> String {
    let key = |s: &str| -> String {
        let s: String = s
            .nfc()
            .flat_map(char::to_lowercase)
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let k = key(text);
    // The best score of each entry over its spellings.
    let mut scores: Vec<(f32, &str)> = Vec::new();
    for (spelling, entry) in spellings {
        let s = similarity(&k, &key(spelling));
        match scores.iter_mut().find(|(_, e)| *e == entry.as_str()) {
            Some(best) => best.0 = best.0.max(s),
            None => scores.push((s, entry)),
        }
    }
    scores.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best, second) = match scores.as_slice() {
        [] => return text.to_string(),
        [one] => (*one, 0.0),
        [one, two, ..] => (*one, two.0),
    };
    if best.0 >= 1.0 {
        best.1.to_string()
    } else if best.0 >= 0.6 && best.0 - second >= 0.1 {
        flags.push(Flag::Snapped);
        best.1.to_string()
    } else {
        flags.push(Flag::UnknownValue);
        String::new()
    }
}

/// A calendar date, possibly a year alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Day of month, when known.
    pub day: Option<u32>,
    /// Month, when known.
    pub month: Option<u32>,
    /// Year.
    pub year: u32,
}

impl Date {
    /// `dd.mm.yyyy`, or `yyyy` for a year alone.
    pub fn to_export(self) -> String {
        match (self.day, self.month) {
            (Some(d), Some(m)) => format!("{d:02}.{m:02}.{:04}", self.year),
            _ => format!("{:04}", self.year),
        }
    }

    fn key(self) -> (u32, u32, u32) {
        (self.year, self.month.unwrap_or(0), self.day.unwrap_or(0))
    }
}

/// Parses a written date: `12/03/1983`, `12-3-1983`, `12.03.1983`, `12031983`,
/// `ngày 12 tháng 3 năm 1983`, or a year alone. Rejects impossible dates.
pub fn parse_date(text: &str) -> Option<Date> {
    let groups: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let (d, m, y) = match groups.as_slice() {
        [y] if y.len() == 4 => {
            let year: u32 = y.parse().ok()?;
            return (1850..=2100).contains(&year).then_some(Date {
                day: None,
                month: None,
                year,
            });
        }
        [all] if all.len() == 8 => (&all[0..2], &all[2..4], &all[4..8]),
        [d, m, y] => (*d, *m, *y),
        _ => return None,
    };
    let (day, month): (u32, u32) = (d.parse().ok()?, m.parse().ok()?);
    let year: u32 = match y.len() {
        4 => y.parse().ok()?,
        _ => return None,
    };
    if !(1850..=2100).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let dim = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(month - 1) as usize];
    if day == 0 || day > dim {
        return None;
    }
    Some(Date {
        day: Some(day),
        month: Some(month),
        year,
    })
}

/// Kinship words a declarant writes after their name, longest first.
const RELATIONS: &[&str] = &[
    "con dâu",
    "con rể",
    "con nuôi",
    "con trai",
    "con gái",
    "cháu nội",
    "cháu ngoại",
    "cháu trai",
    "cháu gái",
    "anh ruột",
    "chị ruột",
    "em ruột",
    "anh trai",
    "chị gái",
    "em trai",
    "em gái",
    "ông nội",
    "bà nội",
    "ông ngoại",
    "bà ngoại",
    "con",
    "vợ",
    "chồng",
    "cha",
    "bố",
    "mẹ",
    "anh",
    "chị",
    "em",
    "cháu",
    "ông",
    "bà",
    "cô",
    "dì",
    "chú",
    "bác",
    "cậu",
    "mợ",
    "thím",
    "người thân",
    "hàng xóm",
    "trưởng thôn",
];

/// Splits what a column holds after its field off the text read: an hour of the day
/// (`14 giờ 30`, `14h30`, `14:30` → `14:30`) before or after a date, or a kinship word
/// after a name (`Trần Văn B (con)`, `Trần Văn B, con`, `Trần Văn B - con` → `con`).
/// Returns the field's text and, when found, the split part as read and as exported.
pub fn split_off(how: SplitKind, text: &str) -> (String, Option<(String, String)>) {
    let text = clean(text);
    match how {
        SplitKind::Hour => split_hour(&text),
        SplitKind::Relation => split_relation(&text),
    }
}

fn split_hour(text: &str) -> (String, Option<(String, String)>) {
    let chars: Vec<char> = text.chars().collect();
    let digits_at = |i: usize| -> (usize, Option<u32>) {
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() && j - i < 2 {
            j += 1;
        }
        (j, chars[i..j].iter().collect::<String>().parse().ok())
    };
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || i > 0 && chars[i - 1].is_ascii_digit() {
            i += 1;
            continue;
        }
        let (j, hour) = digits_at(i);
        let rest: String = chars[j..].iter().collect();
        let after = rest.trim_start();
        let marker = ["giờ", "g", "h", "H", ":"].into_iter().find(|m| after.starts_with(m));
        let (Some(hour), Some(marker)) = (hour.filter(|&h| h < 24), marker) else {
            i = j.max(i + 1);
            continue;
        };
        // `h`/`g` must not start a word (`huyện`): a digit, a space or the end follows.
        let tail = &after[marker.len()..];
        if marker != "giờ" && marker != ":" && tail.chars().next().is_some_and(char::is_alphabetic) {
            i = j;
            continue;
        }
        let tail_trim = tail.trim_start();
        let m_start = chars.len() - tail_trim.chars().count();
        let (m_end, minute) = if tail_trim.starts_with(|c: char| c.is_ascii_digit()) {
            digits_at(m_start)
        } else {
            (m_start, Some(0))
        };
        let Some(minute) = minute.filter(|&m| m < 60) else {
            i = j;
            continue;
        };
        // A minute word after the digits goes too.
        let mut end = m_end;
        let tail: String = chars[end..].iter().collect();
        let tail_t = tail.trim_start();
        for w in ["phút", "ph", "p"] {
            if tail_t.starts_with(w) && !tail_t[w.len()..].starts_with(char::is_alphabetic) {
                end = chars.len() - tail_t[w.len()..].chars().count();
                break;
            }
        }
        let read: String = chars[i..end].iter().collect();
        let mut left: String = chars[..i].iter().collect::<String>() + " " + &chars[end..].iter().collect::<String>();
        for w in ["lúc", "ngày", ","] {
            left = left.replace(w, " ");
        }
        return (clean(&left), Some((clean(&read), format!("{hour:02}:{minute:02}"))));
    }
    (text.to_string(), None)
}

/// Kinship words no given name is: taken after a name even with nothing between (a
/// reader may drop the brackets).
const RELATIONS_ALONE: &[&str] = &[
    "con dâu",
    "con rể",
    "con nuôi",
    "con trai",
    "con gái",
    "cháu nội",
    "cháu ngoại",
    "cháu trai",
    "cháu gái",
    "em trai",
    "em gái",
    "anh trai",
    "chị gái",
    "con",
    "vợ",
    "chồng",
    "cha",
    "bố",
    "mẹ",
];

fn split_relation(text: &str) -> (String, Option<(String, String)>) {
    let trimmed = text.trim_end_matches([')', '.', ' ']);
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    for rel in RELATIONS {
        let k = rel.split(' ').count();
        if words.len() <= k {
            continue;
        }
        let tail: Vec<String> = words[words.len() - k..]
            .iter()
            .map(|w| fold(w.trim_start_matches(['(', ',', '-', ':', '–'])))
            .collect();
        if tail.join(" ") != fold(rel) {
            continue;
        }
        // The kinship word stands apart from the name (after `(`, `,`, `-` or `:`), or is
        // one no given name is.
        let head = words[..words.len() - k].join(" ");
        let first = words[words.len() - k];
        let marked = first.starts_with(['(', ',', '-', ':', '–']) || head.ends_with([',', '-', ':', '–', '(']);
        if !marked && !RELATIONS_ALONE.contains(rel) {
            continue;
        }
        let name = head.trim_end_matches([',', '-', ':', '–', '(', ' ']);
        return (clean(name), Some((words[words.len() - k..].join(" "), rel.to_string())));
    }
    (text.to_string(), None)
}

/// A record's columns that hold a second field after their own (see [`split_off`]):
/// each such field made again from its text without the second, and the second added.
pub fn apply_splits(record: &mut RecordResult, template: &Template, vocab: &Vocabulary) {
    for c in &template.columns {
        let (Some(split), Some(f)) = (&c.split, record.fields.get(&c.field)) else {
            continue;
        };
        let (text, second) = split_off(split.how, &f.text);
        let (confidence, bbox, free) = (f.confidence, f.bbox, f.free.clone());
        if let Some((read, value)) = second {
            let mut s = make_field(FieldKind::Text, &read, confidence, bbox, vocab);
            s.value = value;
            record.fields.insert(split.into.clone(), s);
        }
        let mut main = make_field(c.kind, &text, confidence, bbox, vocab);
        main.free = free;
        record.fields.insert(c.field.clone(), main);
    }
}

/// Builds a field from the text read and the OCR confidence.
pub fn make_field(kind: FieldKind, text: &str, ocr_conf: f32, bbox: [u32; 4], vocab: &Vocabulary) -> FieldResult {
    let (value, flags) = normalize(kind, text, vocab);
    let mut f = FieldResult {
        text: clean(text),
        value,
        confidence: ocr_conf.clamp(0.0, 1.0),
        bbox,
        flags,
        free: None,
        review: None,
    };
    settle_confidence(&mut f);
    if kind == FieldKind::Name && names::marks_ambiguous(&f.value) {
        flag_below(&mut f, MARKS_AMBIGUOUS_DOUBTFUL);
    }
    f
}

/// Names a misread mark turns into other names (`Yên`/`Yến`) are doubtful below this
/// confidence, whichever recognizer read them: on synthetic pages (`scripts/variations`)
/// every such confusion left unflagged was read at 0.91–0.98, and the bar flags about
/// one name in eighteen (docs/ACCURACY.md).
const MARKS_AMBIGUOUS_DOUBTFUL: f32 = 0.99;

/// A value read on a dotted leader whose dot below a letter, full stop or comma may be
/// the leader's (the reading with the leader's dots under the writing erased lacks it):
/// flagged `mark_on_leader`, and no surer than a guess.
pub fn doubt_marks_on_leader(f: &mut FieldResult) {
    if f.value.is_empty() || f.has(Flag::MarkOnLeader) {
        return;
    }
    f.flags.push(Flag::MarkOnLeader);
    f.confidence = f.confidence.min(0.5);
}

/// Flags a field `low_confidence` below `threshold`: the line model's confidence is the
/// probability that the reading is right, and fields under 0.9 hold most of its errors
/// (docs/ACCURACY.md), where Tesseract's confidences call for [`DOUBTFUL`].
pub fn flag_below(f: &mut FieldResult, threshold: f32) {
    if f.confidence < threshold && !f.value.is_empty() && !f.has(Flag::LowConfidence) {
        f.flags.push(Flag::LowConfidence);
    }
}

/// Keeps the line model's free reading beside a field read constrained by its kind; when
/// the two differ in more than a third of their letters (marks aside), the field is
/// flagged `readings_disagree`.
pub fn note_free_reading(f: &mut FieldResult, free: &str) {
    let free = clean(free);
    if free == f.text {
        return;
    }
    let (a, b): (Vec<char>, Vec<char>) = (fold(&free).chars().collect(), fold(&f.text).chars().collect());
    let n = a.len().max(b.len()).max(1);
    if edit_distance(&a, &b) * 3 > n {
        f.flags.push(Flag::ReadingsDisagree);
        settle_confidence(f);
    }
    f.free = Some(free);
}

/// Lowers confidence for failed checks and flags doubtful fields.
fn settle_confidence(f: &mut FieldResult) {
    let failed = f.flags.iter().any(|x| x.is_failed_check());
    if failed {
        f.confidence = f.confidence.min(0.5);
    }
    if f.confidence < DOUBTFUL && !f.has(Flag::LowConfidence) && !f.value.is_empty() {
        f.flags.push(Flag::LowConfidence);
    }
}

/// Dates read as no real date, put right by the book's rules when one digit changed
/// makes exactly one date that keeps them: a registration date in the page's year, a
/// birth date on or before the registration and at most a year before it. A repaired
/// date is flagged `date_repaired` (the reading stays in `text`); one that cannot be put
/// right stays empty and flagged `invalid_date`.
fn repair_dates(record: &mut RecordResult, page_year: Option<u32>) {
    fn one_digit_off(text: &str, keeps: impl Fn(&Date) -> bool) -> Option<Date> {
        let mut found: Vec<Date> = Vec::new();
        for (i, c) in text.char_indices().filter(|(_, c)| c.is_ascii_digit()) {
            for d in ('0'..='9').filter(|d| *d != c) {
                let mut t = text.to_string();
                t.replace_range(i..i + 1, d.encode_utf8(&mut [0; 4]));
                if let Some(date) = parse_date(&t).filter(|x| x.day.is_some() && keeps(x)) {
                    if !found.contains(&date) {
                        found.push(date);
                    }
                }
            }
        }
        (found.len() == 1).then(|| found[0])
    }
    fn repaired(f: &mut FieldResult, d: Date) {
        f.value = d.to_export();
        f.flags.retain(|x| *x != Flag::InvalidDate);
        f.flags.push(Flag::DateRepaired);
        f.confidence = f.confidence.min(0.5);
        settle_confidence(f);
    }
    let broken = |f: &&mut FieldResult| f.has(Flag::InvalidDate) && !f.text.is_empty();
    let mut reg = record.fields.get("ngayDangKy").and_then(|f| parse_date(&f.value));
    if let (Some(f), Some(year)) = (record.fields.get_mut("ngayDangKy").filter(broken), page_year) {
        if let Some(d) = one_digit_off(&f.text, |d| d.year == year) {
            repaired(f, d);
            reg = Some(d);
        }
    }
    let (Some(r), Some(f)) = (reg, record.fields.get_mut("nksNgaySinh").filter(broken)) else {
        return;
    };
    if let Some(d) = one_digit_off(&f.text, |d| d.key() <= r.key() && d.year + 1 >= r.year) {
        repaired(f, d);
    }
}

/// Dates written with a day or month of one digit on a page whose other dates of the
/// same column (at least four, four in five of them) have two: a column is written in one
/// hand or one typeface, so a short one may have lost a digit (`5/08/1981` for
/// `15/08/1981`, still a real date). Flagged `date_shorter`; the value stands.
pub fn flag_shorter_dates(records: &mut [RecordResult], template: &Template) {
    /// Whether a date as written has two digits in its day and month (`None`: not a
    /// date with a day).
    fn full_width(text: &str) -> Option<bool> {
        parse_date(text).filter(|d| d.day.is_some())?;
        let groups: Vec<usize> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .map(str::len)
            .collect();
        Some(match groups.as_slice() {
            [8] => true,
            [d, m, _] => *d == 2 && *m == 2,
            _ => false,
        })
    }
    for column in template.columns.iter().filter(|c| c.kind == FieldKind::Date) {
        let widths: Vec<Option<bool>> = records
            .iter()
            .map(|r| {
                r.fields
                    .get(&column.field)
                    .filter(|f| !f.value.is_empty())
                    .and_then(|f| full_width(&f.text))
            })
            .collect();
        let full = widths.iter().filter(|w| **w == Some(true)).count();
        let short = widths.iter().filter(|w| **w == Some(false)).count();
        if full < 4 || short * 4 > full {
            continue;
        }
        for (r, w) in records.iter_mut().zip(&widths) {
            if *w == Some(false) {
                if let Some(f) = r.fields.get_mut(&column.field) {
                    f.flags.push(Flag::DateShorter);
                    settle_confidence(f);
                }
            }
        }
    }
}

/// Checks that span fields of one record: the registration number takes the year of the
/// registration date (`NN/YYYY`) and that year must match; birth ≤ registration.
/// `page_year`, the registration year most records of the page share, stands in when the
/// record's own date could not be read.
pub fn check_record(record: &mut RecordResult, template: &Template, page_year: Option<u32>) {
    repair_dates(record, page_year);
    // A value every record has, found empty (and not already flagged for a failed check:
    // an invalid date is exported empty too, and says why).
    for (id, f) in record.fields.iter_mut() {
        if template.is_required(id)
            && f.value.is_empty()
            && !f.flags.iter().any(|x| x.is_failed_check() || *x == Flag::Missing)
        {
            f.flags.push(Flag::Missing);
            f.confidence = 0.0;
        }
    }
    let reg = record.fields.get("ngayDangKy").and_then(|f| parse_date(&f.value));
    let reg_doubtful = record.fields.get("ngayDangKy").is_some_and(|f| f.doubtful());
    let birth = record.fields.get("nksNgaySinh").and_then(|f| parse_date(&f.value));
    // The child's 12-digit ID carries its sex and century in the 4th digit and the last
    // two digits of the birth year in the 5th and 6th; a mother's ID says female, a
    // father's male.
    let sex = record.fields.get("nksGioiTinh").map(|f| f.value.clone());
    for (id, f) in record.fields.iter_mut() {
        if template.kind_of(id) != Some(FieldKind::IdNumber) || f.value.len() != 12 {
            continue;
        }
        let d: Vec<u32> = f.value.chars().filter_map(|c| c.to_digit(10)).collect();
        let female = d[3] % 2 == 1;
        let want_female = match id.as_str() {
            "nksSoDinhDanh" => match sex.as_deref() {
                Some("1") => Some(false),
                Some("2") => Some(true),
                _ => None,
            },
            i if i.starts_with("me") => Some(true),
            i if i.starts_with("cha") => Some(false),
            _ => None,
        };
        if want_female.is_some_and(|w| w != female) {
            f.flags.push(Flag::IdSexMismatch);
        }
        if id == "nksSoDinhDanh" {
            if let Some(b) = birth {
                let century = 1900 + 100 * (d[3] / 2);
                if century + d[4] * 10 + d[5] != b.year {
                    f.flags.push(Flag::IdYearMismatch);
                }
            }
        }
        settle_confidence(f);
    }
    if let (Some(r), Some(b)) = (reg, birth) {
        if b.key() > r.key() {
            for id in ["nksNgaySinh", "ngayDangKy"] {
                if let Some(f) = record.fields.get_mut(id) {
                    f.flags.push(Flag::BirthAfterRegistration);
                    settle_confidence(f);
                }
            }
        }
    }
    for (id, f) in record.fields.iter_mut() {
        // A number given its year already (the record checked before) keeps it.
        if template.kind_of(id) != Some(FieldKind::RegistrationNumber) || f.value.is_empty() || f.value.contains('/') {
            continue;
        }
        if f.has(Flag::NotANumber) {
            continue;
        }
        let written_year: Option<u32> = f.text.split('/').nth(1).and_then(|y| {
            let d: String = y.chars().filter(|c| c.is_ascii_digit()).collect();
            d.parse().ok()
        });
        match (reg, written_year) {
            (Some(r), Some(y)) if y != r.year => {
                f.flags.push(Flag::YearMismatch);
                f.value = format!("{}/{}", f.value, y);
                settle_confidence(f);
            }
            // A doubtful registration date (`23/01/1983` among 1989's) lends the number
            // no year the page's other records contradict.
            (Some(r), _) if reg_doubtful && page_year.is_some_and(|p| p != r.year) => {
                f.value = format!("{}/{}", f.value, page_year.unwrap_or_default());
                f.flags.push(Flag::YearFromPage);
                settle_confidence(f);
            }
            (Some(r), _) => f.value = format!("{}/{}", f.value, r.year),
            (None, Some(y)) => f.value = format!("{}/{}", f.value, y),
            (None, None) if page_year.is_some() => {
                f.value = format!("{}/{}", f.value, page_year.unwrap_or_default());
                f.flags.push(Flag::YearFromPage);
                settle_confidence(f);
            }
            (None, None) => {
                f.flags.push(Flag::YearUnknown);
                settle_confidence(f);
            }
        }
    }
}

/// The registration year most records of a page share: dates read without doubt count
/// for ten doubtful ones (a misread year must not outvote a clear one).
pub fn page_year<'a>(records: impl IntoIterator<Item = &'a RecordResult>) -> Option<u32> {
    let mut votes: std::collections::BTreeMap<u32, usize> = Default::default();
    for r in records {
        if let Some(f) = r.fields.get("ngayDangKy") {
            if let Some(d) = parse_date(&f.value) {
                *votes.entry(d.year).or_default() += if f.doubtful() { 1 } else { 10 };
            }
        }
    }
    votes.into_iter().max_by_key(|(_, n)| *n).map(|(y, _)| y)
}

/// Registration numbers run in sequence down a page. When most rows agree on the run
/// (`number − row` is the same), a row whose number is missing or breaks the run (and is
/// in no run with a neighbour, nor on the page's run) takes the number after the row
/// above (the run's number on the first row), and one between two numbers two apart the
/// number between them; flagged `from_sequence` for the reviewer. Call before
/// [`check_record`] (which appends the year).
pub fn fill_number_sequence(records: &mut [RecordResult], template: &Template) {
    let Some(id) = template
        .columns
        .iter()
        .find(|c| c.kind == FieldKind::RegistrationNumber)
        .map(|c| c.field.clone())
    else {
        return;
    };
    let number = |r: &RecordResult| -> Option<i64> {
        let f = r.fields.get(&id)?;
        if f.has(Flag::NotANumber) || f.has(Flag::Empty) {
            return None;
        }
        f.value.parse().ok()
    };
    let read: Vec<Option<i64>> = records.iter().map(number).collect();
    // A number read in a run with a neighbour (or repeating it) stands: a run shifted by
    // a number entered twice is the book's, for the checks to report.
    let in_run = |i: usize| {
        let n = read[i];
        let near = |j: Option<usize>, d: i64| {
            j.and_then(|j| read.get(j).copied().flatten())
                .is_some_and(|m| Some(m + d) == n || Some(m) == n)
        };
        n.is_some() && (near(i.checked_sub(1), 1) || near(Some(i + 1), -1))
    };
    let mut votes: std::collections::HashMap<i64, usize> = Default::default();
    for (i, n) in read.iter().enumerate() {
        if let Some(n) = n {
            *votes.entry(n - i as i64).or_default() += 1;
        }
    }
    let Some((&base, &count)) = votes.iter().max_by_key(|(b, c)| (**c, -**b)) else {
        return;
    };
    // Most rows agree on one run, or sit in runs with their neighbours.
    let running = (0..read.len()).filter(|&i| in_run(i)).count();
    if records.len() < 3 || count.max(running) * 5 < records.len() * 3 {
        return;
    }
    // A number that stands: in a run with a neighbour, or on the page's run.
    let stands = |i: usize| in_run(i) || read[i] == Some(base + i as i64);
    // A number between two standing ones two apart is the one between them, whatever
    // it was read as (`5` between 5 and 7: a 6 misread, not a number entered twice).
    let between = |i: usize| {
        let (a, b) = (i.checked_sub(1)?, i + 1);
        match (read[a], read.get(b).copied().flatten()) {
            (Some(x), Some(y)) if y == x + 2 && stands(a) && stands(b) => Some(x + 1),
            _ => None,
        }
    };
    let mut previous: Option<i64> = None;
    for (i, r) in records.iter_mut().enumerate() {
        let n = read[i];
        let between = between(i);
        if between.is_none() && stands(i) {
            previous = n;
            continue;
        }
        let expected = between.unwrap_or_else(|| previous.map_or(base + i as i64, |p| p + 1));
        previous = Some(expected);
        if expected <= 0 || n == Some(expected) {
            continue;
        }
        if let Some(f) = r.fields.get_mut(&id) {
            f.value = pad2(&expected.to_string());
            f.flags.retain(|x| *x != Flag::Empty && *x != Flag::NotANumber);
            f.flags.push(Flag::FromSequence);
            f.confidence = f.confidence.min(0.5);
            settle_confidence(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Layout;

    #[test]
    fn dates_normalize_to_dd_mm_yyyy_and_impossible_ones_are_flagged() {
        let v = Vocabulary::builtin();
        assert_eq!(normalize(FieldKind::Date, "4/2/1983", &v).0, "04.02.1983");
        assert_eq!(
            normalize(FieldKind::Date, "ngày 12 tháng 3 năm 1983", &v).0,
            "12.03.1983"
        );
        assert_eq!(
            normalize(FieldKind::Date, "1975", &v),
            ("1975".to_string(), vec![Flag::YearOnly])
        );
        let (_, flags) = normalize(FieldKind::Date, "31/02/1983", &v);
        assert_eq!(flags, vec![Flag::InvalidDate]);
    }

    #[test]
    fn sex_and_ethnicity_snap_to_codes_and_names() {
        let v = Vocabulary::builtin();
        assert_eq!(normalize(FieldKind::Sex, "Nữ", &v).0, "2");
        assert_eq!(normalize(FieldKind::Sex, "Nam", &v).0, "1");
        assert_eq!(normalize(FieldKind::Ethnicity, "Kinh", &v).0, "Kinh");
        let (val, flags) = normalize(FieldKind::Ethnicity, "Mưòng", &v);
        assert_eq!(val, "Mường");
        assert_eq!(flags, vec![Flag::Snapped]);
    }

    #[test]
    fn list_values_are_named_only_by_a_spelling_or_a_clear_margin() {
        let v = Vocabulary::builtin();
        let eth = |t: &str| normalize(FieldKind::Ethnicity, t, &v);
        // "Mông" is the Ministry's "H'Mông", not the nearer-looking "Mường".
        assert_eq!(eth("Mông"), ("H'Mông".to_string(), vec![]));
        assert_eq!(eth("Mônq"), ("H'Mông".to_string(), vec![Flag::Snapped]));
        // As close to "Mảng" as to "Mông": neither.
        assert_eq!(eth("Mộng"), (String::new(), vec![Flag::UnknownValue]));
        assert_eq!(eth("Mường"), ("Mường".to_string(), vec![]));
        assert_eq!(eth("Ê Đê"), ("Ê-đê".to_string(), vec![]));
        // Between two entries: nothing is exported, the reading stays in the text.
        assert_eq!(eth("Thá"), (String::new(), vec![Flag::UnknownValue]));
        let nat = normalize(FieldKind::Nationality, "Việt-Nam", &v);
        assert_eq!(nat, ("Việt Nam".to_string(), vec![]));
    }

    #[test]
    fn names_keep_their_letters_and_lose_specks_read_as_marks() {
        let v = Vocabulary::builtin();
        let name = |t: &str| normalize(FieldKind::Name, t, &v).0;
        assert_eq!(name("Lý Bá Sơn ¬"), "Lý Bá Sơn");
        assert_eq!(name("Hà :thị Hương ‹í¬:''"), "Hà Thị Hương");
        assert_eq!(name("Ngô'đình Diệp"), "Ngô Đình Diệp");
        assert_eq!(name("h'hen niê"), "H'Hen Niê");
        assert_eq!(name("Trần Thị Á"), "Trần Thị Á");
        assert_eq!(name("Lý Hữu.Khọa"), "Lý Hữu Khoa");
        assert_eq!(name("Đặng ThịLụa"), "Đặng Thị Lụa");
        assert_eq!(name("NguyỄn Văn An"), "Nguyễn Văn An");
    }

    #[test]
    fn values_that_cannot_be_made_valid_export_nothing() {
        let v = Vocabulary::builtin();
        for (kind, text, flag) in [
            (FieldKind::Date, "12/96/1976", Flag::InvalidDate),
            (FieldKind::Date, "94/09/1976", Flag::InvalidDate),
            (FieldKind::IdNumber, "0012a", Flag::InvalidId),
            (FieldKind::RegistrationNumber, "ab", Flag::NotANumber),
        ] {
            let f = make_field(kind, text, 0.9, [0, 0, 1, 1], &v);
            assert_eq!((f.value.as_str(), f.text.as_str()), ("", text), "{text}");
            assert!(f.flags.contains(&flag), "{text}: {:?}", f.flags);
        }
    }

    #[test]
    fn personal_ids_are_checked_against_sex_and_birth_year() {
        let v = Vocabulary::builtin();
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let record = |id: &str, sex: &str, born: &str| {
            checked_record(
                &[
                    ("nksSoDinhDanh", FieldKind::IdNumber, id),
                    ("nksGioiTinh", FieldKind::Sex, sex),
                    ("nksNgaySinh", FieldKind::Date, born),
                ],
                &t,
                &v,
            )
            .fields["nksSoDinhDanh"]
                .clone()
        };
        // Hà Nội (001), a girl born in 2017: 4th digit 3 (female, 2000s), then 17.
        let ok = record("001 317 012345", "Nữ", "04/02/2017");
        assert_eq!(ok.value, "001317012345");
        assert!(ok.flags.is_empty(), "{:?}", ok.flags);
        let wrong_sex = record("001317012345", "Nam", "04/02/2017");
        assert!(wrong_sex.flags.contains(&Flag::IdSexMismatch), "{:?}", wrong_sex.flags);
        assert!(wrong_sex.confidence <= 0.5);
        let wrong_year = record("001316012345", "Nữ", "04/02/2017");
        assert!(
            wrong_year.flags.contains(&Flag::IdYearMismatch),
            "{:?}",
            wrong_year.flags
        );
        assert!(!wrong_year.flags.contains(&Flag::IdSexMismatch));
        // A boy born in 1998: 4th digit 0.
        assert!(record("079098000001", "Nam", "1998").flags.is_empty());
        assert!(record("0013170123", "Nữ", "2017").flags.contains(&Flag::InvalidId));
        assert!(record("123317012345", "Nữ", "2017")
            .flags
            .contains(&Flag::IdProvinceUnknown));
        // An old 9-digit CMND passes as it is.
        assert!(record("012345678", "Nam", "1980").flags.is_empty());
    }

    /// Records numbered down a page, each with one field `id` of `kind` read as in `texts`
    /// at confidence `conf`.
    fn column_of(id: &str, kind: FieldKind, texts: &[&str], conf: f32) -> Vec<RecordResult> {
        let v = Vocabulary::builtin();
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let mut r = RecordResult {
                    row: i as u32 + 1,
                    bbox: [0; 4],
                    fields: Default::default(),
                    accepted: None,
                };
                r.fields.insert(id.into(), make_field(kind, text, conf, [0; 4], &v));
                r
            })
            .collect()
    }

    fn numbered(numbers: &[&str]) -> Vec<RecordResult> {
        column_of("so", FieldKind::RegistrationNumber, numbers, 0.9)
    }

    fn numbers_of(recs: &[RecordResult]) -> Vec<&str> {
        recs.iter().map(|r| r.fields["so"].value.as_str()).collect()
    }

    #[test]
    fn a_misread_number_in_a_run_takes_the_run_value_and_is_flagged() {
        let t = Template::for_book_type("ks").unwrap();
        let mut recs = numbered(&["52", "03", "54", "s5", "56"]);
        fill_number_sequence(&mut recs, &t);
        assert_eq!(numbers_of(&recs), vec!["52", "53", "54", "55", "56"]);
        assert!(recs[1].fields["so"].flags.contains(&Flag::FromSequence));
        assert!(recs[0].fields["so"].flags.is_empty());
    }

    #[test]
    fn a_date_written_shorter_than_the_columns_others_is_flagged_and_kept() {
        let t = Template::for_book_type("ks").unwrap();
        let page = |born: &[&str]| {
            let mut recs = column_of("nksNgaySinh", FieldKind::Date, born, 0.95);
            flag_shorter_dates(&mut recs, &t);
            recs.iter()
                .map(|r| {
                    let f = &r.fields["nksNgaySinh"];
                    (f.value.clone(), f.has(Flag::DateShorter), f.doubtful())
                })
                .collect::<Vec<_>>()
        };
        let got = page(&["12/03/1981", "05/08/1981", "5/08/1981", "23/11/1981", "30/01/1981"]);
        assert_eq!(got[2], ("05.08.1981".to_string(), true, true), "{got:?}");
        assert!(got.iter().enumerate().all(|(i, g)| g.1 == (i == 2)), "{got:?}");
        // A hand that writes short days often, or too few dates to tell: nothing flagged.
        let got = page(&["12/03/1981", "5/8/1981", "7/08/1981", "23/11/1981", "30/01/1981"]);
        assert!(got.iter().all(|g| !g.1), "{got:?}");
        let got = page(&["12/03/1981", "5/08/1981", "23/11/1981"]);
        assert!(got.iter().all(|g| !g.1), "{got:?}");
    }

    #[test]
    fn a_date_one_digit_off_is_put_right_by_the_book_when_only_one_date_fits() {
        let v = Vocabulary::builtin();
        let t = Template::for_book_type("ks").unwrap();
        let record = |born: &str, registered: &str| {
            let mut r = RecordResult {
                row: 1,
                bbox: [0; 4],
                fields: Default::default(),
                accepted: None,
            };
            r.fields
                .insert("nksNgaySinh".into(), make_field(FieldKind::Date, born, 0.9, [0; 4], &v));
            r.fields.insert(
                "ngayDangKy".into(),
                make_field(FieldKind::Date, registered, 0.9, [0; 4], &v),
            );
            check_record(&mut r, &t, Some(1976));
            r
        };
        // Real misreadings: month 96 can only have been 06 (09 would be after registration).
        let r = record("12/96/1976", "20/07/1976");
        assert_eq!(r.fields["nksNgaySinh"].value, "12.06.1976");
        assert!(r.fields["nksNgaySinh"].has(Flag::DateRepaired));
        // Day 94: 04 and 14 both fit; it stays for the officer, exported empty.
        let r = record("94/09/1976", "20/09/1976");
        assert_eq!(r.fields["nksNgaySinh"].value, "");
        assert!(r.fields["nksNgaySinh"].has(Flag::InvalidDate));
        // A registration date takes the page's year: 2976 can only have been 1976.
        let r = record("12/06/1976", "12/07/2976");
        assert_eq!(r.fields["ngayDangKy"].value, "12.07.1976");
        assert!(r.fields["ngayDangKy"].has(Flag::DateRepaired));
    }

    #[test]
    fn a_name_a_misread_mark_makes_another_is_doubtful_below_a_higher_bar() {
        let v = Vocabulary::builtin();
        // Real misreadings: Yến read Yên at 0.91 and 0.95, Ánh read Anh at 0.98.
        for (name, conf) in [
            ("Trần Diệu Yên", 0.91),
            ("Nguyễn Mỹ Yên", 0.95),
            ("Phạm Diệu Anh", 0.98),
        ] {
            let f = make_field(FieldKind::Name, name, conf, [0; 4], &v);
            assert!(f.has(Flag::LowConfidence), "{name}");
        }
        assert!(make_field(FieldKind::Name, "Phạm Diệu Anh", 0.995, [0; 4], &v)
            .flags
            .is_empty());
        assert!(make_field(FieldKind::Name, "Nguyễn Thị Lan", 0.97, [0; 4], &v)
            .flags
            .is_empty());
    }

    #[test]
    fn a_number_entered_twice_shifts_no_correctly_read_number() {
        // 28 twice: the rows after it are one ahead of the first rows' run, and both
        // runs stand as read (the book checks report the repeat).
        let t = Template::for_book_type("ks").unwrap();
        let mut recs = numbered(&["26", "27", "28", "28", "29", "30", "31", "32", "33"]);
        fill_number_sequence(&mut recs, &t);
        assert_eq!(
            numbers_of(&recs),
            vec!["26", "27", "28", "28", "29", "30", "31", "32", "33"]
        );
        assert!(recs.iter().all(|r| !r.fields["so"].has(Flag::FromSequence)));
        // A misread among them still takes the number after the row above.
        let mut recs = numbered(&["26", "27", "28", "28", "79", "30", "31", "32", "33"]);
        fill_number_sequence(&mut recs, &t);
        assert_eq!(numbers_of(&recs)[4], "29");
        // As read on a page: 6 and 8 read as 5, each between numbers two apart; the 7
        // between them is on the page's run and stands.
        let mut recs = numbered(&["2", "3", "4", "5", "5", "7", "5", "9", "10", "11"]);
        fill_number_sequence(&mut recs, &t);
        assert_eq!(
            numbers_of(&recs),
            vec!["02", "03", "04", "05", "06", "07", "08", "09", "10", "11"]
        );
        let repaired: Vec<bool> = recs.iter().map(|r| r.fields["so"].has(Flag::FromSequence)).collect();
        assert_eq!(repaired.iter().filter(|&&x| x).count(), 2);
        assert!(repaired[4] && repaired[6]);
    }

    #[test]
    fn registration_number_takes_the_year_of_registration() {
        let v = Vocabulary::builtin();
        let t = Template::for_book_type("ks").unwrap();
        let mut r = RecordResult {
            row: 1,
            bbox: [0; 4],
            fields: Default::default(),
            accepted: None,
        };
        r.fields.insert(
            "so".into(),
            make_field(FieldKind::RegistrationNumber, "5", 0.9, [0; 4], &v),
        );
        r.fields.insert(
            "ngayDangKy".into(),
            make_field(FieldKind::Date, "04/02/1983", 0.9, [0; 4], &v),
        );
        r.fields.insert(
            "nksNgaySinh".into(),
            make_field(FieldKind::Date, "20/02/1983", 0.9, [0; 4], &v),
        );
        let read = r.clone();
        check_record(&mut r, &t, None);
        assert_eq!(r.fields["so"].value, "05/1983");
        assert!(r.fields["nksNgaySinh"].flags.contains(&Flag::BirthAfterRegistration));
        assert!(r.fields["nksNgaySinh"].confidence <= 0.5);
        // A doubtful registration date's year gives way to the page's.
        let mut doubtful = read.clone();
        doubtful.fields.insert(
            "ngayDangKy".into(),
            make_field(FieldKind::Date, "23/01/1983", 0.06, [0; 4], &v),
        );
        check_record(&mut doubtful, &t, Some(1989));
        assert_eq!(doubtful.fields["so"].value, "05/1989");
        assert!(doubtful.fields["so"].has(Flag::YearFromPage));
        // A clear one keeps its own, and outvotes a doubtful one for the page's year.
        let mut clear = read.clone();
        check_record(&mut clear, &t, Some(1989));
        assert_eq!(clear.fields["so"].value, "05/1983");
        let mut misread = read.clone();
        misread.fields.insert(
            "ngayDangKy".into(),
            make_field(FieldKind::Date, "10/01/1989", 0.06, [0; 4], &v),
        );
        assert_eq!(page_year([&read, &misread, &misread]), Some(1983));
        assert_eq!(page_year([&misread, &misread]), Some(1989));
    }

    /// A record of fields read at confidence 0.95, checked (no page year).
    fn checked_record(read: &[(&str, FieldKind, &str)], t: &Template, v: &Vocabulary) -> RecordResult {
        let mut r = RecordResult {
            row: 1,
            bbox: [0, 0, 1, 1],
            fields: read
                .iter()
                .map(|&(k, kind, text)| (k.to_string(), make_field(kind, text, 0.95, [0, 0, 1, 1], v)))
                .collect(),
            accepted: None,
        };
        check_record(&mut r, t, None);
        r
    }

    #[test]
    fn a_required_value_found_empty_is_flagged_missing_and_an_optional_one_is_not() {
        let v = Vocabulary::builtin();
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let r = checked_record(
            &[
                ("so", FieldKind::RegistrationNumber, ""),
                ("nksHoTen", FieldKind::Name, "Trần Văn Nam"),
                ("nksNgaySinh", FieldKind::Date, "31/02/1983"),
                ("ngayDangKy", FieldKind::Date, "04/03/1983"),
                ("ghiChu", FieldKind::Text, ""),
            ],
            &t,
            &v,
        );
        let so = &r.fields["so"];
        assert!(so.has(Flag::Missing) && so.doubtful() && so.confidence == 0.0, "{so:?}");
        // Optional and empty: a note, not a doubt.
        assert!(!r.fields["ghiChu"].has(Flag::Missing) && !r.fields["ghiChu"].doubtful());
        // Empty because no such date exists: says so, not `missing` as well.
        let born = &r.fields["nksNgaySinh"];
        assert!(born.has(Flag::InvalidDate) && !born.has(Flag::Missing), "{born:?}");
        assert!(!r.fields["nksHoTen"].has(Flag::Missing));
    }

    #[test]
    fn an_hour_and_a_kinship_word_are_split_off_their_columns() {
        let hour = |t: &str| split_off(SplitKind::Hour, t);
        assert_eq!(
            hour("14 giờ 30 ngày 05/03/1990"),
            (
                "05/03/1990".to_string(),
                Some(("14 giờ 30".to_string(), "14:30".to_string()))
            )
        );
        assert_eq!(hour("05/03/1990 lúc 7h15").1.map(|p| p.1), Some("07:15".to_string()));
        assert_eq!(hour("05/03/1990 lúc 7h15").0, "05/03/1990");
        assert_eq!(hour("23:05, 01.02.1978").1.map(|p| p.1), Some("23:05".to_string()));
        assert_eq!(hour("9 giờ, 01.02.1978").1.map(|p| p.1), Some("09:00".to_string()));
        // Dates alone, and a date's digits before a word, hold no hour.
        assert_eq!(hour("05/03/1990"), ("05/03/1990".to_string(), None));
        assert_eq!(hour("12 huyện").1, None);
        assert_eq!(hour("31 giờ 10 ngày 01/01/1990").1, None);
        let rel = |t: &str| split_off(SplitKind::Relation, t);
        assert_eq!(
            rel("Trần Văn Bình (con)"),
            (
                "Trần Văn Bình".to_string(),
                Some(("(con".to_string(), "con".to_string()))
            )
        );
        // Brackets dropped, a mark misread: still the husband.
        assert_eq!(rel("Dương Thị Nguyệt Chống").1.map(|p| p.1), Some("chồng".to_string()));
        assert_eq!(rel("Dương Thị Nguyệt Chống").0, "Dương Thị Nguyệt");
        assert_eq!(rel("Lê Thị Hoa, vợ").1.map(|p| p.1), Some("vợ".to_string()));
        assert_eq!(rel("Lê Thị Hoa - con dâu").1.map(|p| p.1), Some("con dâu".to_string()));
        // A given name that is a kinship word is no relationship.
        assert_eq!(rel("Nguyễn Văn Em"), ("Nguyễn Văn Em".to_string(), None));
        assert_eq!(rel("Trần Thị Anh"), ("Trần Thị Anh".to_string(), None));
    }
}
