//! The TC string, bit for bit: the IAB's own examples as golden vectors
//! (`tests/vectors/tcf.json`), encode-then-decode as the identity over random models, every
//! string read back by an independent decoder (`lib_tcstring`), and the bit-field/range choice
//! at its break-even point.

use proptest::prelude::*;
use serde_json::{Value, json};
use ward_core::signals::bits::BitReader;
use ward_core::signals::tcf::{
    IdSet, PublisherRestriction, PublisherTc, RestrictionType, TcModel, VendorEncoding,
};

fn letters(pair: [u8; 2]) -> String {
    String::from_utf8(pair.to_vec()).unwrap()
}

fn ids(set: IdSet) -> Vec<u8> {
    set.ids().collect()
}

/// The model as the vectors file writes it.
fn fields(model: &TcModel) -> Value {
    json!({
        "created": model.created, "last_updated": model.last_updated,
        "cmp_id": model.cmp_id, "cmp_version": model.cmp_version,
        "consent_screen": model.consent_screen,
        "consent_language": letters(model.consent_language),
        "vendor_list_version": model.vendor_list_version,
        "policy_version": model.policy_version,
        "is_service_specific": model.is_service_specific,
        "use_non_standard_texts": model.use_non_standard_texts,
        "special_feature_opt_ins": ids(model.special_feature_opt_ins),
        "purpose_consents": ids(model.purpose_consents),
        "purpose_legitimate_interests": ids(model.purpose_legitimate_interests),
        "purpose_one_treatment": model.purpose_one_treatment,
        "publisher_country": letters(model.publisher_country),
        "vendor_consents": model.vendor_consents,
        "vendor_legitimate_interests": model.vendor_legitimate_interests,
        "publisher_restrictions": model.publisher_restrictions.iter().map(|r| json!({
            "purpose": r.purpose, "type": r.restriction.as_str(), "vendors": r.vendors,
        })).collect::<Vec<_>>(),
        "disclosed_vendors": model.disclosed_vendors,
        "publisher_tc": model.publisher_tc.as_ref().map(|p| json!({
            "purpose_consents": ids(p.purpose_consents),
            "purpose_legitimate_interests": ids(p.purpose_legitimate_interests),
            "n_custom_purposes": p.n_custom_purposes,
        })),
    })
}

#[test]
fn the_iabs_own_examples_decode_to_their_fields_and_encode_back_byte_for_byte() {
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("../vectors/tcf.json")).expect("vectors are JSON");
    assert!(vectors.len() >= 2);
    for vector in &vectors {
        let string = vector["string"].as_str().unwrap();
        let model = TcModel::decode(string).unwrap_or_else(|e| panic!("{string}: {e}"));
        assert_eq!(fields(&model), vector["fields"], "{}", vector["source"]);
        assert_eq!(model.encode(), string, "{}", vector["source"]);
        assert_independent_decoder_agrees(&model, string);
    }
}

