//! A child's settings and consents, and the switch-on flow of `RUNTIME.md` as an explicit
//! state machine.
//!
//! [`Child`] is the whole of what ward holds about a child between requests; [`ChildState`]
//! is the compact part `decide` reads. Every operation takes the compiled policy and `now`,
//! changes the child, and returns the [`Event`]s it caused (for the ledger and alerts), or a
//! typed [`FlowError`] and changes nothing. Illegal transitions are errors, never ignored.
//!
//! ```text
//!            request_on                  acknowledge (parent needed)        approve
//!   off ───────────────▶ intervention ─────────────────────────▶ pending_parent ──────▶ on
//!    ▲                   (setting still off)  │ acknowledge (own consent)   │ deny/expire
//!    │                                        └─────────────────────────────┼──────────▶ on
//!    └──────────────────────── switch_off (one step, withdraws consent) ◀───┴── off
//! ```
//! Adults switch on in one step. Nothing here stores, sends or reads a clock.
//!
//! **The shown state and `decide` agree.** After every operation [`Child`]'s private
//! `reconcile` brings each slot in line with what [`crate::decide::decide`] answers for the
//! child at that moment: `on` only where `decide` allows, `pending_parent` only where it
//! answers `awaiting_parent` and a request waits, `locked_off` exactly where the purpose is
//! locked for this (non-adult) user. It never switches anything on by itself; it takes away
//! what `decide` would not honour (with the events that say so) and, where a parent can make
//! it good again, asks them. The rules, in order, for each setting:
//!
//! - locked for a child (or a solely automated significant decision): `locked_off`, its
//!   consent withdrawn and any request cancelled; no longer locked: `off`;
//! - a consent for an old purpose version: dropped (`reconsent_required`); a child who needs
//!   a parent has them asked again (a new request, cause `purpose_changed`), anyone else is
//!   `off` with `preferred: on` until they switch it on again;
//! - the child's own consent while they now need a parent's (an age correction, another
//!   jurisdiction): withdrawn, and every linked parent asked (cause `consent_age`), or the
//!   request waits as `no_parent_linked`;
//! - below `min_age`, or `unknown` age: nothing on a consent basis stays on or pending
//!   (consents withdrawn, requests cancelled), and nothing at all stays on below `min_age`;
//! - a parent's consent is `refresh_due` exactly while the child could consent themself;
//! - a waiting request says `no_parent_linked` exactly while no parent is linked, and a
//!   change of that is announced again (`consent_requested`), so the service hears when the
//!   last parent is unlinked and a newly linked parent hears what waits for them.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::age::AgeBand;
use crate::child::{AgeRecord, AgeSnapshot, AgeStatus, age_snapshot};
use crate::compiled::{CompiledPolicy, PurposeIdx, PurposeVersion, SettingIdx, hex_prefix};
use crate::ids::{ChildId, ParentId, PurposeId, SettingId};
use crate::jurisdiction::Jurisdiction;
use crate::policy::{LawfulBasis, ParentalConsentMethod, ProfileVisibility, Toggle};

/// How long an intervention may be acknowledged after it is shown.
pub const INTERVENTION_TTL: SignedDuration = SignedDuration::from_mins(30);

/// A setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingValue {
    /// Off.
    Off,
    /// On.
    On,
    /// Waiting for a parent's answer.
    PendingParent,
    /// Off, and children cannot switch it on.
    LockedOff,
}

/// Who gave a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentGiver {
    /// The user themself (a child at or above the consent age, or an adult).
    User,
    /// A linked parent.
    Parent,
}

/// What `decide` needs to know of a consent: who gave it, for which purpose version, and
/// whether the child must confirm it (they crossed the consent age since a parent gave it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConsentLink {
    /// Who gave it.
    pub giver: ConsentGiver,
    /// The purpose version consented to.
    pub version: PurposeVersion,
    /// The child is now old enough to consent and should confirm.
    pub refresh_due: bool,
}

/// One setting of one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SettingSlot {
    /// What the child asked for.
    pub preferred: SettingValue,
    /// What the policy allows now.
    pub effective: SettingValue,
    /// The live consent behind it, if any.
    pub consent: Option<ConsentLink>,
}

/// The compact state `decide` reads: age, jurisdiction, and one slot per setting (in the
/// compiled policy's setting order). Consent history lives in the store, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildState {
    /// The age status and until when it holds.
    pub age: AgeSnapshot,
    /// The record it came from (to recompute once `age.valid_until` passes).
    pub age_record: Option<AgeRecord>,
    /// The child's jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// One slot per setting.
    pub settings: Box<[SettingSlot]>,
    /// A parent is linked (every child-facing surface shows it).
    pub supervised: bool,
    /// Location sharing.
    pub geolocation: Toggle,
    /// Profile visibility.
    pub profile: ProfileVisibility,
}

impl ConsentLink {
    /// True when `decide` counts this consent (row 11): given to the purpose's current
    /// `version`, and by a parent whenever the child `needs_parent`. Shared by `decide` and
    /// every view of a consent, so "live" means one thing.
    #[inline]
    pub fn is_live(&self, version: PurposeVersion, needs_parent: bool) -> bool {
        self.version == version && (!needs_parent || self.giver == ConsentGiver::Parent)
    }
}

impl SettingSlot {
    /// On, and nothing left to ask: consent is held, or the purpose does not rest on consent.
    fn is_settled_on(&self, consent_basis: bool) -> bool {
        self.effective == SettingValue::On && (self.consent.is_some() || !consent_basis)
    }
}

impl ChildState {
    /// The age status at `now`: the cached one while it holds, else recomputed (a birthday
    /// passed since the cache was made; correct either way, slower once a year).
    pub fn age_status(&self, policy: &CompiledPolicy, now: Timestamp) -> AgeStatus {
        if now.as_second() < self.age.valid_until {
            self.age.status
        } else {
            age_snapshot(self.age_record.as_ref(), policy.policy(), now).status
        }
    }

    /// The slot of a setting.
    pub fn slot(&self, setting: SettingIdx) -> Option<&SettingSlot> {
        self.settings.get(setting.0 as usize)
    }
}

/// What the child must do next after seeing an intervention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Read and acknowledge the texts.
    Acknowledge,
    /// A parent must consent.
    ParentalConsent,
    /// Their age must be established first.
    AgeAssurance,
}

