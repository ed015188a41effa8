//! Feed items as a service sends them (`RUNTIME.md`'s item JSON), parsed once into compact
//! values so the guard's loop never parses a string.
//!
//! Deserializing an [`Item`] turns ratings into [`Rating`] values and their strictest minimum
//! age, harm tags into a bit set, the ad category into [`AdCategory`], and every tag, topic,
//! source and trigger into a [`Name`], normalised once (`Self-Harm` is `self_harm`, see
//! [`crate::vocab`]) and carrying its hash. Unknown fields are an error, never ignored: a
//! misspelt `tgas` would otherwise let a harmful item through; so are a field given twice and
//! an item that is not an object. The reader takes one pass, borrowing strings from the input
//! unless they hold escapes, so a typical item allocates only for its word lists and for
//! an id or word longer than a name holds in place.
//!
//! Not for judging items: that is [`crate::feed::filter`].

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::{Codes, RemovalReason};
pub use crate::vocab::{CapCategory, HarmTag, Name};
use crate::vocab::{ShortText, Text, normalise, normalise_ascii};

/// A minimum age meaning "never shown to children" (BBFC R18, the CAP's banned categories).
pub(crate) const NEVER: u8 = u8::MAX;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A video, film, episode or clip.
    Video,
    /// A post, article, image or track.
    Post,
    /// An advert.
    Ad,
    /// A notification the service would send.
    Notification,
    /// A suggested user ("people you may know").
    User,
}

impl ItemKind {
    /// As written in the item JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Post => "post",
            Self::Ad => "ad",
            Self::Notification => "notification",
            Self::User => "user",
        }
    }

    /// Content the precautionary rule covers: video, post and ad.
    pub fn is_content(self) -> bool {
        matches!(self, Self::Video | Self::Post | Self::Ad)
    }
}

/// A rating system, keyed as in the item's `ratings` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RatingSystem {
    /// British Board of Film Classification (`bbfc`).
    Bbfc,
    /// Pan European Game Information (`pegi`).
    Pegi,
    /// Motion Picture Association (`mpaa`).
    Mpa,
    /// US TV Parental Guidelines (`tv`).
    Tv,
    /// The explicit-content flag on music and podcasts (`explicit`).
    Explicit,
}

impl RatingSystem {
    /// Every system, in the order the strictest rating is looked for.
    pub const ALL: [Self; 5] = [Self::Bbfc, Self::Pegi, Self::Mpa, Self::Tv, Self::Explicit];

