//! Values as Python holds them after pydantic-evals reads a file: ordered
//! mappings, integers of any size, and models (a Rust struct's counterpart
//! of a pydantic `BaseModel`), with Python's equality, `repr` and `str`.
//!
//! The evaluators compare and describe outputs through this type, so that
//! their results and reasons are the ones pydantic-evals gives; dataset
//! files are read into it and written from it, so that nothing is reordered
//! or rounded on the way.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize};

/// A value as Python holds it: `None`, `bool`, `int` (any size), `float`,
/// `str`, `list`, `dict` (in insertion order), or a model (a struct, with its
/// type name and fields in declaration order).
///
/// Use it as a dataset's input, output or metadata type for untyped data that
/// must stay exact: unlike `serde_json::Value`, it keeps integers beyond 64
/// bits and the order of keys. It deserializes from and serializes to any
/// serde format; an integer beyond 128 bits serializes exactly only into the
/// harness's own dataset files.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None` (JSON `null`).
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int` within `i128`'s range.
    Int(i128),
    /// An `int` beyond `i128`'s range: its decimal digits, `-` first if
    /// negative.
    BigInt(String),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict` with text keys, in insertion order.
    Dict(Vec<(String, PyValue)>),
    /// A model: the type's name and its fields in declaration order. Its
    /// `repr` is `Name(a=1, b='x')` and its `str` `a=1 b='x'`, as pydantic's.
    Model(String, Vec<(String, PyValue)>),
}

/// The serde name under which an integer beyond 128 bits travels between
/// [`PyValue`] and the harness's own serializer and deserializer.
const BIG_INT: &str = "$datasets::eval::BigInt";

impl PyValue {
    /// The value of an integer's decimal text (`-` allowed), however large.
    pub fn int_from_digits(digits: &str) -> Option<PyValue> {
        let body = digits.strip_prefix('-').unwrap_or(digits);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match digits.parse::<i128>() {
            Ok(n) => PyValue::Int(n),
            Err(_) => {
                let trimmed = body.trim_start_matches('0');
                let sign = if digits.starts_with('-') { "-" } else { "" };
                PyValue::BigInt(format!("{sign}{trimmed}"))
            }
        })
    }

    /// The Python type name: `NoneType`, `bool`, `int`, `float`, `str`,
    /// `list`, `dict`, or a model's name.
    pub fn type_name(&self) -> &str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) | PyValue::BigInt(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Dict(_) => "dict",
            PyValue::Model(name, _) => name,
        }
    }

    /// The names of the classes in the value's Python MRO: the type, its
    /// bases, `object` (`bool` is an `int`; a model is a `BaseModel`).
    pub fn mro(&self) -> Vec<&str> {
        let mut names = vec![self.type_name()];
        match self {
            PyValue::Bool(_) => names.push("int"),
            PyValue::Model(..) => names.push("BaseModel"),
            _ => {}
        }
        names.push("object");
        names
    }

    /// Whether Python can hash it (`None`, numbers, `str`; not lists, dicts
    /// or models, which pydantic makes unhashable unless frozen).
    pub fn is_hashable(&self) -> bool {
        !matches!(
            self,
            PyValue::List(_) | PyValue::Dict(_) | PyValue::Model(..)
        )
    }

    /// The value with every model turned into a dict, as pydantic's
    /// `dump_python` gives it.
    pub fn dump(&self) -> PyValue {
        match self {
            PyValue::Model(_, fields) | PyValue::Dict(fields) => PyValue::Dict(
                fields
                    .iter()
                    .map(|(key, value)| (key.clone(), value.dump()))
                    .collect(),
            ),
            PyValue::List(items) => PyValue::List(items.iter().map(PyValue::dump).collect()),
            other => other.clone(),
        }
    }

    /// Python's `repr`.
    pub fn repr(&self) -> String {
        let mut out = String::new();
        write_repr(self, &mut out);
        out
    }

    /// Python's `str`: a string's own text, a model's fields as
    /// `a=1 b='x'` (pydantic's `BaseModel.__str__`), else the `repr`.
    pub fn str(&self) -> String {
        match self {
            PyValue::Str(text) => text.clone(),
            PyValue::Model(_, fields) => {
                let mut out = String::new();
                write_fields(fields, " ", &mut out);
                out
            }
            other => other.repr(),
        }
    }

    /// Python's `==`: numbers by value across `bool`, `int` and `float`,
    /// lists item by item, dicts regardless of order, models of the same
    /// type field by field; a model never equals a dict.
    pub fn py_eq(&self, other: &PyValue) -> bool {
        use PyValue::*;
        match (self, other) {
            (None, None) => true,
            (Str(a), Str(b)) => a == b,
            (List(a), List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y)),
            (Dict(a), Dict(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(key, value)| {
                        b.iter()
                            .find(|(other, _)| other == key)
                            .is_some_and(|(_, w)| value.py_eq(w))
                    })
            }
            (Model(x, a), Model(y, b)) => x == y && Dict(a.clone()).py_eq(&Dict(b.clone())),
            (a, b) => match (a.number(), b.number()) {
                (Some(x), Some(y)) => x.eq(&y),
                _ => false,
            },
        }
    }

    fn number(&self) -> Option<Number<'_>> {
        match self {
            PyValue::Bool(flag) => Some(Number::Int(i128::from(*flag))),
            PyValue::Int(n) => Some(Number::Int(*n)),
            PyValue::BigInt(digits) => Some(Number::Big(digits)),
            PyValue::Float(x) => Some(Number::Float(*x)),
            _ => Option::None,
        }
    }
}

