//! The policy: a service's `ward.toml`, parsed strictly into checked domain types.
//!
//! [`Policy::parse`] is the only way in. It stops at the first *schema error* (TOML syntax,
//! unknown keys, wrong types, unknown enum values or jurisdictions, missing required fields,
//! duplicate ids or cookie names, values out of range), each with its span. What it accepts may
//! still break the Children's Code — references to undeclared ids included — and that is for
//! [`crate::lint`] to report. The same `Policy` is what the runtime will run on.
//!
//! The two terms every rule and `decide` share, [`Purpose::is_required`] and
//! [`Purpose::child_can_switch_on`], are defined here, once.

mod raw;
pub mod tcf;

use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::age::AgeBand;
use crate::ids::{DataId, IdMap, PurposeId, SettingId};
use crate::jurisdiction::Jurisdiction;
use crate::span::Span;
use crate::vocab::{CapCategory, HarmTag, normalise};
use raw::{LastFieldEnd, RawBandTexts, RawPolicy};

/// A schema error: the file is not a `ward.toml` ward can read. The check stops here.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SchemaError {
    /// What is wrong, and what to write instead.
    pub message: String,
    /// Where, when the parser could tell.
    pub span: Option<Span>,
}

impl SchemaError {
    fn at(span: std::ops::Range<usize>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: Some(Span::new(span)),
        }
    }
}

macro_rules! toml_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in `ward.toml`.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

toml_enum!(
    /// What kind of service this is.
    ServiceKind {
        /// Social media.
        SocialMedia = "social_media",
        /// Video sharing.
        VideoSharing = "video_sharing",
        /// A game.
        Game = "game",
        /// A learning app.
        Education = "education",
        /// News.
        News = "news",
        /// Messaging.
        Messaging = "messaging",
        /// Anything else.
        Other = "other",
    }
);

toml_enum!(
    /// What a profiling purpose is for.
    Category {
        /// Ads chosen from a profile of the child.
        BehaviouralAdvertising = "behavioural_advertising",
        /// Content picked for the child.
        ContentRecommendation = "content_recommendation",
        /// "People you may know".
        ContactSuggestions = "contact_suggestions",
        /// A profiled news feed.
        NewsFeed = "news_feed",
        /// Adapting the service to a disability.
        Accessibility = "accessibility",
        /// Notifications, streaks and other engagement features.
        Engagement = "engagement",
        /// Location-based features.
        Location = "location",
        /// Analytics about use.
        Analytics = "analytics",
        /// Profiling intrinsic to the core service.
        CoreService = "core_service",
        /// Establishing a user's age.
        AgeAssurance = "age_assurance",
        /// Child protection.
        Safeguarding = "safeguarding",
        /// Meeting a legal or regulatory requirement.
        LegalObligation = "legal_obligation",
    }
);

impl Category {
    /// Commercial purposes may never read data collected for a protective one.
    pub fn is_commercial(self) -> bool {
        matches!(
            self,
            Self::BehaviouralAdvertising
                | Self::ContentRecommendation
                | Self::ContactSuggestions
                | Self::Engagement
                | Self::Analytics
        )
    }

    /// Protective purposes: their data is for protecting children, and nothing else.
    pub fn is_protective(self) -> bool {
        matches!(self, Self::AgeAssurance | Self::Safeguarding)
    }
}

toml_enum!(
    /// A purpose's GDPR Art. 6 lawful basis.
    LawfulBasis {
        /// Consent (the child's, or a parent's below the age of digital consent).
        Consent = "consent",
        /// Legitimate interests.
        LegitimateInterests = "legitimate_interests",
        /// Contract.
        Contract = "contract",
        /// Legal obligation.
        LegalObligation = "legal_obligation",
        /// Vital interests.
        VitalInterests = "vital_interests",
        /// Public task.
        PublicTask = "public_task",
    }
);

toml_enum!(
    /// Off or on: a purpose's default, or geolocation sharing's.
    Toggle {
        /// Off.
        Off = "off",
        /// On.
        On = "on",
    }
);

toml_enum!(
    /// Who sees a new child's profile.
    ProfileVisibility {
        /// Only people the child accepts.
        Private = "private",
        /// Everyone.
        Public = "public",
    }
);

toml_enum!(
    /// The regulatory code a news service follows, if any.
    EditorialCode {
        /// None.
        None = "none",
        /// IPSO's Editors' Code of Practice.
        EditorsCode = "editors_code",
        /// The Ofcom Broadcasting Code.
        OfcomBroadcastingCode = "ofcom_broadcasting_code",
    }
);

toml_enum!(
    /// How a user's age was established.
    AgeMethod {
        /// The user said so.
        SelfDeclared = "self_declared",
        /// A parent said so.
        ParentDeclared = "parent_declared",
        /// Age estimation (facial, behavioural, …).
        Estimated = "estimated",
        /// Verified against a document or a trusted record.
        Verified = "verified",
    }
);

