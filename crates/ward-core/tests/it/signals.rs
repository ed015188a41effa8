//! The signals of one child: every bit follows `decide`, checked by invariant (an
//! 11-year-old without a parent's consent never gets an ads bit; GPC turns ads bits off; no
//! legitimate-interest bit for purposes 2-6 for a child; special features off; a withdrawn
//! consent changes the string at once), and every string read back by the independent Rust
//! decoders (`lib_tcstring`, `iab_gpp`) to exactly the fields ward meant.

use std::str::FromStr;

use iab_gpp::sections::SectionId;
use iab_gpp::sections::tcfeuv2::TcfEuV2;
use iab_gpp::sections::us_common::{Consent, OptOut};
use iab_gpp::sections::usnat::{Core, UsNat};
use iab_gpp::v1::GPPString;
use serde_json::json;
use ward_core::compiled::CompiledPolicy;
use ward_core::settings::Child;
use ward_core::signals::gpp::{self, SECTION_TCFEUV2, SECTION_USNAT};
use ward_core::signals::openrtb::{BidRequestError, fill_bid_request};
use ward_core::signals::tcf::{IdSet, TcModel};
use ward_core::signals::{
    ADS_TCF_PURPOSES, AdContentRating, AgeTreatment, Signals, SignalsPolicy, compute,
};

use crate::tcf::assert_independent_decoder_agrees;
use ward_core::policy::ParentalConsentMethod;

use crate::world::{child_aged, compiled, now, parent, switch_on, unknown_child};

pub(crate) const SIGNALS_POLICY: &str = r#"
[service]
name = "Signals"
kind = "game"
min_age = 8
jurisdictions = ["GB", "DE", "US"]
parental_consent_methods = ["email_plus"]

[[purpose]]
id = "ads"
name = "Ads based on how you play"
category = "behavioural_advertising"
description = "Uses the levels you play to choose the adverts shown between levels."
setting = "ads"
lawful_basis = "consent"
tcf_purposes = [1, 2, 3, 4, 7]
explain = "Words for your age."
ask_adult = "Ask an adult."

[[purpose]]
id = "recommend"
name = "Levels for you"
category = "content_recommendation"
description = "Uses the levels you finish to choose the next levels we suggest."
setting = "recommend"
lawful_basis = "consent"
tcf_purposes = [5, 6]
safeguards = ["age_rating_filter", "harm_tag_filter", "user_reporting"]
explain = "Words for your age."
ask_adult = "Ask an adult."

[[purpose]]
id = "measure"
name = "Measuring what works"
category = "analytics"
description = "Counts which levels and adverts are played to improve the game."
setting = "measure"
default = "on"
compelling_reason = "Crash and balance counts keep the game playable."
lawful_basis = "legitimate_interests"
tcf_purposes = [2, 7, 8, 10]
explain = "Words for your age."
ask_adult = "Ask an adult."

[[purpose]]
id = "nearby"
name = "Players near you"
category = "location"
description = "Uses where you are to show players in your town."
setting = "nearby"
lawful_basis = "consent"
explain = "Words for your age."
ask_adult = "Ask an adult."

[tcf]
cmp_id = 300
cmp_version = 4
vendor_list_version = 150
policy_version = 5

[[tcf.vendor]]
id = 755
name = "Ads vendor"
consent = [1, 3, 4]
legitimate_interest = [2, 7, 9, 10]
special_purposes = [1, 2]

[[tcf.vendor]]
id = 10
name = "Content vendor"
consent = [1, 5, 6]

[[tcf.vendor]]
id = 52
name = "Measurement vendor"
legitimate_interest = [8]

[[tcf.vendor]]
id = 8
name = "Delivery-only vendor"
special_purposes = [1]

[[tcf.restriction]]
purpose = 2
type = "require_consent"
vendors = [755]

[[tcf.ac_provider]]
id = 89
name = "Ads provider"
consent = [1, 3, 4]

