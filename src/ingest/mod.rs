//! Stage 0: find the books in an input folder and decode their page images.
//!
//! A book is a folder holding files; its pages are those files in natural order
//! (`page-2` before `page-10`). Decoding turns any supported scan (PNG, JPEG, TIFF with
//! 1/8/16-bit, grey or colour samples, uncompressed, LZW, Deflate, PackBits or CCITT G4,
//! multi-page) into 8-bit grey frames. Nothing here knows about threads or output files.

use image::{DynamicImage, GrayImage};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::io::Cursor;
use std::path::{Path, PathBuf};

mod books;
mod pdf;
mod tiff_pages;

pub use books::*;
use tiff_pages::*;

/// Largest image accepted by default, in pixels (a 600-dpi A2 scan is about 140 Mpx).
pub const MAX_PIXELS: u64 = 200_000_000;

/// Why a file could not be turned into page images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file could not be read from disk.
    #[error("cannot read file: {0}")]
    Io(std::io::Error),
    /// The file is empty.
    #[error("empty file (0 bytes)")]
    Empty,
    /// The bytes are not a supported image format.
    #[error("not a supported scan (PNG, JPEG, TIFF or PDF expected); file starts with {0}")]
    NotAnImage(String),
    /// The image format was recognised but its data is broken (often a truncated transfer).
    #[error("damaged or truncated {format} file: {message}")]
    Corrupt {
        /// PNG, JPEG or TIFF.
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The image is larger than the pixel limit.
    #[error("image too large: {width}×{height} pixels (limit {limit} pixels)")]
    TooLarge {
        /// Width in pixels.
        width: u64,
        /// Height in pixels.
        height: u64,
        /// The limit, pixels.
        limit: u64,
    },
    /// The header claims more pixels than the file's bytes can hold in its compression:
    /// a damaged or crafted file, refused before any pixel is decoded.
    #[error("damaged or crafted {format} file: its header claims {width}×{height} pixels, more than its {bytes} bytes can hold")]
    Implausible {
        /// PNG, JPEG or TIFF.
        format: &'static str,
        /// Claimed width.
        width: u64,
        /// Claimed height.
        height: u64,
        /// The file's size.
        bytes: u64,
    },
    /// A valid file in a variant sohoa does not decode.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl From<std::io::Error> for DecodeError {
    fn from(e: std::io::Error) -> Self {
        DecodeError::Io(e)
    }
}

/// The format of a scan file, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    /// PNG.
    Png,
    /// JPEG (JFIF/EXIF).
    Jpeg,
    /// TIFF, either byte order.
    Tiff,
    /// PDF: a scanner's pages, each one image.
    Pdf,
}

impl ScanFormat {
    /// Sniffs the format from the file's magic bytes.
    pub fn sniff(bytes: &[u8]) -> Option<ScanFormat> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ScanFormat::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ScanFormat::Jpeg)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(ScanFormat::Tiff)
        } else if bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-") {
            Some(ScanFormat::Pdf)
        } else {
            None
        }
    }

    /// Upper-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ScanFormat::Png => "PNG",
            ScanFormat::Jpeg => "JPEG",
            ScanFormat::Tiff => "TIFF",
            ScanFormat::Pdf => "PDF",
        }
    }
}

/// One decoded page image (a TIFF may hold several).
#[derive(Clone, Debug)]
pub struct Frame {
    /// 0-based frame index within the file.
    pub index: u32,
    /// The page in 8-bit grey.
    pub gray: GrayImage,
    /// Resolution stored in the file, if any.
    pub dpi: Option<f32>,
}

/// What a frame's header claims, read without decoding its pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Samples per pixel (1 grey, 3 colour, …).
    pub channels: u8,
    /// Resolution stated, if any.
    pub dpi: Option<f32>,
}

impl FrameInfo {
    /// Pixels in the frame.
    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

/// A scan file's format and frames as its headers state them.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The format.
    pub format: ScanFormat,
    /// Each frame's claims.
    pub frames: Vec<FrameInfo>,
}