/// A number, for Python's exact comparison of `int` and `float`.
enum Number<'a> {
    Int(i128),
    Big(&'a str),
    Float(f64),
}

impl Number<'_> {
    /// The exact decimal integer, if the number is one.
    fn integer_digits(&self) -> Option<String> {
        match self {
            Number::Int(n) => Some(n.to_string()),
            Number::Big(digits) => Some((*digits).to_owned()),
            // Rust prints a float's exact decimal expansion.
            Number::Float(x) if x.is_finite() && x.fract() == 0.0 => {
                let text = format!("{x:.0}");
                Some(if text == "-0" { "0".to_owned() } else { text })
            }
            Number::Float(_) => None,
        }
    }

    fn eq(&self, other: &Number<'_>) -> bool {
        match (self, other) {
            (Number::Float(x), Number::Float(y)) => x == y,
            (Number::Int(x), Number::Int(y)) => x == y,
            (a, b) => match (a.integer_digits(), b.integer_digits()) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            },
        }
    }
}

fn write_fields(fields: &[(String, PyValue)], separator: &str, out: &mut String) {
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(key);
        out.push('=');
        write_repr(value, out);
    }
}

fn write_repr(value: &PyValue, out: &mut String) {
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(true) => out.push_str("True"),
        PyValue::Bool(false) => out.push_str("False"),
        PyValue::Int(n) => {
            let _ = write!(out, "{n}");
        }
        PyValue::BigInt(digits) => out.push_str(digits),
        PyValue::Float(x) => out.push_str(&float_repr(*x)),
        PyValue::Str(text) => out.push_str(&str_repr(text)),
        PyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        PyValue::Dict(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&str_repr(key));
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
        PyValue::Model(name, fields) => {
            out.push_str(name);
            out.push('(');
            write_fields(fields, ", ", out);
            out.push(')');
        }
    }
}

