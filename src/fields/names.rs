//! Vietnamese personal names: each word checked as a syllable of the language, and the
//! name held against the lists of `models/names.tsv` (surnames with their share of the
//! population, common middle and given names).
//!
//! A syllable is an onset, a rhyme and a tone: `Nguyễn` is `ng` + `uyên` + ngã. The
//! rhyme must be one the language has, `k`, `gh`, `ngh` only come before `i`, `e`, `ê`
//! (and `c`, `g`, `ng` never do), and a rhyme closed by `c`, `ch`, `p` or `t` takes only
//! the sắc or nặng tone. A word that is no syllable was misread (or is a name of another
//! language: a look settles it).
//!
//! Against the lists: a surname the list lacks whose letters, marks aside, are those of a
//! listed surname (`Trấn`, `Trắn` for `Trần`) is taken as that surname — surnames are
//! few and the common ones cover most people — and flagged `name_corrected`; a middle or
//! given name the lists lack whose letters are those of a listed one is flagged
//! `uncommon_name` and kept (given names are many, and rare ones are real) — unless it is
//! a listed name with a dot under it (the nặng tone a speck makes: `Thụ` for `Thu`), which
//! is taken without it and flagged `name_corrected`.

use crate::model::Flag;
use crate::template::fold;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

const NAMES: &str = include_str!("../../models/names.tsv");

/// Rhymes of Vietnamese syllables, without their tone (NFC).
const RHYMES: &str = "a ac ach ai am an ang anh ao ap at au ay \
ăc ăm ăn ăng ăp ăt âc âm ân âng âp ât âu ây \
e ec em en eng eo ep et ê êch êm ên ênh êp êt êu \
i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu \
o oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăt \
oe oen oeo oet oc oi om on ong ooc oong op ot \
ô ôc ôi ôm ôn ông ôp ôt ơ ơi ơm ơn ơp ơt \
u ua uân uâng uât uây uc ui um un ung uơ uôc uôi uôm uôn uông uôt up ut \
uy uya uych uyên uyêt uyn uynh uyp uyt uyu uê uêch uênh \
ư ưa ưc ưi ưm ưn ưng ưt ưu ươc ươi ươm ươn ương ươp ươt ươu \
y yêm yên yêt yêu \
ynh yt yn yp ych yu";

/// Onsets, longest first.
const ONSETS: [&str; 27] = [
    "ngh", "ng", "gh", "gi", "ch", "kh", "nh", "ph", "qu", "th", "tr", "b", "c", "d", "đ", "g", "h", "k", "l", "m",
    "n", "p", "r", "s", "t", "v", "x",
];

/// Tone marks as combining characters: huyền, sắc, ngã, hỏi, nặng.
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', NANG];
/// The nặng tone's dot below.
const NANG: char = '\u{323}';

fn rhymes() -> &'static HashSet<&'static str> {
    static R: OnceLock<HashSet<&'static str>> = OnceLock::new();
    R.get_or_init(|| RHYMES.split_whitespace().collect())
}

/// True when `word` is a Vietnamese syllable (any case).
pub fn is_syllable(word: &str) -> bool {
    let lower = word.to_lowercase();
    let mut tone = None;
    let mut bare = String::new();
    for c in lower.nfd() {
        if TONES.contains(&c) {
            if tone.is_some() {
                return false;
            }
            tone = Some(c);
        } else {
            bare.push(c);
        }
    }
    let bare: String = bare.nfc().collect();
    if bare.is_empty() || !bare.chars().all(char::is_alphabetic) {
        return false;
    }
    let front = |r: &str| r.starts_with(['i', 'e', 'ê', 'y']);
    let split_ok = |onset: &str, rhyme: &str| {
        if !rhymes().contains(rhyme) {
            return false;
        }
        let spelled = match onset {
            "k" | "gh" | "ngh" => front(rhyme),
            "c" | "ng" => !front(rhyme),
            "g" => !rhyme.starts_with(['e', 'ê', 'y']),
            "qu" => !rhyme.starts_with(['u', 'o']),
            "gi" => !rhyme.starts_with('i'),
            _ => true,
        };
        // `ynh`, `yt`, … are `uynh`, `uyt` written after `q`: quỳnh, quýt.
        let after_q = rhyme.starts_with('y') && rhyme.chars().count() > 1 && !rhyme.starts_with("yê");
        let spelled = spelled && (onset == "qu" || !after_q);
        let stop = rhyme.ends_with(['c', 'p', 't']) || rhyme.ends_with("ch");
        spelled && (!stop || matches!(tone, Some('\u{301}' | '\u{323}')))
    };
    ONSETS
        .iter()
        .filter_map(|o| bare.strip_prefix(o).map(|r| (*o, r)))
        .chain(std::iter::once(("", bare.as_str())))
        .any(|(o, r)| split_ok(o, r))
}

