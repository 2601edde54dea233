//! Evaluators: what scores a task's output, and the registry that builds
//! them from the specs in dataset files.

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::wire::EvaluatorSpec;

/// Any error an evaluator or a task may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future an [`Evaluator`] returns, borrowing it and its context.
pub type EvaluatorFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<EvaluatorOutput, BoxError>> + Send + 'a>>;

/// What an evaluator sees of one run of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorContext<I, O, M> {
    /// The case's name in the report (`Case 3` when it has none; with
    /// repeats, `name [2/5]`).
    pub name: String,
    /// The case's inputs.
    pub inputs: I,
    /// The case's expected output, if any.
    pub expected_output: Option<O>,
    /// The case's metadata, if any.
    pub metadata: Option<M>,
    /// What the task returned.
    pub output: O,
    /// How long the task took (its successful attempt).
    pub duration: Duration,
    /// Metrics the task recorded with [`set_metric`](super::set_metric) and
    /// [`increment_metric`](super::increment_metric).
    pub metrics: BTreeMap<String, f64>,
    /// Attributes the task recorded with [`set_attribute`](super::set_attribute).
    pub attributes: BTreeMap<String, Value>,
}

/// Scores one run of one case.
///
/// Implement [`evaluate`](Self::evaluate) with `Box::pin(async move { ... })`
/// for an evaluator that awaits (e.g. calls a model), or build a synchronous
/// one from a closure with [`evaluator_fn`].
///
/// ```
/// use std::borrow::Cow;
/// use datasets_core::eval::{Evaluator, EvaluatorContext, EvaluatorFuture, EvaluatorOutput};
///
/// /// Passes when the answer is at most `max` characters long.
/// struct ShortAnswer { max: usize }
///
/// impl<I: Sync, M: Sync> Evaluator<I, String, M> for ShortAnswer {
///     fn name(&self) -> Cow<'_, str> { "ShortAnswer".into() }
///
///     fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, String, M>) -> EvaluatorFuture<'a> {
///         Box::pin(async move {
///             let length = ctx.output.chars().count();
///             Ok(EvaluatorOutput::assertion(length <= self.max)
///                 .reason(format!("{length} characters"))
///                 .and("length", (length as f64).into()))
///         })
///     }
/// }
/// ```
pub trait Evaluator<I, O, M>: Send + Sync {
    /// The name its results are reported under, unless they name themselves.
    fn name(&self) -> Cow<'_, str>;

    /// The spec it was built from, shown as the results' source.
    fn spec(&self) -> Option<EvaluatorSpec> {
        None
    }

    /// Evaluates one run. An `Err` (or a panic) is reported as this
    /// evaluator's failure on the case; it never stops the run.
    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a>;
}

impl<I, O, M, E: Evaluator<I, O, M> + ?Sized> Evaluator<I, O, M> for Box<E> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }

    fn spec(&self) -> Option<EvaluatorSpec> {
        (**self).spec()
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        (**self).evaluate(ctx)
    }
}

impl<I, O, M, E: Evaluator<I, O, M> + ?Sized> Evaluator<I, O, M> for Arc<E> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }

    fn spec(&self) -> Option<EvaluatorSpec> {
        (**self).spec()
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        (**self).evaluate(ctx)
    }
}

/// One result's value: pydantic-evals' assertion, score or label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EvaluationValue {
    /// Passed or failed.
    Assertion(bool),
    /// A number, e.g. a similarity.
    Score(f64),
    /// A category.
    Label(String),
}

impl From<bool> for EvaluationValue {
    fn from(passed: bool) -> Self {
        EvaluationValue::Assertion(passed)
    }
}

impl From<f64> for EvaluationValue {
    fn from(score: f64) -> Self {
        EvaluationValue::Score(score)
    }
}

impl From<String> for EvaluationValue {
    fn from(label: String) -> Self {
        EvaluationValue::Label(label)
    }
}

