//! Plain data passed between the pipeline stages and written to disk.
//!
//! Everything here is `serde`-serializable so that any intermediate result can be dumped,
//! compared in a golden test, or reloaded to resume a batch. The on-disk form of
//! [`PageResult`] is documented field by field in `docs/OUTPUT.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An axis-aligned box in page pixels: `[x, y, width, height]`.
pub type BBox = [u32; 4];

/// The verdict on one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageStatus {
    /// The page was read; its records are pre-filled.
    Ok,
    /// The page decoded but cannot be read well enough to digitize (see `reasons`).
    NotEligible,
    /// The file could not be decoded at all (see `reasons`).
    Error,
}

impl PageStatus {
    /// The name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PageStatus::Ok => "ok",
            PageStatus::NotEligible => "not_eligible",
            PageStatus::Error => "error",
        }
    }
}

/// One pre-filled field of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldResult {
    /// The text as OCR read it (NFC).
    pub text: String,
    /// The value normalized for export (`dd.mm.yyyy` dates, sex as code, …).
    pub value: String,
    /// 0..1: OCR confidence lowered by failed checks.
    pub confidence: f32,
    /// Where the cell lies on the restored page.
    pub bbox: BBox,
    /// Why the field deserves a look (`low_confidence`, `invalid_date`, …).
    pub flags: Vec<String>,
    /// An officer's correction (the OCR's `text` and `value` stay as they were read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<FieldReview>,
}

impl FieldResult {
    /// The value to export: the officer's correction when there is one, else the OCR's.
    pub fn final_value(&self) -> &str {
        self.review.as_ref().map_or(&self.value, |r| &r.value)
    }

    /// True when an officer should look at the field: a flag other than `empty`, and no
    /// correction made yet.
    pub fn doubtful(&self) -> bool {
        self.review.is_none() && self.flags.iter().any(|f| f != "empty")
    }
}

/// Who changed something during review, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The reviewer's name.
    pub by: String,
    /// When, RFC 3339 UTC (`2026-11-22T10:31:02Z`).
    pub at: String,
}

/// An officer's correction of a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldReview {
    /// The corrected value (NFC).
    pub value: String,
    /// Who made it, and when.
    #[serde(flatten)]
    pub signed: Signature,
}

/// An officer's verdict on a page, overriding the pipeline's `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageReview {
    /// `ok` or `not_eligible`.
    pub status: PageStatus,
    /// Why (required for `not_eligible`).
    pub reason: String,
    /// Who decided, and when.
    #[serde(flatten)]
    pub signed: Signature,
}

/// One record (a table row of a ledger book).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordResult {
    /// 1-based row number within the page's table body.
    pub row: u32,
    /// The row's box on the restored page.
    pub bbox: BBox,
    /// Field id (Ministry template id) → field.
    pub fields: BTreeMap<String, FieldResult>,
    /// Set when an officer confirmed the record in review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Signature>,
}

/// Measures of how readable the restored page is; eligibility is judged on them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageQuality {
    /// Fraction of the page area that is background around the page or torn away (0..1).
    pub missing_fraction: f32,
    /// Fraction of the page area that is ink after binarization (0..1).
    pub ink_fraction: f32,
    /// How far ink lies below the flattened paper, median grey levels (0..255); faded
    /// pages score low.
    pub contrast: f32,
    /// Mean OCR word confidence over the page (0..1), once read.
    pub ocr_confidence: f32,
}

/// A word the OCR found, in restored-page pixels; the PDF text layer is built from these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WordBox {
    /// The word (NFC).
    pub text: String,
    /// Its box on the restored page.
    pub bbox: BBox,
    /// OCR confidence 0..1.
    pub confidence: f32,
}

fn one() -> u32 {
    1
}

/// The result for one page: written as `pages/<name>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageResult {
    /// Path of the source file relative to the input folder.
    pub source: String,
    /// Frame index within a multi-page TIFF (0 for single images).
    #[serde(default)]
    pub frame: u32,
    /// Number of frames in the source file.
    #[serde(default = "one")]
    pub frames: u32,
    /// The book (folder) name.
    pub book: String,
    /// 1-based position of the page within the book.
    pub page: u32,
    /// Stem of this page's output files.
    pub name: String,
    /// SHA-256 of the source file, lowercase hex.
    pub sha256: String,
    /// Verdict.
    pub status: PageStatus,
    /// Human-readable reasons for `not_eligible` or `error`, and notes for `ok`.
    pub reasons: Vec<String>,
    /// Angle of the content as found, degrees, counter-clockwise positive.
    pub skew_deg: f32,
    /// Resolution used for the page (from the file, or assumed).
    pub dpi: f32,
    /// Size of the restored page image in pixels: `[width, height]`.
    pub size: [u32; 2],
    /// Size of the source frame in pixels.
    #[serde(default)]
    pub source_size: [u32; 2],
    /// Resolution of the source frame (from the file, or assumed).
    #[serde(default)]
    pub source_dpi: f32,
    /// All text read on the page, in reading order (rows top to bottom, cells left to right).
    pub text: String,
    /// Readability measures.
    pub quality: PageQuality,
    /// The table's box on the restored page, if a ruled table was found.
    pub table: Option<BBox>,
    /// Column field ids, left to right, as mapped from the header (or the template order).
    pub columns: Vec<String>,
    /// How the columns were mapped: `header` or `template_order`.
    pub column_mapping: String,
    /// The records found on the page.
    pub records: Vec<RecordResult>,
    /// Every word read, with its box (drives the PDF text layer).
    pub words: Vec<WordBox>,
    /// The restored page image, relative to the book folder (absent for `error` pages).
    pub image: Option<String>,
    /// An officer's verdict on the page, when one was given in review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<PageReview>,
}

impl PageResult {
    /// The verdict that counts: the officer's when given, else the pipeline's.
    pub fn final_status(&self) -> PageStatus {
        match (&self.review, self.status) {
            (_, PageStatus::Error) => PageStatus::Error,
            (Some(r), _) => r.status,
            (None, s) => s,
        }
    }
}
