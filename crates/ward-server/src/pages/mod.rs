//! The pages children and parents see, served by `ward serve` under `/pages`: a child's
//! privacy page (`child`), a parent's dashboard (`parent`), and the one-time links, sessions
//! and CSRF tokens that let a browser in (`access`). Server-rendered HTML from compile-time
//! `askama` templates (`templates/`, auto-escaped: policy texts can never become markup), one
//! stylesheet compiled into the binary, no JavaScript needed: every form POSTs and redirects.
//! One small script, also compiled in and served from here (`assets/dashboard.js`), makes the
//! dashboard's alerts live; without it the dashboard shows them as of its last load.
//!
//! Every change goes through the same operations as the JSON API (`crate::operations`), so
//! a page can do nothing the API would refuse. The words are the policy's (`ward.toml`: names,
//! descriptions, the band's `explain` and `ask_adult`); ward adds only the frame around them.
//!
//! Not for the JSON API (`routes`; the two routes that issue links live there, and the
//! alert stream the dashboard's script reads, `GET /v1/parents/{parent}/alerts`, which takes
//! the parent's session as well as a key: `crate::auth::KeyOrSession`).

pub(crate) mod access;
mod child;
mod feedback;
mod parent;
mod render;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub(crate) use render::PageError;

use crate::state::AppState;

/// The stylesheet: phone first, larger text and icons for the youngest bands.
const STYLESHEET: &str = include_str!("../../assets/ward.css");

/// The dashboard's live alerts: an `EventSource` on the parent's alert stream.
const DASHBOARD_SCRIPT: &str = include_str!("../../assets/dashboard.js");

/// What a page may load and where its forms may go: itself only. Scripts only from files
/// this server serves (no inline script, no `eval`); connections (the alert stream, and the
/// dashboard re-read for a new alert) to itself; inline SVG icons need no source.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The pages' routes (merged into the API's router).
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/pages/link/{token}",
            get(access::open_link).post(access::redeem_link),
        )
        .route("/pages/sign-out", post(access::sign_out))
        .route("/pages/child", get(child::page))
        .route("/pages/child/settings/{setting}", post(child::switch))
        .route(
            "/pages/child/settings/{setting}/confirm",
            post(child::confirm),
        )
        .route(
            "/pages/child/switch-on/{intervention}",
            get(child::switch_on_page).post(child::acknowledge),
        )
        .route("/pages/child/why", get(feedback::why))
        .route("/pages/child/feedback", post(feedback::give))
        .route(
            "/pages/child/feedback/show-again",
            post(feedback::show_again),
        )
        .route("/pages/child/feedback/release", post(feedback::release))
        .route("/pages/child/location", post(child::location))
        .route("/pages/child/profile", post(child::profile))
        .route("/pages/parent", get(parent::dashboard))
        .route(
            "/pages/parent/requests/{request}/{answer}",
            post(parent::answer),
        )
        .route(
            "/pages/parent/children/{child}/controls",
            post(parent::controls),
        )
        .route("/pages/child/settings/{setting}/reset", post(child::reset))
        .route("/pages/assets/ward.css", get(stylesheet))
        .route("/pages/assets/dashboard.js", get(dashboard_script))
        .layer(middleware::from_fn_with_state(state, guard))
}

/// True for paths the pages serve (their errors are pages, not JSON).
pub(crate) fn is_page_path(path: &str) -> bool {
    path == "/pages" || path.starts_with("/pages/")
}

/// A page for a path under `/pages` that is not one.
pub(crate) fn not_found() -> Response {
    PageError::new(
        StatusCode::NOT_FOUND,
        "This page does not exist",
        "Check the address, or open your link from the app again.",
    )
    .into_response()
}

/// Refuses a form posted from another site before any handler runs, the sign-in link's
/// "Continue" included: see [`from_this_site`]. (The CSRF token is checked as well, by every
/// form with a session.)
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !from_this_site(&state, request.headers()) {
        tracing::info!(
            path = request.uri().path(),
            "page form refused: sent from another site"
        );
        return access::forged().into_response();
    }
    next.run(request).await
}

/// False when the browser says a request comes from a page of another site: a
/// `Sec-Fetch-Site` other than `same-origin` or `none` (a sibling subdomain, `same-site`, is
/// another site too), or an `Origin` that is not this server's — the `public_url`'s origin
/// when one is set, else `http(s)://` and the request's `Host`. `Origin: null` (a sandboxed
/// frame, a page whose referrer policy hides its origin) passes only when `Sec-Fetch-Site`
/// vouches for it. A request with neither header is not from a modern browser's page and
/// passes; forms still need their CSRF token.
pub(crate) fn from_this_site(state: &AppState, headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site");
    let fetch_site_ok =
        fetch_site.is_none_or(|value| matches!(value.as_bytes(), b"same-origin" | b"none"));
    let origin_ok = headers.get(header::ORIGIN).is_none_or(|origin| {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if origin == "null" {
            return fetch_site.is_some();
        }
        match &state.pages().public_url {
            Some(public) => origin.eq_ignore_ascii_case(origin_of(public)),
            None => headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .is_some_and(|host| {
                    ["http://", "https://"].iter().any(|scheme| {
                        origin
                            .strip_prefix(scheme)
                            .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
                    })
                }),
        }
    });
    fetch_site_ok && origin_ok
}

/// `scheme://host[:port]` of a URL (everything before the path).
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |idx| idx + 3);
    match url[after_scheme..].find('/') {
        Some(idx) => &url[..after_scheme + idx],
        None => url,
    }
}

/// How long browsers remember to use https only (`Strict-Transport-Security`): a year.
const HSTS: &str = "max-age=31536000";

/// Adds the security headers to every answer, whatever drew it (a page, the pages' 404 and
/// 405, the API): every answer under `/pages` gets the content security policy, no framing,
/// no referrer (links carry tokens) and no caching of private pages; every answer gets
/// `nosniff`, and `Strict-Transport-Security` when ward is reached over https (its
/// `public_url`).
pub(crate) async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let page = is_page_path(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if page {
        for (name, value) in [
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-frame-options", "DENY"),
            // Other sites never get a referrer (links carry tokens); ward's own pages keep
            // their origin, so a form's `Origin` is its real one, not `null`.
            ("referrer-policy", "same-origin"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let https = state
        .pages()
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn dashboard_script() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A redirect after a form (303: the browser follows it with a GET).
pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}
