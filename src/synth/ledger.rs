//! Ledger pages: a register's ruled (or unruled) table filled with records, and an open
//! book's two pages side by side.

use super::*;

/// Renders one page and its truth.
// Drawn as a register is ruled and filled, each record beside its truth: read better whole.
#[allow(clippy::too_many_lines)]
pub fn render_page(spec: &PageSpec) -> Result<(GrayImage, TruthPage), SynthError> {
    let [regular, bold, italic] = Fonts::parsed()?;
    let script_bytes = script_bytes(spec.hand)?;
    let script = script_face(spec.hand, &script_bytes)?;
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    if spec.spread && spec.form.is_none() {
        return render_spread(spec, &mut rng);
    }
    if spec.book != SynthBook::Ks && spec.form.is_none() {
        return typed::render_typed(spec);
    }
    if let Some(style) = spec.form {
        let fonts = FormFonts {
            regular: &regular,
            bold: &bold,
            italic: &italic,
            script: script.as_ref(),
        };
        let (img, records) = render_form(spec, style, &fonts, &mut rng);
        return Ok(finish(img, records, spec, &mut rng));
    }
    let mm = px_per_mm(spec.dpi);
    let (w, h) = ((297.0 * mm) as u32, (210.0 * mm) as u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let pt = spec.dpi / 72.0;
    let line_w = ((spec.dpi / 100.0).round() as u32).max(1);

    // Title.
    let title = format!("SỔ ĐĂNG KÝ KHAI SINH — NĂM {}", spec.year);
    let tpx = 14.0 * pt;
    let tw = text_width(&bold, tpx, &title);
    draw_text(&mut img, &bold, tpx, (w as f32 - tw) / 2.0, 16.0 * mm, &title, 0, None);

    // Table geometry.
    let (left, right) = (10.0 * mm, w as f32 - 10.0 * mm);
    let top = 22.0 * mm;
    let header_h = 13.0 * mm;
    let body_rows = 10u32;
    let row_h = ((h as f32 - 8.0 * mm) - (top + header_h)) / body_rows as f32;
    let widths: Vec<f32> = {
        let t = crate::template::Template::for_book_type("ks").expect("built-in template");
        let j = spec.column_jitter;
        let drawn: Vec<f32> = t
            .widths()
            .into_iter()
            .map(|f| {
                if j > 0.0 {
                    f * rng.gen_range(1.0 - j..1.0 + j)
                } else {
                    f
                }
            })
            .collect();
        let total: f32 = drawn.iter().sum();
        drawn.into_iter().map(|f| f / total).collect()
    };
    let mut xs = vec![left];
    for f in &widths {
        xs.push(xs.last().copied().unwrap_or(left) + f * (right - left));
    }
    let mut ys = vec![top, top + header_h];
    for i in 1..=body_rows {
        ys.push(top + header_h + i as f32 * row_h);
    }
    let rules = spec.damage.rules;
    let bottom = *ys.last().unwrap_or(&top);
    for (i, &y) in ys.iter().enumerate() {
        if rules == Rules::Unruled || rules == Rules::NoRowRules && i >= 2 && i + 1 < ys.len() {
            continue;
        }
        draw_rule(
            &mut img,
            &mut rng,
            rules,
            true,
            y,
            left,
            right + line_w as f32,
            line_w,
            mm,
        );
    }
    for (i, &x) in xs.iter().enumerate() {
        if rules == Rules::Unruled || rules == Rules::NoColumnRules && i > 0 && i + 1 < xs.len() {
            continue;
        }
        draw_rule(
            &mut img,
            &mut rng,
            rules,
            false,
            x,
            top,
            bottom + line_w as f32,
            line_w,
            mm,
        );
    }
    // Headings, wrapped and centred.
    let hpx = 7.5 * pt;
    for (c, (_, heading)) in COLUMNS.iter().enumerate() {
        let cw = xs[c + 1] - xs[c] - 4.0 * pt;
        let lines = wrap(&bold, hpx, heading, cw);
        let total = lines.len() as f32 * hpx * 1.15;
        let mut y = top + (header_h - total) / 2.0 + hpx * 0.95;
        for l in &lines {
            let lw = text_width(&bold, hpx, l);
            draw_text(
                &mut img,
                &bold,
                hpx,
                xs[c] + (xs[c + 1] - xs[c] - lw) / 2.0,
                y,
                l,
                0,
                None,
            );
            y += hpx * 1.15;
        }
    }
    // Records.
    let mut records: Vec<BTreeMap<String, TruthField>> = (0..spec.records.min(body_rows))
        .map(|i| record(&mut rng, spec.first_number + i, spec.year, spec.real_places))
        .collect();
    sort_by_registration(&mut records);
    plant(&mut records, spec.plant, body_rows as usize);
    let (font, vpx, ink) = match (spec.hand, &script) {
        (Hand::Script(_), Some(f)) => (f, script_px(f, 4.0 * pt), 35u8),
        (Hand::Hand | Hand::Script(_), _) => (&italic, 9.0 * pt, 40u8),
        (Hand::Typed, _) => (&regular, 8.0 * pt, 10u8),
    };
    for (r, rec) in records.iter().enumerate() {
        let row_top = ys[r + 1];
        for (c, (id, _)) in COLUMNS.iter().enumerate() {
            let text = &rec[*id].text;
            if text.is_empty() {
                continue;
            }
            let cw = xs[c + 1] - xs[c] - 6.0 * pt;
            let lines = wrap(font, vpx, text, cw);
            let lh = vpx * 1.25;
            let total = lines.len() as f32 * lh;
            let mut y = row_top + (row_h - total) / 2.0 + vpx * 0.95;
            for l in &lines {
                let jit = if spec.hand.is_hand() { Some(&mut rng) } else { None };
                draw_text(&mut img, font, vpx, xs[c] + 3.0 * pt, y, l, ink, jit);
                y += lh;
            }
        }
    }
    // What a tear from the right edge takes away is not expected back.
    if spec.damage.torn > 0.0 {
        let torn_from = w as f32 * (1.0 - spec.damage.torn - 0.05);
        for (c, (id, _)) in COLUMNS.iter().enumerate() {
            if xs[c + 1] > torn_from {
                for rec in records.iter_mut() {
                    if let Some(f) = rec.get_mut(*id) {
                        f.value.clear();
                    }
                }
            }
        }
    }
    Ok(finish(img, records, spec, &mut rng))
}

/// Ages a clean page and writes its truth.
/// An open book's two ledger pages side by side (see [`PageSpec::spread`]), drawn clean,
/// the binding's shadow darkening the paper over 10 mm either side of the fold, then
/// damaged as one.
pub(super) fn render_spread(spec: &PageSpec, rng: &mut SmallRng) -> Result<(GrayImage, TruthPage), SynthError> {
    let half = |first_number, seed| PageSpec {
        spread: false,
        first_number,
        seed,
        damage: Damage {
            rules: spec.damage.rules,
            ..Damage::none()
        },
        ..spec.clone()
    };
    let (left, l) = render_page(&half(spec.first_number, spec.seed ^ 0x1ef7))?;
    let (right, r) = render_page(&half(spec.first_number + l.records.len() as u32, spec.seed ^ 0x5164))?;
    let (w, h) = left.dimensions();
    let fold = mm_px(10.0, spec.dpi) as i64;
    let img = GrayImage::from_fn(2 * w, h, |x, y| {
        let v = if x < w {
            left.get_pixel(x, y)
        } else {
            right.get_pixel(x - w, y)
        }
        .0[0];
        let d = (x as i64 - w as i64).abs();
        let shade = if d < fold {
            1.0 - 0.4 * (1.0 - d as f32 / fold as f32).powi(2)
        } else {
            1.0
        };
        Luma([(v as f32 * shade) as u8])
    });
    let records = l.records.into_iter().chain(r.records).collect();
    Ok(finish(img, records, spec, rng))
}

pub(super) fn finish(
    img: GrayImage,
    records: Vec<BTreeMap<String, TruthField>>,
    spec: &PageSpec,
    rng: &mut SmallRng,
) -> (GrayImage, TruthPage) {
    let img = age(img, &spec.damage, spec.dpi, rng);
    let eligible = spec.damage.ink >= 0.3 && spec.damage.torn <= 0.4 && !records.is_empty();
    (
        img,
        TruthPage {
            file: spec.file.clone(),
            skew_deg: spec.damage.skew_deg,
            eligible,
            hand: spec.hand,
            damage: spec.damage.clone(),
            records,
        },
    )
}
