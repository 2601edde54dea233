//! Values into [`PyValue`]: the serializer that keeps a struct as a model
//! with its fields in declaration order, and `PyValue`'s own `Serialize`.

use serde::ser::{self, Serialize};

use super::{BIG_INT, PyValue, PyValueError, float_repr, insert};

impl Serialize for PyValue {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use ser::{SerializeMap, SerializeSeq, SerializeStruct};
        match self {
            PyValue::None => serializer.serialize_unit(),
            PyValue::Bool(flag) => serializer.serialize_bool(*flag),
            PyValue::Int(n) => {
                if let Ok(n) = i64::try_from(*n) {
                    serializer.serialize_i64(n)
                } else if let Ok(n) = u64::try_from(*n) {
                    serializer.serialize_u64(n)
                } else {
                    serializer.serialize_i128(*n)
                }
            }
            PyValue::BigInt(digits) => {
                if TO_PY.with(std::cell::Cell::get) {
                    serializer.serialize_newtype_struct(BIG_INT, digits)
                } else {
                    Err(ser::Error::custom(format!(
                        "the integer {digits} is beyond 128 bits, which only the harness's \
                         dataset files hold exactly"
                    )))
                }
            }
            PyValue::Float(x) => serializer.serialize_f64(*x),
            PyValue::Str(text) => serializer.serialize_str(text),
            PyValue::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            PyValue::Dict(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            PyValue::Model(name, fields) => {
                // serde wants `'static` names; a model read back is a dict to
                // other serializers, and a model again to ours.
                let name: &'static str = intern(name);
                let mut map = serializer.serialize_struct(name, fields.len())?;
                for (key, value) in fields {
                    map.serialize_field(intern(key), value)?;
                }
                map.end()
            }
        }
    }
}

/// A `'static` copy of a model or field name, kept once per distinct name
/// (serde's struct serialization takes `'static` names; models are few).
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(found) = names.get(name) {
        return found;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// `value` as Python would hold it: structs as models with their fields in
/// declaration order, maps in their order, integers exact.
pub fn to_py<T: Serialize + ?Sized>(value: &T) -> Result<PyValue, PyValueError> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            TO_PY.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(TO_PY.with(|flag| flag.replace(true)));
    value.serialize(ToPy)
}

std::thread_local! {
    /// Set while [`to_py`] runs: a big integer then travels as its digits
    /// under [`BIG_INT`]; to any other serializer it is an error rather
    /// than a string or a rounded float.
    static TO_PY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The serializer behind [`to_py`].
struct ToPy;

/// A list, dict or model being serialized.
struct Collect {
    kind: Kind,
    items: Vec<PyValue>,
    entries: Vec<(String, PyValue)>,
    key: Option<String>,
}

enum Kind {
    List,
    /// A tuple variant or struct variant: `{variant: ...}`, serde's JSON form.
    VariantList(&'static str),
    Dict,
    Model(&'static str),
    VariantModel(&'static str, &'static str),
}

impl Collect {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            items: Vec::new(),
            entries: Vec::new(),
            key: None,
        }
    }

    fn finish(self) -> PyValue {
        match self.kind {
            Kind::List => PyValue::List(self.items),
            Kind::VariantList(variant) => {
                PyValue::Dict(vec![(variant.to_owned(), PyValue::List(self.items))])
            }
            Kind::Dict => PyValue::Dict(self.entries),
            Kind::Model(name) => PyValue::Model(name.to_owned(), self.entries),
            Kind::VariantModel(name, variant) => PyValue::Dict(vec![(
                variant.to_owned(),
                PyValue::Model(name.to_owned(), self.entries),
            )]),
        }
    }
}

/// A map key's text, as JSON would write it.
fn key_text(key: PyValue) -> Result<String, PyValueError> {
    match key {
        PyValue::Str(text) => Ok(text),
        PyValue::Int(n) => Ok(n.to_string()),
        PyValue::BigInt(digits) => Ok(digits),
        PyValue::Bool(flag) => Ok(flag.to_string()),
        PyValue::Float(x) => Ok(float_repr(x)),
        other => Err(PyValueError(format!(
            "a map key must be text or a number, not {}",
            other.type_name()
        ))),
    }
}

impl ser::Serializer for ToPy {
    type Ok = PyValue;
    type Error = PyValueError;
    type SerializeSeq = Collect;
    type SerializeTuple = Collect;
    type SerializeTupleStruct = Collect;
    type SerializeTupleVariant = Collect;
    type SerializeMap = Collect;
    type SerializeStruct = Collect;
    type SerializeStructVariant = Collect;

    fn serialize_bool(self, v: bool) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Int(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<PyValue, PyValueError> {
        Ok(i128::try_from(v).map_or_else(|_| PyValue::BigInt(v.to_string()), PyValue::Int))
    }
    fn serialize_f32(self, v: f32) -> Result<PyValue, PyValueError> {
        // Through its shortest text, so 0.1f32 is 0.1, not 0.10000000149011612.
        Ok(PyValue::Float(
            v.to_string().parse().unwrap_or(f64::from(v)),
        ))
    }
    fn serialize_f64(self, v: f64) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<PyValue, PyValueError> {
        Ok(PyValue::List(
            v.iter().map(|b| PyValue::Int((*b).into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<PyValue, PyValueError> {
        Ok(PyValue::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<PyValue, PyValueError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<PyValue, PyValueError> {
        Ok(PyValue::None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<PyValue, PyValueError> {
        Ok(PyValue::None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<PyValue, PyValueError> {
        let inner = value.serialize(self)?;
        if name == BIG_INT
            && let PyValue::Str(digits) = &inner
        {
            return PyValue::int_from_digits(digits)
                .ok_or_else(|| PyValueError(format!("{digits:?} is not an integer")));
        }
        Ok(inner)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<PyValue, PyValueError> {
        Ok(PyValue::Dict(vec![(
            variant.to_owned(),
            value.serialize(self)?,
        )]))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::List))
    }
    fn serialize_tuple(self, _: usize) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::List))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::List))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::VariantList(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::Dict))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::Model(name)))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Collect, PyValueError> {
        Ok(Collect::new(Kind::VariantModel(name, variant)))
    }
}

impl ser::SerializeSeq for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PyValueError> {
        self.items.push(value.serialize(ToPy)?);
        Ok(())
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PyValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PyValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PyValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeMap for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), PyValueError> {
        self.key = Some(key_text(key.serialize(ToPy)?)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PyValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| PyValueError("a map value came before its key".to_owned()))?;
        let value = value.serialize(ToPy)?;
        if key == BIG_INT && self.entries.is_empty() {
            // A big integer through a serializer that saw it as a map.
            if let PyValue::Str(digits) = &value
                && let Some(int) = PyValue::int_from_digits(digits)
            {
                self.kind = Kind::List;
                self.items.push(int);
                return Ok(());
            }
        }
        insert(&mut self.entries, key, value);
        Ok(())
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        if matches!(self.kind, Kind::List) && self.items.len() == 1 {
            return Ok(self.items.into_iter().next().unwrap_or(PyValue::None));
        }
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PyValueError> {
        self.entries.push((key.to_owned(), value.serialize(ToPy)?));
        Ok(())
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for Collect {
    type Ok = PyValue;
    type Error = PyValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PyValueError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<PyValue, PyValueError> {
        Ok(self.finish())
    }
}
