//! The subcommands that run or administer the service: `serve`, `migrate`, `keys`, `ledger`.
//! Glue only: each parses its flags (defaults < environment < flags), opens what it needs
//! from `ward-store` / `ward-server`, and prints the outcome.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use ward_core::ids::{ChildId, ParentId};
use ward_server::auth::{Scope, generate};
use ward_server::clock::SystemClock;
use ward_server::{AppState, Config, ListenerConfig, PagesConfig};
use ward_store::{AnyStore, PoolSettings, Store};

/// Where the database is: a SQLite file (created on first use) or a `postgres://` URL.
#[derive(Debug, Clone, Args)]
pub(crate) struct Database {
    /// SQLite file path (or `sqlite://PATH`), or `postgres://…`.
    #[arg(
        long = "database",
        env = "WARD_DATABASE_URL",
        default_value = "ward.db"
    )]
    url: String,
}

/// `ward serve`.
#[derive(Debug, Args)]
pub(crate) struct Serve {
    /// The policy to serve (re-read on SIGHUP or `POST /v1/policy/reload`).
    #[arg(long, env = "WARD_POLICY", default_value = "ward.toml")]
    policy: PathBuf,
    #[command(flatten)]
    database: Database,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "WARD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Log format.
    #[arg(long, env = "WARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Do not create an admin key on first start (when the store has none).
    #[arg(long)]
    no_bootstrap_key: bool,
    /// The address browsers reach ward at, for the pages' links (`https://privacy.example.com`).
    /// Unset: the address the service called ward at, over http (development only).
    #[arg(long, env = "WARD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Mark page session cookies `Secure` (`true` or `false`). Unset: when `--public-url` is
    /// https.
    #[arg(long, env = "WARD_SECURE_COOKIES")]
    secure_cookies: Option<bool>,
    /// The most PostgreSQL connections this node opens for requests (the change feed has one
    /// more of its own). Ignored for SQLite.
    #[arg(long, env = "WARD_DATABASE_CONNECTIONS", default_value_t = PoolSettings::MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    database_connections: u32,
    /// How long, in milliseconds, a request waits for a database connection before it is
    /// answered 503 `unavailable`. A PostgreSQL server known to be down is refused at once.
    #[arg(long, env = "WARD_DATABASE_TIMEOUT_MS", default_value_t = PoolSettings::ACQUIRE_TIMEOUT.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..))]
    database_timeout_ms: u64,
    /// How long a client may take to send a request's line and headers (from the accept
    /// for a connection's first request, from its first byte for later ones); then the
    /// connection is closed. `10s`, `500ms`, `2m`.
    #[arg(long, env = "WARD_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    header_timeout: Duration,
    /// How long a request's body may take to arrive, from its headers; then 408
    /// `request_timeout`.
    #[arg(long, env = "WARD_BODY_TIMEOUT", default_value = "30s", value_parser = duration)]
    body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request (and a response for a
    /// client that stopped reading it); then the connection is closed.
    #[arg(long, env = "WARD_IDLE_TIMEOUT", default_value = "75s", value_parser = duration)]
    idle_timeout: Duration,
    /// Connections open at once; one more is answered 503 `too_many_connections` and closed.
    /// Keep it below the open-file limit (`ulimit -n`), less what the database needs.
    #[arg(long, env = "WARD_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish (alert streams
    /// end at once); then they are dropped and ward exits.
    #[arg(long, env = "WARD_SHUTDOWN_GRACE", default_value = "10s", value_parser = duration)]
    shutdown_grace: Duration,
    /// The most memory the in-memory cache of children may take (`256MiB`, `2GiB`, `500MB`):
    /// past it, the children least likely to be asked for again are dropped and read from the
    /// database when they are. A child of ten settings takes about 430 bytes.
    #[arg(long, env = "WARD_CACHE_MEMORY", default_value = "256MiB", value_parser = bytes)]
    cache_memory: u64,
}

impl Serve {
    /// The connection limits and timeouts given.
    pub(crate) fn listener(&self) -> ListenerConfig {
        ListenerConfig {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections as usize,
            shutdown_grace: self.shutdown_grace,
        }
    }
}

/// `250ms`, `10s`, `2m`, or a bare number of seconds; more than zero.
fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write `10s`, `500ms` or `2m`"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => {
            return Err(format!(
                "`{text}` is not a duration: write `10s`, `500ms` or `2m`"
            ));
        }
    };
    if duration.is_zero() {
        return Err(format!("`{text}` is no time at all: give more than zero"));
    }
    Ok(duration)
}

