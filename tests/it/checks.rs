//! Book checks on a synthetic book with problems planted in it (`sohoa synth --set
//! checks`): each is reported where it was planted, and nothing else on the clean pages.

use crate::common::*;
use serde_json::Value;

fn findings(out: &std::path::Path) -> Vec<Value> {
    read_json(&out.join("so-1990/checks.json")).as_array().unwrap().clone()
}

/// (code, page, row) of each finding.
fn places(f: &[Value]) -> Vec<(String, String, Option<u64>)> {
    f.iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["at"]["page"].as_str().unwrap().to_string(),
                f["at"]["row"].as_u64(),
            )
        })
        .collect()
}

fn has(f: &[(String, String, Option<u64>)], code: &str, page: &str, row: Option<u64>) -> bool {
    f.iter().any(|(c, p, r)| c == code && p == page && *r == row)
}

#[test]
fn book_checks_find_the_rescanned_page_the_repeated_record_the_gap_and_the_wrong_year() {
    let tmp = tempfile::tempdir().unwrap();
    let syn = tmp.path().join("syn");
    run_ok(
        sohoa()
            .args(["synth", "--set", "checks", "--book", "so-1990", "--out"])
            .arg(&syn),
    );
    let out = tmp.path().join("out");
    process_into(&syn.join("books"), &out, &["--no-record-pdfs"], &[]);

    let all = findings(&out);
    let f = places(&all);
    // Number 17 is missing before page 3.
    let gap = all.iter().find(|x| x["code"] == "number_gap").expect("the gap");
    assert!(gap["text"].as_str().unwrap().contains("17/1990"), "{gap}");
    assert!(has(&f, "number_gap", "trang-3", Some(1)));
    // Page 4's third record entered again below itself: same number, same person.
    assert!(has(&f, "duplicate_number", "trang-4", Some(4)), "{f:?}");
    assert!(has(&f, "duplicate_person", "trang-4", Some(4)), "{f:?}");
    let dup = all
        .iter()
        .find(|x| x["code"] == "duplicate_person" && x["at"]["page"] == "trang-4")
        .unwrap();
    assert_eq!(dup["other"]["row"], 3);
    // Its seventh, registered in 1989.
    assert!(has(&f, "wrong_year", "trang-4", Some(7)), "{f:?}");
    // Page 5 is page 2 scanned again: said once, for the page.
    let dup_pages: Vec<&Value> = all.iter().filter(|x| x["code"] == "duplicate_page").collect();
    assert_eq!(dup_pages.len(), 1, "{dup_pages:?}");
    assert_eq!(
        (
            dup_pages[0]["at"]["page"].as_str(),
            dup_pages[0]["other"]["page"].as_str()
        ),
        (Some("trang-5"), Some("trang-2"))
    );
    // Nothing else on the clean pages (pages that look alike are not duplicates).
    let clean: Vec<_> = f
        .iter()
        .filter(|(c, p, r)| {
            ["trang-1", "trang-2", "trang-3"].contains(&p.as_str())
                && !(c == "number_gap" && p == "trang-3" && *r == Some(1))
        })
        .collect();
    assert!(clean.is_empty(), "findings on clean pages: {clean:?}");

    // The files: a CSV a spreadsheet opens, the report with links into the review screen,
    // the counts in report.json.
    let csv = std::fs::read_to_string(out.join("so-1990/checks.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + all.len());
    assert!(csv.starts_with("\u{feff}code,page,row"));
    let html = std::fs::read_to_string(out.join("checks.html")).unwrap();
    assert!(
        html.contains("href=\"http://127.0.0.1:8377/#so-1990/trang-4/7\""),
        "a link to the wrong year"
    );
    assert!(html.contains("Sai năm"));
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["checks"]["wrong_year"], 1);

    // An officer corrects the year in review: the next check no longer reports it.
    let page4 = read_json(&out.join("so-1990/pages/trang-4.json"));
    let date = page4["records"][6]["fields"]["ngayDangKy"]["value"]
        .as_str()
        .unwrap()
        .replace("1989", "1990");
    let entry = serde_json::json!({
        "at": "2026-01-01T00:00:00Z", "by": "lan", "page": "trang-4", "sha256": page4["sha256"],
        "kind": "field", "row": 7, "field": "ngayDangKy", "value": date,
    });
    std::fs::write(out.join("so-1990/review.jsonl"), format!("{entry}\n")).unwrap();
    let said = run_ok(sohoa().arg("check").arg(&out));
    let stdout = String::from_utf8_lossy(&said.stdout);
    assert!(stdout.starts_with("so-1990: "), "{stdout}");
    assert!(!has(&places(&findings(&out)), "wrong_year", "trang-4", Some(7)));
}
