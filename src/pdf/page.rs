//! A page: its dictionary, and its content stream — the image drawn over the whole page,
//! then the OCR words in text render mode 3 (invisible), each scaled to its box.

use super::{deflate_content, font, PageImage, PdfPage, Refs, Sink};
use pdf_writer::types::TextRenderingMode;
use pdf_writer::{Content, Filter, Finish, Name, Rect, Ref, Str};
use std::io::Write;

/// Largest page side PDF allows (200 inches).
const MAX_PAGE_POINTS: f32 = 14_400.0;

/// The objects of one page.
pub(super) struct PageRefs {
    /// The page dictionary.
    pub page: Ref,
    /// Its content stream.
    pub content: Ref,
    /// Its image XObject (the paper layer of an MRC page).
    pub image: Ref,
    /// The ink mask of an MRC page.
    pub mask: Option<Ref>,
}

/// Writes the page dictionary and its content stream.
pub(super) fn write_page<W: Write>(sink: &mut Sink<W>, refs: &Refs, own: &PageRefs, page: &PdfPage) {
    // Points per pixel from the resolution; a page over PDF's 200-inch limit (an image
    // with a wrong resolution) is drawn smaller, never cut.
    let k = 72.0 / page.dpi.max(1.0);
    let k = k * (MAX_PAGE_POINTS / (page.width.max(page.height) as f32 * k)).min(1.0);
    let (pw, ph) = (page.width as f32 * k, page.height as f32 * k);
    let mut p = sink.next().page(own.page);
    p.parent(refs.tree)
        .media_box(Rect::new(0.0, 0.0, pw, ph))
        .contents(own.content);
    let mut res = p.resources();
    let mut xobjects = res.x_objects();
    xobjects.pair(Name(b"Im0"), own.image);
    if let Some(mask) = own.mask {
        xobjects.pair(Name(b"Im1"), mask);
    }
    xobjects.finish();
    res.fonts().pair(Name(b"F1"), refs.font.type0);
    res.finish();
    p.finish();

    let content = page_content(page, pw, ph, k);
    let content_z = deflate_content(&content);
    sink.next().stream(own.content, &content_z).filter(Filter::FlateDecode);
}

/// The page's content: the image over the whole page, then the invisible words.
fn page_content(page: &PdfPage, pw: f32, ph: f32, k: f32) -> Vec<u8> {
    let mut c = Content::new();
    c.save_state();
    c.transform([pw, 0.0, 0.0, ph, 0.0, 0.0]);
    c.x_object(Name(b"Im0"));
    if let PageImage::Mrc { ink, .. } = &page.image {
        // The stencil paints its ink pixels in the fill colour.
        c.set_fill_gray(f32::from(*ink) / 255.0);
        c.x_object(Name(b"Im1"));
    }
    c.restore_state();
    if !page.words.is_empty() {
        // A word box taller than the page's usual text (OCR boxes sometimes span two
        // lines) would give a font so large that extraction glues neighbours together.
        let mut heights: Vec<f32> = page.words.iter().map(|w| w.height).collect();
        heights.sort_by(|a, b| a.total_cmp(b));
        let max_h = (heights[heights.len() / 2] * 1.3).max(4.0);
        c.begin_text();
        c.set_text_rendering_mode(TextRenderingMode::Invisible);
        for (i, w) in page.words.iter().enumerate() {
            let mut units: Vec<u16> = w.text.encode_utf16().collect();
            if units.is_empty() {
                continue;
            }
            // A space after each word but the last lets extraction keep the words apart.
            let last = i + 1 == page.words.len();
            if !last {
                units.push(0x20);
            }
            let size = (w.height.clamp(4.0, max_h) * k).max(1.0);
            let natural = units.len() as f32 * size * font::ADVANCE as f32 / font::UNITS_PER_EM as f32;
            let width = (w.width.max(1.0) + if last { 0.0 } else { size / k * 0.25 }) * k;
            let scale = (100.0 * width / natural).clamp(1.0, 10_000.0);
            let (sin, cos) = w.angle_deg.to_radians().sin_cos();
            c.set_font(Name(b"F1"), size);
            c.set_horizontal_scaling(scale);
            c.set_text_matrix([cos, sin, -sin, cos, w.x * k, ph - w.y * k]);
            let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
            c.show(Str(&bytes));
        }
        c.end_text();
    }
    c.finish()
}
