//! Case writes: inserted by `COPY ... FROM STDIN BINARY` (upserts by
//! `INSERT ... SELECT FROM unnest(...) ON CONFLICT`), while a second thread
//! checks the next ones against the schemas; updated and deleted under row
//! locks. Each write makes the dataset's next version.

use std::collections::HashMap;
use std::sync::Arc;

use datasets_core::wire::{CaseUpdate, OnConflict, Timestamp};
use deadpool_postgres::{GenericClient, Transaction};
use tokio::sync::mpsc;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::idempotency::{claim, remember};
use super::rows::*;
use super::versions::NewVersion;
use super::{PostgresStore, commit, pg};
use crate::rules::cases::{EncodedCase, each_valid_case_here};
use crate::rules::check_version;
use crate::rules::datasets::case_name_taken;
use crate::rules::merge::merge_update;
use crate::store::{
    CaseRecord, CaseSelector, Idempotency, IncomingCases, InsertMode, StoreError, Written,
};
use crate::validation::CompiledSchemas;

/// Cases per batch handed from the checking thread to the writer.
const BATCH: usize = 256;

/// The compiled schemas of a dataset, from the cache.
fn compiled(
    store: &PostgresStore,
    dataset: &DatasetRow,
) -> Result<Arc<CompiledSchemas>, StoreError> {
    crate::rules::compiled_schemas(
        &store.inner.schemas,
        &dataset.detail,
        dataset.schema_version,
    )
}

/// Cases by id, in the order given; ids no longer there are skipped.
async fn load_cases_by_id(
    tx: &Transaction<'_>,
    dataset: &DatasetRow,
    ids: &[Uuid],
) -> Result<Vec<CaseRecord>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, ord)
         JOIN cases c ON c.id = u.id AND c.dataset_pk = $1 ORDER BY u.ord"
    );
    tx.query(sql.as_str(), &[&dataset.pk, &ids])
        .await
        .map_err(pg)?
        .iter()
        .map(|row| case_from_row(row, dataset.detail.id).map(|(_, case)| case))
        .collect()
}

/// What every case of one write shares: when, and by whom.
struct Stamp {
    at: Timestamp,
    actor: Uuid,
    /// The dataset version the write makes.
    version: i64,
}

impl Stamp {
    fn record(&self, dataset_id: Uuid, case: EncodedCase) -> CaseRecord {
        case.into_record(dataset_id, self.at, self.actor)
    }
}