[[tcf.ac_provider]]
id = 1
name = "Content provider"
consent = [1, 5]
"#;

fn setup() -> (CompiledPolicy, SignalsPolicy) {
    let policy = compiled(SIGNALS_POLICY);
    let signals = SignalsPolicy::new(&policy);
    (policy, signals)
}

/// The same policy without its publisher restriction: `iab_gpp` 0.1.2 reads a TC string's
/// publisher restrictions as GPP's `OptimizedIntRange` (a 16-bit maximum and an encoding
/// flag first) where the TCF specification, `lib_tcstring` and the IAB's own libraries have
/// plain range entries, so `tcfeuv2` is checked with it only on strings without restrictions.
fn setups() -> [(CompiledPolicy, SignalsPolicy); 2] {
    let plain = SIGNALS_POLICY.replace(
        "[[tcf.restriction]]\npurpose = 2\ntype = \"require_consent\"\nvendors = [755]\n",
        "",
    );
    assert_ne!(plain, SIGNALS_POLICY);
    let plain = compiled(&plain);
    let plain_signals = SignalsPolicy::new(&plain);
    [setup(), (plain, plain_signals)]
}

fn signals_of(policy: &CompiledPolicy, sp: &SignalsPolicy, child: &Child, gpc: bool) -> Signals {
    compute(policy, sp, &child.state, gpc, now())
}

fn model(signals: &Signals) -> &TcModel {
    signals.tc_model.as_ref().expect("the policy has [tcf]")
}

fn ids(set: IdSet) -> Vec<u8> {
    set.ids().collect()
}

