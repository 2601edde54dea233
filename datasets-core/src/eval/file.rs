//! pydantic-evals dataset files: YAML and JSON, and the companion JSON
//! Schema that editors check them with.
//!
//! The shape is pydantic-evals' own: a `$schema` reference (a JSON key; in
//! YAML the first line `# yaml-language-server: $schema=...`), `name`,
//! `cases` (each with `name`, `inputs`, `metadata`, `expected_output` and
//! `evaluators`), `evaluators` and `report_evaluators`. Unknown keys are
//! errors, as pydantic-evals forbids them, and every error names the file
//! and the path of the offending value, e.g. `cases[3].inputs.question`.

use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::Dataset;
use super::py::{PyValue, from_py, to_py};
use super::spec::{spec_to_value, specs_from_value};
use super::{json_text, yaml_load};
use crate::case::Case;
use crate::error::{Error, Result};
use crate::wire::EvaluatorSpec;

const YAML_SCHEMA_PREFIX: &str = "# yaml-language-server: $schema=";
const DATASET_KEYS: &[&str] = &[
    "$schema",
    "name",
    "cases",
    "evaluators",
    "report_evaluators",
];
const CASE_KEYS: &[&str] = &[
    "name",
    "inputs",
    "metadata",
    "expected_output",
    "evaluators",
];

/// A dataset file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file's extension names (`.yaml`, `.yml` or `.json`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("yaml" | "yml") => Ok(Format::Yaml),
            Some("json") => Ok(Format::Json),
            _ => Err(Error::InvalidArgument(format!(
                "cannot tell the format of {} from its extension; use .yaml, .yml or .json, \
                 or give the format",
                path.display()
            ))),
        }
    }
}

/// Options of [`Dataset::to_file_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOptions {
    /// The format; by default, the one the extension names.
    pub format: Option<Format>,
    /// Where to write the JSON Schema: relative to the dataset file's folder
    /// unless absolute, with `{stem}` replaced by the file's stem. `None`
    /// writes no schema and no reference. Default `./{stem}_schema.json`,
    /// as pydantic-evals.
    pub schema_path: Option<String>,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self {
            format: None,
            schema_path: Some("./{stem}_schema.json".to_owned()),
        }
    }
}

fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source: err,
    }
}

fn file_error(source: &str, path: Option<String>, message: impl Into<String>) -> Error {
    Error::Decode {
        what: source.to_owned(),
        case_id: None,
        path,
        message: message.into(),
        excerpt: String::new(),
    }
}

impl<I: DeserializeOwned, O: DeserializeOwned, M: DeserializeOwned> Dataset<I, O, M> {
    /// Loads a pydantic-evals dataset file, in the format its extension
    /// names. The name defaults to the file's stem, as in pydantic-evals.
    ///
    /// A value that does not fit the types is [`Error::Decode`] naming the
    /// file and the path, e.g. `cases[2].expected_output.confidence`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let format = Format::from_path(path)?;
        let text = std::fs::read_to_string(path).map_err(|err| io_error(path, err))?;
        let mut dataset = Self::parse(&text, format, &path.display().to_string())?;
        if dataset.name.is_none() {
            dataset.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(dataset)
    }

    /// Parses a dataset from YAML or JSON text.
    pub fn from_text(text: &str, format: Format) -> Result<Self> {
        Self::parse(text, format, "the dataset text")
    }

