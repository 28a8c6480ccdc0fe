//! Raster primitives every stage shares: boxes ([`BBox`]), millimetres and pixels
//! ([`units`]), connected components ([`components`]) and the morphology of
//! black-and-white pages ([`morphology`]).
//!
//! Pure functions over images and plain numbers; stages import these, never each other's
//! helpers. Black-and-white pages hold ink as 0 and paper as 255.

pub mod bbox;
pub mod components;
pub mod morphology;
pub mod units;

pub use bbox::{clip, ink_fraction, inset, paint, union, BBox};
pub use components::{components, label, Component, Connectivity, Labels};
pub use morphology::{longest_run, smear, smear_row, spans_where, without_specks};
pub use units::{mm_px, px_mm, px_per_mm, MM_PER_INCH};
