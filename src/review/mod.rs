//! Review: officers confirm or correct the pre-filled records.
//!
//! Every change an officer makes is one line of the book's append-only journal
//! (`OUT/<book>/review.jsonl`, see [`JOURNAL`]), flushed to disk before the change is
//! acknowledged. The page results are then rewritten (atomically) with the change applied:
//! a field's correction sits beside the OCR's `text` and `value`, signed with who and when.
//! The journal is the source of truth: replaying it over freshly read page results gives
//! the same reviewed state, which is what [`apply_journal`] does for `sohoa process` and
//! for the review server at start (a crash between the journal write and the page rewrite
//! loses nothing).
//!
//! [`server`] is the local web server behind `sohoa review`.

pub mod http;
mod live;
pub mod server;
pub mod team;
pub mod tls;

use crate::model::{FieldResult, FieldReview, Flag, PageResult, PageReview, PageStatus, Signature};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// File name of a book's review journal, in the book's output folder.
pub const JOURNAL: &str = "review.jsonl";

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub by: String,
    /// The page's `name`.
    pub page: String,
    /// The page source's SHA-256 when the change was made: a change is not applied to a
    /// page read from a different file.
    pub sha256: String,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// A change made in review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A field's value set by hand (NFC). Setting it back to the OCR's value removes the
    /// correction.
    Field {
        /// The record's `row`.
        row: u32,
        /// Field id.
        field: String,
        /// The new value.
        value: String,
    },
    /// A record confirmed (or the confirmation withdrawn).
    Accept {
        /// The record's `row`.
        row: u32,
        /// Confirmed or not.
        accepted: bool,
    },
    /// The page judged eligible (`ok`) or `not_eligible` by the officer.
    Status {
        /// `ok` or `not_eligible`.
        status: PageStatus,
        /// Why.
        reason: String,
    },
}

/// Why a change cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// No page of that name in the book.
    #[error("no page {0:?} in this book")]
    NoPage(String),
    /// The page has no record with that row number.
    #[error("page {page:?} has no record {row}")]
    NoRecord {
        /// Page name.
        page: String,
        /// Row asked for.
        row: u32,
    },
    /// The field is not one of the page's columns.
    #[error("{field:?} is not a column of page {page:?}")]
    NoField {
        /// Page name.
        page: String,
        /// Field asked for.
        field: String,
    },
    /// A page that could not be decoded cannot be reviewed.
    #[error("page {0:?} could not be decoded; there is nothing to review")]
    ErrorPage(String),
    /// A value longer than any field of the Ministry's template holds.
    #[error("the value of {field} is longer than {max} characters")]
    TooLong {
        /// The field.
        field: String,
        /// The most characters a value may have.
        max: usize,
    },
    /// Marking a page not eligible needs a reason.
    #[error("a reason is needed to mark a page not eligible")]
    NoReason,
    /// `error` is the decoder's verdict, not a review decision.
    #[error("a page can be marked `ok` or `not_eligible` only")]
    BadStatus,
    /// The journal could not be written.
    #[error("cannot write {}: {cause}", path.display())]
    Journal {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A page file could not be written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl ReviewError {
    /// A stable name for the error (the review screen words it from this).
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::NoPage(_) => "no_page",
            ReviewError::NoRecord { .. } => "no_record",
            ReviewError::NoField { .. } => "no_field",
            ReviewError::ErrorPage(_) => "error_page",
            ReviewError::TooLong { .. } => "too_long",
            ReviewError::NoReason => "no_reason",
            ReviewError::BadStatus => "bad_status",
            ReviewError::Journal { .. } => "journal",
            ReviewError::Store(_) => "store",
        }
    }
}