/// Python's `repr` of a float: the shortest digits that read back the
/// same, in fixed notation from 1e-4 up to 1e16 (with `.0` when whole),
/// else as `1e-07`, `1.5e+16`; `inf`, `-inf`, `nan`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: `d.ddde±x`.
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` writes an exponent");
    let exponent: i32 = exponent.parse().expect("the exponent is a number");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{mantissa}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

/// Python's `repr` of a `str`: single quotes unless the text has a single
/// quote and no double quote; backslash, the quote, `\t`, `\n`, `\r`
/// escaped, and every character Python does not print (`str.isprintable`:
/// controls, format characters such as U+200B and U+FEFF, separators other
/// than the space such as U+00A0, surrogates, private use and unassigned
/// code points) as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
pub fn str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let code = c as u32;
                let _ = if code < 0x100 {
                    write!(out, "\\x{code:02x}")
                } else if code < 0x10000 {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character: the space, and every
/// character outside the categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs.
fn is_printable(c: char) -> bool {
    use unicode_general_category::GeneralCategory::*;
    if c == ' ' {
        return true;
    }
    if c.is_ascii() {
        return !c.is_ascii_control();
    }
    !matches!(
        unicode_general_category::get_general_category(c),
        Control
            | Format
            | Surrogate
            | PrivateUse
            | Unassigned
            | LineSeparator
            | ParagraphSeparator
            | SpaceSeparator
    )
}

impl fmt::Display for PyValue {
    /// Python's `str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.str())
    }
}

impl From<serde_json::Value> for PyValue {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => PyValue::None,
            Value::Bool(flag) => PyValue::Bool(flag),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => PyValue::Int(i.into()),
                (_, Some(u)) => PyValue::Int(u.into()),
                _ => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(text) => PyValue::Str(text),
            Value::Array(items) => PyValue::List(items.into_iter().map(PyValue::from).collect()),
            Value::Object(map) => PyValue::Dict(
                map.into_iter()
                    .map(|(k, v)| (k, PyValue::from(v)))
                    .collect(),
            ),
        }
    }
}

impl PyValue {
    /// Parses JSON text as pydantic reads it: keys in their order (a
    /// repeated key keeps its first place, takes the last value), integers
    /// exact at any size, `NaN` and `Infinity` accepted. The error says
    /// what is wrong and at which line and column.
    pub fn from_json_str(text: &str) -> Result<PyValue, String> {
        super::json_text::parse(text).map_err(|err| err.to_string())
    }

    /// JSON text, indented by two spaces; integers exact at any size, a
    /// model as an object, a non-finite float as `null` (as pydantic's
    /// `model_dump_json`).
    pub fn to_json_string(&self) -> String {
        super::json_text::write_pretty(self)
    }

    /// The value as `serde_json::Value`, which holds integers within 64
    /// bits and finite floats: anything else is an error naming its path
    /// below `at`.
    pub fn to_json(&self, at: &str) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match self {
            PyValue::None => Value::Null,
            PyValue::Bool(flag) => Value::Bool(*flag),
            PyValue::Int(n) => {
                if let Ok(n) = i64::try_from(*n) {
                    n.into()
                } else if let Ok(n) = u64::try_from(*n) {
                    n.into()
                } else {
                    return Err(format!(
                        "{at}: the integer {n} is beyond 64 bits, which JSON values here hold"
                    ));
                }
            }
            PyValue::BigInt(digits) => {
                return Err(format!(
                    "{at}: the integer {digits} is beyond 64 bits, which JSON values here hold"
                ));
            }
            PyValue::Float(x) => serde_json::Number::from_f64(*x)
                .map(Value::Number)
                .ok_or_else(|| format!("{at}: {} is not a finite number", float_repr(*x)))?,
            PyValue::Str(text) => Value::String(text.clone()),
            PyValue::List(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item.to_json(&format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            PyValue::Dict(entries) | PyValue::Model(_, entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), item.to_json(&format!("{at}.{key}"))?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

// ---------------------------------------------------------------- serde

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

/// Sets `key` as a Python dict does: a repeated key keeps its first place
/// and takes the last value.
pub(crate) fn insert(entries: &mut Vec<(String, PyValue)>, key: String, value: PyValue) {
    match entries.iter_mut().find(|(existing, _)| *existing == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

impl<'de> de::Deserialize<'de> for PyValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Our deserializer answers this name with a big integer's digits;
        // others see a newtype and give its inner value.
        deserializer.deserialize_newtype_struct(BIG_INT, PyValueVisitor)
    }
}

impl schemars::JsonSchema for PyValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::default()
    }
}

// ---------------------------------------------------------------- into PyValue

/// The error of converting a value to or from [`PyValue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyValueError(String);

impl fmt::Display for PyValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PyValueError {}

impl ser::Error for PyValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PyValueError(msg.to_string())
    }
}

