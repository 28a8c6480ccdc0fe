//! Synthetic damaged ledger pages with ground truth, for samples, tests and benchmarks.
//!
//! A page is a birth-register ledger (landscape, ruled table, printed headings) filled with
//! plausible records, then aged: yellowed and unevenly lit paper, faded ink, stains, noise,
//! blur, skew, a dark scanner border, torn corners. The truth (every field's printed text
//! and export value, the skew, whether the page is readable) is written beside the images.

mod content;
mod damage;
mod draw;
mod form;
mod ledger;
mod script;
mod sets;
mod typed;

use crate::eval::TruthField;
use crate::raster::{mm_px, px_per_mm};
use crate::restore::rotate;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
pub use content::COLUMNS;
use content::*;
use damage::*;
pub use draw::draw_line;
use draw::*;
use form::*;
use image::{GrayImage, Luma};
pub use ledger::render_page;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
pub use script::ScriptFace;
use serde::{Deserialize, Serialize};
pub use sets::{checks_specs, sample_specs, script_specs, variation_specs, varied_specs};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use typed::SynthBook;

/// Why synthesis failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// A font is not a font.
    #[error("font {0} cannot be parsed")]
    FontInvalid(String),
    /// A handwriting face is not installed.
    #[error("font {path} not found: install the Debian package {package} (scripts/setup --test does)")]
    FontMissing {
        /// The font file.
        path: &'static str,
        /// The package that installs it.
        package: &'static str,
    },
    /// Writing failed.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
}

/// How the values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hand {
    /// Typed (upright sans serif).
    Typed,
    /// Handwriting-like: slanted serif italic with a wandering baseline and size.
    Hand,
    /// A handwriting face, Vietnamese letters it lacks composed with pen strokes, with a
    /// wandering baseline and size.
    Script(ScriptFace),
}

impl Hand {
    /// Written by hand (with a wandering baseline), not typed.
    pub fn is_hand(self) -> bool {
        self != Hand::Typed
    }
}

/// The damage applied to a page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Damage {
    /// Ink strength 0..1 (1: full black ink, 0.2: barely visible).
    pub ink: f32,
    /// Paper grey level (255 white … 190 dark yellowed).
    pub paper: u8,
    /// Number of stains.
    pub stains: u32,
    /// Noise standard deviation, grey levels.
    pub noise: f32,
    /// Box blur radius in pixels (0: none).
    pub blur: u32,
    /// Content angle, degrees, counter-clockwise positive.
    pub skew_deg: f32,
    /// Dark border around the page.
    pub border: bool,
    /// Fraction of the page torn away from one side (0..1).
    pub torn: f32,
    /// How the table is ruled.
    #[serde(default)]
    pub rules: Rules,
    /// The page photographed rather than scanned.
    #[serde(default)]
    pub photo: Option<Photo>,
}

/// How a ledger page's table is ruled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rules {
    /// Printed rules as dark as the writing.
    #[default]
    Inked,
    /// Printed rules faded to a third of the writing's darkness, broken here and there.
    Faint,
    /// Thin grey rules drawn in pencil, wavering and often broken.
    Pencil,
    /// No rules between the rows (the frame and the header's rule only).
    NoRowRules,
    /// No rules between the columns (the frame only).
    NoColumnRules,
    /// No rules at all: a list set out in columns on plain paper.
    Unruled,
}

/// A page photographed with a hand-held camera.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    /// How far each corner moves, as a fraction of the page's width (keystone and tilt).
    pub perspective: f32,
    /// Page curl near the binding: the largest upward bow of a line, fraction of the height.
    pub curl: f32,
    /// Depth of the shadow falling across one side (grey levels).
    pub shadow: f32,
}

impl Damage {
    /// Clean paper, no damage.
    pub fn none() -> Damage {
        Damage {
            ink: 1.0,
            paper: 245,
            stains: 0,
            noise: 0.0,
            blur: 0,
            skew_deg: 0.0,
            border: false,
            torn: 0.0,
            rules: Rules::Inked,
            photo: None,
        }
    }
}

