//! A pass over request bodies, before they are parsed, for what a JSON
//! parser accepts silently but the server must not: nesting past a depth
//! limit, an object with the same key twice (parsers keep the last, so what
//! is stored is not what a reader of the body sees), integers beyond 64
//! bits (parsers round them to the nearest double, changing the value),
//! numbers beyond a double's range, decimals a double cannot hold as
//! written (`3.14159265358979323846`, `1e-400`: stored, they would read
//! back as another number), and strings holding a lone UTF-16
//! surrogate escape (`"\ud800"`: no Unicode text, so a value kept as sent
//! could never be read back as a string).
//!
//! It reads the body once, in time linear in its length (keys of large
//! objects are compared through a hash set), without allocating for
//! values, and locates what it finds by JSON path. Syntax errors are left to
//! the parser, which describes them better; the scan stops at the first one.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::wire::LocSegment;

/// Deepest nesting of arrays and objects accepted in a request body.
pub const MAX_DEPTH: usize = 64;

/// What the scan found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The JSON path of the offending value, from the body's root.
    pub path: Vec<LocSegment>,
    /// What is wrong.
    pub message: String,
    /// What is wrong, for programs: `json_too_deep`, `json_duplicate_key`,
    /// `json_integer_too_large`, `json_number_out_of_range`,
    /// `json_number_inexact`, `json_invalid_unicode`, `json_invalid_utf8`.
    pub kind: &'static str,
}

/// A key of the object being read: the body's bytes when it has no escapes
/// (the usual case, no allocation), else its decoded text.
type Key<'a> = Cow<'a, [u8]>;

/// Objects with more keys than this compare keys through a hash set; below
/// it, a scan of the few seen is faster than hashing.
const LINEAR_KEYS: usize = 16;

/// The keys of an object seen so far.
#[derive(Default)]
struct SeenKeys<'a> {
    few: Vec<Key<'a>>,
    many: HashSet<Key<'a>>,
}

impl<'a> SeenKeys<'a> {
    fn contains(&self, key: &[u8]) -> bool {
        if self.many.is_empty() {
            self.few.iter().any(|seen| &**seen == key)
        } else {
            self.many.contains(key)
        }
    }

    fn insert(&mut self, key: Key<'a>) {
        if self.many.is_empty() && self.few.len() < LINEAR_KEYS {
            self.few.push(key);
        } else {
            if self.many.is_empty() {
                self.many.extend(self.few.drain(..));
            }
            self.many.insert(key);
        }
    }
}

enum Frame<'a> {
    Object {
        keys: SeenKeys<'a>,
        current: Option<Key<'a>>,
    },
    Array {
        index: usize,
    },
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Frame<'a>>,
    /// Only numbers are checked (see [`check_numbers`]).
    only_numbers: bool,
}

/// Scans `body`; `Ok` also when it is not JSON at all (the parser says why).
pub fn check(body: &[u8]) -> Result<(), Rejection> {
    scan(body, false)
}

/// Scans `body` for numbers only: integers beyond 64 bits, numbers out of
/// a double's range and decimals a double cannot hold as written, which a
/// JSON parser would silently turn into other numbers. For answers read
/// from a server that may keep them (PostgreSQL's `jsonb` does).
pub fn check_numbers(body: &[u8]) -> Result<(), Rejection> {
    scan(body, true)
}

fn scan(body: &[u8], only_numbers: bool) -> Result<(), Rejection> {
    let mut scanner = Scanner {
        bytes: body,
        at: 0,
        stack: Vec::new(),
        only_numbers,
    };
    match scanner.value() {
        Ok(()) | Err(Stop::Syntax) => Ok(()),
        Err(Stop::Rejected(rejection)) => Err(rejection),
    }
}

enum Stop {
    /// Not JSON: left to the parser.
    Syntax,
    Rejected(Rejection),
}

