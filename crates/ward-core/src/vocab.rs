//! The feed's shared vocabulary: how ward spells a word before comparing it (a tag, topic,
//! source, ad category, rating value or trigger), and [`Name`], a word spelt that way once,
//! with its hash.
//!
//! `RUNTIME.md`: words "match case-insensitively, with `-`, `_` and spaces equivalent". Every
//! comparison of a feed word goes through [`normalise`], directly or through a [`Name`] built
//! by it, so the item parser, a parent's blocks, the policy's lists and the drift state cannot
//! disagree on whether two spellings are one word. Normalising happens once, when a word is
//! read; comparisons then compare a hash and the normalised text. A name of up to 21 bytes
//! (key and text as written together), as most are, is held in place, without an allocation.
//!
//! The closed word lists `RUNTIME.md` names live here too, with their tables: the harm tags
//! ([`HarmTag`]) and the advertising categories the CAP Code restricts ([`CapCategory`]).
//!
//! A leaf: it imports nothing of ward's, so the feed guard, the parental controls and the
//! policy parser (which refuses a harm tag declared harmless) all import it and none has to
//! import another for it. Not for judging items: that is [`crate::feed`].

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// True for a character that separates the parts of a word: `-`, `_`, whitespace, and the
/// other dashes keyboards and word processors type (‐ ‑ ‒ – — ― −, and the small and
/// full-width hyphens), so `self–harm` with an en dash is `self_harm` too.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '_' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    ) || c.is_whitespace()
}

/// True for a character ECMAScript's `\s` matches, the blank of the JSON Schema patterns in
/// ward's OpenAPI document (`\S`: "not blank"). Not Rust's `char::is_whitespace`, which differs
/// in two characters (it has U+0085, `\s` has U+FEFF), so the server and its document never
/// disagree on what is blank.
pub fn is_blank_char(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `text` without the blank characters ([`is_blank_char`]) at either end.
pub fn trim_blank(text: &str) -> &str {
    text.trim_matches(is_blank_char)
}

/// True when `text` is already as [`normalise`] writes it. Only ASCII is judged here; any
/// other character takes the slow path.
fn is_normalised(text: &str) -> bool {
    normalised_hash(text.as_bytes()).is_some()
}

/// What a byte is to [`normalised_hash`] and [`normalise_ascii`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteClass {
    /// Kept as it is: a lowercase letter, a digit, punctuation that separates nothing.
    Keep,
    /// A capital, written lowercase.
    Capital,
    /// `_`: kept when it stands alone between two kept bytes.
    Underscore,
    /// Another separator ([`is_separator`]'s ASCII ones): written as `_`.
    Separator,
    /// A byte of a non-ASCII character, which only [`push_normalised`] judges.
    Other,
}

/// [`ByteClass`] of each byte (a test checks the table against [`is_separator`]), looked up
/// once a byte.
const BYTE_CLASSES: [ByteClass; 256] = {
    let mut classes = [ByteClass::Other; 256];
    let mut byte = 0u8;
    while byte < 0x80 {
        classes[byte as usize] = match byte {
            b'_' => ByteClass::Underscore,
            b'-' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' => ByteClass::Separator,
            b'A'..=b'Z' => ByteClass::Capital,
            _ => ByteClass::Keep,
        };
        byte += 1;
    }
    classes
};

/// The [`name_hash`] of `bytes` when they are already as [`normalise`] writes them (ASCII
/// only, as [`is_normalised`] judges), in one pass over them; `None` otherwise.
#[inline]
fn normalised_hash(bytes: &[u8]) -> Option<u64> {
    let mut hash = FNV_OFFSET;
    // Starts true, so a leading `_` is refused as a doubled one is.
    let mut after_underscore = true;
    for &byte in bytes {
        match BYTE_CLASSES[usize::from(byte)] {
            ByteClass::Keep => after_underscore = false,
            ByteClass::Underscore if !after_underscore => after_underscore = true,
            _ => return None,
        }
        hash = fnv_step(hash, byte);
    }
    // A trailing `_`, unless the text is empty.
    (!after_underscore || bytes.is_empty()).then_some(hash)
}

/// `text` as ward compares it: lowercase, every run of separators (`-`, `_`, whitespace,
/// dashes) written as one `_`, and none at either end. `Self-Harm`, ` self  harm ` and
/// `SELF_HARM` are all `self_harm`; `PG-13` is `pg_13`. Borrowed when `text` is already
/// normalised, which is the common case (`self_harm`, `football`).
pub fn normalise(text: &str) -> Cow<'_, str> {
    if is_normalised(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    push_normalised(text, &mut out);
    Cow::Owned(out)
}

