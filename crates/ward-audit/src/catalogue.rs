//! The items a recommender picks from: a generated, seeded catalogue, or any JSONL catalogue in
//! ward's item format (`RUNTIME.md`, as `ward feed` reads it), so a service audits its own.
//!
//! Both go one way: text → [`ward_core::feed::parse_catalogue`] → [`Catalogue`], so the guard
//! judges exactly the items a service would send, and the generated catalogue is a JSONL text
//! like any other (written out with the report, hashed in it). Each item is read once more into
//! [`ItemMeta`], what the simulation needs: topic indices, the harm category in Ofcom's terms
//! ([`HarmCategory`]), whether the policy counts it sensitive, a length and an appeal.
//!
//! Ofcom's children's-risk categories (Protection of Children Codes, 2025) are read from ward's
//! harm tags and topics: *primary priority* content (pornography, suicide, self-harm, eating
//! disorders), *priority* content (abuse and hate, bullying, violence, harmful substances,
//! dangerous stunts) and content that is *sensitive but not designated* (low mood, body
//! image). ward has no harm tag for bullying: the catalogue tags it `bullying`, a word the guard
//! does not know, so it is caught (for children, by default) as unassessed, not as harm.
//!
//! Not for judging items: that is the guard's ([`ward_core::feed::filter`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::feed::{FeedPolicy, HarmTag, Item, ItemKind, Name, parse_catalogue};

use crate::rng::{SimRng, hash_text};

/// How Ofcom designates a kind of content harmful to children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Designation {
    /// Primary priority content: children must be prevented from encountering it.
    PrimaryPriority,
    /// Priority content: children must be protected from it.
    Priority,
    /// Not designated, but harmful in a stream (Ofcom's "non-designated content"; the Code's
    /// "less suitable content").
    Sensitive,
}

impl Designation {
    /// Every designation, most serious first.
    pub const ALL: [Self; 3] = [Self::PrimaryPriority, Self::Priority, Self::Sensitive];

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Self::PrimaryPriority => "primary priority",
            Self::Priority => "priority",
            Self::Sensitive => "sensitive (not designated)",
        }
    }
}

macro_rules! categories {
    ($($variant:ident = $code:literal, $label:literal, $designation:ident;)+) => {
        /// A kind of content harmful to children, as Ofcom names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum HarmCategory {
            $(
                #[doc = $label]
                #[serde(rename = $code)]
                $variant
            ),+
        }

        impl HarmCategory {
            /// Every category, primary priority first.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// A stable snake_case code.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// For people.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            /// Ofcom's designation.
            pub fn designation(self) -> Designation {
                match self { $(Self::$variant => Designation::$designation),+ }
            }
        }
    };
}

categories! {
    Pornography = "pornography", "pornography", PrimaryPriority;
    Suicide = "suicide", "suicide", PrimaryPriority;
    SelfHarm = "self_harm", "self-harm", PrimaryPriority;
    EatingDisorder = "eating_disorder", "eating disorders", PrimaryPriority;
    AbuseAndHate = "abuse_and_hate", "abuse and hate", Priority;
    Bullying = "bullying", "bullying", Priority;
    Violence = "violence", "violence", Priority;
    HarmfulSubstances = "harmful_substances", "harmful substances", Priority;
    DangerousStunts = "dangerous_stunts", "dangerous stunts and challenges", Priority;
    LowMood = "low_mood", "low mood", Sensitive;
    BodyImage = "body_image", "body image", Sensitive;
}

impl HarmCategory {
    /// Primary priority or priority content: what "harmful" counts in the metrics.
    pub fn is_harmful(self) -> bool {
        self.designation() != Designation::Sensitive
    }

    /// The category a harm tag names, when Ofcom designates it (gambling is ward's, not
    /// Ofcom's: removed by the guard, not counted here).
    pub fn of_harm_tag(tag: HarmTag) -> Option<Self> {
        Some(match tag {
            HarmTag::Pornography | HarmTag::Sexual => Self::Pornography,
            HarmTag::Suicide => Self::Suicide,
            HarmTag::SelfHarm => Self::SelfHarm,
            HarmTag::EatingDisorder => Self::EatingDisorder,
            HarmTag::Hate => Self::AbuseAndHate,
            HarmTag::GraphicViolence | HarmTag::Weapons => Self::Violence,
            HarmTag::Drugs | HarmTag::Alcohol => Self::HarmfulSubstances,
            HarmTag::DangerousChallenge => Self::DangerousStunts,
            HarmTag::Gambling => return None,
        })
    }

