//! Checks archival PDFs: that the file is whole and parses, that every page image's bytes
//! match the SHA-256 written beside them and decode to the stated size, that the file is
//! PDF/A-2b for an independent validator, and that it matches the batch's SHA-256 manifest.
//! `process` runs the same checks on every PDF before it puts it in place.

use crate::ingest::sha256_hex;
use crate::pdf::IMAGE_SHA_KEY;
use lopdf::{Document, Object};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The outcome for one file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verdict {
    /// The file.
    pub path: PathBuf,
    /// Pages found.
    pub pages: usize,
    /// What is wrong (empty: the file is sound).
    pub problems: Vec<String>,
}

impl Verdict {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// File name of the per-book manifest (`sha256sum` format).
pub const MANIFEST: &str = "manifest.sha256";

/// Checks PDF bytes: structure, page images, PDF/A-2b. Returns the page count and the
/// problems found.
pub fn check_pdf_bytes(bytes: &[u8]) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !bytes.starts_with(b"%PDF-") {
        problems.push("not a PDF file (no %PDF- header)".to_string());
        return (0, problems);
    }
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        problems.push("truncated: the file does not end with %%EOF".to_string());
    }
    let doc = match Document::load_mem(bytes) {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("cannot be parsed: {e}"));
            return (0, problems);
        }
    };
    let pages = doc.get_pages().len();
    if pages == 0 {
        problems.push("no pages".to_string());
    }
    let mut images = 0;
    for (id, obj) in &doc.objects {
        let Object::Stream(stream) = obj else { continue };
        let is_image = matches!(stream.dict.get(b"Subtype"), Ok(Object::Name(n)) if n == b"Image");
        if !is_image {
            continue;
        }
        images += 1;
        if let Err(e) = check_image(&stream.dict, &stream.content) {
            problems.push(format!("image object {} {}: {e}", id.0, id.1));
        }
    }
    if images < pages {
        problems.push(format!("{pages} pages but only {images} page images"));
    }
    // Validated against the level the file declares (PDF/A-2b or 2u).
    let opts = page_validation::ValidationOptions::default();
    match page_validation::validate_pdf_bytes(bytes, &opts) {
        Ok(report)
            if !matches!(
                report.profile,
                page_validation::ValidationProfile::PdfA2b | page_validation::ValidationProfile::PdfA2u
            ) =>
        {
            problems.push(format!("declares {:?}, not PDF/A-2b or 2u", report.profile));
        }
        Ok(report) if !report.is_compliant => {
            for f in report.failures.iter().take(5) {
                problems.push(format!("not {:?}: {f}", report.profile));
            }
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("PDF/A validator cannot read the file: {e}")),
    }
    (pages, problems)
}

