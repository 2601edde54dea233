//! Values out of [`PyValue`]: `PyValue` as a serde `Deserializer` (for
//! typed cases read from files) and its own `Deserialize`.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::{BIG_INT, PyValue, PyValueError, insert};

struct PyValueVisitor;

impl<'de> Visitor<'de> for PyValueVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<PyValue, E> {
        Ok(PyValue::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<PyValue, E> {
        Ok(i128::try_from(v).map_or_else(|_| PyValue::BigInt(v.to_string()), PyValue::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<PyValue, E> {
        Ok(PyValue::Str(v))
    }

    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }

    fn visit_none<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<PyValue, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<PyValue, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(PyValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut entries: Vec<(String, PyValue)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == BIG_INT && entries.is_empty() {
                let digits: String = map.next_value()?;
                return PyValue::int_from_digits(&digits)
                    .ok_or_else(|| de::Error::custom(format!("{digits:?} is not an integer")));
            }
            let value = map.next_value()?;
            insert(&mut entries, key, value);
        }
        Ok(PyValue::Dict(entries))
    }
}

impl<'de> de::Deserialize<'de> for PyValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Our deserializer answers this name with a big integer's digits;
        // others see a newtype and give its inner value.
        deserializer.deserialize_newtype_struct(BIG_INT, PyValueVisitor)
    }
}

/// Decodes `value` as `T`, naming the path inside it that failed.
pub(crate) fn from_py<T: de::DeserializeOwned>(
    value: PyValue,
) -> Result<T, serde_path_to_error::Error<PyValueError>> {
    serde_path_to_error::deserialize(value)
}

impl<'de> IntoDeserializer<'de, PyValueError> for PyValue {
    type Deserializer = PyValue;

    fn into_deserializer(self) -> PyValue {
        self
    }
}

fn big_int_error(digits: &str) -> PyValueError {
    PyValueError(format!(
        "the integer {digits} is beyond 128 bits, which this type cannot hold; use PyValue"
    ))
}

impl<'de> de::Deserializer<'de> for PyValue {
    type Error = PyValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyValueError> {
        match self {
            PyValue::None => visitor.visit_unit(),
            PyValue::Bool(flag) => visitor.visit_bool(flag),
            PyValue::Int(n) => {
                if let Ok(n) = i64::try_from(n) {
                    visitor.visit_i64(n)
                } else if let Ok(n) = u64::try_from(n) {
                    visitor.visit_u64(n)
                } else {
                    let visited = if n < 0 {
                        visitor.visit_i128(n)
                    } else {
                        visitor.visit_u128(n as u128)
                    };
                    visited.map_err(|err: PyValueError| {
                        PyValueError(format!(
                            "{err}: the integer {n} is beyond 64 bits; hold it in an i128, \
                             a u128 or a PyValue"
                        ))
                    })
                }
            }
            PyValue::BigInt(digits) => match digits.parse::<u128>() {
                Ok(n) => visitor.visit_u128(n).map_err(|err: PyValueError| {
                    PyValueError(format!(
                        "{err}: the integer {n} is beyond 64 bits; hold it in a u128 or a PyValue"
                    ))
                }),
                Err(_) => Err(big_int_error(&digits)),
            },
            PyValue::Float(x) => visitor.visit_f64(x),
            PyValue::Str(text) => visitor.visit_string(text),
            PyValue::List(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            PyValue::Dict(entries) | PyValue::Model(_, entries) => {
                let mut map = de::value::MapDeserializer::new(entries.into_iter());
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyValueError> {
        match self {
            PyValue::None => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PyValueError> {
        match self {
            PyValue::BigInt(digits) if name == BIG_INT => {
                visitor.visit_map(BigIntAccess(Some(digits)))
            }
            other => visitor.visit_newtype_struct(other),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PyValueError> {
        match self {
            PyValue::Str(variant) => visitor.visit_enum(variant.into_deserializer()),
            PyValue::Dict(mut entries) if entries.len() == 1 => {
                let (variant, value) = entries.pop().expect("one entry");
                visitor.visit_enum(EnumAccess { variant, value })
            }
            other => Err(de::Error::invalid_type(
                de::Unexpected::Other(other.type_name()),
                &"a variant name or a mapping of one variant",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// A big integer's digits, handed to [`PyValue`]'s own visitor.
struct BigIntAccess(Option<String>);

impl<'de> MapAccess<'de> for BigIntAccess {
    type Error = PyValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PyValueError> {
        if self.0.is_none() {
            return Ok(None);
        }
        seed.deserialize(PyValue::Str(BIG_INT.to_owned())).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, PyValueError> {
        let digits = self.0.take().unwrap_or_default();
        seed.deserialize(PyValue::Str(digits))
    }
}

struct EnumAccess {
    variant: String,
    value: PyValue,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = PyValueError;
    type Variant = PyValue;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, PyValue), PyValueError> {
        let variant = seed.deserialize(PyValue::Str(self.variant))?;
        Ok((variant, self.value))
    }
}

impl<'de> de::VariantAccess<'de> for PyValue {
    type Error = PyValueError;

    fn unit_variant(self) -> Result<(), PyValueError> {
        match self {
            PyValue::None => Ok(()),
            other => Err(de::Error::invalid_type(
                de::Unexpected::Other(other.type_name()),
                &"a unit variant",
            )),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, PyValueError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, PyValueError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PyValueError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}
