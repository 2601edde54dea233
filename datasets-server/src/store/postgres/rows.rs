//! Rows to records: the columns read, and looking a dataset or case up.

use datasets_core::wire::DatasetDetail;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::pg;
use crate::store::{CaseRecord, StoreError};

pub(super) const DATASET_COLUMNS: &str = "d.pk, d.id, d.project_id, d.name, d.description, \
     d.input_schema, d.output_schema, d.metadata_schema, d.guidance, d.ai_managed_guidance, \
     d.evaluators, d.report_evaluators, d.case_count, d.created_at, d.updated_at, d.created_by, \
     d.schema_version, d.version";

pub(super) const CASE_COLUMNS: &str = "c.pk, c.id, c.name, c.inputs, c.expected_output, \
     c.metadata, c.evaluators, c.source_trace_id, c.source_span_id, c.tags, c.version, \
     c.created_at, c.updated_at, c.created_by, c.updated_by";

/// [`CASE_COLUMNS`] for `RETURNING`, which takes no table alias.
pub(super) const CASE_RETURNING: &str = "pk, id, name, inputs, expected_output, metadata, \
     evaluators, source_trace_id, source_span_id, tags, version, created_at, updated_at, \
     created_by, updated_by";

pub(super) use crate::store::now;

pub(super) use crate::rules::json_text;

fn parse_json<T: serde::de::DeserializeOwned>(
    text: Option<String>,
    what: &str,
) -> Result<Option<T>, StoreError> {
    text.map(|text| {
        serde_json::from_str(&text)
            .map_err(|err| StoreError::Backend(format!("stored {what} is not readable: {err}")))
    })
    .transpose()
}

/// Column `index` of `row`; a value that does not read is an error, never a panic.
pub(super) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|err| StoreError::Backend(format!("column {index}: {err}")))
}

/// A dataset row: the wire detail plus what only the store needs.
pub(super) struct DatasetRow {
    pub(super) pk: i64,
    pub(super) schema_version: i64,
    /// Its current version.
    pub(super) version: i64,
    pub(super) detail: DatasetDetail,
}

pub(super) fn dataset_from_row(row: &Row) -> Result<DatasetRow, StoreError> {
    Ok(DatasetRow {
        pk: get(row, 0)?,
        schema_version: get(row, 16)?,
        version: get(row, 17)?,
        detail: DatasetDetail {
            id: get(row, 1)?,
            project_id: get(row, 2)?,
            name: get(row, 3)?,
            description: get(row, 4)?,
            input_schema: parse_json(get(row, 5)?, "input schema")?,
            output_schema: parse_json(get(row, 6)?, "output schema")?,
            metadata_schema: parse_json(get(row, 7)?, "metadata schema")?,
            guidance: get(row, 8)?,
            ai_managed_guidance: get(row, 9)?,
            evaluators: parse_json(get(row, 10)?, "evaluators")?,
            report_evaluators: parse_json(get(row, 11)?, "report evaluators")?,
            case_count: get::<i64>(row, 12)?.max(0) as u64,
            created_at: get(row, 13)?,
            updated_at: get(row, 14)?,
            created_by: get(row, 15)?,
            version: Some(get::<i64>(row, 17)?.max(1) as u64),
        },
    })
}

pub(super) fn case_from_row(row: &Row, dataset_id: Uuid) -> Result<(i64, CaseRecord), StoreError> {
    case_from_row_at(row, dataset_id, 0)
}

/// A case from [`CASE_COLUMNS`] starting at column `at` of `row`.
pub(super) fn case_from_row_at(
    row: &Row,
    dataset_id: Uuid,
    at: usize,
) -> Result<(i64, CaseRecord), StoreError> {
    Ok((
        get(row, at)?,
        CaseRecord {
            id: get(row, at + 1)?,
            dataset_id,
            name: get(row, at + 2)?,
            inputs: get(row, at + 3)?,
            expected_output: get(row, at + 4)?,
            metadata: get(row, at + 5)?,
            evaluators: get(row, at + 6)?,
            source_trace_id: get(row, at + 7)?,
            source_span_id: get(row, at + 8)?,
            tags: get(row, at + 9)?,
            version: get(row, at + 10)?,
            created_at: get(row, at + 11)?,
            updated_at: get(row, at + 12)?,
            created_by: get(row, at + 13)?,
            updated_by: get(row, at + 14)?,
        },
    ))
}

/// The number of columns of [`DATASET_COLUMNS`].
pub(super) const DATASET_COLUMN_COUNT: usize = 18;

/// How a dataset is locked by the transaction that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lock {
    /// A plain read.
    None,
    /// Case writes: many at once, but never beside a schema change.
    KeyShare,
    /// Changes of a dataset's version tags: one at a time, beside case writes.
    NoKeyUpdate,
    /// A schema change, rename or deletion: alone.
    Update,
}

/// Resolves `{dataset}`: the id of a dataset in the project wins, otherwise
/// the segment is a name.
pub(super) async fn load_dataset(
    conn: &impl GenericClient,
    project: Uuid,
    dataset: &str,
    lock: Lock,
) -> Result<DatasetRow, StoreError> {
    // No name holds a NUL (names are checked), and PostgreSQL refuses one.
    if dataset.contains('\0') {
        return Err(StoreError::DatasetNotFound);
    }
    let as_id = Uuid::parse_str(dataset).ok();
    let lock = match lock {
        Lock::None => "",
        Lock::KeyShare => " FOR KEY SHARE OF d",
        Lock::NoKeyUpdate => " FOR NO KEY UPDATE OF d",
        Lock::Update => " FOR UPDATE OF d",
    };
    let sql = format!(
        "SELECT {DATASET_COLUMNS} FROM datasets d
         WHERE d.project_id = $1 AND (d.id = $2 OR d.name = $3)
         ORDER BY (d.id = $2) IS TRUE DESC LIMIT 1{lock}"
    );
    let statement = conn.prepare_cached(&sql).await.map_err(pg)?;
    let row = conn
        .query_opt(&statement, &[&project, &as_id, &dataset])
        .await
        .map_err(pg)?
        .ok_or(StoreError::DatasetNotFound)?;
    dataset_from_row(&row)
}

/// A case of `dataset`, locked against concurrent writes when `for_update`.
pub(super) async fn load_case(
    conn: &impl GenericClient,
    dataset: &DatasetRow,
    case: Uuid,
    for_update: bool,
) -> Result<(i64, CaseRecord), StoreError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql =
        format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.dataset_pk = $1 AND c.id = $2{lock}");
    let statement = conn.prepare_cached(&sql).await.map_err(pg)?;
    let row = conn
        .query_opt(&statement, &[&dataset.pk, &case])
        .await
        .map_err(pg)?
        .ok_or(StoreError::CaseNotFound)?;
    case_from_row(&row, dataset.detail.id)
}

/// Whether `err` is a unique-constraint violation.
pub(super) fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// The value a unique violation names: `Key (a, b)=(1, x) already exists.`
/// gives `x` for the last column.
pub(super) fn violating_name(err: &tokio_postgres::Error) -> Option<String> {
    let detail = err.as_db_error()?.detail()?;
    let values = detail.split_once(")=(")?.1;
    let values = values.strip_suffix(") already exists.")?;
    Some(
        values
            .split_once(", ")
            .map_or(values, |(_, name)| name)
            .to_owned(),
    )
}
