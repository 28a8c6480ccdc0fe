//! Stage 6: archival PDF/A-2b files — page images with an invisible, searchable text layer.
//!
//! Each page is one image XObject drawn over the whole page (its size from the DPI) and,
//! on top, the OCR words in text render mode 3 (invisible), each scaled to its box. The
//! font is a tiny embedded glyph-less TrueType font addressed by Unicode code point
//! (Identity-H) with a ToUnicode map, so copy, search and text extraction give the exact
//! NFC text. The catalog carries XMP metadata and an sRGB output intent, the trailer an
//! /ID: the parts PDF/A-2 requires.

mod font;

use crate::model::WordBox;

use flate2::{write::ZlibEncoder, Compression};
use pdf_writer::types::{CidFontType, FontFlags, OutputIntentSubtype, SystemInfo, TextRenderingMode};
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
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

/// Largest page side PDF allows (200 inches).
const MAX_PAGE_POINTS: f32 = 14_400.0;

/// The producer string written into every file.
pub fn producer() -> String {
    format!("sohoa {}", env!("CARGO_PKG_VERSION"))
}

/// Writes a PDF/A-2b document.
pub fn write_pdfa(pages: &[PdfPage], info: &DocInfo) -> Result<Vec<u8>, PdfError> {
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let info_id = alloc();
    let meta_id = alloc();
    let icc_id = alloc();
    let type0_id = alloc();
    let cid_id = alloc();
    let descriptor_id = alloc();
    let fontfile_id = alloc();
    let tounicode_id = alloc();
    let cidmap_id = alloc();
    let page_ids: Vec<(Ref, Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc(), alloc())).collect();

    let date = pdf_date(info.created_unix);
    let producer = producer();

    // Catalog with metadata and output intent.
    {
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(tree_id).metadata(meta_id);
        let mut intents = catalog.output_intents();
        intents
            .push()
            .subtype(OutputIntentSubtype::PDFA)
            .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
            .info(TextStr("sRGB IEC61966-2.1"))
            .dest_output_profile(icc_id);
        intents.finish();
    }
    pdf.document_info(info_id)
        .title(TextStr(&info.title))
        .producer(TextStr(&producer))
        .creator(TextStr(&producer))
        .creation_date(date)
        .modified_date(date);
    let xmp = xmp_packet(info, &producer);
    pdf.metadata(meta_id, xmp.as_bytes());
    let icc = srgb_profile();
    pdf.icc_profile(icc_id, &icc).n(3).filter(Filter::FlateDecode);

    // The glyph-less font.
    let ttf = font::glyphless_ttf();
    pdf.type0_font(type0_id)
        .base_font(Name(b"GlyphLessFont"))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(tounicode_id);
    pdf.cid_font(cid_id)
        .subtype(CidFontType::Type2)
        .base_font(Name(b"GlyphLessFont"))
        .system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .font_descriptor(descriptor_id)
        .default_width(font::ADVANCE as f32)
        .cid_to_gid_map_stream(cidmap_id);
    pdf.font_descriptor(descriptor_id)
        .name(Name(b"GlyphLessFont"))
        .flags(FontFlags::SYMBOLIC | FontFlags::FIXED_PITCH)
        .bbox(Rect::new(0.0, 0.0, font::ADVANCE as f32, font::UNITS_PER_EM as f32))
        .italic_angle(0.0)
        .ascent(font::UNITS_PER_EM as f32)
        .descent(0.0)
        .cap_height(font::UNITS_PER_EM as f32)
        .stem_v(80.0)
        .font_file2(fontfile_id);
    let ttf_z = deflate(&ttf);
    pdf.stream(fontfile_id, &ttf_z)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), ttf.len() as i32);
    let cmap = deflate(to_unicode_cmap().as_bytes());
    pdf.stream(tounicode_id, &cmap).filter(Filter::FlateDecode);
    // Every CID (= UTF-16 code unit) shows glyph 1.
    let cidmap: Vec<u8> = std::iter::repeat_n([0u8, 1u8], 65536).flatten().collect();
    let cidmap_z = deflate(&cidmap);
    pdf.stream(cidmap_id, &cidmap_z).filter(Filter::FlateDecode);

    // Pages.
    let mut tree = pdf.pages(tree_id);
    tree.kids(page_ids.iter().map(|p| p.0)).count(pages.len() as i32);
    tree.finish();
    for (i, (page, &(page_id, content_id, image_id))) in pages.iter().zip(&page_ids).enumerate() {
        // Points per pixel from the resolution; a page over PDF's 200-inch limit (an
        // image with a wrong resolution) is drawn smaller, never cut.
        let k = 72.0 / page.dpi.max(1.0);
        let k = k * (MAX_PAGE_POINTS / (page.width.max(page.height) as f32 * k)).min(1.0);
        let (pw, ph) = (page.width as f32 * k, page.height as f32 * k);
        let mut p = pdf.page(page_id);
        p.parent(tree_id)
            .media_box(Rect::new(0.0, 0.0, pw, ph))
            .contents(content_id);
        let mut res = p.resources();
        res.x_objects().pair(Name(b"Im0"), image_id);
        res.fonts().pair(Name(b"F1"), type0_id);
        res.finish();
        p.finish();

        let content = page_content(page, pw, ph, k);
        let content_z = deflate_content(&content);
        pdf.stream(content_id, &content_z).filter(Filter::FlateDecode);

        let expected = match &page.image {
            PageImage::Gray(v) => Some((v.len(), 1)),
            PageImage::Rgb(v) => Some((v.len(), 3)),
            _ => None,
        };
        if let Some((len, comps)) = expected {
            if len != (page.width * page.height) as usize * comps {
                return Err(PdfError::BadImage {
                    page: i + 1,
                    width: page.width,
                    height: page.height,
                });
            }
        }
        let (stored, png_rows): (std::borrow::Cow<[u8]>, _) = match &page.image {
            PageImage::Jpeg { data, .. } | PageImage::Group4(data) => (no_trailing_cr(data), None),
            PageImage::Gray(v) => {
                let (z, rows) = deflate_image(v, page.width as usize, 1);
                (z.into(), rows)
            }
            PageImage::Rgb(v) => {
                let (z, rows) = deflate_image(v, page.width as usize * 3, 3);
                (z.into(), rows)
            }
        };
        let sha = crate::ingest::sha256_hex(&stored);
        let mut img = pdf.image_xobject(image_id, &stored);
        img.width(page.width as i32).height(page.height as i32);
        img.pair(Name(IMAGE_SHA_KEY), Str(sha.as_bytes()));
        match &page.image {
            PageImage::Jpeg { components, .. } => {
                img.bits_per_component(8);
                if *components == 3 {
                    img.color_space().device_rgb();
                } else {
                    img.color_space().device_gray();
                }
                img.filter(Filter::DctDecode);
            }
            PageImage::Gray(_) | PageImage::Rgb(_) => {
                let colors = if matches!(page.image, PageImage::Rgb(_)) { 3 } else { 1 };
                img.bits_per_component(8);
                if colors == 3 {
                    img.color_space().device_rgb();
                } else {
                    img.color_space().device_gray();
                }
                img.filter(Filter::FlateDecode);
                if png_rows.is_some() {
                    img.decode_parms()
                        .pair(Name(b"Predictor"), 10)
                        .pair(Name(b"Colors"), colors)
                        .pair(Name(b"BitsPerComponent"), 8)
                        .pair(Name(b"Columns"), page.width as i32);
                }
            }
            PageImage::Group4(_) => {
                img.bits_per_component(1);
                img.color_space().device_gray();
                img.filter(Filter::CcittFaxDecode);
                img.decode_parms()
                    .pair(Name(b"K"), -1)
                    .pair(Name(b"Columns"), page.width as i32)
                    .pair(Name(b"Rows"), page.height as i32)
                    .pair(Name(b"BlackIs1"), false);
            }
        }
        img.finish();
    }
    let id = crate::ingest::sha256_hex(info.sources.join("\n").as_bytes());
    let id = id.as_bytes()[..32].to_vec();
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

