//! The campaign report (`sohoa report OUT`): one view of every book in an output folder,
//! whichever runs or shards wrote them — pages by status and by reason, records, review
//! progress per officer, what the book checks found, and the throughput of each run.
//! Written as `OUT/campaign.json` and `OUT/campaign.html` for the team lead.

use crate::checks::{CheckError, CheckOptions};
use crate::model::PageStatus;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// File names of the report, in OUT.
pub const CAMPAIGN_JSON: &str = "campaign.json";
/// See [`CAMPAIGN_JSON`].
pub const CAMPAIGN_HTML: &str = "campaign.html";

/// One book's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BookFigures {
    /// The book's type (`ks`, `kh`, `kt`, …; empty in sums over several types).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub book_type: String,
    /// Pages.
    pub pages: usize,
    /// Pages by final status (the officer's verdict when there is one).
    pub status: BTreeMap<String, usize>,
    /// Reason codes of the pages (`unreadable`, `no_records`, …) and how many pages
    /// carry each.
    pub reasons: BTreeMap<String, usize>,
    /// Records on pages whose final status is `ok`.
    pub records: usize,
    /// Of those, confirmed in review.
    pub confirmed: usize,
    /// Each officer's work in review.
    pub officers: BTreeMap<String, crate::review::team::OfficerWork>,
    /// Findings of the book checks, by code.
    pub checks: BTreeMap<String, usize>,
}

/// A run that wrote to OUT, as its report says.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Run {
    /// Its report file.
    pub report: String,
    /// The shard it was, if one.
    pub shard: Option<String>,
    /// Pages it read.
    pub pages_processed: u64,
    /// Its wall time, seconds.
    pub elapsed_s: f64,
    /// Pages read per minute of its wall time.
    pub pages_per_minute: f64,
    /// Its worker threads.
    pub jobs: u64,
    /// Its peak memory, MB.
    pub peak_memory_mb: f64,
}

/// The campaign report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Campaign {
    /// Every book, by name.
    pub books: BTreeMap<String, BookFigures>,
    /// The sums over the books of each type.
    pub by_type: BTreeMap<String, BookFigures>,
    /// The sums over the books.
    pub total: BookFigures,
    /// The runs whose reports are in OUT (the last whole run and each shard's last run).
    pub runs: Vec<Run>,
}

/// Builds the campaign report over OUT: runs the book checks over every book (writing
/// their files), then writes `campaign.json` and `campaign.html`.
pub fn report(out: &Path, opts: &CheckOptions, review_url: &str) -> Result<Campaign, CheckError> {
    let read = crate::review::read_books(out)?;
    let summary = crate::checks::write_checks(out, &read, opts, review_url)?;
    let given = Some(crate::review::book_type_of(out)).filter(|t| !t.eq_ignore_ascii_case("auto"));
    let mut c = Campaign::default();
    for b in read {
        let mut f = BookFigures {
            book_type: crate::booktype::of_book(given.as_deref(), &b.pages),
            pages: b.pages.len(),
            checks: summary.books.get(&b.name).cloned().unwrap_or_default(),
            ..Default::default()
        };
        for p in &b.pages {
            *f.status.entry(p.final_status().as_str().to_string()).or_default() += 1;
            for r in &p.reason_codes {
                *f.reasons.entry(r.code.clone()).or_default() += 1;
            }
            if p.final_status() == PageStatus::Ok {
                f.records += p.records.len();
                f.confirmed += p.records.iter().filter(|r| r.accepted.is_some()).count();
            }
        }
        f.officers = crate::review::team::work_by_officer(&crate::review::read_journal(&b.dir).0);
        add(&mut c.total, &f);
        add(c.by_type.entry(f.book_type.clone()).or_default(), &f);
        c.books.insert(b.name, f);
    }
    c.runs = runs(out);
    let json = serde_json::to_vec_pretty(&c).expect("the report serializes");
    crate::store::write_atomic(&out.join(CAMPAIGN_JSON), &json)?;
    crate::store::write_atomic(&out.join(CAMPAIGN_HTML), html(&c).as_bytes())?;
    Ok(c)
}

