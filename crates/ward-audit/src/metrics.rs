//! What a run showed, measured as the studies measured it. [`Trace`] is the observer: it
//! records what the simulation tells it (shared references only, so it cannot change the
//! run); everything else here is a pure function of traces.
//!
//! Per run ([`RunMetrics`]):
//! - **time to the first harmful item** per Ofcom category, in items and simulated minutes
//!   (CCDH, *Deadly by Design*: suicide content at 2.6 minutes, eating disorders at 8);
//! - **harmful share per window** of [`WINDOW`] items (Amnesty, *Driven into the Darkness*:
//!   more than half of a feed after 3–20 minutes; the Molly Rose Foundation: 96–97%);
//! - **sensitive share** (the policy's `sensitive_topics`) and the **Jensen–Shannon drift**
//!   of each window's topic mix from the persona's starting interests;
//! - **forgetting time** after a switch back (Hosseinmardi et al.: about 30 videos): items
//!   until a window of [`FORGET_WINDOW`] holds at most [`FORGET_SHARE`] sensitive or harmful;
//! - **what the guard costs**: share of the ranked items examined that it removed, catalogue
//!   coverage (distinct items shown ÷ content items), simulated watch time;
//! - the drift detector: when the cap came into force, the highest sensitive share of a full
//!   window served under the cap, and the highest drift score (for the detector audit).
//!
//! Across seeds ([`summarise`]): means with percentile **bootstrap** 95% intervals
//! ([`BOOTSTRAP_RESAMPLES`] resamples, seeded), and the **vulnerable ÷ standard** ratio of
//! harmful share (CCDH: 3×; 12× for self-harm and suicide) with a paired bootstrap over seeds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ward_core::feed::{Code, RemovalReason};

use crate::catalogue::{Catalogue, Designation, HarmCategory};
use crate::persona::{Persona, PersonaKind};
use crate::rng::SimRng;
use crate::simulate::{Observer, SessionEvent, SlateEvent, ViewEvent};

/// Items per window of the share and drift series.
pub const WINDOW: usize = 50;
/// Items per window of the forgetting measure.
pub const FORGET_WINDOW: usize = 20;
/// The sensitive-or-harmful share a window must fall to for the feed to have "forgotten".
pub const FORGET_SHARE: f64 = 0.1;
/// Bootstrap resamples per interval.
pub const BOOTSTRAP_RESAMPLES: usize = 1_000;

/// One item viewed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewRecord {
    /// The item.
    pub item: u32,
    /// Simulated minutes when it started.
    pub minute: f64,
    /// Minutes spent on it.
    pub minutes: f64,
    /// Watched.
    pub engaged: bool,
    /// Liked.
    pub liked: bool,
}

/// The drift state after a slate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftPoint {
    /// The guard's score.
    pub score: f64,
    /// The cap in force.
    pub capped: bool,
    /// The window's sensitive share.
    pub sensitive_share: f64,
    /// Items in the window.
    pub window_items: u32,
}

/// One slate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlateRecord {
    /// Items shown.
    pub shown: u32,
    /// Items removed by the guard.
    pub removed: u32,
    /// The cap came into force during it.
    pub flagged: bool,
    /// The drift state after it.
    pub drift: Option<DriftPoint>,
}

/// Everything a run showed, in order: the observer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Items viewed, in feed order.
    pub views: Vec<ViewRecord>,
    /// Slates, in order.
    pub slates: Vec<SlateRecord>,
    /// Removals per reason (in `RemovalReason::ALL` order).
    pub reasons: [u32; 16],
    /// Notifications sent, inactivity nudges sent, held, removed.
    pub notifications: [u32; 4],
    /// Sessions begun.
    pub sessions: u32,
}

impl Observer for Trace {
    fn slate(&mut self, event: &SlateEvent<'_>) {
        for (_, reasons) in event.removed {
            for reason in reasons.iter() {
                self.reasons[reason.bit() as usize] += 1;
            }
        }
        self.slates.push(SlateRecord {
            shown: event.shown.len() as u32,
            removed: event.removed.len() as u32,
            flagged: event.flagged,
            drift: event.drift.map(|d| DriftPoint {
                score: d.score,
                capped: d.capped,
                sensitive_share: d.sensitive_share,
                window_items: d.window_items,
            }),
        });
    }

