//! Reading the pages: source files on the worker pool, one OCR engine per worker, each
//! page's restored image and result written as soon as the page is read. A file whose
//! pages all have results for the same SHA-256 is kept as it is.

use super::plan::SourceFile;
use super::progress::Progress;
use super::{BatchError, BatchOptions};
use crate::booktype::TypeFrom;
use crate::ingest::{self, DecodeError};
use crate::model::{PageResult, PageStatus, Reason};
use crate::ocr::Readers;
use crate::pipeline::{self, PageContext, StageTimes};
use crate::store::BookDir;
use crate::template::{Layout, Template};
use rayon::prelude::*;
use std::sync::{Condvar, Mutex};

/// Memory shared by the pages being read at once: a worker takes a page's share before
/// decoding it and gives it back when the page is written.
struct Budget {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// A page's share of the [`Budget`], given back when dropped.
struct Share<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `bytes` fit beside the pages being read; `None` when they never can.
    fn take(&self, bytes: u64) -> Option<Share<'_>> {
        if bytes > self.limit {
            return None;
        }
        let mut used = self.used.lock().expect("lock");
        while *used + bytes > self.limit {
            used = self.freed.wait(used).expect("lock");
        }
        *used += bytes;
        Some(Share { budget: self, bytes })
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        *self.budget.used.lock().expect("lock") -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// What the page workers did.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// CPU time per stage, summed over workers.
    pub times: StageTimes,
    /// Pages read in this run.
    pub processed: usize,
    /// Pages whose earlier result was kept.
    pub skipped: usize,
}

impl std::ops::AddAssign for Tally {
    /// Pages read again count once: as read, not as kept.
    fn add_assign(&mut self, o: Tally) {
        self.times += o.times;
        self.processed += o.processed;
    }
}

/// Reads every page that has no result yet, on `pool`; each worker takes a set of
/// engines from `start` when it needs one and gives it back after each file.
pub(super) fn read_pages(
    files: &[&SourceFile],
    ctx: &PageContext,
    opts: &BatchOptions,
    pool: &rayon::ThreadPool,
    start: &super::Engines,
    force: bool,
) -> Result<Tally, BatchError> {
    let total: usize = files.iter().map(|f| f.names.len()).sum();
    let progress = Progress::new(total as u64, opts.progress);
    let engines: Mutex<Vec<Readers>> = Mutex::new(Vec::new());
    let tally = Mutex::new(Tally::default());
    let first_error: Mutex<Option<BatchError>> = Mutex::new(None);
    let budget = Budget::new(opts.page_memory);
    pool.install(|| {
        files.par_iter().for_each(|file| {
            if first_error.lock().expect("lock").is_some() {
                return;
            }
            let book = BookDir::new(&opts.out, &file.book);
            if !force && already_done(&book, file, ctx) {
                tally.lock().expect("lock").skipped += file.names.len();
                progress.skip(file.names.len() as u64, &format!("{}/{}", file.book, file.rel));
                return;
            }
            let Some(_share) = budget.take(file.memory) else {
                let reason = Reason::OverMemory {
                    needs_mb: file.memory >> 20,
                    limit_mb: opts.page_memory >> 20,
                };
                if let Err(e) = write_errors(file, &book, &progress, 0, &reason) {
                    first_error.lock().expect("lock").get_or_insert(e);
                }
                return;
            };
            let engine = engines.lock().expect("lock").pop();
            let mut engine = match engine.map_or_else(|| start.readers(), Ok) {
                Ok(e) => e,
                Err(e) => {
                    first_error.lock().expect("lock").get_or_insert(e.into());
                    return;
                }
            };
            let result = read_file(file, &book, ctx, &mut engine, opts, &progress);
            engines.lock().expect("lock").push(engine);
            match result {
                Ok(times) => {
                    let mut t = tally.lock().expect("lock");
                    t.times += times;
                    t.processed += file.names.len();
                }
                Err(e) => {
                    first_error.lock().expect("lock").get_or_insert(e);
                }
            }
        })
    });
    progress.finish();
    match first_error.into_inner().expect("lock") {
        Some(e) => Err(e),
        None => Ok(tally.into_inner().expect("lock")),
    }
}

/// True when every page of the file has a result for the same SHA-256 (and its image),
/// read as the book type given for the run, if one is.
fn already_done(book: &BookDir, file: &SourceFile, ctx: &PageContext) -> bool {
    let given = ctx.telling.is_none().then_some(ctx.ledger.book_type.as_str());
    file.names.iter().all(|name| match book.read_page(name) {
        Ok(Some(p)) => {
            p.sha256 == file.sha256
                && p.image.as_ref().is_none_or(|img| book.join(img).is_file())
                && (p.status == PageStatus::Error || given.is_none_or(|t| p.book_type == t))
        }
        _ => false,
    })
}

