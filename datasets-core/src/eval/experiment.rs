//! Reports as stored experiments: pydantic-evals' averages (the shape its
//! spans and Logfire's Evals view carry), a report as the body of
//! `POST /v1/experiments/`, and a stored experiment back as a report.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::report::{EvaluationReport, ReportCase};
use crate::error::{Error, Result};
use crate::wire::{ExperimentDetail, NewExperiment};

/// Each label's values in first-seen order, weighed: per run (a share of
/// the runs that have the label) or per aggregate (a mean of its shares).
#[derive(Default)]
struct Tallies(Vec<(String, Tally)>);

#[derive(Default)]
struct Tally {
    /// Runs (or aggregates) that have the label.
    seen: usize,
    /// Each value and its weight.
    values: Vec<(String, f64)>,
}

impl Tallies {
    fn tally(&mut self, name: &str) -> &mut Tally {
        let index = match self.0.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None => {
                self.0.push((name.to_owned(), Tally::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[index].1
    }

    /// One run with `value` for the label `name`.
    fn add(&mut self, name: &str, value: &str, weight: f64) {
        self.count(name);
        self.add_share(name, value, weight);
    }

    /// One more run (or aggregate) having the label `name`.
    fn count(&mut self, name: &str) {
        self.tally(name).seen += 1;
    }

    /// `weight` more for `value` of the label `name`.
    fn add_share(&mut self, name: &str, value: &str, weight: f64) {
        let tally = self.tally(name);
        match tally.values.iter_mut().find(|(v, _)| v == value) {
            Some(entry) => entry.1 += weight,
            None => tally.values.push((value.to_owned(), weight)),
        }
    }

    /// `{label: {value: weight / seen}}`.
    fn shares(self) -> Map<String, Value> {
        self.0
            .into_iter()
            .map(|(name, tally)| {
                let shares: Map<String, Value> = tally
                    .values
                    .into_iter()
                    .map(|(value, weight)| (value, json!(weight / tally.seen as f64)))
                    .collect();
                (name, Value::Object(shares))
            })
            .collect()
    }
}

/// pydantic-evals' `ReportCaseAggregate.average` of some successful runs.
fn average<I, O, M>(cases: &[&ReportCase<I, O, M>]) -> Value {
    fn means<'a>(items: impl Iterator<Item = (&'a String, f64)>) -> Map<String, Value> {
        let mut sums: Vec<(&String, f64, usize)> = Vec::new();
        for (name, value) in items {
            match sums.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => {
                    entry.1 += value;
                    entry.2 += 1;
                }
                None => sums.push((name, value, 1)),
            }
        }
        sums.into_iter()
            .map(|(name, sum, count)| (name.clone(), json!(sum / count as f64)))
            .collect()
    }
    let n = cases.len();
    if n == 0 {
        return json!({"name": "Averages", "scores": {}, "labels": {}, "metrics": {},
            "assertions": null, "task_duration": 0.0, "total_duration": 0.0});
    }
    let scores = means(
        cases
            .iter()
            .flat_map(|c| c.scores.iter().map(|(k, r)| (k, r.value))),
    );
    let metrics = means(
        cases
            .iter()
            .flat_map(|c| c.metrics.iter().map(|(k, v)| (k, *v))),
    );
    let mut labels = Tallies::default();
    for case in cases {
        for (name, result) in &case.labels {
            labels.add(name, &result.value, 1.0);
        }
    }
    let labels = labels.shares();
    let asserted: usize = cases.iter().map(|c| c.assertions.len()).sum();
    let passed = cases
        .iter()
        .flat_map(|c| c.assertions.values())
        .filter(|a| a.value)
        .count();
    let mean = |f: &dyn Fn(&ReportCase<I, O, M>) -> f64| {
        cases.iter().map(|c| f(c)).sum::<f64>() / n as f64
    };
    json!({
        "name": "Averages",
        "scores": scores,
        "labels": labels,
        "metrics": metrics,
        "assertions": (asserted > 0).then(|| passed as f64 / asserted as f64),
        "task_duration": mean(&|c| c.task_duration.as_secs_f64()),
        "total_duration": mean(&|c| c.total_duration.as_secs_f64()),
    })
}

