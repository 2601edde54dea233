//! The eval harness: built-in evaluators on typed outputs, the registry,
//! running tasks (concurrency, failures, panics, timeouts, retries,
//! repeats, metrics), reports (JSON, comparison, rendering), dataset-file
//! errors, and a managed dataset exported from the real server, evaluated
//! and compared with a baseline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use datasets::eval::{
    Contains, Dataset, Equals, EqualsExpected, EvaluationReport, EvaluationValue, Evaluator,
    EvaluatorContext, EvaluatorFuture, EvaluatorOutput, EvaluatorRegistry, FailureKind, Format,
    IsInstance, MaxDuration, RenderOptions, TaskRetry, evaluator_fn,
};
use datasets::wire::EvaluatorSpec;
use datasets::{Case, DatasetSchema, DatasetsClient, Error};
use datasets_server::EmbeddedServer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct QuestionInput {
    question: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct AnswerOutput {
    answer: String,
    confidence: f64,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct CaseMetadata {
    difficulty: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "eval-golden-set")]
struct GoldenSet {
    inputs: QuestionInput,
    expected_output: AnswerOutput,
    metadata: CaseMetadata,
}

type Qa = Dataset<QuestionInput, AnswerOutput, CaseMetadata>;

fn q(text: &str) -> QuestionInput {
    QuestionInput {
        question: text.into(),
    }
}

fn a(text: &str, confidence: f64) -> AnswerOutput {
    AnswerOutput {
        answer: text.into(),
        confidence,
    }
}

/// A case asking `question`, expecting `expected`.
fn case(question: &str, expected: &str) -> Case<QuestionInput, AnswerOutput, CaseMetadata> {
    Case::new(q(question))
        .name(question)
        .expected_output(a(expected, 1.0))
        .metadata(CaseMetadata {
            difficulty: "easy".into(),
        })
}

/// Runs one evaluator over one output, as the harness would.
async fn run_one<E>(evaluator: E, output: Value, expected: Option<Value>) -> EvaluatorOutputSeen
where
    E: Evaluator<Value, Value, Value> + 'static,
{
    let mut case = Case::new(json!(null)).name("c");
    case.expected_output = expected;
    let dataset: Dataset<Value, Value, Value> = Dataset::new("one", vec![case]);
    let report = dataset
        .evaluate(move |_: Value| {
            let output = output.clone();
            async move { output }
        })
        .evaluator(evaluator)
        .progress(false)
        .await;
    let case = &report.cases[0];
    EvaluatorOutputSeen {
        assertions: case
            .assertions
            .values()
            .map(|r| (r.name.clone(), r.value, r.reason.clone()))
            .collect(),
    }
}

#[derive(Debug)]
struct EvaluatorOutputSeen {
    assertions: Vec<(String, bool, Option<String>)>,
}

impl EvaluatorOutputSeen {
    fn passed(&self) -> Option<bool> {
        self.assertions.first().map(|(_, passed, _)| *passed)
    }
}

/// pydantic-evals' documented semantics of each built-in (its docstrings
/// and `common.py`), on JSON outputs; `eval_interop.rs` checks the same
/// against the Python library itself.
#[tokio::test]
async fn builtin_evaluators_follow_pydantic_evals() {
    // Equals: output == value, numbers by value.
    assert_eq!(
        run_one(Equals::new(json!(3)), json!(3.0), None)
            .await
            .passed(),
        Some(true)
    );
    assert_eq!(
        run_one(Equals::new(json!("3")), json!(3), None)
            .await
            .passed(),
        Some(false)
    );
    // EqualsExpected: no result without an expected output.
    let none = run_one(EqualsExpected::default(), json!(1), None).await;
    assert!(none.assertions.is_empty());
    let renamed = EqualsExpected {
        evaluation_name: Some("exact".into()),
    };
    let seen = run_one(renamed, json!({"a": 1}), Some(json!({"a": 1.0}))).await;
    assert_eq!(seen.assertions, [("exact".to_owned(), true, None)]);
    // Contains: substrings, case sensitivity, items, keys, key-value pairs.
    assert_eq!(
        run_one(Contains::new("ell"), json!("Hello"), None)
            .await
            .passed(),
        Some(true)
    );
    assert_eq!(
        run_one(Contains::new("ELL"), json!("Hello"), None)
            .await
            .passed(),
        Some(false)
    );
    let insensitive = Contains {
        case_sensitive: false,
        ..Contains::new("ELL")
    };
    assert_eq!(
        run_one(insensitive, json!("Hello"), None).await.passed(),
        Some(true)
    );
    assert_eq!(
        run_one(Contains::new(2), json!([1, 2]), None)
            .await
            .passed(),
        Some(true)
    );
    assert_eq!(
        run_one(Contains::new("k"), json!({"k": 0}), None)
            .await
            .passed(),
        Some(true)
    );
    let pairs = run_one(Contains::new(json!({"k": 1})), json!({"k": 0}), None).await;
    assert_eq!(
        pairs.assertions[0].2.as_deref(),
        Some("Output has different value for key 'k': 0 != 1")
    );
    let as_strings = Contains {
        as_strings: true,
        ..Contains::new("12")
    };
    assert_eq!(
        run_one(as_strings, json!(312), None).await.passed(),
        Some(true)
    );
    let not_iterable = run_one(Contains::new("x"), json!(5), None).await;
    assert_eq!(
        not_iterable.assertions[0].2.as_deref(),
        Some("Containment check failed: argument of type 'int' is not iterable")
    );
    // IsInstance: Python's names for JSON values, bool being an int.
    assert_eq!(
        run_one(IsInstance::new("int"), json!(true), None)
            .await
            .passed(),
        Some(true)
    );
    let wrong = run_one(IsInstance::new("str"), json!([1]), None).await;
    assert_eq!(
        (wrong.passed(), wrong.assertions[0].2.as_deref()),
        (Some(false), Some("output is of type list"))
    );
    // MaxDuration: the task's duration against the limit.
    let quick = run_one(MaxDuration::new(Duration::from_secs(60)), json!(1), None).await;
    assert_eq!(quick.passed(), Some(true));
    let never = run_one(MaxDuration::new(Duration::ZERO), json!(1), None).await;
    assert_eq!(never.passed(), Some(false));
}

#[tokio::test]
async fn typed_outputs_are_models_as_pydantic_evals_sees_a_base_model() {
    // A struct output is what a pydantic BaseModel is to pydantic-evals: an
    // instance of its class and of BaseModel, not of dict; equal to another
    // instance with equal fields, never to a dict; dumped to a dict for
    // Contains; shown by its str, `answer='4' confidence=1.0`.
    let dataset: Qa = Dataset::new("typed", vec![case("What is 2+2?", "4")]);
    let report = dataset
        .evaluate(|_: QuestionInput| async { a("4", 1.0) })
        .evaluator(EqualsExpected::default())
        .evaluator(IsInstance::new("AnswerOutput"))
        .evaluator(IsInstance::new("BaseModel"))
        .evaluator(IsInstance::new("dict"))
        .evaluator(Contains::new(json!({"answer": "4"})))
        .evaluator(Contains {
            as_strings: true,
            ..Contains::new(json!("answer='4' confidence=1.0"))
        })
        .evaluator(Equals::new(json!({"confidence": 1, "answer": "4"})))
        .progress(false)
        .await;
    let results: Vec<(&str, bool, Option<&str>)> = report.cases[0]
        .assertions
        .iter()
        .map(|(name, r)| (name.as_str(), r.value, r.reason.as_deref()))
        .collect();
    assert_eq!(
        results,
        [
            ("Contains", true, None),
            ("Contains_2", true, None),
            ("Equals", false, None),
            ("EqualsExpected", true, None),
            ("IsInstance", true, None),
            ("IsInstance_2", true, None),
            (
                "IsInstance_3",
                false,
                Some("output is of type AnswerOutput")
            ),
        ]
    );
}

#[test]
fn an_unknown_evaluator_is_an_error_naming_it_and_listing_the_known_ones() {
    let registry = EvaluatorRegistry::<Value, Value, Value>::with_builtins();
    let err = registry
        .build(&EvaluatorSpec::new("EqualsExpectd"))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid argument: unknown evaluator \"EqualsExpectd\"; known evaluators: \
         Contains, Equals, EqualsExpected, IsInstance, LLMJudge, MaxDuration"
    );
    let bad_arguments = registry
        .build(&EvaluatorSpec::with_arguments(
            "Contains",
            json!({"value": 1, "case_sensitiv": false}),
        ))
        .err()
        .unwrap();
    assert_eq!(
        bad_arguments.to_string(),
        "invalid argument: evaluator Contains: unexpected argument `case_sensitiv`"
    );
    let missing = registry
        .build(&EvaluatorSpec::new("MaxDuration"))
        .err()
        .unwrap();
    assert!(missing.to_string().contains("missing argument `seconds`"));
}