/// Reads a scan file's headers, without decoding pixels, and refuses what cannot or must
/// not be decoded: empty or foreign bytes, a frame over `max_pixels`, a header claiming
/// more pixels than the file's bytes could hold (a decompression bomb costs gigabytes
/// from a few hundred bytes), a cut-off JPEG, and valid variants sohoa does not decode.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Probe, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = ScanFormat::sniff(bytes).ok_or_else(|| {
        let head: String = bytes
            .iter()
            .take(8)
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(" ");
        DecodeError::NotAnImage(head)
    })?;
    let frames = match format {
        ScanFormat::Tiff => probe_tiff(bytes, max_pixels)?,
        ScanFormat::Pdf => pdf_frames(&pdf::ScannedPdf::open(bytes)?, max_pixels)?,
        ScanFormat::Png | ScanFormat::Jpeg => {
            if format == ScanFormat::Jpeg {
                if let Some(kind) = jpeg_unsupported_kind(bytes) {
                    return Err(DecodeError::Unsupported(format!("{kind} JPEG")));
                }
                if !jpeg_has_end(bytes) {
                    // The decoder would fill a cut-off scan with grey; such a page must be
                    // sent again.
                    return Err(DecodeError::Corrupt {
                        format: "JPEG",
                        message: "the file ends before the end-of-image marker (cut short in transfer?)".into(),
                    });
                }
            }
            let decoder = image::ImageReader::with_format(Cursor::new(bytes), image_format(format))
                .into_decoder()
                .map_err(|e| image_error(format, e))?;
            use image::ImageDecoder;
            let (width, height) = decoder.dimensions();
            let color = decoder.color_type();
            let info = FrameInfo {
                width,
                height,
                channels: color.channel_count(),
                dpi: match format {
                    ScanFormat::Png => png_dpi(bytes),
                    _ => jpeg_dpi(bytes),
                },
            };
            check_size(width as u64, height as u64, max_pixels)?;
            // Deflate packs at most about 1032 bytes into one; a JPEG spends at least
            // a few bits on each 8×8 block (under 100 pixels a byte for a blank page).
            let most_per_byte = match format {
                ScanFormat::Png => 1100.0 * 8.0 / color.bits_per_pixel() as f64,
                _ => 1000.0,
            };
            check_claim(format, &info, bytes.len(), most_per_byte)?;
            vec![info]
        }
    };
    Ok(Probe { format, frames })
}

fn image_format(format: ScanFormat) -> image::ImageFormat {
    match format {
        ScanFormat::Png => image::ImageFormat::Png,
        ScanFormat::Jpeg => image::ImageFormat::Jpeg,
        ScanFormat::Tiff | ScanFormat::Pdf => image::ImageFormat::Tiff,
    }
}

/// Frame `index` of a scan file, decoded alone (the others of a TIFF are decoded and
/// dropped one at a time; a PDF's other pages are not touched).
pub fn decode_frame(bytes: &[u8], index: u32) -> Result<Frame, DecodeError> {
    if ScanFormat::sniff(bytes) == Some(ScanFormat::Pdf) {
        let pdf = pdf::ScannedPdf::open(bytes)?;
        if (index as usize) < pdf.len() {
            return pdf.frame(index as usize);
        }
    } else {
        let mut found = None;
        let mut seen = 0;
        decode_each(bytes, MAX_PIXELS, |f| {
            if seen == index {
                found = Some(f);
            }
            seen += 1;
            Ok::<(), DecodeError>(())
        })?;
        if let Some(f) = found {
            return f;
        }
    }
    Err(DecodeError::Corrupt {
        format: ScanFormat::sniff(bytes).map_or("image", ScanFormat::name),
        message: format!("it has no frame {}", index + 1),
    })
}