/// The strings decode, with the independent decoders, to exactly what ward meant.
fn assert_decoders_agree(signals: &Signals) {
    let tc_string = signals.tc_string.as_deref().unwrap();
    let ours = model(signals);
    assert_eq!(&TcModel::decode(tc_string).unwrap(), ours);
    assert_independent_decoder_agrees(ours, tc_string);

    let theirs =
        GPPString::from_str(&signals.gpp).unwrap_or_else(|e| panic!("{}: {e}", signals.gpp));
    let sections: Vec<SectionId> = theirs.section_ids().copied().collect();
    let expected: Vec<SectionId> = [
        Some(SectionId::TcfEuV2),
        signals.usnat.map(|_| SectionId::UsNat),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(sections, expected);
    if ours.publisher_restrictions.is_empty() {
        let tcf = theirs.decode::<TcfEuV2>().unwrap();
        let as_u16 = |set: IdSet| set.ids().map(u16::from).collect::<Vec<u16>>();
        assert_eq!(
            tcf.core
                .purpose_consents
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            as_u16(ours.purpose_consents)
        );
        assert_eq!(
            tcf.core
                .purpose_legitimate_interests
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            as_u16(ours.purpose_legitimate_interests)
        );
        assert!(tcf.core.special_feature_optins.is_empty());
        assert_eq!(
            tcf.core.vendor_consents.iter().copied().collect::<Vec<_>>(),
            ours.vendor_consents
        );
        assert_eq!(
            tcf.core
                .vendor_legitimate_interests
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            ours.vendor_legitimate_interests
        );
        assert_eq!(
            tcf.disclosed_vendors
                .map(|d| d.into_iter().collect::<Vec<_>>()),
            ours.disclosed_vendors
        );
        assert_eq!(tcf.core.cmp_id, 300);
        assert_eq!(tcf.core.publisher_country_code, "GB");
    }

    if let Some(usnat) = signals.usnat {
        let text = theirs.section(SectionId::UsNat).unwrap();
        assert_eq!(gpp::UsNat::decode(text).unwrap(), usnat);
        let decoded = theirs.decode::<UsNat>().unwrap();
        let Core::V2(core) = decoded.core else {
            panic!("usnat version 2 expected")
        };
        let consent = |value: u8| match value {
            1 => Consent::NoConsent,
            2 => Consent::Consent,
            _ => Consent::NotApplicable,
        };
        let opt_out = |value: u8| match value {
            1 => OptOut::OptedOut,
            2 => OptOut::DidNotOptOut,
            _ => OptOut::NotApplicable,
        };
        let kids = core.known_child_sensitive_data_consents;
        assert_eq!(
            [
                kids.process_sensitive_data_from_13_to_16,
                kids.process_sensitive_data_under_13,
                kids.process_personal_data_from_16_to_17
            ],
            usnat.known_child_sensitive_data_consents.map(consent)
        );
        assert_eq!(
            core.targeted_advertising_opt_out,
            opt_out(usnat.targeted_advertising_opt_out)
        );
        assert_eq!(core.sale_opt_out, opt_out(usnat.sale_opt_out));
        assert_eq!(
            core.personal_data_consent,
            consent(usnat.personal_data_consents)
        );
        assert_eq!(
            core.sensitive_data_processing.precise_geolocation_data,
            consent(usnat.sensitive_data_processing[7])
        );
        assert!(!core.mspa_covered_transaction);
        assert_eq!(decoded.gpc, usnat.gpc);
    }
}

#[test]
fn an_eleven_year_old_without_a_parents_consent_never_gets_an_ads_purpose_bit() {
    for (policy, sp) in setups() {
        an_eleven_year_old_under(&policy, &sp);
    }
}

fn an_eleven_year_old_under(policy: &CompiledPolicy, sp: &SignalsPolicy) {
    let mut child = child_aged(policy, 11, "GB");
    let before = signals_of(policy, sp, &child, false);
    // The child asks and acknowledges: the setting waits for a parent.
    let (outcome, _) = child.request_on(policy, "ads", now()).unwrap();
    let ward_core::settings::SwitchOn::Intervention(shown) = outcome else {
        panic!("an intervention is shown")
    };
    child.acknowledge(policy, &shown, now()).unwrap();
    let waiting = signals_of(policy, sp, &child, false);
    for signals in [&before, &waiting] {
        let tc = model(signals);
        assert!(
            tc.purpose_consents
                .intersection(ADS_TCF_PURPOSES)
                .is_empty(),
            "{tc:?}"
        );
        assert!(!tc.purpose_consents.contains(1));
        assert!(!tc.vendor_consents.contains(&755));
        assert_eq!(signals.ac_string.as_deref(), Some("2~~dv.1.89"));
        assert!(signals.coppa && signals.gdpr && !signals.personalised_ads);
        assert_eq!(signals.tfat, AgeTreatment::Child);
        assert_eq!(signals.gpp_sid, [SECTION_TCFEUV2]);
        assert_decoders_agree(signals);
    }
    assert_eq!(
        before.tc_string, waiting.tc_string,
        "waiting changes nothing"
    );

    // The parent approves: now the ads purposes and their vendor are signalled.
    let mum = parent("mum");
    child.link_parent(policy, mum.clone(), now()).unwrap();
    child
        .approve(policy, "ads", &mum, ParentalConsentMethod::EmailPlus, now())
        .unwrap();
    let approved = signals_of(policy, sp, &child, false);
    let tc = model(&approved);
    assert_eq!(ids(tc.purpose_consents), [1, 2, 3, 4, 7]);
    assert_eq!(tc.vendor_consents, [755]);
    assert_eq!(approved.ac_string.as_deref(), Some("2~89~dv.1"));
    assert!(!approved.coppa && approved.personalised_ads);
    assert_decoders_agree(&approved);
}

#[test]
fn gpc_turns_every_advertising_bit_off() {
    for ((policy, sp), age) in setups().into_iter().zip([9, 14]).chain([(setup(), 17)]) {
        let mut child = child_aged(&policy, age, "GB");
        switch_on(&policy, &mut child, "ads");
        switch_on(&policy, &mut child, "recommend");
        let without = signals_of(&policy, &sp, &child, false);
        assert_eq!(ids(model(&without).purpose_consents), [1, 2, 3, 4, 5, 6, 7]);
        let with = signals_of(&policy, &sp, &child, true);
        let tc = model(&with);
        assert!(
            tc.purpose_consents
                .intersection(ADS_TCF_PURPOSES)
                .is_empty()
        );
        assert!(
            tc.purpose_legitimate_interests
                .intersection(ADS_TCF_PURPOSES)
                .is_empty()
        );
        // What is not advertising stays: content profiling the child switched on.
        assert_eq!(ids(tc.purpose_consents), [5, 6]);
        assert_eq!(tc.vendor_consents, [10]);
        assert!(!with.personalised_ads);
        // Provider 1 needs consent to purposes 1 and 5; 1 came only with the ads purpose.
        assert_eq!(with.ac_string.as_deref(), Some("2~~dv.1.89"));
        assert_decoders_agree(&with);
    }
}

#[test]
fn a_child_gets_no_legitimate_interest_bit_for_purposes_two_to_six() {
    let (policy, sp) = setup();
    // `measure` rests on legitimate interests for 2, 7, 8 and 10, on by default.
    for child in [
        child_aged(&policy, 9, "GB"),
        child_aged(&policy, 16, "DE"),
        unknown_child(&policy),
    ] {
        let signals = signals_of(&policy, &sp, &child, false);
        let tc = model(&signals);
        assert_eq!(
            ids(tc.purpose_legitimate_interests),
            [7, 8, 10],
            "{:?}",
            child.state.age
        );
        assert_eq!(tc.vendor_legitimate_interests, [8, 52, 755]);
        assert_decoders_agree(&signals);
    }
    // An adult may be signalled legitimate interest for 2, but the publisher restriction
    // tells vendor 755 to ask consent for it; 755 keeps its bit for 7 and 10.
    let adult = child_aged(&policy, 30, "GB");
    let signals = signals_of(&policy, &sp, &adult, false);
    assert_eq!(
        ids(model(&signals).purpose_legitimate_interests),
        [2, 7, 8, 10]
    );
    assert_eq!(signals.tfat, AgeTreatment::Unspecified);
    assert!(signals.bcat.is_empty() && !signals.coppa);
    assert_decoders_agree(&signals);
}

#[test]
fn special_features_are_never_opted_in() {
    let (policy, sp) = setup();
    for age in [8, 12, 15, 30] {
        let mut child = child_aged(&policy, age, "GB");
        for setting in ["ads", "recommend", "nearby"] {
            switch_on(&policy, &mut child, setting);
        }
        for gpc in [false, true] {
            let signals = signals_of(&policy, &sp, &child, gpc);
            assert!(model(&signals).special_feature_opt_ins.is_empty());
        }
    }
}

#[test]
fn a_withdrawn_consent_changes_the_string_at_once() {
    let (policy, sp) = setup();
    let mut child = child_aged(&policy, 15, "GB");
    switch_on(&policy, &mut child, "ads");
    let on = signals_of(&policy, &sp, &child, false);
    child
        .switch_off(&policy, "ads", ward_core::settings::Actor::Child, now())
        .unwrap();
    let off = signals_of(&policy, &sp, &child, false);
    assert_ne!(on.tc_string, off.tc_string);
    assert!(model(&off).purpose_consents.is_empty());
    assert_ne!(on.gpp, off.gpp);
}

#[test]
fn usnat_carries_the_known_childs_consent_for_their_age() {
    let (policy, sp) = setup();
    let mut cases = Vec::new();
    for (age, ads, expect) in [
        (11, false, [0, 1, 0]),
        (11, true, [0, 2, 0]),
        (14, false, [1, 0, 0]),
        (14, true, [2, 0, 0]),
        (16, true, [0, 0, 2]),
        (17, false, [0, 0, 1]),
        (40, true, [0, 0, 0]),
    ] {
        let mut child = child_aged(&policy, age, "US");
        if ads {
            switch_on(&policy, &mut child, "ads");
        }
        cases.push((child, expect));
    }
    cases.push((unknown_child(&policy), [1, 1, 1]));
    for (child, expect) in &cases {
        let signals = signals_of(&policy, &sp, child, false);
        let usnat = signals.usnat.unwrap();
        assert_eq!(
            usnat.known_child_sensitive_data_consents, *expect,
            "{:?}",
            child.state.age
        );
        assert_eq!(usnat.gpc, Some(false));
        let opted = if signals.personalised_ads { 2 } else { 1 };
        assert_eq!(usnat.targeted_advertising_opt_out, opted);
        assert_eq!(
            usnat.sensitive_data_processing[7], 1,
            "location purpose off"
        );
        if child.state.jurisdiction.code() == "US" {
            assert_eq!(signals.gpp_sid, [SECTION_USNAT]);
            assert!(!signals.gdpr);
        }
        assert_decoders_agree(&signals);
    }
    // GPC is written in its own sub-section and opts out of targeted advertising.
    let (child, _) = &cases[1];
    let signals = signals_of(&policy, &sp, child, true);
    let usnat = signals.usnat.unwrap();
    assert_eq!(
        (usnat.gpc, usnat.targeted_advertising_opt_out),
        (Some(true), 1)
    );
    assert_decoders_agree(&signals);
}

#[test]
fn the_gpp_header_names_the_sections_in_order() {
    let (policy, sp) = setup();
    let signals = signals_of(&policy, &sp, &child_aged(&policy, 12, "GB"), false);
    let parts = gpp::split(&signals.gpp).unwrap();
    let ids: Vec<u16> = parts.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [2, 7]);
    assert_eq!(parts[0].1, signals.tc_string.as_deref().unwrap());
}

