//! Measures processed results against synthetic ground truth: records found, field
//! character error rate (overall and per field), exact matches, skew error, the
//! eligibility confusion matrix, and how many wrong characters sit in flagged fields.

use crate::model::{PageResult, PageStatus};
use crate::template::edit_distance;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// The truth about one field, as `sohoa synth` writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthField {
    /// As written on the page.
    pub text: String,
    /// As it should be exported.
    pub value: String,
}

/// What evaluation needs of a truth file (`<truth>/<book>/<page>.json`, written by
/// `sohoa synth`; its other fields are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct PageTruth {
    /// Skew applied, degrees counter-clockwise.
    pub skew_deg: f32,
    /// Whether the page is readable (`false`: expect `not_eligible`).
    pub eligible: bool,
    /// Records, one per body row, field id → truth.
    pub records: Vec<BTreeMap<String, TruthField>>,
}

/// The evaluation figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Evaluation {
    /// Pages with truth.
    pub pages: usize,
    /// Pages whose result was missing.
    pub pages_missing: usize,
    /// Records on readable truth pages.
    pub records_expected: usize,
    /// Of those, records found.
    pub records_found: usize,
    /// Character error rate over all fields of readable pages (edit distance / truth chars).
    pub field_cer: f64,
    /// CER per field id.
    pub field_cer_by_field: BTreeMap<String, f64>,
    /// Share of fields whose value is exactly right, per field id.
    pub exact_by_field: BTreeMap<String, f64>,
    /// Share of wrong characters that sit in fields flagged doubtful (a flag other than
    /// `empty`) or in records not found.
    pub errors_in_flagged: f64,
    /// Share of the fields of found records that are flagged doubtful.
    pub fields_flagged: f64,
    /// Fields of found records by confidence (tenths): how many, and how many exactly right.
    pub calibration: Vec<CalibrationBin>,
    /// Mean absolute skew error on readable pages, degrees.
    pub skew_error_mean: f64,
    /// Largest skew error, degrees.
    pub skew_error_max: f64,
    /// Eligibility confusion: `truth/result` → count (`eligible/ok`, `unreadable/not_eligible`, …).
    pub eligibility: BTreeMap<String, usize>,
}

/// The fields whose confidence lies in one tenth of 0..1.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CalibrationBin {
    /// Lower end of the bin.
    pub from: f64,
    /// Fields in the bin.
    pub fields: usize,
    /// Of those, exactly right.
    pub right: usize,
}

/// Why evaluation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The truth folder could not be read.
    #[error("cannot read truth folder {0}: {1}")]
    Truth(String, std::io::Error),
    /// A truth file is not valid.
    #[error("invalid truth file {0}: {1}")]
    BadTruth(String, serde_json::Error),
}

