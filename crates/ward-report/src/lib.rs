//! `ward-report`: the DPIA evidence pack `ward report` writes.
//!
//! One typed [`Report`] is built from the policy (steps 1, 2 and 4: [`steps`]), ward's
//! proposed risk register (step 5: [`risks`]), the DPO's `dpia.toml` ([`dpia`]: decisions on
//! each risk, consultation, sign-off), the ledger's replay (step 6: [`evidence`], read from a
//! store by [`read_ledger`]) and, when given, the previous report ([`changes`]). `report.json`
//! is its serde form and `report.html` an askama template over it, so the two cannot drift.
//!
//! **Deterministic**: no clock is read and nothing is iterated in hash order; the "as of" is
//! the ledger head's time or a given moment, so the same inputs give the same bytes.
//! **No personal data**: child and parent ids are replay keys only; the report holds counts.
//!
//! Step 6 also has the ad-tech signals per band ([`signals`], computed with
//! `ward_core::signals` from the policy).
//!
//! Not here: the command line and file I/O (the `ward` binary).

pub mod changes;
pub mod dpia;
pub mod evidence;
mod html;
pub mod model;
pub mod risks;
pub mod signals;
mod steps;

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use ward_core::compiled::CompiledPolicy;
use ward_core::report::CheckReport;
use ward_store::ledger::Verifier;
use ward_store::{Store, StoreError, Verification};

pub use model::Report;

use crate::evidence::{Evidence, Replay};
use ward_audit::report::AuditResult;

use crate::model::{
    AuditBand, AuditIntegrity, AuditKind, AuditRecommender, AuditSection, BadEntry, Counts,
    Integrity, LedgerIntegrity, RiskSummary,
};

/// What a report is made from. Sources are the files' text, read by the caller.
pub struct Inputs<'a> {
    /// The policy's path, as shown in findings.
    pub policy_path: &'a str,
    /// `ward.toml`.
    pub policy_source: &'a str,
    /// `dpia.toml`, if given.
    pub dpia_source: Option<&'a str>,
    /// The previous `report.json`, if given.
    pub previous: Option<&'a str>,
    /// `ward audit`'s `results.json`, if given.
    pub audit: Option<&'a str>,
    /// The ledger as read, if a database was given.
    pub ledger: Option<LedgerRead>,
    /// The moment the report describes, overriding the ledger head's time.
    pub as_of: Option<Timestamp>,
}

