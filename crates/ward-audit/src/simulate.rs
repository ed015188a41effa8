//! The loop that steps one persona through a run: ask the recommender, pass its ranking
//! through ward's guard (or not), show the slate, let the persona view it, learn the history.
//! RecSim's environment step, with the guard between the recommender and the child.
//!
//! **Paired runs.** A persona runs once without the guard and once with it, with the same
//! seed: the draws are taken in a fixed pattern (one [`Draws`] per slate position, whether the
//! position is used or not, and a fixed number per session), so the two runs differ only by
//! what the guard removed and what followed from that. Without the guard the slate is the top
//! `slate_size` of the ranking; with it, the ranking (the recommender is asked for
//! `slate_size × overfetch` items in both runs) is sent to the guard a slate's worth at a time
//! and every item kept is shown, until the slate is full: a service that over-fetches and
//! shows what the guard keeps. Each call is one `filter` call as a service would make it, with
//! the persona's age, its drift state and the parent's controls when the spec sets them.
//!
//! **Sessions and the clock.** A run starts on the spec's date; a session starts at each of
//! the spec's start times in turn (one a day, cycling) and lasts until the persona's time
//! budget runs out, at the end of a slate. A session opens with up to three notifications
//! (through the guard, which removes inactivity nudges and holds notifications in quiet
//! hours). The guard is told the simulated time of each call.
//!
//! What happened is told to [`Observer`]s, which get shared references only: they record, they
//! cannot change the run.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use ward_core::age::AgeBand;
use ward_core::child::AgeStatus;
use ward_core::controls::Controls;
use ward_core::feed::{
    Codes, DriftReport, DriftState, FeedChild, FeedOutcome, FeedPolicy, Item, RemovalReason,
    filter_into,
};

use crate::catalogue::{Catalogue, ItemMeta};
use crate::persona::{Draws, Persona, UserModel, UserState, View};
use crate::recommender::{Interaction, RankRequest, Recommender, RecommenderError};
use crate::rng::{SimRng, hash_text};

/// Where the guard's drift anchor comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Learned from the first items served (a service that declares nothing).
    Learned,
    /// The persona's favourite topics, declared (the interests API).
    Declared,
}

/// The guard as a run uses it.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    /// The policy's feed guard.
    pub policy: &'a FeedPolicy,
    /// A parent's controls, when the spec sets blocks or a bedtime.
    pub controls: Option<&'a Controls>,
    /// The drift anchor.
    pub anchor: Anchor,
}

/// How a run goes (from the spec).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Slates per run.
    pub slates: u32,
    /// Items per slate.
    pub slate_size: usize,
    /// The recommender is asked for `slate_size × overfetch` items.
    pub overfetch: usize,
    /// The user model.
    pub model: UserModel,
    /// The first day, in the policy's time zone.
    pub start_date: Date,
    /// Session start times, local, used in turn.
    pub session_starts: Vec<Time>,
    /// The policy's time zone (sessions are local).
    pub time_zone: jiff::tz::TimeZone,
}

/// One slate, as shown.
#[derive(Debug)]
pub struct SlateEvent<'a> {
    /// Which slate (from 0).
    pub slate: u32,
    /// Items shown, in order.
    pub shown: &'a [u32],
    /// Items the guard removed, and why.
    pub removed: &'a [(u32, Codes<RemovalReason>)],
    /// The drift state after the slate's calls (guarded runs only).
    pub drift: Option<&'a DriftReport>,
    /// The cap came into force during this slate.
    pub flagged: bool,
    /// Simulated minutes of activity so far.
    pub minutes: f64,
}

/// One item viewed.
#[derive(Debug)]
pub struct ViewEvent<'a> {
    /// Which slate.
    pub slate: u32,
    /// Its position in the run's feed (from 0).
    pub position: u32,
    /// The item.
    pub item: u32,
    /// What the simulation knows of it.
    pub meta: &'a ItemMeta,
    /// Simulated minutes of activity when it started.
    pub minute: f64,
    /// What the persona did.
    pub view: View,
}

/// A session's opening notifications.
#[derive(Debug)]
pub struct SessionEvent {
    /// Which session (from 0).
    pub session: u32,
    /// When it starts.
    pub start: Timestamp,
    /// Notifications sent.
    pub sent: u32,
    /// Of those, responding to inactivity.
    pub nudges_sent: u32,
    /// Held back (quiet hours, bedtime).
    pub held: u32,
    /// Removed by the guard.
    pub removed: u32,
}

