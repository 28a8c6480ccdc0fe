//! Plain data passed between the pipeline stages and written to disk.
//!
//! Everything here is `serde`-serializable so that any intermediate result can be dumped,
//! compared in a golden test, or reloaded to resume a batch. The on-disk form of
//! [`PageResult`] is documented field by field in `docs/OUTPUT.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::raster::BBox;

/// The verdict on one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageStatus {
    /// The page was read; its records are pre-filled.
    Ok,
    /// The page is readable but no record could be located on it (no table, no form
    /// labels, or rows that hold no values): an officer enters it by hand. Kept out of
    /// the exports and the record PDFs.
    Manual,
    /// The page decoded but cannot be read well enough to digitize (see `reasons`).
    NotEligible,
    /// The file could not be decoded at all (see `reasons`).
    Error,
}

impl PageStatus {
    /// The name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PageStatus::Ok => "ok",
            PageStatus::Manual => "manual",
            PageStatus::NotEligible => "not_eligible",
            PageStatus::Error => "error",
        }
    }

    /// True when the page's text was read (its words belong in the PDF's text layer).
    pub fn was_read(self) -> bool {
        matches!(self, PageStatus::Ok | PageStatus::Manual)
    }
}

/// Why a page got its verdict, or a note about how it was read. The text written into
/// `reasons` is [`Reason`]'s `Display`; [`Reason::code`] is a stable name for it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// Most of the image is background around the page or torn away.
    MostlyMissing {
        /// Fraction missing, 0..1.
        missing: f32,
        /// The limit, 0..1.
        limit: f32,
    },
    /// Almost no ink, and what there is lies close to the paper's grey.
    FadedOrBlank {
        /// Ink fraction, 0..1.
        ink: f32,
        /// Grey levels between ink and paper.
        contrast: f32,
    },
    /// Almost no ink.
    Blank {
        /// Ink fraction, 0..1.
        ink: f32,
        /// The least ink a page needs, 0..1.
        needs: f32,
    },
    /// The ink lies too close to the paper's grey.
    TooFaded {
        /// Grey levels between ink and paper.
        contrast: f32,
        /// The least contrast needed.
        needs: f32,
    },
    /// OCR found no word on the page.
    NothingRead,
    /// OCR read the page with confidence near zero.
    Unreadable {
        /// Mean word confidence, 0..1.
        confidence: f32,
        /// The least confidence needed.
        needs: f32,
    },
    /// Readable text, but no record was located on the page (status `manual`).
    NoRecords,
    /// A note: the ruled table was found and its rows hold nothing.
    EmptyTable,
    /// A note: no ruled table and no form labels, the page was read as running text.
    NoTable,
    /// A note: the table has no rules; its rows and columns were found from the writing
    /// (its lines and the white gutters between its columns).
    Unruled,
    /// A note: no row of the table reads as its headings (the header covered, torn or
    /// cut away); its columns are taken in the template's order and its first row, which
    /// holds a date as records do, is a record.
    HeaderNotRead,
    /// A note: neither a title nor the headings tell which book the page is of (birth,
    /// marriage, death, …), and no other page of its book does: its table is read by its
    /// own headings and exported under them, with no Ministry template.
    TypeNotTold,
    /// A note: the file states no resolution; this one was assumed.
    AssumedDpi(f32),
    /// A note: the file states no resolution; this one was inferred from the height of
    /// the page's writing.
    InferredDpi(f32),
    /// A note: the page was photographed; its outline was found and its perspective
    /// undone.
    Flattened,
    /// A note: the page curled near the binding; its ruled lines, bent by up to this
    /// many millimetres, were straightened.
    Uncurled(f32),
    /// The file could not be decoded (the decoder's message).
    Decode(String),
    /// A frame of a multi-page file could not be decoded.
    FrameMissing,
    /// An OCR engine failed on the page (the engine's message).
    ReadFailed(String),
    /// The input entry cannot be read at all: a broken symbolic link, a link loop, a
    /// folder that cannot be listed (what was found).
    BadEntry(String),
    /// Reading the page would take more memory than a page may have.
    OverMemory {
        /// About how much it needs, MB.
        needs_mb: u64,
        /// The limit, MB.
        limit_mb: u64,
    },
    /// A note: another page of the book already had the name this page would have had.
    Renamed {
        /// The name it would have had.
        wanted: String,
        /// The name it was given.
        given: String,
    },
}