impl From<&str> for EvaluationValue {
    fn from(label: &str) -> Self {
        EvaluationValue::Label(label.to_owned())
    }
}

/// One result an evaluator returned, before the run names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawResult {
    pub(crate) name: Option<String>,
    pub(crate) value: EvaluationValue,
    pub(crate) reason: Option<String>,
}

/// What an evaluator returns: nothing (e.g. nothing to compare with), one
/// result named after the evaluator, or several named results.
///
/// ```
/// use datasets_core::eval::EvaluatorOutput;
///
/// let output = EvaluatorOutput::score(0.8)
///     .reason("4 of 5 facts")
///     .and("complete", true.into())
///     .and("tone", "formal".into());
/// assert_eq!(output.len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluatorOutput {
    pub(crate) results: Vec<RawResult>,
    /// Metrics added to the case's (summed with any of the same name).
    pub(crate) metrics: Vec<(String, f64)>,
}

impl EvaluatorOutput {
    /// No result.
    pub fn none() -> Self {
        Self::default()
    }

    /// One pass/fail result.
    pub fn assertion(passed: bool) -> Self {
        Self::unnamed(EvaluationValue::Assertion(passed))
    }

    /// One numeric result.
    pub fn score(score: f64) -> Self {
        Self::unnamed(EvaluationValue::Score(score))
    }

    /// One categorical result.
    pub fn label(label: impl Into<String>) -> Self {
        Self::unnamed(EvaluationValue::Label(label.into()))
    }

    fn unnamed(value: EvaluationValue) -> Self {
        Self {
            results: vec![RawResult {
                name: None,
                value,
                reason: None,
            }],
            metrics: Vec::new(),
        }
    }

    /// Adds a result named `name`.
    pub fn and(mut self, name: impl Into<String>, value: EvaluationValue) -> Self {
        self.results.push(RawResult {
            name: Some(name.into()),
            value,
            reason: None,
        });
        self
    }

    /// Gives the last result added a reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        if let Some(last) = self.results.last_mut() {
            last.reason = Some(reason.into());
        }
        self
    }

    /// Adds `value` to the case's metric `name` (from 0): what the
    /// evaluation cost, e.g. an LLM judge's tokens. Not a result.
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.push((name.into(), value));
        self
    }

    /// How many results it holds.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether it holds no result.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}

impl From<bool> for EvaluatorOutput {
    fn from(passed: bool) -> Self {
        EvaluatorOutput::assertion(passed)
    }
}

impl From<f64> for EvaluatorOutput {
    fn from(score: f64) -> Self {
        EvaluatorOutput::score(score)
    }
}

impl From<String> for EvaluatorOutput {
    fn from(label: String) -> Self {
        EvaluatorOutput::label(label)
    }
}

impl From<&str> for EvaluatorOutput {
    fn from(label: &str) -> Self {
        EvaluatorOutput::label(label)
    }
}

impl From<Option<bool>> for EvaluatorOutput {
    /// `None` is no result.
    fn from(passed: Option<bool>) -> Self {
        passed.map(EvaluatorOutput::assertion).unwrap_or_default()
    }
}

/// A synchronous evaluator from a name and a closure returning anything that
/// converts into an [`EvaluatorOutput`] (`bool`, `f64`, a label, or an
/// output built by hand).
///
/// ```
/// use datasets_core::eval::{EvaluatorContext, evaluator_fn};
///
/// let short = evaluator_fn("ShortAnswer", |ctx: &EvaluatorContext<String, String, ()>| {
///     ctx.output.len() < 20
/// });
/// ```
pub fn evaluator_fn<I, O, M, R, F>(name: impl Into<String>, f: F) -> FnEvaluator<F>
where
    F: Fn(&EvaluatorContext<I, O, M>) -> R + Send + Sync,
    R: Into<EvaluatorOutput>,
{
    FnEvaluator {
        name: name.into(),
        f,
    }
}

