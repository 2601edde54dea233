//! Experiments: a Rust run recorded by `report.record` and sent as spans
//! over OTLP gives the same stored experiment; stored runs list, read in
//! pages, compare as `EvaluationReport::compare` does locally, and delete;
//! the harness's spans have pydantic-evals' attribute names and shapes; a
//! Python pydantic-evals run through the real `logfire` SDK lands in the
//! server; bad OTLP bodies and keys are refused and store nothing.

#[path = "support/interop.rs"]
mod interop;
mod support;

use std::collections::BTreeMap;
use std::io::Write as _;

use datasets::eval::{
    Dataset, EvaluationReport, EvaluationValue, EvaluatorContext, EvaluatorOutput, evaluator_fn,
};
use datasets::wire::{EvaluatorSpec, Experiment, ExperimentSource};
use datasets::{Case, DatasetsClient, Error};
use datasets_server::EmbeddedServer;
use datasets_server::auth::Scopes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use serde_json::{Value, json};

type Qa = Dataset<Value, String, Value>;

/// The Python script's dataset (`interop/experiments.py`), in Rust.
fn qa(name: &str) -> Qa {
    let mut dataset = Dataset::new(
        name,
        vec![
            Case::new(json!({"question": "paris"}))
                .name("capital")
                .expected_output("PARIS".to_owned())
                .metadata(json!({"topic": "geo"})),
            Case::new(json!({"question": "rome"}))
                .name("wrong")
                .expected_output("MILAN".to_owned())
                .metadata(json!({"topic": "geo"})),
            Case::new(json!({"question": "boom"}))
                .name("boom")
                .expected_output("BOOM".to_owned()),
        ],
    );
    dataset.evaluators = vec![
        EvaluatorSpec::new("EqualsExpected"),
        EvaluatorSpec::with_arguments("IsInstance", json!(["str"])),
    ];
    dataset
}

fn length(ctx: &EvaluatorContext<Value, String, Value>) -> EvaluatorOutput {
    let size = if ctx.output.len() < 4 {
        "short"
    } else {
        "long"
    };
    EvaluatorOutput::none()
        .and("length", EvaluationValue::Score(ctx.output.len() as f64))
        .and("size", size.into())
}

async fn answer(inputs: Value) -> Result<String, String> {
    let question = inputs["question"].as_str().unwrap_or_default();
    if question == "boom" {
        return Err("the task failed".to_owned());
    }
    Ok(question.to_uppercase())
}

async fn run(dataset: &Qa, model: &str) -> EvaluationReport<Value, String, Value> {
    dataset
        .evaluate(answer)
        .name("upper")
        .evaluator(evaluator_fn("Length", length))
        .metadata(json!({"model": model}))
        .max_concurrency(1)
        .progress(false)
        .await
}

fn client(server: &EmbeddedServer) -> DatasetsClient {
    support::client(server)
}

/// A report with durations zeroed, for comparing runs of one task.
fn without_durations(report: &EvaluationReport<Value, String, Value>) -> Value {
    let mut value = serde_json::to_value(report).unwrap();
    for list in ["cases", "failures"] {
        for case in value[list].as_array_mut().unwrap() {
            for key in ["task_duration", "total_duration"] {
                if case.get(key).is_some() {
                    case[key] = json!(0.0);
                }
            }
        }
    }
    value["trace_id"] = Value::Null;
    value["span_id"] = Value::Null;
    value
}

