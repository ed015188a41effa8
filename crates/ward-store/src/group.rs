//! Group writes: how concurrent child writes share one transaction and a few statements.
//!
//! [`crate::Store::write_child`] does not run its own transaction. It queues the child's id,
//! and a group worker takes everything queued (each child once), begins one transaction,
//! locks all those children in one statement, reads them in one, and hands each caller its
//! stored child. Each caller runs its pure closure in its own task and hands back what it
//! wants written, its document already encoded. The worker then writes the whole group in a
//! few statements whatever its size (the documents in one, the ledger entries in one, the
//! change notices in one), commits, and only then tells each caller that its write is
//! durable. So the statements per write, which bound a single SQLite writer and PostgreSQL's
//! round trips, fall with the load, and a write alone is still one transaction of its own.
//!
//! **Isolation.** A caller that refuses, writes nothing or has gone (a client that hung up)
//! leaves the group without a trace. If the group's statements fail, the worker rolls back
//! to a savepoint taken after the reads (the locks stay held, so the reads stay true) and
//! writes each member alone in a savepoint of its own: a member that fails is told why and
//! takes nothing else with it, as if it had been written alone.
//!
//! **Workers.** At most [`GroupStore::WORKERS`] run at once per store (SQLite's single writer
//! wants two: one commits while the next group is read; PostgreSQL several, each on a
//! connection of its own). A worker is started by the write that finds too few running and
//! ends when the queue is empty, so an idle store keeps no task (and a dropped one leaks
//! none). Two groups never hold the same child: a group takes each child once, and on
//! PostgreSQL concurrent groups lock their children in one order (by the lock's key), so
//! they queue on each other and never deadlock.
//!
//! Not for other writes (erasure, policies, keys): they are rare and keep their own
//! transactions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedMutexGuard, oneshot};
use ward_core::ids::ChildId;

use crate::ledger::{self, LedgerEntry};
use crate::tx::{self, ChildRow, Prepared, Tx};
use crate::{ChildWrite, StoreError, StoredChild, WriteError};

/// The most writes one group takes.
const MAX_GROUP: usize = 256;

