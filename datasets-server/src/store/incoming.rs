//! New cases as a request carries them, before any store writes them.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use datasets_core::wire::{EvaluatorSpec, NewCase};

/// A new case as a request carries it: its small fields parsed, its values
/// still JSON text inside the request body ([`IncomingCases::body`]), so
/// that a request of many cases is never held whole as parsed values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncomingCase {
    /// A name, unique within the dataset.
    pub name: Option<String>,
    /// Where `inputs` is in the body.
    pub inputs: Range<usize>,
    /// Where `expected_output` is (`None` when absent or `null`).
    pub expected_output: Option<Range<usize>>,
    /// Where `metadata` is (`None` when absent or `null`).
    pub metadata: Option<Range<usize>>,
    /// Case-level evaluators.
    pub evaluators: Option<Vec<EvaluatorSpec>>,
    /// The trace the case was taken from.
    pub source_trace_id: Option<String>,
    /// The span the case was taken from.
    pub source_span_id: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

/// New cases, and the JSON body their values are in.
#[derive(Debug, Clone)]
pub struct IncomingCases {
    /// The text the cases' value ranges point into.
    pub body: Bytes,
    /// The cases, in order.
    pub cases: Vec<IncomingCase>,
    /// Set once nobody waits for the write (its client has gone): the
    /// checks of its cases stop, and it writes nothing.
    pub abandoned: Arc<AtomicBool>,
}

/// Marks a write abandoned when dropped: held by the request's handler, it
/// is dropped with it when the client goes away mid-request.
#[derive(Debug)]
pub struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl IncomingCases {
    /// A guard that abandons these cases' write when dropped; the handler
    /// holds it across the write.
    pub fn abandon_on_drop(&self) -> AbandonOnDrop {
        AbandonOnDrop(Arc::clone(&self.abandoned))
    }

    /// The JSON text of a value of a case.
    pub fn text(&self, range: &Range<usize>) -> &str {
        std::str::from_utf8(&self.body[range.clone()]).unwrap_or("null")
    }

    /// Cases built in code rather than read from a body: their values are
    /// written into one.
    pub fn from_new_cases(cases: Vec<NewCase>) -> Self {
        let mut body = Vec::new();
        let mut put = |value: &serde_json::Value| {
            let start = body.len();
            serde_json::to_writer(&mut body, value).expect("JSON values serialize");
            start..body.len()
        };
        let cases = cases
            .into_iter()
            .map(|case| IncomingCase {
                inputs: put(&case.inputs),
                expected_output: case
                    .expected_output
                    .filter(|v| !v.is_null())
                    .map(|v| put(&v)),
                metadata: case.metadata.filter(|v| !v.is_null()).map(|v| put(&v)),
                name: case.name,
                evaluators: case.evaluators,
                source_trace_id: case.source_trace_id,
                source_span_id: case.source_span_id,
                tags: case.tags,
            })
            .collect();
        Self {
            body: Bytes::from(body),
            cases,
            abandoned: Arc::default(),
        }
    }
}
