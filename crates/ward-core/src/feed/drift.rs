//! Drift: is the feed taking this child away from what they came for, into a stream of
//! sensitive content? Standard 12's "gradually takes the child away from their original area
//! of interest into other less suitable content".
//!
//! Per child, an **anchor** topic mix (the interests they declared, else the topics of the
//! first [`ANCHOR_ITEMS`] items they were served, sensitive topics left out) is compared with a
//! **window** of the topics of the last `[feed] drift_window` items served. The score is the
//! Jensen–Shannon divergence of the two mixes (base 2, so 0 = the same mix, 1 = nothing in
//! common). Once it passes `drift_threshold` the cap comes into force: an item on a
//! `sensitive_topics` topic is served only while the window's share of such items stays at or
//! under `sensitive_cap` (one at a time is harmless, a stream is not). The cap stays in force
//! until the score is back under the threshold *and* a whole window has been served without the
//! cap having to remove anything: a recommender that keeps pushing keeps being capped.
//!
//! Only items with topics enter the window (notifications and suggested users carry no topic
//! signal, and letting them in would dilute the share). The share counts items: an item with
//! any sensitive topic is one sensitive item.
//!
//! [`DriftState`] is a plain value that goes in and out of `filter`; the caller stores it. It
//! is bounded: at most [`MAX_TOPICS`] named topics (more share one "other" slot), names of at
//! most [`MAX_TOPIC_LEN`] bytes, and a window of at most `drift_window` (≤ 10,000) 8-byte
//! entries. Not for judging single items: see [`super::filter`].

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::FeedPolicy;
use crate::vocab::Name;

/// Named topic slots a drift state holds; further topics share the "other" slot.
pub const MAX_TOPICS: usize = 62;
/// The longest topic name kept by name (longer ones count as "other").
pub const MAX_TOPIC_LEN: usize = 64;
/// Served items (with topics) that form a learned anchor.
pub const ANCHOR_ITEMS: u16 = 20;
/// The largest window a state may hold (the policy's `drift_window` is at most this).
pub const MAX_WINDOW: usize = 10_000;

const OTHER_SLOT: usize = MAX_TOPICS;
const N_SLOTS: usize = MAX_TOPICS + 1;
const SENSITIVE_BIT: u64 = 1 << 63;
const SLOT_BITS: u64 = !SENSITIVE_BIT;
/// Slack for comparing a share with the cap (0.2 × 50 is not exactly 10 in binary).
const EPSILON: f64 = 1e-9;
const STATE_VERSION: u8 = 1;

/// Where a child's anchor comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorSource {
    /// Interests the child (or a parent) declared.
    Declared,
    /// Learned from the first items served.
    Learned,
    /// Still being learned: fewer than [`ANCHOR_ITEMS`] items served so far.
    Learning,
}

/// Why interests or a stored drift state are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriftError {
    /// An empty interest.
    #[error("an interest cannot be empty")]
    EmptyTopic,
    /// A name too long to keep.
    #[error("interest `{topic}` is longer than {max} bytes", max = MAX_TOPIC_LEN)]
    TopicTooLong {
        /// The interest.
        topic: String,
    },
    /// More interests than a state can name.
    #[error("at most {max} interests may be declared, found {found}", max = MAX_TOPICS)]
    TooManyTopics {
        /// How many.
        found: usize,
    },
    /// A stored state that is not one `DriftState` wrote.
    #[error("not a drift state: {0}")]
    Invalid(String),
}

/// The drift part of a feed guard response.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DriftReport {
    /// Jensen–Shannon divergence of the window from the anchor, base 2, 0 to 1.
    pub score: f64,
    /// The policy's `drift_threshold`.
    pub threshold: f64,
    /// The score is past the threshold.
    pub drifted: bool,
    /// The cap on sensitive topics is in force.
    pub capped: bool,
    /// The cap came into force during this call.
    pub flagged: bool,
    /// The cap was lifted at the end of this call (back on topic for a whole window).
    pub released: bool,
    /// Items this call removed to hold the cap.
    pub removed_by_cap: u32,
    /// Share of the window's items on a sensitive topic.
    pub sensitive_share: f64,
    /// The policy's `sensitive_cap`.
    pub sensitive_cap: f64,
    /// Items in the window.
    pub window_items: u32,
    /// The policy's `drift_window`.
    pub drift_window: u32,
    /// Where the anchor comes from.
    pub anchor: AnchorSource,
}

