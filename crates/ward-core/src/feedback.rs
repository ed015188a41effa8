//! A child's own feedback on what they are shown: "not for me" and "report this", as
//! [`Child`] operations, and the compiled form the feed guard reads ([`FeedbackGuard`]).
//!
//! "Not for me" (`not_interested`) hides the item at once and holds back its topics, source
//! and tags for `[feed] feedback_decay_days`; a report hides the item and becomes work for
//! the service's moderators (acknowledge, resolve with an outcome; overdue past
//! `[support] report_sla_hours`). This is the child's own preference, kept apart from a
//! parent's blocks ([`crate::controls`]): the child sees it and undoes it ("show again").
//!
//! The state is bounded, so no client can grow a child's document without limit: at most
//! [`MAX_HIDDEN_ITEMS`] hidden items and [`MAX_HELD_NAMES`] held-back names (the oldest go
//! first), at most [`MAX_REPORTS`] reports (resolved ones go first; with that many open, a
//! new report is refused), and an item is remembered only by its id and at most
//! [`MAX_ITEM_NAMES`] topics and tags, each at most [`MAX_NAME_LEN`] characters.
//!
//! [`FeedbackEvidence`] is the record of what each hold did (items held back, items that
//! reached the child while it was held and after): it is counted on the feed path and kept by
//! the server beside the drift state, never in the child's document.
//!
//! Pure: `now` is a parameter. Not for who may give feedback (the server's scopes) nor for
//! delivering the alerts a report raises ([`crate::alerts`] says which).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::compiled::{CompiledPolicy, hex_prefix};
use crate::feed::{Item, Name, RemovalReason};
use crate::settings::{Child, Event, EventKind};
use crate::vocab::NameSet;

/// The most hidden items a child's document keeps; past it the oldest is forgotten.
pub const MAX_HIDDEN_ITEMS: usize = 1_000;
/// The most topics, sources and tags held back at once; past it the oldest is released.
pub const MAX_HELD_NAMES: usize = 256;
/// The most reports a child's document keeps (resolved ones are forgotten first).
pub const MAX_REPORTS: usize = 100;
/// The most topics (and, separately, tags) remembered of one item.
pub const MAX_ITEM_NAMES: usize = 16;
/// The longest item id feedback takes.
pub const MAX_ITEM_ID_LEN: usize = 256;
/// The longest topic, tag or source remembered.
pub const MAX_NAME_LEN: usize = 128;

/// What the child said about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// "Not for me": hide it and hold back what it is about.
    NotInterested,
    /// "Report this": hide it and tell the service.
    Report,
}

/// Why a child reports an item: a small closed list a child can choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// It upset or harmed me.
    HarmfulToMe,
    /// Self-harm or suicide content: the help text is shown at once.
    SelfHarmOrSuicide,
    /// Bullying.
    Bullying,
    /// Adult content.
    AdultContent,
    /// A stranger contacted me.
    StrangerContact,
    /// Something else.
    Other,
}

impl ReportReason {
    /// Every reason, in order.
    pub const ALL: [Self; 6] = [
        Self::HarmfulToMe,
        Self::SelfHarmOrSuicide,
        Self::Bullying,
        Self::AdultContent,
        Self::StrangerContact,
        Self::Other,
    ];

    /// As sent (`harmful_to_me`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HarmfulToMe => "harmful_to_me",
            Self::SelfHarmOrSuicide => "self_harm_or_suicide",
            Self::Bullying => "bullying",
            Self::AdultContent => "adult_content",
            Self::StrangerContact => "stranger_contact",
            Self::Other => "other",
        }
    }

    /// Parses [`Self::as_str`]'s text.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == text)
    }

    /// In a child's words.
    pub fn child_words(self) -> &'static str {
        match self {
            Self::HarmfulToMe => "It upset me or could hurt me",
            Self::SelfHarmOrSuicide => "It's about self-harm or suicide",
            Self::Bullying => "It's bullying",
            Self::AdultContent => "It's for adults only",
            Self::StrangerContact => "A stranger contacted me",
            Self::Other => "Something else",
        }
    }

    /// True when the child should see the policy's help text at once.
    pub fn shows_help(self) -> bool {
        self == Self::SelfHarmOrSuicide
    }
}

/// What the moderators did about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    /// The content was taken down.
    Removed,
    /// Restricted: fewer people (or no children) see it now.
    Restricted,
    /// Looked at: it breaks none of the service's rules.
    NoBreach,
    /// Passed to people who can do more (a specialist team, the police).
    Referred,
}