    fn parse(text: &str, format: Format, source: &str) -> Result<Self> {
        let value =
            match format {
                Format::Json => json_text::parse(text)
                    .map_err(|err| file_error(source, None, err.to_string()))?,
                Format::Yaml => yaml_load::load(text)
                    .map_err(|err| file_error(source, None, err.to_string()))?,
            };
        let PyValue::Dict(mut top) = value else {
            return Err(file_error(
                source,
                None,
                "a dataset file must hold a mapping",
            ));
        };
        if let Some((key, _)) = top
            .iter()
            .find(|(k, _)| !DATASET_KEYS.contains(&k.as_str()))
        {
            return Err(file_error(
                source,
                Some(key.clone()),
                format!("unknown key `{key}`; expected one of {DATASET_KEYS:?}"),
            ));
        }
        let name = optional_string(&mut top, "name", "name", source)?;
        let evaluators = specs(take(&mut top, "evaluators"), "evaluators", source)?;
        let report_evaluators = specs(
            take(&mut top, "report_evaluators"),
            "report_evaluators",
            source,
        )?;
        let raw_cases = match take(&mut top, "cases") {
            Some(PyValue::List(cases)) => cases,
            None => return Err(file_error(source, Some("cases".into()), "missing `cases`")),
            Some(other) => {
                return Err(file_error(
                    source,
                    Some("cases".into()),
                    format!("`cases` must be a list, not {}", other.type_name()),
                ));
            }
        };
        let cases = raw_cases
            .into_iter()
            .enumerate()
            .map(|(index, raw)| Self::parse_case(index, raw, source))
            .collect::<Result<Vec<_>>>()?;
        // pydantic-evals refuses two cases of one name (unnamed ones aside).
        for (index, case) in cases.iter().enumerate() {
            let Some(name) = &case.name else { continue };
            if let Some(first) = cases[..index]
                .iter()
                .position(|earlier| earlier.name.as_ref() == Some(name))
            {
                return Err(file_error(
                    source,
                    Some(format!("cases[{index}].name")),
                    format!("duplicate case name {name:?}: cases {first} and {index} have it"),
                ));
            }
        }
        Ok(Dataset {
            name,
            cases,
            evaluators,
            report_evaluators,
            version: None,
        })
    }

    fn parse_case(index: usize, raw: PyValue, source: &str) -> Result<Case<I, O, M>> {
        let at = |field: &str| format!("cases[{index}].{field}");
        let PyValue::Dict(mut case) = raw else {
            return Err(file_error(
                source,
                Some(format!("cases[{index}]")),
                "a case must be a mapping",
            ));
        };
        if let Some((key, _)) = case.iter().find(|(k, _)| !CASE_KEYS.contains(&k.as_str())) {
            return Err(file_error(
                source,
                Some(at(key)),
                format!("unknown case key `{key}`; expected one of {CASE_KEYS:?}"),
            ));
        }
        let inputs = take(&mut case, "inputs")
            .ok_or_else(|| file_error(source, Some(at("inputs")), "missing `inputs`"))?;
        let name = optional_string(&mut case, "name", &at("name"), source)?;
        let evaluators = specs(take(&mut case, "evaluators"), &at("evaluators"), source)?;
        Ok(Case {
            name,
            inputs: decode(inputs, &at("inputs"), source)?,
            expected_output: decode_optional(
                take(&mut case, "expected_output"),
                &at("expected_output"),
                source,
            )?,
            metadata: decode_optional(take(&mut case, "metadata"), &at("metadata"), source)?,
            evaluators,
        })
    }
}

/// Decodes a value of the file as `T`, an error naming the file and the
/// path (`cases[2].inputs.question`) and what was wrong.
fn decode<T: DeserializeOwned>(value: PyValue, at: &str, source: &str) -> Result<T> {
    from_py(value).map_err(|err| {
        let inner = err.path().to_string();
        let path = if inner.is_empty() || inner == "." {
            at.to_owned()
        } else {
            format!("{at}.{inner}")
        };
        file_error(source, Some(path), err.into_inner().to_string())
    })
}

/// As [`decode`], with `None` (or no value) meaning none.
fn decode_optional<T: DeserializeOwned>(
    value: Option<PyValue>,
    at: &str,
    source: &str,
) -> Result<Option<T>> {
    match value {
        None | Some(PyValue::None) => Ok(None),
        Some(value) => decode(value, at, source).map(Some),
    }
}

/// Takes `key` out of a mapping's entries.
fn take(map: &mut Vec<(String, PyValue)>, key: &str) -> Option<PyValue> {
    let at = map.iter().position(|(k, _)| k == key)?;
    Some(map.remove(at).1)
}