#[test]
fn blocked_categories_and_ratings_follow_the_childs_age() {
    let (policy, sp) = setup();
    let at = |age: u8| signals_of(&policy, &sp, &child_aged(&policy, age, "GB"), false);
    let fifteen = at(15);
    let mut unique = fifteen.bcat.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), fifteen.bcat.len(), "each id once");
    for id in [
        "1002", "1361", "1365", "1188", "1208", "1544", "1548", "1166",
    ] {
        assert!(fifteen.bcat.contains(&id), "15 blocks {id}");
    }
    let sixteen = at(16);
    assert!(sixteen.bcat.contains(&"1002") && sixteen.bcat.contains(&"1544"));
    assert!(!sixteen.bcat.contains(&"1188"), "HFSS from 16");
    assert!(!sixteen.bcat.contains(&"1208"), "medicines from 16");
    let adult = at(18);
    assert!(adult.bcat.is_empty());
    assert_eq!(at(9).max_ad_content_rating, AdContentRating::G);
    assert_eq!(at(13).max_ad_content_rating, AdContentRating::PG);
    assert_eq!(sixteen.max_ad_content_rating, AdContentRating::T);
    assert_eq!(adult.max_ad_content_rating, AdContentRating::MA);
    // DE: 16 is the age of digital consent, so a 15-year-old there gets child treatment.
    let de = signals_of(&policy, &sp, &child_aged(&policy, 15, "DE"), false);
    assert_eq!(
        (fifteen.tfat, de.tfat),
        (AgeTreatment::Teen, AgeTreatment::Child)
    );
}

