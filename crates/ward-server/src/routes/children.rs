//! A child's life over HTTP: create and update (age assurance, jurisdiction, time zone),
//! read, export, erase; settings on (the intervention) and off (one step); acknowledging an
//! intervention; a parent's answer to a consent request; account settings; session end;
//! linking parents. Every change runs the core's state machine inside the store's
//! transaction through [`AppState::change_child`]; the operations the pages share live in
//! `operations`, and these handlers only add the JSON shapes and status codes.

use axum::Json;
use axum::extract::{FromRequest, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use ward_core::age::AgeBand;
use ward_core::child::{AgeEvidence, AgeRecord, BandOrAdult};
use ward_core::ids::{ChildId, ParentId};
use ward_core::jurisdiction::Jurisdiction;
use ward_core::policy::{AgeMethod, ParentalConsentMethod, ProfileVisibility, Toggle};
use ward_core::settings::{Acknowledged, EventKind};
use ward_store::Store;

use super::{Segments, path_id};
use crate::auth::Principal;
use crate::body::{JsonBody, OptionalJson};
use crate::error::{ApiError, ApiResult, Code};
use crate::operations::{Answer, Switched};
use crate::state::AppState;
use crate::views::ChildView;

/// The oldest age a record may state.
const MAX_AGE: u8 = 120;

/// `PUT /v1/children/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutChild {
    /// A new age-assurance record.
    #[serde(default)]
    age: Option<AgeInput>,
    /// The child's jurisdiction (one of the policy's).
    #[serde(default)]
    jurisdiction: Option<String>,
    /// The child's IANA time zone; `""` clears it.
    #[serde(default)]
    time_zone: Option<String>,
}

/// An age-assurance record as sent: a method and exactly one of a birth date, an age or a
/// band; `at` defaults to now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeInput {
    method: AgeMethod,
    #[serde(default)]
    birth_date: Option<Date>,
    #[serde(default)]
    age: Option<u8>,
    #[serde(default)]
    band: Option<String>,
    #[serde(default)]
    at: Option<Timestamp>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidBody, message)
}

impl AgeInput {
    fn record(self, now: Timestamp) -> Result<AgeRecord, ApiError> {
        let at = self.at.unwrap_or(now);
        if at > now {
            return Err(invalid("`age.at` is in the future"));
        }
        let evidence = match (self.birth_date, self.age, self.band) {
            (Some(birth), None, None) => {
                let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
                if birth > today {
                    return Err(invalid(format!(
                        "`age.birth_date` {birth} is in the future"
                    )));
                }
                if today.year() - birth.year() > i16::from(MAX_AGE) {
                    return Err(invalid(format!(
                        "`age.birth_date` {birth} is more than {MAX_AGE} years ago"
                    )));
                }
                AgeEvidence::BirthDate(birth)
            }
            (None, Some(age), None) if age <= MAX_AGE => AgeEvidence::Age(age),
            (None, Some(age), None) => {
                return Err(invalid(format!("`age.age` {age} is over {MAX_AGE}")));
            }
            (None, None, Some(band)) if band == "adult" => AgeEvidence::Band(BandOrAdult::Adult),
            (None, None, Some(band)) => AgeEvidence::Band(BandOrAdult::Band(
                band.parse::<AgeBand>().map_err(|_| {
                    invalid(format!(
                        "`age.band` `{band}` is not one of 0-5, 6-9, 10-12, 13-15, 16-17, adult"
                    ))
                })?,
            )),
            _ => {
                return Err(invalid(
                    "`age` needs exactly one of `birth_date`, `age` or `band`",
                ));
            }
        };
        Ok(AgeRecord {
            method: self.method,
            evidence,
            at,
        })
    }
}

fn child_id(segments: &Segments) -> Result<ChildId, ApiError> {
    path_id(segments.get(0), ChildId::parse)
}

fn json(status: StatusCode, body: impl serde::Serialize) -> Response {
    (status, Json(body)).into_response()
}

