//! Ad-tech signals: one child's state, written as every string and field an ad stack reads:
//! the IAB TCF v2.2 TC string, Google's Additional Consent string, the IAB GPP string
//! (`tcfeuv2` and `usnat`), OpenRTB 2.6 `regs`, `user.consent` and `bcat`, Google Ad
//! Manager's age-treatment tag (TFAT) and maximum ad content rating.
//!
//! [`bits`] is the one bit writer and reader; [`tcf`], [`gpp`] and [`openrtb`] the formats;
//! [`SignalsPolicy`] the policy's part (built once per policy); [`compute`] the signals of one
//! child at `now`. Pure: no I/O, no clock.
//!
//! **Every bit comes from [`decide`]**: a TCF purpose's consent bit is set only when a ward
//! purpose mapped to it (`tcf_purposes`) is allowed with live consent from the right person
//! (`setting_on` on a consent basis); a legitimate-interest bit only when one resting on
//! legitimate interests is allowed, never for purpose 1 or 3-6 (TCF v2.2), and never for 2-6
//! for a child or a user of unknown age. GPC turns every advertising id (2, 3, 4, 7, 9) off;
//! special features are never opted in (no ward purpose asks for them). The rules, and the
//! judgements behind the OpenRTB and Google fields, are in `docs/signals.md`.
//!
//! Not for changing state, and not for I/O: the server reads the child and serves these.

pub mod bits;
pub mod gpp;
pub mod openrtb;
pub mod tcf;

use jiff::Timestamp;
use serde::Serialize;

use crate::child::AgeStatus;
use crate::compiled::{CompiledPolicy, PurposeIdx};
use crate::decide::{Reason, Request, decide};
use crate::policy::{Category, LawfulBasis, Toggle};
use crate::settings::ChildState;
use tcf::{IdSet, PublisherRestriction, TcModel};

/// The TCF purposes advertising rests on (as `mixed-purpose` counts them).
pub const ADS_TCF_PURPOSES: IdSet = IdSet((1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 8));
/// Purposes no one may be signalled legitimate interest for: 1 (consent only) and 3-6
/// (TCF v2.2).
const NO_LI_FOR_ANYONE: IdSet = IdSet(0b11_1101);
/// Purposes a child is never signalled legitimate interest for: 1-6.
const NO_LI_FOR_A_CHILD: IdSet = IdSet(0b11_1111);

/// One ward purpose that reaches the TC string.
#[derive(Debug, Clone)]
struct MappedPurpose {
    idx: PurposeIdx,
    tcf: IdSet,
    basis: LawfulBasis,
}

/// A vendor, as the bits need it.
#[derive(Debug, Clone)]
struct Vendor {
    id: u16,
    consent: IdSet,
    legitimate_interest: IdSet,
    /// Only special purposes declared: its legitimate-interest bit is set when disclosed.
    special_only: bool,
}

/// The policy's part of the signals, built once per policy.
#[derive(Debug, Clone, Default)]
pub struct SignalsPolicy {
    mapped: Vec<MappedPurpose>,
    advertising: Vec<PurposeIdx>,
    location: Vec<PurposeIdx>,
    vendors: Vec<Vendor>,
    disclosed: Vec<u16>,
    ac_providers: Vec<(u16, IdSet)>,
    restrictions: Vec<PublisherRestriction>,
    tcf: Option<TcfHeader>,
    serves_us: bool,
    /// `bcat` for each age from 0 to 17, then for an adult (index 18).
    bcat_by_age: Vec<Vec<&'static str>>,
}

#[derive(Debug, Clone, Copy)]
struct TcfHeader {
    cmp_id: u16,
    cmp_version: u16,
    consent_screen: u8,
    consent_language: [u8; 2],
    vendor_list_version: u16,
    policy_version: u8,
    publisher_country: [u8; 2],
}

