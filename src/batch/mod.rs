//! The batch driver: the only module that knows about folders, files, threads, progress
//! and resumption.
//!
//! `process` walks the input, numbers the pages of every book, runs the page pipeline on
//! a rayon pool (one Tesseract engine per worker), and writes each page's image and JSON as
//! soon as it is done. Pages whose JSON already exists for the same SHA-256 are skipped,
//! so a second run, or a run restarted after a crash, does no OCR twice. Book outputs
//! (PDF, spreadsheet, CSV) and the report are rebuilt from the page files at the end.
//! Every file is written to a temporary name and renamed into place.

mod book;
pub mod enhance;
mod pages;
mod plan;
mod progress;
mod shard;

pub use shard::Shard;

use crate::archive::ImageMode;
use crate::cells::CellReaders;
use crate::ingest;
use crate::model::PageStatus;
use crate::ocr::{constrain::Lexicons, LineModel, ModelFiles, Readers, Tesseract};
use crate::pipeline::{LayoutChoice, PageContext, StageTimes};
use crate::store::{self, BookDir, StoreError};
use crate::template::{Layout, Template, Vocabulary};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Settings of a batch run.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Folder of scanned books.
    pub input: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Book type (`ks`, `kh`, `kt`, `cmc`, `hn`), or `auto`: each book's told by its
    /// pages' titles and headings.
    pub book_type: String,
    /// How the pages hold their records (found page by page, or fixed).
    pub layout: LayoutChoice,
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// Tesseract language.
    pub lang: String,
    /// Resolution of files that state none (`None`: inferred from each page).
    pub default_dpi: Option<f32>,
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
    /// Which engines read the cells.
    pub cells: CellReaders,
    /// The line model to use instead of the installed one (its vocab.json beside it).
    pub line_model: Option<PathBuf>,
    /// Let the output folder lie inside the input folder (it is then left out of the
    /// input).
    pub out_inside_input: bool,
    /// Largest frame read, pixels (a header claiming more is refused before decoding).
    pub max_pixels: u64,
    /// Memory the pages being read may take at once, bytes: a worker waits for others to
    /// finish before reading a page that would go over it, and a page that alone would
    /// is refused.
    pub page_memory: u64,
    /// This run's part of a campaign split across processes (`--shard`).
    pub shard: Option<Shard>,
}

impl BatchOptions {
    /// Default [`BatchOptions::max_pixels`]: a 600-dpi A2 scan is about 140 Mpx.
    pub const MAX_PIXELS: u64 = 150_000_000;
    /// Default [`BatchOptions::page_memory`]: with the engines of two workers, the run
    /// stays under 1 GB.
    pub const PAGE_MEMORY: u64 = 600 << 20;
}

