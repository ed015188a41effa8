//! The result of an audit, typed once: [`AuditResult`] is what `results.json` holds (its
//! schema is `docs/audit.md`), and [`to_html`] renders the self-contained `report.html` from
//! the same value through an askama template, so the two cannot drift apart. Plots are inline
//! SVG built here from the result (harmful share over time per band with and without the
//! guard, time to first harm, drift curves, the detector audit), each with a text alternative
//! and its data as a table.
//!
//! [`FailOn`] is the CI side: thresholds on the [`Verdicts`] that make `ward audit` fail.
//!
//! Not for measuring: that is [`crate::metrics`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Designation, HarmCategory};
use crate::metrics::{DetectorPoint, Estimate, GroupSummary, WINDOW};
use crate::persona::UserModel;
use crate::spec::Spec;

/// The version of `results.json`'s shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything an audit found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditResult {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// The ward that ran it.
    pub ward_version: String,
    /// What it ran on.
    pub hashes: Hashes,
    /// The spec, as checked (defaults filled in).
    pub spec: Spec,
    /// The policy's part.
    pub policy: PolicySummary,
    /// The catalogue.
    pub catalogue: CatalogueSummary,
    /// The user model's parameters.
    pub model: UserModel,
    /// Per recommender.
    pub recommenders: Vec<RecommenderResult>,
    /// The headline checks `--fail-on` reads.
    pub verdicts: Verdicts,
}

/// SHA-256 of the inputs, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hashes {
    /// The spec's text (the embedded default's when none was given).
    pub spec_sha256: String,
    /// The policy file.
    pub policy_sha256: String,
    /// The catalogue as JSONL (the generated text for a generated one).
    pub catalogue_sha256: String,
}

/// The policy's part of the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySummary {
    /// `[service] name`.
    pub service: String,
    /// `[service] min_age`.
    pub min_age: u8,
    /// `[service] time_zone`.
    pub time_zone: String,
    /// `[feed] drift_window`.
    pub drift_window: u32,
    /// `[feed] drift_threshold`.
    pub drift_threshold: f64,
    /// `[feed] sensitive_cap`.
    pub sensitive_cap: f64,
    /// `[feed] sensitive_topics`.
    pub sensitive_topics: Vec<String>,
    /// `[feed] precaution`.
    #[serde(deserialize_with = "crate::known::precaution")]
    pub precaution: crate::known::Word,
}

/// The catalogue audited on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSummary {
    /// `generated (2000 items, seed 1)` or the file's path.
    pub source: String,
    /// Items.
    pub items: usize,
    /// Content items (video, post, ad).
    pub content: usize,
    /// Notifications.
    pub notifications: usize,
    /// Distinct topics.
    pub topics: usize,
    /// Content on the policy's sensitive topics.
    pub sensitive: usize,
    /// Items per Ofcom category.
    #[serde(deserialize_with = "crate::known::per_category")]
    pub by_category: BTreeMap<&'static str, usize>,
}

/// One recommender's audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommenderResult {
    /// Its name.
    pub name: String,
    /// A service's, over HTTP.
    pub http: bool,
    /// Per age band.
    pub bands: Vec<BandResult>,
    /// The drift detector across thresholds.
    pub detector: DetectorResult,
}

/// One band's personas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandResult {
    /// The band.
    #[serde(deserialize_with = "crate::known::band")]
    pub band: crate::known::Word,
    /// The age its personas have.
    pub age: u8,
    /// The standard persona.
    pub standard: KindResult,
    /// The vulnerable persona.
    pub vulnerable: KindResult,
    /// Vulnerable ÷ standard.
    pub vulnerable_over_standard: PairRatio,
}

/// One persona kind, without and with the guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindResult {
    /// Without the guard.
    pub off: GroupSummary,
    /// With it.
    pub on: GroupSummary,
}

/// Vulnerable ÷ standard ratios (`null` when the standard persona saw none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRatio {
    /// Harmful share, without the guard (CCDH: 3×).
    pub harmful_off: Option<Estimate>,
    /// Harmful share, with it.
    pub harmful_on: Option<Estimate>,
    /// Self-harm and suicide share, without the guard (CCDH: 12×).
    pub self_harm_suicide_off: Option<Estimate>,
    /// Sensitive share, without the guard.
    pub sensitive_off: Option<Estimate>,
    /// Sensitive share, with it.
    pub sensitive_on: Option<Estimate>,
}