/// Checks a PDF file's frame without loading it: it ends with `%%EOF`, `startxref` points
/// at a cross-reference table, and every object the table lists starts where it says.
/// Reads the tail, the table and a few bytes per object: memory does not grow with the
/// file. Returns the number of objects.
pub fn check_pdf_layout<F: std::io::Read + std::io::Seek>(file: &mut F) -> Result<usize, String> {
    use std::io::{BufRead, BufReader, SeekFrom};
    let len = file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let tail_len = len.min(1024);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(|e| e.to_string())?;
    let mut tail = vec![0; tail_len as usize];
    file.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let tail = String::from_utf8_lossy(&tail);
    if !tail.trim_end().ends_with("%%EOF") {
        return Err("truncated: the file does not end with %%EOF".into());
    }
    let xref: u64 = tail
        .rsplit("startxref")
        .next()
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .filter(|&x| x < len)
        .ok_or("no startxref pointing into the file")?;
    file.seek(SeekFrom::Start(xref)).map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(&mut *file).lines();
    let mut next = |what: &str| -> Result<String, String> {
        match lines.next() {
            Some(Ok(l)) => Ok(l),
            _ => Err(format!("cross-reference table cut short at {what}")),
        }
    };
    if next("its start")?.trim() != "xref" {
        return Err(format!("startxref {xref} does not point at a cross-reference table"));
    }
    let head = next("its header")?;
    let count: usize = match head.split_whitespace().collect::<Vec<_>>()[..] {
        ["0", n] => n.parse().map_err(|_| format!("bad cross-reference header {head:?}"))?,
        _ => return Err(format!("bad cross-reference header {head:?}")),
    };
    let mut objects = Vec::with_capacity(count);
    for id in 0..count {
        let entry = next("an entry")?;
        let mut parts = entry.split_whitespace();
        let offset: u64 = parts
            .next()
            .and_then(|o| o.parse().ok())
            .ok_or("bad cross-reference entry")?;
        if id > 0 && entry.trim_end().ends_with('n') {
            objects.push((id, offset));
        }
    }
    drop(lines);
    let mut head = [0u8; 24];
    for &(id, offset) in &objects {
        let want = format!("{id} 0 obj");
        file.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
        let n = file.read(&mut head).map_err(|e| e.to_string())?;
        if !head[..n].starts_with(want.as_bytes()) {
            return Err(format!(
                "object {id} is not at offset {offset} as the cross-reference table says"
            ));
        }
    }
    Ok(objects.len())
}

fn int(dict: &lopdf::Dictionary, key: &[u8]) -> Option<i64> {
    match dict.get(key) {
        Ok(Object::Integer(i)) => Some(*i),
        _ => None,
    }
}

/// Checks one image stream: its recorded SHA-256, then that it decodes to its size.
fn check_image(dict: &lopdf::Dictionary, raw: &[u8]) -> Result<(), String> {
    if let Ok(Object::String(sha, _)) = dict.get(IMAGE_SHA_KEY) {
        if sha.as_slice() != sha256_hex(raw).as_bytes() {
            return Err("image bytes changed since writing (SHA-256 differs)".to_string());
        }
    }
    let w = int(dict, b"Width").ok_or("no /Width")? as usize;
    let h = int(dict, b"Height").ok_or("no /Height")? as usize;
    let filter = match dict.get(b"Filter") {
        Ok(Object::Name(n)) => n.clone(),
        Ok(Object::Array(a)) if a.len() == 1 => match &a[0] {
            Object::Name(n) => n.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    match filter.as_slice() {
        b"DCTDecode" => {
            let img = image::load_from_memory_with_format(raw, image::ImageFormat::Jpeg)
                .map_err(|e| format!("JPEG does not decode: {e}"))?;
            if (img.width() as usize, img.height() as usize) != (w, h) {
                return Err(format!(
                    "JPEG is {}×{}, dictionary says {w}×{h}",
                    img.width(),
                    img.height()
                ));
            }
        }
        b"FlateDecode" => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(raw)
                .read_to_end(&mut out)
                .map_err(|e| format!("Flate data does not decode: {e}"))?;
            let bpc = int(dict, b"BitsPerComponent").unwrap_or(8) as usize;
            let comps = match dict.get(b"ColorSpace") {
                Ok(Object::Name(n)) if n == b"DeviceRGB" => 3,
                _ => 1,
            };
            let predicted = match dict.get(b"DecodeParms") {
                Ok(Object::Dictionary(d)) => int(d, b"Predictor").unwrap_or(1) >= 10,
                _ => false,
            };
            let need = ((w * comps * bpc).div_ceil(8) + usize::from(predicted)) * h;
            if out.len() < need {
                return Err(format!("image data holds {} bytes, {need} needed", out.len()));
            }
        }
        b"CCITTFaxDecode" => {
            let mut rows = 0usize;
            let done = fax::decoder::decode_g4(raw.iter().copied(), w as u16, Some(h as u16), |_| rows += 1);
            if done.is_none() || rows != h {
                return Err(format!("CCITT G4 data decodes to {rows} of {h} rows"));
            }
        }
        other => return Err(format!("unexpected image filter {}", String::from_utf8_lossy(other))),
    }
    Ok(())
}

/// Reads `manifest.sha256` files: file path → expected SHA-256.
pub fn read_manifest(path: &Path) -> BTreeMap<PathBuf, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let (sha, name) = l.split_once("  ")?;
            Some((dir.join(name.trim()), sha.trim().to_lowercase()))
        })
        .collect()
}

