//! Running a task over a dataset's cases: [`Dataset::evaluate`].

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use super::Dataset;
use super::evaluator::{Evaluator, EvaluatorContext, EvaluatorRegistry};
use super::report::{
    EvaluationReport, EvaluatorFailure, FailureKind, ReportCase, ReportCaseFailure,
};
use super::report_eval::{self, ReportEvaluator, ReportEvaluatorRegistry};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::wire::EvaluatorSpec;

mod rescore;
mod score;
mod spans;
mod task;

use crate::eval::evaluator::panic_message;
pub use rescore::Rescore;
pub use task::{
    Fallible, Infallible, TaskOutput, TaskRetry, increment_metric, set_attribute, set_metric,
};
use task::{RECORD, Record};

/// Evaluators built from specs, and the specs that could not be built.
struct Built<I, O, M> {
    evaluators: Vec<Arc<dyn Evaluator<I, O, M>>>,
    failures: Vec<EvaluatorFailure>,
}

/// The evaluators of a run, built before any task runs.
struct Plan<I, O, M> {
    /// Each case's own.
    per_case: Vec<Built<I, O, M>>,
    /// The dataset's, and the extra ones, for every case.
    every_case: Built<I, O, M>,
    /// The report evaluators, the dataset's then the extra ones.
    report: Vec<Arc<dyn ReportEvaluator<I, O, M>>>,
    /// Report evaluator specs that could not be built, as report failures.
    report_failures: Vec<(EvaluatorSpec, Error)>,
}

/// A run of one case (one of its repeats).
struct Run {
    case: usize,
    name: String,
    source_case_name: Option<String>,
}

/// [`Dataset::evaluate`]: options, then `.await` for the report.
///
/// `.await` always gives a report: a task that fails, panics or times out
/// fails its case only; an evaluator that fails, or a spec that names an
/// unknown evaluator, is an evaluator failure on the cases it applies to.
/// [`try_run`](Self::try_run) instead refuses to start when a spec can't be
/// built.
#[must_use = "an evaluation does nothing until it is awaited"]
pub struct Evaluate<'a, I, O, M, F, Mk> {
    dataset: &'a Dataset<I, O, M>,
    task: F,
    name: Option<String>,
    max_concurrency: Option<usize>,
    timeout: Option<Duration>,
    retry: Option<TaskRetry>,
    repeat: usize,
    progress: Option<bool>,
    registry: Option<EvaluatorRegistry<I, O, M>>,
    extra: Vec<Arc<dyn Evaluator<I, O, M>>>,
    report_registry: Option<ReportEvaluatorRegistry<I, O, M>>,
    report_extra: Vec<Arc<dyn ReportEvaluator<I, O, M>>>,
    metadata: Option<Value>,
    marker: PhantomData<fn() -> Mk>,
}

impl<I, O, M, F, Mk> std::fmt::Debug for Evaluate<'_, I, O, M, F, Mk> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluate")
            .field("dataset", &self.dataset.name)
            .field("name", &self.name)
            .field("max_concurrency", &self.max_concurrency)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("repeat", &self.repeat)
            .finish_non_exhaustive()
    }
}

impl<I, O, M> Dataset<I, O, M> {
    /// Runs `task` on every case's inputs, scores each output with the
    /// case's evaluators, the dataset's and any added with
    /// [`Evaluate::evaluator`], and reports.
    ///
    /// The task is an async closure returning the output, or a `Result` of
    /// it whose error fails the case. Set options on what this returns, then
    /// `.await` it (inside a tokio runtime when a timeout or retries are set).
    ///
    /// ```
    /// use datasets_core::Case;
    /// use datasets_core::eval::{Dataset, EqualsExpected};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let dataset: Dataset<String, String, ()> = Dataset::new("shout", vec![
    ///     Case::new("hello".to_owned()).expected_output("HELLO".to_owned()),
    /// ]);
    /// let report = dataset
    ///     .evaluate(|text: String| async move { text.to_uppercase() })
    ///     .evaluator(EqualsExpected::default())
    ///     .max_concurrency(4)
    ///     .await;
    /// assert_eq!(report.averages().assertions, Some(1.0));
    /// report.print();
    /// # }
    /// ```
    pub fn evaluate<F, Fut, Mk>(&self, task: F) -> Evaluate<'_, I, O, M, F, Mk>
    where
        F: Fn(I) -> Fut,
        Fut: Future,
        Fut::Output: TaskOutput<O, Mk>,
    {
        Evaluate {
            dataset: self,
            task,
            name: None,
            max_concurrency: None,
            timeout: None,
            retry: None,
            repeat: 1,
            progress: None,
            registry: None,
            extra: Vec::new(),
            report_registry: None,
            report_extra: Vec::new(),
            metadata: None,
            marker: PhantomData,
        }
    }
}

