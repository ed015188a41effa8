//! Each child's drift state for the feed guard, on the hot path, in one of two ways:
//!
//! - **One node** (SQLite, which one `ward serve` owns): kept in memory, updated in place while
//!   a feed is filtered, and written to the store behind the request (at most a second later,
//!   and at shutdown). A crash loses at most that second of the window, which the drift score
//!   tolerates; consents and settings never go this way.
//! - **Shared** (PostgreSQL, where several nodes serve one database): one window per child
//!   across every node. Each feed updates the state this node last saw and writes it back
//!   only over the version it read (compare and set, [`Store::put_drift_at`]); when another
//!   node wrote first, the state is read again and the feed judged again on it. A child whose
//!   feeds are balanced over N nodes has one window, not N, so the sensitive-topic cap is as
//!   tight as on one node. The price is one write per feed (two round trips when another node
//!   wrote since).
//!
//! Beside each drift state, the same document keeps the child's [`FeedbackEvidence`]: what
//! became of each name they said "not for me" to (held back, shown while held, shown after).
//! It is counted on the same feed, so it costs no write of its own: the child's document is
//! never written by a feed.
//!
//! Not for deciding anything: see `ward_core::feed`.

use std::collections::HashSet;
use std::sync::Mutex;

use dashmap::DashMap;
use serde::Serialize;
use ward_core::feed::DriftState;
use ward_core::feedback::FeedbackEvidence;
use ward_store::{AnyStore, Store, StoreError};

use crate::error::{ApiError, Code};

/// How many times a shared update is tried against other nodes' writes before it gives up
/// (503 `unavailable`): each try is one round trip, and losing this often means the child's
/// feeds arrive faster than the database can order them.
const SHARED_TRIES: usize = 16;

/// A drift state, the feedback evidence beside it, and the stored version they were read or
/// written at (0: none stored).
#[derive(Debug, Clone, Default)]
struct Versioned {
    version: i64,
    state: DriftState,
    evidence: FeedbackEvidence,
}

/// The stored document: the drift state's fields, and `not_for_me` when there is evidence.
#[derive(Serialize)]
struct Stored<'a> {
    #[serde(flatten)]
    state: &'a DriftState,
    #[serde(skip_serializing_if = "FeedbackEvidence::is_empty")]
    not_for_me: &'a FeedbackEvidence,
}

fn render(state: &DriftState, evidence: &FeedbackEvidence) -> serde_json::Result<String> {
    serde_json::to_string(&Stored {
        state,
        not_for_me: evidence,
    })
}

/// Drift states by child id.
#[derive(Debug)]
pub struct DriftCache {
    states: DashMap<Box<str>, Versioned>,
    /// One window across nodes: every update is written at once, over the version read.
    shared: bool,
    /// Children whose state changed since the last flush (one node only).
    dirty: Mutex<HashSet<Box<str>>>,
}

fn parse(doc: &str) -> (DriftState, FeedbackEvidence) {
    let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(doc)
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "a stored drift state is unreadable; starting afresh");
            serde_json::Map::new()
        });
    let evidence = fields
        .remove("not_for_me")
        .map(|value| {
            serde_json::from_value(value).unwrap_or_else(|error| {
                tracing::warn!(%error, "stored feedback evidence is unreadable; starting afresh");
                FeedbackEvidence::default()
            })
        })
        .unwrap_or_default();
    let state = if fields.is_empty() {
        DriftState::new()
    } else {
        serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or_else(|error| {
            tracing::warn!(%error, "a stored drift state is unreadable; starting afresh");
            DriftState::new()
        })
    };
    (state, evidence)
}

impl DriftCache {
    /// Drift states kept on this node and written behind (`shared: false`), or one window per
    /// child across every node sharing the store (`shared: true`).
    pub fn new(shared: bool) -> Self {
        Self {
            states: DashMap::new(),
            shared,
            dirty: Mutex::new(HashSet::new()),
        }
    }

