//! Stage 1: restore a scanned page — deskew, flatten the paper, mask the dark border,
//! bring faded ink forward, binarize, and turn pages scanned on their side or upside
//! down (see [`orient`]).
//!
//! Input is the decoded 8-bit grey frame; output is a [`RestoredPage`] holding the
//! deskewed, background-normalized grey page (for OCR, the PDF and the review screen), its
//! black-and-white version (for layout analysis), and the measures the eligibility check
//! uses. Pure functions of the pixels: no files, no threads.

pub mod dewarp;
pub mod orient;
pub mod perspective;

use crate::model::PageQuality;
use image::GrayImage;

/// Tunable settings of the restoration stage.
#[derive(Clone, Debug)]
pub struct RestoreOptions {
    /// Largest skew searched, degrees either way.
    pub max_skew_deg: f32,
    /// Sauvola sensitivity `k`.
    pub sauvola_k: f32,
    /// Detect pages turned a quarter or upside down (see [`orient`]).
    pub detect_orientation: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            max_skew_deg: 20.0,
            // On the flattened, stretched page a higher k than Sauvola's usual 0.2 keeps
            // stains and bleed-through out (DIBCO 2009–2012: 87.4 F at 0.35, 81.7 at 0.2).
            sauvola_k: 0.35,
            detect_orientation: true,
        }
    }
}

/// The restored page.
#[derive(Clone, Debug)]
pub struct RestoredPage {
    /// Deskewed, background-normalized grey page: paper near 255, ink dark.
    pub gray: GrayImage,
    /// Deskewed black-and-white page: ink 0, paper 255.
    pub binary: GrayImage,
    /// Angle of the content as found, degrees, counter-clockwise positive.
    pub skew_deg: f32,
    /// How far the page's ruled lines were bent where it curled, pixels (0 when they ran
    /// straight; see [`dewarp`]).
    pub bend_px: f32,
    /// Readability measures (OCR confidence filled in later).
    pub quality: PageQuality,
}

/// Restores one page. `dpi` scales the window sizes.
pub fn restore(gray: &GrayImage, dpi: f32, opts: &RestoreOptions) -> RestoredPage {
    let mut page = level(gray, dpi, opts);
    // A page curled near the binding: its rules straightened.
    if let Some(curl) = dewarp::find(&page.binary, dpi) {
        page.gray = curl.undo(&page.gray, 255, false);
        page.binary = curl.undo(&page.binary, 255, true);
        page.bend_px = curl.largest();
    }
    page
}

/// The page deskewed, cleaned, and turned the right way up.
fn level(gray: &GrayImage, dpi: f32, opts: &RestoreOptions) -> RestoredPage {
    let skew_deg = estimate_skew(gray, dpi, opts.max_skew_deg);
    let page = level_and_clean(gray, skew_deg, dpi, opts);
    let quarter = if opts.detect_orientation {
        orient::detect(&page.binary, dpi)
    } else {
        0
    };
    if quarter == 0 {
        return page;
    }
    // Turned or upside down (rare): the lines' angle again on the page turned the right
    // way (quarter turns are exact), then one rotation by the whole angle.
    let turned = rotate(gray, quarter as f32, 255);
    let mut total = quarter as f32 + estimate_skew(&turned, dpi, opts.max_skew_deg);
    if total > 180.0 {
        total -= 360.0;
    }
    level_and_clean(gray, total, dpi, opts)
}

fn level_and_clean(gray: &GrayImage, skew_deg: f32, dpi: f32, opts: &RestoreOptions) -> RestoredPage {
    let rotated = if skew_deg.abs() >= 0.05 {
        rotate(gray, skew_deg, 255)
    } else {
        gray.clone()
    };
    clean(rotated, skew_deg, dpi, opts)
}

/// The restored (flat, paper near white) page in black and white: a fixed threshold
/// keeps faint strokes that a local one would thin.
pub fn threshold_restored(gray: &GrayImage) -> GrayImage {
    GrayImage::from_fn(gray.width(), gray.height(), |x, y| {
        image::Luma([if gray.get_pixel(x, y).0[0] < 160 { 0 } else { 255 }])
    })
}

/// Binarizes a page as it lies (no deskew): text 0 on paper 255, same size as the input.
pub fn binarize(gray: &GrayImage, dpi: f32, opts: &RestoreOptions) -> GrayImage {
    clean(gray.clone(), 0.0, dpi, opts).binary
}

/// Flattens, masks, stretches and binarizes an upright page.
fn clean(rotated: GrayImage, skew_deg: f32, dpi: f32, opts: &RestoreOptions) -> RestoredPage {
    let block = block_size(dpi);
    let bg = Background::estimate(&rotated, block);
    let (mut norm, outside) = bg.normalize(&rotated);
    let missing_fraction = outside.iter().filter(|&&o| o).count() as f32 / outside.len().max(1) as f32;
    let (gain, white_from) = stretch_ink(&mut norm);
    // Binarize before the paper grain is whitened: the faintest stroke pixels lie there.
    let binary = sauvola(&norm, window_size(dpi), opts.sauvola_k);
    whiten_paper(&mut norm, white_from);
    let contrast = ink_depth(&norm, &binary, gain);
    let page_area = (norm.width() as f32 * norm.height() as f32) * (1.0 - missing_fraction);
    let ink = binary.as_raw().iter().filter(|&&p| p == 0).count() as f32;
    RestoredPage {
        gray: norm,
        binary,
        skew_deg,
        bend_px: 0.0,
        quality: PageQuality {
            missing_fraction,
            ink_fraction: if page_area > 0.0 { ink / page_area } else { 0.0 },
            contrast,
            ocr_confidence: 0.0,
        },
    }
}

