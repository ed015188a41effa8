//! The switch-on state machine: one test per transition, and the illegal ones as typed errors
//! that change nothing; then one test per path where the shown state and `decide` could
//! disagree (age, jurisdiction, policy and parent changes), each checked with
//! `agreement::agree`.

use ward_core::policy::{ParentalConsentMethod, Toggle};
use ward_core::settings::{
    Acknowledged, Actor, ConsentGiver, FlowError, INTERVENTION_TTL, SettingValue, Step, SwitchOn,
};

use crate::world::{POLICY, child_aged, compiled, event_types, now, parent, switch_on, world};

fn effective(
    child: &ward_core::settings::Child,
    policy: &ward_core::compiled::CompiledPolicy,
    setting: &str,
) -> SettingValue {
    child
        .state
        .slot(policy.setting_idx(setting).unwrap())
        .unwrap()
        .effective
}

fn intervention(
    policy: &ward_core::compiled::CompiledPolicy,
    child: &mut ward_core::settings::Child,
    setting: &str,
) -> ward_core::settings::Intervention {
    match child.request_on(policy, setting, now()).unwrap().0 {
        SwitchOn::Intervention(intervention) => *intervention,
        SwitchOn::On => panic!("expected an intervention"),
    }
}

/// Runs `operation` expecting `error`, and checks the child is exactly as before.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    child: &mut ward_core::settings::Child,
    error: FlowError,
    operation: impl FnOnce(&mut ward_core::settings::Child) -> Result<T, FlowError>,
) {
    let before = child.clone();
    assert_eq!(operation(child).map(|_| ()).unwrap_err(), error);
    assert_eq!(*child, before, "a refused operation changed the child");
}

#[test]
fn request_on_shows_the_bands_texts_and_leaves_the_setting_off() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let (outcome, events) = child.request_on(&policy, "recommend", now()).unwrap();
    let SwitchOn::Intervention(shown) = outcome else {
        panic!()
    };
    assert_eq!(shown.band.as_deref(), Some("10-12"));
    assert_eq!(shown.explain, "Ten to twelve words.");
    assert_eq!(shown.ask_adult, "Ask a parent.");
    assert_eq!(shown.required, [Step::Acknowledge, Step::ParentalConsent]);
    assert_eq!(shown.text_version.len(), 16);
    assert_eq!(
        shown.expires_at,
        now().saturating_add(INTERVENTION_TTL).unwrap()
    );
    assert_eq!(event_types(&events), ["intervention_shown"]);
    assert_eq!(effective(&child, &policy, "recommend"), SettingValue::Off);
    // Another band sees other words and another text version.
    let mut older = child_aged(&policy, 14, "GB");
    let other = intervention(&policy, &mut older, "recommend");
    assert_eq!(other.explain, "Teen words.");
    assert_ne!(other.text_version, shown.text_version);
}

#[test]
fn acknowledging_with_own_consent_switches_on_with_a_consent_record() {
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    let shown = intervention(&policy, &mut child, "recommend");
    let (outcome, events) = child.acknowledge(&policy, &shown, now()).unwrap();
    assert_eq!(outcome, Acknowledged::On);
    assert_eq!(
        event_types(&events),
        [
            "intervention_acknowledged",
            "consent_given",
            "setting_changed"
        ]
    );
    let record = &child.consents[0];
    assert_eq!(
        (record.given_by, record.parent.as_ref(), record.given_at),
        (ConsentGiver::User, None, now())
    );
    assert_eq!(record.text_version, shown.text_version);
    assert_eq!(effective(&child, &policy, "recommend"), SettingValue::On);
}

#[test]
fn acknowledging_below_the_consent_age_asks_every_linked_parent() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    child.link_parent(&policy, parent("dad"), now()).unwrap();
    let shown = intervention(&policy, &mut child, "recommend");
    let (outcome, events) = child.acknowledge(&policy, &shown, now()).unwrap();
    let Acknowledged::PendingParent(request) = outcome else {
        panic!()
    };
    assert!(!request.no_parent_linked);
    assert_eq!(
        request.explain, shown.explain,
        "the parent sees what the child saw"
    );
    assert_eq!(
        event_types(&events),
        [
            "intervention_acknowledged",
            "setting_changed",
            "consent_requested"
        ]
    );
    let json = serde_json::to_value(&events[2]).unwrap();
    assert_eq!(json["parents"], serde_json::json!(["mum", "dad"]));
    assert_eq!(
        effective(&child, &policy, "recommend"),
        SettingValue::PendingParent
    );
}

