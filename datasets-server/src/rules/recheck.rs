//! Existing cases against changed schemas: every stored row is judged (read
//! leniently, so that no stored value can fail the request), and a change
//! that any row no longer satisfies is refused, naming the first ones.

use datasets_core::wire::ValidationIssue;
use serde_json::Value;

use crate::store::{Issue, StoreError};
use crate::validation::{CompiledSchemas, SchemaKind, StepBudget};

/// Most rejected cases named in the 422 of a schema change.
pub(crate) const MAX_REJECTED_CASES_LISTED: usize = 20;

/// The judgement of a schema change over the rows a store streams to it.
pub(crate) struct Recheck {
    compiled: CompiledSchemas,
    /// Shared by the whole re-check, grown by each row's bytes.
    budget: StepBudget,
    rejected: Vec<Issue>,
    rejected_count: usize,
}

/// One stored case, as its row holds it.
pub(crate) struct StoredRow<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: Option<&'a str>,
    pub(crate) inputs: Option<&'a str>,
    pub(crate) expected_output: Option<&'a str>,
    pub(crate) metadata: Option<&'a str>,
}

impl Recheck {
    /// A re-check against the schemas that `changed` names in `new_schemas`
    /// (input, output, metadata); `None` when none of them applies.
    pub(crate) fn new(
        new_schemas: &[Option<Value>; 3],
        changed: &[SchemaKind],
    ) -> Result<Option<Self>, StoreError> {
        let pick = |kind: SchemaKind, index: usize| {
            changed
                .contains(&kind)
                .then(|| new_schemas[index].as_ref())
                .flatten()
        };
        let compiled = CompiledSchemas::compile(
            pick(SchemaKind::Input, 0),
            pick(SchemaKind::Output, 1),
            pick(SchemaKind::Metadata, 2),
        )
        .map_err(|err| StoreError::Invalid(vec![Issue::whole(err, "invalid_schema")]))?;
        Ok((!compiled.is_empty()).then(|| Self {
            compiled,
            budget: StepBudget::new(),
            rejected: Vec::new(),
            rejected_count: 0,
        }))
    }

    /// Judges one stored case.
    pub(crate) fn row(&mut self, row: StoredRow<'_>) {
        let mut issues = Vec::new();
        let mut parse = |text: Option<&str>, field: &str| -> Option<Value> {
            text.and_then(|text| match crate::json_guard::parse_stored(text) {
                Ok(value) => Some(value),
                Err(err) => {
                    issues.push(ValidationIssue::new(
                        vec![field.into()],
                        format!(
                            "its stored value cannot be read as JSON ({err}); update or delete it"
                        ),
                        "stored_value_unreadable",
                    ));
                    None
                }
            })
        };
        let inputs = parse(row.inputs, "inputs").unwrap_or(Value::Null);
        let expected_output = parse(row.expected_output, "expected_output");
        let metadata = parse(row.metadata, "metadata");
        self.budget.grant(
            [row.inputs, row.expected_output, row.metadata]
                .into_iter()
                .flatten()
                .map(str::len)
                .sum(),
        );
        let compiled = &self.compiled;
        self.budget.run(|| {
            compiled.check_case(
                &inputs,
                expected_output.as_ref(),
                metadata.as_ref(),
                &[],
                &mut issues,
            );
        });
        let Some(first) = issues.into_iter().next() else {
            return;
        };
        self.rejected_count += 1;
        if self.rejected.len() < MAX_REJECTED_CASES_LISTED {
            let field = first
                .loc
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            let schema_field = SchemaKind::ALL
                .into_iter()
                .find(|kind| kind.case_field() == field)
                .map_or("input_schema", SchemaKind::schema_field);
            let label = match row.name {
                Some(name) => format!("case {} ({name:?})", row.id),
                None => format!("case {}", row.id),
            };
            self.rejected.push(Issue::at_field(
                schema_field,
                format!("{label} would no longer validate: {first}"),
                "schema_rejects_existing_case",
            ));
        }
    }

    /// The verdict: the change applies, or a 422 naming the first cases it
    /// rejects, with their count.
    pub(crate) fn finish(self) -> Result<(), StoreError> {
        if self.rejected_count == 0 {
            return Ok(());
        }
        let mut issues = vec![Issue::whole(
            format!(
                "the new schemas reject {} existing case(s); {} listed",
                self.rejected_count,
                self.rejected.len()
            ),
            "schema_rejects_existing_cases",
        )];
        issues.extend(self.rejected);
        Err(StoreError::Invalid(issues))
    }
}
