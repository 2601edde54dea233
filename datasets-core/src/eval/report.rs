//! What an evaluation run produces: [`EvaluationReport`], its aggregates,
//! and the comparison of two reports.
//!
//! The report's JSON is close to pydantic-evals' `EvaluationReport`: the
//! same case fields (`name`, `inputs`, `metadata`, `expected_output`,
//! `output`, `metrics`, `attributes`, `scores`, `labels`, `assertions`,
//! `task_duration`, `total_duration` in seconds, `source_case_name`,
//! `evaluator_failures`) and `failures` for cases whose task failed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::wire::EvaluatorSpec;

/// Durations as seconds (`f64`), as pydantic-evals writes them.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(duration.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(d)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

/// Optional durations as seconds.
mod secs_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => s.serialize_some(&duration.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|seconds| Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom))
            .transpose()
    }
}

fn one() -> u32 {
    1
}

/// One named result of an evaluator: an assertion (`T = bool`), a score
/// (`f64`) or a label (`String`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationResult<T> {
    /// The result's name.
    pub name: String,
    /// Its value.
    pub value: T,
    /// Why, if the evaluator said.
    #[serde(default)]
    pub reason: Option<String>,
    /// The spec of the evaluator that gave it, when built from one.
    #[serde(default)]
    pub source: Option<EvaluatorSpec>,
}

/// An evaluator that failed (returned an error or panicked) on one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorFailure {
    /// The evaluator's name.
    pub name: String,
    /// What went wrong.
    pub error_message: String,
    /// The spec it was built from, if any.
    #[serde(default)]
    pub source: Option<EvaluatorSpec>,
}

impl EvaluatorFailure {
    /// The failure of an evaluator that could not be built from `spec`.
    #[cfg(feature = "eval")]
    pub(crate) fn of_spec(spec: &EvaluatorSpec, err: crate::Error) -> Self {
        Self {
            name: spec.name.clone(),
            error_message: match err {
                crate::Error::InvalidArgument(message) => message,
                other => other.to_string(),
            },
            source: Some(spec.clone()),
        }
    }
}

/// A run of one case whose task succeeded, with every evaluator's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportCase<I = Value, O = Value, M = Value> {
    /// The case's name in the report: its own, `Case N` (from 1) when it has
    /// none, and with repeats `name [run/repeats]`.
    pub name: String,
    /// With repeats, the case's name without the run suffix.
    #[serde(default)]
    pub source_case_name: Option<String>,
    /// The case's inputs.
    pub inputs: I,
    /// The case's metadata.
    #[serde(default = "none")]
    pub metadata: Option<M>,
    /// The case's expected output.
    #[serde(default = "none")]
    pub expected_output: Option<O>,
    /// What the task returned.
    pub output: O,
    /// Metrics the task recorded.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Attributes the task recorded.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// Numeric results, by name.
    #[serde(default)]
    pub scores: BTreeMap<String, EvaluationResult<f64>>,
    /// Categorical results, by name.
    #[serde(default)]
    pub labels: BTreeMap<String, EvaluationResult<String>>,
    /// Pass/fail results, by name.
    #[serde(default)]
    pub assertions: BTreeMap<String, EvaluationResult<bool>>,
    /// How long the task's successful attempt took.
    #[serde(with = "secs")]
    pub task_duration: Duration,
    /// The whole case: every attempt, backoff and the evaluators.
    #[serde(with = "secs")]
    pub total_duration: Duration,
    /// How many times the task ran (1 without retries).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Evaluators that failed on this case.
    #[serde(default)]
    pub evaluator_failures: Vec<EvaluatorFailure>,
}

fn none<T>() -> Option<T> {
    None
}

/// How a case's task failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// It returned an error.
    Error,
    /// It panicked.
    Panic,
    /// It ran past the per-case timeout.
    Timeout,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureKind::Error => "error",
            FailureKind::Panic => "panic",
            FailureKind::Timeout => "timeout",
        })
    }
}

