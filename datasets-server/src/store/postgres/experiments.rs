//! Experiments on PostgreSQL: runs and case results upserted as they
//! arrive (at whichever replica), assembled when read.

use datasets_core::wire::Experiment;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::idempotency::{claim, remember};
use super::rows::{Lock, get, load_dataset, now};
use super::{PostgresStore, commit, pg, snapshot};
use crate::store::experiments::{
    CaseRow, ExperimentCases, ExperimentFilter, ExperimentPage, RunRow, SpanRows, StoredRun,
    source_of, source_text, stored_doc,
};
use crate::store::{Idempotency, StoreError, Written};

const RUN_COLUMNS: &str = "pk, id, trace_id, span_id, source, name, task_name, dataset_id, \
     dataset_name, dataset_version, doc, started_at, ended_at, created_at, created_by";

fn run_from_row(row: &Row) -> Result<(i64, StoredRun), StoreError> {
    let source: String = get(row, 4)?;
    let doc: String = get(row, 10)?;
    Ok((
        get(row, 0)?,
        StoredRun {
            id: get(row, 1)?,
            row: RunRow {
                trace_id: get(row, 2)?,
                span_id: get(row, 3)?,
                source: source_of(&source),
                name: get(row, 5)?,
                task_name: get(row, 6)?,
                dataset: None,
                dataset_name: get(row, 8)?,
                dataset_version: get(row, 9)?,
                doc: stored_doc(&doc),
                started_at: get(row, 11)?,
                ended_at: get(row, 12)?,
            },
            dataset_id: get(row, 7)?,
            created_at: get(row, 13)?,
            created_by: get(row, 14)?,
        },
    ))
}

async fn upsert_run(
    tx: &impl GenericClient,
    project: Uuid,
    actor: Uuid,
    run: &RunRow,
) -> Result<Uuid, StoreError> {
    let (dataset_id, dataset_name) = match (&run.dataset, &run.dataset_name) {
        (Some(dataset), _) => {
            let found = load_dataset(tx, project, dataset, Lock::None).await?;
            (Some(found.detail.id), Some(found.detail.name))
        }
        (None, Some(name)) if !name.contains('\0') => {
            let row = tx
                .query_opt(
                    "SELECT id FROM datasets WHERE project_id = $1 AND name = $2",
                    &[&project, name],
                )
                .await
                .map_err(pg)?;
            (row.map(|row| get(&row, 0)).transpose()?, Some(name.clone()))
        }
        (None, name) => (None, name.clone()),
    };
    let doc = serde_json::to_string(&run.doc).unwrap_or_else(|_| "{}".to_owned());
    let row = tx
        .query_one(
            "INSERT INTO experiments (id, project_id, trace_id, span_id, source, name, task_name,
                 dataset_id, dataset_name, dataset_version, doc, started_at, ended_at, created_at,
                 created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (project_id, trace_id, span_id) DO UPDATE SET
                 name = excluded.name, task_name = excluded.task_name,
                 dataset_id = excluded.dataset_id, dataset_name = excluded.dataset_name,
                 dataset_version = excluded.dataset_version, doc = excluded.doc,
                 started_at = excluded.started_at, ended_at = excluded.ended_at
             RETURNING id",
            &[
                &Uuid::now_v7(),
                &project,
                &run.trace_id,
                &run.span_id,
                &source_text(run.source),
                &run.name,
                &run.task_name,
                &dataset_id,
                &dataset_name,
                &run.dataset_version,
                &doc,
                &run.started_at,
                &run.ended_at,
                &now(),
                &actor,
            ],
        )
        .await
        .map_err(pg)?;
    get(&row, 0)
}

async fn upsert_cases(
    tx: &impl GenericClient,
    project: Uuid,
    cases: &[CaseRow],
) -> Result<(), StoreError> {
    // One statement per round of rows, as arrays unnested.
    for round in cases.chunks(1_000) {
        let column = |f: fn(&CaseRow) -> String| round.iter().map(f).collect::<Vec<String>>();
        let trace_ids = column(|c| c.trace_id.clone());
        let parents = column(|c| c.parent_span_id.clone());
        let spans = column(|c| c.span_id.clone());
        let bodies = column(|c| c.body.clone());
        let seqs: Vec<i64> = round.iter().map(|c| c.seq).collect();
        let failed: Vec<bool> = round.iter().map(|c| c.failed).collect();
        tx.execute(
            "INSERT INTO experiment_cases
                 (project_id, trace_id, parent_span_id, span_id, seq, failed, body)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[],
                                      $6::boolean[], $7::text[])
             ON CONFLICT (project_id, trace_id, parent_span_id, span_id) DO UPDATE SET
                 seq = excluded.seq, failed = excluded.failed, body = excluded.body",
            &[
                &project, &trace_ids, &parents, &spans, &seqs, &failed, &bodies,
            ],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}

async fn load_run(
    conn: &impl GenericClient,
    project: Uuid,
    id: Uuid,
) -> Result<StoredRun, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM experiments WHERE project_id = $1 AND id = $2");
    let row = conn
        .query_opt(sql.as_str(), &[&project, &id])
        .await
        .map_err(pg)?
        .ok_or(StoreError::ExperimentNotFound)?;
    Ok(run_from_row(&row)?.1)
}

