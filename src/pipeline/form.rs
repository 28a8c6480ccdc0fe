//! A form page (one record, values after printed labels; books of 2006–2020): the page
//! read as one block with its dotted leaders erased, its labels found, and each value read
//! in its own box.

use super::{check, PageContext, Reading, LINE_MODEL_DOUBTFUL};
use crate::cells::{CellEngine, CellReader, LEGIBLE};
use crate::fields;
use crate::form::leaders::{off_leader_words, without_dots, without_leaders};
use crate::form::{FormPlaces, ValueRead};
use crate::layout::{self, Grid};
use crate::model::{ColumnMapping, RecordResult, WordBox};
use crate::ocr::field::{self, LineImage};
use crate::ocr::tesseract::read_enlarged;
use crate::ocr::{OcrError, ReadMode, Readers};
use crate::raster::{paint, union};
use crate::restore::RestoredPage;
use crate::template::Template;
use image::GrayImage;
use std::collections::BTreeMap;

/// A page read as a form (`boxes`: drawn in boxes, ruled so): its labels found, and its
/// values read when they run down the page or `always`; `None` when they do not.
pub(super) fn read_as_form(
    page: &RestoredPage,
    dpi: f32,
    template: &Template,
    boxes: Option<&Grid>,
    always: bool,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Option<Reading>, OcrError> {
    if let (false, Some(grid)) = (template.bands.is_empty(), boxes) {
        return read_person_table(page, dpi, template, grid, ctx, ocr);
    }
    let words = read_page_words(page, dpi, boxes, ocr)?;
    let places = match boxes {
        Some(grid) => {
            let mut places = crate::form::place(&labels_ended_by_rules(&words, grid), template, &page.binary);
            let at = |lines: &[layout::RuleLine]| lines.iter().map(|l| l.pos).collect::<Vec<_>>();
            let margin = ((dpi / 75.0) as u32).max(2);
            crate::form::values_in_boxes(&mut places, &at(&grid.v_lines), &at(&grid.h_lines), margin);
            places
        }
        None => crate::form::place(&words, template, &page.binary),
    };
    if !always && !is_form_page(&places, page.gray.height()) {
        return Ok(None);
    }
    read_form(page, dpi, template, words, &places, ctx, ocr).map(Some)
}

/// A form whose people stand side by side (a marriage book of 2006–2020): a ruled table,
/// a column per person under their band's name ("Bên chồng", "Bên vợ"), a row per field
/// under its label in the first column; the fields outside it (the number, the
/// registration date) after their labels on the page. `None` when the table's header
/// names no band.
fn read_person_table(
    page: &RestoredPage,
    dpi: f32,
    template: &Template,
    grid: &Grid,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Option<Reading>, OcrError> {
    let reader = CellReader { page, dpi };
    let grid = &between_rules(grid);
    if grid.columns.len() < 2 || grid.rows.len() < 2 {
        return Ok(None);
    }
    let (header, _) = reader.read_row(grid, 0, ocr.tesseract.as_mut())?;
    let band_of = |text: &str| -> Option<&str> {
        let t = crate::template::fold(text);
        let t = t.as_str();
        template
            .bands
            .iter()
            .flat_map(|b| {
                b.names
                    .iter()
                    .map(move |n| (b, crate::template::similarity(t, &crate::template::fold(n))))
            })
            .filter(|(_, s)| *s >= 0.6)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(b, _)| b.id.as_str())
    };
    let bands: Vec<Option<&str>> = header.iter().map(|h| band_of(h)).collect();
    if bands.iter().all(Option::is_none) {
        return Ok(None);
    }
    let cells = person_cells(&reader, grid, template, &bands, ocr)?;
    // The fields outside the table, after their labels.
    let outside = Template {
        columns: template.columns.iter().filter(|c| c.band.is_none()).cloned().collect(),
        bands: Vec::new(),
        ..template.clone()
    };
    let words = read_page_words(page, dpi, Some(grid), ocr)?;
    let places = crate::form::place(&words, &outside, &page.binary);
    let mut reading = read_form(page, dpi, &outside, words, &places, ctx, ocr)?;
    let mut record = reading.records.pop().unwrap_or(RecordResult {
        row: 1,
        bbox: grid.table.unwrap_or_default(),
        fields: BTreeMap::new(),
        accepted: None,
    });
    // Each row read once, its people's cells with their fields' kinds.
    let mut rows: Vec<usize> = cells.iter().map(|&(r, _, _)| r).collect();
    rows.dedup();
    for r in rows {
        let in_row: Vec<_> = cells.iter().filter(|&&(row, _, _)| row == r).collect();
        let mut kinds = vec![None; grid.columns.len()];
        for &&(_, c, spec) in &in_row {
            kinds[c] = Some(spec.kind);
        }
        let read = reader.read_cells(grid, &[r], &kinds, ctx.cells, &ctx.lexicons, ocr)?;
        let Some(row) = read.into_iter().next() else { continue };
        for &&(_, c, spec) in &in_row {
            let Some(cell) = row.get(c) else { continue };
            let mut f = fields::make_field(spec.kind, &cell.text, cell.confidence, cell.bbox, &ctx.vocab);
            if cell.engine == CellEngine::LineModel {
                fields::flag_below(&mut f, LINE_MODEL_DOUBTFUL);
            }
            record.fields.insert(spec.field.clone(), f);
        }
    }
    let mut records = vec![record];
    check(&mut records, template);
    reading.records = records;
    reading.columns = template.columns.iter().map(|c| c.field.clone()).collect();
    reading.grid = grid.clone();
    Ok(Some(reading))
}

/// The grid's cells between its rules: its columns and rows as ruled, not as a
/// register's split at its template's proportions.
fn between_rules(grid: &Grid) -> Grid {
    let between = |lines: &[layout::RuleLine]| -> Vec<layout::Band> {
        lines
            .windows(2)
            .map(|p| layout::Band {
                start: p[0].to + 1,
                end: p[1].from,
            })
            .filter(|b| !b.is_empty())
            .collect()
    };
    Grid {
        columns: between(&grid.v_lines),
        rows: between(&grid.h_lines),
        ..grid.clone()
    }
}

/// The cells of a table of people (see [`read_person_table`]) and the field each holds:
/// each row's label read in the first column names a person's field, each column's band
/// (`bands`) whose.
fn person_cells<'t>(
    reader: &CellReader,
    grid: &Grid,
    template: &'t Template,
    bands: &[Option<&str>],
    ocr: &mut Readers,
) -> Result<Vec<(usize, usize, &'t crate::template::ColumnSpec)>, OcrError> {
    let banded: Vec<&crate::template::ColumnSpec> = template.columns.iter().filter(|c| c.band.is_some()).collect();
    let mut cells: Vec<(usize, usize, &crate::template::ColumnSpec)> = Vec::new();
    for r in 1..grid.rows.len() {
        let label = reader.read_box(grid.cell(r, 0), ocr.tesseract.as_mut())?;
        let label = crate::template::fold(&crate::ocr::words_to_text(&label));
        let best = banded
            .iter()
            .map(|c| {
                let s = c
                    .headings
                    .iter()
                    .map(|g| crate::template::similarity(&label, &crate::template::fold(g)));
                (c, s.fold(0.0, f32::max))
            })
            .filter(|(_, s)| *s >= 0.6)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        // A label not read: the row in the form's order, when the table has a row for
        // each of a person's fields.
        let per_person: Vec<&&crate::template::ColumnSpec> =
            banded.iter().filter(|c| c.band == banded[0].band).collect();
        let in_order = (grid.rows.len() - 1 == per_person.len()).then(|| (per_person[r - 1], 0.0));
        let Some((row_field, _)) = best.or(in_order) else {
            continue;
        };
        for (c, band) in bands.iter().enumerate() {
            let spec = band.and_then(|b| {
                banded
                    .iter()
                    .find(|x| x.band.as_deref() == Some(b) && x.headings[0] == row_field.headings[0])
            });
            if let Some(spec) = spec {
                cells.push((r, c, spec));
            }
        }
    }
    Ok(cells)
}

