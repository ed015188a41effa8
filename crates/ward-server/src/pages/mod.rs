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
mod parent;
mod render;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
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
pub(crate) fn router() -> Router<AppState> {
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
        .layer(middleware::from_fn(guard))
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

/// Refuses a form posted from another site before any handler runs (the browser says where
/// a request comes from in `Sec-Fetch-Site`; the CSRF token is checked as well, for browsers
/// that do not), and adds the headers every page carries: the content security policy, no
/// framing, no referrer (links carry tokens), no caching of private pages.
async fn guard(request: Request, next: Next) -> Response {
    let cross_site = request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|value| value.as_bytes() == b"cross-site");
    let mut response = if request.method() == Method::POST && cross_site {
        access::forged().into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
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
