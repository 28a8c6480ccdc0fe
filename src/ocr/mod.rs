//! Stage 3: read text from image regions. Two engines sit behind the [`Recognizer`]
//! trait: Tesseract ([`tesseract`], the only module that sees its API) reads printed
//! pages, headings and form labels and finds text lines and word boxes; the neural line
//! model ([`line`], an ONNX CTC reader run in-process) reads the values in the cells,
//! handwritten or typed. [`ctc`] decodes its output, free or constrained by what a field
//! can hold ([`constrain`]).

pub mod constrain;
pub mod ctc;
pub mod field;
pub mod line;
pub mod tesseract;

pub use line::{LineModel, ModelFiles};
pub use tesseract::Tesseract;

use crate::model::WordBox;
use crate::raster::union;
use image::GrayImage;
use std::path::PathBuf;

/// How a region should be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// One line of text (Tesseract PSM 7).
    Line,
    /// A block of text, possibly several lines (PSM 6).
    Block,
    /// Digits and date separators only, one line.
    Digits,
    /// Digits and date separators only, as a block.
    DigitsBlock,
    /// A whole page with its own layout analysis (PSM 3).
    Page,
}

/// Why recognition failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcrError {
    /// The engine could not start (missing language data, usually).
    #[error("Tesseract could not start with language '{lang}': is tesseract-ocr-{lang} installed? (TESSDATA_PREFIX={prefix})")]
    Init {
        /// Language asked for.
        lang: String,
        /// TESSDATA_PREFIX as set, or `unset`.
        prefix: String,
    },
    /// The engine refused the image or returned nothing.
    #[error("OCR failed: {0}")]
    Engine(String),
    /// A file the line model needs is not there.
    #[error(
        "the {what} is missing: {} does not exist. Install it with `scripts/setup` (it fetches the \
         model and ONNX Runtime from the package registries) or give another model with \
         --line-model PATH (its vocab.json beside it); `sohoa process --reader tesseract` reads \
         every cell with Tesseract instead",
        path.display()
    )]
    Missing {
        /// Which file.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// ONNX Runtime could not be loaded.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The line model or its vocabulary could not be loaded.
    #[error("line model {}: {message}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// The OCR engines of one worker: Tesseract always, the line model when cells are read
/// with it.
pub struct Readers {
    /// Tesseract (or another engine behind the trait).
    pub tesseract: Box<dyn Recognizer>,
    /// The line model.
    pub lines: Option<LineModel>,
}

/// Nanoseconds spent inside the recognition engines (Tesseract, the line model), all
/// threads together, since the process started.
static ENGINE_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Seconds spent inside the recognition engines (Tesseract, the line model), all threads
/// together, since the process started: what `process` reports as `ocr_engines`, to tell
/// the pipeline's own share of a run from the engines'.
pub fn engine_seconds() -> f64 {
    ENGINE_NANOS.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9
}

/// Runs `f`, counting its time as the engines'.
pub(crate) fn in_engine<T>(f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = f();
    ENGINE_NANOS.fetch_add(
        started.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    out
}

/// Something that reads words from a grey image.
pub trait Recognizer: Send {
    /// Reads `img` (paper light, ink dark) at `dpi` and returns its words with boxes in
    /// `img`'s pixels, in reading order.
    fn read(&mut self, img: &GrayImage, dpi: u32, mode: ReadMode) -> Result<Vec<WordBox>, OcrError>;

    /// The text lines of a page, in reading order: their boxes in `img`'s pixels. By
    /// default the page is read and its words grouped into lines.
    fn text_lines(&mut self, img: &GrayImage, dpi: u32) -> Result<Vec<crate::model::BBox>, OcrError> {
        let words = self.read(img, dpi, ReadMode::Page)?;
        let mut lines: Vec<crate::model::BBox> = Vec::new();
        let mut prev: Option<&WordBox> = None;
        for w in &words {
            let new_line = prev.is_none_or(|p| w.bbox[1] > p.bbox[1] + p.bbox[3] / 2 || w.bbox[0] + 2 < p.bbox[0]);
            match lines.last_mut() {
                Some(l) if !new_line => *l = union(*l, w.bbox),
                _ => lines.push(w.bbox),
            }
            prev = Some(w);
        }
        Ok(lines)
    }
}

/// Joins words into text: a new line where a word starts left of the previous one or well
/// below it, a space otherwise.
pub fn words_to_text(words: &[WordBox]) -> String {
    let mut out = String::new();
    let mut prev: Option<&WordBox> = None;
    for w in words {
        if let Some(p) = prev {
            let new_line = w.bbox[1] > p.bbox[1] + p.bbox[3] / 2 || w.bbox[0] + 2 < p.bbox[0];
            out.push(if new_line { '\n' } else { ' ' });
        }
        out.push_str(&w.text);
        prev = Some(w);
    }
    out
}

/// Character-weighted mean word confidence.
pub fn mean_confidence(words: &[WordBox]) -> f32 {
    let (mut s, mut n) = (0f32, 0f32);
    for w in words {
        let k = w.text.chars().count() as f32;
        s += w.confidence * k;
        n += k;
    }
    if n > 0.0 {
        s / n
    } else {
        0.0
    }
}