/// Words of the gazetteer's names (title case): places of minority languages
/// (`Đắk Lắk`, `Krông`) are words the syllable rules do not cover.
fn place_words() -> &'static HashSet<String> {
    static W: OnceLock<HashSet<String>> = OnceLock::new();
    W.get_or_init(|| {
        let mut words = HashSet::new();
        for (ward, district, province) in crate::places::Gazetteer::builtin().ward_chains() {
            for part in [ward, district, province] {
                for w in part.split([' ', '-', ',']) {
                    words.insert(title_case(w));
                }
            }
        }
        words
    })
}

/// The flag a place or a note earns when one of its words is neither a Vietnamese
/// syllable nor a word of the gazetteer (numbers and abbreviations in capitals
/// such as `TP`, `UBND` pass): `huyệr`, `Châ`, `Con thứ hal` are misreadings.
pub fn check_words(text: &str) -> Option<Flag> {
    let odd = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '.')
        .filter(|w| !w.is_empty())
        .any(is_odd_word);
    odd.then_some(Flag::InvalidSyllable)
}

/// A word that is neither a Vietnamese syllable nor a word of the gazetteer, a number or
/// an abbreviation in capitals: a misreading, in a place or a note.
pub fn is_odd_word(w: &str) -> bool {
    let short_caps = w.chars().count() <= 5 && w.chars().all(|c| c.is_uppercase());
    let numeric = w.chars().any(|c| c.is_ascii_digit());
    !(short_caps || numeric || is_syllable(w) || place_words().contains(&title_case(w)))
}

/// Whether a text of several words carries no mark on any letter (`Qua han` read for
/// `Quá hạn`): Vietnamese is seldom written so, and a faint line read with all its marks
/// lost is all valid syllables still. Abbreviations in capitals are left out.
pub fn marks_lost(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty() && !w.chars().all(char::is_uppercase))
        .collect();
    words.len() >= 2 && words.iter().all(|w| w.is_ascii())
}

/// The name lists.
struct Lists {
    /// Surname → share of the population, percent.
    surnames: HashMap<String, f32>,
    /// Middle and given names.
    words: HashSet<String>,
    /// Folded surname → the listed surname of that folding with the largest share.
    surname_by_fold: HashMap<String, String>,
    /// Folded middle or given name → listed.
    word_folds: HashSet<String>,
    /// Middle and given names another listed one differs from by its marks alone.
    twins: HashSet<String>,
}

fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(|| {
        let mut surnames = HashMap::new();
        let mut words = HashSet::new();
        for line in NAMES.lines().filter(|l| !l.starts_with('#')) {
            match line.split('\t').collect::<Vec<_>>().as_slice() {
                ["s", name, share] => {
                    surnames.insert(name.to_string(), share.parse().unwrap_or(0.2));
                }
                ["m" | "g", name] => {
                    words.insert(name.to_string());
                }
                _ => {}
            }
        }
        let mut surname_by_fold: HashMap<String, String> = HashMap::new();
        for (name, share) in &surnames {
            let best = surname_by_fold.entry(fold(name)).or_insert_with(|| name.clone());
            if surnames[best] < *share {
                *best = name.clone();
            }
        }
        let mut by_fold: HashMap<String, usize> = HashMap::new();
        for w in &words {
            *by_fold.entry(fold(w)).or_default() += 1;
        }
        let twins = words.iter().filter(|w| by_fold[&fold(w)] > 1).cloned().collect();
        let word_folds = by_fold.into_keys().collect();
        Lists {
            surnames,
            words,
            surname_by_fold,
            word_folds,
            twins,
        }
    })
}

/// The surnames of `models/names.tsv` and their share of the population, percent.
pub fn surname_shares() -> &'static HashMap<String, f32> {
    &lists().surnames
}

/// The middle and given names of `models/names.tsv`.
pub fn name_words() -> &'static HashSet<String> {
    &lists().words
}

