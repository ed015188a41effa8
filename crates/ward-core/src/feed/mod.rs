//! The feed guard (`RUNTIME.md`, "The feed guard"): what a recommender may put in front of a
//! child. [`filter`] judges each item against ratings, harm tags, the CAP Code, the
//! precautionary rule, nudges and quiet hours, the adult contact filter, a parent's blocks
//! and drift, and says why for every item it removes or holds back.
//!
//! Built for the hot path: items are parsed once ([`Item`]: ratings become [`Rating`] values
//! and a minimum age at deserialization), the policy's part is compiled once ([`FeedPolicy`],
//! which the caller keeps), and the loop allocates nothing per kept item: the outcome lists
//! indices and reason bit sets, and sentences are built only when asked for
//! ([`FeedOutcome::explain`]). [`filter_into`] reuses the caller's buffers.
//!
//! Every word is compared as [`crate::vocab`] spells it (`Self-Harm` is `self_harm`), and a
//! tag or ad category the policy does not know (neither a harm tag or CAP category nor one
//! `[feed]` declares harmless) is named in the notes and, for children, makes the item
//! unassessed for the precautionary rule (`RUNTIME.md`, "Vocabulary").
//!
//! Pure: `now` and the drift state come in, the drift state goes out; nothing here stores,
//! sends or reads a clock. Not for deciding whether a child may be profiled at all: that is
//! [`crate::decide`], whose `filter_feed` obligation sends the caller here.

mod compact;
mod drift;
mod explain;
mod item;
mod scan;

use std::fmt;
use std::marker::PhantomData;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::child::AgeStatus;
use crate::controls::{Controls, local_time, window_is_valid};
use crate::feedback::FeedbackGuard;
use crate::policy::{DailyWindow, FeedConfig, Policy, Precaution, UnknownTags};
use crate::vocab::NameSet;

pub use compact::CompactResponse;
pub use drift::{
    ANCHOR_ITEMS, AnchorSource, DriftError, DriftReport, DriftState, MAX_TOPIC_LEN, MAX_TOPICS,
    MAX_WINDOW,
};
pub use explain::{
    ChildExplanation, Explained, Explainer, FeedResponse, HeldItem, NoteItem, RemovedItem, Signal,
    why_am_i_seeing_this,
};
pub use item::{
    AdCategory, CapCategory, HarmTag, Item, ItemError, ItemKind, Name, Rating, RatingSystem,
    Ratings, UnrecognisedRating,
};
pub use scan::Scanner;
#[doc(hidden)]
pub use scan::one_byte_edits;

use drift::DriftEvents;

/// True for a byte JSON cannot carry as is inside a string (a quote, a backslash, a control
/// character): where the scanner stops reading a plain string, and where the compact writer
/// hands a string to serde_json's escaping.
#[inline]
fn needs_json_escape(byte: u8) -> bool {
    JSON_ESCAPES[usize::from(byte)]
}

/// [`needs_json_escape`] for each byte, looked up: one load a byte in the scanner's string
/// loop rather than three comparisons.
const JSON_ESCAPES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Where the first byte of `bytes` that [`needs_json_escape`] is, read eight bytes at a time
/// (a string's end is its first such byte, a quote, when it holds no escape). A word of eight
/// bytes is tested at once with the usual bit tricks for "some byte is zero" and "some byte is
/// below": each sets the top bit of a byte that matches, and can set it wrongly only in a byte
/// after one that truly matches, so the lowest bit set is always the first match.
#[inline]
fn escape_position(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let zero_bytes = |word: u64| word.wrapping_sub(ONES) & !word;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let found = (zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & TOPS;
        if found != 0 {
            // Little-endian: the lowest set bit is in the earliest byte.
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|byte| needs_json_escape(*byte))
        .map(|position| at + position)
}

/// A stable snake_case code, one per variant of a small enum.
pub trait Code: Copy + Eq + 'static {
    /// Every value, in order.
    const ALL: &'static [Self];
    /// The code.
    fn code(self) -> &'static str;
    /// Its bit in a [`Codes`] set (below 16).
    fn bit(self) -> u16;
}

