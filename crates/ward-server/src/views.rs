//! The JSON the API returns for a child: their age as ward treats it, their account
//! defaults and supervision, and each setting with the policy's own names, its preferred and
//! effective values and the consent behind it. Built from the core's [`Child`] and the policy
//! in force; nothing here decides anything.

use jiff::Timestamp;
use serde::Serialize;
use ward_core::child::AgeStatus;
use ward_core::compiled::CompiledPolicy;
use ward_core::ids::{ChildId, ParentId, PurposeId, SettingId};
use ward_core::policy::{Category, ParentalConsentMethod, ProfileVisibility, Toggle};
use ward_core::settings::{Child, ConsentGiver, ConsentRequest, SettingValue};

/// A child, as the API shows them.
#[derive(Debug, Serialize)]
pub struct ChildView {
    /// The service's id.
    pub id: ChildId,
    /// `0-5` … `16-17`, `adult` or `unknown`.
    pub band: &'static str,
    /// The exact age, when the record gives one.
    pub age: Option<u8>,
    /// The age ward works with (obligations, consent): exact, else the band's youngest; the
    /// service's `min_age` for `unknown`.
    pub working_age: u8,
    /// Below the service's `min_age`: refused everything not required.
    pub below_min_age: bool,
    /// The child's jurisdiction.
    pub jurisdiction: String,
    /// Its age of digital consent.
    pub consent_age: u8,
    /// A consent purpose needs a parent's consent for this child.
    pub needs_parent: bool,
    /// The child's own time zone, if the service gave one.
    pub time_zone: Option<String>,
    /// A parent is linked: every child-facing surface shows it.
    pub supervised: bool,
    /// Linked parents.
    pub parents: Vec<ParentId>,
    /// Profile visibility.
    pub profile: ProfileVisibility,
    /// Location sharing (back to off at every session end).
    pub geolocation: Toggle,
    /// One per setting in the policy.
    pub settings: Vec<SettingView>,
    /// Consent requests waiting for a parent.
    pub pending_requests: Vec<ConsentRequest>,
}

/// One setting.
#[derive(Debug, Serialize)]
pub struct SettingView {
    /// The setting's id.
    pub id: SettingId,
    /// The purpose it controls.
    pub purpose: PurposeId,
    /// The policy's name for it.
    pub name: String,
    /// What it does, in the policy's words.
    pub description: String,
    /// Its category.
    pub category: Category,
    /// What the child asked for.
    pub preferred: SettingValue,
    /// What applies now.
    pub effective: SettingValue,
    /// The consent behind it, if any.
    pub consent: Option<ConsentView>,
}

/// The consent behind a setting.
#[derive(Debug, Serialize)]
pub struct ConsentView {
    /// The child themself, or a parent.
    pub given_by: ConsentGiver,
    /// The parent, when a parent gave it.
    pub parent: Option<ParentId>,
    /// How the parent was verified.
    pub method: Option<ParentalConsentMethod>,
    /// When.
    pub given_at: Option<Timestamp>,
    /// The child crossed the age of digital consent: they should confirm it themselves.
    pub refresh_due: bool,
    /// `decide` counts it: it covers the purpose as the policy now describes it, and it is a
    /// parent's whenever the child needs one (the same test as `decide`'s row 11).
    pub live: bool,
}

impl ChildView {
    /// The view of `child` under `policy` at `now`.
    pub fn new(child: &Child, policy: &CompiledPolicy, now: Timestamp) -> Self {
        let status = child.state.age_status(policy, now);
        let min_age = policy.min_age();
        let needs_parent = status.needs_parent(child.state.jurisdiction, min_age);
        let settings = policy
            .settings()
            .iter()
            .zip(child.state.settings.iter())
            .map(|(setting, slot)| {
                let purpose = policy.purpose(setting.purpose);
                let declared = policy.declared_purpose(setting.purpose);
                let record = child.consents.iter().find(|c| c.setting == setting.id);
                SettingView {
                    id: setting.id.clone(),
                    purpose: purpose.id.clone(),
                    name: declared.name.clone(),
                    description: declared.description.clone(),
                    category: purpose.category,
                    preferred: slot.preferred,
                    effective: slot.effective,
                    consent: slot.consent.map(|link| ConsentView {
                        given_by: link.giver,
                        parent: record.and_then(|r| r.parent.clone()),
                        method: record.and_then(|r| r.method),
                        given_at: record.map(|r| r.given_at),
                        refresh_due: link.refresh_due,
                        live: link.is_live(purpose.version, needs_parent),
                    }),
                }
            })
            .collect();
        Self {
            id: child.id.clone(),
            band: status.band_str(),
            age: match status {
                AgeStatus::Child { age, .. } => age,
                AgeStatus::Unknown | AgeStatus::Adult => None,
            },
            working_age: status.working_age(min_age),
            below_min_age: status.is_below(min_age),
            jurisdiction: child.state.jurisdiction.to_string(),
            consent_age: child.state.jurisdiction.consent_age(),
            needs_parent,
            time_zone: child.time_zone.clone(),
            supervised: child.state.supervised,
            parents: child.parents.clone(),
            profile: child.state.profile,
            geolocation: child.state.geolocation,
            settings,
            pending_requests: child.requests.clone(),
        }
    }
}
