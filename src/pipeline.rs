//! One page through the stages, as a short story:
//! working resolution → restore → classify → read → check → verdict.
//!
//! This is the composition of the stage modules for a single decoded frame; it knows
//! nothing of files, threads or progress (that is `batch`).

use crate::eligibility;
use crate::fields;
use crate::form::{FormPlaces, ValueRead};
use crate::ingest::Frame;
use crate::layout::{self, Grid};
use crate::model::{
    BBox, ColumnMapping, Flag, PageOrigin, PageQuality, PageResult, PageStatus, Reason, RecordResult, WordBox,
};
use crate::ocr::constrain::Lexicons;
use crate::ocr::field::{self, LineImage};
use crate::ocr::{mean_confidence, OcrError, ReadMode, Readers, Recognizer};
use crate::restore::{self, RestoreOptions, RestoredPage};
use crate::template::{FieldKind, Template, Vocabulary};
use image::{GrayImage, Luma};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What every page of a run shares.
pub struct PageContext {
    /// The book type's ledger template (one record per table row).
    pub ledger: Template,
    /// The book type's form template (one record per page), when it has one.
    pub form: Option<Template>,
    /// How pages hold their records: found page by page, or fixed for the run.
    pub layout: LayoutChoice,
    /// Closed vocabularies.
    pub vocab: Vocabulary,
    /// Restoration settings.
    pub restore: RestoreOptions,
    /// Resolution of files that state none (`None`: inferred from each page).
    pub default_dpi: Option<f32>,
    /// Which engines read the cells.
    pub cells: CellReaders,
    /// The lists the line model's decoding draws on.
    pub lexicons: Lexicons,
}

/// How the pages of a run hold their records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutChoice {
    /// Page by page: a ruled table is a ledger page, printed labels down the page make a
    /// form page, anything else is read as running text (and entered by hand). A book
    /// may mix them.
    #[default]
    Auto,
    /// Every page a ledger page (a ruled table, one record per row; books before 2006).
    Ledger,
    /// Every page a form page (one record, values after printed labels; 2006–2020).
    Form,
}

/// Which engines read the values in cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellReaders {
    /// For each kind of field the engine measured most accurate (docs/ACCURACY.md): the
    /// line model for every kind. Needs the line model installed.
    #[default]
    Best,
    /// Tesseract for every cell (no line model needed; far weaker on handwriting).
    Tesseract,
}

/// The engine that reads a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellEngine {
    /// Tesseract, in the mode [`read_mode`] gives.
    Tesseract,
    /// The line model, decoding constrained by the field's kind.
    LineModel,
}

impl CellReaders {
    /// The engine for a cell holding a field of `kind` (`None`: a column the template
    /// does not know).
    pub fn engine(self, _kind: Option<FieldKind>) -> CellEngine {
        match self {
            CellReaders::Best => CellEngine::LineModel,
            CellReaders::Tesseract => CellEngine::Tesseract,
        }
    }

    /// True when the line model is needed.
    pub fn need_line_model(self) -> bool {
        self == CellReaders::Best
    }
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

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, o: StageTimes) {
        self.restore += o.restore;
        self.layout += o.layout;
        self.read += o.read;
    }
}

/// Everything read from one page.
pub struct PageRead {
    /// The restored page.
    pub restored: RestoredPage,
    /// Resolution of the restored page (the scan's, or a fraction for very fine scans).
    pub dpi: f32,
    /// Size of the source frame in pixels.
    pub source_size: [u32; 2],
    /// Resolution of the source frame (from the file, or assumed).
    pub source_dpi: f32,
    /// Verdict.
    pub status: PageStatus,
    /// Reasons for the verdict first, then notes.
    pub reasons: Vec<Reason>,
    /// Quality measures, OCR confidence included.
    pub quality: PageQuality,
    /// What was read.
    pub reading: Reading,
    /// Time per stage.
    pub times: StageTimes,
}

/// What the reading step found on a page.
#[derive(Default)]
pub struct Reading {
    /// The ruled table, when one was looked for.
    pub grid: Grid,
    /// Field ids of the columns, left to right.
    pub columns: Vec<String>,
    /// How the columns got their ids.
    pub column_mapping: ColumnMapping,
    /// Records, one per body row (one for a form page).
    pub records: Vec<RecordResult>,
    /// All words in reading order, page coordinates.
    pub words: Vec<WordBox>,
    /// All text in reading order.
    pub text: String,
    /// Notes on how the page was read.
    pub notes: Vec<Reason>,
    /// The ruled table was found and none of its body rows holds ink.
    pub empty_table: bool,
}

/// Resolution taken for a file that states none when the page tells too little to infer
/// one.
pub const ASSUMED_DPI: f32 = 300.0;

/// Scans finer than this are read at a whole fraction of their resolution: more detail
/// does not help OCR, and it keeps memory bounded for 600-dpi A3 scans.
pub const MAX_WORKING_DPI: f32 = 400.0;

/// Longest side of the restored page, in pixels.
pub const MAX_WORKING_SIDE: f32 = 30_000.0;

/// Reads one decoded page.
pub fn read_page(frame: &Frame, ctx: &PageContext, ocr: &mut Readers) -> Result<PageRead, OcrError> {
    let started = Instant::now();
    let mut notes = Vec::new();
    // A photograph of the page: its outline found and its perspective undone first.
    let flat =
        restore::perspective::page_outline(&frame.gray).and_then(|c| restore::perspective::flatten(&frame.gray, c));
    if flat.is_some() {
        notes.push(Reason::Flattened);
    }
    let source = flat.as_ref().unwrap_or(&frame.gray);
    let mut source_dpi = frame.dpi.or(ctx.default_dpi).unwrap_or(ASSUMED_DPI);
    let (gray, mut dpi) = at_working_resolution(source, source_dpi);
    let mut restored = restore::restore(&gray, dpi, &ctx.restore);
    drop(gray);
    match (frame.dpi, ctx.default_dpi) {
        (Some(_), _) => {}
        (None, Some(_)) => notes.push(Reason::AssumedDpi(source_dpi)),
        // No resolution in the file: inferred from the page, and the page restored again
        // at it when it differs much from the one assumed.
        (None, None) => match crate::resolution::infer(&restored.binary, source_dpi / dpi) {
            None => notes.push(Reason::AssumedDpi(source_dpi)),
            Some(inferred) => {
                notes.push(Reason::InferredDpi(inferred));
                let redo = (inferred / source_dpi - 1.0).abs() > 0.1;
                source_dpi = inferred;
                if redo {
                    let (gray, d) = at_working_resolution(source, source_dpi);
                    dpi = d;
                    restored = restore::restore(&gray, dpi, &ctx.restore);
                }
            }
        },
    }
    if restored.bend_px > 0.0 {
        notes.push(Reason::Uncurled(restored.bend_px / dpi * 25.4));
    }
    let mut times = StageTimes {
        restore: started.elapsed(),
        ..Default::default()
    };
    let mut read = PageRead {
        dpi,
        source_size: [source.width(), source.height()],
        source_dpi,
        status: PageStatus::Ok,
        reasons: Vec::new(),
        quality: restored.quality.clone(),
        reading: Reading::default(),
        times,
        restored,
    };
    if let Some(reasons) = eligibility::judge_image(&read.quality) {
        read.status = PageStatus::NotEligible;
        read.reasons = reasons;
        read.reasons.extend(notes);
        return Ok(read);
    }
    let reading_started = Instant::now();
    let mut reading = read_records(&read.restored, dpi, ctx, ocr, &mut times)?;
    read.quality.ocr_confidence = page_confidence(&reading);
    let (status, reasons) = eligibility::judge_reading(
        &read.quality,
        reading.words.len(),
        reading.records.len(),
        reading.empty_table,
    );
    read.status = status;
    read.reasons = reasons;
    read.reasons.append(&mut reading.notes);
    read.reasons.extend(notes);
    times.read = reading_started.elapsed().saturating_sub(times.layout);
    read.times = times;
    read.reading = reading;
    Ok(read)
}

