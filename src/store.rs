//! The output folder on disk: where a book's files live, and how they are written.
//!
//! Every file is written to a temporary name beside its place, flushed, then renamed into
//! place ([`write_atomic`]): a reader, or a run started after a crash, sees the old file
//! or the new one, never half of one. `batch` (the processing driver) and `review` (the
//! review server) both write through here.

use crate::model::PageResult;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file of the output folder could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file could not be written (or its folder created).
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A page result does not parse.
    #[error("{} is not a page result: {cause}", path.display())]
    BadPage {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        cause: serde_json::Error,
    },
}

/// The output folder held by one run: a lock on `OUT/.sohoa.lock`, released when this
/// is dropped (or the process ends, however it ends).
#[derive(Debug)]
pub struct OutLock {
    _file: std::fs::File,
}

/// Why the output folder could not be taken for a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another run holds the folder.
    #[error("another sohoa run is writing to {} (it holds {}); wait for it to finish", out.display(), lock.display())]
    Held {
        /// The output folder.
        out: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file could not be made.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OutLock {
    /// Takes the output folder `out` (made if missing) for this process, or says that
    /// another holds it.
    pub fn take(out: &Path) -> Result<OutLock, LockError> {
        OutLock::take_named(out, ".sohoa.lock")
    }

    /// Takes the output folder together with other holders of a shared lock (the shards
    /// of one campaign), or says that a whole run holds it.
    pub fn take_shared(out: &Path) -> Result<OutLock, LockError> {
        OutLock::lock(out, ".sohoa.lock", true)
    }

    /// The lock of one kind of writer (`file` in `out`): a review server takes its own,
    /// so that a second server on the same folder refuses to start.
    pub fn take_named(out: &Path, file: &str) -> Result<OutLock, LockError> {
        OutLock::lock(out, file, false)
    }

    fn lock(out: &Path, file: &str, shared: bool) -> Result<OutLock, LockError> {
        let lock = out.join(file);
        let write_err = |cause| StoreError::Write {
            path: lock.clone(),
            cause,
        };
        // A link to a folder that is not there: said so, not "File exists".
        if let (Ok(target), Err(_)) = (std::fs::read_link(out), std::fs::metadata(out)) {
            return Err(StoreError::Write {
                path: out.to_path_buf(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("a symbolic link to {}, which does not exist", target.display()),
                ),
            }
            .into());
        }
        std::fs::create_dir_all(out).map_err(write_err)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(write_err)?;
        let taken = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match taken {
            Ok(()) => Ok(OutLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held {
                out: out.to_path_buf(),
                lock,
            }),
            Err(std::fs::TryLockError::Error(cause)) => Err(write_err(cause).into()),
        }
    }
}

/// A book's page lock held (see [`BookDir::lock_pages`]).
#[derive(Debug)]
pub struct PagesLock {
    _file: std::fs::File,
}

/// The file of a book's page lock.
pub const PAGES_LOCK: &str = ".pages.lock";

/// A book's folder in the output folder and the names of the files in it.
#[derive(Clone, Debug)]
pub struct BookDir {
    dir: PathBuf,
}

impl BookDir {
    /// The folder of book `name` under `out`.
    pub fn new(out: &Path, name: &str) -> BookDir {
        BookDir { dir: out.join(name) }
    }

    /// A book folder given by its path.
    pub fn at(dir: &Path) -> BookDir {
        BookDir { dir: dir.to_path_buf() }
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `pages/<name>.json`: the result of one page.
    pub fn page_json(&self, name: &str) -> PathBuf {
        self.dir.join("pages").join(format!("{name}.json"))
    }

    /// `images/<name>.jpg` relative to the book folder: the restored page image, as page
    /// results refer to it.
    pub fn image_rel(name: &str) -> String {
        format!("images/{name}.jpg")
    }

    /// A path relative to the book folder, made absolute.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.join(rel)
    }

    /// Waits for, then holds, the book's page lock (`.pages.lock`, released when the guard
    /// is dropped or the process ends, however it ends). Whoever rewrites a page result
    /// from what it read — `process` writing a page it read or replaying the review
    /// journal, the review server saving an officer's change — does so holding it, so
    /// that neither writes back a page the other has rewritten since.
    pub fn lock_pages(&self) -> Result<PagesLock, StoreError> {
        let path = self.dir.join(PAGES_LOCK);
        let write_err = |cause| StoreError::Write {
            path: path.clone(),
            cause,
        };
        std::fs::create_dir_all(&self.dir).map_err(write_err)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(write_err)?;
        file.lock().map_err(write_err)?;
        Ok(PagesLock { _file: file })
    }

    /// Reads a page result; `Ok(None)` when the page has none yet.
    pub fn read_page(&self, name: &str) -> Result<Option<PageResult>, StoreError> {
        let path = self.page_json(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => return Err(StoreError::Read { path, cause }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|cause| StoreError::BadPage { path, cause })
    }

    /// Writes a page result to `pages/<name>.json`, atomically.
    pub fn write_page(&self, page: &PageResult) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(page).expect("page result serializes");
        write_atomic(&self.page_json(&page.name), &json)
    }

    /// Reads a file of the book (path relative to the book folder).
    pub fn read(&self, rel: impl AsRef<Path>) -> Result<Vec<u8>, StoreError> {
        read(&self.dir.join(rel))
    }

    /// Writes a file of the book (path relative to the book folder), atomically.
    pub fn write(&self, rel: impl AsRef<Path>, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.dir.join(rel), bytes)
    }

    /// Deletes temporary files that a killed run left behind (see [`write_atomic`]).
    pub fn remove_stale_temporaries(&self) {
        for sub in ["", "pages", "images", "records"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name.ends_with(".tmp") && !being_written(&name, &e.path()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Whether a temporary file (`.<name>.<pid>.tmp`, see [`write_atomic_with`]) is still being
/// written by another live process (a review server exporting while `process` starts):
/// its writer is running (where `/proc` tells), or it was written to in the last minute.
fn being_written(name: &str, path: &Path) -> bool {
    let pid = name
        .strip_suffix(".tmp")
        .and_then(|n| n.rsplit('.').next())
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if pid == std::process::id() => false,
        Some(pid) if Path::new("/proc/self").exists() => Path::new(&format!("/proc/{pid}")).exists(),
        _ => std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() < 60)),
    }
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path).map_err(|cause| StoreError::Read {
        path: path.to_path_buf(),
        cause,
    })
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it
/// into place: readers see the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Like [`write_atomic`], for a file written piece by piece by `fill` (never whole in
/// memory).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let err = |cause| StoreError::Write {
        path: path.to_path_buf(),
        cause,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    // Open for reading too: a writer may check what it wrote before it is put in place.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(err)?;
    if let Err(cause) = fill(&mut f).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        return Err(err(cause));
    }
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)
}

