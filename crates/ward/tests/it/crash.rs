//! Crash test: a client writes setting changes as fast as it can, `ward serve` is killed
//! with SIGKILL mid-stream and restarted; every change it acknowledged is there, and the
//! ledger verifies. SQLite always; PostgreSQL when `WARD_TEST_DATABASE_URL` is set.

use std::sync::{Arc, Mutex};

use serde_json::json;
use ward_store::test_support::{fresh_schema, postgres_url};

use crate::serve::{Serving, admin_key};
use crate::{repo_root, stdout, ward};

/// Writers running at once.
const WRITERS: usize = 4;
/// Acknowledged writes before the kill.
const KILL_AFTER: usize = 120;

/// What the server acknowledged.
#[derive(Debug, Default)]
struct Acked {
    /// Children whose creation was acknowledged.
    created: Vec<String>,
    /// Children whose switch-off of `remember-subtitles` was acknowledged.
    switched_off: Vec<String>,
}

async fn write_until_killed(base: String, token: String, writer: usize, acked: Arc<Mutex<Acked>>) {
    let client = reqwest::Client::new();
    for n in 0.. {
        let id = format!("kid-{writer}-{n}");
        let created = client
            .put(format!("{base}/v1/children/{id}"))
            .bearer_auth(&token)
            .json(&json!({"age": {"method": "parent_declared", "age": 9 + n % 8}}))
            .send()
            .await;
        match created {
            Ok(response) if response.status().as_u16() == 201 => {
                acked.lock().unwrap().created.push(id.clone());
            }
            // The server is gone (or going): stop writing.
            _ => return,
        }
        let off = client
            .post(format!(
                "{base}/v1/children/{id}/settings/remember-subtitles"
            ))
            .bearer_auth(&token)
            .json(&json!({"value": "off"}))
            .send()
            .await;
        match off {
            Ok(response) if response.status().as_u16() == 200 => {
                acked.lock().unwrap().switched_off.push(id);
            }
            _ => return,
        }
    }
}

async fn crash_and_recover(database: &str) {
    let policy = repo_root().join("examples/clipstream.toml");
    let token = admin_key(database);
    let server = Serving::start(database, &policy);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            tokio::spawn(write_until_killed(
                server.base.clone(),
                token.clone(),
                writer,
                acked.clone(),
            ))
        })
        .collect();
    // Kill as soon as enough writes were acknowledged, with the writers still going.
    loop {
        let count = {
            let acked = acked.lock().unwrap();
            acked.created.len() + acked.switched_off.len()
        };
        if count >= KILL_AFTER {
            break;
        }
        tokio::task::yield_now().await;
    }
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.created.len() + acked.switched_off.len() >= KILL_AFTER);

    let restarted = Serving::start(database, &policy);
    let client = reqwest::Client::new();
    for id in &acked.created {
        let response = client
            .get(format!("{}/v1/children/{id}", restarted.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "acknowledged child {id} was lost"
        );
    }
    for id in &acked.switched_off {
        let child: serde_json::Value = client
            .get(format!("{}/v1/children/{id}", restarted.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            child["settings"][1]["effective"], "off",
            "acknowledged switch-off for {id} was lost"
        );
    }
    drop(restarted);
    let verified = ward(&["ledger", "verify", "--database", database]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    eprintln!(
        "crash test: {} creations and {} switch-offs acknowledged before SIGKILL, all present; {}",
        acked.created.len(),
        acked.switched_off.len(),
        stdout(&verified).trim()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    crash_and_recover(database.to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_on_postgres() {
    let Some(base) = postgres_url("crash test") else {
        return;
    };
    crash_and_recover(&fresh_schema(&base).await.unwrap()).await;
}
