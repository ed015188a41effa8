//! The ledger's hash chain: how an entry is hashed and linked, and how a sequence of stored
//! entries is verified. Pure: the backends read and write rows, this module does the sums.
//!
//! Each entry stores the SHA-256 of its payload (the exact JSON text stored). The chain links
//! `entry_hash = SHA-256(previous entry_hash ‖ seq as 8 big-endian bytes ‖ payload_hash)`, the
//! first entry's previous hash being 32 zero bytes. Erasing a child blanks the payloads of
//! that child's entries and marks them `erased`, keeping `payload_hash`, so the chain still
//! verifies; the `child_erased` entry that did it lists their sequence numbers, so an entry
//! marked erased by anyone else is named as tampered with.
//!
//! What this cannot see: entries cut off the *end* of the ledger leave a shorter chain that
//! is still whole. `ward ledger verify` prints the head (sequence and hash) so it can be
//! recorded elsewhere and compared later.

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

/// Chains `events` after the entry `(seq, hash)` (or the genesis).
pub fn chain(head: Option<(i64, String)>, events: &[LedgerEvent]) -> Vec<LedgerEntry> {
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_owned()));
    events
        .iter()
        .map(|event| {
            seq += 1;
            let payload_hash = payload_hash(&event.payload);
            // INVARIANT: `prev` is always hex (GENESIS or a hash computed here or read back
            // from a verified head), so `entry_hash` yields a value.
            let entry_hash = entry_hash(&prev, seq, &payload_hash).unwrap_or_default();
            LedgerEntry {
                seq,
                at_us: event.at.as_microsecond(),
                child_id: event.child.as_ref().map(|c| c.as_str().to_owned()),
                kind: event.kind.clone(),
                payload: event.payload.clone(),
                payload_hash,
                prev_hash: std::mem::replace(&mut prev, entry_hash.clone()),
                entry_hash,
                erased: false,
            }
        })
        .collect()
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
    /// Erased entries seen, waiting for the erasure entry that lists them.
    erased_unaccounted: Vec<i64>,
    /// Sequence numbers erasure entries have listed so far.
    erasures_listed: HashSet<i64>,
}

impl Verifier {
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
        } else {
            None
        };
        if let Some(problem) = problem {
            self.fail(entry.seq, problem);
            return false;
        }
        if entry.erased {
            self.erased_unaccounted.push(entry.seq);
        }
        if entry.kind == CHILD_ERASED {
            self.erasures_listed.extend(erased_seqs(&entry.payload));
            let listed = &self.erasures_listed;
            self.erased_unaccounted.retain(|seq| !listed.contains(seq));
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

    /// The verdict. An erased entry that no later erasure entry lists is named.
    pub fn finish(mut self) -> Verification {
        if self.first_bad.is_none()
            && let Some(seq) = self.erased_unaccounted.first().copied()
        {
            self.fail(seq, Problem::ErasedWithoutErasure);
        }
        Verification {
            entries: self.entries,
            head: self.head,
            first_bad: self.first_bad,
        }
    }
}

/// The sequence numbers a `child_erased` payload lists.
fn erased_seqs(payload: &str) -> Vec<i64> {
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

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
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
        let mut blanked = good;
        blanked[3].erased = true;
        blanked[3].payload = erased_payload("test");
        assert_eq!(
            verify(&blanked).first_bad.map(|b| (b.seq, b.problem)),
            Some((4, Problem::ErasedWithoutErasure))
        );
    }
}
