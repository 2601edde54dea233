//! The rules a case must follow, applied alike by the server (on every
//! write) and by the client (before sending, with the `client-validation`
//! feature): the limits on names, tags and source ids, the JSON Schemas a
//! dataset declares, and every case against them, with the same issues
//! (`loc`, `msg`, `type`) wherever they are found.
//!
//! Schemas are compiled once per dataset and schema version and cached.
//! `format` keywords are annotations only (as JSON Schema 2019-09 and later
//! specify by default): Pydantic writes `"format": "date-time"` for naive
//! datetimes too, and the server must accept what Pydantic accepts.
//! References are resolved within the schema only; a remote `$ref` is an
//! error, never fetched.

mod budget;
mod compile;
mod cost;
mod explain;

pub use budget::{BASE_STEPS, STEPS_PER_BYTE, STEPS_PER_NODE, StepBudget};
pub use compile::compile_schema;
use compile::compile_stored;
pub use cost::MAX_IN_PLACE;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::Validator;
use serde_json::Value;
use uuid::Uuid;

use crate::wire::{CaseUpdate, LocSegment, ValidationIssue};

/// Most issues reported for one case.
const MAX_ISSUES_PER_CASE: usize = 10;
/// Most issues reported for one request.
pub const MAX_ISSUES_PER_REQUEST: usize = 200;
/// Longest message kept from the validator, which may quote the value.
const MAX_MESSAGE_LEN: usize = 300;
/// Compiled schema sets kept in the cache before it is emptied.
const CACHE_CAPACITY: usize = 1024;

/// Which of a dataset's three schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `input_schema`, for `inputs`.
    Input,
    /// `output_schema`, for `expected_output`.
    Output,
    /// `metadata_schema`, for `metadata`.
    Metadata,
}

impl SchemaKind {
    /// All three, in wire order.
    pub const ALL: [SchemaKind; 3] = [SchemaKind::Input, SchemaKind::Output, SchemaKind::Metadata];

    /// The dataset field holding the schema.
    pub fn schema_field(self) -> &'static str {
        match self {
            SchemaKind::Input => "input_schema",
            SchemaKind::Output => "output_schema",
            SchemaKind::Metadata => "metadata_schema",
        }
    }

    /// The case field the schema applies to.
    pub fn case_field(self) -> &'static str {
        match self {
            SchemaKind::Input => "inputs",
            SchemaKind::Output => "expected_output",
            SchemaKind::Metadata => "metadata",
        }
    }
}

/// Most tags on one case.
pub const MAX_TAGS: usize = 64;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 128;
/// Longest case name, in characters.
pub const MAX_CASE_NAME_CHARS: usize = 255;
/// Longest `source_trace_id` or `source_span_id`, in characters.
pub const MAX_SOURCE_ID_CHARS: usize = 128;
/// Largest schema, as JSON text.
pub const MAX_SCHEMA_BYTES: usize = 1024 * 1024;
/// Longest regular expression (`pattern`, a `patternProperties` key) in a schema.
pub const MAX_PATTERN_CHARS: usize = 4096;

/// Why a character may not appear in a name, a tag or an id: control
/// characters (NUL included) and the invisible marks that reorder text
/// (right-to-left overrides and the like), which make a name display as
/// something it is not.
fn forbidden_char(c: char) -> Option<&'static str> {
    if c.is_control() {
        Some("a control character")
    } else if matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    {
        Some("a bidirectional text control")
    } else {
        None
    }
}

/// Checks a name, tag or id: at most `max` characters, none forbidden.
fn check_label(
    text: &str,
    what: &str,
    max: usize,
    loc: Vec<LocSegment>,
    issues: &mut Vec<ValidationIssue>,
) {
    let count = text.chars().count();
    if count > max {
        issues.push(ValidationIssue::new(
            loc,
            format!("{what} is {count} characters long; the limit is {max}"),
            "too_long",
        ));
    } else if let Some((index, (c, why))) = text
        .chars()
        .enumerate()
        .find_map(|(i, c)| forbidden_char(c).map(|why| (i, (c, why))))
    {
        issues.push(ValidationIssue::new(
            loc,
            format!(
                "{what} contains {why} (U+{:04X}) at character {index}",
                c as u32
            ),
            "forbidden_character",
        ));
    }
}

