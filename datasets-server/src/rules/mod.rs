//! The rules of the store's writes, above any backend: how new cases are
//! checked and encoded, how an update merges into a case, how existing cases
//! are re-checked against new schemas, when a conditional write applies. A
//! store calls them inside its writing transaction and stores what they
//! decide; a second backend reuses them as they are. The case limits and
//! JSON Schema validation themselves are `datasets_core::rules`, shared
//! with the client.

pub(crate) mod cases;
pub(crate) mod datasets;
pub(crate) mod merge;
pub(crate) mod recheck;

use datasets_core::wire::ValidationIssue;

use crate::store::{Issue, StoreError};
use crate::validation::MAX_ISSUES_PER_REQUEST;

/// A conditional write (`If-Match`) applies only to the version it names.
pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != current => {
            Err(StoreError::VersionMismatch { expected, current })
        }
        _ => Ok(()),
    }
}

/// A value as the compact JSON text the store keeps.
pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON values always serialize")
}

/// The 422 of issues found in case `case` of a write (`None`: a one-case
/// update), each located relative to the case, capped as every request's are.
pub(crate) fn invalid(issues: Vec<(Option<usize>, ValidationIssue)>) -> StoreError {
    let total = issues.len();
    let mut issues: Vec<Issue> = issues
        .into_iter()
        .take(MAX_ISSUES_PER_REQUEST)
        .map(|(case, issue)| Issue::of_case(case, issue))
        .collect();
    if total > MAX_ISSUES_PER_REQUEST {
        issues.push(Issue::whole(
            format!("{} more issues not shown", total - MAX_ISSUES_PER_REQUEST),
            "too_many_issues",
        ));
    }
    StoreError::Invalid(issues)
}

/// A dataset's schemas, compiled once per schema version (from `cache`);
/// a stored schema that no longer compiles is a backend failure.
pub(crate) fn compiled_schemas(
    cache: &crate::validation::SchemaCache,
    dataset: &datasets_core::wire::DatasetDetail,
    schema_version: i64,
) -> Result<std::sync::Arc<crate::validation::CompiledSchemas>, StoreError> {
    cache
        .get_or_compile(dataset.id, schema_version, || {
            crate::validation::CompiledSchemas::compile(
                dataset.input_schema.as_ref(),
                dataset.output_schema.as_ref(),
                dataset.metadata_schema.as_ref(),
            )
        })
        .map_err(|err| StoreError::Backend(format!("stored schema does not compile: {err}")))
}
