//! `ward-store`: what ward keeps, and the proof of it.
//!
//! One storage contract, [`Store`], with two backends: SQLite (the default, one file, no
//! set-up) and PostgreSQL (several `ward serve` nodes on one database). [`AnyStore`] picks one
//! from a URL. Both run the same migrations on start and pass the same test story.
//!
//! A child is stored as a [`ChildDocument`] (settings keyed by id, so it outlives policy
//! changes). Every change to a child goes through [`Store::write_child`]: the child is locked,
//! a pure closure (the core's state machine) decides what changes, and the new document, the
//! rows it touches and its events in the [ledger](ledger) are written in one transaction.
//! Nothing is acknowledged before that transaction is durably committed.
//!
//! Not for deciding anything: no rule of the Code lives here. Not a cache: `ward-server` keeps
//! the hot-path state in memory and uses [`Store::subscribe`] to hear of other nodes' changes.

pub mod checkpoint;
mod group;
pub mod ledger;
mod migrations;
mod postgres;
mod sql;
mod sqlite;
pub mod test_support;
mod tx;

use std::future::Future;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use ward_core::document::ChildDocument;
use ward_core::ids::{ChildId, ParentId};
use ward_core::settings::Intervention;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use group::GroupHold;
pub use ledger::{LedgerEntry, LedgerEvent, Verification};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Why the store could not do what was asked. Details are for logs, not for API clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back.
    #[error("stored {what} `{id}` is unreadable: {reason}")]
    Corrupt {
        /// What kind of row.
        what: &'static str,
        /// Its id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The database URL is not one ward can use.
    #[error(
        "`{0}` is not a database ward can use: give a SQLite file path (or `sqlite://PATH`) or a `postgres://` URL"
    )]
    BadUrl(String),
    /// The database server is known to be down (PostgreSQL: its change feed lost the
    /// connection and the server does not answer), so nothing was tried.
    #[error("the database server does not answer; refused without trying")]
    Down,
}

impl StoreError {
    /// True when the database could not be reached (as opposed to refusing a statement):
    /// worth a 503 and a retry rather than a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Down => true,
            Self::Database(error) => unavailable(error),
            _ => false,
        }
    }
}

/// True for the errors a database that is down, restarting or out of connections gives:
/// no connection in time, a broken socket, and PostgreSQL's connection-exception class
/// (`08…`), shutdown and start-up (`57P01`-`57P03`) and too many connections (`53300`).
pub(crate) fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// How a store uses its database's connections. The defaults suit most services; a busy
/// PostgreSQL node may want more connections (`ward serve --database-connections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// The most connections a node opens to PostgreSQL for requests (the change feed has
    /// one of its own beside them). SQLite ignores it: one writer, four readers.
    pub max_connections: u32,
    /// How long a request waits for a connection (or for a new one to open) before it is
    /// answered 503 `unavailable`. sqlx's own default is 30 s, long enough for every client
    /// to give up first; a PostgreSQL server known to be down is refused at once without it.
    pub acquire_timeout: std::time::Duration,
}

impl PoolSettings {
    /// The default pool size.
    pub const MAX_CONNECTIONS: u32 = 16;
    /// The default wait for a connection.
    pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: Self::MAX_CONNECTIONS,
            acquire_timeout: Self::ACQUIRE_TIMEOUT,
        }
    }
}

/// The result of a write whose closure may refuse: the closure's own error, or the store's.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    /// The closure refused; nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// The store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A child as stored: the document, the policy generation it follows, and a version that
/// grows by one with every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChild {
    /// The child.
    pub document: ChildDocument,
    /// The policy generation whose settings the document holds.
    pub generation: i64,
    /// Writes so far.
    pub version: i64,
}

/// Where a parental consent request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for a linked parent.
    Pending,
    /// A parent approved.
    Approved,
    /// A parent denied.
    Denied,
    /// Nobody answered in time.
    Expired,
    /// The child switched the setting off first, or the policy changed under it.
    Withdrawn,
}

