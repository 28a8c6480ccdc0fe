//! Stage 6b: what goes into the archival PDFs — the page image in the mode asked for, the
//! text layer placed on it, record file names, and the zip bundle of record PDFs.
//!
//! Pure functions of bytes and page results; `batch` reads and writes the files.

use crate::ingest::{self, ScanFormat};
use crate::model::{PageResult, PageStatus, RecordResult};
use crate::pdf::{PageImage, PdfPage, PlacedWord};
use image::GrayImage;

/// How page images are stored in the PDFs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageMode {
    /// The scan untouched: a JPEG byte for byte, a bilevel scan as CCITT G4 (lossless),
    /// anything else losslessly with Flate.
    Original,
    /// The deskewed, flattened grey page as JPEG.
    Enhanced,
    /// The black-and-white page as CCITT G4.
    Bilevel,
}

/// Why a page could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// An image could not be decoded.
    #[error("{0}")]
    Decode(String),
}

/// The page as it goes into a PDF. `restored_jpeg` is the page's stored restored image;
/// `source` the original file's bytes (needed for `original` mode).
pub fn pdf_page(
    p: &PageResult,
    mode: ImageMode,
    restored_jpeg: &[u8],
    source: Option<&[u8]>,
) -> Result<PdfPage, ArchiveError> {
    let words: Vec<PlacedWord> = if p.status.was_read() {
        p.words.iter().map(PlacedWord::upright).collect()
    } else {
        // What was read on a page judged unreadable is noise: keep it out of search.
        Vec::new()
    };
    match mode {
        ImageMode::Enhanced => Ok(PdfPage {
            image: PageImage::Jpeg {
                data: restored_jpeg.to_vec(),
                components: 1,
            },
            width: p.size[0],
            height: p.size[1],
            dpi: p.dpi,
            words,
        }),
        ImageMode::Bilevel => {
            let gray = image::load_from_memory_with_format(restored_jpeg, image::ImageFormat::Jpeg)
                .map_err(|e| ArchiveError::Decode(format!("restored image of {}: {e}", p.name)))?
                .into_luma8();
            let binary = crate::restore::threshold_restored(&gray);
            Ok(PdfPage {
                image: PageImage::Group4(encode_g4(&binary)),
                width: binary.width(),
                height: binary.height(),
                dpi: p.dpi,
                words,
            })
        }
        ImageMode::Original => {
            let source =
                source.ok_or_else(|| ArchiveError::Decode(format!("source of {} is not available", p.name)))?;
            original_page(p, source, words)
        }
    }
}

fn original_page(p: &PageResult, source: &[u8], words: Vec<PlacedWord>) -> Result<PdfPage, ArchiveError> {
    let src_dpi = if p.source_dpi > 0.0 { p.source_dpi } else { p.dpi };
    let [sw, sh] = p.source_size;
    let words = words.iter().map(|w| onto_source(w, p)).collect();
    let err = |e: String| ArchiveError::Decode(format!("{}: {e}", p.source));
    let image = match ScanFormat::sniff(source) {
        Some(ScanFormat::Jpeg) => match jpeg_components(source) {
            Some(c @ (1 | 3)) => PageImage::Jpeg {
                data: source.to_vec(),
                components: c,
            },
            _ => {
                let img = image::load_from_memory(source).map_err(|e| err(e.to_string()))?;
                PageImage::Rgb(img.into_rgb8().into_raw())
            }
        },
        Some(ScanFormat::Png) => {
            let img = image::load_from_memory(source).map_err(|e| err(e.to_string()))?;
            if img.color().has_color() {
                PageImage::Rgb(img.into_rgb8().into_raw())
            } else {
                PageImage::Gray(img.into_luma8().into_raw())
            }
        }
        Some(ScanFormat::Pdf) if let Some(data) = ingest::pdf_page_jpeg(source, p.frame) => PageImage::Jpeg {
            components: jpeg_components(&data).filter(|c| matches!(c, 1 | 3)).unwrap_or(1),
            data,
        },
        Some(ScanFormat::Tiff | ScanFormat::Pdf) => {
            let f = ingest::decode_frame(source, p.frame).map_err(|e| err(e.to_string()))?;
            let bilevel = f.gray.as_raw().iter().all(|&v| v == 0 || v == 255);
            if bilevel {
                PageImage::Group4(encode_g4(&f.gray))
            } else {
                PageImage::Gray(f.gray.into_raw())
            }
        }
        None => return Err(err("not an image".into())),
    };
    Ok(PdfPage {
        image,
        width: sw,
        height: sh,
        dpi: src_dpi,
        words,
    })
}

