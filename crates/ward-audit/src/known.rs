//! Reading `results.json` back: the words its fields hold as `&'static str` (bands, Ofcom
//! category codes, removal reasons, the precaution) are read as one of the values ward writes,
//! and anything else is an error, so a results file read back is exactly a result ward could
//! have written. Only the serde side of [`crate::report::AuditResult`]; nothing here measures.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use ward_core::age::AgeBand;
use ward_core::feed::{Code, RemovalReason};
use ward_core::policy::Precaution;

use crate::catalogue::HarmCategory;

/// A word ward writes, read back as the same `&'static str` (an alias, so serde's derive
/// does not take the `'static` for a borrow of the input).
pub type Word = &'static str;

fn one_of<E: serde::de::Error>(
    text: &str,
    mut known: impl Iterator<Item = &'static str>,
    what: &str,
) -> Result<&'static str, E> {
    known
        .find(|k| *k == text)
        .ok_or_else(|| E::custom(format!("`{text}` is not {what}")))
}

fn bands() -> impl Iterator<Item = &'static str> {
    AgeBand::ALL.into_iter().map(AgeBand::as_str)
}

fn categories() -> impl Iterator<Item = &'static str> {
    HarmCategory::ALL.iter().map(|c| c.code())
}

/// An age band (`13-15`).
pub(crate) fn band<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(&String::deserialize(d)?, bands(), "an age band")
}

/// `[feed] precaution`.
pub(crate) fn precaution<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let text = String::deserialize(d)?;
    one_of(
        &text,
        Precaution::ALL.iter().map(|p| p.as_str()),
        "a precaution",
    )
}

/// `any_harmful` or an Ofcom category code.
pub(crate) fn time_to_category<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let text = String::deserialize(d)?;
    one_of(
        &text,
        std::iter::once("any_harmful").chain(categories()),
        "`any_harmful` or an Ofcom category",
    )
}

/// Counts per Ofcom category code.
pub(crate) fn per_category<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<&'static str, usize>, D::Error> {
    BTreeMap::<String, usize>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| Ok((one_of(&k, categories(), "an Ofcom category")?, v)))
        .collect()
}

/// Counts per removal reason.
pub(crate) fn per_reason<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<&'static str, u32>, D::Error> {
    BTreeMap::<String, u32>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| {
            let reasons = RemovalReason::ALL.iter().map(|r| r.code());
            Ok((one_of(&k, reasons, "a removal reason")?, v))
        })
        .collect()
}

/// The spec's bands, `null` for every admitted band.
pub(crate) fn spec_bands<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<AgeBand>>, D::Error> {
    let Some(texts) = Option::<Vec<String>>::deserialize(d)? else {
        return Ok(None);
    };
    texts
        .iter()
        .map(|text| {
            AgeBand::ALL
                .into_iter()
                .find(|b| b.as_str() == text)
                .ok_or_else(|| D::Error::custom(format!("`{text}` is not an age band")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A date as `2026-01-05`.
pub(crate) fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| D::Error::custom(format!("`{text}` is not a date like 2026-01-05")))
}

/// Times as `07:30`.
pub(crate) fn times<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Time>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| {
            text.split_once(':')
                .and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)))
                .and_then(|(h, m)| Time::new(h, m, 0, 0).ok())
                .ok_or_else(|| D::Error::custom(format!("`{text}` is not a time like 07:30")))
        })
        .collect()
}
