//! Sentences for the feed guard's outcome, built only when asked for: why each item was
//! removed, held back or noted, why a kept item may be shown, the JSON response a service gets
//! ([`FeedResponse`]), and the child's own "why am I seeing this" ([`why_am_i_seeing_this`]).
//!
//! Nothing here decides anything: every sentence is derived from the outcome and the items the
//! guard judged. Not for the hot path: the guard's loop never calls in here.

use jiff::Timestamp;
use serde::Serialize;

use super::item::{AdCategory, HarmTag, Item, ItemKind, NEVER, Rating};
use super::{
    Code, DriftReport, DriftState, FeedOutcome, FeedPolicy, Held, HoldReason, Note, NoteKind,
    Removal, RemovalReason,
};
use crate::controls::{BlockList, Controls, window_text};
use crate::feedback::{FeedbackGuard, HeldKind};
use crate::policy::{Precaution, UnknownTags};

/// One reason, as a stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The code (`age_rating`, `quiet_hours`, `advisory_rating`, …).
    pub code: &'static str,
    /// The sentence.
    pub message: String,
}

impl Explained {
    fn new(code: impl Code, message: String) -> Self {
        Self {
            code: code.code(),
            message,
        }
    }
}

/// A removed item in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedItem {
    /// The item's id.
    pub id: String,
    /// Its kind.
    pub kind: ItemKind,
    /// Every reason.
    pub reasons: Vec<Explained>,
}

/// A held-back notification in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldItem {
    /// The item's id.
    pub id: String,
    /// Every reason.
    pub reasons: Vec<Explained>,
    /// When it may be sent.
    pub until: Option<Timestamp>,
}

/// The notes on one item in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteItem {
    /// The item's id.
    pub id: String,
    /// The notes.
    pub notes: Vec<Explained>,
}

/// The guard's answer as a service receives it: kept ids in feed order, removed and held items
/// with every reason, notes, and the drift report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedResponse {
    /// Ids of the items that may be shown, in feed order.
    pub kept: Vec<String>,
    /// Items removed.
    pub removed: Vec<RemovedItem>,
    /// Notifications held back: not removed, to be sent after `held_until`.
    pub held: Vec<HeldItem>,
    /// When held notifications may be sent.
    pub held_until: Option<Timestamp>,
    /// Notes on items.
    pub notes: Vec<NoteItem>,
    /// The drift score and what the cap did.
    pub drift: Option<DriftReport>,
    /// The age the feed was judged at.
    pub age: u8,
    /// An adult: nothing was filtered.
    pub unfiltered: bool,
}

/// Explains one [`FeedOutcome`]; made by [`FeedOutcome::explain`].
#[derive(Debug, Clone, Copy)]
pub struct Explainer<'a> {
    outcome: &'a FeedOutcome,
    policy: &'a FeedPolicy,
    controls: Option<&'a Controls>,
    items: &'a [Item],
    feedback: Option<(&'a FeedbackGuard, Timestamp)>,
}

fn list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// "rated 15 (BBFC)", or "marked explicit" for the explicit flag.
fn rated(rating: Rating) -> String {
    match rating {
        Rating::Explicit => "marked explicit".to_owned(),
        Rating::NotExplicit => "marked not explicit".to_owned(),
        _ => format!("rated {rating}"),
    }
}

fn rating_sentence(rating: Rating) -> String {
    let rated = rated(rating);
    match (rating.advisory(), rating.min_age()) {
        (Some(advisory), _) => format!("{rated}: {advisory}"),
        (None, None) => format!("{rated}: never for children"),
        (None, Some(0)) => format!("{rated}: suitable for all ages"),
        (None, Some(age)) => format!("{rated}: for {age} and over"),
    }
}

/// The item's kind with its article, for sentences.
fn a_kind(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Video => "a video",
        ItemKind::Post => "a post",
        ItemKind::Ad => "an advert",
        ItemKind::Notification => "a notification",
        ItemKind::User => "a suggested user",
    }
}

