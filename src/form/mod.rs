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

pub mod leaders;

use crate::fields;
use crate::model::{BBox, FieldResult, Flag, RecordResult, WordBox};
use crate::raster::{self, union, Connectivity};
use crate::template::{fold, similarity, FieldKind, Template, Vocabulary};
use image::GrayImage;
use std::collections::BTreeMap;

/// How alike a run of words and a label must be (0..1, on folded letters).
const LABEL_MATCH: f32 = 0.8;
/// Words read with less confidence are marks on the paper (a stain, a fold), not writing.
const MIN_WORD_CONFIDENCE: f32 = 0.4;

/// Where a form page's fields lie: for each field whose label was found, the label and
/// the boxes its value is written in; and the tick boxes found.
#[derive(Clone, Debug, Default)]
pub struct FormPlaces {
    /// Template column index → where that field lies.
    pub fields: BTreeMap<usize, FieldPlace>,
    /// The tick boxes found after their labels.
    pub ticks: Vec<TickPlace>,
}

/// A tick box found on a form page.
#[derive(Clone, Debug)]
pub struct TickPlace {
    /// Index of its group in the template's `ticks`.
    pub group: usize,
    /// The code a tick in it gives.
    pub code: String,
    /// Its label as the template prints it.
    pub label_text: String,
    /// Where its label and the box lie together.
    pub bbox: BBox,
    /// The share of the box's inside that is ink: a tick or a cross fills a tenth and
    /// more, an empty box nothing but specks.
    pub ink: f32,
}

/// A box is ticked when this share of its inside is ink.
pub const TICKED: f32 = 0.08;

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

/// Finds a form page's tick boxes (on the black-and-white page, after their printed
/// labels), then the printed labels of its fields among the other words, and the boxes
/// their values are written in.
pub fn place(words: &[WordBox], template: &Template, binary: &GrayImage) -> FormPlaces {
    let (ticks, used) = find_ticks(words, template, binary);
    let rest: Vec<WordBox> = words.iter().filter(|w| !used.contains(&w.bbox)).cloned().collect();
    let mut places = locate(&rest, template, binary.dimensions());
    places.ticks = ticks;
    places
}

/// On a form drawn in boxes (`columns`, `rows`: where its rules run, left to right and top
/// to bottom), a value is the cell right of its label's: each label alone in its cell with
/// an empty cell beside it (no label there) gets that cell, `margin` inside its rules, for
/// its value's box — however the writing sits in it, and on however many lines.
pub fn values_in_boxes(places: &mut FormPlaces, columns: &[u32], rows: &[u32], margin: u32) {
    let cell_of = |rules: &[u32], at: u32| rules.windows(2).position(|w| w[0] <= at && at < w[1]);
    let middle = |b: BBox| (b[0] + b[2] / 2, b[1] + b[3] / 2);
    let labels: Vec<(Option<usize>, Option<usize>)> = places
        .fields
        .values()
        .map(|p| {
            let (x, y) = middle(p.label);
            (cell_of(columns, x), cell_of(rows, y))
        })
        .collect();
    for (p, &cell) in places.fields.values_mut().zip(&labels) {
        let (Some(c), Some(r)) = cell else {
            continue;
        };
        let beside = c + 1;
        // The label's own cell holds its value when words follow the label in it.
        let own_value = p.words.iter().any(|w| w.bbox[0] < columns[c + 1]);
        if beside + 1 >= columns.len() || own_value || labels.contains(&(Some(beside), Some(r))) {
            continue;
        }
        let (x0, x1, y0, y1) = (columns[beside], columns[beside + 1], rows[r], rows[r + 1]);
        if x1 > x0 + 2 * margin && y1 > y0 + 2 * margin {
            p.boxes = vec![[x0 + margin, y0 + margin, x1 - x0 - 2 * margin, y1 - y0 - 2 * margin]];
        }
    }
}

