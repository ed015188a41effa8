//! Reading and changing children on the server: the one place that turns stored documents
//! into the core's [`Child`] under the policy in force, runs a core operation inside the
//! store's transaction, and keeps the hot-path cache in step.
//!
//! A child stored under an older policy generation is read under that generation and moved
//! to the current one with [`Child::apply_policy_change`] (whose events are written with the
//! next change). Time passes first on every write ([`Child::observe`]: birthdays, expired
//! requests). Not for HTTP shapes: see `views`.

use std::sync::Arc;

use jiff::Timestamp;
use ward_core::compiled::CompiledPolicy;
use ward_core::ids::ChildId;
use ward_core::settings::{Child, ConsentGiver, ConsentRequest, Event, EventKind, Intervention};
use ward_store::{
    ChildWrite, LedgerEvent, NewAlert, ReportRow, RequestRow, RequestStatus, Store, StoredChild,
    WriteError,
};

use crate::cache::{Cached, Fill, HotChild, Lookup};
use crate::error::ApiError;
use crate::state::{Active, AppState};

/// Why a stored child could not be read under the policy in force.
enum Refusal {
    /// The operation refused.
    Api(ApiError),
    /// The child is stored under a generation this node has not compiled yet.
    NeedGeneration(i64),
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

/// What an operation on a child produces beside the child itself.
#[derive(Debug, Default)]
pub struct Effects {
    /// Interventions shown (stored so they can be acknowledged by id).
    pub interventions: Vec<Intervention>,
}

/// Reads a stored child under `active`, moving it from an older generation if it needs to.
/// The events say what the move changed.
fn materialize(
    state: &AppState,
    stored: StoredChild,
    active: &Active,
    now: Timestamp,
) -> Result<(Child, Vec<Event>), Refusal> {
    if stored.generation == active.generation {
        return Ok((
            Child::from_document(stored.document, &active.compiled, now),
            Vec::new(),
        ));
    }
    let old: Arc<CompiledPolicy> = state
        .cached_generation(stored.generation)
        .ok_or(Refusal::NeedGeneration(stored.generation))?;
    let mut child = Child::from_document(stored.document, &old, now);
    let events = child.apply_policy_change(&old, &active.compiled, now);
    Ok((child, events))
}

impl AppState {
    /// Makes sure `generation` is compiled in memory (after a `NeedGeneration`): a newer one
    /// than ours means another node loaded a policy we have not heard of yet.
    async fn prepare_generation(&self, generation: i64) -> Result<(), ApiError> {
        if generation > self.active().generation {
            self.follow_policy().await?;
        }
        match self.generation(generation).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::internal(
                "a child is stored under a policy generation that cannot be read",
                &generation,
            )),
        }
    }

    /// What the hot paths read for `id` at `now`: from the cache while time cannot have
    /// changed it, else from the store, observed at `now` (as `GET` shows it), and cached; a
    /// child never stored gets the policy's defaults.
    pub async fn hot_child(
        &self,
        id: &str,
        active: &Active,
        now: Timestamp,
    ) -> Result<Arc<HotChild>, ApiError> {
        if let Some(hot) = self.cached_hot_child(id, active, now) {
            self.metrics().cache_hit();
            return Ok(hot);
        }
        self.metrics().cache_miss();
        self.read_hot_child(id, active, now).await
    }

    /// What the hot paths read for `id` at `now`, if the cache has it and time cannot have
    /// changed it; counts nothing (the caller does: a batch counts once).
    pub(crate) fn cached_hot_child(
        &self,
        id: &str,
        active: &Active,
        now: Timestamp,
    ) -> Option<Arc<HotChild>> {
        let entry = self.cache().get(id)?;
        entry.fresh(&active.defaults, now).cloned()
    }

    /// [`Self::cached_hot_child`] through this thread's memo ([`ChildCache::with_entry`]):
    /// `read` is given the child in place, and its answer returned; `None` when the cache
    /// cannot answer (read the store then).
    ///
    /// [`ChildCache::with_entry`]: crate::cache::ChildCache::with_entry
    pub(crate) fn with_cached_hot_child<R>(
        &self,
        id: &str,
        active: &Active,
        now: Timestamp,
        read: impl FnOnce(&HotChild) -> R,
    ) -> Option<R> {
        self.cache()
            .with_entry(id, |entry| {
                entry.fresh(&active.defaults, now).map(|child| read(child))
            })
            .flatten()
    }

    /// What the hot paths read for `id` at `now`, from the store (a cache miss), cached.
    pub(crate) async fn read_hot_child(
        &self,
        id: &str,
        active: &Active,
        now: Timestamp,
    ) -> Result<Arc<HotChild>, ApiError> {
        let Ok(child_id) = ChildId::parse(id) else {
            // Not a storable id: nobody can have stored it.
            return Ok(active.defaults.clone());
        };
        // One reader per child at a time: the others wait here for what it read.
        let fill = match self.cache().lookup(id).await {
            Lookup::Hit(entry) => match entry.fresh(&active.defaults, now) {
                Some(child) => return Ok(child.clone()),
                // Cached, but time has moved on since it was read: read afresh, put in place.
                None => None,
            },
            Lookup::Off => None,
            Lookup::Miss(fill) => Some(fill),
        };
        let epoch = fill
            .as_ref()
            .map_or_else(|| self.cache().epoch(id), Fill::epoch);
        let keep = |entry: Cached| match fill {
            Some(fill) => self.cache().fill(fill, id, entry),
            None => self.cache().put(id, epoch, entry),
        };
        let Some(stored) = self.store().child(&child_id).await? else {
            keep(Cached::Absent);
            return Ok(active.defaults.clone());
        };
        let version = stored.version;
        let (mut child, policy) = match materialize(self, stored.clone(), active, now) {
            Ok((child, _)) => (child, active.compiled.clone()),
            Err(Refusal::NeedGeneration(generation)) => {
                self.prepare_generation(generation).await?;
                let active = self.active();
                match materialize(self, stored, &active, now) {
                    Ok((child, _)) => (child, active.compiled.clone()),
                    Err(Refusal::Api(error)) => return Err(error),
                    Err(Refusal::NeedGeneration(generation)) => {
                        return Err(ApiError::internal("policy generation missing", &generation));
                    }
                }
            }
            Err(Refusal::Api(error)) => return Err(error),
        };
        // Time since the last write (an expired request, a birthday), as `load_child` sees
        // it; the events are written with the child's next change.
        child.observe(&policy, now);
        let state = Arc::new(HotChild::of(&child, &policy));
        keep(Cached::Known {
            version,
            state: state.clone(),
        });
        Ok(state)
    }

    /// The stored child under the policy in force (time observed), or `None`.
    pub async fn load_child(&self, id: &ChildId) -> Result<Option<Child>, ApiError> {
        loop {
            let Some(stored) = self.store().child(id).await? else {
                return Ok(None);
            };
            let active = self.active();
            let now = self.now();
            match materialize(self, stored, &active, now) {
                Ok((mut child, _)) => {
                    child.observe(&active.compiled, now);
                    return Ok(Some(child));
                }
                Err(Refusal::NeedGeneration(generation)) => {
                    self.prepare_generation(generation).await?
                }
                Err(Refusal::Api(error)) => return Err(error),
            }
        }
    }

    /// Runs `operation` on the child inside one transaction: the child is locked, moved to the
    /// policy in force, time is observed, then `operation` changes it (or refuses, and nothing
    /// is written). The document, its events, the interventions shown and the consent requests
    /// it moved are written together; the cache then holds the new state.
    ///
    /// `create`: a child not stored yet is created (with its `child_created` event) instead of
    /// refused with `child_not_found`.
    pub async fn change_child<T, F>(
        &self,
        id: &ChildId,
        create: bool,
        operation: F,
    ) -> Result<T, ApiError>
    where
        T: Send,
        F: FnOnce(
                &mut Child,
                &CompiledPolicy,
                Timestamp,
                &mut Vec<Event>,
                &mut Effects,
            ) -> Result<T, ApiError>
            + Send,
    {
        let mut operation = Some(operation);
        loop {
            let active = self.active();
            let now = self.now();
            let epoch = self.cache().epoch(id.as_str());
            let slot = &mut operation;
            let result = self
                .store()
                .write_child(id, active.generation, |stored| {
                    let version = stored.as_ref().map_or(0, |s| s.version) + 1;
                    // Requests as stored, before moving policy or time drops any of them.
                    let before = stored
                        .as_ref()
                        .map(|s| s.document.requests.clone())
                        .unwrap_or_default();
                    let reports_before = stored
                        .as_ref()
                        .map(|s| s.document.feedback.reports.clone())
                        .unwrap_or_default();
                    let (mut child, mut events) = match stored {
                        Some(stored) => materialize(self, stored, &active, now)?,
                        None if create => Child::new(id.clone(), &active.compiled, now),
                        None => return Err(Refusal::Api(ApiError::child_not_found(id.as_str()))),
                    };
                    events.extend(child.observe(&active.compiled, now));
                    let mut effects = Effects::default();
                    let Some(operation) = slot.take() else {
                        return Err(Refusal::Api(ApiError::internal("operation ran twice", &id)));
                    };
                    let value =
                        operation(&mut child, &active.compiled, now, &mut events, &mut effects)?;
                    let requests = request_rows(&child, &before, &events);
                    let reports = report_rows(&child, &reports_before);
                    let alerts = new_alerts(&child, &active.compiled, &events);
                    let told: Vec<String> = alerts
                        .iter()
                        .flat_map(|alert| alert.parents.iter().cloned())
                        .collect();
                    let any_alerts = !alerts.is_empty();
                    let write = ChildWrite {
                        document: Some(child.to_document(&active.compiled)),
                        events: events.iter().map(LedgerEvent::from).collect(),
                        interventions: effects.interventions,
                        requests,
                        alerts,
                        reports,
                    };
                    let hot = Arc::new(HotChild::of(&child, &active.compiled));
                    Ok((write, (value, version, hot, any_alerts.then_some(told))))
                })
                .await;
            match result {
                Ok((value, version, state, alerted)) => {
                    self.cache()
                        .put(id.as_str(), epoch, Cached::Known { version, state });
                    if let Some(parents) = alerted {
                        self.alerts_written(parents);
                    }
                    return Ok(value);
                }
                Err(WriteError::Rejected(Refusal::NeedGeneration(generation))) => {
                    self.prepare_generation(generation).await?;
                }
                Err(WriteError::Rejected(Refusal::Api(error))) => return Err(error),
                Err(WriteError::Store(error)) => {
                    // The outcome is unknown to us (a commit may have failed late): forget
                    // what we cached so the next read goes to the store.
                    self.cache().invalidate(id.as_str());
                    return Err(error.into());
                }
            }
        }
    }

    /// Writes whatever time has done to a stored child (expired requests, birthdays) and
    /// moves it to the policy in force. Does nothing for a child not stored.
    pub async fn touch(&self, id: &ChildId) -> Result<(), ApiError> {
        match self.change_child(id, false, |_, _, _, _, _| Ok(())).await {
            Err(error) if error.code == crate::error::Code::ChildNotFound => Ok(()),
            other => other,
        }
    }
}

