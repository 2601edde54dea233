//! What both stores keep of experiments, and how spans and posted reports
//! become it.
//!
//! An experiment is a run row (the `evaluate {name}` span, or a posted
//! report) and case rows (one `case: {case_name}` span, or one entry of the
//! report's `cases` or `failures`, each). Case rows are keyed by their trace
//! and parent span, not by the run's row: a run's spans may arrive in any
//! order, over several batches and at different replicas, and the parent
//! span usually last, so rows are upserted as they come and the run is
//! assembled when it is read. Case rows whose run never arrives are never
//! listed.

use datasets_core::eval::{EvaluationReport, ReportCase, ReportCaseFailure};
use datasets_core::wire::{
    Experiment, ExperimentSource, LocSegment, NewExperiment, Timestamp, ValidationIssue,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use serde_path_to_error::Segment;
use uuid::Uuid;

use crate::otlp::Span;

/// The summary fields of a run kept as one JSON document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDoc {
    /// The experiment's metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Cases in the dataset.
    #[serde(default)]
    pub n_cases: Option<u64>,
    /// Runs per case.
    #[serde(default)]
    pub repeat: Option<u64>,
    /// Assertion pass rate.
    #[serde(default)]
    pub assertion_pass_rate: Option<f64>,
    /// pydantic-evals' averages.
    #[serde(default)]
    pub averages: Option<Value>,
    /// Analyses.
    #[serde(default)]
    pub analyses: Vec<Value>,
    /// Report evaluator failures.
    #[serde(default)]
    pub report_evaluator_failures: Vec<Value>,
}

/// A run's row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Trace id (hex).
    pub trace_id: String,
    /// Span id (hex).
    pub span_id: String,
    /// Where it came from.
    pub source: ExperimentSource,
    /// The experiment's name.
    pub name: String,
    /// The task's name.
    pub task_name: Option<String>,
    /// The dataset: an id or name to resolve (a posted report's `dataset`),
    /// else by `dataset_name` if the project has such a dataset.
    pub dataset: Option<String>,
    /// The dataset's name as the run gave it.
    pub dataset_name: Option<String>,
    /// The dataset version.
    pub dataset_version: Option<i64>,
    /// The rest.
    pub doc: RunDoc,
    /// Start.
    pub started_at: Timestamp,
    /// End.
    pub ended_at: Timestamp,
}

/// A case result's row.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    /// Trace id (hex).
    pub trace_id: String,
    /// The run's span id.
    pub parent_span_id: String,
    /// The case's own span id.
    pub span_id: String,
    /// Its place in the run: the span's start, or the report's order.
    pub seq: i64,
    /// Whether the task failed (the body is a `ReportCaseFailure`).
    pub failed: bool,
    /// The case result as the report's JSON writes it.
    pub body: String,
}

/// What a trace body holds for the store.
#[derive(Debug, Default)]
pub struct SpanRows {
    /// Runs.
    pub runs: Vec<RunRow>,
    /// Case results.
    pub cases: Vec<CaseRow>,
    /// Spans that are not experiment spans, or pending-span copies, or
    /// experiment spans whose attributes do not read as a case result.
    pub dropped: usize,
}

/// A stored run with its summary, as a store reads it.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// The run.
    pub row: RunRow,
    /// Its id.
    pub id: Uuid,
    /// The managed dataset's id.
    pub dataset_id: Option<Uuid>,
    /// When stored.
    pub created_at: Timestamp,
    /// By which key.
    pub created_by: Option<Uuid>,
}

impl StoredRun {
    /// The wire form.
    pub fn to_wire(&self) -> Experiment {
        let row = &self.row;
        Experiment {
            id: self.id,
            name: row.name.clone(),
            task_name: row.task_name.clone(),
            dataset_name: row.dataset_name.clone(),
            dataset_id: self.dataset_id,
            dataset_version: row.dataset_version.and_then(|v| u64::try_from(v).ok()),
            source: row.source,
            trace_id: row.trace_id.clone(),
            span_id: row.span_id.clone(),
            metadata: row.doc.metadata.clone(),
            n_cases: row.doc.n_cases,
            repeat: row.doc.repeat,
            assertion_pass_rate: row.doc.assertion_pass_rate,
            averages: row.doc.averages.clone(),
            analyses: row.doc.analyses.clone(),
            report_evaluator_failures: row.doc.report_evaluator_failures.clone(),
            started_at: row.started_at,
            ended_at: row.ended_at,
            created_at: self.created_at,
            created_by: self.created_by,
        }
    }
}