toml_enum!(
    /// How verifiable parental consent is obtained (the methods regulators recognise).
    ParentalConsentMethod {
        /// An email to the parent, confirmed by a second step.
        EmailPlus = "email_plus",
        /// A signed consent form.
        SignedForm = "signed_form",
        /// A payment card transaction.
        PaymentCard = "payment_card",
        /// A call to a trained operator.
        PhoneCall = "phone_call",
        /// A video call with a trained operator.
        VideoCall = "video_call",
        /// A government id checked and deleted.
        GovernmentId = "government_id",
        /// Knowledge-based questions only an adult could answer.
        KnowledgeBased = "knowledge_based",
        /// A face matched to a photo id.
        FacialMatch = "facial_match",
        /// The parent's own age-verified account on the service.
        ParentAccount = "parent_account",
    }
);

toml_enum!(
    /// A measure protecting children from what a profile would serve them.
    Safeguard {
        /// Age ratings checked against the child's age.
        AgeRatingFilter = "age_rating_filter",
        /// Harmful content tags removed.
        HarmTagFilter = "harm_tag_filter",
        /// Content tagged in context (topic, suitability).
        ContextualTagging = "contextual_tagging",
        /// A reporting route for users.
        UserReporting = "user_reporting",
        /// People reviewing content.
        HumanModeration = "human_moderation",
        /// Editorial control over what is shown.
        EditorialControl = "editorial_control",
        /// Unknown adults kept out of a child's suggestions.
        AdultContactFilter = "adult_contact_filter",
    }
);

toml_enum!(
    /// What fires an engagement feature.
    Trigger {
        /// The user has not been active for a while.
        Inactivity = "inactivity",
        /// A fixed schedule (a daily reminder).
        Schedule = "schedule",
        /// New content from something the user follows.
        NewContent = "new_content",
        /// A friend did something.
        FriendActivity = "friend_activity",
        /// A reply to, or mention of, the user.
        Reply = "reply",
        /// A streak about to end or a milestone reached.
        Streak = "streak",
    }
);

toml_enum!(
    /// What the feed guard does with content nobody has assessed.
    Precaution {
        /// Remove it for children (the precautionary principle).
        Remove = "remove",
        /// Keep it.
        Keep = "keep",
    }
);

toml_enum!(
    /// What the feed guard does, for children, with an item carrying a tag or ad category
    /// it does not know (neither a harm tag or CAP category nor declared harmless).
    UnknownTags {
        /// Count the item as unassessed, so the precautionary rule removes it (the default).
        Remove = "remove",
        /// Only name the word in the notes.
        Keep = "keep",
    }
);

/// A text per admitted age band, from `explain` or `ask_adult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BandTexts {
    texts: [Option<String>; 5],
}

impl BandTexts {
    /// The text for `band`, if one is written and not blank.
    pub fn for_band(&self, band: AgeBand) -> Option<&str> {
        self.texts[band.index()]
            .as_deref()
            .filter(|text| !text.trim().is_empty())
    }

    /// True when no band has a text.
    pub fn is_empty(&self) -> bool {
        AgeBand::ALL
            .iter()
            .all(|band| self.for_band(*band).is_none())
    }

    fn from_raw(raw: RawBandTexts) -> Self {
        let mut texts: [Option<String>; 5] = Default::default();
        match raw {
            RawBandTexts::All(text) => texts = std::array::from_fn(|_| Some(text.clone())),
            RawBandTexts::PerBand(map) => {
                for (band, text) in map {
                    texts[band.index()] = Some(text);
                }
            }
        }
        Self { texts }
    }
}

/// A daily window in local time, like quiet hours `22:00-07:00` (it may cross midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    /// Minutes after midnight the window opens.
    pub start_minute: u16,
    /// Minutes after midnight the window closes.
    pub end_minute: u16,
}

impl DailyWindow {
    /// Parses `HH:MM-HH:MM` (24-hour clock).
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.split_once('-')?;
        let minute = |hhmm: &str| -> Option<u16> {
            let (hours, minutes) = hhmm.split_once(':')?;
            // Two digits each: `u16::from_str` alone would also take `+1`.
            let digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
            if !digits(hours) || !digits(minutes) {
                return None;
            }
            let hours: u16 = hours.parse().ok()?;
            let minutes: u16 = minutes.parse().ok()?;
            (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
        };
        let window = Self {
            start_minute: minute(start)?,
            end_minute: minute(end)?,
        };
        (window.start_minute != window.end_minute).then_some(window)
    }

    /// True when `minute` (after midnight) falls inside the window.
    pub fn contains(self, minute: u16) -> bool {
        if self.start_minute < self.end_minute {
            (self.start_minute..self.end_minute).contains(&minute)
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

/// The `[service]` table.
#[derive(Debug, Clone)]
pub struct Service {
    /// The service's name.
    pub name: String,
    /// What kind of service it is.
    pub kind: ServiceKind,
    /// Youngest age admitted, 0 to 17.
    pub min_age: u8,
    /// Where it operates; the first is a child's default.
    pub jurisdictions: Vec<Jurisdiction>,
    /// IANA time zone for quiet hours and bedtime when a child has none of their own.
    pub time_zone: String,
    /// Age-assurance methods trusted to treat a user as 18+.
    pub adult_age_methods: Vec<AgeMethod>,
    /// The regulatory code its editorial content follows.
    pub editorial_code: EditorialCode,
    /// How verifiable parental consent is obtained.
    pub parental_consent_methods: Vec<ParentalConsentMethod>,
    /// Where each field is written.
    pub spans: ServiceSpans,
}

/// Spans of the `[service]` table and its fields (empty when a field is not written).
#[derive(Debug, Clone, Default)]
#[expect(
    missing_docs,
    reason = "each field is the span of the key of the same name"
)]
pub struct ServiceSpans {
    pub table: Span,
    pub min_age: Span,
    pub jurisdictions: Span,
    pub editorial_code: Span,
    pub parental_consent_methods: Span,
}

impl Service {
    /// The highest age of digital consent among the service's jurisdictions.
    pub fn highest_consent_age(&self) -> u8 {
        self.jurisdictions
            .iter()
            .map(|j| j.consent_age())
            .max()
            .unwrap_or(13)
    }

