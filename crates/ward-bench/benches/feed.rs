//! The feed guard on a 10,000-item feed with a realistic mix, side by side with a naive guard
//! written here that keeps every field as a string and re-parses ratings per item.
//!
//! The feed (deterministic): 55% videos, 22% posts, 10% ads, 8% notifications, 5% suggested
//! users. Most content is rated (BBFC, PEGI, MPA, US TV or the explicit flag, sometimes two,
//! some "NR"), the rest assessed or not; 6% carry a harm tag; 30% of ads are in a CAP-restricted
//! category; 15% of notifications respond to inactivity; topics lean on the child's four
//! favourites, with about 10% on sensitive topics. The child is 11, with a parent's blocks
//! (two tags, a topic, a source), at noon (no quiet hours). The policy declares the feed's
//! descriptive tags and unrestricted ad categories harmless (`[feed] harmless_tags`,
//! `harmless_ad_categories`), as a service would, so the guard looks each one up. "with
//! drift" adds the drift update from a state anchored on declared interests; each iteration
//! starts from that same state.
//!
//! "with feedback" is ward's guard with a child's feedback state of 1,000 hidden items and
//! 100 held-back topics beside the plain one (issue 16); "with feedback and evidence" also
//! counts what the holds did, as the server does on every feed of such a child
//! (`FeedbackEvidence::observe`, with a record for each of the 100 topics).
//!
//! Before timing, the naive guard's kept set and removal reasons are checked against ward's.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark setup fails loudly"
)]

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use ward_core::age::AgeBand;
use ward_core::child::AgeStatus;
use ward_core::controls::Controls;
use ward_core::feed::{
    Code, DriftState, FeedChild, FeedOutcome, FeedPolicy, Item, filter_into, parse_catalogue,
};
use ward_core::feedback::{
    Feedback, FeedbackEvidence, FeedbackGuard, FeedbackKind, HeldKind, HeldName, HiddenItem,
    ItemSnapshot,
};

const N_ITEMS: usize = 10_000;

use ward_bench::feed::{DESCRIPTIVE_TAGS, FAVOURITES, OTHER_AD_CATEGORIES, feed_jsonl};
const AGE: u8 = 11;

// ---- The naive guard ------------------------------------------------------------------------

/// Every field kept as written, as a first implementation would.
struct NaiveItem {
    kind: String,
    ratings: Vec<(String, String)>,
    tags: Vec<String>,
    ad_category: Option<String>,
    topics: Vec<String>,
    source: Option<String>,
    trigger: Option<String>,
    assessed: Option<bool>,
    adult: Option<bool>,
    known_to_child: Option<bool>,
}