impl<'a> Scanner<'a> {
    /// The path to the value being read.
    fn path(&self) -> Vec<LocSegment> {
        self.stack
            .iter()
            .filter_map(|frame| match frame {
                Frame::Object { current, .. } => current
                    .as_ref()
                    .map(|key| LocSegment::Key(String::from_utf8_lossy(key).into_owned())),
                Frame::Array { index } => Some(LocSegment::Index(*index as u64)),
            })
            .collect()
    }

    fn reject(&self, message: String, kind: &'static str) -> Stop {
        Stop::Rejected(Rejection {
            path: self.path(),
            message,
            kind,
        })
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, Stop> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied().ok_or(Stop::Syntax)
    }

    fn expect(&mut self, byte: u8) -> Result<(), Stop> {
        if self.peek()? != byte {
            return Err(Stop::Syntax);
        }
        self.at += 1;
        Ok(())
    }

    fn value(&mut self) -> Result<(), Stop> {
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Stop::Syntax),
        }
    }

    fn enter(&mut self, frame: Frame<'a>) -> Result<(), Stop> {
        if self.stack.len() >= MAX_DEPTH && !self.only_numbers {
            return Err(self.reject(
                format!("JSON nested deeper than {MAX_DEPTH} levels"),
                "json_too_deep",
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn object(&mut self) -> Result<(), Stop> {
        self.at += 1;
        self.enter(Frame::Object {
            keys: SeenKeys::default(),
            current: None,
        })?;
        if self.peek()? == b'}' {
            self.at += 1;
            self.stack.pop();
            return Ok(());
        }
        loop {
            if self.peek()? != b'"' {
                return Err(Stop::Syntax);
            }
            let key = self.string()?;
            let duplicate = match self.stack.last() {
                Some(Frame::Object { keys, .. }) if !self.only_numbers => keys.contains(&key),
                _ => false,
            };
            if let Some(Frame::Object { current, .. }) = self.stack.last_mut() {
                *current = Some(key);
            }
            if duplicate {
                return Err(self.reject(
                    "the same key appears twice in one object".to_owned(),
                    "json_duplicate_key",
                ));
            }
            self.expect(b':')?;
            self.value()?;
            if let Some(Frame::Object { keys, current }) = self.stack.last_mut()
                && let Some(key) = current.take()
                && !self.only_numbers
            {
                keys.insert(key);
            }
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    self.stack.pop();
                    return Ok(());
                }
                _ => return Err(Stop::Syntax),
            }
        }
    }

    fn array(&mut self) -> Result<(), Stop> {
        self.at += 1;
        self.enter(Frame::Array { index: 0 })?;
        if self.peek()? == b']' {
            self.at += 1;
            self.stack.pop();
            return Ok(());
        }
        loop {
            self.value()?;
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    if let Some(Frame::Array { index }) = self.stack.last_mut() {
                        *index += 1;
                    }
                }
                b']' => {
                    self.at += 1;
                    self.stack.pop();
                    return Ok(());
                }
                _ => return Err(Stop::Syntax),
            }
        }
    }

    /// Reads a string, returning it as a key (decoded only when it has
    /// escapes). A `\\u` escape of a UTF-16 surrogate must be half of a pair.
    fn string(&mut self) -> Result<Key<'a>, Stop> {
        self.at += 1;
        let start = self.at;
        let mut escaped = false;
        loop {
            match self.bytes.get(self.at) {
                None => return Err(Stop::Syntax),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    if self.bytes.get(self.at + 1) == Some(&b'u') {
                        self.unicode_escape()?;
                    } else {
                        self.at += 2;
                    }
                }
                Some(_) => self.at += 1,
            }
        }
        let end = self.at;
        self.at += 1;
        let bytes: &'a [u8] = self.bytes;
        // Checked here too, not only by the parser: the parser skips the
        // strings of fields it ignores without checking them.
        if !self.only_numbers && std::str::from_utf8(&bytes[start..end]).is_err() {
            return Err(self.reject(
                "the string is not valid UTF-8".to_owned(),
                "json_invalid_utf8",
            ));
        }
        if !escaped {
            return Ok(Cow::Borrowed(&bytes[start..end]));
        }
        // Decode with the parser's own rules, so `"a"` and `"\u0061"` are one key.
        let quoted = &bytes[start - 1..end + 1];
        let decoded: String = serde_json::from_slice(quoted).map_err(|_| Stop::Syntax)?;
        Ok(Cow::Owned(decoded.into_bytes()))
    }

    /// Reads the `\\uXXXX` escape at `self.at` (and its pair's second half,
    /// for a surrogate), refusing a surrogate that is not half of a pair.
    fn unicode_escape(&mut self) -> Result<(), Stop> {
        let hex = |at: usize| -> Option<u16> {
            let digits = self.bytes.get(at..at + 4)?;
            u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
        };
        let Some(unit) = hex(self.at + 2) else {
            return Err(Stop::Syntax);
        };
        self.at += 6;
        let lone = match unit {
            0xD800..=0xDBFF => {
                let low = (self.bytes.get(self.at..self.at + 2) == Some(b"\\u"))
                    .then(|| hex(self.at + 2))
                    .flatten()
                    .filter(|low| (0xDC00..=0xDFFF).contains(low));
                if low.is_some() {
                    self.at += 6;
                }
                low.is_none()
            }
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone && !self.only_numbers {
            return Err(self.reject(
                format!(
                    "the string holds the escape \\u{unit:04x}, half of a UTF-16 surrogate \
                     pair without its other half, which is no Unicode text; escape the \
                     character as a pair or send it as UTF-8"
                ),
                "json_invalid_unicode",
            ));
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Stop> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Stop::Syntax)
        }
    }

    fn number(&mut self) -> Result<(), Stop> {
        let start = self.at;
        let mut integer = true;
        while let Some(&byte) = self.bytes.get(self.at) {
            match byte {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => integer = false,
                _ => break,
            }
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| Stop::Syntax)?;
        if !integer && text.parse::<f64>().is_ok_and(f64::is_infinite) {
            return Err(self.reject(
                format!(
                    "the number {} is out of range of a 64-bit float",
                    shorten(text)
                ),
                "json_number_out_of_range",
            ));
        }
        if !integer
            && let Ok(double) = text.parse::<f64>()
            && let Some(problem) = decimal_problem(text, double)
        {
            return Err(self.reject(
                format!("{problem}; send it as a string"),
                "json_number_inexact",
            ));
        }
        if integer && text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
            let digits = text.trim_start_matches('-').len();
            if digits > 0 && text.bytes().skip(1).all(|b| b.is_ascii_digit()) {
                return Err(self.reject(
                    format!(
                        "the integer {} does not fit in 64 bits and would lose precision; \
                         send it as a string",
                        shorten(text)
                    ),
                    "json_integer_too_large",
                ));
            }
        }
        Ok(())
    }
}

