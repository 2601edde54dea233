//! The eval harness: local, typed datasets in pydantic-evals' shape, the
//! evaluators that score a task's outputs, running a task over the cases,
//! and reports.
//!
//! A [`Dataset`] is what a managed dataset exports to
//! ([`DatasetHandle::export`](crate::DatasetHandle::export)) and pushes from;
//! with the `eval` feature (on by default) it also reads and writes
//! pydantic-evals' YAML and JSON files ([`Dataset::from_file`],
//! [`Dataset::to_file`]), so Python and Rust teams share them, and runs a
//! task over its cases ([`Dataset::evaluate`]) into an
//! [`EvaluationReport`].
//!
//! ```no_run
//! use datasets_core::eval::{Dataset, EqualsExpected, EvaluationReport, MaxDuration};
//! use std::time::Duration;
//!
//! # async fn answer(question: String) -> String { question }
//! # async fn run() -> datasets_core::Result<()> {
//! let dataset = Dataset::<String, String, ()>::from_file("questions.yaml")?;
//! let report = dataset
//!     .evaluate(|question: String| async move { answer(question).await })
//!     .evaluator(EqualsExpected::default())
//!     .evaluator(MaxDuration::new(Duration::from_secs(2)))
//!     .max_concurrency(8)
//!     .await;
//! report.print();
//! std::fs::write("current.json", report.to_json()?).unwrap();
//! let baseline_json = std::fs::read_to_string("baseline.json").unwrap();
//! let baseline = EvaluationReport::<String, String, ()>::from_json(&baseline_json)?;
//! report.compare(&baseline).print();
//! # Ok(()) }
//! ```

#[cfg(any(feature = "eval", feature = "report"))]
mod analysis;
#[cfg(feature = "eval")]
mod builtin;
#[cfg(feature = "eval")]
mod evaluator;
#[cfg(any(feature = "eval", feature = "report"))]
mod experiment;
#[cfg(feature = "eval")]
mod file;
#[cfg(any(feature = "eval", feature = "report"))]
mod gate;
#[cfg(feature = "eval")]
mod json_text;
#[cfg(all(feature = "eval", feature = "client"))]
mod judge;
#[cfg(feature = "eval")]
pub mod py;
#[cfg(feature = "eval")]
mod render;
#[cfg(any(feature = "eval", feature = "report"))]
mod report;
#[cfg(feature = "eval")]
mod report_eval;
#[cfg(feature = "eval")]
mod run;
#[cfg(feature = "eval")]
mod spec;
#[cfg(feature = "eval")]
mod yaml;
#[cfg(feature = "eval")]
mod yaml_load;

#[cfg(any(feature = "eval", feature = "report"))]
pub use analysis::{
    ConfusionMatrix, LinePlot, LinePlotCurve, LinePlotPoint, LineStep, LineStyle, PrecisionRecall,
    PrecisionRecallCurve, PrecisionRecallPoint, ReportAnalysis, ScalarResult, TableResult,
};
#[cfg(feature = "eval")]
pub use builtin::{Contains, Equals, EqualsExpected, IsInstance, MaxDuration, json_eq, py_repr};
#[cfg(feature = "eval")]
pub use evaluator::{
    BoxError, EvaluationValue, Evaluator, EvaluatorConstructor, EvaluatorContext, EvaluatorFuture,
    EvaluatorOutput, EvaluatorRegistry, FnEvaluator, evaluator_fn, spec_kwargs,
};
#[cfg(feature = "eval")]
pub use file::{FileOptions, Format};
#[cfg(any(feature = "eval", feature = "report"))]
pub use gate::{Gate, GateFailure, GateProblem, Regression, RegressionKind};
#[cfg(all(feature = "eval", feature = "client"))]
pub use judge::{
    DEFAULT_JUDGE_MODEL, JudgeEndpoint, JudgeEndpointBuilder, JudgeUsage, LLMJudge,
    OPENAI_BASE_URL, OutputConfig,
};
#[cfg(feature = "eval")]
pub use py::PyValue;
#[cfg(feature = "eval")]
pub use render::RenderOptions;
#[cfg(any(feature = "eval", feature = "report"))]
pub use report::{
    CaseDiff, CaseSide, DurationStats, EvaluationReport, EvaluationResult, EvaluatorFailure,
    FailureKind, ReportAggregate, ReportCase, ReportCaseFailure, ReportCaseGroup, ReportComparison,
};
#[cfg(feature = "eval")]
pub use report_eval::{
    ConfusionMatrixEvaluator, KolmogorovSmirnovEvaluator, PositiveFrom, PrecisionRecallEvaluator,
    ROCAUCEvaluator, ReportEvaluator, ReportEvaluatorConstructor, ReportEvaluatorContext,
    ReportEvaluatorFuture, ReportEvaluatorRegistry, ScoreFrom, ValueFrom,
};
#[cfg(feature = "eval")]
pub use run::{
    Evaluate, Fallible, Infallible, Rescore, TaskOutput, TaskRetry, increment_metric,
    set_attribute, set_metric,
};
#[cfg(feature = "eval")]
pub use spec::{spec_from_value, spec_to_value};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::case::{Case, decode_field, decode_optional};
use crate::error::{Error, Result};
use crate::wire::{EvaluatorSpec, ExportedCase, ExportedDataset, NewCase};

