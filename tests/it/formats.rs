//! Every scan encoding the batch accepts, read end to end.

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// A minimal uncompressed 1-bit TIFF, WhiteIsZero (as fax and most bilevel scans are).
fn bilevel_tiff(img: &image::GrayImage, dpi: u32) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let row = w.div_ceil(8) as usize;
    let mut data = vec![0u8; row * h as usize];
    for (x, y, p) in img.enumerate_pixels() {
        if p.0[0] < 128 {
            data[y as usize * row + x as usize / 8] |= 0x80 >> (x % 8);
        }
    }
    let entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 1),
        (259, 3, 1, 1),
        (262, 3, 1, 0),
        (273, 4, 1, 0), // strip offset, patched below
        (277, 3, 1, 1),
        (278, 4, 1, h),
        (279, 4, 1, data.len() as u32),
        (282, 5, 1, 0), // x resolution, patched
        (283, 5, 1, 0), // y resolution, patched
        (296, 3, 1, 2),
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let res_at = 8 + ifd_len as u32;
    let data_at = res_at + 8;
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, ty, count, value) in entries {
        let value = match tag {
            273 => data_at,
            282 | 283 => res_at,
            _ => value,
        };
        out.extend(tag.to_le_bytes());
        out.extend(ty.to_le_bytes());
        out.extend(count.to_le_bytes());
        if ty == 3 {
            out.extend((value as u16).to_le_bytes());
            out.extend([0, 0]);
        } else {
            out.extend(value.to_le_bytes());
        }
    }
    out.extend(0u32.to_le_bytes());
    out.extend(dpi.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    out.extend(data);
    out
}

#[test]
fn scans_in_every_supported_encoding_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("in").join("formats");
    std::fs::create_dir_all(&book).unwrap();
    let src = samples().join("books/ks-1983/trang-1.png");
    let gray = image::open(&src).unwrap().into_luma8();

    // 1-bit uncompressed, then CCITT G4 and a two-page G4 file made by libtiff's tiffcp.
    let bilevel = book.join("a-bilevel.tif");
    std::fs::write(&bilevel, bilevel_tiff(&gray, 150)).unwrap();
    let tiffcp = |args: &[&Path], out: &Path| {
        let st = Command::new("tiffcp")
            .args(["-c", "g4"])
            .args(args)
            .arg(out)
            .status()
            .expect("tiffcp (libtiff-tools) is installed");
        assert!(st.success());
    };
    tiffcp(&[&bilevel], &book.join("b-g4.tif"));
    tiffcp(&[&bilevel, &bilevel], &book.join("c-g4-two-pages.tif"));
    // 16-bit grey with LZW.
    {
        use tiff::encoder::{colortype, Compression, TiffEncoder};
        let mut f = std::fs::File::create(book.join("d-16bit-lzw.tif")).unwrap();
        let mut enc = TiffEncoder::new(&mut f).unwrap().with_compression(Compression::Lzw);
        let wide: Vec<u16> = gray.as_raw().iter().map(|&v| v as u16 * 257).collect();
        let mut im = enc.new_image::<colortype::Gray16>(gray.width(), gray.height()).unwrap();
        im.resolution(
            tiff::tags::ResolutionUnit::Inch,
            tiff::encoder::Rational { n: 150, d: 1 },
        );
        im.write_data(&wide).unwrap();
    }
    // Colour JPEG (a phone photo is RGB).
    let rgb = image::DynamicImage::ImageLuma8(gray.clone()).into_rgb8();
    rgb.save(book.join("e-colour.jpg")).unwrap();

    let out = tmp.path().join("out");
    process_into(&tmp.path().join("in"), &out, &["--dpi", "150"], &[]);
    let pages = out.join("formats").join("pages");
    let names = [
        "a-bilevel",
        "b-g4",
        "c-g4-two-pages",
        "c-g4-two-pages-p2",
        "d-16bit-lzw",
        "e-colour",
    ];
    for (i, name) in names.iter().enumerate() {
        let p = read_json(&pages.join(format!("{name}.json")));
        assert_eq!(p["status"], "ok", "{name}: {}", p["reasons"]);
        assert_eq!(p["page"], i + 1, "{name}");
        assert_eq!(p["records"].as_array().unwrap().len(), 10, "{name}");
        assert!(
            (p["skew_deg"].as_f64().unwrap() - 0.8).abs() <= 0.15,
            "{name}: {}",
            p["skew_deg"]
        );
        let first = &p["records"][0]["fields"];
        assert_eq!(first["nksQuocTich"]["value"], "Việt Nam", "{name}");
    }
    let two = read_json(&pages.join("c-g4-two-pages-p2.json"));
    assert_eq!(two["frame"], 1);
    assert_eq!(two["frames"], 2);
}