fn at(base: &[LocSegment], field: &str) -> Vec<LocSegment> {
    let mut loc = base.to_vec();
    loc.push(field.into());
    loc
}

/// Checks the tags of a filter (a bulk deletion's `tags`), located at
/// `["body", "tags", i]`: each follows the tag rule.
pub fn check_tag_filter(tags: &[String], issues: &mut Vec<ValidationIssue>) {
    for (index, tag) in tags.iter().enumerate() {
        let loc = vec![LocSegment::from("body"), "tags".into(), index.into()];
        if tag.is_empty() {
            issues.push(ValidationIssue::new(
                loc,
                "a tag cannot be empty",
                "empty_tag",
            ));
        } else {
            check_label(tag, "a tag", MAX_TAG_CHARS, loc, issues);
        }
    }
}

fn check_tags(tags: &[String], base: &[LocSegment], issues: &mut Vec<ValidationIssue>) {
    if tags.len() > MAX_TAGS {
        issues.push(ValidationIssue::new(
            at(base, "tags"),
            format!("{} tags; the limit is {MAX_TAGS}", tags.len()),
            "too_many_tags",
        ));
        return;
    }
    for (index, tag) in tags.iter().enumerate() {
        let mut loc = at(base, "tags");
        loc.push(index.into());
        if tag.is_empty() {
            issues.push(ValidationIssue::new(
                loc,
                "a tag cannot be empty",
                "empty_tag",
            ));
        } else {
            check_label(tag, "a tag", MAX_TAG_CHARS, loc, issues);
        }
    }
}

/// The fields of a new case that the limits apply to.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseLabels<'a> {
    /// Its name.
    pub name: Option<&'a str>,
    /// Its tags.
    pub tags: Option<&'a [String]>,
    /// Its `source_trace_id`.
    pub source_trace_id: Option<&'a str>,
    /// Its `source_span_id`.
    pub source_span_id: Option<&'a str>,
}

/// Checks the name, tags and source ids of a new case (located under
/// `base`, e.g. `["body", "cases", 3]`): the limits above.
pub fn check_new_case(
    case: CaseLabels<'_>,
    base: &[LocSegment],
    issues: &mut Vec<ValidationIssue>,
) {
    if let Some(name) = case.name {
        check_label(
            name,
            "a case name",
            MAX_CASE_NAME_CHARS,
            at(base, "name"),
            issues,
        );
    }
    if let Some(tags) = case.tags {
        check_tags(tags, base, issues);
    }
    for (field, value) in [
        ("source_trace_id", case.source_trace_id),
        ("source_span_id", case.source_span_id),
    ] {
        if let Some(id) = value {
            check_label(id, field, MAX_SOURCE_ID_CHARS, at(base, field), issues);
        }
    }
}

/// Refuses a case whose name an earlier case of the same list has, at
/// `[..base, i, "name"]` for the later case `i`, naming the earlier one:
/// one request never writes two cases of one name (pydantic-evals refuses
/// such a file as well), whether it creates or upserts.
pub fn check_unique_names<'a>(
    names: impl IntoIterator<Item = Option<&'a str>>,
    base: &[LocSegment],
    issues: &mut Vec<ValidationIssue>,
) {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (index, name) in names.into_iter().enumerate() {
        let Some(name) = name else { continue };
        if let Some(first) = seen.get(name) {
            let mut loc = base.to_vec();
            loc.extend([LocSegment::from(index), LocSegment::from("name")]);
            issues.push(ValidationIssue::new(
                loc,
                format!("the name {name:?} is already the name of case {first} of this request"),
                "duplicate_name",
            ));
        } else {
            seen.insert(name, index);
        }
    }
}

