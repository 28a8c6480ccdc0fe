//! Book checks: what a team lead looks for across a book's records before it is handed
//! in — the same page scanned twice, the same record entered twice, register numbers
//! missing or repeated, registration dates out of order, records from another year, and
//! personal ID numbers that contradict the record.
//!
//! The checks read the page results (the review applied), so a correction made in review
//! clears its finding on the next check. Each finding has a stable `code`, the place it
//! is about (book, page, row) and the other place it involves, and a sentence in English
//! (the command line) and Vietnamese (the report and the review screen).

use crate::fields::{parse_date, Date};
use crate::model::{Flag, PageResult, PageStatus, RecordResult};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// File name of a book's findings (JSON), in the book's output folder.
pub const CHECKS_JSON: &str = "checks.json";
/// File name of a book's findings as a spreadsheet-friendly CSV.
pub const CHECKS_CSV: &str = "checks.csv";
/// The report over every book, in the output folder.
pub const CHECKS_HTML: &str = "checks.html";
/// Where the report's links lead: `sohoa review`'s default address.
pub const DEFAULT_REVIEW_URL: &str = "http://127.0.0.1:8377/";

/// A place in the books: a page, and a record on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Book name.
    pub book: String,
    /// Page name.
    pub page: String,
    /// 1-based page number in the book.
    pub page_number: u32,
    /// The record's row (absent for a finding about a whole page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
}

/// One thing a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `duplicate_page`, `duplicate_number`, `duplicate_person`, `number_gap`,
    /// `date_order`, `wrong_year`, `id_mismatch`; death books: `death_before_birth`,
    /// `registered_before_death`, `late_registration`; marriage books: `under_age`,
    /// `married_twice`; `other_book_type`.
    pub code: String,
    /// Where.
    pub at: Place,
    /// The other place it involves (the first copy, the neighbour out of order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<Place>,
    /// English.
    pub text: String,
    /// Vietnamese.
    pub vi: String,
}

/// A book as the checks see it.
pub struct Book<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its page results in page order, the review applied.
    pub pages: &'a [PageResult],
}

/// Settings of the checks.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The books' year when known (`--book-year`); else each book's most common
    /// registration year.
    pub book_year: Option<u32>,
}

fn place(book: &str, p: &PageResult, row: Option<u32>) -> Place {
    Place {
        book: book.to_string(),
        page: p.name.clone(),
        page_number: p.page,
        row,
    }
}

fn where_vi(p: &Place) -> String {
    match p.row {
        Some(r) => format!("trang {} hàng {r}", p.page_number),
        None => format!("trang {}", p.page_number),
    }
}

fn where_en(p: &Place) -> String {
    match p.row {
        Some(r) => format!("page {} row {r}", p.page_number),
        None => format!("page {}", p.page_number),
    }
}

fn of_book(p: &Place, book: &str) -> String {
    if p.book == book {
        String::new()
    } else {
        format!(" ({})", p.book)
    }
}

/// A record on a page that counts: the page's final status is `ok`.
struct Rec<'a> {
    at: Place,
    rec: &'a RecordResult,
}

impl Rec<'_> {
    fn value(&self, field: &str) -> &str {
        self.rec.fields.get(field).map_or("", |f| f.final_value())
    }

    fn date(&self, field: &str) -> Option<Date> {
        parse_date(self.value(field))
    }

    /// `so` as (number, year).
    fn number(&self) -> Option<(u32, u32)> {
        let (n, y) = self.value("so").split_once('/')?;
        Some((n.trim().parse().ok()?, y.trim().parse().ok()?))
    }
}

fn records<'a>(book: &Book<'a>) -> Vec<Rec<'a>> {
    book.pages
        .iter()
        .filter(|p| p.final_status() == PageStatus::Ok)
        .flat_map(|p| {
            p.records.iter().map(move |r| Rec {
                at: place(book.name, p, Some(r.row)),
                rec: r,
            })
        })
        .collect()
}

fn date_key(d: &Date) -> (u32, u32, u32) {
    (d.year, d.month.unwrap_or(0), d.day.unwrap_or(0))
}

/// Runs every check over the books; findings in book, page and row order.
pub fn check(books: &[Book], opts: &CheckOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    duplicate_pages(books, &mut out);
    duplicate_records(books, &mut out);
    for b in books {
        let recs = records(b);
        numbers(&recs, &mut out);
        date_order(&recs, &mut out);
        wrong_year(&recs, opts.book_year, &mut out);
        id_mismatches(&recs, &mut out);
        death_dates(&recs, &mut out);
        marriage_ages(&recs, &mut out);
        pages_of_another_type(b, &mut out);
    }
    married_twice(books, &mut out);
    out.sort_by(|a, b| {
        (&a.at.book, a.at.page_number, a.at.row, &a.code).cmp(&(&b.at.book, b.at.page_number, b.at.row, &b.code))
    });
    out
}

