//! Datasets: listing, creating, updating (a schema change locks the
//! dataset and re-checks every case), deleting.

use datasets_core::wire::{DatasetDetail, DatasetSummary, DatasetUpdate, NewDataset};
use deadpool_postgres::Transaction;
use futures_util::TryStreamExt;
use serde_json::Value;
use uuid::Uuid;

use super::idempotency::{claim, remember};
use super::rows::{DatasetRow, Lock, get, is_unique_violation, json_text, load_dataset, now};
use super::versions::NewVersion;
use super::{PostgresStore, commit, pg};
use crate::rules::datasets::{dataset_name_taken, merge_dataset};
use crate::rules::recheck::{Recheck, StoredRow};
use crate::store::{DatasetPage, Definition, Idempotency, StoreError, Written};
use crate::validation::SchemaKind;

/// Checks every existing case against changed schemas, streaming the rows
/// to the re-check rule.
async fn recheck_cases(
    tx: &Transaction<'_>,
    dataset: &DatasetRow,
    new_schemas: &[Option<Value>; 3],
    changed: &[SchemaKind],
) -> Result<(), StoreError> {
    let Some(mut recheck) = Recheck::new(new_schemas, changed)? else {
        return Ok(());
    };
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&dataset.pk];
    let rows = tx
        .query_raw(
            "SELECT id::text, name, inputs, expected_output, metadata FROM cases
             WHERE dataset_pk = $1 ORDER BY pk",
            params,
        )
        .await
        .map_err(pg)?;
    futures_util::pin_mut!(rows);
    while let Some(row) = rows.try_next().await.map_err(pg)? {
        let id: String = row.get(0);
        let name: Option<&str> = row.get(1);
        recheck.row(StoredRow {
            id: &id,
            name,
            inputs: row.get(2),
            expected_output: row.get(3),
            metadata: row.get(4),
        });
    }
    recheck.finish()
}

pub(super) async fn list_datasets(
    store: &PostgresStore,
    project: Uuid,
    page: Option<DatasetPage>,
) -> Result<Vec<DatasetSummary>, StoreError> {
    let (after, limit) = match page {
        Some(page) => (
            page.after,
            Some(i64::try_from(page.limit).unwrap_or(i64::MAX)),
        ),
        None => (None, None),
    };
    let conn = store.conn().await?;
    let rows = conn
        .query(
            "SELECT d.id, d.project_id, d.name, d.description, d.guidance,
                    d.ai_managed_guidance, d.case_count, d.created_at, d.updated_at,
                    kc.name, ku.name, d.version
             FROM datasets d
             LEFT JOIN api_keys kc ON kc.id = d.created_by
             LEFT JOIN api_keys ku ON ku.id = d.updated_by
             WHERE d.project_id = $1
               AND ($2::text IS NULL OR d.name COLLATE \"C\" > $2::text COLLATE \"C\")
             ORDER BY d.name COLLATE \"C\"
             LIMIT $3",
            &[&project, &after, &limit],
        )
        .await
        .map_err(pg)?;
    rows.iter()
        .map(|row| {
            Ok(DatasetSummary {
                id: get(row, 0)?,
                project_id: get(row, 1)?,
                name: get(row, 2)?,
                description: get(row, 3)?,
                guidance: get(row, 4)?,
                ai_managed_guidance: get(row, 5)?,
                case_count: get::<i64>(row, 6)?.max(0) as u64,
                created_at: get(row, 7)?,
                updated_at: get(row, 8)?,
                created_by_name: get(row, 9)?,
                updated_by_name: get(row, 10)?,
                version: Some(get::<i64>(row, 11)?.max(1) as u64),
            })
        })
        .collect()
}

pub(super) async fn get_dataset(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
) -> Result<DatasetDetail, StoreError> {
    let conn = store.conn().await?;
    Ok(load_dataset(&conn, project, dataset, Lock::None)
        .await?
        .detail)
}

pub(super) async fn create_dataset(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    new: NewDataset,
    idempotency: Option<&Idempotency>,
) -> Result<Written<DatasetDetail>, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    if let Some(idempotency) = idempotency
        && let Some(answer) = claim(&tx, project, idempotency).await?
    {
        let detail: DatasetDetail = serde_json::from_str(&answer)
            .map_err(|err| StoreError::Backend(format!("stored answer: {err}")))?;
        return Ok(Written::Replayed(detail));
    }
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO datasets (id, project_id, name, description, guidance, ai_managed_guidance,
             input_schema, output_schema, metadata_schema, evaluators, report_evaluators,
             created_at, updated_at, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $13)",
        &[
            &id,
            &project,
            &new.name,
            &new.description,
            &new.guidance,
            &new.ai_managed_guidance.unwrap_or(false),
            &new.input_schema.as_ref().map(json_text),
            &new.output_schema.as_ref().map(json_text),
            &new.metadata_schema.as_ref().map(json_text),
            &new.evaluators.as_ref().map(json_text),
            &new.report_evaluators.as_ref().map(json_text),
            &at,
            &actor,
        ],
    )
    .await
    .map_err(|err| {
        if is_unique_violation(&err) {
            StoreError::Conflict(dataset_name_taken(&new.name))
        } else {
            pg(err)
        }
    })?;
    let created = load_dataset(&tx, project, &id.to_string(), Lock::None).await?;
    NewVersion::numbered(created.pk, 1)
        .with_definition(&created.detail)
        .finish(&tx, store, at, actor)
        .await?;
    let detail = created.detail;
    if let Some(idempotency) = idempotency {
        remember(&tx, project, idempotency, &json_text(&detail)).await?;
    }
    commit(tx).await?;
    Ok(Written::Fresh(detail))
}