/// A run of one case whose task failed; the run went on without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportCaseFailure<I = Value, O = Value, M = Value> {
    /// The case's name in the report (as in [`ReportCase::name`]).
    pub name: String,
    /// With repeats, the case's name without the run suffix.
    #[serde(default)]
    pub source_case_name: Option<String>,
    /// The case's inputs.
    pub inputs: I,
    /// The case's metadata.
    #[serde(default = "none")]
    pub metadata: Option<M>,
    /// The case's expected output.
    #[serde(default = "none")]
    pub expected_output: Option<O>,
    /// How the last attempt failed.
    pub kind: FailureKind,
    /// The error, the panic's message, or the timeout.
    pub error_message: String,
    /// How many times the task ran.
    #[serde(default = "one")]
    pub attempts: u32,
    /// The whole case, every attempt and backoff included.
    #[serde(with = "secs")]
    pub total_duration: Duration,
}

/// Durations summarised: mean and nearest-rank percentiles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DurationStats {
    /// The mean.
    #[serde(with = "secs")]
    pub mean: Duration,
    /// The median.
    #[serde(with = "secs")]
    pub p50: Duration,
    /// The 90th percentile.
    #[serde(with = "secs")]
    pub p90: Duration,
    /// The 99th percentile.
    #[serde(with = "secs")]
    pub p99: Duration,
    /// The longest.
    #[serde(with = "secs")]
    pub max: Duration,
}

impl DurationStats {
    /// The statistics of `durations` (all zero when empty).
    pub fn of(durations: impl IntoIterator<Item = Duration>) -> Self {
        let mut sorted: Vec<Duration> = durations.into_iter().collect();
        if sorted.is_empty() {
            return Self::default();
        }
        sorted.sort();
        let rank = |p: f64| {
            let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index]
        };
        let total: Duration = sorted.iter().sum();
        Self {
            mean: total / sorted.len() as u32,
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// Aggregates over a set of runs: pydantic-evals' "Averages" row, plus
/// counts and duration percentiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportAggregate {
    /// Runs whose task succeeded.
    pub cases: usize,
    /// Runs whose task failed.
    pub failures: usize,
    /// The mean of each score, over the runs that have it.
    pub scores: BTreeMap<String, f64>,
    /// The share of each value of each label, over the runs that have it.
    pub labels: BTreeMap<String, BTreeMap<String, f64>>,
    /// The mean of each metric, over the runs that have it.
    pub metrics: BTreeMap<String, f64>,
    /// The share of assertions that passed, over every assertion of every
    /// run (`None` when there were none).
    pub assertions: Option<f64>,
    /// The task's durations, over the successful runs.
    pub task_duration: DurationStats,
    /// Whole-case durations, over every run.
    pub total_duration: DurationStats,
}

impl ReportAggregate {
    /// Aggregates these successful runs and failures.
    pub fn of<'r, I: 'r, O: 'r, M: 'r>(
        cases: impl IntoIterator<Item = &'r ReportCase<I, O, M>>,
        failures: impl IntoIterator<Item = &'r ReportCaseFailure<I, O, M>>,
    ) -> Self {
        let cases: Vec<&ReportCase<I, O, M>> = cases.into_iter().collect();
        let failures: Vec<&ReportCaseFailure<I, O, M>> = failures.into_iter().collect();
        let mut scores = Means::default();
        let mut metrics = Means::default();
        let mut labels: BTreeMap<String, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
        let (mut asserted, mut passed) = (0usize, 0usize);
        for case in &cases {
            for (name, result) in &case.scores {
                scores.add(name, result.value);
            }
            for (name, value) in &case.metrics {
                metrics.add(name, *value);
            }
            for (name, result) in &case.labels {
                let (count, values) = labels.entry(name.clone()).or_default();
                *count += 1;
                *values.entry(result.value.clone()).or_default() += 1;
            }
            asserted += case.assertions.len();
            passed += case.assertions.values().filter(|a| a.value).count();
        }
        Self {
            cases: cases.len(),
            failures: failures.len(),
            scores: scores.means(),
            metrics: metrics.means(),
            labels: labels
                .into_iter()
                .map(|(name, (count, values))| {
                    let shares = values
                        .into_iter()
                        .map(|(value, n)| (value, n as f64 / count as f64))
                        .collect();
                    (name, shares)
                })
                .collect(),
            assertions: (asserted > 0).then(|| passed as f64 / asserted as f64),
            task_duration: DurationStats::of(cases.iter().map(|c| c.task_duration)),
            total_duration: DurationStats::of(
                cases
                    .iter()
                    .map(|c| c.total_duration)
                    .chain(failures.iter().map(|f| f.total_duration)),
            ),
        }
    }
}

#[derive(Default)]
struct Means(BTreeMap<String, (f64, usize)>);

impl Means {
    fn add(&mut self, name: &str, value: f64) {
        let entry = self.0.entry(name.to_owned()).or_default();
        entry.0 += value;
        entry.1 += 1;
    }

