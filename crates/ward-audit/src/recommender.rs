//! The recommenders under test, behind one trait: [`Recommender::rank`] takes a persona's
//! history and answers ranked item indices. Four references are built in, fitted on a seeded
//! background population ([`Background`]) so that none has seen the personas:
//! - [`Popularity`]: the most consumed items, minus what the persona has seen;
//! - [`ItemKnn`]: item-based collaborative filtering with cosine similarity over the
//!   background's co-consumption, scored from the persona's recent engagements;
//! - [`MatrixFactorisation`]: implicit-feedback matrix factorisation (`discorec`'s conjugate
//!   gradient, seeded), with the persona folded in from its history at every request (one
//!   least-squares step over the fixed item factors: the persona is never a training user);
//! - [`EngagementMax`]: ranks by predicted engagement from the topics the persona watched and
//!   liked, the design the studies found pulling children into rabbit holes.
//!
//! A service's own recommender plugs in through the HTTP protocol, whose adapter lives in the
//! `ward` binary (the edge). Recommenders are pure functions of the request: the same
//! history gives the same ranking, which paired runs rely on.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ward_core::age::AgeBand;

use crate::catalogue::Catalogue;
use crate::rng::{SimRng, hash_text, mix};

/// One item a persona was shown, as a recommender learns of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// The item's index in the catalogue.
    pub item: u32,
    /// Time spent on it ÷ its length: 1 watched to the end, above 1 re-watched, below 1
    /// swiped past.
    pub watched: f32,
    /// Liked.
    pub liked: bool,
}

/// What a recommender is asked.
#[derive(Debug, Clone, Copy)]
pub struct RankRequest<'a> {
    /// The persona's id.
    pub persona: &'a str,
    /// Its age.
    pub age: u8,
    /// Its age band.
    pub band: AgeBand,
    /// Everything it was shown, oldest first.
    pub history: &'a [Interaction],
    /// How many items to rank.
    pub count: usize,
    /// Which slate this is (from 0).
    pub slate: u32,
}

/// A recommender that could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecommenderError(pub String);

/// A recommender under test.
pub trait Recommender: Sync {
    /// Its name in the report.
    fn name(&self) -> &str;

    /// Writes up to `request.count` content item indices into `out` (cleared first), best
    /// first. Duplicates and items that are not content are dropped by the caller.
    fn rank(&self, request: &RankRequest<'_>, out: &mut Vec<u32>) -> Result<(), RecommenderError>;
}

/// The built-in recommenders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// [`EngagementMax`].
    Engagement,
    /// [`Popularity`].
    Popularity,
    /// [`ItemKnn`].
    ItemKnn,
    /// [`MatrixFactorisation`].
    MatrixFactorisation,
}

impl Builtin {
    /// Every built-in, the rabbit hole first.
    pub const ALL: [Self; 4] = [
        Self::Engagement,
        Self::Popularity,
        Self::ItemKnn,
        Self::MatrixFactorisation,
    ];

    /// As written in a spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Engagement => "engagement",
            Self::Popularity => "popularity",
            Self::ItemKnn => "item_knn",
            Self::MatrixFactorisation => "matrix_factorisation",
        }
    }

    /// Builds it for a catalogue.
    pub fn build(self, catalogue: &Catalogue, background: &Background) -> Box<dyn Recommender> {
        match self {
            Self::Engagement => Box::new(EngagementMax::new(catalogue, background)),
            Self::Popularity => Box::new(Popularity::new(background)),
            Self::ItemKnn => Box::new(ItemKnn::new(catalogue, background)),
            Self::MatrixFactorisation => Box::new(MatrixFactorisation::new(catalogue, background)),
        }
    }
}

/// A seeded population of other users and what they consumed, which the collaborative
/// recommenders are fitted on: each has two to four favourite topics (a few lean towards
/// the riskier ones) and consumes items on them, weighted by appeal.
#[derive(Debug, Clone)]
pub struct Background {
    /// Per user, the items consumed.
    pub users: Vec<Vec<u32>>,
    /// Content items by consumption, most first (ties: appeal, then index).
    pub popular: Vec<u32>,
    /// Consumption count per catalogue item.
    pub counts: Vec<u32>,
}