impl ReportOutcome {
    /// Every outcome, in order.
    pub const ALL: [Self; 4] = [
        Self::Removed,
        Self::Restricted,
        Self::NoBreach,
        Self::Referred,
    ];

    /// As sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Removed => "removed",
            Self::Restricted => "restricted",
            Self::NoBreach => "no_breach",
            Self::Referred => "referred",
        }
    }

    /// Parses [`Self::as_str`]'s text.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }

    /// What the child is told, after "We've had a look".
    pub fn child_words(self) -> &'static str {
        match self {
            Self::Removed => "We took it down. Thank you for telling us.",
            Self::Restricted => {
                "We've made sure fewer people see it, and no children. Thank you for telling us."
            }
            Self::NoBreach => {
                "It doesn't break our rules, but you were right to tell us. It stays hidden for you."
            }
            Self::Referred => {
                "We've passed it to people who can do more about it. Thank you for telling us."
            }
        }
    }
}

/// Where a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Waiting for a moderator.
    Open,
    /// A moderator has it.
    Acknowledged,
    /// Done, with an outcome.
    Resolved,
}

impl ReportStatus {
    /// As sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }
}

/// What ward remembers of an item a child gave feedback on: its id and what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSnapshot {
    /// The service's id for it.
    pub id: String,
    /// Its kind (`video`, …).
    pub kind: String,
    /// Its topics (at most [`MAX_ITEM_NAMES`]).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Its tags (at most [`MAX_ITEM_NAMES`]).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its source.
    #[serde(default)]
    pub source: Option<String>,
}

impl ItemSnapshot {
    /// What is remembered of `item`: its first [`MAX_ITEM_NAMES`] topics and tags, each at
    /// most [`MAX_NAME_LEN`] characters (longer ones are left out), and its source.
    pub fn of(item: &Item) -> Self {
        let names = |names: &[Name]| {
            names
                .iter()
                .map(Name::as_str)
                .filter(|name| name.chars().count() <= MAX_NAME_LEN)
                .take(MAX_ITEM_NAMES)
                .map(str::to_owned)
                .collect()
        };
        Self {
            id: item.id().to_owned(),
            kind: item.kind().as_str().to_owned(),
            topics: names(item.topics()),
            tags: names(item.plain_tags().cloned().collect::<Vec<_>>().as_slice()),
            source: item
                .source()
                .map(Name::as_str)
                .filter(|name| name.chars().count() <= MAX_NAME_LEN)
                .map(str::to_owned),
        }
    }
}

/// An item the child hid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenItem {
    /// The item.
    pub item: ItemSnapshot,
    /// How: "not for me" or a report.
    pub kind: FeedbackKind,
    /// When.
    pub at: Timestamp,
    /// The report, when it was one.
    #[serde(default)]
    pub report: Option<String>,
}

/// Which list a held-back name is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldKind {
    /// A topic.
    Topic,
    /// A source.
    Source,
    /// A tag.
    Tag,
}

impl HeldKind {
    /// As sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Topic => "topic",
            Self::Source => "source",
            Self::Tag => "tag",
        }
    }

    /// Parses [`Self::as_str`]'s text.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Topic, Self::Source, Self::Tag]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// Splits `topic:pranks` (as events and answers write a held name) into its kind and name.
    pub fn split(text: &str) -> Option<(Self, &str)> {
        let (kind, name) = text.split_once(':')?;
        Some((Self::parse(kind)?, name))
    }

    /// The guard's reason for an item held back by a name of this kind.
    pub fn reason(self) -> RemovalReason {
        match self {
            Self::Topic => RemovalReason::NotForMeTopic,
            Self::Source => RemovalReason::NotForMeSource,
            Self::Tag => RemovalReason::NotForMeTag,
        }
    }
}

/// A topic, source or tag held back because the child said "not for me".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldName {
    /// Which list.
    pub kind: HeldKind,
    /// The name, as written.
    pub name: String,
    /// When it was last held back (the decay runs from here).
    pub at: Timestamp,
    /// The item whose "not for me" holds it (its "show again" releases it).
    pub item: String,
}

/// A child's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// `rep_` and 16 hex digits, derived from the child, the item and the instant.
    pub id: String,
    /// What was reported.
    pub item: ItemSnapshot,
    /// Why.
    pub reason: ReportReason,
    /// When.
    pub at: Timestamp,
    /// When a moderator should have acknowledged it (`[support] report_sla_hours`).
    pub due: Timestamp,
    /// Where it is.
    pub status: ReportStatus,
    /// When a moderator acknowledged it.
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
    /// When it was resolved.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    /// What was done.
    #[serde(default)]
    pub outcome: Option<ReportOutcome>,
    /// True once the overdue alert was raised (it is raised once).
    #[serde(default)]
    pub overdue_alerted: bool,
}

