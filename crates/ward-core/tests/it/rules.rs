//! One test per rule of `RULES.md`: each fails if its rule is removed from the table, and
//! each also pins the rule's edges (what must stay silent). `check` asserts the exact set of
//! rules that fire, so a rule that over-reaches fails here too.

use ward_core::lint::{RULES, Severity, Subject};
use ward_core::policy::Policy;

use crate::support::{check, policy, purpose, service, with_support};

const DATA_FOR_AGE_CHECK: &str = r#"
[[data]]
id = "age-signals"
collected_for = "age-check"
"#;

#[test]
fn the_compliant_base_fires_nothing() {
    check(
        &policy(
            service(),
            [purpose("recommend", "content_recommendation")],
            "",
        ),
        &[],
    );
}

#[test]
fn every_rule_in_the_table_has_a_test_here() {
    // Adding a rule to RULES means adding its test below and its id here.
    let tested = [
        "shared-setting",
        "mixed-purpose",
        "catch-all-purpose",
        "default-on-without-reason",
        "advertising-on-by-default",
        "advertising-without-consent",
        "advertising-as-core",
        "core-without-justification",
        "missing-setting",
        "setting-on-required-purpose",
        "recommendation-without-safeguards",
        "news-on-without-editorial-code",
        "protective-data-reused",
        "age-assurance-cookie-reused",
        "cookie-needs-consent",
        "missing-explanation",
        "missing-ask-adult",
        "inactivity-nudge",
        "automated-significant-decision",
        "geolocation-on-by-default",
        "public-profile-by-default",
        "no-parental-consent-method",
        "locked-but-on",
        "unknown-reference",
        "unknown-tags-kept",
        "tcf-legitimate-interest-profiling",
        "tcf-undeclared-ads",
        "reporting-without-support",
    ];
    let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids, tested);
}

#[test]
fn two_purposes_sharing_one_setting_are_bundled() {
    let source = policy(
        service(),
        [
            purpose("videos", "content_recommendation").set("setting", "\"personalisation\""),
            purpose("ads", "behavioural_advertising").set("setting", "\"personalisation\""),
        ],
        "",
    );
    check(&source, &["shared-setting"]);
    // Reported once, on the later purpose, pointing back at the earlier one.
    let policy = Policy::parse(&with_support(&source)).unwrap();
    let findings = ward_core::lint::check(&policy);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].subject, Subject::Purpose("ads".into()));
    assert!(
        findings[0].message.contains("`videos`"),
        "{}",
        findings[0].message
    );
    assert!(findings[0].related.is_some());
}

#[test]
fn advertising_and_content_tcf_purposes_on_one_purpose_are_mixed() {
    let with_tcf = |ids: &str| {
        policy(
            service(),
            // Locked for children, so `tcf-undeclared-ads` (child-facing purposes) stays out.
            [purpose("feed", "content_recommendation")
                .set("tcf_purposes", ids)
                .set("locked_for_children", "true")
                .unset("setting")],
            "",
        )
    };
    check(&with_tcf("[2, 5]"), &["mixed-purpose"]);
    check(&with_tcf("[4, 11]"), &["mixed-purpose"]);
    // Ids 1 (store and access) and 10 (develop products) belong to neither side.
    check(&with_tcf("[1, 10, 5, 6]"), &[]);
    check(&with_tcf("[1, 10, 2, 3, 4, 7, 9]"), &[]);
    check(&with_tcf("[1, 10]"), &[]);
}

#[test]
fn a_required_purpose_listing_profiling_tcf_ids_bundles_profiling_in() {
    let required = |ids: &str| {
        policy(
            service(),
            [purpose("security", "core_service")
                .unset("setting")
                .set("tcf_purposes", ids)],
            "",
        )
    };
    for profiling_id in ["[3]", "[4]", "[5]", "[6]"] {
        check(&required(profiling_id), &["mixed-purpose"]);
    }
    check(&required("[1, 10]"), &[]);
    check(&required("[8]"), &[]);
}