/// The switch-on intervention: what the child is shown before a setting goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervention {
    /// Its id: derived from the child, the setting and the moment it was shown, so the same
    /// inputs give the same id on every node.
    pub id: String,
    /// The child.
    pub child: ChildId,
    /// The setting.
    pub setting: SettingId,
    /// The purpose it controls.
    pub purpose: PurposeId,
    /// The band whose texts are shown.
    pub band: Option<String>,
    /// The age-appropriate explanation.
    pub explain: String,
    /// The ask-an-adult prompt.
    pub ask_adult: String,
    /// What is required next, in order.
    pub required: Vec<Step>,
    /// The version of the texts shown.
    pub text_version: String,
    /// The purpose version it is for.
    pub purpose_version: PurposeVersion,
    /// When it was shown.
    pub shown_at: Timestamp,
    /// After this it cannot be acknowledged.
    pub expires_at: Timestamp,
}

/// Why a parent is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestCause {
    /// The child asked to switch the setting on and saw the texts.
    #[default]
    Asked,
    /// The setting was on with the child's own consent, and their age or jurisdiction now
    /// needs a parent's: the texts are those of the child's band now.
    ConsentAge,
    /// The purpose changed materially since it was consented to or asked for.
    PurposeChanged,
}

/// A parental consent request, waiting for any linked parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// Its id: derived from the child, the setting and the moment it was asked.
    pub id: String,
    /// The setting.
    pub setting: SettingId,
    /// The purpose.
    pub purpose: PurposeId,
    /// The purpose version asked for.
    pub purpose_version: PurposeVersion,
    /// The texts the child saw (so the parent sees exactly the same).
    pub explain: String,
    /// The ask-an-adult prompt the child saw.
    pub ask_adult: String,
    /// Their version.
    pub text_version: String,
    /// When it was asked.
    pub requested_at: Timestamp,
    /// When it lapses (setting back to off).
    pub expires_at: Timestamp,
    /// No parent is linked: the service should invite one.
    pub no_parent_linked: bool,
    /// Why it was asked (requests stored before this field were all `asked`).
    #[serde(default)]
    pub cause: RequestCause,
}

/// A consent: who, what, which text, when, and when withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The setting.
    pub setting: SettingId,
    /// The purpose.
    pub purpose: PurposeId,
    /// The purpose version consented to.
    pub purpose_version: PurposeVersion,
    /// The texts shown.
    pub text_version: String,
    /// Who.
    pub given_by: ConsentGiver,
    /// The parent, when a parent gave it.
    pub parent: Option<ParentId>,
    /// How the parent was verified.
    pub method: Option<ParentalConsentMethod>,
    /// When.
    pub given_at: Timestamp,
    /// When withdrawn, if it was.
    pub withdrawn_at: Option<Timestamp>,
}

/// Who gives a consent as a setting goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Grantor {
    /// The user themself (a child at or above the consent age, or an adult).
    User,
    /// A linked parent, verified by `method`.
    Parent(ParentId, ParentalConsentMethod),
}

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// The child (or adult user) themself.
    Child,
    /// A parent.
    Parent(ParentId),
    /// The service, through the admin API.
    Service,
    /// ward itself: expiry, birthdays, policy changes, session end.
    Ward,
}

/// Something that changed, for the ledger and for alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// About whom.
    pub child: ChildId,
    /// What.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A child was first seen.
    ChildCreated {
        /// Their band (`unknown` until an age record).
        band: String,
        /// Their jurisdiction.
        jurisdiction: String,
    },
    /// An age-assurance record was stored.
    AgeRecorded {
        /// The record.
        record: AgeRecord,
        /// What it makes them.
        band: String,
    },
    /// The child moved to another band (a birthday, or a new record).
    BandChanged {
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// The jurisdiction changed.
    JurisdictionChanged {
        /// To.
        jurisdiction: String,
    },
    /// An intervention was shown.
    InterventionShown {
        /// The setting.
        setting: SettingId,
        /// The band whose texts were shown.
        band: Option<String>,
        /// The texts' version.
        text_version: String,
        /// What was required next.
        required: Vec<Step>,
    },
    /// The child acknowledged an intervention.
    InterventionAcknowledged {
        /// The setting.
        setting: SettingId,
        /// The texts' version.
        text_version: String,
    },
    /// A setting's effective value changed.
    SettingChanged {
        /// The setting.
        setting: SettingId,
        /// From.
        from: SettingValue,
        /// To.
        to: SettingValue,
        /// Who.
        by: Actor,
    },
    /// Parental consent was requested; or, for a request already waiting, its addressees
    /// changed: the last parent was unlinked (`no_parent_linked`, to the service alone) or
    /// a parent was linked to a request nobody could answer.
    ConsentRequested {
        /// The request.
        request: ConsentRequest,
        /// The parents it went to.
        parents: Vec<ParentId>,
    },
    /// Consent was given.
    ConsentGiven {
        /// The record.
        record: ConsentRecord,
    },
    /// A parent refused.
    ConsentDenied {
        /// The setting.
        setting: SettingId,
        /// The parent.
        parent: ParentId,
    },
    /// Consent was withdrawn: switched off, or ended by ward because it no longer counts
    /// (the purpose became locked for the child, the child is below `min_age` or of unknown
    /// age, or it was the child's own and they now need a parent's).
    ConsentWithdrawn {
        /// The setting.
        setting: SettingId,
        /// The purpose.
        purpose: PurposeId,
        /// The consent, with `withdrawn_at` set.
        record: Option<ConsentRecord>,
        /// Who.
        by: Actor,
    },
    /// A consent request lapsed unanswered.
    ConsentRequestExpired {
        /// The setting.
        setting: SettingId,
    },
    /// The child crossed the consent age: a parent's consent stays live but they should
    /// confirm it themselves.
    ConsentRefreshDue {
        /// The setting.
        setting: SettingId,
    },
    /// A purpose changed materially: its consent is no longer live.
    ReconsentRequired {
        /// The setting.
        setting: SettingId,
        /// The purpose.
        purpose: PurposeId,
    },
    /// A new setting, at its default.
    SettingAdded {
        /// The setting.
        setting: SettingId,
        /// Its value.
        value: SettingValue,
    },
    /// A setting whose purpose left the policy.
    SettingRemoved {
        /// The setting.
        setting: SettingId,
    },
    /// A session ended.
    SessionEnded {
        /// Location sharing was on and is now off.
        geolocation_reset: bool,
    },
    /// Location sharing changed.
    GeolocationChanged {
        /// To.
        value: Toggle,
    },
    /// Profile visibility changed.
    ProfileVisibilityChanged {
        /// To.
        value: ProfileVisibility,
    },
    /// A parent was linked: the child is supervised.
    ParentLinked {
        /// The parent.
        parent: ParentId,
    },
    /// A parent was unlinked.
    ParentUnlinked {
        /// The parent.
        parent: ParentId,
        /// Still supervised by another.
        supervised: bool,
    },
    /// A parent (or the service) changed the parental controls.
    ControlsChanged {
        /// Who.
        by: Actor,
    },
    /// The daily screen-time limit was reached (raised once a local day).
    LimitReached {
        /// The limit, in minutes.
        minutes: u16,
        /// The child's local date.
        local_date: jiff::civil::Date,
    },
    /// Bedtime began (raised once a local day).
    BedtimeReached {
        /// The child's local date.
        local_date: jiff::civil::Date,
    },
    /// The feed guard removed content a parent blocked.
    BlockedContent {
        /// How many items.
        items: u32,
        /// Which blocks matched (`tag:gambling`, `source:…`).
        blocks: Vec<String>,
    },
    /// The child's profile for a purpose was reset: the service must drop what it built.
    ProfileReset {
        /// The purpose whose profile is dropped.
        purpose: PurposeId,
        /// Who asked.
        by: Actor,
    },
    /// The child said "not for me": the item is hidden and these names held back.
    NotInterested {
        /// The item's id.
        item: String,
        /// What is held back (`topic:…`, `source:…`, `tag:…`).
        held: Vec<String>,
    },
    /// The child reported an item: it is hidden and the service's moderators must look.
    ReportMade {
        /// The report.
        report: Box<crate::feedback::Report>,
    },
    /// The child said "show again": the item is no longer hidden, these names released.
    ShownAgain {
        /// The item's id.
        item: String,
        /// What is no longer held back.
        released: Vec<String>,
    },
    /// The child released held-back names from their list (the items stay hidden).
    HeldReleased {
        /// What is no longer held back (`topic:…`, …).
        released: Vec<String>,
    },
    /// A moderator acknowledged a report.
    ReportAcknowledged {
        /// The report's id.
        report: String,
    },
    /// A moderator resolved a report.
    ReportResolved {
        /// The report's id.
        report: String,
        /// What was done.
        outcome: crate::feedback::ReportOutcome,
    },
    /// A report was not acknowledged by its due time (raised once).
    ReportOverdue {
        /// The report's id.
        report: String,
        /// When it was due.
        due: Timestamp,
    },
}

