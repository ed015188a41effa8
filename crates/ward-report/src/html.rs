//! `report.html`: an askama template over the [`Report`], with its plots.
//!
//! The page is self-contained (styles inline, plots as inline SVG, no script, nothing
//! fetched) and printable: a print stylesheet starts each DPIA step on a new page. Plots are
//! laid out here as plain geometry (integers) and drawn by the template, so every word in
//! them is escaped like the rest of the page and nothing is marked safe. Each plot has a
//! title, a text alternative and its data table next to it.

use askama::Template;

use crate::evidence::{BANDS, Distribution, Evidence};
use crate::model::{AuditBand, AuditRecommender, Estimate, Report};

/// The page.
#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    charts: Charts,
    audit_charts: Vec<Chart>,
    /// Per recommender, one harmful-share curve chart per band.
    curves: Vec<Vec<LineChart>>,
}

/// The plots drawn from the evidence.
#[derive(Default)]
struct Charts {
    given: Option<Chart>,
    withdrawn: Option<Chart>,
    answers: Option<Chart>,
}

/// A grouped bar chart, in SVG user units.
pub(crate) struct Chart {
    id: &'static str,
    title: String,
    desc: String,
    width: i64,
    height: i64,
    left: i64,
    bottom: i64,
    right: i64,
    groups: Vec<Group>,
    ticks: Vec<Tick>,
    legend: Vec<Legend>,
}

struct Group {
    label: String,
    label_x: i64,
    bars: Vec<Bar>,
}

struct Bar {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
    class: String,
    tooltip: String,
    /// An interval drawn over the bar: x, y of its top and of its bottom.
    whisker: Option<(i64, i64, i64)>,
}

struct Tick {
    y: i64,
    label: String,
}

/// A line chart over the session, in SVG user units, with its data table.
pub(crate) struct LineChart {
    id: String,
    title: String,
    /// The data table's caption.
    caption: String,
    desc: String,
    width: i64,
    height: i64,
    left: i64,
    bottom: i64,
    right: i64,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<XTick>,
    lines: Vec<Line>,
    legend: Vec<Legend>,
    /// The table: one row per window (`1–50`), a cell per line, in the lines' order.
    headers: Vec<&'static str>,
    rows: Vec<(String, Vec<String>)>,
}

struct XTick {
    x: i64,
    label: String,
}

struct Line {
    /// `l-off` or `l-on`, and ` l-vul` for the vulnerable persona (dashed).
    class: &'static str,
    /// `x,y x,y …`.
    points: String,
}

struct Legend {
    x: i64,
    class: String,
    label: String,
}

/// One group of the chart: a label and a value per band.
struct Series {
    label: String,
    values: Vec<(String, u64)>,
}

const WIDTH: i64 = 720;
const HEIGHT: i64 = 300;
const LEFT: i64 = 48;
const RIGHT: i64 = 12;
const TOP: i64 = 36;
const BOTTOM: i64 = 56;

fn band_class(band: &str) -> String {
    format!("b{}", BANDS.iter().position(|b| *b == band).unwrap_or(0))
}

/// A round step for the y axis: 1, 2 or 5 times a power of ten, giving at most 5 ticks.
fn tick_step(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if max.div_ceil(step * factor) <= 5 {
                return step * factor;
            }
        }
        step *= 10;
    }
}

/// A y axis of shares in whole percent steps (at most 5 ticks) reaching at least `max`.
struct PercentAxis {
    /// The step between ticks, in percent.
    step: u64,
    /// Ticks above zero.
    ticks: u64,
    /// The share at the top of the axis.
    max: f64,
}

impl PercentAxis {
    fn reaching(max: f64) -> Self {
        let max_percent = ((max * 100.0).ceil() as u64).max(1);
        let step = tick_step(max_percent);
        let ticks = max_percent.div_ceil(step);
        Self {
            step,
            ticks,
            max: (ticks * step) as f64 / 100.0,
        }
    }

    /// The ticks, placed by `y` (a share to its height).
    fn ticks(&self, y: impl Fn(f64) -> i64) -> Vec<Tick> {
        (0..=self.ticks)
            .map(|n| Tick {
                y: y((n * self.step) as f64 / 100.0),
                label: format!("{}%", n * self.step),
            })
            .collect()
    }
}

