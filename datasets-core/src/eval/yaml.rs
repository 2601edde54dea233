//! A YAML writer for dataset files that every YAML reader reads back the
//! same, PyYAML included.
//!
//! pydantic-evals reads files with PyYAML, which resolves plain scalars by
//! YAML 1.1's rules: `yes`, `off`, `1_000`, `12:30:00`, `2024-01-01` and
//! `1e3` are booleans, numbers and dates there, though YAML 1.2 writers
//! (serde_norway among them) leave such strings unquoted. This writer
//! leaves a string plain only when it starts with a letter, holds nothing
//! but letters, digits, single spaces and ``_-./(),?!'+;=*`` and is no
//! reserved word;
//! everything else is double-quoted with escapes. Floats always carry a
//! `.` and a signed exponent (`1.0e-07`), as YAML 1.1 needs to see a float.
//! Keys keep the order the values serialize in, as PyYAML's
//! `sort_keys=False` does.

use std::fmt::Write as _;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The longest key, in bytes, written in the implicit `key: value` form
/// (YAML allows 1024 characters; libyaml counts bytes).
const MAX_IMPLICIT_KEY: usize = 1000;

/// A serialized value with its maps in order.
enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Number(v.into()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Number(v.into()))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
            }

            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::String(v.to_owned()))
            }

            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::String(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::List(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }

        deserializer.deserialize_any(NodeVisitor)
    }
}

/// `value` as a YAML document in block style.
pub(crate) fn to_string<T: Serialize>(value: &T) -> serde_json::Result<String> {
    // Through JSON text, which keeps the order in which fields serialize.
    let node: Node = serde_json::from_str(&serde_json::to_string(value)?)?;
    let mut out = String::new();
    match &node {
        Node::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0, false),
        Node::List(items) if !items.is_empty() => write_list(&mut out, items, 0, false),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    Ok(out)
}

fn write_map(out: &mut String, entries: &[(String, Node)], indent: usize, first_inline: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        let key = string(key);
        // A plain `key:` may be at most 1024 characters long; longer keys
        // take YAML's explicit form, `? key` then `: value`, as PyYAML writes.
        let explicit = key.len() > MAX_IMPLICIT_KEY;
        if explicit {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        } else {
            out.push_str(&key);
        }
        out.push(':');
        match value {
            Node::Map(entries) if !entries.is_empty() => {
                out.push('\n');
                write_map(out, entries, indent + 2, false);
            }
            // Lists under a key sit at the key's indentation, as PyYAML
            // writes them (under an explicit key, indented).
            Node::List(items) if !items.is_empty() => {
                out.push('\n');
                write_list(out, items, indent + if explicit { 2 } else { 0 }, false);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

fn write_list(out: &mut String, items: &[Node], indent: usize, first_inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Node::Map(entries) if !entries.is_empty() => write_map(out, entries, indent + 2, true),
            Node::List(items) if !items.is_empty() => write_list(out, items, indent + 2, true),
            scalar => {
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection, on one line.
fn inline(node: &Node) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(flag) => flag.to_string(),
        Node::Number(number) => self::number(number),
        Node::String(text) => string(text),
        Node::List(_) => "[]".to_owned(),
        Node::Map(_) => "{}".to_owned(),
    }
}

/// Integers as they are; floats with a `.` and a signed exponent.
fn number(number: &serde_json::Number) -> String {
    let text = number.to_string();
    if !number.is_f64() {
        return text;
    }
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (text.as_str(), None),
    };
    let mut out = mantissa.to_owned();
    if !out.contains('.') {
        out.push_str(".0");
    }
    if let Some(exponent) = exponent {
        out.push('e');
        if !exponent.starts_with(['-', '+']) {
            out.push('+');
        }
        out.push_str(exponent);
    }
    out
}

/// Words some YAML reader takes for a boolean, a null or a float.
const RESERVED: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
];

fn plain_ok(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_alphabetic()
        && !text.ends_with(' ')
        && !text.contains("  ")
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || " _-./(),?!'+;=*".contains(c))
        && !RESERVED.contains(&text.to_ascii_lowercase().as_str())
}

/// PyYAML refuses these characters raw in a stream; YAML reads U+2028,
/// U+2029 and U+0085 as line breaks, and U+FEFF as a byte-order mark.
fn must_escape(c: char) -> bool {
    !matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn string(text: &str) -> String {
    if plain_ok(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if must_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml_in_field_order() {
        #[derive(Serialize)]
        struct Doc {
            name: &'static str,
            cases: serde_json::Value,
            empty: Vec<u8>,
        }
        let doc = Doc {
            name: "qa",
            cases: json!([{"inputs": {"q": "What?"}, "tags": ["a", ["b", "c"]], "n": null}]),
            empty: Vec::new(),
        };
        assert_eq!(
            to_string(&doc).unwrap(),
            "name: qa\ncases:\n- inputs:\n    q: What?\n  \"n\": null\n  tags:\n  - a\n  - - b\n    - c\nempty: []\n"
        );
    }

    #[test]
    fn quotes_whatever_yaml_1_1_would_misread() {
        for text in [
            "yes",
            "Off",
            "null",
            "1_000",
            "12:30:00",
            "2024-01-01",
            "1e3",
            ".inf",
            "",
            " x",
            "a: b",
            "a #b",
            "-x",
        ] {
            assert!(string(text).starts_with('"'), "{text}");
        }
        for text in [
            "Paris",
            "What is 15 * 23?",
            "it's",
            "héllo",
            "snake_case-and.dots",
        ] {
            assert_eq!(string(text), text);
        }
        assert_eq!(
            string("a\"b\\c\n\u{85}\u{7f}\u{feff}"),
            r#""a\"b\\c\n\u0085\u007f\ufeff""#
        );
    }

    #[test]
    fn keys_past_yaml_s_limit_take_the_explicit_form() {
        let long = "k".repeat(1500);
        let doc = json!({ long.clone(): {"a": [1, 2]}, "b": "x".repeat(1500) });
        let text = to_string(&doc).unwrap();
        assert!(text.starts_with("b: "), "{text}");
        assert!(
            text.contains(&format!("\n? {long}\n:\n  a:\n  - 1\n")),
            "{text}"
        );
        let read: serde_json::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(read, doc);
        // The limit counts bytes: 400 three-byte characters are past it.
        let wide = json!({ "⌜".repeat(400): 1 });
        let text = to_string(&wide).unwrap();
        assert!(text.starts_with("? "), "{text}");
        assert_eq!(
            serde_norway::from_str::<serde_json::Value>(&text).unwrap(),
            wide
        );
    }

    #[test]
    fn floats_always_look_like_floats() {
        let n = |x: f64| number(&serde_json::Number::from_f64(x).unwrap());
        assert_eq!(n(1.0), "1.0");
        assert_eq!(n(0.5), "0.5");
        assert_eq!(n(1e-7), "1.0e-7");
        assert_eq!(n(1e20), "1.0e+20");
        assert_eq!(number(&7.into()), "7");
    }
}
