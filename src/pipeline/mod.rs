//! One page through the stages, as a short story:
//! working resolution → restore → find the tables → read → check → verdict.
//!
//! This is the composition of the stage modules for a single decoded frame; it knows
//! nothing of files, threads or progress (that is `batch`). How a page holds its records
//! decides how it is read: a register's table ([`table`]), a form ([`form`]), or
//! running text ([`text`]).

mod form;
mod table;
mod text;

use crate::booktype::{TypeFrom, UNKNOWN};
use crate::cells::CellReaders;
use crate::eligibility;
use crate::fields;
use crate::ingest::Frame;
use crate::layout::{self, Grid, PageTables};
use crate::model::{ColumnMapping, PageOrigin, PageQuality, PageResult, PageStatus, Reason, RecordResult, WordBox};
use crate::ocr::constrain::Lexicons;
use crate::ocr::{mean_confidence, OcrError, Readers};
use crate::raster::{px_mm, union};
use crate::restore::{self, RestoreOptions, RestoredPage};
use crate::template::{Layout, Template, Vocabulary};
use form::{read_as_form, FORM_TABLE_RULES};
use image::GrayImage;
use std::time::{Duration, Instant};
use table::{few_dates, read_table, side_by_side};
use text::read_untabled;

/// What every page of a run shares.
#[derive(Clone)]
pub struct PageContext {
    /// The book type's ledger template (one record per table row); where the type is
    /// told page by page, the birth book's (the table found with its proportions until
    /// a title says otherwise).
    pub ledger: Template,
    /// The book type's form template (one record per page), when it has one.
    pub form: Option<Template>,
    /// Every type's ledger template, when each page tells its book's type (by its title,
    /// else its headings); `None` when the type is given.
    pub telling: Option<Vec<Template>>,
    /// How the type given was had (`flag`; `book` for a page read again as its book's).
    pub type_from: TypeFrom,
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
    pub lexicons: std::sync::Arc<Lexicons>,
}

impl PageContext {
    /// The same context with the book type given (a page read again as its book's).
    pub fn with_type(&self, ledger: Template, form: Option<Template>, from: TypeFrom) -> PageContext {
        PageContext {
            ledger,
            form,
            telling: None,
            type_from: from,
            ..self.clone()
        }
    }
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
    /// The book type the page was read as.
    pub book_type: String,
    /// How that type was had.
    pub type_from: TypeFrom,
}

/// The resolution a title is read at, at most.
const TITLE_DPI: f32 = 150.0;

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
        notes.push(Reason::Uncurled(px_mm(restored.bend_px, dpi)));
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
        reading: Reading {
            book_type: match ctx.telling {
                Some(_) => UNKNOWN.to_string(),
                None => ctx.ledger.book_type.clone(),
            },
            type_from: match ctx.telling {
                Some(_) => TypeFrom::NotTold,
                None => ctx.type_from,
            },
            ..Reading::default()
        },
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
            book_type: read.reading.book_type,
            book_type_from: read.reading.type_from,
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
/// run, or found on the page (a ruled table, else see [`is_form_page`]); and the book type
/// it was read as: given, or told by the title over its table (the table found again with
/// that type's proportions), else by its headings ([`read_table`]).
fn read_records(
    page: &RestoredPage,
    dpi: f32,
    ctx: &PageContext,
    ocr: &mut Readers,
    times: &mut StageTimes,
) -> Result<Reading, OcrError> {
    // The table, and an open book's two tables (scanned or photographed whole).
    let started = Instant::now();
    let tables = layout::page_tables(page, dpi, &ctx.ledger);
    times.layout = started.elapsed();
    let Some(all) = &ctx.telling else {
        return read_typed(page, dpi, ctx, tables, ocr);
    };
    let titled = match tables.grid.table {
        Some(table) if tables.has_table(page.binary.dimensions()) => title_over(page, dpi, table, all, ocr)?,
        _ => None,
    };
    let Some(ledger) = titled.and_then(|t| all.iter().find(|l| l.book_type == t)) else {
        return read_typed(page, dpi, ctx, tables, ocr);
    };
    let typed = ctx.with_type(
        ledger.clone(),
        Template::for_book(&ledger.book_type, Layout::Form).ok(),
        TypeFrom::Title,
    );
    // A table of a few columns (a form in boxes) is no register to fit the type's columns to.
    let boxes = tables.grid.v_lines.len() <= FORM_TABLE_RULES;
    let tables = if ledger.own_headings || ledger.book_type == ctx.ledger.book_type || boxes {
        tables
    } else {
        let started = Instant::now();
        let tables = layout::page_tables(page, dpi, &typed.ledger);
        times.layout += started.elapsed();
        tables
    };
    read_typed(page, dpi, &typed, tables, ocr)
}

