//! A page's image XObject: a JPEG passed through untouched (DCTDecode), grey or RGB
//! samples with Flate, a bilevel page as CCITT G4; each carries the SHA-256 of its stream
//! bytes under [`IMAGE_SHA_KEY`](super::IMAGE_SHA_KEY).

use super::{deflate, PageImage, PdfError, PdfPage, IMAGE_SHA_KEY};
use pdf_writer::{Filter, Finish, Name, Pdf, Ref, Str};

/// Checks that raw samples match the page's stated size; `page` is 1-based.
pub(super) fn check_size(page: &PdfPage, number: usize) -> Result<(), PdfError> {
    let expected = match &page.image {
        PageImage::Gray(v) => Some((v.len(), 1)),
        PageImage::Rgb(v) => Some((v.len(), 3)),
        _ => None,
    };
    match expected {
        Some((len, comps)) if len != (page.width * page.height) as usize * comps => Err(PdfError::BadImage {
            page: number,
            width: page.width,
            height: page.height,
        }),
        _ => Ok(()),
    }
}

/// Writes the page's image as XObject `id`.
pub(super) fn write_image(pdf: &mut Pdf, id: Ref, page: &PdfPage) {
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
    let mut img = pdf.image_xobject(id, &stored);
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
/// [`deflate`](super::deflate)); decoders stop at their end marker and ignore it.
fn no_trailing_cr(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if data.last() == Some(&b'\r') {
        let mut padded = data.to_vec();
        padded.push(0);
        padded.into()
    } else {
        data.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_image_data_ends_in_a_carriage_return() {
        let mut hits = 0;
        for i in 0u32..4000 {
            let data = i.to_le_bytes().repeat(50);
            if deflate(&data).last() != Some(&b'\r') {
                continue;
            }
            hits += 1;
            assert_ne!(super::super::deflate_content(&data).last(), Some(&b'\r'));
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
}
