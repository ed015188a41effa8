//! ward-report's integration tests: reports for the shipped examples, the risk register's
//! proposals, dpia.toml's strictness, determinism, the ledger's verdict on the first page,
//! and `--previous`. The counts against a real server are in `crates/ward/tests/it/report.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod hostile;

use std::path::{Path, PathBuf};

use ward_report::model::Overall;
use ward_report::{Inputs, LedgerRead, Report, build, to_html, to_json};

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.toml"));
    std::fs::read_to_string(path).unwrap()
}

fn inputs<'a>(policy: &'a str) -> Inputs<'a> {
    Inputs {
        policy_path: "ward.toml",
        policy_source: policy,
        dpia_source: None,
        previous: None,
        audit: None,
        ledger: None,
        as_of: None,
    }
}

fn report(policy: &str) -> Report {
    build(inputs(policy)).unwrap()
}

fn overall(report: &Report, id: &str, band: &str) -> Overall {
    let risk = report
        .risks
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no risk {id}"));
    risk.bands
        .iter()
        .find(|b| b.band == band)
        .unwrap()
        .assessed
        .overall
}

#[test]
fn every_shipped_example_makes_a_report() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let source = std::fs::read_to_string(&path).unwrap();
            let report = report(&source);
            let html = to_html(&report).unwrap();
            assert!(html.contains("Step 7: Sign-off"), "{}", path.display());
            let json: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
            assert_eq!(json["schema"], "ward-report/1");
            seen += 1;
        }
    }
    assert!(seen >= 3);
}

#[test]
fn chatterboxs_broken_rules_are_high_risks_in_every_band() {
    let report = report(&example("chatterbox"));
    for id in [
        "on-by-default:purpose:personalise",
        "on-by-default:purpose:ads",
        "protective-data-reused:purpose:personalise",
        "recommendation:purpose:personalise",
        "advertising:purpose:ads",
        "location:defaults",
        "location:purpose:nearby",
        "contact-suggestions:purpose:people-you-may-know",
        "engagement:purpose:streak-reminders",
        "automated-decision:purpose:spending-limit",
        "public-profile:defaults",
        "lint:shared-setting:purpose:ads",
        "lint:inactivity-nudge:purpose:streak-reminders",
    ] {
        for band in ["6-9", "10-12", "13-15", "16-17"] {
            assert_eq!(overall(&report, id, band), Overall::High, "{id} {band}");
        }
    }
    // Every lint finding is a risk.
    for finding in &report.findings {
        let id = format!("lint:{}:{}", finding.rule, finding.subject);
        assert!(report.risks.iter().any(|r| r.id == id), "{id}");
    }
}

#[test]
fn the_compliant_examples_propose_no_high_risk() {
    for name in ["clipstream", "questworld"] {
        let report = report(&example(name));
        assert!(report.findings.is_empty(), "{name}");
        for risk in &report.risks {
            for band in &risk.bands {
                assert_ne!(band.proposed.overall, Overall::High, "{name} {}", risk.id);
            }
        }
        assert!(!report.risks.is_empty(), "{name} still has risks to assess");
    }
}

#[test]
fn a_parents_consent_lowers_the_likelihood_for_bands_below_the_consent_age() {
    let report = report(&example("clipstream"));
    let id = "recommendation:purpose:recommend-videos";
    assert_eq!(overall(&report, id, "6-9"), Overall::Low);
    assert_eq!(overall(&report, id, "13-15"), Overall::Medium);
    let risk = report.risks.iter().find(|r| r.id == id).unwrap();
    assert!(
        risk.bands[0]
            .band_note
            .as_deref()
            .unwrap()
            .contains("parent")
    );
    assert!(risk.bands[2].band_note.is_none());
    assert!(risk.rights.iter().any(|r| r.article == 17));
}

#[test]
fn the_texts_shown_and_their_versions_are_in_the_report() {
    let source = example("clipstream");
    let report = report(&source);
    let purpose = report
        .purposes
        .iter()
        .find(|p| p.id == "recommend-videos")
        .unwrap();
    assert_eq!(purpose.texts.len(), 4);
    let text = &purpose.texts[0];
    assert_eq!(text.band, "6-9");
    assert!(
        text.explain
            .as_deref()
            .unwrap()
            .starts_with("If you switch this on")
    );
    assert_eq!(text.text_version.len(), 16);
    let html = to_html(&report).unwrap();
    assert!(html.contains(&text.text_version));
    // The data map: data → purposes → cookies.
    let watch = report
        .data_map
        .iter()
        .find(|d| d.id == "watch-history")
        .unwrap();
    assert_eq!(watch.read_by, ["recommend-videos"]);
    assert_eq!(watch.cookies, ["cs_rec"]);
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    for name in ["clipstream", "chatterbox", "questworld"] {
        let source = example(name);
        let (a, b) = (report(&source), report(&source));
        assert_eq!(to_json(&a), to_json(&b), "{name}");
        assert_eq!(to_html(&a).unwrap(), to_html(&b).unwrap(), "{name}");
    }
}