/// A child's feedback state: what they hid, what that holds back, and their reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// Hidden items, oldest first.
    #[serde(default)]
    pub hidden: Vec<HiddenItem>,
    /// Held-back names, oldest first; one entry per kind and normalised name.
    #[serde(default)]
    pub held: Vec<HeldName>,
    /// Reports, oldest first.
    #[serde(default)]
    pub reports: Vec<Report>,
}

impl Feedback {
    /// True when the child has given no feedback.
    pub fn is_empty(&self) -> bool {
        self.hidden.is_empty() && self.held.is_empty() && self.reports.is_empty()
    }

    /// A report by id.
    pub fn report(&self, id: &str) -> Option<&Report> {
        self.reports.iter().find(|report| report.id == id)
    }

    /// The names held back at `now` under a decay of `decay`, oldest first.
    pub fn held_at(
        &self,
        decay: SignedDuration,
        now: Timestamp,
    ) -> impl Iterator<Item = &HeldName> {
        self.held
            .iter()
            .filter(move |held| until(held.at, decay) > now)
    }
}

fn until(at: Timestamp, decay: SignedDuration) -> Timestamp {
    at.saturating_add(decay).unwrap_or(at)
}

/// Why a feedback operation was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    /// The item id is blank or too long.
    #[error("an item id is 1 to {max} characters", max = MAX_ITEM_ID_LEN)]
    BadItemId,
    /// A report needs a reason.
    #[error(
        "a report needs a `reason`: one of harmful_to_me, self_harm_or_suicide, bullying, adult_content, stranger_contact, other"
    )]
    ReasonRequired,
    /// Only a report takes a reason.
    #[error("only a report takes a `reason`")]
    ReasonNotTaken,
    /// Too many reports are open.
    #[error("{max} reports are already open for this child: resolve some first", max = MAX_REPORTS)]
    TooManyOpenReports,
    /// Nothing hidden under this id.
    #[error("item `{0}` is not hidden")]
    NotHidden(String),
    /// Nothing of this kind and name is held back.
    #[error("`{0}` is not held back")]
    NotHeld(String),
    /// No such report.
    #[error("no report `{0}` for this child")]
    UnknownReport(String),
    /// Already resolved.
    #[error("report `{0}` is already resolved")]
    AlreadyResolved(String),
}

/// The result of a feedback operation: its outcome and the events it caused.
pub type FeedbackOutcome<T> = Result<(T, Vec<Event>), FeedbackError>;

/// `rep_` and the first 8 bytes of SHA-256 over the child, the item and the instant.
fn report_id(child: &str, item: &str, now: Timestamp) -> String {
    let mut hasher = Sha256::new();
    for part in ["report", child, item] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(now.as_nanosecond().to_be_bytes());
    format!("rep_{}", hex_prefix(&hasher.finalize(), 8))
}

/// `[feed] feedback_decay_days` as a duration.
pub fn decay(policy: &CompiledPolicy) -> SignedDuration {
    SignedDuration::from_hours(24 * i64::from(policy.policy().feed.feedback_decay_days))
}

impl Child {
    /// The child says "not for me" (`reason: None`) or reports `item` (`kind: Report`, with a
    /// reason). The item is hidden at once; "not for me" also holds back its topics, source
    /// and tags for the decay. Saying it again of a hidden item changes nothing but the
    /// time the names are held from; reporting an item already reported and not yet
    /// resolved returns that report.
    pub fn give_feedback(
        &mut self,
        policy: &CompiledPolicy,
        item: &Item,
        kind: FeedbackKind,
        reason: Option<ReportReason>,
        now: Timestamp,
    ) -> FeedbackOutcome<Option<Report>> {
        let id = item.id();
        if id.trim().is_empty() || id.chars().count() > MAX_ITEM_ID_LEN {
            return Err(FeedbackError::BadItemId);
        }
        match (kind, reason) {
            (FeedbackKind::Report, None) => return Err(FeedbackError::ReasonRequired),
            (FeedbackKind::NotInterested, Some(_)) => return Err(FeedbackError::ReasonNotTaken),
            _ => {}
        }
        let decay = decay(policy);
        self.prune_feedback(decay, now);
        let snapshot = ItemSnapshot::of(item);
        match (kind, reason) {
            (FeedbackKind::Report, Some(reason)) => self.report_item(policy, snapshot, reason, now),
            _ => Ok((None, self.not_interested(snapshot, now))),
        }
    }