#[test]
fn a_catch_all_description_is_not_specific_enough() {
    let described = |text: &str| {
        policy(
            service(),
            [purpose("feed", "content_recommendation").set("description", text)],
            "",
        )
    };
    check(
        &described("\"Providing a personalised service\""),
        &["catch-all-purpose"],
    );
    check(
        &described("\"To provide a better, more personalised experience for you.\""),
        &["catch-all-purpose"],
    );
    check(&described("\"\""), &["catch-all-purpose"]);
    // Three specific words are too few; four are enough.
    check(
        &described("\"We personalise content using watch history.\""),
        &["catch-all-purpose"],
    );
    check(
        &described("\"We personalise content using watch history likes.\""),
        &[],
    );
    // Specific, even though it says "personalised".
    check(
        &described("\"Personalised recommendations based on the videos you watch.\""),
        &[],
    );
}

#[test]
fn a_setting_on_by_default_needs_a_compelling_reason() {
    let on = purpose("subtitles", "accessibility")
        .set("default", "\"on\"")
        .set("lawful_basis", "\"legitimate_interests\"");
    check(&policy(service(), [on], ""), &["default-on-without-reason"]);
    let on_with_reason = purpose("subtitles", "accessibility")
        .set("default", "\"on\"")
        .set("lawful_basis", "\"legitimate_interests\"")
        .set(
            "compelling_reason",
            "\"A deaf child should not have to ask for subtitles on every video.\"",
        );
    check(&policy(service(), [on_with_reason], ""), &[]);
}

#[test]
fn behavioural_advertising_can_never_be_on_by_default() {
    let ads = purpose("ads", "behavioural_advertising")
        .set("default", "\"on\"")
        .set("compelling_reason", "\"Ads pay for the service.\"");
    check(
        &policy(service(), [ads], ""),
        &["advertising-on-by-default"],
    );
}

#[test]
fn behavioural_advertising_rests_on_consent_only() {
    let ads =
        purpose("ads", "behavioural_advertising").set("lawful_basis", "\"legitimate_interests\"");
    check(
        &policy(service(), [ads], ""),
        &["advertising-without-consent"],
    );
    let ads = purpose("ads", "behavioural_advertising").set("lawful_basis", "\"contract\"");
    check(
        &policy(service(), [ads], ""),
        &["advertising-without-consent"],
    );
}

#[test]
fn behavioural_advertising_declared_core_is_a_warning_and_keeps_its_setting() {
    let ads = purpose("vouchers", "behavioural_advertising")
        .set("core", "true")
        .set(
            "core_justification",
            "\"A money-off voucher service: the offers are the service.\"",
        );
    let source = policy(service(), [ads], "");
    check(&source, &["advertising-as-core"]);
    let policy = Policy::parse(&with_support(&source)).unwrap();
    assert_eq!(
        ward_core::lint::check(&policy)[0].severity,
        Severity::Warning
    );
    // Still not required: it keeps its setting (so `setting-on-required-purpose` stays silent).
    assert!(!policy.purposes[0].is_required());
}

#[test]
fn core_needs_a_justification() {
    let core = purpose("search", "content_recommendation")
        .unset("setting")
        .set("core", "true");
    check(
        &policy(service(), [core], ""),
        &["core-without-justification"],
    );
    let justified = purpose("search", "content_recommendation")
        .unset("setting")
        .set("core", "true")
        .set(
            "core_justification",
            "\"Search results ranked by query are the service itself.\"",
        );
    check(&policy(service(), [justified], ""), &[]);
    // Advertising marked core without a justification: this rule, not the warning.
    let ads = purpose("ads", "behavioural_advertising").set("core", "true");
    check(
        &policy(service(), [ads], ""),
        &["core-without-justification"],
    );
}