    /// The category a plain tag or topic names, for the words ward's harm tags lack
    /// (`bullying`) and the sensitive topics (`low_mood`, `body_image`).
    pub fn of_word(key: &str) -> Option<Self> {
        Some(match key {
            "bullying" | "cyberbullying" => Self::Bullying,
            "abuse" => Self::AbuseAndHate,
            "low_mood" | "mental_health" | "depression" | "sadness" => Self::LowMood,
            "body_image" | "dieting" | "weight_loss" | "self_image" => Self::BodyImage,
            _ => return None,
        })
    }
}

/// What the simulation knows of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemMeta {
    /// Indices into [`Catalogue::topics`].
    pub topics: Box<[u16]>,
    /// The most serious harm category it falls in.
    pub category: Option<HarmCategory>,
    /// On one of the policy's `sensitive_topics`.
    pub sensitive: bool,
    /// How long it plays, in minutes (from a hash of its id: stable for any catalogue).
    pub minutes: f32,
    /// How appealing it is whatever the viewer's interests, 0 to 1 (from a hash of its id).
    pub appeal: f32,
    /// What it is.
    pub kind: ItemKind,
}

impl ItemMeta {
    /// True for primary priority or priority content.
    pub fn is_harmful(&self) -> bool {
        self.category.is_some_and(HarmCategory::is_harmful)
    }

    /// True for primary priority content.
    pub fn is_primary_priority(&self) -> bool {
        self.category
            .is_some_and(|c| c.designation() == Designation::PrimaryPriority)
    }
}

/// A catalogue, read once.
#[derive(Debug, Clone)]
pub struct Catalogue {
    items: Vec<Item>,
    meta: Vec<ItemMeta>,
    topics: Vec<Name>,
    /// Content items (video, post, ad) per topic, most appealing first.
    by_topic: Vec<Vec<u32>>,
    /// Content items: what recommenders rank.
    content: Vec<u32>,
    /// Notifications: what a session opens with.
    notifications: Vec<u32>,
    /// Per topic: share of its content items that are harmful or sensitive.
    topic_risk: Vec<f64>,
}

/// Why a catalogue cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A line is not an item.
    #[error("{0}")]
    Item(#[from] ward_core::feed::CatalogueError),
    /// Nothing to recommend.
    #[error("the catalogue has no video, post or ad to recommend")]
    NoContent,
    /// Too large to index.
    #[error("the catalogue has {0} items; at most 4,000,000 are audited")]
    TooLarge(usize),
    /// Too many topics to index.
    #[error("the catalogue names {0} topics; at most 65,535 are audited")]
    TooManyTopics(usize),
}

impl Catalogue {
    /// Reads a JSONL catalogue (ward's item format) for a policy's guard.
    pub fn parse(text: &str, policy: &FeedPolicy) -> Result<Self, CatalogueError> {
        let items = parse_catalogue(text)?;
        Self::from_items(items, policy)
    }

    /// Indexes parsed items.
    pub fn from_items(items: Vec<Item>, policy: &FeedPolicy) -> Result<Self, CatalogueError> {
        if items.len() > 4_000_000 {
            return Err(CatalogueError::TooLarge(items.len()));
        }
        let mut topics: Vec<Name> = Vec::new();
        let mut topic_index: HashMap<String, u16> = HashMap::new();
        let mut meta = Vec::with_capacity(items.len());
        for item in &items {
            let mut indices = Vec::with_capacity(item.topics().len());
            for topic in item.topics() {
                let next = topics.len();
                let idx = match topic_index.get(topic.key()) {
                    Some(idx) => *idx,
                    None => {
                        let idx = u16::try_from(next)
                            .map_err(|_| CatalogueError::TooManyTopics(next + 1))?;
                        topic_index.insert(topic.key().to_owned(), idx);
                        topics.push(topic.clone());
                        idx
                    }
                };
                if !indices.contains(&idx) {
                    indices.push(idx);
                }
            }
            meta.push(meta_of(item, indices.into_boxed_slice(), policy));
        }
        let mut content = Vec::new();
        let mut notifications = Vec::new();
        let mut by_topic: Vec<Vec<u32>> = vec![Vec::new(); topics.len()];
        for (idx, item_meta) in (0u32..).zip(&meta) {
            if item_meta.kind.is_content() {
                content.push(idx);
                for topic in &item_meta.topics {
                    by_topic[usize::from(*topic)].push(idx);
                }
            } else if item_meta.kind == ItemKind::Notification {
                notifications.push(idx);
            }
        }
        if content.is_empty() {
            return Err(CatalogueError::NoContent);
        }
        for list in &mut by_topic {
            list.sort_by(|a, b| {
                meta[*b as usize]
                    .appeal
                    .total_cmp(&meta[*a as usize].appeal)
                    .then(a.cmp(b))
            });
        }
        let topic_risk = by_topic
            .iter()
            .map(|list| {
                let risky = list
                    .iter()
                    .filter(|idx| {
                        let m = &meta[**idx as usize];
                        m.category.is_some() || m.sensitive
                    })
                    .count();
                risky as f64 / list.len().max(1) as f64
            })
            .collect();
        Ok(Self {
            items,
            meta,
            topics,
            by_topic,
            content,
            notifications,
            topic_risk,
        })
    }