/// The JPEG a scanned PDF's page `page` (0-based) is stored as, byte for byte; `None`
/// when the page is stored otherwise.
pub fn pdf_page_jpeg(bytes: &[u8], page: u32) -> Option<Vec<u8>> {
    pdf::ScannedPdf::open(bytes).ok()?.jpeg(page as usize)
}

/// An image decoder's error as a reason: a variant it does not decode is unsupported,
/// anything else damage.
fn image_error(format: ScanFormat, e: image::ImageError) -> DecodeError {
    match e {
        image::ImageError::Unsupported(u) => DecodeError::Unsupported(format!("{} variant: {u}", format.name())),
        e => DecodeError::Corrupt {
            format: format.name(),
            message: e.to_string(),
        },
    }
}

/// Refuses a frame that claims more pixels than `len` bytes can hold at `most_per_byte`
/// pixels a byte.
fn check_claim(format: ScanFormat, f: &FrameInfo, len: usize, most_per_byte: f64) -> Result<(), DecodeError> {
    if f.pixels() as f64 > len as f64 * most_per_byte {
        return Err(DecodeError::Implausible {
            format: format.name(),
            width: f.width as u64,
            height: f.height as u64,
            bytes: len as u64,
        });
    }
    Ok(())
}

/// The kind of a JPEG whose coding sohoa's decoder does not read (arithmetic, lossless
/// or hierarchical), from its start-of-frame marker.
fn jpeg_unsupported_kind(bytes: &[u8]) -> Option<&'static str> {
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return None;
        }
        let marker = bytes[pos + 1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]) as usize;
        match marker {
            0xC0..=0xC2 => return None,
            0xC3 => return Some("lossless"),
            0xC5..=0xC7 => return Some("hierarchical"),
            0xC9..=0xCB | 0xCD..=0xCF => return Some("arithmetic-coded"),
            0xDA => return None,
            _ => pos += 2 + len,
        }
    }
    None
}

/// Decodes every frame of a scan file held in memory (see [`decode_each`]).
pub fn decode(bytes: &[u8]) -> Result<Vec<Frame>, DecodeError> {
    let mut frames = Vec::new();
    let mut first_error = None;
    decode_each(bytes, MAX_PIXELS, |f| {
        match f {
            Ok(f) => frames.push(f),
            Err(e) if frames.is_empty() => first_error = Some(e),
            Err(_) => {}
        }
        Ok::<(), DecodeError>(())
    })?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(frames),
    }
}

/// Decodes the frames of a scan file one at a time, handing each to `each` before the
/// next is decoded (a multi-page TIFF never holds more than one frame in memory). The
/// file is probed first ([`probe`]); a frame that fails to decode is handed over as its
/// error and ends the file.
pub fn decode_each<E: From<DecodeError>>(
    bytes: &[u8],
    max_pixels: u64,
    mut each: impl FnMut(Result<Frame, DecodeError>) -> Result<(), E>,
) -> Result<(), E> {
    if ScanFormat::sniff(bytes) == Some(ScanFormat::Pdf) {
        // Parsed once: its pages' claims checked, then each page decoded in turn.
        let pdf = pdf::ScannedPdf::open(bytes)?;
        pdf_frames(&pdf, max_pixels)?;
        for i in 0..pdf.len() {
            each(pdf.frame(i))?;
        }
        return Ok(());
    }
    let probe = probe(bytes, max_pixels)?;
    match probe.format {
        ScanFormat::Tiff => decode_tiff(bytes, max_pixels, &mut each),
        format => {
            let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(format));
            reader.no_limits();
            let frame = reader.decode().map_err(|e| image_error(format, e)).map(|img| Frame {
                index: 0,
                gray: to_gray(img),
                dpi: probe.frames[0].dpi,
            });
            each(frame)
        }
    }
}

