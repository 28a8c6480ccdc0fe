//! A glyph-less TrueType font for the invisible text layer.
//!
//! Every character is drawn with glyph 1, an empty-looking box half an em wide that is
//! never painted (text render mode 3). Embedding a real (if tiny) font program keeps the
//! file PDF/A-conformant; the ToUnicode map carries the text itself. The font is
//! addressed by Unicode code point (Identity-H, one CID per UTF-16 code unit).

use super::{deflate, Sink};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Filter, Name, Rect, Ref, Str};
use std::io::Write;

/// The font's objects.
pub(super) struct FontRefs {
    /// The Type 0 font pages refer to.
    pub type0: Ref,
    /// Its descendant CID font.
    pub cid: Ref,
    /// The font descriptor.
    pub descriptor: Ref,
    /// The embedded font program.
    pub file: Ref,
    /// The ToUnicode CMap.
    pub to_unicode: Ref,
    /// The CID-to-glyph map.
    pub cid_map: Ref,
}

/// Writes the font's objects.
pub(super) fn write_font<W: Write>(sink: &mut Sink<W>, refs: &FontRefs) {
    let ttf = glyphless_ttf();
    sink.next()
        .type0_font(refs.type0)
        .base_font(Name(b"GlyphLessFont"))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(refs.cid)
        .to_unicode(refs.to_unicode);
    sink.next()
        .cid_font(refs.cid)
        .subtype(CidFontType::Type2)
        .base_font(Name(b"GlyphLessFont"))
        .system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .font_descriptor(refs.descriptor)
        .default_width(ADVANCE as f32)
        .cid_to_gid_map_stream(refs.cid_map);
    sink.next()
        .font_descriptor(refs.descriptor)
        .name(Name(b"GlyphLessFont"))
        .flags(FontFlags::SYMBOLIC | FontFlags::FIXED_PITCH)
        .bbox(Rect::new(0.0, 0.0, ADVANCE as f32, UNITS_PER_EM as f32))
        .italic_angle(0.0)
        .ascent(UNITS_PER_EM as f32)
        .descent(0.0)
        .cap_height(UNITS_PER_EM as f32)
        .stem_v(80.0)
        .font_file2(refs.file);
    let ttf_z = deflate(&ttf);
    sink.next()
        .stream(refs.file, &ttf_z)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), ttf.len() as i32);
    let cmap = deflate(to_unicode_cmap().as_bytes());
    sink.next().stream(refs.to_unicode, &cmap).filter(Filter::FlateDecode);
    // Every CID (= UTF-16 code unit) shows glyph 1.
    let cidmap: Vec<u8> = std::iter::repeat_n([0u8, 1u8], 65536).flatten().collect();
    let cidmap_z = deflate(&cidmap);
    sink.next().stream(refs.cid_map, &cidmap_z).filter(Filter::FlateDecode);
}

/// ToUnicode CMap for Identity-H codes that are UTF-16 code units (BMP, no surrogates).
fn to_unicode_cmap() -> String {
    let mut ranges = Vec::new();
    for hi in 0u32..=0xFF {
        if (0xD8..=0xDF).contains(&hi) {
            continue;
        }
        let lo = if hi == 0 { 0x20 } else { 0x00 };
        let top = if hi == 0xFF { 0xFD } else { 0xFF };
        ranges.push(format!("<{hi:02X}{lo:02X}> <{hi:02X}{top:02X}> <{hi:02X}{lo:02X}>"));
    }
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in ranges.chunks(100) {
        s.push_str(&format!("{} beginbfrange\n", chunk.len()));
        for r in chunk {
            s.push_str(r);
            s.push('\n');
        }
        s.push_str("endbfrange\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

/// Font units per em.
pub const UNITS_PER_EM: u16 = 1000;
/// Advance width of every glyph, in font units.
pub const ADVANCE: u16 = 500;

/// Builds the font program (about 600 bytes).
pub fn glyphless_ttf() -> Vec<u8> {
    let tables: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"OS/2", os2()),
        (*b"cmap", cmap()),
        (*b"glyf", glyf()),
        (*b"head", head()),
        (*b"hhea", hhea()),
        (*b"hmtx", hmtx()),
        (*b"loca", loca()),
        (*b"maxp", maxp()),
        (*b"name", name()),
        (*b"post", post()),
    ];
    let n = tables.len() as u16;
    let mut out = Vec::new();
    out.extend(0x0001_0000u32.to_be_bytes());
    out.extend(n.to_be_bytes());
    let entry_selector = 15 - n.leading_zeros() as u16; // floor(log2 n)
    let search_range = 16 * (1u16 << entry_selector);
    out.extend(search_range.to_be_bytes());
    out.extend(entry_selector.to_be_bytes());
    out.extend((n * 16 - search_range).to_be_bytes());
    let mut offset = 12 + 16 * n as u32;
    let mut body = Vec::new();
    let mut head_at = 0;
    for (tag, data) in &tables {
        out.extend(tag);
        out.extend(checksum(data).to_be_bytes());
        out.extend(offset.to_be_bytes());
        out.extend((data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = offset as usize;
        }
        let mut padded = data.clone();
        padded.resize(data.len().div_ceil(4) * 4, 0);
        offset += padded.len() as u32;
        body.extend(padded);
    }
    out.extend(body);
    let adj = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    out[head_at + 8..head_at + 12].copy_from_slice(&adj.to_be_bytes());
    out
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |acc, c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        acc.wrapping_add(u32::from_be_bytes(w))
    })
}