/// A set of codes as bits: what one item was removed, held or noted for. `Copy`, 2 bytes.
pub struct Codes<T> {
    bits: u16,
    marker: PhantomData<fn() -> T>,
}

impl<T> Clone for Codes<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Codes<T> {}
impl<T> PartialEq for Codes<T> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<T> Eq for Codes<T> {}
impl<T> std::hash::Hash for Codes<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}
impl<T> Default for Codes<T> {
    fn default() -> Self {
        Self {
            bits: 0,
            marker: PhantomData,
        }
    }
}

impl<T: Code> Codes<T> {
    /// No codes.
    pub const EMPTY: Self = Self {
        bits: 0,
        marker: PhantomData,
    };

    /// A set of one code.
    pub fn of(code: T) -> Self {
        Self::EMPTY.with(code)
    }

    /// This set and `code`.
    #[must_use]
    pub fn with(mut self, code: T) -> Self {
        self.insert(code);
        self
    }

    /// Adds `code`.
    pub fn insert(&mut self, code: T) {
        self.bits |= 1 << code.bit();
    }

    /// True when `code` is in the set.
    pub fn contains(self, code: T) -> bool {
        self.bits & (1 << code.bit()) != 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// How many codes.
    pub fn len(self) -> usize {
        self.bits.count_ones() as usize
    }

    /// The codes, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = T> {
        T::ALL
            .iter()
            .copied()
            .filter(move |code| self.contains(*code))
    }

    /// The codes as text.
    pub fn codes(self) -> impl Iterator<Item = &'static str> {
        self.iter().map(T::code)
    }

    fn without(self, code: T) -> Self {
        Self {
            bits: self.bits & !(1 << code.bit()),
            marker: PhantomData,
        }
    }
}

impl<T: Code> fmt::Debug for Codes<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.codes()).finish()
    }
}

impl<T: Code> Serialize for Codes<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.codes())
    }
}

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl Code for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn code(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            fn bit(self) -> u16 {
                self as u16
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }
    };
}

code_enum!(
    /// Why an item was removed. Every removal carries all of its reasons.
    RemovalReason {
        /// Rated above the child's age (the strictest rating present wins).
        AgeRating = "age_rating",
        /// Tagged with a harm removed for children.
        HarmTag = "harm_tag",
        /// An advert in a category the CAP Code keeps from this age.
        AdCategory = "ad_category",
        /// Unrated and unassessed content, under `[feed] precaution = "remove"`.
        Precaution = "precaution",
        /// A notification responding to inactivity.
        InactivityNudge = "inactivity_nudge",
        /// A suggested adult the child does not know.
        AdultContact = "adult_contact",
        /// A tag a parent blocked.
        ParentBlockedTag = "parent_blocked_tag",
        /// A topic a parent blocked.
        ParentBlockedTopic = "parent_blocked_topic",
        /// A source a parent blocked.
        ParentBlockedSource = "parent_blocked_source",
        /// A sensitive topic past the drift cap.
        DriftCap = "drift_cap",
        /// The child hid this item ("not for me", or a report).
        HiddenByChild = "hidden_by_child",
        /// A topic the child said "not for me" to, held back for `[feed] feedback_decay_days`.
        NotForMeTopic = "not_for_me_topic",
        /// A source the child said "not for me" to, held back for the decay.
        NotForMeSource = "not_for_me_source",
        /// A tag the child said "not for me" to, held back for the decay.
        NotForMeTag = "not_for_me_tag",
    }
);

code_enum!(
    /// Why a notification is held back (not removed: the service may send it later).
    HoldReason {
        /// Inside the policy's `[feed] quiet_hours`.
        QuietHours = "quiet_hours",
        /// Inside the bedtime a parent set.
        Bedtime = "bedtime",
    }
);