    fn view(&mut self, event: &ViewEvent<'_>) {
        self.views.push(ViewRecord {
            item: event.item,
            minute: event.minute,
            minutes: event.view.minutes,
            engaged: event.view.engaged,
            liked: event.view.liked,
        });
    }

    fn session(&mut self, event: &SessionEvent) {
        self.sessions += 1;
        self.notifications[0] += event.sent;
        self.notifications[1] += event.nudges_sent;
        self.notifications[2] += event.held;
        self.notifications[3] += event.removed;
    }
}

/// When something first happened: the item's place in the feed (from 1) and the minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FirstSeen {
    /// Items shown up to and including it.
    pub items: u32,
    /// Simulated minutes before it started.
    pub minutes: f64,
}

/// One run's measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMetrics {
    /// Items shown.
    pub items: u32,
    /// Simulated minutes of watching.
    pub minutes: f64,
    /// The first item of each category, in [`HarmCategory::ALL`] order (`null`: none shown).
    pub first: Vec<Option<FirstSeen>>,
    /// The first primary priority or priority item.
    pub first_harmful: Option<FirstSeen>,
    /// Primary priority items shown.
    pub primary_priority: u32,
    /// Priority items shown.
    pub priority: u32,
    /// Share of items shown that are harmful (primary priority or priority).
    pub harmful_share: f64,
    /// Share of self-harm and suicide items (CCDH's 12×).
    pub self_harm_suicide_share: f64,
    /// Share on the policy's sensitive topics.
    pub sensitive_share: f64,
    /// Per window of [`WINDOW`] items: harmful share.
    pub harmful_windows: Vec<f64>,
    /// Per window: sensitive share.
    pub sensitive_windows: Vec<f64>,
    /// Per window: Jensen–Shannon divergence (base 2) of its topics from the starting interests.
    pub drift_windows: Vec<f64>,
    /// Items after the switch back until the feed forgot (`null`: no switch, or never).
    pub forgetting_items: Option<u32>,
    /// The persona switched back.
    pub switched_back: bool,
    /// Share of the ranked items examined that the guard removed.
    pub removed_share: f64,
    /// Distinct items shown ÷ content items in the catalogue.
    pub coverage: f64,
    /// Inactivity nudges sent.
    pub nudges_sent: u32,
    /// Notifications held back.
    pub notifications_held: u32,
    /// The item at which the drift cap first came into force (`null`: never).
    pub capped_at: Option<u32>,
    /// The highest sensitive share of a window served wholly under the cap (`null`: none).
    pub capped_window_share: Option<f64>,
    /// The highest drift score the guard gave.
    pub max_drift_score: Option<f64>,
    /// Removals per reason code.
    pub removals: BTreeMap<&'static str, u32>,
}

/// Jensen–Shannon divergence, base 2, of two distributions of one length.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (a, b) in p.iter().zip(q) {
        let m = 0.5 * (a + b);
        if *a > 0.0 {
            sum += a * (a / m).log2();
        }
        if *b > 0.0 {
            sum += b * (b / m).log2();
        }
    }
    (0.5 * sum).clamp(0.0, 1.0)
}

fn share(count: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        count as f64 / of as f64
    }
}

