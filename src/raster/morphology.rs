//! Morphology of black-and-white pages (ink 0): ink spread along rows or down columns,
//! lone specks dropped, the longest run of ink along a line.

use image::GrayImage;

/// The page with every ink pixel spread `r` pixels up and down (`vertical`) or left and
/// right.
///
/// A minimum over a window of `2r + 1` pixels (ink is 0): the page padded with paper,
/// each pass taking the minimum of a pixel and the one `k` steps on, `k` doubling — a few
/// passes over plain slices, whatever `r`.
pub fn smear(binary: &GrayImage, r: u32, vertical: bool) -> GrayImage {
    let (w, h) = (binary.width() as usize, binary.height() as usize);
    let r = r as usize;
    if !vertical {
        let out = binary
            .as_raw()
            .chunks_exact(w.max(1))
            .flat_map(|row| smear_row(row, r))
            .collect();
        return GrayImage::from_raw(w as u32, h as u32, out).expect("same size");
    }
    // The page padded by `r` rows of paper above and below; row y of the smeared page is
    // where its window starts: row y of the padding.
    let mut padded = vec![255u8; w * (h + 2 * r)];
    for (d, &s) in padded[r * w..].iter_mut().zip(binary.as_raw()) {
        *d = if s == 0 { 0 } else { 255 };
    }
    window_min(&mut padded, 2 * r + 1, w);
    padded.truncate(w * h);
    GrayImage::from_raw(w as u32, h as u32, padded).expect("same size")
}

/// One row with every ink pixel (0) spread `r` pixels left and right (see [`smear`]).
pub fn smear_row(row: &[u8], r: usize) -> Vec<u8> {
    let mut padded = vec![255u8; row.len() + 2 * r];
    for (d, &s) in padded[r..r + row.len()].iter_mut().zip(row) {
        *d = if s == 0 { 0 } else { 255 };
    }
    window_min(&mut padded, 2 * r + 1, 1);
    padded.truncate(row.len());
    padded
}

/// `v[i]` becomes the minimum of `v[i + j·unit]` for `j` in `0..len` (as far as `v`
/// reaches).
fn window_min(v: &mut Vec<u8>, len: usize, unit: usize) {
    let mut spare = v.clone();
    // One pass: `dst[i] = min(src[i], src[i + shift])`.
    let mut pass = |v: &mut Vec<u8>, shift: usize| {
        let n = v.len().saturating_sub(shift);
        for ((d, &a), &b) in spare.iter_mut().zip(&v[..n]).zip(&v[shift..]) {
            *d = a.min(b);
        }
        spare[n..].copy_from_slice(&v[n..]);
        std::mem::swap(v, &mut spare);
    };
    let mut covered = 1;
    while covered * 2 <= len {
        pass(v, covered * unit);
        covered *= 2;
    }
    if covered < len {
        pass(v, (len - covered) * unit);
    }
}

/// The black-and-white image without lone specks: ink pixels with fewer than two inked
/// neighbours among their eight (the grain of a stain, scanner noise).
pub fn without_specks(binary: &GrayImage) -> GrayImage {
    let (w, h) = binary.dimensions();
    let ink = |x: i64, y: i64| {
        x >= 0 && y >= 0 && x < w as i64 && y < h as i64 && binary.get_pixel(x as u32, y as u32).0[0] == 0
    };
    GrayImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as i64, y as i64);
        if !ink(x, y) {
            return image::Luma([255]);
        }
        let n = (-1..=1)
            .flat_map(|dy| (-1..=1).map(move |dx| (dx, dy)))
            .filter(|&(dx, dy)| (dx, dy) != (0, 0) && ink(x + dx, y + dy))
            .count();
        image::Luma([if n >= 2 { 0 } else { 255 }])
    })
}

/// Start and length of the longest run of `true`, bridging gaps of up to 2 (a broken
/// rule).
pub fn longest_run(bits: impl Iterator<Item = bool>) -> (usize, usize) {
    let (mut best, mut run, mut gap) = ((0, 0), 0, 0);
    for (i, b) in bits.enumerate() {
        if b {
            run += gap + 1;
            gap = 0;
            if run > best.1 {
                best = (i + 1 - run, run);
            }
        } else if run > 0 && gap < 2 {
            gap += 1;
        } else {
            run = 0;
            gap = 0;
        }
    }
    best
}

/// The runs of consecutive items where `flags` holds, as index ranges.
pub fn spans_where(flags: impl Iterator<Item = bool>) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, f) in flags.chain(std::iter::once(false)).enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn smearing_marks_exactly_the_pixels_within_reach_of_ink() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        for (w, h, r) in [(37u32, 23u32, 3u32), (5, 40, 0), (64, 9, 7), (1, 1, 2)] {
            let img = GrayImage::from_fn(w, h, |_, _| Luma([if rng.gen_bool(0.05) { 0 } else { 255 }]));
            for vertical in [true, false] {
                let got = smear(&img, r, vertical);
                for (x, y, p) in got.enumerate_pixels() {
                    let near = (0..h).any(|yy| {
                        (0..w).any(|xx| {
                            let (dx, dy) = (xx.abs_diff(x), yy.abs_diff(y));
                            let reach = if vertical {
                                dx == 0 && dy <= r
                            } else {
                                dy == 0 && dx <= r
                            };
                            reach && img.get_pixel(xx, yy).0[0] == 0
                        })
                    });
                    assert_eq!(p.0[0] == 0, near, "{w}×{h} r {r} vertical {vertical} at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn the_longest_run_bridges_gaps_of_two() {
        let bits = |s: &str| s.bytes().map(|b| b == b'#').collect::<Vec<_>>().into_iter();
        assert_eq!(longest_run(bits("#...####")), (4, 4));
        assert_eq!(longest_run(bits("#.#..#...")), (0, 6));
        assert_eq!(longest_run(bits("....")), (0, 0));
    }
}
