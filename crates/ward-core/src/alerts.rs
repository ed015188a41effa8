//! Which changes a parent (and the service) must hear of at once: the alert rules.
//!
//! An alert is one of a child's [`Event`]s, addressed to every parent linked to the child
//! when it happened, and to the service's webhooks. A consent request with no parent linked
//! reaches only the service, marked so it can invite one. Pure: the server writes alerts in
//! the same transaction as their cause and delivers them (server-sent events, webhooks).
//!
//! Not for notifying the child: every child-facing surface shows supervision and settings
//! from the child's own state.

use serde::Serialize;

use crate::ids::ParentId;
use crate::settings::{Child, Event, EventKind};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The child asked to switch something on and a parent's consent is needed.
    ConsentRequested,
    /// A consent request lapsed unanswered: the setting went back to off.
    ConsentRequestExpired,
    /// A setting's effective value changed.
    SettingChanged,
    /// A parent was linked to the child.
    ParentLinked,
    /// A parent was unlinked.
    ParentUnlinked,
    /// The daily screen-time limit was reached.
    LimitReached,
    /// Bedtime began.
    Bedtime,
    /// The feed guard removed content a parent blocked.
    BlockedContent,
    /// A profile was reset: the service must drop what it built (to the service only).
    ProfileReset,
    /// The child reported something: the service's moderators must look. Linked parents
    /// hear that a report was made, not what was reported (see [`parent_view`]).
    ReportReceived,
    /// A report was not acknowledged within `[support] report_sla_hours` (to the service
    /// only, once).
    ReportOverdue,
}

impl AlertKind {
    /// As sent (`consent_requested`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConsentRequested => "consent_requested",
            Self::ConsentRequestExpired => "consent_request_expired",
            Self::SettingChanged => "setting_changed",
            Self::ParentLinked => "parent_linked",
            Self::ParentUnlinked => "parent_unlinked",
            Self::LimitReached => "limit_reached",
            Self::Bedtime => "bedtime",
            Self::BlockedContent => "blocked_content",
            Self::ProfileReset => "profile_reset",
            Self::ReportReceived => "report_received",
            Self::ReportOverdue => "report_overdue",
        }
    }
}

/// One alert: which event caused it, what it is, and who gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Index of the causing event in the slice given to [`alerts`].
    pub event: usize,
    /// What it is about.
    pub kind: AlertKind,
    /// The parents it goes to (possibly none).
    pub parents: Vec<ParentId>,
}

/// The kind of alert an event raises, if any.
pub fn kind_of(event: &Event) -> Option<AlertKind> {
    match &event.kind {
        EventKind::ConsentRequested { .. } => Some(AlertKind::ConsentRequested),
        EventKind::ConsentRequestExpired { .. } => Some(AlertKind::ConsentRequestExpired),
        EventKind::SettingChanged { .. } => Some(AlertKind::SettingChanged),
        EventKind::ParentLinked { .. } => Some(AlertKind::ParentLinked),
        EventKind::ParentUnlinked { .. } => Some(AlertKind::ParentUnlinked),
        EventKind::LimitReached { .. } => Some(AlertKind::LimitReached),
        EventKind::BedtimeReached { .. } => Some(AlertKind::Bedtime),
        EventKind::BlockedContent { .. } => Some(AlertKind::BlockedContent),
        EventKind::ProfileReset { .. } => Some(AlertKind::ProfileReset),
        EventKind::ReportMade { .. } => Some(AlertKind::ReportReceived),
        EventKind::ReportOverdue { .. } => Some(AlertKind::ReportOverdue),
        _ => None,
    }
}

/// The alerts `events` raise for `child` (as the child is after them). A parent just
/// unlinked still hears that they were.
pub fn alerts(child: &Child, events: &[Event]) -> Vec<Alert> {
    events
        .iter()
        .enumerate()
        .filter_map(|(event_idx, event)| {
            let kind = kind_of(event)?;
            let mut parents = match kind {
                AlertKind::ProfileReset | AlertKind::ReportOverdue => Vec::new(),
                _ => child.parents.clone(),
            };
            if let EventKind::ParentUnlinked { parent, .. } = &event.kind {
                parents.push(parent.clone());
            }
            Some(Alert {
                event: event_idx,
                kind,
                parents,
            })
        })
        .collect()
}

/// What a linked parent is told of an event, when it differs from what the service gets: of
/// a report, that one was made, when, and where it is (with its reason only when the
/// policy's `[support] parents_see_reason` says so), never the item. Standard 11: the child
/// must know what a parent can see, and a child who fears a parent will read what they
/// reported may not report at all; the page tells the child exactly this.
pub fn parent_view(event: &Event, parents_see_reason: bool) -> Option<serde_json::Value> {
    match &event.kind {
        EventKind::ReportMade { report } => {
            let mut view = serde_json::json!({
                "type": "report_made",
                "at": event.at,
                "child": event.child,
                "report": {"id": report.id, "at": report.at, "status": report.status.as_str()},
            });
            if parents_see_reason
                && let Some(report_view) = view.get_mut("report").and_then(|r| r.as_object_mut())
            {
                report_view.insert("reason".into(), report.reason.as_str().into());
            }
            Some(view)
        }
        _ => None,
    }
}
