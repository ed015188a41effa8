//! `ward audit`: the real binary on small specs, a spec error, `--fail-on`, and the HTTP
//! recommender protocol against a real server on 127.0.0.1.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use super::{repo_root, scratch, stdout, ward};

/// Runs `ward audit --policy examples/clipstream.toml --spec SPEC --out OUT`, then `extra`.
pub(crate) fn audit_clipstream(spec: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let (spec, out) = (spec.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec![
        "audit",
        "--policy",
        "examples/clipstream.toml",
        "--spec",
        spec,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    ward(&args)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A small audit: one band, two seeds, 40 slates, a 3,000-item catalogue, two recommenders.
const SMALL: &str = r#"
seeds = 2
slates = 40
bands = ["13-15"]
recommenders = ["engagement", "popularity"]
switch_back_after = 25

[catalogue]
generate = 3000
seed = 9
"#;

#[test]
fn an_audit_writes_results_and_a_report_with_the_inputs_hashes() {
    let dir = scratch("audit-small");
    let spec = dir.join("audit.toml");
    std::fs::write(&spec, SMALL).unwrap();
    let out = dir.join("out");
    let output = audit_clipstream(
        &spec,
        &out,
        &[
            "--fail-on",
            "primary_priority=0",
            "--fail-on",
            "over_cap",
            "--jobs",
            "2",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("engagement:\n  13-15"), "{text}");
    assert!(
        text.contains("with ward: 0 primary priority and 0 priority items"),
        "{text}"
    );
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["schema"], 1);
    assert_eq!(results["ward_version"], env!("CARGO_PKG_VERSION"));
    let sha = |text: &str| {
        use std::fmt::Write as _;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let policy = std::fs::read_to_string(repo_root().join("examples/clipstream.toml")).unwrap();
    assert_eq!(results["hashes"]["policy_sha256"], sha(&policy));
    assert_eq!(results["hashes"]["spec_sha256"], sha(SMALL));
    let catalogue = std::fs::read_to_string(out.join("catalogue.jsonl")).unwrap();
    assert_eq!(results["hashes"]["catalogue_sha256"], sha(&catalogue));
    assert_eq!(catalogue.lines().count(), 3000);
    let engagement = &results["recommenders"][0];
    assert_eq!(engagement["name"], "engagement");
    let band = &engagement["bands"][0];
    assert_eq!(band["band"], "13-15");
    assert_eq!(band["age"], 13);
    assert_eq!(band["vulnerable"]["on"]["primary_priority_max"], 0);
    assert!(
        band["vulnerable"]["off"]["harmful_share"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        band["vulnerable"]["off"]["forgetting_runs"][0], 2,
        "the vulnerable persona switched back"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(&sha(&policy)),
        "the report names the policy's hash"
    );
    assert!(html.contains("<svg"), "plots are inline");
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("src=\"http"),
        "nothing loaded from elsewhere"
    );
}

#[test]
fn the_same_spec_gives_the_same_results() {
    let dir = scratch("audit-twice");
    let spec = dir.join("audit.toml");
    std::fs::write(&spec, "seeds = 1\nslates = 15\nbands = [\"10-12\"]\nrecommenders = [\"item_knn\", \"matrix_factorisation\"]\n[catalogue]\ngenerate = 600\n").unwrap();
    let run = |name: &str| {
        let out = dir.join(name);
        let output = audit_clipstream(&spec, &out, &[]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        std::fs::read_to_string(out.join("results.json")).unwrap()
    };
    assert_eq!(run("one"), run("two"));
}

#[test]
fn a_spec_error_names_its_line_and_column_and_exits_two() {
    let dir = scratch("audit-spec-error");
    let spec = dir.join("audit.toml");
    std::fs::write(&spec, "seeds = 2\nslate = 10\n").unwrap();
    let output = audit_clipstream(&spec, &dir.join("out"), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("audit.toml:2:1: unknown field `slate`"),
        "{stderr}"
    );
    assert!(!dir.join("out").exists(), "nothing written");
    std::fs::write(&spec, "bands = [\"0-5\"]\n").unwrap();
    let output = ward(&[
        "audit",
        "--policy",
        "examples/clipstream.toml",
        "--spec",
        spec.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("audit.toml:1:10: band `0-5` cannot be audited")
    );
}

#[test]
fn fail_on_exits_one_when_the_guard_lets_a_priority_item_through() {
    // A policy that keeps tags it does not know: `bullying` (no ward harm tag) gets through.
    let dir = scratch("audit-fail-on");
    let policy = std::fs::read_to_string(repo_root().join("examples/clipstream.toml"))
        .unwrap()
        .replace("[feed]\n", "[feed]\nunknown_tags = \"keep\"\n");
    let policy_path = dir.join("ward.toml");
    std::fs::write(&policy_path, policy).unwrap();
    let spec = dir.join("audit.toml");
    // A catalogue of everyday videos, bullying ones (a tag ward does not know) and
    // self-harm ones (a harm tag).
    let mut catalogue = String::new();
    for i in 0..600 {
        let (topic, tags) = match i % 6 {
            0 => ("pranks", "[\"bullying\"]"),
            1 => ("low_mood", "[\"self_harm\"]"),
            _ => (["football", "music", "animals", "art"][i % 4], "[]"),
        };
        catalogue.push_str(&format!(
            "{{\"id\": \"v{i}\", \"kind\": \"video\", \"topics\": [\"{topic}\"], \"tags\": {tags}, \"source\": \"ugc\", \"assessed\": true}}\n"
        ));
    }
    std::fs::write(dir.join("catalogue.jsonl"), catalogue).unwrap();
    std::fs::write(&spec, "seeds = 2\nslates = 20\nbands = [\"13-15\"]\nrecommenders = [\"popularity\"]\n[catalogue]\nfile = \"catalogue.jsonl\"\n").unwrap();
    let output = ward(&[
        "audit",
        "--policy",
        policy_path.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
        "--fail-on",
        "priority=0",
        "--fail-on",
        "primary_priority=0",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains("FAILED: ")
            && text.contains("priority items were shown with the guard (limit 0)"),
        "{text}"
    );
    assert!(
        !text.contains("primary priority items were shown"),
        "primary priority is still removed: {text}"
    );
    let results = read_json(&dir.join("out/results.json"));
    let removals = &results["recommenders"][0]["bands"][0]["standard"]["on"]["removals"];
    assert!(removals["harm_tag"].as_u64().unwrap() > 0, "{removals}");
}

/// What the test recommender was asked.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) requests: Vec<Value>,
}

/// A service's recommender, over HTTP, for an audit to rank with.
pub(crate) struct Server {
    ids: Vec<String>,
    pub(crate) seen: Mutex<Seen>,
    answer_unknown: bool,
}

async fn rank(
    State(server): State<Arc<Server>>,
    Json(request): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let count = request["count"].as_u64().unwrap_or(0) as usize;
    let history: Vec<String> = request["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|i| i["id"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    server.seen.lock().unwrap().requests.push(request);
    if server.answer_unknown {
        return (StatusCode::OK, Json(json!({ "items": ["no-such-item"] })));
    }
    // Newest first, never a repeat: a "latest uploads" recommender.
    let items: Vec<&String> = server
        .ids
        .iter()
        .rev()
        .filter(|id| !history.contains(id))
        .take(count)
        .collect();
    (StatusCode::OK, Json(json!({ "items": items })))
}

/// Starts the test recommender (answering an id not in the catalogue if `answer_unknown`):
/// its address, its state, its thread and what stops it.
pub(crate) fn start(
    answer_unknown: bool,
) -> (
    SocketAddr,
    Arc<Server>,
    std::thread::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let catalogue = std::fs::read_to_string(repo_root().join("examples/catalogue.jsonl")).unwrap();
    let ids = catalogue
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|item| matches!(item["kind"].as_str(), Some("video" | "post" | "ad")))
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    let server = Arc::new(Server {
        ids,
        seen: Mutex::new(Seen::default()),
        answer_unknown,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = server.clone();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new()
                .route("/rank", post(rank))
                .with_state(state);
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    (address, server, thread, stop)
}

/// A small spec auditing only the recommender at `address`, on the example catalogue.
pub(crate) fn http_spec(dir: &Path, address: SocketAddr) -> std::path::PathBuf {
    let spec = dir.join("audit.toml");
    let catalogue = repo_root().join("examples/catalogue.jsonl");
    std::fs::write(
        &spec,
        format!(
            "seeds = 1\nslates = 4\nbands = [\"13-15\"]\n\n[catalogue]\nfile = \"{}\"\n\n[[http]]\nname = \"latest\"\nurl = \"http://{address}/rank\"\ntimeout_ms = 10000\n",
            catalogue.display()
        ),
    )
    .unwrap();
    spec
}

#[test]
fn a_service_recommender_is_audited_over_http() {
    let dir = scratch("audit-http");
    let (address, server, thread, stop) = start(false);
    let spec = http_spec(&dir, address);
    let out = dir.join("out");
    let output = audit_clipstream(&spec, &out, &[]);
    let _ = stop.send(());
    thread.join().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let requests = std::mem::take(&mut server.seen.lock().unwrap().requests);
    // Two personas × one seed × three runs (no guard, guard, detector) × four slates.
    assert_eq!(requests.len(), 2 * 3 * 4, "{requests:?}");
    let first = &requests[0];
    assert_eq!(first["protocol"], 1);
    assert_eq!(first["persona"]["age"], 13);
    assert_eq!(first["persona"]["band"], "13-15");
    assert_eq!(first["count"], 30);
    assert_eq!(first["slate"], 0);
    assert_eq!(first["history"], json!([]));
    // The next slate's history holds what the first showed, oldest first.
    let second = requests
        .iter()
        .find(|r| r["persona"] == first["persona"] && r["slate"] == 1)
        .unwrap();
    let history = second["history"].as_array().unwrap();
    assert!(!history.is_empty() && history.len() <= 10, "{history:?}");
    assert!(
        history
            .iter()
            .all(|h| h["id"].is_string() && h["watched"].is_number() && h["liked"].is_boolean())
    );
    let results = read_json(&out.join("results.json"));
    assert_eq!(
        results["recommenders"].as_array().unwrap().len(),
        1,
        "only the service's"
    );
    assert_eq!(results["recommenders"][0]["name"], "latest");
    assert_eq!(results["recommenders"][0]["http"], true);
    assert_eq!(results["catalogue"]["items"], 98);
}

#[test]
fn an_http_recommender_answering_an_unknown_id_stops_the_audit_with_a_clear_error() {
    let dir = scratch("audit-http-bad");
    let (address, _server, thread, stop) = start(true);
    let spec = http_spec(&dir, address);
    let output = audit_clipstream(&spec, &dir.join("out"), &[]);
    let _ = stop.send(());
    thread.join().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("recommender `latest` failed for persona `13-15/standard/seed-1`")
            && stderr.contains("answered `no-such-item`, which is not in the catalogue"),
        "{stderr}"
    );
}
