//! The neural line model: a CTC text-line reader run in-process with ONNX Runtime.
//!
//! The model (`asternet.onnx`, CNN + BiLSTM + attention, 227 classes: blank, the
//! Vietnamese letters in both cases, digits, space and punctuation) takes RGB lines 32
//! pixels high, dark ink on light paper, scaled to [0, 1], and answers per-frame
//! log-probabilities, one frame per 4 input columns. A line crop is resized to that
//! height keeping its aspect ratio; lines of similar width are read together, padded
//! with paper on the right. The vocabulary (`vocab.json`, `{"chars": [...]}`) lies beside
//! the model, so a model trained later on a province's own corrections drops in.
//!
//! ONNX Runtime is loaded at run time from its shared library (`libonnxruntime.so`,
//! installed by `scripts/setup` from the `onnxruntime` wheel), once per process; each
//! worker thread holds its own session, single-threaded, so that the worker pool alone
//! decides the parallelism.

use super::OcrError;
use image::GrayImage;
use ndarray::Array4;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Height of the model's input, pixels.
pub const INPUT_HEIGHT: u32 = 32;
/// Input columns per output frame.
pub const STRIDE: u32 = 4;
/// Lines read in one call at most.
const MAX_BATCH: usize = 16;
/// The widest input the model reads (its positional encoding holds 256 frames).
const MAX_WIDTH: u32 = 256 * STRIDE;
/// Input columns of one call at most (lines × width): the model's activations grow with
/// them, and ONNX Runtime keeps what a call needed. At 1024, eight 300-dpi pages on two
/// workers peak at 571 MB (706 MB at 2048, 1306 MB uncapped), and run no slower.
const MAX_BATCH_COLUMNS: usize = 1024;
/// Lines batched together differ in width by this factor at most.
const BATCH_WIDTH_SPREAD: f32 = 1.3;

/// Where sohoa's data lives unless `SOHOA_DATA` says otherwise (`scripts/setup` installs
/// the line model and ONNX Runtime there).
pub const DEFAULT_DATA_DIR: &str = "/usr/local/share/sohoa";
/// The line model, relative to the data folder.
pub const DEFAULT_MODEL: &str = "line-model/asternet.onnx";
/// The ONNX Runtime library, relative to the data folder.
pub const DEFAULT_RUNTIME: &str = "onnxruntime/libonnxruntime.so.1.32.0";

/// The files the line model needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFiles {
    /// The ONNX model.
    pub model: PathBuf,
    /// Its vocabulary (`vocab.json` beside the model).
    pub vocab: PathBuf,
    /// The ONNX Runtime shared library.
    pub runtime: PathBuf,
}

impl ModelFiles {
    /// The files to use: `model` when given (else the installed one), its `vocab.json`
    /// beside it, and the runtime from `SOHOA_ONNXRUNTIME` or the data folder. Each must
    /// exist; the error says which is missing and how to install it.
    pub fn locate(model: Option<&Path>) -> Result<ModelFiles, OcrError> {
        let data = std::env::var_os("SOHOA_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let model = model.map(Path::to_path_buf).unwrap_or_else(|| data.join(DEFAULT_MODEL));
        let vocab = model.with_file_name("vocab.json");
        let runtime = std::env::var_os("SOHOA_ONNXRUNTIME")
            .map(PathBuf::from)
            .unwrap_or_else(|| data.join(DEFAULT_RUNTIME));
        for (what, path) in [
            ("line model", &model),
            ("line model's vocabulary", &vocab),
            ("ONNX Runtime library", &runtime),
        ] {
            if !path.is_file() {
                return Err(OcrError::Missing {
                    what,
                    path: path.clone(),
                });
            }
        }
        Ok(ModelFiles { model, vocab, runtime })
    }
}

/// The model's characters: class index → character (index 0 is the CTC blank).
#[derive(Clone, Debug)]
pub struct Vocab {
    chars: Vec<char>,
    index: HashMap<char, usize>,
}

impl Vocab {
    /// Parses `vocab.json` (`{"chars": ["<blank>", "a", …]}`).
    pub fn parse(json: &str) -> Result<Vocab, String> {
        #[derive(serde::Deserialize)]
        struct File {
            chars: Vec<String>,
        }
        let f: File = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut chars = Vec::with_capacity(f.chars.len());
        for (i, c) in f.chars.iter().enumerate() {
            let mut it = c.chars();
            match (i, it.next(), it.next()) {
                (0, _, _) => chars.push('\u{0}'),
                (_, Some(ch), None) => chars.push(ch),
                _ => return Err(format!("class {i} is {c:?}, not one character")),
            }
        }
        if chars.len() < 2 {
            return Err("fewer than two classes".into());
        }
        let index = chars.iter().enumerate().skip(1).map(|(i, &c)| (c, i)).collect();
        Ok(Vocab { chars, index })
    }