/// Writes the text of a manifest for `files` (paths relative to `dir`).
pub fn manifest_text(dir: &Path, files: &[PathBuf]) -> std::io::Result<String> {
    let mut out = String::new();
    for f in files {
        let bytes = std::fs::read(dir.join(f))?;
        out.push_str(&format!(
            "{}  {}\n",
            sha256_hex(&bytes),
            f.to_string_lossy().replace('\\', "/")
        ));
    }
    Ok(out)
}

/// Checks one file on disk, against the manifest of its folder (or the folder above) when
/// there is one.
pub fn verify_file(path: &Path) -> Verdict {
    let mut v = Verdict {
        path: path.to_path_buf(),
        pages: 0,
        problems: Vec::new(),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            v.problems.push(format!("cannot read: {e}"));
            return v;
        }
    };
    let (pages, problems) = check_pdf_bytes(&bytes);
    v.pages = pages;
    v.problems = problems;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    for dir in canonical.ancestors().skip(1).take(2) {
        let manifest = read_manifest(&dir.join(MANIFEST));
        if let Some(expected) = manifest.get(&canonical) {
            if *expected != sha256_hex(&bytes) {
                v.problems
                    .push(format!("SHA-256 differs from {}", dir.join(MANIFEST).display()));
            }
            break;
        }
    }
    v
}

/// All PDFs under the given files and folders.
pub fn collect_pdfs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for i in inputs {
        if i.is_dir() {
            for e in walkdir::WalkDir::new(i).sort_by_file_name().into_iter().flatten() {
                if e.file_type().is_file() && e.path().extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")) {
                    out.push(e.into_path());
                }
            }
        } else {
            out.push(i.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::{write_pdfa, DocInfo, PageImage, PdfPage};

    #[test]
    fn the_layout_check_finds_moved_objects_and_a_cut_file() {
        let page = PdfPage {
            image: PageImage::Gray(vec![200; 64 * 48]),
            width: 64,
            height: 48,
            dpi: 100.0,
            words: Vec::new(),
        };
        let good = write_pdfa(&[&page, &page], &DocInfo::default()).unwrap();
        let objects = check_pdf_layout(&mut std::io::Cursor::new(&good)).unwrap();
        assert!(objects >= 11 + 2 * 3, "{objects} objects");
        // A byte added early moves the table itself and every later object.
        let mut moved = good.clone();
        moved.insert(200, b' ');
        let err = check_pdf_layout(&mut std::io::Cursor::new(&moved)).unwrap_err();
        assert!(err.contains("does not point at a cross-reference table"), "{err}");
        // An entry of the table that points a byte off.
        let xref = good.windows(6).rposition(|w| w == b"\nxref\n").unwrap() + 1;
        let header = xref + good[xref..].iter().skip(5).position(|&b| b == b'\n').unwrap() + 6;
        let entry = header + 2 * 20; // object 2
        let mut off = good.clone();
        let offset: u64 = std::str::from_utf8(&off[entry..entry + 10]).unwrap().parse().unwrap();
        off[entry..entry + 10].copy_from_slice(format!("{:010}", offset + 1).as_bytes());
        let err = check_pdf_layout(&mut std::io::Cursor::new(&off)).unwrap_err();
        assert!(err.contains("object 2 is not at offset"), "{err}");
        let err = check_pdf_layout(&mut std::io::Cursor::new(&good[..good.len() - 40])).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }
}