    /// The key in the item's `ratings` object.
    pub fn key(self) -> &'static str {
        match self {
            Self::Bbfc => "bbfc",
            Self::Pegi => "pegi",
            Self::Mpa => "mpaa",
            Self::Tv => "tv",
            Self::Explicit => "explicit",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bbfc => "BBFC",
            Self::Pegi => "PEGI",
            Self::Mpa => "MPA",
            Self::Tv => "US TV",
            Self::Explicit => "explicit flag",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A rating ward recognises: one value of one system's table (`RUNTIME.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "each variant is the rating its name spells")]
pub enum Rating {
    BbfcU,
    BbfcPg,
    Bbfc12A,
    Bbfc12,
    Bbfc15,
    Bbfc18,
    BbfcR18,
    Pegi3,
    Pegi7,
    Pegi12,
    Pegi16,
    Pegi18,
    MpaG,
    MpaPg,
    MpaPg13,
    MpaR,
    MpaNc17,
    TvY,
    TvY7,
    TvG,
    TvPg,
    Tv14,
    TvMa,
    /// `explicit: true`.
    Explicit,
    /// `explicit: false`: not explicit, which says nothing of the ages it suits.
    NotExplicit,
}

/// One row of the rating tables.
struct RatingRow {
    rating: Rating,
    system: RatingSystem,
    label: &'static str,
    /// `label` normalised ([`normalise`]), written out so parsing allocates nothing per row
    /// (a test checks each).
    key: &'static str,
    min_age: u8,
    advisory: Option<&'static str>,
}

const fn row(
    rating: Rating,
    system: RatingSystem,
    (label, key): (&'static str, &'static str),
    min_age: u8,
    advisory: Option<&'static str>,
) -> RatingRow {
    RatingRow {
        rating,
        system,
        label,
        key,
        min_age,
        advisory,
    }
}

/// `RUNTIME.md`'s tables. Advisory texts follow each board's own wording.
const RATINGS: [RatingRow; 25] = {
    use Rating as R;
    use RatingSystem::{Bbfc, Explicit, Mpa, Pegi, Tv};
    [
        row(R::BbfcU, Bbfc, ("U", "u"), 0, None),
        row(
            R::BbfcPg,
            Bbfc,
            ("PG", "pg"),
            0,
            Some("advisory for under 8s"),
        ),
        row(
            R::Bbfc12A,
            Bbfc,
            ("12A", "12a"),
            12,
            Some("advisory: under 12s only with an adult"),
        ),
        row(R::Bbfc12, Bbfc, ("12", "12"), 12, None),
        row(R::Bbfc15, Bbfc, ("15", "15"), 15, None),
        row(R::Bbfc18, Bbfc, ("18", "18"), 18, None),
        row(R::BbfcR18, Bbfc, ("R18", "r18"), NEVER, None),
        row(R::Pegi3, Pegi, ("3", "3"), 3, None),
        row(R::Pegi7, Pegi, ("7", "7"), 7, None),
        row(R::Pegi12, Pegi, ("12", "12"), 12, None),
        row(R::Pegi16, Pegi, ("16", "16"), 16, None),
        row(R::Pegi18, Pegi, ("18", "18"), 18, None),
        row(R::MpaG, Mpa, ("G", "g"), 0, None),
        row(
            R::MpaPg,
            Mpa,
            ("PG", "pg"),
            0,
            Some("advisory: parental guidance suggested, some material may not suit children"),
        ),
        row(
            R::MpaPg13,
            Mpa,
            ("PG-13", "pg_13"),
            13,
            Some("advisory: parents strongly cautioned, some material may not suit under 13s"),
        ),
        row(R::MpaR, Mpa, ("R", "r"), 17, None),
        row(R::MpaNc17, Mpa, ("NC-17", "nc_17"), 18, None),
        row(R::TvY, Tv, ("TV-Y", "tv_y"), 0, None),
        row(R::TvY7, Tv, ("TV-Y7", "tv_y7"), 7, None),
        row(R::TvG, Tv, ("TV-G", "tv_g"), 0, None),
        row(
            R::TvPg,
            Tv,
            ("TV-PG", "tv_pg"),
            0,
            Some("advisory: parental guidance suggested"),
        ),
        row(R::Tv14, Tv, ("TV-14", "tv_14"), 14, None),
        row(R::TvMa, Tv, ("TV-MA", "tv_ma"), 17, None),
        row(R::Explicit, Explicit, ("explicit", "explicit"), 18, None),
        row(
            R::NotExplicit,
            Explicit,
            ("not explicit", "not_explicit"),
            0,
            None,
        ),
    ]
};

// INVARIANT: RATINGS lists the variants in declaration order (checked at compile time).
const _: () = {
    let mut idx = 0;
    while idx < RATINGS.len() {
        assert!(RATINGS[idx].rating as usize == idx);
        idx += 1;
    }
};

impl Rating {
    fn row(self) -> &'static RatingRow {
        &RATINGS[self as usize]
    }

    /// Reads a value of `system` as written in a catalogue, spelt any way [`normalise`] takes
    /// as the same (`pg-13`, `PG 13`, ` PG_13 `). `None` when the value is not in the
    /// system's table.
    pub fn parse(system: RatingSystem, text: &str) -> Option<Self> {
        if system == RatingSystem::Explicit {
            return None;
        }
        // The table lists each system's rows together: only those are compared as text.
        let rows = || {
            RATINGS
                .iter()
                .skip_while(move |row| row.system != system)
                .take_while(move |row| row.system == system)
        };
        // Catalogues mostly write a value as its board does (`PG-13`), which then needs no
        // normalising to be found.
        if let Some(row) = rows().find(|row| row.label == text) {
            return Some(row.rating);
        }
        let mut buf = [0u8; 16];
        let key = match normalise_ascii(text, &mut buf) {
            Some(key) => std::borrow::Cow::Borrowed(key),
            None => normalise(text),
        };
        rows().find(|row| row.key == key).map(|row| row.rating)
    }

    /// True for a rating that says which ages it suits: every one but `explicit: false`,
    /// which says only that the item is not explicit (`RUNTIME.md`: "`explicit: false` alone
    /// is not an age rating").
    pub fn is_age_rating(self) -> bool {
        self != Self::NotExplicit
    }

    /// Its system.
    pub fn system(self) -> RatingSystem {
        self.row().system
    }

    /// The value as the board writes it (`12A`, `PG-13`, `TV-MA`).
    pub fn label(self) -> &'static str {
        self.row().label
    }