/// Applies one change to a page; checks it first, so a change that cannot apply leaves
/// the page as it was.
pub fn apply(page: &mut PageResult, entry: &Entry) -> Result<(), ReviewError> {
    if page.status == PageStatus::Error {
        return Err(ReviewError::ErrorPage(page.name.clone()));
    }
    let signed = Signature {
        by: entry.by.clone(),
        at: entry.at.clone(),
    };
    match &entry.change {
        Change::Field { row, field, value } => {
            if value.chars().count() > MAX_VALUE_CHARS {
                return Err(ReviewError::TooLong {
                    field: field.clone(),
                    max: MAX_VALUE_CHARS,
                });
            }
            if !page.columns.iter().any(|c| c == field) {
                return Err(ReviewError::NoField {
                    page: page.name.clone(),
                    field: field.clone(),
                });
            }
            let rec = record_mut(page, *row)?;
            let f = rec.fields.entry(field.clone()).or_insert_with(|| FieldResult {
                text: String::new(),
                value: String::new(),
                confidence: 0.0,
                bbox: [0, 0, 0, 0],
                flags: vec![Flag::Empty],
                free: None,
                review: None,
            });
            let value = clean_value(value);
            f.review = (value != f.value).then_some(FieldReview { value, signed });
        }
        Change::Accept { row, accepted } => {
            let rec = record_mut(page, *row)?;
            rec.accepted = accepted.then_some(signed);
        }
        Change::Status { status, reason } => {
            let reason = clean_value(reason);
            match status {
                PageStatus::Error => return Err(ReviewError::BadStatus),
                PageStatus::NotEligible if reason.is_empty() => return Err(ReviewError::NoReason),
                _ => {}
            }
            page.review = Some(PageReview {
                status: *status,
                reason,
                signed,
            });
        }
    }
    Ok(())
}

fn record_mut(page: &mut PageResult, row: u32) -> Result<&mut crate::model::RecordResult, ReviewError> {
    let name = page.name.clone();
    page.records
        .iter_mut()
        .find(|r| r.row == row)
        .ok_or(ReviewError::NoRecord { page: name, row })
}

/// Why an officer's value cannot be a field's: in English and in Vietnamese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
    /// English.
    pub en: String,
    /// Vietnamese, for the review screen.
    pub vi: String,
}

/// An officer's value for a field of `kind` (`codes`: its codes and what each means, for
/// a coded field), checked as the kind requires and put in the export's form: a date as
/// `dd.mm.yyyy` (from any way of writing one), sex and coded fields as their code (from the
/// code or what it means), an ethnicity or nationality as its list entry, a registration
/// or ID number with its digits; names, places and notes as typed (cleaned). Empty clears
/// the field.
pub fn checked_value(
    kind: Option<crate::template::FieldKind>,
    codes: Option<&crate::template::Codes>,
    value: &str,
    vocab: &crate::template::Vocabulary,
) -> Result<String, BadValue> {
    use crate::template::{fold, FieldKind};
    let value = clean_value(value);
    let bad = |en: &str, vi: &str| {
        Err(BadValue {
            en: format!("{value:?}: {en}"),
            vi: format!("«{value}»: {vi}"),
        })
    };
    if value.is_empty() {
        return Ok(value);
    }
    if let Some(codes) = codes {
        let listed = codes
            .iter()
            .find(|(code, meaning)| **code == value || fold(meaning) == fold(&value))
            .map(|(code, _)| code.clone());
        let list: Vec<String> = codes.iter().map(|(c, m)| format!("{c} ({m})")).collect();
        return match listed {
            Some(code) => Ok(code),
            None => bad(
                &format!("not one of the field's codes: {}", list.join(", ")),
                &format!("không phải mã của trường này: {}", list.join(", ")),
            ),
        };
    }
    let Some(kind) = kind else {
        return Ok(value);
    };
    let (normalized, flags) = crate::fields::normalize(kind, &value, vocab);
    let refused = |f: crate::model::Flag| flags.contains(&f);
    match kind {
        FieldKind::Date if refused(crate::model::Flag::InvalidDate) => bad(
            "not a date: write it as dd.mm.yyyy",
            "không phải ngày: hãy nhập dạng ngày.tháng.năm, ví dụ 04.02.1983",
        ),
        FieldKind::Date => Ok(normalized),
        FieldKind::Ethnicity | FieldKind::Nationality if refused(crate::model::Flag::UnknownValue) => bad(
            "not in the list of the Ministry's template",
            "không có trong danh mục của mẫu nhập liệu",
        ),
        FieldKind::Ethnicity | FieldKind::Nationality => Ok(normalized),
        FieldKind::RegistrationNumber if refused(crate::model::Flag::NotANumber) => {
            bad("not a number", "không phải số")
        }
        FieldKind::IdNumber if refused(crate::model::Flag::InvalidId) => bad(
            "not an ID number (9 or 12 digits)",
            "không phải số định danh (9 hoặc 12 chữ số)",
        ),
        _ => Ok(value),
    }
}