impl Background {
    /// `n_users` users of `per_user` items each, seeded.
    pub fn new(catalogue: &Catalogue, seed: u64, n_users: usize, per_user: usize) -> Self {
        let mut counts = vec![0u32; catalogue.len()];
        let mut users = Vec::with_capacity(n_users);
        for user in 0..n_users {
            let mut rng = SimRng::derived(seed, &[hash_text("background"), user as u64]);
            // Topics are chosen through a random item, so a topic is as likely as its share
            // of the catalogue: a small topic's items are not made popular by its size.
            let content = catalogue.content();
            let topic_of = |rng: &mut SimRng| -> Option<u16> {
                let item = content[rng.below(content.len())];
                let topics = &catalogue.meta(item).topics;
                (!topics.is_empty()).then(|| topics[rng.below(topics.len())])
            };
            let n_fav = 2 + rng.below(3);
            let mut favourites: Vec<u16> = Vec::with_capacity(n_fav);
            for _ in 0..n_fav {
                let Some(mut topic) = topic_of(&mut rng) else {
                    continue;
                };
                // Most people stay away from the riskiest topics; a few do not.
                if catalogue.topic_risk(topic) >= 0.5
                    && !rng.chance(0.25)
                    && let Some(other) = topic_of(&mut rng)
                {
                    topic = other;
                }
                favourites.push(topic);
            }
            let mut items = Vec::with_capacity(per_user);
            for _ in 0..per_user {
                let item = if rng.chance(0.85) && !favourites.is_empty() {
                    let list = catalogue.items_on(favourites[rng.below(favourites.len())]);
                    if list.is_empty() {
                        continue;
                    }
                    // Appeal-weighted: the list is sorted by appeal, so favour its head.
                    let pos = ((rng.unit() * rng.unit()) * list.len() as f64) as usize;
                    list[pos.min(list.len() - 1)]
                } else {
                    content[rng.below(content.len())]
                };
                if !items.contains(&item) {
                    items.push(item);
                    counts[item as usize] += 1;
                }
            }
            users.push(items);
        }
        let mut popular: Vec<u32> = catalogue.content().to_vec();
        popular.sort_by(|a, b| {
            counts[*b as usize]
                .cmp(&counts[*a as usize])
                .then(
                    catalogue
                        .meta(*b)
                        .appeal
                        .total_cmp(&catalogue.meta(*a).appeal),
                )
                .then(a.cmp(b))
        });
        Self {
            users,
            popular,
            counts,
        }
    }
}

/// Items a persona has been shown, as bits.
struct Seen(Vec<u64>);

impl Seen {
    fn new(n_items: usize, history: &[Interaction]) -> Self {
        let mut bits = vec![0u64; n_items.div_ceil(64)];
        for interaction in history {
            if let Some(word) = bits.get_mut(interaction.item as usize / 64) {
                *word |= 1 << (interaction.item % 64);
            }
        }
        Self(bits)
    }

    fn contains(&self, item: u32) -> bool {
        self.0
            .get(item as usize / 64)
            .is_some_and(|word| word & (1 << (item % 64)) != 0)
    }

    fn insert(&mut self, item: u32) {
        if let Some(word) = self.0.get_mut(item as usize / 64) {
            *word |= 1 << (item % 64);
        }
    }
}

/// Appends unseen items of `order` to `out` until it holds `count`.
fn fill_from(order: &[u32], seen: &mut Seen, count: usize, out: &mut Vec<u32>) {
    for item in order {
        if out.len() >= count {
            return;
        }
        if !seen.contains(*item) {
            seen.insert(*item);
            out.push(*item);
        }
    }
}

/// The most consumed items.
#[derive(Debug, Clone)]
pub struct Popularity {
    order: Vec<u32>,
    n_items: usize,
}

impl Popularity {
    /// Fitted on `background`.
    pub fn new(background: &Background) -> Self {
        Self {
            order: background.popular.clone(),
            n_items: background.counts.len(),
        }
    }
}

impl Recommender for Popularity {
    fn name(&self) -> &str {
        Builtin::Popularity.as_str()
    }

    fn rank(&self, request: &RankRequest<'_>, out: &mut Vec<u32>) -> Result<(), RecommenderError> {
        out.clear();
        let mut seen = Seen::new(self.n_items, request.history);
        fill_from(&self.order, &mut seen, request.count, out);
        Ok(())
    }
}

/// Item-based k-nearest neighbours, cosine similarity of co-consumption.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    /// Per item, its neighbours and their similarity, most similar first.
    neighbours: Vec<Vec<(u32, f32)>>,
    popular: Vec<u32>,
    n_items: usize,
}

