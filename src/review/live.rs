//! A book as the review server holds it, kept in step with its files.
//!
//! `sohoa process` may run while officers review: a scan replaced is read again, new
//! scans add pages, and the page files are rewritten. The server holds each page file's
//! [`Stamp`] as it last read or wrote it; before it answers from a book it reads again the
//! page files that changed since (the journal replayed over each), so it never writes
//! back a stale copy, never applies a change made on a page that has since been read
//! from another scan, and exports what `process` would. Writes of page files on both
//! sides happen under the book's page lock ([`BookDir::lock_pages`]).

use super::team::Versions;
use super::{replay_page, Entry, ReviewError, ReviewedBook};
use crate::checks::Finding;
use crate::model::PageResult;
use crate::store::BookDir;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What tells one version of a page file from another: each is written whole beside it
/// and renamed into place, so each is a new file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    /// The file's inode (0 where the system has none).
    file: u64,
    /// Its length.
    len: u64,
    /// When it was written.
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let file = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let file = 0;
        Some(Stamp {
            file,
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

/// One book under review: its folder, page results (journal applied) in page order, its
/// journal and the versions of its records.
pub(super) struct Book {
    pub(super) name: String,
    /// The book's type (its export's columns).
    pub(super) book_type: String,
    pub(super) dir: PathBuf,
    pub(super) pages: Vec<PageResult>,
    pub(super) journal: Vec<Entry>,
    pub(super) versions: Versions,
    /// What the book checks found (`checks.json`, as the last check left it).
    pub(super) findings: Vec<Finding>,
    /// Each page file's stamp as last read or written, by page name.
    stamps: HashMap<String, Stamp>,
    /// Lines of the journal that could not be read when the book was loaded (a line cut
    /// short by a crash, or damaged).
    pub(super) unreadable_lines: usize,
}

impl Book {
    /// A book as [`super::read_books`] found it; page files the journal changed are
    /// rewritten.
    pub(super) fn load(b: ReviewedBook) -> Result<Book, ReviewError> {
        let (journal, unreadable_lines) = super::read_journal(&b.dir);
        let mut book = Book {
            versions: Versions::default(),
            findings: crate::checks::read_findings(&b.dir),
            name: b.name,
            // Set by the server, which knows the type given for the run.
            book_type: String::new(),
            dir: b.dir,
            pages: b.pages,
            journal,
            stamps: HashMap::new(),
            unreadable_lines,
        };
        book.versions = book.replay_versions();
        let _lock = BookDir::at(&book.dir).lock_pages()?;
        for &i in &b.changed {
            book.write_page(i)?;
        }
        for p in &book.pages {
            if let Some(s) = Stamp::of(&book.page_file(&p.name)) {
                book.stamps.entry(p.name.clone()).or_insert(s);
            }
        }
        Ok(book)
    }

    /// Brings the pages in step with their files: a page file rewritten or added since it
    /// was last read (by `process`) is read again and the journal replayed over it; a
    /// page whose file is gone is dropped. Returns the names of the pages now read from
    /// another scan than before (their source's SHA-256 changed).
    pub(super) fn sync(&mut self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("pages")) else {
            return Vec::new();
        };
        let mut on_disk: HashMap<String, (PathBuf, Option<Stamp>)> = HashMap::new();
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "json") {
                let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                on_disk.insert(name, (path.clone(), Stamp::of(&path)));
            }
        }
        let mut changed = self.pages.len() != on_disk.len();
        self.pages.retain(|p| on_disk.contains_key(&p.name));
        let mut reread = Vec::new();
        for (name, (path, stamp)) in on_disk {
            if stamp.is_some() && self.stamps.get(&name) == stamp.as_ref() {
                continue;
            }
            changed = true;
            let mut page = super::read_page_file(&self.dir, &path);
            replay_page(&self.journal, &mut page);
            match self.pages.iter_mut().find(|p| p.name == name) {
                Some(old) => {
                    if old.sha256 != page.sha256 {
                        reread.push(name.clone());
                    }
                    *old = page;
                }
                None => self.pages.push(page),
            }
            match stamp {
                Some(s) => self.stamps.insert(name, s),
                None => self.stamps.remove(&name),
            };
        }
        if changed {
            self.pages.sort_by_key(|p| p.page);
            self.versions = self.replay_versions();
            self.findings = crate::checks::read_findings(&self.dir);
        }
        reread.sort();
        reread
    }

    /// Writes page `i`'s file (the caller holds the page lock) and notes its stamp.
    pub(super) fn write_page(&mut self, i: usize) -> Result<(), ReviewError> {
        let page = &self.pages[i];
        BookDir::at(&self.dir).write_page(page)?;
        let path = self.page_file(&page.name);
        match Stamp::of(&path) {
            Some(s) => self.stamps.insert(page.name.clone(), s),
            None => self.stamps.remove(&page.name),
        };
        Ok(())
    }

    fn page_file(&self, name: &str) -> PathBuf {
        BookDir::at(&self.dir).page_json(name)
    }

    /// Record versions from the journal entries made on the pages as they are.
    fn replay_versions(&self) -> Versions {
        Versions::replay(&self.journal, |e| {
            self.pages.iter().any(|p| p.name == e.page && p.sha256 == e.sha256)
        })
    }
}
