//! An open book's two pages in one image: the fold between them, and a table on each.

use super::{find_grid, usable, Grid};
use crate::raster::{px_per_mm, spans_where};
use crate::restore::RestoredPage;
use crate::template::Template;
use image::GrayImage;

/// Paper that no rule crosses, at least this wide (mm), down the middle of a page: the
/// fold of an open book scanned or photographed whole, a table on either side of it.
pub(super) const FOLD_MM: f32 = 5.0;
/// A run of ink this long (mm) along a row of pixels is a rule's (a word's letters are
/// apart sooner).
pub(super) const RULE_RUN_MM: f32 = 6.0;

/// Lines crossing a column that leave it a fold's: the edges of a photographed page
/// flattened a little aslant (above and below the tables) run across the whole image;
/// a table has three rules at least (its frame's top and bottom and the header's).
pub(super) const FOLD_CROSSINGS: u32 = 2;

/// The fold of an open book whose two pages' tables lie side by side in one image: the
/// middle of the widest band, [`FOLD_MM`] wide at least, within the middle 40% of the
/// page's width, that no more than [`FOLD_CROSSINGS`] lines cross, with rules over at
/// least a third of the width on either side of it. Inside one table every row rule runs
/// across every column; writing does not count, nor does a crease's line down the fold.
pub fn page_fold(binary: &GrayImage, dpi: f32) -> Option<u32> {
    let (wu, mm) = (binary.width() as usize, px_per_mm(dpi));
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

/// The tables of an open book's two pages, left and right, each found with the other
/// page blanked out: on either side of the fold ([`page_fold`]: a band down the
/// page's middle no rule crosses), or where the table found (`grid`) leaves a third of
/// the page's width free on one side (a page's table spans more than that of a spread).
pub fn spread_tables(page: &RestoredPage, dpi: f32, grid: &Grid, ledger: &Template) -> Option<[Grid; 2]> {
    let [tx, _, tw, _] = grid.table?;
    let w = page.binary.width();
    let table = |from: u32, to: u32| {
        let found = find_grid(&blanked(page, from, to), dpi, ledger);
        (usable(&found, page.binary.dimensions()) && found.rows.len() >= 3).then_some(found)
    };
    if let Some(fold) = page_fold(&page.binary, dpi) {
        if let (Some(left), Some(right)) = (table(fold, w), table(0, fold)) {
            return Some([left, right]);
        }
    }
    let (before, after) = (tx, w.saturating_sub(tx + tw));
    if before.max(after) * 3 < w {
        return None;
    }
    let margin = px_per_mm(dpi) as u32;
    let (from, to) = (tx.saturating_sub(margin), (tx + tw + margin).min(w));
    let other = table(from, to)?;
    let t = other.table?;
    if t[0] + t[2] <= from {
        Some([other, grid.clone()])
    } else if t[0] >= to {
        Some([grid.clone(), other])
    } else {
        None
    }
}

/// The page with its columns `from..to` blanked out, paper white.
fn blanked(page: &RestoredPage, from: u32, to: u32) -> RestoredPage {
    let blank = |img: &GrayImage| {
        let mut img = img.clone();
        for y in 0..img.height() {
            for x in from..to.min(img.width()) {
                img.put_pixel(x, y, image::Luma([255]));
            }
        }
        img
    };
    RestoredPage {
        gray: blank(&page.gray),
        binary: blank(&page.binary),
        skew_deg: page.skew_deg,
        bend_px: page.bend_px,
        quality: page.quality.clone(),
    }
}
