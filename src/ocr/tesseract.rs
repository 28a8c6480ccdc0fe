//! Tesseract through leptess: fed 8-bit grey pixels straight from memory (no
//! encode/decode round trip), answering with words, boxes and confidences parsed from its
//! TSV output.

use super::{OcrError, ReadMode, Recognizer};
use crate::model::{BBox, WordBox};
use image::GrayImage;
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
