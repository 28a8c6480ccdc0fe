//! Helpers shared by the integration tests.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The sohoa binary, with OpenMP limited to one thread as the binary itself would ask.
pub fn sohoa() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sohoa"));
    c.env("OMP_THREAD_LIMIT", "1");
    c
}

/// `../shared/data/NAME` when it is present; `None` (saying the test is skipped) when not.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(name);
    if !root.is_dir() {
        eprintln!("skipped: {} is absent", root.display());
        return None;
    }
    Some(root)
}

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("sohoa runs");
    assert!(
        out.status.success(),
        "sohoa failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `sohoa process --no-progress EXTRA --out OUT INPUT` and checks it succeeded.
pub fn process_into(input: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) {
    run_ok(
        sohoa()
            .envs(env.iter().copied())
            .args(["process", "--no-progress"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .arg(input),
    );
}

/// Runs `sohoa process --no-progress --no-record-pdfs --out OUT INPUT` and returns its
/// exit code and standard error.
pub fn process_status(input: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let o = sohoa()
        .args(["process", "--no-progress", "--no-record-pdfs"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg(input)
        .output()
        .expect("sohoa runs");
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("valid JSON")
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

pub fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(|w| w.to_string()).collect()
}

/// The cells of a CSV line (quoted cells may hold commas and doubled quotes).
pub fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// The largest absolute difference between two equally long series of log-probabilities.
pub fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max)
}
