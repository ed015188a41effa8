//! The feed guard: RUNTIME.md's "The feed guard", rule by rule, as tables of cases. Each case
//! asserts the exact reason codes, so a rule removed (or over-reaching) fails its test.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ward_core::age::AgeBand;
use ward_core::child::AgeStatus;
use ward_core::controls::Controls;
use ward_core::feed::{
    AnchorSource, CapCategory, Code, DriftState, FeedChild, FeedOutcome, FeedPolicy, HarmTag, Item,
    NoteKind, RemovalReason, duplicate_id, filter, filter_into, parse_catalogue,
    why_am_i_seeing_this,
};
use ward_core::policy::{DailyWindow, FeedConfig, Policy, Precaution, UnknownTags};

/// 12:00 in London (winter: London is on UTC): outside quiet hours.
const NOON: &str = "2026-01-14T12:00:00Z";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn child(age: u8) -> AgeStatus {
    AgeStatus::Child {
        age: Some(age),
        band: AgeBand::of_age(age).unwrap(),
    }
}

fn item(json: &str) -> Item {
    Item::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn time_zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn policy_with(change: impl FnOnce(&mut FeedConfig)) -> FeedPolicy {
    let mut config = FeedConfig::default();
    change(&mut config);
    FeedPolicy::from_config(&config, 0, time_zone("Europe/London"))
}

/// The descriptive words the cases below use, declared harmless as a service would.
const HARMLESS_TAGS: &[&str] = &["funny", "football", "horror", "comedy", "animation"];

/// The defaults, knowing [`HARMLESS_TAGS`] and the ad category `toys`.
fn knowing_our_words() -> FeedPolicy {
    policy_with(|config| {
        config.harmless_tags = HARMLESS_TAGS.iter().map(|t| (*t).to_owned()).collect();
        config.harmless_ad_categories = vec!["toys".to_owned()];
    })
}

/// What happened to one item, as codes: `kept`, `removed: a, b` or `held: a`.
fn verdict(outcome: &FeedOutcome, index: u32) -> String {
    if outcome.kept.contains(&index) {
        return "kept".to_owned();
    }
    if let Some(removal) = outcome.removed.iter().find(|r| r.index == index) {
        return format!(
            "removed: {}",
            removal.reasons.codes().collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(held) = outcome.held.iter().find(|h| h.index == index) {
        return format!(
            "held: {}",
            held.reasons.codes().collect::<Vec<_>>().join(", ")
        );
    }
    panic!("item {index} is nowhere in {outcome:?}")
}

struct Run<'a> {
    policy: FeedPolicy,
    age: AgeStatus,
    controls: Option<Controls>,
    time_zone: Option<&'a TimeZone>,
    now: Timestamp,
}

fn run(age: AgeStatus) -> Run<'static> {
    Run {
        policy: FeedPolicy::default(),
        age,
        controls: None,
        time_zone: None,
        now: at(NOON),
    }
}

impl<'a> Run<'a> {
    fn policy(mut self, policy: FeedPolicy) -> Self {
        self.policy = policy;
        self
    }
    fn controls(mut self, controls: Controls) -> Self {
        self.controls = Some(controls);
        self
    }
    fn in_zone(mut self, zone: &'a TimeZone) -> Self {
        self.time_zone = Some(zone);
        self
    }
    fn at(mut self, now: &str) -> Self {
        self.now = at(now);
        self
    }
    fn outcome(&self, items: &[Item]) -> FeedOutcome {
        let mut child = FeedChild::new(self.age);
        if let Some(zone) = self.time_zone {
            child = child.in_time_zone(zone);
        }
        let mut out = FeedOutcome::default();
        filter_into(
            &self.policy,
            &child,
            self.controls.as_ref(),
            None,
            items,
            self.now,
            &mut out,
        );
        out
    }
    /// The verdict on one item.
    fn on(&self, json: &str) -> String {
        verdict(&self.outcome(&[item(json)]), 0)
    }
}

#[track_caller]
fn expect(run: &Run<'_>, json: &str, expected: &str) {
    assert_eq!(
        run.on(json),
        expected,
        "{json} for {:?} at {}",
        run.age,
        run.now
    );
}

fn video_rated(key: &str, value: &str) -> String {
    format!(r#"{{"id": "v", "kind": "video", "ratings": {{"{key}": {value}}}}}"#)
}

/// RUNTIME.md's rating tables, written out again here: key, value as JSON, minimum age
/// (`None`: never).
const RATINGS: &[(&str, &str, Option<u8>)] = &[
    ("bbfc", r#""U""#, Some(0)),
    ("bbfc", r#""PG""#, Some(0)),
    ("bbfc", r#""12A""#, Some(12)),
    ("bbfc", r#""12""#, Some(12)),
    ("bbfc", r#""15""#, Some(15)),
    ("bbfc", r#""18""#, Some(18)),
    ("bbfc", r#""R18""#, None),
    ("pegi", "3", Some(3)),
    ("pegi", "7", Some(7)),
    ("pegi", "12", Some(12)),
    ("pegi", "16", Some(16)),
    ("pegi", "18", Some(18)),
    ("mpaa", r#""G""#, Some(0)),
    ("mpaa", r#""PG""#, Some(0)),
    ("mpaa", r#""PG-13""#, Some(13)),
    ("mpaa", r#""R""#, Some(17)),
    ("mpaa", r#""NC-17""#, Some(18)),
    ("tv", r#""TV-Y""#, Some(0)),
    ("tv", r#""TV-Y7""#, Some(7)),
    ("tv", r#""TV-G""#, Some(0)),
    ("tv", r#""TV-PG""#, Some(0)),
    ("tv", r#""TV-14""#, Some(14)),
    ("tv", r#""TV-MA""#, Some(17)),
    ("explicit", "true", Some(18)),
    // `explicit: false` is no age rating: see
    // `explicit_false_alone_is_not_an_age_rating_and_does_not_exempt_from_precaution`.
];

#[test]
fn every_rating_removes_a_child_just_under_its_age_and_keeps_one_just_at_it() {
    for (key, value, min_age) in RATINGS {
        let json = video_rated(key, value);
        match min_age {
            Some(0) => expect(&run(child(0)), &json, "kept"),
            Some(18) => {
                expect(&run(child(17)), &json, "removed: age_rating");
                expect(&run(AgeStatus::Adult), &json, "kept");
            }
            Some(age) => {
                expect(&run(child(age - 1)), &json, "removed: age_rating");
                expect(&run(child(*age)), &json, "kept");
            }
            None => {
                for age in [0, 17] {
                    expect(&run(child(age)), &json, "removed: age_rating");
                }
                expect(&run(AgeStatus::Adult), &json, "kept");
            }
        }
    }
}

#[test]
fn the_strictest_rating_present_wins() {
    let json =
        r#"{"id": "v", "kind": "video", "ratings": {"bbfc": "PG", "pegi": 16, "tv": "TV-Y7"}}"#;
    expect(&run(child(15)), json, "removed: age_rating");
    expect(&run(child(16)), json, "kept");
    let outcome = run(child(15)).outcome(&[item(json)]);
    let policy = FeedPolicy::default();
    let reasons = outcome
        .explain(&policy, None, &[item(json)])
        .removal(&outcome.removed[0]);
    assert_eq!(
        reasons[0].message,
        "rated 16 (PEGI): for 16 and over, and this child is judged at 15"
    );
}

#[test]
fn ratings_are_read_whatever_their_case_and_pegi_as_text_or_number() {
    for json in [
        video_rated("bbfc", r#""12a""#),
        video_rated("mpaa", r#"" pg-13 ""#),
        video_rated("pegi", r#""12""#),
        video_rated("pegi", "12"),
    ] {
        expect(&run(child(11)), &json, "removed: age_rating");
    }
}

#[test]
fn advisory_ratings_are_kept_and_named_in_the_notes() {
    let cases = [
        (
            "bbfc",
            r#""PG""#,
            6,
            "rated PG (BBFC): advisory for under 8s",
        ),
        (
            "bbfc",
            r#""12A""#,
            12,
            "rated 12A (BBFC): advisory: under 12s only with an adult",
        ),
        (
            "mpaa",
            r#""PG""#,
            6,
            "rated PG (MPA): advisory: parental guidance suggested, some material may not suit children",
        ),
        (
            "mpaa",
            r#""PG-13""#,
            13,
            "rated PG-13 (MPA): advisory: parents strongly cautioned, some material may not suit under 13s",
        ),
        (
            "tv",
            r#""TV-PG""#,
            6,
            "rated TV-PG (US TV): advisory: parental guidance suggested",
        ),
    ];
    let policy = FeedPolicy::default();
    for (key, value, age, sentence) in cases {
        let items = [item(&video_rated(key, value))];
        let outcome = run(child(age)).outcome(&items);
        assert_eq!(verdict(&outcome, 0), "kept", "{key} {value}");
        assert_eq!(outcome.notes.len(), 1, "{key} {value}");
        assert!(outcome.notes[0].kinds.contains(NoteKind::AdvisoryRating));
        let explainer = outcome.explain(&policy, None, &items);
        let notes = explainer.note(&outcome.notes[0]);
        assert_eq!(notes[0].code, "advisory_rating");
        assert_eq!(notes[0].message, sentence);
        assert!(explainer.why_shown(0).contains(&sentence.to_owned()));
    }
    // A rating that is not advisory gets no note.
    let outcome = run(child(12)).outcome(&[item(&video_rated("bbfc", r#""12""#))]);
    assert!(outcome.notes.is_empty());
}

#[test]
fn unrecognised_ratings_count_as_no_rating_and_are_named_in_the_notes() {
    let policy = FeedPolicy::default();
    for (key, value) in [
        ("mpaa", "NR"),
        ("mpaa", "Not Rated"),
        ("mpaa", "Approved"),
        ("bbfc", "PG-13"),
        ("tv", "TV-Y7-FV"),
        ("pegi", "21"),
    ] {
        let unassessed = video_rated(key, &format!("\"{value}\""));
        let assessed = format!(
            r#"{{"id": "v", "kind": "video", "assessed": true, "ratings": {{"{key}": "{value}"}}}}"#
        );
        let items = [item(&unassessed), item(&assessed)];
        let outcome = run(child(11)).outcome(&items);
        // No rating and nobody assessed it: the precaution removes it; assessed, it stays.
        assert_eq!(verdict(&outcome, 0), "removed: precaution", "{key} {value}");
        assert_eq!(verdict(&outcome, 1), "kept", "{key} {value}");
        assert_eq!(outcome.notes.len(), 2, "both named: {key} {value}");
        for note in &outcome.notes {
            assert!(note.kinds.contains(NoteKind::UnrecognisedRating));
            let sentences = outcome.explain(&policy, None, &items).note(note);
            assert!(
                sentences[0]
                    .message
                    .starts_with(&format!("`{value}` is not a rating ward recognises under ")),
                "{sentences:?}"
            );
        }
    }
}

#[test]
fn an_unrecognised_rating_beside_a_recognised_one_is_judged_by_the_recognised_one() {
    let json = r#"{"id": "v", "kind": "video", "ratings": {"mpaa": "NR", "bbfc": "15"}}"#;
    expect(&run(child(14)), json, "removed: age_rating");
    expect(&run(child(15)), json, "kept");
}

#[test]
fn every_harm_tag_is_removed_for_children_and_kept_for_adults() {
    let for_no_child = [
        "self_harm",
        "suicide",
        "eating_disorder",
        "dangerous_challenge",
        "pornography",
        "sexual",
        "graphic_violence",
        "hate",
    ];
    let below_18 = ["gambling", "alcohol", "drugs", "weapons"];
    for tag in for_no_child.iter().chain(&below_18) {
        let json = format!(r#"{{"id": "p", "kind": "post", "assessed": true, "tags": ["{tag}"]}}"#);
        for age in [0, 11, 17] {
            expect(&run(child(age)), &json, "removed: harm_tag");
        }
        expect(&run(AgeStatus::Unknown), &json, "removed: harm_tag");
        expect(&run(AgeStatus::Adult), &json, "kept");
    }
    let policy = FeedPolicy::default();
    let items = [item(
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["funny", "self_harm", "alcohol"]}"#,
    )];
    let outcome = run(child(16)).outcome(&items);
    let sentence = &outcome
        .explain(&policy, None, &items)
        .removal(&outcome.removed[0])[0];
    assert_eq!(
        sentence.message,
        "tagged `self_harm`: never shown to children; tagged `alcohol`: not shown under 18"
    );
    // Tags the policy knows to name no harm remove nothing.
    expect(
        &run(child(8)).policy(knowing_our_words()),
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["funny", "football"]}"#,
        "kept",
    );
}

#[test]
fn every_cap_advertising_category_is_kept_from_its_age_and_removed_just_under() {
    let cases: &[(&str, Option<u8>)] = &[
        ("alcohol", Some(18)),
        ("gambling", Some(18)),
        ("lottery", Some(18)),
        ("cosmetic_intervention", Some(18)),
        ("weight_loss", Some(18)),
        ("hfss_food", Some(16)),
        ("medicine", Some(16)),
        ("tobacco", None),
        ("e_cigarette", None),
        ("prescription_medicine", None),
        ("infant_formula", None),
    ];
    for (category, min_age) in cases {
        let json = format!(
            r#"{{"id": "a", "kind": "ad", "assessed": true, "ad_category": "{category}"}}"#
        );
        match min_age {
            Some(18) | None => {
                expect(&run(child(17)), &json, "removed: ad_category");
                expect(&run(AgeStatus::Adult), &json, "kept");
            }
            Some(age) => {
                expect(&run(child(age - 1)), &json, "removed: ad_category");
                expect(&run(child(*age)), &json, "kept");
            }
        }
    }
    expect(
        &run(child(6)).policy(knowing_our_words()),
        r#"{"id": "a", "kind": "ad", "assessed": true, "ad_category": "toys"}"#,
        "kept",
    );
}

#[test]
fn unrated_unassessed_content_is_removed_as_a_precaution_and_kept_when_the_policy_says_keep() {
    let keep = policy_with(|config| config.precaution = Precaution::Keep);
    for kind in ["video", "post", "ad"] {
        for unassessed in [
            format!(r#"{{"id": "x", "kind": "{kind}"}}"#),
            format!(r#"{{"id": "x", "kind": "{kind}", "assessed": false}}"#),
        ] {
            expect(&run(child(11)), &unassessed, "removed: precaution");
            expect(&run(AgeStatus::Unknown), &unassessed, "removed: precaution");
            expect(&run(child(11)).policy(keep.clone()), &unassessed, "kept");
            let outcome = run(child(11))
                .policy(keep.clone())
                .outcome(&[item(&unassessed)]);
            assert!(outcome.notes[0].kinds.contains(NoteKind::UnassessedKept));
        }
        let assessed = format!(r#"{{"id": "x", "kind": "{kind}", "assessed": true}}"#);
        expect(&run(child(11)), &assessed, "kept");
        let rated = format!(r#"{{"id": "x", "kind": "{kind}", "ratings": {{"bbfc": "U"}}}}"#);
        expect(&run(child(11)), &rated, "kept");
    }
    // Notifications and suggested users carry no rating; the precaution is for content.
    expect(
        &run(child(11)),
        r#"{"id": "n", "kind": "notification"}"#,
        "kept",
    );
    expect(
        &run(child(11)),
        r#"{"id": "u", "kind": "user", "adult": false}"#,
        "kept",
    );
}

#[test]
fn a_notification_responding_to_inactivity_is_always_removed_for_children() {
    let nudge = r#"{"id": "n", "kind": "notification", "trigger": "inactivity"}"#;
    for now in [NOON, "2026-01-14T23:00:00Z", "2026-01-14T07:30:00Z"] {
        expect(&run(child(11)).at(now), nudge, "removed: inactivity_nudge");
        expect(&run(child(17)).at(now), nudge, "removed: inactivity_nudge");
        expect(
            &run(AgeStatus::Unknown).at(now),
            nudge,
            "removed: inactivity_nudge",
        );
    }
    expect(&run(AgeStatus::Adult), nudge, "kept");
    expect(
        &run(child(11)),
        r#"{"id": "n", "kind": "notification", "trigger": "reply"}"#,
        "kept",
    );
}

const NOTIFICATION: &str = r#"{"id": "n", "kind": "notification", "trigger": "friend_activity"}"#;

#[test]
fn notifications_inside_quiet_hours_across_midnight_are_held_back_not_removed() {
    // Quiet hours 22:00-07:00 (the default), London in winter (UTC).
    let cases = [
        ("2026-01-14T21:59:00Z", "kept"),
        ("2026-01-14T22:00:00Z", "held: quiet_hours"),
        ("2026-01-14T23:30:00Z", "held: quiet_hours"),
        ("2026-01-15T00:00:00Z", "held: quiet_hours"),
        ("2026-01-15T03:00:00Z", "held: quiet_hours"),
        ("2026-01-15T06:59:00Z", "held: quiet_hours"),
        ("2026-01-15T07:00:00Z", "kept"),
        (NOON, "kept"),
    ];
    for (now, expected) in cases {
        expect(&run(child(11)).at(now), NOTIFICATION, expected);
    }
    let outcome = run(child(11))
        .at("2026-01-14T23:30:00Z")
        .outcome(&[item(NOTIFICATION)]);
    assert!(outcome.removed.is_empty(), "held is not removed");
    assert_eq!(outcome.held_until, Some(at("2026-01-15T07:00:00Z")));
    expect(
        &run(AgeStatus::Adult).at("2026-01-14T23:30:00Z"),
        NOTIFICATION,
        "kept",
    );
    // British Summer Time: 22:30 local is 21:30 UTC.
    expect(
        &run(child(11)).at("2026-07-14T21:30:00Z"),
        NOTIFICATION,
        "held: quiet_hours",
    );
}

#[test]
fn quiet_hours_follow_the_childs_own_time_zone() {
    let tokyo = time_zone("Asia/Tokyo");
    let los_angeles = time_zone("America/Los_Angeles");
    // 13:00 UTC: 13:00 in London, 22:00 in Tokyo, 05:00 in Los Angeles.
    let now = "2026-01-14T13:00:00Z";
    expect(&run(child(11)).at(now), NOTIFICATION, "kept");
    expect(
        &run(child(11)).at(now).in_zone(&tokyo),
        NOTIFICATION,
        "held: quiet_hours",
    );
    expect(
        &run(child(11)).at(now).in_zone(&los_angeles),
        NOTIFICATION,
        "held: quiet_hours",
    );
    let outcome = run(child(11))
        .at(now)
        .in_zone(&tokyo)
        .outcome(&[item(NOTIFICATION)]);
    // 07:00 in Tokyo the next morning is 22:00 UTC.
    assert_eq!(outcome.held_until, Some(at("2026-01-14T22:00:00Z")));
}

#[test]
fn the_services_time_zone_applies_when_the_child_has_none() {
    let source = "[service]\nname = \"Feeds\"\nkind = \"video_sharing\"\nmin_age = 8\ntime_zone = \"America/New_York\"\n";
    let new_york = FeedPolicy::new(&Policy::parse(source).unwrap()).unwrap();
    // 23:30 UTC: 23:30 in London, 18:30 in New York.
    let now = "2026-01-14T23:30:00Z";
    expect(&run(child(11)).at(now), NOTIFICATION, "held: quiet_hours");
    expect(
        &run(child(11)).at(now).policy(new_york),
        NOTIFICATION,
        "kept",
    );
}

#[test]
fn a_parents_bedtime_holds_notifications_back_too() {
    let controls =
        Controls::new::<&str>(None, DailyWindow::parse("19:30-07:30"), &[], &[], &[]).unwrap();
    let cases = [
        ("2026-01-14T19:29:00Z", "kept"),
        ("2026-01-14T19:30:00Z", "held: bedtime"),
        ("2026-01-14T23:00:00Z", "held: quiet_hours, bedtime"),
        ("2026-01-15T07:15:00Z", "held: bedtime"),
        ("2026-01-15T07:30:00Z", "kept"),
    ];
    for (now, expected) in cases {
        expect(
            &run(child(9)).at(now).controls(controls.clone()),
            NOTIFICATION,
            expected,
        );
    }
    // Without quiet hours in the policy, the bedtime alone holds, in the child's own zone.
    let quiet_free = policy_with(|config| config.quiet_hours = None);
    let tokyo = time_zone("Asia/Tokyo");
    expect(
        &run(child(9))
            .policy(quiet_free.clone())
            .at("2026-01-14T23:00:00Z"),
        NOTIFICATION,
        "kept",
    );
    expect(
        &run(child(9))
            .policy(quiet_free)
            .controls(controls.clone())
            .in_zone(&tokyo)
            .at("2026-01-14T11:00:00Z"),
        NOTIFICATION,
        "held: bedtime",
    );
    let outcome = run(child(9))
        .controls(controls)
        .at("2026-01-14T20:00:00Z")
        .outcome(&[item(NOTIFICATION)]);
    // Bedtime runs into quiet hours, which end before bedtime does: held until 07:30.
    assert_eq!(outcome.held_until, Some(at("2026-01-15T07:30:00Z")));
}

#[test]
fn a_suggested_adult_the_child_does_not_know_is_removed() {
    let cases = [
        (
            r#"{"id": "u", "kind": "user", "adult": true}"#,
            "removed: adult_contact",
        ),
        (
            r#"{"id": "u", "kind": "user", "adult": true, "known_to_child": false}"#,
            "removed: adult_contact",
        ),
        // Of unknown age: treated as an adult.
        (r#"{"id": "u", "kind": "user"}"#, "removed: adult_contact"),
        (
            r#"{"id": "u", "kind": "user", "adult": true, "known_to_child": true}"#,
            "kept",
        ),
        (r#"{"id": "u", "kind": "user", "adult": false}"#, "kept"),
    ];
    for (json, expected) in cases {
        expect(&run(child(12)), json, expected);
        expect(&run(AgeStatus::Adult), json, "kept");
    }
}

#[test]
fn a_parents_blocks_remove_tags_topics_and_sources_on_top() {
    let controls = Controls::new(None, None, &["horror"], &["slime"], &["prank-channel"]).unwrap();
    let cases = [
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "tags": ["horror"]}"#,
            "removed: parent_blocked_tag",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "topics": ["crafts", "slime"]}"#,
            "removed: parent_blocked_topic",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "source": "prank-channel"}"#,
            "removed: parent_blocked_source",
        ),
        (
            r#"{"id": "v", "kind": "video", "ratings": {"bbfc": "15"}, "tags": ["horror", "hate"], "source": "prank-channel"}"#,
            "removed: age_rating, harm_tag, parent_blocked_tag, parent_blocked_source",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "tags": ["comedy"], "topics": ["crafts"], "source": "bbc"}"#,
            "kept",
        ),
    ];
    for (json, expected) in cases {
        expect(
            &run(child(12))
                .policy(knowing_our_words())
                .controls(controls.clone()),
            json,
            expected,
        );
    }
    let items = [item(cases[1].0)];
    let outcome = run(child(12)).controls(controls.clone()).outcome(&items);
    let policy = FeedPolicy::default();
    assert_eq!(
        outcome
            .explain(&policy, Some(&controls), &items)
            .removal(&outcome.removed[0])[0]
            .message,
        "about `slime`, which a parent blocked"
    );
}

#[test]
fn every_reason_for_a_removal_is_reported() {
    let json = r#"{"id": "x", "kind": "ad", "ratings": {"bbfc": "18"}, "tags": ["gambling"], "ad_category": "gambling"}"#;
    expect(
        &run(child(15)),
        json,
        "removed: age_rating, harm_tag, ad_category",
    );
}

#[test]
fn adults_get_everything_unfiltered_with_the_notes() {
    let items: Vec<Item> = [
        r#"{"id": "1", "kind": "video", "ratings": {"bbfc": "R18"}}"#,
        r#"{"id": "2", "kind": "post", "tags": ["self_harm", "gambling"]}"#,
        r#"{"id": "3", "kind": "ad", "ad_category": "tobacco"}"#,
        r#"{"id": "4", "kind": "notification", "trigger": "inactivity"}"#,
        r#"{"id": "5", "kind": "user", "adult": true}"#,
        r#"{"id": "6", "kind": "video", "ratings": {"mpaa": "NR"}}"#,
        r#"{"id": "7", "kind": "video", "ratings": {"bbfc": "PG"}}"#,
    ]
    .iter()
    .map(|json| item(json))
    .collect();
    let outcome = run(AgeStatus::Adult)
        .at("2026-01-14T23:30:00Z")
        .outcome(&items);
    assert_eq!(outcome.kept, (0..7).collect::<Vec<u32>>());
    assert!(outcome.removed.is_empty() && outcome.held.is_empty());
    assert!(outcome.unfiltered);
    let noted: Vec<(u32, Vec<&str>)> = outcome
        .notes
        .iter()
        .map(|note| (note.index, note.kinds.codes().collect()))
        .collect();
    assert_eq!(
        noted,
        vec![
            (5, vec!["unrecognised_rating"]),
            (6, vec!["advisory_rating"])
        ]
    );
    let policy = FeedPolicy::default();
    assert_eq!(
        outcome.explain(&policy, None, &items).why_shown(0),
        vec!["shown unfiltered: adults see everything"]
    );
}

#[test]
fn unknown_users_are_judged_as_children_at_the_services_minimum_age() {
    let min_age_12 = FeedPolicy::from_config(&FeedConfig::default(), 12, TimeZone::UTC);
    let rated_12 = video_rated("pegi", "12");
    let rated_16 = video_rated("pegi", "16");
    expect(
        &run(AgeStatus::Unknown).policy(min_age_12.clone()),
        &rated_12,
        "kept",
    );
    expect(
        &run(AgeStatus::Unknown).policy(min_age_12),
        &rated_16,
        "removed: age_rating",
    );
    expect(&run(AgeStatus::Unknown), &rated_12, "removed: age_rating");
    // A band without an exact age is judged at the band's youngest age.
    let band_13_15 = AgeStatus::Child {
        age: None,
        band: AgeBand::of_age(14).unwrap(),
    };
    expect(
        &run(band_13_15),
        &video_rated("tv", r#""TV-14""#),
        "removed: age_rating",
    );
    expect(&run(band_13_15), &video_rated("mpaa", r#""PG-13""#), "kept");
}

#[test]
fn a_kept_item_says_why_it_may_be_shown() {
    let policy = knowing_our_words();
    let items = [
        item(
            r#"{"id": "f", "kind": "video", "ratings": {"bbfc": "PG", "mpaa": "G"}, "tags": ["animation"]}"#,
        ),
        item(r#"{"id": "a", "kind": "ad", "assessed": true, "ad_category": "hfss_food"}"#),
        item(r#"{"id": "u", "kind": "user", "adult": true, "known_to_child": true}"#),
    ];
    let outcome = run(child(16)).policy(policy.clone()).outcome(&items);
    let explainer = outcome.explain(&policy, None, &items);
    assert_eq!(
        explainer.why_shown(0),
        vec![
            "rated PG (BBFC): advisory for under 8s",
            "tagged `animation`: no harm tag, nothing a parent blocked"
        ]
    );
    assert_eq!(
        explainer.why_shown(1),
        vec![
            "not rated, but assessed by the service as suitable",
            "an advert for `hfss_food`: the CAP Code allows it from 16"
        ]
    );
    assert_eq!(
        explainer.why_shown(2),
        vec!["suggests someone the child already knows"]
    );
}

#[test]
fn the_child_sees_which_setting_and_which_signals_led_to_an_item() {
    let drift = DriftState::with_interests(&["football", "animals"]).unwrap();
    let shown = item(
        r#"{"id": "v", "kind": "video", "ratings": {"bbfc": "PG"}, "topics": ["football", "highlights"]}"#,
    );
    let explanation = why_am_i_seeing_this("Videos picked for you", &shown, Some(&drift));
    assert_eq!(explanation.setting, "Videos picked for you");
    let json = serde_json::to_value(&explanation.signals).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"kind": "interest", "topic": "football", "declared": true},
            {"kind": "rating", "rating": "PG (BBFC)", "advisory": "advisory for under 8s"}
        ])
    );
    assert_eq!(
        explanation.text,
        "You are seeing this because \u{201c}Videos picked for you\u{201d} is switched on. It is about football, which you told us you like. It is rated PG (BBFC): advisory for under 8s. You can switch \u{201c}Videos picked for you\u{201d} off at any time."
    );
    let friend = item(r#"{"id": "u", "kind": "user", "adult": false, "known_to_child": true}"#);
    let explanation = why_am_i_seeing_this("People you may know", &friend, None);
    assert!(explanation.text.contains("You already know them."));
}

#[test]
fn the_response_lists_held_notifications_apart_from_removed_items() {
    let policy = FeedPolicy::default();
    let items = [
        item(r#"{"id": "film", "kind": "video", "ratings": {"bbfc": "15"}}"#),
        item(r#"{"id": "ping", "kind": "notification", "trigger": "reply"}"#),
        item(r#"{"id": "nudge", "kind": "notification", "trigger": "inactivity"}"#),
        item(r#"{"id": "cartoon", "kind": "video", "ratings": {"bbfc": "U"}}"#),
    ];
    let (outcome, _) = filter(
        &policy,
        &FeedChild::new(child(11)),
        None,
        DriftState::new(),
        &items,
        at("2026-01-14T22:30:00Z"),
    );
    let json = serde_json::to_value(outcome.explain(&policy, None, &items).response()).unwrap();
    assert_eq!(json["kept"], serde_json::json!(["cartoon"]));
    assert_eq!(
        json["removed"],
        serde_json::json!([
            {"id": "film", "kind": "video", "reasons": [{"code": "age_rating", "message": "rated 15 (BBFC): for 15 and over, and this child is judged at 11"}]},
            {"id": "nudge", "kind": "notification", "reasons": [{"code": "inactivity_nudge", "message": "a notification responding to inactivity: never sent to children"}]}
        ])
    );
    assert_eq!(
        json["held"],
        serde_json::json!([
            {"id": "ping", "reasons": [{"code": "quiet_hours", "message": "inside quiet hours (22:00-07:00, the child's local time): held back, not removed"}], "until": "2026-01-15T07:00:00Z"}
        ])
    );
    assert_eq!(json["held_until"], "2026-01-15T07:00:00Z");
    assert!(json["drift"]["score"].is_number());
}

#[test]
fn every_removal_reason_has_a_stable_snake_case_code() {
    let codes: Vec<&str> = RemovalReason::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            "age_rating",
            "harm_tag",
            "ad_category",
            "precaution",
            "inactivity_nudge",
            "adult_contact",
            "parent_blocked_tag",
            "parent_blocked_topic",
            "parent_blocked_source",
            "drift_cap",
            "hidden_by_child",
            "not_for_me_topic",
            "not_for_me_source",
            "not_for_me_tag"
        ]
    );
}

#[test]
fn unknown_fields_and_bad_values_are_clear_errors() {
    let cases = [
        (
            r#"{"id": "v", "kind": "video", "tgas": ["hate"]}"#,
            "unknown field `tgas`, expected one of",
        ),
        (
            r#"{"id": "v", "kind": "video", "ratings": {"bbfc": "15", "acb": "M"}}"#,
            "unknown field `acb`",
        ),
        (r#"{"id": "v", "kind": "film"}"#, "unknown variant `film`"),
        (r#"{"kind": "video"}"#, "missing field `id`"),
        (r#"{"id": "v"}"#, "missing field `kind`"),
        (r#"{"id": " ", "kind": "video"}"#, "`id` cannot be empty"),
        (
            r#"{"id": "v", "kind": "video", "ratings": {"pegi": true}}"#,
            "expected a rating as text or a number",
        ),
    ];
    for (json, expected) in cases {
        let error = Item::from_json(json).unwrap_err();
        assert!(
            error.message.contains(expected),
            "{json}: {}",
            error.message
        );
        assert!(!error.message.contains(" at line "), "{}", error.message);
    }
}

#[test]
fn a_bad_catalogue_line_is_an_error_naming_its_line() {
    let text = "{\"id\": \"a\", \"kind\": \"video\"}\n\n{\"id\": \"b\", \"kind\": \"post\"}\n{\"id\": \"c\", \"kind\": \"post\", \"colour\": 1}\n";
    let error = parse_catalogue(text).unwrap_err();
    assert_eq!(error.line, 4);
    assert!(error.to_string().starts_with("line 4, column "), "{error}");
    assert!(error.to_string().contains("unknown field `colour`"));
    let first_three: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    assert_eq!(parse_catalogue(&first_three).unwrap().len(), 2);
}

#[test]
fn the_example_catalogue_parses_and_is_filtered_for_an_eleven_year_old() {
    let text = include_str!("../../../../examples/catalogue.jsonl");
    let items = parse_catalogue(text).unwrap();
    assert!((60..=120).contains(&items.len()), "{}", items.len());
    let outcome = run(child(11)).outcome(&items);
    for reason in [
        "age_rating",
        "harm_tag",
        "ad_category",
        "precaution",
        "inactivity_nudge",
        "adult_contact",
    ] {
        assert!(
            outcome
                .reason_counts()
                .iter()
                .any(|(r, n)| r.code() == reason && *n > 0),
            "{reason}"
        );
    }
    assert!(!outcome.kept.is_empty());
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.kinds.contains(NoteKind::AdvisoryRating))
    );
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.kinds.contains(NoteKind::UnrecognisedRating))
    );
    // It shows the vocabulary rules too: harm words in other spellings, unknown words.
    for kind in [NoteKind::UnknownTag, NoteKind::UnknownAdCategory] {
        assert!(
            outcome.notes.iter().any(|n| n.kinds.contains(kind)),
            "{kind:?}"
        );
    }
    for (id, reason) in [
        ("post-vent-art-self-harm", RemovalReason::HarmTag),
        ("post-knife-unboxing", RemovalReason::HarmTag),
        ("ad-beer-brand", RemovalReason::AdCategory),
        ("post-cat-compilation", RemovalReason::Precaution),
        ("music-taylor-swift-shake-it-off", RemovalReason::Precaution),
    ] {
        assert!(
            outcome
                .removed
                .iter()
                .any(|r| items[r.index as usize].id() == id && r.reasons.contains(reason)),
            "{id}"
        );
    }
    assert!(duplicate_id(&items).is_none());
}

// ---- Drift ----------------------------------------------------------------------------------

fn topic_item(id: usize, topics: &[&str]) -> Item {
    let topics = topics
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    item(&format!(
        r#"{{"id": "i{id}", "kind": "video", "ratings": {{"bbfc": "U"}}, "topics": [{topics}]}}"#
    ))
}

/// Serves `pages` through the guard for an 11-year-old, storing the state as JSON between
/// calls as a service would. Returns each page's outcome and the items it judged.
struct Session {
    policy: FeedPolicy,
    state: String,
    next_id: usize,
}

impl Session {
    fn new(state: DriftState) -> Self {
        Self {
            policy: FeedPolicy::default(),
            state: serde_json::to_string(&state).unwrap(),
            next_id: 0,
        }
    }

    /// One page of `n` items, `n_sensitive` of them about dieting (spread through the page),
    /// the rest about `other`.
    fn page(&mut self, n: usize, n_sensitive: usize, other: &[&str]) -> (FeedOutcome, Vec<Item>) {
        let items: Vec<Item> = (0..n)
            .map(|idx| {
                self.next_id += 1;
                let sensitive = (idx * n_sensitive) / n != ((idx + 1) * n_sensitive) / n;
                if sensitive {
                    topic_item(self.next_id, &["dieting", "body_image"])
                } else {
                    topic_item(self.next_id, &[other[self.next_id % other.len()]])
                }
            })
            .collect();
        let state: DriftState = serde_json::from_str(&self.state).unwrap();
        let (outcome, state) = filter(
            &self.policy,
            &FeedChild::new(child(11)),
            None,
            state,
            &items,
            at(NOON),
        );
        self.state = serde_json::to_string(&state).unwrap();
        (outcome, items)
    }
}

#[test]
fn a_session_sliding_from_football_into_dieting_is_caught_and_the_cap_holds() {
    let mut session = Session::new(DriftState::new());
    // Two pages on football: the anchor is learned.
    for _ in 0..2 {
        let (outcome, _) = session.page(10, 0, &["football"]);
        assert!(!outcome.drift.unwrap().capped);
    }
    // Then the recommender slides: 1 in 10 about dieting, then 2, … up to 9 in 10, and stays.
    let mut flagged_at = None;
    let mut share_before: f64 = 0.0;
    // Whether each item served after the flag was on a sensitive topic, in order.
    let mut served_after_flag: Vec<bool> = Vec::new();
    for page in 1..=120 {
        let n_sensitive = page.min(9);
        let (outcome, items) = session.page(10, n_sensitive, &["football"]);
        let drift = outcome.drift.unwrap();
        if drift.flagged {
            assert!(flagged_at.is_none(), "flagged once, then the cap stays");
            flagged_at = Some(page);
            // Caught while dieting was at most about half of the window.
            assert!(share_before <= 0.6, "caught late: {share_before}");
        }
        if let Some(flagged) = flagged_at {
            assert!(
                drift.capped,
                "page {page}: the cap stays while the push goes on"
            );
            // The cap holds: once in force, the share never grows unless it is within the cap.
            if page > flagged {
                assert!(
                    drift.sensitive_share <= share_before.max(0.2) + 1e-9,
                    "page {page}: share {} after {share_before}",
                    drift.sensitive_share
                );
            }
            if page > flagged + 60 {
                assert!(drift.sensitive_share <= 0.2 + 1e-9, "page {page}");
            }
            if page > flagged {
                served_after_flag.extend(
                    outcome
                        .kept
                        .iter()
                        .map(|index| items[*index as usize].topics()[0].as_str() == "dieting"),
                );
                assert!(
                    drift.removed_by_cap > 0,
                    "page {page}: the push is being capped"
                );
            }
        }
        share_before = drift.sensitive_share;
    }
    assert!(flagged_at.is_some(), "the slide was never caught");
    // In every 50 items served in a row after the flag, at most 20% on sensitive topics.
    assert!(served_after_flag.len() > 100, "{}", served_after_flag.len());
    assert!(
        served_after_flag.iter().any(|sensitive| *sensitive),
        "one at a time is allowed"
    );
    for run in served_after_flag.windows(50) {
        assert!(run.iter().filter(|s| **s).count() <= 10, "{run:?}");
    }
    // Every drift_cap removal names the reason and the sensitive topic.
    let (outcome, items) = session.page(10, 9, &["football"]);
    let policy = FeedPolicy::default();
    let removal = outcome
        .removed
        .iter()
        .find(|r| r.reasons.contains(RemovalReason::DriftCap))
        .unwrap();
    let sentence = &outcome.explain(&policy, None, &items).removal(removal)[0];
    assert_eq!(sentence.code, "drift_cap");
    assert!(
        sentence
            .message
            .starts_with("about `dieting`, `body_image`, a sensitive topic: the feed has drifted"),
        "{}",
        sentence.message
    );
}

#[test]
fn a_session_that_stays_on_topic_is_not_flagged() {
    let mut session = Session::new(DriftState::new());
    let topics = ["football", "football", "tennis", "highlights", "football"];
    let mut max_score: f64 = 0.0;
    for page in 0..100 {
        // The odd item about dieting, one at a time, is harmless.
        let n_sensitive = usize::from(page % 5 == 4);
        let (outcome, _) = session.page(10, n_sensitive, &topics);
        let drift = outcome.drift.unwrap();
        assert!(!drift.capped && !drift.flagged, "page {page}: {drift:?}");
        assert_eq!(drift.removed_by_cap, 0);
        assert!(outcome.removed.is_empty());
        max_score = max_score.max(drift.score);
    }
    assert!(max_score < 0.35, "{max_score}");
    assert!(max_score > 0.0, "the score moves with the feed");
}

#[test]
fn declared_interests_anchor_the_score_from_the_first_item() {
    let policy = FeedPolicy::default();
    let state = DriftState::with_interests(&["football"]).unwrap();
    assert_eq!(state.anchor_source(), AnchorSource::Declared);
    let items: Vec<Item> = (0..5).map(|i| topic_item(i, &["minecraft"])).collect();
    let (outcome, state) = filter(
        &policy,
        &FeedChild::new(child(11)),
        None,
        state,
        &items,
        at(NOON),
    );
    let drift = outcome.drift.unwrap();
    assert!((drift.score - 1.0).abs() < 1e-9, "{drift:?}");
    assert!(drift.drifted && drift.capped && drift.flagged);
    assert_eq!(outcome.kept.len(), 5, "no sensitive topic: nothing to cap");
    let on_topic: Vec<Item> = (0..5).map(|i| topic_item(i, &["football"])).collect();
    let (outcome, _) = filter(
        &policy,
        &FeedChild::new(child(11)),
        None,
        state,
        &on_topic,
        at(NOON),
    );
    assert!(outcome.drift.unwrap().score < 0.35);
}

#[test]
fn a_feed_that_opens_on_a_stream_of_sensitive_content_is_capped_before_any_anchor_forms() {
    let policy = FeedPolicy::default();
    let items: Vec<Item> = (0..10).map(|i| topic_item(i, &["dieting"])).collect();
    let (outcome, state) = filter(
        &policy,
        &FeedChild::new(child(13)),
        None,
        DriftState::new(),
        &items,
        at(NOON),
    );
    assert_eq!(
        outcome.kept,
        vec![0],
        "one at a time is harmless, a stream is not"
    );
    assert_eq!(outcome.removed.len(), 9);
    assert_eq!(
        state.anchor_topics().count(),
        0,
        "sensitive topics never form a learned anchor"
    );
    // An adult's feed is tracked, never capped.
    let (outcome, _) = filter(
        &policy,
        &FeedChild::new(AgeStatus::Adult),
        None,
        DriftState::new(),
        &items,
        at(NOON),
    );
    assert_eq!(outcome.kept.len(), 10);
    assert!(!outcome.drift.unwrap().capped);
}

#[test]
fn the_cap_is_lifted_after_a_whole_window_back_on_topic() {
    let mut session = Session::new(DriftState::with_interests(&["football"]).unwrap());
    let (outcome, _) = session.page(10, 8, &["football"]);
    assert!(outcome.drift.unwrap().capped);
    let mut released = false;
    for _ in 0..10 {
        let (outcome, _) = session.page(10, 0, &["football"]);
        let drift = outcome.drift.unwrap();
        if drift.released {
            released = true;
            assert!(!drift.capped);
            break;
        }
        assert!(drift.capped);
    }
    assert!(released, "back on topic for a whole window lifts the cap");
}

#[test]
fn the_drift_state_round_trips_through_json_and_stays_bounded() {
    let policy = FeedPolicy::default();
    let names: Vec<String> = (0..200).map(|i| format!("topic_{i}")).collect();
    let items: Vec<Item> = (0..5_000)
        .map(|i| topic_item(i, &[names[i % 200].as_str(), names[(i * 7) % 200].as_str()]))
        .collect();
    let (_, state) = filter(
        &policy,
        &FeedChild::new(child(11)),
        None,
        DriftState::new(),
        &items,
        at(NOON),
    );
    assert_eq!(state.window_len(), 50);
    let json = serde_json::to_value(&state).unwrap();
    assert!(json["topics"].as_array().unwrap().len() <= 62);
    assert_eq!(json["window"].as_array().unwrap().len(), 50);
    let back: DriftState = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, state);
    assert!((back.score() - state.score()).abs() < 1e-12);
    // A stored state that was tampered with is refused, not trusted.
    let mut bad = json.clone();
    bad["window"][0] = serde_json::json!(1u64 << 61);
    bad["topics"] = serde_json::json!(["a"]);
    assert!(serde_json::from_value::<DriftState>(bad).is_err());
    let mut bad = json;
    bad["extra"] = serde_json::json!(1);
    assert!(serde_json::from_value::<DriftState>(bad).is_err());
    // Interests are checked too.
    assert!(DriftState::with_interests(&[""]).is_err());
    let too_many: Vec<String> = (0..63).map(|i| format!("t{i}")).collect();
    assert!(DriftState::with_interests(&too_many).is_err());
}

// ---- Vocabulary (RUNTIME.md, "Vocabulary") ---------------------------------------------------

/// `word` as services write it: as given, Title-Case with hyphens, lower with hyphens,
/// SHOUTING_SNAKE, with spaces, padded, with an en dash.
fn spellings(word: &str) -> Vec<String> {
    let title: String = word
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join("-");
    vec![
        word.to_owned(),
        title,
        word.replace('_', "-"),
        word.to_uppercase(),
        word.replace('_', " "),
        format!("  {}  ", word.replace('_', " ").to_uppercase()),
        word.replace('_', "\u{2013}"),
    ]
}

/// The sentences of the notes on item `index`.
fn note_sentences(
    policy: &FeedPolicy,
    outcome: &FeedOutcome,
    items: &[Item],
    index: u32,
) -> Vec<(String, String)> {
    outcome
        .notes
        .iter()
        .filter(|note| note.index == index)
        .flat_map(|note| outcome.explain(policy, None, items).note(note))
        .map(|e| (e.code.to_owned(), e.message))
        .collect()
}

#[test]
fn every_spelling_of_every_harm_tag_is_removed_for_children() {
    assert_eq!(HarmTag::ALL.len(), 12);
    for tag in HarmTag::ALL {
        for spelling in spellings(tag.as_str()) {
            let json = format!(
                r#"{{"id": "p", "kind": "post", "assessed": true, "tags": ["{spelling}"]}}"#
            );
            for age in [0, 11, 17] {
                expect(&run(child(age)), &json, "removed: harm_tag");
            }
            expect(&run(AgeStatus::Unknown), &json, "removed: harm_tag");
            // An adult gets it, and a known word needs no note.
            let outcome = run(AgeStatus::Adult).outcome(&[item(&json)]);
            assert_eq!(verdict(&outcome, 0), "kept");
            assert!(
                outcome.notes.is_empty(),
                "{spelling:?}: {:?}",
                outcome.notes
            );
        }
    }
    // The sentence names the tag in ward's own spelling.
    let items = [item(
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["Self-Harm"]}"#,
    )];
    let outcome = run(child(11)).outcome(&items);
    assert_eq!(
        outcome
            .explain(&FeedPolicy::default(), None, &items)
            .removal(&outcome.removed[0])[0]
            .message,
        "tagged `self_harm`: never shown to children"
    );
}

#[test]
fn every_spelling_of_every_cap_category_keeps_the_advert_from_its_age() {
    assert_eq!(CapCategory::ALL.len(), 11);
    for category in CapCategory::ALL {
        for spelling in spellings(category.as_str()) {
            let json = format!(
                r#"{{"id": "a", "kind": "ad", "assessed": true, "ad_category": "{spelling}"}}"#
            );
            match category.min_age() {
                Some(age) => {
                    expect(&run(child(age - 1)), &json, "removed: ad_category");
                    if age < 18 {
                        expect(&run(child(age)), &json, "kept");
                    }
                }
                None => expect(&run(child(17)), &json, "removed: ad_category"),
            }
            let outcome = run(AgeStatus::Adult).outcome(&[item(&json)]);
            assert_eq!(verdict(&outcome, 0), "kept");
            assert!(
                outcome.notes.is_empty(),
                "{spelling:?}: {:?}",
                outcome.notes
            );
        }
    }
}

#[test]
fn rating_values_are_read_with_dashes_underscores_and_spaces_alike() {
    for (key, value, min_age) in [
        ("mpaa", "pg 13", 13),
        ("mpaa", "PG_13", 13),
        ("mpaa", "nc 17", 18),
        ("tv", "tv ma", 17),
        ("tv", "Tv_14", 14),
        ("tv", "TV\u{2013}Y7", 7),
        ("bbfc", " r18 ", 18),
    ] {
        let json = video_rated(key, &format!("\"{value}\""));
        expect(&run(child(min_age - 1)), &json, "removed: age_rating");
    }
}

#[test]
fn a_tag_ward_does_not_know_is_named_and_makes_the_item_unassessed_for_a_child() {
    let policy = FeedPolicy::default();
    // Assessed, and even rated for all ages: a word nobody can read is inconclusive evidence.
    for json in [
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["Pro-Ana"]}"#,
        r#"{"id": "p", "kind": "video", "ratings": {"bbfc": "U"}, "tags": ["Pro-Ana"]}"#,
        r#"{"id": "p", "kind": "notification", "trigger": "reply", "tags": ["Pro-Ana"]}"#,
    ] {
        for age in [child(6), child(11), child(17), AgeStatus::Unknown] {
            expect(&run(age), json, "removed: precaution");
        }
        let items = [item(json)];
        let outcome = run(child(11)).outcome(&items);
        let reasons = outcome
            .explain(&policy, None, &items)
            .removal(&outcome.removed[0]);
        assert!(
            reasons[0].message.contains("tagged `Pro-Ana` (a tag ward does not know): removed as a precaution (`[feed] unknown_tags = \"remove\"`)"),
            "{}",
            reasons[0].message
        );
        assert_eq!(
            note_sentences(&policy, &outcome, &items, 0),
            [(
                "unknown_tag".to_owned(),
                "`Pro-Ana` is not a tag ward knows (neither a harm tag nor in `[feed] harmless_tags`): for children the item counts as unassessed".to_owned()
            )]
        );
        // An adult gets it unfiltered, with the note.
        let outcome = run(AgeStatus::Adult).outcome(&items);
        assert_eq!(verdict(&outcome, 0), "kept");
        assert_eq!(
            note_sentences(&policy, &outcome, &items, 0),
            [(
                "unknown_tag".to_owned(),
                "`Pro-Ana` is not a tag ward knows (neither a harm tag nor in `[feed] harmless_tags`)".to_owned()
            )]
        );
    }
    // Beside a harm tag, both reasons are given; only the unknown word is noted.
    let json = r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["SELF_HARM", "sh"]}"#;
    expect(&run(child(11)), json, "removed: harm_tag, precaution");
    let items = [item(json)];
    let outcome = run(child(11)).outcome(&items);
    let notes = note_sentences(&policy, &outcome, &items, 0);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].1.starts_with("`sh` is not a tag ward knows"),
        "{notes:?}"
    );
}

#[test]
fn an_ad_category_ward_does_not_know_is_named_and_makes_the_advert_unassessed_for_a_child() {
    let policy = FeedPolicy::default();
    let json = r#"{"id": "a", "kind": "ad", "assessed": true, "ad_category": "Beer & Cider"}"#;
    for age in [child(6), child(17), AgeStatus::Unknown] {
        expect(&run(age), json, "removed: precaution");
    }
    let items = [item(json)];
    let outcome = run(child(11)).outcome(&items);
    let reasons = outcome
        .explain(&policy, None, &items)
        .removal(&outcome.removed[0]);
    assert!(
        reasons[0].message.starts_with("an advert in ad category `Beer & Cider` (a category ward does not know): removed as a precaution"),
        "{}",
        reasons[0].message
    );
    assert_eq!(
        note_sentences(&policy, &outcome, &items, 0),
        [(
            "unknown_ad_category".to_owned(),
            "`Beer & Cider` is not an ad category ward knows (neither one the CAP Code restricts nor in `[feed] harmless_ad_categories`): for children the item counts as unassessed".to_owned()
        )]
    );
    let outcome = run(AgeStatus::Adult).outcome(&items);
    assert_eq!(verdict(&outcome, 0), "kept");
    assert_eq!(outcome.notes.len(), 1);
    assert!(outcome.notes[0].kinds.contains(NoteKind::UnknownAdCategory));
    // Unrated, unassessed and with an unknown word: one precaution, naming both.
    let both = [item(
        r#"{"id": "a", "kind": "ad", "ad_category": "toys", "tags": ["promo"]}"#,
    )];
    let outcome = run(child(11)).outcome(&both);
    assert_eq!(verdict(&outcome, 0), "removed: precaution");
    assert_eq!(
        outcome
            .explain(&policy, None, &both)
            .removal(&outcome.removed[0])[0]
            .message,
        "an advert with no recognised rating that nobody has assessed and tagged `promo` (a tag ward does not know) and in ad category `toys` (a category ward does not know): removed as a precaution (`[feed] precaution = \"remove\"`, `unknown_tags = \"remove\"`)"
    );
}

#[test]
fn words_the_policy_declares_harmless_are_known_in_any_spelling() {
    let policy = policy_with(|config| {
        config.harmless_tags = vec!["Behind The Scenes".to_owned()];
        config.harmless_ad_categories = vec!["Toys".to_owned()];
    });
    for json in [
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["behind-the-scenes"]}"#,
        r#"{"id": "a", "kind": "ad", "assessed": true, "ad_category": "TOYS"}"#,
    ] {
        let outcome = run(child(8)).policy(policy.clone()).outcome(&[item(json)]);
        assert_eq!(verdict(&outcome, 0), "kept", "{json}");
        assert!(outcome.notes.is_empty(), "{json}: {:?}", outcome.notes);
    }
    // A harm tag or CAP category cannot be declared harmless: the parser refuses it, and a
    // configuration built in code is brought into line.
    for (feed, message) in [
        (
            "harmless_tags = [\"Self-Harm\"]",
            "`Self-Harm` is the harm tag `self_harm`: it cannot be declared harmless",
        ),
        (
            "harmless_ad_categories = [\"E-Cigarette\"]",
            "`E-Cigarette` is the CAP Code's restricted category `e_cigarette`: it cannot be declared harmless",
        ),
        (
            "harmless_tags = [\" - \"]",
            "`harmless_tags` cannot hold an empty word",
        ),
    ] {
        let source =
            format!("[service]\nname = \"x\"\nkind = \"game\"\nmin_age = 8\n\n[feed]\n{feed}\n");
        let error = Policy::parse(&source).unwrap_err();
        assert_eq!(error.message, message);
        assert!(error.span.is_some());
    }
    let sneaky = policy_with(|config| config.harmless_tags = vec!["self harm".to_owned()]);
    expect(
        &run(child(11)).policy(sneaky),
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["self_harm"]}"#,
        "removed: harm_tag",
    );
    let source = "[service]\nname = \"x\"\nkind = \"game\"\nmin_age = 8\n\n[feed]\nunknown_tags = \"keep\"\nharmless_tags = [\"funny\"]\nharmless_ad_categories = [\"toys\"]\n";
    let parsed = Policy::parse(source).unwrap();
    assert_eq!(parsed.feed.unknown_tags, UnknownTags::Keep);
    assert_eq!(parsed.feed.harmless_tags, ["funny"]);
    assert_eq!(parsed.feed.harmless_ad_categories, ["toys"]);
    assert_eq!(FeedConfig::default().unknown_tags, UnknownTags::Remove);
}

#[test]
fn unknown_tags_keep_names_the_word_and_keeps_the_item() {
    let keep = policy_with(|config| config.unknown_tags = UnknownTags::Keep);
    let items = [
        item(r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["Pro-Ana"]}"#),
        item(r#"{"id": "a", "kind": "ad", "assessed": true, "ad_category": "beer"}"#),
        // Unrated and unassessed stays the precaution's to remove.
        item(r#"{"id": "u", "kind": "post", "tags": ["Pro-Ana"]}"#),
        // A harm tag in another spelling is still a harm tag.
        item(r#"{"id": "h", "kind": "post", "assessed": true, "tags": ["Self-Harm"]}"#),
    ];
    let outcome = run(child(11)).policy(keep.clone()).outcome(&items);
    assert_eq!(verdict(&outcome, 0), "kept");
    assert_eq!(verdict(&outcome, 1), "kept");
    assert_eq!(verdict(&outcome, 2), "removed: precaution");
    assert_eq!(verdict(&outcome, 3), "removed: harm_tag");
    assert_eq!(
        note_sentences(&keep, &outcome, &items, 0),
        [(
            "unknown_tag".to_owned(),
            "`Pro-Ana` is not a tag ward knows (neither a harm tag nor in `[feed] harmless_tags`): kept because `[feed] unknown_tags = \"keep\"`".to_owned()
        )]
    );
    assert_eq!(
        note_sentences(&keep, &outcome, &items, 1)[0].0,
        "unknown_ad_category"
    );
    let explainer = outcome.explain(&keep, None, &items);
    assert!(
        explainer.why_shown(0).contains(
            &"tagged `Pro-Ana`: no harm tag, nothing a parent blocked; ward does not know `Pro-Ana`, kept because `[feed] unknown_tags = \"keep\"`".to_owned()
        ),
        "{:?}",
        explainer.why_shown(0)
    );
    assert!(explainer.why_shown(1).contains(
        &"an advert for `beer`: not a category ward knows, kept because `[feed] unknown_tags = \"keep\"`".to_owned()
    ));
}

#[test]
fn precaution_keep_keeps_items_with_unknown_words_as_unassessed() {
    let keep = policy_with(|config| config.precaution = Precaution::Keep);
    let items = [item(
        r#"{"id": "p", "kind": "post", "assessed": true, "tags": ["Pro-Ana"]}"#,
    )];
    let outcome = run(child(11)).policy(keep.clone()).outcome(&items);
    assert_eq!(verdict(&outcome, 0), "kept");
    let codes: Vec<String> = note_sentences(&keep, &outcome, &items, 0)
        .into_iter()
        .map(|(code, message)| format!("{code}: {message}"))
        .collect();
    assert_eq!(
        codes,
        [
            "unassessed_kept: counts as unassessed (a word ward does not know): kept because `[feed] precaution = \"keep\"`",
            "unknown_tag: `Pro-Ana` is not a tag ward knows (neither a harm tag nor in `[feed] harmless_tags`): for children the item counts as unassessed",
        ]
    );
}

#[test]
fn explicit_false_alone_is_not_an_age_rating_and_does_not_exempt_from_precaution() {
    let not_explicit = r#"{"id": "m", "kind": "post", "ratings": {"explicit": false}}"#;
    for age in [child(0), child(11), child(17), AgeStatus::Unknown] {
        expect(&run(age), not_explicit, "removed: precaution");
    }
    expect(&run(AgeStatus::Adult), not_explicit, "kept");
    let items = [item(not_explicit)];
    let outcome = run(child(11)).outcome(&items);
    assert_eq!(
        outcome
            .explain(&FeedPolicy::default(), None, &items)
            .removal(&outcome.removed[0])[0]
            .message,
        "a post with no recognised rating that nobody has assessed: removed as a precaution (`[feed] precaution = \"remove\"`); `explicit: false` says it is not explicit, not which ages it suits"
    );
    assert!(!items[0].ratings().is_rated());
    assert!(items[0].ratings().strictest().is_none());
    // Assessed, or beside an age rating, it is judged as such.
    let assessed =
        r#"{"id": "m", "kind": "post", "assessed": true, "ratings": {"explicit": false}}"#;
    expect(&run(child(6)), assessed, "kept");
    let items = [item(assessed)];
    let outcome = run(child(6)).outcome(&items);
    assert_eq!(
        outcome
            .explain(&FeedPolicy::default(), None, &items)
            .why_shown(0),
        [
            "not rated, but assessed by the service as suitable",
            "marked not explicit, which is not an age rating"
        ]
    );
    let rated = r#"{"id": "m", "kind": "post", "ratings": {"explicit": false, "bbfc": "15"}}"#;
    expect(&run(child(14)), rated, "removed: age_rating");
    expect(&run(child(15)), rated, "kept");
    // `explicit: true` is still 18.
    let explicit = r#"{"id": "m", "kind": "post", "ratings": {"explicit": true}}"#;
    expect(&run(child(17)), explicit, "removed: age_rating");
    // Nor is it a rating the child is told about.
    let explanation = why_am_i_seeing_this("Music for you", &item(assessed), None);
    assert!(explanation.signals.is_empty(), "{:?}", explanation.signals);
}

#[test]
fn a_parents_blocks_match_tags_topics_and_sources_in_any_spelling() {
    let controls = Controls::new(
        None,
        None,
        &["Jump Scares"],
        &["True Crime"],
        &["Prank Channel"],
    )
    .unwrap();
    let policy = policy_with(|config| config.harmless_tags = vec!["jump_scares".to_owned()]);
    let cases = [
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "tags": ["jump-scares"]}"#,
            "removed: parent_blocked_tag",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "tags": ["JUMP_SCARES"]}"#,
            "removed: parent_blocked_tag",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "topics": ["true_crime"]}"#,
            "removed: parent_blocked_topic",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "topics": ["TRUE-CRIME"]}"#,
            "removed: parent_blocked_topic",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "source": "prank-channel"}"#,
            "removed: parent_blocked_source",
        ),
        (
            r#"{"id": "v", "kind": "video", "assessed": true, "source": "Prank_Channel"}"#,
            "removed: parent_blocked_source",
        ),
    ];
    for (json, expected) in cases {
        expect(
            &run(child(12))
                .policy(policy.clone())
                .controls(controls.clone()),
            json,
            expected,
        );
    }
    // The sentence shows the item's word as written; the controls keep the parent's.
    let items = [item(cases[3].0)];
    let outcome = run(child(12))
        .policy(policy.clone())
        .controls(controls.clone())
        .outcome(&items);
    assert_eq!(
        outcome
            .explain(&policy, Some(&controls), &items)
            .removal(&outcome.removed[0])[0]
            .message,
        "about `TRUE-CRIME`, which a parent blocked"
    );
    assert_eq!(
        serde_json::to_value(&controls).unwrap()["blocked_topics"],
        serde_json::json!(["True Crime"])
    );
    // One word blocked twice in two spellings is one block.
    let twice = Controls::new::<&str>(None, None, &["horror", "Horror"], &[], &[]).unwrap();
    assert_eq!(twice.blocked_tags().names().len(), 1);
}

#[test]
fn sensitive_topics_match_item_topics_in_any_spelling() {
    let policy = policy_with(|config| config.sensitive_topics = vec!["Body Image".to_owned()]);
    let items: Vec<Item> = (0..10)
        .map(|i| topic_item(i, &[["body_image", "BODY-IMAGE", "Body Image"][i % 3]]))
        .collect();
    let (outcome, _) = filter(
        &policy,
        &FeedChild::new(child(13)),
        None,
        DriftState::new(),
        &items,
        at(NOON),
    );
    assert_eq!(
        outcome.kept,
        vec![0],
        "one at a time is harmless, a stream is not"
    );
    assert!(
        outcome
            .removed
            .iter()
            .all(|r| r.reasons.contains(RemovalReason::DriftCap))
    );
    // The defaults too: `Dieting` is `dieting`.
    assert!(FeedPolicy::default().is_sensitive(&ward_core::feed::Name::new("Mental-Health")));
}

#[test]
fn drift_topics_and_interests_match_in_any_spelling() {
    let policy = FeedPolicy::default();
    let state = DriftState::with_interests(&["Football", "MINECRAFT"]).unwrap();
    let items: Vec<Item> = (0..10)
        .map(|i| topic_item(i, &[["football", "Minecraft"][i % 2]]))
        .collect();
    let (outcome, state) = filter(
        &policy,
        &FeedChild::new(child(11)),
        None,
        state,
        &items,
        at(NOON),
    );
    assert!(outcome.drift.unwrap().score < 0.01, "{:?}", outcome.drift);
    assert_eq!(state.anchor_topics().count(), 2);
    assert!(
        DriftState::with_interests(&["football", "Football"])
            .unwrap()
            .anchor_topics()
            .count()
            == 1
    );
    // A state stored before names were normalised, with two spellings of one topic, loads
    // as one topic; the same spelling twice is still refused.
    let old = serde_json::json!({
        "version": 1, "topics": ["Football", "football", "dieting"],
        "anchor": [[0, 3], [1, 2]], "anchor_items": 5, "declared": false,
        "window": [1, 2, 3, 4 | (1u64 << 63)], "capped": false, "served_since_cap": 4
    });
    let loaded: DriftState = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(loaded.anchor_topics().collect::<Vec<_>>(), ["Football"]);
    assert_eq!(loaded.window_len(), 4);
    let reloaded: DriftState =
        serde_json::from_value(serde_json::to_value(&loaded).unwrap()).unwrap();
    assert_eq!(reloaded, loaded);
    let mut twice = old;
    twice["topics"] = serde_json::json!(["football", "football", "dieting"]);
    assert!(serde_json::from_value::<DriftState>(twice).is_err());
}

#[test]
fn an_inactivity_trigger_in_any_spelling_is_a_nudge() {
    for trigger in ["Inactivity", "INACTIVITY", " inactivity "] {
        let json = format!(r#"{{"id": "n", "kind": "notification", "trigger": "{trigger}"}}"#);
        expect(&run(child(11)), &json, "removed: inactivity_nudge");
    }
}

#[test]
fn an_id_used_twice_is_found_and_a_catalogue_naming_one_twice_is_refused_with_both_lines() {
    let items: Vec<Item> = ["a", "b", "c", "b", "a"]
        .iter()
        .map(|id| item(&format!(r#"{{"id": "{id}", "kind": "notification"}}"#)))
        .collect();
    let duplicate = duplicate_id(&items).unwrap();
    assert_eq!(
        (duplicate.id.as_str(), duplicate.first, duplicate.second),
        ("b", 1, 3)
    );
    assert!(duplicate_id(&items[..3]).is_none());
    let text = "{\"id\": \"a\", \"kind\": \"post\"}\n\n{\"id\": \"b\", \"kind\": \"post\"}\n{\"id\": \"a\", \"kind\": \"video\"}\n";
    let error = parse_catalogue(text).unwrap_err();
    assert_eq!(error.line, 4);
    assert_eq!(
        error.to_string(),
        "line 4: id `a` is already used on line 1: ids must be unique"
    );
}

/// An item whose every string is written with escapes (which the reader cannot borrow from
/// the input) reads as the same item written plainly.
#[test]
fn escaped_strings_read_as_the_plain_item() {
    let plain = Item::from_json(
        r#"{"id": "v-1", "kind": "video", "ratings": {"bbfc": "15", "mpaa": "PG-13"},
            "tags": ["Self-Harm", "funny"], "topics": ["football"], "source": "bbc",
            "ad_category": "toys", "trigger": "inactivity"}"#,
    )
    .unwrap();
    let escaped = Item::from_json(
        r#"{"id": "v\u002d1", "kind": "video", "ratings": {"bbfc": "1\u0035", "mpaa": "PG\u002d13"},
            "tags": ["Self\u002dHarm", "fun\u006ey"], "topics": ["foot\u0062all"],
            "source": "b\u0062c", "ad_category": "toy\u0073", "trigger": "in\u0061ctivity"}"#,
    )
    .unwrap();
    assert_eq!(escaped, plain);
    assert_eq!(escaped.id(), "v-1");
    assert_eq!(escaped.tags()[0].as_str(), "Self-Harm");
    assert_eq!(escaped.tags()[0].key(), "self_harm");
    assert_eq!(escaped.harm_tags().collect::<Vec<_>>(), [HarmTag::SelfHarm]);
    assert_eq!(escaped.ratings().strictest().unwrap().label(), "15");
    // Non-ASCII text, escaped or not, is kept as written and normalised as `vocab` says.
    let accented =
        Item::from_json(r#"{"id": "caf\u00e9", "kind": "post", "tags": ["Crème Brûlée"]}"#)
            .unwrap();
    assert_eq!(accented.id(), "café");
    assert_eq!(accented.tags()[0].as_str(), "Crème Brûlée");
    assert_eq!(accented.tags()[0].key(), "crème_brûlée");
}

/// Words and ids of every length read back as written, in order: short ones are held in
/// place, long ones on the heap, a list of more than a few words beyond the stack buffer.
#[test]
fn long_words_ids_and_lists_read_back_as_written() {
    let long_id = "an-item-id-much-longer-than-twenty-one-bytes";
    let tags: Vec<String> = (0..20)
        .map(|n| format!("Tag Number-{n}{}", "x".repeat(n)))
        .collect();
    let json = serde_json::json!({
        "id": long_id, "kind": "post", "assessed": true, "tags": tags,
        "topics": ["A Very Long Topic Name With Capitals", "dance"],
        "source": "Premier-League",
    });
    let item = Item::from_json(&json.to_string()).unwrap();
    assert_eq!(item.id(), long_id);
    let read: Vec<&str> = item.tags().iter().map(|tag| tag.as_str()).collect();
    assert_eq!(read, tags);
    for (tag, text) in item.tags().iter().zip(&tags) {
        assert_eq!(tag.key(), ward_core::vocab::normalise(text));
        assert_eq!(*tag, ward_core::feed::Name::new(text));
    }
    assert_eq!(
        item.topics()[0].key(),
        "a_very_long_topic_name_with_capitals"
    );
    assert_eq!(item.topics()[1].as_str(), "dance");
    let source = item.source().unwrap();
    assert_eq!(
        (source.as_str(), source.key()),
        ("Premier-League", "premier_league")
    );
    assert_eq!(*source, ward_core::feed::Name::new("premier_league"));
}

/// The item reader refuses what serde's derive refused: a field twice (even after a `null`),
/// an item that is not an object, a word that is not a string.
#[test]
fn repeated_fields_and_wrong_shapes_are_errors() {
    let cases = [
        (
            r#"{"id": "v", "kind": "video", "tags": ["a"], "tags": ["hate"]}"#,
            "duplicate field `tags`",
        ),
        (
            r#"{"id": "v", "kind": "video", "tags": null, "tags": ["hate"]}"#,
            "duplicate field `tags`",
        ),
        (
            r#"{"id": "v", "id": "w", "kind": "video"}"#,
            "duplicate field `id`",
        ),
        (
            r#"["v", "video"]"#,
            "invalid type: sequence, expected an item",
        ),
        (r#"{"id": 7, "kind": "video"}"#, "expected a string"),
        (
            r#"{"id": "v", "kind": "video", "tags": [7]}"#,
            "expected a string",
        ),
        (
            r#"{"id": "v", "kind": "video", "tags": "hate"}"#,
            "expected a list of words",
        ),
        (
            r#"{"id": "v", "kind": "video", "ratings": {"pegi": 12, "pegi": "18"}}"#,
            "duplicate field `pegi`",
        ),
    ];
    for (json, expected) in cases {
        let error = Item::from_json(json).unwrap_err();
        assert!(
            error.message.contains(expected),
            "{json}: {}",
            error.message
        );
    }
}

/// A rating written as a number is read as the text it is written as, whatever its form.
#[test]
fn numeric_ratings_read_as_their_text() {
    use ward_core::feed::{Rating, RatingSystem};
    for (value, expected) in [
        ("12", Some(Rating::Pegi12)),
        ("12.0", Some(Rating::Pegi12)),
        ("5", None),
        ("99999999999999999999", None),
    ] {
        let item = Item::from_json(&format!(
            r#"{{"id": "g", "kind": "video", "ratings": {{"pegi": {value}}}}}"#
        ))
        .unwrap();
        assert_eq!(item.ratings().get(RatingSystem::Pegi), expected, "{value}");
        if expected.is_none() {
            assert_eq!(item.ratings().unrecognised().len(), 1, "{value}");
        }
    }
}

// ---- The compact answer ---------------------------------------------------------------------

/// The compact answer as `write_json` writes it and as serde_json serializes it.
fn compact_both_ways(outcome: &FeedOutcome, items: &[Item]) -> (String, String) {
    let mut by_hand = Vec::new();
    outcome.compact(items).write_json(&mut by_hand).unwrap();
    let by_serde = serde_json::to_string(&outcome.compact(items)).unwrap();
    (String::from_utf8(by_hand).unwrap(), by_serde)
}

#[test]
fn the_compact_answer_written_by_hand_is_serde_jsons_byte_for_byte() {
    use ward_core::feed::{Codes, DriftReport, Held, HoldReason, Note, Removal};
    // Ids that need every kind of escape, and some that need none.
    let ids = [
        "plain-1",
        "quote\"d",
        "back\\slash",
        "new\nline",
        "tab\tand\u{1}ctl\u{1f}",
        "del\u{7f}",
        "ünïcødé-🦀",
        "slash/ok",
    ];
    let items: Vec<Item> = ids
        .iter()
        .map(|id| {
            item(&serde_json::json!({"id": id, "kind": "video", "assessed": true}).to_string())
        })
        .collect();
    let all = |n: usize| {
        let mut codes = Codes::<RemovalReason>::EMPTY;
        for reason in RemovalReason::ALL.iter().skip(n) {
            codes.insert(*reason);
        }
        codes
    };
    let outcome = FeedOutcome {
        kept: vec![0, 1, 2],
        removed: (0..ids.len() as u32)
            .map(|index| Removal {
                index,
                reasons: all(index as usize),
            })
            .collect(),
        held: HoldReason::ALL
            .iter()
            .zip(0u32..)
            .map(|(reason, index)| Held {
                index: index + 3,
                reasons: Codes::of(*reason),
            })
            .chain([Held {
                index: 7,
                reasons: HoldReason::ALL
                    .iter()
                    .fold(Codes::EMPTY, |codes, reason| codes.with(*reason)),
            }])
            .collect(),
        notes: (0..ids.len() as u32)
            .map(|index| Note {
                index,
                kinds: NoteKind::ALL
                    .iter()
                    .skip(index as usize % NoteKind::ALL.len())
                    .fold(Codes::EMPTY, |codes, kind| codes.with(*kind)),
            })
            .collect(),
        held_until: Some(at("2026-01-14T07:00:00Z")),
        drift: Some(DriftReport {
            score: 0.123_456_789,
            threshold: 0.5,
            drifted: false,
            capped: true,
            flagged: true,
            released: false,
            removed_by_cap: 3,
            sensitive_share: 1.0 / 3.0,
            sensitive_cap: 0.2,
            window_items: 17,
            drift_window: 50,
            anchor: AnchorSource::Declared,
        }),
        age: 11,
        unfiltered: false,
    };
    let (by_hand, by_serde) = compact_both_ways(&outcome, &items);
    assert_eq!(by_hand, by_serde);
    // Every code of every kind is in it, and the escapes are serde_json's.
    for code in RemovalReason::ALL.iter().map(|reason| reason.code()) {
        assert!(by_hand.contains(&format!("\"{code}\"")), "{code}");
    }
    for code in HoldReason::ALL.iter().map(|reason| reason.code()) {
        assert!(by_hand.contains(&format!("\"{code}\"")), "{code}");
    }
    for code in NoteKind::ALL.iter().map(|kind| kind.code()) {
        assert!(by_hand.contains(&format!("\"{code}\"")), "{code}");
    }
    assert!(
        by_hand.contains(r#""tab\tand\u0001ctl\u001f""#),
        "{by_hand}"
    );

    // An empty outcome, an adult's and the example catalogue's for a child.
    let (by_hand, by_serde) = compact_both_ways(&FeedOutcome::default(), &[]);
    assert_eq!(by_hand, by_serde);
    let catalogue = parse_catalogue(include_str!("../../../../examples/catalogue.jsonl")).unwrap();
    for age in [child(11), child(15), AgeStatus::Adult] {
        let outcome = run(age).outcome(&catalogue);
        let (by_hand, by_serde) = compact_both_ways(&outcome, &catalogue);
        assert_eq!(by_hand, by_serde);
    }
}
