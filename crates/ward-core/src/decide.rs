//! `decide`: may this child's data be used for this purpose, now? The 12-row table of
//! `RUNTIME.md`, first matching row wins, with its reason code and obligations.
//!
//! Allocation-free: the request carries interned indices ([`CompiledPolicy`] interns ids once),
//! the child's state is a compact [`ChildState`], and a [`Decision`] is `Copy`. A decision that
//! cannot be made denies: an unknown purpose or data id is a deny, never an error.
//!
//! Not for changing state: switching settings and consent is [`crate::settings`].

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::compiled::{CompiledPolicy, DataIdx, ObligationKind, PurposeIdx};
use crate::policy::Category;
use crate::settings::{ChildState, SettingValue};

/// Why a decision came out as it did: one per row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Row 1: the purpose is not in the policy.
    UnknownPurpose,
    /// Row 2: the request names data the purpose does not declare.
    UndeclaredData,
    /// Row 3: a commercial purpose reads data collected for a protective one.
    PurposeLimitation,
    /// Row 4: a solely automated significant decision about a child.
    AutomatedDecisionChild,
    /// Row 5: the purpose is required.
    Required,
    /// Row 6: the child is below the service's `min_age`.
    BelowMinAge,
    /// Row 7: the purpose is locked for children.
    LockedForChildren,
    /// Row 8: behavioural advertising with the GPC signal present.
    GpcOptOut,
    /// Row 9: a parent has not answered yet.
    AwaitingParent,
    /// Row 10: the setting is not on.
    SettingOff,
    /// Row 11: consent purpose without live consent from the right person.
    ConsentMissing,
    /// Row 12: the setting is on.
    SettingOn,
}

impl Reason {
    /// Every reason, in table order.
    pub const ALL: [Reason; 12] = [
        Self::UnknownPurpose,
        Self::UndeclaredData,
        Self::PurposeLimitation,
        Self::AutomatedDecisionChild,
        Self::Required,
        Self::BelowMinAge,
        Self::LockedForChildren,
        Self::GpcOptOut,
        Self::AwaitingParent,
        Self::SettingOff,
        Self::ConsentMissing,
        Self::SettingOn,
    ];

    /// The reason code, as in `RUNTIME.md`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownPurpose => "unknown_purpose",
            Self::UndeclaredData => "undeclared_data",
            Self::PurposeLimitation => "purpose_limitation",
            Self::AutomatedDecisionChild => "automated_decision_child",
            Self::Required => "required",
            Self::BelowMinAge => "below_min_age",
            Self::LockedForChildren => "locked_for_children",
            Self::GpcOptOut => "gpc_opt_out",
            Self::AwaitingParent => "awaiting_parent",
            Self::SettingOff => "setting_off",
            Self::ConsentMissing => "consent_missing",
            Self::SettingOn => "setting_on",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What an allow obliges the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Obligation {
    /// Run the feed guard for this age.
    FilterFeed {
        /// The child's age for ratings.
        age: u8,
    },
    /// Keep unknown adults out of suggestions.
    AdultContactFilter,
    /// No notifications that respond to inactivity.
    NoInactivityNudges,
    /// Ads must suit this age.
    MaxAdAge {
        /// The child's age.
        age: u8,
    },
}

impl Obligation {
    /// The obligation's kind, as in `RUNTIME.md`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::FilterFeed { .. } => "filter_feed",
            Self::AdultContactFilter => "adult_contact_filter",
            Self::NoInactivityNudges => "no_inactivity_nudges",
            Self::MaxAdAge { .. } => "max_ad_age",
        }
    }
}

/// The answer: allow or deny, why, and what an allow obliges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// May the data be used?
    pub allow: bool,
    /// The row that decided.
    pub reason: Reason,
    /// At most one obligation (each purpose has one category).
    pub obligation: Option<Obligation>,
}

impl Decision {
    const fn deny(reason: Reason) -> Self {
        Self {
            allow: false,
            reason,
            obligation: None,
        }
    }
}

/// `{"allow", "reasons": [code], "obligations": [{"kind", "age"?}]}`, as in `RUNTIME.md`.
impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Reasons(Reason);
        impl Serialize for Reasons {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(1))?;
                seq.serialize_element(self.0.code())?;
                seq.end()
            }
        }
        struct Obligations(Option<Obligation>);
        impl Serialize for Obligations {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(usize::from(self.0.is_some())))?;
                if let Some(obligation) = self.0 {
                    seq.serialize_element(&ObligationJson(obligation))?;
                }
                seq.end()
            }
        }
        struct ObligationJson(Obligation);
        impl Serialize for ObligationJson {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("kind", self.0.kind())?;
                if let Obligation::FilterFeed { age } | Obligation::MaxAdAge { age } = self.0 {
                    map.serialize_entry("age", &age)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("allow", &self.allow)?;
        map.serialize_entry("reasons", &Reasons(self.reason))?;
        map.serialize_entry("obligations", &Obligations(self.obligation))?;
        map.end()
    }
}