#[tokio::test]
async fn a_recorded_run_lists_reads_in_pages_compares_and_deletes() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let created = client.create_dataset("qa-experiments").await.unwrap();
    let dataset = qa("qa-experiments");
    client
        .add_cases("qa-experiments", dataset.to_new_cases().unwrap())
        .await
        .unwrap();
    let exported =
        Dataset::from_export(client.export_dataset("qa-experiments").await.unwrap()).unwrap();
    let mut exported: Qa = exported;
    exported.evaluators = dataset.evaluators.clone();
    assert_eq!(exported.version, Some(2));

    let first = run(&exported, "upper-v1").await;
    let stored = first.record(&client).await.unwrap();
    assert_eq!(stored.name, "upper");
    assert_eq!(stored.source, ExperimentSource::Report);
    assert_eq!(stored.dataset_id, Some(created.id));
    assert_eq!(stored.dataset_name.as_deref(), Some("qa-experiments"));
    assert_eq!(stored.dataset_version, Some(2));
    assert_eq!(stored.metadata, Some(json!({"model": "upper-v1"})));
    assert_eq!(stored.n_cases, Some(3));
    // 2 successful runs x 3 assertions (EqualsExpected, IsInstance): 3 of 4 pass.
    assert_eq!(stored.assertion_pass_rate, Some(0.75));
    assert_eq!(
        stored.averages.as_ref().unwrap()["labels"]["size"],
        json!({"long": 1.0})
    );

    // Read back whole, it is the report again.
    let detail = client.get_experiment(stored.id).await.unwrap();
    assert_eq!((detail.case_count, detail.failure_count), (2, 1));
    let back: EvaluationReport<Value, String, Value> =
        EvaluationReport::from_experiment(&detail).unwrap();
    assert_eq!(without_durations(&back), without_durations(&first));
    assert_eq!(back.cases[0].task_duration, first.cases[0].task_duration);

    // Paged by hand: one case result a page, in the report's order.
    let http = reqwest::Client::new();
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!(
            "{}/v1/experiments/{}/?limit=1",
            server.base_url(),
            stored.id
        );
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = http
            .get(url)
            .bearer_auth(server.api_key())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        cursor = response
            .headers()
            .get("next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = response.json().await.unwrap();
        let items: Vec<&Value> = page["cases"]
            .as_array()
            .unwrap()
            .iter()
            .chain(page["failures"].as_array().unwrap())
            .collect();
        assert_eq!(items.len(), 1, "{page}");
        names.push(items[0]["name"].as_str().unwrap().to_owned());
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(names, ["capital", "wrong", "boom"]);

    // A second run, compared with the first: on the server as locally.
    let mut changed = exported.clone();
    changed.cases[1].expected_output = Some("ROME".to_owned());
    let second = run(&changed, "upper-v2").await;
    let second_stored = second
        .record(&client)
        .dataset(created.id.to_string())
        .await
        .unwrap();
    let remote = client
        .compare_experiments(stored.id, second_stored.id)
        .await
        .unwrap();
    let local = second.compare(&first);
    assert_eq!(
        serde_json::to_value(&remote).unwrap()["cases"],
        serde_json::to_value(&local).unwrap()["cases"]
    );
    assert_eq!(remote.pass_rate_delta(), Some(0.25));
    assert_eq!(remote.current.assertions, local.current.assertions);
    assert_eq!(
        remote.case("wrong").unwrap().changed_assertions(),
        vec![("EqualsExpected".to_owned(), Some(false), Some(true))]
    );

    // Listed newest first, by dataset name or id, and paged.
    let all = client.list_experiments().await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        [second_stored.id, stored.id]
    );
    let by_id = client
        .list_experiments()
        .dataset(created.id.to_string())
        .await
        .unwrap();
    assert_eq!(by_id.len(), 2);
    assert!(
        client
            .list_experiments()
            .dataset("another-dataset")
            .await
            .unwrap()
            .is_empty()
    );
    let newest = client.list_experiments().limit(1).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].id, second_stored.id);

    // Deleting the dataset keeps its experiments; deleting one removes it.
    client.delete_dataset("qa-experiments").await.unwrap();
    let kept: Experiment = client.get_experiment(stored.id).await.unwrap().experiment;
    assert_eq!(kept.dataset_id, Some(created.id));
    client.delete_experiment(stored.id).await.unwrap();
    let gone = client.get_experiment(stored.id).await.unwrap_err();
    assert!(
        matches!(&gone, Error::ExperimentNotFound { experiment: Some(id), .. } if *id == stored.id.to_string()),
        "{gone:?}"
    );
    assert_eq!(client.list_experiments().await.unwrap().len(), 1);
}