/// A page of experiments, newest first.
#[derive(Debug, Clone)]
pub struct ExperimentPage {
    /// The experiments.
    pub experiments: Vec<Experiment>,
    /// The position to go on after, when there may be more.
    pub next: Option<i64>,
}

impl ExperimentPage {
    /// A page of the runs read (`(position, run)`, one more than `limit`
    /// when more follow).
    pub fn of(mut runs: Vec<(i64, StoredRun)>, limit: usize) -> Self {
        let more = runs.len() > limit;
        runs.truncate(limit);
        Self {
            next: more.then(|| runs.last().map(|(pk, _)| *pk)).flatten(),
            experiments: runs.iter().map(|(_, run)| run.to_wire()).collect(),
        }
    }
}

/// A page of one experiment's case results.
#[derive(Debug, Clone)]
pub struct ExperimentCases {
    /// The experiment.
    pub experiment: Experiment,
    /// Runs that succeeded, in all pages.
    pub case_count: u64,
    /// Runs that failed, in all pages.
    pub failure_count: u64,
    /// This page's rows: (failed, body).
    pub rows: Vec<(bool, String)>,
    /// The position to go on after, when there may be more.
    pub next: Option<(i64, i64)>,
}

impl ExperimentCases {
    /// A page of the case rows read (`(seq, pk, failed, body)`, one more
    /// than `limit` when more follow), with the run and its counts.
    pub fn of(
        run: &StoredRun,
        (case_count, failure_count): (u64, u64),
        mut rows: Vec<(i64, i64, bool, String)>,
        limit: usize,
    ) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        Self {
            experiment: run.to_wire(),
            case_count,
            failure_count,
            next: more
                .then(|| rows.last().map(|(seq, pk, _, _)| (*seq, *pk)))
                .flatten(),
            rows: rows
                .into_iter()
                .map(|(_, _, failed, body)| (failed, body))
                .collect(),
        }
    }
}

/// How a run is stored in the `source` column.
pub fn source_text(source: ExperimentSource) -> &'static str {
    match source {
        ExperimentSource::Spans => "spans",
        ExperimentSource::Report => "report",
    }
}

/// A stored `source` column (anything but `report` reads as spans).
pub fn source_of(text: &str) -> ExperimentSource {
    if text == "report" {
        ExperimentSource::Report
    } else {
        ExperimentSource::Spans
    }
}

/// How experiments are listed: all, or one dataset's (by id when the
/// filter is a UUID, else by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentFilter {
    /// Every experiment of the project.
    All,
    /// Those that ran on the dataset with this id.
    DatasetId(Uuid),
    /// Those that ran on a dataset with this name.
    DatasetName(String),
}

impl ExperimentFilter {
    /// The filter `?dataset=` names.
    pub fn of(dataset: Option<&str>) -> Self {
        match dataset {
            None => Self::All,
            Some(text) => match Uuid::try_parse(text) {
                Ok(id) => Self::DatasetId(id),
                Err(_) => Self::DatasetName(text.to_owned()),
            },
        }
    }
}

fn time_of(ns: u64) -> Timestamp {
    Timestamp::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Reads a span's attributes as Logfire's SDK wrote them: a string that
/// `logfire.json_schema` describes with a non-empty schema is JSON text.
struct Attributes<'s> {
    span: &'s Span,
    schema: Option<Map<String, Value>>,
}

/// Attributes that hold JSON text even without a schema saying so.
const ALWAYS_JSON: &[&str] = &[
    "metrics",
    "attributes",
    "assertions",
    "scores",
    "labels",
    "evaluator_failures",
    "logfire.experiment.metadata",
    "logfire.experiment.analyses",
    "logfire.experiment.report_evaluator_failures",
];

