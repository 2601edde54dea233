//! The harness's `tracing` spans, in the shape pydantic-evals gives its
//! OpenTelemetry spans through Logfire, so that a `tracing` subscriber that
//! exports to Logfire (or to `datasets-server`'s `/v1/traces`) shows a Rust
//! run as an experiment.
//!
//! pydantic-evals opens `evaluate {name}` around a run and `case: {case_name}`
//! around each case, and Logfire's SDK sends each attribute as a string,
//! boolean or number, or, for anything else, as JSON text described by the
//! span's `logfire.json_schema` (`{}` for a plain value, `{"type": "object"}`
//! for JSON text of an object, and so on). The names and encodings here are
//! those. Nothing is serialized when no subscriber wants the spans: a span
//! that is disabled costs a callsite check.

use serde::Serialize;
use serde_json::{Map, Value, json};
use tracing::Instrument as _;
use tracing::Span;
use tracing::field::Empty;

use super::super::report::{EvaluationReport, ReportCase, ReportCaseFailure};

/// The target of the harness's spans, for filtering.
pub(crate) const TARGET: &str = "datasets::eval";

/// The attributes of one span and the `logfire.json_schema` describing them.
struct Attributes<'s> {
    span: &'s Span,
    properties: Map<String, Value>,
}

impl<'s> Attributes<'s> {
    fn new(span: &'s Span, previous: Map<String, Value>) -> Self {
        Self {
            span,
            properties: previous,
        }
    }

    /// Records a plain value (a string, number or boolean): schema `{}`.
    fn plain(&mut self, key: &'static str, value: impl tracing::Value) {
        self.span.record(key, value);
        self.properties.insert(key.to_owned(), json!({}));
    }

    /// Records `value` as Logfire's SDK would: strings, booleans and
    /// numbers as themselves, anything else as JSON text with its type in
    /// the schema.
    fn json(&mut self, key: &'static str, value: &Value) {
        let schema = match value {
            Value::String(text) => {
                self.span.record(key, text.as_str());
                json!({})
            }
            Value::Bool(flag) => {
                self.span.record(key, *flag);
                json!({})
            }
            Value::Number(number) => {
                match (number.as_i64(), number.as_f64()) {
                    (Some(int), _) => self.span.record(key, int),
                    (None, Some(float)) => self.span.record(key, float),
                    _ => self.span.record(key, number.to_string().as_str()),
                };
                json!({})
            }
            Value::Null => {
                self.span.record(key, "null");
                json!({"type": "null"})
            }
            Value::Array(_) => {
                self.span.record(key, value.to_string().as_str());
                json!({"type": "array"})
            }
            Value::Object(_) => {
                self.span.record(key, value.to_string().as_str());
                json!({"type": "object"})
            }
        };
        self.properties.insert(key.to_owned(), schema);
    }

    /// Writes `logfire.json_schema` and gives the properties back, for
    /// attributes recorded later.
    fn finish(self) -> Map<String, Value> {
        let schema = json!({"type": "object", "properties": self.properties});
        self.span
            .record("logfire.json_schema", schema.to_string().as_str());
        self.properties
    }
}

fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// What the run span needs to know at its start.
pub(crate) struct RunStart<'a> {
    pub(crate) name: &'a str,
    pub(crate) task_name: &'a str,
    pub(crate) dataset_name: Option<&'a str>,
    pub(crate) dataset_version: Option<u64>,
    pub(crate) n_cases: usize,
    pub(crate) repeat: usize,
    pub(crate) metadata: Option<&'a Value>,
}

/// The run's span, `evaluate {name}`, with the attributes pydantic-evals
/// sets when it opens.
pub(crate) struct RunSpan {
    pub(crate) span: Span,
    properties: Map<String, Value>,
    n_cases: usize,
    repeat: usize,
}

