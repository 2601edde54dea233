//! New cases, from a request's body to rows: checked against the dataset's
//! schemas (on a second thread for large requests, while the store writes
//! the ones before), encoded once, with their ids and tags as the protocol
//! says. Backend-free: a store hands each valid case to its own insert.

use std::sync::Arc;

use datasets_core::wire::{LocSegment, Timestamp, ValidationIssue};
use serde_json::Value;
use uuid::Uuid;

use crate::json_guard::minify;
use crate::store::versions::{CaseContent, changed_fields};
use crate::store::{CaseRecord, IncomingCase, IncomingCases, StoreError};
use crate::validation::{CompiledSchemas, SchemaKind, StepBudget};

/// A case prepared for writing: JSON encoded once, used for the row and the answer.
pub(crate) struct EncodedCase {
    pub(crate) id: Uuid,
    pub(crate) name: Option<String>,
    pub(crate) inputs: String,
    pub(crate) expected_output: Option<String>,
    pub(crate) metadata: Option<String>,
    pub(crate) evaluators: Option<String>,
    pub(crate) source_trace_id: Option<String>,
    pub(crate) source_span_id: Option<String>,
    pub(crate) tags: Option<Vec<String>>,
}

impl EncodedCase {
    /// A case of a request, its values minified (as clients send them, they
    /// usually already are, and are taken as they are).
    pub(crate) fn new(cases: &IncomingCases, case: &IncomingCase) -> Self {
        let text = |range: &std::ops::Range<usize>| minify(cases.text(range)).into_owned();
        Self {
            id: case_id(),
            inputs: text(&case.inputs),
            expected_output: case.expected_output.as_ref().map(text),
            metadata: case.metadata.as_ref().map(text),
            name: case.name.clone(),
            evaluators: case.evaluators.as_ref().map(super::json_text),
            source_trace_id: case.source_trace_id.clone(),
            source_span_id: case.source_span_id.clone(),
            tags: case.tags.clone().map(dedup_tags),
        }
    }
}

impl EncodedCase {
    /// Whether an upsert of this case over `current` (of its name) would
    /// change it: the pydantic-evals fields are replaced, links and tags
    /// only when given. An upsert that changes nothing leaves the case as
    /// it is, with no new case version.
    pub(crate) fn changes(&self, current: &CaseRecord) -> bool {
        let after = CaseContent {
            name: current.name.as_deref(),
            inputs: &self.inputs,
            expected_output: self.expected_output.as_deref(),
            metadata: self.metadata.as_deref(),
            evaluators: self.evaluators.as_deref(),
            source_trace_id: self
                .source_trace_id
                .as_deref()
                .or(current.source_trace_id.as_deref()),
            source_span_id: self
                .source_span_id
                .as_deref()
                .or(current.source_span_id.as_deref()),
            tags: self.tags.as_deref().unwrap_or(&current.tags),
        };
        !changed_fields(&current.content(), &after).is_empty()
    }

    /// The case as stored by a write at `at` of `actor`: version 1.
    pub(crate) fn into_record(self, dataset_id: Uuid, at: Timestamp, actor: Uuid) -> CaseRecord {
        CaseRecord {
            id: self.id,
            dataset_id,
            name: self.name,
            inputs: self.inputs,
            expected_output: self.expected_output,
            metadata: self.metadata,
            evaluators: self.evaluators,
            source_trace_id: self.source_trace_id,
            source_span_id: self.source_span_id,
            tags: self.tags.unwrap_or_default(),
            version: 1,
            created_at: at,
            updated_at: at,
            created_by: Some(actor),
            updated_by: Some(actor),
        }
    }
}

/// A new case's id: a UUID v7 (time-ordered, so the id index grows at its
/// end), its random bits from a fast generator seeded once per thread. Ids
/// identify; they are not secrets (every read is confined to the key's
/// project), and a system random call per case would cost more than the insert.
fn case_id() -> Uuid {
    let millis = Timestamp::now_utc().unix_timestamp_nanos() / 1_000_000;
    let random: [u8; 10] = std::array::from_fn(|_| fastrand::u8(..));
    uuid::Builder::from_unix_timestamp_millis(millis as u64, &random).into_uuid()
}

