//! Rows to records and back: the columns read, the text forms of
//! timestamps, ids and JSON, and looking a dataset or case up.

use datasets_core::wire::{DatasetDetail, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::backend;
use crate::rules::json_text;
use crate::store::{CaseRecord, StoreError};

pub(super) const DATASET_COLUMNS: &str = "d.pk, d.id, d.project_id, d.name, d.description, d.input_schema, \
     d.output_schema, d.metadata_schema, d.guidance, d.ai_managed_guidance, d.evaluators, \
     d.report_evaluators, d.case_count, d.created_at, d.updated_at, d.created_by, d.schema_version, \
     d.version";

pub(super) const CASE_COLUMNS: &str = "c.pk, c.id, c.name, c.inputs, c.expected_output, c.metadata, \
     c.evaluators, c.source_trace_id, c.source_span_id, c.tags, c.version, c.created_at, \
     c.updated_at, c.created_by, c.updated_by";

/// [`CASE_COLUMNS`] for `RETURNING`, which takes no table alias.
pub(super) const CASE_RETURNING: &str = "pk, id, name, inputs, expected_output, metadata, evaluators, \
     source_trace_id, source_span_id, tags, version, created_at, updated_at, created_by, updated_by";

pub(super) use crate::store::now;

pub(super) fn format_ts(ts: Timestamp) -> String {
    ts.format(&Rfc3339).expect("UTC timestamps always format")
}

pub(super) fn parse_ts(text: &str) -> rusqlite::Result<Timestamp> {
    Timestamp::parse(text, &Rfc3339).map_err(|err| conversion_error(err.to_string()))
}

/// A case's tags, stored as a JSON list of strings.
pub(super) fn parse_tags(text: &str) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|err| conversion_error(format!("stored tags: {err}")))
}

pub(super) fn parse_uuid(text: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(text).map_err(|err| conversion_error(err.to_string()))
}

pub(super) fn parse_opt_uuid(text: Option<String>) -> rusqlite::Result<Option<Uuid>> {
    text.as_deref().map(parse_uuid).transpose()
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    text: Option<String>,
) -> rusqlite::Result<Option<T>> {
    text.map(|t| serde_json::from_str(&t).map_err(|err| conversion_error(err.to_string())))
        .transpose()
}

pub(super) fn conversion_error(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, msg.into())
}

pub(super) fn to_json_text<T: serde::Serialize>(value: &T) -> String {
    json_text(value)
}

/// A dataset row: the wire detail plus what only the store needs.
pub(super) struct DatasetRow {
    pub(super) pk: i64,
    pub(super) schema_version: i64,
    /// Its current version.
    pub(super) version: i64,
    pub(super) detail: DatasetDetail,
}

pub(super) fn dataset_from_row(row: &Row<'_>) -> rusqlite::Result<DatasetRow> {
    Ok(DatasetRow {
        pk: row.get(0)?,
        schema_version: row.get(16)?,
        version: row.get(17)?,
        detail: DatasetDetail {
            id: parse_uuid(&row.get::<_, String>(1)?)?,
            project_id: parse_uuid(&row.get::<_, String>(2)?)?,
            name: row.get(3)?,
            description: row.get(4)?,
            input_schema: parse_json(row.get(5)?)?,
            output_schema: parse_json(row.get(6)?)?,
            metadata_schema: parse_json(row.get(7)?)?,
            guidance: row.get(8)?,
            ai_managed_guidance: row.get(9)?,
            evaluators: parse_json(row.get(10)?)?,
            report_evaluators: parse_json(row.get(11)?)?,
            case_count: row.get::<_, i64>(12)?.max(0) as u64,
            created_at: parse_ts(&row.get::<_, String>(13)?)?,
            updated_at: parse_ts(&row.get::<_, String>(14)?)?,
            created_by: parse_opt_uuid(row.get(15)?)?,
            version: Some(row.get::<_, i64>(17)?.max(1) as u64),
        },
    })
}

pub(super) fn case_from_row(
    row: &Row<'_>,
    dataset_id: Uuid,
) -> rusqlite::Result<(i64, CaseRecord)> {
    Ok((
        row.get(0)?,
        CaseRecord {
            id: parse_uuid(&row.get::<_, String>(1)?)?,
            dataset_id,
            name: row.get(2)?,
            inputs: row.get(3)?,
            expected_output: row.get(4)?,
            metadata: row.get(5)?,
            evaluators: row.get(6)?,
            source_trace_id: row.get(7)?,
            source_span_id: row.get(8)?,
            tags: parse_tags(row.get_ref(9)?.as_str()?)?,
            version: row.get(10)?,
            created_at: parse_ts(row.get_ref(11)?.as_str()?)?,
            updated_at: parse_ts(row.get_ref(12)?.as_str()?)?,
            created_by: parse_opt_uuid(row.get(13)?)?,
            updated_by: parse_opt_uuid(row.get(14)?)?,
        },
    ))
}

/// Resolves `{dataset}`: the id of a dataset in the project wins, otherwise
/// the segment is a name.
pub(super) fn load_dataset(
    conn: &Connection,
    project: Uuid,
    dataset: &str,
) -> Result<DatasetRow, StoreError> {
    let as_id = Uuid::parse_str(dataset).ok().map(|id| id.to_string());
    let sql = format!(
        "SELECT {DATASET_COLUMNS} FROM datasets d
         WHERE d.project_id = ?1 AND (d.id = ?2 OR d.name = ?3)
         ORDER BY d.id = ?2 DESC LIMIT 1"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(
                params![project.to_string(), as_id, dataset],
                dataset_from_row,
            )
            .optional()
        })
        .map_err(backend)?
        .ok_or(StoreError::DatasetNotFound)
}

pub(super) fn load_case(
    conn: &Connection,
    dataset: &DatasetRow,
    case: Uuid,
) -> Result<(i64, CaseRecord), StoreError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.dataset_pk = ?1 AND c.id = ?2");
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![dataset.pk, case.to_string()], |row| {
                case_from_row(row, dataset.detail.id)
            })
            .optional()
        })
        .map_err(backend)?
        .ok_or(StoreError::CaseNotFound)
}

/// Cases by position, in the order given; positions no longer there are skipped.
pub(super) fn load_cases_by_pk(
    conn: &Connection,
    dataset: &DatasetRow,
    pks: &[i64],
) -> Result<Vec<CaseRecord>, StoreError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.pk = ?1 AND c.dataset_pk = ?2");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut cases = Vec::with_capacity(pks.len());
    for pk in pks {
        let found = stmt
            .query_row(params![pk, dataset.pk], |row| {
                case_from_row(row, dataset.detail.id)
            })
            .optional()
            .map_err(backend)?;
        cases.extend(found.map(|(_, case)| case));
    }
    Ok(cases)
}

/// The case of a name, if the dataset has one.
pub(super) fn case_by_name(
    conn: &Connection,
    dataset: &DatasetRow,
    name: &str,
) -> Result<Option<(i64, CaseRecord)>, StoreError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.dataset_pk = ?1 AND c.name = ?2");
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![dataset.pk, name], |row| {
                case_from_row(row, dataset.detail.id)
            })
            .optional()
        })
        .map_err(backend)
}

pub(super) fn case_pk_by_name(
    conn: &Connection,
    dataset_pk: i64,
    name: &str,
) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT pk FROM cases WHERE dataset_pk = ?1 AND name = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![dataset_pk, name], |row| row.get(0))
                .optional()
        })
        .map_err(backend)
}

pub(super) fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(crate::rules::datasets::case_name_taken(name))
}