    /// True when every update is written through to the store, over the version read.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    async fn read(store: &AnyStore, child: &str) -> Result<Versioned, StoreError> {
        Ok(match store.drift_at(child).await? {
            Some((version, doc)) => {
                let (state, evidence) = parse(&doc);
                Versioned {
                    version,
                    state,
                    evidence,
                }
            }
            None => Versioned::default(),
        })
    }

    /// Runs `update` on the child's drift state (loaded from the store, or new, on first
    /// use) and keeps the result: marked for writing on one node; written at once when
    /// shared, where `update` may run more than once (on the state another node wrote
    /// meanwhile) and only its last run counts.
    pub async fn update<T>(
        &self,
        store: &AnyStore,
        child: &str,
        mut update: impl FnMut(&mut DriftState) -> T,
    ) -> Result<T, ApiError> {
        self.update_with(store, child, |state, _| update(state))
            .await
    }

    /// As [`Self::update`], with the child's feedback evidence beside the drift state.
    pub async fn update_with<T>(
        &self,
        store: &AnyStore,
        child: &str,
        mut update: impl FnMut(&mut DriftState, &mut FeedbackEvidence) -> T,
    ) -> Result<T, ApiError> {
        if self.shared {
            return self.update_shared(store, child, update).await;
        }
        if !self.states.contains_key(child) {
            let loaded = Self::read(store, child).await?;
            self.states.entry(child.into()).or_insert(loaded);
        }
        let value = {
            let mut entry = self.states.entry(child.into()).or_default();
            let Versioned {
                state, evidence, ..
            } = &mut *entry;
            update(state, evidence)
        };
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.insert(child.into());
        }
        Ok(value)
    }

    async fn update_shared<T>(
        &self,
        store: &AnyStore,
        child: &str,
        mut update: impl FnMut(&mut DriftState, &mut FeedbackEvidence) -> T,
    ) -> Result<T, ApiError> {
        // What this node last saw is usually still current (a child's feeds often come back to
        // the same node); if not, the write says so and the store is read.
        let mut seen = self.states.get(child).map(|entry| entry.clone());
        for _ in 0..SHARED_TRIES {
            let mut next = match seen.take() {
                Some(seen) => seen,
                None => Self::read(store, child).await?,
            };
            let value = update(&mut next.state, &mut next.evidence);
            let doc = render(&next.state, &next.evidence)
                .map_err(|error| ApiError::internal("cannot store a drift state", &error))?;
            if store.put_drift_at(child, &doc, next.version).await? {
                next.version += 1;
                self.states.insert(child.into(), next);
                return Ok(value);
            }
            self.states.remove(child);
        }
        Err(ApiError::new(
            Code::Unavailable,
            "this child's feeds are arriving faster than their drift state can be kept; try again",
        ))
    }

    /// The child's drift state, as it stands (for the export and "why am I seeing this"):
    /// when shared, as stored now.
    pub async fn get(&self, store: &AnyStore, child: &str) -> Result<DriftState, ApiError> {
        if self.shared {
            return Ok(Self::read(store, child).await?.state);
        }
        self.update(store, child, |state| state.clone()).await
    }

    /// The child's feedback evidence, as it stands (for the export and the child's list):
    /// when shared, as stored now.
    pub async fn evidence(
        &self,
        store: &AnyStore,
        child: &str,
    ) -> Result<FeedbackEvidence, ApiError> {
        if self.shared {
            return Ok(Self::read(store, child).await?.evidence);
        }
        self.update_with(store, child, |_, evidence| evidence.clone())
            .await
    }

    /// Forgets a child (erasure: the store's copy goes with the child).
    pub fn forget(&self, child: &str) {
        self.states.remove(child);
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.remove(child);
        }
    }

    /// Writes every changed state; returns how many. (Shared states are written as they
    /// change: nothing waits here.)
    pub async fn flush(&self, store: &AnyStore) -> Result<usize, StoreError> {
        let ids: Vec<Box<str>> = match self.dirty.lock() {
            Ok(mut dirty) => dirty.drain().collect(),
            Err(_) => return Ok(0),
        };
        let drifts: Vec<(String, String)> = ids
            .iter()
            .filter_map(|id| {
                let entry = self.states.get(id)?;
                Some((id.to_string(), render(&entry.state, &entry.evidence).ok()?))
            })
            .collect();
        let n_drifts = drifts.len();
        if let Err(error) = store.put_drifts(drifts).await {
            // Put them back so the next flush tries again.
            if let Ok(mut dirty) = self.dirty.lock() {
                dirty.extend(ids);
            }
            return Err(error);
        }
        Ok(n_drifts)
    }
}