/// Appends `text` as [`normalise`] writes it to `out`: the one place the rule is written.
fn push_normalised(text: &str, out: &mut String) {
    let start = out.len();
    if text.is_ascii() {
        // The same rule byte by byte: most words are ASCII.
        let mut pending_separator = false;
        for byte in text.bytes() {
            if is_separator(char::from(byte)) {
                pending_separator = out.len() > start;
                continue;
            }
            if pending_separator {
                out.push('_');
                pending_separator = false;
            }
            out.push(char::from(byte.to_ascii_lowercase()));
        }
        return;
    }
    for part in text.split(is_separator).filter(|part| !part.is_empty()) {
        if out.len() > start {
            out.push('_');
        }
        out.extend(part.chars().flat_map(char::to_lowercase));
    }
}

/// `text` normalised into `buf` when it is ASCII and fits, without allocating: for rating
/// values, which come in capitals (`PG-13`) and are looked up once per item. `None`
/// otherwise (call [`normalise`]).
pub(crate) fn normalise_ascii<'a>(text: &str, buf: &'a mut [u8]) -> Option<&'a str> {
    let mut len = 0;
    let mut pending_separator = false;
    for byte in text.bytes() {
        match BYTE_CLASSES[usize::from(byte)] {
            ByteClass::Keep | ByteClass::Capital => {}
            ByteClass::Underscore | ByteClass::Separator => {
                pending_separator = len > 0;
                continue;
            }
            ByteClass::Other => return None,
        }
        if pending_separator {
            *buf.get_mut(len)? = b'_';
            len += 1;
            pending_separator = false;
        }
        *buf.get_mut(len)? = byte.to_ascii_lowercase();
        len += 1;
    }
    std::str::from_utf8(buf.get(..len)?).ok()
}

/// A word of the feed's vocabulary (a tag, topic, source, ad category or trigger): its
/// normalised spelling, the hash of that spelling, and the text as written when it differs.
///
/// Two names are equal when their normalised spellings are (`Self-Harm` equals `self_harm`).
/// [`Name::as_str`], `Display` and `Serialize` give the text as written, so what a person typed
/// is what they read back; [`Name::key`] is the spelling ward compares.
#[derive(Clone)]
pub struct Name {
    /// FNV-1a of the normalised spelling: stable across runs and machines.
    hash: u64,
    /// The normalised spelling, then the text as written when that differs. A name stays 32
    /// bytes, which the guard's loops over tags and topics feel.
    text: ShortText,
}

// INVARIANT: a name is 32 bytes (checked at compile time).
const _: () = assert!(std::mem::size_of::<Name>() == 32);

/// The most bytes a [`ShortText`] holds in place.
const INLINE: usize = 21;

/// Text in place when it is short, as most feed words and item ids are (`football`,
/// `self_harm`, `item-1234`), so reading a feed item allocates nothing for them; on the heap
/// otherwise. `split` bytes are a first part (a name's key), the rest a second (the text as
/// written): both are whole strings.
#[derive(Clone)]
pub(crate) enum ShortText {
    /// `bytes[..len]`.
    Inline {
        len: u8,
        split: u8,
        bytes: [u8; INLINE],
    },
    /// Longer text.
    Heap { text: Box<str>, split: u32 },
}

impl ShortText {
    /// `first` then `second`, split between them.
    pub(crate) fn new(first: &str, second: &str) -> Self {
        let len = first.len() + second.len();
        if len <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..first.len()].copy_from_slice(first.as_bytes());
            if !second.is_empty() {
                bytes[first.len()..len].copy_from_slice(second.as_bytes());
            }
            // Both below INLINE, so both fit a byte.
            return Self::Inline {
                len: len as u8,
                split: first.len() as u8,
                bytes,
            };
        }
        let mut text = String::with_capacity(len);
        text.push_str(first);
        text.push_str(second);
        Self::Heap {
            text: text.into_boxed_str(),
            split: u32::try_from(first.len()).unwrap_or(u32::MAX),
        }
    }

    /// The whole text's bytes and where the first part ends.
    #[inline]
    fn parts(&self) -> (&[u8], usize) {
        match self {
            Self::Inline { len, split, bytes } => (
                bytes.get(..usize::from(*len)).unwrap_or_default(),
                usize::from(*split),
            ),
            Self::Heap { text, split } => (text.as_bytes(), *split as usize),
        }
    }

    /// The first part's bytes.
    #[inline]
    pub(crate) fn first_bytes(&self) -> &[u8] {
        let (bytes, split) = self.parts();
        bytes.get(..split).unwrap_or_default()
    }

    /// The first part.
    pub(crate) fn first(&self) -> &str {
        std::str::from_utf8(self.first_bytes()).unwrap_or_default()
    }

    /// The second part.
    pub(crate) fn second(&self) -> &str {
        let (bytes, split) = self.parts();
        std::str::from_utf8(bytes.get(split..).unwrap_or_default()).unwrap_or_default()
    }

    /// The second part's length in bytes.
    fn second_len(&self) -> usize {
        let (bytes, split) = self.parts();
        bytes.len() - split
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}{:?}", self.first(), self.second())
    }
}

