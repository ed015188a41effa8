//! Step 6's ad-tech signals per band: what ward emits for a child of each admitted band, by
//! default and once the right person has consented, computed with [`ward_core::signals`]
//! from the policy alone (no child's data, no store).
//!
//! For each admitted band and each jurisdiction the policy serves, a simulated child of the
//! band's youngest admitted age (a verified age) is made with the core's own operations; its
//! signals are computed as it starts, then again after every setting a child can switch on has
//! been switched on through the real flow: the intervention acknowledged and, where the band
//! needs a parent there, a linked parent's approval by the policy's first parental consent
//! method. Everything runs at one fixed moment ([`AT`]), so the table is a function of the
//! policy. Not here: the signals a real child was sent (the ledger does not record them).

use jiff::Timestamp;
use serde::Serialize;
use ward_core::child::{AgeEvidence, AgeRecord};
use ward_core::compiled::CompiledPolicy;
use ward_core::ids::{ChildId, ParentId};
use ward_core::policy::AgeMethod;
use ward_core::settings::{Acknowledged, Child, SwitchOn};
use ward_core::signals::{Signals, SignalsPolicy, compute};

/// The moment the simulated children live at. Signals do not depend on it but for the TC
/// string's day stamp, which the report does not show.
const AT: &str = "2026-01-01T12:00:00Z";

/// The signals for one band in one jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct BandSignals {
    /// The band.
    pub band: &'static str,
    /// The age of the simulated child (the band's youngest admitted age).
    pub age: u8,
    /// The jurisdiction.
    pub jurisdiction: String,
    /// Who consents there: `parent` or `child`.
    pub consent_by: &'static str,
    /// A new child's signals.
    pub by_default: SignalRow,
    /// After every setting a child can switch on was switched on with the right consent.
    pub consented: SignalRow,
    /// Settings that could not be switched on (the flow refused them), with the reason.
    pub not_switched_on: Vec<String>,
}

impl BandSignals {
    /// The two states, named, in order.
    pub fn states(&self) -> [(&'static str, &SignalRow); 2] {
        [
            ("by default", &self.by_default),
            ("consented", &self.consented),
        ]
    }
}

/// The signals a report shows, in the words of the fields ad stacks read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalRow {
    /// Some behavioural-advertising purpose is allowed.
    pub personalised_ads: bool,
    /// TCF purposes with a consent bit set, ascending (`None`: the policy has no `[tcf]`).
    pub tcf_purpose_consents: Option<Vec<u8>>,
    /// TCF purposes with a legitimate-interest bit set.
    pub tcf_legitimate_interests: Option<Vec<u8>>,
    /// Google Ad Manager's TFAT (0 none, 1 child, 2 teen).
    pub tfat: u8,
    /// OpenRTB `regs.coppa`.
    pub coppa: bool,
    /// Google's maximum ad content rating.
    pub max_ad_content_rating: String,
    /// OpenRTB `bcat`: how many Ad Product Taxonomy 2.0 categories are blocked.
    pub bcat_categories: usize,
}

fn row(signals: &Signals) -> SignalRow {
    let model = signals.tc_model.as_ref();
    SignalRow {
        personalised_ads: signals.personalised_ads,
        tcf_purpose_consents: model.map(|m| m.purpose_consents.ids().collect()),
        tcf_legitimate_interests: model.map(|m| m.purpose_legitimate_interests.ids().collect()),
        tfat: signals.tfat.value(),
        coppa: signals.coppa,
        max_ad_content_rating: format!("{:?}", signals.max_ad_content_rating),
        bcat_categories: signals.bcat.len(),
    }
}

fn at() -> Timestamp {
    AT.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Switches every setting a child can switch on through the real flow; returns the
/// settings the flow refused, each with its reason.
fn switch_everything_on(policy: &CompiledPolicy, child: &mut Child, now: Timestamp) -> Vec<String> {
    let declared = policy.policy();
    let method = declared.service.parental_consent_methods.first().copied();
    let mut refused = Vec::new();
    let Ok(parent) = ParentId::parse("report-parent") else {
        return refused;
    };
    for setting in policy.settings() {
        let purpose = policy.declared_purpose(setting.purpose);
        if !purpose.child_can_switch_on() {
            continue;
        }
        let id = setting.id.as_str();
        let outcome = child.request_on(policy, id, now).and_then(|(outcome, _)| {
            let SwitchOn::Intervention(intervention) = outcome else {
                return Ok(None);
            };
            let (acknowledged, _) = child.acknowledge(policy, &intervention, now)?;
            if let Acknowledged::PendingParent(_) = acknowledged {
                let Some(method) = method else {
                    return Ok(Some(
                        "waiting for a parent: the policy names no parental consent method",
                    ));
                };
                if !child.parents.contains(&parent) {
                    child.link_parent(policy, parent.clone(), now)?;
                }
                child.approve(policy, id, &parent, method, now)?;
            }
            Ok(None)
        });
        match outcome {
            Ok(None) => {}
            Ok(Some(why)) => refused.push(format!("{id}: {why}")),
            Err(error) => refused.push(format!("{id}: {error}")),
        }
    }
    refused
}

/// The signals table: every admitted band (youngest first) × every jurisdiction (the
/// policy's order).
pub(crate) fn per_band(policy: &CompiledPolicy) -> Vec<BandSignals> {
    let signals_policy = SignalsPolicy::new(policy);
    let declared = policy.policy();
    let now = at();
    let mut out = Vec::new();
    for band in declared.service.admitted_bands() {
        let age = band.lowest_age().max(declared.service.min_age);
        for jurisdiction in &declared.service.jurisdictions {
            let Ok(id) = ChildId::parse("report-child") else {
                continue;
            };
            let (mut child, _) = Child::new(id, policy, now);
            child.set_age_record(
                policy,
                AgeRecord {
                    method: AgeMethod::Verified,
                    evidence: AgeEvidence::Age(age),
                    at: now,
                },
                now,
            );
            let moved = child.set_jurisdiction(policy, *jurisdiction, now);
            if moved.is_err() {
                continue;
            }
            let by_default = row(&compute(policy, &signals_policy, &child.state, false, now));
            let not_switched_on = switch_everything_on(policy, &mut child, now);
            let consented = row(&compute(policy, &signals_policy, &child.state, false, now));
            out.push(BandSignals {
                band: band.as_str(),
                age,
                jurisdiction: jurisdiction.code().to_owned(),
                consent_by: if age < jurisdiction.consent_age() {
                    "parent"
                } else {
                    "child"
                },
                by_default,
                consented,
                not_switched_on,
            });
        }
    }
    out
}