/// Why an operation was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// No such setting in the policy.
    #[error("unknown setting `{0}`")]
    UnknownSetting(String),
    /// The purpose is locked for children.
    #[error("`{0}` is locked for children")]
    LockedForChildren(SettingId),
    /// The child is below the service's minimum age.
    #[error("the child is below the service's minimum age")]
    BelowMinAge,
    /// Already on.
    #[error("`{0}` is already on")]
    AlreadyOn(SettingId),
    /// Already waiting for a parent.
    #[error("`{0}` is already waiting for a parent")]
    AlreadyPending(SettingId),
    /// The intervention is for another child.
    #[error("this intervention is for another child")]
    WrongChild,
    /// The intervention expired.
    #[error("the intervention expired; switch the setting on again to see it afresh")]
    InterventionExpired,
    /// The policy's texts or the purpose changed since the intervention was shown.
    #[error("the explanation changed since it was shown; switch the setting on again")]
    InterventionStale,
    /// Age assurance is needed first.
    #[error("the child's age must be established first")]
    AgeAssuranceRequired,
    /// Nothing is waiting for a parent on this setting.
    #[error("`{0}` is not waiting for a parent")]
    NotPending(SettingId),
    /// The request expired.
    #[error("the consent request for `{0}` expired")]
    RequestExpired(SettingId),
    /// The parent is not linked to this child.
    #[error("parent `{0}` is not linked to this child")]
    ParentNotLinked(ParentId),
    /// The parent is already linked.
    #[error("parent `{0}` is already linked to this child")]
    ParentAlreadyLinked(ParentId),
    /// The jurisdiction is not one of the policy's.
    #[error("`{0}` is not one of the service's jurisdictions")]
    JurisdictionNotServed(String),
    /// No consent to confirm.
    #[error("`{0}` has no parent's consent waiting for the child to confirm")]
    NoRefreshDue(SettingId),
}

/// Everything ward holds about a child between requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The service's id for them.
    pub id: ChildId,
    /// What `decide` reads.
    pub state: ChildState,
    /// Their own IANA time zone, when the service gives one.
    pub time_zone: Option<String>,
    /// Linked parents.
    pub parents: Vec<ParentId>,
    /// Waiting consent requests, at most one per setting.
    pub requests: Vec<ConsentRequest>,
    /// Live consents (withdrawn ones are events in the ledger).
    pub consents: Vec<ConsentRecord>,
    /// What linked parents (or the service) set: screen time, bedtime, blocks.
    pub controls: crate::controls::Controls,
    /// Which usage alerts were raised on which local day.
    pub usage: crate::controls::UsageState,
    /// The local day a blocked-content alert was last raised.
    pub blocked_alerted_on: Option<jiff::civil::Date>,
    /// The child's own feedback: what they hid, what that holds back, their reports. Kept
    /// apart from `controls`: it is the child's, seen and undone by them.
    pub feedback: crate::feedback::Feedback,
}

/// The result of asking to switch a setting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchOn {
    /// A child: show this intervention; the setting has not changed.
    Intervention(Box<Intervention>),
    /// An adult: it is on.
    On,
}

/// The result of acknowledging an intervention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledged {
    /// On, with the child's own consent when the basis is consent.
    On,
    /// Waiting for a parent.
    PendingParent(ConsentRequest),
}

/// An operation's result: its outcome and the events it caused.
pub type Outcome<T> = Result<(T, Vec<Event>), FlowError>;

impl Child {
    /// A new child: `unknown` age, the policy's first jurisdiction, settings at their
    /// defaults, profile private and location off (whatever `[defaults]` says, they are what
    /// the Code expects; `ward check` flags a policy that says otherwise).
    pub fn new(id: ChildId, policy: &CompiledPolicy, now: Timestamp) -> (Self, Vec<Event>) {
        let jurisdiction = policy
            .policy()
            .service
            .jurisdictions
            .first()
            .copied()
            .unwrap_or_else(default_jurisdiction);
        let age = age_snapshot(None, policy.policy(), now);
        let settings = policy
            .settings()
            .iter()
            .map(|setting| default_slot(policy, setting.purpose, age.status))
            .collect();
        let child = Self {
            id: id.clone(),
            state: ChildState {
                age,
                age_record: None,
                jurisdiction,
                settings,
                supervised: false,
                geolocation: Toggle::Off,
                profile: ProfileVisibility::Private,
            },
            time_zone: None,
            parents: Vec::new(),
            requests: Vec::new(),
            consents: Vec::new(),
            controls: crate::controls::Controls::default(),
            usage: crate::controls::UsageState::default(),
            blocked_alerted_on: None,
            feedback: crate::feedback::Feedback::default(),
        };
        let event = child.event(
            now,
            EventKind::ChildCreated {
                band: age.status.band_str().to_owned(),
                jurisdiction: jurisdiction.to_string(),
            },
        );
        (child, vec![event])
    }

