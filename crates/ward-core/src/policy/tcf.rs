//! `[tcf]`: what the ad-tech signals need beyond the purposes. The CMP's registration (id,
//! version, screen, language), the Global Vendor List it reads (version, policy version), the
//! publisher's country, the vendors the service discloses with the TCF purposes each uses by
//! consent or by legitimate interest, Google's Additional Consent providers (ad tech not on
//! the GVL), and the publisher's restrictions.
//!
//! How a ward purpose reaches the TC string is each `[[purpose]]`'s `tcf_purposes`: the TCF
//! purposes that purpose's processing is. See `docs/signals.md` for the whole mapping.
//!
//! Not for deciding what the bits say for a child: that is [`crate::signals`].

use toml::Spanned;

use super::raw::{RawAcProvider, RawRestriction, RawTcf, RawVendor};
use super::{SchemaError, Span, in_range, span_of};
use crate::jurisdiction::Jurisdiction;
use crate::signals::tcf::{IdSet, RestrictionType};

/// The highest TCF purpose id (TCF v2.2: eleven purposes).
pub const MAX_TCF_PURPOSE: i64 = 11;
/// The highest TCF special purpose id (TCF v2.2: three).
pub const MAX_TCF_SPECIAL_PURPOSE: i64 = 3;

/// `[tcf]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TcfConfig {
    /// The CMP's id on the IAB's CMP list (1..=4095).
    pub cmp_id: u16,
    /// The CMP's version (0..=4095).
    pub cmp_version: u16,
    /// The screen consent is given on (0..=63; default 1).
    pub consent_screen: u8,
    /// The language of the texts shown, ISO 639-1, upper case (default `EN`).
    pub consent_language: [u8; 2],
    /// The Global Vendor List version the vendors were read from.
    pub vendor_list_version: u16,
    /// That list's `tcfPolicyVersion`.
    pub policy_version: u8,
    /// The publisher's country, ISO 3166-1 alpha-2 (default the first jurisdiction).
    pub publisher_country: [u8; 2],
    /// The vendors, ascending by id.
    pub vendors: Vec<TcfVendor>,
    /// Google Additional Consent providers, ascending by id.
    pub ac_providers: Vec<AcProvider>,
    /// Publisher restrictions, in file order.
    pub restrictions: Vec<TcfRestriction>,
    /// Where the section is.
    pub span: Span,
}

/// A vendor the service discloses (`[[tcf.vendor]]`), as on the Global Vendor List.
#[derive(Debug, Clone, PartialEq)]
pub struct TcfVendor {
    /// Its GVL id.
    pub id: u16,
    /// Its name.
    pub name: String,
    /// TCF purposes it processes by consent.
    pub consent: IdSet,
    /// TCF purposes it processes by legitimate interest.
    pub legitimate_interest: IdSet,
    /// TCF special purposes (security, delivery, …), disclosed only.
    pub special_purposes: IdSet,
    /// Where its table is.
    pub span: Span,
    /// Where its `legitimate_interest` list is.
    pub legitimate_interest_span: Span,
}

/// A Google Additional Consent provider (`[[tcf.ac_provider]]`): ad tech on Google's list of
/// providers but not on the GVL.
#[derive(Debug, Clone, PartialEq)]
pub struct AcProvider {
    /// Its id on Google's provider list.
    pub id: u16,
    /// Its name.
    pub name: String,
    /// The TCF purposes it needs consent for; it counts as consented only when all are.
    pub consent: IdSet,
    /// Where its table is.
    pub span: Span,
}

/// A publisher restriction (`[[tcf.restriction]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct TcfRestriction {
    /// The TCF purpose.
    pub purpose: u8,
    /// What it requires.
    pub restriction: RestrictionType,
    /// The vendors it applies to, ascending.
    pub vendors: Vec<u16>,
}

