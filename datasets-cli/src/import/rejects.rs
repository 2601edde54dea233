//! The rejects file of `import --skip-invalid`: the refused rows, as they
//! were, in the input's format, beside the input (`NAME.rejects.EXT`), so
//! they can be fixed and imported again.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use datasets_core::Case;
use datasets_core::eval::{Dataset, FileOptions, Format};
use datasets_core::wire::NewCase;

use super::read::{Kind, Raw};
use crate::fail::{Failure, Outcome};

/// Where the refused rows go; created with the first one.
pub(crate) struct Rejects {
    path: PathBuf,
    kind: Kind,
    header: Option<csv::ByteRecord>,
    out: Option<Output>,
    /// Cases of a pydantic-evals file, written as one at the end.
    cases: Vec<NewCase>,
    count: usize,
}

enum Output {
    Lines(BufWriter<File>),
    Array(BufWriter<File>),
    Csv(Box<csv::Writer<File>>),
}

impl Rejects {
    /// The rejects of an import into `dataset` from `input` (`None`:
    /// stdin): `<dataset>.rejects.<ext>` in the input's folder (for stdin,
    /// the working directory), `<ext>` the input's.
    pub(crate) fn new(dataset: &str, input: Option<&Path>, kind: Kind) -> Self {
        let extension = match kind {
            Kind::Jsonl => "jsonl",
            Kind::Json => "json",
            Kind::Yaml => "yaml",
            Kind::Csv => "csv",
        };
        let extension = input
            .and_then(Path::extension)
            .map_or_else(|| extension.into(), |e| e.to_string_lossy().into_owned());
        // A dataset given by id or name: both are safe file names.
        let name = format!("{dataset}.rejects.{extension}");
        let path = match input {
            Some(input) => input.with_file_name(name),
            None => PathBuf::from(name),
        };
        Self {
            path,
            kind,
            header: None,
            out: None,
            cases: Vec::new(),
            count: 0,
        }
    }

    /// A CSV file's header, written first.
    pub(crate) fn header(&mut self, header: csv::ByteRecord) {
        self.header = Some(header);
    }

    fn failure(&self, err: impl std::fmt::Display) -> Failure {
        Failure::failed(format!("cannot write {}: {err}", self.path.display()))
    }

    fn open(&mut self, raw: &Raw) -> Outcome<&mut Output> {
        if self.out.is_none() {
            let file = File::create(&self.path).map_err(|err| self.failure(err))?;
            let out = match raw {
                Raw::Record(_) => {
                    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(file);
                    if let Some(header) = &self.header {
                        writer
                            .write_byte_record(header)
                            .map_err(|err| self.failure(err))?;
                    }
                    Output::Csv(Box::new(writer))
                }
                Raw::Text(_) if self.kind == Kind::Json => {
                    let mut out = BufWriter::new(file);
                    out.write_all(b"[").map_err(|err| self.failure(err))?;
                    Output::Array(out)
                }
                Raw::Text(_) | Raw::Case(_) => Output::Lines(BufWriter::new(file)),
            };
            self.out = Some(out);
        }
        Ok(self.out.as_mut().expect("opened just above"))
    }

    /// Writes one refused row.
    pub(crate) fn add(&mut self, raw: &Raw) -> Outcome {
        let first = self.count == 0;
        self.count += 1;
        if let Raw::Case(case) = raw {
            self.cases.push((**case).clone());
            return Ok(());
        }
        let result = match (self.open(raw)?, raw) {
            (Output::Lines(out), Raw::Text(text)) => {
                writeln!(out, "{text}").map_err(|e| e.to_string())
            }
            (Output::Array(out), Raw::Text(text)) => {
                write!(out, "{}\n  {text}", if first { "" } else { "," }).map_err(|e| e.to_string())
            }
            (Output::Csv(out), Raw::Record(record)) => {
                out.write_byte_record(record).map_err(|e| e.to_string())
            }
            _ => Ok(()),
        };
        result.map_err(|err| self.failure(err))
    }

    /// Closes the file: its path and how many rows it holds, if any.
    pub(crate) fn finish(mut self) -> Outcome<Option<(PathBuf, usize)>> {
        if self.count == 0 {
            // An earlier run's rejects would read as this one's.
            if self.path.is_file() {
                std::fs::remove_file(&self.path).map_err(|err| self.failure(err))?;
            }
            return Ok(None);
        }
        let result = match self.out.take() {
            Some(Output::Lines(mut out)) => out.flush().map_err(|e| e.to_string()),
            Some(Output::Array(mut out)) => out
                .write_all(b"\n]\n")
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string()),
            Some(Output::Csv(mut out)) => out.flush().map_err(|e| e.to_string()),
            None => self.write_evals(),
        };
        result.map_err(|err| self.failure(err))?;
        Ok(Some((self.path, self.count)))
    }

    /// The refused cases of a pydantic-evals file, as such a file.
    fn write_evals(&self) -> Result<(), String> {
        let cases = self
            .cases
            .iter()
            .map(|case| Case {
                name: case.name.clone(),
                inputs: case.inputs.clone(),
                expected_output: case.expected_output.clone(),
                metadata: case.metadata.clone(),
                evaluators: case.evaluators.clone().unwrap_or_default(),
            })
            .collect();
        let stem = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        let mut dataset: Dataset<serde_json::Value> = Dataset::new(stem.unwrap_or_default(), cases);
        dataset.name = None;
        let format = if self.kind == Kind::Yaml {
            Format::Yaml
        } else {
            Format::Json
        };
        dataset
            .to_file_with(
                &self.path,
                FileOptions {
                    format: Some(format),
                    schema_path: None,
                },
            )
            .map_err(|err| err.to_string())
    }
}
