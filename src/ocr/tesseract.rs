//! Tesseract through leptess: fed 8-bit grey pixels straight from memory (no
//! encode/decode round trip), answering with words, boxes and confidences parsed from its
//! TSV output.

use super::{mean_confidence, OcrError, ReadMode, Recognizer};
use crate::model::{BBox, WordBox};
use crate::template::FieldKind;
use image::{GrayImage, Luma};
use std::ffi::CString;

/// Tesseract through leptess, one instance per worker thread.
pub struct Tesseract {
    api: leptess::tesseract::TessApi,
    mode: Option<ReadMode>,
}

impl Tesseract {
    /// Starts Tesseract with `lang` (e.g. `vie`). Set `OMP_THREAD_LIMIT=1` before the first
    /// call when several engines run in parallel.
    pub fn new(lang: &str) -> Result<Tesseract, OcrError> {
        let api = leptess::tesseract::TessApi::new(None, lang).map_err(|_| OcrError::Init {
            lang: lang.to_string(),
            prefix: std::env::var("TESSDATA_PREFIX").unwrap_or_else(|_| "unset".into()),
        })?;
        let mut t = Tesseract { api, mode: None };
        // Keep Tesseract quiet and predictable.
        t.set("debug_file", "/dev/null");
        t.set("preserve_interword_spaces", "1");
        Ok(t)
    }

    fn set(&mut self, name: &str, value: &str) {
        let (n, v) = (
            CString::new(name).expect("no NUL"),
            CString::new(value).expect("no NUL"),
        );
        // An unknown variable is not fatal: the default stays.
        let _ = self.api.raw.set_variable(&n, &v);
    }

    fn apply_mode(&mut self, mode: ReadMode) {
        if self.mode == Some(mode) {
            return;
        }
        let (psm, whitelist) = match mode {
            ReadMode::Line => ("7", ""),
            ReadMode::Block => ("6", ""),
            ReadMode::Digits => ("7", "0123456789/.-"),
            ReadMode::DigitsBlock => ("6", "0123456789/.-"),
            ReadMode::Page => ("3", ""),
        };
        self.set("tessedit_pageseg_mode", psm);
        self.set("tessedit_char_whitelist", whitelist);
        self.mode = Some(mode);
    }
}

impl Recognizer for Tesseract {
    fn read(&mut self, img: &GrayImage, dpi: u32, mode: ReadMode) -> Result<Vec<WordBox>, OcrError> {
        let (w, h) = img.dimensions();
        if w < 4 || h < 4 {
            return Ok(Vec::new());
        }
        self.apply_mode(mode);
        self.api
            .raw
            .set_image(img.as_raw(), w as i32, h as i32, 1, w as i32)
            .map_err(|e| OcrError::Engine(format!("{e:?}")))?;
        self.api.raw.set_source_resolution(dpi as i32);
        let tsv =
            super::in_engine(|| self.api.raw.get_tsv_text(0)).map_err(|_| OcrError::Engine("no result".into()))?;
        let tsv = tsv.as_ref().to_string_lossy().into_owned();
        Ok(parse_tsv(&tsv))
    }

    /// Tesseract's layout analysis alone (no recognition): its text lines.
    fn text_lines(&mut self, img: &GrayImage, dpi: u32) -> Result<Vec<BBox>, OcrError> {
        let (w, h) = img.dimensions();
        if w < 4 || h < 4 {
            return Ok(Vec::new());
        }
        self.apply_mode(ReadMode::Page);
        self.api
            .raw
            .set_image(img.as_raw(), w as i32, h as i32, 1, w as i32)
            .map_err(|e| OcrError::Engine(format!("{e:?}")))?;
        self.api.raw.set_source_resolution(dpi as i32);
        let Some(boxes) = super::in_engine(|| {
            self.api
                .get_component_images(leptess::capi::TessPageIteratorLevel_RIL_TEXTLINE, true)
        }) else {
            return Ok(Vec::new());
        };
        Ok((&boxes)
            .into_iter()
            .map(|b| {
                let g = b.get_geometry();
                [
                    g.x.max(0) as u32,
                    g.y.max(0) as u32,
                    g.w.max(0) as u32,
                    g.h.max(0) as u32,
                ]
            })
            .collect())
    }
}

/// Parses Tesseract's TSV (level 5 rows are words) into words in reading order.
pub fn parse_tsv(tsv: &str) -> Vec<WordBox> {
    use unicode_normalization::UnicodeNormalization;
    tsv.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 12 || cols[0] != "5" {
                return None;
            }
            let text: String = cols[11].trim().nfc().collect();
            if text.is_empty() {
                return None;
            }
            let n = |i: usize| cols[i].parse::<i64>().unwrap_or(0).max(0) as u32;
            let conf: f32 = cols[10].parse().unwrap_or(0.0);
            Some(WordBox {
                text,
                bbox: [n(6), n(7), n(8), n(9)],
                confidence: (conf / 100.0).clamp(0.0, 1.0),
            })
        })
        .collect()
}

