//! Properties of `decide` over random policies that pass `ward check`, random children, random
//! setting states and random requests: it never allows a non-required purpose whose setting
//! is not on, never allows behavioural advertising without live consent from the right
//! person, and never panics. The oracle for "the right person" is written here afresh, from
//! RUNTIME.md, not taken from the code under test.

use jiff::Timestamp;
use proptest::prelude::*;
use ward_core::age::AgeBand;
use ward_core::child::{AgeEvidence, AgeRecord, AgeStatus, BandOrAdult};
use ward_core::compiled::{CompiledPolicy, PurposeVersion};
use ward_core::decide::{Request, decide};
use ward_core::lint::Severity;
use ward_core::policy::{AgeMethod, Category, Policy};
use ward_core::settings::{ConsentGiver, ConsentLink, SettingSlot, SettingValue};

use crate::support::{policy, purpose, service};
use crate::world::now;

const CATEGORIES: [&str; 12] = [
    "behavioural_advertising",
    "content_recommendation",
    "contact_suggestions",
    "news_feed",
    "accessibility",
    "engagement",
    "location",
    "analytics",
    "core_service",
    "age_assurance",
    "safeguarding",
    "legal_obligation",
];
const BASES: [&str; 3] = ["consent", "legitimate_interests", "contract"];

/// One purpose of a random policy; `wording` picks one of a few descriptions (a change of
/// wording changes the purpose's version).
#[derive(Debug, Clone)]
pub(crate) struct PurposeSpec {
    pub(crate) category: usize,
    pub(crate) basis: usize,
    pub(crate) locked: bool,
    pub(crate) core: bool,
    pub(crate) default_on: bool,
    pub(crate) wording: usize,
}

const WORDINGS: [&str; 3] = [
    "Uses the games you play to choose the next games we suggest.",
    "Uses the games you play and finish to choose the next games we suggest.",
    "Uses the games your friends play to choose the next games we suggest.",
];

pub(crate) fn purpose_spec() -> impl Strategy<Value = PurposeSpec> {
    (
        0..CATEGORIES.len(),
        0..BASES.len(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0..WORDINGS.len(),
    )
        .prop_map(
            |(category, basis, locked, core, default_on, wording)| PurposeSpec {
                category,
                basis,
                locked,
                core,
                default_on,
                wording,
            },
        )
}

/// Builds a policy from the specs, then keeps only what `ward check` passes.
pub(crate) fn build(
    min_age: u8,
    jurisdictions: &str,
    specs: &[PurposeSpec],
) -> Option<CompiledPolicy> {
    let purposes = specs.iter().enumerate().map(|(idx, spec)| {
        let category = CATEGORIES[spec.category];
        // Steer towards what `ward check` accepts, so most cases reach `decide`.
        let advertising = category == "behavioural_advertising";
        let basis = if advertising { "consent" } else { BASES[spec.basis] };
        let default_on = spec.default_on && !advertising && !spec.locked && category != "location";
        let mut p = purpose(&format!("p{idx}"), category)
            .set("description", &format!("\"{}\"", WORDINGS[spec.wording % WORDINGS.len()]))
            .set("lawful_basis", &format!("\"{basis}\""))
            .set("safeguards", "[\"age_rating_filter\", \"harm_tag_filter\", \"user_reporting\", \"adult_contact_filter\", \"editorial_control\"]");
        let required_category = ["core_service", "age_assurance", "safeguarding", "legal_obligation"].contains(&category);
        if spec.core {
            p = p.set("core", "true").set("core_justification", "\"It is the service.\"");
        }
        if (required_category || spec.core) && category != "behavioural_advertising" {
            p = p.unset("setting");
        }
        if spec.locked {
            p = p.set("locked_for_children", "true");
        }
        if default_on {
            p = p.set("default", "\"on\"").set("compelling_reason", "\"In the child's interest.\"");
        }
        p
    });
    let service = service()
        .set("min_age", &min_age.to_string())
        .set("jurisdictions", jurisdictions)
        .set("editorial_code", "\"editors_code\"");
    let source = policy(service, purposes.collect::<Vec<_>>(), "");
    let parsed = Policy::parse(&source).ok()?;
    if ward_core::lint::check(&parsed)
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        return None;
    }
    CompiledPolicy::new(parsed).ok()
}

