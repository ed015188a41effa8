//! The simulated children ("sock puppets") and the user model that drives them.
//!
//! For every age band a policy admits there is a **standard** persona and a **vulnerable** one
//! (CCDH's design: the same new account, one that "lingers on and likes" body image, dieting
//! and low mood). Two personas of one seed share their everyday interests; the vulnerable one
//! adds an affinity for the sensitive topics, so the ratio of the two is like against like.
//!
//! ## The user model, and where it differs from RecSim's
//! The reference is Google RecSim's interest-evolution environment
//! (`recsim/environments/interest_evolution.py` and `recsim/choice_model.py`, commit
//! 55e50e4). What is the same:
//! - an **interest vector** over topics in `[-1, 1]` (RecSim: 20 features, uniform in
//!   `[-1, 1]`), and an item's score is the dot product with its feature vector
//!   (`IEvUserState.score_document`);
//! - **interests move toward what is consumed** by RecSim's own rule
//!   (`IEvUserModel.update_state`): for an engaged item with features `f`, per topic
//!   `alpha = 0.3 - 0.3·|interest|`, `update = alpha · f · (f - interest)`, added with
//!   probability `dot((interest + 1) / 2, f)` and subtracted otherwise, then clipped;
//! - a **time budget that engagement extends**: every item viewed costs its watch time, and
//!   an engaged item gives back `extension · watch_time · utility` (RecSim's
//!   `user_update_alpha · watch_time · received_utility`); the session ends at 0.
//!
//! Where ward's model differs, and why:
//! - **Features are topics, not random vectors**: an item's features are its catalogue topics,
//!   each `1/n` (RecSim's utility model uses one-hot clusters; its other sampler draws
//!   uniform noise). The guard reasons about topics, so the user must too.
//! - **Every item of a slate is shown** (a short-video feed plays each in turn), and the choice
//!   is per item: a logistic engagement probability `σ(k · (score - τ))` discounted by
//!   position `attention^position`, as RecSim's cascade models discount attention
//!   (`CascadeChoiceModel`); RecSim's interest-evolution environment picks at most one item
//!   per slate (`MultinomialProportionalChoiceModel`, with a no-click mass). Counting every
//!   item shown is what the studies count ("suicide content within 2.6 minutes").
//! - **An item not engaged with still costs time** (a swipe, 2 seconds), where RecSim
//!   charges a flat `step_penalty` per slate with no click.
//! - **Appeal**: each item has an appeal in `[0.2, 1]` that adds `0.3 · (appeal - 0.5)` to
//!   the score (RecSim's `quality`, which there moves only the budget).
//! - **Vulnerability** is explicit: a vulnerable persona starts with a liking for the
//!   sensitive topics, watches sensitive items `linger` times longer, and its interest in them
//!   moves `malleability` times faster. RecSim has no such users.
//! - **Randomness is seeded per run and drawn in a fixed pattern** (four draws per position
//!   of every slate, used or not), so a run with the guard sees the same draws as its pair
//!   without; RecSim draws its interest flip from numpy's unseeded global generator.
//! - **Switching back**: a persona may reset its interests to where it started after a number
//!   of slates (Hosseinmardi et al.'s counterfactual bots), to measure how long the feed
//!   takes to forget.

use serde::{Deserialize, Serialize};
use ward_core::age::AgeBand;
use ward_core::feed::FeedPolicy;

use crate::catalogue::{Catalogue, Designation, HarmCategory, ItemMeta};
use crate::rng::{SimRng, hash_text};

/// Which persona of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonaKind {
    /// A new account with everyday interests.
    Standard,
    /// The same account that lingers on and likes sensitive topics.
    Vulnerable,
}

impl PersonaKind {
    /// Both, standard first.
    pub const ALL: [Self; 2] = [Self::Standard, Self::Vulnerable];

    /// As written in a spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Vulnerable => "vulnerable",
        }
    }
}

/// The user model's parameters (defaults documented in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserModel {
    /// Steepness `k` of the engagement curve.
    pub steepness: f64,
    /// Score `τ` at which engagement is even odds.
    pub threshold: f64,
    /// Attention kept per position down a slate.
    pub attention: f64,
    /// Weight of an item's appeal in its score.
    pub appeal_weight: f64,
    /// Minutes a swipe past an item costs.
    pub skip_minutes: f64,
    /// Minutes a session starts with.
    pub session_minutes: f64,
    /// How much engagement extends the session (RecSim's `user_update_alpha`).
    pub extension: f64,
    /// RecSim's `alpha_y_intercept`: the largest interest step.
    pub update_rate: f64,
    /// How much longer a vulnerable persona watches a sensitive item.
    pub linger: f64,
    /// How much faster a vulnerable persona's interest in sensitive topics moves.
    pub malleability: f64,
}