const DPIA: &str = r#"
[assessment]
title = "Clipstream DPIA 2026"
need = "Children from 8 use the service; recommendations profile them."

[[consultation]]
who = "Year 6 pupils, Hillside Primary (a panel of 12)"
when = "2026-10-14"
notes = "Asked for the explanation to say how to switch off; done."

[[risk]]
id = "recommendation:purpose:recommend-videos"
bands = ["13-15"]
decision = "override"
likelihood = "remote"
reason = "The audit found no harmful item served with the guard on."
measures = "Quarterly audit of the recommender."
effect = "reduced"
residual = "low"
approved = true

[[risk]]
id = "on-by-default:purpose:remember-subtitles"
decision = "confirm"

[sign_off]
measures_approved_by = "A. Patel, Head of Product, 2026-11-30"
residual_risks_approved_by = "A. Patel, 2026-11-30"
dpo_advice = "Proceed; audit quarterly."
dpo_advice_followed = true
review_date = "2027-06-01"
"#;

#[test]
fn dpia_toml_confirms_and_overrides_with_reasons_and_signs_off() {
    let source = example("clipstream");
    let report = build(Inputs {
        dpia_source: Some(DPIA),
        ..inputs(&source)
    })
    .unwrap();
    let risk = report
        .risks
        .iter()
        .find(|r| r.id == "recommendation:purpose:recommend-videos")
        .unwrap();
    let teen = risk.bands.iter().find(|b| b.band == "13-15").unwrap();
    assert_eq!(teen.decision, "overridden");
    assert_eq!(teen.proposed.overall, Overall::Medium);
    assert_eq!(teen.assessed.overall, Overall::Low);
    assert_eq!(teen.residual, Some(Overall::Low));
    let older = risk.bands.iter().find(|b| b.band == "16-17").unwrap();
    assert_eq!(older.decision, "proposed");
    let subtitles = report
        .risks
        .iter()
        .find(|r| r.id == "on-by-default:purpose:remember-subtitles")
        .unwrap();
    assert!(subtitles.bands.iter().all(|b| b.decision == "confirmed"));
    assert_eq!(report.need.title, "Clipstream DPIA 2026");
    assert_eq!(report.consultation.len(), 1);
    let sign_off = report.sign_off.as_ref().unwrap();
    assert_eq!(sign_off.review_date.to_string(), "2027-06-01");
    let html = to_html(&report).unwrap();
    assert!(html.contains("The audit found no harmful item served with the guard on."));
    assert!(html.contains("Overridden"));
    assert!(report.integrity.dpia_sha256.is_some());
}

/// Decisions on risks this register does not propose: its cause fixed (`recommend-videos` is
/// off by default now) and a rule that does not apply (clipstream's profiles are private).
const DPIA_NOT_PROPOSED: &str = r#"
[[risk]]
id = "on-by-default:purpose:recommend-videos"
decision = "confirm"
reason = "Was on by default until November; now off."

[[risk]]
id = "public-profile:defaults"
bands = ["13-15", "16-17"]
decision = "override"
likelihood = "remote"
severity = "severe"
reason = "Profiles are private; a public option is planned."
residual = "medium"
"#;