#[test]
fn with_no_parent_linked_the_request_waits_and_says_so() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let shown = intervention(&policy, &mut child, "recommend");
    let Acknowledged::PendingParent(request) = child.acknowledge(&policy, &shown, now()).unwrap().0
    else {
        panic!()
    };
    assert!(request.no_parent_linked);
    // A parent linked later can answer it.
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    assert!(!child.requests[0].no_parent_linked);
    child
        .approve(
            &policy,
            "recommend",
            &parent("mum"),
            ParentalConsentMethod::EmailPlus,
            now(),
        )
        .unwrap();
    assert_eq!(effective(&child, &policy, "recommend"), SettingValue::On);
}

#[test]
fn the_first_parents_answer_stands() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    child.link_parent(&policy, parent("dad"), now()).unwrap();
    let shown = intervention(&policy, &mut child, "ads");
    child.acknowledge(&policy, &shown, now()).unwrap();
    let (_, events) = child
        .approve(
            &policy,
            "ads",
            &parent("dad"),
            ParentalConsentMethod::PaymentCard,
            now(),
        )
        .unwrap();
    assert_eq!(event_types(&events), ["consent_given", "setting_changed"]);
    assert_eq!(child.consents[0].parent, Some(parent("dad")));
    assert_eq!(
        child.consents[0].method,
        Some(ParentalConsentMethod::PaymentCard)
    );
    let setting = ward_core::ids::SettingId::parse("ads").unwrap();
    refused(&mut child, FlowError::NotPending(setting), |c| {
        c.deny(&policy, "ads", &parent("mum"), now())
    });
}

#[test]
fn a_parents_denial_switches_it_off() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    let shown = intervention(&policy, &mut child, "ads");
    child.acknowledge(&policy, &shown, now()).unwrap();
    let (_, events) = child.deny(&policy, "ads", &parent("mum"), now()).unwrap();
    assert_eq!(event_types(&events), ["consent_denied", "setting_changed"]);
    assert_eq!(effective(&child, &policy, "ads"), SettingValue::Off);
    assert!(child.requests.is_empty());
}

#[test]
fn switching_off_is_one_step_and_withdraws_the_consent() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    switch_on(&policy, &mut child, "ads");
    let (_, events) = child
        .switch_off(&policy, "ads", Actor::Child, now())
        .unwrap();
    assert_eq!(
        event_types(&events),
        ["consent_withdrawn", "setting_changed"]
    );
    assert_eq!(effective(&child, &policy, "ads"), SettingValue::Off);
    assert!(child.consents.is_empty());
    // Off again: nothing to do, and no error.
    assert!(
        child
            .switch_off(&policy, "ads", Actor::Child, now())
            .unwrap()
            .1
            .is_empty()
    );
}

#[test]
fn switching_off_a_pending_setting_cancels_the_request() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let shown = intervention(&policy, &mut child, "ads");
    child.acknowledge(&policy, &shown, now()).unwrap();
    child
        .switch_off(&policy, "ads", Actor::Child, now())
        .unwrap();
    assert!(child.requests.is_empty());
    assert_eq!(effective(&child, &policy, "ads"), SettingValue::Off);
}

#[test]
fn an_adult_switches_on_in_one_step_with_their_own_consent() {
    let policy = world();
    let mut adult = child_aged(&policy, 30, "GB");
    let (outcome, events) = adult.request_on(&policy, "ads", now()).unwrap();
    assert_eq!(outcome, SwitchOn::On);
    assert_eq!(event_types(&events), ["consent_given", "setting_changed"]);
}

