//! The hot path: `POST /v1/decide` and `POST /v1/decide/batch`. Bodies are parsed into
//! borrowed strings (no copy of ids), ids are interned against the compiled policy, the
//! child's state comes from the in-memory cache, and the core's allocation-free `decide`
//! answers. A decision that cannot be made denies (an unknown purpose or data id is a deny
//! with its reason, not an error); a malformed request is an error.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ward_core::decide::{DataRef, Decision, Request, decide as decide_one};
use ward_core::ids::ChildId;

use crate::auth::Principal;
use crate::body::{RawJson, parse};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::{Active, AppState};

/// The most requests one batch may carry.
pub(crate) const MAX_BATCH: usize = 10_000;

/// `{"child", "purpose", "data", "context": {"gpc"}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideRequest<'a> {
    #[serde(borrow)]
    child: Cow<'a, str>,
    #[serde(borrow)]
    purpose: Cow<'a, str>,
    #[serde(default, borrow)]
    data: Vec<Cow<'a, str>>,
    #[serde(default)]
    context: Context,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Context {
    /// The Global Privacy Control signal.
    #[serde(default)]
    gpc: bool,
}

/// `{"requests": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRequest<'a> {
    #[serde(borrow)]
    requests: Vec<DecideRequest<'a>>,
}

#[derive(Serialize)]
struct BatchResponse {
    decisions: Vec<Decision>,
}

/// Decides one request at `now`; `data` is scratch space reused across a batch.
async fn decide_request(
    state: &AppState,
    active: &Active,
    request: &DecideRequest<'_>,
    data: &mut Vec<DataRef>,
    now: jiff::Timestamp,
) -> Result<Decision, ApiError> {
    // Judged as a path id would be: a malformed one is `invalid_id`, never decided.
    ChildId::check(&request.child)
        .map_err(|error| ApiError::new(Code::InvalidId, format!("`child`: {error}")))?;
    let child = state.hot_child(&request.child, active, now).await?;
    let policy = &active.compiled;
    data.clear();
    data.extend(request.data.iter().map(|id| policy.data_idx(id)));
    let decision = decide_one(
        policy,
        &child.state,
        &Request {
            purpose: policy.purpose_idx(&request.purpose),
            data,
            gpc: request.context.gpc,
        },
        now,
    );
    state.metrics().decision(decision.reason);
    Ok(decision)
}

/// `POST /v1/decide`.
pub(crate) async fn decide(
    State(state): State<AppState>,
    principal: Principal,
    RawJson(body): RawJson,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let request: DecideRequest<'_> = parse(&body)?;
    let active = state.active();
    let decision = decide_request(&state, &active, &request, &mut Vec::new(), state.now()).await?;
    Ok(Json(decision).into_response())
}

/// `POST /v1/decide/batch`: the decisions in request order.
pub(crate) async fn decide_batch(
    State(state): State<AppState>,
    principal: Principal,
    RawJson(body): RawJson,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let batch: BatchRequest<'_> = parse(&body)?;
    if batch.requests.len() > MAX_BATCH {
        return Err(ApiError::new(
            Code::InvalidBody,
            format!(
                "a batch may carry at most {MAX_BATCH} requests, this one has {}",
                batch.requests.len()
            ),
        ));
    }
    let active = state.active();
    let mut data = Vec::new();
    let mut decisions = Vec::with_capacity(batch.requests.len());
    // One moment for the whole batch: the clock is read once, and every answer in it is
    // for the same instant.
    let now = state.now();
    for (idx, request) in batch.requests.iter().enumerate() {
        let decision = decide_request(&state, &active, request, &mut data, now)
            .await
            .map_err(|mut error| {
                error.message = format!("`requests[{idx}]`: {}", error.message);
                error
            })?;
        decisions.push(decision);
    }
    Ok(Json(BatchResponse { decisions }).into_response())
}