/// Evaluator specs as a file holds them (short or long forms).
fn specs(value: Option<PyValue>, at: &str, source: &str) -> Result<Vec<EvaluatorSpec>> {
    let value = value
        .map(|value| value.to_json(at))
        .transpose()
        .map_err(|message| file_error(source, Some(at.to_owned()), message))?;
    specs_from_value(value.as_ref(), at)
        .map_err(|(place, message)| file_error(source, Some(place), message))
}

fn optional_string(
    map: &mut Vec<(String, PyValue)>,
    key: &str,
    at: &str,
    source: &str,
) -> Result<Option<String>> {
    match take(map, key) {
        None | Some(PyValue::None) => Ok(None),
        Some(PyValue::Str(text)) => Ok(Some(text)),
        Some(other) => Err(file_error(
            source,
            Some(at.to_owned()),
            format!(
                "`{key}` must be a string, not {} {}",
                other.type_name(),
                other.repr()
            ),
        )),
    }
}

#[derive(Serialize)]
struct FileDataset<'a, I, O, M> {
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    schema: Option<&'a str>,
    name: &'a Option<String>,
    cases: Vec<FileCase<'a, I, O, M>>,
    evaluators: Vec<Value>,
    report_evaluators: Vec<Value>,
}

#[derive(Serialize)]
struct FileCase<'a, I, O, M> {
    name: &'a Option<String>,
    inputs: &'a I,
    metadata: &'a Option<M>,
    expected_output: &'a Option<O>,
    evaluators: Vec<Value>,
}

fn short_forms(specs: &[EvaluatorSpec]) -> Vec<Value> {
    specs.iter().map(spec_to_value).collect()
}

impl<I: Serialize, O: Serialize, M: Serialize> Dataset<I, O, M> {
    /// The dataset as pydantic-evals' YAML or JSON text, evaluators in their
    /// short forms, with an optional `$schema` reference.
    pub fn to_text(&self, format: Format, schema_reference: Option<&str>) -> Result<String> {
        let file = FileDataset {
            schema: match format {
                Format::Json => schema_reference,
                Format::Yaml => None,
            },
            name: &self.name,
            cases: self
                .cases
                .iter()
                .map(|case| FileCase {
                    name: &case.name,
                    inputs: &case.inputs,
                    metadata: &case.metadata,
                    expected_output: &case.expected_output,
                    evaluators: short_forms(&case.evaluators),
                })
                .collect(),
            evaluators: short_forms(&self.evaluators),
            report_evaluators: short_forms(&self.report_evaluators),
        };
        // Through the harness's own value, which keeps fields in their
        // declared order and integers of any size exact.
        let value = to_py(&file).map_err(|err| {
            Error::InvalidArgument(format!("the dataset cannot be written: {err}"))
        })?;
        match format {
            Format::Json => Ok(json_text::write_pretty(&value) + "\n"),
            Format::Yaml => {
                let body = super::yaml::write(&value);
                Ok(match schema_reference {
                    Some(reference) => format!("{YAML_SCHEMA_PREFIX}{reference}\n{body}"),
                    None => body,
                })
            }
        }
    }
}

