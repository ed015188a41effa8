//! The server's shared state and its life: the store, the policy in force (and the older
//! generations children may still be stored under), the key table, the hot-path cache, the
//! clock, and the background tasks that keep them true — the change feed from other nodes,
//! the key poller, the sweeper that expires consent requests, and the migration of stored
//! children to a new policy.
//!
//! Not for HTTP: handlers live in `routes`; they call what is here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use jiff::Timestamp;
use serde::Serialize;
use ward_core::compiled::CompiledPolicy;
use ward_core::feed::FeedPolicy;
use ward_core::ids::ChildId;
use ward_core::lint::Severity;
use ward_core::policy::Policy;
use ward_core::report::CheckReport;
use ward_core::settings::Child;
use ward_core::signals::SignalsPolicy;
use ward_store::{AnyStore, Change, LedgerEvent, Store};

use crate::auth::KeyTable;
use crate::cache::{ChildCache, HotChild};
use crate::clock::Clock;
use crate::drift::DriftCache;
use crate::error::{ApiError, Code};
use crate::listener::ListenerConfig;
use crate::metrics::Metrics;

/// The policy in force.
#[derive(Debug)]
pub struct Active {
    /// Its generation in the store.
    pub generation: i64,
    /// SHA-256 of its source.
    pub hash: String,
    /// Compiled for `decide` and the settings flow.
    pub compiled: Arc<CompiledPolicy>,
    /// The state of a child never seen: `unknown`, every setting at its default.
    pub defaults: Arc<HotChild>,
    /// The feed guard's part of the policy, compiled once.
    pub feed: FeedPolicy,
    /// The ad-tech signals' part of the policy, built once.
    pub signals: SignalsPolicy,
}

impl Active {
    fn new(generation: i64, hash: String, compiled: Arc<CompiledPolicy>) -> Self {
        let placeholder = ChildId::parse("new").unwrap_or_else(|_| unreachable_id());
        // The defaults do not depend on the time: a child without an age record is `unknown`.
        let (child, _) = Child::new(placeholder, &compiled, Timestamp::UNIX_EPOCH);
        // INVARIANT: a policy that loaded has a known time zone (the parser checks it).
        let feed = FeedPolicy::new(compiled.policy()).unwrap_or_default();
        let signals = SignalsPolicy::new(&compiled);
        let defaults = Arc::new(HotChild::of(&child, &compiled));
        Self {
            generation,
            hash,
            compiled,
            defaults,
            feed,
            signals,
        }
    }
}

#[expect(clippy::panic, reason = "`new` is a valid id by construction")]
fn unreachable_id() -> ChildId {
    panic!("`new` stopped being a valid child id")
}

/// How `ward serve` is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `ward.toml` to serve (re-read on reload).
    pub policy_path: PathBuf,
    /// Where the store is.
    pub database_url: String,
    /// Create and print an admin key when the store has none (first start).
    pub bootstrap_key: bool,
    /// How the pages are reached.
    pub pages: PagesConfig,
    /// How the store uses its database's connections.
    pub pool: ward_store::PoolSettings,
    /// Connection limits, timeouts and the shutdown grace (`crate::listener`).
    pub listener: ListenerConfig,
    /// The most memory the hot-path cache of children may take, in bytes
    /// ([`Config::DEFAULT_CACHE_MEMORY`] unless set; at least [`crate::cache::MIN_BUDGET`]).
    pub cache_memory: u64,
}

impl Config {
    /// The cache's budget unless set: 256 MiB, about 600,000 children of ten settings, which
    /// a small machine can spare.
    pub const DEFAULT_CACHE_MEMORY: u64 = 256 << 20;
}

/// How browsers reach the pages.
#[derive(Debug, Clone, Default)]
pub struct PagesConfig {
    /// The address browsers reach ward at (`https://privacy.example.com`), used in the links
    /// the service hands out. Unset: the `Host` of the service's request, over http (for
    /// development; behind a proxy, set it).
    pub public_url: Option<String>,
    /// Mark session cookies `Secure`. Unset: when `public_url` is https.
    pub secure_cookies: Option<bool>,
}

