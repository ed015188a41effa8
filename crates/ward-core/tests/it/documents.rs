//! The stored form of a child: what is written reads back the same, and time that passed
//! between two writes (a birthday) is seen by the next one.

use jiff::civil::date;
use ward_core::settings::Child;

use crate::world::{child_aged, child_born, days, event_types, now, switch_on, world};

#[test]
fn a_child_reads_back_from_its_document_unchanged() {
    let policy = world();
    let mut child = child_aged(&policy, 11, "GB");
    switch_on(&policy, &mut child, "recommend");
    let document = child.to_document(&policy);
    let json = serde_json::to_string(&document).unwrap();
    let read = Child::from_document(serde_json::from_str(&json).unwrap(), &policy, now());
    assert_eq!(read, child);
}

#[test]
fn a_birthday_between_two_writes_is_seen_when_the_child_is_next_read() {
    let policy = world();
    // Twelve now; thirteen in ten days (GB: the age of digital consent).
    let mut child = child_born(&policy, date(2013, 6, 11));
    switch_on(&policy, &mut child, "recommend");
    let stored = serde_json::to_string(&child.to_document(&policy)).unwrap();

    let later = now().saturating_add(days(11)).unwrap();
    let mut read = Child::from_document(serde_json::from_str(&stored).unwrap(), &policy, later);
    let events = read.observe(&policy, later);
    assert_eq!(
        event_types(&events),
        ["band_changed", "consent_refresh_due"]
    );
    assert_eq!(read.state.age_status(&policy, later).band_str(), "13-15");
}

#[test]
fn a_document_written_before_ages_were_stored_reads_the_age_at_now() {
    let policy = world();
    let child = child_aged(&policy, 11, "GB");
    let mut value = serde_json::to_value(child.to_document(&policy)).unwrap();
    value.as_object_mut().unwrap().remove("age");
    let read = Child::from_document(serde_json::from_value(value).unwrap(), &policy, now());
    assert_eq!(read.state.age, child.state.age);
}