/// Neighbours kept per item.
const KNN_NEIGHBOURS: usize = 40;
/// Recent engagements a kNN or engagement ranking looks back over.
const RECENT: usize = 60;

impl ItemKnn {
    /// Fitted on `background`.
    pub fn new(catalogue: &Catalogue, background: &Background) -> Self {
        let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
        for items in &background.users {
            for (i, a) in items.iter().enumerate() {
                for b in &items[i + 1..] {
                    let key = if a < b { (*a, *b) } else { (*b, *a) };
                    *pairs.entry(key).or_default() += 1;
                }
            }
        }
        let mut neighbours: Vec<Vec<(u32, f32)>> = vec![Vec::new(); catalogue.len()];
        let mut sorted: Vec<((u32, u32), u32)> = pairs.into_iter().collect();
        // INVARIANT: a HashMap's order is random; sort so the fit is the same every run.
        sorted.sort_unstable();
        for ((a, b), together) in sorted {
            let norm = (f64::from(background.counts[a as usize])
                * f64::from(background.counts[b as usize]))
            .sqrt();
            let similarity = (f64::from(together) / norm.max(1.0)) as f32;
            neighbours[a as usize].push((b, similarity));
            neighbours[b as usize].push((a, similarity));
        }
        for list in &mut neighbours {
            list.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            list.truncate(KNN_NEIGHBOURS);
        }
        Self {
            neighbours,
            popular: background.popular.clone(),
            n_items: catalogue.len(),
        }
    }
}

/// How much a persona's interaction says it wants more like it.
fn signal(interaction: &Interaction) -> f32 {
    interaction.watched + if interaction.liked { 0.6 } else { 0.0 } - 0.25
}

impl Recommender for ItemKnn {
    fn name(&self) -> &str {
        Builtin::ItemKnn.as_str()
    }

    fn rank(&self, request: &RankRequest<'_>, out: &mut Vec<u32>) -> Result<(), RecommenderError> {
        out.clear();
        let mut seen = Seen::new(self.n_items, request.history);
        let mut scores: HashMap<u32, f32> = HashMap::new();
        let mut decay = 1.0f32;
        for interaction in request.history.iter().rev().take(RECENT) {
            let weight = signal(interaction) * decay;
            decay *= 0.97;
            if weight <= 0.0 {
                continue;
            }
            if let Some(list) = self.neighbours.get(interaction.item as usize) {
                for (neighbour, similarity) in list {
                    if !seen.contains(*neighbour) {
                        *scores.entry(*neighbour).or_default() += weight * similarity;
                    }
                }
            }
        }
        let mut ranked: Vec<(u32, f32)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (item, _) in ranked.into_iter().take(request.count) {
            seen.insert(item);
            out.push(item);
        }
        fill_from(&self.popular, &mut seen, request.count, out);
        Ok(())
    }
}

/// Implicit matrix factorisation (`discorec`), the persona folded in per request.
#[derive(Debug, Clone)]
pub struct MatrixFactorisation {
    factors: usize,
    /// Item factors, `factors` per catalogue item (zeros for items nobody consumed).
    item_factors: Vec<f32>,
    /// `YᵀY`, row-major.
    gram: Vec<f64>,
    content: Vec<u32>,
    popular: Vec<u32>,
    n_items: usize,
}

const MF_FACTORS: usize = 16;
const MF_REGULARISATION: f64 = 0.1;
const MF_CONFIDENCE: f64 = 20.0;

impl MatrixFactorisation {
    /// Fitted on `background` (16 factors, 15 iterations, seeded).
    pub fn new(catalogue: &Catalogue, background: &Background) -> Self {
        let data: Vec<(u32, u32, f32)> = (0u32..)
            .zip(&background.users)
            .flat_map(|(user, items)| items.iter().map(move |item| (user, *item, 1.0)))
            .collect();
        let model = discorec::RecommenderBuilder::new()
            .factors(MF_FACTORS as u32)
            .iterations(15)
            .seed(mix(1, &[hash_text("matrix_factorisation")]))
            .fit_implicit(&data);
        let mut item_factors = vec![0.0f32; catalogue.len() * MF_FACTORS];
        for item in 0..catalogue.len() as u32 {
            if let Some(row) = model.item_factors(&item) {
                let at = item as usize * MF_FACTORS;
                item_factors[at..at + MF_FACTORS].copy_from_slice(&row[..MF_FACTORS]);
            }
        }
        let mut gram = vec![0.0f64; MF_FACTORS * MF_FACTORS];
        for row in item_factors.chunks_exact(MF_FACTORS) {
            for i in 0..MF_FACTORS {
                for j in 0..MF_FACTORS {
                    gram[i * MF_FACTORS + j] += f64::from(row[i]) * f64::from(row[j]);
                }
            }
        }
        Self {
            factors: MF_FACTORS,
            item_factors,
            gram,
            content: catalogue.content().to_vec(),
            popular: background.popular.clone(),
            n_items: catalogue.len(),
        }
    }

