//! Re-scoring: new evaluators over the outputs a report (or a recorded
//! experiment) already holds, without running the task again.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::join_all;
use serde::Serialize;

use super::score;
use crate::error::{Error, Result};
use crate::eval::evaluator::{Evaluator, EvaluatorContext, EvaluatorRegistry};
use crate::eval::report::{EvaluationReport, EvaluatorFailure, ReportCase};
use crate::eval::report_eval::{self, ReportEvaluator};
use crate::wire::EvaluatorSpec;

/// [`EvaluationReport::rescore`]: options, then `.await` (or
/// [`run_blocking`](Self::run_blocking)) for the new report.
#[must_use = "re-scoring does nothing until it is awaited"]
pub struct Rescore<'r, I, O, M> {
    report: &'r EvaluationReport<I, O, M>,
    evaluators: Vec<Arc<dyn Evaluator<I, O, M>>>,
    failures: Vec<EvaluatorFailure>,
    report_evaluators: Vec<Arc<dyn ReportEvaluator<I, O, M>>>,
    name: Option<String>,
    max_concurrency: usize,
}

impl<I, O, M> std::fmt::Debug for Rescore<'_, I, O, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rescore")
            .field("report", &self.report.name)
            .field("evaluators", &self.evaluators.len())
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<I, O, M> EvaluationReport<I, O, M> {
    /// Scores the outputs this report holds again, with `evaluators` (any
    /// evaluators of one type, `Box<dyn Evaluator>` or `Arc<dyn Evaluator>`
    /// for several, and any added with [`Rescore::evaluator`]), without
    /// running the task:
    /// the new report has the same cases, outputs, metrics, durations and
    /// task failures, and only the new evaluators' results, so it compares
    /// with this one case by case ([`compare`](Self::compare)). A recorded
    /// experiment re-scores the same way, once read back with
    /// [`EvaluationReport::from_experiment`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use datasets_core::Case;
    /// use datasets_core::eval::{Contains, Dataset, EqualsExpected};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let dataset: Dataset<String, String, ()> = Dataset::new("shout", vec![
    ///     Case::new("hello".to_owned()).expected_output("HELLO".to_owned()),
    /// ]);
    /// let report = dataset.evaluate(|text: String| async move { text.to_uppercase() }).await;
    /// // Yesterday's outputs, today's evaluator: the task does not run.
    /// let rescored = report.rescore(vec![Arc::new(EqualsExpected::default())]).await;
    /// assert_eq!(rescored.averages().assertions, Some(1.0));
    /// # }
    /// ```
    pub fn rescore<E>(&self, evaluators: impl IntoIterator<Item = E>) -> Rescore<'_, I, O, M>
    where
        E: Evaluator<I, O, M> + 'static,
    {
        Rescore {
            report: self,
            evaluators: evaluators
                .into_iter()
                .map(|e| Arc::new(e) as Arc<dyn Evaluator<I, O, M>>)
                .collect(),
            failures: Vec::new(),
            report_evaluators: Vec::new(),
            name: None,
            max_concurrency: 16,
        }
    }
}

impl<'r, I, O, M> Rescore<'r, I, O, M> {
    /// Adds an evaluator.
    pub fn evaluator(mut self, evaluator: impl Evaluator<I, O, M> + 'static) -> Self {
        self.evaluators.push(Arc::new(evaluator));
        self
    }

    /// Adds the evaluators these specs name, built with `registry`; a spec
    /// that cannot be built is an evaluator failure on every case, as in a
    /// run.
    pub fn specs(mut self, specs: &[EvaluatorSpec], registry: &EvaluatorRegistry<I, O, M>) -> Self
    where
        I: 'static,
        O: 'static,
        M: 'static,
    {
        for spec in specs {
            match registry.build(spec) {
                Ok(evaluator) => self.evaluators.push(Arc::from(evaluator)),
                Err(err) => self.failures.push(EvaluatorFailure::of_spec(spec, err)),
            }
        }
        self
    }

