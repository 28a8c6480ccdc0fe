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

/// Largest image accepted, in pixels (a 600-dpi A2 scan is about 140 Mpx).
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
    #[error("not a supported image (PNG, JPEG or TIFF expected); file starts with {0}")]
    NotAnImage(String),
    /// The image format was recognised but its data is broken (often a truncated transfer).
    #[error("damaged or truncated {format} file: {message}")]
    Corrupt {
        /// PNG, JPEG or TIFF.
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The image is larger than [`MAX_PIXELS`].
    #[error("image too large: {width}×{height} pixels (limit {MAX_PIXELS} pixels)")]
    TooLarge {
        /// Width in pixels.
        width: u64,
        /// Height in pixels.
        height: u64,
    },
}

impl From<std::io::Error> for DecodeError {
    fn from(e: std::io::Error) -> Self {
        DecodeError::Io(e)
    }
}

/// A book found in the input folder.
#[derive(Clone, Debug)]
pub struct Book {
    /// Output folder name: the folder's path relative to the input, `/` replaced by `_`.
    pub name: String,
    /// The files of the book in natural order.
    pub files: Vec<PathBuf>,
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

/// Lists the books under `input`: every folder holding at least one visible file.
/// Files directly in `input` form a book named after `input` itself.
pub fn discover_books(input: &Path) -> std::io::Result<Vec<Book>> {
    let root_name = input
        .canonicalize()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".to_string());
    let mut by_dir: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    let mut walker = walkdir::WalkDir::new(input).follow_links(true).into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(std::io::Error::other)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden && entry.depth() > 0 {
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        if entry.file_type().is_file() {
            let dir = entry.path().parent().unwrap_or(input).to_path_buf();
            by_dir.entry(dir).or_default().push(entry.into_path());
        }
    }
    let mut books: Vec<Book> = Vec::new();
    for (dir, mut files) in by_dir {
        let rel = dir.strip_prefix(input).unwrap_or(&dir);
        let name = if rel.as_os_str().is_empty() {
            root_name.clone()
        } else {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("_")
        };
        let name = sanitize_name(&name);
        match books.iter_mut().find(|b| b.name == name) {
            Some(book) => book.files.append(&mut files),
            None => books.push(Book { name, files }),
        }
    }
    for book in &mut books {
        book.files.sort_by(|a, b| {
            natural_cmp(
                &a.file_name().unwrap_or_default().to_string_lossy(),
                &b.file_name().unwrap_or_default().to_string_lossy(),
            )
        });
        book.files.dedup();
    }
    Ok(books)
}

/// Keeps letters, digits, `-`, `_` and `.`; anything else becomes `_`.
pub fn sanitize_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_string();
    if s.is_empty() {
        "_".to_string()
    } else {
        s
    }
}

/// Natural order: runs of digits compare by value, the rest by character (case-insensitive).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ai, mut bi) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na: String = std::iter::from_fn(|| ai.next_if(|c| c.is_ascii_digit())).collect();
                let nb: String = std::iter::from_fn(|| bi.next_if(|c| c.is_ascii_digit())).collect();
                let ta = na.trim_start_matches('0');
                let tb = nb.trim_start_matches('0');
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(x), Some(y)) => {
                let ord = x.to_lowercase().cmp(y.to_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                ai.next();
                bi.next();
            }
        }
    }
}

/// SHA-256 of a byte slice, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes every frame of a scan file held in memory.
pub fn decode(bytes: &[u8]) -> Result<Vec<Frame>, DecodeError> {
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
    match format {
        ScanFormat::Tiff => decode_tiff(bytes),
        ScanFormat::Png | ScanFormat::Jpeg => {
            let fmt = if format == ScanFormat::Png {
                image::ImageFormat::Png
            } else {
                image::ImageFormat::Jpeg
            };
            let corrupt = |e: image::ImageError| DecodeError::Corrupt {
                format: format.name(),
                message: e.to_string(),
            };
            let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
            let mut limits = image::Limits::default();
            limits.max_alloc = Some(MAX_PIXELS * 8);
            reader.limits(limits);
            let (w, h) = reader.into_dimensions().map_err(corrupt)?;
            check_size(w as u64, h as u64)?;
            let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
            reader.no_limits();
            let img = reader.decode().map_err(corrupt)?;
            if format == ScanFormat::Jpeg && !jpeg_has_end(bytes) {
                // The decoder fills a cut-off scan with grey; such a page must be sent again.
                return Err(DecodeError::Corrupt {
                    format: "JPEG",
                    message: "the file ends before the end-of-image marker (cut short in transfer?)".into(),
                });
            }
            let dpi = match format {
                ScanFormat::Png => png_dpi(bytes),
                _ => jpeg_dpi(bytes),
            };
            Ok(vec![Frame {
                index: 0,
                gray: to_gray(img),
                dpi,
            }])
        }
    }
}

