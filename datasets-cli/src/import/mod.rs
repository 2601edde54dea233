//! `datasets import NAME FILE`: cases from a file, streamed in chunks, each
//! chunk one request and so written whole or not at all.
//!
//! A row the server refuses is reported with its line. Without
//! `--skip-invalid`, nothing after its chunk is sent and the command says
//! how many rows landed; with it, refused rows go to the rejects file and
//! the rest of their chunk is sent again.

mod progress;
mod read;
mod rejects;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use datasets_core::Error;
use datasets_core::blocking::DatasetsClient;
use datasets_core::wire::{LocSegment, NewCase, OnConflict};
use serde_json::Value;

use crate::cli::{FileFormat, ImportArgs, OnConflict as ConflictFlag};
use crate::fail::{Failure, Outcome, issue_of, issue_text};
use crate::mapping::KeyMap;
use progress::Progress;
pub(crate) use progress::thousands;
use read::{Kind, Message, Row, Source, Where};
use rejects::Rejects;

/// The most bytes of case JSON in one request: half the client's request
/// budget, so it never has to cut a chunk in two.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Refused rows printed one by one; the rest are counted.
const SHOWN_REJECTS: usize = 20;

pub(crate) fn run(client: &DatasetsClient, args: &ImportArgs) -> Outcome {
    let stdin = args.file.as_os_str() == "-";
    let kind = kind_of(args.format, &args.file, stdin)?;
    // Its schemas type CSV cells; and a missing dataset fails before reading.
    let dataset = client.get_dataset(&args.name).send()?;
    let (input, total): (Box<dyn std::io::Read + Send>, _) = if stdin {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = std::fs::File::open(&args.file).map_err(|err| {
            Failure::failed(format!("cannot open {}: {err}", args.file.display()))
        })?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    // The mapping flags are checked before anything is read.
    let keys = match kind {
        Kind::Yaml if args.columns.any() => {
            return Err(Failure::usage(
                "the mapping flags apply to CSV, JSONL and JSON arrays of objects; a YAML file is \
                 a pydantic-evals dataset, whose cases name their parts",
            ));
        }
        Kind::Jsonl | Kind::Json => KeyMap::new(&args.columns, &dataset)?,
        Kind::Csv | Kind::Yaml => None,
    };
    let read = Arc::new(AtomicU64::new(0));
    let messages = read::spawn(
        Source {
            kind,
            input,
            tags: args.tags.clone(),
            chunk_rows: args.chunk_size as usize,
            chunk_bytes: CHUNK_BYTES,
            max_row_bytes: args.max_row_bytes,
            dataset,
            columns: args.columns.clone(),
            keys,
        },
        Arc::clone(&read),
    );
    let mut import = Import {
        client,
        dataset: &args.name,
        on_conflict: match args.on_conflict {
            ConflictFlag::Error => OnConflict::Error,
            ConflictFlag::Update => OnConflict::Update,
        },
        rejects: args
            .skip_invalid
            .then(|| Rejects::new(&args.name, (!stdin).then_some(args.file.as_path()), kind)),
        landed: 0,
        last_landed: None,
        refused: 0,
        names: HashMap::new(),
        progress: Progress::new(args.quiet, total, read),
    };
    let result = messages.into_iter().try_for_each(|message| match message {
        Message::Header(header) => {
            if let Some(rejects) = &mut import.rejects {
                rejects.header(header);
            }
            Ok(())
        }
        Message::Chunk(rows) => import.chunk(rows),
        // A file whose header cannot be mapped: nothing was read.
        Message::Fatal(failure) if failure.code == crate::fail::USAGE => Err(failure),
        // A file that cannot be read further: named, with its line in the message.
        Message::Fatal(failure) => {
            let file = if stdin {
                "stdin".to_owned()
            } else {
                args.file.display().to_string()
            };
            Err(import.stopped(failure.context(file), None))
        }
    });
    import.progress.finish();
    let rejected = match import.rejects.take() {
        Some(rejects) => rejects.finish()?,
        None => None,
    };
    if let Some((path, count)) = &rejected {
        eprintln!(
            "{} refused row(s) written to {}",
            thousands(*count as u64),
            path.display()
        );
    }
    result?;
    let seconds = import.progress.elapsed().as_secs_f64();
    println!(
        "imported {} case(s) into {} in {seconds:.1}s ({} rows/s)",
        thousands(import.landed),
        args.name,
        thousands((import.landed as f64 / seconds.max(1e-3)) as u64),
    );
    Ok(())
}

/// The file's kind: `--format`, else its extension (`.json` is told apart
/// by its first byte later).
fn kind_of(format: Option<FileFormat>, path: &Path, stdin: bool) -> Outcome<Kind> {
    if let Some(format) = format {
        return Ok(match format {
            FileFormat::Jsonl => Kind::Jsonl,
            FileFormat::Json => Kind::Json,
            FileFormat::Csv => Kind::Csv,
            FileFormat::Yaml => Kind::Yaml,
        });
    }
    if stdin {
        return Err(Failure::usage("reading stdin (-) needs --format"));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jsonl" | "ndjson") => Ok(Kind::Jsonl),
        Some("json") => Ok(Kind::Json),
        Some("csv") => Ok(Kind::Csv),
        Some("yaml" | "yml") => Ok(Kind::Yaml),
        _ => Err(Failure::usage(format!(
            "cannot tell the format of {} from its extension: use .jsonl, .json, .csv, .yaml \
             or .yml, or pass --format",
            path.display()
        ))),
    }
}

struct Import<'a> {
    client: &'a DatasetsClient,
    dataset: &'a str,
    on_conflict: OnConflict,
    rejects: Option<Rejects>,
    /// Rows written so far.
    landed: u64,
    /// Where the last written row is.
    last_landed: Option<Where>,
    /// Rows refused so far (with `--skip-invalid`).
    refused: usize,
    /// The names of the file's rows so far, with where each first was.
    names: HashMap<Box<str>, Where>,
    progress: Progress,
}

