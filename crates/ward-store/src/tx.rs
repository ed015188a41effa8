//! The write paths both backends share, written once over [`Tx`]: the handful of statements
//! a backend must provide inside one transaction. Each backend's `Tx` is a thin wrapper over
//! its sqlx transaction; the order of steps, the ledger chaining and the erasure rules live
//! here, so SQLite and PostgreSQL cannot drift apart.
//!
//! No write takes a lock that every writer shares: a child's writers are serialised by the
//! child's lock, alerts to one parent by the parent's (so a parent's alert ids grow in commit
//! order, which the alert stream resumes by), policy generations by a lock of their own.
//! Ledger entries are numbered and chained in the transaction where the backend has one
//! writer ([`Tx::CHAINS_INLINE`], SQLite) and committed unchained for the sequencer otherwise.

use std::future::Future;

use jiff::Timestamp;
use ward_core::document::ChildDocument;
use ward_core::ids::{ChildId, ParentId};
use ward_core::settings::Intervention;

use crate::ledger::{self, CHILD_ERASED, LedgerEntry, LedgerEvent};
use crate::{
    ChildWrite, Erasure, KeyRecord, NewAlert, PolicyRecord, ReportRow, RequestRow, StoreError,
    StoredChild,
};

/// A child row as stored.
pub(crate) struct ChildRow {
    pub(crate) doc: String,
    pub(crate) generation: i64,
    pub(crate) version: i64,
}

impl ChildRow {
    /// The rows `SELECT id, doc, generation, version FROM children …` reads, keyed by id
    /// (both backends read a group's children so).
    pub(crate) fn keyed(rows: Vec<(String, String, i64, i64)>) -> Vec<(String, ChildRow)> {
        rows.into_iter()
            .map(|(id, doc, generation, version)| {
                let row = ChildRow {
                    doc,
                    generation,
                    version,
                };
                (id, row)
            })
            .collect()
    }
}