    fn not_interested(&mut self, snapshot: ItemSnapshot, now: Timestamp) -> Vec<Event> {
        let mut held = Vec::new();
        let names = snapshot
            .topics
            .iter()
            .map(|name| (HeldKind::Topic, name))
            .chain(snapshot.source.iter().map(|name| (HeldKind::Source, name)))
            .chain(snapshot.tags.iter().map(|name| (HeldKind::Tag, name)));
        for (kind, name) in names {
            let key = Name::new(name);
            self.feedback
                .held
                .retain(|old| !(old.kind == kind && Name::new(&old.name) == key));
            self.feedback.held.push(HeldName {
                kind,
                name: name.clone(),
                at: now,
                item: snapshot.id.clone(),
            });
            held.push(format!("{}:{name}", kind.as_str()));
        }
        let overflow = self.feedback.held.len().saturating_sub(MAX_HELD_NAMES);
        self.feedback.held.drain(..overflow);
        let item = snapshot.id.clone();
        self.hide(HiddenItem {
            item: snapshot,
            kind: FeedbackKind::NotInterested,
            at: now,
            report: None,
        });
        vec![self.event(now, EventKind::NotInterested { item, held })]
    }

    fn report_item(
        &mut self,
        policy: &CompiledPolicy,
        snapshot: ItemSnapshot,
        reason: ReportReason,
        now: Timestamp,
    ) -> FeedbackOutcome<Option<Report>> {
        if let Some(open) = self
            .feedback
            .reports
            .iter()
            .find(|r| r.item.id == snapshot.id && r.status != ReportStatus::Resolved)
        {
            return Ok((Some(open.clone()), Vec::new()));
        }
        if self.feedback.reports.len() >= MAX_REPORTS {
            match self
                .feedback
                .reports
                .iter()
                .position(|r| r.status == ReportStatus::Resolved)
            {
                Some(oldest) => {
                    self.feedback.reports.remove(oldest);
                }
                None => return Err(FeedbackError::TooManyOpenReports),
            }
        }
        let sla = SignedDuration::from_hours(i64::from(policy.policy().support.report_sla_hours));
        let report = Report {
            id: report_id(self.id.as_str(), &snapshot.id, now),
            item: snapshot.clone(),
            reason,
            at: now,
            due: until(now, sla),
            status: ReportStatus::Open,
            acknowledged_at: None,
            resolved_at: None,
            outcome: None,
            overdue_alerted: false,
        };
        self.feedback.reports.push(report.clone());
        self.hide(HiddenItem {
            item: snapshot,
            kind: FeedbackKind::Report,
            at: now,
            report: Some(report.id.clone()),
        });
        let event = self.event(
            now,
            EventKind::ReportMade {
                report: Box::new(report.clone()),
            },
        );
        Ok((Some(report), vec![event]))
    }

    fn hide(&mut self, hidden: HiddenItem) {
        self.feedback
            .hidden
            .retain(|old| old.item.id != hidden.item.id);
        self.feedback.hidden.push(hidden);
        let overflow = self.feedback.hidden.len().saturating_sub(MAX_HIDDEN_ITEMS);
        self.feedback.hidden.drain(..overflow);
    }

    /// Forgets held names whose decay has run out.
    fn prune_feedback(&mut self, decay: SignedDuration, now: Timestamp) {
        self.feedback
            .held
            .retain(|held| until(held.at, decay) > now);
    }

    /// "Show again": the item is no longer hidden and what its "not for me" held back is
    /// released. A report stays open (showing the item again does not withdraw it).
    pub fn show_again(&mut self, item: &str, now: Timestamp) -> FeedbackOutcome<()> {
        let before = self.feedback.hidden.len();
        self.feedback.hidden.retain(|hidden| hidden.item.id != item);
        if self.feedback.hidden.len() == before {
            return Err(FeedbackError::NotHidden(item.to_owned()));
        }
        let released: Vec<String> = self
            .feedback
            .held
            .iter()
            .filter(|held| held.item == item)
            .map(|held| format!("{}:{}", held.kind.as_str(), held.name))
            .collect();
        self.feedback.held.retain(|held| held.item != item);
        let event = self.event(
            now,
            EventKind::ShownAgain {
                item: item.to_owned(),
                released,
            },
        );
        Ok(((), vec![event]))
    }

