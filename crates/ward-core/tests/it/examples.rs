//! The shipped examples and `ward init`'s starter: compliant ones are silent, the
//! non-compliant one trips the rules it was written to trip.

use std::collections::BTreeSet;

use ward_core::report::{CheckReport, Verdict};

fn example(name: &str) -> String {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn the_compliant_examples_have_no_findings_at_all() {
    for name in ["clipstream.toml", "questworld.toml"] {
        let source = example(name);
        let report = CheckReport::new(name, &source);
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.finding.rule, f.finding.message.as_str()))
            .collect();
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        assert_eq!(report.verdict(true), Verdict::Pass);
    }
}

#[test]
fn the_starter_policy_passes() {
    let report = CheckReport::new("ward.toml", ward_core::STARTER_POLICY);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

#[test]
fn the_non_compliant_example_trips_every_rule() {
    let source = example("chatterbox.toml");
    let report = CheckReport::new("chatterbox.toml", &source);
    assert_eq!(report.verdict(false), Verdict::Fail);
    let fired: BTreeSet<&str> = report.findings.iter().map(|f| f.finding.rule).collect();
    let all: BTreeSet<&str> = ward_core::lint::RULES.iter().map(|r| r.id).collect();
    assert_eq!(
        fired,
        all,
        "rules the example no longer trips: {:?}",
        all.difference(&fired).collect::<Vec<_>>()
    );
}
