//! Planning a run: every source file of every book, hashed once, its frames counted, its
//! pages numbered and named.

use crate::ingest::{self, Book};
use crate::model::PageOrigin;
use std::path::{Path, PathBuf};

/// One unit of work: a source file of a book.
pub(super) struct SourceFile {
    /// The book's name.
    pub book: String,
    /// The file.
    pub path: PathBuf,
    /// The file's path relative to the input folder, `/`-separated.
    pub rel: String,
    /// Output names of the file's pages, one per frame.
    pub names: Vec<String>,
    /// Page number of the first frame within the book.
    pub first_page: u32,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Why the entry cannot be read (a broken link, a folder that cannot be listed).
    pub problem: Option<String>,
    /// Per frame: the name the page would have had, when another page of the book
    /// already holds it.
    pub wanted: Vec<Option<String>>,
    /// Memory its largest frame takes while read, bytes (from its header).
    pub memory: u64,
}

impl SourceFile {
    /// Where frame `frame` of the file comes from.
    pub fn origin(&self, frame: u32) -> PageOrigin {
        PageOrigin {
            source: self.rel.clone(),
            frame,
            frames: self.names.len() as u32,
            book: self.book.clone(),
            page: self.first_page + frame,
            name: self.names.get(frame as usize).cloned().unwrap_or_default(),
            sha256: self.sha256.clone(),
        }
    }

    /// The page result with a note when the page's name was taken by another.
    pub fn noted(&self, mut r: crate::model::PageResult) -> crate::model::PageResult {
        if let Some(Some(wanted)) = self.wanted.get(r.frame as usize) {
            let note = crate::model::Reason::Renamed {
                wanted: wanted.clone(),
                given: r.name.clone(),
            };
            r.push_reason(&note);
        }
        r
    }
}

/// Reads every file once to hash it and count its frames, and numbers and names the
/// pages: each page's name is unique in its book (a name taken by an earlier page gets
/// the first free `_2`, `_3`, … and the page says so).
pub(super) fn plan(books: &[Book], input: &Path, max_pixels: u64, default_dpi: Option<f32>) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for book in books {
        let mut page = 1u32;
        let mut taken = std::collections::HashSet::new();
        for entry in &book.files {
            let path = &entry.path;
            // A file that cannot be probed is one page; reading it gives its reason.
            let (sha256, frames, memory) = match &entry.problem {
                Some(_) => (String::new(), 1, 0),
                None => {
                    let bytes = std::fs::read(path).unwrap_or_default();
                    let (frames, memory) = match ingest::probe(&bytes, max_pixels) {
                        Ok(p) => (
                            p.frames.len() as u32,
                            p.frames
                                .iter()
                                .map(|f| crate::pipeline::memory_estimate(f, default_dpi))
                                .max()
                                .unwrap_or(0)
                                // The file itself stays in memory while its frames are read.
                                + bytes.len() as u64,
                        ),
                        Err(_) => (1, 0),
                    };
                    (ingest::sha256_hex(&bytes), frames, memory)
                }
            };
            let stem = ingest::sanitize_name(&path.file_stem().unwrap_or_default().to_string_lossy());
            let (names, wanted) = (0..frames)
                .map(|i| {
                    let want = if i == 0 {
                        stem.clone()
                    } else {
                        format!("{stem}-p{}", i + 1)
                    };
                    let name = ingest::unique_name(&want, &mut taken);
                    let wanted = (name != want).then_some(want);
                    (name, wanted)
                })
                .unzip();
            let rel = path
                .strip_prefix(input)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            files.push(SourceFile {
                book: book.name.clone(),
                path: path.clone(),
                rel,
                first_page: page,
                names,
                sha256,
                problem: entry.problem.clone(),
                wanted,
                memory,
            });
            page += frames;
        }
    }
    files
}
