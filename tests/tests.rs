//! End-to-end tests: the real binary, real Tesseract, real files, an independent PDF/A
//! validator and poppler's text extraction.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The sample book plus the bad inputs a batch meets in the field.
fn book_with_bad_files(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    copy_dir(&samples().join("books"), &input);
    let book = input.join("ks-1983");
    let jpg = std::fs::read(book.join("trang-2.jpg")).unwrap();
    std::fs::write(book.join("trang-20-truncated.jpg"), &jpg[..jpg.len() / 3]).unwrap();
    std::fs::write(book.join("trang-21-empty.png"), b"").unwrap();
    std::fs::write(book.join("trang-22-notes.txt"), "ghi chú của cán bộ\n").unwrap();
    input
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(|w| w.to_string()).collect()
}

#[test]
fn sample_book_is_processed_end_to_end_with_checked_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let input = book_with_bad_files(tmp.path());
    let out = tmp.path().join("out");
    process_into(&input, &out, &[], &[]);
    let book = out.join("ks-1983");

    // A result for every file; broken files are errors with the decoder's reason.
    let status = |name: &str| read_json(&book.join("pages").join(format!("{name}.json")));
    for (name, want) in [
        ("trang-20-truncated", "damaged or truncated JPEG"),
        ("trang-21-empty", "empty file"),
        ("trang-22-notes", "not a supported image"),
    ] {
        let p = status(name);
        assert_eq!(p["status"], "error", "{name}");
        assert!(
            p["reasons"][0].as_str().unwrap().contains(want),
            "{name}: {}",
            p["reasons"]
        );
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
    }
    // Pages in natural order: trang-1, 2, 3, 10, 20, 21, 22.
    assert_eq!(status("trang-1")["page"], 1);
    assert_eq!(status("trang-10")["page"], 4);
    assert_eq!(status("trang-22-notes")["page"], 7);
    // The faded-out page is not eligible, with a reason.
    let faded = status("trang-10");
    assert_eq!(faded["status"], "not_eligible");
    let why = faded["reasons"][0].as_str().unwrap();
    assert!(why.contains("faded") || why.contains("unreadable"), "{why}");

    // Against the truth: records found, field error rate, skew.
    let eval = run_ok(sohoa().arg("eval").arg(&out).arg(samples().join("truth")));
    let e: Value = serde_json::from_slice(&eval.stdout).unwrap();
    let expected = e["records_expected"].as_f64().unwrap();
    assert!(expected >= 28.0);
    assert!(e["records_found"].as_f64().unwrap() >= 0.97 * expected, "{e}");
    assert!(e["field_cer"].as_f64().unwrap() <= 0.08, "{e}");
    assert!(e["skew_error_max"].as_f64().unwrap() <= 0.1, "{e}");
    assert_eq!(e["eligibility"]["unreadable/not_eligible"], 1, "{e}");

    // The spreadsheet and CSV hold one row per record in the Ministry's layout.
    let csv = std::fs::read_to_string(book.join("records.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("\u{feff}STT,so,quyenSo,trangSo,ngayDangKy"),
        "{header}"
    );
    assert_eq!(header.split(',').count(), 70);
    let report = read_json(&out.join("report.json"));
    assert_eq!(lines.count() as u64, report["records"].as_u64().unwrap());
    assert_eq!(report["status_counts"]["error"], 3);
    let xlsx = std::fs::read(book.join("records.xlsx")).unwrap();
    assert!(xlsx.starts_with(b"PK\x03\x04"));

    // The book PDF is PDF/A-2b for an independent validator ...
    let pdf = book.join("ks-1983.pdf");
    let opts = page_validation::ValidationOptions::default().profile(page_validation::ValidationProfile::PdfA2b);
    let report = page_validation::validate_pdf(&pdf, &opts).expect("validator reads the PDF");
    assert!(report.is_compliant, "PDF/A-2b failures: {:#?}", report.failures);

    // ... and its text layer gives back the OCR text of each page, diacritics included.
    let text = Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8(text.stdout).unwrap();
    let pdf_pages: Vec<&str> = text.split('\u{c}').collect();
    for (i, name) in ["trang-1", "trang-2", "trang-3"].into_iter().enumerate() {
        let p = status(name);
        assert_eq!(words(pdf_pages[i]), words(p["text"].as_str().unwrap()), "page {name}");
    }
    // The unreadable page is in the book, without a text layer.
    assert!(words(pdf_pages[3]).is_empty(), "{}", pdf_pages[3]);
    assert!(text.contains("Việt Nam"));
}

