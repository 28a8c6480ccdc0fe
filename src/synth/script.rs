//! Handwriting faces for synthetic pages, and Vietnamese letters they lack.
//!
//! The script faces Debian ships (Dancing Script, Kaushan Script, Kristi, Comic Neue,
//! Klee One, Humor Sans) cover Latin but not Vietnamese: most lack ơ, ư, đ and every
//! letter with a tone mark. A writer makes those from the base letter and pen strokes,
//! and so does [`draw_char`]: the face's own glyph when it has one, else the base letter
//! from the face and the marks — breve, circumflex, horn, the bar of đ, and the five tone
//! marks — drawn as strokes placed on the letter, a little askew as a hand would.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::GrayImage;
use rand::rngs::SmallRng;
use rand::Rng;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A handwriting face installed from Debian's packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptFace {
    /// Dancing Script: a lively joined script.
    DancingScript,
    /// Comic Neue: a round print hand.
    ComicNeue,
    /// Kristi: a fast felt-tip cursive.
    Kristi,
    /// Kaushan Script: a brush script.
    KaushanScript,
    /// Klee One: a pencil print hand.
    KleeOne,
    /// Humor Sans: an uneven print hand.
    HumorSans,
}

impl ScriptFace {
    /// The faces the decoding was tuned on.
    pub const TUNING: [ScriptFace; 3] = [ScriptFace::DancingScript, ScriptFace::ComicNeue, ScriptFace::Kristi];
    /// Faces kept out of tuning, to check against.
    pub const HELD_OUT: [ScriptFace; 3] = [ScriptFace::KaushanScript, ScriptFace::KleeOne, ScriptFace::HumorSans];

    /// The font file and the Debian package that installs it.
    pub fn file(self) -> (&'static str, &'static str) {
        match self {
            ScriptFace::DancingScript => (
                "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
                "fonts-dancingscript",
            ),
            ScriptFace::ComicNeue => (
                "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
                "fonts-comic-neue",
            ),
            ScriptFace::Kristi => ("/usr/share/fonts/truetype/kristi/Kristi.ttf", "fonts-kristi"),
            ScriptFace::KaushanScript => (
                "/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf",
                "fonts-kaushanscript",
            ),
            ScriptFace::KleeOne => ("/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf", "fonts-klee"),
            ScriptFace::HumorSans => (
                "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
                "fonts-humor-sans",
            ),
        }
    }

    /// The face's font program.
    pub fn load(self) -> Result<Vec<u8>, super::SynthError> {
        let (path, package) = self.file();
        std::fs::read(path).map_err(|_| super::SynthError::FontMissing { path, package })
    }
}

/// A mark drawn on a base letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Breve,
    Circumflex,
    Horn,
    Bar,
    Grave,
    Acute,
    Hook,
    Tilde,
    DotBelow,
}

/// The base letter and marks of a Vietnamese letter (`ệ` → `e`, circumflex, dot below);
/// `None` for a character that is no such letter.
fn decompose(c: char) -> Option<(char, Vec<Mark>)> {
    let (base, mut marks) = match c {
        'đ' => ('d', vec![Mark::Bar]),
        'Đ' => ('D', vec![Mark::Bar]),
        _ => {
            let mut it = c.to_string().nfd().collect::<Vec<char>>().into_iter();
            let base = it.next()?;
            let marks: Option<Vec<Mark>> = it
                .map(|m| match m {
                    '\u{306}' => Some(Mark::Breve),
                    '\u{302}' => Some(Mark::Circumflex),
                    '\u{31b}' => Some(Mark::Horn),
                    '\u{300}' => Some(Mark::Grave),
                    '\u{301}' => Some(Mark::Acute),
                    '\u{309}' => Some(Mark::Hook),
                    '\u{303}' => Some(Mark::Tilde),
                    '\u{323}' => Some(Mark::DotBelow),
                    _ => None,
                })
                .collect();
            (base, marks?)
        }
    };
    if marks.is_empty() {
        return None;
    }
    // Shape marks first, tone marks above them.
    marks.sort_by_key(|m| !matches!(m, Mark::Breve | Mark::Circumflex | Mark::Horn | Mark::Bar));
    Some((base, marks))
}