#[test]
fn illegal_transitions_are_typed_errors_that_change_nothing() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let setting = |id: &str| ward_core::ids::SettingId::parse(id).unwrap();
    refused(
        &mut child,
        FlowError::UnknownSetting("telepathy".into()),
        |c| c.request_on(&policy, "telepathy", now()),
    );
    refused(
        &mut child,
        FlowError::LockedForChildren(setting("dating")),
        |c| c.request_on(&policy, "dating", now()),
    );
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    refused(&mut child, FlowError::NotPending(setting("ads")), |c| {
        c.approve(
            &policy,
            "ads",
            &parent("mum"),
            ParentalConsentMethod::EmailPlus,
            now(),
        )
    });
    let mut child = child_aged(&policy, 11, "GB");
    refused(
        &mut child,
        FlowError::ParentNotLinked(parent("stranger")),
        |c| c.deny(&policy, "ads", &parent("stranger"), now()),
    );
    switch_on(&policy, &mut child, "recommend");
    refused(
        &mut child,
        FlowError::AlreadyOn(setting("recommend")),
        |c| c.request_on(&policy, "recommend", now()),
    );
    let shown = intervention(&policy, &mut child, "ads");
    child.acknowledge(&policy, &shown, now()).unwrap();
    refused(&mut child, FlowError::AlreadyPending(setting("ads")), |c| {
        c.request_on(&policy, "ads", now())
    });
    refused(&mut child, FlowError::AlreadyPending(setting("ads")), |c| {
        c.acknowledge(&policy, &shown, now())
    });
    // `switch_on` linked mum to approve `recommend`.
    refused(
        &mut child,
        FlowError::ParentAlreadyLinked(parent("mum")),
        |c| c.link_parent(&policy, parent("mum"), now()),
    );
    refused(
        &mut child,
        FlowError::NoRefreshDue(setting("recommend")),
        |c| c.confirm_consent(&policy, "recommend", now()),
    );
    let mut young = child_aged(&policy, 6, "GB");
    refused(&mut young, FlowError::BelowMinAge, |c| {
        c.request_on(&policy, "recommend", now())
    });
}

#[test]
fn an_expired_stale_or_misdirected_intervention_is_refused() {
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    let shown = intervention(&policy, &mut child, "recommend");
    let late = now().saturating_add(INTERVENTION_TTL).unwrap();
    refused(&mut child, FlowError::InterventionExpired, |c| {
        c.acknowledge(&policy, &shown, late)
    });
    let reworded = compiled(&POLICY.replace("Teen words.", "New teen words."));
    refused(&mut child, FlowError::InterventionStale, |c| {
        c.acknowledge(&reworded, &shown, now())
    });
    let mut other = child_aged(&policy, 14, "GB");
    other.id = ward_core::ids::ChildId::parse("c2").unwrap();
    refused(&mut other, FlowError::WrongChild, |c| {
        c.acknowledge(&policy, &shown, now())
    });
}

#[test]
fn linking_a_parent_supervises_the_child_until_the_last_one_is_unlinked() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    assert!(!child.state.supervised);
    let (_, events) = child.link_parent(&policy, parent("mum"), now()).unwrap();
    assert_eq!(event_types(&events), ["parent_linked"]);
    child.link_parent(&policy, parent("dad"), now()).unwrap();
    child.unlink_parent(&policy, &parent("mum"), now()).unwrap();
    assert!(child.state.supervised);
    child.unlink_parent(&policy, &parent("dad"), now()).unwrap();
    assert!(!child.state.supervised);
}

#[test]
fn location_sharing_goes_back_off_at_the_end_of_every_session() {
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    assert_eq!(child.state.geolocation, Toggle::Off);
    assert_eq!(
        event_types(&child.set_geolocation(Toggle::On, now())),
        ["geolocation_changed"]
    );
    let events = child.end_session(now());
    assert_eq!(
        serde_json::to_value(&events[0]).unwrap()["geolocation_reset"],
        true
    );
    assert_eq!(child.state.geolocation, Toggle::Off);
    assert_eq!(
        child.state.profile,
        ward_core::policy::ProfileVisibility::Private
    );
}

