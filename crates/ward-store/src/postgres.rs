//! The PostgreSQL backend: several `ward serve` nodes on one database.
//!
//! Writers of one child are serialised by a transaction-scoped advisory lock on the child's
//! id (`pg_advisory_xact_lock(1, hashtext(id))`, which also covers a child not yet stored),
//! and ledger appends by another (`pg_advisory_xact_lock(2, 0)`), always taken in that order,
//! so the chain stays a chain without deadlocks. Every write ends with `pg_notify('ward', …)`,
//! delivered on commit, which [`crate::Store::subscribe`] turns into [`Change`]s for the
//! other nodes' caches.

use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use crate::sql::sql_backend;
use crate::{Change, PoolSettings, StoreError};

/// The channel every node listens on.
const CHANNEL: &str = "ward";

/// How many changes may wait for the cache; beyond that the listener waits (PostgreSQL
/// queues notifications meanwhile).
const FEED_CAPACITY: usize = 4_096;

/// A ward database on a PostgreSQL server.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects with the default [`PoolSettings`]. Call `migrate` next, or use
    /// [`crate::AnyStore::open`], which does both.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PoolSettings::default()).await
    }

    /// Connects with these pool settings.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A connection an outage broke fails its ping and is replaced, not handed out.
            .test_before_acquire(true)
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    async fn begin(&self) -> Result<PostgresTx, sqlx::Error> {
        Ok(PostgresTx(self.pool.begin().await?))
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// Listens on the channel in a background task. When the connection drops the receiver
    /// gets [`Change::Lost`]; the task reconnects (backing off while the server is down) and,
    /// once it listens again, sends [`Change::Resumed`]. It ends when the receiver is dropped.
    async fn changes(&self) -> Result<Option<mpsc::Receiver<Change>>, StoreError> {
        let listener = listen(&self.pool).await?;
        let (sender, receiver) = mpsc::channel(FEED_CAPACITY);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let mut current = match listener.take() {
                    Some(current) => current,
                    None => match listen(&pool).await {
                        Ok(current) => {
                            if sender.send(Change::Resumed).await.is_err() {
                                return;
                            }
                            current
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot listen for changes yet; retrying");
                            // Back off so a database that is down is not hammered.
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    },
                };
                loop {
                    let change = match current.try_recv().await {
                        Ok(Some(notification)) => parse_notice(notification.payload()),
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!(%error, "the change feed failed");
                            break;
                        }
                    };
                    if sender.send(change).await.is_err() {
                        return;
                    }
                }
                if sender.send(Change::Lost).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(receiver))
    }
}

/// A new listener on the channel (its own connection, not one from the pool).
async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnecting is done above, so a drop is always seen (and the cache suspended).
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

fn parse_notice(payload: &str) -> Change {
    if let Some(child) = payload.strip_prefix("child:") {
        Change::Child(child.to_owned())
    } else if let Some(generation) = payload.strip_prefix("policy:") {
        generation.parse().map_or(Change::Lost, Change::Policy)
    } else if let Some(parent) = payload.strip_prefix("alerts:") {
        Change::Alerts(parent.to_owned())
    } else if payload == "outbox" {
        Change::Outbox
    } else if payload == "keys" {
        Change::Keys
    } else {
        Change::Lost
    }
}

sql_backend! {
    store: PostgresStore,
    tx: PostgresTx,
    db: Postgres,
    lock_child: Some("SELECT pg_advisory_xact_lock(1, hashtext($1))"),
    lock_ledger: Some("SELECT pg_advisory_xact_lock(2, 0)"),
    notify: Some("SELECT pg_notify('ward', $1)"),
}
