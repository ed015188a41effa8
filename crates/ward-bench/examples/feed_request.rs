//! Runs what `POST /v1/feed/filter` runs in process for one body, once, for counting its
//! instructions under callgrind (wall-clock timings on a shared machine are noise):
//! `valgrind --tool=callgrind --toggle-collect='*feed_request*handle*'
//! target/release/examples/feed_request /tmp/feed.json [/tmp/answer.json]`, with a body from
//! `generate_feed` (the answer, when a second path is given, is written there to compare).
//!
//! The sequence mirrors `ward-server`'s `routes/feed.rs` (`filter`, `scan_request`): the body
//! checked as UTF-8, read by `feed::Scanner`, checked for a repeated id, judged by the guard
//! (the bench's policy, child, blocks and drift state, as `benches/feed.rs` sets them up), and
//! the compact answer written. Only the fast path is mirrored: a body the scanner refuses is
//! an error here, not a fall back to serde. Setup happens outside `handle`, so a callgrind
//! run toggled on it counts the request alone.
#![allow(clippy::expect_used, reason = "a measuring tool fails loudly")]

use std::hint::black_box;
use std::process::ExitCode;

use jiff::Timestamp;
use ward_bench::feed::FAVOURITES;
use ward_core::age::AgeBand;
use ward_core::child::AgeStatus;
use ward_core::controls::Controls;
use ward_core::feed::{
    DriftState, FeedChild, FeedOutcome, FeedPolicy, Item, Scanner, duplicate_id, filter_into,
};

/// The server's allocator (`ward`'s `main.rs`), so allocation is counted as it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The most items one call may carry, as the server's `MAX_ITEMS`.
const MAX_ITEMS: usize = 10_000;

/// What the guard reads beside the items, built once.
struct Setup {
    policy: FeedPolicy,
    child: FeedChild<'static>,
    controls: Controls,
    drift: DriftState,
    now: Timestamp,
}

fn setup() -> Setup {
    let config = ward_bench::feed::bench_config();
    let time_zone = jiff::tz::TimeZone::get("Europe/London").expect("a time zone");
    let age = 11;
    let band = AgeBand::of_age(age).expect("an age band");
    Setup {
        policy: FeedPolicy::from_config(&config, 0, time_zone),
        child: FeedChild::new(AgeStatus::Child {
            age: Some(age),
            band,
        }),
        controls: Controls::new(
            None,
            None,
            &["horror", "asmr"][..],
            &["slime"][..],
            &["prank-channel"][..],
        )
        .expect("controls"),
        drift: DriftState::with_interests(FAVOURITES).expect("a drift state"),
        now: "2026-01-14T12:00:00Z".parse().expect("a timestamp"),
    }
}

/// The request's items and answer as `scan_request` reads them (`None`: not the fast path).
fn scan(text: &str) -> Option<(Vec<Item>, bool)> {
    let mut scanner = Scanner::new(text);
    let (mut child, mut items, mut compact) = (None, None, None);
    scanner.object(|scanner, key| {
        let repeated = match key {
            "child" => child.replace(scanner.string()?).is_some(),
            "items" => items.replace(scanner.items(MAX_ITEMS)?).is_some(),
            "answer" => {
                let answer = match scanner.string()? {
                    "compact" => true,
                    "full" => false,
                    _ => return None,
                };
                compact.replace(answer).is_some()
            }
            _ => return None,
        };
        (!repeated).then_some(())
    })?;
    child?;
    scanner.is_at_end().then_some(())?;
    Some((items?, compact.unwrap_or_default()))
}

/// One request, body to answer bytes.
#[inline(never)]
fn handle(setup: &mut Setup, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| error.to_string())?;
    let (items, compact) = scan(text).ok_or("the scanner refuses this body")?;
    if !compact {
        return Err("only the compact answer is mirrored".to_owned());
    }
    if let Some(duplicate) = duplicate_id(&items) {
        return Err(format!("`{}` is there twice", duplicate.id));
    }
    let mut outcome = FeedOutcome::default();
    filter_into(
        &setup.policy,
        &setup.child,
        Some(&setup.controls),
        Some(&mut setup.drift),
        &items,
        setup.now,
        &mut outcome,
    );
    let mut json = Vec::with_capacity(64 + 40 * items.len());
    outcome
        .compact(&items)
        .write_json(&mut json)
        .map_err(|error| error.to_string())?;
    Ok(json)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), answer_path, None) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: feed_request BODY_FILE [ANSWER_FILE]");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut setup = setup();
    // WARD_REPEAT=N: the request N more times, warm, and the median wall time of one, for
    // the ratio of the HTTP figure to the in-process one (not for callgrind).
    let repeat: usize = std::env::var("WARD_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if repeat > 0 {
        let mut times: Vec<std::time::Duration> = (0..repeat)
            .map(|_| {
                let started = std::time::Instant::now();
                let answer = handle(&mut setup, black_box(&bytes));
                let took = started.elapsed();
                black_box(answer).ok();
                took
            })
            .collect();
        times.sort();
        eprintln!("median of {repeat}: {:?}", times[repeat / 2]);
    }
    match handle(&mut setup, black_box(&bytes)) {
        Ok(json) => {
            eprintln!("{} answer bytes", json.len());
            if let Some(answer_path) = answer_path
                && let Err(error) = std::fs::write(answer_path, &json)
            {
                eprintln!("cannot write {answer_path}: {error}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
