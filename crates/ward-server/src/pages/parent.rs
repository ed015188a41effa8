//! A parent's dashboard: the children linked to them (from the store's parent index, each
//! checked against the child's own document), each child's consent requests with exactly the
//! explanation and prompt the child was shown and their text version, approve and deny (the
//! API's own operation, as the principal `parent:<id>`), the child's settings at a glance,
//! each child's parental controls (daily minutes, bedtime, blocks: a form through the API's
//! own operation), and the parent's latest alerts in ward's words; `assets/dashboard.js` adds
//! new ones as they happen.
//!
//! Not for changing a child's settings: only the child does that, and only a parent's answer
//! to the child's own request turns one on.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use ward_core::compiled::CompiledPolicy;
use ward_core::controls::{
    BlockKind, BlockList, Controls, ControlsError, MAX_BLOCK_LEN, MAX_BLOCKS, MINUTES_PER_DAY,
    window_text,
};
use ward_core::ids::{ChildId, ParentId, SettingId};
use ward_core::policy::{DailyWindow, ProfileVisibility, Toggle};
use ward_core::settings::{Event, EventKind, RequestCause, SettingValue};
use ward_store::{AlertRecord, RequestRow, RequestStatus, Store};

use super::access::{CsrfOnly, PageForm, ParentSession};
use super::render::{
    AlertCard, ChildCard, ControlsErrors, ControlsForm, Frame, ParentPage, RequestCard, render,
    when,
};
use super::{PageError, see_other};
use crate::error::{ApiError, Code};
use crate::operations::Answer;
use crate::state::AppState;
use crate::views::ChildView;

/// Answered requests shown per child.
const ANSWERED_SHOWN: usize = 10;
/// Alerts shown when the dashboard loads (newer ones arrive live).
const ALERTS_SHOWN: i64 = 10;

fn notice(query: Option<&str>) -> Option<&'static str> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("notice="))?;
    Some(match value {
        "approved" => "Approved. The setting is on now.",
        "denied" => "Denied. The setting stays off.",
        _ => return None,
    })
}

fn value_label(value: SettingValue) -> &'static str {
    match value {
        SettingValue::On => "On",
        SettingValue::Off => "Off",
        SettingValue::PendingParent => "Waiting for a parent",
        SettingValue::LockedOff => "Off (cannot be switched on)",
    }
}

fn status_label(row: &RequestRow) -> String {
    let by = row
        .answered_by
        .as_deref()
        .map(|parent| format!(" by {parent}"))
        .unwrap_or_default();
    match row.status {
        RequestStatus::Pending => "Waiting for an answer".to_owned(),
        RequestStatus::Approved => format!("Approved{by}"),
        RequestStatus::Denied => format!("Denied{by}"),
        RequestStatus::Expired => "Expired without an answer".to_owned(),
        RequestStatus::Withdrawn => "Withdrawn (switched off, or no longer asked for)".to_owned(),
    }
}

/// What a consent request is, in words, by why it was made (the dashboard's request cards and
/// its alerts say the same).
fn request_heading(child: &str, setting: &str, cause: RequestCause) -> String {
    match cause {
        RequestCause::Asked => format!("{child} asked to switch on “{setting}”"),
        RequestCause::ConsentAge => format!(
            "{child} switched on “{setting}” themselves; their age or country now means a parent must agree"
        ),
        RequestCause::PurposeChanged => {
            format!("“{setting}” changed what it does; {child} needs a parent to agree again")
        }
    }
}

/// A query parameter's value, if present (only ever compared, never shown).
fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        pair.split_once('=')
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
    })
}

/// `GET /pages/parent`.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    session: ParentSession,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = query.as_deref();
    let saved = query_value(query, "saved");
    let page = build(&state, &session, notice(query), saved, None).await?;
    render(StatusCode::OK, &page)
}

