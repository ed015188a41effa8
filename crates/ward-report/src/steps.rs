//! Steps 1, 2 and 4 of the DPIA from the policy alone: the need, the service and its bands,
//! each purpose with its texts and their versions, the data map, the cookies, and `ward
//! check`'s findings with the Code's words. Pure: a parsed policy in, report parts out.
//! Not for risks (see [`crate::risks`]) or anything the store knows.

use std::collections::BTreeSet;

use ward_core::age::AgeBand;
use ward_core::compiled::{CompiledPolicy, purpose_version};
use ward_core::lint;
use ward_core::policy::{Policy, Purpose, Toggle};
use ward_core::report::CheckReport;

use crate::model::{
    BandConsent, BandEntry, BandText, CookieEntry, CookieUse, DataMapEntry, DataRead, FindingEntry,
    JurisdictionEntry, Need, PurposeEntry, Service,
};

/// Step 1: ward's statement of why a DPIA is needed, from the policy.
pub(crate) fn need(policy: &Policy, title: Option<String>, notes: Option<String>) -> Need {
    let profiling = policy.purposes.iter().filter(|p| !p.is_required()).count();
    let bands: Vec<&str> = policy
        .service
        .admitted_bands()
        .map(AgeBand::as_str)
        .collect();
    let statement = format!(
        "{name} is a {kind} service admitting children from age {min_age} (bands {bands}), so it \
         is likely to be accessed by children and the Children's Code applies (Standard 2: a DPIA \
         is required). It declares {n_purposes} purposes, {profiling} of them optional profiling \
         a child controls or is refused (Standard 12).",
        name = policy.service.name,
        kind = policy.service.kind.as_str().replace('_', " "),
        min_age = policy.service.min_age,
        bands = bands.join(", "),
        n_purposes = policy.purposes.len(),
    );
    Need {
        title: title.unwrap_or_else(|| format!("DPIA: {}", policy.service.name)),
        statement,
        notes,
    }
}

/// Step 2: the service, its bands, jurisdictions and consent ages.
pub(crate) fn service(policy: &Policy) -> Service {
    let service = &policy.service;
    let bands = service
        .admitted_bands()
        .map(|band| BandEntry {
            band: band.as_str(),
            consent: service
                .jurisdictions
                .iter()
                .map(|j| BandConsent {
                    jurisdiction: j.code().to_owned(),
                    who: who_consents(band, j.consent_age()),
                })
                .collect(),
        })
        .collect();
    Service {
        name: service.name.clone(),
        kind: service.kind.as_str(),
        min_age: service.min_age,
        bands,
        jurisdictions: service
            .jurisdictions
            .iter()
            .map(|j| JurisdictionEntry {
                code: j.code().to_owned(),
                consent_age: j.consent_age(),
            })
            .collect(),
        time_zone: service.time_zone.clone(),
        adult_age_methods: service
            .adult_age_methods
            .iter()
            .map(|m| m.as_str())
            .collect(),
        parental_consent_methods: service
            .parental_consent_methods
            .iter()
            .map(|m| m.as_str())
            .collect(),
        editorial_code: service.editorial_code.as_str(),
        profile_visibility: policy.defaults.profile_visibility.as_str(),
        geolocation_sharing: policy.defaults.geolocation_sharing.as_str(),
        consent_request_ttl_days: policy.consent.request_ttl_days,
        feed_precaution: policy.feed.precaution.as_str(),
        quiet_hours: policy.feed.quiet_hours.map(|window| {
            let hhmm = |minute: u16| format!("{:02}:{:02}", minute / 60, minute % 60);
            format!("{}-{}", hhmm(window.start_minute), hhmm(window.end_minute))
        }),
    }
}

/// Who consents for a child of `band` where the age of digital consent is `consent_age`.
pub(crate) fn who_consents(band: AgeBand, consent_age: u8) -> String {
    if band.highest_age() < consent_age {
        "parent".to_owned()
    } else if band.lowest_age() >= consent_age {
        "child".to_owned()
    } else {
        format!("parent_under_{consent_age}")
    }
}

/// True when every child of `band` needs a parent's consent in every jurisdiction.
pub(crate) fn band_needs_parent_everywhere(policy: &Policy, band: AgeBand) -> bool {
    policy
        .service
        .jurisdictions
        .iter()
        .all(|j| band.highest_age() < j.consent_age())
}

