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
use pdf_writer::{Chunk, Ref};
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
    /// Mixed raster content: a grey JPEG of the paper, stretched over the page, under the
    /// ink as a CCITT G4 stencil mask, painted in grey level `ink`.
    Mrc {
        /// G4 data of the ink mask (ink is 0), stretched over the page.
        mask: Vec<u8>,
        /// The mask's width and height in pixels (at least the page's).
        mask_size: [u32; 2],
        /// The paper layer, a grey JPEG.
        background: Vec<u8>,
        /// The paper layer's width and height in pixels.
        background_size: [u32; 2],
        /// Grey level the ink is painted in (0 black).
        ink: u8,
    },
}

/// The name of the key under which each image XObject carries the SHA-256 of its
/// stream bytes, so that a file can be checked long after it was written.
pub const IMAGE_SHA_KEY: &[u8] = b"SohoaSHA256";

/// The key under which the page tree, the last object written, carries the SHA-256 of
/// every byte of the file before it (header and every other object, in hexadecimal): the
/// file's own seal. With the cross-reference table checked object by object and no
/// update appended, it tells a byte changed anywhere in the text layer, the fonts, the
/// metadata or the images, without a manifest.
pub const SEAL_KEY: &[u8] = b"SohoaSealSHA256";

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
    /// The document could not be written out.
    #[error("cannot write the PDF: {0}")]
    Write(#[source] std::io::Error),
}

/// The producer string written into every file.
pub fn producer() -> String {
    format!("sohoa {}", env!("CARGO_PKG_VERSION"))
}

/// The objects every document has, whatever its pages: catalog, page tree, information,
/// metadata, output profile and the text layer's font.
struct Refs {
    catalog: Ref,
    tree: Ref,
    info: Ref,
    meta: Ref,
    icc: Ref,
    font: font::FontRefs,
}

/// Where objects go: each object is built in a chunk of its own and written out before
/// the next, so the file's offset of every object is known without holding the file.
pub(super) struct Sink<W: Write> {
    out: W,
    written: u64,
    /// Byte offset of each object, indexed by its number − 1.
    offsets: Vec<u64>,
    chunk: Chunk,
    next: i32,
    error: Option<std::io::Error>,
    /// The SHA-256 of every byte written so far.
    seal: sha2::Sha256,
}

impl<W: Write> Sink<W> {
    fn new(mut out: W) -> Sink<W> {
        // The binary marker (four bytes over 127) tells transfer programs the file is binary.
        const HEADER: &[u8] = b"%PDF-1.7\n%\x80\x80\x80\x80\n\n";
        use sha2::Digest;
        let error = out.write_all(HEADER).err();
        Sink {
            out,
            written: HEADER.len() as u64,
            offsets: Vec::new(),
            chunk: Chunk::new(),
            next: 0,
            error,
            seal: sha2::Sha256::new_with_prefix(HEADER),
        }
    }

    /// A fresh object number.
    fn alloc(&mut self) -> Ref {
        self.next += 1;
        Ref::new(self.next)
    }

    /// A chunk for one object; the previous object is written out first.
    pub(super) fn next(&mut self) -> &mut Chunk {
        self.flush();
        &mut self.chunk
    }

    fn flush(&mut self) {
        if self.chunk.len() == 0 {
            return;
        }
        let chunk = std::mem::replace(&mut self.chunk, Chunk::new());
        let mut ids = chunk.refs();
        let id = ids.next().expect("a chunk holds an object").get() as usize;
        debug_assert!(ids.next().is_none(), "one object per chunk");
        if self.offsets.len() < id {
            self.offsets.resize(id, 0);
        }
        self.offsets[id - 1] = self.written;
        if self.error.is_none() {
            self.error = self.out.write_all(chunk.as_bytes()).err();
        }
        sha2::Digest::update(&mut self.seal, chunk.as_bytes());
        self.written += chunk.len() as u64;
    }
}

