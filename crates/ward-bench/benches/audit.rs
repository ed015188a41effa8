//! `ward audit`'s simulation: personas × slates per second, without and with the guard, side
//! by side in one run. 100 personas (13-year-olds, standard and vulnerable alternating, a
//! seed each) × 200 slates of 10 from a generated 10,000-item catalogue, the engagement-
//! maximising recommender asked for 30 items a slate, on two threads (this machine's cores).
//! The target size, 1,000 personas, is ten of these: personas are independent, so it
//! scales linearly (the figures in `docs/benchmarks.md` say so). No observer is attached:
//! this is the loop, recommender and guard; the metrics read a trace afterwards.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark setup fails loudly"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::civil::{Date, Time};
use ward_audit::catalogue::{Catalogue, GenerateSpec, generate};
use ward_audit::persona::{Persona, PersonaKind, UserModel};
use ward_audit::recommender::{Background, Builtin, Recommender};
use ward_audit::simulate::{Anchor, Guard, RunSettings, run};
use ward_core::age::AgeBand;
use ward_core::feed::FeedPolicy;
use ward_core::policy::Policy;

const PERSONAS: u64 = 100;
const SLATES: u32 = 200;
const THREADS: u64 = 2;

fn simulate(
    catalogue: &Catalogue,
    personas: &[Persona],
    recommender: &dyn Recommender,
    guard: Option<Guard<'_>>,
    settings: &RunSettings,
) {
    std::thread::scope(|scope| {
        for part in personas.chunks(personas.len().div_ceil(THREADS as usize)) {
            scope.spawn(move || {
                for persona in part {
                    run(catalogue, persona, recommender, guard, settings, &mut []).unwrap();
                }
            });
        }
    });
}

fn bench(c: &mut Criterion) {
    let policy = Policy::parse(include_str!("../../../examples/clipstream.toml")).unwrap();
    let feed = FeedPolicy::new(&policy).unwrap();
    let text = generate(&GenerateSpec {
        items: 10_000,
        ..GenerateSpec::default()
    });
    let catalogue = Catalogue::parse(&text, &feed).unwrap();
    let background = Background::new(&catalogue, 7, 2_500, 30);
    let recommender = Builtin::Engagement.build(&catalogue, &background);
    let personas: Vec<Persona> = (0..PERSONAS)
        .map(|seed| {
            let kind = if seed % 2 == 0 {
                PersonaKind::Standard
            } else {
                PersonaKind::Vulnerable
            };
            Persona::new(&catalogue, &feed, AgeBand::From13To15, 13, kind, seed, None)
        })
        .collect();
    let settings = RunSettings {
        slates: SLATES,
        slate_size: 10,
        overfetch: 3,
        model: UserModel::default(),
        start_date: Date::constant(2026, 1, 5),
        session_starts: vec![Time::constant(16, 30, 0, 0), Time::constant(21, 15, 0, 0)],
        time_zone: feed.time_zone().clone(),
    };
    let guard = Guard {
        policy: &feed,
        controls: None,
        anchor: Anchor::Learned,
    };
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PERSONAS * u64::from(SLATES)));
    group.bench_function("100 personas x 200 slates, no guard", |b| {
        b.iter(|| {
            simulate(
                &catalogue,
                &personas,
                recommender.as_ref(),
                None,
                black_box(&settings),
            )
        });
    });
    group.bench_function("100 personas x 200 slates, with the guard", |b| {
        b.iter(|| {
            simulate(
                &catalogue,
                &personas,
                recommender.as_ref(),
                Some(guard),
                black_box(&settings),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