    fn row(&self, item: u32) -> &[f32] {
        let at = item as usize * self.factors;
        &self.item_factors[at..at + self.factors]
    }

    /// The implicit-ALS fold-in: `(YᵀY + Yᵀ(C−I)Y + λI) u = YᵀC p` over the history.
    fn fold_in(&self, history: &[Interaction]) -> Option<Vec<f64>> {
        let k = self.factors;
        let mut a = self.gram.clone();
        for i in 0..k {
            a[i * k + i] += MF_REGULARISATION;
        }
        let mut b = vec![0.0f64; k];
        let mut any = false;
        for interaction in history {
            let preference = f64::from(signal(interaction));
            if preference <= 0.0 {
                continue;
            }
            any = true;
            let confidence = 1.0 + MF_CONFIDENCE * preference;
            let y = self.row(interaction.item);
            for i in 0..k {
                let yi = f64::from(y[i]);
                b[i] += confidence * yi;
                for j in 0..k {
                    a[i * k + j] += (confidence - 1.0) * yi * f64::from(y[j]);
                }
            }
        }
        if !any {
            return None;
        }
        cholesky_solve(&mut a, &mut b, k).then_some(b)
    }
}

/// Solves `a x = b` for a symmetric positive-definite `a` (`k`×`k`, row-major) in place: `b`
/// becomes `x`. False when `a` is not positive definite.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut diagonal = a[j * k + j];
        for p in 0..j {
            diagonal -= a[j * k + p] * a[j * k + p];
        }
        if diagonal <= 0.0 {
            return false;
        }
        let diagonal = diagonal.sqrt();
        a[j * k + j] = diagonal;
        for i in j + 1..k {
            let mut value = a[i * k + j];
            for p in 0..j {
                value -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = value / diagonal;
        }
    }
    for i in 0..k {
        let mut value = b[i];
        for p in 0..i {
            value -= a[i * k + p] * b[p];
        }
        b[i] = value / a[i * k + i];
    }
    for i in (0..k).rev() {
        let mut value = b[i];
        for p in i + 1..k {
            value -= a[p * k + i] * b[p];
        }
        b[i] = value / a[i * k + i];
    }
    true
}

impl Recommender for MatrixFactorisation {
    fn name(&self) -> &str {
        Builtin::MatrixFactorisation.as_str()
    }

    fn rank(&self, request: &RankRequest<'_>, out: &mut Vec<u32>) -> Result<(), RecommenderError> {
        out.clear();
        let mut seen = Seen::new(self.n_items, request.history);
        if let Some(user) = self.fold_in(request.history) {
            let mut scored: Vec<(f64, u32)> = self
                .content
                .iter()
                .filter(|item| !seen.contains(**item))
                .map(|item| {
                    let score: f64 = self
                        .row(*item)
                        .iter()
                        .zip(&user)
                        .map(|(y, u)| f64::from(*y) * u)
                        .sum();
                    (score, *item)
                })
                .collect();
            let by_score = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if scored.len() > request.count && request.count > 0 {
                scored.select_nth_unstable_by(request.count - 1, by_score);
                scored.truncate(request.count);
            }
            scored.sort_by(by_score);
            for (_, item) in scored {
                seen.insert(item);
                out.push(item);
            }
        }
        fill_from(&self.popular, &mut seen, request.count, out);
        Ok(())
    }
}

/// Ranks by predicted engagement: the topics the persona watched and liked most recently,
/// their most appealing items first, with a little exploration. What the studies describe.
#[derive(Debug, Clone)]
pub struct EngagementMax {
    /// Per item, its topics.
    topics: Vec<Box<[u16]>>,
    appeal: Vec<f32>,
    /// Per topic, content most appealing first.
    by_topic: Vec<Vec<u32>>,
    content: Vec<u32>,
    popular: Vec<u32>,
    n_items: usize,
}

