//! Integration tests, one binary (as ripgrep does): the real `sohoa` binary, real
//! Tesseract, real files, an independent PDF/A validator, poppler's text extraction, and
//! headless Chromium for the review screen. `scripts/test --quick` runs the fast ones.

mod booktypes;
mod campaign;
mod checks;
mod common;
mod formats;
mod line;
mod pdf;
mod process;
mod restore;
mod review;
mod safety;
mod train;