/// How sure the reading of a page is: the mean confidence of its words, or of its
/// records' values when those are surer (a form page read well, whose scanned margins
/// Tesseract reads as junk, is readable). Three values at least make that evidence.
fn page_confidence(reading: &Reading) -> f32 {
    let words = mean_confidence(&reading.words);
    let values: Vec<f32> = reading
        .records
        .iter()
        .flat_map(|r| r.fields.values())
        .filter(|f| !f.text.is_empty())
        .map(|f| f.confidence)
        .collect();
    if values.len() < 3 {
        return words;
    }
    words.max(values.iter().sum::<f32>() / values.len() as f32)
}

impl PageResult {
    /// The result of a page that was read: `origin` says where it came from, `image` is
    /// the restored image's path relative to the book folder.
    pub fn from_read(origin: PageOrigin, read: PageRead, image: String) -> PageResult {
        let size = [read.restored.gray.width(), read.restored.gray.height()];
        PageResult {
            skew_deg: read.restored.skew_deg,
            dpi: read.dpi,
            size,
            source_size: read.source_size,
            source_dpi: read.source_dpi,
            text: read.reading.text,
            quality: read.quality,
            table: read.reading.grid.table,
            columns: read.reading.columns,
            column_mapping: read.reading.column_mapping,
            records: read.reading.records,
            words: read.reading.words,
            image: Some(image),
            page_hash: Some(crate::checks::page_hash(&read.restored.gray)),
            ..PageResult::named(origin, read.status, &read.reasons)
        }
    }
}

/// Memory a frame takes while it is read, bytes, estimated from its header: the decoded
/// image and its grey copy, and the working copies (restored, binary, rotated, masks)
/// at the resolution it is read at (measured: about 6 bytes a working pixel).
pub fn memory_estimate(frame: &crate::ingest::FrameInfo, default_dpi: Option<f32>) -> u64 {
    let px = frame.pixels();
    let dpi = frame.dpi.or(default_dpi).unwrap_or(ASSUMED_DPI);
    let k = working_reduction(frame.width, frame.height, dpi) as u64;
    px * (frame.channels as u64 + 1) + px / (k * k) * 8
}

/// The whole factor a page of `width`×`height` at `dpi` is reduced by to be read:
/// scans finer than [`MAX_WORKING_DPI`], and sides over [`MAX_WORKING_SIDE`] (also what
/// the stored JPEG can hold, 65,535 pixels).
fn working_reduction(width: u32, height: u32, dpi: f32) -> f32 {
    let by_dpi = if dpi > MAX_WORKING_DPI {
        (dpi / 300.0).ceil()
    } else {
        1.0
    };
    let by_size = (width.max(height) as f32 / MAX_WORKING_SIDE).ceil().max(1.0);
    by_dpi.max(by_size)
}

/// The page at the resolution it is read at: scans finer than [`MAX_WORKING_DPI`] or
/// larger than [`MAX_WORKING_SIDE`] are reduced by a whole factor.
fn at_working_resolution(gray: &GrayImage, dpi: f32) -> (std::borrow::Cow<'_, GrayImage>, f32) {
    let k = working_reduction(gray.width(), gray.height(), dpi);
    if k > 1.0 {
        (std::borrow::Cow::Owned(restore::downscale(gray, 1.0 / k)), dpi / k)
    } else {
        (std::borrow::Cow::Borrowed(gray), dpi)
    }
}

/// The records of a page, read the way its layout holds them: the layout fixed for the
/// run, or found on the page (a ruled table, else see [`is_form_page`]).
fn read_records(
    page: &RestoredPage,
    dpi: f32,
    ctx: &PageContext,
    ocr: &mut Readers,
    times: &mut StageTimes,
) -> Result<Reading, OcrError> {
    let form = ctx.form.as_ref().filter(|_| ctx.layout != LayoutChoice::Ledger);
    let started = Instant::now();
    let grid = find_grid(page, dpi, &ctx.ledger);
    times.layout = started.elapsed();
    // A header and two rows at least: a lone band between two lines is no register.
    let table = usable(&grid, page.binary.dimensions()) && grid.rows.len() >= 3;
    // A table of a few columns may be a form drawn in boxes: its labels in the cells on
    // the left, the values in the cells beside them, a rule where a colon would be.
    let boxes = table && grid.v_lines.len() <= FORM_TABLE_RULES;
    if let Some(template) = form.filter(|_| ctx.layout == LayoutChoice::Form) {
        if let Some(reading) = read_as_form(page, dpi, template, boxes.then_some(&grid), true, ctx, ocr)? {
            return Ok(reading);
        }
    }
    if table {
        // An open book scanned or photographed whole: a table on each page.
        let started = Instant::now();
        let spread = spread_tables(page, dpi, &grid, &ctx.ledger);
        times.layout += started.elapsed();
        let mut reading = read_table(page, dpi, spread.as_ref().map_or(&grid, |s| &s[0]), ctx, ocr)?;
        // Read as a register, a form in boxes gives a record per field with no date in
        // it: the page is read again as a form, kept when its labels run down the page.
        if let Some(template) = form.filter(|_| spread.is_none() && boxes && few_dates(&reading.records, &ctx.ledger)) {
            if let Some(reading) = read_as_form(page, dpi, template, Some(&grid), false, ctx, ocr)? {
                return Ok(reading);
            }
        }
        // A table ruled nowhere whose rows hold no dates is no register (a list of
        // something else, a printed page set in columns): read as the page it is.
        let unruled = grid.h_lines.is_empty() && grid.v_lines.is_empty();
        if unruled && spread.is_none() && few_dates(&reading.records, &ctx.ledger) {
            let mut reading = read_untabled(page, dpi, form, ctx, ocr)?;
            reading.grid = grid;
            return Ok(reading);
        }
        let mut grid = grid;
        if let Some([left, right]) = spread {
            let second = read_table(page, dpi, &right, ctx, ocr)?;
            reading = side_by_side(reading, second);
            grid.table = left.table.zip(right.table).map(|(a, b)| crate::ocr::union(a, b));
        }
        check(&mut reading.records, &ctx.ledger);
        if unruled {
            reading.notes.push(Reason::Unruled);
        }
        reading.grid = grid;
        let confidence = mean_confidence(&reading.words);
        if reading.empty_table || confidence >= eligibility::MIN_OCR_CONFIDENCE {
            return Ok(reading);
        }
        // Cells that read as nothing: the "table" may be paper texture (laid lines) or a
        // drawing taken for rules. The page is read as if it had none, and the better
        // reading kept.
        let other = read_untabled(page, dpi, form, ctx, ocr)?;
        if !other.words.is_empty() && mean_confidence(&other.words) > confidence {
            return Ok(other);
        }
        return Ok(reading);
    }
    let mut reading = read_untabled(page, dpi, form, ctx, ocr)?;
    reading.grid = grid;
    Ok(reading)
}

