//! ward-server's one integration-test binary: the real router on a real port, driven over
//! HTTP, on SQLite always and PostgreSQL when `WARD_TEST_DATABASE_URL` is set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod agreement;
mod auth;
mod bad_input;
mod feed;
mod feedback;
mod flow;
mod metrics;
mod nodes;
mod openapi;
mod outage;
mod pages;
mod parental;
mod policy;
mod signals;
mod slow_clients;
mod support;
