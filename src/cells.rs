//! Cells: crops of the restored page cut from a table's grid or a form's value boxes,
//! cleaned (leftover rules and a leader's dots erased) and read by the engine for their
//! field's kind. What the line model reads of a cell is its text lines ([`cell_lines`]).

use crate::form::leaders::leader_dots;
use crate::layout::Grid;
use crate::model::WordBox;
use crate::ocr::constrain::Lexicons;
use crate::ocr::field::{self, LineImage};
use crate::ocr::{mean_confidence, tesseract, OcrError, ReadMode, Readers, Recognizer};
use crate::raster::{ink_fraction, inset, longest_run, paint, BBox};
use crate::restore::RestoredPage;
use crate::template::FieldKind;
use image::GrayImage;

/// Which engines read the values in cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellReaders {
    /// For each kind of field the engine measured most accurate (docs/ACCURACY.md): the
    /// line model for every kind. Needs the line model installed.
    #[default]
    Best,
    /// Tesseract for every cell (no line model needed; far weaker on handwriting).
    Tesseract,
}

/// The engine that reads a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellEngine {
    /// Tesseract, in the mode [`tesseract::mode_for`] gives.
    Tesseract,
    /// The line model, decoding constrained by the field's kind.
    LineModel,
}

impl CellReaders {
    /// The engine for a cell holding a field of `kind` (`None`: a column the template
    /// does not know).
    pub fn engine(self, _kind: Option<FieldKind>) -> CellEngine {
        match self {
            CellReaders::Best => CellEngine::LineModel,
            CellReaders::Tesseract => CellEngine::Tesseract,
        }
    }

    /// True when the line model is needed.
    pub fn need_line_model(self) -> bool {
        self == CellReaders::Best
    }
}

/// A cell read with less confidence (Tesseract: mean word confidence; the line model: mean
/// character probability) holds marks, not writing.
pub(crate) const LEGIBLE: f32 = 0.3;

/// A cell with less ink than this (a fraction of its area) is empty.
const CELL_MIN_INK: f32 = 0.003;

/// A form's value box with less ink than this is empty: the box runs to the next label
/// or the writing's edge, and may hold a lone digit ("Số: 7").
const VALUE_MIN_INK: f32 = 0.0005;

/// The text lines of a cell of a restored page, ruling erased, cropped for the line
/// model (none for an empty cell): what the line model reads of the cell.
pub fn cell_lines(page: &RestoredPage, dpi: f32, cell: BBox) -> Vec<LineImage> {
    CellReader { page, dpi }.cell_lines(cell)
}

/// What was read in a cell.
#[derive(Clone, Debug)]
pub(crate) struct CellRead {
    /// The cell's box.
    pub(crate) bbox: BBox,
    /// The text (for the line model: constrained by the field's kind).
    pub(crate) text: String,
    /// The line model's free reading.
    pub(crate) free: Option<String>,
    /// 0..1.
    pub(crate) confidence: f32,
    /// Writing read with some confidence (not marks, a stain, a stray stroke).
    pub(crate) legible: bool,
    /// Who read it.
    pub(crate) engine: CellEngine,
    /// Words in page coordinates.
    pub(crate) words: Vec<WordBox>,
}

impl CellRead {
    /// A cell without writing.
    fn empty(bbox: BBox, engine: CellEngine) -> CellRead {
        CellRead {
            bbox,
            engine,
            text: String::new(),
            free: None,
            confidence: 1.0,
            legible: false,
            words: Vec::new(),
        }
    }
}

/// Crops cells from the restored page, cleans them and reads them.
pub(crate) struct CellReader<'a> {
    pub(crate) page: &'a RestoredPage,
    pub(crate) dpi: f32,
}

