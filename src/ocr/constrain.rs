//! Decoding that knows what a field can hold.
//!
//! The free reading of handwriting still gets about one character in four wrong (marks
//! lost or misplaced, letters merged), yet most fields can only hold a few things: a sex
//! word, one of 54 ethnic groups, a date, a name made of Vietnamese name syllables, a
//! place made of the gazetteer's names. Each kind proposes the texts it could hold, close
//! to the free reading, and the line model's own evidence ([`ctc::log_likelihood`]) picks
//! among them, with a prior for what is common (a frequent surname, a name in the
//! gazetteer) against what is merely read:
//!
//! - sex, ethnicity, nationality: the list entry that best explains the frames;
//! - dates, numbers, ID numbers: a beam search over digits and separators, the first
//!   result that is a real date (for dates);
//! - names: word by word, the syllables of surname, middle and given-name lists (and of
//!   the gazetteer) near each word read, the surname's frequency as its prior;
//! - places: comma-separated parts from the right, a province, then a district within
//!   it, then a commune within that district, each with its written type word ("Tx",
//!   "huyện", "Phường" …); other parts (hamlets, street numbers) stay as read.
//!
//! The free reading always competes, so a name the lists lack is kept when the frames
//! say so.

use super::ctc;
use super::line::{Posteriors, Vocab};
use crate::places::Gazetteer;
use crate::template::{edit_distance, fold, FieldKind, Vocabulary};
use std::collections::{BTreeSet, HashMap};

/// Prior (log) of a word the lists lack, against a listed one.
const UNLISTED_WORD: f32 = -2.5;
/// Prior of a place part as read, against a province of the gazetteer.
const UNLISTED_PLACE: f32 = -15.0;
/// Prior of a place part as read, against a district or commune within the province
/// (district) the parts after it name: a whole chain of names is more likely still.
const UNLISTED_PLACE_WITHIN: f32 = -25.0;
/// Prior of a type word as read ("Phườn"), against a listed one ("Phường", "Tx").
const UNLISTED_TYPE: f32 = -5.0;
/// Prior (log) of a word read that is no Vietnamese syllable, against a syllable one
/// letter from it.
const NO_SYLLABLE: f32 = -3.0;
/// Weight of a surname's frequency (log share) in its prior.
const SURNAME_WEIGHT: f32 = 0.3;

/// The lists constrained decoding draws on.
pub struct Lexicons {
    sex: Vec<String>,
    ethnicities: Vec<String>,
    nationalities: Vec<String>,
    /// Surname → log share.
    surnames: HashMap<String, f32>,
    /// Middle and given names.
    name_words: BTreeSet<String>,
    /// Folded syllable → the syllables as written that fold to it.
    syllables: HashMap<String, Vec<String>>,
}

impl Lexicons {
    /// The lists built into sohoa: the vocabulary's ethnic groups and nationalities, the
    /// name lists of `models/names.tsv` and the gazetteer's syllables.
    pub fn builtin(vocab: &Vocabulary) -> Lexicons {
        let surnames: HashMap<String, f32> = crate::fields::names::surname_shares()
            .iter()
            .map(|(name, share)| (name.clone(), (share / 100.0).max(1e-4).ln()))
            .collect();
        let name_words: BTreeSet<String> = crate::fields::names::name_words().iter().cloned().collect();
        let mut syllables: HashMap<String, Vec<String>> = HashMap::new();
        let mut add = |w: &str| {
            let w = crate::fields::title_case(w);
            let list = syllables.entry(fold(&w)).or_default();
            if !list.contains(&w) {
                list.push(w);
            }
        };
        for w in surnames.keys().chain(name_words.iter()) {
            add(w);
        }
        let g = Gazetteer::builtin();
        for (ward, district, province) in g.ward_chains() {
            for part in [ward, district, province] {
                for w in crate::places::split_type(part).1.split_whitespace() {
                    if w.chars().all(char::is_alphabetic) {
                        add(w);
                    }
                }
            }
        }
        Lexicons {
            sex: ["Nam", "Nữ", "Trai", "Gái", "nam", "nữ"].map(String::from).to_vec(),
            // Aliases are candidates too: a page that writes "Mông" is read "Mông", and
            // normalisation names its entry.
            ethnicities: vocab
                .spellings(&vocab.ethnicities)
                .into_iter()
                .map(|(s, _)| s)
                .collect(),
            nationalities: vocab
                .spellings(&vocab.nationalities)
                .into_iter()
                .map(|(s, _)| s)
                .collect(),
            surnames,
            name_words,
            syllables,
        }
    }

