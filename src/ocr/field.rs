//! Reading a region with the line model: the region split into text lines, each line
//! cropped from the grey page, the lines read (by the caller, batched with others), and
//! the frames decoded into the field's text with a confidence and word boxes.
//!
//! A cell may hold several lines (names and places wrap): they are read one by one and
//! joined with spaces. For decoding constrained by the field's kind the lines' frames are
//! joined into one sequence, a frame that can only be a space between them.

use super::constrain::{self, Lexicons};
use super::ctc::{self, Reading};
use super::line::{Posteriors, Vocab};
use crate::layout;
use crate::model::{BBox, WordBox};
use crate::template::FieldKind;
use image::GrayImage;

/// One text line of a region, cropped for the line model.
#[derive(Clone, Debug)]
pub struct LineImage {
    /// Where the crop lies on the page.
    pub bbox: BBox,
    /// The grey crop (ink dark, paper light).
    pub crop: GrayImage,
}

/// The text lines of `region`, found on `binary` and cropped from `gray` (both page
/// images of the same size) with a margin of a fifth of the line's height around the ink.
pub fn line_images(gray: &GrayImage, binary: &GrayImage, region: BBox) -> Vec<LineImage> {
    let [rx, ry, rw, rh] = region;
    layout::text_lines(binary, region)
        .into_iter()
        .map(|l| {
            let [x, y, w, h] = l.bbox;
            let m = (h / 5).max(2);
            let x0 = x.saturating_sub(m).max(rx);
            let y0 = y.saturating_sub(m / 2).max(ry);
            let x1 = (x + w + m).min(rx + rw).min(gray.width());
            let y1 = (y + h + m / 2).min(ry + rh).min(gray.height());
            let bbox = [x0, y0, x1 - x0, y1 - y0];
            LineImage {
                bbox,
                crop: image::imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image(),
            }
        })
        .collect()
}

/// Reads whole images as one text line each (`sohoa read --lines`): the reading of each,
/// constrained by `kind` when given.
pub fn read_line_images(
    model: &mut super::LineModel,
    images: &[GrayImage],
    kind: Option<FieldKind>,
    lexicons: &Lexicons,
) -> Result<Vec<FieldReading>, super::OcrError> {
    let posts = model.read_lines(&images.iter().collect::<Vec<_>>())?;
    let vocab = model.vocab().clone();
    Ok(images
        .iter()
        .zip(posts)
        .map(|(img, p)| {
            let line = LineImage {
                bbox: [0, 0, img.width(), img.height()],
                crop: GrayImage::new(0, 0),
            };
            decode(
                std::slice::from_ref(&line),
                std::slice::from_ref(&p),
                kind,
                &vocab,
                lexicons,
            )
        })
        .collect())
}

/// The line model as a [`super::Recognizer`]: a line mode reads the image as one line,
/// the others split it into lines first (on a fixed threshold: the image is expected
/// flat, paper light); the digit modes read digits and date separators only.
impl super::Recognizer for super::LineModel {
    fn read(&mut self, img: &GrayImage, _dpi: u32, mode: super::ReadMode) -> Result<Vec<WordBox>, super::OcrError> {
        use super::ReadMode;
        let whole = [0, 0, img.width(), img.height()];
        let lines = match mode {
            ReadMode::Line | ReadMode::Digits => vec![LineImage {
                bbox: whole,
                crop: img.clone(),
            }],
            ReadMode::Block | ReadMode::DigitsBlock | ReadMode::Page => {
                line_images(img, &crate::restore::threshold_restored(img), whole)
            }
        };
        let posts = self.read_lines(&lines.iter().map(|l| &l.crop).collect::<Vec<_>>())?;
        let vocab = self.vocab().clone();
        let digits = matches!(mode, ReadMode::Digits | ReadMode::DigitsBlock);
        let mut words = Vec::new();
        for (l, p) in lines.iter().zip(&posts) {
            let reading = if digits {
                ctc::beam(
                    p,
                    &vocab,
                    |c| c.is_ascii_digit() || matches!(c, '/' | '.' | '-' | ' '),
                    8,
                )
                .first()
                .and_then(|(t, _)| ctc::align(p, t.trim(), &vocab))
                .unwrap_or_default()
            } else {
                ctc::greedy(p, &vocab)
            };
            words.extend(line_words(&reading, l, p));
        }
        Ok(words)
    }
}

/// What the line model read in a region.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldReading {
    /// The reading: constrained by the field's kind when one was given (NFC).
    pub text: String,
    /// The free reading (each frame's best character).
    pub free: String,
    /// Probability that `text` is right: the product of its characters' probabilities.
    pub confidence: f32,
    /// The mean of its characters' probabilities.
    pub mean_char_prob: f32,
    /// The words of `text`, placed on the page.
    pub words: Vec<WordBox>,
}