#[test]
fn a_decision_for_a_risk_not_proposed_is_kept_and_shown_apart() {
    let source = example("clipstream");
    let bare = report(&source);
    let report = build(Inputs {
        dpia_source: Some(DPIA_NOT_PROPOSED),
        ..inputs(&source)
    })
    .unwrap();
    // The register and its counts are untouched.
    assert_eq!(
        report.risks.iter().map(|r| &r.id).collect::<Vec<_>>(),
        bare.risks.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    assert!(
        report
            .risks
            .iter()
            .flat_map(|r| &r.bands)
            .all(|b| b.decision == "proposed")
    );
    assert_eq!(
        serde_json::to_value(&report.risk_summary).unwrap(),
        serde_json::to_value(&bare.risk_summary).unwrap()
    );
    let kept = &report.decisions_not_proposed;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0].id, "on-by-default:purpose:recommend-videos");
    assert_eq!(kept[0].rule, "on-by-default");
    assert_eq!(kept[0].decision, "confirmed");
    assert_eq!(kept[0].bands, ["6-9", "10-12", "13-15", "16-17"]);
    assert_eq!((kept[0].line, kept[0].column), (3, 6));
    assert_eq!(kept[1].decision, "overridden");
    assert_eq!(kept[1].bands, ["13-15", "16-17"]);
    assert_eq!(kept[1].overall, Some(Overall::Medium));
    assert_eq!(kept[1].residual, Some(Overall::Medium));
    assert_eq!((kept[1].line, kept[1].column), (8, 6));
    // In report.json, and in step 5 of the page under its own heading.
    let json: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(
        json["decisions_not_proposed"][1]["id"],
        "public-profile:defaults"
    );
    assert_eq!(json["decisions_not_proposed"][1]["likelihood"], "remote");
    let html = to_html(&report).unwrap();
    let step5 = &html[html.find("id=\"step5-h\"").unwrap()..html.find("id=\"step6-h\"").unwrap()];
    let apart = &step5[step5
        .find("Decisions for risks not proposed this time")
        .expect("the heading in step 5")..];
    assert!(
        apart.contains("<code>public-profile:defaults</code>"),
        "{apart}"
    );
    assert!(apart.contains("Was on by default until November; now off."));
    assert!(apart.contains("line 8, column 6"));
    assert!(
        !to_html(&bare)
            .unwrap()
            .contains("Decisions for risks not proposed")
    );
}

fn dpia_error(dpia: &str) -> String {
    let source = example("clipstream");
    match build(Inputs {
        dpia_source: Some(dpia),
        ..inputs(&source)
    }) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("accepted:\n{dpia}"),
    }
}

#[test]
fn a_bad_dpia_toml_is_refused_with_its_line_and_column() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[assessment]\ntitel = \"x\"\n",
            "dpia.toml:2:1:",
            "unknown field `titel`",
        ),
        (
            "[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\ndecision = \"override\"\nlikelihood = \"remote\"\n",
            "dpia.toml:3:12:",
            "needs a `reason`",
        ),
        (
            "[[risk]]\nid = \"no-such-risk\"\ndecision = \"confirm\"\n",
            "dpia.toml:2:6:",
            "no risk `no-such-risk` is known to ward: no risk rule `no-such-risk`",
        ),
        (
            "[[risk]]\nid = \"on-by-default:purpose:remember-subtitle\"\ndecision = \"confirm\"\n",
            "dpia.toml:2:6:",
            "the policy has no purpose `remember-subtitle`",
        ),
        (
            "[[risk]]\nid = \"lint:no-such-rule:purpose:likes\"\ndecision = \"confirm\"\n",
            "dpia.toml:2:6:",
            "`ward check` has no rule `no-such-rule`",
        ),
        (
            "[[risk]]\nid = \"public-profile:purpose:likes\"\ndecision = \"confirm\"\n",
            "dpia.toml:2:6:",
            "a `public-profile` risk is `public-profile:defaults`",
        ),
        (
            "[[risk]]\nid = \"public-profile:defaults\"\nbands = [\"0-5\"]\ndecision = \"confirm\"\n",
            "dpia.toml:3:10:",
            "band `0-5` is not admitted",
        ),
        (
            "[[risk]]\nid = \"public-profile:defaults\"\ndecision = \"confirm\"\n[[risk]]\nid = \"public-profile:defaults\"\nbands = [\"6-9\"]\ndecision = \"confirm\"\n",
            "dpia.toml:5:6:",
            "decided twice",
        ),
        (
            "[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\nbands = [\"0-5\"]\ndecision = \"confirm\"\n",
            "dpia.toml:3:10:",
            "band `0-5` is not rated",
        ),
        (
            "[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\ndecision = \"confirm\"\nseverity = \"minimal\"\n",
            "dpia.toml:4:12:",
            "a confirmed risk keeps",
        ),
        (
            "[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\ndecision = \"maybe\"\n",
            "dpia.toml:3:12:",
            "unknown variant `maybe`",
        ),
        (
            "[sign_off]\nmeasures_approved_by = \"a\"\nresidual_risks_approved_by = \"b\"\ndpo_advice = \"c\"\ndpo_advice_followed = false\nreview_date = \"2027-01-01\"\n",
            "dpia.toml:4:14:",
            "needs `dpo_overruled_reason`",
        ),
        (
            "[sign_off]\nmeasures_approved_by = \"a\"\nresidual_risks_approved_by = \"b\"\ndpo_advice = \"c\"\ndpo_advice_followed = true\nreview_date = \"next year\"\n",
            "dpia.toml:6:15:",
            "is not a date",
        ),
        (
            "[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\ndecision = \"confirm\"\n[[risk]]\nid = \"on-by-default:purpose:remember-subtitles\"\nbands = [\"6-9\"]\ndecision = \"confirm\"\n",
            "dpia.toml:6:10:",
            "decided twice",
        ),
        ("[[risk]\n", "dpia.toml:1:8:", "unclosed array table"),
    ];
    for (dpia, position, message) in cases {
        let error = dpia_error(dpia);
        assert!(
            error.starts_with(position) && error.contains(message),
            "{dpia}\n=> {error}\n(expected {position} … {message})"
        );
    }
}