/// The drift detector's audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorResult {
    /// False alarms and catches per threshold.
    pub points: Vec<DetectorPoint>,
    /// The threshold with the most catches less false alarms (`null`: none separates them).
    pub recommended_threshold: Option<f64>,
    /// The policy's `drift_threshold`.
    pub policy_threshold: f64,
}

/// The headline checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdicts {
    /// Primary priority items shown with the guard, over every run.
    pub primary_priority_guarded: u64,
    /// Priority items shown with the guard, over every run.
    pub priority_guarded: u64,
    /// The highest mean harmful share of any group with the guard.
    pub harmful_share_guarded_max: f64,
    /// The highest mean harmful share of any group without it.
    pub harmful_share_unguarded_max: f64,
    /// The highest sensitive share of a window served wholly under the drift cap (`null`: the
    /// cap never held a whole window).
    pub capped_window_share_max: Option<f64>,
    /// The policy's `sensitive_cap`.
    pub sensitive_cap: f64,
}

fn total(estimate: &Estimate) -> u64 {
    (estimate.mean * estimate.n as f64).round() as u64
}

impl Verdicts {
    /// The checks over every recommender's results.
    pub fn from_results(results: &[RecommenderResult], sensitive_cap: f64) -> Self {
        let groups = || {
            results
                .iter()
                .flat_map(|r| r.bands.iter())
                .flat_map(|b| [&b.standard, &b.vulnerable])
        };
        Self {
            primary_priority_guarded: groups().map(|k| total(&k.on.primary_priority)).sum(),
            priority_guarded: groups().map(|k| total(&k.on.priority)).sum(),
            harmful_share_guarded_max: groups()
                .map(|k| k.on.harmful_share.mean)
                .fold(0.0, f64::max),
            harmful_share_unguarded_max: groups()
                .map(|k| k.off.harmful_share.mean)
                .fold(0.0, f64::max),
            capped_window_share_max: groups()
                .filter_map(|k| k.on.capped_window_share_max)
                .reduce(f64::max),
            sensitive_cap,
        }
    }
}

/// A `--fail-on` threshold: the audit fails when the measure is above the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FailOn {
    /// More than this many primary priority items shown with the guard, over every run.
    PrimaryPriority(u64),
    /// More than this many priority items shown with the guard.
    Priority(u64),
    /// A group's mean harmful share with the guard above this.
    HarmfulShare(f64),
    /// A window served wholly under the drift cap holding more sensitive items than the
    /// policy's `sensitive_cap` (no value).
    OverCap,
}

/// The `--fail-on` keys, for help and errors.
pub const FAIL_ON_KEYS: &str = "primary_priority=N, priority=N, harmful_share=F, over_cap";

impl FailOn {
    /// Reads `key=value` (or `over_cap`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (text.trim(), None),
        };
        let count = |value: Option<&str>| {
            value
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("`--fail-on {key}=N` needs a whole number"))
        };
        match key {
            "primary_priority" => count(value).map(Self::PrimaryPriority),
            "priority" => count(value).map(Self::Priority),
            "harmful_share" => value
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| (0.0..=1.0).contains(v))
                .map(Self::HarmfulShare)
                .ok_or_else(|| "`--fail-on harmful_share=F` needs a share from 0 to 1".to_owned()),
            "over_cap" if value.is_none() => Ok(Self::OverCap),
            _ => Err(format!(
                "unknown `--fail-on {text}`: the keys are {FAIL_ON_KEYS}"
            )),
        }
    }

    /// A sentence when the verdicts break this threshold.
    pub fn breach(self, verdicts: &Verdicts) -> Option<String> {
        match self {
            Self::PrimaryPriority(limit) if verdicts.primary_priority_guarded > limit => {
                Some(format!(
                    "{} primary priority items were shown with the guard (limit {limit})",
                    verdicts.primary_priority_guarded
                ))
            }
            Self::Priority(limit) if verdicts.priority_guarded > limit => Some(format!(
                "{} priority items were shown with the guard (limit {limit})",
                verdicts.priority_guarded
            )),
            Self::HarmfulShare(limit) if verdicts.harmful_share_guarded_max > limit => {
                Some(format!(
                    "a harmful share of {:.3} with the guard (limit {limit})",
                    verdicts.harmful_share_guarded_max
                ))
            }
            Self::OverCap => verdicts
                .capped_window_share_max
                .filter(|share| *share > verdicts.sensitive_cap + 1e-9)
                .map(|share| {
                    format!(
                        "a window under the drift cap held {share:.3} sensitive items (cap {})",
                        verdicts.sensitive_cap
                    )
                }),
            _ => None,
        }
    }
}

