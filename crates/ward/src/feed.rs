//! `ward feed FILE.jsonl --age 11`: a compliance lead's quick check of a catalogue. Reads the
//! catalogue (one item JSON per line) and optionally a policy, runs it through `ward-core`'s
//! feed guard as one feed in file order, and prints what was removed and why (counts per
//! reason, then every item), what was held back, the notes, and the drift score.
//!
//! Glue only: reading files, the clock (unless `--at` pins it), printing. Every rule lives in
//! `ward_core::feed`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ward_core::age::AgeBand;
use ward_core::child::AgeStatus;
use ward_core::controls::local_time;
use ward_core::feed::{
    DriftState, FeedChild, FeedOutcome, FeedPolicy, FeedResponse, Item, filter, parse_catalogue,
};
use ward_core::policy::Policy;
use ward_core::span::{LineIndex, Span};

/// `ward feed`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct FeedArgs {
    /// The catalogue: one item JSON per line (JSON Lines), as in RUNTIME.md.
    file: PathBuf,
    /// The child's age in years, or `unknown` (judged at the policy's min_age). 18 or more is
    /// an adult, who sees everything.
    #[arg(long, value_parser = parse_age)]
    age: AgeArg,
    /// The service's ward.toml: its [feed] table, min_age and time zone. Without it, the
    /// defaults of RULES.md (Europe/London, min_age 0).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FeedFormat::Human)]
    format: FeedFormat,
    /// The moment to judge at, RFC 3339 (`2026-01-14T21:30:00Z`); now by default. Quiet
    /// hours depend on it.
    #[arg(long)]
    at: Option<Timestamp>,
    /// The child's own IANA time zone; the policy's by default.
    #[arg(long)]
    time_zone: Option<String>,
    /// Declared interests anchoring the drift score, comma-separated; without them the
    /// anchor is learned from the first items served.
    #[arg(long, value_delimiter = ',')]
    interests: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FeedFormat {
    /// A summary for people: counts per reason, then every item.
    Human,
    /// The guard's response with a summary, as JSON.
    Json,
}

#[derive(Debug, Clone, Copy)]
enum AgeArg {
    Years(u8),
    Unknown,
}

fn parse_age(text: &str) -> Result<AgeArg, String> {
    if text == "unknown" {
        return Ok(AgeArg::Unknown);
    }
    match text.parse::<u8>() {
        Ok(years) if years <= 130 => Ok(AgeArg::Years(years)),
        _ => Err(format!(
            "`{text}` is not an age: give whole years (0 to 130) or `unknown`"
        )),
    }
}

impl AgeArg {
    fn status(self) -> AgeStatus {
        match self {
            Self::Unknown => AgeStatus::Unknown,
            Self::Years(years) => match AgeBand::of_age(years) {
                Some(band) => AgeStatus::Child {
                    age: Some(years),
                    band,
                },
                None => AgeStatus::Adult,
            },
        }
    }

    fn describe(self, min_age: u8) -> String {
        match self {
            Self::Unknown => format!("a user of unknown age (judged as a child of {min_age})"),
            Self::Years(years) if years >= 18 => format!("an adult of {years}"),
            Self::Years(years) => format!("a child of {years}"),
        }
    }
}

/// Runs `ward feed`. Exit 0 when the catalogue was judged (whatever was removed); errors
/// (unreadable files, a bad line, a bad policy) are returned for `main` to print, exit 2.
pub(crate) fn run(args: &FeedArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|error| format!("cannot read `{}`: {error}", args.file.display()))?;
    let items =
        parse_catalogue(&text).map_err(|error| format!("`{}` {error}", args.file.display()))?;
    let (policy, policy_label) = match &args.policy {
        Some(path) => (load_policy(path)?, format!("`{}`", path.display())),
        None => (FeedPolicy::default(), "RULES.md defaults".to_owned()),
    };
    let own_zone = match &args.time_zone {
        Some(name) => Some(TimeZone::get(name).map_err(|_| {
            format!("unknown time zone `{name}`: use an IANA name like `Europe/London`")
        })?),
        None => None,
    };
    let drift = if args.interests.is_empty() {
        DriftState::new()
    } else {
        DriftState::with_interests(&args.interests).map_err(|error| error.to_string())?
    };
    let now = args.at.unwrap_or_else(Timestamp::now);
    let mut child = FeedChild::new(args.age.status());
    if let Some(zone) = &own_zone {
        child = child.in_time_zone(zone);
    }
    let (outcome, _) = filter(&policy, &child, None, drift, &items, now);
    let response = outcome.explain(&policy, None, &items).response();

    let zone = own_zone.as_ref().unwrap_or(policy.time_zone());
    let context = Context {
        file: &args.file,
        who: args.age.describe(policy.min_age()),
        policy_label,
        zone_name: zone.iana_name().unwrap_or("UTC").to_owned(),
        local: {
            let local = zone.to_datetime(now);
            format!("{} {:02}:{:02}", local.date(), local.hour(), local.minute())
        },
        zone,
        now,
        interests: !args.interests.is_empty(),
    };
    let rendered = match args.format {
        FeedFormat::Human => human(&context, &items, &outcome, &response),
        FeedFormat::Json => json(&context, &items, &outcome, response)?,
    };
    crate::print(&rendered)?;
    Ok(ExitCode::SUCCESS)
}