/// NFC, spaces collapsed, no control characters: what a typed value is stored as.
pub fn clean_value(s: &str) -> String {
    let s: String = s.nfc().map(|c| if c.is_control() { ' ' } else { c }).collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The most characters a corrected value may have: more than any field of the Ministry's
/// template holds (a place of birth, the longest, is well under it), far under a
/// spreadsheet cell's 32,767.
pub const MAX_VALUE_CHARS: usize = 500;

/// Reads a book's journal. A last line cut short by a crash is ignored; so is any line
/// that does not parse (reported in the second value).
pub fn read_journal(book_dir: &Path) -> (Vec<Entry>, usize) {
    let Ok(text) = std::fs::read_to_string(book_dir.join(JOURNAL)) else {
        return (Vec::new(), 0);
    };
    let mut bad = 0;
    let entries = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(e) => Some(e),
            Err(_) => {
                bad += 1;
                None
            }
        })
        .collect();
    (entries, bad)
}

/// Appends one entry to the book's journal and flushes it to disk before returning.
pub fn append_journal(book_dir: &Path, entry: &Entry) -> Result<(), ReviewError> {
    let path = book_dir.join(JOURNAL);
    let io = |cause| ReviewError::Journal {
        path: path.clone(),
        cause,
    };
    let existed = path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    // A line cut short by a crash must not swallow this one.
    let mut line = String::new();
    if !ends_with_newline(&mut f) {
        line.push('\n');
    }
    line.push_str(&serde_json::to_string(entry).expect("entry serializes"));
    line.push('\n');
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)?;
    if !existed {
        // The new directory entry must reach the disk too.
        if let Ok(d) = std::fs::File::open(book_dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// True for an empty file or one whose last byte is a line feed.
fn ends_with_newline(f: &mut std::fs::File) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut b = [0u8; 1];
    match f.seek(SeekFrom::End(-1)) {
        Ok(_) => f.read_exact(&mut b).is_ok() && b[0] == b'\n',
        Err(_) => true, // empty
    }
}

/// Replays the book's journal over its page results (in journal order; entries for
/// another version of a page's file, or that no longer apply, are skipped). Returns the
/// indices of the pages that changed.
pub fn apply_journal(book_dir: &Path, pages: &mut [PageResult]) -> Vec<usize> {
    let (entries, _) = read_journal(book_dir);
    (0..pages.len())
        .filter(|&i| replay_page(&entries, &mut pages[i]))
        .collect()
}

/// Replays the journal's entries for `page` over it, in journal order: those made on its
/// page file's source (the same SHA-256; a change made on another scan of the page is
/// not this one's) that still apply. Returns whether the page changed.
pub fn replay_page(entries: &[Entry], page: &mut PageResult) -> bool {
    let before = page.clone();
    for e in entries
        .iter()
        .filter(|e| e.page == before.name && e.sha256 == before.sha256)
    {
        let _ = apply(page, e);
    }
    *page != before
}

/// Journal entries made on a page since read from another scan (their SHA-256 is not the
/// page's): changes an officer made to what the page was, which do not apply to what it
/// is now.
pub fn superseded(entries: &[Entry], pages: &[PageResult]) -> usize {
    entries
        .iter()
        .filter(|e| pages.iter().any(|p| p.name == e.page && p.sha256 != e.sha256))
        .count()
}

/// The book type an output folder was processed as: its `report.json`'s (a type, or
/// `auto` where each book told its own), else a shard's report's; `auto` when none says
/// (each book's type then comes from its pages, and results from before types were told
/// say birth).
pub fn book_type_of(out: &Path) -> String {
    let said = |name: &str| {
        std::fs::read(out.join(name))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("book_type").and_then(|t| t.as_str()).map(str::to_string))
    };
    let mut shards: Vec<String> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("report-shard-") && n.ends_with(".json"))
        .collect();
    shards.sort();
    said("report.json")
        .or_else(|| shards.iter().find_map(|n| said(n)))
        .unwrap_or_else(|| "auto".to_string())
}