/// Pages whose images look alike (hashes within a quarter of their 256 bits) and whose
/// words are mostly the same (85%): the same sheet scanned twice. Pages of one book
/// look alike (the same ruled table) but share only their headings and common words
/// (about 60% on synthetic ledgers), so the words decide. Only pages that share three or
/// more rare words (found on at most four pages) are compared, so a campaign's pages are
/// not compared pair by pair.
fn duplicate_pages(books: &[Book], out: &mut Vec<Finding>) {
    let pages: Vec<(&str, &PageResult, [u64; 4], Vec<String>)> = books
        .iter()
        .flat_map(|b| b.pages.iter().map(move |p| (b.name, p)))
        .filter_map(|(b, p)| {
            let words = words_of(&p.text);
            (words.len() >= 10).then_some((b, p, hash_words(p.page_hash.as_deref()?)?, words))
        })
        .collect();
    // Candidates first, in time linear in the pages: pairs sharing several words that
    // few pages have (dates, names, numbers); only they are compared whole.
    let mut postings: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, _, _, words)) in pages.iter().enumerate() {
        let mut distinct: Vec<&str> = words.iter().map(String::as_str).collect();
        distinct.dedup();
        for w in distinct {
            postings.entry(w).or_default().push(i);
        }
    }
    let mut shared_rare: HashMap<(usize, usize), usize> = HashMap::new();
    for list in postings.values().filter(|l| l.len() >= 2 && l.len() <= 4) {
        for (a, &i) in list.iter().enumerate() {
            for &j in &list[a + 1..] {
                *shared_rare.entry((i, j)).or_default() += 1;
            }
        }
    }
    let mut earlier: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&(i, j), &n) in &shared_rare {
        if n >= 3 {
            earlier.entry(j).or_default().push(i);
        }
    }
    for (j, (bj, pj, hj, wj)) in pages.iter().enumerate() {
        let mut candidates = earlier.get(&j).cloned().unwrap_or_default();
        candidates.sort_unstable();
        let first = candidates.into_iter().find_map(|i| {
            let (bi, pi, hi, wi) = &pages[i];
            let bits = Some(bits_apart(hi, hj)).filter(|&d| d <= 64)?;
            let shared = word_overlap(wi, wj);
            (shared >= 0.85).then_some((bi, pi, bits, shared))
        });
        if let Some((bi, pi, bits, shared)) = first {
            let (at, other) = (place(bj, pj, None), place(bi, pi, None));
            let shared = (shared * 100.0).round();
            out.push(Finding {
                code: "duplicate_page".into(),
                text: format!(
                    "looks like {}{} scanned again (images differ in {bits} of 256 hash bits, {shared}% of words shared)",
                    where_en(&other),
                    of_book(&other, bj)
                ),
                vi: format!(
                    "Có vẻ là {}{} được quét lại (ảnh khác {bits}/256 bit, {shared}% số từ trùng)",
                    where_vi(&other),
                    of_book(&other, bj)
                ),
                at,
                other: Some(other),
            });
        }
    }
}

fn words_of(text: &str) -> Vec<String> {
    let mut w: Vec<String> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| w.chars().count() >= 2)
        .collect();
    w.sort();
    w
}

/// Shared words (as multisets, sorted) over the larger count.
fn word_overlap(a: &[String], b: &[String]) -> f64 {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    shared as f64 / a.len().max(b.len()).max(1) as f64
}

/// The same register number twice in a book; the same person (name, birth date and
/// parents) twice anywhere.
fn duplicate_records(books: &[Book], out: &mut Vec<Finding>) {
    let mut numbers: HashMap<(String, String), Place> = HashMap::new();
    let mut people: HashMap<String, Place> = HashMap::new();
    for b in books {
        for r in records(b) {
            let so = r.value("so").to_string();
            if !so.is_empty() {
                match numbers.get(&(b.name.to_string(), so.clone())) {
                    Some(first) => out.push(Finding {
                        code: "duplicate_number".into(),
                        text: format!("register number {so} also at {}", where_en(first)),
                        vi: format!("Số {so} trùng với {}", where_vi(first)),
                        at: r.at.clone(),
                        other: Some(first.clone()),
                    }),
                    None => {
                        numbers.insert((b.name.to_string(), so), r.at.clone());
                    }
                }
            }
            let Some(key) = person_key(&r) else { continue };
            match people.get(&key) {
                Some(first) => out.push(Finding {
                    code: "duplicate_person".into(),
                    text: format!(
                        "the same person (name, birth date, parents) as {}{}",
                        where_en(first),
                        of_book(first, b.name)
                    ),
                    vi: format!(
                        "Trùng người (họ tên, ngày sinh, cha mẹ) với {}{}",
                        where_vi(first),
                        of_book(first, b.name)
                    ),
                    at: r.at.clone(),
                    other: Some(first.clone()),
                }),
                None => {
                    people.insert(key, r.at.clone());
                }
            }
        }
    }
}

/// Who a record is about: the person's name and birth date and a parent's name, folded
/// (case and spacing aside). None when the record does not say enough.
fn person_key(r: &Rec) -> Option<String> {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let name = norm(r.value("nksHoTen"));
    let born = r.date("nksNgaySinh")?;
    let parents = format!("{}|{}", norm(r.value("meHoTen")), norm(r.value("chaHoTen")));
    (!name.is_empty() && born.day.is_some() && parents != "|")
        .then(|| format!("{name}|{:?}|{parents}", date_key(&born)))
}

