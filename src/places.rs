//! Place names: a gazetteer of Vietnam's administrative units and the correction of
//! misread names against it.
//!
//! `models/gazetteer.tsv` (built by `examples/gazetteer.rs` from the GSO lists of
//! 2025-07-18 and the 2025 34-province list) holds the 63 provinces before the 2025
//! reform (the 34 after it keep names among them), the provinces of 1976–2008 that old
//! books name, 691 districts and every commune, ward and township of both eras.
//!
//! A birth place is written as parts separated by commas (`Xã Yên Sở, huyện Hoài Đức, Hà
//! Tây`). Each part's type word (`xã`, `huyện`, `tỉnh` …) says which list to look in; a
//! name that is not in it but lies within one or two letters of exactly one name that
//! is, is taken as a misreading of that name (`snapped`). Names are kept in the era they
//! were written in: a historical province is a valid name, never replaced by today's.

use crate::model::Flag;
use std::collections::HashMap;
use std::sync::OnceLock;

const GAZETTEER: &str = include_str!("../models/gazetteer.tsv");

/// Administrative level of a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Level {
    Province,
    District,
    Ward,
}

/// The names of every level, without their type word, lower-cased → as written.
pub struct Gazetteer {
    names: HashMap<Level, Vec<(Vec<char>, String)>>,
    /// (ward, district, province) as written, for wards under a real district.
    chains: Vec<(String, String, String)>,
    /// District name (bare, lower-cased) → its wards (bare, as written).
    wards_of: HashMap<String, Vec<(Vec<char>, String)>>,
    /// Province name (bare, lower-cased) → its districts (bare, as written).
    districts_of: HashMap<String, Vec<String>>,
}

/// Type words that start a part, longest first, and the levels they name.
const TYPES: &[(&str, &[Level])] = &[
    ("thị trấn", &[Level::Ward]),
    ("thị xã", &[Level::District]),
    ("thành phố", &[Level::District, Level::Province]),
    ("phường", &[Level::Ward]),
    ("huyện", &[Level::District]),
    ("quận", &[Level::District]),
    ("tỉnh", &[Level::Province]),
    ("tp.", &[Level::District, Level::Province]),
    ("tp", &[Level::District, Level::Province]),
    ("xã", &[Level::Ward]),
];

