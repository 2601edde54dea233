//! What a schema may ask of a check, decided when the schema is set: every
//! regular expression runs in time linear in the text (the `regex` engine:
//! no lookaround, no backreferences, which backtracking engines take
//! exponential time on), and the subschemas applied to one value in place
//! (through `$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`,
//! `dependentSchemas`) are at most [`MAX_IN_PLACE`] (a cycle back to a
//! schema already being applied to the value is met once: the validator
//! stops there, so `{"$ref": "#"}` is legal and costs nothing). What a
//! schema may still multiply across a value's levels is bounded when cases
//! are checked (`budget`).

use std::collections::HashMap;

use serde_json::{Value, json};

/// Most subschemas a schema may apply to one value in place.
pub const MAX_IN_PLACE: u64 = 100_000;

/// Refuses a regular expression the linear-time engine cannot run, saying
/// where it is and why.
pub(super) fn check_pattern(pattern: &str, pointer: &str) -> Result<(), String> {
    let linear = jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(&json!({ "pattern": pattern }));
    if linear.is_ok() {
        return Ok(());
    }
    let backtracking = jsonschema::options().build(&json!({ "pattern": pattern }));
    Err(if backtracking.is_ok() {
        format!(
            "the regular expression at {pointer} uses lookaround or backreferences, which \
             cannot be checked in time linear in the text; only expressions without them \
             are accepted (Pydantic's default engine has the same rule)"
        )
    } else {
        format!(
            "the regular expression at {pointer} is not valid, or too large to compile \
             (the compiled regex is limited to 10 MB)"
        )
    })
}

/// Keywords whose values are data, not schemas.
const DATA: [&str; 8] = [
    "const",
    "enum",
    "default",
    "examples",
    "required",
    "dependentRequired",
    "$vocabulary",
    "discriminator",
];

/// Refuses a schema that applies subschemas to one value in place more
/// than [`MAX_IN_PLACE`] times, naming the schema object where it starts.
pub(super) fn check_in_place(root: &Value) -> Result<(), String> {
    let mut anchors = HashMap::new();
    let mut nodes = Vec::new();
    collect(root, &mut String::new(), &mut nodes, &mut anchors);
    let mut memo: HashMap<String, u64> = HashMap::new();
    for start in &nodes {
        if memo.contains_key(start) {
            continue;
        }
        // Iterative depth-first walk: a chain of `$ref`s may be long.
        let mut stack: Vec<(String, Vec<String>, usize)> = Vec::new();
        let mut on_stack: HashMap<String, ()> = HashMap::new();
        let children = in_place(root, start, &anchors);
        on_stack.insert(start.clone(), ());
        stack.push((start.clone(), children, 0));
        while let Some((pointer, children, next)) = stack.last_mut() {
            if let Some(child) = children.get(*next).cloned() {
                *next += 1;
                if memo.contains_key(&child) {
                    continue;
                }
                if on_stack.contains_key(&child) {
                    // A cycle back to a schema being applied to this value:
                    // the validator meets it once and stops there.
                    continue;
                }
                let grandchildren = in_place(root, &child, &anchors);
                on_stack.insert(child.clone(), ());
                stack.push((child, grandchildren, 0));
                continue;
            }
            let total = children
                .iter()
                .map(|child| memo.get(child).copied().unwrap_or(0))
                .fold(1u64, u64::saturating_add);
            if total > MAX_IN_PLACE {
                return Err(format!(
                    "the schema at {} applies {} subschemas to one value (through $ref, \
                     allOf, anyOf, oneOf, not, if/then/else); the limit is {MAX_IN_PLACE}",
                    shown(pointer),
                    if total == u64::MAX {
                        "more than 2^64".to_owned()
                    } else {
                        total.to_string()
                    }
                ));
            }
            let pointer = pointer.clone();
            on_stack.remove(&pointer);
            memo.insert(pointer, total);
            stack.pop();
        }
    }
    Ok(())
}

fn shown(pointer: &str) -> String {
    if pointer.is_empty() {
        "the root".to_owned()
    } else {
        pointer.to_owned()
    }
}

