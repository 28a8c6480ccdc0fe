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
}

/// Reads every file once to hash it and count its frames, and numbers the pages.
pub(super) fn plan(books: &[Book], input: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
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
            files.push(SourceFile {
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
    files
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
