//! Every book a campaign brings, read without a book-type flag: each book's type told by
//! its pages' titles (or headings), its fields read under that type's headings (a band
//! over each spouse's columns), its export in the type's import layout and its record
//! PDFs named with the type's prefix.

use crate::common::*;
use serde_json::Value;
use sohoa::synth::{render_page, PageSpec, SynthBook, TruthPage};
use std::path::Path;

/// Draws `spec` into `dir/<file>`; with `cover_to_mm`, the page above that line (title and
/// header) made transparent, as a page whose top is covered.
fn draw(dir: &Path, spec: &PageSpec, cover_to_mm: Option<f32>) -> TruthPage {
    let (page, truth) = render_page(spec).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(&spec.file);
    match cover_to_mm {
        None => std::fs::write(&path, sohoa::encode::page_file(&page, &spec.file, Some(spec.dpi))).unwrap(),
        Some(mm) => {
            // The rule nearest that line is the header's foot: cover down to just above it.
            let (w, h) = page.dimensions();
            let want = (mm / 25.4 * spec.dpi) as i64;
            let foot = (0..h)
                .filter(|&y| (0..w).filter(|&x| page.get_pixel(x, y).0[0] < 128).count() * 10 > w as usize * 6)
                .min_by_key(|&y| (y as i64 - want).abs())
                .unwrap();
            let covered = image::RgbaImage::from_fn(w, h, |x, y| {
                let v = page.get_pixel(x, y).0[0];
                if y + 3 < foot {
                    image::Rgba([0, 0, 0, 0])
                } else {
                    image::Rgba([v, v, v, 255])
                }
            });
            covered.save(&path).unwrap();
        }
    }
    truth
}

fn typed(file: &str, book: SynthBook, seed: u64, records: u32) -> PageSpec {
    PageSpec {
        book,
        records,
        first_number: 7,
        ..PageSpec::ledger(file, 200.0, seed)
    }
}

fn value<'a>(page: &'a Value, rec: usize, field: &str) -> &'a str {
    page["records"][rec]["fields"][field]["value"].as_str().unwrap_or("")
}

fn codes(page: &Value) -> Vec<String> {
    page["reason_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

/// The Ministry's columns of a type: the shared copy of the import templates when present,
/// else the built-in one.
fn ministry_columns(code: &str) -> Vec<String> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/docs/moj-import-columns.json");
    match std::fs::read(&shared) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            v["columns"][code.to_uppercase()]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        }
        Err(_) => sohoa::template::Vocabulary::builtin()
            .export_columns(code)
            .unwrap()
            .clone(),
    }
}

fn csv_header(book: &Path) -> String {
    let csv = std::fs::read_to_string(book.join("records.csv")).unwrap();
    csv.trim_start_matches('\u{feff}').lines().next().unwrap().to_string()
}

