//! The IAB TCF v2 TC string (IAB Tech Lab, "Consent string and vendor list formats v2", TCF
//! v2.2/2.3): the core segment, the disclosed-vendors segment and the publisher-TC segment,
//! as a plain model ([`TcModel`]) with one encoder and one decoder.
//!
//! The encoder writes each vendor list as a bit field or as ranges, whichever is shorter
//! (ties go to the bit field, which every decoder reads), publisher restrictions always as
//! ranges, and pads every segment to whole bytes as IAB Tech Lab's encoder does. The decoder
//! accepts any valid string, including range encodings that are not the shortest.
//!
//! Not for deciding what the bits say: that is [`super::compute`], from the child's state.

use super::bits::{BitReader, BitWriter, DecodeError, Padding};

/// A set of ids from 1 to 24 (purposes) or 1 to 12 (special features), bit `id - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IdSet(pub u32);

impl IdSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// A set of the given ids (ids outside 1..=32 are ignored).
    pub fn of(ids: &[u8]) -> Self {
        let mut set = Self::EMPTY;
        for id in ids {
            set.insert(*id);
        }
        set
    }

    /// Adds `id`.
    pub fn insert(&mut self, id: u8) {
        if (1..=32).contains(&id) {
            self.0 |= 1 << (id - 1);
        }
    }

    /// True when `id` is in the set.
    pub fn contains(self, id: u8) -> bool {
        (1..=32).contains(&id) && self.0 & (1 << (id - 1)) != 0
    }

    /// True when nothing is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ids, ascending.
    pub fn ids(self) -> impl Iterator<Item = u8> {
        (1..=32u8).filter(move |id| self.contains(*id))
    }

    /// Both sets' ids.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The ids in both.
    #[must_use]
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The ids in this set and not in `other`.
    #[must_use]
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    fn write(self, writer: &mut BitWriter, width: u8) {
        // Id 1 is the first bit written: reverse the low `width` bits and write them at once.
        let width = u32::from(width.min(32));
        let low = u64::from(self.0) & ((1u64 << width) - 1);
        let reversed = low.reverse_bits() >> (64 - width.max(1));
        writer.int(if width == 0 { 0 } else { reversed }, width);
    }

    fn read(reader: &mut BitReader, width: u8, field: &'static str) -> Result<Self, DecodeError> {
        let mut set = Self::EMPTY;
        for id in 1..=width {
            if reader.bit(field)? {
                set.insert(id);
            }
        }
        Ok(set)
    }
}

/// What a publisher restriction requires of the vendors it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionType {
    /// 0: the purpose is flatly not allowed.
    NotAllowed,
    /// 1: the vendor needs consent (not legitimate interest).
    RequireConsent,
    /// 2: the vendor needs legitimate interest (not consent).
    RequireLegitimateInterest,
}

impl RestrictionType {
    /// The value in the string.
    pub fn code(self) -> u8 {
        match self {
            Self::NotAllowed => 0,
            Self::RequireConsent => 1,
            Self::RequireLegitimateInterest => 2,
        }
    }

    /// The name in `ward.toml` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAllowed => "not_allowed",
            Self::RequireConsent => "require_consent",
            Self::RequireLegitimateInterest => "require_legitimate_interest",
        }
    }
}

/// One publisher restriction: a purpose, what it requires, and of which vendors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublisherRestriction {
    /// The TCF purpose (1..=63).
    pub purpose: u8,
    /// What it requires.
    pub restriction: RestrictionType,
    /// The vendor ids, ascending, no duplicates.
    pub vendors: Vec<u16>,
}

/// The publisher-TC segment: the publisher's own purposes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PublisherTc {
    /// Purposes consented for the publisher.
    pub purpose_consents: IdSet,
    /// Purposes with legitimate interest established for the publisher.
    pub purpose_legitimate_interests: IdSet,
    /// How many custom purposes (0..=63).
    pub n_custom_purposes: u8,
    /// Custom purposes consented.
    pub custom_consents: IdSet,
    /// Custom purposes with legitimate interest established.
    pub custom_legitimate_interests: IdSet,
}

