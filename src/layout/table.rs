//! The table from its ruling lines: rules found, the table's extent, its rows between
//! row rules and its columns between column rules (or fitted where those are missing).

use super::columns::{columns_from_gutters, fit_to_template, lay_columns};
use super::rules::*;
use super::{Band, Grid, RuleLine};
use crate::raster::{mm_px, px_per_mm, smear};
use image::GrayImage;

/// Finds the table. `dpi` scales the minimum sizes. `expected_columns` (with relative
/// widths summing to 1) is used when the vertical lines cannot be found.
pub fn find_table(binary: &GrayImage, dpi: f32, expected_columns: &[f32]) -> Grid {
    find_table_on(binary, binary, dpi, expected_columns)
}

/// [`find_table`] with its rules looked for in `binary` (marks on the grey page: faint
/// and pencil rules) and the gutters between columns in `writing` (the black-and-white
/// page: the marks of a stain's grain or of noisy paper fill them).
pub fn find_table_on(binary: &GrayImage, writing: &GrayImage, dpi: f32, expected_columns: &[f32]) -> Grid {
    let gap = ((dpi / 40.0) as u32).max(3);
    // Rules drawn by hand or in pencil waver by a fraction of a millimetre: each is looked
    // for on the page smeared across it by that much.
    let waver = (mm_px(0.3, dpi) as u32).max(1);
    // Where the column rules run, a rule a little aslant (left so by a photo's
    // flattening) is followed across the band of columns it spans, up to 2 mm wide (see
    // [`rule_span`]); elsewhere along its middle.
    let drift = px_per_mm(dpi) as u32;
    // Broken rules (faded, pencil) are bridged over a few millimetres where it is judged
    // how far they run.
    let bridge = gap.max(mm_px(4.0, dpi) as u32);
    let across_rows = smear(binary, waver, true);
    let across_cols = smear(binary, waver, false);
    let (h_lines, v_lines) = rules_found(&across_rows, &across_cols, dpi, gap, waver);
    let binary = &across_cols;
    let all_h_lines = h_lines.clone();
    if h_lines.len() < 3 {
        return Grid {
            h_lines,
            v_lines,
            ..Grid::default()
        };
    }
    let top = h_lines[0].from;
    let bottom = h_lines[h_lines.len() - 1].to + 1;
    // Vertical lines must span a good part of the table height to count.
    let table_h = (bottom - top) as f32;
    let all_v_lines = v_lines.clone();
    let v_lines: Vec<RuleLine> = v_lines
        .into_iter()
        .filter(|l| vertical_extent(binary, l, top, bottom, gap) >= table_h * 0.5)
        .collect();
    let spans: Vec<(u32, u32)> = v_lines
        .iter()
        .map(|l| rule_span(binary, l, false, bridge, drift))
        .collect();
    let h_lines = rows_where_columns_run(h_lines, &spans, gap);
    // Rules beyond where the column rules run (faded or broken there, as at the top of
    // an old page) that go on at the rows' own pitch are rows of the table all the same.
    let h_lines = continue_pitch(h_lines, &all_h_lines);
    let (left, right) = horizontal_extent(&across_rows, &h_lines, bridge);
    // A rule runs across most of the table (broken or not); a line of handwriting, however
    // long its strokes, leaves gaps between its words. A table has three rules at least,
    // and two column rules (its frame) standing across its rows, or one (the other torn
    // away) with six rules or more.
    let h_lines: Vec<RuleLine> = h_lines
        .into_iter()
        .filter(|l| {
            let (a, b) = rule_span(&across_rows, l, true, bridge, 0);
            (b - a) * 2 >= right - left
        })
        .collect();
    if h_lines.len() < 3 || v_lines.is_empty() || (v_lines.len() < 2 && h_lines.len() < 6) {
        return Grid {
            h_lines,
            v_lines,
            ..Grid::default()
        };
    }
    let top = h_lines[0].from;
    let bottom = h_lines[h_lines.len() - 1].to + 1;
    let min_row = (dpi * 0.10) as u32;
    let rows = bands_between(&h_lines, min_row);
    let extent = Extent {
        left,
        right,
        top,
        bottom,
    };
    let rules = (&h_lines[..], &v_lines[..], &all_v_lines[..]);
    let (columns, from_template) = table_columns((binary, writing), rules, extent, expected_columns, gap, dpi);
    // The frame's outer rules, when two are found (one alone may be a rule inside), or
    // the ends of the rows where a frame rule is gone.
    let (left, right) = match (v_lines.first(), v_lines.last()) {
        (Some(a), Some(b)) if v_lines.len() >= 2 && !from_template => (
            a.from.min(columns.first().map_or(a.from, |c| c.start)),
            (b.to + 1).max(columns.last().map_or(0, |c| c.end)),
        ),
        _ => (left, right),
    };
    Grid {
        table: Some([left, top, right.saturating_sub(left), bottom - top]),
        h_lines,
        v_lines,
        rows,
        columns,
    }
}

