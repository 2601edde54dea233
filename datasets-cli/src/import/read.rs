//! Reading an import file on its own thread, a chunk of cases at a time,
//! so that a file of any size is never held whole and the next chunk is
//! parsed while the last one is sent.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use datasets_core::eval::{Dataset, Format};
use datasets_core::wire::{DatasetDetail, NewCase};
use serde::de::{SeqAccess, Visitor};
use serde_json::Value;

use crate::cli::ColumnArgs;
use crate::columns::Plan;
use crate::fail::Failure;
use crate::mapping::{KeyMap, json_kind};

/// What an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One case per line.
    Jsonl,
    /// `.json`: an array of cases, or a pydantic-evals file (told by its first byte).
    Json,
    /// A pydantic-evals YAML file.
    Yaml,
    /// A header row, then one case per row.
    Csv,
}

/// Where a row is in its file, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Where {
    /// Its (first) line, from 1.
    Line(u64),
    /// Its index in a JSON array, from 0.
    Element(usize),
    /// Its index in a pydantic-evals file's `cases`, from 0.
    Case(usize),
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Where::Line(line) => write!(f, "line {line}"),
            Where::Element(index) => write!(f, "element [{index}]"),
            Where::Case(index) => write!(f, "cases[{index}]"),
        }
    }
}

/// A row as it was in the file, to write it to the rejects file unchanged.
#[derive(Debug, Clone)]
pub(crate) enum Raw {
    /// A JSONL line or a JSON array element.
    Text(String),
    /// A CSV record.
    Record(csv::ByteRecord),
    /// A case of a pydantic-evals file.
    Case(Box<NewCase>),
}

/// One row: where it is, the case it makes (or why it makes none), and
/// its text.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) at: Where,
    pub(crate) case: Result<NewCase, String>,
    pub(crate) raw: Raw,
}

/// What the reading thread sends.
#[derive(Debug)]
pub(crate) enum Message {
    /// A CSV file's header row (before any chunk).
    Header(csv::ByteRecord),
    /// The next rows, in file order.
    Chunk(Vec<Row>),
    /// The file cannot be read further.
    Fatal(Failure),
}

/// What the reading thread needs.
pub(crate) struct Source {
    pub(crate) kind: Kind,
    pub(crate) input: Box<dyn Read + Send>,
    /// Added to every case's tags.
    pub(crate) tags: Vec<String>,
    pub(crate) chunk_rows: usize,
    /// The most bytes of case JSON in one chunk.
    pub(crate) chunk_bytes: usize,
    /// The most bytes of case JSON in one row; a larger row is refused.
    pub(crate) max_row_bytes: usize,
    pub(crate) dataset: DatasetDetail,
    pub(crate) columns: ColumnArgs,
    /// The mapping flags on JSON rows (JSONL, a JSON array).
    pub(crate) keys: Option<KeyMap>,
}

/// Bytes read so far, shared with the progress line.
pub(crate) type Counter = Arc<AtomicU64>;

/// Reads `source` on a new thread; at most two chunks wait unsent.
pub(crate) fn spawn(source: Source, counter: Counter) -> Receiver<Message> {
    let (tx, rx) = sync_channel(2);
    std::thread::spawn(move || {
        let Source {
            kind,
            input,
            tags,
            chunk_rows,
            chunk_bytes,
            max_row_bytes,
            dataset,
            columns,
            keys,
        } = source;
        let rows = Rows {
            tags: &tags,
            keys: keys.as_ref(),
        };
        let mut batch = Batch {
            tx,
            rows: Vec::new(),
            bytes: 0,
            max_rows: chunk_rows,
            max_bytes: chunk_bytes,
            max_row: max_row_bytes,
        };
        let input = BufReader::with_capacity(
            256 * 1024,
            Counting {
                inner: input,
                counter,
            },
        );
        let result = match kind {
            Kind::Jsonl => read_jsonl(input, rows, &mut batch),
            Kind::Json => read_json(input, rows, &mut batch),
            Kind::Yaml => read_evals(input, Format::Yaml, &tags, &mut batch),
            Kind::Csv => read_csv(
                input,
                |header| Plan::new(header, &columns, &dataset),
                &tags,
                &mut batch,
            ),
        };
        match result {
            Ok(()) => {
                batch.flush();
            }
            Err(failure) => {
                // The rows before the failure in this chunk are not sent:
                // nothing past a chunk that cannot be read whole.
                let _ = batch.tx.send(Message::Fatal(failure));
            }
        }
    });
    rx
}

/// A reader that counts the bytes it reads.
struct Counting {
    inner: Box<dyn Read + Send>,
    counter: Counter,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Rows gathered into chunks of at most `max_rows` rows and `max_bytes`.
struct Batch {
    tx: SyncSender<Message>,
    rows: Vec<Row>,
    bytes: usize,
    max_rows: usize,
    max_bytes: usize,
    max_row: usize,
}

/// The reader stops: the sending side has gone.
struct Gone;

impl Batch {
    /// Why a row of `bytes` is not sent, when it is too large.
    fn too_large(&self, bytes: usize) -> Option<String> {
        (bytes > self.max_row).then(|| {
            format!(
                "the row is {} bytes, over the {} a request carries here (--max-row-bytes)",
                crate::import::thousands(bytes as u64),
                crate::import::thousands(self.max_row as u64)
            )
        })
    }