    /// Runs a report evaluator over the re-scored report too.
    pub fn report_evaluator(mut self, evaluator: impl ReportEvaluator<I, O, M> + 'static) -> Self {
        self.report_evaluators.push(Arc::new(evaluator));
        self
    }

    /// The new report's name (default: the old one's).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How many cases are scored at once (default 16): bounds the calls of
    /// evaluators that call a model.
    pub fn max_concurrency(mut self, cases: usize) -> Self {
        self.max_concurrency = cases.max(1);
        self
    }
}

impl<'r, I, O, M> Rescore<'r, I, O, M>
where
    I: Clone + Serialize + Send + Sync + 'static,
    O: Clone + Serialize + Send + Sync + 'static,
    M: Clone + Serialize + Send + Sync + 'static,
{
    async fn run(self) -> EvaluationReport<I, O, M> {
        let old = self.report;
        let evaluators = &self.evaluators;
        let known = &self.failures;
        let next = AtomicUsize::new(0);
        let workers = self.max_concurrency.clamp(1, old.cases.len().max(1));
        let worker = || async {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = old.cases.get(index) else {
                    break done;
                };
                done.push((index, rescore_case(case, evaluators, known).await));
            }
        };
        let mut rescored: Vec<(usize, ReportCase<I, O, M>)> =
            join_all((0..workers).map(|_| worker()))
                .await
                .into_iter()
                .flatten()
                .collect();
        rescored.sort_by_key(|(index, _)| *index);
        let cases = rescored.into_iter().map(|(_, case)| case).collect();
        let mut report = EvaluationReport {
            name: self.name.clone().unwrap_or_else(|| old.name.clone()),
            dataset_name: old.dataset_name.clone(),
            dataset_version: old.dataset_version,
            cases,
            failures: old.failures.clone(),
            task_name: old.task_name.clone(),
            experiment_metadata: old.experiment_metadata.clone(),
            analyses: Vec::new(),
            report_evaluator_failures: Vec::new(),
            trace_id: None,
            span_id: None,
        };
        report_eval::run_report_evaluators(&mut report, &self.report_evaluators).await;
        report
    }

    /// Re-scores from synchronous code, on a runtime of its own; on a
    /// thread inside an async runtime, [`Error::Blocking`] (`.await` there).
    pub fn run_blocking(self) -> Result<EvaluationReport<I, O, M>> {
        crate::runtime::refuse_inside_runtime("Rescore::run_blocking", ".await it there")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| Error::Blocking(format!("cannot start the runtime: {err}")))?;
        Ok(runtime.block_on(self.run()))
    }
}

/// One case scored again by `evaluators`.
async fn rescore_case<I: Clone, O: Clone, M: Clone>(
    case: &ReportCase<I, O, M>,
    evaluators: &[Arc<dyn Evaluator<I, O, M>>],
    known: &[EvaluatorFailure],
) -> ReportCase<I, O, M> {
    let started = Instant::now();
    let ctx = EvaluatorContext {
        name: case.name.clone(),
        inputs: case.inputs.clone(),
        expected_output: case.expected_output.clone(),
        metadata: case.metadata.clone(),
        output: case.output.clone(),
        duration: case.task_duration,
        metrics: case.metrics.clone(),
        attributes: case.attributes.clone(),
    };
    let scored = score::score(evaluators.iter(), &ctx, known.to_vec()).await;
    let task = score::TaskRun {
        source_case_name: case.source_case_name.clone(),
        task_duration: case.task_duration,
        // The task's time as it was, and this scoring's.
        total_duration: case.task_duration + started.elapsed(),
        attempts: case.attempts,
    };
    scored.into_case(ctx, task)
}

impl<'r, I, O, M> IntoFuture for Rescore<'r, I, O, M>
where
    I: Clone + Serialize + Send + Sync + 'static,
    O: Clone + Serialize + Send + Sync + 'static,
    M: Clone + Serialize + Send + Sync + 'static,
{
    type Output = EvaluationReport<I, O, M>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'r>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