fn two_letters(text: &Spanned<String>, key: &str, example: &str) -> Result<[u8; 2], SchemaError> {
    let value = text.get_ref();
    match value.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Ok([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => Err(SchemaError::at(
            text.span(),
            format!("`{key}` must be two letters, like \"{example}\"; found `{value}`"),
        )),
    }
}

fn id_list(
    list: &Option<Spanned<Vec<Spanned<i64>>>>,
    high: i64,
    key: &str,
) -> Result<IdSet, SchemaError> {
    let mut set = IdSet::EMPTY;
    for id in list.iter().flat_map(|list| list.get_ref()) {
        let value = in_range(id, 1, high, key)? as u8;
        if set.contains(value) {
            return Err(SchemaError::at(
                id.span(),
                format!("`{key}` lists {value} twice"),
            ));
        }
        set.insert(value);
    }
    Ok(set)
}

fn name(text: Spanned<String>, table: &str) -> Result<String, SchemaError> {
    if text.get_ref().trim().is_empty() {
        return Err(SchemaError::at(
            text.span(),
            format!("a `{table}` `name` cannot be empty: it is what the disclosure names"),
        ));
    }
    Ok(text.into_inner())
}

fn vendor(spanned: Spanned<RawVendor>) -> Result<TcfVendor, SchemaError> {
    let span = Span::new(spanned.span());
    let raw = spanned.into_inner();
    let id = in_range(&raw.id, 1, i64::from(u16::MAX), "id")? as u16;
    let consent = id_list(&raw.consent, MAX_TCF_PURPOSE, "consent")?;
    let legitimate_interest = id_list(
        &raw.legitimate_interest,
        MAX_TCF_PURPOSE,
        "legitimate_interest",
    )?;
    if legitimate_interest.contains(1) {
        return Err(SchemaError::at(
            span_of(&raw.legitimate_interest).range(),
            "TCF purpose 1 (store and access information on a device) always rests on consent: move it to `consent`",
        ));
    }
    if let Some(both) = consent.intersection(legitimate_interest).ids().next() {
        return Err(SchemaError::at(
            span_of(&raw.legitimate_interest).range(),
            format!(
                "TCF purpose {both} is listed under both `consent` and `legitimate_interest`: a vendor declares each purpose under one basis"
            ),
        ));
    }
    Ok(TcfVendor {
        id,
        name: name(raw.name, "[[tcf.vendor]]")?,
        consent,
        legitimate_interest,
        special_purposes: id_list(
            &raw.special_purposes,
            MAX_TCF_SPECIAL_PURPOSE,
            "special_purposes",
        )?,
        span,
        legitimate_interest_span: span_of(&raw.legitimate_interest),
    })
}

fn ac_provider(spanned: Spanned<RawAcProvider>) -> Result<AcProvider, SchemaError> {
    let span = Span::new(spanned.span());
    let raw = spanned.into_inner();
    Ok(AcProvider {
        id: in_range(&raw.id, 1, i64::from(u16::MAX), "id")? as u16,
        name: name(raw.name, "[[tcf.ac_provider]]")?,
        consent: id_list(&raw.consent, MAX_TCF_PURPOSE, "consent")?,
        span,
    })
}

fn restriction(raw: RawRestriction, vendors: &[TcfVendor]) -> Result<TcfRestriction, SchemaError> {
    let purpose = in_range(&raw.purpose, 1, MAX_TCF_PURPOSE, "purpose")? as u8;
    let restriction = *raw.r#type.get_ref();
    if purpose == 1 && restriction == RestrictionType::RequireLegitimateInterest {
        return Err(SchemaError::at(
            raw.r#type.span(),
            "TCF purpose 1 always rests on consent: it cannot require legitimate interest",
        ));
    }
    let mut ids = Vec::new();
    for id in raw.vendors.get_ref() {
        let value = in_range(id, 1, i64::from(u16::MAX), "vendors")? as u16;
        if vendors.binary_search_by_key(&value, |v| v.id).is_err() {
            return Err(SchemaError::at(
                id.span(),
                format!(
                    "vendor {value} is not declared: add a `[[tcf.vendor]]` with `id = {value}`"
                ),
            ));
        }
        ids.push(value);
    }
    if ids.is_empty() {
        return Err(SchemaError::at(
            raw.vendors.span(),
            "a restriction's `vendors` cannot be empty",
        ));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(TcfRestriction {
        purpose,
        restriction,
        vendors: ids,
    })
}

/// Checks `[tcf]`. `jurisdictions` gives the default publisher country.
pub(super) fn convert(
    spanned: Spanned<RawTcf>,
    jurisdictions: &[Jurisdiction],
) -> Result<TcfConfig, SchemaError> {
    let span = Span::new(spanned.span());
    let raw = spanned.into_inner();
    let mut vendors = raw
        .vendor
        .into_iter()
        .map(vendor)
        .collect::<Result<Vec<_>, _>>()?;
    vendors.sort_by_key(|v| v.id);
    if let Some(pair) = vendors.windows(2).find(|pair| pair[0].id == pair[1].id) {
        return Err(SchemaError::at(
            pair[1].span.range(),
            format!(
                "vendor {} is declared twice: declare each vendor once",
                pair[1].id
            ),
        ));
    }
    let mut ac_providers = raw
        .ac_provider
        .into_iter()
        .map(ac_provider)
        .collect::<Result<Vec<_>, _>>()?;
    ac_providers.sort_by_key(|p| p.id);
    if let Some(pair) = ac_providers
        .windows(2)
        .find(|pair| pair[0].id == pair[1].id)
    {
        return Err(SchemaError::at(
            pair[1].span.range(),
            format!(
                "Additional Consent provider {} is declared twice",
                pair[1].id
            ),
        ));
    }
    let restrictions = raw
        .restriction
        .into_iter()
        .map(|r| restriction(r.into_inner(), &vendors))
        .collect::<Result<Vec<_>, _>>()?;
    let publisher_country = match &raw.publisher_country {
        Some(text) => two_letters(text, "publisher_country", "GB")?,
        None => jurisdictions.first().map_or(*b"GB", |j| j.letters()),
    };
    Ok(TcfConfig {
        cmp_id: in_range(&raw.cmp_id, 1, 4095, "cmp_id")? as u16,
        cmp_version: in_range(&raw.cmp_version, 0, 4095, "cmp_version")? as u16,
        consent_screen: match &raw.consent_screen {
            Some(screen) => in_range(screen, 0, 63, "consent_screen")? as u8,
            None => 1,
        },
        consent_language: match &raw.consent_language {
            Some(text) => two_letters(text, "consent_language", "EN")?,
            None => *b"EN",
        },
        vendor_list_version: in_range(&raw.vendor_list_version, 1, 4095, "vendor_list_version")?
            as u16,
        policy_version: in_range(&raw.policy_version, 1, 63, "policy_version")? as u8,
        publisher_country,
        vendors,
        ac_providers,
        restrictions,
        span,
    })
}
