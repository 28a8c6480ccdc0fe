//! Stage 7: the book's records in the Ministry's import layout — `records.xlsx` (sheet
//! "DL Import": STT + the template's columns, all cells text) and the same rows as
//! `records.csv` (UTF-8 with a byte-order mark so that Excel opens it as UTF-8).

use crate::model::{PageResult, PageStatus, RecordResult, Signature};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

/// One exported row: the record's values by export column, plus where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRow {
    /// Values in export-column order.
    pub values: Vec<String>,
    /// Source page name.
    pub page: String,
    /// Row number on the page.
    pub row: u32,
    /// Field ids that deserve a look.
    pub doubtful: Vec<String>,
    /// Readings kept out of the Ministry's columns because they could not be made
    /// valid (a date, a code, a number), as `field: text read`.
    pub withheld: Vec<String>,
    /// Who confirmed the row in review, and when (`None`: not confirmed yet).
    pub confirmed: Option<Signature>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The spreadsheet writer failed.
    #[error("cannot write the spreadsheet: {0}")]
    Xlsx(XlsxError),
}

impl From<XlsxError> for ExportError {
    fn from(e: XlsxError) -> Self {
        ExportError::Xlsx(e)
    }
}

/// Builds the export rows of a book from its page results, in page and row order: the
/// records of pages whose final status is `ok`, with the reviewed values where an officer
/// corrected them.
pub fn rows_for_book(pages: &[PageResult], columns: &[String], book_type: &str) -> Vec<ExportRow> {
    let mut rows = Vec::new();
    for page in pages.iter().filter(|p| p.final_status() == PageStatus::Ok) {
        for rec in &page.records {
            let values = columns
                .iter()
                .map(|c| match rec.fields.get(c) {
                    Some(f) => f.final_value().to_string(),
                    None => default_value(c, book_type, page, rec),
                })
                .collect();
            let doubtful = rec
                .fields
                .iter()
                .filter(|(_, f)| f.doubtful())
                .map(|(k, _)| k.clone())
                .collect();
            let withheld = rec
                .fields
                .iter()
                .filter(|(_, f)| f.review.is_none() && f.value.is_empty() && !f.text.is_empty())
                .map(|(k, f)| format!("{k}: {}", f.text))
                .collect();
            rows.push(ExportRow {
                values,
                page: page.name.clone(),
                row: rec.row,
                doubtful,
                withheld,
                confirmed: rec.accepted.clone(),
            });
        }
    }
    rows
}

/// Values known without reading a cell: the page number; the registration type a
/// record's note names when no box gave it ("Quá hạn": late, 4; "Đăng ký lại": again,
/// 2), else 6, unknown.
fn default_value(column: &str, book_type: &str, page: &PageResult, rec: &RecordResult) -> String {
    match column {
        "trangSo" => page.page.to_string(),
        "loaiDangKy" if book_type.eq_ignore_ascii_case("ks") => {
            let note = rec.fields.get("ghiChu").map_or("", |f| f.final_value());
            registration_type_of_note(note).to_string()
        }
        _ => String::new(),
    }
}

/// The KS registration type a note names: `4` late, `2` registered again, else `6`.
fn registration_type_of_note(note: &str) -> &'static str {
    let note = crate::template::fold(note);
    if note.contains("qua han") {
        "4"
    } else if note.contains("dang ky lai") {
        "2"
    } else {
        "6"
    }
}

