//! Binarization quality on the DIBCO contest images: F-measure and PSNR against the
//! ground-truth masks (text = 0), for sohoa and for the Otsu and Sauvola references.
//! `cargo run --release --example dibco -- <dibco-dir>` (see scripts/dibco).

use image::GrayImage;
use std::path::Path;

fn otsu(img: &GrayImage) -> GrayImage {
    let t = imageproc::contrast::otsu_level(img);
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        image::Luma([if img.get_pixel(x, y).0[0] <= t { 0 } else { 255 }])
    })
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/dibco-dev".into());
    let root = Path::new(&root);
    if !root.is_dir() {
        eprintln!("dibco: {} not found: nothing to measure", root.display());
        return;
    }
    let opts = sohoa::restore::RestoreOptions::default();
    let mut rows = Vec::new();
    let mut skews: Vec<(f32, String)> = Vec::new();
    let mut years: Vec<_> = std::fs::read_dir(root).unwrap().flatten().map(|e| e.path()).collect();
    years.sort();
    for year in years {
        let mut files: Vec<_> = std::fs::read_dir(year.join("Originals"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            let gt_path = year.join("GT").join(format!("{stem}_gt.png"));
            let (Ok(img), Ok(gt)) = (image::open(&f), image::open(&gt_path)) else {
                continue;
            };
            let gray = img.into_luma8();
            let gt = gt.into_luma8();
            let ours = sohoa::eval::binarization_scores(&sohoa::restore::binarize(&gray, 300.0, &opts), &gt);
            let sauvola = sohoa::eval::binarization_scores(&sohoa::restore::sauvola(&gray, 31, 0.2), &gt);
            let otsu = sohoa::eval::binarization_scores(&otsu(&gray), &gt);
            // The angle the restoration would turn this real scan by.
            let skew = sohoa::restore::restore(&gray, 300.0, &opts).skew_deg;
            skews.push((skew, stem.clone()));
            println!(
                "{stem:12} sohoa {:5.1} F {:5.1} dB | sauvola {:5.1} F {:5.1} dB | otsu {:5.1} F {:5.1} dB | skew {skew:+6.2}°",
                ours.0, ours.1, sauvola.0, sauvola.1, otsu.0, otsu.1
            );
            rows.push((ours, sauvola, otsu));
        }
    }
    let n = rows.len().max(1) as f64;
    type Row = ((f64, f64), (f64, f64), (f64, f64));
    let avg = |k: fn(&Row) -> (f64, f64)| {
        let (a, b) = rows.iter().map(k).fold((0.0, 0.0), |s, v| (s.0 + v.0, s.1 + v.1));
        (a / n, b / n)
    };
    let (o, s, t) = (avg(|r| r.0), avg(|r| r.1), avg(|r| r.2));
    println!(
        "mean over {} images: sohoa {:.1} F {:.1} dB | sauvola {:.1} F {:.1} dB | otsu {:.1} F {:.1} dB",
        rows.len(),
        o.0,
        o.1,
        s.0,
        s.1,
        t.0,
        t.1
    );
    skews.sort_by(|a, b| a.0.abs().total_cmp(&b.0.abs()));
    if let Some((max, stem)) = skews.last() {
        println!(
            "skew found on these real scans: median |{:.2}|°, largest {max:+.2}° ({stem}), {} of {} turned by more than 45°",
            skews[skews.len() / 2].0.abs(),
            skews.iter().filter(|s| s.0.abs() > 45.0).count(),
            skews.len()
        );
    }
}
