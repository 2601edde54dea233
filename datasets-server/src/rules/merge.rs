//! A partial case update merged into the stored case: a key present sets
//! (null clears), a key absent keeps; new values are checked against the
//! dataset's schemas (stored ones already satisfy them).

use datasets_core::Patch;
use datasets_core::wire::{CaseUpdate, EvaluatorSpec};
use serde_json::Value;

use super::cases::dedup_tags;
use super::json_text;
use crate::store::versions::{CaseContent, changed_fields};
use crate::store::{CaseRecord, StoreError};
use crate::validation::{CompiledSchemas, SchemaKind};

/// A case's fields after an update, as the store writes them.
pub(crate) struct MergedCase {
    pub(crate) name: Option<String>,
    pub(crate) inputs: String,
    pub(crate) expected_output: Option<String>,
    pub(crate) metadata: Option<String>,
    pub(crate) evaluators: Option<String>,
    pub(crate) source_trace_id: Option<String>,
    pub(crate) source_span_id: Option<String>,
    pub(crate) tags: Vec<String>,
    /// Whether the tags changed, so the store rewrites its tag index.
    pub(crate) tags_changed: bool,
    /// Whether the name changed, so the store checks it is free.
    pub(crate) renamed: bool,
}

impl MergedCase {
    /// What the case would hold, for [`changed_fields`].
    pub(crate) fn content(&self) -> CaseContent<'_> {
        CaseContent {
            name: self.name.as_deref(),
            inputs: &self.inputs,
            expected_output: self.expected_output.as_deref(),
            metadata: self.metadata.as_deref(),
            evaluators: self.evaluators.as_deref(),
            source_trace_id: self.source_trace_id.as_deref(),
            source_span_id: self.source_span_id.as_deref(),
            tags: &self.tags,
        }
    }

    /// Whether writing it would change `current`: an update that leaves the
    /// case equal is answered with the case as it is, and makes no version.
    pub(crate) fn changes(&self, current: &CaseRecord) -> bool {
        !changed_fields(&current.content(), &self.content()).is_empty()
    }
}

/// Merges `update` into `current`, refusing new values that do not fit
/// `schemas` (422, at the field of the update and the path in its value).
pub(crate) fn merge_update(
    current: &CaseRecord,
    update: CaseUpdate,
    schemas: &CompiledSchemas,
) -> Result<MergedCase, StoreError> {
    let mut issues = Vec::new();
    if let Some(inputs) = &update.inputs {
        schemas.check_value(SchemaKind::Input, inputs, &[], &mut issues);
    }
    if let Patch::Set(value) = &update.expected_output {
        schemas.check_value(SchemaKind::Output, value, &[], &mut issues);
    }
    if let Patch::Set(value) = &update.metadata {
        schemas.check_value(SchemaKind::Metadata, value, &[], &mut issues);
    }
    if !issues.is_empty() {
        return Err(super::invalid(
            issues.into_iter().map(|issue| (None, issue)).collect(),
        ));
    }
    let json_patch = |patch: Patch<Value>, current: Option<String>| match patch {
        Patch::Keep => current,
        Patch::Clear => None,
        Patch::Set(value) => (!value.is_null()).then(|| json_text(&value)),
    };
    let tags = update.tags.clone().map(dedup_tags);
    let new_tags = tags
        .clone()
        .apply(Some(current.tags.clone()))
        .unwrap_or_default();
    let renamed = matches!(&update.name, Patch::Set(name) if current.name.as_ref() != Some(name));
    Ok(MergedCase {
        name: update.name.apply(current.name.clone()),
        inputs: update
            .inputs
            .as_ref()
            .map(json_text)
            .unwrap_or_else(|| current.inputs.clone()),
        expected_output: json_patch(update.expected_output, current.expected_output.clone()),
        metadata: json_patch(update.metadata, current.metadata.clone()),
        evaluators: match update.evaluators {
            Patch::Keep => current.evaluators.clone(),
            Patch::Clear => None,
            Patch::Set(specs) => Some(json_text::<Vec<EvaluatorSpec>>(&specs)),
        },
        source_trace_id: update
            .source_trace_id
            .apply(current.source_trace_id.clone()),
        source_span_id: update.source_span_id.apply(current.source_span_id.clone()),
        tags: new_tags,
        tags_changed: !tags.is_keep(),
        renamed,
    })
}
