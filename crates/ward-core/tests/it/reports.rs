//! The three output formats: the JSON shape of `RULES.md`, SARIF 2.1.0 and the human excerpt.

use serde_json::Value;
use ward_core::report::{CheckReport, Verdict};

use crate::support::{policy, purpose, service};

fn two_findings() -> String {
    // `missing-setting` on the analytics purpose, `public-profile-by-default` on [defaults].
    policy(
        service(),
        [
            purpose("feed", "content_recommendation"),
            purpose("stats", "analytics").unset("setting"),
        ],
        "[defaults]\nprofile_visibility = \"public\"\n",
    )
}

#[test]
fn json_has_exactly_the_documented_fields_sorted_by_line() {
    let source = two_findings();
    let json = CheckReport::new("ward.toml", &source).to_json();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    let keys: Vec<&str> = findings[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "rule",
        "severity",
        "subject",
        "message",
        "line",
        "column",
        "end_line",
        "end_column",
        "rests_on",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(findings[0]["rule"], "missing-setting");
    assert_eq!(findings[0]["subject"], "purpose:stats");
    assert_eq!(findings[0]["severity"], "error");
    // The whole purpose table: from its header to its last field.
    assert_eq!(
        (findings[0]["line"].as_u64(), findings[0]["column"].as_u64()),
        (Some(19), Some(1))
    );
    assert_eq!(findings[0]["end_line"].as_u64(), Some(27));
    assert_eq!(findings[1]["rule"], "public-profile-by-default");
    assert_eq!(findings[1]["subject"], "defaults");
    assert_eq!(
        (findings[1]["line"].as_u64(), findings[1]["column"].as_u64()),
        (Some(30), Some(22))
    );
    assert_eq!(
        (
            findings[1]["end_line"].as_u64(),
            findings[1]["end_column"].as_u64()
        ),
        (Some(30), Some(30))
    );
    assert_eq!(
        findings[1]["rests_on"],
        "Ensuring kids' profiles are private by default"
    );
}

#[test]
fn findings_on_one_line_are_sorted_by_rule() {
    let ads = purpose("ads", "behavioural_advertising").set("default", "\"on\"");
    let source = policy(service(), [ads], "");
    let json = CheckReport::new("ward.toml", &source).to_json();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["advertising-on-by-default", "default-on-without-reason"]
    );
}

#[test]
fn sarif_is_a_2_1_0_log_whose_results_point_at_their_rules() {
    let source = two_findings();
    let sarif = CheckReport::new("policies/ward.toml", &source).to_sarif();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "ward");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        ward_core::lint::RULES.len() + 1,
        "every rule plus `schema`"
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(matches!(
            result["level"].as_str(),
            Some("error" | "warning")
        ));
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "policies/ward.toml");
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(location["region"][key].as_u64().unwrap() >= 1, "{key}");
        }
    }
}

#[test]
fn sarif_carries_the_earlier_setting_as_a_related_location() {
    let source = policy(
        service(),
        [
            purpose("a", "content_recommendation"),
            purpose("b", "contact_suggestions").set("setting", "\"a\""),
        ],
        "",
    );
    let sarif = CheckReport::new("ward.toml", &source).to_sarif();
    let related: &Value = &sarif["runs"][0]["results"][0]["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["region"]["startLine"].as_u64(),
        Some(13)
    );
}

#[test]
fn the_human_report_shows_the_line_and_marks_the_span() {
    let source = two_findings();
    let human = CheckReport::new("ward.toml", &source).to_human(false);
    assert!(
        human.contains("error[public-profile-by-default]"),
        "{human}"
    );
    assert!(human.contains("--> ward.toml:30:22"), "{human}");
    assert!(human.contains("profile_visibility = \"public\""), "{human}");
    assert!(human.contains("^^^^^^^^"), "{human}");
    assert!(
        human.contains("rests on: \"Ensuring kids' profiles are private by default\""),
        "{human}"
    );
    assert!(
        human
            .trim_end()
            .ends_with("ward.toml: 2 errors, 0 warnings"),
        "{human}"
    );
}

#[test]
fn warnings_fail_only_when_denied() {
    let source = policy(
        service(),
        [purpose("moderation", "safeguarding").set("lawful_basis", "\"legal_obligation\"")],
        "",
    );
    let report = CheckReport::new("ward.toml", &source);
    assert_eq!(report.verdict(false), Verdict::Pass);
    assert_eq!(report.verdict(true), Verdict::Fail);
    assert_eq!(Verdict::Pass.exit_code(), 0);
    assert_eq!(Verdict::Fail.exit_code(), 1);
    assert_eq!(Verdict::SchemaError.exit_code(), 2);
}

#[test]
fn a_schema_error_is_one_finding_with_rule_schema() {
    let json = CheckReport::new("ward.toml", "[service]\nname = 3\n").to_json();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["rule"], "schema");
    assert_eq!(findings[0]["line"].as_u64(), Some(2));
}