    fn means(self) -> BTreeMap<String, f64> {
        self.0
            .into_iter()
            .map(|(name, (sum, count))| (name, sum / count as f64))
            .collect()
    }
}

/// The runs of one case, with repeats: its successful runs, failures and
/// their aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportCaseGroup<'r, I = Value, O = Value, M = Value> {
    /// The case's name.
    pub name: &'r str,
    /// Its successful runs.
    pub runs: Vec<&'r ReportCase<I, O, M>>,
    /// Its failed runs.
    pub failures: Vec<&'r ReportCaseFailure<I, O, M>>,
    /// Their aggregate.
    pub summary: ReportAggregate,
}

/// The result of [`Dataset::evaluate`](super::Dataset::evaluate): every run
/// of every case, successful ones in `cases` and failed ones in `failures`,
/// each in the dataset's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport<I = Value, O = Value, M = Value> {
    /// The experiment's name.
    pub name: String,
    /// The dataset's name.
    #[serde(default)]
    pub dataset_name: Option<String>,
    /// The version of the managed dataset the run used, when the dataset
    /// was exported from `datasets-server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_version: Option<u64>,
    /// Runs whose task succeeded.
    pub cases: Vec<ReportCase<I, O, M>>,
    /// Runs whose task failed.
    #[serde(default = "Vec::new")]
    pub failures: Vec<ReportCaseFailure<I, O, M>>,
    /// The task's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The experiment's metadata (pydantic-evals' `experiment_metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_metadata: Option<Value>,
    /// Analyses of report evaluators, in pydantic-evals' JSON shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<Value>,
    /// Report evaluators that failed, in pydantic-evals' JSON shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub report_evaluator_failures: Vec<Value>,
    /// The OpenTelemetry trace of the run, when it was traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The run's span, when it was traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

#[derive(Serialize)]
struct ReportDocument<'a, I, O, M> {
    #[serde(flatten)]
    report: &'a EvaluationReport<I, O, M>,
    averages: ReportAggregate,
}

impl<I, O, M> EvaluationReport<I, O, M> {
    /// Aggregates over every run.
    pub fn averages(&self) -> ReportAggregate {
        ReportAggregate::of(&self.cases, &self.failures)
    }

    /// Runs grouped by case (by `source_case_name`, or the name without
    /// repeats), in the dataset's order, each with its own aggregate.
    pub fn case_groups(&self) -> Vec<ReportCaseGroup<'_, I, O, M>> {
        let mut groups: Vec<ReportCaseGroup<'_, I, O, M>> = Vec::new();
        fn group<'g, 'r, I, O, M>(
            groups: &'g mut Vec<ReportCaseGroup<'r, I, O, M>>,
            name: &'r str,
        ) -> &'g mut ReportCaseGroup<'r, I, O, M> {
            match groups.iter().position(|g| g.name == name) {
                Some(index) => &mut groups[index],
                None => {
                    groups.push(ReportCaseGroup {
                        name,
                        runs: Vec::new(),
                        failures: Vec::new(),
                        summary: ReportAggregate::default(),
                    });
                    groups.last_mut().expect("just pushed")
                }
            }
        }
        for case in &self.cases {
            let key = case.source_case_name.as_deref().unwrap_or(&case.name);
            group(&mut groups, key).runs.push(case);
        }
        for failure in &self.failures {
            let key = failure.source_case_name.as_deref().unwrap_or(&failure.name);
            group(&mut groups, key).failures.push(failure);
        }
        for group in &mut groups {
            group.summary =
                ReportAggregate::of(group.runs.iter().copied(), group.failures.iter().copied());
        }
        groups
    }

    /// The successful run named `name`.
    pub fn case(&self, name: &str) -> Option<&ReportCase<I, O, M>> {
        self.cases.iter().find(|case| case.name == name)
    }

    /// The failed run named `name`.
    pub fn failure(&self, name: &str) -> Option<&ReportCaseFailure<I, O, M>> {
        self.failures.iter().find(|failure| failure.name == name)
    }
}

