//! The guard's compact answer: kept ids in feed order, and removed, held and noted ids with
//! their reason codes only (`age_rating`, `quiet_hours`, `advisory_rating`, …), no sentences.
//! The codes are the ones the full answer ([`super::FeedResponse`]) carries beside each
//! sentence, so a caller can switch answers without relearning them; the sentences stay one
//! call away ([`super::FeedOutcome::explain`], `POST /v1/feed/why`).
//!
//! Written straight from the outcome and the items, borrowing every id: nothing is built
//! per item but the JSON itself. [`CompactResponse::write_json`] writes the bytes by hand (the
//! hot path); its `Serialize` gives the same bytes through serde_json, and a test holds the two
//! together. Not for people: the full answer is.

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};

use super::{Codes, DriftReport, FeedOutcome, Item};

/// The compact answer over one outcome; made by [`FeedOutcome::compact`]. Serialize it.
#[derive(Debug, Clone, Copy)]
pub struct CompactResponse<'a> {
    outcome: &'a FeedOutcome,
    items: &'a [Item],
}

impl FeedOutcome {
    /// The compact answer for this outcome. `items` must be the ones given to
    /// [`super::filter`].
    pub fn compact<'a>(&'a self, items: &'a [Item]) -> CompactResponse<'a> {
        CompactResponse {
            outcome: self,
            items,
        }
    }
}

impl CompactResponse<'_> {
    /// The item at `index` (in range by construction).
    fn item(&self, index: u32) -> Option<&Item> {
        self.items.get(index as usize)
    }

    fn id(&self, index: u32) -> &str {
        self.item(index).map_or("", Item::id)
    }

    /// The id of the item at `index` (in range by construction; `""` otherwise) as a JSON
    /// string: as is between quotes when nothing in it needs an escape (what ids are), through
    /// serde_json's own escaping otherwise. Read as bytes, so the hot path never checks UTF-8.
    fn write_id(&self, out: &mut Vec<u8>, index: u32) -> serde_json::Result<()> {
        let Some(item) = self.item(index) else {
            out.extend_from_slice(b"\"\"");
            return Ok(());
        };
        let bytes = item.id_bytes();
        if super::escape_position(bytes).is_some() {
            return serde_json::to_writer(out, item.id());
        }
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        Ok(())
    }

    /// The `n`th entry of a list: `{"id":…,"<key>":[code,…]}`. Codes are snake_case words,
    /// which need no escape.
    fn write_entry<T: super::Code>(
        &self,
        out: &mut Vec<u8>,
        n: usize,
        index: u32,
        key: &[u8],
        codes: Codes<T>,
    ) -> serde_json::Result<()> {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        self.write_id(out, index)?;
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key);
        out.extend_from_slice(b"\":[");
        for (idx, code) in codes.codes().enumerate() {
            if idx > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(code.as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }

    /// Appends the answer's JSON to `out`: byte for byte what `serde_json::to_writer` makes of
    /// it, without a serializer call per id and code. The once-per-answer fields (`held_until`,
    /// `drift`, `age`, `unfiltered`) go through serde_json itself, and so does an id that
    /// needs an escape.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let outcome = self.outcome;
        out.extend_from_slice(b"{\"kept\":[");
        for (n, index) in outcome.kept.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.write_id(out, *index)?;
        }
        out.extend_from_slice(b"],\"removed\":[");
        for (n, removal) in outcome.removed.iter().enumerate() {
            self.write_entry(out, n, removal.index, b"reasons", removal.reasons)?;
        }
        out.extend_from_slice(b"],\"held\":[");
        for (n, held) in outcome.held.iter().enumerate() {
            self.write_entry(out, n, held.index, b"reasons", held.reasons)?;
        }
        out.extend_from_slice(b"],\"held_until\":");
        serde_json::to_writer(&mut *out, &outcome.held_until)?;
        out.extend_from_slice(b",\"notes\":[");
        for (n, note) in outcome.notes.iter().enumerate() {
            self.write_entry(out, n, note.index, b"notes", note.kinds)?;
        }
        out.extend_from_slice(b"],\"drift\":");
        serde_json::to_writer(&mut *out, &outcome.drift)?;
        out.extend_from_slice(b",\"age\":");
        serde_json::to_writer(&mut *out, &outcome.age)?;
        out.extend_from_slice(b",\"unfiltered\":");
        out.extend_from_slice(if outcome.unfiltered {
            b"true"
        } else {
            b"false"
        });
        out.push(b'}');
        Ok(())
    }
}

/// `{"id", <codes_key>: [code, …]}`.
struct Entry<'a, T: super::Code> {
    id: &'a str,
    key: &'static str,
    codes: Codes<T>,
}

impl<T: super::Code> Serialize for Entry<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_struct("Entry", 2)?;
        entry.serialize_field("id", self.id)?;
        entry.serialize_field(self.key, &self.codes)?;
        entry.end()
    }
}

/// A list serialized from an iterator, without collecting it first.
struct List<I>(std::cell::Cell<Option<I>>);

impl<I: Iterator<Item = T>, T: Serialize> Serialize for List<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(iter) = self.0.take() else {
            return serializer.serialize_seq(Some(0))?.end();
        };
        let mut seq = serializer.serialize_seq(iter.size_hint().1)?;
        for element in iter {
            seq.serialize_element(&element)?;
        }
        seq.end()
    }
}

fn list<I: Iterator>(iter: I) -> List<I> {
    List(std::cell::Cell::new(Some(iter)))
}

impl Serialize for CompactResponse<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let outcome = self.outcome;
        let mut answer = serializer.serialize_struct("CompactResponse", 8)?;
        answer.serialize_field(
            "kept",
            &list(outcome.kept.iter().map(|index| self.id(*index))),
        )?;
        answer.serialize_field(
            "removed",
            &list(outcome.removed.iter().map(|removal| Entry {
                id: self.id(removal.index),
                key: "reasons",
                codes: removal.reasons,
            })),
        )?;
        answer.serialize_field(
            "held",
            &list(outcome.held.iter().map(|held| Entry {
                id: self.id(held.index),
                key: "reasons",
                codes: held.reasons,
            })),
        )?;
        let held_until: Option<Timestamp> = outcome.held_until;
        answer.serialize_field("held_until", &held_until)?;
        answer.serialize_field(
            "notes",
            &list(outcome.notes.iter().map(|note| Entry {
                id: self.id(note.index),
                key: "notes",
                codes: note.kinds,
            })),
        )?;
        let drift: Option<DriftReport> = outcome.drift;
        answer.serialize_field("drift", &drift)?;
        answer.serialize_field("age", &outcome.age)?;
        answer.serialize_field("unfiltered", &outcome.unfiltered)?;
        answer.end()
    }
}
