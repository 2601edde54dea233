//! Generated datasets for the round-trip properties: arbitrary JSON trees
//! up to depth 6 whose shapes change from case to case, holding what real
//! benchmarks hold and what breaks formats (CRLF, tabs, trailing spaces,
//! NEL/LS/PS, emoji and CJK, keys with dots, brackets, spaces and the empty
//! key, lists holding `null` and empty containers, integers at the ±2⁵³
//! and ±2⁶³ boundaries, `5e-324`, `-0.0`, `1e300`), with schemas
//! generated to fit; and a shrinker that makes a failing dataset smaller
//! while it still fails.

#![allow(dead_code, unreachable_pub)]

use serde_json::{Map, Value, json};

/// One generated case, as the bulk route takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct GenCase {
    pub name: Option<String>,
    pub inputs: Value,
    pub expected_output: Option<Value>,
    pub metadata: Option<Value>,
    pub tags: Vec<String>,
    /// The trace and span it came from.
    pub link: Option<(String, String)>,
}

impl GenCase {
    /// The case as a JSON line of `datasets import`.
    pub fn line(&self) -> Value {
        let mut line = Map::new();
        if let Some(name) = &self.name {
            line.insert("name".into(), json!(name));
        }
        line.insert("inputs".into(), self.inputs.clone());
        if let Some(value) = &self.expected_output {
            line.insert("expected_output".into(), value.clone());
        }
        if let Some(value) = &self.metadata {
            line.insert("metadata".into(), value.clone());
        }
        if !self.tags.is_empty() {
            line.insert("tags".into(), json!(self.tags));
        }
        if let Some((trace, span)) = &self.link {
            line.insert("source_trace_id".into(), json!(trace));
            line.insert("source_span_id".into(), json!(span));
        }
        Value::Object(line)
    }
}

/// A generated dataset: its cases, and schemas that fit them (or none).
#[derive(Debug, Clone, PartialEq)]
pub struct GenDataset {
    pub cases: Vec<GenCase>,
    pub schemas: [Option<Value>; 3],
}

impl GenDataset {
    /// The dataset as a JSONL file.
    pub fn jsonl(&self) -> String {
        self.cases
            .iter()
            .map(|c| format!("{}\n", c.line()))
            .collect()
    }

    /// The same cases with schemas that fit them again (after shrinking).
    pub fn refit(mut self) -> Self {
        if self.schemas.iter().any(Option::is_some) {
            self.schemas = fit(&self.cases);
        }
        self
    }
}

/// Text pieces strings are made of.
const PIECES: &[&str] = &[
    "a",
    "word",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "🎉",
    "👩‍💻",
    "漢字",
    "かな",
    "한국어",
    "é",
    "e\u{301}",
    "ß",
    "Ω",
    "\"",
    "\\",
    "'",
    "=",
    "+",
    "-",
    "@",
    "=SUM(A1)",
    ",",
    ";",
    ".",
    "[",
    "]",
    "{",
    "}",
    ":",
    "null",
    "true",
    "3",
    "-0.0",
    "[1,2]",
    "{}",
    "\"quoted\"",
    "def f():\n    return 1\n",
    "\u{feff}",
    "\u{0}",
    "\u{1b}",
    "\u{7f}",
];

/// Keys: ordinary, and those a header must escape.
const KEYS: &[&str] = &[
    "q",
    "answer",
    "context",
    "file",
    "",
    "a.b",
    "gen_ai.system",
    "[0]",
    "list[0]",
    "two words",
    " lead",
    "trail ",
    "ключ",
    "鍵",
    "x:json",
    ":",
    "\"",
    "\\",
    "🎉",
    "inputs",
    "name",
    "tags",
    "tab\tkey",
    "line\nkey",
];