/// A synchronous evaluator made by [`evaluator_fn`].
pub struct FnEvaluator<F> {
    name: String,
    f: F,
}

impl<F> std::fmt::Debug for FnEvaluator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnEvaluator")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<I, O, M, R, F> Evaluator<I, O, M> for FnEvaluator<F>
where
    F: Fn(&EvaluatorContext<I, O, M>) -> R + Send + Sync,
    R: Into<EvaluatorOutput>,
{
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        let output = (self.f)(ctx).into();
        Box::pin(std::future::ready(Ok(output)))
    }
}

/// Builds an evaluator from a spec, or says why its arguments don't fit.
pub type EvaluatorConstructor<I, O, M> = Arc<
    dyn Fn(&EvaluatorSpec) -> std::result::Result<Box<dyn Evaluator<I, O, M>>, String>
        + Send
        + Sync,
>;

/// Maps the names in evaluator specs to constructors: the built-ins and your
/// own. The counterpart of pydantic-evals' `custom_evaluator_types`.
///
/// ```
/// use datasets_core::eval::{EvaluatorContext, EvaluatorRegistry, Evaluator, EvaluatorFuture};
/// use datasets_core::wire::EvaluatorSpec;
/// use serde::Deserialize;
/// use serde_json::json;
///
/// /// `{"MinLength": 3}` or `{"MinLength": {"min": 3}}` in a dataset file.
/// #[derive(Deserialize)]
/// struct MinLength { min: usize }
///
/// impl Evaluator<String, String, ()> for MinLength {
///     fn name(&self) -> std::borrow::Cow<'_, str> { "MinLength".into() }
///     fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<String, String, ()>) -> EvaluatorFuture<'a> {
///         Box::pin(async move { Ok((ctx.output.len() >= self.min).into()) })
///     }
/// }
///
/// let mut registry = EvaluatorRegistry::<String, String, ()>::with_builtins();
/// registry.register_deserialize::<MinLength>("MinLength", "min");
/// let spec = EvaluatorSpec::with_arguments("MinLength", json!([3]));
/// assert!(registry.build(&spec).is_ok());
/// let unknown = registry.build(&EvaluatorSpec::new("Nope")).err().unwrap();
/// assert!(unknown.to_string().contains("known evaluators: Contains, Equals"));
/// ```
pub struct EvaluatorRegistry<I, O, M> {
    constructors: BTreeMap<String, EvaluatorConstructor<I, O, M>>,
}

impl<I, O, M> Clone for EvaluatorRegistry<I, O, M> {
    fn clone(&self) -> Self {
        Self {
            constructors: self.constructors.clone(),
        }
    }
}

impl<I, O, M> std::fmt::Debug for EvaluatorRegistry<I, O, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.constructors.keys()).finish()
    }
}

impl<I, O, M> EvaluatorRegistry<I, O, M> {
    /// A registry that knows no evaluator.
    pub fn empty() -> Self {
        Self {
            constructors: BTreeMap::new(),
        }
    }

    /// Registers a constructor under `name`, replacing any before it (so a
    /// built-in can be overridden, as in pydantic-evals).
    pub fn register(
        &mut self,
        name: impl Into<String>,
        constructor: impl Fn(&EvaluatorSpec) -> std::result::Result<Box<dyn Evaluator<I, O, M>>, String>
        + Send
        + Sync
        + 'static,
    ) -> &mut Self {
        self.constructors.insert(name.into(), Arc::new(constructor));
        self
    }

    /// Registers an evaluator type built by deserializing the spec's
    /// keyword arguments, with a single positional argument bound to the
    /// field `first` (pydantic-evals' `{"Name": argument}` form). No
    /// arguments deserialize from `{}`.
    pub fn register_deserialize<E>(&mut self, name: impl Into<String>, first: &str) -> &mut Self
    where
        E: Evaluator<I, O, M> + DeserializeOwned + 'static,
    {
        let read = deserializing::<E>(first);
        self.register(name, move |spec: &EvaluatorSpec| {
            read(spec).map(|evaluator| Box::new(evaluator) as Box<dyn Evaluator<I, O, M>>)
        })
    }

