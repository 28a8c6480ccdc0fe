//! `sohoa enhance`: pages restored (deskewed, levelled, cleaned) and written as images of
//! their own, without being read.
//!
//! Files are found as `process` finds them (folders walked with the same refusals: hidden
//! files, FIFOs and devices, links leading out of the folder, each said), and named as it
//! names pages: a name another file already has gets the first free `_2`, `_3`, …, so no
//! result overwrites another. A file named on the command line that is not a regular file
//! (a FIFO, a device, a link to one) is refused before it is opened; a file is read no
//! further than the length it had when it was looked at.

use crate::ingest::{self, Entry, Skipped};
use crate::store::StoreError;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file to restore and the name its result is written under.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be read (a broken link, a link loop, not a regular file).
    pub problem: Option<String>,
    /// Its result's file name without extension, unique among the run's.
    pub name: String,
}

/// What `inputs` hold.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The files to restore, in order.
    pub sources: Vec<Source>,
    /// Entries of the folders left out on purpose, with why.
    pub skipped: Vec<Skipped>,
}

/// The files `inputs` name: each folder's books' pages (found as `process` finds them),
/// and each file as it is (refused when it is no regular file), each given a unique name.
pub fn plan(inputs: &[PathBuf]) -> std::io::Result<Plan> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut skipped = Vec::new();
    for i in inputs {
        if i.is_dir() {
            let found = ingest::discover_books(i, &[])?;
            entries.extend(found.books.into_iter().flat_map(|b| b.files));
            skipped.extend(found.skipped);
        } else {
            let problem = match std::fs::metadata(i) {
                Ok(m) if m.is_file() => None,
                Ok(_) => Some("not a regular file (a FIFO, socket or device): not read".to_string()),
                Err(e) => Some(format!("cannot read: {e}")),
            };
            entries.push(Entry {
                path: i.clone(),
                problem,
            });
        }
    }
    let mut taken = std::collections::HashSet::new();
    let sources = entries
        .into_iter()
        .map(|e| {
            let stem = ingest::sanitize_name(&e.path.file_stem().unwrap_or_default().to_string_lossy());
            Source {
                name: ingest::unique_name(&stem, &mut taken),
                path: e.path,
                problem: e.problem,
            }
        })
        .collect();
    Ok(Plan { sources, skipped })
}

/// Restores the first page of `source` (`dpi` for a file that states none) into
/// `out/<name>.png` (`binarize`: black and white as the page lies, pixel for pixel with
/// the source) and says what was done: the source, the output, the skew and the page's
/// quality, or why the file could not be read (`error`).
pub fn enhance_file(source: &Source, out: &Path, binarize: bool, dpi: f32) -> Result<serde_json::Value, StoreError> {
    let file = &source.path;
    let failed = |e: String| Ok(serde_json::json!({ "source": file.display().to_string(), "error": e }));
    if let Some(problem) = &source.problem {
        return failed(problem.clone());
    }
    let frames = match read_regular(file)
        .map_err(ingest::DecodeError::from)
        .and_then(|b| ingest::decode(&b))
    {
        Ok(frames) => frames,
        Err(e) => return failed(e.to_string()),
    };
    let frame = &frames[0];
    let d = frame.dpi.unwrap_or(dpi);
    let r = crate::restore::restore(&frame.gray, d, &Default::default());
    let path = out.join(format!("{}.png", source.name));
    let img = if binarize {
        crate::restore::binarize(&frame.gray, d, &Default::default())
    } else {
        r.gray.clone()
    };
    crate::store::write_atomic(&path, &crate::encode::png(&img, Some(d)))?;
    Ok(serde_json::json!({
        "source": file.display().to_string(),
        "output": path.display().to_string(),
        "skew_deg": (r.skew_deg as f64 * 100.0).round() / 100.0,
        "quality": r.quality,
    }))
}

/// A regular file's bytes, no more than its length when opened: a FIFO or device (whose
/// reading may never end, or block forever) is refused without reading.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device): not read",
        ));
    }
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}