impl Reason {
    /// A stable name for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::MostlyMissing { .. } => "mostly_missing",
            Reason::FadedOrBlank { .. } => "faded_or_blank",
            Reason::Blank { .. } => "blank",
            Reason::TooFaded { .. } => "too_faded",
            Reason::NothingRead => "nothing_read",
            Reason::Unreadable { .. } => "unreadable",
            Reason::NoRecords => "no_records",
            Reason::EmptyTable => "empty_table",
            Reason::NoTable => "no_table",
            Reason::Unruled => "unruled",
            Reason::HeaderNotRead => "header_not_read",
            Reason::TypeNotTold => "book_type_not_told",
            Reason::AssumedDpi(_) => "assumed_dpi",
            Reason::InferredDpi(_) => "inferred_dpi",
            Reason::Flattened => "flattened",
            Reason::Uncurled(_) => "uncurled",
            Reason::Decode(_) => "decode_error",
            Reason::FrameMissing => "frame_missing",
            Reason::ReadFailed(_) => "read_failed",
            Reason::BadEntry(_) => "bad_entry",
            Reason::Renamed { .. } => "renamed",
            Reason::OverMemory { .. } => "over_memory",
        }
    }

    /// What the review screen says (Vietnamese); `Display` is the English the command
    /// line prints.
    pub fn text_vi(&self) -> String {
        let pct = |x: f32, digits: usize| format!("{:.*}", digits, x * 100.0).replace('.', ",");
        let num = |x: f32, digits: usize| format!("{x:.digits$}").replace('.', ",");
        match self {
            Reason::MostlyMissing { missing, limit } => format!(
                "Trang mất phần lớn: {}% ảnh là phần rách hoặc nền (giới hạn {}%)",
                pct(*missing, 0),
                pct(*limit, 0)
            ),
            Reason::FadedOrBlank { ink, contrast } => format!(
                "Mực phai không đọc được hoặc trang trắng: mực chiếm {}% trang, đậm hơn nền giấy {} mức xám",
                pct(*ink, 2),
                num(*contrast, 0)
            ),
            Reason::Blank { ink, needs } => format!(
                "Trang trắng: mực chiếm {}% trang (cần {}%)",
                pct(*ink, 2),
                pct(*needs, 1)
            ),
            Reason::TooFaded { contrast, needs } => format!(
                "Mực quá mờ: chỉ đậm hơn nền giấy {} mức xám (cần {})",
                num(*contrast, 0),
                num(*needs, 0)
            ),
            Reason::NothingRead => "Không đọc được chữ nào trên trang".into(),
            Reason::Unreadable { confidence, needs } => format!(
                "Chữ không đọc được: độ tin cậy nhận dạng trung bình {} (cần {})",
                num(*confidence, 2),
                num(*needs, 2)
            ),
            Reason::NoRecords => "Trang đọc được nhưng không tìm thấy bản ghi: cần nhập tay".into(),
            Reason::EmptyTable => "Các hàng của bảng đều trống".into(),
            Reason::NoTable => "Không thấy bảng kẻ ô hay nhãn biểu mẫu: trang được đọc như văn bản".into(),
            Reason::Unruled => "Bảng không có đường kẻ: hàng và cột được xác định theo chữ viết".into(),
            Reason::HeaderNotRead => {
                "Không đọc được hàng tiêu đề của bảng: các cột lấy theo thứ tự của mẫu, hàng đầu là một bản ghi".into()
            }
            Reason::TypeNotTold => {
                "Không xác định được loại sổ (tên sổ, tiêu đề cột): bảng được đọc theo tiêu đề cột của chính nó, không theo mẫu nhập của Bộ".into()
            }
            Reason::AssumedDpi(dpi) => format!("Tệp không ghi độ phân giải: lấy {} dpi", num(*dpi, 0)),
            Reason::InferredDpi(dpi) => format!(
                "Tệp không ghi độ phân giải: ước {} dpi theo chiều cao chữ viết",
                num(*dpi, 0)
            ),
            Reason::Flattened => "Trang chụp bằng máy ảnh: đã tìm viền trang và nắn phẳng phối cảnh".into(),
            Reason::Uncurled(mm) => format!(
                "Trang cong gần gáy sách: đã nắn thẳng các dòng kẻ (cong tới {} mm)",
                num(*mm, 1)
            ),
            Reason::Decode(message) => format!("Tệp ảnh hỏng hoặc không hỗ trợ ({message})"),
            Reason::FrameMissing => "Không giải mã được trang này của tệp nhiều trang".into(),
            Reason::ReadFailed(message) => format!("Không đọc được trang ({message})"),
            Reason::BadEntry(what) => format!("Không đọc được mục trong thư mục đầu vào ({what})"),
            Reason::OverMemory { needs_mb, limit_mb } => format!(
                "Trang quá lớn: cần khoảng {needs_mb} MB bộ nhớ, quá mức {limit_mb} MB cho một trang (--page-memory)"
            ),
            Reason::Renamed { wanted, given } => {
                format!("Một trang khác của sổ đã mang tên {wanted}: các tệp của trang này mang tên {given}")
            }
        }
    }

    /// The reason as the page result keeps it beside its English text.
    pub fn note(&self) -> ReasonCode {
        ReasonCode {
            code: self.code().to_string(),
            vi: self.text_vi(),
        }
    }
}