code_enum!(
    /// What the notes say about an item.
    NoteKind {
        /// Kept with an advisory rating (PG, 12A, PG-13, TV-PG).
        AdvisoryRating = "advisory_rating",
        /// A rating value ward does not recognise: treated as no rating.
        UnrecognisedRating = "unrecognised_rating",
        /// Unrated and unassessed, kept because `[feed] precaution = "keep"`.
        UnassessedKept = "unassessed_kept",
        /// A tag ward does not know: neither a harm tag nor in `[feed] harmless_tags`.
        UnknownTag = "unknown_tag",
        /// An ad category ward does not know: neither one the CAP Code restricts nor in
        /// `[feed] harmless_ad_categories`.
        UnknownAdCategory = "unknown_ad_category",
    }
);

/// The policy's part of the feed guard, compiled once (at start and on reload) and kept by the
/// caller: the service's `min_age` and time zone, and `[feed]`.
#[derive(Debug, Clone)]
pub struct FeedPolicy {
    pub(crate) min_age: u8,
    pub(crate) precaution: Precaution,
    pub(crate) quiet_hours: Option<DailyWindow>,
    pub(crate) time_zone: TimeZone,
    pub(crate) drift_window: u32,
    pub(crate) drift_threshold: f64,
    pub(crate) sensitive_cap: f64,
    pub(crate) sensitive: Box<[Name]>,
    pub(crate) unknown_tags: UnknownTags,
    pub(crate) harmless_tags: NameSet,
    pub(crate) harmless_ad_categories: NameSet,
}

/// Why a policy's feed guard cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedPolicyError {
    /// The service's time zone is not in the bundled database.
    #[error("unknown time zone `{0}`: use an IANA name like `Europe/London`")]
    UnknownTimeZone(String),
}

impl FeedPolicy {
    /// The feed guard for `policy`.
    pub fn new(policy: &Policy) -> Result<Self, FeedPolicyError> {
        let time_zone = TimeZone::get(&policy.service.time_zone)
            .map_err(|_| FeedPolicyError::UnknownTimeZone(policy.service.time_zone.clone()))?;
        Ok(Self::from_config(
            &policy.feed,
            policy.service.min_age,
            time_zone,
        ))
    }

    /// The feed guard for a `[feed]` table, a `min_age` and a service time zone. Values out
    /// of range are brought into range (the policy parser refuses them anyway).
    pub fn from_config(config: &FeedConfig, min_age: u8, time_zone: TimeZone) -> Self {
        let fraction = |value: f64| {
            if value.is_nan() {
                0.0
            } else {
                value.clamp(0.0, 1.0)
            }
        };
        let mut sensitive: Vec<Name> = Vec::with_capacity(config.sensitive_topics.len());
        for topic in &config.sensitive_topics {
            let name = Name::new(topic);
            if !name.is_in(&sensitive) {
                sensitive.push(name);
            }
        }
        // A harm tag or CAP category is never harmless (the parser refuses one; a config
        // built in code is brought into line the same way).
        let harmless_tags = NameSet::new(
            config
                .harmless_tags
                .iter()
                .map(|tag| Name::new(tag))
                .filter(|tag| !tag.key().is_empty() && HarmTag::parse(tag.key()).is_none()),
        );
        let harmless_ad_categories = NameSet::new(
            config
                .harmless_ad_categories
                .iter()
                .map(|category| Name::new(category))
                .filter(|c| !c.key().is_empty() && CapCategory::parse(c.key()).is_none()),
        );
        Self {
            min_age: min_age.min(17),
            precaution: config.precaution,
            quiet_hours: config.quiet_hours.filter(|window| window_is_valid(*window)),
            time_zone,
            drift_window: config.drift_window.clamp(1, MAX_WINDOW as u32),
            drift_threshold: fraction(config.drift_threshold),
            sensitive_cap: fraction(config.sensitive_cap),
            sensitive: sensitive.into_boxed_slice(),
            unknown_tags: config.unknown_tags,
            harmless_tags,
            harmless_ad_categories,
        }
    }

    /// `[feed] unknown_tags`.
    pub fn unknown_tags(&self) -> UnknownTags {
        self.unknown_tags
    }

    /// `[feed] harmless_tags`, normalised, in no particular order.
    pub fn harmless_tags(&self) -> &[Name] {
        self.harmless_tags.names()
    }

