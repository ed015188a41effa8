//! Third-party tools accept what ward writes: Microsoft's SARIF multitool (with its GitHub
//! code-scanning rules) validates `ward check --format sarif`; Prometheus' `promtool check
//! metrics` and the Python `prometheus_client` package's OpenMetrics parser read what a real
//! `ward serve` answers at `/metrics`; IAB Tech Lab's `@iabtechlabtcf/core` and
//! `@iabgpp/cmpapi` decode the TC and GPP strings `GET /v1/children/{id}/signals` answers;
//! ajv (strict, draft 2020-12) holds real `results.json` and `report.json` files to their
//! schemas in `docs/schemas`, and refuses them altered; Node's own Ed25519 (`node:crypto`)
//! verifies the signed ledger checkpoints of `ward ledger checkpoint` and
//! `GET /v1/ledger/checkpoint` from the README's format alone, and refuses a byte changed.
//!
//! The tools are installed by `.ci/run`: the multitool, the IAB's libraries and ajv by
//! `npm ci` in `tests/tools`, promtool from Debian's `prometheus` package, the parser by
//! `pip install -r tests/tools/requirements.txt`. A missing tool prints `skipped: …` and passes, unless
//! `WARD_TEST_TOOLS=required` (as `.ci/run` sets), when it fails. No tool reaches the network:
//! the multitool's one network rule (SARIF2006, "URIs should be reachable") is pointed at a
//! proxy on a closed loopback port, so each of its requests fails on this machine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::serve::{Serving, admin_key};
use crate::{repo_root, scratch, ward};

/// Whether a missing tool fails the test instead of skipping it.
fn tools_required() -> bool {
    std::env::var("WARD_TEST_TOOLS").is_ok_and(|value| value == "required")
}

/// `Some(why)` skips the test (or fails it when tools are required).
fn skip_if_missing(test: &str, missing: Option<String>) -> bool {
    let Some(why) = missing else {
        return false;
    };
    assert!(
        !tools_required(),
        "WARD_TEST_TOOLS=required, but {test} cannot run: {why}"
    );
    eprintln!("skipped: {test} ({why}; WARD_TEST_TOOLS=required makes this fail)");
    true
}

/// Why a test's npm packages in `tests/tools` cannot run, if they cannot.
fn node_packages_missing(packages: &[&str]) -> Option<String> {
    let modules = repo_root().join("tests/tools/node_modules");
    for package in packages {
        if !modules.join(package).is_dir() {
            return Some(format!(
                "{package} is not installed (npm ci in tests/tools)"
            ));
        }
    }
    node_missing()
}

/// Why `node` cannot run, if it cannot.
fn node_missing() -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => None,
        _ => Some("node is not installed".to_owned()),
    }
}