    /// The youngest age it may be shown to; `None` for never (BBFC R18).
    pub fn min_age(self) -> Option<u8> {
        let age = self.row().min_age;
        (age != NEVER).then_some(age)
    }

    pub(crate) fn min_age_raw(self) -> u8 {
        self.row().min_age
    }

    /// For an advisory rating (PG, 12A, PG-13, TV-PG), what the board advises.
    pub fn advisory(self) -> Option<&'static str> {
        self.row().advisory
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit => f.write_str("explicit"),
            Self::NotExplicit => f.write_str("not explicit"),
            _ => write!(f, "{} ({})", self.label(), self.system().label()),
        }
    }
}

/// A rating value ward does not know ("NR", "Not Rated", "Approved"): no rating, named in the
/// notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnrecognisedRating {
    /// The system it was given under.
    pub system: RatingSystem,
    /// The value as written.
    pub value: Box<str>,
}

/// An item's ratings: the recognised ones, the strictest minimum age among them, and any
/// values ward does not know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ratings {
    by_system: [Option<Rating>; 5],
    unrecognised: Box<[UnrecognisedRating]>,
    /// The strictest recognised rating, when any.
    strictest: Option<Rating>,
}

impl Ratings {
    /// Ratings from recognised values and unrecognised ones.
    pub fn new(
        recognised: impl IntoIterator<Item = Rating>,
        unrecognised: Vec<UnrecognisedRating>,
    ) -> Self {
        let mut by_system = [None; 5];
        for rating in recognised {
            by_system[rating.system().index()] = Some(rating);
        }
        // The strictest wins; on a tie, the first system in `RatingSystem::ALL` names it.
        // `explicit: false` is no age rating, so it is never the strictest.
        let strictest = by_system
            .iter()
            .flatten()
            .copied()
            .filter(|rating| rating.is_age_rating())
            .reduce(|best, next| {
                if next.min_age_raw() > best.min_age_raw() {
                    next
                } else {
                    best
                }
            });
        Self {
            by_system,
            unrecognised: unrecognised.into_boxed_slice(),
            strictest,
        }
    }

    /// The recognised rating under `system`.
    pub fn get(&self, system: RatingSystem) -> Option<Rating> {
        self.by_system[system.index()]
    }

    /// Every recognised rating, in system order.
    pub fn iter(&self) -> impl Iterator<Item = Rating> + '_ {
        self.by_system.iter().flatten().copied()
    }

    /// The strictest recognised age rating: the one whose minimum age decides.
    pub fn strictest(&self) -> Option<Rating> {
        self.strictest
    }

    /// True when at least one recognised rating says which ages the item suits
    /// (`explicit: false` alone does not).
    pub fn is_rated(&self) -> bool {
        self.strictest.is_some()
    }

    /// True when `explicit: false` is the only recognised rating: no age rating, for the
    /// precautionary rule.
    pub fn only_not_explicit(&self) -> bool {
        !self.is_rated() && self.get(RatingSystem::Explicit) == Some(Rating::NotExplicit)
    }

    /// Values given that ward does not recognise.
    pub fn unrecognised(&self) -> &[UnrecognisedRating] {
        &self.unrecognised
    }

    /// The recognised advisory ratings (PG, 12A, PG-13, TV-PG).
    pub fn advisories(&self) -> impl Iterator<Item = Rating> + '_ {
        self.iter().filter(|rating| rating.advisory().is_some())
    }

    /// The strictest minimum age (0 when unrated, [`NEVER`] for R18).
    pub(crate) fn min_age_raw(&self) -> u8 {
        self.strictest.map_or(0, Rating::min_age_raw)
    }
}

/// An item's advertising category: one the CAP Code restricts, or any other. Another
/// category restricts no age by itself, but ward knows it only when the policy declares it
/// harmless (`[feed] harmless_ad_categories`); unknown, it counts as unassessed for children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdCategory {
    /// Restricted by the CAP Code.
    Restricted(CapCategory),
    /// Any other category.
    Other(Name),
}

impl AdCategory {
    /// The CAP category's own spelling, or the other category as written.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Restricted(category) => category.as_str(),
            Self::Other(name) => name.as_str(),
        }
    }

    fn min_age_raw(&self) -> u8 {
        match self {
            Self::Restricted(category) => category.min_age().unwrap_or(NEVER),
            Self::Other(_) => 0,
        }
    }
}