/// A reason's stable code and its Vietnamese text, in `PageResult::reason_codes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCode {
    /// [`Reason::code`]: `unreadable`, `no_records`, …
    pub code: String,
    /// What the review screen shows.
    pub vi: String,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::MostlyMissing { missing, limit } => write!(
                f,
                "page mostly missing: {:.0}% of the image is torn away or background (limit {:.0}%)",
                missing * 100.0,
                limit * 100.0
            ),
            Reason::FadedOrBlank { ink, contrast } => write!(
                f,
                "ink faded past reading or blank page: ink covers {:.2}% of the page, {:.0} grey levels below the paper",
                ink * 100.0,
                contrast
            ),
            Reason::Blank { ink, needs } => write!(
                f,
                "blank page: ink covers {:.2}% of the page (needs {:.1}%)",
                ink * 100.0,
                needs * 100.0
            ),
            Reason::TooFaded { contrast, needs } => write!(
                f,
                "ink too faded: ink lies {contrast:.0} grey levels below the paper (needs {needs:.0})"
            ),
            Reason::NothingRead => f.write_str("no text could be read on the page"),
            Reason::Unreadable { confidence, needs } => write!(
                f,
                "text unreadable: mean OCR confidence {confidence:.2} (needs {needs:.2})"
            ),
            Reason::NoRecords => f.write_str("readable text, but no record could be located: enter by hand"),
            Reason::EmptyTable => f.write_str("the table's rows are empty"),
            Reason::NoTable => f.write_str("no ruled table and no form labels found: text read as a page"),
            Reason::Unruled => f.write_str("table without rules: its rows and columns found from the writing"),
            Reason::HeaderNotRead => f.write_str(
                "no row of the table reads as its headings (covered, torn or cut away): columns taken in the template's order, its first row a record",
            ),
            Reason::TypeNotTold => f.write_str(
                "the book's type (birth, marriage, death, …) is told neither by a title nor by the headings: the table is read by its own headings, with no Ministry template",
            ),
            Reason::AssumedDpi(dpi) => write!(f, "no resolution in the file: assumed {dpi} dpi"),
            Reason::InferredDpi(dpi) => write!(
                f,
                "no resolution in the file: {dpi:.0} dpi inferred from the height of its writing \
                 (the nearest common scanning resolution)"
            ),
            Reason::Flattened => f.write_str("photographed page: outline found, perspective undone"),
            Reason::Uncurled(mm) => write!(
                f,
                "page curled near the binding: its ruled lines, bent by up to {mm:.1} mm, straightened"
            ),
            Reason::Decode(message) => f.write_str(message),
            Reason::FrameMissing => f.write_str("frame could not be decoded"),
            Reason::ReadFailed(message) => write!(f, "the page could not be read: {message}"),
            Reason::BadEntry(what) => write!(f, "the input entry cannot be read: {what}"),
            Reason::OverMemory { needs_mb, limit_mb } => write!(
                f,
                "the page is too large to read: it needs about {needs_mb} MB, over the {limit_mb} MB a page may take (--page-memory)"
            ),
            Reason::Renamed { wanted, given } => write!(
                f,
                "another page of the book is already named {wanted}: this page's outputs are named {given}"
            ),
        }
    }
}

