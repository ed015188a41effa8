//! `ward report` against a store seeded through the real API: a real `ward serve` on SQLite
//! (and PostgreSQL when `WARD_TEST_DATABASE_URL` is set), children created, interventions
//! shown and acknowledged, parents approving and denying, settings switched off, all over
//! HTTP. The report's counts must equal what was done, no child id, parent id or age record
//! may appear anywhere in its output, the same store must give the same bytes, and a ledger
//! edited behind ward's back must make the report say so on its first page.

use std::path::Path;
use std::process::Output;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use ward_store::test_support::{fresh_schema, postgres_url};

use crate::serve::{Serving, admin_key};
use crate::{repo_root, scratch, ward};

/// Ids and records chosen to be unmistakable if they leak into the report.
const CHILDREN: [&str; 5] = [
    "kid-zq81-teen",
    "kid-zq82-tween",
    "kid-zq83-young",
    "kid-zq84-older",
    "kid-zq85-born",
];
const PARENTS: [&str; 2] = ["mum-xv41-tween", "dad-xv42-young"];
const BIRTH_DATE: &str = "2013-04-27";

struct Api {
    client: reqwest::Client,
    base: String,
    admin: String,
}

impl Api {
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>, expect: u16) -> Value {
        let (status, body) = self.call(&self.admin, method, path, body).await;
        assert_eq!(status.as_u16(), expect, "{path}: {body}");
        body
    }

    async fn child(&self, id: &str, age: Value) {
        self.admin(
            Method::PUT,
            &format!("/v1/children/{id}"),
            Some(json!({"age": age, "jurisdiction": "GB"})),
            201,
        )
        .await;
    }

    /// Asks to switch `setting` on and acknowledges the intervention: 200 (on) or 202
    /// (waiting for a parent; the request's id is returned).
    async fn switch_on(&self, child: &str, setting: &str, expect: u16) -> Option<String> {
        let shown = self
            .admin(
                Method::POST,
                &format!("/v1/children/{child}/settings/{setting}"),
                Some(json!({"value": "on"})),
                202,
            )
            .await;
        let intervention = shown["intervention"]["id"].as_str().unwrap().to_owned();
        let acknowledged = self
            .admin(
                Method::POST,
                &format!("/v1/interventions/{intervention}/acknowledge"),
                None,
                expect,
            )
            .await;
        acknowledged["request"]["id"].as_str().map(str::to_owned)
    }

    async fn switch_off(&self, child: &str, setting: &str) {
        self.admin(
            Method::POST,
            &format!("/v1/children/{child}/settings/{setting}"),
            Some(json!({"value": "off"})),
            200,
        )
        .await;
    }

    async fn parent_key(&self, parent: &str) -> String {
        let key = self
            .admin(
                Method::POST,
                "/v1/keys",
                Some(json!({"scope": format!("parent:{parent}")})),
                201,
            )
            .await;
        key["token"].as_str().unwrap().to_owned()
    }
}