/// A legend of `(label, class)` entries, `spacing` apart from the plot's left edge.
fn legend<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>, spacing: i64) -> Vec<Legend> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, (label, class))| Legend {
            x: LEFT + i as i64 * spacing,
            class: class.to_owned(),
            label: label.to_owned(),
        })
        .collect()
}

fn chart(id: &'static str, title: String, desc: String, series: &[Series]) -> Option<Chart> {
    if series.is_empty() {
        return None;
    }
    let mut bands: Vec<String> = Vec::new();
    for group in series {
        for (band, _) in &group.values {
            if !bands.contains(band) {
                bands.push(band.clone());
            }
        }
    }
    bands.sort_by_key(|band| BANDS.iter().position(|b| b == band).unwrap_or(BANDS.len()));
    let max = series
        .iter()
        .flat_map(|g| g.values.iter().map(|v| v.1))
        .max()
        .unwrap_or(0)
        .max(1);
    let step = tick_step(max);
    let axis_max = max.div_ceil(step) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let group_w = plot_w / series.len() as i64;
    let bar_w = ((group_w - 8) / bands.len().max(1) as i64).clamp(2, 40);
    let scale = |value: u64| (value as i64 * plot_h) / axis_max as i64;
    // At most 12 labels under the axis, so a long ledger's weeks do not overprint; the
    // table below the plot has every value.
    let label_every = series.len().div_ceil(12).max(1);
    let groups = series
        .iter()
        .enumerate()
        .map(|(idx, group)| {
            let group_x = LEFT + idx as i64 * group_w;
            let used = bar_w * bands.len() as i64;
            let start = group_x + (group_w - used) / 2;
            let bars = bands
                .iter()
                .enumerate()
                .filter_map(|(band_idx, band)| {
                    let value = group
                        .values
                        .iter()
                        .find(|(b, _)| b == band)
                        .map_or(0, |v| v.1);
                    (value > 0).then(|| {
                        let h = scale(value).max(1);
                        Bar {
                            x: start + band_idx as i64 * bar_w,
                            y: HEIGHT - BOTTOM - h,
                            w: bar_w - 1,
                            h,
                            class: band_class(band),
                            tooltip: format!("{}, {band}: {value}", group.label),
                            whisker: None,
                        }
                    })
                })
                .collect();
            Group {
                label: if idx % label_every == 0 {
                    group.label.clone()
                } else {
                    String::new()
                },
                label_x: group_x + group_w / 2,
                bars,
            }
        })
        .collect();
    let ticks = (0..=axis_max / step)
        .map(|n| Tick {
            y: HEIGHT - BOTTOM - scale(n * step),
            label: (n * step).to_string(),
        })
        .collect();
    let legend = bands
        .iter()
        .enumerate()
        .map(|(idx, band)| Legend {
            x: LEFT + idx as i64 * 90,
            class: band_class(band),
            label: band.clone(),
        })
        .collect();
    Some(Chart {
        id,
        title,
        desc,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: HEIGHT - BOTTOM,
        right: WIDTH - RIGHT,
        groups,
        ticks,
        legend,
    })
}

fn timeline_label(bucket: &str, start: jiff::Timestamp) -> String {
    let text = start.to_string();
    match bucket {
        "hour" => text
            .get(..13)
            .map_or(text.clone(), |t| format!("{}:00", t.replace('T', " "))),
        _ => text.get(..10).map_or(text.clone(), str::to_owned),
    }
}