/// Something that watches a run.
pub trait Observer {
    /// A slate was shown.
    fn slate(&mut self, _event: &SlateEvent<'_>) {}
    /// An item was viewed.
    fn view(&mut self, _event: &ViewEvent<'_>) {}
    /// A session began.
    fn session(&mut self, _event: &SessionEvent) {}
}

/// The drift state a persona starts with.
fn start_drift(persona: &Persona, catalogue: &Catalogue, anchor: Anchor) -> DriftState {
    match anchor {
        Anchor::Learned => DriftState::new(),
        // Favourites are catalogue topics: short, few, never empty.
        Anchor::Declared => {
            DriftState::with_interests(&persona.declared_interests(catalogue)).unwrap_or_default()
        }
    }
}

fn age_status(band: AgeBand, age: u8) -> AgeStatus {
    if age >= 18 {
        AgeStatus::Adult
    } else {
        AgeStatus::Child {
            age: Some(age),
            band,
        }
    }
}

fn session_start(settings: &RunSettings, session: u32) -> Timestamp {
    let starts = settings.session_starts.len().max(1) as u32;
    let day = i32::try_from(session / starts).unwrap_or(i32::MAX);
    let time = settings
        .session_starts
        .get((session % starts) as usize)
        .copied()
        .unwrap_or(Time::midnight());
    let date = settings
        .start_date
        .checked_add(jiff::Span::new().days(day))
        .unwrap_or(settings.start_date);
    settings
        .time_zone
        .to_zoned_datetime(date.to_datetime(time))
        .map(|zoned| zoned.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn after_minutes(start: Timestamp, minutes: f64) -> Timestamp {
    let seconds = (minutes * 60.0) as i64;
    start
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or(start)
}

/// Runs one persona: `guard: None` is the run without ward.
pub fn run(
    catalogue: &Catalogue,
    persona: &Persona,
    recommender: &dyn Recommender,
    guard: Option<Guard<'_>>,
    settings: &RunSettings,
    observers: &mut [&mut dyn Observer],
) -> Result<(), RecommenderError> {
    let model = &settings.model;
    let mut rng = SimRng::derived(
        persona.seed,
        &[hash_text(&persona.id), hash_text(recommender.name())],
    );
    let mut state: UserState = model.start(persona);
    let mut drift = guard.map(|g| start_drift(persona, catalogue, g.anchor));
    let status = age_status(persona.band, persona.age);
    let child = FeedChild::new(status);
    let mut history: Vec<Interaction> = Vec::with_capacity(settings.slates as usize * 10);
    let mut ranked: Vec<u32> = Vec::new();
    let mut shown: Vec<u32> = Vec::with_capacity(settings.slate_size);
    let mut removed: Vec<(u32, Codes<RemovalReason>)> = Vec::new();
    let mut draws: Vec<Draws> = Vec::with_capacity(settings.slate_size);
    let mut scratch = Scratch::default();
    let mut dedup = vec![0u32; catalogue.len()];
    let mut session = 0u32;
    let mut start = session_start(settings, 0);
    let mut session_minutes = 0.0;
    let mut total_minutes = 0.0;
    let mut position = 0u32;
    open_session(
        catalogue,
        &child,
        guard,
        session,
        start,
        &mut rng,
        &mut scratch,
        observers,
    );
    for slate in 0..settings.slates {
        if persona.switch_back_after == Some(slate) {
            state.interests.clone_from(&persona.interests);
        }
        draws.clear();
        draws.extend((0..settings.slate_size).map(|_| Draws::next(&mut rng)));
        let request = RankRequest {
            persona: &persona.id,
            age: persona.age,
            band: persona.band,
            history: &history,
            count: settings.slate_size * settings.overfetch.max(1),
            slate,
        };
        recommender.rank(&request, &mut ranked)?;
        // Drop what is not content, and repeats within the ranking.
        let stamp = slate + 1;
        ranked.retain(|item| {
            let ok = catalogue
                .metas()
                .get(*item as usize)
                .is_some_and(|m| m.kind.is_content())
                && dedup[*item as usize] != stamp;
            if ok {
                dedup[*item as usize] = stamp;
            }
            ok
        });
        shown.clear();
        removed.clear();
        let mut flagged = false;
        let mut report = None;
        let now = after_minutes(start, session_minutes);
        match (guard, drift.as_mut()) {
            (Some(guard), Some(drift)) => {
                let mut at = 0;
                while shown.len() < settings.slate_size && at < ranked.len() {
                    let take = (settings.slate_size - shown.len()).min(ranked.len() - at);
                    let chunk = &ranked[at..at + take];
                    at += take;
                    scratch.items.clear();
                    scratch.items.extend(
                        chunk
                            .iter()
                            .map(|idx| catalogue.items()[*idx as usize].clone()),
                    );
                    filter_into(
                        guard.policy,
                        &child,
                        guard.controls,
                        Some(&mut *drift),
                        &scratch.items,
                        now,
                        &mut scratch.outcome,
                    );
                    shown.extend(scratch.outcome.kept.iter().map(|i| chunk[*i as usize]));
                    removed.extend(
                        scratch
                            .outcome
                            .removed
                            .iter()
                            .map(|r| (chunk[r.index as usize], r.reasons)),
                    );
                    if let Some(drift_report) = scratch.outcome.drift {
                        flagged |= drift_report.flagged;
                        report = Some(drift_report);
                    }
                }
            }
            _ => shown.extend(ranked.iter().take(settings.slate_size)),
        }
        for observer in observers.iter_mut() {
            observer.slate(&SlateEvent {
                slate,
                shown: &shown,
                removed: &removed,
                drift: report.as_ref(),
                flagged,
                minutes: total_minutes,
            });
        }
        for (slot, item) in shown.iter().enumerate() {
            let meta = catalogue.meta(*item);
            let view = model.view(persona, &mut state, meta, slot, draws[slot]);
            for observer in observers.iter_mut() {
                observer.view(&ViewEvent {
                    slate,
                    position,
                    item: *item,
                    meta,
                    minute: total_minutes,
                    view,
                });
            }
            position += 1;
            total_minutes += view.minutes;
            session_minutes += view.minutes;
            history.push(Interaction {
                item: *item,
                watched: view.watched as f32,
                liked: view.liked,
            });
        }
        if state.budget <= 0.0 {
            session += 1;
            start = session_start(settings, session);
            session_minutes = 0.0;
            model.new_session(&mut state);
            open_session(
                catalogue,
                &child,
                guard,
                session,
                start,
                &mut rng,
                &mut scratch,
                observers,
            );
        }
    }
    Ok(())
}

#[derive(Default)]
struct Scratch {
    items: Vec<Item>,
    outcome: FeedOutcome,
}

/// Notifications a session opens with: three, drawn from the catalogue's (always three
/// draws, so paired runs stay in step).
#[expect(
    clippy::too_many_arguments,
    reason = "the run's pieces, passed through once"
)]
fn open_session(
    catalogue: &Catalogue,
    child: &FeedChild<'_>,
    guard: Option<Guard<'_>>,
    session: u32,
    start: Timestamp,
    rng: &mut SimRng,
    scratch: &mut Scratch,
    observers: &mut [&mut dyn Observer],
) {
    let notifications = catalogue.notifications();
    let picked: Vec<u32> = (0..3)
        .map(|_| rng.below(notifications.len()))
        .filter_map(|i| notifications.get(i).copied())
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let is_nudge = |idx: &u32| catalogue.items()[*idx as usize].is_inactivity_nudge();
    let event = match guard {
        None => SessionEvent {
            session,
            start,
            sent: picked.len() as u32,
            nudges_sent: picked.iter().filter(|i| is_nudge(i)).count() as u32,
            held: 0,
            removed: 0,
        },
        Some(guard) => {
            scratch.items.clear();
            scratch.items.extend(
                picked
                    .iter()
                    .map(|idx| catalogue.items()[*idx as usize].clone()),
            );
            filter_into(
                guard.policy,
                child,
                guard.controls,
                None,
                &scratch.items,
                start,
                &mut scratch.outcome,
            );
            let kept: Vec<u32> = scratch
                .outcome
                .kept
                .iter()
                .map(|i| picked[*i as usize])
                .collect();
            SessionEvent {
                session,
                start,
                sent: kept.len() as u32,
                nudges_sent: kept.iter().filter(|i| is_nudge(i)).count() as u32,
                held: scratch.outcome.held.len() as u32,
                removed: scratch.outcome.removed.len() as u32,
            }
        }
    };
    for observer in observers.iter_mut() {
        observer.session(&event);
    }
}
