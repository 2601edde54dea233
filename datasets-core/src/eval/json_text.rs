//! JSON dataset files read and written as pydantic-evals does (pydantic's
//! JSON parser and `model_dump_json(indent=2)`): keys in their order, a
//! repeated key keeping its first place and taking the last value, integers
//! exact at any size, `NaN` and `Infinity` accepted.

use std::fmt::Write as _;

use super::py::{PyValue, insert};

/// A JSON syntax error: what and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl PyValue {
    /// Parses JSON text as pydantic reads it: keys in their order (a
    /// repeated key keeps its first place, takes the last value), integers
    /// exact at any size, `NaN` and `Infinity` accepted. The error says
    /// what is wrong and at which line and column.
    pub fn from_json_str(text: &str) -> Result<PyValue, String> {
        parse(text).map_err(|err| err.to_string())
    }

    /// JSON text, indented by two spaces; integers exact at any size, a
    /// model as an object, a non-finite float as `null` (as pydantic's
    /// `model_dump_json`).
    pub fn to_json_string(&self) -> String {
        write_pretty(self)
    }
}

/// Deepest nesting read, as serde_json's default.
const MAX_DEPTH: usize = 128;

/// Parses one JSON document.
pub(crate) fn parse(text: &str) -> Result<PyValue, JsonError> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    reader.space();
    let value = reader.value()?;
    reader.space();
    if reader.at < reader.bytes.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn error(&self, message: &str) -> JsonError {
        let before = &self.text[..self.at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        JsonError {
            line,
            column,
            message: message.to_owned(),
        }
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<PyValue, JsonError> {
        match self.bytes.get(self.at) {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(PyValue::Str),
            Some(b't') if self.eat("true") => Ok(PyValue::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(PyValue::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(PyValue::None),
            Some(b'N') if self.eat("NaN") => Ok(PyValue::Float(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(PyValue::Float(f64::INFINITY)),
            Some(b'-') if self.eat("-Infinity") => Ok(PyValue::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected value")),
        }
    }

    fn nested(
        &mut self,
        read: fn(&mut Self) -> Result<PyValue, JsonError>,
    ) -> Result<PyValue, JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<PyValue, JsonError> {
        self.at += 1;
        let mut entries = Vec::new();
        self.space();
        if self.eat("}") {
            return Ok(PyValue::Dict(entries));
        }
        loop {
            self.space();
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(self.error("key must be a string"));
            }
            let key = self.string()?;
            self.space();
            if !self.eat(":") {
                return Err(self.error("expected `:`"));
            }
            self.space();
            let value = self.value()?;
            insert(&mut entries, key, value);
            self.space();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(PyValue::Dict(entries));
            }
            return Err(self.error("expected `,` or `}`"));
        }
    }

    fn array(&mut self) -> Result<PyValue, JsonError> {
        self.at += 1;
        let mut items = Vec::new();
        self.space();
        if self.eat("]") {
            return Ok(PyValue::List(items));
        }
        loop {
            self.space();
            items.push(self.value()?);
            self.space();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(PyValue::List(items));
            }
            return Err(self.error("expected `,` or `]`"));
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let start = self.at;
        self.at += 1;
        // The common case, no escapes: the text as it is.
        loop {
            match self.bytes.get(self.at) {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    // serde_json decodes the escapes the same as Python does,
                    // pairs included; a lone surrogate it refuses.
                    let end = self.string_end()?;
                    let quoted = &self.text[start..end];
                    self.at = end;
                    return serde_json::from_str(quoted).map_err(|err| {
                        let message = err.to_string();
                        let message = message.split(" at line ").next().unwrap_or(&message);
                        self.error(&format!("invalid string: {message}"))
                    });
                }
                Some(byte) if *byte < 0x20 => {
                    return Err(self.error("control character in a string"));
                }
                Some(_) => self.at += 1,
            }
        }
        let text = self.text[start + 1..self.at].to_owned();
        self.at += 1;
        Ok(text)
    }

    /// The index after the closing quote of the string starting at `self.at`'s string.
    fn string_end(&self) -> Result<usize, JsonError> {
        let mut at = self.at;
        loop {
            match self.bytes.get(at) {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => return Ok(at + 1),
                Some(b'\\') => at += 2,
                Some(_) => at += 1,
            }
        }
    }

    fn number(&mut self) -> Result<PyValue, JsonError> {
        let start = self.at;
        let _ = self.eat("-");
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.bytes.get(r.at).is_some_and(u8::is_ascii_digit) {
                r.at += 1;
            }
            r.at - from
        };
        match self.bytes.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("invalid number")),
        }
        let mut float = false;
        if self.eat(".") {
            float = true;
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            float = true;
            self.at += 1;
            let _ = self.eat("+") || self.eat("-");
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        let text = &self.text[start..self.at];
        if float {
            text.parse()
                .map(PyValue::Float)
                .map_err(|_| self.error("invalid number"))
        } else {
            PyValue::int_from_digits(text).ok_or_else(|| self.error("invalid number"))
        }
    }
}

/// `value` as JSON indented by two spaces, as `model_dump_json(indent=2)`
/// writes it (non-ASCII text as it is; a non-finite float as `null`).
pub(crate) fn write_pretty(value: &PyValue) -> String {
    let mut out = String::new();
    write(value, 0, &mut out);
    out
}

fn write(value: &PyValue, indent: usize, out: &mut String) {
    match value {
        PyValue::None => out.push_str("null"),
        PyValue::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        PyValue::Int(n) => {
            let _ = write!(out, "{n}");
        }
        PyValue::BigInt(digits) => out.push_str(digits),
        PyValue::Float(x) => {
            out.push_str(&serde_json::to_string(x).unwrap_or_else(|_| "null".to_owned()))
        }
        PyValue::Str(text) => {
            out.push_str(&serde_json::to_string(text).expect("a string serializes"))
        }
        PyValue::List(items) if items.is_empty() => out.push_str("[]"),
        PyValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent + 2, out);
                write(item, indent + 2, out);
            }
            newline(indent, out);
            out.push(']');
        }
        PyValue::Dict(entries) | PyValue::Model(_, entries) if entries.is_empty() => {
            out.push_str("{}");
        }
        PyValue::Dict(entries) | PyValue::Model(_, entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent + 2, out);
                out.push_str(&serde_json::to_string(key).expect("a string serializes"));
                out.push_str(": ");
                write(item, indent + 2, out);
            }
            newline(indent, out);
            out.push('}');
        }
    }
}

fn newline(indent: usize, out: &mut String) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_with_exact_integers() {
        let value = parse(
            r#"{"b": 1, "a": [18446744073709551616, -9223372036854775809, 1e-7, 1.0, 10],
                "big": 1000000000000000000000000000000000000000000, "b": 2, "s": "\u00e9\ud83d\ude00"}"#,
        )
        .unwrap();
        assert_eq!(
            value.repr(),
            "{'b': 2, 'a': [18446744073709551616, -9223372036854775809, 1e-07, 1.0, 10], \
             'big': 1000000000000000000000000000000000000000000, 's': 'é😀'}"
        );
        let written = write_pretty(&value);
        assert_eq!(parse(&written).unwrap(), value);
        assert!(written.contains("18446744073709551616"), "{written}");
    }

    #[test]
    fn reports_where_it_fails() {
        let err = parse("{\n  \"a\": tru\n}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
        assert!(parse("[1] 2").unwrap_err().message.contains("trailing"));
        assert!(parse(r#"["\ud800"]"#).is_err());
        assert!(
            parse(&"[".repeat(200))
                .unwrap_err()
                .message
                .contains("recursion")
        );
        assert_eq!(parse("[NaN, -Infinity]").unwrap().repr(), "[nan, -inf]");
    }
}
