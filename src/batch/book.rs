//! A book's outputs, rebuilt from its page results: the spreadsheet and CSV, the book
//! PDF, one PDF per record and their zip, and the manifest of them all. The PDFs are made
//! page by page: a book of any length takes the memory of a few pages.

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
    /// The book's type (its export, its record PDFs' names).
    pub book_type: &'a str,
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
                self.book_type,
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
        listed.extend(self.write_pdfs()?);
        // The files hashed as they stand: an export from the review screen waits.
        let _lock = self.book.lock_pages()?;
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
        let rows = export::rows_for_book(self.pages, columns, self.book_type);
        let xlsx = export::write_xlsx(&rows, columns, self.created).map_err(|cause| BatchError::Export {
            book: self.name.to_string(),
            cause,
        })?;
        self.book.write("records.xlsx", &xlsx)?;
        self.book.write("records.csv", &export::write_csv(&rows, columns))?;
        Ok(vec!["records.xlsx".into(), "records.csv".into()])
    }

    /// The PDF page of page result `i`, in the image mode asked for.
    fn pdf_page(&self, i: usize) -> Result<PdfPage, BatchError> {
        let p = &self.pages[i];
        let restored = self.book.read(p.image.as_deref().unwrap_or_default())?;
        let source = if self.opts.pdf_image == ImageMode::Original {
            Some(store::read(&self.opts.input.join(&p.source))?)
        } else {
            None
        };
        archive::pdf_page(p, self.opts.pdf_image, &restored, source.as_deref()).map_err(|cause| BatchError::Archive {
            book: self.name.to_string(),
            cause,
        })
    }

    /// The book PDF (`<book>.pdf`, every decoded page) and the record PDFs (`records/`,
    /// one per record of an `ok` page, and their zip), made in one pass over the pages: a
    /// few pages at a time are prepared in parallel, each page is checked (as a document
    /// of its own: structure, images, PDF/A), streamed into the book file and written into
    /// its records' files, then dropped — memory does not grow with the book. The book file
    /// is put in place once its frame checks out ([`verify::check_pdf_layout`]). Files of
    /// an earlier run that this run did not write are removed. Returns the files written.
    fn write_pdfs(&self) -> Result<Vec<PathBuf>, BatchError> {
        let decoded: Vec<usize> = (0..self.pages.len())
            .filter(|&i| self.pages[i].image.is_some())
            .collect();
        let records = self.record_plan();
        let file = format!("{}.pdf", self.name);
        let path = self.book.join(&file);
        let records_dir = self.book.join("records");
        let mut listed = Vec::new();
        if decoded.is_empty() {
            // No page decoded: a stale PDF from an earlier run must not stay behind.
            let _ = std::fs::remove_file(&path);
        } else {
            let info = DocInfo {
                title: format!("{}: pages 1–{}", self.name, self.pages.len()),
                description: format!("Book {}, {} page images with OCR text", self.name, decoded.len()),
                sources: decoded
                    .iter()
                    .map(|&i| format!("{} sha256:{}", self.pages[i].source, self.pages[i].sha256))
                    .collect(),
                created_unix: self.created,
                unicode_level: self.opts.pdfa_u,
            };
            let mut failure = None;
            let written = store::write_atomic_with(&path, |f| {
                let result = self.stream_pages(f, &info, &decoded, &records, &records_dir, &path);
                result.map_err(|e| {
                    failure = Some(e);
                    std::io::Error::other("the book PDF was not written")
                })
            });
            if let Some(e) = failure {
                return Err(e);
            }
            written?;
            listed.push(PathBuf::from(file));
        }
        let written: Vec<&str> = records.iter().flatten().map(|(n, _)| n.as_str()).collect();
        // Record files of an earlier run that this run did not write (a record that moved).
        if let Ok(entries) = std::fs::read_dir(&records_dir) {
            let keep: HashSet<&str> = written.iter().copied().collect();
            for e in entries.flatten() {
                if !keep.contains(e.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        listed.extend(written.iter().map(|n| Path::new("records").join(n)));
        let zip_path = self.book.join("records.zip");
        if written.is_empty() {
            let _ = std::fs::remove_file(&zip_path);
        } else {
            let files: Vec<(String, PathBuf)> = written.iter().map(|n| (n.to_string(), records_dir.join(n))).collect();
            store::write_atomic_with(&zip_path, |f| archive::zip_files(f, &files).map(|_| ()))?;
            listed.push("records.zip".into());
        }
        Ok(listed)
    }

    /// Streams the decoded pages into the book PDF open as `f` (see [`Self::write_pdfs`]).
    fn stream_pages(
        &self,
        f: &mut std::fs::File,
        info: &DocInfo,
        decoded: &[usize],
        records: &[Vec<(String, DocInfo)>],
        records_dir: &Path,
        path: &Path,
    ) -> Result<(), BatchError> {
        let io = |cause| {
            BatchError::Store(store::StoreError::Write {
                path: path.to_path_buf(),
                cause,
            })
        };
        let pdf_err = |cause| BatchError::Pdf {
            book: self.name.to_string(),
            cause,
        };
        let mut book = pdf::PdfWriter::new(std::io::BufWriter::new(&mut *f), info);
        // Pages prepared at once: enough to keep every worker busy, few enough to hold.
        let window = rayon::current_num_threads().max(1) * 2;
        for group in decoded.chunks(window) {
            let pages: Vec<PdfPage> = group
                .par_iter()
                .map(|&i| {
                    let page = self.pdf_page(i)?;
                    let p = &self.pages[i];
                    // The page checked in full once, as a document of its own: its first
                    // record's file, or the page alone. Its other records' files hold the
                    // same page objects under other titles: their frame is checked.
                    let mut checked = false;
                    for (file, info) in &records[i] {
                        let path = records_dir.join(file);
                        let bytes = one_page_pdf(self.name, &path.display().to_string(), &page, info, !checked)?;
                        store::write_atomic(&path, &bytes)?;
                        checked = true;
                    }
                    if !checked {
                        let alone = DocInfo {
                            title: format!("{}: page {}", self.name, p.page),
                            sources: vec![format!("{} sha256:{}", p.source, p.sha256)],
                            ..info.clone()
                        };
                        let name = format!("{} (page {})", path.display(), p.page);
                        one_page_pdf(self.name, &name, &page, &alone, true)?;
                    }
                    Ok(page)
                })
                .collect::<Result<_, BatchError>>()?;
            for page in &pages {
                book.page(page).map_err(pdf_err)?;
            }
        }
        book.finish()
            .map_err(pdf_err)?
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        use std::io::Seek;
        f.rewind().map_err(io)?;
        verify::check_pdf_layout(f).map_err(|problems| BatchError::PdfCheck {
            file: path.display().to_string(),
            problems,
        })?;
        Ok(())
    }

    /// The record PDFs to write for each page result (none unless `ok` with records, or
    /// when record PDFs are off): file names (in order: a repeated name takes the next free
    /// suffix) and document information.
    fn record_plan(&self) -> Vec<Vec<(String, DocInfo)>> {
        let mut plan = vec![Vec::new(); self.pages.len()];
        if !self.opts.record_pdfs {
            return plan;
        }
        let year = self
            .opts
            .book_year
            .clone()
            .or_else(|| archive::book_year(self.pages).map(|y| y.to_string()))
            .unwrap_or_else(|| "0000".to_string());
        let mut used = HashSet::new();
        for (p, planned) in self.pages.iter().zip(&mut plan) {
            if p.image.is_none() || p.final_status() != PageStatus::Ok {
                continue;
            }
            for rec in &p.records {
                let base = archive::record_file_name(self.book_type, &year, &self.opts.book_number, rec);
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
                planned.push((file, info));
            }
        }
        plan
    }
}

/// A one-page PDF/A document of `page` of book `book`, checked: in `full` (structure,
/// images decoded against their SHA-256, the PDF/A validator) or only its frame (every
/// object where the cross-reference table says). `file` names it in the error.
fn one_page_pdf(book: &str, file: &str, page: &PdfPage, info: &DocInfo, full: bool) -> Result<Vec<u8>, BatchError> {
    let bytes = pdf::write_pdfa(&[page], info).map_err(|cause| BatchError::Pdf {
        book: book.to_string(),
        cause,
    })?;
    let problems = if full {
        verify::check_pdf_bytes(&bytes).1
    } else {
        verify::check_pdf_layout(&mut std::io::Cursor::new(&bytes))
            .err()
            .into_iter()
            .collect()
    };
    if !problems.is_empty() {
        return Err(BatchError::PdfCheck {
            file: file.to_string(),
            problems: problems.join("; "),
        });
    }
    Ok(bytes)
}