    /// The names it knows, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.constructors.keys().map(String::as_str).collect()
    }

    /// Builds the evaluator a spec names. An unknown name is
    /// [`Error::InvalidArgument`] naming it and listing the known ones;
    /// arguments that don't fit, one naming the evaluator.
    pub fn build(&self, spec: &EvaluatorSpec) -> Result<Box<dyn Evaluator<I, O, M>>>
    where
        I: 'static,
        O: 'static,
        M: 'static,
    {
        let evaluator = build_from(&self.constructors, spec, "evaluator")?;
        Ok(Box::new(WithSpec {
            inner: evaluator,
            spec: spec.clone(),
        }))
    }
}

/// An evaluator built from a spec remembers it, for the report.
struct WithSpec<I, O, M> {
    inner: Box<dyn Evaluator<I, O, M>>,
    spec: EvaluatorSpec,
}

impl<I, O, M> Evaluator<I, O, M> for WithSpec<I, O, M> {
    fn name(&self) -> Cow<'_, str> {
        self.inner.name()
    }

    fn spec(&self) -> Option<EvaluatorSpec> {
        Some(self.spec.clone())
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        self.inner.evaluate(ctx)
    }
}

/// Builds a `T` from a spec, or says why its arguments don't fit.
pub(crate) type Constructor<T> =
    Arc<dyn Fn(&EvaluatorSpec) -> std::result::Result<Box<T>, String> + Send + Sync>;

/// Builds what `spec` names with the constructor registered under its
/// name; an unknown name is an error naming it and listing the known ones
/// (`kind`: `evaluator`, `report evaluator`).
pub(crate) fn build_from<T: ?Sized>(
    constructors: &BTreeMap<String, Constructor<T>>,
    spec: &EvaluatorSpec,
    kind: &str,
) -> Result<Box<T>> {
    let constructor = constructors.get(&spec.name).ok_or_else(|| {
        let known: Vec<&str> = constructors.keys().map(String::as_str).collect();
        Error::InvalidArgument(format!(
            "unknown {kind} {:?}; known {kind}s: {}",
            spec.name,
            known.join(", ")
        ))
    })?;
    constructor(spec).map_err(|err| Error::InvalidArgument(format!("{kind} {}: {err}", spec.name)))
}

/// Reads a spec's keyword arguments into `E`, a single positional
/// argument bound to the field `first`.
pub(crate) fn deserializing<E: DeserializeOwned>(
    first: &str,
) -> impl Fn(&EvaluatorSpec) -> std::result::Result<E, String> + Send + Sync + 'static {
    let first = first.to_owned();
    move |spec| {
        let kwargs = spec_kwargs(spec, &first)?;
        serde_json::from_value::<E>(Value::Object(kwargs)).map_err(|err| err.to_string())
    }
}

/// A spec's arguments as keyword arguments, with a single positional
/// argument bound to `first`: how pydantic-evals passes `{"Name": argument}`
/// to the evaluator's first field.
pub fn spec_kwargs(
    spec: &EvaluatorSpec,
    first: &str,
) -> std::result::Result<Map<String, Value>, String> {
    match &spec.arguments {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(kwargs)) => Ok(kwargs.clone()),
        Some(Value::Array(args)) if args.len() == 1 => {
            let mut kwargs = Map::new();
            kwargs.insert(first.to_owned(), args[0].clone());
            Ok(kwargs)
        }
        Some(other) => Err(format!(
            "expected keyword arguments or one positional argument, got {other}"
        )),
    }
}

/// What a panic said, for a failure.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    // The failure's kind already says it was a panic: `panic: boom`.
    message
}
