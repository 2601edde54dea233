//! Datasets: listing, creating, updating (schema changes re-check every
//! case), deleting.

use datasets_core::wire::{DatasetDetail, DatasetSummary, DatasetUpdate, NewDataset};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use uuid::Uuid;

use super::idempotency::{remember, replay};
use super::rows::*;
use super::versions::NewVersion;
use super::{SqliteStore, backend};
use crate::rules::datasets::{dataset_name_taken, merge_dataset};
use crate::rules::recheck::{Recheck, StoredRow};
use crate::store::{DatasetPage, Definition, Idempotency, StoreError, Written};
use crate::validation::SchemaKind;

/// Checks every existing case against changed schemas, streaming the rows
/// to the re-check rule.
pub(super) fn recheck_cases(
    tx: &Connection,
    dataset: &DatasetRow,
    new_schemas: &[Option<Value>; 3],
    changed: &[SchemaKind],
) -> Result<(), StoreError> {
    let Some(mut recheck) = Recheck::new(new_schemas, changed)? else {
        return Ok(());
    };
    let mut stmt = tx
        .prepare("SELECT id, name, inputs, expected_output, metadata FROM cases WHERE dataset_pk = ?1 ORDER BY pk")
        .map_err(backend)?;
    let mut rows = stmt.query([dataset.pk]).map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        let text = |index: usize| -> Result<Option<String>, StoreError> {
            row.get(index).map_err(backend)
        };
        let (id, name) = (text(0)?.unwrap_or_default(), text(1)?);
        let (inputs, expected_output, metadata) = (text(2)?, text(3)?, text(4)?);
        recheck.row(StoredRow {
            id: &id,
            name: name.as_deref(),
            inputs: inputs.as_deref(),
            expected_output: expected_output.as_deref(),
            metadata: metadata.as_deref(),
        });
    }
    recheck.finish()
}

pub(super) async fn list_datasets(
    store: &SqliteStore,
    project: Uuid,
    page: Option<DatasetPage>,
) -> Result<Vec<DatasetSummary>, StoreError> {
    // Every dataset is a page of no limit after no name.
    let (after, limit) = match page {
        Some(page) => (page.after, i64::try_from(page.limit).unwrap_or(i64::MAX)),
        None => (None, -1),
    };
    store
        .read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT d.id, d.project_id, d.name, d.description, d.guidance,
                        d.ai_managed_guidance, d.case_count, d.created_at, d.updated_at,
                        kc.name, ku.name, d.version
                 FROM datasets d
                 LEFT JOIN api_keys kc ON kc.id = d.created_by
                 LEFT JOIN api_keys ku ON ku.id = d.updated_by
                 WHERE d.project_id = ?1 AND (?2 IS NULL OR d.name > ?2)
                 ORDER BY d.name
                 LIMIT ?3",
                )
                .map_err(backend)?;
            stmt.query_map(
                rusqlite::params![project.to_string(), after, limit],
                |row| {
                    Ok(DatasetSummary {
                        id: parse_uuid(&row.get::<_, String>(0)?)?,
                        project_id: parse_uuid(&row.get::<_, String>(1)?)?,
                        name: row.get(2)?,
                        description: row.get(3)?,
                        guidance: row.get(4)?,
                        ai_managed_guidance: row.get(5)?,
                        case_count: row.get::<_, i64>(6)?.max(0) as u64,
                        created_at: parse_ts(&row.get::<_, String>(7)?)?,
                        updated_at: parse_ts(&row.get::<_, String>(8)?)?,
                        created_by_name: row.get(9)?,
                        updated_by_name: row.get(10)?,
                        version: Some(row.get::<_, i64>(11)?.max(1) as u64),
                    })
                },
            )
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend)
        })
        .await
}

pub(super) async fn get_dataset(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
) -> Result<DatasetDetail, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read(move |conn| Ok(load_dataset(conn, project, &dataset)?.detail))
        .await
}