/// Creates or updates a child.
pub(crate) async fn put_child(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<PutChild>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let now = state.now();
    let record = body.age.map(|age| age.record(now)).transpose()?;
    let jurisdiction = body
        .jurisdiction
        .map(|code| Jurisdiction::parse(&code).map_err(|error| invalid(error.to_string())))
        .transpose()?;
    let time_zone = match body.time_zone {
        Some(zone) if zone.is_empty() => Some(None),
        Some(zone) => {
            jiff::tz::TimeZone::get(&zone)
                .map_err(|_| invalid(format!("`time_zone` `{zone}` is not an IANA time zone")))?;
            Some(Some(zone))
        }
        None => None,
    };
    let (created, view) = state
        .change_child(&id, true, move |child, policy, now, events, _| {
            let created = events
                .iter()
                .any(|event| matches!(event.kind, EventKind::ChildCreated { .. }));
            if let Some(record) = record {
                events.extend(child.set_age_record(policy, record, now));
            }
            if let Some(jurisdiction) = jurisdiction {
                events.extend(child.set_jurisdiction(policy, jurisdiction, now)?.1);
            }
            if let Some(zone) = time_zone {
                child.time_zone = zone;
            }
            Ok((created, ChildView::new(child, policy, now)))
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, view))
}

/// A child's state.
pub(crate) async fn get_child(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    let id = child_id(&segments)?;
    let child = state.visible_child(&principal, &id).await?;
    let active = state.active();
    Ok(json(
        StatusCode::OK,
        ChildView::new(&child, &active.compiled, state.now()),
    ))
}

/// Everything held about a child (subject access).
pub(crate) async fn export_child(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let Some(child) = state.load_child(&id).await? else {
        return Err(ApiError::child_not_found(id.as_str()));
    };
    let active = state.active();
    let now = state.now();
    let requests = state.store().requests_of(&id).await?;
    let ledger = state.store().ledger_of(&id).await?;
    let drift = state.drifts().get(state.store(), id.as_str()).await?;
    let evidence = state.drifts().evidence(state.store(), id.as_str()).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({
            "exported_at": now,
            "child": ChildView::new(&child, &active.compiled, now),
            "stored": child.to_document(&active.compiled),
            "consent_requests": requests,
            "drift": super::feed::drift_view(&drift, &state),
            "feedback": crate::feedback::feedback_view(
                &child.feedback,
                &evidence,
                &active.compiled,
                now,
            ),
            "ledger": ledger,
            "signals": super::signals::signals_json(&ward_core::signals::compute(
                &active.compiled,
                &active.signals,
                &child.state,
                false,
                now,
            )),
        }),
    ))
}

/// Erases a child: their data goes, their ledger entries are blanked (the chain still
/// verifies).
pub(crate) async fn erase_child(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let erasure = state.store().erase_child(&id, state.now()).await;
    state.cache().invalidate(id.as_str());
    state.drifts().forget(id.as_str());
    let Some(erasure) = erasure? else {
        return Err(ApiError::child_not_found(id.as_str()));
    };
    Ok(json(
        StatusCode::OK,
        serde_json::json!({"erased": true, "ledger_entries_blanked": erasure.entries_blanked}),
    ))
}

/// `{"value": "on" | "off"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetSetting {
    value: Toggle,
}

/// Switches a setting off (one step, 200) or asks to switch it on (a child: 202 with the
/// intervention to show; an adult: on at once, 200).
pub(crate) async fn set_setting(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<SetSetting>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let setting = super::setting_id(segments.get(1))?.to_owned();
    Ok(
        match state.switch_setting(&id, setting, body.value).await? {
            Switched::Intervention(intervention) => json(
                StatusCode::ACCEPTED,
                serde_json::json!({"intervention": intervention}),
            ),
            Switched::State(view) => json(StatusCode::OK, view),
        },
    )
}

