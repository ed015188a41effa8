//! The child's "why am I seeing this" page with "Not for me" and "Report" (plain forms, no
//! script needed), and the words the child's own page shows of their feedback: what they
//! hid (with "show again", unless moderators took it down), what that holds back (each with
//! its own "show again"), their reports and where each stands ("we've had a look" once
//! resolved), the help to turn to, and what a parent can see of it (Standard 11).
//!
//! The service links the child here with the item as its feed guard saw it
//! (`/pages/child/why?setting=…&item=<the item's JSON>`). Not for deciding: every form calls
//! the operation the JSON API calls (`crate::feedback`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use ward_core::age::AgeBand;
use ward_core::compiled::CompiledPolicy;
use ward_core::feed::{Item, why_am_i_seeing_this};
use ward_core::feedback::{
    Feedback, FeedbackKind, HeldKind, HiddenItem, ReportOutcome, ReportReason, ReportStatus, decay,
};
use ward_core::settings::Child;

use super::access::{ChildSession, PageForm, bad_form};
use super::render::{
    FeedbackSection, HeldLine, HiddenLine, ReasonChoice, ReportLine, WhyPage, render,
};
use super::{PageError, see_other};
use crate::error::ApiError;
use crate::state::AppState;

/// The child's band for texts (the youngest admitted for `unknown`).
fn band(child: &Child, policy: &CompiledPolicy, now: Timestamp) -> Option<AgeBand> {
    child
        .state
        .age_status(policy, now)
        .text_band(policy.min_age())
}

fn young(band: Option<AgeBand>) -> bool {
    matches!(band, Some(AgeBand::UpTo5 | AgeBand::From6To9))
}

/// What the child reads after "not for me": the policy's words for their band, else ward's.
pub(crate) fn not_for_me_words(policy: &CompiledPolicy, band: Option<AgeBand>) -> String {
    let support = &policy.policy().support;
    band.and_then(|band| support.not_for_me_text.for_band(band))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if young(band) {
                "OK! We won't show you that again, or things like it for a while.".to_owned()
            } else {
                format!(
                    "Got it. It's hidden, and things like it are held back for {} days. You can show it again below.",
                    policy.policy().feed.feedback_decay_days
                )
            }
        })
}

/// What the child reads after reporting.
pub(crate) fn reported_words(policy: &CompiledPolicy, band: Option<AgeBand>) -> String {
    let support = &policy.policy().support;
    let service = &policy.policy().service.name;
    band.and_then(|band| support.reported_text.for_band(band))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if young(band) {
                format!("Thank you for telling us. A grown-up at {service} will look at it.")
            } else {
                format!(
                    "Thanks for reporting it. It's hidden for you now, and someone at {service} will look at it within {} hours.",
                    support.report_sla_hours
                )
            }
        })
}

fn status_words(status: ReportStatus, outcome: Option<ReportOutcome>) -> String {
    match (status, outcome) {
        (ReportStatus::Resolved, Some(outcome)) => {
            format!("We've had a look. {}", outcome.child_words())
        }
        (ReportStatus::Resolved, None) => "We've had a look.".to_owned(),
        (ReportStatus::Acknowledged, _) => "Someone is looking at it now.".to_owned(),
        (ReportStatus::Open, _) => "Waiting for someone to look at it.".to_owned(),
    }
}

fn about(item: &ward_core::feedback::ItemSnapshot) -> String {
    let mut words = format!("A {}", item.kind);
    if let Some(topic) = item.topics.first() {
        words.push_str(&format!(" about {topic}"));
    }
    if let Some(source) = &item.source {
        words.push_str(&format!(" from {source}"));
    }
    words
}

/// What the child reads beside an item the moderators took down after their report.
fn taken_down_words(policy: &CompiledPolicy, band: Option<AgeBand>) -> String {
    band.and_then(|band| policy.policy().support.taken_down_text.for_band(band))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if young(band) {
                "A grown-up took it down, so nobody can see it now.".to_owned()
            } else {
                "It was taken down after your report, so nobody can see it any more.".to_owned()
            }
        })
}

/// The words above the list of what is held back.
fn held_words(policy: &CompiledPolicy, band: Option<AgeBand>) -> String {
    band.and_then(|band| policy.policy().support.held_text.for_band(band))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if young(band) {
                "We're showing you less of these for a while. Press “Show again” if you want them back.".to_owned()
            } else {
                "Because you said “not for me”, these are held back for a while. You can bring any of them back now.".to_owned()
            }
        })
}

fn held_about(kind: HeldKind, name: &str) -> String {
    match kind {
        HeldKind::Topic => format!("Things about {name}"),
        HeldKind::Source => format!("Things from {name}"),
        HeldKind::Tag => format!("Things tagged {name}"),
    }
}

/// How long a hold has left, in whole days (at least one), for the older bands.
fn days_left(until: Timestamp, now: Timestamp, band: Option<AgeBand>) -> Option<String> {
    if young(band) {
        return None;
    }
    let hours = until.duration_since(now).as_hours().max(1);
    Some(match (hours + 23) / 24 {
        1 => "for 1 more day".to_owned(),
        days => format!("for {days} more days"),
    })
}

