//! Connected components of a raster: the specks, letters, marks and regions the stages
//! look at one by one.
//!
//! One depth-first fill serves every caller; components come in the order of their
//! first pixel in raster order (row by row, left to right).

use super::BBox;

/// Which neighbours join two pixels into one component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// Left, right, up and down.
    Four,
    /// The four and the diagonals.
    Eight,
}

/// One connected component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Component {
    /// Its bounding box.
    pub bbox: BBox,
    /// Its pixels.
    pub area: u32,
}

/// Components with a label per pixel.
pub struct Labels {
    /// Per pixel, row by row: 0 outside every component, `k + 1` in component `k`.
    pub labels: Vec<u32>,
    /// The components, in the order of their labels.
    pub components: Vec<Component>,
}

/// The components of the pixels of a `width`×`height` raster where `fg(x, y)` holds.
pub fn components(width: u32, height: u32, conn: Connectivity, fg: impl Fn(u32, u32) -> bool) -> Vec<Component> {
    let mut seen = vec![false; width as usize * height as usize];
    fill(width, height, conn, fg, &mut seen)
}

/// [`components`] with each pixel's label.
pub fn label(width: u32, height: u32, conn: Connectivity, fg: impl Fn(u32, u32) -> bool) -> Labels {
    let mut labels = vec![0u32; width as usize * height as usize];
    let components = fill(width, height, conn, fg, &mut labels);
    Labels { labels, components }
}

/// Where a fill keeps the pixels it has reached.
trait Marks {
    fn marked(&self, i: usize) -> bool;
    /// Marks pixel `i` as part of the component numbered `k` (from 0).
    fn mark(&mut self, i: usize, k: u32);
}

impl Marks for Vec<bool> {
    fn marked(&self, i: usize) -> bool {
        self[i]
    }
    fn mark(&mut self, i: usize, _: u32) {
        self[i] = true;
    }
}

impl Marks for Vec<u32> {
    fn marked(&self, i: usize) -> bool {
        self[i] != 0
    }
    fn mark(&mut self, i: usize, k: u32) {
        self[i] = k + 1;
    }
}

fn fill(
    width: u32,
    height: u32,
    conn: Connectivity,
    fg: impl Fn(u32, u32) -> bool,
    marks: &mut impl Marks,
) -> Vec<Component> {
    const FOUR: [(i64, i64); 4] = [(-1, 0), (1, 0), (0, -1), (0, 1)];
    const EIGHT: [(i64, i64); 8] = [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)];
    let steps: &[(i64, i64)] = match conn {
        Connectivity::Four => &FOUR,
        Connectivity::Eight => &EIGHT,
    };
    let (w, h) = (width as i64, height as i64);
    let mut found = Vec::new();
    let mut stack = Vec::new();
    for y0 in 0..height {
        for x0 in 0..width {
            let start = (y0 as usize) * width as usize + x0 as usize;
            if marks.marked(start) || !fg(x0, y0) {
                continue;
            }
            let k = found.len() as u32;
            marks.mark(start, k);
            stack.push((x0, y0));
            let (mut x1, mut y1, mut x2, mut y2) = (x0, y0, x0, y0);
            let mut area = 0u32;
            while let Some((x, y)) = stack.pop() {
                (x1, y1, x2, y2) = (x1.min(x), y1.min(y), x2.max(x), y2.max(y));
                area += 1;
                for &(dx, dy) in steps {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w || ny >= h {
                        continue;
                    }
                    let (nx, ny) = (nx as u32, ny as u32);
                    let i = ny as usize * width as usize + nx as usize;
                    if !marks.marked(i) && fg(nx, ny) {
                        marks.mark(i, k);
                        stack.push((nx, ny));
                    }
                }
            }
            found.push(Component {
                bbox: [x1, y1, x2 - x1 + 1, y2 - y1 + 1],
                area,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#` is foreground.
    fn grid(rows: &[&str]) -> (u32, u32, Vec<bool>) {
        let w = rows[0].len() as u32;
        let px = rows.iter().flat_map(|r| r.bytes().map(|b| b == b'#')).collect();
        (w, rows.len() as u32, px)
    }

    #[test]
    fn diagonal_neighbours_join_only_with_eight_connectivity() {
        let (w, h, px) = grid(&["#..#", ".#..", "....", "##.#"]);
        let fg = |x: u32, y: u32| px[(y * w + x) as usize];
        let four = components(w, h, Connectivity::Four, fg);
        assert_eq!(four.len(), 5);
        let eight = components(w, h, Connectivity::Eight, fg);
        assert_eq!(
            eight,
            vec![
                Component {
                    bbox: [0, 0, 2, 2],
                    area: 2
                },
                Component {
                    bbox: [3, 0, 1, 1],
                    area: 1
                },
                Component {
                    bbox: [0, 3, 2, 1],
                    area: 2
                },
                Component {
                    bbox: [3, 3, 1, 1],
                    area: 1
                },
            ]
        );
    }

    #[test]
    fn labels_follow_the_order_of_first_pixels_and_cover_each_component() {
        let (w, h, px) = grid(&["..##", "#..#", "#..#", "####"]);
        let fg = |x: u32, y: u32| px[(y * w + x) as usize];
        let l = label(w, h, Connectivity::Four, fg);
        // The ring is one component, first met at (2, 0).
        assert_eq!(l.components.len(), 1);
        assert_eq!(l.components[0].bbox, [0, 0, 4, 4]);
        assert_eq!(l.components[0].area, 10);
        let marked = l.labels.iter().filter(|&&k| k == 1).count();
        assert_eq!(marked, 10);
        assert!(l.labels.iter().zip(&px).all(|(&k, &p)| (k == 1) == p));
    }

    #[test]
    fn an_empty_raster_has_no_components() {
        assert!(components(0, 0, Connectivity::Eight, |_, _| true).is_empty());
        assert!(components(5, 3, Connectivity::Four, |_, _| false).is_empty());
    }
}
