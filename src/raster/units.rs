//! Millimetres and pixels: sizes on paper are given in millimetres and turned into
//! pixels at the page's resolution.

/// Millimetres in an inch.
pub const MM_PER_INCH: f32 = 25.4;

/// `mm` millimetres in pixels at `dpi`.
pub fn mm_px(mm: f32, dpi: f32) -> f32 {
    dpi * mm / MM_PER_INCH
}

/// Pixels in a millimetre at `dpi`.
pub fn px_per_mm(dpi: f32) -> f32 {
    dpi / MM_PER_INCH
}

/// `px` pixels in millimetres at `dpi`.
pub fn px_mm(px: f32, dpi: f32) -> f32 {
    px / dpi * MM_PER_INCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inch_is_the_resolution_in_pixels() {
        assert_eq!(mm_px(25.4, 300.0), 300.0);
        assert_eq!(px_mm(300.0, 300.0), 25.4);
        assert!((px_per_mm(254.0) - 10.0).abs() < 1e-5);
        // A millimetre at 300 dpi is a little under 12 pixels.
        assert_eq!(mm_px(1.0, 300.0) as u32, 11);
    }
}
