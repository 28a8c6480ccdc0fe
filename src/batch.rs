//! The batch driver: the only module that knows about folders, files, threads, progress
//! and resumption.
//!
//! `process` walks the input, numbers the pages of every book, runs the page pipeline on
//! a rayon pool (one Tesseract engine per worker), and writes each page's image and JSON as
//! soon as it is done. Pages whose JSON already exists for the same SHA-256 are skipped,
//! so a second run, or a run restarted after a crash, does no OCR twice. Book outputs
//! (PDF, spreadsheet, CSV) and the report are rebuilt from the page files at the end.
//! Every file is written to a temporary name and renamed into place.

use crate::archive::{self, ImageMode};
use crate::export;
use crate::ingest::{self, Book, DecodeError};
use crate::model::{PageResult, PageStatus};
use crate::ocr::{Recognizer, Tesseract};
use crate::pdf::{self, DocInfo, PdfPage};
use crate::pipeline::{self, PageContext, StageTimes};
use crate::verify;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of a batch run.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Folder of scanned books.
    pub input: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Book type (`ks`, …).
    pub book_type: String,
    /// Page layout: `ledger` (a ruled table, one record per row) or `form` (one record
    /// per page, printed labels).
    pub layout: String,
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// Tesseract language.
    pub lang: String,
    /// Resolution assumed when a file states none.
    pub default_dpi: f32,
    /// Redo every page even when its result exists.
    pub force: bool,
    /// Show a progress bar (otherwise one log line per page).
    pub progress: bool,
    /// JPEG quality of the stored page images (1–100).
    pub jpeg_quality: u8,
    /// How page images are stored in the PDFs.
    pub pdf_image: ImageMode,
    /// Write one PDF per record (and their zip).
    pub record_pdfs: bool,
    /// Book number for record file names.
    pub book_number: String,
    /// Book year for record file names (default: the most common registration year).
    pub book_year: Option<String>,
    /// Declare PDF/A-2u instead of PDF/A-2b.
    pub pdfa_u: bool,
}