#[test]
fn a_policy_change_drops_removed_settings_and_adds_new_ones_at_their_defaults() {
    let old = world();
    let new_source = POLICY.replace("setting = \"friends\"", "setting = \"classmates\"");
    let new = compiled(&new_source);
    let mut child = child_aged(&old, 14, "GB");
    switch_on(&old, &mut child, "friends");
    let events = child.apply_policy_change(&old, &new, now());
    assert_eq!(event_types(&events), ["setting_added", "setting_removed"]);
    assert_eq!(child.state.settings.len(), new.settings().len());
    assert_eq!(effective(&child, &new, "classmates"), SettingValue::Off);
    assert!(
        child
            .consents
            .iter()
            .all(|c| c.setting.as_str() != "friends")
    );
}

#[test]
fn every_event_names_the_child_and_the_time() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    let events = switch_on(&policy, &mut child, "ads");
    for event in &events {
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(json["child"], "c1");
        assert_eq!(json["at"], "2026-06-01T12:30:00Z");
        assert!(json["type"].is_string());
    }
}

// What the state shows and what `decide` answers agree after every change: one test per
// path that could split them (the property in agreement.rs covers their sequences).

fn record(age: u8) -> ward_core::child::AgeRecord {
    ward_core::child::AgeRecord {
        method: ward_core::policy::AgeMethod::Verified,
        evidence: ward_core::child::AgeEvidence::Age(age),
        at: now(),
    }
}

#[track_caller]
fn agrees(policy: &ward_core::compiled::CompiledPolicy, child: &ward_core::settings::Child) {
    crate::agreement::agree(policy, child, now()).unwrap();
}

fn reason(
    policy: &ward_core::compiled::CompiledPolicy,
    child: &ward_core::settings::Child,
    purpose: &str,
) -> ward_core::decide::Reason {
    crate::world::ask(policy, child, purpose, &[], false).reason
}

fn slot(
    child: &ward_core::settings::Child,
    policy: &ward_core::compiled::CompiledPolicy,
    setting: &str,
) -> ward_core::settings::SettingSlot {
    *child
        .state
        .slot(policy.setting_idx(setting).unwrap())
        .unwrap()
}

fn requested(events: &[ward_core::settings::Event]) -> Vec<serde_json::Value> {
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .filter(|e| e["type"] == "consent_requested")
        .collect()
}

#[test]
fn an_age_correction_below_the_consent_age_ends_the_childs_own_consent_and_asks_every_parent() {
    use ward_core::decide::Reason;
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    child.link_parent(&policy, parent("dad"), now()).unwrap();
    switch_on(&policy, &mut child, "ads");
    assert_eq!(child.consents[0].given_by, ConsentGiver::User);
    assert_eq!(reason(&policy, &child, "ads"), Reason::SettingOn);

    let events = child.set_age_record(&policy, record(11), now());
    assert_eq!(
        event_types(&events),
        [
            "age_recorded",
            "band_changed",
            "consent_withdrawn",
            "setting_changed",
            "consent_requested"
        ]
    );
    assert_eq!(
        effective(&child, &policy, "ads"),
        SettingValue::PendingParent
    );
    assert_eq!(reason(&policy, &child, "ads"), Reason::AwaitingParent);
    assert!(child.consents.is_empty());
    let asked = &requested(&events)[0];
    assert_eq!(asked["parents"], serde_json::json!(["mum", "dad"]));
    let request = &child.requests[0];
    assert_eq!(request.cause, ward_core::settings::RequestCause::ConsentAge);
    assert!(!request.no_parent_linked);
    // The texts are the ones an 11-year-old switching it on would see now.
    let SwitchOn::Intervention(eleven) = child_aged(&policy, 11, "GB")
        .request_on(&policy, "ads", now())
        .unwrap()
        .0
    else {
        panic!()
    };
    assert_eq!(request.text_version, eleven.text_version);
    agrees(&policy, &child);
    // Either parent can answer it.
    child
        .approve(
            &policy,
            "ads",
            &parent("dad"),
            ParentalConsentMethod::EmailPlus,
            now(),
        )
        .unwrap();
    assert_eq!(reason(&policy, &child, "ads"), Reason::SettingOn);
    agrees(&policy, &child);
}