impl DriftReport {
    /// One sentence for people: what the score says and what the guard did about it.
    pub fn message(&self) -> String {
        let state = if self.capped {
            format!(
                "drifted from the child's interests (score {:.2}, threshold {:.2}): sensitive topics capped at {:.0}% of the last {} items{}",
                self.score,
                self.threshold,
                self.sensitive_cap * 100.0,
                self.drift_window,
                match self.removed_by_cap {
                    0 => String::new(),
                    1 => "; 1 item removed to hold the cap".to_owned(),
                    n => format!("; {n} items removed to hold the cap"),
                }
            )
        } else {
            format!(
                "on topic (score {:.2}, threshold {:.2})",
                self.score, self.threshold
            )
        };
        let anchor = match self.anchor {
            AnchorSource::Declared => "declared interests",
            AnchorSource::Learned => "the first items served",
            AnchorSource::Learning => "the first items served (still learning)",
        };
        format!(
            "{state}; {:.0}% of the {} items in the window on sensitive topics; anchor: {anchor}",
            self.sensitive_share * 100.0,
            self.window_items
        )
    }
}

/// What happened to drift during one call.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DriftEvents {
    pub(crate) flagged: bool,
    pub(crate) removed_by_cap: u32,
}

/// One child's drift state (see the module docs). Serialize it to store it; what comes back is
/// checked, and a state that does not check is refused rather than trusted.
#[derive(Debug, Clone)]
pub struct DriftState {
    /// Named topic slots.
    topics: Vec<Name>,
    /// Anchor weight per slot (the last is "other").
    anchor: [u32; N_SLOTS],
    /// Items that contributed to a learned anchor.
    anchor_items: u16,
    /// The anchor is declared interests.
    declared: bool,
    /// Per served item, oldest first: a bit per slot, and the top bit for "sensitive".
    window: VecDeque<u64>,
    /// The cap is in force.
    capped: bool,
    /// Items served since the cap last removed one (or came into force).
    served_since_cap: u32,
    // Derived from the above (rebuilt on load, never stored).
    anchor_total: u64,
    anchor_mask: u64,
    counts: [u32; N_SLOTS],
    present: u64,
    total: u64,
    sensitive_items: u32,
    sensitive_slots: u64,
    score: Option<f64>,
}

impl Default for DriftState {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for DriftState {
    fn eq(&self, other: &Self) -> bool {
        self.topics == other.topics
            && self.anchor == other.anchor
            && self.anchor_items == other.anchor_items
            && self.declared == other.declared
            && self.window == other.window
            && self.capped == other.capped
            && self.served_since_cap == other.served_since_cap
    }
}

impl DriftState {
    /// A fresh state whose anchor will be learned from the first items served.
    pub fn new() -> Self {
        Self {
            topics: Vec::new(),
            anchor: [0; N_SLOTS],
            anchor_items: 0,
            declared: false,
            window: VecDeque::new(),
            capped: false,
            served_since_cap: 0,
            anchor_total: 0,
            anchor_mask: 0,
            counts: [0; N_SLOTS],
            present: 0,
            total: 0,
            sensitive_items: 0,
            sensitive_slots: 0,
            score: None,
        }
    }

    /// A fresh state anchored on declared interests.
    pub fn with_interests<S: AsRef<str>>(interests: &[S]) -> Result<Self, DriftError> {
        let mut state = Self::new();
        state.set_interests(interests)?;
        Ok(state)
    }

    /// Replaces the anchor with declared interests (an empty list goes back to learning from
    /// the items served). The window, and the cap if in force, are kept.
    pub fn set_interests<S: AsRef<str>>(&mut self, interests: &[S]) -> Result<(), DriftError> {
        let mut names: Vec<Name> = Vec::with_capacity(interests.len());
        for interest in interests {
            let text = crate::vocab::trim_blank(interest.as_ref());
            if text.is_empty() {
                return Err(DriftError::EmptyTopic);
            }
            if text.len() > MAX_TOPIC_LEN {
                return Err(DriftError::TopicTooLong {
                    topic: text.to_owned(),
                });
            }
            let name = Name::new(text);
            if !name.is_in(&names) {
                names.push(name);
            }
        }
        if names.len() > MAX_TOPICS {
            return Err(DriftError::TooManyTopics { found: names.len() });
        }
        self.anchor = [0; N_SLOTS];
        self.anchor_total = 0;
        self.anchor_mask = 0;
        self.anchor_items = 0;
        self.declared = !names.is_empty();
        for name in &names {
            // With the anchor cleared, an interest finds a slot unless the window itself uses
            // every one; then it counts as "other", like any topic past the bound.
            let slot = match self.find(name) {
                Some(slot) => slot,
                None => self.insert(name, &[]),
            };
            self.add_anchor(slot, 1);
        }
        self.score = None;
        Ok(())
    }