/// Why a batch could not run at all (page-level problems never end a batch).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The input folder is missing or unreadable.
    #[error("cannot read input folder {path}: {source}")]
    Input {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The input folder holds no files.
    #[error("no files found under {0}")]
    NoFiles(PathBuf),
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The template is unknown.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// OCR could not start.
    #[error(transparent)]
    Ocr(#[from] crate::ocr::OcrError),
    /// A book PDF could not be built.
    #[error("book {book}: {source}")]
    Pdf {
        /// The book.
        book: String,
        /// The cause.
        source: crate::pdf::PdfError,
    },
    /// A page image for a PDF could not be prepared.
    #[error("book {book}: {source}")]
    Archive {
        /// The book.
        book: String,
        /// The cause.
        source: crate::archive::ArchiveError,
    },
    /// A PDF failed its check after writing (it was not put in place).
    #[error("{file}: the PDF written fails its check: {problems}")]
    PdfCheck {
        /// The file.
        file: String,
        /// What is wrong.
        problems: String,
    },
    /// A spreadsheet could not be built.
    #[error("book {book}: {source}")]
    Export {
        /// The book.
        book: String,
        /// The cause.
        source: crate::export::ExportError,
    },
    /// The worker pool could not start.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// `report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// sohoa version.
    pub version: String,
    /// Book type.
    pub book_type: String,
    /// Books processed.
    pub books: usize,
    /// Pages in all books.
    pub pages: usize,
    /// Pages by status.
    pub status_counts: BTreeMap<String, usize>,
    /// Records found on `ok` pages (the rows exported).
    pub records: usize,
    /// Pages read in this run.
    pub pages_processed: usize,
    /// Pages whose earlier result was kept.
    pub pages_skipped: usize,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Pages read per minute of wall time in this run.
    pub pages_per_minute: f64,
    /// CPU time summed over workers, per stage, seconds.
    pub stage_seconds: BTreeMap<String, f64>,
    /// Worker threads.
    pub jobs: usize,
    /// Peak resident memory of the process, MB (Linux; 0 elsewhere).
    pub peak_memory_mb: f64,
}

/// One unit of work: a source file of a book.
struct FileJob {
    book: String,
    path: PathBuf,
    rel: String,
    /// Output names of the file's pages (one per frame), and their page numbers.
    names: Vec<String>,
    first_page: u32,
    sha256: String,
}

/// Runs the batch. `log` receives the human-readable lines.
pub fn process(opts: &BatchOptions) -> Result<Report, BatchError> {
    let start = Instant::now();
    let template = crate::template::Template::for_book(&opts.book_type, &opts.layout)?;
    let vocab = crate::template::Vocabulary::builtin();
    let first_engine = Tesseract::new(&opts.lang)?;
    let books = ingest::discover_books(&opts.input).map_err(|source| BatchError::Input {
        path: opts.input.clone(),
        source,
    })?;
    if books.is_empty() {
        return Err(BatchError::NoFiles(opts.input.clone()));
    }
    let jobs = plan(&books, &opts.input);
    for book in &books {
        remove_stale_temporaries(&opts.out.join(&book.name));
    }
    let total_pages: usize = jobs.iter().map(|j| j.names.len()).sum();
    let ctx = PageContext {
        template,
        vocab,
        restore: Default::default(),
        default_dpi: opts.default_dpi,
    };
    let threads = if opts.jobs == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        opts.jobs
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BatchError::Threads(e.to_string()))?;
    let engines: Mutex<Vec<Box<dyn Recognizer>>> = Mutex::new(vec![Box::new(first_engine)]);
    let progress = Progress::new(total_pages as u64, opts.progress);
    let times = Mutex::new((StageTimes::default(), 0usize, 0usize));
    let first_error: Mutex<Option<BatchError>> = Mutex::new(None);

    pool.install(|| {
        jobs.par_iter().for_each(|job| {
            if first_error.lock().expect("lock").is_some() {
                return;
            }
            let book_dir = opts.out.join(&job.book);
            if !opts.force && already_done(&book_dir, job) {
                let mut t = times.lock().expect("lock");
                t.2 += job.names.len();
                progress.skip(job.names.len() as u64, &format!("{}/{}", job.book, job.rel));
                return;
            }
            let mut engine = match engines.lock().expect("lock").pop() {
                Some(e) => e,
                None => match Tesseract::new(&opts.lang) {
                    Ok(t) => Box::new(t),
                    Err(e) => {
                        *first_error.lock().expect("lock") = Some(e.into());
                        return;
                    }
                },
            };
            let result = run_file(job, &book_dir, &ctx, engine.as_mut(), opts, &progress);
            engines.lock().expect("lock").push(engine);
            match result {
                Ok(stage) => {
                    let mut t = times.lock().expect("lock");
                    t.0.restore += stage.restore;
                    t.0.layout += stage.layout;
                    t.0.read += stage.read;
                    t.1 += job.names.len();
                }
                Err(e) => {
                    first_error.lock().expect("lock").get_or_insert(e);
                }
            }
        })
    });
    progress.finish();
    if let Some(e) = first_error.into_inner().expect("lock") {
        return Err(e);
    }

    // Book outputs, rebuilt from the page files.
    let mut status_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut records = 0;
    let mut book_names: Vec<&str> = jobs.iter().map(|j| j.book.as_str()).collect();
    book_names.dedup();
    let export_columns = ctx
        .vocab
        .export_columns(&opts.book_type)
        .cloned()
        .unwrap_or_else(|| ctx.template.columns.iter().map(|c| c.field.clone()).collect());
    let created = created_time();
    for book in &book_names {
        let book_dir = opts.out.join(book);
        let mut pages = Vec::new();
        for job in jobs.iter().filter(|j| j.book == *book) {
            for name in &job.names {
                pages.push(load_page(&book_dir, name).ok_or_else(|| BatchError::Output {
                    path: page_json(&book_dir, name),
                    source: std::io::Error::other("page result missing after processing"),
                })?);
            }
        }
        // Corrections made in review apply to the outputs (and to pages read again).
        for i in crate::review::apply_journal(&book_dir, &mut pages) {
            write_page(&book_dir, &pages[i])?;
        }
        for p in &pages {
            *status_counts.entry(p.final_status().as_str().to_string()).or_default() += 1;
            if p.final_status() == PageStatus::Ok {
                records += p.records.len();
            }
        }
        write_book_outputs(book, &book_dir, &pages, &export_columns, opts, created)?;
    }
    let (stage, processed, skipped) = times.into_inner().expect("lock");
    let elapsed = start.elapsed().as_secs_f64();
    let report = Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        book_type: opts.book_type.clone(),
        books: book_names.len(),
        pages: total_pages,
        status_counts,
        records,
        pages_processed: processed,
        pages_skipped: skipped,
        elapsed_s: (elapsed * 100.0).round() / 100.0,
        pages_per_minute: if processed > 0 {
            ((processed as f64 / elapsed * 60.0) * 10.0).round() / 10.0
        } else {
            0.0
        },
        stage_seconds: [
            ("restore", stage.restore),
            ("layout", stage.layout),
            ("read", stage.read),
        ]
        .iter()
        .map(|(k, d)| (k.to_string(), (d.as_secs_f64() * 100.0).round() / 100.0))
        .collect(),
        jobs: threads,
        peak_memory_mb: peak_memory_mb(),
    };
    let json = serde_json::to_vec_pretty(&report).expect("report serializes");
    write_atomic(&opts.out.join("report.json"), &json)?;
    Ok(report)
}