    /// Whether a word, in any case, is a syllable of the name lists or the gazetteer.
    pub fn knows(&self, word: &str) -> bool {
        let word = crate::fields::title_case(word);
        self.syllables
            .get(&fold(&word))
            .is_some_and(|spellings| spellings.contains(&word))
    }
}

/// A reading constrained by the field's kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Constrained {
    /// The text.
    pub text: String,
    /// For kinds read by choosing among candidates (list entries, dates, numbers): the
    /// probability of the choice among them and the free reading, from the frames.
    pub confidence: Option<f32>,
}

impl Constrained {
    fn text(text: String) -> Constrained {
        Constrained { text, confidence: None }
    }
}

/// The reading of a field of `kind` from its frames (`free` is the free reading).
pub fn read(kind: FieldKind, p: &Posteriors, free: &str, vocab: &Vocab, lex: &Lexicons) -> Constrained {
    if free.trim().is_empty() {
        return Constrained::text(free.to_string());
    }
    match kind {
        FieldKind::Sex => best_of(p, vocab, free, &lex.sex),
        FieldKind::Ethnicity => best_of(p, vocab, free, &lex.ethnicities),
        FieldKind::Nationality => best_of(p, vocab, free, &lex.nationalities),
        FieldKind::Date => date(p, vocab, free),
        FieldKind::RegistrationNumber => digits(p, vocab, free, |c| c.is_ascii_digit() || c == '/'),
        FieldKind::IdNumber => digits(p, vocab, free, |c| c.is_ascii_digit() || c == ' ' || c == '.'),
        FieldKind::Name => Constrained::text(name(p, vocab, free, lex)),
        FieldKind::Place => {
            let r = place_reading(p, vocab, free);
            Constrained {
                text: syllables_mended(p, vocab, &r.text),
                ..r
            }
        }
        FieldKind::Text => Constrained::text(syllables_mended(p, vocab, free)),
    }
}

/// The candidate that best explains the frames and its probability among all of them
/// and the free reading. Each candidate is scored with the punctuation the free reading
/// has around its letters and digits (`.Nữ......`, `.42`: the dots of the leader line a
/// value is written on), so that candidates and free reading explain the same frames;
/// and a free reading that is the best candidate but for that punctuation and its marks
/// (`Kịnh` for `Kinh`: a dot of the leader under a letter) is that candidate read through
/// specks, not a competitor: no sex, ethnic group, nationality, date or number differs
/// from another by its marks alone. Letters, their case and `đ` still tell (`ma` is not
/// `Mạ`). A candidate with nothing but punctuation is none (the box has ink: the free
/// reading is not empty).
fn choose(p: &Posteriors, vocab: &Vocab, free: &str, candidates: Vec<String>) -> Constrained {
    let (before, free_core, after) = edges(free);
    let mut scored: Vec<(String, f32)> = Vec::new();
    for c in &candidates {
        let core = edges(c).1;
        if !core.is_empty() && !scored.iter().any(|(t, _)| t == core) {
            let s = ctc::score(p, vocab, &format!("{before}{core}{after}"));
            scored.push((core.to_string(), s));
        }
    }
    let Some((text, best)) = scored
        .iter()
        .filter(|(_, s)| s.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .cloned()
    else {
        return Constrained::text(free.to_string());
    };
    let specks_only = without_marks(free_core) == without_marks(&text);
    let free_competes = !specks_only && !scored.iter().any(|(t, _)| t == free);
    let others = scored
        .iter()
        .filter(|(t, _)| t != &text)
        .map(|(_, s)| *s)
        .chain(free_competes.then(|| ctc::score(p, vocab, free)));
    let total: f32 = others.filter(|s| s.is_finite()).map(|s| (s - best).exp()).sum::<f32>() + 1.0;
    Constrained {
        text,
        confidence: Some(1.0 / total),
    }
}

/// The entry of a closed list that best explains the frames.
fn best_of(p: &Posteriors, vocab: &Vocab, free: &str, list: &[String]) -> Constrained {
    choose(p, vocab, free, list.to_vec())
}

/// A text without its combining marks (tones, `ơ`'s horn, `â`'s hat), case and `đ` kept.
fn without_marks(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|&c| !unicode_normalization::char::is_combining_mark(c))
        .nfc()
        .collect()
}

