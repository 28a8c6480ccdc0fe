//! Writes a corpus of files built to cost memory out of proportion to their size, beside
//! one ordinary page, for `scripts/bench-bombs`:
//!   cargo run --release --example bombs -- OUT_FOLDER
//! - `jpeg-huge.jpg`: 335 bytes whose header claims 30000×30000 pixels (over the limit);
//! - `jpeg-claim.jpg`: 335 bytes claiming 10000×10000 (under the limit, but no JPEG that
//!   small holds so many pixels);
//! - `tiff-claim.tif`: an uncompressed TIFF header claiming 12000×12000 with no data;
//! - `png-deflate.png`: a real 12000×12000 grey PNG of about 150 KB (deflate at its best
//!   ratio): decodable, but reading it would take about 1.4 GB;
//! - `png-a.png`, `png-b.png`: real 7000×7000 pages (49 Mpx, about 470 MB to read each):
//!   read one after the other, never both at once;
//! - `tiff-frames.tif`: 8 frames of 5000×7000 in one Deflate TIFF of a few hundred KB:
//!   decoded one frame at a time;
//! - `png-white-150.png`: a white 7800×7800 page that states 150 dpi (about 75 KB): read
//!   at its own resolution, not eligible, and its archival page (MRC, its ink mask at
//!   300 dpi: 15600×15600) written all the same.

use std::io::Write;
use std::path::Path;

fn main() {
    let out = std::env::args().nth(1).expect("usage: bombs OUT_FOLDER");
    let out = Path::new(&out);
    std::fs::create_dir_all(out).expect("output folder");
    let write = |name: &str, bytes: &[u8]| std::fs::write(out.join(name), bytes).expect("write");

    let tiny = {
        let img = image::GrayImage::from_pixel(16, 16, image::Luma([200]));
        let mut b = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Jpeg)
            .expect("jpeg");
        b
    };
    write("jpeg-huge.jpg", &jpeg_claiming(&tiny, 30_000, 30_000));
    write("jpeg-claim.jpg", &jpeg_claiming(&tiny, 10_000, 10_000));
    write("tiff-claim.tif", &tiff_header_claiming(12_000, 12_000));
    write("png-deflate.png", &blank_png(12_000, 12_000));
    write("png-a.png", &page_png(7000, 7000));
    write("png-b.png", &page_png(7000, 7000));
    write("tiff-frames.tif", &blank_tiff_frames(5000, 7000, 8));
    write("png-white-150.png", &with_dpi(&blank_png(7800, 7800), 150));
}

/// The PNG with a `pHYs` chunk stating `dpi` (after its 33 bytes of signature and header).
fn with_dpi(png: &[u8], dpi: u32) -> Vec<u8> {
    let per_metre = ((dpi as f64) / 0.0254).round() as u32;
    let mut data = per_metre.to_be_bytes().to_vec();
    data.extend(per_metre.to_be_bytes());
    data.push(1);
    let mut out = png[..33].to_vec();
    out.extend(chunk(b"pHYs", &data));
    out.extend(&png[33..]);
    out
}

/// A JPEG whose start-of-frame header is changed to claim `w`×`h`.
fn jpeg_claiming(jpeg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut j = jpeg.to_vec();
    let sof = j.windows(2).position(|p| p == [0xFF, 0xC0]).expect("baseline JPEG");
    j[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    j
}

/// A little-endian TIFF with one grey 8-bit uncompressed frame claiming `w`×`h`, its
/// strip pointing at 8 bytes.
fn tiff_header_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes());
    let entries: [(u16, u16, u32); 8] = [
        (256, 4, w),   // ImageWidth
        (257, 4, h),   // ImageLength
        (258, 3, 8),   // BitsPerSample
        (259, 3, 1),   // Compression: none
        (262, 3, 1),   // BlackIsZero
        (273, 4, 200), // StripOffsets
        (278, 4, h),   // RowsPerStrip
        (279, 4, 8),   // StripByteCounts
    ];
    t.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
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
    t.resize(208, 0);
    t
}

/// A white grey PNG, compressed row by row at the best level.
fn blank_png(w: u32, h: u32) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mut row = vec![255u8; w as usize + 1];
    row[0] = 0;
    for _ in 0..h {
        z.write_all(&row).expect("deflate");
    }
    png_from_idat(w, h, &z.finish().expect("deflate"))
}

/// A grey PNG page with ruled lines, so that it is read as a page.
fn page_png(w: u32, h: u32) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    for y in 0..h {
        let mut row = vec![235u8; w as usize + 1];
        row[0] = 0;
        if y % 200 < 4 {
            row[1..].iter_mut().for_each(|p| *p = 30);
        }
        z.write_all(&row).expect("deflate");
    }
    png_from_idat(w, h, &z.finish().expect("deflate"))
}

/// A PNG chunk: length, kind, data and CRC.
fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend(kind);
    c.extend(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    c.extend(crc.sum().to_be_bytes());
    c
}

fn png_from_idat(w: u32, h: u32, idat: &[u8]) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// `frames` white grey frames of `w`×`h` in one Deflate-compressed TIFF.
fn blank_tiff_frames(w: u32, h: u32, frames: usize) -> Vec<u8> {
    use tiff::encoder::{colortype::Gray8, Compression, DeflateLevel, TiffEncoder};
    let mut buf = std::io::Cursor::new(Vec::new());
    let pixels = vec![255u8; (w * h) as usize];
    {
        let mut enc = TiffEncoder::new(&mut buf)
            .expect("tiff")
            .with_compression(Compression::Deflate(DeflateLevel::Best));
        for _ in 0..frames {
            enc.write_image::<Gray8>(w, h, &pixels).expect("tiff frame");
        }
    }
    buf.into_inner()
}
