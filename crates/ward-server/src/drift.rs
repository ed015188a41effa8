//! Each child's drift state for the feed guard, on the hot path: kept in memory, updated in
//! place while a feed is filtered, and written to the store behind the request (at most a
//! second later, and at shutdown). A crash loses at most that second of the window, which
//! the drift score tolerates; consents and settings never go this way.
//!
//! With several nodes, each keeps its own copy and writes it back; a child's feeds routed to
//! one node keep the tightest window. Not for deciding anything: see `ward_core::feed`.

use std::collections::HashSet;
use std::sync::Mutex;

use dashmap::DashMap;
use ward_core::feed::DriftState;
use ward_store::{AnyStore, Store, StoreError};

use crate::error::ApiError;

/// Drift states by child id.
#[derive(Debug, Default)]
pub struct DriftCache {
    states: DashMap<Box<str>, DriftState>,
    /// Children whose state changed since the last flush.
    dirty: Mutex<HashSet<Box<str>>>,
}

impl DriftCache {
    /// Runs `update` on the child's drift state (loaded from the store, or new, on first
    /// use) and marks it for writing.
    pub async fn update<T>(
        &self,
        store: &AnyStore,
        child: &str,
        update: impl FnOnce(&mut DriftState) -> T,
    ) -> Result<T, ApiError> {
        if !self.states.contains_key(child) {
            let loaded = match store.drift(child).await? {
                Some(doc) => serde_json::from_str(&doc).unwrap_or_else(|error| {
                    tracing::warn!(%error, "a stored drift state is unreadable; starting afresh");
                    DriftState::new()
                }),
                None => DriftState::new(),
            };
            self.states.entry(child.into()).or_insert(loaded);
        }
        let value = {
            let mut state = self.states.entry(child.into()).or_default();
            update(&mut state)
        };
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.insert(child.into());
        }
        Ok(value)
    }

    /// The child's drift state, as it stands (for the export).
    pub async fn get(&self, store: &AnyStore, child: &str) -> Result<DriftState, ApiError> {
        self.update(store, child, |state| state.clone()).await
    }

    /// Forgets a child (erasure: the store's copy goes with the child).
    pub fn forget(&self, child: &str) {
        self.states.remove(child);
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.remove(child);
        }
    }

    /// Writes every changed state; returns how many.
    pub async fn flush(&self, store: &AnyStore) -> Result<usize, StoreError> {
        let ids: Vec<Box<str>> = match self.dirty.lock() {
            Ok(mut dirty) => dirty.drain().collect(),
            Err(_) => return Ok(0),
        };
        let drifts: Vec<(String, String)> = ids
            .iter()
            .filter_map(|id| {
                let state = self.states.get(id)?;
                Some((id.to_string(), serde_json::to_string(&*state).ok()?))
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