/// One pre-filled field of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldResult {
    /// The text as OCR read it (NFC).
    pub text: String,
    /// The value normalized for export (`dd.mm.yyyy` dates, sex as code, …).
    pub value: String,
    /// 0..1: OCR confidence lowered by failed checks.
    pub confidence: f32,
    /// Where the cell lies on the restored page.
    pub bbox: BBox,
    /// Why the field deserves a look (`low_confidence`, `invalid_date`, …).
    pub flags: Vec<Flag>,
    /// The free reading of the line model (each frame's best character), when the field's
    /// text was read constrained by its kind and differs from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<String>,
    /// An officer's correction (the OCR's `text` and `value` stay as they were read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<FieldReview>,
}

impl FieldResult {
    /// The value to export: the officer's correction when there is one, else the OCR's.
    pub fn final_value(&self) -> &str {
        self.review.as_ref().map_or(&self.value, |r| &r.value)
    }

    /// True when an officer should look at the field: a flag other than `empty`, and no
    /// correction made yet.
    pub fn doubtful(&self) -> bool {
        self.review.is_none() && self.flags.iter().any(|f| *f != Flag::Empty)
    }

    /// True when the field carries `flag`.
    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// Why a field deserves an officer's look. The JSON name (`low_confidence`, …) is stable;
/// [`Flag::label_vi`] is what the review screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Nothing was read in the cell.
    Empty,
    /// The reading is doubtful (confidence below the bar).
    LowConfidence,
    /// Not a real date.
    InvalidDate,
    /// A year alone, no day and month.
    YearOnly,
    /// Changed to the closest entry of a list (ethnicities, places, …).
    Snapped,
    /// Not in the field's list, and not close to any entry.
    UnknownValue,
    /// A registration number without digits.
    NotANumber,
    /// Digits in a person's name.
    DigitsInName,
    /// Born after the registration date.
    BirthAfterRegistration,
    /// The year written in the number differs from the registration year.
    YearMismatch,
    /// The number's year is known from nowhere.
    YearUnknown,
    /// The number's year taken from the other records of the page (its own registration
    /// date has none, or a doubtful one they contradict).
    YearFromPage,
    /// The number taken from the run of numbers down the page.
    FromSequence,
    /// Not a 12- or 9-digit personal ID.
    InvalidId,
    /// The ID's province code is not one of 001–096.
    IdProvinceUnknown,
    /// The ID's sex digit contradicts the record.
    IdSexMismatch,
    /// The ID's birth-year digits contradict the birth date.
    IdYearMismatch,
    /// The reading constrained by the field's kind and the free reading differ widely.
    ReadingsDisagree,
    /// A word of a name is no Vietnamese syllable (onset, rhyme and tone rules).
    InvalidSyllable,
    /// A surname the list lacks, read as the listed surname with the same letters (marks
    /// aside): `Trấn` → `Trần`; or a letter alone before a listed surname left out (a
    /// speck read as a letter: `Ỉ Đặng Thị Lụa`).
    NameCorrected,
    /// A middle or given name the lists lack whose letters, marks aside, are a listed
    /// one's, or that is one letter off a listed one: a mark may be misread, a letter
    /// lost.
    UncommonName,
    /// A note of several words with no mark on any letter (`Qua han` for `Quá hạn`):
    /// Vietnamese is seldom written so, the marks were likely lost in reading.
    MarksLost,
    /// A value written on a dotted leader, read with a dot below a letter (`Cọn`), a full
    /// stop (`TP.`) or a comma that it lacks when the leader's dots under the writing are
    /// erased: the dot may be the leader's.
    MarkOnLeader,
    /// A date read as no real date, put right by the book's rules (one digit changed).
    DateRepaired,
    /// A day or month of one digit where the page's other dates of the column have two:
    /// a digit may have been lost (`5/08/1981` for `15/08/1981`).
    DateShorter,
    /// Empty where every record has a value (the template's required fields: the number,
    /// the child's name, birth date and sex, the registration date).
    Missing,
    /// Empty on a form page where the field's printed label was not found (a stain over
    /// it, a label worded otherwise): whether the page holds a value there is unknown.
    LabelNotFound,
}

