//! `decide`: a test per row of RUNTIME.md's table, then the edges, each named as a sentence.
//! Each asserts the reason code, so removing a row's line makes its test fail.

use jiff::civil::date;
use ward_core::decide::{Obligation, Reason};
use ward_core::policy::ParentalConsentMethod;
use ward_core::settings::SettingValue;

use crate::world::{
    POLICY, ask, ask_at, child_aged, child_born, compiled, days, now, parent, switch_on,
    unknown_child, world,
};

#[track_caller]
fn denied(decision: ward_core::decide::Decision, reason: Reason) {
    assert_eq!(
        (decision.allow, decision.reason),
        (false, reason),
        "{decision:?}"
    );
    assert_eq!(decision.obligation, None);
}

#[track_caller]
fn allowed(decision: ward_core::decide::Decision, reason: Reason, obligation: Option<Obligation>) {
    assert_eq!(
        (decision.allow, decision.reason, decision.obligation),
        (true, reason, obligation)
    );
}

#[test]
fn row_1_a_purpose_not_in_the_policy_is_denied() {
    let policy = world();
    denied(
        ask(
            &policy,
            &child_aged(&policy, 14, "GB"),
            "mind-reading",
            &[],
            false,
        ),
        Reason::UnknownPurpose,
    );
}

#[test]
fn row_2_data_the_purpose_does_not_declare_is_denied() {
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    switch_on(&policy, &mut child, "recommend");
    denied(
        ask(&policy, &child, "recommend", &["usage"], false),
        Reason::UndeclaredData,
    );
    denied(
        ask(
            &policy,
            &child,
            "recommend",
            &["watch-history", "diary"],
            false,
        ),
        Reason::UndeclaredData,
    );
    allowed(
        ask(&policy, &child, "recommend", &["watch-history"], false),
        Reason::SettingOn,
        Some(Obligation::FilterFeed { age: 14 }),
    );
}

#[test]
fn row_3_a_commercial_purpose_reading_age_assurance_data_is_denied() {
    let policy = world();
    let child = child_aged(&policy, 14, "GB");
    denied(
        ask(
            &policy,
            &child,
            "analytics",
            &["usage", "age-signals"],
            false,
        ),
        Reason::PurposeLimitation,
    );
    // Adults are protected by purpose limitation too.
    let adult = child_aged(&policy, 30, "GB");
    denied(
        ask(&policy, &adult, "analytics", &["age-signals"], false),
        Reason::PurposeLimitation,
    );
}

#[test]
fn row_4_a_solely_automated_significant_decision_never_concerns_a_child() {
    let policy = world();
    denied(
        ask(
            &policy,
            &child_aged(&policy, 16, "GB"),
            "credit",
            &[],
            false,
        ),
        Reason::AutomatedDecisionChild,
    );
    denied(
        ask(&policy, &unknown_child(&policy), "credit", &[], false),
        Reason::AutomatedDecisionChild,
    );
    // Adults skip row 4 (and, having no setting for it, are refused at row 10).
    denied(
        ask(
            &policy,
            &child_aged(&policy, 30, "GB"),
            "credit",
            &[],
            false,
        ),
        Reason::SettingOff,
    );
}

#[test]
fn row_5_a_required_purpose_is_allowed_without_a_setting() {
    let policy = world();
    allowed(
        ask(
            &policy,
            &child_aged(&policy, 9, "GB"),
            "moderation",
            &["chat-signals"],
            false,
        ),
        Reason::Required,
        None,
    );
    allowed(
        ask(
            &policy,
            &unknown_child(&policy),
            "age-check",
            &["age-signals"],
            false,
        ),
        Reason::Required,
        None,
    );
}

#[test]
fn row_6_a_child_below_the_minimum_age_is_refused_everything_not_required() {
    let policy = world();
    let child = child_aged(&policy, 6, "GB");
    denied(
        ask(&policy, &child, "subtitles", &[], false),
        Reason::BelowMinAge,
    );
    allowed(
        ask(&policy, &child, "moderation", &[], false),
        Reason::Required,
        None,
    );
}

