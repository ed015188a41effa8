//! The HTTP API of `RUNTIME.md`, version 1: the router, the fallbacks that keep every error
//! JSON (HTML under `/pages`), and the middleware that counts and logs requests. Handlers are
//! grouped by what they serve: `children` (a child's life), `decide` (the hot path), `feed`
//! (the feed guard), `parental` (controls, usage, alerts, webhooks), `admin` (keys, policy,
//! ledger, health), `links` (the pages' one-time links), `signals` (ad-tech signals); the pages' own routes are merged in
//! from `crate::pages`.

mod admin;
mod children;
mod decide;
mod feed;
mod feedback;
mod parental;
pub(crate) mod signals;

mod links;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::handler::Handler;
use axum::http::Uri;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The whole API, ready to serve.
pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/decide", post(decide::decide))
        .route("/v1/decide/batch", post(decide::decide_batch))
        .route(
            "/v1/children/{id}",
            put(children::put_child)
                .get(children::get_child)
                .delete(children::erase_child),
        )
        .route("/v1/children/{id}/export", get(children::export_child))
        .route(
            "/v1/children/{id}/settings/{setting}",
            post(children::set_setting),
        )
        .route(
            "/v1/children/{id}/settings/{setting}/confirm",
            post(children::confirm_setting),
        )
        .route("/v1/children/{id}/account", put(children::set_account))
        .route(
            "/v1/children/{id}/sessions/end",
            post(children::end_session),
        )
        .route(
            "/v1/children/{id}/parents/{parent}",
            put(children::link_parent).delete(children::unlink_parent),
        )
        .route(
            "/v1/children/{id}/consent-requests",
            get(children::list_requests),
        )
        .route(
            "/v1/interventions/{id}/acknowledge",
            post(children::acknowledge),
        )
        .route("/v1/consent-requests/{id}", get(children::get_request))
        .route("/v1/consent-requests/{id}/approve", post(children::approve))
        .route("/v1/consent-requests/{id}/deny", post(children::deny))
        .route("/v1/children/{id}/signals", get(signals::child_signals))
        .route("/v1/openrtb/regs", post(signals::openrtb_regs))
        .route("/.well-known/gpc.json", get(signals::gpc_json))
        .route("/v1/feed/filter", post(feed::filter))
        .route("/v1/feed/why", post(feed::why))
        .route("/v1/children/{id}/interests", put(feed::set_interests))
        .route(
            "/v1/children/{id}/feedback",
            post(feedback::give).get(feedback::list),
        )
        .route(
            "/v1/children/{id}/feedback/show-again",
            post(feedback::show_again),
        )
        .route(
            "/v1/children/{id}/feedback/release",
            post(feedback::release),
        )
        .route("/v1/reports", get(feedback::reports))
        .route("/v1/reports/{id}", get(feedback::report))
        .route("/v1/reports/{id}/acknowledge", post(feedback::acknowledge))
        .route("/v1/reports/{id}/resolve", post(feedback::resolve))
        .route("/v1/feedback/summary", get(feedback::feedback_summary))
        .route("/v1/children/{id}/controls", put(parental::set_controls))
        .route("/v1/children/{id}/usage", post(parental::report_usage))
        .route(
            "/v1/children/{id}/profile-reset",
            post(parental::reset_profile),
        )
        .route("/v1/parents/{parent}/alerts", get(parental::alerts))
        .route(
            "/v1/webhooks",
            post(parental::create_webhook).get(parental::list_webhooks),
        )
        .route("/v1/webhooks/deliveries", get(parental::deliveries))
        .route(
            "/v1/webhooks/{id}",
            axum::routing::delete(parental::disable_webhook),
        )
        .route("/v1/ledger/verify", get(admin::verify_ledger))
        .route("/v1/ledger/checkpoint", get(admin::ledger_checkpoint))
        .route("/v1/keys", post(admin::create_key).get(admin::list_keys))
        .route("/v1/keys/{id}", axum::routing::delete(admin::revoke_key))
        .route("/v1/policy", get(admin::get_policy))
        .route("/v1/policy/reload", post(admin::reload_policy))
        .route("/v1/openapi.json", get(admin::openapi))
        .route("/healthz", get(admin::healthz))
        .route("/metrics", get(admin::metrics))
        // Pages: links and sessions
        .route("/v1/children/{id}/page-link", post(links::child_page_link))
        .route(
            "/v1/parents/{parent}/sign-in-link",
            post(links::parent_sign_in_link),
        )
        .merge(crate::pages::router(state.clone()))
        // Before `route_layer`, so the layer wraps the 405 answer too and counts it under its
        // route; set after, it would replace the counted default.
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(state.clone(), observe));
    // A path no route matches is counted as route `unmatched`, never by its raw path.
    api.fallback(not_found.layer(middleware::from_fn_with_state(state.clone(), observe)))
        .layer(DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        // Outermost, so the fallbacks' answers (the pages' 404 and 405 too) carry them.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::pages::security_headers,
        ))
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    if crate::pages::is_page_path(uri.path()) {
        return crate::pages::not_found();
    }
    ApiError::new(
        Code::NotFound,
        "no such route; the API is described at /v1/openapi.json",
    )
    .into_response()
}

