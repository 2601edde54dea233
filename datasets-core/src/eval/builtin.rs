//! The built-in evaluators, with pydantic-evals' names, arguments, result
//! names and semantics.
//!
//! They compare outputs in their JSON form, the form in which Python and
//! Rust share them, with Python's equality (`1 == 1.0`, objects regardless
//! of key order). Where pydantic-evals would compare a dataclass with a
//! mapping read from a file (never equal in Python), these compare the
//! output's JSON with the mapping, which is what such a file means.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::evaluator::{
    BoxError, Evaluator, EvaluatorContext, EvaluatorFuture, EvaluatorOutput, EvaluatorRegistry,
    spec_kwargs,
};
use crate::wire::EvaluatorSpec;

/// JSON equality as Python compares the decoded values: numbers by value
/// (`1 == 1.0`, and `True == 1` since a `bool` is an `int`), lists item by
/// item, objects regardless of key order.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Bool(flag), Value::Number(n)) | (Value::Number(n), Value::Bool(flag)) => {
            n.as_f64() == Some(f64::from(u8::from(*flag)))
        }
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A JSON value as Python's `repr` shows the decoded value: `'text'`,
/// `None`, `True`, `[1, 2]`, `{'key': 'value'}`.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

fn write_repr(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(text) => write_str_repr(text, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(key, out);
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// Python's `repr` of a `str`: single quotes unless the text has a single
/// quote and no double quote.
fn write_str_repr(text: &str, out: &mut String) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
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
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// pydantic-evals' `_truncated_repr`: the repr, cut in the middle to about
/// `max` characters.
fn truncated_repr(value: &Value, max: usize) -> String {
    let repr = py_repr(value);
    let count = repr.chars().count();
    if count <= max {
        return repr;
    }
    let head: String = repr.chars().take(max / 2).collect();
    let tail: String = repr.chars().skip(count - max / 2).collect();
    format!("{head}...{tail}")
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, BoxError> {
    serde_json::to_value(value)
        .map_err(|err| format!("the output cannot be compared as JSON: {err}").into())
}

fn evaluation_name(kwargs: &mut Map<String, Value>) -> Result<Option<String>, String> {
    match kwargs.remove("evaluation_name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => Ok(Some(name)),
        Some(other) => Err(format!("evaluation_name must be a string, not {other}")),
    }
}

fn no_more(kwargs: &Map<String, Value>) -> Result<(), String> {
    match kwargs.keys().next() {
        Some(key) => Err(format!("unexpected argument `{key}`")),
        None => Ok(()),
    }
}

fn ready<'a>(output: Result<EvaluatorOutput, BoxError>) -> EvaluatorFuture<'a> {
    Box::pin(std::future::ready(output))
}

/// `Equals(value, evaluation_name=None)`: the output equals `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Equals {
    /// The value the output must equal, as JSON.
    pub value: Value,
    /// The result's name (default `Equals`).
    pub evaluation_name: Option<String>,
}

impl Equals {
    /// `Equals(value)`.
    pub fn new(value: impl Into<Value>) -> Self {
        Self {
            value: value.into(),
            evaluation_name: None,
        }
    }
}

impl<I: Sync, O: Serialize + Sync, M: Sync> Evaluator<I, O, M> for Equals {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.evaluation_name.as_deref().unwrap_or("Equals"))
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        ready(to_json(&ctx.output).map(|output| json_eq(&output, &self.value).into()))
    }
}

/// `EqualsExpected(evaluation_name=None)`: the output equals the case's
/// expected output; no result when the case has none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EqualsExpected {
    /// The result's name (default `EqualsExpected`).
    pub evaluation_name: Option<String>,
}

impl<I: Sync, O: Serialize + Sync, M: Sync> Evaluator<I, O, M> for EqualsExpected {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.evaluation_name.as_deref().unwrap_or("EqualsExpected"))
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        let Some(expected) = &ctx.expected_output else {
            return ready(Ok(EvaluatorOutput::none()));
        };
        ready(
            to_json(&ctx.output)
                .and_then(|output| Ok(json_eq(&output, &to_json(expected)?).into())),
        )
    }
}

