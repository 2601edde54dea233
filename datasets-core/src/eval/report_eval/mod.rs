//! Report evaluators: what scores a whole run once its cases are done
//! (pydantic-evals' `ReportEvaluator`), the registry that builds them from
//! the `report_evaluators` specs of dataset files, and pydantic-evals'
//! four built-ins.

mod builtin;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use builtin::{
    ConfusionMatrixEvaluator, KolmogorovSmirnovEvaluator, PositiveFrom, PrecisionRecallEvaluator,
    ROCAUCEvaluator, ScoreFrom, ValueFrom,
};

use super::analysis::ReportAnalysis;
use super::evaluator::{BoxError, build_from, deserializing};
use super::report::{EvaluationReport, EvaluatorFailure};
use crate::error::{Error, Result};
use crate::wire::EvaluatorSpec;

/// The future a [`ReportEvaluator`] returns: its analyses, or an error
/// that becomes a report evaluator failure.
pub type ReportEvaluatorFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Vec<ReportAnalysis>, BoxError>> + Send + 'a>>;

/// What a report evaluator sees: the whole run.
#[derive(Debug, Clone, Copy)]
pub struct ReportEvaluatorContext<'a, I, O, M> {
    /// The experiment's name.
    pub name: &'a str,
    /// The report, every case done.
    pub report: &'a EvaluationReport<I, O, M>,
    /// The experiment's metadata, if any.
    pub experiment_metadata: Option<&'a Value>,
}

/// Scores a whole run: experiment-wide analyses such as a confusion matrix
/// or an ROC curve, kept in the report's `analyses`.
///
/// ```
/// use std::borrow::Cow;
/// use datasets_core::eval::{
///     ReportAnalysis, ReportEvaluator, ReportEvaluatorContext, ReportEvaluatorFuture,
///     ScalarResult,
/// };
///
/// /// The share of cases whose every assertion passed.
/// struct AllPassed;
///
/// impl<I: Sync, O: Sync, M: Sync> ReportEvaluator<I, O, M> for AllPassed {
///     fn name(&self) -> Cow<'_, str> { "AllPassed".into() }
///
///     fn evaluate<'a>(&'a self, ctx: &'a ReportEvaluatorContext<'a, I, O, M>) -> ReportEvaluatorFuture<'a> {
///         Box::pin(async move {
///             let cases = &ctx.report.cases;
///             let passed = cases.iter().filter(|c| c.assertions.values().all(|a| a.value)).count();
///             let share = passed as f64 / cases.len().max(1) as f64;
///             Ok(vec![ReportAnalysis::from(ScalarResult {
///                 title: "All passed".into(), description: None, value: share, unit: None,
///             })])
///         })
///     }
/// }
/// ```
pub trait ReportEvaluator<I, O, M>: Send + Sync {
    /// The name its failures are reported under.
    fn name(&self) -> Cow<'_, str>;

    /// The spec it was built from, if any.
    fn spec(&self) -> Option<EvaluatorSpec> {
        None
    }

    /// Analyses the run.
    fn evaluate<'a>(
        &'a self,
        ctx: &'a ReportEvaluatorContext<'a, I, O, M>,
    ) -> ReportEvaluatorFuture<'a>;
}

impl<I, O, M, E: ReportEvaluator<I, O, M> + ?Sized> ReportEvaluator<I, O, M> for Arc<E> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }

    fn spec(&self) -> Option<EvaluatorSpec> {
        (**self).spec()
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a ReportEvaluatorContext<'a, I, O, M>,
    ) -> ReportEvaluatorFuture<'a> {
        (**self).evaluate(ctx)
    }
}

/// Builds a report evaluator from a spec, or says why its arguments don't fit.
pub type ReportEvaluatorConstructor<I, O, M> = Arc<
    dyn Fn(&EvaluatorSpec) -> std::result::Result<Box<dyn ReportEvaluator<I, O, M>>, String>
        + Send
        + Sync,
>;

/// Maps the names in `report_evaluators` specs to constructors: the
/// built-ins and your own (pydantic-evals' `custom_report_evaluator_types`).
pub struct ReportEvaluatorRegistry<I, O, M> {
    constructors: BTreeMap<String, ReportEvaluatorConstructor<I, O, M>>,
}

impl<I, O, M> Clone for ReportEvaluatorRegistry<I, O, M> {
    fn clone(&self) -> Self {
        Self {
            constructors: self.constructors.clone(),
        }
    }
}

impl<I, O, M> std::fmt::Debug for ReportEvaluatorRegistry<I, O, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.constructors.keys()).finish()
    }
}

impl<I, O, M> ReportEvaluatorRegistry<I, O, M> {
    /// A registry that knows no report evaluator.
    pub fn empty() -> Self {
        Self {
            constructors: BTreeMap::new(),
        }
    }

