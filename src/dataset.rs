//! Training lines from review (`sohoa dataset`): every field an officer corrected, or
//! confirmed with its record, becomes a text-line image and its text — the training set
//! for a line model fitted to a province's own books. Never a reading nobody checked.
//!
//! A field becomes a line when its value is written as it is exported (names, places,
//! ethnic groups, nationalities, ID numbers, notes): dates, sex and registration numbers
//! are exported normalized (`04.02.1983`, `2`, `05/1983`), not as the hand wrote them,
//! and a cell whose writing runs over several lines cannot be cut into lines with their
//! texts; both are counted and left out.
//!
//! Output: `DIR/lines/<book>-<page>-r<row>-<field>.png` (the line cut from the restored
//! page as the line model sees it when it reads the cell), `DIR/labels.tsv` (`lines/<file>.png<TAB>text`, the format
//! `examples/hand_lines.rs` reads) and `DIR/meta.tsv` (where each line comes from).

use crate::model::{PageResult, PageStatus};
use crate::store::{self, StoreError};
use crate::template::{book_fields, FieldKind};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// Why the data set could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A file could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The book type of the output folder is unknown.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// A restored page image does not decode.
    #[error("{}: {message}", path.display())]
    Image {
        /// The image.
        path: std::path::PathBuf,
        /// The decoder's message.
        message: String,
    },
}

/// What went into the data set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DatasetSummary {
    /// Lines written.
    pub lines: usize,
    /// Of those, fields an officer corrected.
    pub corrected: usize,
    /// Of those, fields confirmed with their record.
    pub confirmed: usize,
    /// Reviewed fields left out: exported normalized, not as written.
    pub normalized_kinds: usize,
    /// Reviewed fields left out: written over several lines (or none found).
    pub not_one_line: usize,
}

/// Kinds whose exported value is the text as written.
fn written_as_exported(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::Name
            | FieldKind::Place
            | FieldKind::Ethnicity
            | FieldKind::Nationality
            | FieldKind::IdNumber
            | FieldKind::Text
    )
}

/// Writes the data set of the reviewed books under `out` (an output folder of `sohoa
/// process`) into `dir`.
pub fn write_dataset(out: &Path, dir: &Path, book_type: &str) -> Result<DatasetSummary, DatasetError> {
    let kinds: HashMap<String, FieldKind> = book_fields(book_type)?.into_iter().map(|f| (f.field, f.kind)).collect();
    let mut summary = DatasetSummary::default();
    let mut labels = String::new();
    let mut meta = String::from("file\tkind\tsource\tby\tbook\tpage\trow\tfield\n");
    for book in crate::review::read_books(out)? {
        for page in &book.pages {
            let reviewed = reviewed_fields(page, &kinds, &mut summary);
            if reviewed.is_empty() {
                continue;
            }
            let Some(rel) = &page.image else { continue };
            let path = book.dir.join(rel);
            let gray = image::load_from_memory(&store::read(&path)?)
                .map_err(|e| DatasetError::Image {
                    path: path.clone(),
                    message: e.to_string(),
                })?
                .into_luma8();
            let restored = crate::restore::RestoredPage {
                binary: crate::restore::threshold_restored(&gray),
                gray,
                skew_deg: 0.0,
                bend_px: 0.0,
                quality: Default::default(),
            };
            for r in reviewed {
                let lines = crate::cells::cell_lines(&restored, page.dpi, r.bbox);
                let [line] = lines.as_slice() else {
                    summary.not_one_line += 1;
                    continue;
                };
                let file =
                    crate::ingest::sanitize_name(&format!("{}-{}-r{}-{}.png", book.name, page.name, r.row, r.field));
                store::write_atomic(&dir.join("lines").join(&file), &crate::encode::png(&line.crop, None))?;
                labels.push_str(&format!("lines/{file}\t{}\n", tsv_safe(&r.text)));
                meta.push_str(&format!(
                    "lines/{file}\t{:?}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    r.kind,
                    r.source,
                    tsv_safe(&r.by),
                    tsv_safe(&book.name),
                    page.name,
                    r.row,
                    r.field
                ));
                summary.lines += 1;
                match r.source {
                    "corrected" => summary.corrected += 1,
                    _ => summary.confirmed += 1,
                }
            }
        }
    }
    store::write_atomic(&dir.join("labels.tsv"), labels.as_bytes())?;
    store::write_atomic(&dir.join("meta.tsv"), meta.as_bytes())?;
    Ok(summary)
}

/// A reviewed field of a page.
struct Reviewed {
    row: u32,
    field: String,
    kind: FieldKind,
    bbox: crate::model::BBox,
    text: String,
    source: &'static str,
    by: String,
}

/// The fields of an eligible page an officer corrected or confirmed, of kinds exported as
/// written; the others reviewed are counted.
fn reviewed_fields(
    page: &PageResult,
    kinds: &HashMap<String, FieldKind>,
    summary: &mut DatasetSummary,
) -> Vec<Reviewed> {
    let mut out = Vec::new();
    if page.final_status() != PageStatus::Ok {
        return out;
    }
    for rec in &page.records {
        for (id, f) in &rec.fields {
            let (source, by) = match (&f.review, &rec.accepted) {
                (Some(r), _) => ("corrected", r.signed.by.clone()),
                (None, Some(a)) => ("confirmed", a.by.clone()),
                (None, None) => continue,
            };
            let value = f.final_value().trim();
            if value.is_empty() || f.bbox[2] == 0 {
                continue;
            }
            let Some(&kind) = kinds.get(id) else { continue };
            if !written_as_exported(kind) {
                summary.normalized_kinds += 1;
                continue;
            }
            out.push(Reviewed {
                row: rec.row,
                field: id.clone(),
                kind,
                bbox: f.bbox,
                text: value.to_string(),
                source,
                by,
            });
        }
    }
    out
}

/// Tabs and line breaks would break a TSV line.
fn tsv_safe(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}