/// A decimal's significant digits (no leading or trailing zeros) and the
/// power of ten that puts the point before the first of them; `None` for
/// zero, whatever its sign or exponent.
fn significant(text: &str) -> Option<(bool, String, i64)> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, "0"),
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    // Saturating: an exponent past i64 is out of any double's range anyway.
    let exponent: i64 = exponent.parse().unwrap_or(if exponent.starts_with('-') {
        i64::MIN / 2
    } else {
        i64::MAX / 2
    });
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut point = whole.len() as i64 + exponent;
    let mut digits: String = whole.chars().chain(fraction.chars()).collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    point -= leading as i64;
    digits.drain(..leading);
    digits.truncate(digits.trim_end_matches('0').len());
    (!digits.is_empty()).then_some((negative, digits, point))
}

/// What is wrong with storing the decimal `text` as `double`, the double
/// nearest it, when that is another number: `None` when the double prints
/// back as the number written. `text` is a decimal literal as JSON or
/// Rust's `f64` parser reads it (`-1.5e3`, `+.5`).
pub fn decimal_problem(text: &str, double: f64) -> Option<String> {
    (double.is_finite() && !keeps_decimal(text, double)).then(|| {
        format!(
            "the number {} cannot be held exactly by a 64-bit float (it would be stored as \
             {double:?})",
            shorten(text)
        )
    })
}

