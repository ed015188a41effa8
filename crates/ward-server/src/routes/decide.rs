//! The hot path: `POST /v1/decide` and `POST /v1/decide/batch`. Bodies are parsed into
//! borrowed strings (no copy of ids), ids are interned against the compiled policy, the
//! child's state comes from the in-memory cache, and the core's allocation-free `decide`
//! answers. A decision that cannot be made denies (an unknown purpose or data id is a deny
//! with its reason, not an error); a malformed request is an error.
//!
//! A body is read by [`scan_batch`] or [`scan_decide`] first, a single pass over the common,
//! well-formed shape, and by serde when that declines ([`crate::body::parse_text_with`]), so
//! serde words every error.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ward_core::decide::{DataRef, Decision, Reason, Request, decide as decide_one};
use ward_core::feed::Scanner;
use ward_core::ids::ChildId;

use crate::auth::Principal;
use crate::body::{RawJson, parse_text_with};
use crate::cache::HotChild;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::{Active, AppState};

/// The most requests one batch may carry.
pub(crate) const MAX_BATCH: usize = 10_000;

/// `{"child", "purpose", "data", "context": {"gpc"}}`.
#[derive(Debug, PartialEq, Deserialize)]
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

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Context {
    /// The Global Privacy Control signal.
    #[serde(default)]
    gpc: bool,
}

/// `{"requests": [...]}`.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRequest<'a> {
    #[serde(borrow)]
    requests: Vec<DecideRequest<'a>>,
}

/// The fewest bytes one request of a batch takes (`{"child":"","purpose":""}`, with the comma
/// after it): room for the requests is reserved from the body's length, at most
/// [`MAX_BATCH`] of them.
const MIN_REQUEST_BYTES: usize = 26;

/// The fast path for a [`BatchRequest`]: the usual body read in one pass by [`Scanner`], or
/// `None` for anything it does not take (a string with an escape, `null`, an unknown,
/// repeated or missing field, a value of another type, more than [`MAX_BATCH`] requests,
/// trailing text), and serde then reads the body, so every error is worded as before. What it
/// returns is what serde would (a test holds the two together).
fn scan_batch(text: &str) -> Option<BatchRequest<'_>> {
    let mut scanner = Scanner::new(text);
    let mut requests = None;
    scanner.object(|scanner, key| {
        if key != "requests" || requests.is_some() {
            return None;
        }
        let mut list = Vec::with_capacity((text.len() / MIN_REQUEST_BYTES).min(MAX_BATCH));
        scanner.array(|scanner| {
            // One too many: serde reads them all, and the handler words the refusal.
            if list.len() == MAX_BATCH {
                return None;
            }
            list.push(scan_request(scanner)?);
            Some(())
        })?;
        requests = Some(list);
        Some(())
    })?;
    if !scanner.is_at_end() {
        return None;
    }
    Some(BatchRequest {
        requests: requests?,
    })
}

/// [`scan_batch`] for `POST /v1/decide`'s one request.
fn scan_decide(text: &str) -> Option<DecideRequest<'_>> {
    let mut scanner = Scanner::new(text);
    let request = scan_request(&mut scanner)?;
    scanner.is_at_end().then_some(request)
}