/// The tick boxes on the lines of `words`, and the boxes of the words they take up (their
/// labels, and the box itself read as a letter). A box's label is the run of words before
/// it that reads most like one of the template's; on a line of two boxes or more (a row
/// of ticks) every word is a label's ("Đăng ký đúng hạn" for "Đúng hạn").
fn find_ticks(words: &[WordBox], template: &Template, binary: &GrayImage) -> (Vec<TickPlace>, Vec<BBox>) {
    let mut ticks = Vec::new();
    let mut used = Vec::new();
    if template.ticks.is_empty() {
        return (ticks, used);
    }
    let labels: Vec<(usize, &crate::template::TickBox)> = template
        .ticks
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.boxes.iter().map(move |b| (g, b)))
        .collect();
    let wanted: Vec<String> = labels.iter().map(|(_, b)| squeeze(&b.label)).collect();
    // (tick, boxes on its line, the words it takes up).
    let mut found: Vec<(TickPlace, usize, Vec<BBox>)> = Vec::new();
    for line in lines(words) {
        // A title in capitals is no row of ticks ("SỔ ĐĂNG KÝ KHAI SINH": its letters may
        // be square, its words like a label).
        let capitals = |w: &&WordBox| w.text.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase);
        if line.iter().all(capitals) {
            continue;
        }
        let mut heights: Vec<u32> = line.iter().map(|w| w.bbox[3]).collect();
        heights.sort_unstable();
        let h = heights[heights.len() / 2].max(4);
        let top = line.iter().map(|w| w.bbox[1]).min().unwrap_or(0);
        let bottom = line.iter().map(|w| w.bbox[1] + w.bbox[3]).max().unwrap_or(top);
        let band = (top.saturating_sub(h / 2), (bottom + h / 2).min(binary.height()));
        // A letter is no box: a square inside a word that goes on past it (a box at a
        // word's end may be read as the word's last letter, "hạn☑").
        let inside_word = |b: &BBox| {
            line.iter()
                .any(|w| w.bbox[0] + b[2] / 4 <= b[0] && w.bbox[0] + w.bbox[2] > b[0] + b[2] + b[2] / 2)
        };
        let mut boxes: Vec<BBox> = tick_boxes(binary, band, h)
            .into_iter()
            .filter(|b| !inside_word(b))
            .collect();
        // The boxes of a row are printed alike: a smaller square is part of a letter.
        let largest = boxes.iter().map(|b| b[2].min(b[3])).max().unwrap_or(0);
        boxes.retain(|b| b[2].min(b[3]) * 4 >= largest * 3);
        let on_line = boxes.len();
        let row_of_ticks = on_line >= 2;
        let mut from = 0;
        for b in boxes {
            // The box read as a word of its own, and the words before it (the last one with
            // the box read into it, maybe).
            let overlaps = |w: &WordBox| w.bbox[0] + b[2] / 2 >= b[0] && w.bbox[0] < b[0] + b[2];
            let before: Vec<&WordBox> = line
                .iter()
                .copied()
                .filter(|w| w.bbox[0] >= from && w.bbox[0] + b[2] / 2 < b[0])
                .collect();
            let Some((i, k)) = trailing_label(&before, &wanted) else {
                continue;
            };
            // A box without a label is passed over: its words may be the next one's.
            from = b[0] + b[2];
            let (group, tick) = &labels[i];
            let taken = if row_of_ticks {
                &before[..]
            } else {
                &before[before.len() - k..]
            };
            let label = taken.iter().map(|w| w.bbox).reduce(union).unwrap_or(b);
            let mut takes: Vec<BBox> = taken.iter().map(|w| w.bbox).collect();
            takes.extend(line.iter().filter(|w| overlaps(w)).map(|w| w.bbox));
            let place = TickPlace {
                group: *group,
                code: tick.code.clone(),
                label_text: tick.label.clone(),
                bbox: union(label, b),
                ink: inside_ink(binary, b),
            };
            found.push((place, on_line, takes));
        }
    }
    // A box's label found twice: the one in a row of ticks (a note that says "Đăng ký lại"
    // beside a square mark is not the box).
    for (i, (t, on_line, takes)) in found.iter().enumerate() {
        let better = found.iter().enumerate().any(|(j, (u, n, _))| {
            j != i && u.group == t.group && u.code == t.code && (*n > *on_line || (*n == *on_line && j < i))
        });
        if !better {
            ticks.push(t.clone());
            used.extend(takes.iter().copied());
        }
    }
    (ticks, used)
}

