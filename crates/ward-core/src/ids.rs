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

macro_rules! kebab_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` and builds the id: kebab-case, 1 to 64 characters.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                check_kebab_case(text)?;
                Ok(Self(text.to_owned()))
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

kebab_id!(
    /// A profiling purpose's id, unique in a policy (`recommend-videos`).
    PurposeId
);
kebab_id!(
    /// A privacy setting's id: the toggle a child sees (`recommend-videos`).
    SettingId
);
kebab_id!(
    /// A `[[data]]` item's id (`watch-history`).
    DataId
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

/// Why a string is not a valid external id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid id: use 1 to 128 letters, digits, `-`, `_`, `.`, `:` or `@`")]
pub struct BadExternalId(pub String);

macro_rules! external_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `text`: 1 to 128 ASCII letters, digits, `-`, `_`, `.`, `:` or `@`.
            pub fn parse(text: &str) -> Result<Self, BadExternalId> {
                let ok = !text.is_empty()
                    && text.len() <= 128
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b));
                if ok { Ok(Self(text.to_owned())) } else { Err(BadExternalId(text.to_owned())) }
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

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

external_id!(
    /// A child's id, as the service knows them (opaque to ward).
    ChildId
);
external_id!(
    /// A parent's id, as the service knows them (opaque to ward).
    ParentId
);
