//! The hot path: `POST /v1/decide` and `POST /v1/decide/batch`. Bodies are parsed into
//! borrowed strings (no copy of ids), ids are interned against the compiled policy, the
//! child's state comes from the in-memory cache, and the core's allocation-free `decide`
//! answers. A decision that cannot be made denies (an unknown purpose or data id is a deny
//! with its reason, not an error); a malformed request is an error.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ward_core::decide::{DataRef, Decision, Reason, Request, decide as decide_one};
use ward_core::ids::ChildId;

use crate::auth::Principal;
use crate::body::{RawJson, parse_text};
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
    let request: DecideRequest<'_> = parse_text(&body)?;
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
    let batch: BatchRequest<'_> = parse_text(&body)?;
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
    // The child of the request before: a batch often asks about one child many times over
    // (a page of items), and the same child at the same moment decides the same, so it is
    // checked and looked up once (hits and misses count lookups, not requests).
    let mut previous: Option<(&str, Arc<HotChild>)> = None;
    for (idx, request) in batch.requests.iter().enumerate() {
        let child = match previous.take() {
            Some((id, child)) if id == request.child => child,
            _ => {
                if let Err(error) = check_child(request) {
                    failed = Some((idx, error));
                    break;
                }
                match state.cached_hot_child(&request.child, &active, now) {
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
                }
            }
        };
        let decision = decide_for(&active, &child, request, &mut data, now);
        counts[decision.reason as usize] += 1;
        decisions.push(decision);
        previous = Some((&*request.child, child));
    }
    state.metrics().batch(&counts, hits, misses);
    if let Some((idx, mut error)) = failed {
        error.message = format!("`requests[{idx}]`: {}", error.message);
        return Err(error);
    }
    let json = render_batch(&decisions)
        .map_err(|error| ApiError::internal("cannot render decisions", &error))?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}

/// How many distinct decisions [`render_batch`] keeps rendered: a batch holds few (a reason
/// and an obligation each), and past this many the rest are rendered one by one.
const RENDERED: usize = 16;

/// `{"decisions": [...]}`, as serde writes it, straight to bytes: each distinct decision is
/// rendered once and copied wherever it comes again.
fn render_batch(decisions: &[Decision]) -> Result<Vec<u8>, serde_json::Error> {
    // Sized for the usual decision (about 60 bytes).
    let mut json = Vec::with_capacity(16 + decisions.len() * 64);
    json.extend_from_slice(b"{\"decisions\":[");
    let mut rendered: Vec<(Decision, Range<usize>)> = Vec::with_capacity(RENDERED);
    for (idx, decision) in decisions.iter().enumerate() {
        if idx > 0 {
            json.push(b',');
        }
        match rendered.iter().find(|(seen, _)| seen == decision) {
            Some((_, range)) => json.extend_from_within(range.clone()),
            None => {
                let start = json.len();
                serde_json::to_writer(&mut json, decision)?;
                if rendered.len() < RENDERED {
                    rendered.push((*decision, start..json.len()));
                }
            }
        }
    }
    json.extend_from_slice(b"]}");
    Ok(json)
}

#[cfg(test)]
mod tests {
    use ward_core::decide::{Decision, Obligation, Reason};

    use super::{BatchRequest, RENDERED, render_batch};
    use crate::body::{parse, parse_text};

    #[test]
    fn a_batch_renders_as_serde_writes_it() {
        // More distinct decisions than are kept rendered, each coming back out of order.
        let distinct: Vec<Decision> = Reason::ALL
            .iter()
            .flat_map(|reason| {
                [
                    None,
                    Some(Obligation::FilterFeed { age: 9 }),
                    Some(Obligation::MaxAdAge { age: 15 }),
                    Some(Obligation::AdultContactFilter),
                ]
                .map(|obligation| Decision {
                    allow: obligation.is_some(),
                    reason: *reason,
                    obligation,
                })
            })
            .collect();
        assert!(distinct.len() > RENDERED);
        let decisions: Vec<Decision> = (0..distinct.len() * 3)
            .map(|idx| distinct[(idx * 7) % distinct.len()])
            .collect();
        #[derive(serde::Serialize)]
        struct Answer<'a> {
            decisions: &'a [Decision],
        }
        let expected = serde_json::to_vec(&Answer {
            decisions: &decisions,
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(render_batch(&decisions).unwrap()).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(render_batch(&[]).unwrap(), br#"{"decisions":[]}"#);
    }

    #[test]
    fn a_batch_read_as_text_fails_as_it_did_as_bytes() {
        let good = br#"{"requests": [{"child": "kid-1", "purpose": "p\u00e9", "data": ["d"]}]}"#;
        let batch: BatchRequest<'_> = parse_text(good).unwrap();
        assert_eq!(batch.requests[0].purpose, "p\u{e9}");
        for body in [
            &br#"{"requests": [{"child": "kid-1", "purpose": 7}]}"#[..],
            br#"{"requests": [{"child": "kid-1", "purpose": "p"}], "x": 1}"#,
            b"{\"requests\": [{\"child\": \"kid-\xff\", \"purpose\": \"p\"}]}",
            b"{\"requests\": [\n  {\"child\": \"kid-1\",}]}",
        ] {
            let as_text = parse_text::<BatchRequest<'_>>(body).unwrap_err();
            let as_bytes = parse::<BatchRequest<'_>>(body).unwrap_err();
            assert_eq!(
                (as_text.code, &as_text.message),
                (as_bytes.code, &as_bytes.message)
            );
        }
    }
}
