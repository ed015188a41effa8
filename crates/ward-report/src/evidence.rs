//! Step 6's evidence from the ledger: a replay of its entries into counts and distributions
//! by age band. Pure: entries go in one at a time ([`Replay::push`]) and [`Replay::finish`]
//! gives the [`Evidence`]; reading them from a store is [`crate::read`]'s job.
//!
//! Each child's band is followed through the ledger (`child_created`, `age_recorded`,
//! `band_changed`), so an event counts under the band the child was in when it happened.
//! Child and parent ids are used only as keys while replaying and never leave this module:
//! the evidence is counts, so no child's personal data is in the report. An erased child's
//! entries are counted as erased and nothing else (their payloads are blanked).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ward_store::LedgerEntry;

/// The bands evidence is kept for, in display order.
pub const BANDS: [&str; 7] = ["unknown", "0-5", "6-9", "10-12", "13-15", "16-17", "adult"];

fn band_order(band: &str) -> usize {
    BANDS.iter().position(|b| *b == band).unwrap_or(BANDS.len())
}

/// What the ledger shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// Entries replayed.
    pub entries: u64,
    /// Entries about a child.
    pub child_entries: u64,
    /// Entries blanked by an erasure (counted, not attributed).
    pub erased_entries: u64,
    /// Children by the band they were last in, display order.
    pub children: Vec<BandCount>,
    /// Consents per band and setting: given, withdrawn, refused.
    pub consents: Vec<ConsentRow>,
    /// Parents' answers per band: approvals, denials and how long they took.
    pub parents: Vec<ParentRow>,
    /// Interventions shown per band, setting and text version, and how many were
    /// acknowledged.
    pub interventions: Vec<InterventionRow>,
    /// Settings switched off per band and setting, by whom, and how long they had been on.
    pub switched_off: Vec<SwitchOffRow>,
    /// Consents given and withdrawn over time, per band.
    pub timeline: Timeline,
}

/// A count for one band.
#[derive(Debug, Clone, Serialize)]
pub struct BandCount {
    /// The band.
    pub band: String,
    /// How many.
    pub count: u64,
}

/// Consent events for one band and setting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentRow {
    /// The band.
    pub band: String,
    /// The setting.
    pub setting: String,
    /// Consents the child (or adult user) gave.
    pub given_by_child: u64,
    /// Consents a parent gave.
    pub given_by_parent: u64,
    /// Consents withdrawn by the child.
    pub withdrawn_by_child: u64,
    /// Consents withdrawn by a parent.
    pub withdrawn_by_parent: u64,
    /// Consents ended by ward or the service (an age correction, a lock, a policy change).
    pub withdrawn_by_ward: u64,
    /// Requests a parent refused.
    pub refused_by_parent: u64,
    /// Requests that lapsed unanswered.
    pub expired: u64,
}

/// Parents' answers for one band.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ParentRow {
    /// The band.
    pub band: String,
    /// Requests sent to parents (or waiting for one to be linked).
    pub requests: u64,
    /// Approvals.
    pub approvals: u64,
    /// Denials.
    pub denials: u64,
    /// Time from request to answer, approvals and denials together.
    pub answer_time: Distribution,
}

/// Interventions shown for one band, setting and text version.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InterventionRow {
    /// The band whose texts were shown.
    pub band: String,
    /// The setting.
    pub setting: String,
    /// The texts' version.
    pub text_version: String,
    /// Times shown.
    pub shown: u64,
    /// Times acknowledged.
    pub acknowledged: u64,
}

/// Settings switched off for one band and setting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SwitchOffRow {
    /// The band.
    pub band: String,
    /// The setting.
    pub setting: String,
    /// Switched off by the child.
    pub by_child: u64,
    /// By a parent.
    pub by_parent: u64,
    /// By the service or ward.
    pub by_ward: u64,
    /// How long the setting had been on when switched off.
    pub on_for: Distribution,
}

