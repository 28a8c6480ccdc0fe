//! Page curl undone where the ruled lines show it.
//!
//! Near a book's binding the page lifts off the glass (or bows towards a camera) and its
//! lines bend: a table's horizontal rules, straight on the paper, run up or down as they
//! near the gutter, and the rows' cells with them. On a levelled page the rules that cross
//! its middle are traced across the page; where they bend, every pixel column is shifted
//! up or down by how far the rules above and below it are bent there (linearly between
//! them), so that each rule runs straight at the height it has over most of its length.
//! Pages whose rules run straight within three quarters of a millimetre, and pages without rules, are
//! left as they are, pixel for pixel.

use crate::raster::px_per_mm;
use image::{GrayImage, Luma};

/// A curl found on a page: for each traced rule, its height where it runs straight and
/// how far it is bent at every `step`-th pixel column.
#[derive(Clone, Debug, PartialEq)]
pub struct Curl {
    /// Pixel columns between two samples.
    step: u32,
    /// Rules top to bottom: (height where straight, bend per sample, pixels, down positive).
    rules: Vec<(f32, Vec<f32>)>,
}

/// Bends smaller than this, millimetres, are left alone (a rule's own wobble, a residue of
/// the deskew a pixel or two across the page, a page's edge: such bends read as well
/// left as they are).
const LEAST_BEND_MM: f32 = 0.75;

/// The curl of a levelled black-and-white page (ink 0), when its rules show one.
pub fn find(binary: &GrayImage, dpi: f32) -> Option<Curl> {
    let (w, h) = binary.dimensions();
    let mm = px_per_mm(dpi);
    let step = ((dpi / 50.0).round() as u32).max(2);
    if w < 40 * step || h < 40 {
        return None;
    }
    let samples = (w / step) as usize;
    let dark = |x: u32, y: u32| binary.get_pixel(x, y).0[0] < 128;
    // Rules cross the page's middle fifth: rows of it inked along most of its width.
    let (m0, m1) = (w * 2 / 5, w * 3 / 5);
    let full = |y: u32| (m0..m1).filter(|&x| dark(x, y)).count() as f32 >= 0.6 * (m1 - m0) as f32;
    let mut seeds = Vec::new();
    let mut y = 0;
    while y < h {
        if full(y) {
            let top = y;
            while y < h && full(y) {
                y += 1;
            }
            // A rule is thin; a band as tall as a letter is something else.
            if ((y - top) as f32) < 1.5 * mm {
                seeds.push((top + y - 1) as f32 / 2.0);
            }
        }
        y += 1;
    }
    if seeds.len() < 3 {
        return None;
    }
    let reach = (step as f32 * 0.75).ceil().max(2.0) as i32;
    // A curl bends a rule over a part of the page, by the binding; the rest of it runs
    // straight. A line slanting all across (a page's edge) is no rule bent by a curl.
    let mut traced: Vec<(f32, Vec<f32>)> = Vec::new();
    for seed in seeds {
        let Some(rule) = trace(binary, seed, step, reach, samples, 10.0 * mm) else {
            continue;
        };
        let straight = rule.1.iter().filter(|d| d.abs() <= 0.25 * mm).count();
        // Two seeds on one thick line trace the same rule.
        let again = traced.last().is_some_and(|t| rule.0 - t.0 < mm);
        if straight * 5 >= samples * 3 && !again {
            traced.push(rule);
        }
    }
    // A curl bends neighbouring rules alike; a line bent alone (a page's slanting edge, a
    // stroke along a rule) is no curl's evidence.
    let alike = |a: &[f32], b: &[f32]| {
        let apart = a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        apart <= (LEAST_BEND_MM * mm).max(0.35 * largest(a).max(largest(b)))
    };
    let rules: Vec<(f32, Vec<f32>)> = (0..traced.len())
        .filter(|&i| {
            let near = [i.checked_sub(1), Some(i + 1)];
            near.into_iter()
                .flatten()
                .filter_map(|j| traced.get(j))
                .any(|other| alike(&traced[i].1, &other.1))
        })
        .map(|i| traced[i].clone())
        .collect();
    if rules.len() < 3 {
        return None;
    }
    let curl = Curl { step, rules };
    (curl.largest() >= LEAST_BEND_MM * mm).then_some(curl)
}

