//! Property tests over the parser and the whole check: random bytes and mutated valid files
//! never panic, and every span a finding carries lies inside the source.
//!
//! CI runs the default case count (a short smoke); a long run sets `PROPTEST_CASES`, see
//! `docs/testing.md`.

use proptest::prelude::*;
use ward_core::report::CheckReport;

fn examples() -> Vec<String> {
    let dir = format!("{}/../../examples", env!("CARGO_MANIFEST_DIR"));
    let mut sources: Vec<String> = ["clipstream.toml", "questworld.toml", "chatterbox.toml"]
        .iter()
        .map(|name| std::fs::read_to_string(format!("{dir}/{name}")).unwrap())
        .collect();
    sources.push(ward_core::STARTER_POLICY.to_owned());
    sources
}

/// Runs everything a user can reach from a source: parse, lint, and all three renderers.
fn check_everything(source: &str) {
    let report = CheckReport::new("fuzz.toml", source);
    for located in &report.findings {
        let span = located.finding.span;
        assert!(
            span.start <= span.end && span.end <= source.len(),
            "span {span:?} outside the source"
        );
        assert!(
            source.is_char_boundary(span.start) && source.is_char_boundary(span.end),
            "span {span:?} cuts a character"
        );
    }
    let _ = report.to_human(false);
    let _ = report.to_json();
    let _ = report.to_sarif();
}

#[test]
fn wide_whitespace_found_by_fuzzing_renders_without_panic() {
    // Found by a 1,000,000-case run: a no-break space trimmed away left a span ending inside
    // the character, and the human report panicked.
    for source in ["[\u{a0}]", "a = \u{a0}", "[service]\nname = \u{3000}\n"] {
        check_everything(source);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Replace { at: usize, text: String },
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let text = prop_oneof![
        Just(String::new()),
        Just("\"".to_owned()),
        Just("[[purpose]]\n".to_owned()),
        Just("= ".to_owned()),
        Just("on".to_owned()),
        Just("-1".to_owned()),
        Just("ü".to_owned()),
        Just("\u{a0}".to_owned()),
        Just("\u{3000}".to_owned()),
        Just("\n".to_owned()),
        Just("{ \"6-9\" = 1 }".to_owned()),
        "[ -~]{0,12}",
        ".{0,4}",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), text.clone()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), text).prop_map(|(at, text)| Mutation::Replace { at, text }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn floor_char_boundary(source: &str, at: usize) -> usize {
    let mut at = at % (source.len() + 1);
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(source: &str, mutation: &Mutation) -> String {
    match mutation {
        Mutation::Delete { at, len } => {
            let start = floor_char_boundary(source, *at);
            let end = floor_char_boundary(source, (start + len).min(source.len()));
            format!("{}{}", &source[..start], &source[end.max(start)..])
        }
        Mutation::Insert { at, text } => {
            let at = floor_char_boundary(source, *at);
            format!("{}{text}{}", &source[..at], &source[at..])
        }
        Mutation::Replace { at, text } => {
            let start = floor_char_boundary(source, *at);
            let end = floor_char_boundary(source, (start + text.len()).min(source.len()));
            format!("{}{text}{}", &source[..start], &source[end.max(start)..])
        }
        Mutation::SwapLines { a, b } => {
            let mut lines: Vec<&str> = source.lines().collect();
            if !lines.is_empty() {
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
            }
            lines.join("\n")
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_valid_files_never_panic(
        example_idx in 0usize..4,
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut source = examples()[example_idx].clone();
        for mutation in &mutations {
            source = apply(&source, mutation);
        }
        check_everything(&source);
    }
}
