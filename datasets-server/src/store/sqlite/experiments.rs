//! Experiments on SQLite: runs and case results upserted as they arrive,
//! assembled when read.

use datasets_core::wire::Experiment;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::rows::{format_ts, load_dataset, now, parse_opt_uuid, parse_ts, parse_uuid};
use super::{SqliteStore, backend, idempotency};
use crate::store::experiments::{
    CaseRow, ExperimentCases, ExperimentFilter, ExperimentPage, RunRow, SpanRows, StoredRun,
    source_of, source_text, stored_doc,
};
use crate::store::{Idempotency, StoreError, Written};

const RUN_COLUMNS: &str = "pk, id, trace_id, span_id, source, name, task_name, dataset_id, \
     dataset_name, dataset_version, doc, started_at, ended_at, created_at, created_by";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, StoredRun)> {
    let source: String = row.get(4)?;
    let doc: String = row.get(10)?;
    Ok((
        row.get(0)?,
        StoredRun {
            id: parse_uuid(&row.get::<_, String>(1)?)?,
            row: RunRow {
                trace_id: row.get(2)?,
                span_id: row.get(3)?,
                source: source_of(&source),
                name: row.get(5)?,
                task_name: row.get(6)?,
                dataset: None,
                dataset_name: row.get(8)?,
                dataset_version: row.get(9)?,
                doc: stored_doc(&doc),
                started_at: parse_ts(&row.get::<_, String>(11)?)?,
                ended_at: parse_ts(&row.get::<_, String>(12)?)?,
            },
            dataset_id: parse_opt_uuid(row.get(7)?)?,
            created_at: parse_ts(&row.get::<_, String>(13)?)?,
            created_by: parse_opt_uuid(row.get(14)?)?,
        },
    ))
}

/// The dataset a run names: by `dataset` (which must exist), else by
/// `dataset_name` when the project has one so named.
fn resolve_dataset(
    tx: &Connection,
    project: Uuid,
    run: &RunRow,
) -> Result<(Option<String>, Option<String>), StoreError> {
    if let Some(dataset) = &run.dataset {
        let found = load_dataset(tx, project, dataset)?;
        return Ok((
            Some(found.detail.id.to_string()),
            Some(found.detail.name.clone()),
        ));
    }
    let Some(name) = &run.dataset_name else {
        return Ok((None, None));
    };
    let id: Option<String> = tx
        .prepare_cached("SELECT id FROM datasets WHERE project_id = ?1 AND name = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![project.to_string(), name], |row| row.get(0))
                .optional()
        })
        .map_err(backend)?;
    Ok((id, Some(name.clone())))
}

fn upsert_run(
    tx: &Connection,
    project: Uuid,
    actor: Uuid,
    run: &RunRow,
) -> Result<Uuid, StoreError> {
    let (dataset_id, dataset_name) = resolve_dataset(tx, project, run)?;
    let doc = serde_json::to_string(&run.doc).unwrap_or_else(|_| "{}".to_owned());
    let id: String = tx
        .prepare_cached(
            "INSERT INTO experiments (id, project_id, trace_id, span_id, source, name, task_name,
                 dataset_id, dataset_name, dataset_version, doc, started_at, ended_at, created_at,
                 created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (project_id, trace_id, span_id) DO UPDATE SET
                 name = excluded.name, task_name = excluded.task_name,
                 dataset_id = excluded.dataset_id, dataset_name = excluded.dataset_name,
                 dataset_version = excluded.dataset_version, doc = excluded.doc,
                 started_at = excluded.started_at, ended_at = excluded.ended_at
             RETURNING id",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    Uuid::now_v7().to_string(),
                    project.to_string(),
                    run.trace_id,
                    run.span_id,
                    source_text(run.source),
                    run.name,
                    run.task_name,
                    dataset_id,
                    dataset_name,
                    run.dataset_version,
                    doc,
                    format_ts(run.started_at),
                    format_ts(run.ended_at),
                    format_ts(now()),
                    actor.to_string(),
                ],
                |row| row.get(0),
            )
        })
        .map_err(backend)?;
    parse_uuid(&id).map_err(backend)
}

fn upsert_case(tx: &Connection, project: Uuid, case: &CaseRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO experiment_cases
             (project_id, trace_id, parent_span_id, span_id, seq, failed, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (project_id, trace_id, parent_span_id, span_id) DO UPDATE SET
             seq = excluded.seq, failed = excluded.failed, body = excluded.body",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            project.to_string(),
            case.trace_id,
            case.parent_span_id,
            case.span_id,
            case.seq,
            case.failed,
            case.body,
        ])
    })
    .map_err(backend)?;
    Ok(())
}

fn load_run(conn: &Connection, project: Uuid, id: Uuid) -> Result<StoredRun, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM experiments WHERE project_id = ?1 AND id = ?2"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![project.to_string(), id.to_string()], run_from_row)
            .optional()
    })
    .map_err(backend)?
    .map(|(_, run)| run)
    .ok_or(StoreError::ExperimentNotFound)
}

