//! The three output formats: the JSON shape of `RULES.md`, SARIF 2.1.0 and the human excerpt.

use serde_json::Value;
use ward_core::report::{CheckReport, Verdict};

use crate::support::{policy, purpose, service, with_support};

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
    let json = CheckReport::new("ward.toml", &with_support(&source)).to_json();
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
    let json = CheckReport::new("ward.toml", &with_support(&source)).to_json();
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
    let sarif = CheckReport::new("policies/ward.toml", &with_support(&source)).to_sarif();
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

/// What GitHub code scanning and the SARIF multitool's rules ask of each rule (the multitool
/// itself runs in `crates/ward/tests/it/tools.rs`).
#[test]
fn every_sarif_rule_carries_a_name_descriptions_help_and_a_link_to_the_code() {
    let sarif = CheckReport::new("ward.toml", &with_support(&two_findings())).to_sarif();
    let driver = &sarif["runs"][0]["tool"]["driver"];
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://ico.org.uk/"),
        "{driver}"
    );
    let code = "https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/childrens-information/childrens-code-guidance-and-resources/age-appropriate-design-a-code-of-practice-for-online-services/";
    for rule in driver["rules"].as_array().unwrap() {
        let id = rule["id"].as_str().unwrap();
        let name = rule["name"].as_str().unwrap();
        assert!(is_pascal_case(name), "{id}: `{name}` is not PascalCase");
        assert_ne!(name.to_lowercase(), id.to_lowercase(), "name and id differ");
        for key in ["shortDescription", "fullDescription"] {
            assert!(
                !rule[key]["text"].as_str().unwrap().is_empty(),
                "{id} {key}"
            );
        }
        for key in ["text", "markdown"] {
            assert!(!rule["help"][key].as_str().unwrap().is_empty(), "{id} help");
        }
        if id == "schema" {
            // No page documents ward's schema publicly: no link rather than a wrong one.
            assert!(rule.get("helpUri").is_none(), "{rule}");
            continue;
        }
        let help_uri = rule["helpUri"].as_str().unwrap();
        assert!(help_uri.starts_with(code), "{id}: {help_uri}");
        let lint_rule = ward_core::lint::RULES.iter().find(|r| r.id == id).unwrap();
        let markdown = rule["help"]["markdown"].as_str().unwrap();
        assert!(
            markdown.contains(lint_rule.rests_on),
            "{id}: the Code's words"
        );
        assert!(markdown.contains(lint_rule.explanation), "{id}: how to fix");
        assert!(markdown.contains(help_uri), "{id}: the link");
    }
    let help_uri = |id: &str| {
        driver["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["helpUri"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(help_uri("shared-setting"), format!("{code}12-profiling/"));
    assert_eq!(
        help_uri("geolocation-on-by-default"),
        format!("{code}10-geolocation/")
    );
    assert_eq!(
        help_uri("public-profile-by-default"),
        format!("{code}7-default-settings/")
    );
}

/// The SARIF multitool's test for a rule name, `^(\p{Lu}[\p{Ll}\p{Nd}]+)*$`: words of one
/// capital followed by lower-case letters or digits.
fn is_pascal_case(name: &str) -> bool {
    let mut words: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_uppercase() {
            words.push(c.to_string());
        } else if let Some(word) = words.last_mut() {
            word.push(c);
        } else {
            return false;
        }
    }
    words.iter().all(|word| {
        word.chars()
            .skip(1)
            .all(|c| c.is_lowercase() || c.is_ascii_digit())
            && word.chars().count() > 1
    })
}

#[test]
fn the_pascal_case_test_matches_the_multitools() {
    for good in ["SharedSetting", "InvalidPolicyFile", "Tcf2Purposes"] {
        assert!(is_pascal_case(good), "{good}");
    }
    for bad in [
        "sharedSetting",
        "Shared-Setting",
        "ASetting",
        "SettingA",
        "Shared_Setting",
    ] {
        assert!(!is_pascal_case(bad), "{bad}");
    }
}

#[test]
fn sarif_locations_carry_the_text_they_point_at_and_its_lines() {
    // Without `[support]` (so line 30 stays the last): the rule it adds is not looked at.
    let source = two_findings();
    let sarif = CheckReport::new("ward.toml", &source).to_sarif();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "public-profile-by-default")
        .unwrap();
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["region"]["snippet"]["text"], "\"public\"");
    let context = &location["contextRegion"];
    // The line before, the finding's own line (30), and no line after: 30 is the file's last.
    assert_eq!(source.lines().count(), 30);
    assert_eq!(context["startLine"].as_u64(), Some(29));
    assert_eq!(context["endLine"].as_u64(), Some(30));
    let text = context["snippet"]["text"].as_str().unwrap();
    assert!(text.contains("profile_visibility = \"public\"\n"), "{text}");
}

#[test]
fn sarif_artifact_uris_are_uri_references() {
    let cases = [
        ("ward.toml", "ward.toml"),
        ("policies/ward.toml", "policies/ward.toml"),
        ("../my policies/a:b.toml", "../my%20policies/a%3Ab.toml"),
        ("policies\\ward.toml", "policies/ward.toml"),
        ("/srv/ward/ward.toml", "file:///srv/ward/ward.toml"),
        (
            "/srv/my ward/wärd.toml",
            "file:///srv/my%20ward/w%C3%A4rd.toml",
        ),
        ("C:\\ward\\ward.toml", "file:///C:/ward/ward.toml"),
    ];
    for (path, uri) in cases {
        let sarif = CheckReport::new(path, "[service]\nname = 3\n").to_sarif();
        assert_eq!(
            sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"],
            uri,
            "{path}"
        );
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
    let sarif = CheckReport::new("ward.toml", &with_support(&source)).to_sarif();
    let related: &Value = &sarif["runs"][0]["results"][0]["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["region"]["startLine"].as_u64(),
        Some(13)
    );
}

#[test]
fn the_human_report_shows_the_line_and_marks_the_span() {
    let source = two_findings();
    let human = CheckReport::new("ward.toml", &with_support(&source)).to_human(false);
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
    let source = with_support(&source);
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
