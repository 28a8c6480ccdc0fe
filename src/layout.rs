//! Stage 2: find the ruled table on a restored page, its row bands and column bands.
//!
//! Input is the black-and-white restored page; output is a [`Grid`] of plain numbers.
//! Ruling lines are found as long horizontal (vertical) runs of ink after closing small
//! gaps, so broken and faded lines still count; handwriting seldom makes such runs.

use crate::model::BBox;
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// A ruling line: its centre, thickness and extent, in page pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleLine {
    /// Centre across the line (y for horizontal lines, x for vertical ones).
    pub pos: u32,
    /// First pixel across the line.
    pub from: u32,
    /// Last pixel across the line.
    pub to: u32,
}

/// The space between two ruling lines, lines excluded.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// First pixel inside.
    pub start: u32,
    /// One past the last pixel inside.
    pub end: u32,
}

impl Band {
    /// Extent in pixels.
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }
    /// True when the band has no extent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The table found on a page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// The table's outer box.
    pub table: Option<BBox>,
    /// Horizontal ruling lines, top to bottom.
    pub h_lines: Vec<RuleLine>,
    /// Vertical ruling lines, left to right.
    pub v_lines: Vec<RuleLine>,
    /// Row bands, top to bottom; the first is the header.
    pub rows: Vec<Band>,
    /// Column bands, left to right.
    pub columns: Vec<Band>,
}

impl Grid {
    /// The box of cell (`row`, `col`), lines excluded.
    pub fn cell(&self, row: usize, col: usize) -> BBox {
        let r = self.rows[row];
        let c = self.columns[col];
        [c.start, r.start, c.len(), r.len()]
    }

    /// The box of a whole row across the table.
    pub fn row_box(&self, row: usize) -> BBox {
        let r = self.rows[row];
        let first = self.columns.first().map(|c| c.start).unwrap_or(0);
        let last = self.columns.last().map(|c| c.end).unwrap_or(first);
        [first, r.start, last - first, r.len()]
    }
}

/// Finds the table. `dpi` scales the minimum sizes. `expected_columns` (with relative
/// widths summing to 1) is used when the vertical lines cannot be found.
pub fn find_table(binary: &GrayImage, dpi: f32, expected_columns: &[f32]) -> Grid {
    find_table_on(binary, binary, dpi, expected_columns)
}