/// A user evaluator read from specs: `{"MinLength": 3}` or `{"MinLength": {"min": 3}}`.
#[derive(Deserialize)]
struct MinLength {
    min: usize,
}

impl Evaluator<QuestionInput, AnswerOutput, CaseMetadata> for MinLength {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        "MinLength".into()
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a EvaluatorContext<QuestionInput, AnswerOutput, CaseMetadata>,
    ) -> EvaluatorFuture<'a> {
        Box::pin(async move {
            let length = ctx.output.answer.chars().count();
            Ok(EvaluatorOutput::assertion(length >= self.min)
                .and("length", EvaluationValue::Score(length as f64)))
        })
    }
}

#[tokio::test]
async fn specs_are_built_through_the_registry_custom_evaluators_included() {
    let mut dataset: Qa = Dataset::new("specs", vec![case("one", "1"), case("two", "22")]);
    dataset.evaluators = vec![
        EvaluatorSpec::with_arguments("MinLength", json!([2])),
        EvaluatorSpec::new("EqualsExpected"),
    ];
    dataset.cases[1]
        .evaluators
        .push(EvaluatorSpec::with_arguments(
            "MinLength",
            json!({"min": 5}),
        ));
    let task = |input: QuestionInput| async move {
        a(if input.question == "one" { "1" } else { "22" }, 1.0)
    };

    // Without the custom evaluator registered, `try_run` refuses to start...
    let err = dataset
        .evaluate(task)
        .progress(false)
        .try_run()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.starts_with("unknown evaluator \"MinLength\"; known evaluators: Contains,")),
        "{err}"
    );
    // ...and `.await` runs, reporting the unbuildable evaluator on every case.
    let report = dataset.evaluate(task).progress(false).await;
    assert_eq!(report.cases.len(), 2);
    assert_eq!(report.cases[1].evaluator_failures.len(), 2);
    assert!(report.cases[0].assertions["EqualsExpected"].value);

    let mut registry = EvaluatorRegistry::with_builtins();
    registry.register_deserialize::<MinLength>("MinLength", "min");
    let report = dataset
        .evaluate(task)
        .registry(registry)
        .progress(false)
        .try_run()
        .await
        .unwrap();
    let one = report.case("one").unwrap();
    assert!(!one.assertions["MinLength"].value);
    assert_eq!(one.scores["length"].value, 1.0);
    let two = report.case("two").unwrap();
    // The case's own evaluator runs first, then the dataset's; names stay unique.
    assert!(!two.assertions["MinLength"].value, "case-level min 5");
    assert!(two.assertions["MinLength_2"].value, "dataset-level min 2");
    assert_eq!(
        two.assertions["MinLength"].source,
        Some(EvaluatorSpec::with_arguments(
            "MinLength",
            json!({"min": 5})
        ))
    );
}

