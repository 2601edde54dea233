//! The task's side of a run: the metrics and attributes a task records,
//! what a task may return (an output, or a result that may fail), and how
//! failed attempts are retried.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

tokio::task_local! {
    /// What the running task recorded; set around each attempt.
    pub(super) static RECORD: Arc<Mutex<Record>>;
}

#[derive(Debug, Default)]
pub(super) struct Record {
    pub(super) metrics: BTreeMap<String, f64>,
    pub(super) attributes: BTreeMap<String, Value>,
}

pub(super) fn with_record(f: impl FnOnce(&mut Record)) {
    let _ = RECORD.try_with(|record| f(&mut record.lock().unwrap_or_else(|e| e.into_inner())));
}

/// Records a metric of the case the calling task is running, e.g. the
/// tokens it used; the report shows it and averages it. Outside an
/// evaluation it does nothing. (pydantic-evals' `set_eval_attribute` for numbers.)
pub fn set_metric(name: impl Into<String>, value: f64) {
    with_record(|record| {
        record.metrics.insert(name.into(), value);
    });
}

/// Adds `amount` to a metric of the running case (from 0), as
/// pydantic-evals' `increment_eval_metric`: a metric still at 0 after the
/// increment is not recorded (so adding 0 to an absent metric leaves it
/// absent).
pub fn increment_metric(name: impl Into<String>, amount: f64) {
    with_record(|record| {
        let name = name.into();
        let current = record.metrics.get(&name).copied().unwrap_or(0.0);
        let incremented = current + amount;
        if current == 0.0 && incremented == 0.0 {
            return;
        }
        record.metrics.insert(name, incremented);
    });
}

/// Records an attribute (any JSON) of the running case.
pub fn set_attribute(name: impl Into<String>, value: impl Into<Value>) {
    with_record(|record| {
        record.attributes.insert(name.into(), value.into());
    });
}

/// What a task may return: the output itself, or a `Result` whose error is
/// reported as the case's failure. `Marker` tells the two apart; inference
/// fills it in.
pub trait TaskOutput<O, Marker>: Send {
    /// The output, or the error's message.
    fn into_task_result(self) -> std::result::Result<O, String>;
}

/// [`TaskOutput`] marker of a task returning its output.
#[derive(Debug)]
pub enum Infallible {}

/// [`TaskOutput`] marker of a task returning `Result<O, E>`.
#[derive(Debug)]
pub struct Fallible<E>(PhantomData<fn() -> E>);

impl<O: Send> TaskOutput<O, Infallible> for O {
    fn into_task_result(self) -> std::result::Result<O, String> {
        Ok(self)
    }
}

impl<O: Send, E: std::fmt::Display + Send> TaskOutput<O, Fallible<E>>
    for std::result::Result<O, E>
{
    fn into_task_result(self) -> std::result::Result<O, String> {
        self.map_err(|err| err.to_string())
    }
}

/// Retries of a failing task: after an error or a timeout (never after a
/// panic, which is a bug to see rather than retry), up to `max_retries`
/// more attempts, waiting an exponentially growing, jittered backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskRetry {
    /// Attempts after the first.
    pub max_retries: u32,
    /// The wait before the first retry; each next one doubles it.
    pub initial_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl TaskRetry {
    /// Up to `max_retries` retries, backing off from 100 ms up to 10 s.
    pub fn new(max_retries: u32) -> Self {
        Self {
            max_retries,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }

    /// Sets the first and the longest wait.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The wait before retry `retry` (from 1): between half and all of the
    /// exponential step, so that retries of many cases spread out.
    pub(super) fn delay(&self, retry: u32) -> Duration {
        crate::backoff::Backoff {
            initial: self.initial_backoff,
            max: self.max_backoff,
        }
        .delay(retry.saturating_sub(1))
    }
}