    /// The divergence of the window from the anchor now (0 with an empty window; 1 when the
    /// window has topics and the anchor none yet).
    pub fn score(&self) -> f64 {
        self.score.unwrap_or_else(|| self.compute_score())
    }

    /// Where the anchor comes from.
    pub fn anchor_source(&self) -> AnchorSource {
        if self.declared {
            AnchorSource::Declared
        } else if self.anchor_items >= ANCHOR_ITEMS {
            AnchorSource::Learned
        } else {
            AnchorSource::Learning
        }
    }

    /// The anchor's named topics (declared interests, or those learned).
    pub fn anchor_topics(&self) -> impl Iterator<Item = &str> + '_ {
        self.topics
            .iter()
            .enumerate()
            .filter(|(slot, _)| self.anchor[*slot] > 0)
            .map(|(_, name)| name.as_str())
    }

    /// True when `topic` is in the anchor.
    pub fn in_anchor(&self, topic: &Name) -> bool {
        self.find(topic).is_some_and(|slot| self.anchor[slot] > 0)
    }

    /// True while the cap on sensitive topics is in force.
    pub fn is_capped(&self) -> bool {
        self.capped
    }

    /// Items in the window.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Share of the window's items on a sensitive topic.
    pub fn sensitive_share(&self) -> f64 {
        if self.window.is_empty() {
            0.0
        } else {
            f64::from(self.sensitive_items) / self.window.len() as f64
        }
    }

    /// The report for this state under `policy`, as a response would give it.
    pub fn report(&self, policy: &FeedPolicy) -> DriftReport {
        self.report_with(policy, self.score(), DriftEvents::default(), false)
    }

    fn report_with(
        &self,
        policy: &FeedPolicy,
        score: f64,
        events: DriftEvents,
        released: bool,
    ) -> DriftReport {
        DriftReport {
            score,
            threshold: policy.drift_threshold,
            drifted: score > policy.drift_threshold,
            capped: self.capped,
            flagged: events.flagged,
            released,
            removed_by_cap: events.removed_by_cap,
            sensitive_share: self.sensitive_share(),
            sensitive_cap: policy.sensitive_cap,
            window_items: u32::try_from(self.window.len()).unwrap_or(u32::MAX),
            drift_window: policy.drift_window,
            anchor: self.anchor_source(),
        }
    }

    /// Before a call: which slots are sensitive under this policy, and a window no longer than
    /// the policy's (it may have been reloaded with a smaller one).
    pub(crate) fn begin(&mut self, policy: &FeedPolicy) {
        self.sensitive_slots = 0;
        for (slot, name) in self.topics.iter().enumerate() {
            if name.is_in(&policy.sensitive) {
                self.sensitive_slots |= 1 << slot;
            }
        }
        let capacity = policy.drift_window as usize;
        while self.window.len() > capacity {
            if let Some(old) = self.window.pop_front() {
                self.uncount(old);
            }
        }
    }

    /// Decides whether an item that passed every other rule may be served, and if so adds it
    /// to the window. `cap_applies` is false for adults (tracked, never capped).
    pub(crate) fn admit(
        &mut self,
        policy: &FeedPolicy,
        topics: &[Name],
        cap_applies: bool,
        events: &mut DriftEvents,
    ) -> bool {
        if topics.is_empty() {
            return true;
        }
        let mask = self.mask_of(topics, &policy.sensitive);
        if cap_applies && mask & SENSITIVE_BIT != 0 {
            if !self.capped && self.cached_score() > policy.drift_threshold {
                self.capped = true;
                self.served_since_cap = 0;
                events.flagged = true;
            }
            if self.capped && self.would_exceed_cap(policy) {
                self.served_since_cap = 0;
                events.removed_by_cap += 1;
                return false;
            }
        }
        self.push(mask, policy.drift_window as usize);
        self.learn(mask);
        self.served_since_cap = self.served_since_cap.saturating_add(1);
        true
    }

    /// After a call: latch the cap if the feed ended drifted, lift it if the child has been
    /// back on topic for a whole window, and report.
    pub(crate) fn finish(
        &mut self,
        policy: &FeedPolicy,
        cap_applies: bool,
        mut events: DriftEvents,
    ) -> DriftReport {
        let score = self.cached_score();
        let mut released = false;
        if cap_applies {
            if !self.capped && score > policy.drift_threshold {
                self.capped = true;
                self.served_since_cap = 0;
                events.flagged = true;
            } else if self.capped
                && score <= policy.drift_threshold
                && self.served_since_cap >= policy.drift_window
            {
                self.capped = false;
                released = true;
            }
        }
        self.report_with(policy, score, events, released)
    }