fn load_policy(path: &Path) -> Result<FeedPolicy, String> {
    let source = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    let policy = Policy::parse(&source).map_err(|error| {
        let at = error
            .span
            .map(|span: Span| {
                let position = LineIndex::new(&source).position(span.start);
                format!(":{}:{}", position.line, position.column)
            })
            .unwrap_or_default();
        format!(
            "`{}{at}` is not a valid ward.toml: {} (run `ward check` on it)",
            path.display(),
            error.message
        )
    })?;
    FeedPolicy::new(&policy).map_err(|error| format!("`{}`: {error}", path.display()))
}

struct Context<'a> {
    file: &'a Path,
    who: String,
    policy_label: String,
    zone_name: String,
    local: String,
    zone: &'a TimeZone,
    now: Timestamp,
    interests: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn human(
    context: &Context<'_>,
    items: &[Item],
    outcome: &FeedOutcome,
    response: &FeedResponse,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ward feed: {}, {} judged for {}",
        context.file.display(),
        plural(items.len(), "item", "items"),
        context.who
    );
    let _ = writeln!(
        out,
        "policy: {}; time zone {}; at {} local time",
        context.policy_label, context.zone_name, context.local
    );
    let _ = writeln!(
        out,
        "\nkept {}, removed {}, held back {}",
        outcome.kept.len(),
        outcome.removed.len(),
        outcome.held.len()
    );
    if outcome.unfiltered {
        let _ = writeln!(
            out,
            "An adult: nothing is filtered (only the notes below apply)."
        );
    }

    let counts = outcome.reason_counts();
    if !counts.is_empty() {
        let _ = writeln!(out, "\nRemoved, by reason (an item may have several):");
        let width = counts
            .iter()
            .map(|(r, _)| r.to_string().len())
            .max()
            .unwrap_or(0);
        for (reason, count) in &counts {
            let _ = writeln!(out, "  {:width$}  {count:>4}", reason.to_string());
        }
        let _ = writeln!(out, "\nRemoved items:");
        for removed in &response.removed {
            let _ = writeln!(out, "  {} ({})", removed.id, removed.kind.as_str());
            for reason in &removed.reasons {
                let _ = writeln!(out, "      {}: {}", reason.code, reason.message);
            }
        }
    }

    if !response.held.is_empty() {
        let until = response
            .held_until
            .map(|until| {
                let (date, minute) = local_time(context.zone, until);
                format!(
                    "; they may be sent from {date} {:02}:{:02} local time",
                    minute / 60,
                    minute % 60
                )
            })
            .unwrap_or_default();
        let _ = writeln!(out, "\nHeld back (not removed{until}):");
        for held in &response.held {
            let _ = writeln!(out, "  {}", held.id);
            for reason in &held.reasons {
                let _ = writeln!(out, "      {}: {}", reason.code, reason.message);
            }
        }
    }

    if !response.notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for note in &response.notes {
            let _ = writeln!(out, "  {}", note.id);
            for sentence in &note.notes {
                let _ = writeln!(out, "      {}: {}", sentence.code, sentence.message);
            }
        }
    }

    if let Some(drift) = &outcome.drift {
        let _ = writeln!(
            out,
            "\nDrift (the catalogue read as one feed, in file order{}): {}",
            if context.interests {
                ", anchored on --interests"
            } else {
                ""
            },
            drift.message()
        );
    }
    out
}

fn json(
    context: &Context<'_>,
    items: &[Item],
    outcome: &FeedOutcome,
    response: FeedResponse,
) -> Result<String, String> {
    let reasons: serde_json::Map<String, serde_json::Value> = outcome
        .reason_counts()
        .into_iter()
        .map(|(reason, count)| (reason.to_string(), count.into()))
        .collect();
    let mut value = serde_json::to_value(response)
        .map_err(|error| format!("cannot render the result as JSON: {error}"))?;
    if let Some(map) = value.as_object_mut() {
        map.insert("file".into(), context.file.display().to_string().into());
        map.insert("at".into(), context.now.to_string().into());
        map.insert("time_zone".into(), context.zone_name.clone().into());
        map.insert(
            "summary".into(),
            serde_json::json!({
                "items": items.len(),
                "kept": outcome.kept.len(),
                "removed": outcome.removed.len(),
                "held": outcome.held.len(),
                "reasons": reasons,
            }),
        );
    }
    Ok(format!("{value:#}\n"))
}