impl<'a> Explainer<'a> {
    pub(crate) fn new(
        outcome: &'a FeedOutcome,
        policy: &'a FeedPolicy,
        controls: Option<&'a Controls>,
        items: &'a [Item],
    ) -> Self {
        Self {
            outcome,
            policy,
            controls,
            items,
            feedback: None,
        }
    }

    /// Names the child's own feedback in the sentences (the guard and `now` given to
    /// [`super::filter_into`]).
    #[must_use]
    pub fn with_feedback(self, feedback: &'a FeedbackGuard, now: Timestamp) -> Self {
        Self {
            feedback: Some((feedback, now)),
            ..self
        }
    }

    fn not_for_me(&self, kind: HeldKind, noun: &str, names: &[super::item::Name]) -> String {
        let matched: Vec<&str> = match self.feedback {
            Some((guard, now)) => names
                .iter()
                .filter(|name| guard.holds(kind, name, now))
                .map(|name| name.as_str())
                .collect(),
            None => Vec::new(),
        };
        if matched.is_empty() {
            return format!("a {noun} the child said \"not for me\" to, held back for a while");
        }
        format!(
            "{} {}: the child said \"not for me\" to this {noun}, so it is held back for a while",
            match kind {
                HeldKind::Topic => "about",
                HeldKind::Source => "from",
                HeldKind::Tag => "tagged",
            },
            list(&matched)
        )
    }

