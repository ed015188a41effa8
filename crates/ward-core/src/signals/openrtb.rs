//! OpenRTB 2.6: the blocked categories a child's age implies (the CAP Code's restricted
//! categories, as IAB Tech Lab Ad Product Taxonomy 2.0 ids), and a bid request rewritten for
//! a child: `regs`, `user.consent`, `bcat`/`cattax` filled, identifiers the child's state
//! forbids removed, every other field kept as it came.
//!
//! Not for deciding what the child's state allows: [`super::Signals`] carries that in.

use serde_json::{Map, Value};

use super::Signals;
use crate::vocab::CapCategory;

/// `cattax` for IAB Tech Lab Ad Product Taxonomy 2.0 (AdCOM "Category Taxonomies").
pub const CATTAX_AD_PRODUCT_2_0: u64 = 8;

/// The Ad Product Taxonomy 2.0 ids (as strings, as `bcat` carries them) that stand for a CAP
/// category: the node itself and its children, since a bidder may match either.
///
/// Where the taxonomy has no node of the same scope the mapping is a judgement, named here:
/// `cosmetic_intervention` is "Cosmetic Medical Services" (1383) with "Med Spas" (1094);
/// `weight_loss` is "Dieting and Weightloss" (1291-1294) with "Weightloss Supplements" (1255);
/// `medicine` is "Over the Counter Medication" (1208); `prescription_medicine` is
/// "Pharmaceuticals" (1473) with "Doctor Prescribed Medicines" (1521); `infant_formula` has
/// no node and is "Baby Food" (1166), wider than the CAP rule; `lottery` (1365) sits inside
/// "Gambling", which blocks it too below 18.
pub fn ad_product_ids(category: CapCategory) -> &'static [&'static str] {
    match category {
        CapCategory::Alcohol => &["1002", "1003", "1004", "1005", "1006", "1007"],
        CapCategory::Gambling => &["1361", "1362", "1363", "1364", "1365", "1366", "1367"],
        CapCategory::Lottery => &["1365"],
        CapCategory::CosmeticIntervention => &["1383", "1094"],
        CapCategory::WeightLoss => &["1291", "1292", "1293", "1294", "1255"],
        CapCategory::HfssFood => &["1188"],
        CapCategory::Medicine => &["1208"],
        CapCategory::Tobacco => &["1544", "1545", "1546", "1547"],
        CapCategory::ECigarette => &["1548", "1549", "1550"],
        CapCategory::PrescriptionMedicine => &["1473", "1521"],
        CapCategory::InfantFormula => &["1166"],
    }
}

/// The CAP categories a child of `age` may not be shown (`None`: an adult, who is shown
/// everything, as the feed guard does), in declaration order.
pub fn blocked_cap_categories(age: Option<u8>) -> impl Iterator<Item = CapCategory> {
    CapCategory::ALL.iter().copied().filter(move |category| {
        match (category.min_age(), age) {
            // An adult gets everything, as from the feed guard.
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(min), Some(age)) => age < min,
        }
    })
}

/// Why a bid request cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BidRequestError {
    /// A field ward writes or reads has the wrong JSON type.
    #[error("`{0}` must be a JSON object in an OpenRTB 2.6 bid request")]
    NotAnObject(&'static str),
    /// `bcat` is not a list of strings.
    #[error("`bcat` must be a list of strings")]
    BadBcat,
    /// `bcat` already holds ids of another taxonomy.
    #[error(
        "`bcat` holds ids of taxonomy {0} (`cattax`); ward writes Ad Product Taxonomy 2.0 ids (`cattax` 8): send the request's own blocks as Ad Product Taxonomy 2.0 ids"
    )]
    OtherTaxonomy(u64),
}

/// Device identifiers an ad request carries (OpenRTB 2.6 `Device`).
const DEVICE_IDS: [&str; 7] = [
    "ifa", "didsha1", "didmd5", "dpidsha1", "dpidmd5", "macsha1", "macmd5",
];
/// User fields that identify or profile the user (OpenRTB 2.6 `User`).
const USER_IDS: [&str; 8] = [
    "id", "buyeruid", "yob", "gender", "keywords", "kwarray", "data", "eids",
];
/// `Geo` fields precise enough to place a child.
const PRECISE_GEO: [&str; 7] = [
    "lat",
    "lon",
    "accuracy",
    "lastfix",
    "zip",
    "city",
    "ipservice",
];

fn object<'a>(
    parent: &'a mut Map<String, Value>,
    key: &'static str,
) -> Result<&'a mut Map<String, Value>, BidRequestError> {
    parent
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or(BidRequestError::NotAnObject(key))
}

