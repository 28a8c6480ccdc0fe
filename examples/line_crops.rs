//! Draws the committed line crops of the line model's tests (tests/fixtures/line-*.png):
//! a typed line and a handwritten one (Comic Neue, Vietnamese marks composed), both of
//! text with every kind of mark. `cargo run --release --example line_crops`
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (file, text, hand) in [
        ("line-typed.png", "Nguyễn Thị Hằng, Xã Yên Sở", None),
        (
            "line-hand.png",
            "Trần Văn Đức, huyện Hoài Đức",
            Some(sohoa::synth::ScriptFace::ComicNeue),
        ),
    ] {
        let img = sohoa::synth::draw_line(text, hand, 32).expect("face installed (scripts/setup --test)");
        std::fs::write(dir.join(file), sohoa::encode::png(&img, None)).unwrap();
        println!("{file}: {}×{}", img.width(), img.height());
    }
}
