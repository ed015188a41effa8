//! The typed report: everything `report.json` and `report.html` say, in one structure.
//!
//! Both outputs are made from a [`Report`]: the JSON is its serde form (documented in
//! `docs/report.md`), the HTML an askama template over the same value, so the two
//! cannot drift. Lists are in a fixed order (the policy's, or sorted), never a hash map's,
//! so the same inputs give the same bytes. Nothing here names a child or a parent: the
//! evidence is counts and distributions.

use jiff::Timestamp;
use serde::Serialize;

/// The version of `report.json`'s shape. Bumped on a change a reader would notice.
pub const SCHEMA: &str = "ward-report/1";

/// The DPIA evidence pack.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The moment the report describes: the ledger head's time, or `--as-of`; `None` when
    /// neither is known (a report from the policy alone).
    pub as_of: Option<Timestamp>,
    /// What the report was made from, and whether the ledger verified.
    pub integrity: Integrity,
    /// Step 1: the need for a DPIA.
    pub need: Need,
    /// Step 2: the service, its bands and jurisdictions.
    pub service: Service,
    /// Step 2: each purpose, in the policy's order.
    pub purposes: Vec<PurposeEntry>,
    /// Step 2: data → purposes → cookies, in the policy's data order (undeclared data last).
    pub data_map: Vec<DataMapEntry>,
    /// Step 2: every cookie.
    pub cookies: Vec<CookieEntry>,
    /// Step 3: consultation, from `dpia.toml`.
    pub consultation: Vec<Consultation>,
    /// Step 4: `ward check`'s findings, with the Code's words.
    pub findings: Vec<FindingEntry>,
    /// Step 5: the risk register; each risk is rated per admitted band.
    pub risks: Vec<Risk>,
    /// Step 5: how many risks are rated low, medium, high, per band, proposed and assessed.
    pub risk_summary: Vec<RiskSummary>,
    /// Step 5: the DPO's decisions in `dpia.toml` on risks this report does not propose
    /// (their cause fixed, or a rule that does not apply this time), in file order: kept and
    /// shown, counted nowhere.
    pub decisions_not_proposed: Vec<UnproposedDecision>,
    /// Step 6: what the store shows; `None` without `--database`.
    pub evidence: Option<crate::evidence::Evidence>,
    /// Step 6: the guard's measured effect, from `ward audit`'s results; `None` without
    /// `--audit`.
    pub audit: Option<AuditSection>,
    /// Step 6: the ad-tech signals ward emits per admitted band and jurisdiction, by default
    /// and once the right person consents (from the policy alone).
    pub signals: Vec<crate::signals::BandSignals>,
    /// Step 7: the sign-off from `dpia.toml`, if written.
    pub sign_off: Option<SignOff>,
    /// What changed since `--previous`, if given.
    pub changes: Option<crate::changes::Changes>,
}

/// Hashes of the inputs and the ledger's verification.
#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    /// ward's version that wrote the report.
    pub ward_version: &'static str,
    /// SHA-256 of the policy file's bytes, hex.
    pub policy_sha256: String,
    /// SHA-256 of `dpia.toml`'s bytes, hex.
    pub dpia_sha256: Option<String>,
    /// SHA-256 of the previous `report.json`'s bytes, hex.
    pub previous_sha256: Option<String>,
    /// The ledger, when a database was read.
    pub ledger: Option<LedgerIntegrity>,
    /// The audit's results, when given.
    pub audit: Option<AuditIntegrity>,
}

/// What the audit's results were, and what they ran on.
#[derive(Debug, Clone, Serialize)]
pub struct AuditIntegrity {
    /// SHA-256 of the results.json bytes, hex.
    pub results_sha256: String,
    /// The catalogue the audit ran on, as the results carry it.
    pub catalogue_sha256: String,
    /// The audit's spec, as the results carry it.
    pub spec_sha256: String,
    /// The policy the audit ran on, as the results carry it.
    pub policy_sha256: String,
    /// True when that is this report's policy.
    pub same_policy: bool,
    /// The ward that ran the audit.
    pub ward_version: String,
}

