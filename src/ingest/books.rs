//! Books in an input folder: every folder holding files is one, its pages those files in
//! natural order; entries that cannot be pages are kept with their problem.

use super::*;

/// A book found in the input folder.
#[derive(Clone, Debug)]
pub struct Book {
    /// Output folder name: the folder's path relative to the input, `/` replaced by `_`,
    /// made unique among the run's books.
    pub name: String,
    /// The folder's path relative to the input, `/`-separated (empty for the input itself).
    pub folder: String,
    /// The name the folder would have had when another book already holds it.
    pub wanted_name: Option<String>,
    /// The entries of the book in natural order.
    pub files: Vec<Entry>,
}

/// One entry of a book: a file to read, or one that cannot be (a broken link, a folder
/// that cannot be listed), which becomes a page with status `error`.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Where it is.
    pub path: PathBuf,
    /// Why it cannot be read, if it cannot.
    pub problem: Option<String>,
}

/// An entry of the input left out on purpose (hidden files, FIFOs, links leading out of
/// the input), with the reason.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Skipped {
    /// The path, relative to the input.
    pub path: String,
    /// Why it was left out.
    pub reason: String,
}

/// What an input folder holds.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// Its books, in the order of their folders.
    pub books: Vec<Book>,
    /// Entries left out, with why.
    pub skipped: Vec<Skipped>,
}

/// Lists the books under `input`: every folder holding at least one visible file.
/// Files directly in `input` form a book named after `input` itself. Folders and files
/// under `exclude` are left out.
///
/// Nothing met on the way ends the listing: a broken symbolic link, a link loop or a
/// folder that cannot be listed becomes an entry with its problem (a page result with
/// status `error`); links are followed only while they stay inside `input`; hidden
/// entries, FIFOs, sockets and devices are left out and listed in `skipped`.
pub fn discover_books(input: &Path, exclude: &[PathBuf]) -> std::io::Result<Discovery> {
    let root = input.canonicalize()?;
    let root_name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".to_string());
    let exclude: Vec<PathBuf> = exclude.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let rel_of = |p: &Path| -> String { p.strip_prefix(input).unwrap_or(p).to_string_lossy().replace('\\', "/") };
    let mut skipped = Vec::new();
    let mut skip = |p: &Path, reason: &str| {
        skipped.push(Skipped {
            path: rel_of(p),
            reason: reason.to_string(),
        })
    };
    let mut files: std::collections::BTreeMap<PathBuf, Vec<Entry>> = Default::default();
    let mut walker = walkdir::WalkDir::new(input).follow_links(true).into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                if let Some((dir, entry)) = unreadable(&e, input) {
                    files.entry(dir).or_default().push(entry);
                }
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_dir();
        let leave = |walker: &mut walkdir::IntoIter| {
            if is_dir {
                walker.skip_current_dir();
            }
        };
        if entry.file_name().to_string_lossy().starts_with('.') {
            skip(path, "hidden");
            leave(&mut walker);
            continue;
        }
        let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if exclude.iter().any(|x| real.starts_with(x)) {
            leave(&mut walker);
            continue;
        }
        if entry.path_is_symlink() && !real.starts_with(&root) {
            skip(path, "symbolic link to outside the input folder: not followed");
            leave(&mut walker);
            continue;
        }
        if is_dir {
            continue;
        }
        if !entry.file_type().is_file() {
            skip(path, "not a regular file (a FIFO, socket or device)");
            continue;
        }
        let dir = path.parent().unwrap_or(input).to_path_buf();
        files.entry(dir).or_default().push(Entry {
            path: path.to_path_buf(),
            problem: None,
        });
    }
    let books = books_of(files, input, &root_name);
    Ok(Discovery { books, skipped })
}

/// An entry the walk could not read, as an entry of its book (the folder it names, when
/// it is a folder that cannot be listed: a book of its own; else the folder it is in)
/// with its problem: a link loop, a broken link, or the error itself.
fn unreadable(e: &walkdir::Error, input: &Path) -> Option<(PathBuf, Entry)> {
    let path = e.path().map(Path::to_path_buf)?;
    let what = if e.loop_ancestor().is_some() {
        "a symbolic link loop (the link leads back to a folder above it)".to_string()
    } else if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
        && std::fs::metadata(&path).is_err()
    {
        "a broken symbolic link (its target does not exist)".to_string()
    } else {
        match e.io_error() {
            Some(io) => format!("cannot read: {io}"),
            None => format!("cannot read: {e}"),
        }
    };
    let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
    let dir = if is_dir {
        path.clone()
    } else {
        path.parent().unwrap_or(input).to_path_buf()
    };
    Some((
        dir,
        Entry {
            path,
            problem: Some(what),
        },
    ))
}

/// The books of the folders holding `files` (`input`'s own files: a book named
/// `root_name`), each named uniquely after its folder, its pages in natural order.
fn books_of(files: std::collections::BTreeMap<PathBuf, Vec<Entry>>, input: &Path, root_name: &str) -> Vec<Book> {
    let mut books: Vec<Book> = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for (dir, mut entries) in files {
        let rel = dir.strip_prefix(input).unwrap_or(&dir);
        let wanted = if rel.as_os_str().is_empty() {
            sanitize_name(root_name)
        } else {
            sanitize_name(
                &rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("_"),
            )
        };
        let name = unique_name(&wanted, &mut taken);
        entries.sort_by(|a, b| {
            natural_cmp(
                &a.path.file_name().unwrap_or_default().to_string_lossy(),
                &b.path.file_name().unwrap_or_default().to_string_lossy(),
            )
        });
        entries.dedup_by(|a, b| a.path == b.path);
        books.push(Book {
            wanted_name: (name != wanted).then_some(wanted),
            name,
            folder: rel.to_string_lossy().replace('\\', "/"),
            files: entries,
        });
    }
    books
}

/// `wanted`, or when another holds it (letter case aside, as some file systems ignore
/// it) the first free `wanted_2`, `wanted_3`, …; the name given is marked taken.
pub fn unique_name(wanted: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while !taken.insert(name.to_lowercase()) {
        name = format!("{wanted}_{n}");
        n += 1;
    }
    name
}

/// Keeps letters, digits, `-`, `_` and `.`; anything else becomes `_`.
pub fn sanitize_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_string();
    if s.is_empty() {
        return "_".to_string();
    }
    // Output files add a suffix and an extension to the name: keep it well within the
    // 255 bytes a file name may have, a hash of the whole name keeping it unique.
    const MAX_BYTES: usize = 120;
    if s.len() <= MAX_BYTES {
        return s;
    }
    let mut cut = MAX_BYTES - 9;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{}", &s[..cut], &sha256_hex(name.as_bytes())[..8])
}

/// Natural order: runs of digits compare by value, the rest by character (case-insensitive).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ai, mut bi) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na: String = std::iter::from_fn(|| ai.next_if(|c| c.is_ascii_digit())).collect();
                let nb: String = std::iter::from_fn(|| bi.next_if(|c| c.is_ascii_digit())).collect();
                let ta = na.trim_start_matches('0');
                let tb = nb.trim_start_matches('0');
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(x), Some(y)) => {
                let ord = x.to_lowercase().cmp(y.to_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                ai.next();
                bi.next();
            }
        }
    }
}

/// SHA-256 of a byte slice, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Bytes in lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
