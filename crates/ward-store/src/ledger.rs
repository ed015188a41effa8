//! The ledger's hash chain: how an entry is hashed and linked, and how a sequence of stored
//! entries is verified, against a signed checkpoint too. Pure: the backends read and write
//! rows, this module does the sums ([`crate::checkpoint`] the signatures).
//!
//! Each entry stores the SHA-256 of its payload (the exact JSON text stored). The chain links
//! `entry_hash = SHA-256(previous entry_hash ‖ seq as 8 big-endian bytes ‖ payload_hash)`, the
//! first entry's previous hash being 32 zero bytes. Erasing a child blanks the payloads of
//! that child's entries and marks them `erased`, keeping `payload_hash`, so the chain still
//! verifies; the `child_erased` entry that did it lists their ids, so an entry marked erased
//! by anyone else is named as tampered with.
//!
//! **When an entry is chained.** An entry gets its `id` when its change commits; its position
//! `seq` and hashes when it is chained. SQLite chains in the writer's own transaction, so
//! there `seq = id` and an entry is chained when it is committed. PostgreSQL commits entries
//! unchained (no lock shared by all writers is held across a commit) and one node at a time,
//! the sequencer, chains what has committed, in batches, in id order ([`link`]): within
//! milliseconds while a node leads, and always before a verification, an export or a
//! checkpoint reads the chain (each chains what is pending first).
//!
//! What the chain alone cannot see: entries cut off the *end* leave a shorter chain that is
//! still whole, and a ledger rewritten and re-chained from some entry on is whole too. A
//! signed checkpoint of the head (size and hash, [`crate::checkpoint`]) kept elsewhere
//! catches both: [`Verifier::against`].

use std::collections::HashSet;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use ward_core::ids::ChildId;
use ward_core::settings::Event;

/// The kind of the entry that erases a child's entries.
pub const CHILD_ERASED: &str = "child_erased";

/// An event on its way into the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEvent {
    /// When it happened.
    pub at: Timestamp,
    /// The child it is about, if any (erasure blanks these).
    pub child: Option<ChildId>,
    /// Its type (`setting_changed`, `policy_loaded`, …).
    pub kind: String,
    /// The whole event as JSON text: this exact text is hashed and stored.
    pub payload: String,
}

impl LedgerEvent {
    /// An event about no child in particular (a policy loaded, a key revoked).
    pub fn service(at: Timestamp, kind: &str, body: &serde_json::Value) -> Self {
        let mut payload = serde_json::json!({"type": kind, "at": at});
        if let (Some(payload), Some(body)) = (payload.as_object_mut(), body.as_object()) {
            for (key, value) in body {
                payload.insert(key.clone(), value.clone());
            }
        }
        Self {
            at,
            child: None,
            kind: kind.to_owned(),
            payload: payload.to_string(),
        }
    }
}

impl From<&Event> for LedgerEvent {
    fn from(event: &Event) -> Self {
        let payload = serde_json::to_value(event).unwrap_or_default();
        let kind = payload
            .get("type")
            .and_then(|kind| kind.as_str())
            .unwrap_or("event")
            .to_owned();
        Self {
            at: event.at,
            child: Some(event.child.clone()),
            kind,
            payload: payload.to_string(),
        }
    }
}

/// One stored entry, as the backends read and write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Given when the entry's change committed; alerts and deliveries carry it (`ward-<id>`).
    /// On SQLite it equals `seq`.
    pub id: i64,
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When the event happened, Unix microseconds.
    pub at_us: i64,
    /// The child it is about; `None` for service events and erased entries.
    pub child_id: Option<String>,
    /// The event's type.
    pub kind: String,
    /// The event as JSON text (a stub once erased).
    pub payload: String,
    /// SHA-256 of the payload as first written, hex.
    pub payload_hash: String,
    /// The previous entry's hash, hex.
    pub prev_hash: String,
    /// This entry's hash, hex.
    pub entry_hash: String,
    /// The payload was blanked by an erasure.
    pub erased: bool,
}

/// The hash of nothing before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 of a payload, hex.
pub fn payload_hash(payload: &str) -> String {
    hex(&Sha256::digest(payload.as_bytes()))
}