/// Side of the square blocks used to estimate the paper level: about 5 mm.
fn block_size(dpi: f32) -> u32 {
    ((dpi / 5.0).round() as u32).clamp(16, 256)
}

/// Sauvola window: about 2.5 mm, odd.
fn window_size(dpi: f32) -> u32 {
    (((dpi / 10.0).round() as u32) | 1).clamp(15, 101)
}

/// Estimates the skew of the content (ruled lines and text lines) by maximizing the
/// sharpness of the horizontal projection profile of ink points over candidate angles,
/// coarse to fine. Returns degrees, counter-clockwise positive.
pub fn estimate_skew(gray: &GrayImage, dpi: f32, max_deg: f32) -> f32 {
    // Work at about 100 dpi: text lines stay separate, the point set stays small.
    let scale = (100.0 / dpi.max(50.0)).min(1.0);
    let small = downscale(gray, scale);
    let points = ink_points(&small);
    if points.len() < 50 {
        return 0.0;
    }
    // The coarse sweep over the whole range only has to find the right half degree: a
    // quarter of the points does that; the finer passes use them all.
    let sparse: Vec<(f32, f32)> = points.iter().step_by(4).copied().collect();
    let score_with =
        |pts: &[(f32, f32)], deg: f32| -> f64 { profile_sharpness(pts, small.width(), small.height(), deg) };
    let score = |deg: f32| score_with(&points, deg);
    let mut best = 0.0f32;
    let mut best_score = f64::MIN;
    let mut step = 0.5f32;
    let mut lo = -max_deg;
    let mut hi = max_deg;
    for pass in 0..4 {
        let pts: &[(f32, f32)] = if pass == 0 && sparse.len() >= 2000 {
            &sparse
        } else {
            &points
        };
        if pass == 1 {
            best_score = f64::MIN;
        }
        let mut a = lo;
        while a <= hi + 1e-4 {
            let s = score_with(pts, a);
            if s > best_score {
                best_score = s;
                best = a;
            }
            a += step;
        }
        lo = best - step;
        hi = best + step;
        step /= 5.0;
    }
    // Parabolic refinement around the best angle.
    let h = step * 5.0;
    let (s0, s1, s2) = (score(best - h), best_score, score(best + h));
    let denom = s0 - 2.0 * s1 + s2;
    if denom < 0.0 {
        let off = (0.5 * (s0 - s2) / denom) as f32;
        if off.abs() <= 1.0 {
            best += off * h;
        }
    }
    (best * 100.0).round() / 100.0
}

/// Dark pixels of a small page, as (x, y), at most ~200k. Background around the page
/// (and the page edge next to it) is left out: its long straight edges are not the
/// content's lines.
fn ink_points(small: &GrayImage) -> Vec<(f32, f32)> {
    let bin = sauvola(small, 15, 0.25);
    let (w, h) = small.dimensions();
    let block = 16;
    let bg = Background::estimate(small, block);
    let near_outside = |x: u32, y: u32| -> bool {
        let (bx, by) = ((x / block) as i64, (y / block) as i64);
        (-1..=1).any(|dy| {
            (-1..=1).any(|dx| {
                let (nx, ny) = (bx + dx, by + dy);
                nx >= 0
                    && ny >= 0
                    && (nx as u32) < bg.gw
                    && (ny as u32) < bg.gh
                    && bg.raw[(ny as u32 * bg.gw + nx as u32) as usize] < DARK_PAPER
            })
        })
    };
    // Ignore a margin: scanner borders and page edges are long dark lines too.
    let mx = w / 25;
    let my = h / 25;
    let mut pts = Vec::new();
    for y in my..h.saturating_sub(my) {
        for x in mx..w.saturating_sub(mx) {
            if bin.get_pixel(x, y).0[0] == 0 && !near_outside(x, y) {
                pts.push((x as f32, y as f32));
            }
        }
    }
    let step = (pts.len() / 200_000).max(1);
    pts.into_iter().step_by(step).collect()
}

/// Sum of squared bin counts of the projection at `deg` (counter-clockwise content angle).
fn profile_sharpness(points: &[(f32, f32)], w: u32, h: u32, deg: f32) -> f64 {
    let t = deg.to_radians();
    let (s, c) = t.sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let n = (w + h) as usize * 2;
    let mut bins = vec![0u32; n];
    let off = n as f32 / 2.0;
    for &(x, y) in points {
        let yp = (x - cx) * s + (y - cy) * c + off;
        let i = yp as isize;
        if i >= 0 && (i as usize) < n {
            bins[i as usize] += 1;
        }
    }
    bins.iter().map(|&b| (b as f64) * (b as f64)).sum()
}

