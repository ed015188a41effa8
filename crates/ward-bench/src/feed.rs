//! The benchmarks' feed: a deterministic 10,000-item mix (or any size), shared by the
//! in-process feed bench and the HTTP one (`bench/feed.sh`), so both judge the same items.
//!
//! The mix: 55% videos, 22% posts, 10% ads, 8% notifications, 5% suggested users. Most content
//! is rated (BBFC, PEGI, MPA, US TV or the explicit flag, sometimes two, some "NR"), the rest
//! assessed or not; 6% carry a harm tag; 30% of ads are in a CAP-restricted category; 15% of
//! notifications respond to inactivity; topics lean on the child's four favourites, with about
//! 10% on sensitive topics.

/// A tiny deterministic generator (no dependency, same feed every run).
pub struct Lcg(pub u64);
impl Lcg {
    /// The next number below `bound`.
    pub fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
    /// One of `from`.
    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next(from.len() as u64) as usize]
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next(100) < percent
    }
}

pub const FAVOURITES: &[&str] = &["football", "minecraft", "animals", "lego"];
pub const OTHER_TOPICS: &[&str] = &[
    "music", "comedy", "science", "cooking", "dance", "pranks", "cars", "space", "art", "pokemon",
    "fortnite", "roblox", "slime", "magic", "history", "news", "fashion", "makeup", "fitness",
    "travel", "horror", "anime",
];
pub const SENSITIVE: &[&str] = &["dieting", "body_image", "mental_health", "weight_loss"];
pub const HARM: &[&str] = &[
    "self_harm",
    "eating_disorder",
    "dangerous_challenge",
    "graphic_violence",
    "sexual",
    "gambling",
    "alcohol",
    "weapons",
];
/// Tags that name no harm, and ad categories the CAP Code does not restrict: the words the
/// bench policy declares harmless.
pub const DESCRIPTIVE_TAGS: &[&str] = &["funny", "tutorial", "horror", "live", "asmr"];
pub const OTHER_AD_CATEGORIES: &[&str] = &["toys", "games", "clothing", "films"];

pub const SOURCES: &[&str] = &[
    "ugc",
    "ugc",
    "ugc",
    "bbc",
    "disney",
    "nintendo",
    "mojang",
    "prank-channel",
    "netflix",
    "premier-league",
    "cbeebies",
    "warner",
];

/// A rating under system `system` (0 to 4).
fn rating(rng: &mut Lcg, system: u64) -> String {
    match system {
        0 => format!(
            r#""bbfc": "{}""#,
            rng.pick(&["U", "U", "PG", "PG", "12A", "12", "15", "18"])
        ),
        1 => format!(
            r#""pegi": {}"#,
            rng.pick(&["3", "3", "7", "7", "12", "16", "18"])
        ),
        2 => format!(
            r#""mpaa": "{}""#,
            rng.pick(&["G", "PG", "PG", "PG-13", "R", "NR"])
        ),
        3 => format!(
            r#""tv": "{}""#,
            rng.pick(&["TV-Y", "TV-Y7", "TV-G", "TV-PG", "TV-14", "TV-MA"])
        ),
        _ => format!(r#""explicit": {}"#, rng.chance(15)),
    }
}

fn topics(rng: &mut Lcg) -> String {
    let n = 1 + rng.next(2);
    let chosen: Vec<String> = (0..n)
        .map(|_| {
            let topic = match rng.next(100) {
                0..60 => rng.pick(FAVOURITES),
                60..90 => rng.pick(OTHER_TOPICS),
                _ => rng.pick(SENSITIVE),
            };
            format!("\"{topic}\"")
        })
        .collect();
    chosen.join(", ")
}

/// The bench's `[feed]` table: the feed's descriptive tags and ad categories are harmless, so
/// what the guard removes is what a real policy would (shared by the criterion bench and
/// the `feed_request` example).
pub fn bench_config() -> ward_core::policy::FeedConfig {
    ward_core::policy::FeedConfig {
        harmless_tags: DESCRIPTIVE_TAGS.iter().map(|t| (*t).to_owned()).collect(),
        harmless_ad_categories: OTHER_AD_CATEGORIES
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        ..ward_core::policy::FeedConfig::default()
    }
}

/// The feed of `n_items` items as JSON Lines (the same feed every run; item `i` is `item-i`).
pub fn feed_jsonl(n_items: usize) -> String {
    let mut rng = Lcg(11);
    let mut out = String::new();
    for idx in 0..n_items {
        let kind = match rng.next(100) {
            0..55 => "video",
            55..77 => "post",
            77..87 => "ad",
            87..95 => "notification",
            _ => "user",
        };
        let mut fields = vec![
            format!(r#""id": "item-{idx}""#),
            format!(r#""kind": "{kind}""#),
        ];
        match kind {
            "notification" => {
                let trigger = if rng.chance(15) {
                    "inactivity"
                } else {
                    rng.pick(&["reply", "new_content", "friend_activity", "streak"])
                };
                fields.push(format!(r#""trigger": "{trigger}""#));
            }
            "user" => {
                fields.push(format!(r#""adult": {}"#, rng.chance(40)));
                fields.push(format!(r#""known_to_child": {}"#, rng.chance(50)));
            }
            _ => {
                if rng.chance(75) {
                    let system = rng.next(5);
                    let mut ratings = vec![rating(&mut rng, system)];
                    if rng.chance(10) {
                        let other = (system + 1 + rng.next(4)) % 5;
                        ratings.push(rating(&mut rng, other));
                    }
                    fields.push(format!(r#""ratings": {{{}}}"#, ratings.join(", ")));
                } else {
                    fields.push(format!(r#""assessed": {}"#, rng.chance(80)));
                }
                let mut tags = Vec::new();
                if rng.chance(6) {
                    tags.push(rng.pick(HARM));
                }
                if rng.chance(20) {
                    tags.push(rng.pick(DESCRIPTIVE_TAGS));
                }
                if !tags.is_empty() {
                    let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
                    fields.push(format!(r#""tags": [{}]"#, tags.join(", ")));
                }
                fields.push(format!(r#""topics": [{}]"#, topics(&mut rng)));
                fields.push(format!(r#""source": "{}""#, rng.pick(SOURCES)));
                if kind == "ad" {
                    let category = if rng.chance(30) {
                        rng.pick(&[
                            "alcohol",
                            "gambling",
                            "hfss_food",
                            "hfss_food",
                            "medicine",
                            "weight_loss",
                            "e_cigarette",
                        ])
                    } else {
                        rng.pick(OTHER_AD_CATEGORIES)
                    };
                    fields.push(format!(r#""ad_category": "{category}""#));
                }
            }
        }
        out.push('{');
        out.push_str(&fields.join(", "));
        out.push_str("}\n");
    }
    out
}