impl CellReader<'_> {
    /// The cells of `rows`, a field of `kinds[c]` in column `c`, each read by its engine.
    /// The line model reads every line of every such cell of the page in one go (lines
    /// of similar width batched).
    pub(crate) fn read_cells(
        &self,
        grid: &Grid,
        rows: &[usize],
        kinds: &[Option<FieldKind>],
        engines: CellReaders,
        lexicons: &Lexicons,
        ocr: &mut Readers,
    ) -> Result<Vec<Vec<CellRead>>, OcrError> {
        let mut out: Vec<Vec<CellRead>> = Vec::with_capacity(rows.len());
        // (row index, column, the cell's lines) for the line model.
        let mut pending: Vec<(usize, usize, Vec<LineImage>)> = Vec::new();
        for (ri, &r) in rows.iter().enumerate() {
            let mut row = Vec::with_capacity(kinds.len());
            for (c, &kind) in kinds.iter().enumerate() {
                let cell = grid.cell(r, c);
                let engine = engines.engine(kind);
                row.push(CellRead::empty(cell, engine));
                match engine {
                    CellEngine::Tesseract => {
                        let mode = tesseract::mode_for(kind.unwrap_or(FieldKind::Text));
                        row[c] = self.read_cell(cell, mode, ocr.tesseract.as_mut())?;
                    }
                    CellEngine::LineModel => {
                        let lines = self.cell_lines(cell);
                        if !lines.is_empty() {
                            pending.push((ri, c, lines));
                        }
                    }
                }
            }
            out.push(row);
        }
        if pending.is_empty() {
            return Ok(out);
        }
        let model = ocr
            .lines
            .as_mut()
            .ok_or_else(|| OcrError::Engine("the line model is to read cells but was not loaded".into()))?;
        let crops: Vec<&GrayImage> = pending.iter().flat_map(|(_, _, l)| l.iter().map(|l| &l.crop)).collect();
        let mut posts = model.read_lines(&crops)?.into_iter();
        drop(crops);
        let vocab = model.vocab().clone();
        for (ri, c, lines) in pending {
            let p: Vec<_> = posts.by_ref().take(lines.len()).collect();
            let r = field::decode(&lines, &p, kinds[c], &vocab, lexicons);
            let cell = &mut out[ri][c];
            cell.confidence = if r.text.is_empty() { 0.0 } else { r.confidence };
            cell.legible = !r.text.is_empty() && r.mean_char_prob >= LEGIBLE;
            cell.free = (r.free != r.text).then_some(r.free);
            cell.text = r.text;
            cell.words = r.words;
        }
        Ok(out)
    }

    /// Reads every cell of a row with Tesseract as a block: the texts and the words.
    pub(crate) fn read_row(
        &self,
        grid: &Grid,
        row: usize,
        ocr: &mut dyn Recognizer,
    ) -> Result<(Vec<String>, Vec<WordBox>), OcrError> {
        let mut texts = Vec::new();
        let mut words = Vec::new();
        for c in 0..grid.columns.len() {
            let cell = self.read_cell(grid.cell(row, c), ReadMode::Block, ocr)?;
            texts.push(cell.text);
            words.extend(cell.words);
        }
        Ok((texts, words))
    }

    /// The words of a box read as one line (a band over several columns), page
    /// coordinates.
    pub(crate) fn read_box(&self, b: BBox, ocr: &mut dyn Recognizer) -> Result<Vec<WordBox>, OcrError> {
        Ok(self.read_cell(b, ReadMode::Line, ocr)?.words)
    }

    /// The text lines of a cell, ruling erased, for the line model; none for an empty
    /// cell.
    pub(crate) fn cell_lines(&self, cell: BBox) -> Vec<LineImage> {
        self.lines_in(cell, CELL_MIN_INK, false, false)
    }

    /// The text lines of a form's value box (wide, and maybe holding a lone digit: less
    /// ink counts), each ending where the writing does — at the first gap wider than the
    /// line is high (a value is written as one run; specks further on are what is left of
    /// the dotted line, a stain, the page's edge).
    pub(crate) fn value_lines(&self, cell: BBox) -> Vec<LineImage> {
        self.lines_in(cell, VALUE_MIN_INK, true, false)
    }

    /// [`Self::value_lines`] with the leader's dots under the writing erased too (and
    /// with them any mark of the writing that lies on the leader's row and pitch).
    pub(crate) fn value_lines_off_leader(&self, cell: BBox) -> Vec<LineImage> {
        self.lines_in(cell, VALUE_MIN_INK, true, true)
    }

    /// The text lines of a box holding ink over `min_ink` of its area at least, ruling
    /// and dotted leaders erased; `one_run`: each line cut at its first wide gap.
    fn lines_in(&self, cell: BBox, min_ink: f32, one_run: bool, under_writing: bool) -> Vec<LineImage> {
        let b = inset(cell, self.pad());
        if b[2] < 6 || b[3] < 6 || ink_fraction(&self.page.binary, b) < min_ink {
            return Vec::new();
        }
        let (gray, binary) = self.clean_crops(b, under_writing);
        field::line_images(&gray, &binary, [0, 0, b[2], b[3]])
            .into_iter()
            .filter(|l| !self.is_leader(&binary, l.bbox))
            .filter_map(|l| {
                let [x, y, w, h] = l.bbox;
                let right = if one_run { first_run_end(&binary, l.bbox)? } else { w };
                Some(LineImage {
                    bbox: [b[0] + x, b[1] + y, right, h],
                    crop: if right == w {
                        l.crop
                    } else {
                        image::imageops::crop_imm(&gray, x, y, right, h).to_image()
                    },
                })
            })
            .collect()
    }

    /// Whether a line of a cleaned crop is nothing but a dotted leader: the dots under a
    /// value, which the leader's erasing keeps (writing lies just above them), read apart
    /// from the value they would turn into a line of junk.
    fn is_leader(&self, binary: &GrayImage, [x, y, w, h]: BBox) -> bool {
        let line = image::imageops::crop_imm(binary, x, y, w, h).to_image();
        let ink = line.pixels().filter(|p| p.0[0] == 0).count();
        let dots: u32 = leader_dots(&line, self.dpi, false)
            .iter()
            .map(|&d| (ink_fraction(&line, d) * (d[2] * d[3]) as f32).round() as u32)
            .sum();
        ink > 0 && dots as usize * 10 >= ink * 9
    }

    /// Margin left inside a cell's rules.
    fn pad(&self) -> u32 {
        ((self.dpi / 50.0) as u32).max(3)
    }

    /// Reads a cell with Tesseract: its text, confidence, and words in page coordinates.
    fn read_cell(&self, cell: BBox, mode: ReadMode, ocr: &mut dyn Recognizer) -> Result<CellRead, OcrError> {
        let b = inset(cell, self.pad());
        if b[2] < 6 || b[3] < 6 || ink_fraction(&self.page.binary, b) < 0.003 {
            return Ok(CellRead::empty(cell, CellEngine::Tesseract));
        }
        let crop = self.clean_crops(b, false).0;
        let words: Vec<WordBox> = tesseract::read_crop(crop, self.dpi, mode, ocr)?
            .into_iter()
            .map(|w| WordBox {
                bbox: [w.bbox[0] + b[0], w.bbox[1] + b[1], w.bbox[2], w.bbox[3]],
                ..w
            })
            .collect();
        let text = words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        let conf = mean_confidence(&words);
        Ok(CellRead {
            bbox: cell,
            engine: CellEngine::Tesseract,
            legible: !text.is_empty() && conf >= LEGIBLE,
            text,
            free: None,
            confidence: if words.is_empty() { 0.0 } else { conf },
            words,
        })
    }

    /// The grey and black-and-white crops with leftover ruling erased: rows (columns)
    /// holding one unbroken ink run across most of the crop (text never makes such runs,
    /// though bold or blurred text can cover most of a row in total), and the dots of a
    /// dotted leader line.
    fn clean_crops(&self, b: BBox, under_writing: bool) -> (GrayImage, GrayImage) {
        let [x, y, w, h] = b;
        let mut gray = image::imageops::crop_imm(&self.page.gray, x, y, w, h).to_image();
        let mut binary = image::imageops::crop_imm(&self.page.binary, x, y, w, h).to_image();
        // Rows and columns to erase, judged on the crop as it came.
        let (rows, cols) = leftover_rules(&binary);
        let wu = w as usize;
        for img in [&mut gray, &mut binary] {
            let px: &mut [u8] = img;
            for &yy in &rows {
                px[yy * wu..(yy + 1) * wu].fill(255);
            }
            for &xx in &cols {
                px[xx..].iter_mut().step_by(wu.max(1)).for_each(|p| *p = 255);
            }
        }
        // The dotted line a value is written on.
        for dot in leader_dots(&binary, self.dpi, under_writing) {
            paint(&mut gray, dot, 255);
            paint(&mut binary, dot, 255);
        }
        (gray, binary)
    }
}