pub(super) async fn insert_cases(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    cases: Arc<IncomingCases>,
    mode: InsertMode,
    idempotency: Option<&Idempotency>,
) -> Result<Written<Vec<CaseRecord>>, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    // Beside other case writes, never beside a schema change: the schemas
    // read here stay the dataset's until this transaction ends.
    let dataset = load_dataset(&tx, project, dataset, Lock::KeyShare).await?;
    if let Some(idempotency) = idempotency
        && let Some(answer) = claim(&tx, project, idempotency).await?
    {
        let ids: Vec<Uuid> = serde_json::from_str(&answer)
            .map_err(|err| StoreError::Backend(format!("stored answer: {err}")))?;
        return Ok(Written::Replayed(
            load_cases_by_id(&tx, &dataset, &ids).await?,
        ));
    }
    let schemas = compiled(store, &dataset)?;
    let mut version = NewVersion::start(&tx, dataset.pk).await?;
    let stamp = Stamp {
        at: now(),
        actor,
        version: version.number,
    };
    // The cases are checked and encoded on a blocking thread, in batches,
    // while this task writes the batches before.
    let (batches_tx, mut batches) = mpsc::channel::<Vec<EncodedCase>>(4);
    let checker = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(BATCH);
        let mut writer_stopped = false;
        each_valid_case_here(&schemas, &cases, &mut |case| {
            batch.push(case);
            if batch.len() == BATCH
                && batches_tx
                    .blocking_send(std::mem::take(&mut batch))
                    .is_err()
            {
                writer_stopped = true;
                return false;
            }
            true
        })?;
        if writer_stopped {
            return Err(StoreError::Backend("the case writer stopped".to_owned()));
        }
        if !batch.is_empty() {
            // The writer may have stopped after an error of its own.
            let _ = batches_tx.blocking_send(batch);
        }
        Ok::<(), StoreError>(())
    });
    let upsert = mode == InsertMode::Import(OnConflict::Update);
    let written = if upsert {
        upsert_batches(&tx, &dataset, &stamp, &mut version, &mut batches).await
    } else {
        copy_batches(&tx, &dataset, &stamp, &mut batches).await
    };
    // Stops the checker if the writer failed.
    drop(batches);
    let checked = checker
        .await
        .map_err(|err| StoreError::Backend(format!("case check failed: {err}")))?;
    // A failed write (a taken name) came before the first invalid case,
    // since nothing after that is written: it is the answer, as it would
    // be with one writer going case by case.
    let (records, inserted) = written?;
    checked?;
    tx.execute(
        "UPDATE datasets SET case_count = case_count + $2 WHERE pk = $1",
        &[&dataset.pk, &inserted],
    )
    .await
    .map_err(pg)?;
    version.added = inserted;
    version.finish(&tx, store, stamp.at, actor).await?;
    // A repeat answers with these cases as they are then.
    if let Some(idempotency) = idempotency {
        let ids: Vec<Uuid> = records.iter().map(|case| case.id).collect();
        remember(&tx, project, idempotency, &json_text(&ids)).await?;
    }
    commit(tx).await?;
    Ok(Written::Fresh(records))
}

/// New cases, copied in; a taken name fails the copy (409).
async fn copy_batches(
    tx: &Transaction<'_>,
    dataset: &DatasetRow,
    stamp: &Stamp,
    batches: &mut mpsc::Receiver<Vec<EncodedCase>>,
) -> Result<(Vec<CaseRecord>, i64), StoreError> {
    let sink = tx
        .copy_in(
            "COPY cases (id, dataset_pk, name, inputs, expected_output, metadata, evaluators,
                 source_trace_id, source_span_id, tags, version, created_at, updated_at,
                 created_by, updated_by, from_version) FROM STDIN BINARY",
        )
        .await
        .map_err(pg)?;
    let types = [
        Type::UUID,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::UUID,
        Type::UUID,
        Type::INT8,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    let mut records = Vec::new();
    let taken = |err: tokio_postgres::Error| {
        if is_unique_violation(&err) {
            StoreError::Conflict(case_name_taken(&violating_name(&err).unwrap_or_default()))
        } else {
            pg(err)
        }
    };
    let no_tags = Vec::<String>::new();
    while let Some(batch) = batches.recv().await {
        for case in batch {
            let record = stamp.record(dataset.detail.id, case);
            let version = 1i64;
            let tags = if record.tags.is_empty() {
                &no_tags
            } else {
                &record.tags
            };
            writer
                .as_mut()
                .write(&[
                    &record.id,
                    &dataset.pk,
                    &record.name,
                    &record.inputs,
                    &record.expected_output,
                    &record.metadata,
                    &record.evaluators,
                    &record.source_trace_id,
                    &record.source_span_id,
                    tags,
                    &version,
                    &record.created_at,
                    &record.updated_at,
                    &record.created_by,
                    &record.updated_by,
                    &stamp.version,
                ])
                .await
                .map_err(taken)?;
            records.push(record);
        }
    }
    writer.as_mut().finish().await.map_err(taken)?;
    let inserted = records.len() as i64;
    Ok((records, inserted))
}

