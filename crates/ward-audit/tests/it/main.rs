//! The audit harness against the "Must show": the rabbit hole reproduced without the
//! guard, none of it with; paired runs identical up to the guard; the drift cap held.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::Path;

use jiff::civil::{Date, Time};
use ward_audit::catalogue::{Catalogue, GenerateSpec, generate};
use ward_audit::metrics::{RunMetrics, Trace, detector_audit, measure};
use ward_audit::persona::{Persona, PersonaKind, UserModel};
use ward_audit::recommender::{Background, Builtin, Recommender};
use ward_audit::simulate::{Anchor, Guard, RunSettings, run};
use ward_core::age::AgeBand;
use ward_core::feed::FeedPolicy;
use ward_core::policy::{FeedConfig, Policy};

struct World {
    feed: FeedPolicy,
    catalogue: Catalogue,
    background: Background,
    settings: RunSettings,
}

fn world(items: usize, slates: u32) -> World {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("examples/clipstream.toml")).unwrap();
    let policy = Policy::parse(&text).unwrap();
    let feed = FeedPolicy::new(&policy).unwrap();
    let catalogue = Catalogue::parse(
        &generate(&GenerateSpec {
            items,
            ..GenerateSpec::default()
        }),
        &feed,
    )
    .unwrap();
    let background = Background::new(&catalogue, 11, 300, 30);
    let settings = RunSettings {
        slates,
        slate_size: 10,
        overfetch: 3,
        model: UserModel::default(),
        start_date: Date::constant(2026, 1, 5),
        session_starts: vec![Time::constant(16, 30, 0, 0), Time::constant(21, 15, 0, 0)],
        time_zone: feed.time_zone().clone(),
    };
    World {
        feed,
        catalogue,
        background,
        settings,
    }
}

impl World {
    fn persona(&self, band: AgeBand, age: u8, kind: PersonaKind, seed: u64) -> Persona {
        Persona::new(&self.catalogue, &self.feed, band, age, kind, seed, None)
    }

    fn trace(&self, persona: &Persona, recommender: &dyn Recommender, guarded: bool) -> Trace {
        let guard = Guard {
            policy: &self.feed,
            controls: None,
            anchor: Anchor::Learned,
        };
        let mut trace = Trace::default();
        run(
            &self.catalogue,
            persona,
            recommender,
            guarded.then_some(guard),
            &self.settings,
            &mut [&mut trace],
        )
        .unwrap();
        trace
    }

    fn metrics(
        &self,
        persona: &Persona,
        recommender: &dyn Recommender,
        guarded: bool,
    ) -> RunMetrics {
        let trace = self.trace(persona, recommender, guarded);
        measure(&trace, &self.catalogue, persona, self.feed.drift_window())
    }

    fn builtin(&self, builtin: Builtin) -> Box<dyn Recommender> {
        builtin.build(&self.catalogue, &self.background)
    }
}

#[test]
fn the_guard_off_twice_gives_identical_runs() {
    let world = world(1_000, 60);
    for builtin in Builtin::ALL {
        let recommender = world.builtin(builtin);
        let persona = world.persona(AgeBand::From13To15, 13, PersonaKind::Vulnerable, 3);
        let first = world.trace(&persona, recommender.as_ref(), false);
        let second = world.trace(&persona, recommender.as_ref(), false);
        assert_eq!(first, second, "{builtin:?}");
        assert_eq!(first.views.len(), 600);
    }
}

#[test]
fn paired_runs_differ_only_by_what_the_guard_did() {
    let world = world(1_000, 60);
    let recommender = world.builtin(Builtin::Engagement);
    // An adult: the guard filters nothing, so the two runs are one.
    let adult = world.persona(AgeBand::From16To17, 18, PersonaKind::Vulnerable, 2);
    assert_eq!(
        world.trace(&adult, recommender.as_ref(), false).views,
        world.trace(&adult, recommender.as_ref(), true).views
    );
    // A child: identical until the first slate the guard removed something from.
    let child = world.persona(AgeBand::From13To15, 13, PersonaKind::Vulnerable, 2);
    let off = world.trace(&child, recommender.as_ref(), false);
    let on = world.trace(&child, recommender.as_ref(), true);
    let first_removal = on
        .slates
        .iter()
        .position(|s| s.removed > 0)
        .expect("the guard removed something");
    let before: usize = on.slates[..first_removal]
        .iter()
        .map(|s| s.shown as usize)
        .sum();
    assert_eq!(off.views[..before], on.views[..before]);
    assert_ne!(off.views, on.views);
}

