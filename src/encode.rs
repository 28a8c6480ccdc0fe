//! Encoding page images for storage: the restored page as a grey JPEG (what the PDFs and
//! the review screen show), and PNG, JPEG or TIFF files that state their resolution.
//!
//! The counterpart of [`crate::ingest`]'s decoding. Pure functions of pixels.

use image::GrayImage;

/// Grey baseline JPEG with optimized Huffman tables, its resolution in the header.
/// (Progressive coding was measured on restored 300-dpi pages: about 10% larger, a third
/// slower to write and three times slower to read back.)
pub fn restored_jpeg(img: &GrayImage, dpi: f32, quality: u8) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut buf, quality.clamp(1, 100));
    enc.set_optimized_huffman_tables(true);
    let d = dpi.round() as u16;
    enc.set_density(jpeg_encoder::Density::Inch { x: d, y: d });
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Luma,
    )
    .expect("encoding to memory");
    buf
}

/// Encodes a grey page by the file name's extension — PNG (best compression), JPEG
/// (quality 80) or TIFF (Deflate) — with its resolution stated in the file when given.
pub fn page_file(img: &GrayImage, file: &str, dpi: Option<f32>) -> Vec<u8> {
    let lower = file.to_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        let mut buf = Vec::new();
        let mut e = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 80);
        if let Some(dpi) = dpi {
            e.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(dpi as u16));
        }
        e.encode_image(img).expect("encode to memory");
        buf
    } else if lower.ends_with(".tif") || lower.ends_with(".tiff") {
        tiff(img, dpi)
    } else {
        png(img, dpi)
    }
}

/// A grey PNG (best compression); with a pHYs chunk when `dpi` is given.
pub fn png(img: &GrayImage, dpi: Option<f32>) -> Vec<u8> {
    let mut buf = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut buf,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    image::ImageEncoder::write_image(
        enc,
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    )
    .expect("encode to memory");
    match dpi {
        Some(dpi) => with_png_dpi(buf, dpi),
        None => buf,
    }
}

/// A grey TIFF compressed with Deflate, its resolution in inches.
fn tiff(img: &GrayImage, dpi: Option<f32>) -> Vec<u8> {
    use tiff::encoder::{colortype, Compression, DeflateLevel, Rational, TiffEncoder};
    let mut buf = Vec::new();
    let mut cur = std::io::Cursor::new(&mut buf);
    let mut enc = TiffEncoder::new(&mut cur)
        .expect("tiff to memory")
        .with_compression(Compression::Deflate(DeflateLevel::Best));
    let mut im = enc
        .new_image::<colortype::Gray8>(img.width(), img.height())
        .expect("tiff image");
    if let Some(dpi) = dpi {
        im.resolution(tiff::tags::ResolutionUnit::Inch, Rational { n: dpi as u32, d: 1 });
    }
    im.write_data(img.as_raw()).expect("tiff data");
    buf
}

/// Inserts a pHYs chunk after IHDR.
fn with_png_dpi(png: Vec<u8>, dpi: f32) -> Vec<u8> {
    let ppm = (dpi / 0.0254).round() as u32;
    let mut data = Vec::new();
    data.extend(ppm.to_be_bytes());
    data.extend(ppm.to_be_bytes());
    data.push(1);
    let mut chunk = Vec::new();
    chunk.extend((data.len() as u32).to_be_bytes());
    let mut body = b"pHYs".to_vec();
    body.extend(&data);
    chunk.extend(&body);
    let mut crc = flate2::Crc::new();
    crc.update(&body);
    chunk.extend(crc.sum().to_be_bytes());
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut out = png[..ihdr_end].to_vec();
    out.extend(chunk);
    out.extend(&png[ihdr_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_states_its_resolution() {
        let img = GrayImage::from_fn(40, 30, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
        for file in ["p.png", "p.jpg", "p.tif"] {
            let frames = crate::ingest::decode(&page_file(&img, file, Some(200.0))).unwrap();
            assert_eq!(frames[0].gray.dimensions(), (40, 30), "{file}");
            assert_eq!(frames[0].dpi, Some(200.0), "{file}");
        }
        let frames = crate::ingest::decode(&restored_jpeg(&img, 150.0, 60)).unwrap();
        assert_eq!(frames[0].dpi, Some(150.0));
        assert_eq!(crate::ingest::decode(&png(&img, None)).unwrap()[0].dpi, None);
    }
}