/// Writes a PDF/A-2b (or, with [`DocInfo::unicode_level`], 2u) document page by page into
/// `W`: the frame when made, each page as it is added (nothing of a page is kept once it
/// is written), the page tree and cross-reference table at [`PdfWriter::finish`]. A book
/// of any length is written in the memory of one page.
pub struct PdfWriter<W: Write> {
    sink: Sink<W>,
    refs: Refs,
    kids: Vec<Ref>,
    file_id: Vec<u8>,
}

impl<W: Write> PdfWriter<W> {
    /// Starts a document: header, catalog, metadata, output intent and font.
    pub fn new(out: W, info: &DocInfo) -> PdfWriter<W> {
        let mut sink = Sink::new(out);
        let refs = Refs {
            catalog: sink.alloc(),
            tree: sink.alloc(),
            info: sink.alloc(),
            meta: sink.alloc(),
            icc: sink.alloc(),
            font: font::FontRefs {
                type0: sink.alloc(),
                cid: sink.alloc(),
                descriptor: sink.alloc(),
                file: sink.alloc(),
                to_unicode: sink.alloc(),
                cid_map: sink.alloc(),
            },
        };
        catalog::write_catalog(&mut sink, &refs, info);
        font::write_font(&mut sink, &refs.font);
        let id = crate::ingest::sha256_hex(info.sources.join("\n").as_bytes());
        PdfWriter {
            sink,
            refs,
            kids: Vec::new(),
            file_id: id.as_bytes()[..32].to_vec(),
        }
    }

    /// Adds a page.
    pub fn page(&mut self, page: &PdfPage) -> Result<(), PdfError> {
        image::check_size(page, self.kids.len() + 1)?;
        let own = page::PageRefs {
            page: self.sink.alloc(),
            content: self.sink.alloc(),
            image: self.sink.alloc(),
            mask: matches!(page.image, PageImage::Mrc { .. }).then(|| self.sink.alloc()),
        };
        page::write_page(&mut self.sink, &self.refs, &own, page);
        image::write_image(&mut self.sink, &own, page);
        self.kids.push(own.page);
        Ok(())
    }

    /// Pages added so far.
    pub fn pages(&self) -> usize {
        self.kids.len()
    }

    /// Ends the document: page tree, cross-reference table, trailer. Returns the writer.
    pub fn finish(mut self) -> Result<W, PdfError> {
        if self.kids.is_empty() {
            return Err(PdfError::NoPages);
        }
        // The page tree last, sealing everything before it.
        self.sink.flush();
        let seal = crate::ingest::hex(&sha2::Digest::finalize(self.sink.seal.clone()));
        let mut tree = self.sink.next().pages(self.refs.tree);
        tree.kids(self.kids.iter().copied()).count(self.kids.len() as i32);
        tree.pair(pdf_writer::Name(SEAL_KEY), pdf_writer::Str(seal.as_bytes()));
        drop(tree);
        let s = &mut self.sink;
        s.flush();
        let mut tail = format!("xref\n0 {}\n0000000000 65535 f\r\n", s.offsets.len() + 1);
        for off in &s.offsets {
            tail.push_str(&format!("{off:010} 00000 n\r\n"));
        }
        let id: String = self.file_id.iter().map(|b| format!("{b:02X}")).collect();
        tail.push_str(&format!(
            "trailer\n<<\n  /Size {}\n  /Root {} 0 R\n  /Info {} 0 R\n  /ID [<{id}> <{id}>]\n>>\nstartxref\n{}\n%%EOF",
            s.offsets.len() + 1,
            self.refs.catalog.get(),
            self.refs.info.get(),
            s.written
        ));
        if let Some(e) = s.error.take() {
            return Err(PdfError::Write(e));
        }
        s.out.write_all(tail.as_bytes()).map_err(PdfError::Write)?;
        s.out.flush().map_err(PdfError::Write)?;
        Ok(self.sink.out)
    }
}

/// Writes a PDF/A-2b (or, with [`DocInfo::unicode_level`], 2u) document in memory.
pub fn write_pdfa(pages: &[&PdfPage], info: &DocInfo) -> Result<Vec<u8>, PdfError> {
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    let mut w = PdfWriter::new(Vec::new(), info);
    for page in pages {
        w.page(page)?;
    }
    w.finish()
}

/// Zlib-compresses `data`.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
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