#[test]
fn unguarded_engagement_serves_a_vulnerable_13_year_old_harm_fast_and_more_than_a_standard_one() {
    let world = world(6_000, 150);
    let recommender = world.builtin(Builtin::Engagement);
    let (mut vulnerable_share, mut standard_share) = (0.0, 0.0);
    for seed in 1..=5 {
        let vulnerable = world.metrics(
            &world.persona(AgeBand::From13To15, 13, PersonaKind::Vulnerable, seed),
            recommender.as_ref(),
            false,
        );
        let first = vulnerable.first_harmful.expect("harmful content reached");
        assert!(
            first.items <= 150,
            "seed {seed}: first harmful item at {}",
            first.items
        );
        vulnerable_share += vulnerable.harmful_share;
        standard_share += world
            .metrics(
                &world.persona(AgeBand::From13To15, 13, PersonaKind::Standard, seed),
                recommender.as_ref(),
                false,
            )
            .harmful_share;
    }
    assert!(standard_share > 0.0, "the standard persona sees some too");
    assert!(
        vulnerable_share / standard_share > 1.0,
        "vulnerable {vulnerable_share} ÷ standard {standard_share}"
    );
}

#[test]
fn with_the_guard_no_child_persona_is_shown_primary_priority_content() {
    let world = world(1_500, 120);
    for builtin in Builtin::ALL {
        let recommender = world.builtin(builtin);
        for band in [
            AgeBand::From6To9,
            AgeBand::From10To12,
            AgeBand::From13To15,
            AgeBand::From16To17,
        ] {
            for kind in PersonaKind::ALL {
                let persona = world.persona(band, band.lowest_age().max(8), kind, 4);
                let off = world.metrics(&persona, recommender.as_ref(), false);
                let on = world.metrics(&persona, recommender.as_ref(), true);
                assert_eq!(on.primary_priority, 0, "{builtin:?} {band} {kind:?}");
                assert_eq!(on.priority, 0, "{builtin:?} {band} {kind:?}");
                if builtin == Builtin::Engagement && kind == PersonaKind::Vulnerable {
                    assert!(
                        off.primary_priority > 0,
                        "{band}: the run without the guard is shown some"
                    );
                }
            }
        }
    }
}

#[test]
fn once_drift_is_flagged_a_window_under_the_cap_stays_within_sensitive_cap() {
    let world = world(6_000, 150);
    let recommender = world.builtin(Builtin::Engagement);
    let mut capped = 0;
    for seed in 1..=4 {
        let persona = world.persona(AgeBand::From13To15, 13, PersonaKind::Vulnerable, seed);
        let on = world.metrics(&persona, recommender.as_ref(), true);
        if let Some(share) = on.capped_window_share {
            capped += 1;
            assert!(
                share <= world.feed.sensitive_cap() + 1e-9,
                "seed {seed}: {share} over the cap {}",
                world.feed.sensitive_cap()
            );
        }
    }
    assert!(
        capped > 0,
        "the cap came into force and held a whole window"
    );
}

#[test]
fn the_detector_audit_counts_false_alarms_and_catches_per_threshold() {
    let world = world(6_000, 150);
    let recommender = world.builtin(Builtin::Engagement);
    let config = FeedConfig {
        sensitive_cap: 1.0,
        ..FeedConfig::default()
    };
    let detector = FeedPolicy::from_config(&config, 8, world.feed.time_zone().clone());
    let guard = Guard {
        policy: &detector,
        controls: None,
        anchor: Anchor::Learned,
    };
    let mut runs = Vec::new();
    for seed in 1..=4 {
        for kind in PersonaKind::ALL {
            let persona = world.persona(AgeBand::From13To15, 13, kind, seed);
            let mut trace = Trace::default();
            run(
                &world.catalogue,
                &persona,
                recommender.as_ref(),
                Some(guard),
                &world.settings,
                &mut [&mut trace],
            )
            .unwrap();
            runs.push((
                kind,
                measure(&trace, &world.catalogue, &persona, detector.drift_window()),
            ));
        }
    }
    let borrowed: Vec<(PersonaKind, &RunMetrics)> = runs.iter().map(|(k, m)| (*k, m)).collect();
    let (points, _) = detector_audit(&borrowed, &[0.2, 0.35, 0.5, 0.7, 0.99]);
    assert_eq!(points.len(), 5);
    // A higher threshold never fires more often.
    assert!(
        points.windows(2).all(|w| w[0].catch_rate >= w[1].catch_rate
            && w[0].false_alarm_rate >= w[1].false_alarm_rate),
        "{points:?}"
    );
    // The score drifts for every persona on a broad catalogue: the default fires for the
    // standard personas too (the issue's own observation), and nothing fires at 0.99.
    assert!(
        points[1].false_alarm_rate > 0.0 && points[1].catch_rate > 0.0,
        "{points:?}"
    );
    assert_eq!(
        (points[4].false_alarm_rate, points[4].catch_rate),
        (0.0, 0.0),
        "{points:?}"
    );
}
