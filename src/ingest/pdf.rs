//! Scanned PDFs: each page one embedded image, as scanners write them.
//!
//! The document's structure is parsed with its image streams' bytes dropped (each page's
//! are taken from the file's buffer, where the file's index puts them, when the page is
//! decoded, so the pages are decoded one at a time and never held all at once). A page's image is taken as it is stored: a JPEG (DCTDecode) byte for byte, a
//! CCITT fax image (wrapped in a TIFF header and decoded as one), or Flate/uncompressed
//! grey or RGB samples. Its resolution comes from the image's size over the page's. A
//! page that is not one image (text, vector drawings, several images), a JPEG 2000 or
//! JBIG2 image, or an encrypted file, is refused with that reason.

use super::{DecodeError, Frame, FrameInfo};
use image::GrayImage;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Largest decompressed structure stream (object and cross-reference streams) read.
const MAX_STRUCTURE_BYTES: usize = 64 << 20;

/// A scanned PDF's pages, ready to be taken one at a time.
pub(super) struct ScannedPdf<'a> {
    bytes: &'a [u8],
    doc: Document,
    pages: Vec<ObjectId>,
}

/// How a page's image is stored.
enum Coding {
    /// DCTDecode: a JPEG file as it is.
    Jpeg,
    /// CCITTFaxDecode with its parameters.
    Fax { k: i64, black_is_1: bool },
    /// FlateDecode (with its predictor) or no filter: raw samples.
    Samples,
}

/// The image XObject of a page and what it claims.
struct PageImage<'a> {
    /// The image's dictionary.
    dict: Dictionary,
    /// Its stored bytes, in the file.
    data: &'a [u8],
    info: FrameInfo,
    coding: Coding,
    bits: u8,
}

fn bad(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt {
        format: "PDF",
        message: message.into(),
    }
}

/// Keeps image streams' bytes out of the parsed document (they stay in the file). The
/// loader keeps the object as changed here (or, inside object streams, the one returned).
fn without_image_bytes(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(s) = object {
        if s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image".as_slice()) {
            s.content = Vec::new();
        }
    }
    Some((id, object.clone()))
}

