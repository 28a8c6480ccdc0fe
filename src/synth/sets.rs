//! The sets of pages `sohoa synth` draws: the samples, the checks' book, and each
//! variation (tuned on, and held out of tuning).

use super::*;

/// A book of five typed pages of 1990 whose numbers run on from page to page, with
/// problems planted for the book checks: numbers 17 (before page 3) missing, on page 4
/// its third record entered twice and its sixth registered in 1989, and page 5 the same
/// sheet as page 2 scanned again (another skew, other noise).
pub fn checks_specs() -> Vec<PageSpec> {
    let page = |n: u32, first: u32, records: u32, skew: f32, noise: f32| PageSpec {
        plant: Plant {
            months: Some([(1, 2), (3, 4), (5, 6), (7, 9)][(n as usize - 1) % 4]),
            ..Plant::default()
        },
        year: 1990,
        first_number: first,
        records,
        damage: Damage {
            paper: 228,
            noise,
            skew_deg: skew,
            ..Damage::none()
        },
        ..PageSpec::ledger(&format!("trang-{n}.png"), 200.0, 900 + u64::from(n))
    };
    let mut rescan = page(2, 9, 8, -1.4, 5.0);
    rescan.plant.months = Some((3, 4));
    rescan.file = "trang-5.png".into();
    vec![
        page(1, 1, 8, 0.6, 2.0),
        page(2, 9, 8, 0.3, 2.0),
        page(3, 18, 8, -0.8, 2.0),
        PageSpec {
            plant: Plant {
                duplicate_row: Some(2),
                wrong_year_row: Some(5),
                months: Some((7, 9)),
            },
            ..page(4, 26, 8, 1.1, 2.0)
        },
        rescan,
    ]
}

/// The bundled sample book: five pages of increasing damage, one unreadable.
pub fn sample_specs() -> Vec<PageSpec> {
    let base = |file: &str, hand, damage, records, first, seed| PageSpec {
        file: file.to_string(),
        dpi: 150.0,
        hand,
        damage,
        records,
        year: 1983,
        first_number: first,
        seed,
        real_places: false,
        form: None,
        no_dpi: false,
        plant: Plant::default(),
        column_jitter: 0.0,
        spread: false,
        book: SynthBook::Ks,
        alt: false,
    };
    vec![
        base(
            "trang-1.png",
            Hand::Typed,
            Damage {
                paper: 232,
                noise: 0.0,
                skew_deg: 0.8,
                ..Damage::none()
            },
            10,
            1,
            11,
        ),
        base(
            "trang-2.jpg",
            Hand::Typed,
            Damage {
                ink: 0.55,
                paper: 214,
                stains: 3,
                noise: 4.0,
                skew_deg: -2.6,
                border: true,
                ..Damage::none()
            },
            10,
            11,
            12,
        ),
        base(
            "trang-3.tif",
            Hand::Hand,
            Damage {
                ink: 0.8,
                paper: 225,
                stains: 1,
                skew_deg: 1.7,
                ..Damage::none()
            },
            8,
            21,
            13,
        ),
        base(
            "trang-10.jpg",
            Hand::Typed,
            Damage {
                ink: 0.08,
                paper: 205,
                noise: 3.0,
                stains: 2,
                ..Damage::none()
            },
            10,
            29,
            14,
        ),
    ]
}

/// A varied set: `n` pages with random damage, style, resolution and format, from `seed`.
/// About one page in eight is made unreadable (ink faded away or mostly torn off).
pub fn varied_specs(n: u32, seed: u64, dpi: Option<f32>) -> Vec<PageSpec> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let unreadable = rng.gen_bool(0.125);
            let ext = *pick(&mut rng, &["png", "jpg", "tif"]);
            let damage = Damage {
                ink: if unreadable && rng.gen_bool(0.5) {
                    rng.gen_range(0.04..0.1)
                } else {
                    rng.gen_range(0.45..1.0)
                },
                paper: rng.gen_range(200..250),
                stains: rng.gen_range(0..4),
                noise: rng.gen_range(0.0..6.0),
                blur: u32::from(rng.gen_bool(0.2)),
                skew_deg: (rng.gen_range(-6.0..6.0f32) * 100.0).round() / 100.0,
                border: rng.gen_bool(0.4),
                torn: if unreadable && rng.gen_bool(0.5) {
                    rng.gen_range(0.6..0.8)
                } else if rng.gen_bool(0.2) {
                    rng.gen_range(0.02..0.08)
                } else {
                    0.0
                },
                rules: Rules::Inked,
                photo: None,
            };
            PageSpec {
                file: format!("trang-{}.{ext}", i + 1),
                dpi: dpi.unwrap_or_else(|| *pick(&mut rng, &[150.0, 200.0, 300.0])),
                hand: if rng.gen_bool(0.35) { Hand::Hand } else { Hand::Typed },
                damage,
                records: rng.gen_range(4..=10),
                year: rng.gen_range(1976..2005),
                first_number: rng.gen_range(1..60),
                seed: rng.gen(),
                real_places: true,
                form: None,
                no_dpi: false,
                plant: Plant::default(),
                column_jitter: 0.0,
                spread: false,
                book: SynthBook::Ks,
                alt: false,
            }
        })
        .collect()
}

