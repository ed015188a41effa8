//! Who a user is, age-wise: age-assurance records, the age and band they give at a moment,
//! and whether a parent must consent for them.
//!
//! Time is always a parameter. A birth date moves a child across bands as `now` passes; an
//! `age` counts on from the record's date; a bare band stays until a new record.
//!
//! **Birthdays count from 12:00 UTC** on the day: the moment that date has begun in every time
//! zone. A child is never treated as older before their birthday has started where they live,
//! whichever zone that is, and the hot path needs no time-zone lookup.
//!
//! Not for storing children or their settings: see [`crate::settings`].

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::age::AgeBand;
use crate::jurisdiction::Jurisdiction;
use crate::policy::{AgeMethod, Policy};

/// Seconds past midnight UTC at which a birthday counts (see the module docs).
const BIRTHDAY_OFFSET_SECONDS: i64 = 12 * 3600;

/// The age this record says, in one of three forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeEvidence {
    /// A date of birth: the age follows the calendar.
    BirthDate(Date),
    /// An age in years on the record's date: one year is added per year since.
    Age(u8),
    /// A band; it stays until a new record.
    Band(BandOrAdult),
}

/// A band as an age-assurance record may give it: a child's band, or adult.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BandOrAdult {
    /// 18 or over.
    #[serde(rename = "adult")]
    Adult,
    /// One of the Code's bands.
    #[serde(untagged)]
    Band(#[serde(with = "band_text")] AgeBand),
}

mod band_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::age::AgeBand;

    pub(super) fn serialize<S: Serializer>(
        band: &AgeBand,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(band.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<AgeBand, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An age-assurance record: how, what, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeRecord {
    /// How the age was established.
    pub method: AgeMethod,
    /// What it says.
    pub evidence: AgeEvidence,
    /// When it was made.
    pub at: Timestamp,
}

/// What ward treats a user as, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeStatus {
    /// No record, or an untrusted claim to be 18+: every protection a child gets.
    Unknown,
    /// A child: the exact age when the record gives one, and the band.
    Child {
        /// The exact age in years, when known.
        age: Option<u8>,
        /// The band.
        band: AgeBand,
    },
    /// 18 or over, established by a method the policy trusts.
    Adult,
}

impl AgeStatus {
    /// True for adults only: `unknown` is treated as a child.
    pub fn is_adult(self) -> bool {
        self == Self::Adult
    }

    /// The age used for obligations and consent: the exact age, else the band's lower bound;
    /// `unknown` uses the service's `min_age`; adults 18.
    pub fn working_age(self, min_age: u8) -> u8 {
        match self {
            Self::Unknown => min_age,
            Self::Child { age: Some(age), .. } => age,
            Self::Child { age: None, band } => band.lowest_age(),
            Self::Adult => 18,
        }
    }

    /// True when this child is certainly below the service's `min_age`. A band straddling
    /// `min_age` is not: the service admits that band.
    pub fn is_below(self, min_age: u8) -> bool {
        match self {
            Self::Child { age: Some(age), .. } => age < min_age,
            Self::Child { age: None, band } => band.highest_age() < min_age,
            Self::Unknown | Self::Adult => false,
        }
    }

    /// True when a consent purpose needs a parent's consent rather than the child's own:
    /// below the jurisdiction's age of digital consent (a band counts from its youngest age,
    /// so a band straddling the consent age needs a parent). `unknown` has no age to judge
    /// by: it needs age assurance first, and any consent it gives must be a parent's.
    pub fn needs_parent(self, jurisdiction: Jurisdiction, min_age: u8) -> bool {
        match self {
            Self::Adult => false,
            Self::Unknown => true,
            child => child.working_age(min_age) < jurisdiction.consent_age(),
        }
    }

    /// The band whose texts this user sees: their own, the youngest admitted one for
    /// `unknown`, none for adults.
    pub fn text_band(self, min_age: u8) -> Option<AgeBand> {
        match self {
            Self::Child { band, .. } => Some(band),
            Self::Unknown => AgeBand::admitted_from(min_age).next(),
            Self::Adult => None,
        }
    }

    /// As written in JSON and reports: a band, `adult` or `unknown`.
    pub fn band_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Child { band, .. } => band.as_str(),
            Self::Adult => "adult",
        }
    }
}

