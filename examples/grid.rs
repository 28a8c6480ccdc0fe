//! Draws the table found on each page over the restored page: rules in blue, row bands
//! in red, column bands in green, for looking at how real rulings are found.
//!
//! `cargo run --release --example grid -- OUT_DIR PAGE...` (300 dpi assumed when the file
//! states none); prints rows and columns found per page.

use sohoa::template::Template;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, pages) = args.split_first().expect("usage: grid OUT_DIR PAGE...");
    std::fs::create_dir_all(out).expect("output folder");
    let ledger = Template::for_book_type("ks").expect("built-in template");
    for page in pages {
        let bytes = std::fs::read(page).expect("readable page");
        let frame = sohoa::ingest::decode(&bytes).expect("decodable page").remove(0);
        let dpi = frame.dpi.unwrap_or(300.0);
        let outline = sohoa::restore::perspective::page_outline(&frame.gray);
        let gray = outline
            .and_then(|c| sohoa::restore::perspective::flatten(&frame.gray, c))
            .unwrap_or(frame.gray);
        let restored = sohoa::restore::restore(&gray, dpi, &Default::default());
        let grid = sohoa::layout::find_grid(&restored, dpi, &ledger);
        // An open book: each page's table drawn.
        let grids = match sohoa::layout::spread_tables(&restored, dpi, &grid, &ledger) {
            Some(pair) => pair.to_vec(),
            None => vec![grid],
        };
        let mut img = image::DynamicImage::ImageLuma8(restored.gray.clone()).to_rgb8();
        let (w, h) = img.dimensions();
        let mut paint = |x0: u32, y0: u32, x1: u32, y1: u32, c: [u8; 3]| {
            for y in y0.min(h)..y1.min(h) {
                for x in x0.min(w)..x1.min(w) {
                    let p = img.get_pixel_mut(x, y);
                    for (v, c) in p.0.iter_mut().zip(c) {
                        *v = ((*v as u32 + 2 * c as u32) / 3) as u8;
                    }
                }
            }
        };
        for grid in &grids {
            if let Some([tx, ty, tw, th]) = grid.table {
                for (i, r) in grid.rows.iter().enumerate() {
                    let c = if i % 2 == 0 { [255, 0, 0] } else { [255, 160, 0] };
                    paint(tx, r.start, tx + tw, r.start + 3, c);
                    paint(tx, r.end.saturating_sub(3), tx + tw, r.end, c);
                }
                for c in &grid.columns {
                    paint(c.start, ty, c.start + 3, ty + th, [0, 200, 0]);
                    paint(c.end.saturating_sub(3), ty, c.end, ty + th, [0, 200, 0]);
                }
            }
            for l in &grid.h_lines {
                paint(0, l.from, 12, l.to + 1, [0, 0, 255]);
            }
            for l in &grid.v_lines {
                paint(l.from, 0, l.to + 1, 12, [0, 0, 255]);
            }
        }
        let name = Path::new(page).file_stem().unwrap().to_string_lossy().into_owned();
        img.save(Path::new(out).join(format!("{name}.png"))).expect("written");
        for grid in &grids {
            println!(
                "{name}: photographed {}, table {:?}, {} rows (header included), {} columns, {} + {} rules",
                outline.is_some(),
                grid.table,
                grid.rows.len(),
                grid.columns.len(),
                grid.h_lines.len(),
                grid.v_lines.len()
            );
        }
    }
}
