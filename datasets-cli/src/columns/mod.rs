//! Cases as CSV rows and back: which columns make which part of a case,
//! how a cell is read (text typed by the dataset's JSON Schema, or JSON),
//! and which columns an export writes so that every case reads back as it
//! was ([`layout`]). Column names and the formula guard are in [`header`].

use std::collections::HashMap;

use datasets_core::wire::{DatasetDetail, EvaluatorSpec, NewCase};
use serde_json::{Map, Value};

use crate::cli::ColumnArgs;
use crate::fail::{Failure, Outcome};

pub(crate) mod header;
pub(crate) mod layout;
mod types;

use header::unguard;
pub(crate) use types::{Types, json_cell, types_at};

/// The three parts of a case that columns make.
pub(crate) const PARTS: [&str; 3] = ["inputs", "expected_output", "metadata"];

/// One column feeding a part of a case.
#[derive(Debug, Clone)]
struct Field {
    column: usize,
    /// Object keys under the part; empty for the whole value.
    path: Vec<String>,
    /// Whether its cells are JSON (a `:json` column), not text.
    json: bool,
    types: Types,
}

/// A column that is neither a part nor the name: where it is, and whether
/// its cells are JSON.
#[derive(Debug, Clone, Copy)]
struct Other {
    column: usize,
    json: bool,
}

