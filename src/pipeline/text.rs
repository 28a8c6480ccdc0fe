//! A page without a table: a form when its labels run down it, else running text read
//! line by line.

use super::form::{is_form_page, read_form, read_page_words};
use super::{PageContext, Reading};
use crate::booktype::TypeFrom;
use crate::cells::CellEngine;
use crate::layout;
use crate::model::{ColumnMapping, Reason, WordBox};
use crate::ocr::field::{self, LineImage};
use crate::ocr::{OcrError, ReadMode, Readers};
use crate::raster::{clip, px_per_mm};
use crate::restore::RestoredPage;
use crate::template::{FieldKind, Template};

/// A page without a ruled table: a form page when its labels are printed down the page
/// (see [`is_form_page`]), else running text.
pub(super) fn read_untabled(
    page: &RestoredPage,
    dpi: f32,
    form: Option<&Template>,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let mut reading = match form {
        Some(_) if ctx.telling.is_some() => read_untabled_telling(page, dpi, ctx, ocr)?,
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

/// A page without a table whose book's type the page tells: its words read once, the
/// type a title over its top quarter names, and the form of that type (or, with no title
/// read, of the type whose labels run down the page, the most of them found) read; else
/// running text.
fn read_untabled_telling(
    page: &RestoredPage,
    dpi: f32,
    ctx: &PageContext,
    ocr: &mut Readers,
) -> Result<Reading, OcrError> {
    let words = read_page_words(page, dpi, None, ocr)?;
    let forms: Vec<Template> = crate::booktype::TYPES
        .iter()
        .filter_map(|t| Template::for_book(t, crate::template::Layout::Form).ok())
        .collect();
    let top: Vec<WordBox> = words
        .iter()
        .filter(|w| w.bbox[1] < page.gray.height() / 4)
        .cloned()
        .collect();
    let ledgers = ctx.telling.as_deref().unwrap_or_default();
    let titled = crate::booktype::from_title(&top, ledgers);
    let best = forms
        .iter()
        .filter(|f| titled.as_ref().is_none_or(|t| *t == f.book_type))
        .map(|f| (f, crate::form::place(&words, f, &page.binary)))
        .filter(|(_, places)| is_form_page(places, page.gray.height()))
        .max_by_key(|(_, places)| places.fields.len());
    let from = if titled.is_some() {
        TypeFrom::Title
    } else {
        TypeFrom::Labels
    };
    let reading = match best {
        Some((template, places)) => {
            let mut r = read_form(page, dpi, template, words, &places, ctx, ocr)?;
            (r.book_type, r.type_from) = (template.book_type.clone(), from);
            r
        }
        None => {
            let mut r = read_running_text(page, dpi, ctx, ocr, Some(words))?;
            (r.book_type, r.type_from) = match titled {
                Some(t) => (t, TypeFrom::Title),
                None => (crate::booktype::UNKNOWN.to_string(), TypeFrom::NotTold),
            };
            r
        }
    };
    Ok(reading)
}

/// A page without a table, read as running text: Tesseract finds its lines, and the
/// engine that reads free text in cells reads them (`words`: Tesseract's reading of the
/// page, when it was already made).
pub(super) fn read_running_text(
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
            let mm = px_per_mm(dpi);
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
                    let bbox = clip(grown, page.gray.dimensions());
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
