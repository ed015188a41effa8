//! The SQLite backend: one file, no set-up, one node.
//!
//! **Durability.** WAL with `synchronous = FULL`, so a commit that returned is on disk before
//! ward acknowledges it. Readers use their own pool and never wait for writers. There is no
//! change feed: one process serves the file.
//!
//! **Group commit.** Every write goes through one connection, the [`Writer`], which keeps
//! one transaction open (begun `IMMEDIATE`, so no deferred read-then-write upgrade can fail
//! with `SQLITE_BUSY`, even against `ward keys` run beside a live server) and runs each
//! write in a savepoint of its own inside it. A write that fails or is refused rolls back to
//! its savepoint and takes nothing else with it. A write that succeeds releases its savepoint
//! and waits: the [committer](Writer::commit_loop) queues for the connection behind every
//! write already waiting for it, and then commits everything they did in one `COMMIT`, one
//! fsync. Each write hears "done" only once that commit is durable; if it fails, every write
//! in it hears so, and none of them was acknowledged. So with one write at a time each commits
//! alone, as before, and with many waiting they share a commit: the batch is whatever queued
//! while the last commit was on its way to the disk.
//!
//! A write's future may be dropped anywhere (a client that hangs up): the savepoint it left
//! open is rolled back by whoever next takes the connection, and the commit runs in the
//! committer's own task, so it is never cut short.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor as _, Sqlite, SqliteConnection};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

use crate::group::{GroupHold, GroupStore, GroupTx, Groups};
use crate::ledger::LedgerEntry;
use crate::sql::sql_backend;
use crate::tx::ChildRow;
use crate::{Change, PoolSettings, StoreError};

/// How many connections serve reads.
const READERS: u32 = 4;

/// The savepoint each write runs in.
const SAVEPOINT: &str = "SAVEPOINT ward_write";

/// A ward database in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Arc<Writer>,
    reader: SqlitePool,
    groups: Arc<Groups>,
}

/// What a write hears of the commit it joined: `None` until it is known.
type Outcome = Option<Result<(), Arc<str>>>;

/// The one writing connection, the transaction its writes share, and the committer's bell.
#[derive(Debug)]
pub(crate) struct Writer {
    pool: SqlitePool,
    state: Arc<Mutex<WriterState>>,
    /// Rung by every write that released its savepoint or left one open.
    bell: Arc<Notify>,
    /// Commits made, and writes acknowledged by them (for tests and the docs' figures).
    commits: AtomicU64,
    writes: AtomicU64,
}

#[derive(Debug)]
struct WriterState {
    /// Taken from the pool on first use and kept.
    connection: Option<PoolConnection<Sqlite>>,
    /// The open transaction, if any.
    batch: Option<Batch>,
    /// A savepoint is open that no one released (its write was dropped or refused).
    dirty: bool,
}

#[derive(Debug)]
struct Batch {
    /// Writes whose savepoints were released into it.
    writes: u64,
    outcome: watch::Sender<Outcome>,
}