    /// Every item, as the guard reads it.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// What the simulation knows of item `idx`.
    pub fn meta(&self, idx: u32) -> &ItemMeta {
        &self.meta[idx as usize]
    }

    /// Every item's meta, in catalogue order.
    pub fn metas(&self) -> &[ItemMeta] {
        &self.meta
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The topics, in order of first use.
    pub fn topics(&self) -> &[Name] {
        &self.topics
    }

    /// Content items on `topic`, most appealing first.
    pub fn items_on(&self, topic: u16) -> &[u32] {
        &self.by_topic[usize::from(topic)]
    }

    /// The content items (what recommenders rank).
    pub fn content(&self) -> &[u32] {
        &self.content
    }

    /// The notifications.
    pub fn notifications(&self) -> &[u32] {
        &self.notifications
    }

    /// Share of `topic`'s content that is harmful or sensitive (0 to 1).
    pub fn topic_risk(&self, topic: u16) -> f64 {
        self.topic_risk[usize::from(topic)]
    }

    /// Ids to indices, built when asked.
    pub fn id_index(&self) -> HashMap<&str, u32> {
        (0u32..)
            .zip(&self.items)
            .map(|(i, item)| (item.id(), i))
            .collect()
    }
}

/// The most serious category an item falls in, and the rest of its meta.
fn meta_of(item: &Item, topics: Box<[u16]>, policy: &FeedPolicy) -> ItemMeta {
    let mut category: Option<HarmCategory> = None;
    let mut consider = |found: Option<HarmCategory>| {
        if let Some(found) = found
            && category.is_none_or(|current| found < current)
        {
            category = Some(found);
        }
    };
    for tag in item.harm_tags() {
        consider(HarmCategory::of_harm_tag(tag));
    }
    for tag in item.tags() {
        consider(HarmCategory::of_word(tag.key()));
    }
    for topic in item.topics() {
        consider(HarmCategory::of_word(topic.key()));
    }
    let sensitive = item.topics().iter().any(|t| policy.is_sensitive(t));
    let hash = hash_text(item.id());
    let u1 = (hash >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (hash.rotate_left(29) >> 11) as f64 / (1u64 << 53) as f64;
    let minutes = match item.kind() {
        ItemKind::Video => 0.25 + 1.25 * u1,
        ItemKind::Post => 0.1 + 0.2 * u1,
        ItemKind::Ad => 0.25,
        ItemKind::Notification | ItemKind::User => 0.05,
    };
    ItemMeta {
        topics,
        category,
        sensitive,
        minutes: minutes as f32,
        appeal: (0.2 + 0.8 * u2) as f32,
        kind: item.kind(),
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// How many items.
    pub items: usize,
    /// The seed.
    pub seed: u64,
    /// Share of content that is harmful (primary priority or priority).
    pub harmful_share: f64,
    /// Share of content on sensitive topics that is not harmful (low mood, body image).
    pub sensitive_share: f64,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        Self {
            items: 10_000,
            seed: 1,
            harmful_share: 0.08,
            sensitive_share: 0.10,
        }
    }
}

/// The everyday topics of the generated catalogue.
pub const EVERYDAY_TOPICS: &[&str] = &[
    "football",
    "gaming",
    "music",
    "animals",
    "science",
    "art",
    "cooking",
    "comedy",
    "dance",
    "animation",
    "fashion",
    "travel",
    "nature",
    "tech",
    "books",
    "fitness",
];

/// Topics that are mostly harmless but border on harm (where priority content sits).
const EDGE_TOPICS: &[&str] = &[
    "dating",
    "politics",
    "pranks",
    "fights",
    "party",
    "challenges",
];

/// The sensitive topics of the generated catalogue (in `RULES.md`'s default
/// `sensitive_topics`, but for `low_mood`, which goes with `mental_health`).
const SENSITIVE_TOPICS: &[&str] = &["body_image", "dieting", "mental_health", "low_mood"];

/// Harmful content: category, weight, topics, tags, ratings.
struct HarmRow {
    category: HarmCategory,
    weight: f64,
    topics: &'static [&'static str],
    tags: &'static [&'static str],
    bbfc: Option<&'static str>,
}

