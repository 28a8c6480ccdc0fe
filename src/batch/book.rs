//! A book's outputs, rebuilt from its page results: the spreadsheet and CSV, the book
//! PDF, one PDF per record and their zip, and the manifest of them all.

use super::{BatchError, BatchOptions};
use crate::archive::{self, ImageMode};
use crate::export;
use crate::model::{PageResult, PageStatus};
use crate::pdf::{self, DocInfo, PdfPage};
use crate::store::{self, BookDir};
use crate::verify;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One book's outputs being written.
pub(super) struct BookOutputs<'a> {
    /// The book's folder.
    pub book: &'a BookDir,
    /// The book's name.
    pub name: &'a str,
    /// Its page results, in page order, the review applied.
    pub pages: &'a [PageResult],
    /// The run's settings.
    pub opts: &'a BatchOptions,
    /// The time written into the files.
    pub created: i64,
}

/// File in the book's folder holding the fingerprint of what its outputs were built from.
pub(super) const OUTPUTS_STAMP: &str = ".outputs.sha256";

impl BookOutputs<'_> {
    /// What the book's outputs are made of: its page results (the review applied), the
    /// size and time of each restored image, the options that shape the outputs and the
    /// version of sohoa, hashed. The files' creation date is left out: outputs built
    /// earlier from the same inputs stand.
    pub fn fingerprint(&self, columns: &[String]) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let o = self.opts;
        h.update(
            format!(
                "{}|{}|{:?}|{}|{}|{:?}|{}|{}|{}\n",
                env!("CARGO_PKG_VERSION"),
                o.book_type,
                o.pdf_image,
                o.jpeg_quality,
                o.record_pdfs,
                o.book_year,
                o.book_number,
                o.pdfa_u,
                columns.join(",")
            )
            .as_bytes(),
        );
        for p in self.pages {
            h.update(serde_json::to_vec(p).expect("a page result serializes"));
            if let Some(meta) = p
                .image
                .as_ref()
                .and_then(|i| std::fs::metadata(self.book.path().join(i)).ok())
            {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                h.update(format!("{}|{modified}\n", meta.len()).as_bytes());
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// True when the outputs on disk were built from `fingerprint` and every file their
    /// manifest lists is there.
    pub fn current(&self, fingerprint: &str) -> bool {
        let stamp = std::fs::read_to_string(self.book.path().join(OUTPUTS_STAMP)).unwrap_or_default();
        let listed = verify::read_manifest(&self.book.path().join(verify::MANIFEST));
        stamp.trim() == fingerprint && !listed.is_empty() && listed.keys().all(|f| f.is_file())
    }

    /// Writes every output; `columns` are the export columns, `fingerprint` what the
    /// outputs are made of (see [`BookOutputs::fingerprint`]), stamped last.
    pub fn write(&self, columns: &[String], fingerprint: &str) -> Result<(), BatchError> {
        let mut listed = self.write_exports(columns)?;
        let pdf_pages = self.pdf_pages()?;
        listed.extend(self.write_book_pdf(&pdf_pages)?);
        listed.extend(self.write_record_pdfs(&pdf_pages)?);
        let manifest = verify::manifest_text(self.book.path(), &listed).map_err(|cause| {
            BatchError::Store(store::StoreError::Read {
                path: self.book.path().to_path_buf(),
                cause,
            })
        })?;
        self.book.write(verify::MANIFEST, manifest.as_bytes())?;
        // Last: a run killed before this line rebuilds the book next time.
        self.book.write(OUTPUTS_STAMP, fingerprint.as_bytes())?;
        Ok(())
    }

    /// `records.xlsx` and `records.csv`.
    fn write_exports(&self, columns: &[String]) -> Result<Vec<PathBuf>, BatchError> {
        let rows = export::rows_for_book(self.pages, columns, &self.opts.book_type);
        let xlsx = export::write_xlsx(&rows, columns, self.created).map_err(|cause| BatchError::Export {
            book: self.name.to_string(),
            cause,
        })?;
        self.book.write("records.xlsx", &xlsx)?;
        self.book.write("records.csv", &export::write_csv(&rows, columns))?;
        Ok(vec!["records.xlsx".into(), "records.csv".into()])
    }

    /// The PDF pages in the image mode asked for, each with the index of its page result
    /// (pages that could not be decoded have none).
    fn pdf_pages(&self) -> Result<Vec<(PdfPage, usize)>, BatchError> {
        let mut out = Vec::new();
        for (i, p) in self.pages.iter().enumerate() {
            let Some(img) = &p.image else { continue };
            let restored = self.book.read(img)?;
            let source = if self.opts.pdf_image == ImageMode::Original {
                Some(store::read(&self.opts.input.join(&p.source))?)
            } else {
                None
            };
            let page = archive::pdf_page(p, self.opts.pdf_image, &restored, source.as_deref()).map_err(|cause| {
                BatchError::Archive {
                    book: self.name.to_string(),
                    cause,
                }
            })?;
            out.push((page, i));
        }
        Ok(out)
    }

    /// `<book>.pdf`: every decoded page. Returns the file written, if any.
    fn write_book_pdf(&self, pdf_pages: &[(PdfPage, usize)]) -> Result<Option<PathBuf>, BatchError> {
        let file = format!("{}.pdf", self.name);
        let path = self.book.join(&file);
        if pdf_pages.is_empty() {
            // No page decoded: a stale PDF from an earlier run must not stay behind.
            let _ = std::fs::remove_file(&path);
            return Ok(None);
        }
        let info = DocInfo {
            title: format!("{}: pages 1–{}", self.name, self.pages.len()),
            description: format!("Book {}, {} page images with OCR text", self.name, pdf_pages.len()),
            sources: pdf_pages
                .iter()
                .map(|&(_, i)| format!("{} sha256:{}", self.pages[i].source, self.pages[i].sha256))
                .collect(),
            created_unix: self.created,
            unicode_level: self.opts.pdfa_u,
        };
        let only_pages: Vec<&PdfPage> = pdf_pages.iter().map(|(p, _)| p).collect();
        write_checked_pdf(self.name, &path, &only_pages, &info)?;
        Ok(Some(file.into()))
    }

    /// One PDF per record of an `ok` page (the page that holds it), in `records/`, and their
    /// zip; files of an earlier run that this run did not write are removed. Returns the
    /// files written.
    fn write_record_pdfs(&self, pdf_pages: &[(PdfPage, usize)]) -> Result<Vec<PathBuf>, BatchError> {
        let records_dir = self.book.join("records");
        // Names first (in order: a repeated name takes the next free suffix), then the
        // files, written and checked in parallel.
        let mut planned: Vec<(String, &PdfPage, DocInfo)> = Vec::new();
        if self.opts.record_pdfs {
            let year = self
                .opts
                .book_year
                .clone()
                .or_else(|| archive::book_year(self.pages).map(|y| y.to_string()))
                .unwrap_or_else(|| "0000".to_string());
            let mut used = HashSet::new();
            for (page, i) in pdf_pages {
                let p = &self.pages[*i];
                if p.final_status() != PageStatus::Ok {
                    continue;
                }
                for rec in &p.records {
                    let base = archive::record_file_name(&self.opts.book_type, &year, &self.opts.book_number, rec);
                    let mut file = base.clone();
                    let mut n = 2;
                    while !used.insert(file.clone()) {
                        file = base.replace(".pdf", &format!("-{n}.pdf"));
                        n += 1;
                    }
                    let info = DocInfo {
                        title: format!("{}: page {}, row {}", self.name, p.page, rec.row),
                        description: format!("Record on page {} row {} of book {}", p.page, rec.row, self.name),
                        sources: vec![format!("{} sha256:{}", p.source, p.sha256)],
                        created_unix: self.created,
                        unicode_level: self.opts.pdfa_u,
                    };
                    planned.push((file, page, info));
                }
            }
        }
        // Each record's PDF is written and dropped: only names are kept (a book's records
        // may be thousands of copies of its pages).
        let written: Vec<String> = planned
            .into_par_iter()
            .map(|(file, page, info)| {
                write_checked_pdf(self.name, &records_dir.join(&file), &[page], &info)?;
                Ok(file)
            })
            .collect::<Result<_, BatchError>>()?;
        // Record files of an earlier run that this run did not write (a record that moved).
        if let Ok(entries) = std::fs::read_dir(&records_dir) {
            let keep: HashSet<&str> = written.iter().map(String::as_str).collect();
            for e in entries.flatten() {
                if !keep.contains(e.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let mut listed: Vec<PathBuf> = written.iter().map(|n| Path::new("records").join(n)).collect();
        let zip_path = self.book.join("records.zip");
        if written.is_empty() {
            let _ = std::fs::remove_file(&zip_path);
        } else {
            let files: Vec<(String, PathBuf)> = written.iter().map(|n| (n.clone(), records_dir.join(n))).collect();
            store::write_atomic_with(&zip_path, |f| archive::zip_files(f, &files).map(|_| ()))?;
            listed.push("records.zip".into());
        }
        Ok(listed)
    }
}

/// Writes a PDF/A file, checking the bytes (structure, images, PDF/A) before putting it
/// in place.
fn write_checked_pdf(book: &str, path: &Path, pages: &[&PdfPage], info: &DocInfo) -> Result<(), BatchError> {
    let bytes = pdf::write_pdfa(pages, info).map_err(|cause| BatchError::Pdf {
        book: book.to_string(),
        cause,
    })?;
    let (_, problems) = verify::check_pdf_bytes(&bytes);
    if !problems.is_empty() {
        return Err(BatchError::PdfCheck {
            file: path.display().to_string(),
            problems: problems.join("; "),
        });
    }
    store::write_atomic(path, &bytes)?;
    Ok(())
}
