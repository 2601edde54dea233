//! Forms of the UI: a case's three values as fields generated from the
//! dataset's JSON Schema when it describes an object of simple fields
//! (text, numbers, whole numbers, yes/no) or a string, or from the stored
//! value when there is no schema, else as raw JSON; reading them back so
//! that what the user did not touch stays byte for byte as stored, and text
//! comes back exactly as typed (line ends included); and the server's 422
//! issues placed next to the field their `loc` names, linked with
//! `aria-describedby`.

use std::collections::BTreeMap;

use datasets_core::wire::{LocSegment, ValidationIssue};
use maud::{Markup, html};
use serde_json::{Map, Value};

/// The kind of a simple field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Simple {
    Text,
    Number,
    Integer,
    Boolean,
}

/// One field of a part laid out as fields.
#[derive(Debug, Clone)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) kind: Simple,
    pub(super) required: bool,
}

/// How one part of a case (inputs, expected output, metadata) is edited:
/// chosen by its schema, and by its stored value where there is no schema.
#[derive(Debug, Clone)]
pub(super) enum Layout {
    /// One field per property, in the schema's (or the value's) order.
    Fields(Vec<Field>),
    /// The whole value is a string, edited as text.
    Text,
    /// The whole value as JSON text.
    Raw,
}

/// The simple kind a property's schema names: `"string"`, or
/// `["string", "null"]` as schemars writes an `Option<String>`.
fn simple_of(schema: &Value) -> Option<Simple> {
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => {
            let named: Vec<&str> = kinds
                .iter()
                .filter_map(Value::as_str)
                .filter(|kind| *kind != "null")
                .collect();
            match named.as_slice() {
                [one] if named.len() + 1 >= kinds.len() => *one,
                _ => return None,
            }
        }
        _ => return None,
    };
    match kind {
        "string" => Some(Simple::Text),
        "number" => Some(Simple::Number),
        "integer" => Some(Simple::Integer),
        "boolean" => Some(Simple::Boolean),
        _ => None,
    }
}

impl Layout {
    /// Fields for an object schema whose properties are all simple, text
    /// for a string schema, else raw JSON; without a schema, fields for a
    /// stored object of simple values and text for a stored string.
    pub(super) fn of(schema: Option<&Value>, stored: Option<&Value>) -> Self {
        let Some(schema) = schema else {
            return Self::by_value(stored);
        };
        if simple_of(schema) == Some(Simple::Text) {
            return Layout::Text;
        }
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Layout::Raw;
        }
        let Some(Value::Object(properties)) = schema.get("properties") else {
            return Layout::Raw;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        for (name, property) in properties {
            let Some(kind) = simple_of(property) else {
                return Layout::Raw;
            };
            fields.push(Field {
                name: name.clone(),
                kind,
                required: required.contains(&name.as_str()),
            });
        }
        // A stored key the schema does not name would have no field.
        if let Some(Value::Object(stored)) = stored
            && stored.keys().any(|key| !properties.contains_key(key))
        {
            return Layout::Raw;
        }
        if fields.is_empty() {
            Layout::Raw
        } else {
            Layout::Fields(fields)
        }
    }

    /// The layout a stored value suggests when the dataset has no schema.
    fn by_value(stored: Option<&Value>) -> Self {
        match stored {
            Some(Value::String(_)) => Layout::Text,
            Some(Value::Object(object)) if !object.is_empty() => {
                let mut fields = Vec::new();
                for (name, value) in object {
                    let kind = match value {
                        Value::String(_) | Value::Null => Simple::Text,
                        Value::Bool(_) => Simple::Boolean,
                        Value::Number(number) if number.is_f64() => Simple::Number,
                        Value::Number(_) => Simple::Integer,
                        Value::Array(_) | Value::Object(_) => return Layout::Raw,
                    };
                    fields.push(Field {
                        name: name.clone(),
                        kind,
                        required: false,
                    });
                }
                Layout::Fields(fields)
            }
            _ => Layout::Raw,
        }
    }
}

/// How a text is put in a textarea and read back. A textarea holds any
/// text but a carriage return (HTML reads CR LF and a lone CR as LF, and a
/// browser sends every line break as CR LF) and NUL (read as U+FFFD): a
/// text of CR LF lines is shown with LF and its CRs put back on reading,
/// and one a textarea cannot hold (a lone CR, mixed line ends, NUL) is
/// edited as a JSON string, so that no text changes on its way through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextMode {
    /// Lines end in LF (or there is one line).
    Lf,
    /// Every line ends in CR LF.
    Crlf,
    /// Edited as a JSON string literal.
    Json,
}

