//! Ruling lines: long gap-closed runs of ink across a page, weaker lines at the rows'
//! pitch, rules broken every few millimetres, and how far a rule runs.

use super::RuleLine;
use crate::raster::mm_px;
use image::GrayImage;

/// A line found on a smeared page, brought back to its own width.
pub(super) fn unsmear(l: RuleLine, r: u32) -> RuleLine {
    let (from, to) = if l.to >= l.from + 2 * r {
        (l.from + r, l.to - r)
    } else {
        (l.pos, l.pos)
    };
    RuleLine {
        pos: (from + to) / 2,
        from,
        to,
    }
}

/// For every row (`horizontal`) or column of the page, the number of pixels covered by
/// ink runs at least `min_run` long once gaps up to `gap` are closed.
pub(super) fn run_coverage(img: &GrayImage, horizontal: bool, min_run: u32, gap: u32) -> Vec<u32> {
    let (w, h) = img.dimensions();
    let rows = img.as_raw().chunks_exact(w.max(1) as usize);
    let mut runs = vec![Runs::default(); if horizontal { h } else { w } as usize];
    // Pixels in memory order: along each row, or down every column at once.
    for (y, row) in rows.enumerate() {
        for (x, _) in row.iter().enumerate().filter(|(_, &v)| v == 0) {
            let (line, at) = if horizontal { (y, x) } else { (x, y) };
            runs[line].ink(at as u32, min_run, gap);
        }
    }
    runs.iter().map(|r| r.covered(min_run)).collect()
}

/// The ink runs along one line, seen so far (see [`run_coverage`]).
#[derive(Clone, Copy, Default)]
pub(super) struct Runs {
    /// Length of the finished runs of `min_run` or more.
    covered: u32,
    /// Where the open run began.
    start: Option<u32>,
    last_ink: u32,
}

impl Runs {
    /// Ink at `i`, past every earlier one.
    fn ink(&mut self, i: u32, min_run: u32, gap: u32) {
        match self.start {
            Some(_) if i - self.last_ink <= gap + 1 => {}
            Some(_) => {
                self.covered = self.covered(min_run);
                self.start = Some(i);
            }
            None => self.start = Some(i),
        }
        self.last_ink = i;
    }

    /// The covered length, the open run counted when long enough.
    fn covered(&self, min_run: u32) -> u32 {
        match self.start {
            Some(s) if self.last_ink + 1 - s >= min_run => self.covered + self.last_ink + 1 - s,
            _ => self.covered,
        }
    }
}

/// The items of `next` (walking away from `start`, their places given by `pos`) that go
/// on at `pitch`, each within `pitch / tolerance` of its place from the last one taken;
/// one closer than `close × pitch` (a double rule, a record's second line) is passed
/// over, and the first one further off stops the walk.
pub(super) fn follow_pitch<T>(
    start: u32,
    next: impl Iterator<Item = T>,
    pos: impl Fn(&T) -> u32,
    pitch: f32,
    tolerance: f32,
    close: f32,
) -> Vec<T> {
    let mut taken = Vec::new();
    let mut edge = start;
    for item in next {
        let d = edge.abs_diff(pos(&item));
        if (d as f32 - pitch).abs() <= pitch / tolerance {
            edge = pos(&item);
            taken.push(item);
        } else if (d as f32) >= pitch * close {
            break;
        }
    }
    taken
}

/// The pitch of rules (top to bottom, two at least): the median space between them.
pub(super) fn pitch_of(lines: &[RuleLine]) -> f32 {
    let mut gaps: Vec<u32> = lines.windows(2).map(|p| p[1].pos - p[0].pos).collect();
    gaps.sort_unstable();
    gaps[gaps.len() / 2] as f32
}

/// `kept` (rules of a table, top to bottom) with those of `all` above and below it that
/// go on at its rows' pitch (the median space between its rules), each within a fifth
/// of a pitch of the next; a rule closer than that to the last one taken (a double
/// rule, a stroke) is passed over, and the first one further stops the run.
pub(super) fn continue_pitch(kept: Vec<RuleLine>, all: &[RuleLine]) -> Vec<RuleLine> {
    if kept.len() < 4 {
        return kept;
    }
    let pitch = pitch_of(&kept);
    let (first, last) = (kept[0].pos, kept[kept.len() - 1].pos);
    let pos = |l: &RuleLine| l.pos;
    let mut above = follow_pitch(
        first,
        all.iter().rev().filter(|l| l.pos < first).copied(),
        pos,
        pitch,
        5.0,
        0.8,
    );
    let below = follow_pitch(last, all.iter().filter(|l| l.pos > last).copied(), pos, pitch, 5.0, 0.8);
    above.reverse();
    above.into_iter().chain(kept).chain(below).collect()
}