/// An [`AgeStatus`] with the span of time it holds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeSnapshot {
    /// The status.
    pub status: AgeStatus,
    /// Unix seconds from which the status may change (the next birthday), or `i64::MAX`.
    pub valid_until: i64,
}

/// The date a birthday falls on in `year` (29 February falls on 1 March in other years, as in
/// UK law).
fn birthday_in(birth: Date, year: i16) -> Option<Date> {
    Date::new(year, birth.month(), birth.day())
        .ok()
        .or_else(|| Date::new(year, 3, 1).ok())
}

/// The instant a birthday counts (12:00 UTC that day), as Unix seconds.
fn birthday_instant(date: Date) -> Option<i64> {
    let midnight = date
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp()
        .as_second();
    Some(midnight + BIRTHDAY_OFFSET_SECONDS)
}

/// Whole years from `from` to `now`, counting each anniversary at 12:00 UTC, and the instant
/// of the next anniversary.
fn years_since(from: Date, now: Timestamp) -> Option<(i64, i64)> {
    let now_seconds = now.as_second();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let mut years = i64::from(today.year()) - i64::from(from.year());
    // Step back until this year's anniversary has counted.
    loop {
        let anniversary = birthday_in(from, from.year().checked_add(i16::try_from(years).ok()?)?)?;
        if years <= 0 || birthday_instant(anniversary)? <= now_seconds {
            break;
        }
        years -= 1;
    }
    let next_year = from.year().checked_add(i16::try_from(years + 1).ok()?)?;
    let next = birthday_in(from, next_year)
        .and_then(birthday_instant)
        .unwrap_or(i64::MAX);
    Some((years.max(0), next))
}

impl AgeRecord {
    /// What this record makes the user at `now`, under the policy's trusted adult methods.
    /// A record dated in the future, or one ward cannot compute, leaves the user `unknown`.
    pub fn snapshot(&self, adult_methods: &[AgeMethod], now: Timestamp) -> AgeSnapshot {
        let unknown = AgeSnapshot {
            status: AgeStatus::Unknown,
            valid_until: i64::MAX,
        };
        let (years, valid_until) = match self.evidence {
            AgeEvidence::BirthDate(birth) => match years_since(birth, now) {
                Some((years, next))
                    if birth <= now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date() =>
                {
                    (years, next)
                }
                _ => return unknown,
            },
            AgeEvidence::Age(age) => {
                let recorded_on = self.at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
                match years_since(recorded_on, now) {
                    Some((years, next)) if self.at <= now => (i64::from(age) + years, next),
                    _ => return unknown,
                }
            }
            AgeEvidence::Band(BandOrAdult::Band(band)) => {
                return AgeSnapshot {
                    status: AgeStatus::Child { age: None, band },
                    valid_until: i64::MAX,
                };
            }
            AgeEvidence::Band(BandOrAdult::Adult) => (18, i64::MAX),
        };
        let status = match u8::try_from(years).ok().and_then(AgeBand::of_age) {
            Some(band) => {
                let exact = !matches!(self.evidence, AgeEvidence::Band(_));
                AgeStatus::Child {
                    age: exact.then_some(u8::try_from(years).unwrap_or(u8::MAX)),
                    band,
                }
            }
            // 18 or over: an adult only by a trusted method, and never by self-declaration.
            None if self.method != AgeMethod::SelfDeclared
                && adult_methods.contains(&self.method) =>
            {
                AgeStatus::Adult
            }
            None => AgeStatus::Unknown,
        };
        AgeSnapshot {
            status,
            valid_until,
        }
    }
}

/// The snapshot for a user with this record (or none) under `policy`.
pub fn age_snapshot(record: Option<&AgeRecord>, policy: &Policy, now: Timestamp) -> AgeSnapshot {
    match record {
        Some(record) => record.snapshot(&policy.service.adult_age_methods, now),
        None => AgeSnapshot {
            status: AgeStatus::Unknown,
            valid_until: i64::MAX,
        },
    }
}
