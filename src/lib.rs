//! sohoa turns scanned pages of damaged civil-registry books into checked records and
//! archival PDF/A files.
//!
//! The pipeline, one module per stage (see `docs/ARCHITECTURE.md`):
//! [`ingest`] (find books, decode scans) → [`restore`] (deskew, flatten, binarize) →
//! [`layout`] (ruled table, rows, columns) → [`ocr`] (Tesseract behind a trait) →
//! [`fields`] (normalize and check values) → [`eligibility`] (can the page be read?) →
//! [`pdf`], [`archive`] and [`export`] (outputs), [`verify`] (checks archival PDFs). [`pipeline`] composes the stages for one page;
//! [`batch`] is the driver that knows about files, threads, progress and resumption.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod archive;
pub mod batch;
pub mod eligibility;
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
pub mod restore;
pub mod review;
pub mod synth;
pub mod template;
pub mod verify;