/// Writes the workbook: "DL Import" in the Ministry's layout, and "Kiểm tra" listing
/// each row's source page, doubtful fields and review state (confirmed by whom and when).
/// `created` (Unix seconds) is written as the workbook's creation time, so that the same
/// records give the same file. Both sheets are written row by row to temporary files
/// (rust_xlsxwriter's low-memory mode): a sheet's cells are not held in memory; the
/// texts go into the shared string table, as Excel writes them.
pub fn write_xlsx(rows: &[ExportRow], columns: &[String], created: i64) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let props = DocProperties::new()
        .set_creation_datetime(&ExcelDateTime::from_timestamp(created)?)
        .set_author(crate::pdf::producer());
    wb.set_properties(&props);
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    {
        let ws = wb.add_worksheet_with_low_memory().set_name("DL Import")?;
        ws.write_string_with_format(0, 0, "STT", &bold)?;
        for (c, name) in columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16 + 1, name, &bold)?;
            ws.set_column_format(c as u16 + 1, &text)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_number(r, 0, r as f64)?;
            for (c, v) in row.values.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string_with_format(r, c as u16 + 1, v, &text)?;
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    {
        let ws = wb.add_worksheet_with_low_memory().set_name("Kiểm tra")?;
        for (c, h) in [
            "STT",
            "trang",
            "hàng",
            "cần kiểm tra",
            "đã duyệt",
            "người duyệt",
            "thời điểm",
            "không xuất (giá trị đọc được)",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_number(r, 0, r as f64)?;
            ws.write_string(r, 1, &row.page)?;
            ws.write_number(r, 2, row.row as f64)?;
            ws.write_string(r, 3, row.doubtful.join(", "))?;
            match &row.confirmed {
                Some(s) => {
                    ws.write_string(r, 4, "x")?;
                    ws.write_string(r, 5, &s.by)?;
                    ws.write_string(r, 6, &s.at)?;
                }
                None => {
                    ws.write_string(r, 4, "")?;
                }
            }
            if !row.withheld.is_empty() {
                ws.write_string(r, 7, row.withheld.join("; "))?;
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

/// The same rows as CSV: header `STT,<columns>`, UTF-8 with BOM, RFC 4180 quoting.
pub fn write_csv(rows: &[ExportRow], columns: &[String]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let header: Vec<String> = std::iter::once("STT".to_string())
        .chain(columns.iter().cloned())
        .collect();
    push_csv_line(&mut out, &header);
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = std::iter::once((i + 1).to_string())
            .chain(row.values.iter().map(|v| neutralised(v)))
            .collect();
        push_csv_line(&mut out, &line);
    }
    out.into_bytes()
}

/// A value a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return) with a `'` put before it, as OWASP's guidance on CSV
/// injection has it: the cell then shows the text as written.
pub(crate) fn neutralised(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

pub(crate) fn push_csv_line(out: &mut String, cells: &[String]) {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect();
    out.push_str(&quoted.join(","));
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CSV of one row holding `values` under `columns`.
    fn csv_of(columns: &[&str], values: &[&str]) -> String {
        let cols: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let rows = vec![ExportRow {
            values: values.iter().map(|v| v.to_string()).collect(),
            page: "p1".into(),
            row: 1,
            doubtful: vec![],
            withheld: vec![],
            confirmed: None,
        }];
        String::from_utf8(write_csv(&rows, &cols)).unwrap()
    }

    #[test]
    fn a_note_naming_the_registration_type_gives_its_code() {
        assert_eq!(registration_type_of_note("Quá hạn"), "4");
        assert_eq!(registration_type_of_note("Đăng ký lại, QĐ 12"), "2");
        assert_eq!(registration_type_of_note("Con thứ hai"), "6");
        assert_eq!(registration_type_of_note(""), "6");
    }

    #[test]
    fn csv_cells_that_read_as_formulas_are_neutralised() {
        let csv = csv_of(&["nksHoTen", "ghiChu"], &["=1+1", "@SUM(A1)"]);
        assert_eq!(csv.lines().nth(1).unwrap(), "1,'=1+1,'@SUM(A1)");
    }

    #[test]
    fn csv_quotes_commas_and_keeps_diacritics() {
        let csv = csv_of(&["so", "nksNoiSinh"], &["05/1983", "Xã Yên Sở, huyện Hoài Đức"]);
        assert_eq!(
            csv,
            "\u{feff}STT,so,nksNoiSinh\r\n1,05/1983,\"Xã Yên Sở, huyện Hoài Đức\"\r\n"
        );
    }
}