    /// `[feed] harmless_ad_categories`, normalised, in no particular order.
    pub fn harmless_ad_categories(&self) -> &[Name] {
        self.harmless_ad_categories.names()
    }

    /// The item's tags ward does not know, in order.
    pub fn unknown_tags_of<'a>(&'a self, item: &'a Item) -> impl Iterator<Item = &'a Name> + 'a {
        item.plain_tags()
            .filter(|tag| !self.harmless_tags.contains(tag))
    }

    /// The item's ad category, when ward does not know it.
    pub fn unknown_ad_category_of<'a>(&self, item: &'a Item) -> Option<&'a Name> {
        match item.ad_category() {
            Some(AdCategory::Other(name)) if !self.harmless_ad_categories.contains(name) => {
                Some(name)
            }
            _ => None,
        }
    }

    /// Which words of `item` ward does not know, as note kinds (empty for most items: only
    /// those with a tag that is no harm tag, or an unrestricted ad category, are looked at).
    #[inline]
    fn unknown_words(&self, item: &Item) -> Codes<NoteKind> {
        if item.may_be_unknown {
            self.unknown_words_slow(item)
        } else {
            Codes::EMPTY
        }
    }

    fn unknown_words_slow(&self, item: &Item) -> Codes<NoteKind> {
        let mut kinds = Codes::EMPTY;
        for (idx, tag) in item.tags.iter().enumerate() {
            if !item.is_harm_tag_at(idx, tag) && !self.harmless_tags.contains(tag) {
                kinds.insert(NoteKind::UnknownTag);
                break;
            }
        }
        if let Some(AdCategory::Other(name)) = item.ad_category()
            && !self.harmless_ad_categories.contains(name)
        {
            kinds.insert(NoteKind::UnknownAdCategory);
        }
        kinds
    }

    /// The service's `min_age` (the age `unknown` users are judged at).
    pub fn min_age(&self) -> u8 {
        self.min_age
    }

    /// `[feed] precaution`.
    pub fn precaution(&self) -> Precaution {
        self.precaution
    }

    /// `[feed] quiet_hours`.
    pub fn quiet_hours(&self) -> Option<DailyWindow> {
        self.quiet_hours
    }

    /// The service's time zone (a child's own overrides it).
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// `[feed] drift_window`.
    pub fn drift_window(&self) -> u32 {
        self.drift_window
    }

    /// `[feed] drift_threshold`.
    pub fn drift_threshold(&self) -> f64 {
        self.drift_threshold
    }

    /// `[feed] sensitive_cap`.
    pub fn sensitive_cap(&self) -> f64 {
        self.sensitive_cap
    }

    /// `[feed] sensitive_topics`.
    pub fn sensitive_topics(&self) -> &[Name] {
        &self.sensitive
    }

    /// True when `topic` is one of `sensitive_topics`.
    pub fn is_sensitive(&self, topic: &Name) -> bool {
        topic.is_in(&self.sensitive)
    }
}

/// `RULES.md`'s `[feed]` defaults, `min_age` 0 and Europe/London.
impl Default for FeedPolicy {
    fn default() -> Self {
        let time_zone = TimeZone::get("Europe/London").unwrap_or(TimeZone::UTC);
        Self::from_config(&FeedConfig::default(), 0, time_zone)
    }
}

/// Who the feed is for: their age status (`unknown` is a child, judged at the service's
/// `min_age`) and their own time zone, when the service gave one.
#[derive(Debug, Clone, Copy)]
pub struct FeedChild<'a> {
    /// Their age status now.
    pub age: AgeStatus,
    /// Their own time zone; `None` uses the service's.
    pub time_zone: Option<&'a TimeZone>,
    /// Their own feedback ("not for me", reports), compiled; `None` when they gave none.
    pub feedback: Option<&'a FeedbackGuard>,
}

impl<'a> FeedChild<'a> {
    /// A child in the service's time zone.
    pub fn new(age: AgeStatus) -> Self {
        Self {
            age,
            time_zone: None,
            feedback: None,
        }
    }

