//! Cases as CSV rows and back: which columns make which part of a case,
//! how a cell is typed by the dataset's JSON Schema, and how a case's
//! values flatten into `inputs.<path>` columns.

use std::collections::HashMap;

use datasets_core::wire::{DatasetDetail, NewCase};
use serde_json::{Map, Value};

use crate::cli::ColumnArgs;
use crate::fail::{Failure, Outcome};

/// The three parts of a case that columns make.
pub(crate) const PARTS: [&str; 3] = ["inputs", "expected_output", "metadata"];

/// The JSON types a schema allows somewhere; all unknown without a schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Types {
    known: bool,
    integer: bool,
    number: bool,
    boolean: bool,
    string: bool,
    object: bool,
    array: bool,
}

impl Types {
    fn add(&mut self, name: &str) {
        self.known = true;
        match name {
            "integer" => self.integer = true,
            "number" => self.number = true,
            "boolean" => self.boolean = true,
            "string" => self.string = true,
            "object" => self.object = true,
            "array" => self.array = true,
            _ => {}
        }
    }

    fn add_value(&mut self, value: &Value) {
        match value {
            Value::Bool(_) => self.add("boolean"),
            Value::Number(n) if n.is_f64() => self.add("number"),
            Value::Number(_) => self.add("integer"),
            Value::String(_) => self.add("string"),
            Value::Array(_) => self.add("array"),
            Value::Object(_) => self.add("object"),
            Value::Null => self.known = true,
        }
    }

    /// Whether the schema says this is something other than an object.
    pub(crate) fn is_not_object(&self) -> bool {
        self.known && !self.object
    }

    /// A cell's text as the value the schema asks for: a number, integer
    /// or boolean where it says so (and parses), JSON for an array or
    /// object, text otherwise.
    pub(crate) fn value_of(&self, text: &str) -> Value {
        let trimmed = text.trim();
        if self.integer || self.number {
            if let Ok(n) = trimmed.parse::<i64>() {
                return Value::from(n);
            }
            if let Ok(n) = trimmed.parse::<u64>() {
                return Value::from(n);
            }
        }
        if self.number
            && let Some(n) = trimmed
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
        if self.boolean {
            if trimmed.eq_ignore_ascii_case("true") {
                return Value::Bool(true);
            }
            if trimmed.eq_ignore_ascii_case("false") {
                return Value::Bool(false);
            }
        }
        if (self.object && trimmed.starts_with('{') || self.array && trimmed.starts_with('['))
            && let Ok(value) = serde_json::from_str(trimmed)
        {
            return value;
        }
        Value::String(text.to_owned())
    }
}

/// The most `$ref`s and combinators followed from one schema, against cycles.
const MAX_DEPTH: usize = 32;

/// The schemas `schema` stands for once `$ref`s and `anyOf`/`oneOf`/`allOf`
/// are followed.
fn branches<'a>(root: &'a Value, schema: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(target) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        branches(root, target, depth + 1, out);
    }
    let mut combined = false;
    for key in ["anyOf", "oneOf", "allOf"] {
        for branch in object
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            combined = true;
            branches(root, branch, depth + 1, out);
        }
    }
    if !combined || object.contains_key("type") || object.contains_key("properties") {
        out.push(schema);
    }
}

/// The types the schemas allow.
fn types_of(schemas: &[&Value]) -> Types {
    let mut types = Types::default();
    for schema in schemas {
        match schema.get("type") {
            Some(Value::String(name)) => types.add(name),
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .for_each(|n| types.add(n)),
            _ => {}
        }
        if let Some(value) = schema.get("const") {
            types.add_value(value);
        }
        for value in schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            types.add_value(value);
        }
        if schema.get("properties").is_some() {
            types.add("object");
        }
        if schema.get("items").is_some() {
            types.add("array");
        }
    }
    types
}

/// The types a schema allows at `path` (object keys) inside the value it
/// describes; unknown where it says nothing.
pub(crate) fn types_at(schema: Option<&Value>, path: &[&str]) -> Types {
    let Some(root) = schema else {
        return Types::default();
    };
    let mut current = Vec::new();
    branches(root, root, 0, &mut current);
    for key in path {
        let mut next = Vec::new();
        for schema in &current {
            let child = schema
                .get("properties")
                .and_then(|p| p.get(*key))
                .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
            if let Some(child) = child {
                branches(root, child, 0, &mut next);
            }
        }
        current = next;
    }
    types_of(&current)
}

