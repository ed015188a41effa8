//! `ward-server`: `ward serve`, the HTTP API of `RUNTIME.md` over a [`ward_store::Store`].
//!
//! [`AppState::start`] opens the store and loads the policy (refusing one with errors);
//! [`app`] is the router; [`serve`] runs it on a listener until a shutdown signal, so tests
//! bind `127.0.0.1:0` and drive the real thing. The decision logic is `ward-core`'s; this
//! crate adds HTTP, API keys, the hot-path cache, metrics and the background tasks.
//!
//! The pages children and parents see (`/pages/…`, server-rendered HTML) are served here
//! too, from `pages`.
//!
//! Not a library API for `decide` (embed `ward-core` for that), and no rule of the Code lives
//! here: which events alert whom, the feed guard and the controls are `ward-core`'s.

pub mod auth;
pub mod body;
pub mod cache;
mod children;
pub mod clock;
pub mod drift;
pub mod error;
pub mod feedback;
pub mod listener;
pub mod metrics;
mod operations;
mod pages;
mod routes;
pub mod state;
mod strict;
pub mod views;
pub mod webhooks;

use std::future::Future;

pub use listener::ListenerConfig;
pub use state::{AppState, Config, PagesConfig, StartError};

/// The largest request body accepted (a 10,000-request batch fits).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The OpenAPI document, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The API as an axum router.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves the API on `listener` until `shutdown` resolves, under the limits and timeouts of
/// the state's [`ListenerConfig`]; then stops accepting, ends the alert streams, lets
/// requests in flight finish for up to the grace limit and drops what is left.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener, state, shutdown).await
}