    /// Number of classes, blank included.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True when there is no class but the blank.
    pub fn is_empty(&self) -> bool {
        self.chars.len() < 2
    }

    /// The character of class `i` (`i` ≥ 1).
    pub fn char(&self, i: usize) -> char {
        self.chars[i]
    }

    /// The class of a character, if the model knows it. Look-alike dashes and quotes
    /// map to the ones it knows.
    pub fn class(&self, c: char) -> Option<usize> {
        self.index.get(&c).copied().or_else(|| {
            let alike = match c {
                '–' | '—' | '‐' | '−' => '-',
                '‘' | '’' => '\'',
                '“' | '”' => '"',
                _ => return None,
            };
            self.index.get(&alike).copied()
        })
    }
}

/// The model's answer for one line: per-frame log-probabilities over the classes.
#[derive(Clone, Debug)]
pub struct Posteriors {
    /// Frames, one per [`STRIDE`] input columns.
    pub frames: usize,
    /// Classes per frame (blank first).
    pub classes: usize,
    /// `frames × classes` log-probabilities, frame by frame.
    pub log_probs: Vec<f32>,
    /// Input columns per crop column (the crop was resized by this factor).
    pub scale: f32,
}

impl Posteriors {
    /// The log-probabilities of frame `t`.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.log_probs[t * self.classes..(t + 1) * self.classes]
    }

    /// The crop column at the middle of frame `t`.
    pub fn column(&self, t: usize) -> f32 {
        (t as f32 + 0.5) * STRIDE as f32 / self.scale
    }
}

/// A loaded line model: one ONNX Runtime session (use one per thread).
pub struct LineModel {
    session: ort::session::Session,
    vocab: Arc<Vocab>,
}

/// ONNX Runtime, loaded once per process.
static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

impl LineModel {
    /// Loads the model for one worker.
    pub fn load(files: &ModelFiles) -> Result<LineModel, OcrError> {
        let env = RUNTIME
            .get_or_init(|| {
                ort::init_from(&files.runtime)
                    .map_err(|e| e.to_string())?
                    .with_name("sohoa")
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| OcrError::Runtime(format!("cannot load {}: {e}", files.runtime.display())))?;
        let vocab = std::fs::read_to_string(&files.vocab)
            .map_err(|e| e.to_string())
            .and_then(|s| Vocab::parse(&s))
            .map_err(|e| OcrError::Model {
                path: files.vocab.clone(),
                message: e,
            })?;
        let model_err = |e: ort::Error| OcrError::Model {
            path: files.model.clone(),
            message: e.to_string(),
        };
        let session = ort::session::Session::builder(env)
            .map_err(model_err)?
            .with_intra_threads(1)
            .map_err(|e| model_err(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| model_err(e.into()))?
            // Lines differ in width from call to call: an arena sized for the widest
            // batch, and patterns planned for one shape, only hold memory.
            .with_memory_pattern(false)
            .map_err(|e| model_err(e.into()))?
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(true).build()])
            .map_err(|e| model_err(e.into()))?
            .commit_from_file(&files.model)
            .map_err(model_err)?;
        let outputs = session.outputs().len();
        if session.inputs().len() != 1 || outputs != 1 {
            return Err(OcrError::Model {
                path: files.model.clone(),
                message: format!(
                    "expected one input (images) and one output (log-probabilities), found {} and {outputs}",
                    session.inputs().len()
                ),
            });
        }
        Ok(LineModel {
            session,
            vocab: Arc::new(vocab),
        })
    }