/// A ruled table with this many column rules at most may be a form page drawn in boxes
/// (label, value; two pairs on a line make five); a register has a column per field.
pub(super) const FORM_TABLE_RULES: usize = 5;

/// The words of a page read with each word that a column rule follows (before the next
/// word on its line, or with nothing after it in its cell) ending in a colon: on a form
/// drawn in boxes the rule ends the label as a colon would.
pub(super) fn labels_ended_by_rules(words: &[WordBox], grid: &Grid) -> Vec<WordBox> {
    let rules: Vec<u32> = grid.v_lines.iter().map(|l| l.pos).collect();
    let mid = |w: &WordBox| w.bbox[1] + w.bbox[3] / 2;
    words
        .iter()
        .map(|w| {
            let right = w.bbox[0] + w.bbox[2];
            let next = words
                .iter()
                .filter(|o| o.bbox[0] >= right && mid(o).abs_diff(mid(w)) <= w.bbox[3] / 2)
                .map(|o| o.bbox[0])
                .min()
                .unwrap_or(u32::MAX);
            let ruled = rules.iter().any(|&x| x >= right && x < next);
            let mut w = w.clone();
            if ruled && !w.text.ends_with(':') {
                w.text.push(':');
            }
            w
        })
        .collect()
}

/// The words of a whole page as Tesseract reads it as one block, dotted leaders erased:
/// what form labels are looked for in. On a page ruled as `rules` (a form drawn in boxes)
/// the rules are erased too: Tesseract reads a block drawn in boxes as a picture.
pub(super) fn read_page_words(
    page: &RestoredPage,
    dpi: f32,
    rules: Option<&Grid>,
    ocr: &mut Readers,
) -> Result<Vec<WordBox>, OcrError> {
    let mut gray = without_leaders(page, dpi);
    if let Some((grid, [x, y, w, h])) = rules.and_then(|g| g.table.map(|t| (g, t))) {
        // A pixel more each side: a rule's grey fringe.
        let (m, t) = (2, 4);
        for l in &grid.h_lines {
            paint(
                &mut gray,
                [x.saturating_sub(m), l.from.saturating_sub(1), w + t, l.to + 3 - l.from],
                255,
            );
        }
        for l in &grid.v_lines {
            paint(
                &mut gray,
                [l.from.saturating_sub(1), y.saturating_sub(m), l.to + 3 - l.from, h + t],
                255,
            );
        }
    }
    read_enlarged(&gray, dpi, ReadMode::Block, ocr.tesseract.as_mut())
}