/// Whether the double nearest the decimal `text` is that decimal as
/// written: `text` is a shortest round-trip form of it. When the double is
/// exactly halfway between two such forms (99999949999994.125 between
/// `...94.12` and `...94.13`), writers break the tie differently (Rust's
/// `f64` prints `.13`; `ryu`, serde_json's, and Python print `.12`), so
/// either, having no more digits than the shortest form, is the number.
fn keeps_decimal(text: &str, double: f64) -> bool {
    let written = significant(text);
    // Any decimal of 15 significant digits or fewer survives a normal
    // double (DBL_DIG); only longer ones and subnormals need printing.
    if written
        .as_ref()
        .is_none_or(|(_, digits, _)| digits.len() <= 15)
        && (double == 0.0) == written.is_none()
        && (double == 0.0 || double.abs() >= f64::MIN_POSITIVE)
    {
        return true;
    }
    let printed = significant(&format!("{double:e}"));
    written == printed
        || written
            .as_ref()
            .is_some_and(|written| is_other_tie_form(written, double))
}

/// Whether `written` is the shortest form of `double` that Rust's printing
/// did not pick: `double` lies exactly halfway between two decimals of the
/// same length, and `written` is one of them.
fn is_other_tie_form(written: &(bool, String, i64), double: f64) -> bool {
    let (negative, digits, point) = written;
    if *negative != double.is_sign_negative() {
        return false;
    }
    // A double's exact decimal expansion has at most 767 significant digits.
    let Some((_, exact, exact_point)) = significant(&format!("{:.800e}", double.abs())) else {
        return false;
    };
    let Some(kept) = exact.strip_suffix('5') else {
        return false;
    };
    // The two decimals one digit shorter than the exact value, either side.
    let down = significant(&format!("0.{kept}e{exact_point}"));
    let raised = increment(kept);
    let up_point = exact_point + i64::from(raised.len() > kept.len());
    let up = significant(&format!("0.{raised}e{up_point}"));
    let this = Some((false, digits.clone(), *point));
    this == down.map(|(_, d, p)| (false, d, p)) || this == up.map(|(_, d, p)| (false, d, p))
}

/// A string of decimal digits plus one in its last place (`"199"` ->
/// `"200"`, `"99"` -> `"100"`); the empty string is `"1"`.
fn increment(digits: &str) -> String {
    let mut out: Vec<u8> = digits.bytes().collect();
    for byte in out.iter_mut().rev() {
        if *byte == b'9' {
            *byte = b'0';
        } else {
            *byte += 1;
            return String::from_utf8(out).unwrap_or_default();
        }
    }
    let mut carried = String::from("1");
    carried.push_str(&String::from_utf8(out).unwrap_or_default());
    carried
}

/// JSON text without the whitespace between tokens, borrowed when it has
/// none (as clients usually send it). `text` must be valid JSON.
pub fn minify(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let (mut in_string, mut escaped) = (false, false);
    let first_space = bytes.iter().position(|&b| {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            false
        } else if b == b'"' {
            in_string = true;
            false
        } else {
            is_space(b)
        }
    });
    let Some(first_space) = first_space else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first_space]);
    let (mut in_string, mut escaped) = (false, false);
    let mut start = first_space;
    for (i, &b) in bytes.iter().enumerate().skip(first_space) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if is_space(b) {
            out.push_str(&text[start..i]);
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
    std::borrow::Cow::Owned(out)
}

/// A stored JSON text read for checking: parsed as it is, or, when it holds
/// lone surrogate escapes (which servers before the guard refused them
/// stored as sent), parsed with each replaced by `\ufffd`. Stored text is
/// never changed by this; it only lets a re-check read every row.
pub fn parse_stored(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(err) => {
            let repaired = replace_lone_surrogates(text);
            if repaired == text {
                return Err(err);
            }
            serde_json::from_str(&repaired)
        }
    }
}