fn remove_all(
    map: &mut Map<String, Value>,
    keys: &[&str],
    prefix: &str,
    removed: &mut Vec<String>,
) {
    for key in keys {
        if map.remove(*key).is_some() {
            removed.push(format!("{prefix}.{key}"));
        }
    }
}

/// Keeps the first three octets of an IPv4 address and the first three groups (/48) of an
/// IPv6 one, as OpenRTB asks of requests under COPPA.
fn truncate_ip(ip: &str, v6: bool) -> Option<String> {
    if v6 {
        let addr: std::net::Ipv6Addr = ip.parse().ok()?;
        let s = addr.segments();
        Some(std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string())
    } else {
        let addr: std::net::Ipv4Addr = ip.parse().ok()?;
        let o = addr.octets();
        Some(std::net::Ipv4Addr::new(o[0], o[1], o[2], 0).to_string())
    }
}

/// Rewrites `request` for the child `signals` describe and returns the paths it removed.
/// Fields ward does not write are kept exactly.
pub fn fill_bid_request(
    request: &mut Map<String, Value>,
    signals: &Signals,
) -> Result<Vec<String>, BidRequestError> {
    let mut removed = Vec::new();
    // bcat first, so a request refused for its taxonomy is left as it came.
    let cattax = match request.get("cattax") {
        None => None,
        Some(value) => Some(
            value
                .as_u64()
                .ok_or(BidRequestError::NotAnObject("cattax"))?,
        ),
    };
    let existing: Vec<String> = match request.get("bcat") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or(BidRequestError::BadBcat)
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(BidRequestError::BadBcat),
    };
    let cattax = cattax.unwrap_or(1);
    if !existing.is_empty() && cattax != CATTAX_AD_PRODUCT_2_0 {
        return Err(BidRequestError::OtherTaxonomy(cattax));
    }
    for key in ["regs", "user", "device"] {
        if request.get(key).is_some_and(|v| !v.is_object()) {
            return Err(BidRequestError::NotAnObject(key));
        }
    }
    for parent in ["device", "user"] {
        if let Some(Value::Object(map)) = request.get(parent)
            && map.get("geo").is_some_and(|geo| !geo.is_object())
        {
            return Err(BidRequestError::NotAnObject("geo"));
        }
    }

    if !signals.bcat.is_empty() || !existing.is_empty() {
        let mut bcat = existing;
        for id in &signals.bcat {
            if !bcat.iter().any(|have| have == id) {
                bcat.push((*id).to_owned());
            }
        }
        request.insert("bcat".into(), Value::from(bcat));
        request.insert("cattax".into(), Value::from(CATTAX_AD_PRODUCT_2_0));
    }

    let regs = object(request, "regs")?;
    regs.insert("coppa".into(), Value::from(u8::from(signals.coppa)));
    regs.insert("gdpr".into(), Value::from(u8::from(signals.gdpr)));
    regs.insert("gpp".into(), Value::from(signals.gpp.clone()));
    regs.insert("gpp_sid".into(), Value::from(signals.gpp_sid.clone()));

    let personalised = signals.personalised_ads;
    let user = object(request, "user")?;
    match &signals.tc_string {
        Some(tc_string) => {
            user.insert("consent".into(), Value::from(tc_string.clone()));
        }
        None => {
            user.remove("consent");
        }
    }
    if !personalised {
        remove_all(user, &USER_IDS, "user", &mut removed);
    }
    if !signals.precise_geo
        && let Some(Value::Object(geo)) = user.get_mut("geo")
    {
        remove_all(geo, &PRECISE_GEO, "user.geo", &mut removed);
    }

    if let Some(Value::Object(device)) = request.get_mut("device") {
        if !personalised {
            remove_all(device, &DEVICE_IDS, "device", &mut removed);
            device.insert("lmt".into(), Value::from(1));
            for (key, v6) in [("ip", false), ("ipv6", true)] {
                if let Some(ip) = device.get(key).and_then(Value::as_str) {
                    match truncate_ip(ip, v6) {
                        Some(short) if short != ip => {
                            device.insert(key.into(), Value::from(short));
                            removed.push(format!("device.{key} (truncated)"));
                        }
                        Some(_) => {}
                        None => {
                            device.remove(key);
                            removed.push(format!("device.{key}"));
                        }
                    }
                }
            }
        }
        if !signals.precise_geo
            && let Some(Value::Object(geo)) = device.get_mut("geo")
        {
            remove_all(geo, &PRECISE_GEO, "device.geo", &mut removed);
        }
    }
    Ok(removed)
}