/// Every field of a TC string, as the specification names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcModel {
    /// `Created`, deciseconds since the Unix epoch (day precision in TCF v2.2).
    pub created: u64,
    /// `LastUpdated`, the same value.
    pub last_updated: u64,
    /// `CmpId` (12 bits).
    pub cmp_id: u16,
    /// `CmpVersion` (12 bits).
    pub cmp_version: u16,
    /// `ConsentScreen` (6 bits).
    pub consent_screen: u8,
    /// `ConsentLanguage`: two letters, upper case.
    pub consent_language: [u8; 2],
    /// `VendorListVersion` (12 bits).
    pub vendor_list_version: u16,
    /// `TcfPolicyVersion` (6 bits).
    pub policy_version: u8,
    /// `IsServiceSpecific`: always true for TCF v2.2.
    pub is_service_specific: bool,
    /// `UseNonStandardTexts`.
    pub use_non_standard_texts: bool,
    /// `SpecialFeatureOptIns` (12).
    pub special_feature_opt_ins: IdSet,
    /// `PurposesConsent` (24).
    pub purpose_consents: IdSet,
    /// `PurposesLITransparency` (24).
    pub purpose_legitimate_interests: IdSet,
    /// `PurposeOneTreatment`.
    pub purpose_one_treatment: bool,
    /// `PublisherCC`: two letters, upper case.
    pub publisher_country: [u8; 2],
    /// Vendor consents: ids ascending, no duplicates.
    pub vendor_consents: Vec<u16>,
    /// Vendor legitimate interests: ids ascending, no duplicates.
    pub vendor_legitimate_interests: Vec<u16>,
    /// Publisher restrictions.
    pub publisher_restrictions: Vec<PublisherRestriction>,
    /// The disclosed-vendors segment (mandatory from TCF 2.3; absent in older strings).
    pub disclosed_vendors: Option<Vec<u16>>,
    /// The publisher-TC segment, if any.
    pub publisher_tc: Option<PublisherTc>,
}

const SEGMENT_DISCLOSED_VENDORS: u64 = 1;
const SEGMENT_ALLOWED_VENDORS: u64 = 2;
const SEGMENT_PUBLISHER_TC: u64 = 3;

/// How a vendor list is best written: its bit-field and range lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorEncoding {
    /// Bits of a bit field after the 17-bit header: `MaxVendorId`.
    pub bitfield_bits: usize,
    /// Bits of a range section after the header: `NumEntries` and the entries.
    pub range_bits: usize,
    /// Number of ranges.
    pub n_ranges: usize,
}

impl VendorEncoding {
    /// Measures `ids` (ascending, no duplicates).
    pub fn of(ids: &[u16]) -> Self {
        let mut range_bits = 12;
        let mut n_ranges = 0;
        for_each_run(ids, |start, end| {
            n_ranges += 1;
            range_bits += if start == end { 17 } else { 33 };
        });
        Self {
            bitfield_bits: usize::from(ids.last().copied().unwrap_or(0)),
            range_bits,
            n_ranges,
        }
    }

    /// True when ranges are strictly shorter (and fit the 12-bit count).
    pub fn uses_ranges(self) -> bool {
        self.n_ranges <= 4095 && self.range_bits < self.bitfield_bits
    }
}

/// Calls `each(start, end)` for each run of consecutive ids in `ids` (ascending).
fn for_each_run(ids: &[u16], mut each: impl FnMut(u16, u16)) {
    let mut iter = ids.iter().copied();
    let Some(first) = iter.next() else {
        return;
    };
    let (mut start, mut end) = (first, first);
    for id in iter {
        if end.checked_add(1) == Some(id) {
            end = id;
        } else {
            each(start, end);
            start = id;
            end = id;
        }
    }
    each(start, end);
}

