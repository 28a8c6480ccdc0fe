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
use crate::ocr::union;
use crate::template::{fold, similarity, FieldKind, Template, Vocabulary};
use std::collections::BTreeMap;

/// How alike a run of words and a label must be (0..1, on folded letters).
const LABEL_MATCH: f32 = 0.8;
/// Words read with less confidence are marks on the paper (a stain, a fold), not writing.
const MIN_WORD_CONFIDENCE: f32 = 0.4;

/// Where a form page's fields lie: for each field whose label was found, the label and
/// the boxes its value is written in.
#[derive(Clone, Debug, Default)]
pub struct FormPlaces {
    /// Template column index → where that field lies.
    pub fields: BTreeMap<usize, FieldPlace>,
}

/// Where one field of a form page lies.
#[derive(Clone, Debug)]
pub struct FieldPlace {
    /// The printed label.
    pub label: BBox,
    /// The words the page's reading put after the label, in reading order.
    pub words: Vec<WordBox>,
    /// The value's boxes, one per line: from the label's end to the next label on its line
    /// (or the right edge of the writing), then any line the value runs on to.
    pub boxes: Vec<BBox>,
}

impl FormPlaces {
    /// Labels found.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no label was found.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Finds the printed labels of `template` among a page's words (`size`: the page's
/// pixels) and the boxes their values are written in.
pub fn locate(words: &[WordBox], template: &Template, size: (u32, u32)) -> FormPlaces {
    let labels: Vec<(usize, Vec<String>)> = template
        .columns
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.headings.iter().map(move |h| (i, tokens(h))))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    let lines = lines(words);
    // Field index → (label box, line index), and the words of its value with their line.
    let mut found: BTreeMap<usize, (BBox, usize)> = BTreeMap::new();
    let mut values: BTreeMap<usize, Vec<(&WordBox, usize)>> = BTreeMap::new();
    let mut current: Option<usize> = None;
    for (li, line) in lines.iter().enumerate() {
        let mut i = 0;
        // Right edge of the last word taken on this line (label or value), and whether a
        // value word was taken since the last label.
        let mut last_right: Option<u32> = None;
        let mut value_here = false;
        while i < line.len() {
            match best_label(&line[i..], &labels, &found) {
                Some((field, n, glued)) => {
                    current = Some(field);
                    value_here = false;
                    let label = line[i..i + n].iter().map(|w| w.bbox).reduce(union).unwrap_or_default();
                    found.insert(field, (label, li));
                    values.entry(field).or_default();
                    i += n;
                    // "tên:Hoàng": a value glued to the label's colon.
                    if glued {
                        values.entry(field).or_default().push((line[i - 1], li));
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
                            values.entry(f).or_default().push((w, li));
                            last_right = Some(w.bbox[0] + w.bbox[2]);
                            value_here = true;
                        }
                    }
                    i += 1;
                }
            }
        }
    }
    // The writing's left and right edges, and each line's rows.
    let left = found.values().map(|(b, _)| b[0]).min().unwrap_or(0);
    // The right edge: of the writing and the dotted lines on the labels' lines, and a
    // line's height more (marks further out are the page's edge, a tear, a stain).
    let label_lines: Vec<usize> = found.values().map(|(_, l)| *l).collect();
    let typical = found.values().map(|(b, _)| b[3]).max().unwrap_or(0);
    let right = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| label_lines.contains(i))
        .flat_map(|(_, l)| l.iter())
        .filter(|w| is_writing(w) || w.text.chars().filter(|&c| c == '.' || c == '…').count() >= 3)
        .map(|w| w.bbox[0] + w.bbox[2])
        .max()
        .map_or(size.0, |r| r + typical)
        .min(size.0);
    let rows: Vec<(u32, u32)> = lines
        .iter()
        .map(|l| {
            let top = l.iter().map(|w| w.bbox[1]).min().unwrap_or(0);
            let bottom = l.iter().map(|w| w.bbox[1] + w.bbox[3]).max().unwrap_or(top);
            (top, bottom)
        })
        .collect();
    // A value's rows: the line's, grown by half its height (writing in a hand is taller
    // and strays from the printed baseline), never into the lines above and below.
    let band = |li: usize| -> (u32, u32) {
        let (top, bottom) = rows[li];
        let grow = (bottom - top) / 2;
        let above = if li > 0 { rows[li - 1].1 + 1 } else { 0 };
        let below = rows.get(li + 1).map_or(size.1, |r| r.0.saturating_sub(1));
        (
            top.saturating_sub(grow).max(above.min(top)),
            (bottom + grow).min(below.max(bottom)).min(size.1),
        )
    };
    let mut fields = BTreeMap::new();
    for (&field, &(label, li)) in &found {
        let next_label = found
            .values()
            .filter(|(b, l)| *l == li && b[0] > label[0])
            .map(|(b, _)| b[0])
            .min();
        let start = label[0] + label[2] + label[3] / 4;
        let end = next_label.map_or(right, |x| x.saturating_sub(label[3] / 4));
        let (top, bottom) = band(li);
        let mut boxes = Vec::new();
        if end > start + label[3] {
            boxes.push([start, top, end - start, bottom - top]);
        }
        let ws = values.remove(&field).unwrap_or_default();
        // Lines below without a label that carry the value on.
        let mut more: Vec<usize> = ws.iter().map(|(_, l)| *l).filter(|&l| l != li).collect();
        more.dedup();
        for l in more {
            let (top, bottom) = band(l);
            boxes.push([left, top, right.saturating_sub(left), bottom - top]);
        }
        fields.insert(
            field,
            FieldPlace {
                label,
                words: ws.into_iter().map(|(w, _)| w.clone()).collect(),
                boxes,
            },
        );
    }
    FormPlaces { fields }
}

