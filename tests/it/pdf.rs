//! Archival PDFs: PDF/A for an independent validator, every image mode (MRC read back from
//! its rendering), damage found by `verify`.

use crate::common::*;
use std::path::PathBuf;
use std::process::Command;

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
    for mode in ["original", "enhanced", "bilevel", "mrc"] {
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
    // mrc: a fraction of enhanced (these pages are 150 dpi; a 300-dpi page's is a ninth),
    // and as legible: its first page, rendered by poppler at 300 dpi and read again by
    // sohoa, gives the fields read from the scan (a mask thresholded at the page's own
    // 150 dpi, or only its darkest grey, loses diacritics here: 89 of 110).
    assert!(sizes[3] * 3 < sizes[1], "{sizes:?}");
    let page1 = read_json(&tmp.path().join("mrc/ks-1983/pages/trang-1.json"));
    let dpi = "300";
    let reread = tmp.path().join("reread");
    std::fs::create_dir_all(reread.join("ks-1983")).unwrap();
    let rendered = Command::new("pdftoppm")
        .args(["-r", dpi, "-f", "1", "-l", "1", "-gray", "-png", "-singlefile"])
        .arg(tmp.path().join("mrc/ks-1983/ks-1983.pdf"))
        .arg(reread.join("ks-1983/trang-1"))
        .status()
        .unwrap();
    assert!(rendered.success());
    process_into(&reread, &tmp.path().join("reread-out"), &["--dpi", dpi], &[]);
    let again = read_json(&tmp.path().join("reread-out/ks-1983/pages/trang-1.json"));
    let values = |p: &serde_json::Value| -> Vec<String> {
        p["records"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["fields"].as_object().unwrap().values())
            .map(|f| f["value"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (before, after) = (values(&page1), values(&again));
    assert!(before.len() >= 20, "{before:?}");
    let same = before.iter().zip(&after).filter(|(a, b)| a == b).count();
    assert!(
        same * 100 >= before.len() * 95,
        "{same} of {} fields read alike from the MRC page:\n{before:?}\n{after:?}",
        before.len()
    );

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
        stdout.contains("flipped.pdf: changed since it was written")
            && stdout.contains("image object")
            && stdout.contains("SHA-256 differs"),
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
    // A record PDF copied out of OUT: sound, and said to be unchecked against a manifest
    // unless one is given; its information dictionary changed by a byte: broken.
    let copy = tmp.path().join("copied").join(recs[1].file_name().unwrap());
    std::fs::create_dir(tmp.path().join("copied")).unwrap();
    std::fs::copy(&recs[1], &copy).unwrap();
    let out = run_ok(sohoa().arg("verify").arg(&copy));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("ok") && said.contains("not compared with a manifest"),
        "{said}"
    );
    let out = run_ok(
        sohoa()
            .arg("verify")
            .arg("--manifest")
            .arg(book.join("manifest.sha256"))
            .arg(&copy),
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("ok") && !said.contains("manifest"), "{said}");
    let mut forged = std::fs::read(&copy).unwrap();
    let at = forged.windows(9).position(|w| w == b"/Producer").unwrap() + 12;
    forged[at] ^= 0x01;
    std::fs::write(&copy, &forged).unwrap();
    let out = sohoa().arg("verify").arg(&copy).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("seal"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