/// A marriage book (another printing: the wife's band first; and a page whose title and
/// header are covered), a death book, a birth book and a book whose only page tells
/// nothing, in one folder, processed with no book-type flag.
#[test]
fn books_of_each_type_in_one_folder_are_told_and_read_without_a_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let kh_spec = PageSpec {
        alt: true,
        ..typed("trang-1.png", SynthBook::Kh, 71, 5)
    };
    let kh = draw(&input.join("kh-1996"), &kh_spec, None);
    // Title, band and headings covered (the header's foot 42 mm down).
    let kh_covered = draw(
        &input.join("kh-1996"),
        &typed("trang-2.png", SynthBook::Kh, 72, 4),
        Some(42.0),
    );
    let kt = draw(
        &input.join("kt-1978"),
        &typed("trang-1.png", SynthBook::Kt, 73, 5),
        None,
    );
    let ks = draw(
        &input.join("ks-1983"),
        &typed("trang-1.png", SynthBook::Ks, 74, 4),
        None,
    );
    // A birth page with its title and header covered, alone in its book.
    draw(
        &input.join("x"),
        &typed("trang-1.png", SynthBook::Ks, 75, 4),
        Some(35.0),
    );
    let out = tmp.path().join("out");
    process_into(&input, &out, &["--jobs", "2"], &[]);

    let report = read_json(&out.join("report.json"));
    assert_eq!(report["book_type"], "auto");
    assert_eq!(
        report["book_types"],
        serde_json::json!({"kh-1996": "kh", "kt-1978": "kt", "ks-1983": "ks", "x": "unknown"})
    );
    assert_eq!(report["books_type_not_told"], serde_json::json!(["x"]));

    // Marriage: told by the title; each spouse's fields under their band, though the
    // wife's band comes first.
    let p = read_json(&out.join("kh-1996/pages/trang-1.json"));
    assert_eq!(
        (p["book_type"].as_str(), p["book_type_from"].as_str()),
        (Some("kh"), Some("title"))
    );
    assert_eq!(p["records"].as_array().unwrap().len(), kh.records.len());
    let mut right = 0;
    for (i, t) in kh.records.iter().enumerate() {
        for f in [
            "chongHoTen",
            "voHoTen",
            "chongNgaySinh",
            "voNgaySinh",
            "ngayDangKy",
            "so",
        ] {
            right += usize::from(value(&p, i, f) == t[f].value);
        }
        assert_eq!(
            value(&p, i, "voNgaySinh"),
            t["voNgaySinh"].value,
            "record {i}: the wife's birth date"
        );
    }
    assert!(
        right >= 6 * kh.records.len() - 2,
        "{right} of {} fields right",
        6 * kh.records.len()
    );
    // The covered page: read again as its book's type, its columns in that type's order.
    let p2 = read_json(&out.join("kh-1996/pages/trang-2.json"));
    assert_eq!(
        (p2["book_type"].as_str(), p2["book_type_from"].as_str()),
        (Some("kh"), Some("book"))
    );
    assert!(codes(&p2).contains(&"header_not_read".to_string()), "{:?}", codes(&p2));
    assert_eq!(
        p2["records"].as_array().unwrap().len(),
        kh_covered.records.len(),
        "{}",
        serde_json::to_string(
            &p2["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (
                    r["fields"]["so"]["value"].clone(),
                    r["fields"]["voHoTen"]["value"].clone()
                ))
                .collect::<Vec<_>>()
        )
        .unwrap()
    );
    assert_eq!(value(&p2, 0, "voNgaySinh"), kh_covered.records[0]["voNgaySinh"].value);
    let mut header: Vec<String> = vec!["STT".into()];
    header.extend(ministry_columns("kh"));
    assert_eq!(csv_header(&out.join("kh-1996")), header.join(","));
    let names: Vec<String> = std::fs::read_dir(out.join("kh-1996/records"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), kh.records.len() + kh_covered.records.len());
    assert!(names.iter().all(|n| n.starts_with("KH.")), "{names:?}");

    // Death: the hour split off the date of death, the relationship off the declarant.
    let p = read_json(&out.join("kt-1978/pages/trang-1.json"));
    assert_eq!(p["book_type"], "kt");
    assert_eq!(p["records"].as_array().unwrap().len(), kt.records.len());
    let mut right = 0;
    for (i, t) in kt.records.iter().enumerate() {
        for f in [
            "nktNgayChet",
            "nktGioPhutChet",
            "nycHoTen",
            "nycQuanHe",
            "nktHoTen",
            "nktGioiTinh",
        ] {
            right += usize::from(value(&p, i, f) == t[f].value);
        }
    }
    assert!(
        right >= 6 * kt.records.len() - 2,
        "{right} of {} fields right",
        6 * kt.records.len()
    );
    let mut header: Vec<String> = vec!["STT".into()];
    header.extend(ministry_columns("kt"));
    assert_eq!(csv_header(&out.join("kt-1978")), header.join(","));
    assert!(std::fs::read_dir(out.join("kt-1978/records")).unwrap().all(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("KT.")));

    // Birth: as before.
    let p = read_json(&out.join("ks-1983/pages/trang-1.json"));
    assert_eq!(
        (p["book_type"].as_str(), p["book_type_from"].as_str()),
        (Some("ks"), Some("title"))
    );
    assert_eq!(value(&p, 0, "nksHoTen"), ks.records[0]["nksHoTen"].value);

    // Nothing tells the lone covered page's type: it says so, and its table is exported
    // under its own (unread) headings, not as a birth book.
    let p = read_json(&out.join("x/pages/trang-1.json"));
    assert_eq!(
        (p["book_type"].as_str(), p["book_type_from"].as_str()),
        (Some("unknown"), Some("not_told"))
    );
    assert!(codes(&p).contains(&"book_type_not_told".to_string()), "{:?}", codes(&p));
    assert!(
        csv_header(&out.join("x")).starts_with("STT,col1,col2"),
        "{}",
        csv_header(&out.join("x"))
    );
    assert!(std::fs::read_dir(out.join("x/records")).unwrap().all(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("UNKNOWN.")));

    // The campaign report counts each type's books.
    run_ok(sohoa().arg("report").arg(&out));
    let campaign = read_json(&out.join("campaign.json"));
    let types: Vec<&str> = campaign["by_type"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(types, ["kh", "ks", "kt", "unknown"]);
    assert_eq!(campaign["by_type"]["kh"]["pages"], 2);
    assert_eq!(campaign["books"]["kt-1978"]["book_type"], "kt");

    // A type given for the run is kept for every book: the pages read as it again.
    process_into(
        &input.join("kt-1978"),
        &tmp.path().join("forced"),
        &["--book-type", "kt"],
        &[],
    );
    let p = read_json(&tmp.path().join("forced/kt-1978/pages/trang-1.json"));
    assert_eq!(
        (p["book_type"].as_str(), p["book_type_from"].as_str()),
        (Some("kt"), Some("flag"))
    );
}

