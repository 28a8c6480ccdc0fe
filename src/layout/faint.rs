//! Faint and pencil rules that binarization drops: marks on the grey page, and those
//! marks without the solid regions (stains, a page's dark surround) around them.

use crate::raster::mm_px;
use image::GrayImage;

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
    let r = (mm_px(SOLID_WINDOW_MM, dpi) as usize / 2).max(1);
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
pub(super) const SOLID_WINDOW_MM: f32 = 5.0;
/// ...when this share of the window is marked: rules across it cover a tenth or less,
/// writing a third; a stain or the dark surround of a page all of it.
pub(super) const SOLID_SHARE: f32 = 0.6;
