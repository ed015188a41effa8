//! The PostgreSQL backend: several `ward serve` nodes on one database.
//!
//! Writers of one child are serialised by a transaction-scoped advisory lock on the child's
//! id (`pg_advisory_xact_lock(1, hashtext(id))`, which also covers a child not yet stored);
//! writes that alert a parent take that parent's (`(4, hashtext(parent))`, after the child's,
//! in id order), policy loads one of their own. No lock every writer shares is held across a
//! commit: a write's ledger entries take ids from a sequence and commit **unchained**.
//!
//! **The sequencer** chains them. Each node runs [`PostgresStore::sequence`]; the one holding
//! the session lock `(3, schema)` on a connection of its own leads, and the others try to
//! take the lead every [`TAKE_OVER_EVERY`] (a node that dies drops its connection, and with
//! it the lock). The leader chains what has committed, in id order, in batches of up to
//! [`CHAIN_BATCH`] per transaction, when its own node commits and at least every
//! [`SEQUENCE_EVERY`]. Every chaining transaction, the leader's or a verification's
//! ([`PostgresStore::chain_pending`]), holds the lock `(2, schema)`, so two never chain at
//! once. So an entry is chained within about `SEQUENCE_EVERY` of its commit while a node
//! leads, within `TAKE_OVER_EVERY` more when the leader dies, and always before a
//! verification, an export or a checkpoint reads the chain.
//!
//! Every write ends with `pg_notify('ward', …)`, delivered on commit, which
//! [`crate::Store::subscribe`] turns into [`Change`]s for the other nodes' caches.
//!
//! **Outages.** The change feed's connection is the node's eye on the server: when it drops,
//! one connection attempt (no retries) says whether the server still answers. If it does
//! not, the store is *down*: every call fails at once with [`StoreError::Down`] instead of
//! waiting for a pool that cannot connect, until the feed listens again. Connections the
//! outage broke are dropped by the pool (each is pinged before use and after release).

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres};
use tokio::sync::{Notify, mpsc, watch};

use crate::group::{GroupHold, GroupStore, GroupTx, Groups};
use crate::ledger::{self, LedgerEntry};

use crate::sql::sql_backend;
use crate::tx::ChildRow;
use crate::{Change, PoolSettings, StoreError};

/// The channel every node listens on.
const CHANNEL: &str = "ward";

/// How many changes may wait for the cache; beyond that the listener waits (PostgreSQL
/// queues notifications meanwhile).
const FEED_CAPACITY: usize = 4_096;

/// How often a node whose change feed is lost tries to reach the server again. Each try is
/// one connection attempt, refused at once by a host whose server is down, so trying often
/// costs little and makes recovery quick.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// The longest one connection attempt may take before the server counts as not answering
/// (a host that drops packets never refuses).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The most entries one chaining transaction chains.
const CHAIN_BATCH: i64 = 10_000;

/// How often the leading sequencer looks for entries other nodes committed (its own node's
/// commits wake it at once).
const SEQUENCE_EVERY: Duration = Duration::from_millis(10);

/// How often a node that does not lead the sequencer tries to take the lead.
const TAKE_OVER_EVERY: Duration = Duration::from_millis(200);

/// A ward database on a PostgreSQL server.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    /// Child writes queued for a group.
    groups: Arc<Groups>,
    /// Rung after every write that committed ledger entries: wakes this node's sequencer.
    committed: Arc<Notify>,
    /// Whether this node's sequencer leads now, and how many entries it has chained.
    sequencer: Arc<watch::Sender<Sequencing>>,
    pool: PgPool,
    /// The change feed's own pool (one connection), so the feed never waits behind requests
    /// and requests never lose a connection to it.
    feed_pool: PgPool,
    /// How to reach the server, for the feed's probe (boxed: it is large, and the store is
    /// cloned into every handler).
    options: Arc<PgConnectOptions>,
    /// True while the change feed finds the server not answering: calls are refused at once.
    down: Arc<watch::Sender<bool>>,
}

