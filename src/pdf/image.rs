//! A page's image XObject: a JPEG passed through untouched (DCTDecode), grey or RGB
//! samples with Flate, a bilevel page as CCITT G4; each carries the SHA-256 of its stream
//! bytes under [`IMAGE_SHA_KEY`](super::IMAGE_SHA_KEY). An MRC page has two: its paper
//! as a JPEG and its ink as a G4 stencil mask.

use super::page::PageRefs;
use super::{deflate, PageImage, PdfError, PdfPage, Sink, IMAGE_SHA_KEY};
use pdf_writer::{Filter, Finish, Name, Ref, Str};
use std::io::Write;

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

/// How one image XObject's samples are stored.
enum Stored<'a> {
    Jpeg { data: &'a [u8], components: u8 },
    Flate { data: Vec<u8>, colors: i32, png_rows: bool },
    Group4 { data: &'a [u8], stencil: bool },
}

/// Writes the page's image XObject(s): the image, or an MRC page's paper and ink mask.
pub(super) fn write_image<W: Write>(sink: &mut Sink<W>, own: &PageRefs, page: &PdfPage) {
    let (w, h) = (page.width, page.height);
    match &page.image {
        PageImage::Jpeg { data, components } => write_xobject(
            sink,
            own.image,
            [w, h],
            Stored::Jpeg {
                data,
                components: *components,
            },
        ),
        PageImage::Gray(v) | PageImage::Rgb(v) => {
            let colors = if matches!(page.image, PageImage::Rgb(_)) { 3 } else { 1 };
            let (data, rows) = deflate_image(v, w as usize * colors, colors);
            let stored = Stored::Flate {
                data,
                colors: colors as i32,
                png_rows: rows.is_some(),
            };
            write_xobject(sink, own.image, [w, h], stored)
        }
        PageImage::Group4(data) => write_xobject(sink, own.image, [w, h], Stored::Group4 { data, stencil: false }),
        PageImage::Mrc {
            mask,
            background,
            background_size,
            mask_size,
            ..
        } => {
            let paper = Stored::Jpeg {
                data: background,
                components: 1,
            };
            write_xobject(sink, own.image, *background_size, paper);
            let ink = Stored::Group4 {
                data: mask,
                stencil: true,
            };
            write_xobject(sink, own.mask.expect("an MRC page has a mask"), *mask_size, ink);
        }
    }
}

/// Writes one image XObject with the SHA-256 of its stream bytes.
fn write_xobject<W: Write>(sink: &mut Sink<W>, id: Ref, [w, h]: [u32; 2], stored: Stored) {
    let bytes: std::borrow::Cow<[u8]> = match &stored {
        Stored::Jpeg { data, .. } | Stored::Group4 { data, .. } => no_trailing_cr(data),
        Stored::Flate { data, .. } => data.as_slice().into(),
    };
    let sha = crate::ingest::sha256_hex(&bytes);
    let mut img = sink.next().image_xobject(id, &bytes);
    img.width(w as i32).height(h as i32);
    img.pair(Name(IMAGE_SHA_KEY), Str(sha.as_bytes()));
    match stored {
        Stored::Jpeg { components, .. } => {
            img.bits_per_component(8);
            if components == 3 {
                img.color_space().device_rgb();
            } else {
                img.color_space().device_gray();
            }
            img.filter(Filter::DctDecode);
        }
        Stored::Flate { colors, png_rows, .. } => {
            img.bits_per_component(8);
            if colors == 3 {
                img.color_space().device_rgb();
            } else {
                img.color_space().device_gray();
            }
            img.filter(Filter::FlateDecode);
            if png_rows {
                img.decode_parms()
                    .pair(Name(b"Predictor"), 10)
                    .pair(Name(b"Colors"), colors)
                    .pair(Name(b"BitsPerComponent"), 8)
                    .pair(Name(b"Columns"), w as i32);
            }
        }
        Stored::Group4 { stencil, .. } => {
            if stencil {
                // A stencil mask: ink (0) painted in the fill colour, paper left as is.
                img.image_mask(true);
            } else {
                img.bits_per_component(1);
                img.color_space().device_gray();
            }
            img.filter(Filter::CcittFaxDecode);
            img.decode_parms()
                .pair(Name(b"K"), -1)
                .pair(Name(b"Columns"), w as i32)
                .pair(Name(b"Rows"), h as i32)
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