impl<'a> ScannedPdf<'a> {
    /// Parses the document's structure.
    pub(super) fn open(bytes: &'a [u8]) -> Result<ScannedPdf<'a>, DecodeError> {
        let options = lopdf::LoadOptions {
            filter: Some(without_image_bytes),
            max_decompressed_size: Some(MAX_STRUCTURE_BYTES),
            ..Default::default()
        };
        let doc = Document::load_mem_with_options(bytes, options).map_err(|e| match e {
            lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => {
                DecodeError::Unsupported("encrypted PDF (it needs a password to open)".into())
            }
            e => bad(e.to_string()),
        })?;
        if doc.is_encrypted() {
            return Err(DecodeError::Unsupported(
                "encrypted PDF (it needs a password to open)".into(),
            ));
        }
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        if pages.is_empty() {
            return Err(bad("the document has no pages"));
        }
        Ok(ScannedPdf { bytes, doc, pages })
    }

    /// Pages in the document.
    pub(super) fn len(&self) -> usize {
        self.pages.len()
    }

    /// What page `i`'s image claims.
    pub(super) fn info(&self, i: usize) -> Result<FrameInfo, DecodeError> {
        Ok(self.image(i)?.info)
    }

    /// Page `i`'s image bytes as stored, when it is a JPEG (for a PDF page that keeps
    /// the scanner's JPEG byte for byte).
    pub(super) fn jpeg(&self, i: usize) -> Option<Vec<u8>> {
        let img = self.image(i).ok()?;
        matches!(img.coding, Coding::Jpeg).then(|| img.data.to_vec())
    }

    /// Page `i` decoded to grey.
    pub(super) fn frame(&self, i: usize) -> Result<Frame, DecodeError> {
        let img = self.image(i)?;
        let FrameInfo { width, height, .. } = img.info;
        let gray = match img.coding {
            Coding::Jpeg => image::load_from_memory_with_format(img.data, image::ImageFormat::Jpeg)
                .map_err(|e| bad(format!("page {}: its JPEG image: {e}", i + 1)))?
                .into_luma8(),
            Coding::Fax { k, black_is_1 } => {
                let tiff = fax_as_tiff(img.data, width, height, k, black_is_1);
                let mut frames =
                    super::decode(&tiff).map_err(|e| bad(format!("page {}: its fax image: {e}", i + 1)))?;
                frames.remove(0).gray
            }
            Coding::Samples => {
                let n = width as usize * height as usize;
                let limit = n * img.info.channels as usize * img.bits.max(8) as usize / 8 + height as usize;
                let data = Stream::new(img.dict.clone(), img.data.to_vec())
                    .decompressed_content_with_limit(limit + 1024)
                    .map_err(|e| bad(format!("page {}: its image data: {e}", i + 1)))?;
                samples_to_gray(&data, width, height, img.info.channels, img.bits)
                    .ok_or_else(|| bad(format!("page {}: its image holds fewer samples than its size", i + 1)))?
            }
        };
        let gray = if decode_inverted(&img.dict) {
            let mut g = gray;
            image::imageops::invert(&mut g);
            g
        } else {
            gray
        };
        Ok(Frame {
            index: i as u32,
            gray,
            dpi: img.info.dpi,
        })
    }

    /// The one image page `i` is made of, its bytes taken from the file.
    fn image(&self, i: usize) -> Result<PageImage<'a>, DecodeError> {
        let page_no = i + 1;
        let page = self
            .doc
            .get_dictionary(self.pages[i])
            .map_err(|e| bad(format!("page {page_no}: {e}")))?;
        let id = self.only_image(i, page_no)?;
        let stream = self
            .doc
            .get_object(id)
            .and_then(Object::as_stream)
            .map_err(|e| bad(format!("page {page_no}: {e}")))?;
        let dict = &stream.dict;
        let int = |key: &[u8]| dict.get_deref(key, &self.doc).and_then(Object::as_i64).ok();
        let (Some(width), Some(height)) = (int(b"Width"), int(b"Height")) else {
            return Err(bad(format!("page {page_no}: its image states no size")));
        };
        if width <= 0 || height <= 0 || width > u32::MAX as i64 || height > u32::MAX as i64 {
            return Err(bad(format!("page {page_no}: its image claims {width}×{height} pixels")));
        }
        let (width, height) = (width as u32, height as u32);
        let bits = int(b"BitsPerComponent").unwrap_or(8) as u8;
        let coding = self.coding(dict)?;
        let channels = match &coding {
            Coding::Fax { .. } => 1,
            // A colour JPEG decodes to three samples a pixel before it is made grey.
            Coding::Jpeg => self.channels(dict).unwrap_or(3),
            Coding::Samples => self.channels(dict).ok_or_else(|| {
                DecodeError::Unsupported(format!(
                    "PDF page {page_no}: an image in a colour space other than grey or RGB"
                ))
            })?,
        };
        if matches!(coding, Coding::Samples) && !matches!((channels, bits), (1, 1) | (1, 8) | (3, 8)) {
            return Err(DecodeError::Unsupported(format!(
                "PDF image with {channels} samples of {bits} bits a pixel"
            )));
        }
        // The image's bytes, from the file.
        let length = dict
            .get_deref(b"Length", &self.doc)
            .and_then(Object::as_i64)
            .map_err(|e| bad(format!("page {page_no}: its image's length: {e}")))?;
        let start = self.data_start(id).ok_or_else(|| {
            bad(format!(
                "page {page_no}: its image's data is not where the file's index says"
            ))
        })?;
        let end = start
            .checked_add(usize::try_from(length).map_err(|_| bad("negative image length"))?)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| bad(format!("page {page_no}: its image runs past the end of the file")))?;
        let data: &'a [u8] = &self.bytes[start..end];
        let dpi = self.media_width_pt(page).map(|w| (width as f32 / (w / 72.0)).round());
        Ok(PageImage {
            dict: dict.clone(),
            data,
            info: FrameInfo {
                width,
                height,
                channels,
                dpi: dpi.filter(|d| (30.0..=2400.0).contains(d)),
            },
            coding,
            bits,
        })
    }

    /// The one image XObject page `i` (numbered `page_no`) is made of: a page of drawn
    /// content, of no image or of several is no scan.
    fn only_image(&self, i: usize, page_no: usize) -> Result<ObjectId, DecodeError> {
        let not_a_scan = |what: &str| {
            DecodeError::Unsupported(format!(
                "PDF page {page_no} is not one scanned image ({what}); render it to an image first"
            ))
        };
        let mut images = Vec::new();
        let (own, inherited) = self
            .doc
            .get_page_resources(self.pages[i])
            .map_err(|e| bad(format!("page {page_no}: {e}")))?;
        let mut resources: Vec<&Dictionary> = own.into_iter().collect();
        resources.extend(inherited.iter().filter_map(|id| self.doc.get_dictionary(*id).ok()));
        for res in resources {
            let Ok(xobjects) = res.get_deref(b"XObject", &self.doc).and_then(Object::as_dict) else {
                continue;
            };
            for (_, x) in xobjects.iter() {
                let Ok(id) = x.as_reference() else { continue };
                let Ok(stream) = self.doc.get_object(id).and_then(Object::as_stream) else {
                    continue;
                };
                match stream.dict.get(b"Subtype").and_then(Object::as_name) {
                    Ok(b"Image") if !images.contains(&id) => images.push(id),
                    Ok(b"Form") => return Err(not_a_scan("it holds drawn content")),
                    _ => {}
                }
            }
        }
        match images.as_slice() {
            [id] => Ok(*id),
            [] => Err(not_a_scan("it holds no image")),
            _ => Err(not_a_scan("it holds several images")),
        }
    }

    /// How an image's samples are coded, from its filters and their parameters.
    fn coding(&self, dict: &Dictionary) -> Result<Coding, DecodeError> {
        let filters: Vec<Vec<u8>> = match dict.get_deref(b"Filter", &self.doc) {
            Ok(Object::Name(n)) => vec![n.clone()],
            Ok(Object::Array(a)) => a.iter().filter_map(|f| f.as_name().ok().map(<[u8]>::to_vec)).collect(),
            _ => Vec::new(),
        };
        let params = dict
            .get_deref(b"DecodeParms", &self.doc)
            .ok()
            .and_then(|p| match p {
                Object::Dictionary(d) => Some(d.clone()),
                Object::Array(a) => a.first().and_then(|d| d.as_dict().ok()).cloned(),
                _ => None,
            })
            .unwrap_or_default();
        Ok(match filters.iter().map(Vec::as_slice).collect::<Vec<_>>().as_slice() {
            [b"DCTDecode"] => Coding::Jpeg,
            [b"CCITTFaxDecode"] => Coding::Fax {
                k: params.get(b"K").and_then(Object::as_i64).unwrap_or(0),
                black_is_1: params.get(b"BlackIs1").and_then(Object::as_bool).unwrap_or(false),
            },
            [] | [b"FlateDecode"] => Coding::Samples,
            [b"JPXDecode"] => return Err(DecodeError::Unsupported("JPEG 2000 image in a PDF".into())),
            [b"JBIG2Decode"] => return Err(DecodeError::Unsupported("JBIG2 image in a PDF".into())),
            other => {
                let names: Vec<String> = other.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                return Err(DecodeError::Unsupported(format!(
                    "PDF image coded with {}",
                    names.join(" + ")
                )));
            }
        })
    }

    /// Where the data of stream object `id` starts in the file: after the `stream`
    /// keyword (and its end of line) that follows the object's offset in the index.
    fn data_start(&self, id: ObjectId) -> Option<usize> {
        let lopdf::xref::XrefEntry::Normal { offset, .. } = self.doc.reference_table.get(id.0)? else {
            return None;
        };
        let from = *offset as usize;
        let head = self.bytes.get(from..)?;
        let at = head.windows(6).take(1 << 20).position(|w| w == b"stream")? + 6;
        let skip = match head.get(at..at + 2)? {
            [b'\r', b'\n'] => 2,
            [b'\n', _] | [b'\r', _] => 1,
            _ => 0,
        };
        Some(from + at + skip)
    }

    /// Samples per pixel of an image's colour space: 1 grey, 3 RGB (`None`: another).
    fn channels(&self, dict: &Dictionary) -> Option<u8> {
        let cs = dict.get_deref(b"ColorSpace", &self.doc).ok()?;
        match cs {
            Object::Name(n) if n == b"DeviceGray" || n == b"CalGray" => Some(1),
            Object::Name(n) if n == b"DeviceRGB" || n == b"CalRGB" => Some(3),
            Object::Array(a) => match a.first().and_then(|o| o.as_name().ok()) {
                Some(b"ICCBased") => {
                    let id = a.get(1)?.as_reference().ok()?;
                    let n = self
                        .doc
                        .get_object(id)
                        .ok()?
                        .as_stream()
                        .ok()?
                        .dict
                        .get(b"N")
                        .ok()?
                        .as_i64()
                        .ok()?;
                    matches!(n, 1 | 3).then_some(n as u8)
                }
                Some(b"CalGray") => Some(1),
                Some(b"CalRGB") => Some(3),
                _ => None,
            },
            _ => None,
        }
    }

    /// The width of a page's MediaBox in points, looked for up its parents.
    fn media_width_pt(&self, page: &Dictionary) -> Option<f32> {
        let mut node = page.clone();
        for _ in 0..32 {
            if let Ok(b) = node.get_deref(b"MediaBox", &self.doc).and_then(Object::as_array) {
                let v: Vec<f32> = b.iter().filter_map(|o| o.as_float().ok()).collect();
                return (v.len() == 4 && (v[2] - v[0]).abs() > 1.0).then(|| (v[2] - v[0]).abs());
            }
            let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
            node = self.doc.get_dictionary(parent).ok()?.clone();
        }
        None
    }
}

