//! Compiling a schema: the size and cost rules a schema must meet when it
//! is set ([`compile_schema`]), and the more lenient compile of one already
//! stored ([`compile_stored`]).

use jsonschema::Validator;
use serde_json::Value;

use super::{
    MAX_PATTERN_CHARS, MAX_SCHEMA_BYTES, budget, cost, display_pointer, explain, json_type_name,
    truncate,
};

/// Refuses a schema too large to compile cheaply, or with a regular
/// expression longer than [`MAX_PATTERN_CHARS`], naming where.
fn check_schema_size(schema: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(schema).map_or(0, |text| text.len());
    if bytes > MAX_SCHEMA_BYTES {
        return Err(format!(
            "the schema is {bytes} bytes as JSON; the limit is {MAX_SCHEMA_BYTES}"
        ));
    }
    fn walk(value: &Value, pointer: &mut String) -> Result<(), String> {
        let Value::Object(map) = value else {
            if let Value::Array(items) = value {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    walk(item, pointer)?;
                    pointer.truncate(len);
                }
            }
            return Ok(());
        };
        let too_long = |pattern: &str, pointer: &str| {
            let count = pattern.chars().count();
            (count > MAX_PATTERN_CHARS).then(|| {
                format!(
                    "the regular expression at {pointer} is {count} characters long; \
                     the limit is {MAX_PATTERN_CHARS}"
                )
            })
        };
        for (key, item) in map {
            let len = pointer.len();
            pointer.push('/');
            pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            match (key.as_str(), item) {
                // Values, not schemas: nothing in them is a keyword.
                ("const" | "default" | "enum" | "examples", _) => {}
                ("pattern", Value::String(pattern)) => {
                    if let Some(err) = too_long(pattern, pointer) {
                        return Err(err);
                    }
                    cost::check_pattern(pattern, pointer)?;
                }
                ("patternProperties", Value::Object(patterns)) => {
                    for pattern in patterns.keys() {
                        if let Some(err) = too_long(pattern, pointer) {
                            return Err(err);
                        }
                        cost::check_pattern(pattern, pointer)?;
                    }
                    walk(item, pointer)?;
                }
                _ => walk(item, pointer)?,
            }
            pointer.truncate(len);
        }
        Ok(())
    }
    walk(schema, &mut String::new())
}

/// Compiles one schema, answering why it is not a usable JSON Schema.
pub fn compile_schema(schema: &Value) -> Result<Validator, String> {
    if !schema.is_object() {
        return Err(format!(
            "a schema must be a JSON object, not {}",
            json_type_name(schema)
        ));
    }
    check_schema_size(schema)?;
    if let Err(err) = jsonschema::meta::validate(schema) {
        if let Some(words) = explain::explain(schema) {
            return Err(format!("not a valid JSON Schema: {}", truncate(&words)));
        }
        return Err(format!(
            "not a valid JSON Schema: {} at {}",
            truncate(&err.masked().to_string()),
            display_pointer(err.instance_path().as_str())
        ));
    }
    cost::check_in_place(schema)?;
    build(schema, jsonschema::PatternOptions::regex())
}

/// Compiles a schema for checking cases: every schema object counts the
/// steps of a check (`budget`).
fn build<E>(schema: &Value, patterns: jsonschema::PatternOptions<E>) -> Result<Validator, String> {
    jsonschema::options()
        .should_validate_formats(false)
        .with_pattern_options(patterns)
        .with_keyword(budget::KEYWORD, budget::factory)
        .build(&budget::instrument(schema))
        .map_err(|err| format!("not a usable JSON Schema: {}", truncate(&err.to_string())))
}

/// Compiles a schema stored before the rules of [`compile_schema`] were
/// this strict, or another server's (Logfire's): one whose expressions need
/// lookaround runs them on the backtracking engine under a small backtrack
/// limit, the check's step budget bounding the rest.
pub(super) fn compile_stored(schema: &Value) -> Result<Validator, String> {
    compile_schema(schema).or_else(|strict| {
        build(
            schema,
            jsonschema::PatternOptions::fancy_regex().backtrack_limit(STORED_BACKTRACK_LIMIT),
        )
        .map_err(|_| strict)
    })
}

/// The backtrack limit of an expression in a [`compile_stored`] schema.
const STORED_BACKTRACK_LIMIT: usize = 10_000;
