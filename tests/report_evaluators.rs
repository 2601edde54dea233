//! Report evaluators: pydantic-evals' four built-ins named in a dataset
//! file's `report_evaluators` run after the cases; the same predictions
//! scored in Rust and by the real pydantic-evals (`interop/report_evaluators.py`,
//! with `DATASETS_INTEROP_PYTHON`) give the same analyses to 1e-9, and the
//! same failures; the analyses print, travel in the JSON report, and are
//! kept by a recorded experiment.

#[path = "support/interop.rs"]
mod interop;

use std::borrow::Cow;

use datasets::eval::{
    ConfusionMatrix, ConfusionMatrixEvaluator, Dataset, EvaluationReport, PositiveFrom,
    ROCAUCEvaluator, RenderOptions, ReportAnalysis, ReportEvaluator, ReportEvaluatorContext,
    ReportEvaluatorFuture, ScalarResult, ValueFrom, increment_metric,
};
use datasets::{Case, EmbeddedServer};
use serde_json::{Value, json};

/// A dataset file of `n` cases: a predicted and an expected class, a score
/// (with ties) and whether the case is positive, and the report
/// evaluators, one of them misconfigured.
fn dataset_file(n: usize) -> String {
    let classes = ["bird", "cat", "dog"];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut yaml = String::from("name: reports-data\ncases:\n");
    for i in 0..n {
        let score = (next() % 21) as f64 / 20.0;
        // Positives lean to high scores, with noise.
        let positive = score + (next() % 100) as f64 / 200.0 > 0.75;
        let expected = classes[(next() % 3) as usize];
        let predicted = if next() % 4 == 0 {
            classes[(next() % 3) as usize]
        } else {
            expected
        };
        yaml.push_str(&format!(
            "- name: case-{i}\n  inputs:\n    predicted: {predicted}\n    score: {score}\n  expected_output: {}\n  metadata:\n    label: {expected}\n",
            if positive { "true" } else { "false" }
        ));
    }
    yaml.push_str(
        "report_evaluators:\n\
         - ConfusionMatrixEvaluator:\n    predicted_from: output\n    expected_from: metadata\n    expected_key: label\n\
         - PrecisionRecallEvaluator:\n    score_key: confidence\n    positive_from: expected_output\n    score_from: metrics\n    n_thresholds: 7\n\
         - ROCAUCEvaluator:\n    score_key: confidence\n    positive_from: expected_output\n    score_from: metrics\n    n_thresholds: 5\n\
         - KolmogorovSmirnovEvaluator:\n    score_key: confidence\n    positive_from: expected_output\n    score_from: metrics\n    n_thresholds: 6\n\
         - ConfusionMatrixEvaluator:\n    predicted_from: labels\n",
    );
    yaml
}

async fn run_rust(path: &std::path::Path) -> EvaluationReport<Value, Value, Value> {
    let dataset = Dataset::<Value, Value, Value>::from_file(path).unwrap();
    dataset
        .evaluate(|inputs: Value| async move {
            // As the Python side: a score of 0 records no metric, so its case
            // is left out of the curves.
            increment_metric("confidence", inputs["score"].as_f64().unwrap());
            inputs["predicted"].clone()
        })
        .name("reports")
        .progress(false)
        .await
}

/// `a` and `b` are the same JSON, numbers within 1e-9.
fn assert_close(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9, "{at}: {x} != {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{at}: keys");
            for (key, value) in x {
                assert_close(value, &y[key], &format!("{at}.{key}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[tokio::test]
async fn the_built_ins_agree_with_pydantic_evals_to_1e_9() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for n in [60, 3] {
        let path = dir.path().join(format!("reports-{n}.yaml"));
        std::fs::write(&path, dataset_file(n)).unwrap();
        let out = dir.path().join(format!("python-{n}.json"));
        interop::run(&python, "report_evaluators.py", &[&"run", &path, &out]);
        let python: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let report = run_rust(&path).await;
        assert_eq!(report.analyses.len(), 7, "{n} cases");
        assert_close(
            &Value::Array(report.analyses.clone()),
            &python["analyses"],
            &format!("{n} cases: analyses"),
        );
        let failures: Vec<Value> = report
            .report_evaluator_failures
            .iter()
            .map(|f| json!({"name": f["name"], "error_message": f["error_message"]}))
            .collect();
        assert_eq!(
            Value::Array(failures),
            python["failures"],
            "{n} cases: failures"
        );
    }
}

#[tokio::test]
async fn analyses_print_travel_in_the_report_and_are_kept_by_an_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reports.yaml");
    std::fs::write(&path, dataset_file(40)).unwrap();
    let report = run_rust(&path).await;
    let text = report.render(&RenderOptions::default());
    assert!(
        text.contains("Confusion Matrix") && text.contains("Expected \\ Predicted"),
        "{text}"
    );
    assert!(
        text.contains("Precision-Recall Curve\n  reports: 7 points, AUC="),
        "{text}"
    );
    assert!(text.contains("ROC Curve\n  reports (AUC: "), "{text}");
    assert!(text.contains("KS Statistic: "), "{text}");
    assert!(
        text.contains("Report Evaluator Failures:\n  ConfusionMatrixEvaluator: ValueError: 'key' is required when from_='labels'"),
        "{text}"
    );
    // pydantic-evals' names, at the top level of the JSON report.
    let json: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    assert_eq!(json["analyses"][0]["type"], "confusion_matrix");
    assert_eq!(
        json["report_evaluator_failures"][0]["source"]["name"],
        "ConfusionMatrixEvaluator"
    );
    let back =
        EvaluationReport::<Value, Value, Value>::from_json(&report.to_json().unwrap()).unwrap();
    assert_eq!(back.analyses, report.analyses);

    let server = EmbeddedServer::start().unwrap();
    let client = datasets::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let stored = report.record(&client).await.unwrap();
    let detail = client.get_experiment(stored.id).await.unwrap();
    assert_eq!(detail.experiment.analyses, report.analyses);
    assert_eq!(detail.experiment.report_evaluator_failures.len(), 1);
}

/// A report evaluator of one's own: the share of cases whose output is
/// their expected class.
struct Accuracy;

impl ReportEvaluator<String, String, ()> for Accuracy {
    fn name(&self) -> Cow<'_, str> {
        "Accuracy".into()
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a ReportEvaluatorContext<'a, String, String, ()>,
    ) -> ReportEvaluatorFuture<'a> {
        Box::pin(async move {
            let cases = &ctx.report.cases;
            if cases.is_empty() {
                return Err("no cases to score".into());
            }
            let right = cases
                .iter()
                .filter(|c| c.expected_output.as_ref() == Some(&c.output))
                .count();
            Ok(vec![ReportAnalysis::from(ScalarResult {
                title: format!("{} accuracy", ctx.name),
                description: None,
                value: right as f64 / cases.len() as f64 * 100.0,
                unit: Some("%".into()),
            })])
        })
    }
}