fn check_size(width: u64, height: u64) -> Result<(), DecodeError> {
    if width * height > MAX_PIXELS {
        Err(DecodeError::TooLarge { width, height })
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

fn decode_tiff(bytes: &[u8]) -> Result<Vec<Frame>, DecodeError> {
    use tiff::decoder::{Decoder, Limits};
    let corrupt = |e: tiff::TiffError| DecodeError::Corrupt {
        format: "TIFF",
        message: e.to_string(),
    };
    let mut dec = Decoder::new(Cursor::new(bytes))
        .map_err(corrupt)?
        .with_limits(Limits::unlimited());
    let mut frames = Vec::new();
    loop {
        let (w, h) = dec.dimensions().map_err(corrupt)?;
        check_size(w as u64, h as u64)?;
        let color = dec.colortype().map_err(corrupt)?;
        let dpi = tiff_dpi(&mut dec);
        let data = dec.read_image().map_err(corrupt)?;
        let gray = tiff_frame_to_gray(w, h, color, data).ok_or_else(|| DecodeError::Corrupt {
            format: "TIFF",
            message: format!("unsupported sample layout {color:?}"),
        })?;
        frames.push(Frame {
            index: frames.len() as u32,
            gray,
            dpi,
        });
        if !dec.more_images() {
            break;
        }
        dec.next_image().map_err(corrupt)?;
    }
    Ok(frames)
}

fn tiff_dpi<R: std::io::Read + std::io::Seek>(dec: &mut tiff::decoder::Decoder<R>) -> Option<f32> {
    use tiff::decoder::ifd::Value;
    use tiff::tags::Tag;
    let v = dec.find_tag(Tag::XResolution).ok()??;
    let res = match v {
        Value::Rational(n, d) if d != 0 => n as f32 / d as f32,
        Value::Float(f) => f,
        Value::Short(s) => s as f32,
        Value::Unsigned(u) => u as f32,
        _ => return None,
    };
    let unit = dec.get_tag_u32(Tag::ResolutionUnit).unwrap_or(2);
    let dpi = if unit == 3 { res * 2.54 } else { res };
    (30.0..=2400.0).contains(&dpi).then_some(dpi)
}

fn tiff_frame_to_gray(
    w: u32,
    h: u32,
    color: tiff::ColorType,
    data: tiff::decoder::DecodingResult,
) -> Option<GrayImage> {
    use tiff::decoder::DecodingResult as D;
    use tiff::ColorType as C;
    let n = (w as usize) * (h as usize);
    // The decoder has already turned WhiteIsZero samples into BlackIsZero ones.
    let mut out: Vec<u8> = match (color, data) {
        (C::Gray(1), D::U8(v)) => {
            let row_bytes = (w as usize).div_ceil(8);
            let mut out = Vec::with_capacity(n);
            for y in 0..h as usize {
                let row = &v[y * row_bytes..(y + 1) * row_bytes];
                for x in 0..w as usize {
                    let bit = (row[x / 8] >> (7 - (x % 8))) & 1;
                    out.push(if bit == 1 { 255 } else { 0 });
                }
            }
            out
        }
        (C::Gray(8), D::U8(v)) => v,
        (C::Gray(16), D::U16(v)) => v.iter().map(|s| (s >> 8) as u8).collect(),
        (C::RGB(8), D::U8(v)) => v.chunks_exact(3).map(|p| luma(p[0], p[1], p[2])).collect(),
        (C::RGBA(8), D::U8(v)) => v.chunks_exact(4).map(|p| luma(p[0], p[1], p[2])).collect(),
        (C::RGB(16), D::U16(v)) => v
            .chunks_exact(3)
            .map(|p| luma((p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8))
            .collect(),
        (C::GrayA(8), D::U8(v)) => v.chunks_exact(2).map(|p| p[0]).collect(),
        _ => return None,
    };
    if out.len() < n {
        return None;
    }
    out.truncate(n);
    GrayImage::from_raw(w, h, out)
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
        let e = decode(b"%PDF-1.4 hello").unwrap_err();
        assert!(e.to_string().contains("not a supported image"), "{e}");
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
                    height: 30_000
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