// What Tesseract is given to read, and how: policy over any engine behind the trait.

/// How Tesseract reads a cell of each kind: digits only for dates and numbers, one line
/// for short coded values, a block for the rest (names and places wrap).
pub fn mode_for(kind: FieldKind) -> ReadMode {
    match kind {
        FieldKind::Date | FieldKind::RegistrationNumber => ReadMode::Digits,
        FieldKind::Sex | FieldKind::Ethnicity | FieldKind::Nationality => ReadMode::Line,
        _ => ReadMode::Block,
    }
}

/// Tesseract reads best with capitals about 30 px tall: text below 250 dpi is enlarged 2×.
pub fn ocr_scale(dpi: f32) -> u32 {
    if dpi < 250.0 {
        2
    } else {
        1
    }
}

/// Reads an image (a whole page) enlarged by [`ocr_scale`], boxes given back in the
/// image's pixels.
pub fn read_enlarged(
    img: &GrayImage,
    dpi: f32,
    mode: ReadMode,
    ocr: &mut dyn Recognizer,
) -> Result<Vec<WordBox>, OcrError> {
    let scale = ocr_scale(dpi);
    // Tesseract takes images up to 32,767 pixels a side.
    if scale == 1 || img.width().max(img.height()) * scale > 32_000 {
        return ocr.read(img, dpi as u32, mode);
    }
    let big = image::imageops::resize(
        img,
        img.width() * scale,
        img.height() * scale,
        image::imageops::FilterType::Triangle,
    );
    Ok(ocr
        .read(&big, dpi as u32 * scale, mode)?
        .into_iter()
        .map(|w| WordBox {
            bbox: [
                w.bbox[0] / scale,
                w.bbox[1] / scale,
                w.bbox[2] / scale,
                w.bbox[3] / scale,
            ],
            ..w
        })
        .collect())
}

/// Cells read with less confidence than this are read again in another mode.
const RETRY_BELOW: f32 = 0.75;

/// Reads a cell's crop (paper around it, enlarged by [`ocr_scale`]), boxes given back in
/// the crop's pixels. A doubtful reading gets a second look in the other segmentation
/// mode (one line ↔ a block); the more confident reading wins.
pub fn read_crop(
    crop: GrayImage,
    dpi: f32,
    mode: ReadMode,
    ocr: &mut dyn Recognizer,
) -> Result<Vec<WordBox>, OcrError> {
    let scale = ocr_scale(dpi);
    let margin = 12u32;
    let (cw, ch) = crop.dimensions();
    let mut canvas = GrayImage::from_pixel(cw * scale + 2 * margin, ch * scale + 2 * margin, Luma([255]));
    let scaled = if scale > 1 {
        image::imageops::resize(&crop, cw * scale, ch * scale, image::imageops::FilterType::Triangle)
    } else {
        crop
    };
    image::imageops::replace(&mut canvas, &scaled, margin as i64, margin as i64);
    let dpi = (dpi as u32) * scale;
    let mut words = ocr.read(&canvas, dpi, mode)?;
    if mean_confidence(&words) < RETRY_BELOW {
        let other = match mode {
            ReadMode::Line => ReadMode::Block,
            ReadMode::Block | ReadMode::Page => ReadMode::Line,
            ReadMode::Digits => ReadMode::DigitsBlock,
            ReadMode::DigitsBlock => ReadMode::Digits,
        };
        let second = ocr.read(&canvas, dpi, other)?;
        if mean_confidence(&second) > mean_confidence(&words) + 0.05 {
            words = second;
        }
    }
    Ok(words
        .into_iter()
        .map(|w| WordBox {
            bbox: [
                w.bbox[0].saturating_sub(margin) / scale,
                w.bbox[1].saturating_sub(margin) / scale,
                w.bbox[2] / scale,
                w.bbox[3] / scale,
            ],
            ..w
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_are_parsed_with_boxes_and_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t30\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t3\t4\t40\t20\t91.5\tNguyễn\n\
                   5\t1\t1\t1\t1\t2\t50\t4\t30\t20\t80\tVăn\n";
        let w = parse_tsv(tsv);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].text, "Nguyễn");
        assert_eq!(w[0].bbox, [3, 4, 40, 20]);
        assert!((w[0].confidence - 0.915).abs() < 1e-4);
        assert_eq!(super::super::words_to_text(&w), "Nguyễn Văn");
    }
}
