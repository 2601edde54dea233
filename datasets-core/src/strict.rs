//! Reading JSON into the wire types as the protocol writes them: a struct is
//! a JSON object, never an array.
//!
//! serde's derived `Deserialize` for a struct also accepts a sequence of its
//! fields in order, so `["name"]` would read as `{"name": "name"}`. That is
//! a convenience for compact formats and a hazard for an HTTP API: a
//! careless client's array becomes a stored value. [`Strict`] wraps any
//! deserializer so that every struct, at any depth, is read with
//! `deserialize_map`, which accepts only an object; everything else is
//! passed through unchanged (raw values, options, enums, maps, sequences).
//!
//! ```
//! use datasets_core::strict;
//! use datasets_core::wire::NewDataset;
//!
//! assert!(strict::from_slice::<NewDataset>(br#"{"name": "qa"}"#).is_ok());
//! let err = strict::from_slice::<NewDataset>(br#"["qa"]"#).unwrap_err();
//! assert!(err.to_string().contains("expected a JSON object"), "{err}");
//! ```

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// Reads one JSON document from `bytes` as `T`, structs as objects only,
/// with nothing but whitespace after it.
pub fn from_slice<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Strict(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// A deserializer that reads every struct from a map (a JSON object) only.
#[derive(Debug)]
pub struct Strict<D>(pub D);

/// serde_json's raw values are newtype structs with this name prefix; they
/// are read as the parser gives them, not as structs of ours.
const SERDE_JSON_PRIVATE: &str = "$serde_json::private::";

macro_rules! forward_deserialize {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(Wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

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
        if name.starts_with(SERDE_JSON_PRIVATE) {
            self.0.deserialize_newtype_struct(name, visitor)
        } else {
            self.0.deserialize_newtype_struct(name, Wrap(visitor))
        }
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

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(ObjectOnly(Wrap(visitor)))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor whose nested deserializers are [`Strict`].
struct Wrap<V>(V);

/// A struct's visitor, named in errors as what the protocol expects.
struct ObjectOnly<V>(V);

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

macro_rules! visitor_body {
    () => {
        forward_visit!(
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

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            self.0.visit_some(Strict(d))
        }

        fn visit_newtype_struct<D2: Deserializer<'de>>(
            self,
            d: D2,
        ) -> Result<Self::Value, D2::Error> {
            self.0.visit_newtype_struct(Strict(d))
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            self.0.visit_seq(Access(seq))
        }

        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            self.0.visit_map(Access(map))
        }

        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            self.0.visit_enum(Access(data))
        }
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visitor_body!();
}

impl<'de, V: Visitor<'de>> Visitor<'de> for ObjectOnly<Wrap<V>> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    visitor_body!();
}

/// Sequence, map, enum and variant access handing out [`Strict`]
/// deserializers.
struct Access<A>(A);

/// A seed whose deserializer is [`Strict`].
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Access<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Access<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Access<A> {
    type Error = A::Error;
    type Variant = Access<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Seed(seed))?;
        Ok((value, Access(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Access<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        // A struct variant's body is read as a map too: `{"V": [1]}` is no struct.
        self.0.newtype_variant_seed(StructSeed(visitor))
    }
}

/// Reads a struct variant's body as a map, through its visitor.
struct StructSeed<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        deserializer.deserialize_map(ObjectOnly(Wrap(self.0)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::value::RawValue;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        q: i64,
    }

    #[derive(Debug, Deserialize)]
    struct Outer<'a> {
        name: Option<String>,
        #[serde(borrow)]
        raw: Option<&'a RawValue>,
        inner: Option<Vec<Inner>>,
        map: Option<BTreeMap<String, Inner>>,
        pair: Option<(i64, String)>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Kind {
        Unit,
        New(i64),
        Shape { side: i64 },
    }

    #[test]
    fn objects_read_as_before() {
        let body = br#"{"name": "x", "raw": [1, {"a": 2}], "inner": [{"q": 1}],
            "map": {"k": {"q": 2}}, "pair": [1, "b"], "kind": {"Shape": {"side": 3}}}"#;
        let outer: Outer<'_> = from_slice(body).unwrap();
        assert_eq!(outer.name.as_deref(), Some("x"));
        assert_eq!(outer.raw.unwrap().get(), r#"[1, {"a": 2}]"#);
        assert_eq!(outer.inner.unwrap(), [Inner { q: 1 }]);
        assert_eq!(outer.map.unwrap()["k"], Inner { q: 2 });
        assert_eq!(outer.pair.unwrap(), (1, "b".to_owned()));
        assert_eq!(outer.kind.unwrap(), Kind::Shape { side: 3 });
        for (body, kind) in [
            (r#"{"kind": "Unit"}"#, Kind::Unit),
            (r#"{"kind": {"New": 4}}"#, Kind::New(4)),
        ] {
            assert_eq!(
                from_slice::<Outer<'_>>(body.as_bytes())
                    .unwrap()
                    .kind
                    .unwrap(),
                kind
            );
        }
    }

    #[test]
    fn arrays_are_no_structs_at_any_depth() {
        for body in [
            r#"["x"]"#,
            r#"{"inner": [[1]]}"#,
            r#"{"map": {"k": [2]}}"#,
            r#"{"kind": {"Shape": [3]}}"#,
        ] {
            let err = from_slice::<Outer<'_>>(body.as_bytes()).unwrap_err();
            assert!(
                err.to_string()
                    .contains("invalid type: sequence, expected a JSON object"),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn one_document_only() {
        assert!(from_slice::<Inner>(br#"{"q": 1}  "#).is_ok());
        for body in [r#"{"q": 1} x"#, r#"{"q": 1}{"q": 2}"#] {
            let err = from_slice::<Inner>(body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("trailing characters"), "{err}");
        }
    }
}
