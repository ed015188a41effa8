//! Parental controls over HTTP: controls (screen time, bedtime, blocks), usage reports,
//! "reset my recommendations", a parent's live alerts (server-sent events, resumable with
//! `Last-Event-ID`), and the service's webhooks and their delivery log.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use ward_core::controls::Controls;
use ward_core::ids::{ChildId, ParentId};
use ward_store::{AlertRecord, Store};

use super::{Segments, path_id};
use crate::auth::{KeyOrSession, Principal};
use crate::body::{JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

/// `PUT /v1/children/{id}/controls`: daily minutes, bedtime, blocked tags, topics, sources.
pub(crate) async fn set_controls(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(controls): JsonBody<Controls>,
) -> ApiResult<Response> {
    let id = path_id(segments.get(0), ChildId::parse)?;
    let (controls, child) = state.set_controls(principal, &id, controls).await?;
    Ok(Json(serde_json::json!({"controls": controls, "child": child})).into_response())
}

/// `{"minutes_today": N}`: the minutes the child has used today, their local day.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageReport {
    minutes_today: u32,
}

/// `POST /v1/children/{id}/usage`: answered with time left, `limit_reached` and `bedtime`;
/// each reached once a local day raises one alert. Ending the session is the service's call.
pub(crate) async fn report_usage(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<UsageReport>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    if u32::from(ward_core::controls::MINUTES_PER_DAY) < body.minutes_today {
        return Err(ApiError::new(
            Code::InvalidBody,
            format!(
                "`minutes_today` is at most {} (a day's minutes), not {}",
                ward_core::controls::MINUTES_PER_DAY,
                body.minutes_today
            ),
        ));
    }
    let usage = state
        .change_child(&id, false, move |child, policy, now, events, _| {
            let (usage, raised) = child.report_usage(policy, body.minutes_today, now);
            events.extend(raised);
            Ok(usage)
        })
        .await?;
    Ok(Json(serde_json::json!({
        "minutes_left": usage.minutes_left,
        "limit_reached": usage.limit_reached,
        "bedtime": usage.bedtime,
        "alerts_raised": usage.alerts_to_raise,
    }))
    .into_response())
}

/// `{"setting": "recommend-videos"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetRequest {
    setting: String,
}

/// `POST /v1/children/{id}/profile-reset`: "reset my recommendations". The drift anchor and
/// window are cleared, and a `profile_reset` event tells the service to drop its profile.
pub(crate) async fn reset_profile(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<ResetRequest>,
) -> ApiResult<Response> {
    let id = path_id(segments.get(0), ChildId::parse)?;
    super::setting_id(&body.setting)?;
    state
        .reset_profile(&id, body.setting, Some(principal))
        .await?;
    Ok(Json(serde_json::json!({"reset": true})).into_response())
}

/// `?after=SEQ`: resume after this alert (as `Last-Event-ID` does).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertsQuery {
    #[serde(default)]
    after: Option<i64>,
}

/// How many alerts one read of the store sends at most.
const ALERT_PAGE: i64 = 100;
/// How often a quiet stream looks at the store anyway (a wake-up from another node may be
/// lost while its change feed reconnects).
const ALERT_RECHECK: Duration = Duration::from_secs(5);

/// `GET /v1/parents/{parent}/alerts`: the parent's alerts as server-sent events, each with
/// its id, resumable with `Last-Event-ID` (or `?after=`) so a reconnecting page misses
/// nothing. Without either, the stream starts with what happens next. Read with the
/// parent's (or admin) key, or by the parent's own dashboard with its session cookie.
/// The stream ends when the server begins to shut down, so the client reconnects (to
/// another node, or the restarted server) and resumes.
pub(crate) async fn alerts(
    State(state): State<AppState>,
    KeyOrSession(principal): KeyOrSession,
    segments: Segments,
    headers: HeaderMap,
    QueryParams(query): QueryParams<AlertsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let parent = path_id(segments.get(0), ParentId::parse)?;
    principal.require_parent_or_admin(&parent)?;
    if query.after.is_some_and(|after| after < 0) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            "`after` is an alert's sequence number, 0 or more",
        ));
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<i64>().ok())
        .or(query.after);
    let after = match resume {
        Some(after) => after,
        None => latest_alert(&state, parent.as_str()).await?,
    };
    let wakeups = state.alert_wakeups();
    let draining = state.draining();
    let stream = futures_util::stream::unfold(
        (
            state,
            parent.to_string(),
            after,
            wakeups,
            VecDeque::<AlertRecord>::new(),
            draining,
        ),
        |(state, parent, mut after, mut wakeups, mut queue, mut draining)| async move {
            loop {
                if let Some(alert) = queue.pop_front() {
                    after = alert.seq;
                    let event = Event::default()
                        .id(alert.seq.to_string())
                        .event(alert.kind)
                        .data(alert.body);
                    return Some((Ok(event), (state, parent, after, wakeups, queue, draining)));
                }
                if *draining.borrow() {
                    // Shutting down: the stream ends cleanly and the client resumes after
                    // the last id it got, from wherever it reconnects.
                    return None;
                }
                match state.store().alerts_since(&parent, after, ALERT_PAGE).await {
                    Ok(alerts) if !alerts.is_empty() => {
                        queue.extend(alerts);
                        continue;
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cannot read alerts; retrying"),
                }
                // Nothing new: wait for a wake-up for this parent (or any missed ones).
                let wait = async {
                    loop {
                        match wakeups.recv().await {
                            Ok(woken) if woken == parent => return,
                            Ok(_) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                };
                tokio::select! {
                    _ = tokio::time::timeout(ALERT_RECHECK, wait) => {}
                    _ = draining.wait_for(|draining| *draining) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The newest alert's id for a parent (0 when none): a fresh stream starts after it.
async fn latest_alert(state: &AppState, parent: &str) -> Result<i64, ApiError> {
    let newest = state.store().latest_alerts(parent, 1).await?;
    Ok(newest.first().map_or(0, |alert| alert.seq))
}

/// `{"url": "https://…"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWebhook {
    url: String,
}

/// `POST /v1/webhooks`: the signing secret is in this response and nowhere else.
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<NewWebhook>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let webhook = crate::webhooks::new_webhook(&body.url, state.now())?;
    let view = serde_json::json!({"id": webhook.id, "url": webhook.url, "secret": webhook.secret});
    state.store().create_webhook(webhook).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /v1/webhooks`: endpoints, without secrets.
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let webhooks: Vec<_> = state
        .store()
        .webhooks()
        .await?
        .into_iter()
        .map(|webhook| {
            serde_json::json!({
                "id": webhook.id,
                "url": webhook.url,
                "created_at": webhook.created_at,
                "disabled_at": webhook.disabled_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({"webhooks": webhooks})).into_response())
}

/// `DELETE /v1/webhooks/{id}`: disables an endpoint.
pub(crate) async fn disable_webhook(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = super::ward_id(segments.get(0), "webhook", "wh_", 16)?;
    if !state.store().disable_webhook(id, state.now()).await? {
        return Err(ApiError::new(
            Code::WebhookNotFound,
            format!("no live webhook `{id}`"),
        ));
    }
    Ok(Json(serde_json::json!({"id": id, "disabled": true})).into_response())
}

/// `?limit=N` (default 100, at most 1,000).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limit {
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /v1/webhooks/deliveries`: the latest attempts, newest first.
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<Limit>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            format!("`limit` is between 1 and 1000, not {limit}"),
        ));
    }
    let deliveries = state.store().deliveries(limit).await?;
    Ok(Json(serde_json::json!({"deliveries": deliveries})).into_response())
}