/// What one transaction of a backend can do. Every method runs inside the transaction.
pub(crate) trait Tx: Send + Sized {
    /// True when one writer does everything (SQLite): entries are chained as they are
    /// written. False (PostgreSQL): they are committed unchained, for the sequencer.
    const CHAINS_INLINE: bool;
    /// Serialises writers of this child until commit (PostgreSQL: an advisory lock; SQLite:
    /// already serialised by its single writer).
    fn lock_child(&mut self, id: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Serialises writes that alert this parent until commit, so that their alert ids grow
    /// in commit order (the alert stream resumes after the last id it sent).
    fn lock_parent(&mut self, id: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Serialises policy loads until commit (two nodes loading at once get two generations).
    fn lock_policies(&mut self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// `n` fresh entry ids (PostgreSQL's sequence; never called on SQLite).
    fn entry_ids(&mut self, n: usize)
    -> impl Future<Output = Result<Vec<i64>, sqlx::Error>> + Send;
    fn put_child(
        &mut self,
        id: &str,
        row: &ChildRow,
        now_us: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Deletes the child's document, interventions and requests; true if a document existed.
    fn delete_child(&mut self, id: &str) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    fn put_intervention(
        &mut self,
        intervention: &Intervention,
        doc: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn put_request(
        &mut self,
        row: &RequestRow,
        doc: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn put_report(
        &mut self,
        row: &ReportRow,
        doc: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn ledger_head(
        &mut self,
    ) -> impl Future<Output = Result<Option<(i64, String)>, sqlx::Error>> + Send;
    /// Stores an entry, chained (its `seq` and hashes as given) or not (NULLs for them).
    fn insert_entry(
        &mut self,
        entry: &LedgerEntry,
        chained: bool,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Ids and kinds of the child's entries not yet erased, chained or not.
    fn live_entries_of(
        &mut self,
        child: &str,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, sqlx::Error>> + Send;
    /// Blanks the entry with this id.
    fn blank_entry(
        &mut self,
        id: i64,
        payload: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn latest_policy(
        &mut self,
    ) -> impl Future<Output = Result<Option<PolicyRecord>, sqlx::Error>> + Send;
    fn insert_policy(
        &mut self,
        record: &PolicyRecord,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn insert_key(
        &mut self,
        key: &KeyRecord,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Marks a live key revoked; false when there was none.
    fn revoke_key(
        &mut self,
        id: &str,
        now_us: i64,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    /// Ids of the endpoints not disabled.
    fn live_webhooks(&mut self) -> impl Future<Output = Result<Vec<String>, sqlx::Error>> + Send;
    fn insert_alert(
        &mut self,
        parent: &str,
        seq: i64,
        child: &str,
        kind: &str,
        body: &str,
        now_us: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn insert_outbox(
        &mut self,
        webhook: &str,
        seq: i64,
        child: &str,
        body: &str,
        now_us: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn bump_counter(&mut self, name: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Tells other nodes (PostgreSQL NOTIFY, delivered on commit; a no-op on SQLite).
    fn notify(&mut self, payload: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn commit(self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    // Pages: links and sessions

    /// Makes the `parent_links` index say exactly `parents` for this child.
    fn set_parent_links(
        &mut self,
        child: &str,
        parents: &[ParentId],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Deletes the child's parent links, page links and page sessions (erasure).
    fn forget_child_pages(
        &mut self,
        child: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

pub(crate) fn decode_child(id: &str, row: ChildRow) -> Result<StoredChild, StoreError> {
    let document: ChildDocument =
        serde_json::from_str(&row.doc).map_err(|error| StoreError::Corrupt {
            what: "child",
            id: id.to_owned(),
            reason: error.to_string(),
        })?;
    Ok(StoredChild {
        document,
        generation: row.generation,
        version: row.version,
    })
}

/// The parents a stored document lists (for indexing documents written before the index).
pub(crate) fn parents_of(id: &str, doc: &str) -> Result<Vec<ParentId>, StoreError> {
    let document: ChildDocument =
        serde_json::from_str(doc).map_err(|error| StoreError::Corrupt {
            what: "child",
            id: id.to_owned(),
            reason: error.to_string(),
        })?;
    Ok(document.parents)
}

pub(crate) fn encode<T: serde::Serialize>(
    what: &'static str,
    id: &str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt {
        what,
        id: id.to_owned(),
        reason: error.to_string(),
    })
}

/// Appends events to the ledger inside `tx`; returns their entries (ids given, and chained
/// where the backend chains inline).
pub(crate) async fn append<X: Tx>(
    tx: &mut X,
    events: &[LedgerEvent],
) -> Result<Vec<LedgerEntry>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let entries = if X::CHAINS_INLINE {
        // INVARIANT: one writer, so the head cannot move before this transaction commits.
        let head = tx.ledger_head().await?;
        ledger::chain(head, events)
    } else {
        let ids = tx.entry_ids(events.len()).await?;
        ids.into_iter()
            .zip(events)
            .map(|(id, event)| {
                ledger::unchained(id, event, ledger::payload_hash(&event.payload), None)
            })
            .collect()
    };
    for entry in &entries {
        tx.insert_entry(entry, X::CHAINS_INLINE).await?;
    }
    Ok(entries)
}

/// Writes each alert for its parents and every live endpoint, numbered by its cause's
/// ledger entry id, and tells other nodes.
pub(crate) async fn write_alerts<X: Tx>(
    tx: &mut X,
    child: &str,
    alerts: &[NewAlert],
    entries: &[LedgerEntry],
) -> Result<(), StoreError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let webhooks = tx.live_webhooks().await?;
    let now = now_us();
    let mut parents_told: Vec<&str> = Vec::new();
    for alert in alerts {
        let Some(entry) = entries.get(alert.event) else {
            continue;
        };
        let mut body = alert.body.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("id".into(), format!("ward-{}", entry.id).into());
            object.insert("seq".into(), entry.id.into());
        }
        let parent_body = match &alert.parent_body {
            Some(parent_body) => {
                let mut parent_body = parent_body.clone();
                if let Some(object) = parent_body.as_object_mut() {
                    object.insert("id".into(), format!("ward-{}", entry.seq).into());
                    object.insert("seq".into(), entry.seq.into());
                }
                parent_body.to_string()
            }
            None => body.to_string(),
        };
        let body = body.to_string();
        for parent in &alert.parents {
            tx.insert_alert(parent, entry.id, child, &alert.kind, &parent_body, now)
                .await?;
            if !parents_told.contains(&parent.as_str()) {
                parents_told.push(parent);
            }
        }
        for webhook in &webhooks {
            tx.insert_outbox(webhook, entry.id, child, &body, now)
                .await?;
        }
    }
    for parent in parents_told {
        tx.notify(&format!("alerts:{parent}")).await?;
    }
    if !webhooks.is_empty() {
        tx.notify("outbox").await?;
    }
    Ok(())
}

/// The child-notification payload.
pub(crate) fn child_notice(id: &str) -> String {
    format!("child:{id}")
}

/// A child write as its caller prepared it for the store: the closure's [`ChildWrite`] and
/// the document already encoded (in the caller's task, not the group's).
pub(crate) struct Prepared {
    pub(crate) write: ChildWrite,
    /// The new row, when the write has a document.
    pub(crate) row: Option<ChildRow>,
    /// The document lists other parents than the stored one did.
    pub(crate) parents_changed: bool,
}

impl Prepared {
    /// Encodes `write`'s document for the child `id` read at `stored`.
    pub(crate) fn new(
        id: &str,
        generation: i64,
        stored: Option<(&[ParentId], i64)>,
        write: ChildWrite,
    ) -> Result<Self, StoreError> {
        let (parents_before, version) = stored.unwrap_or((&[], 0));
        let (row, parents_changed) = match &write.document {
            Some(document) => (
                Some(ChildRow {
                    doc: encode("child", id, document)?,
                    generation,
                    version: version + 1,
                }),
                document.parents != parents_before,
            ),
            None => (None, false),
        };
        Ok(Self {
            write,
            row,
            parents_changed,
        })
    }

    /// The alerted parents, each once, in order (their locks are taken in this order).
    pub(crate) fn alerted(&self) -> impl Iterator<Item = &str> {
        self.write
            .alerts
            .iter()
            .flat_map(|alert| alert.parents.iter().map(String::as_str))
    }
}

/// The rows of one prepared write beside its document and its entries: the parent index,
/// interventions, consent requests and reports.
pub(crate) async fn write_rows<X: Tx>(
    tx: &mut X,
    id: &str,
    prepared: &Prepared,
) -> Result<(), StoreError> {
    if let (true, Some(document)) = (prepared.parents_changed, &prepared.write.document) {
        // INVARIANT: the parent index says what the document says, in the same transaction.
        tx.set_parent_links(id, &document.parents).await?;
    }
    for intervention in &prepared.write.interventions {
        let doc = encode("intervention", &intervention.id, intervention)?;
        tx.put_intervention(intervention, &doc).await?;
    }
    for row in &prepared.write.requests {
        let doc = encode("consent request", &row.request.id, &row.request)?;
        tx.put_request(row, &doc).await?;
    }
    for row in &prepared.write.reports {
        let doc = encode("report", &row.report.id, &row.report)?;
        tx.put_report(row, &doc).await?;
    }
    Ok(())
}

/// Writes one prepared child write inside `tx` (the child locked and read by the caller):
/// what [`crate::group`] does for a whole group in a few statements, one statement at a
/// time, for a write whose group could not be written together.
pub(crate) async fn write_one<X: Tx>(
    tx: &mut X,
    id: &str,
    prepared: &Prepared,
) -> Result<(), StoreError> {
    if let Some(row) = &prepared.row {
        tx.put_child(id, row, now_us()).await?;
    }
    // The alerted parents' locks before the entries get their ids: see `lock_parent`.
    let mut alerted: Vec<&str> = prepared.alerted().collect();
    alerted.sort_unstable();
    alerted.dedup();
    for parent in alerted {
        tx.lock_parent(parent).await?;
    }
    write_rows(tx, id, prepared).await?;
    let entries = append(tx, &prepared.write.events).await?;
    write_alerts(tx, id, &prepared.write.alerts, &entries).await?;
    tx.notify(&child_notice(id)).await?;
    Ok(())
}

/// [`crate::Store::erase_child`], over any backend's transaction.
pub(crate) async fn erase_child<X: Tx>(
    mut tx: X,
    id: &ChildId,
    now: Timestamp,
) -> Result<Option<Erasure>, StoreError> {
    let key = id.as_str();
    tx.lock_child(key).await?;
    let existed = tx.delete_child(key).await?;
    tx.forget_child_pages(key).await?;
    // INVARIANT: entries about a child are written only under the child's lock, which this
    // transaction holds, so none can be added between listing and blanking them. Chained or
    // not, each is blanked by id; the sequencer sets only an entry's position and hashes.
    let entries = tx.live_entries_of(key).await?;
    if !existed && entries.is_empty() {
        return Ok(None);
    }
    for (id, kind) in &entries {
        tx.blank_entry(*id, &ledger::erased_payload(kind)).await?;
    }
    let ids: Vec<i64> = entries.iter().map(|(id, _)| *id).collect();
    let event = LedgerEvent::service(now, CHILD_ERASED, &serde_json::json!({"entries": ids}));
    append(&mut tx, &[event]).await?;
    tx.notify(&child_notice(key)).await?;
    tx.commit().await?;
    Ok(Some(Erasure {
        entries_blanked: entries.len() as u64,
    }))
}

/// [`crate::Store::put_policy`], over any backend's transaction.
pub(crate) async fn put_policy<X: Tx>(
    mut tx: X,
    source: &str,
    now: Timestamp,
    event: impl FnOnce(i64) -> LedgerEvent,
) -> Result<(PolicyRecord, bool), StoreError> {
    // Two nodes loading at once get two generations.
    tx.lock_policies().await?;
    let hash = ledger::payload_hash(source);
    let latest = tx.latest_policy().await?;
    if let Some(latest) = latest.as_ref().filter(|latest| latest.hash == hash) {
        return Ok((latest.clone(), false));
    }
    let record = PolicyRecord {
        generation: latest.map_or(1, |latest| latest.generation + 1),
        hash,
        source: source.to_owned(),
        loaded_at: now,
    };
    tx.insert_policy(&record).await?;
    append(&mut tx, &[event(record.generation)]).await?;
    tx.notify(&format!("policy:{}", record.generation)).await?;
    tx.commit().await?;
    Ok((record, true))
}

/// [`crate::Store::create_key`], over any backend's transaction.
pub(crate) async fn create_key<X: Tx>(mut tx: X, key: &KeyRecord) -> Result<(), StoreError> {
    tx.insert_key(key).await?;
    let event = LedgerEvent::service(
        key.created_at,
        "key_created",
        &serde_json::json!({"key": key.id, "scope": key.scope, "label": key.label}),
    );
    append(&mut tx, &[event]).await?;
    tx.bump_counter("keys").await?;
    tx.notify("keys").await?;
    tx.commit().await?;
    Ok(())
}

/// [`crate::Store::revoke_key`], over any backend's transaction.
pub(crate) async fn revoke_key<X: Tx>(
    mut tx: X,
    id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if !tx.revoke_key(id, micros(now)).await? {
        return Ok(false);
    }
    let event = LedgerEvent::service(now, "key_revoked", &serde_json::json!({"key": id}));
    append(&mut tx, &[event]).await?;
    tx.bump_counter("keys").await?;
    tx.notify("keys").await?;
    tx.commit().await?;
    Ok(true)
}

/// Unix microseconds now (row bookkeeping only; every event carries its own time).
pub(crate) fn now_us() -> i64 {
    micros(Timestamp::now())
}

/// A timestamp as stored in integer columns.
pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

/// An integer column back to a timestamp.
pub(crate) fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}