impl TextMode {
    /// The mode for a stored value (a new text is `Lf`).
    pub(super) fn of(stored: Option<&Value>) -> Self {
        let Some(Value::String(text)) = stored else {
            return TextMode::Lf;
        };
        let bytes = text.as_bytes();
        let crlf = text.matches("\r\n").count();
        let lf = text.matches('\n').count();
        let cr = text.matches('\r').count();
        if bytes.contains(&0) || cr != crlf || (crlf > 0 && crlf != lf) {
            TextMode::Json
        } else if crlf > 0 {
            TextMode::Crlf
        } else {
            TextMode::Lf
        }
    }

    /// The text as the control shows it.
    pub(super) fn show(self, text: &str) -> String {
        match self {
            TextMode::Lf => text.to_owned(),
            TextMode::Crlf => text.replace("\r\n", "\n"),
            TextMode::Json => serde_json::to_string(text).unwrap_or_default(),
        }
    }

    /// The text a control sent, or what is wrong with it.
    pub(super) fn read(self, sent: &str) -> Result<String, String> {
        let text = sent.replace("\r\n", "\n");
        match self {
            TextMode::Lf => Ok(text),
            TextMode::Crlf => Ok(text.replace('\n', "\r\n")),
            TextMode::Json => serde_json::from_str::<String>(text.trim())
                .map_err(|err| format!("this is not a JSON string: {err}")),
        }
    }
}

/// The three parts of a case, by form name, with their titles.
pub(super) const PARTS: [(&str, &str); 3] = [
    ("inputs", "Inputs"),
    ("expected_output", "Expected output"),
    ("metadata", "Metadata"),
];

/// What the form read for one part of a case.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PartValue {
    /// Nothing in it differs from the stored value: the stored JSON is kept
    /// as it is, byte for byte.
    Untouched,
    /// A value (`None`: left empty).
    Set(Option<Value>),
}

/// A case form's values as typed, kept to show again after an error.
#[derive(Debug, Clone, Default)]
pub(super) struct Posted(pub(super) BTreeMap<String, String>);

/// A field's value as its control shows it (`None`: an empty control).
fn shown(kind: Simple, mode: TextMode, value: Option<&Value>) -> Option<String> {
    match (kind, value) {
        (_, None | Some(Value::Null)) => None,
        (Simple::Boolean, Some(Value::Bool(true))) => Some("on".to_owned()),
        (Simple::Boolean, Some(_)) => None,
        (_, Some(Value::String(text))) => Some(mode.show(text)),
        (_, Some(other)) => Some(other.to_string()),
    }
}

/// Line ends as a browser sends them are no change.
fn same_text(a: &str, b: &str) -> bool {
    a == b || a.replace("\r\n", "\n") == b.replace("\r\n", "\n")
}

/// A part's raw JSON as the form shows it.
fn raw_text(value: Option<&Value>) -> String {
    value
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
        .unwrap_or_default()
}

impl Posted {
    pub(super) fn parse(body: &[u8]) -> Self {
        let mut fields = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            fields
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(fields)
    }

    pub(super) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The form's values for a stored case's part.
    pub(super) fn fill(&mut self, part: &str, layout: &Layout, value: Option<&Value>) {
        match layout {
            Layout::Raw => {
                self.0.insert(part.to_owned(), raw_text(value));
            }
            Layout::Text => {
                if let Some(text) = shown(Simple::Text, TextMode::of(value), value) {
                    self.0.insert(part.to_owned(), text);
                }
            }
            Layout::Fields(fields) => {
                for field in fields {
                    let stored = value.and_then(|v| v.get(&field.name));
                    if let Some(text) = shown(field.kind, TextMode::of(stored), stored) {
                        self.0.insert(format!("{part}.{}", field.name), text);
                    }
                }
            }
        }
    }

    /// A field's value as sent, `stored` its value before: `Ok(None)` for
    /// an empty control.
    fn field_value(
        &self,
        form_name: &str,
        kind: Simple,
        stored: Option<&Value>,
        loc: impl Fn() -> Vec<LocSegment>,
    ) -> Result<Option<Value>, ValidationIssue> {
        let text = self.get(form_name);
        Ok(Some(match kind {
            Simple::Boolean => Value::Bool(text == "on"),
            _ if text.is_empty() => return Ok(None),
            Simple::Text => Value::String(
                TextMode::of(stored)
                    .read(text)
                    .map_err(|msg| ValidationIssue::new(loc(), msg, "json_invalid"))?,
            ),
            // A number that does not read is sent as text, so the schema's
            // own message says what is wrong.
            Simple::Integer | Simple::Number => {
                // Never rounded: a number no 64-bit integer or float holds
                // as typed is refused, not stored as another.
                if let Err(problem) = crate::json_guard::check(text.trim().as_bytes()) {
                    return Err(ValidationIssue::new(loc(), problem.message, problem.kind));
                }
                serde_json::from_str::<serde_json::Number>(text.trim())
                    .map_or_else(|_| Value::String(text.to_owned()), Value::Number)
            }
        }))
    }