const HARM_ROWS: &[HarmRow] = &[
    HarmRow {
        category: HarmCategory::EatingDisorder,
        weight: 0.15,
        topics: &["dieting", "body_image"],
        tags: &["eating_disorder"],
        bbfc: None,
    },
    HarmRow {
        category: HarmCategory::SelfHarm,
        weight: 0.12,
        topics: &["low_mood", "mental_health"],
        tags: &["self_harm"],
        bbfc: None,
    },
    HarmRow {
        category: HarmCategory::Suicide,
        weight: 0.08,
        topics: &["low_mood", "mental_health"],
        tags: &["suicide"],
        bbfc: None,
    },
    HarmRow {
        category: HarmCategory::Pornography,
        weight: 0.06,
        topics: &["dating"],
        tags: &["pornography"],
        bbfc: Some("R18"),
    },
    HarmRow {
        category: HarmCategory::AbuseAndHate,
        weight: 0.10,
        topics: &["politics"],
        tags: &["hate"],
        bbfc: None,
    },
    HarmRow {
        category: HarmCategory::Bullying,
        weight: 0.10,
        topics: &["pranks"],
        tags: &["bullying"],
        bbfc: None,
    },
    HarmRow {
        category: HarmCategory::Violence,
        weight: 0.13,
        topics: &["fights"],
        tags: &["graphic_violence"],
        bbfc: Some("18"),
    },
    HarmRow {
        category: HarmCategory::HarmfulSubstances,
        weight: 0.12,
        topics: &["party"],
        tags: &["drugs"],
        bbfc: None,
    },
    HarmRow {
        category: HarmCategory::DangerousStunts,
        weight: 0.14,
        topics: &["challenges"],
        tags: &["dangerous_challenge"],
        bbfc: None,
    },
];

fn pick<'a, T>(rng: &mut SimRng, options: &'a [T]) -> &'a T {
    &options[rng.below(options.len())]
}

fn weighted<'a, T>(rng: &mut SimRng, options: &'a [(T, f64)]) -> &'a T {
    let total: f64 = options.iter().map(|(_, w)| w).sum();
    let mut target = rng.unit() * total;
    for (option, weight) in options {
        if target < *weight {
            return option;
        }
        target -= weight;
    }
    &options[options.len() - 1].0
}