#[tokio::test]
async fn experiments_belong_to_a_project_and_posts_are_checked_and_idempotent() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let report = run(&qa("qa-experiments"), "m").await;
    let stored = report.record(&client).await.unwrap();
    // No managed dataset of that name: the name is kept, no id.
    assert_eq!(stored.dataset_id, None);
    assert_eq!(stored.dataset_name.as_deref(), Some("qa-experiments"));

    let other = server.create_key("elsewhere", Scopes::READ_WRITE).unwrap();
    let other = DatasetsClient::builder()
        .api_key(other)
        .base_url(server.base_url())
        .build()
        .unwrap();
    assert!(other.list_experiments().await.unwrap().is_empty());
    assert!(matches!(
        other.get_experiment(stored.id).await.unwrap_err(),
        Error::ExperimentNotFound { .. }
    ));
    assert!(matches!(
        other.delete_experiment(stored.id).await.unwrap_err(),
        Error::ExperimentNotFound { .. }
    ));
    let reader = server.create_key("default", Scopes::READ_ONLY).unwrap();
    let reader = DatasetsClient::builder()
        .api_key(reader)
        .base_url(server.base_url())
        .build()
        .unwrap();
    assert_eq!(reader.list_experiments().await.unwrap().len(), 1);
    assert_eq!(
        report.record(&reader).await.unwrap_err().status(),
        Some(403)
    );

    // A named dataset must exist.
    let missing = report
        .record(&client)
        .dataset("no-such-dataset")
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::DatasetNotFound { .. }),
        "{missing:?}"
    );

    // A case result that does not read is a 422 naming it; nothing is stored.
    let http = reqwest::Client::new();
    let url = format!("{}/v1/experiments/", server.base_url());
    let mut body = serde_json::to_value(report.to_new_experiment().unwrap()).unwrap();
    body["cases"][1]["scores"] = json!({"x": {"name": "x", "value": "high"}});
    let response = http
        .post(&url)
        .bearer_auth(server.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let detail: Value = response.json().await.unwrap();
    assert_eq!(
        detail["detail"][0]["loc"],
        json!(["body", "cases", 1, "scores", "x", "value"])
    );
    assert_eq!(client.list_experiments().await.unwrap().len(), 1);

    // The same Idempotency-Key twice stores once.
    let body = serde_json::to_value(report.to_new_experiment().unwrap()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(&url)
            .bearer_auth(server.api_key())
            .header("Idempotency-Key", "record-once")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        ids.push(response.json::<Experiment>().await.unwrap().id);
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(client.list_experiments().await.unwrap().len(), 2);
}

/// Installs a `tracing` subscriber that exports the harness's spans with
/// tracing-opentelemetry to `exporter`, runs `f` under it, and flushes.
fn traced<T>(provider: &opentelemetry_sdk::trace::SdkTracerProvider, f: impl FnOnce() -> T) -> T {
    use tracing_subscriber::layer::SubscriberExt as _;
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("datasets-tests"));
    let subscriber = tracing_subscriber::registry().with(layer);
    let out = tracing::subscriber::with_default(subscriber, f);
    provider.force_flush().unwrap();
    out
}

fn run_blocking(dataset: &Qa) -> EvaluationReport<Value, String, Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(dataset, "upper-v1"))
}