// ---- The HTML report --------------------------------------------------------------------

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;

/// A tick on an axis.
#[derive(Debug, Clone)]
pub struct Tick {
    /// Where, in SVG units.
    pub at: String,
    /// Its label.
    pub label: String,
}

/// One line or set of marks.
#[derive(Debug, Clone)]
pub struct SeriesView {
    /// For the legend.
    pub name: String,
    /// A CSS class (colour, dash and marker shape differ, so colour is never the only cue).
    pub class: &'static str,
    /// The SVG path (empty for marks only).
    pub path: String,
    /// Marks: x, y in SVG units.
    pub marks: Vec<(String, String)>,
}

/// A table of a chart's data.
#[derive(Debug, Clone)]
pub struct TableView {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells (the first is the row's header).
    pub rows: Vec<Vec<String>>,
}

/// One plot, its text alternative and its data.
#[derive(Debug, Clone)]
pub struct ChartView {
    /// A unique id.
    pub id: String,
    /// The title.
    pub title: String,
    /// The text alternative: what the plot shows, in words.
    pub summary: String,
    /// The x axis label.
    pub x_label: String,
    /// The y axis label.
    pub y_label: String,
    /// Ticks.
    pub x_ticks: Vec<Tick>,
    /// Ticks.
    pub y_ticks: Vec<Tick>,
    /// The series.
    pub series: Vec<SeriesView>,
    /// The data.
    pub table: TableView,
}

fn num(value: f64) -> String {
    format!("{value:.1}")
}

struct Axes {
    x_max: f64,
    y_max: f64,
}

impl Axes {
    fn x(&self, value: f64) -> f64 {
        LEFT + (WIDTH - LEFT - RIGHT) * (value / self.x_max.max(1e-9))
    }
    fn y(&self, value: f64) -> f64 {
        HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value / self.y_max.max(1e-9))
    }
    fn path(&self, points: &[(f64, f64)]) -> String {
        let mut path = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                path,
                "{}{} {} ",
                if i == 0 { "M" } else { "L" },
                num(self.x(*x)),
                num(self.y(*y))
            );
        }
        path.trim_end().to_owned()
    }
    fn ticks(
        &self,
        x_unit: &dyn Fn(f64) -> String,
        y_unit: &dyn Fn(f64) -> String,
    ) -> (Vec<Tick>, Vec<Tick>) {
        let x_ticks = (0..=5)
            .map(|i| {
                let value = self.x_max * f64::from(i) / 5.0;
                Tick {
                    at: num(self.x(value)),
                    label: x_unit(value),
                }
            })
            .collect();
        let y_ticks = (0..=4)
            .map(|i| {
                let value = self.y_max * f64::from(i) / 4.0;
                Tick {
                    at: num(self.y(value)),
                    label: y_unit(value),
                }
            })
            .collect();
        (x_ticks, y_ticks)
    }
}

fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

