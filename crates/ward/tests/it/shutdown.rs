//! Graceful shutdown of the real `ward serve`: SIGTERM with a parent's alert stream open ends
//! the stream cleanly and the process exits well within the grace limit; the alerts raised
//! while it was down, and after it restarted, reach the parent when the stream reconnects
//! with `Last-Event-ID`, each once and in order. A request stuck in flight holds the exit
//! no longer than the grace limit.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::serve::{Serving, admin_key};
use crate::{repo_root, stdout, ward};

/// The longest any step waits.
const PATIENCE: Duration = Duration::from_secs(20);

fn terminate(server: &Serving) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.process.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the process to exit; returns its exit code.
async fn exited(server: &mut Serving) -> Option<i32> {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    loop {
        tick.tick().await;
        if let Some(status) = server.process.try_wait().unwrap() {
            return status.code();
        }
        assert!(started.elapsed() < PATIENCE, "ward serve did not exit");
    }
}

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }
}

/// A parent's alert stream, read event by event.
struct Alerts {
    response: reqwest::Response,
    buffer: String,
}

impl Alerts {
    async fn open(base: &str, parent: &str, token: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new()
            .get(format!("{base}/v1/parents/{parent}/alerts"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's id and type.
    async fn next(&mut self) -> (i64, String) {
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|line| line.strip_prefix(name))
                            .map(|value| value.trim().to_owned())
                    };
                    if let (Some(id), Some(event)) = (field("id:"), field("event:")) {
                        return (id.parse().unwrap(), event);
                    }
                    continue; // a keep-alive comment
                }
                let chunk = self.response.chunk().await.unwrap().expect("still open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an alert in time")
    }

    /// True when the stream ends cleanly, false when it breaks off.
    async fn ends_cleanly(mut self) -> bool {
        tokio::time::timeout(PATIENCE, async {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_alert_streams_and_a_reconnect_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let policy = repo_root().join("examples/clipstream.toml");
    let token = admin_key(&database);
    let grace = ["--shutdown-grace", "5s"];
    let mut server = Serving::start_with(&database, &policy, &grace);
    let mut api = Api {
        client: reqwest::Client::new(),
        base: server.base.clone(),
        token,
    };
    use reqwest::Method;
    api.send(
        Method::PUT,
        "/v1/children/kid-1",
        json!({"age": {"method": "parent_declared", "age": 9}}),
    )
    .await;
    api.send(Method::PUT, "/v1/children/kid-1/parents/mum", json!({}))
        .await;
    let mum = ward(&[
        "keys",
        "create",
        "--scope",
        "parent:mum",
        "--database",
        &database,
    ]);
    let mum = stdout(&mum).trim().to_owned();
    let mut stream = Alerts::open(&server.base, "mum", &mum, None).await;
    let off = json!({"value": "off"});
    api.send(
        Method::POST,
        "/v1/children/kid-1/settings/remember-subtitles",
        off.clone(),
    )
    .await;
    let (first, kind) = stream.next().await;
    assert_eq!(kind, "setting_changed");

    let signalled = Instant::now();
    terminate(&server);
    assert!(stream.ends_cleanly().await, "the stream broke off");
    assert_eq!(exited(&mut server).await, Some(0));
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    eprintln!("SIGTERM with an alert stream open: ward serve exited in {took:?}");

    // An alert while no server runs, and one after the restart.
    let linked = ward(&["parents", "link", "kid-1", "dad", "--database", &database]);
    assert_eq!(linked.status.code(), Some(0), "{linked:?}");
    let server = Serving::start_with(&database, &policy, &grace);
    api.base = server.base.clone();
    let intervention = api
        .send(
            Method::POST,
            "/v1/children/kid-1/settings/remember-subtitles",
            json!({"value": "on"}),
        )
        .await;
    let id = intervention["intervention"]["id"].as_str().unwrap();
    api.send(
        Method::POST,
        &format!("/v1/interventions/{id}/acknowledge"),
        json!({}),
    )
    .await;

    let mut resumed = Alerts::open(&server.base, "mum", &mum, Some(&first.to_string())).await;
    let missed = [resumed.next().await, resumed.next().await];
    assert_eq!(
        missed
            .iter()
            .map(|(_, kind)| kind.as_str())
            .collect::<Vec<_>>(),
        ["parent_linked", "setting_changed"]
    );
    assert!(first < missed[0].0 && missed[0].0 < missed[1].0);
    // Then the next live one: nothing repeated, nothing else in between.
    api.send(
        Method::POST,
        "/v1/children/kid-1/settings/remember-subtitles",
        off,
    )
    .await;
    let (live, kind) = resumed.next().await;
    assert_eq!(kind, "setting_changed");
    assert!(live > missed[1].0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_stuck_in_flight_holds_sigterm_no_longer_than_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let token = admin_key(&database);
    let mut server = Serving::start_with(
        &database,
        &repo_root().join("examples/clipstream.toml"),
        &["--shutdown-grace", "1s", "--body-timeout", "60s"],
    );
    let mut stream = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap();
    // The server says when it starts reading the body (`100 Continue`); the body never
    // comes.
    let request = format!(
        "POST /v1/decide HTTP/1.1\r\nhost: ward\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 100 Continue"));

    let signalled = Instant::now();
    terminate(&server);
    assert_eq!(exited(&mut server).await, Some(0));
    let took = signalled.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    eprintln!("SIGTERM with a request stuck in flight: ward serve exited in {took:?} (grace 1 s)");
}