fn ledger(verified: bool) -> LedgerRead {
    use ward_store::ledger::{BadEntry, Head, Problem};
    LedgerRead {
        verification: ward_store::Verification {
            entries: 12,
            head: Some(Head {
                seq: if verified { 12 } else { 6 },
                hash: "ab".repeat(32),
            }),
            first_bad: (!verified).then(|| BadEntry {
                seq: 7,
                problem: Problem::PayloadEdited,
                message: "entry 7: its payload does not match its recorded hash: edited".into(),
            }),
        },
        last_entry_at: Some("2026-11-30T12:00:00Z".parse().unwrap()),
        evidence: ward_report::evidence::Replay::new().finish(),
    }
}

/// The page up to step 1: what a reader sees first.
fn first_page(html: &str) -> &str {
    &html[..html.find("Step 1: The need").unwrap()]
}

#[test]
fn a_tampered_ledger_is_named_on_the_first_page() {
    let source = example("clipstream");
    let good = build(Inputs {
        ledger: Some(ledger(true)),
        ..inputs(&source)
    })
    .unwrap();
    let html = to_html(&good).unwrap();
    assert!(first_page(&html).contains("The evidence ledger verified: 12 entries"));
    assert!(first_page(&html).contains(&"ab".repeat(32)));
    assert_eq!(good.as_of.unwrap().to_string(), "2026-11-30T12:00:00Z");

    let bad = build(Inputs {
        ledger: Some(ledger(false)),
        ..inputs(&source)
    })
    .unwrap();
    let html = to_html(&bad).unwrap();
    let first = first_page(&html);
    assert!(first.contains("FAILED VERIFICATION"), "{first}");
    assert!(first.contains("entry 7: its payload does not match its recorded hash"));
    assert!(!first.contains("The evidence ledger verified"));
    let json: serde_json::Value = serde_json::from_str(&to_json(&bad)).unwrap();
    assert_eq!(json["integrity"]["ledger"]["verified"], false);
    assert_eq!(json["integrity"]["ledger"]["first_bad"]["seq"], 7);
}

#[test]
fn the_previous_report_shows_what_changed() {
    let before_source = example("clipstream");
    let before = to_json(&report(&before_source));
    let after_source = before_source
        .replace(
            "explain.6-9 = \"If you switch this on,",
            "explain.6-9 = \"When you switch this on,",
        )
        .replace("default = \"off\"\nlawful_basis = \"consent\"\ndata = [\"watch-history\", \"likes\"]", "default = \"on\"\ncompelling_reason = \"Testing.\"\nlawful_basis = \"consent\"\ndata = [\"watch-history\", \"likes\"]")
        .replace("[[data]]\nid = \"watch-history\"", "[[purpose]]\nid = \"count-views\"\nname = \"Counting views\"\ncategory = \"analytics\"\ndescription = \"Counts how many times each of your videos was watched this week.\"\nsetting = \"count-views\"\nlawful_basis = \"consent\"\nexplain = \"We count views.\"\nask_adult = \"Ask an adult.\"\n\n[[data]]\nid = \"watch-history\"");
    assert_ne!(before_source, after_source);
    let after = build(Inputs {
        previous: Some(&before),
        ..inputs(&after_source)
    })
    .unwrap();
    let changes = after.changes.as_ref().unwrap();
    assert!(changes.policy_changed);
    assert_eq!(changes.purposes_added, ["count-views"]);
    assert!(
        changes
            .texts_changed
            .iter()
            .any(|t| t.purpose == "recommend-videos" && t.band == "6-9"),
        "{changes:?}"
    );
    assert!(
        changes
            .risks_moved
            .iter()
            .any(|m| m.risk == "recommendation:purpose:recommend-videos"),
        "{changes:?}"
    );
    assert!(
        changes
            .risks_added
            .iter()
            .any(|r| r == "on-by-default:purpose:recommend-videos")
    );
    let html = to_html(&after).unwrap();
    assert!(html.contains("Changes since the previous report"));
    assert!(html.contains("New purpose <code>count-views</code>"));

    let same = build(Inputs {
        previous: Some(&before),
        ..inputs(&before_source)
    })
    .unwrap();
    assert!(same.changes.unwrap().is_empty());
    assert!(
        build(Inputs {
            previous: Some("{\"schema\": \"something-else/1\"}"),
            ..inputs(&before_source)
        })
        .is_err()
    );
}

