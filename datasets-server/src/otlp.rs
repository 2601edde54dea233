//! OTLP/HTTP trace bodies (`ExportTraceServiceRequest`), in protobuf or in
//! OTLP's JSON mapping, decoded into the few fields the experiments store
//! reads. Only what a span carries is kept: resources and scopes are
//! skipped, and links are ignored.
//!
//! The protobuf reader is written against the message definitions of
//! `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`:
//! it knows their field numbers, skips unknown fields as protobuf requires,
//! and refuses truncated or overlong input, nesting deeper than
//! [`MAX_DEPTH`], and the deprecated group wire types.

use serde_json::{Map, Value};

/// How deep attribute values (arrays and key-value lists) may nest.
pub const MAX_DEPTH: usize = 32;

/// One span of a trace body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Span {
    /// The trace id, as 32 lowercase hex digits.
    pub trace_id: String,
    /// The span id, as 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id, empty for a root span.
    pub parent_span_id: String,
    /// The span's name.
    pub name: String,
    /// Start, in Unix nanoseconds.
    pub start_ns: u64,
    /// End, in Unix nanoseconds.
    pub end_ns: u64,
    /// Attributes, in the order sent; values as JSON.
    pub attributes: Vec<(String, Value)>,
    /// Events: name and attributes.
    pub events: Vec<(String, Vec<(String, Value)>)>,
    /// Status code: 0 unset, 1 ok, 2 error.
    pub status_code: i64,
    /// Status message.
    pub status_message: String,
}

impl Span {
    /// The attribute `key`, if sent.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Most spans one request may carry (Logfire's SDK sends at most 512).
pub const MAX_SPANS: usize = 100_000;
/// Most attribute values (each key-value, array item and event counted)
/// one request may expand to.
pub const MAX_VALUES: usize = 1_000_000;
/// Most JSON values an OTLP JSON body may hold (its objects, arrays,
/// strings, numbers), counted before any is built.
pub const MAX_JSON_VALUES: usize = 1_000_000;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a trace export (400).
    Invalid(String),
    /// A trace export that expands past the limits of one request (413).
    TooLarge(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Invalid(msg) | DecodeError::TooLarge(msg) => f.write_str(msg),
        }
    }
}

fn fail<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError::Invalid(msg.into()))
}

/// What a request has expanded to so far, refused past the limits before
/// anything more is allocated.
#[derive(Debug, Default)]
struct Tally {
    spans: usize,
    values: usize,
}

impl Tally {
    fn span(&mut self) -> Result<(), DecodeError> {
        self.spans += 1;
        if self.spans > MAX_SPANS {
            return Err(DecodeError::TooLarge(format!(
                "the export holds more than {MAX_SPANS} spans; send it in smaller batches"
            )));
        }
        Ok(())
    }

    fn value(&mut self) -> Result<(), DecodeError> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(DecodeError::TooLarge(format!(
                "the export holds more than {MAX_VALUES} attribute values; send it in \
                 smaller batches"
            )));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- protobuf

/// A protobuf field: its number and value.
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    /// The message being read, for errors.
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, at: 0, what }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.data.get(self.at) else {
                return fail(format!("{}: a varint runs past the end", self.what));
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        fail(format!("{}: a varint is longer than 10 bytes", self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.data.len());
        let Some(end) = end else {
            return fail(format!("{}: a field runs past the end", self.what));
        };
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, DecodeError> {
        if self.at >= self.data.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 {
            return fail(format!("{}: field number 0", self.what));
        }
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let len = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed32
            }
            other => return fail(format!("{}: wire type {other} is not supported", self.what)),
        };
        Ok(Some((number, field)))
    }
}

fn text(bytes: &[u8], what: &str) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).or_else(|_| fail(format!("{what} is not UTF-8")))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Decodes a protobuf `ExportTraceServiceRequest`.
pub fn decode_protobuf(body: &[u8]) -> Result<Vec<Span>, DecodeError> {
    let mut spans = Vec::new();
    let tally = &mut Tally::default();
    let mut request = Reader::new(body, "ExportTraceServiceRequest");
    while let Some((number, field)) = request.next()? {
        let (1, Field::Bytes(resource_spans)) = (number, field) else {
            continue;
        };
        let mut resource = Reader::new(resource_spans, "ResourceSpans");
        while let Some((number, field)) = resource.next()? {
            let (2, Field::Bytes(scope_spans)) = (number, field) else {
                continue;
            };
            let mut scope = Reader::new(scope_spans, "ScopeSpans");
            while let Some((number, field)) = scope.next()? {
                if let (2, Field::Bytes(span)) = (number, field) {
                    tally.span()?;
                    spans.push(decode_span(span, tally)?);
                }
            }
        }
    }
    Ok(spans)
}

