//! `LLMJudge` against a local stand-in for an OpenAI-compatible endpoint
//! (`support/openai_standin.rs`: the model is a third-party service that
//! cannot run here): the request pydantic-evals sends (checked against a
//! run of the real pydantic-evals through the same stand-in), verdicts
//! parsed leniently or refused clearly, retries on 429 as `Retry-After`
//! says, a timeout, concurrency bounded as configured, and a dataset file
//! naming `LLMJudge` evaluated with the same results as pydantic-evals'.

#[path = "support/interop.rs"]
mod interop;
#[path = "support/openai_standin.rs"]
mod openai_standin;

use std::time::{Duration, Instant};

use datasets::Case;
use datasets::eval::{
    Dataset, EvaluationReport, EvaluatorRegistry, JudgeEndpoint, LLMJudge, OutputConfig,
};
use openai_standin::{Script, StandIn, verdict};
use serde_json::{Value, json};

fn endpoint(standin: &StandIn) -> datasets::eval::JudgeEndpointBuilder {
    JudgeEndpoint::builder()
        .base_url(&standin.base_url)
        .api_key("sk-test")
        .initial_backoff(Duration::from_millis(10))
}

fn one_case() -> Dataset<Value, Value, Value> {
    Dataset::new(
        "capitals",
        vec![
            Case::new(json!({"question": "Capital of France?"}))
                .expected_output(json!("Paris"))
                .name("france"),
        ],
    )
}

async fn judge_once(judge: LLMJudge) -> EvaluationReport<Value, Value, Value> {
    one_case()
        .evaluate(|_: Value| async move { json!({"answer": "Paris"}) })
        .evaluator(judge)
        .progress(false)
        .await
}

#[tokio::test]
async fn the_request_is_pydantic_evals_and_results_are_named_as_its() {
    let standin = StandIn::start();
    let endpoint = endpoint(&standin).build().unwrap();
    let judge = LLMJudge::new("The answer is correct")
        .model("openai:gpt-4o")
        .include_input(true)
        .include_expected_output(true)
        .model_setting("temperature", 0.0)
        .model_setting("max_tokens", 50)
        .score(Some(OutputConfig {
            evaluation_name: None,
            include_reason: true,
        }))
        .endpoint(endpoint.clone());
    let report = judge_once(judge).await;
    let seen = standin.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer sk-test"));
    let body = &seen[0].body;
    let user = "<Input>\n{\"question\":\"Capital of France?\"}\n</Input>\n<Output>\n{\"answer\":\"Paris\"}\n</Output>\n<ExpectedOutput>\nParis\n</ExpectedOutput>\n<Rubric>\nThe answer is correct\n</Rubric>";
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": user})
    );
    assert!(body["messages"][0]["content"].as_str().unwrap().starts_with(
        "\nYou are grading output according to a user-specified rubric. If the statement in the rubric is true for the provided input, expected output, and output,"
    ));
    assert_eq!(
        (&body["temperature"], &body["max_completion_tokens"]),
        (&json!(0.0), &json!(50))
    );
    assert_eq!(body["tool_choice"], "required");
    assert_eq!(body["tools"][0]["function"]["name"], "final_result");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["reason", "pass", "score"])
    );
    let case = &report.cases[0];
    let expected = verdict(user);
    assert_eq!(
        case.scores["LLMJudge_score"].value,
        expected["score"].as_f64().unwrap()
    );
    assert!(case.assertions["LLMJudge_pass"].value);
    assert_eq!(
        case.assertions["LLMJudge_pass"].reason.as_deref(),
        expected["reason"].as_str()
    );
    // What judging cost, as the case's metrics.
    assert_eq!(case.metrics["judge_input_tokens"], 100.0);
    assert_eq!(case.metrics["judge_output_tokens"], 20.0);
    assert_eq!(case.metrics["judge_requests"], 1.0);
    assert_eq!(endpoint.usage().input_tokens, 100);
    assert_eq!(endpoint.usage().output_tokens, 20);

    // The defaults: one assertion named LLMJudge, the output alone shown.
    standin.clear();
    let report = judge_once(LLMJudge::new("Polite").endpoint(endpoint.clone())).await;
    assert_eq!(
        report.cases[0].assertions.keys().collect::<Vec<_>>(),
        ["LLMJudge"]
    );
    assert_eq!(
        standin.seen()[0].body["messages"][1]["content"],
        "<Output>\n{\"answer\":\"Paris\"}\n</Output>\n<Rubric>\nPolite\n</Rubric>"
    );
}

