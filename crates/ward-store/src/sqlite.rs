//! The SQLite backend: one file, no set-up, one node.
//!
//! Durability: WAL with `synchronous = FULL`, so a commit that returned is on disk before
//! ward acknowledges it. Writers are serialised through a pool of one connection that begins
//! every transaction `IMMEDIATE` (no deferred read-then-write upgrade can fail with
//! `SQLITE_BUSY`, even against `ward keys` run beside a live server); readers use their own
//! pool and never wait for writers. There is no change feed: one process serves the file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::sql::sql_backend;
use crate::{Change, PoolSettings, StoreError};

/// How many connections serve reads.
const READERS: u32 = 4;

/// A ward database in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    async fn begin(&self) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx(self.writer.begin_with("BEGIN IMMEDIATE").await?))
    }

    /// A connection for reads (each statement takes one, as PostgreSQL's do).
    async fn reader(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        Ok(self.reader.acquire().await?)
    }

    /// Migrations take the pool (sqlx's migrator acquires from it).
    fn migration_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The writer's connection, for a statement outside a transaction.
    async fn writer(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        Ok(self.writer.acquire().await?)
    }

    /// No feed: one process serves the file. (Async to match the shared implementation.)
    async fn changes(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Change>>, StoreError> {
        Ok(None)
    }
}

sql_backend! {
    store: SqliteStore,
    tx: SqliteTx,
    db: Sqlite,
    lock_child: None,
    lock_ledger: None,
    notify: None,
}