/// The page's content: the image over the whole page, then the invisible words.
fn page_content(page: &PdfPage, pw: f32, ph: f32, k: f32) -> Vec<u8> {
    let mut c = Content::new();
    c.save_state();
    c.transform([pw, 0.0, 0.0, ph, 0.0, 0.0]);
    c.x_object(Name(b"Im0"));
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

/// Compresses image samples so that the data does not end in CR. Returns the data and,
/// when rows had to be PNG-filtered, the row width in bytes for /DecodeParms.
fn deflate_image(samples: &[u8], row_bytes: usize, bpp: usize) -> (Vec<u8>, Option<usize>) {
    let z = deflate(samples);
    if z.last() != Some(&b'\r') || row_bytes == 0 {
        return (z, None);
    }
    // PNG row filters, one row at a time switched from "None" (0) to "Sub" (1) until the
    // checksum's last byte changes.
    let mut kinds = vec![0u8; samples.len().div_ceil(row_bytes)];
    for flip in 0..=kinds.len() {
        if flip > 0 {
            kinds[flip - 1] = 1;
        }
        let mut filtered = Vec::with_capacity(samples.len() + kinds.len());
        for (row, &kind) in samples.chunks(row_bytes).zip(&kinds) {
            filtered.push(kind);
            if kind == 0 {
                filtered.extend_from_slice(row);
            } else {
                filtered.extend(
                    row.iter()
                        .enumerate()
                        .map(|(i, &v)| if i < bpp { v } else { v.wrapping_sub(row[i - bpp]) }),
                );
            }
        }
        let z = deflate(&filtered);
        if z.last() != Some(&b'\r') {
            return (z, Some(row_bytes));
        }
    }
    (z, None)
}

/// Data written raw (JPEG, G4) gets a padding byte when it ends in a carriage return (see
/// [`deflate`]); decoders stop at their end marker and ignore it.
fn no_trailing_cr(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if data.last() == Some(&b'\r') {
        let mut padded = data.to_vec();
        padded.push(0);
        padded.into()
    } else {
        data.into()
    }
}

/// ToUnicode CMap for Identity-H codes that are UTF-16 code units (BMP, no surrogates).
fn to_unicode_cmap() -> String {
    let mut ranges = Vec::new();
    for hi in 0u32..=0xFF {
        if (0xD8..=0xDF).contains(&hi) {
            continue;
        }
        let lo = if hi == 0 { 0x20 } else { 0x00 };
        let top = if hi == 0xFF { 0xFD } else { 0xFF };
        ranges.push(format!("<{hi:02X}{lo:02X}> <{hi:02X}{top:02X}> <{hi:02X}{lo:02X}>"));
    }
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in ranges.chunks(100) {
        s.push_str(&format!("{} beginbfrange\n", chunk.len()));
        for r in chunk {
            s.push_str(r);
            s.push('\n');
        }
        s.push_str("endbfrange\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

/// An sRGB ICC profile for the output intent. The encoder stamps the current time into
/// the header; a fixed one keeps the output reproducible. The profile ID (an MD5 over the
/// header) is cleared, which the ICC specification reads as "not computed".
fn srgb_profile() -> Vec<u8> {
    let mut icc = moxcms::ColorProfile::new_srgb().encode().expect("sRGB profile encodes");
    // dateTimeNumber at 24..36: 2024-01-01 00:00:00.
    let date: [u16; 6] = [2024, 1, 1, 0, 0, 0];
    for (i, v) in date.iter().enumerate() {
        icc[24 + 2 * i..26 + 2 * i].copy_from_slice(&v.to_be_bytes());
    }
    icc[84..100].fill(0);
    deflate(&icc)
}

/// (year, month, day, hour, minute, second) in UTC from Unix seconds.
pub fn civil(unix: i64) -> (i32, u8, u8, u8, u8, u8) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as i32,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs % 3600 / 60) as u8,
        (secs % 60) as u8,
    )
}

fn pdf_date(unix: i64) -> Date {
    let (y, mo, d, h, mi, s) = civil(unix);
    Date::new(y as u16)
        .month(mo)
        .day(d)
        .hour(h)
        .minute(mi)
        .second(s)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// ISO 8601 form of a Unix time, as XMP wants it.
pub fn iso_date(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xmp_packet(info: &DocInfo, producer: &str) -> String {
    let date = iso_date(info.created_unix);
    let sources: String = info
        .sources
        .iter()
        .map(|s| format!("<rdf:li>{}</rdf:li>", xml_escape(s)))
        .collect();
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" \
xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>{level}</pdfaid:conformance>\n\
<dc:format>application/pdf</dc:format>\n\
<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{desc}</rdf:li></rdf:Alt></dc:description>\n\
<dc:relation><rdf:Bag>{sources}</rdf:Bag></dc:relation>\n\
<xmp:CreateDate>{date}</xmp:CreateDate>\n<xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
<xmp:MetadataDate>{date}</xmp:MetadataDate>\n<xmp:CreatorTool>{producer}</xmp:CreatorTool>\n\
<pdf:Producer>{producer}</pdf:Producer>\n\
</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>",
        title = xml_escape(&info.title),
        level = if info.unicode_level { "U" } else { "B" },
        desc = xml_escape(&info.description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(iso_date(1_795_333_800), "2026-11-22T07:50:00+00:00");
    }

    #[test]
    fn no_stream_data_ends_in_a_carriage_return() {
        let mut hits = 0;
        for i in 0u32..4000 {
            let data = i.to_le_bytes().repeat(50);
            if deflate(&data).last() != Some(&b'\r') {
                continue;
            }
            hits += 1;
            assert_ne!(deflate_content(&data).last(), Some(&b'\r'));
            let (z, rows) = deflate_image(&data, 20, 1);
            assert_ne!(z.last(), Some(&b'\r'));
            assert_eq!(rows, Some(20));
            let mut back = Vec::new();
            use std::io::Read;
            flate2::read::ZlibDecoder::new(z.as_slice())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back.len(), data.len() + 10);
        }
        assert!(hits > 0, "no input ended in CR: the test proves nothing");
        assert_eq!(no_trailing_cr(&[1, b'\r']).as_ref(), &[1, b'\r', 0]);
    }

    #[test]
    fn empty_document_is_refused() {
        assert!(matches!(write_pdfa(&[], &DocInfo::default()), Err(PdfError::NoPages)));
    }
}