#[test]
fn an_age_correction_below_the_consent_age_with_no_parent_waits_as_no_parent_linked() {
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    switch_on(&policy, &mut child, "recommend");
    let events = child.set_age_record(&policy, record(11), now());
    let asked = &requested(&events)[0];
    assert_eq!(asked["parents"], serde_json::json!([]));
    assert_eq!(asked["request"]["no_parent_linked"], true);
    assert!(child.requests[0].no_parent_linked);
    agrees(&policy, &child);
}

#[test]
fn an_age_correction_below_min_age_leaves_nothing_on_or_waiting() {
    use ward_core::decide::Reason;
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    switch_on(&policy, &mut child, "ads");
    let shown = intervention(&policy, &mut child, "recommend");
    child.acknowledge(&policy, &shown, now()).unwrap();
    assert_eq!(effective(&child, &policy, "subtitles"), SettingValue::On);

    let events = child.set_age_record(&policy, record(6), now());
    assert_eq!(
        event_types(&events),
        [
            "age_recorded",
            "band_changed",
            "setting_changed",
            "consent_withdrawn",
            "setting_changed",
            "setting_changed"
        ]
    );
    for setting in ["recommend", "ads", "subtitles"] {
        assert_eq!(effective(&child, &policy, setting), SettingValue::Off);
        assert_eq!(reason(&policy, &child, setting), Reason::BelowMinAge);
    }
    assert!(child.requests.is_empty() && child.consents.is_empty());
    // What the child asked for stays on record: the default, and the consents they gave.
    assert_eq!(
        slot(&child, &policy, "subtitles").preferred,
        SettingValue::On
    );
    agrees(&policy, &child);
    // An intervention shown before the correction cannot switch anything on now.
    let mut older = child_aged(&policy, 9, "GB");
    let shown = intervention(&policy, &mut older, "nudges");
    older.set_age_record(&policy, record(7), now());
    refused(&mut older, FlowError::BelowMinAge, |c| {
        c.acknowledge(&policy, &shown, now())
    });
}

#[test]
fn an_adult_re_recorded_as_a_child_has_locked_purposes_locked_off_and_their_consent_withdrawn() {
    use ward_core::decide::Reason;
    let policy = world();
    let mut user = child_aged(&policy, 30, "GB");
    switch_on(&policy, &mut user, "dating");
    switch_on(&policy, &mut user, "ads");
    assert_eq!(reason(&policy, &user, "dating"), Reason::SettingOn);

    let events = user.set_age_record(&policy, record(15), now());
    assert_eq!(
        event_types(&events),
        [
            "age_recorded",
            "band_changed",
            "consent_withdrawn",
            "setting_changed"
        ]
    );
    assert_eq!(effective(&user, &policy, "dating"), SettingValue::LockedOff);
    assert_eq!(reason(&policy, &user, "dating"), Reason::LockedForChildren);
    // A 15-year-old in Britain consents themself: their own consent to ads stands.
    assert_eq!(reason(&policy, &user, "ads"), Reason::SettingOn);
    agrees(&policy, &user);
}

#[test]
fn a_child_who_becomes_an_adult_finds_locked_purposes_off_to_choose() {
    use ward_core::decide::Reason;
    let policy = world();
    let mut child = child_aged(&policy, 17, "GB");
    assert_eq!(
        effective(&child, &policy, "dating"),
        SettingValue::LockedOff
    );
    let events = child.set_age_record(&policy, record(18), now());
    assert_eq!(
        event_types(&events),
        ["age_recorded", "band_changed", "setting_changed"]
    );
    assert_eq!(
        (
            slot(&child, &policy, "dating").preferred,
            effective(&child, &policy, "dating")
        ),
        (SettingValue::Off, SettingValue::Off)
    );
    assert_eq!(reason(&policy, &child, "dating"), Reason::SettingOff);
    agrees(&policy, &child);
    assert_eq!(
        child.request_on(&policy, "dating", now()).unwrap().0,
        SwitchOn::On
    );
    agrees(&policy, &child);
}