pub(super) async fn ingest_spans(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    rows: &SpanRows,
) -> Result<(), StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    for run in &rows.runs {
        upsert_run(&tx, project, actor, run).await?;
    }
    upsert_cases(&tx, project, &rows.cases).await?;
    commit(tx).await
}

pub(super) async fn record_experiment(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    run: &RunRow,
    cases: &[CaseRow],
    idempotency: Option<&Idempotency>,
) -> Result<Written<Experiment>, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    if let Some(idempotency) = idempotency
        && let Some(answer) = claim(&tx, project, idempotency).await?
    {
        let experiment = serde_json::from_str(&answer)
            .map_err(|err| StoreError::Backend(format!("stored answer: {err}")))?;
        return Ok(Written::Replayed(experiment));
    }
    let id = upsert_run(&tx, project, actor, run).await?;
    upsert_cases(&tx, project, cases).await?;
    let experiment = load_run(&tx, project, id).await?.to_wire();
    if let Some(idempotency) = idempotency {
        let answer = serde_json::to_string(&experiment)
            .map_err(|err| StoreError::Backend(err.to_string()))?;
        remember(&tx, project, idempotency, &answer).await?;
    }
    commit(tx).await?;
    Ok(Written::Fresh(experiment))
}

pub(super) async fn list_experiments(
    store: &PostgresStore,
    project: Uuid,
    filter: &ExperimentFilter,
    before: Option<i64>,
    limit: usize,
) -> Result<ExperimentPage, StoreError> {
    let conn = store.conn().await?;
    let before = before.unwrap_or(i64::MAX);
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&project, &before, &fetch];
    let clause = match filter {
        ExperimentFilter::All => "",
        ExperimentFilter::DatasetId(id) => {
            params.push(id);
            " AND dataset_id = $4"
        }
        // PostgreSQL refuses NUL in text, and no name holds one.
        ExperimentFilter::DatasetName(name) if name.contains('\0') => {
            return Ok(ExperimentPage {
                experiments: Vec::new(),
                next: None,
            });
        }
        ExperimentFilter::DatasetName(name) => {
            params.push(name);
            " AND dataset_name = $4"
        }
    };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM experiments
         WHERE project_id = $1 AND pk < $2{clause}
         ORDER BY pk DESC LIMIT $3"
    );
    let runs: Vec<(i64, StoredRun)> = conn
        .query(sql.as_str(), &params)
        .await
        .map_err(pg)?
        .iter()
        .map(run_from_row)
        .collect::<Result<_, _>>()?;
    Ok(ExperimentPage::of(runs, limit))
}

pub(super) async fn get_experiment(
    store: &PostgresStore,
    project: Uuid,
    id: Uuid,
    after: Option<(i64, i64)>,
    limit: usize,
) -> Result<ExperimentCases, StoreError> {
    let mut conn = store.conn().await?;
    let tx = snapshot(&mut conn).await?;
    let run = load_run(&tx, project, id).await?;
    let (trace, span) = (&run.row.trace_id, &run.row.span_id);
    let (mut case_count, mut failure_count) = (0u64, 0u64);
    for row in tx
        .query(
            "SELECT failed, COUNT(*) FROM experiment_cases
             WHERE project_id = $1 AND trace_id = $2 AND parent_span_id = $3
             GROUP BY failed",
            &[&project, trace, span],
        )
        .await
        .map_err(pg)?
    {
        let (failed, count): (bool, i64) = (get(&row, 0)?, get(&row, 1)?);
        let count = u64::try_from(count).unwrap_or(0);
        if failed {
            failure_count = count;
        } else {
            case_count = count;
        }
    }
    let (seq, pk) = after.unwrap_or((i64::MIN, i64::MIN));
    let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let rows: Vec<(i64, i64, bool, String)> = tx
        .query(
            "SELECT seq, pk, failed, body FROM experiment_cases
             WHERE project_id = $1 AND trace_id = $2 AND parent_span_id = $3
               AND (seq, pk) > ($4, $5)
             ORDER BY seq, pk LIMIT $6",
            &[&project, trace, span, &seq, &pk, &fetch],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|row| Ok((get(row, 0)?, get(row, 1)?, get(row, 2)?, get(row, 3)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(ExperimentCases::of(
        &run,
        (case_count, failure_count),
        rows,
        limit,
    ))
}

pub(super) async fn delete_experiment(
    store: &PostgresStore,
    project: Uuid,
    id: Uuid,
) -> Result<(), StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    let run = load_run(&tx, project, id).await?;
    tx.execute(
        "DELETE FROM experiment_cases
         WHERE project_id = $1 AND trace_id = $2 AND parent_span_id = $3",
        &[&project, &run.row.trace_id, &run.row.span_id],
    )
    .await
    .map_err(pg)?;
    tx.execute(
        "DELETE FROM experiments WHERE project_id = $1 AND id = $2",
        &[&project, &id],
    )
    .await
    .map_err(pg)?;
    commit(tx).await
}
