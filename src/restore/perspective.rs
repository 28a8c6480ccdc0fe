//! Photographed pages: the page's outline found against a darker surround, and the
//! perspective undone by a homography onto a flat rectangle.
//!
//! The outline is found on a reduced copy: the paper is the largest bright region
//! (Otsu's threshold), its corners the extreme points along the two diagonals. A scan
//! gives a rectangle (turned by its skew at most); a photograph gives a quadrilateral
//! whose opposite sides differ in length. Only the latter is flattened.

use crate::raster::{label, Connectivity};
use image::{GrayImage, Luma};

/// The narrowest outline taken for a photographed page, width against height (and
/// height against width).
const MIN_PAGE_ASPECT: f32 = 0.45;
/// The widest: an open book of two landscape pages (2.83 for two A4 pages side by side),
/// a little foreshortened.
const MAX_SPREAD_ASPECT: f32 = 3.2;

/// A point, pixels.
pub type Point = [f32; 2];

/// A 3×3 projective transform, row-major, mapping `[x, y, 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    /// The transform taking each of `from` to the matching corner of `to`; `None` when
    /// the points are degenerate (three in a line).
    pub fn between(from: [Point; 4], to: [Point; 4]) -> Option<Homography> {
        // h33 = 1; eight unknowns, two equations per point.
        let mut a = [[0f64; 9]; 8];
        for i in 0..4 {
            let (x, y) = (from[i][0] as f64, from[i][1] as f64);
            let (u, v) = (to[i][0] as f64, to[i][1] as f64);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        // Gaussian elimination with partial pivoting.
        for c in 0..8 {
            let p = (c..8).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
            if a[p][c].abs() < 1e-9 {
                return None;
            }
            a.swap(c, p);
            let pivot = a[c];
            for (r, row) in a.iter_mut().enumerate() {
                if r != c {
                    let f = row[c] / pivot[c];
                    for (x, p) in row.iter_mut().zip(pivot.iter()).skip(c) {
                        *x -= f * p;
                    }
                }
            }
        }
        let mut h = [0f64; 9];
        for (i, row) in a.iter().enumerate() {
            h[i] = row[8] / row[i];
        }
        h[8] = 1.0;
        Some(Homography(h))
    }

    /// Where the transform takes `p`.
    pub fn apply(&self, p: Point) -> Point {
        let h = &self.0;
        let (x, y) = (p[0] as f64, p[1] as f64);
        let w = h[6] * x + h[7] * y + h[8];
        [
            ((h[0] * x + h[1] * y + h[2]) / w) as f32,
            ((h[3] * x + h[4] * y + h[5]) / w) as f32,
        ]
    }
}