impl RequestStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Withdrawn => "withdrawn",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Denied,
            Self::Expired,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// A consent request as stored: the core's request, whose it is, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRow {
    /// The child.
    pub child: ChildId,
    /// Where it stands.
    pub status: RequestStatus,
    /// Who answered it (a parent id), when answered.
    pub answered_by: Option<String>,
    /// The request as the core made it.
    pub request: ward_core::settings::ConsentRequest,
}

/// A child's report as the moderators' list holds it: the core's report and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The child.
    pub child: ChildId,
    /// The report as the core made it (and as it stands).
    pub report: ward_core::feedback::Report,
}

/// An alert raised by one of a write's events.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Index of the causing event in [`ChildWrite::events`]; its ledger sequence number
    /// becomes the alert's id.
    pub event: usize,
    /// Its kind (`consent_requested`, …).
    pub kind: String,
    /// The parents it goes to; every live webhook gets it too.
    pub parents: Vec<String>,
    /// What is delivered; the store adds `"id"` (`ward-<seq>`) and `"seq"`.
    pub body: serde_json::Value,
    /// What the parents get instead of `body`, when they may see less than the service (a
    /// report: that one was made, not what); `None` sends them `body`.
    pub parent_body: Option<serde_json::Value>,
}

/// A stored alert, as a parent's stream sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    /// The ledger sequence number of its cause: the stream's event id.
    pub seq: i64,
    /// Its kind.
    pub kind: String,
    /// The JSON delivered.
    pub body: String,
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Its id.
    pub id: String,
    /// Where alerts are POSTed.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was disabled.
    pub disabled_at: Option<Timestamp>,
}

/// An alert waiting to be delivered to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The endpoint.
    pub webhook_id: String,
    /// The alert (its cause's ledger sequence number).
    pub seq: i64,
    /// The JSON to POST.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is due, Unix microseconds (also the claim token: see `claim_delivery`).
    pub next_attempt_at_us: i64,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's signing secret.
    pub secret: String,
}

/// One delivery attempt, for the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// The endpoint.
    pub webhook_id: String,
    /// The alert.
    pub seq: i64,
    /// Which attempt, from 1.
    pub attempt: i64,
    /// When.
    pub at: Timestamp,
    /// The HTTP status, if the endpoint answered.
    pub status: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// The endpoint accepted it (2xx).
    pub delivered: bool,
}

/// Everything one child write changes, beside the child's document.
#[derive(Debug, Default)]
pub struct ChildWrite {
    /// The new document; `None` leaves the stored one as it is.
    pub document: Option<ChildDocument>,
    /// Events for the ledger, in order.
    pub events: Vec<LedgerEvent>,
    /// Interventions shown (kept until they expire, to be acknowledged by id).
    pub interventions: Vec<Intervention>,
    /// Consent requests created or moved on.
    pub requests: Vec<RequestRow>,
    /// Alerts the events raise (written, with their deliveries, in the same transaction).
    pub alerts: Vec<NewAlert>,
    /// Reports made or moved on (the moderators' list).
    pub reports: Vec<ReportRow>,
}

impl ChildWrite {
    /// True when nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.document.is_none()
            && self.events.is_empty()
            && self.interventions.is_empty()
            && self.requests.is_empty()
    }
}

/// What erasing a child did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// Ledger entries blanked.
    pub entries_blanked: u64,
}

/// An API key as stored: never the token, only the SHA-256 of its secret part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The public part of the token, which names the key in logs and listings.
    pub id: String,
    /// SHA-256 of the secret part, hex.
    pub secret_hash: String,
    /// The scope as written (`decide`, `admin`, `parent:<id>`).
    pub scope: String,
    /// What the operator called it.
    pub label: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// A policy as loaded: a generation number that grows with each distinct policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Its generation.
    pub generation: i64,
    /// SHA-256 of its source, hex.
    pub hash: String,
    /// The `ward.toml` text.
    pub source: String,
    /// When it was first loaded.
    pub loaded_at: Timestamp,
}

