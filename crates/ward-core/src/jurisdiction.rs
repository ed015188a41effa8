//! Jurisdictions ward knows and their age of digital consent (GDPR Art. 8, COPPA).
//!
//! The table is the one in `RUNTIME.md`. A jurisdiction not in it cannot be declared: ward
//! would not know when a child needs a parent's consent there.

use std::fmt;

/// A jurisdiction from the consent-age table, by its ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jurisdiction {
    code: [u8; 2],
    consent_age: u8,
}

/// ISO code and age of digital consent, for every jurisdiction ward knows.
const CONSENT_AGES: [(&str, u8); 32] = [
    ("GB", 13),
    ("US", 13),
    ("BE", 13),
    ("DK", 13),
    ("EE", 13),
    ("FI", 13),
    ("IS", 13),
    ("LV", 13),
    ("MT", 13),
    ("NO", 13),
    ("PT", 13),
    ("SE", 13),
    ("AT", 14),
    ("BG", 14),
    ("CY", 14),
    ("ES", 14),
    ("IT", 14),
    ("LT", 14),
    ("CZ", 15),
    ("FR", 15),
    ("GR", 15),
    ("SI", 15),
    ("DE", 16),
    ("HR", 16),
    ("HU", 16),
    ("IE", 16),
    ("LI", 16),
    ("LU", 16),
    ("NL", 16),
    ("PL", 16),
    ("RO", 16),
    ("SK", 16),
];

/// The code is not in the consent-age table. `UK` (a common slip for `GB`) lands here too,
/// so it is caught rather than silently mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown jurisdiction `{0}`: ward knows the age of digital consent for {list}", list = known_list())]
pub struct UnknownJurisdiction(pub String);

fn known_list() -> String {
    CONSENT_AGES
        .iter()
        .map(|(code, _)| *code)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Jurisdiction {
    /// Looks `code` up in the consent-age table (upper-case ISO 3166-1 alpha-2).
    pub fn parse(code: &str) -> Result<Self, UnknownJurisdiction> {
        CONSENT_AGES
            .iter()
            .find(|(known, _)| *known == code)
            .and_then(|(known, consent_age)| {
                let bytes = known.as_bytes();
                Some(Self {
                    code: [*bytes.first()?, *bytes.get(1)?],
                    consent_age: *consent_age,
                })
            })
            .ok_or_else(|| UnknownJurisdiction(code.to_owned()))
    }

    /// The age at which a child may consent for themselves here.
    pub fn consent_age(self) -> u8 {
        self.consent_age
    }

    /// The ISO code's two letters.
    pub fn letters(self) -> [u8; 2] {
        self.code
    }

    /// The ISO code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("??")
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Jurisdiction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Jurisdiction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_ages_follow_the_table() {
        let age = |code| Jurisdiction::parse(code).map(Jurisdiction::consent_age);
        assert_eq!(age("GB"), Ok(13));
        assert_eq!(age("US"), Ok(13));
        assert_eq!(age("ES"), Ok(14));
        assert_eq!(age("FR"), Ok(15));
        assert_eq!(age("DE"), Ok(16));
        assert_eq!(age("IE"), Ok(16));
    }

    #[test]
    fn codes_outside_the_table_are_refused() {
        for bad in ["UK", "gb", "XK", "", "GBR"] {
            assert!(Jurisdiction::parse(bad).is_err(), "{bad}");
        }
    }
}