#[tokio::test]
async fn invalid_verdicts_are_sent_back_once_as_pydantic_ai_does() {
    let standin = StandIn::start();
    let endpoint = endpoint(&standin).build().unwrap();
    let judge = || LLMJudge::new("r").endpoint(endpoint.clone());
    // pydantic's lax rules: "true" is a boolean, 1 a number; fences are read through.
    standin.script([Script::Content(
        "Here you go:\n```json\n{\"reason\": \"fine\", \"pass\": \"true\", \"score\": 1}\n```",
    )]);
    let report = judge_once(judge()).await;
    assert!(report.cases[0].assertions["LLMJudge"].value);
    assert_eq!(
        report.cases[0].assertions["LLMJudge"].reason.as_deref(),
        Some("fine")
    );

    // An answer without `pass`: sent back with its error, answered validly.
    standin.clear();
    standin.script([Script::Arguments("{\"reason\": \"fine\", \"score\": 0.75}")]);
    let report = judge_once(judge()).await;
    let seen = standin.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].body["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "final_result", "arguments": "{\"reason\":\"fine\",\"score\":0.75}"}}]})
    );
    assert_eq!(
        seen[1].body["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_1",
            "content": "{\"error\":[{\"type\":\"missing\",\"loc\":[\"pass\"],\"msg\":\"Field required\",\"input\":{\"reason\":\"fine\",\"score\":0.75}}]}"})
    );
    assert!(report.cases[0].evaluator_failures.is_empty());
    assert_eq!(report.cases[0].metrics["judge_requests"], 2.0);

    // Invalid twice: the result fails, saying what was wrong.
    standin.script([
        Script::Content("I think it is fine."),
        Script::Content("Still fine."),
    ]);
    let report = judge_once(judge()).await;
    let failure = &report.cases[0].evaluator_failures[0];
    assert_eq!(failure.name, "LLMJudge");
    assert!(
        failure.error_message.starts_with("the judge's verdict is not valid after a retry: Invalid JSON: expected value at line 1 column 1"),
        "{}",
        failure.error_message
    );
}

#[tokio::test]
async fn retries_follow_retry_after_and_stop_on_client_errors() {
    let standin = StandIn::start();
    let endpoint = endpoint(&standin).max_retries(2).build().unwrap();
    let judge = || LLMJudge::new("r").endpoint(endpoint.clone());
    standin.script([Script::Status(429, Some("1")), Script::Status(503, None)]);
    let started = Instant::now();
    let report = judge_once(judge()).await;
    assert!(
        report.cases[0].evaluator_failures.is_empty(),
        "{:?}",
        report.cases[0].evaluator_failures
    );
    assert_eq!(standin.seen().len(), 3, "a 429, a 503, then the verdict");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was waited"
    );

    standin.clear();
    standin.script([Script::Status(400, None)]);
    let report = judge_once(judge()).await;
    assert_eq!(standin.seen().len(), 1, "a 400 is not retried");
    assert_eq!(
        report.cases[0].evaluator_failures[0].error_message,
        "the judge's endpoint answered 400: scripted 400"
    );

    standin.clear();
    standin.script([
        Script::Status(500, None),
        Script::Status(500, None),
        Script::Status(500, None),
    ]);
    let report = judge_once(judge()).await;
    assert_eq!(standin.seen().len(), 3);
    assert_eq!(
        report.cases[0].evaluator_failures[0].error_message,
        "the judge's endpoint answered 500: scripted 500 (after 3 attempt(s))"
    );
}

#[tokio::test]
async fn a_slow_judge_times_out() {
    let standin = StandIn::start();
    let endpoint = endpoint(&standin)
        .timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();
    standin.script([Script::Delay(Duration::from_secs(3))]);
    let report = judge_once(LLMJudge::new("r").endpoint(endpoint)).await;
    assert_eq!(
        report.cases[0].evaluator_failures[0].error_message,
        "the judge's endpoint did not answer within 0.3s (after 1 attempt(s))"
    );
}

#[tokio::test]
async fn concurrent_calls_stay_within_the_endpoint_s_bound() {
    let standin = StandIn::start();
    standin.delay_all(Duration::from_millis(50));
    let endpoint = endpoint(&standin).max_concurrency(2).build().unwrap();
    let cases = (0..12)
        .map(|i| Case::new(json!({"i": i})).name(format!("case-{i}")))
        .collect();
    let dataset: Dataset<Value, Value, Value> = Dataset::new("many", cases);
    // Two judges per case, every case at once: 24 calls, 2 at a time.
    let report = dataset
        .evaluate(|inputs: Value| async move { inputs })
        .evaluator(LLMJudge::new("a").endpoint(endpoint.clone()))
        .evaluator(
            LLMJudge::new("b")
                .assertion(None)
                .score(Some(OutputConfig::default()))
                .endpoint(endpoint.clone()),
        )
        .max_concurrency(12)
        .progress(false)
        .await;
    assert_eq!(standin.seen().len(), 24);
    assert_eq!(
        standin.peak_in_flight(),
        2,
        "the bound is reached and never passed"
    );
    assert!(report.cases.iter().all(|c| c.evaluator_failures.is_empty()));
    assert_eq!(endpoint.usage().requests, 24);
    assert!(report.cases.iter().all(|c| c.metrics["judge_requests"] == 2.0 && c.metrics["judge_input_tokens"] == 200.0));
}