    fn cached_score(&mut self) -> f64 {
        match self.score {
            Some(score) => score,
            None => {
                let score = self.compute_score();
                self.score = Some(score);
                score
            }
        }
    }

    fn compute_score(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        if self.anchor_total == 0 {
            // Nothing known of the child's interests yet: anything served diverges.
            return 1.0;
        }
        let anchor_total = self.anchor_total as f64;
        let window_total = self.total as f64;
        let mut bits = self.anchor_mask | self.present;
        let mut sum = 0.0;
        while bits != 0 {
            let slot = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let p = f64::from(self.anchor[slot]) / anchor_total;
            let q = f64::from(self.counts[slot]) / window_total;
            let m = 0.5 * (p + q);
            if p > 0.0 {
                sum += p * (p / m).log2();
            }
            if q > 0.0 {
                sum += q * (q / m).log2();
            }
        }
        (0.5 * sum).clamp(0.0, 1.0)
    }

    fn would_exceed_cap(&self, policy: &FeedPolicy) -> bool {
        let capacity = policy.drift_window as usize;
        let full = self.window.len() >= capacity;
        let evicts_sensitive = full
            && self
                .window
                .front()
                .is_some_and(|old| old & SENSITIVE_BIT != 0);
        let len_after = if full {
            capacity
        } else {
            self.window.len() + 1
        };
        let sensitive_after = self.sensitive_items + 1 - u32::from(evicts_sensitive);
        f64::from(sensitive_after) > policy.sensitive_cap * len_after as f64 + EPSILON
    }

    fn mask_of(&mut self, topics: &[Name], sensitive: &[Name]) -> u64 {
        let mut mask = 0;
        for topic in topics {
            let slot = match self.find(topic) {
                Some(slot) => slot,
                None => self.insert(topic, sensitive),
            };
            mask |= 1 << slot;
            let is_sensitive = if slot == OTHER_SLOT {
                topic.is_in(sensitive)
            } else {
                self.sensitive_slots & (1 << slot) != 0
            };
            if is_sensitive {
                mask |= SENSITIVE_BIT;
            }
        }
        mask
    }

    /// The slot of `topic`, spelt any way ward takes as the same (`Body Image` is
    /// `body_image`).
    fn find(&self, topic: &Name) -> Option<usize> {
        self.topics.iter().position(|name| name == topic)
    }

    /// Gives `topic` a slot: a free one, else one neither the anchor nor the window uses, else
    /// "other".
    fn insert(&mut self, topic: &Name, sensitive: &[Name]) -> usize {
        if topic.as_str().len() > MAX_TOPIC_LEN {
            return OTHER_SLOT;
        }
        let slot = if self.topics.len() < MAX_TOPICS {
            self.topics.push(topic.clone());
            self.topics.len() - 1
        } else {
            match (0..MAX_TOPICS).find(|slot| self.anchor[*slot] == 0 && self.counts[*slot] == 0) {
                Some(slot) => {
                    self.topics[slot] = topic.clone();
                    slot
                }
                None => return OTHER_SLOT,
            }
        };
        if topic.is_in(sensitive) {
            self.sensitive_slots |= 1 << slot;
        } else {
            self.sensitive_slots &= !(1 << slot);
        }
        slot
    }

    fn push(&mut self, mask: u64, capacity: usize) {
        while self.window.len() >= capacity.max(1) {
            match self.window.pop_front() {
                Some(old) => self.uncount(old),
                None => break,
            }
        }
        self.window.push_back(mask);
        self.count(mask);
    }

    fn count(&mut self, mask: u64) {
        let mut bits = mask & SLOT_BITS;
        while bits != 0 {
            let slot = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.counts[slot] += 1;
            self.present |= 1 << slot;
            self.total += 1;
        }
        if mask & SENSITIVE_BIT != 0 {
            self.sensitive_items += 1;
        }
        self.score = None;
    }

    fn uncount(&mut self, mask: u64) {
        let mut bits = mask & SLOT_BITS;
        while bits != 0 {
            let slot = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.counts[slot] = self.counts[slot].saturating_sub(1);
            if self.counts[slot] == 0 {
                self.present &= !(1 << slot);
            }
            self.total = self.total.saturating_sub(1);
        }
        if mask & SENSITIVE_BIT != 0 {
            self.sensitive_items = self.sensitive_items.saturating_sub(1);
        }
        self.score = None;
    }