/// [`find_table`] with its rules looked for in `binary` (marks on the grey page: faint
/// and pencil rules) and the gutters between columns in `writing` (the black-and-white
/// page: the marks of a stain's grain or of noisy paper fill them).
pub fn find_table_on(binary: &GrayImage, writing: &GrayImage, dpi: f32, expected_columns: &[f32]) -> Grid {
    let (w, h) = binary.dimensions();
    let gap = ((dpi / 40.0) as u32).max(3);
    // Rules drawn by hand or in pencil waver by a fraction of a millimetre: each is looked
    // for on the page smeared across it by that much.
    let waver = ((dpi * 0.3 / 25.4) as u32).max(1);
    // Where the column rules run, a rule a little aslant (left so by a photo's
    // flattening) is followed across the band of columns it spans, up to 2 mm wide (see
    // [`longest_run`]); elsewhere along its middle.
    let drift = (dpi / 25.4) as u32;
    let across_rows = smear(binary, waver, true);
    let across_cols = smear(binary, waver, false);
    let h_cover = run_coverage(&across_rows, true, (w / 12).max(40), gap);
    let h_lines = with_weak_rules(pick_lines(&h_cover, w as f32 * 0.25, STRONG_SHARE), &h_cover, w);
    let v_cover = run_coverage(&across_cols, false, (h / 20).max(40), gap);
    let v_lines = pick_lines(&v_cover, h as f32 * 0.12, STRONG_SHARE);
    // A band of marks thicker than a rule, even one aslant, is the edge of something
    // solid (the grey surround of a scanned page, a shadow), not a rule.
    let thick = (dpi * MAX_RULE_MM / 25.4) as u32;
    let rules = |lines: Vec<RuleLine>| -> Vec<RuleLine> {
        lines
            .into_iter()
            .map(|l| unsmear(l, waver))
            .filter(|l| l.to - l.from <= thick)
            .collect()
    };
    let (h_lines, v_lines) = (rules(h_lines), rules(v_lines));
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
    // With column rules present, the table is where they run: horizontal lines above or
    // below them (a page edge, a title underline, a stain) are not table rows.
    let h_lines = if v_lines.len() >= 2 {
        // Broken rules (faded, pencil) are bridged over a few millimetres here.
        let bridge = gap.max((dpi * 4.0 / 25.4) as u32);
        let mut spans: Vec<(u32, u32)> = v_lines
            .iter()
            .map(|l| longest_run(binary, l, false, bridge, drift))
            .collect();
        spans.sort_by_key(|s| s.1 - s.0);
        let (vt, vb) = spans[spans.len() / 2];
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
    // Lines above or below what any column rule crosses (the rim of a shadow along the
    // page's edge, a title's underline) are no rows of the table.
    let h_lines = if v_lines.is_empty() {
        h_lines
    } else {
        let bridge = gap.max((dpi * 4.0 / 25.4) as u32);
        let spans: Vec<(u32, u32)> = v_lines
            .iter()
            .map(|l| longest_run(binary, l, false, bridge, drift))
            .collect();
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
    };
    // Rules beyond where the column rules run (faded or broken there, as at the top of
    // an old page) that go on at the rows' own pitch are rows of the table all the same.
    let h_lines = continue_pitch(h_lines, &all_h_lines);
    let bridge = gap.max((dpi * 4.0 / 25.4) as u32);
    let (left, right) = horizontal_extent(&across_rows, &h_lines, bridge);
    // A rule runs across most of the table (broken or not); a line of handwriting, however
    // long its strokes, leaves gaps between its words. A table has three rules at least,
    // and two column rules (its frame) standing across its rows, or one (the other torn
    // away) with six rules or more.
    let h_lines: Vec<RuleLine> = h_lines
        .into_iter()
        .filter(|l| {
            let (a, b) = longest_run(&across_rows, l, true, bridge, 0);
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
    let min_col = (dpi * 0.12) as u32;
    // Column rules broken every few millimetres (faded, ruled in pencil) divide columns
    // too, though they are not trusted to tell where the table runs (a margin drawn by
    // hand, the left edge of a column of writing may pass for one over the rows).
    // The grid's own `v_lines` stay the unbroken ones (whether a page's rules are to be
    // looked for again on the grey page hangs on them).
    let dividers = if v_lines.len() < expected_columns.len() + 1 {
        let within = (left + min_col, right.saturating_sub(min_col));
        with_broken_rules(&v_lines, &all_v_lines, binary, (top, bottom), within, min_col, dpi)
    } else {
        v_lines.clone()
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
                match columns_from_gutters(writing, &h_lines, table, &inner, one_short, expected_columns, gap, dpi) {
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

/// The columns of a table whose column rules are missing (never drawn, faded away, or
/// too few left to fit the template): where no ink runs down the whole table between
/// `top` and `bottom` (its headings included, its row rules `h_lines` left out) there is a
/// gutter between two columns' writing. Gutters and the column rules still found
/// (`rules`) are matched in order to the template's column boundaries so that the widths
/// between them follow its proportions (`expected`, across `left`..`right`), each within
/// [`GUTTER_TOLERANCE`]: a gutter may be passed over (the space between two words of a
/// column's every value), a boundary may have none (a value touching the next column),
/// the columns between two gutters then split at the template's proportions. `strict`:
/// every rule is a boundary and every boundary a rule or a gutter. `None` when fewer than
/// half the boundaries find a gutter or a rule.
///
/// The template's proportions alone are right only for the printing they were taken
/// from; another printing's columns lie elsewhere, and its writing shows where.
#[allow(clippy::too_many_arguments)]
fn columns_from_gutters(
    page: &GrayImage,
    h_lines: &[RuleLine],
    ((left, right), (top, bottom)): ((u32, u32), (u32, u32)),
    rules: &[RuleLine],
    strict: bool,
    expected: &[f32],
    gap: u32,
    dpi: f32,
) -> Option<Vec<Band>> {
    let n = expected.len();
    if n < 2 || right <= left + 2 * gap {
        return None;
    }
    // Boundaries that may be used, left to right, as spans of x and whether a rule is
    // there: the frame's sides first and last.
    let mut spans = vec![(left, left, true)];
    spans.extend(
        gutters(page, h_lines, ((left, right), (top, bottom)), gap, dpi)
            .into_iter()
            .map(|(a, b)| (a, b, false)),
    );
    spans.extend(rules.iter().map(|l| (l.from, l.to, true)));
    spans.sort_unstable();
    spans.push((right, right, true));
    let missing_cost = if strict { f32::INFINITY } else { GUTTER_MISSING_COST };
    let m = spans.len();
    let span = (right - left) as f32;
    // cost[j][k]: template columns 0..k laid from the left side to boundary j.
    let mut cost = vec![vec![f32::INFINITY; n + 1]; m];
    let mut from = vec![vec![(0usize, 0usize); n + 1]; m];
    cost[0][0] = 0.0;
    for j in 1..m {
        // Strict: no rule passed over.
        let first = if strict {
            (0..j).rev().find(|&i| spans[i].2).unwrap_or(0)
        } else {
            0
        };
        for jp in first..j {
            let (lo, hi) = (
                spans[j].0.saturating_sub(spans[jp].1),
                spans[j].1.saturating_sub(spans[jp].0),
            );
            for kp in 0..n {
                if !cost[jp][kp].is_finite() {
                    continue;
                }
                let mut want = 0.0;
                for k in kp + 1..=n {
                    want += expected[k - 1] * span;
                    // The width between the two boundaries lies anywhere in lo..=hi.
                    let off = (lo as f32 - want).max(want - hi as f32).max(0.0);
                    let err = off / want;
                    if err > GUTTER_TOLERANCE {
                        if want > hi as f32 {
                            break;
                        }
                        continue;
                    }
                    // Boundaries left without a gutter (none: no cost, ∞ × 0 being no number).
                    let missing = k - kp - 1;
                    let c = cost[jp][kp]
                        + err * err
                        + if missing > 0 {
                            missing_cost * missing as f32
                        } else {
                            0.0
                        };
                    if c < cost[j][k] {
                        cost[j][k] = c;
                        from[j][k] = (jp, kp);
                    }
                }
            }
        }
    }
    if !cost[m - 1][n].is_finite() {
        return None;
    }
    // Walk back: the boundaries used and the template columns between them.
    let mut used = vec![(m - 1, n)];
    while let Some(&(j, k)) = used.last().filter(|&&(j, _)| j > 0) {
        used.push(from[j][k]);
    }
    used.reverse();
    if (used.len() - 2) * 2 < n - 1 {
        return None;
    }
    let mid = |j: usize| (spans[j].0 + spans[j].1) / 2;
    let mut columns = Vec::with_capacity(n);
    for p in used.windows(2) {
        let ((ja, ka), (jb, kb)) = (p[0], p[1]);
        let (a, b) = (mid(ja), mid(jb));
        let parts = &expected[ka..kb];
        let sum: f32 = parts.iter().sum();
        columns.extend(lay_columns(a as f32, parts, (b - a) as f32 / sum, gap));
    }
    Some(columns)
}

/// The white gutters running down a table between `top` and `bottom` (its row rules
/// `h_lines` left out) inside `left`..`right` (`gap` pixels clear of either side), as
/// spans of x: [`GUTTER_MM`] wide at least, no ink in them but specks of dust.
fn gutters(
    page: &GrayImage,
    h_lines: &[RuleLine],
    ((left, right), (top, bottom)): ((u32, u32), (u32, u32)),
    gap: u32,
    dpi: f32,
) -> Vec<(u32, u32)> {
    let w = page.width();
    let (raw, stride) = (page.as_raw(), w as usize);
    let rows: Vec<u32> = (top..bottom.min(page.height()))
        .filter(|&y| h_lines.iter().all(|l| y + gap < l.from || y > l.to + gap))
        .collect();
    let mut ink = vec![0u32; right.min(w).saturating_sub(left) as usize];
    for &y in &rows {
        let row = &raw[y as usize * stride + left as usize..y as usize * stride + right.min(w) as usize];
        for (c, &v) in ink.iter_mut().zip(row) {
            *c += u32::from(v == 0);
        }
    }
    // Specks of dust across the table leave a gutter white all the same; the space
    // between two words of a heading is narrower than one.
    let limit = rows.len() as u32 / 200 + 1;
    let min_gutter = ((dpi * GUTTER_MM / 25.4) as u32).max(2) as usize;
    let g = gap as usize;
    spans_where(ink.iter().map(|&c| c <= limit))
        .into_iter()
        .map(|r| r.start.max(g)..r.end)
        .filter(|r| r.end + g < ink.len() && r.len() >= min_gutter)
        .map(|r| (left + r.start as u32, left + r.end as u32 - 1))
        .collect()
}

/// Columns of relative widths `parts` laid side by side from `x`, `scale` pixels to a
/// unit of width, each keeping `gap` pixels clear of its sides.
fn lay_columns(mut x: f32, parts: &[f32], scale: f32, gap: u32) -> Vec<Band> {
    parts
        .iter()
        .map(|f| {
            let start = x;
            x += f * scale;
            Band {
                start: start as u32 + gap,
                end: (x as u32).saturating_sub(gap),
            }
        })
        .collect()
}

/// A width between gutters within this fraction of what the template's proportions give
/// it (another printing's columns differ from the template's by up to a third).
const GUTTER_TOLERANCE: f32 = 0.4;
/// A gutter between columns is this wide at least (mm): a cell's margins on either side
/// of it; a space between words is narrower.
const GUTTER_MM: f32 = 1.5;
/// A boundary without a gutter costs more than any column's width off by the tolerance:
/// a gutter down the whole table, headings included, is what divides columns; merged
/// columns would only even out the widths' errors.
const GUTTER_MISSING_COST: f32 = 0.5;

/// Found columns of at least this many...
const FIT_MIN_COLUMNS: usize = 4;
/// ...each within this fraction of its width of what the template's proportions give it
/// ...
const FIT_TOLERANCE: f32 = 0.3;
/// ...with a merge (a rule missing) counted as this much squared error, so that the
/// columns found are taken one for one where that fits as well.
const FIT_MERGE_COST: f32 = 0.02;

/// The columns between the rules found, matched to a run of the template's columns
/// (`expected`: relative widths): each found column is one template column or several
/// whose rules are missing, then split at their proportions (`gap` pixels kept clear of
/// each split). The run may leave out template columns at either end (torn away, or a
/// book without them). `None` when too few columns were found to tell, or none fits.
fn fit_to_template(found: &[Band], expected: &[f32], gap: u32) -> Option<Vec<Band>> {
    let n = found.len();
    if n < FIT_MIN_COLUMNS {
        return None;
    }
    // Each column's width with one rule's thickness (the halves of the rules on its sides).
    let rule = found
        .windows(2)
        .map(|p| p[1].start.saturating_sub(p[0].end))
        .sum::<u32>() as f32
        / (n - 1) as f32;
    let total = (found[n - 1].end - found[0].start) as f32 + rule;
    // (cost, template run, template columns each found column covers)
    let mut best: Option<(f32, usize, Vec<usize>)> = None;
    for a in 0..expected.len() {
        for b in a + n..=expected.len() {
            let scale = total / expected[a..b].iter().sum::<f32>();
            // cost[i][j]: found columns 0..i over template columns a..a + j.
            let m = b - a;
            let mut cost = vec![vec![f32::INFINITY; m + 1]; n + 1];
            let mut from = vec![vec![0usize; m + 1]; n + 1];
            cost[0][0] = 0.0;
            for i in 0..n {
                let width = found[i].len() as f32 + rule;
                for j in i..m {
                    if !cost[i][j].is_finite() {
                        continue;
                    }
                    let mut want = 0.0;
                    for k in j + 1..=m {
                        want += expected[a + k - 1] * scale;
                        let err = (width - want).abs() / width;
                        if want > width * (1.0 + FIT_TOLERANCE) {
                            break;
                        }
                        if err > FIT_TOLERANCE {
                            continue;
                        }
                        let c = cost[i][j] + err * err + FIT_MERGE_COST * (k - j - 1) as f32;
                        if c < cost[i + 1][k] {
                            cost[i + 1][k] = c;
                            from[i + 1][k] = j;
                        }
                    }
                }
            }
            let c = cost[n][m];
            if c.is_finite() && best.as_ref().is_none_or(|b| c < b.0) {
                let mut spans = vec![0; n];
                let mut k = m;
                for i in (1..=n).rev() {
                    let j = from[i][k];
                    spans[i - 1] = k - j;
                    k = j;
                }
                best = Some((c, a, spans));
            }
        }
    }
    let (_, a, spans) = best?;
    let mut columns = Vec::new();
    let mut t = a;
    for (band, &k) in found.iter().zip(&spans) {
        let parts = &expected[t..t + k];
        let sum: f32 = parts.iter().sum();
        let mut x = band.start as f32;
        for (p, f) in parts.iter().enumerate() {
            let next = x + f / sum * band.len() as f32;
            columns.push(Band {
                start: if p == 0 { band.start } else { x as u32 + gap },
                end: if p + 1 == k {
                    band.end
                } else {
                    (next as u32).saturating_sub(gap)
                },
            });
            x = next;
        }
        t += k;
    }
    Some(columns)
}

/// Marks on the grey page darker than the paper by at least `depth` grey levels, as a
/// black-and-white image (ink 0): faint and pencil rules that binarization for the
/// writing leaves out. The paper's level is the page's median grey (the restored page's
/// paper is levelled flat).
pub fn faint_marks(gray: &GrayImage, depth: u8) -> GrayImage {
    let mut hist = [0u64; 256];
    for p in gray.pixels() {
        hist[p.0[0] as usize] += 1;
    }
    let half = gray.pixels().len() as u64 / 2;
    let mut acc = 0;
    let paper = hist
        .iter()
        .position(|&n| {
            acc += n;
            acc >= half
        })
        .unwrap_or(255) as u8;
    let cut = paper.saturating_sub(depth);
    GrayImage::from_fn(gray.width(), gray.height(), |x, y| {
        image::Luma([if gray.get_pixel(x, y).0[0] < cut { 0 } else { 255 }])
    })
}

/// `marks` (ink 0) without the solid regions in them (stains, a fold's shadow, the dark
/// surround of a page: their edges pass for rules): marks whose window of
/// [`SOLID_WINDOW_MM`] around them is marked over [`SOLID_SHARE`] of its area are
/// cleared.
pub fn without_solid(marks: &GrayImage, dpi: f32) -> GrayImage {
    let (w, h) = marks.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    // Summed-area table of the marks, one row and column of zeros before the first.
    let mut sum = vec![0u32; (wu + 1) * (hu + 1)];
    for y in 0..hu {
        let mut row = 0;
        for x in 0..wu {
            row += u32::from(marks.as_raw()[y * wu + x] == 0);
            sum[(y + 1) * (wu + 1) + x + 1] = sum[y * (wu + 1) + x + 1] + row;
        }
    }
    let r = ((dpi * SOLID_WINDOW_MM / 25.4) as usize / 2).max(1);
    GrayImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as usize, y as usize);
        if marks.as_raw()[y * wu + x] != 0 {
            return image::Luma([255]);
        }
        let (x0, y0, x1, y1) = (
            x.saturating_sub(r),
            y.saturating_sub(r),
            (x + r + 1).min(wu),
            (y + r + 1).min(hu),
        );
        let n = sum[y1 * (wu + 1) + x1] + sum[y0 * (wu + 1) + x0] - sum[y0 * (wu + 1) + x1] - sum[y1 * (wu + 1) + x0];
        let area = ((x1 - x0) * (y1 - y0)) as f32;
        image::Luma([if n as f32 > SOLID_SHARE * area { 255 } else { 0 }])
    })
}

/// The side of the window in which a mark is seen as part of a solid region (mm)...
const SOLID_WINDOW_MM: f32 = 5.0;
/// ...when this share of the window is marked: rules across it cover a tenth or less,
/// writing a third; a stain or the dark surround of a page all of it.
const SOLID_SHARE: f32 = 0.6;

/// Rows of a ruled table whose rules between rows are missing: the body cut between the
/// text lines of the column that holds one line per record (of the first two, the one
/// with more lines: the number, or the name). When those columns hold no writing (the
/// template's columns laid over a table drawn otherwise), the lines across the whole
/// table are taken, the first of them as its header. Leaves the grid alone when its
/// rows already hold one line each.
pub fn rows_from_text(grid: &mut Grid, binary: &GrayImage, dpi: f32) {
    if grid.rows.len() < 2 || grid.columns.is_empty() {
        return;
    }
    let pad = ((dpi / 50.0) as u32).max(2);
    let body_top = grid.rows[1].start;
    let body_bottom = grid.rows[grid.rows.len() - 1].end;
    let column = |c: usize| {
        let col = grid.columns[c];
        let region = [
            col.start + pad,
            body_top,
            col.len().saturating_sub(2 * pad),
            body_bottom - body_top,
        ];
        joined_when_close(text_lines_without_rules(binary, region, false))
    };
    let body_rows = grid.rows.len() - 1;
    let best = (0..grid.columns.len().min(2))
        .map(column)
        .max_by_key(|l| l.len())
        .unwrap_or_default();
    let (header, lines) = if best.len() >= 2 {
        (grid.rows[0], best)
    } else {
        let (left, right) = (grid.columns[0].start, grid.columns[grid.columns.len() - 1].end);
        let top = grid.rows[0].start;
        let all = text_lines_without_rules(binary, [left, top, right - left, body_bottom - top], true);
        match all.split_first() {
            Some((first, rest)) if rest.len() >= 2 => {
                let end = (first.bbox[1] + first.bbox[3] + rest[0].bbox[1]) / 2;
                (Band { start: top, end }, rest.to_vec())
            }
            _ => return,
        }
    };
    // Only when the rows found hold several records' lines each.
    if lines.len() < body_rows * 2 {
        return;
    }
    let mut rows = vec![header];
    let mid = |l: &TextLine| l.bbox[1] + l.bbox[3] / 2;
    let mut start = header.end.max(body_top.min(lines[0].bbox[1]));
    for pair in lines.windows(2) {
        let cut = (mid(&pair[0]) + mid(&pair[1])) / 2;
        rows.push(Band { start, end: cut });
        start = cut + 1;
    }
    // The last record's row ends half a pitch below its line: the ruled rows left blank
    // below it are no part of it (their paper would count against its cells' ink).
    let mut pitches: Vec<u32> = lines
        .windows(2)
        .map(|p| mid(&p[1]).saturating_sub(mid(&p[0])))
        .collect();
    pitches.sort_unstable();
    let last_end = lines
        .last()
        .zip(pitches.get(pitches.len() / 2))
        .map_or(body_bottom, |(l, p)| (mid(l) + p / 2).max(l.bbox[1] + l.bbox[3]));
    rows.push(Band {
        start,
        end: body_bottom.min(last_end).max(start + 1),
    });
    grid.rows = rows;
}

/// Blank narrower than this (mm) along a text line is a space between words; the space
/// between two columns' writing is wider.
const COLUMN_GAP_MM: f32 = 2.5;
/// A text line in this many pieces at least (split by [`COLUMN_GAP_MM`] of blank) is set
/// out in columns; a title or a line of running text is in one or two.
const TABLE_LINE_PIECES: usize = 4;

/// The table of a page ruled nowhere (a list set out in columns on plain paper): the
/// longest run of three text lines or more set out in columns ([`TABLE_LINE_PIECES`]),
/// each at most twice their usual pitch below the last, with the lines of the last
/// record's wrapped values below them; its columns between the white gutters that part
/// every two headings, else the gutters fitted to the template's columns (`expected`,
/// see [`columns_from_gutters`]); its header the run's first line (a line split at the
/// valleys of the page's ink holds its wrapped headings); its body one band (cut into a
/// row per record by [`rows_from_text`]). No rules in the grid. An empty grid when there
/// is no such run or no gutters fit.
pub fn unruled_table(binary: &GrayImage, dpi: f32, expected: &[f32]) -> Grid {
    let (w, h) = binary.dimensions();
    let lines = page_lines(binary, [0, 0, w, h]);
    let min_gap = (COLUMN_GAP_MM * dpi / 25.4) as usize;
    let (raw, stride) = (binary.as_raw(), w as usize);
    // A line's pieces of writing, as spans of x: its ink split at blanks of
    // COLUMN_GAP_MM; what touches the page's sides (its dark edge) left out.
    let edge = min_gap as u32;
    let mm = (dpi / 25.4) as u32;
    let pieces = |l: &TextLine| -> Vec<(u32, u32)> {
        let [x, y, lw, lh] = l.bbox;
        let mut ink = vec![false; lw as usize];
        for yy in y..y + lh {
            let row = &raw[yy as usize * stride + x as usize..][..lw as usize];
            ink.iter_mut().zip(row).for_each(|(i, &v)| *i |= v == 0);
        }
        let mut pieces: Vec<(u32, u32)> = Vec::new();
        for s in spans_where(ink.into_iter()) {
            let (a, b) = (x + s.start as u32, x + s.end as u32);
            match pieces.last_mut() {
                Some(p) if a - p.1 < min_gap as u32 => p.1 = b,
                _ => pieces.push((a, b)),
            }
        }
        // Specks are no writing (a letter is a millimetre tall at least), nor is a line
        // down the page (a page's edge, a fold): narrow, and taller than a line of
        // writing.
        let inked_rows = |a: u32, b: u32| {
            (y..y + lh)
                .filter(|&yy| raw[yy as usize * stride + a as usize..][..(b - a) as usize].contains(&0))
                .count() as u32
        };
        pieces.retain(|&(a, b)| {
            let tall = inked_rows(a, b);
            a > edge && b + edge < w && tall >= mm && (b - a > edge || tall <= 6 * mm)
        });
        pieces
    };
    let spans: Vec<Vec<(u32, u32)>> = lines.iter().map(pieces).collect();
    let top_of = |i: usize| lines[i].bbox[1];
    let columned: Vec<usize> = (0..lines.len())
        .filter(|&i| spans[i].len() >= TABLE_LINE_PIECES)
        .collect();
    let mut steps: Vec<u32> = columned.windows(2).map(|p| top_of(p[1]) - top_of(p[0])).collect();
    steps.sort_unstable();
    let Some(&pitch) = steps.get(steps.len() / 2) else {
        return Grid::default();
    };
    // Runs of columned lines, one after another, each within two pitches of the last;
    // the longest.
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in &columned {
        match runs.last_mut() {
            Some(run) if run[run.len() - 1] + 1 == i && top_of(i) - top_of(run[run.len() - 1]) <= 2 * pitch => {
                run.push(i)
            }
            _ => runs.push(vec![i]),
        }
    }
    let Some(run) = runs.into_iter().rev().max_by_key(Vec::len).filter(|r| r.len() >= 3) else {
        return Grid::default();
    };
    let (first, last) = (run[0], run[run.len() - 1]);
    // The last record's wrapped values: the lines under its first within a pitch.
    let end = (last + 1..lines.len())
        .take_while(|&i| top_of(i) < top_of(last) + pitch * 4 / 5)
        .last()
        .unwrap_or(last);
    // Across the headings (every column has one), and the writing of two lines or more
    // (a mark beside the table is on one) that starts before the headings end (a value
    // starts at its column's side, its heading is centred over it: what starts further
    // right is no value, but a torn edge's fragments, say).
    // The headings: the run's first line, columned, so in pieces.
    let heads = &spans[first];
    let (heads_start, heads_end) = (heads[0].0, heads[heads.len() - 1].1);
    let mut cover = vec![0u32; w as usize];
    for p in spans[first..=end].iter().flatten().filter(|p| p.0 < heads_end) {
        cover[p.0 as usize..p.1 as usize].iter_mut().for_each(|c| *c += 1);
    }
    let written = spans_where(cover.iter().map(|&c| c >= 2));
    let (mut left, mut right) = (heads_start, heads_end);
    if let (Some(a), Some(b)) = (written.first(), written.last()) {
        (left, right) = (left.min(a.start as u32), right.max(b.end as u32));
    }
    // What reaches out of that (a long value in the first or last column) is in it.
    for p in spans[first..=end].iter().flatten() {
        if p.1 > left && p.0 < right {
            (left, right) = (left.min(p.0), right.max(p.1));
        }
    }
    let (top, bottom) = (top_of(first), lines[end].bbox[1] + lines[end].bbox[3]);
    // The header: the first line (its wrapped headings' lines with it: the lines are
    // split at the valleys of the page's ink at its line pitch).
    let header_end = lines[first].bbox[1] + lines[first].bbox[3];
    let gap = ((dpi / 40.0) as u32).max(3);
    // The sides a column's width from the writing (columns keep `gap` clear of theirs).
    let (left, right) = (left.saturating_sub(2 * gap), (right + 2 * gap).min(w));
    // A gutter between every two headings (the widest where several are: a heading's
    // own words may stand apart): the columns lie between them, whatever their order and
    // widths (another book's; the header tells which is which). Else the gutters fitted
    // to the template's columns.
    let table = ((left, right), (top, bottom));
    let found = gutters(binary, &[], table, gap, dpi);
    let between: Vec<Option<u32>> = heads
        .windows(2)
        .map(|h| {
            found
                .iter()
                .filter(|g| g.1 >= h[0].1 && g.0 <= h[1].0)
                .max_by_key(|g| g.1 - g.0)
                .map(|g| (g.0 + g.1) / 2)
        })
        .collect();
    let columns = if between.iter().all(Option::is_some) {
        let mut sides = vec![left];
        sides.extend(between.into_iter().flatten());
        sides.push(right);
        sides
            .windows(2)
            .map(|p| Band {
                start: p[0] + gap,
                end: p[1].saturating_sub(gap),
            })
            .collect()
    } else {
        match columns_from_gutters(binary, &[], table, &[], false, expected, gap, dpi) {
            Some(columns) => columns,
            None => return Grid::default(),
        }
    };
    Grid {
        table: Some([left, top, right - left, bottom - top]),
        rows: vec![
            Band {
                start: top,
                end: header_end,
            },
            Band {
                start: header_end + 1,
                end: bottom,
            },
        ],
        columns,
        ..Grid::default()
    }
}

/// Text lines less than a quarter of a line's height apart joined: one line split at a
/// row its letters leave blank, or a value wrapped onto a second line of its cell.
fn joined_when_close(lines: Vec<TextLine>) -> Vec<TextLine> {
    let mut heights: Vec<u32> = lines.iter().map(|l| l.bbox[3]).collect();
    heights.sort_unstable();
    let Some(&typical) = heights.get(heights.len() / 2) else {
        return lines;
    };
    let mut joined: Vec<TextLine> = Vec::with_capacity(lines.len());
    for l in lines {
        match joined.last_mut() {
            Some(prev) if l.bbox[1] < prev.bbox[1] + prev.bbox[3] + typical / 4 => {
                let [x, y, w, h] = prev.bbox;
                let (x1, y1) = ((x + w).max(l.bbox[0] + l.bbox[2]), (y + h).max(l.bbox[1] + l.bbox[3]));
                let x0 = x.min(l.bbox[0]);
                prev.bbox = [x0, y, x1 - x0, y1 - y];
            }
            _ => joined.push(l),
        }
    }
    joined
}

/// Paper that no rule crosses, at least this wide (mm), down the middle of a page: the
/// fold of an open book scanned or photographed whole, a table on either side of it.
const FOLD_MM: f32 = 5.0;
/// A run of ink this long (mm) along a row of pixels is a rule's (a word's letters are
/// apart sooner).
const RULE_RUN_MM: f32 = 6.0;

/// Lines crossing a column that leave it a fold's: the edges of a photographed page
/// flattened a little aslant (above and below the tables) run across the whole image;
/// a table has three rules at least (its frame's top and bottom and the header's).
const FOLD_CROSSINGS: u32 = 2;

/// The fold of an open book whose two pages' tables lie side by side in one image: the
/// middle of the widest band, [`FOLD_MM`] wide at least, within the middle 40% of the
/// page's width, that no more than [`FOLD_CROSSINGS`] lines cross, with rules over at
/// least a third of the width on either side of it. Inside one table every row rule runs
/// across every column; writing does not count, nor does a crease's line down the fold.
pub fn page_fold(binary: &GrayImage, dpi: f32) -> Option<u32> {
    let (wu, mm) = (binary.width() as usize, dpi / 25.4);
    let min_run = ((RULE_RUN_MM * mm) as usize).max(8);
    // Per column: the lines crossing it (a line a few pixels thick counted once) and
    // whether the row above crossed it.
    let mut lines = vec![0u32; wu];
    let (mut above, mut here) = (vec![false; wu], vec![false; wu]);
    for row in binary.as_raw().chunks_exact(wu.max(1)) {
        here.fill(false);
        for run in spans_where(row.iter().map(|&p| p == 0))
            .into_iter()
            .filter(|r| r.len() >= min_run)
        {
            here[run].iter_mut().for_each(|c| *c = true);
        }
        for ((n, a), h) in lines.iter_mut().zip(&above).zip(&here) {
            *n += u32::from(*h && !*a);
        }
        std::mem::swap(&mut above, &mut here);
    }
    let crossed: Vec<bool> = lines.iter().map(|&n| n > FOLD_CROSSINGS).collect();
    let need = (FOLD_MM * mm) as usize;
    let middle = wu * 3 / 10..wu * 7 / 10;
    // The widest band, the leftmost of equals.
    let band = spans_where(crossed.iter().map(|&c| !c))
        .into_iter()
        .filter(|r| r.len() >= need && middle.contains(&((r.start + r.end) / 2)))
        .rev()
        .max_by_key(|r| r.len())?;
    let (s, e) = (band.start, band.end);
    let ruled = |part: &[bool]| part.iter().filter(|&&c| c).count() * 3 >= wu / 2;
    (ruled(&crossed[..s]) && ruled(&crossed[e..])).then_some(((s + e) / 2) as u32)
}

/// The runs of consecutive items where `flags` holds, as index ranges.
fn spans_where(flags: impl Iterator<Item = bool>) -> Vec<std::ops::Range<usize>> {
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

/// Records above the table's first row rule (its rules faded away at the top of an old
/// page) make its "header" many rows tall: where the header band is over four body rows
/// tall and the text lines at its foot go on at the body's pitch (each within a quarter
/// pitch of its place), each of them is a row, and the header what is left above them.
pub fn rows_in_header(grid: &mut Grid, binary: &GrayImage) {
    if grid.rows.len() < 4 || grid.columns.is_empty() {
        return;
    }
    let mut lens: Vec<u32> = grid.rows[1..].iter().map(Band::len).collect();
    lens.sort_unstable();
    let pitch = lens[lens.len() / 2];
    let header = grid.rows[0];
    if pitch == 0 || header.len() < 4 * pitch {
        return;
    }
    let (left, right) = (grid.columns[0].start, grid.columns[grid.columns.len() - 1].end);
    // Lines of handwriting that touch, split at the valleys between them; each line's
    // place is the middle of its ink (its band runs from valley to valley).
    let lines = text_lines_without_rules(binary, [left, header.start, right - left, header.len()], true);
    let raw = binary.as_raw();
    let stride = binary.width() as usize;
    let mid = |l: &TextLine| {
        let (mut sum, mut n) = (0u64, 0u64);
        for y in l.bbox[1]..l.bbox[1] + l.bbox[3] {
            let row = &raw[y as usize * stride + left as usize..y as usize * stride + right as usize];
            let ink = row.iter().filter(|&&v| v == 0).count() as u64;
            sum += ink * y as u64;
            n += ink;
        }
        sum.checked_div(n).map_or(l.bbox[1] + l.bbox[3] / 2, |m| m as u32)
    };
    let first = grid.rows[1];
    // Walking up from the first body row's writing: lines at the pitch (within a quarter
    // of it), closer ones (a record's second line) passed over.
    let start = mid(&TextLine {
        bbox: [left, first.start, right - left, first.len()],
    });
    let mut mids = follow_pitch(start, lines.iter().rev().map(mid), |&m| m, pitch as f32, 4.0, 0.75);
    mids.reverse();
    // The header keeps what lies above the rows, or their first line when nothing does.
    let top = mids.first().map_or(header.start, |m| m.saturating_sub(pitch / 2));
    if top < header.start + pitch / 2 && !mids.is_empty() {
        mids.remove(0);
    }
    if mids.len() < 2 {
        return;
    }
    let mut rows = vec![Band {
        start: header.start,
        end: mids[0].saturating_sub(pitch / 2).max(header.start + 1),
    }];
    for (i, &m) in mids.iter().enumerate() {
        let start = rows[rows.len() - 1].end + 1;
        let end = mids.get(i + 1).map_or(header.end, |next| (m + next) / 2);
        rows.push(Band { start, end });
    }
    rows.extend_from_slice(&grid.rows[1..]);
    grid.rows = rows;
}

/// The text lines of a region of the binary page with what is left of rules erased
/// (columns inked down most of it, rows inked across a third of it) and lone specks
/// dropped; `running`: lines of handwriting that touch, split at the valleys of the ink
/// profile ([`page_lines`]) rather than at rows free of ink ([`text_lines`]).
fn text_lines_without_rules(binary: &GrayImage, region: BBox, running: bool) -> Vec<TextLine> {
    let region = clip(region, binary.dimensions());
    let mut crop = image::imageops::crop_imm(binary, region[0], region[1], region[2], region[3]).to_image();
    let (cw, ch) = crop.dimensions();
    for x in 0..cw {
        if (0..ch).filter(|&y| crop.get_pixel(x, y).0[0] == 0).count() * 2 > ch as usize {
            for y in 0..ch {
                crop.put_pixel(x, y, image::Luma([255]));
            }
        }
    }
    for y in 0..ch {
        if (0..cw).filter(|&x| crop.get_pixel(x, y).0[0] == 0).count() * 3 > cw as usize {
            for x in 0..cw {
                crop.put_pixel(x, y, image::Luma([255]));
            }
        }
    }
    let crop = without_specks(&crop);
    let lines = if running {
        page_lines(&crop, [0, 0, cw, ch])
    } else {
        text_lines(&crop, [0, 0, cw, ch])
    };
    lines
        .into_iter()
        .map(|mut l| {
            l.bbox[0] += region[0];
            l.bbox[1] += region[1];
            l
        })
        .collect()
}

/// The page with every ink pixel spread `r` pixels up and down (`vertical`) or left and
/// right.
///
/// A minimum over a window of `2r + 1` pixels (ink is 0): the page padded with paper,
/// each pass taking the minimum of a pixel and the one `k` steps on, `k` doubling — a few
/// passes over plain slices, whatever `r`.
pub(crate) fn smear(binary: &GrayImage, r: u32, vertical: bool) -> GrayImage {
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
pub(crate) fn smear_row(row: &[u8], r: usize) -> Vec<u8> {
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
fn without_specks(binary: &GrayImage) -> GrayImage {
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

/// A line found on a smeared page, brought back to its own width.
fn unsmear(l: RuleLine, r: u32) -> RuleLine {
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
fn run_coverage(img: &GrayImage, horizontal: bool, min_run: u32, gap: u32) -> Vec<u32> {
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
struct Runs {
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
fn follow_pitch<T>(
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
fn pitch_of(lines: &[RuleLine]) -> f32 {
    let mut gaps: Vec<u32> = lines.windows(2).map(|p| p[1].pos - p[0].pos).collect();
    gaps.sort_unstable();
    gaps[gaps.len() / 2] as f32
}

/// `kept` (rules of a table, top to bottom) with those of `all` above and below it that
/// go on at its rows' pitch (the median space between its rules), each within a fifth
/// of a pitch of the next; a rule closer than that to the last one taken (a double
/// rule, a stroke) is passed over, and the first one further stops the run.
fn continue_pitch(kept: Vec<RuleLine>, all: &[RuleLine]) -> Vec<RuleLine> {
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
fn with_weak_rules(lines: Vec<RuleLine>, cover: &[u32], width: u32) -> Vec<RuleLine> {
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
const MAX_RULE_MM: f32 = 4.0;

/// A line is a rule when it covers this share of the best-covered line, at least.
const STRONG_SHARE: f32 = 0.35;

/// Groups consecutive positions whose coverage passes `min_cover` and `share` of the
/// largest coverage into lines.
fn pick_lines(cover: &[u32], min_cover: f32, share: f32) -> Vec<RuleLine> {
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

/// Left and right ends of the horizontal lines (the table's width): the median of their
/// ends, so that a line running on past the table (the rim of a shadow, a fold) does not
/// widen it. `gap`: the breaks bridged along a line.
fn horizontal_extent(img: &GrayImage, lines: &[RuleLine], gap: u32) -> (u32, u32) {
    let w = img.width();
    let mut lefts = Vec::new();
    let mut rights = Vec::new();
    for l in lines {
        let (a, b) = longest_run(img, l, true, gap, 0);
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

/// `rules` (column rules, left to right) with those of `candidates` that run over half of
/// the table's height (`top`, `bottom`) with breaks of up to 2.5 mm bridged, inside
/// `within` (left and right) and further than `min_col` from the rules already there.
fn with_broken_rules(
    rules: &[RuleLine],
    candidates: &[RuleLine],
    img: &GrayImage,
    (top, bottom): (u32, u32),
    (left, right): (u32, u32),
    min_col: u32,
    dpi: f32,
) -> Vec<RuleLine> {
    let broken = ((dpi * 2.5 / 25.4) as u32).max(3);
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

fn vertical_extent(img: &GrayImage, line: &RuleLine, top: u32, bottom: u32, gap: u32) -> f32 {
    let (a, b) = longest_run(img, line, false, gap, 0);
    let a = a.max(top);
    let b = b.min(bottom);
    b.saturating_sub(a) as f32
}

/// The longest run along a line with gaps up to `gap` closed: (first, one past last).
/// Ink anywhere across the line's band, or a pixel beyond it, counts when the band is
/// at most `2 × drift` wide: the band a rule's coverage spans takes in its drift (a rule a
/// little aslant on a page flattened from a photo, a ruling drawn by hand). A wider band
/// is no single rule's (the dark edges of a book's pages, a shadow's rim): there only its
/// middle and a pixel either side count.
fn longest_run(img: &GrayImage, line: &RuleLine, horizontal: bool, gap: u32, drift: u32) -> (u32, u32) {
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

/// The bands between consecutive lines, dropping those thinner than `min`.
fn bands_between(lines: &[RuleLine], min: u32) -> Vec<Band> {
    lines
        .windows(2)
        .map(|p| Band {
            start: p[0].to + 1,
            end: p[1].from,
        })
        .filter(|b| b.len() >= min)
        .collect()
}

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
fn band_line(binary: &GrayImage, from: u32, to: u32, top: u32, bottom: u32, ruled: bool) -> Option<TextLine> {
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
fn line_pitch(rows: &[f32]) -> usize {
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
fn box_smooth(v: &[f32], r: usize) -> Vec<f32> {
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
fn trim_edge_strokes(
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

/// The dots of dotted leader lines in a crop of the binary page (ink 0) at `dpi`: specks
/// under 0.8 mm high (and 3 mm long: dots blurred into dashes) with no other ink above or
/// below them, at least four in a row at one
/// height, each within 3 mm of the next. A dot over or under a letter (the marks of ị, ạ)
/// has the letter in its columns; the full stops of a date are fewer than four; a
/// letter is larger.
///
/// With `under_writing`, the leader's dots under the writing go too: specks at its height
/// and on its pitch (a mark under a letter, the dot of ạ, may fall on both).
pub fn leader_dots(binary: &GrayImage, dpi: f32, under_writing: bool) -> Vec<BBox> {
    let (w, h) = binary.dimensions();
    let max_dot = ((dpi * 0.8 / 25.4) as u32).max(2);
    let max_gap = (dpi * 3.0 / 25.4) as u32;
    let raw = binary.as_raw();
    let ink = |x: u32, y: u32| raw[(y * w + x) as usize] == 0;
    let mut seen = vec![false; raw.len()];
    // Every speck; those small enough to be dots, and those of them with no ink above or
    // below.
    let mut all: Vec<BBox> = Vec::new();
    let mut small: Vec<BBox> = Vec::new();
    let mut specks: Vec<BBox> = Vec::new();
    for y0 in 0..h {
        for x0 in 0..w {
            if !ink(x0, y0) || seen[(y0 * w + x0) as usize] {
                continue;
            }
            // One connected speck (8-neighbours).
            let mut stack = vec![(x0, y0)];
            seen[(y0 * w + x0) as usize] = true;
            let (mut x1, mut y1, mut x2, mut y2) = (x0, y0, x0, y0);
            while let Some((x, y)) = stack.pop() {
                (x1, y1, x2, y2) = (x1.min(x), y1.min(y), x2.max(x), y2.max(y));
                for (dx, dy) in [
                    (-1i32, -1i32),
                    (0, -1),
                    (1, -1),
                    (-1, 0),
                    (1, 0),
                    (-1, 1),
                    (0, 1),
                    (1, 1),
                ] {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                        continue;
                    }
                    let (nx, ny) = (nx as u32, ny as u32);
                    let i = (ny * w + nx) as usize;
                    if ink(nx, ny) && !seen[i] {
                        seen[i] = true;
                        stack.push((nx, ny));
                    }
                }
            }
            all.push([x1, y1, x2 - x1 + 1, y2 - y1 + 1]);
        }
    }
    // A dot is small beside the writing too: under a third of its tall letters' height
    // (which also keeps letters when the resolution is wrongly assumed too fine). The
    // letters' height is told by what is taller than a dot can be, where there is such:
    // a long leader's dots outnumber the letters of its line.
    let mut heights: Vec<u32> = all.iter().map(|b| b[3]).filter(|&bh| bh >= 2).collect();
    heights.sort_unstable();
    let above_dots = heights.partition_point(|&bh| bh <= max_dot);
    let letters = if heights.len() - above_dots >= 3 {
        &heights[above_dots..]
    } else {
        &heights[..]
    };
    let tall = letters.get(letters.len() * 9 / 10).copied().unwrap_or(0);
    let dot = if tall >= 6 { max_dot.min(tall / 3) } else { max_dot };
    for &b in &all {
        let [x1, y1, bw, bh] = b;
        let (x2, y2) = (x1 + bw - 1, y1 + bh - 1);
        // Dots, or the dashes they blur into on a coarse or soft scan.
        if bw <= 4 * dot && bh <= dot {
            small.push(b);
            // Nothing above or below but more of the same speckle close by; a letter's own
            // marks lie within half its height of it, and the writing of the next line
            // (a band may hold two lines the leaders run between) further off.
            let (near_top, near_bottom) = (y1.saturating_sub(max_dot), y2 + max_dot);
            let reach = (tall / 2).max(2 * max_dot);
            let (from, to) = (y1.saturating_sub(reach), (y2 + reach).min(h - 1));
            let alone = (x1..=x2).all(|x| (from..=to).all(|y| (y >= near_top && y <= near_bottom) || !ink(x, y)));
            if alone {
                specks.push(b);
            }
        }
    }
    // Rows of specks at one height.
    specks.sort_by_key(|b| b[1] + b[3] / 2);
    let mut dots = Vec::new();
    let mut i = 0;
    while i < specks.len() {
        // A row: specks whose heights chain on within a third of a dot's size (a leader
        // wavers by a pixel or two along the line).
        let centre_y = |b: &BBox| b[1] + b[3] / 2;
        let step = (max_dot / 3).max(1);
        let mut j = i + 1;
        while j < specks.len() && centre_y(&specks[j]) <= centre_y(&specks[j - 1]) + step {
            j += 1;
        }
        let mid = (centre_y(&specks[i]) + centre_y(&specks[j - 1])) / 2;
        // Runs of specks along the row, each close to the next.
        let mut row: Vec<BBox> = specks[i..j].to_vec();
        row.sort_by_key(|b| b[0]);
        let mut start = 0;
        for k in 1..=row.len() {
            if k == row.len() || row[k][0] > row[k - 1][0] + row[k - 1][2] + max_gap {
                if k - start >= 4 {
                    let run = &row[start..k];
                    dots.extend_from_slice(run);
                    if !under_writing {
                        start = k;
                        continue;
                    }
                    let centre = |b: &BBox| b[0] as f32 + b[2] as f32 / 2.0;
                    let mut gaps: Vec<f32> = run.windows(2).map(|p| centre(&p[1]) - centre(&p[0])).collect();
                    gaps.sort_by(f32::total_cmp);
                    let pitch = gaps[gaps.len() / 2].max(1.0);
                    // The leader under the writing: specks at its height, found a pitch
                    // on from the last dot found (or from where one was due, under a
                    // letter's stroke), outwards from both ends of the run and across
                    // its gaps; a leader's pitch wavers too much to be laid from one end
                    // across a value.
                    let mut row_specks: Vec<BBox> = small
                        .iter()
                        .filter(|b| (b[1] + b[3] / 2).abs_diff(mid) <= max_dot / 2 + step)
                        .copied()
                        .collect();
                    row_specks.sort_by(|a, b| centre(a).total_cmp(&centre(b)));
                    let (lo, hi) = match (row_specks.first(), row_specks.last()) {
                        (Some(a), Some(b)) => (centre(a) - pitch, centre(b) + pitch),
                        _ => (0.0, 0.0),
                    };
                    let mut walks = vec![(centre(&run[0]), -1.0f32, lo), (centre(&run[run.len() - 1]), 1.0, hi)];
                    for p in run.windows(2) {
                        if centre(&p[1]) - centre(&p[0]) > 1.5 * pitch {
                            walks.push((centre(&p[0]), 1.0, centre(&p[1]) - pitch / 2.0));
                        }
                    }
                    for (from, dir, until) in walks {
                        let mut x = from;
                        while (x + dir * pitch - until) * dir <= 0.0 {
                            let due = x + dir * pitch;
                            let near = row_specks
                                .iter()
                                .filter(|b| (centre(b) - due).abs() <= pitch / 5.0)
                                .min_by(|a, b| (centre(a) - due).abs().total_cmp(&(centre(b) - due).abs()));
                            match near {
                                Some(b) => {
                                    x = centre(b);
                                    if !dots.contains(b) {
                                        dots.push(*b);
                                    }
                                }
                                None => x = due,
                            }
                        }
                    }
                }
                start = k;
            }
        }
        i = j;
    }
    dots
}

/// A box cut to an image of size `(iw, ih)`.
pub fn clip(b: BBox, (iw, ih): (u32, u32)) -> BBox {
    let x = b[0].min(iw);
    let y = b[1].min(ih);
    [x, y, b[2].min(iw - x), b[3].min(ih - y)]
}

/// Fraction of ink in a box of the binary page (0..1).
pub fn ink_fraction(binary: &GrayImage, b: BBox) -> f32 {
    let [x, y, w, h] = b;
    if w == 0 || h == 0 {
        return 0.0;
    }
    let (x0, x1) = (
        (x as usize).min(binary.width() as usize),
        ((x + w).min(binary.width())) as usize,
    );
    let ink: usize = (y..(y + h).min(binary.height()))
        .map(|yy| {
            let row = yy as usize * binary.width() as usize;
            binary.as_raw()[row + x0..row + x1].iter().filter(|&&v| v == 0).count()
        })
        .sum();
    ink as f32 / (w * h) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ruled tables side by side with paper between them (an open book's pages): the
    /// fold found between them, a crease's line down it notwithstanding; one table across
    /// the whole width has none, nor has a page ruled on one side only.
    #[test]
    fn the_fold_of_an_open_book_lies_between_its_pages_tables() {
        let table = |img: &mut GrayImage, x0: u32, x1: u32| {
            for y in (100..900).step_by(60) {
                for x in x0..x1 {
                    img.put_pixel(x, y, image::Luma([0]));
                }
            }
            for x in (x0..=x1).step_by(90) {
                for y in 100..=880 {
                    img.put_pixel(x.min(x1 - 1), y, image::Luma([0]));
                }
            }
        };
        let mut spread = GrayImage::from_pixel(2000, 1000, image::Luma([255]));
        table(&mut spread, 60, 940);
        table(&mut spread, 1060, 1940);
        // A crease down the fold.
        for y in 0..1000 {
            spread.put_pixel(1000, y, image::Luma([0]));
        }
        let fold = page_fold(&spread, 150.0).expect("a fold");
        assert!((940..1060).contains(&fold), "{fold}");
        // The page's edges across the whole image above and below the tables, a little
        // aslant (a photograph flattened from an outline not quite right).
        for x in 0..2000 {
            for (y0, thick) in [(30, 3), (950, 2)] {
                fill(&mut spread, x, y0 + x / 400, x + 1, y0 + x / 400 + thick);
            }
        }
        let fold = page_fold(&spread, 150.0).expect("a fold under the page's edges");
        assert!((940..1060).contains(&fold), "{fold}");
        let mut one = GrayImage::from_pixel(2000, 1000, image::Luma([255]));
        table(&mut one, 60, 1940);
        assert_eq!(page_fold(&one, 150.0), None);
        // One table with no rules between its rows: its frame and the header's rule.
        let mut framed = GrayImage::from_pixel(2000, 1000, image::Luma([255]));
        for y in [100, 160, 880] {
            fill(&mut framed, 60, y, 1940, y + 2);
        }
        for x in (60..1940).step_by(90) {
            fill(&mut framed, x, 100, x + 2, 882);
        }
        assert_eq!(page_fold(&framed, 150.0), None);
        // Half a page of rules, the other half blank: a page, not a spread.
        let mut half = GrayImage::from_pixel(2000, 1000, image::Luma([255]));
        table(&mut half, 60, 940);
        assert_eq!(page_fold(&half, 150.0), None);
    }

    #[test]
    fn a_table_ruled_nowhere_is_found_from_its_columns_of_writing() {
        // Six columns of these proportions between x = 100 and 1900, at 150 dpi.
        let widths = [0.08, 0.22, 0.14, 0.1, 0.26, 0.2];
        let mut bounds = vec![100u32];
        for f in widths {
            bounds.push(bounds[bounds.len() - 1] + (f * 1800.0) as u32);
        }
        // Writing: strokes 3 px wide, 7 px apart.
        let write = |img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32| {
            for x in (x0..x1).step_by(7) {
                fill(img, x, y0, (x + 3).min(x1), y1);
            }
        };
        let mut page = GrayImage::from_pixel(2000, 1400, Luma([255]));
        // A title, headings centred over their columns, five records (the fifth column's
        // values wrapped onto a second line), a page's edge down the left, a speck and a
        // torn edge on the right.
        write(&mut page, 700, 100, 1300, 130);
        for c in 0..6 {
            let (a, b) = (bounds[c], bounds[c + 1]);
            let w = (b - a) * 2 / 5;
            write(&mut page, (a + b - w) / 2, 200, (a + b + w) / 2, 222);
        }
        let records = 5;
        for r in 0..records {
            let y = 300 + 90 * r;
            for c in 0..6 {
                let (a, b) = (bounds[c], bounds[c + 1]);
                write(&mut page, a + 12, y, a + 12 + (b - a) / 2, y + 20);
                if c == 4 {
                    write(&mut page, a + 12, y + 28, a + 12 + (b - a) / 3, y + 48);
                }
            }
            // A torn edge's fragments beyond the last heading.
            let x = 1920 + (r * 7) % 20;
            fill(&mut page, x, y - 5, x + 14, y + 25);
        }
        fill(&mut page, 40, 0, 42, 1400);
        fill(&mut page, 1950, 500, 1953, 503);
        // Another book's proportions: the gutters between the headings tell the columns.
        let other: Vec<f32> = widths.iter().rev().copied().collect();
        let mut grid = unruled_table(&page, 150.0, &other);
        let [tx, ty, tw, _] = grid.table.expect("a table");
        // From the first record's number to the last heading's end, from below the title.
        assert!(
            (60..=112).contains(&tx) && (1790..1900).contains(&(tx + tw)),
            "{:?}",
            grid.table
        );
        assert!((131..=200).contains(&ty), "{ty}");
        assert!(grid.h_lines.is_empty() && grid.v_lines.is_empty());
        assert_eq!(grid.columns.len(), 6);
        for (c, col) in grid.columns.iter().enumerate() {
            let value = (bounds[c] + 12, bounds[c] + 12 + (bounds[c + 1] - bounds[c]) / 2);
            assert!(
                col.start <= value.0 && col.end >= value.1,
                "column {c}: {col:?}, value {value:?}"
            );
        }
        rows_from_text(&mut grid, &page, 150.0);
        assert_eq!(grid.rows.len(), 1 + records as usize, "{:?}", grid.rows);
        for (r, row) in grid.rows[1..].iter().enumerate() {
            let y = 300 + 90 * r as u32;
            assert!(row.start <= y && row.end >= y + 48, "row {r}: {row:?}");
        }
        // Running text: words a space apart, no columns.
        let mut text = GrayImage::from_pixel(2000, 1400, Luma([255]));
        for l in 0..12 {
            let y = 200 + 60 * l;
            let mut x = 100;
            while x < 1800 {
                let word = 40 + (x * 7 + l * 13) % 90;
                write(&mut text, x, y, x + word, y + 22);
                x += word + 9;
            }
        }
        assert_eq!(unruled_table(&text, 150.0, &other).table, None);
    }

    /// Paints the box from (x0, y0) to (x1, y1), ends excluded, in ink.
    fn fill(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) {
        for y in y0..y1 {
            for x in x0..x1 {
                img.put_pixel(x, y, Luma([0]));
            }
        }
    }
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
    fn run_coverage_counts_the_runs_of_each_line_as_defined() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        // Covered length of a line, from its ink positions: runs joined over gaps of at
        // most `gap` paper pixels, counted when `min_run` long or more.
        let reference = |ink: &[bool], min_run: u32, gap: u32| -> u32 {
            let at: Vec<u32> = (0..ink.len() as u32).filter(|&i| ink[i as usize]).collect();
            let mut runs: Vec<(u32, u32)> = Vec::new();
            for i in at {
                match runs.last_mut() {
                    Some(r) if i - r.1 <= gap + 1 => r.1 = i,
                    _ => runs.push((i, i)),
                }
            }
            runs.iter().map(|r| r.1 + 1 - r.0).filter(|&n| n >= min_run).sum()
        };
        for (w, h, min_run, gap) in [(60u32, 45u32, 5u32, 2u32), (9, 70, 1, 0), (80, 3, 12, 4)] {
            let img = GrayImage::from_fn(w, h, |_, _| Luma([if rng.gen_bool(0.3) { 0 } else { 255 }]));
            let ink = |x: u32, y: u32| img.get_pixel(x, y).0[0] == 0;
            let rows: Vec<u32> = (0..h)
                .map(|y| reference(&(0..w).map(|x| ink(x, y)).collect::<Vec<_>>(), min_run, gap))
                .collect();
            let cols: Vec<u32> = (0..w)
                .map(|x| reference(&(0..h).map(|y| ink(x, y)).collect::<Vec<_>>(), min_run, gap))
                .collect();
            assert_eq!(run_coverage(&img, true, min_run, gap), rows, "{w}×{h} rows");
            assert_eq!(run_coverage(&img, false, min_run, gap), cols, "{w}×{h} columns");
            assert!(rows.iter().chain(&cols).any(|&c| c > 0));
        }
    }

    #[test]
    fn grid_with_broken_lines_gives_rows_and_columns() {
        let mut img = GrayImage::from_pixel(800, 600, Luma([255]));
        let ys = [50u32, 110, 170, 230, 290, 350];
        let xs = [40u32, 200, 420, 760];
        for &y in &ys {
            for x in 40..=760 {
                // Break the line every 100 px for 4 px, as faded rules do.
                if x % 100 < 4 {
                    continue;
                }
                img.put_pixel(x, y, Luma([0]));
                img.put_pixel(x, y + 1, Luma([0]));
            }
        }
        for &x in &xs {
            for y in 50..=351 {
                img.put_pixel(x, y, Luma([0]));
            }
        }
        let l = find_table(&img, 150.0, &[]);
        assert_eq!(l.h_lines.len(), 6);
        assert_eq!(l.rows.len(), 5);
        assert_eq!(l.columns.len(), 3);
        let t = l.table.unwrap();
        assert!((t[0] as i32 - 40).abs() <= 1 && (t[1] as i32 - 50).abs() <= 1, "{t:?}");
        assert_eq!(l.cell(1, 1), [201, 112, 219, 58]);
    }

    #[test]
    fn column_rules_broken_every_few_millimetres_divide_the_columns() {
        // A frame and rows ruled whole; three column rules drawn in runs of 120 px with
        // 12 px (2 mm at 150 dpi) left out between them, as a faded ruling breaks. The
        // template's proportions are other than the ruling's.
        let mut img = GrayImage::from_pixel(1200, 800, Luma([255]));
        for y in (50..=750).step_by(100) {
            for x in 40..=1160 {
                img.put_pixel(x, y, Luma([0]));
                img.put_pixel(x, y + 1, Luma([0]));
            }
        }
        for x in [40u32, 1160] {
            for y in 50..=751 {
                img.put_pixel(x, y, Luma([0]));
            }
        }
        for x in [300u32, 600, 900] {
            for y in (50..=751).filter(|y| (y - 50) % 132 < 120) {
                img.put_pixel(x, y, Luma([0]));
            }
        }
        let grid = find_table(&img, 150.0, &[0.1, 0.3, 0.3, 0.3]);
        let bounds: Vec<(u32, u32)> = grid.columns.iter().map(|c| (c.start, c.end)).collect();
        assert_eq!(grid.columns.len(), 4, "{bounds:?}");
        for (i, x) in [300u32, 600, 900].into_iter().enumerate() {
            assert!(grid.columns[i].end.abs_diff(x) <= 3, "{bounds:?}");
            assert!(grid.columns[i + 1].start.abs_diff(x) <= 3, "{bounds:?}");
        }
        assert_eq!(grid.rows.len(), 7);
    }

    #[test]
    fn a_weak_rule_a_whole_pitch_from_the_rules_is_one_and_others_are_not() {
        // Coverage down a page 1200 px wide: rules at a pitch of 80 covering 1000 px, the
        // header's rule 100 px above the first body rule; between them a pencil rule
        // covering 340 px a pitch above the body (under the bar: 0.35 of the best), a
        // weak line off the pitch between two body rules, and text.
        let mut cover = vec![0u32; 900];
        let mut put = |y: usize, c: u32| cover[y - 1..=y + 1].fill(c);
        for y in [100, 260, 340, 420, 500, 580, 660] {
            put(y, 1000);
        }
        put(180, 340);
        put(380, 340);
        put(620, 90);
        let strong = pick_lines(&cover, 300.0, STRONG_SHARE);
        assert_eq!(
            strong.iter().map(|l| l.pos).collect::<Vec<_>>(),
            [100, 260, 340, 420, 500, 580, 660]
        );
        let all = with_weak_rules(strong, &cover, 1200);
        assert_eq!(
            all.iter().map(|l| l.pos).collect::<Vec<_>>(),
            [100, 180, 260, 340, 420, 500, 580, 660]
        );
    }

    #[test]
    fn solid_regions_are_cleared_from_the_marks_and_thin_lines_kept() {
        // 200 dpi: a dark surround 60 px wide down the left, a stain 80 px across, and a
        // rule 2 px thick running across the page through both.
        let mut img = GrayImage::from_pixel(600, 300, Luma([255]));
        for (x, y, p) in img.enumerate_pixels_mut() {
            let stain = (x as i32 - 400).pow(2) + (y as i32 - 150).pow(2) <= 40 * 40;
            if x < 60 || stain || y == 150 || y == 151 {
                *p = Luma([0]);
            }
        }
        let thin = without_solid(&img, 200.0);
        let ink = |x: u32, y: u32| thin.get_pixel(x, y).0[0] == 0;
        assert!(!ink(20, 40) && !ink(400, 140), "the surround and the stain are cleared");
        assert!((100..300).all(|x| ink(x, 150)), "the rule on clean paper is kept");
        let left = (0..60)
            .flat_map(|x| (0..300).map(move |y| (x, y)))
            .filter(|&(x, y)| ink(x, y))
            .count();
        assert!(left < 60 * 300 / 5, "{left} marks left of the surround");
    }

    #[test]
    fn a_table_whose_column_rules_lean_keeps_its_header() {
        // A page flattened from a photo, a little off: the column rules lean by 12 px over
        // the table's height; the header row (100–220) is taller than the body's rows.
        let mut img = GrayImage::from_pixel(1200, 1100, Luma([255]));
        let ys: Vec<u32> = std::iter::once(100).chain((0..=10).map(|i| 220 + i * 80)).collect();
        for &y in &ys {
            for x in 100..=1100 {
                img.put_pixel(x, y, Luma([0]));
                img.put_pixel(x, y + 1, Luma([0]));
            }
        }
        for x0 in [100u32, 300, 500, 700, 900, 1100] {
            for y in 100..=1021 {
                let x = x0 + 12 - (y - 100) * 12 / 921;
                img.put_pixel(x, y, Luma([0]));
                img.put_pixel(x - 1, y, Luma([0]));
            }
        }
        let grid = find_table(&img, 200.0, &[]);
        let t = grid.table.expect("a table");
        assert!(t[1].abs_diff(100) <= 2, "table from y = {}", t[1]);
        assert_eq!(grid.rows.len(), 11, "the header and ten rows");
        assert!(grid.rows[0].start.abs_diff(102) <= 2 && grid.rows[0].end.abs_diff(220) <= 2);
    }

    /// A ruled table: 8 rows between `ys`, a column rule at each of `xs`, and rows running
    /// from `xs_rows.0` to `xs_rows.1`.
    fn ruled(xs: &[u32], rows: (u32, u32)) -> GrayImage {
        let mut img = GrayImage::from_pixel(1400, 700, Luma([255]));
        for i in 0..9 {
            let y = 60 + i * 60;
            for x in rows.0..=rows.1 {
                img.put_pixel(x, y, Luma([0]));
                img.put_pixel(x, y + 1, Luma([0]));
            }
        }
        for &x in xs {
            for y in 60..=542 {
                img.put_pixel(x, y, Luma([0]));
                img.put_pixel(x + 1, y, Luma([0]));
            }
        }
        img
    }

    #[test]
    fn columns_without_rules_of_another_printing_follow_the_gutters_of_its_writing() {
        // Template: 8 columns. The book's printing draws them up to 30% wider or
        // narrower, and only the frame and the row rules: 1200 px from x = 100.
        let widths = [0.05f32, 0.2, 0.1, 0.15, 0.1, 0.15, 0.15, 0.1];
        let drawn_w = [1.3f32, 0.8, 1.25, 0.75, 1.3, 0.9, 1.2, 0.7];
        let total: f32 = widths.iter().zip(drawn_w).map(|(w, d)| w * d).sum();
        let mut xs = vec![100u32];
        for (w, d) in widths.iter().zip(drawn_w) {
            xs.push(xs[xs.len() - 1] + (w * d / total * 1200.0) as u32);
        }
        let mut img = ruled(&[100, 1300], (100, 1300));
        // Headings centred in each column (two words apart by a space), values written
        // from each cell's left, as long as the column allows in some rows.
        let mut writing = Vec::new();
        for c in 0..8 {
            let (a, b) = (xs[c], xs[c + 1]);
            let mid = (a + b) / 2;
            let half = ((b - a) / 3).max(6);
            fill(&mut img, mid - half, 80, mid - 2, 95);
            fill(&mut img, mid + 2, 80, mid + half, 95);
            for r in 1..6u32 {
                let len = if r % 2 == 0 { (b - a) - 14 } else { (b - a) / 2 };
                let y = 60 + r * 60 + 20;
                for x in (a + 5..a + 5 + len).step_by(9) {
                    fill(&mut img, x, y, x + 4, y + 14);
                }
            }
            writing.push((a + 5, b - 9));
        }
        let holds_its_writing = |img: &GrayImage| {
            let g = find_table(img, 150.0, &widths);
            assert_eq!(g.columns.len(), 8, "{:?}", g.columns);
            // Each column holds its own writing and none of its neighbours'.
            for (c, (col, &(a, b))) in g.columns.iter().zip(&writing).enumerate() {
                assert!(col.start <= a && col.end >= b, "column {c}: {col:?}, writing {a}..{b}");
            }
        };
        holds_its_writing(&img);
        // Its column rules drawn but one (pencil, lost): the rules stand, and the
        // gutter where the lost one ran divides the two columns it would have.
        for (_, &x) in xs.iter().enumerate().filter(|&(i, _)| i != 3) {
            fill(&mut img, x, 60, x + 2, 543);
        }
        holds_its_writing(&img);
    }

    #[test]
    fn a_band_of_grey_along_the_pages_edge_is_no_frame() {
        // The grey surround of a scanned page: 40 px bands along its left and top edges,
        // as marks on the grey page; the table's frame inside them.
        let xs = [100, 250, 400, 550, 700, 850, 1000, 1150, 1300];
        let mut img = ruled(&xs, (100, 1300));
        fill(&mut img, 0, 0, 40, 700);
        fill(&mut img, 0, 0, 1400, 30);
        let g = find_table(&img, 150.0, &[]);
        let t = g.table.expect("a table");
        assert!(t[0].abs_diff(100) <= 3 && t[1].abs_diff(60) <= 3, "{t:?}");
        assert_eq!(g.rows.len(), 8, "{:?}", g.rows);
    }

    #[test]
    fn columns_whose_rules_are_missing_or_torn_away_follow_the_template() {
        // Template: 8 columns; the table is 1200 px wide from x = 100.
        let widths = [0.05f32, 0.2, 0.1, 0.15, 0.1, 0.15, 0.15, 0.1];
        let mut xs = vec![100u32];
        for w in widths {
            xs.push(xs[xs.len() - 1] + (w * 1200.0) as u32);
        }
        let near = |got: &[Band], want: &[(u32, u32)]| {
            assert_eq!(got.len(), want.len(), "{got:?}");
            for (g, &(s, e)) in got.iter().zip(want) {
                assert!(
                    g.start.abs_diff(s) <= 8 && g.end.abs_diff(e) <= 8,
                    "{got:?} against {want:?}"
                );
            }
        };
        let truth: Vec<(u32, u32)> = xs.windows(2).map(|p| (p[0] + 2, p[1])).collect();
        // Every rule: the columns between them.
        near(&find_table(&ruled(&xs, (100, 1300)), 150.0, &widths).columns, &truth);
        // A book without the template's first column, and two rules inside faded away: the
        // merged columns split where the template has them.
        let some: Vec<u32> = xs
            .iter()
            .enumerate()
            .filter(|(i, _)| ![0, 3, 5].contains(i))
            .map(|(_, &x)| x)
            .collect();
        let g = find_table(&ruled(&some, (160, 1300)), 150.0, &widths);
        near(&g.columns, &truth[1..]);
        // The last column and the frame rule before it torn away, the rows running on to the
        // tear: the columns found stay where their rules are, the torn one runs to the tear.
        let torn = ruled(&xs[..7], (100, 1200));
        let g = find_table(&torn, 150.0, &widths);
        let mut want = truth[..6].to_vec();
        want.push((xs[6] + 2, 1201));
        near(&g.columns, &want);
        assert_eq!(g.table.map(|t| (t[0], t[0] + t[2])), Some((100, 1201)));
        // Rules that fit no run of the template: its proportions across the whole table.
        let odd = [100, 130, 1240, 1270, 1300];
        let g = find_table(&ruled(&odd, (100, 1300)), 150.0, &widths);
        assert_eq!(g.columns.len(), 8);
        assert!(g.columns[1].start.abs_diff(160) <= 8, "{:?}", g.columns);
    }

    #[test]
    fn rows_without_rules_come_from_the_text_lines_and_the_last_ends_with_its_record() {
        // A frame, the header's rule, no rules between the rows; three records at the top
        // of a body that runs on blank to the frame's bottom.
        let mut img = GrayImage::from_pixel(1000, 700, Luma([255]));
        for y in [60, 120, 660] {
            fill(&mut img, 100, y, 902, y + 2);
        }
        for x in [100, 300, 900] {
            fill(&mut img, x, 60, x + 2, 662);
        }
        // Lines of "letters": strokes with paper between, as writing makes.
        for y in [140, 200, 260] {
            for x in (120..240).chain(320..690).step_by(12) {
                fill(&mut img, x, y, x + 3, y + 15);
            }
        }
        let mut grid = find_table(&img, 150.0, &[]);
        assert_eq!(grid.rows.len(), 2, "{:?}", grid.rows);
        rows_from_text(&mut grid, &img, 150.0);
        let rows: Vec<(u32, u32)> = grid.rows.iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(rows.len(), 4, "{rows:?}");
        // Cuts halfway between the lines; the last row half a pitch below its line.
        assert!(rows[1].1.abs_diff(177) <= 2 && rows[2].1.abs_diff(237) <= 2, "{rows:?}");
        assert!(rows[3].1.abs_diff(297) <= 3, "{rows:?}");
    }

    #[test]
    fn a_rules_remnant_at_a_lines_end_is_left_out_and_a_last_letter_kept() {
        // A 20-px line band in a cell 100 px wide: writing (a block) from x = 10 to 70.
        let mut img = GrayImage::from_pixel(100, 20, Luma([255]));
        fill(&mut img, 10, 6, 70, 16);
        // An i standing apart near the right edge: its stem and its dot, rows free
        // above, between and below.
        let mut i = img.clone();
        fill(&mut i, 88, 8, 90, 16);
        fill(&mut i, 88, 4, 90, 6);
        assert_eq!(band_line(&i, 0, 100, 0, 20, true).unwrap().bbox, [10, 0, 80, 20]);
        // At low resolution the i's dot and stem fill the line's height: a little off
        // the edge, it stays all the same.
        let mut tall_i = img.clone();
        fill(&mut tall_i, 88, 1, 90, 20);
        assert_eq!(band_line(&tall_i, 0, 100, 0, 20, true).unwrap().bbox, [10, 0, 80, 20]);
        // At a page's edge a narrow mark standing apart goes, however it is shaped.
        assert_eq!(band_line(&i, 0, 100, 0, 20, false).unwrap().bbox, [10, 0, 60, 20]);
        // What is left of the cell's rule: a stroke down the whole band.
        let mut rule = img.clone();
        fill(&mut rule, 97, 0, 99, 20);
        assert_eq!(band_line(&rule, 0, 100, 0, 20, true).unwrap().bbox, [10, 0, 60, 20]);
    }

    #[test]
    fn leader_dots_are_found_and_the_marks_of_letters_kept() {
        let mut img = GrayImage::from_pixel(300, 40, Luma([255]));
        // A letter with a dot under it, then a leader of six dots, then two full stops.
        fill(&mut img, 10, 10, 20, 28);
        fill(&mut img, 19, 31, 21, 33);
        for k in 0..6 {
            fill(&mut img, 40 + 12 * k, 30, 42 + 12 * k, 32);
        }
        fill(&mut img, 150, 10, 160, 28);
        fill(&mut img, 162, 26, 164, 28);
        fill(&mut img, 170, 10, 180, 28);
        fill(&mut img, 182, 26, 184, 28);
        let dots = leader_dots(&img, 150.0, true);
        assert_eq!(dots.len(), 6, "{dots:?}");
        assert!(dots.iter().all(|d| d[0] >= 40 && d[0] < 110 && d[1] == 30));
        // Writing over the leader: its dots under the letters go too.
        fill(&mut img, 110, 8, 140, 26);
        fill(&mut img, 112, 30, 114, 32);
        fill(&mut img, 124, 30, 126, 32);
        assert_eq!(leader_dots(&img, 150.0, false).len(), 6);
        let dots = leader_dots(&img, 150.0, true);
        assert_eq!(dots.len(), 8, "{dots:?}");
    }

    #[test]
    fn a_long_leader_is_found_whole_under_a_short_value() {
        // 300 dpi: a value of nine letters 30 px tall, on a leader of dots 4 px wide and 5
        // tall (every fourth blurred to 7) that runs on far past it: the dots outnumber
        // the letters ten to one. Under the value the leader's pitch has drifted (13 px
        // there, 12 beyond it).
        let mut img = GrayImage::from_pixel(1200, 60, Luma([255]));
        for k in 0..9 {
            fill(&mut img, 20 + 12 * k, 10, 28 + 12 * k, 40);
        }
        let mut want = Vec::new();
        for k in 0..80 {
            let x = 140 + 12 * k;
            let bottom = if k % 4 == 3 { 51 } else { 49 };
            fill(&mut img, x, 44, x + 4, bottom);
            want.push(x);
        }
        for k in 1..=9 {
            let x = 140 - 13 * k;
            fill(&mut img, x, 44, x + 4, 49);
            want.push(x);
        }
        // Beyond the value only (and between its letters), and under it too.
        let beyond = leader_dots(&img, 300.0, false);
        assert!(beyond.len() >= 80 && beyond.len() < 85, "{beyond:?}");
        let mut found: Vec<u32> = leader_dots(&img, 300.0, true).iter().map(|d| d[0]).collect();
        found.sort_unstable();
        want.sort_unstable();
        assert_eq!(found, want);
    }

    #[test]
    fn rules_beyond_the_column_rules_at_the_rows_pitch_are_rows() {
        let rule = |pos| RuleLine {
            pos,
            from: pos,
            to: pos,
        };
        let kept: Vec<RuleLine> = (3..=7).map(|k| rule(100 * k)).collect();
        // Above: two at the pitch, with a stroke 70 above the first in between them; a
        // title's underline far off; below: a page edge two pitches off.
        let all: Vec<RuleLine> = [30, 100, 130, 200, 300, 400, 500, 600, 700, 900]
            .into_iter()
            .map(rule)
            .collect();
        let got: Vec<u32> = continue_pitch(kept, &all).iter().map(|l| l.pos).collect();
        assert_eq!(got, vec![100, 200, 300, 400, 500, 600, 700]);
    }

    #[test]
    fn a_header_many_rows_tall_gives_its_lines_at_the_rows_pitch_as_rows() {
        // A header band 0–500 over body rows of 100: a title at the top, then three lines
        // of records at the pitch whose rules are gone.
        let mut img = GrayImage::from_pixel(300, 900, Luma([255]));
        let line = |img: &mut GrayImage, mid: u32| {
            fill(img, 20, mid - 10, 60, mid + 10);
            fill(img, 100, mid - 10, 140, mid + 10);
        };
        for mid in [60, 250, 350, 450, 550, 650, 750, 850] {
            line(&mut img, mid);
        }
        let band = |start, end| Band { start, end };
        let mut grid = Grid {
            table: Some([0, 0, 300, 900]),
            rows: vec![
                band(0, 500),
                band(501, 600),
                band(601, 700),
                band(701, 800),
                band(801, 900),
            ],
            columns: vec![band(0, 300)],
            ..Grid::default()
        };
        rows_in_header(&mut grid, &img);
        let starts: Vec<u32> = grid.rows.iter().map(|r| r.start).collect();
        let want = [0, 200, 300, 400, 501, 601, 701, 801];
        assert_eq!(starts.len(), want.len(), "{starts:?}");
        assert!(starts.iter().zip(want).all(|(&a, b)| a.abs_diff(b) <= 2), "{starts:?}");
        // A header of ordinary height is left alone.
        let before = grid.rows.clone();
        rows_in_header(&mut grid, &img);
        assert_eq!(grid.rows, before);
    }

    #[test]
    fn a_leader_between_two_lines_of_writing_is_found() {
        // A band of two lines (rows 5–23 and 50–68) joined by the leader under the first
        // (rows 27–29): the second line's letters lie below its dots, well off them.
        let mut img = GrayImage::from_pixel(300, 80, Luma([255]));
        for k in 0..4 {
            fill(&mut img, 10 + 20 * k, 5, 22 + 20 * k, 23);
        }
        for k in 0..12 {
            fill(&mut img, 100 + 12 * k, 27, 102 + 12 * k, 29);
        }
        for k in 0..10 {
            fill(&mut img, 90 + 20 * k, 50, 102 + 20 * k, 68);
        }
        let dots = leader_dots(&img, 150.0, false);
        assert_eq!(dots.len(), 12, "{dots:?}");
        // A mark close over a letter is the letter's.
        fill(&mut img, 96, 40, 98, 42);
        fill(&mut img, 116, 40, 118, 42);
        fill(&mut img, 136, 40, 138, 42);
        fill(&mut img, 156, 40, 158, 42);
        assert_eq!(leader_dots(&img, 150.0, false).len(), 12);
    }

    #[test]
    fn a_cell_splits_into_its_lines_with_tone_marks_kept_on_theirs() {
        let mut img = GrayImage::from_pixel(200, 120, Luma([255]));
        // Line 1: marks at rows 10–13, letters at 17–35; line 2: letters 60–78, a dot
        // below at 82–84; a speck at the bottom.
        fill(&mut img, 30, 10, 36, 13);
        fill(&mut img, 20, 17, 150, 35);
        fill(&mut img, 15, 60, 120, 78);
        fill(&mut img, 40, 82, 43, 84);
        fill(&mut img, 190, 110, 191, 111);
        let lines = text_lines(&img, [0, 0, 200, 120]);
        let boxes: Vec<BBox> = lines.iter().map(|l| l.bbox).collect();
        assert_eq!(boxes, vec![[20, 10, 130, 25], [15, 60, 105, 24]]);
        // A stroke of a ruling line against the region's edge is no part of the line.
        for y in 60..84 {
            img.put_pixel(1, y, Luma([0]));
            img.put_pixel(2, y, Luma([0]));
        }
        let lines = text_lines(&img, [0, 0, 200, 120]);
        assert_eq!(lines[1].bbox, [15, 60, 105, 24]);
    }
}