/// As [`check_new_case`], for the fields a case update sets.
pub fn check_case_update(update: &CaseUpdate, issues: &mut Vec<ValidationIssue>) {
    let base = [LocSegment::from("body")];
    if let Some(name) = update.name.as_set() {
        check_label(
            name,
            "a case name",
            MAX_CASE_NAME_CHARS,
            at(&base, "name"),
            issues,
        );
    }
    if let Some(tags) = update.tags.as_set() {
        check_tags(tags, &base, issues);
    }
    for (field, value) in [
        ("source_trace_id", update.source_trace_id.as_set()),
        ("source_span_id", update.source_span_id.as_set()),
    ] {
        if let Some(id) = value {
            check_label(id, field, MAX_SOURCE_ID_CHARS, at(&base, field), issues);
        }
    }
}

/// Caps a request's issues, saying how many were left out.
pub fn cap_issues(mut issues: Vec<ValidationIssue>) -> Vec<ValidationIssue> {
    if issues.len() > MAX_ISSUES_PER_REQUEST {
        let total = issues.len();
        issues.truncate(MAX_ISSUES_PER_REQUEST);
        issues.push(ValidationIssue::new(
            vec!["body".into()],
            format!("{} more issues not shown", total - MAX_ISSUES_PER_REQUEST),
            "too_many_issues",
        ));
    }
    issues
}