/// The hash linking an entry to the one before it. `None` when a stored hash is not hex.
pub fn entry_hash(prev_hash: &str, seq: i64, payload_hash: &str) -> Option<String> {
    let mut hasher = Sha256::new();
    hasher.update(unhex(prev_hash)?);
    hasher.update(seq.to_be_bytes());
    hasher.update(unhex(payload_hash)?);
    Some(hex(&hasher.finalize()))
}

/// A position in the chain and its two hashes, as [`link`] gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The position.
    pub seq: i64,
    /// The hash of the entry before.
    pub prev_hash: String,
    /// This entry's hash.
    pub entry_hash: String,
}

/// Links entries with these payload hashes, in order, after the entry `(seq, hash)` (or the
/// genesis). A head whose stored hash is not hex yields empty hashes, which verification
/// names.
pub fn link<'a>(
    head: Option<(i64, String)>,
    payload_hashes: impl IntoIterator<Item = &'a str>,
) -> Vec<Link> {
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_owned()));
    payload_hashes
        .into_iter()
        .map(|payload_hash| {
            seq += 1;
            let entry_hash = entry_hash(&prev, seq, payload_hash).unwrap_or_default();
            Link {
                seq,
                prev_hash: std::mem::replace(&mut prev, entry_hash.clone()),
                entry_hash,
            }
        })
        .collect()
}

/// Chains `events` after the entry `(seq, hash)` (or the genesis), each with `id = seq`
/// (SQLite's one writer numbers and chains in one step).
pub fn chain(head: Option<(i64, String)>, events: &[LedgerEvent]) -> Vec<LedgerEntry> {
    let hashes: Vec<String> = events.iter().map(|e| payload_hash(&e.payload)).collect();
    let links = link(head, hashes.iter().map(String::as_str));
    events
        .iter()
        .zip(hashes)
        .zip(links)
        .map(|((event, payload_hash), link)| LedgerEntry {
            id: link.seq,
            ..unchained(link.seq, event, payload_hash, Some(link))
        })
        .collect()
}

/// An entry with id `id` for `event`, chained at `link` or (`None`) left for the sequencer:
/// position 0 and empty hashes, which are never stored (the row keeps NULLs).
pub fn unchained(
    id: i64,
    event: &LedgerEvent,
    payload_hash: String,
    link: Option<Link>,
) -> LedgerEntry {
    let link = link.unwrap_or(Link {
        seq: 0,
        prev_hash: String::new(),
        entry_hash: String::new(),
    });
    LedgerEntry {
        id,
        seq: link.seq,
        at_us: event.at.as_microsecond(),
        child_id: event.child.as_ref().map(|c| c.as_str().to_owned()),
        kind: event.kind.clone(),
        payload: event.payload.clone(),
        payload_hash,
        prev_hash: link.prev_hash,
        entry_hash: link.entry_hash,
        erased: false,
    }
}

/// What an erased entry's payload becomes: its type, and that it was erased.
pub fn erased_payload(kind: &str) -> String {
    serde_json::json!({"type": kind, "erased": true}).to_string()
}

/// What is wrong with an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The sequence skips: entries before this one were deleted (or reordered).
    Gap {
        /// The sequence number expected here.
        expected: i64,
    },
    /// The entry does not link to the one before it: reordered, or the one before was edited.
    BrokenLink,
    /// The payload is not what was hashed: edited.
    PayloadEdited,
    /// The entry's own hash does not match its contents: edited.
    HashMismatch,
    /// Marked erased, but no erasure entry accounts for it.
    ErasedWithoutErasure,
    /// A checkpoint covers more entries than the ledger has: entries were cut off the end.
    Truncated {
        /// How many entries the checkpoint covers.
        checkpoint_size: i64,
    },
    /// The entry a checkpoint ends at has another hash than the checkpoint says: the ledger
    /// was rewritten at or before it (and re-chained, or the chain would say where).
    CheckpointMismatch,
}

impl Problem {
    /// In words.
    pub fn describe(&self) -> String {
        match self {
            Self::Gap { expected } => {
                format!("expected entry {expected} here: entries are missing or reordered")
            }
            Self::BrokenLink => "does not link to the entry before it: entries were reordered, \
                                 or the one before was altered"
                .to_owned(),
            Self::PayloadEdited => {
                "its payload does not match its recorded hash: edited".to_owned()
            }
            Self::HashMismatch => "its hash does not match its contents: edited".to_owned(),
            Self::ErasedWithoutErasure => {
                "marked erased, but no erasure entry lists it: blanked by hand".to_owned()
            }
            Self::Truncated { checkpoint_size } => format!(
                "missing: the checkpoint covers {checkpoint_size} entries, so entries were cut \
                 off the end"
            ),
            Self::CheckpointMismatch => "its hash is not the checkpoint's: the ledger was \
                                         rewritten at or before this entry"
                .to_owned(),
        }
    }
}