    /// Whether a field's control still shows `stored`.
    fn field_untouched(&self, form_name: &str, kind: Simple, stored: Option<&Value>) -> bool {
        let sent = self.get(form_name);
        let before = shown(kind, TextMode::of(stored), stored).unwrap_or_default();
        if same_text(sent, &before) {
            return true;
        }
        kind == Simple::Text
            && matches!((TextMode::of(stored).read(sent), stored),
                (Ok(text), Some(Value::String(was))) if &text == was)
    }

    /// A part's value from the form, `stored` its value before (`None` for
    /// a new case): untouched when nothing in it differs from `stored`,
    /// else the new value; or the issue of a control that does not read.
    pub(super) fn value(
        &self,
        part: &str,
        layout: &Layout,
        stored: Option<&Value>,
        editing: bool,
    ) -> Result<PartValue, ValidationIssue> {
        let loc = |field: Option<&str>| {
            let mut loc: Vec<LocSegment> = vec!["body".into(), part.into()];
            loc.extend(field.map(LocSegment::from));
            loc
        };
        match layout {
            Layout::Raw => {
                let text = self.get(part);
                if editing && same_text(text.trim(), raw_text(stored).trim()) {
                    return Ok(PartValue::Untouched);
                }
                let text = text.trim();
                if text.is_empty() {
                    return Ok(PartValue::Set(None));
                }
                if let Err(problem) = crate::json_guard::check(text.as_bytes()) {
                    let mut at = loc(None);
                    at.extend(problem.path);
                    return Err(ValidationIssue::new(at, problem.message, problem.kind));
                }
                let value: Value = serde_json::from_str(text).map_err(|err| {
                    ValidationIssue::new(
                        loc(None),
                        format!("this is not JSON: {err}"),
                        "json_invalid",
                    )
                })?;
                if editing && stored == Some(&value) {
                    return Ok(PartValue::Untouched);
                }
                Ok(PartValue::Set(Some(value)))
            }
            Layout::Text => {
                if editing && self.field_untouched(part, Simple::Text, stored) {
                    return Ok(PartValue::Untouched);
                }
                self.field_value(part, Simple::Text, stored, || loc(None))
                    .map(PartValue::Set)
            }
            Layout::Fields(fields) => {
                // Edits start from the stored object, so a key no field
                // shows and a field left as it was are kept as they are.
                let mut object = match stored {
                    Some(Value::Object(object)) if editing => object.clone(),
                    _ => Map::new(),
                };
                let mut touched = !editing;
                for field in fields {
                    let form_name = format!("{part}.{}", field.name);
                    let before = stored.and_then(|v| v.get(&field.name));
                    if editing && self.field_untouched(&form_name, field.kind, before) {
                        continue;
                    }
                    touched = true;
                    match self
                        .field_value(&form_name, field.kind, before, || loc(Some(&field.name)))?
                    {
                        Some(value) => object.insert(field.name.clone(), value),
                        None => object.remove(&field.name),
                    };
                }
                if !touched {
                    return Ok(PartValue::Untouched);
                }
                Ok(PartValue::Set(Some(Value::Object(object))))
            }
        }
    }
}

/// The form field an issue's `loc` names (`["body", part, property, ...]`),
/// by its id: `inputs-question`, `inputs`, `name`, `tags`; `None` for the
/// form as a whole.
pub(super) fn field_of(loc: &[LocSegment], layouts: &[(&str, Layout)]) -> Option<String> {
    let key = |i: usize| match loc.get(i) {
        Some(LocSegment::Key(key)) => Some(key.as_str()),
        _ => None,
    };
    let part = key(1)?;
    if let Some((_, layout)) = layouts.iter().find(|(name, _)| *name == part) {
        if let (Layout::Fields(fields), Some(property)) = (layout, key(2))
            && fields.iter().any(|field| field.name == property)
        {
            return Some(field_id(part, property));
        }
        return Some(part.to_owned());
    }
    Some(part.to_owned())
}

/// The id of a property's field.
pub(super) fn field_id(part: &str, property: &str) -> String {
    let safe: String = property
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{part}-{safe}")
}