/// One column feeding a part of a case.
#[derive(Debug, Clone)]
struct Field {
    column: usize,
    /// Object keys under the part; empty for the whole value.
    path: Vec<String>,
    types: Types,
}

/// How a CSV file's rows become cases.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    name: Option<usize>,
    tags: Option<usize>,
    /// For each of [`PARTS`], the columns that make it.
    parts: [Vec<Field>; 3],
    /// How many columns a row has.
    pub(crate) width: usize,
}

impl Plan {
    /// The plan for a file with `header`: its columns as `datasets export`
    /// names them, or as the mapping flags say.
    pub(crate) fn new(
        header: &[String],
        args: &ColumnArgs,
        dataset: &DatasetDetail,
    ) -> Outcome<Self> {
        let schemas = [
            dataset.input_schema.as_ref(),
            dataset.output_schema.as_ref(),
            dataset.metadata_schema.as_ref(),
        ];
        let mut seen = HashMap::new();
        for (index, column) in header.iter().enumerate() {
            if let Some(first) = seen.insert(column.as_str(), index) {
                return Err(Failure::failed(format!(
                    "the header names column {column:?} twice (columns {} and {})",
                    first + 1,
                    index + 1
                )));
            }
        }
        let mut plan = Plan {
            name: None,
            tags: None,
            parts: Default::default(),
            width: header.len(),
        };
        if args.any() {
            let find = |column: &str, flag: &str| {
                seen.get(column).copied().ok_or_else(|| {
                    Failure::usage(format!(
                        "{flag} names column {column:?}, which the file does not have; its \
                         columns are {}",
                        header
                            .iter()
                            .map(|h| format!("{h:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            };
            let Some(inputs) = &args.inputs else {
                return Err(Failure::usage(
                    "mapping CSV columns needs --inputs: the columns that make each case's inputs",
                ));
            };
            let flags = [
                ("--inputs", Some(inputs)),
                ("--expected", args.expected.as_ref()),
                ("--metadata", args.metadata.as_ref()),
            ];
            for (part, (flag, columns)) in flags.into_iter().enumerate() {
                let Some(columns) = columns else { continue };
                let root = types_at(schemas[part], &[]);
                if root.is_not_object() && columns.len() != 1 {
                    return Err(Failure::usage(format!(
                        "the dataset's schema says {} is not an object, so {flag} names exactly one \
                         column holding the whole value (it names {})",
                        PARTS[part],
                        columns.len()
                    )));
                }
                for column in columns {
                    let index = find(column, flag)?;
                    let path: Vec<String> = if root.is_not_object() {
                        Vec::new()
                    } else {
                        column.split('.').map(str::to_owned).collect()
                    };
                    plan.add(part, index, path, schemas[part])?;
                }
            }
            plan.name = args
                .name_column
                .as_deref()
                .map(|c| find(c, "--name-column"))
                .transpose()?;
            plan.tags = args
                .tags_column
                .as_deref()
                .map(|c| find(c, "--tags-column"))
                .transpose()?;
        } else {
            for (index, column) in header.iter().enumerate() {
                match column.as_str() {
                    "name" => plan.name = Some(index),
                    "tags" => plan.tags = Some(index),
                    other => {
                        let part = PARTS.iter().position(|part| {
                            other == *part
                                || other
                                    .strip_prefix(part)
                                    .is_some_and(|rest| rest.starts_with('.'))
                        });
                        let Some(part) = part else {
                            return Err(Failure::usage(format!(
                                "column {} {other:?} is not one of name, tags, inputs, \
                                 inputs.<path>, expected_output[.<path>], metadata[.<path>]; map \
                                 columns with --inputs, --expected, --metadata, --name-column and \
                                 --tags-column (see `datasets import --help`)",
                                index + 1
                            )));
                        };
                        let path = other[PARTS[part].len()..]
                            .split('.')
                            .skip(1)
                            .map(str::to_owned)
                            .collect();
                        plan.add(part, index, path, schemas[part])?;
                    }
                }
            }
            if plan.parts[0].is_empty() {
                return Err(Failure::usage(
                    "the file has no inputs column (inputs or inputs.<path>); map columns with \
                     --inputs (see `datasets import --help`)",
                ));
            }
        }
        Ok(plan)
    }

    fn add(
        &mut self,
        part: usize,
        column: usize,
        path: Vec<String>,
        schema: Option<&Value>,
    ) -> Outcome {
        if path.iter().any(String::is_empty) {
            return Err(Failure::usage(format!(
                "column {} names an empty key in {}: {:?}",
                column + 1,
                PARTS[part],
                path.join(".")
            )));
        }
        for other in &self.parts[part] {
            let (short, long) = if other.path.len() <= path.len() {
                (&other.path, &path)
            } else {
                (&path, &other.path)
            };
            if !path.is_empty() && !other.path.is_empty() && long.starts_with(short) {
                return Err(Failure::usage(format!(
                    "columns {} and {} both set {}.{}: one would overwrite the other",
                    other.column + 1,
                    column + 1,
                    PARTS[part],
                    short.join(".")
                )));
            }
        }
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        let types = types_at(schema, &keys);
        self.parts[part].push(Field {
            column,
            path,
            types,
        });
        Ok(())
    }

    /// The case a row makes; `tags` are added to its own.
    pub(crate) fn case(&self, row: &[&str], tags: &[String]) -> NewCase {
        let cell = |index: usize| row.get(index).copied().unwrap_or("");
        let mut values = [None, None, None];
        for (part, fields) in self.parts.iter().enumerate() {
            let mut whole = None;
            let mut object = Map::new();
            let mut has_fields = false;
            for field in fields {
                let text = cell(field.column);
                if field.path.is_empty() {
                    if !text.is_empty() {
                        whole = Some(field.types.value_of(text));
                    }
                    continue;
                }
                has_fields = true;
                if !text.is_empty() {
                    insert(&mut object, &field.path, field.types.value_of(text));
                }
            }
            values[part] = whole.or_else(|| {
                // The inputs are required: an object even when every cell is empty.
                (!object.is_empty() || part == 0 && has_fields).then_some(Value::Object(object))
            });
        }
        let [inputs, expected_output, metadata] = values;
        let mut case = NewCase::new(inputs.unwrap_or(Value::Null));
        case.expected_output = expected_output;
        case.metadata = metadata;
        case.name = self
            .name
            .map(cell)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let mut all_tags: Vec<String> = self
            .tags
            .map(cell)
            .map(|cell| {
                cell.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for tag in tags {
            if !all_tags.contains(tag) {
                all_tags.push(tag.clone());
            }
        }
        if !all_tags.is_empty() {
            case.tags = Some(all_tags);
        }
        case
    }
}

/// Sets `value` at `path` in `object`, making the objects on the way.
fn insert(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("a field's path is not empty");
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

/// A case's values as `(column, cell)` pairs: `inputs.<path>` for each
/// leaf of an object, `inputs` for a value that is not one. Arrays and
/// empty objects are JSON text; null is an empty cell.
pub(crate) fn flatten(part: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) if !object.is_empty() => {
            for (key, value) in object {
                flatten(&format!("{part}.{key}"), value, out);
            }
        }
        Value::Null => {}
        other => out.push((part.to_owned(), cell_text(other))),
    }
}

/// The columns [`flatten`] would write from a value that is not text (a
/// number, a boolean, a list, an empty object): a CSV cell does not say
/// its type, so without a schema to type it an import reads it as text.
pub(crate) fn untyped_columns(
    part: &str,
    value: &Value,
    out: &mut std::collections::BTreeSet<String>,
) {
    match value {
        Value::Object(object) if !object.is_empty() => {
            for (key, value) in object {
                untyped_columns(&format!("{part}.{key}"), value, out);
            }
        }
        Value::Null | Value::String(_) => {}
        _ => {
            out.insert(part.to_owned());
        }
    }
}

/// A value as a CSV cell.
fn cell_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dataset(input: Value, output: Option<Value>) -> DatasetDetail {
        serde_json::from_value(json!({
            "id": "00000000-0000-0000-0000-000000000001",
            "project_id": "00000000-0000-0000-0000-000000000002",
            "name": "d",
            "input_schema": input,
            "output_schema": output,
            "ai_managed_guidance": false,
            "case_count": 0,
            "created_at": "2026-12-02T00:00:00Z",
            "updated_at": "2026-12-02T00:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn types_follow_refs_and_optionals() {
        let schema = json!({
            "type": "object",
            "properties": {
                "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "ctx": {"$ref": "#/$defs/Ctx"},
                "flag": {"type": ["boolean", "null"]},
            },
            "$defs": {"Ctx": {"type": "object", "properties": {"score": {"type": "number"}}}}
        });
        let n = types_at(Some(&schema), &["n"]);
        assert_eq!(n.value_of("12"), json!(12));
        assert_eq!(n.value_of("twelve"), json!("twelve"));
        assert_eq!(
            types_at(Some(&schema), &["ctx", "score"]).value_of("0.5"),
            json!(0.5)
        );
        assert_eq!(
            types_at(Some(&schema), &["flag"]).value_of("TRUE"),
            json!(true)
        );
        assert_eq!(
            types_at(Some(&schema), &["unknown"]).value_of("1"),
            json!("1")
        );
        assert_eq!(types_at(None, &["n"]).value_of("1"), json!("1"));
        assert!(types_at(Some(&json!({"type": "string"})), &[]).is_not_object());
    }

    #[test]
    fn mapped_columns_nest_and_type() {
        let header: Vec<String> = ["question", "context.topic", "answer", "tags", "id"]
            .map(str::to_owned)
            .into();
        let args = ColumnArgs {
            inputs: Some(vec!["question".into(), "context.topic".into()]),
            expected: Some(vec!["answer".into()]),
            tags_column: Some("tags".into()),
            name_column: Some("id".into()),
            ..ColumnArgs::default()
        };
        let plan = Plan::new(
            &header,
            &args,
            &dataset(json!({"type": "object"}), Some(json!({"type": "integer"}))),
        )
        .unwrap();
        let case = plan.case(&["Why?", "sky", "42", "a, b,", "c1"], &["batch".into()]);
        assert_eq!(
            case.inputs,
            json!({"question": "Why?", "context": {"topic": "sky"}})
        );
        assert_eq!(case.expected_output, Some(json!(42)));
        assert_eq!(
            case.tags,
            Some(vec!["a".into(), "b".into(), "batch".into()])
        );
        assert_eq!(case.name.as_deref(), Some("c1"));
        let empty = plan.case(&["", "", "", "", ""], &[]);
        assert_eq!(empty.inputs, json!({}));
        assert_eq!(
            (empty.expected_output, empty.name, empty.tags),
            (None, None, None)
        );
    }

    #[test]
    fn mapping_mistakes_are_named() {
        let header: Vec<String> = vec!["q".into(), "a".into()];
        let args = |inputs: &[&str]| ColumnArgs {
            inputs: Some(inputs.iter().map(|s| s.to_string()).collect()),
            ..ColumnArgs::default()
        };
        let plain = dataset(json!(null), None);
        let err = Plan::new(&header, &args(&["nope"]), &plain).unwrap_err();
        assert!(
            err.message.contains("\"nope\"") && err.message.contains("\"q\", \"a\""),
            "{}",
            err.message
        );
        let scalar = dataset(json!({"type": "string"}), None);
        let err = Plan::new(&header, &args(&["q", "a"]), &scalar).unwrap_err();
        assert!(
            err.message.contains("exactly one column"),
            "{}",
            err.message
        );
        let err = Plan::new(&["x".into()], &ColumnArgs::default(), &plain).unwrap_err();
        assert!(err.message.contains("column 1 \"x\""), "{}", err.message);
    }

    #[test]
    fn flattening_is_what_an_unmapped_import_reads_back() {
        let inputs =
            json!({"q": "Why?", "ctx": {"n": 3, "tags": ["x"]}, "empty": {}, "none": null});
        let mut cells = Vec::new();
        flatten("inputs", &inputs, &mut cells);
        flatten("expected_output", &json!("yes"), &mut cells);
        let header: Vec<String> = cells.iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(
            header,
            [
                "inputs.q",
                "inputs.ctx.n",
                "inputs.ctx.tags",
                "inputs.empty",
                "expected_output"
            ]
        );
        let schema = json!({"type": "object", "properties": {
            "q": {"type": "string"},
            "ctx": {"type": "object", "properties": {"n": {"type": "integer"}, "tags": {"type": "array"}}},
            "empty": {"type": "object"},
        }});
        let plan = Plan::new(&header, &ColumnArgs::default(), &dataset(schema, None)).unwrap();
        let row: Vec<&str> = cells.iter().map(|(_, v)| v.as_str()).collect();
        let case = plan.case(&row, &[]);
        assert_eq!(
            case.inputs,
            json!({"q": "Why?", "ctx": {"n": 3, "tags": ["x"]}, "empty": {}})
        );
        assert_eq!(case.expected_output, Some(json!("yes")));
    }
}