    /// Registers a constructor under `name`, replacing any before it.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        constructor: impl Fn(
            &EvaluatorSpec,
        ) -> std::result::Result<Box<dyn ReportEvaluator<I, O, M>>, String>
        + Send
        + Sync
        + 'static,
    ) -> &mut Self {
        self.constructors.insert(name.into(), Arc::new(constructor));
        self
    }

    /// Registers a type built by deserializing the spec's keyword
    /// arguments, a single positional argument bound to the field `first`.
    pub fn register_deserialize<E>(&mut self, name: impl Into<String>, first: &str) -> &mut Self
    where
        E: ReportEvaluator<I, O, M> + DeserializeOwned + 'static,
    {
        let read = deserializing::<E>(first);
        self.register(name, move |spec: &EvaluatorSpec| {
            read(spec).map(|evaluator| Box::new(evaluator) as Box<dyn ReportEvaluator<I, O, M>>)
        })
    }

    /// The names it knows, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.constructors.keys().map(String::as_str).collect()
    }

    /// Builds the report evaluator a spec names; an unknown name or
    /// arguments that don't fit are [`Error::InvalidArgument`].
    pub fn build(&self, spec: &EvaluatorSpec) -> Result<Box<dyn ReportEvaluator<I, O, M>>>
    where
        I: 'static,
        O: 'static,
        M: 'static,
    {
        let evaluator = build_from(&self.constructors, spec, "report evaluator")?;
        Ok(Box::new(WithSpec {
            inner: evaluator,
            spec: spec.clone(),
        }))
    }
}

impl<I, O, M> ReportEvaluatorRegistry<I, O, M>
where
    I: Sync + 'static,
    O: Serialize + Sync + 'static,
    M: Serialize + Sync + 'static,
{
    /// A registry of pydantic-evals' built-ins: `ConfusionMatrixEvaluator`,
    /// `PrecisionRecallEvaluator`, `ROCAUCEvaluator` and
    /// `KolmogorovSmirnovEvaluator`, with its argument names.
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        registry
            .register_deserialize::<ConfusionMatrixEvaluator>(
                "ConfusionMatrixEvaluator",
                "predicted_from",
            )
            .register_deserialize::<PrecisionRecallEvaluator>(
                "PrecisionRecallEvaluator",
                "score_key",
            )
            .register_deserialize::<ROCAUCEvaluator>("ROCAUCEvaluator", "score_key")
            .register_deserialize::<KolmogorovSmirnovEvaluator>(
                "KolmogorovSmirnovEvaluator",
                "score_key",
            );
        registry
    }
}

impl<I, O, M> Default for ReportEvaluatorRegistry<I, O, M>
where
    I: Sync + 'static,
    O: Serialize + Sync + 'static,
    M: Serialize + Sync + 'static,
{
    fn default() -> Self {
        Self::with_builtins()
    }
}

/// A report evaluator built from a spec remembers it.
struct WithSpec<I, O, M> {
    inner: Box<dyn ReportEvaluator<I, O, M>>,
    spec: EvaluatorSpec,
}

impl<I, O, M> ReportEvaluator<I, O, M> for WithSpec<I, O, M> {
    fn name(&self) -> Cow<'_, str> {
        self.inner.name()
    }

    fn spec(&self) -> Option<EvaluatorSpec> {
        Some(self.spec.clone())
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a ReportEvaluatorContext<'a, I, O, M>,
    ) -> ReportEvaluatorFuture<'a> {
        self.inner.evaluate(ctx)
    }
}

/// Runs report evaluators over a finished report, in order, as
/// pydantic-evals does: each one's analyses are appended to the report's,
/// and one that fails (or panics) becomes a report evaluator failure.
pub(crate) async fn run_report_evaluators<I, O, M>(
    report: &mut EvaluationReport<I, O, M>,
    evaluators: &[Arc<dyn ReportEvaluator<I, O, M>>],
) {
    use std::panic::AssertUnwindSafe;

    use futures_util::FutureExt;

    let mut analyses = Vec::new();
    let mut failures = Vec::new();
    {
        let ctx = ReportEvaluatorContext {
            name: &report.name,
            report,
            experiment_metadata: report.experiment_metadata.as_ref(),
        };
        for evaluator in evaluators {
            // A panic while making the future, or while it runs.
            let outcome =
                match std::panic::catch_unwind(AssertUnwindSafe(|| evaluator.evaluate(&ctx))) {
                    Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
            let error_message = match outcome {
                Ok(Ok(found)) => {
                    analyses.extend(found);
                    continue;
                }
                Ok(Err(err)) => err.to_string(),
                Err(panic) => format!("panicked: {}", super::evaluator::panic_message(&*panic)),
            };
            failures.push(EvaluatorFailure {
                name: evaluator.name().into_owned(),
                error_message,
                source: evaluator.spec(),
            });
        }
    }
    report.analyses.extend(
        analyses
            .iter()
            .map(|analysis| serde_json::to_value(analysis).unwrap_or(Value::Null)),
    );
    report.report_evaluator_failures.extend(
        failures
            .iter()
            .map(|failure| serde_json::to_value(failure).unwrap_or(Value::Null)),
    );
}

/// A failure to build a report evaluator from its spec, as a failure in
/// the report.
pub(crate) fn build_failure(spec: &EvaluatorSpec, err: Error) -> Value {
    serde_json::to_value(EvaluatorFailure::of_spec(spec, err)).unwrap_or(Value::Null)
}