    /// The model's characters.
    pub fn vocab(&self) -> &Arc<Vocab> {
        &self.vocab
    }

    /// Reads text lines (dark ink on light paper, any size); lines of similar width go
    /// through the model together. Returns the posteriors in the order given.
    pub fn read_lines(&mut self, lines: &[&GrayImage]) -> Result<Vec<Posteriors>, OcrError> {
        // Lines longer than the model reads at once go in pieces, each piece's line noted.
        let mut inputs: Vec<(Vec<f32>, u32, f32)> = Vec::new();
        let mut line_of: Vec<usize> = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            for piece in split_long(to_input(l)) {
                inputs.push(piece);
                line_of.push(i);
            }
        }
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| inputs[i].1);
        let mut out: Vec<Option<Posteriors>> = vec![None; inputs.len()];
        let mut start = 0;
        while start < order.len() {
            let narrowest = inputs[order[start]].1 as f32;
            let mut end = start + 1;
            while end < order.len()
                && end - start < MAX_BATCH
                && inputs[order[end]].1 as f32 <= narrowest * BATCH_WIDTH_SPREAD
                && (end - start + 1) * inputs[order[end]].1 as usize <= MAX_BATCH_COLUMNS
            {
                end += 1;
            }
            let batch: Vec<&(Vec<f32>, u32, f32)> = order[start..end].iter().map(|&i| &inputs[i]).collect();
            for (k, p) in super::in_engine(|| self.run(&batch))?.into_iter().enumerate() {
                out[order[start + k]] = Some(p);
            }
            start = end;
        }
        // Pieces of one line, in order, joined back into the line's frames.
        let mut joined: Vec<Option<Posteriors>> = vec![None; lines.len()];
        for (p, &i) in out.into_iter().zip(&line_of) {
            let p = p.expect("every piece read");
            match &mut joined[i] {
                Some(j) => {
                    j.log_probs.extend_from_slice(&p.log_probs);
                    j.frames += p.frames;
                }
                slot => *slot = Some(p),
            }
        }
        Ok(joined.into_iter().map(|p| p.expect("every line read")).collect())
    }

    /// One call of the model on lines already scaled to the input height.
    fn run(&mut self, batch: &[&(Vec<f32>, u32, f32)]) -> Result<Vec<Posteriors>, OcrError> {
        let width = batch.iter().map(|b| b.1).max().unwrap_or(STRIDE) as usize;
        let h = INPUT_HEIGHT as usize;
        // Paper (1.0) where a line is narrower than the batch.
        let mut x = Array4::<f32>::from_elem((batch.len(), 3, h, width), 1.0);
        for (b, (data, w, _)) in batch.iter().enumerate() {
            let w = *w as usize;
            for c in 0..3 {
                for y in 0..h {
                    for col in 0..w {
                        x[[b, c, y, col]] = data[y * w + col];
                    }
                }
            }
        }
        let engine = |e: ort::Error| OcrError::Engine(format!("line model: {e}"));
        let input = ort::value::TensorRef::from_array_view(&x).map_err(engine)?;
        let outputs = self.session.run(ort::inputs![input]).map_err(engine)?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(engine)?;
        // (time, batch, classes)
        if shape.len() != 3 || shape[1] as usize != batch.len() || shape[2] as usize != self.vocab.len() {
            return Err(OcrError::Engine(format!(
                "line model answered shape {shape:?}; expected (time, {}, {})",
                batch.len(),
                self.vocab.len()
            )));
        }
        let (frames, classes) = (shape[0] as usize, shape[2] as usize);
        Ok(batch
            .iter()
            .enumerate()
            .map(|(b, (_, w, scale))| {
                let own = (*w as usize).div_ceil(STRIDE as usize).min(frames).max(1);
                let mut log_probs = Vec::with_capacity(own * classes);
                for t in 0..own {
                    let at = (t * batch.len() + b) * classes;
                    log_probs.extend_from_slice(&data[at..at + classes]);
                }
                Posteriors {
                    frames: own,
                    classes,
                    log_probs,
                    scale: *scale,
                }
            })
            .collect())
    }
}