/// What a group does beside what [`Tx`] does: its statements for many children at once.
pub(crate) trait GroupTx: Tx {
    /// Locks every child in `ids` until commit (PostgreSQL, in one order; SQLite: already
    /// serialised by its single writer).
    fn lock_children(
        &mut self,
        ids: &[&str],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// The stored rows of those of `ids` that are stored.
    fn read_children(
        &mut self,
        ids: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, ChildRow)>, sqlx::Error>> + Send;
    /// Inserts or replaces these documents.
    fn put_children(
        &mut self,
        rows: &[(&str, &ChildRow)],
        now_us: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Stores these entries, chained or not (as [`Tx::insert_entry`]).
    fn insert_entries(
        &mut self,
        entries: &[LedgerEntry],
        chained: bool,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Tells other nodes these children changed (a no-op on SQLite).
    fn notify_children(
        &mut self,
        ids: &[&str],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Runs one statement without arguments (the savepoints).
    fn run(
        &mut self,
        statement: &'static str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Commits the group, which holds `writes` writes.
    fn commit_group(self, writes: u64) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// A store whose child writes go through groups.
pub(crate) trait GroupStore: Clone + Send + Sync + 'static {
    type Tx: GroupTx;
    /// How many group workers may run at once.
    const WORKERS: usize;
    fn groups(&self) -> &Groups;
    /// A transaction for one group.
    fn begin_group(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;
    /// A group committed ledger entries.
    fn group_committed(&self);
}

/// One queued write, and the channels to its caller.
struct Join {
    id: ChildId,
    /// The stored child, once locked and read.
    stored: oneshot::Sender<Result<Option<StoredChild>, StoreError>>,
    /// What the caller wants written (`None` or dropped: nothing).
    decision: oneshot::Receiver<Option<Prepared>>,
    /// Whether it is durable.
    outcome: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue of writes and the workers taking it.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    queue: Mutex<Queue>,
    /// Held by a worker while it takes a group; a test holds it to line writes up.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// Writes queued and not yet taken into a group (for tests that line writes up).
    waiting: AtomicU64,
    /// Groups committed, and the writes they made durable.
    committed: AtomicU64,
    writes: AtomicU64,
}

#[derive(Debug, Default)]
struct Queue {
    joins: VecDeque<Join>,
    workers: usize,
}

impl std::fmt::Debug for Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Join").field("id", &self.id).finish()
    }
}

/// [`Groups::hold`]'s guard: groups are taken again once it is dropped.
#[doc(hidden)]
pub struct GroupHold(#[expect(dead_code, reason = "held until dropped")] OwnedMutexGuard<()>);

impl Groups {
    /// Queues a write; true when the caller must start a worker.
    fn push(&self, join: Join, most: usize) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.joins.push_back(join);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if queue.workers < most {
            queue.workers += 1;
            true
        } else {
            false
        }
    }

    /// The next group: every queued write whose caller is still there, each child once (a
    /// second write of a child waits for the next group, so that it reads the first's
    /// result). `None` when nothing is queued: the worker ends.
    async fn take(&self) -> Option<Vec<Join>> {
        let _gate = self.gate.lock().await;
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let mut group = Vec::new();
        let mut ids = HashSet::new();
        let mut later = VecDeque::new();
        while let Some(join) = queue.joins.pop_front() {
            if group.len() == MAX_GROUP {
                later.push_back(join);
            } else if join.stored.is_closed() {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
            } else if ids.insert(join.id.as_str().to_owned()) {
                group.push(join);
            } else {
                later.push_back(join);
            }
        }
        queue.joins = later;
        self.waiting
            .fetch_sub(group.len() as u64, Ordering::Relaxed);
        if group.is_empty() {
            queue.workers -= 1;
            return None;
        }
        Some(group)
    }

    /// Holds the queue: writes wait in it until the guard is dropped, then go as one group.
    pub(crate) async fn hold(&self) -> GroupHold {
        GroupHold(self.gate.clone().lock_owned().await)
    }

    /// Writes queued and not yet taken into a group.
    pub(crate) fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Groups committed and the writes they made durable.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.committed.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }
}

/// [`crate::Store::write_child`] through the store's groups.
pub(crate) async fn write_child<S, T, E, F>(
    store: &S,
    id: &ChildId,
    generation: i64,
    decide: F,
) -> Result<T, WriteError<E>>
where
    S: GroupStore,
    F: FnOnce(Option<StoredChild>) -> Result<(ChildWrite, T), E>,
{
    let (stored_sender, stored) = oneshot::channel();
    let (decision, decided) = oneshot::channel();
    let (outcome_sender, outcome) = oneshot::channel();
    let join = Join {
        id: id.clone(),
        stored: stored_sender,
        decision: decided,
        outcome: outcome_sender,
    };
    if store.groups().push(join, S::WORKERS) {
        tokio::spawn(work(store.clone()));
    }
    let stored = stored.await.map_err(|_| abandoned())??;
    let before = stored
        .as_ref()
        .map(|stored| (stored.document.parents.clone(), stored.version));
    // The closure is pure: a refusal drops `decision`, and the group writes nothing of it.
    let (write, value) = decide(stored).map_err(WriteError::Rejected)?;
    if write.is_empty() {
        return Ok(value);
    }
    let prepared = Prepared::new(
        id.as_str(),
        generation,
        before
            .as_ref()
            .map(|(parents, version)| (parents.as_slice(), *version)),
        write,
    )?;
    decision.send(Some(prepared)).map_err(|_| abandoned())?;
    outcome.await.map_err(|_| abandoned())??;
    Ok(value)
}

/// A worker: takes groups until the queue is empty.
async fn work<S: GroupStore>(store: S) {
    while let Some(group) = store.groups().take().await {
        write_group(&store, group).await;
    }
}

/// A write of one group, from the locks to telling every caller.
async fn write_group<S: GroupStore>(store: &S, group: Vec<Join>) {
    let groups = store.groups();
    let mut tx = match store.begin_group().await {
        Ok(tx) => tx,
        Err(error) => return refuse_all(group, &error),
    };
    let ids: Vec<&str> = group.iter().map(|join| join.id.as_str()).collect();
    let read = async {
        tx.lock_children(&ids).await?;
        tx.read_children(&ids).await
    };
    let mut rows: HashMap<String, ChildRow> = match read.await {
        Ok(rows) => rows.into_iter().collect(),
        Err(error) => return refuse_all(group, &error.into()),
    };
    let mut members = Vec::with_capacity(group.len());
    for join in group {
        let key = join.id.as_str();
        let stored = match rows.remove(key) {
            Some(row) => tx::decode_child(key, row).map(Some),
            None => Ok(None),
        };
        let readable = stored.is_ok();
        // A caller gone, or a child unreadable (the caller hears why): nothing to write.
        if join.stored.send(stored).is_ok() && readable {
            members.push((join.id, join.decision, join.outcome));
        }
    }
    let mut writes = Vec::with_capacity(members.len());
    for (id, decision, outcome) in members {
        if let Ok(Some(prepared)) = decision.await {
            writes.push(Member {
                id,
                prepared,
                outcome,
                failed: None,
            });
        }
    }
    if writes.is_empty() {
        // Dropping the transaction rolls back its locks (SQLite: its savepoint).
        return;
    }
    if let Err(error) = write_members(&mut tx, &mut writes).await {
        return refuse_all(writes, &error);
    }
    let durable = writes.iter().filter(|write| write.failed.is_none()).count() as u64;
    let committed = tx.commit_group(durable).await.map_err(StoreError::from);
    if committed.is_ok() && durable > 0 {
        groups.committed.fetch_add(1, Ordering::Relaxed);
        groups.writes.fetch_add(durable, Ordering::Relaxed);
        store.group_committed();
    }
    for write in writes {
        let told = match (&committed, write.failed) {
            (_, Some(error)) => Err(error),
            (Ok(()), None) => Ok(()),
            (Err(error), None) => Err(shared(error)),
        };
        let _ = write.outcome.send(told);
    }
}

/// One write of a group, once its caller decided.
struct Member {
    id: ChildId,
    prepared: Prepared,
    outcome: oneshot::Sender<Result<(), StoreError>>,
    /// Why it was not written, when it was not.
    failed: Option<StoreError>,
}

/// Something every queued write (or member) of a group hears when the group fails whole.
trait Told {
    fn tell(self, error: StoreError);
}

impl Told for Join {
    fn tell(self, error: StoreError) {
        let _ = self.stored.send(Err(error));
    }
}

impl Told for Member {
    fn tell(self, error: StoreError) {
        let _ = self.outcome.send(Err(error));
    }
}

fn refuse_all<W: Told>(group: Vec<W>, error: &StoreError) {
    for member in group {
        member.tell(shared(error));
    }
}

/// Writes the members together, or (if that fails) each alone, marking those that failed.
/// An error here is one of the savepoints': nothing can be written.
async fn write_members<X: GroupTx>(tx: &mut X, writes: &mut [Member]) -> Result<(), StoreError> {
    tx.run("SAVEPOINT ward_group").await?;
    match write_together(tx, writes).await {
        Ok(()) => {
            tx.run("RELEASE SAVEPOINT ward_group").await?;
            return Ok(());
        }
        Err(error) => {
            tracing::debug!(%error, "a group could not be written together; writing each alone");
            tx.run("ROLLBACK TO SAVEPOINT ward_group").await?;
            tx.run("RELEASE SAVEPOINT ward_group").await?;
        }
    }
    for write in writes.iter_mut() {
        tx.run("SAVEPOINT ward_one").await?;
        match tx::write_one(tx, write.id.as_str(), &write.prepared).await {
            Ok(()) => tx.run("RELEASE SAVEPOINT ward_one").await?,
            Err(error) => {
                tx.run("ROLLBACK TO SAVEPOINT ward_one").await?;
                tx.run("RELEASE SAVEPOINT ward_one").await?;
                write.failed = Some(error);
            }
        }
    }
    Ok(())
}

/// The whole group in a few statements: the documents, the parents' locks, the rare rows
/// (parent index, interventions, requests, reports), all ledger entries, the alerts, the
/// change notices.
async fn write_together<X: GroupTx>(tx: &mut X, writes: &[Member]) -> Result<(), StoreError> {
    let rows: Vec<(&str, &ChildRow)> = writes
        .iter()
        .filter_map(|write| Some((write.id.as_str(), write.prepared.row.as_ref()?)))
        .collect();
    if !rows.is_empty() {
        tx.put_children(&rows, tx::now_us()).await?;
    }
    // The alerted parents' locks before the entries get their ids: see `Tx::lock_parent`.
    let mut alerted: Vec<&str> = writes
        .iter()
        .flat_map(|write| write.prepared.alerted())
        .collect();
    alerted.sort_unstable();
    alerted.dedup();
    for parent in alerted {
        tx.lock_parent(parent).await?;
    }
    for write in writes {
        tx::write_rows(tx, write.id.as_str(), &write.prepared).await?;
    }
    let events = || writes.iter().flat_map(|write| &write.prepared.write.events);
    let count = events().count();
    let entries: Vec<LedgerEntry> = if count == 0 {
        Vec::new()
    } else if X::CHAINS_INLINE {
        // INVARIANT: one writer, so the head cannot move before this transaction commits.
        let head = tx.ledger_head().await?;
        let hashes: Vec<String> = events()
            .map(|event| ledger::payload_hash(&event.payload))
            .collect();
        let links = ledger::link(head, hashes.iter().map(String::as_str));
        events()
            .zip(hashes)
            .zip(links)
            .map(|((event, hash), link)| LedgerEntry {
                id: link.seq,
                ..ledger::unchained(link.seq, event, hash, Some(link))
            })
            .collect()
    } else {
        let ids = tx.entry_ids(count).await?;
        ids.into_iter()
            .zip(events())
            .map(|(id, event)| {
                ledger::unchained(id, event, ledger::payload_hash(&event.payload), None)
            })
            .collect()
    };
    if !entries.is_empty() {
        tx.insert_entries(&entries, X::CHAINS_INLINE).await?;
    }
    let mut rest = entries.as_slice();
    for write in writes {
        let (own, after) = rest.split_at(write.prepared.write.events.len().min(rest.len()));
        rest = after;
        tx::write_alerts(tx, write.id.as_str(), &write.prepared.write.alerts, own).await?;
    }
    let ids: Vec<&str> = writes.iter().map(|write| write.id.as_str()).collect();
    tx.notify_children(&ids).await?;
    Ok(())
}

/// The error each caller of a group hears when the group failed whole: retryable (503) when
/// the database could not be reached, as the error itself would be.
fn shared(error: &StoreError) -> StoreError {
    match error {
        StoreError::Down => StoreError::Down,
        StoreError::Corrupt { what, id, reason } => StoreError::Corrupt {
            what,
            id: id.clone(),
            reason: reason.clone(),
        },
        StoreError::Database(inner) if crate::unavailable(inner) => {
            StoreError::Database(sqlx::Error::Io(std::io::Error::other(error.to_string())))
        }
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// What a caller hears when its group went away without telling it (the runtime stopping).
fn abandoned() -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(
        "the write's group was abandoned; it was not acknowledged",
    )))
}
