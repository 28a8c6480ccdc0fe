//! Stage 5: judge whether a page can be digitized, and say why not.
//!
//! A page is `not_eligible` when it is blank, faded past reading, mostly torn away, or
//! read with confidence near zero. The thresholds are named constants so that the
//! eligibility benchmark can move them with evidence.

use crate::model::{PageQuality, PageStatus};

/// Below this ink fraction the page is blank.
pub const MIN_INK: f32 = 0.002;
/// Below this ink depth (grey levels below the flattened paper) the ink is too faded to read.
pub const MIN_CONTRAST: f32 = 40.0;
/// Above this fraction the page is mostly missing.
pub const MAX_MISSING: f32 = 0.5;
/// Below this mean OCR confidence nothing useful was read.
pub const MIN_OCR_CONFIDENCE: f32 = 0.35;

/// Verdict before OCR: pages that are plainly unreadable skip the OCR stage.
pub fn judge_image(q: &PageQuality) -> Option<Vec<String>> {
    let mut reasons = Vec::new();
    if q.missing_fraction > MAX_MISSING {
        reasons.push(format!(
            "page mostly missing: {:.0}% of the image is torn away or background (limit {:.0}%)",
            q.missing_fraction * 100.0,
            MAX_MISSING * 100.0
        ));
    }
    if q.ink_fraction < MIN_INK && q.contrast < MIN_CONTRAST * 1.5 {
        reasons.push(format!(
            "ink faded past reading or blank page: ink covers {:.2}% of the page, {:.0} grey levels below the paper",
            q.ink_fraction * 100.0,
            q.contrast
        ));
    } else if q.ink_fraction < MIN_INK {
        reasons.push(format!(
            "blank page: ink covers {:.2}% of the page (needs {:.1}%)",
            q.ink_fraction * 100.0,
            MIN_INK * 100.0
        ));
    } else if q.contrast < MIN_CONTRAST {
        reasons.push(format!(
            "ink too faded: ink lies {:.0} grey levels below the paper (needs {:.0})",
            q.contrast, MIN_CONTRAST
        ));
    }
    (!reasons.is_empty()).then_some(reasons)
}

/// Verdict after OCR.
pub fn judge_reading(q: &PageQuality, words: usize, records: usize) -> (PageStatus, Vec<String>) {
    if words == 0 {
        return (
            PageStatus::NotEligible,
            vec!["no text could be read on the page".to_string()],
        );
    }
    if q.ocr_confidence < MIN_OCR_CONFIDENCE {
        return (
            PageStatus::NotEligible,
            vec![format!(
                "text unreadable: mean OCR confidence {:.2} (needs {:.2})",
                q.ocr_confidence, MIN_OCR_CONFIDENCE
            )],
        );
    }
    let mut notes = Vec::new();
    if records == 0 {
        notes.push("no record rows found on the page".to_string());
    }
    (PageStatus::Ok, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_faded_pages_are_not_eligible_with_reasons() {
        let blank = PageQuality {
            ink_fraction: 0.0001,
            contrast: 5.0,
            ..Default::default()
        };
        let r = judge_image(&blank).unwrap();
        assert!(r[0].starts_with("ink faded past reading or blank page"), "{r:?}");
        let empty = PageQuality {
            ink_fraction: 0.0001,
            contrast: 150.0,
            ..Default::default()
        };
        assert!(judge_image(&empty).unwrap()[0].starts_with("blank page"));
        let faded = PageQuality {
            ink_fraction: 0.03,
            contrast: 10.0,
            ..Default::default()
        };
        assert!(judge_image(&faded).unwrap()[0].starts_with("ink too faded"));
        let good = PageQuality {
            ink_fraction: 0.05,
            contrast: 120.0,
            ..Default::default()
        };
        assert!(judge_image(&good).is_none());
    }
}