/// Something another node changed, heard through [`Store::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A child changed (or was erased).
    Child(String),
    /// API keys changed.
    Keys,
    /// A new policy generation was stored.
    Policy(i64),
    /// New alerts for this parent.
    Alerts(String),
    /// New webhook deliveries are due.
    Outbox,
    /// The feed dropped: changes may go unheard until [`Change::Resumed`].
    Lost,
    /// Listening again after [`Change::Lost`], or a notice this node cannot read (from a
    /// newer ward, say): anything may have changed meanwhile.
    Resumed,
}

/// What ward keeps, whichever database keeps it.
///
/// Every method that writes commits durably before it returns `Ok`. Every write that changes
/// a child takes that child's lock for the whole transaction, so two nodes never interleave
/// changes to one child; no lock shared by every writer is held across a commit, and the
/// ledger is chained in commit batches (see [`ledger`]).
pub trait Store: Send + Sync + 'static {
    /// Runs pending migrations (also done by `open`).
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The stored child, if any.
    fn child(
        &self,
        id: &ChildId,
    ) -> impl Future<Output = Result<Option<StoredChild>, StoreError>> + Send;

    /// Ids of children whose documents follow a policy generation other than `generation`,
    /// at most `limit` of them.
    fn children_not_at(
        &self,
        generation: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ChildId>, StoreError>> + Send;

    /// Locks the child, shows `decide` the stored child (or `None`), and writes what it
    /// returns in one transaction stamped with `generation`. A refusal writes nothing.
    fn write_child<T, E, F>(
        &self,
        id: &ChildId,
        generation: i64,
        decide: F,
    ) -> impl Future<Output = Result<T, WriteError<E>>> + Send
    where
        T: Send,
        E: Send,
        F: FnOnce(Option<StoredChild>) -> Result<(ChildWrite, T), E> + Send;

    /// Erases a child: their document, interventions and requests go, their ledger entries
    /// are blanked (keeping the hashes), and a `child_erased` entry lists what was blanked.
    /// `None` when there was nothing stored about them.
    fn erase_child(
        &self,
        id: &ChildId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Erasure>, StoreError>> + Send;

    /// An intervention by id.
    fn intervention(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Intervention>, StoreError>> + Send;

    /// A consent request by id.
    fn request(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<RequestRow>, StoreError>> + Send;

    /// A child's consent requests, newest first.
    fn requests_of(
        &self,
        child: &ChildId,
    ) -> impl Future<Output = Result<Vec<RequestRow>, StoreError>> + Send;

    /// Pending requests whose expiry is at or before `now`, oldest first, at most `limit`.
    fn expired_requests(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<RequestRow>, StoreError>> + Send;

    /// A report by id.
    fn report(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ReportRow>, StoreError>> + Send;

    /// Reports, newest first, at most `limit`: those with `status` (`open`, `acknowledged`,
    /// `resolved`), or all.
    fn reports(
        &self,
        status: Option<ward_core::feedback::ReportStatus>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ReportRow>, StoreError>> + Send;

    /// Open reports due at or before `now` whose overdue alert is not raised yet, oldest
    /// first, at most `limit`.
    fn overdue_reports(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ReportRow>, StoreError>> + Send;

    /// Drops interventions that expired before `now`; returns how many.
    fn prune_interventions(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends events about no child (policy loads, keys).
    fn append(
        &self,
        events: Vec<LedgerEvent>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A child's ledger entries, in order.
    fn ledger_of(
        &self,
        child: &ChildId,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// Ledger entries with a sequence number above `after_seq`, in order, at most `limit` of
    /// them: the whole ledger read page by page (`after_seq` = the last one read, from 0).
    /// Read-only; entries are returned as stored, erased ones included.
    fn ledger_entries(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// Verifies the whole ledger, naming the first bad entry. Everything committed before
    /// the call is chained first, so it is all verified.
    fn verify_ledger(&self) -> impl Future<Output = Result<Verification, StoreError>> + Send;

    /// [`Store::verify_ledger`], also holding the chain to a checkpoint (whose signature the
    /// caller has checked): a ledger that no longer reaches the checkpoint's size, or whose
    /// entry there has another hash, is named.
    fn verify_ledger_against(
        &self,
        checkpoint: &Checkpoint,
    ) -> impl Future<Output = Result<Verification, StoreError>> + Send;

    /// Chains every entry committed and not yet chained; returns how many. (SQLite chains as
    /// it writes: always 0.)
    fn chain_ledger(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The sequencer (PostgreSQL): runs for as long as it is polled, chaining entries within
    /// milliseconds of their commit while this node leads, and taking the lead when no node
    /// has it. One node leads at a time. Returns at once on SQLite.
    fn run_sequencer(&self) -> impl Future<Output = ()> + Send;

    /// A checkpoint of the head as it is once everything committed is chained, signed with
    /// the database's checkpoint key (made on first use).
    fn checkpoint(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<Checkpoint, StoreError>> + Send;

    /// The public key checkpoints are signed with, hex; `None` before the first checkpoint.
    fn checkpoint_public_key(
        &self,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores a new key.
    fn create_key(&self, key: KeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every key, revoked ones included, oldest first.
    fn keys(&self) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send;

    /// Revokes a key; false when there is no such key or it was already revoked.
    fn revoke_key(
        &self,
        id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A number that changes whenever any key is created or revoked (by any process).
    fn keys_version(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The newest policy generation.
    fn current_policy(
        &self,
    ) -> impl Future<Output = Result<Option<PolicyRecord>, StoreError>> + Send;

    /// A policy generation.
    fn policy(
        &self,
        generation: i64,
    ) -> impl Future<Output = Result<Option<PolicyRecord>, StoreError>> + Send;

    /// Stores `source` as the newest generation unless it already is, with a ledger event
    /// built by `event` from the new generation. Returns the record and whether it was new.
    fn put_policy(
        &self,
        source: &str,
        now: Timestamp,
        event: impl FnOnce(i64) -> LedgerEvent + Send,
    ) -> impl Future<Output = Result<(PolicyRecord, bool), StoreError>> + Send;

    /// Changes made through other nodes, as they happen. SQLite has one node and no feed:
    /// it returns `None`.
    fn subscribe(
        &self,
    ) -> impl Future<Output = Result<Option<tokio::sync::mpsc::Receiver<Change>>, StoreError>> + Send;

    // Alerts and webhooks.

    /// A parent's alerts after `after` (a sequence number), oldest first, at most `limit`.
    fn alerts_since(
        &self,
        parent: &str,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, StoreError>> + Send;

    /// Stores a webhook endpoint.
    fn create_webhook(
        &self,
        webhook: WebhookRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every endpoint, disabled ones included.
    fn webhooks(&self) -> impl Future<Output = Result<Vec<WebhookRecord>, StoreError>> + Send;

    /// Disables an endpoint (its undelivered alerts stay, undelivered); false if none live.
    fn disable_webhook(
        &self,
        id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Undelivered alerts due at `now` for live endpoints, oldest first.
    fn due_deliveries(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxItem>, StoreError>> + Send;

    /// Claims an item for one attempt by moving its due time to `lease_until`, only if no one
    /// else has since (its due time is still `seen`). False: another worker has it.
    fn claim_delivery(
        &self,
        item: &OutboxItem,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records an attempt: delivered, or due again at `next_attempt`.
    fn record_delivery(
        &self,
        item: &OutboxItem,
        attempt: DeliveryRecord,
        next_attempt: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The latest delivery attempts, newest first.
    fn deliveries(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<DeliveryRecord>, StoreError>> + Send;

    /// A child's stored drift state (JSON), if any.
    fn drift(&self, child: &str)
    -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores drift states `(child, JSON)` in one transaction.
    fn put_drifts(
        &self,
        drifts: Vec<(String, String)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A child's stored drift state (JSON) and its version (which every write moves on).
    fn drift_at(
        &self,
        child: &str,
    ) -> impl Future<Output = Result<Option<(i64, String)>, StoreError>> + Send;

    /// Stores a child's drift state only over the version it was read at (`0`: none was
    /// stored); false, and nothing written, when another write came first. The new version is
    /// `read_at + 1`.
    fn put_drift_at(
        &self,
        child: &str,
        doc: &str,
        read_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // Pages: links and sessions

    /// Ids of the children whose stored documents list `parent`, in id order (the
    /// `parent_links` index, kept in step with the documents by [`Store::write_child`]).
    fn children_of(
        &self,
        parent: &ParentId,
    ) -> impl Future<Output = Result<Vec<ChildId>, StoreError>> + Send;

    /// Stores a new one-time link.
    fn create_page_link(
        &self,
        link: PageLinkRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A link by the hash of its token, used or not, expired or not.
    fn page_link(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<PageLinkRecord>, StoreError>> + Send;

    /// Uses a link: if it is unused and not expired at `now`, marks it used and starts
    /// `session` for the link's kind and subject, in one transaction (two tabs racing for one
    /// link get one session between them). Otherwise says why not and writes nothing.
    fn redeem_page_link(
        &self,
        token_hash: &str,
        session: NewPageSession,
        now: Timestamp,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;

    /// A session by the hash of its token, if it is still live at `now`.
    fn page_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<PageSessionRecord>, StoreError>> + Send;

    /// Ends a session; false when there was none.
    fn end_page_session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Drops sessions that expired before `now` and links that expired more than
    /// [`PAGE_LINK_KEPT`] before it (kept that long so a reused link is told apart from a
    /// mistyped one); returns how many rows went.
    fn prune_pages(&self, now: Timestamp) -> impl Future<Output = Result<u64, StoreError>> + Send;

    // Pages: recent alerts

    /// A parent's latest `limit` alerts, newest first (the dashboard's list on load; the
    /// stream carries on after the newest).
    fn latest_alerts(
        &self,
        parent: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, StoreError>> + Send;
}

/// A store on either backend, chosen by URL.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// An embedded SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens (creating a SQLite file if needed) and migrates. `url` is a `postgres://` or
    /// `postgresql://` URL, a `sqlite://PATH` URL or a plain file path.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, PoolSettings::default()).await
    }

    /// [`AnyStore::open`] with these pool settings.
    pub async fn open_with(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(PostgresStore::connect_with(url, settings).await?)
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| (!url.contains("://") && !url.is_empty()).then_some(url))
        {
            Self::Sqlite(SqliteStore::open_with(std::path::Path::new(path), settings).await?)
        } else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The backend's name, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Forwards each `Store` method to the backend in use.
macro_rules! forward {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(store) => store.$method($($arg),*).await,
            AnyStore::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        forward!(self.migrate())
    }

    async fn child(&self, id: &ChildId) -> Result<Option<StoredChild>, StoreError> {
        forward!(self.child(id))
    }

    async fn children_not_at(
        &self,
        generation: i64,
        limit: i64,
    ) -> Result<Vec<ChildId>, StoreError> {
        forward!(self.children_not_at(generation, limit))
    }

    async fn write_child<T, E, F>(
        &self,
        id: &ChildId,
        generation: i64,
        decide: F,
    ) -> Result<T, WriteError<E>>
    where
        T: Send,
        E: Send,
        F: FnOnce(Option<StoredChild>) -> Result<(ChildWrite, T), E> + Send,
    {
        forward!(self.write_child(id, generation, decide))
    }

    async fn erase_child(
        &self,
        id: &ChildId,
        now: Timestamp,
    ) -> Result<Option<Erasure>, StoreError> {
        forward!(self.erase_child(id, now))
    }

    async fn intervention(&self, id: &str) -> Result<Option<Intervention>, StoreError> {
        forward!(self.intervention(id))
    }

    async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
        forward!(self.request(id))
    }

    async fn requests_of(&self, child: &ChildId) -> Result<Vec<RequestRow>, StoreError> {
        forward!(self.requests_of(child))
    }

    async fn expired_requests(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        forward!(self.expired_requests(now, limit))
    }

    async fn report(&self, id: &str) -> Result<Option<ReportRow>, StoreError> {
        forward!(self.report(id))
    }

    async fn reports(
        &self,
        status: Option<ward_core::feedback::ReportStatus>,
        limit: i64,
    ) -> Result<Vec<ReportRow>, StoreError> {
        forward!(self.reports(status, limit))
    }

    async fn overdue_reports(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<ReportRow>, StoreError> {
        forward!(self.overdue_reports(now, limit))
    }

    async fn prune_interventions(&self, now: Timestamp) -> Result<u64, StoreError> {
        forward!(self.prune_interventions(now))
    }

    async fn append(&self, events: Vec<LedgerEvent>) -> Result<(), StoreError> {
        forward!(self.append(events))
    }

    async fn ledger_of(&self, child: &ChildId) -> Result<Vec<LedgerEntry>, StoreError> {
        forward!(self.ledger_of(child))
    }

    async fn ledger_entries(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        forward!(self.ledger_entries(after_seq, limit))
    }

    async fn verify_ledger(&self) -> Result<Verification, StoreError> {
        forward!(self.verify_ledger())
    }

    async fn verify_ledger_against(
        &self,
        checkpoint: &Checkpoint,
    ) -> Result<Verification, StoreError> {
        forward!(self.verify_ledger_against(checkpoint))
    }

    async fn chain_ledger(&self) -> Result<u64, StoreError> {
        forward!(self.chain_ledger())
    }

    async fn run_sequencer(&self) {
        forward!(self.run_sequencer())
    }

    async fn checkpoint(&self, now: Timestamp) -> Result<Checkpoint, StoreError> {
        forward!(self.checkpoint(now))
    }

    async fn checkpoint_public_key(&self) -> Result<Option<String>, StoreError> {
        forward!(self.checkpoint_public_key())
    }

    async fn create_key(&self, key: KeyRecord) -> Result<(), StoreError> {
        forward!(self.create_key(key))
    }

    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        forward!(self.keys())
    }

    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        forward!(self.revoke_key(id, now))
    }

    async fn keys_version(&self) -> Result<i64, StoreError> {
        forward!(self.keys_version())
    }

    async fn current_policy(&self) -> Result<Option<PolicyRecord>, StoreError> {
        forward!(self.current_policy())
    }

    async fn policy(&self, generation: i64) -> Result<Option<PolicyRecord>, StoreError> {
        forward!(self.policy(generation))
    }

    async fn put_policy(
        &self,
        source: &str,
        now: Timestamp,
        event: impl FnOnce(i64) -> LedgerEvent + Send,
    ) -> Result<(PolicyRecord, bool), StoreError> {
        forward!(self.put_policy(source, now, event))
    }

    async fn subscribe(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Change>>, StoreError> {
        forward!(self.subscribe())
    }

    async fn alerts_since(
        &self,
        parent: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        forward!(self.alerts_since(parent, after, limit))
    }

    async fn create_webhook(&self, webhook: WebhookRecord) -> Result<(), StoreError> {
        forward!(self.create_webhook(webhook))
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        forward!(self.webhooks())
    }

    async fn disable_webhook(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        forward!(self.disable_webhook(id, now))
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        forward!(self.due_deliveries(now, limit))
    }

    async fn claim_delivery(
        &self,
        item: &OutboxItem,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self.claim_delivery(item, lease_until))
    }

    async fn record_delivery(
        &self,
        item: &OutboxItem,
        attempt: DeliveryRecord,
        next_attempt: Timestamp,
    ) -> Result<(), StoreError> {
        forward!(self.record_delivery(item, attempt, next_attempt))
    }

    async fn deliveries(&self, limit: i64) -> Result<Vec<DeliveryRecord>, StoreError> {
        forward!(self.deliveries(limit))
    }

    async fn drift(&self, child: &str) -> Result<Option<String>, StoreError> {
        forward!(self.drift(child))
    }

    async fn put_drifts(&self, drifts: Vec<(String, String)>) -> Result<(), StoreError> {
        forward!(self.put_drifts(drifts))
    }

    async fn drift_at(&self, child: &str) -> Result<Option<(i64, String)>, StoreError> {
        forward!(self.drift_at(child))
    }

    async fn put_drift_at(&self, child: &str, doc: &str, read_at: i64) -> Result<bool, StoreError> {
        forward!(self.put_drift_at(child, doc, read_at))
    }

    // Pages: links and sessions

    async fn children_of(&self, parent: &ParentId) -> Result<Vec<ChildId>, StoreError> {
        forward!(self.children_of(parent))
    }

    async fn create_page_link(&self, link: PageLinkRecord) -> Result<(), StoreError> {
        forward!(self.create_page_link(link))
    }

    async fn page_link(&self, token_hash: &str) -> Result<Option<PageLinkRecord>, StoreError> {
        forward!(self.page_link(token_hash))
    }

    async fn redeem_page_link(
        &self,
        token_hash: &str,
        session: NewPageSession,
        now: Timestamp,
    ) -> Result<Redemption, StoreError> {
        forward!(self.redeem_page_link(token_hash, session, now))
    }

    async fn page_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PageSessionRecord>, StoreError> {
        forward!(self.page_session(token_hash, now))
    }

    async fn end_page_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        forward!(self.end_page_session(token_hash))
    }

    async fn prune_pages(&self, now: Timestamp) -> Result<u64, StoreError> {
        forward!(self.prune_pages(now))
    }

    // Pages: recent alerts

    async fn latest_alerts(
        &self,
        parent: &str,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        forward!(self.latest_alerts(parent, limit))
    }
}

// Pages: links and sessions

/// How long a link is kept after it expires, so that reusing it is answered "used" or
/// "expired" rather than "unknown".
pub const PAGE_LINK_KEPT: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Which page a link or session opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// A child's privacy page; the subject is the child's id.
    Child,
    /// A parent's dashboard; the subject is the parent's id.
    Parent,
}

impl PageKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Child => "child",
            Self::Parent => "parent",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::Child, Self::Parent]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A one-time link as stored: never the token, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLinkRecord {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Which page it opens.
    pub kind: PageKind,
    /// Whose page: a child's or a parent's id.
    pub subject: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// After this it opens nothing.
    pub expires_at: Timestamp,
    /// When it was used (it opens nothing after that either).
    pub used_at: Option<Timestamp>,
}

/// A page session as stored: never the cookie's token, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSessionRecord {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Which page it is for.
    pub kind: PageKind,
    /// Whose: a child's or a parent's id.
    pub subject: String,
    /// When it started.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// The session a redeemed link starts (its kind and subject are the link's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPageSession {
    /// SHA-256 of the new session's token, hex.
    pub token_hash: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// What redeeming a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// The link was good: this session started.
    Redeemed(PageSessionRecord),
    /// No such link (never made, mistyped, or pruned long after it expired).
    Unknown,
    /// The link was used before.
    Used,
    /// The link expired unused.
    Expired,
}
