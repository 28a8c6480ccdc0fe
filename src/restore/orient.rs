//! Page orientation: is the writing upright, on its side or upside down?
//!
//! Two measures on the page's ink at about 150 dpi, both made from runs of ink with gaps
//! under a millimetre bridged (letters joined into words):
//! - **on its side**: along a line of writing the joined runs are words, across it they
//!   are single letters. The median run length across rows against the median down
//!   columns says which way the lines go. Ruling lines are longer than any word and are
//!   left out.
//! - **upside down**: in a word, ink outside the band of the lower-case letters lies
//!   mostly above it (ascenders, capitals, and in Vietnamese the tone and vowel marks)
//!   rather than below (descenders, the dot below). Each word votes.
//!
//! A turn is reported only when the evidence is clear; otherwise the page is taken as
//! upright (a page turned by mistake would be worse than one left as scanned).

use crate::raster::{components, Connectivity};
use image::GrayImage;

/// Smallest ratio between the two median run lengths taken as clear evidence.
const SIDE_RATIO: f32 = 1.6;
/// Share of word votes needed to call a page upright or upside down.
const UPRIGHT_SHARE: f32 = 0.7;
/// Fewest runs and word votes that make evidence.
const MIN_RUNS: usize = 300;
const MIN_VOTES: usize = 12;

/// The quarter turn of a levelled page's writing, degrees counter-clockwise: 0, 90, 180
/// or 270 (0 when the evidence is not clear). `binary` is the page deskewed and
/// binarized (ink 0), so that ruling lines are long runs, not staircases. Rotating the
/// page by this angle makes the writing upright.
pub fn detect(binary: &GrayImage, dpi: f32) -> u32 {
    let f = (dpi / 150.0).floor().max(1.0);
    let sdpi = dpi / f;
    let ink = Ink::from_binary(&super::downscale(binary, 1.0 / f));
    let gap = ((sdpi * 0.04).round() as usize).max(2);
    let along = ink.joined_runs(gap, true, sdpi);
    let across = ink.joined_runs(gap, false, sdpi);
    if along.len() < MIN_RUNS || across.len() < MIN_RUNS {
        return 0;
    }
    let ratio = median(along) / median(across).max(1.0);
    let (lines, base) = if ratio >= SIDE_RATIO {
        (ink, 0)
    } else if ratio <= 1.0 / SIDE_RATIO {
        // Lines of writing leave empty rows between them, so a page on its side has
        // empty columns; when the rows show more such gaps than the columns, the runs
        // mislead (upright strokes of a heavy script joined across their gaps) and the
        // page stays as it is.
        if ink.gap_share(true) > ink.gap_share(false) {
            return 0;
        }
        // Writing runs down the page: turn it a quarter clockwise to read it.
        (ink.turned_clockwise(), 90)
    } else {
        return 0;
    };
    match lines.upright_votes(gap, sdpi) {
        Some(true) => base,
        Some(false) => base + 180,
        // On its side but which way is unclear, or no words: leave the page alone.
        None => 0,
    }
}

/// A binary page: `true` is ink.
struct Ink {
    w: usize,
    h: usize,
    px: Vec<bool>,
}

impl Ink {
    fn from_binary(bin: &GrayImage) -> Ink {
        Ink {
            w: bin.width() as usize,
            h: bin.height() as usize,
            // A downscaled block with any ink in it (at most 3/4 paper) is ink.
            px: bin.as_raw().iter().map(|&v| v < 192).collect(),
        }
    }

    fn at(&self, x: usize, y: usize) -> bool {
        self.px[y * self.w + x]
    }

