//! The document's frame: catalog, document information, XMP metadata and the sRGB output
//! intent that PDF/A requires, and the dates written into them.

use super::{producer, DocInfo, Refs, Sink};
use pdf_writer::types::OutputIntentSubtype;
use pdf_writer::writers::{Catalog, DocumentInfo};
use pdf_writer::{Date, Filter, Finish, TextStr};
use std::io::Write;

/// Writes the catalog (with its metadata and output intent), the document information
/// dictionary, the XMP packet and the ICC profile.
pub(super) fn write_catalog<W: Write>(sink: &mut Sink<W>, refs: &Refs, info: &DocInfo) {
    let date = pdf_date(info.created_unix);
    let producer = producer();
    {
        let mut catalog = sink.next().indirect(refs.catalog).start::<Catalog>();
        catalog.pages(refs.tree).metadata(refs.meta);
        let mut intents = catalog.output_intents();
        intents
            .push()
            .subtype(OutputIntentSubtype::PDFA)
            .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
            .info(TextStr("sRGB IEC61966-2.1"))
            .dest_output_profile(refs.icc);
        intents.finish();
    }
    sink.next()
        .indirect(refs.info)
        .start::<DocumentInfo>()
        .title(TextStr(&info.title))
        .producer(TextStr(&producer))
        .creator(TextStr(&producer))
        .creation_date(date)
        .modified_date(date);
    let xmp = xmp_packet(info, &producer);
    sink.next().metadata(refs.meta, xmp.as_bytes());
    let icc = srgb_profile();
    sink.next().icc_profile(refs.icc, &icc).n(3).filter(Filter::FlateDecode);
}

/// An sRGB ICC profile for the output intent. The encoder stamps the current time into
/// the header; a fixed one keeps the output reproducible. The profile ID (an MD5 over the
/// header) is cleared, which the ICC specification reads as "not computed".
fn srgb_profile() -> Vec<u8> {
    let mut icc = moxcms::ColorProfile::new_srgb().encode().expect("sRGB profile encodes");
    // dateTimeNumber at 24..36: 2024-01-01 00:00:00.
    let date: [u16; 6] = [2024, 1, 1, 0, 0, 0];
    for (i, v) in date.iter().enumerate() {
        icc[24 + 2 * i..26 + 2 * i].copy_from_slice(&v.to_be_bytes());
    }
    icc[84..100].fill(0);
    super::deflate(&icc)
}

/// (year, month, day, hour, minute, second) in UTC from Unix seconds.
pub fn civil(unix: i64) -> (i32, u8, u8, u8, u8, u8) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as i32,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs % 3600 / 60) as u8,
        (secs % 60) as u8,
    )
}

fn pdf_date(unix: i64) -> Date {
    let (y, mo, d, h, mi, s) = civil(unix);
    Date::new(y as u16)
        .month(mo)
        .day(d)
        .hour(h)
        .minute(mi)
        .second(s)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// ISO 8601 form of a Unix time, as XMP wants it.
pub fn iso_date(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xmp_packet(info: &DocInfo, producer: &str) -> String {
    let date = iso_date(info.created_unix);
    let sources: String = info
        .sources
        .iter()
        .map(|s| format!("<rdf:li>{}</rdf:li>", xml_escape(s)))
        .collect();
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" \
xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>{level}</pdfaid:conformance>\n\
<dc:format>application/pdf</dc:format>\n\
<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{desc}</rdf:li></rdf:Alt></dc:description>\n\
<dc:relation><rdf:Bag>{sources}</rdf:Bag></dc:relation>\n\
<xmp:CreateDate>{date}</xmp:CreateDate>\n<xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
<xmp:MetadataDate>{date}</xmp:MetadataDate>\n<xmp:CreatorTool>{producer}</xmp:CreatorTool>\n\
<pdf:Producer>{producer}</pdf:Producer>\n\
</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>",
        title = xml_escape(&info.title),
        level = if info.unicode_level { "U" } else { "B" },
        desc = xml_escape(&info.description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(iso_date(1_795_333_800), "2026-11-22T07:50:00+00:00");
    }
}
