//! Scoring one run of one case: each evaluator run (an error or a panic
//! becoming its failure), results named as pydantic-evals names them. The
//! harness and re-scoring share it.

use crate::eval::evaluator::panic_message;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join_all;

use crate::eval::evaluator::{EvaluationValue, Evaluator, EvaluatorContext, EvaluatorOutput};
use crate::eval::report::{EvaluationResult, EvaluatorFailure, ReportCase};
use crate::wire::EvaluatorSpec;

/// Runs `evaluators` on one run concurrently: its results, and its
/// failures after those already known (`failures`).
pub(super) async fn score<'e, I, O, M>(
    evaluators: impl Iterator<Item = &'e Arc<dyn Evaluator<I, O, M>>>,
    ctx: &EvaluatorContext<I, O, M>,
    failures: Vec<EvaluatorFailure>,
) -> Scored
where
    I: 'e,
    O: 'e,
    M: 'e,
{
    let outcomes = join_all(evaluators.map(|evaluator| evaluate(evaluator.as_ref(), ctx))).await;
    let mut scored = Scored {
        failures,
        ..Scored::default()
    };
    for outcome in outcomes {
        match outcome {
            Ok((output, spec)) => scored.add(output, spec),
            Err(failure) => scored.failures.push(failure),
        }
    }
    scored
}

/// How a run's task went, for its report case.
pub(super) struct TaskRun {
    pub(super) source_case_name: Option<String>,
    pub(super) task_duration: Duration,
    pub(super) total_duration: Duration,
    pub(super) attempts: u32,
}

impl Scored {
    /// The report case of the run `ctx` describes, with these results and
    /// the metrics the evaluators added to the task's.
    pub(super) fn into_case<I, O, M>(
        self,
        ctx: EvaluatorContext<I, O, M>,
        task: TaskRun,
    ) -> ReportCase<I, O, M> {
        let mut metrics = ctx.metrics;
        for (name, value) in self.metrics {
            *metrics.entry(name).or_default() += value;
        }
        ReportCase {
            name: ctx.name,
            source_case_name: task.source_case_name,
            inputs: ctx.inputs,
            metadata: ctx.metadata,
            expected_output: ctx.expected_output,
            output: ctx.output,
            metrics,
            attributes: ctx.attributes,
            scores: self.scores,
            labels: self.labels,
            assertions: self.assertions,
            task_duration: task.task_duration,
            total_duration: task.total_duration,
            attempts: task.attempts,
            evaluator_failures: self.failures,
        }
    }
}

/// Runs one evaluator, turning an error or a panic into its failure.
async fn evaluate<I, O, M>(
    evaluator: &dyn Evaluator<I, O, M>,
    ctx: &EvaluatorContext<I, O, M>,
) -> std::result::Result<(NamedOutput, Option<EvaluatorSpec>), EvaluatorFailure> {
    let name = evaluator.name().into_owned();
    let spec = evaluator.spec();
    let failure = |message: String| EvaluatorFailure {
        name: name.clone(),
        error_message: message,
        source: spec.clone(),
    };
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| evaluator.evaluate(ctx))) {
        Err(panic) => return Err(failure(format!("panicked: {}", panic_message(&*panic)))),
        Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
    };
    match outcome {
        Ok(Ok(output)) => {
            let not_finite = output.results.iter().find_map(|raw| match raw.value {
                EvaluationValue::Score(score) if !score.is_finite() => Some(score),
                _ => None,
            });
            if let Some(score) = not_finite {
                return Err(failure(format!(
                    "returned the score {score}; scores must be finite"
                )));
            }
            Ok((
                NamedOutput {
                    default_name: name.clone(),
                    output,
                },
                spec.clone(),
            ))
        }
        Ok(Err(err)) => Err(failure(err.to_string())),
        Err(panic) => Err(failure(format!("panicked: {}", panic_message(&*panic)))),
    }
}

struct NamedOutput {
    default_name: String,
    output: EvaluatorOutput,
}

/// A case's results by kind, names made unique as pydantic-evals does
/// (`name`, `name_2`, ...).
#[derive(Default)]
pub(super) struct Scored {
    seen: BTreeSet<String>,
    assertions: BTreeMap<String, EvaluationResult<bool>>,
    scores: BTreeMap<String, EvaluationResult<f64>>,
    labels: BTreeMap<String, EvaluationResult<String>>,
    /// Metrics the evaluators added to the case's.
    metrics: BTreeMap<String, f64>,
    /// The evaluators that failed.
    failures: Vec<EvaluatorFailure>,
}

/// One named result of an evaluator, from the spec that gave it.
fn result<T>(
    name: &str,
    value: T,
    reason: Option<String>,
    source: &Option<EvaluatorSpec>,
) -> EvaluationResult<T> {
    EvaluationResult {
        name: name.to_owned(),
        value,
        reason,
        source: source.clone(),
    }
}

impl Scored {
    fn add(&mut self, named: NamedOutput, source: Option<EvaluatorSpec>) {
        for (name, value) in named.output.metrics {
            *self.metrics.entry(name).or_default() += value;
        }
        for raw in named.output.results {
            let base = raw.name.unwrap_or_else(|| named.default_name.clone());
            let mut name = base.clone();
            let mut suffix = 2;
            while self.seen.contains(&name) {
                name = format!("{base}_{suffix}");
                suffix += 1;
            }
            self.seen.insert(name.clone());
            let reason = raw.reason;
            match raw.value {
                EvaluationValue::Assertion(value) => {
                    let result = result(&name, value, reason, &source);
                    self.assertions.insert(name, result);
                }
                EvaluationValue::Score(value) => {
                    let result = result(&name, value, reason, &source);
                    self.scores.insert(name, result);
                }
                EvaluationValue::Label(value) => {
                    let result = result(&name, value, reason, &source);
                    self.labels.insert(name, result);
                }
            }
        }
    }
}