fn decode_span(data: &[u8], tally: &mut Tally) -> Result<Span, DecodeError> {
    let mut span = Span::default();
    let mut reader = Reader::new(data, "Span");
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(id)) => span.trace_id = hex(id),
            (2, Field::Bytes(id)) => span.span_id = hex(id),
            (4, Field::Bytes(id)) => span.parent_span_id = hex(id),
            (5, Field::Bytes(name)) => span.name = text(name, "a span's name")?,
            (7, Field::Fixed64(ns)) => span.start_ns = ns,
            (8, Field::Fixed64(ns)) => span.end_ns = ns,
            (9, Field::Bytes(kv)) => span.attributes.push(decode_key_value(kv, 0, tally)?),
            (11, Field::Bytes(event)) => {
                tally.value()?;
                span.events.push(decode_event(event, tally)?);
            }
            (15, Field::Bytes(status)) => {
                let mut reader = Reader::new(status, "Status");
                while let Some((number, field)) = reader.next()? {
                    match (number, field) {
                        (2, Field::Bytes(msg)) => {
                            span.status_message = text(msg, "a status message")?;
                        }
                        (3, Field::Varint(code)) => span.status_code = code as i64,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(span)
}

fn decode_event(
    data: &[u8],
    tally: &mut Tally,
) -> Result<(String, Vec<(String, Value)>), DecodeError> {
    let (mut name, mut attributes) = (String::new(), Vec::new());
    let mut reader = Reader::new(data, "Event");
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (2, Field::Bytes(text_bytes)) => name = text(text_bytes, "an event's name")?,
            (3, Field::Bytes(kv)) => attributes.push(decode_key_value(kv, 0, tally)?),
            _ => {}
        }
    }
    Ok((name, attributes))
}

fn decode_key_value(
    data: &[u8],
    depth: usize,
    tally: &mut Tally,
) -> Result<(String, Value), DecodeError> {
    tally.value()?;
    let (mut key, mut value) = (String::new(), Value::Null);
    let mut reader = Reader::new(data, "KeyValue");
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(bytes)) => key = text(bytes, "an attribute's key")?,
            (2, Field::Bytes(bytes)) => value = decode_any_value(bytes, depth, tally)?,
            _ => {}
        }
    }
    Ok((key, value))
}

fn decode_any_value(data: &[u8], depth: usize, tally: &mut Tally) -> Result<Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return fail(format!(
            "an attribute value nests deeper than {MAX_DEPTH} levels"
        ));
    }
    let mut value = Value::Null;
    let mut reader = Reader::new(data, "AnyValue");
    while let Some((number, field)) = reader.next()? {
        value = match (number, field) {
            (1, Field::Bytes(bytes)) => Value::String(text(bytes, "a string value")?),
            (2, Field::Varint(flag)) => Value::Bool(flag != 0),
            (3, Field::Varint(int)) => Value::from(int as i64),
            (4, Field::Fixed64(bits)) => serde_json::Number::from_f64(f64::from_bits(bits))
                .map_or_else(
                    || Value::String(f64::from_bits(bits).to_string()),
                    Value::Number,
                ),
            (5, Field::Bytes(array)) => {
                let mut items = Vec::new();
                let mut reader = Reader::new(array, "ArrayValue");
                while let Some((number, field)) = reader.next()? {
                    if let (1, Field::Bytes(item)) = (number, field) {
                        tally.value()?;
                        items.push(decode_any_value(item, depth + 1, tally)?);
                    }
                }
                Value::Array(items)
            }
            (6, Field::Bytes(list)) => {
                let mut map = Map::new();
                let mut reader = Reader::new(list, "KeyValueList");
                while let Some((number, field)) = reader.next()? {
                    if let (1, Field::Bytes(kv)) = (number, field) {
                        let (key, value) = decode_key_value(kv, depth + 1, tally)?;
                        map.insert(key, value);
                    }
                }
                Value::Object(map)
            }
            (7, Field::Bytes(bytes)) => Value::String(hex(bytes)),
            _ => continue,
        };
    }
    Ok(value)
}

// -------------------------------------------------------------------- JSON