fn some_topics(rng: &mut SimRng, from: &[&'static str]) -> Vec<&'static str> {
    let first = *pick(rng, from);
    let mut topics = vec![first];
    if from.len() > 1 && rng.chance(0.4) {
        let second = *pick(rng, from);
        if second != first {
            topics.push(second);
        }
    }
    topics
}

/// Ratings and assessment of benign content: half from studios (rated), half user-generated
/// (assessed by moderators, but a few nobody has looked at).
fn benign_provenance(rng: &mut SimRng, line: &mut serde_json::Map<String, Value>, edge: bool) {
    if rng.chance(0.5) {
        let ratings: &[(&str, f64)] = if edge {
            &[("PG", 0.2), ("12A", 0.2), ("12", 0.2), ("15", 0.4)]
        } else {
            &[
                ("U", 0.3),
                ("PG", 0.35),
                ("12A", 0.15),
                ("12", 0.12),
                ("15", 0.08),
            ]
        };
        line.insert("ratings".into(), json!({ "bbfc": weighted(rng, ratings) }));
        line.insert("source".into(), json!(format!("studio-{}", rng.below(40))));
    } else {
        line.insert("source".into(), json!("ugc"));
        line.insert("assessed".into(), json!(rng.chance(0.96)));
    }
}

/// A seeded catalogue as JSONL in ward's item format.
pub fn generate(spec: &GenerateSpec) -> String {
    let mut rng = SimRng::derived(spec.seed, &[hash_text("catalogue")]);
    let mut out = String::with_capacity(spec.items * 120);
    let harm_weights: Vec<(usize, f64)> = HARM_ROWS
        .iter()
        .enumerate()
        .map(|(i, row)| (i, row.weight))
        .collect();
    for idx in 0..spec.items {
        let mut line = serde_json::Map::new();
        let kind_draw = rng.unit();
        if kind_draw < 0.03 {
            line.insert("id".into(), json!(format!("note-{idx:05}")));
            line.insert("kind".into(), json!("notification"));
            let triggers: &[(&str, f64)] = &[
                ("new_follower", 0.3),
                ("reply", 0.3),
                ("live_now", 0.15),
                ("inactivity", 0.25),
            ];
            line.insert("trigger".into(), json!(weighted(&mut rng, triggers)));
        } else if kind_draw < 0.10 {
            line.insert("id".into(), json!(format!("ad-{idx:05}")));
            line.insert("kind".into(), json!("ad"));
            let categories: &[(Option<&str>, f64)] = &[
                (Some("hfss_food"), 0.2),
                (Some("weight_loss"), 0.15),
                (Some("gambling"), 0.1),
                (Some("alcohol"), 0.1),
                (None, 0.45),
            ];
            let category = *weighted(&mut rng, categories);
            let topics: Vec<&str> = match category {
                Some("hfss_food") => vec!["cooking"],
                Some("weight_loss") => vec!["dieting", "fitness"],
                Some("gambling") => vec!["gaming"],
                Some("alcohol") => vec!["party"],
                _ => some_topics(&mut rng, EVERYDAY_TOPICS),
            };
            if let Some(category) = category {
                line.insert("ad_category".into(), json!(category));
            }
            line.insert("topics".into(), json!(topics));
            line.insert(
                "source".into(),
                json!(format!("advertiser-{}", rng.below(20))),
            );
            line.insert("assessed".into(), json!(true));
        } else {
            let kind = if kind_draw < 0.20 { "post" } else { "video" };
            line.insert("id".into(), json!(format!("{kind}-{idx:05}")));
            line.insert("kind".into(), json!(kind));
            let cluster = rng.unit();
            if cluster < spec.harmful_share {
                let row = &HARM_ROWS[*weighted(&mut rng, &harm_weights)];
                line.insert("topics".into(), json!(some_topics(&mut rng, row.topics)));
                line.insert("tags".into(), json!(row.tags));
                if let Some(bbfc) = row.bbfc {
                    line.insert("ratings".into(), json!({ "bbfc": bbfc }));
                    line.insert("source".into(), json!(format!("studio-{}", rng.below(40))));
                } else {
                    line.insert("source".into(), json!("ugc"));
                    // Moderators found and tagged it.
                    line.insert("assessed".into(), json!(true));
                }
                debug_assert!(row.category.is_harmful());
            } else if cluster < spec.harmful_share + spec.sensitive_share {
                let mut topics = some_topics(&mut rng, SENSITIVE_TOPICS);
                if rng.chance(0.3) {
                    topics.push(*pick(&mut rng, &["fitness", "fashion", "music"]));
                }
                line.insert("topics".into(), json!(topics));
                benign_provenance(&mut rng, &mut line, false);
            } else if cluster < spec.harmful_share + spec.sensitive_share + 0.10 {
                line.insert("topics".into(), json!([*pick(&mut rng, EDGE_TOPICS)]));
                benign_provenance(&mut rng, &mut line, true);
            } else {
                line.insert(
                    "topics".into(),
                    json!(some_topics(&mut rng, EVERYDAY_TOPICS)),
                );
                benign_provenance(&mut rng, &mut line, false);
            }
        }
        out.push_str(&Value::Object(line).to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_catalogue_is_seeded_and_in_wards_item_format() {
        let spec = GenerateSpec {
            items: 3_000,
            ..GenerateSpec::default()
        };
        let text = generate(&spec);
        assert_eq!(text, generate(&spec), "same seed, same catalogue");
        assert_ne!(text, generate(&GenerateSpec { seed: 2, ..spec }));
        let catalogue = Catalogue::parse(&text, &FeedPolicy::default()).unwrap();
        assert_eq!(catalogue.len(), 3_000);
        for category in HarmCategory::ALL {
            assert!(
                catalogue
                    .metas()
                    .iter()
                    .any(|m| m.category == Some(*category)),
                "{category:?} is generated"
            );
        }
        assert!(!catalogue.notifications().is_empty());
        assert!(catalogue.metas().iter().any(|m| m.sensitive));
    }
}