/// Step 6: the guard's effect, as `ward audit` measured it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSection {
    /// The catalogue, in words (`generated (3000 items, seed 9)` or a path).
    pub catalogue: String,
    /// Seeds per persona.
    pub seeds: u32,
    /// Slates per run.
    pub slates: u32,
    /// Primary priority items shown with the guard, over every run.
    pub primary_priority_guarded: u64,
    /// Priority items shown with the guard, over every run.
    pub priority_guarded: u64,
    /// Items per window of the harmful-share curves (`AuditKind::harmful_windows_off`):
    /// the audit's own window, 50.
    pub window_items: u32,
    /// Per recommender, in the results' order.
    pub recommenders: Vec<AuditRecommender>,
}

/// One recommender's audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecommender {
    /// Its name.
    pub name: String,
    /// A service's own, over HTTP.
    pub http: bool,
    /// Per band audited.
    pub bands: Vec<AuditBand>,
    /// The drift detector's recommended `drift_threshold` (`None`: none separates).
    pub recommended_threshold: Option<f64>,
    /// The policy's `drift_threshold`.
    pub policy_threshold: f64,
}

/// One band's personas, without and with the guard.
#[derive(Debug, Clone, Serialize)]
pub struct AuditBand {
    /// The band.
    pub band: &'static str,
    /// The personas' age.
    pub age: u8,
    /// The standard persona.
    pub standard: AuditKind,
    /// The vulnerable persona.
    pub vulnerable: AuditKind,
    /// Vulnerable ÷ standard, harmful share without the guard (`None`: standard saw none).
    pub harmful_ratio_off: Option<Estimate>,
    /// … with the guard.
    pub harmful_ratio_on: Option<Estimate>,
}

impl AuditBand {
    /// The two personas, named, in order.
    pub fn kinds(&self) -> [(&'static str, &AuditKind); 2] {
        [
            ("standard", &self.standard),
            ("vulnerable", &self.vulnerable),
        ]
    }
}

/// One persona kind's shares without (`off`) and with (`on`) the guard.
#[derive(Debug, Clone, Serialize)]
pub struct AuditKind {
    /// Share of items harmful (primary priority or priority), without the guard.
    pub harmful_off: Estimate,
    /// … with it.
    pub harmful_on: Estimate,
    /// Primary priority items per run, without the guard.
    pub primary_priority_off: Estimate,
    /// … with it.
    pub primary_priority_on: Estimate,
    /// The most primary priority items any run with the guard was shown.
    pub primary_priority_on_max: u32,
    /// The harmful share over the session without the guard: one mean over seeds per
    /// window of [`AuditSection::window_items`] items, in order (the audit's
    /// `harmful_windows`).
    pub harmful_windows_off: Vec<f64>,
    /// … with it.
    pub harmful_windows_on: Vec<f64>,
}

pub use ward_audit::metrics::Estimate;

/// The ledger as verified while it was read.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerIntegrity {
    /// Every entry read.
    pub entries: u64,
    /// True when the whole chain verified.
    pub verified: bool,
    /// The last good entry's sequence number.
    pub head_seq: Option<i64>,
    /// The last good entry's hash (record it elsewhere to detect truncation).
    pub head_hash: Option<String>,
    /// When the last entry read happened.
    pub last_entry_at: Option<Timestamp>,
    /// The first bad entry: its sequence number and what is wrong, in words.
    pub first_bad: Option<BadEntry>,
}

/// The first entry that failed verification.
#[derive(Debug, Clone, Serialize)]
pub struct BadEntry {
    /// Its sequence number.
    pub seq: i64,
    /// What is wrong.
    pub message: String,
}

/// Step 1: why a DPIA is needed.
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    /// The assessment's title (`dpia.toml`, else "DPIA: <service>").
    pub title: String,
    /// ward's own statement, from the policy: likely to be accessed by children, profiling.
    pub statement: String,
    /// The DPO's own words, from `dpia.toml` `[assessment] need`.
    pub notes: Option<String>,
}