/// `lib_tcstring` (an independent Rust decoder) reads exactly the fields ward meant.
pub(crate) fn assert_independent_decoder_agrees(model: &TcModel, string: &str) {
    let theirs = lib_tcstring::TcModelV2::try_from(string)
        .unwrap_or_else(|e| panic!("lib_tcstring refuses {string}: {e:?}"));
    assert_eq!(theirs.created_at, model.created * 100, "{string}");
    assert_eq!(theirs.updated_at, model.last_updated * 100);
    assert_eq!(theirs.cmp_id, model.cmp_id);
    assert_eq!(theirs.cmp_version, model.cmp_version);
    assert_eq!(theirs.consent_screen, model.consent_screen);
    assert_eq!(theirs.consent_language, letters(model.consent_language));
    assert_eq!(theirs.vendor_list_version, model.vendor_list_version);
    assert_eq!(theirs.tcf_policy_version, u16::from(model.policy_version));
    assert_eq!(theirs.is_service_specific, model.is_service_specific);
    assert_eq!(theirs.use_non_standard_stacks, model.use_non_standard_texts);
    assert_eq!(
        theirs.special_feature_opt_ins,
        ids(model.special_feature_opt_ins)
    );
    assert_eq!(theirs.purposes_consent, ids(model.purpose_consents));
    assert_eq!(
        theirs.purposes_li_transparency,
        ids(model.purpose_legitimate_interests)
    );
    assert_eq!(theirs.purpose_one_treatment, model.purpose_one_treatment);
    assert_eq!(
        theirs.publisher_country_code,
        letters(model.publisher_country)
    );
    assert_eq!(theirs.vendors_consent, model.vendor_consents, "{string}");
    assert_eq!(theirs.vendors_li_consent, model.vendor_legitimate_interests);
    assert_eq!(
        theirs.publisher_restrictions.len(),
        model.publisher_restrictions.len()
    );
    for (their, ours) in theirs
        .publisher_restrictions
        .iter()
        .zip(&model.publisher_restrictions)
    {
        assert_eq!(their.purpose_id, ours.purpose);
        let code = match their.restriction_type {
            lib_tcstring::PublisherRestrictionType::NotAllowed => 0,
            lib_tcstring::PublisherRestrictionType::RequireConsent => 1,
            lib_tcstring::PublisherRestrictionType::RequireLegitimateInterest => 2,
            lib_tcstring::PublisherRestrictionType::Undefined => 3,
        };
        assert_eq!(code, ours.restriction.code());
        assert_eq!(their.vendor_list, ours.vendors);
    }
    assert_eq!(
        theirs.disclosed_vendors,
        model.disclosed_vendors.clone().unwrap_or_default()
    );
    if let Some(publisher) = &model.publisher_tc {
        assert_eq!(
            theirs.publisher_purposes_consent,
            ids(publisher.purpose_consents)
        );
        assert_eq!(
            theirs.publisher_purposes_li_transparency,
            ids(publisher.purpose_legitimate_interests)
        );
    }
}

fn sorted_ids(max: u16, max_len: usize) -> impl Strategy<Value = Vec<u16>> {
    prop::collection::btree_set(1..=max, 0..max_len).prop_map(|set| set.into_iter().collect())
}

/// Runs of consecutive ids, so range encodings win as often as bit fields do.
fn vendor_list() -> impl Strategy<Value = Vec<u16>> {
    prop_oneof![
        sorted_ids(60, 20),
        sorted_ids(2000, 12),
        prop::collection::vec((1u16..3000, 1u16..80), 0..6).prop_map(|runs| {
            let mut ids: Vec<u16> = runs
                .into_iter()
                .flat_map(|(start, len)| start..start.saturating_add(len))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }),
    ]
}

fn id_set(width: u8) -> impl Strategy<Value = IdSet> {
    let mask = if width >= 32 {
        u32::MAX
    } else {
        (1 << width) - 1
    };
    any::<u32>().prop_map(move |bits| IdSet(bits & mask))
}

fn letter_pair() -> impl Strategy<Value = [u8; 2]> {
    (b'A'..=b'Z', b'A'..=b'Z').prop_map(|(a, b)| [a, b])
}

fn restriction() -> impl Strategy<Value = PublisherRestriction> {
    (
        1u8..=63,
        prop_oneof![
            Just(RestrictionType::NotAllowed),
            Just(RestrictionType::RequireConsent),
            Just(RestrictionType::RequireLegitimateInterest),
        ],
        vendor_list(),
    )
        .prop_map(|(purpose, restriction, vendors)| PublisherRestriction {
            purpose,
            restriction,
            vendors,
        })
}

fn publisher_tc() -> impl Strategy<Value = PublisherTc> {
    (id_set(24), id_set(24), 0u8..=20, any::<u32>(), any::<u32>()).prop_map(
        |(consents, interests, n_custom, custom_consents, custom_interests)| {
            let mask = (1u32 << n_custom) - 1;
            PublisherTc {
                purpose_consents: consents,
                purpose_legitimate_interests: interests,
                n_custom_purposes: n_custom,
                custom_consents: IdSet(custom_consents & mask),
                custom_legitimate_interests: IdSet(custom_interests & mask),
            }
        },
    )
}

