//! The mapping flags (`--inputs`, `--expected`, `--metadata`,
//! `--name-column`, `--tags-column`) on JSON rows: a JSONL line or an
//! element of a JSON array is an object whose keys are its columns. A name
//! is looked up as a key first (`"gen_ai.system"`), then as a dotted path
//! into nested objects (`create.init`); values keep their JSON types; a
//! dotted name nests in the case as it does for CSV columns.

use datasets_core::wire::{DatasetDetail, NewCase};
use serde_json::{Map, Value};

use crate::cli::ColumnArgs;
use crate::columns::{PARTS, types_at};
use crate::fail::{Failure, Outcome};

/// One mapped key: where it is read in a row, where it goes in its part
/// (empty: it is the whole value).
#[derive(Debug, Clone)]
struct Key {
    name: String,
    to: Vec<String>,
}

/// How a JSON row becomes a case under the mapping flags.
#[derive(Debug, Clone)]
pub(crate) struct KeyMap {
    parts: [Vec<Key>; 3],
    name: Option<String>,
    tags: Option<String>,
}

impl KeyMap {
    /// The mapping the flags give, `None` without flags.
    pub(crate) fn new(args: &ColumnArgs, dataset: &DatasetDetail) -> Outcome<Option<Self>> {
        if !args.any() {
            return Ok(None);
        }
        let Some(inputs) = &args.inputs else {
            return Err(Failure::usage(
                "mapping keys needs --inputs: the keys that make each case's inputs",
            ));
        };
        let schemas = [
            dataset.input_schema.as_ref(),
            dataset.output_schema.as_ref(),
            dataset.metadata_schema.as_ref(),
        ];
        let flags = [
            ("--inputs", Some(inputs)),
            ("--expected", args.expected.as_ref()),
            ("--metadata", args.metadata.as_ref()),
        ];
        let mut parts: [Vec<Key>; 3] = Default::default();
        for (part, (flag, names)) in flags.into_iter().enumerate() {
            let Some(names) = names else { continue };
            let whole = types_at(schemas[part], &[]).is_not_object();
            if whole && names.len() != 1 {
                return Err(Failure::usage(format!(
                    "the dataset's schema says {} is not an object, so {flag} names exactly one \
                     key holding the whole value (it names {})",
                    PARTS[part],
                    names.len()
                )));
            }
            for name in names {
                let to: Vec<String> = if whole {
                    Vec::new()
                } else {
                    name.split('.').map(str::to_owned).collect()
                };
                if name.is_empty() || to.iter().any(String::is_empty) {
                    return Err(Failure::usage(format!(
                        "{flag} names an empty key: {name:?}"
                    )));
                }
                for other in &parts[part] {
                    let (short, long) = if other.to.len() <= to.len() {
                        (&other.to, &to)
                    } else {
                        (&to, &other.to)
                    };
                    if long.starts_with(short) {
                        return Err(Failure::usage(format!(
                            "keys {:?} and {name:?} both set {}.{}: one would overwrite the other",
                            other.name,
                            PARTS[part],
                            short.join(".")
                        )));
                    }
                }
                parts[part].push(Key {
                    name: name.clone(),
                    to,
                });
            }
        }
        Ok(Some(Self {
            parts,
            name: args.name_column.clone(),
            tags: args.tags_column.clone(),
        }))
    }

    /// The case a row makes, with `tags` added to its own; or why it
    /// makes none.
    pub(crate) fn case(&self, row: &Value, tags: &[String]) -> Result<NewCase, String> {
        let Value::Object(row) = row else {
            return Err(format!(
                "with the mapping flags a row is a JSON object, not {}",
                json_kind(row)
            ));
        };
        let mut values: [Option<Value>; 3] = [None, None, None];
        for (part, keys) in self.parts.iter().enumerate() {
            if keys.is_empty() {
                continue;
            }
            let mut object = Map::new();
            for key in keys {
                let Some(value) = lookup(row, &key.name) else {
                    continue;
                };
                if key.to.is_empty() {
                    values[part] = Some(value.clone());
                } else {
                    insert(&mut object, &key.to, value.clone());
                }
            }
            if values[part].is_none() && (!object.is_empty() || part == 0) {
                values[part] = Some(Value::Object(object));
            }
        }
        let [inputs, expected_output, metadata] = values;
        let mut case = NewCase::new(inputs.unwrap_or(Value::Null));
        case.expected_output = expected_output;
        case.metadata = metadata;
        if let Some(key) = &self.name {
            case.name = match lookup(row, key) {
                None | Some(Value::Null) => None,
                Some(Value::String(name)) if name.is_empty() => None,
                Some(Value::String(name)) => Some(name.clone()),
                Some(Value::Number(number)) => Some(number.to_string()),
                Some(other) => {
                    return Err(format!("{key}: a name is text, not {}", json_kind(other)));
                }
            };
        }
        let mut all: Vec<String> = match self.tags.as_ref().and_then(|key| lookup(row, key)) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(text)) => text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(Value::Array(items)) => {
                let mut tags = Vec::new();
                for item in items {
                    match item {
                        Value::String(tag) => tags.push(tag.clone()),
                        other => {
                            return Err(format!(
                                "{}: a tag is text, not {}",
                                self.tags.as_deref().unwrap_or_default(),
                                json_kind(other)
                            ));
                        }
                    }
                }
                tags
            }
            Some(other) => {
                return Err(format!(
                    "{}: tags are a list of text or comma-separated text, not {}",
                    self.tags.as_deref().unwrap_or_default(),
                    json_kind(other)
                ));
            }
        };
        for tag in tags {
            if !all.contains(tag) {
                all.push(tag.clone());
            }
        }
        if !all.is_empty() {
            case.tags = Some(all);
        }
        Ok(case)
    }
}