    /// The age bands this service admits.
    pub fn admitted_bands(&self) -> impl Iterator<Item = AgeBand> {
        AgeBand::admitted_from(self.min_age)
    }
}

/// The `[defaults]` table: account defaults outside profiling.
#[derive(Debug, Clone)]
pub struct AccountDefaults {
    /// Who sees a new child's profile.
    pub profile_visibility: ProfileVisibility,
    /// Whether a new child's location is shared.
    pub geolocation_sharing: Toggle,
    /// Where each field is written.
    pub spans: DefaultsSpans,
}

/// Spans of `[defaults]`.
#[derive(Debug, Clone, Default)]
#[expect(
    missing_docs,
    reason = "each field is the span of the key of the same name"
)]
pub struct DefaultsSpans {
    pub table: Span,
    pub profile_visibility: Span,
    pub geolocation_sharing: Span,
}

/// One `[[purpose]]`: a way the service profiles children.
#[derive(Debug, Clone)]
pub struct Purpose {
    /// Unique id.
    pub id: PurposeId,
    /// The name children see.
    pub name: String,
    /// What it is for.
    pub category: Category,
    /// What it does, specifically.
    pub description: String,
    /// The privacy setting (toggle) controlling it, if any.
    pub setting: Option<SettingId>,
    /// Its setting's default.
    pub default: Toggle,
    /// Why it may be on by default.
    pub compelling_reason: String,
    /// Its lawful basis.
    pub lawful_basis: LawfulBasis,
    /// Declared intrinsic to the core service.
    pub core: bool,
    /// Why it is core.
    pub core_justification: String,
    /// The `[[data]]` it reads (checked against the declarations by `lint`).
    pub data: Vec<DataId>,
    /// The safeguards in place.
    pub safeguards: Vec<Safeguard>,
    /// Children can never switch it on.
    pub locked_for_children: bool,
    /// A solely automated decision with legal or similarly significant effect.
    pub solely_automated_significant_decision: bool,
    /// What fires it, for engagement features.
    pub triggers: Vec<Trigger>,
    /// IAB TCF v2.2 purpose ids, 1 to 11.
    pub tcf_purposes: Vec<u8>,
    /// Fideslang data-use key.
    pub data_use: Option<String>,
    /// The age-appropriate explanation shown at switch-on, per band.
    pub explain: BandTexts,
    /// The ask-an-adult prompt shown at switch-on, per band.
    pub ask_adult: BandTexts,
    /// Where each field is written.
    pub spans: PurposeSpans,
}

/// Spans of a `[[purpose]]` and its fields (empty when a field is not written).
#[derive(Debug, Clone, Default)]
#[expect(
    missing_docs,
    reason = "each field is the span of the key of the same name"
)]
pub struct PurposeSpans {
    pub table: Span,
    pub id: Span,
    pub category: Span,
    pub description: Span,
    pub setting: Span,
    pub default: Span,
    pub lawful_basis: Span,
    pub core: Span,
    /// One span per entry of `data`, in order.
    pub data: Vec<Span>,
    pub safeguards: Span,
    pub locked_for_children: Span,
    pub solely_automated_significant_decision: Span,
    pub triggers: Span,
    pub tcf_purposes: Span,
    pub explain: Span,
    pub ask_adult: Span,
}

impl Purpose {
    /// A purpose is **required** when it is declared core or its category is `core_service`,
    /// `legal_obligation`, `safeguarding` or `age_assurance` — except behavioural advertising,
    /// which is never required: even marked core, ward keeps its setting and consent.
    pub fn is_required(&self) -> bool {
        self.category != Category::BehaviouralAdvertising
            && (self.core
                || matches!(
                    self.category,
                    Category::CoreService
                        | Category::LegalObligation
                        | Category::Safeguarding
                        | Category::AgeAssurance
                ))
    }

    /// A purpose **a child can switch on** has a setting, is not required and is not locked
    /// for children.
    pub fn child_can_switch_on(&self) -> bool {
        self.setting.is_some() && !self.is_required() && !self.locked_for_children
    }

    /// True when `safeguard` is declared.
    pub fn has_safeguard(&self, safeguard: Safeguard) -> bool {
        self.safeguards.contains(&safeguard)
    }

    /// The span of a field, or of the whole table when the field is not written.
    pub fn span_or_table(&self, field: Span) -> Span {
        if field.is_empty() {
            self.spans.table
        } else {
            field
        }
    }
}