    /// The child releases one held-back name from their list ("show me these again"): the
    /// items they hid stay hidden. Any spelling of the name releases it.
    pub fn release_held(
        &mut self,
        kind: HeldKind,
        name: &str,
        now: Timestamp,
    ) -> FeedbackOutcome<Vec<String>> {
        let key = Name::new(name);
        let mut released = Vec::new();
        self.feedback.held.retain(|held| {
            let matches = held.kind == kind && Name::new(&held.name) == key;
            if matches {
                released.push(format!("{}:{}", held.kind.as_str(), held.name));
            }
            !matches
        });
        if released.is_empty() {
            return Err(FeedbackError::NotHeld(format!("{}:{name}", kind.as_str())));
        }
        let event = self.event(
            now,
            EventKind::HeldReleased {
                released: released.clone(),
            },
        );
        Ok((released, vec![event]))
    }

    fn report_mut(&mut self, id: &str) -> Result<&mut Report, FeedbackError> {
        self.feedback
            .reports
            .iter_mut()
            .find(|report| report.id == id)
            .ok_or_else(|| FeedbackError::UnknownReport(id.to_owned()))
    }

    /// A moderator has the report. Acknowledging it again changes nothing.
    pub fn acknowledge_report(&mut self, id: &str, now: Timestamp) -> FeedbackOutcome<Report> {
        let report = self.report_mut(id)?;
        match report.status {
            ReportStatus::Resolved => return Err(FeedbackError::AlreadyResolved(id.to_owned())),
            ReportStatus::Acknowledged => return Ok((report.clone(), Vec::new())),
            ReportStatus::Open => {}
        }
        report.status = ReportStatus::Acknowledged;
        report.acknowledged_at = Some(now);
        let report = report.clone();
        let event = self.event(
            now,
            EventKind::ReportAcknowledged {
                report: report.id.clone(),
            },
        );
        Ok((report, vec![event]))
    }

    /// The moderators are done: `outcome` is what the child is told. Resolving an open
    /// report acknowledges it at the same moment.
    pub fn resolve_report(
        &mut self,
        id: &str,
        outcome: ReportOutcome,
        now: Timestamp,
    ) -> FeedbackOutcome<Report> {
        let report = self.report_mut(id)?;
        if report.status == ReportStatus::Resolved {
            return Err(FeedbackError::AlreadyResolved(id.to_owned()));
        }
        report.status = ReportStatus::Resolved;
        report.acknowledged_at.get_or_insert(now);
        report.resolved_at = Some(now);
        report.outcome = Some(outcome);
        let report = report.clone();
        let event = self.event(
            now,
            EventKind::ReportResolved {
                report: report.id.clone(),
                outcome,
            },
        );
        Ok((report, vec![event]))
    }

    /// Raises the overdue alert for a report not acknowledged by its due time: once, and
    /// only while it is still open at `now`.
    pub fn notice_overdue_report(&mut self, id: &str, now: Timestamp) -> Vec<Event> {
        let Ok(report) = self.report_mut(id) else {
            return Vec::new();
        };
        if report.status != ReportStatus::Open || report.overdue_alerted || report.due > now {
            return Vec::new();
        }
        report.overdue_alerted = true;
        let (report, due) = (report.id.clone(), report.due);
        vec![self.event(now, EventKind::ReportOverdue { report, due })]
    }
}

/// FNV-1a as a [`Hasher`], for item ids: short strings, looked up once per item.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// One held-back list, compiled: the names and, by position, until when each holds.
#[derive(Debug, Clone, Default)]
struct HeldSet {
    names: NameSet,
    until: Box<[Timestamp]>,
    /// When each was held back (the child's "not for me").
    since: Box<[Timestamp]>,
}

impl HeldSet {
    fn new<'a>(held: impl Iterator<Item = &'a HeldName>, decay: SignedDuration) -> Self {
        let mut names: Vec<Name> = Vec::new();
        let mut untils: Vec<Timestamp> = Vec::new();
        let mut sinces: Vec<Timestamp> = Vec::new();
        for entry in held {
            let name = Name::new(&entry.name);
            // One entry per normalised name in the document; a later one wins anyway.
            match names.iter().position(|n| *n == name) {
                Some(idx) => {
                    if let (Some(until_slot), Some(since_slot)) =
                        (untils.get_mut(idx), sinces.get_mut(idx))
                    {
                        *until_slot = until(entry.at, decay);
                        *since_slot = entry.at;
                    }
                }
                None => {
                    names.push(name);
                    untils.push(until(entry.at, decay));
                    sinces.push(entry.at);
                }
            }
        }
        Self {
            names: NameSet::new(names),
            until: untils.into_boxed_slice(),
            since: sinces.into_boxed_slice(),
        }
    }

    #[inline]
    fn holds(&self, name: &Name, now: Timestamp) -> bool {
        self.names
            .position(name)
            .and_then(|idx| self.until.get(idx))
            .is_some_and(|until| *until > now)
    }

    /// When `name` was held back, if it is held at `now`.
    fn held_since(&self, name: &Name, now: Timestamp) -> Option<Timestamp> {
        let idx = self.names.position(name)?;
        (*self.until.get(idx)? > now).then(|| self.since.get(idx).copied())?
    }

    fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

