//! The line model: committed line crops read right, the same logits as the reference
//! runtime, real handwritten lines within the targets, pages in handwriting faces, real
//! handwritten pages judged readable, the training set from review, a missing model.

use crate::common::*;
use serde_json::Value;
use sohoa::ocr::constrain::Lexicons;
use sohoa::ocr::field::read_line_images;
use sohoa::ocr::{LineModel, ModelFiles};
use sohoa::template::{FieldKind, Vocabulary};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn model() -> LineModel {
    let files = ModelFiles::locate(None).expect("line model installed (scripts/setup)");
    LineModel::load(&files).expect("line model loads")
}

fn gray(path: &Path) -> image::GrayImage {
    image::open(path).unwrap().into_luma8()
}

#[test]
fn a_typed_and_a_handwritten_line_are_read_with_every_mark() {
    let mut m = model();
    let lex = Lexicons::builtin(&Vocabulary::builtin());
    let lines = [gray(&fixture("line-typed.png")), gray(&fixture("line-hand.png"))];
    let got = read_line_images(&mut m, &lines, None, &lex).unwrap();
    assert_eq!(got[0].text, "Nguyễn Thị Hằng, Xã Yên Sở");
    assert_eq!(got[1].text, "Trần Văn Đức, huyện Hoài Đức");
    for r in &got {
        assert!(r.confidence > 0.5, "{r:?}");
        // Words placed on the line, left to right.
        assert_eq!(r.words.len(), r.text.split(' ').count());
        assert!(r.words.windows(2).all(|w| w[0].bbox[0] < w[1].bbox[0]), "{:?}", r.words);
    }
}

#[test]
fn the_line_model_reads_behind_the_recognizer_trait_too() {
    use sohoa::ocr::{ReadMode, Recognizer};
    let mut m = model();
    let img = gray(&fixture("line-hand.png"));
    let words = m.read(&img, 300, ReadMode::Line).unwrap();
    let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(text.join(" "), "Trần Văn Đức, huyện Hoài Đức");
    // Two lines stacked: a block is split into its lines and read in order.
    let typed = gray(&fixture("line-typed.png"));
    let mut block = image::GrayImage::from_pixel(img.width().max(typed.width()), 80, image::Luma([255]));
    image::imageops::replace(&mut block, &typed, 0, 0);
    image::imageops::replace(&mut block, &img, 0, 44);
    let words = m.read(&block, 300, ReadMode::Block).unwrap();
    let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(
        text.join(" "),
        "Nguyễn Thị Hằng, Xã Yên Sở Trần Văn Đức, huyện Hoài Đức"
    );
}

#[test]
fn the_line_model_gives_the_reference_runtimes_log_probabilities() {
    // Recorded with onnxruntime 1.32.0's Python binding on the same crop, its contrast
    // stretched as `ocr::line::stretch` does (integers, the darkest and lightest 1%), scaled
    // to [0, 1] and padded with paper to a multiple of four columns.
    let bytes = std::fs::read(fixture("line-typed.logits")).unwrap();
    let want: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let img = gray(&fixture("line-typed.png"));
    let got = model().read_lines(&[&img]).unwrap().remove(0);
    assert_eq!(got.log_probs.len(), want.len(), "{} frames", got.frames);
    let worst = largest_difference(&got.log_probs, &want);
    assert!(worst < 1e-4, "largest difference {worst}");
}

#[test]
fn real_handwritten_address_lines_are_read_within_the_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hand-dev");
    let Ok(labels) = std::fs::read_to_string(root.join("labels.tsv")) else {
        eprintln!("skipped: {} is absent", root.display());
        return;
    };
    use unicode_normalization::UnicodeNormalization;
    let mut m = model();
    let lex = Lexicons::builtin(&Vocabulary::builtin());
    let (mut free, mut place, mut chars) = (0, 0, 0);
    // Every other line: the test's own share of the set.
    for line in labels.lines().step_by(2) {
        let (path, truth) = line.split_once('\t').unwrap();
        let truth: Vec<char> = truth.nfc().collect();
        let img = gray(&root.join(path));
        let r = read_line_images(&mut m, &[img], Some(FieldKind::Place), &lex).unwrap();
        let cer = |s: &str| sohoa::template::edit_distance(&s.nfc().collect::<Vec<char>>(), &truth);
        free += cer(&r[0].free);
        place += cer(&r[0].text);
        chars += truth.len();
    }
    let (free, place) = (free as f64 / chars as f64, place as f64 / chars as f64);
    eprintln!("hand-dev: free CER {free:.3}, --field place {place:.3}");
    assert!(free <= 0.30 && place <= 0.20, "free {free:.3}, place {place:.3}");
}

