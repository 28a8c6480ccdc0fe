//! `sohoa train` on lines drawn here in handwriting faces: the loss falls, a kill -9 is
//! resumed from the last checkpoint, the same seed gives the same model, the exported
//! model reads in sohoa with the training framework's log-probabilities and still reads
//! the committed crops, and labels the model cannot write are refused by name.

use crate::common::*;
use serde_json::Value;
use sohoa::ocr::{LineModel, ModelFiles};
use sohoa::synth::{draw_line, ScriptFace};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The training environment's Python (installed by `scripts/setup --train`).
fn python() -> PathBuf {
    let p = sohoa::train::default_python();
    assert!(
        p.exists(),
        "{} is missing: install the training environment with scripts/setup --train",
        p.display()
    );
    p
}

const TEXTS: [&str; 8] = [
    "Nguyễn Văn Hùng",
    "Thôn Đông, xã Yên Lạc",
    "Lê Thị Thuỷ",
    "Huyện Kim Sơn, Ninh Bình",
    "Phạm Quốc Việt",
    "Trần Thị Ngọc Ánh",
    "phường Bến Nghé, Quận 1",
    "Đỗ Minh Khôi",
];

/// `n` lines in the cursive faces, 40 pixels high, and their labels.tsv.
fn drawn_lines(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("lines")).unwrap();
    let faces = [ScriptFace::Kristi, ScriptFace::DancingScript, ScriptFace::KaushanScript];
    let mut labels = String::new();
    for i in 0..n {
        let text = TEXTS[i % TEXTS.len()];
        let img = draw_line(text, Some(faces[(i / TEXTS.len()) % faces.len()]), 40)
            .expect("faces installed (scripts/setup --test)");
        let name = format!("lines/{i}.png");
        img.save(dir.join(&name)).unwrap();
        labels.push_str(&format!("{name}\t{text}\n"));
    }
    std::fs::write(dir.join("labels.tsv"), labels).unwrap();
}

fn train_cmd(data: &Path, out: &Path, epochs: &str) -> std::process::Command {
    let mut c = sohoa();
    c.arg("train")
        .arg("--data")
        .arg(data)
        .arg("--val")
        .arg(data)
        .arg("--out")
        .arg(out);
    c.args([
        "--epochs",
        epochs,
        "--freeze",
        "5",
        "--batch",
        "4",
        "--patience",
        "9",
        "-j",
        "2",
    ]);
    c.arg("--python").arg(python());
    c
}

#[test]
fn training_lowers_the_loss_resumes_after_a_kill_and_exports_what_sohoa_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    drawn_lines(&data, 24);
    let out = tmp.path().join("model");
    // Killed (SIGKILL) once the first epoch's checkpoint is written.
    let mut child = train_cmd(&data, &out, "3")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join("checkpoint.pt").exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before its first checkpoint"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint after 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let run = run_ok(&mut train_cmd(&data, &out, "3"));
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("going on after epoch"), "{said}");

    let raw = std::fs::read_to_string(out.join("training.json")).unwrap();
    let curve: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    let history = curve["history"].as_array().unwrap();
    let epochs: Vec<i64> = history.iter().map(|h| h["epoch"].as_i64().unwrap()).collect();
    assert_eq!(epochs, vec![0, 1, 2, 3], "{curve}");
    let loss = |e: usize| history[e]["loss"].as_f64().unwrap();
    assert!(loss(3) < loss(1), "the loss falls: {curve}");
    assert!(
        curve["val_cer"].as_f64().unwrap() <= history[0]["val_cer"].as_f64().unwrap(),
        "{curve}"
    );
    // Typed lines are mixed in (a fifth of the 24 by default), trained on and never
    // validated on: the validation lines are the 24 given.
    assert_eq!(curve["kept_lines"], 5, "{curve}");
    assert_eq!(curve["lines"], 29, "{curve}");
    assert_eq!(curve["val_lines"], 24, "{curve}");
    let typed = std::fs::read_to_string(out.join("typed/labels.tsv")).unwrap();
    assert_eq!(typed.lines().count(), 5, "{typed}");

    // The exported model loads unchanged and gives the framework's log-probabilities.
    let model = out.join("model.onnx");
    let files = ModelFiles::locate(Some(&model)).unwrap();
    let mut m = LineModel::load(&files).unwrap();
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/line-hand.png");
    let img = image::open(&crop).unwrap().into_luma8();
    assert_eq!(img.height(), 32, "a crop the reader does not resize");
    let got = m.read_lines(&[&img]).unwrap().remove(0);
    let want = sohoa::train::framework_logits(&python(), &model, &crop, tmp.path()).unwrap();
    assert_eq!(got.log_probs.len(), want.len());
    let worst = largest_difference(&got.log_probs, &want);
    assert!(worst < 1e-3, "largest difference {worst}");

    // A trained model still reads the committed crops, typed and handwritten.
    let read = run_ok(
        sohoa()
            .args(["read", "--lines", "--line-model"])
            .arg(&model)
            .arg(&crop)
            .arg(crop.with_file_name("line-typed.png")),
    );
    let text = String::from_utf8_lossy(&read.stdout);
    let texts: Vec<&str> = text.lines().map(|l| l.split('\t').nth(1).unwrap_or("")).collect();
    assert_eq!(
        texts,
        ["Trần Văn Đức, huyện Hoài Đức", "Nguyễn Thị Hằng, Xã Yên Sở"],
        "{text}"
    );
}

#[test]
fn the_same_seed_and_lines_give_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    drawn_lines(&data, 8);
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    run_ok(&mut train_cmd(&data, &a, "1"));
    run_ok(&mut train_cmd(&data, &b, "1"));
    // The same losses to the last bit, and the same weights.
    let losses = |d: &Path| -> Vec<Value> {
        let curve = read_json(&d.join("training.json"));
        curve["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["loss"].clone())
            .collect()
    };
    let la = losses(&a);
    assert_eq!(la.len(), 2);
    assert!(la[1].as_f64().unwrap() > 0.0, "{la:?}");
    assert_eq!(la, losses(&b), "two runs of one seed differ");
    assert!(
        std::fs::read(a.join("model.onnx")).unwrap() == std::fs::read(b.join("model.onnx")).unwrap(),
        "two runs of one seed give two models"
    );
}

#[test]
fn labels_the_model_cannot_write_are_refused_by_name_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    drawn_lines(&data, 2);
    let labels = data.join("labels.tsv");
    let text = std::fs::read_to_string(&labels).unwrap();
    std::fs::write(&labels, format!("{text}lines/0.png\tNguyễn Văn Hùng ♥\n")).unwrap();
    let out = sohoa()
        .arg("train")
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(tmp.path().join("model"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("'♥' (U+2665; 1 line, first"), "{said}");
    assert!(said.contains("labels.tsv line 3"), "{said}");
    assert!(!tmp.path().join("model").exists(), "nothing written");
}
