//! Reading YAML as pydantic-evals reads it: PyYAML's `SafeLoader`, which
//! resolves plain scalars by YAML 1.1's rules.
//!
//! The parser gives events (yaml-rust2); the scalars are resolved here with
//! PyYAML's implicit resolvers, in its order: booleans (`yes`, `No`, `on`,
//! `OFF`, ...), floats (`1.0e+3`, `1.`, `.5`, `1:20.5`, `.inf`; not `1e3`,
//! `-.5` or `0o17`, which stay text), integers (`0b101`, `017` octal,
//! `0x1F`, `1_000`, `1:20` sexagesimal), null (`~`, `null`, empty), the
//! merge key `<<`, and timestamps (`2024-01-01`, `2024-01-01 12:00:00`),
//! which become the ISO text pydantic writes for them. Quoted and block
//! scalars are text; `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`,
//! `!!timestamp`, `!!seq` and `!!map` tags are honoured. Anchors, aliases
//! and merge keys (`<<: *base`, `<<: [*a, *b]`) work as in PyYAML; a
//! repeated key keeps its first place and takes the last value.
//!
//! Bounded whatever the file: collections nest at most [`MAX_DEPTH`]
//! levels, and aliases copy at most [`MAX_ALIAS_VALUES`] values in all (a
//! "billion laughs" file of a few hundred bytes would otherwise expand to
//! gigabytes); past either, loading stops with an error at the line.

mod resolve;

use resolve::{construct_float, construct_int, construct_timestamp, resolve};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::py::{PyValue, float_repr, insert};

/// The deepest nesting of sequences and mappings loaded (serde_json's
/// limit for JSON).
pub(crate) const MAX_DEPTH: usize = 128;

/// The most values that aliases may copy in one document, in all.
pub(crate) const MAX_ALIAS_VALUES: usize = 1_000_000;

/// A YAML error: what is wrong and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

/// Parses one YAML document into the value PyYAML's `safe_load` gives.
pub(crate) fn load(text: &str) -> Result<PyValue, YamlError> {
    // The parser's events one at a time (its own `load` recurses per level
    // and overflows the stack on deep files), nesting checked as they come.
    let mut events = Vec::new();
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|err| {
            let mark = err.marker();
            YamlError {
                line: mark.line(),
                column: mark.col() + 1,
                message: err.info().to_owned(),
            }
        })?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(error(
                        &mark,
                        format!("sequences and mappings nest deeper than {MAX_DEPTH} levels here"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        let end = matches!(event, Event::StreamEnd);
        events.push((event, mark));
        if end {
            break;
        }
    }
    let mut builder = Builder {
        events,
        at: 0,
        anchors: Vec::new(),
        next_id: 0,
        depth: 0,
        copied: 0,
    };
    builder.document()
}

/// A node as built: its value, and for a mapping's merge rules, the
/// identities of its keys (PyYAML deduplicates merged keys by the identity
/// of the key's text object).
#[derive(Clone)]
struct Node {
    value: PyValue,
    /// For a mapping: each key's identity, in order.
    key_ids: Vec<KeyId>,
    /// For a scalar: its identity when used as a key.
    id: KeyId,
    /// Whether it is a mapping (for merges).
    mapping: bool,
}

/// What Python's `id()` of a key node's text would tell apart: the same
/// node (through an alias) or a string CPython keeps one copy of (empty or
/// one Latin-1 character).
#[derive(Clone, PartialEq, Eq, Debug)]
enum KeyId {
    Node(usize),
    Shared(String),
}

struct Builder {
    events: Vec<(Event, Marker)>,
    at: usize,
    anchors: Vec<(usize, Node)>,
    next_id: usize,
    /// Collections open around the node being built.
    depth: usize,
    /// Values copied by aliases so far.
    copied: usize,
}

/// How many values `value` holds (itself included), counting no further
/// than `limit`.
fn weight(value: &PyValue, limit: usize) -> usize {
    let mut count = 1;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        if count > limit {
            break;
        }
        match value {
            PyValue::List(items) => {
                count += items.len();
                stack.extend(items.iter());
            }
            PyValue::Dict(entries) => {
                count += entries.len();
                stack.extend(entries.iter().map(|(_, v)| v));
            }
            _ => {}
        }
    }
    count
}

fn error(mark: &Marker, message: impl Into<String>) -> YamlError {
    YamlError {
        line: mark.line(),
        column: mark.col() + 1,
        message: message.into(),
    }
}

