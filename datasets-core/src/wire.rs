//! Wire models of the v1 datasets API: the JSON bodies that client and server
//! exchange, field for field as the protocol (and Logfire's hosted API) has
//! them.
//!
//! Reading is lenient: unknown fields are ignored and a missing optional field
//! (or a `null` list) takes its default, so a newer server never breaks an
//! older client. Writing is exact: update bodies omit what they leave as is
//! (see [`Patch`]).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Patch;

mod experiments;
pub use experiments::{Experiment, ExperimentDetail, ExperimentSource, NewExperiment};

/// A point in time, written as RFC 3339 in UTC.
pub type Timestamp = OffsetDateTime;

/// Deserializes `null` as the type's default, for lists the API may send as `null`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes a present key as `Some`, `null` included (`Some(Value::Null)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// An evaluator specification, in the API's long form.
///
/// `arguments` is `null` (no arguments), an object (keyword arguments) or a
/// one-element list (a single positional argument). It is always written,
/// even when `null`, because pydantic-evals requires the key in this form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorSpec {
    /// The evaluator's name, e.g. `"EqualsExpected"`.
    pub name: String,
    /// Its arguments, if any.
    #[serde(default)]
    pub arguments: Option<Value>,
}

impl EvaluatorSpec {
    /// A spec with no arguments.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            arguments: None,
        }
    }

    /// A spec with the given arguments (`null`, an object or a one-element list).
    pub fn with_arguments(name: impl Into<String>, arguments: Value) -> Self {
        Self {
            name: name.into(),
            arguments: Some(arguments),
        }
    }
}

/// A dataset as `GET /v1/datasets/` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// The dataset's id.
    pub id: Uuid,
    /// The project it belongs to.
    pub project_id: Uuid,
    /// Its name, unique within the project.
    pub name: String,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-text instructions on how cases should look.
    #[serde(default)]
    pub guidance: Option<String>,
    /// Whether Logfire's AI features may maintain the guidance.
    #[serde(default)]
    pub ai_managed_guidance: bool,
    /// How many cases it holds.
    #[serde(default)]
    pub case_count: u64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
    /// Display name of its creator, if known.
    #[serde(default)]
    pub created_by_name: Option<String>,
    /// Display name of its last editor, if known.
    #[serde(default)]
    pub updated_by_name: Option<String>,
    /// Its current version (see [`DatasetVersion`]); an addition to the
    /// protocol, absent from Logfire's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A dataset in full, as create, get and update return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDetail {
    /// The dataset's id.
    pub id: Uuid,
    /// The project it belongs to.
    pub project_id: Uuid,
    /// Its name, unique within the project.
    pub name: String,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema every case's `inputs` must satisfy, if any.
    #[serde(default)]
    pub input_schema: Option<Value>,
    /// JSON Schema every non-null `expected_output` must satisfy, if any.
    #[serde(default)]
    pub output_schema: Option<Value>,
    /// JSON Schema every non-null `metadata` must satisfy, if any.
    #[serde(default)]
    pub metadata_schema: Option<Value>,
    /// Free-text instructions on how cases should look.
    #[serde(default)]
    pub guidance: Option<String>,
    /// Whether Logfire's AI features may maintain the guidance.
    #[serde(default)]
    pub ai_managed_guidance: bool,
    /// Dataset-level evaluators.
    #[serde(default)]
    pub evaluators: Option<Vec<EvaluatorSpec>>,
    /// Report-level evaluators.
    #[serde(default)]
    pub report_evaluators: Option<Vec<EvaluatorSpec>>,
    /// How many cases it holds.
    #[serde(default)]
    pub case_count: u64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
    /// Who created it, if known.
    #[serde(default)]
    pub created_by: Option<Uuid>,
    /// The version this answer describes: the current one, or the one asked
    /// for with `?version=`; an addition to the protocol, absent from
    /// Logfire's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetail {
    /// The case's id.
    pub id: Uuid,
    /// The dataset it belongs to.
    pub dataset_id: Uuid,
    /// Its name, unique within the dataset when not null.
    #[serde(default)]
    pub name: Option<String>,
    /// The task's inputs.
    pub inputs: Value,
    /// The expected output, if any.
    #[serde(default)]
    pub expected_output: Option<Value>,
    /// Metadata, if any.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Case-level evaluators.
    #[serde(default)]
    pub evaluators: Option<Vec<EvaluatorSpec>>,
    /// The trace the case was taken from.
    #[serde(default)]
    pub source_trace_id: Option<String>,
    /// The span the case was taken from.
    #[serde(default)]
    pub source_span_id: Option<String>,
    /// Its tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// 1 on create, incremented by every update.
    #[serde(default)]
    pub version: u64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
    /// Who created it, if known.
    #[serde(default)]
    pub created_by: Option<Uuid>,
    /// Who last changed it, if known.
    #[serde(default)]
    pub updated_by: Option<Uuid>,
}

