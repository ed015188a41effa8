//! The one bit writer and the one bit reader every ad-tech string is built from: fixed-width
//! integers most significant bit first, Fibonacci-coded integers (GPP), and the URL-safe
//! base64 alphabet without padding characters (`A–Z a–z 0–9 - _`, six bits a character) that
//! the TC string, the GPP header and its sections all use.
//!
//! Not for the formats themselves: field order and widths live in [`super::tcf`] and
//! [`super::gpp`].

use std::fmt;

/// The URL-safe base64 alphabet (RFC 4648 §5), index = six-bit value.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Where a string is padded with zero bits before it is written as characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// To a whole character (6 bits): the GPP header and sections, as the GPP specification
    /// says ("a total bit length that is a multiple of 6 bits").
    Character,
    /// To whole bytes and whole characters (24 bits): the TC string, as IAB Tech Lab's own
    /// encoder writes it, so a byte-oriented base64 decoder reads it without complaint.
    Bytes,
}

/// Writes bits most significant first into bytes.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    n_bits: usize,
}

impl BitWriter {
    /// An empty writer with room for `n_bits` without reallocating.
    pub fn with_capacity(n_bits: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(n_bits.div_ceil(8)),
            n_bits: 0,
        }
    }

    /// How many bits were written.
    pub fn len(&self) -> usize {
        self.n_bits
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.n_bits == 0
    }

    /// Writes one bit.
    pub fn bit(&mut self, set: bool) {
        let bit_idx = self.n_bits % 8;
        if bit_idx == 0 {
            self.bytes.push(0);
        }
        if set && let Some(last) = self.bytes.last_mut() {
            *last |= 0x80 >> bit_idx;
        }
        self.n_bits += 1;
    }

    /// Writes the low `width` bits of `value` (at most 64), most significant first. Higher
    /// bits are dropped: callers check ranges before they encode.
    pub fn int(&mut self, value: u64, width: u32) {
        // A byte at a time: as many of the value's next bits as the last byte has room for.
        let mut remaining = width.min(64);
        while remaining > 0 {
            let bit_idx = (self.n_bits % 8) as u32;
            if bit_idx == 0 {
                self.bytes.push(0);
            }
            let room = 8 - bit_idx;
            let take = room.min(remaining);
            let shift = remaining - take;
            let chunk = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << (room - take);
            }
            self.n_bits += take as usize;
            remaining -= take;
        }
    }

    /// Writes `n` (at least 1) as a Fibonacci code word: a 1 for each Fibonacci number in its
    /// Zeckendorf sum, smallest (1) first, then a closing 1, so the word ends in `11`. Zero
    /// has no code word and is written as 1 (callers never pass it: GPP offsets start at 1).
    pub fn fibonacci(&mut self, n: u64) {
        let n = n.max(1);
        // F(2) = 1, F(3) = 2, 3, 5, 8, … up to the largest not above n.
        let mut fibs = [0u64; 92];
        let mut len = 0;
        let (mut a, mut b) = (1u64, 2u64);
        while a <= n && len < fibs.len() {
            fibs[len] = a;
            len += 1;
            let next = a.saturating_add(b);
            a = b;
            b = next;
        }
        let mut used = [false; 92];
        let mut rest = n;
        for idx in (0..len).rev() {
            if fibs[idx] <= rest {
                used[idx] = true;
                rest -= fibs[idx];
            }
        }
        for set in &used[..len] {
            self.bit(*set);
        }
        self.bit(true);
    }

    /// Appends the bits as base64url characters to `out`, zero-padded as `padding` says.
    pub fn write_base64(&self, padding: Padding, out: &mut String) {
        let unit = match padding {
            Padding::Character => 6,
            Padding::Bytes => 24,
        };
        let n_padded = self.n_bits.div_ceil(unit) * unit;
        out.reserve(n_padded / 6);
        // Bits past `n_bits` in the last byte are never set, and bytes past the end read as
        // zero: that is the padding.
        let byte = |idx: usize| u16::from(self.bytes.get(idx).copied().unwrap_or(0));
        for char_idx in 0..n_padded / 6 {
            let bit = char_idx * 6;
            let window = (byte(bit / 8) << 8) | byte(bit / 8 + 1);
            let sextet = (window >> (10 - bit % 8)) & 0x3f;
            out.push(char::from(ALPHABET[usize::from(sextet)]));
        }
    }

    /// The bits as base64url, zero-padded as `padding` says.
    pub fn to_base64(&self, padding: Padding) -> String {
        let mut out = String::new();
        self.write_base64(padding, &mut out);
        out
    }

    #[cfg(test)]
    fn get(&self, bit: usize) -> bool {
        bit < self.n_bits
            && self
                .bytes
                .get(bit / 8)
                .is_some_and(|byte| byte & (0x80 >> (bit % 8)) != 0)
    }
}

/// Why a string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A character outside the base64url alphabet.
    #[error("`{found}` at character {position} is not a base64url character")]
    BadCharacter {
        /// The character.
        found: char,
        /// Its 1-based position in the segment.
        position: usize,
    },
    /// The data ended inside a field.
    #[error("the string ends inside `{field}`")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A field holds a value the format does not allow.
    #[error("`{field}` holds {value}, which the format does not allow")]
    BadValue {
        /// The field.
        field: &'static str,
        /// What it held.
        value: u64,
    },
    /// A segment is missing or not the one expected.
    #[error("{0}")]
    Structure(&'static str),
}