/// A child's feedback as the feed guard reads it, compiled once per write (and kept in the
/// server's cache): hidden item ids in a hash set, held names in [`NameSet`]s with their
/// decay. An item matching nothing costs one id lookup and one lookup per topic and tag.
#[derive(Debug, Clone, Default)]
pub struct FeedbackGuard {
    hidden: HashSet<Box<str>, BuildHasherDefault<Fnv>>,
    topics: HeldSet,
    sources: HeldSet,
    tags: HeldSet,
}

impl std::fmt::Debug for Fnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fnv")
    }
}

impl FeedbackGuard {
    /// The guard for `feedback` under a decay of `decay`.
    pub fn new(feedback: &Feedback, decay: SignedDuration) -> Self {
        let of = |kind: HeldKind| {
            HeldSet::new(
                feedback.held.iter().filter(move |held| held.kind == kind),
                decay,
            )
        };
        Self {
            hidden: feedback
                .hidden
                .iter()
                .map(|hidden| hidden.item.id.as_str().into())
                .collect(),
            topics: of(HeldKind::Topic),
            sources: of(HeldKind::Source),
            tags: of(HeldKind::Tag),
        }
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.hidden.is_empty()
            && self.topics.is_empty()
            && self.sources.is_empty()
            && self.tags.is_empty()
    }

    /// True when `name` is held back on `kind`'s list at `now`.
    pub fn holds(&self, kind: HeldKind, name: &Name, now: Timestamp) -> bool {
        self.list(kind).holds(name, now)
    }

    fn list(&self, kind: HeldKind) -> &HeldSet {
        match kind {
            HeldKind::Topic => &self.topics,
            HeldKind::Source => &self.sources,
            HeldKind::Tag => &self.tags,
        }
    }

    /// Adds the reasons the child's own feedback removes `item` for at `now`.
    #[inline]
    pub(crate) fn reasons(
        &self,
        item: &Item,
        now: Timestamp,
        reasons: &mut crate::feed::Codes<RemovalReason>,
    ) {
        if !self.hidden.is_empty() && self.hidden.contains(item.id()) {
            reasons.insert(RemovalReason::HiddenByChild);
        }
        if !self.topics.is_empty() && item.topics.iter().any(|t| self.topics.holds(t, now)) {
            reasons.insert(RemovalReason::NotForMeTopic);
        }
        if !self.sources.is_empty()
            && item
                .source
                .as_ref()
                .is_some_and(|s| self.sources.holds(s, now))
        {
            reasons.insert(RemovalReason::NotForMeSource);
        }
        if !self.tags.is_empty() && item.tags.iter().any(|t| self.tags.holds(t, now)) {
            reasons.insert(RemovalReason::NotForMeTag);
        }
    }
}

/// What became of one name after the child's "not for me": how many items carrying it the
/// guard held back, and how many reached the child while it was held (ward's promise: none)
/// and after the hold ended (the decay, or "show again"). Counted on the feed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldRecord {
    /// Which list.
    pub kind: HeldKind,
    /// The name, as written.
    pub name: String,
    /// When the child said "not for me" (the counts run from here).
    pub since: Timestamp,
    /// When the child released it ("show again"), if they did.
    #[serde(default)]
    pub released_at: Option<Timestamp>,
    /// Items carrying it the guard held back since.
    #[serde(default)]
    pub held_back: u32,
    /// When the guard first held one back.
    #[serde(default)]
    pub first_held_back: Option<Timestamp>,
    /// When the guard last held one back.
    #[serde(default)]
    pub last_held_back: Option<Timestamp>,
    /// Items carrying it that reached the child while it was held.
    #[serde(default)]
    pub shown_while_held: u32,
    /// Items carrying it that reached the child after the hold ended.
    #[serde(default)]
    pub shown_after: u32,
    /// When the first of those did.
    #[serde(default)]
    pub first_shown_after: Option<Timestamp>,
}