impl SignalsPolicy {
    /// The signals' part of `policy`.
    pub fn new(policy: &CompiledPolicy) -> Self {
        let declared = policy.policy();
        let mut signals = Self::default();
        for (idx, purpose) in declared.purposes.iter().enumerate() {
            let idx = PurposeIdx(idx as u32);
            if !purpose.tcf_purposes.is_empty() {
                signals.mapped.push(MappedPurpose {
                    idx,
                    tcf: IdSet::of(&purpose.tcf_purposes),
                    basis: purpose.lawful_basis,
                });
            }
            match purpose.category {
                Category::BehaviouralAdvertising => signals.advertising.push(idx),
                Category::Location => signals.location.push(idx),
                _ => {}
            }
        }
        signals.bcat_by_age = (0..=18u8)
            .map(|age| {
                // Lottery sits inside gambling: each id once.
                let mut bcat: Vec<&'static str> = Vec::new();
                let age = (age < 18).then_some(age);
                for id in openrtb::blocked_cap_categories(age).flat_map(openrtb::ad_product_ids) {
                    if !bcat.contains(id) {
                        bcat.push(id);
                    }
                }
                bcat
            })
            .collect();
        signals.serves_us = declared
            .service
            .jurisdictions
            .iter()
            .any(|j| j.code() == "US");
        if let Some(tcf) = &declared.tcf {
            signals.tcf = Some(TcfHeader {
                cmp_id: tcf.cmp_id,
                cmp_version: tcf.cmp_version,
                consent_screen: tcf.consent_screen,
                consent_language: tcf.consent_language,
                vendor_list_version: tcf.vendor_list_version,
                policy_version: tcf.policy_version,
                publisher_country: tcf.publisher_country,
            });
            signals.vendors = tcf
                .vendors
                .iter()
                .map(|v| Vendor {
                    id: v.id,
                    consent: v.consent,
                    legitimate_interest: v.legitimate_interest,
                    special_only: v.consent.is_empty()
                        && v.legitimate_interest.is_empty()
                        && !v.special_purposes.is_empty(),
                })
                .collect();
            signals.disclosed = tcf.vendors.iter().map(|v| v.id).collect();
            signals.ac_providers = tcf.ac_providers.iter().map(|p| (p.id, p.consent)).collect();
            signals.restrictions = tcf
                .restrictions
                .iter()
                .map(|r| PublisherRestriction {
                    purpose: r.purpose,
                    restriction: r.restriction,
                    vendors: r.vendors.clone(),
                })
                .collect();
        }
        signals
    }

    /// `bcat` for a child of `age` (`None`: an adult).
    fn bcat_for(&self, age: Option<u8>) -> &[&'static str] {
        let idx = usize::from(age.map_or(18, |age| age.min(17)));
        self.bcat_by_age.get(idx).map_or(&[], Vec::as_slice)
    }

    /// True when a restriction tells `vendor` not to rely on legitimate interest for
    /// `purpose` (requires consent, or forbids the purpose).
    fn li_restricted(&self, vendor: u16, purpose: u8) -> bool {
        self.restrictions.iter().any(|r| {
            r.purpose == purpose
                && r.restriction != tcf::RestrictionType::RequireLegitimateInterest
                && r.vendors.binary_search(&vendor).is_ok()
        })
    }

    /// True when a restriction forbids `purpose` for `vendor` outright, or requires
    /// legitimate interest instead of consent.
    fn consent_restricted(&self, vendor: u16, purpose: u8) -> bool {
        self.restrictions.iter().any(|r| {
            r.purpose == purpose
                && r.restriction != tcf::RestrictionType::RequireConsent
                && r.vendors.binary_search(&vendor).is_ok()
        })
    }
}

/// Google Ad Manager's tag for age treatment (TFAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeTreatment {
    /// 0: no age treatment (an adult).
    Unspecified,
    /// 1: child treatment (below the age of digital consent, or of unknown age).
    Child,
    /// 2: teen treatment (a minor at or above the age of digital consent).
    Teen,
}

impl AgeTreatment {
    /// The tag's value in an ad request (`tfat=`).
    pub fn value(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::Child => 1,
            Self::Teen => 2,
        }
    }
}

/// Google's `max_ad_content_rating`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AdContentRating {
    /// General audiences.
    G,
    /// Parental guidance.
    PG,
    /// Teen and older.
    T,
    /// Mature audiences.
    MA,
}