/// The dashboard: every linked child's card, and the latest alerts. `saved`: the child whose
/// controls were just saved; `posted`: a child's controls form as just posted (kept, with
/// its errors, instead of the values set now).
async fn build(
    state: &AppState,
    session: &ParentSession,
    notice: Option<&'static str>,
    saved: Option<&str>,
    posted: Option<(&ChildId, ControlsForm)>,
) -> Result<ParentPage, PageError> {
    let active = state.active();
    let policy = &active.compiled;
    let time_zone = policy.policy().service.time_zone.clone();
    let now = state.now();
    let mut posted = posted;
    let mut children = Vec::new();
    for id in state
        .store()
        .children_of(&session.parent)
        .await
        .map_err(ApiError::from)?
    {
        // The index may trail an unlink by a moment on another node: the document decides.
        let child = match state.visible_child(&session.principal, &id).await {
            Ok(child) => child,
            Err(error) if matches!(error.code, Code::Forbidden | Code::ChildNotFound) => continue,
            Err(error) => return Err(error.into()),
        };
        let view = ChildView::new(&child, policy, now);
        let setting_name = |setting: &str| {
            view.settings
                .iter()
                .find(|s| s.id.as_str() == setting)
                .map_or_else(|| setting.to_owned(), |s| s.name.clone())
        };
        let rows = state
            .store()
            .requests_of(&id)
            .await
            .map_err(ApiError::from)?;
        let (pending, answered): (Vec<_>, Vec<_>) = rows
            .iter()
            .map(|row| {
                let request = &row.request;
                (
                    row.status == RequestStatus::Pending,
                    RequestCard {
                        id: request.id.clone(),
                        heading: request_heading(
                            id.as_str(),
                            &setting_name(request.setting.as_str()),
                            request.cause,
                        ),
                        shown: match request.cause {
                            RequestCause::Asked => format!("What {id} was shown:"),
                            RequestCause::ConsentAge | RequestCause::PurposeChanged => {
                                format!("What {id} is told about it at their age:")
                            }
                        },
                        setting_name: setting_name(request.setting.as_str()),
                        explain: request.explain.clone(),
                        ask_adult: request.ask_adult.clone(),
                        text_version: request.text_version.clone(),
                        requested_at: when(request.requested_at, &time_zone),
                        expires_at: when(request.expires_at, &time_zone),
                        status: status_label(row),
                    },
                )
            })
            .partition(|(pending, _)| *pending);
        let form = match posted.take_if(|(posted_id, _)| **posted_id == id) {
            Some((_, form)) => form,
            None => controls_form(&child.controls),
        };
        children.push(ChildCard {
            id: id.to_string(),
            band: view.band.to_owned(),
            location_on: view.geolocation == Toggle::On,
            profile_public: view.profile == ProfileVisibility::Public,
            settings: view
                .settings
                .iter()
                .map(|s| (s.name.clone(), value_label(s.effective)))
                .collect(),
            pending: pending.into_iter().map(|(_, card)| card).collect(),
            answered: answered
                .into_iter()
                .map(|(_, card)| card)
                .take(ANSWERED_SHOWN)
                .collect(),
            controls_now: controls_now(&child.controls),
            form,
            time_zone: child
                .time_zone(policy)
                .iana_name()
                .unwrap_or("UTC")
                .to_owned(),
            saved: saved == Some(id.as_str()),
        });
    }
    let alerts = state
        .store()
        .latest_alerts(session.parent.as_str(), ALERTS_SHOWN)
        .await
        .map_err(ApiError::from)?;
    let after = alerts.first().map_or(0, |alert| alert.seq);
    let alerts = alerts
        .iter()
        .map(|alert| alert_card(alert, policy, &session.parent, &time_zone))
        .collect();
    let csrf = session.session.csrf();
    Ok(ParentPage {
        frame: Frame {
            service: policy.policy().service.name.clone(),
            title: "Your children".to_owned(),
            young: false,
            signs: None,
            csrf: Some(csrf.clone()),
        },
        csrf,
        parent: session.parent.to_string(),
        notice,
        children,
        alerts,
        stream: format!("/v1/parents/{}/alerts", session.parent),
        after,
    })
}

/// A setting's name in the policy's words (its id when the policy no longer has it).
fn setting_name(policy: &CompiledPolicy, setting: &str) -> String {
    policy.setting_idx(setting).map_or_else(
        || setting.to_owned(),
        |idx| {
            policy
                .declared_purpose(policy.setting(idx).purpose)
                .name
                .clone()
        },
    )
}