/// What was read for one field of a form page.
#[derive(Clone, Debug, Default)]
pub struct ValueRead {
    /// The text.
    pub text: String,
    /// 0..1.
    pub confidence: f32,
    /// Where it lies.
    pub bbox: BBox,
    /// The line model's free reading, when it differs from `text`.
    pub free: Option<String>,
}

impl ValueRead {
    /// The value as the page's reading gave it: the words after the label.
    pub fn from_words(place: &FieldPlace) -> ValueRead {
        let ws = &place.words;
        let text = ws
            .iter()
            .map(|w| after_colon(&w.text))
            .filter(|t| !t.is_empty() && !t.chars().all(|c| c == '.' || c == '…' || c == ':'))
            .collect::<Vec<_>>()
            .join(" ");
        ValueRead {
            text,
            confidence: if ws.is_empty() {
                0.0
            } else {
                ws.iter().map(|w| w.confidence).sum::<f32>() / ws.len() as f32
            },
            bbox: ws.iter().map(|w| w.bbox).reduce(union).unwrap_or([0, 0, 0, 0]),
            free: None,
        }
    }
}

/// The record of a form page from the values read for its fields (template column index
/// → value); fields whose label was not found are empty.
pub fn record(values: &BTreeMap<usize, ValueRead>, template: &Template, vocab: &Vocabulary) -> RecordResult {
    let mut fields_map = BTreeMap::new();
    let mut all: Option<BBox> = None;
    let empty = ValueRead::default();
    for (i, col) in template.columns.iter().enumerate() {
        let v = values.get(&i).unwrap_or(&empty);
        let text = strip_leaders(&v.text);
        if v.bbox[2] > 0 {
            all = Some(all.map_or(v.bbox, |a| union(a, v.bbox)));
        }
        let kind = col.kind;
        let mut f = fields::make_field(kind, &text, v.confidence, v.bbox, vocab);
        if let Some(free) = &v.free {
            fields::note_free_reading(&mut f, free);
        }
        if kind == FieldKind::RegistrationNumber && text.is_empty() {
            f.flags.retain(|x| *x != Flag::NotANumber);
        }
        fields_map.insert(col.field.clone(), f);
    }
    RecordResult {
        row: 1,
        bbox: all.unwrap_or([0, 0, 0, 0]),
        fields: fields_map,
        accepted: None,
    }
}