/// Cases imported with `on_conflict=update`: a case whose name exists
/// replaces its pydantic-evals fields (inputs, expected output, metadata,
/// evaluators); tags and source ids are kept unless the import gives them.
async fn upsert_batches(
    tx: &Transaction<'_>,
    dataset: &DatasetRow,
    stamp: &Stamp,
    version: &mut NewVersion,
    batches: &mut mpsc::Receiver<Vec<EncodedCase>>,
) -> Result<(Vec<CaseRecord>, i64), StoreError> {
    let mut records = Vec::new();
    let mut inserted = 0i64;
    let mut round: Vec<EncodedCase> = Vec::new();
    // The names of the round, to see a repeat without a scan.
    let mut names = std::collections::HashSet::new();
    while let Some(batch) = batches.recv().await {
        for case in batch {
            // One statement may not touch a row twice, and gives or keeps
            // the tags of all its cases: a repeated name or a change of
            // that starts the next statement.
            let repeats = case.name.as_ref().is_some_and(|name| names.contains(name));
            let tags_differ = round
                .first()
                .is_some_and(|first| first.tags.is_some() != case.tags.is_some());
            if repeats || tags_differ || round.len() >= BATCH {
                names.clear();
                let round = std::mem::take(&mut round);
                inserted += upsert_round(tx, dataset, stamp, version, round, &mut records).await?;
            }
            names.extend(case.name.clone());
            round.push(case);
        }
    }
    if !round.is_empty() {
        inserted += upsert_round(tx, dataset, stamp, version, round, &mut records).await?;
    }
    Ok((records, inserted))
}