/// A page read as a form (`boxes`: drawn in boxes, ruled so): its labels found, and its
/// values read when they run down the page or `always`; `None` when they do not.
fn read_as_form(
    page: &RestoredPage,
    dpi: f32,
    template: &Template,
    boxes: Option<&Grid>,
    always: bool,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Option<Reading>, OcrError> {
    let words = read_page_words(page, dpi, boxes, ocr)?;
    let places = match boxes {
        Some(grid) => {
            let mut places = crate::form::place(&labels_ended_by_rules(&words, grid), template, &page.binary);
            let at = |lines: &[layout::RuleLine]| lines.iter().map(|l| l.pos).collect::<Vec<_>>();
            let margin = ((dpi / 75.0) as u32).max(2);
            crate::form::values_in_boxes(&mut places, &at(&grid.v_lines), &at(&grid.h_lines), margin);
            places
        }
        None => crate::form::place(&words, template, &page.binary),
    };
    if !always && !is_form_page(&places, page.gray.height()) {
        return Ok(None);
    }
    read_form(page, dpi, template, words, &places, ctx, ocr).map(Some)
}

/// Whether fewer than half of a register page's records hold a date read as one.
fn few_dates(records: &[RecordResult], ledger: &Template) -> bool {
    let dates: Vec<&str> = ledger
        .columns
        .iter()
        .filter(|c| c.kind == FieldKind::Date)
        .map(|c| c.field.as_str())
        .collect();
    let dated = records
        .iter()
        .filter(|r| {
            dates.iter().any(|d| {
                r.fields
                    .get(*d)
                    .is_some_and(|f| !f.value.is_empty() && !f.flags.contains(&Flag::InvalidDate))
            })
        })
        .count();
    dated * 2 < records.len()
}

/// A ruled table with this many column rules at most may be a form page drawn in boxes
/// (label, value; two pairs on a line make five); a register has a column per field.
const FORM_TABLE_RULES: usize = 5;

/// The words of a page read with each word that a column rule follows (before the next
/// word on its line, or with nothing after it in its cell) ending in a colon: on a form
/// drawn in boxes the rule ends the label as a colon would.
fn labels_ended_by_rules(words: &[WordBox], grid: &Grid) -> Vec<WordBox> {
    let rules: Vec<u32> = grid.v_lines.iter().map(|l| l.pos).collect();
    let mid = |w: &WordBox| w.bbox[1] + w.bbox[3] / 2;
    words
        .iter()
        .map(|w| {
            let right = w.bbox[0] + w.bbox[2];
            let next = words
                .iter()
                .filter(|o| o.bbox[0] >= right && mid(o).abs_diff(mid(w)) <= w.bbox[3] / 2)
                .map(|o| o.bbox[0])
                .min()
                .unwrap_or(u32::MAX);
            let ruled = rules.iter().any(|&x| x >= right && x < next);
            let mut w = w.clone();
            if ruled && !w.text.ends_with(':') {
                w.text.push(':');
            }
            w
        })
        .collect()
}

/// A page without a ruled table: a form page when its labels are printed down the page
/// (see [`is_form_page`]), else running text.
fn read_untabled(
    page: &RestoredPage,
    dpi: f32,
    form: Option<&Template>,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let mut reading = match form {
        Some(template) => {
            let words = read_page_words(page, dpi, None, ocr)?;
            let places = crate::form::place(&words, template, &page.binary);
            if is_form_page(&places, page.gray.height()) {
                read_form(page, dpi, template, words, &places, ctx, ocr)?
            } else {
                read_running_text(page, dpi, ctx, ocr, Some(words))?
            }
        }
        None => read_running_text(page, dpi, ctx, ocr, None)?,
    };
    if reading.column_mapping != ColumnMapping::FormLabels {
        reading.notes.push(Reason::NoTable);
    }
    Ok(reading)
}

/// The words of a whole page as Tesseract reads it as one block, dotted leaders erased:
/// what form labels are looked for in. On a page ruled as `rules` (a form drawn in boxes)
/// the rules are erased too: Tesseract reads a block drawn in boxes as a picture.
fn read_page_words(
    page: &RestoredPage,
    dpi: f32,
    rules: Option<&Grid>,
    ocr: &mut Readers,
) -> Result<Vec<WordBox>, OcrError> {
    let mut gray = without_leaders(page, dpi);
    if let Some((grid, [x, y, w, h])) = rules.and_then(|g| g.table.map(|t| (g, t))) {
        // A pixel more each side: a rule's grey fringe.
        let (m, t) = (2, 4);
        for l in &grid.h_lines {
            whiten(
                &mut gray,
                [x.saturating_sub(m), l.from.saturating_sub(1), w + t, l.to + 3 - l.from],
            );
        }
        for l in &grid.v_lines {
            whiten(
                &mut gray,
                [l.from.saturating_sub(1), y.saturating_sub(m), l.to + 3 - l.from, h + t],
            );
        }
    }
    read_enlarged(&gray, dpi, ReadMode::Block, ocr.tesseract.as_mut())
}

/// The grey page without the dotted lines values are written on (they lead the page's
/// reading astray: dots read as letters, labels run into their values, a line with its
/// leader close below it is left out), found strip by strip down the page.
fn without_leaders(page: &RestoredPage, dpi: f32) -> GrayImage {
    // Only what binarization kept as ink: the grey speckle of a scanner's dark margins
    // (paper there, to the binarization) would otherwise be read as lines of junk.
    let mut gray = page.gray.clone();
    for (g, b) in gray.pixels_mut().zip(page.binary.pixels()) {
        if b.0[0] == 255 {
            g.0[0] = 255;
        }
    }
    // Strips overlapping by half, each keeping the dots in its middle half, where a dot
    // has a line's height of the page around it. Not the page's text lines: a torn edge's
    // debris or a margin rule running down the page joins them into one band.
    let (w, h) = page.binary.dimensions();
    let quarter = ((dpi * LEADER_STRIP_MM / 25.4) as u32 / 4).max(8);
    let mut top = 0;
    loop {
        let strip_h = (4 * quarter).min(h - top);
        let strip = image::imageops::crop_imm(&page.binary, 0, top, w, strip_h).to_image();
        let from = if top == 0 { 0 } else { quarter };
        let last = top + strip_h >= h;
        let to = if last { strip_h } else { 3 * quarter };
        for [dx, dy, dw, dh] in layout::leader_dots(&strip, dpi, true) {
            if (from..to).contains(&(dy + dh / 2)) {
                whiten(&mut gray, [dx, top + dy, dw, dh]);
            }
        }
        if last {
            break;
        }
        top += 2 * quarter;
    }
    gray
}

/// The height of the strips leaders are looked for in (mm): a line of writing with room
/// above and below.
const LEADER_STRIP_MM: f32 = 16.0;

/// A grid that can be read: a table with a header and a body row, and columns, as large
/// as a register's table is (a third of the page's width, a sixth of its height; not a
/// strip along the page's edge, a stain's rim or a fold).
fn usable(grid: &Grid, page: (u32, u32)) -> bool {
    let big = grid.table.is_some_and(|t| t[2] * 3 >= page.0 && t[3] * 6 >= page.1);
    big && grid.rows.len() >= 2 && !grid.columns.is_empty()
}

/// How much darker than the paper a faint or pencil rule is, at least (grey levels).
const FAINT_RULE_DEPTH: u8 = 18;

/// The ruled table of a ledger page: its rules found on the black-and-white page, or
/// (faint, pencil rules that binarization drops) on the grey page; rows from the text
/// lines where the rules between them are missing.
pub fn find_grid(page: &RestoredPage, dpi: f32, ledger: &Template) -> Grid {
    let widths = ledger.widths();
    let size = page.binary.dimensions();
    let mut grid = layout::find_table(&page.binary, dpi, &widths);
    if !usable(&grid, size) || grid.v_lines.len() < 3 {
        let marks = layout::faint_marks(&page.gray, FAINT_RULE_DEPTH);
        // Rules stand on clean paper: where a fifth of the paper is marked (the grain of a
        // stain, a fold's shadow, a dark edge) lines are texture.
        let on_clean_paper =
            |marks: &GrayImage, grid: &Grid| grid.table.is_some_and(|t| layout::ink_fraction(marks, t) < 0.2);
        let mut faint = layout::find_table_on(&marks, &page.binary, dpi, &widths);
        let mut clean = on_clean_paper(&marks, &faint);
        if !clean {
            // Solid dark regions (the dark surround of a page, large stains) over a page
            // ruled in pencil: their edges taken for the table's frame. Without them.
            let thin = layout::without_solid(&marks, dpi);
            faint = layout::find_table_on(&thin, &page.binary, dpi, &widths);
            clean = on_clean_paper(&thin, &faint);
        }
        if clean && usable(&faint, size) && (!usable(&grid, size) || faint.rows.len() > grid.rows.len()) {
            grid = faint;
        }
    }
    if !usable(&grid, size) {
        // No rules at all: a list set out in columns.
        let unruled = layout::unruled_table(&page.binary, dpi, &widths);
        if usable(&unruled, size) {
            grid = unruled;
        }
    }
    if usable(&grid, size) {
        layout::rows_in_header(&mut grid, &page.binary);
        layout::rows_from_text(&mut grid, &page.binary, dpi);
    }
    grid
}

/// Labels of a form page found on at least this many lines make it one...
const FORM_LABEL_LINES: usize = 3;
/// ...when they spread over this fraction of the page's height (a ledger's header band
/// is 5–7% of its page; a form's labels run down 40–60% of it).
const FORM_LABEL_SPREAD: f32 = 0.12;

/// Whether a page without a ruled table is a form page: the template's labels (`places`)
/// printed on several lines spread down the page (`height` pixels; a ledger's headings,
/// even wrapped, lie in one band at its top). Anything else is read as running text,
/// which a ledger page without a table is too.
fn is_form_page(places: &FormPlaces, height: u32) -> bool {
    let mut tops: Vec<u32> = places.fields.values().map(|p| p.label[1]).collect();
    tops.sort_unstable();
    let typical = places.fields.values().map(|p| p.label[3]).max().unwrap_or(1).max(1);
    let mut lines = 0;
    let mut last: Option<u32> = None;
    for &t in &tops {
        if last.is_none_or(|l| t > l + typical) {
            lines += 1;
            last = Some(t);
        }
    }
    let spread = tops.last().zip(tops.first()).map_or(0, |(b, a)| b - a);
    lines >= FORM_LABEL_LINES && spread as f32 >= FORM_LABEL_SPREAD * height as f32
}

/// A page without a table, read as running text: Tesseract finds its lines, and the
/// engine that reads free text in cells reads them (`words`: Tesseract's reading of the
/// page, when it was already made).
fn read_running_text(
    page: &RestoredPage,
    dpi: f32,
    ctx: &PageContext,
    ocr: &mut Readers,
    words: Option<Vec<WordBox>>,
) -> Result<Reading, OcrError> {
    let words = match (ctx.cells.engine(Some(FieldKind::Text)), ocr.lines.as_mut()) {
        (CellEngine::LineModel, Some(model)) => {
            // Tesseract's layout analysis, or (when it finds nothing, as on much
            // handwriting) the valleys of the page's ink profile.
            let mut boxes = ocr.tesseract.text_lines(&page.gray, dpi as u32)?;
            if boxes.is_empty() {
                let whole = [0, 0, page.binary.width(), page.binary.height()];
                boxes = layout::page_lines(&page.binary, whole)
                    .into_iter()
                    .map(|l| l.bbox)
                    .collect();
            }
            // A line of writing is 1.5 to 40 mm high (a large hand, its resolution
            // inferred from letters smaller than its own) and wider than high; anything else
            // (blobs of a photograph, a stamp) is not one.
            let mm = dpi / 25.4;
            let lines: Vec<LineImage> = boxes
                .into_iter()
                .filter(|b| {
                    let h = b[3] as f32;
                    h >= 1.5 * mm && h <= 40.0 * mm && b[2] as f32 >= 1.5 * h
                })
                .map(|b| {
                    let m = (b[3] / 8).max(1);
                    let grown = [
                        b[0].saturating_sub(m),
                        b[1].saturating_sub(m),
                        b[2] + 2 * m,
                        b[3] + 2 * m,
                    ];
                    let bbox = layout::clip(grown, page.gray.dimensions());
                    LineImage {
                        bbox,
                        crop: image::imageops::crop_imm(&page.gray, bbox[0], bbox[1], bbox[2], bbox[3]).to_image(),
                    }
                })
                .collect();
            let posts = model.read_lines(&lines.iter().map(|l| &l.crop).collect::<Vec<_>>())?;
            let vocab = model.vocab().clone();
            lines
                .iter()
                .zip(&posts)
                .flat_map(|(l, p)| {
                    field::decode(
                        std::slice::from_ref(l),
                        std::slice::from_ref(p),
                        None,
                        &vocab,
                        &ctx.lexicons,
                    )
                    .words
                })
                .collect()
        }
        _ => match words {
            Some(words) => words,
            None => ocr.tesseract.read(&page.gray, dpi as u32, ReadMode::Page)?,
        },
    };
    Ok(Reading {
        text: crate::ocr::words_to_text(&words),
        words,
        ..Default::default()
    })
}

/// The rows of a ruled table, one record each.
fn read_table(
    page: &RestoredPage,
    dpi: f32,
    grid: &Grid,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let reader = CellReader { page, dpi };
    let mut reading = Reading::default();
    let mut lines: Vec<String> = Vec::new();
    // Header row: map the columns to fields. It is the first row, unless that one's
    // texts are no headings and the next one's are (a line above the table, the rim of a
    // shadow, taken for its top rule).
    let mut header = 0;
    let (mut headers, mut header_words) = reader.read_row(grid, 0, ocr.tesseract.as_mut())?;
    if grid.rows.len() > 2 && ctx.ledger.heading_matches(&headers) < 2 {
        let (next, next_words) = reader.read_row(grid, 1, ocr.tesseract.as_mut())?;
        if ctx.ledger.heading_matches(&next) > ctx.ledger.heading_matches(&headers) {
            (header, headers, header_words) = (1, next, next_words);
        }
    }
    let (columns, from_header) = ctx.ledger.map_columns(&headers);
    reading.column_mapping = if from_header {
        ColumnMapping::Header
    } else {
        ColumnMapping::TemplateOrder
    };
    push_line(&mut lines, &header_words);
    reading.words.extend(header_words);
    // Body rows with ink; an empty ruled row is no record.
    let rows: Vec<usize> = (header + 1..grid.rows.len())
        .filter(|&r| layout::ink_fraction(&page.binary, inset(grid.row_box(r), 4)) >= 0.002)
        .collect();
    reading.empty_table = rows.is_empty();
    let kinds: Vec<Option<FieldKind>> = columns.iter().map(|id| ctx.ledger.kind_of(id)).collect();
    let cells = reader.read_cells(grid, &rows, &kinds, ctx, ocr)?;
    for (&r, row_cells) in rows.iter().zip(cells) {
        let mut fields_map = BTreeMap::new();
        let mut row_words = Vec::new();
        let mut row_legible = Vec::new();
        for ((id, kind), cell) in columns.iter().zip(&kinds).zip(row_cells) {
            row_words.extend(cell.words);
            if kind.is_some() {
                row_legible.push(cell.legible);
            }
            if let Some(kind) = *kind {
                let mut f = fields::make_field(kind, &cell.text, cell.confidence, cell.bbox, &ctx.vocab);
                if let Some(free) = &cell.free {
                    fields::note_free_reading(&mut f, free);
                }
                if cell.engine == CellEngine::LineModel {
                    fields::flag_below(&mut f, LINE_MODEL_DOUBTFUL);
                } else if matches!(kind, FieldKind::Name | FieldKind::Place) {
                    fields::flag_below(&mut f, TESSERACT_NAME_DOUBTFUL);
                }
                fields_map.insert(id.clone(), f);
            }
        }
        // A record has values in several cells; marks in one cell (a stain, the edge of a
        // tear, a stray stroke) do not make one.
        let filled = row_legible.iter().filter(|&&l| l).count();
        if filled < 2 {
            continue;
        }
        reading.records.push(RecordResult {
            row: reading.records.len() as u32 + 1,
            bbox: grid.row_box(r),
            fields: fields_map,
            accepted: None,
        });
        push_line(&mut lines, &row_words);
        reading.words.extend(row_words);
    }
    reading.columns = columns;
    reading.text = lines.join("\n");
    Ok(reading)
}

/// The tables of an open book's two pages, left and right, each found with the other
/// page blanked out: on either side of the fold ([`layout::page_fold`]: a band down the
/// page's middle no rule crosses), or where the table found (`grid`) leaves a third of
/// the page's width free on one side (a page's table spans more than that of a spread).
pub fn spread_tables(page: &RestoredPage, dpi: f32, grid: &Grid, ledger: &Template) -> Option<[Grid; 2]> {
    let [tx, _, tw, _] = grid.table?;
    let w = page.binary.width();
    let table = |from: u32, to: u32| {
        let found = find_grid(&blanked(page, from, to), dpi, ledger);
        (usable(&found, page.binary.dimensions()) && found.rows.len() >= 3).then_some(found)
    };
    if let Some(fold) = layout::page_fold(&page.binary, dpi) {
        if let (Some(left), Some(right)) = (table(fold, w), table(0, fold)) {
            return Some([left, right]);
        }
    }
    let (before, after) = (tx, w.saturating_sub(tx + tw));
    if before.max(after) * 3 < w {
        return None;
    }
    let margin = (dpi / 25.4) as u32;
    let (from, to) = (tx.saturating_sub(margin), (tx + tw + margin).min(w));
    let other = table(from, to)?;
    let t = other.table?;
    if t[0] + t[2] <= from {
        Some([other, grid.clone()])
    } else if t[0] >= to {
        Some([grid.clone(), other])
    } else {
        None
    }
}

/// The page with its columns `from..to` blanked out, paper white.
fn blanked(page: &RestoredPage, from: u32, to: u32) -> RestoredPage {
    let blank = |img: &GrayImage| {
        let mut img = img.clone();
        for y in 0..img.height() {
            for x in from..to.min(img.width()) {
                img.put_pixel(x, y, image::Luma([255]));
            }
        }
        img
    };
    RestoredPage {
        gray: blank(&page.gray),
        binary: blank(&page.binary),
        skew_deg: page.skew_deg,
        bend_px: page.bend_px,
        quality: page.quality.clone(),
    }
}

/// The readings of two tables side by side as one, `left`'s records first.
fn side_by_side(mut left: Reading, right: Reading) -> Reading {
    let first = left.records.len() as u32;
    left.records.extend(right.records.into_iter().map(|mut r| {
        r.row += first;
        r
    }));
    for c in right.columns {
        if !left.columns.contains(&c) {
            left.columns.push(c);
        }
    }
    left.words.extend(right.words);
    left.text = [left.text, right.text].join("\n");
    left.notes.extend(right.notes);
    left.empty_table &= right.empty_table;
    left
}

/// A text without what a leader's dot reads as: dots below (the nặng tone), full stops
/// and commas (`Cọn` → `Con`, `TP.` → `TP`, `Phường, Bến Nghé` → `Phường Bến Nghé`).
fn without_dots(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|&c| !matches!(c, '\u{323}' | '.' | ','))
        .nfc()
        .collect()
}