#[test]
fn row_7_a_purpose_locked_for_children_is_denied_to_children_and_unknown_users() {
    let policy = world();
    denied(
        ask(
            &policy,
            &child_aged(&policy, 17, "GB"),
            "dating",
            &[],
            false,
        ),
        Reason::LockedForChildren,
    );
    denied(
        ask(&policy, &unknown_child(&policy), "dating", &[], false),
        Reason::LockedForChildren,
    );
    let mut adult = child_aged(&policy, 25, "GB");
    switch_on(&policy, &mut adult, "dating");
    allowed(
        ask(&policy, &adult, "dating", &[], false),
        Reason::SettingOn,
        None,
    );
}

#[test]
fn row_8_the_gpc_signal_denies_behavioural_advertising_even_with_consent() {
    let policy = world();
    let mut adult = child_aged(&policy, 25, "GB");
    switch_on(&policy, &mut adult, "ads");
    allowed(
        ask(&policy, &adult, "ads", &["watch-history"], false),
        Reason::SettingOn,
        None,
    );
    denied(
        ask(&policy, &adult, "ads", &["watch-history"], true),
        Reason::GpcOptOut,
    );
    // GPC is about advertising only.
    switch_on(&policy, &mut adult, "recommend");
    allowed(
        ask(&policy, &adult, "recommend", &[], true),
        Reason::SettingOn,
        None,
    );
}

#[test]
fn row_9_a_setting_waiting_for_a_parent_is_denied() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let (outcome, _) = child.request_on(&policy, "recommend", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(intervention) = outcome else {
        panic!("a child gets an intervention")
    };
    child.acknowledge(&policy, &intervention, now()).unwrap();
    denied(
        ask(&policy, &child, "recommend", &[], false),
        Reason::AwaitingParent,
    );
}

#[test]
fn row_10_a_setting_that_is_not_on_is_denied() {
    let policy = world();
    let child = child_aged(&policy, 14, "GB");
    denied(
        ask(&policy, &child, "recommend", &[], false),
        Reason::SettingOff,
    );
    denied(
        ask(&policy, &child, "nudges", &[], false),
        Reason::SettingOff,
    );
}

#[test]
fn row_11_a_consent_purpose_without_live_consent_from_the_right_person_is_denied() {
    let policy = world();
    // Switched on by a 14-year-old themself, then read as an 11-year-old: their own consent
    // is not from the right person. (No operation leaves this state — an age correction asks
    // a parent, see transitions.rs — but `decide` must not trust one it is handed.)
    let mut child = child_aged(&policy, 14, "GB");
    switch_on(&policy, &mut child, "ads");
    allowed(
        ask(&policy, &child, "ads", &[], false),
        Reason::SettingOn,
        Some(Obligation::MaxAdAge { age: 14 }),
    );
    let mut as_eleven = child.clone();
    as_eleven.state.age = ward_core::child::AgeRecord {
        method: ward_core::policy::AgeMethod::Verified,
        evidence: ward_core::child::AgeEvidence::Age(11),
        at: now(),
    }
    .snapshot(&policy.policy().service.adult_age_methods, now());
    denied(
        ask(&policy, &as_eleven, "ads", &[], false),
        Reason::ConsentMissing,
    );
    // Consent to an older version of the purpose, before the child is moved to the policy
    // that changed it.
    let reworded = compiled(&POLICY.replace(
        "Uses the videos you watch to choose the adverts shown between videos.",
        "Uses the videos you watch and like to choose the adverts shown between videos.",
    ));
    denied(
        ask(&reworded, &child, "ads", &[], false),
        Reason::ConsentMissing,
    );
}