/// The rows and columns of a cell's crop that hold what is left of its rules: one unbroken
/// ink run across most of it. A column's rule crosses the crop, or enters it from above or
/// below; a letter's stroke as tall as most of a low box (`ị`, its dots run into its stem
/// at a low resolution) stands clear of both edges.
fn leftover_rules(binary: &GrayImage) -> (Vec<usize>, Vec<usize>) {
    let (wu, hu) = (binary.width() as usize, binary.height() as usize);
    let raw = binary.as_raw();
    let rows = (0..hu)
        .filter(|&y| longest_run(raw[y * wu..(y + 1) * wu].iter().map(|&v| v == 0)).1 as f32 > wu as f32 * 0.6)
        .collect();
    let cols = (0..wu)
        .filter(|&x| {
            let (start, len) = longest_run(raw[x..].iter().step_by(wu.max(1)).map(|&v| v == 0));
            len as f32 > hu as f32 * 0.9 || len as f32 > hu as f32 * 0.6 && (start <= 1 || start + len + 1 >= hu)
        })
        .collect();
    (rows, cols)
}

/// Where the first run of writing in a line's box ends (width from the box's left, a
/// fifth of the height of margin kept): at the first gap wider than the line is high;
/// `None` without ink.
fn first_run_end(binary: &GrayImage, [x, y, w, h]: BBox) -> Option<u32> {
    let inked: Vec<bool> = (x..x + w)
        .map(|xx| (y..y + h).any(|yy| binary.get_pixel(xx, yy).0[0] == 0))
        .collect();
    let first = inked.iter().position(|&i| i)?;
    let (mut end, mut gap) = (first, 0u32);
    for (i, &ink) in inked.iter().enumerate().skip(first) {
        if ink {
            end = i + 1;
            gap = 0;
        } else {
            gap += 1;
            if gap > h {
                break;
            }
        }
    }
    Some((end as u32 + h / 5).min(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn leftover_rules_are_told_from_tall_strokes_of_a_low_box() {
        // A crop 30 px high: a rule's stub entering from the top (x = 5), a broken rule
        // across it (x = 40, a 2-px gap), a stroke of 20 px clear of both edges (`ị` at a
        // low resolution, x = 80), and the dashes of a rule across (y = 28).
        let mut crop = GrayImage::from_pixel(120, 30, Luma([255]));
        for y in 0..20 {
            crop.put_pixel(5, y, Luma([0]));
        }
        for y in (0..30).filter(|&y| y != 14 && y != 15) {
            crop.put_pixel(40, y, Luma([0]));
        }
        for y in 5..25 {
            crop.put_pixel(80, y, Luma([0]));
        }
        for x in (0..120).filter(|x| x % 20 != 0) {
            crop.put_pixel(x, 28, Luma([0]));
        }
        let (rows, cols) = leftover_rules(&crop);
        assert_eq!(rows, vec![28]);
        assert_eq!(cols, vec![5, 40]);
    }
}