/// Each page's claims of a scanned PDF, checked against the limit (a page that cannot be
/// taken counts, and is refused when it is decoded).
fn pdf_frames(pdf: &pdf::ScannedPdf, max_pixels: u64) -> Result<Vec<FrameInfo>, DecodeError> {
    (0..pdf.len())
        .map(|i| {
            let info = pdf.info(i).unwrap_or(FrameInfo {
                width: 0,
                height: 0,
                channels: 1,
                dpi: None,
            });
            check_size(info.width as u64, info.height as u64, max_pixels)?;
            Ok(info)
        })
        .collect()
}

fn check_size(width: u64, height: u64, limit: u64) -> Result<(), DecodeError> {
    if width * height > limit {
        Err(DecodeError::TooLarge { width, height, limit })
    } else {
        Ok(())
    }
}

/// Converts any decoded image to 8-bit grey (luma), 16-bit samples scaled down.
fn to_gray(img: DynamicImage) -> GrayImage {
    match img {
        DynamicImage::ImageLuma8(g) => g,
        other => other.into_luma8(),
    }
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 299 + g as u32 * 587 + b as u32 * 114 + 500) / 1000) as u8
}

/// True when a JPEG's end-of-image marker stands at its end (padding allowed).
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Reads the pHYs chunk of a PNG.
fn png_dpi(bytes: &[u8]) -> Option<f32> {
    let mut pos = 8;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        if kind == b"pHYs" && len >= 9 && pos + 8 + 9 <= bytes.len() {
            let d = &bytes[pos + 8..pos + 17];
            let ppu = u32::from_be_bytes(d[0..4].try_into().ok()?);
            if d[8] == 1 {
                let dpi = ppu as f32 * 0.0254;
                return (30.0..=2400.0).contains(&dpi).then_some(dpi.round());
            }
            return None;
        }
        if kind == b"IDAT" {
            return None;
        }
        pos += 12 + len;
    }
    None
}