#[test]
fn optional_profiling_needs_a_setting() {
    let analytics = purpose("analytics", "analytics").unset("setting");
    check(&policy(service(), [analytics], ""), &["missing-setting"]);
    // Behavioural advertising needs a setting even when marked core.
    let ads = purpose("ads", "behavioural_advertising")
        .unset("setting")
        .set("core", "true")
        .set("core_justification", "\"Vouchers.\"");
    check(
        &policy(service(), [ads], ""),
        &["missing-setting", "advertising-as-core"],
    );
    // Locked for children, or required: no setting needed.
    let locked = purpose("analytics", "analytics")
        .unset("setting")
        .set("locked_for_children", "true");
    check(&policy(service(), [locked], ""), &[]);
    for category in [
        "core_service",
        "legal_obligation",
        "safeguarding",
        "age_assurance",
    ] {
        let required = purpose("required", category)
            .unset("setting")
            .set("lawful_basis", "\"legal_obligation\"");
        check(&policy(service(), [required], ""), &[]);
    }
}

#[test]
fn a_required_purpose_with_a_setting_is_warned_about() {
    let source = policy(
        service(),
        [purpose("moderation", "safeguarding").set("lawful_basis", "\"legal_obligation\"")],
        "",
    );
    check(&source, &["setting-on-required-purpose"]);
    let policy = Policy::parse(&with_support(&source)).unwrap();
    assert_eq!(
        ward_core::lint::check(&policy)[0].severity,
        Severity::Warning
    );
}

#[test]
fn recommendations_need_screening_an_age_measure_and_reporting() {
    let guarded = |safeguards: &str| {
        policy(
            service(),
            [purpose("feed", "content_recommendation").set("safeguards", safeguards)],
            "",
        )
    };
    check(&guarded("[]"), &["recommendation-without-safeguards"]);
    check(
        &guarded("[\"harm_tag_filter\", \"user_reporting\"]"),
        &["recommendation-without-safeguards"],
    );
    check(
        &guarded("[\"age_rating_filter\", \"user_reporting\"]"),
        &["recommendation-without-safeguards"],
    );
    check(
        &guarded("[\"age_rating_filter\", \"harm_tag_filter\"]"),
        &["recommendation-without-safeguards"],
    );
    // The Code's own examples: contextual tagging, robust reporting, human moderation.
    check(
        &guarded("[\"contextual_tagging\", \"user_reporting\"]"),
        &[],
    );
    check(
        &guarded("[\"contextual_tagging\", \"user_reporting\", \"human_moderation\"]"),
        &[],
    );
    check(&guarded("[\"editorial_control\"]"), &[]);
    // Locked for children: nothing is served to them, nothing to guard.
    let locked = purpose("feed", "content_recommendation")
        .set("safeguards", "[]")
        .set("locked_for_children", "true");
    check(&policy(service(), [locked], ""), &[]);
}

#[test]
fn a_news_feed_needs_safeguards_unless_an_editorial_code_covers_it() {
    let news = || purpose("news", "news_feed").set("safeguards", "[]");
    check(
        &policy(service(), [news()], ""),
        &["recommendation-without-safeguards"],
    );
    check(
        &policy(
            service().set("editorial_code", "\"editors_code\""),
            [news()],
            "",
        ),
        &[],
    );
}

#[test]
fn contact_suggestions_need_an_adult_contact_filter_and_reporting() {
    let contacts = |safeguards: &str| {
        policy(
            service(),
            [purpose("people", "contact_suggestions").set("safeguards", safeguards)],
            "",
        )
    };
    check(
        &contacts("[\"user_reporting\"]"),
        &["recommendation-without-safeguards"],
    );
    check(
        &contacts("[\"adult_contact_filter\"]"),
        &["recommendation-without-safeguards"],
    );
    check(
        &contacts("[\"adult_contact_filter\", \"user_reporting\"]"),
        &[],
    );
}

#[test]
fn news_on_by_default_needs_an_editorial_code_and_editorial_control() {
    let news_on = |safeguards: &str| {
        purpose("news", "news_feed")
            .set("default", "\"on\"")
            .set("compelling_reason", "\"Children's right to information.\"")
            .set("lawful_basis", "\"legitimate_interests\"")
            .set("safeguards", safeguards)
    };
    let edited = service().set("editorial_code", "\"editors_code\"");
    check(
        &policy(edited, [news_on("[\"editorial_control\"]")], ""),
        &[],
    );
    let edited = service().set("editorial_code", "\"ofcom_broadcasting_code\"");
    check(
        &policy(edited, [news_on("[\"user_reporting\"]")], ""),
        &["news-on-without-editorial-code"],
    );
    check(
        &policy(service(), [news_on("[\"editorial_control\"]")], ""),
        &["news-on-without-editorial-code"],
    );
}