impl HeldRecord {
    fn new(kind: HeldKind, name: &str, since: Timestamp) -> Self {
        Self {
            kind,
            name: name.to_owned(),
            since,
            released_at: None,
            held_back: 0,
            first_held_back: None,
            last_held_back: None,
            shown_while_held: 0,
            shown_after: 0,
            first_shown_after: None,
        }
    }

    /// True when, by this record alone (the hide, the release, the decay), the name is held
    /// at `now`.
    pub fn is_held(&self, decay: SignedDuration, now: Timestamp) -> bool {
        self.released_at.is_none() && until(self.since, decay) > now
    }

    /// Until when the hold runs (or ran): the release or the end of the decay.
    pub fn held_until(&self, decay: SignedDuration) -> Timestamp {
        let decayed = until(self.since, decay);
        self.released_at.map_or(decayed, |at| at.min(decayed))
    }
}

/// What one feed added to a child's [`FeedbackEvidence`] (for the server's counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// Items the guard held back for a name the child hid.
    pub held_back: u32,
    /// Items carrying a held name that reached the child anyway.
    pub shown_while_held: u32,
    /// Items carrying a once-held name that reached the child after the hold ended.
    pub shown_after: u32,
}

/// The evidence of how soon what a child hid stopped appearing: a [`HeldRecord`] per name they
/// held back (at most [`MAX_HELD_NAMES`], the oldest go first), kept beside the drift state
/// on the feed path rather than in the child's document, so a feed never writes the document.
///
/// The records judge "held" by themselves (the hide, the release, the decay), not by asking
/// the guard, so `shown_while_held` is a check on the guard rather than a restatement of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedbackEvidence {
    /// Oldest hide first.
    records: Vec<HeldRecord>,
    /// Derived (rebuilt on change, never stored): the records' names per list, and for each
    /// name its record.
    index: [(NameSet, Vec<usize>); 3],
}

fn list_idx(kind: HeldKind) -> usize {
    match kind {
        HeldKind::Topic => 0,
        HeldKind::Source => 1,
        HeldKind::Tag => 2,
    }
}

impl Serialize for FeedbackEvidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.records.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FeedbackEvidence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let records = Vec::<HeldRecord>::deserialize(deserializer)?;
        if records
            .iter()
            .any(|record| record.name.is_empty() || record.name.chars().count() > MAX_NAME_LEN)
        {
            return Err(serde::de::Error::custom(
                "a held-back name is empty or too long",
            ));
        }
        let mut evidence = Self {
            records,
            index: Default::default(),
        };
        evidence.bound_and_reindex();
        Ok(evidence)
    }
}

impl FeedbackEvidence {
    /// True when the child has held nothing back.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records, oldest hide first.
    pub fn records(&self) -> &[HeldRecord] {
        &self.records
    }

    fn find(&self, kind: HeldKind, name: &Name) -> Option<usize> {
        let (names, records) = self.index.get(list_idx(kind))?;
        records.get(names.position(name)?).copied()
    }

    fn bound_and_reindex(&mut self) {
        let overflow = self.records.len().saturating_sub(MAX_HELD_NAMES);
        self.records.drain(..overflow);
        for kind in [HeldKind::Topic, HeldKind::Source, HeldKind::Tag] {
            let (names, positions): (Vec<Name>, Vec<usize>) = self
                .records
                .iter()
                .enumerate()
                .filter(|(_, record)| record.kind == kind)
                .map(|(at, record)| (Name::new(&record.name), at))
                .unzip();
            if let Some(slot) = self.index.get_mut(list_idx(kind)) {
                // A name listed twice (not written by ward) finds its first record.
                *slot = (
                    NameSet::new(names.iter().cloned()),
                    dedup_positions(&names, positions),
                );
            }
        }
    }

