//! Stage 6: archival PDF/A-2b files — page images with an invisible, searchable text layer.
//!
//! Each page is one image XObject drawn over the whole page (its size from the DPI) and,
//! on top, the OCR words in text render mode 3 (invisible), each scaled to its box. The
//! font is a tiny embedded glyph-less TrueType font addressed by Unicode code point
//! (Identity-H) with a ToUnicode map, so copy, search and text extraction give the exact
//! NFC text. The catalog carries XMP metadata and an sRGB output intent, the trailer an
//! /ID: the parts PDF/A-2 requires.
//!
//! [`write_pdfa`] lays out the object numbers and calls the writers in turn: [`catalog`]
//! (catalog, metadata, output intent), [`font`] (the text layer's font), [`page`] (page
//! dictionaries and content streams) and [`image`] (the page images).

mod catalog;
mod font;
mod image;
mod page;

pub use catalog::{civil, iso_date};

use crate::model::WordBox;
use flate2::{write::ZlibEncoder, Compression};
use pdf_writer::{Pdf, Ref};
use std::io::Write;

/// How a page's image is stored.
#[derive(Clone, Debug)]
pub enum PageImage {
    /// A JPEG, stored byte for byte (DCTDecode).
    Jpeg {
        /// The JPEG file.
        data: Vec<u8>,
        /// 1 (grey) or 3 (RGB).
        components: u8,
    },
    /// Raw 8-bit grey samples, stored with Flate.
    Gray(Vec<u8>),
    /// Raw 8-bit RGB samples, stored with Flate.
    Rgb(Vec<u8>),
    /// A black-and-white page as CCITT Group 4 data (`K -1`, black is 0).
    Group4(Vec<u8>),
}

/// The name of the key under which each image XObject carries the SHA-256 of its
/// stream bytes, so that a file can be checked long after it was written.
pub const IMAGE_SHA_KEY: &[u8] = b"SohoaSHA256";

/// A word of the invisible text layer, placed on the page image.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedWord {
    /// The word (NFC).
    pub text: String,
    /// Left end of the baseline, image pixels (y down).
    pub x: f32,
    /// Left end of the baseline, image pixels (y down).
    pub y: f32,
    /// Length along the baseline, pixels.
    pub width: f32,
    /// Height, pixels.
    pub height: f32,
    /// Direction of the baseline, degrees counter-clockwise.
    pub angle_deg: f32,
}

impl PlacedWord {
    /// A word on an upright image, from its box.
    pub fn upright(w: &WordBox) -> PlacedWord {
        let [x, y, bw, bh] = w.bbox;
        PlacedWord {
            text: w.text.clone(),
            x: x as f32,
            y: (y + bh) as f32,
            width: bw as f32,
            height: bh as f32,
            angle_deg: 0.0,
        }
    }
}

/// One page to write.
#[derive(Clone, Debug)]
pub struct PdfPage {
    /// The image.
    pub image: PageImage,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Resolution: sets the page size.
    pub dpi: f32,
    /// Words of the text layer, in reading order.
    pub words: Vec<PlacedWord>,
}

/// Document-level metadata.
#[derive(Clone, Debug, Default)]
pub struct DocInfo {
    /// Title (the book and page range).
    pub title: String,
    /// A sentence describing the content.
    pub description: String,
    /// One entry per source file: `name sha256:<hex>`.
    pub sources: Vec<String>,
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created_unix: i64,
    /// Declare PDF/A-2u (all text has Unicode) instead of PDF/A-2b. Both hold for what
    /// sohoa writes; archives that ask for 2b reject a 2u declaration, so 2b is the default.
    pub unicode_level: bool,
}

/// Why a PDF could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// No pages were given.
    #[error("a PDF needs at least one page")]
    NoPages,
    /// A page's image does not match its stated size.
    #[error("page {page}: image data does not match {width}×{height}")]
    BadImage {
        /// 1-based page number.
        page: usize,
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
    },
}

/// The producer string written into every file.
pub fn producer() -> String {
    format!("sohoa {}", env!("CARGO_PKG_VERSION"))
}

/// The object numbers of a document, allocated in the order they are written.
struct Refs {
    catalog: Ref,
    tree: Ref,
    info: Ref,
    meta: Ref,
    icc: Ref,
    font: font::FontRefs,
    pages: Vec<page::PageRefs>,
}

impl Refs {
    fn new(pages: usize) -> Refs {
        let mut next = 0;
        let mut alloc = || {
            next += 1;
            Ref::new(next)
        };
        Refs {
            catalog: alloc(),
            tree: alloc(),
            info: alloc(),
            meta: alloc(),
            icc: alloc(),
            font: font::FontRefs {
                type0: alloc(),
                cid: alloc(),
                descriptor: alloc(),
                file: alloc(),
                to_unicode: alloc(),
                cid_map: alloc(),
            },
            pages: (0..pages)
                .map(|_| page::PageRefs {
                    page: alloc(),
                    content: alloc(),
                    image: alloc(),
                })
                .collect(),
        }
    }
}

/// Writes a PDF/A-2b (or, with [`DocInfo::unicode_level`], 2u) document.
pub fn write_pdfa(pages: &[&PdfPage], info: &DocInfo) -> Result<Vec<u8>, PdfError> {
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    for (i, page) in pages.iter().enumerate() {
        image::check_size(page, i + 1)?;
    }
    let refs = Refs::new(pages.len());
    let mut pdf = Pdf::new();
    catalog::write_catalog(&mut pdf, &refs, info);
    font::write_font(&mut pdf, &refs.font);
    pdf.pages(refs.tree)
        .kids(refs.pages.iter().map(|p| p.page))
        .count(pages.len() as i32);
    for (page, own) in pages.iter().zip(&refs.pages) {
        page::write_page(&mut pdf, &refs, own, page);
        image::write_image(&mut pdf, own.image, page);
    }
    let id = crate::ingest::sha256_hex(info.sources.join("\n").as_bytes());
    let id = id.as_bytes()[..32].to_vec();
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

/// Zlib-compresses `data`.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

// A stream whose data ends in a carriage return is misread by strict readers: the CR
// before the `endstream` line feed looks like part of the end-of-line marker, so /Length
// seems one too long. Zlib data ends with the checksum of what it holds, so the fix is to
// change what it holds: a trailing line feed for a content stream, a PNG row filter for an
// image.

/// Compresses a content stream so that its data does not end in CR.
fn deflate_content(content: &[u8]) -> Vec<u8> {
    let z = deflate(content);
    if z.last() != Some(&b'\r') {
        return z;
    }
    let mut padded = content.to_vec();
    loop {
        padded.push(b'\n');
        let z = deflate(&padded);
        if z.last() != Some(&b'\r') {
            return z;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_refused() {
        assert!(matches!(write_pdfa(&[], &DocInfo::default()), Err(PdfError::NoPages)));
    }

    #[test]
    fn samples_that_do_not_match_the_stated_size_are_refused() {
        let page = PdfPage {
            image: PageImage::Gray(vec![0; 10]),
            width: 4,
            height: 4,
            dpi: 100.0,
            words: Vec::new(),
        };
        assert!(matches!(
            write_pdfa(&[&page], &DocInfo::default()),
            Err(PdfError::BadImage { page: 1, .. })
        ));
    }
}