/// The first bad entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadEntry {
    /// Its sequence number as stored.
    pub seq: i64,
    /// What is wrong.
    pub problem: Problem,
    /// What is wrong, in words.
    pub message: String,
}

/// The result of verifying the whole ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// The last good entry's sequence and hash (record it elsewhere to detect truncation).
    pub head: Option<Head>,
    /// The first bad entry, if any.
    pub first_bad: Option<BadEntry>,
}

/// A chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    /// Its sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

impl Verification {
    /// True when every entry verified.
    pub fn ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Checks entries in stored `seq` order, stopping at the first bad one.
#[derive(Debug, Default)]
pub struct Verifier {
    entries: u64,
    head: Option<Head>,
    first_bad: Option<BadEntry>,
    /// Erased entries seen (id, seq), waiting for the erasure entry that lists them.
    erased_unaccounted: Vec<(i64, i64)>,
    /// Entry ids erasure entries have listed so far.
    erasures_listed: HashSet<i64>,
    /// The checkpoint to hold the chain to: its size and head hash.
    checkpoint: Option<Head>,
}

impl Verifier {
    /// A verifier that also holds the chain to a checkpoint's head (already checked to be
    /// signed): the entry at `size` must have that hash, and the ledger must reach it.
    pub fn against(size: i64, hash: &str) -> Self {
        Self {
            checkpoint: Some(Head {
                seq: size,
                hash: hash.to_owned(),
            }),
            ..Self::default()
        }
    }

    /// Feeds the next entry. Returns false once a bad entry has been found (stop reading).
    pub fn push(&mut self, entry: &LedgerEntry) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        self.entries += 1;
        let (expected_seq, expected_prev) = match &self.head {
            Some(head) => (head.seq + 1, head.hash.as_str()),
            None => (1, GENESIS),
        };
        let problem = if entry.seq != expected_seq {
            Some(Problem::Gap {
                expected: expected_seq,
            })
        } else if entry.prev_hash != expected_prev {
            Some(Problem::BrokenLink)
        } else if entry_hash(&entry.prev_hash, entry.seq, &entry.payload_hash).as_deref()
            != Some(entry.entry_hash.as_str())
        {
            Some(Problem::HashMismatch)
        } else if !entry.erased && payload_hash(&entry.payload) != entry.payload_hash {
            Some(Problem::PayloadEdited)
        } else if self
            .checkpoint
            .as_ref()
            .is_some_and(|head| head.seq == entry.seq && head.hash != entry.entry_hash)
        {
            Some(Problem::CheckpointMismatch)
        } else {
            None
        };
        if let Some(problem) = problem {
            self.fail(entry.seq, problem);
            return false;
        }
        if entry.erased {
            self.erased_unaccounted.push((entry.id, entry.seq));
        }
        if entry.kind == CHILD_ERASED {
            self.erasures_listed.extend(erased_ids(&entry.payload));
            let listed = &self.erasures_listed;
            self.erased_unaccounted
                .retain(|(id, _)| !listed.contains(id));
        }
        self.head = Some(Head {
            seq: entry.seq,
            hash: entry.entry_hash.clone(),
        });
        true
    }

    fn fail(&mut self, seq: i64, problem: Problem) {
        self.first_bad = Some(BadEntry {
            seq,
            message: format!("entry {seq}: {}", problem.describe()),
            problem,
        });
    }

    /// The verdict. An erased entry that no later erasure entry lists is named, and so is
    /// the first entry missing below a checkpoint's size.
    pub fn finish(mut self) -> Verification {
        if self.first_bad.is_none()
            && let Some((_, seq)) = self.erased_unaccounted.first().copied()
        {
            self.fail(seq, Problem::ErasedWithoutErasure);
        }
        let reached = self.head.as_ref().map_or(0, |head| head.seq);
        if self.first_bad.is_none()
            && let Some(checkpoint_size) = self.checkpoint.as_ref().map(|head| head.seq)
            && reached < checkpoint_size
        {
            self.fail(reached + 1, Problem::Truncated { checkpoint_size });
        }
        Verification {
            entries: self.entries,
            head: self.head,
            first_bad: self.first_bad,
        }
    }
}