/// The `[service]` table and what follows from it.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// Its name.
    pub name: String,
    /// Its kind, as written.
    pub kind: &'static str,
    /// The youngest age admitted.
    pub min_age: u8,
    /// Every band admitted, youngest first.
    pub bands: Vec<BandEntry>,
    /// Where it operates, with the age of digital consent there.
    pub jurisdictions: Vec<JurisdictionEntry>,
    /// The time zone quiet hours are kept in.
    pub time_zone: String,
    /// Age-assurance methods trusted to treat a user as an adult.
    pub adult_age_methods: Vec<&'static str>,
    /// How verifiable parental consent is obtained.
    pub parental_consent_methods: Vec<&'static str>,
    /// The editorial code, as written.
    pub editorial_code: &'static str,
    /// A new child's profile visibility.
    pub profile_visibility: &'static str,
    /// A new child's location sharing.
    pub geolocation_sharing: &'static str,
    /// Days before an unanswered parental consent request lapses.
    pub consent_request_ttl_days: u16,
    /// The feed guard's precaution for unassessed content.
    pub feed_precaution: &'static str,
    /// Quiet hours (`22:00-07:00`), if any.
    pub quiet_hours: Option<String>,
}

/// An admitted band and who consents for a child in it, per jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct BandEntry {
    /// `6-9`.
    pub band: &'static str,
    /// One per jurisdiction, in the policy's order.
    pub consent: Vec<BandConsent>,
}

/// Who consents for a child of a band in a jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct BandConsent {
    /// The jurisdiction's code.
    pub jurisdiction: String,
    /// `parent` (the whole band is below the consent age), `child` (the whole band is at
    /// or above it) or `parent_under_N` (the band straddles it).
    pub who: String,
}

/// A jurisdiction and its age of digital consent.
#[derive(Debug, Clone, Serialize)]
pub struct JurisdictionEntry {
    /// ISO code.
    pub code: String,
    /// GDPR Art. 8 / COPPA age.
    pub consent_age: u8,
}

/// One purpose, as the DPIA describes it.
#[derive(Debug, Clone, Serialize)]
pub struct PurposeEntry {
    /// Its id.
    pub id: String,
    /// The name children see.
    pub name: String,
    /// Its category, as written.
    pub category: &'static str,
    /// What it does.
    pub description: String,
    /// A commercial category.
    pub commercial: bool,
    /// A protective category (age assurance, safeguarding).
    pub protective: bool,
    /// Required: runs whatever the child chooses.
    pub required: bool,
    /// A child can switch it on.
    pub child_can_switch_on: bool,
    /// Its setting, if any.
    pub setting: Option<String>,
    /// Its default, `on` or `off`.
    pub default: &'static str,
    /// Never on for children.
    pub locked_for_children: bool,
    /// Its lawful basis, as written.
    pub lawful_basis: &'static str,
    /// Declared core.
    pub core: bool,
    /// Why it may be on by default.
    pub compelling_reason: Option<String>,
    /// Why it is core.
    pub core_justification: Option<String>,
    /// A solely automated decision with legal or similar effect.
    pub solely_automated_significant_decision: bool,
    /// Its version (what consent covers), 8 hex digits.
    pub version: String,
    /// The data it reads.
    pub data: Vec<DataRead>,
    /// The cookies serving it.
    pub cookies: Vec<CookieUse>,
    /// Safeguards, as written.
    pub safeguards: Vec<&'static str>,
    /// Engagement triggers, as written.
    pub triggers: Vec<&'static str>,
    /// IAB TCF purpose ids.
    pub tcf_purposes: Vec<u8>,
    /// The texts a child sees at switch-on, per admitted band (empty for purposes a child
    /// cannot switch on).
    pub texts: Vec<BandText>,
}

/// A data item a purpose reads, and where it was collected.
#[derive(Debug, Clone, Serialize)]
pub struct DataRead {
    /// The data id.
    pub id: String,
    /// The purpose that collects it (`None`: the data is not declared).
    pub collected_for: Option<String>,
    /// Collected for a protective purpose.
    pub collected_for_protective: bool,
}

/// A cookie serving a purpose.
#[derive(Debug, Clone, Serialize)]
pub struct CookieUse {
    /// Its name.
    pub name: String,
    /// Marked strictly necessary.
    pub essential: bool,
    /// PECR consent is needed to set it (it is not strictly necessary).
    pub pecr_consent_needed: bool,
}