/// Peak resident set size (VmHWM) from /proc, in MB.
fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}

/// Reads every file once to hash it and count its frames, and numbers the pages.
fn plan(books: &[Book], input: &Path) -> Vec<FileJob> {
    let mut jobs = Vec::new();
    for book in books {
        let mut page = 1u32;
        let mut used = std::collections::HashSet::new();
        for path in &book.files {
            let bytes = std::fs::read(path).unwrap_or_default();
            let sha256 = ingest::sha256_hex(&bytes);
            let frames = count_frames(&bytes);
            let stem = ingest::sanitize_name(&path.file_stem().unwrap_or_default().to_string_lossy());
            let mut base = stem.clone();
            if !used.insert(base.clone()) {
                let ext = path.extension().unwrap_or_default().to_string_lossy();
                base = format!("{stem}_{}", ingest::sanitize_name(&ext));
                used.insert(base.clone());
            }
            let names = (0..frames)
                .map(|i| {
                    if i == 0 {
                        base.clone()
                    } else {
                        format!("{base}-p{}", i + 1)
                    }
                })
                .collect::<Vec<_>>();
            let rel = path
                .strip_prefix(input)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            jobs.push(FileJob {
                book: book.name.clone(),
                path: path.clone(),
                rel,
                first_page: page,
                names,
                sha256,
            });
            page += frames;
        }
    }
    jobs
}

/// Frames in a file without decoding pixels: IFDs of a TIFF, 1 for anything else.
fn count_frames(bytes: &[u8]) -> u32 {
    if ingest::ScanFormat::sniff(bytes) != Some(ingest::ScanFormat::Tiff) {
        return 1;
    }
    let Ok(mut dec) = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)) else {
        return 1;
    };
    let mut n = 1;
    while dec.more_images() && dec.next_image().is_ok() {
        n += 1;
    }
    n
}

fn page_json(book_dir: &Path, name: &str) -> PathBuf {
    book_dir.join("pages").join(format!("{name}.json"))
}