#[tokio::test]
async fn report_evaluators_of_ones_own_and_typed_built_ins() {
    let cases = [
        ("a", "x", "x"),
        ("b", "y", "x"),
        ("c", "y", "y"),
        ("d", "x", "x"),
    ]
    .map(|(name, expected, _)| {
        Case::new(name.to_owned())
            .expected_output(expected.to_owned())
            .name(name)
    });
    let dataset: Dataset<String, String, ()> = Dataset::new("typed", cases.into());
    let predicted = |name: &str| match name {
        "a" | "b" | "d" => "x",
        _ => "y",
    };
    let report = dataset
        .evaluate(|name: String| async move { predicted(&name).to_owned() })
        .name("typed-run")
        .report_evaluator(Accuracy)
        .report_evaluator(ConfusionMatrixEvaluator::default())
        .report_evaluator(ROCAUCEvaluator::new(
            "missing",
            PositiveFrom::ExpectedOutput,
        ))
        .await;
    let analyses: Vec<ReportAnalysis> = report
        .analyses
        .iter()
        .map(|a| serde_json::from_value(a.clone()).unwrap())
        .collect();
    assert_eq!(
        analyses[0],
        ReportAnalysis::from(ScalarResult {
            title: "typed-run accuracy".into(),
            description: None,
            value: 75.0,
            unit: Some("%".into()),
        })
    );
    assert_eq!(
        analyses[1],
        ReportAnalysis::from(ConfusionMatrix {
            title: "Confusion Matrix".into(),
            description: None,
            class_labels: vec!["x".into(), "y".into()],
            // b was expected y, predicted x.
            matrix: vec![vec![2, 0], vec![1, 1]],
        })
    );
    // No case has the score: an empty curve and a NaN area, as pydantic-evals.
    let ReportAnalysis::Scalar(auc) = &analyses[3] else {
        panic!("{analyses:?}")
    };
    assert!(auc.value.is_nan());
    assert!(report.report_evaluator_failures.is_empty());
    let _ = ValueFrom::Output;

    // One that fails is a report evaluator failure, and the run goes on.
    let empty: Dataset<String, String, ()> = Dataset::new("empty", Vec::new());
    let report = empty
        .evaluate(|name: String| async move { name })
        .report_evaluator(Accuracy)
        .await;
    assert_eq!(report.report_evaluator_failures[0]["name"], "Accuracy");
    assert_eq!(
        report.report_evaluator_failures[0]["error_message"],
        "no cases to score"
    );
}

#[test]
fn an_unknown_report_evaluator_is_named_and_try_run_refuses() {
    let mut dataset: Dataset<String, String, ()> =
        Dataset::new("d", vec![Case::new("a".to_owned())]);
    dataset.report_evaluators = vec![datasets::wire::EvaluatorSpec::new("NoSuchEvaluator")];
    let err = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(dataset.evaluate(|s: String| async move { s }).try_run())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unknown report evaluator \"NoSuchEvaluator\""),
        "{text}"
    );
    assert!(
        text.contains("ConfusionMatrixEvaluator, KolmogorovSmirnovEvaluator"),
        "{text}"
    );
    let report = dataset
        .evaluate(|s: String| async move { s })
        .run_blocking()
        .unwrap();
    assert_eq!(
        report.report_evaluator_failures[0]["name"],
        "NoSuchEvaluator"
    );
}
