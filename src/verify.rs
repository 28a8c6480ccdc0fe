//! Checks archival PDFs: that the file is whole and parses, that no update was appended to
//! it (sohoa never writes one) and every object is where its cross-reference table says,
//! that its seal (the SHA-256 of every byte before its last object, [`SEAL_KEY`]) and
//! every page image's SHA-256 hold, that each image decodes to its stated size — every
//! stream inflated under a byte limit, so a decompression bomb is a broken file, not an
//! allocation —, that the file is PDF/A-2b for an independent validator, and that it
//! matches the batch's SHA-256 manifest. Without a manifest a file re-written whole (its
//! seal made anew) passes, and the verdict says so. `process` runs the same checks on
//! every PDF before it puts it in place.

use crate::ingest::sha256_hex;
use crate::pdf::{IMAGE_SHA_KEY, SEAL_KEY};
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
    /// What could not be checked.
    pub caveats: Vec<String>,
}

impl Verdict {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// File name of the per-book manifest (`sha256sum` format).
pub const MANIFEST: &str = "manifest.sha256";

/// The most bytes a stream that is not a page image may inflate to (a font, a text
/// layer, metadata: far less); a page image may inflate to what its size needs.
pub const MAX_INFLATED: u64 = 64 << 20;

/// Checks PDF bytes: structure, seal, page images, PDF/A-2b. Returns the page count and
/// the problems found.
pub fn check_pdf_bytes(bytes: &[u8]) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !bytes.starts_with(b"%PDF-") {
        problems.push("not a PDF file (no %PDF- header)".to_string());
        return (0, problems);
    }
    let updates = bytes.windows(9).filter(|w| w == b"startxref").count();
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        problems.push("truncated: the file does not end with %%EOF".to_string());
    } else if updates > 1 {
        problems.push(format!(
            "{} updates appended after it was written (sohoa never writes one): the file was changed",
            updates - 1
        ));
    } else if let Err(e) = check_pdf_layout(&mut std::io::Cursor::new(bytes)) {
        problems.push(e);
    }
    // lopdf inflates object streams as it loads (without a limit); sohoa writes none.
    if bytes.windows(7).any(|w| w == b"/ObjStm") {
        problems.push("holds object streams (sohoa never writes them): not read further".to_string());
        return (0, problems);
    }
    let doc = match Document::load_mem(bytes) {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("cannot be parsed: {e}"));
            return (0, problems);
        }
    };
    // Streams inflated under a limit before anything else reads them.
    let bombs = inflation_bombs(&doc);
    if !bombs.is_empty() {
        problems.extend(bombs);
        return (0, problems);
    }
    if doc.trailer.get(b"Prev").is_ok() {
        problems.push("its trailer points to an earlier version (/Prev): an update was appended".to_string());
    }
    if let Err(e) = check_seal(bytes, &doc) {
        problems.push(e);
    }
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
            let need = flate_image_bytes(dict).ok_or("no /Width or /Height")?;
            // What the size needs, no more: the rest is not read.
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(raw)
                .take(need as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("Flate data does not decode: {e}"))?;
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

/// The bytes a Flate image of this dictionary inflates to: its rows of samples (with a
/// predictor's tag byte each).
fn flate_image_bytes(dict: &lopdf::Dictionary) -> Option<usize> {
    let w = int(dict, b"Width")? as usize;
    let h = int(dict, b"Height")? as usize;
    let bpc = int(dict, b"BitsPerComponent").unwrap_or(8) as usize;
    let comps = match dict.get(b"ColorSpace") {
        Ok(Object::Name(n)) if n == b"DeviceRGB" => 3,
        _ => 1,
    };
    let predicted = match dict.get(b"DecodeParms") {
        Ok(Object::Dictionary(d)) => int(d, b"Predictor").unwrap_or(1) >= 10,
        _ => false,
    };
    Some(((w * comps * bpc).div_ceil(8) + usize::from(predicted)) * h)
}

/// The Flate streams of the file that inflate past what they may hold (a page image:
/// what its size needs, with room for a row; anything else: [`MAX_INFLATED`]), counted
/// through a small buffer, never held: each a problem (lopdf keeps streams as stored).
fn inflation_bombs(doc: &Document) -> Vec<String> {
    use std::io::Read;
    let mut problems = Vec::new();
    for (id, obj) in &doc.objects {
        let Object::Stream(stream) = obj else { continue };
        let flate = match stream.dict.get(b"Filter") {
            Ok(Object::Name(n)) => n == b"FlateDecode",
            Ok(Object::Array(a)) => a.iter().any(|f| matches!(f, Object::Name(n) if n == b"FlateDecode")),
            _ => false,
        };
        if !flate {
            continue;
        }
        let is_image = matches!(stream.dict.get(b"Subtype"), Ok(Object::Name(n)) if n == b"Image");
        let limit = match flate_image_bytes(&stream.dict).filter(|_| is_image) {
            Some(need) => need as u64 + (need as u64 / 64).max(1 << 16),
            None => MAX_INFLATED,
        };
        let inflated = std::io::copy(
            &mut flate2::read::ZlibDecoder::new(&stream.content[..]).take(limit + 1),
            &mut std::io::sink(),
        )
        .unwrap_or(0);
        if inflated > limit {
            problems.push(format!(
                "object {} {}: inflates past {} MB from {} bytes (a decompression bomb, not a page); not read further",
                id.0,
                id.1,
                limit >> 20,
                stream.content.len()
            ));
        }
    }
    problems
}