fn charts(evidence: &Evidence) -> Charts {
    let timeline = &evidence.timeline;
    let mut starts: Vec<jiff::Timestamp> = timeline.points.iter().map(|p| p.start).collect();
    starts.dedup();
    let per_bucket = |given: bool| -> Vec<Series> {
        starts
            .iter()
            .map(|start| Series {
                label: timeline_label(timeline.bucket, *start),
                values: timeline
                    .points
                    .iter()
                    .filter(|p| p.start == *start)
                    .map(|p| (p.band.clone(), if given { p.given } else { p.withdrawn }))
                    .collect(),
            })
            .collect()
    };
    let describe = |what: &str, given: bool| -> String {
        let mut parts = Vec::new();
        for band in BANDS {
            let total: u64 = timeline
                .points
                .iter()
                .filter(|p| p.band == band)
                .map(|p| if given { p.given } else { p.withdrawn })
                .sum();
            if total > 0 {
                parts.push(format!("{band}: {total}"));
            }
        }
        format!(
            "Bar chart of consents {what} per {} by age band, {} {}{}. Totals: {}. The table \
             below gives every value.",
            timeline.bucket,
            starts.len(),
            timeline.bucket,
            if starts.len() == 1 { "" } else { "s" },
            if parts.is_empty() {
                "none".to_owned()
            } else {
                parts.join(", ")
            }
        )
    };
    let given = chart(
        "chart-given",
        format!("Consents given per {}, by band", timeline.bucket),
        describe("given", true),
        &per_bucket(true),
    );
    let withdrawn = chart(
        "chart-withdrawn",
        format!("Consents withdrawn per {}, by band", timeline.bucket),
        describe("withdrawn", false),
        &per_bucket(false),
    );
    let answered: u64 = evidence.parents.iter().map(|p| p.answer_time.count).sum();
    let answers = (answered > 0)
        .then(|| {
            let series: Vec<Series> = Distribution::BUCKETS
                .iter()
                .enumerate()
                .map(|(idx, (_, label))| Series {
                    label: (*label).to_owned(),
                    values: evidence
                        .parents
                        .iter()
                        .map(|p| {
                            (
                                p.band.clone(),
                                p.answer_time.buckets.get(idx).map_or(0, |b| b.count),
                            )
                        })
                        .collect(),
                })
                .collect();
            let desc = format!(
                "Bar chart of how long parents took to answer consent requests, {answered} answers, \
                 grouped by time taken and age band: {}. The table below gives every value.",
                evidence
                    .parents
                    .iter()
                    .filter(|p| p.answer_time.count > 0)
                    .map(|p| format!(
                        "{}: {} answers, median {}",
                        p.band,
                        p.answer_time.count,
                        duration(p.answer_time.median_ms)
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            chart(
                "chart-answers",
                "Parents' answer times, by band".to_owned(),
                desc,
                &series,
            )
        })
        .flatten();
    Charts {
        given,
        withdrawn,
        answers,
    }
}

/// A duration in words a reader takes in at once: `850 ms`, `42 s`, `3 min`, `5.5 h`, `2.0 days`.
pub(crate) fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "–".to_owned();
    };
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{} s", ms / 1_000)
    } else if ms < 3_600_000 {
        format!("{} min", ms / 60_000)
    } else if ms < 86_400_000 {
        format!("{}.{} h", ms / 3_600_000, (ms % 3_600_000) / 360_000)
    } else {
        format!("{}.{} days", ms / 86_400_000, (ms % 86_400_000) / 8_640_000)
    }
}

