//! A parent's dashboard: the children linked to them (from the store's parent index, each
//! checked against the child's own document), each child's consent requests with exactly the
//! explanation and prompt the child was shown and their text version, approve and deny (the
//! API's own operation, as the principal `parent:<id>`), the child's settings at a glance,
//! and the places the parental controls and the live alerts (issue 7) go.
//!
//! Not for changing a child's settings: only the child does that, and only a parent's answer
//! to the child's own request turns one on.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use ward_core::policy::{ProfileVisibility, Toggle};
use ward_core::settings::SettingValue;
use ward_store::{RequestRow, RequestStatus, Store};

use super::access::{CsrfOnly, PageForm, ParentSession};
use super::render::{ChildCard, Frame, ParentPage, RequestCard, render, when};
use super::{PageError, see_other};
use crate::error::{ApiError, Code};
use crate::operations::Answer;
use crate::state::AppState;
use crate::views::ChildView;

/// Answered requests shown per child.
const ANSWERED_SHOWN: usize = 10;

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
        RequestStatus::Withdrawn => "Withdrawn (switched off)".to_owned(),
    }
}

/// `GET /pages/parent`.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    session: ParentSession,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let active = state.active();
    let policy = &active.compiled;
    let time_zone = policy.policy().service.time_zone.clone();
    let now = state.now();
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
        });
    }
    let csrf = session.session.csrf();
    render(
        StatusCode::OK,
        &ParentPage {
            frame: Frame {
                service: policy.policy().service.name.clone(),
                title: "Your children".to_owned(),
                young: false,
                signs: None,
                csrf: Some(csrf.clone()),
            },
            csrf,
            parent: session.parent.to_string(),
            notice: notice(query.as_deref()),
            children,
        },
    )
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
