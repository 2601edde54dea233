//! `datasets export NAME -o FILE`: pydantic-evals YAML or JSON, JSONL, or
//! CSV with flattened columns, chosen by the extension. The file appears
//! whole or not at all: it is written beside its path and renamed.

use std::io::{BufRead, BufReader, Seek, Write};
use std::path::Path;

use datasets_core::blocking::DatasetsClient;
use datasets_core::eval::{Dataset, FileOptions, Format};
use datasets_core::wire::CaseDetail;
use serde_json::{Map, Value};

use crate::cli::{ExportArgs, FileFormat};
use crate::columns::layout::Layout;
use crate::fail::{Failure, Outcome};
use crate::import::thousands;
use crate::output::version_ref;

pub(crate) fn run(client: &DatasetsClient, args: &ExportArgs) -> Outcome {
    let stdout = args.output.as_os_str() == "-";
    let format = match args.format {
        Some(format) => format,
        None if stdout => return Err(Failure::usage("writing stdout (-) needs --format")),
        None => format_of(&args.output)?,
    };
    if args.raw_cells && format != FileFormat::Csv {
        return Err(Failure::usage("--raw-cells applies to CSV only"));
    }
    if stdout && args.with_schema {
        return Err(Failure::usage(
            "--with-schema needs a file to write the schema beside",
        ));
    }
    let count = match format {
        FileFormat::Yaml | FileFormat::Json => evals_file(client, args, format, stdout)?,
        FileFormat::Jsonl | FileFormat::Csv => {
            let mut request = client.list_cases(&args.name);
            if let Some(version) = &args.version {
                request = request.version(version_ref(version));
            }
            let cases = request.iter();
            if format == FileFormat::Jsonl {
                write_atomically(&args.output, stdout, |out| jsonl(cases, out))?
            } else {
                // The schemas say which text a cell would read back as another type.
                let detail = client.get_dataset(&args.name).send()?;
                let mut layout = Layout::new([
                    detail.input_schema,
                    detail.output_schema,
                    detail.metadata_schema,
                ]);
                if args.raw_cells {
                    layout = layout.raw_cells();
                }
                write_atomically(&args.output, stdout, |out| csv(cases, out, layout))?
            }
        }
    };
    let message = format!(
        "exported {} case(s) of {} to {}",
        thousands(count),
        args.name,
        if stdout {
            "stdout".into()
        } else {
            args.output.display().to_string()
        }
    );
    if stdout {
        eprintln!("{message}");
    } else {
        println!("{message}");
    }
    Ok(())
}

fn format_of(path: &Path) -> Outcome<FileFormat> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("yaml" | "yml") => Ok(FileFormat::Yaml),
        Some("json") => Ok(FileFormat::Json),
        Some("jsonl" | "ndjson") => Ok(FileFormat::Jsonl),
        Some("csv") => Ok(FileFormat::Csv),
        _ => Err(Failure::usage(format!(
            "cannot tell the format of {} from its extension: use .yaml, .yml, .json, .jsonl \
             or .csv, or pass --format",
            path.display()
        ))),
    }
}

/// A pydantic-evals file, from the export route.
fn evals_file(
    client: &DatasetsClient,
    args: &ExportArgs,
    format: FileFormat,
    stdout: bool,
) -> Outcome<u64> {
    let mut request = client.export_dataset(&args.name);
    if let Some(version) = &args.version {
        request = request.version(version_ref(version));
    }
    let dataset = Dataset::<Value, Value, Value>::from_export(request.send()?)?;
    let format = if format == FileFormat::Yaml {
        Format::Yaml
    } else {
        Format::Json
    };
    let count = dataset.cases.len() as u64;
    left_out_note(client, args)?;
    if args.with_schema {
        let options = FileOptions {
            format: Some(format),
            ..FileOptions::default()
        };
        dataset.to_file_with(&args.output, options)?;
        return Ok(count);
    }
    let text = dataset.to_text(format, None)?;
    write_atomically(&args.output, stdout, |out| {
        out.write_all(text.as_bytes())?;
        Ok(count)
    })
}