/// A feed item, parsed and precomputed (see the module docs). Built only by deserializing
/// (`serde_json::from_str`, [`Item::from_json`] or [`super::parse_catalogue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Removal reasons that hold for every child whatever their age (harm tags, precaution,
    /// inactivity, unknown adult).
    pub(crate) child_reasons: Codes<RemovalReason>,
    pub(crate) rating_min_age: u8,
    pub(crate) ad_min_age: u8,
    pub(crate) kind: ItemKind,
    pub(crate) has_notes: bool,
    pub(crate) topics: Box<[Name]>,
    pub(crate) tags: Box<[Name]>,
    pub(crate) source: Option<Name>,
    /// Bit `i` set when `tags[i]` is a harm tag, for the first 64 tags (later ones are
    /// looked up again: no item needs that many). The others are the tags the policy must
    /// know for the item to count as assessed.
    harm_positions: u64,
    /// True when a word may be unknown to the policy (a tag that is no harm tag, or an ad
    /// category the CAP Code does not restrict), so the guard's loop asks only then.
    pub(crate) may_be_unknown: bool,
    id: ShortText,
    ratings: Ratings,
    harm: u16,
    /// An ad's category and a notification's trigger, out of line: few items carry either,
    /// and a smaller item is less to move into, and read back from, a feed's list.
    rare: Option<Box<Rare>>,
    assessed: Option<bool>,
    adult: Option<bool>,
    known_to_child: Option<bool>,
}

// INVARIANT: an item stays at most 144 bytes, since a 10,000-item feed moves 10,000 of them
// (checked at compile time).
const _: () = assert!(std::mem::size_of::<Item>() <= 144);

/// What few items carry ([`Item`]'s `rare`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rare {
    ad_category: Option<AdCategory>,
    trigger: Option<Name>,
}

/// Why an item's JSON is not an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ItemError {
    /// What is wrong.
    pub message: String,
    /// The 1-based column where the JSON parser stopped, when known.
    pub column: Option<usize>,
}

impl ItemError {
    pub(crate) fn from_json_error(error: &serde_json::Error) -> Self {
        let text = error.to_string();
        // serde_json appends " at line L column C"; the caller knows the line.
        let message = match text.rfind(" at line ") {
            Some(idx) => text[..idx].to_owned(),
            None => text,
        };
        Self {
            message,
            column: (error.column() > 0).then_some(error.column()),
        }
    }
}

impl Item {
    /// Parses one item from its JSON.
    pub fn from_json(json: &str) -> Result<Self, ItemError> {
        serde_json::from_str(json).map_err(|error| ItemError::from_json_error(&error))
    }

    /// The service's id for it.
    pub fn id(&self) -> &str {
        self.id.first()
    }

    /// Its id's bytes, for writing or hashing it without checking again that it is UTF-8.
    pub(crate) fn id_bytes(&self) -> &[u8] {
        self.id.first_bytes()
    }

    /// What it is.
    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    /// Its ratings.
    pub fn ratings(&self) -> &Ratings {
        &self.ratings
    }

    /// Every tag, as written.
    pub fn tags(&self) -> &[Name] {
        &self.tags
    }