    /// The page turned a quarter clockwise.
    fn turned_clockwise(&self) -> Ink {
        let (w, h) = (self.h, self.w);
        let mut px = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                // Output (x, y) comes from input (y, h_in − 1 − x).
                px[y * w + x] = self.at(y, self.h - 1 - x);
            }
        }
        Ink { w, h, px }
    }

    /// Lengths of ink runs with gaps up to `gap` bridged, along rows (`rows`) or down
    /// columns; runs shorter than half a millimetre (specks) or longer than a quarter of
    /// the page side (ruling lines, borders) are left out.
    fn joined_runs(&self, gap: usize, rows: bool, dpi: f32) -> Vec<u32> {
        let min = ((dpi * 0.02) as usize).max(2);
        let max = if rows { self.w } else { self.h } / 4;
        let mut out = Vec::new();
        // One run state per line: rows one at a time, or all columns side by side (the
        // image is read in memory order either way).
        let n = if rows { 1 } else { self.w };
        let mut start: Vec<Option<usize>> = vec![None; n];
        let mut last: Vec<usize> = vec![0; n];
        #[allow(clippy::too_many_arguments)]
        fn step(
            start: &mut Option<usize>,
            last: &mut usize,
            i: usize,
            gap: usize,
            out: &mut Vec<u32>,
            min: usize,
            max: usize,
        ) {
            match *start {
                Some(_) if i - *last <= gap + 1 => {}
                Some(s) => {
                    push_run(out, *last + 1 - s, min, max);
                    *start = Some(i);
                }
                None => *start = Some(i),
            }
            *last = i;
        }
        for y in 0..self.h {
            let row = &self.px[y * self.w..(y + 1) * self.w];
            if rows {
                for (x, _) in row.iter().enumerate().filter(|(_, &p)| p) {
                    step(&mut start[0], &mut last[0], x, gap, &mut out, min, max);
                }
                if let Some(s) = start[0].take() {
                    push_run(&mut out, last[0] + 1 - s, min, max);
                }
            } else {
                for (x, _) in row.iter().enumerate().filter(|(_, &p)| p) {
                    step(&mut start[x], &mut last[x], y, gap, &mut out, min, max);
                }
            }
        }
        if !rows {
            for (s, l) in start.iter().zip(&last) {
                if let Some(s) = s {
                    push_run(&mut out, l + 1 - s, min, max);
                }
            }
        }
        out
    }

    /// The share of the inked extent's rows (`rows`) or columns holding almost no ink
    /// (under 2% of the fullest one): the gaps between lines of writing.
    fn gap_share(&self, rows: bool) -> f32 {
        let (n, m) = if rows { (self.h, self.w) } else { (self.w, self.h) };
        let counts: Vec<usize> = (0..n)
            .map(|i| {
                (0..m)
                    .filter(|&j| if rows { self.at(j, i) } else { self.at(i, j) })
                    .count()
            })
            .collect();
        let (Some(first), Some(last)) = (counts.iter().position(|&c| c > 0), counts.iter().rposition(|&c| c > 0))
        else {
            return 0.0;
        };
        let span = &counts[first..=last];
        let full = span.iter().copied().max().unwrap_or(0);
        span.iter().filter(|&&c| c * 50 < full).count() as f32 / span.len() as f32
    }

    /// Do the words stand upright? `Some(true)` upright, `Some(false)` upside down,
    /// `None` unclear. Words are the boxes of ink joined along rows; each compares the
    /// ink above its band of densest rows with the ink below.
    fn upright_votes(&self, gap: usize, dpi: f32) -> Option<bool> {
        let words = self.word_boxes(gap);
        let (min_h, max_h) = ((dpi * 0.06) as usize, (dpi * 0.4) as usize);
        let (mut up, mut down) = (0usize, 0usize);
        for (x0, y0, x1, y1) in words {
            let (bw, bh) = (x1 - x0, y1 - y0);
            if bh < min_h.max(4) || bh > max_h || bw < bh * 3 / 2 || bw > self.w / 4 {
                continue;
            }
            // The box grown by 40% of its height both ways takes marks that do not touch.
            let ext = bh * 2 / 5;
            let (top, bottom) = (y0.saturating_sub(ext), (y1 + ext).min(self.h));
            let profile: Vec<u32> = (top..bottom)
                .map(|y| (x0..x1).filter(|&x| self.at(x, y)).count() as u32)
                .collect();
            let Some((peak, &max)) = profile.iter().enumerate().max_by_key(|(_, &c)| c) else {
                continue;
            };
            let level = max / 2;
            let (mut a, mut b) = (peak, peak);
            while a > 0 && profile[a - 1] >= level {
                a -= 1;
            }
            while b + 1 < profile.len() && profile[b + 1] >= level {
                b += 1;
            }
            let above: u32 = profile[..a].iter().sum();
            let below: u32 = profile[b + 1..].iter().sum();
            if above * 4 > below * 5 {
                up += 1;
            } else if below * 4 > above * 5 {
                down += 1;
            }
        }
        let n = up + down;
        if n < MIN_VOTES {
            return None;
        }
        if up as f32 >= UPRIGHT_SHARE * n as f32 {
            Some(true)
        } else if down as f32 >= UPRIGHT_SHARE * n as f32 {
            Some(false)
        } else {
            None
        }
    }

    /// Boxes `(x0, y0, x1, y1)` (ends exclusive) of the connected parts of the ink once
    /// gaps up to `gap` along rows are bridged.
    fn word_boxes(&self, gap: usize) -> Vec<(usize, usize, usize, usize)> {
        let (w, h) = (self.w, self.h);
        let mut joined = self.px.clone();
        for y in 0..h {
            let row = &mut joined[y * w..(y + 1) * w];
            let mut last: Option<usize> = None;
            for x in 0..w {
                if self.px[y * w + x] {
                    if let Some(l) = last {
                        if x - l > 1 && x - l <= gap + 1 {
                            row[l + 1..x].iter_mut().for_each(|p| *p = true);
                        }
                    }
                    last = Some(x);
                }
            }
        }
        let ink = |x: u32, y: u32| joined[y as usize * w + x as usize];
        components(w as u32, h as u32, Connectivity::Four, ink)
            .into_iter()
            .map(|c| {
                let [x, y, bw, bh] = c.bbox.map(|v| v as usize);
                (x, y, x + bw, y + bh)
            })
            .collect()
    }
}

