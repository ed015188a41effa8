//! `ward audit --policy ward.toml [--spec audit.toml] --out DIR`: a recommender tested on
//! simulated children, with and without the feed guard (`ward-audit`). Glue only: reading
//! the policy, spec and catalogue, the HTTP recommender adapter (the one piece of the audit
//! that talks to the outside world), the progress bar, writing `results.json`, `report.html`
//! and the catalogue, and the exit code (`--fail-on`).
//!
//! ## The HTTP recommender protocol
//! For each slate, ward POSTs JSON to the `[[http]] url` and waits at most `timeout_ms`:
//! `{"protocol": 1, "persona": {"id", "age", "band"}, "slate": N, "count": K, "history":
//! [{"id", "watched", "liked"}]}` (history oldest first; `watched` the share of the item
//! watched, 0 to 1). The answer is `{"items": ["id", …]}`: at most `count` catalogue ids,
//! best first. Any other answer (a status other than 200, JSON of another shape, an id the
//! catalogue lacks) stops the audit with an error naming the persona.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use ward_audit::catalogue::{Catalogue, generate};
use ward_audit::recommender::{RankRequest, Recommender, RecommenderError};
use ward_audit::report::{FailOn, to_html};
use ward_audit::spec::{CatalogueSource, DEFAULT_SPEC, HttpRecommender, Spec};
use ward_audit::{AuditInput, Progress, run_audit};
use ward_core::feed::FeedPolicy;
use ward_core::policy::Policy;
use ward_core::report::render_file_error;

/// `ward audit`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// The service's ward.toml: its bands, [feed] table and time zone.
    #[arg(long)]
    policy: PathBuf,
    /// The run spec (audit.toml); without it, the default audit (every admitted band, both
    /// personas, the built-in catalogue and recommenders, five seeds).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Where to write results.json, report.html and the catalogue.
    #[arg(long, default_value = "audit-report")]
    out: PathBuf,
    /// Fail (exit 1) when a threshold is passed; repeatable. Keys: primary_priority=N,
    /// priority=N, harmful_share=F, over_cap.
    #[arg(long = "fail-on", value_parser = FailOn::parse)]
    fail_on: Vec<FailOn>,
    /// Threads to run personas on (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
}

/// Exit code when a `--fail-on` threshold is passed.
const EXIT_FAILED: u8 = 1;

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A progress bar on a terminal, nothing in a pipe or CI.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn begin(&self, runs: u64) {
        self.0.set_length(runs);
    }
    fn advance(&self) {
        self.0.inc(1);
    }
}

/// Runs `ward audit`.
pub(crate) fn run(args: &AuditArgs) -> Result<ExitCode, String> {
    let policy_text = read(&args.policy)?;
    let path = args.policy.display().to_string();
    let policy = Policy::parse(&policy_text).map_err(|error| {
        format!(
            "not a valid ward.toml (run `ward check` on it):\n{}",
            render_file_error(&path, &policy_text, &error.message, error.span, color())
        )
    })?;
    let (spec_text, spec_label, spec_dir) = match &args.spec {
        Some(path) => (
            read(path)?,
            path.display().to_string(),
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        ),
        None => (
            DEFAULT_SPEC.to_owned(),
            "the default spec".to_owned(),
            PathBuf::new(),
        ),
    };
    let spec = Spec::parse(&spec_text).map_err(|error| {
        format!(
            "not a valid audit spec:\n{}",
            render_file_error(&spec_label, &spec_text, &error.message, error.span, color())
        )
    })?;
    let (catalogue_text, catalogue_label) = match &spec.catalogue {
        CatalogueSource::Generate(generate_spec) => (
            generate(generate_spec),
            format!(
                "generated ({} items, seed {})",
                generate_spec.items, generate_spec.seed
            ),
        ),
        CatalogueSource::File(file) => {
            let path = spec_dir.join(file);
            (read(&path)?, path.display().to_string())
        }
    };
    let feed = FeedPolicy::new(&policy).map_err(|error| format!("`{path}`: {error}"))?;
    // The adapter maps ids to the catalogue's indices; the audit reads the catalogue again
    // itself, so a bad line is reported once, here, with its line.
    let catalogue = Catalogue::parse(&catalogue_text, &feed)
        .map_err(|error| format!("the catalogue `{catalogue_label}`: {error}"))?;
    let ids: HashMap<String, u32> = catalogue
        .id_index()
        .into_iter()
        .map(|(id, idx)| (id.to_owned(), idx))
        .collect();
    let id_list: Vec<String> = catalogue
        .items()
        .iter()
        .map(|i| i.id().to_owned())
        .collect();
    let ids = std::sync::Arc::new((ids, id_list));
    let mut http: Vec<Box<dyn Recommender>> = Vec::new();
    for remote in &spec.http {
        http.push(Box::new(HttpAdapter::new(remote, ids.clone())?));
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} runs, {eta} left")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix("ward audit");
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = Bar(bar);
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let input = AuditInput {
        spec: &spec,
        spec_text: &spec_text,
        policy: &policy,
        policy_text: &policy_text,
        catalogue_text: &catalogue_text,
        catalogue_label: catalogue_label.clone(),
        http,
        ward_version: env!("CARGO_PKG_VERSION"),
        threads,
    };
    let result = run_audit(&input, &progress).map_err(|error| error.to_string());
    progress.0.finish_and_clear();
    let result = result?;
    std::fs::create_dir_all(&args.out)
        .map_err(|error| format!("cannot create `{}`: {error}", args.out.display()))?;
    let json = serde_json::to_string_pretty(&result)
        .map_err(|error| format!("cannot render results.json: {error}"))?;
    let html = to_html(&result).map_err(|error| format!("cannot render report.html: {error}"))?;
    let write = |name: &str, text: &str| {
        let path = args.out.join(name);
        std::fs::write(&path, text)
            .map_err(|error| format!("cannot write `{}`: {error}", path.display()))
    };
    write("results.json", &json)?;
    write("report.html", &html)?;
    if matches!(spec.catalogue, CatalogueSource::Generate(_)) {
        write("catalogue.jsonl", &catalogue_text)?;
    }
    let mut text = format!(
        "ward audit: {} on {}, {} seeds × {} slates of {}\n",
        result.policy.service, catalogue_label, spec.seeds, spec.slates, spec.slate_size
    );
    for recommender in &result.recommenders {
        text.push_str(&format!("\n{}:\n", recommender.name));
        for band in &recommender.bands {
            let ratio = band
                .vulnerable_over_standard
                .harmful_off
                .map_or("–".to_owned(), |r| format!("{:.1}×", r.mean));
            text.push_str(&format!(
                "  {:5}  harmful share, vulnerable {:5.1}% → {:4.1}% with ward, standard {:5.1}% → {:4.1}%; vulnerable ÷ standard {ratio}\n",
                band.band,
                band.vulnerable.off.harmful_share.mean * 100.0,
                band.vulnerable.on.harmful_share.mean * 100.0,
                band.standard.off.harmful_share.mean * 100.0,
                band.standard.on.harmful_share.mean * 100.0,
            ));
        }
        if let Some(threshold) = recommender.detector.recommended_threshold {
            text.push_str(&format!(
                "  drift detector: recommended drift_threshold {threshold:.2} (policy {:.2})\n",
                recommender.detector.policy_threshold
            ));
        }
    }
    let verdicts = &result.verdicts;
    text.push_str(&format!(
        "\nwith ward: {} primary priority and {} priority items shown over every run\nwrote {}, {}\n",
        verdicts.primary_priority_guarded,
        verdicts.priority_guarded,
        args.out.join("results.json").display(),
        args.out.join("report.html").display(),
    ));
    let breaches: Vec<String> = args
        .fail_on
        .iter()
        .filter_map(|f| f.breach(verdicts))
        .collect();
    for breach in &breaches {
        text.push_str(&format!("FAILED: {breach}\n"));
    }
    crate::print(&text)?;
    if breaches.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_FAILED))
    }
}