/// The texts shown to one band.
#[derive(Debug, Clone, Serialize)]
pub struct BandText {
    /// The band.
    pub band: &'static str,
    /// The explanation, exactly as shown (`None`: none written).
    pub explain: Option<String>,
    /// The ask-an-adult prompt, exactly as shown.
    pub ask_adult: Option<String>,
    /// The text version the ledger records when these are shown.
    pub text_version: String,
}

/// One row of the data map.
#[derive(Debug, Clone, Serialize)]
pub struct DataMapEntry {
    /// The data id.
    pub id: String,
    /// Declared in `[[data]]`.
    pub declared: bool,
    /// The purpose it was collected for.
    pub collected_for: Option<String>,
    /// That purpose is protective.
    pub protective: bool,
    /// The purposes reading it, in policy order.
    pub read_by: Vec<String>,
    /// The cookies serving those purposes, sorted.
    pub cookies: Vec<String>,
}

/// A cookie.
#[derive(Debug, Clone, Serialize)]
pub struct CookieEntry {
    /// Its name.
    pub name: String,
    /// The purposes it serves, as written.
    pub purposes: Vec<String>,
    /// Marked strictly necessary.
    pub essential: bool,
    /// PECR consent is needed.
    pub pecr_consent_needed: bool,
}

/// A consultation held, from `dpia.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct Consultation {
    /// Who was consulted.
    pub who: String,
    /// When (a date as written).
    pub when: Option<String>,
    /// What they said and what was done.
    pub notes: String,
}

/// A `ward check` finding.
#[derive(Debug, Clone, Serialize)]
pub struct FindingEntry {
    /// The rule id.
    pub rule: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// What it is about (`purpose:ads`).
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line in the policy.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The Code's words.
    pub rests_on: &'static str,
    /// Where those words are.
    pub source: &'static str,
}

/// How likely harm is (the ICO DPIA template's scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// Remote.
    Remote,
    /// Possible.
    Possible,
    /// Probable.
    Probable,
}

/// How severe harm would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Minimal.
    Minimal,
    /// Significant.
    Significant,
    /// Severe.
    Severe,
}

/// Overall risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Likelihood {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remote => "remote",
            Self::Possible => "possible",
            Self::Probable => "probable",
        }
    }

    /// One step less likely (remote stays remote).
    pub fn lower(self) -> Self {
        match self {
            Self::Probable => Self::Possible,
            Self::Possible | Self::Remote => Self::Remote,
        }
    }
}

impl Severity {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Significant => "significant",
            Self::Severe => "severe",
        }
    }
}

impl Overall {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The ICO DPIA template's matrix: likelihood (rows) against severity (columns).
    ///
    /// | | minimal | significant | severe |
    /// | --- | --- | --- | --- |
    /// | remote | low | low | medium |
    /// | possible | low | medium | high |
    /// | probable | medium | high | high |
    pub fn of(likelihood: Likelihood, severity: Severity) -> Self {
        use Likelihood::{Possible, Probable, Remote};
        use Severity::{Minimal, Severe, Significant};
        match (likelihood, severity) {
            (Remote, Minimal | Significant) | (Possible, Minimal) => Self::Low,
            (Remote, Severe) | (Possible, Significant) | (Probable, Minimal) => Self::Medium,
            (Possible, Severe) | (Probable, Significant | Severe) => Self::High,
        }
    }
}

/// A likelihood and a severity, and the overall risk they make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rating {
    /// How likely.
    pub likelihood: Likelihood,
    /// How severe.
    pub severity: Severity,
    /// [`Overall::of`] the two.
    pub overall: Overall,
}

impl Rating {
    /// A rating, its overall risk from the matrix.
    pub fn new(likelihood: Likelihood, severity: Severity) -> Self {
        Self {
            likelihood,
            severity,
            overall: Overall::of(likelihood, severity),
        }
    }
}

/// A right of the child under the UNCRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Right {
    /// The article's number.
    pub article: u8,
    /// Its name.
    pub name: &'static str,
}