impl Flag {
    /// Every flag, in a stable order.
    pub const ALL: [Flag; 27] = [
        Flag::Empty,
        Flag::LowConfidence,
        Flag::InvalidDate,
        Flag::YearOnly,
        Flag::Snapped,
        Flag::UnknownValue,
        Flag::NotANumber,
        Flag::DigitsInName,
        Flag::BirthAfterRegistration,
        Flag::YearMismatch,
        Flag::YearUnknown,
        Flag::YearFromPage,
        Flag::FromSequence,
        Flag::InvalidId,
        Flag::IdProvinceUnknown,
        Flag::IdSexMismatch,
        Flag::IdYearMismatch,
        Flag::ReadingsDisagree,
        Flag::InvalidSyllable,
        Flag::NameCorrected,
        Flag::UncommonName,
        Flag::MarksLost,
        Flag::MarkOnLeader,
        Flag::DateRepaired,
        Flag::DateShorter,
        Flag::Missing,
        Flag::LabelNotFound,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Empty => "empty",
            Flag::LowConfidence => "low_confidence",
            Flag::InvalidDate => "invalid_date",
            Flag::YearOnly => "year_only",
            Flag::Snapped => "snapped",
            Flag::UnknownValue => "unknown_value",
            Flag::NotANumber => "not_a_number",
            Flag::DigitsInName => "digits_in_name",
            Flag::BirthAfterRegistration => "birth_after_registration",
            Flag::YearMismatch => "year_mismatch",
            Flag::YearUnknown => "year_unknown",
            Flag::YearFromPage => "year_from_page",
            Flag::FromSequence => "from_sequence",
            Flag::InvalidId => "invalid_id",
            Flag::IdProvinceUnknown => "id_province_unknown",
            Flag::IdSexMismatch => "id_sex_mismatch",
            Flag::IdYearMismatch => "id_year_mismatch",
            Flag::ReadingsDisagree => "readings_disagree",
            Flag::InvalidSyllable => "invalid_syllable",
            Flag::NameCorrected => "name_corrected",
            Flag::UncommonName => "uncommon_name",
            Flag::MarksLost => "marks_lost",
            Flag::MarkOnLeader => "mark_on_leader",
            Flag::DateRepaired => "date_repaired",
            Flag::DateShorter => "date_shorter",
            Flag::Missing => "missing",
            Flag::LabelNotFound => "label_not_found",
        }
    }

    /// What the review screen says (Vietnamese).
    pub fn label_vi(self) -> &'static str {
        match self {
            Flag::Empty => "trống",
            Flag::LowConfidence => "độ tin cậy thấp",
            Flag::InvalidDate => "ngày không hợp lệ",
            Flag::YearOnly => "chỉ có năm",
            Flag::Snapped => "đã khớp danh mục",
            Flag::UnknownValue => "không có trong danh mục",
            Flag::NotANumber => "không phải số",
            Flag::DigitsInName => "tên có chữ số",
            Flag::BirthAfterRegistration => "ngày sinh sau ngày đăng ký",
            Flag::YearMismatch => "năm không khớp năm đăng ký",
            Flag::YearUnknown => "không rõ năm",
            Flag::YearFromPage => "năm lấy từ trang",
            Flag::FromSequence => "suy từ số thứ tự liền kề",
            Flag::InvalidId => "số định danh không hợp lệ",
            Flag::IdProvinceUnknown => "mã tỉnh không có",
            Flag::IdSexMismatch => "số định danh không khớp giới tính",
            Flag::IdYearMismatch => "số định danh không khớp năm sinh",
            Flag::ReadingsDisagree => "đọc tự do khác xa kết quả",
            Flag::InvalidSyllable => "có chữ không phải âm tiết tiếng Việt",
            Flag::NameCorrected => "họ đã sửa theo danh sách họ",
            Flag::UncommonName => "tên ít gặp, gần một tên thường gặp",
            Flag::MarksLost => "không có dấu: có thể đọc mất dấu",
            Flag::MarkOnLeader => "dấu nặng hoặc dấu chấm có thể là chấm của dòng kẻ",
            Flag::DateRepaired => "ngày đã sửa theo quy tắc của sổ",
            Flag::DateShorter => "ngày viết ngắn hơn các ngày khác trên trang",
            Flag::Missing => "thiếu thông tin bắt buộc",
            Flag::LabelNotFound => "không tìm thấy nhãn in trên trang: xem bản quét",
        }
    }

    /// A failed check (it caps the field's confidence), as opposed to a note
    /// (`empty`, `year_only`) or the confidence flag itself.
    pub fn is_failed_check(self) -> bool {
        !matches!(self, Flag::LowConfidence | Flag::YearOnly | Flag::Empty)
    }
}

