//! The switch-on state machine: one test per transition, and the illegal ones as typed errors
//! that change nothing.

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
    child.link_parent(parent("mum"), now()).unwrap();
    child.link_parent(parent("dad"), now()).unwrap();
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
    child.link_parent(parent("mum"), now()).unwrap();
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
    child.link_parent(parent("mum"), now()).unwrap();
    child.link_parent(parent("dad"), now()).unwrap();
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
    child.link_parent(parent("mum"), now()).unwrap();
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
    child.link_parent(parent("mum"), now()).unwrap();
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
        |c| c.link_parent(parent("mum"), now()),
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
    let (_, events) = child.link_parent(parent("mum"), now()).unwrap();
    assert_eq!(event_types(&events), ["parent_linked"]);
    child.link_parent(parent("dad"), now()).unwrap();
    child.unlink_parent(&parent("mum"), now()).unwrap();
    assert!(child.state.supervised);
    child.unlink_parent(&parent("dad"), now()).unwrap();
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