    /// A learned anchor takes the non-sensitive topics of the first items served: a feed that
    /// opens on sensitive content must not make it the child's "original interest".
    fn learn(&mut self, mask: u64) {
        if self.declared || self.anchor_items >= ANCHOR_ITEMS {
            return;
        }
        let mut bits = mask & SLOT_BITS & !self.sensitive_slots;
        if mask & SENSITIVE_BIT != 0 {
            bits &= !(1 << OTHER_SLOT);
        }
        if bits == 0 {
            return;
        }
        while bits != 0 {
            let slot = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.add_anchor(slot, 1);
        }
        self.anchor_items += 1;
        self.score = None;
    }

    fn add_anchor(&mut self, slot: usize, weight: u32) {
        self.anchor[slot] = self.anchor[slot].saturating_add(weight);
        self.anchor_total += u64::from(weight);
        self.anchor_mask |= 1 << slot;
    }
}

/// The stored form: names, anchor weights as `[slot, weight]` pairs (slot 62 is "other"), and
/// the window as one number per item (bit n = slot n, bit 63 = sensitive).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftRepr<T> {
    version: u8,
    topics: Vec<T>,
    anchor: Vec<(u8, u32)>,
    anchor_items: u16,
    declared: bool,
    window: VecDeque<u64>,
    capped: bool,
    served_since_cap: u32,
}

impl Serialize for DriftState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            version: u8,
            topics: &'a [Name],
            anchor: Vec<(u8, u32)>,
            anchor_items: u16,
            declared: bool,
            window: &'a VecDeque<u64>,
            capped: bool,
            served_since_cap: u32,
        }
        Borrowed {
            version: STATE_VERSION,
            topics: &self.topics,
            anchor: self
                .anchor
                .iter()
                .enumerate()
                .filter(|(_, weight)| **weight > 0)
                .map(|(slot, weight)| (slot as u8, *weight))
                .collect(),
            anchor_items: self.anchor_items,
            declared: self.declared,
            window: &self.window,
            capped: self.capped,
            served_since_cap: self.served_since_cap,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DriftState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = DriftRepr::<String>::deserialize(deserializer)?;
        Self::from_repr(repr).map_err(serde::de::Error::custom)
    }
}

impl DriftState {
    fn from_repr(repr: DriftRepr<String>) -> Result<Self, DriftError> {
        let invalid = |message: &str| DriftError::Invalid(message.to_owned());
        if repr.version != STATE_VERSION {
            return Err(DriftError::Invalid(format!(
                "version {} is not {STATE_VERSION}",
                repr.version
            )));
        }
        if repr.topics.len() > MAX_TOPICS {
            return Err(invalid("too many topics"));
        }
        let mut state = Self::new();
        // Where each stored slot goes. A state written before names were normalised may hold
        // two spellings of one topic (`Football`, `football`) in two slots: they become one.
        let mut slot_of: Vec<usize> = Vec::with_capacity(repr.topics.len());
        for text in &repr.topics {
            if text.is_empty() || text.len() > MAX_TOPIC_LEN {
                return Err(invalid("a topic is empty or too long"));
            }
            let name = Name::new(text);
            match state.find(&name) {
                Some(slot) if state.topics[slot].as_str() == text => {
                    return Err(invalid("a topic is listed twice"));
                }
                Some(slot) => slot_of.push(slot),
                None => {
                    state.topics.push(name);
                    slot_of.push(state.topics.len() - 1);
                }
            }
        }
        let n_stored = slot_of.len();
        let remap = |slot: usize| {
            if slot == OTHER_SLOT {
                OTHER_SLOT
            } else {
                slot_of.get(slot).copied().unwrap_or(OTHER_SLOT)
            }
        };
        for (slot, weight) in repr.anchor {
            let slot = usize::from(slot);
            if slot >= n_stored && slot != OTHER_SLOT {
                return Err(invalid("an anchor weight names no topic"));
            }
            state.add_anchor(remap(slot), weight);
        }
        if repr.window.len() > MAX_WINDOW {
            return Err(invalid("the window is longer than any policy allows"));
        }
        let known_slots = ((1u64 << n_stored) - 1) | (1 << OTHER_SLOT) | SENSITIVE_BIT;
        for mask in &repr.window {
            if mask & !known_slots != 0 {
                return Err(invalid("a window entry names no topic"));
            }
        }
        let mut window = VecDeque::with_capacity(repr.window.len());
        for stored in repr.window {
            let mut mask = stored & SENSITIVE_BIT;
            let mut bits = stored & SLOT_BITS;
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                mask |= 1 << remap(slot);
            }
            state.count(mask);
            window.push_back(mask);
        }
        state.window = window;
        state.anchor_items = repr.anchor_items;
        state.declared = repr.declared;
        state.capped = repr.capped;
        state.served_since_cap = repr.served_since_cap;
        state.score = None;
        Ok(state)
    }
}