    /// The tags that are not harm tags, in order.
    pub fn plain_tags(&self) -> impl Iterator<Item = &Name> + '_ {
        self.tags
            .iter()
            .enumerate()
            .filter(|(idx, tag)| !self.is_harm_tag_at(*idx, tag))
            .map(|(_, tag)| tag)
    }

    /// True when `tag`, at `idx` in the tags, is a harm tag.
    #[inline]
    pub(crate) fn is_harm_tag_at(&self, idx: usize, tag: &Name) -> bool {
        if idx < 64 {
            self.harm_positions & (1 << idx) != 0
        } else {
            HarmTag::parse(tag.key()).is_some()
        }
    }

    /// The harm tags among its tags.
    pub fn harm_tags(&self) -> impl Iterator<Item = HarmTag> + '_ {
        HarmTag::ALL
            .iter()
            .copied()
            .filter(|tag| self.harm & (1 << (*tag as u16)) != 0)
    }

    /// Its advertising category.
    pub fn ad_category(&self) -> Option<&AdCategory> {
        self.rare.as_ref()?.ad_category.as_ref()
    }

    /// Its topics.
    pub fn topics(&self) -> &[Name] {
        &self.topics
    }

    /// Where it comes from (`ugc`, a channel, a partner).
    pub fn source(&self) -> Option<&Name> {
        self.source.as_ref()
    }

    /// What fires it, for a notification, as written.
    pub fn trigger(&self) -> Option<&str> {
        self.rare.as_ref()?.trigger.as_ref().map(Name::as_str)
    }

    /// True when it is a notification responding to inactivity (`Inactivity` too).
    pub fn is_inactivity_nudge(&self) -> bool {
        self.kind == ItemKind::Notification
            && self
                .rare
                .as_ref()
                .and_then(|rare| rare.trigger.as_ref())
                .map(Name::key)
                == Some("inactivity")
    }

    /// Whether the service says a person assessed it (absent counts as not assessed).
    pub fn assessed(&self) -> Option<bool> {
        self.assessed
    }

    /// For a suggested user: whether they are an adult (absent counts as an adult).
    pub fn adult(&self) -> Option<bool> {
        self.adult
    }

    /// For a suggested user: whether the child already knows them (absent counts as not).
    pub fn known_to_child(&self) -> Option<bool> {
        self.known_to_child
    }

    /// True when the precautionary rule covers it: content (video, post, ad) with no
    /// recognised age rating (`explicit: false` alone is none) that nobody has assessed.
    pub fn is_unrated_and_unassessed(&self) -> bool {
        self.kind.is_content() && !self.ratings.is_rated() && self.assessed != Some(true)
    }

    /// True for a suggested user who is an adult (or of unknown age) the child does not know.
    pub fn is_unknown_adult(&self) -> bool {
        self.kind == ItemKind::User
            && self.adult != Some(false)
            && self.known_to_child != Some(true)
    }
}

/// The item JSON as written, gathered by [`ItemVisitor`]: strings borrowed from the input
/// where JSON lets them be, word lists already read into names. The feed's scanner
/// ([`super::scan`]) fills one too, so both readers build items through one `TryFrom`.
#[derive(Default)]
pub(super) struct RawItem<'de> {
    pub(super) id: Option<Text<'de>>,
    pub(super) kind: Option<ItemKind>,
    /// Read from a `RawRatings` as soon as it is read: the ratings are a few bytes, their
    /// text several words, and the item moves whole.
    pub(super) ratings: Option<Ratings>,
    pub(super) tags: Option<Box<[Name]>>,
    pub(super) ad_category: Option<Name>,
    pub(super) topics: Option<Box<[Name]>>,
    pub(super) source: Option<Name>,
    pub(super) trigger: Option<Name>,
    pub(super) assessed: Option<bool>,
    pub(super) adult: Option<bool>,
    pub(super) known_to_child: Option<bool>,
}

/// The item JSON's fields, in the order errors list them (and both readers number them).
pub(super) const FIELDS: &[&str] = &[
    "id",
    "kind",
    "ratings",
    "tags",
    "ad_category",
    "topics",
    "source",
    "trigger",
    "assessed",
    "adult",
    "known_to_child",
];

/// One of [`FIELDS`], by its position; any other key is an error (`deny_unknown_fields`).
struct Field(usize);

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an item field")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                FIELDS
                    .iter()
                    .position(|field| *field == key)
                    .map(Field)
                    .ok_or_else(|| E::unknown_field(key, FIELDS))
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// Reads an item's object in one pass, as serde's derive would (unknown, repeated and missing
/// fields are errors) but without an owned copy of any string the names do not keep.
struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = RawItem<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawItem<'de>, A::Error> {
        let mut raw = RawItem::default();
        let mut seen = 0u16;
        while let Some(Field(field)) = map.next_key()? {
            let name = FIELDS.get(field).copied().unwrap_or_default();
            if seen & (1 << field) != 0 {
                return Err(de::Error::duplicate_field(name));
            }
            seen |= 1 << field;
            match field {
                0 => raw.id = Some(map.next_value()?),
                1 => raw.kind = Some(map.next_value()?),
                2 => {
                    raw.ratings = map
                        .next_value::<Option<RawRatings<'de>>>()?
                        .map(RawRatings::into_ratings)
                }
                3 => raw.tags = map.next_value::<Option<Names>>()?.map(|names| names.0),
                4 => raw.ad_category = map.next_value()?,
                5 => raw.topics = map.next_value::<Option<Names>>()?.map(|names| names.0),
                6 => raw.source = map.next_value()?,
                7 => raw.trigger = map.next_value()?,
                8 => raw.assessed = map.next_value()?,
                9 => raw.adult = map.next_value()?,
                _ => raw.known_to_child = map.next_value()?,
            }
        }
        // Every other field may be left out (or, where the reader allows it, be `null`).
        if raw.id.is_none() {
            return Err(de::Error::missing_field("id"));
        }
        if raw.kind.is_none() {
            return Err(de::Error::missing_field("kind"));
        }
        Ok(raw)
    }
}