/// Checks the schemas of a create or update body, one issue per bad schema.
pub fn check_schemas<'a>(
    schemas: impl IntoIterator<Item = (SchemaKind, Option<&'a Value>)>,
) -> Result<(), Vec<ValidationIssue>> {
    let issues: Vec<ValidationIssue> = schemas
        .into_iter()
        .filter_map(|(kind, schema)| {
            let err = compile_schema(schema?).err()?;
            Some(ValidationIssue::new(
                vec!["body".into(), kind.schema_field().into()],
                err,
                "invalid_schema",
            ))
        })
        .collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// A dataset's three schemas, compiled.
#[derive(Default)]
pub struct CompiledSchemas {
    input: Option<Validator>,
    output: Option<Validator>,
    metadata: Option<Validator>,
}

impl CompiledSchemas {
    /// Compiles the given schemas (stored ones, valid when they were stored).
    pub fn compile(
        input: Option<&Value>,
        output: Option<&Value>,
        metadata: Option<&Value>,
    ) -> Result<Self, String> {
        let compile = |schema: Option<&Value>| schema.map(compile_stored).transpose();
        Ok(Self {
            input: compile(input)?,
            output: compile(output)?,
            metadata: compile(metadata)?,
        })
    }

    /// Whether the schema of `kind` is set.
    pub fn has(&self, kind: SchemaKind) -> bool {
        self.get(kind).is_some()
    }

    /// Whether any schema is set.
    pub fn is_empty(&self) -> bool {
        self.input.is_none() && self.output.is_none() && self.metadata.is_none()
    }

    fn get(&self, kind: SchemaKind) -> Option<&Validator> {
        match kind {
            SchemaKind::Input => self.input.as_ref(),
            SchemaKind::Output => self.output.as_ref(),
            SchemaKind::Metadata => self.metadata.as_ref(),
        }
    }

    /// Validates one value of a case, appending issues located under `base`
    /// (e.g. `["body", "cases", 3]`). `null` expected outputs and metadata
    /// are never checked: they mean "none".
    pub fn check_value(
        &self,
        kind: SchemaKind,
        value: &Value,
        base: &[LocSegment],
        issues: &mut Vec<ValidationIssue>,
    ) {
        let Some(validator) = self.get(kind) else {
            return;
        };
        if kind != SchemaKind::Input && value.is_null() {
            return;
        }
        let steps = budget::steps_for(value);
        let mut loc = base.to_vec();
        loc.push(kind.case_field().into());
        let out_of_steps = |issues: &mut Vec<ValidationIssue>, spent: budget::OutOfSteps| {
            let steps = spent.steps;
            issues.push(ValidationIssue::new(
                loc.clone(),
                format!(
                    "checking this value against the schema stopped after {steps} steps \
                     (a step is one subschema applied to one part of the value; a request \
                     may take {BASE_STEPS} plus {STEPS_PER_BYTE} per byte of its values): \
                     the schema's $ref, allOf, anyOf or oneOf make it apply itself too \
                     many times to check"
                ),
                "validation_budget",
            ));
        };
        match budget::within(steps, || validator.is_valid(value)) {
            Ok(true) => return,
            Ok(false) => {}
            Err(spent) => return out_of_steps(issues, spent),
        }
        // Collecting every error costs more than checking (each failure is
        // an error built): a share of the steps, then the first error alone.
        let every = budget::within(steps / budget::COLLECTING_COST, || {
            validator
                .iter_errors(value)
                .take(MAX_ISSUES_PER_CASE)
                .collect::<Vec<_>>()
        });
        let errors = match every {
            Ok(errors) => errors,
            Err(_) => match budget::within(steps, || validator.validate(value).err()) {
                Ok(first) => first.into_iter().collect(),
                Err(spent) => return out_of_steps(issues, spent),
            },
        };
        for err in errors {
            let mut loc = loc.clone();
            loc.extend(err.instance_path().iter().map(|segment| match segment {
                jsonschema::paths::LocationSegment::Property(p) => LocSegment::Key(p.into_owned()),
                jsonschema::paths::LocationSegment::Index(i) => LocSegment::Index(i as u64),
            }));
            let keyword = err
                .schema_path()
                .as_str()
                .rsplit('/')
                .next()
                .filter(|k| !k.is_empty())
                .unwrap_or("schema")
                .to_owned();
            issues.push(ValidationIssue::new(
                loc,
                truncate(&err.to_string()),
                keyword,
            ));
        }
    }

    /// Validates a case's three values.
    pub fn check_case(
        &self,
        inputs: &Value,
        expected_output: Option<&Value>,
        metadata: Option<&Value>,
        base: &[LocSegment],
        issues: &mut Vec<ValidationIssue>,
    ) {
        self.check_value(SchemaKind::Input, inputs, base, issues);
        if let Some(value) = expected_output {
            self.check_value(SchemaKind::Output, value, base, issues);
        }
        if let Some(value) = metadata {
            self.check_value(SchemaKind::Metadata, value, base, issues);
        }
    }
}

/// Compiled schemas, cached per dataset and schema version, so a case write
/// costs a validation, not a compilation.
#[derive(Default)]
pub struct SchemaCache {
    entries: Mutex<HashMap<Uuid, (i64, Arc<CompiledSchemas>)>>,
}

impl SchemaCache {
    /// The compiled schemas of a dataset at `version`, compiling them with
    /// `load` on a miss.
    pub fn get_or_compile(
        &self,
        dataset: Uuid,
        version: i64,
        load: impl FnOnce() -> Result<CompiledSchemas, String>,
    ) -> Result<Arc<CompiledSchemas>, String> {
        if let Some((cached_version, schemas)) = self.lock().get(&dataset)
            && *cached_version == version
        {
            return Ok(schemas.clone());
        }
        let schemas = Arc::new(load()?);
        let mut entries = self.lock();
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(dataset, (version, schemas.clone()));
        Ok(schemas)
    }

    /// Forgets a dataset (deleted, or its schemas changed).
    pub fn forget(&self, dataset: Uuid) {
        self.lock().remove(&dataset);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (i64, Arc<CompiledSchemas>)>> {
        // A panic while holding the lock leaves a map that is still valid.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn truncate(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_LEN {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "the root"
    } else {
        pointer
    }
}

/// The JSON type of a value, as JSON Schema names it.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pydantic_question_schema() -> Value {
        // What Pydantic 2 generates for a dataclass with a nested model.
        json!({
            "$defs": {"Ctx": {"properties": {"text": {"title": "Text", "type": "string"}},
                               "required": ["text"], "title": "Ctx", "type": "object"}},
            "properties": {
                "question": {"title": "Question", "type": "string"},
                "context": {"anyOf": [{"$ref": "#/$defs/Ctx"}, {"type": "null"}], "default": null},
                "asked_at": {"format": "date-time", "type": "string"}
            },
            "required": ["question"],
            "title": "QuestionInput",
            "type": "object"
        })
    }

    #[test]
    fn reports_json_paths_under_the_base() {
        let schemas =
            CompiledSchemas::compile(Some(&pydantic_question_schema()), None, None).unwrap();
        let mut issues = Vec::new();
        let base = vec![LocSegment::from("body"), "cases".into(), 3usize.into()];
        schemas.check_case(
            &json!({"question": 1, "context": {"text": 2}}),
            None,
            None,
            &base,
            &mut issues,
        );
        let locs: Vec<String> = issues
            .iter()
            .map(|i| {
                i.loc
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        assert!(
            locs.contains(&"body.cases.3.inputs.question".to_owned()),
            "{locs:?}"
        );
        assert!(
            locs.iter()
                .any(|l| l.starts_with("body.cases.3.inputs.context")),
            "{locs:?}"
        );
        assert!(issues.iter().any(|i| i.kind == "type"), "{issues:?}");
    }

    #[test]
    fn a_stored_schema_with_lookaround_still_checks_but_a_new_one_is_refused() {
        let schema = json!({"type": "string", "pattern": "^(?!tmp_)[a-z_]+$"});
        let Err(err) = compile_schema(&schema) else {
            panic!("refused when set")
        };
        assert!(
            err.contains("/pattern") && err.contains("lookaround"),
            "{err}"
        );
        let stored = CompiledSchemas::compile(Some(&schema), None, None).unwrap();
        let mut issues = Vec::new();
        stored.check_value(SchemaKind::Input, &json!("final_answer"), &[], &mut issues);
        assert!(issues.is_empty(), "{issues:?}");
        stored.check_value(SchemaKind::Input, &json!("tmp_x"), &[], &mut issues);
        assert_eq!(issues.len(), 1, "{issues:?}");
    }

    #[test]
    fn formats_are_annotations() {
        let schemas =
            CompiledSchemas::compile(Some(&pydantic_question_schema()), None, None).unwrap();
        let mut issues = Vec::new();
        schemas.check_case(
            &json!({"question": "q", "asked_at": "2025-01-01T00:00:00"}),
            None,
            None,
            &[],
            &mut issues,
        );
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn null_output_and_metadata_are_not_checked() {
        let schema = json!({"type": "object"});
        let schemas = CompiledSchemas::compile(None, Some(&schema), Some(&schema)).unwrap();
        let mut issues = Vec::new();
        schemas.check_case(&json!(1), Some(&Value::Null), None, &[], &mut issues);
        assert!(issues.is_empty());
        schemas.check_case(
            &json!(1),
            Some(&json!(2)),
            Some(&json!("x")),
            &[],
            &mut issues,
        );
        assert_eq!(issues.len(), 2);
    }

    #[test]
    fn rejects_schemas_that_are_not_json_schema() {
        assert!(
            compile_schema(&json!("string"))
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(
            compile_schema(&json!({"type": 12}))
                .unwrap_err()
                .contains("not a valid JSON Schema")
        );
        assert!(compile_schema(&json!({"$ref": "#/$defs/Missing"})).is_err());
        let remote = json!({"$ref": "http://127.0.0.1:9/schema.json"});
        assert!(
            compile_schema(&remote).is_err(),
            "remote refs are never fetched"
        );
        assert!(
            compile_schema(
                &json!({"definitions": {"A": {"type": "string"}}, "$ref": "#/definitions/A"})
            )
            .is_ok()
        );
    }
}
