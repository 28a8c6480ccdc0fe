//! Decoding the line model's output (connectionist temporal classification).
//!
//! [`greedy`] takes the most likely class of every frame and merges repeats: the free
//! reading, with each character's probability and the frames it spans (its place on the
//! line). [`log_likelihood`] is the forward algorithm: how well a given text explains the
//! frames, summed over every alignment — the arbiter between candidate readings that
//! [`super::constrain`] proposes. [`beam`] searches the best texts over a restricted set
//! of characters (digits and separators for dates and numbers).

use super::line::{Posteriors, Vocab};

/// A decoded character.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedChar {
    /// The character.
    pub ch: char,
    /// First frame it was read in.
    pub first: usize,
    /// Last frame it was read in.
    pub last: usize,
    /// Its probability: the best of its frames.
    pub prob: f32,
}

/// The free reading of a line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    /// The characters read, in order.
    pub chars: Vec<DecodedChar>,
}

impl Reading {
    /// The text read.
    pub fn text(&self) -> String {
        self.chars.iter().map(|c| c.ch).collect()
    }
}

/// The free reading: the best class of each frame, repeats merged, blanks dropped.
pub fn greedy(p: &Posteriors, vocab: &Vocab) -> Reading {
    let mut chars: Vec<DecodedChar> = Vec::new();
    let mut prev = 0usize;
    for t in 0..p.frames {
        let (k, lp) = argmax(p.frame(t));
        if k != 0 {
            let prob = lp.exp();
            match chars.last_mut() {
                Some(c) if k == prev => {
                    c.last = t;
                    c.prob = c.prob.max(prob);
                }
                _ => chars.push(DecodedChar {
                    ch: vocab.char(k),
                    first: t,
                    last: t,
                    prob,
                }),
            }
        }
        prev = k;
    }
    Reading { chars }
}

fn argmax(row: &[f32]) -> (usize, f32) {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |b, (k, &v)| if v > b.1 { (k, v) } else { b })
}

