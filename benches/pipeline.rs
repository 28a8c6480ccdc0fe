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
    g.bench_function("deskew_estimate", |b| {
        b.iter(|| sohoa::restore::estimate_skew(&img, dpi, 20.0))
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