/// A size in bytes: a number with `B`, `KB`, `MB`, `GB` (powers of 1000) or `KiB`, `MiB`,
/// `GiB` (powers of 1024); at least 1 MiB.
fn bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a size: write `256MiB`, `2GiB` or `500MB`");
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: u64 = number.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim() {
        "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = number.checked_mul(scale).ok_or_else(bad)?;
    if bytes < ward_server::cache::MIN_BUDGET {
        return Err(format!(
            "`{text}` is too small for the cache: give at least 1MiB"
        ));
    }
    Ok(bytes)
}

/// How long the drift states left in memory at shutdown may take to be written.
const LAST_DRIFT_FLUSH: Duration = Duration::from_secs(2);
/// How long tasks still running after the server stopped (background loops, a webhook in
/// the middle of its delivery) may keep the process: they are dropped, and what they were
/// doing is retried by the next start (the outbox, the migration, the sweeper).
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `ward keys …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Keys {
    /// Create a key and print its token (shown once).
    Create {
        /// `decide`, `admin` or `parent:<parent id>`.
        #[arg(long)]
        scope: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        database: Database,
    },
    /// List keys (never their tokens).
    List {
        #[command(flatten)]
        database: Database,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key's id (the part after `ward_` in its token).
        id: String,
        #[command(flatten)]
        database: Database,
    },
}

/// `ward parents …`: what an operator does by hand (the service normally uses the API).
#[derive(Debug, Subcommand)]
pub(crate) enum Parents {
    /// Link a parent to a child: the child is supervised and sees that they are.
    Link {
        /// The child's id.
        child: String,
        /// The parent's id.
        parent: String,
        #[command(flatten)]
        database: Database,
    },
    /// Unlink a parent from a child.
    Unlink {
        /// The child's id.
        child: String,
        /// The parent's id.
        parent: String,
        #[command(flatten)]
        database: Database,
    },
    /// List a child's linked parents.
    List {
        /// The child's id.
        child: String,
        #[command(flatten)]
        database: Database,
    },
}

/// `ward webhooks …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Webhooks {
    /// Register an endpoint; prints its id and signing secret (shown once).
    Create {
        /// Where alerts are POSTed (http or https).
        #[arg(value_name = "URL")]
        endpoint: String,
        #[command(flatten)]
        database: Database,
    },
    /// List endpoints (never their secrets).
    List {
        #[command(flatten)]
        database: Database,
    },
    /// Disable an endpoint.
    Disable {
        /// The endpoint's id.
        id: String,
        #[command(flatten)]
        database: Database,
    },
    /// The latest delivery attempts, newest first.
    Deliveries {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        database: Database,
    },
}

/// `ward ledger …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Ledger {
    /// Verify the hash chain; exit 1 naming the first bad entry.
    Verify {
        /// Also hold the ledger to a checkpoint kept from `ward ledger checkpoint` (or `GET
        /// /v1/ledger/checkpoint`): entries cut off the end, or a ledger rewritten and
        /// re-chained, are named.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        #[command(flatten)]
        database: Database,
    },
    /// Print a signed checkpoint of the ledger's head (JSON), for an auditor to keep.
    Checkpoint {
        #[command(flatten)]
        database: Database,
    },
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = std::env::var("WARD_LOG")
        .ok()
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => {
            // Colour only on a terminal: a log file or a pipe gets plain text (and `NO_COLOR`
            // turns it off anywhere).
            let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(colour)
                        .with_writer(std::io::stderr),
                )
                .init()
        }
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}

async fn open(database: &Database) -> Result<AnyStore, String> {
    AnyStore::open(&database.url)
        .await
        .map_err(|error| format!("cannot open `{}`: {error}", database.url))
}

