//! TIFF scans through the `tiff` crate: multi-page, 1/8/16-bit, grey or colour samples,
//! uncompressed, LZW, Deflate, PackBits or CCITT G4.

use super::*;

/// A TIFF decoder's error as a reason.
pub(super) fn tiff_error(e: tiff::TiffError) -> DecodeError {
    use tiff::TiffUnsupportedError as U;
    match e {
        tiff::TiffError::UnsupportedError(u) => DecodeError::Unsupported(match u {
            U::UnsupportedPlanarConfig(_) => "planar TIFF (each colour stored in its own plane)".into(),
            U::UnsupportedSampleFormat(f) => format!("TIFF with {f:?} samples"),
            U::UnsupportedInterpretation(i) => format!("{i:?} TIFF"),
            U::InterpretationWithBits(i, bits) => format!("{i:?} TIFF with {bits:?} bits per sample"),
            U::UnsupportedCompressionMethod(m) => format!("TIFF compressed with {m:?}"),
            other => format!("TIFF: {other}"),
        }),
        e => DecodeError::Corrupt {
            format: "TIFF",
            message: e.to_string(),
        },
    }
}

/// A TIFF decoder whose buffers are bounded: a frame of `max_pixels` (16-bit RGBA at
/// most), and tag values of a megabyte (a tag claiming billions of values is refused, not
/// allocated).
pub(super) fn tiff_decoder(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<tiff::decoder::Decoder<Cursor<&[u8]>>, DecodeError> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = usize::try_from(max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    Ok(tiff::decoder::Decoder::new(Cursor::new(bytes))
        .map_err(tiff_error)?
        .with_limits(limits))
}

/// Each frame's claims, checked against the limit and the file's size (uncompressed and
/// PackBits data hold a pixel in at least 1/130 of its bytes, LZW and Deflate in 1/1100;
/// CCITT fax coding can be far denser and is bounded by the limit alone).
pub(super) fn probe_tiff(bytes: &[u8], max_pixels: u64) -> Result<Vec<FrameInfo>, DecodeError> {
    use tiff::tags::Tag;
    let mut dec = tiff_decoder(bytes, max_pixels)?;
    let mut frames = Vec::new();
    loop {
        let (width, height) = dec.dimensions().map_err(tiff_error)?;
        let color = dec.colortype().map_err(tiff_error)?;
        let info = FrameInfo {
            width,
            height,
            channels: color.num_samples() as u8,
            dpi: tiff_dpi(&mut dec),
        };
        check_size(width as u64, height as u64, max_pixels)?;
        let bits = color.bit_depth() as f64 * color.num_samples() as f64;
        let per_byte = match dec.get_tag_u32(Tag::Compression).unwrap_or(1) {
            1 | 32773 => Some(130.0),
            5 | 8 | 32946 => Some(1100.0),
            _ => None,
        };
        if let Some(ratio) = per_byte {
            check_claim(ScanFormat::Tiff, &info, bytes.len(), ratio * 8.0 / bits.max(1.0))?;
        }
        frames.push(info);
        if !dec.more_images() {
            break;
        }
        dec.next_image().map_err(tiff_error)?;
    }
    Ok(frames)
}

pub(super) fn decode_tiff<E: From<DecodeError>>(
    bytes: &[u8],
    max_pixels: u64,
    each: &mut impl FnMut(Result<Frame, DecodeError>) -> Result<(), E>,
) -> Result<(), E> {
    let mut dec = tiff_decoder(bytes, max_pixels)?;
    let mut index = 0;
    loop {
        let frame = (|| {
            let (w, h) = dec.dimensions().map_err(tiff_error)?;
            let color = dec.colortype().map_err(tiff_error)?;
            let dpi = tiff_dpi(&mut dec);
            let data = dec.read_image().map_err(tiff_error)?;
            let gray = tiff_frame_to_gray(w, h, color, data)
                .ok_or_else(|| DecodeError::Unsupported(format!("TIFF with {color:?} samples")))?;
            Ok(Frame { index, gray, dpi })
        })();
        let failed = frame.is_err();
        each(frame)?;
        if failed || !dec.more_images() {
            return Ok(());
        }
        if let Err(e) = dec.next_image() {
            return each(Err(tiff_error(e)));
        }
        index += 1;
    }
}

pub(super) fn tiff_dpi<R: std::io::Read + std::io::Seek>(dec: &mut tiff::decoder::Decoder<R>) -> Option<f32> {
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

pub(super) fn tiff_frame_to_gray(
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