/// The book type a title printed over the table names (see [`crate::booktype::from_title`]):
/// the band of the page above the table, up to 30 mm of it, read as a block at 150 dpi at
/// most (a title is set large: finer costs time and tells nothing more).
fn title_over(
    page: &RestoredPage,
    dpi: f32,
    table: crate::model::BBox,
    all: &[Template],
    ocr: &mut Readers,
) -> Result<Option<String>, OcrError> {
    let reach = crate::raster::mm_px(30.0, dpi) as u32;
    let bottom = table[1];
    let top = bottom.saturating_sub(reach);
    if bottom - top < crate::raster::mm_px(3.0, dpi) as u32 {
        return Ok(None);
    }
    let strip = image::imageops::crop_imm(&page.gray, 0, top, page.gray.width(), bottom - top).to_image();
    let (strip, at) = if dpi > TITLE_DPI {
        (restore::downscale(&strip, TITLE_DPI / dpi), TITLE_DPI)
    } else {
        (strip, dpi)
    };
    let words = ocr.tesseract.read(&strip, at as u32, crate::ocr::ReadMode::Block)?;
    Ok(crate::booktype::from_title(&words, all))
}

/// The records of a page whose book type is given by `ctx` (or, where it tells them,
/// among those of `ctx.telling` by the table's headings).
fn read_typed(
    page: &RestoredPage,
    dpi: f32,
    ctx: &PageContext,
    tables: PageTables,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let mut reading = read_layout(page, dpi, ctx, tables, ocr)?;
    if reading.book_type.is_empty() {
        // Read as a form or as running text.
        let form_read = reading.column_mapping == ColumnMapping::FormLabels;
        (reading.book_type, reading.type_from) = match (&ctx.telling, form_read) {
            (None, _) => (ctx.ledger.book_type.clone(), ctx.type_from),
            (Some(_), true) => (
                ctx.form.as_ref().map_or(UNKNOWN, |f| f.book_type.as_str()).to_string(),
                TypeFrom::Labels,
            ),
            (Some(_), false) => (UNKNOWN.to_string(), TypeFrom::NotTold),
        };
    }
    if reading.type_from == TypeFrom::NotTold && !reading.records.is_empty() {
        reading.notes.push(Reason::TypeNotTold);
    }
    Ok(reading)
}

/// The template of the book type a page was read as.
fn ledger_of<'a>(ctx: &'a PageContext, book_type: &str) -> &'a Template {
    ctx.telling
        .as_ref()
        .and_then(|all| all.iter().find(|t| t.book_type == book_type))
        .unwrap_or(&ctx.ledger)
}

/// The records of a page as its layout holds them (see [`read_records`]).
fn read_layout(
    page: &RestoredPage,
    dpi: f32,
    ctx: &PageContext,
    tables: PageTables,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let form = ctx.form.as_ref().filter(|_| ctx.layout != LayoutChoice::Ledger);
    let table = tables.has_table(page.binary.dimensions());
    let PageTables { grid, spread } = tables;
    // A table of a few columns may be a form drawn in boxes: its labels in the cells on
    // the left, the values in the cells beside them, a rule where a colon would be.
    let boxes = table && grid.v_lines.len() <= FORM_TABLE_RULES;
    if let Some(template) = form.filter(|_| ctx.layout == LayoutChoice::Form) {
        if let Some(reading) = read_as_form(page, dpi, template, boxes.then_some(&grid), true, ctx, ocr)? {
            return Ok(reading);
        }
    }
    if table {
        let mut reading = read_table(page, dpi, spread.as_ref().map_or(&grid, |s| &s[0]), ctx, ocr)?;
        let ledger = ledger_of(ctx, &reading.book_type);
        // Read as a register, a form in boxes gives a record per field with no date in
        // it: the page is read again as a form, kept when its labels run down the page.
        if let Some(template) = form.filter(|_| spread.is_none() && boxes && few_dates(&reading.records, ledger)) {
            if let Some(reading) = read_as_form(page, dpi, template, Some(&grid), false, ctx, ocr)? {
                return Ok(reading);
            }
        }
        // A table ruled nowhere whose rows hold no dates is no register (a list of
        // something else, a printed page set in columns): read as the page it is.
        let unruled = grid.h_lines.is_empty() && grid.v_lines.is_empty();
        if unruled && spread.is_none() && few_dates(&reading.records, ledger) {
            let mut reading = read_untabled(page, dpi, form, ctx, ocr)?;
            reading.grid = grid;
            return Ok(reading);
        }
        let mut grid = grid;
        if let Some([left, right]) = spread {
            let second = read_table(page, dpi, &right, ctx, ocr)?;
            reading = side_by_side(reading, second);
            grid.table = left.table.zip(right.table).map(|(a, b)| union(a, b));
        }
        check(&mut reading.records, ledger);
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

/// The checks that span a page's records: numbers running down the page, the page's
/// registration year, each record's own checks, then dates written shorter than the
/// column's others.
pub(super) fn check(records: &mut [RecordResult], template: &Template) {
    fields::fill_number_sequence(records, template);
    let year = fields::page_year(records.iter());
    for record in records.iter_mut() {
        fields::check_record(record, template, year);
    }
    fields::flag_shorter_dates(records, template);
}

pub(super) fn push_line(lines: &mut Vec<String>, words: &[WordBox]) {
    if !words.is_empty() {
        lines.push(words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "));
    }
}

/// Fields the line model reads with less confidence than this are flagged: its confidence
/// is the probability that the reading is right.
pub(super) const LINE_MODEL_DOUBTFUL: f32 = 0.9;

/// Below this, a name or place Tesseract read is flagged `low_confidence`: its misread
/// marks (`Yên` for `Yến`) come with confidences of 0.90–0.95, where its other errors sit
/// far lower (docs/ACCURACY.md).
pub(super) const TESSERACT_NAME_DOUBTFUL: f32 = 0.95;
