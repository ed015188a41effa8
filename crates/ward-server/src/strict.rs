//! Strict JSON: a [`serde::Deserializer`] adapter that takes exactly the shapes the OpenAPI
//! document describes, where serde's derives are more lenient than the document:
//!
//! - a struct only from a JSON object (serde also builds one from an array of its fields in
//!   order, so `["decide"]` was a key request);
//! - an enum only from a string (serde also takes `{"on": null}` for `"on"`);
//! - no `null` for an optional field: leaving a field out is how a body says "not given".
//!
//! Every nested value is read through the adapter too, so the rules hold at any depth and for
//! every type that derives `Deserialize`, without a word in its definition.
//!
//! Not for parsing (serde_json does that) nor for what a value means (ids, ranges, dates:
//! each type's own constructor checks those).

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

/// `inner`, strictly.
pub(crate) struct Strict<D>(pub(crate) D);

/// Forwards `deserialize_*` methods that need nothing but the visitor wrapped.
macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(Wrap(visitor))
            }
        )*
    };
}

/// Integers, which JSON Schema says `1226.0` and `1.2e3` are as well as `1226`.
macro_rules! integers {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(Integral(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i128,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    integers!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_option(NoNull(visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    /// A struct from an object only: asked for as a map, which JSON writes only as `{…}`.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }

    /// An enum from a string only (every enum a body carries is a plain list of words).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_str(EnumFromStr(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor whose nested values are read strictly.
struct Wrap<V>(V);

macro_rules! visit {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $type) -> Result<Self::Value, E> {
                self.0.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(StrictSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(StrictMap(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        // Never reached from JSON: enums are asked for as strings (`deserialize_enum`).
        self.0.visit_enum(data)
    }
}

/// An integer that JSON may write with a fraction of zero or an exponent: such a number is
/// the integer it equals; any other fraction stays the type error it was.
struct Integral<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Integral<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visit!(visit_i64(i64), visit_u64(u64));

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // INVARIANT: inside these bounds the cast is exact for an integral value.
        const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
        if value.fract() == 0.0 && (0.0..2.0 * TWO_POW_63).contains(&value) {
            self.0.visit_u64(value as u64)
        } else if value.fract() == 0.0 && (-TWO_POW_63..0.0).contains(&value) {
            self.0.visit_i64(value as i64)
        } else {
            self.0.visit_f64(value)
        }
    }
}

/// An optional value that is present: `null` is refused.
struct NoNull<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for NoNull<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(null_refused())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(null_refused())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(deserializer))
    }
}

fn null_refused<E: de::Error>() -> E {
    E::custom("`null` is not a value here: leave the field out instead")
}

/// An enum read from a string.
struct EnumFromStr<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumFromStr<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        self.0.visit_enum(value.into_deserializer())
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        self.0
            .visit_enum(de::value::BorrowedStrDeserializer::new(value))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        self.0.visit_enum(value.into_deserializer())
    }
}

/// A sequence whose elements are read strictly.
struct StrictSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictSeq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A map whose keys and values are read strictly.
struct StrictMap<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(StrictSeed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A seed that reads its value strictly.
pub(crate) struct StrictSeed<S>(pub(crate) S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::Strict;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        value: Toggle,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Toggle {
        On,
        Off,
    }

    fn strict(text: &str) -> Result<Outer, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = Outer::deserialize(Strict(&mut deserializer))?;
        deserializer.end()?;
        Ok(value)
    }

    #[test]
    fn what_the_document_describes_is_read() {
        let outer =
            strict(r#"{"name": "a", "inner": {"value": "on"}, "list": [{"value": "off"}]}"#)
                .unwrap();
        assert_eq!(outer.inner, Some(Inner { value: Toggle::On }));
        assert_eq!(outer.list, [Inner { value: Toggle::Off }]);
        assert_eq!(strict(r#"{"name": "a"}"#).unwrap().inner, None);
    }

    #[test]
    fn serdes_leniencies_are_refused_at_any_depth() {
        for text in [
            r#"["a"]"#,
            r#"{"name": "a", "inner": ["on"]}"#,
            r#"{"name": "a", "list": [["on"]]}"#,
            r#"{"name": "a", "inner": {"value": {"on": null}}}"#,
            r#"{"name": "a", "inner": null}"#,
        ] {
            // Lenient serde takes each of these; strict takes none.
            assert!(serde_json::from_str::<Outer>(text).is_ok(), "{text}");
            let error = strict(text).unwrap_err();
            assert!(error.is_data(), "{text}: {error}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Minutes {
        minutes: u16,
        #[serde(default)]
        offset: Option<i32>,
    }

    fn minutes(text: &str) -> Result<Minutes, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        Minutes::deserialize(Strict(&mut deserializer))
    }

    #[test]
    fn an_integer_may_be_written_as_json_schema_allows() {
        for text in [
            r#"{"minutes": 90}"#,
            r#"{"minutes": 90.0}"#,
            r#"{"minutes": 9e1}"#,
        ] {
            assert_eq!(minutes(text).unwrap().minutes, 90, "{text}");
        }
        assert_eq!(
            minutes(r#"{"minutes": 0, "offset": -5.0}"#).unwrap().offset,
            Some(-5)
        );
        for text in [
            r#"{"minutes": 90.5}"#,
            r#"{"minutes": 1e10}"#,
            r#"{"minutes": -1.0}"#,
            r#"{"minutes": "90"}"#,
        ] {
            assert!(minutes(text).unwrap_err().is_data(), "{text}");
        }
    }
}