    /// The child said "not for me" of something carrying `name` at `since`: its counts start
    /// afresh (a name hidden again is a new hold).
    pub fn hold(&mut self, kind: HeldKind, name: &str, since: Timestamp) {
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return;
        }
        if let Some(at) = self.find(kind, &Name::new(name)) {
            if self
                .records
                .get(at)
                .is_some_and(|record| record.since >= since)
            {
                return;
            }
            self.records.remove(at);
        }
        self.records.push(HeldRecord::new(kind, name, since));
        self.bound_and_reindex();
    }

    /// The child released `name` at `now` ("show again").
    pub fn release(&mut self, kind: HeldKind, name: &str, now: Timestamp) {
        if let Some(record) = self
            .find(kind, &Name::new(name))
            .and_then(|at| self.records.get_mut(at))
        {
            record.released_at.get_or_insert(now);
        }
    }

    /// Counts what one feed did, given the guard it was judged with and its outcome: each
    /// item removed for a held name counts as held back for that name; each item kept counts,
    /// for every once-held name it carries, as shown while held or after. A child who never
    /// said "not for me" costs one test.
    pub fn observe(
        &mut self,
        guard: &FeedbackGuard,
        items: &[Item],
        outcome: &crate::feed::FeedOutcome,
        decay: SignedDuration,
        now: Timestamp,
    ) -> Observed {
        let mut observed = Observed::default();
        let no_names = guard.topics.is_empty() && guard.sources.is_empty() && guard.tags.is_empty();
        if self.records.is_empty() && no_names {
            return observed;
        }
        for removal in &outcome.removed {
            let reasons = removal.reasons;
            if ![HeldKind::Topic, HeldKind::Source, HeldKind::Tag]
                .into_iter()
                .any(|kind| reasons.contains(kind.reason()))
            {
                continue;
            }
            let Some(item) = items.get(removal.index as usize) else {
                continue;
            };
            for (kind, name) in names_of(item) {
                if !reasons.contains(kind.reason()) {
                    continue;
                }
                if let Some(since) = guard.list(kind).held_since(name, now) {
                    self.held_back(kind, name, since, now);
                    observed.held_back += 1;
                }
            }
        }
        if self.records.is_empty() {
            return observed;
        }
        // Only the lists that have records are looked at (most children hide topics).
        let [topics, sources, tags] =
            [HeldKind::Topic, HeldKind::Source, HeldKind::Tag].map(|kind| {
                self.index
                    .get(list_idx(kind))
                    .is_some_and(|(_, at)| !at.is_empty())
            });
        for index in &outcome.kept {
            let Some(item) = items.get(*index as usize) else {
                continue;
            };
            if topics {
                for name in &item.topics {
                    self.shown(HeldKind::Topic, name, decay, now, &mut observed);
                }
            }
            if sources && let Some(name) = &item.source {
                self.shown(HeldKind::Source, name, decay, now, &mut observed);
            }
            if tags {
                for name in &item.tags {
                    self.shown(HeldKind::Tag, name, decay, now, &mut observed);
                }
            }
        }
        observed
    }

    /// An item carrying `name` reached the child at `now`.
    #[inline]
    fn shown(
        &mut self,
        kind: HeldKind,
        name: &Name,
        decay: SignedDuration,
        now: Timestamp,
        observed: &mut Observed,
    ) {
        let Some(record) = self
            .find(kind, name)
            .and_then(|at| self.records.get_mut(at))
        else {
            return;
        };
        if now < record.since {
            return;
        }
        if record.is_held(decay, now) {
            record.shown_while_held = record.shown_while_held.saturating_add(1);
            observed.shown_while_held += 1;
        } else {
            record.shown_after = record.shown_after.saturating_add(1);
            record.first_shown_after.get_or_insert(now);
            observed.shown_after += 1;
        }
    }

    fn held_back(&mut self, kind: HeldKind, name: &Name, since: Timestamp, now: Timestamp) {
        let stale = self
            .find(kind, name)
            .and_then(|at| self.records.get(at))
            .is_none_or(|record| record.since < since);
        if stale {
            // Hidden before its record was kept (or on a node that lost it): start one now.
            self.hold(kind, name.as_str(), since);
        }
        if let Some(record) = self
            .find(kind, name)
            .and_then(|at| self.records.get_mut(at))
        {
            record.held_back = record.held_back.saturating_add(1);
            record.first_held_back.get_or_insert(now);
            record.last_held_back = Some(now);
        }
    }
}

/// For each of `names` (by position in the set [`NameSet::new`] builds from them: first
/// spellings only), the record it came from.
fn dedup_positions(names: &[Name], positions: Vec<usize>) -> Vec<usize> {
    let mut kept: Vec<&Name> = Vec::new();
    let mut out = Vec::new();
    for (name, at) in names.iter().zip(positions) {
        if !kept.contains(&name) {
            kept.push(name);
            out.push(at);
        }
    }
    out
}

/// An item's topics, source and tags, each with its list.
fn names_of(item: &Item) -> impl Iterator<Item = (HeldKind, &Name)> {
    item.topics
        .iter()
        .map(|name| (HeldKind::Topic, name))
        .chain(item.source.iter().map(|name| (HeldKind::Source, name)))
        .chain(item.tags.iter().map(|name| (HeldKind::Tag, name)))
}
