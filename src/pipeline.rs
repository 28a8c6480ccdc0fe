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
    /// Resolution of the restored page (the scan's, or a fraction for very fine scans).
    pub dpi: f32,
}

/// Scans finer than this are read at a whole fraction of their resolution: more detail
/// does not help OCR, and it keeps memory bounded for 600-dpi A3 scans.
pub const MAX_WORKING_DPI: f32 = 400.0;

/// Longest side of the restored page, in pixels.
pub const MAX_WORKING_SIDE: f32 = 30_000.0;

/// Reads one page.
pub fn read_page(
    gray: &GrayImage,
    dpi: f32,
    ctx: &PageContext,
    ocr: &mut dyn Recognizer,
) -> Result<PageRead, OcrError> {
    let t0 = Instant::now();
    let reduced;
    // Also keep either side within what the stored JPEG can hold (65,535 pixels).
    let by_dpi = if dpi > MAX_WORKING_DPI {
        (dpi / 300.0).ceil()
    } else {
        1.0
    };
    let by_size = (gray.width().max(gray.height()) as f32 / MAX_WORKING_SIDE)
        .ceil()
        .max(1.0);
    let k = by_dpi.max(by_size);
    let (gray, dpi) = if k > 1.0 {
        reduced = restore::downscale(gray, 1.0 / k);
        (&reduced, dpi / k)
    } else {
        (gray, dpi)
    };
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
        dpi,
        restored,
    };
    if let Some(reasons) = eligibility::judge_image(&quality) {
        read.status = PageStatus::NotEligible;
        read.reasons = reasons;
        return Ok(read);
    }
    if ctx.template.layout == "form" {
        return read_form_page(read, quality, ctx, ocr, t1);
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
                    FieldKind::Sex | FieldKind::Ethnicity | FieldKind::Nationality => ReadMode::Line,
                    _ => ReadMode::Block,
                };
                let (text, conf, words) = reader.read_cell(cell, mode, ocr)?;
                row_words.extend(words);
                if ctx.template.kind_of(id).is_some() {
                    fields_map.insert(id.clone(), fields::make_field(kind, &text, conf, cell, &ctx.vocab));
                }
            }
            // A record has values in several cells; marks in one cell (a stain, the edge
            // of a tear, a stray stroke) do not make one.
            let filled = fields_map
                .values()
                .filter(|f: &&crate::model::FieldResult| !f.text.is_empty() && f.confidence >= 0.3)
                .count();
            if filled < 2 {
                continue;
            }
            read.records.push(RecordResult {
                row: read.records.len() as u32 + 1,
                bbox: row_box,
                fields: fields_map,
                accepted: None,
            });
            push_line(&mut lines, &row_words);
            read.words.extend(row_words);
        }
        fields::fill_number_sequence(&mut read.records, &ctx.template);
        let year = fields::page_year(&read.records);
        for record in &mut read.records {
            fields::check_record(record, &ctx.template, year);
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
    // The verdict's reasons first, notes after.
    read.status = status;
    read.reasons.extend(reasons);
    if layout.table.is_none() {
        read.reasons
            .push("no ruled table found: text read as a page".to_string());
    }
    read.quality = quality;
    read.layout = layout;
    read.times.read = t2.elapsed();
    Ok(read)
}

/// A form page: the whole page read at once, its labels found and the values after them
/// taken as the page's one record (see [`crate::form`]).
fn read_form_page(
    mut read: PageRead,
    mut quality: crate::model::PageQuality,
    ctx: &PageContext,
    ocr: &mut dyn Recognizer,
    t1: Instant,
) -> Result<PageRead, OcrError> {
    let page = &read.restored.gray;
    // Low-resolution scans are enlarged, as cells are.
    let scale = ocr_scale(read.dpi);
    let words = if scale > 1 {
        let big = image::imageops::resize(
            page,
            page.width() * scale,
            page.height() * scale,
            image::imageops::FilterType::Triangle,
        );
        ocr.read(&big, read.dpi as u32 * scale, ReadMode::Block)?
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
            .collect()
    } else {
        ocr.read(page, read.dpi as u32, ReadMode::Block)?
    };
    if let Some(mut rec) = crate::form::read_record(&words, &ctx.template, &ctx.vocab) {
        let filled = rec.fields.values().filter(|f| !f.text.is_empty()).count();
        if filled >= 2 {
            let year = fields::page_year(std::iter::once(&rec));
            fields::check_record(&mut rec, &ctx.template, year);
            read.records.push(rec);
        }
    }
    read.columns = ctx.template.columns.iter().map(|c| c.field.clone()).collect();
    read.column_mapping = "form_labels".to_string();
    read.text = crate::ocr::words_to_text(&words);
    read.words = words;
    quality.ocr_confidence = mean_confidence(&read.words);
    let (status, reasons) = eligibility::judge_reading(&quality, read.words.len(), read.records.len());
    read.status = status;
    read.reasons.extend(reasons);
    read.quality = quality;
    read.times.read = t1.elapsed();
    Ok(read)
}

/// Tesseract reads best with capitals about 30 px tall: text below 250 dpi is enlarged 2×.
fn ocr_scale(dpi: f32) -> u32 {
    if dpi < 250.0 {
        2
    } else {
        1
    }
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

/// Cells read with less confidence than this are read again in another mode.
const RETRY_BELOW: f32 = 0.75;

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
        let scale = ocr_scale(self.dpi);
        let margin = 12u32;
        let (cw, ch) = crop.dimensions();
        let mut canvas = GrayImage::from_pixel(cw * scale + 2 * margin, ch * scale + 2 * margin, Luma([255]));
        let scaled = if scale > 1 {
            image::imageops::resize(&crop, cw * scale, ch * scale, image::imageops::FilterType::Triangle)
        } else {
            crop
        };
        image::imageops::replace(&mut canvas, &scaled, margin as i64, margin as i64);
        let dpi = (self.dpi as u32) * scale;
        let mut words = ocr.read(&canvas, dpi, mode)?;
        // A doubtful reading gets a second look in the other segmentation mode (one line
        // ↔ a block); the more confident reading wins.
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

    /// The grey crop with leftover ruling erased: rows (columns) holding one unbroken ink
    /// run across most of the crop. Text never makes such runs, though bold or blurred
    /// text can cover most of a row in total.
    fn clean_crop(&self, b: BBox) -> GrayImage {
        let [x, y, w, h] = b;
        let mut crop = image::imageops::crop_imm(&self.page.gray, x, y, w, h).to_image();
        let bin = &self.page.binary;
        let ink = |xx: u32, yy: u32| bin.get_pixel(x + xx, y + yy).0[0] == 0;
        for yy in 0..h {
            if longest_run((0..w).map(|xx| ink(xx, yy))) as f32 > w as f32 * 0.6 {
                for xx in 0..w {
                    crop.put_pixel(xx, yy, Luma([255]));
                }
            }
        }
        for xx in 0..w {
            if longest_run((0..h).map(|yy| ink(xx, yy))) as f32 > h as f32 * 0.6 {
                for yy in 0..h {
                    crop.put_pixel(xx, yy, Luma([255]));
                }
            }
        }
        crop
    }
}

/// Length of the longest run of `true`, bridging gaps of up to 2 (a broken rule).
fn longest_run(bits: impl Iterator<Item = bool>) -> usize {
    let (mut best, mut run, mut gap) = (0, 0, 0);
    for b in bits {
        if b {
            run += gap + 1;
            gap = 0;
            best = best.max(run);
        } else if run > 0 && gap < 2 {
            gap += 1;
        } else {
            run = 0;
            gap = 0;
        }
    }
    best
}
