//! A child's feedback on the server: the operations the API and the pages share ("not for
//! me", a report, "show again"; a moderator's acknowledgement and resolution; the overdue
//! sweep), the JSON views of them, and the evidence summary (counts, times to acknowledge
//! and resolve, how soon a held-back topic stopped appearing).
//!
//! Every change goes through [`AppState::change_child`], so the child's document, the
//! ledger entries, the report rows and the alerts (a signed `report_received` webhook) commit
//! in one transaction, and every node's cache (and so its feed guard) follows the change
//! feed. The evidence of what a "not for me" held back (`ward_core::feedback::FeedbackEvidence`)
//! is counted by the feed route and kept beside the drift state ([`crate::drift`]); these
//! operations only start and end its records (at the hide, at the release). Not for the rules
//! themselves: see `ward_core::feedback`.

use jiff::Timestamp;
use serde_json::{Value, json};
use ward_core::feed::Item;
use ward_core::feedback::{
    Feedback, FeedbackEvidence, FeedbackKind, HeldKind, HiddenItem, ItemSnapshot, Report,
    ReportOutcome, ReportReason, ReportStatus, decay,
};
use ward_core::ids::ChildId;
use ward_core::policy::SupportConfig;
use ward_core::settings::EventKind;
use ward_store::{ReportRow, Store};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// What a moderator does to a report.
#[derive(Debug, Clone, Copy)]
pub enum Moderation {
    /// "We have it."
    Acknowledge,
    /// "Done", with what was done.
    Resolve(ReportOutcome),
}

/// What giving feedback did.
#[derive(Debug, Clone)]
pub struct Given {
    /// The names held back (`topic:…`), for "not for me".
    pub held: Vec<String>,
    /// The report, for a report.
    pub report: Option<Report>,
}