/// A distribution of durations, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Distribution {
    /// How many.
    pub count: u64,
    /// The median (lower middle for an even count).
    pub median_ms: Option<i64>,
    /// The 90th percentile (nearest rank).
    pub p90_ms: Option<i64>,
    /// The longest.
    pub max_ms: Option<i64>,
    /// Counts per bucket of [`Distribution::BUCKETS`].
    pub buckets: Vec<Bucket>,
}

/// One bucket of a distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Its label (`under 1 minute`).
    pub label: &'static str,
    /// How many.
    pub count: u64,
}

impl Distribution {
    /// Bucket upper bounds (exclusive, ms) and labels; the last is open-ended.
    pub const BUCKETS: [(i64, &'static str); 6] = [
        (60_000, "under 1 minute"),
        (3_600_000, "1 to 60 minutes"),
        (86_400_000, "1 to 24 hours"),
        (3 * 86_400_000, "1 to 3 days"),
        (7 * 86_400_000, "3 to 7 days"),
        (i64::MAX, "7 days or more"),
    ];

    fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let count = values.len() as u64;
        let nearest_rank = |percent: usize| -> Option<i64> {
            if values.is_empty() {
                return None;
            }
            let rank = (percent * values.len()).div_ceil(100).max(1);
            values.get(rank - 1).copied()
        };
        let buckets = Self::BUCKETS
            .iter()
            .enumerate()
            .map(|(idx, (upper, label))| {
                let lower = if idx == 0 {
                    i64::MIN
                } else {
                    Self::BUCKETS[idx - 1].0
                };
                Bucket {
                    label,
                    count: values
                        .iter()
                        .filter(|v| **v >= lower && **v < *upper)
                        .count() as u64,
                }
            })
            .collect();
        Self {
            count,
            median_ms: values.get((values.len().max(1) - 1) / 2).copied(),
            p90_ms: nearest_rank(90),
            max_ms: values.last().copied(),
            buckets,
        }
    }
}

/// Consents given and withdrawn per time bucket and band.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// `hour`, `day` or `week`: chosen from the span of the ledger (up to 2 days hourly,
    /// up to 120 days daily, else weekly).
    pub bucket: &'static str,
    /// One point per bucket and band with any event, in time then band order.
    pub points: Vec<TimelinePoint>,
}

/// One bucket of the timeline for one band.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    /// The bucket's start (UTC).
    pub start: Timestamp,
    /// The band.
    pub band: String,
    /// Consents given in the bucket.
    pub given: u64,
    /// Consents withdrawn in the bucket.
    pub withdrawn: u64,
}