/// A reading cut into what it has before its first letter or digit, from there to its
/// last, and after that.
fn edges(text: &str) -> (&str, &str, &str) {
    let start = text.find(char::is_alphanumeric).unwrap_or(text.len());
    let end = text
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphanumeric())
        .map_or(start, |(i, c)| i + c.len_utf8())
        .max(start);
    (&text[..start], &text[start..end], &text[end..])
}

/// The best reading over digits and separators that is a real date; else the best one.
fn date(p: &Posteriors, vocab: &Vocab, free: &str) -> Constrained {
    let found = ctc::beam(
        p,
        vocab,
        |c| c.is_ascii_digit() || matches!(c, '/' | '.' | '-' | ' '),
        12,
    );
    let valid: Vec<String> = found
        .iter()
        .filter(|(t, _)| crate::fields::parse_date(t).is_some())
        .map(|(t, _)| t.clone())
        .collect();
    let candidates = if valid.is_empty() {
        found.into_iter().map(|(t, _)| t).collect()
    } else {
        valid
    };
    choose(p, vocab, free, candidates)
}

/// The best reading over the characters a number can hold.
fn digits(p: &Posteriors, vocab: &Vocab, free: &str, allowed: impl Fn(char) -> bool) -> Constrained {
    let found = ctc::beam(p, vocab, allowed, 8).into_iter().map(|(t, _)| t).collect();
    choose(p, vocab, free, found)
}