/// Body of `POST /v1/datasets/`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewDataset {
    /// The name, unique within the project.
    pub name: String,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema for `inputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// JSON Schema for `expected_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// JSON Schema for `metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_schema: Option<Value>,
    /// Free-text instructions on how cases should look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    /// Whether Logfire's AI features may maintain the guidance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_managed_guidance: Option<bool>,
    /// Dataset-level evaluators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluators: Option<Vec<EvaluatorSpec>>,
    /// Report-level evaluators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_evaluators: Option<Vec<EvaluatorSpec>>,
}

/// Body of `PUT`/`PATCH /v1/datasets/{dataset}/`: each field is left as is,
/// cleared or set (see [`Patch`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DatasetUpdate {
    /// A new name (cannot be cleared).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub name: Patch<String>,
    /// A new description.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub description: Patch<String>,
    /// A new input schema; existing cases are re-checked against it.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub input_schema: Patch<Value>,
    /// A new output schema; existing cases are re-checked against it.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub output_schema: Patch<Value>,
    /// A new metadata schema; existing cases are re-checked against it.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub metadata_schema: Patch<Value>,
    /// New guidance.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub guidance: Patch<String>,
    /// Whether Logfire's AI features may maintain the guidance (clearing means `false`).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub ai_managed_guidance: Patch<bool>,
    /// New dataset-level evaluators.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub evaluators: Patch<Vec<EvaluatorSpec>>,
    /// New report-level evaluators.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub report_evaluators: Patch<Vec<EvaluatorSpec>>,
}

/// A case to create: the body of `POST .../cases/` and an element of bulk
/// and import bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    /// The task's inputs (required; any JSON).
    pub inputs: Value,
    /// A name, unique within the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The expected output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<Value>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Case-level evaluators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluators: Option<Vec<EvaluatorSpec>>,
    /// The trace the case was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_trace_id: Option<String>,
    /// The span the case was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_span_id: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl NewCase {
    /// A case with these inputs and nothing else.
    pub fn new(inputs: Value) -> Self {
        Self {
            inputs,
            name: None,
            expected_output: None,
            metadata: None,
            evaluators: None,
            source_trace_id: None,
            source_span_id: None,
            tags: None,
        }
    }
}

/// Body of `POST .../cases/bulk/` and `POST .../import/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasesBody {
    /// The cases, in order.
    pub cases: Vec<NewCase>,
}

/// Body of `PUT`/`PATCH .../cases/{case_id}/`: each field is left as is,
/// cleared or set (see [`Patch`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CaseUpdate {
    /// A new name.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub name: Patch<String>,
    /// New inputs; any JSON, `null` included, so there is no "clear".
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub inputs: Option<Value>,
    /// A new expected output.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub expected_output: Patch<Value>,
    /// New metadata.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub metadata: Patch<Value>,
    /// New case-level evaluators.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub evaluators: Patch<Vec<EvaluatorSpec>>,
    /// A new source trace id.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub source_trace_id: Patch<String>,
    /// A new source span id.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub source_span_id: Patch<String>,
    /// New tags (clearing means no tags).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub tags: Patch<Vec<String>>,
}

/// What `POST .../import/` does with a named case whose name already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Reject the whole request with 409; nothing is written.
    #[default]
    Error,
    /// Update the existing case in place (an upsert by name).
    Update,
}

impl OnConflict {
    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Error => "error",
            OnConflict::Update => "update",
        }
    }
}

impl std::str::FromStr for OnConflict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(OnConflict::Error),
            "update" => Ok(OnConflict::Update),
            other => Err(format!(
                "unknown on_conflict value {other:?}; expected \"error\" or \"update\""
            )),
        }
    }
}

/// A case in the export document (pydantic-evals' case shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedCase {
    /// The case's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The task's inputs.
    pub inputs: Value,
    /// Metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// The expected output.
    #[serde(default)]
    pub expected_output: Option<Value>,
    /// Case-level evaluators (never `null`: pydantic-evals wants a list).
    #[serde(default, deserialize_with = "null_as_default")]
    pub evaluators: Vec<EvaluatorSpec>,
}

/// Body of `GET .../export/`, loadable by `pydantic_evals.Dataset.from_dict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedDataset {
    /// The dataset's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its cases, in insertion order.
    pub cases: Vec<ExportedCase>,
    /// Dataset-level evaluators.
    #[serde(default, deserialize_with = "null_as_default")]
    pub evaluators: Vec<EvaluatorSpec>,
    /// Report-level evaluators.
    #[serde(default, deserialize_with = "null_as_default")]
    pub report_evaluators: Vec<EvaluatorSpec>,
    /// The dataset version the export holds, from `datasets-server`'s
    /// `Dataset-Version` header; never part of the document, which keeps
    /// pydantic-evals' shape.
    #[serde(skip)]
    pub version: Option<u64>,
}

/// One segment of an error location: a key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocSegment {
    /// An object key (or a fixed word such as `"body"` or `"query"`).
    Key(String),
    /// A list index.
    Index(u64),
}

impl From<&str> for LocSegment {
    fn from(value: &str) -> Self {
        LocSegment::Key(value.to_owned())
    }
}

impl From<String> for LocSegment {
    fn from(value: String) -> Self {
        LocSegment::Key(value)
    }
}