/// Labels of a form page found on at least this many lines make it one...
pub(super) const FORM_LABEL_LINES: usize = 3;
/// ...when they spread over this fraction of the page's height (a ledger's header band
/// is 5–7% of its page; a form's labels run down 40–60% of it).
pub(super) const FORM_LABEL_SPREAD: f32 = 0.12;

/// Whether a page without a ruled table is a form page: the template's labels (`places`)
/// printed on several lines spread down the page (`height` pixels; a ledger's headings,
/// even wrapped, lie in one band at its top). Anything else is read as running text,
/// which a ledger page without a table is too.
pub(super) fn is_form_page(places: &FormPlaces, height: u32) -> bool {
    let mut tops: Vec<u32> = places.fields.values().map(|p| p.label[1]).collect();
    tops.sort_unstable();
    let typical = places.fields.values().map(|p| p.label[3]).max().unwrap_or(1).max(1);
    let mut lines = 0;
    let mut last: Option<u32> = None;
    for &t in &tops {
        if last.is_none_or(|l| t > l + typical) {
            lines += 1;
            last = Some(t);
        }
    }
    let spread = tops.last().zip(tops.first()).map_or(0, |(b, a)| b - a);
    lines >= FORM_LABEL_LINES && spread as f32 >= FORM_LABEL_SPREAD * height as f32
}

