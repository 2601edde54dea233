//! Evaluator specs in pydantic-evals' file forms.
//!
//! Read in all four forms, with pydantic-evals' rules:
//!
//! - `"Name"`: no arguments;
//! - `{"Name": {"key": value, ...}}`: keyword arguments;
//! - `{"Name": value}` for any other value: one positional argument;
//! - `{"name": "Name", "arguments": null | [value] | {kwargs}}`: the long form.
//!
//! Written in the short forms, as pydantic-evals writes them, and in the long
//! form only where the short one would read back differently: a single
//! positional argument that is itself an object.

use serde_json::{Map, Value};

use crate::wire::EvaluatorSpec;

/// Reads a spec in any of the four forms; the error says what was wrong.
///
/// ```
/// use datasets_core::eval::spec_from_value;
/// use serde_json::json;
///
/// let spec = spec_from_value(&json!({"MaxDuration": 2.5})).unwrap();
/// assert_eq!(spec.name, "MaxDuration");
/// assert_eq!(spec.arguments, Some(json!([2.5])));
/// ```
pub fn spec_from_value(value: &Value) -> Result<EvaluatorSpec, String> {
    match value {
        Value::String(name) => Ok(EvaluatorSpec::new(name.clone())),
        Value::Object(map) => {
            if let Some(spec) = long_form(map) {
                return Ok(spec);
            }
            let mut entries = map.iter();
            match (entries.next(), entries.next()) {
                (Some((name, argument)), None) => Ok(EvaluatorSpec {
                    name: name.clone(),
                    arguments: Some(match argument {
                        Value::Object(_) => argument.clone(),
                        single => Value::Array(vec![single.clone()]),
                    }),
                }),
                _ => {
                    let keys: Vec<&String> = map.keys().collect();
                    Err(format!(
                        "an evaluator spec must have a single key naming the evaluator \
                         (or be {{\"name\": ..., \"arguments\": ...}}), found keys {keys:?}"
                    ))
                }
            }
        }
        other => Err(format!(
            "an evaluator spec must be a name or a mapping, not {other}"
        )),
    }
}

/// `{"name": "X", "arguments": null | [one] | {kwargs}}`, exactly these two
/// keys. pydantic-evals tries this form first; anything else (including
/// `{"name": "X"}` alone, which it reads as the evaluator `name` with the
/// argument `"X"`) falls through to the short forms.
fn long_form(map: &Map<String, Value>) -> Option<EvaluatorSpec> {
    if map.len() != 2 {
        return None;
    }
    let Some(Value::String(name)) = map.get("name") else {
        return None;
    };
    let arguments = match map.get("arguments")? {
        Value::Null => None,
        Value::Array(items) if items.len() == 1 => Some(Value::Array(items.clone())),
        kwargs @ Value::Object(_) => Some(kwargs.clone()),
        _ => return None,
    };
    Some(EvaluatorSpec {
        name: name.clone(),
        arguments,
    })
}

/// Writes a spec in the shortest form that reads back the same.
///
/// ```
/// use datasets_core::eval::spec_to_value;
/// use datasets_core::wire::EvaluatorSpec;
/// use serde_json::json;
///
/// let spec = EvaluatorSpec::with_arguments("Contains", json!({"value": "x"}));
/// assert_eq!(spec_to_value(&spec), json!({"Contains": {"value": "x"}}));
/// assert_eq!(spec_to_value(&EvaluatorSpec::new("EqualsExpected")), json!("EqualsExpected"));
/// ```
pub fn spec_to_value(spec: &EvaluatorSpec) -> Value {
    let name = spec.name.clone();
    match &spec.arguments {
        None | Some(Value::Null) => Value::String(name),
        Some(kwargs @ Value::Object(_)) => single_key(name, kwargs.clone()),
        Some(Value::Array(args)) if args.len() == 1 && !args[0].is_object() => {
            single_key(name, args[0].clone())
        }
        Some(other) => {
            let mut long = Map::new();
            long.insert("name".to_owned(), Value::String(name));
            long.insert("arguments".to_owned(), other.clone());
            Value::Object(long)
        }
    }
}