/// One risk of the register.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    /// Stable id, `rule:subject` (`on-by-default:purpose:ads`); `dpia.toml` names it.
    pub id: String,
    /// The proposal rule that raised it (`docs/report.md` lists them).
    pub rule: &'static str,
    /// What it is about.
    pub subject: String,
    /// The risk, in a sentence.
    pub title: String,
    /// Why ward proposes it, and how it rated it.
    pub basis: String,
    /// The child's rights concerned.
    pub rights: Vec<Right>,
    /// What ward and the policy already do about it (step 6).
    pub measures: Vec<String>,
    /// One rating per admitted band, youngest first.
    pub bands: Vec<BandRisk>,
}

/// A risk's rating for one band.
#[derive(Debug, Clone, Serialize)]
pub struct BandRisk {
    /// The band.
    pub band: &'static str,
    /// ward's proposal.
    pub proposed: Rating,
    /// How the band changed the proposal, if it did.
    pub band_note: Option<String>,
    /// `proposed` (no word from the DPO yet), `confirmed` or `overridden`.
    pub decision: &'static str,
    /// The rating that stands: the proposal, or the DPO's override.
    pub assessed: Rating,
    /// The DPO's reason for an override (required), or note on a confirmation.
    pub reason: Option<String>,
    /// Step 6 from `dpia.toml`: further measures to reduce the risk.
    pub further_measures: Option<String>,
    /// Step 6: `eliminated`, `reduced` or `accepted`.
    pub effect: Option<&'static str>,
    /// Step 6: the residual risk.
    pub residual: Option<Overall>,
    /// Step 6: the measure approved.
    pub approved: Option<bool>,
}

/// A decision in `dpia.toml` on a risk the register does not propose this time.
#[derive(Debug, Clone, Serialize)]
pub struct UnproposedDecision {
    /// The risk's id, as written (a rule and subject ward knows).
    pub id: String,
    /// Its rule.
    pub rule: &'static str,
    /// Where the decision is in `dpia.toml`: 1-based line and column of its `id`.
    pub line: usize,
    /// … column.
    pub column: usize,
    /// The bands it names (default: every admitted band).
    pub bands: Vec<&'static str>,
    /// `confirmed` or `overridden`.
    pub decision: &'static str,
    /// An override's likelihood.
    pub likelihood: Option<Likelihood>,
    /// An override's severity.
    pub severity: Option<Severity>,
    /// [`Overall::of`] the two, when both are given.
    pub overall: Option<Overall>,
    /// The DPO's reason or note.
    pub reason: Option<String>,
    /// Further measures.
    pub further_measures: Option<String>,
    /// `eliminated`, `reduced` or `accepted`.
    pub effect: Option<&'static str>,
    /// The residual risk.
    pub residual: Option<Overall>,
    /// The measure approved.
    pub approved: Option<bool>,
}

/// Risk counts for one band.
#[derive(Debug, Clone, Serialize)]
pub struct RiskSummary {
    /// The band.
    pub band: &'static str,
    /// Proposed high, medium, low.
    pub proposed: Counts,
    /// Assessed high, medium, low.
    pub assessed: Counts,
}

/// How many risks are rated each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// High.
    pub high: u32,
    /// Medium.
    pub medium: u32,
    /// Low.
    pub low: u32,
}

impl Counts {
    /// Counts one more rating.
    pub fn add(&mut self, overall: Overall) {
        match overall {
            Overall::High => self.high += 1,
            Overall::Medium => self.medium += 1,
            Overall::Low => self.low += 1,
        }
    }
}

/// Step 7, from `dpia.toml` `[sign_off]`.
#[derive(Debug, Clone, Serialize)]
pub struct SignOff {
    /// Who approved the measures (name, role, date as written).
    pub measures_approved_by: String,
    /// Who approved the residual risks.
    pub residual_risks_approved_by: String,
    /// A summary of the DPO's advice.
    pub dpo_advice: String,
    /// Whether the advice was followed.
    pub dpo_advice_followed: bool,
    /// Why not, when it was overruled.
    pub dpo_overruled_reason: Option<String>,
    /// Who reviewed the consultation responses.
    pub consultation_reviewed_by: Option<String>,
    /// Who keeps the DPIA under review.
    pub review_by: Option<String>,
    /// When it is next reviewed.
    pub review_date: jiff::civil::Date,
}