/// A list of names, read straight into a boxed slice of its exact length.
struct Names(Box<[Name]>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamesVisitor;
        impl<'de> Visitor<'de> for NamesVisitor {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of words")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                // Items carry a few words: they are gathered on the stack, then boxed once.
                const ON_STACK: usize = 8;
                let mut first: [Option<Name>; ON_STACK] = Default::default();
                let mut n = 0;
                while n < ON_STACK {
                    match seq.next_element::<Name>()? {
                        Some(name) => first[n] = Some(name),
                        None => break,
                    }
                    n += 1;
                }
                let mut names = Vec::with_capacity(n);
                names.extend(first.iter_mut().filter_map(Option::take));
                if n == ON_STACK {
                    while let Some(name) = seq.next_element::<Name>()? {
                        names.push(name);
                    }
                }
                Ok(Names(names.into_boxed_slice()))
            }
        }
        deserializer.deserialize_seq(NamesVisitor)
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRatings<'a> {
    #[serde(borrow)]
    pub(super) bbfc: Option<RatingText<'a>>,
    #[serde(borrow)]
    pub(super) pegi: Option<RatingText<'a>>,
    #[serde(borrow)]
    pub(super) mpaa: Option<RatingText<'a>>,
    #[serde(borrow)]
    pub(super) tv: Option<RatingText<'a>>,
    pub(super) explicit: Option<bool>,
}

/// A rating value: text (borrowed from the input when it can be), or a number
/// (`"pegi": 12`), which is read as the text it is written as.
pub(super) enum RatingText<'a> {
    Text(std::borrow::Cow<'a, str>),
    Integer(i128),
    Float(f64),
}