/// One `[[data]]`: an item of personal data and the purpose that collects it.
#[derive(Debug, Clone)]
pub struct DataItem {
    /// Unique id.
    pub id: DataId,
    /// The purpose that collects it (checked by `lint`).
    pub collected_for: String,
    /// The table's span.
    pub span: Span,
    /// The span of `collected_for`.
    pub collected_for_span: Span,
}

/// One `[[cookie]]`.
#[derive(Debug, Clone)]
pub struct Cookie {
    /// The cookie's name, unique.
    pub name: String,
    /// The purposes it serves (checked by `lint`).
    pub purposes: Vec<String>,
    /// Strictly necessary, so set without consent.
    pub essential: bool,
    /// The table's span.
    pub span: Span,
    /// One span per entry of `purposes`.
    pub purpose_spans: Vec<Span>,
    /// The span of `essential`, or of the table.
    pub essential_span: Span,
}

/// `[feed]`: the feed guard's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// What happens to unrated, unassessed content for children.
    pub precaution: Precaution,
    /// When notifications are held back, in the child's local time.
    pub quiet_hours: Option<DailyWindow>,
    /// Items served that the drift score looks back over.
    pub drift_window: u32,
    /// Jensen-Shannon divergence past which the cap applies.
    pub drift_threshold: f64,
    /// Topics a drifted window may hold only a share of.
    pub sensitive_topics: Vec<String>,
    /// The most a drifted window may hold of sensitive topics.
    pub sensitive_cap: f64,
    /// What happens, for children, to an item with a tag or ad category ward does not know.
    pub unknown_tags: UnknownTags,
    /// Tags the service uses that name no harm (`funny`, `tutorial`): known, so they do not
    /// make an item unassessed. None may be a harm tag.
    pub harmless_tags: Vec<String>,
    /// Ad categories the CAP Code does not restrict that the service uses (`toys`): known.
    /// None may be a CAP category.
    pub harmless_ad_categories: Vec<String>,
    /// Days a child's "not for me" holds an item's topics, source and tags back.
    pub feedback_decay_days: u16,
    /// Where `[feed]`'s keys are, for findings.
    pub spans: FeedSpans,
}

/// Spans of `[feed]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[expect(missing_docs, reason = "each field is the span of the key it names")]
pub struct FeedSpans {
    pub table: Span,
    pub unknown_tags: Span,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            precaution: Precaution::Remove,
            quiet_hours: DailyWindow::parse("22:00-07:00"),
            drift_window: 50,
            drift_threshold: 0.35,
            sensitive_topics: [
                "body_image",
                "dieting",
                "weight_loss",
                "mental_health",
                "self_image",
            ]
            .map(String::from)
            .to_vec(),
            sensitive_cap: 0.2,
            unknown_tags: UnknownTags::Remove,
            harmless_tags: Vec::new(),
            harmless_ad_categories: Vec::new(),
            feedback_decay_days: 30,
            spans: FeedSpans::default(),
        }
    }
}

/// `[support]`: where a child who reports something is pointed, and how fast the service
/// answers reports. `declared` is false when the file has no `[support]` table (the defaults
/// then apply, and `ward check` warns if a purpose declares `user_reporting`).
#[derive(Debug, Clone, PartialEq)]
pub struct SupportConfig {
    /// True when the file has a `[support]` table.
    pub declared: bool,
    /// Who a child can talk to ("a grown-up you trust, or our safety team").
    pub talk_to: String,
    /// The helpline the service names (`Childline`).
    pub helpline: String,
    /// How to reach it (`0800 1111, or childline.org.uk`).
    pub helpline_contact: String,
    /// Hours within which a moderator acknowledges a report (an overdue one raises an alert).
    pub report_sla_hours: u16,
    /// True when a `report_sla_hours` is written.
    pub sla_declared: bool,
    /// A linked parent also hears a report's reason (never the item): off by default.
    pub parents_see_reason: bool,
    /// The words a child reads after "not for me", by band.
    pub not_for_me_text: BandTexts,
    /// The words a child reads after reporting, by band.
    pub reported_text: BandTexts,
    /// The words a child reads beside an item taken down after their report, by band.
    pub taken_down_text: BandTexts,
    /// The words above the child's list of what is held back, by band.
    pub held_text: BandTexts,
    /// Where the keys are, for findings.
    pub spans: SupportSpans,
}

/// Spans of `[support]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[expect(missing_docs, reason = "each field is the span of the key it names")]
pub struct SupportSpans {
    pub table: Span,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            declared: false,
            talk_to: "a grown-up you trust, like a parent, carer or teacher".to_owned(),
            helpline: "Childline".to_owned(),
            helpline_contact: "0800 1111, or childline.org.uk".to_owned(),
            report_sla_hours: 24,
            sla_declared: false,
            parents_see_reason: false,
            not_for_me_text: BandTexts::default(),
            reported_text: BandTexts::default(),
            taken_down_text: BandTexts::default(),
            held_text: BandTexts::default(),
            spans: SupportSpans::default(),
        }
    }
}

/// `[consent]`: consent requests.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentConfig {
    /// Days before an unanswered parental consent request expires.
    pub request_ttl_days: u16,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            request_ttl_days: 7,
        }
    }
}

