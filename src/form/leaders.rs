//! Dotted leader lines, the rows of dots a form's values are written on: found on a
//! page or a crop, erased before the page is read, and the readings a leader's dots
//! change (a dot below, a full stop, a comma) told from the writing's own.

use crate::ocr::constrain::Lexicons;
use crate::raster::{components, mm_px, paint, BBox, Connectivity};
use crate::restore::RestoredPage;
use image::GrayImage;

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
    let max_dot = (mm_px(0.8, dpi) as u32).max(2);
    let max_gap = mm_px(3.0, dpi) as u32;
    let raw = binary.as_raw();
    let ink = |x: u32, y: u32| raw[(y * w + x) as usize] == 0;
    // Every speck; those small enough to be dots, and those of them with no ink above or
    // below.
    let mut small: Vec<BBox> = Vec::new();
    let mut specks: Vec<BBox> = Vec::new();
    // Each connected speck (8-neighbours).
    let all: Vec<BBox> = components(w, h, Connectivity::Eight, ink)
        .into_iter()
        .map(|c| c.bbox)
        .collect();
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
                    dots_under_writing(run, &small, mid, max_dot / 2 + step, &mut dots);
                }
                start = k;
            }
        }
        i = j;
    }
    dots
}

/// The grey page without the dotted lines values are written on (they lead the page's
/// reading astray: dots read as letters, labels run into their values, a line with its
/// leader close below it is left out), found strip by strip down the page.
pub fn without_leaders(page: &RestoredPage, dpi: f32) -> GrayImage {
    // Only what binarization kept as ink: the grey speckle of a scanner's dark margins
    // (paper there, to the binarization) would otherwise be read as lines of junk.
    let mut gray = page.gray.clone();
    for (g, b) in gray.pixels_mut().zip(page.binary.pixels()) {
        if b.0[0] == 255 {
            g.0[0] = 255;
        }
    }
    // Strips overlapping by half, each keeping the dots in its middle half, where a dot
    // has a line's height of the page around it. Not the page's text lines: a torn edge's
    // debris or a margin rule running down the page joins them into one band.
    let (w, h) = page.binary.dimensions();
    let quarter = (mm_px(LEADER_STRIP_MM, dpi) as u32 / 4).max(8);
    let mut top = 0;
    loop {
        let strip_h = (4 * quarter).min(h - top);
        let strip = image::imageops::crop_imm(&page.binary, 0, top, w, strip_h).to_image();
        let from = if top == 0 { 0 } else { quarter };
        let last = top + strip_h >= h;
        let to = if last { strip_h } else { 3 * quarter };
        for [dx, dy, dw, dh] in leader_dots(&strip, dpi, true) {
            if (from..to).contains(&(dy + dh / 2)) {
                paint(&mut gray, [dx, top + dy, dw, dh], 255);
            }
        }
        if last {
            break;
        }
        top += 2 * quarter;
    }
    gray
}

/// The height of the strips leaders are looked for in (mm): a line of writing with room
/// above and below.
const LEADER_STRIP_MM: f32 = 16.0;

/// A text without what a leader's dot reads as: dots below (the nặng tone), full stops
/// and commas (`Cọn` → `Con`, `TP.` → `TP`, `Phường, Bến Nghé` → `Phường Bến Nghé`).
pub fn without_dots(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|&c| !matches!(c, '\u{323}' | '.' | ','))
        .nfc()
        .collect()
}

/// A value read twice, with the leader's dots under it (`kept`) and without (`off`), the
/// two differing by dots only: word by word, a full stop or comma only the first reading
/// has is the leader's; a dot below is the leader's when the word without it is a listed
/// name or place syllable and the word with it is not (`Tận Phước`), else the writing's
/// (`Thị`, a true dot on the leader's row).
pub fn off_leader_words(kept: &str, off: &str, lexicons: &Lexicons) -> String {
    let (k, o): (Vec<&str>, Vec<&str>) = (kept.split_whitespace().collect(), off.split_whitespace().collect());
    if k.len() != o.len() {
        return kept.to_string();
    }
    let bare = |w: &str| w.trim_matches(|c| c == '.' || c == ',').to_string();
    k.iter()
        .zip(&o)
        .map(|(&kw, &ow)| {
            if kw == ow {
                return kw;
            }
            let (kb, ob) = (bare(kw), bare(ow));
            if kb == ob {
                // Punctuation only: the reading without the leader's dots.
                ow
            } else if lexicons.knows(&ob) && !lexicons.knows(&kb) {
                ow
            } else {
                kw
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The leader's dots under the writing, added to `dots`: specks of `small` at the
/// height of a run of dots (`run`, its middle `mid`; `within` pixels of it), found a
/// pitch on from the last dot found (or from where one was due, under a letter's stroke),
/// outwards from both ends of the run and across its gaps; a leader's pitch wavers too
/// much to be laid from one end across a value.
fn dots_under_writing(run: &[BBox], small: &[BBox], mid: u32, within: u32, dots: &mut Vec<BBox>) {
    let centre = |b: &BBox| b[0] as f32 + b[2] as f32 / 2.0;
    let mut gaps: Vec<f32> = run.windows(2).map(|p| centre(&p[1]) - centre(&p[0])).collect();
    gaps.sort_by(f32::total_cmp);
    let pitch = gaps[gaps.len() / 2].max(1.0);
    let mut row_specks: Vec<BBox> = small
        .iter()
        .filter(|b| (b[1] + b[3] / 2).abs_diff(mid) <= within)
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// Paints the box from (x0, y0) to (x1, y1), ends excluded, in ink.
    fn fill(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) {
        paint(img, [x0, y0, x1 - x0, y1 - y0], 0);
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
    fn of_two_readings_differing_by_dots_the_leaders_dots_are_dropped_and_the_writings_kept() {
        let lexicons = Lexicons::builtin(&crate::template::Vocabulary::builtin());
        let pick = |kept: &str, off: &str| off_leader_words(kept, off, &lexicons);
        // A dot of the leader read as a comma, and as the dot below of an unlisted word.
        assert_eq!(pick("Phường, 3, thị xã", "Phường 3, thị xã"), "Phường 3, thị xã");
        assert_eq!(
            pick("Xã Tận Phước, huyện Gò Công", "Xã Tân Phước, huyện Gò Công"),
            "Xã Tân Phước, huyện Gò Công"
        );
        // A listed word's own dot on the leader's row stays.
        assert_eq!(pick("Đặng Thị Lụa", "Đặng Thi Lụa"), "Đặng Thị Lụa");
        // Readings that do not pair word by word keep the first.
        assert_eq!(pick("Lê Thị Hoa", "Lê ThịHoa"), "Lê Thị Hoa");
    }
}