    /// The same child with their own feedback.
    #[must_use]
    pub fn with_feedback(self, feedback: &'a FeedbackGuard) -> Self {
        Self {
            feedback: Some(feedback),
            ..self
        }
    }

    /// The same child in their own time zone.
    #[must_use]
    pub fn in_time_zone(self, time_zone: &'a TimeZone) -> Self {
        Self {
            time_zone: Some(time_zone),
            ..self
        }
    }
}

/// An item removed, and every reason why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// Its position in the items given.
    pub index: u32,
    /// Why.
    pub reasons: Codes<RemovalReason>,
}

/// A notification held back until quiet hours or bedtime end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Its position in the items given.
    pub index: u32,
    /// Why.
    pub reasons: Codes<HoldReason>,
}

/// Notes on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    /// Its position in the items given.
    pub index: u32,
    /// What they say.
    pub kinds: Codes<NoteKind>,
}

/// What the guard did with a feed. Items are referred to by their position in the slice
/// given to [`filter`]; [`FeedOutcome::explain`] turns the outcome into sentences.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedOutcome {
    /// Items that may be shown, in feed order.
    pub kept: Vec<u32>,
    /// Items removed, in feed order.
    pub removed: Vec<Removal>,
    /// Notifications held back (not removed), in feed order.
    pub held: Vec<Held>,
    /// Notes: advisory and unrecognised ratings, unassessed content kept.
    pub notes: Vec<Note>,
    /// When the held notifications may be sent (the end of quiet hours and bedtime).
    pub held_until: Option<Timestamp>,
    /// The drift score and what the cap did (when a drift state was given).
    pub drift: Option<DriftReport>,
    /// The age judged at (the working age; 18 for adults).
    pub age: u8,
    /// An adult: nothing filtered.
    pub unfiltered: bool,
}

impl FeedOutcome {
    /// Empties the outcome, keeping its buffers.
    pub fn clear(&mut self) {
        self.kept.clear();
        self.removed.clear();
        self.held.clear();
        self.notes.clear();
        self.held_until = None;
        self.drift = None;
        self.age = 0;
        self.unfiltered = false;
    }