    fn item(&self, index: u32) -> Option<&'a Item> {
        self.items.get(index as usize)
    }

    /// Every reason an item was removed, as sentences.
    pub fn removal(&self, removal: &Removal) -> Vec<Explained> {
        let Some(item) = self.item(removal.index) else {
            return Vec::new();
        };
        removal
            .reasons
            .iter()
            .map(|reason| Explained::new(reason, self.removal_sentence(reason, item)))
            .collect()
    }

    fn removal_sentence(&self, reason: RemovalReason, item: &Item) -> String {
        let age = self.outcome.age;
        match reason {
            RemovalReason::AgeRating => match item.ratings().strictest() {
                Some(rating) if rating.min_age_raw() == NEVER => {
                    format!("{}: never shown to children", rated(rating))
                }
                Some(rating) => format!(
                    "{}: for {} and over, and this child is judged at {age}",
                    rated(rating),
                    rating.min_age_raw()
                ),
                None => "rated above this child's age".to_owned(),
            },
            RemovalReason::HarmTag => {
                let (never, under_18): (Vec<HarmTag>, Vec<HarmTag>) =
                    item.harm_tags().partition(|tag| tag.for_no_child());
                let mut parts = Vec::new();
                if !never.is_empty() {
                    parts.push(format!(
                        "tagged {}: never shown to children",
                        list(never.iter().map(|t| t.as_str()))
                    ));
                }
                if !under_18.is_empty() {
                    parts.push(format!(
                        "tagged {}: not shown under 18",
                        list(under_18.iter().map(|t| t.as_str()))
                    ));
                }
                parts.join("; ")
            }
            RemovalReason::AdCategory => match item.ad_category() {
                Some(AdCategory::Restricted(category)) => match category.min_age() {
                    Some(min) => format!(
                        "an advert for `{category}`: the CAP Code allows it to no one under {min}"
                    ),
                    None => format!(
                        "an advert for `{category}`: the CAP Code allows it to no child"
                    ),
                },
                _ => "an advert the CAP Code keeps from this age".to_owned(),
            },
            RemovalReason::Precaution => self.precaution_sentence(item),
            RemovalReason::InactivityNudge => {
                "a notification responding to inactivity: never sent to children".to_owned()
            }
            RemovalReason::AdultContact => match item.adult() {
                Some(true) => "suggests an adult the child does not know".to_owned(),
                _ => "suggests someone of unknown age, treated as an adult, whom the child does not know"
                    .to_owned(),
            },
            RemovalReason::ParentBlockedTag => self.blocked(
                "tagged",
                item.tags(),
                self.controls.map(Controls::blocked_tags),
            ),
            RemovalReason::ParentBlockedTopic => self.blocked(
                "about",
                item.topics(),
                self.controls.map(Controls::blocked_topics),
            ),
            RemovalReason::ParentBlockedSource => self.blocked(
                "from",
                item.source().map(std::slice::from_ref).unwrap_or_default(),
                self.controls.map(Controls::blocked_sources),
            ),
            RemovalReason::HiddenByChild => {
                "the child hid this item (\"not for me\" or a report); they can show it again"
                    .to_owned()
            }
            RemovalReason::NotForMeTopic => self.not_for_me(HeldKind::Topic, "topic", item.topics()),
            RemovalReason::NotForMeSource => self.not_for_me(
                HeldKind::Source,
                "source",
                item.source().map(std::slice::from_ref).unwrap_or_default(),
            ),
            RemovalReason::NotForMeTag => self.not_for_me(HeldKind::Tag, "tag", item.tags()),
            RemovalReason::DriftCap => {
                let sensitive: Vec<&str> = item
                    .topics()
                    .iter()
                    .filter(|topic| self.policy.is_sensitive(topic))
                    .map(|topic| topic.as_str())
                    .collect();
                match self.outcome.drift {
                    Some(drift) => format!(
                        "about {}, a sensitive topic: the feed has drifted from this child's interests (score {:.2}, threshold {:.2}), so sensitive topics are capped at {} of the last {} items",
                        list(&sensitive),
                        drift.score,
                        drift.threshold,
                        percent(drift.sensitive_cap),
                        drift.drift_window
                    ),
                    None => format!("about {}, a sensitive topic past the drift cap", list(&sensitive)),
                }
            }
        }
    }

    /// Why the precaution removed `item`: unrated and unassessed, words ward does not know,
    /// or both; each part names what it found.
    fn precaution_sentence(&self, item: &Item) -> String {
        let unrated = item.is_unrated_and_unassessed();
        let unknown_tags: Vec<&str> = self
            .policy
            .unknown_tags_of(item)
            .map(|tag| tag.as_str())
            .collect();
        let unknown_category = self.policy.unknown_ad_category_of(item);
        let unknown = !unknown_tags.is_empty() || unknown_category.is_some();
        let mut parts = Vec::new();
        if unrated {
            parts.push("with no recognised rating that nobody has assessed".to_owned());
        }
        match unknown_tags.len() {
            0 => {}
            1 => parts.push(format!(
                "tagged {} (a tag ward does not know)",
                list(&unknown_tags)
            )),
            _ => parts.push(format!(
                "tagged {} (tags ward does not know)",
                list(&unknown_tags)
            )),
        }
        if let Some(category) = unknown_category {
            parts.push(format!(
                "in ad category `{category}` (a category ward does not know)"
            ));
        }
        let keys = match (unrated, unknown) {
            (true, true) => "`[feed] precaution = \"remove\"`, `unknown_tags = \"remove\"`",
            (false, true) => "`[feed] unknown_tags = \"remove\"`",
            _ => "`[feed] precaution = \"remove\"`",
        };
        let mut sentence = format!(
            "{} {}: removed as a precaution ({keys})",
            a_kind(item.kind()),
            parts.join(" and ")
        );
        if unrated && !item.ratings().unrecognised().is_empty() {
            sentence.push_str(&format!(
                "; {} is not a rating ward recognises",
                list(item.ratings().unrecognised().iter().map(|r| &*r.value))
            ));
        }
        if unrated && item.ratings().only_not_explicit() {
            sentence
                .push_str("; `explicit: false` says it is not explicit, not which ages it suits");
        }
        sentence
    }

    fn blocked(
        &self,
        verb: &str,
        names: &[super::item::Name],
        blocks: Option<&BlockList>,
    ) -> String {
        let matched: Vec<&str> = names
            .iter()
            .filter(|name| blocks.is_some_and(|b| b.contains(name)))
            .map(|name| name.as_str())
            .collect();
        format!("{verb} {}, which a parent blocked", list(&matched))
    }

    /// Every reason a notification was held back, as sentences.
    pub fn held(&self, held: &Held) -> Vec<Explained> {
        held.reasons
            .iter()
            .map(|reason| {
                let message = match reason {
                    HoldReason::QuietHours => format!(
                        "inside quiet hours ({}, the child's local time): held back, not removed",
                        self.policy.quiet_hours.map(window_text).unwrap_or_default()
                    ),
                    HoldReason::Bedtime => format!(
                        "inside the bedtime a parent set ({}, the child's local time): held back, not removed",
                        self.controls
                            .and_then(Controls::bedtime)
                            .map(window_text)
                            .unwrap_or_default()
                    ),
                };
                Explained::new(reason, message)
            })
            .collect()
    }

    /// The notes on one item, as sentences (one per advisory or unrecognised rating).
    pub fn note(&self, note: &Note) -> Vec<Explained> {
        let Some(item) = self.item(note.index) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for kind in note.kinds.iter() {
            match kind {
                NoteKind::AdvisoryRating => {
                    for rating in item.ratings().advisories() {
                        out.push(Explained::new(kind, rating_sentence(rating)));
                    }
                }
                NoteKind::UnrecognisedRating => {
                    for rating in item.ratings().unrecognised() {
                        out.push(Explained::new(
                            kind,
                            format!(
                                "`{}` is not a rating ward recognises under {}: treated as no rating",
                                rating.value,
                                rating.system.label()
                            ),
                        ));
                    }
                }
                NoteKind::UnassessedKept => out.push(Explained::new(
                    kind,
                    if item.is_unrated_and_unassessed() {
                        "no recognised rating and not assessed: kept because `[feed] precaution = \"keep\"`"
                    } else {
                        "counts as unassessed (a word ward does not know): kept because `[feed] precaution = \"keep\"`"
                    }
                    .to_owned(),
                )),
                NoteKind::UnknownTag => {
                    for tag in self.policy.unknown_tags_of(item) {
                        out.push(Explained::new(
                            kind,
                            format!(
                                "`{tag}` is not a tag ward knows (neither a harm tag nor in `[feed] harmless_tags`){}",
                                self.unknown_consequence(note.index)
                            ),
                        ));
                    }
                }
                NoteKind::UnknownAdCategory => {
                    if let Some(category) = self.policy.unknown_ad_category_of(item) {
                        out.push(Explained::new(
                            kind,
                            format!(
                                "`{category}` is not an ad category ward knows (neither one the CAP Code restricts nor in `[feed] harmless_ad_categories`){}",
                                self.unknown_consequence(note.index)
                            ),
                        ));
                    }
                }
            }
        }
        out
    }

    /// What an unknown word did to the item at `index`, for its note.
    fn unknown_consequence(&self, index: u32) -> &'static str {
        let removed = self.outcome.removed.iter().any(|r| r.index == index);
        if self.outcome.unfiltered {
            ""
        } else if self.policy.unknown_tags == UnknownTags::Keep {
            if removed {
                ""
            } else {
                ": kept because `[feed] unknown_tags = \"keep\"`"
            }
        } else {
            ": for children the item counts as unassessed"
        }
    }

    /// Why a kept item may be shown: its rating and what the other rules found. Empty for an
    /// index that was not kept.
    pub fn why_shown(&self, index: u32) -> Vec<String> {
        let Some(item) = self.item(index) else {
            return Vec::new();
        };
        if !self.outcome.kept.contains(&index) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.outcome.unfiltered {
            out.push("shown unfiltered: adults see everything".to_owned());
            out.extend(item.ratings().advisories().map(rating_sentence));
            return out;
        }
        let strictest = item.ratings().strictest();
        for rating in item.ratings().iter() {
            if rating.advisory().is_some() || Some(rating) == strictest {
                out.push(rating_sentence(rating));
            }
        }
        if !item.ratings().is_rated() && item.kind().is_content() {
            out.push(match item.assessed() {
                Some(true) => "not rated, but assessed by the service as suitable".to_owned(),
                _ if self.policy.precaution == Precaution::Keep => {
                    "not rated and not assessed: kept because `[feed] precaution = \"keep\"`"
                        .to_owned()
                }
                _ => "not rated".to_owned(),
            });
            if item.ratings().only_not_explicit() {
                out.push("marked not explicit, which is not an age rating".to_owned());
            }
        }
        if !item.tags().is_empty() {
            let unknown: Vec<&str> = self
                .policy
                .unknown_tags_of(item)
                .map(|tag| tag.as_str())
                .collect();
            out.push(if unknown.is_empty() {
                format!(
                    "tagged {}: no harm tag, nothing a parent blocked",
                    list(item.tags().iter().map(|t| t.as_str()))
                )
            } else {
                format!(
                    "tagged {}: no harm tag, nothing a parent blocked; ward does not know {}, kept because `[feed] {}`",
                    list(item.tags().iter().map(|t| t.as_str())),
                    list(&unknown),
                    self.unknown_kept_by()
                )
            });
        }
        match item.ad_category() {
            Some(AdCategory::Restricted(category)) => out.push(format!(
                "an advert for `{category}`: the CAP Code allows it from {}",
                category.min_age().unwrap_or(0)
            )),
            Some(AdCategory::Other(category))
                if self.policy.unknown_ad_category_of(item).is_some() =>
            {
                out.push(format!(
                    "an advert for `{category}`: not a category ward knows, kept because `[feed] {}`",
                    self.unknown_kept_by()
                ));
            }
            Some(AdCategory::Other(category)) => out.push(format!(
                "an advert for `{category}`: not a category the CAP Code restricts (`[feed] harmless_ad_categories`)"
            )),
            None if item.kind() == ItemKind::Ad => {
                out.push("an advert in no restricted category".to_owned());
            }
            None => {}
        }
        match item.kind() {
            ItemKind::Notification => out.push(
                "a notification that does not respond to inactivity, outside quiet hours"
                    .to_owned(),
            ),
            ItemKind::User if item.known_to_child() == Some(true) => {
                out.push("suggests someone the child already knows".to_owned());
            }
            ItemKind::User => out.push("suggests someone who is not an adult".to_owned()),
            _ => {}
        }
        let sensitive = item.topics().iter().any(|t| self.policy.is_sensitive(t));
        if sensitive && let Some(drift) = self.outcome.drift {
            out.push(if drift.capped {
                format!(
                    "on a sensitive topic, within the cap of {} while the feed is drifted",
                    percent(drift.sensitive_cap)
                )
            } else {
                "on a sensitive topic; the feed has not drifted from the child's interests"
                    .to_owned()
            });
        }
        out
    }

    /// The key that let a kept item with an unknown word through.
    fn unknown_kept_by(&self) -> &'static str {
        if self.policy.unknown_tags == UnknownTags::Keep {
            "unknown_tags = \"keep\""
        } else {
            "precaution = \"keep\""
        }
    }

    /// The response a service receives.
    pub fn response(&self) -> FeedResponse {
        let id = |index: u32| {
            self.item(index)
                .map_or_else(String::new, |i| i.id().to_owned())
        };
        FeedResponse {
            kept: self.outcome.kept.iter().map(|index| id(*index)).collect(),
            removed: self
                .outcome
                .removed
                .iter()
                .map(|removal| RemovedItem {
                    id: id(removal.index),
                    kind: self.item(removal.index).map_or(ItemKind::Post, Item::kind),
                    reasons: self.removal(removal),
                })
                .collect(),
            held: self
                .outcome
                .held
                .iter()
                .map(|held| HeldItem {
                    id: id(held.index),
                    reasons: self.held(held),
                    until: self.outcome.held_until,
                })
                .collect(),
            held_until: self.outcome.held_until,
            notes: self
                .outcome
                .notes
                .iter()
                .map(|note| NoteItem {
                    id: id(note.index),
                    notes: self.note(note),
                })
                .collect(),
            drift: self.outcome.drift,
            age: self.outcome.age,
            unfiltered: self.outcome.unfiltered,
        }
    }
}