/// A parsed, schema-valid `ward.toml`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `[service]`.
    pub service: Service,
    /// `[defaults]`.
    pub defaults: AccountDefaults,
    /// Every `[[purpose]]`, in file order.
    pub purposes: Vec<Purpose>,
    /// Every `[[data]]`, in file order.
    pub data: Vec<DataItem>,
    /// Every `[[cookie]]`, in file order.
    pub cookies: Vec<Cookie>,
    /// `[feed]`.
    pub feed: FeedConfig,
    /// `[consent]`.
    pub consent: ConsentConfig,
    /// `[tcf]`, when the service sends ad-tech signals.
    pub tcf: Option<tcf::TcfConfig>,
    /// `[support]`.
    pub support: SupportConfig,
    purpose_index: IdMap<PurposeId, usize>,
    data_index: IdMap<DataId, usize>,
}

/// Range limits, kept together so the docs and errors agree.
const MAX_MIN_AGE: i64 = 17;
const MAX_DRIFT_WINDOW: i64 = 10_000;
const MAX_REQUEST_TTL_DAYS: i64 = 90;
use tcf::MAX_TCF_PURPOSE;
const MAX_FEEDBACK_DECAY_DAYS: i64 = 365;
const MAX_REPORT_SLA_HOURS: i64 = 24 * 30;
const MAX_SUPPORT_TEXT: usize = 500;

impl Policy {
    /// Parses `source` strictly. The first schema error stops it.
    pub fn parse(source: &str) -> Result<Self, SchemaError> {
        let raw: RawPolicy = toml::from_str(source).map_err(|error| SchemaError {
            message: tidy_toml_message(error.message()),
            span: error.span().map(Span::new),
        })?;
        Self::from_raw(raw, source)
    }

    /// The purpose with this id.
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purpose_index.get(id).map(|idx| &self.purposes[*idx])
    }

    /// The data item with this id.
    pub fn data_item(&self, id: &str) -> Option<&DataItem> {
        self.data_index.get(id).map(|idx| &self.data[*idx])
    }

    fn from_raw(raw: RawPolicy, source: &str) -> Result<Self, SchemaError> {
        let service = convert_service(raw.service)?;
        let defaults = match raw.defaults {
            Some(spanned) => {
                let table = Span::new(spanned.span());
                let defaults = spanned.into_inner();
                AccountDefaults {
                    profile_visibility: value_or(
                        &defaults.profile_visibility,
                        ProfileVisibility::Private,
                    ),
                    geolocation_sharing: value_or(&defaults.geolocation_sharing, Toggle::Off),
                    spans: DefaultsSpans {
                        table,
                        profile_visibility: span_of(&defaults.profile_visibility),
                        geolocation_sharing: span_of(&defaults.geolocation_sharing),
                    },
                }
            }
            None => AccountDefaults {
                profile_visibility: ProfileVisibility::Private,
                geolocation_sharing: Toggle::Off,
                spans: DefaultsSpans::default(),
            },
        };

        let mut purposes = Vec::with_capacity(raw.purpose.len());
        let mut purpose_index =
            IdMap::with_capacity_and_hasher(raw.purpose.len(), Default::default());
        for spanned in raw.purpose {
            let purpose = convert_purpose(spanned, source)?;
            if let Some(earlier) = purpose_index.get(&purpose.id) {
                let earlier: &Purpose = &purposes[*earlier];
                let earlier_line = crate::span::LineIndex::new(source)
                    .position(earlier.spans.id.start)
                    .line;
                return Err(SchemaError::at(
                    purpose.spans.id.range(),
                    format!(
                        "duplicate purpose id `{}`: it is already declared on line {earlier_line}; give each purpose its own id",
                        purpose.id
                    ),
                ));
            }
            purpose_index.insert(purpose.id.clone(), purposes.len());
            purposes.push(purpose);
        }

        let mut data = Vec::with_capacity(raw.data.len());
        let mut data_index = IdMap::with_capacity_and_hasher(raw.data.len(), Default::default());
        for spanned in raw.data {
            let span = table_span(&spanned, source);
            let item = spanned.into_inner();
            let id_span = item.id.span();
            let id = item.id.into_inner();
            if data_index.contains_key(&id) {
                return Err(SchemaError::at(
                    id_span,
                    format!("duplicate data id `{id}`: give each `[[data]]` its own id"),
                ));
            }
            data_index.insert(id.clone(), data.len());
            data.push(DataItem {
                id,
                collected_for_span: Span::new(item.collected_for.span()),
                collected_for: item.collected_for.into_inner(),
                span,
            });
        }

        let mut cookies: Vec<Cookie> = Vec::with_capacity(raw.cookie.len());
        let mut cookie_names = std::collections::HashSet::with_capacity(raw.cookie.len());
        for spanned in raw.cookie {
            let span = table_span(&spanned, source);
            let cookie = spanned.into_inner();
            let name_span = cookie.name.span();
            let name = cookie.name.into_inner();
            if name.trim().is_empty() {
                return Err(SchemaError::at(
                    name_span,
                    "a cookie `name` cannot be empty",
                ));
            }
            if !cookie_names.insert(name.clone()) {
                return Err(SchemaError::at(
                    name_span,
                    format!(
                        "duplicate cookie name `{name}`: declare each cookie once, listing all its purposes"
                    ),
                ));
            }
            let essential_span = cookie
                .essential
                .as_ref()
                .map_or(span, |e| Span::new(e.span()));
            let (purposes, purpose_spans) = split_spanned(cookie.purposes.into_inner());
            cookies.push(Cookie {
                name,
                purposes,
                essential: cookie.essential.is_some_and(|e| *e.get_ref()),
                span,
                purpose_spans,
                essential_span,
            });
        }

        let feed = match raw.feed {
            Some(spanned) => convert_feed(spanned)?,
            None => FeedConfig::default(),
        };
        let consent = match raw
            .consent
            .map(Spanned::into_inner)
            .and_then(|c| c.request_ttl_days)
        {
            Some(ttl) => ConsentConfig {
                request_ttl_days: in_range(&ttl, 1, MAX_REQUEST_TTL_DAYS, "request_ttl_days")?
                    as u16,
            },
            None => ConsentConfig::default(),
        };
        let support = match raw.support {
            Some(spanned) => convert_support(spanned)?,
            None => SupportConfig::default(),
        };

        let tcf = match raw.tcf {
            Some(spanned) => Some(tcf::convert(spanned, &service.jurisdictions)?),
            None => None,
        };

        Ok(Self {
            service,
            defaults,
            purposes,
            data,
            cookies,
            feed,
            consent,
            tcf,
            support,
            purpose_index,
            data_index,
        })
    }
}