fn non_empty(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

fn pecr_consent_needed(essential: bool) -> bool {
    !essential
}

/// Step 2: every purpose, in the policy's order.
pub(crate) fn purposes(compiled: &CompiledPolicy) -> Vec<PurposeEntry> {
    let policy = compiled.policy();
    policy
        .purposes
        .iter()
        .map(|purpose| purpose_entry(compiled, purpose))
        .collect()
}

fn purpose_entry(compiled: &CompiledPolicy, purpose: &Purpose) -> PurposeEntry {
    let policy = compiled.policy();
    let data = purpose
        .data
        .iter()
        .map(|id| {
            let item = policy.data_item(id.as_str());
            DataRead {
                id: id.to_string(),
                collected_for: item.map(|i| i.collected_for.clone()),
                collected_for_protective: item
                    .and_then(|i| policy.purpose(&i.collected_for))
                    .is_some_and(|p| p.category.is_protective()),
            }
        })
        .collect();
    let cookies = policy
        .cookies
        .iter()
        .filter(|c| c.purposes.iter().any(|p| p == purpose.id.as_str()))
        .map(|c| CookieUse {
            name: c.name.clone(),
            essential: c.essential,
            pecr_consent_needed: pecr_consent_needed(c.essential),
        })
        .collect();
    let texts = match compiled.purpose_idx(purpose.id.as_str()) {
        Some(idx) if purpose.child_can_switch_on() => policy
            .service
            .admitted_bands()
            .map(|band| BandText {
                band: band.as_str(),
                explain: purpose.explain.for_band(band).map(str::to_owned),
                ask_adult: purpose.ask_adult.for_band(band).map(str::to_owned),
                text_version: compiled.text_version(idx, Some(band)),
            })
            .collect(),
        _ => Vec::new(),
    };
    PurposeEntry {
        id: purpose.id.to_string(),
        name: purpose.name.clone(),
        category: purpose.category.as_str(),
        description: purpose.description.clone(),
        commercial: purpose.category.is_commercial(),
        protective: purpose.category.is_protective(),
        required: purpose.is_required(),
        child_can_switch_on: purpose.child_can_switch_on(),
        setting: purpose.setting.as_ref().map(ToString::to_string),
        default: purpose.default.as_str(),
        locked_for_children: purpose.locked_for_children,
        lawful_basis: purpose.lawful_basis.as_str(),
        core: purpose.core,
        compelling_reason: (purpose.default == Toggle::On)
            .then(|| non_empty(&purpose.compelling_reason))
            .flatten(),
        core_justification: purpose
            .core
            .then(|| non_empty(&purpose.core_justification))
            .flatten(),
        solely_automated_significant_decision: purpose.solely_automated_significant_decision,
        version: format!("{:08x}", purpose_version(purpose).0),
        data,
        cookies,
        safeguards: purpose.safeguards.iter().map(|s| s.as_str()).collect(),
        triggers: purpose.triggers.iter().map(|t| t.as_str()).collect(),
        tcf_purposes: purpose.tcf_purposes.clone(),
        texts,
    }
}

/// Step 2: data → purposes → cookies.
pub(crate) fn data_map(policy: &Policy) -> Vec<DataMapEntry> {
    let mut ids: Vec<String> = policy.data.iter().map(|d| d.id.to_string()).collect();
    let declared: BTreeSet<String> = ids.iter().cloned().collect();
    let undeclared: BTreeSet<String> = policy
        .purposes
        .iter()
        .flat_map(|p| p.data.iter().map(ToString::to_string))
        .filter(|id| !declared.contains(id))
        .collect();
    ids.extend(undeclared);
    ids.into_iter()
        .map(|id| {
            let item = policy.data_item(&id);
            let readers: Vec<&Purpose> = policy
                .purposes
                .iter()
                .filter(|p| p.data.iter().any(|d| d.as_str() == id))
                .collect();
            let cookies: BTreeSet<String> = policy
                .cookies
                .iter()
                .filter(|c| {
                    c.purposes
                        .iter()
                        .any(|name| readers.iter().any(|p| p.id.as_str() == name))
                })
                .map(|c| c.name.clone())
                .collect();
            DataMapEntry {
                declared: item.is_some(),
                collected_for: item.map(|i| i.collected_for.clone()),
                protective: item
                    .and_then(|i| policy.purpose(&i.collected_for))
                    .is_some_and(|p| p.category.is_protective()),
                read_by: readers.iter().map(|p| p.id.to_string()).collect(),
                cookies: cookies.into_iter().collect(),
                id,
            }
        })
        .collect()
}

/// Step 2: every cookie.
pub(crate) fn cookies(policy: &Policy) -> Vec<CookieEntry> {
    policy
        .cookies
        .iter()
        .map(|c| CookieEntry {
            name: c.name.clone(),
            purposes: c.purposes.clone(),
            essential: c.essential,
            pecr_consent_needed: pecr_consent_needed(c.essential),
        })
        .collect()
}

/// Step 4: `ward check`'s findings, in its order (line, then rule).
pub(crate) fn findings(check: &CheckReport<'_>) -> Vec<FindingEntry> {
    check
        .findings
        .iter()
        .map(|located| {
            let finding = &located.finding;
            FindingEntry {
                rule: finding.rule,
                severity: finding.severity.as_str(),
                subject: finding.subject.to_string(),
                message: finding.message.clone(),
                line: located.start.line,
                column: located.start.column,
                rests_on: finding.rests_on,
                source: lint::rule(finding.rule).map_or("", |rule| rule.source),
            }
        })
        .collect()
}