/// `Contains(value, case_sensitive=True, as_strings=False, evaluation_name=None)`:
/// a substring of a string output, an item of a list output, a key of an
/// object output, or (when `value` is an object) key-value pairs all present
/// in an object output. `case_sensitive` applies when both are compared as
/// strings: when `as_strings` is set or both are strings. A failure's reason
/// is pydantic-evals' text.
#[derive(Debug, Clone, PartialEq)]
pub struct Contains {
    /// What the output must contain.
    pub value: Value,
    /// Whether string comparison respects case.
    pub case_sensitive: bool,
    /// Compare the string forms of output and value.
    pub as_strings: bool,
    /// The result's name (default `Contains`).
    pub evaluation_name: Option<String>,
}

impl Contains {
    /// `Contains(value)`, with pydantic-evals' defaults.
    pub fn new(value: impl Into<Value>) -> Self {
        Self {
            value: value.into(),
            case_sensitive: true,
            as_strings: false,
            evaluation_name: None,
        }
    }

    /// Checks an output: `None` if it contains the value, else why not.
    pub fn check(&self, output: &Value) -> Option<String> {
        let as_string = |value: &Value| match value {
            Value::String(text) => text.clone(),
            other => py_repr(other),
        };
        if self.as_strings || (self.value.is_string() && output.is_string()) {
            let (mut haystack, mut needle) = (as_string(output), as_string(&self.value));
            if !self.case_sensitive {
                haystack = haystack.to_lowercase();
                needle = needle.to_lowercase();
            }
            return (!haystack.contains(&needle)).then(|| {
                format!(
                    "Output string {} does not contain expected string {}",
                    truncated_repr(&Value::String(haystack), 100),
                    truncated_repr(&Value::String(needle), 100)
                )
            });
        }
        match (output, &self.value) {
            (Value::Object(map), Value::Object(expected)) => {
                expected.iter().find_map(|(key, value)| {
                    let key_repr = truncated_repr(&Value::String(key.clone()), 30);
                    match map.get(key) {
                        None => Some(format!("Output does not contain expected key {key_repr}")),
                        Some(actual) if !json_eq(actual, value) => Some(format!(
                            "Output has different value for key {key_repr}: {} != {}",
                            truncated_repr(actual, 100),
                            truncated_repr(value, 100)
                        )),
                        Some(_) => None,
                    }
                })
            }
            (Value::Object(map), key) => {
                let found = key.as_str().is_some_and(|k| map.contains_key(k));
                (!found).then(|| {
                    format!(
                        "Output {} does not contain provided value as a key",
                        truncated_repr(output, 200)
                    )
                })
            }
            (Value::Array(items), value) => {
                (!items.iter().any(|item| json_eq(item, value))).then(|| {
                    format!(
                        "Output {} does not contain provided value",
                        truncated_repr(output, 200)
                    )
                })
            }
            (Value::String(_), value) => Some(format!(
                "Containment check failed: 'in <string>' requires string as left operand, not {}",
                python_type(value)
            )),
            (other, _) => Some(format!(
                "Containment check failed: argument of type '{}' is not iterable",
                python_type(other)
            )),
        }
    }
}

impl<I: Sync, O: Serialize + Sync, M: Sync> Evaluator<I, O, M> for Contains {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.evaluation_name.as_deref().unwrap_or("Contains"))
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        ready(
            to_json(&ctx.output).map(|output| match self.check(&output) {
                None => EvaluatorOutput::assertion(true),
                Some(reason) => EvaluatorOutput::assertion(false).reason(reason),
            }),
        )
    }
}

/// The Python type name of a decoded JSON value.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `IsInstance(type_name, evaluation_name=None)`: the output is of the named
/// type.
///
/// A name matches the output's Rust type (the last path segment without
/// generics, e.g. `AnswerOutput`, as a Python class name would), or the
/// Python type of its JSON value with that type's bases, as Python's
/// `isinstance` sees them: `str`, `int`, `float`, `bool` (also an `int`),
/// `list`, `dict`, `NoneType`, and `object` for anything.
#[derive(Debug, Clone, PartialEq)]
pub struct IsInstance {
    /// The type name to match.
    pub type_name: String,
    /// The result's name (default `IsInstance`).
    pub evaluation_name: Option<String>,
}

