//! Restoration on real and synthetic pages: binarization on DIBCO, skew, golden images.

use std::path::Path;

#[test]
fn binarization_beats_sauvola_on_dibco_when_the_data_is_present() {
    let Some(root) = crate::common::shared_data("dibco-dev") else {
        return;
    };
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
            ..PageSpec::ledger("p.png", 150.0, 40 + i as u64)
        };
        let (img, truth) = render_page(&spec).expect("synthetic page");
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
    use sohoa::synth::{render_page, Damage, PageSpec};
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
            damage,
            records: 5,
            year: 1988,
            ..PageSpec::ledger("p.png", 100.0, 90 + i as u64)
        };
        let (img, _) = render_page(&spec).expect("synthetic page");
        let r = sohoa::restore::restore(&img, 100.0, &Default::default());
        golden(&format!("{name}-gray"), &r.gray);
        golden(&format!("{name}-binary"), &r.binary);
    }
}

/// Real ruled ledger pages (18th-century Dutch registers: faint rules, pencil lines,
/// handwriting touching across rows): the rows of the table found as a person would draw
/// them, one per entry, within three. Counted by eye: the entries on each page (with the
/// closing line of a page carried forward, "mel 1834", "1822 3773 No 9"). On 5218_0377
/// and 5218_0378 the rules of the top rows are faded: the rows go on from the rules below
/// at their pitch, and from the text lines in what would else be a header many rows tall.
/// On 5168_1801 the rules are found on the grey page once the dark edge of the book's
/// pages beside it is left out. One page of the sample is a known miss, left out here
/// and reported in docs/ACCURACY.md: 5182_0050 (a list whose rows are not ruled, its few
/// pencil rules too faint to be told from the paper; the table found from its writing has
/// 24 rows for 29 entries, two sharing a row in places; the page is `manual`).
#[test]
fn rows_of_real_ruled_pages_are_found_as_drawn() {
    let Some(root) = crate::common::shared_data("voc-dev") else {
        return;
    };
    let ledger = sohoa::template::Template::for_book_type("ks").unwrap();
    let by_eye = [
        ("NL-HaNA_1.04.02_5182_0051-groot.jpg", 28),
        ("NL-HaNA_1.04.02_5218_0376.jpg", 22),
        ("NL-HaNA_1.04.02_5168_1800-klein.jpg", 24),
        ("NL-HaNA_1.04.02_5168_1801-klein.jpg", 23),
        ("NL-HaNA_1.04.02_5218_0377.jpg", 22),
        ("NL-HaNA_1.04.02_5218_0378.jpg", 22),
    ];
    for (file, rows) in by_eye {
        let bytes = std::fs::read(root.join(file)).unwrap();
        let frame = sohoa::ingest::decode(&bytes).unwrap().remove(0);
        let dpi = frame.dpi.unwrap_or(300.0);
        let page = sohoa::restore::restore(&frame.gray, dpi, &Default::default());
        let grid = sohoa::layout::find_grid(&page, dpi, &ledger);
        let body = grid.rows.len().saturating_sub(1) as i64;
        assert!((body - rows).abs() <= 3, "{file}: {body} rows found, {rows} by eye");
    }
}
