//! A child's own feedback: "not for me" hides the item and holds back what it is about for
//! the policy's decay; "show again" undoes it; reports are hidden, bounded, acknowledged,
//! resolved and overdue once.

use jiff::{SignedDuration, Timestamp};
use ward_core::child::AgeStatus;
use ward_core::compiled::CompiledPolicy;
use ward_core::feed::{FeedChild, FeedPolicy, Item, RemovalReason, filter_into};
use ward_core::feedback::{
    FeedbackError, FeedbackEvidence, FeedbackGuard, FeedbackKind, HeldKind, MAX_HELD_NAMES,
    MAX_HIDDEN_ITEMS, MAX_REPORTS, Observed, ReportOutcome, ReportReason, ReportStatus, decay,
};
use ward_core::ids::ChildId;
use ward_core::policy::Policy;
use ward_core::settings::{Child, EventKind};

use crate::support::{policy, purpose, service};

fn compiled(extra: &str) -> CompiledPolicy {
    let source = policy(
        service(),
        [purpose("feed", "content_recommendation")],
        extra,
    );
    CompiledPolicy::new(Policy::parse(&source).unwrap()).unwrap()
}

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn item(json: &str) -> Item {
    Item::from_json(json).unwrap()
}

fn child(policy: &CompiledPolicy) -> Child {
    Child::new(ChildId::parse("kid").unwrap(), policy, now()).0
}