/// Says on stderr what a pydantic-evals file cannot hold of the cases
/// exported (their tags and trace links) and how many cases it concerns.
fn left_out_note(client: &DatasetsClient, args: &ExportArgs) -> Outcome {
    let mut request = client.list_cases(&args.name);
    if let Some(version) = &args.version {
        request = request.version(version_ref(version));
    }
    let (mut tagged, mut linked) = (0u64, 0u64);
    for case in request.iter() {
        let case = case?;
        tagged += u64::from(!case.tags.is_empty());
        linked += u64::from(case.source_trace_id.is_some() || case.source_span_id.is_some());
    }
    let mut left = Vec::new();
    if tagged > 0 {
        left.push(format!("the tags of {} case(s)", thousands(tagged)));
    }
    if linked > 0 {
        left.push(format!(
            "the trace links (source_trace_id, source_span_id) of {} case(s)",
            thousands(linked)
        ));
    }
    if !left.is_empty() {
        eprintln!(
            "note: a pydantic-evals file has no place for tags or trace links, so it leaves out \
             {}; export to .jsonl or .csv to keep them",
            left.join(" and ")
        );
    }
    Ok(())
}

/// Writes through `write` to a new file beside `path`, then renames it to
/// `path`; or to stdout.
fn write_atomically(
    path: &Path,
    stdout: bool,
    write: impl FnOnce(&mut dyn Write) -> Outcome<u64>,
) -> Outcome<u64> {
    if stdout {
        let mut out = std::io::stdout().lock();
        let count = write(&mut out)?;
        out.flush()?;
        return Ok(count);
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let cannot = |err: &dyn std::fmt::Display| {
        Failure::failed(format!("cannot write {}: {err}", path.display()))
    };
    // tempfile's own message names its temporary file, not the user's.
    // Created as any new file is, 0666 less the user's umask (a temporary
    // file would otherwise keep its private 0600 through the rename).
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = builder
        .tempfile_in(folder)
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => cannot(&format!("no folder {}", folder.display())),
            std::io::ErrorKind::PermissionDenied => {
                cannot(&format!("no permission to write in {}", folder.display()))
            }
            kind => cannot(&kind),
        })?;
    let count = {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        let count = write(&mut out)?;
        out.flush().map_err(|err| cannot(&err))?;
        count
    };
    file.persist(path).map_err(|err| cannot(&err.error))?;
    Ok(count)
}

/// A case as the bulk route takes it, its keys in a reading order.
fn case_line(case: CaseDetail) -> Map<String, Value> {
    let mut line = Map::new();
    if let Some(name) = case.name {
        line.insert("name".into(), Value::String(name));
    }
    line.insert("inputs".into(), case.inputs);
    for (key, value) in [
        ("expected_output", case.expected_output),
        ("metadata", case.metadata),
    ] {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            line.insert(key.into(), value);
        }
    }
    if let Some(evaluators) = case.evaluators.filter(|e| !e.is_empty()) {
        line.insert(
            "evaluators".into(),
            serde_json::to_value(evaluators).unwrap_or_default(),
        );
    }
    if !case.tags.is_empty() {
        line.insert("tags".into(), Value::from(case.tags));
    }
    for (key, value) in [
        ("source_trace_id", case.source_trace_id),
        ("source_span_id", case.source_span_id),
    ] {
        if let Some(value) = value {
            line.insert(key.into(), Value::String(value));
        }
    }
    line
}

fn jsonl(
    cases: impl Iterator<Item = datasets_core::Result<CaseDetail>>,
    out: &mut dyn Write,
) -> Outcome<u64> {
    let mut count = 0;
    for case in cases {
        serde_json::to_writer(&mut *out, &case_line(case?)).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    Ok(count)
}

/// CSV in two passes over a spool file: the columns are known only once
/// every case has been seen, and the cases are never held together.
fn csv(
    cases: impl Iterator<Item = datasets_core::Result<CaseDetail>>,
    out: &mut dyn Write,
    mut layout: Layout,
) -> Outcome<u64> {
    let mut spool = tempfile::tempfile()?;
    let mut count = 0;
    {
        let mut writer = std::io::BufWriter::new(&mut spool);
        for case in cases {
            let line = case_line(case?);
            layout.observe(&line);
            serde_json::to_writer(&mut writer, &line).map_err(std::io::Error::from)?;
            writer.write_all(b"\n")?;
            count += 1;
        }
        writer.flush()?;
    }
    spool.rewind()?;
    let mut writer = csv::Writer::from_writer(out);
    let csv_failure = |err: csv::Error| Failure::failed(format!("cannot write the CSV: {err}"));
    let width = {
        let header = layout.header();
        writer.write_record(header).map_err(csv_failure)?;
        header.len()
    };
    let mut row = vec![String::new(); width];
    for line in BufReader::new(spool).lines() {
        let case: Map<String, Value> =
            serde_json::from_str(&line?).map_err(std::io::Error::from)?;
        layout.row(&case, &mut row);
        writer.write_record(&row).map_err(csv_failure)?;
    }
    writer.flush()?;
    Ok(count)
}