/// Checks the file's seal: the SHA-256 its page tree carries ([`SEAL_KEY`]) is that of
/// every byte before the page tree, where the cross-reference table puts it.
fn check_seal(bytes: &[u8], doc: &Document) -> Result<(), String> {
    let tree = doc
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|_| "no page tree".to_string())?;
    let dict = doc.get_dictionary(tree).map_err(|_| "no page tree".to_string())?;
    let Ok(Object::String(seal, _)) = dict.get(SEAL_KEY) else {
        return Err(
            "no seal (/SohoaSealSHA256 in its page tree): not a sohoa file, or one whose page tree was replaced".into(),
        );
    };
    let Some(lopdf::xref::XrefEntry::Normal { offset, .. }) = doc.reference_table.get(tree.0) else {
        return Err("its page tree is not where the cross-reference table says".into());
    };
    let sealed = bytes
        .get(..*offset as usize)
        .ok_or("its page tree lies past the end of the file")?;
    if seal.as_slice() != sha256_hex(sealed).as_bytes() {
        return Err("changed since it was written: its bytes do not match its seal (SHA-256)".into());
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
    use sha2::Digest;
    let mut out = String::new();
    for f in files {
        // Hashed as it is read: a book's PDF is never whole in memory.
        let mut hash = sha2::Sha256::new();
        std::io::copy(&mut std::fs::File::open(dir.join(f))?, &mut hash)?;
        out.push_str(&format!(
            "{}  {}\n",
            crate::ingest::hex(&hash.finalize()),
            f.to_string_lossy().replace('\\', "/")
        ));
    }
    Ok(out)
}

