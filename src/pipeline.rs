//! One page through the stages: restore → layout → read cells → fields → eligibility.
//!
//! This is the composition of the stage modules for a single decoded frame; it knows
//! nothing of files, threads or progress (that is `batch`).

use crate::eligibility;
use crate::fields;
use crate::layout::{self, Layout};
use crate::model::{BBox, PageQuality, PageStatus, RecordResult, WordBox};
use crate::ocr::{OcrError, ReadMode, Recognizer};
use crate::restore::{self, RestoreOptions, RestoredPage};
use crate::template::{FieldKind, Template, Vocabulary};
use image::{GrayImage, Luma};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What every page of a run shares.
pub struct PageContext {
    /// The book template.
    pub template: Template,
    /// Closed vocabularies.
    pub vocab: Vocabulary,
    /// Restoration settings.
    pub restore: RestoreOptions,
    /// Resolution assumed when the file states none.
    pub default_dpi: f32,
}

/// Time spent in each stage of one page.
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTimes {
    /// Restoration.
    pub restore: Duration,
    /// Table finding.
    pub layout: Duration,
    /// OCR, field checks and eligibility.
    pub read: Duration,
}

/// Everything read from one page.
pub struct PageRead {
    /// The restored page.
    pub restored: RestoredPage,
    /// The table found.
    pub layout: Layout,
    /// Verdict and reasons.
    pub status: PageStatus,
    /// Reasons for the verdict (or notes).
    pub reasons: Vec<String>,
    /// Quality measures, OCR confidence included.
    pub quality: PageQuality,
    /// Field ids of the columns, left to right.
    pub columns: Vec<String>,
    /// `header` or `template_order`.
    pub column_mapping: String,
    /// Records, one per body row.
    pub records: Vec<RecordResult>,
    /// All words in reading order, page coordinates.
    pub words: Vec<WordBox>,
    /// All text in reading order.
    pub text: String,
    /// Time per stage.
    pub times: StageTimes,
}

/// Reads one page.
pub fn read_page(
    gray: &GrayImage,
    dpi: f32,
    ctx: &PageContext,
    ocr: &mut dyn Recognizer,
) -> Result<PageRead, OcrError> {
    let t0 = Instant::now();
    let restored = restore::restore(gray, dpi, &ctx.restore);
    let t1 = Instant::now();
    let mut quality = restored.quality.clone();
    let mut read = PageRead {
        layout: Layout::default(),
        status: PageStatus::Ok,
        reasons: Vec::new(),
        quality: quality.clone(),
        columns: Vec::new(),
        column_mapping: String::new(),
        records: Vec::new(),
        words: Vec::new(),
        text: String::new(),
        times: StageTimes {
            restore: t1 - t0,
            ..Default::default()
        },
        restored,
    };
    if let Some(reasons) = eligibility::judge_image(&quality) {
        read.status = PageStatus::NotEligible;
        read.reasons = reasons;
        return Ok(read);
    }
    let layout = layout::find_table(&read.restored.binary, dpi, &ctx.template.widths());
    let t2 = Instant::now();
    read.times.layout = t2 - t1;
    let reader = CellReader {
        page: &read.restored,
        dpi,
    };
    let mut lines: Vec<String> = Vec::new();
    if layout.table.is_some() && layout.rows.len() >= 2 && !layout.columns.is_empty() {
        // Header row: map the columns to fields.
        let mut headers = Vec::new();
        let mut header_words = Vec::new();
        for c in 0..layout.columns.len() {
            let (text, _, words) = reader.read_cell(layout.cell(0, c), ReadMode::Block, ocr)?;
            headers.push(text);
            header_words.extend(words);
        }
        let (columns, from_header) = ctx.template.map_columns(&headers);
        read.column_mapping = if from_header { "header" } else { "template_order" }.to_string();
        push_line(&mut lines, &header_words);
        read.words.extend(header_words);
        for r in 1..layout.rows.len() {
            let row_box = layout.row_box(r);
            if layout::ink_fraction(&read.restored.binary, inset(row_box, 4)) < 0.002 {
                continue; // an empty ruled row
            }
            let mut fields_map = BTreeMap::new();
            let mut row_words = Vec::new();
            for (c, id) in columns.iter().enumerate() {
                let kind = ctx.template.kind_of(id).unwrap_or(FieldKind::Text);
                let cell = layout.cell(r, c);
                let mode = match kind {
                    FieldKind::Date | FieldKind::RegistrationNumber => ReadMode::Digits,
                    _ => ReadMode::Block,
                };
                let (text, conf, words) = reader.read_cell(cell, mode, ocr)?;
                row_words.extend(words);
                if ctx.template.kind_of(id).is_some() {
                    fields_map.insert(id.clone(), fields::make_field(kind, &text, conf, cell, &ctx.vocab));
                }
            }
            if fields_map
                .values()
                .all(|f: &crate::model::FieldResult| f.text.is_empty())
            {
                continue; // marks in the row, but nothing that reads as a value
            }
            let mut record = RecordResult {
                row: read.records.len() as u32 + 1,
                bbox: row_box,
                fields: fields_map,
            };
            fields::check_record(&mut record, &ctx.template);
            push_line(&mut lines, &row_words);
            read.words.extend(row_words);
            read.records.push(record);
        }
        read.columns = columns;
    } else {
        // No ruled table: read the page as text so that nothing is lost.
        let words = ocr.read(&read.restored.gray, dpi as u32, ReadMode::Page)?;
        read.text = crate::ocr::words_to_text(&words);
        read.words = words;
    }
    if !lines.is_empty() {
        read.text = lines.join("\n");
    }
    quality.ocr_confidence = mean_confidence(&read.words);
    let (status, reasons) = eligibility::judge_reading(&quality, read.words.len(), read.records.len());
    if layout.table.is_none() {
        read.reasons
            .push("no ruled table found: text read as a page".to_string());
    }
    read.status = status;
    read.reasons.extend(reasons);
    read.quality = quality;
    read.layout = layout;
    read.times.read = t2.elapsed();
    Ok(read)
}