/// Issues by the field they belong to (`""` for the form as a whole).
pub(super) fn by_field(
    issues: &[ValidationIssue],
    layouts: &[(&str, Layout)],
) -> BTreeMap<String, Vec<String>> {
    let mut placed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for issue in issues {
        let field = field_of(&issue.loc, layouts).unwrap_or_default();
        let place: Vec<String> = issue
            .loc
            .iter()
            .skip(1)
            .map(|segment| match segment {
                LocSegment::Key(key) => key.clone(),
                LocSegment::Index(index) => index.to_string(),
            })
            .collect();
        let text = if place.is_empty() {
            issue.msg.clone()
        } else {
            format!("{}: {}", place.join("."), issue.msg)
        };
        placed.entry(field).or_default().push(text);
    }
    placed
}

/// The errors of field `id`, with the id `aria-describedby` points at.
pub(super) fn errors(id: &str, placed: &BTreeMap<String, Vec<String>>) -> Markup {
    html! {
        @if let Some(messages) = placed.get(id) {
            div.error id={ (id) "-error" } role="alert" {
                @for message in messages { p { (message) } }
            }
        }
    }
}

/// `aria-describedby` and `aria-invalid` for a field with errors.
pub(super) fn described(id: &str, placed: &BTreeMap<String, Vec<String>>) -> Option<String> {
    placed.contains_key(id).then(|| format!("{id}-error"))
}

/// A textarea for text: as tall as its lines (up to a screenful; CSS
/// grows it as it is typed in), monospace where the text looks like code,
/// and holding the text exactly (HTML drops one newline right after
/// `<textarea>`, so one is written there).
fn text_area(
    id: &str,
    form_name: &str,
    text: &str,
    mode: TextMode,
    describedby: Option<String>,
) -> Markup {
    let lines = text.lines().count().max(1) + usize::from(text.ends_with('\n'));
    let code = mode == TextMode::Json || text.contains('\n') || text.contains('\t');
    html! {
        textarea.text.code[code] id=(id) name=(form_name) rows=(lines.clamp(1, 30))
            spellcheck="false" autocapitalize="off"
            aria-describedby=[describedby.clone()]
            aria-invalid=[describedby.as_ref().map(|_| "true")] {
            "\n" (text)
        }
    }
}

/// What a text field's label adds for its mode.
fn mode_note(mode: TextMode) -> &'static str {
    match mode {
        TextMode::Json => " (a JSON string: it holds characters a text box cannot)",
        TextMode::Crlf => " (lines end in CR LF, and are kept so)",
        TextMode::Lf => "",
    }
}

/// The fields of one part; `stored` is its value before the edit.
pub(super) fn part_fields(
    part: &str,
    title: &str,
    layout: &Layout,
    stored: Option<&Value>,
    posted: &Posted,
    placed: &BTreeMap<String, Vec<String>>,
) -> Markup {
    html! {
        fieldset {
            legend { (title) }
            @match layout {
                Layout::Raw => {
                    label for=(part) { (title) " (JSON)" }
                    textarea id=(part) name=(part) rows="6" spellcheck="false"
                        aria-describedby=[described(part, placed)]
                        aria-invalid=[described(part, placed).map(|_| "true")] {
                        "\n" (posted.get(part))
                    }
                    (errors(part, placed))
                }
                Layout::Text => {
                    @let mode = TextMode::of(stored);
                    label for=(part) { (title) " (text)" (mode_note(mode)) }
                    (text_area(part, part, posted.get(part), mode, described(part, placed)))
                    (errors(part, placed))
                }
                Layout::Fields(fields) => {
                    @for field in fields {
                        @let id = field_id(part, &field.name);
                        @let form_name = format!("{part}.{}", field.name);
                        @let describedby = described(&id, placed);
                        @let before = stored.and_then(|v| v.get(&field.name));
                        @match field.kind {
                            Simple::Boolean => {
                                label.check for=(id) {
                                    input id=(id) type="checkbox" name=(form_name)
                                        checked[posted.get(&form_name) == "on"]
                                        aria-describedby=[describedby.clone()];
                                    " " (field.name)
                                }
                            }
                            Simple::Text => {
                                @let mode = TextMode::of(before);
                                label for=(id) { (field.name) @if field.required && part == "inputs" { " *" } (mode_note(mode)) }
                                (text_area(&id, &form_name, posted.get(&form_name), mode, describedby.clone()))
                            }
                            Simple::Number | Simple::Integer => {
                                label for=(id) { (field.name) @if field.required && part == "inputs" { " *" } }
                                input id=(id) name=(form_name) type="text"
                                    inputmode=(if field.kind == Simple::Integer { "numeric" } else { "decimal" })
                                    value=(posted.get(&form_name))
                                    aria-describedby=[describedby.clone()]
                                    aria-invalid=[describedby.as_ref().map(|_| "true")];
                            }
                        }
                        (errors(&id, placed))
                    }
                    (errors(part, placed))
                }
            }
        }
    }
}

/// Tags typed as a comma-separated list, in order, without repeats.
pub(super) fn tags_of(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}
