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
    /// Mixed raster content: the ink as a full-resolution CCITT G4 mask drawn in the
    /// page's ink tone over a 100-dpi JPEG of the paper (ink lifted out of it), so text
    /// stays as sharp as the restored page at a fraction of its size.
    Mrc,
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
            let gray = decode_restored(p, restored_jpeg)?;
            let binary = crate::restore::threshold_restored(&gray);
            Ok(PdfPage {
                image: PageImage::Group4(encode_g4(&binary)),
                width: binary.width(),
                height: binary.height(),
                dpi: p.dpi,
                words,
            })
        }
        ImageMode::Mrc => {
            let gray = decode_restored(p, restored_jpeg)?;
            Ok(PdfPage {
                image: mrc_layers(&gray, p.dpi),
                width: gray.width(),
                height: gray.height(),
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

fn decode_restored(p: &PageResult, restored_jpeg: &[u8]) -> Result<GrayImage, ArchiveError> {
    Ok(
        image::load_from_memory_with_format(restored_jpeg, image::ImageFormat::Jpeg)
            .map_err(|e| ArchiveError::Decode(format!("restored image of {}: {e}", p.name)))?
            .into_luma8(),
    )
}

/// Resolution of the paper layer of an MRC page.
const MRC_BACKGROUND_DPI: f32 = 100.0;
/// The ink of a restored page (paper is whitened to 255 there): anything clearly darker
/// than paper, so that the thin, lighter strokes of diacritics stay in the mask.
fn ink_mask(gray: &GrayImage) -> GrayImage {
    let raw = gray
        .as_raw()
        .iter()
        .map(|&v| if v < MRC_INK_BELOW { 0 } else { 255 })
        .collect();
    GrayImage::from_raw(gray.width(), gray.height(), raw).expect("same size")
}

/// [`ink_mask`] of the page enlarged `s` times (linear interpolation, as a triangle filter
/// enlarges), made a row at a time: only the mask is ever held, never the enlarged page
/// (nor a resampler's four-channel float copy of it, 16 bytes a pixel).
fn fine_ink_mask(gray: &GrayImage, s: u32) -> GrayImage {
    let (w, h) = gray.dimensions();
    let (fw, fh) = (w * s, h * s);
    // Where each enlarged column or row falls between two of the page's, and how far.
    let taps = |n: u32, len: u32| -> Vec<(usize, usize, f32)> {
        (0..n)
            .map(|i| {
                let at = (i as f32 + 0.5) / s as f32 - 0.5;
                let lo = at.floor();
                let f = at - lo;
                let clamp = |v: f32| (v.max(0.0) as usize).min(len as usize - 1);
                (clamp(lo), clamp(lo + 1.0), f)
            })
            .collect()
    };
    let (xs, ys) = (taps(fw, w), taps(fh, h));
    let raw = gray.as_raw();
    let row = |y: usize| &raw[y * w as usize..(y + 1) * w as usize];
    let mut out = Vec::with_capacity(fw as usize * fh as usize);
    let mut across = vec![(0f32, 0f32); fw as usize];
    for &(y0, y1, fy) in &ys {
        let (r0, r1) = (row(y0), row(y1));
        for (a, &(x0, x1, fx)) in across.iter_mut().zip(&xs) {
            let lerp = |r: &[u8]| (1.0 - fx) * r[x0] as f32 + fx * r[x1] as f32;
            *a = (lerp(r0), lerp(r1));
        }
        out.extend(across.iter().map(|&(a, b)| {
            let v = ((1.0 - fy) * a + fy * b).round().clamp(0.0, 255.0) as u8;
            if v < MRC_INK_BELOW {
                0
            } else {
                255
            }
        }));
    }
    GrayImage::from_raw(fw, fh, out).expect("same size")
}

/// Cells of a `w` × `h` grid with no level take the mean of their filled neighbours (4-
/// neighbourhood), ring by ring inwards from the filled cells; a grid with none filled
/// stays empty.
fn fill_holes(level: &mut [Option<u8>], w: usize, h: usize) {
    let neighbours = |i: usize| {
        let (x, y) = (i % w, i / w);
        [
            (x > 0).then(|| i - 1),
            (x + 1 < w).then(|| i + 1),
            (y > 0).then(|| i - w),
            (y + 1 < h).then(|| i + w),
        ]
        .into_iter()
        .flatten()
    };
    let mut queued = vec![false; level.len()];
    let mut ring: Vec<usize> = (0..level.len())
        .filter(|&i| level[i].is_none() && neighbours(i).any(|n| level[n].is_some()))
        .collect();
    for &i in &ring {
        queued[i] = true;
    }
    while !ring.is_empty() {
        // Means from the cells filled before this ring only.
        let means: Vec<u8> = ring
            .iter()
            .map(|&i| {
                let (s, c) = neighbours(i)
                    .filter_map(|n| level[n])
                    .fold((0u32, 0u32), |(s, c), v| (s + u32::from(v), c + 1));
                (s / c.max(1)) as u8
            })
            .collect();
        for (&i, m) in ring.iter().zip(means) {
            level[i] = Some(m);
        }
        let mut next = Vec::new();
        for &i in &ring {
            for n in neighbours(i) {
                if level[n].is_none() && !queued[n] {
                    queued[n] = true;
                    next.push(n);
                }
            }
        }
        ring = next;
    }
}

/// Grey levels below this are ink in the MRC mask.
const MRC_INK_BELOW: u8 = 200;
/// Least resolution of the ink layer of an MRC page.
const MRC_MASK_DPI: f32 = 300.0;
/// JPEG quality of the paper layer: it holds no text, only paper tone and stains.
const MRC_BACKGROUND_QUALITY: u8 = 40;

/// Splits a restored page into its mixed-raster layers: the ink (the page's black-and-white
/// form, as in `bilevel`) as a G4 mask, drawn in the median tone of the ink it covers, and
/// the paper at about 100 dpi with the ink (grown by a pixel, for the soft edges of
/// strokes) lifted out and filled from the paper around it. Marks too faint for the mask
/// stay in the paper layer, softer but kept.
pub fn mrc_layers(gray: &GrayImage, dpi: f32) -> PageImage {
    let mask = ink_mask(gray);
    // Below 300 dpi the mask is drawn finer than the page (the grey page enlarged, then
    // thresholded): a mask at the page's own 150 dpi breaks the diacritics.
    // (The G4 encoder adds two positions of a row in 16 bits: a mask stays within 32,767
    // pixels a side, so a very long strip keeps its own resolution.)
    let fits = (u32::from(u16::MAX / 2) / gray.width().max(gray.height()).max(1)).max(1);
    let s = ((MRC_MASK_DPI / dpi).round().max(1.0) as u32).min(fits);
    let up;
    let fine = if s > 1 {
        up = fine_ink_mask(gray, s);
        &up
    } else {
        &mask
    };
    let (w, h) = gray.dimensions();
    // The ink tone: median grey under the mask, kept dark enough to read.
    let mut hist = [0u64; 256];
    for (g, m) in gray.as_raw().iter().zip(mask.as_raw()) {
        if *m == 0 {
            hist[*g as usize] += 1;
        }
    }
    let total: u64 = hist.iter().sum();
    let mut seen = 0;
    let ink = hist
        .iter()
        .position(|&c| {
            seen += c;
            seen * 2 >= total.max(1)
        })
        .unwrap_or(0)
        .min(96) as u8;
    let f = (dpi / MRC_BACKGROUND_DPI).round().max(1.0) as u32;
    let (bw, bh) = (w.div_ceil(f), h.div_ceil(f));
    let mut sum = vec![0u32; (bw * bh) as usize];
    let mut count = vec![0u32; (bw * bh) as usize];
    // Paper: pixels with no ink within one pixel (the soft edges of strokes are not
    // paper), found row by row: ink within a pixel along each row, then over three rows.
    let wu = w as usize;
    let rows: Vec<&[u8]> = mask.as_raw().chunks_exact(wu.max(1)).collect();
    let along = |y: usize| -> Vec<u8> { crate::raster::smear_row(rows[y], 1) };
    let (mut above, mut here) = (vec![255u8; wu], if h > 0 { along(0) } else { Vec::new() });
    let mut near = vec![0u8; wu];
    for (y, row) in gray.as_raw().chunks_exact(wu.max(1)).enumerate() {
        let below = if y + 1 < h as usize {
            along(y + 1)
        } else {
            vec![255u8; wu]
        };
        for (((n, &a), &b), &c) in near.iter_mut().zip(&above).zip(&here).zip(&below) {
            *n = a.min(b).min(c);
        }
        let base = (y as u32 / f * bw) as usize;
        let cells = row.chunks(f as usize).zip(near.chunks(f as usize));
        for (c, (g, n)) in cells.enumerate() {
            // Paper where no ink is near (the smeared mask is 0 there).
            let (s, k) = g.iter().zip(n).fold((0u32, 0u32), |(s, k), (&g, &n)| {
                let paper = u32::from(n != 0);
                (s + u32::from(g) * paper, k + paper)
            });
            sum[base + c] += s;
            count[base + c] += k;
        }
        above = std::mem::replace(&mut here, below);
    }
    let mut level: Vec<Option<u8>> = sum
        .iter()
        .zip(&count)
        .map(|(&s, &c)| (c > 0).then(|| (s / c) as u8))
        .collect();
    fill_holes(&mut level, bw as usize, bh as usize);
    let paper =
        GrayImage::from_vec(bw, bh, level.into_iter().map(|l| l.unwrap_or(255)).collect()).expect("sized to the page");
    PageImage::Mrc {
        mask: encode_g4(fine),
        mask_size: [fine.width(), fine.height()],
        background: crate::encode::restored_jpeg(&paper, dpi / f as f32, MRC_BACKGROUND_QUALITY),
        background_size: [bw, bh],
        ink,
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
    fn the_fine_mask_is_the_enlarged_pages_mask() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        let page = GrayImage::from_fn(123, 77, |_, _| image::Luma([rng.gen_range(120..=255u8)]));
        for s in [2, 3] {
            let want = ink_mask(&image::imageops::resize(
                &page,
                page.width() * s,
                page.height() * s,
                image::imageops::Triangle,
            ));
            let got = fine_ink_mask(&page, s);
            assert_eq!(got.dimensions(), want.dimensions());
            let differ = got.as_raw().iter().zip(want.as_raw()).filter(|(a, b)| a != b).count();
            // Only where a rounding puts a value on the other side of the threshold.
            assert!(
                differ * 1000 <= got.as_raw().len(),
                "{differ} of {} pixels differ at {s}×",
                got.as_raw().len()
            );
        }
    }

    /// G4 data decoded to rows of "is black".
    fn decode_g4(data: &[u8], w: u16, h: u16) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        fax::decoder::decode_g4(data.iter().copied(), w, Some(h), |t| {
            rows.push(fax::decoder::pels(t, w).map(|c| c == fax::Color::Black).collect())
        })
        .unwrap();
        rows
    }

    #[test]
    fn paper_under_ink_is_filled_ring_by_ring() {
        let mut row = [Some(100), None, Some(200), None, None];
        fill_holes(&mut row, 5, 1);
        assert_eq!(row, [Some(100), Some(150), Some(200), Some(200), Some(200)]);
        // A 3 × 3 block of paper at 90 around one cell at 30 filled from its four sides.
        let mut grid = [
            Some(90),
            Some(90),
            Some(90),
            Some(30),
            None,
            Some(90),
            Some(90),
            Some(90),
            Some(90),
        ];
        fill_holes(&mut grid, 3, 3);
        assert_eq!(grid[4], Some(75));
        let mut ink = [None; 4];
        fill_holes(&mut ink, 2, 2);
        assert_eq!(ink, [None; 4]);
    }

    #[test]
    fn mrc_lifts_the_ink_out_of_a_smaller_paper_layer() {
        // A 300-dpi page: paper 235 with a stain (200) under it, strokes of ink (40) and a
        // faint pencil mark (215) too light for the mask.
        let img = GrayImage::from_fn(600, 300, |x, y| {
            let stain = (x as i32 - 300).pow(2) + (y as i32 - 150).pow(2) < 80 * 80;
            let ink = (100..500).contains(&x) && (y % 40 < 4 || (x % 50 < 3 && y > 50));
            let pencil = (20..80).contains(&x) && y == 250;
            image::Luma([if ink {
                40
            } else if pencil {
                215
            } else if stain {
                200
            } else {
                235
            }])
        });
        let PageImage::Mrc {
            mask,
            background,
            background_size,
            mask_size,
            ink,
        } = mrc_layers(&img, 300.0)
        else {
            panic!("not an MRC page")
        };
        assert_eq!(background_size, [200, 100], "the paper at 100 dpi");
        assert_eq!(mask_size, [600, 300], "the ink at the page's 300 dpi");
        assert!(ink <= 48, "ink tone {ink}");
        let rows = decode_g4(&mask, 600, 300);
        for (y, row) in rows.iter().enumerate() {
            for (x, &black) in row.iter().enumerate() {
                assert_eq!(black, img.get_pixel(x as u32, y as u32).0[0] < 200, "mask at ({x},{y})");
            }
        }
        let paper = image::load_from_memory(&background).unwrap().into_luma8();
        assert_eq!(paper.dimensions(), (200, 100));
        // No ink left in the paper; the stain kept (darker than clean paper).
        assert!(paper.as_raw().iter().all(|&v| v > 150), "ink left in the paper layer");
        let at = |x: u32, y: u32| i32::from(paper.get_pixel(x, y).0[0]);
        assert!(
            at(100, 50) < at(190, 5) - 15,
            "stain {} paper {}",
            at(100, 50),
            at(190, 5)
        );
        // A 150-dpi page gets a mask twice as fine as itself.
        let small = image::imageops::resize(&img, 300, 150, image::imageops::Triangle);
        let PageImage::Mrc {
            mask_size,
            background_size,
            ..
        } = mrc_layers(&small, 150.0)
        else {
            panic!("not an MRC page")
        };
        assert_eq!((mask_size, background_size), ([600, 300], [150, 75]));
    }

    #[test]
    fn g4_round_trips_through_the_decoder() {
        let img = GrayImage::from_fn(300, 120, |x, y| {
            image::Luma([if (x / 7 + y / 5) % 3 == 0 { 0 } else { 255 }])
        });
        let data = encode_g4(&img);
        let rows = decode_g4(&data, 300, 120);
        assert_eq!(rows.len(), 120);
        for (y, row) in rows.iter().enumerate() {
            for (x, &black) in row.iter().enumerate() {
                assert_eq!(black, img.get_pixel(x as u32, y as u32).0[0] == 0, "({x},{y})");
            }
        }
    }
}
