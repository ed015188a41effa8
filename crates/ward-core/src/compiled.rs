//! The policy compiled for the hot path: purposes, settings and data interned to dense indices,
//! each purpose's declared data as a bitset, its flags precomputed, and a stable version.
//!
//! Built once per policy (at start and on reload); `decide` then reads it without hashing a
//! string or allocating. Not for linting: a policy with lint errors still compiles, and
//! `ward serve` is what refuses to run one.

use sha2::{Digest, Sha256};

use crate::age::AgeBand;
use crate::ids::{IdMap, PurposeId, SettingId};
use crate::policy::{Category, LawfulBasis, Policy, Purpose, Toggle};

/// A purpose's position in the compiled policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PurposeIdx(pub u32);

/// A `[[data]]` item's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataIdx(pub u32);

/// A setting's position: also its slot in every child's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SettingIdx(pub u16);

/// A stable fingerprint of what a child consents to: category, description, data and lawful
/// basis. When it changes, consent given to the old version is no longer live (RUNTIME.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PurposeVersion(pub u32);

/// What an allow obliges the caller to do (by category).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObligationKind {
    /// Nothing.
    None,
    /// Run the feed guard for the child's age.
    FilterFeed,
    /// Keep unknown adults out of suggestions.
    AdultContactFilter,
    /// No notifications that respond to inactivity.
    NoInactivityNudges,
    /// Ads must suit the child's age.
    MaxAdAge,
}

/// One purpose, ready for `decide`.
#[derive(Debug, Clone)]
pub struct CompiledPurpose {
    /// Its id.
    pub id: PurposeId,
    /// Its category.
    pub category: Category,
    /// Required (see [`Purpose::is_required`]).
    pub required: bool,
    /// Children can never switch it on.
    pub locked_for_children: bool,
    /// Its lawful basis is consent.
    pub consent_basis: bool,
    /// A solely automated significant decision.
    pub automated_significant: bool,
    /// A commercial category.
    pub commercial: bool,
    /// Its setting, if any.
    pub setting: Option<SettingIdx>,
    /// Its version.
    pub version: PurposeVersion,
    /// What an allow obliges.
    pub obligation: ObligationKind,
    declared_data: Box<[u64]>,
}

impl CompiledPurpose {
    /// True when the purpose declares this data item.
    pub fn declares(&self, data: DataIdx) -> bool {
        let idx = data.0 as usize;
        self.declared_data
            .get(idx / 64)
            .is_some_and(|word| word & (1 << (idx % 64)) != 0)
    }
}

/// One setting: its id, the purpose it controls and its default.
#[derive(Debug, Clone)]
pub struct CompiledSetting {
    /// Its id.
    pub id: SettingId,
    /// The purpose it controls (the first, if a policy with lint errors shares it).
    pub purpose: PurposeIdx,
    /// Its default.
    pub default: Toggle,
}

/// A policy compiled for `decide` and the settings flow.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    policy: Policy,
    purposes: Vec<CompiledPurpose>,
    settings: Vec<CompiledSetting>,
    purpose_by_id: IdMap<Box<str>, PurposeIdx>,
    setting_by_id: IdMap<Box<str>, SettingIdx>,
    data_by_id: IdMap<Box<str>, DataIdx>,
    /// Per data item: collected for a protective purpose.
    data_protective: Vec<bool>,
}

/// Why a policy cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// More settings than a child's state can index.
    #[error("a policy may declare at most {max} settings, this one has {found}", max = u16::MAX)]
    TooManySettings {
        /// How many.
        found: usize,
    },
}