fn add(total: &mut BookFigures, f: &BookFigures) {
    total.pages += f.pages;
    total.records += f.records;
    total.confirmed += f.confirmed;
    for (into, from) in [
        (&mut total.status, &f.status),
        (&mut total.reasons, &f.reasons),
        (&mut total.checks, &f.checks),
    ] {
        for (k, v) in from {
            *into.entry(k.clone()).or_default() += v;
        }
    }
    for (name, w) in &f.officers {
        let t = total.officers.entry(name.clone()).or_default();
        t.fields += w.fields;
        t.accepted += w.accepted;
        t.pages += w.pages;
        if w.last > t.last {
            t.last = w.last.clone();
        }
    }
}

/// The runs whose reports lie in OUT (`report.json`, `report-shard-*.json`).
fn runs(out: &Path) -> Vec<Run> {
    let mut files: Vec<String> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n == "report.json" || (n.starts_with("report-shard-") && n.ends_with(".json")))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|name| {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(&name)).ok()?).ok()?;
            Some(Run {
                shard: v["shard"].as_str().map(str::to_string),
                pages_processed: v["pages_processed"].as_u64().unwrap_or(0),
                elapsed_s: v["elapsed_s"].as_f64().unwrap_or(0.0),
                pages_per_minute: v["pages_per_minute"].as_f64().unwrap_or(0.0),
                jobs: v["jobs"].as_u64().unwrap_or(0),
                peak_memory_mb: v["peak_memory_mb"].as_f64().unwrap_or(0.0),
                report: name,
            })
        })
        .collect()
}

/// The report as a page a team lead opens.
pub fn html(c: &Campaign) -> String {
    let e = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let counts = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{} {v}", e(k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>sohoa · báo cáo chiến dịch</title>\n<style>\
         body{font:14px/1.4 sans-serif;margin:20px;color:#1d232a}table{border-collapse:collapse;margin:10px 0}\
         th,td{border-bottom:1px solid #dde3e8;padding:3px 10px;text-align:left;vertical-align:top}\
         th{background:#f4f6f7}td.n{text-align:right}tr.total td{font-weight:600}</style></head><body>\n\
         <h1>Báo cáo chiến dịch số hóa</h1>\n",
    );
    h.push_str(
        "<table><tr><th>Sổ</th><th>Loại sổ</th><th>Trang</th><th>Theo trạng thái</th><th>Lý do</th><th>Bản ghi</th>\
         <th>Đã duyệt</th><th>Kiểm tra sổ</th></tr>\n",
    );
    let row = |name: &str, f: &BookFigures, class: &str| {
        format!(
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>\n",
            e(name),
            if f.book_type.is_empty() { String::new() } else { e(crate::booktype::type_name(&f.book_type)) },
            f.pages,
            counts(&f.status),
            counts(&f.reasons),
            f.records,
            f.confirmed,
            counts(&f.checks)
        )
    };
    for (name, f) in &c.books {
        h.push_str(&row(name, f, ""));
    }
    if c.by_type.len() > 1 {
        for (t, f) in &c.by_type {
            h.push_str(&row(&format!("Sổ {}", crate::booktype::type_name(t)), f, "total"));
        }
    }
    h.push_str(&row("Tổng", &c.total, "total"));
    h.push_str("</table>\n<h2>Cán bộ duyệt</h2>\n");
    if c.total.officers.is_empty() {
        h.push_str("<p>Chưa có thay đổi nào trong duyệt.</p>\n");
    } else {
        h.push_str("<table><tr><th>Cán bộ</th><th>Ô đã sửa</th><th>Bản ghi đã duyệt</th><th>Trang đã xét</th><th>Lần cuối</th></tr>\n");
        for (name, w) in &c.total.officers {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>\n",
                e(name),
                w.fields,
                w.accepted,
                w.pages,
                e(&w.last)
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Các lần chạy</h2>\n<table><tr><th>Báo cáo</th><th>Phân đoạn</th><th>Trang đã đọc</th><th>Thời gian (s)</th><th>Trang/phút</th><th>Luồng</th><th>Bộ nhớ đỉnh (MB)</th></tr>\n");
    for r in &c.runs {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>\n",
            e(&r.report),
            e(r.shard.as_deref().unwrap_or("")),
            r.pages_processed,
            r.elapsed_s,
            r.pages_per_minute,
            r.jobs,
            r.peak_memory_mb
        ));
    }
    h.push_str("</table>\n<p>Chi tiết từng phát hiện của kiểm tra sổ: <a href=\"checks.html\">checks.html</a>.</p>\n</body></html>\n");
    h
}