/// The alerts `events` raise, each with what a parent's page and the service's webhook
/// receive: its type, time, child, parents and the event itself.
fn new_alerts(child: &Child, policy: &CompiledPolicy, events: &[Event]) -> Vec<NewAlert> {
    let parents_see_reason = policy.policy().support.parents_see_reason;
    ward_core::alerts::alerts(child, events)
        .into_iter()
        .filter_map(|alert| {
            let event = events.get(alert.event)?;
            let parents: Vec<String> = alert.parents.iter().map(ToString::to_string).collect();
            let mut body = serde_json::json!({
                "type": alert.kind.as_str(),
                "at": event.at,
                "child": child.id,
                "parents": parents,
                "event": event,
            });
            if let (Some(object), EventKind::ConsentRequested { request, .. }) =
                (body.as_object_mut(), &event.kind)
            {
                // With no parent linked the service must invite one.
                object.insert("no_parent_linked".into(), request.no_parent_linked.into());
            }
            // What a parent may see of it, when less than the service (a report).
            let parent_body =
                ward_core::alerts::parent_view(event, parents_see_reason).map(|view| {
                    serde_json::json!({
                        "type": alert.kind.as_str(),
                        "at": event.at,
                        "child": child.id,
                        "parents": parents,
                        "event": view,
                    })
                });
            Some(NewAlert {
                event: alert.event,
                kind: alert.kind.as_str().to_owned(),
                parents,
                body,
                parent_body,
            })
        })
        .collect()
}