impl<'a, I, O, M, F, Mk> Evaluate<'a, I, O, M, F, Mk> {
    /// The experiment's name, shown in the report (default: the task
    /// function's name, or `task` for a closure).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Runs at most `n` cases at a time (default: all at once, as pydantic-evals).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// Fails a task attempt that runs longer than `limit`.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Retries failing tasks; see [`TaskRetry`].
    pub fn retry(mut self, retry: TaskRetry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Runs every case `n` times (default 1). Runs are named
    /// `name [run/n]`, with the case's name in `source_case_name`.
    pub fn repeat(mut self, n: usize) -> Self {
        self.repeat = n.max(1);
        self
    }

    /// Shows a progress bar on stderr (`true`) or never (`false`); by
    /// default, when stderr is a terminal.
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = Some(show);
        self
    }

    /// Builds the evaluators the dataset's specs name with this registry
    /// instead of the built-ins alone.
    pub fn registry(mut self, registry: EvaluatorRegistry<I, O, M>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Runs this evaluator on every case too, after the case's and the
    /// dataset's own.
    pub fn evaluator(mut self, evaluator: impl Evaluator<I, O, M> + 'static) -> Self {
        self.extra.push(Arc::new(evaluator));
        self
    }

    /// Builds the report evaluators the dataset's `report_evaluators` specs
    /// name with this registry instead of the built-ins alone.
    pub fn report_registry(mut self, registry: ReportEvaluatorRegistry<I, O, M>) -> Self {
        self.report_registry = Some(registry);
        self
    }

    /// Runs this report evaluator over the finished run too, after the
    /// dataset's own: its analyses join the report's `analyses`.
    pub fn report_evaluator(mut self, evaluator: impl ReportEvaluator<I, O, M> + 'static) -> Self {
        self.report_extra.push(Arc::new(evaluator));
        self
    }

    /// The experiment's metadata (pydantic-evals' `metadata=`): the model,
    /// the prompt's version, whatever tells this run from others. The report
    /// keeps it as `experiment_metadata`; the run's span and a recorded
    /// experiment carry it. A value that cannot be written as JSON is kept
    /// as `null`.
    pub fn metadata(mut self, metadata: impl Serialize) -> Self {
        self.metadata = Some(serde_json::to_value(metadata).unwrap_or(Value::Null));
        self
    }
}

impl<'a, I, O, M, F, Fut, Mk> Evaluate<'a, I, O, M, F, Mk>
where
    I: Clone + Serialize + Send + Sync + 'static,
    O: Clone + Serialize + Send + Sync + 'static,
    M: Clone + Serialize + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'a,
    Fut: Future + Send + 'a,
    Fut::Output: TaskOutput<O, Mk>,
    Mk: 'a,
{
    /// Runs the evaluation, or fails before running any task if a spec of
    /// the dataset or of a case names an unknown evaluator or gives it
    /// arguments that don't fit (the error names it and, for an unknown
    /// one, lists the known).
    pub async fn try_run(self) -> Result<EvaluationReport<I, O, M>> {
        let plan = self.plan();
        let first = plan
            .every_case
            .failures
            .iter()
            .chain(plan.per_case.iter().flat_map(|built| &built.failures))
            .next();
        if let Some(failure) = first {
            return Err(Error::InvalidArgument(failure.error_message.clone()));
        }
        if let Some((_, err)) = plan.report_failures.first() {
            return Err(Error::InvalidArgument(err.to_string()));
        }
        Ok(self.run(plan).await)
    }

    /// Runs the evaluation to the end from synchronous code (pydantic-evals'
    /// `evaluate_sync`), on a runtime of its own.
    ///
    /// Unlike `.await`, which gives the [`EvaluationReport`] itself (a task
    /// or evaluator that fails only fails its case), this returns a
    /// `Result`: it fails when it cannot run at all, that is when no
    /// runtime can be started, or when called on a thread inside an async
    /// runtime, where it returns [`Error::Blocking`] instead of blocking
    /// that runtime (`.await` the evaluation there).
    ///
    /// ```no_run
    /// use datasets_core::eval::{Dataset, EqualsExpected};
    ///
    /// fn main() -> datasets_core::Result<()> {
    ///     let dataset = Dataset::<String, String, ()>::from_file("questions.yaml")?;
    ///     let report = dataset
    ///         .evaluate(|question: String| async move { question.to_uppercase() })
    ///         .evaluator(EqualsExpected::default())
    ///         .run_blocking()?;
    ///     report.print();
    ///     Ok(())
    /// }
    /// ```
    pub fn run_blocking(self) -> Result<EvaluationReport<I, O, M>> {
        crate::runtime::refuse_inside_runtime(
            "Evaluate::run_blocking",
            ".await the evaluation there",
        )?;
        // I/O too: evaluators that call a model (LLMJudge) need it.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| {
                Error::Blocking(format!("cannot start the evaluation's runtime: {err}"))
            })?;
        Ok(runtime.block_on(self.into_future()))
    }

    fn plan(&self) -> Plan<I, O, M> {
        let builtins;
        let registry = match &self.registry {
            Some(registry) => registry,
            None => {
                builtins = EvaluatorRegistry::with_builtins();
                &builtins
            }
        };
        let build = |specs: &[EvaluatorSpec]| {
            let mut built: Vec<Arc<dyn Evaluator<I, O, M>>> = Vec::new();
            let mut failures = Vec::new();
            for spec in specs {
                match registry.build(spec) {
                    Ok(evaluator) => built.push(Arc::from(evaluator)),
                    Err(err) => failures.push(EvaluatorFailure::of_spec(spec, err)),
                }
            }
            Built {
                evaluators: built,
                failures,
            }
        };
        let mut every_case = build(&self.dataset.evaluators);
        every_case.evaluators.extend(self.extra.iter().cloned());
        let report_builtins;
        let report_registry = match &self.report_registry {
            Some(registry) => registry,
            None => {
                report_builtins = ReportEvaluatorRegistry::with_builtins();
                &report_builtins
            }
        };
        let mut report = Vec::new();
        let mut report_failures = Vec::new();
        for spec in &self.dataset.report_evaluators {
            match report_registry.build(spec) {
                Ok(evaluator) => report.push(Arc::from(evaluator)),
                Err(err) => report_failures.push((spec.clone(), err)),
            }
        }
        report.extend(self.report_extra.iter().cloned());
        Plan {
            report,
            report_failures,
            per_case: self
                .dataset
                .cases
                .iter()
                .map(|case| build(&case.evaluators))
                .collect(),
            every_case,
        }
    }

    fn experiment_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.task_name())
    }

    /// The task function's name, or `task` for a closure.
    fn task_name(&self) -> String {
        let task = std::any::type_name::<F>();
        match task.rsplit("::").next() {
            Some(name) if !task.contains('{') && !name.is_empty() => name.to_owned(),
            _ => "task".to_owned(),
        }
    }

    fn runs(&self) -> Vec<Run> {
        let mut runs = Vec::with_capacity(self.dataset.cases.len() * self.repeat);
        for (index, case) in self.dataset.cases.iter().enumerate() {
            let name = case
                .name
                .clone()
                // pydantic-evals' `case.name or f'Case {i}'`: an empty name too.
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| format!("Case {}", index + 1));
            if self.repeat == 1 {
                runs.push(Run {
                    case: index,
                    name,
                    source_case_name: None,
                });
            } else {
                for run in 1..=self.repeat {
                    runs.push(Run {
                        case: index,
                        name: format!("{name} [{run}/{}]", self.repeat),
                        source_case_name: Some(name.clone()),
                    });
                }
            }
        }
        runs
    }

    async fn run(self, plan: Plan<I, O, M>) -> EvaluationReport<I, O, M> {
        let name = self.experiment_name();
        let task_name = self.task_name();
        let runs = self.runs();
        let run_span = spans::RunSpan::open(&spans::RunStart {
            name: &name,
            task_name: &task_name,
            dataset_name: self.dataset.name.as_deref(),
            dataset_version: self.dataset.version,
            n_cases: self.dataset.cases.len(),
            repeat: self.repeat,
            metadata: self.metadata.as_ref(),
        });
        let progress = Progress::new(self.progress, runs.len(), format!("Evaluating {name}"));
        let next = AtomicUsize::new(0);
        let workers = self
            .max_concurrency
            .unwrap_or(runs.len())
            .clamp(1, runs.len().max(1));
        let worker = || async {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(run) = runs.get(index) else {
                    break done;
                };
                done.push((
                    index,
                    self.traced_case(run, &plan, &run_span.span, &task_name)
                        .await,
                ));
                progress.advance();
            }
        };
        let mut outcomes: Vec<(usize, Outcome<I, O, M>)> = join_all((0..workers).map(|_| worker()))
            .instrument(run_span.span.clone())
            .await
            .into_iter()
            .flatten()
            .collect();
        progress.finish();
        outcomes.sort_by_key(|(index, _)| *index);
        let mut report = EvaluationReport {
            name,
            dataset_name: self.dataset.name.clone(),
            dataset_version: self.dataset.version,
            cases: Vec::new(),
            failures: Vec::new(),
            task_name: Some(task_name),
            experiment_metadata: self.metadata.clone(),
            analyses: Vec::new(),
            report_evaluator_failures: Vec::new(),
            trace_id: None,
            span_id: None,
        };
        for (_, outcome) in outcomes {
            match outcome {
                Outcome::Case(case) => report.cases.push(*case),
                Outcome::Failure(failure) => report.failures.push(*failure),
            }
        }
        // As pydantic-evals: report evaluators run inside the run's span,
        // before its attributes (the analyses among them) are set.
        report.report_evaluator_failures.extend(
            plan.report_failures
                .into_iter()
                .map(|(spec, err)| report_eval::build_failure(&spec, err)),
        );
        report_eval::run_report_evaluators(&mut report, &plan.report)
            .instrument(run_span.span.clone())
            .await;
        run_span.close(&report);
        report
    }

    async fn run_case(&self, run: &Run, plan: &Plan<I, O, M>) -> Outcome<I, O, M> {
        let case = &self.dataset.cases[run.case];
        let started = Instant::now();
        let mut attempts = 0u32;
        let (output, task_duration, record) = loop {
            attempts += 1;
            let (attempt, duration, record) = self.attempt(&case.inputs).await;
            let (kind, message) = match attempt {
                Attempt::Output(output) => break (output, duration, record),
                Attempt::Failed(kind, message) => (kind, message),
            };
            let retry = self
                .retry
                .filter(|retry| kind != FailureKind::Panic && attempts <= retry.max_retries);
            match retry {
                Some(retry) => tokio::time::sleep(retry.delay(attempts)).await,
                None => {
                    return Outcome::Failure(Box::new(ReportCaseFailure {
                        name: run.name.clone(),
                        source_case_name: run.source_case_name.clone(),
                        inputs: case.inputs.clone(),
                        metadata: case.metadata.clone(),
                        expected_output: case.expected_output.clone(),
                        kind,
                        error_message: message,
                        attempts,
                        total_duration: started.elapsed(),
                    }));
                }
            }
        };
        let ctx = EvaluatorContext {
            name: run.name.clone(),
            inputs: case.inputs.clone(),
            expected_output: case.expected_output.clone(),
            metadata: case.metadata.clone(),
            output,
            duration: task_duration,
            metrics: record.metrics,
            attributes: record.attributes,
        };
        let own = &plan.per_case[run.case];
        let known = own
            .failures
            .iter()
            .chain(&plan.every_case.failures)
            .cloned()
            .collect();
        let evaluators = own.evaluators.iter().chain(&plan.every_case.evaluators);
        let scored = score::score(evaluators, &ctx, known).await;
        let task = score::TaskRun {
            source_case_name: run.source_case_name.clone(),
            task_duration,
            total_duration: started.elapsed(),
            attempts,
        };
        Outcome::Case(Box::new(scored.into_case(ctx, task)))
    }

    /// One attempt of the task, with what it recorded.
    async fn attempt(&self, inputs: &I) -> (Attempt<O>, Duration, Record) {
        let record = Arc::new(Mutex::new(Record::default()));
        let started = Instant::now();
        let attempt = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            (self.task)(inputs.clone())
        })) {
            Err(panic) => Attempt::Failed(FailureKind::Panic, panic_message(&*panic)),
            Ok(future) => {
                let guarded = RECORD.scope(record.clone(), AssertUnwindSafe(future).catch_unwind());
                let finished = match self.timeout {
                    None => Some(guarded.await),
                    Some(limit) => tokio::time::timeout(limit, guarded).await.ok(),
                };
                match finished {
                    Some(Ok(output)) => match output.into_task_result() {
                        Ok(output) => Attempt::Output(output),
                        Err(message) => Attempt::Failed(FailureKind::Error, message),
                    },
                    Some(Err(panic)) => Attempt::Failed(FailureKind::Panic, panic_message(&*panic)),
                    None => Attempt::Failed(
                        FailureKind::Timeout,
                        format!(
                            "the task ran past the timeout of {}",
                            super::render::duration(self.timeout.unwrap_or_default())
                        ),
                    ),
                }
            }
        };
        let duration = started.elapsed();
        let record = std::mem::take(&mut *record.lock().unwrap_or_else(|e| e.into_inner()));
        (attempt, duration, record)
    }
}

impl<'a, I, O, M, F, Fut, Mk> IntoFuture for Evaluate<'a, I, O, M, F, Mk>
where
    I: Clone + Serialize + Send + Sync + 'static,
    O: Clone + Serialize + Send + Sync + 'static,
    M: Clone + Serialize + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'a,
    Fut: Future + Send + 'a,
    Fut::Output: TaskOutput<O, Mk>,
    Mk: 'a,
{
    type Output = EvaluationReport<I, O, M>;
    type IntoFuture = Pin<Box<dyn Future<Output = EvaluationReport<I, O, M>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let plan = self.plan();
            self.run(plan).await
        })
    }
}

enum Attempt<O> {
    Output(O),
    Failed(FailureKind, String),
}

enum Outcome<I, O, M> {
    Case(Box<ReportCase<I, O, M>>),
    Failure(Box<ReportCaseFailure<I, O, M>>),
}