/// A data reference in a request: interned, or an id the policy does not know.
pub type DataRef = Option<DataIdx>;

/// A request, interned: the purpose (`None` when the policy has no such purpose), the data it
/// would read, and whether the Global Privacy Control signal is present.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The purpose.
    pub purpose: Option<PurposeIdx>,
    /// The data it would read.
    pub data: &'a [DataRef],
    /// The GPC signal.
    pub gpc: bool,
}

/// Decides one request for one child at `now`. Pure: the same inputs give the same answer.
pub fn decide(
    policy: &CompiledPolicy,
    child: &ChildState,
    request: &Request<'_>,
    now: Timestamp,
) -> Decision {
    // Row 1.
    let Some(purpose_idx) = request.purpose else {
        return Decision::deny(Reason::UnknownPurpose);
    };
    let purpose = policy.purpose(purpose_idx);
    // Row 2.
    if request
        .data
        .iter()
        .any(|data| !data.is_some_and(|d| purpose.declares(d)))
    {
        return Decision::deny(Reason::UndeclaredData);
    }
    // Row 3.
    if purpose.commercial
        && request
            .data
            .iter()
            .flatten()
            .any(|d| policy.data_is_protective(*d))
    {
        return Decision::deny(Reason::PurposeLimitation);
    }
    let status = child.age_status(policy, now);
    let adult = status.is_adult();
    let allow = |reason| Decision {
        allow: true,
        reason,
        obligation: if adult {
            None
        } else {
            obligation(purpose.obligation, status.working_age(policy.min_age()))
        },
    };
    // Row 4.
    if !adult && purpose.automated_significant {
        return Decision::deny(Reason::AutomatedDecisionChild);
    }
    // Row 5.
    if purpose.required {
        return allow(Reason::Required);
    }
    // Row 6.
    if !adult && status.is_below(policy.min_age()) {
        return Decision::deny(Reason::BelowMinAge);
    }
    // Row 7.
    if !adult && purpose.locked_for_children {
        return Decision::deny(Reason::LockedForChildren);
    }
    // Row 8.
    if purpose.category == Category::BehaviouralAdvertising && request.gpc {
        return Decision::deny(Reason::GpcOptOut);
    }
    let slot = purpose
        .setting
        .and_then(|setting| child.settings.get(setting.0 as usize));
    let Some(slot) = slot else {
        return Decision::deny(Reason::SettingOff);
    };
    match slot.effective {
        // Row 9.
        SettingValue::PendingParent => return Decision::deny(Reason::AwaitingParent),
        SettingValue::On => {}
        // Row 10.
        SettingValue::Off | SettingValue::LockedOff => return Decision::deny(Reason::SettingOff),
    }
    // Row 11.
    if purpose.consent_basis {
        let needs_parent = status.needs_parent(child.jurisdiction, policy.min_age());
        let live = slot
            .consent
            .is_some_and(|consent| consent.is_live(purpose.version, needs_parent));
        if !live {
            return Decision::deny(Reason::ConsentMissing);
        }
    }
    // Row 12.
    allow(Reason::SettingOn)
}

fn obligation(kind: ObligationKind, age: u8) -> Option<Obligation> {
    match kind {
        ObligationKind::None => None,
        ObligationKind::FilterFeed => Some(Obligation::FilterFeed { age }),
        ObligationKind::AdultContactFilter => Some(Obligation::AdultContactFilter),
        ObligationKind::NoInactivityNudges => Some(Obligation::NoInactivityNudges),
        ObligationKind::MaxAdAge => Some(Obligation::MaxAdAge { age }),
    }
}

/// Decides many requests, each for its own child, appending to `out` in order. Reuses `out`'s
/// capacity, so a caller that keeps the vector allocates nothing per batch.
pub fn decide_batch<'a>(
    policy: &CompiledPolicy,
    requests: impl IntoIterator<Item = (&'a ChildState, Request<'a>)>,
    now: Timestamp,
    out: &mut Vec<Decision>,
) {
    out.extend(
        requests
            .into_iter()
            .map(|(child, request)| decide(policy, child, &request, now)),
    );
}