#[test]
fn row_12_a_setting_that_is_on_is_allowed_with_its_obligations() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    for setting in ["recommend", "ads", "friends", "nudges"] {
        switch_on(&policy, &mut child, setting);
    }
    allowed(
        ask(&policy, &child, "recommend", &[], false),
        Reason::SettingOn,
        Some(Obligation::FilterFeed { age: 11 }),
    );
    allowed(
        ask(&policy, &child, "ads", &[], false),
        Reason::SettingOn,
        Some(Obligation::MaxAdAge { age: 11 }),
    );
    allowed(
        ask(&policy, &child, "friends", &[], false),
        Reason::SettingOn,
        Some(Obligation::AdultContactFilter),
    );
    allowed(
        ask(&policy, &child, "nudges", &[], false),
        Reason::SettingOn,
        Some(Obligation::NoInactivityNudges),
    );
    allowed(
        ask(&policy, &child, "subtitles", &[], false),
        Reason::SettingOn,
        None,
    );
}

#[test]
fn an_eleven_year_old_needs_a_parent_to_turn_on_ads() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let events = switch_on(&policy, &mut child, "ads");
    let types = crate::world::event_types(&events);
    assert!(types.contains(&"consent_requested".to_owned()), "{types:?}");
    let record = child
        .consents
        .iter()
        .find(|c| c.setting.as_str() == "ads")
        .unwrap();
    assert_eq!(record.given_by, ward_core::settings::ConsentGiver::Parent);
    assert_eq!(record.method, Some(ParentalConsentMethod::EmailPlus));
    allowed(
        ask(&policy, &child, "ads", &[], false),
        Reason::SettingOn,
        Some(Obligation::MaxAdAge { age: 11 }),
    );
}