impl IsInstance {
    /// `IsInstance(type_name)`.
    pub fn new(type_name: impl Into<String>) -> Self {
        Self {
            type_name: type_name.into(),
            evaluation_name: None,
        }
    }

    /// The names a value of Rust type `rust_type` with JSON form `value`
    /// answers to, the most specific first.
    pub fn type_names(rust_type: &str, value: &Value) -> Vec<String> {
        let base = rust_type.split('<').next().unwrap_or(rust_type);
        let rust_name = base.rsplit("::").next().unwrap_or(base);
        let mut names = Vec::new();
        if rust_name != "Value" {
            names.push(rust_name.to_owned());
        }
        names.push(python_type(value).to_owned());
        if value.is_boolean() {
            names.push("int".to_owned());
        }
        names.push("object".to_owned());
        names
    }
}

impl<I: Sync, O: Serialize + Sync, M: Sync> Evaluator<I, O, M> for IsInstance {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.evaluation_name.as_deref().unwrap_or("IsInstance"))
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        ready(to_json(&ctx.output).map(|output| {
            let names = Self::type_names(std::any::type_name::<O>(), &output);
            if names.contains(&self.type_name) {
                EvaluatorOutput::assertion(true)
            } else {
                EvaluatorOutput::assertion(false).reason(format!("output is of type {}", names[0]))
            }
        }))
    }
}

/// `MaxDuration(seconds)`: the task took at most `seconds` (a number, or an
/// ISO 8601 duration as pydantic writes a `timedelta`, e.g. `PT2.5S`).
#[derive(Debug, Clone, PartialEq)]
pub struct MaxDuration {
    /// The longest acceptable duration.
    pub max: Duration,
}

impl MaxDuration {
    /// `MaxDuration(seconds)`.
    pub fn new(max: Duration) -> Self {
        Self { max }
    }
}

impl<I: Sync, O: Sync, M: Sync> Evaluator<I, O, M> for MaxDuration {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("MaxDuration")
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        ready(Ok((ctx.duration <= self.max).into()))
    }
}

/// Seconds as a number, or an ISO 8601 duration (`PT2.5S`, `PT1M30S`, `P1DT2H`).
fn parse_seconds(value: &Value) -> Result<Duration, String> {
    let seconds = match value {
        Value::Number(n) => n.as_f64().ok_or("seconds must be a number")?,
        Value::String(text) => parse_iso_duration(text)
            .ok_or_else(|| format!("{text:?} is not an ISO 8601 duration"))?,
        other => {
            return Err(format!(
                "seconds must be a number or an ISO 8601 duration, not {other}"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("seconds {seconds}: {err}"))
}

fn parse_iso_duration(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0.0;
    let units: [(&str, &[(char, f64)]); 2] = [
        (date, &[('W', 604_800.0), ('D', 86_400.0)]),
        (time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)]),
    ];
    for (part, factors) in units {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let factor = factors.iter().find(|(unit, _)| *unit == c)?.1;
                total += number.parse::<f64>().ok()? * factor;
                number.clear();
            }
        }
        if !number.is_empty() {
            return None;
        }
    }
    Some(total)
}