/// The variations of pages as they really come, `n` pages from `seed`: `forms` (form
/// pages drawn in several styles), `rulings` (faint, pencil and missing rules), `photos`
/// (typed ledger pages photographed), `photos-flat` (the same pages scanned flat),
/// `no-dpi` (files that state no resolution), `mixed` (a book of ledger and form pages),
/// `spreads` (an open book's two typed ledger pages in one image; held out: photographed),
/// `unruled` (ledger pages without any rules; held out: the columns of another printing).
/// Every other photographed page is curled near the binding. `held_out` draws the
/// variations kept out of tuning instead: forms worded and set differently with values in
/// a hand (every third drawn in boxes), pencil rules and rules missing between columns (the
/// columns drawn up to 30% wider or narrower than the template's), steeper photographs
/// with more curl.
pub fn variation_specs(set: &str, n: u32, seed: u64, dpi: Option<f32>, held_out: bool) -> Option<Vec<PageSpec>> {
    let mut specs = varied_specs(n, seed, dpi);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed);
    for (i, s) in specs.iter_mut().enumerate() {
        // The variations are about layout, not destroyed pages.
        s.damage.ink = s.damage.ink.max(0.5);
        s.damage.torn = s.damage.torn.min(0.08);
        let form = |rng: &mut SmallRng| FormStyle {
            paired: rng.gen_bool(0.6),
            leaders: rng.gen_bool(0.5),
            other_labels: held_out,
            boxed: held_out && i % 3 == 1,
        };
        match set {
            "forms" => s.form = Some(form(&mut rng)),
            "mixed" => {
                if i % 2 == 1 {
                    s.form = Some(form(&mut rng));
                }
            }
            "rulings" => {
                s.damage.rules = match (held_out, i % 2) {
                    (false, 0) => Rules::Faint,
                    (false, _) => Rules::NoRowRules,
                    (true, 0) => Rules::Pencil,
                    (true, _) => Rules::NoColumnRules,
                };
                // Held out: another printing, its columns not the template's widths.
                if held_out {
                    s.column_jitter = 0.3;
                }
            }
            "photos" | "photos-flat" => {
                s.hand = Hand::Typed;
                s.damage.border = false;
                s.damage.torn = 0.0;
                s.damage.skew_deg = s.damage.skew_deg.clamp(-2.0, 2.0);
                let photo = Photo {
                    perspective: if held_out {
                        rng.gen_range(0.04..0.07)
                    } else {
                        rng.gen_range(0.01..0.04)
                    },
                    curl: match (held_out, i % 2) {
                        (true, _) => rng.gen_range(0.004..0.01),
                        (false, 1) => rng.gen_range(0.002..0.007),
                        (false, _) => 0.0,
                    },
                    shadow: rng.gen_range(10.0..50.0),
                };
                if set == "photos" {
                    s.damage.photo = Some(photo);
                }
            }
            "spreads" => {
                // An open book scanned whole (held out: photographed).
                s.spread = true;
                s.hand = Hand::Typed;
                s.damage.border = false;
                s.damage.torn = 0.0;
                s.damage.skew_deg = s.damage.skew_deg.clamp(-2.0, 2.0);
                if held_out {
                    s.damage.photo = Some(Photo {
                        perspective: rng.gen_range(0.01..0.03),
                        curl: 0.0,
                        shadow: rng.gen_range(10.0..40.0),
                    });
                }
            }
            "unruled" => {
                // No rules at all (held out: the columns of another printing).
                s.damage.rules = Rules::Unruled;
                if held_out {
                    s.column_jitter = 0.3;
                }
            }
            "no-dpi" => s.no_dpi = true,
            _ => return None,
        }
        if s.form.is_some() {
            // Form books are those of 2006–2020.
            s.year = 2006 + (s.year - 1976) % 15;
            if held_out && s.hand == Hand::Typed {
                s.hand = Hand::Hand;
            }
        }
    }
    Some(specs)
}

/// Pages written in handwriting faces (`faces`, one after another): otherwise like the
/// varied set — random damage, resolution and format, real communes for birth places.
pub fn script_specs(n: u32, seed: u64, dpi: Option<f32>, faces: &[ScriptFace]) -> Vec<PageSpec> {
    let mut specs = varied_specs(n, seed, dpi);
    for (i, s) in specs.iter_mut().enumerate() {
        s.hand = Hand::Script(faces[i % faces.len()]);
    }
    specs
}