/// Reads the density of a JFIF APP0 segment.
fn jpeg_dpi(bytes: &[u8]) -> Option<f32> {
    if bytes.len() < 18 || &bytes[6..11] != b"JFIF\0" {
        return None;
    }
    let unit = bytes[13];
    let x = u16::from_be_bytes([bytes[14], bytes[15]]) as f32;
    let dpi = match unit {
        1 => x,
        2 => x * 2.54,
        _ => return None,
    };
    (30.0..=2400.0).contains(&dpi).then_some(dpi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_page_2_before_page_10() {
        let mut v = vec!["page-10.png", "page-2.png", "Page-1.png", "page-02b.png"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["Page-1.png", "page-2.png", "page-02b.png", "page-10.png"]);
    }

    #[test]
    fn empty_and_foreign_bytes_are_refused_with_a_reason() {
        assert!(matches!(decode(b""), Err(DecodeError::Empty)));
        let e = decode(b"GIF89a hello").unwrap_err();
        assert!(e.to_string().contains("not a supported scan"), "{e}");
        let e = decode(b"%PDF-1.4 hello").unwrap_err();
        assert!(e.to_string().starts_with("damaged or truncated PDF"), "{e}");
    }

    fn tiny_jpeg() -> Vec<u8> {
        let img = GrayImage::from_pixel(16, 16, image::Luma([200]));
        let mut b = Vec::new();
        img.write_to(&mut Cursor::new(&mut b), image::ImageFormat::Jpeg)
            .unwrap();
        b
    }

    #[test]
    fn valid_variants_not_decoded_are_unsupported_not_damaged() {
        // An arithmetic-coded JPEG: start-of-frame 0xC9 in place of the baseline 0xC0.
        let mut j = tiny_jpeg();
        let sof = j.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
        j[sof + 1] = 0xC9;
        let e = decode(&j).unwrap_err();
        assert_eq!(e.to_string(), "unsupported: arithmetic-coded JPEG");
        // A CMYK TIFF.
        use tiff::encoder::{colortype::CMYK8, TiffEncoder};
        let mut buf = Cursor::new(Vec::new());
        TiffEncoder::new(&mut buf)
            .unwrap()
            .write_image::<CMYK8>(4, 4, &[0u8; 64])
            .unwrap();
        let e = decode(buf.get_ref()).unwrap_err();
        assert!(
            matches!(e, DecodeError::Unsupported(_)) && e.to_string().contains("CMYK"),
            "{e}"
        );
    }

    #[test]
    fn a_header_claiming_more_pixels_than_its_bytes_hold_is_refused_before_decoding() {
        let mut j = tiny_jpeg();
        let sof = j.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
        j[sof + 5..sof + 7].copy_from_slice(&9000u16.to_be_bytes());
        j[sof + 7..sof + 9].copy_from_slice(&9000u16.to_be_bytes());
        let e = probe(&j, MAX_PIXELS).unwrap_err();
        assert!(
            matches!(
                e,
                DecodeError::Implausible {
                    format: "JPEG",
                    width: 9000,
                    height: 9000,
                    ..
                }
            ),
            "{e}"
        );
        // The same file within what its bytes can hold is probed as it claims.
        let p = probe(&tiny_jpeg(), MAX_PIXELS).unwrap();
        assert_eq!(
            (p.frames[0].width, p.frames[0].height, p.frames[0].channels),
            (16, 16, 1)
        );
    }

    #[test]
    fn a_tiff_tag_claiming_billions_of_values_is_refused_not_allocated() {
        // A 4×4 grey TIFF whose XResolution claims 2^32 values (64 GB once decoded):
        // found by `scripts/fuzz`, such a tag once aborted the process asking for the
        // memory. Every value type is tried.
        for kind in [3u16, 4, 5, 9, 10, 11, 12, 16, 17] {
            let mut t = b"II*\0".to_vec();
            t.extend(8u32.to_le_bytes());
            let entries: [(u16, u16, u32, u32); 8] = [
                (256, 4, 1, 4),
                (257, 4, 1, 4),
                (258, 3, 1, 8),
                (259, 3, 1, 1),
                (262, 3, 1, 1),
                (273, 4, 1, 200),
                (279, 4, 1, 16),
                (282, kind, 0xFFFF_FFF0, 8),
            ];
            t.extend((entries.len() as u16).to_le_bytes());
            for (tag, kind, count, value) in entries {
                t.extend(tag.to_le_bytes());
                t.extend(kind.to_le_bytes());
                t.extend(count.to_le_bytes());
                t.extend(value.to_le_bytes());
            }
            t.extend(0u32.to_le_bytes());
            t.resize(216, 128);
            let frames = decode(&t).expect("the frame decodes without its resolution");
            assert_eq!(
                (frames[0].gray.dimensions(), frames[0].dpi),
                ((4, 4), None),
                "type {kind}"
            );
        }
    }

    #[test]
    fn long_names_are_cut_and_stay_apart() {
        let a = sanitize_name(&"trang".repeat(60));
        let b = sanitize_name(&format!("{}x", "trang".repeat(60)));
        assert!(a.len() <= 120 && b.len() <= 120, "{a}");
        assert_ne!(a, b);
        let mut taken = std::collections::HashSet::new();
        assert_eq!(unique_name("Trang-1", &mut taken), "Trang-1");
        assert_eq!(unique_name("trang-1", &mut taken), "trang-1_2");
        assert_eq!(unique_name("trang-1", &mut taken), "trang-1_3");
    }

    #[test]
    fn an_image_too_large_to_hold_is_refused_before_decoding() {
        let img = GrayImage::from_pixel(1, 1, image::Luma([200]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        // Claim 30000 × 30000 pixels in IHDR (bytes 16..24) and fix its CRC.
        png[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        let e = decode(&png).unwrap_err();
        assert!(
            matches!(
                e,
                DecodeError::TooLarge {
                    width: 30_000,
                    height: 30_000,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn truncated_png_is_corrupt() {
        let img = GrayImage::from_pixel(64, 64, image::Luma([200]));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), image::ImageFormat::Png)
            .unwrap();
        let e = decode(&buf[..buf.len() / 2]).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt { format: "PNG", .. }), "{e}");
    }
}