#[tokio::test]
async fn concurrency_is_bounded_as_configured() {
    let cases: Vec<_> = (0..20).map(|i| case(&format!("q{i}"), "a")).collect();
    let dataset: Qa = Dataset::new("bounded", cases);
    for limit in [1, 3, 7] {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let report = dataset
            .evaluate(|_: QuestionInput| {
                let (running, most) = (&running, &most);
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Yield a few times so that every admitted case is in flight together.
                    for _ in 0..5 {
                        tokio::task::yield_now().await;
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    a("a", 1.0)
                }
            })
            .max_concurrency(limit)
            .progress(false)
            .await;
        assert_eq!(report.cases.len(), 20);
        assert_eq!(
            most.load(Ordering::SeqCst),
            limit,
            "max_concurrency({limit})"
        );
    }
}

#[tokio::test]
async fn failing_panicking_and_timing_out_tasks_fail_only_their_case() {
    let dataset: Qa = Dataset::new(
        "faulty",
        vec![
            case("ok", "fine"),
            case("error", "x"),
            case("panic", "x"),
            case("slow", "x"),
            case("ok too", "fine"),
        ],
    );
    let panicky = evaluator_fn(
        "Panicky",
        |ctx: &EvaluatorContext<QuestionInput, AnswerOutput, CaseMetadata>| {
            if ctx.name == "ok too" {
                panic!("evaluator bug");
            }
            true
        },
    );
    let report = dataset
        .evaluate(|input: QuestionInput| async move {
            match input.question.as_str() {
                "error" => Err("the model refused".to_owned()),
                "panic" => panic!("index out of bounds"),
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(a("late", 1.0))
                }
                _ => Ok(a("fine", 1.0)),
            }
        })
        .timeout(Duration::from_millis(50))
        .evaluator(EqualsExpected::default())
        .evaluator(panicky)
        .progress(false)
        .await;
    let passed: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(passed, ["ok", "ok too"]);
    let failed: Vec<(&str, FailureKind)> = report
        .failures
        .iter()
        .map(|f| (f.name.as_str(), f.kind))
        .collect();
    assert_eq!(
        failed,
        [
            ("error", FailureKind::Error),
            ("panic", FailureKind::Panic),
            ("slow", FailureKind::Timeout)
        ]
    );
    assert_eq!(report.failures[0].error_message, "the model refused");
    // The kind says it panicked; the message is the panic's own.
    assert_eq!(report.failures[1].error_message, "index out of bounds");
    let rendered = report.render(&Default::default());
    assert!(
        rendered.contains("panic: index out of bounds"),
        "{rendered}"
    );
    assert!(!rendered.contains("panic: panicked"), "{rendered}");
    assert_eq!(
        report.failures[2].error_message,
        "the task ran past the timeout of 50ms"
    );
    assert_eq!(report.failures[2].inputs, q("slow"));
    // An evaluator's panic fails that evaluator on that case only.
    let ok_too = report.case("ok too").unwrap();
    assert!(ok_too.assertions["EqualsExpected"].value);
    assert_eq!(ok_too.evaluator_failures[0].name, "Panicky");
    assert_eq!(
        ok_too.evaluator_failures[0].error_message,
        "panicked: evaluator bug"
    );
    assert!(report.case("ok").unwrap().assertions["Panicky"].value);
    let averages = report.averages();
    assert_eq!((averages.cases, averages.failures), (2, 3));
}