pub(crate) fn age_record() -> impl Strategy<Value = Option<AgeRecord>> {
    let method = prop_oneof![
        Just(AgeMethod::SelfDeclared),
        Just(AgeMethod::ParentDeclared),
        Just(AgeMethod::Estimated),
        Just(AgeMethod::Verified)
    ];
    let evidence = prop_oneof![
        (0u8..30).prop_map(AgeEvidence::Age),
        (0usize..6).prop_map(|idx| AgeEvidence::Band(
            AgeBand::ALL
                .get(idx)
                .map_or(BandOrAdult::Adult, |b| BandOrAdult::Band(*b))
        )),
        (1990i16..2026, 1i8..=12, 1i8..=28)
            .prop_map(|(y, m, d)| AgeEvidence::BirthDate(jiff::civil::date(y, m, d))),
    ];
    proptest::option::of((method, evidence, 0i64..400_000_000).prop_map(
        |(method, evidence, seconds_ago)| AgeRecord {
            method,
            evidence,
            at: Timestamp::from_second(now().as_second() - seconds_ago).unwrap(),
        },
    ))
}

fn slot() -> impl Strategy<Value = (SettingValue, Option<(bool, bool, bool)>)> {
    let value = prop_oneof![
        Just(SettingValue::Off),
        Just(SettingValue::On),
        Just(SettingValue::PendingParent),
        Just(SettingValue::LockedOff)
    ];
    // consent: (given by a parent, for the current version, refresh due)
    (
        value,
        proptest::option::of((any::<bool>(), any::<bool>(), any::<bool>())),
    )
}

/// RUNTIME.md's rule, restated: below the consent age (a band counts from its youngest age;
/// `unknown` has no established age) a consent purpose needs a parent's consent.
fn oracle_needs_parent(status: AgeStatus, consent_age: u8) -> bool {
    match status {
        AgeStatus::Adult => false,
        AgeStatus::Unknown => true,
        AgeStatus::Child { age: Some(age), .. } => age < consent_age,
        AgeStatus::Child { age: None, band } => band.lowest_age() < consent_age,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decide_never_allows_what_the_code_forbids(
        min_age in 0u8..=17,
        jurisdictions in prop_oneof![Just("[\"GB\"]"), Just("[\"DE\"]"), Just("[\"GB\", \"FR\"]")],
        specs in proptest::collection::vec(purpose_spec(), 1..8),
        record in age_record(),
        slots in proptest::collection::vec(slot(), 8),
        purpose_pick in 0usize..9,
        gpc in any::<bool>(),
        days_later in 0i64..4000,
    ) {
        let Some(policy) = build(min_age, jurisdictions, &specs) else { return Ok(()) };
        let (mut child, _) = ward_core::settings::Child::new(ward_core::ids::ChildId::parse("kid").unwrap(), &policy, now());
        if let Some(record) = record {
            child.set_age_record(&policy, record, now());
        }
        for (idx, setting) in policy.settings().iter().enumerate() {
            let (value, consent) = slots[idx];
            let version = policy.purpose(setting.purpose).version;
            child.state.settings[idx] = SettingSlot {
                preferred: value,
                effective: value,
                consent: consent.map(|(by_parent, current, refresh_due)| ConsentLink {
                    giver: if by_parent { ConsentGiver::Parent } else { ConsentGiver::User },
                    version: if current { version } else { PurposeVersion(version.0 ^ 1) },
                    refresh_due,
                }),
            };
        }
        let at = now().saturating_add(jiff::SignedDuration::from_hours(24 * days_later)).unwrap();
        let purpose_idx = (purpose_pick < policy.purposes().len()).then_some(ward_core::compiled::PurposeIdx(purpose_pick as u32));
        let decision = decide(&policy, &child.state, &Request { purpose: purpose_idx, data: &[], gpc }, at);
        let Some(purpose_idx) = purpose_idx else {
            prop_assert!(!decision.allow);
            return Ok(());
        };
        let purpose = policy.purpose(purpose_idx);
        let status = child.state.age_status(&policy, at);
        let slot = purpose.setting.and_then(|s| child.state.slot(s)).copied();
        if decision.allow && !purpose.required {
            prop_assert_eq!(slot.map(|s| s.effective), Some(SettingValue::On), "allowed a non-required purpose whose setting is not on");
            prop_assert!(status.is_adult() || !purpose.locked_for_children);
        }
        if decision.allow && purpose.category == Category::BehaviouralAdvertising {
            let consent_age = child.state.jurisdiction.consent_age();
            let consent = slot.and_then(|s| s.consent);
            let live = consent.is_some_and(|c| {
                c.version == purpose.version && (c.giver == ConsentGiver::Parent || !oracle_needs_parent(status, consent_age))
            });
            prop_assert!(live, "allowed behavioural advertising without live consent from the right person");
            prop_assert!(!gpc);
        }
        if decision.allow && !status.is_adult() {
            prop_assert!(!purpose.automated_significant);
        }
    }
}