/// The TOML parser's messages end with a newline and sometimes name Rust-side types; keep
/// them to one line a person reads.
fn tidy_toml_message(message: &str) -> String {
    message.trim().replace('\n', "; ")
}

fn span_of<T>(field: &Option<Spanned<T>>) -> Span {
    field
        .as_ref()
        .map_or_else(Span::default, |spanned| Span::new(spanned.span()))
}

fn value_or<T: Copy>(field: &Option<Spanned<T>>, default: T) -> T {
    field.as_ref().map_or(default, |spanned| *spanned.get_ref())
}

fn text_or_empty(field: Option<Spanned<String>>) -> String {
    field.map(Spanned::into_inner).unwrap_or_default()
}

fn split_spanned<T>(items: Vec<Spanned<T>>) -> (Vec<T>, Vec<Span>) {
    items
        .into_iter()
        .map(|item| (Span::new(item.span()), item.into_inner()))
        .map(|(s, v)| (v, s))
        .unzip()
}

fn in_range(value: &Spanned<i64>, low: i64, high: i64, key: &str) -> Result<i64, SchemaError> {
    let number = *value.get_ref();
    if (low..=high).contains(&number) {
        Ok(number)
    } else {
        Err(SchemaError::at(
            value.span(),
            format!("`{key}` must be between {low} and {high}, found {number}"),
        ))
    }
}

fn fraction(value: &Spanned<f64>, key: &str) -> Result<f64, SchemaError> {
    let number = *value.get_ref();
    if (0.0..=1.0).contains(&number) {
        Ok(number)
    } else {
        Err(SchemaError::at(
            value.span(),
            format!("`{key}` must be between 0 and 1, found {number}"),
        ))
    }
}