#[test]
fn an_age_correction_across_the_consent_age_marks_a_parents_consent_due_and_back_unmarks_it() {
    use ward_core::decide::Reason;
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    switch_on(&policy, &mut child, "ads");
    let events = child.set_age_record(&policy, record(14), now());
    assert_eq!(
        event_types(&events),
        ["age_recorded", "band_changed", "consent_refresh_due"]
    );
    assert!(slot(&child, &policy, "ads").consent.unwrap().refresh_due);
    assert_eq!(reason(&policy, &child, "ads"), Reason::SettingOn);
    agrees(&policy, &child);
    // Corrected back: the parent's consent is the one needed again, nothing to confirm.
    child.set_age_record(&policy, record(12), now());
    assert!(!slot(&child, &policy, "ads").consent.unwrap().refresh_due);
    let setting = ward_core::ids::SettingId::parse("ads").unwrap();
    refused(&mut child, FlowError::NoRefreshDue(setting), |c| {
        c.confirm_consent(&policy, "ads", now())
    });
    agrees(&policy, &child);
}

#[test]
fn a_fourteen_year_old_moving_to_germany_needs_a_parent_and_back_in_britain_does_not() {
    use ward_core::decide::Reason;
    use ward_core::jurisdiction::Jurisdiction;
    let policy = world();
    let mut child = child_aged(&policy, 14, "GB");
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    switch_on(&policy, &mut child, "recommend");
    let (_, events) = child
        .set_jurisdiction(&policy, Jurisdiction::parse("DE").unwrap(), now())
        .unwrap();
    assert_eq!(
        event_types(&events),
        [
            "jurisdiction_changed",
            "consent_withdrawn",
            "setting_changed",
            "consent_requested"
        ]
    );
    assert_eq!(reason(&policy, &child, "recommend"), Reason::AwaitingParent);
    agrees(&policy, &child);
    child
        .approve(
            &policy,
            "recommend",
            &parent("mum"),
            ParentalConsentMethod::EmailPlus,
            now(),
        )
        .unwrap();
    assert_eq!(reason(&policy, &child, "recommend"), Reason::SettingOn);
    let (_, events) = child
        .set_jurisdiction(&policy, Jurisdiction::parse("GB").unwrap(), now())
        .unwrap();
    assert_eq!(
        event_types(&events),
        ["jurisdiction_changed", "consent_refresh_due"]
    );
    assert_eq!(reason(&policy, &child, "recommend"), Reason::SettingOn);
    agrees(&policy, &child);
}

#[test]
fn a_changed_purpose_asks_the_parent_again_for_a_child_who_needs_one() {
    use ward_core::decide::Reason;
    let old = world();
    let new = compiled(&POLICY.replace(
        "Uses the videos you watch to choose the adverts shown between videos.",
        "Uses the videos you watch and like to choose the adverts shown between videos.",
    ));
    let mut child = child_aged(&old, 11, "GB");
    switch_on(&old, &mut child, "ads");
    // And one still waiting, for the purpose's old version.
    let shown = intervention(&old, &mut child, "friends");
    child.acknowledge(&old, &shown, now()).unwrap();
    let friends = compiled(&POLICY.replace(
        "Suggests children from your class who share friends with you.",
        "Suggests children from your school who share friends with you.",
    ));
    let old_request = child.requests[0].clone();
    let events = child.apply_policy_change(&old, &friends, now());
    assert_eq!(
        event_types(&events),
        ["reconsent_required", "consent_requested"]
    );
    let request = &child.requests[0];
    assert_ne!(request.id, old_request.id);
    assert_ne!(request.purpose_version, old_request.purpose_version);
    agrees(&friends, &child);

    let events = child.apply_policy_change(&friends, &new, now());
    // `friends` changed back as well.
    assert_eq!(
        event_types(&events),
        [
            "reconsent_required",
            "setting_changed",
            "consent_requested",
            "reconsent_required",
            "consent_requested"
        ]
    );
    assert_eq!(effective(&child, &new, "ads"), SettingValue::PendingParent);
    assert_eq!(reason(&new, &child, "ads"), Reason::AwaitingParent);
    let ads = child
        .requests
        .iter()
        .find(|r| r.setting.as_str() == "ads")
        .unwrap();
    assert_eq!(ads.cause, ward_core::settings::RequestCause::PurposeChanged);
    assert_eq!(
        ads.purpose_version,
        new.purpose(new.purpose_idx("ads").unwrap()).version
    );
    agrees(&new, &child);
    child
        .approve(
            &new,
            "ads",
            &parent("mum"),
            ParentalConsentMethod::EmailPlus,
            now(),
        )
        .unwrap();
    assert_eq!(reason(&new, &child, "ads"), Reason::SettingOn);
}