impl<I, O, M> EvaluatorRegistry<I, O, M>
where
    I: Sync + 'static,
    O: Serialize + Sync + 'static,
    M: Sync + 'static,
{
    /// A registry of the built-ins `Equals`, `EqualsExpected`, `Contains`,
    /// `IsInstance` and `MaxDuration`, read with pydantic-evals' argument
    /// names (the first one positional).
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        registry.register("Equals", |spec: &EvaluatorSpec| {
            let mut kwargs = spec_kwargs(spec, "value")?;
            let evaluation_name = evaluation_name(&mut kwargs)?;
            let value = kwargs.remove("value").ok_or("missing argument `value`")?;
            no_more(&kwargs)?;
            Ok(Box::new(Equals {
                value,
                evaluation_name,
            }))
        });
        registry.register("EqualsExpected", |spec: &EvaluatorSpec| {
            let mut kwargs = spec_kwargs(spec, "evaluation_name")?;
            let evaluation_name = evaluation_name(&mut kwargs)?;
            no_more(&kwargs)?;
            Ok(Box::new(EqualsExpected { evaluation_name }))
        });
        registry.register("Contains", |spec: &EvaluatorSpec| {
            let mut kwargs = spec_kwargs(spec, "value")?;
            let evaluation_name = evaluation_name(&mut kwargs)?;
            let value = kwargs.remove("value").ok_or("missing argument `value`")?;
            let mut flag = |key: &str, default: bool| match kwargs.remove(key) {
                None => Ok(default),
                Some(Value::Bool(flag)) => Ok(flag),
                Some(other) => Err(format!("{key} must be true or false, not {other}")),
            };
            let case_sensitive = flag("case_sensitive", true)?;
            let as_strings = flag("as_strings", false)?;
            no_more(&kwargs)?;
            Ok(Box::new(Contains {
                value,
                case_sensitive,
                as_strings,
                evaluation_name,
            }))
        });
        registry.register("IsInstance", |spec: &EvaluatorSpec| {
            let mut kwargs = spec_kwargs(spec, "type_name")?;
            let evaluation_name = evaluation_name(&mut kwargs)?;
            let type_name = match kwargs.remove("type_name") {
                Some(Value::String(name)) => name,
                Some(other) => return Err(format!("type_name must be a string, not {other}")),
                None => return Err("missing argument `type_name`".to_owned()),
            };
            no_more(&kwargs)?;
            Ok(Box::new(IsInstance {
                type_name,
                evaluation_name,
            }))
        });
        registry.register("MaxDuration", |spec: &EvaluatorSpec| {
            let mut kwargs = spec_kwargs(spec, "seconds")?;
            let seconds = kwargs
                .remove("seconds")
                .ok_or("missing argument `seconds`")?;
            let max = parse_seconds(&seconds)?;
            no_more(&kwargs)?;
            Ok(Box::new(MaxDuration { max }))
        });
        registry
    }
}

impl<I, O, M> Default for EvaluatorRegistry<I, O, M>
where
    I: Sync + 'static,
    O: Serialize + Sync + 'static,
    M: Sync + 'static,
{
    /// The built-ins; see [`EvaluatorRegistry::with_builtins`].
    fn default() -> Self {
        Self::with_builtins()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_equality_is_pythons() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(json_eq(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!json_eq(&json!("1"), &json!(1)));
        assert!(json_eq(&json!(true), &json!(1)) && json_eq(&json!(0.0), &json!(false)));
        assert!(!json_eq(&json!(true), &json!(2)));
        assert!(!json_eq(&json!([1]), &json!([1, 1])));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }

    #[test]
    fn reprs_are_pythons() {
        assert_eq!(
            py_repr(&json!({"a": [1, 2.5, null, true], "b": "it's"})),
            r#"{'a': [1, 2.5, None, True], 'b': "it's"}"#
        );
        assert_eq!(py_repr(&json!("say \"hi\"\n")), r#"'say "hi"\n'"#);
        let long = Value::String("x".repeat(300));
        let cut = truncated_repr(&long, 100);
        assert_eq!(cut.chars().count(), 103);
        assert!(cut.starts_with("'xxx") && cut.ends_with("xx'") && cut.contains("..."));
    }

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("PT2.5S"), Some(2.5));
        assert_eq!(parse_iso_duration("PT1M30S"), Some(90.0));
        assert_eq!(parse_iso_duration("P1DT1H"), Some(90_000.0));
        assert_eq!(parse_iso_duration("P1W"), Some(604_800.0));
        assert_eq!(parse_iso_duration("2 seconds"), None);
        assert_eq!(parse_iso_duration("PT5"), None);
        assert_eq!(
            parse_seconds(&json!(0.5)).unwrap(),
            Duration::from_millis(500)
        );
        assert!(parse_seconds(&json!(-1)).is_err());
    }
}