/// The measures of one run.
pub fn measure(
    trace: &Trace,
    catalogue: &Catalogue,
    persona: &Persona,
    drift_window: u32,
) -> RunMetrics {
    let views = &trace.views;
    let meta = |v: &ViewRecord| catalogue.meta(v.item);
    let mut first: Vec<Option<FirstSeen>> = vec![None; HarmCategory::ALL.len()];
    let mut first_harmful = None;
    let (mut primary_priority, mut priority, mut self_harm_suicide) = (0u32, 0u32, 0usize);
    let mut harmful = 0usize;
    let mut sensitive = 0usize;
    for (position, view) in (1u32..).zip(views) {
        let item = meta(view);
        let seen = FirstSeen {
            items: position,
            minutes: view.minute,
        };
        if let Some(category) = item.category {
            let slot = HarmCategory::ALL
                .iter()
                .position(|c| *c == category)
                .unwrap_or(0);
            first[slot].get_or_insert(seen);
            match category.designation() {
                Designation::PrimaryPriority => primary_priority += 1,
                Designation::Priority => priority += 1,
                Designation::Sensitive => {}
            }
            if matches!(category, HarmCategory::SelfHarm | HarmCategory::Suicide) {
                self_harm_suicide += 1;
            }
            if category.is_harmful() {
                harmful += 1;
                first_harmful.get_or_insert(seen);
            }
        }
        if item.sensitive {
            sensitive += 1;
        }
    }
    let start_mix = persona.interest_mix();
    let n_topics = start_mix.len();
    let mut harmful_windows = Vec::new();
    let mut sensitive_windows = Vec::new();
    let mut drift_windows = Vec::new();
    for window in views.chunks(WINDOW) {
        harmful_windows.push(share(
            window.iter().filter(|v| meta(v).is_harmful()).count(),
            window.len(),
        ));
        sensitive_windows.push(share(
            window.iter().filter(|v| meta(v).sensitive).count(),
            window.len(),
        ));
        let mut mix = vec![0.0; n_topics];
        let mut total = 0.0;
        for view in window {
            let topics = &meta(view).topics;
            for topic in topics.iter() {
                let weight = 1.0 / topics.len() as f64;
                mix[usize::from(*topic)] += weight;
                total += weight;
            }
        }
        if total > 0.0 {
            mix.iter_mut().for_each(|x| *x /= total);
            drift_windows.push(jensen_shannon(&start_mix, &mix));
        } else {
            drift_windows.push(0.0);
        }
    }
    let switch_item: Option<usize> = persona.switch_back_after.map(|slate| {
        trace
            .slates
            .iter()
            .take(slate as usize)
            .map(|s| s.shown as usize)
            .sum()
    });
    let forgetting_items = switch_item.and_then(|from| {
        let after = views.get(from..)?;
        let risky: Vec<bool> = after
            .iter()
            .map(|v| {
                let m = meta(v);
                m.sensitive || m.category.is_some()
            })
            .collect();
        risky
            .windows(FORGET_WINDOW)
            .position(|w| share(w.iter().filter(|r| **r).count(), w.len()) <= FORGET_SHARE)
            .map(|at| (at + FORGET_WINDOW) as u32)
    });
    let examined: u32 = trace.slates.iter().map(|s| s.shown + s.removed).sum();
    let removed: u32 = trace.slates.iter().map(|s| s.removed).sum();
    let mut distinct: Vec<u32> = views.iter().map(|v| v.item).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let (capped_at, capped_window_share, max_drift_score) = drift_measures(trace, drift_window);
    let removals = RemovalReason::ALL
        .iter()
        .filter(|r| trace.reasons[r.bit() as usize] > 0)
        .map(|r| (r.code(), trace.reasons[r.bit() as usize]))
        .collect();
    RunMetrics {
        items: views.len() as u32,
        minutes: views.iter().map(|v| v.minutes).sum(),
        first,
        first_harmful,
        primary_priority,
        priority,
        harmful_share: share(harmful, views.len()),
        self_harm_suicide_share: share(self_harm_suicide, views.len()),
        sensitive_share: share(sensitive, views.len()),
        harmful_windows,
        sensitive_windows,
        drift_windows,
        forgetting_items,
        switched_back: switch_item.is_some(),
        removed_share: share(removed as usize, examined as usize),
        coverage: share(distinct.len(), catalogue.content().len()),
        nudges_sent: trace.notifications[1],
        notifications_held: trace.notifications[2],
        capped_at,
        capped_window_share,
        max_drift_score,
        removals,
    }
}

/// When the cap came into force (an item count), the highest sensitive share of a window
/// served wholly under the cap, and the highest score.
fn drift_measures(trace: &Trace, drift_window: u32) -> (Option<u32>, Option<f64>, Option<f64>) {
    let mut capped_at = None;
    let mut worst: Option<f64> = None;
    let mut max_score: Option<f64> = None;
    let mut items = 0u32;
    // Items shown since the cap last came into force (None while not capped).
    let mut under_cap: Option<u32> = None;
    for slate in &trace.slates {
        items += slate.shown;
        let Some(point) = slate.drift else { continue };
        max_score = Some(max_score.map_or(point.score, |m: f64| m.max(point.score)));
        if slate.flagged {
            capped_at.get_or_insert(items);
            under_cap = Some(slate.shown);
        } else if point.capped {
            under_cap = under_cap.map(|n| n + slate.shown);
        }
        if !point.capped {
            under_cap = None;
        }
        if let Some(n) = under_cap
            && n >= drift_window
        {
            worst = Some(worst.map_or(point.sensitive_share, |w| w.max(point.sensitive_share)));
        }
    }
    (capped_at, worst, max_score)
}