impl SqliteStore {
    /// Opens the file, creating it (not its folder) when missing. Call `migrate` next, or use
    /// [`crate::AnyStore::open`], which does both.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, PoolSettings::default()).await
    }

    /// [`SqliteStore::open`], waiting at most `settings.acquire_timeout` for a connection
    /// (the pool sizes are fixed: one writer, [`READERS`] readers).
    pub async fn open_with(path: &Path, settings: PoolSettings) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            // The writer keeps its connection for as long as the store lives.
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.read_only(true))
            .await?;
        let bell = Arc::new(Notify::new());
        let writer = Arc::new(Writer {
            pool,
            state: Arc::new(Mutex::new(WriterState {
                connection: None,
                batch: None,
                dirty: false,
            })),
            bell: bell.clone(),
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        });
        tokio::spawn(Writer::commit_loop(Arc::downgrade(&writer), bell));
        Ok(Self {
            writer,
            reader,
            groups: Arc::default(),
        })
    }

    /// A write: a savepoint in the shared transaction (begun if none is open).
    async fn begin(&self) -> Result<SqliteTx, StoreError> {
        let mut guard = self.writer.take().await?;
        if guard.batch.is_none() {
            let connection = guard.connection()?;
            if let Err(error) = connection.execute("BEGIN IMMEDIATE").await {
                if !error.to_string().contains("within a transaction") {
                    return Err(error.into());
                }
                // A BEGIN whose write was dropped before it was recorded: nothing is in it.
                connection.execute("ROLLBACK").await?;
                connection.execute("BEGIN IMMEDIATE").await?;
            }
            guard.batch = Some(Batch {
                writes: 0,
                outcome: watch::Sender::new(None),
            });
        }
        // Dirty before the savepoint exists: a write dropped in between leaves "no such
        // savepoint" for `clean`, which it ignores.
        guard.dirty = true;
        guard.connection()?.execute(SAVEPOINT).await?;
        Ok(SqliteTx(Writing {
            guard: Some(guard),
            writer: self.writer.clone(),
        }))
    }

    /// A connection for reads (each statement takes one, as PostgreSQL's do).
    async fn reader(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        Ok(self.reader.acquire().await?)
    }

    /// Runs the migrations on the writer's connection, after committing what is open.
    async fn run_migrations(&self) -> Result<(), StoreError> {
        let mut guard = self.writer.direct().await?;
        crate::migrations::migrator(crate::migrations::Backend::Sqlite)
            .await?
            .run_direct(&mut **guard.connection()?)
            .await?;
        Ok(())
    }

    /// The writer's connection for one statement outside a transaction, which SQLite commits
    /// on its own (durably) before it returns: whatever was open is committed first.
    async fn writer(&self) -> Result<Writing, StoreError> {
        let guard = self.writer.direct().await?;
        Ok(Writing {
            guard: Some(guard),
            writer: self.writer.clone(),
        })
    }

    /// No feed: one process serves the file. (Async to match the shared implementation.)
    async fn changes(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Change>>, StoreError> {
        Ok(None)
    }

    /// Nothing waits to be chained: the one writer chains as it writes.
    async fn chain_pending(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// No sequencer runs on SQLite.
    async fn sequence(&self) {}

    /// Nothing to do after a commit.
    fn committed(&self) {}

    /// Commits made so far and the writes they acknowledged (writes per commit is the
    /// batching the load reached).
    pub fn commit_counts(&self) -> (u64, u64) {
        (
            self.writer.commits.load(Ordering::Relaxed),
            self.writer.writes.load(Ordering::Relaxed),
        )
    }

    /// Holds the queue of child writes until the guard is dropped: the writes queued
    /// meanwhile ([`SqliteStore::queued_writes`]) then go as one group.
    #[doc(hidden)]
    pub async fn hold_groups(&self) -> GroupHold {
        self.groups.hold().await
    }

    /// Child writes queued and not yet taken into a group.
    #[doc(hidden)]
    pub fn queued_writes(&self) -> u64 {
        self.groups.waiting()
    }

    /// Groups of child writes committed and the writes they made durable.
    pub fn group_counts(&self) -> (u64, u64) {
        self.groups.counts()
    }
}

impl WriterState {
    fn connection(&mut self) -> Result<&mut PoolConnection<Sqlite>, StoreError> {
        self.connection.as_mut().ok_or_else(|| StoreError::Corrupt {
            what: "writer",
            id: "sqlite".into(),
            reason: "the writer has no connection".into(),
        })
    }

    /// Rolls back a savepoint its write left open. If that fails, SQLite has rolled the
    /// whole transaction back itself (as it does on some I/O errors): it is ended, and the
    /// writes waiting for it hear that it failed (none of them was acknowledged).
    async fn clean(&mut self) -> Result<(), StoreError> {
        if !self.dirty {
            return Ok(());
        }
        let connection = self.connection()?;
        let rolled_back = match connection.execute("ROLLBACK TO ward_write").await {
            Ok(_) => connection.execute("RELEASE ward_write").await.map(|_| ()),
            // Never opened, or already released: there is nothing of that write to undo.
            Err(error) if error.to_string().contains("no such savepoint") => Ok(()),
            Err(error) => Err(error),
        };
        self.dirty = false;
        if let Err(error) = rolled_back {
            let _ = self.connection()?.execute("ROLLBACK").await;
            if let Some(batch) = self.batch.take() {
                batch
                    .outcome
                    .send_replace(Some(Err(Arc::from(error.to_string()))));
            }
        }
        Ok(())
    }

    /// Commits the open transaction (rolls it back if no write is in it) and tells its
    /// writes. A write that had released its savepoint into it hears the outcome.
    async fn commit(&mut self, writer: &Writer) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        let statement = if batch.writes == 0 {
            "ROLLBACK"
        } else {
            "COMMIT"
        };
        let result = match self.connection() {
            Ok(connection) => connection
                .execute(statement)
                .await
                .map(|_| ())
                .map_err(|error| Arc::<str>::from(error.to_string())),
            Err(error) => Err(Arc::<str>::from(error.to_string())),
        };
        if result.is_err() {
            // A failed COMMIT may leave the transaction open: end it, so the next write
            // begins afresh. Nothing in it was acknowledged.
            if let Ok(connection) = self.connection() {
                let _ = connection.execute("ROLLBACK").await;
            }
        } else if batch.writes > 0 {
            writer.commits.fetch_add(1, Ordering::Relaxed);
            writer.writes.fetch_add(batch.writes, Ordering::Relaxed);
        }
        batch.outcome.send_replace(Some(result));
    }
}