#[test]
fn a_policy_schema_error_is_refused_with_its_position() {
    let error = build(inputs(
        "[service]\nname = \"x\"\nkind = \"game\"\nmin_age = 8\nminage = 9\n",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(error.starts_with("ward.toml:5:1:"), "{error}");
}

fn signals<'a>(
    report: &'a Report,
    band: &str,
    jurisdiction: &str,
) -> &'a ward_report::signals::BandSignals {
    report
        .signals
        .iter()
        .find(|s| s.band == band && s.jurisdiction == jurisdiction)
        .unwrap_or_else(|| panic!("no signals for {band} in {jurisdiction}"))
}

#[test]
fn signals_per_band_show_no_ads_bit_until_the_right_person_consents() {
    // Questworld admitted from 11: an 11-year-old is below every consent age it serves.
    let source = example("questworld").replace("min_age = 13", "min_age = 11");
    let qw = report(&source);
    let bands: Vec<(&str, u8, &str)> = qw
        .signals
        .iter()
        .map(|s| (s.band, s.age, s.jurisdiction.as_str()))
        .collect();
    assert_eq!(
        bands,
        [
            ("10-12", 11, "GB"),
            ("10-12", 11, "DE"),
            ("13-15", 13, "GB"),
            ("13-15", 13, "DE"),
            ("16-17", 16, "GB"),
            ("16-17", 16, "DE"),
        ]
    );
    let eleven = signals(&qw, "10-12", "GB");
    assert_eq!(eleven.consent_by, "parent");
    let default = &eleven.by_default;
    assert!(!default.personalised_ads);
    assert_eq!(default.tcf_purpose_consents.as_deref(), Some(&[][..]));
    assert_eq!(default.tcf_legitimate_interests.as_deref(), Some(&[][..]));
    assert_eq!(default.tfat, 1);
    assert!(default.coppa);
    assert_eq!(default.max_ad_content_rating, "G");
    let consented = &eleven.consented;
    assert!(consented.personalised_ads, "{eleven:?}");
    assert_eq!(
        consented.tcf_purpose_consents.as_deref(),
        Some(&[1, 2, 3, 4, 5, 6, 7][..])
    );
    // A parent's consent lifts COPPA treatment, not Google's child treatment.
    assert!(!consented.coppa);
    assert_eq!(consented.tfat, 1);
    assert!(eleven.not_switched_on.is_empty(), "{eleven:?}");

    // 13 in the UK consents alone (teen treatment); in Germany a parent must.
    assert_eq!(signals(&qw, "13-15", "GB").consent_by, "child");
    assert_eq!(signals(&qw, "13-15", "GB").by_default.tfat, 2);
    assert_eq!(signals(&qw, "13-15", "DE").consent_by, "parent");
    assert_eq!(signals(&qw, "13-15", "DE").by_default.tfat, 1);
    assert_eq!(
        signals(&qw, "16-17", "DE").by_default.max_ad_content_rating,
        "T"
    );
    // Fewer categories are closed to a 16-year-old than to an 11-year-old.
    assert!(signals(&qw, "16-17", "GB").by_default.bcat_categories < default.bcat_categories);

    let html = to_html(&qw).unwrap();
    assert!(html.contains("Ad-tech signals per band"));
    assert!(html.contains("10-12, age 11, GB (consent by parent)"));

    // Without a parental consent method, a parent cannot consent: the flow says so.
    let no_method = source.replace(
        "parental_consent_methods = [\"email_plus\", \"payment_card\"]",
        "parental_consent_methods = []",
    );
    let eleven = signals(&report(&no_method), "10-12", "GB").clone();
    assert!(!eleven.consented.personalised_ads);
    assert!(
        eleven
            .not_switched_on
            .iter()
            .any(|n| n.starts_with("personalised-ads: waiting for a parent")),
        "{eleven:?}"
    );
}