/// A mean and its bootstrap 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// The mean over seeds.
    pub mean: f64,
    /// 2.5th percentile of the bootstrap means.
    pub low: f64,
    /// 97.5th percentile.
    pub high: f64,
    /// How many values.
    pub n: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The mean of `values` with a percentile bootstrap interval (`None` for no values).
pub fn bootstrap(values: &[f64], rng: &mut SimRng) -> Option<Estimate> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Some(Estimate {
        mean,
        low: percentile(&means, 0.025),
        high: percentile(&means, 0.975),
        n,
    })
}

/// The ratio of two means over paired values (seed by seed), with a paired bootstrap
/// interval. `None` when the denominator's mean is 0.
pub fn ratio(numerator: &[f64], denominator: &[f64], rng: &mut SimRng) -> Option<Estimate> {
    let n = numerator.len().min(denominator.len());
    if n == 0 {
        return None;
    }
    let mean_of = |values: &[f64], picks: &[usize]| {
        picks.iter().map(|i| values[*i]).sum::<f64>() / picks.len() as f64
    };
    let all: Vec<usize> = (0..n).collect();
    let bottom = mean_of(denominator, &all);
    if bottom <= 0.0 {
        return None;
    }
    let point = mean_of(numerator, &all) / bottom;
    let mut ratios = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let picks: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let bottom = mean_of(denominator, &picks);
        if bottom > 0.0 {
            ratios.push(mean_of(numerator, &picks) / bottom);
        }
    }
    ratios.sort_by(f64::total_cmp);
    Some(Estimate {
        mean: point,
        low: percentile(&ratios, 0.025),
        high: percentile(&ratios, 0.975),
        n,
    })
}

/// Time to a first item across seeds: how many runs reached it, and the mean among those.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeTo {
    /// The category's code, or `any_harmful`.
    #[serde(deserialize_with = "crate::known::time_to_category")]
    pub category: crate::known::Word,
    /// Ofcom's designation (`null` for `any_harmful`).
    pub designation: Option<Designation>,
    /// Runs in which one was shown.
    pub reached: usize,
    /// Runs in all.
    pub runs: usize,
    /// Items until the first, over the runs that reached one.
    pub items: Option<Estimate>,
    /// Simulated minutes until the first, over the runs that reached one.
    pub minutes: Option<Estimate>,
    /// Items until the first, run by run (`null`: not reached).
    pub per_seed: Vec<Option<u32>>,
}

/// One group's runs (a recommender, a band, a persona kind, guard off or on) across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSummary {
    /// Share of items harmful.
    pub harmful_share: Estimate,
    /// Share of items on self-harm or suicide.
    pub self_harm_suicide_share: Estimate,
    /// Share on sensitive topics.
    pub sensitive_share: Estimate,
    /// Primary priority items shown, per run.
    pub primary_priority: Estimate,
    /// Priority items shown, per run.
    pub priority: Estimate,
    /// The most primary priority items any run was shown.
    pub primary_priority_max: u32,
    /// Time to the first item, per category and for any harmful.
    pub time_to_first: Vec<TimeTo>,
    /// Mean harmful share per window.
    pub harmful_windows: Vec<f64>,
    /// Mean sensitive share per window.
    pub sensitive_windows: Vec<f64>,
    /// Mean drift per window.
    pub drift_windows: Vec<f64>,
    /// Items to forget after the switch back, over the runs that forgot.
    pub forgetting_items: Option<Estimate>,
    /// Runs that switched back, and of those, how many forgot within the run.
    pub forgetting_runs: [usize; 2],
    /// Share removed by the guard.
    pub removed_share: Estimate,
    /// Catalogue coverage.
    pub coverage: Estimate,
    /// Simulated watch time, minutes.
    pub minutes: Estimate,
    /// Inactivity nudges sent, per run.
    pub nudges_sent: Estimate,
    /// Runs in which the drift cap came into force.
    pub capped_runs: usize,
    /// The highest sensitive share of a window served wholly under the cap, over all runs.
    pub capped_window_share_max: Option<f64>,
    /// Removals per reason, summed over runs.
    #[serde(deserialize_with = "crate::known::per_reason")]
    pub removals: BTreeMap<&'static str, u32>,
}

fn mean_series(series: &[&[f64]]) -> Vec<f64> {
    let len = series.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let values: Vec<f64> = series.iter().filter_map(|s| s.get(i)).copied().collect();
            values.iter().sum::<f64>() / values.len().max(1) as f64
        })
        .collect()
}