/// Register numbers missing between two present ones, per year. A year only one or two
/// numbers carry (a misread year, a record of another year) joins the book's main year.
fn numbers(recs: &[Rec], out: &mut Vec<Finding>) {
    let mut by_year: BTreeMap<u32, BTreeMap<u32, &Place>> = BTreeMap::new();
    for r in recs {
        if let Some((n, y)) = r.number() {
            by_year.entry(y).or_default().entry(n).or_insert(&r.at);
        }
    }
    if let Some(main) = by_year.iter().max_by_key(|(_, n)| n.len()).map(|(y, _)| *y) {
        let stray: Vec<u32> = by_year
            .iter()
            .filter(|(y, n)| **y != main && n.len() < 3)
            .map(|(y, _)| *y)
            .collect();
        for y in stray {
            let moved = by_year.remove(&y).unwrap_or_default();
            let main_nums = by_year.entry(main).or_default();
            for (n, at) in moved {
                main_nums.entry(n).or_insert(at);
            }
        }
    }
    for (year, nums) in by_year {
        let v: Vec<(&u32, &&Place)> = nums.iter().collect();
        for w in v.windows(2) {
            let ((&a, pa), (&b, pb)) = (w[0], w[1]);
            if b > a + 1 {
                let missing = if b == a + 2 {
                    format!("{}/{year}", a + 1)
                } else {
                    format!("{}–{}/{year}", a + 1, b - 1)
                };
                out.push(Finding {
                    code: "number_gap".into(),
                    text: format!(
                        "no record numbered {missing} between {a}/{year} ({}) and {b}/{year} ({})",
                        where_en(pa),
                        where_en(pb)
                    ),
                    vi: format!(
                        "Thiếu số {missing} giữa {a}/{year} ({}) và {b}/{year} ({})",
                        where_vi(pa),
                        where_vi(pb)
                    ),
                    at: (*pb).clone(),
                    other: Some((*pa).clone()),
                });
            }
        }
    }
}

/// Registration dates go forward down the book. The records out of order are those
/// outside the longest run of dates that never goes back (so one date misread as too
/// late marks that record alone, not every record after it).
fn date_order(recs: &[Rec], out: &mut Vec<Finding>) {
    let dated: Vec<(usize, Date)> = recs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.date("ngayDangKy").filter(|d| d.day.is_some())?)))
        .collect();
    // Longest non-decreasing subsequence (patience sorting), then its members.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; dated.len()];
    for k in 0..dated.len() {
        let key = date_key(&dated[k].1);
        let pos = tails.partition_point(|&t| date_key(&dated[t].1) <= key);
        prev[k] = pos.checked_sub(1).map(|p| tails[p]);
        if pos == tails.len() {
            tails.push(k);
        } else {
            tails[pos] = k;
        }
    }
    let mut in_order = vec![false; dated.len()];
    let mut k = tails.last().copied();
    while let Some(i) = k {
        in_order[i] = true;
        k = prev[i];
    }
    for k in (0..dated.len()).filter(|&k| !in_order[k]) {
        let near = (0..k)
            .rev()
            .find(|&j| in_order[j])
            .or_else(|| (k + 1..dated.len()).find(|&j| in_order[j]));
        let Some(j) = near else { continue };
        let (r, other) = (&recs[dated[k].0], &recs[dated[j].0]);
        let (mine, theirs) = (prev_text(&dated[k].1), prev_text(&dated[j].1));
        out.push(Finding {
            code: "date_order".into(),
            text: format!(
                "registered {mine}, out of order with the records around it ({}: {theirs})",
                where_en(&other.at)
            ),
            vi: format!(
                "Ngày đăng ký {mine} không theo thứ tự các bản ghi xung quanh ({}: {theirs})",
                where_vi(&other.at)
            ),
            at: r.at.clone(),
            other: Some(other.at.clone()),
        });
    }
}

fn prev_text(d: &Date) -> String {
    match (d.day, d.month) {
        (Some(day), Some(m)) => format!("{day:02}.{m:02}.{}", d.year),
        _ => d.year.to_string(),
    }
}

/// A record registered in another year than the book's (the year given, or the year
/// most of the book's records were registered in).
fn wrong_year(recs: &[Rec], given: Option<u32>, out: &mut Vec<Finding>) {
    let year_of = |r: &Rec| r.date("ngayDangKy").map(|d| d.year).or(r.number().map(|(_, y)| y));
    let book_year = given.or_else(|| {
        let mut count: BTreeMap<u32, usize> = BTreeMap::new();
        for y in recs.iter().filter_map(year_of) {
            *count.entry(y).or_default() += 1;
        }
        let total: usize = count.values().sum();
        // A clear majority only: a book that spans two years has none.
        count
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .filter(|(_, n)| *n * 3 >= total * 2)
            .map(|(y, _)| y)
    });
    let Some(book_year) = book_year else { return };
    for r in recs {
        let Some(y) = year_of(r) else { continue };
        if y != book_year {
            out.push(Finding {
                code: "wrong_year".into(),
                text: format!("registered in {y}, the book is of {book_year}"),
                vi: format!("Năm đăng ký {y} khác năm của sổ ({book_year})"),
                at: r.at.clone(),
                other: None,
            });
        }
    }
}

