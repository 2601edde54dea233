//! The names of CSV columns and the guard on cells: how a column says
//! which part and path of a case it holds and whether its cells are JSON,
//! and how a cell a spreadsheet would run as a formula is kept as text.
//!
//! A column is `inputs`, `expected_output` or `metadata`, then a path of
//! object keys: `.key` for a key of letters, digits and punctuation other
//! than `.`, `[`, `]`, `"`, `\` and `:`; `["…"]`, a JSON string in
//! brackets, for any other key (`inputs["gen_ai.system"]`, `inputs[""]`,
//! `inputs["two words"]`). A name ending in `:json` holds JSON cells, read
//! as the value they spell whatever the schema says; any other holds text,
//! typed by the dataset's schema where it has one. An empty cell is an
//! absent value in either.

use std::fmt::Write as _;

/// The characters that make a spreadsheet read a cell as a formula
/// (OWASP's CSV injection list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The suffix of a column whose cells are JSON.
pub(crate) const JSON_SUFFIX: &str = ":json";

/// Whether `import` would take the first `'` off `cell`: it starts with
/// `'` followed by a formula character or another `'`.
fn guarded(cell: &str) -> bool {
    let mut chars = cell.chars();
    chars.next() == Some('\'')
        && chars
            .next()
            .is_some_and(|c| c == '\'' || FORMULA_STARTS.contains(&c))
}

/// A cell's value, the guard undone: one leading `'` off a cell that
/// `export` guarded (see [`guard`]).
pub(crate) fn unguard(cell: &str) -> &str {
    if guarded(cell) { &cell[1..] } else { cell }
}

/// A value as a cell a spreadsheet shows as text: a `'` before a value
/// that starts with `=`, `+`, `-`, `@`, a tab or a CR, and before one
/// that [`unguard`] would otherwise shorten, so that every value reads
/// back exactly.
pub(crate) fn guard(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) || guarded(value) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// Whether a key is written bare, `.key`, in a column name.
fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key.chars().all(|c| {
            !matches!(c, '.' | '[' | ']' | '"' | '\\' | ':')
                && !c.is_whitespace()
                && !c.is_control()
        })
}

/// The column name of `part` at `path`, its keys escaped as needed.
pub(crate) fn name(part: &str, path: &[String], json: bool) -> String {
    let mut out = part.to_owned();
    for key in path {
        if is_bare(key) {
            out.push('.');
            out.push_str(key);
        } else {
            let quoted = serde_json::to_string(key).expect("a string serializes");
            let _ = write!(out, "[{quoted}]");
        }
    }
    if json {
        out.push_str(JSON_SUFFIX);
    }
    out
}

/// A column name read: the text before its path, the path's keys, and
/// whether its cells are JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    pub(crate) head: String,
    pub(crate) path: Vec<String>,
    pub(crate) json: bool,
}

/// Reads a column name written by [`name`], or by hand: a bare segment
/// runs to the next `.` or `["`, so hand-written names with spaces or
/// brackets keep their meaning.
pub(crate) fn parse(column: &str) -> Result<Name, String> {
    let (text, json) = match column.strip_suffix(JSON_SUFFIX) {
        Some(text) => (text, true),
        None => (column, false),
    };
    let head_end = text.find(['.', '[']).unwrap_or(text.len());
    let mut head_end = head_end;
    // A `[` not followed by `"` is part of the text, as in hand-written names.
    while text[head_end..].starts_with('[') && !text[head_end..].starts_with("[\"") {
        head_end = text[head_end + 1..]
            .find(['.', '['])
            .map_or(text.len(), |at| head_end + 1 + at);
    }
    let mut name = Name {
        head: text[..head_end].to_owned(),
        path: Vec::new(),
        json,
    };
    let mut rest = &text[head_end..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = closing_quote(after).ok_or_else(|| {
                format!("{column:?} opens a quoted key with [\" that no \"] closes")
            })?;
            let key: String = serde_json::from_str(&rest[1..end + 3]).map_err(|err| {
                format!(
                    "{column:?}: the quoted key {} is not a JSON string: {err}",
                    &rest[1..end + 3]
                )
            })?;
            rest = rest[end + 3..]
                .strip_prefix(']')
                .ok_or_else(|| format!("{column:?}: a quoted key must be followed by ]"))?;
            name.path.push(key);
        } else if let Some(after) = rest.strip_prefix('.') {
            let mut end = after.find(['.', '[']).unwrap_or(after.len());
            while after[end..].starts_with('[') && !after[end..].starts_with("[\"") {
                end = after[end + 1..]
                    .find(['.', '['])
                    .map_or(after.len(), |at| end + 1 + at);
            }
            if end == 0 {
                return Err(format!(
                    "{column:?} names an empty key; write it [\"\"] (a quoted key)"
                ));
            }
            name.path.push(after[..end].to_owned());
            rest = &after[end..];
        } else {
            return Err(format!("{column:?}: expected . or [\" before {rest:?}"));
        }
    }
    Ok(name)
}

/// The offset in `text` (the inside of a JSON string, after its opening
/// quote) of the quote that closes it.
fn closing_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return Some(at),
            _ => at += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_back_from_its_column_name() {
        for key in [
            "q",
            "gen_ai.system",
            "",
            "two words",
            "a[0]",
            "[\"",
            "x:json",
            "é",
            "emoji 🎉",
            "tab\there",
            "quote\"d",
            "back\\slash",
            "ключ",
            "]",
        ] {
            let path = vec!["outer".to_owned(), key.to_owned(), "inner".to_owned()];
            for json in [false, true] {
                let column = name("inputs", &path, json);
                assert_eq!(
                    parse(&column),
                    Ok(Name {
                        head: "inputs".into(),
                        path: path.clone(),
                        json
                    }),
                    "{column}"
                );
            }
        }
        assert_eq!(
            name("inputs", &["gen_ai.system".into()], false),
            "inputs[\"gen_ai.system\"]"
        );
        assert_eq!(name("metadata", &["".into()], true), "metadata[\"\"]:json");
    }

    #[test]
    fn hand_written_names_keep_their_meaning() {
        let read = |column: &str| parse(column).unwrap();
        assert_eq!(read("inputs.my key").path, ["my key"]);
        assert_eq!(read("inputs.list[0]").path, ["list[0]"]);
        assert_eq!(read("expected_output").head, "expected_output");
        assert_eq!(read("name").head, "name");
        assert!(parse("inputs..a").unwrap_err().contains("empty key"));
        assert!(parse("inputs[\"a").unwrap_err().contains("no \"] closes"));
    }

    #[test]
    fn the_guard_reads_back_exactly() {
        for value in [
            "=1+2", "+1", "-3", "@SUM(A1)", "\tx", "\rx", "'", "''", "'=x", "'hello", "plain", "",
            "'''=", "é",
        ] {
            assert_eq!(unguard(&guard(value)), value, "{value:?}");
        }
        assert_eq!(guard("=1+2"), "'=1+2");
        assert_eq!(guard("'hello"), "'hello");
        assert_eq!(unguard("'hello"), "'hello");
    }
}