/// The child's page's section on their feedback.
pub(crate) fn section(
    feedback: &Feedback,
    policy: &CompiledPolicy,
    band: Option<AgeBand>,
    now: Timestamp,
) -> FeedbackSection {
    let support = &policy.policy().support;
    let decay = decay(policy);
    // An item whose report ended with it taken down cannot be shown again: it is gone.
    let taken_down = |hidden: &HiddenItem| {
        hidden
            .report
            .as_deref()
            .and_then(|id| feedback.report(id))
            .is_some_and(|report| report.outcome == Some(ReportOutcome::Removed))
    };
    FeedbackSection {
        hidden: feedback
            .hidden
            .iter()
            .rev()
            .take(SHOWN)
            .map(|hidden| HiddenLine {
                item: hidden.item.id.clone(),
                about: about(&hidden.item),
                reported: hidden.kind == FeedbackKind::Report,
                taken_down: taken_down(hidden).then(|| taken_down_words(policy, band)),
            })
            .collect(),
        held_intro: held_words(policy, band),
        held: feedback
            .held
            .iter()
            .rev()
            .filter(|held| held.at.saturating_add(decay).unwrap_or(held.at) > now)
            .take(SHOWN)
            .map(|held| HeldLine {
                kind: held.kind.as_str(),
                name: held.name.clone(),
                about: held_about(held.kind, &held.name),
                left: days_left(held.at.saturating_add(decay).unwrap_or(held.at), now, band),
            })
            .collect(),
        reports: feedback
            .reports
            .iter()
            .rev()
            .take(SHOWN)
            .map(|report| ReportLine {
                about: about(&report.item),
                reason: report.reason.child_words(),
                status: status_words(report.status, report.outcome),
                resolved: report.status == ReportStatus::Resolved,
            })
            .collect(),
        talk_to: support.talk_to.clone(),
        helpline: support.helpline.clone(),
        helpline_contact: support.helpline_contact.clone(),
        parents_see: if support.parents_see_reason {
            "If a parent is linked to your account, they are told when you report something and why, but never what it was. They are never told what you hide."
        } else {
            "If a parent is linked to your account, they are told when you report something, but not what it was or why. They are never told what you hide."
        },
    }
}

/// How many hidden items and reports the page lists (the newest).
const SHOWN: usize = 50;

/// `?setting=…&item=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhyQuery {
    #[serde(default)]
    setting: Option<String>,
    item: String,
}

/// `GET /pages/child/why`: why the child is seeing this item, with "Not for me" and "Report".
pub(crate) async fn why(
    State(state): State<AppState>,
    session: ChildSession,
    query: Result<Query<WhyQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Ok(Query(query)) = query else {
        return Err(bad_form());
    };
    let item = Item::from_json(&query.item).map_err(|_| bad_form())?;
    let child = state
        .load_child(&session.child)
        .await?
        .ok_or_else(|| ApiError::child_not_found(session.child.as_str()))?;
    let active = state.active();
    let policy = &active.compiled;
    let now = state.now();
    let setting = query
        .setting
        .as_deref()
        .and_then(|setting| policy.setting_idx(setting))
        .map(|idx| {
            policy
                .declared_purpose(policy.setting(idx).purpose)
                .name
                .clone()
        })
        .unwrap_or_else(|| "Recommendations".to_owned());
    let drift = state.drifts().get(state.store(), child.id.as_str()).await?;
    let explanation = why_am_i_seeing_this(&setting, &item, Some(&drift));
    let about = about(&ward_core::feedback::ItemSnapshot::of(&item));
    let csrf = session.session.csrf();
    let mut frame = super::child::frame(&child, policy, now, "Why am I seeing this?".to_owned());
    frame.csrf = Some(csrf.clone());
    render(
        StatusCode::OK,
        &WhyPage {
            frame,
            csrf,
            text: explanation.text,
            about,
            item: query.item,
            reasons: ReportReason::ALL
                .iter()
                .map(|reason| ReasonChoice {
                    value: reason.as_str(),
                    words: reason.child_words(),
                })
                .collect(),
            young: young(band(&child, policy, now)),
        },
    )
}

/// `item=<JSON>&kind=not_interested|report&reason=…&csrf=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct FeedbackForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /pages/child/feedback`: "Not for me" or "Report", then back to the child's page.
pub(crate) async fn give(
    State(state): State<AppState>,
    session: ChildSession,
    PageForm(form): PageForm<FeedbackForm>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let item = Item::from_json(form.item.as_deref().unwrap_or("")).map_err(|_| bad_form())?;
    let (kind, reason) = match (form.kind.as_deref(), form.reason.as_deref()) {
        (Some("not_interested"), _) => (FeedbackKind::NotInterested, None),
        (Some("report"), Some(reason)) => (
            FeedbackKind::Report,
            Some(ReportReason::parse(reason).ok_or_else(bad_form)?),
        ),
        _ => return Err(bad_form()),
    };
    state
        .give_feedback(&session.child, item, kind, reason)
        .await?;
    Ok(see_other(match reason {
        None => "/pages/child?notice=hidden#feedback",
        Some(reason) if reason.shows_help() => "/pages/child?notice=reported-help#help",
        Some(_) => "/pages/child?notice=reported#feedback",
    }))
}

/// `item=…&csrf=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct ShowAgainForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    item: Option<String>,
}

/// `POST /pages/child/feedback/show-again`.
pub(crate) async fn show_again(
    State(state): State<AppState>,
    session: ChildSession,
    PageForm(form): PageForm<ShowAgainForm>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let item = form.item.ok_or_else(bad_form)?;
    state.show_again(&session.child, item).await?;
    Ok(see_other("/pages/child?notice=shown#feedback"))
}

/// `kind=topic|source|tag&name=…&csrf=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReleaseForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /pages/child/feedback/release`: "show again" on one held-back name; what the child
/// hid stays hidden.
pub(crate) async fn release(
    State(state): State<AppState>,
    session: ChildSession,
    PageForm(form): PageForm<ReleaseForm>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let kind = form
        .kind
        .as_deref()
        .and_then(HeldKind::parse)
        .ok_or_else(bad_form)?;
    let name = form
        .name
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(bad_form)?;
    state.release_held(&session.child, kind, name).await?;
    Ok(see_other("/pages/child?notice=released#feedback"))
}