/// The pages' settings, checked and resolved at start.
#[derive(Debug, Clone)]
pub(crate) struct PagesSettings {
    /// `public_url` without a trailing `/`.
    pub(crate) public_url: Option<String>,
    /// Session cookies are `Secure`.
    pub(crate) secure_cookies: bool,
}

impl PagesSettings {
    fn new(config: &PagesConfig) -> Result<Self, StartError> {
        let public_url = match &config.public_url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => return Err(StartError::BadPublicUrl(url.clone())),
            None => None,
        };
        let secure_cookies = config.secure_cookies.unwrap_or_else(|| {
            public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://"))
        });
        Ok(Self {
            public_url,
            secure_cookies,
        })
    }
}

struct Inner {
    store: AnyStore,
    clock: Arc<dyn Clock>,
    active: ArcSwap<Active>,
    /// Compiled policies by generation, for children stored under older ones.
    generations: Mutex<HashMap<i64, Arc<CompiledPolicy>>>,
    cache: ChildCache,
    keys: ArcSwap<KeyTable>,
    metrics: Metrics,
    policy_path: PathBuf,
    /// One reload at a time.
    reload: tokio::sync::Mutex<()>,
    /// Wakes the migration task.
    migrate: tokio::sync::Notify,
    /// Tells parents' alert streams on this node that a parent has new alerts.
    alerts: tokio::sync::broadcast::Sender<String>,
    /// Wakes the webhook delivery worker.
    deliver: tokio::sync::Notify,
    /// Each child's drift state for the feed guard.
    drifts: DriftCache,
    /// The HTTP client webhooks are sent with (one connection pool for all).
    http: reqwest::Client,
    /// When keys were last re-read for an unknown token (Unix milliseconds).
    keys_read_at_ms: std::sync::atomic::AtomicI64,
    /// How the pages are reached.
    pages: PagesSettings,
    /// How connections are served.
    listener: ListenerConfig,
    /// True once the server is shutting down: alert streams end.
    draining: tokio::sync::watch::Sender<bool>,
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.0.store.backend())
            .field("generation", &self.0.active.load().generation)
            .finish_non_exhaustive()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The policy file could not be read.
    #[error("cannot read the policy `{path}`: {error}")]
    ReadPolicy {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The policy has errors (`ward check` shows them).
    #[error("the policy has errors; `ward check {path}` shows them:\n{summary}")]
    PolicyErrors {
        /// The file.
        path: String,
        /// The errors, one per line.
        summary: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ward_store::StoreError),
    /// A key could not be made.
    #[error(transparent)]
    Random(#[from] crate::auth::RandomError),
    /// No policy was ever served from this database.
    #[error("no policy was ever served from `{0}`: run `ward serve --policy ward.toml` once first")]
    NoPolicy(String),
    /// The pages' public URL is not an http(s) URL.
    #[error("`{0}` is not a public URL for the pages: give one starting with https://")]
    BadPublicUrl(String),
}

/// A policy ready to serve, or why not.
pub(crate) struct Loaded {
    pub(crate) compiled: CompiledPolicy,
    pub(crate) warnings: usize,
}

/// Parses, lints and compiles a policy source. A schema error or any lint error refuses it,
/// with the human report and the JSON findings.
pub(crate) fn load_policy(name: &str, source: &str) -> Result<Loaded, (String, serde_json::Value)> {
    let mut report = CheckReport::new(name, source);
    let refused = |report: &CheckReport<'_>| (report.to_human(false), report.to_json());
    if report.count(Severity::Error) > 0 {
        return Err(refused(&report));
    }
    let warnings = report.count(Severity::Warning);
    let Some(policy) = report.policy.take() else {
        return Err(refused(&report));
    };
    let compiled =
        CompiledPolicy::new(policy).map_err(|error| (error.to_string(), report.to_json()))?;
    Ok(Loaded { compiled, warnings })
}

/// What changed between two policies, as logged and returned by a reload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyChanges {
    /// Purposes new in this policy.
    pub added: Vec<String>,
    /// Purposes gone from it (their settings are dropped).
    pub removed: Vec<String>,
    /// Purposes whose category, description, data or lawful basis changed: their consents
    /// are no longer live; children (or parents) are asked again.
    pub reconsent: Vec<String>,
}