/// Every signal one child's state produces at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signals {
    /// The Global Privacy Control signal the signals were computed under.
    pub gpc: bool,
    /// GDPR (or UK GDPR) applies: the child's jurisdiction is not the US.
    pub gdpr: bool,
    /// The request is to be treated under COPPA: under 13 (or of unknown age) without a
    /// parent's live consent to behavioural advertising.
    pub coppa: bool,
    /// Some behavioural-advertising purpose is allowed for this child now.
    pub personalised_ads: bool,
    /// Precise location may reach the ad request.
    pub precise_geo: bool,
    /// The TC string, when the policy has `[tcf]`.
    pub tc_string: Option<String>,
    /// What the TC string says, field by field (for people and for tests).
    #[serde(skip)]
    pub tc_model: Option<TcModel>,
    /// Google's Additional Consent string (v2), when `[tcf]` names providers.
    pub ac_string: Option<String>,
    /// The GPP string.
    pub gpp: String,
    /// The GPP sections that apply to this child (`regs.gpp_sid`).
    pub gpp_sid: Vec<u8>,
    /// The `usnat` section as written, when the service operates in the US.
    #[serde(skip)]
    pub usnat: Option<gpp::UsNat>,
    /// OpenRTB `bcat`: Ad Product Taxonomy 2.0 ids (`cattax` 8) of what the child may not see.
    pub bcat: Vec<&'static str>,
    /// Google Ad Manager's TFAT.
    pub tfat: AgeTreatment,
    /// Google's maximum ad content rating.
    pub max_ad_content_rating: AdContentRating,
    /// The age ads must suit (`None` for an adult).
    pub max_ad_age: Option<u8>,
}

/// The TCF timestamps' unit: deciseconds since the epoch, at the start of the UTC day (TCF
/// v2.2 "day-level timestamp").
fn tcf_day(now: Timestamp) -> u64 {
    let day_seconds = now.as_second().div_euclid(86_400) * 86_400;
    u64::try_from(day_seconds).unwrap_or(0) * 10
}