/// An alert in ward's words, from the body the stream and the webhooks carry.
fn alert_card(
    alert: &AlertRecord,
    policy: &CompiledPolicy,
    me: &ParentId,
    time_zone: &str,
) -> AlertCard {
    let body: serde_json::Value = serde_json::from_str(&alert.body).unwrap_or_default();
    if alert.kind == "report_received" {
        // A parent's copy says that a report was made, never what (`alerts::parent_view`).
        let child = body["child"].as_str().unwrap_or("Your child").to_owned();
        let why = body["event"]["report"]["reason"]
            .as_str()
            .and_then(ward_core::feedback::ReportReason::parse)
            .map(|reason| format!(" (“{}”)", reason.child_words()))
            .unwrap_or_default();
        return AlertCard {
            seq: alert.seq,
            kind: alert.kind.clone(),
            at: body["at"]
                .as_str()
                .and_then(|at| at.parse::<jiff::Timestamp>().ok())
                .map(|at| when(at, time_zone))
                .unwrap_or_default(),
            text: format!(
                "{child} reported something they saw{why}. The service's team will look at it; you are not told what it was. If you're worried, ask them how they are."
            ),
            child: Some(child),
        };
    }
    let event: Option<Event> = serde_json::from_value(body["event"].clone()).ok();
    let Some(event) = event else {
        // Unreadable (an erased child's, say): its kind only.
        return AlertCard {
            seq: alert.seq,
            kind: alert.kind.clone(),
            at: String::new(),
            text: format!("An alert: {}.", alert.kind.replace('_', " ")),
            child: None,
        };
    };
    let child = event.child.as_str();
    let name = |setting: &SettingId| setting_name(policy, setting.as_str());
    let who = |parent: &ParentId| {
        if parent == me {
            "You were".to_owned()
        } else {
            format!("{parent} was")
        }
    };
    let text = match &event.kind {
        EventKind::ConsentRequested { request, .. } => format!(
            "{}. It stays off until a parent answers.",
            request_heading(child, &name(&request.setting), request.cause)
        ),
        EventKind::ConsentRequestExpired { setting } => format!(
            "Nobody answered {child}’s request to switch on “{}” in time, so it stays off.",
            name(setting)
        ),
        EventKind::SettingChanged { setting, to, .. } => format!(
            "{child}’s “{}” is now {}.",
            name(setting),
            match to {
                SettingValue::On => "on",
                SettingValue::Off => "off",
                SettingValue::PendingParent => "waiting for a parent",
                SettingValue::LockedOff => "off, and cannot be switched on",
            }
        ),
        EventKind::ParentLinked { parent } => format!("{} linked to {child}.", who(parent)),
        EventKind::ParentUnlinked { parent, .. } => {
            format!("{} unlinked from {child}.", who(parent))
        }
        EventKind::LimitReached { minutes, .. } => {
            format!("{child} reached today’s screen-time limit of {minutes} minutes.")
        }
        EventKind::BedtimeReached { .. } => format!("Bedtime began for {child}."),
        EventKind::BlockedContent { items, blocks } => format!(
            "{items} {} you blocked {} kept out of {child}’s feed ({}).",
            if *items == 1 { "item" } else { "items" },
            if *items == 1 { "was" } else { "were" },
            blocks.join(", ")
        ),
        EventKind::ProfileReset { .. } => format!("{child}’s recommendations were reset."),
        _ => format!("An alert about {child}: {}.", alert.kind.replace('_', " ")),
    };
    AlertCard {
        seq: alert.seq,
        kind: alert.kind.clone(),
        at: when(event.at, time_zone),
        text,
        // A child this parent was unlinked from has no card to go to.
        child: match &event.kind {
            EventKind::ParentUnlinked { parent, .. } if parent == me => None,
            _ => Some(child.to_owned()),
        },
    }
}

