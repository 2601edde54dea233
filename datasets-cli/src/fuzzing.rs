//! The bodies of the fuzz targets over the CSV reader and writer (`fuzz/`
//! in the repository), callable from tests that replay the corpus and
//! every crash found. Not a public API.

use datasets_core::wire::{DatasetDetail, NewCase};
use serde_json::{Map, Value};

use crate::cli::ColumnArgs;
use crate::columns::Plan;
use crate::columns::layout::Layout;

/// A dataset without schemas, to read files for.
fn schemaless() -> DatasetDetail {
    serde_json::from_value(serde_json::json!({
        "id": "00000000-0000-0000-0000-000000000001",
        "project_id": "00000000-0000-0000-0000-000000000002",
        "name": "fuzz",
        "ai_managed_guidance": false,
        "case_count": 0,
        "created_at": "2026-12-07T00:00:00Z",
        "updated_at": "2026-12-07T00:00:00Z",
    }))
    .expect("a dataset detail")
}

/// The cases `text` makes as a CSV file, as `datasets import` reads it;
/// `None` when the header or a row is refused.
fn import(text: &[u8]) -> Option<Vec<NewCase>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut records = reader.records();
    let header: Vec<String> = records
        .next()?
        .ok()?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            };
            h.trim().to_owned()
        })
        .collect();
    let plan = Plan::new(&header, &ColumnArgs::default(), &schemaless()).ok()?;
    let mut cases = Vec::new();
    for record in records {
        let record = record.ok()?;
        if record.len() != plan.width {
            return None;
        }
        let cells: Vec<&str> = record.iter().collect();
        cases.push(plan.case(&cells, &[]).ok()?);
    }
    Some(cases)
}

/// `cases` as `datasets export` writes them to CSV.
fn export(cases: &[NewCase]) -> Vec<u8> {
    let lines: Vec<Map<String, Value>> = cases
        .iter()
        .map(|case| match serde_json::to_value(case) {
            Ok(Value::Object(mut line)) => {
                line.retain(|_, v| !v.is_null());
                line
            }
            _ => unreachable!("a case serializes to an object"),
        })
        .collect();
    let mut layout = Layout::new([None, None, None]);
    lines.iter().for_each(|line| layout.observe(line));
    let mut out = csv::Writer::from_writer(Vec::new());
    let width = {
        let header = layout.header();
        out.write_record(header).expect("writing to memory");
        header.len()
    };
    let mut row = vec![String::new(); width];
    for line in &lines {
        layout.row(line, &mut row);
        out.write_record(&row).expect("writing to memory");
    }
    out.into_inner().expect("writing to memory")
}

/// The cases as the server would store them: none with null inputs
/// (refused), a null part as no part, no tags or evaluators as none.
fn stored(mut cases: Vec<NewCase>) -> Vec<NewCase> {
    cases.retain(|case| !case.inputs.is_null());
    for case in &mut cases {
        case.expected_output = case.expected_output.take().filter(|v| !v.is_null());
        case.metadata = case.metadata.take().filter(|v| !v.is_null());
        case.tags = case.tags.take().filter(|t| !t.is_empty());
        case.evaluators = case.evaluators.take().filter(|e| !e.is_empty());
    }
    cases
}

/// Exports `cases` and reads them back: they must come back the same.
fn exports_and_reads_back(cases: &[NewCase]) {
    let written = export(cases);
    let read = import(&written).unwrap_or_else(|| {
        panic!(
            "the export of {cases:?} does not import: {}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(read, cases, "{}", String::from_utf8_lossy(&written));
}

/// The CSV round trip: any bytes either fail to read as an import file,
/// or read into cases that export and read back to the same cases. Bytes
/// that are JSONL cases are also exported and read back to themselves.
pub fn csv_round_trip(data: &[u8]) {
    if let Some(cases) = import(data) {
        exports_and_reads_back(&stored(cases));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cases: Option<Vec<NewCase>> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            datasets_core::json_guard::check(line.as_bytes()).ok()?;
            serde_json::from_str(line).ok()
        })
        .collect();
    if let Some(cases) = cases.filter(|cases| !cases.is_empty()) {
        exports_and_reads_back(&stored(cases));
    }
}