fn naive_items(jsonl: &str) -> Vec<NaiveItem> {
    jsonl
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let strings = |key: &str| -> Vec<String> {
                value[key]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .map(|v| v.as_str().unwrap().to_owned())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            NaiveItem {
                kind: value["kind"].as_str().unwrap().to_owned(),
                ratings: value["ratings"]
                    .as_object()
                    .map(|map| {
                        map.iter()
                            .map(|(k, v)| {
                                let text = match v {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                (k.clone(), text)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                tags: strings("tags"),
                ad_category: value["ad_category"].as_str().map(str::to_owned),
                topics: strings("topics"),
                source: value["source"].as_str().map(str::to_owned),
                trigger: value["trigger"].as_str().map(str::to_owned),
                assessed: value["assessed"].as_bool(),
                adult: value["adult"].as_bool(),
                known_to_child: value["known_to_child"].as_bool(),
            }
        })
        .collect()
}

/// RUNTIME.md's spelling rule, applied at every comparison as a first implementation would.
fn naive_normalise(word: &str) -> String {
    word.to_lowercase()
        .split(|c: char| c == '-' || c == '_' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// RUNTIME.md's tables, looked up by string every time. `explicit: false` is no age rating.
fn naive_min_age(system: &str, value: &str) -> Option<u8> {
    let value = naive_normalise(value).to_uppercase().replace('_', "-");
    let age = match (system, value.as_str()) {
        ("bbfc", "U" | "PG") => 0,
        ("bbfc", "12A" | "12") => 12,
        ("bbfc", "15") => 15,
        ("bbfc", "18") => 18,
        ("bbfc", "R18") => 255,
        ("pegi", "3") => 3,
        ("pegi", "7") => 7,
        ("pegi", "12") => 12,
        ("pegi", "16") => 16,
        ("pegi", "18") => 18,
        ("mpaa", "G" | "PG") => 0,
        ("mpaa", "PG-13") => 13,
        ("mpaa", "R") => 17,
        ("mpaa", "NC-17") => 18,
        ("tv", "TV-Y" | "TV-G" | "TV-PG") => 0,
        ("tv", "TV-Y7") => 7,
        ("tv", "TV-14") => 14,
        ("tv", "TV-MA") => 17,
        ("explicit", "TRUE") => 18,
        _ => return None,
    };
    Some(age)
}

const NAIVE_HARM: &[&str] = &[
    "self_harm",
    "suicide",
    "eating_disorder",
    "dangerous_challenge",
    "pornography",
    "sexual",
    "graphic_violence",
    "hate",
    "gambling",
    "alcohol",
    "drugs",
    "weapons",
];

fn naive_ad_min_age(category: &str) -> u8 {
    match category {
        "alcohol" | "gambling" | "lottery" | "cosmetic_intervention" | "weight_loss" => 18,
        "hfss_food" | "medicine" => 16,
        "tobacco" | "e_cigarette" | "prescription_medicine" | "infant_formula" => 255,
        _ => 0,
    }
}

struct NaiveBlocks {
    tags: Vec<String>,
    topics: Vec<String>,
    sources: Vec<String>,
}

/// What a naive drift guard keeps: the window's topics as strings, counts in a hash map.
struct NaiveDrift {
    anchor: HashMap<String, f64>,
    window: VecDeque<(Vec<String>, bool)>,
    counts: HashMap<String, u32>,
    sensitive_items: usize,
    capped: bool,
}

impl NaiveDrift {
    fn score(&self) -> f64 {
        let total: u32 = self.counts.values().sum();
        if total == 0 {
            return 0.0;
        }
        let anchor_total: f64 = self.anchor.values().sum();
        let mut keys: Vec<&String> = self.anchor.keys().chain(self.counts.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut sum = 0.0;
        for key in keys {
            let p = self.anchor.get(key).copied().unwrap_or(0.0) / anchor_total;
            let q = f64::from(self.counts.get(key).copied().unwrap_or(0)) / f64::from(total);
            let m = 0.5 * (p + q);
            if p > 0.0 {
                sum += p * (p / m).log2();
            }
            if q > 0.0 {
                sum += q * (q / m).log2();
            }
        }
        0.5 * sum
    }

    fn admit(&mut self, topics: &[String]) -> bool {
        if topics.is_empty() {
            return true;
        }
        let sensitive = topics
            .iter()
            .any(|t| SENSITIVE_POLICY.contains(&t.as_str()));
        if sensitive {
            if !self.capped && self.score() > 0.35 {
                self.capped = true;
            }
            if self.capped {
                let full = self.window.len() >= 50;
                let evicted = full && self.window.front().is_some_and(|(_, s)| *s);
                let len_after = if full { 50 } else { self.window.len() + 1 };
                let after = self.sensitive_items + 1 - usize::from(evicted);
                if after as f64 > 0.2 * len_after as f64 + 1e-9 {
                    return false;
                }
            }
        }
        if self.window.len() >= 50
            && let Some((old, was_sensitive)) = self.window.pop_front()
        {
            let mut unique = old;
            unique.sort();
            unique.dedup();
            for topic in unique {
                *self.counts.entry(topic).or_default() -= 1;
            }
            self.sensitive_items -= usize::from(was_sensitive);
        }
        let mut unique = topics.to_vec();
        unique.sort();
        unique.dedup();
        for topic in &unique {
            *self.counts.entry(topic.clone()).or_default() += 1;
        }
        self.counts.retain(|_, count| *count > 0);
        self.sensitive_items += usize::from(sensitive);
        self.window.push_back((unique, sensitive));
        true
    }
}

const SENSITIVE_POLICY: &[&str] = &[
    "body_image",
    "dieting",
    "weight_loss",
    "mental_health",
    "self_image",
];

/// The naive guard: kept indices and, per removed item, its reason codes.
fn naive_filter(
    items: &[NaiveItem],
    age: u8,
    blocks: &NaiveBlocks,
    mut drift: Option<&mut NaiveDrift>,
) -> (Vec<usize>, Vec<(usize, Vec<&'static str>)>) {
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    // The parent's lists are spelt once per feed; each item's words once per item.
    let normalise_all =
        |words: &[String]| -> Vec<String> { words.iter().map(|w| naive_normalise(w)).collect() };
    let (blocked_tags, blocked_topics, blocked_sources) = (
        normalise_all(&blocks.tags),
        normalise_all(&blocks.topics),
        normalise_all(&blocks.sources),
    );
    for (idx, item) in items.iter().enumerate() {
        let mut reasons = Vec::new();
        let tags = normalise_all(&item.tags);
        let harm = |tag: &String| NAIVE_HARM.contains(&tag.as_str());
        let known_tag = |tag: &String| harm(tag) || DESCRIPTIVE_TAGS.contains(&tag.as_str());
        let strictest = item
            .ratings
            .iter()
            .filter_map(|(system, value)| naive_min_age(system, value))
            .max();
        if strictest.is_some_and(|min| min > age) {
            reasons.push("age_rating");
        }
        if tags.iter().any(harm) {
            reasons.push("harm_tag");
        }
        let category = item.ad_category.as_deref().map(naive_normalise);
        if category
            .as_deref()
            .is_some_and(|c| naive_ad_min_age(c) > age)
        {
            reasons.push("ad_category");
        }
        let unknown_word = !tags.iter().all(known_tag)
            || category
                .as_deref()
                .is_some_and(|c| naive_ad_min_age(c) == 0 && !OTHER_AD_CATEGORIES.contains(&c));
        let content = matches!(item.kind.as_str(), "video" | "post" | "ad");
        if (content && strictest.is_none() && item.assessed != Some(true)) || unknown_word {
            reasons.push("precaution");
        }
        if item.kind == "notification" && item.trigger.as_deref() == Some("inactivity") {
            reasons.push("inactivity_nudge");
        }
        if item.kind == "user" && item.adult != Some(false) && item.known_to_child != Some(true) {
            reasons.push("adult_contact");
        }
        if tags.iter().any(|t| blocked_tags.contains(t)) {
            reasons.push("parent_blocked_tag");
        }
        if item
            .topics
            .iter()
            .any(|t| blocked_topics.contains(&naive_normalise(t)))
        {
            reasons.push("parent_blocked_topic");
        }
        if item
            .source
            .as_ref()
            .is_some_and(|s| blocked_sources.contains(&naive_normalise(s)))
        {
            reasons.push("parent_blocked_source");
        }
        if !reasons.is_empty() {
            removed.push((idx, reasons));
            continue;
        }
        if let Some(state) = drift.as_deref_mut()
            && !state.admit(&item.topics)
        {
            removed.push((idx, vec!["drift_cap"]));
            continue;
        }
        kept.push(idx);
    }
    (kept, removed)
}

fn bench(c: &mut Criterion) {
    let jsonl = feed_jsonl(N_ITEMS);
    let items: Vec<Item> = parse_catalogue(&jsonl).expect("the bench feed parses");
    let naive = naive_items(&jsonl);
    let config = ward_bench::feed::bench_config();
    let policy = FeedPolicy::from_config(
        &config,
        0,
        jiff::tz::TimeZone::get("Europe/London").unwrap(),
    );
    let now: Timestamp = "2026-01-14T12:00:00Z".parse().unwrap();
    let age = AgeStatus::Child {
        age: Some(AGE),
        band: AgeBand::of_age(AGE).unwrap(),
    };
    let child = FeedChild::new(age);
    let blocked_tags = ["horror", "asmr"];
    let blocked_topics = ["slime"];
    let blocked_sources = ["prank-channel"];
    let controls = Controls::new(
        None,
        None,
        &blocked_tags[..],
        &blocked_topics[..],
        &blocked_sources[..],
    )
    .unwrap();
    let naive_blocks = NaiveBlocks {
        tags: blocked_tags.map(String::from).to_vec(),
        topics: blocked_topics.map(String::from).to_vec(),
        sources: blocked_sources.map(String::from).to_vec(),
    };
    let initial_drift = DriftState::with_interests(FAVOURITES).unwrap();
    let naive_drift = || NaiveDrift {
        anchor: FAVOURITES.iter().map(|t| ((*t).to_owned(), 1.0)).collect(),
        window: VecDeque::new(),
        counts: HashMap::new(),
        sensitive_items: 0,
        capped: false,
    };

    // The naive guard agrees with ward's, item by item and reason by reason.
    let mut out = FeedOutcome::default();
    for with_drift in [false, true] {
        let mut state = initial_drift.clone();
        let mut naive_state = naive_drift();
        filter_into(
            &policy,
            &child,
            Some(&controls),
            with_drift.then_some(&mut state),
            &items,
            now,
            &mut out,
        );
        let (naive_kept, naive_removed) = naive_filter(
            &naive,
            AGE,
            &naive_blocks,
            with_drift.then_some(&mut naive_state),
        );
        let kept: Vec<usize> = out.kept.iter().map(|i| *i as usize).collect();
        assert_eq!(kept, naive_kept, "kept sets differ (drift: {with_drift})");
        let removed: Vec<(usize, Vec<&str>)> = out
            .removed
            .iter()
            .map(|r| (r.index as usize, r.reasons.codes().collect()))
            .collect();
        assert_eq!(
            removed, naive_removed,
            "reasons differ (drift: {with_drift})"
        );
        eprintln!(
            "feed (drift: {with_drift}): {} kept, {} removed ({}), drift score {:.3}",
            out.kept.len(),
            out.removed.len(),
            out.reason_counts()
                .iter()
                .map(|(r, n)| format!("{} {n}", r.code()))
                .collect::<Vec<_>>()
                .join(", "),
            out.drift.map_or(0.0, |d| d.score)
        );
    }

    // A child's feedback state at the sizes the issue names: 1,000 hidden items (every
    // twentieth of this feed among them, the rest ids the feed does not hold) and 100
    // held-back topics (three of this feed's, the rest not in it), held since yesterday
    // under the default 30-day decay.
    let yesterday = now - jiff::SignedDuration::from_hours(24);
    let feedback = Feedback {
        hidden: (0..1_000)
            .map(|n| HiddenItem {
                item: ItemSnapshot {
                    id: if n < N_ITEMS / 20 {
                        format!("item-{}", n * 20)
                    } else {
                        format!("gone-{n}")
                    },
                    kind: "video".into(),
                    topics: Vec::new(),
                    tags: Vec::new(),
                    source: None,
                },
                kind: FeedbackKind::NotInterested,
                at: yesterday,
                report: None,
            })
            .collect(),
        held: ["pranks", "cooking", "dance"]
            .into_iter()
            .map(str::to_owned)
            .chain((3..100).map(|n| format!("held-topic-{n}")))
            .map(|name| HeldName {
                kind: HeldKind::Topic,
                name,
                at: yesterday,
                item: "gone-1".into(),
            })
            .collect(),
        reports: Vec::new(),
    };
    let guard = FeedbackGuard::new(&feedback, jiff::SignedDuration::from_hours(24 * 30));
    let child_with_feedback = child.with_feedback(&guard);
    filter_into(
        &policy,
        &child_with_feedback,
        Some(&controls),
        None,
        &items,
        now,
        &mut out,
    );
    eprintln!(
        "feed (feedback: 1,000 hidden items, 100 held topics): {} kept, {} removed ({})",
        out.kept.len(),
        out.removed.len(),
        out.reason_counts()
            .iter()
            .map(|(r, n)| format!("{} {n}", r.code()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut group = c.benchmark_group("feed");
    group.throughput(Throughput::Elements(N_ITEMS as u64));
    group.bench_function("ward_filter", |b| {
        let mut out = FeedOutcome::default();
        b.iter(|| {
            filter_into(
                &policy,
                &child,
                Some(&controls),
                None,
                black_box(&items),
                now,
                &mut out,
            );
            black_box(out.kept.len())
        });
    });
    group.bench_function("ward_filter_with_feedback", |b| {
        let mut out = FeedOutcome::default();
        b.iter(|| {
            filter_into(
                &policy,
                &child_with_feedback,
                Some(&controls),
                None,
                black_box(&items),
                now,
                &mut out,
            );
            black_box(out.kept.len())
        });
    });
    let decay = jiff::SignedDuration::from_hours(24 * 30);
    let mut evidence = FeedbackEvidence::default();
    for held in &feedback.held {
        evidence.hold(held.kind, &held.name, held.at);
    }
    group.bench_function("ward_filter_with_feedback_evidence", |b| {
        let mut out = FeedOutcome::default();
        let mut evidence = evidence.clone();
        b.iter(|| {
            filter_into(
                &policy,
                &child_with_feedback,
                Some(&controls),
                None,
                black_box(&items),
                now,
                &mut out,
            );
            black_box(evidence.observe(&guard, &items, &out, decay, now))
        });
    });
    group.bench_function("naive_filter", |b| {
        b.iter(|| black_box(naive_filter(black_box(&naive), AGE, &naive_blocks, None)));
    });
    group.bench_function("ward_filter_with_drift", |b| {
        let mut out = FeedOutcome::default();
        b.iter(|| {
            let mut state = initial_drift.clone();
            filter_into(
                &policy,
                &child,
                Some(&controls),
                Some(&mut state),
                black_box(&items),
                now,
                &mut out,
            );
            black_box(out.kept.len())
        });
    });
    group.bench_function("naive_filter_with_drift", |b| {
        b.iter(|| {
            let mut state = naive_drift();
            black_box(naive_filter(
                black_box(&naive),
                AGE,
                &naive_blocks,
                Some(&mut state),
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