    /// How many removals carry each reason, in reason order (reasons never given left out).
    pub fn reason_counts(&self) -> Vec<(RemovalReason, usize)> {
        RemovalReason::ALL
            .iter()
            .map(|reason| {
                let count = self
                    .removed
                    .iter()
                    .filter(|removal| removal.reasons.contains(*reason))
                    .count();
                (*reason, count)
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    /// Sentences for this outcome: why each item was removed, held or noted, and why a kept
    /// one may be shown. `items` and `controls` must be the ones given to [`filter`].
    pub fn explain<'a>(
        &'a self,
        policy: &'a FeedPolicy,
        controls: Option<&'a Controls>,
        items: &'a [Item],
    ) -> Explainer<'a> {
        Explainer::new(self, policy, controls, items)
    }
}

/// The feed guard, as `RUNTIME.md` states it: `filter(policy, child, controls, drift, items,
/// now) -> (outcome, new drift)`. Pure. See [`filter_into`] to reuse buffers on a hot path.
pub fn filter(
    policy: &FeedPolicy,
    child: &FeedChild<'_>,
    controls: Option<&Controls>,
    drift: DriftState,
    items: &[Item],
    now: Timestamp,
) -> (FeedOutcome, DriftState) {
    let mut drift = drift;
    let mut outcome = FeedOutcome::default();
    filter_into(
        policy,
        child,
        controls,
        Some(&mut drift),
        items,
        now,
        &mut outcome,
    );
    (outcome, drift)
}

/// The feed guard, writing into `out` (cleared first; its buffers reused) and updating `drift`
/// in place. With `drift: None` there is no drift check and no drift report.
///
/// For a child (or `unknown`), an item is removed when any rule removes it and every reason is
/// recorded; a notification no rule removes is held back inside quiet hours or bedtime; an item
/// on a sensitive topic is removed (`drift_cap`) when the cap is in force and it would push the
/// window past the cap; everything else is kept. An adult gets every item, with the notes.
pub fn filter_into(
    policy: &FeedPolicy,
    child: &FeedChild<'_>,
    controls: Option<&Controls>,
    drift: Option<&mut DriftState>,
    items: &[Item],
    now: Timestamp,
    out: &mut FeedOutcome,
) {
    out.clear();
    out.kept.reserve(items.len());
    let adult = child.age.is_adult();
    out.age = child.age.working_age(policy.min_age);
    out.unfiltered = adult;
    let mut drift = drift;
    if let Some(state) = drift.as_deref_mut() {
        state.begin(policy);
    }
    let mut events = DriftEvents::default();
    if adult {
        for (index, item) in (0u32..).zip(items) {
            if let Some(state) = drift.as_deref_mut() {
                state.admit(policy, &item.topics, false, &mut events);
            }
            out.kept.push(index);
            let unknown = policy.unknown_words(item);
            if item.has_notes || !unknown.is_empty() {
                push_notes(out, index, item, true, unknown);
            }
        }
    } else {
        filter_child(
            policy,
            child,
            controls,
            drift.as_deref_mut(),
            items,
            now,
            out,
            &mut events,
        );
    }
    out.drift = drift.map(|state| state.finish(policy, !adult, events));
}

#[expect(
    clippy::too_many_arguments,
    reason = "the loop's inputs, passed through once"
)]
fn filter_child(
    policy: &FeedPolicy,
    child: &FeedChild<'_>,
    controls: Option<&Controls>,
    mut drift: Option<&mut DriftState>,
    items: &[Item],
    now: Timestamp,
    out: &mut FeedOutcome,
    events: &mut DriftEvents,
) {
    let age = out.age;
    let precaution_keeps = policy.precaution == Precaution::Keep;
    let unknown_counts = policy.unknown_tags == UnknownTags::Remove;
    let blocks = controls.filter(|c| c.has_blocks());
    // The child's own feedback, kept apart from a parent's blocks (and after them, so a
    // parent's block is named first).
    let feedback = child.feedback.filter(|guard| !guard.is_empty());
    // Computed at the first notification: the local time is the same for the whole feed.
    let mut hold: Option<Codes<HoldReason>> = None;
    for (index, item) in (0u32..).zip(items) {
        let mut reasons = item.child_reasons;
        // A word ward does not know makes the item unassessed (`RUNTIME.md`, "Vocabulary").
        let unknown = policy.unknown_words(item);
        if unknown_counts && !unknown.is_empty() {
            reasons.insert(RemovalReason::Precaution);
        }
        if precaution_keeps {
            reasons = reasons.without(RemovalReason::Precaution);
        }
        let has_notes = item.has_notes || !unknown.is_empty();
        // The notes on an item shown: its unknown words, and that it was kept unassessed.
        let shown_notes = || {
            if precaution_keeps
                && ((unknown_counts && !unknown.is_empty()) || item.is_unrated_and_unassessed())
            {
                unknown.with(NoteKind::UnassessedKept)
            } else {
                unknown
            }
        };
        if item.rating_min_age > age {
            reasons.insert(RemovalReason::AgeRating);
        }
        if item.ad_min_age > age {
            reasons.insert(RemovalReason::AdCategory);
        }
        if let Some(controls) = blocks {
            block_reasons(controls, item, &mut reasons);
        }
        if let Some(guard) = feedback {
            guard.reasons(item, now, &mut reasons);
        }
        if !reasons.is_empty() {
            out.removed.push(Removal { index, reasons });
            if has_notes {
                push_notes(out, index, item, false, unknown);
            }
            continue;
        }
        if item.kind == ItemKind::Notification {
            let hold = *hold.get_or_insert_with(|| hold_reasons(policy, child, controls, now));
            if !hold.is_empty() {
                out.held.push(Held {
                    index,
                    reasons: hold,
                });
                if has_notes {
                    push_notes(out, index, item, true, shown_notes());
                }
                continue;
            }
        }
        if let Some(state) = drift.as_deref_mut()
            && !state.admit(policy, &item.topics, true, events)
        {
            out.removed.push(Removal {
                index,
                reasons: Codes::of(RemovalReason::DriftCap),
            });
            if has_notes {
                push_notes(out, index, item, false, unknown);
            }
            continue;
        }
        out.kept.push(index);
        if has_notes {
            push_notes(out, index, item, true, shown_notes());
        }
    }
    if !out.held.is_empty() {
        out.held_until = hold_end(policy, child, controls, now);
    }
}