#[test]
fn a_fourteen_year_old_in_germany_needs_a_parent_where_one_in_britain_does_not() {
    let policy = world();
    let mut german = child_aged(&policy, 14, "DE");
    let (outcome, _) = german.request_on(&policy, "ads", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(intervention) = outcome else {
        panic!()
    };
    assert!(
        intervention
            .required
            .contains(&ward_core::settings::Step::ParentalConsent)
    );
    let mut british = child_aged(&policy, 14, "GB");
    let (outcome, _) = british.request_on(&policy, "ads", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(intervention) = outcome else {
        panic!()
    };
    assert_eq!(
        intervention.required,
        [ward_core::settings::Step::Acknowledge]
    );
}

#[test]
fn a_birthday_moves_a_child_across_a_band_and_the_consent_age() {
    let policy = world();
    // Born 2013-06-10: 12 on our "now" (2026-06-01), 13 on 2026-06-10 from 12:00 UTC.
    let mut child = child_born(&policy, date(2013, 6, 10));
    switch_on(&policy, &mut child, "ads");
    assert_eq!(
        child.consents[0].given_by,
        ward_core::settings::ConsentGiver::Parent
    );
    let before = "2026-06-10T11:59:59Z".parse().unwrap();
    let after = "2026-06-10T12:00:00Z".parse().unwrap();
    assert_eq!(
        ask_at(&policy, &child, "ads", &[], false, before).obligation,
        Some(Obligation::MaxAdAge { age: 12 })
    );
    assert_eq!(
        ask_at(&policy, &child, "ads", &[], false, after).obligation,
        Some(Obligation::MaxAdAge { age: 13 })
    );
    // Time passing: the band changes and the parent's consent is marked for the child to confirm.
    let events = child.observe(&policy, after);
    assert_eq!(
        crate::world::event_types(&events),
        ["band_changed", "consent_refresh_due"]
    );
    // The parent's consent stays live meanwhile.
    allowed(
        ask_at(&policy, &child, "ads", &[], false, after),
        Reason::SettingOn,
        Some(Obligation::MaxAdAge { age: 13 }),
    );
    child.confirm_consent(&policy, "ads", after).unwrap();
    assert_eq!(
        child.consents[0].given_by,
        ward_core::settings::ConsentGiver::User
    );
}

#[test]
fn a_leap_day_birthday_counts_on_the_first_of_march() {
    let policy = world();
    let child = child_born(&policy, date(2012, 2, 29));
    let feb_28: jiff::Timestamp = "2027-02-28T23:00:00Z".parse().unwrap();
    let mar_1: jiff::Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
    assert_eq!(child.state.age_status(&policy, feb_28).working_age(8), 14);
    assert_eq!(child.state.age_status(&policy, mar_1).working_age(8), 15);
}

#[test]
fn a_self_declared_adult_is_treated_as_unknown() {
    let policy = world();
    let (mut child, _) = ward_core::settings::Child::new(
        ward_core::ids::ChildId::parse("c1").unwrap(),
        &policy,
        now(),
    );
    let record = ward_core::child::AgeRecord {
        method: ward_core::policy::AgeMethod::SelfDeclared,
        evidence: ward_core::child::AgeEvidence::Age(21),
        at: now(),
    };
    child.set_age_record(&policy, record, now());
    assert_eq!(child.state.age.status, ward_core::child::AgeStatus::Unknown);
    denied(
        ask(&policy, &child, "dating", &[], false),
        Reason::LockedForChildren,
    );
    // The same claim, estimated (a trusted method in this policy's defaults), is an adult.
    child.set_age_record(
        &policy,
        ward_core::child::AgeRecord {
            method: ward_core::policy::AgeMethod::Estimated,
            ..record
        },
        now(),
    );
    assert_eq!(child.state.age.status, ward_core::child::AgeStatus::Adult);
}

#[test]
fn an_unknown_user_gets_a_childs_protections_and_the_youngest_admitted_texts() {
    let policy = world();
    let mut child = unknown_child(&policy);
    // Obligations use the service's min_age.
    allowed(
        ask(&policy, &child, "subtitles", &[], false),
        Reason::SettingOn,
        None,
    );
    let (outcome, _) = child.request_on(&policy, "recommend", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(intervention) = outcome else {
        panic!()
    };
    assert_eq!(intervention.band.as_deref(), Some("6-9"));
    assert_eq!(intervention.explain, "Six to nine words.");
    assert!(
        intervention
            .required
            .contains(&ward_core::settings::Step::AgeAssurance)
    );
    assert_eq!(
        child.acknowledge(&policy, &intervention, now()),
        Err(ward_core::settings::FlowError::AgeAssuranceRequired)
    );
    // Not a consent purpose: an unknown user can switch it on after the intervention.
    let (outcome, _) = child.request_on(&policy, "nudges", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(intervention) = outcome else {
        panic!()
    };
    child.acknowledge(&policy, &intervention, now()).unwrap();
    allowed(
        ask(&policy, &child, "nudges", &[], false),
        Reason::SettingOn,
        Some(Obligation::NoInactivityNudges),
    );
}

#[test]
fn a_band_only_record_uses_the_bands_lower_bound() {
    let policy = world();
    let (mut child, _) = ward_core::settings::Child::new(
        ward_core::ids::ChildId::parse("c1").unwrap(),
        &policy,
        now(),
    );
    let band = ward_core::child::AgeEvidence::Band(ward_core::child::BandOrAdult::Band(
        ward_core::age::AgeBand::From13To15,
    ));
    child.set_age_record(
        &policy,
        ward_core::child::AgeRecord {
            method: ward_core::policy::AgeMethod::Estimated,
            evidence: band,
            at: now(),
        },
        now(),
    );
    switch_on(&policy, &mut child, "recommend");
    allowed(
        ask(&policy, &child, "recommend", &[], false),
        Reason::SettingOn,
        Some(Obligation::FilterFeed { age: 13 }),
    );
}

#[test]
fn a_purpose_whose_description_changed_needs_consent_again() {
    let old = world();
    let new = compiled(&POLICY.replace(
        "Uses the videos you watch to choose the adverts shown between videos.",
        "Uses the videos you watch and your location to choose the adverts shown between videos.",
    ));
    let mut child = child_aged(&old, 14, "GB");
    switch_on(&old, &mut child, "ads");
    switch_on(&old, &mut child, "recommend");
    // At once, before the child is moved: consent to the old words is not consent to these.
    denied(ask(&new, &child, "ads", &[], false), Reason::ConsentMissing);
    let events = child.apply_policy_change(&old, &new, now());
    assert_eq!(
        crate::world::event_types(&events),
        ["reconsent_required", "setting_changed"]
    );
    // Moved: a 14-year-old consents themself, so the setting is off, as they asked for it,
    // until they switch it on again.
    denied(ask(&new, &child, "ads", &[], false), Reason::SettingOff);
    let ads = child.state.slot(new.setting_idx("ads").unwrap()).unwrap();
    assert_eq!(
        (ads.preferred, ads.effective),
        (SettingValue::On, SettingValue::Off)
    );
    // The unchanged purpose keeps its consent.
    allowed(
        ask(&new, &child, "recommend", &[], false),
        Reason::SettingOn,
        Some(Obligation::FilterFeed { age: 14 }),
    );
    // Asked again, the child can consent to the new version.
    switch_on(&new, &mut child, "ads");
    allowed(
        ask(&new, &child, "ads", &[], false),
        Reason::SettingOn,
        Some(Obligation::MaxAdAge { age: 14 }),
    );
}

#[test]
fn a_child_never_seen_is_unknown_on_the_defaults() {
    let policy = world();
    let child = unknown_child(&policy);
    allowed(
        ask(&policy, &child, "moderation", &[], false),
        Reason::Required,
        None,
    );
    allowed(
        ask(&policy, &child, "subtitles", &[], false),
        Reason::SettingOn,
        None,
    );
    denied(
        ask(&policy, &child, "recommend", &[], false),
        Reason::SettingOff,
    );
    assert_eq!(
        child
            .state
            .settings
            .iter()
            .filter(|s| s.effective == SettingValue::LockedOff)
            .count(),
        1,
        "dating"
    );
}

#[test]
fn decisions_serialize_to_the_documented_json() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    switch_on(&policy, &mut child, "recommend");
    let json = serde_json::to_value(ask(&policy, &child, "recommend", &[], false)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"allow": true, "reasons": ["setting_on"], "obligations": [{"kind": "filter_feed", "age": 11}]})
    );
    let json = serde_json::to_value(ask(&policy, &child, "friends", &[], false)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"allow": false, "reasons": ["setting_off"], "obligations": []})
    );
}