/// The largest of bends, either way.
fn largest(bends: &[f32]) -> f32 {
    bends.iter().fold(0.0f32, |m, &d| m.max(d.abs()))
}

/// One rule followed left and right from the page's middle at `seed`: its height where it
/// runs straight (the median of its heights) and its bend at each sample; `None` when it
/// cannot be followed over half the page.
fn trace(binary: &GrayImage, seed: f32, step: u32, reach: i32, samples: usize, gap: f32) -> Option<(f32, Vec<f32>)> {
    let (w, h) = binary.dimensions();
    let mid = samples / 2;
    let mut ys: Vec<Option<f32>> = vec![None; samples];
    for dir in [-1i64, 1] {
        let mut at = seed;
        let mut missed = 0u32;
        let mut i = mid as i64;
        while i >= 0 && (i as usize) < samples {
            let x0 = i as u32 * step;
            let x1 = (x0 + step).min(w);
            // Rows of the strip inked across it, near where the rule was.
            let centre = at.round() as i32;
            let inked = |y: i32| {
                y >= 0
                    && (y as u32) < h
                    && (x0..x1).filter(|&x| binary.get_pixel(x, y as u32).0[0] < 128).count() as u32 + 1 >= x1 - x0
            };
            let rows: Vec<i32> = (centre - reach..=centre + reach).filter(|&y| inked(y)).collect();
            // A column rule crossing (every row inked) or nothing: the rule goes on as it was.
            if rows.is_empty() || rows.len() as i32 == 2 * reach + 1 {
                missed += 1;
                if (missed * step) as f32 > gap {
                    break;
                }
            } else {
                // The inked run nearest to where the rule was.
                let near = *rows.iter().min_by_key(|&&y| (y - centre).abs()).unwrap();
                let (mut a, mut b) = (near, near);
                while rows.contains(&(a - 1)) {
                    a -= 1;
                }
                while rows.contains(&(b + 1)) {
                    b += 1;
                }
                at = (a + b) as f32 / 2.0;
                ys[i as usize] = Some(at);
                missed = 0;
            }
            i += dir;
        }
    }
    let known: Vec<(usize, f32)> = ys.iter().enumerate().filter_map(|(i, y)| y.map(|y| (i, y))).collect();
    if known.len() < samples / 2 {
        return None;
    }
    let mut sorted: Vec<f32> = known.iter().map(|k| k.1).collect();
    sorted.sort_by(f32::total_cmp);
    let straight = sorted[sorted.len() / 2];
    // Between samples the bend is drawn straight; beyond the rule's ends it stays as it was
    // at the end.
    let mut bend = vec![0.0f32; samples];
    for (i, b) in bend.iter_mut().enumerate() {
        let after = known.partition_point(|k| k.0 < i);
        *b = match (after.checked_sub(1).map(|j| known[j]), known.get(after)) {
            (_, Some(&(j, y))) if j == i => y,
            (Some((i0, y0)), Some(&(i1, y1))) => y0 + (y1 - y0) * (i - i0) as f32 / (i1 - i0) as f32,
            (Some((_, y)), None) | (None, Some(&(_, y))) => y,
            (None, None) => straight,
        } - straight;
    }
    // A rule's height wavers by a pixel from strip to strip: smoothed over five samples.
    let smooth: Vec<f32> = (0..samples)
        .map(|i| {
            let (a, b) = (i.saturating_sub(2), (i + 3).min(samples));
            bend[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect();
    Some((straight, smooth))
}

impl Curl {
    /// How far down the page's content at (`x`, `y`) lies from where it belongs: the bend
    /// of the rules above and below, weighed by how near each is (the nearest one's alone
    /// above the first rule and below the last).
    fn shift(&self, x: u32, y: f32) -> f32 {
        let i = ((x / self.step) as usize).min(self.rules[0].1.len() - 1);
        let below = self.rules.partition_point(|r| r.0 < y);
        match (below.checked_sub(1).map(|j| &self.rules[j]), self.rules.get(below)) {
            (Some((y0, b0)), Some((y1, b1))) => {
                let t = (y - y0) / (y1 - y0).max(1.0);
                b0[i] + (b1[i] - b0[i]) * t
            }
            (Some((_, b)), None) | (None, Some((_, b))) => b[i],
            (None, None) => 0.0,
        }
    }

    /// The page with its curl undone: every pixel column moved up or down by the bend
    /// there (grey values drawn between the two nearest pixels; `nearest` takes the nearer
    /// one, for black-and-white pages). Beyond the page's edge, `fill`.
    pub fn undo(&self, img: &GrayImage, fill: u8, nearest: bool) -> GrayImage {
        let (w, h) = img.dimensions();
        let mut out = GrayImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let src = y as f32 + self.shift(x, y as f32);
                let value = if nearest || (src - src.round()).abs() < 0.2 {
                    let s = src.round();
                    if s < 0.0 || s >= h as f32 {
                        fill
                    } else {
                        img.get_pixel(x, s as u32).0[0]
                    }
                } else {
                    let s0 = src.floor();
                    let t = src - s0;
                    let at = |s: f32| {
                        if s < 0.0 || s >= h as f32 {
                            fill as f32
                        } else {
                            img.get_pixel(x, s as u32).0[0] as f32
                        }
                    };
                    (at(s0) * (1.0 - t) + at(s0 + 1.0) * t).round() as u8
                };
                out.put_pixel(x, y, Luma([value]));
            }
        }
        out
    }

    /// The largest bend, pixels.
    pub fn largest(&self) -> f32 {
        self.rules.iter().map(|(_, b)| largest(b)).fold(0.0, f32::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ruled page (rules every 60 px, a column rule every 200) whose rules bow upwards
    /// by up to `bow` px towards the left edge, over the left fifth.
    fn ruled(bow: f32) -> GrayImage {
        let (w, h) = (1000u32, 700u32);
        let bent = |x: u32| {
            let lift = (1.0 - x as f32 / 200.0).max(0.0);
            -bow * lift * lift
        };
        let mut page = GrayImage::from_pixel(w, h, Luma([255]));
        for x in 0..w {
            for r in 1..11 {
                let y = (r * 60) as f32 + bent(x);
                for t in 0..3 {
                    page.put_pixel(x, (y.round() as i32 + t) as u32, Luma([0]));
                }
            }
        }
        for y in 55..665 {
            for c in 0..5 {
                for t in 0..3 {
                    page.put_pixel(50 + c * 200 + t, y, Luma([0]));
                }
            }
        }
        page
    }

    #[test]
    fn rules_bent_near_the_binding_come_out_straight() {
        let page = ruled(12.0);
        let curl = find(&page, 150.0).expect("curl");
        assert!((curl.largest() - 12.0).abs() < 3.0, "{}", curl.largest());
        let flat = curl.undo(&page, 255, true);
        // Each rule's ink lies in one band of rows across the whole page again.
        for r in 1..11u32 {
            for x in [5u32, 60, 120, 500, 900] {
                let rows: Vec<u32> = (r * 60 - 20..r * 60 + 20)
                    .filter(|&y| flat.get_pixel(x, y).0[0] == 0)
                    .collect();
                assert!(!rows.is_empty(), "rule {r} lost at x {x}");
                let mid = (rows[0] + rows[rows.len() - 1]) as f32 / 2.0;
                assert!((mid - (r * 60 + 1) as f32).abs() <= 2.0, "rule {r} at x {x}: {rows:?}");
            }
        }
    }

    #[test]
    fn straight_rules_and_a_page_without_rules_are_left_alone() {
        assert!(find(&ruled(0.0), 150.0).is_none());
        // Three quarters of a millimetre at 150 dpi are four pixels and a half.
        assert!(find(&ruled(4.0), 150.0).is_none());
        assert!(find(&GrayImage::from_pixel(1000, 700, Luma([255])), 150.0).is_none());
        // Below straight rules, the page's edge slants towards its corner, bent alone.
        let mut page = ruled(0.0);
        for x in 0..1000u32 {
            let y = 690.0 - (400.0 - x as f32).max(0.0) * 0.04;
            for t in 0..3 {
                page.put_pixel(x, y as u32 + t, Luma([0]));
            }
        }
        assert!(find(&page, 150.0).is_none());
    }
}