/// How a page's columns were given their field ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnMapping {
    /// Nothing was mapped: the page has no table read (written as an empty string).
    #[default]
    #[serde(rename = "")]
    None,
    /// From the header row's headings.
    Header,
    /// The template's order (the header could not be read).
    TemplateOrder,
    /// A form page: values found after their printed labels.
    FormLabels,
}

/// Who changed something during review, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The reviewer's name.
    pub by: String,
    /// When, RFC 3339 UTC (`2026-11-22T10:31:02Z`).
    pub at: String,
}

/// An officer's correction of a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldReview {
    /// The corrected value (NFC).
    pub value: String,
    /// Who made it, and when.
    #[serde(flatten)]
    pub signed: Signature,
}

/// An officer's verdict on a page, overriding the pipeline's `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageReview {
    /// `ok` or `not_eligible`.
    pub status: PageStatus,
    /// Why (required for `not_eligible`).
    pub reason: String,
    /// Who decided, and when.
    #[serde(flatten)]
    pub signed: Signature,
}

/// One record (a table row of a ledger book).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordResult {
    /// 1-based row number within the page's table body.
    pub row: u32,
    /// The row's box on the restored page.
    pub bbox: BBox,
    /// Field id (Ministry template id) → field.
    pub fields: BTreeMap<String, FieldResult>,
    /// Set when an officer confirmed the record in review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Signature>,
}

/// Measures of how readable the restored page is; eligibility is judged on them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageQuality {
    /// Fraction of the page area that is background around the page or torn away (0..1).
    pub missing_fraction: f32,
    /// Fraction of the page area that is ink after binarization (0..1).
    pub ink_fraction: f32,
    /// How far ink lies below the flattened paper, median grey levels (0..255); faded
    /// pages score low.
    pub contrast: f32,
    /// Mean OCR word confidence over the page (0..1), once read.
    pub ocr_confidence: f32,
}

/// A word the OCR found, in restored-page pixels; the PDF text layer is built from these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WordBox {
    /// The word (NFC).
    pub text: String,
    /// Its box on the restored page.
    pub bbox: BBox,
    /// OCR confidence 0..1.
    pub confidence: f32,
}

fn birth() -> String {
    "ks".to_string()
}

fn one() -> u32 {
    1
}