/// Bilinear sample of `img` at `p`; `fill` outside.
pub fn sample(img: &GrayImage, p: Point, fill: u8) -> u8 {
    let (w, h) = img.dimensions();
    let (x, y) = (p[0] - 0.5, p[1] - 0.5);
    if x < -0.5 || y < -0.5 || x > w as f32 - 0.5 || y > h as f32 - 0.5 {
        return fill;
    }
    let (x0, y0) = (x.floor().max(0.0) as u32, y.floor().max(0.0) as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = ((x - x0 as f32).clamp(0.0, 1.0), (y - y0 as f32).clamp(0.0, 1.0));
    let g = |x, y| img.get_pixel(x, y).0[0] as f32;
    let top = g(x0, y0) * (1.0 - fx) + g(x1, y0) * fx;
    let bottom = g(x0, y1) * (1.0 - fx) + g(x1, y1) * fx;
    (top * (1.0 - fy) + bottom * fy).round() as u8
}

/// The corners of the page (top-left, top-right, bottom-right, bottom-left) when the
/// image is a photograph of it: the paper stands out from a darker surround on all four
/// sides, its outline is a quadrilateral with straight edges, and its opposite sides
/// differ in length by more than 1%. `None` for a scan (or when no outline is clear).
pub fn page_outline(gray: &GrayImage) -> Option<[Point; 4]> {
    let (w, h) = gray.dimensions();
    let k = (w.max(h) as f32 / 600.0).ceil().max(1.0);
    let small = super::downscale(gray, 1.0 / k);
    let (sw, sh) = small.dimensions();
    if sw < 32 || sh < 32 {
        return None;
    }
    let t = otsu(&small);
    let bright = |x: u32, y: u32| small.get_pixel(x, y).0[0] > t;
    // The largest bright region (4-neighbours), the first of equals.
    let regions = label(sw, sh, Connectivity::Four, bright);
    let labels = regions.labels;
    let best = regions
        .components
        .iter()
        .enumerate()
        .fold((0u32, 0u32), |best, (k, c)| {
            if c.area > best.1 {
                (k as u32 + 1, c.area)
            } else {
                best
            }
        });
    let (id, area) = best;
    // The paper fills much of the frame, and the surround shows on every side.
    if (area as f32) < 0.2 * (sw * sh) as f32 {
        return None;
    }
    let ys = (0..sh).filter(|&y| (0..sw).any(|x| labels[(y * sw + x) as usize] == id));
    let xs = (0..sw).filter(|&x| (0..sh).any(|y| labels[(y * sw + x) as usize] == id));
    let (top, bottom) = (ys.clone().min()?, ys.max()?);
    let (left, right) = (xs.clone().min()?, xs.max()?);
    if top == 0 || left == 0 || bottom + 1 >= sh || right + 1 >= sw {
        return None;
    }
    // Corners: the region's extreme points along the diagonals.
    let mut c = [
        (i64::MAX, [0u32; 2]),
        (i64::MIN, [0; 2]),
        (i64::MIN, [0; 2]),
        (i64::MAX, [0; 2]),
    ];
    for y in 0..sh {
        for x in 0..sw {
            if labels[(y * sw + x) as usize] != id {
                continue;
            }
            let (s, d) = (x as i64 + y as i64, x as i64 - y as i64);
            if s < c[0].0 {
                c[0] = (s, [x, y]);
            }
            if d > c[1].0 {
                c[1] = (d, [x, y]);
            }
            if s > c[2].0 {
                c[2] = (s, [x + 1, y + 1]);
            }
            if d < c[3].0 {
                c[3] = (d, [x, y + 1]);
            }
        }
    }
    // A photographed page's edges are straight; a torn or folded one's are not.
    let small_corners = c.map(|(_, p)| [p[0] as f32, p[1] as f32]);
    let inside = |x: u32, y: u32| labels[(y * sw + x) as usize] == id;
    if !straight_edges(small_corners, sw, sh, inside) {
        return None;
    }
    let corners = c.map(|(_, p)| [p[0] as f32 * k, p[1] as f32 * k]);
    let len = |a: Point, b: Point| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let (top_l, bottom_l) = (len(corners[0], corners[1]), len(corners[3], corners[2]));
    let (left_l, right_l) = (len(corners[0], corners[3]), len(corners[1], corners[2]));
    let differ = |a: f32, b: f32| (a - b).abs() / a.max(b).max(1.0);
    if differ(top_l, bottom_l).max(differ(left_l, right_l)) < 0.01 {
        return None;
    }
    // A page's shape: no book page is narrower than this against its height (A4 is 0.71,
    // a tall register 0.6, foreshortened by a camera held at a slant a little less), and
    // no open book wider. The strip of a scanned page most of which is torn away is.
    let aspect = top_l.max(bottom_l) / left_l.max(right_l).max(1.0);
    if !(MIN_PAGE_ASPECT..=MAX_SPREAD_ASPECT).contains(&aspect) {
        return None;
    }
    // The outline must hold the paper: a quadrilateral that covers the bright region.
    let quad_area = 0.5
        * ((corners[0][0] * corners[1][1] - corners[1][0] * corners[0][1])
            + (corners[1][0] * corners[2][1] - corners[2][0] * corners[1][1])
            + (corners[2][0] * corners[3][1] - corners[3][0] * corners[2][1])
            + (corners[3][0] * corners[0][1] - corners[0][0] * corners[3][1]))
            .abs();
    // The paper fills its outline: a page torn or folded at a corner is not a quadrilateral.
    // (Its area counted row by row from its left edge to its right, the writing and the
    // rules on it included.)
    let filled: u32 = (0..sh)
        .filter_map(|y| {
            let xs = (0..sw).filter(|&x| labels[(y * sw + x) as usize] == id);
            let (a, b) = (xs.clone().min()?, xs.max()?);
            Some(b + 1 - a)
        })
        .sum();
    let region = filled as f32 * k * k;
    if quad_area < 0.9 * region || region < 0.95 * quad_area {
        return None;
    }
    Some(corners)
}

/// Whether the region's outline runs straight between its corners (top-left, top-right,
/// bottom-right, bottom-left): along each side, the region's edge strays from the line
/// between the side's corners by under 0.5% of the side's length on average (a torn
/// edge strays by 1% and more). The quarter of the side that strays most is left out of
/// the average: a shadow or a stain over the paper's edge bites into the bright region
/// there, the edge beneath it is straight all the same.
fn straight_edges(c: [Point; 4], w: u32, h: u32, inside: impl Fn(u32, u32) -> bool) -> bool {
    let lerp = |a: Point, b: Point, t: f32| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
    // (from, to, step into the region along x or y, sign).
    let sides = [
        (c[0], c[1], false, 1i32),
        (c[3], c[2], false, -1),
        (c[0], c[3], true, 1),
        (c[1], c[2], true, -1),
    ];
    for (a, b, along_x, dir) in sides {
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        let mut offs = Vec::with_capacity(19);
        for i in 1..20 {
            let p = lerp(a, b, i as f32 / 20.0);
            // From outside the line, step inwards to the region's edge.
            let (mut x, mut y) = (p[0] as i32, p[1] as i32);
            let reach = (len * 0.1) as i32 + 3;
            if along_x {
                x -= dir * reach;
            } else {
                y -= dir * reach;
            }
            let mut steps = 0;
            while steps < 2 * reach {
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h && inside(x as u32, y as u32) {
                    break;
                }
                if along_x {
                    x += dir;
                } else {
                    y += dir;
                }
                steps += 1;
            }
            let off = if along_x { x as f32 - p[0] } else { y as f32 - p[1] };
            offs.push(off.abs());
        }
        offs.sort_by(f32::total_cmp);
        let kept = &offs[..offs.len() * 3 / 4];
        if kept.iter().sum::<f32>() / kept.len() as f32 > (0.005 * len).max(1.5) {
            return false;
        }
    }
    true
}

/// The page inside `corners` (top-left, top-right, bottom-right, bottom-left) as a flat
/// rectangle: as wide as its longer horizontal side, as tall as its longer vertical one.
pub fn flatten(gray: &GrayImage, corners: [Point; 4]) -> Option<GrayImage> {
    let len = |a: Point, b: Point| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let w = len(corners[0], corners[1]).max(len(corners[3], corners[2])).round() as u32;
    let h = len(corners[0], corners[3]).max(len(corners[1], corners[2])).round() as u32;
    if w < 16 || h < 16 {
        return None;
    }
    let rect = [[0.0, 0.0], [w as f32, 0.0], [w as f32, h as f32], [0.0, h as f32]];
    let to_photo = Homography::between(rect, corners)?;
    let paper = 255;
    let mut out = GrayImage::new(w, h);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let src = to_photo.apply([x as f32 + 0.5, y as f32 + 0.5]);
        *p = Luma([sample(gray, src, paper)]);
    }
    Some(out)
}