/// Reads bits most significant first from a base64url string.
#[derive(Clone)]
pub struct BitReader {
    sextets: Vec<u8>,
    position: usize,
}

impl fmt::Debug for BitReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BitReader")
            .field("n_bits", &self.n_bits())
            .field("position", &self.position)
            .finish()
    }
}

impl BitReader {
    /// Reads `text` as base64url (no padding characters).
    pub fn new(text: &str) -> Result<Self, DecodeError> {
        let sextets = text
            .chars()
            .enumerate()
            .map(|(idx, found)| {
                u8::try_from(found)
                    .ok()
                    .and_then(|byte| ALPHABET.iter().position(|c| *c == byte))
                    .map(|value| value as u8)
                    .ok_or(DecodeError::BadCharacter {
                        found,
                        position: idx + 1,
                    })
            })
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(Self {
            sextets,
            position: 0,
        })
    }

    /// How many bits the string holds.
    pub fn n_bits(&self) -> usize {
        self.sextets.len() * 6
    }

    /// How many bits are left to read.
    pub fn remaining(&self) -> usize {
        self.n_bits() - self.position
    }

    /// Reads one bit.
    pub fn bit(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let sextet = self
            .sextets
            .get(self.position / 6)
            .ok_or(DecodeError::Truncated { field })?;
        let set = sextet & (0x20 >> (self.position % 6)) != 0;
        self.position += 1;
        Ok(set)
    }

    /// Reads a `width`-bit integer (at most 64).
    pub fn int(&mut self, width: u32, field: &'static str) -> Result<u64, DecodeError> {
        if self.remaining() < width as usize {
            return Err(DecodeError::Truncated { field });
        }
        let mut value = 0u64;
        for _ in 0..width.min(64) {
            value = (value << 1) | u64::from(self.bit(field)?);
        }
        Ok(value)
    }

    /// Reads a Fibonacci code word (up to the first `11`).
    pub fn fibonacci(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let (mut a, mut b) = (1u64, 2u64);
        let mut value = 0u64;
        let mut previous = false;
        loop {
            let set = self.bit(field)?;
            if set && previous {
                return Ok(value);
            }
            if set {
                value = value
                    .checked_add(a)
                    .ok_or(DecodeError::BadValue { field, value })?;
            }
            previous = set;
            let next = a
                .checked_add(b)
                .ok_or(DecodeError::BadValue { field, value })?;
            a = b;
            b = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(writer: &BitWriter) -> String {
        (0..writer.len())
            .map(|idx| if writer.get(idx) { '1' } else { '0' })
            .collect()
    }

    #[test]
    fn fibonacci_code_words_are_the_specifications() {
        // The GPP specification's table, "About Fibonacci Encoding".
        for (n, word) in [
            (1, "11"),
            (2, "011"),
            (3, "0011"),
            (4, "1011"),
            (5, "00011"),
            (6, "10011"),
            (7, "01011"),
        ] {
            let mut writer = BitWriter::default();
            writer.fibonacci(n);
            assert_eq!(bits(&writer), word, "{n}");
            let mut reader = BitReader::new(&writer.to_base64(Padding::Character)).unwrap();
            assert_eq!(reader.fibonacci("n").unwrap(), n);
        }
    }

    #[test]
    fn every_number_reads_back_as_written() {
        let mut writer = BitWriter::default();
        let numbers: Vec<u64> = (1..2000).chain([65_535, 1 << 40, u64::MAX / 4]).collect();
        for n in &numbers {
            writer.fibonacci(*n);
            writer.int(*n & 0xfff, 12);
        }
        let mut reader = BitReader::new(&writer.to_base64(Padding::Bytes)).unwrap();
        for n in &numbers {
            assert_eq!(reader.fibonacci("n").unwrap(), *n);
            assert_eq!(reader.int(12, "n").unwrap(), *n & 0xfff);
        }
    }

    #[test]
    fn padding_is_to_a_character_or_to_whole_bytes() {
        let mut writer = BitWriter::default();
        writer.int(0b000011, 6);
        writer.int(1, 6);
        writer.int(1, 12);
        writer.bit(false);
        writer.fibonacci(2);
        // GPP header example 1: 28 bits, "DBABM".
        assert_eq!(writer.to_base64(Padding::Character), "DBABM");
        assert_eq!(writer.to_base64(Padding::Bytes), "DBABMAAA");
    }

    #[test]
    fn a_bad_character_or_a_short_string_is_an_error() {
        assert_eq!(
            BitReader::new("AB+C").unwrap_err(),
            DecodeError::BadCharacter {
                found: '+',
                position: 3
            }
        );
        let mut reader = BitReader::new("A").unwrap();
        assert_eq!(
            reader.int(7, "field").unwrap_err(),
            DecodeError::Truncated { field: "field" }
        );
        // A run of zeros never closes a Fibonacci word.
        let mut reader = BitReader::new("AAAA").unwrap();
        assert!(reader.fibonacci("n").is_err());
    }
}
