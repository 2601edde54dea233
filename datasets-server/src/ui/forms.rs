//! Forms of the UI: a case's three values as fields generated from the
//! dataset's JSON Schema when it describes an object of simple fields
//! (text, numbers, whole numbers, yes/no), else as raw JSON; reading them
//! back; and the server's 422 issues placed next to the field their `loc`
//! names, linked with `aria-describedby`.

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

/// How one part of a case (inputs, expected output, metadata) is edited.
#[derive(Debug, Clone)]
pub(super) enum Layout {
    /// One field per property, in the schema's order.
    Fields(Vec<(String, Simple, bool)>),
    /// The whole value as JSON text.
    Raw,
}

impl Layout {
    /// Fields for an object schema whose properties are all simple, else raw.
    pub(super) fn of(schema: Option<&Value>) -> Self {
        let Some(schema) = schema else {
            return Layout::Raw;
        };
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
            let simple = match property.get("type").and_then(Value::as_str) {
                Some("string") => Simple::Text,
                Some("number") => Simple::Number,
                Some("integer") => Simple::Integer,
                Some("boolean") => Simple::Boolean,
                _ => return Layout::Raw,
            };
            fields.push((name.clone(), simple, required.contains(&name.as_str())));
        }
        if fields.is_empty() {
            Layout::Raw
        } else {
            Layout::Fields(fields)
        }
    }
}

/// The three parts of a case, by form name, with their titles.
pub(super) const PARTS: [(&str, &str); 3] = [
    ("inputs", "Inputs"),
    ("expected_output", "Expected output"),
    ("metadata", "Metadata"),
];

/// A case form's values as typed, kept to show again after an error.
#[derive(Debug, Clone, Default)]
pub(super) struct Posted(pub(super) BTreeMap<String, String>);

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
                let text = value
                    .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                    .unwrap_or_default();
                self.0.insert(part.to_owned(), text);
            }
            Layout::Fields(fields) => {
                for (name, simple, _) in fields {
                    let field = value.and_then(|v| v.get(name));
                    let text = match (simple, field) {
                        (_, None | Some(Value::Null)) => continue,
                        (Simple::Boolean, Some(Value::Bool(true))) => "on".to_owned(),
                        (Simple::Boolean, Some(_)) => continue,
                        (_, Some(Value::String(text))) => text.clone(),
                        (_, Some(other)) => other.to_string(),
                    };
                    self.0.insert(format!("{part}.{name}"), text);
                }
            }
        }
    }

    /// A part's value from the form: `Ok(None)` when left empty, or the
    /// issue for a raw JSON text that does not parse.
    pub(super) fn value(
        &self,
        part: &str,
        layout: &Layout,
    ) -> Result<Option<Value>, ValidationIssue> {
        match layout {
            Layout::Raw => {
                let text = self.get(part).trim();
                if text.is_empty() {
                    return Ok(None);
                }
                serde_json::from_str(text).map(Some).map_err(|err| {
                    ValidationIssue::new(
                        vec!["body".into(), part.into()],
                        format!("this is not JSON: {err}"),
                        "json_invalid",
                    )
                })
            }
            Layout::Fields(fields) => {
                let mut object = Map::new();
                for (name, simple, _) in fields {
                    let text = self.get(&format!("{part}.{name}"));
                    let value = match simple {
                        Simple::Boolean => Value::Bool(text == "on"),
                        _ if text.is_empty() => continue,
                        Simple::Text => Value::String(text.to_owned()),
                        // A number that does not read is sent as text, so
                        // the schema's own message says what is wrong.
                        Simple::Integer => text
                            .trim()
                            .parse::<i64>()
                            .map_or_else(|_| Value::String(text.to_owned()), Value::from),
                        Simple::Number => text
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
                    };
                    object.insert(name.clone(), value);
                }
                Ok(Some(Value::Object(object)))
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
            && fields.iter().any(|(name, _, _)| name == property)
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

/// The fields of one part.
pub(super) fn part_fields(
    part: &str,
    title: &str,
    layout: &Layout,
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
                        (posted.get(part))
                    }
                    (errors(part, placed))
                }
                Layout::Fields(fields) => {
                    @for (name, simple, required) in fields {
                        @let id = field_id(part, name);
                        @let form_name = format!("{part}.{name}");
                        @let describedby = described(&id, placed);
                        @if *simple == Simple::Boolean {
                            label.check for=(id) {
                                input id=(id) type="checkbox" name=(form_name)
                                    checked[posted.get(&form_name) == "on"]
                                    aria-describedby=[describedby.clone()];
                                " " (name)
                            }
                        } @else {
                            label for=(id) { (name) @if *required && part == "inputs" { " *" } }
                            input id=(id) name=(form_name) type="text"
                                inputmode=[match simple { Simple::Integer => Some("numeric"), Simple::Number => Some("decimal"), _ => None }]
                                value=(posted.get(&form_name))
                                aria-describedby=[describedby.clone()]
                                aria-invalid=[describedby.as_ref().map(|_| "true")];
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