/// Why a batch could not run at all (page-level problems never end a batch).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The input folder is missing or unreadable.
    #[error("cannot read input folder {}: {cause}", path.display())]
    Input {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// The input folder holds no files.
    #[error("no files found under {}", .0.display())]
    NoFiles(PathBuf),
    /// The output and input folders overlap: outputs would be read back as pages.
    #[error("the output folder {} {relation} the input folder {}: outputs would be read as pages; choose an output folder outside it{hint}", out.display(), input.display())]
    Overlap {
        /// The input folder.
        input: PathBuf,
        /// The output folder.
        out: PathBuf,
        /// "is", "lies inside" or "holds".
        relation: &'static str,
        /// How to allow it, when it can be.
        hint: &'static str,
    },
    /// Another run holds the output folder.
    #[error(transparent)]
    Busy(#[from] store::LockError),
    /// A file could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A scan file could not be decoded (never ends a run: it becomes its pages' result).
    #[error(transparent)]
    Decode(#[from] ingest::DecodeError),
    /// A page result is missing after its pages were read.
    #[error("{}: page result missing after processing", .0.display())]
    PageMissing(PathBuf),
    /// The template is unknown.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// OCR could not start.
    #[error(transparent)]
    Ocr(#[from] crate::ocr::OcrError),
    /// A book PDF could not be built.
    #[error("book {book}: {cause}")]
    Pdf {
        /// The book.
        book: String,
        /// What went wrong.
        cause: crate::pdf::PdfError,
    },
    /// A page image for a PDF could not be prepared.
    #[error("book {book}: {cause}")]
    Archive {
        /// The book.
        book: String,
        /// What went wrong.
        cause: crate::archive::ArchiveError,
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
    #[error("book {book}: {cause}")]
    Export {
        /// The book.
        book: String,
        /// What went wrong.
        cause: crate::export::ExportError,
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
    /// Book type given for the run, or `auto`.
    pub book_type: String,
    /// Each book's type (`ks`, `kh`, `kt`, `cmc`, `hn`, `ncn`, `gh`; `unknown` where no
    /// page told it).
    pub book_types: BTreeMap<String, String>,
    /// Books of each type.
    pub books_by_type: BTreeMap<String, usize>,
    /// Books whose type no page told: read by their own headings, exported under them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub books_type_not_told: Vec<String>,
    /// Books of a type that has no Ministry import template (adoption, guardianship,
    /// types not told): their `records.csv`/`records.xlsx` carry the table's own headings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub books_without_import_template: Vec<String>,
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
    /// Wall time of each phase of the run, seconds: `start` (finding and planning the
    /// pages), `read` (the pages read on the workers), `outputs` (the books' files),
    /// `checks` (the book checks over OUT; absent in a shard's report).
    pub phase_seconds: BTreeMap<String, f64>,
    /// Worker threads.
    pub jobs: usize,
    /// Peak resident memory of the process, MB (Linux; 0 elsewhere).
    pub peak_memory_mb: f64,
    /// Pages that could not be read (status `error`): their files are damaged,
    /// unsupported or unreadable entries.
    pub pages_unreadable: usize,
    /// Entries of the input left out on purpose, with why.
    pub skipped: Vec<ingest::Skipped>,
    /// Book folders whose output name another folder already had: folder → name given.
    pub books_renamed: BTreeMap<String, String>,
    /// Books whose outputs this run built; the others' outputs were current (built from
    /// the same page results, review journal and options).
    pub books_rebuilt: Vec<String>,
    /// The shard this run was (`K/N`), absent for a whole run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Findings of the book checks over every book in OUT, per check (`checks.html`,
    /// each book's `checks.csv`).
    pub checks: BTreeMap<String, usize>,
    /// Review changes that no longer apply, by book: made on a page since read from
    /// another scan (the officer's value was for what the page was; the new scan is to be
    /// reviewed again).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub review_superseded: BTreeMap<String, usize>,
    /// Lines of a review journal that could not be read, by book (a line cut short by a
    /// crash, or damaged): the changes they held are not applied.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub review_lines_unreadable: BTreeMap<String, usize>,
}

/// What every page of the run shares: the templates of the book type given, or of every
/// type when each page tells its book's (the birth book's finding the table until a title
/// says otherwise).
fn page_context(opts: &BatchOptions) -> Result<PageContext, BatchError> {
    let given = opts.given_type();
    let template = Template::for_book(given.unwrap_or("ks"), Layout::Ledger)?;
    let form = match Template::for_book(given.unwrap_or("ks"), Layout::Form) {
        Ok(t) => Some(t),
        Err(e) if opts.layout == LayoutChoice::Form => return Err(e.into()),
        Err(_) => None,
    };
    let vocab = Vocabulary::builtin();
    // Each page tells its book's type unless the run is given one.
    let telling = given.is_none().then(|| {
        let mut all = crate::booktype::ledgers();
        all.extend(Template::for_book(crate::booktype::UNKNOWN, Layout::Ledger));
        all
    });
    Ok(PageContext {
        ledger: template,
        form,
        telling,
        type_from: crate::booktype::TypeFrom::Flag,
        layout: opts.layout,
        lexicons: std::sync::Arc::new(Lexicons::builtin(&vocab)),
        vocab,
        restore: Default::default(),
        default_dpi: opts.default_dpi,
        cells: opts.cells,
    })
}

/// Runs the batch: plans the books, reads every page not read yet, then rebuilds each
/// book's outputs from its page results and writes the report.
pub fn process(opts: &BatchOptions) -> Result<Report, BatchError> {
    let start = Instant::now();
    let ctx = page_context(opts)?;
    let engines = Engines::start(opts)?;
    check_overlap(opts)?;
    // A whole run holds OUT alone; shards share it (each with its own books) and each
    // holds its own lock, so a shard cannot run twice at once.
    let _lock = match opts.shard {
        None => (store::OutLock::take(&opts.out)?, None),
        Some(s) => (
            store::OutLock::take_shared(&opts.out)?,
            Some(store::OutLock::take_named(
                &opts.out,
                &format!(".sohoa-{}.lock", s.tag()),
            )?),
        ),
    };
    let found =
        ingest::discover_books(&opts.input, std::slice::from_ref(&opts.out)).map_err(|cause| BatchError::Input {
            path: opts.input.clone(),
            cause,
        })?;
    let mut books = found.books;
    if books.is_empty() {
        return Err(BatchError::NoFiles(opts.input.clone()));
    }
    if let Some(shard) = opts.shard {
        books.retain(|b| shard.holds(&b.name));
    }
    let files = plan::plan(&books, &opts.input, opts.max_pixels, opts.default_dpi);
    for book in &books {
        BookDir::new(&opts.out, &book.name).remove_stale_temporaries();
    }
    let threads = if opts.jobs == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        opts.jobs
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BatchError::Threads(e.to_string()))?;
    let mut phases = Phases::new(start);
    phases.end("start");
    let all: Vec<&plan::SourceFile> = files.iter().collect();
    let mut tally = pages::read_pages(&all, &ctx, opts, &pool, &engines, opts.force)?;
    if ctx.telling.is_some() {
        tally += pages::read_as_books(&files, &ctx, opts, &pool, &engines)?;
    }
    phases.end("read");

    let counts = pool.install(|| write_books(&files, opts))?;
    phases.end("outputs");
    let mut report = Report::new(opts, &files, counts, &tally, threads, start);
    report.skipped = found.skipped;
    if opts.shard.is_some() {
        // Other shards are writing their books: the checks over all of them wait for
        // `sohoa report` once every shard is done.
        report.phase_seconds = phases.seconds;
        let json = serde_json::to_vec_pretty(&report).expect("report serializes");
        store::write_atomic(&opts.out.join(report_name(opts.shard)), &json)?;
        return Ok(report);
    }
    let checked = crate::checks::check_out(
        &opts.out,
        &crate::checks::CheckOptions {
            book_year: opts.book_year.as_deref().and_then(|y| y.trim().parse().ok()),
        },
        crate::checks::DEFAULT_REVIEW_URL,
    )
    .map_err(|crate::checks::CheckError::Store(e)| BatchError::Store(e))?;
    for f in &checked.findings {
        *report.checks.entry(f.code.clone()).or_default() += 1;
    }
    report.books_renamed = books
        .iter()
        .filter(|b| b.wanted_name.is_some())
        .map(|b| (b.folder.clone(), b.name.clone()))
        .collect();
    phases.end("checks");
    report.phase_seconds = phases.seconds;
    let json = serde_json::to_vec_pretty(&report).expect("report serializes");
    store::write_atomic(&opts.out.join(report_name(opts.shard)), &json)?;
    Ok(report)
}

/// Wall time per phase of a run.
struct Phases {
    last: Instant,
    seconds: BTreeMap<String, f64>,
}

impl Phases {
    fn new(start: Instant) -> Phases {
        Phases {
            last: start,
            seconds: BTreeMap::new(),
        }
    }

    /// Ends phase `name`: the time since the previous phase ended.
    fn end(&mut self, name: &str) {
        let now = Instant::now();
        let s = (now - self.last).as_secs_f64();
        self.seconds.insert(name.to_string(), (s * 100.0).round() / 100.0);
        self.last = now;
    }
}

/// The run's report file in OUT: `report.json`, or `report-shard-K-of-N.json`.
pub fn report_name(shard: Option<Shard>) -> String {
    match shard {
        None => "report.json".to_string(),
        Some(s) => format!("report-{}.json", s.tag()),
    }
}

/// Refuses an output folder that is the input folder, lies inside it (unless allowed) or
/// holds it: outputs would be read back as pages, growing each run.
fn check_overlap(opts: &BatchOptions) -> Result<(), BatchError> {
    let input = resolved(&opts.input);
    let out = resolved(&opts.out);
    let (relation, hint) = if out == input {
        ("is", "")
    } else if out.starts_with(&input) && !opts.out_inside_input {
        (
            "lies inside",
            " (or give --out-inside-input to leave it out of the input)",
        )
    } else if input.starts_with(&out) {
        ("holds", "")
    } else {
        return Ok(());
    };
    Err(BatchError::Overlap {
        input: opts.input.clone(),
        out: opts.out.clone(),
        relation,
        hint,
    })
}

/// A path made absolute with its links resolved, as far as it exists (the output folder
/// may not exist yet).
fn resolved(path: &std::path::Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return abs,
        }
    }
    let mut out = existing.canonicalize().unwrap_or_else(|_| existing.to_path_buf());
    out.extend(rest.iter().rev());
    out
}

/// Starts OCR engines for the workers, each when it first has a page to read (a rerun
/// over finished books loads none). The line model's files are found at the start of the
/// run; an engine that cannot start ends the run before its worker reads a page.
pub(crate) struct Engines {
    lang: String,
    model: Option<ModelFiles>,
}

impl Engines {
    fn start(opts: &BatchOptions) -> Result<Engines, BatchError> {
        let model = if opts.cells.need_line_model() {
            Some(ModelFiles::locate(opts.line_model.as_deref())?)
        } else {
            None
        };
        Ok(Engines {
            lang: opts.lang.clone(),
            model,
        })
    }

    /// A worker's set of engines. Their start (loading Tesseract's language and the line
    /// model) counts as the engines' time, as a bare `tesseract` run's loading does.
    pub(crate) fn readers(&self) -> Result<Readers, crate::ocr::OcrError> {
        crate::ocr::in_engine(|| {
            Ok(Readers {
                tesseract: Box::new(Tesseract::new(&self.lang)?),
                lines: self.model.as_ref().map(LineModel::load).transpose()?,
            })
        })
    }
}

/// What the books hold once their outputs are written.
struct BookCounts {
    books: usize,
    /// Books whose outputs were (re)built in this run.
    rebuilt: Vec<String>,
    status_counts: BTreeMap<String, usize>,
    records: usize,
    /// Review changes made on pages since read from another scan, by book.
    superseded: BTreeMap<String, usize>,
    /// Unreadable review journal lines, by book.
    unreadable: BTreeMap<String, usize>,
    /// Each book's type.
    types: BTreeMap<String, String>,
}

/// Rebuilds every book's outputs from its page files, the review journal applied.
fn write_books(files: &[plan::SourceFile], opts: &BatchOptions) -> Result<BookCounts, BatchError> {
    let mut counts = BookCounts {
        books: 0,
        rebuilt: Vec::new(),
        status_counts: BTreeMap::new(),
        records: 0,
        superseded: BTreeMap::new(),
        unreadable: BTreeMap::new(),
        types: BTreeMap::new(),
    };
    let vocab = Vocabulary::builtin();
    let mut book_names: Vec<&str> = files.iter().map(|f| f.book.as_str()).collect();
    book_names.dedup();
    let created = store::created_time();
    for name in book_names {
        let book = BookDir::new(&opts.out, name);
        // The page results and the review journal as they stand together: a review
        // server saving a change meanwhile waits, and its change is in the next run's.
        let lock = book.lock_pages()?;
        let mut pages = Vec::new();
        for file in files.iter().filter(|f| f.book == name) {
            for page in &file.names {
                pages.push(
                    book.read_page(page)?
                        .ok_or_else(|| BatchError::PageMissing(book.page_json(page)))?,
                );
            }
        }
        // Corrections made in review apply to the outputs (and to pages read again).
        let (journal, unreadable) = crate::review::read_journal(book.path());
        for page in pages.iter_mut() {
            if crate::review::replay_page(&journal, page) {
                book.write_page(page)?;
            }
        }
        drop(lock);
        let superseded = crate::review::superseded(&journal, &pages);
        if superseded > 0 {
            counts.superseded.insert(name.to_string(), superseded);
        }
        if unreadable > 0 {
            counts.unreadable.insert(name.to_string(), unreadable);
        }
        for p in &pages {
            *counts
                .status_counts
                .entry(p.final_status().as_str().to_string())
                .or_default() += 1;
            if p.final_status() == PageStatus::Ok {
                counts.records += p.records.len();
            }
        }
        let book_type = crate::booktype::of_book(opts.given_type(), &pages);
        let export_columns = export_columns(&vocab, &book_type, &pages);
        counts.types.insert(name.to_string(), book_type.clone());
        let outputs = book::BookOutputs {
            book: &book,
            name,
            book_type: &book_type,
            pages: &pages,
            opts,
            created,
        };
        counts.books += 1;
        // Outputs built from the same page results, journal and options stand: a rerun
        // over a finished campaign rebuilds nothing.
        let fingerprint = outputs.fingerprint(&export_columns);
        if !opts.force && outputs.current(&fingerprint) {
            continue;
        }
        outputs.write(&export_columns, &fingerprint)?;
        counts.rebuilt.push(name.to_string());
    }
    Ok(counts)
}

/// The columns a book's records are exported in: the Ministry's import template of its
/// type (STT added by the writer), or, for a type without one, the columns its pages read,
/// in the order met.
pub fn export_columns(vocab: &Vocabulary, book_type: &str, pages: &[crate::model::PageResult]) -> Vec<String> {
    if let Some(c) = vocab.export_columns(book_type) {
        return c.clone();
    }
    let mut out: Vec<String> = Vec::new();
    for c in pages.iter().flat_map(|p| &p.columns) {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

impl BatchOptions {
    /// The book type given for the run; `None` for `auto`.
    pub fn given_type(&self) -> Option<&str> {
        (!self.book_type.eq_ignore_ascii_case("auto")).then_some(self.book_type.as_str())
    }
}

impl Report {
    fn new(
        opts: &BatchOptions,
        files: &[plan::SourceFile],
        counts: BookCounts,
        tally: &pages::Tally,
        jobs: usize,
        start: Instant,
    ) -> Report {
        let elapsed = start.elapsed().as_secs_f64();
        let StageTimes { restore, layout, read } = tally.times;
        let vocab = Vocabulary::builtin();
        Report {
            version: env!("CARGO_PKG_VERSION").to_string(),
            book_type: opts.book_type.clone(),
            books_by_type: counts.types.values().fold(BTreeMap::new(), |mut m, t| {
                *m.entry(t.clone()).or_default() += 1;
                m
            }),
            books_type_not_told: counts
                .types
                .iter()
                .filter(|(_, t)| *t == crate::booktype::UNKNOWN)
                .map(|(b, _)| b.clone())
                .collect(),
            books_without_import_template: counts
                .types
                .iter()
                .filter(|(_, t)| vocab.export_columns(t).is_none())
                .map(|(b, _)| b.clone())
                .collect(),
            book_types: counts.types.clone(),
            books: counts.books,
            pages: files.iter().map(|f| f.names.len()).sum(),
            status_counts: counts.status_counts.clone(),
            records: counts.records,
            pages_processed: tally.processed,
            pages_skipped: tally.skipped,
            elapsed_s: (elapsed * 100.0).round() / 100.0,
            pages_per_minute: if tally.processed > 0 {
                ((tally.processed as f64 / elapsed * 60.0) * 10.0).round() / 10.0
            } else {
                0.0
            },
            stage_seconds: [
                ("restore", restore.as_secs_f64()),
                ("layout", layout.as_secs_f64()),
                ("read", read.as_secs_f64()),
                ("ocr_engines", crate::ocr::engine_seconds()),
            ]
            .iter()
            .map(|(k, s)| (k.to_string(), (s * 100.0).round() / 100.0))
            .collect(),
            phase_seconds: BTreeMap::new(),
            jobs,
            peak_memory_mb: peak_memory_mb(),
            pages_unreadable: counts.status_counts.get("error").copied().unwrap_or(0),
            skipped: Vec::new(),
            books_renamed: BTreeMap::new(),
            checks: BTreeMap::new(),
            shard: opts.shard.map(|s| s.to_string()),
            books_rebuilt: counts.rebuilt.clone(),
            review_superseded: counts.superseded.clone(),
            review_lines_unreadable: counts.unreadable.clone(),
        }
    }
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