/// Area-averaging downscale by `scale` (≤ 1).
pub fn downscale(img: &GrayImage, scale: f32) -> GrayImage {
    if scale >= 0.999 {
        return img.clone();
    }
    let f = (1.0 / scale).round().max(1.0) as usize;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (sw, sh) = ((w / f).max(1), (h / f).max(1));
    let mut out = vec![0u8; sw * sh];
    let raw = img.as_raw();
    // Column sums over a band of `f` rows (one add per pixel, in memory order), then
    // sums of `f` columns.
    let used = (sw * f).min(w);
    let mut acc = vec![0u32; used];
    for (sy, out_row) in out.chunks_exact_mut(sw).enumerate() {
        acc.iter_mut().for_each(|a| *a = 0);
        let band = sy * f..((sy + 1) * f).min(h);
        let rows = band.len().max(1);
        for y in band {
            for (a, &v) in acc.iter_mut().zip(&raw[y * w..y * w + used]) {
                *a += v as u32;
            }
        }
        let n = (rows * f.min(w)) as u32;
        for (o, cols) in out_row.iter_mut().zip(acc.chunks(f)) {
            *o = (cols.iter().sum::<u32>() / n) as u8;
        }
    }
    GrayImage::from_raw(sw as u32, sh as u32, out).expect("buffer size matches")
}

/// Rotates the page so that content at `deg` (counter-clockwise) becomes level. The canvas
/// grows to hold the whole rotated page; new area is filled with `fill`. Bilinear sampling.
pub fn rotate(img: &GrayImage, deg: f32, fill: u8) -> GrayImage {
    let (w, h) = img.dimensions();
    let t = deg.to_radians();
    let (s, c) = t.sin_cos();
    let nw = (w as f32 * c.abs() + h as f32 * s.abs()).round() as u32;
    let nh = (w as f32 * s.abs() + h as f32 * c.abs()).round() as u32;
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let (ncx, ncy) = (nw as f64 / 2.0, nh as f64 / 2.0);
    let src = img.as_raw();
    let mut out = vec![fill; (nw * nh) as usize];
    let ws = w as usize;
    // Fixed point, 16 fractional bits; the source point moves by (c, −s) per output pixel.
    const ONE: f64 = 65536.0;
    let (c64, s64) = (c as f64, s as f64);
    let step_x = (c64 * ONE).round() as i64;
    let step_y = (-s64 * ONE).round() as i64;
    let max_x = ((w as i64 - 1) << 16) as f64;
    let max_y = ((h as i64 - 1) << 16) as f64;
    for y in 0..nh {
        let dy = y as f64 + 0.5 - ncy;
        let dx0 = 0.5 - ncx;
        // Source point of the row's first pixel: the output point turned counter-clockwise.
        let mut sx = ((cx + dx0 * c64 + dy * s64 - 0.5) * ONE).round() as i64;
        let mut sy = ((cy - dx0 * s64 + dy * c64 - 0.5) * ONE).round() as i64;
        let row = &mut out[(y * nw) as usize..((y + 1) * nw) as usize];
        // Output pixels whose four source pixels all lie inside the image: no clamping.
        let (lo, hi) = interior_span(sx, sy, step_x, step_y, (w as i64 - 1) << 16, (h as i64 - 1) << 16, nw);
        let mut x = 0usize;
        while x < lo {
            rotate_edge_pixel(&mut row[x], sx, sy, src, ws, h as usize, max_x, max_y);
            sx += step_x;
            sy += step_y;
            x += 1;
        }
        for px in &mut row[lo..hi] {
            let x0 = (sx >> 16) as usize;
            let y0 = (sy >> 16) as usize;
            let ax = ((sx & 0xFFFF) >> 8) as u32;
            let ay = ((sy & 0xFFFF) >> 8) as u32;
            let i = y0 * ws + x0;
            let top = src[i] as u32 * (256 - ax) + src[i + 1] as u32 * ax;
            let bot = src[i + ws] as u32 * (256 - ax) + src[i + ws + 1] as u32 * ax;
            *px = ((top * (256 - ay) + bot * ay + 32768) >> 16) as u8;
            sx += step_x;
            sy += step_y;
        }
        for px in row[hi.max(lo)..].iter_mut() {
            rotate_edge_pixel(px, sx, sy, src, ws, h as usize, max_x, max_y);
            sx += step_x;
            sy += step_y;
        }
    }
    GrayImage::from_raw(nw, nh, out).expect("buffer size matches")
}

