//! A page's resolution when its file states none, from the height of its writing.
//!
//! Letters are measured on the black-and-white page: the taller letters (capitals,
//! ascenders; the 80th percentile of letter-sized specks) of registry writing, typed or
//! by hand, stand about [`TALL_LETTER_MM`] high. That alone is good to a quarter or so,
//! so the nearest common scanning resolution (150, 200, 300, 400, 600 dpi) is taken when
//! one lies within a fifth, and nothing when none does. (The paper's format is no help:
//! a scan's frame holds a border and the page turned by its skew, and A5, A4 and A3 share
//! one ratio.)

use crate::raster::{components, Connectivity};
use image::GrayImage;

/// Height of the tall letters of registry writing, millimetres.
pub const TALL_LETTER_MM: f32 = 2.5;

/// Resolutions scanners are set to.
const SCAN_DPI: &[f32] = &[150.0, 200.0, 300.0, 400.0, 600.0];

/// The resolution inferred for a page whose black-and-white image (ink 0, reduced by
/// `scale` from the file's pixels) is `binary`; `None`
/// when the page holds too little writing to tell, or its letters point to no common
/// resolution.
pub fn infer(binary: &GrayImage, scale: f32) -> Option<f32> {
    let tall = tall_letter_px(binary)? * scale;
    let by_letters = tall / TALL_LETTER_MM * crate::raster::MM_PER_INCH;
    let nearest = SCAN_DPI
        .iter()
        .copied()
        .min_by(|a, b| (a / by_letters).ln().abs().total_cmp(&(b / by_letters).ln().abs()))?;
    // Letters alone are good to a quarter: only a value near a common scanning resolution
    // is taken; anything else says too little (the caller assumes one).
    ((nearest / by_letters).ln().abs() < 0.2).then_some(nearest)
}

/// The height of the tall letters in pixels: the 80th percentile of the heights of
/// letter-sized specks (taller than wide by no more than 4:1, not long rules, not
/// blobs); `None` with fewer than 50 of them.
fn tall_letter_px(binary: &GrayImage) -> Option<f32> {
    let (w, h) = binary.dimensions();
    let raw = binary.as_raw();
    let limit = (h / 10).max(8);
    let ink = |x: u32, y: u32| raw[(y * w + x) as usize] == 0;
    let mut heights: Vec<u32> = components(w, h, Connectivity::Four, ink)
        .into_iter()
        .filter_map(|c| {
            let [_, _, bw, bh] = c.bbox;
            // Letters: not specks of noise, not rules or frames, not filled blobs.
            let letter = bh >= 5 && bh <= limit && bw <= 4 * bh && bh <= 4 * bw && c.area * 10 < bw * bh * 9;
            letter.then_some(bh)
        })
        .collect();
    if heights.len() < 50 {
        return None;
    }
    heights.sort_unstable();
    Some(heights[heights.len() * 4 / 5] as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_little_writing_tells_nothing() {
        let page = GrayImage::from_pixel(600, 800, image::Luma([255]));
        assert!(infer(&page, 1.0).is_none());
    }
}
