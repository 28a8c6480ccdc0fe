//! Several officers on one book: record versions and conflicts, who is where, and what
//! each has done.
//!
//! A record's version counts the changes made to it (field corrections and
//! confirmations), in journal order; it is rebuilt from the journal at start, so it
//! survives restarts. A change says which version its officer saw (`base`). It is a
//! conflict when, since then, another officer changed the same field (or, to confirm a
//! record, anything in it): the second writer is shown the first's value and decides,
//! rather than overwriting it unseen. Changes to other fields of the record go through.

use super::{Change, Entry};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Who last touched something of a record, at which version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Touch {
    /// The record's version after the change.
    pub version: u32,
    /// The officer.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// A record's history in review.
#[derive(Clone, Debug, Default)]
pub struct RecordHistory {
    /// Changes made to the record so far.
    pub version: u32,
    /// The last change of each field.
    pub fields: HashMap<String, Touch>,
    /// The last confirmation (or its withdrawal).
    pub accepted: Option<Touch>,
}

/// What a change collides with: the other officer's last change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The field both changed (absent for a confirmation).
    pub field: Option<String>,
    /// The other officer's change.
    pub touch: Touch,
    /// The record's version now.
    pub version: u32,
}

/// The versions of a book's records, keyed by page name and row.
#[derive(Clone, Debug, Default)]
pub struct Versions {
    records: HashMap<(String, u32), RecordHistory>,
}

impl Versions {
    /// The versions the entries of a journal leave (entries for pages `known` does not
    /// accept are left out).
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>, known: impl Fn(&Entry) -> bool) -> Versions {
        let mut v = Versions::default();
        for e in entries {
            if known(e) {
                v.record(e);
            }
        }
        v
    }

    /// The version of a record (0 before any change).
    pub fn version(&self, page: &str, row: u32) -> u32 {
        self.records.get(&(page.to_string(), row)).map_or(0, |h| h.version)
    }

    /// The conflict a change would make, if any: another officer changed what it
    /// changes since version `base`.
    pub fn conflict(&self, page: &str, base: u32, by: &str, change: &Change) -> Option<Conflict> {
        let (row, field) = match change {
            Change::Field { row, field, .. } => (*row, Some(field)),
            Change::Accept { row, .. } => (*row, None),
            Change::Status { .. } => return None,
        };
        let h = self.records.get(&(page.to_string(), row))?;
        let newer = |t: &&Touch| t.version > base && t.by != by;
        let touch = match field {
            Some(f) => h.fields.get(f).filter(newer),
            // Confirming a record: nothing in it may have changed unseen.
            None => h
                .fields
                .values()
                .chain(h.accepted.as_ref())
                .filter(newer)
                .max_by_key(|t| t.version),
        }?;
        Some(Conflict {
            field: field.cloned(),
            touch: touch.clone(),
            version: h.version,
        })
    }

    /// Counts an applied change; returns the record's new version.
    pub fn record(&mut self, e: &Entry) -> Option<u32> {
        let (row, field) = match &e.change {
            Change::Field { row, field, .. } => (*row, Some(field)),
            Change::Accept { row, .. } => (*row, None),
            Change::Status { .. } => return None,
        };
        let h = self.records.entry((e.page.clone(), row)).or_default();
        h.version += 1;
        let touch = Touch {
            version: h.version,
            by: e.by.clone(),
            at: e.at.clone(),
        };
        match field {
            Some(f) => {
                h.fields.insert(f.clone(), touch);
            }
            None => h.accepted = Some(touch),
        }
        Some(h.version)
    }
}

/// What one officer has done in a book.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OfficerWork {
    /// Field corrections.
    pub fields: usize,
    /// Records confirmed.
    pub accepted: usize,
    /// Eligibility decisions on pages.
    pub pages: usize,
    /// The last change (RFC 3339).
    pub last: String,
}

/// Each officer's work in a journal, by name.
pub fn work_by_officer<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> BTreeMap<String, OfficerWork> {
    let mut m: BTreeMap<String, OfficerWork> = BTreeMap::new();
    for e in entries {
        let w = m.entry(e.by.clone()).or_default();
        match e.change {
            Change::Field { .. } => w.fields += 1,
            Change::Accept { accepted: true, .. } => w.accepted += 1,
            Change::Accept { accepted: false, .. } => w.accepted = w.accepted.saturating_sub(1),
            Change::Status { .. } => w.pages += 1,
        }
        if e.at > w.last {
            w.last = e.at.clone();
        }
    }
    m
}