const CORE: &str = "tag:yaml.org,2002:";

impl Builder {
    fn next(&mut self) -> Option<(Event, Marker)> {
        let event = self.events.get(self.at).cloned();
        self.at += 1;
        event
    }

    fn document(&mut self) -> Result<PyValue, YamlError> {
        // StreamStart, DocumentStart, the node, DocumentEnd, StreamEnd; an
        // empty stream is `None`, as `safe_load` gives.
        loop {
            match self.next() {
                None | Some((Event::StreamEnd, _)) => return Ok(PyValue::None),
                Some((Event::StreamStart | Event::Nothing, _)) => {}
                Some((Event::DocumentStart, _)) => break,
                Some((_, mark)) => return Err(error(&mark, "expected a document")),
            }
        }
        let node = self.node()?;
        // `safe_load` reads one document; a second is an error there.
        while let Some((event, mark)) = self.next() {
            match event {
                Event::DocumentEnd | Event::StreamEnd | Event::Nothing => {}
                _ => {
                    return Err(error(
                        &mark,
                        "expected a single document in the stream, but found another document",
                    ));
                }
            }
        }
        Ok(node.value)
    }

    fn anchor(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.retain(|(id, _)| *id != anchor);
            self.anchors.push((anchor, node.clone()));
        }
    }

    fn fresh_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn node(&mut self) -> Result<Node, YamlError> {
        let Some((event, mark)) = self.next() else {
            return Err(YamlError {
                line: 0,
                column: 0,
                message: "unexpected end of the document".into(),
            });
        };
        match event {
            Event::Alias(id) => {
                let Some((_, node)) = self.anchors.iter().rev().find(|(anchor, _)| *anchor == id)
                else {
                    return Err(error(&mark, "found undefined alias"));
                };
                let budget = MAX_ALIAS_VALUES - self.copied;
                let size = weight(&node.value, budget);
                if size > budget {
                    return Err(error(
                        &mark,
                        format!(
                            "aliases here copy more than {MAX_ALIAS_VALUES} values in all; \
                             the file expands beyond what is loaded (a \"billion laughs\" file?)"
                        ),
                    ));
                }
                self.copied += size;
                Ok(node.clone())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_ref(), &mark)?;
                let shared = text.is_empty()
                    || (text.chars().count() == 1 && text.chars().all(|c| (c as u32) < 256));
                let id = if shared {
                    KeyId::Shared(text)
                } else {
                    KeyId::Node(self.fresh_id())
                };
                let node = Node {
                    value,
                    key_ids: Vec::new(),
                    id,
                    mapping: false,
                };
                self.anchor(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.depth >= MAX_DEPTH => {
                Err(error(
                    &mark,
                    format!("sequences and mappings nest deeper than {MAX_DEPTH} levels here"),
                ))
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq", &mark)?;
                self.depth += 1;
                let mut items = Vec::new();
                loop {
                    if matches!(self.events.get(self.at), Some((Event::SequenceEnd, _))) {
                        self.at += 1;
                        break;
                    }
                    items.push(self.node()?.value);
                }
                self.depth -= 1;
                let node = Node {
                    value: PyValue::List(items),
                    key_ids: Vec::new(),
                    id: KeyId::Node(self.fresh_id()),
                    mapping: false,
                };
                self.anchor(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map", &mark)?;
                self.depth += 1;
                let node = self.mapping(&mark)?;
                self.depth -= 1;
                self.anchor(anchor, &node);
                Ok(node)
            }
            _ => Err(error(&mark, "unexpected event")),
        }
    }

    fn mapping(&mut self, start: &Marker) -> Result<Node, YamlError> {
        // (key id, key text, value) in document order; merges apart.
        let mut own: Vec<(KeyId, String, PyValue)> = Vec::new();
        let mut merged: Vec<(KeyId, String, PyValue)> = Vec::new();
        loop {
            if matches!(self.events.get(self.at), Some((Event::MappingEnd, _))) {
                self.at += 1;
                break;
            }
            let key_mark = self
                .events
                .get(self.at)
                .map(|(_, mark)| *mark)
                .unwrap_or(*start);
            let is_merge = matches!(
                self.events.get(self.at),
                Some((Event::Scalar(text, TScalarStyle::Plain, _, None), _)) if text == "<<"
            );
            if is_merge {
                self.at += 1;
                let value_mark = self
                    .events
                    .get(self.at)
                    .map(|(_, mark)| *mark)
                    .unwrap_or(*start);
                let source = self.merge_sources(&value_mark)?;
                for node in source {
                    let PyValue::Dict(entries) = node.value else {
                        continue;
                    };
                    for (id, (key, value)) in node.key_ids.into_iter().zip(entries) {
                        if !merged.iter().any(|(seen, _, _)| *seen == id) {
                            merged.push((id, key, value));
                        }
                    }
                }
                continue;
            }
            let key = self.key_node(&key_mark)?;
            let value = self.node()?.value;
            own.push(key_and(key, value));
        }
        let mut entries: Vec<(String, PyValue)> = Vec::new();
        let mut key_ids: Vec<KeyId> = Vec::new();
        for (id, key, value) in merged.into_iter().chain(own) {
            if !entries.iter().any(|(existing, _)| *existing == key) {
                key_ids.push(id);
            }
            insert(&mut entries, key, value);
        }
        Ok(Node {
            value: PyValue::Dict(entries),
            key_ids,
            id: KeyId::Node(self.fresh_id()),
            mapping: true,
        })
    }

    /// The value of a `<<` key: one mapping, or a list of mappings.
    fn merge_sources(&mut self, mark: &Marker) -> Result<Vec<Node>, YamlError> {
        let is_sequence = matches!(
            self.events.get(self.at),
            Some((Event::SequenceStart(..), _))
        );
        if !is_sequence {
            let node = self.node()?;
            if !node.mapping {
                return Err(error(
                    mark,
                    "while constructing a mapping: expected a mapping or list of mappings for \
                     merging",
                ));
            }
            return Ok(vec![node]);
        }
        // A sequence of mappings (aliases, usually); read its items as nodes.
        let (event, seq_mark) = self.next().expect("a sequence start");
        let Event::SequenceStart(anchor, _) = event else {
            unreachable!("checked above")
        };
        let mut nodes = Vec::new();
        loop {
            if matches!(self.events.get(self.at), Some((Event::SequenceEnd, _))) {
                self.at += 1;
                break;
            }
            let item_mark = self
                .events
                .get(self.at)
                .map(|(_, mark)| *mark)
                .unwrap_or(seq_mark);
            let node = self.node()?;
            if !node.mapping {
                return Err(error(
                    &item_mark,
                    "while constructing a mapping: expected a mapping for merging",
                ));
            }
            nodes.push(node);
        }
        if anchor > 0 {
            let list = Node {
                value: PyValue::List(nodes.iter().map(|n| n.value.clone()).collect()),
                key_ids: Vec::new(),
                id: KeyId::Node(self.fresh_id()),
                mapping: false,
            };
            self.anchor(anchor, &list);
        }
        Ok(nodes)
    }

    /// A mapping key: a scalar (its text as a dict key), never a collection.
    fn key_node(&mut self, mark: &Marker) -> Result<Node, YamlError> {
        let is_value_key = matches!(
            self.events.get(self.at),
            Some((Event::Scalar(text, TScalarStyle::Plain, _, None), _)) if text == "="
        );
        if is_value_key {
            // PyYAML reads a plain `=` key as the text "=".
            self.at += 1;
            return Ok(Node {
                value: PyValue::Str("=".into()),
                key_ids: Vec::new(),
                id: KeyId::Shared("=".into()),
                mapping: false,
            });
        }
        let node = self.node()?;
        if matches!(
            node.value,
            PyValue::List(_) | PyValue::Dict(_) | PyValue::Model(..)
        ) {
            return Err(error(
                mark,
                "while constructing a mapping: found an unhashable key (a list or mapping)",
            ));
        }
        Ok(node)
    }
}

fn key_and(key: Node, value: PyValue) -> (KeyId, String, PyValue) {
    (key.id, key_text(&key.value), value)
}

/// A scalar key as its dict key's text, as pydantic writes it in JSON.
fn key_text(value: &PyValue) -> String {
    match value {
        PyValue::Str(text) => text.clone(),
        PyValue::None => "None".to_owned(),
        PyValue::Bool(flag) => flag.to_string(),
        PyValue::Int(n) => n.to_string(),
        PyValue::BigInt(digits) => digits.clone(),
        PyValue::Float(x) => float_repr(*x),
        other => other.repr(),
    }
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str, mark: &Marker) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(tag) if tag.handle == CORE && tag.suffix == kind => Ok(()),
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => Ok(()),
        Some(tag) => Err(error(
            mark,
            format!(
                "could not determine a constructor for the tag '{}{}'",
                tag.handle, tag.suffix
            ),
        )),
    }
}