fn load_page(book_dir: &Path, name: &str) -> Option<PageResult> {
    let bytes = std::fs::read(page_json(book_dir, name)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// True when every page of the file has a result for the same SHA-256 (and its image).
fn already_done(book_dir: &Path, job: &FileJob) -> bool {
    job.names.iter().all(|name| match load_page(book_dir, name) {
        Some(p) => p.sha256 == job.sha256 && p.image.as_ref().is_none_or(|img| book_dir.join(img).is_file()),
        None => false,
    })
}

/// Decodes one file and reads each of its frames; writes images and page JSONs.
fn run_file(
    job: &FileJob,
    book_dir: &Path,
    ctx: &PageContext,
    ocr: &mut dyn Recognizer,
    opts: &BatchOptions,
    progress: &Progress,
) -> Result<StageTimes, BatchError> {
    let mut times = StageTimes::default();
    let base = |frame: u32, frames: u32| PageResult {
        source: job.rel.clone(),
        frame,
        frames,
        book: job.book.clone(),
        page: job.first_page + frame,
        name: job.names.get(frame as usize).cloned().unwrap_or_default(),
        sha256: job.sha256.clone(),
        status: PageStatus::Error,
        reasons: Vec::new(),
        skew_deg: 0.0,
        dpi: 0.0,
        size: [0, 0],
        source_size: [0, 0],
        source_dpi: 0.0,
        text: String::new(),
        quality: Default::default(),
        table: None,
        columns: Vec::new(),
        column_mapping: String::new(),
        records: Vec::new(),
        words: Vec::new(),
        image: None,
        review: None,
    };
    let frames_n = job.names.len() as u32;
    let decoded = std::fs::read(&job.path).map_err(DecodeError::from).and_then(|bytes| {
        // The file may have changed since it was hashed: keep the hash honest.
        if ingest::sha256_hex(&bytes) != job.sha256 {
            return Err(DecodeError::Io(std::io::Error::other(
                "file changed while the batch ran",
            )));
        }
        ingest::decode(&bytes)
    });
    let frames = match decoded {
        Ok(f) => f,
        Err(e) => {
            for i in 0..frames_n {
                let mut r = base(i, frames_n);
                r.reasons.push(e.to_string());
                write_page(book_dir, &r)?;
                progress.done(&r);
            }
            return Ok(times);
        }
    };
    for i in 0..frames_n {
        let mut r = base(i, frames_n);
        let Some(frame) = frames.get(i as usize) else {
            r.reasons.push("frame could not be decoded".to_string());
            write_page(book_dir, &r)?;
            progress.done(&r);
            continue;
        };
        let dpi = frame.dpi.unwrap_or(ctx.default_dpi);
        let read = pipeline::read_page(&frame.gray, dpi, ctx, ocr)?;
        times.restore += read.times.restore;
        times.layout += read.times.layout;
        times.read += read.times.read;
        let image_rel = format!("images/{}.jpg", r.name);
        let jpeg = encode_jpeg(&read.restored.gray, read.dpi, opts.jpeg_quality);
        write_atomic(&book_dir.join(&image_rel), &jpeg)?;
        r.status = read.status;
        r.reasons.extend(read.reasons);
        if frame.dpi.is_none() {
            r.reasons.push(format!("no resolution in the file: assumed {dpi} dpi"));
        }
        r.skew_deg = read.restored.skew_deg;
        r.dpi = read.dpi;
        r.source_size = [frame.gray.width(), frame.gray.height()];
        r.source_dpi = dpi;
        r.size = [read.restored.gray.width(), read.restored.gray.height()];
        r.text = read.text;
        r.quality = read.quality;
        r.table = read.layout.table;
        r.columns = read.columns;
        r.column_mapping = read.column_mapping;
        r.records = read.records;
        r.words = read.words;
        r.image = Some(image_rel);
        write_page(book_dir, &r)?;
        progress.done(&r);
    }
    Ok(times)
}

/// Grey JPEG with optimized Huffman tables (progressive), its resolution in the header.
fn encode_jpeg(img: &image::GrayImage, dpi: f32, quality: u8) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut buf, quality.clamp(1, 100));
    enc.set_progressive(true);
    enc.set_optimized_huffman_tables(true);
    let d = dpi.round() as u16;
    enc.set_density(jpeg_encoder::Density::Inch { x: d, y: d });
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Luma,
    )
    .expect("encoding to memory");
    buf
}