impl<'s> Attributes<'s> {
    fn of(span: &'s Span) -> Self {
        let schema = span
            .attribute("logfire.json_schema")
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|schema| match schema.get("properties") {
                Some(Value::Object(properties)) => Some(properties.clone()),
                _ => None,
            });
        Self { span, schema }
    }

    fn get(&self, key: &str) -> Option<Value> {
        let raw = self.span.attribute(key)?;
        let Value::String(text) = raw else {
            return Some(raw.clone());
        };
        let described = match &self.schema {
            Some(properties) => properties
                .get(key)
                .and_then(Value::as_object)
                .is_some_and(|schema| !schema.is_empty()),
            None => false,
        };
        // JSON text is held to a request body's limits (nesting, keys,
        // numbers): what does not pass stays the text it was, so no stored
        // value can make a read fail.
        if (described || ALWAYS_JSON.contains(&key))
            && crate::json_guard::check(text.as_bytes()).is_ok()
            && let Ok(value) = serde_json::from_str(text)
        {
            return Some(value);
        }
        Some(raw.clone())
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.span.attribute(key)? {
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.span.attribute(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }
}

/// Sorts a body's spans into runs and case results, dropping the rest.
pub fn rows_of_spans(spans: &[Span]) -> SpanRows {
    let mut rows = SpanRows::default();
    for span in spans {
        match row_of_span(span) {
            Some(Row::Run(run)) => rows.runs.push(*run),
            Some(Row::Case(case)) => rows.cases.push(case),
            None => rows.dropped += 1,
        }
    }
    rows
}

enum Row {
    Run(Box<RunRow>),
    Case(CaseRow),
}

fn row_of_span(span: &Span) -> Option<Row> {
    let valid_ids = span.trace_id.len() == 32 && span.span_id.len() == 16;
    if !valid_ids || span.attribute("logfire.span_type") == Some(&json!("pending_span")) {
        return None;
    }
    let attributes = Attributes::of(span);
    if span.attribute("gen_ai.operation.name") == Some(&json!("experiment")) {
        return Some(Row::Run(Box::new(run_of_span(span, &attributes))));
    }
    let template = span
        .attribute("logfire.msg_template")
        .and_then(Value::as_str);
    let is_case = template == Some("case: {case_name}") || span.name.starts_with("case: ");
    if is_case && span.attribute("case_name").is_some() && span.parent_span_id.len() == 16 {
        return case_of_span(span, &attributes).map(Row::Case);
    }
    None
}

fn run_of_span(span: &Span, attributes: &Attributes<'_>) -> RunRow {
    let experiment = attributes
        .get("logfire.experiment.metadata")
        .unwrap_or(Value::Null);
    let list = |key: &str| match attributes.get(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let name = attributes.text("name").unwrap_or_else(|| {
        span.name
            .strip_prefix("evaluate ")
            .unwrap_or(&span.name)
            .to_owned()
    });
    RunRow {
        trace_id: span.trace_id.clone(),
        span_id: span.span_id.clone(),
        source: ExperimentSource::Spans,
        name,
        task_name: attributes.text("task_name"),
        dataset: None,
        dataset_name: attributes.text("dataset_name"),
        dataset_version: attributes.int("dataset_version").filter(|v| *v > 0),
        doc: RunDoc {
            metadata: attributes
                .get("metadata")
                .or_else(|| experiment.get("metadata").cloned()),
            n_cases: attributes
                .int("n_cases")
                .and_then(|n| u64::try_from(n).ok())
                .or_else(|| experiment.get("n_cases").and_then(Value::as_u64)),
            repeat: attributes
                .int("logfire.experiment.repeat")
                .and_then(|n| u64::try_from(n).ok())
                .or_else(|| experiment.get("repeat").and_then(Value::as_u64)),
            assertion_pass_rate: span
                .attribute("assertion_pass_rate")
                .and_then(Value::as_f64),
            averages: experiment.get("averages").cloned(),
            analyses: list("logfire.experiment.analyses"),
            report_evaluator_failures: list("logfire.experiment.report_evaluator_failures"),
        },
        started_at: time_of(span.start_ns),
        ended_at: time_of(span.end_ns.max(span.start_ns)),
    }
}

fn case_of_span(span: &Span, attributes: &Attributes<'_>) -> Option<CaseRow> {
    let seconds = span.end_ns.saturating_sub(span.start_ns) as f64 / 1e9;
    let get = |key: &str| attributes.get(key).unwrap_or(Value::Null);
    let exception = span
        .events
        .iter()
        .find(|(name, _)| name == "exception")
        .map(|(_, attrs)| attrs);
    let event_text = |key: &str| {
        exception
            .and_then(|attrs| attrs.iter().find(|(k, _)| k == key))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    let failed =
        span.attribute("output").is_none() && (exception.is_some() || span.status_code == 2);
    let mut body = Map::new();
    body.insert("name".into(), json!(attributes.text("case_name")?));
    body.insert(
        "source_case_name".into(),
        json!(attributes.text("logfire.experiment.source_case_name")),
    );
    body.insert("inputs".into(), get("inputs"));
    body.insert("metadata".into(), get("metadata"));
    body.insert("expected_output".into(), get("expected_output"));
    body.insert("total_duration".into(), json!(seconds));
    if let Some(attempts) = attributes.int("logfire.experiment.attempts") {
        body.insert("attempts".into(), json!(attempts));
    }
    let body = if failed {
        let message =
            event_text("exception.message").unwrap_or_else(|| span.status_message.clone());
        let (kind, message) = match attributes.text("logfire.experiment.failure_kind") {
            Some(kind) => (kind, message),
            // pydantic-evals' `f'{type(exc).__name__}: {exc}'`.
            None => match event_text("exception.type") {
                Some(kind) => ("error".to_owned(), format!("{kind}: {message}")),
                None => ("error".to_owned(), message),
            },
        };
        body.insert("kind".into(), json!(kind));
        body.insert("error_message".into(), json!(message));
        let body = Value::Object(body);
        serde_json::from_value::<ReportCaseFailure>(body.clone()).ok()?;
        body
    } else {
        for key in [
            "output",
            "metrics",
            "attributes",
            "scores",
            "labels",
            "assertions",
        ] {
            body.insert(key.into(), get(key));
        }
        for key in ["metrics", "attributes", "scores", "labels", "assertions"] {
            if body[key].is_null() {
                body.insert(key.into(), json!({}));
            }
        }
        body.insert("task_duration".into(), get("task_duration"));
        if let Some(Value::Array(failures)) = attributes.get("evaluator_failures") {
            body.insert("evaluator_failures".into(), Value::Array(failures));
        }
        let body = Value::Object(body);
        let case = serde_json::from_value::<ReportCase>(body.clone()).ok()?;
        serde_json::to_value(case).ok()?
    };
    Some(CaseRow {
        trace_id: span.trace_id.clone(),
        parent_span_id: span.parent_span_id.clone(),
        span_id: span.span_id.clone(),
        seq: i64::try_from(span.start_ns).unwrap_or(i64::MAX),
        failed,
        body: body.to_string(),
    })
}

/// Random hex digits: a made-up trace or span id for a posted report.
fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

/// A posted report as rows, each case checked: a case that does not read
/// as the report's JSON is a 422 naming it (`["body", "cases", i, ...]`).
pub fn rows_of_report(
    new: NewExperiment,
    now: Timestamp,
) -> Result<(RunRow, Vec<CaseRow>), Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    if new.name.trim().is_empty() {
        issues.push(ValidationIssue::new(
            vec!["body".into(), "name".into()],
            "an experiment needs a name",
            "invalid_name",
        ));
    }
    let mut report = EvaluationReport::<Value, Value, Value> {
        name: new.name.clone(),
        dataset_name: new.dataset_name.clone(),
        dataset_version: new.dataset_version,
        cases: Vec::new(),
        failures: Vec::new(),
        task_name: new.task_name.clone(),
        experiment_metadata: new.metadata.clone(),
        analyses: new.analyses.clone(),
        report_evaluator_failures: new.report_evaluator_failures.clone(),
        trace_id: None,
        span_id: None,
    };
    fn read<T: serde::de::DeserializeOwned>(
        list: &'static str,
        index: usize,
        value: &Value,
        issues: &mut Vec<ValidationIssue>,
    ) -> Option<T> {
        let text = value.to_string();
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        match serde_path_to_error::deserialize(&mut deserializer) {
            Ok(item) => Some(item),
            Err(err) => {
                let mut loc: Vec<LocSegment> = vec!["body".into(), list.into(), index.into()];
                for segment in err.path().iter() {
                    match segment {
                        Segment::Seq { index } => loc.push((*index).into()),
                        Segment::Map { key } => loc.push(key.as_str().into()),
                        Segment::Enum { variant } => loc.push(variant.as_str().into()),
                        Segment::Unknown => {}
                    }
                }
                let message = err.inner().to_string();
                let message = message.split(" at line ").next().unwrap_or(&message);
                issues.push(ValidationIssue::new(loc, message, "invalid_case_result"));
                None
            }
        }
    }
    for (index, case) in new.cases.iter().enumerate() {
        if let Some(case) = read::<ReportCase>("cases", index, case, &mut issues) {
            report.cases.push(case);
        }
    }
    for (index, failure) in new.failures.iter().enumerate() {
        if let Some(failure) = read::<ReportCaseFailure>("failures", index, failure, &mut issues) {
            report.failures.push(failure);
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let trace_id = random_hex(16);
    let span_id = random_hex(8);
    let longest = report
        .cases
        .iter()
        .map(|c| c.total_duration)
        .chain(report.failures.iter().map(|f| f.total_duration))
        .max()
        .unwrap_or_default();
    let ended_at = new.ended_at.unwrap_or(now);
    let started_at = new.started_at.unwrap_or(ended_at - longest);
    let groups = report.case_groups().len() as u64;
    let runs = (report.cases.len() + report.failures.len()) as u64;
    let repeated = report.cases.iter().any(|c| c.source_case_name.is_some())
        || report.failures.iter().any(|f| f.source_case_name.is_some());
    let averages = report.experiment_averages();
    let mut cases: Vec<CaseRow> = Vec::with_capacity(runs as usize);
    for (seq, case) in report.cases.iter().enumerate() {
        cases.push(case_row(&trace_id, &span_id, seq, false, json_text(case)));
    }
    let first_failure = report.cases.len();
    for (seq, failure) in report.failures.iter().enumerate() {
        cases.push(case_row(
            &trace_id,
            &span_id,
            first_failure + seq,
            true,
            json_text(failure),
        ));
    }
    let run = RunRow {
        trace_id,
        span_id,
        source: ExperimentSource::Report,
        name: new.name,
        task_name: new.task_name,
        dataset: new.dataset,
        dataset_name: new.dataset_name,
        dataset_version: new.dataset_version.and_then(|v| i64::try_from(v).ok()),
        doc: RunDoc {
            metadata: new.metadata,
            n_cases: Some(groups),
            repeat: (repeated && groups > 0).then(|| runs.div_ceil(groups)),
            assertion_pass_rate: averages
                .as_ref()
                .and_then(|a| a.get("assertions"))
                .and_then(Value::as_f64),
            averages,
            analyses: new.analyses,
            report_evaluator_failures: new.report_evaluator_failures,
        },
        started_at,
        ended_at,
    };
    Ok((run, cases))
}

fn case_row(trace_id: &str, span_id: &str, seq: usize, failed: bool, body: String) -> CaseRow {
    CaseRow {
        trace_id: trace_id.to_owned(),
        parent_span_id: span_id.to_owned(),
        span_id: format!("{seq:016x}"),
        seq: seq as i64,
        failed,
        body,
    }
}

/// A value as compact JSON text.
fn json_text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// A stored case result, or `null` when what is stored no longer reads as
/// JSON (it was checked when written; this keeps reads robust).
pub fn stored_body(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A stored run document, or the default when it no longer reads.
pub fn stored_doc(text: &str) -> RunDoc {
    serde_json::from_str(text).unwrap_or_default()
}
