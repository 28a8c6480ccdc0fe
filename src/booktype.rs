//! Which book a page belongs to: birth, marriage, death, parent–child recognition,
//! marital-status confirmation, adoption or guardianship, told by the title printed on
//! the page ("SỔ ĐĂNG KÝ KẾT HÔN") or by its column headings; and a book's type from its
//! pages'.

use crate::model::{PageResult, PageStatus, WordBox};
use crate::template::{fold, similarity, Layout, Template, HEADING_MATCH};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A book whose type could not be told: its tables read by their own headings.
pub const UNKNOWN: &str = "unknown";

/// The book types: those with a Ministry import template first.
pub const TYPES: &[&str] = &["ks", "kh", "kt", "cmc", "hn", "ncn", "gh"];

/// What a type is called in reports.
pub fn type_name(code: &str) -> &'static str {
    match code {
        "ks" => "khai sinh",
        "kh" => "kết hôn",
        "kt" => "khai tử",
        "cmc" => "nhận cha, mẹ, con",
        "hn" => "xác nhận tình trạng hôn nhân",
        "ncn" => "nuôi con nuôi",
        "gh" => "giám hộ",
        _ => "chưa rõ loại",
    }
}

/// How a page's book type was had.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeFrom {
    /// Given with `--book-type` (and every result from before types were told).
    #[default]
    Flag,
    /// The book's title printed on the page.
    Title,
    /// The table's column headings.
    Headings,
    /// A form's printed labels.
    Labels,
    /// The page told nothing; its book's other pages did.
    Book,
    /// Nothing told it: the page's table read by its own headings.
    NotTold,
}

impl TypeFrom {
    /// Whether the page told its type by itself.
    pub fn by_page(self) -> bool {
        matches!(self, TypeFrom::Title | TypeFrom::Headings | TypeFrom::Labels)
    }
}

/// Every built-in ledger template, those of the types with a Ministry template first.
pub fn ledgers() -> Vec<Template> {
    TYPES
        .iter()
        .filter_map(|t| Template::for_book(t, Layout::Ledger).ok())
        .collect()
}

/// The book type a title names among `words` (read over the top of a page), with how
/// well it reads: every template's titles looked for as runs of as many words, folded
/// ([`similarity`] 0.8 at least); the longest title found wins ("Sổ đăng ký kết hôn"
/// over "Kết hôn", "Xác nhận tình trạng hôn nhân" never taken for a marriage book).
pub fn from_title(words: &[WordBox], templates: &[Template]) -> Option<String> {
    let folded: Vec<String> = words.iter().map(|w| fold(&w.text)).filter(|w| !w.is_empty()).collect();
    let mut best: Option<(f32, &str)> = None;
    for t in templates {
        for title in &t.titles {
            let title = fold(title);
            let k = title.split(' ').count();
            for window in folded.windows(k) {
                let s = similarity(&window.join(" "), &title);
                if s >= 0.8 {
                    let score = s * title.len() as f32;
                    if best.is_none_or(|(b, _)| score > b) {
                        best = Some((score, t.book_type.as_str()));
                    }
                }
            }
        }
    }
    best.map(|(_, t)| t.to_string())
}

