//! The `ward.toml` file as written: serde structures that mirror it key for key, with spans.
//!
//! Strictness lives here: every table denies unknown keys, enums list their values, and ids
//! and jurisdictions are checked while they are read, so the TOML parser reports each of these
//! with its span. Range checks and duplicates are applied when this is turned into the
//! [`Policy`](super::Policy) in the parent module. Nothing outside `policy` sees these types.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use toml::Spanned;

use super::{
    AgeMethod, Category, EditorialCode, LawfulBasis, ParentalConsentMethod, Precaution,
    ProfileVisibility, Safeguard, ServiceKind, Toggle, Trigger, UnknownTags,
};
use crate::age::AgeBand;
use crate::ids::{DataId, PurposeId, SettingId};
use crate::signals::tcf::RestrictionType;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) service: Spanned<RawService>,
    #[serde(default)]
    pub(super) defaults: Option<Spanned<RawDefaults>>,
    #[serde(default)]
    pub(super) purpose: Vec<Spanned<RawPurpose>>,
    #[serde(default)]
    pub(super) data: Vec<Spanned<RawData>>,
    #[serde(default)]
    pub(super) cookie: Vec<Spanned<RawCookie>>,
    #[serde(default)]
    pub(super) feed: Option<Spanned<RawFeed>>,
    #[serde(default)]
    pub(super) consent: Option<Spanned<RawConsent>>,
    #[serde(default)]
    pub(super) tcf: Option<Spanned<RawTcf>>,
    pub(super) support: Option<Spanned<RawSupport>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<ServiceKind>,
    pub(super) min_age: Spanned<i64>,
    pub(super) jurisdictions: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) time_zone: Option<Spanned<String>>,
    pub(super) adult_age_methods: Option<Spanned<Vec<Spanned<AgeMethod>>>>,
    pub(super) editorial_code: Option<Spanned<EditorialCode>>,
    pub(super) parental_consent_methods: Option<Spanned<Vec<Spanned<ParentalConsentMethod>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) profile_visibility: Option<Spanned<ProfileVisibility>>,
    pub(super) geolocation_sharing: Option<Spanned<Toggle>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPurpose {
    pub(super) id: Spanned<PurposeId>,
    pub(super) name: Spanned<String>,
    pub(super) category: Spanned<Category>,
    pub(super) description: Spanned<String>,
    pub(super) setting: Option<Spanned<SettingId>>,
    pub(super) default: Option<Spanned<Toggle>>,
    pub(super) compelling_reason: Option<Spanned<String>>,
    pub(super) lawful_basis: Spanned<LawfulBasis>,
    pub(super) core: Option<Spanned<bool>>,
    pub(super) core_justification: Option<Spanned<String>>,
    pub(super) data: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) safeguards: Option<Spanned<Vec<Spanned<Safeguard>>>>,
    pub(super) locked_for_children: Option<Spanned<bool>>,
    pub(super) solely_automated_significant_decision: Option<Spanned<bool>>,
    pub(super) triggers: Option<Spanned<Vec<Spanned<Trigger>>>>,
    pub(super) tcf_purposes: Option<Spanned<Vec<Spanned<i64>>>>,
    pub(super) data_use: Option<Spanned<String>>,
    pub(super) explain: Option<Spanned<RawBandTexts>>,
    pub(super) ask_adult: Option<Spanned<RawBandTexts>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawData {
    pub(super) id: Spanned<DataId>,
    pub(super) collected_for: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCookie {
    pub(super) name: Spanned<String>,
    pub(super) purposes: Spanned<Vec<Spanned<String>>>,
    pub(super) essential: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) precaution: Option<Spanned<Precaution>>,
    pub(super) quiet_hours: Option<Spanned<String>>,
    pub(super) drift_window: Option<Spanned<i64>>,
    pub(super) drift_threshold: Option<Spanned<f64>>,
    pub(super) sensitive_topics: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) sensitive_cap: Option<Spanned<f64>>,
    pub(super) unknown_tags: Option<Spanned<UnknownTags>>,
    pub(super) harmless_tags: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) harmless_ad_categories: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) feedback_decay_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupport {
    pub(super) talk_to: Option<Spanned<String>>,
    pub(super) helpline: Option<Spanned<String>>,
    pub(super) helpline_contact: Option<Spanned<String>>,
    pub(super) report_sla_hours: Option<Spanned<i64>>,
    pub(super) parents_see_reason: Option<Spanned<bool>>,
    pub(super) not_for_me_text: Option<Spanned<RawBandTexts>>,
    pub(super) reported_text: Option<Spanned<RawBandTexts>>,
    pub(super) taken_down_text: Option<Spanned<RawBandTexts>>,
    pub(super) held_text: Option<Spanned<RawBandTexts>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTcf {
    pub(super) cmp_id: Spanned<i64>,
    pub(super) cmp_version: Spanned<i64>,
    pub(super) consent_screen: Option<Spanned<i64>>,
    pub(super) consent_language: Option<Spanned<String>>,
    pub(super) vendor_list_version: Spanned<i64>,
    pub(super) policy_version: Spanned<i64>,
    pub(super) publisher_country: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) vendor: Vec<Spanned<RawVendor>>,
    #[serde(default)]
    pub(super) ac_provider: Vec<Spanned<RawAcProvider>>,
    #[serde(default)]
    pub(super) restriction: Vec<Spanned<RawRestriction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVendor {
    pub(super) id: Spanned<i64>,
    pub(super) name: Spanned<String>,
    pub(super) consent: Option<Spanned<Vec<Spanned<i64>>>>,
    pub(super) legitimate_interest: Option<Spanned<Vec<Spanned<i64>>>>,
    pub(super) special_purposes: Option<Spanned<Vec<Spanned<i64>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAcProvider {
    pub(super) id: Spanned<i64>,
    pub(super) name: Spanned<String>,
    pub(super) consent: Option<Spanned<Vec<Spanned<i64>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRestriction {
    pub(super) purpose: Spanned<i64>,
    pub(super) r#type: Spanned<RestrictionType>,
    pub(super) vendors: Spanned<Vec<Spanned<i64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsent {
    pub(super) request_ttl_days: Option<Spanned<i64>>,
}

/// `explain` or `ask_adult`: one text for every band, or a table keyed by band.
pub(super) enum RawBandTexts {
    All(String),
    PerBand(BTreeMap<AgeBand, String>),
}

/// The end of the last field written in a table. The parser's span for an `[[array]]` table
/// runs on to the next header, so findings about a table end here instead.
pub(super) trait LastFieldEnd {
    fn last_field_end(&self) -> usize;
}

macro_rules! last_field_end {
    ($ty:ty { required: [$($req:ident),*], optional: [$($opt:ident),*] }) => {
        impl LastFieldEnd for $ty {
            fn last_field_end(&self) -> usize {
                let ends = [$(Some(self.$req.span().end)),*, $(self.$opt.as_ref().map(|f| f.span().end)),*];
                ends.into_iter().flatten().max().unwrap_or(0)
            }
        }
    };
}

last_field_end!(RawPurpose {
    required: [id, name, category, description, lawful_basis],
    optional: [
        setting,
        default,
        compelling_reason,
        core,
        core_justification,
        data,
        safeguards,
        locked_for_children,
        solely_automated_significant_decision,
        triggers,
        tcf_purposes,
        data_use,
        explain,
        ask_adult
    ]
});
last_field_end!(RawData {
    required: [id, collected_for],
    optional: []
});
last_field_end!(RawCookie {
    required: [name, purposes],
    optional: [essential]
});

impl<'de> Deserialize<'de> for RawBandTexts {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BandTextsVisitor;

        impl<'de> Visitor<'de> for BandTextsVisitor {
            type Value = RawBandTexts;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a text, or a table of texts keyed by age band like { \"6-9\" = \"…\" }",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(RawBandTexts::All(text.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut texts = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let band: AgeBand = key.parse().map_err(de::Error::custom)?;
                    let text: String = map.next_value()?;
                    texts.insert(band, text);
                }
                Ok(RawBandTexts::PerBand(texts))
            }
        }

        deserializer.deserialize_any(BandTextsVisitor)
    }
}