/// A value without the dotted leader it was written on (runs of dots and ellipses) and
/// without the end of its label read into it (a first word ending in a colon, "cha:").
fn strip_leaders(text: &str) -> String {
    let mut words = text.split_whitespace().peekable();
    if words.peek().is_some_and(|w| w.ends_with(':')) {
        words.next();
    }
    words
        .map(|w| {
            let dots = w.chars().filter(|&c| c == '.' || c == '…').count();
            if dots >= 3 && dots * 2 >= w.chars().count() {
                w.trim_matches(|c| c == '.' || c == '…').to_string()
            } else {
                w.to_string()
            }
        })
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c == '.' || c == '…' || c == ':'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a word is writing rather than a mark: read with some confidence, and holding
/// a letter or digit (a lone symbol is noise). The dots of a leader read into the word
/// (`.5........`) do not count against a lone digit.
fn is_writing(w: &WordBox) -> bool {
    let core = w.text.trim_matches(|c| c == '.' || c == '…');
    let alnum = core.chars().filter(|c| c.is_alphanumeric()).count();
    w.confidence >= MIN_WORD_CONFIDENCE && alnum > 0 && (alnum > 1 || core.chars().count() == 1 && w.confidence >= 0.8)
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
    let mut best: Option<(usize, usize, bool, f32, usize)> = None;
    for (field, label) in labels {
        if seen.contains_key(field) {
            continue;
        }
        // The label's words as read, or fewer when the OCR ran some together ("Dântộc:").
        for m in (1..=label.len().min(words.len())).rev() {
            if let Some(sim) = label_match(&words[..m], label) {
                let n = label.len();
                if best.is_none_or(|b| n > b.4 || (n == b.4 && sim > b.3)) {
                    let last = &words[m - 1].text;
                    let glued = last.contains(':') && !after_colon(last).is_empty();
                    best = Some((*field, m, glued, sim, n));
                }
                break;
            }
        }
    }
    best.map(|(f, n, g, _, _)| (f, n, g))
}

/// How alike `words` and a label are (`None`: not alike enough, or not a label's shape).
fn label_match(words: &[&WordBox], label: &[String]) -> Option<f32> {
    let n = words.len();
    // A label starts with a word: a number before it ("Số: 7 Ngày, tháng, năm đăng ký:")
    // is the value of the label before.
    if !words[0].text.chars().next().is_some_and(char::is_alphabetic) {
        return None;
    }
    // Labels are printed in sentence case and end with a colon; a title in capitals
    // ("SỔ ĐĂNG KÝ KHAI SINH") or a colon-less run of words is not a label, unless it is
    // long enough not to happen by chance. A label read in capitals still ends with its
    // colon ("SỐ:" for "Số:", its mark misread as a capital's).
    let upper = words
        .iter()
        .all(|w| w.text.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase))
        && !words[n - 1].text.ends_with(':');
    // OCR often reads the colon as a full stop.
    let colon = words[n - 1].text.contains(':') || words[n - 1].text.ends_with('.');
    // A label ends at its colon: a run with a colon before its last word is a shorter
    // label and the start of its value ("Họ và tên: Vũ" is not "Họ và tên mẹ").
    let early_colon = words[..n - 1].iter().any(|w| w.text.ends_with(':'));
    // Words the OCR ran together ("Dântộc") may have lost their colon too.
    let merged = n < label.len() && words[0].text.chars().next().is_some_and(char::is_uppercase);
    if upper || early_colon || (!colon && !merged && label.len() < 3) {
        return None;
    }
    let head: Vec<String> = words.iter().map(|w| before_colon(&w.text)).collect();
    let squeeze = |t: String| t.replace([',', ':', '.', ' '], "");
    let got = squeeze(fold(&head.join(" ")));
    let want = squeeze(fold(&label.join(" ")));
    let sim = similarity(&got, &want);
    // A label read with damage in its middle still ends with its own last word and
    // the colon ("Họ, chữ đệm, t ¡ mẹ:").
    let same_end = colon
        && n == label.len()
        && label
            .last()
            .is_some_and(|l| fold(l) == fold(&before_colon(&words[n - 1].text)).trim_end_matches('.'));
    let close = if !colon && merged {
        sim >= 0.9
    } else {
        sim >= LABEL_MATCH || (n >= 3 && same_end && sim >= 0.6)
    };
    close.then_some(sim)
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

    /// The record of a form page, from its words alone; `None` when no label was found.
    pub fn read_record(words: &[WordBox], template: &Template, vocab: &Vocabulary) -> Option<RecordResult> {
        let size = words.iter().fold((0, 0), |(w, h), b| {
            (w.max(b.bbox[0] + b.bbox[2]), h.max(b.bbox[1] + b.bbox[3]))
        });
        let places = locate(words, template, size);
        if places.is_empty() {
            return None;
        }
        let values = places
            .fields
            .iter()
            .map(|(&i, p)| (i, ValueRead::from_words(p)))
            .collect();
        Some(record(&values, template, vocab))
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

    #[test]
    fn a_number_before_the_next_label_on_its_line_is_the_value_not_the_label() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let v = Vocabulary::builtin();
        // As Tesseract read a 2019 form page: the colon after "Số" read as a full stop.
        let words = vec![
            word("Số.", 192, 354),
            word("7", 258, 355),
            word("Ngày,", 870, 356),
            word("tháng,", 953, 356),
            word("năm", 1047, 357),
            word("đăng", 1113, 357),
            word("ký:", 1188, 356),
            word("18/09/2019", 1252, 356),
            word("Họ,", 192, 576),
            word("chữ", 240, 576),
            word("đệm,", 290, 576),
            word("tên:", 350, 576),
            word("Ngô", 446, 571),
            word("Thành", 500, 571),
        ];
        let rec = read_record(&words, &t, &v).unwrap();
        assert_eq!(rec.fields["so"].text, "7");
        assert_eq!(rec.fields["ngayDangKy"].value, "18.09.2019");
        assert_eq!(rec.fields["nksHoTen"].value, "Ngô Thành");
    }

    #[test]
    fn a_label_read_in_capitals_with_its_colon_is_a_label_and_a_title_is_not() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let v = Vocabulary::builtin();
        // As Tesseract read a 2016 form page: "Số:" in capitals, the number on its leader.
        let words = vec![
            word("SỔ", 1300, 300),
            word("ĐĂNG", 1380, 300),
            word("KÝ", 1500, 300),
            word("KHAI", 1560, 300),
            word("SINH", 1660, 300),
            word("SỐ:", 520, 560),
            word(".5........", 600, 560),
            word("Ngày,", 1500, 570),
            word("tháng,", 1600, 570),
            word("năm", 1700, 570),
            word("đăng", 1780, 570),
            word("ký:", 1870, 570),
            word("23/07/2016", 1950, 570),
        ];
        let rec = read_record(&words, &t, &v).unwrap();
        assert_eq!(rec.fields["so"].text, "5");
        assert_eq!(rec.fields["ngayDangKy"].value, "23.07.2016");
    }
}