/// Numbers at the edges of what JSON, doubles and 64-bit integers hold.
fn edge_number(rng: &mut fastrand::Rng) -> Value {
    let two53 = 9_007_199_254_740_992_i64;
    let pick = [
        json!(0),
        json!(-1),
        json!(two53),
        json!(two53 + 1),
        json!(-two53),
        json!(-two53 - 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(i64::MAX as u64 + 1),
        json!(u64::MAX),
        json!(5e-324),
        json!(-0.0),
        json!(1e300),
        json!(-1e300),
        json!(0.1),
        json!(1.0),
        json!(f64::MAX),
        json!(f64::MIN_POSITIVE),
        json!(2.5e-308),
        json!(123456.789),
    ];
    pick[rng.usize(..pick.len())].clone()
}

fn number(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(..4) {
        0 => edge_number(rng),
        1 => json!(rng.i64(..)),
        2 => {
            // Any finite double, subnormals included.
            loop {
                let x = f64::from_bits(rng.u64(..));
                if x.is_finite() {
                    return json!(x);
                }
            }
        }
        _ => json!(rng.i32(-1000..1000)),
    }
}

fn text(rng: &mut fastrand::Rng) -> String {
    if rng.u8(..40) == 0 {
        // A long string, as benchmarks' prompts are.
        let line = "    x = compute(y)  # 計算 \t\r\n";
        return line.repeat(rng.usize(50..400));
    }
    let mut out = String::new();
    for _ in 0..rng.usize(0..6) {
        out.push_str(PIECES[rng.usize(..PIECES.len())]);
    }
    out
}

/// Names and tags: printable, no control characters (the server's rule).
fn label(rng: &mut fastrand::Rng, unique: usize) -> String {
    let starts = [
        "case",
        "=formula",
        "-dash",
        "'quote",
        "名前",
        "a,b",
        "two words",
        "🎉",
        "+1",
    ];
    format!("{} {unique}", starts[rng.usize(..starts.len())])
}

/// A value up to `depth` levels deep, keys drawn from `keys`.
fn value(rng: &mut fastrand::Rng, depth: usize, keys: &[String]) -> Value {
    let leaf = depth == 0 || rng.u8(..3) == 0;
    if leaf {
        return match rng.u8(..10) {
            0 => Value::Null,
            1 => Value::Bool(rng.bool()),
            2 | 3 => number(rng),
            _ => Value::String(text(rng)),
        };
    }
    if rng.u8(..3) == 0 {
        let items = (0..rng.usize(0..4))
            .map(|_| match rng.u8(..6) {
                0 => Value::Null,
                1 => json!([]),
                2 => json!({}),
                _ => value(rng, depth - 1, keys),
            })
            .collect();
        Value::Array(items)
    } else {
        let mut object = Map::new();
        for _ in 0..rng.usize(0..5) {
            let key = keys[rng.usize(..keys.len())].clone();
            object.insert(key, value(rng, depth - 1, keys));
        }
        Value::Object(object)
    }
}

/// A part's value: an object most of the time, as real datasets have.
fn part(rng: &mut fastrand::Rng, keys: &[String]) -> Value {
    if rng.u8(..5) == 0 {
        value(rng, 6, keys)
    } else {
        let mut object = Map::new();
        for _ in 0..rng.usize(1..6) {
            let key = keys[rng.usize(..keys.len())].clone();
            object.insert(key, value(rng, 5, keys));
        }
        Value::Object(object)
    }
}

/// A dataset of 1 to 6 cases; every other one with schemas that fit.
pub fn dataset(rng: &mut fastrand::Rng, index: usize) -> GenDataset {
    // A few keys per dataset, so that cases share paths whose shapes change.
    let keys: Vec<String> = (0..rng.usize(2..7))
        .map(|_| KEYS[rng.usize(..KEYS.len())].to_owned())
        .collect();
    let cases = (0..rng.usize(1..7))
        .map(|i| GenCase {
            name: rng.bool().then(|| label(rng, i)),
            inputs: part(rng, &keys),
            expected_output: (rng.u8(..3) != 0).then(|| part(rng, &keys)),
            metadata: rng.bool().then(|| part(rng, &keys)),
            tags: (0..rng.usize(0..3))
                .map(|t| label(rng, t))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            link: (rng.u8(..4) == 0).then(|| {
                (
                    format!("{:032x}", rng.u128(1..)),
                    format!("{:016x}", rng.u64(1..)),
                )
            }),
        })
        .collect::<Vec<_>>();
    let schemas = if index % 2 == 1 {
        fit(&cases)
    } else {
        [None, None, None]
    };
    GenDataset { cases, schemas }
}

/// Schemas that every case's parts follow: the JSON types seen at each
/// path, `properties` for objects and `items` for lists.
pub fn fit(cases: &[GenCase]) -> [Option<Value>; 3] {
    let parts: [Vec<&Value>; 3] = [
        cases.iter().map(|c| &c.inputs).collect(),
        cases
            .iter()
            .filter_map(|c| c.expected_output.as_ref())
            .collect(),
        cases.iter().filter_map(|c| c.metadata.as_ref()).collect(),
    ];
    parts.map(|values| (!values.is_empty()).then(|| schema_of(&values)))
}

fn schema_of(values: &[&Value]) -> Value {
    let mut types = std::collections::BTreeSet::new();
    let mut children: Vec<(String, Vec<&Value>)> = Vec::new();
    let mut items = Vec::new();
    let mut float = false;
    for value in values {
        match value {
            Value::Null => {
                types.insert("null");
            }
            Value::Bool(_) => {
                types.insert("boolean");
            }
            Value::Number(n) => {
                float |= n.is_f64();
                types.insert("number");
            }
            Value::String(_) => {
                types.insert("string");
            }
            Value::Array(list) => {
                types.insert("array");
                items.extend(list.iter());
            }
            Value::Object(object) => {
                types.insert("object");
                for (key, value) in object {
                    match children.iter_mut().find(|(k, _)| k == key) {
                        Some((_, seen)) => seen.push(value),
                        None => children.push((key.clone(), vec![value])),
                    }
                }
            }
        }
    }
    let mut names: Vec<&str> = types.into_iter().collect();
    if !float && let Some(number) = names.iter_mut().find(|t| **t == "number") {
        *number = "integer";
    }
    let mut schema = Map::new();
    schema.insert("type".into(), json!(names));
    if !children.is_empty() {
        let properties: Map<String, Value> = children
            .iter()
            .map(|(key, values)| (key.clone(), schema_of(values)))
            .collect();
        schema.insert("properties".into(), Value::Object(properties));
    }
    if !items.is_empty() {
        schema.insert("items".into(), schema_of(&items));
    }
    Value::Object(schema)
}

/// Smaller datasets than `dataset`, simplest first: a case fewer, a part
/// or key fewer, a subtree replaced by `null` or its first element.
pub fn shrink(dataset: &GenDataset) -> Vec<GenDataset> {
    let mut out = Vec::new();
    let with = |cases: Vec<GenCase>| {
        GenDataset {
            cases,
            schemas: dataset.schemas.clone(),
        }
        .refit()
    };
    if dataset.cases.len() > 1 {
        for skip in 0..dataset.cases.len() {
            let mut cases = dataset.cases.clone();
            cases.remove(skip);
            out.push(with(cases));
        }
    }
    if dataset.schemas.iter().any(Option::is_some) {
        out.push(GenDataset {
            cases: dataset.cases.clone(),
            schemas: [None, None, None],
        });
    }
    for (index, case) in dataset.cases.iter().enumerate() {
        let mut smaller = Vec::new();
        if case.name.is_some() {
            smaller.push(GenCase {
                name: None,
                ..case.clone()
            });
        }
        if !case.tags.is_empty() {
            smaller.push(GenCase {
                tags: Vec::new(),
                ..case.clone()
            });
        }
        if case.link.is_some() {
            smaller.push(GenCase {
                link: None,
                ..case.clone()
            });
        }
        if case.expected_output.is_some() {
            smaller.push(GenCase {
                expected_output: None,
                ..case.clone()
            });
        }
        if case.metadata.is_some() {
            smaller.push(GenCase {
                metadata: None,
                ..case.clone()
            });
        }
        for inputs in simpler(&case.inputs) {
            smaller.push(GenCase {
                inputs,
                ..case.clone()
            });
        }
        for output in case.expected_output.iter().flat_map(simpler) {
            smaller.push(GenCase {
                expected_output: Some(output),
                ..case.clone()
            });
        }
        for metadata in case.metadata.iter().flat_map(simpler) {
            smaller.push(GenCase {
                metadata: Some(metadata),
                ..case.clone()
            });
        }
        for case in smaller {
            let mut cases = dataset.cases.clone();
            cases[index] = case;
            out.push(with(cases));
        }
    }
    out
}

/// Values one step simpler than `value`.
fn simpler(value: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    match value {
        Value::Object(object) => {
            for key in object.keys() {
                let mut fewer = object.clone();
                fewer.shift_remove(key);
                out.push(Value::Object(fewer));
            }
            for (key, child) in object {
                for smaller in simpler(child) {
                    let mut changed = object.clone();
                    changed.insert(key.clone(), smaller);
                    out.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for skip in 0..items.len() {
                let mut fewer = items.clone();
                fewer.remove(skip);
                out.push(Value::Array(fewer));
            }
            for (index, child) in items.iter().enumerate() {
                for smaller in simpler(child) {
                    let mut changed = items.clone();
                    changed[index] = smaller;
                    out.push(Value::Array(changed));
                }
            }
        }
        Value::String(text) if !text.is_empty() => {
            let chars: Vec<char> = text.chars().collect();
            out.push(Value::String(chars[..chars.len() / 2].iter().collect()));
            out.push(Value::String(chars[chars.len() / 2..].iter().collect()));
            if chars.len() > 1 {
                for skip in 0..chars.len().min(8) {
                    let mut fewer = chars.clone();
                    fewer.remove(skip);
                    out.push(Value::String(fewer.into_iter().collect()));
                }
            }
        }
        Value::Null => {}
        _ => out.push(Value::Null),
    }
    out
}

/// Shrinks `dataset` while `fails` holds, trying at most `budget` smaller
/// ones; returns the smallest failing dataset found.
pub fn minimize(
    mut dataset: GenDataset,
    budget: usize,
    mut fails: impl FnMut(&GenDataset) -> bool,
) -> GenDataset {
    let mut tried = 0;
    'outer: loop {
        for candidate in shrink(&dataset) {
            if tried >= budget {
                break 'outer;
            }
            tried += 1;
            if fails(&candidate) {
                dataset = candidate;
                continue 'outer;
            }
        }
        break;
    }
    dataset
}