/// The signals of `child` at `now`, with the GPC signal `gpc`.
pub fn compute(
    policy: &CompiledPolicy,
    signals_policy: &SignalsPolicy,
    child: &ChildState,
    gpc: bool,
    now: Timestamp,
) -> Signals {
    let status = child.age_status(policy, now);
    let adult = status.is_adult();
    let allowed = |idx: PurposeIdx| {
        decide(
            policy,
            child,
            &Request {
                purpose: Some(idx),
                data: &[],
                gpc,
            },
            now,
        )
    };

    let mut consents = IdSet::EMPTY;
    let mut interests = IdSet::EMPTY;
    for mapped in &signals_policy.mapped {
        let decision = allowed(mapped.idx);
        if !decision.allow {
            continue;
        }
        match mapped.basis {
            LawfulBasis::Consent if decision.reason == Reason::SettingOn => {
                consents = consents.union(mapped.tcf);
            }
            LawfulBasis::LegitimateInterests => interests = interests.union(mapped.tcf),
            _ => {}
        }
    }
    interests = interests.without(if adult {
        NO_LI_FOR_ANYONE
    } else {
        NO_LI_FOR_A_CHILD
    });
    if gpc {
        consents = consents.without(ADS_TCF_PURPOSES);
        interests = interests.without(ADS_TCF_PURPOSES);
    }

    let personalised_ads = signals_policy
        .advertising
        .iter()
        .any(|idx| allowed(*idx).allow);
    let location_allowed = signals_policy
        .location
        .iter()
        .any(|idx| allowed(*idx).allow);
    let age = match status {
        AgeStatus::Adult => None,
        other => Some(other.working_age(policy.min_age())),
    };
    let needs_parent = status.needs_parent(child.jurisdiction, policy.min_age());

    let tc_model = signals_policy.tcf.map(|header| {
        let vendor_consents = signals_policy
            .vendors
            .iter()
            .filter(|v| {
                // Purpose 1 (store and access) alone does not carry a vendor in: consent to
                // one purpose's device access is not consent to every vendor's.
                let own = if v.consent == IdSet::of(&[1]) {
                    v.consent
                } else {
                    v.consent.without(IdSet::of(&[1]))
                };
                own.intersection(consents)
                    .ids()
                    .any(|p| !signals_policy.consent_restricted(v.id, p))
            })
            .map(|v| v.id)
            .collect();
        let vendor_legitimate_interests = signals_policy
            .vendors
            .iter()
            .filter(|v| {
                v.special_only
                    || v.legitimate_interest
                        .intersection(interests)
                        .ids()
                        .any(|p| !signals_policy.li_restricted(v.id, p))
            })
            .map(|v| v.id)
            .collect();
        let day = tcf_day(now);
        TcModel {
            created: day,
            last_updated: day,
            cmp_id: header.cmp_id,
            cmp_version: header.cmp_version,
            consent_screen: header.consent_screen,
            consent_language: header.consent_language,
            vendor_list_version: header.vendor_list_version,
            policy_version: header.policy_version,
            is_service_specific: true,
            use_non_standard_texts: false,
            special_feature_opt_ins: IdSet::EMPTY,
            purpose_consents: consents,
            purpose_legitimate_interests: interests,
            purpose_one_treatment: false,
            publisher_country: header.publisher_country,
            vendor_consents,
            vendor_legitimate_interests,
            publisher_restrictions: signals_policy.restrictions.clone(),
            disclosed_vendors: Some(signals_policy.disclosed.clone()),
            publisher_tc: None,
        }
    });
    let tc_string = tc_model.as_ref().map(TcModel::encode);

    let ac_string =
        (signals_policy.tcf.is_some() && !signals_policy.ac_providers.is_empty()).then(|| {
            let mut consented = String::new();
            let mut disclosed = String::new();
            for (id, needs) in &signals_policy.ac_providers {
                let target = if !needs.is_empty() && needs.intersection(consents) == *needs {
                    &mut consented
                } else {
                    &mut disclosed
                };
                if !target.is_empty() {
                    target.push('.');
                }
                target.push_str(&id.to_string());
            }
            format!("2~{consented}~dv.{disclosed}")
        });

    let usnat = signals_policy.serves_us.then(|| {
        let has_ads = !signals_policy.advertising.is_empty();
        let choice = |allowed: bool| if allowed { 2 } else { 1 };
        let opt_out = if has_ads {
            if personalised_ads { 2 } else { 1 }
        } else {
            0
        };
        let notice = u8::from(has_ads);
        let child_consent = choice(personalised_ads);
        let known_child = match status {
            AgeStatus::Adult => [0, 0, 0],
            AgeStatus::Unknown => [1, 1, 1],
            _ => match age.unwrap_or(0) {
                0..=12 => [0, child_consent, 0],
                13..=15 => [child_consent, 0, 0],
                _ => [0, 0, child_consent],
            },
        };
        let mut sensitive = [0u8; 16];
        if !signals_policy.location.is_empty() {
            sensitive[7] = choice(location_allowed);
        }
        gpp::UsNat {
            sharing_notice: 1,
            sale_opt_out_notice: notice,
            sharing_opt_out_notice: notice,
            targeted_advertising_opt_out_notice: notice,
            sensitive_data_processing_opt_out_notice: 0,
            sensitive_data_limit_use_notice: 0,
            sale_opt_out: opt_out,
            sharing_opt_out: opt_out,
            targeted_advertising_opt_out: opt_out,
            sensitive_data_processing: sensitive,
            known_child_sensitive_data_consents: known_child,
            personal_data_consents: if has_ads { choice(personalised_ads) } else { 0 },
            mspa_covered_transaction: 2,
            mspa_opt_out_option_mode: 0,
            mspa_service_provider_mode: 0,
            gpc: Some(gpc),
        }
    });

    let in_us = child.jurisdiction.code() == "US";
    let mut gpp = String::with_capacity(16 + tc_string.as_ref().map_or(0, String::len) + 24);
    let mut sections: [u8; 2] = [0; 2];
    let mut n_sections = 0;
    if tc_string.is_some() {
        sections[n_sections] = gpp::SECTION_TCFEUV2;
        n_sections += 1;
    }
    if usnat.is_some() {
        sections[n_sections] = gpp::SECTION_USNAT;
        n_sections += 1;
    }
    gpp::encode_header(&sections[..n_sections], &mut gpp);
    if let Some(tc_string) = &tc_string {
        gpp.push('~');
        gpp.push_str(tc_string);
    }
    if let Some(usnat) = &usnat {
        gpp.push('~');
        usnat.encode_into(&mut gpp);
    }
    let gpp_sid = sections[..n_sections]
        .iter()
        .copied()
        .filter(|sid| (*sid == gpp::SECTION_USNAT) == in_us)
        .collect();

    let bcat = signals_policy.bcat_for(age).to_vec();
    let tfat = match status {
        AgeStatus::Adult => AgeTreatment::Unspecified,
        _ if needs_parent => AgeTreatment::Child,
        _ => AgeTreatment::Teen,
    };
    let max_ad_content_rating = match age {
        None => AdContentRating::MA,
        Some(0..=12) => AdContentRating::G,
        Some(13..=15) => AdContentRating::PG,
        Some(_) => AdContentRating::T,
    };
    let under_13 = matches!(status, AgeStatus::Unknown) || age.is_some_and(|a| a < 13);

    Signals {
        gpc,
        gdpr: !in_us,
        coppa: under_13 && !personalised_ads,
        personalised_ads,
        precise_geo: adult || (personalised_ads && child.geolocation == Toggle::On),
        tc_string,
        tc_model,
        ac_string,
        gpp,
        gpp_sid,
        usnat,
        bcat,
        tfat,
        max_ad_content_rating,
        max_ad_age: age,
    }
}
