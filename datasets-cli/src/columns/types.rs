//! What a dataset's JSON Schema says of the value at a path, for typing
//! the text of a CSV cell.

use serde_json::Value;

/// The JSON types a schema allows somewhere; all unknown without a schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Types {
    known: bool,
    integer: bool,
    number: bool,
    boolean: bool,
    string: bool,
    object: bool,
    array: bool,
}

impl Types {
    fn add(&mut self, name: &str) {
        self.known = true;
        match name {
            "integer" => self.integer = true,
            "number" => self.number = true,
            "boolean" => self.boolean = true,
            "string" => self.string = true,
            "object" => self.object = true,
            "array" => self.array = true,
            _ => {}
        }
    }

    fn add_value(&mut self, value: &Value) {
        match value {
            Value::Bool(_) => self.add("boolean"),
            Value::Number(n) if n.is_f64() => self.add("number"),
            Value::Number(_) => self.add("integer"),
            Value::String(_) => self.add("string"),
            Value::Array(_) => self.add("array"),
            Value::Object(_) => self.add("object"),
            Value::Null => self.known = true,
        }
    }

    /// Whether the schema says this is something other than an object.
    pub(crate) fn is_not_object(&self) -> bool {
        self.known && !self.object
    }

    /// A cell's text as the value the schema asks for: a number, integer
    /// or boolean where it says so (and parses), JSON for an array or
    /// object, text otherwise. A number is never rounded: one that a
    /// 64-bit integer or float cannot hold as written is an error.
    pub(crate) fn value_of(&self, text: &str) -> Result<Value, String> {
        let trimmed = text.trim();
        if self.integer || self.number {
            if let Ok(n) = trimmed.parse::<i64>() {
                return Ok(Value::from(n));
            }
            if let Ok(n) = trimmed.parse::<u64>() {
                return Ok(Value::from(n));
            }
            let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "the integer {trimmed} does not fit in 64 bits and would lose precision"
                ));
            }
        }
        if self.number
            && trimmed.bytes().any(|b| b.is_ascii_digit())
            && let Ok(double) = trimmed.parse::<f64>()
        {
            if double.is_infinite() {
                return Err(format!(
                    "the number {trimmed} is out of range of a 64-bit float"
                ));
            }
            if let Some(problem) = datasets_core::json_guard::decimal_problem(trimmed, double) {
                return Err(problem);
            }
            if let Some(n) = serde_json::Number::from_f64(double) {
                return Ok(Value::Number(n));
            }
        }
        if self.boolean {
            if trimmed.eq_ignore_ascii_case("true") {
                return Ok(Value::Bool(true));
            }
            if trimmed.eq_ignore_ascii_case("false") {
                return Ok(Value::Bool(false));
            }
        }
        if (self.object && trimmed.starts_with('{') || self.array && trimmed.starts_with('['))
            && let Ok(value) = json_cell(trimmed)
        {
            return Ok(value);
        }
        Ok(Value::String(text.to_owned()))
    }
}

/// The value a JSON cell spells; an error for text that is not JSON, and
/// for a number a 64-bit integer or float cannot hold as written.
pub(crate) fn json_cell(text: &str) -> Result<Value, String> {
    if let Err(problem) = datasets_core::json_guard::check(text.as_bytes()) {
        let at: Vec<String> = problem.path.iter().map(ToString::to_string).collect();
        return Err(if at.is_empty() {
            problem.message
        } else {
            format!("at {}: {}", at.join("."), problem.message)
        });
    }
    serde_json::from_str(text).map_err(|err| format!("not JSON: {err}"))
}

/// The most `$ref`s and combinators followed from one schema, against cycles.
const MAX_DEPTH: usize = 32;

/// The schemas `schema` stands for once `$ref`s and `anyOf`/`oneOf`/`allOf`
/// are followed.
fn branches<'a>(root: &'a Value, schema: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(target) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        branches(root, target, depth + 1, out);
    }
    let mut combined = false;
    for key in ["anyOf", "oneOf", "allOf"] {
        for branch in object
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            combined = true;
            branches(root, branch, depth + 1, out);
        }
    }
    if !combined || object.contains_key("type") || object.contains_key("properties") {
        out.push(schema);
    }
}

/// The types the schemas allow.
fn types_of(schemas: &[&Value]) -> Types {
    let mut types = Types::default();
    for schema in schemas {
        match schema.get("type") {
            Some(Value::String(name)) => types.add(name),
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .for_each(|n| types.add(n)),
            _ => {}
        }
        if let Some(value) = schema.get("const") {
            types.add_value(value);
        }
        for value in schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            types.add_value(value);
        }
        if schema.get("properties").is_some() {
            types.add("object");
        }
        if schema.get("items").is_some() {
            types.add("array");
        }
    }
    types
}

/// The types a schema allows at `path` (object keys) inside the value it
/// describes; unknown where it says nothing.
pub(crate) fn types_at(schema: Option<&Value>, path: &[&str]) -> Types {
    let Some(root) = schema else {
        return Types::default();
    };
    let mut current = Vec::new();
    branches(root, root, 0, &mut current);
    for key in path {
        let mut next = Vec::new();
        for schema in &current {
            let child = schema
                .get("properties")
                .and_then(|p| p.get(*key))
                .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
            if let Some(child) = child {
                branches(root, child, 0, &mut next);
            }
        }
        current = next;
    }
    types_of(&current)
}
