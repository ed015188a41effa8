//! Ad-tech signals over HTTP: `GET /v1/children/{id}/signals` (every string and field one
//! child's state produces, now), `POST /v1/openrtb/regs` (an OpenRTB 2.6 bid request filled
//! for a child and stripped of what their state forbids) and `/.well-known/gpc.json`.
//!
//! The scope is `decide`'s, and so is the answer for an id never seen: the signals of a new
//! `unknown` child on the defaults, so no route tells whether a child exists. `Sec-GPC: 1`
//! counts as the Global Privacy Control signal. Not for computing anything: the core's
//! [`ward_core::signals::compute`] does, from the same cached state `decide` reads.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use ward_core::ids::ChildId;
use ward_core::signals::openrtb::{CATTAX_AD_PRODUCT_2_0, fill_bid_request};
use ward_core::signals::{Signals, compute};

use super::{Segments, path_id};
use crate::auth::Principal;
use crate::body::{RawJson, parse};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

/// True when the request carries `Sec-GPC: 1` (the GPC specification: the value `1`).
pub(crate) fn sec_gpc(headers: &HeaderMap) -> bool {
    headers
        .get("sec-gpc")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim() == "1")
}

/// The signals, as the API writes them.
pub(crate) fn signals_json(signals: &Signals) -> Value {
    let ids = |set: ward_core::signals::tcf::IdSet| set.ids().collect::<Vec<u8>>();
    let tcf = signals.tc_model.as_ref().map(|model| {
        json!({
            "tc_string": signals.tc_string,
            "cmp_id": model.cmp_id,
            "vendor_list_version": model.vendor_list_version,
            "policy_version": model.policy_version,
            "publisher_country": String::from_utf8_lossy(&model.publisher_country),
            "purpose_consents": ids(model.purpose_consents),
            "purpose_legitimate_interests": ids(model.purpose_legitimate_interests),
            "special_feature_opt_ins": ids(model.special_feature_opt_ins),
            "vendor_consents": model.vendor_consents,
            "vendor_legitimate_interests": model.vendor_legitimate_interests,
            "disclosed_vendors": model.disclosed_vendors.clone().unwrap_or_default(),
        })
    });
    let mut user = Map::new();
    if let Some(tc_string) = &signals.tc_string {
        user.insert("consent".into(), Value::from(tc_string.clone()));
    }
    json!({
        "gpc": signals.gpc,
        "personalised_ads": signals.personalised_ads,
        "max_ad_age": signals.max_ad_age,
        "tcf": tcf,
        "google_ac": signals.ac_string,
        "gpp": {"string": signals.gpp, "sid": signals.gpp_sid},
        "openrtb": {
            "regs": {
                "coppa": u8::from(signals.coppa),
                "gdpr": u8::from(signals.gdpr),
                "gpp": signals.gpp,
                "gpp_sid": signals.gpp_sid,
            },
            "user": user,
            "bcat": signals.bcat,
            "cattax": CATTAX_AD_PRODUCT_2_0,
        },
        "google_ad_manager": {
            "tfat": signals.tfat.value(),
            "age_treatment": signals.tfat,
            "max_ad_content_rating": signals.max_ad_content_rating,
        },
    })
}

/// `GET /v1/children/{id}/signals`.
pub(crate) async fn child_signals(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    headers: HeaderMap,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let id = path_id(segments.get(0), ChildId::parse)?;
    let active = state.active();
    let now = state.now();
    let child = state.hot_child(id.as_str(), &active, now).await?;
    let signals = compute(
        &active.compiled,
        &active.signals,
        &child.state,
        sec_gpc(&headers),
        now,
    );
    let mut body = signals_json(&signals);
    if let Value::Object(map) = &mut body {
        map.insert("child".into(), Value::from(id.as_str()));
    }
    Ok(Json(body).into_response())
}

/// `{"child", "gpc"?, "request": {…an OpenRTB 2.6 BidRequest…}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegsRequest<'a> {
    #[serde(borrow)]
    child: Cow<'a, str>,
    #[serde(default)]
    gpc: bool,
    request: Map<String, Value>,
}

/// `POST /v1/openrtb/regs`: the bid request back, filled and stripped, with what was removed.
pub(crate) async fn openrtb_regs(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    RawJson(body): RawJson,
) -> ApiResult<Response> {
    principal.require_decide()?;
    let RegsRequest {
        child,
        gpc,
        mut request,
    } = parse(&body)?;
    ChildId::check(&child)
        .map_err(|error| ApiError::new(Code::InvalidId, format!("`child`: {error}")))?;
    let active = state.active();
    let now = state.now();
    let hot = state.hot_child(&child, &active, now).await?;
    let signals = compute(
        &active.compiled,
        &active.signals,
        &hot.state,
        gpc || sec_gpc(&headers),
        now,
    );
    let removed = fill_bid_request(&mut request, &signals)
        .map_err(|error| ApiError::new(Code::InvalidBody, format!("`request`: {error}")))?;
    Ok(Json(json!({"request": request, "removed": removed})).into_response())
}

/// `GET /.well-known/gpc.json`: ward's pages honour Global Privacy Control.
pub(crate) async fn gpc_json() -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "max-age=86400")],
        Json(json!({"gpc": true})),
    )
        .into_response()
}
