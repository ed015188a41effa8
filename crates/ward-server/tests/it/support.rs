//! A test server: a fresh database, the real router on `127.0.0.1:0`, a manual clock, an
//! admin key, and a small JSON client.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;
use ward_server::auth::{Scope, generate};
use ward_server::clock::ManualClock;
use ward_server::{AppState, Config};
use ward_store::Store;
use ward_store::test_support::{fresh_schema, postgres_url};

pub(crate) const CLIPSTREAM: &str = include_str!("../../../../examples/clipstream.toml");
pub(crate) const QUESTWORLD: &str = include_str!("../../../../examples/questworld.toml");

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite,
    /// A PostgreSQL URL (already pointing at a fresh schema).
    Postgres(String),
}

/// Runs `test` on SQLite, then on a fresh PostgreSQL schema when configured.
pub(crate) async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    test(Backend::Sqlite).await;
    if let Some(base) = postgres_url(name) {
        test(Backend::Postgres(fresh_schema(&base).await.unwrap())).await;
    }
}

pub(crate) fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// The moment every test starts at.
pub(crate) fn start_time() -> Timestamp {
    at("2026-03-02T12:00:00Z")
}

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) admin: String,
    pub(crate) clock: ManualClock,
    pub(crate) state: AppState,
    pub(crate) policy_path: PathBuf,
    pub(crate) database_url: String,
    _dir: Arc<tempfile::TempDir>,
    shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// A server on `backend` serving `policy`.
    pub(crate) async fn start(backend: &Backend, policy: &str) -> Self {
        Self::start_with_pages(backend, policy, ward_server::PagesConfig::default()).await
    }

    /// A server on `backend` serving `policy`, its pages set up as `pages` says.
    pub(crate) async fn start_with_pages(
        backend: &Backend,
        policy: &str,
        pages: ward_server::PagesConfig,
    ) -> Self {
        Self::start_with(
            backend,
            policy,
            pages,
            ward_server::ListenerConfig::default(),
        )
        .await
    }

    /// A server on `backend` serving `policy` under the connection limits of `listener`.
    pub(crate) async fn start_with_listener(
        backend: &Backend,
        policy: &str,
        listener: ward_server::ListenerConfig,
    ) -> Self {
        Self::start_with(
            backend,
            policy,
            ward_server::PagesConfig::default(),
            listener,
        )
        .await
    }

    async fn start_with(
        backend: &Backend,
        policy: &str,
        pages: ward_server::PagesConfig,
        listener: ward_server::ListenerConfig,
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let database_url = match backend {
            Backend::Sqlite => dir.path().join("ward.db").display().to_string(),
            Backend::Postgres(url) => url.clone(),
        };
        Self::start_on(dir, database_url, policy, pages, listener).await
    }

    /// Another node on this server's database (its own pool, cache and change feed).
    pub(crate) async fn another_node(&self) -> Self {
        let policy = std::fs::read_to_string(&self.policy_path).unwrap();
        let mut node = Self::start_on(
            self._dir.clone(),
            self.database_url.clone(),
            &policy,
            ward_server::PagesConfig::default(),
            ward_server::ListenerConfig::default(),
        )
        .await;
        node.admin = self.admin.clone();
        node
    }

    async fn start_on(
        dir: Arc<tempfile::TempDir>,
        database_url: String,
        policy: &str,
        pages: ward_server::PagesConfig,
        listener: ward_server::ListenerConfig,
    ) -> Self {
        // Server logs go to the test's output (shown when a test fails).
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_max_level(tracing::Level::WARN)
            .try_init();
        let policy_path = dir.path().join(format!("ward-{}.toml", rand_suffix()));
        std::fs::write(&policy_path, policy).unwrap();
        let clock = ManualClock::new(start_time());
        let config = Config {
            policy_path: policy_path.clone(),
            database_url: database_url.clone(),
            bootstrap_key: false,
            pages,
            pool: Default::default(),
            listener,
            cache_memory: ward_server::Config::DEFAULT_CACHE_MEMORY,
        };
        let (state, _) = AppState::start(&config, Arc::new(clock.clone()))
            .await
            .unwrap();
        state.spawn_tasks().await.unwrap();
        let key = generate(&Scope::Admin, "tests", start_time()).unwrap();
        state.store().create_key(key.record).await.unwrap();
        state.refresh_keys().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(ward_server::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            client: reqwest::Client::new(),
            admin: key.token,
            clock,
            state,
            policy_path,
            database_url,
            _dir: dir,
            shutdown,
            serving,
        }
    }

    /// Shuts the server down, as SIGTERM does; returns when `serve` has.
    pub(crate) async fn shut_down(self) {
        let _ = self.shutdown.send(());
        self.serving.await.unwrap().unwrap();
    }

    /// A new key with `scope`, made through the API.
    pub(crate) async fn key(&self, scope: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/keys",
                Some(&self.admin),
                Some(serde_json::json!({"scope": scope})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Any request; the body is JSON when given. Returns the status and the JSON body
    /// (`null` when empty or not JSON).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&self.admin), None).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(&self.admin), Some(body))
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&self.admin), Some(body))
            .await
    }

    /// Creates a child of `age` (parent-declared) in `jurisdiction`.
    pub(crate) async fn child(&self, id: &str, age: u8, jurisdiction: &str) -> Value {
        let (status, body) = self
            .put(
                &format!("/v1/children/{id}"),
                serde_json::json!({"age": {"method": "parent_declared", "age": age}, "jurisdiction": jurisdiction}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// `decide` for one purpose, with the admin key.
    pub(crate) async fn decide(&self, child: &str, purpose: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/decide",
                serde_json::json!({"child": child, "purpose": purpose}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Asks to switch a setting on and returns the intervention.
    pub(crate) async fn request_on(&self, child: &str, setting: &str) -> Value {
        let (status, body) = self
            .post(
                &format!("/v1/children/{child}/settings/{setting}"),
                serde_json::json!({"value": "on"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["intervention"].clone()
    }

    /// Acknowledges an intervention.
    pub(crate) async fn acknowledge(&self, intervention: &Value) -> (StatusCode, Value) {
        let id = intervention["id"].as_str().unwrap();
        self.post(
            &format!("/v1/interventions/{id}/acknowledge"),
            serde_json::json!({}),
        )
        .await
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The reason code of a decision.
pub(crate) fn reason(decision: &Value) -> &str {
    decision["reasons"][0].as_str().unwrap_or("")
}

/// A parent's alert stream, read event by event.
pub(crate) struct AlertStream {
    response: reqwest::Response,
    buffer: String,
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SseEvent {
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) data: Value,
}

impl Server {
    /// Opens `parent`'s alert stream with `token`, resuming after `last_event_id` if given.
    pub(crate) async fn alerts(
        &self,
        parent: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> AlertStream {
        let mut request = self
            .client
            .get(format!("{}/v1/parents/{parent}/alerts", self.base))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        AlertStream {
            response,
            buffer: String::new(),
        }
    }
}

impl AlertStream {
    /// A stream already opened (with whatever credentials the test chose).
    pub(crate) fn from_response(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// Reads to the end of the stream, waiting at most ten seconds: true when it ended
    /// cleanly, false when it broke off. Events on the way are dropped.
    pub(crate) async fn ends_cleanly(&mut self) -> bool {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                match self.response.chunk().await {
                    Ok(Some(_)) => {}
                    Ok(None) => return true,
                    Err(_) => return false,
                }
            }
        })
        .await
        .expect("the stream ended in time")
    }

    /// The next event, waiting at most ten seconds for it.
    pub(crate) async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.next_event())
            .await
            .expect("an alert arrived in time")
    }

    async fn next_event(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        id = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("event:") {
                        event = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                if id.is_empty() {
                    continue; // a keep-alive comment
                }
                return SseEvent {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                };
            }
            let chunk = self
                .response
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