impl<I: Serialize, O: Serialize, M: Serialize> EvaluationReport<I, O, M> {
    /// The report as pretty JSON, with its `averages` (which
    /// [`from_json`](Self::from_json) ignores, since they follow from the cases).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&ReportDocument {
            report: self,
            averages: self.averages(),
        })
        .map_err(|err| {
            Error::InvalidArgument(format!("the report cannot be written as JSON: {err}"))
        })
    }

    /// Compares this report with a `baseline`: per case (matched by name)
    /// and in aggregate. [`ReportComparison::print`] shows the deltas.
    pub fn compare<BI, BO: Serialize, BM>(
        &self,
        baseline: &EvaluationReport<BI, BO, BM>,
    ) -> ReportComparison {
        let current = CaseSides::of(self);
        let mut before = CaseSides::of(baseline);
        let mut cases: Vec<CaseDiff> = current
            .0
            .into_iter()
            .map(|(name, side)| CaseDiff {
                baseline: before.take(&name),
                current: Some(side),
                name,
            })
            .collect();
        cases.extend(before.0.into_iter().map(|(name, side)| CaseDiff {
            name,
            baseline: Some(side),
            current: None,
        }));
        ReportComparison {
            name: self.name.clone(),
            baseline_name: baseline.name.clone(),
            cases,
            baseline: baseline.averages(),
            current: self.averages(),
        }
    }
}

impl<I: DeserializeOwned, O: DeserializeOwned, M: DeserializeOwned> EvaluationReport<I, O, M> {
    /// Reads a report written by [`to_json`](Self::to_json). A value that no
    /// longer fits the types is [`Error::Decode`] with its JSON path.
    pub fn from_json(json: &str) -> Result<Self> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| Error::decode("EvaluationReport", err, json.as_bytes()))
    }
}

/// One side of a case in a comparison: what the run gave, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSide {
    /// The task's output (`None` when it failed).
    pub output: Option<Value>,
    /// How the task failed, if it did.
    pub failure: Option<(FailureKind, String)>,
    /// Scores by name.
    pub scores: BTreeMap<String, f64>,
    /// Labels by name.
    pub labels: BTreeMap<String, String>,
    /// Assertions by name.
    pub assertions: BTreeMap<String, bool>,
    /// Metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// The task's duration (`None` when it failed), in seconds in JSON.
    #[serde(with = "secs_opt")]
    pub task_duration: Option<Duration>,
}

struct CaseSides(Vec<(String, CaseSide)>);

impl CaseSides {
    fn of<I, O: Serialize, M>(report: &EvaluationReport<I, O, M>) -> Self {
        let mut sides: Vec<(String, CaseSide)> = report
            .cases
            .iter()
            .map(|case| {
                let side = CaseSide {
                    output: Some(serde_json::to_value(&case.output).unwrap_or(Value::Null)),
                    failure: None,
                    scores: case
                        .scores
                        .iter()
                        .map(|(k, r)| (k.clone(), r.value))
                        .collect(),
                    labels: case
                        .labels
                        .iter()
                        .map(|(k, r)| (k.clone(), r.value.clone()))
                        .collect(),
                    assertions: case
                        .assertions
                        .iter()
                        .map(|(k, r)| (k.clone(), r.value))
                        .collect(),
                    metrics: case.metrics.clone(),
                    task_duration: Some(case.task_duration),
                };
                (case.name.clone(), side)
            })
            .collect();
        sides.extend(report.failures.iter().map(|failure| {
            let side = CaseSide {
                output: None,
                failure: Some((failure.kind, failure.error_message.clone())),
                scores: BTreeMap::new(),
                labels: BTreeMap::new(),
                assertions: BTreeMap::new(),
                metrics: BTreeMap::new(),
                task_duration: None,
            };
            (failure.name.clone(), side)
        }));
        Self(sides)
    }