impl PartialEq for ShortText {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for ShortText {}

impl Name {
    /// The name of `text`, normalised once here.
    pub fn new(text: &str) -> Self {
        // Most words come normalised: judged and hashed in one pass.
        if let Some(hash) = normalised_hash(text.as_bytes()) {
            return Self {
                hash,
                text: ShortText::new(text, ""),
            };
        }
        let mut buf = [0u8; INLINE];
        let text = if let Some(key) = normalise_ascii(text, &mut buf) {
            ShortText::new(key, text)
        } else {
            let mut key = String::with_capacity(text.len());
            push_normalised(text, &mut key);
            ShortText::new(&key, text)
        };
        Self {
            hash: name_hash(text.first_bytes()),
            text,
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        if self.text.second_len() == 0 {
            self.text.first()
        } else {
            self.text.second()
        }
    }

    /// The normalised spelling ward compares (see [`normalise`]).
    #[inline]
    pub fn key(&self) -> &str {
        self.text.first()
    }

    /// True when `self` is one of `names`.
    #[inline]
    pub(crate) fn is_in(&self, names: &[Name]) -> bool {
        names.iter().any(|name| name == self)
    }
}

impl PartialEq for Name {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && same_text(self.text.first_bytes(), other.text.first_bytes())
    }
}

/// `a == b`, without a call to `memcmp` for the short words feeds are made of: by the time
/// two names get here their hashes agree, so this nearly always says yes.
#[inline]
fn same_text(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        a.iter().zip(b).all(|(x, y)| x == y)
    } else {
        a == b
    }
}

impl Eq for Name {}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?;
        Ok(Self::new(&text.0))
    }
}

/// A string read from JSON, borrowed from the input when it can be (no escapes in it) and
/// copied only when it cannot. (`Cow<str>`'s own `Deserialize` always copies.)
pub(crate) struct Text<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// FNV-1a: tiny, dependency-free and stable, which is all a short name needs.
fn name_hash(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(FNV_OFFSET, |hash, byte| fnv_step(hash, *byte))
}

/// FNV-1a's starting value.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a's step for one byte.
#[inline]
fn fnv_step(hash: u64, byte: u8) -> u64 {
    (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
}

/// A set of names looked up by hash, for the policy's lists, which the feed guard asks about
/// once per tag: a small open-addressing table of positions, at most half full, so a lookup
/// reads one or two slots and compares a name's text only when a hash matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NameSet {
    /// One entry per normalised spelling, in the order given.
    names: Box<[Name]>,
    /// Position in `names` plus one, or 0 for an empty slot; a power of two long (or empty).
    slots: Box<[u32]>,
}

/// Where a probe for `hash` starts in a table of `mask + 1` slots.
#[inline]
fn first_slot(hash: u64, mask: usize) -> usize {
    // Fold the high half in: FNV-1a's low bits alone spread short words less well.
    ((hash ^ (hash >> 32)) as usize) & mask
}

impl NameSet {
    /// The set of `names` (spellings of one word count once).
    pub(crate) fn new(names: impl IntoIterator<Item = Name>) -> Self {
        let mut list: Vec<Name> = Vec::new();
        for name in names {
            if !name.is_in(&list) {
                list.push(name);
            }
        }
        if list.is_empty() {
            return Self::default();
        }
        let n_slots = (list.len() * 2).next_power_of_two();
        let mask = n_slots - 1;
        let mut slots = vec![0u32; n_slots];
        for (position, name) in (1u32..).zip(&list) {
            let mut at = first_slot(name.hash, mask);
            // At most half full: a free slot is always found within the table's length.
            for _ in 0..n_slots {
                match slots.get_mut(at) {
                    Some(slot) if *slot == 0 => {
                        *slot = position;
                        break;
                    }
                    _ => at = (at + 1) & mask,
                }
            }
        }
        Self {
            names: list.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
        }
    }