/// `text` with every `\uXXXX` escape of a lone UTF-16 surrogate replaced
/// by `\ufffd`, the replacement character.
fn replace_lone_surrogates(text: &str) -> String {
    let bytes = text.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        if bytes.get(at..at + 2)? != b"\\u" {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(bytes.get(at + 2..at + 6)?).ok()?, 16).ok()
    };
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match unit(i) {
            Some(0xD800..=0xDBFF)
                if unit(i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) =>
            {
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.push_str(&text[start..i]);
                out.push_str("\\ufffd");
                i += 6;
                start = i;
            }
            Some(_) => i += 6,
            // Another escape: skip the backslash and the escaped character.
            None => i += 2,
        }
    }
    out.push_str(&text[start.min(text.len())..]);
    out
}

fn shorten(text: &str) -> String {
    if text.len() <= 40 {
        text.to_owned()
    } else {
        format!("{}…({} digits)", &text[..20], text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(body: &str) -> Rejection {
        check(body.as_bytes()).unwrap_err()
    }

    fn path(rejection: &Rejection) -> String {
        rejection
            .path
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    #[test]
    fn accepts_ordinary_json_and_leaves_syntax_errors_to_the_parser() {
        for body in [
            r#"{"cases": [{"inputs": {"q": "a\"b", "n": -12.5e3}, "tags": ["x", "y"]}, {"inputs": null}]}"#,
            "[]",
            "{}",
            r#"{"a": 9223372036854775807, "b": -9223372036854775808, "c": 18446744073709551615}"#,
            r#"{"a": {"k": 1}, "b": {"k": 2}}"#,
            "{\"a\": ", // truncated: the parser's to describe
            "not json",
            "",
        ] {
            assert_eq!(check(body.as_bytes()), Ok(()), "{body}");
        }
    }

    #[test]
    fn decimals_a_double_cannot_hold_are_refused_where_they_are() {
        for exact in [
            "0.1",
            "-0.0",
            "0e7",
            "5e-324",
            "1e300",
            "-1.7976931348623157e308",
            "2.2250738585072014e-308",
            "0.30000000000000004",
            "1.50E+3",
            "123456789012345.0",
            // 99999949999994.125 exactly: both shortest forms are the
            // number (Rust prints one, serde_json and Python the other);
            // found by the request_body fuzz target.
            "99999949999994.12",
            "99999949999994.13e0",
            "-9999994999999.412e1",
            "99999949999994.120",
            // Halfway between 2 and 3 in the last place, below and above.
            "0.5",
            "2.5e-1",
        ] {
            assert_eq!(check(exact.as_bytes()), Ok(()), "{exact}");
        }
        let r = rejected(r#"{"cases": [{"inputs": {"pi": 3.14159265358979323846}}]}"#);
        assert_eq!(r.kind, "json_number_inexact");
        assert_eq!(path(&r), "cases.0.inputs.pi");
        assert!(r.message.contains("3.141592653589793)"), "{}", r.message);
        for inexact in [
            "1e-400",
            "1.00000000000000001",
            "4.1234567e-320",
            "9007199254740993.0",
            // More digits than the shortest form, though it parses to it.
            "99999949999994.125",
        ] {
            assert_eq!(rejected(inexact).kind, "json_number_inexact", "{inexact}");
        }
    }

    #[test]
    fn a_digit_string_is_raised_in_its_last_place() {
        assert_eq!(increment("12"), "13");
        assert_eq!(increment("199"), "200");
        assert_eq!(increment("99"), "100");
        assert_eq!(increment(""), "1");
    }

    #[test]
    fn rejects_duplicate_keys_where_they_are() {
        let r = rejected(r#"{"cases": [{"inputs": {"a": 1, "b": 2, "a": 3}}]}"#);
        assert_eq!(
            (path(&r).as_str(), r.kind),
            ("cases.0.inputs.a", "json_duplicate_key")
        );
        // Escapes are decoded before comparing.
        let r = rejected(r#"{"name": "x", "n\u0061me": "y"}"#);
        assert_eq!(path(&r), "name");
    }

    #[test]
    fn rejects_lone_surrogate_escapes_where_they_are() {
        for (body, where_) in [
            (r#"{"inputs": {"q": "\ud800"}}"#, "inputs.q"),
            (r#"{"inputs": {"q": "a\udc00b"}}"#, "inputs.q"),
            (r#"{"inputs": ["ok", "\uD83D"]}"#, "inputs.1"),
            (r#"{"inputs": "\ud800\u0041"}"#, "inputs"),
            (r#"{"inputs": "\udc00\ud800"}"#, "inputs"),
            // In a key, the object holding it is named.
            (r#"{"metadata": {"\ud800": 1}}"#, "metadata"),
        ] {
            let r = rejected(body);
            assert_eq!(
                (path(&r).as_str(), r.kind),
                (where_, "json_invalid_unicode"),
                "{body}"
            );
        }
        // Pairs, escaped or not, and other escapes are text.
        for body in [
            r#"{"q": "\ud83d\ude00", "r": "😀", "s": "\u00e9\n\\u", "\ud83d\ude00": 1}"#,
            r#"["\\ud800"]"#,
        ] {
            assert_eq!(check(body.as_bytes()), Ok(()), "{body}");
        }
    }

    #[test]
    fn strings_must_be_utf8_even_where_the_parser_skips_them() {
        let mut body = br#"{"ignored": {"k\xff": 1}, "inputs": 1}"#.to_vec();
        let at = body.windows(4).position(|w| w == b"\\xff").unwrap();
        body.splice(at..at + 4, [0xff]);
        let r = check(&body).unwrap_err();
        assert_eq!(
            (path(&r).as_str(), r.kind),
            ("ignored", "json_invalid_utf8")
        );
    }

    #[test]
    fn stored_lone_surrogates_are_read_for_checking() {
        let value =
            parse_stored(r#"{"q": "a\ud800b", "\udc00": ["\ud83d\ude00", "\\ud800"]}"#).unwrap();
        assert_eq!(value["q"], "a\u{fffd}b");
        assert_eq!(value["\u{fffd}"][0], "😀");
        assert_eq!(value["\u{fffd}"][1], "\\ud800");
        assert!(parse_stored("{not json").is_err());
    }

    #[test]
    fn many_keys_are_checked_in_linear_time() {
        // 200,000 distinct keys: quadratic comparison would take minutes.
        let mut body = String::from("{");
        for i in 0..200_000 {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!("\"k{i}\":{i}"));
        }
        body.push('}');
        assert_eq!(check(body.as_bytes()), Ok(()));
        let duplicate = body.replacen('}', ",\"k199999\":0}", 1);
        let r = rejected(&duplicate);
        assert_eq!(
            (path(&r).as_str(), r.kind),
            ("k199999", "json_duplicate_key")
        );
    }

    #[test]
    fn rejects_nesting_past_the_limit() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(rejected(&deep).kind, "json_too_deep");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check(ok.as_bytes()), Ok(()));
    }

    #[test]
    fn minifies_only_between_tokens() {
        assert!(matches!(
            minify(r#"{"a":[1,"b c"]}"#),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            minify("{ \"a\" : [ 1 ,\n \"b \\\" c\" ] }"),
            r#"{"a":[1,"b \" c"]}"#
        );
    }

    #[test]
    fn rejects_integers_beyond_64_bits() {
        let r = rejected(r#"{"inputs": {"id": 123456789012345678901234567890}}"#);
        assert_eq!(
            (path(&r).as_str(), r.kind),
            ("inputs.id", "json_integer_too_large")
        );
        assert!(
            r.message.contains("123456789012345678901234567890"),
            "{}",
            r.message
        );
        assert_eq!(
            rejected("[-18446744073709551616]").path,
            [LocSegment::Index(0)]
        );
        // Floats may be large, but not past what a double holds, nor with
        // more digits than it keeps.
        assert_eq!(check(b"[1e300, 1.2345678901234568e29]"), Ok(()));
        assert_eq!(
            rejected("[1, 123456789012345678901234567890.5]").kind,
            "json_number_inexact"
        );
        assert_eq!(rejected("[1, -1e400]").kind, "json_number_out_of_range");
    }
}