/// Where a table's rows run across (`left`..`right`) and down (`top`..`bottom`).
#[derive(Clone, Copy)]
struct Extent {
    left: u32,
    right: u32,
    top: u32,
    bottom: u32,
}

/// The row and column rules of a page smeared across them (`across_rows`,
/// `across_cols`): long gap-closed runs of ink, weaker lines at the rows' pitch among the
/// row rules, each brought back to its own width; a band of marks thicker than a rule,
/// even one aslant, is the edge of something solid (the grey surround of a scanned page,
/// a shadow), not a rule.
fn rules_found(
    across_rows: &GrayImage,
    across_cols: &GrayImage,
    dpi: f32,
    gap: u32,
    waver: u32,
) -> (Vec<RuleLine>, Vec<RuleLine>) {
    let (w, h) = across_rows.dimensions();
    let h_cover = run_coverage(across_rows, true, (w / 12).max(40), gap);
    let h_lines = with_weak_rules(pick_lines(&h_cover, w as f32 * 0.25, STRONG_SHARE), &h_cover, w);
    let v_cover = run_coverage(across_cols, false, (h / 20).max(40), gap);
    let v_lines = pick_lines(&v_cover, h as f32 * 0.12, STRONG_SHARE);
    let thick = mm_px(MAX_RULE_MM, dpi) as u32;
    let rules = |lines: Vec<RuleLine>| -> Vec<RuleLine> {
        lines
            .into_iter()
            .map(|l| unsmear(l, waver))
            .filter(|l| l.to - l.from <= thick)
            .collect()
    };
    (rules(h_lines), rules(v_lines))
}

/// The row rules (`h_lines`, top to bottom) that belong to a table whose column rules
/// run as `spans` (each's top and bottom). With column rules present, the table is where
/// they run: horizontal lines above or below them (a page edge, a title underline, a
/// stain) are not table rows; nor are lines above or below what any column rule crosses
/// (the rim of a shadow along the page's edge, a title's underline).
fn rows_where_columns_run(h_lines: Vec<RuleLine>, spans: &[(u32, u32)], gap: u32) -> Vec<RuleLine> {
    let h_lines = if spans.len() >= 2 {
        let mut by_length = spans.to_vec();
        by_length.sort_by_key(|s| s.1 - s.0);
        let (vt, vb) = by_length[by_length.len() / 2];
        let tol = gap * 3;
        let kept: Vec<RuleLine> = h_lines
            .iter()
            .copied()
            .filter(|l| l.pos + tol >= vt && l.pos <= vb + tol)
            .collect();
        if kept.len() >= 3 {
            kept
        } else {
            h_lines
        }
    } else {
        h_lines
    };
    if spans.is_empty() {
        return h_lines;
    }
    let crossed = |a: &RuleLine, b: &RuleLine| {
        let (lo, hi) = (a.pos + (b.pos - a.pos) / 4, b.pos - (b.pos - a.pos) / 4);
        spans.iter().any(|&(s, e)| s <= lo && e >= hi)
    };
    let first = (0..h_lines.len() - 1).find(|&i| crossed(&h_lines[i], &h_lines[i + 1]));
    let last = (0..h_lines.len() - 1)
        .rev()
        .find(|&i| crossed(&h_lines[i], &h_lines[i + 1]));
    match (first, last) {
        (Some(f), Some(l)) if l + 2 - f >= 3 => h_lines[f..l + 2].to_vec(),
        _ => h_lines,
    }
}