/// Checks a case's values against the dataset's schemas, parsing each only
/// when a schema applies to it.
fn check_incoming(
    schemas: &CompiledSchemas,
    cases: &IncomingCases,
    case: &IncomingCase,
    index: usize,
    found: &mut Vec<(Option<usize>, ValidationIssue)>,
) -> Result<(), StoreError> {
    // Located relative to the case; the write's issues carry its index.
    let mut issues = Vec::new();
    let values = [
        (SchemaKind::Input, Some(&case.inputs)),
        (SchemaKind::Output, case.expected_output.as_ref()),
        (SchemaKind::Metadata, case.metadata.as_ref()),
    ];
    for (kind, range) in values {
        if let Some(range) = range
            && schemas.has(kind)
        {
            match serde_json::from_str::<Value>(cases.text(range)) {
                Ok(value) => schemas.check_value(kind, &value, &[], &mut issues),
                Err(err) => issues.push(ValidationIssue::new(
                    vec![LocSegment::from(kind.case_field())],
                    err.to_string(),
                    "json_invalid",
                )),
            }
        }
    }
    found.extend(issues.into_iter().map(|issue| (Some(index), issue)));
    Ok(())
}

/// Requests of at least this many cases check and encode them on a second
/// thread while this one writes them, so that the two cores of a small
/// machine share the work; below it a thread costs more than it saves.
const PIPELINE_MIN_CASES: usize = 256;

/// Checks each case of a request against the schemas and hands the valid
/// ones, encoded, to `write`, in order. After the first invalid case nothing
/// more is written but every case is still checked, so that the 422 names
/// them all (the caller's transaction then rolls back). An error of `write`
/// ends it at once.
pub(crate) fn each_valid_case(
    schemas: &CompiledSchemas,
    cases: &IncomingCases,
    mut write: impl FnMut(EncodedCase) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let issues = if cases.cases.len() < PIPELINE_MIN_CASES {
        let mut failed = None;
        let issues = check_cases(schemas, cases, &mut |case| match write(case) {
            Ok(()) => true,
            Err(err) => {
                failed = Some(err);
                false
            }
        })?;
        if let Some(err) = failed {
            return Err(err);
        }
        issues
    } else {
        std::thread::scope(|scope| {
            let (to_writer, encoded) = std::sync::mpsc::sync_channel(1024);
            let checker = scope.spawn(move || {
                // A send fails once the writer has stopped.
                check_cases(schemas, cases, &mut |case| to_writer.send(case).is_ok())
            });
            for case in encoded {
                // Returning drops the receiver, which stops the checker.
                write(case)?;
            }
            checker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?
    };
    finish(issues)
}

/// Checks each case against the schemas and hands the valid ones, encoded,
/// to `send` on this thread, for a store whose writing runs elsewhere
/// already (on another connection's task); otherwise as [`each_valid_case`].
/// `send` answers false to stop (the write failed).
pub(crate) fn each_valid_case_here(
    schemas: &CompiledSchemas,
    cases: &IncomingCases,
    send: &mut dyn FnMut(EncodedCase) -> bool,
) -> Result<(), StoreError> {
    finish(check_cases(schemas, cases, send)?)
}

/// Checks the cases in order; `send` gets the valid ones before the first
/// invalid one, and answers false to stop everything. Answers the issues.
fn check_cases(
    schemas: &CompiledSchemas,
    cases: &IncomingCases,
    send: &mut dyn FnMut(EncodedCase) -> bool,
) -> Result<Vec<(Option<usize>, ValidationIssue)>, StoreError> {
    let mut issues = Vec::new();
    // The request's checks share one step budget, grown by each case's bytes.
    let mut budget = StepBudget::new().cancelled_by(Arc::clone(&cases.abandoned));
    for (index, case) in cases.cases.iter().enumerate() {
        if !schemas.is_empty() {
            budget.grant(
                [
                    Some(&case.inputs),
                    case.expected_output.as_ref(),
                    case.metadata.as_ref(),
                ]
                .into_iter()
                .flatten()
                .map(|range| range.len())
                .sum(),
            );
            budget.run(|| check_incoming(schemas, cases, case, index, &mut issues))?;
            let later = cases.cases.len() - index - 1;
            if budget.left() == 0 && later > 0 {
                issues.push((
                    None,
                    ValidationIssue::new(
                        vec![LocSegment::from("cases")],
                        format!(
                            "the {later} case(s) after case {index} were not checked: the \
                             request's step budget is spent"
                        ),
                        "validation_budget",
                    ),
                ));
                break;
            }
        }
        if issues.is_empty() && !send(EncodedCase::new(cases, case)) {
            break;
        }
    }
    Ok(issues)
}

fn finish(issues: Vec<(Option<usize>, ValidationIssue)>) -> Result<(), StoreError> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(super::invalid(issues))
    }
}

/// Tags keep their first-seen order, without repeats: the one tag rule of
/// `datasets_core::names`.
pub(crate) fn dedup_tags(tags: Vec<String>) -> Vec<String> {
    datasets_core::names::dedup_tags(tags)
}
