//! Typed cases: [`Case`] to write, [`StoredCase`] as read back.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result, strip_position};
use crate::wire::{CaseDetail, EvaluatorSpec, NewCase, Timestamp};

/// A case with typed inputs `I`, expected output `O` and metadata `M`: what a
/// typed dataset handle writes and the eval harness runs.
///
/// ```
/// use datasets_core::Case;
///
/// let case: Case<String, String, ()> = Case::new("What is 2+2?".to_owned())
///     .name("arithmetic")
///     .expected_output("4".to_owned());
/// assert_eq!(case.expected_output.as_deref(), Some("4"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Case<I, O = Value, M = Value> {
    /// A name, unique within the dataset when set.
    pub name: Option<String>,
    /// The task's inputs.
    pub inputs: I,
    /// The expected output, if known.
    pub expected_output: Option<O>,
    /// Metadata, if any.
    pub metadata: Option<M>,
    /// Case-level evaluators.
    pub evaluators: Vec<EvaluatorSpec>,
}

impl<I, O, M> Case<I, O, M> {
    /// A case with these inputs and nothing else.
    pub fn new(inputs: I) -> Self {
        Self {
            name: None,
            inputs,
            expected_output: None,
            metadata: None,
            evaluators: Vec::new(),
        }
    }

    /// Names the case.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the expected output.
    pub fn expected_output(mut self, output: O) -> Self {
        self.expected_output = Some(output);
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: M) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Adds a case-level evaluator.
    pub fn evaluator(mut self, evaluator: EvaluatorSpec) -> Self {
        self.evaluators.push(evaluator);
        self
    }

    /// Adds case-level evaluators.
    pub fn evaluators(mut self, evaluators: impl IntoIterator<Item = EvaluatorSpec>) -> Self {
        self.evaluators.extend(evaluators);
        self
    }
}

impl<I: Serialize, O: Serialize, M: Serialize> Case<I, O, M> {
    /// The case as the wire's [`NewCase`]. Fails only for values JSON cannot
    /// hold (e.g. a map with non-string keys), naming the field.
    pub fn to_new_case(&self) -> Result<NewCase> {
        let encode = |field: &str, value: &dyn erased::Encode| {
            value.encode().map_err(|err| {
                let who = self
                    .name
                    .as_deref()
                    .map(|n| format!(" of case {n:?}"))
                    .unwrap_or_default();
                Error::InvalidArgument(format!("the {field}{who} cannot be encoded as JSON: {err}"))
            })
        };
        Ok(NewCase {
            inputs: encode("inputs", &self.inputs)?,
            name: self.name.clone(),
            expected_output: self
                .expected_output
                .as_ref()
                .map(|o| encode("expected output", o))
                .transpose()?,
            metadata: self
                .metadata
                .as_ref()
                .map(|m| encode("metadata", m))
                .transpose()?,
            evaluators: (!self.evaluators.is_empty()).then(|| self.evaluators.clone()),
            source_trace_id: None,
            source_span_id: None,
            tags: None,
        })
    }
}

mod erased {
    /// Encodes any `Serialize` value through one closure type; an error
    /// names the path inside the value (`answer.id: number out of range`).
    pub(super) trait Encode {
        fn encode(&self) -> Result<serde_json::Value, String>;
    }

    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> Result<serde_json::Value, String> {
            serde_path_to_error::serialize(self, serde_json::value::Serializer).map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner();
                if path.is_empty() || path == "." {
                    inner.to_string()
                } else {
                    format!("at `{path}`: {inner}")
                }
            })
        }
    }
}

/// A stored case with typed fields, and everything the server keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase<I, O = Value, M = Value> {
    /// The case's id.
    pub id: Uuid,
    /// The dataset's id.
    pub dataset_id: Uuid,
    /// Its name.
    pub name: Option<String>,
    /// Its inputs.
    pub inputs: I,
    /// Its expected output.
    pub expected_output: Option<O>,
    /// Its metadata.
    pub metadata: Option<M>,
    /// Case-level evaluators.
    pub evaluators: Vec<EvaluatorSpec>,
    /// The trace it was taken from.
    pub source_trace_id: Option<String>,
    /// The span it was taken from.
    pub source_span_id: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// 1 on create, +1 on every update.
    pub version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// Who created it.
    pub created_by: Option<Uuid>,
    /// Who last changed it.
    pub updated_by: Option<Uuid>,
}