#[tokio::test]
async fn failed_attempts_are_retried_with_backoff_but_panics_are_not() {
    let dataset: Qa = Dataset::new(
        "flaky",
        vec![
            case("twice", "ok"),
            case("always", "ok"),
            case("panic", "ok"),
        ],
    );
    let attempts: Mutex<HashMap<String, u32>> = Mutex::default();
    let report = dataset
        .evaluate(|input: QuestionInput| {
            let attempts = &attempts;
            async move {
                let n = {
                    let mut attempts = attempts.lock().unwrap();
                    let n = attempts.entry(input.question.clone()).or_default();
                    *n += 1;
                    *n
                };
                match (input.question.as_str(), n) {
                    ("twice", 1 | 2) => Err(format!("attempt {n} failed")),
                    ("twice", _) => Ok(a("ok", 1.0)),
                    ("panic", _) => panic!("a bug"),
                    _ => Err(format!("attempt {n} failed")),
                }
            }
        })
        .retry(TaskRetry::new(3).backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .progress(false)
        .await;
    assert_eq!(report.case("twice").unwrap().attempts, 3);
    let always = report.failure("always").unwrap();
    assert_eq!(
        (always.attempts, always.error_message.as_str()),
        (4, "attempt 4 failed")
    );
    assert_eq!(report.failure("panic").unwrap().attempts, 1);
    assert_eq!(attempts.lock().unwrap()["always"], 4);
}

#[tokio::test]
async fn repeats_run_every_case_n_times_and_group_by_case() {
    let dataset: Qa = Dataset::new("repeated", vec![case("a", "x"), Case::new(q("b"))]);
    let calls = AtomicUsize::new(0);
    let report = dataset
        .evaluate(|_: QuestionInput| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { a(if n.is_multiple_of(2) { "x" } else { "y" }, 1.0) }
        })
        .repeat(3)
        .evaluator(EqualsExpected::default())
        .progress(false)
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "a [1/3]",
            "a [2/3]",
            "a [3/3]",
            "Case 2 [1/3]",
            "Case 2 [2/3]",
            "Case 2 [3/3]"
        ]
    );
    assert_eq!(report.cases[4].source_case_name.as_deref(), Some("Case 2"));
    let groups = report.case_groups();
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].name, groups[0].runs.len()), ("a", 3));
    let rate = groups[0].summary.assertions.unwrap();
    assert!(
        rate > 0.0 && rate < 1.0,
        "some of a's runs answered x: {rate}"
    );
    assert_eq!(
        groups[1].summary.assertions, None,
        "b has no expected output"
    );
}