#[test]
fn decide_batch_answers_in_order() {
    let policy = world();
    let mut on = child_aged(&policy, 14, "GB");
    switch_on(&policy, &mut on, "recommend");
    let off = child_aged(&policy, 14, "GB");
    let recommend = policy.purpose_idx("recommend");
    let requests = [
        (
            &on.state,
            ward_core::decide::Request {
                purpose: recommend,
                data: &[],
                gpc: false,
            },
        ),
        (
            &off.state,
            ward_core::decide::Request {
                purpose: recommend,
                data: &[],
                gpc: false,
            },
        ),
        (
            &on.state,
            ward_core::decide::Request {
                purpose: None,
                data: &[],
                gpc: false,
            },
        ),
    ];
    let mut out = Vec::new();
    ward_core::decide::decide_batch(&policy, requests, now(), &mut out);
    let reasons: Vec<Reason> = out.iter().map(|d| d.reason).collect();
    assert_eq!(
        reasons,
        [
            Reason::SettingOn,
            Reason::SettingOff,
            Reason::UnknownPurpose
        ]
    );
}

#[test]
fn the_hot_state_for_ten_settings_fits_in_256_bytes() {
    let bytes = std::mem::size_of::<ward_core::settings::ChildState>()
        + 10 * std::mem::size_of::<ward_core::settings::SettingSlot>();
    assert!(bytes <= 256, "{bytes} bytes");
}

#[test]
fn parent_consent_for_an_approved_request_is_checked_against_days_passing() {
    // A request left unanswered past request_ttl_days (7) lapses back to off.
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    child.link_parent(&policy, parent("dad"), now()).unwrap();
    let (outcome, _) = child.request_on(&policy, "recommend", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(intervention) = outcome else {
        panic!()
    };
    child.acknowledge(&policy, &intervention, now()).unwrap();
    let later = now().saturating_add(days(7)).unwrap();
    let events = child.observe(&policy, later);
    assert_eq!(
        crate::world::event_types(&events),
        ["consent_request_expired", "setting_changed"]
    );
    denied(
        ask_at(&policy, &child, "recommend", &[], false, later),
        Reason::SettingOff,
    );
}