fn be(words: &[i32], sizes: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for (w, s) in words.iter().zip(sizes) {
        match s {
            2 => v.extend((*w as u16).to_be_bytes()),
            4 => v.extend((*w as u32).to_be_bytes()),
            8 => v.extend((*w as i64).to_be_bytes()),
            _ => unreachable!(),
        }
    }
    v
}

fn head() -> Vec<u8> {
    let a = ADVANCE as i32;
    let u = UNITS_PER_EM as i32;
    be(
        &[
            0x0001_0000,
            0x0001_0000,
            0,
            0x5F0F_3CF5,
            0x000B,
            u,
            0,
            0,
            0,
            0,
            a,
            u,
            0,
            8,
            2,
            0,
            0,
        ],
        &[4, 4, 4, 4, 2, 2, 8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    )
}

fn hhea() -> Vec<u8> {
    let a = ADVANCE as i32;
    let mut v = be(
        &[0x0001_0000, UNITS_PER_EM as i32, 0, 0, a, 0, 0, a, 1, 0, 0],
        &[4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    );
    v.extend([0u8; 8]); // reserved
    v.extend(be(&[0, 2], &[2, 2])); // metricDataFormat, numberOfHMetrics
    v
}

fn maxp() -> Vec<u8> {
    be(
        &[0x0001_0000, 2, 4, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
        &[4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    )
}

fn hmtx() -> Vec<u8> {
    be(&[ADVANCE as i32, 0, ADVANCE as i32, 0], &[2, 2, 2, 2])
}

fn loca() -> Vec<u8> {
    // Short offsets (half the byte offset): glyph 0 empty, glyph 1 24 bytes.
    be(&[0, 0, 12], &[2, 2, 2])
}

fn glyf() -> Vec<u8> {
    let a = ADVANCE as i32;
    let u = UNITS_PER_EM as i32;
    // One closed rectangle: (0,0) (a,0) (a,u) (0,u).
    let mut v = be(&[1, 0, 0, a, u, 3, 0], &[2, 2, 2, 2, 2, 2, 2]);
    v.extend([0x31, 0x21, 0x11, 0x21]); // on-curve flags with same/short coordinate bits
    v.extend(be(&[a, -a, u], &[2, 2, 2])); // x deltas for points 1 and 3, y delta for point 2
    v.extend([0, 0]); // pad to 24 bytes
    v
}

fn cmap() -> Vec<u8> {
    // Format 4 with only the terminating segment: no character maps to a glyph directly;
    // the PDF's CIDToGIDMap does the mapping.
    let mut v = be(&[0, 1, 3, 1, 12], &[2, 2, 2, 2, 4]);
    v.extend(be(&[4, 24, 0, 2, 2, 0, 0, 0xFFFF, 0, 0xFFFF, 1, 0], &[2; 12]));
    v
}

fn name() -> Vec<u8> {
    let family: Vec<u8> = "GlyphLessFont".encode_utf16().flat_map(|c| c.to_be_bytes()).collect();
    let len = family.len() as i32;
    let mut v = be(&[0, 3, 6 + 12 * 3], &[2, 2, 2]);
    for id in [1, 4, 6] {
        v.extend(be(&[3, 1, 0x409, id, len, 0], &[2; 6]));
    }
    v.extend(family);
    v
}

fn post() -> Vec<u8> {
    be(&[0x0003_0000, 0, 0, 0, 1, 0, 0, 0, 0], &[4, 4, 2, 2, 4, 4, 4, 4, 4])
}

fn os2() -> Vec<u8> {
    let a = ADVANCE as i32;
    let u = UNITS_PER_EM as i32;
    let mut v = be(&[3, a, 400, 5, 0], &[2, 2, 2, 2, 2]); // version, avgCharWidth, weight, width, fsType (installable)
    v.extend(be(&[0; 10], &[2; 10])); // subscript/superscript/strikeout metrics
    v.extend(be(&[0], &[2])); // sFamilyClass
    v.extend([0u8; 10]); // panose
    v.extend([0u8; 16]); // unicode ranges
    v.extend(*b"SOHA");
    v.extend(be(&[0x0040, 0x20, 0xFFFF, u, 0, 0, u, 0], &[2; 8])); // fsSelection .. usWinDescent
    v.extend(be(&[1, 0], &[4, 4])); // code page ranges (Latin 1)
    v.extend(be(&[u / 2, u, 0, 0x20, 0], &[2; 5])); // xHeight, capHeight, defaultChar, breakChar, maxContext
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_program_parses_and_has_the_declared_metrics() {
        let ttf = glyphless_ttf();
        let face = ttf_parser::Face::parse(&ttf, 0).expect("valid TrueType");
        assert_eq!(face.number_of_glyphs(), 2);
        assert_eq!(face.units_per_em(), UNITS_PER_EM);
        assert_eq!(face.glyph_hor_advance(ttf_parser::GlyphId(1)), Some(ADVANCE));
        assert_eq!(checksum(&ttf), 0xB1B0_AFBA);
    }
}
