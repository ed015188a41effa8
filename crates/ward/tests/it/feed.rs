//! `ward feed`: the real binary on the shipped example catalogue and on files written here.

use super::{scratch, stdout, ward};

/// 16:00 in London in winter: outside quiet hours.
const AFTERNOON: &str = "2026-01-14T16:00:00Z";

#[test]
fn feed_summarises_the_example_catalogue_for_an_eleven_year_old() {
    let output = ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "11",
        "--at",
        AFTERNOON,
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.starts_with("ward feed: examples/catalogue.jsonl, 98 items judged for a child of 11"),
        "{text}"
    );
    assert!(text.contains("kept 36, removed 62, held back 0"), "{text}");
    assert!(text.contains("Removed, by reason (an item may have several):"));
    for line in [
        "  age_rating          20",
        "  harm_tag            21",
        "  ad_category         12",
        "  precaution          19",
        "  inactivity_nudge     2",
        "  adult_contact        3",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(text.contains(
        "  film-saw (video)\n      age_rating: rated 18 (BBFC): for 18 and over, and this child is judged at 11\n      harm_tag: tagged `graphic_violence`: never shown to children\n"
    ));
    assert!(text.contains("advisory_rating: rated PG (BBFC): advisory for under 8s"));
    assert!(text.contains(
        "unrecognised_rating: `NR` is not a rating ward recognises under MPA: treated as no rating"
    ));
    assert!(text.contains("Drift (the catalogue read as one feed, in file order): on topic"));
    // The vocabulary: other spellings of harm words, words ward does not know, and
    // `explicit: false` alone.
    for expected in [
        "  post-vent-art-self-harm (post)\n      harm_tag: tagged `self_harm`: never shown to children\n",
        "  ad-beer-brand (ad)\n      ad_category: an advert for `alcohol`: the CAP Code allows it to no one under 18\n",
        "  post-cat-compilation (video)\n      precaution: a video tagged `funny` (a tag ward does not know): removed as a precaution (`[feed] unknown_tags = \"remove\"`)\n",
        "unknown_ad_category: `toys` is not an ad category ward knows",
        "`explicit: false` says it is not explicit, not which ages it suits",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn feed_holds_notifications_back_in_quiet_hours_and_says_until_when() {
    let output = ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "11",
        "--at",
        "2026-01-14T22:30:00Z",
    ]);
    let text = stdout(&output);
    assert!(text.contains("kept 31, removed 62, held back 5"), "{text}");
    assert!(
        text.contains(
            "Held back (not removed; they may be sent from 2026-01-15 07:00 local time):"
        )
    );
    // In Tokyo it is 07:30 the next morning: nothing is held.
    let tokyo = stdout(&ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "11",
        "--at",
        "2026-01-14T22:30:00Z",
        "--time-zone",
        "Asia/Tokyo",
    ]));
    assert!(tokyo.contains("held back 0"), "{tokyo}");
}

#[test]
fn feed_json_has_a_summary_and_every_reason() {
    let output = ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "11",
        "--at",
        AFTERNOON,
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["summary"]["items"], 98);
    assert_eq!(json["summary"]["kept"], 36);
    assert_eq!(json["summary"]["reasons"]["harm_tag"], 21);
    assert_eq!(json["age"], 11);
    assert_eq!(json["time_zone"], "Europe/London");
    let removed = json["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 62);
    let pro_ana = removed
        .iter()
        .find(|r| r["id"] == "post-pro-ana-tips")
        .unwrap();
    let codes: Vec<&str> = pro_ana["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["harm_tag", "precaution"]);
    assert!(json["drift"]["score"].as_f64().unwrap() < 0.35);
}

#[test]
fn feed_for_an_adult_filters_nothing() {
    let text = stdout(&ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "18",
        "--at",
        AFTERNOON,
    ]));
    assert!(text.contains("kept 98, removed 0, held back 0"), "{text}");
    assert!(text.contains("An adult: nothing is filtered"));
    assert!(text.contains("advisory_rating"), "the notes still apply");
}

#[test]
fn feed_reads_the_policy_and_judges_unknown_users_at_its_minimum_age() {
    let dir = scratch("feed-policy");
    let policy = dir.join("ward.toml");
    std::fs::write(
        &policy,
        "[service]\nname = \"Games\"\nkind = \"game\"\nmin_age = 13\n\n[feed]\nprecaution = \"keep\"\nquiet_hours = \"\"\n",
    )
    .unwrap();
    let text = stdout(&ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "unknown",
        "--policy",
        policy.to_str().unwrap(),
        "--at",
        "2026-01-14T23:00:00Z",
    ]));
    assert!(
        text.contains("judged for a user of unknown age (judged as a child of 13)"),
        "{text}"
    );
    // Precaution keep: nothing removed as unassessed; no quiet hours: nothing held.
    assert!(!text.contains("  precaution "), "{text}");
    assert!(text.contains("unassessed_kept"), "{text}");
    assert!(text.contains("held back 0"), "{text}");
    assert!(
        !text.contains("film-jurassic-world (video)"),
        "PG-13 is fine at 13"
    );
}

#[test]
fn a_bad_catalogue_line_exits_two_naming_the_line() {
    let dir = scratch("feed-bad-line");
    let file = dir.join("catalogue.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"a\", \"kind\": \"video\", \"assessed\": true}\n\n{\"id\": \"b\", \"kind\": \"video\", \"rating\": {\"bbfc\": \"15\"}}\n",
    )
    .unwrap();
    let output = ward(&["feed", file.to_str().unwrap(), "--age", "11"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("catalogue.jsonl` line 3, column "),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `rating`"), "{stderr}");
    assert!(stdout(&output).is_empty());
}

#[test]
fn a_catalogue_naming_one_id_twice_exits_two_with_both_lines() {
    let dir = scratch("feed-duplicate-id");
    let file = dir.join("catalogue.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"v1\", \"kind\": \"video\", \"ratings\": {\"bbfc\": \"U\"}}\n{\"id\": \"v2\", \"kind\": \"post\", \"assessed\": true}\n\n{\"id\": \"v1\", \"kind\": \"video\", \"ratings\": {\"bbfc\": \"18\"}}\n",
    )
    .unwrap();
    let output = ward(&["feed", file.to_str().unwrap(), "--age", "11"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "catalogue.jsonl` line 4: id `v1` is already used on line 1: ids must be unique"
        ),
        "{stderr}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn feed_refuses_a_missing_file_a_bad_age_and_a_bad_policy() {
    let missing = ward(&["feed", "no/such.jsonl", "--age", "11"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read `no/such.jsonl`"));
    let bad_age = ward(&["feed", "examples/catalogue.jsonl", "--age", "eleven"]);
    assert_eq!(bad_age.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_age.stderr).contains("`eleven` is not an age"));
    let dir = scratch("feed-bad-policy");
    let policy = dir.join("ward.toml");
    std::fs::write(
        &policy,
        "[service]\nname = \"x\"\nkind = \"game\"\nmin_age = 8\n\n[feed]\nquiet_hours = \"late\"\n",
    )
    .unwrap();
    let output = ward(&[
        "feed",
        "examples/catalogue.jsonl",
        "--age",
        "11",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ward.toml:7:15` is not a valid ward.toml"),
        "{stderr}"
    );
}