/// A form page: its labels (`places`, found among the words of the page's reading,
/// `words`), then each value read in its own box (from the label's end to the next label,
/// and the lines it runs on to) by the engine for the field's kind; the page's one record.
pub(super) fn read_form(
    page: &RestoredPage,
    dpi: f32,
    template: &Template,
    words: Vec<WordBox>,
    places: &FormPlaces,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let mut values: BTreeMap<usize, ValueRead> = places
        .fields
        .iter()
        .map(|(&i, p)| (i, ValueRead::from_words(p)))
        .collect();
    // A value holding a second field (an hour before a date) is read as text.
    let kind = |i: usize| match template.columns[i].split {
        Some(_) => crate::template::FieldKind::Text,
        None => template.columns[i].kind,
    };
    let mut by_model = Vec::new();
    let mut on_leader = Vec::new();
    if let Some(model) = ocr.lines.as_mut() {
        let reader = CellReader { page, dpi };
        // Each value's lines, and the same lines with the leader's dots under the writing
        // erased when that changes them: a dot of the leader under a letter reads as the
        // letter's dot below (`Cọn` for `Con`), one after a word as a full stop or comma.
        let pending: Vec<(usize, Vec<LineImage>, Vec<LineImage>)> = places
            .fields
            .iter()
            .filter(|(&i, _)| ctx.cells.engine(Some(kind(i))) == CellEngine::LineModel)
            .map(|(&i, p)| {
                let lines: Vec<LineImage> = p.boxes.iter().flat_map(|&b| reader.value_lines(b)).collect();
                let off: Vec<LineImage> = p.boxes.iter().flat_map(|&b| reader.value_lines_off_leader(b)).collect();
                let same = off.len() == lines.len() && off.iter().zip(&lines).all(|(a, b)| a.crop == b.crop);
                (i, lines, if same { Vec::new() } else { off })
            })
            .filter(|(_, lines, _)| !lines.is_empty())
            .collect();
        let crops: Vec<&GrayImage> = pending
            .iter()
            .flat_map(|(_, l, o)| l.iter().chain(o).map(|l| &l.crop))
            .collect();
        let mut posts = model.read_lines(&crops)?.into_iter();
        drop(crops);
        let vocab = model.vocab().clone();
        for (i, lines, off) in pending {
            let p: Vec<_> = posts.by_ref().take(lines.len()).collect();
            let mut r = field::decode(&lines, &p, Some(kind(i)), &vocab, &ctx.lexicons);
            let p_off: Vec<_> = posts.by_ref().take(off.len()).collect();
            if !off.is_empty() {
                let other = field::decode(&off, &p_off, Some(kind(i)), &vocab, &ctx.lexicons);
                if other.text != r.text && without_dots(&other.text) == without_dots(&r.text) {
                    on_leader.push(template.columns[i].field.clone());
                    r.text = off_leader_words(&r.text, &other.text, &ctx.lexicons);
                }
            }
            if r.text.is_empty() || r.mean_char_prob < LEGIBLE {
                continue;
            }
            values.insert(
                i,
                ValueRead {
                    bbox: lines.iter().map(|l| l.bbox).reduce(union).unwrap_or_default(),
                    confidence: r.confidence,
                    free: (r.free != r.text).then_some(r.free),
                    text: r.text,
                },
            );
            by_model.push(template.columns[i].field.clone());
        }
    }
    let mut records = Vec::new();
    let mut columns: Vec<String> = template.columns.iter().map(|c| c.field.clone()).collect();
    if !places.is_empty() {
        let mut rec = crate::form::record(&values, template, &ctx.vocab);
        for id in &by_model {
            if let Some(f) = rec.fields.get_mut(id) {
                fields::flag_below(f, LINE_MODEL_DOUBTFUL);
            }
        }
        for id in &on_leader {
            if let Some(f) = rec.fields.get_mut(id) {
                fields::doubt_marks_on_leader(f);
            }
        }
        fields::apply_splits(&mut rec, template, &ctx.vocab);
        for c in template.columns.iter().rev() {
            if let (Some(s), Some(at)) = (&c.split, columns.iter().position(|x| *x == c.field)) {
                columns.insert(at + 1, s.into.clone());
            }
        }
        let ticked = crate::form::tick_fields(&places.ticks, template);
        columns.extend(ticked.iter().map(|(id, _)| id.clone()));
        rec.fields.extend(ticked);
        if rec.fields.values().filter(|f| !f.text.is_empty()).count() >= 2 {
            records.push(rec);
        }
    }
    check(&mut records, template);
    Ok(Reading {
        columns,
        column_mapping: ColumnMapping::FormLabels,
        records,
        text: crate::ocr::words_to_text(&words),
        words,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_rule_after_a_word_ends_it_as_a_colon_would() {
        let w = |text: &str, x: u32| WordBox {
            text: text.to_string(),
            bbox: [x, 100, 40, 20],
            confidence: 0.9,
        };
        let rule = |pos| layout::RuleLine {
            pos,
            from: pos - 1,
            to: pos + 1,
        };
        let grid = Grid {
            v_lines: vec![rule(5), rule(200), rule(600)],
            ..Default::default()
        };
        let words = [w("Nơi", 10), w("sinh", 60), w("Huế", 220), w("Ghi:", 60)];
        let texts: Vec<String> = labels_ended_by_rules(&words, &grid)
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(texts, ["Nơi", "sinh:", "Huế:", "Ghi:"]);
    }

    /// A form's labels on `tops` (each 20 px tall), field by field.
    fn places(tops: &[u32]) -> FormPlaces {
        FormPlaces {
            fields: tops
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let place = crate::form::FieldPlace {
                        label: [100, t, 200, 20],
                        words: Vec::new(),
                        boxes: Vec::new(),
                    };
                    (i, place)
                })
                .collect(),
            ticks: Vec::new(),
        }
    }

    #[test]
    fn a_page_is_a_form_when_its_labels_run_down_it() {
        // Labels on five lines down 60% of a 2000-px page: a form.
        assert!(is_form_page(&places(&[400, 640, 880, 1120, 1600]), 2000));
        // Two labels on a line count once: three lines are enough, two are not.
        assert!(is_form_page(&places(&[400, 405, 800, 1200]), 2000));
        assert!(!is_form_page(&places(&[400, 405, 1200]), 2000));
        // A register's headings, even on several lines, lie in one band at its top.
        assert!(!is_form_page(&places(&[100, 130, 160, 190, 220]), 2000));
        assert!(!is_form_page(&places(&[]), 2000));
    }
}
