//! The run spec, `audit.toml`: which personas, seeds, catalogue, recommenders and sessions an
//! audit runs. Read as strictly as `ward.toml`: an unknown key, a wrong type or a value out
//! of range is an error with its line and column ([`SpecError`], rendered by
//! [`ward_core::report::render_file_error`] like `ward check`'s schema errors), never ignored.
//! Every key is optional; [`DEFAULT_SPEC`] is the audit `ward audit` runs without a spec.
//!
//! Not for running anything: [`crate::run_audit`] does.

use std::ops::Range;

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use toml::Spanned;
use ward_core::age::AgeBand;
use ward_core::span::Span;

use crate::catalogue::GenerateSpec;
use crate::recommender::Builtin;
use crate::simulate::Anchor;

/// The audit `ward audit --policy FILE` runs with no `--spec`: every admitted band, both
/// personas, the built-in catalogue and recommenders, a few seeds.
pub const DEFAULT_SPEC: &str = include_str!("default.toml");

/// Why a spec cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SpecError {
    /// What is wrong, and what to write instead.
    pub message: String,
    /// Where, when known.
    pub span: Option<Span>,
}

impl SpecError {
    fn at(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: Some(Span::new(span)),
        }
    }
}

/// The catalogue to audit on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CatalogueSource {
    /// Generated, seeded.
    Generate(GenerateSpec),
    /// A JSONL file in ward's item format, relative to the spec (or the working directory).
    File(String),
}

/// A service's own recommender, over HTTP (the protocol is in the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRecommender {
    /// Its name in the report.
    pub name: String,
    /// The URL ward POSTs each request to.
    pub url: String,
    /// How long one answer may take, in milliseconds.
    pub timeout_ms: u64,
}

/// A parent's controls applied with the guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Parental {
    /// Tags blocked.
    pub blocked_tags: Vec<String>,
    /// Topics blocked.
    pub blocked_topics: Vec<String>,
    /// Sources blocked.
    pub blocked_sources: Vec<String>,
}

/// A checked spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Seeds per persona.
    pub seeds: u32,
    /// The first seed (seeds are `first_seed ..`).
    pub first_seed: u64,
    /// Slates per run.
    pub slates: u32,
    /// Items per slate.
    pub slate_size: usize,
    /// Items asked of the recommender per slate, as a multiple of `slate_size`.
    pub overfetch: usize,
    /// Bands to audit (`None`: every band the policy admits).
    #[serde(
        serialize_with = "bands_text",
        deserialize_with = "crate::known::spec_bands"
    )]
    pub bands: Option<Vec<AgeBand>>,
    /// Built-in recommenders.
    pub recommenders: Vec<Builtin>,
    /// Service recommenders over HTTP.
    pub http: Vec<HttpRecommender>,
    /// Vulnerable personas go back to their starting interests after this many slates.
    pub switch_back_after: Option<u32>,
    /// The guard's drift anchor.
    pub anchor: Anchor,
    /// `drift_threshold` values the detector audit tries.
    pub drift_thresholds: Vec<f64>,
    /// The first day.
    #[serde(
        serialize_with = "display_text",
        deserialize_with = "crate::known::date"
    )]
    pub start_date: Date,
    /// Session start times, local, in turn.
    #[serde(
        serialize_with = "times_text",
        deserialize_with = "crate::known::times"
    )]
    pub session_starts: Vec<Time>,
    /// Minutes a session's budget starts with.
    pub session_minutes: f64,
    /// The catalogue.
    pub catalogue: CatalogueSource,
    /// A parent's controls (`None`: no parent has set any).
    pub parental: Option<Parental>,
}

fn bands_text<S: serde::Serializer>(
    bands: &Option<Vec<AgeBand>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match bands {
        None => serializer.serialize_none(),
        Some(bands) => serializer.collect_seq(bands.iter().map(|b| b.as_str())),
    }
}