/// Share of a ranking given to exploration.
const EXPLORE: f64 = 0.1;

impl EngagementMax {
    /// For a catalogue; `background` gives the cold start (popular items).
    pub fn new(catalogue: &Catalogue, background: &Background) -> Self {
        Self {
            topics: catalogue.metas().iter().map(|m| m.topics.clone()).collect(),
            appeal: catalogue.metas().iter().map(|m| m.appeal).collect(),
            by_topic: (0..catalogue.topics().len() as u16)
                .map(|t| catalogue.items_on(t).to_vec())
                .collect(),
            content: catalogue.content().to_vec(),
            popular: background.popular.clone(),
            n_items: catalogue.len(),
        }
    }

    fn predicted(&self, affinity: &[f32], item: u32) -> f32 {
        let topics = &self.topics[item as usize];
        let interest: f32 = if topics.is_empty() {
            0.0
        } else {
            topics
                .iter()
                .map(|t| affinity[usize::from(*t)])
                .sum::<f32>()
                / topics.len() as f32
        };
        interest + 0.15 * self.appeal[item as usize]
    }
}

impl Recommender for EngagementMax {
    fn name(&self) -> &str {
        Builtin::Engagement.as_str()
    }

    fn rank(&self, request: &RankRequest<'_>, out: &mut Vec<u32>) -> Result<(), RecommenderError> {
        out.clear();
        let mut seen = Seen::new(self.n_items, request.history);
        // Engagement per impression, per topic, over the recent history: what an
        // engagement-optimiser learns. Shrunk towards 0 by two unseen impressions, so one
        // lucky item does not make a topic.
        let mut engagement = vec![0.0f32; self.by_topic.len()];
        let mut impressions = vec![0.0f32; self.by_topic.len()];
        let mut decay = 1.0f32;
        for interaction in request.history.iter().rev().take(RECENT) {
            let weight = decay;
            decay *= 0.97;
            if let Some(topics) = self.topics.get(interaction.item as usize) {
                for topic in topics.iter() {
                    let share = weight / topics.len() as f32;
                    engagement[usize::from(*topic)] += share * signal(interaction);
                    impressions[usize::from(*topic)] += share;
                }
            }
        }
        let affinity: Vec<f32> = engagement
            .iter()
            .zip(&impressions)
            .map(|(e, n)| e / (n + 2.0))
            .collect();
        let mut top_topics: Vec<(f32, usize)> = affinity
            .iter()
            .enumerate()
            .filter(|(_, a)| **a > 0.0)
            .map(|(t, a)| (*a, t))
            .collect();
        top_topics.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        top_topics.truncate(4);
        let exploit = request.count - (request.count as f64 * EXPLORE).round() as usize;
        let mut candidates: Vec<u32> = Vec::with_capacity(request.count * 6);
        let mut marked = Seen(seen.0.clone());
        for (_, topic) in &top_topics {
            let mut taken = 0;
            for item in &self.by_topic[*topic] {
                if taken >= 2 * request.count {
                    break;
                }
                if !marked.contains(*item) {
                    marked.insert(*item);
                    candidates.push(*item);
                    taken += 1;
                }
            }
        }
        fill_from(
            &self.popular,
            &mut marked,
            candidates.len() + request.count,
            &mut candidates,
        );
        let mut scored: Vec<(f32, u32)> = candidates
            .into_iter()
            .map(|item| (self.predicted(&affinity, item), item))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, item) in scored.into_iter().take(exploit) {
            seen.insert(item);
            out.push(item);
        }
        // Exploration: random content, from a stream fixed by the persona and the slate.
        let mut rng = SimRng::derived(
            hash_text(request.persona),
            &[u64::from(request.slate), request.history.len() as u64],
        );
        let mut tries = 0;
        while out.len() < request.count && tries < 8 * request.count {
            tries += 1;
            let item = self.content[rng.below(self.content.len())];
            if !seen.contains(item) {
                seen.insert(item);
                // Interleave: an explored item goes somewhere in the slate-sized head.
                let at = rng.below(out.len().min(10) + 1);
                out.insert(at, item);
            }
        }
        fill_from(&self.popular, &mut seen, request.count, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        assert!(cholesky_solve(&mut a, &mut b, 2));
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        let mut singular = vec![0.0, 0.0, 0.0, 0.0];
        assert!(!cholesky_solve(&mut singular, &mut [1.0, 1.0], 2));
    }
}
