//! The storable form of a [`Child`]: what `ward-store` writes, independent of the order in
//! which a policy happens to list its settings.
//!
//! A [`Child`] holds one slot per setting in the compiled policy's slot order, which is right
//! for `decide` and wrong for storage: a reordered, extended or shortened policy would read
//! the wrong slots. A [`ChildDocument`] keys settings by id instead and records which policy
//! generation last wrote it, so the store can tell when [`Child::apply_policy_change`] is due.
//!
//! Not for the ledger (events are their own record) and not a wire format of the HTTP API
//! (the server renders its own views).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::age::AgeBand;
use crate::child::{AgeRecord, AgeSnapshot, AgeStatus, age_snapshot};
use crate::compiled::CompiledPolicy;
use crate::controls::{Controls, UsageState};
use crate::feedback::Feedback;
use crate::ids::{ChildId, ParentId, SettingId};
use crate::jurisdiction::Jurisdiction;
use crate::policy::{ProfileVisibility, Toggle};
use crate::settings::{
    Child, ChildState, ConsentRecord, ConsentRequest, SettingSlot, default_slot,
};

/// A child as stored: settings by id, everything else as [`Child`] has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildDocument {
    /// The service's id for them.
    pub id: ChildId,
    /// Their latest age-assurance record.
    pub age_record: Option<AgeRecord>,
    /// Their jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// Their own IANA time zone, when the service gives one.
    pub time_zone: Option<String>,
    /// Linked parents.
    pub parents: Vec<ParentId>,
    /// Every setting the policy that wrote this had, by id.
    pub settings: BTreeMap<SettingId, SettingSlot>,
    /// Location sharing.
    pub geolocation: Toggle,
    /// Profile visibility.
    pub profile: ProfileVisibility,
    /// Waiting consent requests.
    pub requests: Vec<ConsentRequest>,
    /// Live consents.
    pub consents: Vec<ConsentRecord>,
    /// Parental controls.
    #[serde(default)]
    pub controls: Controls,
    /// Usage alerts raised, by local day.
    #[serde(default)]
    pub usage: UsageState,
    /// The local day a blocked-content alert was last raised.
    #[serde(default)]
    pub blocked_alerted_on: Option<jiff::civil::Date>,
    /// What the child was, age-wise, when last written, and until when that held. Restored on
    /// reading, so [`Child::observe`] sees a birthday that passed between two writes (the
    /// band change, crossing the consent age) instead of silently starting from the new age.
    #[serde(default)]
    pub age: Option<StoredAge>,
    /// The child's own feedback ("not for me", reports); absent when they gave none.
    #[serde(default, skip_serializing_if = "Feedback::is_empty")]
    pub feedback: Feedback,
}

/// An [`AgeSnapshot`] as stored: `band` is a band, `adult` or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredAge {
    /// `0-5` … `16-17`, `adult` or `unknown`.
    pub band: AgeBandText,
    /// The exact age, when the record gave one.
    #[serde(default)]
    pub age: Option<u8>,
    /// Unix seconds from which it may change.
    pub valid_until: i64,
}

/// A band as stored, with `adult` and `unknown` beside the Code's five.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBandText(Option<Option<AgeBand>>);

impl Serialize for AgeBandText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self.0 {
            None => "unknown",
            Some(None) => "adult",
            Some(Some(band)) => band.as_str(),
        })
    }
}

impl<'de> Deserialize<'de> for AgeBandText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "unknown" => Ok(Self(None)),
            "adult" => Ok(Self(Some(None))),
            band => band
                .parse()
                .map(|band| Self(Some(Some(band))))
                .map_err(serde::de::Error::custom),
        }
    }
}

impl From<AgeSnapshot> for StoredAge {
    fn from(snapshot: AgeSnapshot) -> Self {
        let (band, age) = match snapshot.status {
            AgeStatus::Unknown => (None, None),
            AgeStatus::Adult => (Some(None), None),
            AgeStatus::Child { age, band } => (Some(Some(band)), age),
        };
        Self {
            band: AgeBandText(band),
            age,
            valid_until: snapshot.valid_until,
        }
    }
}

impl From<StoredAge> for AgeSnapshot {
    fn from(stored: StoredAge) -> Self {
        let status = match stored.band.0 {
            None => AgeStatus::Unknown,
            Some(None) => AgeStatus::Adult,
            Some(Some(band)) => AgeStatus::Child {
                age: stored.age,
                band,
            },
        };
        Self {
            status,
            valid_until: stored.valid_until,
        }
    }
}

impl Child {
    /// The storable form of this child under `policy` (the policy its slots follow).
    pub fn to_document(&self, policy: &CompiledPolicy) -> ChildDocument {
        ChildDocument {
            id: self.id.clone(),
            age_record: self.state.age_record,
            jurisdiction: self.state.jurisdiction,
            time_zone: self.time_zone.clone(),
            parents: self.parents.clone(),
            settings: policy
                .settings()
                .iter()
                .zip(self.state.settings.iter())
                .map(|(setting, slot)| (setting.id.clone(), *slot))
                .collect(),
            geolocation: self.state.geolocation,
            profile: self.state.profile,
            requests: self.requests.clone(),
            consents: self.consents.clone(),
            controls: self.controls.clone(),
            usage: self.usage,
            blocked_alerted_on: self.blocked_alerted_on,
            feedback: self.feedback.clone(),
            age: Some(self.state.age.into()),
        }
    }

    /// The child a document describes, laid out for `policy`: a setting the document lacks
    /// starts at its default, one the policy lacks is left out. This is a plain reading, with
    /// no events; when `policy` is not the one that wrote the document, read it under that
    /// policy and call [`Child::apply_policy_change`], which says what changed.
    pub fn from_document(document: ChildDocument, policy: &CompiledPolicy, now: Timestamp) -> Self {
        // The age as last written, so time passing since shows in `observe`; a document from
        // before ages were stored is read at `now`.
        let age = document.age.map_or_else(
            || age_snapshot(document.age_record.as_ref(), policy.policy(), now),
            AgeSnapshot::from,
        );
        let settings = policy
            .settings()
            .iter()
            .map(|setting| {
                document
                    .settings
                    .get(setting.id.as_str())
                    .copied()
                    .unwrap_or_else(|| default_slot(policy, setting.purpose, age.status))
            })
            .collect();
        Self {
            id: document.id,
            state: ChildState {
                age,
                age_record: document.age_record,
                jurisdiction: document.jurisdiction,
                settings,
                supervised: !document.parents.is_empty(),
                geolocation: document.geolocation,
                profile: document.profile,
            },
            time_zone: document.time_zone,
            parents: document.parents,
            requests: document.requests,
            consents: document.consents,
            controls: document.controls,
            usage: document.usage,
            blocked_alerted_on: document.blocked_alerted_on,
            feedback: document.feedback,
        }
    }
}