impl de::Error for PyValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PyValueError(msg.to_string())
    }
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

// ---------------------------------------------------------------- from PyValue

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

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        for (x, text) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1e300, "1e+300"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(float_repr(x), text, "{x:e}");
        }
    }

    #[test]
    fn strings_print_as_python_repr() {
        assert_eq!(str_repr("it's"), r#""it's""#);
        assert_eq!(str_repr(r#"it's "x""#), r#"'it\'s "x"'"#);
        assert_eq!(str_repr("a\\b\n\t\r"), r"'a\\b\n\t\r'");
        assert_eq!(
            str_repr("\u{a0}\u{200b}\u{feff}\u{7f}\u{1}\u{2028}é漢😀"),
            r"'\xa0\u200b\ufeff\x7f\x01\u2028é漢😀'"
        );
        assert_eq!(str_repr("\u{e000}\u{10ffff}"), r"'\ue000\U0010ffff'");
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Answer {
        answer: String,
        confidence: f64,
        id: u128,
    }

    #[test]
    fn structs_are_models_in_declaration_order() {
        let answer = Answer {
            answer: "Paris".into(),
            confidence: 0.5,
            id: u128::MAX,
        };
        let py = to_py(&answer).unwrap();
        assert_eq!(
            py.str(),
            "answer='Paris' confidence=0.5 id=340282366920938463463374607431768211455"
        );
        assert_eq!(
            py.repr(),
            "Answer(answer='Paris', confidence=0.5, id=340282366920938463463374607431768211455)"
        );
        assert_eq!(py.mro(), ["Answer", "BaseModel", "object"]);
        let back: Answer = from_py(py).unwrap();
        assert_eq!(back, answer);
    }

    #[test]
    fn equality_is_pythons() {
        let int = |n: i128| PyValue::Int(n);
        assert!(int(1).py_eq(&PyValue::Float(1.0)));
        assert!(PyValue::Bool(true).py_eq(&int(1)));
        assert!(!int(2).py_eq(&PyValue::Bool(true)));
        let big = PyValue::int_from_digits("1000000000000000000000000000000000000000000").unwrap();
        assert!(big.py_eq(&PyValue::BigInt(
            "1000000000000000000000000000000000000000000".into()
        )));
        // 1e42 is not exactly 10**42.
        assert!(!big.py_eq(&PyValue::Float(1e42)));
        assert!(int(1 << 70).py_eq(&PyValue::Float((1u128 << 70) as f64)));
        let dict = |pairs: &[(&str, i128)]| {
            PyValue::Dict(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), int(*v)))
                    .collect(),
            )
        };
        assert!(dict(&[("a", 1), ("b", 2)]).py_eq(&dict(&[("b", 2), ("a", 1)])));
        let model = PyValue::Model("M".into(), vec![("a".into(), int(1))]);
        assert!(!model.py_eq(&dict(&[("a", 1)])));
        assert!(model.py_eq(&model.clone()));
    }

    #[test]
    fn big_integers_survive_a_round_trip_through_serde() {
        let big = PyValue::int_from_digits("-123456789012345678901234567890123456789012").unwrap();
        let list = PyValue::List(vec![big.clone(), PyValue::Int(i128::MIN)]);
        assert_eq!(to_py(&list).unwrap(), list);
        let back: PyValue = from_py(list.clone()).unwrap();
        assert_eq!(back, list);
        // A type that cannot hold it says so, at its path.
        let err = from_py::<Vec<i64>>(list).unwrap_err();
        assert_eq!(err.path().to_string(), "[0]");
        assert!(err.inner().to_string().contains("beyond 128 bits"), "{err}");
    }
}