/// The span `[lo, hi)` of a row's output pixels whose source point `(sx + i·dx, sy + i·dy)`
/// (16.16 fixed point) lies in `[0, lim_x) × [0, lim_y)`, so that the pixel right of and
/// below it exist too.
fn interior_span(sx: i64, sy: i64, dx: i64, dy: i64, lim_x: i64, lim_y: i64, n: u32) -> (usize, usize) {
    let (mut lo, mut hi) = (0i64, n as i64);
    for (start, step, lim) in [(sx, dx, lim_x), (sy, dy, lim_y)] {
        // start + i·step ≥ 0 and start + i·step ≤ lim − 1.
        if step == 0 {
            if start < 0 || start > lim - 1 {
                return (0, 0);
            }
        } else if step > 0 {
            lo = lo.max(div_ceil(-start, step));
            hi = hi.min(div_floor(lim - 1 - start, step) + 1);
        } else {
            lo = lo.max(div_ceil(start - (lim - 1), -step));
            hi = hi.min(div_floor(start, -step) + 1);
        }
    }
    if hi <= lo {
        return (0, 0);
    }
    (lo as usize, hi as usize)
}

fn div_floor(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// One output pixel near the image's edge: clamped bilinear sampling; half a pixel beyond
/// the edge still samples the edge pixel, further out keeps the fill.
#[allow(clippy::too_many_arguments)]
fn rotate_edge_pixel(px: &mut u8, sx: i64, sy: i64, src: &[u8], ws: usize, hs: usize, max_x: f64, max_y: f64) {
    if sx < -32768 || sy < -32768 || sx as f64 > max_x + 32768.0 || sy as f64 > max_y + 32768.0 {
        return;
    }
    let cxp = sx.clamp(0, max_x as i64);
    let cyp = sy.clamp(0, max_y as i64);
    let x0 = (cxp >> 16) as usize;
    let y0 = (cyp >> 16) as usize;
    let x1 = (x0 + 1).min(ws - 1);
    let y1 = (y0 + 1).min(hs - 1);
    let ax = ((cxp & 0xFFFF) >> 8) as u32;
    let ay = ((cyp & 0xFFFF) >> 8) as u32;
    let p00 = src[y0 * ws + x0] as u32;
    let p01 = src[y0 * ws + x1] as u32;
    let p10 = src[y1 * ws + x0] as u32;
    let p11 = src[y1 * ws + x1] as u32;
    let top = p00 * (256 - ax) + p01 * ax;
    let bot = p10 * (256 - ax) + p11 * ax;
    *px = ((top * (256 - ay) + bot * ay + 32768) >> 16) as u8;
}

/// The paper level over the page, on a grid of blocks.
struct Background {
    block: u32,
    gw: u32,
    gh: u32,
    /// Paper grey level per block (after smoothing).
    level: Vec<f32>,
    /// Raw (unsmoothed) 90th percentile per block: dark where there is no paper.
    raw: Vec<f32>,
}

/// Below this paper level a block is background behind the page, not paper.
const DARK_PAPER: f32 = 70.0;
/// [`DARK_PAPER`] as a grey level: darker pixels are background.
const DARK: u8 = DARK_PAPER as u8;

impl Background {
    fn estimate(img: &GrayImage, block: u32) -> Background {
        let (w, h) = img.dimensions();
        let gw = w.div_ceil(block);
        let gh = h.div_ceil(block);
        let mut raw = vec![0f32; (gw * gh) as usize];
        let src = img.as_raw();
        for gy in 0..gh {
            for gx in 0..gw {
                let mut hist = [0u32; 256];
                let mut n = 0u32;
                for y in (gy * block..((gy + 1) * block).min(h)).step_by(2) {
                    let row = &src[(y * w) as usize..((y + 1) * w) as usize];
                    for x in (gx * block..((gx + 1) * block).min(w)).step_by(2) {
                        hist[row[x as usize] as usize] += 1;
                        n += 1;
                    }
                }
                raw[(gy * gw + gx) as usize] = percentile(&hist, n, 0.9);
            }
        }
        // Smooth the paper level with a 5×5 max-then-mean so that blocks full of ink
        // (a heading, a thick stroke) borrow the level of the paper around them.
        let mut level = raw.clone();
        let get = |v: &Vec<f32>, x: i64, y: i64| -> Option<f32> {
            (x >= 0 && y >= 0 && x < gw as i64 && y < gh as i64).then(|| v[(y * gw as i64 + x) as usize])
        };
        let mut dilated = raw.clone();
        for gy in 0..gh as i64 {
            for gx in 0..gw as i64 {
                let me = raw[(gy * gw as i64 + gx) as usize];
                if me < DARK_PAPER {
                    continue;
                }
                let mut m = me;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        if let Some(v) = get(&raw, gx + dx, gy + dy) {
                            if v >= DARK_PAPER {
                                m = m.max(v);
                            }
                        }
                    }
                }
                // Only lift a block a little: a real stain keeps its own level.
                dilated[(gy * gw as i64 + gx) as usize] = me.max(m - 25.0);
            }
        }
        for gy in 0..gh as i64 {
            for gx in 0..gw as i64 {
                let (mut s, mut n) = (0f32, 0f32);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        if let Some(v) = get(&dilated, gx + dx, gy + dy) {
                            if v >= DARK_PAPER {
                                s += v;
                                n += 1.0;
                            }
                        }
                    }
                }
                level[(gy * gw as i64 + gx) as usize] = if n > 0.0 { s / n } else { 255.0 };
            }
        }
        Background {
            block,
            gw,
            gh,
            level,
            raw,
        }
    }

    /// Pixels of the dark background (or of a tear) that reach into blocks with paper:
    /// dark areas (not strokes: every pixel of a `r`-radius box around them is dark)
    /// connected to a block with no paper, grown by `r` to take their rim. Ruling lines
    /// and ink that touch the background are thin, so the fill does not run along them.
    fn outside_pixels(&self, img: &GrayImage) -> Vec<bool> {
        let (w, h) = img.dimensions();
        let (wu, hu) = (w as usize, h as usize);
        // Found on cells of f×f pixels (the background's edge is far coarser than a pixel,
        // and its rim is taken anyway): a cell is dark when all its pixels are.
        let f = if self.block >= 32 { 2 } else { 1 };
        let (cw, ch) = (wu.div_ceil(f), hu.div_ceil(f));
        let mut light = vec![255u8; cw * ch];
        for (y, row) in img.as_raw().chunks_exact(wu.max(1)).enumerate() {
            let cells = &mut light[(y / f) * cw..(y / f + 1) * cw];
            for (c, px) in cells.iter_mut().zip(row.chunks(f)) {
                if px.iter().any(|&v| v >= DARK) {
                    *c = 0;
                }
            }
        }
        let r = ((self.block / 6).max(2) as usize).div_ceil(f);
        // Cells whose whole box is dark (clipped at the page's edges): the light cells (as
        // ink, 0) smeared by `r` along rows and down columns leave them at 255.
        let light = GrayImage::from_raw(cw as u32, ch as u32, light).expect("sized");
        let dark_boxes = crate::raster::smear(&crate::raster::smear(&light, r as u32, false), r as u32, true);
        drop(light);
        let dark_boxes = dark_boxes.as_raw();
        let box_dark = |x: usize, y: usize| -> bool { dark_boxes[y * cw + x] == 255 };
        let mut core = vec![false; cw * ch];
        let mut stack = Vec::new();
        // Seeds: the dark cells of the blocks with no paper.
        let block = self.block as usize;
        for (i, _) in self.raw.iter().enumerate().filter(|(_, &v)| v < DARK_PAPER) {
            let (gx, gy) = (i % self.gw as usize, i / self.gw as usize);
            for y in gy * block / f..((gy + 1) * block).min(hu).div_ceil(f) {
                for x in gx * block / f..((gx + 1) * block).min(wu).div_ceil(f) {
                    if box_dark(x, y) {
                        core[y * cw + x] = true;
                        stack.push(y * cw + x);
                    }
                }
            }
        }
        while let Some(i) = stack.pop() {
            let (x, y) = (i % cw, i / cw);
            let mut visit = |nx: usize, ny: usize| {
                let j = ny * cw + nx;
                if !core[j] && box_dark(nx, ny) {
                    core[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(x - 1, y);
            }
            if x + 1 < cw {
                visit(x + 1, y);
            }
            if y > 0 {
                visit(x, y - 1);
            }
            if y + 1 < ch {
                visit(x, y + 1);
            }
        }
        // Grow by r (plus a pixel for the blurred rim): the core smeared along rows and
        // down columns, then brought back to pixels.
        let grow = r as u32 + 1;
        let core = GrayImage::from_raw(
            cw as u32,
            ch as u32,
            core.iter().map(|&c| if c { 0 } else { 255 }).collect(),
        )
        .expect("sized");
        let grown = crate::raster::smear(&crate::raster::smear(&core, grow, false), grow, true);
        let mut mask = vec![false; wu * hu];
        for (y, row) in mask.chunks_exact_mut(wu.max(1)).enumerate() {
            let cells = &grown.as_raw()[(y / f) * cw..(y / f + 1) * cw];
            for (px, &c) in row.chunks_mut(f).zip(cells) {
                px.fill(c == 0);
            }
        }
        mask
    }

    /// Divides the page by its paper level (paper → ~255). Blocks with no paper (dark
    /// background around the page, torn-away parts) become white and are reported.
    fn normalize(&self, img: &GrayImage) -> (GrayImage, Vec<bool>) {
        let (w, h) = img.dimensions();
        let mut out = GrayImage::new(w, h);
        let outside: Vec<bool> = self.raw.iter().map(|&v| v < DARK_PAPER).collect();
        let background = if outside.iter().any(|&o| o) {
            self.outside_pixels(img)
        } else {
            Vec::new()
        };
        let src = img.as_raw();
        let dst: &mut [u8] = &mut out;
        // Bilinear between block centres, done as: per row, the grid row interpolated
        // vertically; per pixel, that row interpolated horizontally.
        let coord = |v: u32, n: u32| -> (usize, usize, f32) {
            let f = ((v as f32 + 0.5) / self.block as f32 - 0.5).clamp(0.0, (n - 1) as f32);
            let i0 = f.floor() as usize;
            (i0, (i0 + 1).min(n as usize - 1), f - i0 as f32)
        };
        let xs: Vec<(usize, usize, f32)> = (0..w).map(|x| coord(x, self.gw)).collect();
        let frac: Vec<f32> = xs.iter().map(|&(_, _, a)| a).collect();
        // Runs of pixels that share their pair of block columns.
        let mut runs: Vec<(usize, usize, usize, usize)> = Vec::new();
        for (x, &(x0, x1, _)) in xs.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if r.2 == x0 && r.3 == x1 => r.1 = x + 1,
                _ => runs.push((x, x + 1, x0, x1)),
            }
        }
        let gw = self.gw as usize;
        let wu = w as usize;
        let mut row_level = vec![0f32; gw];
        let mut gain = vec![0f32; wu];
        for y in 0..h {
            let (y0, y1, ay) = coord(y, self.gh);
            for (gx, v) in row_level.iter_mut().enumerate() {
                let a = self.level[y0 * gw + gx];
                let b = self.level[y1 * gw + gx];
                *v = a + (b - a) * ay;
            }
            for &(start, end, x0, x1) in &runs {
                let (a, b) = (row_level[x0], row_level[x1]);
                for (g, &ax) in gain[start..end].iter_mut().zip(&frac[start..end]) {
                    *g = 255.0 / (a + (b - a) * ax).max(1.0);
                }
            }
            let base = (y as usize) * wu;
            for ((d, &s), &g) in dst[base..base + wu].iter_mut().zip(&src[base..base + wu]).zip(&gain) {
                *d = ((s as f32) * g).min(255.0) as u8;
            }
        }
        for (d, _) in dst.iter_mut().zip(&background).filter(|(_, &b)| b) {
            *d = 255;
        }
        (out, outside)
    }
}

