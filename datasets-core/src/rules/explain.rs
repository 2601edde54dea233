//! Why a schema is no JSON Schema, in words about the user's schema: the
//! keyword, where it is, what it holds and what it should hold, with the
//! nearest type name for a misspelt one. The meta-schema's own message
//! (`value is not valid under any of the schemas listed in the 'anyOf'
//! keyword`) says which rule of the meta-schema failed, not what to fix.

use serde_json::Value;

/// JSON Schema's type names.
const TYPES: [&str; 7] = [
    "array", "boolean", "integer", "null", "number", "object", "string",
];

/// Keywords holding a whole number from 0.
const COUNTS: [&str; 8] = [
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
];

/// Keywords holding a number.
const NUMBERS: [&str; 5] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// Keywords holding one subschema.
const ONE: [&str; 10] = [
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Keywords holding a list of subschemas.
const LISTS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];

/// Keywords holding subschemas by name.
const MAPS: [&str; 5] = [
    "properties",
    "$defs",
    "definitions",
    "patternProperties",
    "dependentSchemas",
];

/// The first mistake found in `schema`, said in words, with its place.
pub(super) fn explain(schema: &Value) -> Option<String> {
    walk(schema, "", 0)
}

fn at(path: &str) -> &str {
    if path.is_empty() { "the root" } else { path }
}

fn kind(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        other => format!("{} ({})", super::json_type_name(other), truncated(other)),
    }
}

fn truncated(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// The type name nearest to a misspelt one, if any is near.
fn nearest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    TYPES
        .iter()
        .map(|candidate| (distance(&lower, candidate), *candidate))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, candidate)| candidate)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            previous = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn type_name(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(name) if TYPES.contains(&name.as_str()) => None,
        Value::String(name) => {
            let hint =
                nearest(name).map_or_else(String::new, |n| format!(" (did you mean {n:?}?)"));
            Some(format!(
                "{name:?} at {} is not a JSON type; expected one of {}{hint}",
                at(path),
                TYPES.map(|t| format!("{t:?}")).join(", ")
            ))
        }
        other => Some(format!(
            "`type` at {} is {}; it is a type name such as \"object\", or a list of them",
            at(path),
            kind(other)
        )),
    }
}

fn walk(schema: &Value, path: &str, depth: usize) -> Option<String> {
    // The meta-schema has the last word on anything deeper.
    if depth > 64 {
        return None;
    }
    let Value::Object(map) = schema else {
        return match schema {
            Value::Bool(_) => None,
            other => Some(format!(
                "the schema at {} is {}; a schema is a JSON object (or true or false)",
                at(path),
                kind(other)
            )),
        };
    };
    if let Some(value) = map.get("type") {
        let here = format!("{path}/type");
        let found = match value {
            Value::Array(names) => names
                .iter()
                .enumerate()
                .find_map(|(i, name)| type_name(name, &format!("{here}/{i}"))),
            other => type_name(other, &here),
        };
        if found.is_some() {
            return found;
        }
    }
    if let Some(value) = map.get("required")
        && !value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string))
    {
        return Some(format!(
            "`required` at {} is {}; it is a list of property names, such as [\"question\"]",
            at(path),
            kind(value)
        ));
    }
    if let Some(value) = map.get("enum")
        && !value.is_array()
    {
        return Some(format!(
            "`enum` at {} is {}; it is a list of the allowed values",
            at(path),
            kind(value)
        ));
    }
    if let Some(value) = map.get("pattern")
        && !value.is_string()
    {
        return Some(format!(
            "`pattern` at {} is {}; it is a regular expression, as a string",
            at(path),
            kind(value)
        ));
    }
    for keyword in COUNTS {
        if let Some(value) = map.get(keyword)
            && !value.as_f64().is_some_and(|n| n >= 0.0 && n.fract() == 0.0)
        {
            return Some(format!(
                "`{keyword}` at {} is {}; it is a whole number from 0",
                at(path),
                kind(value)
            ));
        }
    }
    for keyword in NUMBERS {
        if let Some(value) = map.get(keyword)
            && !value.is_number()
        {
            return Some(format!(
                "`{keyword}` at {} is {}; it is a number",
                at(path),
                kind(value)
            ));
        }
    }
    for keyword in ONE {
        if let Some(value) = map.get(keyword)
            && let Some(found) = walk(value, &format!("{path}/{keyword}"), depth + 1)
        {
            return Some(found);
        }
    }
    for keyword in LISTS {
        match map.get(keyword) {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(found) = walk(item, &format!("{path}/{keyword}/{i}"), depth + 1) {
                        return Some(found);
                    }
                }
            }
            Some(other) => {
                return Some(format!(
                    "`{keyword}` at {} is {}; it is a list of schemas",
                    at(path),
                    kind(other)
                ));
            }
        }
    }
    for keyword in MAPS {
        match map.get(keyword) {
            None => {}
            Some(Value::Object(entries)) => {
                for (name, item) in entries {
                    let escaped = name.replace('~', "~0").replace('/', "~1");
                    if let Some(found) =
                        walk(item, &format!("{path}/{keyword}/{escaped}"), depth + 1)
                    {
                        return Some(found);
                    }
                }
            }
            Some(other) => {
                return Some(format!(
                    "`{keyword}` at {} is {}; it is an object of schemas by name",
                    at(path),
                    kind(other)
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn mistakes_are_said_in_words_where_they_are() {
        assert_eq!(
            explain(&json!({"type": "objekt"})).unwrap(),
            "\"objekt\" at /type is not a JSON type; expected one of \"array\", \"boolean\", \
             \"integer\", \"null\", \"number\", \"object\", \"string\" (did you mean \"object\"?)"
        );
        let nested = json!({"type": "object", "properties": {"a/b": {"type": ["strng", "null"]}}});
        let said = explain(&nested).unwrap();
        assert!(
            said.starts_with("\"strng\" at /properties/a~1b/type/0 is not a JSON type"),
            "{said}"
        );
        assert!(said.ends_with("(did you mean \"string\"?)"), "{said}");
        let said = explain(&json!({"required": "question"})).unwrap();
        assert!(
            said.contains("`required` at the root is \"question\"; it is a list"),
            "{said}"
        );
        let said = explain(&json!({"anyOf": [{"minLength": -1}]})).unwrap();
        assert!(
            said.contains("`minLength` at /anyOf/0 is number (-1)"),
            "{said}"
        );
        assert_eq!(
            explain(&json!({"type": "object", "properties": {"a": true}})),
            None
        );
    }
}