/// Checks one file on disk, against `manifest` when given, else the manifest of its
/// folder (or the folder above) when there is one.
pub fn verify_file(path: &Path, manifest: Option<&Path>) -> Verdict {
    let mut v = Verdict {
        path: path.to_path_buf(),
        pages: 0,
        problems: Vec::new(),
        caveats: Vec::new(),
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
    let manifest_given = manifest.is_some();
    let lookup = |manifest: PathBuf| {
        let listed = read_manifest(&manifest);
        // A copy out of OUT is listed by its name under its book's folder.
        let by_name = || {
            let name = canonical.file_name()?;
            let mut same = listed.iter().filter(|(p, _)| p.file_name() == Some(name));
            let only = same.next();
            same.next()
                .is_none()
                .then_some(only)
                .flatten()
                .map(|(_, sha)| sha.clone())
        };
        let sha = match listed.get(&canonical) {
            Some(sha) => Some(sha.clone()),
            None if manifest_given => by_name(),
            None => None,
        };
        sha.map(|sha| (manifest, sha))
    };
    let listed = match manifest {
        Some(m) => lookup(m.to_path_buf()),
        None => canonical
            .ancestors()
            .skip(1)
            .take(2)
            .find_map(|dir| lookup(dir.join(MANIFEST))),
    };
    match listed {
        Some((manifest, expected)) if expected != sha256_hex(&bytes) => {
            v.problems.push(format!("SHA-256 differs from {}", manifest.display()))
        }
        Some(_) => {}
        None if manifest_given => v
            .problems
            .push(format!("not listed in {}", manifest.unwrap_or(Path::new("")).display())),
        None => v
            .caveats
            .push("not compared with a manifest: a file re-written whole, its seal made anew, passes".to_string()),
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

    /// A sealed two-page document with a text layer, and where each object starts.
    fn sealed() -> (Vec<u8>, Document) {
        let word = |text: &str, x: f32| crate::pdf::PlacedWord {
            text: text.into(),
            x,
            y: 30.0,
            width: 20.0,
            height: 10.0,
            angle_deg: 0.0,
        };
        let page = PdfPage {
            image: PageImage::Gray((0..64 * 48).map(|i| (i % 251) as u8).collect()),
            width: 64,
            height: 48,
            dpi: 100.0,
            words: vec![word("Nguyễn", 4.0), word("Văn", 30.0)],
        };
        let info = DocInfo {
            title: "Sổ khai sinh".into(),
            ..DocInfo::default()
        };
        let bytes = write_pdfa(&[&page, &page], &info).unwrap();
        let doc = Document::load_mem(&bytes).unwrap();
        (bytes, doc)
    }

    #[test]
    fn the_manifest_lists_each_files_sha256_as_sha256sum_does() {
        let dir = std::env::temp_dir().join(format!("sohoa-manifest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("records")).unwrap();
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(dir.join("book.pdf"), &big).unwrap();
        std::fs::write(dir.join("records/a.pdf"), b"abc").unwrap();
        let text = manifest_text(&dir, &[PathBuf::from("book.pdf"), PathBuf::from("records/a.pdf")]).unwrap();
        let want = format!(
            "{}  book.pdf\n{}  records/a.pdf\n",
            sha256_hex(&big),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(text, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_byte_changed_in_any_object_breaks_the_seal() {
        let (good, doc) = sealed();
        let (pages, problems) = check_pdf_bytes(&good);
        assert_eq!((pages, problems), (2, Vec::<String>::new()));
        let tree = doc.catalog().unwrap().get(b"Pages").unwrap().as_reference().unwrap();
        let mut offsets: Vec<(u32, usize)> = doc
            .reference_table
            .entries
            .iter()
            .filter_map(|(&id, e)| match e {
                lopdf::xref::XrefEntry::Normal { offset, .. } => Some((id, *offset as usize)),
                _ => None,
            })
            .collect();
        offsets.sort_by_key(|o| o.1);
        let mut checked = 0;
        for pair in offsets.windows(2) {
            let ((id, start), (_, end)) = (pair[0], pair[1]);
            if id == tree.0 {
                continue;
            }
            // A byte inside the object (past its `N 0 obj` line): the text layer, its font
            // and ToUnicode map, the information dictionary, the XMP, the images.
            let at = start + 12 + (end - start - 12) / 2;
            let mut forged = good.clone();
            forged[at] ^= 0x01;
            let (_, problems) = check_pdf_bytes(&forged);
            assert!(!problems.is_empty(), "a byte of object {id} changed went unnoticed");
            checked += 1;
        }
        assert!(checked >= 15, "{checked} objects");
        // The seal itself.
        let at = good.windows(15).position(|w| w == SEAL_KEY).unwrap() + 20;
        let mut forged = good.clone();
        forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
        assert!(check_pdf_bytes(&forged).1.iter().any(|p| p.contains("seal")));
    }

    #[test]
    fn an_appended_update_is_found_even_with_its_images_own_checksum() {
        let (good, doc) = sealed();
        let page = doc.get_pages()[&1];
        // The page's words replaced by an update appended to the file.
        let mut update = lopdf::IncrementalDocument::create_from(good.clone(), doc.clone());
        let content = doc.get_page_contents(page)[0];
        update.opt_clone_object_to_new_document(content).unwrap();
        update
            .new_document
            .get_object_mut(content)
            .unwrap()
            .as_stream_mut()
            .unwrap()
            .set_plain_content(b"q 64 0 0 48 0 0 cm /Im1 Do Q".to_vec());
        let mut forged = Vec::new();
        update.save_to(&mut forged).unwrap();
        assert!(forged.starts_with(&good));
        let problems = check_pdf_bytes(&forged).1;
        assert!(problems.iter().any(|p| p.contains("appended")), "{problems:?}");
        // The page image replaced by another carrying its own right SHA-256.
        let image = doc
            .objects
            .iter()
            .find(|(_, o)| matches!(o, Object::Stream(s) if s.dict.get(b"Subtype").is_ok_and(|n| n == &Object::Name(b"Image".to_vec()))))
            .map(|(id, _)| *id)
            .unwrap();
        let mut update = lopdf::IncrementalDocument::create_from(good.clone(), doc.clone());
        update.opt_clone_object_to_new_document(image).unwrap();
        let stream = update
            .new_document
            .get_object_mut(image)
            .unwrap()
            .as_stream_mut()
            .unwrap();
        let other = crate::pdf::deflate(&[0u8; 64 * 48]);
        stream
            .dict
            .set(IMAGE_SHA_KEY, Object::string_literal(sha256_hex(&other)));
        stream.set_content(other);
        let mut forged = Vec::new();
        update.save_to(&mut forged).unwrap();
        let problems = check_pdf_bytes(&forged).1;
        assert!(problems.iter().any(|p| p.contains("appended")), "{problems:?}");
    }

    #[test]
    fn a_stream_that_inflates_past_its_size_is_a_broken_file_not_an_allocation() {
        let (_, mut doc) = sealed();
        // 256 MB of zeros in 250 KB, as a page image of 64×48 pixels.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        for _ in 0..256 {
            std::io::Write::write_all(&mut z, &block).unwrap();
        }
        let bomb = z.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        let image = doc
            .objects
            .iter_mut()
            .find_map(|(_, o)| match o {
                Object::Stream(s)
                    if s.dict
                        .get(b"Subtype")
                        .is_ok_and(|n| n == &Object::Name(b"Image".to_vec())) =>
                {
                    Some(s)
                }
                _ => None,
            })
            .unwrap();
        image.set_content(bomb);
        let mut forged = Vec::new();
        doc.save_to(&mut forged).unwrap();
        let problems = check_pdf_bytes(&forged).1;
        assert!(
            problems.iter().any(|p| p.contains("decompression bomb")),
            "{problems:?}"
        );
    }
}
