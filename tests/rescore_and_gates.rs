//! Re-scoring stored outputs with new evaluators (no task call), from a
//! report and from an experiment recorded on the real server; and CI gates
//! over a run: a pass rate, and no regressions against a baseline.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datasets::eval::{
    Contains, Dataset, EqualsExpected, EvaluationReport, Evaluator, EvaluatorContext,
    EvaluatorFuture, EvaluatorOutput, GateProblem, RegressionKind, set_metric,
};
use datasets::{Case, EmbeddedServer};

/// Scores how much of the expected answer the output holds, with a label.
struct Overlap;

impl Evaluator<String, String, ()> for Overlap {
    fn name(&self) -> Cow<'_, str> {
        "Overlap".into()
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a EvaluatorContext<String, String, ()>,
    ) -> EvaluatorFuture<'a> {
        Box::pin(async move {
            let expected = ctx.expected_output.clone().unwrap_or_default();
            let shared = expected.chars().filter(|c| ctx.output.contains(*c)).count();
            let score = shared as f64 / expected.chars().count().max(1) as f64;
            Ok(EvaluatorOutput::score(score)
                .and("long", (ctx.output.len() >= 4).into())
                .and(
                    "size",
                    (if ctx.output.len() > 4 {
                        "long"
                    } else {
                        "short"
                    })
                    .into(),
                )
                .reason(format!(
                    "{shared} shared; {} tokens",
                    ctx.metrics.get("tokens").copied().unwrap_or(0.0)
                )))
        })
    }
}

fn dataset() -> Dataset<String, String, ()> {
    let cases = (0..12)
        .map(|i| {
            let word = ["alpha", "beta", "gamma", "delta"][i % 4];
            Case::new(format!("{word}-{i}"))
                .expected_output(word.to_uppercase())
                .name(format!("case-{i}"))
        })
        .collect();
    Dataset::new("words", cases)
}

/// The task: upper-cases the word, except every fifth case; counts calls.
fn task(calls: &AtomicUsize) -> impl Fn(String) -> std::future::Ready<String> + Send + Sync + '_ {
    move |input: String| {
        calls.fetch_add(1, Ordering::SeqCst);
        let (word, index) = input.split_once('-').unwrap();
        set_metric("tokens", word.len() as f64);
        let index: usize = index.parse().unwrap();
        std::future::ready(if index.is_multiple_of(5) {
            word.to_owned()
        } else {
            word.to_uppercase()
        })
    }
}

fn results(report: &EvaluationReport<String, String, ()>) -> Vec<String> {
    report
        .cases
        .iter()
        .map(|c| {
            format!(
                "{} {:?} {:?} {:?} {:?}",
                c.name, c.scores, c.assertions, c.labels, c.evaluator_failures
            )
        })
        .collect()
}

#[tokio::test]
async fn rescoring_gives_a_new_run_s_results_without_calling_the_task() {
    let calls = AtomicUsize::new(0);
    let dataset = dataset();
    let first = dataset
        .evaluate(task(&calls))
        .evaluator(EqualsExpected::default())
        .name("first")
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 12);

    let rescored = first
        .rescore(vec![Arc::new(Overlap)])
        .evaluator(Contains::new("A"))
        .name("rescored")
        .await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        12,
        "re-scoring never calls the task"
    );
    let again = dataset
        .evaluate(task(&calls))
        .evaluator(Overlap)
        .evaluator(Contains::new("A"))
        .name("again")
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 24);
    assert_eq!(results(&rescored), results(&again));
    // Evaluators of several types, boxed; or of one type, as they are.
    let boxed: Vec<Box<dyn Evaluator<String, String, ()>>> =
        vec![Box::new(Overlap), Box::new(Contains::new("A"))];
    assert_eq!(results(&first.rescore(boxed).await), results(&again));
    let plain = first.rescore([EqualsExpected::default()]).await;
    assert_eq!(results(&plain), results(&first));
    assert_eq!(calls.load(Ordering::SeqCst), 24);
    // Only the new evaluators' results; the outputs, metrics and durations kept.
    assert!(
        rescored
            .cases
            .iter()
            .all(|c| !c.assertions.contains_key("EqualsExpected"))
    );
    for (old, new) in first.cases.iter().zip(&rescored.cases) {
        assert_eq!(
            (&old.output, &old.metrics, old.task_duration),
            (&new.output, &new.metrics, new.task_duration)
        );
    }
    // Comparable with the old run, case by case.
    let comparison = rescored.compare(&first);
    assert_eq!(comparison.cases.len(), 12);
    assert!(!comparison.cases[0].output_changed());
}

#[tokio::test]
async fn a_recorded_experiment_rescores_the_same_as_the_report() {
    let server = EmbeddedServer::start().unwrap();
    let client = datasets::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    let report = dataset()
        .evaluate(task(&calls))
        .evaluator(EqualsExpected::default())
        .await;
    let stored = report.record(&client).await.unwrap();
    let detail = client.get_experiment(stored.id).await.unwrap();
    let read_back = EvaluationReport::<String, String, ()>::from_experiment(&detail).unwrap();
    let from_experiment = read_back.rescore(vec![Arc::new(Overlap)]).await;
    let from_report = report.rescore(vec![Arc::new(Overlap)]).await;
    assert_eq!(results(&from_experiment), results(&from_report));
    assert_eq!(calls.load(Ordering::SeqCst), 12);
    // And it records as an experiment of its own.
    let again = from_experiment.record(&client).await.unwrap();
    assert_ne!(again.id, stored.id);
}

