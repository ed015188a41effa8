//! Writes a `POST /v1/feed/filter` body over `ward_bench::feed::feed_jsonl(n)`, for timing
//! the feed guard over HTTP (`bench/feed.sh`):
//! `cargo run --release -p ward-bench --example generate_feed -- 500 kid-1 compact /tmp/feed.json`.
//! ANSWER is `compact`, `full`, or `none` (no `answer` field: the body an older ward takes).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [n_items, child, answer, path] = args.as_slice() else {
        eprintln!("usage: generate_feed N_ITEMS CHILD compact|full|none OUT_FILE");
        return ExitCode::from(2);
    };
    let Ok(n_items) = n_items.parse::<usize>() else {
        eprintln!("N_ITEMS must be a number, not {n_items:?}");
        return ExitCode::from(2);
    };
    let answer = match answer.as_str() {
        "compact" | "full" => format!(r#","answer":"{answer}""#),
        "none" => String::new(),
        other => {
            eprintln!("ANSWER is compact, full or none, not {other:?}");
            return ExitCode::from(2);
        }
    };
    let jsonl = ward_bench::feed::feed_jsonl(n_items);
    let items: Vec<&str> = jsonl.lines().collect();
    let body = format!(
        r#"{{"child":"{child}"{answer},"items":[{}]}}"#,
        items.join(",")
    );
    if let Err(error) = std::fs::write(path, &body) {
        eprintln!("cannot write {path}: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!("{path}: {n_items} items, {} bytes", body.len());
    ExitCode::SUCCESS
}