fn write_ranges(writer: &mut BitWriter, ids: &[u16], n_ranges: usize) {
    writer.int(n_ranges as u64, 12);
    for_each_run(ids, |start, end| {
        writer.bit(start != end);
        writer.int(u64::from(start), 16);
        if start != end {
            writer.int(u64::from(end), 16);
        }
    });
}

/// Writes `MaxVendorId`, `IsRangeEncoding` and the shorter encoding of `ids`.
fn write_vendors(writer: &mut BitWriter, ids: &[u16]) {
    let max = ids.last().copied().unwrap_or(0);
    let encoding = VendorEncoding::of(ids);
    writer.int(u64::from(max), 16);
    if encoding.uses_ranges() {
        writer.bit(true);
        write_ranges(writer, ids, encoding.n_ranges);
    } else {
        writer.bit(false);
        let mut next = ids.iter().copied().peekable();
        for id in 1..=max {
            let set = next.peek() == Some(&id);
            if set {
                next.next();
            }
            writer.bit(set);
        }
    }
}

/// A set of vendor ids being decoded: a bit set over 1..=65535, so hostile ranges cost
/// memory once and time per word, never per id repeated.
struct VendorBits(Vec<u64>);

impl VendorBits {
    fn new() -> Self {
        Self(vec![0; 1024])
    }

    fn insert_range(&mut self, start: u16, end: u16) {
        let (start, end) = (usize::from(start), usize::from(end));
        let mut idx = start;
        while idx <= end {
            if idx % 64 == 0 && idx + 63 <= end {
                self.0[idx / 64] = u64::MAX;
                idx += 64;
            } else {
                self.0[idx / 64] |= 1 << (idx % 64);
                idx += 1;
            }
        }
    }

    fn ids(&self) -> Vec<u16> {
        let mut ids = Vec::new();
        for (word_idx, word) in self.0.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let bit = word.trailing_zeros() as usize;
                ids.push((word_idx * 64 + bit) as u16);
                word &= word - 1;
            }
        }
        ids
    }
}

fn read_range_entries(
    reader: &mut BitReader,
    bits: &mut VendorBits,
    field: &'static str,
) -> Result<(), DecodeError> {
    let n_entries = reader.int(12, field)?;
    for _ in 0..n_entries {
        let is_range = reader.bit(field)?;
        let start = reader.int(16, field)? as u16;
        let end = if is_range {
            reader.int(16, field)? as u16
        } else {
            start
        };
        if start == 0 || end < start {
            return Err(DecodeError::BadValue {
                field,
                value: u64::from(start),
            });
        }
        bits.insert_range(start, end);
    }
    Ok(())
}