pub(super) async fn create_dataset(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    new: NewDataset,
    idempotency: Option<Idempotency>,
) -> Result<Written<DatasetDetail>, StoreError> {
    store
        .write(move |tx, inner| {
            if let Some(idempotency) = &idempotency
                && let Some(answer) = replay(tx, project, idempotency)?
            {
                let detail: DatasetDetail = serde_json::from_str(&answer).map_err(backend)?;
                return Ok(Written::Replayed(detail));
            }
            let id = Uuid::now_v7();
            let at = format_ts(now());
            let inserted = tx.execute(
            "INSERT INTO datasets (id, project_id, name, description, guidance, ai_managed_guidance,
                 input_schema, output_schema, metadata_schema, evaluators, report_evaluators,
                 created_at, updated_at, created_by, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?13)",
            params![
                id.to_string(),
                project.to_string(),
                new.name,
                new.description,
                new.guidance,
                new.ai_managed_guidance.unwrap_or(false),
                new.input_schema.as_ref().map(to_json_text),
                new.output_schema.as_ref().map(to_json_text),
                new.metadata_schema.as_ref().map(to_json_text),
                new.evaluators.as_ref().map(to_json_text),
                new.report_evaluators.as_ref().map(to_json_text),
                at,
                actor.to_string(),
            ],
        );
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::Conflict(dataset_name_taken(&new.name)));
                }
                Err(other) => return Err(backend(other)),
            }
            let created = load_dataset(tx, project, &id.to_string())?;
            NewVersion::numbered(created.pk, 1)
                .with_definition(&created.detail)
                .finish(tx, inner, created.detail.created_at, actor)?;
            let detail = created.detail;
            if let Some(idempotency) = &idempotency {
                remember(tx, project, idempotency, &to_json_text(&detail))?;
            }
            Ok(Written::Fresh(detail))
        })
        .await
}

pub(super) async fn update_dataset(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    update: DatasetUpdate,
) -> Result<DatasetDetail, StoreError> {
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let current = load_dataset(tx, project, &dataset)?;
            let old = &current.detail;
            let merged = merge_dataset(old, update);
            // The unique index decides; the check only words the answer.
            if merged.renamed(old) {
                let taken = tx
                    .query_row(
                        "SELECT 1 FROM datasets WHERE project_id = ?1 AND name = ?2",
                        params![project.to_string(), merged.name],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend)?
                    .is_some();
                if taken {
                    return Err(StoreError::Conflict(dataset_name_taken(&merged.name)));
                }
            }
            let changed = &merged.changed;
            if !changed.is_empty() {
                recheck_cases(tx, &current, &merged.schemas, changed)?;
            }
            let schema_version = current.schema_version + i64::from(!changed.is_empty());
            tx.execute(
                "UPDATE datasets SET name = ?2, description = ?3, guidance = ?4,
                 ai_managed_guidance = ?5, input_schema = ?6, output_schema = ?7,
                 metadata_schema = ?8, evaluators = ?9, report_evaluators = ?10,
                 schema_version = ?11, updated_at = ?12, updated_by = ?13
             WHERE pk = ?1",
                params![
                    current.pk,
                    merged.name,
                    merged.description,
                    merged.guidance,
                    merged.ai_managed_guidance,
                    merged.schemas[0].as_ref().map(to_json_text),
                    merged.schemas[1].as_ref().map(to_json_text),
                    merged.schemas[2].as_ref().map(to_json_text),
                    merged.evaluators.as_ref().map(to_json_text),
                    merged.report_evaluators.as_ref().map(to_json_text),
                    schema_version,
                    format_ts(now()),
                    actor.to_string(),
                ],
            )
            .map_err(backend)?;
            if !changed.is_empty() {
                inner.schemas.forget(old.id);
            }
            // A change of schemas or evaluators is a version; of the
            // name, description or guidance alone, not.
            let updated = load_dataset(tx, project, &old.id.to_string())?;
            if Definition::of(&updated.detail) != Definition::of(old) {
                NewVersion::start(tx, current.pk)?
                    .with_definition(&updated.detail)
                    .finish(tx, inner, updated.detail.updated_at, actor)?;
                return Ok(load_dataset(tx, project, &old.id.to_string())?.detail);
            }
            Ok(updated.detail)
        })
        .await
}

pub(super) async fn delete_dataset(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
) -> Result<(), StoreError> {
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let current = load_dataset(tx, project, &dataset)?;
            tx.execute("DELETE FROM datasets WHERE pk = ?1", [current.pk])
                .map_err(backend)?;
            inner.schemas.forget(current.detail.id);
            Ok(())
        })
        .await
}
