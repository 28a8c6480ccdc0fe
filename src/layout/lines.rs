//! Text lines of a region: bands of ink between rows free of it, or split at the valleys
//! of the ink profile where lines of handwriting touch.

use crate::raster::{clip, BBox};
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// A text line inside a region, in page pixels: the rows it spans (marks above and
/// below its letters included) and the columns its ink spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextLine {
    /// Its box on the page.
    pub bbox: BBox,
}

/// Splits a region of the binary page (ink 0) into text lines: bands of rows that hold
/// ink, split where rows hold none. A band much thinner than the tallest (the tone marks
/// above a line, a dot below it) joins its nearest neighbour; specks far too small to be
/// writing are dropped. Lines come top to bottom.
pub fn text_lines(binary: &GrayImage, region: BBox) -> Vec<TextLine> {
    let [x0, y0, w, h] = clip(region, binary.dimensions());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let ink = |x: u32, y: u32| binary.get_pixel(x, y).0[0] == 0;
    let rows: Vec<u32> = (y0..y0 + h)
        .map(|y| (x0..x0 + w).filter(|&x| ink(x, y)).count() as u32)
        .collect();
    // Bands of inked rows: (first, one past last, ink).
    let mut bands: Vec<(u32, u32, u32)> = Vec::new();
    for (i, &n) in rows.iter().enumerate() {
        let i = i as u32;
        match bands.last_mut() {
            Some(b) if n > 0 && b.1 == i => {
                b.1 = i + 1;
                b.2 += n;
            }
            _ if n > 0 => bands.push((i, i + 1, n)),
            _ => {}
        }
    }
    // Specks go first, so that they do not pull a mark away from its line.
    let tallest = bands.iter().map(|b| b.1 - b.0).max().unwrap_or(0);
    bands.retain(|b| b.2 * 200 >= tallest * tallest);
    // Thin bands join the nearer neighbour, thinnest first, until every band is a line.
    loop {
        let tallest = bands.iter().map(|b| b.1 - b.0).max().unwrap_or(0);
        let Some((i, _)) = bands
            .iter()
            .enumerate()
            .filter(|(_, b)| (b.1 - b.0) * 5 < tallest * 2)
            .min_by_key(|(_, b)| b.1 - b.0)
        else {
            break;
        };
        if bands.len() == 1 {
            break;
        }
        let gap_above = (i > 0).then(|| bands[i].0 - bands[i - 1].1);
        let gap_below = (i + 1 < bands.len()).then(|| bands[i + 1].0 - bands[i].1);
        let j = match (gap_above, gap_below) {
            (Some(a), Some(b)) if a <= b => i - 1,
            (Some(_), None) => i - 1,
            _ => i + 1,
        };
        let (lo, hi) = (i.min(j), i.max(j));
        let merged = (bands[lo].0, bands[hi].1, bands[lo].2 + bands[hi].2);
        bands[lo] = merged;
        bands.remove(hi);
    }
    let tallest = bands.iter().map(|b| b.1 - b.0).max().unwrap_or(0);
    bands
        .into_iter()
        .filter(|b| b.2 * 50 >= tallest * tallest)
        .filter_map(|(top, bottom, _)| {
            let (top, bottom) = (y0 + top, y0 + bottom);
            band_line(binary, x0, x0 + w, top, bottom, true)
        })
        .collect()
}

/// The text lines of a page region of running text (a letter, a page without a table),
/// where lines of handwriting touch through their ascenders and descenders: the rows are
/// split at the valleys of the ink profile, the profile smoothed over a third of the
/// line pitch (the lag at which the profile best repeats itself).
pub fn page_lines(binary: &GrayImage, region: BBox) -> Vec<TextLine> {
    let [x0, y0, w, h] = clip(region, binary.dimensions());
    if w == 0 || h < 8 {
        return Vec::new();
    }
    let raw = binary.as_raw();
    let stride = binary.width() as usize;
    let rows: Vec<f32> = (y0..y0 + h)
        .map(|y| {
            let row = &raw[y as usize * stride + x0 as usize..y as usize * stride + (x0 + w) as usize];
            row.iter().filter(|&&v| v == 0).count() as f32
        })
        .collect();
    let pitch = line_pitch(&rows);
    let smooth = box_smooth(&rows, (pitch / 8).max(1));
    // Valleys: minima of the smoothed profile, at least half a pitch apart, well below
    // the peaks on either side.
    let n = smooth.len();
    let mut cuts: Vec<usize> = vec![0];
    let mut i = 0;
    while i < n {
        let lo = i.saturating_sub(pitch / 2);
        let hi = (i + pitch / 2 + 1).min(n);
        let is_min = smooth[lo..hi].iter().all(|&v| v >= smooth[i]);
        let left_peak = smooth[cuts.last().copied().unwrap_or(0)..i]
            .iter()
            .cloned()
            .fold(0.0, f32::max);
        let right_peak = smooth[i..(i + pitch).min(n)].iter().cloned().fold(0.0, f32::max);
        if is_min
            && i > 0
            && smooth[i] < 0.6 * left_peak.min(right_peak)
            && i - cuts.last().copied().unwrap_or(0) >= pitch / 2
        {
            cuts.push(i);
            i += pitch / 2;
            continue;
        }
        i += 1;
    }
    cuts.push(n);
    cuts.windows(2)
        .filter_map(|c| {
            let (top, bottom) = (y0 + c[0] as u32, y0 + c[1] as u32);
            let total: f32 = rows[c[0]..c[1]].iter().sum();
            if total < (pitch * pitch / 8) as f32 {
                return None;
            }
            band_line(binary, x0, x0 + w, top, bottom, false)
        })
        .collect()
}