impl Import<'_> {
    /// Sends one chunk; with `--skip-invalid`, refused rows go to the
    /// rejects file (in file order) and the rest is sent again.
    fn chunk(&mut self, rows: Vec<Row>) -> Outcome {
        // Rows that made no case at all, and rows whose name an earlier row
        // of the file has: the later one is refused, as pydantic-evals
        // refuses a file with two cases of one name, whatever `--on-conflict`.
        let mut unreadable: BTreeMap<usize, String> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            match &row.case {
                Err(why) => {
                    unreadable.insert(i, why.clone());
                }
                Ok(NewCase {
                    name: Some(name), ..
                }) => {
                    if let Some(first) = self.names.get(name.as_str()) {
                        unreadable.insert(
                            i,
                            format!("name: the name {name:?} is already the name of {first}"),
                        );
                    } else {
                        self.names.insert(name.as_str().into(), row.at);
                    }
                }
                Ok(_) => {}
            }
        }
        let mut rows: Vec<(usize, Row)> = rows.into_iter().enumerate().collect();
        let mut refused = Vec::new();
        if !unreadable.is_empty() {
            rows = self.refuse(rows, &unreadable, &mut refused)?;
        }
        while !rows.is_empty() {
            // To name the row of a taken name after the cases have gone.
            let names: Vec<Option<String>> = rows
                .iter()
                .map(|(_, row)| row.case.as_ref().ok().and_then(|case| case.name.clone()))
                .collect();
            // Kept for a resend only when refused rows may be taken out;
            // otherwise a refusal ends the import.
            let cases: Vec<NewCase> = if self.rejects.is_some() {
                rows.iter()
                    .filter_map(|(_, row)| row.case.as_ref().ok().cloned())
                    .collect()
            } else {
                rows.iter_mut()
                    .filter_map(|(_, row)| {
                        std::mem::replace(&mut row.case, Err(String::new())).ok()
                    })
                    .collect()
            };
            match self
                .client
                .import_cases(self.dataset, cases)
                .on_conflict(self.on_conflict)
                .send()
            {
                Ok(written) => {
                    self.landed += written.len() as u64;
                    self.last_landed = rows.last().map(|(_, row)| row.at);
                    break;
                }
                Err(Error::Api {
                    status: 422,
                    detail,
                }) => {
                    let named = refused_rows(&detail, rows.len());
                    if named.is_empty() {
                        let err = Error::Api {
                            status: 422,
                            detail,
                        };
                        return Err(self.stopped(Failure::from(err), Some(&rows)));
                    }
                    rows = self.refuse(rows, &named, &mut refused)?;
                }
                Err(err @ Error::Api { status: 409, .. })
                    if self.on_conflict == OnConflict::Error =>
                {
                    // The row whose name is taken, refused like any other.
                    let message = err.to_string();
                    let taken = names.iter().enumerate().find_map(|(position, name)| {
                        name.as_ref()
                            .filter(|name| message.contains(&format!("{name:?} already exists")))
                            .map(|name| (position, name))
                    });
                    if let Some((position, name)) = taken {
                        let why = format!(
                            "name: a case named {name:?} already exists in this dataset (pass \
                             --on-conflict update to update such cases)"
                        );
                        rows =
                            self.refuse(rows, &BTreeMap::from([(position, why)]), &mut refused)?;
                        continue;
                    }
                    let failure = Failure::from(err).context(
                        "a case's name is taken (pass --on-conflict update to update such cases)",
                    );
                    return Err(self.stopped(failure, Some(&rows)));
                }
                Err(err) => return Err(self.stopped(Failure::from(err), Some(&rows))),
            }
        }
        refused.sort_by_key(|(index, _, _)| *index);
        for (_, row, why) in refused {
            self.reject(&row, &why)?;
        }
        self.progress.update(self.landed);
        Ok(())
    }

    /// Moves the rows `named` (by position in `rows`) into `refused`;
    /// without a rejects file, stops instead.
    fn refuse(
        &mut self,
        rows: Vec<(usize, Row)>,
        named: &BTreeMap<usize, String>,
        refused: &mut Vec<(usize, Row, String)>,
    ) -> Outcome<Vec<(usize, Row)>> {
        if self.rejects.is_none() {
            let (&first, why) = named.iter().next().expect("some row was refused");
            let mut failure = Failure::failed(format!("{}: {why}", rows[first].1.at));
            if named.len() > 1 {
                failure.message.push_str(&format!(
                    " (and {} more row(s) of its chunk)",
                    named.len() - 1
                ));
            }
            return Err(self.stopped(failure, Some(&rows)));
        }
        let mut kept = Vec::with_capacity(rows.len());
        for (position, (index, row)) in rows.into_iter().enumerate() {
            match named.get(&position) {
                Some(why) => refused.push((index, row, why.clone())),
                None => kept.push((index, row)),
            }
        }
        Ok(kept)
    }

    /// Writes a refused row to the rejects file and says why.
    fn reject(&mut self, row: &Row, why: &str) -> Outcome {
        self.refused += 1;
        if self.refused <= SHOWN_REJECTS {
            self.progress.finish();
            eprintln!("{}: refused: {why}", row.at);
        } else if self.refused == SHOWN_REJECTS + 1 {
            eprintln!("(further refused rows are not shown; all are in the rejects file)");
        }
        self.rejects
            .as_mut()
            .expect("only with a rejects file")
            .add(&row.raw)
    }

    /// The failure, with a second line saying exactly what landed.
    fn stopped(&mut self, failure: Failure, chunk: Option<&[(usize, Row)]>) -> Failure {
        self.progress.finish();
        // A file that could not be read at all: nothing to account for.
        if chunk.is_none() && self.last_landed.is_none() {
            return failure;
        }
        let landed = match self.last_landed {
            Some(at) => format!(
                "{} row(s) were imported, up to {at}",
                thousands(self.landed)
            ),
            None => "no row was imported".to_owned(),
        };
        let sent = match chunk.and_then(|rows| Some((&rows.first()?.1, &rows.last()?.1))) {
            Some((first, last)) => {
                format!(
                    "; the chunk of {} to {} was not, nor anything after it",
                    first.at, last.at
                )
            }
            None => "; nothing after that was sent".to_owned(),
        };
        Failure {
            code: failure.code,
            message: format!("{}\n{landed}{sent}", failure.message),
        }
    }
}

