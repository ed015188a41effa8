//! The OpenAPI document against the real server, by a tester nobody on this team wrote:
//! schemathesis (PyPI) generates requests from `/v1/openapi.json` — valid ones, which must be
//! accepted, and ones that break the document, which must be refused — and checks every
//! answer's status, content type, headers and body against the document. Every check is on
//! and no failure is allowed (`tests/schemathesis/schemathesis.toml` says what each operation
//! may also answer, and why).
//!
//! The server is the real `ward serve` on SQLite, seeded with children, a linked parent, a
//! waiting consent request, an intervention, a child's report and an item a child hid, so
//! generated calls reach the state machine
//! and not only "not found". The seed is fixed, so a CI run is repeatable;
//! `WARD_SCHEMATHESIS_SEED` and `WARD_SCHEMATHESIS_EXAMPLES` explore further.
//!
//! Needs `tests/schemathesis/.venv` (`.ci/run` makes it from the pinned requirements) or
//! `WARD_SCHEMATHESIS` naming the executable; without it the test says `skipped:` and passes,
//! unless `WARD_TEST_TOOLS=required`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::repo_root;
use crate::serve::{Serving, admin_key};

/// The seed CI runs with.
const SEED: &str = "20261201";
/// Examples per operation in CI.
const EXAMPLES: &str = "25";

fn executable() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WARD_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let venv = repo_root().join("tests/schemathesis/.venv/bin/schemathesis");
    venv.exists().then_some(venv)
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> Value {
    send_json(client, base, method, path, token, None).await
}

async fn send_json(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_and_the_server_disagree_on() {
    let Some(schemathesis) = executable() else {
        assert!(
            std::env::var("WARD_TEST_TOOLS").as_deref() != Ok("required"),
            "schemathesis is required (WARD_TEST_TOOLS=required) but tests/schemathesis/.venv is missing"
        );
        println!(
            "skipped: schemathesis is not installed (see tests/schemathesis/requirements.txt)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let admin = admin_key(&database);
    let server = Serving::start(&database, &repo_root().join("examples/clipstream.toml"));
    let base = server.base.clone();
    let client = reqwest::Client::new();
    use reqwest::Method;

    // The seed: the children, parents and requests the configuration names.
    for (child, age) in [
        ("kid-11", json!({"method": "parent_declared", "age": 11})),
        ("kid-14", json!({"method": "parent_declared", "age": 14})),
        ("grown-up", json!({"method": "verified", "age": 30})),
    ] {
        send_json(
            &client,
            &base,
            Method::PUT,
            &format!("/v1/children/{child}"),
            &admin,
            Some(json!({"age": age})),
        )
        .await;
    }
    send_json(
        &client,
        &base,
        Method::PUT,
        "/v1/children/kid-unknown",
        &admin,
        Some(json!({})),
    )
    .await;
    send(
        &client,
        &base,
        Method::PUT,
        "/v1/children/kid-11/parents/mum",
        &admin,
    )
    .await;
    send(
        &client,
        &base,
        Method::PUT,
        "/v1/children/kid-14/parents/dad",
        &admin,
    )
    .await;
    let on = json!({"value": "on"});
    let shown = send_json(
        &client,
        &base,
        Method::POST,
        "/v1/children/kid-11/settings/recommend-videos",
        &admin,
        Some(on.clone()),
    )
    .await;
    let acknowledge = format!(
        "/v1/interventions/{}/acknowledge",
        shown["intervention"]["id"].as_str().unwrap()
    );
    let waiting = send(&client, &base, Method::POST, &acknowledge, &admin).await;
    let request = waiting["request"]["id"].as_str().unwrap().to_owned();
    let shown = send_json(
        &client,
        &base,
        Method::POST,
        "/v1/children/kid-14/settings/recommend-videos",
        &admin,
        Some(on),
    )
    .await;
    let intervention = shown["intervention"]["id"].as_str().unwrap().to_owned();
    // A report, so the moderators' routes (`/v1/reports/{id}…`) get a real id, and an item the
    // child hid, so "show again" can succeed.
    let reported = send_json(
        &client,
        &base,
        Method::POST,
        "/v1/children/kid-14/feedback",
        &admin,
        Some(json!({
            "item": {"id": "clip-reported", "kind": "video", "topics": ["pranks"]},
            "kind": "report",
            "reason": "bullying",
        })),
    )
    .await;
    let report_id = reported["report"]["id"].as_str().unwrap().to_owned();
    send_json(
        &client,
        &base,
        Method::POST,
        "/v1/children/kid-11/feedback",
        &admin,
        Some(json!({
            "item": {"id": "clip-hidden", "kind": "video", "source": "prankstars"},
            "kind": "not_interested",
        })),
    )
    .await;
    let parent = send_json(
        &client,
        &base,
        Method::POST,
        "/v1/keys",
        &admin,
        Some(json!({"scope": "parent:mum"})),
    )
    .await;
    let parent = parent["token"].as_str().unwrap().to_owned();

    let seed = std::env::var("WARD_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned());
    let examples =
        std::env::var("WARD_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| EXAMPLES.to_owned());
    let report = dir.path().join("report");
    let work = dir.path().to_owned();
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            // Its cache and reports go in the scratch directory, never the source tree.
            .current_dir(&work)
            .arg("--config-file")
            .arg(repo_root().join("tests/schemathesis/schemathesis.toml"))
            .args([
                "run",
                &format!("{base}/v1/openapi.json"),
                "--seed",
                &seed,
                "--no-color",
                "--max-examples",
                &examples,
            ])
            .arg("--report-dir")
            .arg(&report)
            .env("WARD_ST_ADMIN", &admin)
            .env("WARD_ST_PARENT", &parent)
            .env("WARD_ST_REQUEST", &request)
            .env("WARD_ST_INTERVENTION", &intervention)
            .env("WARD_ST_REPORT", &report_id)
            // No network but the server's own port: no telemetry, no update checks.
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .env("HYPOTHESIS_NO_PLUGINS", "1")
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "schemathesis ran for {:.0} s:\n{}",
        started.elapsed().as_secs_f64(),
        stdout
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}"
    );
    drop(server);
}