/// Decodes an `ExportTraceServiceRequest` in OTLP's JSON mapping (lower
/// camel case field names, as OTLP/HTTP sends them; the protobuf names are
/// read too), ids in hex, 64-bit integers as strings or numbers.
pub fn decode_json(body: &[u8]) -> Result<Vec<Span>, DecodeError> {
    let values = json_values(body);
    if values > MAX_JSON_VALUES {
        return Err(DecodeError::TooLarge(format!(
            "the export holds about {values} JSON values; the limit is {MAX_JSON_VALUES}: \
             send it in smaller batches"
        )));
    }
    let root: Value =
        serde_json::from_slice(body).or_else(|err| fail(format!("the body is not JSON: {err}")))?;
    let mut spans = Vec::new();
    let tally = &mut Tally::default();
    for resource in list(&root, "resourceSpans", "resource_spans")? {
        for scope in list(resource, "scopeSpans", "scope_spans")? {
            for span in list(scope, "spans", "spans")? {
                tally.span()?;
                spans.push(json_span(span)?);
            }
        }
    }
    Ok(spans)
}

/// An upper bound of the values in a JSON text, read without building
/// any: one, plus one per `{`, `[` and `,` outside strings.
fn json_values(body: &[u8]) -> usize {
    let (mut count, mut in_string, mut escaped) = (1usize, false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' | b',' => count += 1,
                _ => {}
            }
        }
    }
    count
}

fn member<'v>(value: &'v Value, camel: &str, snake: &str) -> Option<&'v Value> {
    value
        .get(camel)
        .or_else(|| value.get(snake))
        .filter(|v| !v.is_null())
}

fn list<'v>(value: &'v Value, camel: &str, snake: &str) -> Result<&'v [Value], DecodeError> {
    if !value.is_object() {
        return fail(format!("expected an object holding `{camel}`"));
    }
    match member(value, camel, snake) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => fail(format!("`{camel}` is not a list")),
    }
}

fn json_str(value: &Value, camel: &str, snake: &str) -> Result<String, DecodeError> {
    match member(value, camel, snake) {
        None => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => fail(format!("`{camel}` is not a string")),
    }
}

fn json_u64(value: &Value, camel: &str, snake: &str) -> Result<u64, DecodeError> {
    match member(value, camel, snake) {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .map_or_else(|| fail(format!("`{camel}` is not a whole number")), Ok),
        Some(Value::String(text)) => text
            .parse()
            .or_else(|_| fail(format!("`{camel}` is not a whole number: {text:?}"))),
        Some(_) => fail(format!("`{camel}` is not a number")),
    }
}

fn json_id(value: &Value, camel: &str, snake: &str, len: usize) -> Result<String, DecodeError> {
    let id = json_str(value, camel, snake)?.to_ascii_lowercase();
    if !id.is_empty() && (id.len() != len || !id.bytes().all(|b| b.is_ascii_hexdigit())) {
        return fail(format!("`{camel}` is not {len} hex digits: {id:?}"));
    }
    Ok(id)
}

fn json_span(value: &Value) -> Result<Span, DecodeError> {
    let status = member(value, "status", "status");
    Ok(Span {
        trace_id: json_id(value, "traceId", "trace_id", 32)?,
        span_id: json_id(value, "spanId", "span_id", 16)?,
        parent_span_id: json_id(value, "parentSpanId", "parent_span_id", 16)?,
        name: json_str(value, "name", "name")?,
        start_ns: json_u64(value, "startTimeUnixNano", "start_time_unix_nano")?,
        end_ns: json_u64(value, "endTimeUnixNano", "end_time_unix_nano")?,
        attributes: json_attributes(value, 0)?,
        events: list(value, "events", "events")?
            .iter()
            .map(|event| Ok((json_str(event, "name", "name")?, json_attributes(event, 0)?)))
            .collect::<Result<_, DecodeError>>()?,
        status_code: match status {
            Some(status) => match member(status, "code", "code") {
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                Some(Value::String(s)) if s.ends_with("ERROR") => 2,
                Some(Value::String(s)) if s.ends_with("OK") => 1,
                _ => 0,
            },
            None => 0,
        },
        status_message: match status {
            Some(status) => json_str(status, "message", "message")?,
            None => String::new(),
        },
    })
}

fn json_attributes(value: &Value, depth: usize) -> Result<Vec<(String, Value)>, DecodeError> {
    list(value, "attributes", "attributes")?
        .iter()
        .map(|kv| json_key_value(kv, depth))
        .collect()
}

fn json_key_value(kv: &Value, depth: usize) -> Result<(String, Value), DecodeError> {
    let key = json_str(kv, "key", "key")?;
    let value = match member(kv, "value", "value") {
        Some(value) => json_any_value(value, depth)?,
        None => Value::Null,
    };
    Ok((key, value))
}