#[test]
fn spans_over_otlp_store_the_same_experiment_as_record() {
    let server = EmbeddedServer::start().unwrap();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", server.base_url()))
        .with_headers(
            [(
                "Authorization".to_owned(),
                format!("Bearer {}", server.api_key()),
            )]
            .into(),
        )
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let dataset = qa("qa-experiments");
    let report = traced(&provider, || run_blocking(&dataset));
    provider.shutdown().unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = client(&server);
        let from_spans = client.list_experiments().await.unwrap();
        assert_eq!(from_spans.len(), 1, "{from_spans:?}");
        let spans = &from_spans[0];
        assert_eq!(spans.source, ExperimentSource::Spans);
        let recorded = report.record(&client).await.unwrap();
        let a = client.get_experiment(spans.id).await.unwrap();
        let b = client.get_experiment(recorded.id).await.unwrap();
        let a_report: EvaluationReport<Value, String, Value> =
            EvaluationReport::from_experiment(&a).unwrap();
        let b_report: EvaluationReport<Value, String, Value> =
            EvaluationReport::from_experiment(&b).unwrap();
        // Durations are measured apart (the span's own clock); all else is equal.
        assert_eq!(without_durations(&a_report), without_durations(&b_report));
        assert_eq!(
            a_report.cases[0].task_duration,
            b_report.cases[0].task_duration
        );
        {
            let (x, y) = (&a.experiment, &b.experiment);
            assert_eq!(
                (
                    &x.name,
                    &x.task_name,
                    &x.dataset_name,
                    &x.metadata,
                    x.n_cases
                ),
                (
                    &y.name,
                    &y.task_name,
                    &y.dataset_name,
                    &y.metadata,
                    y.n_cases
                )
            );
            assert_eq!(x.assertion_pass_rate, y.assertion_pass_rate);
            let labels = |e: &Experiment| e.averages.as_ref().unwrap()["labels"].clone();
            assert_eq!(labels(x), labels(y));
        }

        // Another project's key cannot add a case to this run: its spans
        // are its own project's, and name no run there.
        let other = server.create_key("elsewhere", Scopes::READ_WRITE).unwrap();
        let forged = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": spans.trace_id, "spanId": "00000000000000ff", "parentSpanId": spans.span_id,
            "name": "case: {case_name}", "startTimeUnixNano": "1", "endTimeUnixNano": "2",
            "attributes": [
                {"key": "case_name", "value": {"stringValue": "forged"}},
                {"key": "inputs", "value": {"stringValue": "{}"}},
                {"key": "output", "value": {"stringValue": "x"}},
                {"key": "task_duration", "value": {"doubleValue": 0.1}},
                {"key": "logfire.msg_template", "value": {"stringValue": "case: {case_name}"}}]}]}]}]});
        let response = reqwest::Client::new()
            .post(format!("{}/v1/traces", server.base_url()))
            .header("authorization", other.as_str())
            .json(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let again = client.get_experiment(spans.id).await.unwrap();
        assert_eq!((again.case_count, again.failure_count), (2, 1));
        assert!(again.cases.iter().all(|c| c["name"] != "forged"));
        let elsewhere = DatasetsClient::builder()
            .api_key(other)
            .base_url(server.base_url())
            .build()
            .unwrap();
        assert!(elsewhere.list_experiments().await.unwrap().is_empty());
    });
}

/// An attribute's type as an OpenTelemetry exporter sees it; for a string
/// that `logfire.json_schema` describes, the JSON type of its text.
fn shape_of(value: &opentelemetry::Value, described: bool) -> String {
    match value {
        opentelemetry::Value::Bool(_) => "bool".into(),
        opentelemetry::Value::I64(_) => "int".into(),
        opentelemetry::Value::F64(_) => "float".into(),
        opentelemetry::Value::String(text) if described => {
            match serde_json::from_str::<Value>(text.as_str()) {
                Ok(Value::Object(_)) => "json:object".into(),
                Ok(Value::Array(_)) => "json:array".into(),
                Ok(Value::Null) => "json:null".into(),
                Ok(_) => "json:scalar".into(),
                Err(_) => "json:text".into(),
            }
        }
        opentelemetry::Value::String(_) => "str".into(),
        other => format!("{other:?}"),
    }
}

fn describe(span: &opentelemetry_sdk::trace::SpanData) -> Value {
    let attributes: BTreeMap<String, &opentelemetry::Value> = span
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), &kv.value))
        .collect();
    let schema: Value = attributes
        .get("logfire.json_schema")
        .map(|v| serde_json::from_str(v.as_str().as_ref()).unwrap())
        .unwrap_or(Value::Null);
    let described = |key: &str| {
        schema["properties"][key]
            .as_object()
            .is_some_and(|s| !s.is_empty())
    };
    let shapes: BTreeMap<String, String> = attributes
        .iter()
        .filter(|(key, _)| *key != "logfire.json_schema")
        .map(|(key, value)| (key.clone(), shape_of(value, described(key))))
        .collect();
    json!({
        "name": span.name,
        "status": match span.status { opentelemetry::trace::Status::Error { .. } => "ERROR", _ => "UNSET" },
        "events": span.events.iter().map(|e| e.name.to_string()).collect::<Vec<_>>(),
        "attributes": shapes,
    })
}