    pub(crate) fn event(&self, at: Timestamp, kind: EventKind) -> Event {
        Event {
            at,
            child: self.id.clone(),
            kind,
        }
    }

    fn status(&self, policy: &CompiledPolicy, now: Timestamp) -> AgeStatus {
        self.state.age_status(policy, now)
    }

    pub(crate) fn setting_idx(
        &self,
        policy: &CompiledPolicy,
        setting: &str,
    ) -> Result<SettingIdx, FlowError> {
        policy
            .setting_idx(setting)
            .filter(|idx| (idx.0 as usize) < self.state.settings.len())
            .ok_or_else(|| FlowError::UnknownSetting(setting.to_owned()))
    }

    fn set_effective(
        &mut self,
        policy: &CompiledPolicy,
        idx: SettingIdx,
        to: SettingValue,
        by: Actor,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let slot = &mut self.state.settings[idx.0 as usize];
        let from = slot.effective;
        slot.effective = to;
        if from != to {
            let setting = policy.setting(idx).id.clone();
            events.push(self.event(
                now,
                EventKind::SettingChanged {
                    setting,
                    from,
                    to,
                    by,
                },
            ));
        }
    }

    /// Records an age-assurance record and what it makes the child now, and reconciles the
    /// settings with it: below the consent age the child's own consents end and a parent is
    /// asked; below `min_age`, or `unknown`, consent purposes go off; locked purposes lock or
    /// unlock (see the module docs).
    pub fn set_age_record(
        &mut self,
        policy: &CompiledPolicy,
        record: AgeRecord,
        now: Timestamp,
    ) -> Vec<Event> {
        self.state.age_record = Some(record);
        let before = self.state.age.status;
        self.state.age = record.snapshot(&policy.policy().service.adult_age_methods, now);
        let mut events = vec![self.event(
            now,
            EventKind::AgeRecorded {
                record,
                band: self.state.age.status.band_str().to_owned(),
            },
        )];
        self.band_changed(before, now, &mut events);
        self.reconcile(policy, now, &mut events);
        events
    }