#[tokio::test]
async fn metrics_and_attributes_recorded_by_the_task_reach_evaluators_and_report() {
    let dataset: Qa = Dataset::new("metered", vec![case("a", "x"), case("bb", "x")]);
    let report = dataset
        .evaluate(|input: QuestionInput| async move {
            datasets::eval::set_metric("tokens", input.question.len() as f64 * 10.0);
            datasets::eval::increment_metric("calls", 1.0);
            datasets::eval::increment_metric("calls", 1.0);
            datasets::eval::set_attribute("model", "test-model");
            a("x", 1.0)
        })
        .evaluator(evaluator_fn(
            "Cheap",
            |ctx: &EvaluatorContext<QuestionInput, AnswerOutput, CaseMetadata>| {
                EvaluatorOutput::score(ctx.metrics["tokens"]).and(
                    "model",
                    EvaluationValue::Label(ctx.attributes["model"].as_str().unwrap().to_owned()),
                )
            },
        ))
        .progress(false)
        .await;
    let bb = report.case("bb").unwrap();
    assert_eq!(bb.metrics["tokens"], 20.0);
    assert_eq!(bb.metrics["calls"], 2.0);
    assert_eq!(bb.scores["Cheap"].value, 20.0);
    assert_eq!(bb.labels["model"].value, "test-model");
    let averages = report.averages();
    assert_eq!(averages.metrics["tokens"], 15.0);
    assert_eq!(averages.scores["Cheap"], 15.0);
    assert_eq!(averages.labels["model"]["test-model"], 1.0);
    // Outside an evaluation, recording does nothing.
    datasets::eval::set_metric("ignored", 1.0);
}

async fn baseline_and_current() -> (
    EvaluationReport<QuestionInput, AnswerOutput, CaseMetadata>,
    EvaluationReport<QuestionInput, AnswerOutput, CaseMetadata>,
) {
    let dataset: Qa = Dataset::new(
        "compared",
        vec![case("same", "x"), case("fixed", "x"), case("broken", "x")],
    );
    let run = |name: &'static str, answers: [&'static str; 3]| {
        let dataset = &dataset;
        async move {
            dataset
                .evaluate(move |input: QuestionInput| async move {
                    let answer = match input.question.as_str() {
                        "same" => answers[0],
                        "fixed" => answers[1],
                        _ => answers[2],
                    };
                    if answer == "error" {
                        return Err("boom");
                    }
                    Ok(a(answer, 1.0))
                })
                .name(name)
                .evaluator(EqualsExpected::default())
                .evaluator(evaluator_fn(
                    "Length",
                    |ctx: &EvaluatorContext<QuestionInput, AnswerOutput, CaseMetadata>| {
                        ctx.output.answer.len() as f64
                    },
                ))
                .progress(false)
                .await
        }
    };
    let baseline = run("v1", ["x", "wrong", "x"]).await;
    let current = run("v2", ["x", "x", "error"]).await;
    (baseline, current)
}