prop_compose! {
    fn model()(
        created in 0u64..(1 << 36),
        cmp_id in 0u16..4096, cmp_version in 0u16..4096, consent_screen in 0u8..64,
        consent_language in letter_pair(), vendor_list_version in 0u16..4096,
        policy_version in 0u8..64, flags in any::<[bool; 3]>(),
        special_feature_opt_ins in id_set(12), purpose_consents in id_set(24),
        purpose_legitimate_interests in id_set(24), publisher_country in letter_pair(),
        vendor_consents in vendor_list(), vendor_legitimate_interests in vendor_list(),
        publisher_restrictions in prop::collection::vec(restriction(), 0..4),
        disclosed_vendors in prop::option::of(vendor_list()),
        publisher_tc in prop::option::of(publisher_tc()),
    ) -> TcModel {
        TcModel {
            created, last_updated: created, cmp_id, cmp_version, consent_screen,
            consent_language, vendor_list_version, policy_version,
            is_service_specific: flags[0], use_non_standard_texts: flags[1],
            special_feature_opt_ins, purpose_consents, purpose_legitimate_interests,
            purpose_one_treatment: flags[2], publisher_country, vendor_consents,
            vendor_legitimate_interests, publisher_restrictions, disclosed_vendors, publisher_tc,
        }
    }
}

proptest! {
    #[test]
    fn encode_then_decode_is_the_identity(model in model()) {
        let string = model.encode();
        let decoded = TcModel::decode(&string).unwrap();
        prop_assert_eq!(&decoded, &model);
        prop_assert_eq!(decoded.encode(), string.clone());
        assert_independent_decoder_agrees(&model, &string);
    }

    #[test]
    fn hostile_strings_are_errors_never_panics(text in "[A-Za-z0-9_.+-]{0,300}") {
        let _ = TcModel::decode(&text);
    }
}

/// The `IsRangeEncoding` bit of the vendor-consents section: after the 213 bits of the core
/// fields and the 16 of `MaxVendorId`.
fn vendor_consents_use_ranges(string: &str) -> bool {
    let core = string.split('.').next().unwrap();
    let mut reader = BitReader::new(core).unwrap();
    reader.int(64, "skip").unwrap();
    reader.int(64, "skip").unwrap();
    reader.int(64, "skip").unwrap();
    reader.int(213 - 192 + 16, "skip").unwrap();
    reader.bit("IsRangeEncoding").unwrap()
}

fn with_vendor_consents(vendor_consents: Vec<u16>) -> TcModel {
    TcModel {
        created: 17_489_088_000,
        last_updated: 17_489_088_000,
        cmp_id: 880,
        cmp_version: 1,
        consent_screen: 1,
        consent_language: *b"EN",
        vendor_list_version: 48,
        policy_version: 5,
        is_service_specific: true,
        use_non_standard_texts: false,
        special_feature_opt_ins: IdSet::EMPTY,
        purpose_consents: IdSet::of(&[1, 3, 4]),
        purpose_legitimate_interests: IdSet::EMPTY,
        purpose_one_treatment: false,
        publisher_country: *b"GB",
        vendor_consents,
        vendor_legitimate_interests: Vec::new(),
        publisher_restrictions: Vec::new(),
        disclosed_vendors: Some(vec![1, 755]),
        publisher_tc: None,
    }
}

#[test]
fn ranges_replace_the_bit_field_exactly_when_they_are_shorter() {
    // Two consecutive ids: one range entry costs 12 + 1 + 16 + 16 = 45 bits, the bit field
    // `MaxVendorId` bits. At 45 they tie, and the bit field stays; at 46 the range wins.
    for (ids, ranges) in [
        (vec![44, 45], false),
        (vec![45, 46], true),
        (vec![29], false),
        (vec![30], true),
        ((1..=600).collect::<Vec<u16>>(), true),
        ((1..=600).step_by(2).collect::<Vec<u16>>(), false),
    ] {
        let encoding = VendorEncoding::of(&ids);
        let model = with_vendor_consents(ids.clone());
        let string = model.encode();
        assert_eq!(
            vendor_consents_use_ranges(&string),
            ranges,
            "{ids:?}: bit field {} bits, ranges {} bits",
            encoding.bitfield_bits,
            encoding.range_bits
        );
        assert_eq!(TcModel::decode(&string).unwrap(), model);
        assert_independent_decoder_agrees(&model, &string);
    }
}

#[test]
fn a_truncated_or_foreign_string_is_a_clear_error() {
    let good = with_vendor_consents(vec![755]).encode();
    for (text, expect) in [
        ("", "empty"),
        ("CQSbk4AQ", "ends inside"),
        ("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "`Version` holds 1"),
        (&good.replace('.', ".~"), "not a base64url character"),
    ] {
        let message = TcModel::decode(text).unwrap_err().to_string();
        assert!(message.contains(expect), "{text}: {message}");
    }
}