fn bid_request() -> serde_json::Map<String, serde_json::Value> {
    json!({
        "id": "req-1",
        "imp": [{"id": "1", "banner": {"w": 320, "h": 50}}],
        "app": {"bundle": "com.example.game"},
        "device": {
            "ua": "Mozilla/5.0", "ip": "203.0.113.77", "ifa": "6d92078a-8246-4ba4-ae5b-76104861e7dc",
            "geo": {"lat": 51.5072, "lon": -0.1276, "country": "GBR", "city": "London", "type": 2}
        },
        "user": {"id": "u-42", "buyeruid": "b-9", "yob": 2014, "ext": {"keep": true}},
        "regs": {"ext": {"dsa": {"dsarequired": 1}}},
        "ext": {"prebid": {"debug": 1}}
    })
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn a_bid_request_for_a_child_is_filled_and_stripped_and_keeps_the_rest() {
    let (policy, sp) = setup();
    let child = child_aged(&policy, 11, "GB");
    let signals = signals_of(&policy, &sp, &child, false);
    let mut request = bid_request();
    let removed = fill_bid_request(&mut request, &signals).unwrap();
    assert_eq!(request["regs"]["coppa"], 1);
    assert_eq!(request["regs"]["gdpr"], 1);
    assert_eq!(request["regs"]["gpp"], signals.gpp.as_str());
    assert_eq!(request["regs"]["gpp_sid"], json!([2]));
    assert_eq!(request["regs"]["ext"], json!({"dsa": {"dsarequired": 1}}));
    assert_eq!(
        request["user"]["consent"],
        signals.tc_string.as_deref().unwrap()
    );
    assert_eq!(request["user"]["ext"], json!({"keep": true}));
    assert_eq!(request["cattax"], 8);
    assert!(request["bcat"].as_array().unwrap().contains(&json!("1002")));
    {
        let gone = "ifa";
        assert!(request["device"].get(gone).is_none());
    }
    assert_eq!(request["device"]["ip"], "203.0.113.0");
    assert_eq!(request["device"]["lmt"], 1);
    assert_eq!(
        request["device"]["geo"],
        json!({"country": "GBR", "type": 2})
    );
    for key in ["id", "buyeruid", "yob"] {
        assert!(request["user"].get(key).is_none(), "user.{key}");
    }
    assert_eq!(request["imp"], bid_request()["imp"]);
    assert_eq!(request["ext"], json!({"prebid": {"debug": 1}}));
    assert_eq!(request["app"], json!({"bundle": "com.example.game"}));
    assert!(
        removed.contains(&"device.ifa".to_owned())
            && removed.contains(&"device.geo.lat".to_owned())
    );

    // An adult who switched ads on keeps identifiers and location; nothing is blocked.
    let mut adult = child_aged(&policy, 30, "GB");
    switch_on(&policy, &mut adult, "ads");
    let mut request = bid_request();
    let removed = fill_bid_request(&mut request, &signals_of(&policy, &sp, &adult, false)).unwrap();
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(request["device"], bid_request()["device"]);
    assert!(request.get("bcat").is_none());
}

#[test]
fn a_bid_request_that_cannot_be_rewritten_is_refused_unchanged() {
    let (policy, sp) = setup();
    let signals = signals_of(&policy, &sp, &child_aged(&policy, 11, "GB"), false);
    let mut other_taxonomy = bid_request();
    other_taxonomy.insert("bcat".into(), json!(["IAB25"]));
    let before = other_taxonomy.clone();
    assert_eq!(
        fill_bid_request(&mut other_taxonomy, &signals),
        Err(BidRequestError::OtherTaxonomy(1))
    );
    assert_eq!(other_taxonomy, before);
    let mut same_taxonomy = bid_request();
    same_taxonomy.insert("bcat".into(), json!(["1002", "1600"]));
    same_taxonomy.insert("cattax".into(), json!(8));
    fill_bid_request(&mut same_taxonomy, &signals).unwrap();
    let bcat = same_taxonomy["bcat"].as_array().unwrap();
    assert_eq!(bcat.iter().filter(|id| *id == "1002").count(), 1);
    assert!(
        bcat.contains(&json!("1600")),
        "the request's own blocks are kept"
    );
    let mut bad = bid_request();
    bad.insert("device".into(), json!("phone"));
    assert_eq!(
        fill_bid_request(&mut bad, &signals),
        Err(BidRequestError::NotAnObject("device"))
    );
}