impl<I, O, M> StoredCase<I, O, M> {
    /// The case's content, to run or to write elsewhere.
    pub fn into_case(self) -> Case<I, O, M> {
        Case {
            name: self.name,
            inputs: self.inputs,
            expected_output: self.expected_output,
            metadata: self.metadata,
            evaluators: self.evaluators,
        }
    }
}

impl<I: DeserializeOwned, O: DeserializeOwned, M: DeserializeOwned> StoredCase<I, O, M> {
    /// Decodes a wire case into the Rust types. A value that no longer fits
    /// (the data changed, or the types did) is [`Error::Decode`] naming the
    /// case id and the JSON path, e.g. `expected_output.confidence`.
    pub fn from_detail(case: CaseDetail) -> Result<Self> {
        let id = case.id;
        Ok(Self {
            id,
            dataset_id: case.dataset_id,
            name: case.name,
            inputs: decode_field(Some(id), "inputs", case.inputs)?,
            expected_output: decode_optional(Some(id), "expected_output", case.expected_output)?,
            metadata: decode_optional(Some(id), "metadata", case.metadata)?,
            evaluators: case.evaluators.unwrap_or_default(),
            source_trace_id: case.source_trace_id,
            source_span_id: case.source_span_id,
            tags: case.tags,
            version: case.version,
            created_at: case.created_at,
            updated_at: case.updated_at,
            created_by: case.created_by,
            updated_by: case.updated_by,
        })
    }
}

/// Decodes one JSON field into `T`, naming the case and the path on failure.
pub(crate) fn decode_field<T: DeserializeOwned>(
    case_id: Option<Uuid>,
    field: &str,
    value: Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let path = if inner.is_empty() || inner == "." {
            field.to_owned()
        } else {
            format!("{field}.{inner}")
        };
        Error::Decode {
            what: format!("case {field}"),
            case_id,
            path: Some(path),
            message: strip_position(&err.inner().to_string()),
            excerpt: String::new(),
        }
    })
}

/// As [`decode_field`], with `null` meaning none.
pub(crate) fn decode_optional<T: DeserializeOwned>(
    case_id: Option<Uuid>,
    field: &str,
    value: Option<Value>,
) -> Result<Option<T>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => decode_field(case_id, field, value).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Answer {
        answer: String,
        confidence: f64,
    }

    fn detail(expected_output: Value) -> CaseDetail {
        serde_json::from_value(json!({
            "id": "0196b2a4-7d27-7000-8000-000000000001",
            "dataset_id": "0196b2a4-7d27-7000-8000-000000000002",
            "inputs": "q",
            "expected_output": expected_output,
            "created_at": "2025-05-01T12:00:00Z",
            "updated_at": "2025-05-01T12:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_case_that_no_longer_fits_names_its_id_and_path() {
        let err = StoredCase::<String, Answer, ()>::from_detail(detail(
            json!({"answer": "a", "confidence": "high"}),
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("case 0196b2a4-7d27-7000-8000-000000000001"),
            "{text}"
        );
        assert!(text.contains("`expected_output.confidence`"), "{text}");
        let ok = StoredCase::<String, Answer, ()>::from_detail(detail(
            json!({"answer": "a", "confidence": 1.0}),
        ))
        .unwrap();
        assert_eq!(ok.expected_output.unwrap().confidence, 1.0);
        let none = StoredCase::<String, Answer, ()>::from_detail(detail(Value::Null)).unwrap();
        assert!(none.expected_output.is_none());
    }

    #[test]
    fn cases_become_wire_cases() {
        let case: Case<&str, u8, ()> = Case::new("q").name("n").expected_output(4);
        let wire = case.to_new_case().unwrap();
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            json!({"inputs": "q", "name": "n", "expected_output": 4})
        );
        let bad: Case<std::collections::HashMap<(u8, u8), u8>, (), ()> =
            Case::new([((1, 2), 3)].into());
        assert!(
            bad.to_new_case()
                .unwrap_err()
                .to_string()
                .contains("inputs")
        );
    }
}
