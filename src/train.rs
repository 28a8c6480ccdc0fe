//! Fine-tuning the line model on reviewed lines (`sohoa train`).
//!
//! The lines come in `sohoa dataset`'s format (`labels.tsv`: `path<TAB>text`). This module
//! checks them here — every image there, every character one the model's vocabulary holds,
//! else a refusal naming the characters and where each first appears — and then runs the
//! trainer, `scripts/train.py` (embedded in the binary), with the Python of the training
//! environment that `scripts/setup --train` makes (PyTorch; a GPU where there is one).
//! The trainer answers JSON lines on its standard output, passed to the caller as
//! [`Event`]s, and writes `OUT/model.onnx` and `OUT/vocab.json` (read with `--line-model`),
//! `OUT/training.json` (the curve), `OUT/checkpoint.pt` after every epoch (the same command
//! run again resumes from it) and `OUT/best.pt`.
//!
//! Why PyTorch and not a Rust framework: see docs/ARCHITECTURE.md ("Training the line model").

use crate::ocr::line::Vocab;
use crate::ocr::ModelFiles;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The trainer, run by the training environment's Python.
pub const TRAINER: &str = include_str!("../scripts/train.py");

/// The training environment's folder under the data folder (`scripts/setup --train`).
pub const TRAIN_ENV: &str = "train";

/// Why training could not run or did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A `--data` or `--val` argument holds no `labels.tsv`.
    #[error("{}: no labels.tsv (give a folder written by `sohoa dataset`, or a labels.tsv file)", path.display())]
    NoLabels {
        /// The argument.
        path: PathBuf,
    },
    /// A labels file or the model's vocabulary could not be read.
    #[error("{}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A line names an image that is not there.
    #[error("{}, line {line}: the image {} does not exist", labels.display(), image.display())]
    MissingImage {
        /// The labels file.
        labels: PathBuf,
        /// Its line number.
        line: usize,
        /// The image it names.
        image: PathBuf,
    },
    /// Labels hold characters the model cannot write.
    #[error("the line model's vocabulary lacks {}; correct those labels or leave the lines out", describe_missing(.0))]
    Vocabulary(Vec<Missing>),
    /// No lines at all.
    #[error("no labelled lines in {}", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Empty(Vec<PathBuf>),
    /// The training environment is not installed.
    #[error(
        "the training environment is missing: {} does not exist. Install it with `scripts/setup \
         --train` (PyTorch and ONNX, about 5.5 GB), or name a Python that has them with --python",
        .0.display()
    )]
    NoPython(PathBuf),
    /// The model files could not be found.
    #[error(transparent)]
    Model(#[from] crate::ocr::OcrError),
    /// The trainer stopped with an error.
    #[error("training failed: {0}")]
    Trainer(String),
    /// A file could not be written or a process started.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A character the vocabulary lacks, and where it first appears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// The character.
    pub ch: char,
    /// The labels file.
    pub labels: PathBuf,
    /// Its line number (1-based).
    pub line: usize,
    /// Lines holding it, in all.
    pub lines: usize,
}