#[test]
fn commercial_purposes_cannot_read_data_collected_to_protect_children() {
    let age_check = purpose("age-check", "age_assurance")
        .unset("setting")
        .set("lawful_basis", "\"legal_obligation\"")
        .set("data", "[\"age-signals\"]");
    for commercial in [
        "behavioural_advertising",
        "content_recommendation",
        "contact_suggestions",
        "engagement",
        "analytics",
    ] {
        let reader = purpose("reader", commercial).set("data", "[\"age-signals\"]");
        check(
            &policy(service(), [age_check.clone(), reader], DATA_FOR_AGE_CHECK),
            &["protective-data-reused"],
        );
    }
    // A non-commercial purpose may (accessibility reading age signals to size text).
    let reader = purpose("reader", "accessibility").set("data", "[\"age-signals\"]");
    check(
        &policy(service(), [age_check, reader], DATA_FOR_AGE_CHECK),
        &[],
    );
}

#[test]
fn an_age_assurance_cookie_serving_anything_else_loses_its_exemption() {
    let age_check = || {
        purpose("age-check", "age_assurance")
            .unset("setting")
            .set("lawful_basis", "\"legal_obligation\"")
    };
    let cookie = |essential: bool| {
        format!(
            "[[cookie]]\nname = \"age\"\npurposes = [\"age-check\", \"feed\"]\nessential = {essential}\n"
        )
    };
    let source = policy(
        service(),
        [age_check(), purpose("feed", "content_recommendation")],
        &cookie(true),
    );
    check(&source, &["age-assurance-cookie-reused"]);
    let policy_ = Policy::parse(&with_support(&source)).unwrap();
    assert_eq!(
        ward_core::lint::check(&policy_)[0].severity,
        Severity::Error
    );
    // Not essential: a warning (and it needs consent anyway, serving a required purpose).
    let source = policy(
        service(),
        [age_check(), purpose("feed", "content_recommendation")],
        &cookie(false),
    );
    check(
        &source,
        &["age-assurance-cookie-reused", "cookie-needs-consent"],
    );
    let policy_ = Policy::parse(&with_support(&source)).unwrap();
    let reused = ward_core::lint::check(&policy_)
        .into_iter()
        .find(|f| f.rule == "age-assurance-cookie-reused")
        .unwrap();
    assert_eq!(reused.severity, Severity::Warning);
    // Solely for age assurance: exempt.
    let alone = "[[cookie]]\nname = \"age\"\npurposes = [\"age-check\"]\nessential = true\n";
    check(&policy(service(), [age_check()], alone), &[]);
}

#[test]
fn a_non_essential_cookie_for_default_on_or_required_profiling_needs_consent() {
    let subtitles = purpose("subtitles", "accessibility")
        .set("default", "\"on\"")
        .set(
            "compelling_reason",
            "\"A deaf child should not have to ask every time.\"",
        )
        .set("lawful_basis", "\"legitimate_interests\"");
    let cookie = |essential: bool| {
        format!(
            "[[cookie]]\nname = \"subs\"\npurposes = [\"subtitles\"]\nessential = {essential}\n"
        )
    };
    check(
        &policy(service(), [subtitles.clone()], &cookie(false)),
        &["cookie-needs-consent"],
    );
    check(&policy(service(), [subtitles], &cookie(true)), &[]);
    // Off by default and optional: consent comes with the setting.
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation")],
            &cookie_for("feed"),
        ),
        &[],
    );
}

fn cookie_for(purpose_id: &str) -> String {
    format!("[[cookie]]\nname = \"c\"\npurposes = [\"{purpose_id}\"]\nessential = false\n")
}

