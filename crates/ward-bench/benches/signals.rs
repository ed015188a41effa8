//! The ad-tech signals of one child (TC string, Additional Consent, GPP with `tcfeuv2` and
//! `usnat`, OpenRTB `bcat`, Google's age treatment) side by side with one `decide`, in one
//! run, on the same children.
//!
//! The workload: `examples/questworld.toml` serving GB, DE and the US (one advertising vendor
//! with a publisher restriction, an Additional Consent provider), 1,024 children (ages 8 to 17,
//! adults, unknown ages; GB, DE, US; advertising off, waiting for a parent, or on with the
//! right consent), a quarter of the calls with GPC. "decide" is one `decide` for the
//! advertising purpose; "signals" is `signals::compute` (which decides every mapped purpose
//! itself and writes every string); "tc_string" is encoding the TC model alone.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark setup fails loudly"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use ward_core::child::{AgeEvidence, AgeRecord};
use ward_core::compiled::CompiledPolicy;
use ward_core::decide::{Request, decide};
use ward_core::ids::{ChildId, ParentId};
use ward_core::jurisdiction::Jurisdiction;
use ward_core::policy::{AgeMethod, ParentalConsentMethod, Policy};
use ward_core::settings::{Acknowledged, Child, SwitchOn};
use ward_core::signals::{SignalsPolicy, compute};

const N_CHILDREN: usize = 1024;

fn now() -> Timestamp {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn policy() -> CompiledPolicy {
    let source = include_str!("../../../examples/questworld.toml").replace(
        "jurisdictions = [\"GB\", \"DE\"]",
        "jurisdictions = [\"GB\", \"DE\", \"US\"]",
    );
    CompiledPolicy::new(Policy::parse(&source).unwrap()).unwrap()
}

fn children(policy: &CompiledPolicy) -> Vec<Child> {
    let jurisdictions = ["GB", "DE", "US"].map(|code| Jurisdiction::parse(code).unwrap());
    let mum = ParentId::parse("mum").unwrap();
    (0..N_CHILDREN)
        .map(|idx| {
            let id = ChildId::parse(&format!("kid-{idx}")).unwrap();
            let (mut child, _) = Child::new(id, policy, now());
            if idx % 9 != 0 {
                let age = if idx % 7 == 0 {
                    30
                } else {
                    13 + (idx % 5) as u8
                };
                child.set_age_record(
                    policy,
                    AgeRecord {
                        method: AgeMethod::Verified,
                        evidence: AgeEvidence::Age(age),
                        at: now(),
                    },
                    now(),
                );
            }
            child
                .set_jurisdiction(policy, jurisdictions[idx % 3], now())
                .unwrap();
            if idx % 3 != 0
                && let Ok((SwitchOn::Intervention(shown), _)) =
                    child.request_on(policy, "personalised-ads", now())
                && let Ok((Acknowledged::PendingParent(_), _)) =
                    child.acknowledge(policy, &shown, now())
                && idx % 2 == 0
            {
                child.link_parent(policy, mum.clone(), now()).unwrap();
                child
                    .approve(
                        policy,
                        "personalised-ads",
                        &mum,
                        ParentalConsentMethod::EmailPlus,
                        now(),
                    )
                    .unwrap();
            }
            child
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let policy = policy();
    let signals_policy = SignalsPolicy::new(&policy);
    let children = children(&policy);
    let ads = policy.purpose_idx("personalised-ads").unwrap();
    let with_ads = children
        .iter()
        .filter(|child| {
            compute(&policy, &signals_policy, &child.state, false, now()).personalised_ads
        })
        .count();
    eprintln!("{with_ads} of {N_CHILDREN} children have personalised ads allowed");
    let models: Vec<_> = children
        .iter()
        .map(|child| {
            compute(&policy, &signals_policy, &child.state, false, now())
                .tc_model
                .unwrap()
        })
        .collect();

    let mut group = c.benchmark_group("signals_per_child");
    group.throughput(Throughput::Elements(N_CHILDREN as u64));
    group.bench_function("decide", |b| {
        b.iter(|| {
            for (idx, child) in children.iter().enumerate() {
                black_box(decide(
                    &policy,
                    &child.state,
                    &Request {
                        purpose: Some(ads),
                        data: &[],
                        gpc: idx % 4 == 0,
                    },
                    now(),
                ));
            }
        });
    });
    group.bench_function("signals", |b| {
        b.iter(|| {
            for (idx, child) in children.iter().enumerate() {
                black_box(compute(
                    &policy,
                    &signals_policy,
                    &child.state,
                    idx % 4 == 0,
                    now(),
                ));
            }
        });
    });
    group.bench_function("tc_string", |b| {
        b.iter(|| {
            for model in &models {
                black_box(model.encode());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