fn read_vendors(reader: &mut BitReader, field: &'static str) -> Result<Vec<u16>, DecodeError> {
    let max = reader.int(16, field)? as u16;
    let is_range = reader.bit(field)?;
    if is_range {
        let mut bits = VendorBits::new();
        read_range_entries(reader, &mut bits, field)?;
        let ids = bits.ids();
        if ids.last().is_some_and(|last| *last > max) {
            return Err(DecodeError::BadValue {
                field,
                value: u64::from(max),
            });
        }
        Ok(ids)
    } else {
        let mut ids = Vec::new();
        for id in 1..=max {
            if reader.bit(field)? {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

fn write_letters(writer: &mut BitWriter, letters: [u8; 2]) {
    for letter in letters {
        writer.int(
            u64::from(letter.to_ascii_uppercase().saturating_sub(b'A')),
            6,
        );
    }
}

fn read_letters(reader: &mut BitReader, field: &'static str) -> Result<[u8; 2], DecodeError> {
    let mut letters = [0u8; 2];
    for letter in &mut letters {
        let value = reader.int(6, field)?;
        if value > 25 {
            return Err(DecodeError::BadValue { field, value });
        }
        *letter = b'A' + value as u8;
    }
    Ok(letters)
}

impl TcModel {
    /// The TC string: the core segment, then the disclosed vendors and the publisher TC when
    /// present, joined by `.`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(96);
        self.encode_into(&mut out);
        out
    }

    /// [`encode`](Self::encode), appending to `out`.
    pub fn encode_into(&self, out: &mut String) {
        let mut core = BitWriter::with_capacity(
            230 + usize::from(self.vendor_consents.last().copied().unwrap_or(0))
                + usize::from(
                    self.vendor_legitimate_interests
                        .last()
                        .copied()
                        .unwrap_or(0),
                ),
        );
        core.int(2, 6);
        core.int(self.created, 36);
        core.int(self.last_updated, 36);
        core.int(u64::from(self.cmp_id), 12);
        core.int(u64::from(self.cmp_version), 12);
        core.int(u64::from(self.consent_screen), 6);
        write_letters(&mut core, self.consent_language);
        core.int(u64::from(self.vendor_list_version), 12);
        core.int(u64::from(self.policy_version), 6);
        core.bit(self.is_service_specific);
        core.bit(self.use_non_standard_texts);
        self.special_feature_opt_ins.write(&mut core, 12);
        self.purpose_consents.write(&mut core, 24);
        self.purpose_legitimate_interests.write(&mut core, 24);
        core.bit(self.purpose_one_treatment);
        write_letters(&mut core, self.publisher_country);
        write_vendors(&mut core, &self.vendor_consents);
        write_vendors(&mut core, &self.vendor_legitimate_interests);
        core.int(self.publisher_restrictions.len() as u64, 12);
        for restriction in &self.publisher_restrictions {
            core.int(u64::from(restriction.purpose), 6);
            core.int(u64::from(restriction.restriction.code()), 2);
            let encoding = VendorEncoding::of(&restriction.vendors);
            write_ranges(&mut core, &restriction.vendors, encoding.n_ranges);
        }
        core.write_base64(Padding::Bytes, out);

        if let Some(disclosed) = &self.disclosed_vendors {
            let mut segment = BitWriter::with_capacity(20 + disclosed.len() * 17);
            segment.int(SEGMENT_DISCLOSED_VENDORS, 3);
            write_vendors(&mut segment, disclosed);
            out.push('.');
            segment.write_base64(Padding::Bytes, out);
        }
        if let Some(publisher) = &self.publisher_tc {
            let mut segment = BitWriter::with_capacity(64);
            segment.int(SEGMENT_PUBLISHER_TC, 3);
            publisher.purpose_consents.write(&mut segment, 24);
            publisher
                .purpose_legitimate_interests
                .write(&mut segment, 24);
            segment.int(u64::from(publisher.n_custom_purposes), 6);
            publisher
                .custom_consents
                .write(&mut segment, publisher.n_custom_purposes);
            publisher
                .custom_legitimate_interests
                .write(&mut segment, publisher.n_custom_purposes);
            out.push('.');
            segment.write_base64(Padding::Bytes, out);
        }
    }

    /// Reads a TC string. Only version 2 is read; an allowed-vendors segment (deprecated) is
    /// skipped; an unknown segment type is an error.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let mut segments = text.split('.');
        let core_text = segments
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(DecodeError::Structure("the TC string is empty"))?;
        let mut core = BitReader::new(core_text)?;
        let version = core.int(6, "Version")?;
        if version != 2 {
            return Err(DecodeError::BadValue {
                field: "Version",
                value: version,
            });
        }
        let mut model = Self {
            created: core.int(36, "Created")?,
            last_updated: core.int(36, "LastUpdated")?,
            cmp_id: core.int(12, "CmpId")? as u16,
            cmp_version: core.int(12, "CmpVersion")? as u16,
            consent_screen: core.int(6, "ConsentScreen")? as u8,
            consent_language: read_letters(&mut core, "ConsentLanguage")?,
            vendor_list_version: core.int(12, "VendorListVersion")? as u16,
            policy_version: core.int(6, "TcfPolicyVersion")? as u8,
            is_service_specific: core.bit("IsServiceSpecific")?,
            use_non_standard_texts: core.bit("UseNonStandardTexts")?,
            special_feature_opt_ins: IdSet::read(&mut core, 12, "SpecialFeatureOptIns")?,
            purpose_consents: IdSet::read(&mut core, 24, "PurposesConsent")?,
            purpose_legitimate_interests: IdSet::read(&mut core, 24, "PurposesLITransparency")?,
            purpose_one_treatment: core.bit("PurposeOneTreatment")?,
            publisher_country: read_letters(&mut core, "PublisherCC")?,
            vendor_consents: read_vendors(&mut core, "VendorConsents")?,
            vendor_legitimate_interests: read_vendors(&mut core, "VendorLegitimateInterests")?,
            publisher_restrictions: Vec::new(),
            disclosed_vendors: None,
            publisher_tc: None,
        };
        let n_restrictions = core.int(12, "NumPubRestrictions")?;
        for _ in 0..n_restrictions {
            let purpose = core.int(6, "PurposeId")? as u8;
            let restriction = match core.int(2, "RestrictionType")? {
                0 => RestrictionType::NotAllowed,
                1 => RestrictionType::RequireConsent,
                2 => RestrictionType::RequireLegitimateInterest,
                value => {
                    return Err(DecodeError::BadValue {
                        field: "RestrictionType",
                        value,
                    });
                }
            };
            let mut bits = VendorBits::new();
            read_range_entries(&mut core, &mut bits, "PubRestrictionEntry")?;
            model.publisher_restrictions.push(PublisherRestriction {
                purpose,
                restriction,
                vendors: bits.ids(),
            });
        }
        for segment_text in segments {
            let mut segment = BitReader::new(segment_text)?;
            match segment.int(3, "SegmentType")? {
                SEGMENT_DISCLOSED_VENDORS if model.disclosed_vendors.is_none() => {
                    model.disclosed_vendors = Some(read_vendors(&mut segment, "DisclosedVendors")?);
                }
                SEGMENT_ALLOWED_VENDORS => {}
                SEGMENT_PUBLISHER_TC if model.publisher_tc.is_none() => {
                    let purpose_consents = IdSet::read(&mut segment, 24, "PubPurposesConsent")?;
                    let purpose_legitimate_interests =
                        IdSet::read(&mut segment, 24, "PubPurposesLITransparency")?;
                    let n_custom_purposes = segment.int(6, "NumCustomPurposes")? as u8;
                    let custom_consents =
                        IdSet::read(&mut segment, n_custom_purposes, "CustomPurposesConsent")?;
                    let custom_legitimate_interests = IdSet::read(
                        &mut segment,
                        n_custom_purposes,
                        "CustomPurposesLITransparency",
                    )?;
                    model.publisher_tc = Some(PublisherTc {
                        purpose_consents,
                        purpose_legitimate_interests,
                        n_custom_purposes,
                        custom_consents,
                        custom_legitimate_interests,
                    });
                }
                SEGMENT_DISCLOSED_VENDORS | SEGMENT_PUBLISHER_TC => {
                    return Err(DecodeError::Structure("a segment appears twice"));
                }
                value => {
                    return Err(DecodeError::BadValue {
                        field: "SegmentType",
                        value,
                    });
                }
            }
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_chosen_only_when_strictly_shorter() {
        // One range entry of two ids costs 12 + 33 = 45 bits; a bit field to 45 costs 45.
        let tie: Vec<u16> = vec![44, 45];
        let encoding = VendorEncoding::of(&tie);
        assert_eq!((encoding.bitfield_bits, encoding.range_bits), (45, 45));
        assert!(!encoding.uses_ranges(), "a tie is a bit field");
        let shorter: Vec<u16> = vec![45, 46];
        assert!(VendorEncoding::of(&shorter).uses_ranges(), "46 > 45");
        // A single id: 12 + 17 = 29 bits against a field of `id` bits.
        assert!(!VendorEncoding::of(&[29]).uses_ranges());
        assert!(VendorEncoding::of(&[30]).uses_ranges());
        assert!(!VendorEncoding::of(&[]).uses_ranges());
    }
}