#[test]
fn a_purpose_a_child_can_switch_on_needs_an_explanation_for_every_admitted_band() {
    let young = service().set("min_age", "8");
    let per_band = |bands: &[&str]| {
        let table = bands
            .iter()
            .map(|b| format!("\"{b}\" = \"Words for {b}.\""))
            .collect::<Vec<_>>()
            .join(", ");
        purpose("feed", "content_recommendation").set("explain", &format!("{{ {table} }}"))
    };
    check(
        &policy(
            service().set("min_age", "8"),
            [per_band(&["6-9", "10-12", "13-15", "16-17"])],
            "",
        ),
        &[],
    );
    check(
        &policy(young, [per_band(&["10-12", "13-15", "16-17"])], ""),
        &["missing-explanation"],
    );
    // min_age 13 admits only 13-15 and 16-17.
    check(&policy(service(), [per_band(&["13-15", "16-17"])], ""), &[]);
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation").unset("explain")],
            "",
        ),
        &["missing-explanation"],
    );
    // A blank text is no text.
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation").set("explain", "\"  \"")],
            "",
        ),
        &["missing-explanation"],
    );
    // Locked or required purposes are never switched on by a child: no text needed.
    let locked = purpose("feed", "content_recommendation")
        .unset("explain")
        .set("locked_for_children", "true");
    check(&policy(service(), [locked], ""), &[]);
}

#[test]
fn a_purpose_a_child_can_switch_on_needs_an_ask_an_adult_prompt() {
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation").unset("ask_adult")],
            "",
        ),
        &["missing-ask-adult"],
    );
    let partial = purpose("feed", "content_recommendation")
        .set("ask_adult", "{ \"13-15\" = \"Ask an adult.\" }");
    check(&policy(service(), [partial], ""), &["missing-ask-adult"]);
    let full = purpose("feed", "content_recommendation").set(
        "ask_adult",
        "{ \"13-15\" = \"Ask an adult.\", \"16-17\" = \"Talk to someone you trust.\" }",
    );
    check(&policy(service(), [full], ""), &[]);
}

#[test]
fn engagement_nudges_that_respond_to_inactivity_are_refused() {
    let nudges = |triggers: &str| {
        policy(
            service(),
            [purpose("reminders", "engagement").set("triggers", triggers)],
            "",
        )
    };
    check(&nudges("[\"inactivity\"]"), &["inactivity-nudge"]);
    check(
        &nudges("[\"streak\", \"inactivity\"]"),
        &["inactivity-nudge"],
    );
    check(&nudges("[\"friend_activity\", \"reply\"]"), &[]);
}

#[test]
fn solely_automated_significant_decisions_must_be_locked_for_children() {
    let decision =
        purpose("credit", "analytics").set("solely_automated_significant_decision", "true");
    check(
        &policy(service(), [decision], ""),
        &["automated-significant-decision"],
    );
    let locked = purpose("credit", "analytics")
        .set("solely_automated_significant_decision", "true")
        .set("locked_for_children", "true");
    check(&policy(service(), [locked], ""), &[]);
}

#[test]
fn geolocation_is_off_by_default() {
    let defaults = "[defaults]\ngeolocation_sharing = \"on\"\n";
    let source = policy(
        service(),
        [purpose("feed", "content_recommendation")],
        defaults,
    );
    check(&source, &["geolocation-on-by-default"]);
    let findings = ward_core::lint::check(&Policy::parse(&with_support(&source)).unwrap());
    assert_eq!(findings[0].subject, Subject::Defaults);
    let nearby = purpose("nearby", "location")
        .set("default", "\"on\"")
        .set("compelling_reason", "\"Finding friends.\"");
    check(
        &policy(service(), [nearby], ""),
        &["geolocation-on-by-default"],
    );
    check(
        &policy(
            service(),
            [purpose("nearby", "location")],
            "[defaults]\ngeolocation_sharing = \"off\"\n",
        ),
        &[],
    );
}

#[test]
fn profiles_are_private_by_default() {
    let defaults = "[defaults]\nprofile_visibility = \"public\"\n";
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation")],
            defaults,
        ),
        &["public-profile-by-default"],
    );
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation")],
            "[defaults]\nprofile_visibility = \"private\"\n",
        ),
        &[],
    );
}