#[tokio::test]
async fn reports_round_trip_through_json() {
    let (report, _) = baseline_and_current().await;
    let json = report.to_json().unwrap();
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["name"], "v1");
    assert_eq!(value["cases"][0]["inputs"], json!({"question": "same"}));
    assert!(
        value["cases"][0]["task_duration"].is_f64(),
        "seconds, as pydantic-evals"
    );
    assert_eq!(value["averages"]["assertions"], json!(2.0 / 3.0));
    let back =
        EvaluationReport::<QuestionInput, AnswerOutput, CaseMetadata>::from_json(&json).unwrap();
    assert_eq!(back, report);
    // Untyped readers see the same report.
    let untyped = EvaluationReport::<Value, Value, Value>::from_json(&json).unwrap();
    assert_eq!(
        untyped.cases[1].output,
        json!({"answer": "wrong", "confidence": 1.0})
    );
    // A report whose values no longer fit the types says where.
    let err = EvaluationReport::<String, AnswerOutput, CaseMetadata>::from_json(&json).unwrap_err();
    assert!(err.to_string().contains("`cases[0].inputs`"), "{err}");
}

#[tokio::test]
async fn comparison_shows_per_case_and_aggregate_deltas() {
    let (baseline, current) = baseline_and_current().await;
    let comparison = current.compare(&baseline);
    assert_eq!(
        (comparison.baseline_name.as_str(), comparison.name.as_str()),
        ("v1", "v2")
    );
    let fixed = comparison.case("fixed").unwrap();
    assert_eq!(
        fixed.changed_assertions(),
        [("EqualsExpected".to_owned(), Some(false), Some(true))]
    );
    assert_eq!(fixed.score_delta("Length"), Some(-4.0));
    assert!(fixed.output_changed());
    let same = comparison.case("same").unwrap();
    assert!(same.changed_assertions().is_empty() && !same.output_changed());
    let broken = comparison.case("broken").unwrap();
    assert!(broken.current.as_ref().unwrap().failure.is_some());
    assert_eq!(broken.changed_assertions().len(), 1);
    // Aggregates: 2 of 3 passed before, 2 of 2 now.
    let delta = comparison.pass_rate_delta().unwrap();
    assert!((delta - 1.0 / 3.0).abs() < 1e-9, "{delta}");
    assert_eq!(comparison.score_delta("Length"), Some(1.0 - 7.0 / 3.0));
    let text = comparison.render(&RenderOptions {
        width: 200,
        ..RenderOptions::default().with_values()
    });
    assert!(text.contains("Evaluation Diff: v1 → v2"), "{text}");
    assert!(text.contains("EqualsExpected: ✗ → ✔"), "{text}");
    assert!(text.contains("66.7% → 100.0% ✔ (+33.3pp)"), "{text}");
    assert!(text.contains("error: boom"), "{text}");
}

#[tokio::test]
async fn reports_render_as_tables_with_long_values_cut() {
    let long_question = "why ".repeat(50);
    let dataset: Qa = Dataset::new(
        "rendered",
        vec![case(&long_question, "because"), case("fail", "x")],
    );
    let report = dataset
        .evaluate(|input: QuestionInput| async move {
            if input.question == "fail" {
                return Err("no answer");
            }
            Ok(a("because", 1.0))
        })
        .name("experiment-1")
        .evaluator(EqualsExpected::default())
        .progress(false)
        .await;
    let options = RenderOptions {
        width: 100,
        max_value_chars: 30,
        ..RenderOptions::default().with_values()
    };
    let plain = report.render(&RenderOptions::default());
    assert!(
        !plain.contains("Inputs") && plain.contains("Assertions"),
        "{plain}"
    );
    let text = report.render(&options);
    assert!(text.contains("Evaluation Summary: experiment-1"), "{text}");
    for header in [
        "Case ID",
        "Inputs",
        "Expected Output",
        "Outputs",
        "Assertions",
        "Duration",
    ] {
        assert!(text.contains(header), "{header} in\n{text}");
    }
    assert!(text.contains('…'), "long values are cut:\n{text}");
    assert!(!text.contains(&long_question), "{text}");
    assert!(
        text.contains("Averages") && text.contains("100.0% ✔"),
        "{text}"
    );
    assert!(
        text.contains("Case Failures") && text.contains("error: no answer"),
        "{text}"
    );
    assert!(
        text.lines().all(|line| line.chars().count() <= 100),
        "{text}"
    );
}