impl AppState {
    /// The child's "not for me" or report on `item` (the service relays it, or the child's
    /// own page). The item is hidden on every node from the next feed on.
    pub async fn give_feedback(
        &self,
        id: &ChildId,
        item: Item,
        kind: FeedbackKind,
        reason: Option<ReportReason>,
    ) -> Result<Given, ApiError> {
        let given = self
            .change_child(id, false, move |child, policy, now, events, _| {
                let (report, raised) = child.give_feedback(policy, &item, kind, reason, now)?;
                let held = raised
                    .iter()
                    .find_map(|event| match &event.kind {
                        EventKind::NotInterested { held, .. } => Some(held.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                events.extend(raised);
                Ok(Given { held, report })
            })
            .await?;
        if !given.held.is_empty() {
            let now = self.now();
            self.drifts()
                .update_with(self.store(), id.as_str(), |_, evidence| {
                    for (kind, name) in given.held.iter().filter_map(|held| HeldKind::split(held)) {
                        evidence.hold(kind, name, now);
                    }
                })
                .await?;
        }
        Ok(given)
    }

    /// Marks `released` (`topic:…`) as released in the child's evidence at `now`.
    async fn evidence_released(&self, id: &ChildId, released: &[String]) -> Result<(), ApiError> {
        if released.is_empty() {
            return Ok(());
        }
        let now = self.now();
        self.drifts()
            .update_with(self.store(), id.as_str(), |_, evidence| {
                for (kind, name) in released.iter().filter_map(|held| HeldKind::split(held)) {
                    evidence.release(kind, name, now);
                }
            })
            .await
    }

    /// The child releases one held-back name from their list; the items they hid stay
    /// hidden.
    pub async fn release_held(
        &self,
        id: &ChildId,
        kind: HeldKind,
        name: String,
    ) -> Result<Vec<String>, ApiError> {
        let released = self
            .change_child(id, false, move |child, _, now, events, _| {
                let (released, raised) = child.release_held(kind, &name, now)?;
                events.extend(raised);
                Ok(released)
            })
            .await?;
        self.evidence_released(id, &released).await?;
        Ok(released)
    }

    /// "Show again": the item is no longer hidden, and what it held back is released.
    pub async fn show_again(&self, id: &ChildId, item: String) -> Result<Vec<String>, ApiError> {
        let released = self
            .change_child(id, false, move |child, _, now, events, _| {
                let ((), raised) = child.show_again(&item, now)?;
                let released = raised
                    .iter()
                    .find_map(|event| match &event.kind {
                        EventKind::ShownAgain { released, .. } => Some(released.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                events.extend(raised);
                Ok(released)
            })
            .await?;
        self.evidence_released(id, &released).await?;
        Ok(released)
    }

    /// A moderator acknowledges or resolves report `report_id` (the child's page then says
    /// so). A report nobody has is `report_not_found`.
    pub async fn moderate(
        &self,
        report_id: &str,
        action: Moderation,
    ) -> Result<ReportRow, ApiError> {
        let Some(row) = self.store().report(report_id).await? else {
            return Err(report_not_found(report_id));
        };
        let id = report_id.to_owned();
        let report = self
            .change_child(&row.child, false, move |child, _, now, events, _| {
                let (report, raised) = match action {
                    Moderation::Acknowledge => child.acknowledge_report(&id, now)?,
                    Moderation::Resolve(outcome) => child.resolve_report(&id, outcome, now)?,
                };
                events.extend(raised);
                Ok(report)
            })
            .await
            .map_err(|error| match error.code {
                // The child was erased since the row was read.
                Code::ChildNotFound => report_not_found(report_id),
                _ => error,
            })?;
        Ok(ReportRow {
            child: row.child,
            report,
        })
    }

    /// Raises the overdue alert of every open report past its due time, once each (the
    /// child's document records that it was raised). Part of the sweep.
    pub async fn sweep_overdue_reports(&self) -> Result<usize, ApiError> {
        let now = self.now();
        let rows = self.store().overdue_reports(now, OVERDUE_BATCH).await?;
        let mut raised = 0;
        for row in rows {
            let id = row.report.id.clone();
            let result = self
                .change_child(&row.child, false, move |child, _, now, events, _| {
                    let overdue = child.notice_overdue_report(&id, now);
                    let any = !overdue.is_empty();
                    events.extend(overdue);
                    Ok(any)
                })
                .await;
            match result {
                Ok(any) => raised += usize::from(any),
                Err(error) if error.code == Code::ChildNotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(raised)
    }
}

/// How many overdue reports one sweep alerts on at most (the rest wait for the next).
const OVERDUE_BATCH: i64 = 200;

pub(crate) fn report_not_found(id: &str) -> ApiError {
    ApiError::new(Code::ReportNotFound, format!("no report `{id}`"))
}

fn item_view(item: &ItemSnapshot) -> Value {
    json!({
        "id": item.id,
        "kind": item.kind,
        "topics": item.topics,
        "tags": item.tags,
        "source": item.source,
    })
}

/// A report as the moderators see it: the item and reason, where it stands, and whether it
/// is overdue at `now`.
pub fn report_view(row: &ReportRow, now: Timestamp) -> Value {
    let report = &row.report;
    json!({
        "id": report.id,
        "child": row.child,
        "item": item_view(&report.item),
        "reason": report.reason.as_str(),
        "at": report.at,
        "due": report.due,
        "status": report.status.as_str(),
        "acknowledged_at": report.acknowledged_at,
        "resolved_at": report.resolved_at,
        "outcome": report.outcome.map(ReportOutcome::as_str),
        "overdue": report.status == ReportStatus::Open && report.due <= now,
    })
}

/// The help a child is shown after a report: who to talk to and the service's helpline;
/// `urgent` for a self-harm or suicide report (shown first, at once).
pub fn help_view(support: &SupportConfig, reason: ReportReason) -> Value {
    json!({
        "talk_to": support.talk_to,
        "helpline": support.helpline,
        "helpline_contact": support.helpline_contact,
        "urgent": reason.shows_help(),
    })
}

fn hidden_view(hidden: &HiddenItem) -> Value {
    json!({
        "item": item_view(&hidden.item),
        "kind": match hidden.kind {
            FeedbackKind::NotInterested => "not_interested",
            FeedbackKind::Report => "report",
        },
        "at": hidden.at,
        "report": hidden.report,
    })
}

/// The evidence of how soon what the child hid stopped appearing: per name they held back,
/// since when, whether it is held now, how many items carrying it the guard held back (and
/// when first and last), how many reached them while it was held (ward's promise: none) and
/// after the hold ended; and the totals.
pub fn evidence_view(
    evidence: &FeedbackEvidence,
    decay: jiff::SignedDuration,
    now: Timestamp,
) -> Value {
    let records = evidence.records();
    let total = |count: fn(&ward_core::feedback::HeldRecord) -> u32| {
        records
            .iter()
            .map(|record| u64::from(count(record)))
            .sum::<u64>()
    };
    json!({
        "names": records.iter().rev().map(|record| json!({
            "kind": record.kind.as_str(),
            "name": record.name,
            "since": record.since,
            "held": record.is_held(decay, now),
            "held_until": record.held_until(decay),
            "released_at": record.released_at,
            "held_back": record.held_back,
            "first_held_back": record.first_held_back,
            "last_held_back": record.last_held_back,
            "shown_while_held": record.shown_while_held,
            "shown_after": record.shown_after,
            "first_shown_after": record.first_shown_after,
        })).collect::<Vec<_>>(),
        "held_back": total(|record| record.held_back),
        "shown_while_held": total(|record| record.shown_while_held),
        "shown_after": total(|record| record.shown_after),
    })
}

/// A child's feedback as the service (and the child) see it: what they hid, what is held
/// back now and until when, their reports, and the evidence of what the holds did.
pub fn feedback_view(
    feedback: &Feedback,
    evidence: &FeedbackEvidence,
    policy: &ward_core::compiled::CompiledPolicy,
    now: Timestamp,
) -> Value {
    let decay = decay(policy);
    json!({
        "not_for_me": evidence_view(evidence, decay, now),
        "hidden": feedback.hidden.iter().rev().map(hidden_view).collect::<Vec<_>>(),
        "held": feedback.held_at(decay, now).map(|held| json!({
            "kind": held.kind.as_str(),
            "name": held.name,
            "item": held.item,
            "until": held.at.saturating_add(decay).unwrap_or(held.at),
        })).collect::<Vec<_>>(),
        "reports": feedback.reports.iter().rev().map(|report| json!({
            "id": report.id,
            "at": report.at,
            "status": report.status.as_str(),
            "outcome": report.outcome.map(ReportOutcome::as_str),
            "reason": report.reason.as_str(),
            "item": item_view(&report.item),
        })).collect::<Vec<_>>(),
    })
}

/// What a linked parent sees of the same (Standard 11, and the child's best interests: a
/// child who fears a parent will read what they reported may stop reporting): nothing of
/// "not for me" (a preference, not a safety matter), and of each report that it was made,
/// when, and where it stands, with its reason only when `[support] parents_see_reason` is
/// on; never the item. The child's page says exactly this.
pub fn parent_feedback_view(feedback: &Feedback, support: &SupportConfig) -> Value {
    json!({
        "hidden": [],
        "held": [],
        "reports": feedback.reports.iter().rev().map(|report| {
            let mut view = json!({
                "id": report.id,
                "at": report.at,
                "status": report.status.as_str(),
                "outcome": report.outcome.map(ReportOutcome::as_str),
            });
            if support.parents_see_reason && let Some(object) = view.as_object_mut() {
                object.insert("reason".into(), report.reason.as_str().into());
            }
            view
        }).collect::<Vec<_>>(),
    })
}

/// The evidence over the reports in the store: how many, by reason and status, how long
/// acknowledging and resolving took (median and slowest, in seconds), how many went overdue.
pub fn summary(rows: &[ReportRow], now: Timestamp) -> Value {
    let mut by_reason = serde_json::Map::new();
    for reason in ReportReason::ALL {
        let n = rows.iter().filter(|r| r.report.reason == reason).count();
        by_reason.insert(reason.as_str().into(), n.into());
    }
    let count = |status: ReportStatus| rows.iter().filter(|r| r.report.status == status).count();
    let seconds = |end: fn(&Report) -> Option<Timestamp>| {
        let mut spans: Vec<i64> = rows
            .iter()
            .filter_map(|r| end(&r.report).map(|at| at.as_second() - r.report.at.as_second()))
            .collect();
        spans.sort_unstable();
        json!({
            "n": spans.len(),
            "median_seconds": spans.get(spans.len() / 2),
            "max_seconds": spans.last(),
        })
    };
    json!({
        "reports": rows.len(),
        "by_reason": by_reason,
        "open": count(ReportStatus::Open),
        "acknowledged": count(ReportStatus::Acknowledged),
        "resolved": count(ReportStatus::Resolved),
        "overdue_now": rows.iter().filter(|r| r.report.status == ReportStatus::Open && r.report.due <= now).count(),
        "overdue_alerted": rows.iter().filter(|r| r.report.overdue_alerted).count(),
        "time_to_acknowledge": seconds(|report| report.acknowledged_at),
        "time_to_resolve": seconds(|report| report.resolved_at),
    })
}