/// A scalar's value: by its tag if it has one, else by PyYAML's implicit
/// resolvers if it is plain, else text.
fn scalar(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    mark: &Marker,
) -> Result<PyValue, YamlError> {
    let kind = match tag {
        Some(tag) if tag.handle == CORE => tag.suffix.as_str(),
        // PyYAML resolves a scalar with the non-specific tag `!` as untagged.
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" && style == TScalarStyle::Plain => {
            resolve(text)
        }
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => "str",
        Some(tag) => {
            return Err(error(
                mark,
                format!(
                    "could not determine a constructor for the tag '{}{}'",
                    tag.handle, tag.suffix
                ),
            ));
        }
        None if style == TScalarStyle::Plain => resolve(text),
        None => "str",
    };
    let wrong = || {
        error(
            mark,
            format!("the scalar {text:?} is not a valid {kind} for its tag"),
        )
    };
    match kind {
        "str" => Ok(PyValue::Str(text.to_owned())),
        "null" => Ok(PyValue::None),
        "bool" => Ok(PyValue::Bool(matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "true" | "on"
        ))),
        "int" => construct_int(text).ok_or_else(wrong),
        "float" => construct_float(text).map(PyValue::Float).ok_or_else(wrong),
        "timestamp" => construct_timestamp(text)
            .map(PyValue::Str)
            .ok_or_else(wrong),
        "value" => Err(error(
            mark,
            "could not determine a constructor for the tag 'tag:yaml.org,2002:value' \
             (PyYAML reads a plain `=` so; quote it)",
        )),
        "merge" => Err(error(
            mark,
            "a merge key `<<` is only allowed as a mapping key",
        )),
        other => Err(error(
            mark,
            format!("could not determine a constructor for the tag '{CORE}{other}'"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> PyValue {
        match load(&format!("k: {text}")).unwrap() {
            PyValue::Dict(mut entries) => entries.remove(0).1,
            other => panic!("{other:?}"),
        }
    }

    /// A "billion laughs" file: each line's list holds the last one nine times.
    pub(crate) fn laughs(levels: usize) -> String {
        let mut text = String::from("a0: &a0 [lol]\n");
        for level in 1..=levels {
            let refs = vec![format!("*a{}", level - 1); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn alias_expansion_is_bounded_and_named_by_line() {
        // 9^5 = 59,049 values: within the bound, loaded as PyYAML loads it.
        assert!(load(&laughs(5)).is_ok());
        let started = std::time::Instant::now();
        let err = load(&laughs(9)).unwrap_err();
        assert!(err.message.contains("more than 1000000 values"), "{err}");
        assert!(err.line >= 7 && err.line <= 10, "{err}");
        // Refused long before it could expand: far under a second even
        // in a debug build on a busy machine.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Merges copy through aliases too.
        let mut merges = String::from("b0: &b0 {k0: v}\n");
        for level in 1..=30 {
            merges.push_str(&format!(
                "b{level}: &b{level} {{x{level}: *b{p}, y{level}: *b{p}}}\n",
                p = level - 1
            ));
        }
        assert!(load(&merges).unwrap_err().message.contains("aliases"));
    }

    #[test]
    fn nesting_is_bounded_without_overflowing_the_stack() {
        let deep = |levels: usize| "- ".repeat(levels) + "x\n";
        assert!(load(&deep(MAX_DEPTH)).is_ok());
        let err = load(&deep(100_000)).unwrap_err();
        assert!(err.message.contains("deeper than 128 levels"), "{err}");
        let flow = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(load(&flow).is_err());
        let maps = "{a: ".repeat(100_000) + "1" + &"}".repeat(100_000);
        assert!(load(&maps).is_err());
    }

    #[test]
    fn plain_scalars_resolve_as_pyyaml_does() {
        let s = |t: &str| PyValue::Str(t.to_owned());
        let i = PyValue::Int;
        let f = PyValue::Float;
        for (text, value) in [
            ("yes", PyValue::Bool(true)),
            ("No", PyValue::Bool(false)),
            ("on", PyValue::Bool(true)),
            ("OFF", PyValue::Bool(false)),
            ("y", s("y")),
            ("1_000", i(1000)),
            ("017", i(15)),
            ("0o17", s("0o17")),
            ("0b11_0", i(6)),
            ("0x_1F", i(31)),
            ("08", s("08")),
            ("0_", i(0)),
            ("-0", i(0)),
            ("+5", i(5)),
            ("1:20", i(80)),
            ("1:20.5", f(80.5)),
            ("1e3", s("1e3")),
            ("1E+3", s("1E+3")),
            ("1e-3", s("1e-3")),
            (".5e3", s(".5e3")),
            ("-.5", s("-.5")),
            (".5", f(0.5)),
            ("1.", f(1.0)),
            ("1.e+3", f(1000.0)),
            ("1.0e+3", f(1000.0)),
            ("1E-7", s("1E-7")),
            ("._5", s("._5")),
            ("~", PyValue::None),
            ("Null", PyValue::None),
            ("", PyValue::None),
            ("2024-01-01", s("2024-01-01")),
            ("2024-1-1", s("2024-1-1")),
            ("2024-01-01 12:00:00", s("2024-01-01T12:00:00")),
            ("2024-1-1 12:00:00", s("2024-01-01T12:00:00")),
            (
                "2001-12-14t21:59:43.10-05:00",
                s("2001-12-14T21:59:43.100000-05:00"),
            ),
            ("2001-12-14 21:59:43.10 Z", s("2001-12-14T21:59:43.100000Z")),
            (
                "2002-12-14 1:2:3.1234567 +5",
                s("2002-12-14 1:2:3.1234567 +5"),
            ),
            ("'yes'", s("yes")),
            ("\"1_000\"", s("1_000")),
            ("!!str 12", s("12")),
            ("!!int '12'", i(12)),
            ("!!float '1'", f(1.0)),
            (
                "123456789012345678901234567890",
                i(123456789012345678901234567890),
            ),
        ] {
            assert_eq!(one(text), value, "{text}");
        }
        assert_eq!(one(".inf"), f(f64::INFINITY));
        assert!(matches!(one(".NaN"), PyValue::Float(x) if x.is_nan()));
        assert_eq!(
            one("0x1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
            PyValue::BigInt("174224571863520493293247799005065324265471".into())
        );
        let err = load("k: =").unwrap_err();
        assert!(err.message.contains("tag:yaml.org,2002:value"), "{err}");
        assert_eq!(
            load("=: 1").unwrap(),
            PyValue::Dict(vec![("=".into(), i(1))])
        );
    }

    #[test]
    fn merge_keys_follow_pyyaml() {
        let text = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  <<: [*a, *b]\n  w: 0\n  x: 9\n\
                    d: &d {xx: 1, yy: 2}\ne: &e {yy: 3}\nf:\n  <<: [*d, *e]\ng:\n  <<: *a\n  y: 5\n";
        let PyValue::Dict(top) = load(text).unwrap() else {
            panic!()
        };
        let get = |key: &str| top.iter().find(|(k, _)| k == key).unwrap().1.repr();
        assert_eq!(get("c"), "{'x': 9, 'y': 2, 'z': 4, 'w': 0}");
        // Longer keys are distinct objects to PyYAML: the later merge wins.
        assert_eq!(get("f"), "{'xx': 1, 'yy': 3}");
        assert_eq!(get("g"), "{'x': 1, 'y': 5}");
    }

    #[test]
    fn keys_and_errors() {
        assert_eq!(
            load("{1: a, null: c, 1.5: d, b: [1, {x: y}]}")
                .unwrap()
                .repr(),
            "{'1': 'a', 'None': 'c', '1.5': 'd', 'b': [1, {'x': 'y'}]}"
        );
        assert_eq!(load("a: 1\na: 2\nb: 3").unwrap().repr(), "{'a': 2, 'b': 3}");
        assert_eq!(load("").unwrap(), PyValue::None);
        assert!(
            load("a: !custom x")
                .unwrap_err()
                .message
                .contains("!custom")
        );
        assert!(
            load("? [a]\n: 1")
                .unwrap_err()
                .message
                .contains("unhashable")
        );
        assert!(load("a: *nothing").is_err());
        let err = load("a: 1\n---\nb: 2").unwrap_err();
        assert!(err.message.contains("single document"), "{err}");
        assert_eq!(err.line, 2);
    }
}
