//! Hostile inputs: random bytes and mutated files as `dpia.toml` and as the previous report
//! give an error or a report, never a panic; whatever the ledger holds, the replay counts it
//! without panicking.

use proptest::prelude::*;
use ward_report::{Inputs, build, to_html};

fn policy() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/clipstream.toml"
    ))
    .unwrap()
}

fn dpia_example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/dpia/clipstream.toml"
    ))
    .unwrap()
}

fn run(dpia: Option<&str>, previous: Option<&str>) {
    let policy = policy();
    if let Ok(report) = build(Inputs {
        policy_path: "ward.toml",
        policy_source: &policy,
        dpia_source: dpia,
        previous,
        audit: None,
        ledger: None,
        as_of: None,
    }) {
        to_html(&report).unwrap();
    }
}

#[test]
fn the_shipped_dpia_example_applies() {
    let policy = policy();
    let dpia = dpia_example();
    let report = build(Inputs {
        policy_path: "ward.toml",
        policy_source: &policy,
        dpia_source: Some(&dpia),
        previous: None,
        audit: None,
        ledger: None,
        as_of: None,
    })
    .unwrap();
    assert!(report.sign_off.is_some());
    assert!(
        report
            .risks
            .iter()
            .all(|r| r.bands.iter().all(|b| b.decision != "proposed")),
        "the example decides every risk Clipstream's policy proposes"
    );
}

proptest! {
    #[test]
    fn random_bytes_as_dpia_or_previous_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        run(Some(&text), None);
        run(None, Some(&text));
    }

    #[test]
    fn mutated_dpia_files_never_panic(cut in 0usize..4000, insert in "[\\[\\]\"=,\n a-z0-9\u{a0}-]{0,12}") {
        let dpia = dpia_example();
        let mut at = cut.min(dpia.len());
        while !dpia.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{insert}{}", &dpia[..at], &dpia[at..]);
        run(Some(&mutated), None);
    }

    #[test]
    fn any_ledger_payload_replays_without_panic(payloads in proptest::collection::vec("\\PC{0,80}", 0..30), kinds in proptest::collection::vec(0usize..4, 0..30)) {
        let mut replay = ward_report::evidence::Replay::new();
        for (idx, payload) in payloads.iter().enumerate() {
            let kind = kinds.get(idx).copied().unwrap_or(0);
            let payload = match kind {
                0 => payload.clone(),
                1 => format!("{{\"type\":\"consent_given\",\"record\":{payload}}}"),
                2 => format!("{{\"type\":\"setting_changed\",\"setting\":\"s\",\"from\":\"on\",\"to\":\"off\",\"by\":{{\"kind\":\"{payload}\"}}}}"),
                _ => format!("{{\"type\":\"child_created\",\"band\":\"{}\"}}", payload.replace('"', "")),
            };
            replay.push(&ward_store::LedgerEntry {
                id: idx as i64 + 1,
                seq: idx as i64 + 1,
                at_us: (idx as i64) * 1_000_000 - 5_000_000,
                child_id: Some(format!("c{}", idx % 3)),
                kind: "x".to_owned(),
                payload,
                payload_hash: String::new(),
                prev_hash: String::new(),
                entry_hash: String::new(),
                erased: idx % 7 == 6,
            });
        }
        let evidence = replay.finish();
        prop_assert_eq!(evidence.entries, payloads.len() as u64);
    }
}