fn json_any_value(value: &Value, depth: usize) -> Result<Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return fail(format!(
            "an attribute value nests deeper than {MAX_DEPTH} levels"
        ));
    }
    let Value::Object(fields) = value else {
        return fail("an attribute value is not an object such as {\"stringValue\": ...}");
    };
    let Some((kind, inner)) = fields.iter().find(|(_, v)| !v.is_null()) else {
        return Ok(Value::Null);
    };
    Ok(match kind.as_str() {
        "stringValue" | "string_value" | "bytesValue" | "bytes_value" => match inner {
            Value::String(_) => inner.clone(),
            _ => return fail(format!("`{kind}` is not a string")),
        },
        "boolValue" | "bool_value" => match inner {
            Value::Bool(_) => inner.clone(),
            _ => return fail("`boolValue` is not a boolean"),
        },
        "intValue" | "int_value" => match inner {
            Value::Number(n) if n.is_i64() || n.is_u64() => inner.clone(),
            Value::String(text) => Value::from(
                text.parse::<i64>()
                    .or_else(|_| fail(format!("`intValue` is not an integer: {text:?}")))?,
            ),
            _ => return fail("`intValue` is not an integer"),
        },
        "doubleValue" | "double_value" => match inner {
            Value::Number(_) => inner.clone(),
            Value::String(text) => Value::String(text.clone()),
            _ => return fail("`doubleValue` is not a number"),
        },
        "arrayValue" | "array_value" => Value::Array(
            list(inner, "values", "values")?
                .iter()
                .map(|item| json_any_value(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        "kvlistValue" | "kvlist_value" => Value::Object(
            list(inner, "values", "values")?
                .iter()
                .map(|kv| json_key_value(kv, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        other => return fail(format!("unknown attribute value kind `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn bytes_field(number: u64, data: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    #[test]
    fn protobuf_spans_decode_and_bad_input_is_refused() {
        let mut any = Vec::new();
        bytes_field(1, b"qa", &mut any);
        let mut kv = Vec::new();
        bytes_field(1, b"dataset_name", &mut kv);
        bytes_field(2, &any, &mut kv);
        let mut span = Vec::new();
        bytes_field(1, &[0xab; 16], &mut span);
        bytes_field(2, &[0x01; 8], &mut span);
        bytes_field(5, b"evaluate {name}", &mut span);
        span.push(7 << 3 | 1);
        span.extend_from_slice(&5u64.to_le_bytes());
        bytes_field(9, &kv, &mut span);
        let mut scope = Vec::new();
        bytes_field(2, &span, &mut scope);
        let mut resource = Vec::new();
        bytes_field(2, &scope, &mut resource);
        let mut body = Vec::new();
        bytes_field(1, &resource, &mut body);
        let spans = decode_protobuf(&body).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].trace_id, "ab".repeat(16));
        assert_eq!(spans[0].span_id, "01".repeat(8));
        assert_eq!(spans[0].start_ns, 5);
        assert_eq!(spans[0].attribute("dataset_name"), Some(&Value::from("qa")));
        // Truncated anywhere: an error, never a panic.
        for end in 1..body.len() {
            let _ = decode_protobuf(&body[..end]);
        }
        assert!(decode_protobuf(&body[..body.len() - 1]).is_err());
        assert!(decode_protobuf(&[0x0b]).is_err(), "group wire type");
        // Nesting past the limit.
        let mut nested = Vec::new();
        bytes_field(1, b"x", &mut nested);
        for _ in 0..40 {
            let mut array = Vec::new();
            bytes_field(1, &nested, &mut array);
            nested.clear();
            bytes_field(5, &array, &mut nested);
        }
        assert!(
            decode_any_value(&nested, 0, &mut Tally::default())
                .unwrap_err()
                .to_string()
                .contains("deeper")
        );
    }

    #[test]
    fn json_spans_decode() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
            "traceId":"AB000000000000000000000000000001","spanId":"0000000000000002",
            "name":"case: {case_name}","startTimeUnixNano":"10","endTimeUnixNano":20,
            "attributes":[{"key":"n","value":{"intValue":"3"}},
                          {"key":"l","value":{"arrayValue":{"values":[{"boolValue":true}]}}}],
            "events":[{"name":"exception","attributes":[{"key":"exception.message","value":{"stringValue":"bad"}}]}],
            "status":{"code":2}}]}]}]}"#;
        let spans = decode_json(body).unwrap();
        assert_eq!(spans[0].trace_id, "ab000000000000000000000000000001");
        assert_eq!((spans[0].start_ns, spans[0].end_ns), (10, 20));
        assert_eq!(spans[0].attribute("n"), Some(&Value::from(3)));
        assert_eq!(spans[0].attribute("l"), Some(&serde_json::json!([true])));
        assert_eq!(spans[0].status_code, 2);
        assert_eq!(spans[0].events[0].0, "exception");
        assert!(decode_json(br#"{"resourceSpans":{}}"#).is_err());
        assert!(
            decode_json(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#)
                .is_err()
        );
    }
}