/// Every schema object's pointer, and the anchors naming them.
fn collect(
    value: &Value,
    pointer: &mut String,
    nodes: &mut Vec<String>,
    anchors: &mut HashMap<String, String>,
) {
    match value {
        Value::Object(map) => {
            nodes.push(pointer.clone());
            for key in ["$anchor", "$dynamicAnchor"] {
                if let Some(Value::String(name)) = map.get(key) {
                    anchors
                        .entry(name.clone())
                        .or_insert_with(|| pointer.clone());
                }
            }
            if let Some(Value::String(id)) = map.get("$id")
                && let Some(name) = id.strip_prefix('#')
            {
                anchors
                    .entry(name.to_owned())
                    .or_insert_with(|| pointer.clone());
            }
            for (key, item) in map {
                if DATA.contains(&key.as_str()) {
                    continue;
                }
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                collect(item, pointer, nodes, anchors);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                collect(item, pointer, nodes, anchors);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The schema objects applied to the same value as the one at `pointer`.
fn in_place(root: &Value, pointer: &str, anchors: &HashMap<String, String>) -> Vec<String> {
    let Some(Value::Object(map)) = root.pointer(pointer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let child = |key: &str| format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(items)) = map.get(key) {
            out.extend((0..items.len()).map(|i| format!("{}/{i}", child(key))));
        }
    }
    for key in ["not", "if", "then", "else"] {
        if map.get(key).is_some_and(Value::is_object) {
            out.push(child(key));
        }
    }
    if let Some(Value::Object(schemas)) = map.get("dependentSchemas") {
        let base = child("dependentSchemas");
        out.extend(
            schemas
                .iter()
                .filter(|(_, schema)| schema.is_object())
                .map(|(name, _)| format!("{base}/{}", name.replace('~', "~0").replace('/', "~1"))),
        );
    }
    for key in ["$ref", "$dynamicRef", "$recursiveRef"] {
        if let Some(Value::String(reference)) = map.get(key)
            && let Some(target) = resolve(root, reference, anchors)
        {
            out.push(target);
        }
    }
    out.retain(|target| root.pointer(target).is_some_and(Value::is_object));
    out
}

/// The pointer a reference within the document names; `None` for one this
/// walk cannot follow (to another resource), which adds nothing here.
fn resolve(root: &Value, reference: &str, anchors: &HashMap<String, String>) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() {
        return Some(String::new());
    }
    if fragment.starts_with('/') {
        let decoded = percent_decode(fragment);
        return root.pointer(&decoded).map(|_| decoded);
    }
    anchors.get(fragment).cloned()
}

/// A URI fragment's `%XX` escapes, decoded (`#/$defs/a%20b`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::Map;

    use super::*;

    /// `$defs` each applying the next one twice to the same value, `depth`
    /// deep: 2^depth applications to one value.
    pub(in crate::rules) fn doubling(depth: usize) -> Value {
        let mut defs = Map::new();
        for i in 0..depth {
            let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
            defs.insert(format!("d{i}"), json!({"allOf": [next, next]}));
        }
        defs.insert(format!("d{depth}"), json!({"type": "integer"}));
        json!({"$defs": defs, "$ref": "#/$defs/d0"})
    }

    #[test]
    fn doubling_refs_are_refused_past_the_bound_and_named() {
        assert!(check_in_place(&doubling(12)).is_ok());
        let err = check_in_place(&doubling(29)).unwrap_err();
        assert!(err.contains("the limit is 100000"), "{err}");
        assert!(err.contains("/$defs/d"), "{err}");
    }

    #[test]
    fn cycles_are_met_once_and_recursion_into_values_is_free() {
        for cycle in [
            json!({"$ref": "#"}),
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
            json!({"$defs": {"a": {"$anchor": "A", "not": {"$ref": "#A"}}}}),
            json!({"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}, {"$ref": "#/$defs/a"}]}}}),
        ] {
            assert!(check_in_place(&cycle).is_ok(), "{cycle}");
        }
        // Pydantic's JSON value type: recursion through items and properties.
        let tree = json!({
            "$defs": {"J": {"anyOf": [
                {"type": "array", "items": {"$ref": "#/$defs/J"}},
                {"type": "object", "additionalProperties": {"$ref": "#/$defs/J"}},
                {"type": ["string", "number", "boolean", "null"]}
            ]}},
            "$ref": "#/$defs/J"
        });
        assert!(check_in_place(&tree).is_ok());
        assert!(check_in_place(&json!({"properties": {"a": {"$ref": "#"}}})).is_ok());
        // An anchor is followed like a pointer.
        let mut defs = serde_json::Map::new();
        for i in 0..20 {
            let next = json!({"$ref": format!("#n{}", i + 1)});
            defs.insert(
                format!("d{i}"),
                json!({"$anchor": format!("n{i}"), "anyOf": [next, next]}),
            );
        }
        defs.insert("d20".into(), json!({"$anchor": "n20"}));
        let err = check_in_place(&json!({"$defs": defs, "$ref": "#n0"})).unwrap_err();
        assert!(err.contains("the limit is"), "{err}");
    }

    #[test]
    fn a_long_ref_chain_is_walked_without_recursion() {
        let mut defs = Map::new();
        for i in 0..50_000 {
            defs.insert(
                format!("d{i}"),
                json!({"$ref": format!("#/$defs/d{}", i + 1)}),
            );
        }
        defs.insert("d50000".into(), json!({"type": "integer"}));
        assert!(check_in_place(&json!({"$defs": defs, "$ref": "#/$defs/d0"})).is_ok());
    }

    #[test]
    fn patterns_must_run_in_linear_time() {
        assert!(check_pattern("^[a-z]+(-[a-z]+)*$", "/pattern").is_ok());
        assert!(check_pattern("^(a+)+$", "/pattern").is_ok());
        let err = check_pattern("(?<=(a+)+)b", "/properties/x/pattern").unwrap_err();
        assert!(
            err.contains("/properties/x/pattern") && err.contains("lookaround"),
            "{err}"
        );
        assert!(
            check_pattern("(a)\\1", "/pattern")
                .unwrap_err()
                .contains("backreferences")
        );
        assert!(
            check_pattern("(", "/pattern")
                .unwrap_err()
                .contains("not valid")
        );
        assert!(
            check_pattern("(a{1000}){1000}", "/pattern")
                .unwrap_err()
                .contains("regex")
        );
    }
}
