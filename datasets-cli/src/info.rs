//! Datasets as a whole: `ls`, `show`, `create`, `versions`, `diff`, `tag`.

use std::io::Write;
use std::path::Path;

use datasets_core::blocking::DatasetsClient;
use datasets_core::wire::{CaseChange, EvaluatorSpec};
use serde_json::Value;

use crate::cli::{CreateArgs, SchemaArgs};
use crate::fail::{Failure, Outcome};
use crate::output::{Table, print_json, version_ref, when};

/// `datasets ls`.
pub(crate) fn list(client: &DatasetsClient, json: bool) -> Outcome {
    let datasets = client.list_datasets().send()?;
    if json {
        return print_json(&datasets);
    }
    let mut table = Table::new(vec!["NAME", "CASES", "VERSION", "UPDATED", "DESCRIPTION"]);
    for dataset in &datasets {
        table.row(vec![
            dataset.name.clone(),
            dataset.case_count.to_string(),
            dataset.version.map(|v| v.to_string()).unwrap_or_default(),
            when(&dataset.updated_at),
            dataset.description.clone().unwrap_or_default(),
        ]);
    }
    table.print(&mut std::io::stdout().lock())
}

/// `datasets show NAME`.
pub(crate) fn show(client: &DatasetsClient, name: &str, json: bool) -> Outcome {
    let dataset = client.get_dataset(name).send()?;
    if json {
        return print_json(&dataset);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "name:        {}", dataset.name)?;
    writeln!(out, "id:          {}", dataset.id)?;
    if let Some(description) = &dataset.description {
        writeln!(out, "description: {description}")?;
    }
    writeln!(out, "cases:       {}", dataset.case_count)?;
    if let Some(version) = dataset.version {
        writeln!(out, "version:     {version}")?;
    }
    writeln!(out, "created:     {}", when(&dataset.created_at))?;
    writeln!(out, "updated:     {}", when(&dataset.updated_at))?;
    if let Some(guidance) = &dataset.guidance {
        writeln!(out, "guidance:    {guidance}")?;
    }
    for (label, specs) in [
        ("evaluators", &dataset.evaluators),
        ("report evaluators", &dataset.report_evaluators),
    ] {
        if let Some(specs) = specs.as_ref().filter(|s| !s.is_empty()) {
            writeln!(out, "{label}: {}", spec_list(specs))?;
        }
    }
    for (label, schema) in [
        ("input schema", &dataset.input_schema),
        ("output schema", &dataset.output_schema),
        ("metadata schema", &dataset.metadata_schema),
    ] {
        match schema {
            Some(schema) => {
                writeln!(out, "{label}:")?;
                let text = serde_json::to_string_pretty(schema).map_err(std::io::Error::from)?;
                for line in text.lines() {
                    writeln!(out, "  {line}")?;
                }
            }
            None => writeln!(out, "{label}: none (any JSON)")?,
        }
    }
    Ok(())
}