async fn method_not_allowed(uri: Uri) -> Response {
    if crate::pages::is_page_path(uri.path()) {
        return crate::pages::not_found();
    }
    ApiError::new(
        Code::MethodNotAllowed,
        "this route does not take that method; see /v1/openapi.json",
    )
    .into_response()
}

/// Counts and logs every request: by route template (never the ids in it), `unmatched` for a
/// path no route matches, and a bounded method label.
async fn observe(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let seconds = started.elapsed().as_secs_f64();
    state.metrics().request(
        &route,
        crate::metrics::method_label(method.as_str()),
        status.as_u16(),
        seconds,
    );
    if status.is_server_error() {
        tracing::warn!(%method, %route, status = status.as_u16(), seconds, "request failed");
    } else {
        tracing::debug!(%method, %route, status = status.as_u16(), seconds, "request");
    }
    response
}

/// A path id, checked: a malformed one is `invalid_id`, never a 500.
pub(crate) fn path_id<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, ward_core::ids::BadExternalId>,
) -> Result<T, ApiError> {
    parse(text).map_err(|error| ApiError::new(Code::InvalidId, error.to_string()))
}

/// An id ward made itself, checked before anything is looked up: `prefix` then `n_hex`
/// lowercase hex digits (interventions and consent requests: 32; keys: 16; webhooks: `wh_`
/// and 16). A malformed one is `invalid_id`; a well-formed one nobody has is the route's
/// "not found".
pub(crate) fn ward_id<'a>(
    text: &'a str,
    what: &str,
    prefix: &str,
    n_hex: usize,
) -> Result<&'a str, ApiError> {
    let well_formed = text.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == n_hex
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if well_formed {
        Ok(text)
    } else {
        Err(ApiError::new(
            Code::InvalidId,
            format!(
                "`{text}` is not a valid {what} id: ward makes them as `{prefix}` and {n_hex} lowercase hex digits"
            ),
        ))
    }
}

/// An intervention's or a consent request's id (`ward_core::settings` derives them).
pub(crate) fn derived_id<'a>(text: &'a str, what: &str) -> Result<&'a str, ApiError> {
    ward_id(text, what, "", 32)
}

/// A setting id in a path or a body: kebab-case, checked like every other id (`invalid_id`);
/// a well-formed one the policy does not have is `setting_not_found`.
pub(crate) fn setting_id(text: &str) -> Result<&str, ApiError> {
    ward_core::ids::SettingId::check(text)
        .map(|()| text)
        .map_err(|error| ApiError::new(Code::InvalidId, format!("setting: {error}")))
}

/// A route's path parameters, in order, as text: ids are checked by the handler with
/// [`path_id`], and a path that does not even decode is `invalid_id`, never axum's plain-text
/// rejection.
#[derive(Debug)]
pub(crate) struct Segments(pub(crate) Vec<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map(|Path(segments)| Self(segments))
            .map_err(|rejection| ApiError::new(Code::InvalidId, rejection.body_text()))
    }
}

impl Segments {
    /// The `n`th parameter (0-based).
    pub(crate) fn get(&self, n: usize) -> &str {
        self.0.get(n).map_or("", String::as_str)
    }
}

impl IntoResponse for crate::views::ChildView {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}