/// A value read twice, with the leader's dots under it (`kept`) and without (`off`), the
/// two differing by dots only: word by word, a full stop or comma only the first reading
/// has is the leader's; a dot below is the leader's when the word without it is a listed
/// name or place syllable and the word with it is not (`Tận Phước`), else the writing's
/// (`Thị`, a true dot on the leader's row).
fn off_leader_words(kept: &str, off: &str, lexicons: &Lexicons) -> String {
    let (k, o): (Vec<&str>, Vec<&str>) = (kept.split_whitespace().collect(), off.split_whitespace().collect());
    if k.len() != o.len() {
        return kept.to_string();
    }
    let bare = |w: &str| w.trim_matches(|c| c == '.' || c == ',').to_string();
    k.iter()
        .zip(&o)
        .map(|(&kw, &ow)| {
            if kw == ow {
                return kw;
            }
            let (kb, ob) = (bare(kw), bare(ow));
            if kb == ob {
                // Punctuation only: the reading without the leader's dots.
                ow
            } else if lexicons.knows(&ob) && !lexicons.knows(&kb) {
                ow
            } else {
                kw
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How Tesseract reads a cell of each kind: digits only for dates and numbers, one line
/// for short coded values, a block for the rest (names and places wrap).
fn read_mode(kind: FieldKind) -> ReadMode {
    match kind {
        FieldKind::Date | FieldKind::RegistrationNumber => ReadMode::Digits,
        FieldKind::Sex | FieldKind::Ethnicity | FieldKind::Nationality => ReadMode::Line,
        _ => ReadMode::Block,
    }
}

/// A form page: its labels (`places`, found among the words of the page's reading,
/// `words`), then each value read in its own box (from the label's end to the next label,
/// and the lines it runs on to) by the engine for the field's kind; the page's one record.
fn read_form(
    page: &RestoredPage,
    dpi: f32,
    template: &Template,
    words: Vec<WordBox>,
    places: &FormPlaces,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let mut values: BTreeMap<usize, ValueRead> = places
        .fields
        .iter()
        .map(|(&i, p)| (i, ValueRead::from_words(p)))
        .collect();
    let kind = |i: usize| template.columns[i].kind;
    let mut by_model = Vec::new();
    let mut on_leader = Vec::new();
    if let Some(model) = ocr.lines.as_mut() {
        let reader = CellReader { page, dpi };
        // Each value's lines, and the same lines with the leader's dots under the writing
        // erased when that changes them: a dot of the leader under a letter reads as the
        // letter's dot below (`Cọn` for `Con`), one after a word as a full stop or comma.
        let pending: Vec<(usize, Vec<LineImage>, Vec<LineImage>)> = places
            .fields
            .iter()
            .filter(|(&i, _)| ctx.cells.engine(Some(kind(i))) == CellEngine::LineModel)
            .map(|(&i, p)| {
                let lines: Vec<LineImage> = p.boxes.iter().flat_map(|&b| reader.value_lines(b)).collect();
                let off: Vec<LineImage> = p.boxes.iter().flat_map(|&b| reader.value_lines_off_leader(b)).collect();
                let same = off.len() == lines.len() && off.iter().zip(&lines).all(|(a, b)| a.crop == b.crop);
                (i, lines, if same { Vec::new() } else { off })
            })
            .filter(|(_, lines, _)| !lines.is_empty())
            .collect();
        let crops: Vec<&GrayImage> = pending
            .iter()
            .flat_map(|(_, l, o)| l.iter().chain(o).map(|l| &l.crop))
            .collect();
        let mut posts = model.read_lines(&crops)?.into_iter();
        drop(crops);
        let vocab = model.vocab().clone();
        for (i, lines, off) in pending {
            let p: Vec<_> = posts.by_ref().take(lines.len()).collect();
            let mut r = field::decode(&lines, &p, Some(kind(i)), &vocab, &ctx.lexicons);
            let p_off: Vec<_> = posts.by_ref().take(off.len()).collect();
            if !off.is_empty() {
                let other = field::decode(&off, &p_off, Some(kind(i)), &vocab, &ctx.lexicons);
                if other.text != r.text && without_dots(&other.text) == without_dots(&r.text) {
                    on_leader.push(template.columns[i].field.clone());
                    r.text = off_leader_words(&r.text, &other.text, &ctx.lexicons);
                }
            }
            if r.text.is_empty() || r.mean_char_prob < LEGIBLE {
                continue;
            }
            values.insert(
                i,
                ValueRead {
                    bbox: lines
                        .iter()
                        .map(|l| l.bbox)
                        .reduce(crate::ocr::union)
                        .unwrap_or_default(),
                    confidence: r.confidence,
                    free: (r.free != r.text).then_some(r.free),
                    text: r.text,
                },
            );
            by_model.push(template.columns[i].field.clone());
        }
    }
    let mut records = Vec::new();
    let mut columns: Vec<String> = template.columns.iter().map(|c| c.field.clone()).collect();
    if !places.is_empty() {
        let mut rec = crate::form::record(&values, template, &ctx.vocab);
        for id in &by_model {
            if let Some(f) = rec.fields.get_mut(id) {
                fields::flag_below(f, LINE_MODEL_DOUBTFUL);
            }
        }
        for id in &on_leader {
            if let Some(f) = rec.fields.get_mut(id) {
                fields::doubt_marks_on_leader(f);
            }
        }
        let ticked = crate::form::tick_fields(&places.ticks, template);
        columns.extend(ticked.iter().map(|(id, _)| id.clone()));
        rec.fields.extend(ticked);
        if rec.fields.values().filter(|f| !f.text.is_empty()).count() >= 2 {
            records.push(rec);
        }
    }
    check(&mut records, template);
    Ok(Reading {
        columns,
        column_mapping: ColumnMapping::FormLabels,
        records,
        text: crate::ocr::words_to_text(&words),
        words,
        ..Default::default()
    })
}

/// The checks that span a page's records: numbers running down the page, the page's
/// registration year, each record's own checks, then dates written shorter than the
/// column's others.
fn check(records: &mut [RecordResult], template: &Template) {
    fields::fill_number_sequence(records, template);
    let year = fields::page_year(records.iter());
    for record in records.iter_mut() {
        fields::check_record(record, template, year);
    }
    fields::flag_shorter_dates(records, template);
}

/// Tesseract reads best with capitals about 30 px tall: text below 250 dpi is enlarged 2×.
fn ocr_scale(dpi: f32) -> u32 {
    if dpi < 250.0 {
        2
    } else {
        1
    }
}

/// Reads an image enlarged by [`ocr_scale`], boxes given back in the image's pixels.
fn read_enlarged(
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

fn push_line(lines: &mut Vec<String>, words: &[WordBox]) {
    if !words.is_empty() {
        lines.push(words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "));
    }
}

/// Fields the line model reads with less confidence than this are flagged: its confidence
/// is the probability that the reading is right.
const LINE_MODEL_DOUBTFUL: f32 = 0.9;

/// Below this, a name or place Tesseract read is flagged `low_confidence`: its misread
/// marks (`Yên` for `Yến`) come with confidences of 0.90–0.95, where its other errors sit
/// far lower (docs/ACCURACY.md).
const TESSERACT_NAME_DOUBTFUL: f32 = 0.95;

/// A cell read with less confidence (Tesseract: mean word confidence; the line model: mean
/// character probability) holds marks, not writing.
const LEGIBLE: f32 = 0.3;

/// A cell with less ink than this (a fraction of its area) is empty.
const CELL_MIN_INK: f32 = 0.003;

/// A form's value box with less ink than this is empty: the box runs to the next label
/// or the writing's edge, and may hold a lone digit ("Số: 7").
const VALUE_MIN_INK: f32 = 0.0005;

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

/// The text lines of a cell of a restored page, ruling erased, cropped for the line
/// model (none for an empty cell): what the line model reads of the cell.
pub fn cell_lines(page: &RestoredPage, dpi: f32, cell: BBox) -> Vec<LineImage> {
    CellReader { page, dpi }.cell_lines(cell)
}

/// What was read in a cell.
#[derive(Clone, Debug)]
struct CellRead {
    /// The cell's box.
    bbox: BBox,
    /// The text (for the line model: constrained by the field's kind).
    text: String,
    /// The line model's free reading.
    free: Option<String>,
    /// 0..1.
    confidence: f32,
    /// Writing read with some confidence (not marks, a stain, a stray stroke).
    legible: bool,
    /// Who read it.
    engine: CellEngine,
    /// Words in page coordinates.
    words: Vec<WordBox>,
}

impl CellRead {
    /// A cell without writing.
    fn empty(bbox: BBox, engine: CellEngine) -> CellRead {
        CellRead {
            bbox,
            engine,
            text: String::new(),
            free: None,
            confidence: 1.0,
            legible: false,
            words: Vec::new(),
        }
    }
}

/// Crops cells from the restored page, cleans them and reads them.
struct CellReader<'a> {
    page: &'a RestoredPage,
    dpi: f32,
}

impl CellReader<'_> {
    /// The cells of `rows`, a field of `kinds[c]` in column `c`, each read by its engine.
    /// The line model reads every line of every such cell of the page in one go (lines
    /// of similar width batched).
    fn read_cells(
        &self,
        grid: &Grid,
        rows: &[usize],
        kinds: &[Option<FieldKind>],
        ctx: &PageContext,
        ocr: &mut Readers,
    ) -> Result<Vec<Vec<CellRead>>, OcrError> {
        let mut out: Vec<Vec<CellRead>> = Vec::with_capacity(rows.len());
        // (row index, column, the cell's lines) for the line model.
        let mut pending: Vec<(usize, usize, Vec<LineImage>)> = Vec::new();
        for (ri, &r) in rows.iter().enumerate() {
            let mut row = Vec::with_capacity(kinds.len());
            for (c, &kind) in kinds.iter().enumerate() {
                let cell = grid.cell(r, c);
                let engine = ctx.cells.engine(kind);
                row.push(CellRead::empty(cell, engine));
                match engine {
                    CellEngine::Tesseract => {
                        let mode = read_mode(kind.unwrap_or(FieldKind::Text));
                        row[c] = self.read_cell(cell, mode, ocr.tesseract.as_mut())?;
                    }
                    CellEngine::LineModel => {
                        let lines = self.cell_lines(cell);
                        if !lines.is_empty() {
                            pending.push((ri, c, lines));
                        }
                    }
                }
            }
            out.push(row);
        }
        if pending.is_empty() {
            return Ok(out);
        }
        let model = ocr
            .lines
            .as_mut()
            .ok_or_else(|| OcrError::Engine("the line model is to read cells but was not loaded".into()))?;
        let crops: Vec<&GrayImage> = pending.iter().flat_map(|(_, _, l)| l.iter().map(|l| &l.crop)).collect();
        let mut posts = model.read_lines(&crops)?.into_iter();
        drop(crops);
        let vocab = model.vocab().clone();
        for (ri, c, lines) in pending {
            let p: Vec<_> = posts.by_ref().take(lines.len()).collect();
            let r = field::decode(&lines, &p, kinds[c], &vocab, &ctx.lexicons);
            let cell = &mut out[ri][c];
            cell.confidence = if r.text.is_empty() { 0.0 } else { r.confidence };
            cell.legible = !r.text.is_empty() && r.mean_char_prob >= LEGIBLE;
            cell.free = (r.free != r.text).then_some(r.free);
            cell.text = r.text;
            cell.words = r.words;
        }
        Ok(out)
    }

    /// Reads every cell of a row with Tesseract as a block: the texts and the words.
    fn read_row(
        &self,
        grid: &Grid,
        row: usize,
        ocr: &mut dyn Recognizer,
    ) -> Result<(Vec<String>, Vec<WordBox>), OcrError> {
        let mut texts = Vec::new();
        let mut words = Vec::new();
        for c in 0..grid.columns.len() {
            let cell = self.read_cell(grid.cell(row, c), ReadMode::Block, ocr)?;
            texts.push(cell.text);
            words.extend(cell.words);
        }
        Ok((texts, words))
    }

    /// The text lines of a cell, ruling erased, for the line model; none for an empty
    /// cell.
    fn cell_lines(&self, cell: BBox) -> Vec<LineImage> {
        self.lines_in(cell, CELL_MIN_INK, false, false)
    }

    /// The text lines of a form's value box (wide, and maybe holding a lone digit: less
    /// ink counts), each ending where the writing does — at the first gap wider than the
    /// line is high (a value is written as one run; specks further on are what is left of
    /// the dotted line, a stain, the page's edge).
    fn value_lines(&self, cell: BBox) -> Vec<LineImage> {
        self.lines_in(cell, VALUE_MIN_INK, true, false)
    }

    /// [`Self::value_lines`] with the leader's dots under the writing erased too (and
    /// with them any mark of the writing that lies on the leader's row and pitch).
    fn value_lines_off_leader(&self, cell: BBox) -> Vec<LineImage> {
        self.lines_in(cell, VALUE_MIN_INK, true, true)
    }

    /// The text lines of a box holding ink over `min_ink` of its area at least, ruling
    /// and dotted leaders erased; `one_run`: each line cut at its first wide gap.
    fn lines_in(&self, cell: BBox, min_ink: f32, one_run: bool, under_writing: bool) -> Vec<LineImage> {
        let b = inset(cell, self.pad());
        if b[2] < 6 || b[3] < 6 || layout::ink_fraction(&self.page.binary, b) < min_ink {
            return Vec::new();
        }
        let (gray, binary) = self.clean_crops(b, under_writing);
        field::line_images(&gray, &binary, [0, 0, b[2], b[3]])
            .into_iter()
            .filter(|l| !self.is_leader(&binary, l.bbox))
            .filter_map(|l| {
                let [x, y, w, h] = l.bbox;
                let right = if one_run { first_run_end(&binary, l.bbox)? } else { w };
                Some(LineImage {
                    bbox: [b[0] + x, b[1] + y, right, h],
                    crop: if right == w {
                        l.crop
                    } else {
                        image::imageops::crop_imm(&gray, x, y, right, h).to_image()
                    },
                })
            })
            .collect()
    }

    /// Whether a line of a cleaned crop is nothing but a dotted leader: the dots under a
    /// value, which the leader's erasing keeps (writing lies just above them), read apart
    /// from the value they would turn into a line of junk.
    fn is_leader(&self, binary: &GrayImage, [x, y, w, h]: BBox) -> bool {
        let line = image::imageops::crop_imm(binary, x, y, w, h).to_image();
        let ink = line.pixels().filter(|p| p.0[0] == 0).count();
        let dots: u32 = layout::leader_dots(&line, self.dpi, false)
            .iter()
            .map(|&d| (layout::ink_fraction(&line, d) * (d[2] * d[3]) as f32).round() as u32)
            .sum();
        ink > 0 && dots as usize * 10 >= ink * 9
    }

    /// Margin left inside a cell's rules.
    fn pad(&self) -> u32 {
        ((self.dpi / 50.0) as u32).max(3)
    }

    /// Reads a cell with Tesseract: its text, confidence, and words in page coordinates.
    fn read_cell(&self, cell: BBox, mode: ReadMode, ocr: &mut dyn Recognizer) -> Result<CellRead, OcrError> {
        let b = inset(cell, self.pad());
        if b[2] < 6 || b[3] < 6 || layout::ink_fraction(&self.page.binary, b) < 0.003 {
            return Ok(CellRead::empty(cell, CellEngine::Tesseract));
        }
        let crop = self.clean_crops(b, false).0;
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
        Ok(CellRead {
            bbox: cell,
            engine: CellEngine::Tesseract,
            legible: !text.is_empty() && conf >= LEGIBLE,
            text,
            free: None,
            confidence: if words.is_empty() { 0.0 } else { conf },
            words,
        })
    }

    /// The grey and black-and-white crops with leftover ruling erased: rows (columns)
    /// holding one unbroken ink run across most of the crop (text never makes such runs,
    /// though bold or blurred text can cover most of a row in total), and the dots of a
    /// dotted leader line.
    fn clean_crops(&self, b: BBox, under_writing: bool) -> (GrayImage, GrayImage) {
        let [x, y, w, h] = b;
        let mut gray = image::imageops::crop_imm(&self.page.gray, x, y, w, h).to_image();
        let mut binary = image::imageops::crop_imm(&self.page.binary, x, y, w, h).to_image();
        // Rows and columns to erase, judged on the crop as it came.
        let (rows, cols) = leftover_rules(&binary);
        let wu = w as usize;
        for img in [&mut gray, &mut binary] {
            let px: &mut [u8] = img;
            for &yy in &rows {
                px[yy * wu..(yy + 1) * wu].fill(255);
            }
            for &xx in &cols {
                px[xx..].iter_mut().step_by(wu.max(1)).for_each(|p| *p = 255);
            }
        }
        // The dotted line a value is written on.
        for dot in layout::leader_dots(&binary, self.dpi, under_writing) {
            whiten(&mut gray, dot);
            whiten(&mut binary, dot);
        }
        (gray, binary)
    }
}

/// The rows and columns of a cell's crop that hold what is left of its rules: one unbroken
/// ink run across most of it. A column's rule crosses the crop, or enters it from above or
/// below; a letter's stroke as tall as most of a low box (`ị`, its dots run into its stem
/// at a low resolution) stands clear of both edges.
fn leftover_rules(binary: &GrayImage) -> (Vec<usize>, Vec<usize>) {
    let (wu, hu) = (binary.width() as usize, binary.height() as usize);
    let raw = binary.as_raw();
    let rows = (0..hu)
        .filter(|&y| longest_run(raw[y * wu..(y + 1) * wu].iter().map(|&v| v == 0)).1 as f32 > wu as f32 * 0.6)
        .collect();
    let cols = (0..wu)
        .filter(|&x| {
            let (start, len) = longest_run(raw[x..].iter().step_by(wu.max(1)).map(|&v| v == 0));
            len as f32 > hu as f32 * 0.9 || len as f32 > hu as f32 * 0.6 && (start <= 1 || start + len + 1 >= hu)
        })
        .collect();
    (rows, cols)
}

/// Where the first run of writing in a line's box ends (width from the box's left, a
/// fifth of the height of margin kept): at the first gap wider than the line is high;
/// `None` without ink.
fn first_run_end(binary: &GrayImage, [x, y, w, h]: BBox) -> Option<u32> {
    let inked: Vec<bool> = (x..x + w)
        .map(|xx| (y..y + h).any(|yy| binary.get_pixel(xx, yy).0[0] == 0))
        .collect();
    let first = inked.iter().position(|&i| i)?;
    let (mut end, mut gap) = (first, 0u32);
    for (i, &ink) in inked.iter().enumerate().skip(first) {
        if ink {
            end = i + 1;
            gap = 0;
        } else {
            gap += 1;
            if gap > h {
                break;
            }
        }
    }
    Some((end as u32 + h / 5).min(w))
}

/// Paints a box of an image white (paper).
fn whiten(img: &mut GrayImage, [x, y, w, h]: BBox) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, Luma([255]));
        }
    }
}

