//! What the synthetic pages hold: people, places and records drawn at random from
//! plausible lists, and the planted cases the book checks must find.

use super::*;

pub(super) const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
    "Lý",
];
pub(super) const MIDDLE_M: &[&str] = &["Văn", "Hữu", "Đức", "Minh", "Quốc", "Xuân", "Thành", "Công"];
pub(super) const MIDDLE_F: &[&str] = &["Thị", "Ngọc", "Thanh", "Thu", "Kim", "Diệu", "Mỹ"];
pub(super) const GIVEN_M: &[&str] = &[
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hùng",
    "Quang",
    "Sơn",
    "Tuấn",
    "Thượng",
    "Lượng",
    "Khoa",
    "Hiếu",
    "Đạt",
    "Phước",
    "Trọng",
];
pub(super) const GIVEN_F: &[&str] = &[
    "Hương", "Lan", "Mai", "Nga", "Phương", "Thảo", "Yến", "Ánh", "Hằng", "Nguyệt", "Ngữ", "Hợp", "Ước", "Duyên", "Lụa",
];
pub(super) const PLACES: &[&str] = &[
    "Xã Yên Sở, huyện Hoài Đức, Hà Tây",
    "Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
    "Xã Nghĩa Hưng, huyện Lạng Giang, Hà Bắc",
    "Thị trấn Đông Anh, Hà Nội",
    "Xã Quỳnh Lưu, Nghệ Tĩnh",
    "Bệnh viện huyện Thủy Nguyên, Hải Phòng",
    "Xã Tân Phước, huyện Gò Công, Tiền Giang",
    "Phường Vĩnh Ninh, Huế, Bình Trị Thiên",
    "Xã Ea Tu, Buôn Ma Thuột, Đắk Lắk",
    "Xã Mường Lò, Nghĩa Lộ, Hoàng Liên Sơn",
];
pub(super) const ETHNIC: &[(&str, u32)] = &[
    ("Kinh", 70),
    ("Tày", 6),
    ("Thái", 6),
    ("Mường", 6),
    ("Hoa", 4),
    ("Nùng", 4),
    ("Khơ-me", 2),
    ("Ê-đê", 2),
];
pub(super) const NOTES: &[&str] = &["", "", "", "", "Đăng ký lại", "Quá hạn", "Con thứ hai", ""];

/// The table's columns: field id, heading as printed.
pub const COLUMNS: &[(&str, &str)] = &[
    ("so", "Số"),
    ("nksHoTen", "Họ, chữ đệm, tên"),
    ("nksNgaySinh", "Ngày, tháng, năm sinh"),
    ("nksGioiTinh", "Giới tính"),
    ("nksDanToc", "Dân tộc"),
    ("nksQuocTich", "Quốc tịch"),
    ("nksNoiSinh", "Nơi sinh"),
    ("meHoTen", "Họ, chữ đệm, tên mẹ"),
    ("chaHoTen", "Họ, chữ đệm, tên cha"),
    ("ngayDangKy", "Ngày đăng ký"),
    ("ghiChu", "Ghi chú"),
];

pub(super) fn pick<'a, T>(rng: &mut SmallRng, v: &'a [T]) -> &'a T {
    &v[rng.gen_range(0..v.len())]
}

pub(super) fn person(rng: &mut SmallRng, female: bool, family: Option<&str>) -> String {
    let fam = family
        .map(|s| s.to_string())
        .unwrap_or_else(|| pick(rng, FAMILY).to_string());
    let (mid, given) = if female {
        (MIDDLE_F, GIVEN_F)
    } else {
        (MIDDLE_M, GIVEN_M)
    };
    format!("{fam} {} {}", pick(rng, mid), pick(rng, given))
}