/// A processed book as review leaves it: its folder and page results with the journal
/// replayed, in page order.
pub struct ReviewedBook {
    /// The book's name (its folder's).
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its page results.
    pub pages: Vec<PageResult>,
    /// Indices of the pages the journal changed (their files are behind it).
    pub changed: Vec<usize>,
}

/// The stand-in for a page file that cannot be read: an `error` page named after the
/// file, first in its book, saying why.
fn unreadable_page(book_dir: &Path, file: &Path, e: &crate::store::StoreError) -> PageResult {
    let origin = crate::model::PageOrigin {
        source: String::new(),
        frame: 0,
        frames: 1,
        book: book_dir.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        page: 0,
        name: file.file_stem().unwrap_or_default().to_string_lossy().into_owned(),
        sha256: String::new(),
    };
    PageResult::error(origin, &crate::model::Reason::ReadFailed(e.to_string()))
}

/// The page result in `path`, a page file of the book in `book_dir`. A page file that
/// cannot be read is that page's problem: it stands as an `error` page saying why, and
/// the rest of the book is served.
pub fn read_page_file(book_dir: &Path, path: &Path) -> PageResult {
    crate::store::read(path)
        .and_then(|bytes| {
            serde_json::from_slice::<PageResult>(&bytes).map_err(|cause| crate::store::StoreError::BadPage {
                path: path.to_path_buf(),
                cause,
            })
        })
        .unwrap_or_else(|e| unreadable_page(book_dir, path, &e))
}

/// The processed books under `out` (folders holding `pages/*.json`), each with its
/// journal replayed over its page results; a page file that cannot be read stands as an
/// `error` page.
pub fn read_books(out: &Path) -> Result<Vec<ReviewedBook>, crate::store::StoreError> {
    use crate::store::StoreError;
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| StoreError::Read { path, cause }
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(read_err(out))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("pages").is_dir())
        .collect();
    dirs.sort();
    let mut books = Vec::new();
    for dir in dirs {
        let pages_dir = dir.join("pages");
        let mut pages = Vec::new();
        for e in std::fs::read_dir(&pages_dir).map_err(read_err(&pages_dir))?.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "json") {
                pages.push(read_page_file(&dir, &path));
            }
        }
        if pages.is_empty() {
            continue;
        }
        pages.sort_by_key(|p| p.page);
        let changed = apply_journal(&dir, &mut pages);
        let name = dir.file_name().unwrap_or_default().to_string_lossy().to_string();
        books.push(ReviewedBook {
            name,
            dir,
            pages,
            changed,
        });
    }
    Ok(books)
}

/// Counts for a book's progress line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Pages in the book.
    pub pages: usize,
    /// Pages whose final status is `not_eligible`.
    pub not_eligible: usize,
    /// Readable pages where no record was located: to be entered by hand.
    pub manual: usize,
    /// Pages that could not be decoded.
    pub errors: usize,
    /// Records on eligible pages.
    pub records: usize,
    /// Of those, confirmed.
    pub accepted: usize,
    /// Of those, not confirmed yet.
    pub to_check: usize,
    /// Of those not confirmed, records with a doubtful field.
    pub doubtful: usize,
}

/// Progress of a book's review.
pub fn progress(pages: &[PageResult]) -> Progress {
    let mut p = Progress {
        pages: pages.len(),
        ..Default::default()
    };
    for page in pages {
        match page.final_status() {
            PageStatus::Error => p.errors += 1,
            PageStatus::NotEligible => p.not_eligible += 1,
            PageStatus::Manual => p.manual += 1,
            PageStatus::Ok => {
                for r in &page.records {
                    p.records += 1;
                    if r.accepted.is_some() {
                        p.accepted += 1;
                    } else {
                        p.to_check += 1;
                        if r.fields.values().any(FieldResult::doubtful) {
                            p.doubtful += 1;
                        }
                    }
                }
            }
        }
    }
    p
}