pub(super) async fn ingest_spans(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    rows: SpanRows,
) -> Result<(), StoreError> {
    store
        .write(move |tx, _| {
            for run in &rows.runs {
                upsert_run(tx, project, actor, run)?;
            }
            for case in &rows.cases {
                upsert_case(tx, project, case)?;
            }
            Ok(())
        })
        .await
}

pub(super) async fn record_experiment(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    run: RunRow,
    cases: Vec<CaseRow>,
    idempotency: Option<Idempotency>,
) -> Result<Written<Experiment>, StoreError> {
    store
        .write(move |tx, _| {
            if let Some(idempotency) = &idempotency
                && let Some(answer) = idempotency::replay(tx, project, idempotency)?
            {
                let experiment = serde_json::from_str(&answer)
                    .map_err(|err| StoreError::Backend(format!("stored answer: {err}")))?;
                return Ok(Written::Replayed(experiment));
            }
            let id = upsert_run(tx, project, actor, &run)?;
            for case in &cases {
                upsert_case(tx, project, case)?;
            }
            let experiment = load_run(tx, project, id)?.to_wire();
            if let Some(idempotency) = &idempotency {
                let answer = serde_json::to_string(&experiment)
                    .map_err(|err| StoreError::Backend(err.to_string()))?;
                idempotency::remember(tx, project, idempotency, &answer)?;
            }
            Ok(Written::Fresh(experiment))
        })
        .await
}

pub(super) async fn list_experiments(
    store: &SqliteStore,
    project: Uuid,
    filter: ExperimentFilter,
    before: Option<i64>,
    limit: usize,
) -> Result<ExperimentPage, StoreError> {
    store
        .read(move |conn| {
            let (clause, value) = match &filter {
                ExperimentFilter::All => ("?2 IS NULL", None),
                ExperimentFilter::DatasetId(id) => ("dataset_id = ?2", Some(id.to_string())),
                ExperimentFilter::DatasetName(name) => ("dataset_name = ?2", Some(name.clone())),
            };
            let sql = format!(
                "SELECT {RUN_COLUMNS} FROM experiments
                 WHERE project_id = ?1 AND {clause} AND pk < ?3
                 ORDER BY pk DESC LIMIT ?4"
            );
            let runs: Vec<(i64, StoredRun)> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![
                            project.to_string(),
                            value,
                            before.unwrap_or(i64::MAX),
                            (limit + 1) as i64
                        ],
                        run_from_row,
                    )?
                    .collect()
                })
                .map_err(backend)?;
            Ok(ExperimentPage::of(runs, limit))
        })
        .await
}

pub(super) async fn get_experiment(
    store: &SqliteStore,
    project: Uuid,
    id: Uuid,
    after: Option<(i64, i64)>,
    limit: usize,
) -> Result<ExperimentCases, StoreError> {
    store
        .read_snapshot(move |conn| {
            let run = load_run(conn, project, id)?;
            let keys = params![project.to_string(), run.row.trace_id, run.row.span_id];
            let (mut case_count, mut failure_count) = (0u64, 0u64);
            conn.prepare_cached(
                "SELECT failed, COUNT(*) FROM experiment_cases
                 WHERE project_id = ?1 AND trace_id = ?2 AND parent_span_id = ?3
                 GROUP BY failed",
            )
            .and_then(|mut stmt| {
                let mut rows = stmt.query(keys)?;
                while let Some(row) = rows.next()? {
                    let (failed, count): (bool, i64) = (row.get(0)?, row.get(1)?);
                    *if failed {
                        &mut failure_count
                    } else {
                        &mut case_count
                    } = count as u64;
                }
                Ok(())
            })
            .map_err(backend)?;
            let (seq, pk) = after.unwrap_or((i64::MIN, i64::MIN));
            let rows: Vec<(i64, i64, bool, String)> = conn
                .prepare_cached(
                    "SELECT seq, pk, failed, body FROM experiment_cases
                     WHERE project_id = ?1 AND trace_id = ?2 AND parent_span_id = ?3
                       AND (seq, pk) > (?4, ?5)
                     ORDER BY seq, pk LIMIT ?6",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![
                            project.to_string(),
                            run.row.trace_id,
                            run.row.span_id,
                            seq,
                            pk,
                            (limit + 1) as i64
                        ],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                    )?
                    .collect()
                })
                .map_err(backend)?;
            Ok(ExperimentCases::of(
                &run,
                (case_count, failure_count),
                rows,
                limit,
            ))
        })
        .await
}

pub(super) async fn delete_experiment(
    store: &SqliteStore,
    project: Uuid,
    id: Uuid,
) -> Result<(), StoreError> {
    store
        .write(move |tx, _| {
            let run = load_run(tx, project, id)?;
            tx.execute(
                "DELETE FROM experiment_cases
                 WHERE project_id = ?1 AND trace_id = ?2 AND parent_span_id = ?3",
                params![project.to_string(), run.row.trace_id, run.row.span_id],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM experiments WHERE project_id = ?1 AND id = ?2",
                params![project.to_string(), id.to_string()],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
}