impl PolicyChanges {
    fn between(old: &CompiledPolicy, new: &CompiledPolicy) -> Self {
        let mut changes = Self::default();
        for purpose in new.purposes() {
            match old.purpose_idx(purpose.id.as_str()) {
                None => changes.added.push(purpose.id.to_string()),
                Some(idx) if old.purpose(idx).version != purpose.version => {
                    changes.reconsent.push(purpose.id.to_string());
                }
                Some(_) => {}
            }
        }
        for purpose in old.purposes() {
            if new.purpose_idx(purpose.id.as_str()).is_none() {
                changes.removed.push(purpose.id.to_string());
            }
        }
        changes
    }
}

/// The outcome of a reload.
#[derive(Debug, Clone, Serialize)]
pub struct Reloaded {
    /// The generation now in force.
    pub generation: i64,
    /// False when the file had not changed.
    pub changed: bool,
    /// What changed.
    pub changes: PolicyChanges,
    /// Warnings `ward check` reports on it (they do not stop it).
    pub warnings: usize,
}

impl AppState {
    /// Opens the store, loads and checks the policy (refusing one with errors), records it,
    /// and loads the keys. Background tasks start with [`AppState::spawn_tasks`]. With
    /// `bootstrap_key` and no key in the store, an admin key is created and its token
    /// returned (for the caller to show once; it is not logged).
    pub async fn start(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, Option<String>), StartError> {
        let path = config.policy_path.display().to_string();
        let pages = PagesSettings::new(&config.pages)?;
        let source = tokio::fs::read_to_string(&config.policy_path)
            .await
            .map_err(|error| StartError::ReadPolicy {
                path: path.clone(),
                error,
            })?;
        let loaded =
            load_policy(&path, &source).map_err(|(summary, _)| StartError::PolicyErrors {
                path: path.clone(),
                summary,
            })?;
        let store = AnyStore::open_with(&config.database_url, config.pool).await?;
        let now = clock.now();
        let (record, new) = store
            .put_policy(&source, now, |generation| {
                policy_event(now, generation, &PolicyChanges::default())
            })
            .await?;
        let state = Self::assemble(
            store,
            clock,
            &record,
            Arc::new(loaded.compiled),
            config.policy_path.clone(),
            pages,
            config.listener,
            config.cache_memory,
        )
        .await?;
        tracing::info!(
            backend = state.0.store.backend(),
            generation = record.generation,
            new_generation = new,
            warnings = loaded.warnings,
            "policy loaded"
        );
        let mut bootstrap = None;
        if config.bootstrap_key && state.0.keys.load().is_empty() {
            let key = crate::auth::generate(&crate::auth::Scope::Admin, "bootstrap", now)?;
            tracing::warn!(key = %key.record.id, "no API keys existed: created an admin key");
            state.0.store.create_key(key.record).await?;
            state.refresh_keys().await?;
            bootstrap = Some(key.token);
        }
        Ok((state, bootstrap))
    }