impl Writer {
    /// The connection, taken from the pool on first use, with any savepoint a dropped write
    /// left open rolled back.
    async fn take(&self) -> Result<OwnedMutexGuard<WriterState>, StoreError> {
        let mut guard = self.state.clone().lock_owned().await;
        if guard.connection.is_none() {
            guard.connection = Some(self.pool.acquire().await?);
        }
        guard.clean().await?;
        Ok(guard)
    }

    /// The connection outside any transaction: what was open is committed first, in a task
    /// of its own (so that a caller dropped meanwhile cannot cut the commit short).
    async fn direct(self: &Arc<Self>) -> Result<OwnedMutexGuard<WriterState>, StoreError> {
        let guard = self.take().await?;
        if guard.batch.is_none() {
            return Ok(guard);
        }
        let writer = self.clone();
        tokio::spawn(async move {
            let mut guard = guard;
            guard.commit(&writer).await;
            guard
        })
        .await
        .map_err(|error| StoreError::Corrupt {
            what: "writer",
            id: "sqlite".into(),
            reason: format!("the commit task failed: {error}"),
        })
    }

    /// The committer: each time it is rung it queues for the connection behind the writes
    /// already waiting for it, and then commits all they did at once. It holds the writer
    /// only while committing, and ends once the store is gone (whose drop rings it).
    async fn commit_loop(writer: Weak<Self>, bell: Arc<Notify>) {
        loop {
            bell.notified().await;
            let Some(writer) = writer.upgrade() else {
                return;
            };
            let mut guard = writer.state.clone().lock_owned().await;
            if let Err(error) = guard.clean().await {
                tracing::warn!(%error, "could not roll back an abandoned write");
            }
            guard.commit(&writer).await;
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.bell.notify_one();
    }
}

/// The writer's connection while one write (or one statement) has it.
pub(crate) struct Writing {
    guard: Option<OwnedMutexGuard<WriterState>>,
    writer: Arc<Writer>,
}

impl std::ops::Deref for Writing {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        // INVARIANT: the guard is only taken by `commit` and `drop`, which consume `self`,
        // and a `Writing` is only made once the connection is there.
        match self
            .guard
            .as_ref()
            .and_then(|guard| guard.connection.as_ref())
        {
            Some(connection) => connection,
            None => unreachable!("a writing guard always holds the connection"),
        }
    }
}

impl std::ops::DerefMut for Writing {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self
            .guard
            .as_mut()
            .and_then(|guard| guard.connection.as_mut())
        {
            Some(connection) => connection,
            None => unreachable!("a writing guard always holds the connection"),
        }
    }
}

impl Writing {
    /// Releases the write's savepoint into the shared transaction and waits until that
    /// transaction is durably committed: `Ok` only then.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.commit_writes(1).await
    }

    /// [`Writing::commit`] for a savepoint that holds `writes` writes (a group's).
    pub(crate) async fn commit_writes(mut self, writes: u64) -> Result<(), sqlx::Error> {
        let Some(mut guard) = self.guard.take() else {
            return Ok(());
        };
        let Some(connection) = guard.connection.as_mut() else {
            return Ok(());
        };
        if let Err(error) = connection.execute("RELEASE ward_write").await {
            // Left dirty: rolled back by whoever takes the connection next.
            drop(guard);
            self.writer.bell.notify_one();
            return Err(error);
        }
        guard.dirty = false;
        let Some(batch) = guard.batch.as_mut() else {
            return Ok(());
        };
        batch.writes += writes;
        let mut outcome = batch.outcome.subscribe();
        drop(guard);
        self.writer.bell.notify_one();
        let heard = outcome.wait_for(Option::is_some).await.map(|o| o.clone());
        match heard {
            Ok(Some(Ok(()))) => Ok(()),
            Ok(Some(Err(error))) => Err(shared_commit_failed(&error)),
            // The sender went with the transaction's state: the outcome is unknown.
            Ok(None) | Err(_) => Err(shared_commit_failed("the shared commit was abandoned")),
        }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            let dirty = guard.dirty;
            drop(guard);
            if dirty {
                // Refused or dropped mid-write: the committer rolls it back at once, so the
                // file's write lock is not held for nothing.
                self.writer.bell.notify_one();
            }
        }
    }
}

