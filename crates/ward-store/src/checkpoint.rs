//! Signed checkpoints of the ledger's head, as Certificate Transparency's signed tree heads:
//! how many entries the chain had, the hash of the last, when, and an Ed25519 signature by
//! the key this database keeps (`ledger_keys`, made on first use). An auditor stores the
//! checkpoint anywhere; `ward ledger verify --checkpoint FILE` later holds the ledger to it
//! ([`crate::ledger::Verifier::against`]), so entries cut off the end, or a ledger rewritten
//! and re-chained, are caught.
//!
//! The signed text is the format line, the size, the head hash and the time, each on a line
//! of its own and ended by a newline (`ward-ledger-checkpoint/v1\n5\n<hex>\n<RFC 3339>\n`).
//! The checkpoint carries its key, so it verifies on its own; whether that key is the
//! ledger's own is for the verifier of the ledger to say.
//!
//! Not for keeping the key secret from whoever can read the database: the key lives beside
//! the ledger. A signature says "ward, with this database, stated this head"; what catches
//! a rewrite is the checkpoint an auditor kept, which no later signature can change.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ledger::{hex, unhex};

/// The format line, first in the signed text and in every checkpoint's `format`.
pub const FORMAT: &str = "ward-ledger-checkpoint/v1";

/// A signed statement of the ledger's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always [`FORMAT`].
    pub format: String,
    /// How many entries the chain had: the head's position (0 for an empty ledger).
    pub size: i64,
    /// The head's entry hash, hex (the genesis hash for an empty ledger).
    pub head: String,
    /// When it was signed.
    pub at: Timestamp,
    /// The Ed25519 public key that signed it, hex.
    pub key: String,
    /// The Ed25519 signature of [`Checkpoint::signed_text`], hex.
    pub signature: String,
}

/// Why a checkpoint cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// Not a checkpoint's JSON.
    #[error("line {line}, column {column}: {message}")]
    Unreadable {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Another format, or a newer one.
    #[error("`format` is `{0}`: ward reads `{FORMAT}`")]
    Format(String),
    /// The size is negative or the head is not a SHA-256 in hex.
    #[error("`size` must be 0 or more and `head` a SHA-256 hash in hex")]
    Head,
    /// The key is not an Ed25519 public key.
    #[error("`key` is not an Ed25519 public key in hex")]
    Key,
    /// The signature does not verify under the key.
    #[error(
        "the signature does not verify under `key`: the checkpoint was altered, or not signed by that key"
    )]
    Signature,
}

impl Checkpoint {
    /// The exact text signed.
    pub fn signed_text(size: i64, head: &str, at: Timestamp) -> String {
        format!("{FORMAT}\n{size}\n{head}\n{at}\n")
    }

    /// Signs the head `(size, head)` at `at`.
    pub fn sign(key: &CheckpointKey, size: i64, head: &str, at: Timestamp) -> Self {
        let signature = key.0.sign(Self::signed_text(size, head, at).as_bytes());
        Self {
            format: FORMAT.to_owned(),
            size,
            head: head.to_owned(),
            at,
            key: key.public_hex(),
            signature: hex(&signature.to_bytes()),
        }
    }

    /// Reads a checkpoint from its JSON and checks its signature under its own key.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let checkpoint: Self =
            serde_json::from_str(text).map_err(|error| CheckpointError::Unreadable {
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            })?;
        checkpoint.check()?;
        Ok(checkpoint)
    }

    /// Checks the format, the head's shape and the signature.
    pub fn check(&self) -> Result<(), CheckpointError> {
        if self.format != FORMAT {
            return Err(CheckpointError::Format(self.format.clone()));
        }
        if self.size < 0 || unhex(&self.head).is_none_or(|bytes| bytes.len() != 32) {
            return Err(CheckpointError::Head);
        }
        let key: [u8; 32] = unhex(&self.key)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(CheckpointError::Key)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| CheckpointError::Key)?;
        let signature: [u8; 64] = unhex(&self.signature)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(CheckpointError::Signature)?;
        key.verify_strict(
            Self::signed_text(self.size, &self.head, self.at).as_bytes(),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| CheckpointError::Signature)
    }
}

/// The key checkpoints are signed with. Its `Debug` never shows the secret.
pub struct CheckpointKey(SigningKey);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CheckpointKey")
            .field(&self.public_hex())
            .finish()
    }
}

impl CheckpointKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut secret = [0_u8; 32];
        getrandom::fill(&mut secret)?;
        Ok(Self(SigningKey::from_bytes(&secret)))
    }

    /// The key as stored (the 32-byte secret in hex); `None` if it is not one.
    pub fn from_secret_hex(text: &str) -> Option<Self> {
        let secret: [u8; 32] = unhex(text)?.try_into().ok()?;
        Some(Self(SigningKey::from_bytes(&secret)))
    }

    /// The secret, hex, for storing.
    pub(crate) fn secret_hex(&self) -> String {
        hex(self.0.as_bytes())
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::GENESIS;

    fn signed() -> Checkpoint {
        let key = CheckpointKey::generate().expect("randomness");
        Checkpoint::sign(
            &key,
            7,
            &"ab".repeat(32),
            "2026-12-02T01:00:00.5Z".parse().expect("time"),
        )
    }

    #[test]
    fn a_signed_checkpoint_reads_back_and_verifies() {
        let checkpoint = signed();
        let text = serde_json::to_string_pretty(&checkpoint).expect("json");
        assert_eq!(Checkpoint::parse(&text), Ok(checkpoint));
        let key = CheckpointKey::generate().expect("randomness");
        let empty = Checkpoint::sign(&key, 0, GENESIS, Timestamp::UNIX_EPOCH);
        assert_eq!(empty.check(), Ok(()));
    }

    #[test]
    fn any_change_to_a_signed_field_breaks_the_signature() {
        let good = signed();
        let mut size = good.clone();
        size.size = 6;
        let mut head = good.clone();
        head.head = "cd".repeat(32);
        let mut at = good.clone();
        at.at = Timestamp::UNIX_EPOCH;
        for altered in [size, head, at] {
            assert_eq!(altered.check(), Err(CheckpointError::Signature));
        }
        let mut key = good.clone();
        key.key = CheckpointKey::generate().expect("randomness").public_hex();
        assert_eq!(key.check(), Err(CheckpointError::Signature));
        let mut format = good;
        format.format = "v0".into();
        assert_eq!(format.check(), Err(CheckpointError::Format("v0".into())));
    }

    #[test]
    fn an_unreadable_checkpoint_is_named_by_line_and_column() {
        let error = Checkpoint::parse("{\n  \"format\": 1\n}").expect_err("not a checkpoint");
        assert!(
            matches!(error, CheckpointError::Unreadable { line: 2, .. }),
            "{error}"
        );
    }
}
