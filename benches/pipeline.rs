//! Stage benchmarks on a fixed synthetic 300-dpi A4 ledger page (8.7 Mpx):
//! `cargo bench --bench pipeline`. Throughput is reported in pixels per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sohoa::synth::{render_page, Damage, PageSpec};

fn page() -> (image::GrayImage, f32) {
    let spec = PageSpec {
        damage: Damage {
            ink: 0.6,
            paper: 215,
            stains: 3,
            noise: 4.0,
            skew_deg: 2.3,
            ..Damage::none()
        },
        ..PageSpec::ledger("bench.png", 300.0, 7)
    };
    (render_page(&spec).expect("synthetic page").0, spec.dpi)
}

fn stages(c: &mut Criterion) {
    let (img, dpi) = page();
    let pixels = img.width() as u64 * img.height() as u64;
    let mut g = c.benchmark_group("a4_300dpi");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pixels));
    g.bench_function("restore", |b| {
        b.iter(|| sohoa::restore::restore(&img, dpi, &Default::default()))
    });
    let restored = sohoa::restore::restore(&img, dpi, &Default::default());
    let widths = sohoa::template::Template::for_book_type("ks").unwrap().widths();
    g.bench_function("layout", |b| {
        b.iter(|| sohoa::layout::find_table(&restored.binary, dpi, &widths))
    });
    // Connected components of the restored page's ink with their boxes and areas: the
    // one fill every stage uses, beside imageproc's labelling followed by a pass that
    // gathers the same boxes and areas from its labels.
    let ink = |x: u32, y: u32| restored.binary.get_pixel(x, y).0[0] == 0;
    let (w, h) = restored.binary.dimensions();
    g.bench_function("components", |b| {
        b.iter(|| sohoa::raster::components(w, h, sohoa::raster::Connectivity::Eight, ink).len())
    });
    g.bench_function("components_imageproc", |b| {
        b.iter(|| {
            let inverted = image::GrayImage::from_fn(w, h, |x, y| image::Luma([u8::from(ink(x, y))]));
            let labels = imageproc::region_labelling::connected_components(
                &inverted,
                imageproc::region_labelling::Connectivity::Eight,
                image::Luma([0u8]),
            );
            let mut boxes: Vec<([u32; 4], u32)> = Vec::new();
            for (x, y, l) in labels.enumerate_pixels() {
                let k = l.0[0] as usize;
                if k == 0 {
                    continue;
                }
                if boxes.len() < k {
                    boxes.resize(k, ([u32::MAX, u32::MAX, 0, 0], 0));
                }
                let (b, n) = &mut boxes[k - 1];
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                *n += 1;
            }
            boxes.len()
        })
    });
    g.bench_function("deskew_estimate", |b| {
        b.iter(|| sohoa::restore::estimate_skew(&img, dpi, 20.0))
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
