//! A register's page: the header row read to map the columns to fields, then a record
//! per body row with ink.

use super::{push_line, PageContext, Reading, LINE_MODEL_DOUBTFUL, TESSERACT_NAME_DOUBTFUL};
use crate::cells::{CellEngine, CellReader};
use crate::fields;
use crate::layout::Grid;
use crate::model::{ColumnMapping, FieldResult, Flag, Reason, RecordResult};
use crate::ocr::{OcrError, Readers};
use crate::raster::{ink_fraction, inset};
use crate::restore::RestoredPage;
use crate::template::{FieldKind, Template};
use std::collections::BTreeMap;

/// Whether fewer than half of a register page's records hold a date read as one.
pub(super) fn few_dates(records: &[RecordResult], ledger: &Template) -> bool {
    let dated = records.iter().filter(|r| dated(&r.fields, ledger)).count();
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
    // Header row: map the columns to fields. It is the first row, unless that one's
    // texts are no headings and the next one's are (a line above the table, the rim of a
    // shadow, taken for its top rule).
    let mut header = 0;
    let (mut headers, mut header_words) = reader.read_row(grid, 0, ocr.tesseract.as_mut())?;
    if grid.rows.len() > 2 && ctx.ledger.heading_matches(&headers) < 2 {
        let (next, next_words) = reader.read_row(grid, 1, ocr.tesseract.as_mut())?;
        if ctx.ledger.heading_matches(&next) > ctx.ledger.heading_matches(&headers) {
            (header, headers, header_words) = (1, next, next_words);
        }
    }
    let (columns, from_header) = ctx.ledger.map_columns(&headers);
    reading.column_mapping = if from_header {
        ColumnMapping::Header
    } else {
        ColumnMapping::TemplateOrder
    };
    // No row reads as headings (the header covered, torn or cut away): the first row may
    // be a record, and is one when it holds a date as records do (headings never do).
    let unheaded = ctx.ledger.heading_matches(&headers) < 2;
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
    let kinds: Vec<Option<FieldKind>> = columns.iter().map(|id| ctx.ledger.kind_of(id)).collect();
    let cells = reader.read_cells(grid, &rows, &kinds, ctx.cells, &ctx.lexicons, ocr)?;
    for (&r, row_cells) in rows.iter().zip(cells) {
        let mut fields_map = BTreeMap::new();
        let mut row_words = Vec::new();
        let mut row_legible = Vec::new();
        for ((id, kind), cell) in columns.iter().zip(&kinds).zip(row_cells) {
            row_words.extend(cell.words);
            if kind.is_some() {
                row_legible.push(cell.legible);
            }
            if let Some(kind) = *kind {
                let mut f = fields::make_field(kind, &cell.text, cell.confidence, cell.bbox, &ctx.vocab);
                if let Some(free) = &cell.free {
                    fields::note_free_reading(&mut f, free);
                }
                if cell.engine == CellEngine::LineModel {
                    fields::flag_below(&mut f, LINE_MODEL_DOUBTFUL);
                } else if matches!(kind, FieldKind::Name | FieldKind::Place) {
                    fields::flag_below(&mut f, TESSERACT_NAME_DOUBTFUL);
                }
                fields_map.insert(id.clone(), f);
            }
        }
        // A record has values in several cells; marks in one cell (a stain, the edge of a
        // tear, a stray stroke) do not make one.
        let filled = row_legible.iter().filter(|&&l| l).count();
        if let Some(words) = header_words.take().filter(|_| r == header) {
            if filled >= 2 && dated(&fields_map, &ctx.ledger) {
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
    reading.columns = columns;
    reading.text = lines.join("\n");
    Ok(reading)
}

/// Whether a row's fields hold a date read as one in a date column.
fn dated(fields: &BTreeMap<String, FieldResult>, ledger: &Template) -> bool {
    ledger.columns.iter().filter(|c| c.kind == FieldKind::Date).any(|c| {
        fields
            .get(&c.field)
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
