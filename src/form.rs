//! Form pages (books of 2006–2020): one record per page, each value written after its
//! printed label ("Họ, chữ đệm, tên: …", "Giới tính: … Dân tộc: …").
//!
//! The page is read as a whole; its words are regrouped into lines by position (the
//! OCR's own block order may put the labels and the values in separate blocks), and each
//! line is walked left to right: where the next words spell a label of the template (the
//! longest that fits, letters compared without diacritics, so that "Họ, chữ đệm, tên
//! người mẹ" wins over "Họ, chữ đệm, tên"), a field starts; other words belong to the
//! field started last. A value written on the line below its label (a long place) joins
//! it the same way.

use crate::fields;
use crate::model::{BBox, Flag, RecordResult, WordBox};
use crate::template::{fold, similarity, FieldKind, Template, Vocabulary};
use std::collections::BTreeMap;

/// How alike a run of words and a label must be (0..1, on folded letters).
const LABEL_MATCH: f32 = 0.8;
/// Words read with less confidence are marks on the paper (a stain, a fold), not writing.
const MIN_WORD_CONFIDENCE: f32 = 0.4;

/// The record of a form page, from its words; `None` when no label was found.
pub fn read_record(words: &[WordBox], template: &Template, vocab: &Vocabulary) -> Option<RecordResult> {
    let labels: Vec<(usize, Vec<String>)> = template
        .columns
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.headings.iter().map(move |h| (i, tokens(h))))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    // Field index → the words of its value.
    let mut values: BTreeMap<usize, Vec<&WordBox>> = BTreeMap::new();
    let mut current: Option<usize> = None;
    for line in lines(words) {
        let mut i = 0;
        // Right edge of the last word taken on this line (label or value), and whether a
        // value word was taken since the last label.
        let mut last_right: Option<u32> = None;
        let mut value_here = false;
        while i < line.len() {
            match best_label(&line[i..], &labels, &values) {
                Some((field, n, glued)) => {
                    current = Some(field);
                    value_here = false;
                    values.entry(field).or_default();
                    i += n;
                    // "tên:Hoàng": a value glued to the label's colon.
                    if glued {
                        values.entry(field).or_default().push(line[i - 1]);
                        value_here = true;
                    }
                    last_right = Some(line[i - 1].bbox[0] + line[i - 1].bbox[2]);
                }
                None => {
                    let w = line[i];
                    // A value is written as one run: past a wide gap the rest of the line
                    // is marks (a tear's edge, the border), until the next label.
                    let gap = last_right.map_or(0, |r| w.bbox[0].saturating_sub(r));
                    let limit = if value_here { 6 } else { 15 };
                    if gap > limit * w.bbox[3].max(1) {
                        current = None;
                    }
                    if let Some(f) = current {
                        if is_writing(w) {
                            values.entry(f).or_default().push(w);
                            last_right = Some(w.bbox[0] + w.bbox[2]);
                            value_here = true;
                        }
                    }
                    i += 1;
                }
            }
        }
    }
    if values.is_empty() {
        return None;
    }
    let mut fields_map = BTreeMap::new();
    let mut all: Option<BBox> = None;
    for (i, col) in template.columns.iter().enumerate() {
        let ws = values.get(&i).map(Vec::as_slice).unwrap_or(&[]);
        let glued: Vec<String> = ws.iter().map(|w| after_colon(&w.text).to_string()).collect();
        let text = glued
            .iter()
            .map(String::as_str)
            .filter(|t| !t.is_empty() && !t.chars().all(|c| c == '.' || c == '…' || c == ':'))
            .collect::<Vec<_>>()
            .join(" ");
        let conf = if ws.is_empty() {
            0.0
        } else {
            ws.iter().map(|w| w.confidence).sum::<f32>() / ws.len() as f32
        };
        let bbox = ws.iter().map(|w| w.bbox).reduce(union).unwrap_or([0, 0, 0, 0]);
        if bbox[2] > 0 {
            all = Some(all.map_or(bbox, |a| union(a, bbox)));
        }
        let kind = col.kind;
        let mut f = fields::make_field(kind, &text, conf, bbox, vocab);
        if kind == FieldKind::RegistrationNumber && text.is_empty() {
            f.flags.retain(|x| *x != Flag::NotANumber);
        }
        fields_map.insert(col.field.clone(), f);
    }
    Some(RecordResult {
        row: 1,
        bbox: all.unwrap_or([0, 0, 0, 0]),
        fields: fields_map,
        accepted: None,
    })
}

/// Whether a word is writing rather than a mark: read with some confidence, and holding
/// a letter or digit (a lone symbol is noise).
fn is_writing(w: &WordBox) -> bool {
    let alnum = w.text.chars().filter(|c| c.is_alphanumeric()).count();
    w.confidence >= MIN_WORD_CONFIDENCE
        && alnum > 0
        && (alnum > 1 || w.text.chars().count() == 1 && w.confidence >= 0.8)
}

/// Words grouped into lines, each sorted left to right, lines top to bottom. A word joins
/// a line when its middle lies within half a word height of the line's; words far taller
/// than the writing (a stain or a stamp read as letters) are left out.
fn lines(words: &[WordBox]) -> Vec<Vec<&WordBox>> {
    let mut heights: Vec<u32> = words.iter().map(|w| w.bbox[3]).collect();
    heights.sort_unstable();
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0).max(1) as f32;
    let mut sorted: Vec<&WordBox> = words
        .iter()
        .filter(|w| !w.text.trim().is_empty() && (w.bbox[3] as f32) <= 2.5 * typical)
        .collect();
    let mid = |w: &WordBox| w.bbox[1] as f32 + w.bbox[3] as f32 / 2.0;
    sorted.sort_by(|a, b| mid(a).total_cmp(&mid(b)));
    // (sum of middles, words) per line.
    let mut out: Vec<(f32, Vec<&WordBox>)> = Vec::new();
    for w in sorted {
        match out.last_mut() {
            Some((sum, line)) if (mid(w) - *sum / line.len() as f32).abs() <= 0.5 * typical => {
                *sum += mid(w);
                line.push(w);
            }
            _ => out.push((mid(w), vec![w])),
        }
    }
    out.into_iter()
        .map(|(_, mut line)| {
            line.sort_by_key(|w| w.bbox[0]);
            line
        })
        .collect()
}