/// The columns of a table running as `extent` with rules `(h_lines, v_lines, all_v_lines)`
/// (the row rules, the unbroken column rules, every column rule found), found on `marks`
/// with the writing's gutters looked for on `writing`; and whether they were laid at the
/// template's proportions (`expected`), for want of rules and gutters.
fn table_columns(
    (marks, writing): (&GrayImage, &GrayImage),
    (h_lines, v_lines, all_v_lines): (&[RuleLine], &[RuleLine], &[RuleLine]),
    extent: Extent,
    expected_columns: &[f32],
    gap: u32,
    dpi: f32,
) -> (Vec<Band>, bool) {
    let Extent {
        left,
        right,
        top,
        bottom,
    } = extent;
    let min_col = (dpi * 0.12) as u32;
    // Column rules broken every few millimetres (faded, ruled in pencil) divide columns
    // too, though they are not trusted to tell where the table runs (a margin drawn by
    // hand, the left edge of a column of writing may pass for one over the rows).
    // The grid's own `v_lines` stay the unbroken ones (whether a page's rules are to be
    // looked for again on the grey page hangs on them).
    let dividers = if v_lines.len() < expected_columns.len() + 1 {
        let within = (left + min_col, right.saturating_sub(min_col));
        with_broken_rules(v_lines, all_v_lines, marks, (top, bottom), within, min_col, dpi)
    } else {
        v_lines.to_vec()
    };
    let mut columns = if dividers.len() >= 2 {
        let mut columns = bands_between(&dividers, min_col);
        // A frame rule torn or faded away: the rows run on past the outermost column rule,
        // and what lies there is a column too.
        let (first, last) = (dividers[0], dividers[dividers.len() - 1]);
        if right > last.to + 1 + min_col {
            columns.push(Band {
                start: last.to + 1,
                end: right,
            });
        }
        if left + min_col < first.from {
            columns.insert(
                0,
                Band {
                    start: left,
                    end: first.from,
                },
            );
        }
        columns
    } else {
        Vec::new()
    };
    let mut from_template = false;
    if columns.len() < expected_columns.len() {
        // Some column rules are missing: where the rules found fit the template (columns
        // merged where a rule between them is gone, the template's first or last columns
        // torn away), the merged columns are split at the template's proportions. Where
        // they fit nowhere (another printing, its columns not the template's widths), the
        // white gutters down the table between its columns' writing divide it where they
        // fit the template's proportions: one column short, only with every rule found
        // standing and a gutter where the missing one was, else the rules stand (a book
        // without one of the template's columns); with fewer, the template's proportions
        // are laid across where no gutters fit.
        match fit_to_template(&columns, expected_columns, gap) {
            Some(fitted) => columns = fitted,
            None => {
                let one_short = columns.len() + 1 == expected_columns.len();
                let inner: Vec<RuleLine> = dividers
                    .iter()
                    .copied()
                    .filter(|l| l.from > left + min_col && l.to + min_col < right)
                    .collect();
                let table = ((left, right), (top, bottom));
                match columns_from_gutters(writing, h_lines, table, &inner, one_short, expected_columns, gap, dpi) {
                    Some(found) => columns = found,
                    None => from_template = !one_short,
                }
            }
        }
    }
    if from_template {
        // Faded or missing column rules: lay the template's proportions across the table.
        columns = lay_columns(left as f32, expected_columns, (right - left) as f32, gap);
    }
    (columns, from_template)
}

/// The bands between consecutive lines, dropping those thinner than `min`.
pub(super) fn bands_between(lines: &[RuleLine], min: u32) -> Vec<Band> {
    lines
        .windows(2)
        .map(|p| Band {
            start: p[0].to + 1,
            end: p[1].from,
        })
        .filter(|b| b.len() >= min)
        .collect()
}

/// Left and right ends of the horizontal lines (the table's width): the median of their
/// ends, so that a line running on past the table (the rim of a shadow, a fold) does not
/// widen it. `gap`: the breaks bridged along a line.
pub(super) fn horizontal_extent(img: &GrayImage, lines: &[RuleLine], gap: u32) -> (u32, u32) {
    let w = img.width();
    let mut lefts = Vec::new();
    let mut rights = Vec::new();
    for l in lines {
        let (a, b) = rule_span(img, l, true, gap, 0);
        if b > a {
            lefts.push(a);
            rights.push(b);
        }
    }
    lefts.sort_unstable();
    rights.sort_unstable();
    match (lefts.get(lefts.len() / 2), rights.get(rights.len() / 2)) {
        (Some(&left), Some(&right)) if right > left => (left, right),
        _ => (0, w),
    }
}