/// The result for one page: written as `pages/<name>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageResult {
    /// Path of the source file relative to the input folder.
    pub source: String,
    /// Frame index within a multi-page TIFF (0 for single images).
    #[serde(default)]
    pub frame: u32,
    /// Number of frames in the source file.
    #[serde(default = "one")]
    pub frames: u32,
    /// The book (folder) name.
    pub book: String,
    /// 1-based position of the page within the book.
    pub page: u32,
    /// Stem of this page's output files.
    pub name: String,
    /// SHA-256 of the source file, lowercase hex.
    pub sha256: String,
    /// Verdict.
    pub status: PageStatus,
    /// Human-readable reasons for `not_eligible` or `error`, and notes for `ok`.
    pub reasons: Vec<String>,
    /// The same reasons, in the same order, as stable codes with their Vietnamese text.
    #[serde(default)]
    pub reason_codes: Vec<ReasonCode>,
    /// Angle of the content as found, degrees, counter-clockwise positive.
    pub skew_deg: f32,
    /// Resolution used for the page (from the file, or assumed).
    pub dpi: f32,
    /// Size of the restored page image in pixels: `[width, height]`.
    pub size: [u32; 2],
    /// Size of the source frame in pixels.
    #[serde(default)]
    pub source_size: [u32; 2],
    /// Resolution of the source frame (from the file, or assumed).
    #[serde(default)]
    pub source_dpi: f32,
    /// All text read on the page, in reading order (rows top to bottom, cells left to right).
    pub text: String,
    /// Readability measures.
    pub quality: PageQuality,
    /// The table's box on the restored page, if a ruled table was found.
    pub table: Option<BBox>,
    /// Column field ids, left to right, as mapped from the header (or the template order).
    pub columns: Vec<String>,
    /// How the columns were mapped (`header`, `template_order`, `form_labels`; empty
    /// when no table was read).
    pub column_mapping: ColumnMapping,
    /// The book type the page was read as (`ks`, `kh`, `kt`, `cmc`, `hn`, `ncn`, `gh`, or
    /// `unknown`: its table read by its own headings).
    #[serde(default = "birth")]
    pub book_type: String,
    /// How that type was had (`flag`, `title`, `headings`, `labels`, `book`, `not_told`).
    #[serde(default)]
    pub book_type_from: crate::booktype::TypeFrom,
    /// The records found on the page.
    pub records: Vec<RecordResult>,
    /// Every word read, with its box (drives the PDF text layer).
    pub words: Vec<WordBox>,
    /// The restored page image, relative to the book folder (absent for `error` pages).
    pub image: Option<String>,
    /// A perceptual hash of the restored page (64 hex digits; see `checks::page_hash`):
    /// the book checks find a page scanned twice by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_hash: Option<String>,
    /// An officer's verdict on the page, when one was given in review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<PageReview>,
}

/// Where a page comes from: the fields of its result that name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageOrigin {
    /// Path of the source file relative to the input folder.
    pub source: String,
    /// Frame index within the file.
    pub frame: u32,
    /// Number of frames in the file.
    pub frames: u32,
    /// The book name.
    pub book: String,
    /// 1-based position of the page within the book.
    pub page: u32,
    /// Stem of the page's output files.
    pub name: String,
    /// SHA-256 of the source file, lowercase hex.
    pub sha256: String,
}

impl PageResult {
    /// A page that could not be decoded: status `error`, with the reason.
    pub fn error(origin: PageOrigin, reason: &Reason) -> PageResult {
        PageResult::named(origin, PageStatus::Error, std::slice::from_ref(reason))
    }

    /// Adds a reason (or note) after those the page has.
    pub fn push_reason(&mut self, reason: &Reason) {
        self.reasons.push(reason.to_string());
        self.reason_codes.push(reason.note());
    }

    /// A result that holds nothing but where the page comes from and its verdict.
    pub(crate) fn named(origin: PageOrigin, status: PageStatus, reasons: &[Reason]) -> PageResult {
        PageResult {
            source: origin.source,
            frame: origin.frame,
            frames: origin.frames,
            book: origin.book,
            page: origin.page,
            name: origin.name,
            sha256: origin.sha256,
            status,
            reasons: reasons.iter().map(Reason::to_string).collect(),
            reason_codes: reasons.iter().map(Reason::note).collect(),
            skew_deg: 0.0,
            dpi: 0.0,
            size: [0, 0],
            source_size: [0, 0],
            source_dpi: 0.0,
            text: String::new(),
            quality: PageQuality::default(),
            table: None,
            columns: Vec::new(),
            column_mapping: ColumnMapping::None,
            book_type: String::new(),
            book_type_from: crate::booktype::TypeFrom::NotTold,
            records: Vec::new(),
            words: Vec::new(),
            image: None,
            page_hash: None,
            review: None,
        }
    }

    /// The verdict that counts: the officer's when given, else the pipeline's.
    pub fn final_status(&self) -> PageStatus {
        match (&self.review, self.status) {
            (_, PageStatus::Error) => PageStatus::Error,
            (Some(r), _) => r.status,
            (None, s) => s,
        }
    }
}