#[test]
fn second_run_reads_nothing_again_and_a_killed_run_resumes_to_the_same_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_dir(&samples().join("books"), &input);
    let full = tmp.path().join("full");
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    process_into(&input, &full, &["-j", "1"], &env);

    // Again over the same input: nothing is read again, outputs stay the same.
    let before = snapshot(&full);
    process_into(&input, &full, &["-j", "1"], &env);
    let report = read_json(&full.join("report.json"));
    assert_eq!(report["pages_processed"], 0);
    assert_eq!(report["pages_skipped"], 4);
    assert_eq!(before, snapshot(&full));

    // Killed (SIGKILL) once the first page is written, then started again.
    let part = tmp.path().join("part");
    let mut child = sohoa()
        .envs(env)
        .args(["process", "--no-progress", "-j", "1", "--out"])
        .arg(&part)
        .arg(&input)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pages = part.join("ks-1983").join("pages");
    let start = std::time::Instant::now();
    while std::fs::read_dir(&pages).map(|d| d.count()).unwrap_or(0) == 0 && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = std::fs::read_dir(&pages).map(|d| d.count()).unwrap_or(0);
    assert!(done_before < 5, "the run was not interrupted");
    process_into(&input, &part, &["-j", "1"], &env);
    assert_eq!(snapshot(&full), snapshot(&part));
}

/// Every output file of a run except the report, with its bytes. Temporary files left by
/// a killed run would show up here too.
fn snapshot(out: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for e in walk(out) {
        let rel = e.strip_prefix(out).unwrap().to_string_lossy().into_owned();
        if rel == "report.json" {
            continue;
        }
        v.push((rel, sohoa::ingest::sha256_hex(&std::fs::read(&e).unwrap())));
    }
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            v.extend(walk(&e.path()));
        } else {
            v.push(e.path());
        }
    }
    v
}