/// A name (title case, as normalization leaves it) checked word by word: the name to
/// keep and the flags it earns.
pub fn check_name(name: &str) -> (String, Vec<Flag>) {
    let l = lists();
    let mut flags = Vec::new();
    let mut words: Vec<String> = name.split_whitespace().map(str::to_string).collect();
    // Names of other languages (H'Hen, Y-Moan) are not Vietnamese syllables: kept, not
    // checked.
    let checkable = |w: &str| !w.contains(['\'', '’', '-']);
    // A letter alone before a listed surname is a speck read as a letter (`Ỉ Đặng Thị
    // Lụa`): no surname is one letter long.
    if words.len() >= 3
        && words[0].chars().count() == 1
        && !l.surnames.contains_key(&words[0])
        && l.surnames.contains_key(&words[1])
    {
        words.remove(0);
        flags.push(Flag::NameCorrected);
    }
    if words.len() >= 2 && checkable(&words[0]) && !l.surnames.contains_key(&words[0]) {
        if let Some(listed) = l.surname_by_fold.get(&fold(&words[0])) {
            words[0] = listed.clone();
            flags.push(Flag::NameCorrected);
        }
    }
    // A speck under a letter (stain grain, a dotted leader, a rule beneath) reads as the
    // nặng tone's dot: a middle or given name the lists lack, listed without that dot
    // (`Thụ`, `Ngạ` for `Thu`, `Nga`), is taken without it.
    for w in words.iter_mut().skip(1).filter(|w| checkable(w)) {
        let undotted: String = w.nfd().filter(|&c| c != NANG).nfc().collect();
        if undotted != *w && !l.words.contains(w.as_str()) && l.words.contains(&undotted) {
            *w = undotted;
            flags.push(Flag::NameCorrected);
        }
    }
    for (i, w) in words.iter().enumerate().filter(|(_, w)| checkable(w)) {
        if !is_syllable(w) {
            flags.push(Flag::InvalidSyllable);
        } else if i > 0
            && !l.words.contains(w)
            && !l.surnames.contains_key(w)
            && (l.word_folds.contains(&fold(w)) || one_letter_off_a_listed(w, &l.words))
        {
            flags.push(Flag::UncommonName);
        }
    }
    flags.dedup();
    (words.join(" "), flags)
}

/// True when a middle or given name of `name` (title case) is a listed name that another
/// listed name differs from by its marks alone (`Yên` and `Yến`, `Anh` and `Ánh`,
/// `Thương` and `Thượng`): a mark misread there makes a real name, which no check of
/// syllables or lists can tell.
pub fn marks_ambiguous(name: &str) -> bool {
    name.split_whitespace().skip(1).any(|w| lists().twins.contains(w))
}

/// True when one letter added, dropped or changed makes `word` a word of `listed`: a
/// letter lost at a cell's edge (`Cườn` for `Cường`, `Lượ` for `Lượng`) or misread.
fn one_letter_off_a_listed(word: &str, listed: &HashSet<String>) -> bool {
    let w: Vec<char> = word.nfc().collect();
    listed.iter().any(|l| {
        let l: Vec<char> = l.nfc().collect();
        l.len().abs_diff(w.len()) <= 1 && crate::template::edit_distance(&w, &l) == 1
    })
}