fn convert_service(spanned: Spanned<raw::RawService>) -> Result<Service, SchemaError> {
    let table = Span::new(spanned.span());
    let raw = spanned.into_inner();
    let min_age = in_range(&raw.min_age, 0, MAX_MIN_AGE, "min_age")? as u8;
    let name_span = raw.name.span();
    let name = raw.name.into_inner();
    if name.trim().is_empty() {
        return Err(SchemaError::at(
            name_span,
            "`name` cannot be empty: write the service's name",
        ));
    }
    let jurisdictions_span = span_of(&raw.jurisdictions);
    let jurisdictions: Vec<Jurisdiction> = match raw.jurisdictions {
        Some(list) => {
            let span = list.span();
            let codes = list
                .into_inner()
                .into_iter()
                .map(|code| {
                    Jurisdiction::parse(code.get_ref())
                        .map_err(|e| SchemaError::at(code.span(), e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if codes.is_empty() {
                return Err(SchemaError::at(
                    span,
                    "`jurisdictions` cannot be empty: list where the service operates, like [\"GB\"]",
                ));
            }
            codes
        }
        None => vec![Jurisdiction::parse("GB").map_err(|e| SchemaError {
            message: e.to_string(),
            span: None,
        })?],
    };
    let time_zone = match raw.time_zone {
        Some(zone) => {
            if jiff::tz::TimeZone::get(zone.get_ref()).is_err() {
                return Err(SchemaError::at(
                    zone.span(),
                    format!(
                        "unknown time zone `{}`: use an IANA name like `Europe/London`",
                        zone.get_ref()
                    ),
                ));
            }
            zone.into_inner()
        }
        None => "Europe/London".to_owned(),
    };
    let adult_age_methods = match raw.adult_age_methods {
        Some(list) => {
            for method in list.get_ref() {
                if *method.get_ref() == AgeMethod::SelfDeclared {
                    return Err(SchemaError::at(
                        method.span(),
                        "`self_declared` cannot be trusted to treat a user as an adult: a child can simply say they are 18 (use `verified` or `estimated`)",
                    ));
                }
            }
            list.into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect()
        }
        None => vec![AgeMethod::Verified, AgeMethod::Estimated],
    };
    let editorial_code_span = span_of(&raw.editorial_code);
    let parental_consent_methods_span = span_of(&raw.parental_consent_methods);
    Ok(Service {
        name,
        kind: *raw.kind.get_ref(),
        min_age,
        jurisdictions,
        time_zone,
        adult_age_methods,
        editorial_code: value_or(&raw.editorial_code, EditorialCode::None),
        parental_consent_methods: raw
            .parental_consent_methods
            .map(|list| {
                list.into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect()
            })
            .unwrap_or_default(),
        spans: ServiceSpans {
            table,
            min_age: Span::new(raw.min_age.span()),
            jurisdictions: jurisdictions_span,
            editorial_code: editorial_code_span,
            parental_consent_methods: parental_consent_methods_span,
        },
    })
}

/// The span of an `[[array]]` table: from its header to the end of the line of its last field.
/// (The parser's span for a dotted key like `explain.6-9 = "…"` covers only the key, hence the
/// line end.)
fn table_span<T: LastFieldEnd>(spanned: &Spanned<T>, source: &str) -> Span {
    let start = spanned.span().start;
    let last = spanned
        .get_ref()
        .last_field_end()
        .max(start)
        .min(source.len());
    let line_end = source
        .get(last..)
        .and_then(|rest| rest.find('\n'))
        .map_or(source.len(), |idx| last + idx);
    Span::new(start..line_end)
}

fn convert_purpose(
    spanned: Spanned<raw::RawPurpose>,
    source: &str,
) -> Result<Purpose, SchemaError> {
    let table = table_span(&spanned, source);
    let raw = spanned.into_inner();
    for (key, text) in [("name", &raw.name), ("description", &raw.description)] {
        if key == "name" && text.get_ref().trim().is_empty() {
            return Err(SchemaError::at(
                text.span(),
                "`name` cannot be empty: children see it next to the toggle",
            ));
        }
    }
    let tcf_purposes = match &raw.tcf_purposes {
        Some(list) => list
            .get_ref()
            .iter()
            .map(|id| in_range(id, 1, MAX_TCF_PURPOSE, "tcf_purposes").map(|n| n as u8))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let spans = PurposeSpans {
        table,
        id: Span::new(raw.id.span()),
        category: Span::new(raw.category.span()),
        description: Span::new(raw.description.span()),
        setting: span_of(&raw.setting),
        default: span_of(&raw.default),
        lawful_basis: Span::new(raw.lawful_basis.span()),
        core: span_of(&raw.core),
        data: raw
            .data
            .as_ref()
            .map(|list| list.get_ref().iter().map(|d| Span::new(d.span())).collect())
            .unwrap_or_default(),
        safeguards: span_of(&raw.safeguards),
        locked_for_children: span_of(&raw.locked_for_children),
        solely_automated_significant_decision: span_of(&raw.solely_automated_significant_decision),
        triggers: span_of(&raw.triggers),
        tcf_purposes: span_of(&raw.tcf_purposes),
        explain: span_of(&raw.explain),
        ask_adult: span_of(&raw.ask_adult),
    };
    let data = match raw.data {
        Some(list) => list
            .into_inner()
            .into_iter()
            .map(|item| {
                let span = item.span();
                DataId::parse(item.get_ref()).map_err(|e| SchemaError::at(span, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(Purpose {
        id: raw.id.into_inner(),
        name: raw.name.into_inner(),
        category: *raw.category.get_ref(),
        description: raw.description.into_inner(),
        setting: raw.setting.map(Spanned::into_inner),
        default: value_or(&raw.default, Toggle::Off),
        compelling_reason: text_or_empty(raw.compelling_reason),
        lawful_basis: *raw.lawful_basis.get_ref(),
        core: value_or(&raw.core, false),
        core_justification: text_or_empty(raw.core_justification),
        data,
        safeguards: raw
            .safeguards
            .map(|l| split_spanned(l.into_inner()).0)
            .unwrap_or_default(),
        locked_for_children: value_or(&raw.locked_for_children, false),
        solely_automated_significant_decision: value_or(
            &raw.solely_automated_significant_decision,
            false,
        ),
        triggers: raw
            .triggers
            .map(|l| split_spanned(l.into_inner()).0)
            .unwrap_or_default(),
        tcf_purposes,
        data_use: raw.data_use.map(Spanned::into_inner),
        explain: raw
            .explain
            .map(|t| BandTexts::from_raw(t.into_inner()))
            .unwrap_or_default(),
        ask_adult: raw
            .ask_adult
            .map(|t| BandTexts::from_raw(t.into_inner()))
            .unwrap_or_default(),
        spans,
    })
}

/// A `harmless_tags` or `harmless_ad_categories` list: no empty word, and none that names
/// what the list would exempt (`is_restricted` gives the restricted word's own spelling).
fn harmless_words(
    list: Option<Spanned<Vec<Spanned<String>>>>,
    key: &str,
    is_restricted: impl Fn(&str) -> Option<&'static str>,
    restricted: &str,
) -> Result<Vec<String>, SchemaError> {
    let mut words = Vec::new();
    for word in list.map(Spanned::into_inner).unwrap_or_default() {
        if normalise(word.get_ref()).is_empty() {
            return Err(SchemaError::at(
                word.span(),
                format!("`{key}` cannot hold an empty word"),
            ));
        }
        if let Some(own) = is_restricted(word.get_ref()) {
            return Err(SchemaError::at(
                word.span(),
                format!(
                    "`{}` is {restricted} `{own}`: it cannot be declared harmless",
                    word.get_ref()
                ),
            ));
        }
        words.push(word.into_inner());
    }
    Ok(words)
}

fn convert_feed(spanned: Spanned<raw::RawFeed>) -> Result<FeedConfig, SchemaError> {
    let table = Span::new(spanned.span());
    let raw = spanned.into_inner();
    let defaults = FeedConfig::default();
    let harmless_tags = harmless_words(
        raw.harmless_tags,
        "harmless_tags",
        |word| HarmTag::parse(word).map(HarmTag::as_str),
        "the harm tag",
    )?;
    let harmless_ad_categories = harmless_words(
        raw.harmless_ad_categories,
        "harmless_ad_categories",
        |word| CapCategory::parse(word).map(CapCategory::as_str),
        "the CAP Code's restricted category",
    )?;
    let quiet_hours = match raw.quiet_hours {
        Some(text) if text.get_ref().is_empty() => None,
        Some(text) => Some(DailyWindow::parse(text.get_ref()).ok_or_else(|| {
            SchemaError::at(
                text.span(),
                format!("`quiet_hours` must be a window like \"22:00-07:00\" (24-hour clock), or \"\" for none; found `{}`", text.get_ref()),
            )
        })?),
        None => defaults.quiet_hours,
    };
    let sensitive_topics = match raw.sensitive_topics {
        Some(list) => {
            let mut topics = Vec::new();
            for topic in list.into_inner() {
                if topic.get_ref().trim().is_empty() {
                    return Err(SchemaError::at(
                        topic.span(),
                        "a sensitive topic cannot be empty",
                    ));
                }
                topics.push(topic.into_inner());
            }
            topics
        }
        None => defaults.sensitive_topics,
    };
    Ok(FeedConfig {
        precaution: value_or(&raw.precaution, defaults.precaution),
        quiet_hours,
        drift_window: match &raw.drift_window {
            Some(window) => in_range(window, 1, MAX_DRIFT_WINDOW, "drift_window")? as u32,
            None => defaults.drift_window,
        },
        drift_threshold: match &raw.drift_threshold {
            Some(threshold) => fraction(threshold, "drift_threshold")?,
            None => defaults.drift_threshold,
        },
        sensitive_topics,
        sensitive_cap: match &raw.sensitive_cap {
            Some(cap) => fraction(cap, "sensitive_cap")?,
            None => defaults.sensitive_cap,
        },
        unknown_tags: value_or(&raw.unknown_tags, defaults.unknown_tags),
        harmless_tags,
        harmless_ad_categories,
        feedback_decay_days: match &raw.feedback_decay_days {
            Some(days) => in_range(days, 1, MAX_FEEDBACK_DECAY_DAYS, "feedback_decay_days")? as u16,
            None => defaults.feedback_decay_days,
        },
        spans: FeedSpans {
            table,
            unknown_tags: span_of(&raw.unknown_tags),
        },
    })
}

fn convert_support(spanned: Spanned<raw::RawSupport>) -> Result<SupportConfig, SchemaError> {
    let table = Span::new(spanned.span());
    let raw = spanned.into_inner();
    let defaults = SupportConfig::default();
    let text = |field: Option<Spanned<String>>, key: &str, default: String| match field {
        Some(text) if text.get_ref().trim().is_empty() => Err(SchemaError::at(
            text.span(),
            format!("`{key}` cannot be empty: leave it out for ward's default"),
        )),
        Some(text) if text.get_ref().chars().count() > MAX_SUPPORT_TEXT => Err(SchemaError::at(
            text.span(),
            format!("`{key}` is at most {MAX_SUPPORT_TEXT} characters"),
        )),
        Some(text) => Ok(text.into_inner()),
        None => Ok(default),
    };
    Ok(SupportConfig {
        declared: true,
        talk_to: text(raw.talk_to, "talk_to", defaults.talk_to)?,
        helpline: text(raw.helpline, "helpline", defaults.helpline)?,
        helpline_contact: text(
            raw.helpline_contact,
            "helpline_contact",
            defaults.helpline_contact,
        )?,
        report_sla_hours: match &raw.report_sla_hours {
            Some(hours) => in_range(hours, 1, MAX_REPORT_SLA_HOURS, "report_sla_hours")? as u16,
            None => defaults.report_sla_hours,
        },
        sla_declared: raw.report_sla_hours.is_some(),
        parents_see_reason: value_or(&raw.parents_see_reason, false),
        not_for_me_text: raw
            .not_for_me_text
            .map(|t| BandTexts::from_raw(t.into_inner()))
            .unwrap_or_default(),
        reported_text: raw
            .reported_text
            .map(|t| BandTexts::from_raw(t.into_inner()))
            .unwrap_or_default(),
        taken_down_text: raw
            .taken_down_text
            .map(|t| BandTexts::from_raw(t.into_inner()))
            .unwrap_or_default(),
        held_text: raw
            .held_text
            .map(|t| BandTexts::from_raw(t.into_inner()))
            .unwrap_or_default(),
        spans: SupportSpans { table },
    })
}
