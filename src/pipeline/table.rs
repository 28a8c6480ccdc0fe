//! A register's page: the header row read to map the columns to fields, then a record
//! per body row with ink.

use super::{push_line, PageContext, Reading, LINE_MODEL_DOUBTFUL, TESSERACT_NAME_DOUBTFUL};
use crate::booktype::{TypeFrom, UNKNOWN};
use crate::cells::{CellEngine, CellReader};
use crate::fields;
use crate::layout::Grid;
use crate::model::{ColumnMapping, FieldResult, Flag, Reason, RecordResult};
use crate::ocr::{OcrError, Readers};
use crate::raster::{ink_fraction, inset, mm_px};
use crate::restore::RestoredPage;
use crate::template::{FieldKind, Split, Template};
use std::collections::BTreeMap;

/// Whether fewer than half of a register page's records hold a date read as one.
pub(super) fn few_dates(records: &[RecordResult], ledger: &Template) -> bool {
    let ids: Vec<&str> = ledger
        .columns
        .iter()
        .filter(|c| c.kind == FieldKind::Date)
        .map(|c| c.field.as_str())
        .collect();
    let dated = records.iter().filter(|r| dated(&r.fields, &ids)).count();
    dated * 2 < records.len()
}

/// The rows of a ruled table, one record each.
pub(super) fn read_table(
    page: &RestoredPage,
    dpi: f32,
    grid: &Grid,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let reader = CellReader { page, dpi };
    let mut reading = Reading::default();
    let mut lines: Vec<String> = Vec::new();
    let Header {
        row: header,
        texts: headers,
        words: header_words,
    } = read_header(&reader, grid, ctx, ocr)?;
    let ledger = type_of_table(&headers, ctx, &mut reading);
    let (columns, from_header) = map_header(&reader, grid, ledger, header, &headers, &header_words, ocr)?;
    reading.column_mapping = if from_header {
        ColumnMapping::Header
    } else {
        ColumnMapping::TemplateOrder
    };
    // No row reads as headings (the header covered, torn or cut away): the first row may
    // be a record, and is one when it holds a date as records do (headings never do).
    let record_first = ledger.own_headings && headers_are_a_record(&headers);
    let unheaded = record_first || ledger.heading_matches(&headers) < 2 && !ledger.own_headings;
    // Body rows with ink; an empty ruled row is no record.
    let first = if unheaded { header } else { header + 1 };
    let rows: Vec<usize> = (first..grid.rows.len())
        .filter(|&r| ink_fraction(&page.binary, inset(grid.row_box(r), 4)) >= 0.002)
        .collect();
    // The header's words lead the page's text, unless its row turns out a record.
    let mut header_words = Some(header_words);
    if rows.first() != Some(&header) {
        let words = header_words.take().unwrap_or_default();
        push_line(&mut lines, &words);
        reading.words.extend(words);
    }
    reading.empty_table = rows.iter().all(|&r| r == header);
    let kinds: Vec<Option<FieldKind>> = columns.iter().map(|id| ledger.kind_of(id)).collect();
    let splits: Vec<Option<&Split>> = columns.iter().map(|id| ledger.split_of(id)).collect();
    // A column holding a second value (an hour, a kinship word) is read as text.
    let read_as: Vec<Option<FieldKind>> = kinds
        .iter()
        .zip(&splits)
        .map(|(k, s)| if s.is_some() { k.map(|_| FieldKind::Text) } else { *k })
        .collect();
    let date_ids: Vec<&str> = columns
        .iter()
        .zip(&kinds)
        .filter(|(_, k)| **k == Some(FieldKind::Date))
        .map(|(id, _)| id.as_str())
        .collect();
    let cells = reader.read_cells(grid, &rows, &read_as, ctx.cells, &ctx.lexicons, ocr)?;
    for (&r, row_cells) in rows.iter().zip(cells) {
        let mut fields_map = BTreeMap::new();
        let mut row_words = Vec::new();
        let mut row_legible = Vec::new();
        for (((id, kind), split), cell) in columns.iter().zip(&kinds).zip(&splits).zip(row_cells) {
            if kind.is_some() {
                row_legible.push(cell.legible);
            }
            if let Some(kind) = *kind {
                cell_fields(&cell, id, kind, *split, &ctx.vocab, &mut fields_map);
            }
            row_words.extend(cell.words);
        }
        // A record has values in several cells; marks in one cell (a stain, the edge of a
        // tear, a stray stroke) do not make one.
        let filled = row_legible.iter().filter(|&&l| l).count();
        if let Some(words) = header_words.take().filter(|_| r == header) {
            if filled >= 2 && (record_first || dated(&fields_map, &date_ids)) {
                reading.notes.push(Reason::HeaderNotRead);
                reading.empty_table = false;
            } else {
                push_line(&mut lines, &words);
                reading.words.extend(words);
                continue;
            }
        }
        if filled < 2 {
            continue;
        }
        reading.records.push(RecordResult {
            row: reading.records.len() as u32 + 1,
            bbox: grid.row_box(r),
            fields: fields_map,
            accepted: None,
        });
        push_line(&mut lines, &row_words);
        reading.words.extend(row_words);
    }
    // A column's second field (the hour, the kinship word) follows it.
    let mut shown = Vec::with_capacity(columns.len());
    for (id, split) in columns.iter().zip(&splits) {
        shown.push(id.clone());
        shown.extend(split.map(|s| s.into.clone()));
    }
    reading.columns = shown;
    reading.text = lines.join("\n");
    Ok(reading)
}