/// The character drawn for `c` by `font`: itself, or its base letter when the face lacks
/// it and it can be composed.
pub fn drawn_char<F: Font>(font: &F, c: char) -> char {
    if font.glyph_id(c).0 != 0 {
        return c;
    }
    match decompose(c) {
        Some((base, _)) => base,
        None => c,
    }
}

/// Draws `c` with its baseline's left end at `at` in grey `ink`; returns the advance.
/// Letters the face lacks are composed (see the module's documentation).
pub fn draw_char(
    img: &mut GrayImage,
    font: &FontRef,
    scale: PxScale,
    at: (f32, f32),
    c: char,
    ink: u8,
    rng: Option<&mut SmallRng>,
) -> f32 {
    let (x, y) = at;
    let sf = font.as_scaled(scale);
    let shown = drawn_char(font, c);
    let id = font.glyph_id(shown);
    let g = id.with_scale_and_position(scale, ab_glyph::point(x, y));
    let Some(og) = font.outline_glyph(g) else {
        return sf.h_advance(id);
    };
    let b = og.px_bounds();
    let (w, h) = img.dimensions();
    og.draw(|gx, gy, cov| {
        let px_x = b.min.x as i32 + gx as i32;
        let px_y = b.min.y as i32 + gy as i32;
        if px_x >= 0 && px_y >= 0 && (px_x as u32) < w && (px_y as u32) < h {
            blend(img, px_x as u32, px_y as u32, cov, ink);
        }
    });
    if shown != c {
        if let Some((_, marks)) = decompose(c) {
            let e = scale.y;
            let mut pen = Pen {
                img,
                ink,
                width: (0.075 * e).max(1.2),
            };
            let (jx, jy) = match rng {
                Some(r) => (r.gen_range(-0.03..0.03) * e, r.gen_range(-0.03..0.03) * e),
                None => (0.0, 0.0),
            };
            let glyph = Glyph {
                left: b.min.x + jx,
                right: b.max.x + jx,
                top: b.min.y + jy,
                baseline: y,
                em: e,
            };
            let mut above = glyph.top - 0.06 * e;
            for m in marks {
                above = pen.mark(m, &glyph, above);
            }
        }
    }
    sf.h_advance(id)
}

/// Darkens a pixel towards `ink` by `coverage`.
fn blend(img: &mut GrayImage, x: u32, y: u32, coverage: f32, ink: u8) {
    let p = img.get_pixel_mut(x, y);
    let v = p.0[0] as f32 * (1.0 - coverage) + ink as f32 * coverage;
    p.0[0] = p.0[0].min(v.round() as u8);
}

/// Where a base letter lies.
struct Glyph {
    left: f32,
    right: f32,
    top: f32,
    baseline: f32,
    em: f32,
}

/// Draws strokes of a round pen.
struct Pen<'a> {
    img: &'a mut GrayImage,
    ink: u8,
    width: f32,
}