impl Gazetteer {
    /// The built-in gazetteer (parsed once).
    pub fn builtin() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer::parse(GAZETTEER))
    }

    fn parse(text: &str) -> Gazetteer {
        let mut provinces: Vec<String> = Vec::new();
        let mut districts: Vec<(usize, String)> = Vec::new();
        let mut names: HashMap<Level, HashMap<String, String>> = HashMap::new();
        let mut chains = Vec::new();
        let mut add = |level: Level, full: &str| {
            let (_, bare) = split_type(full);
            names
                .entry(level)
                .or_default()
                .insert(bare.to_lowercase(), bare.to_string());
        };
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["p", name] => {
                    provinces.push(name.to_string());
                    add(Level::Province, name);
                }
                ["h", name] => add(Level::Province, name),
                ["d", p, name] => {
                    districts.push((p.parse().unwrap_or(0), name.to_string()));
                    if *name != "-" {
                        add(Level::District, name);
                    }
                }
                ["w", d, name] => {
                    add(Level::Ward, name);
                    if let Some((p, district)) = d.parse::<usize>().ok().and_then(|d| districts.get(d)) {
                        if district != "-" {
                            chains.push((
                                name.to_string(),
                                district.to_string(),
                                provinces.get(*p).cloned().unwrap_or_default(),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut wards_of: HashMap<String, Vec<(Vec<char>, String)>> = HashMap::new();
        let mut districts_of: HashMap<String, Vec<String>> = HashMap::new();
        for (_, d, p) in &chains {
            let (_, db) = split_type(d);
            let list = districts_of.entry(split_type(p).1.to_lowercase()).or_default();
            if !list.iter().any(|x| x == db) {
                list.push(db.to_string());
            }
        }
        for (w, d, _) in &chains {
            let (_, wb) = split_type(w);
            let (_, db) = split_type(d);
            wards_of
                .entry(db.to_lowercase())
                .or_default()
                .push((wb.to_lowercase().chars().collect(), wb.to_string()));
        }
        Gazetteer {
            wards_of,
            districts_of,
            names: names
                .into_iter()
                .map(|(l, m)| (l, m.into_iter().map(|(k, v)| (k.chars().collect(), v)).collect()))
                .collect(),
            chains,
        }
    }

    /// The listed name closest to `bare` among `levels` (wards of `district` only, when
    /// given and known): `(name, distance)` when one name is strictly closest.
    fn closest(&self, bare: &str, levels: &[Level], district: Option<&str>) -> Option<(&str, usize)> {
        let key: Vec<char> = bare.to_lowercase().chars().collect();
        let within = district.and_then(|d| self.wards_of.get(&d.to_lowercase()));
        let pools: Vec<&[(Vec<char>, String)]> = match within {
            Some(w) if levels == [Level::Ward] => vec![w.as_slice()],
            _ => levels
                .iter()
                .map(|l| self.names.get(l).map(Vec::as_slice).unwrap_or(&[]))
                .collect(),
        };
        let mut best: Option<(&str, usize)> = None;
        let mut tie = false;
        for (name, written) in pools.into_iter().flatten() {
            if name.len().abs_diff(key.len()) > 2 {
                continue;
            }
            let d = crate::template::edit_distance(&key, name);
            match best {
                Some((b, bd)) if d == bd && b != written.as_str() => tie = true,
                Some((_, bd)) if d >= bd => {}
                _ => {
                    best = Some((written.as_str(), d));
                    tie = false;
                }
            }
        }
        if tie {
            None
        } else {
            best
        }
    }

    /// Every province's name, bare (`Hà Tây`), of every era.
    pub fn provinces(&self) -> impl Iterator<Item = &str> {
        self.names[&Level::Province].iter().map(|(_, w)| w.as_str())
    }

    /// The districts of a province (bare names; none for an unknown province).
    pub fn districts_in(&self, province: &str) -> &[String] {
        self.districts_of
            .get(&province.to_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The wards of a district (bare names; none for an unknown district).
    pub fn wards_in(&self, district: &str) -> impl Iterator<Item = &str> {
        self.wards_of
            .get(&district.to_lowercase())
            .into_iter()
            .flatten()
            .map(|(_, w)| w.as_str())
    }

    /// Every ward under a real district: (ward, district, province), as written with
    /// their type words.
    pub fn ward_chains(&self) -> &[(String, String, String)] {
        &self.chains
    }
}

/// A name's type word and the rest: `("Huyện", "Hoài Đức")`; `("", name)` without one.
pub fn split_type(full: &str) -> (&str, &str) {
    let lower = full.to_lowercase();
    for (t, _) in TYPES {
        // Vietnamese letters keep their UTF-8 length when lower-cased.
        let cut = t.len();
        if !lower.starts_with(t) || !full.is_char_boundary(cut) {
            continue;
        }
        let rest = &full[cut..];
        if t.ends_with('.') || rest.starts_with([' ', '.']) {
            let rest = rest.trim_start_matches(['.', ' ']);
            if !rest.is_empty() {
                return (&full[..cut], rest);
            }
        }
    }
    ("", full)
}

/// True when `part` is a unit's type alone (`Phường`, `huyện`, `TP.`).
fn is_type_word(part: &str) -> bool {
    let lower = part.to_lowercase();
    TYPES.iter().any(|(t, _)| lower == *t)
}

/// Corrects misread names in a place written as comma-separated parts. Returns the
/// corrected place; pushes `snapped` when a name was changed.
pub fn correct_place(text: &str, flags: &mut Vec<Flag>) -> String {
    let g = Gazetteer::builtin();
    let mut parts: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim) {
        // A unit's type stands before its name, never alone: a comma after it
        // (`Phường, Bến Nghé`) is a speck read as one.
        match parts.last_mut() {
            Some(prev) if is_type_word(prev) => {
                prev.push(' ');
                prev.push_str(part);
            }
            _ => parts.push(part.to_string()),
        }
    }
    let last = parts.len().saturating_sub(1);
    let mut changed = false;
    // Districts and provinces first: a known district then narrows its wards.
    let mut district: Option<String> = None;
    for pass in [false, true] {
        for (i, part) in parts.iter_mut().enumerate() {
            let (t, bare) = split_type(part);
            let t_lower = t.to_lowercase();
            let levels: &[Level] = match TYPES.iter().find(|(w, _)| !t.is_empty() && t_lower == *w) {
                Some((_, l)) => l,
                // A bare name: the province or a city at the end, anything before it.
                None if i == last && i > 0 => &[Level::Province, Level::District],
                None => continue,
            };
            if (levels == [Level::Ward]) != pass {
                continue;
            }
            let n = bare.chars().count();
            if n < 3 || bare.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            let allowed = if n >= 7 { 2 } else { 1 };
            let (t, bare) = (t.to_string(), bare.to_string());
            let found = g.closest(&bare, levels, district.as_deref());
            let name = match found {
                Some((name, d)) if d <= allowed => name.to_string(),
                _ => bare.clone(),
            };
            if levels.contains(&Level::District) && found.is_some_and(|(_, d)| d <= allowed) {
                district.get_or_insert_with(|| name.clone());
            }
            if name != bare {
                changed = true;
                *part = if t.is_empty() { name } else { format!("{t} {name}") };
            }
        }
    }
    if changed {
        flags.push(Flag::Snapped);
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misread_names_snap_and_historical_ones_stay() {
        let mut flags = Vec::new();
        // Tone marks misread on a commune and a district.
        let got = correct_place("Xã Yên Sơ, huyện Hoài Đưc, Hà Tây", &mut flags);
        assert_eq!(got, "Xã Yên Sở, huyện Hoài Đức, Hà Tây");
        assert_eq!(flags, [Flag::Snapped]);
        // A comma read after a unit's type.
        let mut flags = Vec::new();
        let got = correct_place("Phường, Bến Nghé, Quận 1, TP Hồ Chí Minh", &mut flags);
        assert_eq!(got, "Phường Bến Nghé, Quận 1, TP Hồ Chí Minh");
        // Correct names, historical provinces, hospitals and street numbers are kept.
        for place in [
            "Xã Quỳnh Lưu, Nghệ Tĩnh",
            "Phường Vĩnh Ninh, Huế, Bình Trị Thiên",
            "Bệnh viện huyện Thủy Nguyên, Hải Phòng",
            "Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
            "Xã Mường Lò, Nghĩa Lộ, Hoàng Liên Sơn",
        ] {
            let mut flags = Vec::new();
            assert_eq!(correct_place(place, &mut flags), place);
            assert!(flags.is_empty(), "{place}: {flags:?}");
        }
    }

    #[test]
    fn the_gazetteer_knows_every_era() {
        let g = Gazetteer::builtin();
        assert_eq!(g.names[&Level::Province].len(), 63 + 21);
        assert!(g.names[&Level::District].len() > 600);
        assert!(g.names[&Level::Ward].len() > 7000);
        let (ward, district, province) = &g.ward_chains()[0];
        assert!(!split_type(ward).0.is_empty(), "{ward}");
        assert!(!split_type(district).0.is_empty(), "{district}");
        assert!(!province.is_empty());
    }
}