/// The parts of a child event the replay reads; other events and fields are ignored.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Seen {
    ChildCreated {
        band: String,
    },
    AgeRecorded {
        band: String,
    },
    BandChanged {
        to: String,
    },
    InterventionShown {
        setting: String,
        band: Option<String>,
        text_version: String,
    },
    InterventionAcknowledged {
        setting: String,
        text_version: String,
    },
    SettingChanged {
        setting: String,
        from: String,
        to: String,
        by: SeenActor,
    },
    ConsentRequested {
        request: SeenRequest,
    },
    ConsentGiven {
        record: SeenRecord,
    },
    ConsentDenied {
        setting: String,
    },
    ConsentWithdrawn {
        setting: String,
        by: SeenActor,
    },
    ConsentRequestExpired {
        setting: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct SeenActor {
    kind: String,
}

#[derive(Deserialize)]
struct SeenRequest {
    id: String,
    setting: String,
    requested_at: Timestamp,
}

#[derive(Deserialize)]
struct SeenRecord {
    setting: String,
    given_by: String,
}

/// A pending request: when it was asked, and the band it counts under.
struct Pending {
    id: String,
    requested_at_ms: i64,
}

/// The replay's state. Keys hold child ids; none of them reaches [`Evidence`].
#[derive(Default)]
pub struct Replay {
    entries: u64,
    child_entries: u64,
    erased_entries: u64,
    band_of: HashMap<String, String>,
    consents: BTreeMap<(usize, String, String), ConsentRow>,
    parents: BTreeMap<usize, (ParentRow, Vec<i64>)>,
    interventions: BTreeMap<(usize, String, String), InterventionRow>,
    /// (child, setting) → the band of the intervention last shown.
    shown_band: HashMap<(String, String), String>,
    switched_off: BTreeMap<(usize, String, String), (SwitchOffRow, Vec<i64>)>,
    /// (child, setting) → when it last went on, ms.
    on_since: HashMap<(String, String), i64>,
    /// (child, setting) → the request waiting.
    pending: HashMap<(String, String), Pending>,
    /// (at ms, band, given?) for the timeline.
    consent_times: Vec<(i64, String, bool)>,
}

impl Replay {
    /// A replay of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replays the next entry (in ledger order).
    pub fn push(&mut self, entry: &LedgerEntry) {
        self.entries += 1;
        if entry.erased {
            self.erased_entries += 1;
            return;
        }
        let Some(child) = entry.child_id.as_deref() else {
            return;
        };
        self.child_entries += 1;
        let Ok(seen) = serde_json::from_str::<Seen>(&entry.payload) else {
            return;
        };
        let at_ms = entry.at_us.div_euclid(1000);
        let band = self
            .band_of
            .get(child)
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned());
        let key = |setting: &str| (child.to_owned(), setting.to_owned());
        match seen {
            Seen::ChildCreated { band } | Seen::AgeRecorded { band } => {
                self.band_of.insert(child.to_owned(), band);
            }
            Seen::BandChanged { to } => {
                self.band_of.insert(child.to_owned(), to);
            }
            Seen::InterventionShown {
                setting,
                band: shown,
                text_version,
            } => {
                let shown = shown.unwrap_or_else(|| "adult".to_owned());
                self.shown_band.insert(key(&setting), shown.clone());
                self.intervention(&shown, &setting, &text_version).shown += 1;
            }
            Seen::InterventionAcknowledged {
                setting,
                text_version,
            } => {
                let shown = self.shown_band.get(&key(&setting)).cloned().unwrap_or(band);
                self.intervention(&shown, &setting, &text_version)
                    .acknowledged += 1;
            }
            Seen::SettingChanged {
                setting,
                from,
                to,
                by,
            } => {
                if to == "on" {
                    self.on_since.insert(key(&setting), at_ms);
                } else if from == "on" && to == "off" {
                    let on_since = self.on_since.remove(&key(&setting));
                    let (row, durations) = self
                        .switched_off
                        .entry((band_order(&band), band.clone(), setting.clone()))
                        .or_insert_with(|| {
                            (
                                SwitchOffRow {
                                    band: band.clone(),
                                    setting: setting.clone(),
                                    ..SwitchOffRow::default()
                                },
                                Vec::new(),
                            )
                        });
                    match by.kind.as_str() {
                        "child" => row.by_child += 1,
                        "parent" => row.by_parent += 1,
                        _ => row.by_ward += 1,
                    }
                    if let Some(since) = on_since {
                        durations.push(at_ms - since);
                    }
                } else if from == "on" {
                    self.on_since.remove(&key(&setting));
                }
            }
            Seen::ConsentRequested { request } => {
                let slot = key(&request.setting);
                let is_new = self.pending.get(&slot).is_none_or(|p| p.id != request.id);
                if is_new {
                    self.pending.insert(
                        slot,
                        Pending {
                            id: request.id,
                            requested_at_ms: request.requested_at.as_millisecond(),
                        },
                    );
                    self.parent_row(&band).0.requests += 1;
                }
            }
            Seen::ConsentGiven { record } => {
                let by_parent = record.given_by == "parent";
                let row = self.consent(&band, &record.setting);
                if by_parent {
                    row.given_by_parent += 1;
                } else {
                    row.given_by_child += 1;
                }
                self.consent_times.push((at_ms, band.clone(), true));
                if by_parent {
                    let pending = self.pending.remove(&key(&record.setting));
                    let (row, times) = self.parent_row(&band);
                    row.approvals += 1;
                    if let Some(pending) = pending {
                        times.push(at_ms - pending.requested_at_ms);
                    }
                }
            }
            Seen::ConsentDenied { setting } => {
                self.consent(&band, &setting).refused_by_parent += 1;
                let pending = self.pending.remove(&key(&setting));
                let (row, times) = self.parent_row(&band);
                row.denials += 1;
                if let Some(pending) = pending {
                    times.push(at_ms - pending.requested_at_ms);
                }
            }
            Seen::ConsentWithdrawn { setting, by } => {
                let row = self.consent(&band, &setting);
                match by.kind.as_str() {
                    "child" => row.withdrawn_by_child += 1,
                    "parent" => row.withdrawn_by_parent += 1,
                    _ => row.withdrawn_by_ward += 1,
                }
                self.consent_times.push((at_ms, band, false));
            }
            Seen::ConsentRequestExpired { setting } => {
                self.consent(&band, &setting).expired += 1;
                self.pending.remove(&key(&setting));
            }
            Seen::Other => {}
        }
    }

    fn consent(&mut self, band: &str, setting: &str) -> &mut ConsentRow {
        self.consents
            .entry((band_order(band), band.to_owned(), setting.to_owned()))
            .or_insert_with(|| ConsentRow {
                band: band.to_owned(),
                setting: setting.to_owned(),
                ..ConsentRow::default()
            })
    }

    fn parent_row(&mut self, band: &str) -> &mut (ParentRow, Vec<i64>) {
        self.parents.entry(band_order(band)).or_insert_with(|| {
            (
                ParentRow {
                    band: band.to_owned(),
                    ..ParentRow::default()
                },
                Vec::new(),
            )
        })
    }

    fn intervention(&mut self, band: &str, setting: &str, version: &str) -> &mut InterventionRow {
        self.interventions
            .entry((band_order(band), setting.to_owned(), version.to_owned()))
            .or_insert_with(|| InterventionRow {
                band: band.to_owned(),
                setting: setting.to_owned(),
                text_version: version.to_owned(),
                ..InterventionRow::default()
            })
    }

    /// The evidence.
    pub fn finish(self) -> Evidence {
        let mut children: BTreeMap<usize, BandCount> = BTreeMap::new();
        for band in self.band_of.values() {
            children
                .entry(band_order(band))
                .or_insert_with(|| BandCount {
                    band: band.clone(),
                    count: 0,
                })
                .count += 1;
        }
        Evidence {
            entries: self.entries,
            child_entries: self.child_entries,
            erased_entries: self.erased_entries,
            children: children.into_values().collect(),
            consents: self.consents.into_values().collect(),
            parents: self
                .parents
                .into_values()
                .map(|(mut row, times)| {
                    row.answer_time = Distribution::of(times);
                    row
                })
                .collect(),
            interventions: self.interventions.into_values().collect(),
            switched_off: self
                .switched_off
                .into_values()
                .map(|(mut row, durations)| {
                    row.on_for = Distribution::of(durations);
                    row
                })
                .collect(),
            timeline: timeline(self.consent_times),
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn timeline(times: Vec<(i64, String, bool)>) -> Timeline {
    let (Some(first), Some(last)) = (
        times.iter().map(|t| t.0).min(),
        times.iter().map(|t| t.0).max(),
    ) else {
        return Timeline {
            bucket: "day",
            points: Vec::new(),
        };
    };
    let span = last - first;
    let (bucket, width) = if span <= 2 * DAY_MS {
        ("hour", HOUR_MS)
    } else if span <= 120 * DAY_MS {
        ("day", DAY_MS)
    } else {
        ("week", 7 * DAY_MS)
    };
    let mut points: BTreeMap<(i64, usize), TimelinePoint> = BTreeMap::new();
    for (at_ms, band, given) in times {
        let start = at_ms.div_euclid(width) * width;
        let point = points
            .entry((start, band_order(&band)))
            .or_insert_with(|| TimelinePoint {
                start: Timestamp::from_millisecond(start).unwrap_or(Timestamp::UNIX_EPOCH),
                band: band.clone(),
                given: 0,
                withdrawn: 0,
            });
        if given {
            point.given += 1;
        } else {
            point.withdrawn += 1;
        }
    }
    Timeline {
        bucket,
        points: points.into_values().collect(),
    }
}