/// True when an image's /Decode array inverts its samples ([1 0]).
fn decode_inverted(dict: &Dictionary) -> bool {
    dict.get(b"Decode")
        .and_then(Object::as_array)
        .is_ok_and(|a| a.first().and_then(|v| v.as_float().ok()) == Some(1.0))
}

/// Raw samples (rows padded to whole bytes) to grey.
fn samples_to_gray(data: &[u8], w: u32, h: u32, channels: u8, bits: u8) -> Option<GrayImage> {
    let (w, hh) = (w as usize, h as usize);
    let out: Vec<u8> = match (channels, bits) {
        (1, 8) => data.get(..w * hh)?.to_vec(),
        (3, 8) => data
            .get(..w * hh * 3)?
            .chunks_exact(3)
            .map(|p| super::luma(p[0], p[1], p[2]))
            .collect(),
        (1, 1) => {
            let row = w.div_ceil(8);
            let rows = data.get(..row * hh)?;
            (0..hh)
                .flat_map(|y| (0..w).map(move |x| (y, x)))
                .map(|(y, x)| {
                    if rows[y * row + x / 8] >> (7 - x % 8) & 1 == 1 {
                        255
                    } else {
                        0
                    }
                })
                .collect()
        }
        _ => return None,
    };
    GrayImage::from_raw(w as u32, h, out)
}

