//! A fast path for reading feed items from a request body: [`Scanner`], a hand-written,
//! single-pass reader over the body's bytes for the common, well-formed case, so a
//! 10,000-item feed is not paid for through serde's generic machinery.
//!
//! It takes only what serde would take and build the same way, and says `None` to anything
//! else: a string with an escape (a backslash) or a control character, `null`, a number that
//! is not a plain non-negative integer of at most 18 digits, an unknown or repeated key, a
//! value of a type it does not expect, more items than asked for, or any structure JSON does
//! not allow. The caller then reads the body again through serde, so every error message
//! (and every edge case) stays serde's, byte for byte. JSON whitespace is taken wherever
//! JSON takes it.
//!
//! Items are not built here: the scanner fills `item.rs`'s `RawItem`, as the serde visitor
//! does, and converts it through the same `TryFrom`, so the two readers cannot disagree on a
//! rule; a conversion that fails is `None` too, for serde to word the error. Words become
//! [`Name`]s through [`Name::new`], as the visitor's do.
//!
//! Not for reporting what is wrong with a body (that is serde's, on the fallback), nor for
//! JSON in general: it knows items' fields and the few primitives a request around them needs
//! ([`Scanner::object`], [`Scanner::array`], [`Scanner::string`], [`Scanner::bool`]), which
//! the decision bodies' reader (`POST /v1/decide` and `/v1/decide/batch`) builds on too, under
//! the same rule.

use std::borrow::Cow;

use super::item::{FIELDS, RatingText, RawItem, RawRatings};
use super::{Item, ItemKind, Name};
use crate::vocab::Text;

/// The most digits of a rating given as a number: any such number fits a `u64`, as serde_json
/// reads it, so it is the integer serde would see (a longer one may be read as a float).
const MAX_DIGITS: usize = 18;