fn percent1(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

fn estimate_text(estimate: &Estimate, unit: &dyn Fn(f64) -> String) -> String {
    format!(
        "{} ({}–{})",
        unit(estimate.mean),
        unit(estimate.low),
        unit(estimate.high)
    )
}

const SERIES: [(&str, &str); 4] = [
    ("standard, no guard", "s-std-off"),
    ("vulnerable, no guard", "s-vul-off"),
    ("standard, with ward", "s-std-on"),
    ("vulnerable, with ward", "s-vul-on"),
];

fn four(band: &BandResult) -> [&GroupSummary; 4] {
    [
        &band.standard.off,
        &band.vulnerable.off,
        &band.standard.on,
        &band.vulnerable.on,
    ]
}

/// A line chart of a per-window series for the four runs of a band.
fn window_chart(
    id: String,
    title: String,
    what: &str,
    band: &BandResult,
    series_of: &dyn Fn(&GroupSummary) -> &[f64],
    y_max: f64,
    y_unit: &dyn Fn(f64) -> String,
) -> ChartView {
    let groups = four(band);
    let n_windows = groups.iter().map(|g| series_of(g).len()).max().unwrap_or(0);
    let axes = Axes {
        x_max: (n_windows * WINDOW) as f64,
        y_max,
    };
    let series: Vec<SeriesView> = groups
        .iter()
        .zip(SERIES)
        .map(|(group, (name, class))| {
            let points: Vec<(f64, f64)> = series_of(group)
                .iter()
                .enumerate()
                .map(|(i, v)| (((i + 1) * WINDOW) as f64, v.min(y_max)))
                .collect();
            SeriesView {
                name: name.to_owned(),
                class,
                path: axes.path(&points),
                marks: points
                    .iter()
                    .map(|(x, y)| (num(axes.x(*x)), num(axes.y(*y))))
                    .collect(),
            }
        })
        .collect();
    let (x_ticks, y_ticks) = axes.ticks(&|v| format!("{v:.0}"), y_unit);
    let mut rows = Vec::new();
    for window in 0..n_windows {
        let mut row = vec![format!("{}–{}", window * WINDOW + 1, (window + 1) * WINDOW)];
        for group in &groups {
            row.push(
                series_of(group)
                    .get(window)
                    .map_or("–".to_owned(), |v| y_unit(*v)),
            );
        }
        rows.push(row);
    }
    let last = |group: &GroupSummary| series_of(group).last().copied().unwrap_or(0.0);
    let summary = format!(
        "{what} per window of {WINDOW} items for the {} personas (age {}), averaged over seeds. In the last window: standard {} without the guard and {} with ward; vulnerable {} without and {} with.",
        band.band,
        band.age,
        y_unit(last(groups[0])),
        y_unit(last(groups[2])),
        y_unit(last(groups[1])),
        y_unit(last(groups[3])),
    );
    ChartView {
        id,
        title,
        summary,
        x_label: "items shown".to_owned(),
        y_label: what.to_owned(),
        x_ticks,
        y_ticks,
        series,
        table: TableView {
            headers: std::iter::once("items".to_owned())
                .chain(SERIES.iter().map(|(name, _)| (*name).to_owned()))
                .collect(),
            rows,
        },
    }
}

/// Items until the first harmful item, per seed, for each band's two personas (no guard).
fn first_harm_chart(id: String, recommender: &RecommenderResult) -> ChartView {
    let mut values: Vec<(String, &'static str, Vec<Option<u32>>)> = Vec::new();
    for band in &recommender.bands {
        for (label, class, group) in [
            ("standard", "s-std-off", &band.standard.off),
            ("vulnerable", "s-vul-off", &band.vulnerable.off),
        ] {
            let per_seed = group
                .time_to_first
                .first()
                .map(|t| t.per_seed.clone())
                .unwrap_or_default();
            values.push((format!("{} {label}", band.band), class, per_seed));
        }
    }
    let x_max = values
        .iter()
        .flat_map(|(_, _, v)| v.iter().flatten())
        .copied()
        .max()
        .unwrap_or(1)
        .max(10);
    let axes = Axes {
        x_max: f64::from(x_max) * 1.05,
        y_max: values.len() as f64 + 1.0,
    };
    let series = values
        .iter()
        .enumerate()
        .map(|(row, (name, class, per_seed))| SeriesView {
            name: name.clone(),
            class,
            path: String::new(),
            marks: per_seed
                .iter()
                .flatten()
                .map(|items| {
                    (
                        num(axes.x(f64::from(*items))),
                        num(axes.y((values.len() - row) as f64)),
                    )
                })
                .collect(),
        })
        .collect();
    let (x_ticks, _) = axes.ticks(&|v| format!("{v:.0}"), &|v| format!("{v:.0}"));
    let y_ticks = values
        .iter()
        .enumerate()
        .map(|(row, (name, _, _))| Tick {
            at: num(axes.y((values.len() - row) as f64)),
            label: name.clone(),
        })
        .collect();
    let rows: Vec<Vec<String>> = values
        .iter()
        .map(|(name, _, per_seed)| {
            let reached: Vec<u32> = per_seed.iter().flatten().copied().collect();
            vec![
                name.clone(),
                format!("{} of {}", reached.len(), per_seed.len()),
                per_seed
                    .iter()
                    .map(|v| v.map_or("never".to_owned(), |n| n.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    let summary = format!(
        "Without the guard, the number of items each persona was shown before its first primary priority or priority item, one mark per seed. {}",
        rows.iter()
            .map(|r| format!("{}: reached in {} runs ({}).", r[0], r[1], r[2]))
            .collect::<Vec<_>>()
            .join(" ")
    );
    ChartView {
        id,
        title: "Time to the first harmful item, without the guard".to_owned(),
        summary,
        x_label: "items shown before the first harmful item".to_owned(),
        y_label: "persona".to_owned(),
        x_ticks,
        y_ticks,
        series,
        table: TableView {
            headers: vec![
                "persona".into(),
                "runs reached".into(),
                "items, per seed".into(),
            ],
            rows,
        },
    }
}

fn detector_chart(id: String, detector: &DetectorResult) -> ChartView {
    let x_max = detector
        .points
        .iter()
        .map(|p| p.threshold)
        .fold(0.0, f64::max)
        .max(0.1);
    let axes = Axes { x_max, y_max: 1.0 };
    let lines = [
        ("false alarms (standard personas)", "s-std-off", true),
        ("catches (vulnerable personas)", "s-vul-off", false),
    ];
    let series = lines
        .iter()
        .map(|(name, class, false_alarm)| {
            let points: Vec<(f64, f64)> = detector
                .points
                .iter()
                .map(|p| {
                    (
                        p.threshold,
                        if *false_alarm {
                            p.false_alarm_rate
                        } else {
                            p.catch_rate
                        },
                    )
                })
                .collect();
            SeriesView {
                name: (*name).to_owned(),
                class,
                path: axes.path(&points),
                marks: points
                    .iter()
                    .map(|(x, y)| (num(axes.x(*x)), num(axes.y(*y))))
                    .collect(),
            }
        })
        .collect();
    let (x_ticks, y_ticks) = axes.ticks(&|v| format!("{v:.2}"), &percent);
    let rows = detector
        .points
        .iter()
        .map(|p| {
            vec![
                format!("{:.2}", p.threshold),
                percent(p.false_alarm_rate),
                percent(p.catch_rate),
            ]
        })
        .collect();
    let at_policy = detector
        .points
        .iter()
        .find(|p| (p.threshold - detector.policy_threshold).abs() < 1e-9);
    let summary = format!(
        "How often the drift cap would come into force, by drift_threshold: for standard personas (false alarms) and vulnerable ones (catches). {} {}",
        at_policy.map_or(String::new(), |p| format!(
            "At the policy's {:.2}: {} false alarms, {} catches.",
            p.threshold,
            percent(p.false_alarm_rate),
            percent(p.catch_rate)
        )),
        detector
            .recommended_threshold
            .map_or("No threshold separates the two.".to_owned(), |t| format!(
                "Recommended: {t:.2}."
            ))
    );
    ChartView {
        id,
        title: "The drift detector across thresholds".to_owned(),
        summary,
        x_label: "drift_threshold".to_owned(),
        y_label: "share of runs".to_owned(),
        x_ticks,
        y_ticks,
        series,
        table: TableView {
            headers: vec!["threshold".into(), "false alarms".into(), "catches".into()],
            rows,
        },
    }
}

/// A band's headline numbers, formatted.
#[derive(Debug, Clone)]
pub struct BandRow {
    /// Cells.
    pub cells: Vec<String>,
}

/// One recommender's section.
#[derive(Debug, Clone)]
pub struct SectionView {
    /// Its name.
    pub name: String,
    /// An anchor id.
    pub id: String,
    /// Headline rows (band × persona).
    pub rows: Vec<BandRow>,
    /// Time-to-first rows.
    pub first_rows: Vec<BandRow>,
    /// Guard-cost rows.
    pub cost_rows: Vec<BandRow>,
    /// The charts.
    pub charts: Vec<ChartView>,
    /// The detector's recommendation, in words.
    pub detector_text: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    result: &'a AuditResult,
    sections: Vec<SectionView>,
    verdict_rows: Vec<(String, String)>,
    category_rows: Vec<(String, String, usize)>,
    first_headers: Vec<String>,
}

fn ratio_text(estimate: &Option<Estimate>) -> String {
    estimate
        .as_ref()
        .map_or("— (standard saw none)".to_owned(), |e| {
            format!("{:.1}× ({:.1}–{:.1})", e.mean, e.low, e.high)
        })
}

fn first_text(group: &GroupSummary, category: &str) -> String {
    let Some(time) = group.time_to_first.iter().find(|t| t.category == category) else {
        return "–".to_owned();
    };
    match (&time.items, &time.minutes) {
        (Some(items), Some(minutes)) => format!(
            "{:.0} items, {:.1} min ({} of {})",
            items.mean, minutes.mean, time.reached, time.runs
        ),
        _ => format!("never (0 of {})", time.runs),
    }
}

fn first_categories() -> Vec<&'static str> {
    std::iter::once("any_harmful")
        .chain(
            HarmCategory::ALL
                .iter()
                .filter(|c| c.designation() != Designation::Sensitive)
                .map(|c| c.code()),
        )
        .chain(["low_mood", "body_image"])
        .collect()
}

fn section(index: usize, recommender: &RecommenderResult) -> SectionView {
    let id = format!("r{index}");
    let mut rows = Vec::new();
    let mut first_rows = Vec::new();
    let mut cost_rows = Vec::new();
    for band in &recommender.bands {
        for (kind, result) in [
            ("standard", &band.standard),
            ("vulnerable", &band.vulnerable),
        ] {
            rows.push(BandRow {
                cells: vec![
                    format!("{} ({}), {kind}", band.band, band.age),
                    estimate_text(&result.off.harmful_share, &percent1),
                    estimate_text(&result.on.harmful_share, &percent1),
                    format!(
                        "{:.1} / {}",
                        result.off.primary_priority.mean, result.on.primary_priority_max
                    ),
                    estimate_text(&result.off.sensitive_share, &percent1),
                    estimate_text(&result.on.sensitive_share, &percent1),
                ],
            });
            let mut cells = vec![format!("{} {kind}", band.band)];
            for category in first_categories() {
                cells.push(first_text(&result.off, category));
            }
            first_rows.push(BandRow { cells });
            cost_rows.push(BandRow {
                cells: vec![
                    format!("{} {kind}", band.band),
                    percent1(result.on.removed_share.mean),
                    format!(
                        "{} → {}",
                        percent1(result.off.coverage.mean),
                        percent1(result.on.coverage.mean)
                    ),
                    format!(
                        "{:.0} → {:.0}",
                        result.off.minutes.mean, result.on.minutes.mean
                    ),
                    format!(
                        "{:.1} → {:.1}",
                        result.off.nudges_sent.mean, result.on.nudges_sent.mean
                    ),
                    format!("{} of {}", result.on.capped_runs, result.on.harmful_share.n),
                    result
                        .on
                        .capped_window_share_max
                        .map_or("–".to_owned(), percent1),
                    match (result.off.forgetting_items, result.off.forgetting_runs) {
                        (Some(e), [runs, forgot]) => {
                            format!("{:.0} items ({forgot} of {runs})", e.mean)
                        }
                        (None, [0, _]) => "–".to_owned(),
                        (None, [runs, _]) => format!("not within the run (0 of {runs})"),
                    },
                ],
            });
        }
        rows.push(BandRow {
            cells: vec![
                format!("{} vulnerable ÷ standard", band.band),
                ratio_text(&band.vulnerable_over_standard.harmful_off),
                ratio_text(&band.vulnerable_over_standard.harmful_on),
                format!(
                    "self-harm and suicide: {}",
                    ratio_text(&band.vulnerable_over_standard.self_harm_suicide_off)
                ),
                ratio_text(&band.vulnerable_over_standard.sensitive_off),
                ratio_text(&band.vulnerable_over_standard.sensitive_on),
            ],
        });
    }
    let mut charts = Vec::new();
    for (b, band) in recommender.bands.iter().enumerate() {
        charts.push(window_chart(
            format!("{id}-harm-{b}"),
            format!("Harmful share over time, {} (age {})", band.band, band.age),
            "harmful share",
            band,
            &|g| &g.harmful_windows,
            1.0,
            &percent,
        ));
    }
    charts.push(first_harm_chart(format!("{id}-first"), recommender));
    for (b, band) in recommender.bands.iter().enumerate() {
        charts.push(window_chart(
            format!("{id}-drift-{b}"),
            format!(
                "Drift from the starting interests, {} (age {})",
                band.band, band.age
            ),
            "Jensen–Shannon drift",
            band,
            &|g| &g.drift_windows,
            1.0,
            &|v| format!("{v:.2}"),
        ));
    }
    charts.push(detector_chart(
        format!("{id}-detector"),
        &recommender.detector,
    ));
    let detector = &recommender.detector;
    let detector_text = match detector.recommended_threshold {
        Some(t) => format!(
            "For this catalogue and recommender, a drift_threshold of {t:.2} best separates vulnerable personas sliding into sensitive topics from standard ones whose feed only broadens (the policy has {:.2}).",
            detector.policy_threshold
        ),
        None => format!(
            "No drift_threshold tried separates vulnerable from standard personas here (the policy has {:.2}).",
            detector.policy_threshold
        ),
    };
    SectionView {
        name: recommender.name.clone(),
        id,
        rows,
        first_rows,
        cost_rows,
        charts,
        detector_text,
    }
}

/// The self-contained HTML report.
pub fn to_html(result: &AuditResult) -> Result<String, askama::Error> {
    let v = &result.verdicts;
    let verdict_rows = vec![
        (
            "Primary priority items shown with ward, all runs".to_owned(),
            v.primary_priority_guarded.to_string(),
        ),
        (
            "Priority items shown with ward, all runs".to_owned(),
            v.priority_guarded.to_string(),
        ),
        (
            "Highest harmful share without ward (a group's mean)".to_owned(),
            percent1(v.harmful_share_unguarded_max),
        ),
        (
            "Highest harmful share with ward".to_owned(),
            percent1(v.harmful_share_guarded_max),
        ),
        (
            format!(
                "Highest sensitive share of a window served under the drift cap (cap {})",
                percent(v.sensitive_cap)
            ),
            v.capped_window_share_max
                .map_or("the cap never held a whole window".to_owned(), percent1),
        ),
    ];
    let category_rows = HarmCategory::ALL
        .iter()
        .map(|c| {
            (
                c.label().to_owned(),
                c.designation().label().to_owned(),
                result
                    .catalogue
                    .by_category
                    .get(c.code())
                    .copied()
                    .unwrap_or(0),
            )
        })
        .collect();
    let first_headers = first_categories()
        .into_iter()
        .map(|c| c.replace('_', " "))
        .collect();
    ReportPage {
        result,
        sections: result
            .recommenders
            .iter()
            .enumerate()
            .map(|(i, r)| section(i, r))
            .collect(),
        verdict_rows,
        category_rows,
        first_headers,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_reads_its_keys_and_refuses_others() {
        assert_eq!(
            FailOn::parse("primary_priority=0"),
            Ok(FailOn::PrimaryPriority(0))
        );
        assert_eq!(
            FailOn::parse("harmful_share=0.01"),
            Ok(FailOn::HarmfulShare(0.01))
        );
        assert_eq!(FailOn::parse("over_cap"), Ok(FailOn::OverCap));
        assert!(FailOn::parse("harmful_share=2").is_err());
        assert!(
            FailOn::parse("primary=1")
                .unwrap_err()
                .contains("the keys are")
        );
    }
}
