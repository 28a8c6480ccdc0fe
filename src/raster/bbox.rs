//! Axis-aligned boxes in page pixels.

use image::GrayImage;

/// An axis-aligned box in page pixels: `[x, y, width, height]`.
pub type BBox = [u32; 4];

/// The smallest box holding both.
pub fn union(a: BBox, b: BBox) -> BBox {
    let (x0, y0) = (a[0].min(b[0]), a[1].min(b[1]));
    let (x1, y1) = ((a[0] + a[2]).max(b[0] + b[2]), (a[1] + a[3]).max(b[1] + b[3]));
    [x0, y0, x1 - x0, y1 - y0]
}

/// A box cut to an image of size `(iw, ih)`.
pub fn clip(b: BBox, (iw, ih): (u32, u32)) -> BBox {
    let x = b[0].min(iw);
    let y = b[1].min(ih);
    [x, y, b[2].min(iw - x), b[3].min(ih - y)]
}

/// The box shrunk by `by` pixels on every side (to nothing, never past it).
pub fn inset(b: BBox, by: u32) -> BBox {
    [
        b[0] + by,
        b[1] + by,
        b[2].saturating_sub(2 * by),
        b[3].saturating_sub(2 * by),
    ]
}

/// Paints a box of an image (cut to the image) at grey `level`: 255 whitens it to paper,
/// 0 inks it.
pub fn paint(img: &mut GrayImage, [x, y, w, h]: BBox, level: u8) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, image::Luma([level]));
        }
    }
}

/// Fraction of ink in a box of the binary page (0..1).
pub fn ink_fraction(binary: &GrayImage, b: BBox) -> f32 {
    let [x, y, w, h] = b;
    if w == 0 || h == 0 {
        return 0.0;
    }
    let (x0, x1) = (
        (x as usize).min(binary.width() as usize),
        ((x + w).min(binary.width())) as usize,
    );
    let ink: usize = (y..(y + h).min(binary.height()))
        .map(|yy| {
            let row = yy as usize * binary.width() as usize;
            binary.as_raw()[row + x0..row + x1].iter().filter(|&&v| v == 0).count()
        })
        .sum();
    ink as f32 / (w * h) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_unite_clip_and_shrink() {
        assert_eq!(union([10, 10, 5, 5], [0, 12, 4, 10]), [0, 10, 15, 12]);
        assert_eq!(clip([90, 95, 20, 20], (100, 100)), [90, 95, 10, 5]);
        assert_eq!(clip([120, 0, 5, 5], (100, 100)), [100, 0, 0, 5]);
        assert_eq!(inset([10, 10, 20, 6], 4), [14, 14, 12, 0]);
    }

    #[test]
    fn ink_fraction_counts_ink_inside_the_box_only() {
        let mut img = GrayImage::from_pixel(10, 10, image::Luma([255]));
        for x in 0..5 {
            img.put_pixel(x, 0, image::Luma([0]));
        }
        assert_eq!(ink_fraction(&img, [0, 0, 10, 1]), 0.5);
        assert_eq!(ink_fraction(&img, [0, 1, 10, 9]), 0.0);
        assert_eq!(ink_fraction(&img, [0, 0, 0, 4]), 0.0);
        // Past the image's edge counts as paper.
        assert_eq!(ink_fraction(&img, [0, 0, 20, 1]), 0.25);
    }
}