/// Attributes the Rust harness adds that pydantic-evals has no counterpart
/// for; the rest must match by name and shape.
const RUST_ONLY: &[&str] = &[
    // tracing-opentelemetry's own, on every span.
    "code.file.path",
    "code.module.name",
    "code.line.number",
    "code.filepath",
    "code.namespace",
    "code.lineno",
    "thread.id",
    "thread.name",
    "target",
    "busy_ns",
    "idle_ns",
    // How a Rust task failed (error, panic, timeout): pydantic-evals only
    // has exceptions, whose type it puts in the error message.
    "logfire.experiment.failure_kind",
];

#[test]
fn the_harness_spans_have_pydantic_evals_names_and_shapes() {
    let Some(python) = interop::python() else {
        return;
    };
    let output = std::process::Command::new(&python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/experiments.py"))
        .arg("shape")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let python: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let dataset = qa("qa-experiments");
    traced(&provider, || run_blocking(&dataset));
    let spans = exporter.get_finished_spans().unwrap();
    let by_name = |name: &str, case: Option<&str>| {
        spans
            .iter()
            .find(|s| {
                s.name == name
                    && case.is_none_or(|case| {
                        s.attributes
                            .iter()
                            .any(|kv| kv.key.as_str() == "case_name" && kv.value.as_str() == case)
                    })
            })
            .unwrap_or_else(|| panic!("no span {name} {case:?}"))
    };
    let run_span = by_name("evaluate {name}", None);
    let ok = by_name("case: {case_name}", Some("capital"));
    let failed = by_name("case: {case_name}", Some("boom"));
    assert_eq!(ok.parent_span_id, run_span.span_context.span_id());
    assert_eq!(failed.parent_span_id, run_span.span_context.span_id());
    for (which, span) in [("run", run_span), ("case", ok), ("failure", failed)] {
        let ours = describe(span);
        let theirs = &python[which];
        assert_eq!(ours["name"], theirs["name"], "{which}");
        assert_eq!(ours["status"], theirs["status"], "{which}");
        assert_eq!(ours["events"], theirs["events"], "{which}");
        let ours_attrs = ours["attributes"].as_object().unwrap();
        let theirs_attrs = theirs["attributes"].as_object().unwrap();
        for (key, shape) in theirs_attrs {
            assert_eq!(
                ours_attrs.get(key),
                Some(shape),
                "{which} span: attribute {key} (ours: {ours_attrs:?})"
            );
        }
        for key in ours_attrs.keys() {
            assert!(
                theirs_attrs.contains_key(key) || RUST_ONLY.contains(&key.as_str()),
                "{which} span: attribute {key} is not pydantic-evals'"
            );
        }
    }
    // The exception event carries pydantic-evals' attribute names.
    let event = &failed.events.iter().next().unwrap();
    let names: Vec<String> = event
        .attributes
        .iter()
        .map(|kv| kv.key.to_string())
        .collect();
    for key in ["exception.type", "exception.message", "exception.escaped"] {
        assert!(names.iter().any(|n| n == key), "{key} in {names:?}");
    }
}

#[test]
fn a_python_run_through_the_logfire_sdk_lands_in_the_server() {
    let Some(python) = interop::python() else {
        return;
    };
    let server = EmbeddedServer::start().unwrap();
    let output = std::process::Command::new(&python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/experiments.py"))
        .args(["send", &server.base_url(), server.api_key()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Logfire's SDK checked its token with GET /v1/info and did not complain.
    assert!(
        !stderr.contains("Logfire API returned status code"),
        "{stderr}"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let expected: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = client(&server);
        let listed = client.list_experiments().await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        let experiment = &listed[0];
        assert_eq!(experiment.name, "upper");
        assert_eq!(experiment.task_name.as_deref(), Some("answer"));
        assert_eq!(experiment.dataset_name.as_deref(), Some("qa-experiments"));
        assert_eq!(experiment.trace_id, expected["trace_id"].as_str().unwrap());
        assert_eq!(experiment.span_id, expected["span_id"].as_str().unwrap());
        assert_eq!(experiment.metadata, Some(json!({"model": "upper-v1"})));
        assert_eq!(experiment.n_cases, Some(3));
        assert_eq!(
            experiment.assertion_pass_rate,
            expected["averages"]["assertions"].as_f64()
        );
        let detail = client.get_experiment(experiment.id).await.unwrap();
        let report: EvaluationReport<Value, String, Value> =
            EvaluationReport::from_experiment(&detail).unwrap();
        let cases = expected["cases"].as_object().unwrap();
        assert_eq!(report.cases.len(), cases.len());
        for case in &report.cases {
            let theirs = &cases[&case.name];
            assert_eq!(case.inputs, theirs["inputs"]);
            assert_eq!(case.metadata.as_ref(), Some(&theirs["metadata"]));
            assert_eq!(json!(case.expected_output), theirs["expected_output"]);
            assert_eq!(json!(case.output), theirs["output"]);
            let values = |results: Value| -> Value {
                results
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v["value"].clone()))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            };
            assert_eq!(values(json!(case.scores)), theirs["scores"]);
            assert_eq!(values(json!(case.labels)), theirs["labels"]);
            assert_eq!(values(json!(case.assertions)), theirs["assertions"]);
        }
        let failures = expected["failures"].as_object().unwrap();
        assert_eq!(report.failures.len(), 1);
        assert_eq!(
            report.failures[0].error_message,
            failures["boom"].as_str().unwrap()
        );
        assert_eq!(
            report.failures[0].error_message,
            "ValueError: the task failed"
        );
    });
}

/// A gzip body of `bytes`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn bad_otlp_bodies_and_keys_are_refused_and_store_nothing() {
    let config = datasets_server::ServerConfig::default().body_limit(64 * 1024);
    let server = EmbeddedServer::with_config(config).unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/traces", server.base_url());
    let post = |body: Vec<u8>, content_type: &str, encoding: Option<&str>, key: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        if let Some(key) = key {
            request = request.header("authorization", key);
        }
        request.send()
    };
    let key = server.api_key().to_owned();
    let detail = |value: Value| value["detail"].clone();

    // Truncated protobuf: 400 in the usual shape.
    let response = post(
        vec![0x0a, 0x10, 0x01],
        "application/x-protobuf",
        None,
        Some(&key),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(detail(body.clone())[0]["loc"], json!(["body"]), "{body}");
    assert!(
        detail(body)[0]["msg"]
            .as_str()
            .unwrap()
            .contains("not an OTLP trace export"),
    );
    // JSON that is not an export, and gzip that does not inflate.
    let response = post(
        br#"{"resourceSpans": 3}"#.to_vec(),
        "application/json",
        None,
        Some(&key),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    let response = post(
        b"not gzip".to_vec(),
        "application/x-protobuf",
        Some("gzip"),
        Some(&key),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    // Over the limit once inflated: 413, which Logfire's SDK answers by
    // sending the batch in halves.
    let bomb = gzip(&vec![0u8; 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let response = post(bomb, "application/x-protobuf", Some("gzip"), Some(&key))
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Encodings and media types it does not take: 415.
    let response = post(
        Vec::new(),
        "application/x-protobuf",
        Some("zstd"),
        Some(&key),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 415);
    let response = post(Vec::new(), "text/plain", None, Some(&key))
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // No key, an unknown key, a read-only key.
    let response = post(Vec::new(), "application/x-protobuf", None, None)
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = post(
        Vec::new(),
        "application/x-protobuf",
        None,
        Some("dsk_unknown"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
    let reader = server.create_key("default", Scopes::READ_ONLY).unwrap();
    let response = post(Vec::new(), "application/x-protobuf", None, Some(&reader))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // An empty export, raw key as Logfire sends it: accepted, nothing stored.
    let response = post(Vec::new(), "application/x-protobuf", None, Some(&key))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    // Metrics and logs: accepted and dropped.
    for path in ["/v1/metrics", "/v1/logs"] {
        let response = http
            .post(format!("{}{path}", server.base_url()))
            .header("authorization", &key)
            .header("content-type", "application/x-protobuf")
            .body(gzip(b"anything"))
            .header("content-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // The token check at `logfire.configure`.
    let info: Value = http
        .get(format!("{}/v1/info", server.base_url()))
        .header("authorization", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["project_name"], "default");
    assert!(info["project_url"].as_str().unwrap().starts_with("http://"));
    let response = http
        .get(format!("{}/v1/info", server.base_url()))
        .header("authorization", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    assert!(client(&server).list_experiments().await.unwrap().is_empty());
}

#[test]
fn the_blocking_client_records_lists_compares_and_deletes() {
    let server = EmbeddedServer::start().unwrap();
    let client = datasets::blocking::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let dataset = qa("qa-experiments");
    let first = run_blocking(&dataset);
    let a = first.record(&client).send().unwrap();
    let b = first.record(&client).send().unwrap();
    assert_ne!(a.id, b.id);
    let listed = client.list_experiments().limit(5).send().unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        [b.id, a.id]
    );
    let detail = client.get_experiment(a.id).send().unwrap();
    assert_eq!((detail.case_count, detail.failure_count), (2, 1));
    let comparison = client.compare_experiments(a.id, b.id).send().unwrap();
    assert_eq!(comparison.pass_rate_delta(), Some(0.0));
    assert!(
        comparison
            .cases
            .iter()
            .all(|case| case.changed_assertions().is_empty())
    );
    client.delete_experiment(a.id).send().unwrap();
    assert!(matches!(
        client.get_experiment(a.id).send().unwrap_err(),
        Error::ExperimentNotFound { .. }
    ));
}

/// The README's example body of `POST /v1/experiments/`, posted as it is
/// written there, is stored and read back with its cases and failure.
#[tokio::test]
async fn the_readmes_experiment_body_is_accepted_as_written() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("tests/experiments.rs` posts this block")
        .expect("the README's experiment example");
    let block = &readme[start..];
    let open = block.find("```json\n").unwrap() + "```json\n".len();
    let body: String = block[open..open + block[open..].find("```").unwrap()]
        .lines()
        .map(|line| line.strip_prefix("  ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let server = datasets::EmbeddedServer::start().unwrap();
    let client = support::client(&server);
    client.create_dataset("qa-golden-set").await.unwrap();
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/v1/experiments/", server.base_url()))
        .bearer_auth(server.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let stored: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{stored}");
    let id = stored["id"].as_str().unwrap();
    let read: serde_json::Value = http
        .get(format!("{}/v1/experiments/{id}/", server.base_url()))
        .bearer_auth(server.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read["case_count"].as_u64(), read["failure_count"].as_u64()),
        (Some(1), Some(1)),
        "{read}"
    );
    assert_eq!(read["cases"][0]["output"], body["cases"][0]["output"]);
    assert_eq!(read["failures"][0]["kind"], "timeout");
}

/// A case span whose inputs is JSON text nested past a request body's
/// limit is stored with that text as it came (a string), not as a value
/// deeper than any body may send: reading, comparing and the UI's run page
/// all answer.
#[test]
fn json_text_attributes_get_the_limits_of_bodies() {
    let server = EmbeddedServer::start().unwrap();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", server.base_url()))
        .with_headers(
            [(
                "Authorization".to_owned(),
                format!("Bearer {}", server.api_key()),
            )]
            .into(),
        )
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let mut deep = json!("paris");
    for _ in 0..127 {
        deep = json!([deep]);
    }
    let mut dataset = qa("deep-inputs");
    dataset.cases.truncate(1);
    dataset.cases[0].inputs = deep.clone();
    traced(&provider, || run_blocking(&dataset));
    provider.shutdown().unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = client(&server);
        let runs = client.list_experiments().await.unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        let id = runs[0].id;
        let run = client.get_experiment(id).await.unwrap();
        let inputs = &run.cases[0]["inputs"];
        assert_eq!(inputs, &json!(deep.to_string()), "kept as the text it was");
        let http = reqwest::Client::new();
        for path in [
            format!("/v1/experiments/{id}/"),
            format!("/v1/experiments/compare/?base={id}&candidate={id}"),
        ] {
            let answer = http
                .get(format!("{}{path}", server.base_url()))
                .bearer_auth(server.api_key())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "{path}");
        }
    });
}
