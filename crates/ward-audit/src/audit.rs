//! One audit, end to end: the spec's personas × seeds × recommenders, each run without the
//! guard, with it, and once more for the detector audit (the guard with the cap never
//! removing, see [`crate::metrics::detector_audit`]); then the summaries, into an
//! [`AuditResult`]. Jobs run on a few threads; their results go back in job order, so the
//! result does not depend on the threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use ward_core::age::AgeBand;
use ward_core::controls::{Controls, ControlsError};
use ward_core::feed::{FeedPolicy, FeedPolicyError};
use ward_core::policy::{FeedConfig, Policy};

use crate::catalogue::{Catalogue, CatalogueError, HarmCategory};
use crate::metrics::{RunMetrics, Trace, detector_audit, measure, ratio, summarise};
use crate::persona::{Persona, PersonaKind, UserModel};
use crate::recommender::{Background, Recommender, RecommenderError};
use crate::report::{
    AuditResult, BandResult, CatalogueSummary, DetectorResult, Hashes, KindResult, PairRatio,
    PolicySummary, RecommenderResult, Verdicts,
};
use crate::rng::{SimRng, hash_text, mix};
use crate::simulate::{Guard, RunSettings, run};
use crate::spec::Spec;

/// What an audit runs on. The caller reads the files; nothing here does.
pub struct AuditInput<'a> {
    /// The checked spec.
    pub spec: &'a Spec,
    /// Its text, for the hash.
    pub spec_text: &'a str,
    /// The policy.
    pub policy: &'a Policy,
    /// Its text, for the hash.
    pub policy_text: &'a str,
    /// The catalogue as JSONL (a generated one too), for the items and the hash.
    pub catalogue_text: &'a str,
    /// Where the catalogue came from, for the report.
    pub catalogue_label: String,
    /// The spec's `[[http]]` recommenders, in order (built by the caller, at the edge).
    pub http: Vec<Box<dyn Recommender>>,
    /// ward's version.
    pub ward_version: &'a str,
    /// Threads to run jobs on (at least 1).
    pub threads: usize,
}

/// Told as runs finish (a progress bar, at the edge).
pub trait Progress: Sync {
    /// The audit will take `runs` runs.
    fn begin(&self, _runs: u64) {}
    /// One more run finished.
    fn advance(&self) {}
}