fn push_run(out: &mut Vec<u32>, len: usize, min: usize, max: usize) {
    if len >= min && len <= max {
        out.push(len as u32);
    }
}

/// The run length that half of the ink lies in runs up to (specks weigh little).
fn median(mut v: Vec<u32>) -> f32 {
    v.sort_unstable();
    let total: u64 = v.iter().map(|&l| l as u64).sum();
    let mut acc = 0u64;
    for &l in &v {
        acc += l as u64;
        if acc * 2 >= total {
            return l as f32;
        }
    }
    0.0
}

#[cfg(all(test, feature = "synth"))]
mod tests {
    use crate::synth::{render_page, sample_specs, varied_specs};

    #[test]
    fn turned_pages_are_found_and_upright_pages_left_alone() {
        let mut specs = sample_specs();
        specs.truncate(2);
        // A skewed page with few records: mostly empty ruled cells.
        specs.extend(varied_specs(1, 11, Some(200.0)));
        for spec in &specs {
            let (page, truth) = render_page(spec).expect("fonts installed");
            for turn in [0.0f32, 90.0, 180.0, 270.0] {
                // Content at `turn` degrees plus the page's own skew.
                let img = if turn == 0.0 {
                    page.clone()
                } else {
                    super::super::rotate(&page, -turn, 255)
                };
                let r = super::super::restore(&img, spec.dpi, &Default::default());
                let want = turn + truth.skew_deg;
                let off = (r.skew_deg - want).rem_euclid(360.0);
                let err = off.min(360.0 - off);
                assert!(
                    err <= 0.3,
                    "{} turned {turn}°: found {}°, want {want}°",
                    spec.file,
                    r.skew_deg
                );
            }
        }
    }
}