#[test]
fn pages_in_handwriting_faces_are_read_record_by_record() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    run_ok(
        sohoa()
            .args([
                "synth", "--set", "script", "--pages", "3", "--seed", "31", "--book", "hand", "--out",
            ])
            .arg(&set),
    );
    let out = tmp.path().join("out");
    process_into(&set.join("books"), &out, &["--no-record-pdfs"], &[]);
    let eval = run_ok(sohoa().arg("eval").arg(&out).arg(set.join("truth")));
    let e: Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(e["records_found"], e["records_expected"], "{e}");
    assert!(e["field_cer"].as_f64().unwrap() <= 0.15, "{e}");
    // Fields read constrained keep the free reading when it differs.
    let page = read_json(&out.join("hand/pages/trang-1.json"));
    assert_eq!(page["status"], "ok", "{}", page["reasons"]);
}

#[test]
fn real_handwritten_pages_are_not_judged_unreadable() {
    let Some(root) = crate::common::shared_data("dibco-dev") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in/h");
    std::fs::create_dir_all(&book).unwrap();
    for year in std::fs::read_dir(&root).unwrap().flatten() {
        for e in std::fs::read_dir(year.path().join("Originals")).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains("-H") {
                std::fs::copy(e.path(), book.join(&name)).unwrap();
            }
        }
    }
    let out = tmp.path().join("out");
    // The scans state no resolution: it is inferred page by page, as a user would run it.
    process_into(&tmp.path().join("in"), &out, &["--no-record-pdfs"], &[]);
    let report = read_json(&out.join("report.json"));
    let pages = report["pages"].as_u64().unwrap();
    // Letters and forms without a register's table: readable, to be entered by hand.
    let ok =
        report["status_counts"]["ok"].as_u64().unwrap_or(0) + report["status_counts"]["manual"].as_u64().unwrap_or(0);
    assert!(
        pages >= 30 && ok * 100 >= pages * 95,
        "{ok} of {pages} handwritten pages readable"
    );
}

#[test]
fn dataset_holds_the_corrected_and_confirmed_values_and_nothing_unreviewed() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_dir(&samples().join("books"), &input);
    let out = tmp.path().join("out");
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    let book = out.join("ks-1983");
    let page = |name: &str| read_json(&book.join(format!("pages/{name}.json")));
    let (p1, p2) = (page("trang-1"), page("trang-2"));
    let entry = |p: &Value, change: Value| {
        let mut e = serde_json::json!({
            "at": "2026-11-22T10:00:00Z", "by": "lan", "page": p["name"], "sha256": p["sha256"],
        });
        e.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        serde_json::from_value::<sohoa::review::Entry>(e).unwrap()
    };
    sohoa::review::append_journal(
        &book,
        &entry(
            &p1,
            serde_json::json!({"kind": "field", "row": 1, "field": "nksHoTen", "value": "Hoàng Thu Hợp Đã Sửa"}),
        ),
    )
    .unwrap();
    // A corrected date is exported normalized: it does not become a line.
    sohoa::review::append_journal(
        &book,
        &entry(
            &p1,
            serde_json::json!({"kind": "field", "row": 1, "field": "nksNgaySinh", "value": "01.01.1983"}),
        ),
    )
    .unwrap();
    sohoa::review::append_journal(
        &book,
        &entry(&p2, serde_json::json!({"kind": "accept", "row": 3, "accepted": true})),
    )
    .unwrap();
    let dir = tmp.path().join("set");
    run_ok(sohoa().arg("dataset").arg(&out).arg("--out").arg(&dir));
    let labels = std::fs::read_to_string(dir.join("labels.tsv")).unwrap();
    let rows: Vec<(&str, &str)> = labels.lines().map(|l| l.split_once('\t').unwrap()).collect();
    assert!(
        rows.iter()
            .any(|(f, t)| f.contains("trang-1-r1-nksHoTen") && *t == "Hoàng Thu Hợp Đã Sửa"),
        "{labels}"
    );
    assert!(!labels.contains("nksNgaySinh"), "{labels}");
    // The confirmed record gives its written fields (names, places, …) with their values.
    let rec = &p2["records"][2]["fields"];
    assert!(
        rows.iter()
            .any(|(f, t)| f.contains("trang-2-r3-meHoTen") && *t == rec["meHoTen"]["value"].as_str().unwrap()),
        "{labels}"
    );
    // Nothing from a record nobody looked at.
    assert!(
        rows.iter()
            .all(|(f, _)| f.contains("trang-1-r1-") || f.contains("trang-2-r3-")),
        "{labels}"
    );
    for (f, _) in &rows {
        let img = image::open(dir.join(f)).unwrap();
        assert!(img.width() > img.height(), "{f}: a line is wider than high");
    }
    let meta = std::fs::read_to_string(dir.join("meta.tsv")).unwrap();
    assert!(
        meta.contains("\tcorrected\tlan\t") && meta.contains("\tconfirmed\tlan\t"),
        "{meta}"
    );
}

#[test]
fn a_missing_line_model_is_named_with_the_way_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sohoa()
        .args([
            "process",
            "--no-progress",
            "--line-model",
            "/nonexistent/asternet.onnx",
            "--out",
        ])
        .arg(tmp.path().join("out"))
        .arg(samples().join("books"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line model is missing")
            && err.contains("/nonexistent/asternet.onnx")
            && err.contains("scripts/setup"),
        "{err}"
    );
    assert!(!tmp.path().join("out/ks-1983/pages").exists(), "no page was read");
}