/// What kind of JSON value this is, as an error says it.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A row's value for a mapped name: the key itself, else the dotted path.
fn lookup<'a>(row: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = row.get(name) {
        return Some(value);
    }
    let mut keys = name.split('.');
    let mut current = row.get(keys.next()?)?;
    for key in keys {
        current = current.as_object()?.get(key)?;
    }
    Some(current)
}

/// Sets `value` at `path` in `object`, making the objects on the way.
fn insert(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("a key's path is not empty");
    let mut current = object;
    for key in parents {
        let slot = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        current = slot.as_object_mut().expect("made an object just above");
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args(inputs: &str, expected: Option<&str>) -> ColumnArgs {
        ColumnArgs {
            inputs: Some(inputs.split(',').map(str::to_owned).collect()),
            expected: expected.map(|e| e.split(',').map(str::to_owned).collect()),
            metadata: Some(vec!["task_id".into()]),
            tags_column: Some("labels".into()),
            name_column: Some("task_id".into()),
        }
    }

    fn dataset() -> DatasetDetail {
        serde_json::from_value(json!({
            "id": "01a2510e-280f-76f2-b4c2-b0472885710b",
            "project_id": "01a2510e-280f-76f2-b4c2-b0472885710b",
            "name": "d", "case_count": 0,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn flat_keys_make_nested_cases_with_their_types_kept() {
        let map = KeyMap::new(
            &args("prompt,entry_point", Some("canonical_solution,test")),
            &dataset(),
        )
        .unwrap()
        .unwrap();
        let row = json!({"task_id": "HumanEval/0", "prompt": "def f():\n\treturn 1\r\n",
            "entry_point": "f", "canonical_solution": "  x", "test": null, "labels": ["easy"]});
        let case = map.case(&row, &["extra".into()]).unwrap();
        assert_eq!(case.name.as_deref(), Some("HumanEval/0"));
        assert_eq!(
            case.inputs,
            json!({"prompt": "def f():\n\treturn 1\r\n", "entry_point": "f"})
        );
        assert_eq!(
            case.expected_output,
            Some(json!({"canonical_solution": "  x", "test": null}))
        );
        assert_eq!(case.metadata, Some(json!({"task_id": "HumanEval/0"})));
        assert_eq!(case.tags.unwrap(), ["easy", "extra"]);
    }

    #[test]
    fn dotted_names_read_a_key_first_then_into_objects() {
        let map = KeyMap::new(&args("gen_ai.system,create.init", None), &dataset())
            .unwrap()
            .unwrap();
        let row =
            json!({"gen_ai.system": "openai", "create": {"init": {"file": "a.py"}}, "task_id": 7});
        let case = map.case(&row, &[]).unwrap();
        assert_eq!(
            case.inputs,
            json!({"gen_ai": {"system": "openai"}, "create": {"init": {"file": "a.py"}}})
        );
        assert_eq!(case.name.as_deref(), Some("7"));
    }

    #[test]
    fn overlapping_keys_and_bad_names_are_refused() {
        let err = KeyMap::new(&args("a,a.b", None), &dataset()).unwrap_err();
        assert!(err.message.contains("both set inputs.a"), "{}", err.message);
        let map = KeyMap::new(&args("a", None), &dataset()).unwrap().unwrap();
        let err = map.case(&json!({"a": 1, "task_id": [1]}), &[]).unwrap_err();
        assert!(err.contains("a name is text, not an array"), "{err}");
        assert!(
            map.case(&json!([1]), &[])
                .unwrap_err()
                .contains("not an array")
        );
    }
}
