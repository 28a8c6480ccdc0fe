//! Stage 2: find the tables on a restored page, their row bands and column bands.
//!
//! One entry point, [`page_tables`]: a restored page in, its [`Grid`] (and an open
//! book's two grids) out, plain numbers. Ruling lines are found as long horizontal
//! (vertical) runs of ink after closing small gaps, so broken and faded lines still count;
//! handwriting seldom makes such runs. By concern:
//! - [`table`]: the table from its ruling lines ([`rules`]: finding and judging them;
//!   [`columns`]: columns where rules are missing);
//! - [`faint`]: faint and pencil rules on the grey page;
//! - [`rows`]: rows from text lines where rules between them are missing;
//! - [`unruled`]: a table ruled nowhere;
//! - [`fold`]: an open book's two pages in one image;
//! - [`lines`]: text lines of a region.

pub mod columns;
pub mod faint;
pub mod fold;
pub mod lines;
pub mod rows;
pub mod rules;
pub mod table;
#[cfg(test)]
mod tests;
pub mod unruled;

pub use faint::{faint_marks, without_solid};
pub use fold::{page_fold, spread_tables};
pub use lines::{page_lines, text_lines, TextLine};
pub use rows::{rows_from_text, rows_in_header};
pub use table::{find_table, find_table_on};
pub use unruled::unruled_table;

use crate::raster::{ink_fraction, BBox};
use crate::restore::RestoredPage;
use crate::template::Template;
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

/// The tables of a page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageTables {
    /// The table found on the whole page (no table: an empty grid).
    pub grid: Grid,
    /// An open book's two pages in one image: the left page's table and the right's,
    /// each found with the other page blanked out.
    pub spread: Option<[Grid; 2]>,
}

impl PageTables {
    /// Whether a register's table was found: a usable grid with a header and two rows at
    /// least (a lone band between two lines is no register).
    pub fn has_table(&self, page: (u32, u32)) -> bool {
        usable(&self.grid, page) && self.grid.rows.len() >= 3
    }
}

/// The tables of a restored page at `dpi`, the columns fitted to the book's `ledger`
/// template: [`find_grid`], and for a table, [`spread_tables`].
pub fn page_tables(page: &RestoredPage, dpi: f32, ledger: &Template) -> PageTables {
    let mut tables = PageTables {
        grid: find_grid(page, dpi, ledger),
        spread: None,
    };
    if tables.has_table(page.binary.dimensions()) {
        tables.spread = spread_tables(page, dpi, &tables.grid, ledger);
    }
    tables
}

/// A grid that can be read: a table with a header and a body row, and columns, as large
/// as a register's table is (a third of the page's width, a sixth of its height; not a
/// strip along the page's edge, a stain's rim or a fold).
fn usable(grid: &Grid, page: (u32, u32)) -> bool {
    let big = grid.table.is_some_and(|t| t[2] * 3 >= page.0 && t[3] * 6 >= page.1);
    big && grid.rows.len() >= 2 && !grid.columns.is_empty()
}

/// How much darker than the paper a faint or pencil rule is, at least (grey levels).
const FAINT_RULE_DEPTH: u8 = 18;

/// The ruled table of a ledger page: its rules found on the black-and-white page, or
/// (faint, pencil rules that binarization drops) on the grey page; rows from the text
/// lines where the rules between them are missing.
pub fn find_grid(page: &RestoredPage, dpi: f32, ledger: &Template) -> Grid {
    let widths = ledger.widths();
    let size = page.binary.dimensions();
    let mut grid = find_table(&page.binary, dpi, &widths);
    if !usable(&grid, size) || grid.v_lines.len() < 3 {
        let marks = faint_marks(&page.gray, FAINT_RULE_DEPTH);
        // Rules stand on clean paper: where a fifth of the paper is marked (the grain of a
        // stain, a fold's shadow, a dark edge) lines are texture.
        let on_clean_paper = |marks: &GrayImage, grid: &Grid| grid.table.is_some_and(|t| ink_fraction(marks, t) < 0.2);
        let mut faint = find_table_on(&marks, &page.binary, dpi, &widths);
        let mut clean = on_clean_paper(&marks, &faint);
        if !clean {
            // Solid dark regions (the dark surround of a page, large stains) over a page
            // ruled in pencil: their edges taken for the table's frame. Without them.
            let thin = without_solid(&marks, dpi);
            faint = find_table_on(&thin, &page.binary, dpi, &widths);
            clean = on_clean_paper(&thin, &faint);
        }
        if clean && usable(&faint, size) && (!usable(&grid, size) || faint.rows.len() > grid.rows.len()) {
            grid = faint;
        }
    }
    if !usable(&grid, size) {
        // No rules at all: a list set out in columns.
        let unruled = unruled_table(&page.binary, dpi, &widths);
        if usable(&unruled, size) {
            grid = unruled;
        }
    }
    if usable(&grid, size) {
        rows_in_header(&mut grid, &page.binary);
        rows_from_text(&mut grid, &page.binary, dpi);
    }
    grid
}