fn describe_missing(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(|m| {
            format!(
                "{:?} (U+{:04X}; {} line{}, first {} line {})",
                m.ch,
                m.ch as u32,
                m.lines,
                if m.lines == 1 { "" } else { "s" },
                m.labels.display(),
                m.line
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the labels hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataSummary {
    /// The labels files read.
    pub files: Vec<PathBuf>,
    /// Lines with a text.
    pub lines: usize,
    /// Characters in their texts.
    pub chars: usize,
}

/// The labels file a `--data` argument names: the file itself, or `labels.tsv` in a folder.
pub fn labels_file(arg: &Path) -> Result<PathBuf, TrainError> {
    let file = if arg.is_dir() {
        arg.join("labels.tsv")
    } else {
        arg.to_path_buf()
    };
    if file.is_file() {
        Ok(file)
    } else {
        Err(TrainError::NoLabels {
            path: arg.to_path_buf(),
        })
    }
}

/// Checks the labelled lines against the vocabulary: every image there, every character
/// one the model writes (look-alike dashes and quotes count as the ones it knows).
pub fn check_data(args: &[PathBuf], vocab: &Vocab) -> Result<DataSummary, TrainError> {
    let mut summary = DataSummary::default();
    let mut missing: BTreeMap<char, Missing> = BTreeMap::new();
    for arg in args {
        let file = labels_file(arg)?;
        let text = std::fs::read_to_string(&file).map_err(|e| TrainError::Read {
            path: file.clone(),
            message: e.to_string(),
        })?;
        let root = file.parent().unwrap_or(Path::new("."));
        for (n, row) in text.lines().enumerate() {
            let Some((path, label)) = row.split_once('\t') else {
                continue;
            };
            let label: String = unicode_normalization::UnicodeNormalization::nfc(label.trim()).collect();
            if label.is_empty() {
                continue;
            }
            let image = root.join(path);
            if !image.is_file() {
                return Err(TrainError::MissingImage {
                    labels: file,
                    line: n + 1,
                    image,
                });
            }
            let mut seen = Vec::new();
            for c in label.chars().filter(|&c| vocab.class(c).is_none()) {
                if seen.contains(&c) {
                    continue;
                }
                seen.push(c);
                missing
                    .entry(c)
                    .or_insert_with(|| Missing {
                        ch: c,
                        labels: file.clone(),
                        line: n + 1,
                        lines: 0,
                    })
                    .lines += 1;
            }
            summary.lines += 1;
            summary.chars += label.chars().count();
        }
        summary.files.push(file);
    }
    if !missing.is_empty() {
        return Err(TrainError::Vocabulary(missing.into_values().collect()));
    }
    if summary.lines == 0 {
        return Err(TrainError::Empty(args.to_vec()));
    }
    Ok(summary)
}

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Training lines: folders of `sohoa dataset` or labels files.
    pub data: Vec<PathBuf>,
    /// Validation lines (default: a tenth of the training lines, never trained on).
    pub val: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// The model to start from (default: the installed one).
    pub base: Option<PathBuf>,
    /// Passes over the training lines at most.
    pub epochs: u32,
    /// Seed of the shuffling, the augmentation and the validation split.
    pub seed: u64,
    /// Lines per step.
    pub batch: u32,
    /// Stages of the network kept as they are (the stem and the first layers; 0–5).
    pub freeze: u32,
    /// Learning rate.
    pub lr: f64,
    /// Stop after the epoch in which this many minutes have passed (0: no limit).
    pub max_minutes: f64,
    /// Epochs without a better validation error before stopping.
    pub patience: u32,
    /// Begin again instead of resuming from OUT/checkpoint.pt.
    pub restart: bool,
    /// Train on the CPU even where there is a GPU.
    pub cpu: bool,
    /// Threads of the CPU (0: every core).
    pub threads: usize,
    /// The Python to run the trainer with (default: the training environment's).
    pub python: Option<PathBuf>,
    /// Typed lines drawn and mixed into training, as a share of the training lines (0:
    /// none): a model trained on a book's hand alone forgets typed print.
    pub typed: f64,
}

/// What the trainer reports.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The lines are read and the starting model measured.
    Start {
        /// Training lines, the typed lines mixed in included.
        lines: usize,
        /// Typed lines drawn by sohoa and mixed in (never validated on).
        #[serde(default)]
        kept_lines: usize,
        /// Validation lines.
        val_lines: usize,
        /// The starting model's validation character error rate.
        val_cer: f64,
        /// Epochs at most.
        epochs: u32,
        /// Steps per epoch.
        steps: usize,
        /// `cpu` or `cuda`.
        device: String,
    },
    /// Training goes on from a checkpoint.
    Resumed {
        /// Epochs already done.
        epoch: u32,
    },
    /// One step done.
    Step {
        /// The epoch (1-based).
        epoch: u32,
        /// Steps done in it.
        batch: usize,
        /// Its steps.
        batches: usize,
        /// Mean loss of the last steps.
        loss: f64,
    },
    /// One epoch done, measured and saved.
    Epoch {
        /// The epoch.
        epoch: u32,
        /// Its mean loss.
        loss: f64,
        /// Validation character error rate after it.
        val_cer: f64,
        /// The best so far.
        best: bool,
        /// Seconds since training began.
        seconds: f64,
        /// The time limit ended it.
        out_of_time: bool,
    },
    /// The validation error stopped falling.
    EarlyStop {
        /// The last epoch.
        epoch: u32,
        /// The best one (its weights are exported).
        best_epoch: u32,
    },
    /// The model is written.
    Done {
        /// The epoch whose weights were exported (0: the starting model stayed best).
        best_epoch: u32,
        /// Its validation character error rate.
        val_cer: f64,
        /// The starting model's.
        base_cer: f64,
        /// Seconds of training.
        seconds: f64,
    },
    /// The trainer refused or failed.
    Error {
        /// Why.
        message: String,
    },
}

/// The Python of the training environment: `SOHOA_TRAIN_PYTHON`, else
/// `<data folder>/train/bin/python`.
pub fn default_python() -> PathBuf {
    if let Some(p) = std::env::var_os("SOHOA_TRAIN_PYTHON") {
        return PathBuf::from(p);
    }
    let data = std::env::var_os("SOHOA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::ocr::line::DEFAULT_DATA_DIR));
    data.join(TRAIN_ENV).join("bin").join("python")
}

/// Checks the lines, then runs the trainer, passing each of its events to `on_event`.
/// Returns the final event (`Done`).
pub fn train(opts: &TrainOptions, mut on_event: impl FnMut(&Event)) -> Result<Event, TrainError> {
    let files = ModelFiles::locate(opts.base.as_deref())?;
    let vocab = std::fs::read_to_string(&files.vocab)
        .map_err(|e| e.to_string())
        .and_then(|s| Vocab::parse(&s))
        .map_err(|message| TrainError::Read {
            path: files.vocab.clone(),
            message,
        })?;
    let summary = check_data(&opts.data, &vocab)?;
    if !opts.val.is_empty() {
        check_data(&opts.val, &vocab)?;
    }
    let python = opts.python.clone().unwrap_or_else(default_python);
    if !python.exists() {
        return Err(TrainError::NoPython(python));
    }
    std::fs::create_dir_all(&opts.out)?;
    let script = opts.out.join(".train.py");
    crate::store::write_atomic(&script, TRAINER.as_bytes()).map_err(|e| TrainError::Trainer(e.to_string()))?;
    let typed = (summary.lines as f64 * opts.typed).round() as usize;
    let typed = if typed > 0 {
        Some(write_typed_lines(&opts.out.join("typed"), typed, opts.seed, &vocab)?)
    } else {
        None
    };
    let mut cmd = Command::new(&python);
    // sohoa runs with OMP_THREAD_LIMIT=1 for Tesseract; PyTorch sets its own threads, and
    // under that limit with more threads asked it computes NaN.
    cmd.env_remove("OMP_THREAD_LIMIT");
    cmd.arg("-u").arg(&script).arg("train").arg("--base").arg(&files.model);
    cmd.arg("--out").arg(&opts.out).arg("--data");
    for d in &opts.data {
        cmd.arg(labels_file(d)?);
    }
    if !opts.val.is_empty() {
        cmd.arg("--val");
        for d in &opts.val {
            cmd.arg(labels_file(d)?);
        }
    }
    if let Some(typed) = typed {
        cmd.arg("--keep").arg(typed);
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    for (flag, value) in [
        ("--epochs", opts.epochs.to_string()),
        ("--seed", opts.seed.to_string()),
        ("--batch", opts.batch.to_string()),
        ("--freeze", opts.freeze.to_string()),
        ("--lr", opts.lr.to_string()),
        ("--max-minutes", opts.max_minutes.to_string()),
        ("--patience", opts.patience.to_string()),
        ("--threads", threads.to_string()),
    ] {
        cmd.arg(flag).arg(value);
    }
    if opts.restart {
        cmd.arg("--restart");
    }
    if opts.cpu {
        cmd.arg("--cpu");
    }
    run_trainer(cmd, &mut on_event)
}

/// `n` typed lines of record values (`synth::typed_lines`, those the vocabulary can
/// write) written into `dir` with their labels.tsv, which is returned. Drawn again on a
/// resume: the same seed gives the same lines.
fn write_typed_lines(dir: &Path, n: usize, seed: u64, vocab: &Vocab) -> Result<PathBuf, TrainError> {
    let io = |e: crate::store::StoreError| TrainError::Trainer(e.to_string());
    std::fs::create_dir_all(dir.join("lines"))?;
    let lines = draw_typed(n, seed)?;
    let mut labels = String::new();
    for (i, (text, img)) in lines.iter().enumerate() {
        if text.chars().any(|c| vocab.class(c).is_none()) {
            continue;
        }
        let name = format!("lines/{i:05}.png");
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| TrainError::Trainer(e.to_string()))?;
        crate::store::write_atomic(&dir.join(&name), &png).map_err(io)?;
        labels.push_str(&format!("{name}\t{text}\n"));
    }
    let file = dir.join("labels.tsv");
    crate::store::write_atomic(&file, labels.as_bytes()).map_err(io)?;
    Ok(file)
}

#[cfg(feature = "synth")]
fn draw_typed(n: usize, seed: u64) -> Result<Vec<(String, image::GrayImage)>, TrainError> {
    crate::synth::typed_lines(n, seed).map_err(|e| TrainError::Trainer(e.to_string()))
}

#[cfg(not(feature = "synth"))]
fn draw_typed(_n: usize, _seed: u64) -> Result<Vec<(String, image::GrayImage)>, TrainError> {
    Err(TrainError::Trainer(
        "typed lines are drawn by the `synth` feature, which this build lacks: pass --typed 0".into(),
    ))
}

/// Runs the trainer and follows its events; its standard error is kept for the message
/// of a failure.
fn run_trainer(mut cmd: Command, on_event: &mut impl FnMut(&Event)) -> Result<Event, TrainError> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut last = None;
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        let Ok(event) = serde_json::from_str::<Event>(&line) else {
            continue;
        };
        on_event(&event);
        last = Some(event);
    }
    let status = child.wait()?;
    let stderr = errors.join().unwrap_or_default();
    match last {
        Some(Event::Error { message }) => Err(TrainError::Trainer(message)),
        Some(done @ Event::Done { .. }) if status.success() => Ok(done),
        _ => {
            let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(TrainError::Trainer(format!(
                "the trainer stopped ({status}): {}",
                tail.join("\n")
            )))
        }
    }
}

/// The log-probabilities the training framework gives for one line image (the trainer's
/// `logits` command): to check that an exported model reads in sohoa as it did in training.
pub fn framework_logits(python: &Path, model: &Path, image: &Path, scratch: &Path) -> Result<Vec<f32>, TrainError> {
    let script = scratch.join(".train.py");
    crate::store::write_atomic(&script, TRAINER.as_bytes()).map_err(|e| TrainError::Trainer(e.to_string()))?;
    let mut cmd = Command::new(python);
    cmd.env_remove("OMP_THREAD_LIMIT");
    cmd.arg("-u")
        .arg(&script)
        .arg("logits")
        .arg("--model")
        .arg(model)
        .arg("--image")
        .arg(image);
    #[derive(Deserialize)]
    struct Logits {
        log_probs: Vec<f32>,
    }
    let out = cmd.output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| serde_json::from_str::<Logits>(l).ok())
        .map(|l| l.log_probs)
        .ok_or_else(|| TrainError::Trainer(String::from_utf8_lossy(&out.stderr).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocab {
        Vocab::parse(r#"{"chars": ["<blank>", "a", "ư", " ", "-", "N"]}"#).unwrap()
    }

    #[test]
    fn labels_with_characters_the_model_lacks_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lines")).unwrap();
        for f in ["1.png", "2.png", "3.png"] {
            std::fs::write(dir.path().join("lines").join(f), b"x").unwrap();
        }
        std::fs::write(
            dir.path().join("labels.tsv"),
            "lines/1.png\taư – N\nlines/2.png\taƒ ø\nlines/3.png\tƒa\n",
        )
        .unwrap();
        let err = check_data(&[dir.path().to_path_buf()], &vocab()).unwrap_err();
        let TrainError::Vocabulary(missing) = &err else {
            panic!("{err}")
        };
        let chars: Vec<char> = missing.iter().map(|m| m.ch).collect();
        assert_eq!(chars, vec!['ø', 'ƒ'], "the en dash counts as the hyphen");
        assert_eq!((missing[1].line, missing[1].lines), (2, 2));
        let msg = err.to_string();
        assert!(msg.contains("'ƒ' (U+0192; 2 lines, first"), "{msg}");
        assert!(msg.contains("labels.tsv line 2"), "{msg}");
    }

    #[test]
    fn a_line_naming_a_missing_image_and_a_folder_without_labels_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_data(&[dir.path().to_path_buf()], &vocab()).unwrap_err();
        assert!(matches!(err, TrainError::NoLabels { .. }), "{err}");
        std::fs::write(dir.path().join("labels.tsv"), "lines/gone.png\taa\n").unwrap();
        let err = check_data(&[dir.path().to_path_buf()], &vocab()).unwrap_err();
        assert!(err.to_string().contains("gone.png does not exist"), "{err}");
        std::fs::write(dir.path().join("labels.tsv"), "\n").unwrap();
        let err = check_data(&[dir.path().join("labels.tsv")], &vocab()).unwrap_err();
        assert!(matches!(err, TrainError::Empty(_)), "{err}");
    }

    #[test]
    fn the_trainers_events_parse() {
        let e: Event =
            serde_json::from_str(r#"{"event": "epoch", "epoch": 2, "loss": 0.5, "val_cer": 0.12, "best": true, "seconds": 60.0, "out_of_time": false}"#)
                .unwrap();
        assert!(matches!(
            e,
            Event::Epoch {
                epoch: 2,
                best: true,
                ..
            }
        ));
        let e: Event = serde_json::from_str(r#"{"event": "error", "message": "no"}"#).unwrap();
        assert_eq!(e, Event::Error { message: "no".into() });
    }
}