/// Runs `program` with `args`, `stdin` written to it, and reports how long it took.
/// Runs `node tests/tools/SCRIPT ARGS…` with one JSON document a line on its stdin and reads
/// one JSON document a line from its stdout; `what` says what failed when it does not run.
fn node_lines(script: &str, args: &[&Path], input: &[Value], what: &str) -> Vec<Value> {
    let input: String = input.iter().map(|value| value.to_string() + "\n").collect();
    let output = run(
        Command::new("node")
            .arg(repo_root().join("tests/tools").join(script))
            .args(args)
            .current_dir(repo_root().join("tests/tools")),
        input.as_bytes(),
    );
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn run(program: &mut Command, stdin: &[u8]) -> Output {
    let started = Instant::now();
    let mut child = program
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("the tool reads its input");
    let output = child.wait_with_output().expect("the tool ends");
    eprintln!(
        "{:?} took {:.2} s",
        program.get_program(),
        started.elapsed().as_secs_f64()
    );
    output
}

// ---- SARIF ---------------------------------------------------------------------------------

/// The multitool's native Linux build, as the npm package ships it (run directly: the npm
/// wrapper passes its arguments through a shell).
fn multitool() -> PathBuf {
    repo_root().join("tests/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool")
}

/// Validates `logs` with the multitool's SARIF and GitHub (`Ghas`) rules at every level and
/// returns its own SARIF log of what it found.
fn validate(logs: &[PathBuf], out_dir: &Path) -> Value {
    let report = out_dir.join("validation.sarif");
    let mut command = Command::new(multitool());
    command
        .args([
            "validate",
            "--rule-kind",
            "Sarif;Ghas",
            "--level",
            "Error;Warning;Note",
            "--output",
        ])
        .arg(&report)
        .args(logs)
        // .NET without ICU (the multitool needs no culture data), and no telemetry.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .env("DOTNET_BUNDLE_EXTRACT_BASE_DIR", out_dir.join("dotnet"))
        .env("HOME", out_dir);
    // SARIF2006 GETs every URI in the log: through a proxy nobody listens on, it never
    // leaves the machine (it reports each as unreachable, a note).
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env(proxy, "http://127.0.0.1:9");
    }
    command.env_remove("NO_PROXY").env_remove("no_proxy");
    let output = run(&mut command, b"");
    assert!(
        output.status.success(),
        "the multitool failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(&report).expect("the multitool wrote its report"))
        .expect("its report is JSON")
}

/// Every error and warning in the multitool's report: its results and its own notifications
/// (a rule that could not run, a file it could not read).
fn problems(report: &Value) -> Vec<String> {
    let run = &report["runs"][0];
    let mut problems = Vec::new();
    let invocation = &run["invocations"][0];
    if invocation["executionSuccessful"] != true {
        problems.push(format!("the run did not succeed: {invocation}"));
    }
    for kind in [
        "toolExecutionNotifications",
        "toolConfigurationNotifications",
    ] {
        for notification in invocation[kind].as_array().into_iter().flatten() {
            if notification["level"] != "note" && notification["level"] != "none" {
                problems.push(format!("{kind}: {}", notification["message"]["text"]));
            }
        }
    }
    for result in run["results"].as_array().into_iter().flatten() {
        // A result without a level is a warning (SARIF 3.27.10).
        let level = result["level"].as_str().unwrap_or("warning");
        if level == "error" || level == "warning" {
            // The multitool writes a message as the id of its template and its arguments
            // (the first is the JSON pointer of what it found).
            let message = &result["message"];
            let said = message["text"].as_str().map_or_else(
                || format!("{} {}", message["id"], message["arguments"]),
                str::to_owned,
            );
            let file = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            problems.push(format!(
                "{level} {} in {file}: {said}",
                result["ruleId"].as_str().unwrap_or("?")
            ));
        }
    }
    problems
}

#[test]
fn sarif_passes_the_multitools_sarif_and_github_rules() {
    let tool = multitool();
    let missing = (!tool.is_file()).then(|| {
        format!(
            "no SARIF multitool at {} (run `npm ci` in tests/tools)",
            tool.display()
        )
    });
    if skip_if_missing("the SARIF multitool test", missing) {
        return;
    }
    let dir = scratch("sarif-multitool");
    let schema_error = dir.join("schema-error.toml");
    std::fs::write(
        &schema_error,
        "[service]\nname = \"x\"\nkind = \"game\"\nmin_age = 8\nminage = 9\n",
    )
    .unwrap();
    // Every rule fires on chatterbox, none on clipstream; the schema error is its own rule,
    // and its absolute path makes a `file:` URI.
    let mut logs = Vec::new();
    for (name, policy, exit) in [
        ("chatterbox", "examples/chatterbox.toml", 1),
        ("clipstream", "examples/clipstream.toml", 0),
        ("schema-error", schema_error.to_str().unwrap(), 2),
    ] {
        let output = ward(&["check", policy, "--format", "sarif"]);
        assert_eq!(output.status.code(), Some(exit), "{name}");
        let log = dir.join(format!("{name}.sarif"));
        std::fs::write(&log, &output.stdout).unwrap();
        logs.push(log);
    }
    let chatterbox: Value = serde_json::from_slice(&std::fs::read(&logs[0]).unwrap()).unwrap();
    let fired: std::collections::BTreeSet<&str> = chatterbox["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(
        fired.len(),
        ward_core_rule_count(),
        "every rule fires on chatterbox: {fired:?}"
    );

    let report = validate(&logs, &dir);
    let problems = problems(&report);
    assert!(
        problems.is_empty(),
        "the multitool found {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let notes = report["runs"][0]["results"].as_array().map_or(0, Vec::len);
    eprintln!("the multitool: no errors, no warnings, {notes} notes");
}

/// How many rules `ward explain` lists (every rule but `schema`).
fn ward_core_rule_count() -> usize {
    let list = String::from_utf8(ward(&["explain"]).stdout).unwrap();
    list.lines().filter(|l| l.starts_with("  ")).count()
}

/// The check is sharp: the SARIF ward wrote before this fix (a rule without `help`, no
/// `informationUri`) fails it.
#[test]
fn the_multitool_rejects_a_rule_without_help() {
    if skip_if_missing(
        "the SARIF multitool test",
        (!multitool().is_file())
            .then(|| "no SARIF multitool (run `npm ci` in tests/tools)".to_owned()),
    ) {
        return;
    }
    let dir = scratch("sarif-multitool-sharp");
    let output = ward(&["check", "examples/clipstream.toml", "--format", "sarif"]);
    let mut log: Value = serde_json::from_slice(&output.stdout).unwrap();
    let driver = &mut log["runs"][0]["tool"]["driver"];
    driver.as_object_mut().unwrap().remove("informationUri");
    driver["rules"][0].as_object_mut().unwrap().remove("help");
    let path = dir.join("old.sarif");
    std::fs::write(&path, serde_json::to_vec(&log).unwrap()).unwrap();
    let found = problems(&validate(&[path], &dir)).join("\n");
    assert!(found.contains("error GH2012"), "{found}");
    assert!(found.contains("warning SARIF2005"), "{found}");
}

// ---- /metrics ------------------------------------------------------------------------------

/// Prometheus 2.x's scrape `Accept` header.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A `promtool` from `WARD_PROMTOOL`, else from `PATH`.
fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WARD_PROMTOOL") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|candidate| candidate.is_file())
    })
}

