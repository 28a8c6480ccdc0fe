//! A table ruled nowhere: a run of text lines set out in columns.

use super::columns::*;
use super::lines::{page_lines, TextLine};
use super::{Band, Grid};
use crate::raster::{mm_px, px_per_mm, spans_where};
use image::GrayImage;

/// Blank narrower than this (mm) along a text line is a space between words; the space
/// between two columns' writing is wider.
pub(super) const COLUMN_GAP_MM: f32 = 2.5;
/// A text line in this many pieces at least (split by [`COLUMN_GAP_MM`] of blank) is set
/// out in columns; a title or a line of running text is in one or two.
pub(super) const TABLE_LINE_PIECES: usize = 4;

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
    let min_gap = mm_px(COLUMN_GAP_MM, dpi) as usize;
    let mm = px_per_mm(dpi) as u32;
    let spans: Vec<Vec<(u32, u32)>> = lines.iter().map(|l| line_pieces(binary, l, min_gap, mm)).collect();
    let top_of = |i: usize| lines[i].bbox[1];
    let Some((run, pitch)) = longest_columned_run(&lines, &spans) else {
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

/// A text line's pieces of writing, as spans of x: its ink split at blanks of `min_gap`
/// pixels ([`COLUMN_GAP_MM`]); what touches the page's sides (its dark edge) left out, and
/// specks (a letter is a millimetre, `mm` pixels, tall at least) and lines down the page
/// (a page's edge, a fold: narrow, and taller than a line of writing).
fn line_pieces(binary: &GrayImage, l: &TextLine, min_gap: usize, mm: u32) -> Vec<(u32, u32)> {
    let w = binary.width();
    let (raw, stride) = (binary.as_raw(), w as usize);
    let edge = min_gap as u32;
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
}

/// Of `lines` (split into pieces as `spans`), the longest run of three or more set out in
/// columns ([`TABLE_LINE_PIECES`]), one after another, each within two pitches of the
/// last; with the pitch of the page's columned lines.
fn longest_columned_run(lines: &[TextLine], spans: &[Vec<(u32, u32)>]) -> Option<(Vec<usize>, u32)> {
    let top_of = |i: usize| lines[i].bbox[1];
    let columned: Vec<usize> = (0..lines.len())
        .filter(|&i| spans[i].len() >= TABLE_LINE_PIECES)
        .collect();
    let mut steps: Vec<u32> = columned.windows(2).map(|p| top_of(p[1]) - top_of(p[0])).collect();
    steps.sort_unstable();
    let &pitch = steps.get(steps.len() / 2)?;
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in &columned {
        match runs.last_mut() {
            Some(run) if run[run.len() - 1] + 1 == i && top_of(i) - top_of(run[run.len() - 1]) <= 2 * pitch => {
                run.push(i)
            }
            _ => runs.push(vec![i]),
        }
    }
    let run = runs.into_iter().rev().max_by_key(Vec::len).filter(|r| r.len() >= 3)?;
    Some((run, pitch))
}