impl CompiledPolicy {
    /// Compiles `policy`.
    pub fn new(policy: Policy) -> Result<Self, CompileError> {
        let data_by_id: IdMap<Box<str>, DataIdx> = policy
            .data
            .iter()
            .enumerate()
            .map(|(idx, item)| (item.id.as_str().into(), DataIdx(idx as u32)))
            .collect();
        let data_protective = policy
            .data
            .iter()
            .map(|item| {
                policy
                    .purpose(&item.collected_for)
                    .is_some_and(|p| p.category.is_protective())
            })
            .collect();
        let purpose_by_id = policy
            .purposes
            .iter()
            .enumerate()
            .map(|(idx, p)| (p.id.as_str().into(), PurposeIdx(idx as u32)))
            .collect();

        let mut settings: Vec<CompiledSetting> = Vec::new();
        let mut setting_by_id: IdMap<Box<str>, SettingIdx> = IdMap::default();
        let mut purposes = Vec::with_capacity(policy.purposes.len());
        for (idx, purpose) in policy.purposes.iter().enumerate() {
            let setting = match &purpose.setting {
                Some(id) if !purpose.is_required() => Some(match setting_by_id.get(id.as_str()) {
                    Some(existing) => *existing,
                    None => {
                        let setting_idx =
                            SettingIdx(u16::try_from(settings.len()).map_err(|_| {
                                CompileError::TooManySettings {
                                    found: settings.len() + 1,
                                }
                            })?);
                        settings.push(CompiledSetting {
                            id: id.clone(),
                            purpose: PurposeIdx(idx as u32),
                            default: purpose.default,
                        });
                        setting_by_id.insert(id.as_str().into(), setting_idx);
                        setting_idx
                    }
                }),
                _ => None,
            };
            let mut declared_data = vec![0u64; policy.data.len().div_ceil(64)].into_boxed_slice();
            for data_id in &purpose.data {
                if let Some(DataIdx(data_idx)) = data_by_id.get(data_id.as_str()) {
                    declared_data[*data_idx as usize / 64] |= 1 << (*data_idx % 64);
                }
            }
            purposes.push(CompiledPurpose {
                id: purpose.id.clone(),
                category: purpose.category,
                required: purpose.is_required(),
                locked_for_children: purpose.locked_for_children,
                consent_basis: purpose.lawful_basis == LawfulBasis::Consent,
                automated_significant: purpose.solely_automated_significant_decision,
                commercial: purpose.category.is_commercial(),
                setting,
                version: purpose_version(purpose),
                obligation: match purpose.category {
                    Category::ContentRecommendation | Category::NewsFeed => {
                        ObligationKind::FilterFeed
                    }
                    Category::ContactSuggestions => ObligationKind::AdultContactFilter,
                    Category::Engagement => ObligationKind::NoInactivityNudges,
                    Category::BehaviouralAdvertising => ObligationKind::MaxAdAge,
                    _ => ObligationKind::None,
                },
                declared_data,
            });
        }
        Ok(Self {
            policy,
            purposes,
            settings,
            purpose_by_id,
            setting_by_id,
            data_by_id,
            data_protective,
        })
    }

    /// The policy this was compiled from.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The service's `min_age`.
    pub fn min_age(&self) -> u8 {
        self.policy.service.min_age
    }

    /// Interns a purpose id.
    pub fn purpose_idx(&self, id: &str) -> Option<PurposeIdx> {
        self.purpose_by_id.get(id).copied()
    }

    /// Interns a data id.
    pub fn data_idx(&self, id: &str) -> Option<DataIdx> {
        self.data_by_id.get(id).copied()
    }

    /// Interns a setting id.
    pub fn setting_idx(&self, id: &str) -> Option<SettingIdx> {
        self.setting_by_id.get(id).copied()
    }

    /// The compiled purpose at `idx`.
    pub fn purpose(&self, idx: PurposeIdx) -> &CompiledPurpose {
        &self.purposes[idx.0 as usize]
    }

    /// The policy's own declaration of the purpose at `idx` (names, texts).
    pub fn declared_purpose(&self, idx: PurposeIdx) -> &Purpose {
        &self.policy.purposes[idx.0 as usize]
    }

    /// Every compiled purpose.
    pub fn purposes(&self) -> &[CompiledPurpose] {
        &self.purposes
    }

    /// Every setting, in slot order.
    pub fn settings(&self) -> &[CompiledSetting] {
        &self.settings
    }

    /// The setting at `idx`.
    pub fn setting(&self, idx: SettingIdx) -> &CompiledSetting {
        &self.settings[idx.0 as usize]
    }

    /// True when the data item was collected for a protective purpose.
    pub fn data_is_protective(&self, data: DataIdx) -> bool {
        self.data_protective
            .get(data.0 as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The version of the texts a child in `band` sees when switching on `purpose`: a hash of
    /// the purpose id, the band and both texts, so the ledger can name exactly what was shown.
    pub fn text_version(&self, purpose: PurposeIdx, band: Option<AgeBand>) -> String {
        let declared = self.declared_purpose(purpose);
        let mut hasher = Sha256::new();
        hasher.update(declared.id.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(band.map_or("adult", AgeBand::as_str).as_bytes());
        for text in band
            .map(|b| [declared.explain.for_band(b), declared.ask_adult.for_band(b)])
            .unwrap_or([None, None])
        {
            hasher.update([0]);
            hasher.update(text.unwrap_or("").as_bytes());
        }
        hex_prefix(&hasher.finalize(), 8)
    }
}

/// The first `n_bytes` of a digest, in hex.
pub(crate) fn hex_prefix(digest: &[u8], n_bytes: usize) -> String {
    digest
        .iter()
        .take(n_bytes)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A purpose's version: SHA-256 over what consent covers (RUNTIME.md: category, description,
/// data, lawful basis), truncated to 32 bits. Data order does not matter.
pub fn purpose_version(purpose: &Purpose) -> PurposeVersion {
    let mut data: Vec<&str> = purpose.data.iter().map(|d| d.as_str()).collect();
    data.sort_unstable();
    let mut hasher = Sha256::new();
    for part in [
        purpose.category.as_str(),
        purpose.description.as_str(),
        purpose.lawful_basis.as_str(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for data_id in data {
        hasher.update(data_id.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    PurposeVersion(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}
