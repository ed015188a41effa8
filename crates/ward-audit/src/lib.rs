//! `ward audit`: a recommender tested on simulated children, with and without ward's feed
//! guard, as the published sock-puppet studies tested TikTok and YouTube by hand (CCDH 2022,
//! Amnesty 2023, the Molly Rose Foundation 2025, Hosseinmardi et al. 2024, Haroon et al. 2022).
//!
//! A simulator in named parts, after Google RecSim and T-RECS (`STYLE.md`):
//! - [`persona`]: the simulated children and their user model (RecSim's interest evolution,
//!   with the differences written down there);
//! - [`catalogue`]: the items (a generated, seeded catalogue or any JSONL one in ward's item
//!   format), each read once into what the simulation needs (topics, Ofcom's harm category);
//! - [`recommender`]: the recommenders under test (popularity, item-kNN, matrix
//!   factorisation, engagement-maximising) behind one trait, which an HTTP adapter at the
//!   edge (the `ward` binary) implements too;
//! - [`simulate`]: the loop that steps a persona through slates, with or without the guard,
//!   telling observers what happened;
//! - [`metrics`]: observers that record a run (they get shared references only, so they
//!   cannot change it) and the measures computed from the records, with bootstrap intervals;
//! - [`report`]: the typed result (`results.json`) and the HTML report over the same value.
//!
//! [`spec`] is the run spec (`audit.toml`), checked like `ward.toml`; [`run_audit`] runs one.
//!
//! No I/O: sources come in as text, results go out as values and strings, time is simulated,
//! and every random draw comes from a generator seeded by the spec, so a run is reproducible
//! bit for bit. The only threads are the ones [`run_audit`] uses to run jobs side by side; their
//! results are put back in job order.

pub mod catalogue;
pub mod metrics;
pub mod persona;
pub mod recommender;
pub mod report;
pub mod simulate;
pub mod spec;

mod audit;
pub mod known;
mod rng;

pub use audit::{AuditError, AuditInput, Progress, audited_age, run_audit};
pub use rng::SimRng;