pub(super) async fn update_dataset(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    update: DatasetUpdate,
) -> Result<DatasetDetail, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    // Alone: no case write of this dataset runs until this one commits.
    let current = load_dataset(&tx, project, dataset, Lock::Update).await?;
    let old = &current.detail;
    let merged = merge_dataset(old, update);
    let changed = &merged.changed;
    if !changed.is_empty() {
        recheck_cases(&tx, &current, &merged.schemas, changed).await?;
    }
    let schema_version = current.schema_version + i64::from(!changed.is_empty());
    tx.execute(
        "UPDATE datasets SET name = $2, description = $3, guidance = $4,
             ai_managed_guidance = $5, input_schema = $6, output_schema = $7,
             metadata_schema = $8, evaluators = $9, report_evaluators = $10,
             schema_version = $11, updated_at = $12, updated_by = $13
         WHERE pk = $1",
        &[
            &current.pk,
            &merged.name,
            &merged.description,
            &merged.guidance,
            &merged.ai_managed_guidance,
            &merged.schemas[0].as_ref().map(json_text),
            &merged.schemas[1].as_ref().map(json_text),
            &merged.schemas[2].as_ref().map(json_text),
            &merged.evaluators.as_ref().map(json_text),
            &merged.report_evaluators.as_ref().map(json_text),
            &schema_version,
            &now(),
            &actor,
        ],
    )
    .await
    .map_err(|err| {
        if is_unique_violation(&err) {
            StoreError::Conflict(dataset_name_taken(&merged.name))
        } else {
            pg(err)
        }
    })?;
    let mut detail = load_dataset(&tx, project, &old.id.to_string(), Lock::None)
        .await?
        .detail;
    // A change of schemas or evaluators is a version; of the name,
    // description or guidance alone, not.
    if Definition::of(&detail) != Definition::of(old) {
        let version = NewVersion::start(&tx, current.pk)
            .await?
            .with_definition(&detail);
        detail.version = Some(version.number as u64);
        version.finish(&tx, store, detail.updated_at, actor).await?;
    }
    commit(tx).await?;
    if !changed.is_empty() {
        store.inner.schemas.forget(detail.id);
    }
    Ok(detail)
}

pub(super) async fn delete_dataset(
    store: &PostgresStore,
    project: Uuid,
    dataset: &str,
) -> Result<(), StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    let current = load_dataset(&tx, project, dataset, Lock::Update).await?;
    tx.execute("DELETE FROM datasets WHERE pk = $1", &[&current.pk])
        .await
        .map_err(pg)?;
    commit(tx).await?;
    store.inner.schemas.forget(current.detail.id);
    Ok(())
}
