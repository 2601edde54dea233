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
use super::py::{self, PyValue};
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
/// `None`, `True`, `[1, 2]`, `{'key': 'value'}` (keys in their order).
pub fn py_repr(value: &Value) -> String {
    PyValue::from(value.clone()).repr()
}

/// pydantic-evals' `_truncated_repr`: the repr, cut in the middle to about
/// `max` characters.
fn truncated_repr(value: &PyValue, max: usize) -> String {
    let repr = value.repr();
    let chars: Vec<char> = repr.chars().collect();
    if chars.len() <= max {
        return repr;
    }
    // Python's `r[: max // 2] + '...' + r[-max // 2 :]`; `-max // 2` floors.
    let head: String = chars[..max / 2].iter().collect();
    let tail_len = max.div_ceil(2);
    let tail: String = chars[chars.len() - tail_len..].iter().collect();
    format!("{head}...{tail}")
}

/// The output as Python holds it: a struct as a model, fields in order.
fn to_py<T: Serialize>(value: &T) -> Result<PyValue, BoxError> {
    py::to_py(value).map_err(|err| format!("the output cannot be compared: {err}").into())
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
        let value = PyValue::from(self.value.clone());
        ready(to_py(&ctx.output).map(|output| output.py_eq(&value).into()))
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
        ready(to_py(&ctx.output).and_then(|output| Ok(output.py_eq(&to_py(expected)?).into())))
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

    /// Checks an output: `None` if it contains the value, else why not, in
    /// pydantic-evals' words.
    pub fn check(&self, output: &PyValue) -> Option<String> {
        let value = PyValue::from(self.value.clone());
        let both_text = matches!((&value, output), (PyValue::Str(_), PyValue::Str(_)));
        if self.as_strings || both_text {
            let (mut haystack, mut needle) = (output.str(), value.str());
            if !self.case_sensitive {
                haystack = haystack.to_lowercase();
                needle = needle.to_lowercase();
            }
            return (!haystack.contains(&needle)).then(|| {
                format!(
                    "Output string {} does not contain expected string {}",
                    truncated_repr(&PyValue::Str(haystack), 100),
                    truncated_repr(&PyValue::Str(needle), 100)
                )
            });
        }
        match output {
            PyValue::Dict(_) | PyValue::Model(..) => {
                // pydantic dumps a model to a dict first.
                let PyValue::Dict(entries) = output.dump() else {
                    unreachable!("a dump of a dict or model is a dict")
                };
                let dumped = PyValue::Dict(entries.clone());
                match &value {
                    PyValue::Dict(expected) => expected.iter().find_map(|(key, value)| {
                        let key_repr = truncated_repr(&PyValue::Str(key.clone()), 30);
                        match entries.iter().find(|(k, _)| k == key) {
                            None => {
                                Some(format!("Output does not contain expected key {key_repr}"))
                            }
                            Some((_, actual)) if !actual.py_eq(value) => Some(format!(
                                "Output has different value for key {key_repr}: {} != {}",
                                truncated_repr(actual, 100),
                                truncated_repr(value, 100)
                            )),
                            Some(_) => None,
                        }
                    }),
                    key if !key.is_hashable() => Some(format!(
                        "Containment check failed: unhashable type: '{}'",
                        key.type_name()
                    )),
                    key => {
                        let found = entries
                            .iter()
                            .any(|(k, _)| PyValue::Str(k.clone()).py_eq(key));
                        (!found).then(|| {
                            format!(
                                "Output {} does not contain provided value as a key",
                                truncated_repr(&dumped, 200)
                            )
                        })
                    }
                }
            }
            PyValue::List(items) => (!items.iter().any(|item| item.py_eq(&value))).then(|| {
                format!(
                    "Output {} does not contain provided value",
                    truncated_repr(output, 200)
                )
            }),
            PyValue::Str(_) => Some(format!(
                "Containment check failed: 'in <string>' requires string as left operand, not {}",
                value.type_name()
            )),
            other => Some(format!(
                "Containment check failed: argument of type '{}' is not iterable",
                other.type_name()
            )),
        }
    }
}

impl<I: Sync, O: Serialize + Sync, M: Sync> Evaluator<I, O, M> for Contains {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.evaluation_name.as_deref().unwrap_or("Contains"))
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        ready(to_py(&ctx.output).map(|output| match self.check(&output) {
            None => EvaluatorOutput::assertion(true),
            Some(reason) => EvaluatorOutput::assertion(false).reason(reason),
        }))
    }
}

/// `IsInstance(type_name, evaluation_name=None)`: the output is of the named
/// type.
///
/// A name matches a class of the output's Python MRO, as pydantic-evals
/// walks `type(output).__mro__`: a struct is a model named as the Rust
/// type (e.g. `AnswerOutput`), whose bases are `BaseModel` and `object`;
/// other values have Python's types: `str`, `int` (at any size), `float`,
/// `bool` (also an `int`), `list`, `dict`, `NoneType`, all `object`s. A
/// map, an enum or `serde_json::Value` is the Python type of its value.
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

    /// Checks an output: `None` if a class of its Python MRO has the name,
    /// else pydantic-evals' reason.
    pub fn check(&self, output: &PyValue) -> Option<String> {
        let mro = output.mro();
        (!mro.contains(&self.type_name.as_str()))
            .then(|| format!("output is of type {}", output.type_name()))
    }
}

impl<I: Sync, O: Serialize + Sync, M: Sync> Evaluator<I, O, M> for IsInstance {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.evaluation_name.as_deref().unwrap_or("IsInstance"))
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        ready(to_py(&ctx.output).map(|output| match self.check(&output) {
            None => EvaluatorOutput::assertion(true),
            Some(reason) => EvaluatorOutput::assertion(false).reason(reason),
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
    I: Serialize + Sync + 'static,
    O: Serialize + Sync + 'static,
    M: Sync + 'static,
{
    /// A registry of the built-ins `Equals`, `EqualsExpected`, `Contains`,
    /// `IsInstance`, `MaxDuration` and (with the `client` feature)
    /// `LLMJudge`, read with pydantic-evals' argument names (the first one
    /// positional). `LLMJudge` calls the endpoint the environment names
    /// (see [`with_judge_endpoint`](Self::with_judge_endpoint)).
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
        #[cfg(feature = "client")]
        registry.register("LLMJudge", |spec: &EvaluatorSpec| {
            Ok(Box::new(super::judge::LLMJudge::from_spec(spec, None)?))
        });
        registry
    }

    /// Makes `LLMJudge` specs call `endpoint` (a local server, or with your
    /// own concurrency, retries and timeout) instead of the environment's.
    #[cfg(feature = "client")]
    pub fn with_judge_endpoint(&mut self, endpoint: super::judge::JudgeEndpoint) -> &mut Self {
        self.register("LLMJudge", move |spec: &EvaluatorSpec| {
            Ok(Box::new(super::judge::LLMJudge::from_spec(
                spec,
                Some(endpoint.clone()),
            )?))
        })
    }
}

impl<I, O, M> Default for EvaluatorRegistry<I, O, M>
where
    I: Serialize + Sync + 'static,
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
        let long = PyValue::Str("x".repeat(300));
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