/// Value below which `q` of the `n` counted samples lie.
fn percentile(hist: &[u32; 256], n: u32, q: f32) -> f32 {
    let target = (n as f32 * q) as u32;
    let mut acc = 0;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if acc > target {
            return v as f32;
        }
    }
    255.0
}

/// Stretches the normalized page so that the ink level maps near black: faded ink that
/// normalized to mid-grey becomes dark again. Paper stays white.
/// Returns the gain and the grey level from which the paper is grain (see [`whiten_paper`]).
fn stretch_ink(img: &mut GrayImage) -> (f32, f32) {
    let mut hist = [0u32; 256];
    let mut n = 0;
    for &p in img.as_raw().iter().step_by(3) {
        hist[p as usize] += 1;
        n += 1;
    }
    // Ink: the darkest 1.5% of the page. Stretch the range from paper to that level so
    // that it reaches near black, by at most 4× (more would only amplify noise).
    let ink = percentile(&hist, n, 0.015);
    let gain = ((255.0 - 40.0) / (255.0 - ink).max(1.0)).clamp(1.0, 4.0);
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = (255.0 - (255.0 - v as f32) * gain).clamp(0.0, 255.0).round() as u8;
    }
    // Paper grain: most of the page is paper, so the median is its level and the median
    // absolute deviation its noise. What lies within three deviations of the paper becomes
    // white: a cleaner page, and a far smaller JPEG.
    let mut stretched = [0u32; 256];
    for (v, &c) in hist.iter().enumerate() {
        stretched[lut[v] as usize] += c;
    }
    let paper = percentile(&stretched, n, 0.5);
    let mut dev = [0u32; 256];
    for (v, &c) in stretched.iter().enumerate() {
        dev[(v as f32 - paper).abs().min(255.0) as usize] += c;
    }
    let mad = percentile(&dev, n, 0.5).max(1.0);
    let white_from = (paper - 3.0 * 1.4826 * mad).max(180.0);
    for p in img.iter_mut() {
        *p = lut[*p as usize];
    }
    (gain, white_from)
}