/// A one-strip TIFF around CCITT fax data: T.6 (Group 4) when `k` < 0, else T.4. Its
/// runs say white and black themselves; `black_is_1` only says how the PDF filter would
/// have written the samples.
fn fax_as_tiff(data: &[u8], w: u32, h: u32, k: i64, _black_is_1: bool) -> Vec<u8> {
    let compression: u16 = if k < 0 { 4 } else { 3 };
    let entries: [(u16, u16, u32); 10] = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 1),
        (259, 3, compression as u32),
        (262, 3, 0), // WhiteIsZero
        (273, 4, 0), // StripOffsets, set below
        (277, 3, 1),
        (278, 4, h),
        (279, 4, data.len() as u32),
        (292, 4, if k > 0 { 1 } else { 0 }), // T4Options: 2-D coding when K > 0
    ];
    let entries = if compression == 4 { &entries[..9] } else { &entries[..] };
    let ifd_len = 2 + entries.len() * 12 + 4;
    let data_at = (8 + ifd_len) as u32;
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes());
    t.extend((entries.len() as u16).to_le_bytes());
    for &(tag, kind, value) in entries {
        let value = if tag == 273 { data_at } else { value };
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        if kind == 3 {
            t.extend((value as u16).to_le_bytes());
            t.extend([0, 0]);
        } else {
            t.extend(value.to_le_bytes());
        }
    }
    t.extend(0u32.to_le_bytes());
    t.extend(data);
    t
}