/// A child who crossed the age of digital consent confirms a parent's consent as their own.
pub(crate) async fn confirm_setting(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let view = state
        .confirm_setting(&id, super::setting_id(segments.get(1))?.to_owned())
        .await?;
    Ok(json(StatusCode::OK, view))
}

/// The child acknowledges an intervention: on (200), or waiting for a parent (202).
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let intervention_id = super::derived_id(segments.get(0), "intervention")?;
    let intervention = state.intervention(intervention_id, None).await?;
    let (acknowledged, view) = state.acknowledge_intervention(intervention).await?;
    Ok(match acknowledged {
        Acknowledged::On => json(
            StatusCode::OK,
            serde_json::json!({"result": "on", "child": view}),
        ),
        Acknowledged::PendingParent(request) => json(
            StatusCode::ACCEPTED,
            serde_json::json!({
                "result": "pending_parent",
                "no_parent_linked": request.no_parent_linked,
                "request": request,
                "child": view,
            }),
        ),
    })
}

/// `{"method": "email_plus"}`, optional: how the parent was verified.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    #[serde(default)]
    method: Option<ParentalConsentMethod>,
}

/// A linked parent approves: the setting goes on with their consent.
pub(crate) async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    // Who asks is judged before the body is read.
    principal.require_a_parent()?;
    let OptionalJson(body) = OptionalJson::<ApproveBody>::from_request(request, &state).await?;
    let body = body.unwrap_or_default();
    let view = state
        .answer_request(
            &principal,
            super::derived_id(segments.get(0), "consent request")?,
            Answer::Approve(body.method),
        )
        .await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({"status": "approved", "child": view}),
    ))
}

/// A linked parent denies: the setting goes back to off.
pub(crate) async fn deny(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_a_parent()?;
    let view = state
        .answer_request(
            &principal,
            super::derived_id(segments.get(0), "consent request")?,
            Answer::Deny,
        )
        .await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({"status": "denied", "child": view}),
    ))
}

/// One consent request: the child's linked parents or admin.
pub(crate) async fn get_request(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    let request_id = super::derived_id(segments.get(0), "consent request")?;
    let row = state.visible_request(&principal, request_id).await?;
    Ok(json(StatusCode::OK, row))
}

/// A child's consent requests, newest first.
pub(crate) async fn list_requests(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    let id = child_id(&segments)?;
    state.visible_child(&principal, &id).await?;
    let rows = state.store().requests_of(&id).await?;
    Ok(json(StatusCode::OK, serde_json::json!({"requests": rows})))
}

/// `{"geolocation"?: "on" | "off", "profile"?: "private" | "public"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Account {
    #[serde(default)]
    geolocation: Option<Toggle>,
    #[serde(default)]
    profile: Option<ProfileVisibility>,
}

/// Location sharing and profile visibility.
pub(crate) async fn set_account(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
    JsonBody(body): JsonBody<Account>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let view = state
        .set_account(&id, body.geolocation, body.profile)
        .await?;
    Ok(json(StatusCode::OK, view))
}

/// The child's session ended: location sharing back to off.
pub(crate) async fn end_session(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let view = state
        .change_child(&id, false, move |child, policy, now, events, _| {
            events.extend(child.end_session(now));
            Ok(ChildView::new(child, policy, now))
        })
        .await?;
    Ok(json(StatusCode::OK, view))
}

/// Links a parent (the service vouches for them): the child is supervised, and waiting
/// requests now reach the parent.
pub(crate) async fn link_parent(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let parent = path_id(segments.get(1), ParentId::parse)?;
    let view = state.link_parent(&id, parent).await?;
    Ok(json(StatusCode::CREATED, view))
}

/// Unlinks a parent.
pub(crate) async fn unlink_parent(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = child_id(&segments)?;
    let parent = path_id(segments.get(1), ParentId::parse)?;
    let view = state.unlink_parent(&id, parent).await?;
    Ok(json(StatusCode::OK, view))
}