/// pydantic-evals' `average_from_aggregates`, for runs with repeats.
fn average_of_averages(aggregates: &[Value]) -> Value {
    let numbers = |key: &str| {
        let mut sums: Vec<(String, f64, usize)> = Vec::new();
        for aggregate in aggregates {
            for (name, value) in aggregate[key].as_object().into_iter().flatten() {
                let value = value.as_f64().unwrap_or(0.0);
                match sums.iter_mut().find(|(n, _, _)| n == name) {
                    Some(entry) => {
                        entry.1 += value;
                        entry.2 += 1;
                    }
                    None => sums.push((name.clone(), value, 1)),
                }
            }
        }
        sums.into_iter()
            .map(|(name, sum, count)| (name, json!(sum / count as f64)))
            .collect::<Map<String, Value>>()
    };
    let mut labels = Tallies::default();
    for aggregate in aggregates {
        for (name, shares) in aggregate["labels"].as_object().into_iter().flatten() {
            labels.count(name);
            for (value, share) in shares.as_object().into_iter().flatten() {
                labels.add_share(name, value, share.as_f64().unwrap_or(0.0));
            }
        }
    }
    let labels = labels.shares();
    let rates: Vec<f64> = aggregates
        .iter()
        .filter_map(|a| a["assertions"].as_f64())
        .collect();
    let mean = |key: &str| {
        aggregates
            .iter()
            .map(|a| a[key].as_f64().unwrap_or(0.0))
            .sum::<f64>()
            / aggregates.len().max(1) as f64
    };
    json!({
        "name": "Averages",
        "scores": numbers("scores"),
        "labels": labels,
        "metrics": numbers("metrics"),
        "assertions": (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64),
        "task_duration": mean("task_duration"),
        "total_duration": mean("total_duration"),
    })
}

impl<I, O, M> EvaluationReport<I, O, M> {
    /// pydantic-evals' `EvaluationReport.averages()` as JSON (`{name,
    /// scores, labels, metrics, assertions, task_duration,
    /// total_duration}`, over successful runs; with repeats, the mean of
    /// each case's own), or `None` when no run succeeded. This is what the
    /// run's span and a stored experiment carry as `averages`;
    /// [`averages`](Self::averages) is the harness's richer aggregate.
    pub fn experiment_averages(&self) -> Option<Value> {
        let repeated = self.cases.iter().any(|c| c.source_case_name.is_some())
            || self.failures.iter().any(|f| f.source_case_name.is_some());
        if repeated {
            let summaries: Vec<Value> = self
                .case_groups()
                .iter()
                .filter(|group| !group.runs.is_empty())
                .map(|group| average(&group.runs))
                .collect();
            return (!summaries.is_empty()).then(|| average_of_averages(&summaries));
        }
        let cases: Vec<&ReportCase<I, O, M>> = self.cases.iter().collect();
        (!cases.is_empty()).then(|| average(&cases))
    }
}

impl<I: Serialize, O: Serialize, M: Serialize> EvaluationReport<I, O, M> {
    /// The report as the body of `POST /v1/experiments/`, naming the
    /// managed dataset it ran on when it knows it.
    pub fn to_new_experiment(&self) -> Result<NewExperiment> {
        Ok(NewExperiment {
            name: self.name.clone(),
            dataset: None,
            dataset_name: self.dataset_name.clone(),
            dataset_version: self.dataset_version,
            task_name: self.task_name.clone(),
            metadata: self.experiment_metadata.clone(),
            cases: self.cases.iter().map(to_json).collect::<Result<_>>()?,
            failures: self.failures.iter().map(to_json).collect::<Result<_>>()?,
            analyses: self.analyses.clone(),
            report_evaluator_failures: self.report_evaluator_failures.clone(),
            started_at: None,
            ended_at: None,
        })
    }
}

/// A value as JSON, or an error that says so.
fn to_json(value: &impl Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| {
        Error::InvalidArgument(format!("the report cannot be written as JSON: {err}"))
    })
}

/// One stored case result decoded as `T`, its index named on failure.
fn decode<T: DeserializeOwned>(what: &str, index: usize, value: &Value) -> Result<T> {
    let text = value.to_string();
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        Error::decode(
            format!("{what}[{index}] of the experiment"),
            err,
            text.as_bytes(),
        )
    })
}

impl<I: DeserializeOwned, O: DeserializeOwned, M: DeserializeOwned> EvaluationReport<I, O, M> {
    /// A stored experiment (all its cases: see the client's
    /// `get_experiment`) as a report, to compare a new run with or to print.
    /// A case that no longer fits the types is [`Error::Decode`] naming it.
    pub fn from_experiment(detail: &ExperimentDetail) -> Result<Self> {
        let experiment = &detail.experiment;
        Ok(Self {
            name: experiment.name.clone(),
            dataset_name: experiment.dataset_name.clone(),
            dataset_version: experiment.dataset_version,
            cases: (detail.cases.iter().enumerate())
                .map(|(i, case)| decode("cases", i, case))
                .collect::<Result<_>>()?,
            failures: (detail.failures.iter().enumerate())
                .map(|(i, failure)| decode("failures", i, failure))
                .collect::<Result<_>>()?,
            task_name: experiment.task_name.clone(),
            experiment_metadata: experiment.metadata.clone(),
            analyses: experiment.analyses.clone(),
            report_evaluator_failures: experiment.report_evaluator_failures.clone(),
            trace_id: Some(experiment.trace_id.clone()),
            span_id: Some(experiment.span_id.clone()),
        })
    }
}
