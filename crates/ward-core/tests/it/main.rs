//! ward-core's integration tests: one binary, one module per concern.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod agreement;
mod controls;
mod decisions;
mod documents;
mod examples;
mod feed;
mod feedback;
mod fuzz;
mod properties;
mod purity;
mod reports;
mod rules;
mod scan;
mod schema;
mod signals;
mod support;
mod tcf;
mod transitions;
mod world;