/// `lines` (rules found against the page's width) with the weaker rules between them: a
/// pencil rule broken into dashes covers less of the page than the rules around it, and
/// under the bar it is lost, with it a row (a record taken into the header, two records
/// in one row). Where two rules found lie a pitch and a half apart or more (the pitch:
/// the median space between them), a line between them covering a third of what the
/// rules typically cover (an eighth of the page's width at least), a whole number of
/// pitches from either of them (within a quarter), is a rule too; text makes no such runs.
pub(super) fn with_weak_rules(lines: Vec<RuleLine>, cover: &[u32], width: u32) -> Vec<RuleLine> {
    if lines.len() < 4 {
        return lines;
    }
    let mut covers: Vec<u32> = lines.iter().map(|l| cover[l.pos as usize]).collect();
    covers.sort_unstable();
    let typical = covers[covers.len() / 2] as f32;
    let pitch = pitch_of(&lines);
    let on_pitch = |d: u32| {
        let k = (d as f32 / pitch).round();
        k >= 1.0 && (d as f32 - k * pitch).abs() <= pitch / 4.0
    };
    let weak: Vec<RuleLine> = pick_lines(cover, (typical / 3.0).max(width as f32 / 8.0), 0.0)
        .into_iter()
        .filter(|l| {
            lines.windows(2).any(|p| {
                let (a, b) = (p[0].pos, p[1].pos);
                a < l.pos && l.pos < b && (b - a) as f32 >= 1.5 * pitch && (on_pitch(l.pos - a) || on_pitch(b - l.pos))
            })
        })
        .collect();
    let mut all: Vec<RuleLine> = lines.into_iter().chain(weak).collect();
    all.sort_by_key(|l| l.pos);
    all
}

/// A rule is this thick at most (mm), the band it covers when aslant included.
pub(super) const MAX_RULE_MM: f32 = 4.0;

/// A line is a rule when it covers this share of the best-covered line, at least.
pub(super) const STRONG_SHARE: f32 = 0.35;

/// Groups consecutive positions whose coverage passes `min_cover` and `share` of the
/// largest coverage into lines.
pub(super) fn pick_lines(cover: &[u32], min_cover: f32, share: f32) -> Vec<RuleLine> {
    let max = cover.iter().copied().max().unwrap_or(0) as f32;
    let thr = min_cover.max(max * share);
    let mut lines = Vec::new();
    let mut i = 0;
    while i < cover.len() {
        if cover[i] as f32 >= thr {
            let from = i;
            while i < cover.len() && cover[i] as f32 >= thr {
                i += 1;
            }
            let to = i - 1;
            lines.push(RuleLine {
                pos: ((from + to) / 2) as u32,
                from: from as u32,
                to: to as u32,
            });
        } else {
            i += 1;
        }
    }
    // Merge lines closer than a few pixels (a thick or doubled rule).
    let mut merged: Vec<RuleLine> = Vec::new();
    for l in lines {
        match merged.last_mut() {
            Some(m) if l.from <= m.to + 4 => {
                m.to = l.to;
                m.pos = (m.from + m.to) / 2;
            }
            _ => merged.push(l),
        }
    }
    merged
}

/// `rules` (column rules, left to right) with those of `candidates` that run over half of
/// the table's height (`top`, `bottom`) with breaks of up to 2.5 mm bridged, inside
/// `within` (left and right) and further than `min_col` from the rules already there.
pub(super) fn with_broken_rules(
    rules: &[RuleLine],
    candidates: &[RuleLine],
    img: &GrayImage,
    (top, bottom): (u32, u32),
    (left, right): (u32, u32),
    min_col: u32,
    dpi: f32,
) -> Vec<RuleLine> {
    let broken = (mm_px(2.5, dpi) as u32).max(3);
    let extra = candidates.iter().copied().filter(|l| {
        l.pos > left
            && l.pos < right
            && rules.iter().all(|r| r.pos.abs_diff(l.pos) > min_col)
            && vertical_extent(img, l, top, bottom, broken) >= (bottom - top) as f32 * 0.5
    });
    let mut out: Vec<RuleLine> = rules.iter().copied().chain(extra).collect();
    out.sort_by_key(|l| l.pos);
    out
}

/// The longest run along a line with gaps up to `gap` closed: (first, one past last).
/// Ink anywhere across the line's band, or a pixel beyond it, counts when the band is
/// at most `2 × drift` wide: the band a rule's coverage spans takes in its drift (a rule a
/// little aslant on a page flattened from a photo, a ruling drawn by hand). A wider band
/// is no single rule's (the dark edges of a book's pages, a shadow's rim): there only its
/// middle and a pixel either side count.
pub(super) fn rule_span(img: &GrayImage, line: &RuleLine, horizontal: bool, gap: u32, drift: u32) -> (u32, u32) {
    let (w, h) = img.dimensions();
    let (n, across) = if horizontal { (w, h) } else { (h, w) };
    let raw = img.as_raw();
    let (from, to) = if line.to - line.from <= 2 * drift {
        (line.from, line.to)
    } else {
        (line.pos, line.pos)
    };
    let band = from.saturating_sub(1)..=(to + 1).min(across - 1);
    let ink = |i: u32| {
        band.clone().any(|p| {
            let (x, y) = if horizontal { (i, p) } else { (p, i) };
            raw[(y * w + x) as usize] == 0
        })
    };
    let mut best = (0, 0);
    let mut start: Option<u32> = None;
    let mut last = 0;
    for i in (0..n).filter(|&i| ink(i)) {
        match start {
            Some(_) if i - last <= gap + 1 => {}
            _ => start = Some(i),
        }
        last = i;
        let s = start.unwrap_or(i);
        if last + 1 - s > best.1 - best.0 {
            best = (s, last + 1);
        }
    }
    best
}

pub(super) fn vertical_extent(img: &GrayImage, line: &RuleLine, top: u32, bottom: u32, gap: u32) -> f32 {
    let (a, b) = rule_span(img, line, false, gap, 0);
    let a = a.max(top);
    let b = b.min(bottom);
    b.saturating_sub(a) as f32
}