/// What the test does through the API (clipstream: GB, consent at 13).
async fn seed(api: &Api) {
    let [teen, tween, young, older, born] = CHILDREN;
    api.child(teen, json!({"method": "parent_declared", "age": 14}))
        .await;
    api.child(tween, json!({"method": "parent_declared", "age": 11}))
        .await;
    api.child(young, json!({"method": "parent_declared", "age": 8}))
        .await;
    api.child(older, json!({"method": "self_declared", "age": 16}))
        .await;
    api.child(
        born,
        json!({"method": "parent_declared", "birth_date": BIRTH_DATE}),
    )
    .await;
    for (child, parent) in [(tween, PARENTS[0]), (young, PARENTS[1])] {
        api.admin(
            Method::PUT,
            &format!("/v1/children/{child}/parents/{parent}"),
            None,
            201,
        )
        .await;
    }
    // 13-15: the teen consents herself, then switches it off again.
    assert_eq!(api.switch_on(teen, "recommend-videos", 200).await, None);
    api.switch_off(teen, "recommend-videos").await;
    // 10-12: a parent approves.
    let request = api.switch_on(tween, "recommend-videos", 202).await.unwrap();
    let mum = api.parent_key(PARENTS[0]).await;
    let (status, body) = api
        .call(
            &mum,
            Method::POST,
            &format!("/v1/consent-requests/{request}/approve"),
            Some(json!({"method": "email_plus"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // 6-9: a parent denies.
    let request = api.switch_on(young, "recommend-videos", 202).await.unwrap();
    let dad = api.parent_key(PARENTS[1]).await;
    let (status, body) = api
        .call(
            &dad,
            Method::POST,
            &format!("/v1/consent-requests/{request}/deny"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // 16-17: subtitles, on by default, switched off.
    api.switch_off(older, "remember-subtitles").await;
}

fn report(database: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "report",
        "--policy",
        "examples/clipstream.toml",
        "--database",
        database,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ward(&args)
}

fn row<'a>(rows: &'a Value, band: &str, setting: Option<&str>) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["band"] == band && setting.is_none_or(|s| row["setting"] == s))
        .unwrap_or_else(|| panic!("no row for {band} {setting:?} in {rows:#}"))
}

async fn tamper(database: &str, statement: &str) {
    if database.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(database).await.unwrap();
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap();
    } else {
        let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{database}"))
            .await
            .unwrap();
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap();
    }
}

/// Seeds a store at `database` through a real `ward serve` on clipstream, then stops it.
/// Returns the admin key's token (so tests can check it never leaks).
async fn seed_store(database: &str) -> String {
    let admin = admin_key(database);
    let server = Serving::start(database, &repo_root().join("examples/clipstream.toml"));
    let api = Api {
        client: reqwest::Client::new(),
        base: server.base.clone(),
        admin: admin.clone(),
    };
    seed(&api).await;
    drop(server);
    admin
}

/// [`seed_store`] for a synchronous test.
pub(crate) fn seeded(database: &str) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(seed_store(database));
}

async fn story(database: String, name: &str) {
    let admin = seed_store(&database).await;

    let out = scratch(&format!("report-{name}"));
    let output = report(&database, &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json_text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let json: Value = serde_json::from_str(&json_text).unwrap();

    // The counts are what was done.
    let evidence = &json["evidence"];
    let consents = &evidence["consents"];
    let teen = row(consents, "13-15", Some("recommend-videos"));
    assert_eq!(
        (
            teen["given_by_child"].as_u64(),
            teen["withdrawn_by_child"].as_u64()
        ),
        (Some(1), Some(1)),
        "{teen}"
    );
    let tween = row(consents, "10-12", Some("recommend-videos"));
    assert_eq!(
        (
            tween["given_by_parent"].as_u64(),
            tween["given_by_child"].as_u64()
        ),
        (Some(1), Some(0)),
        "{tween}"
    );
    let young = row(consents, "6-9", Some("recommend-videos"));
    assert_eq!(young["refused_by_parent"], 1, "{young}");
    let parents = &evidence["parents"];
    for (band, approvals, denials) in [("10-12", 1, 0), ("6-9", 0, 1)] {
        let p = row(parents, band, None);
        assert_eq!(
            (
                p["requests"].as_u64(),
                p["approvals"].as_u64(),
                p["denials"].as_u64()
            ),
            (Some(1), Some(approvals), Some(denials)),
            "{p}"
        );
        assert_eq!(p["answer_time"]["count"], 1, "{p}");
    }
    let interventions = &evidence["interventions"];
    for band in ["13-15", "10-12", "6-9"] {
        let i = row(interventions, band, Some("recommend-videos"));
        assert_eq!(
            (i["shown"].as_u64(), i["acknowledged"].as_u64()),
            (Some(1), Some(1)),
            "{i}"
        );
        // The text version recorded is the one the report prints for that band.
        let purpose = json["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "recommend-videos")
            .unwrap();
        let text = purpose["texts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["band"] == band)
            .unwrap();
        assert_eq!(i["text_version"], text["text_version"]);
    }
    let off = &evidence["switched_off"];
    assert_eq!(row(off, "13-15", Some("recommend-videos"))["by_child"], 1);
    assert_eq!(
        row(off, "13-15", Some("recommend-videos"))["on_for"]["count"],
        1
    );
    assert_eq!(row(off, "16-17", Some("remember-subtitles"))["by_child"], 1);
    let children: u64 = evidence["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(children, 5);
    let given: u64 = evidence["timeline"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["given"].as_u64().unwrap())
        .sum();
    assert_eq!(given, 2, "one child's own consent, one parent's");
    // Over time, per band: the 13-15 child's consent and withdrawal, the 10-12 parent's
    // approval; each band's totals are its consent rows'.
    let over_time = |band: &str, field: &str| -> u64 {
        evidence["timeline"]["points"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["band"] == band)
            .map(|p| p[field].as_u64().unwrap())
            .sum()
    };
    assert_eq!(over_time("13-15", "given"), 1);
    assert_eq!(over_time("13-15", "withdrawn"), 1);
    assert_eq!(over_time("10-12", "given"), 1);
    for band in ["6-9", "10-12", "13-15", "16-17"] {
        let (mut given, mut withdrawn) = (0, 0);
        for c in consents
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["band"] == band)
        {
            given += c["given_by_child"].as_u64().unwrap() + c["given_by_parent"].as_u64().unwrap();
            withdrawn += [
                "withdrawn_by_child",
                "withdrawn_by_parent",
                "withdrawn_by_ward",
            ]
            .iter()
            .map(|f| c[*f].as_u64().unwrap())
            .sum::<u64>();
        }
        assert_eq!(
            (over_time(band, "given"), over_time(band, "withdrawn")),
            (given, withdrawn),
            "{band}"
        );
    }
    // The plots draw those values: a bar per band and bucket, named with its value.
    let figure = |id: &str| -> &str {
        let start = html
            .find(&format!("id=\"{id}-title\""))
            .unwrap_or_else(|| panic!("no plot {id}"));
        &html[start..start + html[start..].find("</figure>").unwrap()]
    };
    assert!(figure("chart-given").contains(", 13-15: 1</title>"));
    assert!(figure("chart-given").contains(", 10-12: 1</title>"));
    assert!(figure("chart-withdrawn").contains(", 13-15: 1</title>"));
    assert!(!figure("chart-withdrawn").contains(", 10-12: "));
    let answers = figure("chart-answers");
    assert!(answers.contains("10-12: 1 answers") && answers.contains("6-9: 1 answers"));
    assert_eq!(
        answers.matches("\"><title>").count(),
        2,
        "a bar per answer: {answers}"
    );

    // The ledger verified, and its head is on the first page.
    let ledger = &json["integrity"]["ledger"];
    assert_eq!(ledger["verified"], true, "{ledger}");
    let head = ledger["head_hash"].as_str().unwrap();
    let first_page = &html[..html.find("Step 1: The need").unwrap()];
    assert!(first_page.contains(head) && first_page.contains("The evidence ledger verified"));
    assert_eq!(json["as_of"], ledger["last_entry_at"]);

    // No child id, parent id, age record or key anywhere.
    for text in [&json_text, &html] {
        for id in CHILDREN.iter().chain(&PARENTS) {
            assert!(!text.contains(id), "{id} is in the report");
        }
        for leak in [
            BIRTH_DATE,
            "birth_date",
            "parent_declared",
            "self_declared",
            &admin,
        ] {
            assert!(!text.contains(leak), "{leak} is in the report");
        }
    }

    // The same store gives the same bytes.
    let again = scratch(&format!("report-{name}-again"));
    assert_eq!(report(&database, &again, &[]).status.code(), Some(0));
    assert_eq!(
        std::fs::read(again.join("report.json")).unwrap(),
        json_text.as_bytes()
    );
    assert_eq!(
        std::fs::read_to_string(again.join("report.html")).unwrap(),
        html
    );

    // An edited entry: the report is still written, says so first, and exits 1.
    tamper(
        &database,
        "UPDATE ledger SET payload = payload || ' ' WHERE seq = 3",
    )
    .await;
    let tampered = scratch(&format!("report-{name}-tampered"));
    let output = report(&database, &tampered, &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("failed verification"));
    let html = std::fs::read_to_string(tampered.join("report.html")).unwrap();
    let first_page = &html[..html.find("Step 1: The need").unwrap()];
    assert!(first_page.contains("FAILED VERIFICATION"), "{first_page}");
    assert!(first_page.contains("entry 3"), "{first_page}");
}

#[tokio::test]
async fn a_report_on_a_store_seeded_through_the_api_counts_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    story(database, "sqlite").await;
    if let Some(base) = postgres_url("report on PostgreSQL") {
        story(fresh_schema(&base).await.unwrap(), "postgres").await;
    }
}

#[test]
fn a_report_from_the_policy_alone_and_its_errors() {
    let out = scratch("report-policy-only");
    let output = ward(&[
        "report",
        "--policy",
        "examples/chatterbox.toml",
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["as_of"], "2026-12-01T00:00:00Z");
    assert!(json["evidence"].is_null());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("No ledger was read"));

    let missing = ward(&[
        "report",
        "--policy",
        "examples/clipstream.toml",
        "--database",
        "no/such.db",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no database at `no/such.db`"));
    assert!(!Path::new("no/such.db").exists());

    let dpia = out.join("dpia.toml");
    std::fs::write(&dpia, "[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\ndecision = \"override\"\nseverity = \"severe\"\n").unwrap();
    let bad = ward(&[
        "report",
        "--policy",
        "examples/clipstream.toml",
        "--dpia",
        dpia.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("dpia.toml:3:12: an override needs a `reason`"),
        "{stderr}"
    );
}

/// A small audit of clipstream: one band, two seeds, the engagement recommender.
pub(crate) const SMALL_AUDIT: &str = r#"
seeds = 2
slates = 40
bands = ["13-15"]
recommenders = ["engagement"]
switch_back_after = 25

[catalogue]
generate = 3000
seed = 9
"#;

/// Runs `ward audit` on clipstream with [`SMALL_AUDIT`] in `dir`; returns its output folder.
pub(crate) fn small_audit(dir: &std::path::Path) -> std::path::PathBuf {
    let spec = dir.join("audit.toml");
    std::fs::write(&spec, SMALL_AUDIT).unwrap();
    let out = dir.join("audit");
    let output = crate::audit::audit_clipstream(&spec, &out, &["--jobs", "2"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    out
}

fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    <sha2::Sha256 as sha2::Digest>::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn policy_report(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "report",
        "--policy",
        "examples/clipstream.toml",
        "--as-of",
        "2026-12-01T00:00:00Z",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ward(&args)
}

fn risk<'a>(report: &'a Value, id: &str) -> Option<&'a Value> {
    report["risks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
}

#[test]
fn a_report_with_an_audit_shows_the_guards_effect_its_hash_and_its_risks() {
    let dir = scratch("report-audit");
    let audit_out = small_audit(&dir);
    let results_path = audit_out.join("results.json");
    let results_text = std::fs::read_to_string(&results_path).unwrap();
    let results: Value = serde_json::from_str(&results_text).unwrap();

    // Without --audit: no audit supplied, and the untested recommender is a risk.
    let bare = dir.join("bare");
    assert_eq!(policy_report(&bare, &[]).status.code(), Some(0));
    let json: Value =
        serde_json::from_slice(&std::fs::read(bare.join("report.json")).unwrap()).unwrap();
    assert!(json["audit"].is_null());
    assert!(json["integrity"]["audit"].is_null());
    let missing = risk(&json, "audit-missing:recommender").expect("audit-missing risk");
    assert!(
        missing["bands"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["assessed"]["overall"] == "medium")
    );
    let html = std::fs::read_to_string(bare.join("report.html")).unwrap();
    assert!(html.contains("No audit was supplied"), "{html}");

    // With it: the with/without figures, the intervals, the ratio and the hashes.
    let with = dir.join("with");
    let output = policy_report(&with, &["--audit", results_path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(with.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        json["integrity"]["audit"]["results_sha256"],
        sha256(results_text.as_bytes())
    );
    assert_eq!(
        json["integrity"]["audit"]["catalogue_sha256"],
        results["hashes"]["catalogue_sha256"]
    );
    assert_eq!(json["integrity"]["audit"]["same_policy"], true);
    let band = &json["audit"]["recommenders"][0]["bands"][0];
    let source = &results["recommenders"][0]["bands"][0];
    assert_eq!(band["band"], "13-15");
    for kind in ["standard", "vulnerable"] {
        assert_eq!(
            band[kind]["harmful_off"],
            source[kind]["off"]["harmful_share"]
        );
        assert_eq!(
            band[kind]["harmful_on"],
            source[kind]["on"]["harmful_share"]
        );
        assert_eq!(
            band[kind]["primary_priority_on_max"],
            source[kind]["on"]["primary_priority_max"]
        );
    }
    assert_eq!(
        band["harmful_ratio_off"],
        source["vulnerable_over_standard"]["harmful_off"]
    );
    let off = band["vulnerable"]["harmful_off"]["mean"].as_f64().unwrap();
    assert!(
        off > 0.0,
        "the unguarded engagement recommender serves harm: {band}"
    );
    assert_eq!(band["vulnerable"]["harmful_on"]["mean"], 0.0);
    assert!(risk(&json, "audit-missing:recommender").is_none());
    let harm = risk(&json, "audit-harm:recommender:engagement").expect("audit-harm risk");
    let rated = |risk: &Value, band: &str| {
        risk["bands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["band"] == band)
            .unwrap()["assessed"]["overall"]
            .clone()
    };
    assert_eq!(rated(harm, "13-15"), "medium");
    assert_eq!(rated(harm, "6-9"), "low");
    let html = std::fs::read_to_string(with.join("report.html")).unwrap();
    assert!(
        html.contains("The guard&#x27;s measured effect")
            || html.contains("The guard's measured effect")
    );
    assert!(html.contains(&sha256(results_text.as_bytes())));
    assert!(html.contains(results["hashes"]["catalogue_sha256"].as_str().unwrap()));
    assert!(html.contains("Harmful share served by"), "no audit plot");
    assert!(html.contains(&format!("{:.1}%", off * 100.0)), "{html}");

    // The with/without curves over the session: the audit's windows, in report.json and
    // drawn per recommender and band, four lines each, with their data table.
    assert_eq!(json["audit"]["window_items"], 50);
    let windows = source["vulnerable"]["off"]["harmful_windows"]
        .as_array()
        .unwrap();
    assert!(windows.len() > 1, "{source}");
    for (kind, guard) in [
        ("standard", "off"),
        ("vulnerable", "off"),
        ("standard", "on"),
    ] {
        assert_eq!(
            band[kind][format!("harmful_windows_{guard}")],
            source[kind][guard]["harmful_windows"]
        );
    }
    let bands = json["audit"]["recommenders"][0]["bands"]
        .as_array()
        .unwrap();
    for idx in 0..bands.len() {
        let start = html
            .find(&format!("<title id=\"chart-curve-0-{idx}-title\">"))
            .unwrap_or_else(|| panic!("no curve chart for band {idx}"));
        let figure = &html[start..start + html[start..].find("</table>").unwrap()];
        let lines: Vec<&str> = figure.split("<polyline ").skip(1).collect();
        assert_eq!(lines.len(), 4, "four curves: {figure}");
        let points = lines[2].split("points=\"").nth(1).unwrap();
        let points = &points[..points.find('"').unwrap()];
        assert_eq!(points.split(' ').count(), windows.len(), "{figure}");
        assert!(figure.contains("<th scope=\"row\">1–50</th>"), "{figure}");
        assert!(
            figure.contains("without and with the guard (the plot&#39;s data)</caption>"),
            "{figure}"
        );
    }
    let first = windows[0].as_f64().unwrap();
    let curve = &html[html.find("chart-curve-0-0-title").unwrap()..];
    let row = &curve[curve.find("<th scope=\"row\">1–50</th>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!("{:.1}%", first * 100.0)),
        "the first window's vulnerable unguarded share {first} in {row}"
    );

    // The results read back as the audit's own typed value, field for field.
    let typed: ward_audit::report::AuditResult = serde_json::from_str(&results_text).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), results);
    // The same inputs give the same bytes, the audit included.
    let again = dir.join("again");
    let output = policy_report(&again, &["--audit", results_path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    for name in ["report.json", "report.html"] {
        assert_eq!(
            std::fs::read(with.join(name)).unwrap(),
            std::fs::read(again.join(name)).unwrap(),
            "{name} differs between two runs"
        );
    }

    // The example dpia.toml confirms `audit-missing`, which --audit no longer proposes: the
    // decision is kept apart, with a warning naming where it is.
    let decided = dir.join("decided");
    let output = policy_report(
        &decided,
        &[
            "--audit",
            results_path.to_str().unwrap(),
            "--dpia",
            "examples/dpia/clipstream.toml",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "warning: examples/dpia/clipstream.toml:53:6: risk `audit-missing:recommender` is \
             not proposed in this report"
        ),
        "{stderr}"
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(decided.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        json["decisions_not_proposed"][0]["id"],
        "audit-missing:recommender"
    );
    assert!(risk(&json, "audit-missing:recommender").is_none());
    let html = std::fs::read_to_string(decided.join("report.html")).unwrap();
    assert!(html.contains("Decisions for risks not proposed this time"));
    // No warning when every decision names a proposed risk.
    let output = policy_report(
        &dir.join("quiet"),
        &["--dpia", "examples/dpia/clipstream.toml"],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("warning"));

    // A hand-made result with a primary priority item served with the guard: a high risk.
    let mut leaky = results.clone();
    leaky["recommenders"][0]["bands"][0]["vulnerable"]["on"]["primary_priority_max"] = json!(3);
    let leaky_path = dir.join("leaky.json");
    std::fs::write(&leaky_path, serde_json::to_string_pretty(&leaky).unwrap()).unwrap();
    let leaky_out = dir.join("leaky");
    let output = policy_report(&leaky_out, &["--audit", leaky_path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(leaky_out.join("report.json")).unwrap()).unwrap();
    let harm = risk(&json, "audit-harm:recommender:engagement").unwrap();
    assert_eq!(rated(harm, "13-15"), "high", "{harm:#}");

    // A malformed results file is refused with its line and column.
    let bad_path = dir.join("bad.json");
    std::fs::write(&bad_path, "{\n  \"schema\": 1,\n  \"ward_version\": 7\n}\n").unwrap();
    let bad = policy_report(&dir.join("bad"), &["--audit", bad_path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains(&format!("{}:3:19: invalid type", bad_path.display())),
        "{stderr}"
    );
    // An unknown field, or a word ward never writes, is refused too.
    let mut unknown = results.clone();
    unknown["extra"] = json!(1);
    std::fs::write(&bad_path, serde_json::to_string_pretty(&unknown).unwrap()).unwrap();
    let bad = policy_report(&dir.join("bad"), &["--audit", bad_path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown field `extra`"));
    let mut band_word = results.clone();
    band_word["recommenders"][0]["bands"][0]["band"] = json!("13-14");
    std::fs::write(&bad_path, serde_json::to_string_pretty(&band_word).unwrap()).unwrap();
    let bad = policy_report(&dir.join("bad"), &["--audit", bad_path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("`13-14` is not an age band"),
        "{bad:?}"
    );
}