/// One upsert statement; appends the written cases in the order given and
/// answers how many were new.
async fn upsert_round(
    tx: &Transaction<'_>,
    dataset: &DatasetRow,
    stamp: &Stamp,
    version: &mut NewVersion,
    round: Vec<EncodedCase>,
    records: &mut Vec<CaseRecord>,
) -> Result<i64, StoreError> {
    // Cases the upsert would leave equal are not written: no new case
    // version, and they count as no change. The dataset's row is locked by
    // the version this write makes, so they cannot change meanwhile.
    let mut unchanged: HashMap<String, CaseRecord> = HashMap::new();
    let named: Vec<&str> = round
        .iter()
        .filter_map(|case| case.name.as_deref())
        .collect();
    if !named.is_empty() {
        let by_name: HashMap<&str, &EncodedCase> = round
            .iter()
            .filter_map(|case| case.name.as_deref().map(|name| (name, case)))
            .collect();
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.dataset_pk = $1 AND c.name = ANY($2::text[])"
        );
        let statement = tx.prepare_cached(&sql).await.map_err(pg)?;
        for row in tx
            .query(&statement, &[&dataset.pk, &named])
            .await
            .map_err(pg)?
        {
            let (_, current) = case_from_row(&row, dataset.detail.id)?;
            if let Some(name) = current.name.clone()
                && by_name
                    .get(name.as_str())
                    .is_some_and(|case| !case.changes(&current))
            {
                unchanged.insert(name, current);
            }
        }
    }
    // The answer keeps the request's order, written and unchanged alike.
    let order: Vec<(Option<String>, Uuid)> = round
        .iter()
        .map(|case| (case.name.clone(), case.id))
        .collect();
    let round: Vec<EncodedCase> = round
        .into_iter()
        .filter(|case| {
            !case
                .name
                .as_ref()
                .is_some_and(|name| unchanged.contains_key(name))
        })
        .collect();
    if round.is_empty() {
        records.extend(
            order
                .iter()
                .filter_map(|(name, _)| name.as_ref().and_then(|name| unchanged.remove(name))),
        );
        return Ok(0);
    }
    let gives_tags = round.first().is_some_and(|case| case.tags.is_some());
    let tags_update = if gives_tags {
        "EXCLUDED.tags"
    } else {
        "c.tags"
    };
    let sql = format!(
        "INSERT INTO cases AS c (id, dataset_pk, name, inputs, expected_output, metadata,
             evaluators, source_trace_id, source_span_id, tags, version, created_at, updated_at,
             created_by, updated_by, from_version)
         SELECT u.id, $1, u.name, u.inputs, u.expected_output, u.metadata, u.evaluators,
             u.source_trace_id, u.source_span_id,
             ARRAY(SELECT json_array_elements_text(u.tags::json)), 1, $2, $2, $3, $3, $13
         FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
             $10::text[], $11::text[], $12::text[])
             AS u(id, name, inputs, expected_output, metadata, evaluators, source_trace_id,
                  source_span_id, tags)
         ON CONFLICT (dataset_pk, name) WHERE name IS NOT NULL DO UPDATE SET
             inputs = EXCLUDED.inputs, expected_output = EXCLUDED.expected_output,
             metadata = EXCLUDED.metadata, evaluators = EXCLUDED.evaluators,
             source_trace_id = COALESCE(EXCLUDED.source_trace_id, c.source_trace_id),
             source_span_id = COALESCE(EXCLUDED.source_span_id, c.source_span_id),
             tags = {tags_update}, version = c.version + 1,
             updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by,
             from_version = EXCLUDED.from_version
         RETURNING {CASE_RETURNING}, (xmax = 0)"
    );
    let column = |f: &dyn Fn(&EncodedCase) -> Option<String>| -> Vec<Option<String>> {
        round.iter().map(f).collect()
    };
    let ids: Vec<Uuid> = round.iter().map(|case| case.id).collect();
    let names = column(&|case| case.name.clone());
    let inputs = column(&|case| Some(case.inputs.clone()));
    let expected = column(&|case| case.expected_output.clone());
    let metadata = column(&|case| case.metadata.clone());
    let evaluators = column(&|case| case.evaluators.clone());
    let traces = column(&|case| case.source_trace_id.clone());
    let spans = column(&|case| case.source_span_id.clone());
    let tags = column(&|case| Some(json_text(&case.tags.as_deref().unwrap_or_default())));
    // The cases this round replaces are kept as they were first.
    version.changed += version
        .archive(tx, "c.name = ANY($3::text[])", &[&names])
        .await?;
    let rows = tx
        .query(
            sql.as_str(),
            &[
                &dataset.pk,
                &stamp.at,
                &stamp.actor,
                &ids,
                &names,
                &inputs,
                &expected,
                &metadata,
                &evaluators,
                &traces,
                &spans,
                &tags,
                &stamp.version,
            ],
        )
        .await
        .map_err(pg)?;
    // Rows come back in no promised order: new ones are found by id,
    // updated ones (which keep their id) by name, unique in the round.
    let mut by_id = HashMap::new();
    let mut by_name = HashMap::new();
    let mut inserted = 0;
    for row in &rows {
        let (_, record) = case_from_row(row, dataset.detail.id)?;
        if row.get::<_, bool>(15) {
            inserted += 1;
        }
        match record.name.clone() {
            Some(name) => by_name.insert(name, record),
            None => by_id.insert(record.id, record),
        };
    }
    for (name, id) in order {
        let found = match &name {
            Some(name) => unchanged.remove(name).or_else(|| by_name.remove(name)),
            None => by_id.remove(&id),
        };
        records.push(
            found.ok_or_else(|| {
                StoreError::Backend("an upserted case was not returned".to_owned())
            })?,
        );
    }
    Ok(inserted)
}

