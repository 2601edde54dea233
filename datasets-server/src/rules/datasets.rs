//! A dataset update merged into the stored dataset: what each field becomes,
//! and which schemas changed (so that the store re-checks the existing
//! cases against them, in the transaction that writes them).

use datasets_core::wire::{DatasetDetail, DatasetUpdate, EvaluatorSpec};
use serde_json::Value;

use crate::validation::SchemaKind;

/// A dataset's fields after an update, as a store writes them.
pub(crate) struct MergedDataset {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) guidance: Option<String>,
    pub(crate) ai_managed_guidance: bool,
    /// Input, output and metadata schemas.
    pub(crate) schemas: [Option<Value>; 3],
    pub(crate) evaluators: Option<Vec<EvaluatorSpec>>,
    pub(crate) report_evaluators: Option<Vec<EvaluatorSpec>>,
    /// The schemas that differ from the stored ones.
    pub(crate) changed: Vec<SchemaKind>,
}

impl MergedDataset {
    /// Whether the name changes.
    pub(crate) fn renamed(&self, old: &DatasetDetail) -> bool {
        self.name != old.name
    }
}

/// Merges `update` into `old`: a key present sets (null clears), a key
/// absent keeps.
pub(crate) fn merge_dataset(old: &DatasetDetail, update: DatasetUpdate) -> MergedDataset {
    let schemas = [
        update.input_schema.apply(old.input_schema.clone()),
        update.output_schema.apply(old.output_schema.clone()),
        update.metadata_schema.apply(old.metadata_schema.clone()),
    ];
    let old_schemas = [&old.input_schema, &old.output_schema, &old.metadata_schema];
    let changed = SchemaKind::ALL
        .into_iter()
        .zip(schemas.iter().zip(old_schemas))
        .filter(|(_, (new, old))| new != old)
        .map(|(kind, _)| kind)
        .collect();
    MergedDataset {
        name: update
            .name
            .apply(Some(old.name.clone()))
            .unwrap_or_else(|| old.name.clone()),
        description: update.description.apply(old.description.clone()),
        guidance: update.guidance.apply(old.guidance.clone()),
        ai_managed_guidance: update
            .ai_managed_guidance
            .apply(Some(old.ai_managed_guidance))
            .unwrap_or(false),
        schemas,
        evaluators: update.evaluators.apply(old.evaluators.clone()),
        report_evaluators: update
            .report_evaluators
            .apply(old.report_evaluators.clone()),
        changed,
    }
}

/// The message of a dataset name already taken in the project.
pub(crate) fn dataset_name_taken(name: &str) -> String {
    format!("A dataset named {name:?} already exists in this project")
}

/// The message of a case name already taken in the dataset.
pub(crate) fn case_name_taken(name: &str) -> String {
    format!("A case named {name:?} already exists in this dataset")
}
