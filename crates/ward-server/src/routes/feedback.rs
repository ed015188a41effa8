//! A child's feedback over HTTP: "not for me" and reports (`POST /v1/children/{id}/feedback`),
//! the child's list of what they hid (`GET …/feedback`), "show again"
//! (`POST …/feedback/show-again`), releasing one held-back name (`POST …/feedback/release`),
//! and the moderators' routes (`/v1/reports…`: list, read,
//! acknowledge, resolve; `GET /v1/feedback/summary`, the evidence).
//!
//! Who may do what: the service's `admin` key relays a child's feedback (a parent cannot
//! give it for them: it is the child's own); a linked parent reads only that reports were
//! made (`parent_feedback_view`); the `moderate` scope (or `admin`) handles reports.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ward_core::feed::Item;
use ward_core::feedback::{
    FeedbackKind, HeldKind, MAX_ITEM_ID_LEN, MAX_NAME_LEN, ReportOutcome, ReportReason,
    ReportStatus,
};
use ward_core::ids::ChildId;
use ward_store::Store;

use super::{Segments, path_id, ward_id};
use crate::auth::{Principal, Scope};
use crate::body::{JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, Code};
use crate::feedback::{
    Moderation, feedback_view, help_view, parent_feedback_view, report_not_found, report_view,
    summary,
};
use crate::state::AppState;

/// `{"item": {...}, "kind": "not_interested" | "report", "reason"?: "..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedbackRequest {
    item: Item,
    kind: FeedbackKind,
    #[serde(default)]
    reason: Option<ReportReason>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidBody, message)
}

/// An item id as the document bounds it: not blank, at most [`MAX_ITEM_ID_LEN`] characters.
fn check_item_id(id: &str) -> Result<(), ApiError> {
    if id.chars().count() > MAX_ITEM_ID_LEN {
        return Err(invalid(format!(
            "an item id is at most {MAX_ITEM_ID_LEN} characters"
        )));
    }
    Ok(())
}

/// `POST /v1/children/{id}/feedback`: the child said "not for me", or reported the item.
pub(crate) async fn give(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<FeedbackRequest>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    check_item_id(body.item.id())?;
    let item_id = body.item.id().to_owned();
    let given = state
        .give_feedback(&id, body.item, body.kind, body.reason)
        .await?;
    let now = state.now();
    let active = state.active();
    let support = &active.compiled.policy().support;
    let help = given
        .report
        .as_ref()
        .map(|report| help_view(support, report.reason));
    let report = given.report.map(|report| {
        report_view(
            &ward_store::ReportRow {
                child: id.clone(),
                report,
            },
            now,
        )
    });
    Ok(Json(serde_json::json!({
        "item": item_id,
        "kind": match body.kind {
            FeedbackKind::NotInterested => "not_interested",
            FeedbackKind::Report => "report",
        },
        "held": given.held,
        "report": report,
        "help": help,
    }))
    .into_response())
}

/// `GET /v1/children/{id}/feedback`: what the child hid, what that holds back now, and
/// their reports; a linked parent sees only that reports were made.
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    let id = path_id(segments.get(0), ChildId::parse)?;
    let child = state.visible_child(&principal, &id).await?;
    let active = state.active();
    let view = match principal.scope {
        Scope::Admin => {
            let evidence = state.drifts().evidence(state.store(), id.as_str()).await?;
            feedback_view(&child.feedback, &evidence, &active.compiled, state.now())
        }
        _ => parent_feedback_view(&child.feedback, &active.compiled.policy().support),
    };
    Ok(Json(view).into_response())
}

/// `{"item": "item id"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShowAgain {
    item: String,
}

/// `POST /v1/children/{id}/feedback/show-again`: undoes the child's "not for me" (or
/// unhides a reported item; the report stays open).
pub(crate) async fn show_again(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<ShowAgain>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    check_item_id(&body.item)?;
    let released = state.show_again(&id, body.item.clone()).await?;
    Ok(Json(serde_json::json!({"item": body.item, "released": released})).into_response())
}

/// `{"kind": "topic" | "source" | "tag", "name": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Release {
    kind: HeldKind,
    name: String,
}

/// `POST /v1/children/{id}/feedback/release`: the child releases one held-back name from
/// their list ("show me these again"); the items they hid stay hidden.
pub(crate) async fn release(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<Release>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    if body.name.trim().is_empty() || body.name.chars().count() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "a held-back name is 1 to {MAX_NAME_LEN} characters"
        )));
    }
    let released = state.release_held(&id, body.kind, body.name).await?;
    Ok(Json(serde_json::json!({"released": released})).into_response())
}

/// A report's id: `rep_` and 16 lowercase hex digits.
fn report_id(text: &str) -> Result<&str, ApiError> {
    ward_id(text, "report", "rep_", 16)
}

/// `?status=open&limit=N`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportsQuery {
    #[serde(default)]
    status: Option<ReportStatus>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /v1/reports`: the moderators' list, newest first.
pub(crate) async fn reports(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ReportsQuery>,
) -> ApiResult<Response> {
    principal.require_moderate()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            format!("`limit` is between 1 and 1000, not {limit}"),
        ));
    }
    let rows = state.store().reports(query.status, limit).await?;
    let now = state.now();
    let reports: Vec<_> = rows.iter().map(|row| report_view(row, now)).collect();
    Ok(Json(serde_json::json!({"reports": reports})).into_response())
}

/// `GET /v1/reports/{id}`.
pub(crate) async fn report(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_moderate()?;
    let id = report_id(segments.get(0))?;
    let row = state
        .store()
        .report(id)
        .await?
        .ok_or_else(|| report_not_found(id))?;
    Ok(Json(report_view(&row, state.now())).into_response())
}

/// `POST /v1/reports/{id}/acknowledge`: a moderator has it.
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_moderate()?;
    let id = report_id(segments.get(0))?;
    let row = state.moderate(id, Moderation::Acknowledge).await?;
    Ok(Json(report_view(&row, state.now())).into_response())
}

/// `{"outcome": "removed" | "restricted" | "no_breach" | "referred"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Resolution {
    outcome: ReportOutcome,
}

/// `POST /v1/reports/{id}/resolve`: done; the child is told what was done.
pub(crate) async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<Resolution>,
) -> ApiResult<Response> {
    principal.require_moderate()?;
    let id = report_id(segments.get(0))?;
    let row = state
        .moderate(id, Moderation::Resolve(body.outcome))
        .await?;
    Ok(Json(report_view(&row, state.now())).into_response())
}

/// How many reports the summary reads at most.
const SUMMARY_ROWS: i64 = 100_000;

/// `GET /v1/feedback/summary`: the evidence over reports (counts, times to acknowledge and
/// resolve, overdue), for the evidence report.
pub(crate) async fn feedback_summary(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_moderate()?;
    let rows = state.store().reports(None, SUMMARY_ROWS).await?;
    let mut view = summary(&rows, state.now());
    if let Some(object) = view.as_object_mut() {
        // Counted on the feed path, per node: each child's own is in their export.
        let mut not_for_me = state.metrics().not_for_me_totals();
        if let Some(totals) = not_for_me.as_object_mut() {
            totals.insert("scope".into(), "this_node_since_start".into());
        }
        object.insert("not_for_me".into(), not_for_me);
    }
    Ok(Json(view).into_response())
}