/// The entry ids a `child_erased` payload lists.
fn erased_ids(payload: &str) -> Vec<i64> {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|value| {
            value.get("entries").and_then(|entries| {
                entries
                    .as_array()
                    .map(|list| list.iter().filter_map(serde_json::Value::as_i64).collect())
            })
        })
        .unwrap_or_default()
}

/// Bytes as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Hex back to bytes; `None` unless every pair is a hex byte.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|idx| u8::from_str_radix(text.get(idx..idx + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: usize) -> Vec<LedgerEvent> {
        (0..n)
            .map(|idx| {
                LedgerEvent::service(
                    Timestamp::UNIX_EPOCH,
                    "test",
                    &serde_json::json!({"n": idx}),
                )
            })
            .collect()
    }

    fn verify(entries: &[LedgerEntry]) -> Verification {
        let mut verifier = Verifier::default();
        for entry in entries {
            if !verifier.push(entry) {
                break;
            }
        }
        verifier.finish()
    }

    #[test]
    fn a_fresh_chain_verifies_and_continues_from_its_head() {
        let first = chain(None, &events(3));
        let head = first.last().map(|e| (e.seq, e.entry_hash.clone()));
        let mut all = first.clone();
        all.extend(chain(head, &events(2)));
        let verdict = verify(&all);
        assert!(verdict.ok(), "{verdict:?}");
        assert_eq!(verdict.entries, 5);
        assert_eq!(verdict.head.map(|h| h.seq), Some(5));
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_the_first_bad_entry() {
        let good = chain(None, &events(4));
        let mut edited = good.clone();
        edited[1].payload = "{}".into();
        assert_eq!(
            verify(&edited).first_bad.map(|b| (b.seq, b.problem)),
            Some((2, Problem::PayloadEdited))
        );
        let mut deleted = good.clone();
        deleted.remove(2);
        assert_eq!(
            verify(&deleted).first_bad.map(|b| (b.seq, b.problem)),
            Some((4, Problem::Gap { expected: 3 }))
        );
        let mut swapped = good.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped).first_bad.map(|b| b.seq), Some(3));
        let mut rehashed = good.clone();
        rehashed[0].payload_hash = payload_hash("{}");
        assert_eq!(
            verify(&rehashed).first_bad.map(|b| (b.seq, b.problem)),
            Some((1, Problem::HashMismatch))
        );
        let mut blanked = good.clone();
        blanked[3].erased = true;
        blanked[3].payload = erased_payload("test");
        assert_eq!(
            verify(&blanked).first_bad.map(|b| (b.seq, b.problem)),
            Some((4, Problem::ErasedWithoutErasure))
        );
    }

    #[test]
    fn a_checkpoint_catches_a_truncated_or_rewritten_and_rechained_ledger() {
        let good = chain(None, &events(5));
        let at_four = &good[3];
        let held = |entries: &[LedgerEntry]| {
            let mut verifier = Verifier::against(4, &at_four.entry_hash);
            for entry in entries {
                if !verifier.push(entry) {
                    break;
                }
            }
            verifier.finish().first_bad.map(|b| (b.seq, b.problem))
        };
        assert_eq!(held(&good), None, "longer than the checkpoint is fine");
        assert_eq!(held(&good[..4]), None);
        assert_eq!(
            held(&good[..2]),
            Some((3, Problem::Truncated { checkpoint_size: 4 }))
        );
        assert_eq!(
            verify(&good[..2]).first_bad,
            None,
            "the chain alone cannot see it"
        );
        // Entry 2 rewritten and everything after it re-chained: a whole chain.
        let mut rewritten = events(5);
        rewritten[1] =
            LedgerEvent::service(Timestamp::UNIX_EPOCH, "test", &serde_json::json!({"n": 99}));
        let rewritten = chain(None, &rewritten);
        assert_eq!(
            verify(&rewritten).first_bad,
            None,
            "the chain alone cannot see it"
        );
        assert_eq!(held(&rewritten), Some((4, Problem::CheckpointMismatch)));
    }
}