impl Pen<'_> {
    /// Draws a mark on `g`; `above` is the lowest free height above the letter. Returns
    /// it again, raised past what was drawn above the letter.
    fn mark(&mut self, m: Mark, g: &Glyph, above: f32) -> f32 {
        let e = g.em;
        let cx = (g.left + g.right) / 2.0;
        let pts: Vec<(f32, f32)> = match m {
            Mark::Acute => vec![(cx - 0.05 * e, above), (cx + 0.08 * e, above - 0.18 * e)],
            Mark::Grave => vec![(cx + 0.05 * e, above), (cx - 0.08 * e, above - 0.18 * e)],
            Mark::Hook => vec![
                (cx - 0.06 * e, above - 0.15 * e),
                (cx, above - 0.2 * e),
                (cx + 0.06 * e, above - 0.14 * e),
                (cx, above - 0.07 * e),
                (cx, above - 0.01 * e),
            ],
            Mark::Tilde => (0..=8)
                .map(|i| {
                    let t = i as f32 / 8.0;
                    let x = cx - 0.12 * e + t * 0.24 * e;
                    (x, above - 0.08 * e - 0.05 * e * (t * std::f32::consts::TAU).sin())
                })
                .collect(),
            Mark::Circumflex => vec![(cx - 0.1 * e, above), (cx, above - 0.13 * e), (cx + 0.1 * e, above)],
            Mark::Breve => (0..=8)
                .map(|i| {
                    let a = std::f32::consts::PI * i as f32 / 8.0;
                    (cx - 0.1 * e * a.cos(), above - 0.12 * e + 0.1 * e * a.sin())
                })
                .collect(),
            Mark::Horn => {
                let (x, y) = (g.right - 0.02 * e, g.top + 0.06 * e);
                self.stroke(&[(x, y), (x + 0.07 * e, y - 0.04 * e), (x + 0.09 * e, y - 0.12 * e)]);
                return above;
            }
            Mark::Bar => {
                let y = g.top + 0.3 * (g.baseline - g.top);
                let w = g.right - g.left;
                let pts = if g.right - g.left > 0.45 * e {
                    // Đ: across the stem, at the left.
                    let y = (g.top + g.baseline) / 2.0;
                    [(g.left - 0.06 * e, y), (g.left + 0.3 * w, y)]
                } else {
                    [(g.right - 0.45 * w, y), (g.right + 0.08 * e, y)]
                };
                self.stroke(&pts);
                return above;
            }
            Mark::DotBelow => {
                self.dot(cx, g.baseline + 0.12 * e, 0.05 * e);
                return above;
            }
        };
        self.stroke(&pts);
        let top = pts.iter().map(|p| p.1).fold(f32::INFINITY, f32::min);
        top - 0.05 * e
    }

    /// A polyline.
    fn stroke(&mut self, pts: &[(f32, f32)]) {
        for s in pts.windows(2) {
            self.segment(s[0], s[1]);
        }
    }

    /// One straight stroke, anti-aliased by the distance of each pixel to it.
    fn segment(&mut self, a: (f32, f32), b: (f32, f32)) {
        let r = self.width / 2.0;
        let (w, h) = self.img.dimensions();
        let x0 = (a.0.min(b.0) - r - 1.0).floor().max(0.0) as u32;
        let y0 = (a.1.min(b.1) - r - 1.0).floor().max(0.0) as u32;
        let x1 = ((a.0.max(b.0) + r + 1.0).ceil() as u32).min(w);
        let y1 = ((a.1.max(b.1) + r + 1.0).ceil() as u32).min(h);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        for y in y0..y1 {
            for x in x0..x1 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0);
                let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
                let d = ((px - qx).powi(2) + (py - qy).powi(2)).sqrt();
                let cov = (r + 0.5 - d).clamp(0.0, 1.0);
                if cov > 0.0 {
                    blend(self.img, x, y, cov, self.ink);
                }
            }
        }
    }

    /// A filled round dot.
    fn dot(&mut self, cx: f32, cy: f32, radius: f32) {
        let width = self.width;
        self.width = 2.0 * radius.max(width / 2.0);
        self.segment((cx, cy), (cx, cy));
        self.width = width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_letters_decompose_into_a_base_and_its_marks() {
        assert_eq!(decompose('ệ'), Some(('e', vec![Mark::Circumflex, Mark::DotBelow])));
        assert_eq!(decompose('ữ'), Some(('u', vec![Mark::Horn, Mark::Tilde])));
        assert_eq!(decompose('Đ'), Some(('D', vec![Mark::Bar])));
        assert_eq!(decompose('ằ'), Some(('a', vec![Mark::Breve, Mark::Grave])));
        assert_eq!(decompose('a'), None);
        assert_eq!(decompose('ç'), None, "a cedilla is no Vietnamese mark");
    }

    #[test]
    fn a_face_without_vietnamese_letters_draws_them_with_marks() {
        let Ok(bytes) = ScriptFace::DancingScript.load() else {
            eprintln!("skipped: Dancing Script is not installed (scripts/setup --test)");
            return;
        };
        let font = FontRef::try_from_slice(&bytes).unwrap();
        assert_eq!(font.glyph_id('ư').0, 0, "the face lacks ư: the test proves nothing");
        let ink = |c: char| {
            let mut img = GrayImage::from_pixel(120, 120, image::Luma([255]));
            draw_char(&mut img, &font, PxScale::from(60.0), (30.0, 80.0), c, 0, None);
            img.pixels().filter(|p| p.0[0] < 128).count()
        };
        // The composed letter has the base's ink and more: the horn and the tilde.
        assert!(ink('ữ') > ink('u') + 20, "{} vs {}", ink('ữ'), ink('u'));
        assert!(ink('ị') > ink('i'));
    }
}