fn single_key(name: String, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(name, value);
    Value::Object(map)
}

/// Reads an optional list of specs; an error names the list and the index.
pub(crate) fn specs_from_value(
    value: Option<&Value>,
    place: &str,
) -> Result<Vec<EvaluatorSpec>, (String, String)> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| spec_from_value(item).map_err(|err| (format!("{place}[{i}]"), err)))
            .collect(),
        Some(other) => Err((
            place.to_owned(),
            format!("evaluators must be a list, not {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each pair was checked against pydantic-evals 2.62's `EvaluatorSpec.model_validate`.
    #[test]
    fn reads_the_four_forms_as_pydantic_evals_does() {
        let forms = [
            (
                json!("EqualsExpected"),
                EvaluatorSpec::new("EqualsExpected"),
            ),
            (
                json!({"MaxDuration": 2.5}),
                EvaluatorSpec::with_arguments("MaxDuration", json!([2.5])),
            ),
            (
                json!({"Contains": {"value": "x", "case_sensitive": false}}),
                EvaluatorSpec::with_arguments(
                    "Contains",
                    json!({"value": "x", "case_sensitive": false}),
                ),
            ),
            (
                json!({"name": "IsInstance", "arguments": {"type_name": "str"}}),
                EvaluatorSpec::with_arguments("IsInstance", json!({"type_name": "str"})),
            ),
            (
                json!({"name": "EqualsExpected", "arguments": null}),
                EvaluatorSpec::new("EqualsExpected"),
            ),
            (
                json!({"name": "Equals", "arguments": [{"a": 1}]}),
                EvaluatorSpec::with_arguments("Equals", json!([{"a": 1}])),
            ),
            (
                json!({"Equals": [1, 2]}),
                EvaluatorSpec::with_arguments("Equals", json!([[1, 2]])),
            ),
            (
                json!({"Equals": null}),
                EvaluatorSpec::with_arguments("Equals", json!([null])),
            ),
            // Not the long form: pydantic-evals reads an evaluator named `name`.
            (
                json!({"name": "Equals"}),
                EvaluatorSpec::with_arguments("name", json!(["Equals"])),
            ),
        ];
        for (value, spec) in forms {
            assert_eq!(spec_from_value(&value).unwrap(), spec, "{value}");
        }
        let two = spec_from_value(&json!({"A": 1, "B": 2})).unwrap_err();
        assert!(two.contains("single key") && two.contains("\"A\""), "{two}");
        let long_with_bad_arguments =
            spec_from_value(&json!({"name": "A", "arguments": "s"})).unwrap_err();
        assert!(long_with_bad_arguments.contains("single key"));
        assert!(spec_from_value(&json!(3)).unwrap_err().contains("not 3"));
    }

    #[test]
    fn writes_short_forms_that_read_back() {
        let specs = [
            EvaluatorSpec::new("EqualsExpected"),
            EvaluatorSpec::with_arguments("MaxDuration", json!([2.5])),
            EvaluatorSpec::with_arguments("Contains", json!({"value": "x"})),
            EvaluatorSpec::with_arguments("Equals", json!([{"a": 1}])),
            EvaluatorSpec::with_arguments("Equals", json!([null])),
        ];
        let written: Vec<Value> = specs.iter().map(spec_to_value).collect();
        assert_eq!(
            written,
            [
                json!("EqualsExpected"),
                json!({"MaxDuration": 2.5}),
                json!({"Contains": {"value": "x"}}),
                json!({"name": "Equals", "arguments": [{"a": 1}]}),
                json!({"Equals": null}),
            ]
        );
        for (spec, value) in specs.iter().zip(&written) {
            assert_eq!(&spec_from_value(value).unwrap(), spec);
        }
    }

    #[test]
    fn list_errors_name_the_index() {
        let (place, message) =
            specs_from_value(Some(&json!(["A", 3])), "cases[2].evaluators").unwrap_err();
        assert_eq!(place, "cases[2].evaluators[1]");
        assert!(message.contains("not 3"));
        assert!(specs_from_value(None, "evaluators").unwrap().is_empty());
    }
}
