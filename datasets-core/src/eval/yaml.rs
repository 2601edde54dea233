//! A YAML writer for dataset files that every YAML reader reads back the
//! same, PyYAML included.
//!
//! pydantic-evals reads files with PyYAML, which resolves plain scalars by
//! YAML 1.1's rules: `yes`, `off`, `1_000`, `12:30:00` and `2024-01-01` are
//! booleans, numbers and dates there, while YAML 1.2 readers take `1e3` and
//! `0o17` for numbers, which PyYAML leaves as text. This writer
//! leaves a string plain only when it starts with a letter, holds nothing
//! but letters, digits, single spaces and ``_-./(),?!'+;=*`` and is no
//! reserved word;
//! everything else is double-quoted with escapes. Floats always carry a
//! `.` and a signed exponent (`1.0e-07`), as YAML 1.1 needs to see a float.
//! Keys keep the order the values serialize in, as PyYAML's
//! `sort_keys=False` does.

use std::fmt::Write as _;

use super::py::{PyValue, float_repr};

/// The longest key, in bytes, written in the implicit `key: value` form
/// (YAML allows 1024 characters; libyaml counts bytes).
const MAX_IMPLICIT_KEY: usize = 1000;

/// `value` as a YAML document in block style; models as mappings.
pub(crate) fn write(value: &PyValue) -> String {
    let mut out = String::new();
    match value {
        PyValue::Dict(entries) | PyValue::Model(_, entries) if !entries.is_empty() => {
            write_map(&mut out, entries, 0, false)
        }
        PyValue::List(items) if !items.is_empty() => write_list(&mut out, items, 0, false),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, entries: &[(String, PyValue)], indent: usize, first_inline: bool) {
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
            PyValue::Dict(entries) | PyValue::Model(_, entries) if !entries.is_empty() => {
                out.push('\n');
                write_map(out, entries, indent + 2, false);
            }
            // Lists under a key sit at the key's indentation, as PyYAML
            // writes them (under an explicit key, indented).
            PyValue::List(items) if !items.is_empty() => {
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

fn write_list(out: &mut String, items: &[PyValue], indent: usize, first_inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            PyValue::Dict(entries) | PyValue::Model(_, entries) if !entries.is_empty() => {
                write_map(out, entries, indent + 2, true)
            }
            PyValue::List(items) if !items.is_empty() => write_list(out, items, indent + 2, true),
            scalar => {
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection, on one line.
fn inline(value: &PyValue) -> String {
    match value {
        PyValue::None => "null".to_owned(),
        PyValue::Bool(flag) => flag.to_string(),
        PyValue::Int(n) => n.to_string(),
        PyValue::BigInt(digits) => digits.clone(),
        PyValue::Float(x) => float(*x),
        PyValue::Str(text) => string(text),
        PyValue::List(_) => "[]".to_owned(),
        PyValue::Dict(_) | PyValue::Model(..) => "{}".to_owned(),
    }
}

/// A float as PyYAML writes one: Python's `repr`, lowercase, with `.0`
/// before an exponent that has no point (`1.0e-07`), `.inf`, `.nan`.
fn float(x: f64) -> String {
    if x.is_nan() {
        return ".nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let text = float_repr(x).to_ascii_lowercase();
    if !text.contains('.') && text.contains('e') {
        text.replacen('e', ".0e", 1)
    } else {
        text
    }
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
    use super::super::yaml_load::load;
    use super::*;

    fn dict(entries: Vec<(&str, PyValue)>) -> PyValue {
        PyValue::Dict(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    #[test]
    fn writes_block_yaml_in_field_order() {
        let doc = dict(vec![
            ("name", PyValue::Str("qa".into())),
            (
                "cases",
                PyValue::List(vec![dict(vec![
                    ("inputs", dict(vec![("q", PyValue::Str("What?".into()))])),
                    (
                        "tags",
                        PyValue::List(vec![
                            PyValue::Str("a".into()),
                            PyValue::List(vec![PyValue::Str("b".into()), PyValue::Str("c".into())]),
                        ]),
                    ),
                    ("n", PyValue::None),
                ])]),
            ),
            ("empty", PyValue::List(Vec::new())),
        ]);
        let text = write(&doc);
        assert_eq!(
            text,
            "name: qa\ncases:\n- inputs:\n    q: What?\n  tags:\n  - a\n  - - b\n    - c\n  \"n\": null\nempty: []\n"
        );
        assert_eq!(load(&text).unwrap(), doc);
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
            "1E+3",
            ".inf",
            "",
            " x",
            "a: b",
            "a #b",
            "-x",
            "~",
            "0o17",
            "-.5",
        ] {
            assert!(string(text).starts_with('"'), "{text}");
            assert_eq!(
                load(&format!("k: {}", string(text))).unwrap(),
                dict(vec![("k", PyValue::Str(text.into()))])
            );
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
        let doc = dict(vec![
            (
                &long,
                dict(vec![(
                    "a",
                    PyValue::List(vec![PyValue::Int(1), PyValue::Int(2)]),
                )]),
            ),
            ("b", PyValue::Str("x".repeat(1500))),
        ]);
        let text = write(&doc);
        assert!(
            text.contains(&format!("? {long}\n:\n  a:\n  - 1\n")),
            "{text}"
        );
        assert_eq!(load(&text).unwrap(), doc);
        // The limit counts bytes: 400 three-byte characters are past it.
        let wide = dict(vec![(&"⌜".repeat(400), PyValue::Int(1))]);
        let text = write(&wide);
        assert!(text.starts_with("? "), "{text}");
        assert_eq!(load(&text).unwrap(), wide);
    }

    #[test]
    fn numbers_read_back_as_the_same_numbers() {
        assert_eq!(float(1.0), "1.0");
        assert_eq!(float(0.5), "0.5");
        assert_eq!(float(1e-7), "1.0e-07");
        assert_eq!(float(1e20), "1.0e+20");
        assert_eq!(float(f64::NEG_INFINITY), "-.inf");
        let numbers = PyValue::List(vec![
            PyValue::Float(1e-7),
            PyValue::Float(1.5e300),
            PyValue::Float(-0.25),
            PyValue::Int(i128::MAX),
            PyValue::BigInt("-1000000000000000000000000000000000000000000".into()),
        ]);
        assert_eq!(load(&write(&numbers)).unwrap(), numbers);
    }
}
