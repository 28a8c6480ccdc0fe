//! Form pages of 2006–2020: printed labels with values on dotted leaders or in boxes, and
//! tick boxes.

use super::*;

/// The faces a form is printed and filled in with.
pub(super) struct FormFonts<'a> {
    pub(super) regular: &'a FontRef<'a>,
    pub(super) bold: &'a FontRef<'a>,
    pub(super) italic: &'a FontRef<'a>,
    pub(super) script: Option<&'a FontRef<'a>>,
}

/// The face, size (pixels) and ink a form's values are written in: the handwriting face,
/// the slanted hand or the typed face by `hand`; `sizes` in points: the handwriting face's
/// x-height, the hand's and the typed face's size (`pt` pixels a point).
pub(super) fn value_face<'a>(hand: Hand, f: &FormFonts<'a>, pt: f32, sizes: [f32; 3]) -> (&'a FontRef<'a>, f32, u8) {
    match (hand, f.script) {
        (Hand::Script(_), Some(s)) => (s, script_px(s, sizes[0] * pt), 35u8),
        (Hand::Hand | Hand::Script(_), _) => (f.italic, sizes[1] * pt, 40u8),
        (Hand::Typed, _) => (f.regular, sizes[2] * pt, 10u8),
    }
}

/// A form page (books of 2006–2020): portrait A4, one record, each value written after
/// its printed label; sex, ethnicity and nationality share a line.
// Drawn top to bottom as the printed form runs, each line beside its truth: read better whole.
#[allow(clippy::too_many_lines)]
pub(super) fn render_form(
    spec: &PageSpec,
    style: FormStyle,
    f: &FormFonts,
    rng: &mut SmallRng,
) -> (GrayImage, Vec<BTreeMap<String, TruthField>>) {
    if spec.book == SynthBook::Kh {
        return typed::render_person_form(spec, f, rng);
    }
    let mm = px_per_mm(spec.dpi);
    let (w, h) = ((210.0 * mm) as u32, (297.0 * mm) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let pt = spec.dpi / 72.0;
    // Another type's form: its template's labels, one a line, and a record of the type.
    let typed_form = (spec.book != SynthBook::Ks)
        .then(|| crate::template::Template::for_book(spec.book.code(), crate::template::Layout::Form).ok())
        .flatten();
    let mut rec = match &typed_form {
        None => record(rng, spec.first_number, spec.year, spec.real_places),
        Some(_) => typed::form_record(spec.book, rng, spec.first_number, spec.year, spec.real_places),
    };
    // Books from 2016 on (Circular 15/2015) carry the child's personal ID: province code,
    // sex and century, the birth year's last two digits, six more digits.
    let with_id = spec.year >= 2016 && typed_form.is_none();
    if with_id {
        let born: u32 = rec["nksNgaySinh"].value[6..10].parse().unwrap_or(spec.year);
        let female = rec["nksGioiTinh"].value == "2";
        let id = format!(
            "{:03}{}{:02}{:06}",
            rng.gen_range(1..=96),
            2 * ((born - 1900) / 100) + u32::from(female),
            born % 100,
            rng.gen_range(0..1_000_000)
        );
        rec.insert(
            "nksSoDinhDanh".to_string(),
            TruthField {
                text: id.clone(),
                value: id,
            },
        );
    }
    let title = typed_form
        .as_ref()
        .map_or_else(|| "SỔ ĐĂNG KÝ KHAI SINH".to_string(), |t| t.titles[0].to_uppercase());
    let tpx = 15.0 * pt;
    let tw = text_width(f.bold, tpx, &title);
    draw_text(&mut img, f.bold, tpx, (w as f32 - tw) / 2.0, 20.0 * mm, &title, 0, None);
    let year = format!("Năm {}", spec.year);
    let ypx = 11.0 * pt;
    let yw = text_width(f.regular, ypx, &year);
    draw_text(
        &mut img,
        f.regular,
        ypx,
        (w as f32 - yw) / 2.0,
        27.0 * mm,
        &year,
        0,
        None,
    );
    let (vfont, vpx, ink) = value_face(spec.hand, f, pt, [5.5, 13.0, 12.0]);
    let lpx = 11.0 * pt;
    let (left, right) = (20.0 * mm, w as f32 - 18.0 * mm);
    let plain: &[&[(&str, &str)]] = &[
        &[("Số", "so")],
        &[("Số định danh cá nhân", "nksSoDinhDanh")],
        &[("Họ, chữ đệm, tên", "nksHoTen")],
        &[("Ngày, tháng, năm sinh", "nksNgaySinh")],
        &[
            ("Giới tính", "nksGioiTinh"),
            ("Dân tộc", "nksDanToc"),
            ("Quốc tịch", "nksQuocTich"),
        ],
        &[("Nơi sinh", "nksNoiSinh")],
        &[("Họ, chữ đệm, tên người mẹ", "meHoTen")],
        &[("Họ, chữ đệm, tên người cha", "chaHoTen")],
        &[("Ngày, tháng, năm đăng ký", "ngayDangKy")],
        &[("Ghi chú", "ghiChu")],
    ];
    let paired: &[&[(&str, &str)]] = &[
        &[("Số", "so"), ("Ngày, tháng, năm đăng ký", "ngayDangKy")],
        &[("Số định danh cá nhân", "nksSoDinhDanh")],
        &[("Họ, chữ đệm, tên", "nksHoTen")],
        &[("Ngày, tháng, năm sinh", "nksNgaySinh"), ("Giới tính", "nksGioiTinh")],
        &[("Dân tộc", "nksDanToc"), ("Quốc tịch", "nksQuocTich")],
        &[("Nơi sinh", "nksNoiSinh")],
        &[("Họ, chữ đệm, tên người mẹ", "meHoTen")],
        &[("Họ, chữ đệm, tên người cha", "chaHoTen")],
        &[("Ghi chú", "ghiChu")],
    ];
    let owned = |rows: &[&[(&str, &str)]]| -> Vec<Vec<(String, String)>> {
        match &typed_form {
            None => rows
                .iter()
                .map(|r| r.iter().map(|(l, id)| (l.to_string(), id.to_string())).collect())
                .collect(),
            Some(t) => t
                .columns
                .iter()
                .map(|c| vec![(c.headings[0].clone(), c.field.clone())])
                .collect(),
        }
    };
    let plain = owned(plain);
    let rows = if style.paired { owned(paired) } else { plain.clone() };
    // The same labels as other books word them.
    let other = |label: &str| -> String {
        if let Some(t) = &typed_form {
            let c = t.columns.iter().find(|c| c.headings[0] == label);
            return c
                .and_then(|c| c.headings.get(1))
                .map_or(label, |h| h.as_str())
                .to_string();
        }
        match label {
            "Số" => "Số đăng ký",
            "Số định danh cá nhân" => "Số định danh",
            "Họ, chữ đệm, tên" => "Họ và tên",
            "Ngày, tháng, năm sinh" => "Ngày sinh",
            "Họ, chữ đệm, tên người mẹ" => "Họ và tên mẹ",
            "Họ, chữ đệm, tên người cha" => "Họ và tên cha",
            "Ngày, tháng, năm đăng ký" => "Ngày đăng ký",
            l => l,
        }
        .to_string()
    };
    let lfont = if style.other_labels { f.bold } else { f.regular };
    let pitch = if style.other_labels { 11.0 } else { 14.0 };
    let dot = ((spec.dpi / 110.0).round() as u32).max(1);
    let mut y = 45.0 * mm;
    if style.boxed {
        let value_x = left + 68.0 * mm;
        let top = y - 7.0 * mm;
        let (mut row_top, mut rules) = (top, vec![top]);
        for (label, id) in plain.iter().flat_map(|r| r.iter()) {
            if id == "nksSoDinhDanh" && !with_id {
                continue;
            }
            let label = if style.other_labels {
                other(label)
            } else {
                label.to_string()
            };
            let base = row_top + 6.5 * mm;
            draw_text(&mut img, lfont, lpx, left + 2.0 * mm, base, &label, 0, None);
            let value = rec.get(id).map_or("", |v| v.text.as_str());
            let lines = wrap(vfont, vpx, value, right - value_x - 4.0 * mm);
            for (k, l) in lines.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
                let yy = base + k as f32 * 6.0 * mm;
                let jitter = spec.hand.is_hand().then_some(&mut *rng);
                draw_text(&mut img, vfont, vpx, value_x + 2.0 * mm, yy, l, ink, jitter);
            }
            row_top += 10.0 * mm + lines.len().saturating_sub(1) as f32 * 6.0 * mm;
            rules.push(row_top);
        }
        for r in rules {
            fill_rect(&mut img, left as u32, r as u32, right as u32 + dot, r as u32 + dot, 0);
        }
        for x in [left, value_x, right] {
            fill_rect(&mut img, x as u32, top as u32, x as u32 + dot, row_top as u32 + dot, 0);
        }
        y = row_top + 10.0 * mm;
    }
    for row in rows.iter().filter(|_| !style.boxed) {
        if row[0].1 == "nksSoDinhDanh" && !with_id {
            continue;
        }
        let slot = (right - left) / row.len() as f32;
        let mut extra_lines = 0;
        for (i, (label, id)) in row.iter().enumerate() {
            let x = left + i as f32 * slot;
            let label = if style.other_labels {
                format!("{}:", other(label))
            } else {
                format!("{label}:")
            };
            draw_text(&mut img, lfont, lpx, x, y, &label, 0, None);
            let vx = x + text_width(lfont, lpx, &label) + 3.0 * mm;
            if style.leaders {
                // A dotted line from the label to the end of its slot, under the value.
                let mut dx = vx - 1.5 * mm;
                while dx < x + slot - 3.0 * mm {
                    fill_rect(
                        &mut img,
                        dx as u32,
                        (y + 0.8 * mm) as u32,
                        dx as u32 + dot,
                        (y + 0.8 * mm) as u32 + dot,
                        0,
                    );
                    dx += 1.3 * mm;
                }
            }
            let value = rec.get(id).map_or("", |v| v.text.as_str());
            if value.is_empty() {
                continue;
            }
            // A long value goes on under its label, from the left margin.
            let first_width = (x + slot - vx).max(10.0 * mm);
            let lines = wrap(vfont, vpx, value, first_width);
            let (first, rest) = lines
                .split_first()
                .map(|(a, b)| (a.clone(), b.join(" ")))
                .unwrap_or_default();
            draw_text(
                &mut img,
                vfont,
                vpx,
                vx,
                y,
                &first,
                ink,
                spec.hand.is_hand().then_some(&mut *rng),
            );
            if !rest.is_empty() {
                let mut yy = y;
                for l in wrap(vfont, vpx, &rest, right - left) {
                    yy += (pitch - 5.0) * mm;
                    extra_lines += 1;
                    draw_text(
                        &mut img,
                        vfont,
                        vpx,
                        left,
                        yy,
                        &l,
                        ink,
                        spec.hand.is_hand().then_some(&mut *rng),
                    );
                }
            }
        }
        y += pitch * mm + extra_lines as f32 * (pitch - 5.0) * mm;
    }
    if with_id {
        let mut tick_rng = SmallRng::seed_from_u64(spec.seed ^ 0x71c6);
        let ticks = TickRow {
            font: lfont,
            px: lpx,
            line: ((spec.dpi / 110.0).round() as u32).max(1),
            other_labels: style.other_labels,
        };
        ticks.draw(&mut img, &mut rec, (left, right), y, &mut tick_rng);
    }
    (img, vec![rec])
}