    /// Sets the child's jurisdiction (one of the policy's).
    pub fn set_jurisdiction(
        &mut self,
        policy: &CompiledPolicy,
        jurisdiction: Jurisdiction,
        now: Timestamp,
    ) -> Outcome<()> {
        if !policy
            .policy()
            .service
            .jurisdictions
            .contains(&jurisdiction)
        {
            return Err(FlowError::JurisdictionNotServed(jurisdiction.to_string()));
        }
        if self.state.jurisdiction == jurisdiction {
            return Ok(((), Vec::new()));
        }
        self.state.jurisdiction = jurisdiction;
        let mut events = vec![self.event(
            now,
            EventKind::JurisdictionChanged {
                jurisdiction: jurisdiction.to_string(),
            },
        )];
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// Lets time pass: birthdays (band changes, crossing the consent age) and consent
    /// requests expiring, then reconciles. The store calls it before acting on a child, and
    /// the server before showing or deciding one.
    pub fn observe(&mut self, policy: &CompiledPolicy, now: Timestamp) -> Vec<Event> {
        let mut events = Vec::new();
        if now.as_second() >= self.state.age.valid_until {
            let before = self.state.age.status;
            self.state.age = age_snapshot(self.state.age_record.as_ref(), policy.policy(), now);
            self.band_changed(before, now, &mut events);
        }
        let expired: Vec<SettingId> = self
            .requests
            .iter()
            .filter(|r| r.expires_at <= now)
            .map(|r| r.setting.clone())
            .collect();
        for setting in expired {
            self.requests.retain(|r| r.setting != setting);
            if let Ok(idx) = self.setting_idx(policy, setting.as_str()) {
                events.push(self.event(
                    now,
                    EventKind::ConsentRequestExpired {
                        setting: setting.clone(),
                    },
                ));
                self.state.settings[idx.0 as usize].preferred = SettingValue::Off;
                self.set_effective(
                    policy,
                    idx,
                    SettingValue::Off,
                    Actor::Ward,
                    now,
                    &mut events,
                );
            }
        }
        self.reconcile(policy, now, &mut events);
        events
    }

    fn band_changed(&self, before: AgeStatus, now: Timestamp, events: &mut Vec<Event>) {
        let after = self.state.age.status;
        if before.band_str() != after.band_str() {
            events.push(self.event(
                now,
                EventKind::BandChanged {
                    from: before.band_str().to_owned(),
                    to: after.band_str().to_owned(),
                },
            ));
        }
    }

    /// Brings every setting in line with what `decide` answers for this child at `now` (the
    /// rules are in the module docs). Every operation that changes the child ends here, so
    /// no operation, age record, jurisdiction, parent link, policy change or moment can leave
    /// a setting shown `on` that `decide` denies, or `pending_parent` with nobody asked.
    ///
    /// Allocation-free when every slot already agrees (the common case on each write): it
    /// only reads the slots and compares ids; events and requests are built when something
    /// changes.
    fn reconcile(&mut self, policy: &CompiledPolicy, now: Timestamp, events: &mut Vec<Event>) {
        let status = self.status(policy, now);
        let adult = status.is_adult();
        let below = !adult && status.is_below(policy.min_age());
        // Nothing on a consent basis can be on or asked for: below `min_age` the service
        // refuses the child everything, and `unknown` must establish an age first.
        let no_consent_here = below || status == AgeStatus::Unknown;
        let needs_parent = status.needs_parent(self.state.jurisdiction, policy.min_age());
        let no_parent = self.parents.is_empty();
        let n_slots = self.state.settings.len().min(policy.settings().len());
        for slot_idx in 0..n_slots {
            let idx = SettingIdx(slot_idx as u16);
            let setting = &policy.settings()[slot_idx];
            let purpose = policy.purpose(setting.purpose);
            let slot = self.state.settings[slot_idx];
            let request_pos = self.requests.iter().position(|r| r.setting == setting.id);

            if !adult && (purpose.locked_for_children || purpose.automated_significant) {
                if slot.effective != SettingValue::LockedOff
                    || slot.consent.is_some()
                    || request_pos.is_some()
                {
                    self.withdraw(policy, idx, Actor::Ward, now, events);
                    self.state.settings[slot_idx].preferred = SettingValue::LockedOff;
                    self.set_effective(
                        policy,
                        idx,
                        SettingValue::LockedOff,
                        Actor::Ward,
                        now,
                        events,
                    );
                }
                continue;
            }
            if slot.effective == SettingValue::LockedOff {
                // No longer locked (an adult now, or the policy unlocked it): off, theirs to
                // choose.
                self.withdraw(policy, idx, Actor::Ward, now, events);
                self.state.settings[slot_idx].preferred = SettingValue::Off;
                self.set_effective(policy, idx, SettingValue::Off, Actor::Ward, now, events);
                continue;
            }

            let mut ask_parent = None;
            if let Some(link) = slot.consent {
                if link.version != purpose.version {
                    self.drop_consent(idx, setting.id.as_str());
                    events.push(self.event(
                        now,
                        EventKind::ReconsentRequired {
                            setting: setting.id.clone(),
                            purpose: purpose.id.clone(),
                        },
                    ));
                    if purpose.consent_basis
                        && slot.effective == SettingValue::On
                        && needs_parent
                        && !no_consent_here
                    {
                        ask_parent = Some(RequestCause::PurposeChanged);
                    }
                } else if slot.effective != SettingValue::On || no_consent_here {
                    self.end_consent(policy, idx, Actor::Ward, now, events);
                } else if needs_parent && link.giver == ConsentGiver::User {
                    // Their own consent, from someone who now needs a parent's.
                    self.end_consent(policy, idx, Actor::Ward, now, events);
                    ask_parent = Some(RequestCause::ConsentAge);
                } else if link.giver == ConsentGiver::Parent && link.refresh_due == needs_parent {
                    // Due exactly while the child could consent themself; a correction back
                    // below the consent age makes the parent's consent the right one again.
                    if let Some(consent) = &mut self.state.settings[slot_idx].consent {
                        consent.refresh_due = !needs_parent;
                    }
                    if !needs_parent {
                        events.push(self.event(
                            now,
                            EventKind::ConsentRefreshDue {
                                setting: setting.id.clone(),
                            },
                        ));
                    }
                }
            }

            if let Some(pos) = request_pos {
                let stale = self.requests[pos].purpose_version != purpose.version;
                let flag_wrong = self.requests[pos].no_parent_linked != no_parent;
                if slot.effective != SettingValue::PendingParent
                    || !purpose.consent_basis
                    || no_consent_here
                {
                    self.requests.remove(pos);
                } else if stale {
                    self.requests.remove(pos);
                    events.push(self.event(
                        now,
                        EventKind::ReconsentRequired {
                            setting: setting.id.clone(),
                            purpose: purpose.id.clone(),
                        },
                    ));
                    if needs_parent {
                        ask_parent = Some(RequestCause::PurposeChanged);
                    }
                } else if flag_wrong {
                    // The service hears that nobody can answer it now (the last parent was
                    // unlinked), or a newly linked parent hears what waits for them.
                    let request = &mut self.requests[pos];
                    request.no_parent_linked = no_parent;
                    let request = request.clone();
                    events.push(self.event(
                        now,
                        EventKind::ConsentRequested {
                            request,
                            parents: self.parents.clone(),
                        },
                    ));
                }
            }

            if let Some(cause) = ask_parent {
                let request = self.parent_request(policy, idx, status, cause, now);
                self.requests.push(request.clone());
                self.state.settings[slot_idx].preferred = SettingValue::On;
                self.set_effective(
                    policy,
                    idx,
                    SettingValue::PendingParent,
                    Actor::Ward,
                    now,
                    events,
                );
                events.push(self.event(
                    now,
                    EventKind::ConsentRequested {
                        request,
                        parents: self.parents.clone(),
                    },
                ));
                continue;
            }
            let slot = self.state.settings[slot_idx];
            let waiting = self.requests.iter().any(|r| r.setting == setting.id);
            let target = match slot.effective {
                SettingValue::PendingParent if !waiting => SettingValue::Off,
                SettingValue::On if below || (purpose.consent_basis && slot.consent.is_none()) => {
                    SettingValue::Off
                }
                other => other,
            };
            self.set_effective(policy, idx, target, Actor::Ward, now, events);
        }
    }

    /// A request to every linked parent for a setting the child did not just ask for (see
    /// [`RequestCause`]), with the texts of the child's band now.
    fn parent_request(
        &self,
        policy: &CompiledPolicy,
        idx: SettingIdx,
        status: AgeStatus,
        cause: RequestCause,
        now: Timestamp,
    ) -> ConsentRequest {
        let setting = policy.setting(idx);
        let declared = policy.declared_purpose(setting.purpose);
        let purpose = policy.purpose(setting.purpose);
        let band = status.text_band(policy.min_age());
        let text = |texts: &crate::policy::BandTexts| {
            band.and_then(|b| texts.for_band(b))
                .unwrap_or_default()
                .to_owned()
        };
        // Its own kind of id, salted with the cause and version, so it never collides with
        // the request the child's own acknowledgement makes at the same instant.
        let kind = match cause {
            RequestCause::Asked => "request",
            RequestCause::ConsentAge => "request-consent-age",
            RequestCause::PurposeChanged => "request-purpose-changed",
        };
        let salted = format!("{}\0{}", setting.id, purpose.version.0);
        ConsentRequest {
            id: derived_id(kind, &self.id, &salted, now),
            setting: setting.id.clone(),
            purpose: purpose.id.clone(),
            purpose_version: purpose.version,
            explain: text(&declared.explain),
            ask_adult: text(&declared.ask_adult),
            text_version: policy.text_version(setting.purpose, band),
            requested_at: now,
            expires_at: request_expiry(policy, now),
            no_parent_linked: self.parents.is_empty(),
            cause,
        }
    }

    /// Asks to switch a setting on: an adult's goes on at once; a child gets an intervention
    /// and the setting stays as it is.
    pub fn request_on(
        &mut self,
        policy: &CompiledPolicy,
        setting: &str,
        now: Timestamp,
    ) -> Outcome<SwitchOn> {
        let idx = self.setting_idx(policy, setting)?;
        let setting_id = policy.setting(idx).id.clone();
        let purpose_idx = policy.setting(idx).purpose;
        let purpose = policy.purpose(purpose_idx);
        let status = self.status(policy, now);
        let slot = self.state.settings[idx.0 as usize];
        if !status.is_adult() {
            if purpose.locked_for_children {
                return Err(FlowError::LockedForChildren(setting_id));
            }
            if status.is_below(policy.min_age()) {
                return Err(FlowError::BelowMinAge);
            }
        }
        match slot.effective {
            SettingValue::On if slot.is_settled_on(purpose.consent_basis) => {
                return Err(FlowError::AlreadyOn(setting_id));
            }
            SettingValue::PendingParent => return Err(FlowError::AlreadyPending(setting_id)),
            _ => {}
        }
        if status.is_adult() {
            let mut events = Vec::new();
            self.turn_on(
                policy,
                idx,
                Grantor::User,
                policy.text_version(purpose_idx, None),
                now,
                &mut events,
            );
            self.reconcile(policy, now, &mut events);
            return Ok((SwitchOn::On, events));
        }
        let intervention = self.intervention(policy, idx, purpose_idx, status, now);
        let events = vec![self.event(
            now,
            EventKind::InterventionShown {
                setting: setting_id,
                band: intervention.band.clone(),
                text_version: intervention.text_version.clone(),
                required: intervention.required.clone(),
            },
        )];
        Ok((SwitchOn::Intervention(Box::new(intervention)), events))
    }

    fn intervention(
        &self,
        policy: &CompiledPolicy,
        idx: SettingIdx,
        purpose_idx: PurposeIdx,
        status: AgeStatus,
        now: Timestamp,
    ) -> Intervention {
        let declared = policy.declared_purpose(purpose_idx);
        let purpose = policy.purpose(purpose_idx);
        let band = status.text_band(policy.min_age());
        let text = |texts: &crate::policy::BandTexts| {
            band.and_then(|b| texts.for_band(b))
                .unwrap_or_default()
                .to_owned()
        };
        let mut required = vec![Step::Acknowledge];
        if purpose.consent_basis {
            if status == AgeStatus::Unknown {
                required.push(Step::AgeAssurance);
            } else if status.needs_parent(self.state.jurisdiction, policy.min_age()) {
                required.push(Step::ParentalConsent);
            }
        }
        Intervention {
            id: derived_id(
                "intervention",
                &self.id,
                policy.setting(idx).id.as_str(),
                now,
            ),
            child: self.id.clone(),
            setting: policy.setting(idx).id.clone(),
            purpose: declared.id.clone(),
            band: band.map(|b: AgeBand| b.as_str().to_owned()),
            explain: text(&declared.explain),
            ask_adult: text(&declared.ask_adult),
            required,
            text_version: policy.text_version(purpose_idx, band),
            purpose_version: purpose.version,
            shown_at: now,
            expires_at: now.saturating_add(INTERVENTION_TTL).unwrap_or(now),
        }
    }

    /// The child acknowledges an intervention: on with their own consent, or waiting for a
    /// parent (every linked parent is asked; with none, the request waits as
    /// `no_parent_linked`), or refused until their age is established.
    pub fn acknowledge(
        &mut self,
        policy: &CompiledPolicy,
        intervention: &Intervention,
        now: Timestamp,
    ) -> Outcome<Acknowledged> {
        if intervention.child != self.id {
            return Err(FlowError::WrongChild);
        }
        if now >= intervention.expires_at {
            return Err(FlowError::InterventionExpired);
        }
        let idx = self.setting_idx(policy, intervention.setting.as_str())?;
        let purpose_idx = policy.setting(idx).purpose;
        let status = self.status(policy, now);
        // What `request_on` refuses, refused here too: the age record or the policy may have
        // changed since the intervention was shown.
        if !status.is_adult() {
            let purpose = policy.purpose(purpose_idx);
            if purpose.locked_for_children || purpose.automated_significant {
                return Err(FlowError::LockedForChildren(intervention.setting.clone()));
            }
            if status.is_below(policy.min_age()) {
                return Err(FlowError::BelowMinAge);
            }
        }
        // The texts or the purpose changed, or the child's band did: what they saw is not
        // what they would be agreeing to.
        let fresh = self.intervention(policy, idx, purpose_idx, status, now);
        if fresh.text_version != intervention.text_version
            || fresh.purpose_version != intervention.purpose_version
        {
            return Err(FlowError::InterventionStale);
        }
        let slot = self.state.settings[idx.0 as usize];
        if slot.effective == SettingValue::PendingParent {
            return Err(FlowError::AlreadyPending(intervention.setting.clone()));
        }
        if slot.is_settled_on(policy.purpose(purpose_idx).consent_basis) {
            return Err(FlowError::AlreadyOn(intervention.setting.clone()));
        }
        if fresh.required.contains(&Step::AgeAssurance) {
            return Err(FlowError::AgeAssuranceRequired);
        }
        let mut events = vec![self.event(
            now,
            EventKind::InterventionAcknowledged {
                setting: intervention.setting.clone(),
                text_version: intervention.text_version.clone(),
            },
        )];
        if fresh.required.contains(&Step::ParentalConsent) {
            let request = ConsentRequest {
                id: derived_id("request", &self.id, intervention.setting.as_str(), now),
                setting: intervention.setting.clone(),
                purpose: intervention.purpose.clone(),
                purpose_version: intervention.purpose_version,
                explain: intervention.explain.clone(),
                ask_adult: intervention.ask_adult.clone(),
                text_version: intervention.text_version.clone(),
                requested_at: now,
                expires_at: request_expiry(policy, now),
                no_parent_linked: self.parents.is_empty(),
                cause: RequestCause::Asked,
            };
            self.state.settings[idx.0 as usize].preferred = SettingValue::On;
            self.set_effective(
                policy,
                idx,
                SettingValue::PendingParent,
                Actor::Child,
                now,
                &mut events,
            );
            self.requests.retain(|r| r.setting != request.setting);
            self.requests.push(request.clone());
            events.push(self.event(
                now,
                EventKind::ConsentRequested {
                    request: request.clone(),
                    parents: self.parents.clone(),
                },
            ));
            return Ok((Acknowledged::PendingParent(request), events));
        }
        self.turn_on(
            policy,
            idx,
            Grantor::User,
            intervention.text_version.clone(),
            now,
            &mut events,
        );
        self.reconcile(policy, now, &mut events);
        Ok((Acknowledged::On, events))
    }

    fn turn_on(
        &mut self,
        policy: &CompiledPolicy,
        idx: SettingIdx,
        grantor: Grantor,
        text_version: String,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let purpose_idx = policy.setting(idx).purpose;
        let purpose = policy.purpose(purpose_idx);
        let (giver, parent, method, by) = match grantor {
            Grantor::User => (ConsentGiver::User, None, None, Actor::Child),
            Grantor::Parent(parent, method) => (
                ConsentGiver::Parent,
                Some(parent.clone()),
                Some(method),
                Actor::Parent(parent),
            ),
        };
        let slot = &mut self.state.settings[idx.0 as usize];
        slot.preferred = SettingValue::On;
        if policy.declared_purpose(purpose_idx).lawful_basis == LawfulBasis::Consent {
            slot.consent = Some(ConsentLink {
                giver,
                version: purpose.version,
                refresh_due: false,
            });
            let record = ConsentRecord {
                setting: policy.setting(idx).id.clone(),
                purpose: purpose.id.clone(),
                purpose_version: purpose.version,
                text_version,
                given_by: giver,
                parent,
                method,
                given_at: now,
                withdrawn_at: None,
            };
            self.consents.retain(|c| c.setting != record.setting);
            self.consents.push(record.clone());
            events.push(self.event(now, EventKind::ConsentGiven { record }));
        }
        self.set_effective(policy, idx, SettingValue::On, by, now, events);
    }

    fn pending_request(
        &self,
        policy: &CompiledPolicy,
        setting: &str,
        parent: &ParentId,
        now: Timestamp,
    ) -> Result<(SettingIdx, ConsentRequest), FlowError> {
        let idx = self.setting_idx(policy, setting)?;
        let setting_id = policy.setting(idx).id.clone();
        if !self.parents.contains(parent) {
            return Err(FlowError::ParentNotLinked(parent.clone()));
        }
        let request = self
            .requests
            .iter()
            .find(|r| r.setting == setting_id)
            .cloned();
        match request {
            Some(request) if request.expires_at <= now => {
                Err(FlowError::RequestExpired(setting_id))
            }
            Some(request)
                if self.state.settings[idx.0 as usize].effective == SettingValue::PendingParent =>
            {
                Ok((idx, request))
            }
            _ => Err(FlowError::NotPending(setting_id)),
        }
    }

    /// A linked parent approves a waiting request: on, with their consent (the first answer
    /// stands; a second finds nothing pending).
    pub fn approve(
        &mut self,
        policy: &CompiledPolicy,
        setting: &str,
        parent: &ParentId,
        method: ParentalConsentMethod,
        now: Timestamp,
    ) -> Outcome<()> {
        let (idx, request) = self.pending_request(policy, setting, parent, now)?;
        if request.purpose_version != policy.purpose(policy.setting(idx).purpose).version {
            // The purpose changed since the child asked: the parent would consent to something
            // other than what the child saw.
            return Err(FlowError::InterventionStale);
        }
        self.requests.retain(|r| r.setting != request.setting);
        let mut events = Vec::new();
        self.turn_on(
            policy,
            idx,
            Grantor::Parent(parent.clone(), method),
            request.text_version,
            now,
            &mut events,
        );
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// A linked parent denies a waiting request: off.
    pub fn deny(
        &mut self,
        policy: &CompiledPolicy,
        setting: &str,
        parent: &ParentId,
        now: Timestamp,
    ) -> Outcome<()> {
        let (idx, request) = self.pending_request(policy, setting, parent, now)?;
        self.requests.retain(|r| r.setting != request.setting);
        let mut events = vec![self.event(
            now,
            EventKind::ConsentDenied {
                setting: request.setting.clone(),
                parent: parent.clone(),
            },
        )];
        self.state.settings[idx.0 as usize].preferred = SettingValue::Off;
        self.set_effective(
            policy,
            idx,
            SettingValue::Off,
            Actor::Parent(parent.clone()),
            now,
            &mut events,
        );
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// Cancels any waiting request and withdraws any consent (with its event).
    fn withdraw(
        &mut self,
        policy: &CompiledPolicy,
        idx: SettingIdx,
        by: Actor,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let setting = &policy.setting(idx).id;
        self.requests.retain(|r| r.setting != *setting);
        self.end_consent(policy, idx, by, now, events);
    }

    /// Withdraws the setting's consent, if any, recording who ended it.
    fn end_consent(
        &mut self,
        policy: &CompiledPolicy,
        idx: SettingIdx,
        by: Actor,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let setting = policy.setting(idx).id.clone();
        if let Some(record) = self.drop_consent(idx, setting.as_str()) {
            let record = record.map(|mut record| {
                record.withdrawn_at = Some(now);
                record
            });
            let purpose = policy.purpose(policy.setting(idx).purpose).id.clone();
            events.push(self.event(
                now,
                EventKind::ConsentWithdrawn {
                    setting,
                    purpose,
                    record,
                    by,
                },
            ));
        }
    }

    /// Removes the setting's consent link and record without an event: `None` when there
    /// was no link, else the record (if one was kept).
    fn drop_consent(&mut self, idx: SettingIdx, setting: &str) -> Option<Option<ConsentRecord>> {
        self.state.settings[idx.0 as usize].consent.take()?;
        let record = self
            .consents
            .iter()
            .position(|c| c.setting.as_str() == setting)
            .map(|pos| self.consents.remove(pos));
        Some(record)
    }

    /// Switches a setting off in one step, withdrawing its consent and any waiting request.
    /// Switching off what is already off changes nothing and is not an error.
    pub fn switch_off(
        &mut self,
        policy: &CompiledPolicy,
        setting: &str,
        by: Actor,
        now: Timestamp,
    ) -> Outcome<()> {
        let idx = self.setting_idx(policy, setting)?;
        let mut events = Vec::new();
        self.withdraw(policy, idx, by.clone(), now, &mut events);
        let slot = &mut self.state.settings[idx.0 as usize];
        if slot.effective != SettingValue::LockedOff {
            slot.preferred = SettingValue::Off;
            self.set_effective(policy, idx, SettingValue::Off, by, now, &mut events);
        }
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// A child who crossed the consent age confirms a parent's consent as their own.
    pub fn confirm_consent(
        &mut self,
        policy: &CompiledPolicy,
        setting: &str,
        now: Timestamp,
    ) -> Outcome<()> {
        let idx = self.setting_idx(policy, setting)?;
        let slot = self.state.settings[idx.0 as usize];
        if !slot.consent.is_some_and(|c| c.refresh_due) {
            return Err(FlowError::NoRefreshDue(policy.setting(idx).id.clone()));
        }
        let purpose_idx = policy.setting(idx).purpose;
        let status = self.status(policy, now);
        let text_version = policy.text_version(purpose_idx, status.text_band(policy.min_age()));
        let mut events = Vec::new();
        self.turn_on(policy, idx, Grantor::User, text_version, now, &mut events);
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// Sets location sharing.
    pub fn set_geolocation(&mut self, value: Toggle, now: Timestamp) -> Vec<Event> {
        if self.state.geolocation == value {
            return Vec::new();
        }
        self.state.geolocation = value;
        vec![self.event(now, EventKind::GeolocationChanged { value })]
    }

    /// Sets profile visibility.
    pub fn set_profile_visibility(
        &mut self,
        value: ProfileVisibility,
        now: Timestamp,
    ) -> Vec<Event> {
        if self.state.profile == value {
            return Vec::new();
        }
        self.state.profile = value;
        vec![self.event(now, EventKind::ProfileVisibilityChanged { value })]
    }

    /// A session ended: location sharing goes back to off (Standard 10).
    pub fn end_session(&mut self, now: Timestamp) -> Vec<Event> {
        let geolocation_reset = self.state.geolocation == Toggle::On;
        self.state.geolocation = Toggle::Off;
        vec![self.event(now, EventKind::SessionEnded { geolocation_reset })]
    }

    /// Links a parent: the child is supervised, and waiting requests now reach them (a
    /// request that waited with no parent linked is announced again, to them).
    pub fn link_parent(
        &mut self,
        policy: &CompiledPolicy,
        parent: ParentId,
        now: Timestamp,
    ) -> Outcome<()> {
        if self.parents.contains(&parent) {
            return Err(FlowError::ParentAlreadyLinked(parent));
        }
        self.parents.push(parent.clone());
        self.state.supervised = true;
        let mut events = vec![self.event(now, EventKind::ParentLinked { parent })];
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// Unlinks a parent. When it was the last, waiting requests are marked
    /// `no_parent_linked` and announced again, so the service can invite another.
    pub fn unlink_parent(
        &mut self,
        policy: &CompiledPolicy,
        parent: &ParentId,
        now: Timestamp,
    ) -> Outcome<()> {
        if !self.parents.contains(parent) {
            return Err(FlowError::ParentNotLinked(parent.clone()));
        }
        self.parents.retain(|p| p != parent);
        self.state.supervised = !self.parents.is_empty();
        let supervised = self.state.supervised;
        let mut events = vec![self.event(
            now,
            EventKind::ParentUnlinked {
                parent: parent.clone(),
                supervised,
            },
        )];
        self.reconcile(policy, now, &mut events);
        Ok(((), events))
    }

    /// Moves the child from `old` to `new` policy: removed purposes drop their settings, new
    /// ones start at their defaults, the age is judged by the new policy's trusted methods,
    /// and then every setting is reconciled with what `decide` answers under `new` (a purpose
    /// whose category, description, data or lawful basis changed loses its consent, and its
    /// parent is asked again or it goes off; a purpose now locked for children is locked off
    /// with its consent withdrawn; one no longer locked is off; a raised `min_age` switches
    /// off what a child now below it had on).
    pub fn apply_policy_change(
        &mut self,
        old: &CompiledPolicy,
        new: &CompiledPolicy,
        now: Timestamp,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let before = self.state.age.status;
        self.state.age = age_snapshot(self.state.age_record.as_ref(), new.policy(), now);
        self.band_changed(before, now, &mut events);
        let status = self.status(new, now);
        let mut settings = Vec::with_capacity(new.settings().len());
        for setting in new.settings() {
            let old_slot = old
                .setting_idx(setting.id.as_str())
                .and_then(|idx| self.state.settings.get(idx.0 as usize).copied());
            let slot = match old_slot {
                Some(slot) => slot,
                None => {
                    let slot = default_slot(new, setting.purpose, status);
                    events.push(self.event(
                        now,
                        EventKind::SettingAdded {
                            setting: setting.id.clone(),
                            value: slot.effective,
                        },
                    ));
                    slot
                }
            };
            settings.push(slot);
        }
        for setting in old.settings() {
            if new.setting_idx(setting.id.as_str()).is_none() {
                self.requests.retain(|r| r.setting != setting.id);
                self.consents.retain(|c| c.setting != setting.id);
                events.push(self.event(
                    now,
                    EventKind::SettingRemoved {
                        setting: setting.id.clone(),
                    },
                ));
            }
        }
        self.state.settings = settings.into_boxed_slice();
        self.reconcile(new, now, &mut events);
        events
    }
}

/// When a consent request asked at `now` lapses (`[consent] request_ttl_days`).
fn request_expiry(policy: &CompiledPolicy, now: Timestamp) -> Timestamp {
    let ttl = SignedDuration::from_hours(24 * i64::from(policy.policy().consent.request_ttl_days));
    now.saturating_add(ttl).unwrap_or(now)
}

/// A stable id for something a child caused at `now`: the first 16 bytes of SHA-256 over a
/// kind, the child, the setting and the instant, in hex. Pure, so every node derives the same.
fn derived_id(kind: &str, child: &ChildId, setting: &str, now: Timestamp) -> String {
    let mut hasher = Sha256::new();
    for part in [kind, child.as_str(), setting] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(now.as_nanosecond().to_be_bytes());
    hex_prefix(&hasher.finalize(), 16)
}

fn default_jurisdiction() -> Jurisdiction {
    // INVARIANT: `GB` is in the consent-age table; a policy always has at least one
    // jurisdiction anyway, so this is never reached.
    Jurisdiction::parse("GB").unwrap_or_else(|_| unreachable_jurisdiction())
}

#[expect(
    clippy::panic,
    reason = "the consent-age table is a constant that contains GB"
)]
fn unreachable_jurisdiction() -> Jurisdiction {
    panic!("the consent-age table lost GB")
}

/// A setting as a new child (or a new purpose) starts: the policy's default, as `decide`
/// would honour it. Locked for a child: `locked_off`. A default of `on` that `decide` would
/// not allow — a consent purpose (nobody has consented yet), or a child below `min_age` — is
/// `off` with `preferred: on`: the switch-on flow gathers the consent.
pub(crate) fn default_slot(
    policy: &CompiledPolicy,
    purpose: PurposeIdx,
    status: AgeStatus,
) -> SettingSlot {
    let compiled = policy.purpose(purpose);
    let child = !status.is_adult();
    if child && (compiled.locked_for_children || compiled.automated_significant) {
        return SettingSlot {
            preferred: SettingValue::LockedOff,
            effective: SettingValue::LockedOff,
            consent: None,
        };
    }
    let preferred = match policy.declared_purpose(purpose).default {
        Toggle::On => SettingValue::On,
        Toggle::Off => SettingValue::Off,
    };
    let below = child && status.is_below(policy.min_age());
    let honoured = !compiled.consent_basis && !below;
    SettingSlot {
        preferred,
        effective: if honoured {
            preferred
        } else {
            SettingValue::Off
        },
        consent: None,
    }
}