    /// Where `name` (any spelling of it) is in the order given, if it is in the set.
    #[inline]
    pub(crate) fn position(&self, name: &Name) -> Option<usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = first_slot(name.hash, mask);
        for _ in 0..self.slots.len() {
            let slot = *self.slots.get(at)?;
            if slot == 0 {
                return None;
            }
            let position = (slot as usize).wrapping_sub(1);
            if self.names.get(position).is_some_and(|n| n == name) {
                return Some(position);
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// True when `name` (any spelling of it) is in the set.
    #[inline]
    pub(crate) fn contains(&self, name: &Name) -> bool {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = first_slot(name.hash, mask);
        for _ in 0..self.slots.len() {
            let Some(&slot) = self.slots.get(at) else {
                return false;
            };
            if slot == 0 {
                return false;
            }
            if self
                .names
                .get((slot as usize).wrapping_sub(1))
                .is_some_and(|n| n == name)
            {
                return true;
            }
            at = (at + 1) & mask;
        }
        false
    }

    /// The names, in no particular order.
    pub(crate) fn names(&self) -> &[Name] {
        &self.names
    }
}

macro_rules! name_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in the item JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Reads a value spelt any way [`normalise`] takes as the same (`Self-Harm`,
            /// `SELF_HARM`); `None` when it is not one of these.
            pub fn parse(text: &str) -> Option<Self> {
                match &*normalise(text) { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_enum!(
    /// A tag naming harm (`RUNTIME.md`): the first eight are removed for every child, the
    /// last four below 18.
    HarmTag {
        /// Self-harm.
        SelfHarm = "self_harm",
        /// Suicide.
        Suicide = "suicide",
        /// Eating disorders (pro-anorexia and the like).
        EatingDisorder = "eating_disorder",
        /// Dangerous challenges and stunts.
        DangerousChallenge = "dangerous_challenge",
        /// Pornography.
        Pornography = "pornography",
        /// Sexual content.
        Sexual = "sexual",
        /// Graphic violence.
        GraphicViolence = "graphic_violence",
        /// Hate.
        Hate = "hate",
        /// Gambling.
        Gambling = "gambling",
        /// Alcohol.
        Alcohol = "alcohol",
        /// Drugs.
        Drugs = "drugs",
        /// Weapons.
        Weapons = "weapons",
    }
);

impl HarmTag {
    /// True for tags removed for every child; false for those removed below 18 only.
    pub fn for_no_child(self) -> bool {
        self < Self::Gambling
    }
}

name_enum!(
    /// An advertising category the CAP Code restricts for children.
    CapCategory {
        /// Alcohol.
        Alcohol = "alcohol",
        /// Gambling.
        Gambling = "gambling",
        /// Lotteries.
        Lottery = "lottery",
        /// Cosmetic interventions.
        CosmeticIntervention = "cosmetic_intervention",
        /// Weight-loss products and services.
        WeightLoss = "weight_loss",
        /// Food and drink high in fat, salt or sugar.
        HfssFood = "hfss_food",
        /// Over-the-counter medicines.
        Medicine = "medicine",
        /// Tobacco.
        Tobacco = "tobacco",
        /// E-cigarettes.
        ECigarette = "e_cigarette",
        /// Prescription-only medicines.
        PrescriptionMedicine = "prescription_medicine",
        /// Infant formula.
        InfantFormula = "infant_formula",
    }
);

impl CapCategory {
    /// The youngest age it may be advertised to; `None` for never.
    pub fn min_age(self) -> Option<u8> {
        match self {
            Self::Alcohol
            | Self::Gambling
            | Self::Lottery
            | Self::CosmeticIntervention
            | Self::WeightLoss => Some(18),
            Self::HfssFood | Self::Medicine => Some(16),
            Self::Tobacco | Self::ECigarette | Self::PrescriptionMedicine | Self::InfantFormula => {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_word_normalise_alike() {
        for (text, expected) in [
            ("self_harm", "self_harm"),
            ("Self-Harm", "self_harm"),
            ("self-harm", "self_harm"),
            ("SELF_HARM", "self_harm"),
            ("self harm", "self_harm"),
            ("  Self \t Harm  ", "self_harm"),
            ("self--harm", "self_harm"),
            ("_self_harm_", "self_harm"),
            ("self\u{2013}harm", "self_harm"),
            ("PG-13", "pg_13"),
            ("TV-Y7", "tv_y7"),
            ("12A", "12a"),
            ("", ""),
            ("---", ""),
            ("Ünïcode Wörd", "ünïcode_wörd"),
        ] {
            assert_eq!(normalise(text), expected, "{text:?}");
            assert_eq!(normalise(expected), expected, "idempotent: {expected:?}");
        }
        assert!(matches!(normalise("already_normal"), Cow::Borrowed(_)));
        let mut small = [0u8; 4];
        assert_eq!(normalise_ascii("PG-13", &mut small), None, "does not fit");
        assert_eq!(normalise_ascii("Ü", &mut [0u8; 8]), None, "not ASCII");
        assert!(matches!(normalise("Not_normal"), Cow::Owned(_)));
    }

    #[test]
    fn the_byte_classes_are_is_separators_and_the_capitals() {
        for byte in 0..=u8::MAX {
            let expected = if !byte.is_ascii() {
                ByteClass::Other
            } else if byte == b'_' {
                ByteClass::Underscore
            } else if is_separator(char::from(byte)) {
                ByteClass::Separator
            } else if byte.is_ascii_uppercase() {
                ByteClass::Capital
            } else {
                ByteClass::Keep
            };
            assert_eq!(BYTE_CLASSES[usize::from(byte)], expected, "{byte:#04x}");
        }
    }

    #[test]
    fn a_normalised_name_is_hashed_as_any_other() {
        for text in [
            "football",
            "self_harm",
            "a",
            "",
            "tv_y7",
            "x.y!z",
            "item-1",
            "_a",
        ] {
            let name = Name::new(text);
            assert_eq!(name.hash, name_hash(name.key().as_bytes()), "{text:?}");
            assert_eq!(
                normalised_hash(text.as_bytes()).is_some(),
                normalise(text) == text,
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_slow_one_on_every_short_ascii_text() {
        let alphabet = ['a', 'Z', '0', '_', '-', ' ', '\t', '\x0b'];
        let mut texts = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(level.iter().cloned());
        }
        for text in &texts {
            let slow: String = {
                let mut out = String::new();
                for part in text.split(is_separator).filter(|p| !p.is_empty()) {
                    if !out.is_empty() {
                        out.push('_');
                    }
                    out.extend(part.chars().flat_map(char::to_lowercase));
                }
                out
            };
            assert_eq!(is_normalised(text), slow == *text, "{text:?}");
            assert_eq!(normalise(text), slow, "{text:?}");
            let mut buf = [0u8; 16];
            assert_eq!(
                normalise_ascii(text, &mut buf),
                Some(slow.as_str()),
                "{text:?}"
            );
            assert_eq!(Name::new(text).key(), slow, "{text:?}");
            assert_eq!(Name::new(text).as_str(), text, "{text:?}");
        }
    }

    #[test]
    fn short_and_long_texts_compare_exactly() {
        let words: Vec<String> = (0..40)
            .map(|n| {
                "abcdefghijklmnopqrstuvwxyz0123456789_-.!"
                    .chars()
                    .take(n)
                    .collect()
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same_text(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
            // One byte changed anywhere is told apart.
            for idx in 0..a.len() {
                let mut changed = a.clone().into_bytes();
                changed[idx] ^= 1;
                let changed = String::from_utf8(changed).unwrap();
                assert!(
                    !same_text(a.as_bytes(), changed.as_bytes()),
                    "{a:?} at {idx}"
                );
            }
        }
    }

    #[test]
    fn names_compare_by_spelling_and_show_what_was_written() {
        let written = Name::new("True Crime");
        assert_eq!(written, Name::new("true_crime"));
        assert_eq!(written.as_str(), "True Crime");
        assert_eq!(written.key(), "true_crime");
        assert_eq!(written.to_string(), "True Crime");
        assert_eq!(Name::new("football").as_str(), "football");
        assert_eq!(Name::new("football").key(), "football");
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<Name>(), 32);
        }
        let set = NameSet::new([Name::new("funny"), Name::new("FUNNY"), written.clone()]);
        assert_eq!(set.names().len(), 2);
        assert!(set.contains(&Name::new("true-crime")));
        assert!(!set.contains(&Name::new("crime")));
        assert!(!NameSet::default().contains(&Name::new("crime")));
        let many = NameSet::new((0..1000).map(|i| Name::new(&format!("Word {i}"))));
        assert_eq!(many.names().len(), 1000);
        assert!((0..1000).all(|i| many.contains(&Name::new(&format!("word_{i}")))));
        assert!(!(1000..2000).any(|i| many.contains(&Name::new(&format!("word_{i}")))));
    }
}