/// Runs the service until SIGTERM or Ctrl-C; SIGHUP reloads the policy. Shutdown is bounded:
/// the grace limit for requests in flight, then [`LAST_DRIFT_FLUSH`] and
/// [`RUNTIME_SHUTDOWN`] at most.
pub(crate) fn serve(args: Serve) -> Result<ExitCode, String> {
    init_logging(args.log_format);
    let runtime = runtime()?;
    let result = runtime.block_on(async move {
        let listener_config = args.listener();
        let config = Config {
            policy_path: args.policy,
            database_url: args.database.url,
            bootstrap_key: !args.no_bootstrap_key,
            pages: PagesConfig {
                public_url: args.public_url,
                secure_cookies: args.secure_cookies,
            },
            pool: PoolSettings {
                max_connections: args.database_connections,
                acquire_timeout: std::time::Duration::from_millis(args.database_timeout_ms),
            },
            listener: listener_config,
            cache_memory: args.cache_memory,
        };
        let (state, bootstrap) = AppState::start(&config, Arc::new(SystemClock))
            .await
            .map_err(|error| error.to_string())?;
        if let Some(token) = bootstrap {
            // Straight to the terminal, never into the (possibly shipped) log stream.
            eprintln!(
                "ward: no API keys existed, so this admin key was created. It is shown once:\n\n    {token}\n\nMake more with `ward keys create --scope decide|admin|moderate|parent:ID`."
            );
        }
        state
            .spawn_tasks()
            .await
            .map_err(|error| format!("cannot start background tasks: {error}"))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("cannot read the listening address: {error}"))?;
        // Signals are listened for before anyone is told where ward listens: one arriving
        // before its handler would kill the process outright (SIGTERM with no graceful
        // shutdown, SIGHUP with no reload).
        let shutdown = shutdown_signal();
        let hangups = hangup_signal();
        // A plain line a supervisor (or a test that asked for port 0) can read.
        eprintln!("ward: listening on http://{address}");
        tracing::info!(%address, "listening");
        tokio::spawn(reload_on_hangup(state.clone(), hangups));
        ward_server::serve(listener, state.clone(), shutdown)
            .await
            .map_err(|error| format!("the server stopped: {error}"))?;
        // Drift states are written behind requests: write what is left, if the database
        // answers in time.
        match tokio::time::timeout(LAST_DRIFT_FLUSH, state.drifts().flush(state.store())).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not store the last drift states"),
            Err(_) => tracing::warn!("the last drift states were not stored in time"),
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    });
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    result
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