/// Reads again, as its book's type, each page that could not tell the type by itself
/// (its headings read like no type's, or another's where the book's title says
/// otherwise): the book's type is the one its pages told (see
/// [`crate::booktype::of_pages`]). Pages whose own title names another type keep their
/// reading.
pub(super) fn read_as_books(
    files: &[SourceFile],
    ctx: &PageContext,
    opts: &BatchOptions,
    pool: &rayon::ThreadPool,
    start: &super::Engines,
) -> Result<Tally, BatchError> {
    let mut names: Vec<&str> = files.iter().map(|f| f.book.as_str()).collect();
    names.dedup();
    let mut tally = Tally::default();
    for name in names {
        let book = BookDir::new(&opts.out, name);
        let in_book: Vec<&SourceFile> = files.iter().filter(|f| f.book == name).collect();
        let mut pages = Vec::new();
        for file in &in_book {
            for page in &file.names {
                if let Some(p) = book.read_page(page)? {
                    pages.push((file.rel.clone(), p));
                }
            }
        }
        let Some(book_type) = crate::booktype::of_pages(pages.iter().map(|(_, p)| p)) else {
            continue;
        };
        let stray = |p: &PageResult| {
            p.status != PageStatus::Error
                && !p.records.is_empty()
                && p.book_type != book_type
                && p.book_type_from != TypeFrom::Title
        };
        let again: Vec<&SourceFile> = in_book
            .into_iter()
            .filter(|f| pages.iter().any(|(rel, p)| *rel == f.rel && stray(p)))
            .collect();
        if again.is_empty() {
            continue;
        }
        let Some(ledger) = ctx.telling.iter().flatten().find(|t| t.book_type == book_type) else {
            continue;
        };
        let form = Template::for_book(&book_type, Layout::Form).ok();
        let typed = ctx.with_type(ledger.clone(), form, TypeFrom::Book);
        tally += read_pages(&again, &typed, opts, pool, start, true)?;
    }
    Ok(tally)
}

/// Decodes one file and reads each of its frames; writes images and page results.
fn read_file(
    file: &SourceFile,
    book: &BookDir,
    ctx: &PageContext,
    ocr: &mut Readers,
    opts: &BatchOptions,
    progress: &Progress,
) -> Result<StageTimes, BatchError> {
    let mut times = StageTimes::default();
    let frames_n = file.names.len() as u32;
    let write = |r: PageResult| write_result(file, book, progress, r);
    if let Some(problem) = &file.problem {
        return write_errors(file, book, progress, 0, &Reason::BadEntry(problem.clone())).map(|_| times);
    }
    let bytes = std::fs::read(&file.path).map_err(DecodeError::from).and_then(|bytes| {
        // The file may have changed since it was hashed: keep the hash honest.
        if ingest::sha256_hex(&bytes) != file.sha256 {
            return Err(DecodeError::Io(std::io::Error::other(
                "file changed while the batch ran",
            )));
        }
        Ok(bytes)
    });
    let mut next = 0u32;
    // Frames one at a time: each read and written before the next is decoded.
    let decoded = bytes.map_err(BatchError::from).and_then(|bytes| {
        ingest::decode_each(&bytes, opts.max_pixels, |frame| -> Result<(), BatchError> {
            let i = next;
            next += 1;
            if i >= frames_n {
                return Ok(());
            }
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) => return write(PageResult::error(file.origin(i), &Reason::Decode(e.to_string()))),
            };
            // An engine failing on one page is that page's result; the batch goes on.
            let read = match pipeline::read_page(&frame, ctx, ocr) {
                Ok(read) => read,
                Err(e) => return write(PageResult::error(file.origin(i), &Reason::ReadFailed(e.to_string()))),
            };
            drop(frame);
            times += read.times;
            let origin = file.origin(i);
            let image = BookDir::image_rel(&origin.name);
            let jpeg = crate::encode::restored_jpeg(&read.restored.gray, read.dpi, opts.jpeg_quality);
            book.write(&image, &jpeg)?;
            write(PageResult::from_read(origin, read, image))
        })
    });
    match decoded {
        Ok(()) => {}
        // Nothing of the file could be decoded (or read from disk).
        Err(BatchError::Decode(e)) => {
            write_errors(file, book, progress, next, &Reason::Decode(e.to_string()))?;
            return Ok(times);
        }
        Err(other) => return Err(other),
    }
    write_errors(file, book, progress, next, &Reason::FrameMissing)?;
    Ok(times)
}

/// Writes a page's result (with its renaming noted) and counts it done.
fn write_result(file: &SourceFile, book: &BookDir, progress: &Progress, r: PageResult) -> Result<(), BatchError> {
    let r = file.noted(r);
    // A review server saving a change on this page waits for it, and sees it.
    let _lock = book.lock_pages()?;
    book.write_page(&r)?;
    progress.done(&r);
    Ok(())
}

/// Writes an `error` result with `reason` for every frame of the file from `from` on.
fn write_errors(
    file: &SourceFile,
    book: &BookDir,
    progress: &Progress,
    from: u32,
    reason: &Reason,
) -> Result<(), BatchError> {
    (from..file.names.len() as u32)
        .try_for_each(|i| write_result(file, book, progress, PageResult::error(file.origin(i), reason)))
}