/// Where an officer is: the record open on their screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Place {
    /// The officer.
    pub by: String,
    /// Book name.
    pub book: String,
    /// Page name.
    pub page: String,
    /// The record's row.
    pub row: u32,
}

/// Who is on which record, as their screens last said.
#[derive(Debug, Default)]
pub struct Presence {
    seen: HashMap<String, (Place, Instant)>,
}

impl Presence {
    /// A screen says nothing for this long: its officer has left.
    pub const TTL: Duration = Duration::from_secs(30);

    /// An officer's screen shows this record.
    pub fn at(&mut self, place: Place) {
        self.seen.insert(place.by.clone(), (place, Instant::now()));
    }

    /// The officers present, but `except`, in name order.
    pub fn others(&self, except: &str) -> Vec<Place> {
        let mut v: Vec<Place> = self
            .seen
            .values()
            .filter(|(p, t)| p.by != except && t.elapsed() < Self::TTL)
            .map(|(p, _)| p.clone())
            .collect();
        v.sort_by(|a, b| a.by.cmp(&b.by));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(by: &str, change: Change) -> Entry {
        Entry {
            at: format!("2026-01-01T00:00:0{}Z", by.len()),
            by: by.into(),
            page: "p".into(),
            sha256: "s".into(),
            change,
        }
    }

    fn field(f: &str, v: &str) -> Change {
        Change::Field {
            row: 1,
            field: f.into(),
            value: v.into(),
        }
    }

    #[test]
    fn the_second_writer_of_a_field_meets_the_first() {
        let mut v = Versions::default();
        assert_eq!(v.version("p", 1), 0);
        // Lan and Bình both open version 0; Lan corrects the name.
        assert_eq!(v.record(&entry("lan", field("nksHoTen", "Trần Văn A"))), Some(1));
        // Bình's change of the same field collides; of another field, it does not.
        let c = v.conflict("p", 0, "binh", &field("nksHoTen", "Trần Văn B")).unwrap();
        assert_eq!(
            (c.field.as_deref(), c.touch.by.as_str(), c.version),
            (Some("nksHoTen"), "lan", 1)
        );
        assert_eq!(v.conflict("p", 0, "binh", &field("nksNoiSinh", "Huế")), None);
        // Lan's own later changes never collide with her earlier ones.
        assert_eq!(v.conflict("p", 0, "lan", &field("nksHoTen", "x")), None);
        // Having seen version 1, Bình may write it.
        assert_eq!(v.conflict("p", 1, "binh", &field("nksHoTen", "x")), None);
        // Confirming a record changed unseen collides with the change.
        let accept = Change::Accept { row: 1, accepted: true };
        assert_eq!(v.conflict("p", 0, "binh", &accept).unwrap().field, None);
        assert_eq!(v.conflict("p", 1, "binh", &accept), None);
        // Another record is untouched.
        let other = Change::Accept { row: 2, accepted: true };
        assert_eq!(v.conflict("p", 0, "binh", &other), None);
    }

    #[test]
    fn versions_and_work_come_back_from_the_journal() {
        let journal = [
            entry("lan", field("a", "1")),
            entry("binh", field("b", "2")),
            entry("lan", Change::Accept { row: 1, accepted: true }),
        ];
        let v = Versions::replay(&journal, |_| true);
        assert_eq!(v.version("p", 1), 3);
        assert_eq!(Versions::replay(&journal, |e| e.by == "lan").version("p", 1), 2);
        let w = work_by_officer(&journal);
        assert_eq!((w["lan"].fields, w["lan"].accepted, w["binh"].fields), (1, 1, 1));
    }

    #[test]
    fn presence_shows_others_only() {
        let mut p = Presence::default();
        let place = |by: &str| Place {
            by: by.into(),
            book: "b".into(),
            page: "p".into(),
            row: 1,
        };
        p.at(place("lan"));
        p.at(place("binh"));
        assert_eq!(p.others("lan"), vec![place("binh")]);
    }
}
