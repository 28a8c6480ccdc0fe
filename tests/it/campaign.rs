//! A campaign split across processes: shards run at once on one output folder, then
//! `sohoa report` — the same outputs as one whole run.

use crate::common::*;
use sohoa::batch::Shard;
use std::path::Path;

/// Every file of a book's outputs, by path relative to the book, with its bytes.
fn files(book: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(book)
        .into_iter()
        .flatten()
        // `.outputs.sha256` holds the restored images' times: bookkeeping, not an output.
        .filter(|e| e.file_type().is_file() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let rel = e.path().strip_prefix(book).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Three one-page books of the samples in `dir/in`, not all in one of two shards;
/// returns the input folder and the books' names.
fn three_books(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let input = dir.join("in");
    let halves = [Shard { index: 0, count: 2 }, Shard { index: 1, count: 2 }];
    let names: Vec<String> = (1..)
        .map(|i| format!("so-{i}"))
        .take(12)
        .collect::<Vec<_>>()
        .windows(3)
        .map(|w| w.to_vec())
        .find(|w| halves.iter().all(|h| w.iter().any(|n| h.holds(n))))
        .expect("three names split across two shards");
    for (name, page) in names.iter().zip(["trang-1.png", "trang-2.jpg", "trang-3.tif"]) {
        std::fs::create_dir_all(input.join(name)).unwrap();
        std::fs::copy(samples().join("books/ks-1983").join(page), input.join(name).join(page)).unwrap();
    }
    (input, names)
}

#[test]
fn two_shards_at_once_and_a_report_give_what_one_run_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, names) = three_books(tmp.path());
    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    let (whole, sharded) = (tmp.path().join("whole"), tmp.path().join("sharded"));
    process_into(&input, &whole, &["--no-record-pdfs"], &epoch);
    run_ok(sohoa().arg("report").arg(&whole));

    // Both shards at once on one folder (they share it; each has its own books).
    let shard = |k: &str| {
        sohoa()
            .envs(epoch)
            .args(["process", "--no-progress", "--no-record-pdfs", "--shard", k, "--out"])
            .arg(&sharded)
            .arg(&input)
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (shard("0/2"), shard("1/2"));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    for k in 0..2 {
        let r = read_json(&sharded.join(format!("report-shard-{k}-of-2.json")));
        assert_eq!(r["shard"], format!("{k}/2"));
        assert!(r["books"].as_u64().unwrap() >= 1, "shard {k} had books");
    }
    assert!(!sharded.join("report.json").exists(), "shards write their own reports");
    let said = run_ok(sohoa().arg("report").arg(&sharded));
    assert!(String::from_utf8_lossy(&said.stdout).contains("total: 3 pages"));

    // Byte for byte the same book outputs, checks included, and the same figures.
    for name in &names {
        let (w, s) = (files(&whole.join(name)), files(&sharded.join(name)));
        assert_eq!(w.keys().collect::<Vec<_>>(), s.keys().collect::<Vec<_>>(), "{name}");
        for (path, bytes) in &w {
            assert!(bytes == &s[path], "{name}/{path} differs");
        }
    }
    let (cw, cs) = (
        read_json(&whole.join("campaign.json")),
        read_json(&sharded.join("campaign.json")),
    );
    assert_eq!(cw["books"], cs["books"]);
    assert_eq!(cw["total"], cs["total"]);
    assert_eq!(cs["runs"].as_array().unwrap().len(), 2, "one line per shard");
    assert_eq!(cw["total"]["pages"], 3);
    assert!(std::fs::read_to_string(sharded.join("campaign.html"))
        .unwrap()
        .contains("Tổng"));

    // A whole run cannot start while a shard holds the folder, nor a shard twice.
    let held = sohoa::store::OutLock::take_shared(&sharded).unwrap();
    let (code, err) = process_status(&input, &sharded, &[]);
    assert_eq!(code, Some(1), "{err}");
    drop(held);
    let held = sohoa::store::OutLock::take_named(&sharded, ".sohoa-shard-0-of-2.lock").unwrap();
    let (code, err) = process_status(&input, &sharded, &["--shard", "0/2"]);
    assert_eq!(code, Some(1), "{err}");
    drop(held);
}

#[test]
fn a_rerun_rebuilds_no_book_when_nothing_changed_and_only_the_book_whose_page_did() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, names) = three_books(tmp.path());
    let out = tmp.path().join("out");
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    let first = read_json(&out.join("report.json"));
    assert_eq!(first["books_rebuilt"].as_array().unwrap().len(), 3);
    let pdf = out.join(&names[0]).join(format!("{}.pdf", names[0]));
    let written = std::fs::metadata(&pdf).unwrap().modified().unwrap();

    // Nothing changed: nothing read, nothing rebuilt, the files untouched.
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    let again = read_json(&out.join("report.json"));
    assert_eq!(again["pages_processed"], 0);
    assert_eq!(again["books_rebuilt"], serde_json::json!([]));
    assert_eq!(std::fs::metadata(&pdf).unwrap().modified().unwrap(), written);

    // One page of the second book replaced by another scan: that book alone is rebuilt.
    let page = input.join(&names[1]).join("trang-2.jpg");
    std::fs::remove_file(&page).unwrap();
    std::fs::copy(
        samples().join("books/ks-1983/trang-1.png"),
        input.join(&names[1]).join("trang-2.png"),
    )
    .unwrap();
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    let changed = read_json(&out.join("report.json"));
    assert_eq!(changed["pages_processed"], 1);
    assert_eq!(changed["books_rebuilt"], serde_json::json!([names[1]]));
    // A review change to the third book's page, through its journal: that book alone.
    let p = read_json(&out.join(&names[2]).join("pages/trang-3.json"));
    let entry = serde_json::json!({
        "at": "2026-01-01T00:00:00Z", "by": "lan", "page": "trang-3", "sha256": p["sha256"],
        "kind": "accept", "row": 1, "accepted": true,
    });
    std::fs::write(out.join(&names[2]).join("review.jsonl"), format!("{entry}\n")).unwrap();
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    assert_eq!(
        read_json(&out.join("report.json"))["books_rebuilt"],
        serde_json::json!([names[2]])
    );
    // A deleted output is made again.
    std::fs::remove_file(out.join(&names[0]).join("records.xlsx")).unwrap();
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    assert_eq!(
        read_json(&out.join("report.json"))["books_rebuilt"],
        serde_json::json!([names[0]])
    );
    assert!(out.join(&names[0]).join("records.xlsx").is_file());
}
