//! The service's own routes: API keys, the policy (read, reload), the ledger's verification
//! and signed checkpoints, health, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ward_store::Store;

use super::Segments;
use crate::auth::{Principal, Scope, generate};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::metrics::Format;
use crate::state::AppState;

/// `{"scope": "decide" | "admin" | "parent:<id>", "label"?: "…"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyRequest {
    scope: String,
    #[serde(default)]
    label: String,
}

/// Creates a key; the token is in this response and nowhere else, ever.
pub(crate) async fn create_key(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<NewKeyRequest>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let scope = Scope::parse(&body.scope)
        .map_err(|error| ApiError::new(Code::InvalidBody, error.to_string()))?;
    let key = generate(&scope, &body.label, state.now())
        .map_err(|error| ApiError::internal("cannot make a key", &error))?;
    let id = key.record.id.clone();
    state.store().create_key(key.record).await?;
    state.refresh_keys().await?;
    tracing::info!(key = %id, %scope, by = %principal.key_id, "key created");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": id, "scope": scope.to_string(), "token": key.token})),
    )
        .into_response())
}

/// Every key, without secrets.
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let keys: Vec<_> = state
        .store()
        .keys()
        .await?
        .into_iter()
        .map(|key| {
            serde_json::json!({
                "id": key.id,
                "scope": key.scope,
                "label": key.label,
                "created_at": key.created_at,
                "revoked_at": key.revoked_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({"keys": keys})).into_response())
}

/// Revokes a key at once on this node (and on others through the change feed or their poll).
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    principal: Principal,
    segments: Segments,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = super::ward_id(segments.get(0), "key", "", 16)?;
    if !state.store().revoke_key(id, state.now()).await? {
        return Err(ApiError::new(
            Code::KeyNotFound,
            format!("no live key `{id}`"),
        ));
    }
    state.refresh_keys().await?;
    tracing::info!(key = %id, by = %principal.key_id, "key revoked");
    Ok(Json(serde_json::json!({"id": id, "revoked": true})).into_response())
}

/// The policy in force.
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let active = state.active();
    let policy = active.compiled.policy();
    let purposes: Vec<_> = policy
        .purposes
        .iter()
        .map(|purpose| {
            serde_json::json!({
                "id": purpose.id,
                "name": purpose.name,
                "category": purpose.category,
                "setting": purpose.setting,
                "required": purpose.is_required(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "generation": active.generation,
        "hash": active.hash,
        "service": policy.service.name,
        "purposes": purposes,
    }))
    .into_response())
}

/// Re-reads the policy file (as SIGHUP does).
pub(crate) async fn reload_policy(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let reloaded = state.reload().await?;
    Ok(Json(reloaded).into_response())
}

/// Verifies the whole ledger.
pub(crate) async fn verify_ledger(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let verification = state.store().verify_ledger().await?;
    Ok(Json(serde_json::json!({
        "ok": verification.ok(),
        "entries": verification.entries,
        "head": verification.head,
        "first_bad": verification.first_bad,
    }))
    .into_response())
}

/// A signed checkpoint of the ledger's head, for an auditor to keep (`ward ledger verify
/// --checkpoint FILE` holds the ledger to it later).
pub(crate) async fn ledger_checkpoint(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let checkpoint = state.store().checkpoint(state.now()).await?;
    Ok(Json(checkpoint).into_response())
}

/// Liveness and the database's reachability.
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    match state.store().keys_version().await {
        Ok(_) => Json(serde_json::json!({"status": "ok", "generation": state.active().generation}))
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// Prometheus metrics, in the format the `Accept` header prefers (OpenMetrics for Prometheus,
/// text format 0.0.4 otherwise).
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let format = Format::negotiate((!accept.is_empty()).then(|| accept.join(",")).as_deref());
    let cache = state.cache();
    state
        .metrics()
        .cache_size(cache.len(), cache.bytes(), cache.budget());
    (
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::VARY, "accept"),
        ],
        state.metrics().render(format),
    )
        .into_response()
}

/// The OpenAPI 3.1 document describing this API.
pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI).into_response()
}