/// The line in rows `top..bottom` of columns `from..to`: its ink's horizontal extent, a
/// stray stroke at either edge left out; `None` without ink. In a cell (`ruled`), a
/// stray stroke is a rule's remnant: hard against the edge, running down the whole line;
/// at a page's edges any narrow mark standing apart near the edge is (a neighbour's
/// writing cut off, a tear).
pub(super) fn band_line(
    binary: &GrayImage,
    from: u32,
    to: u32,
    top: u32,
    bottom: u32,
    ruled: bool,
) -> Option<TextLine> {
    let ink = |x: u32, y: u32| binary.get_pixel(x, y).0[0] == 0;
    let cols: Vec<u32> = (from..to).filter(|&x| (top..bottom).any(|y| ink(x, y))).collect();
    // Rows a run of columns has ink in.
    let tall = |a: u32, b: u32| (top..bottom).filter(|&y| (a..=b).any(|x| ink(x, y))).count() as u32;
    let (left, right) = trim_edge_strokes(&cols, from, to, bottom - top, ruled.then_some(tall))?;
    Some(TextLine {
        bbox: [left, top, right + 1 - left, bottom - top],
    })
}

/// The lag (rows) at which a row profile first matches itself again past its first dip:
/// the line pitch.
pub(super) fn line_pitch(rows: &[f32]) -> usize {
    let n = rows.len();
    // Centred on a wide moving average, not the page's mean: where the writing fades
    // down the page (or a block of dense lines meets a sparse one) the trend would
    // otherwise keep the correlation positive far past the lines' pitch.
    let trend = box_smooth(rows, (n / 8).clamp(40, 160));
    let centred: Vec<f32> = rows.iter().zip(&trend).map(|(v, t)| v - t).collect();
    let corr = |lag: usize| -> f32 {
        centred[..n - lag]
            .iter()
            .zip(&centred[lag..])
            .map(|(a, b)| a * b)
            .sum::<f32>()
            / (n - lag) as f32
    };
    let max_lag = (n / 2).min(400);
    let Some(dip) = (1..max_lag).find(|&lag| corr(lag) <= 0.0) else {
        return 8;
    };
    // The first peak past the dip (a later, higher one is a multiple of it, or the
    // page's layout rather than its lines).
    let c: Vec<f32> = (dip..max_lag).map(corr).collect();
    let peak = (1..c.len().saturating_sub(1))
        .find(|&i| c[i] > 0.0 && c[i] >= c[i - 1] && c[i] >= c[i + 1])
        .map_or(8, |i| dip + i);
    peak.max(8)
}

/// A moving average over `2 * r + 1` values.
pub(super) fn box_smooth(v: &[f32], r: usize) -> Vec<f32> {
    let n = v.len();
    let mut prefix = vec![0.0f32; n + 1];
    for (i, x) in v.iter().enumerate() {
        prefix[i + 1] = prefix[i] + x;
    }
    (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(r), (i + r + 1).min(n));
            (prefix[b] - prefix[a]) / (b - a) as f32
        })
        .collect()
}

/// The first and last inked column of a line, leaving out a narrow stroke standing apart
/// near either edge of the region (what is left of a ruling line, the edge of a tear):
/// writing seldom starts with a lone stroke hard against a cell's rule. With `remnant`
/// (in a cell; `remnant(a, b)`: the rows columns `a..=b` have ink in), only a stroke
/// within a quarter of the line's height of the edge and running down the whole line: the
/// i ending `hai` stands a little off the rule, and at low resolution its dot and stem
/// fill the line's height too.
pub(super) fn trim_edge_strokes(
    cols: &[u32],
    from: u32,
    to: u32,
    height: u32,
    remnant: Option<impl Fn(u32, u32) -> u32>,
) -> Option<(u32, u32)> {
    // Runs of inked columns: (first, last).
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &c in cols {
        match runs.last_mut() {
            Some(r) if c <= r.1 + 2 => r.1 = c,
            _ => runs.push((c, c)),
        }
    }
    let h = height.max(1);
    let stray = |r: (u32, u32), edge_gap: u32, gap_to_text: u32| {
        let apart = r.1 - r.0 < h / 5 + 1 && gap_to_text >= h * 3 / 10;
        apart
            && match &remnant {
                Some(tall) => edge_gap < (h / 4).max(2) && tall(r.0, r.1) * 10 >= h * 9,
                None => edge_gap < h * 3 / 5,
            }
    };
    if runs.len() >= 2 && stray(runs[0], runs[0].0 - from, runs[1].0 - runs[0].1) {
        runs.remove(0);
    }
    let n = runs.len();
    if n >= 2
        && stray(
            runs[n - 1],
            to.saturating_sub(runs[n - 1].1 + 1),
            runs[n - 1].0 - runs[n - 2].1,
        )
    {
        runs.pop();
    }
    Some((runs.first()?.0, runs.last()?.1))
}