fn push_line(lines: &mut Vec<String>, words: &[WordBox]) {
    if !words.is_empty() {
        lines.push(words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "));
    }
}

/// Character-weighted mean word confidence.
fn mean_confidence(words: &[WordBox]) -> f32 {
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

fn inset(b: BBox, by: u32) -> BBox {
    [
        b[0] + by,
        b[1] + by,
        b[2].saturating_sub(2 * by),
        b[3].saturating_sub(2 * by),
    ]
}

/// Crops cells from the restored page, cleans them and reads them.
struct CellReader<'a> {
    page: &'a RestoredPage,
    dpi: f32,
}

impl CellReader<'_> {
    /// Returns the cell's text, its confidence, and its words in page coordinates.
    fn read_cell(
        &self,
        cell: BBox,
        mode: ReadMode,
        ocr: &mut dyn Recognizer,
    ) -> Result<(String, f32, Vec<WordBox>), OcrError> {
        let pad = ((self.dpi / 50.0) as u32).max(3);
        let b = inset(cell, pad);
        if b[2] < 6 || b[3] < 6 || layout::ink_fraction(&self.page.binary, b) < 0.003 {
            return Ok((String::new(), 1.0, Vec::new()));
        }
        let crop = self.clean_crop(b);
        // Tesseract reads best with capitals about 30 px tall: enlarge low-resolution cells.
        let scale = if self.dpi < 250.0 { 2 } else { 1 };
        let margin = 12u32;
        let (cw, ch) = crop.dimensions();
        let mut canvas = GrayImage::from_pixel(cw * scale + 2 * margin, ch * scale + 2 * margin, Luma([255]));
        let scaled = if scale > 1 {
            image::imageops::resize(&crop, cw * scale, ch * scale, image::imageops::FilterType::Triangle)
        } else {
            crop
        };
        image::imageops::replace(&mut canvas, &scaled, margin as i64, margin as i64);
        let mode = if mode == ReadMode::Block && text_lines(&self.page.binary, b, self.dpi) <= 1 {
            ReadMode::Line
        } else {
            mode
        };
        let words = ocr.read(&canvas, (self.dpi as u32) * scale, mode)?;
        let words: Vec<WordBox> = words
            .into_iter()
            .map(|w| {
                let x = (w.bbox[0].saturating_sub(margin)) / scale + b[0];
                let y = (w.bbox[1].saturating_sub(margin)) / scale + b[1];
                WordBox {
                    bbox: [x, y, w.bbox[2] / scale, w.bbox[3] / scale],
                    ..w
                }
            })
            .collect();
        let text = words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        let conf = mean_confidence(&words);
        Ok((text, if words.is_empty() { 0.0 } else { conf }, words))
    }

    /// The grey crop with leftover ruling (rows or columns that are nearly all ink) erased.
    fn clean_crop(&self, b: BBox) -> GrayImage {
        let [x, y, w, h] = b;
        let mut crop = image::imageops::crop_imm(&self.page.gray, x, y, w, h).to_image();
        let bin = &self.page.binary;
        for yy in 0..h {
            let ink = (0..w).filter(|&xx| bin.get_pixel(x + xx, y + yy).0[0] == 0).count();
            if ink as f32 > w as f32 * 0.6 {
                for xx in 0..w {
                    crop.put_pixel(xx, yy, Luma([255]));
                }
            }
        }
        for xx in 0..w {
            let ink = (0..h).filter(|&yy| bin.get_pixel(x + xx, y + yy).0[0] == 0).count();
            if ink as f32 > h as f32 * 0.5 {
                for yy in 0..h {
                    crop.put_pixel(xx, yy, Luma([255]));
                }
            }
        }
        crop
    }
}

/// Number of separate text lines in a box of the binary page (bands of rows with ink).
fn text_lines(bin: &GrayImage, b: BBox, dpi: f32) -> usize {
    let min_gap = ((dpi / 30.0) as u32).max(3);
    let [x, y, w, h] = b;
    let mut lines = 0;
    let mut in_line = false;
    let mut gap = 0;
    for yy in y..y + h {
        let ink = (x..x + w).filter(|&xx| bin.get_pixel(xx, yy).0[0] == 0).count();
        if ink > 0 && (ink as f32) < w as f32 * 0.6 {
            if !in_line && (lines == 0 || gap >= min_gap) {
                lines += 1;
            }
            in_line = true;
            gap = 0;
        } else {
            in_line = false;
            gap += 1;
        }
    }
    lines
}