/// The rows a 422 names (`["body", "cases", i, ...]`), with what is wrong
/// with each.
fn refused_rows(detail: &Value, rows: usize) -> BTreeMap<usize, String> {
    let mut refused: BTreeMap<usize, String> = BTreeMap::new();
    for issue in detail.as_array().into_iter().flatten().filter_map(issue_of) {
        let index = match issue.loc.as_slice() {
            [
                LocSegment::Key(body),
                LocSegment::Key(cases),
                LocSegment::Index(index),
                ..,
            ] if body == "body" && cases == "cases" => *index as usize,
            _ => continue,
        };
        if index >= rows {
            continue;
        }
        let text = issue_text(&issue, 3);
        refused
            .entry(index)
            .and_modify(|all| {
                all.push_str("; ");
                all.push_str(&text);
            })
            .or_insert(text);
    }
    refused
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refused_rows_are_read_from_the_issues() {
        let detail = json!([
            {"loc": ["body", "cases", 2, "inputs", "question"], "msg": "3 is not of type \"string\"", "type": "schema"},
            {"loc": ["body", "cases", 2, "inputs"], "msg": "\"context\" is a required property", "type": "schema"},
            {"loc": ["body", "cases", 0, "name"], "msg": "too long", "type": "value_error"},
            {"loc": ["body", "cases", 9], "msg": "outside the chunk", "type": "x"},
            {"loc": ["query", "on_conflict"], "msg": "bad", "type": "x"},
        ]);
        let refused = refused_rows(&detail, 5);
        assert_eq!(refused.len(), 2);
        assert_eq!(
            refused[&2],
            "inputs.question: 3 is not of type \"string\"; inputs: \"context\" is a required property"
        );
        assert_eq!(refused[&0], "name: too long");
    }
}
