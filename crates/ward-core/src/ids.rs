//! Identifiers a policy declares: purposes, settings and data, each built only through a
//! checked constructor so the rest of ward never meets a malformed one.
//!
//! Not for runtime interning: `decide` (a later module) maps these to dense indices once, when
//! the policy is compiled.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("an id cannot be empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("`{0}` is longer than {MAX_ID_LEN} characters")]
    TooLong(String),
    /// The id is not kebab-case.
    #[error(
        "`{0}` is not kebab-case: use lowercase letters, digits and single hyphens, like `recommend-videos`"
    )]
    NotKebabCase(String),
}

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// A map keyed by the ids a policy declares, hashed with foldhash rather than `std`'s SipHash
/// (a lookup per request on the hot path). Safe against hash flooding because only the policy
/// file puts keys in: a caller's id is only ever looked up, and a lookup probes no further
/// than the policy's own keys collide. Maps that callers fill keep SipHash.
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

fn check_kebab_case(text: &str) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty);
    }
    if text.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(text.to_owned()));
    }
    let well_formed = text.split('-').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if well_formed {
        Ok(())
    } else {
        Err(IdError::NotKebabCase(text.to_owned()))
    }
}

/// A string id built only through its checked constructor: `$check` says whether a text is
/// well formed, and why not.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $check:path, $error:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` and builds the id.
            pub fn parse(text: &str) -> Result<Self, $error> {
                $check(text)?;
                Ok(Self(text.to_owned()))
            }

            /// Checks `text` without building the id (for the hot path, which only borrows
            /// it).
            pub fn check(text: &str) -> Result<(), $error> {
                $check(text)
            }

            /// The id as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// A profiling purpose's id, unique in a policy (`recommend-videos`): kebab-case, 1 to 64
    /// characters.
    PurposeId,
    check_kebab_case,
    IdError
);
string_id!(
    /// A privacy setting's id: the toggle a child sees (`recommend-videos`).
    SettingId,
    check_kebab_case,
    IdError
);
string_id!(
    /// A `[[data]]` item's id (`watch-history`).
    DataId,
    check_kebab_case,
    IdError
);

/// Why a string is not a valid external id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid id: use 1 to 128 letters, digits, `-`, `_`, `.`, `:` or `@`")]
pub struct BadExternalId(pub String);

/// The longest external id accepted, in bytes.
pub const MAX_EXTERNAL_ID_LEN: usize = 128;

fn check_external(text: &str) -> Result<(), BadExternalId> {
    let well_formed = !text.is_empty()
        && text.len() <= MAX_EXTERNAL_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b));
    if well_formed {
        Ok(())
    } else {
        Err(BadExternalId(text.to_owned()))
    }
}

string_id!(
    /// A child's id, as the service knows them (opaque to ward).
    ChildId,
    check_external,
    BadExternalId
);
string_id!(
    /// A parent's id, as the service knows them (opaque to ward).
    ParentId,
    check_external,
    BadExternalId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_ids_are_accepted() {
        for ok in ["ads", "recommend-videos", "v2-feed", "a1"] {
            assert!(PurposeId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn other_shapes_are_refused_with_the_reason() {
        assert_eq!(PurposeId::parse(""), Err(IdError::Empty));
        for bad in [
            "Ads",
            "recommend_videos",
            "-ads",
            "ads-",
            "a--b",
            "a b",
            "ünï",
        ] {
            assert_eq!(
                PurposeId::parse(bad),
                Err(IdError::NotKebabCase(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            PurposeId::parse(&"a".repeat(65)),
            Err(IdError::TooLong(_))
        ));
    }
}