/// Where a header's bands are when the grid's header row does not hold them apart: the
/// grid took the bands and the headings under them for one row (a rule under the bands
/// only, in the row's upper 60%), or took the rule under the bands for the table's top
/// (the band row left above it, under a rule within 15 mm). A rule here is a line of ink
/// across a quarter of the row's width at least.
fn band_box(binary: &image::GrayImage, [x, y, w, h]: crate::model::BBox, dpi: f32) -> Option<crate::model::BBox> {
    let x_end = (x + w).min(binary.width());
    let longest = |row: u32| {
        let (mut best, mut run) = (0u32, 0u32);
        for px in x..x_end {
            // A pixel of the rule, or one above or below it (a rule a little off level).
            let dark =
                (row.saturating_sub(1)..=row + 1).any(|r| r < binary.height() && binary.get_pixel(px, r).0[0] == 0);
            run = if dark { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    };
    let rule_in = |from: u32, to: u32| {
        (from..to.min(binary.height()))
            .map(|r| (r, longest(r)))
            .filter(|&(_, run)| run * 4 >= w)
            .max_by_key(|&(_, run)| run)
            .map(|(r, _)| r)
    };
    let margin = (h / 10).max(2);
    if let Some(r) = rule_in(y + margin, y + h * 6 / 10) {
        return Some([x, y, w, r - y]);
    }
    let reach = mm_px(15.0, dpi) as u32;
    let above = rule_in(y.saturating_sub(reach), y.saturating_sub(margin))?;
    (y - above > margin).then(|| [x, above, w, y - above])
}

/// The field a cell holds (and the second one its column holds after it: an hour, a
/// kinship word), checked, into `fields`.
fn cell_fields(
    cell: &crate::cells::CellRead,
    id: &str,
    kind: FieldKind,
    split: Option<&Split>,
    vocab: &crate::template::Vocabulary,
    fields: &mut BTreeMap<String, FieldResult>,
) {
    let (text, second) = match split {
        Some(s) => fields::split_off(s.how, &cell.text),
        None => (cell.text.clone(), None),
    };
    if let (Some(s), Some((read, value))) = (split, second) {
        let mut f = fields::make_field(FieldKind::Text, &read, cell.confidence, cell.bbox, vocab);
        f.value = value;
        fields.insert(s.into.clone(), f);
    }
    let mut f = fields::make_field(kind, &text, cell.confidence, cell.bbox, vocab);
    if let Some(free) = &cell.free {
        fields::note_free_reading(&mut f, free);
    }
    if cell.engine == CellEngine::LineModel {
        fields::flag_below(&mut f, LINE_MODEL_DOUBTFUL);
    } else if matches!(kind, FieldKind::Name | FieldKind::Place) {
        fields::flag_below(&mut f, TESSERACT_NAME_DOUBTFUL);
    }
    fields.insert(id.to_string(), f);
}

/// A table's header row: which row, its cells' texts and its words.
struct Header {
    row: usize,
    texts: Vec<String>,
    words: Vec<crate::model::WordBox>,
}

/// The header row: the first row, unless that one's texts are no headings and the next
/// one's are (a line above the table, the rim of a shadow, taken for its top rule).
fn read_header(reader: &CellReader, grid: &Grid, ctx: &PageContext, ocr: &mut Readers) -> Result<Header, OcrError> {
    let candidates: &[Template] = match &ctx.telling {
        Some(all) => all,
        None => std::slice::from_ref(&ctx.ledger),
    };
    let matches = |h: &[String]| candidates.iter().map(|t| t.heading_matches(h)).max().unwrap_or(0);
    let (texts, words) = reader.read_row(grid, 0, ocr.tesseract.as_mut())?;
    if grid.rows.len() > 2 && matches(&texts) < 2 {
        let (next, next_words) = reader.read_row(grid, 1, ocr.tesseract.as_mut())?;
        // Headings read as such (two at least): a record's values may read like one.
        if matches(&next) >= 2 && matches(&next) > matches(&texts) {
            return Ok(Header {
                row: 1,
                texts: next,
                words: next_words,
            });
        }
    }
    Ok(Header { row: 0, texts, words })
}

/// The book type a table is read as, noted in `reading`: given, or the one whose
/// headings `headers` read like; where none does, the table is read by its own headings.
fn type_of_table<'a>(headers: &[String], ctx: &'a PageContext, reading: &mut Reading) -> &'a Template {
    let Some(all) = &ctx.telling else {
        (reading.book_type, reading.type_from) = (ctx.ledger.book_type.clone(), ctx.type_from);
        return &ctx.ledger;
    };
    match crate::booktype::from_headings(headers, all) {
        Some(i) => {
            (reading.book_type, reading.type_from) = (all[i].book_type.clone(), TypeFrom::Headings);
            &all[i]
        }
        None => {
            (reading.book_type, reading.type_from) = (UNKNOWN.to_string(), TypeFrom::NotTold);
            all.iter().find(|t| t.book_type == UNKNOWN).unwrap_or(&ctx.ledger)
        }
    }
}