/// The creation time written into PDFs and workbooks: `SOURCE_DATE_EPOCH` when set
/// (reproducible output), otherwise now.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_another_live_process_writes_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("sohoa-stale-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pages")).unwrap();
        let ours = format!(".records.csv.{}.tmp", std::process::id());
        // A live writer: this test's parent or init; a dead one: a pid past any system's.
        let live = format!(".records.xlsx.{}.tmp", std::os::unix::process::parent_id());
        let dead = ".b.pdf.4294967.tmp".to_string();
        for name in [&ours, &live, &dead] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        BookDir::at(&dir).remove_stale_temporaries();
        assert!(!dir.join(&ours).exists() && !dir.join(&dead).exists());
        assert!(dir.join(&live).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_error_states_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        // A file where a folder should be.
        let e = write_atomic(&file.join("g.json"), b"{}").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("cannot write "), "{msg}");
        assert_eq!(msg.matches("os error").count(), 1, "{msg}");
        assert!(std::error::Error::source(&e).is_none());
        let e = read(&dir.path().join("missing")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
    }

    #[test]
    fn a_missing_page_is_none_and_a_written_one_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let book = BookDir::at(dir.path());
        assert!(book.read_page("p1").unwrap().is_none());
        book.write("pages/p2.json", b"not json").unwrap();
        assert!(matches!(book.read_page("p2"), Err(StoreError::BadPage { .. })));
    }
}
