//! Builds `models/gazetteer.tsv` from the administrative-unit lists (../shared/data/admin-units):
//! `cargo run --example gazetteer -- ../shared/data/admin-units > models/gazetteer.tsv`
//!
//! Lines: `p<TAB>province`, `d<TAB>province index<TAB>district`, `w<TAB>district index<TAB>ward`,
//! names with their type (`Tỉnh Hà Giang`, `Huyện Đồng Văn`, `Xã Lũng Cú`). Provinces are
//! the 63 before the 2025 reform, the 34 after it, and the provinces of 1976–2008 that old
//! books name (`h` lines, no districts). The 2025 wards hang under a pseudo-district `-`
//! of their province.

use std::collections::BTreeMap;
use std::path::Path;

/// Provinces of 1976–2008 that no longer exist, as registers of those years write them.
const HISTORICAL: &[&str] = &[
    "Tỉnh Hà Sơn Bình",
    "Tỉnh Hà Tây",
    "Tỉnh Hà Nam Ninh",
    "Tỉnh Nam Hà",
    "Tỉnh Hà Bắc",
    "Tỉnh Hải Hưng",
    "Tỉnh Vĩnh Phú",
    "Tỉnh Hoàng Liên Sơn",
    "Tỉnh Hà Tuyên",
    "Tỉnh Bắc Thái",
    "Tỉnh Cao Lạng",
    "Tỉnh Nghệ Tĩnh",
    "Tỉnh Bình Trị Thiên",
    "Tỉnh Quảng Nam – Đà Nẵng",
    "Tỉnh Nghĩa Bình",
    "Tỉnh Phú Khánh",
    "Tỉnh Thuận Hải",
    "Tỉnh Gia Lai – Kon Tum",
    "Tỉnh Sông Bé",
    "Tỉnh Đồng Nai",
    "Tỉnh Cửu Long",
    "Tỉnh Hậu Giang",
    "Tỉnh Minh Hải",
    "Tỉnh Tiền Giang",
];

fn rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
        .collect()
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: gazetteer ADMIN_UNITS_DIR");
    let dir = Path::new(&dir);
    let mut provinces: Vec<String> = Vec::new();
    let mut districts: Vec<(usize, String)> = Vec::new();
    let mut wards: Vec<(usize, String)> = Vec::new();
    let mut p_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut d_index: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut province = |name: &str, provinces: &mut Vec<String>| -> usize {
        *p_index.entry(name.to_string()).or_insert_with(|| {
            provinces.push(name.to_string());
            provinces.len() - 1
        })
    };
    let mut district = |p: usize, name: &str, districts: &mut Vec<(usize, String)>| -> usize {
        *d_index.entry((p, name.to_string())).or_insert_with(|| {
            districts.push((p, name.to_string()));
            districts.len() - 1
        })
    };
    // Before the reform: Mã,Tên,Tên Tiếng Anh,Cấp,Mã QH,Quận Huyện,Mã TP,Tỉnh / Thành Phố
    for r in rows(&dir.join("danhmuchanhchinh.gso.gov.vn_ward_2025-07-18.csv")) {
        let p = province(&r[7], &mut provinces);
        let d = district(p, &r[5], &mut districts);
        wards.push((d, r[1].clone()));
    }
    // After it: province,ward,provinceShort,wardShort,wardType,…
    for r in rows(&dir.join("2025_34-province-3221-ward_with_location.csv")) {
        let p = province(&r[0], &mut provinces);
        let d = district(p, "-", &mut districts);
        wards.push((d, r[1].clone()));
    }
    wards.sort();
    wards.dedup();
    let mut out = String::new();
    for p in &provinces {
        out.push_str(&format!("p\t{p}\n"));
    }
    for h in HISTORICAL {
        if !p_index.contains_key(*h) {
            out.push_str(&format!("h\t{h}\n"));
        }
    }
    for (p, d) in &districts {
        out.push_str(&format!("d\t{p}\t{d}\n"));
    }
    for (d, w) in &wards {
        out.push_str(&format!("w\t{d}\t{w}\n"));
    }
    print!("{out}");
}