/// One [`DecideRequest`], for [`scan_batch`] and [`scan_decide`].
fn scan_request<'a>(scanner: &mut Scanner<'a>) -> Option<DecideRequest<'a>> {
    let (mut child, mut purpose, mut data, mut context) = (None, None, None, None);
    scanner.fields(
        &["child", "purpose", "data", "context"],
        |scanner, field| {
            let repeated = match field {
                0 => child.replace(scanner.string()?).is_some(),
                1 => purpose.replace(scanner.string()?).is_some(),
                2 => {
                    let mut ids = Vec::new();
                    scanner.array(|scanner| {
                        ids.push(Cow::Borrowed(scanner.string()?));
                        Some(())
                    })?;
                    data.replace(ids).is_some()
                }
                _ => {
                    let mut gpc = None;
                    scanner.fields(&["gpc"], |scanner, _| {
                        gpc.replace(scanner.bool()?).is_none().then_some(())
                    })?;
                    let read = Context {
                        gpc: gpc.unwrap_or_default(),
                    };
                    context.replace(read).is_some()
                }
            };
            (!repeated).then_some(())
        },
    )?;
    Some(DecideRequest {
        child: Cow::Borrowed(child?),
        purpose: Cow::Borrowed(purpose?),
        data: data.unwrap_or_default(),
        context: context.unwrap_or_default(),
    })
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
    let request = parse_text_with(&body, scan_decide)?;
    check_child(&request)?;
    let active = state.active();
    let now = state.now();
    let mut data = Vec::new();
    // A cached child is decided in place, through the thread's memo, as in a batch.
    let decided = state.with_cached_hot_child(&request.child, &active, now, |child| {
        decide_for(&active, child, &request, &mut data, now)
    });
    let decision = match decided {
        Some(decision) => {
            state.metrics().cache_hit();
            decision
        }
        None => {
            state.metrics().cache_miss();
            let child = state.read_hot_child(&request.child, &active, now).await?;
            decide_for(&active, &child, &request, &mut data, now)
        }
    };
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
    let batch = parse_text_with(&body, scan_batch)?;
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
    // A batch often asks about one child many times over (a page of items), and the same
    // child at the same moment decides the same: a child is checked and counted once for a
    // run of requests about it (hits and misses count lookups, not requests). A cached child
    // is decided in place, through the thread's memo; one read from the store is kept for
    // the run.
    let mut previous: Option<&str> = None;
    let mut read: Option<(&str, Arc<HotChild>)> = None;
    for (idx, request) in batch.requests.iter().enumerate() {
        let id = &*request.child;
        let repeated = previous == Some(id);
        if !repeated {
            if let Err(error) = check_child(request) {
                failed = Some((idx, error));
                break;
            }
            previous = Some(id);
        }
        let decision = match read.as_ref().filter(|(read_id, _)| *read_id == id) {
            Some((_, child)) => decide_for(&active, child, request, &mut data, now),
            None => match state.with_cached_hot_child(id, &active, now, |child| {
                decide_for(&active, child, request, &mut data, now)
            }) {
                Some(decision) => {
                    hits += u64::from(!repeated);
                    decision
                }
                None => {
                    misses += 1;
                    match state.read_hot_child(id, &active, now).await {
                        Ok(child) => {
                            let decision = decide_for(&active, &child, request, &mut data, now);
                            read = Some((id, child));
                            decision
                        }
                        Err(error) => {
                            failed = Some((idx, error));
                            break;
                        }
                    }
                }
            },
        };
        counts[decision.reason as usize] += 1;
        decisions.push(decision);
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

    use super::{
        BatchRequest, DecideRequest, MAX_BATCH, RENDERED, render_batch, scan_batch, scan_decide,
    };
    use crate::body::{parse, parse_text};

    /// Bodies the scanner must take, each in a shape clients send.
    const TAKEN: &[&str] = &[
        // As the load benchmark (and Python's json.dumps) writes it.
        r#"{"requests": [{"child": "kid-0", "purpose": "recommend-videos"}, {"child": "kid-1", "purpose": "estimate-age"}]}"#,
        // Every field, in both orders, compact, and a string beyond ASCII.
        "{\"requests\":[{\"child\":\"kid-1\",\"purpose\":\"recommend-videos\",\"data\":[\"watch-history\",\"location\"],\"context\":{\"gpc\":true}},{\"context\":{},\"data\":[],\"purpose\":\"p\u{e9}\",\"child\":\"c\"}]}",
        // Whitespace wherever JSON allows it.
        "\n{ \"requests\" :\t[ { \"child\" : \"kid-2\" ,\r\n \"purpose\":\"p\", \"data\" : [ \"d\" ] , \"context\" : { \"gpc\" : false } } ] }\n",
        r#"{"requests": []}"#,
    ];

    /// The scanner, where it takes a body, reads what serde reads.
    fn agrees(text: &str) -> bool {
        let Some(fast) = scan_batch(text) else {
            return false;
        };
        let slow: BatchRequest<'_> = parse_text(text.as_bytes()).unwrap_or_else(|error| {
            panic!("serde refuses what the scanner took: {text}: {error:?}")
        });
        assert_eq!(fast, slow, "{text}");
        true
    }

    #[test]
    fn the_scanner_takes_the_usual_batches_as_serde_reads_them() {
        for text in TAKEN {
            assert!(agrees(text), "the scanner declined {text}");
        }
    }

    #[test]
    fn every_one_byte_edit_of_a_batch_is_read_as_serde_reads_it_or_left_to_serde() {
        let (mut taken, mut declined) = (0, 0);
        for text in TAKEN {
            for edited in ward_core::feed::one_byte_edits(text) {
                if agrees(&edited) {
                    taken += 1;
                } else {
                    declined += 1;
                }
            }
        }
        // Both sides are exercised: whitespace edits are taken, broken structure is not.
        assert!(
            taken > 100 && declined > 100,
            "{taken} taken, {declined} declined"
        );
    }

    #[test]
    fn the_scanner_leaves_the_unusual_to_serde() {
        for text in [
            // An escape, a null, a number for a string.
            r#"{"requests": [{"child": "kid-\u0031", "purpose": "p"}]}"#,
            r#"{"requests": [{"child": "kid-1", "purpose": "p", "data": null}]}"#,
            r#"{"requests": [{"child": "kid-1", "purpose": 7}]}"#,
            // Unknown, repeated and missing fields, at each level.
            r#"{"requests": [{"child": "kid-1", "purpose": "p", "why": 1}]}"#,
            r#"{"requests": [{"child": "kid-1", "purpose": "p", "context": {"dnt": true}}]}"#,
            r#"{"requests": [{"child": "kid-1", "purpose": "p", "context": {"gpc": true, "gpc": false}}]}"#,
            r#"{"requests": [{"child": "kid-1", "child": "kid-2", "purpose": "p"}]}"#,
            r#"{"requests": [], "requests": []}"#,
            r#"{"requests": [{"child": "kid-1"}]}"#,
            r#"{"requests": [], "x": 1}"#,
            "{}",
            // Trailing text, another shape.
            r#"{"requests": []} []"#,
            r#"[{"child": "kid-1", "purpose": "p"}]"#,
        ] {
            assert!(scan_batch(text).is_none(), "the scanner took {text}");
        }
        // The most a batch may carry is read; one more is serde's to read and the handler's
        // to refuse, with its count.
        let batch = |n: usize| {
            let one = r#"{"child":"k","purpose":"p"}"#;
            format!(r#"{{"requests":[{}]}}"#, vec![one; n].join(","))
        };
        assert_eq!(
            scan_batch(&batch(MAX_BATCH)).unwrap().requests.len(),
            MAX_BATCH
        );
        assert!(scan_batch(&batch(MAX_BATCH + 1)).is_none());
        let text = batch(MAX_BATCH + 1);
        let read: BatchRequest<'_> = parse_text(text.as_bytes()).unwrap();
        assert_eq!(read.requests.len(), MAX_BATCH + 1);
    }

    #[test]
    fn one_decision_request_is_scanned_as_serde_reads_it() {
        let text = r#"{"child": "kid-1", "purpose": "recommend-videos", "data": ["location"], "context": {"gpc": true}}"#;
        let mut taken = 0;
        for edited in std::iter::once(text.to_owned()).chain(ward_core::feed::one_byte_edits(text))
        {
            if let Some(fast) = scan_decide(&edited) {
                let slow: DecideRequest<'_> = parse_text(edited.as_bytes())
                    .unwrap_or_else(|error| panic!("serde refuses {edited}: {error:?}"));
                assert_eq!(fast, slow, "{edited}");
                taken += 1;
            }
        }
        assert!(scan_decide(text).is_some());
        assert!(taken > 10, "{taken}");
        assert!(scan_decide(&format!("{text} {text}")).is_none());
    }

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
