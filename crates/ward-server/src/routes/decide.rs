//! The hot path: `POST /v1/decide` and `POST /v1/decide/batch`. Bodies are parsed into
//! borrowed strings (no copy of ids), ids are interned against the compiled policy, the
//! child's state comes from the in-memory cache, and the core's allocation-free `decide`
//! answers. A decision that cannot be made denies (an unknown purpose or data id is a deny
//! with its reason, not an error); a malformed request is an error.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ward_core::decide::{DataRef, Decision, Reason, Request, decide as decide_one};
use ward_core::ids::ChildId;

use crate::auth::Principal;
use crate::body::{RawJson, parse};
use crate::cache::HotChild;
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

/// Checks a request's child id as a path id would be: a malformed one is `invalid_id`,
/// never decided.
fn check_child(request: &DecideRequest<'_>) -> Result<(), ApiError> {
    ChildId::check(&request.child)
        .map_err(|error| ApiError::new(Code::InvalidId, format!("`child`: {error}")))
}

/// Decides one request for `child` at `now`; `data` is scratch space reused across a batch.
fn decide_for(
    active: &Active,
    child: &HotChild,
    request: &DecideRequest<'_>,
    data: &mut Vec<DataRef>,
    now: jiff::Timestamp,
) -> Decision {
    let policy = &active.compiled;
    data.clear();
    data.extend(request.data.iter().map(|id| policy.data_idx(id)));
    decide_one(
        policy,
        &child.state,
        &Request {
            purpose: policy.purpose_idx(&request.purpose),
            data,
            gpc: request.context.gpc,
        },
        now,
    )
}

/// `POST /v1/decide`.
pub(crate) async fn decide(
    State(state): State<AppState>,
    principal: Principal,
    RawJson(body): RawJson,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let request: DecideRequest<'_> = parse(&body)?;
    check_child(&request)?;
    let active = state.active();
    let now = state.now();
    let child = state.hot_child(&request.child, &active, now).await?;
    let decision = decide_for(&active, &child, &request, &mut Vec::new(), now);
    state.metrics().decision(decision.reason);
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
    // Counted here and added to the shared counters once: per decision, the atomic updates
    // would cost more than deciding.
    let mut counts = [0u64; Reason::ALL.len()];
    let (mut hits, mut misses) = (0u64, 0u64);
    // One moment for the whole batch: the clock is read once, and every answer in it is
    // for the same instant.
    let now = state.now();
    let mut failed = None;
    for (idx, request) in batch.requests.iter().enumerate() {
        if let Err(error) = check_child(request) {
            failed = Some((idx, error));
            break;
        }
        let child = match state.cached_hot_child(&request.child, &active, now) {
            Some(child) => {
                hits += 1;
                child
            }
            None => {
                misses += 1;
                match state.read_hot_child(&request.child, &active, now).await {
                    Ok(child) => child,
                    Err(error) => {
                        failed = Some((idx, error));
                        break;
                    }
                }
            }
        };
        let decision = decide_for(&active, &child, request, &mut data, now);
        counts[decision.reason as usize] += 1;
        decisions.push(decision);
    }
    state.metrics().batch(&counts, hits, misses);
    if let Some((idx, mut error)) = failed {
        error.message = format!("`requests[{idx}]`: {}", error.message);
        return Err(error);
    }
    // Written straight to bytes, sized for the usual decision (about 60 bytes).
    let mut json = Vec::with_capacity(16 + decisions.len() * 64);
    serde_json::to_writer(&mut json, &BatchResponse { decisions })
        .map_err(|error| ApiError::internal("cannot render decisions", &error))?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}