/// The label (index into `labels`, squeezed) that a trailing run of `words` reads most
/// like, and how many words the run takes; `None` when none is alike enough.
fn trailing_label(words: &[&WordBox], labels: &[String]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize, f32)> = None;
    for k in 1..=words.len().min(6) {
        let run: Vec<&str> = words[words.len() - k..].iter().map(|w| w.text.as_str()).collect();
        let got = squeeze(&run.join(" "));
        for (i, want) in labels.iter().enumerate() {
            let sim = similarity(&got, want);
            if best.is_none_or(|b| sim > b.2) {
                best = Some((i, k, sim));
            }
        }
    }
    best.filter(|b| b.2 >= LABEL_MATCH).map(|(i, k, _)| (i, k))
}

/// Letters folded, without spaces and punctuation.
fn squeeze(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Empty squares in the rows `band` of the page, left to right, for a line whose words are
/// `h` pixels tall: a connected mark about a letter's size whose ink runs straight along
/// both its sides and both its top and bottom (a tick inside, or past its edge, joins it).
/// Letters are not boxes: an `H` has one bar, an `O` no straight side.
fn tick_boxes(binary: &GrayImage, band: (u32, u32), h: u32) -> Vec<BBox> {
    let (w, _) = binary.dimensions();
    let (y0, y1) = band;
    if y1 <= y0 {
        return Vec::new();
    }
    let ink = |x: u32, y: u32| binary.get_pixel(x, y0 + y).0[0] < 128;
    let marks = raster::label(w, y1 - y0, Connectivity::Eight, ink);
    let mut found = Vec::new();
    let (least, most) = ((h as f32 * 0.5) as u32, (h as f32 * 2.0) as u32);
    // One mark (8-neighbours) at a time.
    for (k, mark) in marks.components.iter().enumerate() {
        let [x0, py0, mw, mh] = mark.bbox;
        if mw < least || mh < least || mw > most || mh > most {
            continue;
        }
        // The mark's own pixels in its box.
        let id = k as u32 + 1;
        let at = |x: u32, y: u32| marks.labels[((py0 + y) * w + x0 + x) as usize] == id;
        let longest = |n: u32, along: &dyn Fn(u32) -> bool| {
            let (mut best, mut run) = (0, 0);
            for i in 0..n {
                run = if along(i) { run + 1 } else { 0 };
                best = best.max(run);
            }
            best
        };
        let reach = (mw.min(mh) as f32 * 0.55) as u32;
        let cols: Vec<u32> = (0..mw).filter(|&x| longest(mh, &|y| at(x, y)) >= reach).collect();
        let rows: Vec<u32> = (0..mh).filter(|&y| longest(mw, &|x| at(x, y)) >= reach).collect();
        let (Some(&l), Some(&r), Some(&t), Some(&b)) = (cols.first(), cols.last(), rows.first(), rows.last()) else {
            continue;
        };
        let (side_w, side_h) = (r + 1 - l, b + 1 - t);
        let square = (side_w as f32 / side_h as f32 - 1.0).abs() <= 0.4;
        // Its four sides drawn the whole way, corner to corner (an `o`'s sides are
        // curves that leave its corners empty).
        let near = |x: u32, y: u32| {
            (x.saturating_sub(1)..=(x + 1).min(mw - 1))
                .any(|x| (y.saturating_sub(1)..=(y + 1).min(mh - 1)).any(|y| at(x, y)))
        };
        let full = |n: u32, on: &dyn Fn(u32) -> bool| (0..n).filter(|&i| on(i)).count() as f32 >= 0.9 * n as f32;
        let sides = full(side_h, &|i| near(l, t + i))
            && full(side_h, &|i| near(r, t + i))
            && full(side_w, &|i| near(l + i, t))
            && full(side_w, &|i| near(l + i, b));
        if square && sides && side_w >= least && side_h >= least {
            found.push([x0 + l, y0 + py0 + t, side_w, side_h]);
        }
    }
    found.sort_by_key(|b| b[0]);
    found
}

/// The share of a box's inside (its outline left out) that is ink.
fn inside_ink(binary: &GrayImage, b: BBox) -> f32 {
    let m = (b[2].min(b[3]) / 5).max(2);
    let inside = [
        b[0] + m,
        b[1] + m,
        b[2].saturating_sub(2 * m),
        b[3].saturating_sub(2 * m),
    ];
    crate::raster::ink_fraction(binary, inside)
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
    let Scan {
        found,
        mut values,
        value_ends,
    } = scan(&lines, &labels);
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
        .chain(value_ends)
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
    // and strays from the printed baseline), never into the lines of writing above and
    // below (marks of a torn edge read as a line of their own, or beside the writing
    // past its right edge, do not count).
    let written: Vec<bool> = lines
        .iter()
        .map(|l| l.iter().any(|w| is_writing(w) && w.bbox[0] < right))
        .collect();
    let band = |li: usize| -> (u32, u32) {
        let (top, bottom) = rows[li];
        let grow = (bottom - top) / 2;
        let above = (0..li).rev().find(|&k| written[k]).map_or(0, |k| rows[k].1 + 1);
        let below = (li + 1..rows.len())
            .find(|&k| written[k])
            .map_or(size.1, |k| rows[k].0.saturating_sub(1));
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
    FormPlaces {
        fields,
        ticks: Vec::new(),
    }
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
/// → value); fields whose label was not found are empty, flagged `label_not_found` (at
/// confidence 0) unless their label is printed on some years' forms only.
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
        if !values.contains_key(&i) && !col.not_on_every_form {
            f.flags.push(Flag::LabelNotFound);
            f.confidence = 0.0;
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

/// The fields the tick boxes give: for each group of the template with a box ticked, the
/// ticked box's code. Sure when one box stands out (twice the ink a tick needs, the
/// others under half of it); a faint tick, or two boxes of a group ticked (the inkier
/// taken), is `low_confidence`. A group with no box ticked gives no field.
pub fn tick_fields(ticks: &[TickPlace], template: &Template) -> Vec<(String, FieldResult)> {
    let mut out = Vec::new();
    for (g, group) in template.ticks.iter().enumerate() {
        let boxes: Vec<&TickPlace> = ticks.iter().filter(|t| t.group == g).collect();
        let Some(best) = boxes
            .iter()
            .copied()
            .filter(|t| t.ink >= TICKED)
            .max_by(|a, b| a.ink.total_cmp(&b.ink))
        else {
            continue;
        };
        let others = boxes
            .iter()
            .filter(|t| !std::ptr::eq(**t, best))
            .map(|t| t.ink)
            .fold(0.0f32, f32::max);
        let sure = best.ink >= 2.0 * TICKED && others < TICKED / 2.0;
        out.push((
            group.field.clone(),
            FieldResult {
                text: best.label_text.clone(),
                value: best.code.clone(),
                confidence: if sure { 0.97 } else { 0.3 },
                bbox: best.bbox,
                flags: if sure { Vec::new() } else { vec![Flag::LowConfidence] },
                free: None,
                review: None,
            },
        ));
    }
    out
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

/// What a form page's lines hold, as [`scan`] reads them.
struct Scan<'w> {
    /// Field index → its label's box and line.
    found: BTreeMap<usize, (BBox, usize)>,
    /// Field index → the words of its value, each with its line.
    values: BTreeMap<usize, Vec<(&'w WordBox, usize)>>,
    /// The right ends of values right after their labels, however unsure their reading.
    value_ends: Vec<u32>,
}

/// The labels (`labels`: each field's label tokens) found along a form page's `lines`,
/// and the words of each one's value: those after it on its line and on the lines below
/// until the next label, a wide gap or writing far right of where the value starts.
fn scan<'w>(lines: &[Vec<&'w WordBox>], labels: &[(usize, Vec<String>)]) -> Scan<'w> {
    // Field index → (label box, line index), and the words of its value with their line.
    let mut found: BTreeMap<usize, (BBox, usize)> = BTreeMap::new();
    let mut values: BTreeMap<usize, Vec<(&WordBox, usize)>> = BTreeMap::new();
    let mut current: Option<usize> = None;
    let mut value_ends: Vec<u32> = Vec::new();
    for (li, line) in lines.iter().enumerate() {
        let mut i = 0;
        // Right edge of the last word taken on this line (label or value), and whether a
        // value word was taken since the last label.
        let mut last_right: Option<u32> = None;
        let mut value_here = false;
        while i < line.len() {
            match best_label(&line[i..], labels, &found) {
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
                    // A value carried on to the next line starts that line under the
                    // value's start (the label's end, or the value's first word: in a
                    // form drawn in boxes, the value's column); what lies far to the
                    // right of it is the page's edge.
                    if last_right.is_none() {
                        let start = current.and_then(|f| {
                            let first = values.get(&f).and_then(|v| v.first()).map_or(0, |(w, _)| w.bbox[0]);
                            found.get(&f).map(|(b, _)| (b[0] + b[2]).max(first))
                        });
                        if start.is_some_and(|s| w.bbox[0] > s + 4 * w.bbox[3].max(1)) {
                            current = None;
                        }
                    }
                    if let Some(f) = current {
                        // A word right after its label is the value's, however unsure
                        // its reading (a date read `1/05/2018` at confidence 0), when it
                        // has three letters or digits (not a tear's edge read `LỘ`) and is
                        // as wide as they are (not a leader read `xa`): the value's box
                        // reaches past it.
                        let alnum = w.text.chars().filter(|c| c.is_alphanumeric()).count() as u32;
                        let [_, _, ww, wh] = w.bbox;
                        if !value_here && gap <= 2 * wh && alnum >= 3 && ww <= alnum * wh * 3 / 2 {
                            value_ends.push(w.bbox[0] + w.bbox[2]);
                        }
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
    Scan {
        found,
        values,
        value_ends,
    }
}

/// Words grouped into lines, each sorted left to right, lines top to bottom. A word joins
/// a line when its middle lies within half a word height of the line's; words far taller
/// than the writing (a stain or a stamp read as letters) are left out, and so are specks
/// far smaller than it every way (a stain's grain read `H` inside `Ghi chú:`).
fn lines(words: &[WordBox]) -> Vec<Vec<&WordBox>> {
    let mut heights: Vec<u32> = words.iter().map(|w| w.bbox[3]).collect();
    heights.sort_unstable();
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0).max(1) as f32;
    let speck = |w: &WordBox| (w.bbox[2].max(w.bbox[3]) as f32) < 0.3 * typical;
    let mut sorted: Vec<&WordBox> = words
        .iter()
        .filter(|w| !w.text.trim().is_empty() && (w.bbox[3] as f32) <= 2.5 * typical && !speck(w))
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
        word_in(text, [x, y, 10 * text.chars().count() as u32, 20], 0.9)
    }

    /// Words on one line at `y`: (text, x).
    fn line_of(y: u32, texts: &[(&str, u32)]) -> Vec<WordBox> {
        texts.iter().map(|&(t, x)| word(t, x, y)).collect()
    }

    fn word_in(text: &str, bbox: BBox, confidence: f32) -> WordBox {
        WordBox {
            text: text.to_string(),
            bbox,
            confidence,
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
    fn value_boxes_reach_past_an_unsure_value_and_not_into_a_torn_edge() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let unsure = |text: &str, x, y, w| word_in(text, [x, y, w, 20], 0.0);
        let words = vec![
            word("Số:", 10, 10),
            word("46", 60, 10),
            word("Ngày", 300, 10),
            word("đăng", 350, 10),
            word("ký:", 400, 10),
            // A date read at confidence 0 ends the line; a leader read `xa` ends another.
            unsure("1/05/2018", 440, 10, 150),
            word("Dân", 10, 50),
            word("tộc:", 50, 50),
            word("Kinh", 100, 50),
            word("Ghi", 10, 90),
            word("chú:", 40, 90),
            word("Con", 90, 90),
            unsure("xa", 140, 92, 800),
            // A torn edge's marks: read as a line of its own just below the note, and as
            // letters further down.
            word("‹", 900, 104),
            word("AMNT", 900, 130),
        ];
        let places = locate(&words, &t, (1000, 400));
        let field = |id: &str| &places.fields[&t.columns.iter().position(|c| c.field == id).unwrap()];
        // The date's box reaches past its last digit (590), not to the leader's end.
        let date = field("ngayDangKy").boxes[0];
        assert!(date[0] + date[2] >= 590 && date[0] + date[2] < 900, "{date:?}");
        // The note keeps its line's height (the edge's mark below does not cut it) and
        // nothing of the edge.
        let note = field("ghiChu");
        assert_eq!(note.boxes.len(), 1, "{:?}", note.boxes);
        assert!(
            note.boxes[0][1] <= 85 && note.boxes[0][1] + note.boxes[0][3] >= 115,
            "{:?}",
            note.boxes
        );
        assert!(note.words.iter().all(|w| w.text != "AMNT"));
    }

    #[test]
    fn a_speck_inside_a_label_and_an_edge_mark_beside_a_line_neither_hide_nor_cut_it() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let speck = |text: &str, x, y| word_in(text, [x, y, 3, 3], 0.9);
        let mut words = [
            line_of(10, &[("Dân", 10), ("tộc:", 50), ("Kinh", 100)]),
            // A torn edge's mark read as a digit, far right, between two lines.
            line_of(60, &[("4", 900)]),
            line_of(80, &[("Nơi", 10), ("sinh:", 50), ("Phường", 110), ("3", 180)]),
            line_of(130, &[("Ghi", 10), ("chú:", 50), ("Con", 100)]),
        ]
        .concat();
        // A stain's grain read as a letter between the label's words.
        words.push(speck("H", 42, 136));
        let places = locate(&words, &t, (1000, 400));
        let field = |id: &str| {
            places
                .fields
                .get(&t.columns.iter().position(|c| c.field == id).unwrap())
        };
        let note = field("ghiChu").expect("the note's label is found");
        assert!(note.words.iter().any(|w| w.text == "Con"), "{:?}", note.words);
        // The place's box grows above its line as far as on a clean page (the edge's mark
        // is no line of writing above it).
        let place = field("nksNoiSinh").expect("the place's label is found").boxes[0];
        assert!(place[1] <= 72, "{place:?}");
    }

    #[test]
    fn on_a_form_drawn_in_boxes_a_value_is_the_cell_beside_its_label() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        // Rules at x 0, 300, 900; rows 0–40, 40–80, 80–120. The name's value was not
        // read (a hand in the cell); the ethnicity is written in its label's own cell.
        let words = [
            line_of(10, &[("Họ", 10), ("và", 40), ("tên:", 70)]),
            line_of(50, &[("Nơi", 10), ("sinh:", 50)]),
            vec![word("Huế", 320, 58)],
            line_of(90, &[("Dân", 10), ("tộc:", 50), ("Kinh", 110)]),
        ]
        .concat();
        let mut places = locate(&words, &t, (1000, 400));
        values_in_boxes(&mut places, &[0, 300, 900], &[0, 40, 80, 120], 3);
        let field = |id: &str| &places.fields[&t.columns.iter().position(|c| c.field == id).unwrap()];
        assert_eq!(field("nksHoTen").boxes, vec![[303, 3, 594, 34]]);
        assert_eq!(field("nksNoiSinh").boxes, vec![[303, 43, 594, 34]]);
        // Its own cell holds the ethnicity: its box is the one after its label.
        let ethnicity = &field("nksDanToc").boxes;
        assert!(ethnicity.len() == 1 && ethnicity[0][0] < 300, "{ethnicity:?}");
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
        // The father's label is not on the page: his name may be there, unread.
        let cha = &rec.fields["chaHoTen"];
        assert!(cha.text.is_empty() && cha.has(Flag::LabelNotFound) && cha.confidence == 0.0);
        // The personal ID's label is printed on some years' forms only: no finding.
        assert!(!rec.fields["nksSoDinhDanh"].has(Flag::LabelNotFound));
        assert!(!rec.fields["meHoTen"].has(Flag::LabelNotFound));
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

    /// A square outline of `side` pixels at (`x`, `y`), a cross inside when `ticked`.
    fn draw_box(page: &mut GrayImage, x: u32, y: u32, side: u32, ticked: bool) {
        for i in 0..side {
            for (px, py) in [(x + i, y), (x + i, y + side - 1), (x, y + i), (x + side - 1, y + i)] {
                page.put_pixel(px, py, image::Luma([0]));
            }
            if ticked && (3..side - 3).contains(&i) {
                page.put_pixel(x + i, y + i, image::Luma([0]));
                page.put_pixel(x + side - 1 - i, y + i, image::Luma([0]));
            }
        }
    }

    #[test]
    fn the_ticked_box_of_a_row_gives_its_code_and_the_row_is_no_value() {
        let t = Template::for_book("ks", Layout::Form).unwrap();
        let mut page = GrayImage::from_pixel(1400, 400, image::Luma([255]));
        // A row of ticks worded otherwise than the template ("Đăng ký đúng hạn"), the
        // middle box crossed; the OCR read each box as a word of a letter or two, or (the
        // crossed one) as the last letter of its label ("hạnÑ"); a note above.
        let mut words = vec![word("Ghi", 100, 100), word("chú:", 140, 100), word("Con", 200, 100)];
        let row = [
            (vec!["Đăng", "ký", "đúng", "hạn"], 100, false),
            (vec!["Quá", "hạn"], 600, true),
            (vec!["Đăng", "ký", "lại"], 900, false),
        ];
        for (label, x, ticked) in &row {
            let mut at = *x;
            for w in label {
                words.push(word(w, at, 200));
                at += 10 * w.chars().count() as u32 + 8;
            }
            draw_box(&mut page, at + 4, 200, 20, *ticked);
            if *ticked {
                let last = words.last_mut().unwrap();
                last.text.push('Ñ');
                last.bbox[2] = at + 24 - last.bbox[0];
            } else {
                words.push(word("L]", at + 4, 200));
            }
        }
        let places = place(&words, &t, &page);
        assert_eq!(places.ticks.len(), 3, "{:?}", places.ticks);
        let fields = tick_fields(&places.ticks, &t);
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!((fields[0].0.as_str(), fields[0].1.value.as_str()), ("loaiDangKy", "4"));
        assert!(fields[0].1.flags.is_empty() && fields[0].1.confidence > 0.9);
        // The note is its own words: none of the row's.
        let note = t.columns.iter().position(|c| c.field == "ghiChu").unwrap();
        let texts: Vec<&str> = places.fields[&note].words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Con"]);
        // "Đăng ký lại" written as a note, with no box after it, is the note's.
        let mut plain = vec![word("Ghi", 100, 100), word("chú:", 140, 100)];
        plain.extend([word("Đăng", 200, 100), word("ký", 250, 100), word("lại", 280, 100)]);
        let places = place(&plain, &t, &GrayImage::from_pixel(1400, 400, image::Luma([255])));
        assert!(places.ticks.is_empty());
        assert_eq!(places.fields[&note].words.len(), 3);
    }
}