impl<I, O, M> Dataset<I, O, M>
where
    I: Serialize + JsonSchema,
    O: Serialize + JsonSchema,
    M: Serialize + JsonSchema,
{
    /// Writes a pydantic-evals dataset file (format from the extension) and,
    /// beside it, the JSON Schema `{stem}_schema.json` it references, as
    /// pydantic-evals' `Dataset.to_file` does.
    pub fn to_file(&self, path: impl AsRef<Path>) -> Result<()> {
        self.to_file_with(path, FileOptions::default())
    }

    /// [`to_file`](Self::to_file) with options.
    pub fn to_file_with(&self, path: impl AsRef<Path>, options: FileOptions) -> Result<()> {
        let path = path.as_ref();
        let format = match options.format {
            Some(format) => format,
            None => Format::from_path(path)?,
        };
        let reference = match &options.schema_path {
            None => None,
            Some(template) => {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let (schema_file, reference) =
                    schema_location(path, &template.replace("{stem}", &stem));
                let schema = serde_json::to_string_pretty(&Self::json_schema())
                    .map_err(|err| Error::InvalidArgument(err.to_string()))?
                    + "\n";
                // Rewrite only on change, as pydantic-evals, so watchers stay quiet.
                if std::fs::read_to_string(&schema_file).ok().as_deref() != Some(schema.as_str()) {
                    std::fs::write(&schema_file, schema)
                        .map_err(|err| io_error(&schema_file, err))?;
                }
                Some(reference)
            }
        };
        let text = self.to_text(format, reference.as_deref())?;
        std::fs::write(path, text).map_err(|err| io_error(path, err))
    }

    /// The JSON Schema of this dataset's files: the cases' types, and
    /// evaluators in any of their forms. What [`to_file`](Self::to_file)
    /// writes beside the dataset, for editors (e.g. the YAML language
    /// server) to check it.
    pub fn json_schema() -> Value {
        let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        let inputs = generator.subschema_for::<I>().to_value();
        let output = generator.subschema_for::<O>().to_value();
        let metadata = generator.subschema_for::<M>().to_value();
        let mut defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
        defs.insert(
            "EvaluatorSpec".to_owned(),
            json!({
                "anyOf": [
                    {"type": "string", "description": "An evaluator without arguments: \"Name\""},
                    {"type": "object", "minProperties": 1, "maxProperties": 1,
                     "description": "{\"Name\": argument} or {\"Name\": {keyword: value}}"},
                    {"type": "object", "required": ["name", "arguments"],
                     "additionalProperties": false,
                     "properties": {"name": {"type": "string"}, "arguments": {}}}
                ]
            }),
        );
        let nullable =
            |schema: Value| json!({"anyOf": [schema, {"type": "null"}], "default": null});
        defs.insert(
            "Case".to_owned(),
            json!({
                "title": "Case",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": nullable(json!({"type": "string"})),
                    "inputs": inputs,
                    "metadata": nullable(metadata),
                    "expected_output": nullable(output),
                    "evaluators": {"type": "array", "items": {"$ref": "#/$defs/EvaluatorSpec"}, "default": []}
                },
                "required": ["inputs"]
            }),
        );
        let specs =
            json!({"type": "array", "items": {"$ref": "#/$defs/EvaluatorSpec"}, "default": []});
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Dataset",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "$schema": {"type": "string"},
                "name": nullable(json!({"type": "string"})),
                "cases": {"type": "array", "items": {"$ref": "#/$defs/Case"}},
                "evaluators": specs,
                "report_evaluators": specs
            },
            "required": ["cases"],
            "$defs": defs
        })
    }
}

/// Where the schema goes and how the dataset file refers to it: a relative
/// template is relative to the dataset's folder and referred to as written
/// (normalized, as Python's `Path` prints it); an absolute one inside that
/// folder is referred to relatively, else absolutely.
fn schema_location(dataset: &Path, template: &str) -> (PathBuf, String) {
    let folder = dataset.parent().unwrap_or(Path::new(""));
    let template = Path::new(template);
    let normalized = |path: &Path| -> PathBuf {
        path.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    };
    if template.is_absolute() {
        let reference = template
            .strip_prefix(folder)
            .map(normalized)
            .unwrap_or_else(|_| template.to_path_buf());
        (template.to_path_buf(), reference.display().to_string())
    } else {
        (
            folder.join(template),
            normalized(template).display().to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_references_are_written_as_pydantic_evals_writes_them() {
        let (file, reference) = schema_location(Path::new("data/qa.yaml"), "./qa_schema.json");
        assert_eq!(file, Path::new("data/qa_schema.json"));
        assert_eq!(reference, "qa_schema.json");
        let (file, reference) = schema_location(Path::new("/d/qa.yaml"), "/d/schemas/qa.json");
        assert_eq!(file, Path::new("/d/schemas/qa.json"));
        assert_eq!(reference, "schemas/qa.json");
        let (_, reference) = schema_location(Path::new("/d/qa.yaml"), "/elsewhere/qa.json");
        assert_eq!(reference, "/elsewhere/qa.json");
    }
}