#[test]
fn bad_files_are_errors_naming_the_file_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // A missing file is an I/O error naming it.
    let missing = dir.path().join("missing.yaml");
    let err = Qa::from_file(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, source } if *path == missing
            && source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    let wrong_type = write(
        "wrong.yaml",
        "cases:\n- inputs: {question: ok}\n- inputs: {question: 3}\n",
    );
    let err = Qa::from_file(&wrong_type).unwrap_err().to_string();
    assert!(
        err.contains("wrong.yaml") && err.contains("`cases[1].inputs.question`"),
        "{err}"
    );
    assert!(
        err.contains("invalid type: integer `3`, expected a string"),
        "{err}"
    );

    let unknown = write("unknown.json", r#"{"cases": [], "evaluator": []}"#);
    let err = Qa::from_file(&unknown).unwrap_err().to_string();
    assert!(err.contains("unknown key `evaluator`"), "{err}");

    let bad_spec = write(
        "spec.yaml",
        "cases:\n- inputs: {question: ok}\n  evaluators: [EqualsExpected, {A: 1, B: 2}]\n",
    );
    let err = Qa::from_file(&bad_spec).unwrap_err().to_string();
    assert!(
        err.contains("`cases[0].evaluators[1]`") && err.contains("single key"),
        "{err}"
    );

    let syntax = write("syntax.yaml", "cases: [\n");
    let err = Qa::from_file(&syntax).unwrap_err().to_string();
    assert!(err.contains("syntax.yaml") && err.contains("line"), "{err}");

    let err = Qa::from_file(dir.path().join("data.txt"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("use .yaml, .yml or .json"), "{err}");

    // The name defaults to the file's stem, as in pydantic-evals.
    let unnamed = write("golden.yml", "cases: []\n");
    assert_eq!(
        Qa::from_file(&unnamed).unwrap().name.as_deref(),
        Some("golden")
    );
    let text = Qa::new("t", vec![case("q", "a")])
        .to_text(Format::Json, None)
        .unwrap();
    assert_eq!(
        Qa::from_text(&text, Format::Json).unwrap().cases[0].inputs,
        q("q")
    );
}

#[tokio::test]
async fn a_managed_dataset_is_exported_evaluated_and_compared() {
    let server = EmbeddedServer::start().unwrap();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let golden = client.dataset::<GoldenSet>();
    golden.ensure().await.unwrap();
    golden
        .add_cases(vec![case("What is 2+2?", "4"), case("What is 3+3?", "6")])
        .await
        .unwrap();
    client
        .update_dataset(GoldenSet::NAME)
        .evaluators([EvaluatorSpec::new("EqualsExpected")])
        .await
        .unwrap();

    let local = golden.export().await.unwrap();
    assert_eq!(local.evaluators, [EvaluatorSpec::new("EqualsExpected")]);
    let guess = |answer: &'static str| move |_: QuestionInput| async move { a(answer, 1.0) };
    let baseline = local
        .evaluate(guess("4"))
        .name("always-4")
        .progress(false)
        .await;
    let current = local
        .evaluate(|input: QuestionInput| async move {
            let sum: u32 = input
                .question
                .trim_start_matches("What is ")
                .trim_end_matches('?')
                .split('+')
                .map(|n| n.parse::<u32>().unwrap())
                .sum();
            a(&sum.to_string(), 1.0)
        })
        .name("adds")
        .progress(false)
        .await;
    assert_eq!(baseline.averages().assertions, Some(0.5));
    assert_eq!(current.averages().assertions, Some(1.0));
    let comparison = current.compare(&baseline);
    assert_eq!(
        comparison
            .case("What is 3+3?")
            .unwrap()
            .changed_assertions(),
        [("EqualsExpected".to_owned(), Some(false), Some(true))]
    );
}

#[test]
fn evaluations_run_from_synchronous_code_but_refuse_inside_a_runtime() {
    let dataset: Qa = Dataset::new("sync", vec![case("a", "x")]);
    let report = dataset
        .evaluate(|_: QuestionInput| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            a("x", 1.0)
        })
        .evaluator(EqualsExpected::default())
        .timeout(Duration::from_secs(5))
        .progress(false)
        .run_blocking()
        .unwrap();
    assert!(report.cases[0].assertions["EqualsExpected"].value);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = runtime.block_on(async {
        dataset
            .evaluate(|_: QuestionInput| async { a("x", 1.0) })
            .run_blocking()
            .unwrap_err()
    });
    assert!(matches!(err, Error::Blocking(_)), "{err}");
}