    fn take(&mut self, name: &str) -> Option<CaseSide> {
        let index = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(index).1)
    }
}

/// One case in a comparison: its baseline and current sides; a case only
/// in one report has only that side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDiff {
    /// The case's name.
    pub name: String,
    /// The baseline's run of it.
    pub baseline: Option<CaseSide>,
    /// The current run of it.
    pub current: Option<CaseSide>,
}

impl CaseDiff {
    /// Current minus baseline for a score both have.
    pub fn score_delta(&self, name: &str) -> Option<f64> {
        let before = self.baseline.as_ref()?.scores.get(name)?;
        let now = self.current.as_ref()?.scores.get(name)?;
        Some(now - before)
    }

    /// Assertions whose outcome differs: `(name, baseline, current)`, with
    /// `None` where one side lacks it.
    pub fn changed_assertions(&self) -> Vec<(String, Option<bool>, Option<bool>)> {
        let empty = BTreeMap::new();
        let before = self.baseline.as_ref().map_or(&empty, |s| &s.assertions);
        let now = self.current.as_ref().map_or(&empty, |s| &s.assertions);
        let names: BTreeSet<&String> = before.keys().chain(now.keys()).collect();
        names
            .into_iter()
            .filter_map(|name| {
                let (b, n) = (before.get(name).copied(), now.get(name).copied());
                (b != n).then(|| (name.clone(), b, n))
            })
            .collect()
    }

    /// Whether the output differs (or only one side has one).
    pub fn output_changed(&self) -> bool {
        let output = |side: &Option<CaseSide>| side.as_ref().and_then(|s| s.output.clone());
        output(&self.baseline) != output(&self.current)
    }
}

/// A report compared with a baseline; see [`EvaluationReport::compare`].
/// Its JSON is what `GET /v1/experiments/compare/` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportComparison {
    /// The current report's name.
    pub name: String,
    /// The baseline's name.
    pub baseline_name: String,
    /// Every case of either report: the current report's in its order,
    /// then those only in the baseline.
    pub cases: Vec<CaseDiff>,
    /// The baseline's aggregate.
    pub baseline: ReportAggregate,
    /// The current aggregate.
    pub current: ReportAggregate,
}

impl ReportComparison {
    /// The case named `name`.
    pub fn case(&self, name: &str) -> Option<&CaseDiff> {
        self.cases.iter().find(|case| case.name == name)
    }

    /// Current minus baseline mean of a score both have.
    pub fn score_delta(&self, name: &str) -> Option<f64> {
        Some(self.current.scores.get(name)? - self.baseline.scores.get(name)?)
    }

    /// Current minus baseline assertion pass rate, when both have one.
    pub fn pass_rate_delta(&self) -> Option<f64> {
        Some(self.current.assertions? - self.baseline.assertions?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let stats = DurationStats::of((1..=100).map(Duration::from_millis));
        assert_eq!(stats.p50, Duration::from_millis(50));
        assert_eq!(stats.p90, Duration::from_millis(90));
        assert_eq!(stats.p99, Duration::from_millis(99));
        assert_eq!(stats.max, Duration::from_millis(100));
        assert_eq!(stats.mean, Duration::from_micros(50_500));
        let one = DurationStats::of([Duration::from_secs(2)]);
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_secs(2), Duration::from_secs(2))
        );
        assert_eq!(DurationStats::of([]), DurationStats::default());
    }
}
