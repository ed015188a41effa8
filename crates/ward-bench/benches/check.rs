//! `ward check` on generated policies: parse alone, then parse + every rule + JSON report.
//! The target (issue 3): a 5,000-purpose policy well under a second.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark setup fails loudly"
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ward_bench::generated_policy;
use ward_core::policy::Policy;
use ward_core::report::CheckReport;

fn check(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    for n_purposes in [50, 500, 1_000, 5_000] {
        let source = generated_policy(n_purposes);
        assert!(
            CheckReport::new("ward.toml", &source).findings.is_empty(),
            "the generated policy is compliant"
        );
        group.throughput(Throughput::Elements(n_purposes as u64));
        group.bench_with_input(
            BenchmarkId::new("parse", n_purposes),
            &source,
            |b, source| b.iter(|| Policy::parse(source).map(|p| p.purposes.len())),
        );
        group.bench_with_input(
            BenchmarkId::new("parse+lint+json", n_purposes),
            &source,
            |b, source| b.iter(|| CheckReport::new("ward.toml", source).to_json()),
        );
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