/// Writes a page result to `pages/<name>.json` in its book folder, atomically.
pub fn write_page(book_dir: &Path, r: &PageResult) -> Result<(), BatchError> {
    let json = serde_json::to_vec_pretty(r).expect("page result serializes");
    write_atomic(&page_json(book_dir, &r.name), &json)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it
/// into place: readers see the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    let err = |source| BatchError::Output {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)
}

/// Deletes temporary files that a killed run left behind (see [`write_atomic`]).
fn remove_stale_temporaries(book_dir: &Path) {
    for sub in ["", "pages", "images", "records"] {
        let Ok(entries) = std::fs::read_dir(book_dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Book PDF, record PDFs and their zip, spreadsheet, CSV and manifest, from the book's
/// page results.
fn write_book_outputs(
    book: &str,
    book_dir: &Path,
    pages: &[PageResult],
    columns: &[String],
    opts: &BatchOptions,
    created: i64,
) -> Result<(), BatchError> {
    let rows = export::rows_for_book(pages, columns, &opts.book_type);
    let xlsx = export::write_xlsx(&rows, columns, created).map_err(|source| BatchError::Export {
        book: book.to_string(),
        source,
    })?;
    write_atomic(&book_dir.join("records.xlsx"), &xlsx)?;
    write_atomic(&book_dir.join("records.csv"), &export::write_csv(&rows, columns))?;
    let mut listed: Vec<PathBuf> = vec!["records.xlsx".into(), "records.csv".into()];

    // The PDF pages, in the mode asked for.
    // The PDF pages, and for each the index of its page result.
    let mut pdf_pages: Vec<PdfPage> = Vec::new();
    let mut of_result: Vec<usize> = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        let Some(img) = &p.image else { continue };
        let path = book_dir.join(img);
        let restored = std::fs::read(&path).map_err(|source| BatchError::Output { path, source })?;
        let source = if opts.pdf_image == ImageMode::Original {
            Some(
                std::fs::read(opts.input.join(&p.source)).map_err(|source| BatchError::Input {
                    path: opts.input.join(&p.source),
                    source,
                })?,
            )
        } else {
            None
        };
        let page = archive::pdf_page(p, opts.pdf_image, &restored, source.as_deref()).map_err(|source| {
            BatchError::Archive {
                book: book.to_string(),
                source,
            }
        })?;
        pdf_pages.push(page);
        of_result.push(i);
    }
    let pdf_name = format!("{book}.pdf");
    let pdf_path = book_dir.join(&pdf_name);
    if pdf_pages.is_empty() {
        // No page decoded: a stale PDF from an earlier run must not stay behind.
        let _ = std::fs::remove_file(&pdf_path);
    } else {
        let info = DocInfo {
            title: format!("{book}: pages 1–{}", pages.len()),
            description: format!("Book {book}, {} page images with OCR text", pdf_pages.len()),
            sources: of_result
                .iter()
                .map(|&i| format!("{} sha256:{}", pages[i].source, pages[i].sha256))
                .collect(),
            created_unix: created,
            unicode_level: opts.pdfa_u,
        };
        write_checked_pdf(book, &pdf_path, &pdf_pages, &info)?;
        listed.push(pdf_name.into());
    }

    // One PDF per record: the page that holds it.
    let records_dir = book_dir.join("records");
    let mut record_files: Vec<(String, Vec<u8>)> = Vec::new();
    if opts.record_pdfs {
        let year = opts
            .book_year
            .clone()
            .or_else(|| archive::book_year(pages).map(|y| y.to_string()))
            .unwrap_or_else(|| "0000".to_string());
        let mut used = std::collections::HashSet::new();
        for (page, &i) in pdf_pages.iter().zip(&of_result) {
            let p = &pages[i];
            if p.final_status() != PageStatus::Ok {
                continue;
            }
            for rec in &p.records {
                let base = archive::record_file_name(&opts.book_type, &year, &opts.book_number, rec);
                let mut name = base.clone();
                let mut n = 2;
                while !used.insert(name.clone()) {
                    name = base.replace(".pdf", &format!("-{n}.pdf"));
                    n += 1;
                }
                let info = DocInfo {
                    title: format!("{book}: page {}, row {}", p.page, rec.row),
                    description: format!("Record on page {} row {} of book {book}", p.page, rec.row),
                    sources: vec![format!("{} sha256:{}", p.source, p.sha256)],
                    created_unix: created,
                    unicode_level: opts.pdfa_u,
                };
                let path = records_dir.join(&name);
                let bytes = write_checked_pdf(book, &path, std::slice::from_ref(page), &info)?;
                listed.push(PathBuf::from("records").join(&name));
                record_files.push((name, bytes));
            }
        }
    }
    // Record files of an earlier run that this run did not write (a record that moved).
    if let Ok(entries) = std::fs::read_dir(&records_dir) {
        let keep: std::collections::HashSet<&str> = record_files.iter().map(|(n, _)| n.as_str()).collect();
        for e in entries.flatten() {
            if !keep.contains(e.file_name().to_string_lossy().as_ref()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let zip_path = book_dir.join("records.zip");
    if record_files.is_empty() {
        let _ = std::fs::remove_file(&zip_path);
    } else {
        let zip = archive::zip_files(&record_files).map_err(|source| BatchError::Output {
            path: zip_path.clone(),
            source,
        })?;
        write_atomic(&zip_path, &zip)?;
        listed.push("records.zip".into());
    }
    let manifest = verify::manifest_text(book_dir, &listed).map_err(|source| BatchError::Output {
        path: book_dir.to_path_buf(),
        source,
    })?;
    write_atomic(&book_dir.join(verify::MANIFEST), manifest.as_bytes())
}

/// Writes a PDF/A file, checks the bytes (structure, images, PDF/A) before putting it in
/// place, and returns them.
fn write_checked_pdf(book: &str, path: &Path, pages: &[PdfPage], info: &DocInfo) -> Result<Vec<u8>, BatchError> {
    let bytes = pdf::write_pdfa(pages, info).map_err(|source| BatchError::Pdf {
        book: book.to_string(),
        source,
    })?;
    let (_, problems) = verify::check_pdf_bytes(&bytes);
    if !problems.is_empty() {
        return Err(BatchError::PdfCheck {
            file: path.display().to_string(),
            problems: problems.join("; "),
        });
    }
    write_atomic(path, &bytes)?;
    Ok(bytes)
}

/// The creation time written into PDFs: `SOURCE_DATE_EPOCH` when set (reproducible
/// output), otherwise now.
pub fn created_time() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
}

/// A progress bar on a terminal, one log line per page otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    count: Mutex<u64>,
    started: Instant,
}

impl Progress {
    fn new(total: u64, want_bar: bool) -> Progress {
        let bar = (want_bar && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} pages  {per_sec}  ETA {eta}  {msg}",
                )
                .expect("valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            bar,
            total,
            count: Mutex::new(0),
            started: Instant::now(),
        }
    }

    fn tick(&self, n: u64, line: String) {
        let mut c = self.count.lock().expect("lock");
        *c += n;
        match &self.bar {
            Some(b) => {
                b.inc(n);
                b.set_message(line);
            }
            None => {
                let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                eprintln!(
                    "[{}/{}] {line} ({:.1} pages/min)",
                    *c,
                    self.total,
                    *c as f64 / secs * 60.0
                );
            }
        }
    }

    fn done(&self, r: &PageResult) {
        let what = match r.status {
            PageStatus::Ok => format!("ok, {} records", r.records.len()),
            s => format!("{}: {}", s.as_str(), r.reasons.join("; ")),
        };
        self.tick(1, format!("{}/{}: {what}", r.book, r.name));
    }

    fn skip(&self, n: u64, what: &str) {
        self.tick(n, format!("{what}: done earlier, kept"));
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
