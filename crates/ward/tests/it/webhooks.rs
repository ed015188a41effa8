//! Signed webhooks end to end: a real receiver on 127.0.0.1 that checks every signature gets
//! every alert exactly once after de-duplication, even when it is down for a while and
//! `ward serve` is killed with SIGKILL and restarted in between.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use ward_server::webhooks::{
    EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, VerifyError, verify,
};

use crate::serve::{Serving, admin_key};
use crate::{repo_root, stdout, ward};

/// What the receiver saw.
#[derive(Debug, Default)]
struct Received {
    /// Event ids of accepted deliveries, repeats included.
    ids: Vec<String>,
    /// One accepted delivery, to tamper with.
    sample: Option<(String, String, String)>,
    /// Deliveries whose signature or timestamp failed.
    refused: usize,
}

/// Runs a receiver on `address` until the returned handle is aborted.
async fn receiver(
    address: SocketAddr,
    secret: String,
    received: Arc<Mutex<Received>>,
) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (secret, received) = (secret.clone(), received.clone());
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let (timestamp, signature) = (header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER));
                let now = jiff::Timestamp::now().as_second();
                let mut received = received.lock().unwrap();
                if verify(&secret, &timestamp, &signature, &body, now, 300).is_err() {
                    received.refused += 1;
                    return StatusCode::UNAUTHORIZED;
                }
                received.ids.push(header(EVENT_ID_HEADER));
                received.sample.get_or_insert((timestamp, signature, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

struct Admin {
    client: reqwest::Client,
    token: String,
}

impl Admin {
    async fn send(&self, base: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .client
            .request(method, format!("{base}{path}"))
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

    /// Causes alerts: a parent linked, a setting switched off and back on.
    async fn cause_alerts(&self, base: &str, child: &str) {
        self.send(
            base,
            reqwest::Method::PUT,
            &format!("/v1/children/{child}"),
            json!({"age": {"method": "parent_declared", "age": 9}}),
        )
        .await;
        self.send(
            base,
            reqwest::Method::PUT,
            &format!("/v1/children/{child}/parents/mum"),
            json!({}),
        )
        .await;
        self.send(
            base,
            reqwest::Method::POST,
            &format!("/v1/children/{child}/settings/remember-subtitles"),
            json!({"value": "off"}),
        )
        .await;
    }
}

/// The ids of every alert the ledger says was raised (what the receiver must get).
async fn expected_ids(admin: &Admin, base: &str, children: &[&str]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for child in children {
        let export = admin
            .send(
                base,
                reqwest::Method::GET,
                &format!("/v1/children/{child}/export"),
                Value::Null,
            )
            .await;
        for entry in export["ledger"].as_array().unwrap() {
            let kind = entry["kind"].as_str().unwrap();
            if matches!(
                kind,
                "setting_changed" | "parent_linked" | "consent_requested"
            ) {
                ids.insert(format!("ward-{}", entry["seq"]));
            }
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_arrives_once_across_a_receiver_outage_and_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let policy = repo_root().join("examples/clipstream.toml");
    let token = admin_key(&database);
    // A free port for the receiver, fixed for the whole test.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let created = ward(&[
        "webhooks",
        "create",
        &format!("http://{address}/hook"),
        "--database",
        &database,
    ]);
    assert_eq!(created.status.code(), Some(0), "{created:?}");
    let secret = stdout(&created)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("whsec_"));

    let received = Arc::new(Mutex::new(Received::default()));
    let admin = Admin {
        client: reqwest::Client::new(),
        token,
    };

    // 1. Receiver up: alerts arrive.
    let up = receiver(address, secret.clone(), received.clone()).await;
    let server = Serving::start(&database, &policy);
    admin.cause_alerts(&server.base, "kid-a").await;
    let first = expected_ids(&admin, &server.base, &["kid-a"]).await;
    wait_for(&received, &first).await;

    // 2. Receiver down; more alerts; the server is killed and restarted; more alerts.
    up.abort();
    let _ = up.await;
    admin.cause_alerts(&server.base, "kid-b").await;
    server.kill();
    let server = Serving::start(&database, &policy);
    admin.cause_alerts(&server.base, "kid-c").await;
    let all = expected_ids(&admin, &server.base, &["kid-a", "kid-b", "kid-c"]).await;
    assert_eq!(
        all.len(),
        6,
        "a parent linked and a setting changed, per child: {all:?}"
    );

    // 3. Receiver back: everything it missed arrives.
    let back = receiver(address, secret.clone(), received.clone()).await;
    wait_for(&received, &all).await;
    let received = received.lock().unwrap();
    let unique: BTreeSet<String> = received.ids.iter().cloned().collect();
    assert_eq!(
        unique, all,
        "exactly the alerts raised, after de-duplication"
    );
    assert_eq!(received.refused, 0, "every delivery was signed correctly");
    eprintln!(
        "webhooks: {} alerts, {} deliveries accepted (repeats are at-least-once retries)",
        all.len(),
        received.ids.len()
    );

    // A tampered body, another secret or a stale timestamp fails verification.
    let (timestamp, signature, body) = received.sample.clone().unwrap();
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        verify(&secret, &timestamp, &signature, &body, now, 300),
        Ok(())
    );
    let tampered = body.replacen("kid-a", "kid-x", 1);
    assert_ne!(tampered, body);
    assert_eq!(
        verify(&secret, &timestamp, &signature, &tampered, now, 300),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verify("whsec_wrong", &timestamp, &signature, &body, now, 300),
        Err(VerifyError::BadSignature)
    );
    assert!(matches!(
        verify(&secret, &timestamp, &signature, &body, now + 3_600, 300),
        Err(VerifyError::Stale(_))
    ));
    back.abort();

    // The delivery log shows the failed attempts and the successes.
    let log = stdout(&ward(&[
        "webhooks",
        "deliveries",
        "--limit",
        "1000",
        "--database",
        &database,
    ]));
    assert!(log.contains("delivered (200)"), "{log}");
    assert!(log.contains("failed"), "{log}");
}

/// Waits (at most a minute: retries back off) until every id in `expected` was received.
async fn wait_for(received: &Arc<Mutex<Received>>, expected: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing: Vec<String> = {
            let received = received.lock().unwrap();
            expected
                .iter()
                .filter(|id| !received.ids.contains(id))
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "never delivered: {missing:?}");
        tokio::task::yield_now().await;
    }
}