/// A plausible birth record: field id → (printed text, export value).
pub(super) fn record(rng: &mut SmallRng, number: u32, year: u32, real_places: bool) -> BTreeMap<String, TruthField> {
    let female = rng.gen_bool(0.5);
    let father_family = pick(rng, FAMILY).to_string();
    let reg_month = rng.gen_range(1..=12u32);
    let reg_day = rng.gen_range(1..=28u32);
    // Born up to ~60 days before registration.
    let back = rng.gen_range(3..60u32);
    let (mut bd, mut bm, mut by) = (reg_day as i32 - back as i32, reg_month as i32, year as i32);
    while bd < 1 {
        bm -= 1;
        if bm < 1 {
            bm = 12;
            by -= 1;
        }
        bd += 28;
    }
    let eth = {
        let total: u32 = ETHNIC.iter().map(|e| e.1).sum();
        let mut r = rng.gen_range(0..total);
        ETHNIC
            .iter()
            .find(|e| {
                if r < e.1 {
                    true
                } else {
                    r -= e.1;
                    false
                }
            })
            .map(|e| e.0)
            .unwrap_or("Kinh")
    };
    let mut m = BTreeMap::new();
    let mut put = |k: &str, text: String, value: String| {
        m.insert(k.to_string(), TruthField { text, value });
    };
    put("so", format!("{number}"), format!("{number:02}/{year}"));
    put("nksHoTen", person(rng, female, Some(&father_family)), String::new());
    put(
        "nksNgaySinh",
        format!("{bd:02}/{bm:02}/{by}"),
        format!("{bd:02}.{bm:02}.{by}"),
    );
    put(
        "nksGioiTinh",
        if female { "Nữ" } else { "Nam" }.into(),
        if female { "2" } else { "1" }.into(),
    );
    put("nksDanToc", eth.into(), eth.into());
    put("nksQuocTich", "Việt Nam".into(), "Việt Nam".into());
    let place = if real_places && rng.gen_bool(0.8) {
        random_place(rng)
    } else {
        pick(rng, PLACES).to_string()
    };
    put("nksNoiSinh", place, String::new());
    put("meHoTen", person(rng, true, None), String::new());
    put("chaHoTen", person(rng, false, Some(&father_family)), String::new());
    put(
        "ngayDangKy",
        format!("{reg_day:02}/{reg_month:02}/{year}"),
        format!("{reg_day:02}.{reg_month:02}.{year}"),
    );
    put("ghiChu", pick(rng, NOTES).to_string(), String::new());
    for f in m.values_mut() {
        if f.value.is_empty() {
            f.value = f.text.clone();
        }
    }
    m
}

/// A plausible birth place: `Xã …, huyện …, <province>`, from a real ward of the gazetteer.
pub(super) fn random_place(rng: &mut SmallRng) -> String {
    let chains = crate::places::Gazetteer::builtin().ward_chains();
    let (w, d, p) = &chains[rng.gen_range(0..chains.len())];
    let (dt, dn) = crate::places::split_type(d);
    let (_, pn) = crate::places::split_type(p);
    format!("{w}, {} {dn}, {pn}", dt.to_lowercase())
}

/// Puts the planted problems into a page's records.
pub(super) fn plant(records: &mut Vec<BTreeMap<String, TruthField>>, plant: Plant, rows: usize) {
    if let Some((first, last)) = plant.months {
        for r in records.iter_mut() {
            let month: u32 = r["ngayDangKy"].value[3..5].parse().expect("a month");
            let to = first + (month - 1) * (last - first + 1) / 12;
            for id in ["ngayDangKy", "nksNgaySinh"] {
                let f = r.get_mut(id).expect("a date");
                let (d, m, y): (u32, u32, u32) = (
                    f.value[0..2].parse().expect("a day"),
                    f.value[3..5].parse().expect("a month"),
                    f.value[6..10].parse().expect("a year"),
                );
                // The same shift for both dates (days are at most 28: every month has them).
                let total = (y * 12 + m - 1 + to) - month;
                let (y, m) = (total / 12, total % 12 + 1);
                f.text = format!("{d:02}/{m:02}/{y}");
                f.value = format!("{d:02}.{m:02}.{y}");
            }
        }
        sort_by_registration(records);
    }
    if let Some(r) = plant.wrong_year_row.and_then(|k| records.get_mut(k)) {
        let f = r.get_mut("ngayDangKy").expect("a registration date");
        let year: u32 = f.value[6..10].parse().expect("a year");
        f.text = format!("{}{}", &f.text[..6], year - 1);
        f.value = format!("{}{}", &f.value[..6], year - 1);
    }
    if let Some(k) = plant
        .duplicate_row
        .filter(|&k| k < records.len() && records.len() < rows)
    {
        let copy = records[k].clone();
        records.insert(k + 1, copy);
    }
}

/// Registration dates must rise with the number: sort the page's records by date.
pub(super) fn sort_by_registration(recs: &mut [BTreeMap<String, TruthField>]) {
    let key = |r: &BTreeMap<String, TruthField>| {
        let v = &r["ngayDangKy"].value;
        (v[6..10].to_string(), v[3..5].to_string(), v[0..2].to_string())
    };
    let mut numbers: Vec<TruthField> = recs.iter().map(|r| r["so"].clone()).collect();
    recs.sort_by_key(key);
    for (r, n) in recs.iter_mut().zip(numbers.drain(..)) {
        r.insert("so".into(), n);
    }
}
