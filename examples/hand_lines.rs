//! The line model on labelled text-line images: character error rate of the free reading
//! and of the reading constrained by a field kind, for the first half of the lines (used
//! to tune the decoding) and the second half (held out), and the time per line.
//! `cargo run --release --example hand_lines -- [LABELS.tsv] [KIND] [MODEL.onnx]` (see
//! scripts/hand-dev; MODEL: a trained model, default the installed one);
//! LABELS.tsv: `path<TAB>text` lines, paths relative to its folder.

use sohoa::ocr::constrain::Lexicons;
use sohoa::ocr::field::read_line_images;
use sohoa::ocr::{LineModel, ModelFiles};
use sohoa::template::{edit_distance, FieldKind, Vocabulary};
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

fn main() {
    let labels = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/hand-dev/labels.tsv".into());
    let kind = std::env::args().nth(2).unwrap_or_else(|| "place".into());
    let kind: FieldKind = serde_json::from_value(serde_json::Value::String(kind)).expect("a field kind");
    let labels = Path::new(&labels);
    let Ok(text) = std::fs::read_to_string(labels) else {
        eprintln!("hand_lines: {} not found: nothing to measure", labels.display());
        return;
    };
    let dir = labels.parent().unwrap_or(Path::new("."));
    let rows: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, t)| (p.to_string(), t.nfc().collect()))
        .collect();
    let trained = std::env::args().nth(3).map(std::path::PathBuf::from);
    let mut model =
        LineModel::load(&ModelFiles::locate(trained.as_deref()).expect("line model installed (scripts/setup)"))
            .expect("line model loads");
    let lex = Lexicons::builtin(&Vocabulary::builtin());
    let half = rows.len() / 2;
    let started = std::time::Instant::now();
    let mut sums = [[0usize; 3]; 2]; // [half][free errors, constrained errors, chars]
    for (i, (path, truth)) in rows.iter().enumerate() {
        let img = image::open(dir.join(path)).expect("image").into_luma8();
        let got = read_line_images(&mut model, &[img], Some(kind), &lex).expect("read");
        let t: Vec<char> = truth.chars().collect();
        let cer = |s: &str| edit_distance(&s.nfc().collect::<Vec<char>>(), &t);
        let h = usize::from(i >= half);
        sums[h][0] += cer(&got[0].free);
        sums[h][1] += cer(&got[0].text);
        sums[h][2] += t.len();
        if std::env::var_os("VERBOSE").is_some() {
            println!(
                "{path}\n  truth {truth}\n  free  {}\n  {kind:?} {}",
                got[0].free, got[0].text
            );
        }
    }
    let per_line = started.elapsed().as_secs_f64() * 1000.0 / rows.len().max(1) as f64;
    for (name, s) in ["tuning half", "held-out half"].iter().zip(sums) {
        println!(
            "{name}: free CER {:.3}, --field {kind:?} CER {:.3} ({} chars)",
            s[0] as f64 / s[2].max(1) as f64,
            s[1] as f64 / s[2].max(1) as f64,
            s[2]
        );
    }
    println!("{} lines, {per_line:.0} ms per line", rows.len());
}