/// Listens for SIGHUP from now on.
#[cfg(unix)]
fn hangup_signal() -> Hangups {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangups {}

#[cfg(unix)]
async fn reload_on_hangup(state: AppState, hangups: Hangups) {
    let Some(mut hangups) = hangups else {
        tracing::warn!("cannot listen for SIGHUP; reload with POST /v1/policy/reload");
        return;
    };
    while hangups.recv().await.is_some() {
        match state.reload().await {
            Ok(reloaded) => tracing::info!(
                generation = reloaded.generation,
                changed = reloaded.changed,
                "SIGHUP: policy reloaded"
            ),
            Err(error) => tracing::warn!(message = %error.message, "SIGHUP: reload refused"),
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_state: AppState, _hangups: Hangups) {}

/// Resolves on the first SIGTERM or Ctrl-C (SIGINT), listened for from this call on, not
/// from the future's first poll.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (Ok(mut terminate), Err(_)) => {
                terminate.recv().await;
            }
            (Err(_), Ok(mut interrupt)) => {
                interrupt.recv().await;
            }
            (Err(_), Err(_)) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

/// Runs the migrations and exits.
pub(crate) fn migrate(database: Database) -> Result<ExitCode, String> {
    runtime()?.block_on(async move {
        open(&database).await?;
        crate::print(&format!("{}: migrations are up to date\n", database.url))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `ward keys …`.
pub(crate) fn keys(command: Keys) -> Result<ExitCode, String> {
    runtime()?.block_on(async move {
        match command {
            Keys::Create {
                scope,
                label,
                database,
            } => {
                let scope = Scope::parse(&scope).map_err(|error| error.to_string())?;
                let key = generate(&scope, &label, jiff::Timestamp::now())
                    .map_err(|error| error.to_string())?;
                let store = open(&database).await?;
                let id = key.record.id.clone();
                store
                    .create_key(key.record)
                    .await
                    .map_err(|error| error.to_string())?;
                crate::print(&format!("{}\n", key.token))?;
                eprintln!("created key {id} with scope `{scope}`; the token above is shown once");
            }
            Keys::List { database } => {
                let store = open(&database).await?;
                let keys = store.keys().await.map_err(|error| error.to_string())?;
                let mut text = String::new();
                for key in keys {
                    let state = key
                        .revoked_at
                        .map_or_else(|| "live".to_owned(), |at| format!("revoked {at}"));
                    text.push_str(&format!(
                        "{}  {:20}  {}  {}  {}\n",
                        key.id, key.scope, key.created_at, state, key.label
                    ));
                }
                crate::print(&text)?;
            }
            Keys::Revoke { id, database } => {
                let store = open(&database).await?;
                let revoked = store
                    .revoke_key(&id, jiff::Timestamp::now())
                    .await
                    .map_err(|error| error.to_string())?;
                if !revoked {
                    return Err(format!("no live key `{id}`"));
                }
                crate::print(&format!("revoked {id}\n"))?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `ward parents …`.
pub(crate) fn parents(command: Parents) -> Result<ExitCode, String> {
    runtime()?.block_on(async move {
        let (child, database) = match &command {
            Parents::Link {
                child, database, ..
            }
            | Parents::Unlink {
                child, database, ..
            }
            | Parents::List { child, database } => (child.clone(), database.clone()),
        };
        let state = AppState::for_operator(&database.url)
            .await
            .map_err(|error| error.to_string())?;
        let child = ChildId::parse(&child).map_err(|error| error.to_string())?;
        let parent_id = |text: &str| ParentId::parse(text).map_err(|error| error.to_string());
        let view = match command {
            Parents::Link { parent, .. } => state.link_parent(&child, parent_id(&parent)?).await,
            Parents::Unlink { parent, .. } => {
                state.unlink_parent(&child, parent_id(&parent)?).await
            }
            Parents::List { .. } => match state.load_child(&child).await {
                Ok(Some(found)) => Ok(ward_server::views::ChildView::new(
                    &found,
                    &state.active().compiled,
                    state.now(),
                )),
                Ok(None) => Err(ward_server::error::ApiError::child_not_found(
                    child.as_str(),
                )),
                Err(error) => Err(error),
            },
        }
        .map_err(|error| error.message)?;
        let parents: Vec<String> = view.parents.iter().map(ToString::to_string).collect();
        crate::print(&format!(
            "{}: {} (supervised: {})\n",
            view.id,
            if parents.is_empty() {
                "no parent linked".to_owned()
            } else {
                parents.join(", ")
            },
            view.supervised
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `ward webhooks …`.
pub(crate) fn webhooks(command: Webhooks) -> Result<ExitCode, String> {
    runtime()?.block_on(async move {
        match command {
            Webhooks::Create {
                endpoint: url,
                database,
            } => {
                let store = open(&database).await?;
                let webhook = ward_server::webhooks::new_webhook(&url, jiff::Timestamp::now())
                    .map_err(|error| error.message)?;
                let (id, secret) = (webhook.id.clone(), webhook.secret.clone());
                store
                    .create_webhook(webhook)
                    .await
                    .map_err(|error| error.to_string())?;
                crate::print(&format!("{id} {secret}\n"))?;
                eprintln!("created webhook {id} for {url}; its signing secret above is shown once");
            }
            Webhooks::List { database } => {
                let store = open(&database).await?;
                let mut text = String::new();
                for webhook in store.webhooks().await.map_err(|error| error.to_string())? {
                    let state = webhook
                        .disabled_at
                        .map_or_else(|| "live".to_owned(), |at| format!("disabled {at}"));
                    text.push_str(&format!("{}  {}  {}\n", webhook.id, webhook.url, state));
                }
                crate::print(&text)?;
            }
            Webhooks::Disable { id, database } => {
                let store = open(&database).await?;
                if !store
                    .disable_webhook(&id, jiff::Timestamp::now())
                    .await
                    .map_err(|error| error.to_string())?
                {
                    return Err(format!("no live webhook `{id}`"));
                }
                crate::print(&format!("disabled {id}\n"))?;
            }
            Webhooks::Deliveries { limit, database } => {
                let store = open(&database).await?;
                let mut text = String::new();
                for attempt in store
                    .deliveries(limit.clamp(1, 1_000))
                    .await
                    .map_err(|error| error.to_string())?
                {
                    text.push_str(&format!(
                        "{}  {}  ward-{}  attempt {}  {}\n",
                        attempt.at,
                        attempt.webhook_id,
                        attempt.seq,
                        attempt.attempt,
                        match (attempt.delivered, attempt.status, &attempt.error) {
                            (true, Some(status), _) => format!("delivered ({status})"),
                            (_, Some(status), _) => format!("refused ({status})"),
                            (_, None, Some(error)) => format!("failed: {error}"),
                            _ => "failed".to_owned(),
                        }
                    ));
                }
                crate::print(&text)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `ward ledger verify [--checkpoint FILE]`: exit 0 when whole (and consistent with the
/// checkpoint), 1 naming the first bad entry. `ward ledger checkpoint`: the signed head.
pub(crate) fn ledger(command: Ledger) -> Result<ExitCode, String> {
    let (database, checkpoint) = match command {
        Ledger::Checkpoint { database } => {
            return runtime()?.block_on(async move {
                let store = open(&database).await?;
                let checkpoint = store
                    .checkpoint(jiff::Timestamp::now())
                    .await
                    .map_err(|error| error.to_string())?;
                let text = serde_json::to_string_pretty(&checkpoint)
                    .map_err(|error| format!("cannot write the checkpoint: {error}"))?;
                crate::print(&format!("{text}\n"))?;
                eprintln!(
                    "checkpoint of {} entries signed by key {}; keep it anywhere, and check the ledger against it with `ward ledger verify --checkpoint FILE`",
                    checkpoint.size, checkpoint.key
                );
                Ok(ExitCode::SUCCESS)
            });
        }
        Ledger::Verify {
            database,
            checkpoint,
        } => (database, checkpoint),
    };
    let checkpoint = match &checkpoint {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
            Some(
                ward_store::Checkpoint::parse(&text)
                    .map_err(|error| format!("`{}`: {error}", path.display()))?,
            )
        }
    };
    runtime()?.block_on(async move {
        let store = open(&database).await?;
        if let Some(checkpoint) = &checkpoint {
            let ours = store
                .checkpoint_public_key()
                .await
                .map_err(|error| error.to_string())?;
            if ours.as_deref() != Some(checkpoint.key.as_str()) {
                crate::print(&format!(
                    "checkpoint not from this ledger: it is signed by key {}, and this ledger's checkpoint key is {}\n",
                    checkpoint.key,
                    ours.as_deref().unwrap_or("not made yet")
                ))?;
                return Ok(ExitCode::from(1));
            }
        }
        let verdict = match &checkpoint {
            Some(checkpoint) => store.verify_ledger_against(checkpoint).await,
            None => store.verify_ledger().await,
        }
        .map_err(|error| error.to_string())?;
        let head = verdict.head.as_ref().map_or_else(
            || "empty".to_owned(),
            |head| format!("entry {} {}", head.seq, head.hash),
        );
        let against = checkpoint.as_ref().map_or_else(String::new, |checkpoint| {
            format!(
                "; consistent with the checkpoint of {} entries signed {}",
                checkpoint.size, checkpoint.at
            )
        });
        match &verdict.first_bad {
            None => {
                crate::print(&format!(
                    "ledger verified: {} entries, head {head}{against}\n",
                    verdict.entries
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            Some(bad) => {
                crate::print(&format!(
                    "ledger broken at {}\n(entries before it verified; last good head {head})\n",
                    bad.message
                ))?;
                Ok(ExitCode::from(1))
            }
        }
    })
}