fn time_to(
    category: &'static str,
    designation: Option<Designation>,
    firsts: &[Option<FirstSeen>],
    rng: &mut SimRng,
) -> TimeTo {
    let reached: Vec<FirstSeen> = firsts.iter().flatten().copied().collect();
    TimeTo {
        category,
        designation,
        reached: reached.len(),
        runs: firsts.len(),
        items: bootstrap(
            &reached
                .iter()
                .map(|f| f64::from(f.items))
                .collect::<Vec<_>>(),
            rng,
        ),
        minutes: bootstrap(&reached.iter().map(|f| f.minutes).collect::<Vec<_>>(), rng),
        per_seed: firsts.iter().map(|f| f.map(|f| f.items)).collect(),
    }
}

/// Summarises one group's runs (in seed order).
pub fn summarise(runs: &[&RunMetrics], rng: &mut SimRng) -> GroupSummary {
    let column = |f: &dyn Fn(&RunMetrics) -> f64| runs.iter().map(|r| f(r)).collect::<Vec<f64>>();
    let estimate = |values: Vec<f64>, rng: &mut SimRng| {
        bootstrap(&values, rng).unwrap_or(Estimate {
            mean: 0.0,
            low: 0.0,
            high: 0.0,
            n: 0,
        })
    };
    let mut time_to_first = vec![time_to(
        "any_harmful",
        None,
        &runs.iter().map(|r| r.first_harmful).collect::<Vec<_>>(),
        rng,
    )];
    for (slot, category) in HarmCategory::ALL.iter().enumerate() {
        time_to_first.push(time_to(
            category.code(),
            Some(category.designation()),
            &runs.iter().map(|r| r.first[slot]).collect::<Vec<_>>(),
            rng,
        ));
    }
    let mut removals: BTreeMap<&'static str, u32> = BTreeMap::new();
    for run in runs {
        for (code, count) in &run.removals {
            *removals.entry(code).or_default() += count;
        }
    }
    let forgotten: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.forgetting_items)
        .map(f64::from)
        .collect();
    GroupSummary {
        harmful_share: estimate(column(&|r| r.harmful_share), rng),
        self_harm_suicide_share: estimate(column(&|r| r.self_harm_suicide_share), rng),
        sensitive_share: estimate(column(&|r| r.sensitive_share), rng),
        primary_priority: estimate(column(&|r| f64::from(r.primary_priority)), rng),
        priority: estimate(column(&|r| f64::from(r.priority)), rng),
        primary_priority_max: runs.iter().map(|r| r.primary_priority).max().unwrap_or(0),
        time_to_first,
        harmful_windows: mean_series(
            &runs
                .iter()
                .map(|r| &r.harmful_windows[..])
                .collect::<Vec<_>>(),
        ),
        sensitive_windows: mean_series(
            &runs
                .iter()
                .map(|r| &r.sensitive_windows[..])
                .collect::<Vec<_>>(),
        ),
        drift_windows: mean_series(
            &runs
                .iter()
                .map(|r| &r.drift_windows[..])
                .collect::<Vec<_>>(),
        ),
        forgetting_items: bootstrap(&forgotten, rng),
        forgetting_runs: [
            runs.iter().filter(|r| r.switched_back).count(),
            forgotten.len(),
        ],
        removed_share: estimate(column(&|r| r.removed_share), rng),
        coverage: estimate(column(&|r| r.coverage), rng),
        minutes: estimate(column(&|r| r.minutes), rng),
        nudges_sent: estimate(column(&|r| f64::from(r.nudges_sent)), rng),
        capped_runs: runs.iter().filter(|r| r.capped_at.is_some()).count(),
        capped_window_share_max: runs
            .iter()
            .filter_map(|r| r.capped_window_share)
            .reduce(f64::max),
        removals,
    }
}

/// The drift detector at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorPoint {
    /// The `drift_threshold` tried.
    pub threshold: f64,
    /// Share of standard personas' runs in which the cap would come into force.
    pub false_alarm_rate: f64,
    /// Share of vulnerable personas' runs in which it would.
    pub catch_rate: f64,
}

