//! The Code's age bands and which of them a service admits.
//!
//! Not for working out a particular child's age from an age-assurance record: that belongs to
//! the child model, which uses these bands.

use std::fmt;
use std::str::FromStr;

/// One of the Code's five developmental age bands for children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeBand {
    /// 0 to 5: pre-literate and early literacy.
    UpTo5,
    /// 6 to 9: core primary school years.
    From6To9,
    /// 10 to 12: transition years.
    From10To12,
    /// 13 to 15: early teens.
    From13To15,
    /// 16 to 17: approaching adulthood.
    From16To17,
}

impl AgeBand {
    /// Every band, youngest first.
    pub const ALL: [AgeBand; 5] = [
        Self::UpTo5,
        Self::From6To9,
        Self::From10To12,
        Self::From13To15,
        Self::From16To17,
    ];

    /// The band as written in `ward.toml` (`"6-9"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpTo5 => "0-5",
            Self::From6To9 => "6-9",
            Self::From10To12 => "10-12",
            Self::From13To15 => "13-15",
            Self::From16To17 => "16-17",
        }
    }

    /// The youngest age in the band.
    pub fn lowest_age(self) -> u8 {
        match self {
            Self::UpTo5 => 0,
            Self::From6To9 => 6,
            Self::From10To12 => 10,
            Self::From13To15 => 13,
            Self::From16To17 => 16,
        }
    }

    /// The oldest age in the band.
    pub fn highest_age(self) -> u8 {
        match self {
            Self::UpTo5 => 5,
            Self::From6To9 => 9,
            Self::From10To12 => 12,
            Self::From13To15 => 15,
            Self::From16To17 => 17,
        }
    }

    /// The band holding `age`, or `None` for 18 and over.
    pub fn of_age(age: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|band| age <= band.highest_age())
    }

    /// Position in [`AgeBand::ALL`], for per-band tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The bands a service with this `min_age` admits: every band overlapping `[min_age, 17]`.
    pub fn admitted_from(min_age: u8) -> impl Iterator<Item = AgeBand> {
        Self::ALL
            .into_iter()
            .filter(move |band| band.highest_age() >= min_age)
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the Code's age bands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown age band `{0}`, expected one of `0-5`, `6-9`, `10-12`, `13-15`, `16-17`")]
pub struct UnknownAgeBand(pub String);

impl FromStr for AgeBand {
    type Err = UnknownAgeBand;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|band| band.as_str() == text)
            .ok_or_else(|| UnknownAgeBand(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_admits_every_band_that_overlaps_its_minimum_age() {
        let admitted: Vec<_> = AgeBand::admitted_from(8).collect();
        assert_eq!(
            admitted,
            [
                AgeBand::From6To9,
                AgeBand::From10To12,
                AgeBand::From13To15,
                AgeBand::From16To17
            ]
        );
        assert_eq!(AgeBand::admitted_from(13).count(), 2);
        assert_eq!(AgeBand::admitted_from(0).count(), 5);
        assert_eq!(
            AgeBand::admitted_from(17).collect::<Vec<_>>(),
            [AgeBand::From16To17]
        );
    }

    #[test]
    fn ages_fall_in_their_band() {
        assert_eq!(AgeBand::of_age(5), Some(AgeBand::UpTo5));
        assert_eq!(AgeBand::of_age(6), Some(AgeBand::From6To9));
        assert_eq!(AgeBand::of_age(12), Some(AgeBand::From10To12));
        assert_eq!(AgeBand::of_age(13), Some(AgeBand::From13To15));
        assert_eq!(AgeBand::of_age(17), Some(AgeBand::From16To17));
        assert_eq!(AgeBand::of_age(18), None);
    }

    #[test]
    fn bands_parse_from_their_written_form_only() {
        for band in AgeBand::ALL {
            assert_eq!(band.as_str().parse::<AgeBand>(), Ok(band));
        }
        assert!("6 - 9".parse::<AgeBand>().is_err());
        assert!("adult".parse::<AgeBand>().is_err());
    }
}