/// log(e^a + e^b) without overflow.
fn log_add(a: f32, b: f32) -> f32 {
    if a == f32::NEG_INFINITY {
        return b;
    }
    if b == f32::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    // Below e^-17 the smaller term is under a float's precision beside the larger.
    if lo - hi < -17.0 {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// The classes of a text; `None` when the model cannot write one of its characters.
pub fn labels(text: &str, vocab: &Vocab) -> Option<Vec<usize>> {
    text.chars().map(|c| vocab.class(c)).collect()
}

/// log P(text | frames): the forward algorithm over the blank-extended label sequence.
/// `-inf` when the text cannot be aligned with the frames (too long, or unknown
/// characters). Sums in probabilities (f64), each frame's forward variables scaled to sum
/// to one and the logarithm of the scale kept: a multiply-add per state and frame, where
/// sums of logarithms would take an exponential and a logarithm each.
pub fn log_likelihood(p: &Posteriors, labels: &[usize]) -> f32 {
    if p.frames == 0 {
        return if labels.is_empty() { 0.0 } else { f32::NEG_INFINITY };
    }
    let s = 2 * labels.len() + 1;
    // The classes the text uses (blank first) and each state's column among them.
    let mut used: Vec<usize> = vec![0];
    let column: Vec<usize> = (0..s)
        .map(|i| {
            let k = if i.is_multiple_of(2) { 0 } else { labels[i / 2] };
            used.iter().position(|&u| u == k).unwrap_or_else(|| {
                used.push(k);
                used.len() - 1
            })
        })
        .collect();
    // A label may follow the one two states back only when it differs from it.
    let skip: Vec<bool> = (0..s)
        .map(|i| i >= 2 && i % 2 == 1 && labels[i / 2] != labels[i / 2 - 1])
        .collect();
    let mut emit = vec![0f64; used.len()];
    let load = |t: usize, emit: &mut [f64]| {
        let f = p.frame(t);
        for (e, &k) in emit.iter_mut().zip(&used) {
            *e = f64::from(f[k]).exp();
        }
    };
    let mut alpha = vec![0f64; s];
    let mut next = vec![0f64; s];
    load(0, &mut emit);
    alpha[0] = emit[column[0]];
    if s > 1 {
        alpha[1] = emit[column[1]];
    }
    let mut log_scale = 0f64;
    for t in 1..p.frames {
        let total: f64 = alpha.iter().sum();
        if total <= 0.0 {
            return f32::NEG_INFINITY;
        }
        log_scale += total.ln();
        load(t, &mut emit);
        // Only states that can still reach the end in the frames left are worth keeping.
        let lo = s.saturating_sub(2 * (p.frames - t));
        let hi = (2 * t + 2).min(s);
        next.fill(0.0);
        for i in lo..hi {
            let mut a = alpha[i];
            if i >= 1 {
                a += alpha[i - 1];
            }
            if skip[i] {
                a += alpha[i - 2];
            }
            next[i] = a / total * emit[column[i]];
        }
        std::mem::swap(&mut alpha, &mut next);
    }
    let end = match s {
        1 => alpha[0],
        _ => alpha[s - 1] + alpha[s - 2],
    };
    if end <= 0.0 {
        return f32::NEG_INFINITY;
    }
    (end.ln() + log_scale) as f32
}

/// Log-likelihood of a text, or `-inf` when the model cannot write it.
pub fn score(p: &Posteriors, vocab: &Vocab, text: &str) -> f32 {
    labels(text, vocab).map_or(f32::NEG_INFINITY, |l| log_likelihood(p, &l))
}

/// The best alignment of a text with the frames (Viterbi): each character's frames and
/// probability. `None` when the text cannot be aligned.
pub fn align(p: &Posteriors, text: &str, vocab: &Vocab) -> Option<Reading> {
    let chars: Vec<char> = text.chars().collect();
    let labels = labels(text, vocab)?;
    let s = 2 * labels.len() + 1;
    if p.frames == 0 || labels.len() > p.frames {
        return None;
    }
    let ext = |i: usize| if i.is_multiple_of(2) { 0 } else { labels[i / 2] };
    let neg = f32::NEG_INFINITY;
    // delta[t][i], and the state each came from.
    let mut delta = vec![neg; s];
    let mut from: Vec<Vec<u32>> = Vec::with_capacity(p.frames);
    delta[0] = p.frame(0)[0];
    if s > 1 {
        delta[1] = p.frame(0)[ext(1)];
    }
    from.push((0..s as u32).collect());
    for t in 1..p.frames {
        let f = p.frame(t);
        let mut next = vec![neg; s];
        let mut back = vec![0u32; s];
        for i in 0..s {
            let mut best = (delta[i], i);
            if i >= 1 && delta[i - 1] > best.0 {
                best = (delta[i - 1], i - 1);
            }
            if i >= 2 && i % 2 == 1 && ext(i) != ext(i - 2) && delta[i - 2] > best.0 {
                best = (delta[i - 2], i - 2);
            }
            if best.0 > neg {
                next[i] = best.0 + f[ext(i)];
                back[i] = best.1 as u32;
            }
        }
        delta = next;
        from.push(back);
    }
    let mut i = if s > 1 && delta[s - 2] > delta[s - 1] {
        s - 2
    } else {
        s - 1
    };
    if delta[i] == neg {
        return None;
    }
    // Walk back: the state of every frame.
    let mut states = vec![0usize; p.frames];
    for t in (0..p.frames).rev() {
        states[t] = i;
        i = from[t][i] as usize;
    }
    let mut out: Vec<DecodedChar> = chars
        .iter()
        .map(|&ch| DecodedChar {
            ch,
            first: usize::MAX,
            last: 0,
            prob: 0.0,
        })
        .collect();
    for (t, &st) in states.iter().enumerate() {
        if st % 2 == 1 {
            let c = &mut out[st / 2];
            c.first = c.first.min(t);
            c.last = c.last.max(t);
            c.prob = c.prob.max(p.frame(t)[ext(st)].exp());
        }
    }
    Some(Reading { chars: out })
}

/// Prefix beam search over the characters `allowed` accepts: the `width` best texts with
/// their log-likelihoods, best first.
pub fn beam(p: &Posteriors, vocab: &Vocab, allowed: impl Fn(char) -> bool, width: usize) -> Vec<(String, f32)> {
    // Each prefix keeps the log-probability of ending in a blank and in its last label.
    #[derive(Clone)]
    struct Entry {
        labels: Vec<usize>,
        blank: f32,
        label: f32,
    }
    let classes: Vec<usize> = (1..vocab.len()).filter(|&k| allowed(vocab.char(k))).collect();
    let total = |e: &Entry| log_add(e.blank, e.label);
    let mut beams = vec![Entry {
        labels: Vec::new(),
        blank: 0.0,
        label: f32::NEG_INFINITY,
    }];
    for t in 0..p.frames {
        let f = p.frame(t);
        let mut next: std::collections::HashMap<Vec<usize>, Entry> = Default::default();
        let mut add = |labels: Vec<usize>, blank: f32, label: f32| {
            let e = next.entry(labels.clone()).or_insert(Entry {
                labels,
                blank: f32::NEG_INFINITY,
                label: f32::NEG_INFINITY,
            });
            e.blank = log_add(e.blank, blank);
            e.label = log_add(e.label, label);
        };
        // The frame's likely classes only: the rest cannot change the best texts.
        let mut likely: Vec<usize> = classes.iter().copied().filter(|&k| f[k] > -12.0).collect();
        likely.sort_by(|&a, &b| f[b].total_cmp(&f[a]));
        likely.truncate(8);
        for e in &beams {
            let all = total(e);
            add(e.labels.clone(), all + f[0], f32::NEG_INFINITY);
            if let Some(&last) = e.labels.last() {
                add(e.labels.clone(), f32::NEG_INFINITY, e.label + f[last]);
            }
            for &k in &likely {
                let mut l = e.labels.clone();
                let from = if e.labels.last() == Some(&k) { e.blank } else { all };
                l.push(k);
                add(l, f32::NEG_INFINITY, from + f[k]);
            }
        }
        let mut v: Vec<Entry> = next.into_values().collect();
        // Ties broken by the labels: the same texts whatever order the map gave.
        v.sort_by(|a, b| total(b).total_cmp(&total(a)).then_with(|| a.labels.cmp(&b.labels)));
        v.truncate(width.max(1));
        beams = v;
    }
    beams
        .iter()
        .map(|e| (e.labels.iter().map(|&k| vocab.char(k)).collect(), total(e)))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vocabulary of blank, `a`, `b`, space.
    pub(crate) fn tiny_vocab() -> Vocab {
        Vocab::parse(r#"{"chars": ["<blank>", "a", "b", " ", "1", "/"]}"#).unwrap()
    }

    /// Posteriors from per-frame probabilities (rows need not sum to one exactly).
    pub(crate) fn posteriors(rows: &[&[f32]]) -> Posteriors {
        let classes = rows[0].len();
        Posteriors {
            frames: rows.len(),
            classes,
            log_probs: rows.iter().flat_map(|r| r.iter().map(|p| p.max(1e-9).ln())).collect(),
            scale: 1.0,
        }
    }

    /// The forward algorithm in logarithms, as written in the textbooks: the reference
    /// the scaled sums must agree with.
    fn log_likelihood_in_logs(p: &Posteriors, labels: &[usize]) -> f32 {
        let s = 2 * labels.len() + 1;
        let ext = |i: usize| if i.is_multiple_of(2) { 0 } else { labels[i / 2] };
        let mut alpha = vec![f32::NEG_INFINITY; s];
        alpha[0] = p.frame(0)[0];
        if s > 1 {
            alpha[1] = p.frame(0)[ext(1)];
        }
        for t in 1..p.frames {
            let f = p.frame(t);
            let before = alpha.clone();
            for i in 0..s {
                let mut a = before[i];
                if i >= 1 {
                    a = log_add(a, before[i - 1]);
                }
                if i >= 2 && i % 2 == 1 && ext(i) != ext(i - 2) {
                    a = log_add(a, before[i - 2]);
                }
                alpha[i] = a + f[ext(i)];
            }
        }
        if s == 1 {
            alpha[0]
        } else {
            log_add(alpha[s - 1], alpha[s - 2])
        }
    }

    #[test]
    fn scaled_forward_sums_agree_with_sums_of_logarithms() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for case in 0..200 {
            let frames = rng.gen_range(1..40);
            let classes = 6;
            // Peaked rows, some very unlikely classes (log-probabilities down to -60).
            let log_probs: Vec<f32> = (0..frames * classes)
                .map(|_| {
                    if rng.gen_bool(0.3) {
                        rng.gen_range(-60.0..-20.0)
                    } else {
                        rng.gen_range(-4.0..0.0)
                    }
                })
                .collect();
            let p = Posteriors {
                frames,
                classes,
                log_probs,
                scale: 1.0,
            };
            let n = rng.gen_range(0..frames.min(12) + 2);
            // Repeats included ("aa" needs a blank between).
            let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(1..3)).collect();
            let (fast, slow) = (log_likelihood(&p, &labels), log_likelihood_in_logs(&p, &labels));
            if slow == f32::NEG_INFINITY {
                assert_eq!(fast, slow, "case {case}");
            } else {
                assert!(
                    (fast - slow).abs() <= 1e-3 * slow.abs().max(1.0),
                    "case {case}: {fast} against {slow}"
                );
            }
        }
    }

    #[test]
    fn greedy_merges_repeats_and_keeps_a_doubled_letter_split_by_a_blank() {
        let v = tiny_vocab();
        // a a - a b b -  → "aab"
        let p = posteriors(&[
            &[0.1, 0.8, 0.1, 0.0, 0.0, 0.0],
            &[0.1, 0.9, 0.0, 0.0, 0.0, 0.0],
            &[0.9, 0.1, 0.0, 0.0, 0.0, 0.0],
            &[0.2, 0.7, 0.1, 0.0, 0.0, 0.0],
            &[0.1, 0.0, 0.9, 0.0, 0.0, 0.0],
            &[0.1, 0.0, 0.6, 0.3, 0.0, 0.0],
            &[0.9, 0.0, 0.1, 0.0, 0.0, 0.0],
        ]);
        let r = greedy(&p, &v);
        assert_eq!(r.text(), "aab");
        assert_eq!((r.chars[0].first, r.chars[0].last), (0, 1));
        assert!((r.chars[0].prob - 0.9).abs() < 1e-5);
        assert_eq!((r.chars[2].first, r.chars[2].last), (4, 5));
    }

    #[test]
    fn the_forward_score_sums_every_alignment() {
        let v = tiny_vocab();
        // Two frames, uniform over blank and a: paths for "a" are aa, a-, -a → 3/4 of
        // the mass over {blank, a}² (each frame 0.5/0.5).
        let p = posteriors(&[&[0.5, 0.5, 0.0, 0.0, 0.0, 0.0], &[0.5, 0.5, 0.0, 0.0, 0.0, 0.0]]);
        let a = log_likelihood(&p, &labels("a", &v).unwrap()).exp();
        assert!((a - 0.75).abs() < 1e-4, "{a}");
        let empty = log_likelihood(&p, &[]).exp();
        assert!((empty - 0.25).abs() < 1e-4, "{empty}");
        // "aa" needs a blank between: three frames at least.
        assert_eq!(log_likelihood(&p, &labels("aa", &v).unwrap()), f32::NEG_INFINITY);
        assert_eq!(score(&p, &v, "z"), f32::NEG_INFINITY);
    }

    #[test]
    fn alignment_places_each_character_on_its_frames() {
        let v = tiny_vocab();
        let p = posteriors(&[
            &[0.1, 0.8, 0.1, 0.0, 0.0, 0.0],
            &[0.8, 0.1, 0.1, 0.0, 0.0, 0.0],
            &[0.1, 0.1, 0.8, 0.0, 0.0, 0.0],
            &[0.1, 0.1, 0.7, 0.1, 0.0, 0.0],
        ]);
        let r = align(&p, "ab", &v).unwrap();
        assert_eq!((r.chars[0].first, r.chars[0].last), (0, 0));
        assert_eq!((r.chars[1].first, r.chars[1].last), (2, 3));
        assert!((r.chars[1].prob - 0.8).abs() < 1e-5);
        // A text the frames cannot hold, or the model cannot write.
        assert!(align(&p, "ababa", &v).is_none());
        assert!(align(&p, "z", &v).is_none());
    }

    #[test]
    fn beam_search_finds_the_best_text_among_allowed_characters() {
        let v = tiny_vocab();
        // The frames favour "a", but only digits and "/" are allowed.
        let p = posteriors(&[
            &[0.05, 0.6, 0.0, 0.0, 0.3, 0.05],
            &[0.6, 0.3, 0.0, 0.0, 0.05, 0.05],
            &[0.05, 0.3, 0.0, 0.0, 0.05, 0.6],
            &[0.7, 0.2, 0.0, 0.0, 0.05, 0.05],
        ]);
        let best = beam(&p, &v, |c| c.is_ascii_digit() || c == '/', 4);
        assert_eq!(best[0].0, "1/");
        assert!((best[0].1 - score(&p, &v, "1/")).abs() < 1e-3);
    }
}
