//! Values as Python holds them after pydantic-evals reads a file: ordered
//! mappings, integers of any size, and models (a Rust struct's counterpart
//! of a pydantic `BaseModel`), with Python's equality, `repr` and `str`.
//!
//! The evaluators compare and describe outputs through this type, so that
//! their results and reasons are the ones pydantic-evals gives; dataset
//! files are read into it and written from it, so that nothing is reordered
//! or rounded on the way.

mod de;
mod ser;

use std::fmt::{self, Write as _};

use serde::{de as serde_de, ser as serde_ser};

pub(crate) use de::from_py;
pub use ser::to_py;

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

/// Sets `key` as a Python dict does: a repeated key keeps its first place
/// and takes the last value.
pub(crate) fn insert(entries: &mut Vec<(String, PyValue)>, key: String, value: PyValue) {
    match entries.iter_mut().find(|(existing, _)| *existing == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
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

/// The error of converting a value to or from [`PyValue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyValueError(String);

impl fmt::Display for PyValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PyValueError {}

impl serde_ser::Error for PyValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PyValueError(msg.to_string())
    }
}

impl serde_de::Error for PyValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PyValueError(msg.to_string())
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