#[test]
fn children_below_the_consent_age_need_a_parental_consent_method() {
    let without = |min_age: &str, jurisdictions: &str| {
        service()
            .set("min_age", min_age)
            .set("jurisdictions", jurisdictions)
            .set("parental_consent_methods", "[]")
    };
    let feed = || purpose("feed", "content_recommendation");
    check(
        &policy(without("8", "[\"GB\"]"), [feed()], ""),
        &["no-parental-consent-method"],
    );
    check(
        &policy(without("12", "[\"GB\"]"), [feed()], ""),
        &["no-parental-consent-method"],
    );
    // 13 in GB: every child admitted can consent for themselves.
    check(&policy(without("13", "[\"GB\"]"), [feed()], ""), &[]);
    // With Germany (16), a 13-year-old needs a parent.
    check(
        &policy(without("13", "[\"GB\", \"DE\"]"), [feed()], ""),
        &["no-parental-consent-method"],
    );
    check(
        &policy(without("16", "[\"GB\", \"DE\"]"), [feed()], ""),
        &[],
    );
    // Nothing a child can switch on rests on consent: no parent needed.
    let li = feed().set("lawful_basis", "\"legitimate_interests\"");
    check(&policy(without("8", "[\"GB\"]"), [li], ""), &[]);
}

#[test]
fn a_purpose_locked_for_children_cannot_start_on() {
    let locked = purpose("dating", "contact_suggestions")
        .set("locked_for_children", "true")
        .set("default", "\"on\"")
        .set("compelling_reason", "\"Adults use it.\"");
    check(&policy(service(), [locked], ""), &["locked-but-on"]);
}

#[test]
fn references_to_undeclared_ids_are_findings() {
    let reads_missing =
        purpose("feed", "content_recommendation").set("data", "[\"watch-history\"]");
    check(
        &policy(service(), [reads_missing], ""),
        &["unknown-reference"],
    );
    check(
        &policy(
            service(),
            [purpose("feed", "content_recommendation")],
            &cookie_for("ads"),
        ),
        &["unknown-reference"],
    );
    let data = "[[data]]\nid = \"likes\"\ncollected_for = \"likes-feed\"\n";
    check(
        &policy(service(), [purpose("feed", "content_recommendation")], data),
        &["unknown-reference"],
    );
    let declared = "[[data]]\nid = \"watch-history\"\ncollected_for = \"feed\"\n";
    let reads = purpose("feed", "content_recommendation").set("data", "[\"watch-history\"]");
    check(&policy(service(), [reads], declared), &[]);
}

#[test]
fn keeping_items_with_words_the_feed_guard_does_not_know_is_warned_about() {
    let base = || policy(service(), [purpose("feed", "content_recommendation")], "");
    let keep = format!("{}[feed]\nunknown_tags = \"keep\"\n", base());
    check(&keep, &["unknown-tags-kept"]);
    let findings = ward_core::lint::check(&Policy::parse(&with_support(&keep)).unwrap());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert_eq!(findings[0].subject, Subject::Feed);
    assert_eq!(
        &keep[findings[0].span.start..findings[0].span.end],
        "\"keep\"",
        "points at the value"
    );
    assert_eq!(
        findings[0].rests_on,
        "Where evidence is inconclusive you should apply the same precautionary principle"
    );
    // The default, and declaring the service's harmless words, are silent.
    check(&base(), &[]);
    check(
        &format!(
            "{}[feed]\nunknown_tags = \"remove\"\nharmless_tags = [\"funny\"]\nharmless_ad_categories = [\"toys\"]\n",
            base()
        ),
        &[],
    );
}

/// A `[tcf]` section with one vendor declaring `legitimate_interest = li`.
fn tcf_with_vendor(li: &str) -> String {
    format!(
        r#"
[tcf]
cmp_id = 300
cmp_version = 2
vendor_list_version = 150
policy_version = 5

[[tcf.vendor]]
id = 755
name = "Ad vendor"
consent = [1, 3, 4]
legitimate_interest = {li}
special_purposes = [1, 2]
"#
    )
}