/// Personal ID numbers the record contradicts (sex, birth year), not corrected in review.
fn id_mismatches(recs: &[Rec], out: &mut Vec<Finding>) {
    for r in recs {
        for (id, f) in &r.rec.fields {
            if f.review.is_some() {
                continue;
            }
            for (flag, en, vi) in [
                (Flag::IdSexMismatch, "disagrees with the sex", "không khớp giới tính"),
                (
                    Flag::IdYearMismatch,
                    "disagrees with the birth year",
                    "không khớp năm sinh",
                ),
            ] {
                if f.has(flag) {
                    out.push(Finding {
                        code: "id_mismatch".into(),
                        text: format!("{id} {} {en}", f.final_value()),
                        vi: format!("Số định danh {} ({id}) {vi}", f.final_value()),
                        at: r.at.clone(),
                        other: None,
                    });
                }
            }
        }
    }
}

/// Pages whose own title names another book type than the book's (the type most of its
/// pages told): a page of another book filed in this one.
fn pages_of_another_type(b: &Book, out: &mut Vec<Finding>) {
    let Some(book_type) = crate::booktype::of_pages(b.pages) else {
        return;
    };
    for p in b.pages {
        if p.book_type_from == crate::booktype::TypeFrom::Title && p.book_type != book_type {
            out.push(Finding {
                code: "other_book_type".into(),
                text: format!(
                    "the page's title names a {} book, the book is a {} book",
                    p.book_type, book_type
                ),
                vi: format!(
                    "Tên sổ trên trang là sổ {}, sổ này là sổ {}",
                    crate::booktype::type_name(&p.book_type),
                    crate::booktype::type_name(&book_type)
                ),
                at: place(b.name, p, None),
                other: None,
            });
        }
    }
}

/// Days since 1 March of year 0 (a day count to subtract dates by).
fn day_number(d: &Date) -> Option<i64> {
    let (y, m, day) = (i64::from(d.year), i64::from(d.month?), i64::from(d.day?));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    Some(365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + day - 1)
}

/// A death is registered within this many days of it (Law on Civil Status 2014, art. 33;
/// Decree 158/2005 likewise).
const DEATH_REGISTRATION_DAYS: i64 = 15;

/// Death books: a death before the birth, a registration before the death, and a death
/// registered late (noted: the law of the day allows it, as a late registration).
fn death_dates(recs: &[Rec], out: &mut Vec<Finding>) {
    for r in recs {
        let Some(died) = r.date("nktNgayChet") else { continue };
        let mut push = |code: &str, text: String, vi: String| {
            out.push(Finding {
                code: code.into(),
                text,
                vi,
                at: r.at.clone(),
                other: None,
            });
        };
        if let Some(born) = r
            .date("nktNgaySinh")
            .filter(|b| date_key(b) > date_key(&died) && b.year >= died.year)
        {
            push(
                "death_before_birth",
                format!("died {} before being born {}", died.to_export(), born.to_export()),
                format!("Ngày chết {} trước ngày sinh {}", died.to_export(), born.to_export()),
            );
        }
        let Some(reg) = r.date("ngayDangKy") else { continue };
        match (day_number(&reg), day_number(&died)) {
            (Some(a), Some(b)) if a < b => push(
                "registered_before_death",
                format!("registered {} before the death {}", reg.to_export(), died.to_export()),
                format!("Ngày đăng ký {} trước ngày chết {}", reg.to_export(), died.to_export()),
            ),
            (Some(a), Some(b)) if a - b > DEATH_REGISTRATION_DAYS => push(
                "late_registration",
                format!("death registered {} days after it (late registration)", a - b),
                format!("Đăng ký khai tử sau {} ngày kể từ ngày chết (đăng ký quá hạn)", a - b),
            ),
            _ => {}
        }
    }
}

/// The age a person must have reached to marry, men and women, under the law in force on
/// the registration date: from 2015 (Law on Marriage and Family 2014) full 20 and 18
/// years; before (the 1959, 1986 and 2000 laws: "from 20", "from 18", read as having
/// entered one's 20th and 18th year) 19 and 17 full years.
fn marriage_age(reg: &Date, woman: bool) -> u32 {
    match (reg.year >= 2015, woman) {
        (true, false) => 20,
        (true, true) => 18,
        (false, false) => 19,
        (false, true) => 17,
    }
}

/// Full years from `born` to `on`, at most (a date without day or month counts in the
/// person's favour).
fn age_at_most(born: &Date, on: &Date) -> u32 {
    let years = on.year.saturating_sub(born.year);
    match (born.month, born.day, on.month, on.day) {
        (Some(bm), Some(bd), Some(om), Some(od)) if (om, od) < (bm, bd) => years.saturating_sub(1),
        _ => years,
    }
}

/// Marriage books: a spouse under the marriageable age at registration.
fn marriage_ages(recs: &[Rec], out: &mut Vec<Finding>) {
    for r in recs {
        let Some(reg) = r.date("ngayDangKy") else { continue };
        for (who, woman, en, vi) in [
            ("chong", false, "husband", "Người chồng"),
            ("vo", true, "wife", "Người vợ"),
        ] {
            let Some(born) = r.date(&format!("{who}NgaySinh")) else {
                continue;
            };
            let age = age_at_most(&born, &reg);
            let min = marriage_age(&reg, woman);
            if age < min {
                out.push(Finding {
                    code: "under_age".into(),
                    text: format!(
                        "the {en} was {age} at registration (the law of {} asks {min})",
                        reg.year
                    ),
                    vi: format!("{vi} {age} tuổi khi đăng ký (luật năm {} yêu cầu đủ {min})", reg.year),
                    at: r.at.clone(),
                    other: None,
                });
            }
        }
    }
}