/// A line input cut into pieces the model can read (at most [`MAX_WIDTH`] columns), each
/// cut at the lightest column (a gap between letters) in the last sixth of its piece and
/// on a multiple of [`STRIDE`], so that the pieces' frames line up end to end.
fn split_long(input: (Vec<f32>, u32, f32)) -> Vec<(Vec<f32>, u32, f32)> {
    let (data, width, scale) = input;
    if width <= MAX_WIDTH {
        return vec![(data, width, scale)];
    }
    let h = INPUT_HEIGHT as usize;
    let w = width as usize;
    let lightness = |x: usize| -> f32 { (0..h).map(|y| data[y * w + x]).sum() };
    let mut pieces = Vec::new();
    let mut start = 0usize;
    while start < w {
        let end = if w - start <= MAX_WIDTH as usize {
            w
        } else {
            let hi = start + MAX_WIDTH as usize;
            let lo = hi - (MAX_WIDTH as usize / 6) / STRIDE as usize * STRIDE as usize;
            (lo..=hi)
                .step_by(STRIDE as usize)
                .max_by(|&a, &b| lightness(a.min(w - 1)).total_cmp(&lightness(b.min(w - 1))))
                .unwrap_or(hi)
        };
        let pw = end - start;
        let mut piece = Vec::with_capacity(pw * h);
        for y in 0..h {
            piece.extend_from_slice(&data[y * w + start..y * w + end]);
        }
        pieces.push((piece, pw as u32, scale));
        start = end;
    }
    pieces
}

/// The line's contrast stretched: the darkest 1% of its samples to black and the lightest
/// 1% to white (faint or grey ink on dull paper read as the model learnt lines: real
/// handwritten lines 0.219 against 0.223 CER). `None` when the line is already stretched
/// or too flat to stretch (a blank line stays blank). The trainer (`scripts/train.py`)
/// does exactly this, in integers, so that training and reading see the same lines.
pub fn stretch(line: &GrayImage) -> Option<GrayImage> {
    let mut hist = [0u64; 256];
    for p in line.pixels() {
        hist[p.0[0] as usize] += 1;
    }
    let (lo, hi) = stretch_bounds(&hist);
    if hi - lo < 16 || (lo == 0 && hi == 255) {
        return None;
    }
    let lut: Vec<u8> = (0..256i64)
        .map(|v| (((v - lo) * 255 + (hi - lo) / 2) / (hi - lo)).clamp(0, 255) as u8)
        .collect();
    let mut out = line.clone();
    for p in out.pixels_mut() {
        p.0[0] = lut[p.0[0] as usize];
    }
    Some(out)
}

/// The grey levels with more than 1% of the samples darker than the first, and lighter
/// than the second.
fn stretch_bounds(hist: &[u64; 256]) -> (i64, i64) {
    let n: u64 = hist.iter().sum();
    let cut = n / 100;
    let mut seen = 0;
    let mut lo = 0;
    for (v, &c) in hist.iter().enumerate() {
        seen += c;
        if seen > cut {
            lo = v as i64;
            break;
        }
    }
    seen = 0;
    let mut hi = 255;
    for (v, &c) in hist.iter().enumerate().rev() {
        seen += c;
        if seen > cut {
            hi = v as i64;
            break;
        }
    }
    (lo, hi)
}