/// A service's recommender over HTTP (the protocol is in the module docs and the README).
struct HttpAdapter {
    name: String,
    url: String,
    client: reqwest::blocking::Client,
    /// Catalogue ids to indices, and back.
    ids: std::sync::Arc<(HashMap<String, u32>, Vec<String>)>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    protocol: u32,
    persona: WirePersona<'a>,
    slate: u32,
    count: usize,
    history: Vec<WireInteraction<'a>>,
}

#[derive(Serialize)]
struct WirePersona<'a> {
    id: &'a str,
    age: u8,
    band: &'a str,
}

#[derive(Serialize)]
struct WireInteraction<'a> {
    id: &'a str,
    watched: f32,
    liked: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAnswer {
    items: Vec<String>,
}

impl HttpAdapter {
    fn new(
        remote: &HttpRecommender,
        ids: std::sync::Arc<(HashMap<String, u32>, Vec<String>)>,
    ) -> Result<Self, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(remote.timeout_ms))
            .build()
            .map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        Ok(Self {
            name: remote.name.clone(),
            url: remote.url.clone(),
            client,
            ids,
        })
    }
}

impl Recommender for HttpAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn rank(&self, request: &RankRequest<'_>, out: &mut Vec<u32>) -> Result<(), RecommenderError> {
        out.clear();
        let (index, names) = &*self.ids;
        let body = WireRequest {
            protocol: 1,
            persona: WirePersona {
                id: request.persona,
                age: request.age,
                band: request.band.as_str(),
            },
            slate: request.slate,
            count: request.count,
            history: request
                .history
                .iter()
                .map(|h| WireInteraction {
                    id: names.get(h.item as usize).map_or("", String::as_str),
                    watched: h.watched,
                    liked: h.liked,
                })
                .collect(),
        };
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .map_err(|error| RecommenderError(format!("POST {}: {error}", self.url)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(RecommenderError(format!(
                "POST {} answered {status}",
                self.url
            )));
        }
        let text = response.text().map_err(|error| {
            RecommenderError(format!("reading the answer of {}: {error}", self.url))
        })?;
        let answer: WireAnswer = serde_json::from_str(&text).map_err(|error| {
            RecommenderError(format!(
                "{} answered something other than {{\"items\": [ids]}}: {error}",
                self.url
            ))
        })?;
        if answer.items.len() > request.count {
            return Err(RecommenderError(format!(
                "{} answered {} items; {} were asked for",
                self.url,
                answer.items.len(),
                request.count
            )));
        }
        for id in answer.items {
            match index.get(&id) {
                Some(idx) => out.push(*idx),
                None => {
                    return Err(RecommenderError(format!(
                        "{} answered `{id}`, which is not in the catalogue",
                        self.url
                    )));
                }
            }
        }
        Ok(())
    }
}