impl Page<'_> {
    fn dur(&self, ms: &Option<i64>) -> String {
        duration(*ms)
    }

    fn bucket_labels(&self) -> Vec<&'static str> {
        Distribution::BUCKETS
            .iter()
            .map(|(_, label)| *label)
            .collect()
    }

    fn ids(&self, ids: &Option<Vec<u8>>) -> String {
        match ids {
            None => "no [tcf]".to_owned(),
            Some(ids) if ids.is_empty() => "none".to_owned(),
            Some(ids) => ids.iter().map(u8::to_string).collect::<Vec<_>>().join(", "),
        }
    }

    fn audit_chart(&self, idx: &usize) -> Option<&Chart> {
        self.audit_charts.get(*idx)
    }

    fn curves_of(&self, idx: &usize) -> &[LineChart] {
        self.curves.get(*idx).map_or(&[], Vec::as_slice)
    }

    fn pct(&self, e: &Estimate) -> String {
        format!(
            "{} ({}–{})",
            percent(e.mean),
            percent(e.low),
            percent(e.high)
        )
    }

    fn per_run(&self, e: &Estimate) -> String {
        format!("{:.1} ({:.1}–{:.1})", e.mean, e.low, e.high)
    }

    fn ratio(&self, e: &Option<Estimate>) -> String {
        e.as_ref()
            .map_or("– (the standard persona saw none)".to_owned(), |e| {
                format!("{:.1}× ({:.1}–{:.1})", e.mean, e.low, e.high)
            })
    }

    fn when(&self, bucket: &str, start: &jiff::Timestamp) -> String {
        timeline_label(bucket, *start)
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// One recommender's harmful share per band and persona, without and with the guard, each
/// bar with its 95% interval.
fn audit_chart(idx: usize, recommender: &AuditRecommender) -> Chart {
    let mut rows: Vec<(String, [&Estimate; 2])> = Vec::new();
    for band in &recommender.bands {
        for (kind, k) in [
            ("standard", &band.standard),
            ("vulnerable", &band.vulnerable),
        ] {
            rows.push((
                format!("{} {kind}", band.band),
                [&k.harmful_off, &k.harmful_on],
            ));
        }
    }
    let max = rows
        .iter()
        .flat_map(|(_, e)| e.iter().map(|e| e.high.max(e.mean)))
        .fold(0.0, f64::max);
    let axis = PercentAxis::reaching(max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let group_w = plot_w / rows.len().max(1) as i64;
    let bar_w = ((group_w - 8) / 2).clamp(2, 60);
    let y = |share: f64| HEIGHT - BOTTOM - ((share / axis.max) * plot_h as f64).round() as i64;
    let names = ["without the guard", "with ward's guard"];
    let classes = ["g-off", "g-on"];
    let groups = rows
        .iter()
        .enumerate()
        .map(|(idx, (label, estimates))| {
            let group_x = LEFT + idx as i64 * group_w;
            let start = group_x + (group_w - 2 * bar_w) / 2;
            let bars = estimates
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let top = y(e.mean).min(HEIGHT - BOTTOM - 1);
                    let x = start + i as i64 * bar_w;
                    Bar {
                        x,
                        y: top,
                        w: bar_w - 1,
                        h: HEIGHT - BOTTOM - top,
                        class: classes[i].to_owned(),
                        tooltip: format!(
                            "{label}, {}: {} (95% interval {} to {})",
                            names[i],
                            percent(e.mean),
                            percent(e.low),
                            percent(e.high)
                        ),
                        whisker: Some((x + (bar_w - 1) / 2, y(e.high), y(e.low))),
                    }
                })
                .collect();
            Group {
                label: label.clone(),
                label_x: group_x + group_w / 2,
                bars,
            }
        })
        .collect();
    let ticks = axis.ticks(y);
    let legend = legend(names.into_iter().zip(classes), 170);
    let desc = format!(
        "Bar chart of the share of items that were harmful (Ofcom primary priority or priority \
         content) for each band's standard and vulnerable personas, without and with ward's \
         guard, with 95% intervals over seeds: {}. The table below gives every value.",
        rows.iter()
            .map(|(label, [off, on])| format!(
                "{label} {} without, {} with",
                percent(off.mean),
                percent(on.mean)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    Chart {
        id: AUDIT_CHART_IDS.get(idx).copied().unwrap_or("chart-audit"),
        title: format!(
            "Harmful share served by the {} recommender, without and with the guard",
            recommender.name
        ),
        desc,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: HEIGHT - BOTTOM,
        right: WIDTH - RIGHT,
        groups,
        ticks,
        legend,
    }
}

/// The lines of a band's curve chart (name, class), in table order.
const CURVES: [(&str, &str); 4] = [
    ("standard, without", "l-off"),
    ("standard, with ward", "l-on"),
    ("vulnerable, without", "l-off l-vul"),
    ("vulnerable, with ward", "l-on l-vul"),
];

/// One band's harmful share over the session, per window of `window` items: the standard
/// and vulnerable personas without and with the guard (means over seeds), as four lines;
/// `None` when the runs were too short to fill a window.
fn curve_chart(
    rec: usize,
    idx: usize,
    name: &str,
    band: &AuditBand,
    window: u32,
) -> Option<LineChart> {
    let series: [&[f64]; 4] = [
        &band.standard.harmful_windows_off,
        &band.standard.harmful_windows_on,
        &band.vulnerable.harmful_windows_off,
        &band.vulnerable.harmful_windows_on,
    ];
    let windows = series.iter().map(|s| s.len()).max().unwrap_or(0);
    if windows == 0 {
        return None;
    }
    let max = series
        .iter()
        .flat_map(|s| s.iter().copied())
        .fold(0.0, f64::max)
        .clamp(0.0, 1.0);
    let axis = PercentAxis::reaching(max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let items = (windows as u64 * u64::from(window)).max(1);
    let x = |shown: u64| LEFT + (shown as i64 * plot_w) / items as i64;
    let y = |share: f64| {
        HEIGHT - BOTTOM - ((share.clamp(0.0, 1.0) / axis.max) * plot_h as f64).round() as i64
    };
    let lines = series
        .iter()
        .zip(CURVES)
        .map(|(values, (_, class))| Line {
            class,
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{},{}", x((i as u64 + 1) * u64::from(window)), y(*v)))
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let y_ticks = axis.ticks(y);
    let x_step = tick_step(items);
    let x_ticks = (0..=items / x_step)
        .map(|n| XTick {
            x: x(n * x_step),
            label: (n * x_step).to_string(),
        })
        .collect();
    let legend = legend(CURVES, 165);
    let rows = (0..windows)
        .map(|w| {
            (
                format!(
                    "{}–{}",
                    w as u64 * u64::from(window) + 1,
                    (w as u64 + 1) * u64::from(window)
                ),
                series
                    .iter()
                    .map(|s| s.get(w).map_or("–".to_owned(), |v| percent(*v)))
                    .collect(),
            )
        })
        .collect();
    let last = |s: &[f64]| s.last().map_or("–".to_owned(), |v| percent(*v));
    let desc = format!(
        "Line chart of the share of items that were harmful (Ofcom primary priority or priority \
         content) per window of {window} items over {items} items shown, for the {} personas \
         (age {}), without and with ward's guard, means over seeds. In the last window: \
         standard {} without and {} with the guard; vulnerable {} without and {} with. The \
         table below gives every value.",
        band.band,
        band.age,
        last(series[0]),
        last(series[1]),
        last(series[2]),
        last(series[3]),
    );
    Some(LineChart {
        id: format!("chart-curve-{rec}-{idx}"),
        title: format!(
            "Harmful share over the session, {} recommender, {} (age {}), without and with the \
             guard",
            name, band.band, band.age
        ),
        caption: format!(
            "Harmful share per window of {window} items, {name} recommender, {} (age {}), \
             without and with the guard (the plot's data)",
            band.band, band.age
        ),
        desc,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: HEIGHT - BOTTOM,
        right: WIDTH - RIGHT,
        y_ticks,
        x_ticks,
        lines,
        legend,
        headers: CURVES.iter().map(|(name, _)| *name).collect(),
        rows,
    })
}

/// Ids for the audit's charts (one per recommender; an audit has a handful).
const AUDIT_CHART_IDS: [&str; 8] = [
    "chart-audit-0",
    "chart-audit-1",
    "chart-audit-2",
    "chart-audit-3",
    "chart-audit-4",
    "chart-audit-5",
    "chart-audit-6",
    "chart-audit-7",
];

/// Renders the report as HTML.
pub(crate) fn render(report: &Report) -> Result<String, askama::Error> {
    let charts = report.evidence.as_ref().map(charts).unwrap_or_default();
    let audit_charts = report
        .audit
        .as_ref()
        .map(|audit| {
            audit
                .recommenders
                .iter()
                .enumerate()
                .map(|(idx, r)| audit_chart(idx, r))
                .collect()
        })
        .unwrap_or_default();
    let curves = report
        .audit
        .as_ref()
        .map(|audit| {
            audit
                .recommenders
                .iter()
                .enumerate()
                .map(|(rec, r)| {
                    r.bands
                        .iter()
                        .enumerate()
                        .filter_map(|(idx, band)| {
                            curve_chart(rec, idx, &r.name, band, audit.window_items)
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    Page {
        r: report,
        charts,
        audit_charts,
        curves,
    }
    .render()
}