pub(super) async fn update_case(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    case: Uuid,
    update: CaseUpdate,
    expected_version: Option<i64>,
) -> Result<CaseRecord, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    let dataset = load_dataset(&tx, project, dataset, Lock::KeyShare).await?;
    // Locked: a concurrent conditional write waits, then sees the new version.
    let (pk, current) = load_case(&tx, &dataset, case, true).await?;
    check_version(expected_version, current.version)?;
    // Stored values satisfy the current schemas, so only new values need checking.
    let schemas = compiled(store, &dataset)?;
    let merged = merge_update(&current, update, &schemas)?;
    if !merged.changes(&current) {
        return Ok(current);
    }
    let mut version = NewVersion::start(&tx, dataset.pk).await?;
    version.changed = version.archive(&tx, "c.pk = $3", &[&pk]).await?;
    let at = now();
    let sql = format!(
        "UPDATE cases SET name = $2, inputs = $3, expected_output = $4, metadata = $5,
             evaluators = $6, source_trace_id = $7, source_span_id = $8, tags = $9,
             version = version + 1, updated_at = $10, updated_by = $11, from_version = $12
         WHERE pk = $1
         RETURNING {CASE_RETURNING}"
    );
    let row = tx
        .query_one(
            sql.as_str(),
            &[
                &pk,
                &merged.name,
                &merged.inputs,
                &merged.expected_output,
                &merged.metadata,
                &merged.evaluators,
                &merged.source_trace_id,
                &merged.source_span_id,
                &merged.tags,
                &at,
                &actor,
                &version.number,
            ],
        )
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::Conflict(case_name_taken(merged.name.as_deref().unwrap_or_default()))
            } else {
                pg(err)
            }
        })?;
    let (_, record) = case_from_row(&row, dataset.detail.id)?;
    version.finish(&tx, store, at, actor).await?;
    commit(tx).await?;
    Ok(record)
}

pub(super) async fn delete_cases(
    store: &PostgresStore,
    (project, actor): (Uuid, Uuid),
    dataset: &str,
    selector: &CaseSelector,
    idempotency: Option<&Idempotency>,
) -> Result<Written<u64>, StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    let dataset = load_dataset(&tx, project, dataset, Lock::KeyShare).await?;
    if let Some(idempotency) = idempotency
        && let Some(answer) = claim(&tx, project, idempotency).await?
    {
        let deleted: u64 = answer
            .parse()
            .map_err(|err| StoreError::Backend(format!("stored answer: {err}")))?;
        return Ok(Written::Replayed(deleted));
    }
    let mut version = NewVersion::start(&tx, dataset.pk).await?;
    match selector {
        CaseSelector::Ids(ids) => {
            version
                .archive(&tx, "c.id = ANY($3::uuid[])", &[ids])
                .await?
        }
        CaseSelector::Tags(tags) => {
            version
                .archive(&tx, "c.tags && $3::text[]", &[tags])
                .await?
        }
    };
    let deleted = match selector {
        CaseSelector::Ids(ids) => {
            tx.execute(
                "DELETE FROM cases WHERE dataset_pk = $1 AND id = ANY($2::uuid[])",
                &[&dataset.pk, ids],
            )
            .await
        }
        CaseSelector::Tags(tags) => {
            tx.execute(
                "DELETE FROM cases WHERE dataset_pk = $1 AND tags && $2::text[]",
                &[&dataset.pk, tags],
            )
            .await
        }
    }
    .map_err(pg)?;
    tx.execute(
        "UPDATE datasets SET case_count = case_count - $2 WHERE pk = $1",
        &[&dataset.pk, &(deleted as i64)],
    )
    .await
    .map_err(pg)?;
    version.removed = deleted as i64;
    version.finish(&tx, store, now(), actor).await?;
    if let Some(idempotency) = idempotency {
        remember(&tx, project, idempotency, &deleted.to_string()).await?;
    }
    commit(tx).await?;
    Ok(Written::Fresh(deleted))
}

pub(super) async fn delete_case(
    store: &PostgresStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    case: Uuid,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(pg)?;
    let dataset = load_dataset(&tx, project, dataset, Lock::KeyShare).await?;
    let (pk, current) = load_case(&tx, &dataset, case, true).await?;
    check_version(expected_version, current.version)?;
    let mut version = NewVersion::start(&tx, dataset.pk).await?;
    version.removed = version.archive(&tx, "c.pk = $3", &[&pk]).await?;
    tx.execute("DELETE FROM cases WHERE pk = $1", &[&pk])
        .await
        .map_err(pg)?;
    tx.execute(
        "UPDATE datasets SET case_count = case_count - 1 WHERE pk = $1",
        &[&dataset.pk],
    )
    .await
    .map_err(pg)?;
    version.finish(&tx, store, now(), actor).await?;
    commit(tx).await?;
    Ok(())
}