#[test]
fn without_an_endpoint_the_judge_fails_saying_so() {
    if std::env::var_os("OPENAI_API_KEY").is_some() || std::env::var_os("OPENAI_BASE_URL").is_some()
    {
        eprintln!("skipped: OPENAI_API_KEY or OPENAI_BASE_URL is set in this environment");
        return;
    }
    let mut dataset = one_case();
    dataset.evaluators = vec![datasets::wire::EvaluatorSpec::with_arguments(
        "LLMJudge",
        json!(["Polite"]),
    )];
    let report = dataset
        .evaluate(|_: Value| async move { json!("hi") })
        .run_blocking()
        .unwrap();
    let failure = &report.cases[0].evaluator_failures[0];
    assert_eq!(failure.name, "LLMJudge");
    assert!(
        failure
            .error_message
            .starts_with("no model endpoint is configured for LLMJudge: set OPENAI_API_KEY"),
        "{}",
        failure.error_message
    );
}

/// `value` with every object's keys sorted.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

const JUDGED_FILE: &str = r#"name: judged
cases:
- name: right
  inputs:
    question: Capital of France?
    output: Paris is the capital.
  expected_output: Paris
- name: wrong
  inputs:
    question: Capital of France?
    output: [Lyon, maybe Marseille]
  expected_output: Paris
- name: no-expected
  inputs:
    question: Largest ocean?
    output: {answer: Pacific}
- name: retried
  inputs:
    question: Capital of France?
    output: Paris, though this answer needs a retry
  expected_output: Paris
evaluators:
- LLMJudge:
    rubric: The answer names the capital of France
    model: openai-chat:gpt-4.1
- LLMJudge:
    rubric: The answer is consistent with the expected output
    model: openai-chat:gpt-4o
    include_input: true
    include_expected_output: true
    score: {include_reason: true}
    assertion: {evaluation_name: consistent, include_reason: false}
    model_settings: {temperature: 0.0, max_tokens: 64}
- LLMJudge:
    rubric: Is concise
    model: openai-chat:gpt-4o-mini
    include_expected_output: true
    assertion: false
    score: {evaluation_name: concise}
"#;

#[test]
fn a_file_naming_llm_judge_evaluates_as_pydantic_evals_does() {
    let Some(python) = interop::python() else {
        return;
    };
    let standin = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("judged.yaml");
    std::fs::write(&path, JUDGED_FILE).unwrap();

    let mut registry = EvaluatorRegistry::with_builtins();
    registry.with_judge_endpoint(endpoint(&standin).build().unwrap());
    let dataset = Dataset::<Value, Value, Value>::from_file(&path).unwrap();
    let report = dataset
        .evaluate(|inputs: Value| async move { inputs["output"].clone() })
        .registry(registry)
        .max_concurrency(1)
        .progress(false)
        .run_blocking()
        .unwrap();
    let rust_requests: Vec<Value> = standin.seen().into_iter().map(|s| s.body).collect();
    standin.clear();

    let out = dir.path().join("python.json");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/pydantic_evals_files.py");
    let output = std::process::Command::new(&python)
        .arg(script)
        .args([
            "evaluate",
            &path.display().to_string(),
            &out.display().to_string(),
        ])
        .env("OPENAI_BASE_URL", &standin.base_url)
        .env("OPENAI_API_KEY", "sk-test")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let python_results: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let python_requests: Vec<Value> = standin.seen().into_iter().map(|s| s.body).collect();

    // The same requests, in any order (pydantic-evals runs cases at once).
    // (`openai-chat:` models: pydantic-ai 2.62 sends plain `openai:` ones to
    // OpenAI's Responses API; this judge speaks chat completions to all.)
    // 4 cases, 3 judges, and the 3 follow-ups of the case whose first
    // verdicts lacked `pass` (sent back with pydantic's error, as pydantic-ai does).
    assert_eq!(rust_requests.len(), 15);
    let canonical = |bodies: Vec<Value>| {
        let mut texts: Vec<String> = bodies.iter().map(|b| canonical(b).to_string()).collect();
        texts.sort();
        texts
    };
    assert_eq!(
        canonical(rust_requests),
        canonical(python_requests),
        "the requests are pydantic-evals'"
    );

    // The same results, shaped as pydantic-evals'.
    for case in &report.cases {
        let python = &python_results[&case.name];
        let values = |map: Vec<(&String, Value, Option<String>)>| {
            map.into_iter()
                .map(|(k, v, r)| (k.clone(), json!([v, r])))
                .collect::<serde_json::Map<_, _>>()
        };
        let assertions = values(
            case.assertions
                .iter()
                .map(|(k, r)| (k, json!(r.value), r.reason.clone()))
                .collect(),
        );
        let scores = values(
            case.scores
                .iter()
                .map(|(k, r)| (k, json!(r.value), r.reason.clone()))
                .collect(),
        );
        assert_eq!(
            Value::Object(assertions),
            python["assertions"],
            "{}: assertions",
            case.name
        );
        assert_eq!(
            Value::Object(scores),
            python["scores"],
            "{}: scores",
            case.name
        );
        assert!(
            case.evaluator_failures.is_empty(),
            "{:?}",
            case.evaluator_failures
        );
    }
}
