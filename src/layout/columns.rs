//! Columns where the column rules are missing: the rules found fitted to the template's
//! columns, or the white gutters between the columns' writing matched to its proportions.

use super::{Band, RuleLine};
use crate::raster::{mm_px, spans_where};
use image::GrayImage;

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
pub(super) fn columns_from_gutters(
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
pub(super) fn gutters(
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
    let min_gutter = (mm_px(GUTTER_MM, dpi) as u32).max(2) as usize;
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
pub(super) fn lay_columns(mut x: f32, parts: &[f32], scale: f32, gap: u32) -> Vec<Band> {
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
pub(super) const GUTTER_TOLERANCE: f32 = 0.4;
/// A gutter between columns is this wide at least (mm): a cell's margins on either side
/// of it; a space between words is narrower.
pub(super) const GUTTER_MM: f32 = 1.5;
/// A boundary without a gutter costs more than any column's width off by the tolerance:
/// a gutter down the whole table, headings included, is what divides columns; merged
/// columns would only even out the widths' errors.
pub(super) const GUTTER_MISSING_COST: f32 = 0.5;

/// Found columns of at least this many...
pub(super) const FIT_MIN_COLUMNS: usize = 4;
/// ...each within this fraction of its width of what the template's proportions give it
/// ...
pub(super) const FIT_TOLERANCE: f32 = 0.3;
/// ...with a merge (a rule missing) counted as this much squared error, so that the
/// columns found are taken one for one where that fits as well.
pub(super) const FIT_MERGE_COST: f32 = 0.02;

/// The columns between the rules found, matched to a run of the template's columns
/// (`expected`: relative widths): each found column is one template column or several
/// whose rules are missing, then split at their proportions (`gap` pixels kept clear of
/// each split). The run may leave out template columns at either end (torn away, or a
/// book without them). `None` when too few columns were found to tell, or none fits.
pub(super) fn fit_to_template(found: &[Band], expected: &[f32], gap: u32) -> Option<Vec<Band>> {
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