impl RatingText<'_> {
    /// The value as text: in `buf` for an integer (written by `itoa`, as serde_json writes
    /// integers), so reading one allocates nothing.
    fn text<'b>(&'b self, buf: &'b mut itoa::Buffer) -> std::borrow::Cow<'b, str> {
        match self {
            Self::Text(text) => std::borrow::Cow::Borrowed(text),
            Self::Integer(number) => std::borrow::Cow::Borrowed(buf.format(*number)),
            Self::Float(number) => std::borrow::Cow::Owned(number.to_string()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RatingText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextOrNumber<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextOrNumber<'a> {
            type Value = RatingText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rating as text or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(RatingText::Text(std::borrow::Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(RatingText::Text(std::borrow::Cow::Owned(text.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
                Ok(RatingText::Integer(i128::from(number)))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
                Ok(RatingText::Integer(i128::from(number)))
            }
            fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
                Ok(RatingText::Float(number))
            }
        }
        deserializer.deserialize_any(TextOrNumber(std::marker::PhantomData))
    }
}

impl RawRatings<'_> {
    pub(super) fn into_ratings(self) -> Ratings {
        let mut recognised = [None; 5];
        let mut unrecognised = Vec::new();
        for (slot, (system, value)) in recognised.iter_mut().zip([
            (RatingSystem::Bbfc, self.bbfc),
            (RatingSystem::Pegi, self.pegi),
            (RatingSystem::Mpa, self.mpaa),
            (RatingSystem::Tv, self.tv),
        ]) {
            let Some(value) = value else {
                continue;
            };
            let mut buf = itoa::Buffer::new();
            let text = value.text(&mut buf);
            match Rating::parse(system, &text) {
                Some(rating) => *slot = Some(rating),
                None => unrecognised.push(UnrecognisedRating {
                    system,
                    value: text.into(),
                }),
            }
        }
        if let Some(explicit) = self.explicit {
            recognised[4] = Some(if explicit {
                Rating::Explicit
            } else {
                Rating::NotExplicit
            });
        }
        Ratings::new(recognised.into_iter().flatten(), unrecognised)
    }
}

impl TryFrom<RawItem<'_>> for Item {
    type Error = String;

    fn try_from(raw: RawItem<'_>) -> Result<Self, String> {
        let id = raw.id.map(|text| text.0).unwrap_or_default();
        // An id that starts with a visible ASCII character (as ids do) is not blank, which
        // spares trimming it to find out.
        let visible_start = id.as_bytes().first().is_some_and(u8::is_ascii_graphic);
        if !visible_start && crate::vocab::trim_blank(&id).is_empty() {
            return Err("`id` cannot be empty".to_owned());
        }
        let Some(kind) = raw.kind else {
            return Err("missing field `kind`".to_owned());
        };
        let ratings = raw.ratings.unwrap_or_default();
        let tags = raw.tags.unwrap_or_default();
        let mut harm = 0u16;
        let mut harm_positions = 0u64;
        let mut any_plain = false;
        for (idx, tag) in (0u32..).zip(tags.iter()) {
            match HarmTag::parse(tag.key()) {
                Some(harm_tag) => {
                    harm |= 1 << (harm_tag as u16);
                    if idx < u64::BITS {
                        harm_positions |= 1 << idx;
                    }
                }
                None => any_plain = true,
            }
        }
        let ad_category = raw
            .ad_category
            .map(|name| match CapCategory::parse(name.key()) {
                Some(category) => AdCategory::Restricted(category),
                None => AdCategory::Other(name),
            });
        let may_be_unknown = any_plain || matches!(ad_category, Some(AdCategory::Other(_)));
        let mut item = Self {
            child_reasons: Codes::EMPTY,
            rating_min_age: ratings.min_age_raw(),
            ad_min_age: ad_category.as_ref().map_or(0, AdCategory::min_age_raw),
            kind,
            has_notes: false,
            topics: raw.topics.unwrap_or_default(),
            tags,
            source: raw.source,
            harm_positions,
            may_be_unknown,
            id: ShortText::new(&id, ""),
            ratings,
            harm,
            rare: (ad_category.is_some() || raw.trigger.is_some()).then(|| {
                Box::new(Rare {
                    ad_category,
                    trigger: raw.trigger,
                })
            }),
            assessed: raw.assessed,
            adult: raw.adult,
            known_to_child: raw.known_to_child,
        };
        let mut reasons = Codes::EMPTY;
        // Every child is under 18, so every harm tag removes for every child.
        if item.harm != 0 {
            reasons.insert(RemovalReason::HarmTag);
        }
        if item.is_unrated_and_unassessed() {
            reasons.insert(RemovalReason::Precaution);
        }
        if item.is_inactivity_nudge() {
            reasons.insert(RemovalReason::InactivityNudge);
        }
        if item.is_unknown_adult() {
            reasons.insert(RemovalReason::AdultContact);
        }
        item.child_reasons = reasons;
        // Words the policy may not know add notes too; the guard asks about them per policy.
        item.has_notes = item.ratings.advisories().next().is_some()
            || !item.ratings.unrecognised().is_empty()
            || item.is_unrated_and_unassessed();
        Ok(item)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = deserializer.deserialize_struct("Item", FIELDS, ItemVisitor)?;
        Item::try_from(raw).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rating_key_is_its_label_normalised() {
        for row in &RATINGS {
            assert_eq!(normalise(row.label), row.key, "{:?}", row.rating);
        }
    }

    /// Each value is read under its own system, as written, normalised or spelt another
    /// way, and under no other system; `explicit` takes no text.
    #[test]
    fn every_rating_is_read_under_its_system_however_it_is_spelt() {
        for row in &RATINGS {
            for system in RatingSystem::ALL {
                let lower = row.label.to_lowercase();
                let spaced = row.label.replace('-', " ");
                for text in [
                    row.label,
                    row.key,
                    &lower,
                    &spaced,
                    &format!(" {} ", row.label),
                ] {
                    let expected = (system == row.system && system != RatingSystem::Explicit)
                        .then_some(row.rating);
                    // Another system may have a value spelt the same (PG, 12, 18).
                    let parsed = Rating::parse(system, text);
                    if system == row.system || parsed.is_none() {
                        assert_eq!(parsed, expected, "{system:?} {text:?}");
                    } else {
                        assert_eq!(parsed.map(Rating::system), Some(system), "{text:?}");
                    }
                }
            }
        }
        assert_eq!(Rating::parse(RatingSystem::Bbfc, "NR"), None);
        assert_eq!(Rating::parse(RatingSystem::Mpa, "PG13"), None);
    }
}