/// Number of colour components of a JPEG (from its frame header).
fn jpeg_components(data: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 9 < data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            return data.get(i + 9).copied();
        }
        i += 2 + len;
    }
    None
}

/// Moves a word placed on the restored page onto the source scan: undo the deskew
/// rotation (and the reduction of very fine scans).
fn onto_source(w: &PlacedWord, p: &PageResult) -> PlacedWord {
    let [sw, sh] = p.source_size;
    let k = if p.source_dpi > 0.0 && p.dpi > 0.0 {
        (p.source_dpi / p.dpi).round().max(1.0)
    } else {
        1.0
    };
    let (dw, dh) = ((sw as f32 / k).floor(), (sh as f32 / k).floor());
    let [nw, nh] = [p.size[0] as f32, p.size[1] as f32];
    let rotated = p.skew_deg.abs() >= 0.05;
    let (s, c) = if rotated {
        p.skew_deg.to_radians().sin_cos()
    } else {
        (0.0, 1.0)
    };
    let (dx, dy) = (w.x - nw / 2.0, w.y - nh / 2.0);
    let (sx, sy) = (dw / 2.0 + dx * c + dy * s, dh / 2.0 - dx * s + dy * c);
    PlacedWord {
        text: w.text.clone(),
        x: sx * k,
        y: sy * k,
        width: w.width * k,
        height: w.height * k,
        angle_deg: if rotated { p.skew_deg } else { 0.0 },
    }
}

/// Encodes a black-and-white image (ink 0) as CCITT Group 4.
pub fn encode_g4(binary: &GrayImage) -> Vec<u8> {
    use fax::{encoder::Encoder, Color, VecWriter};
    let (w, _) = binary.dimensions();
    let mut enc = Encoder::new(VecWriter::new());
    for row in binary.as_raw().chunks(w as usize) {
        let pels = row.iter().map(|&v| if v < 128 { Color::Black } else { Color::White });
        enc.encode_line(pels, w as u16).expect("writing to memory");
    }
    enc.finish().expect("writing to memory").finish()
}

/// The file name of a record's PDF: `<TYPE>.<book year>.<book no>.<yyyy-mm-dd>.<so>.pdf`
/// (e.g. `KS.1983.01.1983-02-04.55.pdf`).
pub fn record_file_name(book_type: &str, book_year: &str, book_number: &str, rec: &RecordResult) -> String {
    let date = rec
        .fields
        .get("ngayDangKy")
        .and_then(|f| crate::fields::parse_date(f.final_value()))
        .and_then(|d| Some(format!("{:04}-{:02}-{:02}", d.year, d.month?, d.day?)))
        .unwrap_or_else(|| "0000-00-00".to_string());
    let so = rec
        .fields
        .get("so")
        .map(|f| {
            f.final_value()
                .split('/')
                .next()
                .unwrap_or("")
                .trim_start_matches('0')
                .to_string()
        })
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| "x".to_string());
    ingest::sanitize_name(&format!(
        "{}.{book_year}.{book_number}.{date}.{so}.pdf",
        book_type.to_uppercase()
    ))
}

/// The book's year: the registration year most of its records share.
pub fn book_year(pages: &[PageResult]) -> Option<u32> {
    crate::fields::page_year(
        pages
            .iter()
            .filter(|p| p.final_status() == PageStatus::Ok)
            .flat_map(|p| &p.records),
    )
}

/// A zip (stored, no compression: PDFs are compressed already) of named files.
pub fn zip_files<W: std::io::Write + std::io::Seek>(
    out: W,
    files: &[(String, std::path::PathBuf)],
) -> std::io::Result<W> {
    let mut z = zip::ZipWriter::new(out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, path) in files {
        z.start_file(name.as_str(), opts).map_err(std::io::Error::other)?;
        // One file in memory at a time: a book's records may be thousands of pages.
        std::io::copy(&mut std::fs::File::open(path)?, &mut z)?;
    }
    z.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g4_round_trips_through_the_decoder() {
        let img = GrayImage::from_fn(300, 120, |x, y| {
            image::Luma([if (x / 7 + y / 5) % 3 == 0 { 0 } else { 255 }])
        });
        let data = encode_g4(&img);
        let mut rows = Vec::new();
        fax::decoder::decode_g4(data.iter().copied(), 300, Some(120), |t| {
            rows.push(
                fax::decoder::pels(t, 300)
                    .map(|c| c == fax::Color::Black)
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap();
        assert_eq!(rows.len(), 120);
        for (y, row) in rows.iter().enumerate() {
            for (x, &black) in row.iter().enumerate() {
                assert_eq!(black, img.get_pixel(x as u32, y as u32).0[0] == 0, "({x},{y})");
            }
        }
    }
}
