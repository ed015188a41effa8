//! Parental controls: checked constructors, the JSON shape, and the usage rule (limit and
//! bedtime, one alert per local day, in the child's own time zone).

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use ward_core::controls::{Controls, ControlsError, Usage, UsageAlert, UsageState, usage};
use ward_core::policy::DailyWindow;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn limit(minutes: u32) -> Controls {
    Controls::new::<&str>(Some(minutes), None, &[], &[], &[]).unwrap()
}

fn bedtime(window: &str) -> Controls {
    Controls::new::<&str>(None, DailyWindow::parse(window), &[], &[], &[]).unwrap()
}

/// Runs the usage rule over `(now, minutes used today)` in order, carrying the state, and
/// returns the alerts each call raised.
fn alerts(
    controls: &Controls,
    time_zone: &TimeZone,
    calls: &[(&str, u32)],
) -> Vec<Vec<UsageAlert>> {
    let mut state = UsageState::default();
    calls
        .iter()
        .map(|(now, used)| {
            let (answer, next) = usage(controls, time_zone, *used, at(now), state);
            // The state is stored between calls: make it go through JSON.
            state = serde_json::from_str(&serde_json::to_string(&next).unwrap()).unwrap();
            answer.alerts_to_raise
        })
        .collect()
}

#[test]
fn controls_refuse_more_minutes_than_a_day_has_and_empty_or_oversized_blocks() {
    assert_eq!(
        Controls::new::<&str>(Some(1441), None, &[], &[], &[]),
        Err(ControlsError::DailyMinutesOutOfRange { found: 1441 })
    );
    assert!(Controls::new::<&str>(Some(1440), None, &[], &[], &[]).is_ok());
    assert!(Controls::new::<&str>(Some(0), None, &[], &[], &[]).is_ok());
    assert!(matches!(
        Controls::new(None, None, &["horror", " "], &[], &[]),
        Err(ControlsError::EmptyBlock(_))
    ));
    let long = "x".repeat(129);
    assert!(matches!(
        Controls::new(None, None, &[], &[long.as_str()], &[]),
        Err(ControlsError::BlockTooLong { .. })
    ));
    let many: Vec<String> = (0..257).map(|i| format!("source-{i}")).collect();
    assert!(matches!(
        Controls::new(None, None, &[], &[], &many),
        Err(ControlsError::TooManyBlocks { .. })
    ));
    let past_midnight = DailyWindow {
        start_minute: 1500,
        end_minute: 420,
    };
    assert!(matches!(
        Controls::new::<&str>(None, Some(past_midnight), &[], &[], &[]),
        Err(ControlsError::Bedtime(_))
    ));
    let controls = Controls::new(None, None, &["horror", "horror"], &[], &[]).unwrap();
    assert_eq!(
        controls.blocked_tags().names().len(),
        1,
        "duplicates dropped"
    );
    assert!(!Controls::default().has_blocks());
}

#[test]
fn controls_round_trip_through_json_and_refuse_unknown_fields_and_bad_bedtimes() {
    let json = serde_json::json!({
        "daily_minutes": 90,
        "bedtime": "20:30-07:00",
        "blocked_tags": ["horror"],
        "blocked_topics": ["slime"],
        "blocked_sources": ["prank-channel"]
    });
    let controls: Controls = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(controls.daily_minutes(), Some(90));
    assert_eq!(controls.bedtime(), DailyWindow::parse("20:30-07:00"));
    assert_eq!(serde_json::to_value(&controls).unwrap(), json);
    let empty: Controls = serde_json::from_value(serde_json::json!({})).unwrap();
    assert_eq!(empty, Controls::default());
    for (bad, message) in [
        (
            serde_json::json!({"bedtime": "8pm-7am"}),
            "`bedtime` must be a window",
        ),
        (
            serde_json::json!({"daily_minutes": 5000}),
            "`daily_minutes` must be between 0 and 1440",
        ),
        (
            serde_json::json!({"blocked_tags": [""]}),
            "`blocked_tags` cannot hold an empty name",
        ),
        (
            serde_json::json!({"bed_time": "20:00-07:00"}),
            "unknown field `bed_time`",
        ),
    ] {
        let error = serde_json::from_value::<Controls>(bad.clone()).unwrap_err();
        assert!(error.to_string().contains(message), "{bad}: {error}");
    }
}

#[test]
fn minutes_left_count_down_and_the_limit_is_reached_at_zero() {
    let london = zone("Europe/London");
    let now = at("2026-01-14T16:00:00Z");
    let (answer, _) = usage(&limit(60), &london, 45, now, UsageState::default());
    assert_eq!(
        answer,
        Usage {
            minutes_left: Some(15),
            limit_reached: false,
            bedtime: false,
            alerts_to_raise: vec![]
        }
    );
    let (answer, _) = usage(&limit(60), &london, 75, now, UsageState::default());
    assert_eq!(answer.minutes_left, Some(0));
    assert!(answer.limit_reached);
    let (answer, _) = usage(
        &Controls::default(),
        &london,
        600,
        now,
        UsageState::default(),
    );
    assert_eq!(answer.minutes_left, None, "no limit set");
    assert!(!answer.limit_reached && answer.alerts_to_raise.is_empty());
}