/// The whole ledger, verified and replayed in one pass.
#[derive(Debug, Clone)]
pub struct LedgerRead {
    /// The chain's verification.
    pub verification: Verification,
    /// When the last entry read happened.
    pub last_entry_at: Option<Timestamp>,
    /// The replay.
    pub evidence: Evidence,
}

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The policy is not a readable `ward.toml`.
    #[error("{path}:{line}:{column}: {message}")]
    Policy {
        /// The policy's path.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The policy has more settings than ward can compile.
    #[error("{0}")]
    Compile(String),
    /// `dpia.toml` is wrong.
    #[error("dpia.toml:{0}")]
    Dpia(#[from] dpia::DpiaError),
    /// The previous report cannot be compared.
    #[error("the previous report: {0}")]
    Previous(#[from] changes::PreviousError),
    /// The audit's results.json is not one ward wrote.
    #[error("{line}:{column}: {message}")]
    Audit {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The HTML template failed.
    #[error("cannot render the report: {0}")]
    Render(String),
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Builds the report.
pub fn build(inputs: Inputs<'_>) -> Result<Report, ReportError> {
    let check = CheckReport::new(inputs.policy_path, inputs.policy_source);
    let Some(policy) = check.policy.clone() else {
        let (line, column, message) = check.findings.first().map_or_else(
            || (1, 1, "the policy cannot be read".to_owned()),
            |f| (f.start.line, f.start.column, f.finding.message.clone()),
        );
        return Err(ReportError::Policy {
            path: inputs.policy_path.to_owned(),
            line,
            column,
            message,
        });
    };
    let dpia = inputs.dpia_source.map(dpia::Dpia::parse).transpose()?;
    let audit = inputs.audit.map(read_audit).transpose()?;
    let mut risks = risks::propose(&policy, audit.as_ref());
    let decisions_not_proposed = match &dpia {
        Some(dpia) => dpia.apply(&policy, &mut risks)?,
        None => Vec::new(),
    };
    let risk_summary = policy
        .service
        .admitted_bands()
        .map(|band| {
            let (mut proposed, mut assessed) = (Counts::default(), Counts::default());
            for risk in &risks {
                if let Some(rated) = risk.bands.iter().find(|b| b.band == band.as_str()) {
                    proposed.add(rated.proposed.overall);
                    assessed.add(rated.assessed.overall);
                }
            }
            RiskSummary {
                band: band.as_str(),
                proposed,
                assessed,
            }
        })
        .collect();
    let compiled =
        CompiledPolicy::new(policy.clone()).map_err(|e| ReportError::Compile(e.to_string()))?;
    let ledger = inputs.ledger;
    let as_of = inputs
        .as_of
        .or_else(|| ledger.as_ref().and_then(|l| l.last_entry_at));
    let (title, need_notes, consultation, sign_off) = match dpia {
        Some(dpia) => (dpia.title, dpia.need, dpia.consultation, dpia.sign_off),
        None => (None, None, Vec::new(), None),
    };
    let mut report = Report {
        schema: model::SCHEMA,
        as_of,
        integrity: Integrity {
            ward_version: env!("CARGO_PKG_VERSION"),
            policy_sha256: sha256_hex(inputs.policy_source.as_bytes()),
            dpia_sha256: inputs.dpia_source.map(|s| sha256_hex(s.as_bytes())),
            previous_sha256: inputs.previous.map(|s| sha256_hex(s.as_bytes())),
            audit: inputs
                .audit
                .zip(audit.as_ref())
                .map(|(text, audit)| AuditIntegrity {
                    results_sha256: sha256_hex(text.as_bytes()),
                    catalogue_sha256: audit.hashes.catalogue_sha256.clone(),
                    spec_sha256: audit.hashes.spec_sha256.clone(),
                    policy_sha256: audit.hashes.policy_sha256.clone(),
                    same_policy: audit.hashes.policy_sha256
                        == sha256_hex(inputs.policy_source.as_bytes()),
                    ward_version: audit.ward_version.clone(),
                }),
            ledger: ledger.as_ref().map(|l| LedgerIntegrity {
                entries: l.verification.entries,
                verified: l.verification.ok(),
                head_seq: l.verification.head.as_ref().map(|h| h.seq),
                head_hash: l.verification.head.as_ref().map(|h| h.hash.clone()),
                last_entry_at: l.last_entry_at,
                first_bad: l.verification.first_bad.as_ref().map(|bad| BadEntry {
                    seq: bad.seq,
                    message: bad.message.clone(),
                }),
            }),
        },
        need: steps::need(&policy, title, need_notes),
        service: steps::service(&policy),
        purposes: steps::purposes(&compiled),
        data_map: steps::data_map(&policy),
        cookies: steps::cookies(&policy),
        consultation,
        findings: steps::findings(&check),
        risks,
        risk_summary,
        decisions_not_proposed,
        evidence: ledger.map(|l| l.evidence),
        audit: audit.as_ref().map(audit_section),
        signals: signals::per_band(&compiled),
        sign_off,
        changes: None,
    };
    if let Some(previous) = inputs.previous {
        report.changes = Some(changes::compare(&report, previous)?);
    }
    Ok(report)
}

/// Reads `ward audit`'s results.json strictly, as the typed result: every field, no unknown
/// one, every word one ward writes; an error names its line and column.
pub fn read_audit(text: &str) -> Result<AuditResult, ReportError> {
    let audit: AuditResult = serde_json::from_str(text).map_err(|e| ReportError::Audit {
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    })?;
    if audit.schema != ward_audit::report::SCHEMA_VERSION {
        return Err(ReportError::Audit {
            line: 1,
            column: 1,
            message: format!(
                "results schema {} is not {}, the one this ward reads",
                audit.schema,
                ward_audit::report::SCHEMA_VERSION
            ),
        });
    }
    Ok(audit)
}

fn audit_kind(kind: &ward_audit::report::KindResult) -> AuditKind {
    AuditKind {
        harmful_off: kind.off.harmful_share,
        harmful_on: kind.on.harmful_share,
        primary_priority_off: kind.off.primary_priority,
        primary_priority_on: kind.on.primary_priority,
        primary_priority_on_max: kind.on.primary_priority_max,
        harmful_windows_off: kind.off.harmful_windows.clone(),
        harmful_windows_on: kind.on.harmful_windows.clone(),
    }
}

fn audit_section(audit: &AuditResult) -> AuditSection {
    AuditSection {
        catalogue: audit.catalogue.source.clone(),
        seeds: audit.spec.seeds,
        slates: audit.spec.slates,
        primary_priority_guarded: audit.verdicts.primary_priority_guarded,
        priority_guarded: audit.verdicts.priority_guarded,
        window_items: ward_audit::metrics::WINDOW as u32,
        recommenders: audit
            .recommenders
            .iter()
            .map(|r| AuditRecommender {
                name: r.name.clone(),
                http: r.http,
                bands: r
                    .bands
                    .iter()
                    .map(|b| AuditBand {
                        band: b.band,
                        age: b.age,
                        standard: audit_kind(&b.standard),
                        vulnerable: audit_kind(&b.vulnerable),
                        harmful_ratio_off: b.vulnerable_over_standard.harmful_off,
                        harmful_ratio_on: b.vulnerable_over_standard.harmful_on,
                    })
                    .collect(),
                recommended_threshold: r.detector.recommended_threshold,
                policy_threshold: r.detector.policy_threshold,
            })
            .collect(),
    }
}

/// `report.json`: the report's serde form, pretty-printed, with a final newline.
pub fn to_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

/// `report.html`.
pub fn to_html(report: &Report) -> Result<String, ReportError> {
    html::render(report).map_err(|e| ReportError::Render(e.to_string()))
}

/// How many ledger entries are read per round trip.
pub const LEDGER_PAGE: i64 = 2_000;

/// Reads the whole ledger page by page, verifying the chain and replaying it in the same
/// pass (so the verdict and the counts describe the same entries). `progress` hears the
/// number of entries read after each page.
pub async fn read_ledger<S: Store>(
    store: &S,
    mut progress: impl FnMut(u64),
) -> Result<LedgerRead, StoreError> {
    // Entries committed but not yet chained (PostgreSQL's sequencer) are chained first, so
    // the report verifies and counts everything committed before it began.
    store.chain_ledger().await?;
    let mut verifier = Verifier::default();
    let mut verifying = true;
    let mut replay = Replay::new();
    let mut after = 0;
    let mut read = 0u64;
    let mut last_entry_at = None;
    loop {
        let page = store.ledger_entries(after, LEDGER_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        last_entry_at = Timestamp::from_microsecond(last.at_us).ok();
        for entry in &page {
            if verifying {
                verifying = verifier.push(entry);
            }
            replay.push(entry);
        }
        read += page.len() as u64;
        progress(read);
        if (page.len() as i64) < LEDGER_PAGE {
            break;
        }
    }
    Ok(LedgerRead {
        verification: verifier.finish(),
        last_entry_at,
        evidence: replay.finish(),
    })
}