#[tokio::test]
async fn a_gate_holds_or_names_the_worst_cases() {
    let calls = AtomicUsize::new(0);
    let dataset = dataset();
    let baseline = dataset
        .evaluate(|input: String| async move { input.split_once('-').unwrap().0.to_uppercase() })
        .evaluator(EqualsExpected::default())
        .evaluator(Overlap)
        .name("baseline")
        .await;
    assert!(baseline.gate().pass_rate_at_least(1.0).check().is_ok());
    assert!(
        baseline
            .gate()
            .no_regressions_against(&baseline, 0.0)
            .is_ok()
    );

    // Cases 0, 5 and 10 now fail their assertion and lose score; case 7's
    // task fails.
    let worse = dataset
        .evaluate(|input: String| {
            let calls = &calls;
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let (word, index) = input.split_once('-').unwrap();
                match index.parse::<usize>().unwrap() {
                    7 => Err("the model timed out".to_owned()),
                    i if i.is_multiple_of(5) => Ok(word.to_owned()),
                    _ => Ok(word.to_uppercase()),
                }
            }
        })
        .evaluator(EqualsExpected::default())
        .evaluator(Overlap)
        .name("worse")
        .await;
    assert_eq!(worse.failures.len(), 1);
    // 8 of 12 runs pass: 3 failed assertions and one failed task.
    let failure = worse.gate().pass_rate_at_least(0.6).check();
    assert!(failure.is_ok(), "{failure:?}");
    let failure = worse
        .gate()
        .pass_rate_at_least(0.9)
        .no_regressions_against(&baseline, 0.05)
        .unwrap_err();
    assert_eq!(failure.problems.len(), 2);
    let GateProblem::PassRate { passed, runs, .. } = &failure.problems[0] else {
        panic!()
    };
    assert_eq!((*passed, *runs), (8, 12));
    let GateProblem::Regressions {
        regressions,
        baseline: name,
    } = &failure.problems[1]
    else {
        panic!()
    };
    assert_eq!(name, "baseline");
    let kinds: Vec<(&str, &RegressionKind)> = regressions
        .iter()
        .map(|r| (r.case.as_str(), &r.kind))
        .collect();
    assert!(
        matches!(kinds[0], ("case-7", RegressionKind::TaskFailed { .. })),
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|(_, k)| matches!(k, RegressionKind::AssertionFailed { .. }))
            .count(),
        3
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|(_, k)| matches!(k, RegressionKind::ScoreDropped { .. }))
            .count(),
        3
    );
    let text = failure.to_string();
    assert!(text.starts_with("evaluation gate failed for \"worse\":\n  pass rate 0.667 is below 0.9 (8 of 12 runs passed)\n  7 regression(s) against \"baseline\", worst first:\n    case-7: the task succeeded in the baseline, fails now: the model timed out\n    case-0: assertion EqualsExpected passed in the baseline, fails now"), "{text}");
    assert!(
        text.contains("case-0: score Overlap fell from 1 to 0 (-1)"),
        "{text}"
    );

    // A drop within the tolerance is no regression.
    assert!(worse.gate().no_regressions_against(&worse, 0.0).is_ok());
    let lenient = worse
        .gate()
        .no_regressions_against(&baseline, 1.0)
        .unwrap_err();
    let GateProblem::Regressions { regressions, .. } = &lenient.problems[0] else {
        panic!()
    };
    assert!(
        regressions
            .iter()
            .all(|r| !matches!(r.kind, RegressionKind::ScoreDropped { .. }))
    );

    // An empty run never passes a pass-rate gate.
    let empty: Dataset<String, String, ()> = Dataset::new("empty", Vec::new());
    let report = empty.evaluate(|s: String| async move { s }).await;
    let text = report
        .gate()
        .pass_rate_at_least(0.0)
        .check()
        .unwrap_err()
        .to_string();
    assert!(text.contains("no case ran"), "{text}");
}

/// What a CI job sees: the gate fails `cargo test` with the worst cases
/// named. (Expected to panic, so this suite stays green.)
#[test]
#[should_panic(expected = "case-0: assertion EqualsExpected passed in the baseline, fails now")]
fn a_regression_fails_cargo_test() {
    let dataset = dataset();
    let baseline = dataset
        .evaluate(|input: String| async move { input.split_once('-').unwrap().0.to_uppercase() })
        .evaluator(EqualsExpected::default())
        .run_blocking()
        .unwrap();
    let today = dataset
        .evaluate(|input: String| async move { input.split_once('-').unwrap().0.to_owned() })
        .evaluator(EqualsExpected::default())
        .run_blocking()
        .unwrap();
    if let Err(failure) = today
        .gate()
        .pass_rate_at_least(0.9)
        .no_regressions_against(&baseline, 0.0)
    {
        panic!("{failure}");
    }
}