#[test]
fn a_vendor_relying_on_legitimate_interest_for_profiling_purposes_is_refused() {
    let ads = || purpose("ads", "behavioural_advertising").set("tcf_purposes", "[1, 2, 3, 4, 7]");
    for li in ["[2]", "[5, 7]", "[6]", "[2, 7, 9, 10]"] {
        check(
            &policy(service(), [ads()], &tcf_with_vendor(li)),
            &["tcf-legitimate-interest-profiling"],
        );
    }
    // A restriction requiring consent (or forbidding the purpose) for the vendor settles it;
    // one requiring legitimate interest, or naming another purpose, does not.
    let restricted = |purpose: u8, kind: &str| {
        format!(
            "{}\n[[tcf.restriction]]\npurpose = {purpose}\ntype = \"{kind}\"\nvendors = [755]\n",
            tcf_with_vendor("[2, 7]")
        )
    };
    check(
        &policy(service(), [ads()], &restricted(2, "require_consent")),
        &[],
    );
    check(
        &policy(service(), [ads()], &restricted(2, "not_allowed")),
        &[],
    );
    for (purpose, kind) in [(2, "require_legitimate_interest"), (7, "require_consent")] {
        check(
            &policy(service(), [ads()], &restricted(purpose, kind)),
            &["tcf-legitimate-interest-profiling"],
        );
    }
    // Legitimate interest for measurement, market research and product development is not
    // profiling the child: silent.
    check(
        &policy(service(), [ads()], &tcf_with_vendor("[7, 8, 9, 10, 11]")),
        &[],
    );
    check(&policy(service(), [ads()], &tcf_with_vendor("[]")), &[]);
    // The finding names the vendor and points at its list.
    let source = policy(service(), [ads()], &tcf_with_vendor("[2, 7]"));
    let parsed = Policy::parse(&with_support(&source)).unwrap();
    let findings = ward_core::lint::check(&parsed);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].subject, Subject::TcfVendor(755));
    assert_eq!(findings[0].subject.to_string(), "tcf-vendor:755");
    assert_eq!(&source[findings[0].span.range()], "[2, 7]");
    assert!(
        findings[0].message.contains("[2]"),
        "{}",
        findings[0].message
    );
}

#[test]
fn a_child_facing_purpose_on_legitimate_interests_for_profiling_ids_is_refused() {
    let feed = purpose("feed", "content_recommendation")
        .set("lawful_basis", "\"legitimate_interests\"")
        .set("tcf_purposes", "[5, 6]");
    check(
        &policy(service(), [feed.clone()], ""),
        &["tcf-legitimate-interest-profiling"],
    );
    // On consent it is fine; locked for children, no child can switch it on.
    check(
        &policy(
            service(),
            [feed.clone().set("lawful_basis", "\"consent\"")],
            "",
        ),
        &[],
    );
    check(
        &policy(service(), [feed.clone().set("tcf_purposes", "[8, 10]")], ""),
        &[],
    );
    check(
        &policy(
            service(),
            [feed.set("locked_for_children", "true").unset("setting")],
            "",
        ),
        &[],
    );
}

#[test]
fn a_child_facing_purpose_mapped_to_advertising_ids_it_did_not_declare_is_refused() {
    let with = |category: &str, ids: &str| {
        policy(
            service(),
            [purpose("thing", category).set("tcf_purposes", ids)],
            "",
        )
    };
    for ids in ["[2]", "[3, 4]", "[7]", "[9]", "[1, 10, 4]"] {
        check(
            &with("content_recommendation", ids),
            &["tcf-undeclared-ads"],
        );
        check(&with("analytics", ids), &["tcf-undeclared-ads"]);
    }
    // Declared as advertising: what the child was told is what the string says.
    check(&with("behavioural_advertising", "[1, 2, 3, 4, 7, 9]"), &[]);
    // Content and neutral ids on a content purpose: silent.
    check(&with("content_recommendation", "[1, 5, 6, 8, 10, 11]"), &[]);
    // Not child-facing (locked): no child switches it on.
    check(
        &policy(
            service(),
            [purpose("thing", "analytics")
                .set("tcf_purposes", "[7]")
                .set("locked_for_children", "true")
                .unset("setting")],
            "",
        ),
        &[],
    );
}