    /// The state over an open store and a policy already recorded in it.
    #[expect(
        clippy::too_many_arguments,
        reason = "each is a separate part of the state, given once at start"
    )]
    async fn assemble(
        store: AnyStore,
        clock: Arc<dyn Clock>,
        record: &ward_store::PolicyRecord,
        compiled: Arc<CompiledPolicy>,
        policy_path: PathBuf,
        pages: PagesSettings,
        listener: ListenerConfig,
        cache_memory: u64,
    ) -> Result<Self, StartError> {
        let keys = KeyTable::new(store.keys().await?, store.keys_version().await?);
        let active = Active::new(record.generation, record.hash.clone(), compiled.clone());
        let metrics = Metrics::default();
        let shared_drift = matches!(store, AnyStore::Postgres(_));
        Ok(Self(Arc::new(Inner {
            store,
            clock,
            active: ArcSwap::from_pointee(active),
            generations: Mutex::new(HashMap::from([(record.generation, compiled)])),
            cache: ChildCache::new(cache_memory, metrics.cache_evictions()),
            keys: ArcSwap::from_pointee(keys),
            metrics,
            policy_path,
            reload: tokio::sync::Mutex::new(()),
            migrate: tokio::sync::Notify::new(),
            alerts: tokio::sync::broadcast::channel(ALERT_FANOUT).0,
            deliver: tokio::sync::Notify::new(),
            // Several nodes may serve a PostgreSQL database: one drift window per child across
            // them. SQLite is one node's own.
            drifts: DriftCache::new(shared_drift),
            http: reqwest::Client::new(),
            keys_read_at_ms: std::sync::atomic::AtomicI64::new(0),
            pages,
            listener,
            draining: tokio::sync::watch::channel(false).0,
        })))
    }

    /// For an operator's command (`ward parents …`): the store at `database_url` on the policy
    /// it last served, with no background tasks and no new policy generation. Fails when no
    /// `ward serve` has ever recorded a policy there.
    pub async fn for_operator(database_url: &str) -> Result<Self, StartError> {
        let store = AnyStore::open(database_url).await?;
        let Some(record) = store.current_policy().await? else {
            return Err(StartError::NoPolicy(database_url.to_owned()));
        };
        let compiled = Policy::parse(&record.source)
            .map_err(|error| error.to_string())
            .and_then(|policy| CompiledPolicy::new(policy).map_err(|error| error.to_string()))
            .map_err(|summary| StartError::PolicyErrors {
                path: format!("the stored policy (generation {})", record.generation),
                summary,
            })?;
        let pages = PagesSettings::new(&PagesConfig::default())?;
        Self::assemble(
            store,
            Arc::new(crate::clock::SystemClock),
            &record,
            Arc::new(compiled),
            PathBuf::new(),
            pages,
            ListenerConfig::default(),
            crate::cache::MIN_BUDGET,
        )
        .await
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.0.store
    }

    /// Now, by the server's clock.
    pub fn now(&self) -> Timestamp {
        self.0.clock.now()
    }

    /// The policy in force.
    pub fn active(&self) -> Arc<Active> {
        self.0.active.load_full()
    }

    /// The hot-path cache.
    pub fn cache(&self) -> &ChildCache {
        &self.0.cache
    }

    /// The key table.
    pub fn keys(&self) -> arc_swap::Guard<Arc<KeyTable>> {
        self.0.keys.load()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The client webhooks go out with.
    pub(crate) fn http_client(&self) -> &reqwest::Client {
        &self.0.http
    }

    /// Drift states for the feed guard.
    pub fn drifts(&self) -> &DriftCache {
        &self.0.drifts
    }

    /// Listens for "this parent has new alerts" on this node.
    pub fn alert_wakeups(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.0.alerts.subscribe()
    }

    /// After a commit that wrote alerts: wakes this node's streams for those parents and the
    /// delivery worker.
    pub(crate) fn alerts_written(&self, parents: impl IntoIterator<Item = String>) {
        for parent in parents {
            // No stream listening is fine: the alert is stored and waits for a connection.
            let _ = self.0.alerts.send(parent);
        }
        self.0.deliver.notify_one();
    }

    /// How the pages are reached.
    pub(crate) fn pages(&self) -> &PagesSettings {
        &self.0.pages
    }

    /// How connections are served.
    pub(crate) fn listener_config(&self) -> &ListenerConfig {
        &self.0.listener
    }

    /// Shutdown has begun: alert streams end, so their clients reconnect (elsewhere, or to
    /// the restarted server) with `Last-Event-ID`.
    pub(crate) fn begin_draining(&self) {
        self.0.draining.send_replace(true);
    }

    /// Turns true when shutdown begins.
    pub(crate) fn draining(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.draining.subscribe()
    }

    /// Re-reads the keys if nobody did in the last quarter second; true if it did. For a
    /// token whose key is not in the table: it may have been made by another process.
    pub(crate) async fn refresh_keys_now_and_then(&self) -> bool {
        let now_ms = Timestamp::now().as_millisecond();
        let last = self
            .0
            .keys_read_at_ms
            .load(std::sync::atomic::Ordering::Acquire);
        if now_ms - last < 250
            || self
                .0
                .keys_read_at_ms
                .compare_exchange(
                    last,
                    now_ms,
                    std::sync::atomic::Ordering::AcqRel,
                    std::sync::atomic::Ordering::Acquire,
                )
                .is_err()
        {
            return false;
        }
        self.refresh_keys().await.is_ok()
    }

    /// Re-reads every key.
    pub async fn refresh_keys(&self) -> Result<(), ward_store::StoreError> {
        let version = self.0.store.keys_version().await?;
        let keys = self.0.store.keys().await?;
        self.0.keys.store(Arc::new(KeyTable::new(keys, version)));
        Ok(())
    }

    /// The compiled policy of `generation`, from memory or the store. `None` when the store
    /// has no such generation or it no longer compiles.
    pub(crate) async fn generation(
        &self,
        generation: i64,
    ) -> Result<Option<Arc<CompiledPolicy>>, ApiError> {
        if let Some(compiled) = self.cached_generation(generation) {
            return Ok(Some(compiled));
        }
        let Some(record) = self.0.store.policy(generation).await? else {
            return Ok(None);
        };
        let compiled = match Policy::parse(&record.source).map(CompiledPolicy::new) {
            Ok(Ok(compiled)) => Arc::new(compiled),
            _ => {
                tracing::warn!(generation, "a stored policy no longer compiles");
                return Ok(None);
            }
        };
        if let Ok(mut generations) = self.0.generations.lock() {
            generations.insert(generation, compiled.clone());
        }
        Ok(Some(compiled))
    }

    pub(crate) fn cached_generation(&self, generation: i64) -> Option<Arc<CompiledPolicy>> {
        self.0
            .generations
            .lock()
            .ok()
            .and_then(|generations| generations.get(&generation).cloned())
    }

    fn activate(&self, generation: i64, hash: String, compiled: Arc<CompiledPolicy>) {
        if let Ok(mut generations) = self.0.generations.lock() {
            generations.insert(generation, compiled.clone());
        }
        self.0
            .active
            .store(Arc::new(Active::new(generation, hash, compiled)));
        self.0.cache.clear();
        self.0.migrate.notify_one();
    }

    /// Re-reads the policy file. A policy with errors is refused and the old one keeps
    /// serving; an unchanged file changes nothing; a new one becomes the next generation,
    /// its changes are logged and recorded in the ledger, and stored children are moved to it
    /// in the background (each with its events).
    pub async fn reload(&self) -> Result<Reloaded, ApiError> {
        let _one_at_a_time = self.0.reload.lock().await;
        let path = self.0.policy_path.display().to_string();
        let source = tokio::fs::read_to_string(&self.0.policy_path)
            .await
            .map_err(|error| {
                ApiError::new(
                    Code::PolicyInvalid,
                    format!("cannot read `{path}`: {error}"),
                )
            })?;
        let loaded = load_policy(&path, &source).map_err(|(summary, findings)| {
            tracing::warn!(%summary, "policy reload refused; the old policy keeps serving");
            ApiError::new(
                Code::PolicyInvalid,
                "the new policy has errors and was not loaded; the old one keeps serving",
            )
            .with_details(findings)
        })?;
        let old = self.active();
        let changes = PolicyChanges::between(&old.compiled, &loaded.compiled);
        let now = self.now();
        let (record, new) = self
            .0
            .store
            .put_policy(&source, now, |generation| {
                policy_event(now, generation, &changes)
            })
            .await?;
        if new || record.generation != old.generation {
            self.activate(record.generation, record.hash, Arc::new(loaded.compiled));
            tracing::info!(
                generation = record.generation,
                added = ?changes.added,
                removed = ?changes.removed,
                reconsent = ?changes.reconsent,
                "policy reloaded"
            );
        }
        Ok(Reloaded {
            generation: record.generation,
            changed: new,
            changes,
            warnings: loaded.warnings,
        })
    }

    /// Follows a generation another node stored, if it is newer than ours.
    pub(crate) async fn follow_policy(&self) -> Result<(), ApiError> {
        let Some(record) = self.0.store.current_policy().await? else {
            return Ok(());
        };
        if record.generation <= self.active().generation {
            return Ok(());
        }
        match load_policy("stored policy", &record.source) {
            Ok(loaded) => {
                tracing::info!(
                    generation = record.generation,
                    "following a policy another node loaded"
                );
                self.activate(record.generation, record.hash, Arc::new(loaded.compiled));
            }
            Err((summary, _)) => {
                tracing::error!(generation = record.generation, %summary, "another node stored a policy with errors; not following it");
            }
        }
        Ok(())
    }

    /// Follows the change feed until it ends. While it is lost the cache stays off (so
    /// `decide` reads the database, and fails closed with 503 `unavailable` when that is down
    /// too); once it is back, everything missed is treated as changed: keys and the policy are
    /// read again, and only then does the cache come back on, empty. A resync that fails is
    /// retried every [`RESYNC_RETRY`] while the cache stays off.
    async fn follow_changes(self, mut feed: tokio::sync::mpsc::Receiver<Change>) {
        let mut resync_due = false;
        loop {
            let change = if resync_due {
                match tokio::time::timeout(RESYNC_RETRY, feed.recv()).await {
                    Ok(change) => change,
                    Err(_elapsed) => {
                        resync_due = !self.resync().await;
                        continue;
                    }
                }
            } else {
                feed.recv().await
            };
            match change {
                None => return,
                Some(Change::Resumed) => resync_due = !self.resync().await,
                Some(change @ Change::Lost) => {
                    // A resync under way is moot: another `Resumed` follows this loss.
                    resync_due = false;
                    self.apply_change(change).await;
                }
                Some(change) => self.apply_change(change).await,
            }
        }
    }

    /// Reads again what the change feed may have missed (keys, the policy), then serves
    /// from a fresh cache; false (the cache still off) when the store failed.
    async fn resync(&self) -> bool {
        let result = match self.refresh_keys().await {
            Ok(()) => self.follow_policy().await,
            Err(error) => Err(error.into()),
        };
        match result {
            Ok(()) => {
                self.0.cache.resume();
                // Deliveries other nodes queued meanwhile may have gone unannounced.
                self.0.deliver.notify_one();
                tracing::info!("change feed back: serving from memory again");
                true
            }
            Err(error) => {
                tracing::warn!(message = %error.message, "change feed back, but keys and policy could not be read again; retrying");
                false
            }
        }
    }

    /// Applies one notice from the change feed.
    async fn apply_change(&self, change: Change) {
        let result = match change {
            Change::Child(id) => {
                self.0.cache.invalidate(&id);
                Ok(())
            }
            Change::Keys => self.refresh_keys().await.map_err(ApiError::from),
            Change::Alerts(parent) => {
                let _ = self.0.alerts.send(parent);
                Ok(())
            }
            Change::Outbox => {
                self.0.deliver.notify_one();
                Ok(())
            }
            Change::Policy(_) => self.follow_policy().await,
            Change::Lost => {
                tracing::warn!("change feed lost: serving from the database until it is back");
                self.0.cache.suspend();
                Ok(())
            }
            Change::Resumed => {
                self.resync().await;
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::warn!(message = %error.message, "could not apply a change from another node");
        }
    }

    /// Starts the background tasks; they stop when `shutdown` resolves.
    pub async fn spawn_tasks(&self) -> Result<(), ward_store::StoreError> {
        if let Some(feed) = self.0.store.subscribe().await? {
            tokio::spawn(self.clone().follow_changes(feed));
        }
        // PostgreSQL: chains the ledger while this node leads (returns at once on SQLite).
        let state = self.clone();
        tokio::spawn(async move { state.0.store.run_sequencer().await });
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEY_POLL);
            loop {
                tick.tick().await;
                let seen = state.keys().version;
                match state.0.store.keys_version().await {
                    Ok(version) if version != seen => {
                        if let Err(error) = state.refresh_keys().await {
                            tracing::warn!(%error, "could not refresh keys");
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "could not poll keys"),
                }
            }
        });
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                if let Err(error) = state.sweep().await {
                    tracing::warn!(message = %error.message, "sweep failed");
                }
            }
        });
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                let delivered = crate::webhooks::deliver_due(&state).await;
                if delivered == 0 {
                    // Retries come due with time; new alerts wake the worker at once.
                    let _ = tokio::time::timeout(DELIVERY_POLL, state.0.deliver.notified()).await;
                }
            }
        });
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(DRIFT_FLUSH);
            loop {
                tick.tick().await;
                if let Err(error) = state.0.drifts.flush(state.store()).await {
                    tracing::warn!(%error, "could not store drift states; will retry");
                }
            }
        });
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                match state.migrate_children().await {
                    Ok(moved) => {
                        if moved > 0 {
                            tracing::info!(moved, "children moved to the policy in force");
                        }
                        state.0.migrate.notified().await;
                    }
                    Err(error) => {
                        // Not only at the next policy change: children left behind by an
                        // outage are moved once the database is back.
                        tracing::warn!(message = %error.message, "migration failed; will retry");
                        let _ =
                            tokio::time::timeout(MIGRATE_RETRY, state.0.migrate.notified()).await;
                    }
                }
            }
        });
        Ok(())
    }

    /// Expires consent requests nobody answered in time (their settings go back to off),
    /// drops expired interventions, page sessions and page links, and raises the overdue
    /// alert of reports past `[support] report_sla_hours` (once each). Runs every [`SWEEP_EVERY`]; tests call it directly.
    pub async fn sweep(&self) -> Result<usize, ApiError> {
        let now = self.now();
        let mut expired = 0;
        loop {
            let rows = self.0.store.expired_requests(now, SWEEP_BATCH).await?;
            if rows.is_empty() {
                break;
            }
            let n_rows = rows.len();
            for row in rows {
                // Touching the child lets the core expire what is due (and record it).
                self.touch(&row.child).await?;
                expired += 1;
            }
            if n_rows < SWEEP_BATCH as usize {
                break;
            }
        }
        self.0.store.prune_interventions(now).await?;
        self.0.store.prune_pages(now).await?;
        self.sweep_overdue_reports().await?;
        Ok(expired)
    }

    /// Moves every stored child to the policy in force; returns how many moved.
    pub async fn migrate_children(&self) -> Result<usize, ApiError> {
        let mut moved = 0;
        loop {
            let generation = self.active().generation;
            let ids = self
                .0
                .store
                .children_not_at(generation, MIGRATE_BATCH)
                .await?;
            if ids.is_empty() {
                return Ok(moved);
            }
            for id in ids {
                self.touch(&id).await?;
                moved += 1;
            }
        }
    }
}

fn policy_event(now: Timestamp, generation: i64, changes: &PolicyChanges) -> LedgerEvent {
    LedgerEvent::service(
        now,
        "policy_loaded",
        &serde_json::json!({"generation": generation, "changes": changes}),
    )
}

/// How often keys are re-read when something changed them.
const KEY_POLL: Duration = Duration::from_secs(1);
/// How often expired consent requests are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
const SWEEP_BATCH: i64 = 200;
/// How often the delivery worker looks for retries that came due.
const DELIVERY_POLL: Duration = Duration::from_millis(500);
/// How often changed drift states are written to the store.
const DRIFT_FLUSH: Duration = Duration::from_secs(1);
/// How many "new alerts" wake-ups may queue per stream before it re-reads everything.
const ALERT_FANOUT: usize = 1_024;
const MIGRATE_BATCH: i64 = 200;
/// How soon a migration that failed (the database down, say) is tried again.
const MIGRATE_RETRY: Duration = Duration::from_secs(2);
/// How soon a failed resync after the change feed came back is tried again.
const RESYNC_RETRY: Duration = Duration::from_millis(250);