fn block_reasons(controls: &Controls, item: &Item, reasons: &mut Codes<RemovalReason>) {
    let tags = controls.blocked_tags();
    if !tags.is_empty() && item.tags.iter().any(|tag| tags.contains(tag)) {
        reasons.insert(RemovalReason::ParentBlockedTag);
    }
    let topics = controls.blocked_topics();
    if !topics.is_empty() && item.topics.iter().any(|topic| topics.contains(topic)) {
        reasons.insert(RemovalReason::ParentBlockedTopic);
    }
    let sources = controls.blocked_sources();
    if !sources.is_empty() && item.source.as_ref().is_some_and(|s| sources.contains(s)) {
        reasons.insert(RemovalReason::ParentBlockedSource);
    }
}

/// Notes: unrecognised ratings on any item; advisory ratings on items shown; and `extra`,
/// which the caller worked out (unknown words; unassessed content kept under
/// `precaution = "keep"`).
fn push_notes(out: &mut FeedOutcome, index: u32, item: &Item, shown: bool, extra: Codes<NoteKind>) {
    let mut kinds = extra;
    if !item.ratings().unrecognised().is_empty() {
        kinds.insert(NoteKind::UnrecognisedRating);
    }
    if shown && item.ratings().advisories().next().is_some() {
        kinds.insert(NoteKind::AdvisoryRating);
    }
    if !kinds.is_empty() {
        out.notes.push(Note { index, kinds });
    }
}

fn child_time_zone<'a>(policy: &'a FeedPolicy, child: &FeedChild<'a>) -> &'a TimeZone {
    child.time_zone.unwrap_or(&policy.time_zone)
}

/// The windows notifications are held in: the policy's quiet hours and a parent's bedtime.
/// Both apply: a parent can make the evening quieter, never louder than the policy.
fn hold_windows(
    policy: &FeedPolicy,
    controls: Option<&Controls>,
) -> [(HoldReason, Option<DailyWindow>); 2] {
    [
        (HoldReason::QuietHours, policy.quiet_hours),
        (HoldReason::Bedtime, controls.and_then(Controls::bedtime)),
    ]
}

fn hold_reasons(
    policy: &FeedPolicy,
    child: &FeedChild<'_>,
    controls: Option<&Controls>,
    now: Timestamp,
) -> Codes<HoldReason> {
    let (_, minute) = local_time(child_time_zone(policy, child), now);
    let mut reasons = Codes::EMPTY;
    for (reason, window) in hold_windows(policy, controls) {
        if window.is_some_and(|w| w.contains(minute)) {
            reasons.insert(reason);
        }
    }
    reasons
}

/// The first moment after `now` outside every hold window, in the child's local time.
fn hold_end(
    policy: &FeedPolicy,
    child: &FeedChild<'_>,
    controls: Option<&Controls>,
    now: Timestamp,
) -> Option<Timestamp> {
    let time_zone = child_time_zone(policy, child);
    let windows = hold_windows(policy, controls);
    let mut at = now;
    // Each step leaves one window; two windows can chain into each other at most twice.
    for _ in 0..4 {
        let local = time_zone.to_datetime(at);
        let (_, minute) = local_time(time_zone, at);
        let Some(window) = windows
            .iter()
            .filter_map(|(_, window)| *window)
            .find(|window| window.contains(minute))
        else {
            return Some(at);
        };
        let hour = i8::try_from(window.end_minute / 60).ok()?;
        let minute = i8::try_from(window.end_minute % 60).ok()?;
        let end_time = jiff::civil::Time::new(hour, minute, 0, 0).ok()?;
        let mut end = local.date().to_datetime(end_time);
        if end <= local {
            end = local.date().tomorrow().ok()?.to_datetime(end_time);
        }
        at = time_zone.to_zoned_datetime(end).ok()?.timestamp();
    }
    Some(at)
}

