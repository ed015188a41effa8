//! `ward-core`: the pure domain of ward.
//!
//! What is here: the `ward.toml` policy model and its strict parser ([`policy`]), the
//! Children's Code lint rules that `ward check` runs ([`lint`]) and the renderers for their
//! findings ([`report`]); children's ages ([`child`]), their settings, consents and the
//! switch-on flow ([`settings`]), and [`decide`] over a policy compiled for it ([`compiled`]).
//!
//! **Architecture invariant:** this crate does no I/O, reads no clock and spawns nothing. Time
//! is a parameter, files are strings, output is a `String`. A test fails if its `Cargo.toml`
//! gains tokio, sqlx, rusqlite, axum, hyper or reqwest.
#![deny(missing_docs)]

pub mod age;
pub mod alerts;
pub mod child;
pub mod compiled;
pub mod controls;
pub mod decide;
pub mod document;
pub mod feed;
pub mod feedback;
pub mod ids;
pub mod jurisdiction;
pub mod lint;
pub mod parental;
pub mod policy;
pub mod report;
pub mod settings;
pub mod signals;
pub mod span;
pub mod vocab;

/// A commented starter `ward.toml` that passes `ward check` (what `ward init` writes).
pub const STARTER_POLICY: &str = include_str!("starter.toml");
