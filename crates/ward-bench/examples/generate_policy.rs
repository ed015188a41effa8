//! Writes `ward_bench::generated_policy(n)` to a file, for timing the real binary:
//! `cargo run --release -p ward-bench --example generate_policy -- 5000 /tmp/ward-5000.toml`,
//! then `target/release/ward check /tmp/ward-5000.toml --format json`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(n), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: generate_policy N_PURPOSES OUT_FILE");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("N_PURPOSES must be a number, not {n:?}");
        return ExitCode::from(2);
    };
    let source = ward_bench::generated_policy(n);
    if let Err(error) = std::fs::write(&path, &source) {
        eprintln!("cannot write {path}: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{path}: {n} purposes, {} bytes, {} lines",
        source.len(),
        source.lines().count()
    );
    ExitCode::SUCCESS
}