/// One person registered as married in two records of the books (by name and full birth
/// date, as husband or as wife), neither of which notes a divorce or an annulment.
fn married_twice(books: &[Book], out: &mut Vec<Finding>) {
    let norm = |s: &str| crate::template::fold(s);
    let mut seen: BTreeMap<String, Place> = BTreeMap::new();
    let ended = |r: &Rec| {
        let note = norm(&format!("{} {}", r.value("ghiChu"), r.value("tinhTrangKetHon")));
        ["ly hon", "huy", "da chet"].iter().any(|w| note.contains(w))
    };
    for b in books {
        for r in records(b) {
            if ended(&r) {
                continue;
            }
            for who in ["chong", "vo"] {
                let name = norm(r.value(&format!("{who}HoTen")));
                let Some(born) = r.date(&format!("{who}NgaySinh")).filter(|d| d.day.is_some()) else {
                    continue;
                };
                if name.split(' ').count() < 2 {
                    continue;
                }
                let key = format!("{who}|{name}|{:?}", date_key(&born));
                match seen.get(&key) {
                    Some(first) if first.book != r.at.book || first.page != r.at.page || first.row != r.at.row => {
                        out.push(Finding {
                            code: "married_twice".into(),
                            text: format!(
                                "{} registered as married again, first at {}{}, with no divorce noted",
                                r.value(&format!("{who}HoTen")),
                                where_en(first),
                                of_book(first, b.name)
                            ),
                            vi: format!(
                                "{} đã đăng ký kết hôn tại {}{}, không ghi chú ly hôn",
                                r.value(&format!("{who}HoTen")),
                                where_vi(first),
                                of_book(first, b.name)
                            ),
                            at: r.at.clone(),
                            other: Some(first.clone()),
                        });
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key, r.at.clone());
                    }
                }
            }
        }
    }
}

/// A 256-bit perceptual hash of a page image, as 64 hex digits: the written area (the
/// box around its dark pixels) shrunk to 17×16 and each pixel compared with its right
/// neighbour (a difference hash). A page scanned again, shifted, cropped or lit
/// differently, keeps most of its bits.
pub fn page_hash(gray: &image::GrayImage) -> String {
    let (w, h) = gray.dimensions();
    // The box of the dark pixels: each row's first and last.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (y, row) in gray.as_raw().chunks_exact(w.max(1) as usize).enumerate() {
        if let Some(first) = row.iter().position(|&v| v < 128) {
            let last = row.iter().rposition(|&v| v < 128).unwrap_or(first);
            x0 = x0.min(first as u32);
            x1 = x1.max(last as u32);
            y0 = y0.min(y as u32);
            y1 = y1.max(y as u32);
        }
    }
    if x1 <= x0 || y1 <= y0 {
        (x0, y0, x1, y1) = (0, 0, w.max(1) - 1, h.max(1) - 1);
    }
    let area = image::imageops::crop_imm(gray, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    let small = image::imageops::thumbnail(&*area, 17, 16);
    let mut hex = String::with_capacity(64);
    let mut nibble = 0u8;
    let mut bits = 0;
    for y in 0..16 {
        for x in 0..16 {
            let b = small.get_pixel(x + 1, y).0[0] > small.get_pixel(x, y).0[0];
            nibble = (nibble << 1) | u8::from(b);
            bits += 1;
            if bits == 4 {
                hex.push(char::from_digit(u32::from(nibble), 16).expect("a hex digit"));
                (nibble, bits) = (0, 0);
            }
        }
    }
    hex
}

/// A page hash as four 64-bit words (None unless 64 hex digits).
fn hash_words(h: &str) -> Option<[u64; 4]> {
    if h.len() != 64 {
        return None;
    }
    let mut w = [0u64; 4];
    for (i, word) in w.iter_mut().enumerate() {
        *word = u64::from_str_radix(h.get(i * 16..i * 16 + 16)?, 16).ok()?;
    }
    Some(w)
}