impl PostgresStore {
    /// Connects with the default [`PoolSettings`]. Call `migrate` next, or use
    /// [`crate::AnyStore::open`], which does both.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PoolSettings::default()).await
    }

    /// Connects with these pool settings.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A connection an outage broke fails its ping and is replaced, not handed out.
            .test_before_acquire(true)
            .connect_with(options.clone())
            .await?;
        let feed_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            // The feed holds its connection for as long as it lives; never recycle it.
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options.clone());
        Ok(Self {
            groups: Arc::default(),
            committed: Arc::new(Notify::new()),
            sequencer: Arc::new(watch::Sender::new(Sequencing::default())),
            pool,
            feed_pool,
            options: Arc::new(options),
            down: Arc::new(watch::Sender::new(false)),
        })
    }

    /// Runs `work` (getting a connection) unless the server is known to be down: refused at
    /// once if it is, and given up the moment it is found to be, so that no request waits out
    /// the pool's timeout for a server that is gone (sqlx retries a refused connection until
    /// then).
    async fn unless_down<T>(
        &self,
        work: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        let mut down = self.down.subscribe();
        if *down.borrow_and_update() {
            return Err(StoreError::Down);
        }
        tokio::select! {
            result = work => Ok(result?),
            () = async {
                if down.wait_for(|down| *down).await.is_err() {
                    // The store itself holds the sender, so this cannot happen; never
                    // give up on a closed channel.
                    std::future::pending::<()>().await;
                }
            } => Err(StoreError::Down),
        }
    }

    async fn begin(&self) -> Result<PostgresTx, StoreError> {
        Ok(PostgresTx(self.unless_down(self.pool.begin()).await?))
    }

    /// A connection for one statement.
    async fn reader(&self) -> Result<PoolConnection<Postgres>, StoreError> {
        self.unless_down(self.pool.acquire()).await
    }

    /// Migrations take the pool (sqlx's migrator acquires from it and, on PostgreSQL, locks
    /// so nodes starting together migrate once); they run at start only.
    async fn run_migrations(&self) -> Result<(), StoreError> {
        crate::migrations::migrator(crate::migrations::Backend::Postgres)
            .await?
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// Chains every entry committed and not yet chained, whoever leads: a verification, an
    /// export and a checkpoint call this first, so they see all that committed before them.
    async fn chain_pending(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let chained = self
                .unless_down(async {
                    let mut connection = self.pool.acquire().await?;
                    chain_batch(&mut connection).await
                })
                .await?;
            total += chained;
            if chained < CHAIN_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// The sequencer: leads when it can, chains while it leads, and tries again after any
    /// failure (the server gone, the connection lost). Never returns.
    async fn sequence(&self) {
        loop {
            match self.lead().await {
                // The outage is told once, by the change feed; no line every try.
                Err(error) if error.is_unavailable() => {
                    tracing::debug!(%error, "the ledger sequencer waits for the database");
                }
                Err(error) => tracing::warn!(%error, "the ledger sequencer stopped; trying again"),
                Ok(()) => {}
            }
            self.sequencer.send_modify(|state| state.leading = false);
            tokio::time::sleep(TAKE_OVER_EVERY).await;
        }
    }

    /// Waits for the lead on a connection of its own, then chains until that fails.
    async fn lead(&self) -> Result<(), StoreError> {
        let mut connection = self
            .unless_down(PgConnection::connect_with(&self.options))
            .await?;
        loop {
            let (leading,): (bool,) =
                sqlx::query_as("SELECT pg_try_advisory_lock(3, hashtext(current_schema()))")
                    .fetch_one(&mut connection)
                    .await?;
            if leading {
                break;
            }
            tokio::time::sleep(TAKE_OVER_EVERY).await;
        }
        self.sequencer.send_modify(|state| state.leading = true);
        tracing::info!("this node sequences the ledger");
        loop {
            let chained = chain_batch(&mut connection).await?;
            if chained > 0 {
                self.sequencer.send_modify(|state| state.chained += chained);
            }
            if chained < CHAIN_BATCH as u64 {
                tokio::select! {
                    () = self.committed.notified() => {}
                    () = tokio::time::sleep(SEQUENCE_EVERY) => {}
                }
            }
        }
    }

    /// A write committed ledger entries: the sequencer, if it leads here, chains them now.
    fn committed(&self) {
        self.committed.notify_one();
    }

    /// Whether this node's sequencer leads, and how many entries it has chained so far:
    /// tests wait on it (no sleeps).
    pub fn sequencing(&self) -> watch::Receiver<Sequencing> {
        self.sequencer.subscribe()
    }

    /// Holds the queue of child writes until the guard is dropped: the writes queued
    /// meanwhile ([`PostgresStore::queued_writes`]) then go as one group.
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

    /// A connection for one statement outside a transaction.
    async fn writer(&self) -> Result<PoolConnection<Postgres>, StoreError> {
        self.unless_down(self.pool.acquire()).await
    }

    /// Listens on the channel in a background task. When the connection drops the receiver
    /// gets [`Change::Lost`] (after the store is marked down, if the server does not answer);
    /// the task tries again every [`RETRY_EVERY`] and, once it listens again, marks the store
    /// up and sends [`Change::Resumed`]. It ends when the receiver is dropped.
    async fn changes(&self) -> Result<Option<mpsc::Receiver<Change>>, StoreError> {
        let listener = listen(&self.feed_pool).await?;
        let (sender, receiver) = mpsc::channel(FEED_CAPACITY);
        let pool = self.feed_pool.clone();
        let options = self.options.clone();
        let down = self.down.clone();
        tokio::spawn(async move {
            let mut current = listener;
            loop {
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
                drop(current);
                // Decided before anyone hears of the loss, so that a node whose cache stops
                // serving also stops waiting on a server that is gone.
                let mut answers = server_answers(&options).await;
                down.send_replace(!answers);
                if answers {
                    tracing::warn!("the change feed lost its connection; reconnecting");
                } else {
                    tracing::error!(
                        "the database server does not answer: requests are refused until it is back"
                    );
                }
                if sender.send(Change::Lost).await.is_err() {
                    return;
                }
                current = loop {
                    if answers {
                        down.send_replace(false);
                        match listen(&pool).await {
                            Ok(listener) => break listener,
                            Err(error) => {
                                tracing::warn!(%error, "cannot listen for changes yet; retrying");
                            }
                        }
                    } else {
                        down.send_replace(true);
                    }
                    if sender.is_closed() {
                        return;
                    }
                    tokio::time::sleep(RETRY_EVERY).await;
                    answers = server_answers(&options).await;
                };
                tracing::info!("the change feed is back");
                if sender.send(Change::Resumed).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(receiver))
    }
}

/// What this node's sequencer is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequencing {
    /// It holds the lead.
    pub leading: bool,
    /// Entries it has chained since the store was opened.
    pub chained: u64,
}

/// Chains up to [`CHAIN_BATCH`] committed, unchained entries in id order after the head, in
/// one transaction holding the chaining lock; returns how many.
async fn chain_batch(connection: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let mut tx = connection.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(2, hashtext(current_schema()))")
        .execute(&mut *tx)
        .await?;
    let pending: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, payload_hash FROM ledger WHERE seq IS NULL ORDER BY id LIMIT $1",
    )
    .bind(CHAIN_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let head: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT seq, entry_hash FROM ledger WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let links = ledger::link(
        head.map(|(seq, hash)| (seq, hash.unwrap_or_default())),
        pending.iter().map(|(_, hash)| hash.as_str()),
    );
    let ids: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
    let seqs: Vec<i64> = links.iter().map(|link| link.seq).collect();
    let (prevs, hashes): (Vec<String>, Vec<String>) = links
        .into_iter()
        .map(|link| (link.prev_hash, link.entry_hash))
        .unzip();
    let updated = sqlx::query(
        "UPDATE ledger SET seq = u.seq, prev_hash = u.prev_hash, entry_hash = u.entry_hash \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[]) \
         AS u(id, seq, prev_hash, entry_hash) WHERE ledger.id = u.id AND ledger.seq IS NULL",
    )
    .bind(&ids)
    .bind(&seqs)
    .bind(&prevs)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != ids.len() as u64 {
        // INVARIANT: under the chaining lock nothing else sets positions; if the rows moved
        // anyway, chain nothing rather than leave a gap (dropping `tx` rolls back).
        return Err(sqlx::Error::Protocol(format!(
            "chained {updated} of {} pending ledger entries; rolled back",
            ids.len()
        )));
    }
    tx.commit().await?;
    Ok(updated)
}

/// One connection attempt, no retries: false when nobody answers or the server says it is
/// starting up or shutting down. A server that answers with another refusal (too many
/// connections, a password) is there: the pool's own errors will say what is wrong.
async fn server_answers(options: &PgConnectOptions) -> bool {
    match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(options)).await {
        Err(_elapsed) => false,
        Ok(Ok(connection)) => {
            // Closing politely is best effort: the probe has its answer either way.
            let _ = connection.close().await;
            true
        }
        Ok(Err(error)) => !crate::unavailable(&error) || is_too_many_connections(&error),
    }
}

fn is_too_many_connections(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.code().as_deref() == Some("53300"))
}