/// A line crop as the model's input: grey samples scaled to [0, 1], resized to
/// [`INPUT_HEIGHT`] keeping the aspect ratio, width rounded up to a multiple of
/// [`STRIDE`]. Returns the samples (row-major, one channel: the model's three are equal),
/// the width and the scale.
fn to_input(line: &GrayImage) -> (Vec<f32>, u32, f32) {
    let stretched = stretch(line);
    let line = stretched.as_ref().unwrap_or(line);
    let (w, h) = line.dimensions();
    let scale = INPUT_HEIGHT as f32 / h.max(1) as f32;
    let nw = ((w as f32 * scale).round() as u32).max(STRIDE * 4);
    // Catmull-Rom keeps strokes and marks sharper than bilinear when a small line is
    // enlarged (real handwritten lines: 0.222 against 0.225 CER; script faces 0.072
    // against 0.086).
    let resized = image::imageops::resize(line, nw, INPUT_HEIGHT, image::imageops::FilterType::CatmullRom);
    let width = nw.div_ceil(STRIDE) * STRIDE;
    let mut data = vec![1.0f32; (width * INPUT_HEIGHT) as usize];
    for (x, y, p) in resized.enumerate_pixels() {
        data[(y * width + x) as usize] = p.0[0] as f32 / 255.0;
    }
    (data, width, nw as f32 / w.max(1) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_maps_characters_both_ways() {
        let v = Vocab::parse(r#"{"chars": ["<blank>", "a", "ư", " ", "-"], "size": 5}"#).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v.class('ư'), Some(2));
        assert_eq!(v.char(2), 'ư');
        assert_eq!(v.class('–'), Some(4), "an en dash reads as the hyphen");
        assert_eq!(v.class('z'), None);
        assert!(Vocab::parse(r#"{"chars": ["<blank>", "ab"]}"#).is_err());
    }

    #[test]
    fn a_line_is_scaled_to_the_input_height_and_a_multiple_of_the_stride() {
        let line = GrayImage::from_pixel(101, 16, image::Luma([255]));
        let (data, w, scale) = to_input(&line);
        assert_eq!(w % STRIDE, 0);
        assert!(w >= 202, "{w}");
        assert_eq!(data.len(), (w * INPUT_HEIGHT) as usize);
        assert!((scale - 2.0).abs() < 0.01, "{scale}");
        assert!(data.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn faint_ink_on_dull_paper_is_stretched_and_a_blank_line_is_left_alone() {
        let mut line = GrayImage::from_pixel(100, 20, image::Luma([200]));
        for x in 10..40 {
            for y in 5..15 {
                line.put_pixel(x, y, image::Luma([140]));
            }
        }
        let s = stretch(&line).expect("stretched");
        assert_eq!(s.get_pixel(20, 10).0[0], 0, "the ink turns black");
        assert_eq!(s.get_pixel(60, 10).0[0], 255, "the paper turns white");
        assert!(stretch(&GrayImage::from_pixel(50, 20, image::Luma([230]))).is_none());
        assert!(stretch(&s).is_none(), "already stretched");
    }

    #[test]
    fn a_long_line_goes_in_pieces_cut_at_gaps_that_join_end_to_end() {
        let h = INPUT_HEIGHT as usize;
        let w = 2600usize;
        // Ink everywhere but a gap at columns 960..964 and 1900..1904.
        let mut data = vec![0.0f32; h * w];
        for y in 0..h {
            for x in (960..964).chain(1900..1904) {
                data[y * w + x] = 1.0;
            }
        }
        let pieces = split_long((data, w as u32, 1.0));
        let widths: Vec<u32> = pieces.iter().map(|p| p.1).collect();
        assert_eq!(widths.iter().sum::<u32>(), w as u32);
        assert!(
            widths.iter().all(|&pw| pw <= MAX_WIDTH && pw % STRIDE == 0),
            "{widths:?}"
        );
        assert_eq!(widths[0], 960, "cut at the gap");
        assert_eq!(widths[0] + widths[1], 1900);
    }

    #[test]
    fn missing_files_are_named_with_the_way_to_install_them() {
        let e = ModelFiles::locate(Some(Path::new("/nonexistent/model.onnx"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent/model.onnx"), "{msg}");
        assert!(msg.contains("scripts/setup"), "{msg}");
    }
}