impl RunSpan {
    pub(crate) fn open(start: &RunStart<'_>) -> Self {
        let span = tracing::info_span!(
            target: TARGET,
            "evaluate {name}",
            name = Empty,
            task_name = Empty,
            dataset_name = Empty,
            dataset_version = Empty,
            n_cases = Empty,
            gen_ai.operation.name = "experiment",
            metadata = Empty,
            logfire.experiment.repeat = Empty,
            logfire.msg_template = "evaluate {name}",
            logfire.msg = Empty,
            logfire.span_type = "span",
            logfire.json_schema = Empty,
            assertion_pass_rate = Empty,
            logfire.experiment.metadata = Empty,
            logfire.experiment.analyses = Empty,
            logfire.experiment.report_evaluator_failures = Empty,
        );
        let mut properties = Map::new();
        if !span.is_disabled() {
            span.record("logfire.msg", format!("evaluate {}", start.name).as_str());
            let mut attributes = Attributes::new(&span, Map::new());
            attributes.plain("name", start.name);
            attributes.plain("task_name", start.task_name);
            if let Some(dataset) = start.dataset_name {
                attributes.plain("dataset_name", dataset);
            }
            if let Some(version) = start.dataset_version {
                attributes.plain("dataset_version", version as i64);
            }
            attributes.plain("n_cases", start.n_cases as i64);
            attributes.plain("gen_ai.operation.name", "experiment");
            if let Some(metadata) = start.metadata {
                attributes.json("metadata", metadata);
            }
            if start.repeat > 1 {
                attributes.plain("logfire.experiment.repeat", start.repeat as i64);
            }
            properties = attributes.finish();
        }
        Self {
            span,
            properties,
            n_cases: start.n_cases,
            repeat: start.repeat,
        }
    }

    /// The attributes pydantic-evals sets when the run ends: the pass rate
    /// and `logfire.experiment.metadata` with the averages.
    pub(crate) fn close<I, O, M>(self, report: &EvaluationReport<I, O, M>) {
        if self.span.is_disabled() {
            return;
        }
        let mut attributes = Attributes::new(&self.span, self.properties);
        let mut metadata = Map::new();
        metadata.insert("n_cases".into(), json!(self.n_cases));
        if self.repeat > 1 {
            metadata.insert("repeat".into(), json!(self.repeat));
        }
        if let Some(own) = &report.experiment_metadata {
            metadata.insert("metadata".into(), own.clone());
        }
        if let Some(averages) = report.experiment_averages() {
            if let Some(rate) = averages.get("assertions").and_then(Value::as_f64) {
                attributes.plain("assertion_pass_rate", rate);
            }
            metadata.insert("averages".into(), averages);
        }
        attributes.json("logfire.experiment.metadata", &Value::Object(metadata));
        if !report.analyses.is_empty() {
            attributes.json(
                "logfire.experiment.analyses",
                &Value::Array(report.analyses.clone()),
            );
        }
        if !report.report_evaluator_failures.is_empty() {
            attributes.json(
                "logfire.experiment.report_evaluator_failures",
                &Value::Array(report.report_evaluator_failures.clone()),
            );
        }
        attributes.finish();
    }
}

/// A case's span, `case: {case_name}`, a child of the run's.
pub(crate) struct CaseSpan {
    pub(crate) span: Span,
    properties: Map<String, Value>,
}

/// pydantic-evals' evaluation results as its spans hold them: by name, each
/// with `evaluator_version` (which the Rust harness does not have).
fn results<T: Serialize>(
    results: &std::collections::BTreeMap<String, super::super::report::EvaluationResult<T>>,
) -> Value {
    let mut map = Map::new();
    for (name, result) in results {
        let mut value = to_value(result);
        if let Value::Object(fields) = &mut value {
            fields.entry("evaluator_version").or_insert(Value::Null);
        }
        map.insert(name.clone(), value);
    }
    Value::Object(map)
}

