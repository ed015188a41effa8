//! The feed guard over HTTP: `POST /v1/feed/filter` (the hot path beside `decide`), the
//! child's own "why am I seeing this" (`POST /v1/feed/why`), and declared interests
//! (`PUT /v1/children/{id}/interests`), the drift anchor.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ward_core::feed::{
    DriftState, FeedChild, FeedOutcome, Item, RemovalReason, duplicate_id, filter_into,
    why_am_i_seeing_this,
};
use ward_core::ids::ChildId;

use super::{Segments, path_id};
use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

/// The most items one call may carry.
const MAX_ITEMS: usize = 10_000;

/// `{"child", "items": [...], "explain"?: bool}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterRequest {
    child: String,
    items: Vec<Item>,
    /// Also say, for each kept item, why it may be shown.
    #[serde(default)]
    explain: bool,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidBody, message)
}

/// A child id in a body, judged as a path id is: a malformed one is `invalid_id`.
fn body_child_id(text: &str) -> Result<ChildId, ApiError> {
    ChildId::parse(text)
        .map_err(|error| ApiError::new(Code::InvalidId, format!("`child`: {error}")))
}

/// The parent blocks behind a removal, as `tag:…`-style names, for the blocked-content alert.
fn blocked(outcome: &FeedOutcome) -> (u32, Vec<String>) {
    let mut n_items = 0;
    let mut kinds = Vec::new();
    for removal in &outcome.removed {
        let mut any = false;
        for (reason, kind) in [
            (RemovalReason::ParentBlockedTag, "tag"),
            (RemovalReason::ParentBlockedTopic, "topic"),
            (RemovalReason::ParentBlockedSource, "source"),
        ] {
            if removal.reasons.contains(reason) {
                any = true;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        n_items += u32::from(any);
    }
    (n_items, kinds.into_iter().map(str::to_owned).collect())
}

/// `POST /v1/feed/filter`: what of these recommendation candidates may reach the child.
pub(crate) async fn filter(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<FilterRequest>,
) -> ApiResult<Response> {
    principal.require_decide()?;
    if body.items.len() > MAX_ITEMS {
        return Err(invalid(format!(
            "a feed may carry at most {MAX_ITEMS} items, this one has {}",
            body.items.len()
        )));
    }
    let child_id = body_child_id(&body.child)?;
    // One id twice would get an answer that both keeps and removes it.
    if let Some(duplicate) = duplicate_id(&body.items) {
        return Err(invalid(format!(
            "item ids must be unique: `{}` is both items[{}] and items[{}]",
            duplicate.id, duplicate.first, duplicate.second
        )));
    }
    let active = state.active();
    let now = state.now();
    let hot = state.hot_child(child_id.as_str(), &active, now).await?;
    let age = hot.state.age_status(&active.compiled, now);
    let child = FeedChild {
        age,
        time_zone: hot.time_zone.as_ref(),
        feedback: Some(&hot.feedback),
    };
    let mut outcome = FeedOutcome::default();
    state
        .drifts()
        .update(state.store(), child_id.as_str(), |drift| {
            filter_into(
                &active.feed,
                &child,
                Some(&hot.controls),
                Some(drift),
                &body.items,
                now,
                &mut outcome,
            );
        })
        .await?;
    state.metrics().feed_items(
        outcome.kept.len(),
        outcome.removed.len(),
        outcome.held.len(),
    );
    let (n_blocked, blocks) = blocked(&outcome);
    if n_blocked > 0 {
        // One alert a local day; the core decides whether this one raises it.
        let result = state
            .change_child(&child_id, false, move |child, policy, now, events, _| {
                events.extend(child.notice_blocked(policy, n_blocked, blocks, now));
                Ok(())
            })
            .await;
        match result {
            Err(error) if error.code != Code::ChildNotFound => return Err(error),
            _ => {}
        }
    }
    let explainer = outcome
        .explain(&active.feed, Some(&hot.controls), &body.items)
        .with_feedback(&hot.feedback, now);
    let mut response = serde_json::to_value(explainer.response())
        .map_err(|error| ApiError::internal("cannot render a feed response", &error))?;
    if body.explain
        && let Some(object) = response.as_object_mut()
    {
        let why: serde_json::Map<String, serde_json::Value> = outcome
            .kept
            .iter()
            .filter_map(|index| {
                let item = body.items.get(*index as usize)?;
                Some((item.id().to_owned(), explainer.why_shown(*index).into()))
            })
            .collect();
        object.insert("why_shown".into(), why.into());
    }
    Ok(Json(response).into_response())
}

/// `{"child", "setting", "item"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhyRequest {
    child: String,
    setting: String,
    item: Item,
}

/// `POST /v1/feed/why`: the child's own "why am I seeing this", in plain words.
pub(crate) async fn why(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<WhyRequest>,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let child_id = body_child_id(&body.child)?;
    let active = state.active();
    let Some(setting) = active
        .compiled
        .setting_idx(super::setting_id(&body.setting)?)
    else {
        return Err(ApiError::new(
            Code::SettingNotFound,
            format!("no setting `{}` in the policy", body.setting),
        ));
    };
    let purpose = active.compiled.setting(setting).purpose;
    let name = active.compiled.declared_purpose(purpose).name.clone();
    let drift = state.drifts().get(state.store(), child_id.as_str()).await?;
    Ok(Json(why_am_i_seeing_this(&name, &body.item, Some(&drift))).into_response())
}

/// `{"interests": ["football", ...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Interests {
    interests: Vec<String>,
}

/// `PUT /v1/children/{id}/interests`: the declared interests the drift score is measured
/// against.
pub(crate) async fn set_interests(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<Interests>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    check_interests(&body.interests)?;
    if state.load_child(&id).await?.is_none() {
        return Err(ApiError::child_not_found(id.as_str()));
    }
    let drift = state
        .drifts()
        .update(state.store(), id.as_str(), |drift| {
            drift.set_interests(&body.interests).map(|()| drift.clone())
        })
        .await?
        .map_err(|error| invalid(error.to_string()))?;
    state.drifts().flush(state.store()).await?;
    Ok(Json(serde_json::json!({
        "interests": drift.anchor_topics().collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The interests as sent, judged as the document describes them: at most
/// [`MAX_TOPICS`](ward_core::feed::MAX_TOPICS) (duplicates count: they are what was sent),
/// each at most [`MAX_TOPIC_LEN`](ward_core::feed::MAX_TOPIC_LEN) characters and not blank.
fn check_interests(interests: &[String]) -> Result<(), ApiError> {
    use ward_core::feed::{MAX_TOPIC_LEN, MAX_TOPICS};
    if interests.len() > MAX_TOPICS {
        return Err(invalid(format!(
            "`interests` holds at most {MAX_TOPICS} topics, this one {}",
            interests.len()
        )));
    }
    match interests
        .iter()
        .find(|topic| topic.chars().count() > MAX_TOPIC_LEN)
    {
        Some(topic) => Err(invalid(format!(
            "`{topic}` is longer than {MAX_TOPIC_LEN} characters"
        ))),
        None => Ok(()),
    }
}

/// A drift state as the export shows it.
pub(crate) fn drift_view(drift: &DriftState, state: &AppState) -> serde_json::Value {
    serde_json::json!({
        "report": drift.report(&state.active().feed),
        "state": drift,
    })
}
