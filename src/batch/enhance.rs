//! `sohoa enhance`: pages restored (deskewed, levelled, cleaned) and written as images of
//! their own, without being read.

use crate::store::StoreError;
use std::path::{Path, PathBuf};

/// The files `inputs` name: each folder's books' pages (found as `process` finds them),
/// and each file as it is.
pub fn files(inputs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for i in inputs {
        if i.is_dir() {
            for b in crate::ingest::discover_books(i, &[])?.books {
                files.extend(b.files.into_iter().map(|e| e.path));
            }
        } else {
            files.push(i.clone());
        }
    }
    Ok(files)
}

/// Restores the first page of `file` (`dpi` for a file that states none) into
/// `out/<stem>.png` (`binarize`: black and white as the page lies, pixel for pixel with
/// the source) and says what was done: the source, the output, the skew and the page's
/// quality, or the reason the file could not be decoded.
pub fn enhance_file(file: &Path, out: &Path, binarize: bool, dpi: f32) -> Result<serde_json::Value, StoreError> {
    let frames = match std::fs::read(file)
        .map_err(crate::ingest::DecodeError::from)
        .and_then(|b| crate::ingest::decode(&b))
    {
        Ok(frames) => frames,
        Err(e) => return Ok(serde_json::json!({ "source": file.display().to_string(), "error": e.to_string() })),
    };
    let frame = &frames[0];
    let d = frame.dpi.unwrap_or(dpi);
    let r = crate::restore::restore(&frame.gray, d, &Default::default());
    let stem = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let path = out.join(format!("{stem}.png"));
    let img = if binarize {
        crate::restore::binarize(&frame.gray, d, &Default::default())
    } else {
        r.gray.clone()
    };
    crate::store::write_atomic(&path, &crate::encode::png(&img, Some(d)))?;
    Ok(serde_json::json!({
        "source": file.display().to_string(),
        "output": path.display().to_string(),
        "skew_deg": (r.skew_deg as f64 * 100.0).round() / 100.0,
        "quality": r.quality,
    }))
}
