//! Experiments (an addition to the protocol): evaluation runs stored by
//! `datasets-server`, from OpenTelemetry spans in pydantic-evals' shape or
//! from a finished report.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Timestamp;

/// How an experiment reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentSource {
    /// Spans sent to `POST /v1/traces` (pydantic-evals through Logfire's
    /// SDK, or the Rust harness through an OTLP exporter).
    Spans,
    /// A finished report sent to `POST /v1/experiments/`.
    Report,
}

/// The body of `POST /v1/experiments/`: a report as
/// `EvaluationReport::to_json` writes it (its `averages` are ignored: the
/// server computes them), with the dataset it ran on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewExperiment {
    /// The experiment's name.
    pub name: String,
    /// The managed dataset it ran on, by name or id: it must exist, and the
    /// experiment records its id and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The dataset's name as the report has it, when `dataset` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// The dataset version it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_version: Option<u64>,
    /// The task's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The experiment's metadata (pydantic-evals' `metadata=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Runs whose task succeeded, as the report writes them.
    #[serde(default)]
    pub cases: Vec<Value>,
    /// Runs whose task failed, as the report writes them.
    #[serde(default)]
    pub failures: Vec<Value>,
    /// Report evaluators' analyses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<Value>,
    /// Report evaluators that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub report_evaluator_failures: Vec<Value>,
    /// When the run started; the server's clock when absent.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<Timestamp>,
    /// When it ended; `started_at` plus the longest case when absent.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_at: Option<Timestamp>,
}

/// A stored experiment, as lists and reads give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its id.
    pub id: Uuid,
    /// Its name (pydantic-evals' `name`, the task's name by default).
    pub name: String,
    /// The task's name.
    #[serde(default)]
    pub task_name: Option<String>,
    /// The dataset's name as the run gave it.
    #[serde(default)]
    pub dataset_name: Option<String>,
    /// The managed dataset's id, when the run named one of the project's
    /// datasets. It stays when that dataset is deleted.
    #[serde(default)]
    pub dataset_id: Option<Uuid>,
    /// The dataset version the run used, when known.
    #[serde(default)]
    pub dataset_version: Option<u64>,
    /// How it reached the server.
    pub source: ExperimentSource,
    /// The OpenTelemetry trace of the run (made up for a posted report).
    pub trace_id: String,
    /// The run's span in that trace.
    pub span_id: String,
    /// The experiment's metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// How many cases the dataset had (before repeats).
    #[serde(default)]
    pub n_cases: Option<u64>,
    /// How many times each case ran, when more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u64>,
    /// The share of assertions that passed, when there were any.
    #[serde(default)]
    pub assertion_pass_rate: Option<f64>,
    /// pydantic-evals' averages: `{name, scores, labels, metrics,
    /// assertions, task_duration, total_duration}`.
    #[serde(default)]
    pub averages: Option<Value>,
    /// Report evaluators' analyses.
    #[serde(default)]
    pub analyses: Vec<Value>,
    /// Report evaluators that failed.
    #[serde(default)]
    pub report_evaluator_failures: Vec<Value>,
    /// When the run started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: Timestamp,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: Timestamp,
    /// When the server stored it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    /// The API key that stored it.
    #[serde(default)]
    pub created_by: Option<Uuid>,
}

/// `GET /v1/experiments/{id}/`: the experiment with (a page of) its case
/// results, each in the JSON shape of the report's `cases` or `failures`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentDetail {
    /// The experiment.
    #[serde(flatten)]
    pub experiment: Experiment,
    /// How many runs succeeded, in all pages.
    #[serde(default)]
    pub case_count: u64,
    /// How many runs failed, in all pages.
    #[serde(default)]
    pub failure_count: u64,
    /// Successful runs (of this page).
    #[serde(default)]
    pub cases: Vec<Value>,
    /// Failed runs (of this page).
    #[serde(default)]
    pub failures: Vec<Value>,
}
