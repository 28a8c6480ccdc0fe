use super::*;
use super::{faint::*, fold::*, lines::*, rows::*, rules::*, table::*, unruled::*};
use crate::raster::paint;
use image::{GrayImage, Luma};

/// Paints the box from (x0, y0) to (x1, y1), ends excluded, in ink.
fn fill(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) {
    paint(img, [x0, y0, x1 - x0, y1 - y0], 0);
}

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

/// A restored page whose grey and black-and-white images are both `img`.
fn restored(img: GrayImage) -> RestoredPage {
    RestoredPage {
        gray: img.clone(),
        binary: img,
        skew_deg: 0.0,
        bend_px: 0.0,
        quality: Default::default(),
    }
}

/// Rules a table from `x0` to `x1` and `y0` to `y1`: `rows` rows, columns at `widths`.
fn rule_table(img: &mut GrayImage, (x0, x1): (u32, u32), (y0, y1): (u32, u32), rows: u32, widths: &[f32]) {
    for r in 0..=rows {
        let y = y0 + (y1 - y0) * r / rows;
        fill(img, x0, y, x1 + 2, y + 2);
    }
    let mut x = x0 as f32;
    fill(img, x0, y0, x0 + 2, y1 + 2);
    for w in widths {
        x += w * (x1 - x0) as f32;
        fill(img, x as u32, y0, x as u32 + 2, y1 + 2);
    }
}

#[test]
fn a_ruled_page_is_a_register_and_an_open_books_two_pages_are_two() {
    let ledger = Template::for_book_type("ks").unwrap();
    let widths = ledger.widths();
    let size = (2000, 1400);
    let mut one = GrayImage::from_pixel(size.0, size.1, Luma([255]));
    rule_table(&mut one, (60, 1930), (100, 1300), 10, &widths);
    let tables = page_tables(&restored(one), 150.0, &ledger);
    assert!(tables.has_table(size));
    assert_eq!(tables.grid.rows.len(), 10);
    assert_eq!(tables.grid.columns.len(), widths.len());
    assert_eq!(tables.spread, None);

    let mut two = GrayImage::from_pixel(size.0, size.1, Luma([255]));
    rule_table(&mut two, (60, 940), (100, 1300), 10, &widths);
    rule_table(&mut two, (1060, 1930), (100, 1300), 10, &widths);
    let tables = page_tables(&restored(two), 150.0, &ledger);
    let [left, right] = tables.spread.expect("an open book's two tables");
    let (l, r) = (left.table.unwrap(), right.table.unwrap());
    assert!(l[0] + l[2] <= 1000 && r[0] >= 1000, "{l:?} {r:?}");
    for page in [&left, &right] {
        assert_eq!(page.rows.len(), 10);
        assert_eq!(page.columns.len(), widths.len());
    }

    let blank = GrayImage::from_pixel(size.0, size.1, Luma([255]));
    let tables = page_tables(&restored(blank), 150.0, &ledger);
    assert!(!tables.has_table(size));
    assert_eq!(tables.spread, None);
}
