//! Stage 5: judge whether a page can be digitized, and say why not.
//!
//! A page is `not_eligible` when it is blank, faded past reading, mostly torn away, or
//! read with confidence near zero. The thresholds are named constants so that the
//! eligibility benchmark can move them with evidence.

use crate::model::{PageQuality, PageStatus, Reason};

/// Below this ink fraction the page is blank.
pub const MIN_INK: f32 = 0.002;
/// Below this ink depth (grey levels below the flattened paper) the ink is too faded to read.
pub const MIN_CONTRAST: f32 = 40.0;
/// Above this fraction the page is mostly missing.
pub const MAX_MISSING: f32 = 0.5;
/// Below this mean OCR confidence nothing useful was read.
pub const MIN_OCR_CONFIDENCE: f32 = 0.35;

/// Verdict before OCR: pages that are plainly unreadable skip the OCR stage.
pub fn judge_image(q: &PageQuality) -> Option<Vec<Reason>> {
    let mut reasons = Vec::new();
    if q.missing_fraction > MAX_MISSING {
        reasons.push(Reason::MostlyMissing {
            missing: q.missing_fraction,
            limit: MAX_MISSING,
        });
    }
    if q.ink_fraction < MIN_INK && q.contrast < MIN_CONTRAST * 1.5 {
        reasons.push(Reason::FadedOrBlank {
            ink: q.ink_fraction,
            contrast: q.contrast,
        });
    } else if q.ink_fraction < MIN_INK {
        reasons.push(Reason::Blank {
            ink: q.ink_fraction,
            needs: MIN_INK,
        });
    } else if q.contrast < MIN_CONTRAST {
        reasons.push(Reason::TooFaded {
            contrast: q.contrast,
            needs: MIN_CONTRAST,
        });
    }
    (!reasons.is_empty()).then_some(reasons)
}

/// Verdict after OCR: the status, its reasons first, then notes. A readable page that
/// yields no record is `manual` (to be entered by hand), unless its ruled table was found
/// and its rows are empty (`empty_table`): a page that looks done must be done.
pub fn judge_reading(q: &PageQuality, words: usize, records: usize, empty_table: bool) -> (PageStatus, Vec<Reason>) {
    if words == 0 {
        return (PageStatus::NotEligible, vec![Reason::NothingRead]);
    }
    if q.ocr_confidence < MIN_OCR_CONFIDENCE {
        return (
            PageStatus::NotEligible,
            vec![Reason::Unreadable {
                confidence: q.ocr_confidence,
                needs: MIN_OCR_CONFIDENCE,
            }],
        );
    }
    match (records, empty_table) {
        (0, true) => (PageStatus::Ok, vec![Reason::EmptyTable]),
        (0, false) => (PageStatus::Manual, vec![Reason::NoRecords]),
        _ => (PageStatus::Ok, Vec::new()),
    }
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
        let r: Vec<String> = judge_image(&blank).unwrap().iter().map(|r| r.to_string()).collect();
        assert!(r[0].starts_with("ink faded past reading or blank page"), "{r:?}");
        let empty = PageQuality {
            ink_fraction: 0.0001,
            contrast: 150.0,
            ..Default::default()
        };
        assert!(judge_image(&empty).unwrap()[0].to_string().starts_with("blank page"));
        let faded = PageQuality {
            ink_fraction: 0.03,
            contrast: 10.0,
            ..Default::default()
        };
        assert!(judge_image(&faded).unwrap()[0].to_string().starts_with("ink too faded"));
        let good = PageQuality {
            ink_fraction: 0.05,
            contrast: 120.0,
            ..Default::default()
        };
        assert!(judge_image(&good).is_none());
    }

    #[test]
    fn a_readable_page_without_records_is_for_entry_by_hand() {
        let q = PageQuality {
            ocr_confidence: 0.9,
            ..Default::default()
        };
        assert_eq!(
            judge_reading(&q, 40, 0, false),
            (PageStatus::Manual, vec![Reason::NoRecords])
        );
        assert_eq!(judge_reading(&q, 40, 0, true).0, PageStatus::Ok);
        assert_eq!(judge_reading(&q, 40, 3, false), (PageStatus::Ok, vec![]));
        assert_eq!(judge_reading(&q, 0, 0, false).0, PageStatus::NotEligible);
    }
}