impl Progress for () {}

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The policy's guard cannot be built.
    #[error("the policy's feed guard: {0}")]
    Policy(#[from] FeedPolicyError),
    /// The catalogue cannot be used.
    #[error("the catalogue: {0}")]
    Catalogue(#[from] CatalogueError),
    /// A band the policy does not admit.
    #[error("band `{band}` is below the policy's min_age {min_age}: it admits {admitted}")]
    Band {
        /// The band.
        band: AgeBand,
        /// The policy's min_age.
        min_age: u8,
        /// The bands it admits.
        admitted: String,
    },
    /// The spec's parental controls are not valid controls.
    #[error("[parental]: {0}")]
    Controls(#[from] ControlsError),
    /// A recommender failed.
    #[error("recommender `{name}` failed for persona `{persona}`: {message}")]
    Recommender {
        /// Its name.
        name: String,
        /// The persona it was asked for.
        persona: String,
        /// What went wrong.
        message: String,
    },
}

fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The age a band is audited at: its youngest age the policy admits.
pub fn audited_age(band: AgeBand, min_age: u8) -> u8 {
    band.lowest_age().max(min_age)
}

struct Job {
    recommender: usize,
    band: AgeBand,
    kind: PersonaKind,
    seed: u64,
}

struct JobResult {
    off: RunMetrics,
    on: RunMetrics,
    detector: RunMetrics,
}

/// Runs an audit.
pub fn run_audit(
    input: &AuditInput<'_>,
    progress: &dyn Progress,
) -> Result<AuditResult, AuditError> {
    let spec = input.spec;
    let policy = input.policy;
    let feed = FeedPolicy::new(policy)?;
    let detector_config = FeedConfig {
        sensitive_cap: 1.0,
        ..policy.feed.clone()
    };
    let detector_feed = FeedPolicy::from_config(
        &detector_config,
        policy.service.min_age,
        feed.time_zone().clone(),
    );
    let catalogue = Catalogue::parse(input.catalogue_text, &feed)?;
    let min_age = policy.service.min_age;
    let admitted: Vec<AgeBand> = AgeBand::admitted_from(min_age)
        .filter(|b| *b != AgeBand::UpTo5)
        .collect();
    let bands = match &spec.bands {
        None => admitted.clone(),
        Some(bands) => {
            for band in bands {
                if !admitted.contains(band) {
                    return Err(AuditError::Band {
                        band: *band,
                        min_age,
                        admitted: admitted
                            .iter()
                            .map(|b| b.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
            bands.clone()
        }
    };
    let controls = match &spec.parental {
        None => None,
        Some(parental) => Some(Controls::new(
            None,
            None,
            &parental.blocked_tags,
            &parental.blocked_topics,
            &parental.blocked_sources,
        )?),
    };
    let background_users = (catalogue.content().len() / 4).clamp(300, 3_000);
    let background = Background::new(
        &catalogue,
        mix(spec.first_seed, &[hash_text("background")]),
        background_users,
        30,
    );
    let mut recommenders: Vec<Box<dyn Recommender>> = spec
        .recommenders
        .iter()
        .map(|b| b.build(&catalogue, &background))
        .collect();
    let http_names: Vec<String> = input.http.iter().map(|r| r.name().to_owned()).collect();
    // The caller's recommenders are moved in behind the built-ins.
    let mut http = Vec::new();
    for recommender in &input.http {
        http.push(recommender.as_ref());
    }
    let settings = RunSettings {
        slates: spec.slates,
        slate_size: spec.slate_size,
        overfetch: spec.overfetch,
        model: UserModel {
            session_minutes: spec.session_minutes,
            ..UserModel::default()
        },
        start_date: spec.start_date,
        session_starts: spec.session_starts.clone(),
        time_zone: feed.time_zone().clone(),
    };
    let all: Vec<&dyn Recommender> = recommenders
        .iter_mut()
        .map(|r| &**r as &dyn Recommender)
        .chain(http)
        .collect();
    let mut jobs = Vec::new();
    for recommender in 0..all.len() {
        for band in &bands {
            for kind in PersonaKind::ALL {
                for seed in spec.first_seed..spec.first_seed + u64::from(spec.seeds) {
                    jobs.push(Job {
                        recommender,
                        band: *band,
                        kind,
                        seed,
                    });
                }
            }
        }
    }
    progress.begin(jobs.len() as u64 * 3);
    let guard = Guard {
        policy: &feed,
        controls: controls.as_ref(),
        anchor: spec.anchor,
    };
    let detector_guard = Guard {
        policy: &detector_feed,
        ..guard
    };
    let run_job = |job: &Job| -> Result<JobResult, AuditError> {
        let recommender = all[job.recommender];
        let switch_back = match job.kind {
            PersonaKind::Vulnerable => spec.switch_back_after,
            PersonaKind::Standard => None,
        };
        let persona = Persona::new(
            &catalogue,
            &feed,
            job.band,
            audited_age(job.band, min_age),
            job.kind,
            job.seed,
            switch_back,
        );
        let one = |guard: Option<Guard<'_>>| -> Result<RunMetrics, AuditError> {
            let mut trace = Trace::default();
            run(
                &catalogue,
                &persona,
                recommender,
                guard,
                &settings,
                &mut [&mut trace],
            )
            .map_err(|RecommenderError(message)| AuditError::Recommender {
                name: recommender.name().to_owned(),
                persona: persona.id.clone(),
                message,
            })?;
            progress.advance();
            Ok(measure(&trace, &catalogue, &persona, feed.drift_window()))
        };
        Ok(JobResult {
            off: one(None)?,
            on: one(Some(guard))?,
            detector: one(Some(detector_guard))?,
        })
    };
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<JobResult, AuditError>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..input.threads.max(1) {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(at) else { break };
                    let result = run_job(job);
                    let failed = result.is_err();
                    if let Ok(mut slot) = results[at].lock() {
                        *slot = Some(result);
                    }
                    if failed {
                        // Stop handing out work: the audit fails anyway.
                        next.store(jobs.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut done: Vec<JobResult> = Vec::with_capacity(jobs.len());
    for slot in results {
        match slot.into_inner().ok().flatten() {
            Some(Ok(result)) => done.push(result),
            Some(Err(error)) => return Err(error),
            // A job not run: another failed first and its error is returned above, in order.
            None => {}
        }
    }
    if done.len() != jobs.len() {
        return Err(AuditError::Recommender {
            name: "audit".to_owned(),
            persona: String::new(),
            message: "a job did not finish".to_owned(),
        });
    }
    let mut rng = SimRng::derived(spec.first_seed, &[hash_text("bootstrap")]);
    let mut recommender_results = Vec::new();
    let names: Vec<String> = all.iter().map(|r| r.name().to_owned()).collect();
    for (rec_idx, name) in names.iter().enumerate() {
        let mut band_results = Vec::new();
        let mut detector_runs: Vec<(PersonaKind, &RunMetrics)> = Vec::new();
        for band in &bands {
            let pick = |kind: PersonaKind| -> Vec<&JobResult> {
                jobs.iter()
                    .zip(&done)
                    .filter(|(job, _)| {
                        job.recommender == rec_idx && job.band == *band && job.kind == kind
                    })
                    .map(|(_, result)| result)
                    .collect()
            };
            let standard = pick(PersonaKind::Standard);
            let vulnerable = pick(PersonaKind::Vulnerable);
            for result in standard.iter() {
                detector_runs.push((PersonaKind::Standard, &result.detector));
            }
            for result in vulnerable.iter() {
                detector_runs.push((PersonaKind::Vulnerable, &result.detector));
            }
            let kind_result = |results: &[&JobResult], rng: &mut SimRng| KindResult {
                off: summarise(&results.iter().map(|r| &r.off).collect::<Vec<_>>(), rng),
                on: summarise(&results.iter().map(|r| &r.on).collect::<Vec<_>>(), rng),
            };
            let pair = |f: &dyn Fn(&JobResult) -> f64, rng: &mut SimRng| {
                let top: Vec<f64> = vulnerable.iter().map(|r| f(r)).collect();
                let bottom: Vec<f64> = standard.iter().map(|r| f(r)).collect();
                ratio(&top, &bottom, rng)
            };
            let ratios = PairRatio {
                harmful_off: pair(&|r| r.off.harmful_share, &mut rng),
                harmful_on: pair(&|r| r.on.harmful_share, &mut rng),
                self_harm_suicide_off: pair(&|r| r.off.self_harm_suicide_share, &mut rng),
                sensitive_off: pair(&|r| r.off.sensitive_share, &mut rng),
                sensitive_on: pair(&|r| r.on.sensitive_share, &mut rng),
            };
            band_results.push(BandResult {
                band: band.as_str(),
                age: audited_age(*band, min_age),
                standard: kind_result(&standard, &mut rng),
                vulnerable: kind_result(&vulnerable, &mut rng),
                vulnerable_over_standard: ratios,
            });
        }
        let (points, recommended) = detector_audit(&detector_runs, &spec.drift_thresholds);
        recommender_results.push(RecommenderResult {
            name: name.clone(),
            http: http_names.contains(name),
            bands: band_results,
            detector: DetectorResult {
                points,
                recommended_threshold: recommended,
                policy_threshold: feed.drift_threshold(),
            },
        });
    }
    let verdicts = Verdicts::from_results(&recommender_results, feed.sensitive_cap());
    let metas = catalogue.metas();
    let catalogue_summary = CatalogueSummary {
        source: input.catalogue_label.clone(),
        items: catalogue.len(),
        content: catalogue.content().len(),
        notifications: catalogue.notifications().len(),
        topics: catalogue.topics().len(),
        sensitive: metas
            .iter()
            .filter(|m| m.sensitive && m.kind.is_content())
            .count(),
        by_category: HarmCategory::ALL
            .iter()
            .map(|c| {
                (
                    c.code(),
                    metas.iter().filter(|m| m.category == Some(*c)).count(),
                )
            })
            .collect(),
    };
    Ok(AuditResult {
        schema: crate::report::SCHEMA_VERSION,
        ward_version: input.ward_version.to_owned(),
        hashes: Hashes {
            spec_sha256: sha256(input.spec_text),
            policy_sha256: sha256(input.policy_text),
            catalogue_sha256: sha256(input.catalogue_text),
        },
        spec: spec.clone(),
        policy: PolicySummary {
            service: policy.service.name.clone(),
            min_age,
            time_zone: policy.service.time_zone.clone(),
            drift_window: feed.drift_window(),
            drift_threshold: feed.drift_threshold(),
            sensitive_cap: feed.sensitive_cap(),
            sensitive_topics: feed
                .sensitive_topics()
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect(),
            precaution: policy.feed.precaution.as_str(),
        },
        catalogue: catalogue_summary,
        model: settings.model,
        recommenders: recommender_results,
        verdicts,
    })
}