/// The tick boxes of the 2016–2020 form books: on time, late, registered again (the
/// registration type, `loaiDangKy`), and an abandoned child (`nksLoaiKhaiSinh` 5).
pub(super) struct TickRow<'a> {
    font: &'a FontRef<'a>,
    px: f32,
    /// The boxes' line width, pixels.
    line: u32,
    other_labels: bool,
}

impl TickRow<'_> {
    /// Draws the row at baseline `y` across `span`, one box ticked by hand for the
    /// registration type (the note's when it names one), another now and then for an
    /// abandoned child; the ticked ones go into the truth.
    fn draw(
        &self,
        img: &mut GrayImage,
        rec: &mut BTreeMap<String, TruthField>,
        span: (f32, f32),
        y: f32,
        rng: &mut SmallRng,
    ) {
        let boxes: [(&str, &str, &str); 4] = [
            ("Đúng hạn", "Đăng ký đúng hạn", "1"),
            ("Quá hạn", "Đăng ký quá hạn", "4"),
            ("Đăng ký lại", "Đăng ký lại", "2"),
            ("Trẻ bị bỏ rơi", "Trẻ em bị bỏ rơi", "5"),
        ];
        let kind = match rec["ghiChu"].value.as_str() {
            "Quá hạn" => 1,
            "Đăng ký lại" => 2,
            _ if rng.gen_bool(0.1) => 1,
            _ => 0,
        };
        let abandoned = rng.gen_bool(0.08);
        let slot = (span.1 - span.0) / boxes.len() as f32;
        let side = 0.75 * self.px;
        for (i, (short, long, code)) in boxes.iter().enumerate() {
            let label = if self.other_labels { long } else { short };
            let x = span.0 + i as f32 * slot;
            let bx = x + text_width(self.font, self.px, label) + 0.25 * self.px;
            draw_text(img, self.font, self.px, x, y, label, 0, None);
            let (x0, y0, s, t) = (bx as u32, (y - side) as u32, side as u32, self.line);
            fill_rect(img, x0, y0, x0 + s, y0 + t, 0);
            fill_rect(img, x0, y0 + s - t, x0 + s, y0 + s, 0);
            fill_rect(img, x0, y0, x0 + t, y0 + s, 0);
            fill_rect(img, x0 + s - t, y0, x0 + s, y0 + s, 0);
            let ticked = if i < 3 { i == kind } else { abandoned };
            if !ticked {
                continue;
            }
            // A tick or a cross in a pen, a little past the box now and then.
            let w = (self.line as f32 * 1.6).max(1.5);
            let j = |rng: &mut SmallRng| rng.gen_range(-0.08..0.08) * side;
            let (bx, by) = (x0 as f32, y0 as f32);
            if rng.gen_bool(0.7) {
                let a = (bx + 0.15 * side + j(rng), by + 0.5 * side + j(rng));
                let b = (bx + 0.42 * side + j(rng), by + 0.85 * side + j(rng));
                let c = (bx + 1.05 * side + j(rng), by - 0.15 * side + j(rng));
                stroke(img, a, b, w, 40);
                stroke(img, b, c, w, 40);
            } else {
                let (lo, hi) = (0.12 * side, 0.88 * side);
                stroke(img, (bx + lo + j(rng), by + lo), (bx + hi + j(rng), by + hi), w, 40);
                stroke(img, (bx + hi + j(rng), by + lo), (bx + lo + j(rng), by + hi), w, 40);
            }
            let field = if i < 3 { "loaiDangKy" } else { "nksLoaiKhaiSinh" };
            rec.insert(
                field.to_string(),
                TruthField {
                    text: short.to_string(),
                    value: code.to_string(),
                },
            );
        }
    }
}