/// Now as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Unix seconds as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = crate::pdf::civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecordResult;
    use std::collections::BTreeMap;

    fn page() -> PageResult {
        let field = |v: &str, flags: &[Flag]| FieldResult {
            text: v.to_string(),
            value: v.to_string(),
            confidence: 0.9,
            bbox: [0, 0, 10, 10],
            flags: flags.to_vec(),
            free: None,
            review: None,
        };
        let mut fields = BTreeMap::new();
        fields.insert("nksHoTen".to_string(), field("Đăng Văn A", &[Flag::LowConfidence]));
        fields.insert("so".to_string(), field("01/1983", &[]));
        let json = serde_json::json!({
            "source": "p1.png", "book": "b", "page": 1, "name": "p1", "sha256": "aa",
            "status": "ok", "reasons": [], "skew_deg": 0.0, "dpi": 150.0, "size": [10, 10],
            "text": "", "quality": {"missing_fraction": 0.0, "ink_fraction": 0.1, "contrast": 90.0, "ocr_confidence": 0.9},
            "table": null, "columns": ["so", "nksHoTen", "ghiChu"], "column_mapping": "header",
            "records": [], "words": [], "image": "images/p1.jpg"
        });
        let mut p: PageResult = serde_json::from_value(json).unwrap();
        p.records.push(RecordResult {
            row: 1,
            bbox: [0, 0, 10, 10],
            fields,
            accepted: None,
        });
        p
    }

    fn entry(change: Change) -> Entry {
        Entry {
            at: "2026-11-22T10:00:00Z".into(),
            by: "lan".into(),
            page: "p1".into(),
            sha256: "aa".into(),
            change,
        }
    }

    #[test]
    fn correction_keeps_the_ocr_text_and_is_nfc() {
        let mut p = page();
        let e = entry(Change::Field {
            row: 1,
            field: "nksHoTen".into(),
            value: "Đa\u{306}\u{323}ng  Văn A".into(), // "Đặng" typed as base letter + combining marks
        });
        apply(&mut p, &e).unwrap();
        let f = &p.records[0].fields["nksHoTen"];
        assert_eq!(f.text, "Đăng Văn A");
        assert_eq!(f.final_value(), "Đặng Văn A");
        assert_eq!(f.review.as_ref().unwrap().signed.by, "lan");
        assert!(!f.doubtful());
        // Setting the OCR's value again removes the correction.
        let back = entry(Change::Field {
            row: 1,
            field: "nksHoTen".into(),
            value: "Đăng Văn A".into(),
        });
        apply(&mut p, &back).unwrap();
        assert!(p.records[0].fields["nksHoTen"].review.is_none());
    }

    #[test]
    fn bad_changes_are_refused_and_leave_the_page_alone() {
        let mut p = page();
        let before = p.clone();
        let field = |row: u32, field: &str| {
            entry(Change::Field {
                row,
                field: field.into(),
                value: "x".into(),
            })
        };
        assert!(matches!(
            apply(&mut p, &field(2, "so")),
            Err(ReviewError::NoRecord { .. })
        ));
        assert!(matches!(
            apply(&mut p, &field(1, "../x")),
            Err(ReviewError::NoField { .. })
        ));
        let no_reason = entry(Change::Status {
            status: PageStatus::NotEligible,
            reason: " ".into(),
        });
        assert!(matches!(apply(&mut p, &no_reason), Err(ReviewError::NoReason)));
        assert_eq!(p, before);
        // A column the OCR left without a cell can still be filled.
        apply(&mut p, &field(1, "ghiChu")).unwrap();
        assert_eq!(p.records[0].fields["ghiChu"].final_value(), "x");
    }

    #[test]
    fn journal_replays_and_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let e1 = entry(Change::Accept { row: 1, accepted: true });
        append_journal(dir.path(), &e1).unwrap();
        // A crash in the middle of a write leaves half a line behind.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL))
            .unwrap();
        f.write_all(br#"{"at":"2026-11-22T10:00:01Z","by":"lan","pa"#).unwrap();
        drop(f);
        let e2 = entry(Change::Status {
            status: PageStatus::NotEligible,
            reason: "rách mất nửa trang".into(),
        });
        append_journal(dir.path(), &e2).unwrap();
        let (entries, bad) = read_journal(dir.path());
        assert_eq!(entries, vec![e1, e2]);
        assert_eq!(bad, 1);

        let mut pages = vec![page()];
        assert_eq!(apply_journal(dir.path(), &mut pages), vec![0]);
        assert!(pages[0].records[0].accepted.is_some());
        assert_eq!(pages[0].final_status(), PageStatus::NotEligible);
        let prog = progress(&pages);
        assert_eq!((prog.not_eligible, prog.records), (1, 0));
        // A page read from a different file is left alone.
        let mut other = vec![page()];
        other[0].sha256 = "bb".into();
        assert!(apply_journal(dir.path(), &mut other).is_empty());
    }

    #[test]
    fn progress_counts_records_to_check() {
        let mut p = page();
        let mut q = p.clone();
        q.records[0].fields.get_mut("nksHoTen").unwrap().flags.clear();
        q.name = "p2".into();
        apply(&mut p, &entry(Change::Accept { row: 1, accepted: true })).unwrap();
        let prog = progress(&[p, q]);
        assert_eq!(
            (prog.records, prog.accepted, prog.to_check, prog.doubtful),
            (2, 1, 1, 0)
        );
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_343_462), "2026-11-22T10:31:02Z");
    }

    #[test]
    fn a_corrupt_page_file_is_that_pages_error_and_the_book_is_still_read() {
        let out = tempfile::tempdir().unwrap();
        let pages = out.path().join("b/pages");
        std::fs::create_dir_all(&pages).unwrap();
        let good = PageResult::error(
            crate::model::PageOrigin {
                source: "b/a.png".into(),
                frame: 0,
                frames: 1,
                book: "b".into(),
                page: 1,
                name: "a".into(),
                sha256: "00".into(),
            },
            &crate::model::Reason::FrameMissing,
        );
        std::fs::write(pages.join("a.json"), serde_json::to_vec(&good).unwrap()).unwrap();
        std::fs::write(pages.join("z.json"), b"{\"name\": \"z\", ").unwrap();
        let books = read_books(out.path()).unwrap();
        assert_eq!(books.len(), 1);
        let names: Vec<&str> = books[0].pages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["z", "a"]);
        assert_eq!(books[0].pages[0].status, crate::model::PageStatus::Error);
        assert!(
            books[0].pages[0].reasons[0].contains("is not a page result"),
            "{:?}",
            books[0].pages[0].reasons
        );
    }

    #[test]
    fn an_officers_value_is_checked_by_its_fields_kind_and_stored_in_the_exports_form() {
        use crate::template::{FieldKind, Vocabulary};
        let vocab = Vocabulary::builtin();
        let check = |kind, v: &str| checked_value(Some(kind), None, v, &vocab);
        assert!(check(FieldKind::Date, "=1+1").is_err());
        assert!(check(FieldKind::Date, "31.02.1990").is_err());
        assert_eq!(check(FieldKind::Date, "4/2/1983").unwrap(), "04.02.1983");
        assert_eq!(check(FieldKind::Date, "").unwrap(), "");
        assert_eq!(check(FieldKind::Ethnicity, "Kinh").unwrap(), "Kinh");
        let bad = check(FieldKind::Ethnicity, "Sao Hỏa").unwrap_err();
        assert!(bad.vi.contains("danh mục"), "{bad:?}");
        assert!(check(FieldKind::IdNumber, "12345").is_err());
        assert!(check(FieldKind::RegistrationNumber, "abc").is_err());
        assert_eq!(check(FieldKind::Name, "  Lê  Văn An ").unwrap(), "Lê Văn An");
        let sex = vocab.field_codes("ks").remove("nksGioiTinh").unwrap();
        let coded = |v: &str| checked_value(Some(FieldKind::Sex), Some(&sex), v, &vocab);
        assert_eq!(coded("2").unwrap(), "2");
        assert_eq!(coded(&sex["1"]).unwrap(), "1");
        assert!(coded("7").is_err());
    }
}