/// A new listener on the channel, on the feed's own connection.
async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnecting is done above, so a drop is always seen (and the cache suspended).
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// A notice as a [`Change`]. One this node cannot read is [`Change::Resumed`]: something
/// changed and nobody can say what, so everything is read afresh. (It must not be
/// [`Change::Lost`]: no `Resumed` would follow, and the cache would stay off for good.)
fn parse_notice(payload: &str) -> Change {
    if let Some(child) = payload.strip_prefix("child:") {
        Change::Child(child.to_owned())
    } else if let Some(generation) = payload.strip_prefix("policy:") {
        generation.parse().map_or(Change::Resumed, Change::Policy)
    } else if let Some(parent) = payload.strip_prefix("alerts:") {
        Change::Alerts(parent.to_owned())
    } else if payload == "outbox" {
        Change::Outbox
    } else if payload == "keys" {
        Change::Keys
    } else {
        Change::Resumed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_this_node_cannot_read_means_everything_may_have_changed() {
        assert_eq!(parse_notice("child:kid-1"), Change::Child("kid-1".into()));
        assert_eq!(parse_notice("policy:7"), Change::Policy(7));
        assert_eq!(parse_notice("policy:seven"), Change::Resumed);
        assert_eq!(parse_notice("webhooks:v2"), Change::Resumed);
    }
}

sql_backend! {
    store: PostgresStore,
    tx: PostgresTx,
    inner: sqlx::Transaction<'static, Postgres>,
    db: Postgres,
    chains_inline: false,
    lock_child: Some("SELECT pg_advisory_xact_lock(1, hashtext($1))"),
    lock_parent: Some("SELECT pg_advisory_xact_lock(4, hashtext($1))"),
    lock_policies: Some("SELECT pg_advisory_xact_lock(5, hashtext(current_schema()))"),
    entry_ids: Some("SELECT nextval('ledger_ids') FROM generate_series(1, $1)"),
    notify: Some("SELECT pg_notify('ward', $1)"),
}

impl GroupStore for PostgresStore {
    type Tx = PostgresTx;
    /// Groups in flight at once on this node, each on a connection of its own: one commits
    /// while others lock, read and write (PostgreSQL flushes their commits together).
    const WORKERS: usize = 4;

    fn groups(&self) -> &Groups {
        &self.groups
    }

    async fn begin_group(&self) -> Result<PostgresTx, StoreError> {
        self.begin().await
    }

    fn group_committed(&self) {
        self.committed();
    }
}

impl GroupTx for PostgresTx {
    /// The children's locks of [`crate::tx::Tx::lock_child`], taken in the order of their
    /// keys, so that concurrent groups queue on each other instead of deadlocking.
    async fn lock_children(&mut self, ids: &[&str]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "SELECT pg_advisory_xact_lock(1, s.key) FROM \
             (SELECT DISTINCT hashtext(id) AS key FROM UNNEST($1::TEXT[]) AS id ORDER BY 1) AS s",
        )
        .bind(ids)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn read_children(
        &mut self,
        ids: &[&str],
    ) -> Result<Vec<(String, ChildRow)>, sqlx::Error> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, doc, generation, version FROM children WHERE id = ANY($1::TEXT[])",
        )
        .bind(ids)
        .fetch_all(&mut *self.0)
        .await?;
        Ok(ChildRow::keyed(rows))
    }

    async fn put_children(
        &mut self,
        rows: &[(&str, &ChildRow)],
        now_us: i64,
    ) -> Result<(), sqlx::Error> {
        let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
        let generations: Vec<i64> = rows.iter().map(|(_, row)| row.generation).collect();
        let versions: Vec<i64> = rows.iter().map(|(_, row)| row.version).collect();
        let docs: Vec<&str> = rows.iter().map(|(_, row)| row.doc.as_str()).collect();
        sqlx::query(
            "INSERT INTO children (id, generation, version, doc, updated_at_us) \
             SELECT u.id, u.generation, u.version, u.doc, $5 \
             FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[]) \
             AS u(id, generation, version, doc) \
             ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, \
             version = excluded.version, doc = excluded.doc, \
             updated_at_us = excluded.updated_at_us",
        )
        .bind(&ids)
        .bind(&generations)
        .bind(&versions)
        .bind(&docs)
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
        let column = |f: fn(&LedgerEntry) -> Option<&str>| -> Vec<Option<&str>> {
            entries.iter().map(f).collect()
        };
        let ids: Vec<i64> = entries.iter().map(|entry| entry.id).collect();
        let seqs: Vec<Option<i64>> = entries
            .iter()
            .map(|entry| chained.then_some(entry.seq))
            .collect();
        let ats: Vec<i64> = entries.iter().map(|entry| entry.at_us).collect();
        let children = column(|entry| entry.child_id.as_deref());
        let kinds = column(|entry| Some(entry.kind.as_str()));
        let payloads = column(|entry| Some(entry.payload.as_str()));
        let payload_hashes = column(|entry| Some(entry.payload_hash.as_str()));
        let (prevs, hashes) = if chained {
            (
                column(|entry| Some(entry.prev_hash.as_str())),
                column(|entry| Some(entry.entry_hash.as_str())),
            )
        } else {
            (vec![None; entries.len()], vec![None; entries.len()])
        };
        let erased: Vec<bool> = entries.iter().map(|entry| entry.erased).collect();
        sqlx::query(
            "INSERT INTO ledger (id, seq, at_us, child_id, kind, payload, payload_hash, \
             prev_hash, entry_hash, erased) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], \
             $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::BOOLEAN[])",
        )
        .bind(&ids)
        .bind(&seqs)
        .bind(&ats)
        .bind(&children)
        .bind(&kinds)
        .bind(&payloads)
        .bind(&payload_hashes)
        .bind(&prevs)
        .bind(&hashes)
        .bind(&erased)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// One notice per child, as [`crate::tx::child_notice`] words it, delivered on commit.
    async fn notify_children(&mut self, ids: &[&str]) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify('ward', 'child:' || id) FROM UNNEST($1::TEXT[]) AS id")
            .bind(ids)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn run(&mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        sqlx::Executor::execute(&mut *self.0, statement).await?;
        Ok(())
    }

    async fn commit_group(self, _writes: u64) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}