impl CaseSpan {
    pub(crate) fn open<I: Serialize, O: Serialize, M: Serialize>(
        parent: &Span,
        task_name: &str,
        case_name: &str,
        source_case_name: Option<&str>,
        case: (&I, Option<&M>, Option<&O>),
    ) -> Self {
        let span = tracing::info_span!(
            target: TARGET,
            parent: parent,
            "case: {case_name}",
            task_name = Empty,
            case_name = Empty,
            inputs = Empty,
            metadata = Empty,
            expected_output = Empty,
            logfire.msg_template = "case: {case_name}",
            logfire.msg = Empty,
            logfire.span_type = "span",
            logfire.json_schema = Empty,
            logfire.level_num = Empty,
            logfire.experiment.source_case_name = Empty,
            logfire.experiment.failure_kind = Empty,
            logfire.experiment.attempts = Empty,
            output = Empty,
            task_duration = Empty,
            metrics = Empty,
            attributes = Empty,
            assertions = Empty,
            scores = Empty,
            labels = Empty,
            evaluator_failures = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
        );
        let mut properties = Map::new();
        if !span.is_disabled() {
            span.record("logfire.msg", format!("case: {case_name}").as_str());
            let mut attributes = Attributes::new(&span, Map::new());
            attributes.plain("task_name", task_name);
            attributes.plain("case_name", case_name);
            attributes.json("inputs", &to_value(case.0));
            attributes.json("metadata", &to_value(&case.1));
            attributes.json("expected_output", &to_value(&case.2));
            if let Some(source) = source_case_name {
                attributes.plain("logfire.experiment.source_case_name", source);
            }
            properties = attributes.finish();
        }
        Self { span, properties }
    }

    /// What pydantic-evals records on a case that ran.
    pub(crate) fn succeeded<I, O: Serialize, M>(self, case: &ReportCase<I, O, M>) {
        if self.span.is_disabled() {
            return;
        }
        let mut attributes = Attributes::new(&self.span, self.properties);
        attributes.json("output", &to_value(&case.output));
        attributes.plain("task_duration", case.task_duration.as_secs_f64());
        attributes.json("metrics", &to_value(&case.metrics));
        attributes.json("attributes", &to_value(&case.attributes));
        attributes.json("assertions", &results(&case.assertions));
        attributes.json("scores", &results(&case.scores));
        attributes.json("labels", &results(&case.labels));
        if case.attempts > 1 {
            attributes.plain("logfire.experiment.attempts", i64::from(case.attempts));
        }
        if !case.evaluator_failures.is_empty() {
            attributes.json("evaluator_failures", &to_value(&case.evaluator_failures));
        }
        attributes.finish();
    }

    /// What pydantic-evals' `record_exception` leaves on a case whose task
    /// failed: an `exception` event and the error status.
    pub(crate) fn failed<I, O, M>(self, failure: &ReportCaseFailure<I, O, M>) {
        let Self { span, properties } = self;
        if span.is_disabled() {
            return;
        }
        let kind = failure.kind.to_string();
        span.record("logfire.level_num", 17i64);
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_description", failure.error_message.as_str());
        let mut attributes = Attributes::new(&span, properties);
        attributes.plain("logfire.experiment.failure_kind", kind.as_str());
        if failure.attempts > 1 {
            attributes.plain("logfire.experiment.attempts", i64::from(failure.attempts));
        }
        attributes.finish();
        tracing::event!(
            target: TARGET,
            parent: &span,
            tracing::Level::ERROR,
            exception.message = failure.error_message.as_str(),
            "exception.type" = kind.as_str(),
            exception.escaped = "True",
            "exception"
        );
    }
}

impl<I, O, M, F, Fut, Mk> super::Evaluate<'_, I, O, M, F, Mk>
where
    I: Clone + Serialize + Send + Sync + 'static,
    O: Clone + Serialize + Send + Sync + 'static,
    M: Clone + Serialize + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync,
    Fut: std::future::Future + Send,
    Fut::Output: super::TaskOutput<O, Mk>,
{
    /// One run of a case inside its `case: {case_name}` span.
    pub(super) async fn traced_case(
        &self,
        run: &super::Run,
        plan: &super::Plan<I, O, M>,
        parent: &tracing::Span,
        task_name: &str,
    ) -> super::Outcome<I, O, M> {
        let case = &self.dataset.cases[run.case];
        let span = CaseSpan::open(
            parent,
            task_name,
            &run.name,
            run.source_case_name.as_deref(),
            (
                &case.inputs,
                case.metadata.as_ref(),
                case.expected_output.as_ref(),
            ),
        );
        let outcome = self.run_case(run, plan).instrument(span.span.clone()).await;
        match &outcome {
            super::Outcome::Case(case) => span.succeeded(case),
            super::Outcome::Failure(failure) => span.failed(failure),
        }
        outcome
    }
}