/// The controls as they are set, for people.
fn controls_now(controls: &Controls) -> Vec<(&'static str, String)> {
    let list = |names: &BlockList| {
        if names.is_empty() {
            "None".to_owned()
        } else {
            names
                .names()
                .iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    vec![
        (
            "Daily screen time",
            controls
                .daily_minutes()
                .map_or_else(|| "No limit".to_owned(), |m| format!("{m} minutes a day")),
        ),
        (
            "Bedtime",
            controls.bedtime().map_or_else(
                || "None".to_owned(),
                |window| window_text(window).replacen('-', " to ", 1),
            ),
        ),
        ("Blocked tags", list(controls.blocked_tags())),
        ("Blocked topics", list(controls.blocked_topics())),
        ("Blocked sources", list(controls.blocked_sources())),
    ]
}

/// The controls form filled in with what is set now.
fn controls_form(controls: &Controls) -> ControlsForm {
    let list = |names: &BlockList| {
        names
            .names()
            .iter()
            .map(|name| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (bedtime_start, bedtime_end) = controls
        .bedtime()
        .map(|window| {
            let text = window_text(window);
            let (start, end) = text.split_once('-').unwrap_or_default();
            (start.to_owned(), end.to_owned())
        })
        .unwrap_or_default();
    ControlsForm {
        daily_minutes: controls
            .daily_minutes()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        bedtime_start,
        bedtime_end,
        blocked_tags: list(controls.blocked_tags()),
        blocked_topics: list(controls.blocked_topics()),
        blocked_sources: list(controls.blocked_sources()),
        errors: ControlsErrors::default(),
    }
}

/// `POST /pages/parent/requests/{request}/approve|deny`.
pub(crate) async fn answer(
    State(state): State<AppState>,
    session: ParentSession,
    path: Result<Path<(String, String)>, PathRejection>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    session.session.check_csrf(form.csrf.as_deref())?;
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            "This page does not exist",
            "Go back to your dashboard and try again.",
        )
    };
    let Ok(Path((request, answer))) = path else {
        return Err(not_found());
    };
    let (answer, notice) = match answer.as_str() {
        "approve" => (Answer::Approve(None), "approved"),
        "deny" => (Answer::Deny, "denied"),
        _ => return Err(not_found()),
    };
    let view = state
        .answer_request(&session.principal, &request, answer)
        .await?;
    Ok(see_other(&format!(
        "/pages/parent?notice={notice}#child-{}",
        view.id
    )))
}

/// The controls form as posted.
#[derive(Debug, Deserialize)]
pub(crate) struct ControlsPost {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    daily_minutes: String,
    #[serde(default)]
    bedtime_start: String,
    #[serde(default)]
    bedtime_end: String,
    #[serde(default)]
    blocked_tags: String,
    #[serde(default)]
    blocked_topics: String,
    #[serde(default)]
    blocked_sources: String,
}

/// A time of day as a parent types it (`7:00`, `07:00`; a time input's `07:00:00`), as
/// `HH:MM`; `None` when it is not one.
fn time_of_day(text: &str) -> Option<String> {
    let text = text.trim();
    let text = match text.matches(':').count() {
        2 => text.strip_suffix(":00")?,
        _ => text,
    };
    let (hours, minutes) = text.split_once(':')?;
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) || hours.len() > 2 || minutes.len() != 2 {
        return None;
    }
    let normal = format!("{hours:0>2}:{minutes}");
    // A window from the time to another one checks the time as the core does.
    let other = if normal == "00:00" { "00:01" } else { "00:00" };
    DailyWindow::parse(&format!("{normal}-{other}")).map(|_| normal)
}

/// A comma-separated list, as names (empty entries dropped).
fn names(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// Checks a posted form: the controls it asks for, or the form back with what is wrong.
fn parse_controls(post: &ControlsPost) -> Result<Controls, Box<ControlsForm>> {
    let mut errors = ControlsErrors::default();
    let minutes = post.daily_minutes.trim();
    let daily_minutes = if minutes.is_empty() {
        None
    } else {
        match minutes.parse::<u32>() {
            Ok(minutes) if minutes <= u32::from(MINUTES_PER_DAY) => Some(minutes),
            Ok(_) => {
                errors.daily_minutes = Some(format!(
                    "A day has {MINUTES_PER_DAY} minutes: enter a number from 0 to {MINUTES_PER_DAY}, or leave it empty for no limit."
                ));
                None
            }
            Err(_) => {
                errors.daily_minutes = Some(
                    "Enter the minutes as a whole number, like 90, or leave it empty for no limit."
                        .to_owned(),
                );
                None
            }
        }
    };
    let (start, end) = (post.bedtime_start.trim(), post.bedtime_end.trim());
    let bedtime = match (start.is_empty(), end.is_empty()) {
        (true, true) => None,
        (false, true) | (true, false) => {
            errors.bedtime = Some(
                "Give both a start and an end for bedtime, or leave both empty for none."
                    .to_owned(),
            );
            None
        }
        (false, false) => match (time_of_day(start), time_of_day(end)) {
            (Some(start), Some(end)) if start == end => {
                errors.bedtime = Some("Bedtime must start and end at different times.".to_owned());
                None
            }
            (Some(start), Some(end)) => DailyWindow::parse(&format!("{start}-{end}")),
            (start_ok, _) => {
                let bad = if start_ok.is_none() { start } else { end };
                errors.bedtime = Some(format!(
                    "“{bad}” is not a time on the 24-hour clock: use 00:00 to 23:59, like 20:30 and 07:00."
                ));
                None
            }
        },
    };
    let (tags, topics, sources) = (
        names(&post.blocked_tags),
        names(&post.blocked_topics),
        names(&post.blocked_sources),
    );
    if errors.is_empty() {
        match Controls::new(daily_minutes, bedtime, &tags, &topics, &sources) {
            Ok(controls) => return Ok(controls),
            Err(error) => {
                let message = match &error {
                    ControlsError::BlockTooLong { .. } => {
                        format!("Each name can be at most {MAX_BLOCK_LEN} characters long.")
                    }
                    ControlsError::TooManyBlocks { .. } => {
                        format!("Block at most {MAX_BLOCKS} names in each list.")
                    }
                    other => other.to_string(),
                };
                let field = match error {
                    ControlsError::DailyMinutesOutOfRange { .. } => &mut errors.daily_minutes,
                    ControlsError::Bedtime(_) => &mut errors.bedtime,
                    ControlsError::EmptyBlock(kind)
                    | ControlsError::BlockTooLong { kind, .. }
                    | ControlsError::TooManyBlocks { kind, .. } => match kind {
                        BlockKind::Tags => &mut errors.blocked_tags,
                        BlockKind::Topics => &mut errors.blocked_topics,
                        BlockKind::Sources => &mut errors.blocked_sources,
                    },
                };
                *field = Some(message);
            }
        }
    }
    Err(Box::new(ControlsForm {
        daily_minutes: post.daily_minutes.clone(),
        bedtime_start: post.bedtime_start.clone(),
        bedtime_end: post.bedtime_end.clone(),
        blocked_tags: post.blocked_tags.clone(),
        blocked_topics: post.blocked_topics.clone(),
        blocked_sources: post.blocked_sources.clone(),
        errors,
    }))
}

/// `POST /pages/parent/children/{child}/controls`: daily minutes, bedtime, blocks, through
/// the API's own operation (as `parent:<id>`: only a linked parent's are taken). A form with
/// a mistake comes back as it was posted, each mistake said beside its field; nothing is
/// changed.
pub(crate) async fn controls(
    State(state): State<AppState>,
    session: ParentSession,
    path: Result<Path<String>, PathRejection>,
    PageForm(post): PageForm<ControlsPost>,
) -> Result<Response, PageError> {
    session.session.check_csrf(post.csrf.as_deref())?;
    let child = path
        .ok()
        .and_then(|Path(child)| ChildId::parse(&child).ok())
        .ok_or_else(|| {
            PageError::new(
                StatusCode::NOT_FOUND,
                "This page does not exist",
                "Go back to your dashboard and try again.",
            )
        })?;
    match parse_controls(&post) {
        Ok(controls) => {
            state
                .set_controls(session.principal.clone(), &child, controls)
                .await?;
            Ok(see_other(&format!(
                "/pages/parent?saved={child}#controls-{child}"
            )))
        }
        Err(form) => {
            // Only a child this parent may see gets their form back.
            state.visible_child(&session.principal, &child).await?;
            let page = build(&state, &session, None, None, Some((&child, *form))).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