#[test]
fn the_tcf_section_is_read_strictly_with_positions() {
    let base = || policy(service(), [purpose("ads", "behavioural_advertising")], "");
    for (extra, expect) in [
        ("[tcf]\ncmp_id = 300\n", "missing field `cmp_version`"),
        (
            "[tcf]\ncmp_id = 0\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n",
            "`cmp_id` must be between 1 and 4095",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\nconsent_language = \"english\"\n",
            "two letters",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\ncolour = 1\n",
            "unknown field `colour`",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n[[tcf.vendor]]\nid = 1\nname = \"A\"\nlegitimate_interest = [1]\n",
            "always rests on consent",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n[[tcf.vendor]]\nid = 1\nname = \"A\"\nconsent = [2]\nlegitimate_interest = [2]\n",
            "under both",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n[[tcf.vendor]]\nid = 1\nname = \"A\"\n[[tcf.vendor]]\nid = 1\nname = \"B\"\n",
            "declared twice",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n[[tcf.vendor]]\nid = 1\nname = \"A\"\nconsent = [12]\n",
            "`consent` must be between 1 and 11",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n[[tcf.restriction]]\npurpose = 2\ntype = \"require_consent\"\nvendors = [9]\n",
            "vendor 9 is not declared",
        ),
        (
            "[tcf]\ncmp_id = 1\ncmp_version = 1\nvendor_list_version = 1\npolicy_version = 5\n[[tcf.restriction]]\npurpose = 2\ntype = \"maybe\"\nvendors = [9]\n",
            "unknown variant `maybe`",
        ),
    ] {
        let source = format!("{}{extra}", base());
        let error = Policy::parse(&source).unwrap_err();
        assert!(error.message.contains(expect), "{extra}: {}", error.message);
        assert!(error.span.is_some(), "{extra}: no position");
    }
    let parsed = Policy::parse(&format!("{}{}", base(), tcf_with_vendor("[7]"))).unwrap();
    let tcf = parsed.tcf.unwrap();
    assert_eq!(tcf.publisher_country, *b"GB", "the first jurisdiction");
    assert_eq!(tcf.consent_language, *b"EN");
    assert_eq!(tcf.consent_screen, 1);
    assert_eq!(tcf.vendors[0].consent.ids().collect::<Vec<_>>(), [1, 3, 4]);
}

#[test]
fn declaring_user_reporting_needs_a_support_section_and_an_sla() {
    let base = policy(service(), [purpose("feed", "content_recommendation")], "");
    // `check` adds a `[support]` with an SLA to a policy without one: silent.
    check(&base, &[]);
    // Without it, the rule fires, alone.
    let findings = ward_core::lint::check(&Policy::parse(&base).unwrap());
    let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["reporting-without-support"]);
    assert_eq!(findings[0].severity, Severity::Warning);
    assert_eq!(findings[0].subject, Subject::Purpose("feed".into()));
    assert!(findings[0].rests_on.contains("robust reporting procedures"));
    assert!(
        base[findings[0].span.start..findings[0].span.end].contains("user_reporting"),
        "points at the safeguards"
    );
    // A `[support]` without an SLA is warned about at the table.
    check(
        &format!("{base}[support]\nhelpline = \"Childline\"\n"),
        &["reporting-without-support"],
    );
    let no_sla = format!("{base}[support]\nhelpline = \"Childline\"\n");
    let findings = ward_core::lint::check(&Policy::parse(&no_sla).unwrap());
    assert_eq!(findings[0].subject, Subject::Support);
    // No purpose declaring `user_reporting`: nothing to back up.
    let editorial = purpose("feed", "content_recommendation").set(
        "safeguards",
        "[\"age_rating_filter\", \"harm_tag_filter\", \"editorial_control\"]",
    );
    let findings =
        ward_core::lint::check(&Policy::parse(&policy(service(), [editorial], "")).unwrap());
    assert!(findings.is_empty(), "{findings:?}");
}