/// The truth about one page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TruthPage {
    /// File name of the page image.
    pub file: String,
    /// Skew applied, degrees counter-clockwise.
    pub skew_deg: f32,
    /// Whether the page is readable (`false`: expect `not_eligible`).
    pub eligible: bool,
    /// Writing style.
    pub hand: Hand,
    /// Damage applied.
    pub damage: Damage,
    /// Records, one per body row, field id → truth.
    pub records: Vec<BTreeMap<String, TruthField>>,
}

/// One page to make.
#[derive(Clone, Debug)]
pub struct PageSpec {
    /// File name (extension picks the format: `.png`, `.jpg`, `.tif`).
    pub file: String,
    /// Resolution.
    pub dpi: f32,
    /// Writing style.
    pub hand: Hand,
    /// Damage.
    pub damage: Damage,
    /// Body rows filled with records (the rest stay empty).
    pub records: u32,
    /// Registration year of the book.
    pub year: u32,
    /// First registration number on the page.
    pub first_number: u32,
    /// Random seed.
    pub seed: u64,
    /// Birth places of real communes from the gazetteer (most of them) besides a few
    /// historical ones; `false`: the fixed list of historical places only.
    pub real_places: bool,
    /// A form page (portrait, one record, values after printed labels) drawn in this
    /// style, instead of a ledger page.
    pub form: Option<FormStyle>,
    /// The file states no resolution.
    pub no_dpi: bool,
    /// Problems planted in the page's records, for the book checks.
    pub plant: Plant,
    /// A ledger's columns drawn wider or narrower than the template's by up to this
    /// fraction each (another printing of the book).
    pub column_jitter: f32,
    /// An open book's two pages side by side in one image, a ledger table on each (the
    /// right page's records numbered on from the left's), the binding's shadow between
    /// them; the damage is done to the whole.
    pub spread: bool,
    /// The book type drawn (birth unless said).
    pub book: SynthBook,
    /// Another printing of a type's ledger: the headings' other wordings and the bands in
    /// the other order (the wife's before the husband's).
    pub alt: bool,
}

/// Problems planted in a ledger page's records (rows 0-based, after the records are put
/// in registration order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plant {
    /// This row is entered again right below itself (same number, same person).
    pub duplicate_row: Option<usize>,
    /// This row's registration date is a year before the book's.
    pub wrong_year_row: Option<usize>,
    /// Registrations fall in these months (first, last) of the year, birth dates moved
    /// with them: pages of a book follow one another in time.
    pub months: Option<(u32, u32)>,
}

/// How a form page is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormStyle {
    /// Two label/value pairs on a line where they fit (date of birth and sex, ethnicity
    /// and nationality, number and registration date).
    pub paired: bool,
    /// Values written on dotted leader lines.
    pub leaders: bool,
    /// The labels' other wordings ("Họ và tên", "Ngày sinh", …), in bold, lines closer.
    pub other_labels: bool,
    /// Drawn in boxes: a ruled table of a label column without colons and a value
    /// column, one field a row (no pairs, no leaders).
    #[serde(default)]
    pub boxed: bool,
}

impl PageSpec {
    /// A typed, undamaged ledger page of ten records of 1983 at `dpi`, drawn from `seed`;
    /// change what a case needs with struct update syntax.
    pub fn ledger(file: &str, dpi: f32, seed: u64) -> PageSpec {
        PageSpec {
            file: file.to_string(),
            dpi,
            hand: Hand::Typed,
            damage: Damage::none(),
            records: 10,
            year: 1983,
            first_number: 1,
            seed,
            real_places: false,
            form: None,
            no_dpi: false,
            plant: Plant::default(),
            column_jitter: 0.0,
            spread: false,
            book: SynthBook::Ks,
            alt: false,
        }
    }
}