/// How a CSV file's rows become cases.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    name: Option<usize>,
    tags: Option<Other>,
    trace: Option<usize>,
    span: Option<usize>,
    evaluators: Option<usize>,
    /// For each of [`PARTS`], the columns that make it.
    parts: [Vec<Field>; 3],
    /// The header, for messages.
    header: Vec<String>,
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
            trace: None,
            span: None,
            evaluators: None,
            parts: Default::default(),
            header: header.to_vec(),
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
                    if path.iter().any(String::is_empty) {
                        return Err(Failure::usage(format!(
                            "{flag} names {column:?}, a path with an empty key"
                        )));
                    }
                    plan.add(part, index, path, false, schemas[part])?;
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
                .transpose()?
                .map(|column| Other {
                    column,
                    json: false,
                });
        } else {
            for (index, column) in header.iter().enumerate() {
                let unknown = || {
                    Failure::usage(format!(
                        "column {} {column:?} is not one of name, tags, inputs, inputs.<path>, \
                         expected_output[.<path>], metadata[.<path>] (a name may end in :json); \
                         map columns with --inputs, --expected, --metadata, --name-column and \
                         --tags-column (see `datasets import --help`)",
                        index + 1
                    ))
                };
                let name = header::parse(column)
                    .map_err(|err| Failure::usage(format!("column {}: {err}", index + 1)))?;
                let bare = name.path.is_empty();
                match (name.head.as_str(), bare, name.json) {
                    ("name", true, false) => plan.name = Some(index),
                    ("tags", true, json) => {
                        plan.tags = Some(Other {
                            column: index,
                            json,
                        });
                    }
                    ("source_trace_id", true, false) => plan.trace = Some(index),
                    ("source_span_id", true, false) => plan.span = Some(index),
                    ("evaluators", true, _) => plan.evaluators = Some(index),
                    (head, _, json) => {
                        let part = PARTS.iter().position(|part| *part == head);
                        let Some(part) = part else {
                            return Err(unknown());
                        };
                        plan.add(part, index, name.path, json, schemas[part])?;
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
        json: bool,
        schema: Option<&Value>,
    ) -> Outcome {
        for other in &self.parts[part] {
            let (short, long) = if other.path.len() <= path.len() {
                (&other.path, &path)
            } else {
                (&path, &other.path)
            };
            if !path.is_empty() && !other.path.is_empty() && long.starts_with(short) {
                return Err(Failure::usage(format!(
                    "columns {} and {} both set {}: one would overwrite the other",
                    other.column + 1,
                    column + 1,
                    header::name(PARTS[part], short, false)
                )));
            }
        }
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        let types = types_at(schema, &keys);
        self.parts[part].push(Field {
            column,
            path,
            json,
            types,
        });
        Ok(())
    }

    /// The case a row makes, `tags` added to its own; or what is wrong with
    /// which cell.
    pub(crate) fn case(&self, row: &[&str], tags: &[String]) -> Result<NewCase, String> {
        let cell = |index: usize| unguard(row.get(index).copied().unwrap_or(""));
        let at = |index: usize, err: String| {
            format!(
                "column {} ({}): {err}",
                index + 1,
                self.header.get(index).map_or("", String::as_str)
            )
        };
        let mut values = [None, None, None];
        for (part, fields) in self.parts.iter().enumerate() {
            let mut whole = None;
            let mut object = Map::new();
            let mut has_fields = false;
            for field in fields {
                let text = cell(field.column);
                if !field.path.is_empty() {
                    has_fields = true;
                }
                if text.is_empty() {
                    continue;
                }
                let value = if field.json {
                    json_cell(text)
                } else {
                    field.types.value_of(text)
                }
                .map_err(|err| at(field.column, err))?;
                if field.path.is_empty() {
                    whole = Some(value);
                } else {
                    insert(&mut object, &field.path, value);
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
        let text = |column: Option<usize>| {
            column
                .map(cell)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        case.name = text(self.name);
        case.source_trace_id = text(self.trace);
        case.source_span_id = text(self.span);
        if let Some(column) = self.evaluators {
            let text = cell(column);
            if !text.is_empty() {
                let value = json_cell(text).map_err(|err| at(column, err))?;
                let evaluators: Vec<EvaluatorSpec> = serde_json::from_value(value)
                    .map_err(|err| at(column, format!("not a list of evaluators: {err}")))?;
                case.evaluators = Some(evaluators);
            }
        }
        let mut all_tags: Vec<String> = match self.tags {
            None => Vec::new(),
            Some(Other { column, json: true }) => {
                let text = cell(column);
                if text.is_empty() {
                    Vec::new()
                } else {
                    let value = json_cell(text).map_err(|err| at(column, err))?;
                    serde_json::from_value(value)
                        .map_err(|_| at(column, "not a JSON list of strings".to_owned()))?
                }
            }
            Some(Other { column, .. }) => cell(column)
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        for tag in tags {
            if !all_tags.contains(tag) {
                all_tags.push(tag.clone());
            }
        }
        if !all_tags.is_empty() {
            case.tags = Some(all_tags);
        }
        Ok(case)
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
        assert_eq!(n.value_of("12").unwrap(), json!(12));
        assert_eq!(n.value_of("twelve").unwrap(), json!("twelve"));
        assert_eq!(
            types_at(Some(&schema), &["ctx", "score"])
                .value_of("0.5")
                .unwrap(),
            json!(0.5)
        );
        assert_eq!(
            types_at(Some(&schema), &["flag"]).value_of("TRUE").unwrap(),
            json!(true)
        );
        assert_eq!(
            types_at(Some(&schema), &["unknown"]).value_of("1").unwrap(),
            json!("1")
        );
        assert_eq!(types_at(None, &["n"]).value_of("1").unwrap(), json!("1"));
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
        let case = plan
            .case(&["Why?", "sky", "42", "a, b,", "c1"], &["batch".into()])
            .unwrap();
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
        let empty = plan.case(&["", "", "", "", ""], &[]).unwrap();
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

    /// Export's columns for `cases`, and each case as import reads its row back.
    fn round_trip(cases: &[Value], schema: Option<Value>) -> (Vec<String>, Vec<Value>) {
        let mut layout = layout::Layout::new([schema.clone(), None, None]);
        let cases: Vec<Map<String, Value>> = cases
            .iter()
            .map(|case| case.as_object().unwrap().clone())
            .collect();
        cases.iter().for_each(|case| layout.observe(case));
        let header = layout.header().to_vec();
        let plan = Plan::new(
            &header,
            &ColumnArgs::default(),
            &dataset(schema.unwrap_or(Value::Null), None),
        )
        .unwrap();
        let mut row = vec![String::new(); header.len()];
        let back = cases
            .iter()
            .map(|case| {
                layout.row(case, &mut row);
                let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                serde_json::to_value(plan.case(&cells, &[]).unwrap()).unwrap()
            })
            .collect();
        (header, back)
    }

    #[test]
    fn what_export_writes_import_reads_back() {
        let cases = [
            json!({"name": "a", "inputs": {"q": "Why?", "ctx": {"n": 3, "tags": ["x"]}, "empty": {},
                   "none": null, "blank": "", "a.b": 1, "": "e", "shape": {"file": "f"}},
                   "expected_output": "=yes", "tags": ["t1", "t 2"]}),
            json!({"inputs": {"q": "-dash", "ctx": {"n": 3.5}, "shape": "string now", "blank": "x"},
                   "tags": ["a,b"], "source_trace_id": "0af7651916cd43dd8448eb211c80319c"}),
        ];
        let (header, back) = round_trip(&cases, None);
        assert_eq!(
            header,
            [
                "name",
                "tags:json",
                "inputs.q",
                "inputs.ctx.n:json",
                "inputs.ctx.tags:json",
                "inputs.empty:json",
                "inputs.none:json",
                "inputs.blank:json",
                "inputs[\"a.b\"]:json",
                "inputs[\"\"]",
                "inputs.shape:json",
                "expected_output",
                "source_trace_id",
            ]
        );
        assert_eq!(back, cases);
    }

    #[test]
    fn text_the_schema_would_retype_is_written_as_json() {
        let schema = json!({"type": "object", "properties": {
            "n": {"type": ["integer", "string"]}, "s": {"type": "string"}}});
        let cases = [
            json!({"inputs": {"n": "3", "s": "4"}}),
            json!({"inputs": {"n": 5, "s": "x"}}),
        ];
        let (header, back) = round_trip(&cases, Some(schema));
        assert_eq!(header, ["name", "tags", "inputs.n:json", "inputs.s"]);
        assert_eq!(back, cases);
    }

    #[test]
    fn cells_that_would_be_rounded_are_refused_with_their_column() {
        let header: Vec<String> = vec!["inputs.n:json".into(), "inputs.m".into()];
        let schema = json!({"type": "object", "properties": {"m": {"type": "number"}}});
        let plan = Plan::new(&header, &ColumnArgs::default(), &dataset(schema, None)).unwrap();
        let err = plan
            .case(&["123456789012345678901234567890", ""], &[])
            .unwrap_err();
        assert!(
            err.starts_with("column 1 (inputs.n:json): the integer 123456789012345678901234567890 does not fit in 64 bits"),
            "{err}"
        );
        let err = plan.case(&["", "3.14159265358979323846"], &[]).unwrap_err();
        assert!(
            err.contains("column 2 (inputs.m)") && err.contains("3.141592653589793"),
            "{err}"
        );
        let err = plan.case(&["{\"a\": [1, 1e999]}", ""], &[]).unwrap_err();
        assert!(
            err.contains("at a.1: the number 1e999 is out of range"),
            "{err}"
        );
        assert!(
            plan.case(&["not json", ""], &[])
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