/// The reasons the guard removes each of `items` for, at `at`, for a child of 14.
fn removals(
    policy: &CompiledPolicy,
    child: &Child,
    items: &[Item],
    at: Timestamp,
) -> Vec<Vec<RemovalReason>> {
    let feed = FeedPolicy::new(policy.policy()).unwrap();
    let guard = FeedbackGuard::new(&child.feedback, decay(policy));
    let age = AgeStatus::Child {
        age: Some(14),
        band: "13-15".parse().unwrap(),
    };
    let who = FeedChild::new(age).with_feedback(&guard);
    let mut outcome = Default::default();
    filter_into(&feed, &who, None, None, items, at, &mut outcome);
    items
        .iter()
        .enumerate()
        .map(|(idx, _)| {
            outcome
                .removed
                .iter()
                .find(|r| r.index as usize == idx)
                .map(|r| r.reasons.iter().collect())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn not_for_me_hides_the_item_and_holds_its_topic_source_and_tags_back_until_the_decay() {
    let policy = compiled("[feed]\nfeedback_decay_days = 7\nharmless_tags = [\"funny\"]\n");
    let mut kid = child(&policy);
    let disliked = item(
        r#"{"id": "v1", "kind": "video", "topics": ["Pranks"], "source": "chan-9", "tags": ["funny"], "assessed": true}"#,
    );
    let (report, events) = kid
        .give_feedback(&policy, &disliked, FeedbackKind::NotInterested, None, now())
        .unwrap();
    assert!(report.is_none());
    assert!(matches!(
        &events[0].kind,
        EventKind::NotInterested { item, held } if item == "v1" && held == &["topic:Pranks", "source:chan-9", "tag:funny"]
    ));
    let feed = [
        disliked.clone(),
        item(r#"{"id": "v2", "kind": "video", "topics": ["pranks"], "assessed": true}"#),
        item(r#"{"id": "v3", "kind": "video", "source": "chan-9", "assessed": true}"#),
        item(r#"{"id": "v4", "kind": "video", "topics": ["football"], "assessed": true}"#),
    ];
    let soon = now() + SignedDuration::from_hours(1);
    assert_eq!(
        removals(&policy, &kid, &feed, soon),
        [
            vec![
                RemovalReason::HiddenByChild,
                RemovalReason::NotForMeTopic,
                RemovalReason::NotForMeSource,
                RemovalReason::NotForMeTag,
            ],
            vec![RemovalReason::NotForMeTopic],
            vec![RemovalReason::NotForMeSource],
            vec![],
        ]
    );
    // After the decay the topic and source may return; the item itself stays hidden.
    let later = now() + SignedDuration::from_hours(7 * 24);
    assert_eq!(
        removals(&policy, &kid, &feed, later),
        [vec![RemovalReason::HiddenByChild], vec![], vec![], vec![]]
    );
    // "Show again" undoes both.
    let (_, events) = kid.show_again("v1", soon).unwrap();
    assert!(
        matches!(&events[0].kind, EventKind::ShownAgain { released, .. } if released.len() == 3)
    );
    assert_eq!(
        removals(&policy, &kid, &feed, soon),
        [vec![], vec![], vec![], vec![]]
    );
    assert_eq!(
        kid.show_again("v1", soon),
        Err(FeedbackError::NotHidden("v1".into()))
    );
    // The state survives the document.
    let _ = kid.give_feedback(&policy, &disliked, FeedbackKind::NotInterested, None, now());
    let read = Child::from_document(kid.to_document(&policy), &policy, now());
    assert_eq!(read.feedback, kid.feedback);
}

#[test]
fn the_feedback_state_is_bounded_oldest_first() {
    let policy = compiled("");
    let mut kid = child(&policy);
    for n in 0..(MAX_HIDDEN_ITEMS + 5) {
        let one = item(&format!(
            r#"{{"id": "v{n}", "kind": "video", "topics": ["t{n}"], "assessed": true}}"#
        ));
        kid.give_feedback(&policy, &one, FeedbackKind::NotInterested, None, now())
            .unwrap();
    }
    assert_eq!(kid.feedback.hidden.len(), MAX_HIDDEN_ITEMS);
    assert_eq!(
        kid.feedback.hidden[0].item.id, "v5",
        "the oldest went first"
    );
    assert_eq!(kid.feedback.held.len(), MAX_HELD_NAMES);
    let long = "x".repeat(300);
    let refused = item(&format!(r#"{{"id": "{long}", "kind": "video"}}"#));
    assert_eq!(
        kid.give_feedback(&policy, &refused, FeedbackKind::NotInterested, None, now()),
        Err(FeedbackError::BadItemId)
    );
    // Reports: at most MAX_REPORTS open; a resolved one makes room.
    let mut kid = child(&policy);
    let mut first = None;
    for n in 0..MAX_REPORTS {
        let one = item(&format!(r#"{{"id": "r{n}", "kind": "post"}}"#));
        let (report, _) = kid
            .give_feedback(
                &policy,
                &one,
                FeedbackKind::Report,
                Some(ReportReason::Other),
                now(),
            )
            .unwrap();
        first.get_or_insert(report.unwrap().id);
    }
    let extra = item(r#"{"id": "one-more", "kind": "post"}"#);
    assert_eq!(
        kid.give_feedback(
            &policy,
            &extra,
            FeedbackKind::Report,
            Some(ReportReason::Bullying),
            now()
        ),
        Err(FeedbackError::TooManyOpenReports)
    );
    kid.resolve_report(first.as_deref().unwrap(), ReportOutcome::NoBreach, now())
        .unwrap();
    assert!(
        kid.give_feedback(
            &policy,
            &extra,
            FeedbackKind::Report,
            Some(ReportReason::Bullying),
            now()
        )
        .is_ok()
    );
    assert_eq!(kid.feedback.reports.len(), MAX_REPORTS);
}

#[test]
fn a_report_is_hidden_acknowledged_resolved_and_overdue_once() {
    let policy = compiled("[support]\nreport_sla_hours = 2\n");
    let mut kid = child(&policy);
    let bad = item(r#"{"id": "p1", "kind": "post", "topics": ["dares"], "assessed": true}"#);
    assert_eq!(
        kid.give_feedback(&policy, &bad, FeedbackKind::Report, None, now()),
        Err(FeedbackError::ReasonRequired)
    );
    let (report, events) = kid
        .give_feedback(
            &policy,
            &bad,
            FeedbackKind::Report,
            Some(ReportReason::SelfHarmOrSuicide),
            now(),
        )
        .unwrap();
    let report = report.unwrap();
    assert!(report.id.starts_with("rep_") && report.id.len() == 20);
    assert_eq!(report.due, now() + SignedDuration::from_hours(2));
    assert!(matches!(&events[0].kind, EventKind::ReportMade { .. }));
    assert!(ward_core::alerts::kind_of(&events[0]).is_some());
    // A report hides the item but teaches nothing.
    let feed = [
        bad.clone(),
        item(r#"{"id": "p2", "kind": "post", "topics": ["dares"], "assessed": true}"#),
    ];
    let removed = removals(&policy, &kid, &feed, now());
    assert_eq!(removed[0], [RemovalReason::HiddenByChild]);
    assert!(
        removed[1]
            .iter()
            .all(|r| *r != RemovalReason::NotForMeTopic)
    );
    // Reporting it again returns the same report.
    let (again, events) = kid
        .give_feedback(
            &policy,
            &bad,
            FeedbackKind::Report,
            Some(ReportReason::Other),
            now(),
        )
        .unwrap();
    assert_eq!(again.unwrap().id, report.id);
    assert!(events.is_empty());
    // Not yet due: no alert. Due: once.
    assert!(kid.notice_overdue_report(&report.id, now()).is_empty());
    let late = now() + SignedDuration::from_hours(3);
    assert_eq!(kid.notice_overdue_report(&report.id, late).len(), 1);
    assert!(kid.notice_overdue_report(&report.id, late).is_empty());
    let (acknowledged, _) = kid.acknowledge_report(&report.id, late).unwrap();
    assert_eq!(acknowledged.status, ReportStatus::Acknowledged);
    let (resolved, events) = kid
        .resolve_report(&report.id, ReportOutcome::Removed, late)
        .unwrap();
    assert_eq!(resolved.status, ReportStatus::Resolved);
    assert_eq!(resolved.outcome, Some(ReportOutcome::Removed));
    assert!(matches!(&events[0].kind, EventKind::ReportResolved { .. }));
    assert_eq!(
        kid.resolve_report(&report.id, ReportOutcome::Removed, late),
        Err(FeedbackError::AlreadyResolved(report.id.clone()))
    );
    assert_eq!(
        kid.acknowledge_report("rep_0000000000000000", late),
        Err(FeedbackError::UnknownReport("rep_0000000000000000".into()))
    );
}

#[test]
fn a_parent_hears_that_a_report_was_made_not_what() {
    let policy = compiled("");
    let mut kid = child(&policy);
    let bad = item(r#"{"id": "secret-post", "kind": "post", "topics": ["crush"]}"#);
    let (_, events) = kid
        .give_feedback(
            &policy,
            &bad,
            FeedbackKind::Report,
            Some(ReportReason::Bullying),
            now(),
        )
        .unwrap();
    let view = ward_core::alerts::parent_view(&events[0], false).unwrap();
    let text = view.to_string();
    assert!(
        !text.contains("secret-post") && !text.contains("crush") && !text.contains("bullying"),
        "{text}"
    );
    assert_eq!(view["type"], "report_made");
    let with_reason = ward_core::alerts::parent_view(&events[0], true).unwrap();
    assert_eq!(with_reason["report"]["reason"], "bullying");
    assert!(!with_reason.to_string().contains("secret-post"));
}

/// Filters `items` for `child` at `at` and counts it in `evidence`.
fn observe(
    policy: &CompiledPolicy,
    child: &Child,
    evidence: &mut FeedbackEvidence,
    items: &[Item],
    at: Timestamp,
) -> Observed {
    let feed = FeedPolicy::new(policy.policy()).unwrap();
    let guard = FeedbackGuard::new(&child.feedback, decay(policy));
    let age = AgeStatus::Child {
        age: Some(14),
        band: "13-15".parse().unwrap(),
    };
    let who = FeedChild::new(age).with_feedback(&guard);
    let mut outcome = Default::default();
    filter_into(&feed, &who, None, None, items, at, &mut outcome);
    evidence.observe(&guard, items, &outcome, decay(policy), at)
}

#[test]
fn the_evidence_counts_what_was_held_back_and_what_came_back_after_the_hold() {
    let policy = compiled("[feed]\nfeedback_decay_days = 2\n");
    let mut kid = child(&policy);
    let mut evidence = FeedbackEvidence::default();
    let feed = [
        item(
            r#"{"id": "v1", "kind": "video", "topics": ["pranks"], "source": "chan-9", "assessed": true}"#,
        ),
        item(r#"{"id": "v2", "kind": "video", "topics": ["Pranks"], "assessed": true}"#),
        item(r#"{"id": "v3", "kind": "video", "topics": ["football"], "assessed": true}"#),
    ];
    // Nothing said: nothing counted.
    assert_eq!(
        observe(&policy, &kid, &mut evidence, &feed, now()),
        Observed::default()
    );
    assert!(evidence.is_empty());
    let _ = kid.give_feedback(&policy, &feed[0], FeedbackKind::NotInterested, None, now());
    // Not recorded at the hide (the server does that): the first hold-back starts a record.
    let soon = now() + SignedDuration::from_hours(1);
    let seen = observe(&policy, &kid, &mut evidence, &feed, soon);
    assert_eq!(
        seen,
        Observed {
            held_back: 3,
            shown_while_held: 0,
            shown_after: 0
        }
    );
    let pranks = &evidence.records()[0];
    assert_eq!(
        (pranks.kind, pranks.name.as_str(), pranks.since),
        (HeldKind::Topic, "pranks", now())
    );
    assert_eq!((pranks.held_back, pranks.first_held_back), (2, Some(soon)));
    // The child releases the topic: v2 comes back, and is counted after the hold.
    let (released, events) = kid.release_held(HeldKind::Topic, "PRANKS", soon).unwrap();
    assert_eq!(released, ["topic:pranks"]);
    assert!(
        matches!(&events[0].kind, EventKind::HeldReleased { released } if released == &["topic:pranks"])
    );
    assert_eq!(kid.feedback.hidden.len(), 1, "the item stays hidden");
    assert_eq!(
        kid.release_held(HeldKind::Topic, "pranks", soon),
        Err(FeedbackError::NotHeld("topic:pranks".into()))
    );
    evidence.release(HeldKind::Topic, "pranks", soon);
    let seen = observe(&policy, &kid, &mut evidence, &feed, soon);
    assert_eq!(
        seen,
        Observed {
            held_back: 1,
            shown_while_held: 0,
            shown_after: 1
        }
    );
    // A record says "held" by itself: were the guard to let a held name through, it shows.
    evidence.hold(HeldKind::Topic, "football", soon);
    let seen = observe(&policy, &kid, &mut evidence, &feed, soon);
    assert_eq!(seen.shown_while_held, 1);
    // Hidden again, a name's counts start afresh.
    let later = soon + SignedDuration::from_hours(1);
    evidence.hold(HeldKind::Topic, "pranks", later);
    let pranks = evidence
        .records()
        .iter()
        .find(|r| r.name == "pranks")
        .unwrap();
    assert_eq!(
        (
            pranks.since,
            pranks.held_back,
            pranks.shown_after,
            pranks.released_at
        ),
        (later, 0, 0, None)
    );
    // It is stored and read back whole, and bounded.
    let json = serde_json::to_value(&evidence).unwrap();
    let back: FeedbackEvidence = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, evidence);
    let mut bad = json.clone();
    bad[0]["name"] = "".into();
    assert!(serde_json::from_value::<FeedbackEvidence>(bad).is_err());
    for n in 0..MAX_HELD_NAMES + 5 {
        evidence.hold(HeldKind::Tag, &format!("t{n}"), later);
    }
    assert_eq!(evidence.records().len(), MAX_HELD_NAMES);
    assert_eq!(
        evidence.records().last().unwrap().name,
        format!("t{}", MAX_HELD_NAMES + 4)
    );
}