#[test]
fn a_purpose_newly_locked_for_children_is_locked_off_with_the_withdrawal_recorded() {
    use ward_core::decide::Reason;
    let old = world();
    let new = compiled(&POLICY.replace(
        "setting = \"friends\"\nlawful_basis = \"consent\"",
        "setting = \"friends\"\nlawful_basis = \"consent\"\nlocked_for_children = true",
    ));
    let mut child = child_aged(&old, 14, "GB");
    switch_on(&old, &mut child, "friends");
    let events = child.apply_policy_change(&old, &new, now());
    assert_eq!(
        event_types(&events),
        ["consent_withdrawn", "setting_changed"]
    );
    assert_eq!(effective(&child, &new, "friends"), SettingValue::LockedOff);
    assert_eq!(reason(&new, &child, "friends"), Reason::LockedForChildren);
    assert!(child.consents.is_empty());
    agrees(&new, &child);
    // And unlocked again: off, for them to choose.
    let events = child.apply_policy_change(&new, &old, now());
    assert_eq!(event_types(&events), ["setting_changed"]);
    assert_eq!(
        (
            slot(&child, &old, "friends").preferred,
            effective(&child, &old, "friends")
        ),
        (SettingValue::Off, SettingValue::Off)
    );
    assert_eq!(reason(&old, &child, "friends"), Reason::SettingOff);
    agrees(&old, &child);
}

#[test]
fn a_raised_min_age_switches_off_what_a_child_now_below_it_had_on() {
    use ward_core::decide::Reason;
    let old = world();
    let new = compiled(&POLICY.replace("min_age = 8", "min_age = 13"));
    let mut child = child_aged(&old, 11, "GB");
    switch_on(&old, &mut child, "recommend");
    let events = child.apply_policy_change(&old, &new, now());
    assert_eq!(
        event_types(&events),
        ["consent_withdrawn", "setting_changed", "setting_changed"]
    );
    for setting in ["recommend", "subtitles"] {
        assert_eq!(effective(&child, &new, setting), SettingValue::Off);
        assert_eq!(reason(&new, &child, setting), Reason::BelowMinAge);
    }
    agrees(&new, &child);
}

#[test]
fn a_policy_that_stops_trusting_an_age_method_treats_its_adults_as_unknown() {
    use ward_core::decide::Reason;
    let old = world();
    let new = compiled(&POLICY.replace(
        "min_age = 8",
        "min_age = 8\nadult_age_methods = [\"verified\"]",
    ));
    let (mut user, _) =
        ward_core::settings::Child::new(ward_core::ids::ChildId::parse("c1").unwrap(), &old, now());
    user.set_age_record(
        &old,
        ward_core::child::AgeRecord {
            method: ward_core::policy::AgeMethod::Estimated,
            ..record(30)
        },
        now(),
    );
    switch_on(&old, &mut user, "dating");
    let events = user.apply_policy_change(&old, &new, now());
    assert_eq!(
        event_types(&events),
        ["band_changed", "consent_withdrawn", "setting_changed"]
    );
    assert_eq!(reason(&new, &user, "dating"), Reason::LockedForChildren);
    agrees(&new, &user);
}

