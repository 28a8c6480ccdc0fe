//! Drawing on a page: text in the compiled-in faces (typed, or a hand), rules and boxes.

use super::*;

/// The faces pages are drawn with: DejaVu subsets compiled in (`fonts/`, see its
/// LICENSE), so that the pages, and the golden images drawn from them, do not change with
/// the fonts a system has installed.
pub(super) struct Fonts {
    pub(super) regular: &'static [u8],
    pub(super) bold: &'static [u8],
    pub(super) italic: &'static [u8],
}

impl Fonts {
    pub(super) const BUILTIN: Fonts = Fonts {
        regular: include_bytes!("fonts/DejaVuSans.ttf"),
        bold: include_bytes!("fonts/DejaVuSansCondensed-Bold.ttf"),
        italic: include_bytes!("fonts/DejaVuSerifCondensed-Italic.ttf"),
    };

    /// The built-in faces, parsed: regular, bold, italic.
    pub(super) fn parsed() -> Result<[FontRef<'static>; 3], SynthError> {
        let f = Fonts::BUILTIN;
        let parse = |bytes: &'static [u8], name: &str| {
            FontRef::try_from_slice(bytes).map_err(|_| SynthError::FontInvalid(name.into()))
        };
        Ok([
            parse(f.regular, "regular")?,
            parse(f.bold, "bold")?,
            parse(f.italic, "italic")?,
        ])
    }
}

/// The handwriting face's file, when the page is written in one (parsed by the caller:
/// the face borrows the bytes).
pub(super) fn script_bytes(hand: Hand) -> Result<Vec<u8>, SynthError> {
    match hand {
        Hand::Script(face) => face.load(),
        _ => Ok(Vec::new()),
    }
}

/// The handwriting face parsed from [`script_bytes`].
pub(super) fn script_face(hand: Hand, bytes: &[u8]) -> Result<Option<FontRef<'_>>, SynthError> {
    match hand {
        Hand::Script(face) => FontRef::try_from_slice(bytes)
            .map(Some)
            .map_err(|_| SynthError::FontInvalid(format!("{face:?}"))),
        _ => Ok(None),
    }
}

/// One line of `text` on white, `height` pixels high: typed (DejaVu Sans) or in a
/// handwriting face, for the line model's tests.
pub fn draw_line(text: &str, hand: Option<ScriptFace>, height: u32) -> Result<GrayImage, SynthError> {
    let bytes = match hand {
        Some(face) => face.load()?,
        None => Fonts::BUILTIN.regular.to_vec(),
    };
    let font = FontRef::try_from_slice(&bytes).map_err(|_| SynthError::FontInvalid(format!("{hand:?}")))?;
    let px = match hand {
        Some(_) => script_px(&font, height as f32 * 0.3),
        None => height as f32 * 0.62,
    };
    let width = (text_width(&font, px, text) + height as f32).ceil() as u32;
    let mut img = GrayImage::from_pixel(width, height, Luma([255]));
    draw_text(
        &mut img,
        &font,
        px,
        height as f32 / 2.0,
        height as f32 * 0.72,
        text,
        20,
        None,
    );
    Ok(img)
}

/// The size at which a face's `x` is `x_height` pixels tall: handwriting faces differ
/// widely in how much of the em their letters fill.
pub(super) fn script_px(font: &FontRef, x_height: f32) -> f32 {
    let probe = 100.0;
    let g = font.glyph_id('x').with_scale(PxScale::from(probe));
    let h = font.outline_glyph(g).map_or(probe / 2.0, |o| o.px_bounds().height());
    probe * x_height / h.max(1.0)
}

#[allow(clippy::too_many_arguments)]
/// Draws `text` with its baseline at (`x`, `y`); returns the advance. `jitter` wobbles
/// the baseline and size per character (handwriting-like).
pub(super) fn draw_text(
    img: &mut GrayImage,
    font: &FontRef,
    px: f32,
    x: f32,
    y: f32,
    text: &str,
    ink: u8,
    mut jitter: Option<&mut SmallRng>,
) -> f32 {
    let mut cx = x;
    for c in text.chars() {
        let (dy, ds) = match jitter.as_deref_mut() {
            Some(r) => (r.gen_range(-0.04..0.04) * px, r.gen_range(0.94..1.06)),
            None => (0.0, 1.0),
        };
        let scale = PxScale::from(px * ds);
        cx += script::draw_char(img, font, scale, (cx, y + dy), c, ink, jitter.as_deref_mut());
    }
    cx - x
}

pub(super) fn text_width(font: &FontRef, px: f32, text: &str) -> f32 {
    let sf = font.as_scaled(PxScale::from(px));
    text.chars()
        .map(|c| sf.h_advance(font.glyph_id(script::drawn_char(font, c))))
        .sum()
}

/// Splits text into lines that fit `width`.
pub(super) fn wrap(font: &FontRef, px: f32, text: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let cand = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && text_width(font, px, &cand) > width {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        } else {
            cur = cand;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

pub(super) fn fill_rect(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32, v: u8) {
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            img.put_pixel(x, y, Luma([v]));
        }
    }
}

/// Draws one ruling line across `from..to` at `pos` (horizontal: `pos` is y), in the
/// style of `rules`: inked solid, faint and broken, or pencil (thin, grey, wavering).
#[allow(clippy::too_many_arguments)]
pub(super) fn draw_rule(
    img: &mut GrayImage,
    rng: &mut SmallRng,
    rules: Rules,
    horizontal: bool,
    pos: f32,
    from: f32,
    to: f32,
    width: u32,
    mm: f32,
) {
    let (shade, width, gaps_per_m, wander) = match rules {
        Rules::Faint => (170u8, width, 12.0, 0.0),
        Rules::Pencil => (185, 1.max(width / 2), 25.0, 0.6),
        _ => (0, width, 0.0, 0.0),
    };
    let (mut t, mut drift) = (from, 0.0f32);
    let mut gap_until = from;
    while t < to {
        if gaps_per_m > 0.0 && t >= gap_until && rng.gen_bool(((gaps_per_m / 1000.0) / mm) as f64) {
            gap_until = t + rng.gen_range(0.5..2.5) * mm;
        }
        if wander > 0.0 {
            drift = (drift + rng.gen_range(-0.08..0.08f32)).clamp(-wander * mm, wander * mm);
        }
        if t >= gap_until {
            let p = (pos + drift).max(0.0) as u32;
            let t0 = t as u32;
            if horizontal {
                fill_rect(img, t0, p, t0 + 1, p + width, shade);
            } else {
                fill_rect(img, p, t0, p + width, t0 + 1, shade);
            }
        }
        t += 1.0;
    }
}

/// A pen's straight stroke from `a` to `b`, `width` pixels wide.
pub(super) fn stroke(img: &mut GrayImage, a: (f32, f32), b: (f32, f32), width: f32, ink: u8) {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt().max(1.0);
    let r = width / 2.0;
    for k in 0..=(len * 2.0) as u32 {
        let t = k as f32 / (len * 2.0);
        let (cx, cy) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for y in (cy - r).floor() as i32..=(cy + r).ceil() as i32 {
            for x in (cx - r).floor() as i32..=(cx + r).ceil() as i32 {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                if d <= r && x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
                    let p = img.get_pixel_mut(x as u32, y as u32);
                    p.0[0] = p.0[0].min(ink);
                }
            }
        }
    }
}