/// The field id of each column, and whether the header gave them (`false`: the
/// template's order). A table read by its own headings names its columns by them (by
/// number where the first row holds a full date: a record, its headings not read); a
/// band over each person's columns names them with their repeated sub-headings (the
/// band row, a row of the grid, or, its rule not taken for one, the part of the page
/// about the header row that [`band_box`] finds, read whole).
fn map_header(
    reader: &CellReader,
    grid: &Grid,
    ledger: &Template,
    header: usize,
    headers: &[String],
    header_words: &[crate::model::WordBox],
    ocr: &mut Readers,
) -> Result<(Vec<String>, bool), OcrError> {
    if ledger.own_headings {
        return Ok(if headers_are_a_record(headers) {
            (crate::template::own_columns(&vec![String::new(); headers.len()]), false)
        } else {
            (crate::template::own_columns(headers), true)
        });
    }
    if ledger.bands.is_empty() {
        return Ok(ledger.map_columns(headers));
    }
    let band_row = if header > 0 {
        Some(grid.row_box(header - 1))
    } else {
        band_box(&reader.page.binary, grid.row_box(header), reader.dpi)
    };
    let mut words = match band_row {
        Some(b) => reader.read_box(b, ocr.tesseract.as_mut())?,
        None => Vec::new(),
    };
    words.extend(header_words.iter().cloned());
    let spans: Vec<(u32, u32)> = grid.columns.iter().map(|c| (c.start, c.end)).collect();
    let bands = ledger.bands_of_columns(headers, &spans, &words);
    Ok(ledger.map_columns_banded(headers, &bands))
}

/// Whether texts read as a table's headings are a record's values: one of them a full
/// date (headings name dates, they hold none).
fn headers_are_a_record(headers: &[String]) -> bool {
    headers
        .iter()
        .any(|h| fields::parse_date(h).is_some_and(|d| d.day.is_some()))
}

/// Whether a row's fields hold a date read as one in a date column.
fn dated(fields: &BTreeMap<String, FieldResult>, date_ids: &[&str]) -> bool {
    date_ids.iter().any(|id| {
        fields
            .get(*id)
            .is_some_and(|f| !f.value.is_empty() && !f.flags.contains(&Flag::InvalidDate))
    })
}

/// The readings of two tables side by side as one, `left`'s records first.
pub(super) fn side_by_side(mut left: Reading, right: Reading) -> Reading {
    let first = left.records.len() as u32;
    left.records.extend(right.records.into_iter().map(|mut r| {
        r.row += first;
        r
    }));
    for c in right.columns {
        if !left.columns.contains(&c) {
            left.columns.push(c);
        }
    }
    left.words.extend(right.words);
    left.text = [left.text, right.text].join("\n");
    left.notes.extend(right.notes);
    left.empty_table &= right.empty_table;
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Vocabulary;

    #[test]
    fn a_register_whose_rows_hold_few_dates_is_told() {
        let ledger = Template::for_book_type("ks").unwrap();
        let date = ledger.columns.iter().find(|c| c.kind == FieldKind::Date).unwrap();
        let vocab = Vocabulary::builtin();
        let record = |text: &str| RecordResult {
            row: 1,
            bbox: [0, 0, 10, 10],
            fields: [(
                date.field.clone(),
                fields::make_field(FieldKind::Date, text, 0.9, [0, 0, 10, 10], &vocab),
            )]
            .into(),
            accepted: None,
        };
        let dated = [record("12/03/1990"), record("01/01/1991"), record("Lê Văn An")];
        assert!(!few_dates(&dated, &ledger));
        let undated = [record("12/03/1990"), record("Hoa"), record(""), record("Nam")];
        assert!(few_dates(&undated, &ledger));
        // A date that cannot be one (the 31st of February) is no date.
        assert!(few_dates(&[record("31/02/1990"), record("")], &ledger));
    }
}
