//! Checking cases in the client, before sending them, with the rules the
//! server applies (`crate::rules`): a case that does not fit the dataset's
//! generated schemas fails with the 422 the server would give, and nothing
//! is sent.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::client::DatasetsClient;
use crate::error::{Error, Result};
use crate::schema::DatasetSchema;
use crate::wire::{CaseUpdate, LocSegment, NewCase, ValidationIssue};

use crate::rules::{self, CaseLabels, CompiledSchemas, SchemaKind};

/// The compiled schemas of `D`, compiled once per type.
fn schemas<D: DatasetSchema>() -> Option<Arc<CompiledSchemas>> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Option<Arc<CompiledSchemas>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = TypeId::of::<D>();
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return found.clone();
    }
    let definition = D::definition();
    // A schema the client cannot compile is left to the server to judge.
    let compiled = CompiledSchemas::compile(
        definition.input_schema.as_ref(),
        definition.output_schema.as_ref(),
        definition.metadata_schema.as_ref(),
    )
    .ok()
    .map(Arc::new);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, compiled.clone());
    compiled
}

fn refuse(issues: Vec<ValidationIssue>) -> Result<()> {
    if issues.is_empty() {
        return Ok(());
    }
    let issues = rules::cap_issues(issues);
    Err(Error::Api {
        status: 422,
        detail: serde_json::to_value(issues).unwrap_or(Value::Null),
    })
}

/// Checks new cases, located as the server locates them: one case at
/// `["body", ...]`, a list's at `["body", "cases", i, ...]` (`i` counted
/// in the caller's list).
pub(super) fn cases<D: DatasetSchema>(
    client: &DatasetsClient,
    cases: &[NewCase],
    listed: bool,
) -> Result<()> {
    if client.validates_cases() {
        let schemas = schemas::<D>();
        let mut issues = Vec::new();
        for (index, case) in cases.iter().enumerate() {
            let mut base = vec![LocSegment::from("body")];
            if listed {
                base.extend([LocSegment::from("cases"), index.into()]);
            }
            let labels = CaseLabels {
                name: case.name.as_deref(),
                tags: case.tags.as_deref(),
                source_trace_id: case.source_trace_id.as_deref(),
                source_span_id: case.source_span_id.as_deref(),
            };
            rules::check_new_case(labels, &base, &mut issues);
            if let Some(schemas) = &schemas {
                schemas.check_case(
                    &case.inputs,
                    present(&case.expected_output),
                    present(&case.metadata),
                    &base,
                    &mut issues,
                );
            }
        }
        if listed {
            rules::check_unique_names(
                cases.iter().map(|case| case.name.as_deref()),
                &["body".into(), "cases".into()],
                &mut issues,
            );
        }
        return refuse(issues);
    }
    Ok(())
}

/// Checks the values and labels a case update sets, at `["body", ...]`.
pub(super) fn update<D: DatasetSchema>(client: &DatasetsClient, update: &CaseUpdate) -> Result<()> {
    if client.validates_cases() {
        let mut issues = Vec::new();
        rules::check_case_update(update, &mut issues);
        if let Some(schemas) = schemas::<D>() {
            let base = [LocSegment::from("body")];
            for (kind, value) in [
                (SchemaKind::Input, update.inputs.as_ref()),
                (SchemaKind::Output, update.expected_output.as_set()),
                (SchemaKind::Metadata, update.metadata.as_set()),
            ] {
                if let Some(value) = value {
                    schemas.check_value(kind, value, &base, &mut issues);
                }
            }
        }
        return refuse(issues);
    }
    Ok(())
}

/// `null` expected outputs and metadata mean "none".
fn present(value: &Option<serde_json::Value>) -> Option<&serde_json::Value> {
    value.as_ref().filter(|v| !v.is_null())
}