/// A local dataset of typed cases, in pydantic-evals' shape: a name, cases,
/// dataset-level evaluators and report evaluators.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<I, O = Value, M = Value> {
    /// The dataset's name.
    pub name: Option<String>,
    /// Its cases.
    pub cases: Vec<Case<I, O, M>>,
    /// Evaluators run on every case.
    pub evaluators: Vec<EvaluatorSpec>,
    /// Evaluators run on the whole report.
    pub report_evaluators: Vec<EvaluatorSpec>,
    /// The version of the managed dataset this was exported at, when it
    /// came from `datasets-server`; a report records it.
    pub version: Option<u64>,
}

impl<I, O, M> Dataset<I, O, M> {
    /// A named dataset with these cases and no evaluators.
    pub fn new(name: impl Into<String>, cases: Vec<Case<I, O, M>>) -> Self {
        Self {
            name: Some(name.into()),
            cases,
            evaluators: Vec::new(),
            report_evaluators: Vec::new(),
            version: None,
        }
    }
}

impl<I: DeserializeOwned, O: DeserializeOwned, M: DeserializeOwned> Dataset<I, O, M> {
    /// Decodes an export document. A case that does not fit the types is
    /// [`Error::Decode`] naming the case (by index and name) and the JSON path.
    pub fn from_export(export: ExportedDataset) -> Result<Self> {
        let cases = export
            .cases
            .into_iter()
            .enumerate()
            .map(|(index, case)| {
                let label = match &case.name {
                    Some(name) => format!("case {index} ({name:?})"),
                    None => format!("case {index}"),
                };
                let named = |err: Error| match err {
                    Error::Decode { path, message, .. } => Error::Decode {
                        what: label.clone(),
                        case_id: None,
                        path,
                        message,
                        excerpt: String::new(),
                    },
                    other => other,
                };
                Ok(Case {
                    inputs: decode_field(None, "inputs", case.inputs).map_err(named)?,
                    expected_output: decode_optional(None, "expected_output", case.expected_output)
                        .map_err(named)?,
                    metadata: decode_optional(None, "metadata", case.metadata).map_err(named)?,
                    name: case.name,
                    evaluators: case.evaluators,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            name: export.name,
            cases,
            evaluators: export.evaluators,
            report_evaluators: export.report_evaluators,
            version: export.version,
        })
    }
}

impl<I: Serialize, O: Serialize, M: Serialize> Dataset<I, O, M> {
    /// The cases as wire cases.
    pub fn to_new_cases(&self) -> Result<Vec<NewCase>> {
        self.cases.iter().map(Case::to_new_case).collect()
    }

    /// The dataset as an export document (pydantic-evals' dict shape).
    pub fn to_export(&self) -> Result<ExportedDataset> {
        let cases = self
            .to_new_cases()?
            .into_iter()
            .map(|case| ExportedCase {
                name: case.name,
                inputs: case.inputs,
                metadata: case.metadata,
                expected_output: case.expected_output,
                evaluators: case.evaluators.unwrap_or_default(),
            })
            .collect();
        Ok(ExportedDataset {
            name: self.name.clone(),
            cases,
            evaluators: self.evaluators.clone(),
            report_evaluators: self.report_evaluators.clone(),
            version: self.version,
        })
    }
}

/// The bodies of the fuzz targets over this module (`fuzz/` in the
/// repository), callable from tests that replay the corpus and every crash
/// found. Not a public API.
#[cfg(feature = "eval")]
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;

    use super::{Dataset, Format, PyValue};

    /// Evaluator specs: any JSON either fails to read, or reads into a spec
    /// that writes and reads back to itself.
    pub fn evaluator_spec(data: &[u8]) {
        let Ok(value) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        let Ok(spec) = super::spec_from_value(&value) else {
            return;
        };
        let written = super::spec_to_value(&spec);
        let read = super::spec_from_value(&written).expect("a written spec reads back");
        assert_eq!(read, spec, "{value} wrote {written}");
    }

    /// pydantic-evals files: any text either fails to load with an error,
    /// or loads (by PyYAML's scalar rules, keys in order, integers exact)
    /// into a dataset that writes (YAML and JSON) and loads back to itself.
    /// A non-finite float is compared as JSON writes it (`null`), as
    /// pydantic's JSON does.
    pub fn dataset_file(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        type Untyped = Dataset<PyValue, PyValue, PyValue>;
        let view = |dataset: &Untyped| -> String {
            let cases: Vec<PyValue> = dataset
                .cases
                .iter()
                .map(|case| {
                    PyValue::List(vec![
                        case.name.clone().map_or(PyValue::None, PyValue::Str),
                        case.inputs.clone(),
                        case.expected_output.clone().unwrap_or(PyValue::None),
                        case.metadata.clone().unwrap_or(PyValue::None),
                    ])
                })
                .collect();
            format!(
                "{:?} {:?} {:?} {}",
                dataset.name,
                dataset.evaluators,
                dataset.report_evaluators,
                PyValue::List(cases).to_json_string()
            )
        };
        for format in [Format::Yaml, Format::Json] {
            let Ok(dataset) = Untyped::from_text(text, format) else {
                continue;
            };
            for written_as in [Format::Yaml, Format::Json] {
                let written = dataset
                    .to_text(written_as, None)
                    .expect("a loaded dataset writes");
                let read = Untyped::from_text(&written, written_as).unwrap_or_else(|err| {
                    panic!("{written_as:?} did not load back: {err}\n{written}")
                });
                assert_eq!(
                    view(&read),
                    view(&dataset),
                    "{written_as:?} round trip of\n{text}\nas\n{written}"
                );
            }
        }
    }
}
