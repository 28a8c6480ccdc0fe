//! sohoa turns scanned pages of damaged civil-registry books into checked records and
//! archival PDF/A files.
//!
//! The pipeline, one module per stage (see `docs/ARCHITECTURE.md`):
//! [`ingest`] (find books, decode scans) → [`restore`] (deskew, flatten, binarize) →
//! [`layout`] (ruled table, rows, columns) → [`booktype`] (which book: title, headings) → [`ocr`] (Tesseract behind a trait) →
//! [`fields`] (normalize and check values) → [`eligibility`] (can the page be read?) →
//! [`pdf`], [`archive`] and [`export`] (outputs), [`verify`] (checks archival PDFs).
//! [`pipeline`] composes the stages for one page; [`batch`] is the driver that knows about
//! threads, progress and resumption, and [`store`] the output folder on disk. [`review`]
//! serves the processed books to officers. `synth` (behind the `synth` feature, on by
//! default) draws test pages with their truth; [`eval`] scores results against truth.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod archive;
pub mod batch;
pub mod booktype;
pub mod campaign;
pub mod cells;
pub mod checks;
pub mod dataset;
pub mod eligibility;
pub mod encode;
pub mod eval;
pub mod export;
pub mod fields;
pub mod form;
pub mod ingest;
pub mod layout;
pub mod model;
pub mod ocr;
pub mod pdf;
pub mod pipeline;
pub mod places;
pub mod raster;
pub mod resolution;
pub mod restore;
pub mod review;
pub mod store;
#[cfg(feature = "synth")]
pub mod synth;
pub mod template;
pub mod train;
pub mod verify;
