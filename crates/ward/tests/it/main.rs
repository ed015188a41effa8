//! End-to-end tests of the `ward` binary: real files, real processes, real exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod audit;
mod browser;
mod checkpoint;
mod crash;
mod feed;
mod outage;
mod report;
mod schemathesis;
mod serve;
mod shutdown;
mod tools;
mod webhooks;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("ward runs")
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A fresh directory under the target dir, emptied for this test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn compliant_examples_exit_zero() {
    for example in ["examples/clipstream.toml", "examples/questworld.toml"] {
        let output = ward(&["check", example, "--deny-warnings"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{example}: {}",
            stdout(&output)
        );
        assert!(stdout(&output).contains("no findings"));
    }
}

#[test]
fn the_non_compliant_example_exits_one_and_names_its_rules() {
    let output = ward(&["check", "examples/chatterbox.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    for rule in [
        "shared-setting",
        "advertising-on-by-default",
        "public-profile-by-default",
        "inactivity-nudge",
    ] {
        assert!(
            text.contains(&format!("error[{rule}]")),
            "{rule} missing from:\n{text}"
        );
    }
    assert!(text.contains("--> examples/chatterbox.toml:"), "{text}");
}

#[test]
fn json_output_is_the_documented_shape() {
    let output = ward(&["check", "examples/chatterbox.toml", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(findings.len() >= 24);
    let lines: Vec<u64> = findings
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines.windows(2).all(|pair| pair[0] <= pair[1]),
        "sorted by line"
    );
}

#[test]
fn sarif_output_is_a_sarif_log() {
    let output = ward(&["check", "examples/chatterbox.toml", "--format", "sarif"]);
    assert_eq!(output.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn a_schema_error_exits_two_with_line_and_column() {
    let dir = scratch("schema-error");
    let file = dir.join("ward.toml");
    std::fs::write(
        &file,
        "[service]\nname = \"x\"\nkind = \"game\"\nmin_age = 8\nminage = 9\n",
    )
    .unwrap();
    let output = ward(&["check", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(
        text.contains("error[schema]: unknown field `minage`"),
        "{text}"
    );
    assert!(text.contains("ward.toml:5:1"), "{text}");
}

#[test]
fn an_unreadable_file_exits_two() {
    let output = ward(&["check", "no/such/ward.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read `no/such/ward.toml`"));
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let dir = scratch("warnings");
    let file = dir.join("ward.toml");
    let policy = ward_starter().replace(
        "[[data]]",
        "[[purpose]]\nid = \"moderation\"\nname = \"Keeping chat safe\"\ncategory = \"safeguarding\"\ndescription = \"Scans chat for grooming and bullying so moderators can step in.\"\nsetting = \"moderation\"\nlawful_basis = \"legal_obligation\"\n\n[[data]]",
    );
    std::fs::write(&file, policy).unwrap();
    assert_eq!(
        ward(&["check", file.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        ward(&["check", file.to_str().unwrap(), "--deny-warnings"])
            .status
            .code(),
        Some(1)
    );
}

fn ward_starter() -> String {
    let dir = scratch("starter-source");
    let file = dir.join("ward.toml");
    assert!(ward(&["init", file.to_str().unwrap()]).status.success());
    std::fs::read_to_string(file).unwrap()
}

#[test]
fn init_writes_a_starter_that_passes_and_never_overwrites_silently() {
    let dir = scratch("init");
    let file = dir.join("ward.toml");
    let path = file.to_str().unwrap();
    assert_eq!(ward(&["init", path]).status.code(), Some(0));
    assert_eq!(
        ward(&["check", path, "--deny-warnings"]).status.code(),
        Some(0)
    );
    std::fs::write(&file, "# mine\n").unwrap();
    let again = ward(&["init", path]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# mine\n",
        "nothing lost"
    );
    assert_eq!(ward(&["init", path, "--force"]).status.code(), Some(0));
}

#[test]
fn explain_prints_the_rule_and_the_codes_words() {
    let output = ward(&["explain", "catch-all-purpose"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("catch-all-purpose (error)"), "{text}");
    assert!(text.contains(
        "Catch-all purposes, such as 'providing a personalised service' are not specific enough"
    ));
    assert!(text.contains("Standard 12"));
}

#[test]
fn explain_lists_every_rule_and_refuses_unknown_ones() {
    let list = stdout(&ward(&["explain"]));
    assert_eq!(
        list.lines().filter(|l| l.starts_with("  ")).count(),
        28,
        "{list}"
    );
    let text = stdout(&ward(&["explain", "unknown-tags-kept"]));
    assert!(text.starts_with("unknown-tags-kept (warning)"), "{text}");
    assert!(
        text.contains(
            "Where evidence is inconclusive you should apply the same precautionary principle"
        ),
        "{text}"
    );
    let unknown = ward(&["explain", "catch-all"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown rule `catch-all`"));
}