/// Why the Python OpenMetrics parser cannot run, if it cannot.
fn openmetrics_parser_missing() -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Ok(status) if status.success() => None,
        Ok(_) => Some(
            "the Python package prometheus_client is not installed (pip install -r tests/tools/requirements.txt)"
                .to_owned(),
        ),
        Err(_) => Some("python3 is not installed".to_owned()),
    }
}

/// `/metrics` after some traffic: a child, decisions, a feed call, a 404 and a 405. Returns
/// the OpenMetrics body (as Prometheus asks) and the text-format body (as `curl` asks).
async fn scraped_after_traffic() -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let token = admin_key(&database);
    let server = Serving::start(&database, &repo_root().join("examples/clipstream.toml"));
    let client = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder| async {
        request
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let base = &server.base;
    assert_eq!(
        send(
            client
                .put(format!("{base}/v1/children/kid-1"))
                .json(&serde_json::json!({"age": {"method": "parent_declared", "age": 10}}))
        )
        .await,
        201
    );
    for child in ["kid-1", "stranger"] {
        let decision = serde_json::json!({"child": child, "purpose": "recommend-videos"});
        assert_eq!(
            send(client.post(format!("{base}/v1/decide")).json(&decision)).await,
            200
        );
    }
    assert_eq!(send(client.get(format!("{base}/no/such/route"))).await, 404);
    assert_eq!(send(client.get(format!("{base}/v1/decide"))).await, 405);
    let scrape = |accept: Option<&'static str>| {
        let mut request = client.get(format!("{base}/metrics"));
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            (content_type, response.text().await.unwrap())
        }
    };
    let (openmetrics_type, openmetrics) = scrape(Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(
        openmetrics_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let (text_type, text) = scrape(None).await;
    assert_eq!(text_type, "text/plain; version=0.0.4; charset=utf-8");
    (openmetrics, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_no_problem_in_the_text_format() {
    let Some(promtool) = promtool() else {
        skip_if_missing(
            "the promtool test",
            Some("promtool is not installed (Debian's `prometheus` package has it)".to_owned()),
        );
        return;
    };
    let (openmetrics, text) = scraped_after_traffic().await;
    assert!(
        text.contains(
            "ward_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "ward_http_requests_total{route=\"/v1/decide\",method=\"GET\",status=\"405\"} 1"
        ),
        "{text}"
    );
    let check = |body: &str| {
        let output = run(
            Command::new(&promtool).args(["check", "metrics"]),
            body.as_bytes(),
        );
        (
            output.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    let (code, said) = check(&text);
    assert_eq!(code, Some(0), "promtool: {said}\n{text}");
    assert!(said.trim().is_empty(), "promtool reported problems: {said}");
    // The check is sharp: the OpenMetrics body read as 0.0.4 (what ward served before)
    // loses every counter's help.
    let (code, said) = check(&openmetrics);
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("ward_decisions_total no help text"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openmetrics_parser_reads_every_family_with_its_type_and_help() {
    if skip_if_missing("the OpenMetrics parser test", openmetrics_parser_missing()) {
        return;
    }
    let (openmetrics, text) = scraped_after_traffic().await;
    let parse = |body: &str| {
        run(
            Command::new("python3").arg(repo_root().join("tests/tools/openmetrics_check.py")),
            body.as_bytes(),
        )
    };
    let output = parse(&openmetrics);
    assert!(
        output.status.success(),
        "{}\n{openmetrics}",
        String::from_utf8_lossy(&output.stderr)
    );
    let families: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no family {name} in {families:?}"))
    };
    for (name, kind) in [
        ("ward_http_requests", "counter"),
        ("ward_http_request_duration_seconds", "histogram"),
        ("ward_decisions", "counter"),
        ("ward_cache_hits", "counter"),
        ("ward_cache_misses", "counter"),
    ] {
        assert_eq!(family(name)["type"], kind, "{name}");
        assert!(!family(name)["help"].as_str().unwrap().is_empty(), "{name}");
    }
    let counted = |route: &str, status: &str| {
        family("ward_http_requests")["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["labels"]["route"] == route && s["labels"]["status"] == status)
            .map(|s| s["value"].as_f64().unwrap())
    };
    assert_eq!(counted("unmatched", "404"), Some(1.0));
    assert_eq!(counted("/v1/decide", "405"), Some(1.0));
    assert_eq!(counted("/v1/decide", "200"), Some(2.0));
    // The check is sharp: the text format is not OpenMetrics.
    assert!(!parse(&text).status.success());
}

// ---- IAB TCF and GPP -------------------------------------------------------------------------

/// The signals of children of every kind, from a real `ward serve` on a policy that serves
/// GB, DE and the US: `(what, signals)`.
async fn signals_of_children() -> Vec<(String, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db").display().to_string();
    let policy = std::fs::read_to_string(repo_root().join("examples/questworld.toml"))
        .unwrap()
        .replace(
            "jurisdictions = [\"GB\", \"DE\"]",
            "jurisdictions = [\"GB\", \"DE\", \"US\"]",
        );
    assert!(policy.contains("\"US\""));
    let policy_path = dir.path().join("ward.toml");
    std::fs::write(&policy_path, policy).unwrap();
    let token = admin_key(&database);
    let server = Serving::start(&database, &policy_path);
    let client = reqwest::Client::new();
    let base = &server.base;
    let call = |request: reqwest::RequestBuilder| async {
        let response = request.bearer_auth(&token).send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let mut out = Vec::new();
    for (child, age, jurisdiction, ads) in [
        ("gb-15-ads", 15, "GB", true),
        ("gb-15", 15, "GB", false),
        ("de-14", 14, "DE", false),
        ("us-13-ads", 13, "US", true),
        ("us-16", 16, "US", false),
        ("adult-ads", 30, "GB", true),
    ] {
        let age_record = if age >= 18 {
            serde_json::json!({"method": "verified", "age": age})
        } else {
            serde_json::json!({"method": "parent_declared", "age": age})
        };
        let (status, body) = call(
            client
                .put(format!("{base}/v1/children/{child}"))
                .json(&serde_json::json!({"age": age_record, "jurisdiction": jurisdiction})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        if ads {
            let (status, body) = call(
                client
                    .post(format!(
                        "{base}/v1/children/{child}/settings/personalised-ads"
                    ))
                    .json(&serde_json::json!({"value": "on"})),
            )
            .await;
            // An adult switches on in one step (200); a child acknowledges the intervention.
            if status == 202 {
                let id = body["intervention"]["id"].as_str().unwrap();
                let (status, body) = call(
                    client
                        .post(format!("{base}/v1/interventions/{id}/acknowledge"))
                        .json(&serde_json::json!({})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            } else {
                assert_eq!((status, age >= 18), (200, true), "{body}");
            }
        }
        for gpc in [false, true] {
            let mut request = client.get(format!("{base}/v1/children/{child}/signals"));
            if gpc {
                request = request.header("Sec-GPC", "1");
            }
            let (status, body) = call(request).await;
            assert_eq!(status, 200, "{body}");
            out.push((format!("{child} gpc={gpc}"), body));
        }
    }
    server.kill();
    out
}

#[tokio::test]
async fn iab_tech_labs_own_libraries_decode_every_string_to_the_fields_ward_meant() {
    if skip_if_missing(
        "iab_tech_labs_own_libraries_decode_every_string",
        node_packages_missing(&["@iabtechlabtcf/core", "@iabgpp/cmpapi"]),
    ) {
        return;
    }
    let cases = signals_of_children().await;
    let input: Vec<Value> = cases
        .iter()
        .map(|(_, s)| serde_json::json!({"tc": s["tcf"]["tc_string"], "gpp": s["gpp"]["string"]}))
        .collect();
    let decoded = node_lines(
        "iab_decode.mjs",
        &[],
        &input,
        "the IAB decoders could not run",
    );
    assert_eq!(decoded.len(), cases.len());
    let mut saw_usnat = false;
    for ((what, ours), theirs) in cases.iter().zip(&decoded) {
        let tcf = &ours["tcf"];
        let tc = &theirs["tc"];
        assert!(tc.get("error").is_none(), "{what}: {tc}");
        for field in [
            "cmp_id",
            "vendor_list_version",
            "policy_version",
            "publisher_country",
            "purpose_consents",
            "purpose_legitimate_interests",
            "special_feature_opt_ins",
            "vendor_consents",
            "vendor_legitimate_interests",
            "disclosed_vendors",
        ] {
            assert_eq!(
                tc[field], tcf[field],
                "{what}: `{field}` per @iabtechlabtcf/core"
            );
        }
        assert_eq!(tc["version"], 2);
        assert_eq!(tc["is_service_specific"], true);
        assert_eq!(tc["purpose_one_treatment"], false);
        assert_eq!(tc["cmp_version"], 4);
        assert_eq!(tc["consent_language"], "EN");
        assert_eq!(tc["created"], tc["last_updated"]);
        assert_eq!(
            tc["created"].as_i64().unwrap() % 86_400_000,
            0,
            "day precision"
        );
        assert_eq!(
            tc["publisher_restrictions"],
            serde_json::json!([{"purpose": 2, "type": 1, "vendors": [755]}]),
            "{what}"
        );

        let gpp = &theirs["gpp"];
        assert!(gpp.get("error").is_none(), "{what}: {gpp}");
        assert_eq!(gpp["section_ids"], serde_json::json!([2, 7]), "{what}");
        let section = &gpp["tcfeuv2"];
        assert_eq!(section["cmp_id"], 300);
        assert_eq!(
            section["purpose_consents"], tcf["purpose_consents"],
            "{what}"
        );
        assert_eq!(section["vendor_consents"], tcf["vendor_consents"]);
        assert_eq!(section["disclosed_vendors"], tcf["disclosed_vendors"]);
        assert_eq!(
            section["publisher_restrictions"],
            serde_json::json!([{"key": 2, "type": 1, "ids": [755]}])
        );
        let usnat = &gpp["usnat"];
        assert_eq!(usnat["version"], 2);
        assert_eq!(usnat["gpc"], ours["gpc"], "{what}");
        let ads = ours["personalised_ads"].as_bool().unwrap();
        assert_eq!(
            usnat["targeted_advertising_opt_out"],
            if ads { 2 } else { 1 },
            "{what}"
        );
        assert_eq!(usnat["sale_opt_out"], if ads { 2 } else { 1 });
        assert_eq!(usnat["mspa_covered_transaction"], 2);
        let consent = if ads { 2 } else { 1 };
        let expected_kids = match what.split(['-', ' ']).nth(1).unwrap() {
            "13" | "14" | "15" => serde_json::json!([consent, 0, 0]),
            "16" => serde_json::json!([0, 0, consent]),
            _ => serde_json::json!([0, 0, 0]),
        };
        assert_eq!(
            usnat["known_child_sensitive_data_consents"], expected_kids,
            "{what}"
        );
        saw_usnat |= what.starts_with("us-");
    }
    assert!(saw_usnat);
    // The strings change with the state: ads on, ads off and GPC give three TC strings.
    let strings: std::collections::BTreeSet<&str> = cases
        .iter()
        .filter(|(what, _)| what.starts_with("gb-15"))
        .map(|(_, s)| s["tcf"]["tc_string"].as_str().unwrap())
        .collect();
    assert_eq!(
        strings.len(),
        2,
        "ads on differs from ads off, and GPC equals off"
    );
}

// ---- JSON Schemas: results.json and report.json --------------------------------------------

/// The `$id` of `docs/schemas/audit-results.schema.json`.
const AUDIT_SCHEMA: &str = "urn:ward:schema:audit-results:1";
/// The `$id` of `docs/schemas/report.schema.json`.
const REPORT_SCHEMA: &str = "urn:ward:schema:report:ward-report-1";

/// Validates each `(schema id, document)` with ajv (`tests/tools/schema_check.mjs`, strict
/// mode, draft 2020-12, with ajv-formats) against ward's schemas; one `{valid, errors}` each.
fn ajv(documents: &[(&str, &Value)]) -> Vec<Value> {
    let input: Vec<Value> = documents
        .iter()
        .map(|(schema, document)| serde_json::json!({"schema": schema, "document": document}))
        .collect();
    let schemas = repo_root().join("docs/schemas");
    let verdicts = node_lines(
        "schema_check.mjs",
        &[
            &schemas.join("audit-results.schema.json"),
            &schemas.join("report.schema.json"),
        ],
        &input,
        "ajv could not run (a schema strict mode rejects?)",
    );
    assert_eq!(verdicts.len(), documents.len());
    verdicts
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn ajv_accepts_real_results_and_reports_and_rejects_them_altered() {
    if skip_if_missing(
        "ajv_accepts_real_results_and_reports",
        node_packages_missing(&["ajv", "ajv-formats"]),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let database = database.to_str().unwrap();
    crate::report::seeded(database);
    let audit = crate::report::small_audit(dir.path()).join("results.json");
    let dpia = repo_root().join("examples/dpia/clipstream.toml");
    let report = |name: &str, policy: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["report", "--policy", policy, "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let output = ward(&args);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        read_json(&out.join("report.json"))
    };
    // Every section filled: the store, the audit, dpia.toml, and a previous report.
    let full = [
        "--database",
        database,
        "--audit",
        audit.to_str().unwrap(),
        "--dpia",
        dpia.to_str().unwrap(),
    ];
    let first = report("first", "examples/clipstream.toml", &full);
    let previous = dir.path().join("first/report.json");
    let mut with_previous = full.to_vec();
    with_previous.extend(["--previous", previous.to_str().unwrap()]);
    let second = report("second", "examples/clipstream.toml", &with_previous);
    // Every optional section empty: the policy alone.
    let bare = report("bare", "examples/clipstream.toml", &[]);
    // Findings (chatterbox breaks every rule), and changes from another policy's report.
    let chatterbox = report("chatterbox", "examples/chatterbox.toml", &[]);
    let chatterbox_json = dir.path().join("chatterbox/report.json");
    let changed = report(
        "changed",
        "examples/clipstream.toml",
        &["--previous", chatterbox_json.to_str().unwrap()],
    );
    assert!(!chatterbox["findings"].as_array().unwrap().is_empty());
    assert!(
        !changed["changes"]["purposes_added"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for (what, section) in [
        ("evidence", &second["evidence"]),
        ("audit", &second["audit"]),
        ("sign_off", &second["sign_off"]),
        ("changes", &second["changes"]),
        ("ledger", &second["integrity"]["ledger"]),
    ] {
        assert!(section.is_object(), "{what} is filled: {section}");
    }
    assert!(bare["evidence"].is_null() && bare["as_of"].is_null());
    let results = read_json(&audit);
    // The spec's other shapes: every band (`null`), a catalogue file, a parent's blocks, the
    // declared anchor, two more recommenders; then a service's recommender over HTTP.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let spec = other.join("audit.toml");
    std::fs::write(
        &spec,
        format!(
            "seeds = 1\nslates = 20\nrecommenders = [\"popularity\", \"item_knn\"]\n\
             anchor = \"declared\"\n[catalogue]\nfile = {:?}\n\
             [parental]\nblocked_topics = [\"dieting\"]\n",
            audit.with_file_name("catalogue.jsonl").to_str().unwrap()
        ),
    )
    .unwrap();
    let output = crate::audit::audit_clipstream(&spec, &other, &["--jobs", "2"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let other_results = read_json(&other.join("results.json"));
    // A service's recommender over HTTP (audit.rs's test recommender).
    let http = dir.path().join("http");
    std::fs::create_dir_all(&http).unwrap();
    let (address, _, thread, stop) = crate::audit::start(false);
    let spec = crate::audit::http_spec(&http, address);
    let output = crate::audit::audit_clipstream(&spec, &http, &[]);
    let _ = stop.send(());
    thread.join().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let http_results = read_json(&http.join("results.json"));
    assert_eq!(http_results["recommenders"][0]["http"], true);
    assert_eq!(http_results["spec"]["http"][0]["timeout_ms"], 10_000);
    assert!(other_results["spec"]["bands"].is_null());
    assert!(other_results["spec"]["parental"].is_object());
    assert!(other_results["spec"]["catalogue"]["file"].is_string());

    let verdicts = ajv(&[
        (AUDIT_SCHEMA, &results),
        (AUDIT_SCHEMA, &other_results),
        (AUDIT_SCHEMA, &http_results),
        (REPORT_SCHEMA, &first),
        (REPORT_SCHEMA, &second),
        (REPORT_SCHEMA, &bare),
        (REPORT_SCHEMA, &chatterbox),
        (REPORT_SCHEMA, &changed),
    ]);
    for (what, verdict) in [
        "results.json",
        "report.json",
        "report.json --previous",
        "report.json bare",
        "report.json of chatterbox",
        "report.json changed from chatterbox's",
    ]
    .iter()
    .zip(&verdicts)
    {
        assert_eq!(verdict["valid"], true, "ajv rejects {what}: {verdict:#}");
    }

    // Altered by one field each, they are refused, for the reason altered.
    let altered = |document: &Value, pointer: &str, value: Option<Value>| {
        let mut document = document.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let object = document
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{parent} is an object"));
        match value {
            Some(value) => object.insert(key.to_owned(), value),
            None => object.remove(key),
        };
        document
    };
    let cases = [
        (
            AUDIT_SCHEMA,
            altered(&results, "/verdicts/unexpected", Some(1.into())),
            "/verdicts",
            "additionalProperties",
        ),
        (
            AUDIT_SCHEMA,
            altered(&results, "/recommenders/0/bands/0/age", Some("13".into())),
            "/recommenders/0/bands/0/age",
            "type",
        ),
        (
            AUDIT_SCHEMA,
            altered(
                &results,
                "/recommenders/0/bands/0/band",
                Some("13-16".into()),
            ),
            "/recommenders/0/bands/0/band",
            "enum",
        ),
        (
            AUDIT_SCHEMA,
            altered(&results, "/hashes/spec_sha256", None),
            "/hashes",
            "required",
        ),
        (
            REPORT_SCHEMA,
            altered(&second, "/risks/0/bands/0/decision", Some("maybe".into())),
            "/risks/0/bands/0/decision",
            "enum",
        ),
        (
            REPORT_SCHEMA,
            altered(&second, "/evidence/children/0/nickname", Some("Ava".into())),
            "/evidence/children/0",
            "additionalProperties",
        ),
        (
            REPORT_SCHEMA,
            altered(&second, "/as_of", Some("yesterday".into())),
            "/as_of",
            "format",
        ),
        (
            REPORT_SCHEMA,
            altered(&bare, "/schema", Some("ward-report/2".into())),
            "/schema",
            "const",
        ),
    ];
    let documents: Vec<(&str, &Value)> = cases.iter().map(|(s, d, _, _)| (*s, d)).collect();
    for ((_, _, path, keyword), verdict) in cases.iter().zip(ajv(&documents)) {
        assert_eq!(verdict["valid"], false, "{path}: {verdict:#}");
        let errors = verdict["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["path"] == *path && e["keyword"] == *keyword),
            "ajv refuses {path} for `{keyword}`: {verdict:#}"
        );
    }
}

// ---- Ledger checkpoints: Node's Ed25519 ----------------------------------------------------

/// `{valid}` (or `{error}`) per checkpoint, from Node's `crypto.verify` over the signed text
/// rebuilt from the README's format (`tests/tools/checkpoint_verify.mjs`).
fn node_verifies(checkpoints: &[Value]) -> Vec<Value> {
    node_lines(
        "checkpoint_verify.mjs",
        &[],
        checkpoints,
        "Node could not verify the checkpoints",
    )
}

/// The checkpoint with one byte of `field` (a hex string) changed.
fn one_byte_changed(checkpoint: &Value, field: &str) -> Value {
    let mut changed = checkpoint.clone();
    let text = checkpoint[field].as_str().unwrap();
    let first = if text.starts_with('0') { "1" } else { "0" };
    changed[field] = Value::from(format!("{first}{}", &text[1..]));
    changed
}

#[test]
fn nodes_own_ed25519_verifies_real_checkpoints_and_refuses_a_byte_changed() {
    if skip_if_missing(
        "nodes_own_ed25519_verifies_real_checkpoints",
        node_missing(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ward.db");
    let database = database.to_str().unwrap();
    crate::report::seeded(database);
    let made = ward(&["ledger", "checkpoint", "--database", database]);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let from_cli: Value = serde_json::from_slice(&made.stdout).unwrap();

    let token = admin_key(database);
    let server = Serving::start(database, &repo_root().join("examples/clipstream.toml"));
    let from_api: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let response = reqwest::Client::new()
                .get(format!("{}/v1/ledger/checkpoint", server.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json().await.unwrap()
        });
    server.kill();
    // One ledger, one key; the API's head is at or past the CLI's (the admin key made since
    // is an entry).
    assert!(from_cli["size"].as_i64().unwrap() > 10, "{from_cli}");
    assert!(
        from_api["size"].as_i64() >= from_cli["size"].as_i64(),
        "{from_api}"
    );
    assert_eq!(from_api["key"], from_cli["key"]);

    let mut cases = Vec::new();
    for checkpoint in [&from_cli, &from_api] {
        let size = checkpoint["size"].as_i64().unwrap();
        let mut longer = checkpoint.clone();
        longer["size"] = Value::from(size + 1);
        cases.extend([
            (checkpoint.clone(), true),
            (one_byte_changed(checkpoint, "head"), false),
            (one_byte_changed(checkpoint, "signature"), false),
            (longer, false),
        ]);
    }
    let checkpoints: Vec<Value> = cases.iter().map(|(c, _)| c.clone()).collect();
    for ((checkpoint, valid), verdict) in cases.iter().zip(node_verifies(&checkpoints)) {
        assert_eq!(
            verdict,
            serde_json::json!({ "valid": valid }),
            "{checkpoint}"
        );
    }
}