/// Start and length of the longest run of `true`, bridging gaps of up to 2 (a broken
/// rule).
fn longest_run(bits: impl Iterator<Item = bool>) -> (usize, usize) {
    let (mut best, mut run, mut gap) = ((0, 0), 0, 0);
    for (i, b) in bits.enumerate() {
        if b {
            run += gap + 1;
            gap = 0;
            if run > best.1 {
                best = (i + 1 - run, run);
            }
        } else if run > 0 && gap < 2 {
            gap += 1;
        } else {
            run = 0;
            gap = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_two_readings_differing_by_dots_the_leaders_dots_are_dropped_and_the_writings_kept() {
        let lexicons = Lexicons::builtin(&crate::template::Vocabulary::builtin());
        let pick = |kept: &str, off: &str| off_leader_words(kept, off, &lexicons);
        // A dot of the leader read as a comma, and as the dot below of an unlisted word.
        assert_eq!(pick("Phường, 3, thị xã", "Phường 3, thị xã"), "Phường 3, thị xã");
        assert_eq!(
            pick("Xã Tận Phước, huyện Gò Công", "Xã Tân Phước, huyện Gò Công"),
            "Xã Tân Phước, huyện Gò Công"
        );
        // A listed word's own dot on the leader's row stays.
        assert_eq!(pick("Đặng Thị Lụa", "Đặng Thi Lụa"), "Đặng Thị Lụa");
        // Readings that do not pair word by word keep the first.
        assert_eq!(pick("Lê Thị Hoa", "Lê ThịHoa"), "Lê Thị Hoa");
    }

    #[test]
    fn a_column_rule_after_a_word_ends_it_as_a_colon_would() {
        let w = |text: &str, x: u32| WordBox {
            text: text.to_string(),
            bbox: [x, 100, 40, 20],
            confidence: 0.9,
        };
        let rule = |pos| layout::RuleLine {
            pos,
            from: pos - 1,
            to: pos + 1,
        };
        let grid = Grid {
            v_lines: vec![rule(5), rule(200), rule(600)],
            ..Default::default()
        };
        let words = [w("Nơi", 10), w("sinh", 60), w("Huế", 220), w("Ghi:", 60)];
        let texts: Vec<String> = labels_ended_by_rules(&words, &grid)
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(texts, ["Nơi", "sinh:", "Huế:", "Ghi:"]);
    }

    #[test]
    fn leftover_rules_are_told_from_tall_strokes_of_a_low_box() {
        // A crop 30 px high: a rule's stub entering from the top (x = 5), a broken rule
        // across it (x = 40, a 2-px gap), a stroke of 20 px clear of both edges (`ị` at a
        // low resolution, x = 80), and the dashes of a rule across (y = 28).
        let mut crop = GrayImage::from_pixel(120, 30, Luma([255]));
        for y in 0..20 {
            crop.put_pixel(5, y, Luma([0]));
        }
        for y in (0..30).filter(|&y| y != 14 && y != 15) {
            crop.put_pixel(40, y, Luma([0]));
        }
        for y in 5..25 {
            crop.put_pixel(80, y, Luma([0]));
        }
        for x in (0..120).filter(|x| x % 20 != 0) {
            crop.put_pixel(x, 28, Luma([0]));
        }
        let (rows, cols) = leftover_rules(&crop);
        assert_eq!(rows, vec![28]);
        assert_eq!(cols, vec![5, 40]);
    }
}