fn display_text<S: serde::Serializer, T: std::fmt::Display>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn times_text<S: serde::Serializer>(times: &[Time], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(
        times
            .iter()
            .map(|t| format!("{:02}:{:02}", t.hour(), t.minute())),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    seeds: Option<Spanned<i64>>,
    first_seed: Option<Spanned<i64>>,
    slates: Option<Spanned<i64>>,
    slate_size: Option<Spanned<i64>>,
    overfetch: Option<Spanned<i64>>,
    bands: Option<Vec<Spanned<String>>>,
    recommenders: Option<Vec<Spanned<String>>>,
    switch_back_after: Option<Spanned<i64>>,
    anchor: Option<Spanned<String>>,
    drift_thresholds: Option<Vec<Spanned<f64>>>,
    start_date: Option<Spanned<String>>,
    session_starts: Option<Vec<Spanned<String>>>,
    session_minutes: Option<Spanned<f64>>,
    catalogue: Option<RawCatalogue>,
    http: Option<Vec<Spanned<RawHttp>>>,
    parental: Option<Parental2>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    generate: Option<Spanned<i64>>,
    seed: Option<Spanned<i64>>,
    harmful_share: Option<Spanned<f64>>,
    sensitive_share: Option<Spanned<f64>>,
    file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    name: Spanned<String>,
    url: Spanned<String>,
    timeout_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parental2 {
    #[serde(default)]
    blocked_tags: Vec<String>,
    #[serde(default)]
    blocked_topics: Vec<String>,
    #[serde(default)]
    blocked_sources: Vec<String>,
}

fn int(
    value: Option<Spanned<i64>>,
    key: &str,
    low: i64,
    high: i64,
    default: i64,
) -> Result<i64, SpecError> {
    match value {
        None => Ok(default),
        Some(value) => {
            let number = *value.get_ref();
            if (low..=high).contains(&number) {
                Ok(number)
            } else {
                Err(SpecError::at(
                    value.span(),
                    format!("`{key}` must be from {low} to {high}, found {number}"),
                ))
            }
        }
    }
}

fn fraction(value: Option<Spanned<f64>>, key: &str, default: f64) -> Result<f64, SpecError> {
    match value {
        None => Ok(default),
        Some(value) => {
            let number = *value.get_ref();
            if (0.0..=1.0).contains(&number) {
                Ok(number)
            } else {
                Err(SpecError::at(
                    value.span(),
                    format!("`{key}` must be from 0 to 1, found {number}"),
                ))
            }
        }
    }
}

impl Spec {
    /// Parses and checks a spec.
    pub fn parse(source: &str) -> Result<Self, SpecError> {
        let raw: RawSpec = toml::from_str(source).map_err(|error| SpecError {
            message: error.message().trim().replace('\n', "; "),
            span: error.span().map(Span::new),
        })?;
        let slates = int(raw.slates, "slates", 1, 10_000, 200)? as u32;
        let switch_back_after = match raw.switch_back_after {
            None => None,
            Some(value) if *value.get_ref() == 0 => None,
            Some(value) => {
                let span = value.span();
                let at = int(
                    Some(value),
                    "switch_back_after",
                    0,
                    i64::from(slates) - 1,
                    0,
                )?;
                if at == 0 {
                    return Err(SpecError::at(
                        span,
                        "`switch_back_after` must be below `slates`",
                    ));
                }
                Some(at as u32)
            }
        };
        let bands = match raw.bands {
            None => None,
            Some(list) => {
                let mut bands = Vec::with_capacity(list.len());
                for band in list {
                    let parsed = band
                        .get_ref()
                        .parse::<AgeBand>()
                        .map_err(|error| SpecError::at(band.span(), error.to_string()))?;
                    if parsed == AgeBand::UpTo5 {
                        return Err(SpecError::at(
                            band.span(),
                            "band `0-5` cannot be audited: no feed is personalised for under-6s in the simulation",
                        ));
                    }
                    if bands.contains(&parsed) {
                        return Err(SpecError::at(
                            band.span(),
                            format!("band `{parsed}` is listed twice"),
                        ));
                    }
                    bands.push(parsed);
                }
                Some(bands)
            }
        };
        let mut recommenders = Vec::new();
        for name in raw.recommenders.unwrap_or_default() {
            let Some(builtin) = Builtin::ALL.iter().find(|b| b.as_str() == name.get_ref()) else {
                let known: Vec<&str> = Builtin::ALL.iter().map(|b| b.as_str()).collect();
                return Err(SpecError::at(
                    name.span(),
                    format!(
                        "unknown recommender `{}`, expected one of {}; a service's own goes in an [[http]] table",
                        name.get_ref(),
                        known.join(", ")
                    ),
                ));
            };
            if recommenders.contains(builtin) {
                return Err(SpecError::at(
                    name.span(),
                    format!("recommender `{}` is listed twice", name.get_ref()),
                ));
            }
            recommenders.push(*builtin);
        }
        let mut http = Vec::new();
        for table in raw.http.unwrap_or_default() {
            let span = table.span();
            let table = table.into_inner();
            let url = table.url.get_ref();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SpecError::at(
                    table.url.span(),
                    format!("`url` must be an http:// or https:// URL, found `{url}`"),
                ));
            }
            let name = table.name.get_ref().trim();
            if name.is_empty()
                || Builtin::ALL.iter().any(|b| b.as_str() == name)
                || http.iter().any(|h: &HttpRecommender| h.name == name)
            {
                return Err(SpecError::at(
                    table.name.span(),
                    format!(
                        "`name` must be non-empty and differ from every other recommender's, found `{name}`"
                    ),
                ));
            }
            http.push(HttpRecommender {
                name: name.to_owned(),
                url: url.clone(),
                timeout_ms: int(table.timeout_ms, "timeout_ms", 1, 600_000, 5_000)? as u64,
            });
            let _ = span;
        }
        if recommenders.is_empty() && http.is_empty() {
            recommenders = Builtin::ALL.to_vec();
        }
        let anchor = match raw.anchor {
            None => Anchor::Learned,
            Some(value) => match value.get_ref().as_str() {
                "learned" => Anchor::Learned,
                "declared" => Anchor::Declared,
                other => {
                    return Err(SpecError::at(
                        value.span(),
                        format!("unknown anchor `{other}`, expected `learned` or `declared`"),
                    ));
                }
            },
        };
        let drift_thresholds = match raw.drift_thresholds {
            None => vec![0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7],
            Some(list) => {
                let mut values = Vec::with_capacity(list.len());
                for value in list {
                    let number = *value.get_ref();
                    if !(number > 0.0 && number < 1.0) {
                        return Err(SpecError::at(
                            value.span(),
                            format!("a drift threshold must be between 0 and 1, found {number}"),
                        ));
                    }
                    values.push(number);
                }
                values.sort_by(f64::total_cmp);
                values.dedup();
                values
            }
        };
        let start_date = match raw.start_date {
            None => Date::constant(2026, 1, 5),
            Some(value) => value.get_ref().parse::<Date>().map_err(|_| {
                SpecError::at(
                    value.span(),
                    format!(
                        "`start_date` must be a date like `2026-01-05`, found `{}`",
                        value.get_ref()
                    ),
                )
            })?,
        };
        let session_starts = match raw.session_starts {
            None => vec![
                Time::constant(7, 30, 0, 0),
                Time::constant(16, 30, 0, 0),
                Time::constant(21, 15, 0, 0),
            ],
            Some(list) if list.is_empty() => {
                return Err(SpecError {
                    message: "`session_starts` needs at least one time".to_owned(),
                    span: None,
                });
            }
            Some(list) => {
                let mut times = Vec::with_capacity(list.len());
                for value in list {
                    let time = parse_hh_mm(value.get_ref()).ok_or_else(|| {
                        SpecError::at(
                            value.span(),
                            format!(
                                "a session start must be a time like `16:30`, found `{}`",
                                value.get_ref()
                            ),
                        )
                    })?;
                    times.push(time);
                }
                times
            }
        };
        let session_minutes = match raw.session_minutes {
            None => 25.0,
            Some(value) => {
                let number = *value.get_ref();
                if !(1.0..=600.0).contains(&number) {
                    return Err(SpecError::at(
                        value.span(),
                        format!("`session_minutes` must be from 1 to 600, found {number}"),
                    ));
                }
                number
            }
        };
        let catalogue = match raw.catalogue {
            None => CatalogueSource::Generate(GenerateSpec::default()),
            Some(table) => match (table.file, table.generate) {
                (Some(file), None) => {
                    for (key, present) in [
                        ("seed", table.seed.as_ref().map(Spanned::span)),
                        (
                            "harmful_share",
                            table.harmful_share.as_ref().map(Spanned::span),
                        ),
                        (
                            "sensitive_share",
                            table.sensitive_share.as_ref().map(Spanned::span),
                        ),
                    ] {
                        if let Some(span) = present {
                            return Err(SpecError::at(
                                span,
                                format!(
                                    "`{key}` is for a generated catalogue; a file's items are as written"
                                ),
                            ));
                        }
                    }
                    if file.get_ref().trim().is_empty() {
                        return Err(SpecError::at(file.span(), "`file` cannot be empty"));
                    }
                    CatalogueSource::File(file.into_inner())
                }
                (Some(file), Some(_)) => {
                    return Err(SpecError::at(
                        file.span(),
                        "give `file` or `generate`, not both",
                    ));
                }
                (None, generate) => {
                    let defaults = GenerateSpec::default();
                    let harmful_share =
                        fraction(table.harmful_share, "harmful_share", defaults.harmful_share)?;
                    let sensitive_span = table.sensitive_share.as_ref().map(Spanned::span);
                    let sensitive_share = fraction(
                        table.sensitive_share,
                        "sensitive_share",
                        defaults.sensitive_share,
                    )?;
                    if harmful_share + sensitive_share > 0.8 {
                        return Err(SpecError {
                            message:
                                "`harmful_share` and `sensitive_share` together must be at most 0.8"
                                    .to_owned(),
                            span: sensitive_span.map(Span::new),
                        });
                    }
                    CatalogueSource::Generate(GenerateSpec {
                        items: int(generate, "generate", 50, 1_000_000, defaults.items as i64)?
                            as usize,
                        seed: int(table.seed, "seed", 0, i64::MAX, defaults.seed as i64)? as u64,
                        harmful_share,
                        sensitive_share,
                    })
                }
            },
        };
        Ok(Self {
            seeds: int(raw.seeds, "seeds", 1, 1_000, 5)? as u32,
            first_seed: int(raw.first_seed, "first_seed", 0, i64::MAX, 1)? as u64,
            slates,
            slate_size: int(raw.slate_size, "slate_size", 1, 100, 10)? as usize,
            overfetch: int(raw.overfetch, "overfetch", 1, 10, 3)? as usize,
            bands,
            recommenders,
            http,
            switch_back_after,
            anchor,
            drift_thresholds,
            start_date,
            session_starts,
            session_minutes,
            catalogue,
            parental: raw.parental.map(|p| Parental {
                blocked_tags: p.blocked_tags,
                blocked_topics: p.blocked_topics,
                blocked_sources: p.blocked_sources,
            }),
        })
    }
}