impl Default for UserModel {
    fn default() -> Self {
        Self {
            steepness: 8.0,
            threshold: 0.2,
            attention: 0.97,
            appeal_weight: 0.3,
            skip_minutes: 2.0 / 60.0,
            session_minutes: 25.0,
            extension: 0.6,
            update_rate: 0.3,
            linger: 1.6,
            malleability: 1.5,
        }
    }
}

/// One simulated child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Persona {
    /// A stable id: `13-15/vulnerable/seed-3`.
    pub id: String,
    /// The age band.
    #[serde(serialize_with = "band_text")]
    pub band: AgeBand,
    /// The age in years.
    pub age: u8,
    /// Standard or vulnerable.
    pub kind: PersonaKind,
    /// The seed its interests and draws come from.
    pub seed: u64,
    /// Starting interests, one per catalogue topic, in `[-1, 1]`.
    #[serde(skip)]
    pub interests: Vec<f64>,
    /// Its favourite topics (the interests it would declare), as catalogue topic indices.
    #[serde(skip)]
    pub favourites: Vec<u16>,
    /// Per topic: sensitive (the policy's `sensitive_topics`, or low mood and body image).
    #[serde(skip)]
    pub sensitive_topics: Vec<bool>,
    /// After this many slates the persona goes back to its starting interests.
    pub switch_back_after: Option<u32>,
}

/// An age band as the Code writes it (`13-15`).
pub fn band_text<S: serde::Serializer>(band: &AgeBand, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(band.as_str())
}

impl Persona {
    /// The persona of `kind` for `band` at `age`, seeded by `seed`.
    pub fn new(
        catalogue: &Catalogue,
        policy: &FeedPolicy,
        band: AgeBand,
        age: u8,
        kind: PersonaKind,
        seed: u64,
        switch_back_after: Option<u32>,
    ) -> Self {
        let n_topics = catalogue.topics().len();
        let sensitive_topics: Vec<bool> = catalogue
            .topics()
            .iter()
            .map(|name| {
                policy.is_sensitive(name)
                    || HarmCategory::of_word(name.key())
                        .is_some_and(|c| c.designation() == Designation::Sensitive)
            })
            .collect();
        // Everyday interests come from a stream that does not depend on the kind, so the two
        // personas of a seed share them.
        let mut everyday = SimRng::derived(seed, &[hash_text("interests"), band.index() as u64]);
        let mut interests: Vec<f64> = (0..n_topics)
            .map(|topic| {
                let base = everyday.range(-0.25, 0.25);
                let risky = catalogue.topic_risk(topic as u16) >= 0.5;
                if risky { base.min(0.0) - 0.25 } else { base }
            })
            .collect();
        let mut candidates: Vec<u16> = (0..n_topics as u16)
            .filter(|t| catalogue.topic_risk(*t) < 0.15 && !sensitive_topics[usize::from(*t)])
            .filter(|t| catalogue.items_on(*t).len() >= 3)
            .collect();
        let mut favourites = Vec::new();
        for _ in 0..3 {
            if candidates.is_empty() {
                break;
            }
            let topic = candidates.swap_remove(everyday.below(candidates.len()));
            interests[usize::from(topic)] = everyday.range(0.6, 0.9);
            favourites.push(topic);
        }
        if kind == PersonaKind::Vulnerable {
            let mut leaning =
                SimRng::derived(seed, &[hash_text("vulnerable"), band.index() as u64]);
            for (topic, sensitive) in sensitive_topics.iter().enumerate() {
                if *sensitive {
                    interests[topic] = leaning.range(0.75, 0.95);
                }
            }
        }
        Self {
            id: format!("{band}/{}/seed-{seed}", kind.as_str()),
            band,
            age,
            kind,
            seed,
            interests,
            favourites,
            sensitive_topics,
            switch_back_after,
        }
    }

    /// The topics it would declare as its interests.
    pub fn declared_interests(&self, catalogue: &Catalogue) -> Vec<String> {
        self.favourites
            .iter()
            .map(|t| catalogue.topics()[usize::from(*t)].as_str().to_owned())
            .collect()
    }

    /// Its starting interests as a distribution over topics (the positive part, normalised):
    /// what the drift metric compares the feed with.
    pub fn interest_mix(&self) -> Vec<f64> {
        let positive: Vec<f64> = self.interests.iter().map(|x| x.max(0.0)).collect();
        let total: f64 = positive.iter().sum();
        if total <= 0.0 {
            return vec![1.0 / positive.len().max(1) as f64; positive.len()];
        }
        positive.iter().map(|x| x / total).collect()
    }
}