/// Decodes the posteriors of a region's lines (in the order of `lines`). With a `kind`,
/// the reading is constrained by what such a field can hold; the free reading is kept.
pub fn decode(
    lines: &[LineImage],
    posts: &[Posteriors],
    kind: Option<FieldKind>,
    vocab: &Vocab,
    lexicons: &Lexicons,
) -> FieldReading {
    if lines.is_empty() {
        return FieldReading::default();
    }
    let free_lines: Vec<Reading> = posts.iter().map(|p| ctc::greedy(p, vocab)).collect();
    let free = join_text(&free_lines);
    let joined = join(posts, vocab);
    let constrained = kind.map(|k| constrain::read(k, &joined, &free, vocab, lexicons));
    let text = constrained.as_ref().map_or_else(|| free.clone(), |c| c.text.clone());
    // The chosen text placed on the frames (the free reading when it cannot be), and
    // back on each line.
    let chosen = (text != free)
        .then(|| ctc::align(&joined, &text, vocab).map(|a| (text.clone(), a)))
        .flatten();
    let (text, aligned, chooser) = match chosen {
        Some((t, a)) => (t, a, constrained.and_then(|c| c.confidence)),
        None => {
            let kept = (text == free).then(|| constrained.and_then(|c| c.confidence)).flatten();
            (free.clone(), concat(&free_lines, posts, vocab), kept)
        }
    };
    let confidence = chooser.unwrap_or_else(|| aligned.chars.iter().map(|c| c.prob).product::<f32>());
    FieldReading {
        words: place_words(&aligned, lines, posts),
        confidence: if aligned.chars.is_empty() { 0.0 } else { confidence },
        mean_char_prob: mean_prob(&aligned),
        text,
        free,
    }
}

fn mean_prob(r: &Reading) -> f32 {
    if r.chars.is_empty() {
        return 0.0;
    }
    r.chars.iter().map(|c| c.prob).sum::<f32>() / r.chars.len() as f32
}

/// The lines' texts joined with spaces.
fn join_text(lines: &[Reading]) -> String {
    lines
        .iter()
        .map(|r| r.text().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lines' frames as one sequence, a frame that can only be a space or nothing (the
/// blank) between lines.
pub fn join(posts: &[Posteriors], vocab: &Vocab) -> Posteriors {
    let classes = posts.first().map_or(vocab.len(), |p| p.classes);
    let sep_class = vocab.class(' ').unwrap_or(0);
    let mut log_probs = Vec::new();
    for (i, p) in posts.iter().enumerate() {
        if i > 0 {
            let mut sep = vec![f32::NEG_INFINITY; classes];
            sep[sep_class] = 0.0;
            sep[0] = 0.0;
            log_probs.extend(sep);
        }
        log_probs.extend_from_slice(&p.log_probs);
    }
    Posteriors {
        frames: log_probs.len() / classes.max(1),
        classes,
        log_probs,
        scale: posts.first().map_or(1.0, |p| p.scale),
    }
}

/// The free readings of the lines as one reading over the joined frames (see [`join`]).
fn concat(lines: &[Reading], posts: &[Posteriors], vocab: &Vocab) -> Reading {
    let mut chars = Vec::new();
    let mut offset = 0;
    let space = vocab.class(' ').is_some();
    for (i, (r, p)) in lines.iter().zip(posts).enumerate() {
        let trimmed = trim_spaces(r);
        if i > 0 && space && !chars.is_empty() && !trimmed.is_empty() {
            chars.push(ctc::DecodedChar {
                ch: ' ',
                first: offset - 1,
                last: offset - 1,
                prob: 1.0,
            });
        }
        chars.extend(trimmed.iter().map(|c| ctc::DecodedChar {
            first: c.first + offset,
            last: c.last + offset,
            ..c.clone()
        }));
        offset += p.frames + 1;
    }
    Reading { chars }
}

fn trim_spaces(r: &Reading) -> &[ctc::DecodedChar] {
    let s = r.chars.iter().position(|c| c.ch != ' ').unwrap_or(r.chars.len());
    let e = r.chars.iter().rposition(|c| c.ch != ' ').map_or(s, |e| e + 1);
    &r.chars[s..e.max(s)]
}

/// Words of a reading over joined frames, each placed on its line.
fn place_words(r: &Reading, lines: &[LineImage], posts: &[Posteriors]) -> Vec<WordBox> {
    let mut words = Vec::new();
    let mut offset = 0;
    for (l, p) in lines.iter().zip(posts) {
        let end = offset + p.frames;
        let chars: Vec<ctc::DecodedChar> = r
            .chars
            .iter()
            .filter(|c| c.first >= offset && c.first < end)
            .map(|c| ctc::DecodedChar {
                first: c.first - offset,
                last: c.last.min(end - 1) - offset,
                ..c.clone()
            })
            .collect();
        words.extend(line_words(&Reading { chars }, l, p));
        offset = end + 1;
    }
    words
}

/// The words of one line's reading, boxes from the frames they were read in.
fn line_words(r: &Reading, line: &LineImage, p: &Posteriors) -> Vec<WordBox> {
    let [lx, ly, lw, lh] = line.bbox;
    let mut out = Vec::new();
    for word in r.chars.split(|c| c.ch == ' ') {
        let (Some(first), Some(last)) = (word.first(), word.last()) else {
            continue;
        };
        let half = super::line::STRIDE as f32 / p.scale;
        let x0 = (p.column(first.first) - half).max(0.0) as u32;
        let x1 = ((p.column(last.last) + half) as u32).min(lw);
        let text: String = word.iter().map(|c| c.ch).collect();
        // Per character, as Tesseract's word confidences are.
        let confidence = word.iter().map(|c| c.prob.max(1e-6).ln()).sum::<f32>() / word.len() as f32;
        let confidence = confidence.exp();
        out.push(WordBox {
            text,
            bbox: [lx + x0, ly, x1.saturating_sub(x0).max(1), lh],
            confidence,
        });
    }
    out
}
