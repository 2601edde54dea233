//! The columns of a CSV export, chosen once every case has been seen so
//! that each case reads back as it was: a path that is a non-empty object
//! in every case that has it is split into its keys' columns; any other
//! path is one column: a plain one when every value there reads back
//! from its cell as itself (a non-empty string the schema would not read
//! as another type; a number, boolean or list where the schema types the
//! cell so), a `:json` one otherwise (numbers, booleans, `null`, lists,
//! `{}` and `""` without a schema to type them, and paths whose shape
//! changes from case to case).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::header;
use super::{PARTS, Types, types_at};

/// What the cases hold at one path of a part.
#[derive(Debug)]
struct Node {
    /// Every value here so far is an object with keys.
    split: bool,
    /// Every value here so far reads back from its text cell (a string as
    /// itself, any other value as its JSON) as itself: a plain column.
    text: bool,
    types: Types,
    children: Vec<(String, Node)>,
    index: HashMap<String, usize>,
    /// The column of the whole value, once columns are laid out.
    column: Option<usize>,
}

impl Node {
    fn new(types: Types) -> Self {
        Node {
            split: true,
            text: true,
            types,
            children: Vec::new(),
            index: HashMap::new(),
            column: None,
        }
    }

    fn observe(&mut self, value: &Value, schema: Option<&Value>, path: &mut Vec<String>) {
        if self.text {
            let cell = cell_text(value);
            self.text = !cell.is_empty() && self.types.value_of(&cell).is_ok_and(|v| v == *value);
        }
        match value {
            Value::Object(object) if !object.is_empty() && self.split => {
                for (key, value) in object {
                    path.push(key.clone());
                    let at = match self.index.get(key) {
                        Some(&at) => at,
                        None => {
                            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
                            self.children
                                .push((key.clone(), Node::new(types_at(schema, &keys))));
                            self.index.insert(key.clone(), self.children.len() - 1);
                            self.children.len() - 1
                        }
                    };
                    self.children[at].1.observe(value, schema, path);
                    path.pop();
                }
            }
            _ => {
                self.split = false;
                // A whole column from here: what lies below is not needed.
                self.children = Vec::new();
                self.index = HashMap::new();
            }
        }
    }

    fn columns(&mut self, part: &str, path: &mut Vec<String>, out: &mut Vec<String>) {
        if self.split {
            for (key, child) in &mut self.children {
                path.push(key.clone());
                child.columns(part, path, out);
                path.pop();
            }
        } else {
            self.column = Some(out.len());
            out.push(header::name(part, path, !self.text));
        }
    }

    fn cells(&self, value: &Value, row: &mut [String], guard: Guard) {
        if let Some(column) = self.column {
            row[column] = if self.text {
                guard.cell(&cell_text(value))
            } else {
                guard.cell(&value.to_string())
            };
            return;
        }
        if let Value::Object(object) = value {
            for (key, value) in object {
                if let Some(&at) = self.index.get(key) {
                    self.children[at].1.cells(value, row, guard);
                }
            }
        }
    }
}

/// Whether cells get the formula guard ([`header::guard`]).
#[derive(Debug, Clone, Copy)]
struct Guard(bool);

impl Guard {
    fn cell(self, text: &str) -> String {
        if self.0 {
            header::guard(text).into_owned()
        } else {
            text.to_owned()
        }
    }
}

/// A value's text in a plain column: a string as itself, any other value
/// as its JSON.
fn cell_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The columns of an export, built case by case ([`Layout::observe`]),
/// then fixed ([`Layout::header`]) and used to write each row
/// ([`Layout::row`]).
#[derive(Debug)]
pub(crate) struct Layout {
    schemas: [Option<Value>; 3],
    parts: [Option<Node>; 3],
    /// Some tag would not survive a comma-separated cell.
    tags_json: bool,
    trace: bool,
    span: bool,
    evaluators: bool,
    header: Vec<String>,
    /// Where the columns after the parts are.
    at: HashMap<&'static str, usize>,
    guard: Guard,
}

impl Layout {
    /// A layout for cases of a dataset with these schemas (inputs,
    /// expected output, metadata).
    pub(crate) fn new(schemas: [Option<Value>; 3]) -> Self {
        Layout {
            schemas,
            parts: [None, None, None],
            tags_json: false,
            trace: false,
            span: false,
            evaluators: false,
            header: Vec::new(),
            at: HashMap::new(),
            guard: Guard(true),
        }
    }

    /// Cells written as they are, without the formula guard.
    pub(crate) fn raw_cells(mut self) -> Self {
        self.guard = Guard(false);
        self
    }

    /// Takes in a case, as the bulk route takes it.
    pub(crate) fn observe(&mut self, case: &Map<String, Value>) {
        for (part, name) in PARTS.iter().enumerate() {
            if let Some(value) = case.get(*name) {
                let schema = self.schemas[part].as_ref();
                self.parts[part]
                    .get_or_insert_with(|| Node::new(types_at(schema, &[])))
                    .observe(value, schema, &mut Vec::new());
            }
        }
        if let Some(Value::Array(tags)) = case.get("tags") {
            self.tags_json |= tags.iter().any(|tag| {
                tag.as_str()
                    .is_none_or(|tag| tag.is_empty() || tag.contains(',') || tag.trim() != tag)
            });
        }
        self.trace |= case.contains_key("source_trace_id");
        self.span |= case.contains_key("source_span_id");
        self.evaluators |= case.contains_key("evaluators");
    }

    /// The header row, once every case has been taken in.
    pub(crate) fn header(&mut self) -> &[String] {
        let mut header = vec![
            "name".to_owned(),
            if self.tags_json { "tags:json" } else { "tags" }.to_owned(),
        ];
        for (part, node) in self.parts.iter_mut().enumerate() {
            if let Some(node) = node {
                node.columns(PARTS[part], &mut Vec::new(), &mut header);
            }
        }
        if self.parts[0].is_none() {
            // No case: still a file import reads (it needs an inputs column).
            header.push(PARTS[0].to_owned());
        }
        for (key, present, column) in [
            ("evaluators", self.evaluators, "evaluators:json"),
            ("source_trace_id", self.trace, "source_trace_id"),
            ("source_span_id", self.span, "source_span_id"),
        ] {
            if present {
                self.at.insert(key, header.len());
                header.push(column.to_owned());
            }
        }
        self.header = header;
        &self.header
    }

    /// A case's row, in `row` (as wide as the header).
    pub(crate) fn row(&self, case: &Map<String, Value>, row: &mut [String]) {
        row.iter_mut().for_each(String::clear);
        if let Some(Value::String(name)) = case.get("name") {
            row[0] = self.guard.cell(name);
        }
        if let Some(Value::Array(tags)) = case.get("tags") {
            row[1] = if self.tags_json {
                self.guard.cell(&Value::Array(tags.clone()).to_string())
            } else {
                let joined: Vec<&str> = tags.iter().filter_map(Value::as_str).collect();
                self.guard.cell(&joined.join(","))
            };
        }
        for (part, name) in PARTS.iter().enumerate() {
            if let (Some(node), Some(value)) = (&self.parts[part], case.get(*name)) {
                node.cells(value, row, self.guard);
            }
        }
        for (key, &column) in &self.at {
            match case.get(*key) {
                Some(Value::String(text)) => row[column] = self.guard.cell(text),
                Some(other) => row[column] = self.guard.cell(&other.to_string()),
                None => {}
            }
        }
    }
}