/// The book type whose ledger headings the headings read (`headers`, one per column)
/// match best: for each template, how many headings read like one of its own (band
/// names count too), and the type taken when it matches three at least and more than
/// any other type's.
pub fn from_headings(headers: &[String], templates: &[Template]) -> Option<usize> {
    let scores: Vec<f32> = templates
        .iter()
        .map(|t| {
            headers
                .iter()
                .map(|h| fold(h))
                .filter(|h| !h.is_empty())
                .map(|h| {
                    let heading = t
                        .columns
                        .iter()
                        .flat_map(|c| &c.headings)
                        .chain(t.bands.iter().flat_map(|b| &b.names))
                        .map(|g| similarity(&h, &fold(g)))
                        .fold(0.0, f32::max);
                    if heading >= HEADING_MATCH {
                        heading
                    } else {
                        0.0
                    }
                })
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..templates.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (first, second) = (order.first()?, order.get(1));
    let margin = second.map_or(scores[*first], |s| scores[*first] - scores[*s]);
    (scores[*first] >= 3.0 * HEADING_MATCH && margin >= 0.5).then_some(*first)
}

/// A book's type from its pages: the type most of the pages that told theirs told (a
/// title counting over headings when as many pages tell each); `None` when none told.
pub fn of_pages<'a>(pages: impl IntoIterator<Item = &'a PageResult>) -> Option<String> {
    let mut votes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for p in pages {
        if p.status == PageStatus::Error || !p.book_type_from.by_page() {
            continue;
        }
        let v = votes.entry(p.book_type.as_str()).or_default();
        v.0 += 1;
        v.1 += usize::from(p.book_type_from == TypeFrom::Title);
    }
    votes.into_iter().max_by_key(|(_, v)| *v).map(|(t, _)| t.to_string())
}

/// The type a book's outputs take: the one given for the run, else the one its pages
/// tell ([`of_pages`]), else the type its pages were read as (results from before types
/// were told: birth), else [`UNKNOWN`].
pub fn of_book<'a>(fixed: Option<&str>, pages: impl IntoIterator<Item = &'a PageResult> + Clone) -> String {
    if let Some(t) = fixed {
        return t.to_string();
    }
    if let Some(t) = of_pages(pages.clone()) {
        return t;
    }
    pages
        .into_iter()
        .find(|p| p.status != PageStatus::Error && p.book_type_from == TypeFrom::Flag)
        .map_or_else(|| UNKNOWN.to_string(), |p| p.book_type.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<WordBox> {
        text.split(' ')
            .enumerate()
            .map(|(i, w)| WordBox {
                text: w.to_string(),
                bbox: [i as u32 * 50, 0, 40, 20],
                confidence: 0.9,
            })
            .collect()
    }

    #[test]
    fn a_title_names_its_book_type() {
        let all = ledgers();
        let told = |t: &str| from_title(&words(t), &all);
        assert_eq!(told("SỔ ĐĂNG KÝ KẾT HÔN — NĂM 1990").as_deref(), Some("kh"));
        assert_eq!(told("SỔ ĐĂNG KÝ KHAI TỬ NĂM 1978").as_deref(), Some("kt"));
        assert_eq!(told("Sổ đăng ký khai sinh").as_deref(), Some("ks"));
        assert_eq!(told("SỔ ĐĂNG KÝ NHẬN CHA, MẸ, CON").as_deref(), Some("cmc"));
        // "hôn nhân", not "kết hôn".
        assert_eq!(told("SỔ CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN").as_deref(), Some("hn"));
        assert_eq!(told("SỔ ĐĂNG KÝ NUÔI CON NUÔI").as_deref(), Some("ncn"));
        // A title read with a mark lost still tells.
        assert_eq!(told("SO DANG KY KET HON").as_deref(), Some("kh"));
        assert_eq!(told("DANH SÁCH HỌC SINH"), None);
    }

    #[test]
    fn headings_tell_a_death_book_from_a_birth_book_and_say_nothing_when_unsure() {
        let all = ledgers();
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let death = h(&[
            "Số",
            "Họ và tên người chết",
            "Ngày sinh",
            "Giới tính",
            "Nơi chết",
            "Nguyên nhân chết",
            "Ngày đăng ký",
        ]);
        assert_eq!(
            from_headings(&death, &all).map(|i| all[i].book_type.as_str()),
            Some("kt")
        );
        let birth = h(&[
            "Số",
            "Họ và tên",
            "Ngày sinh",
            "Giới tính",
            "Nơi sinh",
            "Họ tên mẹ",
            "Họ tên cha",
        ]);
        assert_eq!(
            from_headings(&birth, &all).map(|i| all[i].book_type.as_str()),
            Some("ks")
        );
        // Headings every type shares tell nothing.
        assert_eq!(from_headings(&h(&["Số", "Họ và tên", "Ghi chú"]), &all), None);
        assert_eq!(from_headings(&h(&["Cột 1", "Cột 2", "Cột 3"]), &all), None);
    }
}