/// The error every write of a failed shared commit gets: retryable (503), since nothing of
/// it was acknowledged.
fn shared_commit_failed(reason: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "the shared commit failed: {reason}"
    )))
}

sql_backend! {
    store: SqliteStore,
    tx: SqliteTx,
    inner: Writing,
    db: Sqlite,
    chains_inline: true,
    lock_child: None,
    lock_parent: None,
    lock_policies: None,
    entry_ids: None,
    notify: None,
}

impl GroupStore for SqliteStore {
    type Tx = SqliteTx;
    /// One group commits while the next is read and written into the next transaction.
    const WORKERS: usize = 2;

    fn groups(&self) -> &Groups {
        &self.groups
    }

    async fn begin_group(&self) -> Result<SqliteTx, StoreError> {
        self.begin().await
    }

    fn group_committed(&self) {}
}

/// Many rows in one statement: SQLite reads them from a JSON array (`json_each`).
fn json_rows<T: serde::Serialize>(rows: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(rows).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}

impl GroupTx for SqliteTx {
    /// The single writer serialises every write already.
    async fn lock_children(&mut self, _ids: &[&str]) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn read_children(
        &mut self,
        ids: &[&str],
    ) -> Result<Vec<(String, ChildRow)>, sqlx::Error> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, doc, generation, version FROM children \
             WHERE id IN (SELECT value FROM json_each($1))",
        )
        .bind(json_rows(&ids)?)
        .fetch_all(&mut *self.0)
        .await?;
        Ok(ChildRow::keyed(rows))
    }

    async fn put_children(
        &mut self,
        rows: &[(&str, &ChildRow)],
        now_us: i64,
    ) -> Result<(), sqlx::Error> {
        let rows: Vec<(&str, i64, i64, &str)> = rows
            .iter()
            .map(|(id, row)| (*id, row.generation, row.version, row.doc.as_str()))
            .collect();
        // `WHERE true`: an upsert's SELECT needs a WHERE, or SQLite reads ON as a join's.
        sqlx::query(
            "INSERT INTO children (id, generation, version, doc, updated_at_us) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, $2 \
             FROM json_each($1) WHERE true \
             ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, \
             version = excluded.version, doc = excluded.doc, \
             updated_at_us = excluded.updated_at_us",
        )
        .bind(json_rows(&rows)?)
        .bind(now_us)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_entries(
        &mut self,
        entries: &[LedgerEntry],
        chained: bool,
    ) -> Result<(), sqlx::Error> {
        #[expect(clippy::type_complexity, reason = "one row as SQLite reads it")]
        let rows: Vec<(
            i64,
            Option<i64>,
            i64,
            Option<&str>,
            &str,
            &str,
            &str,
            Option<&str>,
            Option<&str>,
            bool,
        )> = entries
            .iter()
            .map(|entry| {
                (
                    entry.id,
                    chained.then_some(entry.seq),
                    entry.at_us,
                    entry.child_id.as_deref(),
                    entry.kind.as_str(),
                    entry.payload.as_str(),
                    entry.payload_hash.as_str(),
                    chained.then_some(entry.prev_hash.as_str()),
                    chained.then_some(entry.entry_hash.as_str()),
                    entry.erased,
                )
            })
            .collect();
        sqlx::query(
            "INSERT INTO ledger (id, seq, at_us, child_id, kind, payload, payload_hash, \
             prev_hash, entry_hash, erased) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
             value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9 \
             FROM json_each($1)",
        )
        .bind(json_rows(&rows)?)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// No feed: one process serves the file.
    async fn notify_children(&mut self, _ids: &[&str]) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn run(&mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        self.0.execute(statement).await?;
        Ok(())
    }

    async fn commit_group(self, writes: u64) -> Result<(), sqlx::Error> {
        self.0.commit_writes(writes).await
    }
}
