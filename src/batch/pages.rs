//! Reading the pages: source files on the worker pool, one OCR engine per worker, each
//! page's restored image and result written as soon as the page is read. A file whose
//! pages all have results for the same SHA-256 is kept as it is.

use super::plan::SourceFile;
use super::progress::Progress;
use super::{BatchError, BatchOptions};
use crate::ingest::{self, DecodeError};
use crate::model::{PageResult, Reason};
use crate::ocr::Readers;
use crate::pipeline::{self, PageContext, StageTimes};
use crate::store::BookDir;
use rayon::prelude::*;
use std::sync::Mutex;

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

/// Reads every page that has no result yet, on `pool`; each worker takes a set of
/// engines from `start` when it needs one and gives it back after each file.
pub(super) fn read_pages(
    files: &[SourceFile],
    ctx: &PageContext,
    opts: &BatchOptions,
    pool: &rayon::ThreadPool,
    start: super::Engines,
) -> Result<Tally, BatchError> {
    let total: usize = files.iter().map(|f| f.names.len()).sum();
    let progress = Progress::new(total as u64, opts.progress);
    let engines: Mutex<Vec<Readers>> = Mutex::new(Vec::new());
    let tally = Mutex::new(Tally::default());
    let first_error: Mutex<Option<BatchError>> = Mutex::new(None);
    pool.install(|| {
        files.par_iter().for_each(|file| {
            if first_error.lock().expect("lock").is_some() {
                return;
            }
            let book = BookDir::new(&opts.out, &file.book);
            if !opts.force && already_done(&book, file) {
                tally.lock().expect("lock").skipped += file.names.len();
                progress.skip(file.names.len() as u64, &format!("{}/{}", file.book, file.rel));
                return;
            }
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

/// True when every page of the file has a result for the same SHA-256 (and its image).
fn already_done(book: &BookDir, file: &SourceFile) -> bool {
    file.names.iter().all(|name| match book.read_page(name) {
        Ok(Some(p)) => p.sha256 == file.sha256 && p.image.as_ref().is_none_or(|img| book.join(img).is_file()),
        _ => false,
    })
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
    let decoded = std::fs::read(&file.path).map_err(DecodeError::from).and_then(|bytes| {
        // The file may have changed since it was hashed: keep the hash honest.
        if ingest::sha256_hex(&bytes) != file.sha256 {
            return Err(DecodeError::Io(std::io::Error::other(
                "file changed while the batch ran",
            )));
        }
        ingest::decode(&bytes)
    });
    let frames = match decoded {
        Ok(f) => f,
        Err(e) => {
            let reason = Reason::Decode(e.to_string());
            for i in 0..frames_n {
                let r = PageResult::error(file.origin(i), &reason);
                book.write_page(&r)?;
                progress.done(&r);
            }
            return Ok(times);
        }
    };
    for i in 0..frames_n {
        let Some(frame) = frames.get(i as usize) else {
            let r = PageResult::error(file.origin(i), &Reason::FrameMissing);
            book.write_page(&r)?;
            progress.done(&r);
            continue;
        };
        // An engine failing on one page is that page's result; the batch goes on.
        let read = match pipeline::read_page(frame, ctx, ocr) {
            Ok(read) => read,
            Err(e) => {
                let r = PageResult::error(file.origin(i), &Reason::ReadFailed(e.to_string()));
                book.write_page(&r)?;
                progress.done(&r);
                continue;
            }
        };
        times += read.times;
        let origin = file.origin(i);
        let image = BookDir::image_rel(&origin.name);
        let jpeg = crate::encode::restored_jpeg(&read.restored.gray, read.dpi, opts.jpeg_quality);
        book.write(&image, &jpeg)?;
        let r = PageResult::from_read(origin, read, image);
        book.write_page(&r)?;
        progress.done(&r);
    }
    Ok(times)
}