#[test]
fn reaching_the_limit_raises_one_alert_per_local_day() {
    let london = zone("Europe/London");
    let raised = alerts(
        &limit(60),
        &london,
        &[
            ("2026-01-14T17:00:00Z", 59),
            ("2026-01-14T17:01:00Z", 60),
            ("2026-01-14T17:30:00Z", 61),
            ("2026-01-14T23:59:00Z", 90),
            // Past midnight in London: a new day, the service's count starts again.
            ("2026-01-15T00:01:00Z", 0),
            ("2026-01-15T18:00:00Z", 60),
            ("2026-01-15T19:00:00Z", 75),
        ],
    );
    assert_eq!(
        raised,
        vec![
            vec![],
            vec![UsageAlert::LimitReached],
            vec![],
            vec![],
            vec![],
            vec![UsageAlert::LimitReached],
            vec![],
        ]
    );
}

#[test]
fn the_local_day_is_the_childs_own() {
    // 03:00 and 06:00 UTC are both 15 January in London, but 22:00 on the 14th and 01:00 on
    // the 15th in New York: a New York child crosses midnight between them.
    let calls = [("2026-01-15T03:00:00Z", 60), ("2026-01-15T06:00:00Z", 60)];
    assert_eq!(
        alerts(&limit(60), &zone("Europe/London"), &calls),
        vec![vec![UsageAlert::LimitReached], vec![]]
    );
    assert_eq!(
        alerts(&limit(60), &zone("America/New_York"), &calls),
        vec![
            vec![UsageAlert::LimitReached],
            vec![UsageAlert::LimitReached]
        ]
    );
}

#[test]
fn bedtime_raises_one_alert_per_night_across_midnight() {
    let london = zone("Europe/London");
    let raised = alerts(
        &bedtime("21:00-07:00"),
        &london,
        &[
            ("2026-01-14T20:59:00Z", 0),
            ("2026-01-14T21:00:00Z", 0),
            ("2026-01-14T23:00:00Z", 0),
            // After midnight: still the night that began on the 14th.
            ("2026-01-15T01:00:00Z", 0),
            ("2026-01-15T06:59:00Z", 0),
            ("2026-01-15T07:00:00Z", 0),
            ("2026-01-15T21:30:00Z", 0),
            ("2026-01-16T02:00:00Z", 0),
        ],
    );
    assert_eq!(
        raised,
        vec![
            vec![],
            vec![UsageAlert::Bedtime],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![UsageAlert::Bedtime],
            vec![],
        ]
    );
    let (answer, state) = usage(
        &bedtime("21:00-07:00"),
        &london,
        0,
        at("2026-01-15T01:00:00Z"),
        UsageState::default(),
    );
    assert!(answer.bedtime);
    assert_eq!(
        state.bedtime_alerted_on,
        Some(date(2026, 1, 14)),
        "dated by its evening"
    );
}

#[test]
fn bedtime_is_in_the_childs_own_time_zone_and_both_alerts_can_come_at_once() {
    let both =
        Controls::new::<&str>(Some(30), DailyWindow::parse("21:00-07:00"), &[], &[], &[]).unwrap();
    // 12:30 UTC is 21:30 in Tokyo and 12:30 in London.
    let now = at("2026-01-14T12:30:00Z");
    let (tokyo, _) = usage(&both, &zone("Asia/Tokyo"), 30, now, UsageState::default());
    assert!(tokyo.bedtime && tokyo.limit_reached);
    assert_eq!(
        tokyo.alerts_to_raise,
        vec![UsageAlert::LimitReached, UsageAlert::Bedtime]
    );
    let (london, _) = usage(
        &both,
        &zone("Europe/London"),
        10,
        now,
        UsageState::default(),
    );
    assert!(!london.bedtime);
    assert!(london.alerts_to_raise.is_empty());
}

/// The limits are the API document's, on the names as sent: duplicates count towards the
/// most a list holds, length is in characters, and "blank" is JSON Schema's `\s` (so U+0085 is
/// a name and U+FEFF is blank, as the document's `\S` pattern says).
#[test]
fn block_lists_are_judged_as_sent() {
    let blocks = |names: &[String]| Controls::new(None, None, names, &[], &[]);
    let copies = vec!["horror".to_owned(); 257];
    assert!(matches!(
        blocks(&copies),
        Err(ControlsError::TooManyBlocks { found: 257, .. })
    ));
    assert!(blocks(&copies[..256]).is_ok());
    let wide = "é".repeat(128);
    assert!(
        blocks(std::slice::from_ref(&wide)).is_ok(),
        "128 characters, 256 bytes"
    );
    assert!(matches!(
        blocks(&[format!("{wide}é")]),
        Err(ControlsError::BlockTooLong { .. })
    ));
    assert!(matches!(
        blocks(&[" \u{FEFF}\u{3000}".to_owned()]),
        Err(ControlsError::EmptyBlock(_))
    ));
    assert!(blocks(&["\u{85}".to_owned()]).is_ok());
}

#[test]
fn a_bedtime_is_two_digits_a_part_and_nothing_else() {
    for text in [
        "+1:00-07:00",
        "21:+5-07:00",
        "2100-0700",
        "7:00-21:00",
        "21:00-07:00 ",
    ] {
        assert_eq!(DailyWindow::parse(text), None, "{text}");
    }
    assert!(DailyWindow::parse("21:00-07:00").is_some());
}