/// Bits that differ between two page hashes.
fn bits_apart(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Bits that differ between two hashes (None when one is not a page hash).
#[cfg(test)]
fn hash_distance(a: &str, b: &str) -> Option<u32> {
    Some(bits_apart(&hash_words(a)?, &hash_words(b)?))
}

/// The findings of one book, as a CSV (UTF-8 with a byte-order mark, as the exports).
pub fn csv(findings: &[Finding]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let head = [
        "code",
        "page",
        "row",
        "other_book",
        "other_page",
        "other_row",
        "mô tả",
        "description",
    ];
    crate::export::push_csv_line(&mut out, &head.map(String::from));
    let row = |p: Option<&Place>| p.and_then(|p| p.row).map(|r| r.to_string()).unwrap_or_default();
    for f in findings {
        let o = f.other.as_ref();
        let cells = [
            f.code.clone(),
            f.at.page.clone(),
            row(Some(&f.at)),
            o.map(|p| p.book.clone()).unwrap_or_default(),
            o.map(|p| p.page.clone()).unwrap_or_default(),
            row(o),
            f.vi.clone(),
            f.text.clone(),
        ];
        crate::export::push_csv_line(&mut out, &cells.map(|c| crate::export::neutralised(&c)));
    }
    out.into_bytes()
}

/// The report over every book for the team lead: counts per book and check, then each
/// finding with a link into the review screen at `review_url` (its `#book/page/row`).
pub fn html(books: &[(String, usize)], findings: &[Finding], review_url: &str) -> String {
    let e = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let codes = [
        ("duplicate_page", "Trang quét trùng"),
        ("duplicate_number", "Trùng số đăng ký"),
        ("duplicate_person", "Trùng người"),
        ("number_gap", "Thiếu số"),
        ("date_order", "Ngày đăng ký sai thứ tự"),
        ("wrong_year", "Sai năm"),
        ("id_mismatch", "Số định danh mâu thuẫn"),
    ];
    let link = |p: &Place| {
        let hash = format!("{}/{}/{}", percent(&p.book), percent(&p.page), p.row.unwrap_or(1));
        format!("<a href=\"{}#{}\">{}</a>", e(review_url), e(&hash), e(&where_vi(p)))
    };
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>sohoa · kiểm tra sổ</title>\n<style>\
         body{font:14px/1.4 sans-serif;margin:20px;color:#1d232a}table{border-collapse:collapse;margin:10px 0}\
         th,td{border-bottom:1px solid #dde3e8;padding:3px 10px;text-align:left;vertical-align:top}\
         th{background:#f4f6f7}td.n{text-align:right}</style></head><body>\n<h1>Kiểm tra sổ</h1>\n",
    );
    h.push_str(&format!(
        "<p>{} phát hiện trong {} sổ. Mở máy chủ duyệt (<code>sohoa review</code>) để theo các liên kết.</p>\n",
        findings.len(),
        books.len()
    ));
    h.push_str("<table><tr><th>Sổ</th><th>Trang</th>");
    for (_, label) in &codes {
        h.push_str(&format!("<th>{label}</th>"));
    }
    h.push_str("</tr>\n");
    for (book, pages) in books {
        h.push_str(&format!(
            "<tr><td><a href=\"#{0}\">{0}</a></td><td class=n>{pages}</td>",
            e(book)
        ));
        for (code, _) in &codes {
            let n = findings
                .iter()
                .filter(|f| &f.at.book == book && f.code == *code)
                .count();
            h.push_str(&format!(
                "<td class=n>{}</td>",
                if n > 0 { n.to_string() } else { String::new() }
            ));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    for (book, _) in books {
        let mine: Vec<&Finding> = findings.iter().filter(|f| &f.at.book == book).collect();
        h.push_str(&format!("<h2 id=\"{0}\">{0}</h2>\n", e(book)));
        if mine.is_empty() {
            h.push_str("<p>Không có phát hiện.</p>\n");
            continue;
        }
        h.push_str("<table><tr><th>Kiểm tra</th><th>Ở đâu</th><th>Nội dung</th><th>Liên quan</th></tr>\n");
        for f in mine {
            let label = codes
                .iter()
                .find(|(c, _)| *c == f.code)
                .map_or(f.code.as_str(), |(_, l)| l);
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                e(label),
                link(&f.at),
                e(&f.vi),
                f.other.as_ref().map(&link).unwrap_or_default()
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Why the checks could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The books could not be read or the findings written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What `check_out` found: per book its name, page count and findings.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Book name → findings per code.
    pub books: BTreeMap<String, BTreeMap<String, usize>>,
    /// Every finding.
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// Checks every processed book under `out` (the review applied) and writes each book's
/// `checks.json` and `checks.csv` and the folder's `checks.html`.
pub fn check_out(out: &Path, opts: &CheckOptions, review_url: &str) -> Result<Summary, CheckError> {
    write_checks(out, &crate::review::read_books(out)?, opts, review_url)
}

/// [`check_out`] over books already read.
pub fn write_checks(
    out: &Path,
    read: &[crate::review::ReviewedBook],
    opts: &CheckOptions,
    review_url: &str,
) -> Result<Summary, CheckError> {
    let books: Vec<Book> = read
        .iter()
        .map(|b| Book {
            name: &b.name,
            pages: &b.pages,
        })
        .collect();
    let findings = check(&books, opts);
    let mut summary = Summary::default();
    for b in read {
        let mine: Vec<Finding> = findings.iter().filter(|f| f.at.book == b.name).cloned().collect();
        let counts = summary.books.entry(b.name.clone()).or_default();
        for f in &mine {
            *counts.entry(f.code.clone()).or_default() += 1;
        }
        let dir = crate::store::BookDir::at(&b.dir);
        dir.write(
            CHECKS_JSON,
            &serde_json::to_vec_pretty(&mine).expect("findings serialize"),
        )?;
        dir.write(CHECKS_CSV, &csv(&mine))?;
    }
    let listed: Vec<(String, usize)> = read.iter().map(|b| (b.name.clone(), b.pages.len())).collect();
    crate::store::write_atomic(&out.join(CHECKS_HTML), html(&listed, &findings, review_url).as_bytes())?;
    summary.findings = findings;
    Ok(summary)
}

/// The findings `check_out` wrote for a book (none when it has not run).
pub fn read_findings(book_dir: &Path) -> Vec<Finding> {
    std::fs::read(book_dir.join(CHECKS_JSON))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The path of the report over every book.
pub fn report_path(out: &Path) -> PathBuf {
    out.join(CHECKS_HTML)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldResult, PageOrigin};

    fn page(n: u32, records: &[(&str, &str)]) -> PageResult {
        let origin = PageOrigin {
            source: format!("p{n}.png"),
            frame: 0,
            frames: 1,
            book: "b".into(),
            page: n,
            name: format!("p{n}"),
            sha256: String::new(),
        };
        let mut p = PageResult::named(origin, PageStatus::Ok, &[]);
        for (i, (so, date)) in records.iter().enumerate() {
            let field = |v: &str| FieldResult {
                text: v.into(),
                value: v.into(),
                confidence: 1.0,
                bbox: [0; 4],
                flags: vec![],
                free: None,
                review: None,
            };
            let mut r = RecordResult {
                row: i as u32 + 1,
                bbox: [0; 4],
                fields: Default::default(),
                accepted: None,
            };
            r.fields.insert("so".into(), field(so));
            r.fields.insert("ngayDangKy".into(), field(date));
            p.records.push(r);
        }
        p
    }

    fn codes(f: &[Finding]) -> Vec<(&str, u32, Option<u32>)> {
        f.iter()
            .map(|f| (f.code.as_str(), f.at.page_number, f.at.row))
            .collect()
    }

    /// A page of records given field by field.
    fn typed_page(n: u32, book: &str, records: &[&[(&str, &str)]]) -> PageResult {
        let mut p = page(n, &[]);
        p.book = book.into();
        for (i, fields) in records.iter().enumerate() {
            let mut r = RecordResult {
                row: i as u32 + 1,
                bbox: [0; 4],
                fields: Default::default(),
                accepted: None,
            };
            for (id, v) in *fields {
                r.fields.insert(
                    id.to_string(),
                    FieldResult {
                        text: v.to_string(),
                        value: v.to_string(),
                        confidence: 1.0,
                        bbox: [0; 4],
                        flags: vec![],
                        free: None,
                        review: None,
                    },
                );
            }
            p.records.push(r);
        }
        p
    }

    #[test]
    fn death_and_marriage_books_have_their_own_checks() {
        let deaths = [typed_page(
            1,
            "kt",
            &[
                // Fine: registered three days after.
                &[
                    ("so", "1/1990"),
                    ("nktNgaySinh", "01.01.1920"),
                    ("nktNgayChet", "02.01.1990"),
                    ("ngayDangKy", "05.01.1990"),
                ],
                // Died before being born.
                &[
                    ("so", "2/1990"),
                    ("nktNgaySinh", "01.05.1990"),
                    ("nktNgayChet", "02.01.1990"),
                    ("ngayDangKy", "06.01.1990"),
                ],
                // Registered before the death.
                &[
                    ("so", "3/1990"),
                    ("nktNgaySinh", "1930"),
                    ("nktNgayChet", "20.01.1990"),
                    ("ngayDangKy", "10.01.1990"),
                ],
                // Registered two months after.
                &[
                    ("so", "4/1990"),
                    ("nktNgaySinh", "1930"),
                    ("nktNgayChet", "20.11.1989"),
                    ("ngayDangKy", "20.01.1990"),
                ],
            ],
        )];
        let marriages = [
            typed_page(
                1,
                "kh",
                &[
                    // 19 full years in 1990: of age then (entered his 20th year).
                    &[
                        ("so", "1/1990"),
                        ("chongHoTen", "Trần Văn An"),
                        ("chongNgaySinh", "01.01.1971"),
                        ("voHoTen", "Lê Thị Hoa"),
                        ("voNgaySinh", "01.01.1972"),
                        ("ngayDangKy", "10.02.1990"),
                    ],
                    // A wife of 16.
                    &[
                        ("so", "2/1990"),
                        ("chongHoTen", "Đỗ Văn Nam"),
                        ("chongNgaySinh", "01.01.1960"),
                        ("voHoTen", "Vũ Thị Lan"),
                        ("voNgaySinh", "01.03.1973"),
                        ("ngayDangKy", "12.02.1990"),
                    ],
                ],
            ),
            typed_page(
                1,
                "kh2",
                &[
                    // 19 full years in 2016: under the 2014 law's 20.
                    &[
                        ("so", "1/2016"),
                        ("chongHoTen", "Phạm Văn Tú"),
                        ("chongNgaySinh", "05.09.1996"),
                        ("voHoTen", "Ngô Thị Mai"),
                        ("voNgaySinh", "01.01.1990"),
                        ("ngayDangKy", "10.06.2016"),
                    ],
                    // The same husband as in the first book, no divorce noted.
                    &[
                        ("so", "2/2016"),
                        ("chongHoTen", "Trần Văn  an"),
                        ("chongNgaySinh", "01.01.1971"),
                        ("voHoTen", "Hồ Thị Thu"),
                        ("voNgaySinh", "01.01.1980"),
                        ("ngayDangKy", "12.06.2016"),
                    ],
                    // Married again after a divorce noted: no finding.
                    &[
                        ("so", "3/2016"),
                        ("chongHoTen", "Đỗ Văn Nam"),
                        ("chongNgaySinh", "01.01.1960"),
                        ("voHoTen", "Lý Thị Na"),
                        ("voNgaySinh", "01.01.1970"),
                        ("ngayDangKy", "14.06.2016"),
                        ("ghiChu", "Đã ly hôn năm 2010"),
                    ],
                ],
            ),
        ];
        let books = [
            Book {
                name: "kt",
                pages: &deaths,
            },
            Book {
                name: "kh",
                pages: &marriages[..1],
            },
            Book {
                name: "kh2",
                pages: &marriages[1..],
            },
        ];
        let f = check(&books, &CheckOptions::default());
        let of = |code: &str| -> Vec<(&str, Option<u32>)> {
            f.iter()
                .filter(|x| x.code == code)
                .map(|x| (x.at.book.as_str(), x.at.row))
                .collect()
        };
        assert_eq!(of("death_before_birth"), vec![("kt", Some(2))]);
        assert_eq!(of("registered_before_death"), vec![("kt", Some(3))]);
        assert_eq!(of("late_registration"), vec![("kt", Some(4))]);
        assert_eq!(of("under_age"), vec![("kh", Some(2)), ("kh2", Some(1))]);
        assert_eq!(of("married_twice"), vec![("kh2", Some(2))]);
        let twice = f.iter().find(|x| x.code == "married_twice").unwrap();
        assert_eq!(twice.other.as_ref().map(|o| o.book.as_str()), Some("kh"));
    }

    #[test]
    fn a_page_titled_as_another_books_type_is_found() {
        let mut pages = [
            page(1, &[("1/1990", "02.01.1990")]),
            page(2, &[("2/1990", "03.01.1990")]),
            page(3, &[]),
        ];
        for (p, t) in pages.iter_mut().zip(["kh", "kh", "kt"]) {
            p.book_type = t.into();
            p.book_type_from = crate::booktype::TypeFrom::Title;
        }
        let f = check(
            &[Book {
                name: "b",
                pages: &pages,
            }],
            &CheckOptions::default(),
        );
        let found: Vec<_> = f
            .iter()
            .filter(|x| x.code == "other_book_type")
            .map(|x| x.at.page_number)
            .collect();
        assert_eq!(found, [3]);
    }

    #[test]
    fn one_late_date_is_the_one_out_of_order_not_every_record_after_it() {
        let pages = [page(
            1,
            &[
                ("1/1990", "02.01.1990"),
                ("2/1990", "20.12.1990"), // misread: far too late
                ("3/1990", "05.01.1990"),
                ("4/1990", "09.01.1990"),
                ("5/1990", "11.01.1990"),
            ],
        )];
        let f = check(
            &[Book {
                name: "b",
                pages: &pages,
            }],
            &CheckOptions::default(),
        );
        assert_eq!(codes(&f), vec![("date_order", 1, Some(2))]);
    }

    #[test]
    fn gaps_are_found_and_a_stray_year_joins_the_books() {
        let pages = [
            page(1, &[("1/1990", ""), ("2/1990", ""), ("3/1989", "")]),
            page(2, &[("5/1990", ""), ("6/1990", "")]),
        ];
        let f = check(
            &[Book {
                name: "b",
                pages: &pages,
            }],
            &CheckOptions::default(),
        );
        // 3/1989 fills its place in 1990's run (no gap at 3), and is of another year than
        // the book's (most of its records).
        assert_eq!(codes(&f), vec![("wrong_year", 1, Some(3)), ("number_gap", 2, Some(1))]);
        assert!(f[1].text.contains("no record numbered 4/1990"), "{}", f[1].text);
        // A book of 1989 given: every other record is of another year.
        let f = check(
            &[Book {
                name: "b",
                pages: &pages,
            }],
            &CheckOptions { book_year: Some(1989) },
        );
        assert_eq!(f.iter().filter(|f| f.code == "wrong_year").count(), 4);
    }

    #[test]
    fn hashes_and_words_compare() {
        let mut img = image::GrayImage::from_pixel(200, 300, image::Luma([250]));
        for y in 40..260 {
            for x in 30..(30 + y % 140) {
                img.put_pixel(x, y, image::Luma([20]));
            }
        }
        let a = page_hash(&img);
        assert_eq!(a.len(), 64);
        // The same page shifted on a larger sheet: the written area hashes the same.
        let mut shifted = image::GrayImage::from_pixel(230, 320, image::Luma([250]));
        image::imageops::overlay(&mut shifted, &img, 20, 12);
        assert!(hash_distance(&a, &page_hash(&shifted)).unwrap() <= 8);
        let w = |s: &str| words_of(s);
        assert_eq!(word_overlap(&w("Trần Văn An, Huế"), &w("trần văn an huế")), 1.0);
        assert!(word_overlap(&w("Trần Văn An Huế"), &w("Lê Thị Bình Huế")) < 0.3);
    }
}