    fn push(&mut self, mut row: Row, bytes: usize) -> Result<(), Gone> {
        if row.case.is_ok()
            && let Some(why) = self.too_large(bytes)
        {
            row.case = Err(why);
        }
        if !self.rows.is_empty() && self.bytes + bytes > self.max_bytes {
            self.flush().then_some(()).ok_or(Gone)?;
        }
        self.rows.push(row);
        self.bytes += bytes;
        if self.rows.len() >= self.max_rows {
            self.flush().then_some(()).ok_or(Gone)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> bool {
        self.bytes = 0;
        if self.rows.is_empty() {
            return true;
        }
        self.tx
            .send(Message::Chunk(std::mem::take(&mut self.rows)))
            .is_ok()
    }
}

/// Fields of a case that an import takes, and those of a listed case it
/// ignores (so `datasets cases --jsonl` output imports as it is).
const CASE_FIELDS: &[&str] = &[
    "name",
    "inputs",
    "expected_output",
    "metadata",
    "evaluators",
    "tags",
    "source_trace_id",
    "source_span_id",
];
const LISTED_FIELDS: &[&str] = &[
    "id",
    "dataset_id",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
];

/// How a JSON row becomes a case: as a case's own JSON, or under the
/// mapping flags; `tags` are added to its own.
#[derive(Clone, Copy)]
struct Rows<'a> {
    tags: &'a [String],
    keys: Option<&'a KeyMap>,
}

impl Rows<'_> {
    fn case(&self, value: Value) -> Result<NewCase, String> {
        match self.keys {
            Some(keys) => keys.case(&value, self.tags),
            None => case_of(value, self.tags),
        }
    }
}

/// A case from its JSON, with `tags` added; or why it is not one.
fn case_of(value: Value, tags: &[String]) -> Result<NewCase, String> {
    let Value::Object(mut object) = value else {
        return Err(format!(
            "a case is a JSON object with \"inputs\", not {}",
            json_kind(&value)
        ));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !CASE_FIELDS.contains(&k.as_str()) && !LISTED_FIELDS.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown field {key:?}: a case has {}",
            CASE_FIELDS.join(", ")
        ));
    }
    object.retain(|k, _| CASE_FIELDS.contains(&k.as_str()));
    let mut case: NewCase =
        serde_json::from_value(Value::Object(object)).map_err(|err| err.to_string())?;
    if !tags.is_empty() {
        let own = case.tags.get_or_insert_with(Vec::new);
        for tag in tags {
            if !own.contains(tag) {
                own.push(tag.clone());
            }
        }
    }
    Ok(case)
}

fn io_failure(err: std::io::Error) -> Failure {
    Failure::failed(format!("cannot read the file: {err}"))
}

fn read_jsonl(mut input: impl BufRead, rows: Rows<'_>, batch: &mut Batch) -> Result<(), Failure> {
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .map_err(|err| io_failure(err).context(format!("line {}", number + 1)))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let mut text = line.trim_end_matches(['\n', '\r']);
        if number == 1 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.trim().is_empty() {
            continue;
        }
        // Not even parsed when too large to send.
        let case = match batch.too_large(text.len()) {
            Some(why) => Err(why),
            None => parse_row(text).and_then(|value| rows.case(value)),
        };
        let row = Row {
            at: Where::Line(number),
            case,
            raw: Raw::Text(text.to_owned()),
        };
        if batch.push(row, text.len()).is_err() {
            return Ok(());
        }
    }
}

/// A row's JSON; an error for text that is not JSON and for what the
/// server would refuse in it (a number no 64-bit integer or float holds
/// as written, a key twice in one object), named by its path in the row.
fn parse_row(text: &str) -> Result<Value, String> {
    if let Err(problem) = datasets_core::json_guard::check(text.as_bytes()) {
        let path: Vec<String> = problem.path.iter().map(ToString::to_string).collect();
        return Err(if path.is_empty() {
            problem.message
        } else {
            format!("{}: {}", path.join("."), problem.message)
        });
    }
    serde_json::from_str::<Value>(text).map_err(|err| format!("not JSON: {err}"))
}