/// The consent-request rows an operation moved: new requests are pending; a request that left
/// the child was approved, denied or expired as its events say, else withdrawn.
fn request_rows(child: &Child, before: &[ConsentRequest], events: &[Event]) -> Vec<RequestRow> {
    let mut rows = Vec::new();
    let row = |request: &ConsentRequest, status, answered_by: Option<String>| RequestRow {
        child: child.id.clone(),
        status,
        answered_by,
        request: request.clone(),
    };
    for request in &child.requests {
        if !before.iter().any(|old| old.id == request.id) {
            rows.push(row(request, RequestStatus::Pending, None));
        } else if before
            .iter()
            .any(|old| old.id == request.id && old != request)
        {
            // Still pending, changed (a parent was linked to a request that had none).
            rows.push(row(request, RequestStatus::Pending, None));
        }
    }
    for request in before {
        if child.requests.iter().any(|now| now.id == request.id) {
            continue;
        }
        let (status, answered_by) = events
            .iter()
            .find_map(|event| match &event.kind {
                EventKind::ConsentGiven { record }
                    if record.setting == request.setting
                        && record.given_by == ConsentGiver::Parent =>
                {
                    Some((
                        RequestStatus::Approved,
                        record.parent.as_ref().map(ToString::to_string),
                    ))
                }
                EventKind::ConsentDenied { setting, parent } if *setting == request.setting => {
                    Some((RequestStatus::Denied, Some(parent.to_string())))
                }
                EventKind::ConsentRequestExpired { setting } if *setting == request.setting => {
                    Some((RequestStatus::Expired, None))
                }
                _ => None,
            })
            .unwrap_or((RequestStatus::Withdrawn, None));
        rows.push(row(request, status, answered_by));
    }
    rows
}

/// The report rows an operation moved: every report that is new or changed since `before`.
fn report_rows(child: &Child, before: &[ward_core::feedback::Report]) -> Vec<ReportRow> {
    child
        .feedback
        .reports
        .iter()
        .filter(|report| !before.contains(report))
        .map(|report| ReportRow {
            child: child.id.clone(),
            report: report.clone(),
        })
        .collect()
}