/// One signal behind an item a child is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A topic the child is interested in.
    Interest {
        /// The topic.
        topic: String,
        /// The child (or a parent) declared it; else it was learned from what they watched.
        declared: bool,
    },
    /// The item's rating.
    Rating {
        /// The rating, with its board.
        rating: String,
        /// What the board advises, for an advisory rating.
        advisory: Option<String>,
    },
    /// A suggested person the child already knows.
    KnownContact,
}

/// The child's own "why am I seeing this": the setting that led to it, the signals, and one
/// text in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildExplanation {
    /// The setting's name, as the child sees it next to its switch.
    pub setting: String,
    /// The signals.
    pub signals: Vec<Signal>,
    /// What to show the child.
    pub text: String,
}

/// Why a child is seeing `item`: `setting` is the name the child knows the setting by (the
/// policy purpose's `name`, which the caller looks up), the signals are the item's topics the
/// child's anchor holds and its rating. The text always says the setting can be switched off.
pub fn why_am_i_seeing_this(
    setting: &str,
    item: &Item,
    drift: Option<&DriftState>,
) -> ChildExplanation {
    let mut signals = Vec::new();
    let declared = drift.is_some_and(|d| d.anchor_source() == super::AnchorSource::Declared);
    if let Some(drift) = drift {
        for topic in item.topics() {
            if drift.in_anchor(topic) {
                signals.push(Signal::Interest {
                    topic: topic.as_str().to_owned(),
                    declared,
                });
            }
        }
    }
    if let Some(rating) = item.ratings().strictest() {
        signals.push(Signal::Rating {
            rating: rating.to_string(),
            advisory: rating.advisory().map(str::to_owned),
        });
    }
    for rating in item.ratings().advisories() {
        if Some(rating) != item.ratings().strictest() {
            signals.push(Signal::Rating {
                rating: rating.to_string(),
                advisory: rating.advisory().map(str::to_owned),
            });
        }
    }
    if item.kind() == ItemKind::User && item.known_to_child() == Some(true) {
        signals.push(Signal::KnownContact);
    }

    let mut text = format!("You are seeing this because \u{201c}{setting}\u{201d} is switched on.");
    let interests: Vec<&str> = signals
        .iter()
        .filter_map(|signal| match signal {
            Signal::Interest { topic, .. } => Some(topic.as_str()),
            _ => None,
        })
        .collect();
    if !interests.is_empty() {
        let topics = interests.join(" and ").replace('_', " ");
        text.push_str(&if declared {
            format!(" It is about {topics}, which you told us you like.")
        } else {
            format!(" It is about {topics}, like things you watched before.")
        });
    }
    for signal in &signals {
        match signal {
            Signal::Rating {
                rating,
                advisory: Some(advisory),
            } => text.push_str(&format!(" It is rated {rating}: {advisory}.")),
            Signal::Rating {
                rating,
                advisory: None,
            } => text.push_str(&format!(
                " It is rated {rating}, which is fine for your age."
            )),
            Signal::KnownContact => text.push_str(" You already know them."),
            Signal::Interest { .. } => {}
        }
    }
    text.push_str(&format!(
        " You can switch \u{201c}{setting}\u{201d} off at any time."
    ));
    ChildExplanation {
        setting: setting.to_owned(),
        signals,
        text,
    }
}
