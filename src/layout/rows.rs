//! Rows where the rules between them are missing: cut between the text lines of the
//! number or name column, or of a header many rows tall.

use super::lines::{page_lines, text_lines, TextLine};
use super::rules::follow_pitch;
use super::{Band, Grid};
use crate::raster::{clip, without_specks, BBox};
use image::GrayImage;

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

/// Text lines less than a quarter of a line's height apart joined: one line split at a
/// row its letters leave blank, or a value wrapped onto a second line of its cell.
pub(super) fn joined_when_close(lines: Vec<TextLine>) -> Vec<TextLine> {
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
pub(super) fn text_lines_without_rules(binary: &GrayImage, region: BBox, running: bool) -> Vec<TextLine> {
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