/// Writes pages to `out/books/<book>/` and their truth to `out/truth/<book>/<stem>.json`.
pub fn write_book(out: &Path, book: &str, specs: &[PageSpec]) -> Result<Vec<PathBuf>, SynthError> {
    let dir = out.join("books").join(book);
    let truth_dir = out.join("truth").join(book);
    let mut written = Vec::new();
    for spec in specs {
        let (img, truth) = render_page(spec)?;
        let bytes = crate::encode::page_file(&img, &spec.file, (!spec.no_dpi).then_some(spec.dpi));
        let path = dir.join(&spec.file);
        write(&path, &bytes)?;
        let stem = Path::new(&spec.file)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let json = serde_json::to_vec_pretty(&truth).expect("truth serializes");
        write(&truth_dir.join(format!("{stem}.json")), &json)?;
        written.push(path);
    }
    Ok(written)
}

/// `n` typed lines of record values (names, dates, places, numbers, notes as a register
/// prints them) in the built-in face at heights of 24–48 pixels, each with its text: what
/// `sohoa train` mixes into a book's handwritten lines so that a trained model goes on
/// reading typed pages. The same seed gives the same lines.
pub fn typed_lines(n: usize, seed: u64) -> Result<Vec<(String, GrayImage)>, SynthError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let mut number = 1;
    while out.len() < n {
        let year = rng.gen_range(1960..2006);
        for field in record(&mut rng, number, year, true).into_values() {
            let text = field.text.trim().to_string();
            if text.is_empty() || out.len() == n {
                continue;
            }
            let height = rng.gen_range(24..=48);
            out.push((text.clone(), draw_line(&text, None, height)?));
        }
        number += 1;
    }
    Ok(out)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    let io = |cause| SynthError::Io {
        path: path.to_path_buf(),
        cause,
    };
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(io)?;
    std::fs::write(path, bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    /// Every Vietnamese letter: the 12 vowels with each of the five tone marks (and
    /// none), in both cases, plus đ/Đ — 146 precomposed letters in all.
    fn vietnamese_letters() -> Vec<char> {
        let vowels = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"];
        let tones = ["", "\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"];
        let mut out = vec!['đ', 'Đ'];
        for v in vowels {
            for t in tones {
                let lower: String = format!("{v}{t}").nfc().collect();
                let upper: String = lower.to_uppercase().nfc().collect();
                out.extend(lower.chars().chain(upper.chars()));
            }
        }
        out
    }

    #[test]
    fn the_synthetic_faces_cover_every_vietnamese_letter() {
        let letters = vietnamese_letters();
        assert_eq!(letters.len(), 146);
        assert!(letters.iter().all(|c| c.to_string().nfc().count() == 1), "precomposed");
        let fonts = Fonts::BUILTIN;
        for (name, data) in [
            ("regular", fonts.regular),
            ("bold", fonts.bold),
            ("italic", fonts.italic),
        ] {
            let font = FontRef::try_from_slice(data).unwrap();
            let missing: String = letters.iter().filter(|&&c| font.glyph_id(c).0 == 0).collect();
            assert!(missing.is_empty(), "{name} lacks {missing}");
        }
    }

    #[test]
    fn typed_lines_are_record_values_drawn_alike_for_one_seed() {
        let a = typed_lines(30, 4).unwrap();
        assert_eq!(a.len(), 30);
        assert!(a
            .iter()
            .all(|(t, img)| !t.is_empty() && (24..=48).contains(&img.height())));
        assert!(a.iter().any(|(t, _)| t.split('/').count() == 3), "a date among them");
        let b = typed_lines(30, 4).unwrap();
        assert!(a.iter().zip(&b).all(|(x, y)| x.0 == y.0 && x.1 == y.1));
        assert_ne!(a[0].0, typed_lines(30, 5).unwrap()[0].0, "another seed, other lines");
    }
}