impl From<usize> for LocSegment {
    fn from(value: usize) -> Self {
        LocSegment::Index(value as u64)
    }
}

impl std::fmt::Display for LocSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocSegment::Key(key) => f.write_str(key),
            LocSegment::Index(index) => write!(f, "{index}"),
        }
    }
}

/// One problem in a 4xx `detail` list, FastAPI style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationIssue {
    /// Where: the JSON path of the offending value, e.g.
    /// `["body", "cases", 3, "inputs", "question"]`.
    pub loc: Vec<LocSegment>,
    /// What is wrong, for people.
    pub msg: String,
    /// What is wrong, for programs (e.g. `"missing"`, `"type"`, `"json_invalid"`).
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationIssue {
    /// An issue at `loc`.
    pub fn new(loc: Vec<LocSegment>, msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

impl std::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.loc.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{segment}")?;
        }
        write!(f, ": {} ({})", self.msg, self.kind)
    }
}

/// Every error body: `{"detail": ...}`, where `detail` is a string or a list
/// of [`ValidationIssue`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error's detail, as the server sent it.
    pub detail: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_update_tells_absent_from_null() {
        let update: CaseUpdate =
            serde_json::from_value(json!({"expected_output": null, "inputs": null})).unwrap();
        assert_eq!(update.expected_output, Patch::Clear);
        assert_eq!(update.metadata, Patch::Keep);
        assert_eq!(update.inputs, Some(Value::Null));
        let round = serde_json::to_value(&update).unwrap();
        assert_eq!(round, json!({"expected_output": null, "inputs": null}));
        assert_eq!(
            serde_json::to_value(CaseUpdate::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn new_case_requires_inputs() {
        let err = serde_json::from_value::<NewCase>(json!({"name": "x"})).unwrap_err();
        assert!(err.to_string().contains("missing field `inputs`"), "{err}");
        let case: NewCase = serde_json::from_value(json!({"inputs": null})).unwrap();
        assert_eq!(case.inputs, Value::Null);
    }

    #[test]
    fn evaluator_spec_always_writes_arguments() {
        assert_eq!(
            serde_json::to_value(EvaluatorSpec::new("EqualsExpected")).unwrap(),
            json!({"name": "EqualsExpected", "arguments": null})
        );
        let spec: EvaluatorSpec = serde_json::from_value(json!({"name": "X"})).unwrap();
        assert_eq!(spec.arguments, None);
    }

    #[test]
    fn reads_tolerate_unknown_fields_and_null_lists() {
        let case: CaseDetail = serde_json::from_value(json!({
            "id": "0196b2a4-7d27-7000-8000-000000000001",
            "dataset_id": "0196b2a4-7d27-7000-8000-000000000002",
            "inputs": {"q": 1},
            "tags": null,
            "created_at": "2025-05-01T12:00:00.123456Z",
            "updated_at": "2025-05-01T12:00:00+00:00",
            "something_new": true
        }))
        .unwrap();
        assert!(case.tags.is_empty());
        assert_eq!(case.version, 0);
    }

    #[test]
    fn on_conflict_parses_and_names_bad_values() {
        assert_eq!("update".parse::<OnConflict>().unwrap(), OnConflict::Update);
        assert!(
            "merge"
                .parse::<OnConflict>()
                .unwrap_err()
                .contains("\"merge\"")
        );
    }
}

/// One version of a dataset: every committed write to its cases, schemas or
/// evaluators makes the next one (an addition to the protocol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetVersion {
    /// Its number: 1 for a new dataset, then one more per write, without gaps.
    pub version: u64,
    /// When the write was committed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// The id of the API key that made it, if known.
    #[serde(default)]
    pub created_by: Option<Uuid>,
    /// The name of that key, if it has one.
    #[serde(default)]
    pub created_by_name: Option<String>,
    /// Cases this version added.
    #[serde(default)]
    pub added: u64,
    /// Cases this version changed.
    #[serde(default)]
    pub changed: u64,
    /// Cases this version removed.
    #[serde(default)]
    pub removed: u64,
    /// How many cases the dataset held at this version.
    #[serde(default)]
    pub case_count: u64,
    /// Whether this version changed the schemas or evaluators (or, for
    /// version 1, set them).
    #[serde(default)]
    pub definition_changed: bool,
    /// The tags naming this version.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Body of `POST .../versions/{n}/tags/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionTag {
    /// The tag: unique within the dataset, not all digits.
    pub tag: String,
}

/// How a case differs between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    /// In the later version only.
    Added,
    /// In the earlier version only.
    Removed,
    /// In both, with different content.
    Changed,
}

/// One case of `GET .../diff/?from=A&to=B`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDiff {
    /// The case's id.
    pub case_id: Uuid,
    /// Its name: at `to`, or at `from` for a removed case.
    #[serde(default)]
    pub name: Option<String>,
    /// How it differs.
    pub change: CaseChange,
    /// For a changed case, the fields that differ, of `name`, `inputs`,
    /// `expected_output`, `metadata`, `evaluators`, `source_trace_id`,
    /// `source_span_id` and `tags`; empty otherwise.
    #[serde(default)]
    pub fields: Vec<String>,
}