/// A cursor over a JSON text, reading the values the feed's requests carry. Every reader
/// skips the whitespace before its value and returns `None` for anything unusual (see the
/// module docs), leaving the cursor wherever it stopped: after a `None`, the caller gives the
/// whole text to serde instead.
#[derive(Debug)]
pub struct Scanner<'a> {
    text: &'a str,
    at: usize,
    /// Words gathered for the list being read, reused from one list to the next so each list
    /// allocates once, at its exact length.
    words: Vec<Name>,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            at: 0,
            words: Vec::new(),
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, then `byte`, or `None` when the next byte is another.
    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.at += 1;
            Some(())
        } else {
            None
        }
    }

    /// After a value: skips whitespace, then says whether `,` (another follows) or `close`
    /// (the last) comes next; `None` for anything else.
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        self.skip_whitespace();
        let byte = self.peek()?;
        self.at += 1;
        if byte == b',' {
            Some(true)
        } else if byte == close {
            Some(false)
        } else {
            None
        }
    }

    /// Reads an object, calling `value` with each key: it must read the key's value (and may
    /// return `None` to refuse the key, as for one unknown or repeated). `{}` calls it never.
    #[inline]
    pub fn object(
        &mut self,
        mut value: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.delimited(b'{', b'}', |scanner| {
            let key = scanner.string()?;
            scanner.eat(b':')?;
            value(scanner, key)
        })
    }

    /// Reads an object whose every key is one of `keys`, calling `value` with the key's
    /// position in `keys`: it must read the key's value (and may return `None` to refuse the
    /// key, as for one repeated). Any other key is `None`, as every caller of [`Self::object`]
    /// refuses one it does not know; the keys are matched in place, without reading each as a
    /// string first.
    #[inline]
    pub fn fields(
        &mut self,
        keys: &[&str],
        mut value: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        self.delimited(b'{', b'}', |scanner| {
            let field = scanner.key(keys)?;
            scanner.eat(b':')?;
            value(scanner, field)
        })
    }

    /// A string that is exactly one of `keys`, and its position there. A plain string holds
    /// no quote, so the text up to the first quote is the string: it is `key` when `key` is
    /// followed by a quote, and then no other of `keys` can be.
    #[inline]
    fn key(&mut self, keys: &[&str]) -> Option<usize> {
        self.eat(b'"')?;
        let rest = self.text.as_bytes().get(self.at..)?;
        let field = keys.iter().position(|key| {
            let key = key.as_bytes();
            rest.get(key.len()) == Some(&b'"') && rest.starts_with(key)
        })?;
        self.at += keys.get(field)?.len() + 1;
        Some(field)
    }

    /// Reads an array, calling `element` to read each element.
    #[inline]
    pub fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.delimited(b'[', b']', element)
    }

    /// Reads `open`, then entries separated by commas (none at all is `open` then `close`),
    /// each read by `entry`, then `close`.
    #[inline]
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        mut entry: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.at += 1;
            return Some(());
        }
        loop {
            entry(self)?;
            if !self.more(close)? {
                return Some(());
            }
        }
    }

    /// Reads a string without escapes or control characters, borrowed from the text.
    #[inline]
    pub fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let rest = self.text.as_bytes().get(start..)?;
        let len = super::escape_position(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        // The quotes are ASCII, so both ends are on character boundaries.
        self.text.get(start..start + len)
    }

    /// Reads `true` or `false`.
    #[inline]
    pub fn bool(&mut self) -> Option<bool> {
        self.skip_whitespace();
        let rest = self.text.as_bytes().get(self.at..)?;
        let (value, len) = if rest.starts_with(b"true") {
            (true, 4)
        } else if rest.starts_with(b"false") {
            (false, 5)
        } else {
            return None;
        };
        self.at += len;
        Some(value)
    }

    /// True when only whitespace is left, as serde_json's end of input requires.
    pub fn is_at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.text.len()
    }

    /// Reads an array of at most `max` items, each as [`Item`]'s own `Deserialize` builds it,
    /// into a vector with room reserved from the text's length (as the serde reader reserves
    /// it). More than `max` is `None`: the serde reader counts them and words the refusal.
    pub fn items(&mut self, max: usize) -> Option<Vec<Item>> {
        // An item is rarely under 64 bytes (the serde reader's reservation too).
        let room = (self.text.len().saturating_sub(self.at) / 64).min(max);
        let mut items = Vec::with_capacity(room);
        self.array(|scanner| {
            if items.len() == max {
                return None;
            }
            items.push(scanner.item()?);
            Some(())
        })?;
        Some(items)
    }

    /// Reads one item's object into a [`RawItem`] and builds the item from it.
    fn item(&mut self) -> Option<Item> {
        let mut raw = RawItem::default();
        let mut seen = 0u16;
        self.fields(FIELDS, |scanner, field| {
            if seen & (1 << field) != 0 {
                return None;
            }
            seen |= 1 << field;
            match field {
                0 => raw.id = Some(Text(Cow::Borrowed(scanner.string()?))),
                1 => raw.kind = Some(scanner.kind()?),
                2 => raw.ratings = Some(scanner.ratings()?.into_ratings()),
                3 => raw.tags = Some(scanner.names()?),
                4 => raw.ad_category = Some(scanner.name()?),
                5 => raw.topics = Some(scanner.names()?),
                6 => raw.source = Some(scanner.name()?),
                7 => raw.trigger = Some(scanner.name()?),
                8 => raw.assessed = Some(scanner.bool()?),
                9 => raw.adult = Some(scanner.bool()?),
                _ => raw.known_to_child = Some(scanner.bool()?),
            }
            Some(())
        })?;
        Item::try_from(raw).ok()
    }

    /// An item's kind, spelt as `ItemKind`'s `Deserialize` takes it.
    fn kind(&mut self) -> Option<ItemKind> {
        Some(match self.string()? {
            "video" => ItemKind::Video,
            "post" => ItemKind::Post,
            "ad" => ItemKind::Ad,
            "notification" => ItemKind::Notification,
            "user" => ItemKind::User,
            _ => return None,
        })
    }

    fn name(&mut self) -> Option<Name> {
        self.string().map(Name::new)
    }

    /// A list of words, boxed once at its exact length.
    fn names(&mut self) -> Option<Box<[Name]>> {
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        let read = self.array(|scanner| {
            words.push(scanner.name()?);
            Some(())
        });
        // Moved in one copy into a vector of the list's exact length, which boxes without
        // reallocating.
        let names = read.map(|()| {
            let mut names = Vec::with_capacity(words.len());
            names.append(&mut words);
            names.into_boxed_slice()
        });
        self.words = words;
        names
    }

    /// An item's `ratings` object.
    fn ratings(&mut self) -> Option<RawRatings<'a>> {
        let mut ratings = RawRatings::default();
        self.fields(
            &["bbfc", "pegi", "mpaa", "tv", "explicit"],
            |scanner, key| {
                let slot = match key {
                    0 => &mut ratings.bbfc,
                    1 => &mut ratings.pegi,
                    2 => &mut ratings.mpaa,
                    3 => &mut ratings.tv,
                    _ => {
                        if ratings.explicit.is_some() {
                            return None;
                        }
                        ratings.explicit = Some(scanner.bool()?);
                        return Some(());
                    }
                };
                if slot.is_some() {
                    return None;
                }
                *slot = Some(scanner.rating_text()?);
                Some(())
            },
        )?;
        Some(ratings)
    }

    /// A rating value: a string, or a non-negative integer of at most [`MAX_DIGITS`] digits
    /// (what follows it is judged by the caller: `12.5` stops at `.`, which no object takes).
    fn rating_text(&mut self) -> Option<RatingText<'a>> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self
                .string()
                .map(|text| RatingText::Text(Cow::Borrowed(text))),
            b'0' => {
                // A leading zero stands alone in JSON: `012` is left for the caller to refuse.
                self.at += 1;
                Some(RatingText::Integer(0))
            }
            b'1'..=b'9' => {
                let rest = self.text.as_bytes().get(self.at..)?;
                let len = rest
                    .iter()
                    .position(|byte| !byte.is_ascii_digit())
                    .unwrap_or(rest.len());
                if len > MAX_DIGITS {
                    return None;
                }
                let number = rest.get(..len)?.iter().fold(0i128, |number, digit| {
                    number * 10 + i128::from(digit - b'0')
                });
                self.at += len;
                Some(RatingText::Integer(number))
            }
            _ => None,
        }
    }
}

/// Every one-byte edit of `text` that is still UTF-8 (as the server checks before either
/// reader sees a body): each byte deleted, and each replaced by a few bytes that matter to
/// JSON. The bodies the scanner's tests hold it to serde over, here so that ward-core's and
/// ward-server's tests make the same ones.
#[doc(hidden)]
pub fn one_byte_edits(text: &str) -> impl Iterator<Item = String> + '_ {
    let bytes = text.as_bytes();
    (0..bytes.len()).flat_map(move |at| {
        let deleted = [&bytes[..at], &bytes[at + 1..]].concat();
        let replaced = [b'"', b'\\', b',', b'}', b']', b'x', b'1', b' '].map(|byte| {
            let mut edited = bytes.to_vec();
            edited[at] = byte;
            edited
        });
        std::iter::once(deleted)
            .chain(replaced)
            .filter_map(|edited| String::from_utf8(edited).ok())
    })
}