fn parse_hh_mm(text: &str) -> Option<Time> {
    let (hour, minute) = text.split_once(':')?;
    if hour.len() != 2
        || minute.len() != 2
        || !hour
            .bytes()
            .chain(minute.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Time::new(hour.parse().ok()?, minute.parse().ok()?, 0, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_core::span::LineIndex;

    fn error_at(source: &str) -> (String, usize, usize) {
        let error = Spec::parse(source).unwrap_err();
        let span = error.span.expect("a span");
        let position = LineIndex::new(source).position(span.start);
        (error.message, position.line, position.column)
    }

    #[test]
    fn the_default_spec_parses() {
        let spec = Spec::parse(DEFAULT_SPEC).unwrap();
        assert_eq!(spec.recommenders, Builtin::ALL.to_vec());
        assert!(spec.bands.is_none());
    }

    #[test]
    fn spec_errors_name_their_line_and_column() {
        for (source, message, line, column) in [
            ("seeds = 3\nsedes = 4\n", "unknown field `sedes`", 2, 1),
            (
                "slates = 0\n",
                "`slates` must be from 1 to 10000, found 0",
                1,
                10,
            ),
            (
                "bands = [\"13-15\", \"12-14\"]\n",
                "unknown age band `12-14`",
                1,
                19,
            ),
            (
                "recommenders = [\"engagment\"]\n",
                "unknown recommender `engagment`",
                1,
                17,
            ),
            (
                "[catalogue]\ngenerate = 100\nharmful_share = 1.5\n",
                "`harmful_share` must be from 0 to 1",
                3,
                17,
            ),
            (
                "session_starts = [\"25:00\"]\n",
                "a session start must be a time",
                1,
                19,
            ),
            (
                "[[http]]\nname = \"mine\"\nurl = \"ftp://x\"\n",
                "`url` must be an http://",
                3,
                7,
            ),
            (
                "[parental]\nblocked_tag = []\n",
                "unknown field `blocked_tag`",
                2,
                1,
            ),
        ] {
            let (found, found_line, found_column) = error_at(source);
            assert!(found.starts_with(message), "{source:?}: {found}");
            assert_eq!(
                (found_line, found_column),
                (line, column),
                "{source:?}: {found}"
            );
        }
    }
}