/// Why a catalogue line is not an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column_suffix(*.column))]
pub struct CatalogueError {
    /// The 1-based line.
    pub line: usize,
    /// The 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn column_suffix(column: Option<usize>) -> String {
    column.map(|c| format!(", column {c}")).unwrap_or_default()
}

/// Two items with one id (`RUNTIME.md`: "Item ids are unique within a call"): the positions
/// of its first and second use, counting from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateId {
    /// The id.
    pub id: String,
    /// Where it is first used.
    pub first: usize,
    /// Where it is used again.
    pub second: usize,
}

/// The first id two of `items` share, if any. A feed that names one id twice would get an
/// answer that both keeps and removes it, so callers refuse such a feed instead.
pub fn duplicate_id(items: &[Item]) -> Option<DuplicateId> {
    // The caller writes these keys, so they are hashed with a seed chosen per process
    // (foldhash's `RandomState`): ids crafted to collide under one seed do not under another.
    // SipHash cost about 7% of a 10,000-item feed's instructions here (callgrind).
    // Keyed by the ids' bytes, which are their text's, without checking UTF-8 again.
    let mut seen: std::collections::HashMap<&[u8], usize, foldhash::fast::RandomState> =
        std::collections::HashMap::with_capacity_and_hasher(items.len(), Default::default());
    for (index, item) in items.iter().enumerate() {
        if let Some(first) = seen.insert(item.id_bytes(), index) {
            return Some(DuplicateId {
                id: item.id().to_owned(),
                first,
                second: index,
            });
        }
    }
    None
}

/// Parses a catalogue: one item JSON per line (JSON Lines); blank lines are skipped. The first
/// bad line is an error naming its line; once every line parses, an id used twice is an error
/// naming both lines.
pub fn parse_catalogue(text: &str) -> Result<Vec<Item>, CatalogueError> {
    let mut items = Vec::new();
    let mut lines = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item = Item::from_json(line).map_err(|error| CatalogueError {
            line: line_idx + 1,
            column: error.column,
            message: error.message,
        })?;
        items.push(item);
        lines.push(line_idx + 1);
    }
    if let Some(duplicate) = duplicate_id(&items) {
        let line_of = |index: usize| lines.get(index).copied().unwrap_or_default();
        return Err(CatalogueError {
            line: line_of(duplicate.second),
            column: None,
            message: format!(
                "id `{}` is already used on line {}: ids must be unique",
                duplicate.id,
                line_of(duplicate.first)
            ),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod escape_tests {
    /// The table says what RFC 8259 says a string must escape: `"`, `\` and the controls.
    #[test]
    fn the_escape_table_is_json_s() {
        for byte in 0..=u8::MAX {
            assert_eq!(
                super::needs_json_escape(byte),
                matches!(byte, b'"' | b'\\' | 0..=0x1F),
                "byte {byte:#04x}"
            );
        }
    }

    /// Every byte at every place in texts of up to 20 bytes, over a background of plain
    /// bytes of each kind (below, around and above the bytes that matter), is found where a
    /// byte-by-byte search finds it: a word read whole never misses or misplaces one.
    #[test]
    fn escapes_are_found_eight_bytes_at_a_time_where_one_at_a_time_finds_them() {
        for background in [b'a', b'!', b'#', b' ', b'[', b']', 0x7F, 0x80, 0xFF] {
            for len in 0..=20 {
                for at in 0..len {
                    for byte in 0..=u8::MAX {
                        let mut text = vec![background; len];
                        text[at] = byte;
                        // And a second match later, which must not hide the first.
                        if at + 2 < len {
                            text[at + 2] = b'"';
                        }
                        assert_eq!(
                            super::escape_position(&text),
                            text.iter().position(|b| super::needs_json_escape(*b)),
                            "{text:?}"
                        );
                    }
                }
            }
        }
    }
}