/// Death and marital-status books of 2006–2020 (form pages: one record a page, values
/// after printed labels), processed with no flag: each told by its title, its values read
/// after its own labels, the hour of death split off the time of death.
#[test]
fn form_books_of_other_types_are_told_and_read_by_their_labels() {
    use sohoa::synth::FormStyle;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    // One on dotted leaders, one two values a line.
    let form = |file: &str, book, seed, paired: bool| PageSpec {
        form: Some(FormStyle {
            paired,
            leaders: !paired,
            ..FormStyle::default()
        }),
        year: 2012,
        ..typed(file, book, seed, 1)
    };
    let kt = draw(
        &input.join("kt-2012"),
        &form("trang-1.png", SynthBook::Kt, 91, false),
        None,
    );
    let hn = draw(
        &input.join("hn-2012"),
        &form("trang-1.png", SynthBook::Hn, 92, true),
        None,
    );
    let out = tmp.path().join("out");
    process_into(&input, &out, &["--no-record-pdfs"], &[]);
    let p = read_json(&out.join("kt-2012/pages/trang-1.json"));
    assert_eq!(
        (p["book_type"].as_str(), p["column_mapping"].as_str()),
        (Some("kt"), Some("form_labels"))
    );
    let t = &kt.records[0];
    for f in [
        "nktHoTen",
        "nktNgayChet",
        "nktGioPhutChet",
        "nycHoTen",
        "nycQuanHe",
        "ngayDangKy",
    ] {
        assert_eq!(value(&p, 0, f), t[f].value, "{f}");
    }
    let p = read_json(&out.join("hn-2012/pages/trang-1.json"));
    assert_eq!(p["book_type"], "hn");
    let t = &hn.records[0];
    for f in ["nxnHoTen", "nxnNgaySinh", "nxnTinhTrangHonNhan", "ngayDangKy"] {
        assert_eq!(value(&p, 0, f), t[f].value, "{f}");
    }
    let mut header: Vec<String> = vec!["STT".into()];
    header.extend(ministry_columns("hn"));
    assert_eq!(csv_header(&out.join("hn-2012")), header.join(","));
}
