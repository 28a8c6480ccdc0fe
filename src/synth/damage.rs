//! Ageing a drawn page: yellowed and unevenly lit paper, faded ink, stains, noise, blur,
//! skew, a dark scanner border, torn corners, and a photograph's perspective.

use super::*;

/// Applies the damage to a clean page (ink 0 … paper 255).
pub(super) fn age(clean: GrayImage, d: &Damage, dpi: f32, rng: &mut SmallRng) -> GrayImage {
    let (w, h) = clean.dimensions();
    let paper = d.paper as f32;
    // Uneven light: a gentle gradient across the page.
    let gx = rng.gen_range(-12.0..12.0f32);
    let gy = rng.gen_range(-8.0..8.0f32);
    let stains: Vec<(f32, f32, f32, f32)> = (0..d.stains)
        .map(|_| {
            (
                rng.gen_range(0.0..w as f32),
                rng.gen_range(0.0..h as f32),
                rng.gen_range(0.04..0.12) * w as f32,
                rng.gen_range(25.0..60.0),
            )
        })
        .collect();
    let mut out = GrayImage::new(w, h);
    for (x, y, p) in clean.enumerate_pixels() {
        let fx = x as f32 / w as f32 - 0.5;
        let fy = y as f32 / h as f32 - 0.5;
        let mut bg = paper + gx * fx + gy * fy;
        for &(sx, sy, r, depth) in &stains {
            let dist = ((x as f32 - sx).powi(2) + (y as f32 - sy).powi(2)).sqrt() / r;
            if dist < 1.0 {
                bg -= depth * (1.0 - dist * dist);
            }
        }
        let ink_amount = 1.0 - p.0[0] as f32 / 255.0; // 0 paper … 1 full ink
        let v = bg - ink_amount * d.ink * (bg - 15.0);
        let n = if d.noise > 0.0 { gauss(rng) * d.noise } else { 0.0 };
        out.put_pixel(x, y, Luma([(v + n).clamp(0.0, 255.0) as u8]));
    }
    if d.blur > 0 {
        out = box_blur(&out, d.blur);
    }
    if d.skew_deg.abs() > 0.0 {
        out = rotate(&out, -d.skew_deg, d.paper);
    }
    if d.torn > 0.0 {
        // A ragged tear from the right edge: the scanner's dark lid shows through.
        let (w, h) = out.dimensions();
        let base = w as f32 * (1.0 - d.torn);
        let mut edge = base;
        for y in 0..h {
            edge = (edge + rng.gen_range(-3.0..3.0f32)).clamp(base - 0.05 * w as f32, base + 0.05 * w as f32);
            for x in edge.max(0.0) as u32..w {
                out.put_pixel(x, y, Luma([25]));
            }
        }
    }
    if d.border {
        let m = (dpi * 0.3) as u32;
        let (w, h) = out.dimensions();
        let mut canvas = GrayImage::from_pixel(w + 2 * m, h + 2 * m, Luma([30]));
        image::imageops::replace(&mut canvas, &out, m as i64, (m / 2) as i64);
        out = canvas;
    }
    if let Some(p) = d.photo {
        out = photograph(&out, p, rng);
    }
    out
}

/// The page as a hand-held camera sees it: on a darker table, each corner moved
/// (perspective), the lines bowed near the binding on the left (curl), a shadow falling
/// across one side, the light uneven.
pub(super) fn photograph(page: &GrayImage, p: Photo, rng: &mut SmallRng) -> GrayImage {
    use crate::restore::perspective::{sample, Homography};
    let (w, h) = (page.width() as f32, page.height() as f32);
    let (cw, ch) = ((w * 1.16) as u32, (h * 1.16) as u32);
    let (mx, my) = (w * 0.08, h * 0.08);
    let mut jitter = || rng.gen_range(-1.0..1.0f32) * p.perspective * w;
    // Keystone: the far edge (the top) narrower, then every corner moved a little more.
    let k = p.perspective * w * 0.8;
    let quad = [
        [mx + k + jitter(), my + jitter()],
        [mx + w - k + jitter(), my + jitter()],
        [mx + w + jitter() * 0.5, my + h + jitter() * 0.5],
        [mx + jitter() * 0.5, my + h + jitter() * 0.5],
    ];
    let rect = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let to_page = Homography::between(quad, rect).expect("a page's corners are not in a line");
    let side = rng.gen_bool(0.5);
    let table = rng.gen_range(35.0..75.0f32);
    let mut out = GrayImage::new(cw, ch);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let [u, v] = to_page.apply([x as f32 + 0.5, y as f32 + 0.5]);
        // Curl: near the binding the page lifts and its lines bow upwards.
        let lift = (1.0 - u / (0.2 * w)).max(0.0);
        let v = v + p.curl * h * lift * lift * (v / h - 0.5).abs().mul_add(-1.0, 1.0);
        let inside = u >= 0.0 && v >= 0.0 && u < w && v < h;
        let value = if inside {
            sample(page, [u, v], 255) as f32
        } else {
            table
        };
        // Shadow across one side, and light falling off towards the corners.
        let across = if side { u / w } else { 1.0 - u / w };
        let shade = p.shadow * (1.0 - across.clamp(0.0, 1.0)).powi(2);
        let (fx, fy) = (x as f32 / cw as f32 - 0.5, y as f32 / ch as f32 - 0.5);
        let vignette = 1.0 - 0.25 * (fx * fx + fy * fy);
        *px = Luma([((value - if inside { shade } else { 0.0 }) * vignette).clamp(0.0, 255.0) as u8]);
    }
    out
}

pub(super) fn gauss(rng: &mut SmallRng) -> f32 {
    // Box–Muller.
    let u1: f32 = rng.gen_range(1e-6..1.0);
    let u2: f32 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

pub(super) fn box_blur(img: &GrayImage, r: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let pass = |src: &GrayImage, horizontal: bool| -> GrayImage {
        let mut out = GrayImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let (mut s, mut n) = (0u32, 0u32);
                for k in -(r as i32)..=(r as i32) {
                    let (xx, yy) = if horizontal {
                        (x as i32 + k, y as i32)
                    } else {
                        (x as i32, y as i32 + k)
                    };
                    if xx >= 0 && yy >= 0 && (xx as u32) < w && (yy as u32) < h {
                        s += src.get_pixel(xx as u32, yy as u32).0[0] as u32;
                        n += 1;
                    }
                }
                out.put_pixel(x, y, Luma([(s / n) as u8]));
            }
        }
        out
    };
    pass(&pass(img, true), false)
}