/// A `.json` file: an array streamed element by element, or a
/// pydantic-evals file (an object) read whole.
fn read_json(mut input: impl BufRead, rows: Rows<'_>, batch: &mut Batch) -> Result<(), Failure> {
    let first = loop {
        let buffer = input.fill_buf().map_err(io_failure)?;
        let Some(&byte) = buffer.first() else {
            return Err(Failure::failed("the file is empty"));
        };
        if byte.is_ascii_whitespace() {
            input.consume(1);
        } else if buffer.starts_with("\u{feff}".as_bytes()) {
            input.consume(3);
        } else {
            break byte;
        }
    };
    match first {
        b'{' if rows.keys.is_some() => Err(Failure::usage(
            "the mapping flags apply to CSV, JSONL and JSON arrays of objects; this .json file is \
             a pydantic-evals dataset (an object with \"cases\"), whose cases name their parts",
        )),
        b'{' => read_evals(input, Format::Json, rows.tags, batch),
        b'[' => {
            let mut reader = serde_json::Deserializer::from_reader(input);
            let mut gone = false;
            let visitor = Elements {
                rows,
                batch,
                index: 0,
                gone: &mut gone,
            };
            match serde::Deserializer::deserialize_seq(&mut reader, visitor) {
                Ok(()) => reader.end().map_err(|err| json_failure(&err)),
                Err(_) if gone => Ok(()),
                Err(err) => Err(json_failure(&err)),
            }
        }
        _ => Err(Failure::failed(
            "a .json file holds an array of cases or a pydantic-evals dataset (an object with \
             \"cases\")",
        )),
    }
}

fn json_failure(err: &serde_json::Error) -> Failure {
    Failure::failed(format!(
        "not valid JSON at line {}, column {}: {err}",
        err.line(),
        err.column()
    ))
}

/// Visits a JSON array's elements one at a time.
struct Elements<'a> {
    rows: Rows<'a>,
    batch: &'a mut Batch,
    index: usize,
    /// Set when the sending side has gone.
    gone: &'a mut bool,
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of cases")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
            let text = raw.get().to_owned();
            let row = Row {
                at: Where::Element(self.index),
                case: match self.batch.too_large(text.len()) {
                    Some(why) => Err(why),
                    None => parse_row(&text).and_then(|value| self.rows.case(value)),
                },
                raw: Raw::Text(text.clone()),
            };
            self.index += 1;
            if self.batch.push(row, text.len()).is_err() {
                *self.gone = true;
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// A pydantic-evals file, read whole (they are written by hand, and small).
fn read_evals(
    mut input: impl BufRead,
    format: Format,
    tags: &[String],
    batch: &mut Batch,
) -> Result<(), Failure> {
    let mut text = String::new();
    input.read_to_string(&mut text).map_err(io_failure)?;
    if format == Format::Json
        && let Err(problem) = datasets_core::json_guard::check_numbers(text.as_bytes())
    {
        let path: Vec<String> = problem.path.iter().map(ToString::to_string).collect();
        return Err(Failure::failed(format!(
            "{}: {}",
            path.join("."),
            problem.message
        )));
    }
    let dataset = Dataset::<Value, Value, Value>::from_text(&text, format)
        .map_err(|err| Failure::failed(crate::fail::describe(&err)))?;
    for (index, case) in dataset.cases.iter().enumerate() {
        let case = case.to_new_case().map_err(Failure::from)?;
        let raw = Raw::Case(Box::new(case.clone()));
        let case = case_of(
            serde_json::to_value(&case).map_err(std::io::Error::from)?,
            tags,
        );
        let bytes = case
            .as_ref()
            .map_or(0, |c| serde_json::to_vec(c).map_or(0, |v| v.len()));
        if batch
            .push(
                Row {
                    at: Where::Case(index),
                    case,
                    raw,
                },
                bytes,
            )
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

fn read_csv(
    input: impl BufRead,
    plan: impl FnOnce(&[String]) -> Result<Plan, Failure>,
    tags: &[String],
    batch: &mut Batch,
) -> Result<(), Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let csv_failure = |err: csv::Error| Failure::failed(format!("cannot read the CSV file: {err}"));
    if !reader.read_byte_record(&mut record).map_err(csv_failure)? {
        return Err(Failure::failed(
            "the CSV file is empty: it needs a header row",
        ));
    }
    let mut header = Vec::with_capacity(record.len());
    for (index, field) in record.iter().enumerate() {
        let mut text = std::str::from_utf8(field).map_err(|_| {
            Failure::failed(format!("line 1: header column {} is not UTF-8", index + 1))
        })?;
        if index == 0 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        header.push(text.trim().to_owned());
    }
    let plan = plan(&header)?;
    if batch.tx.send(Message::Header(record.clone())).is_err() {
        return Ok(());
    }
    loop {
        if !reader.read_byte_record(&mut record).map_err(csv_failure)? {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
        let case = row_case(&plan, &record, tags);
        let bytes = case
            .as_ref()
            .map_or(0, |c| serde_json::to_vec(c).map_or(0, |v| v.len()));
        let row = Row {
            at: Where::Line(line),
            case,
            raw: Raw::Record(record.clone()),
        };
        if batch.push(row, bytes).is_err() {
            return Ok(());
        }
    }
}

fn row_case(plan: &Plan, record: &csv::ByteRecord, tags: &[String]) -> Result<NewCase, String> {
    if record.len() != plan.width {
        return Err(format!(
            "the row has {} field(s), the header {}",
            record.len(),
            plan.width
        ));
    }
    let mut cells = Vec::with_capacity(record.len());
    for (index, field) in record.iter().enumerate() {
        cells.push(
            std::str::from_utf8(field).map_err(|_| format!("column {} is not UTF-8", index + 1))?,
        );
    }
    plan.case(&cells, tags)
}