/// The label (longest first) that the words at the start of `words` spell: field index,
/// words used, and whether the last one carries value text after its colon.
fn best_label<V>(
    words: &[&WordBox],
    labels: &[(usize, Vec<String>)],
    seen: &BTreeMap<usize, V>,
) -> Option<(usize, usize, bool)> {
    // (field, words, glued, similarity): the longest label, then the closest. A form
    // prints each label once: a field already started is not started again.
    let mut best: Option<(usize, usize, bool, f32)> = None;
    for (field, label) in labels {
        let n = label.len();
        if n > words.len() || best.is_some_and(|b| b.1 > n) || seen.contains_key(field) {
            continue;
        }
        // Labels are printed in sentence case and end with a colon; a title in capitals
        // ("SỔ ĐĂNG KÝ KHAI SINH") or a colon-less run of words is not a label, unless it is
        // long enough not to happen by chance.
        let upper = words[..n]
            .iter()
            .all(|w| w.text.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase));
        // OCR often reads the colon as a full stop.
        let colon = words[n - 1].text.contains(':') || words[n - 1].text.ends_with('.');
        if upper || (!colon && n < 3) {
            continue;
        }
        let head: Vec<String> = words[..n].iter().map(|w| before_colon(&w.text)).collect();
        let got = fold(&head.join(" ")).replace([',', ':', '.'], "");
        let want = fold(&label.join(" "));
        let got = got.split_whitespace().collect::<Vec<_>>().join(" ");
        let sim = similarity(&got, &want);
        // A label read with damage in its middle still ends with its own last word and
        // the colon ("Họ, chữ đệm, t ¡ mẹ:").
        let same_end = colon
            && label
                .last()
                .is_some_and(|l| fold(l) == fold(&before_colon(&words[n - 1].text)).trim_end_matches('.'));
        let close = sim >= LABEL_MATCH || (n >= 3 && same_end && sim >= 0.6);
        if close && best.is_none_or(|b| n > b.1 || sim > b.3) {
            let last = &words[n - 1].text;
            let glued = last.contains(':') && !after_colon(last).is_empty();
            best = Some((*field, n, glued, sim));
        }
    }
    best.map(|(f, n, g, _)| (f, n, g))
}

/// A label's words, without punctuation.
fn tokens(label: &str) -> Vec<String> {
    label
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| c == ',' || c == ':').to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn before_colon(w: &str) -> String {
    w.split(':').next().unwrap_or("").to_string()
}

/// What follows a colon in a word (`"tên:Hoàng"` → `"Hoàng"`), or the word itself.
fn after_colon(w: &str) -> &str {
    match w.split_once(':') {
        Some((_, rest)) => rest,
        None => w,
    }
}

fn union(a: BBox, b: BBox) -> BBox {
    let (x0, y0) = (a[0].min(b[0]), a[1].min(b[1]));
    let (x1, y1) = ((a[0] + a[2]).max(b[0] + b[2]), (a[1] + a[3]).max(b[1] + b[3]));
    [x0, y0, x1 - x0, y1 - y0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Layout;

    fn word(text: &str, x: u32, y: u32) -> WordBox {
        WordBox {
            text: text.to_string(),
            bbox: [x, y, 10 * text.chars().count() as u32, 20],
            confidence: 0.9,
        }
    }

    #[test]
    fn labels_start_fields_and_the_longest_label_wins() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let v = Vocabulary::builtin();
        // Labels and values in separate blocks, as page OCR may give them.
        let words = vec![
            word("Số:", 10, 10),
            word("Họ,", 10, 50),
            word("chữ", 50, 50),
            word("đệm,", 90, 50),
            word("tên:", 140, 50),
            word("Giới", 10, 90),
            word("tính:", 60, 90),
            word("Dân", 300, 90),
            word("tộc:", 340, 90),
            word("Họ,", 10, 130),
            word("chữ", 50, 130),
            word("đệm,", 90, 130),
            word("tên", 140, 130),
            word("người", 180, 130),
            word("mẹ:", 240, 130),
            word("Ngày", 10, 170),
            word("đăng", 60, 170),
            word("ký:", 110, 170),
            word("12", 60, 12),
            word("Trần", 300, 52),
            word("Văn", 350, 52),
            word("Nam", 400, 52),
            word("Nam", 120, 91),
            word("Kinh", 400, 91),
            word("Lê", 300, 131),
            word("Thị", 330, 131),
            word("Hoa", 370, 131),
            word("04/02/1983", 200, 171),
        ];
        let rec = read_record(&words, &t, &v).unwrap();
        let got = |k: &str| rec.fields[k].value.clone();
        assert_eq!(got("nksHoTen"), "Trần Văn Nam");
        assert_eq!(got("nksGioiTinh"), "1");
        assert_eq!(got("nksDanToc"), "Kinh");
        assert_eq!(got("meHoTen"), "Lê Thị Hoa");
        assert_eq!(got("ngayDangKy"), "04.02.1983");
        assert_eq!(got("so"), "12");
        assert!(rec.fields["chaHoTen"].text.is_empty());
    }
}