/// Sets everything from `white_from` up to white.
fn whiten_paper(img: &mut GrayImage, white_from: f32) {
    let from = white_from.ceil().clamp(0.0, 256.0) as u16;
    for p in img.iter_mut() {
        if u16::from(*p) >= from {
            *p = 255;
        }
    }
}

/// How far ink lies below the paper, in grey levels of the flattened page before the
/// stretch: the median over the pixels binarization calls ink. Faded ink scores low; so
/// does a blank page, whose "ink" is noise.
fn ink_depth(stretched: &GrayImage, binary: &GrayImage, gain: f32) -> f32 {
    let mut hist = [0u32; 256];
    let mut n = 0;
    for (&g, &b) in stretched.as_raw().iter().zip(binary.as_raw()) {
        if b == 0 {
            hist[g as usize] += 1;
            n += 1;
        }
    }
    if n == 0 {
        return 0.0;
    }
    ((255.0 - percentile(&hist, n, 0.5)) / gain).round()
}

/// Sauvola thresholding: ink (0) where the pixel is darker than
/// `mean · (1 + k · (std / 128 − 1))` over a `window`×`window` neighbourhood (clipped at
/// the edges).
///
/// The window sums come from running column sums (a row enters at the bottom of the
/// window, one leaves at the top) and a prefix sum along each row: exact integer sums
/// with two row-sized buffers instead of two page-sized integral images.
pub fn sauvola(img: &GrayImage, window: u32, k: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let src = img.as_raw();
    let r = (window / 2) as usize;
    let mut out = vec![255u8; wu * hu];
    // Column sums (and sums of squares) over the window's rows [top, bottom).
    let mut col = vec![0u32; wu];
    let mut colq = vec![0u32; wu];
    let (mut top, mut bottom) = (0usize, 0usize);
    let mut prefix = vec![0u32; wu + 1];
    let mut prefixq = vec![0u32; wu + 1];
    let add_row = |col: &mut [u32], colq: &mut [u32], y: usize, sign_add: bool| {
        let row = &src[y * wu..(y + 1) * wu];
        if sign_add {
            for ((c, q), &v) in col.iter_mut().zip(colq.iter_mut()).zip(row) {
                let v = v as u32;
                *c += v;
                *q += v * v;
            }
        } else {
            for ((c, q), &v) in col.iter_mut().zip(colq.iter_mut()).zip(row) {
                let v = v as u32;
                *c -= v;
                *q -= v * v;
            }
        }
    };
    // The threshold moves slowly (the window is 15 px or more): work it out once per 2×2
    // cell, at its top-left pixel, and compare all four pixels with it.
    for y in (0..hu).step_by(2) {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(hu));
        while bottom < y1 {
            add_row(&mut col, &mut colq, bottom, true);
            bottom += 1;
        }
        while top < y0 {
            add_row(&mut col, &mut colq, top, false);
            top += 1;
        }
        let second = y + 1 < hu;
        let y2 = if second { y + 1 } else { y };
        let rows2 = [&src[y * wu..(y + 1) * wu], &src[y2 * wu..(y2 + 1) * wu]];
        // Skip rows pairs that are all paper before building the prefix sums.
        let any_ink = rows2[0].iter().any(|&v| v < 235) || (second && rows2[1].iter().any(|&v| v < 235));
        if !any_ink {
            continue;
        }
        // Wrapping: on a very wide page the running totals overflow, but a window's sum
        // (at most 101² · 255²) fits, so the differences come out right.
        let (mut acc, mut accq) = (0u32, 0u32);
        for x in 0..wu {
            acc = acc.wrapping_add(col[x]);
            accq = accq.wrapping_add(colq[x]);
            prefix[x + 1] = acc;
            prefixq[x + 1] = accq;
        }
        let rows_n = (y1 - y0) as f32;
        for x in (0..wu).step_by(2) {
            let x_in = x + 1 < wu;
            let (a, b) = (rows2[0][x], if x_in { rows2[0][x + 1] } else { 255 });
            let (c, d) = if second {
                (rows2[1][x], if x_in { rows2[1][x + 1] } else { 255 })
            } else {
                (255, 255)
            };
            // Near-white pixels are paper whatever the window says.
            if a.min(b).min(c).min(d) >= 235 {
                continue;
            }
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(wu));
            let n = rows_n * (x1 - x0) as f32;
            let mean = prefix[x1].wrapping_sub(prefix[x0]) as f32 / n;
            let var = (prefixq[x1].wrapping_sub(prefixq[x0]) as f32 / n - mean * mean).max(0.0);
            let t = mean * (1.0 + k * (var.sqrt() / 128.0 - 1.0));
            let mut mark = |i: usize, v: u8| {
                if v < 235 && (v as f32) < t {
                    out[i] = 0;
                }
            };
            mark(y * wu + x, a);
            if x_in {
                mark(y * wu + x + 1, b);
            }
            if second {
                mark((y + 1) * wu + x, c);
                if x_in {
                    mark((y + 1) * wu + x + 1, d);
                }
            }
        }
    }
    GrayImage::from_raw(w, h, out).expect("buffer size matches")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn lined_page(w: u32, h: u32) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, Luma([230]));
        for y in (60..h - 60).step_by(40) {
            for x in 60..w - 60 {
                for t in 0..3 {
                    img.put_pixel(x, y + t, Luma([30]));
                }
            }
            // Word-like blobs between the lines.
            for x in (80..w - 80).step_by(37) {
                for yy in y + 12..y + 28 {
                    for xx in x..x + 20 {
                        img.put_pixel(xx, yy, Luma([60]));
                    }
                }
            }
        }
        img
    }

    #[test]
    fn skew_of_a_rotated_ruled_page_is_found_within_a_tenth_of_a_degree() {
        let page = lined_page(900, 1200);
        for angle in [-7.3f32, -2.0, 0.6, 4.25, 12.0] {
            // Rotating by −angle turns level content to `angle` counter-clockwise.
            let skewed = rotate(&page, -angle, 230);
            let found = estimate_skew(&skewed, 150.0, 20.0);
            assert!((found - angle).abs() <= 0.1, "angle {angle}: found {found}");
        }
    }

    /// Clamped bilinear sampling for every pixel: what `rotate` computes, written plainly.
    fn rotate_reference(img: &GrayImage, deg: f32, fill: u8) -> GrayImage {
        let (w, h) = img.dimensions();
        let (s, c) = deg.to_radians().sin_cos();
        let nw = (w as f32 * c.abs() + h as f32 * s.abs()).round() as u32;
        let nh = (w as f32 * s.abs() + h as f32 * c.abs()).round() as u32;
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let (ncx, ncy) = (nw as f64 / 2.0, nh as f64 / 2.0);
        let (c64, s64) = (c as f64, s as f64);
        let (step_x, step_y) = ((c64 * 65536.0).round() as i64, (-s64 * 65536.0).round() as i64);
        let (max_x, max_y) = ((((w as i64) - 1) << 16) as f64, (((h as i64) - 1) << 16) as f64);
        let mut out = GrayImage::from_pixel(nw, nh, Luma([fill]));
        for y in 0..nh {
            let dy = y as f64 + 0.5 - ncy;
            let dx0 = 0.5 - ncx;
            let sx0 = ((cx + dx0 * c64 + dy * s64 - 0.5) * 65536.0).round() as i64;
            let sy0 = ((cy - dx0 * s64 + dy * c64 - 0.5) * 65536.0).round() as i64;
            for x in 0..nw {
                let mut px = fill;
                let (sx, sy) = (sx0 + x as i64 * step_x, sy0 + x as i64 * step_y);
                rotate_edge_pixel(&mut px, sx, sy, img.as_raw(), w as usize, h as usize, max_x, max_y);
                out.put_pixel(x, y, Luma([px]));
            }
        }
        out
    }

    #[test]
    fn rotation_fast_path_matches_plain_clamped_sampling() {
        let mut img = lined_page(301, 211);
        for (i, p) in img.iter_mut().enumerate() {
            *p = p.wrapping_add((i * 7 % 13) as u8);
        }
        for deg in [0.3f32, -0.3, 2.7, -7.5, 15.0, -19.9, 45.0, 90.0, -90.0, 180.0] {
            assert_eq!(rotate(&img, deg, 255), rotate_reference(&img, deg, 255), "{deg}°");
        }
    }

    #[test]
    fn sauvola_running_sums_match_window_sums_counted_directly() {
        let (w, h) = (97usize, 61usize);
        let img = GrayImage::from_fn(w as u32, h as u32, |x, y| {
            Luma([(((x * 37 + y * 91) % 251) as u8).saturating_add(if (x / 9 + y / 7) % 3 == 0 { 0 } else { 120 })])
        });
        let (window, k) = (15u32, 0.35f32);
        let got = sauvola(&img, window, k);
        let r = (window / 2) as usize;
        let px = |x: usize, y: usize| img.as_raw()[y * w + x];
        for cy in (0..h).step_by(2) {
            for cx in (0..w).step_by(2) {
                let (x0, y0, x1, y1) = (
                    cx.saturating_sub(r),
                    cy.saturating_sub(r),
                    (cx + r + 1).min(w),
                    (cy + r + 1).min(h),
                );
                let (mut s, mut q) = (0u32, 0u32);
                for y in y0..y1 {
                    for x in x0..x1 {
                        s += px(x, y) as u32;
                        q += (px(x, y) as u32).pow(2);
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)) as f32;
                let mean = s as f32 / n;
                let var = (q as f32 / n - mean * mean).max(0.0);
                let t = mean * (1.0 + k * (var.sqrt() / 128.0 - 1.0));
                let cell = [(cx, cy), (cx + 1, cy), (cx, cy + 1), (cx + 1, cy + 1)];
                let all_paper = cell.iter().all(|&(x, y)| x >= w || y >= h || px(x, y) >= 235);
                for (x, y) in cell.into_iter().filter(|&(x, y)| x < w && y < h) {
                    let v = px(x, y);
                    let ink = !all_paper && v < 235 && (v as f32) < t;
                    assert_eq!(got.as_raw()[y * w + x] == 0, ink, "({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn faded_ink_on_yellowed_paper_becomes_dark_on_white() {
        let mut img = GrayImage::from_pixel(400, 300, Luma([200]));
        for y in 100..110 {
            for x in 50..350 {
                img.put_pixel(x, y, Luma([165]));
            }
        }
        let r = restore(&img, 150.0, &RestoreOptions::default());
        let paper = r.gray.get_pixel(20, 250).0[0];
        let ink = r.gray.get_pixel(200, 105).0[0];
        assert!(paper >= 245, "paper {paper}");
        assert!(ink <= 80, "ink {ink}");
        assert_eq!(r.binary.get_pixel(200, 105).0[0], 0);
        assert_eq!(r.binary.get_pixel(20, 250).0[0], 255);
    }

    #[test]
    fn dark_border_is_masked_and_reported() {
        let mut img = GrayImage::from_pixel(600, 400, Luma([225]));
        for y in 0..400 {
            for x in 450..600 {
                img.put_pixel(x, y, Luma([15]));
            }
        }
        let r = restore(&img, 150.0, &RestoreOptions::default());
        assert!(
            (r.quality.missing_fraction - 0.25).abs() < 0.06,
            "missing {}",
            r.quality.missing_fraction
        );
        assert_eq!(r.binary.get_pixel(550, 200).0[0], 255);
    }
}