/// Evaluates `out` (a `sohoa process` output folder) against `truth` (`synth`'s truth folder).
pub fn evaluate(out: &Path, truth: &Path) -> Result<Evaluation, EvalError> {
    let mut e = Evaluation::default();
    let (mut err_chars, mut total_chars, mut flagged_err) = (0usize, 0usize, 0usize);
    let mut per: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new(); // errors, chars, exact, count
    let mut skew = Vec::new();
    let (mut found_fields, mut flagged_fields) = (0usize, 0usize);
    let mut bins: Vec<CalibrationBin> = (0..10)
        .map(|i| CalibrationBin {
            from: i as f64 / 10.0,
            ..Default::default()
        })
        .collect();
    for (book, path) in truth_files(truth)? {
        let text = std::fs::read(&path).map_err(|x| EvalError::Truth(path.display().to_string(), x))?;
        let t: PageTruth =
            serde_json::from_slice(&text).map_err(|x| EvalError::BadTruth(path.display().to_string(), x))?;
        e.pages += 1;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let result: Option<PageResult> = std::fs::read(out.join(&book).join("pages").join(format!("{stem}.json")))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(r) = result else {
            e.pages_missing += 1;
            continue;
        };
        let key = format!(
            "{}/{}",
            if t.eligible { "eligible" } else { "unreadable" },
            r.status.as_str()
        );
        *e.eligibility.entry(key).or_default() += 1;
        if !t.eligible {
            continue;
        }
        skew.push((r.skew_deg - t.skew_deg).abs() as f64);
        e.records_expected += t.records.len();
        let found = if r.status == PageStatus::Ok {
            r.records.len().min(t.records.len())
        } else {
            0
        };
        e.records_found += found;
        for (i, tr) in t.records.iter().enumerate() {
            for (id, tf) in tr {
                let truth_v: Vec<char> = tf.value.nfc().collect();
                if truth_v.is_empty() {
                    continue;
                }
                let field = r
                    .records
                    .get(i)
                    .filter(|_| r.status == PageStatus::Ok)
                    .and_then(|rec| rec.fields.get(id));
                let (got, flagged) = match field {
                    Some(f) => (f.value.nfc().collect::<Vec<char>>(), f.doubtful()),
                    None => (Vec::new(), true),
                };
                let d = edit_distance(&got, &truth_v).min(truth_v.len().max(got.len()));
                if let Some(f) = field {
                    found_fields += 1;
                    flagged_fields += usize::from(flagged);
                    let bin = &mut bins[((f.confidence as f64 * 10.0) as usize).min(9)];
                    bin.fields += 1;
                    bin.right += usize::from(d == 0);
                }
                err_chars += d;
                total_chars += truth_v.len();
                if flagged {
                    flagged_err += d;
                }
                let p = per.entry(id.clone()).or_default();
                p.0 += d;
                p.1 += truth_v.len();
                p.2 += usize::from(d == 0);
                p.3 += 1;
            }
        }
    }
    e.field_cer = ratio(err_chars, total_chars);
    e.errors_in_flagged = ratio(flagged_err, err_chars);
    e.fields_flagged = ratio(flagged_fields, found_fields);
    e.calibration = bins;
    for (k, (d, n, exact, count)) in per {
        e.field_cer_by_field.insert(k.clone(), ratio(d, n));
        e.exact_by_field.insert(k, ratio(exact, count));
    }
    if !skew.is_empty() {
        e.skew_error_mean = round3(skew.iter().sum::<f64>() / skew.len() as f64);
        e.skew_error_max = round3(skew.iter().copied().fold(0.0, f64::max));
    }
    Ok(e)
}

/// The truth files under `truth` (one folder per book): each book's name and the file's
/// path, in order.
fn truth_files(truth: &Path) -> Result<Vec<(String, std::path::PathBuf)>, EvalError> {
    let books = std::fs::read_dir(truth).map_err(|x| EvalError::Truth(truth.display().to_string(), x))?;
    let mut files = Vec::new();
    for b in books.flatten() {
        if !b.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(b.path())
            .map_err(|x| EvalError::Truth(b.path().display().to_string(), x))?
            .flatten()
        {
            if f.path().extension().is_some_and(|x| x == "json") {
                files.push((b.file_name().to_string_lossy().into_owned(), f.path()));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// DIBCO scores of a black-and-white page against its ground truth (text 0 in both):
/// F-measure (percent) and PSNR (dB).
pub fn binarization_scores(pred: &image::GrayImage, truth: &image::GrayImage) -> (f64, f64) {
    let (mut tp, mut fp, mut fnn) = (0u64, 0u64, 0u64);
    for (p, g) in pred.as_raw().iter().zip(truth.as_raw()) {
        match (*p < 128, *g < 128) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fnn += 1,
            _ => {}
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fnn).max(1) as f64;
    let f = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let mse = (fp + fnn) as f64 / pred.as_raw().len().max(1) as f64;
    (100.0 * f, 10.0 * (1.0 / mse.max(1e-9)).log10())
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        round3(a as f64 / b as f64)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