/// The drift detector across thresholds, from detector runs (the guard with the cap never
/// removing, so the feed and the score do not depend on the threshold): the cap would come
/// into force at threshold `t` exactly when the score passed `t` at the end of some call.
/// Returns the points and the recommended threshold: the one with the largest catch rate
/// minus false-alarm rate (Youden's J), the lower on a tie.
pub fn detector_audit(
    runs: &[(PersonaKind, &RunMetrics)],
    thresholds: &[f64],
) -> (Vec<DetectorPoint>, Option<f64>) {
    let rate = |kind: PersonaKind, threshold: f64| {
        let of_kind: Vec<&&RunMetrics> = runs
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| r)
            .collect();
        share(
            of_kind
                .iter()
                .filter(|r| r.max_drift_score.is_some_and(|s| s > threshold))
                .count(),
            of_kind.len(),
        )
    };
    let points: Vec<DetectorPoint> = thresholds
        .iter()
        .map(|t| DetectorPoint {
            threshold: *t,
            false_alarm_rate: rate(PersonaKind::Standard, *t),
            catch_rate: rate(PersonaKind::Vulnerable, *t),
        })
        .collect();
    let best = points
        .iter()
        .map(|p| (p.catch_rate - p.false_alarm_rate, p.threshold))
        .fold(None, |best: Option<(f64, f64)>, (j, t)| match best {
            Some((best_j, best_t))
                if best_j > j + 1e-12 || (best_j >= j - 1e-12 && best_t <= t) =>
            {
                Some((best_j, best_t))
            }
            _ => Some((j, t)),
        });
    (points, best.filter(|(j, _)| *j > 0.0).map(|(_, t)| t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_max_score(score: f64) -> RunMetrics {
        RunMetrics {
            items: 0,
            minutes: 0.0,
            first: Vec::new(),
            first_harmful: None,
            primary_priority: 0,
            priority: 0,
            harmful_share: 0.0,
            self_harm_suicide_share: 0.0,
            sensitive_share: 0.0,
            harmful_windows: Vec::new(),
            sensitive_windows: Vec::new(),
            drift_windows: Vec::new(),
            forgetting_items: None,
            switched_back: false,
            removed_share: 0.0,
            coverage: 0.0,
            nudges_sent: 0,
            notifications_held: 0,
            capped_at: None,
            capped_window_share: None,
            max_drift_score: Some(score),
            removals: BTreeMap::new(),
        }
    }

    #[test]
    fn the_recommended_threshold_catches_most_for_fewest_false_alarms() {
        let standard = [0.30, 0.40, 0.45].map(with_max_score);
        let vulnerable = [0.50, 0.60, 0.42].map(with_max_score);
        let runs: Vec<(PersonaKind, &RunMetrics)> = standard
            .iter()
            .map(|r| (PersonaKind::Standard, r))
            .chain(vulnerable.iter().map(|r| (PersonaKind::Vulnerable, r)))
            .collect();
        let (points, best) = detector_audit(&runs, &[0.35, 0.45, 0.55]);
        assert_eq!(points[0].false_alarm_rate, 2.0 / 3.0);
        assert_eq!(points[0].catch_rate, 1.0);
        assert_eq!(points[1].false_alarm_rate, 0.0);
        assert_eq!(points[1].catch_rate, 2.0 / 3.0);
        assert_eq!(best, Some(0.45), "{points:?}");
        // Nothing separates: no recommendation.
        let same: Vec<(PersonaKind, &RunMetrics)> = runs
            .iter()
            .map(|(_, r)| (PersonaKind::Standard, *r))
            .chain(runs.iter().map(|(_, r)| (PersonaKind::Vulnerable, *r)))
            .collect();
        assert_eq!(detector_audit(&same, &[0.35, 0.45]).1, None);
    }

    #[test]
    fn jensen_shannon_is_zero_for_one_mix_and_one_for_disjoint_ones() {
        assert_eq!(jensen_shannon(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_bootstrap_interval_holds_its_mean_and_is_seeded() {
        let values = [0.1, 0.2, 0.3, 0.4, 0.9];
        let a = bootstrap(&values, &mut SimRng::new(3)).unwrap();
        let b = bootstrap(&values, &mut SimRng::new(3)).unwrap();
        assert_eq!(a, b);
        assert!(a.low <= a.mean && a.mean <= a.high, "{a:?}");
        assert!((a.mean - 0.38).abs() < 1e-12);
        assert!(ratio(&[1.0], &[0.0], &mut SimRng::new(1)).is_none());
        let r = ratio(&[2.0, 4.0], &[1.0, 2.0], &mut SimRng::new(1)).unwrap();
        assert!((r.mean - 2.0).abs() < 1e-12 && (r.low - 2.0).abs() < 1e-12);
    }
}