/// Evaluators as pydantic-evals names them: `EqualsExpected, Contains(...)`.
fn spec_list(specs: &[EvaluatorSpec]) -> String {
    specs
        .iter()
        .map(|spec| match &spec.arguments {
            None | Some(Value::Null) => spec.name.clone(),
            Some(Value::Array(single)) if single.len() == 1 => {
                format!("{}({})", spec.name, single[0])
            }
            Some(Value::Object(keywords)) => {
                let keywords: Vec<String> =
                    keywords.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{}({})", spec.name, keywords.join(", "))
            }
            Some(arguments) => format!("{}({arguments})", spec.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `datasets create NAME`.
pub(crate) fn create(client: &DatasetsClient, args: &CreateArgs) -> Outcome {
    let mut request = client.create_dataset(&args.name);
    if let Some(description) = &args.description {
        request = request.description(description);
    }
    let [input, output, metadata] = args.schemas.read()?;
    if let Some(schema) = input {
        request = request.input_schema(schema);
    }
    if let Some(schema) = output {
        request = request.output_schema(schema);
    }
    if let Some(schema) = metadata {
        request = request.metadata_schema(schema);
    }
    let dataset = request
        .send()
        .map_err(|err| Failure::from(err).context(format!("cannot create {:?}", args.name)))?;
    if args.json {
        return print_json(&dataset);
    }
    println!("created dataset {} ({})", dataset.name, dataset.id);
    Ok(())
}

/// `datasets versions NAME`.
pub(crate) fn versions(
    client: &DatasetsClient,
    name: &str,
    limit: Option<usize>,
    json: bool,
) -> Outcome {
    let mut request = client.list_versions(name);
    if let Some(limit) = limit {
        request = request.limit(limit);
    }
    let versions = request.send()?;
    if json {
        return print_json(&versions);
    }
    let mut table = Table::new(vec![
        "VERSION", "CREATED", "ADDED", "CHANGED", "REMOVED", "CASES", "BY", "TAGS",
    ]);
    for version in &versions {
        let mut by = version.created_by_name.clone().unwrap_or_default();
        if version.definition_changed {
            by = if by.is_empty() {
                "(schemas)".to_owned()
            } else {
                format!("{by} (schemas)")
            };
        }
        table.row(vec![
            version.version.to_string(),
            when(&version.created_at),
            version.added.to_string(),
            version.changed.to_string(),
            version.removed.to_string(),
            version.case_count.to_string(),
            by,
            version.tags.join(","),
        ]);
    }
    table.print(&mut std::io::stdout().lock())
}

/// `datasets diff NAME FROM TO`.
pub(crate) fn diff(
    client: &DatasetsClient,
    name: &str,
    from: &str,
    to: &str,
    json: bool,
) -> Outcome {
    let changes = client
        .diff(name, version_ref(from), version_ref(to))
        .send()?;
    if json {
        return print_json(&changes);
    }
    let mut out = std::io::stdout().lock();
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for change in &changes {
        let name = change
            .name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let (mark, fields) = match change.change {
            CaseChange::Added => {
                added += 1;
                ('+', String::new())
            }
            CaseChange::Removed => {
                removed += 1;
                ('-', String::new())
            }
            CaseChange::Changed => {
                changed += 1;
                ('~', format!(" ({})", change.fields.join(", ")))
            }
        };
        writeln!(out, "{mark} {}{name}{fields}", change.case_id)?;
    }
    writeln!(
        out,
        "{from} -> {to}: {added} added, {changed} changed, {removed} removed"
    )?;
    Ok(())
}

/// `datasets tag NAME VERSION TAG`.
pub(crate) fn tag(client: &DatasetsClient, name: &str, version: u64, tag: &str) -> Outcome {
    let version = client.tag_version(name, version, tag).send()?;
    println!(
        "version {} of {name} is tagged {}",
        version.version,
        version.tags.join(", ")
    );
    Ok(())
}

impl SchemaArgs {
    /// The input, output and metadata schemas the flags name, read.
    pub(crate) fn read(&self) -> Outcome<[Option<Value>; 3]> {
        let read = |path: &Option<std::path::PathBuf>, flag| {
            path.as_deref()
                .map(|path| schema_file(path, flag))
                .transpose()
        };
        Ok([
            read(&self.input_schema, "--input-schema")?,
            read(&self.output_schema, "--output-schema")?,
            read(&self.metadata_schema, "--metadata-schema")?,
        ])
    }
}

/// Reads a JSON Schema file for `flag`.
fn schema_file(path: &Path, flag: &str) -> Outcome<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::failed(format!("{flag} {}: {err}", path.display())))?;
    let value: Value = serde_json::from_str(&text).map_err(|err| {
        Failure::failed(format!(
            "{flag} {}: not JSON (line {}, column {}): {err}",
            path.display(),
            err.line(),
            err.column()
        ))
    })?;
    if !value.is_object() && !value.is_boolean() {
        return Err(Failure::failed(format!(
            "{flag} {}: a JSON Schema is an object or a boolean",
            path.display()
        )));
    }
    Ok(value)
}