/// Otsu's threshold of a grey image.
fn otsu(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.pixels() {
        hist[p.0[0] as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum: f64 = hist.iter().enumerate().map(|(i, &n)| i as f64 * n as f64).sum();
    let (mut wb, mut sb, mut best, mut t) = (0u64, 0f64, 0f64, 0u8);
    for (i, &n) in hist.iter().enumerate() {
        wb += n;
        if wb == 0 || wb == total {
            continue;
        }
        sb += i as f64 * n as f64;
        let wf = total - wb;
        let (mb, mf) = (sb / wb as f64, (sum - sb) / wf as f64);
        let between = wb as f64 * wf as f64 * (mb - mf).powi(2);
        if between > best {
            best = between;
            t = i as u8;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_homography_takes_each_corner_where_it_was_asked() {
        let from = [[0.0, 0.0], [100.0, 0.0], [100.0, 150.0], [0.0, 150.0]];
        let to = [[12.0, 20.0], [95.0, 8.0], [110.0, 160.0], [3.0, 140.0]];
        let h = Homography::between(from, to).unwrap();
        for (a, b) in from.iter().zip(&to) {
            let p = h.apply(*a);
            assert!((p[0] - b[0]).abs() < 1e-3 && (p[1] - b[1]).abs() < 1e-3, "{p:?} {b:?}");
        }
        assert!(Homography::between([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], to).is_none());
    }

    /// `page` photographed onto a frame of `size` on a dark surround, its corners at `quad`.
    fn photograph(page: &GrayImage, quad: [Point; 4], size: (u32, u32)) -> GrayImage {
        let (pw, ph) = (page.width() as f32, page.height() as f32);
        let to_page = Homography::between(quad, [[0.0, 0.0], [pw, 0.0], [pw, ph], [0.0, ph]]).unwrap();
        GrayImage::from_fn(size.0, size.1, |x, y| {
            Luma([sample(page, to_page.apply([x as f32 + 0.5, y as f32 + 0.5]), 60)])
        })
    }

    #[test]
    fn a_photographed_page_is_found_and_flattened_and_a_scan_is_left_alone() {
        // A white page with a black square in its middle, photographed as a keystone.
        let (pw, ph) = (400u32, 560u32);
        let mut page = GrayImage::from_pixel(pw, ph, Luma([235]));
        for y in 260..300 {
            for x in 180..220 {
                page.put_pixel(x, y, Luma([20]));
            }
        }
        let quad = [[140.0, 90.0], [460.0, 110.0], [520.0, 700.0], [80.0, 680.0]];
        let photo = photograph(&page, quad, (600, 800));
        let found = page_outline(&photo).expect("outline");
        for (f, q) in found.iter().zip(&quad) {
            assert!((f[0] - q[0]).abs() < 6.0 && (f[1] - q[1]).abs() < 6.0, "{found:?}");
        }
        // A shadow falling over the right edge, low down, darker than the paper's level:
        // it bites into the bright region, the edge beneath is straight all the same.
        let mut shaded = photo.clone();
        for (x, y, p) in shaded.enumerate_pixels_mut() {
            let d = ((x as f32 - 500.0).powi(2) + (y as f32 - 560.0).powi(2)).sqrt();
            if d < 70.0 && p.0[0] > 100 {
                *p = Luma([90]);
            }
        }
        let found = page_outline(&shaded).expect("outline under a shadow");
        for (f, q) in found.iter().zip(&quad) {
            assert!((f[0] - q[0]).abs() < 6.0 && (f[1] - q[1]).abs() < 6.0, "{found:?}");
        }
        let flat = flatten(&photo, found).unwrap();
        // The square comes back square, in the middle.
        let (fw, fh) = flat.dimensions();
        let dark: Vec<(u32, u32)> = flat
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0[0] < 100)
            .map(|(x, y, _)| (x, y))
            .collect();
        let (x0, x1) = (
            dark.iter().map(|d| d.0).min().unwrap(),
            dark.iter().map(|d| d.0).max().unwrap(),
        );
        let (y0, y1) = (
            dark.iter().map(|d| d.1).min().unwrap(),
            dark.iter().map(|d| d.1).max().unwrap(),
        );
        let (sx, sy) = ((x1 - x0) as f32 / fw as f32, (y1 - y0) as f32 / fh as f32);
        assert!((sx - 0.1).abs() < 0.02 && (sy - 40.0 / 560.0).abs() < 0.02, "{sx} {sy}");
        let cx = (x0 + x1) as f32 / 2.0 / fw as f32;
        assert!((cx - 0.5).abs() < 0.03, "{cx}");
        // A scan: the page fills the frame, or lies square in it.
        assert!(page_outline(&page).is_none());
        let mut scan = GrayImage::from_pixel(600, 800, Luma([50]));
        image::imageops::replace(&mut scan, &page, 100, 120);
        assert!(page_outline(&scan).is_none());
        // A scan of a page most of which is torn away: the strip left (its tear not quite
        // parallel to the page's edge) is no page's shape.
        let mut strip = GrayImage::from_pixel(360, 800, Luma([50]));
        for y in 120..680u32 {
            for x in 100..(240 + (y - 120) / 28) {
                strip.put_pixel(x, y, Luma([235]));
            }
        }
        assert!(page_outline(&strip).is_none());
    }

    /// An open book of two landscape pages photographed whole: its outline, nearly three
    /// times as wide as high, is a page's for flattening.
    #[test]
    fn an_open_book_photographed_whole_is_found() {
        let book = GrayImage::from_pixel(1120, 400, Luma([235]));
        let quad = [[100.0, 90.0], [1230.0, 70.0], [1260.0, 520.0], [60.0, 500.0]];
        let found = page_outline(&photograph(&book, quad, (1320, 600))).expect("outline");
        for (f, q) in found.iter().zip(&quad) {
            assert!((f[0] - q[0]).abs() < 8.0 && (f[1] - q[1]).abs() < 8.0, "{found:?}");
        }
    }
}