/// A person's name, word by word: each word the listed syllable (or the word as read)
/// that, with the other words as chosen so far, best explains the frames.
fn name(p: &Posteriors, vocab: &Vocab, free: &str, lex: &Lexicons) -> String {
    let mut words: Vec<String> = free.split_whitespace().map(str::to_string).collect();
    let n = words.len();
    for i in 0..n {
        let read = words[i].clone();
        let mut candidates: Vec<(String, f32)> = vec![(read.clone(), UNLISTED_WORD)];
        for cand in near_syllables(&read, lex) {
            let prior = if i == 0 && n > 1 {
                lex.surnames
                    .get(&cand)
                    .map_or(UNLISTED_WORD / 2.0, |s| SURNAME_WEIGHT * s)
            } else if lex.name_words.contains(&cand) {
                0.0
            } else {
                UNLISTED_WORD / 2.0
            };
            if cand == read {
                candidates[0].1 = candidates[0].1.max(prior);
            } else {
                candidates.push((cand, prior));
            }
        }
        let best = candidates
            .into_iter()
            .map(|(c, prior)| {
                let mut trial = words.clone();
                trial[i] = c.clone();
                (ctc::score(p, vocab, &trial.join(" ")) + prior, c)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((s, c)) = best {
            if s.is_finite() {
                words[i] = c;
            }
        }
    }
    words.join(" ")
}

/// Listed syllables within reach of a word read: the same letters but for marks, or one
/// letter off (two for long words).
fn near_syllables(word: &str, lex: &Lexicons) -> Vec<String> {
    let key: Vec<char> = fold(word).chars().collect();
    if key.is_empty() || key.len() > 8 {
        return Vec::new();
    }
    let reach = if key.len() >= 5 { 2 } else { 1 };
    let mut out = Vec::new();
    for (folded, written) in &lex.syllables {
        let f: Vec<char> = folded.chars().collect();
        if f.len().abs_diff(key.len()) > reach {
            continue;
        }
        if edit_distance(&f, &key) <= reach {
            out.extend(written.iter().cloned());
        }
    }
    out
}

/// Each word that is no Vietnamese syllable (nor a gazetteer's word, a number or an
/// abbreviation: [`crate::fields::names::is_odd_word`]) replaced by the syllable one edit
/// from it (a letter changed, added or dropped) that, with the rest of the line, best
/// explains the frames, when that beats the word as read with its prior: `huyệr` →
/// `huyện`, `Con thứ hal` → `Con thứ hai`. Words are mended right to left.
fn syllables_mended(p: &Posteriors, vocab: &Vocab, text: &str) -> String {
    let letters: Vec<char> = (1..vocab.len())
        .map(|i| vocab.char(i))
        .filter(|c| c.is_alphabetic() && c.is_lowercase())
        .collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let mut out = text.to_string();
    for (s, e) in spans.into_iter().rev() {
        let word = &out[s..e];
        let n = word.chars().count();
        if !(2..=7).contains(&n) || !crate::fields::names::is_odd_word(word) {
            continue;
        }
        let with = |w: &str| format!("{}{w}{}", &out[..s], &out[e..]);
        let mut best = (ctc::score(p, vocab, &out) + NO_SYLLABLE, None);
        for cand in syllables_one_edit_from(word, &letters) {
            let score = ctc::score(p, vocab, &with(&cand));
            if score > best.0 {
                best = (score, Some(cand));
            }
        }
        if let (_, Some(c)) = best {
            out = with(&c);
        }
    }
    out
}

/// The Vietnamese syllables one edit from `word` over `letters` (lower case), in the
/// word's case (a capital first letter kept).
fn syllables_one_edit_from(word: &str, letters: &[char]) -> Vec<String> {
    let lower: Vec<char> = word.to_lowercase().chars().collect();
    let capital = word.chars().next().is_some_and(char::is_uppercase);
    let mut edits: BTreeSet<String> = BTreeSet::new();
    for i in 0..=lower.len() {
        if i < lower.len() {
            let mut w = lower.clone();
            w.remove(i);
            edits.insert(w.iter().collect());
            for &c in letters {
                let mut w = lower.clone();
                w[i] = c;
                edits.insert(w.iter().collect());
            }
        }
        for &c in letters {
            let mut w = lower.clone();
            w.insert(i, c);
            edits.insert(w.iter().collect());
        }
    }
    edits
        .into_iter()
        .filter(|w| !w.is_empty() && crate::fields::names::is_syllable(w))
        .map(|w| if capital { crate::fields::title_case(&w) } else { w })
        .collect()
}

/// A place read through the gazetteer ([`place`]). When every part is a name of the
/// gazetteer's chain, read with the letters of the free reading, the chain fixes the
/// marks: a mark the frames show otherwise (a dot of the leader line under a letter:
/// `Xã Lọng Sợn`) costs the reading nothing, and its confidence is its letters', the
/// better of the two readings' (a full stop read after `TP` costs nothing either).
fn place_reading(p: &Posteriors, vocab: &Vocab, free: &str) -> Constrained {
    let (text, all_named) = place(p, vocab, free);
    let product = |t: &str| ctc::align(p, t, vocab).map(|r| r.chars.iter().map(|c| c.prob).product::<f32>());
    let confidence = (all_named && text != free && fold(&text) == fold(free))
        .then(|| product(free).into_iter().chain(product(&text)).reduce(f32::max))
        .flatten();
    Constrained { text, confidence }
}

/// Type words that start a place's part, as they are written.
const PLACE_TYPES: &[&str] = &[
    "Xã",
    "xã",
    "Phường",
    "phường",
    "P.",
    "Thị trấn",
    "thị trấn",
    "TT",
    "Huyện",
    "huyện",
    "H.",
    "Quận",
    "quận",
    "Q.",
    "Thị xã",
    "thị xã",
    "TX",
    "Tx",
    "Thành phố",
    "thành phố",
    "TP",
    "Tp",
    "Tỉnh",
    "tỉnh",
];

/// A place, parts from the right: a province, then a district of it, then a ward of that
/// district. Each part's name is the gazetteer's that best explains the frames (bare, or
/// with its type word as written or a listed one close to it; a part that a stray comma
/// split in two is tried whole too); parts that no name explains as well as the reading
/// itself, with the prior for a listed name, stay as read. True with the text when every
/// part is a name of the chain.
fn place(p: &Posteriors, vocab: &Vocab, free: &str) -> (String, bool) {
    let g = Gazetteer::builtin();
    let mut parts: Vec<String> = free.split(',').map(|s| s.trim().to_string()).collect();
    let score = |parts: &[String]| ctc::score(p, vocab, &parts.join(", "));
    let mut parent: Option<String> = None;
    let mut level = 0;
    let mut named = 0;
    let mut i = parts.len();
    while i > 0 {
        i -= 1;
        let names: Vec<String> = match (level, &parent) {
            (0, _) => g.provinces().map(str::to_string).collect(),
            (1, Some(prov)) => g.districts_in(prov).to_vec(),
            (2, Some(dist)) => g.wards_in(dist).map(str::to_string).collect(),
            _ => break,
        };
        if names.is_empty() || parts[i].is_empty() {
            break;
        }
        let unlisted = if level == 0 {
            UNLISTED_PLACE
        } else {
            UNLISTED_PLACE_WITHIN
        };
        let mut best = (score(&parts) + unlisted, parts.clone(), None::<String>);
        // The part alone, or with the part before it (a comma read where there is none).
        for merged in [false, true] {
            if merged && i == 0 {
                continue;
            }
            let (first, read) = if merged {
                (i - 1, format!("{} {}", parts[i - 1], parts[i]))
            } else {
                (i, parts[i].clone())
            };
            // A unit named by its number ("Phường 3") is no misreading of another number:
            // one merged away since keeps its own.
            let number = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            let read_number = number(&read);
            let candidates = place_candidates(&read, &names).into_iter().filter(|(_, name, _)| {
                read_number.is_empty() || number(name).is_empty() || number(name) == read_number
            });
            for (text, name, prior) in candidates {
                let mut trial: Vec<String> = parts[..first].to_vec();
                trial.push(text);
                trial.extend_from_slice(&parts[i + 1..]);
                let s = score(&trial) + prior;
                if s > best.0 {
                    best = (s, trial, Some(name));
                }
            }
        }
        i -= parts.len() - best.1.len();
        parts = best.1;
        match best.2 {
            Some(name) => {
                parent = Some(name);
                level += 1;
                named += 1;
            }
            // A part no name explains (a hamlet, a street): the next one may still be
            // the same level's.
            None if level == 0 => {}
            None => break,
        }
    }
    let all_named = named > 0 && named == parts.len();
    (parts.join(", "), all_named)
}

/// Texts a place part read as `read` could be: the listed `names` nearest to it (on the
/// letters without marks), bare or after a type word — the one read, or a listed one
/// close to it. Returns (text, name, prior): a type word the list lacks has a lower prior.
fn place_candidates(read: &str, names: &[String]) -> Vec<(String, String, f32)> {
    // How the part may split into a type word and a name.
    let mut splits: Vec<(&str, &str)> = vec![("", read)];
    let (t, rest) = crate::places::split_type(read);
    if !t.is_empty() {
        splits.push((t, rest));
    } else if let Some((first, rest)) = read.split_once(' ') {
        let f = folded(first);
        if PLACE_TYPES
            .iter()
            .any(|t| !t.contains(' ') && edit_distance(&folded(t), &f) <= 1)
        {
            splits.push((first, rest));
        }
    }
    let mut ranked: Vec<(usize, &String)> = names
        .iter()
        .map(|n| {
            let key = folded(n);
            let d = splits.iter().map(|(_, bare)| edit_distance(&key, &folded(bare))).min();
            (d.unwrap_or(usize::MAX), n)
        })
        .collect();
    ranked.sort();
    ranked.truncate(12);
    // No type word, the one read, and the listed ones closest to it.
    let mut types: Vec<&str> = vec![""];
    for (t, _) in &splits[1..] {
        types.push(t);
        let f = folded(t);
        let d = |x: &&str| edit_distance(&folded(x), &f);
        if let Some(best) = PLACE_TYPES.iter().map(d).min().filter(|&b| b <= 2) {
            types.extend(PLACE_TYPES.iter().filter(|x| d(x) == best));
        }
    }
    types.dedup();
    let mut out = Vec::new();
    for (_, name) in ranked {
        for t in &types {
            let text = if t.is_empty() {
                name.clone()
            } else {
                format!("{t} {name}")
            };
            let prior = if t.is_empty() || PLACE_TYPES.contains(t) {
                0.0
            } else {
                UNLISTED_TYPE
            };
            out.push((text, name.clone(), prior));
        }
    }
    out
}

fn folded(s: &str) -> Vec<char> {
    fold(s).chars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocab {
        vocab_of("KiịnhHoaNữmMôgườ42./ ")
    }

    fn vocab_of(text: &str) -> Vocab {
        let mut seen = BTreeSet::new();
        let chars: Vec<String> = std::iter::once("<blank>".to_string())
            .chain(text.chars().filter(|c| seen.insert(*c)).map(String::from))
            .collect();
        Vocab::parse(&serde_json::json!({ "chars": chars }).to_string()).unwrap()
    }

    /// Frames that show `text` plainly: each character 0.99 sure in a frame of its own,
    /// a blank between.
    fn frames(text: &str, vocab: &Vocab) -> Posteriors {
        let classes = vocab.len();
        let row = |class: usize| -> Vec<f32> {
            (0..classes)
                .map(|k| if k == class { 0.99 } else { 0.01 / (classes - 1) as f32 })
                .collect()
        };
        let rows: Vec<Vec<f32>> = text
            .chars()
            .flat_map(|c| [row(vocab.class(c).unwrap()), row(0)])
            .collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        ctc::tests::posteriors(&refs)
    }

    /// Frames that show `text` plainly but for one character, where `alt` is nearly as
    /// likely (`p_alt` against the written one's `0.95 - p_alt`).
    fn frames_doubting(text: &str, at: usize, alt: char, p_alt: f32, vocab: &Vocab) -> Posteriors {
        let classes = vocab.len();
        let rest = 0.05 / (classes - 2) as f32;
        let rows: Vec<Vec<f32>> = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let (main, other) = (vocab.class(c).unwrap(), vocab.class(alt).unwrap());
                let row: Vec<f32> = (0..classes)
                    .map(|k| match k {
                        _ if i == at && k == other => p_alt,
                        _ if k == main => {
                            if i == at {
                                0.95 - p_alt
                            } else {
                                0.95
                            }
                        }
                        _ => rest,
                    })
                    .collect();
                let blank: Vec<f32> = (0..classes).map(|k| if k == 0 { 0.95 } else { rest }).collect();
                [row, blank]
            })
            .collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        ctc::tests::posteriors(&refs)
    }

    #[test]
    fn a_word_that_is_no_syllable_is_mended_to_the_syllable_the_frames_allow() {
        let v = vocab_of("huyệnrKimSơCotứhalUBND12 ,");
        // The last letter of `huyện` read `r` (no syllable), `n` nearly as likely.
        let p = frames_doubting("huyệr Kim Sơn", 4, 'n', 0.4, &v);
        assert_eq!(syllables_mended(&p, &v, "huyệr Kim Sơn"), "huyện Kim Sơn");
        let p = frames_doubting("Con thứ hal", 10, 'i', 0.35, &v);
        assert_eq!(syllables_mended(&p, &v, "Con thứ hal"), "Con thứ hai");
        // A syllable stays whatever the frames doubt; so do numbers and abbreviations.
        let p = frames_doubting("Kim", 2, 'n', 0.45, &v);
        assert_eq!(syllables_mended(&p, &v, "Kim"), "Kim");
        let p = frames_doubting("UBND 12", 1, 'n', 0.45, &v);
        assert_eq!(syllables_mended(&p, &v, "UBND 12"), "UBND 12");
        // A letter the frames do not doubt is not changed to make a syllable.
        let p = frames("huyệr", &v);
        assert_eq!(syllables_mended(&p, &v, "huyệr"), "huyệr");
    }

    fn list(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn an_entry_read_on_a_dotted_leader_is_sure() {
        let v = vocab();
        // The sex word between dots of the leader it was written on.
        let read = best_of(&frames(".Nữ...", &v), &v, ".Nữ...", &list(&["Nam", "Nữ"]));
        assert_eq!(read.text, "Nữ");
        assert!(read.confidence.unwrap() > 0.9, "{read:?}");
        // A dot of the leader under a letter: the entry, not a word outside the list.
        let read = best_of(&frames("Kịnh", &v), &v, "Kịnh", &list(&["Kinh", "Hoa"]));
        assert_eq!(read.text, "Kinh");
        assert!(read.confidence.unwrap() > 0.9, "{read:?}");
        // A number after a dot of the leader.
        let read = digits(&frames(".42", &v), &v, ".42", |c| c.is_ascii_digit() || c == '/');
        assert_eq!(read.text, "42");
        assert!(read.confidence.unwrap() > 0.9, "{read:?}");
    }

    #[test]
    fn a_reading_with_other_letters_than_every_entry_leaves_the_choice_in_doubt() {
        let v = vocab();
        // `Mông` has a letter `Mường` lacks: the nearest entry is taken, in doubt.
        let read = best_of(&frames("Mông", &v), &v, "Mông", &list(&["Mường", "Kinh"]));
        assert_eq!(read.text, "Mường");
        assert!(read.confidence.unwrap() < 0.5, "{read:?}");
        // Another letter's case is no speck: `ma` is not the entry `Mạ`.
        let v = vocab_of("Mạmaho");
        let read = best_of(&frames("ma", &v), &v, "ma", &list(&["Mạ", "Hoa"]));
        assert_eq!(read.text, "Mạ");
        assert!(read.confidence.unwrap() < 0.5, "{read:?}");
    }

    #[test]
    fn a_numbered_ward_merged_away_keeps_its_number() {
        // Quận 5's Phường 3 is no longer in the gazetteer (merged); Phường 2 and 4 are.
        let read = "Phường 3, quận 5, Hồ Chí Minh";
        let v = vocab_of(&format!("{read}24"));
        assert_eq!(place_reading(&frames(read, &v), &v, read).text, read);
        // A ward's name misread still snaps to the gazetteer's.
        let read = "Phường Bến Nghẻ, Quận 1, Hồ Chí Minh";
        let v = vocab_of(&format!("{read}é"));
        assert_eq!(
            place_reading(&frames(read, &v), &v, read).text,
            "Phường Bến Nghé, Quận 1, Hồ Chí Minh"
        );
    }

    #[test]
    fn a_place_of_the_gazetteer_read_with_dots_under_its_letters_is_sure() {
        let read = "Xã Lọng Sợn, huyện Minh Long, Quảng Ngãi";
        let v = vocab_of(&format!("{read}Xã Long Sơn"));
        let place = place_reading(&frames(read, &v), &v, read);
        assert_eq!(place.text, "Xã Long Sơn, huyện Minh Long, Quảng Ngãi");
        assert!(place.confidence.unwrap() > 0.5, "{place:?}");
        // A hamlet the gazetteer does not hold: its marks are the reading's own.
        let read = "Thôn Đọng, Xã Long Sơn, huyện Minh Long, Quảng Ngãi";
        let v = vocab_of(&format!("{read}Xã Long Sơn"));
        assert_eq!(place_reading(&frames(read, &v), &v, read).confidence, None);
    }
}