#[test]
fn unlinking_the_last_parent_marks_waiting_requests_no_parent_linked_and_tells_the_service() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    child.link_parent(&policy, parent("mum"), now()).unwrap();
    child.link_parent(&policy, parent("dad"), now()).unwrap();
    let shown = intervention(&policy, &mut child, "ads");
    child.acknowledge(&policy, &shown, now()).unwrap();
    // Another parent is still there: nothing to tell.
    let (_, events) = child.unlink_parent(&policy, &parent("mum"), now()).unwrap();
    assert_eq!(event_types(&events), ["parent_unlinked"]);
    assert!(!child.requests[0].no_parent_linked);

    let (_, events) = child.unlink_parent(&policy, &parent("dad"), now()).unwrap();
    assert_eq!(
        event_types(&events),
        ["parent_unlinked", "consent_requested"]
    );
    assert!(child.requests[0].no_parent_linked);
    let told = &requested(&events)[0];
    assert_eq!(told["request"]["id"], child.requests[0].id.as_str());
    assert_eq!(told["request"]["no_parent_linked"], true);
    assert_eq!(told["parents"], serde_json::json!([]));
    // As an alert: to no parent (dad hears he was unlinked), so to the service alone.
    let alerts = ward_core::alerts::alerts(&child, &events);
    assert_eq!(alerts.len(), 2);
    assert_eq!(
        alerts[1].kind,
        ward_core::alerts::AlertKind::ConsentRequested
    );
    assert!(alerts[1].parents.is_empty());
    agrees(&policy, &child);

    // A parent linked now is told what waits for them.
    let (_, events) = child.link_parent(&policy, parent("gran"), now()).unwrap();
    assert_eq!(event_types(&events), ["parent_linked", "consent_requested"]);
    assert_eq!(
        requested(&events)[0]["parents"],
        serde_json::json!(["gran"])
    );
    assert!(!child.requests[0].no_parent_linked);
    agrees(&policy, &child);
}

#[test]
fn an_age_that_becomes_unknown_ends_consent_purposes() {
    use ward_core::decide::Reason;
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    switch_on(&policy, &mut child, "ads");
    let shown = intervention(&policy, &mut child, "recommend");
    child.acknowledge(&policy, &shown, now()).unwrap();
    // A self-declared 18+ is `unknown`: no age is established, so no consent purpose runs.
    child.set_age_record(
        &policy,
        ward_core::child::AgeRecord {
            method: ward_core::policy::AgeMethod::SelfDeclared,
            ..record(21)
        },
        now(),
    );
    for setting in ["ads", "recommend"] {
        assert_eq!(effective(&child, &policy, setting), SettingValue::Off);
        assert_eq!(reason(&policy, &child, setting), Reason::SettingOff);
    }
    assert!(child.consents.is_empty() && child.requests.is_empty());
    // Not consent purposes: they stay as they were.
    assert_eq!(reason(&policy, &child, "subtitles"), Reason::SettingOn);
    agrees(&policy, &child);
}

#[test]
fn a_consent_purpose_on_by_default_starts_off_until_someone_consents() {
    use ward_core::decide::Reason;
    let policy = compiled(&POLICY.replace(
        "setting = \"friends\"\nlawful_basis = \"consent\"",
        "setting = \"friends\"\ndefault = \"on\"\ncompelling_reason = \"Classmates find each other.\"\nlawful_basis = \"consent\"",
    ));
    let (new, events) = ward_core::settings::Child::new(
        ward_core::ids::ChildId::parse("c1").unwrap(),
        &policy,
        now(),
    );
    assert_eq!(event_types(&events), ["child_created"]);
    agrees(&policy, &new);
    let mut child = child_aged(&policy, 14, "GB");
    assert_eq!(
        (
            slot(&child, &policy, "friends").preferred,
            effective(&child, &policy, "friends")
        ),
        (SettingValue::On, SettingValue::Off)
    );
    assert_eq!(reason(&policy, &child, "friends"), Reason::SettingOff);
    agrees(&policy, &child);
    switch_on(&policy, &mut child, "friends");
    assert_eq!(reason(&policy, &child, "friends"), Reason::SettingOn);
}