#[test]
fn bad_command_lines_get_clear_errors_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sohoa()
        .args(["process", "/nonexistent/folder", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = sohoa()
        .args(["process", "--out"])
        .arg(tmp.path().join("o"))
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no files found"));

    let out = sohoa()
        .args(["process", "--book-type", "zz", "--out"])
        .arg(tmp.path().join("o"))
        .arg(samples().join("books"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no template for book type 'zz'"));

    let out = sohoa().args(["process"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_validator_rejects_a_pdf_that_lacks_what_pdfa_needs() {
    // Control for the PDF/A assertions above: a plain PDF with an uncalibrated image, no
    // output intent and no XMP metadata must fail.
    use pdf_writer::{Finish, Name, Pdf, Rect, Ref};
    let mut pdf = Pdf::new();
    pdf.catalog(Ref::new(1)).pages(Ref::new(2));
    pdf.pages(Ref::new(2)).kids([Ref::new(3)]).count(1);
    let mut page = pdf.page(Ref::new(3));
    page.parent(Ref::new(2))
        .media_box(Rect::new(0.0, 0.0, 100.0, 100.0))
        .contents(Ref::new(4));
    page.resources().x_objects().pair(Name(b"Im0"), Ref::new(5));
    page.finish();
    pdf.stream(Ref::new(4), b"q 100 0 0 100 0 0 cm /Im0 Do Q");
    let mut img = pdf.image_xobject(Ref::new(5), &[0, 0, 0]);
    img.width(1).height(1).bits_per_component(8);
    img.color_space().device_rgb();
    img.finish();
    let bytes = pdf.finish();
    let opts = page_validation::ValidationOptions::default().profile(page_validation::ValidationProfile::PdfA2b);
    let report = page_validation::validate_pdf_bytes(&bytes, &opts).expect("validator reads the PDF");
    assert!(!report.is_compliant);
    assert!(report.failures.len() >= 2, "{:#?}", report.failures);
}

/// A minimal uncompressed 1-bit TIFF, WhiteIsZero (as fax and most bilevel scans are).
fn bilevel_tiff(img: &image::GrayImage, dpi: u32) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let row = w.div_ceil(8) as usize;
    let mut data = vec![0u8; row * h as usize];
    for (x, y, p) in img.enumerate_pixels() {
        if p.0[0] < 128 {
            data[y as usize * row + x as usize / 8] |= 0x80 >> (x % 8);
        }
    }
    let entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 1),
        (259, 3, 1, 1),
        (262, 3, 1, 0),
        (273, 4, 1, 0), // strip offset, patched below
        (277, 3, 1, 1),
        (278, 4, 1, h),
        (279, 4, 1, data.len() as u32),
        (282, 5, 1, 0), // x resolution, patched
        (283, 5, 1, 0), // y resolution, patched
        (296, 3, 1, 2),
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let res_at = 8 + ifd_len as u32;
    let data_at = res_at + 8;
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, ty, count, value) in entries {
        let value = match tag {
            273 => data_at,
            282 | 283 => res_at,
            _ => value,
        };
        out.extend(tag.to_le_bytes());
        out.extend(ty.to_le_bytes());
        out.extend(count.to_le_bytes());
        if ty == 3 {
            out.extend((value as u16).to_le_bytes());
            out.extend([0, 0]);
        } else {
            out.extend(value.to_le_bytes());
        }
    }
    out.extend(0u32.to_le_bytes());
    out.extend(dpi.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    out.extend(data);
    out
}

#[test]
fn scans_in_every_supported_encoding_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in").join("formats");
    std::fs::create_dir_all(&book).unwrap();
    let src = samples().join("books/ks-1983/trang-1.png");
    let gray = image::open(&src).unwrap().into_luma8();

    // 1-bit uncompressed, then CCITT G4 and a two-page G4 file made by libtiff's tiffcp.
    let bilevel = book.join("a-bilevel.tif");
    std::fs::write(&bilevel, bilevel_tiff(&gray, 150)).unwrap();
    let tiffcp = |args: &[&Path], out: &Path| {
        let st = Command::new("tiffcp")
            .args(["-c", "g4"])
            .args(args)
            .arg(out)
            .status()
            .expect("tiffcp (libtiff-tools) is installed");
        assert!(st.success());
    };
    tiffcp(&[&bilevel], &book.join("b-g4.tif"));
    tiffcp(&[&bilevel, &bilevel], &book.join("c-g4-two-pages.tif"));
    // 16-bit grey with LZW.
    {
        use tiff::encoder::{colortype, Compression, TiffEncoder};
        let mut f = std::fs::File::create(book.join("d-16bit-lzw.tif")).unwrap();
        let mut enc = TiffEncoder::new(&mut f).unwrap().with_compression(Compression::Lzw);
        let wide: Vec<u16> = gray.as_raw().iter().map(|&v| v as u16 * 257).collect();
        let mut im = enc.new_image::<colortype::Gray16>(gray.width(), gray.height()).unwrap();
        im.resolution(
            tiff::tags::ResolutionUnit::Inch,
            tiff::encoder::Rational { n: 150, d: 1 },
        );
        im.write_data(&wide).unwrap();
    }
    // Colour JPEG (a phone photo is RGB).
    let rgb = image::DynamicImage::ImageLuma8(gray.clone()).into_rgb8();
    rgb.save(book.join("e-colour.jpg")).unwrap();

    let out = tmp.path().join("out");
    process_into(&tmp.path().join("in"), &out, &["--dpi", "150"], &[]);
    let pages = out.join("formats").join("pages");
    let names = [
        "a-bilevel",
        "b-g4",
        "c-g4-two-pages",
        "c-g4-two-pages-p2",
        "d-16bit-lzw",
        "e-colour",
    ];
    for (i, name) in names.iter().enumerate() {
        let p = read_json(&pages.join(format!("{name}.json")));
        assert_eq!(p["status"], "ok", "{name}: {}", p["reasons"]);
        assert_eq!(p["page"], i + 1, "{name}");
        assert_eq!(p["records"].as_array().unwrap().len(), 10, "{name}");
        assert!(
            (p["skew_deg"].as_f64().unwrap() - 0.8).abs() <= 0.15,
            "{name}: {}",
            p["skew_deg"]
        );
        let first = &p["records"][0]["fields"];
        assert_eq!(first["nksQuocTich"]["value"], "Việt Nam", "{name}");
    }
    let two = read_json(&pages.join("c-g4-two-pages-p2.json"));
    assert_eq!(two["frame"], 1);
    assert_eq!(two["frames"], 2);
}

/// Byte offset of the first image stream's data in a PDF written by sohoa.
fn first_image_stream(pdf: &[u8]) -> usize {
    let at = pdf
        .windows(12)
        .position(|w| w == b"/Subtype /Im")
        .expect("an image XObject");
    let s = at + pdf[at..].windows(7).position(|w| w == b"stream\n").unwrap() + 7;
    s
}

#[test]
fn archival_pdfs_in_every_image_mode_are_valid_and_verify_finds_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_dir(&samples().join("books"), &input);
    let opts = page_validation::ValidationOptions::default().profile(page_validation::ValidationProfile::PdfA2b);
    let mut sizes = Vec::new();
    for mode in ["original", "enhanced", "bilevel"] {
        let out = tmp.path().join(mode);
        process_into(&input, &out, &["--pdf-image", mode], &[]);
        let book = out.join("ks-1983");
        let pdf = book.join("ks-1983.pdf");
        let report = page_validation::validate_pdf(&pdf, &opts).unwrap();
        assert!(report.is_compliant, "{mode}: {:#?}", report.failures);
        sizes.push(std::fs::metadata(&pdf).unwrap().len());
        // One PDF per record, named after type, year, book number, date and number.
        let records: Vec<String> = std::fs::read_dir(book.join("records"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(records.len(), 28, "{mode}");
        assert!(
            records
                .iter()
                .all(|n| n.starts_with("KS.1983.01.1983-") && n.ends_with(".pdf")),
            "{records:?}"
        );
        let one = book.join("records").join(&records[0]);
        assert!(
            page_validation::validate_pdf(&one, &opts).unwrap().is_compliant,
            "{mode} {one:?}"
        );
        let v = run_ok(sohoa().arg("verify").arg(&book));
        assert!(String::from_utf8_lossy(&v.stdout).lines().all(|l| l.starts_with("ok ")));
        // The text layer sits on the page in every mode.
        let text = Command::new("pdftotext")
            .args(["-raw", "-f", "1", "-l", "1"])
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        let page1 = read_json(&book.join("pages/trang-1.json"));
        assert_eq!(words(&text), words(page1["text"].as_str().unwrap()), "{mode}");
    }
    // Declared PDF/A-2u on request, and valid as such.
    let u = tmp.path().join("u");
    process_into(&input, &u, &["--pdfa-u", "--no-record-pdfs"], &[]);
    let opts_u = page_validation::ValidationOptions::default().profile(page_validation::ValidationProfile::PdfA2u);
    let report = page_validation::validate_pdf(u.join("ks-1983/ks-1983.pdf"), &opts_u).unwrap();
    assert!(report.is_compliant, "2u: {:#?}", report.failures);

    // `original` keeps the JPEG scan byte for byte.
    let scan = std::fs::read(input.join("ks-1983/trang-2.jpg")).unwrap();
    let pdf = std::fs::read(tmp.path().join("original/ks-1983/ks-1983.pdf")).unwrap();
    assert!(
        pdf.windows(scan.len()).any(|w| w == scan.as_slice()),
        "the JPEG is not inside byte for byte"
    );
    // bilevel is the smallest, enhanced smaller than the original scans.
    assert!(sizes[2] < sizes[1] && sizes[2] < sizes[0], "{sizes:?}");

    // Damage: a truncated PDF, one flipped byte in an image stream, a changed file.
    let book = tmp.path().join("enhanced/ks-1983");
    let good = std::fs::read(book.join("ks-1983.pdf")).unwrap();
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("truncated.pdf"), &good[..good.len() * 2 / 3]).unwrap();
    let mut flipped = good.clone();
    let at = first_image_stream(&flipped) + 5000;
    flipped[at] ^= 0x01;
    std::fs::write(broken.join("flipped.pdf"), &flipped).unwrap();
    let out = sohoa().arg("verify").arg(&broken).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("truncated.pdf: truncated"), "{stdout}");
    assert!(
        stdout.contains("flipped.pdf: image object") && stdout.contains("SHA-256 differs"),
        "{stdout}"
    );
    // A record PDF replaced by another valid one no longer matches the manifest.
    let recs: Vec<PathBuf> = std::fs::read_dir(book.join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::copy(&recs[1], &recs[0]).unwrap();
    let out = sohoa().arg("verify").arg(&recs[0]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("differs from"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn binarization_beats_sauvola_on_dibco_when_the_data_is_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/dibco-dev");
    if !root.is_dir() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let opts = sohoa::restore::RestoreOptions::default();
    let (mut ours, mut sauvola, mut n) = (0.0, 0.0, 0.0);
    for year in ["2009", "2010"] {
        for e in std::fs::read_dir(root.join(year).join("Originals")).unwrap().flatten() {
            let stem = e.path().file_stem().unwrap().to_string_lossy().into_owned();
            let gray = image::open(e.path()).unwrap().into_luma8();
            let gt = image::open(root.join(year).join("GT").join(format!("{stem}_gt.png")))
                .unwrap()
                .into_luma8();
            let bin = sohoa::restore::binarize(&gray, 300.0, &opts);
            assert_eq!(bin.dimensions(), gray.dimensions());
            ours += sohoa::eval::binarization_scores(&bin, &gt).0;
            sauvola += sohoa::eval::binarization_scores(&sohoa::restore::sauvola(&gray, 31, 0.2), &gt).0;
            n += 1.0;
        }
    }
    let (ours, sauvola) = (ours / n, sauvola / n);
    assert!(
        ours >= 86.0 && ours > sauvola + 3.0,
        "F-measure: sohoa {ours:.1}, Sauvola {sauvola:.1}"
    );
}

#[test]
fn skew_is_found_on_damaged_pages_from_minus_15_to_15_degrees() {
    use sohoa::synth::{render_page, Damage, Hand, PageSpec};
    let mut errors = Vec::new();
    for (i, angle) in [-14.6f32, -11.3, -7.85, -4.4, -1.2, 0.35, 2.9, 6.15, 9.7, 12.4, 15.0]
        .into_iter()
        .enumerate()
    {
        let spec = PageSpec {
            file: "p.png".into(),
            dpi: 150.0,
            hand: if i % 3 == 0 { Hand::Hand } else { Hand::Typed },
            damage: Damage {
                ink: 0.6,
                paper: 215,
                stains: 2,
                noise: 4.0,
                skew_deg: angle,
                border: i % 2 == 0,
                ..Damage::none()
            },
            records: 6,
            year: 1990,
            first_number: 1,
            seed: 40 + i as u64,
            real_places: false,
            form: false,
        };
        let (img, truth) = render_page(&spec).expect("fonts installed by scripts/setup");
        let found = sohoa::restore::estimate_skew(&img, 150.0, 20.0);
        errors.push((found - truth.skew_deg).abs());
    }
    errors.sort_by(|a, b| a.total_cmp(b));
    let median = errors[errors.len() / 2];
    let max = errors[errors.len() - 1];
    assert!(
        median <= 0.1 && max <= 0.3,
        "median {median:.3}°, max {max:.3}°, all {errors:?}"
    );
}

/// Compares a restored image with its reference in tests/golden. `SOHOA_BLESS=1` rewrites
/// the reference; a mismatch writes `<name>.diff.png` beside it.
fn golden(name: &str, got: &image::GrayImage) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let path = dir.join(format!("{name}.png"));
    if std::env::var_os("SOHOA_BLESS").is_some() {
        got.save(&path).unwrap();
        return;
    }
    let want = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with SOHOA_BLESS=1 to create)", path.display()))
        .into_luma8();
    assert_eq!(want.dimensions(), got.dimensions(), "{name}: size");
    let mut far = 0usize;
    let mut total = 0u64;
    let diff = image::GrayImage::from_fn(got.width(), got.height(), |x, y| {
        let d = (got.get_pixel(x, y).0[0] as i32 - want.get_pixel(x, y).0[0] as i32).unsigned_abs();
        total += d as u64;
        if d > 32 {
            far += 1;
        }
        image::Luma([255 - d.min(255) as u8])
    });
    let n = (got.width() * got.height()) as f64;
    let (mean, far_share) = (total as f64 / n, far as f64 / n);
    if mean > 2.0 || far_share > 0.005 {
        diff.save(dir.join(format!("{name}.diff.png"))).unwrap();
        panic!(
            "{name}: mean difference {mean:.2}, {:.2}% of pixels differ by more than 32",
            far_share * 100.0
        );
    }
}

#[test]
fn restored_pages_match_their_golden_images() {
    use sohoa::synth::{render_page, Damage, Hand, PageSpec};
    let cases = [
        (
            "stained-faded",
            Damage {
                ink: 0.45,
                paper: 205,
                stains: 3,
                noise: 3.0,
                skew_deg: 2.2,
                ..Damage::none()
            },
        ),
        (
            "border-torn",
            Damage {
                ink: 0.8,
                paper: 230,
                border: true,
                torn: 0.06,
                skew_deg: -3.4,
                ..Damage::none()
            },
        ),
    ];
    for (i, (name, damage)) in cases.into_iter().enumerate() {
        let spec = PageSpec {
            file: "p.png".into(),
            dpi: 100.0,
            hand: Hand::Typed,
            damage,
            records: 5,
            year: 1988,
            first_number: 1,
            seed: 90 + i as u64,
            real_places: false,
            form: false,
        };
        let (img, _) = render_page(&spec).expect("fonts installed by scripts/setup");
        let r = sohoa::restore::restore(&img, 100.0, &Default::default());
        golden(&format!("{name}-gray"), &r.gray);
        golden(&format!("{name}-binary"), &r.binary);
    }
}

#[test]
fn a_torn_away_page_a_blank_page_and_a_photo_are_not_eligible_with_reasons() {
    use sohoa::synth::{encode, render_page, Damage, Hand, PageSpec};
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in").join("damaged");
    std::fs::create_dir_all(&book).unwrap();
    let spec = PageSpec {
        file: "torn.png".into(),
        dpi: 150.0,
        hand: Hand::Typed,
        damage: Damage {
            torn: 0.7,
            skew_deg: 1.5,
            ..Damage::none()
        },
        records: 8,
        year: 1995,
        first_number: 1,
        seed: 5,
        real_places: false,
        form: false,
    };
    let (img, _) = render_page(&spec).expect("fonts installed by scripts/setup");
    std::fs::write(book.join("torn.png"), encode(&img, "torn.png", 150.0)).unwrap();
    let blank = image::GrayImage::from_pixel(1200, 900, image::Luma([228]));
    std::fs::write(book.join("blank.png"), encode(&blank, "blank.png", 150.0)).unwrap();
    let out = tmp.path().join("out");
    process_into(&tmp.path().join("in"), &out, &[], &[]);
    let torn = read_json(&out.join("damaged/pages/torn.json"));
    assert_eq!(torn["status"], "not_eligible", "{}", torn["reasons"]);
    assert!(
        torn["reasons"][0].as_str().unwrap().contains("mostly missing"),
        "{}",
        torn["reasons"]
    );
    let blank = read_json(&out.join("damaged/pages/blank.json"));
    assert_eq!(blank["status"], "not_eligible", "{}", blank["reasons"]);
    assert!(
        blank["reasons"][0].as_str().unwrap().contains("blank"),
        "{}",
        blank["reasons"]
    );
}

#[test]
fn an_oversized_strip_is_read_at_reduced_size_and_its_pdf_stays_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in").join("strip");
    std::fs::create_dir_all(&book).unwrap();
    // 40,000 × 1,500 pixels claiming 150 dpi: 267 inches wide.
    let strip = image::GrayImage::from_fn(40_000, 1_500, |x, y| {
        image::Luma([if (x / 40 + y / 40) % 7 == 0 { 30 } else { 230 }])
    });
    strip.save(book.join("strip.png")).unwrap();
    let out = tmp.path().join("out");
    process_into(&tmp.path().join("in"), &out, &["--dpi", "150"], &[]);
    let p = read_json(&out.join("strip/pages/strip.json"));
    assert!(p["size"][0].as_u64().unwrap() <= 30_000, "{}", p["size"]);
    assert_eq!(p["source_size"][0], 40_000);
    let v = run_ok(sohoa().arg("verify").arg(out.join("strip/strip.pdf")));
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("ok"));
}

#[test]
fn pages_scanned_upside_down_or_on_their_side_are_turned_and_read() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in/ks-1983");
    let truth = tmp.path().join("truth/ks-1983");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::create_dir_all(&truth).unwrap();
    let turned = [("trang-1", 180.0f32), ("trang-2", -90.0)];
    for (name, _) in turned {
        let src = samples().join("books/ks-1983");
        let file = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_stem().unwrap() == name)
            .unwrap();
        let img = image::open(&file).unwrap().to_luma8();
        let img = if name == "trang-1" {
            image::imageops::rotate180(&img)
        } else {
            image::imageops::rotate90(&img)
        };
        img.save(book.join(format!("{name}.png"))).unwrap();
        std::fs::copy(
            samples().join(format!("truth/ks-1983/{name}.json")),
            truth.join(format!("{name}.json")),
        )
        .unwrap();
    }
    let out = tmp.path().join("out");
    // The PNGs written here state no resolution: the samples are 150 dpi.
    process_into(&tmp.path().join("in"), &out, &["--no-record-pdfs", "--dpi", "150"], &[]);
    for (name, turn) in turned {
        let page = read_json(&out.join(format!("ks-1983/pages/{name}.json")));
        let t = read_json(&truth.join(format!("{name}.json")));
        let want = turn + t["skew_deg"].as_f64().unwrap() as f32;
        let found = page["skew_deg"].as_f64().unwrap() as f32;
        let off = (found - want).rem_euclid(360.0);
        assert!(off.min(360.0 - off) <= 0.3, "{name}: skew {found}°, want {want}°");
        assert_eq!(page["status"], "ok", "{name}: {}", page["reasons"]);
    }
    let eval = run_ok(sohoa().args(["eval"]).arg(&out).arg(tmp.path().join("truth")));
    let e: Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(e["records_found"], e["records_expected"], "{e}");
    assert!(e["field_cer"].as_f64().unwrap() <= 0.03, "{e}");
}

#[test]
fn form_pages_give_one_record_each_read_after_their_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    run_ok(
        sohoa()
            .args([
                "synth", "--set", "varied", "--pages", "6", "--seed", "3", "--book", "forms",
            ])
            .args(["--layout", "form", "--out"])
            .arg(&set),
    );
    let out = tmp.path().join("out");
    process_into(&set.join("books"), &out, &["--layout", "form", "--no-record-pdfs"], &[]);
    let eval = run_ok(sohoa().args(["eval"]).arg(&out).arg(set.join("truth")));
    let e: Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(e["records_found"], e["records_expected"], "{e}");
    assert!(e["field_cer"].as_f64().unwrap() <= 0.03, "{e}");
    let page = read_json(&out.join("forms/pages/trang-1.json"));
    assert_eq!(page["column_mapping"], "form_labels");
    assert_eq!(page["records"].as_array().unwrap().len(), 1);
    // The page's one record lands in the Ministry's layout like a ledger row.
    let csv = std::fs::read_to_string(out.join("forms/records.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + e["records_found"].as_u64().unwrap() as usize);
}
