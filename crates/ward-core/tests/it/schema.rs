//! Schema errors: each stops the check (exit 2) and says where, by line and column.

use ward_core::report::{CheckReport, Verdict};

use crate::support::{policy, purpose, service};

/// Checks `source` expecting one schema error at `line:column` whose message contains `needle`.
#[track_caller]
fn schema_error(source: &str, line: usize, column: usize, needle: &str) {
    let report = CheckReport::new("ward.toml", source);
    assert_eq!(
        report.verdict(false),
        Verdict::SchemaError,
        "expected a schema error in:\n{source}"
    );
    assert_eq!(report.findings.len(), 1);
    let error = &report.findings[0];
    assert_eq!(error.finding.rule, "schema");
    assert!(
        error.finding.message.contains(needle),
        "message `{}` lacks `{needle}`",
        error.finding.message
    );
    assert_eq!(
        (error.start.line, error.start.column),
        (line, column),
        "position of `{}`",
        error.finding.message
    );
}

fn base() -> String {
    policy(service(), [purpose("feed", "content_recommendation")], "")
}

/// `base()` with the first line starting with `prefix` replaced by `line`.
fn with_line(prefix: &str, line: &str) -> String {
    let source = base();
    let mut replaced = false;
    let lines: Vec<String> = source
        .lines()
        .map(|l| {
            if !replaced && l.starts_with(prefix) {
                replaced = true;
                line.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(replaced, "no line starts with `{prefix}`");
    lines.join("\n")
}

// The base policy's layout, for reading the positions below (18 lines, the last blank, so a
// table appended after "\n" starts on line 20):
//  1 [service]            7 (blank)             13 setting
//  2 name                 8 [[purpose]]         14 lawful_basis
//  3 kind                 9 id                  15 safeguards
//  4 min_age             10 name                16 explain
//  5 jurisdictions       11 category            17 ask_adult
//  6 parental_consent…   12 description         18 (blank)

#[test]
fn the_base_layout_is_as_the_comments_say() {
    let source = base();
    let lines: Vec<&str> = source.lines().collect();
    assert_eq!(lines[3], "min_age = 13");
    assert_eq!(lines[8], "id = \"feed\"");
    assert_eq!(lines[10], "category = \"content_recommendation\"");
    assert_eq!(lines.len(), 18);
    assert_eq!(
        lines[15],
        "explain = \"What switching this on does with your data, in words for your age.\""
    );
}

#[test]
fn a_toml_syntax_error_is_located() {
    schema_error(&with_line("min_age", "min_age = = 13"), 4, 11, "");
    schema_error("[service\nname = \"x\"\n", 1, 9, "");
}

#[test]
fn an_unknown_key_is_never_ignored() {
    schema_error(
        &with_line("min_age", "min_agee = 13"),
        4,
        1,
        "unknown field `min_agee`",
    );
    schema_error(
        &with_line("category", "categroy = \"content_recommendation\""),
        11,
        1,
        "unknown field `categroy`",
    );
    schema_error(
        &format!("{}\n[feeds]\nprecaution = \"keep\"\n", base()),
        20,
        2,
        "unknown field `feeds`",
    );
}

#[test]
fn a_wrong_type_is_located() {
    schema_error(
        &with_line("min_age", "min_age = \"13\""),
        4,
        11,
        "invalid type",
    );
    schema_error(
        &format!("{}\n[feed]\ndrift_window = \"fifty\"\n", base()),
        21,
        16,
        "invalid type",
    );
}

#[test]
fn an_unknown_enum_value_lists_the_valid_ones() {
    schema_error(
        &with_line("category", "category = \"recommendations\""),
        11,
        12,
        "expected one of `behavioural_advertising`",
    );
    schema_error(
        &with_line("kind", "kind = \"videos\""),
        3,
        8,
        "unknown variant `videos`",
    );
    schema_error(
        &format!("{}\n[feed]\nprecaution = \"ignore\"\n", base()),
        21,
        14,
        "unknown variant `ignore`",
    );
}

#[test]
fn an_unknown_jurisdiction_is_refused() {
    schema_error(
        &with_line("jurisdictions", "jurisdictions = [\"GB\", \"UK\"]"),
        5,
        24,
        "unknown jurisdiction `UK`",
    );
    schema_error(
        &with_line("jurisdictions", "jurisdictions = []"),
        5,
        17,
        "cannot be empty",
    );
}

#[test]
fn a_missing_required_field_points_at_its_table() {
    let source = with_line("category", "");
    schema_error(&source, 8, 1, "missing field `category`");
    schema_error(
        "[service]\nname = \"x\"\nkind = \"game\"\n",
        1,
        1,
        "missing field `min_age`",
    );
    schema_error(
        "[defaults]\nprofile_visibility = \"private\"\n",
        1,
        1,
        "missing field `service`",
    );
}

#[test]
fn duplicates_are_schema_errors() {
    let twice = policy(
        service(),
        [
            purpose("feed", "content_recommendation"),
            purpose("feed", "analytics"),
        ],
        "",
    );
    schema_error(
        &twice,
        20,
        6,
        "duplicate purpose id `feed`: it is already declared on line 9",
    );
    let data = "[[data]]\nid = \"likes\"\ncollected_for = \"feed\"\n\n[[data]]\nid = \"likes\"\ncollected_for = \"feed\"\n";
    schema_error(
        &format!("{}{data}", base()),
        24,
        6,
        "duplicate data id `likes`",
    );
    let cookies = "[[cookie]]\nname = \"c\"\npurposes = [\"feed\"]\n\n[[cookie]]\nname = \"c\"\npurposes = [\"feed\"]\n";
    schema_error(
        &format!("{}{cookies}", base()),
        24,
        8,
        "duplicate cookie name `c`",
    );
}

#[test]
fn values_out_of_range_are_refused() {
    schema_error(
        &with_line("min_age", "min_age = 18"),
        4,
        11,
        "between 0 and 17",
    );
    schema_error(
        &with_line("min_age", "min_age = -1"),
        4,
        11,
        "between 0 and 17",
    );
    schema_error(
        &format!(
            "{}\n[[purpose]]\nid = \"x\"\nname = \"x\"\ncategory = \"analytics\"\ndescription = \"d\"\nlawful_basis = \"consent\"\ntcf_purposes = [5, 12]\n",
            base()
        ),
        26,
        20,
        "between 1 and 11",
    );
    let feed = |line: &str| format!("{}\n[feed]\n{line}\n", base());
    schema_error(&feed("drift_threshold = 1.5"), 21, 19, "between 0 and 1");
    schema_error(&feed("sensitive_cap = -0.1"), 21, 17, "between 0 and 1");
    schema_error(&feed("drift_window = 0"), 21, 16, "between 1 and 10000");
    schema_error(&feed("quiet_hours = \"22-7\""), 21, 15, "quiet_hours");
    schema_error(
        &feed("quiet_hours = \"25:00-07:00\""),
        21,
        15,
        "quiet_hours",
    );
    schema_error(
        &format!("{}\n[consent]\nrequest_ttl_days = 0\n", base()),
        21,
        20,
        "between 1 and 90",
    );
}

#[test]
fn ids_must_be_kebab_case() {
    schema_error(
        &with_line("id", "id = \"Recommend_Videos\""),
        9,
        6,
        "not kebab-case",
    );
    schema_error(&with_line("id", "id = \"\""), 9, 6, "cannot be empty");
}

#[test]
fn an_unknown_age_band_or_time_zone_is_refused() {
    schema_error(
        &with_line("explain", "explain = { \"6-10\" = \"Hi.\" }"),
        16,
        11,
        "unknown age band `6-10`",
    );
    schema_error(
        &with_line("kind", "kind = \"game\"\ntime_zone = \"Europe/Londn\""),
        4,
        13,
        "unknown time zone",
    );
}

#[test]
fn self_declared_age_is_never_trusted_for_adults() {
    schema_error(
        &with_line(
            "kind",
            "kind = \"game\"\nadult_age_methods = [\"verified\", \"self_declared\"]",
        ),
        4,
        34,
        "`self_declared` cannot be trusted",
    );
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let policy = ward_core::policy::Policy::parse(&base()).unwrap();
    assert_eq!(policy.service.time_zone, "Europe/London");
    assert_eq!(policy.feed, ward_core::policy::FeedConfig::default());
    assert_eq!(policy.consent.request_ttl_days, 7);
    assert_eq!(
        policy
            .feed
            .quiet_hours
            .map(|w| (w.start_minute, w.end_minute)),
        Some((22 * 60, 7 * 60))
    );
}