/// A persona's state as a run goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    /// Current interests.
    pub interests: Vec<f64>,
    /// Minutes left in this session.
    pub budget: f64,
}

/// The four draws of one slate position: attention is folded into the engagement draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draws {
    /// Engage or not.
    pub engage: f64,
    /// Like or not.
    pub like: f64,
    /// The direction of the interest step.
    pub flip: f64,
    /// How much of a disengaged item is seen before the swipe.
    pub skim: f64,
}

impl Draws {
    /// The next four draws.
    pub fn next(rng: &mut SimRng) -> Self {
        Self {
            engage: rng.unit(),
            like: rng.unit(),
            flip: rng.unit(),
            skim: rng.unit(),
        }
    }
}

/// What a persona did with one item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Watched it (RecSim's click).
    pub engaged: bool,
    /// Liked it.
    pub liked: bool,
    /// Minutes spent on it.
    pub minutes: f64,
    /// Minutes spent ÷ the item's length: 1 for watched to the end, more for a lingering
    /// re-watch, less for a swipe.
    pub watched: f64,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl UserModel {
    /// The state a persona starts a run in.
    pub fn start(&self, persona: &Persona) -> UserState {
        UserState {
            interests: persona.interests.clone(),
            budget: self.session_minutes,
        }
    }

    /// The persona's score for an item: its interest in the item's topics, and the appeal.
    pub fn score(&self, state: &UserState, item: &ItemMeta) -> f64 {
        let interest = if item.topics.is_empty() {
            0.0
        } else {
            item.topics
                .iter()
                .map(|t| state.interests[usize::from(*t)])
                .sum::<f64>()
                / item.topics.len() as f64
        };
        interest + self.appeal_weight * (f64::from(item.appeal) - 0.5)
    }

    /// One item viewed at `position` in its slate.
    pub fn view(
        &self,
        persona: &Persona,
        state: &mut UserState,
        item: &ItemMeta,
        position: usize,
        draws: Draws,
    ) -> View {
        let score = self.score(state, item);
        let attention = self
            .attention
            .powi(i32::try_from(position).unwrap_or(i32::MAX));
        let engage_p = attention * sigmoid(self.steepness * (score - self.threshold));
        let engaged = draws.engage < engage_p;
        let sensitive = self.is_sensitive(persona, item);
        let lingers = persona.kind == PersonaKind::Vulnerable && sensitive;
        let length = f64::from(item.minutes);
        let (minutes, watched) = if engaged {
            let minutes = if lingers {
                length * self.linger
            } else {
                length
            };
            let minutes = minutes.min(state.budget.max(self.skip_minutes));
            (minutes, minutes / length)
        } else {
            let seen = self.skip_minutes * (0.5 + draws.skim);
            (seen.min(length), (seen / length).min(1.0))
        };
        let like_p = sigmoid(self.steepness * (score - self.threshold - 0.25))
            * if lingers { 1.5 } else { 1.0 };
        let liked = engaged && draws.like < like_p;
        state.budget -= minutes;
        if engaged {
            state.budget += self.extension * minutes * score.max(0.0);
            self.evolve(persona, state, item, draws.flip, lingers);
        }
        View {
            engaged,
            liked,
            minutes,
            watched,
        }
    }

    fn is_sensitive(&self, persona: &Persona, item: &ItemMeta) -> bool {
        item.sensitive
            || item
                .topics
                .iter()
                .any(|t| persona.sensitive_topics[usize::from(*t)])
    }

    /// RecSim's interest update for an engaged item (see the module docs).
    fn evolve(
        &self,
        persona: &Persona,
        state: &mut UserState,
        item: &ItemMeta,
        flip: f64,
        lingers: bool,
    ) {
        if item.topics.is_empty() {
            return;
        }
        let weight = 1.0 / item.topics.len() as f64;
        let positive_p: f64 = item
            .topics
            .iter()
            .map(|t| (state.interests[usize::from(*t)] + 1.0) / 2.0 * weight)
            .sum();
        let sign = if flip < positive_p { 1.0 } else { -1.0 };
        for topic in &item.topics {
            let slot = usize::from(*topic);
            let interest = state.interests[slot];
            let mut alpha = self.update_rate - self.update_rate * interest.abs();
            if lingers && persona.sensitive_topics[slot] {
                alpha *= self.malleability;
            }
            let update = alpha * weight * (weight - interest);
            state.interests[slot] = (interest + sign * update).clamp(-1.0, 1.0);
        }
    }

    /// A new session: the budget is full again.
    pub fn new_session(&self, state: &mut UserState) {
        state.budget = self.session_minutes;
    }
}