/// Capitalizes each word ("nguyễn văn AN" → "Nguyễn Văn An", "h'hen" → "H'Hen").
pub fn title_case(s: &str) -> String {
    let capital = |w: &str| -> String {
        let mut cs = w.chars();
        match cs.next() {
            Some(f) => f.to_uppercase().chain(cs.flat_map(|c| c.to_lowercase())).collect(),
            None => String::new(),
        }
    };
    // A minority name's prefix keeps its capital after the apostrophe ("H'Hen").
    s.split(' ')
        .map(|w| w.split('\'').map(capital).collect::<Vec<String>>().join("'"))
        .collect::<Vec<String>>()
        .join(" ")
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables_of_the_language_pass_and_misreadings_do_not() {
        for ok in [
            "Nguyễn",
            "Trần",
            "Thị",
            "Hương",
            "Khuyến",
            "quyết",
            "giữa",
            "gì",
            "nghiêng",
            "Kiên",
            "Gấm",
            "Đặng",
            "thuở",
            "xoong",
            "Ngọc",
            "Tuấn",
            "Hạnh",
            "Oanh",
            "Uyên",
            "Yến",
            "Quốc",
            "Phượng",
            "Thủy",
            "Giang",
        ] {
            assert!(is_syllable(ok), "{ok}");
        }
        for bad in [
            "Ngô'đình",
            "Nguyẽen",
            "Thj",
            "Hưong",
            "kan",
            "ghe'",
            "cem",
            "ngi",
            "Tuấnn",
            "Đăk",
            "lằt",
            "tàc",
            "Huơng",
            "Lý1",
            "Xq",
            "Trần:",
            "áà",
        ] {
            assert!(!is_syllable(bad), "{bad}");
        }
    }

    #[test]
    fn places_and_notes_with_a_misread_word_are_flagged() {
        assert_eq!(
            check_words("Xã Quỳnh Thạch, huyệr Lưu, Nghệ An"),
            Some(Flag::InvalidSyllable)
        );
        assert_eq!(
            check_words("Xã An Ninh, huyện Châ Sóc Trăng"),
            Some(Flag::InvalidSyllable)
        );
        assert_eq!(check_words("Con thứ hal"), Some(Flag::InvalidSyllable));
        // A note read with every mark lost is syllables all the same.
        assert_eq!(check_words("Qua han"), None);
        assert!(marks_lost("Qua han") && marks_lost("Dang ky lai"));
        for ok in ["Quá hạn", "Con thứ hai", "Con nuôi", "UBND QĐ 12", "Nam", ""] {
            assert!(!marks_lost(ok), "{ok}");
        }
        for ok in [
            "Xã Quỳnh Thạch, huyện Quỳnh Lưu, Nghệ An",
            "Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
            "Xã Ea Tu, TP Buôn Ma Thuột, Đắk Lắk",
            "Bệnh viện huyện Thủy Nguyên, Hải Phòng",
            "Con thứ hai",
            "Đăng ký lại theo QĐ số 12/QĐ-UBND",
        ] {
            assert_eq!(check_words(ok), None, "{ok}");
        }
    }

    #[test]
    fn a_surname_misread_in_its_marks_is_put_right_and_a_given_name_flagged() {
        // A speck before the surname, read as a letter (a form page, conf 0.96).
        assert_eq!(
            check_name("Ỉ Đặng Thị Lụa"),
            ("Đặng Thị Lụa".to_string(), vec![Flag::NameCorrected])
        );
        // Real misreadings of typed pages: Trần read Trấn and Trắn at confidence 0.8–0.93.
        for misread in ["Trấn Văn Hùng", "Trắn Văn Hùng"] {
            let (name, flags) = check_name(misread);
            assert_eq!(name, "Trần Văn Hùng");
            assert_eq!(flags, vec![Flag::NameCorrected]);
        }
        assert_eq!(check_name("Nguyễn Thị Hương"), ("Nguyễn Thị Hương".into(), vec![]));
        // A given name the lists lack but whose letters are a listed one's: a look.
        let (name, flags) = check_name("Nguyễn Thị Hưởng");
        assert_eq!((name.as_str(), flags), ("Nguyễn Thị Hưởng", vec![Flag::UncommonName]));
        // Or one a letter off a listed one (its last letter lost at the cell's edge).
        for cut in ["Huỳnh Minh Cườn", "Trần Văn Hùn"] {
            assert_eq!(check_name(cut).1, vec![Flag::UncommonName], "{cut}");
        }
        // Names a misread mark turns into other names.
        assert!(marks_ambiguous("Trần Diệu Yến") && marks_ambiguous("Lê Đức Thương"));
        assert!(!marks_ambiguous("Nguyễn Thị Lan") && !marks_ambiguous("Trần Diệu Yếm"));
        // A dot under a given name the lists lack, where the name without it is listed:
        // a speck (form pages, their values on dotted leaders, conf 0.5).
        for (misread, right) in [("Vũ Thụ Duyên", "Vũ Thu Duyên"), ("Hồ Thu Ngạ", "Hồ Thu Nga")] {
            assert_eq!(check_name(misread), (right.to_string(), vec![Flag::NameCorrected]));
        }
        // Listed dotted names stay.
        assert_eq!(check_name("Đặng Thị Lụa"), ("Đặng Thị Lụa".into(), vec![]));
        // A word that is no syllable.
        assert_eq!(check_name("Lê Thj Lan").1, vec![Flag::InvalidSyllable]);
        // Names of other languages are kept as written.
        assert_eq!(check_name("H'Hen"), ("H'Hen".into(), vec![]));
    }
}
