//! Cases: inserting (checked and encoded by the rules), listing and
//! streaming from one snapshot, updating, deleting.

use datasets_core::wire::{CaseUpdate, DatasetDetail, OnConflict, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::idempotency::{remember, replay};
use super::rows::*;
use super::versions::{
    NewVersion, cases_at_query, cases_at_values, detail_at, load_case_at, resolve,
};
use super::{STREAM_BATCH, SqliteStore, backend};
use crate::rules::cases::{EncodedCase, each_valid_case};
use crate::rules::check_version;
use crate::rules::merge::merge_update;
use crate::store::{
    CaseFilter, CasePage, CasePosition, CaseRecord, CaseSelector, CaseStream, Idempotency,
    IncomingCases, InsertMode, StoreError, VersionRef, Written,
};

pub(super) fn replace_tags(
    conn: &Connection,
    dataset_pk: i64,
    case_pk: i64,
    tags: &[String],
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM case_tags WHERE case_pk = ?1")
        .and_then(|mut stmt| stmt.execute([case_pk]))
        .map_err(backend)?;
    insert_tags(conn, dataset_pk, case_pk, tags)
}

/// The statement that indexes a case's tags.
pub(super) const INSERT_TAG: &str =
    "INSERT OR IGNORE INTO case_tags (case_pk, dataset_pk, tag) VALUES (?1, ?2, ?3)";

/// Indexes a new case's tags.
pub(super) fn insert_tags(
    conn: &Connection,
    dataset_pk: i64,
    case_pk: i64,
    tags: &[String],
) -> Result<(), StoreError> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(INSERT_TAG).map_err(backend)?;
    write_tags(&mut insert, dataset_pk, case_pk, tags)
}

pub(super) fn write_tags(
    insert: &mut rusqlite::Statement<'_>,
    dataset_pk: i64,
    case_pk: i64,
    tags: &[String],
) -> Result<(), StoreError> {
    for tag in tags {
        insert
            .execute(params![case_pk, dataset_pk, tag])
            .map_err(backend)?;
    }
    Ok(())
}

/// What every case of one write shares: when, and by whom.
pub(super) struct Stamp {
    at: Timestamp,
    at_text: String,
    actor: Uuid,
    actor_text: String,
    /// The dataset version the write makes.
    version: i64,
}

impl Stamp {
    fn new(actor: Uuid, version: i64) -> Self {
        let at = now();
        Self {
            at,
            at_text: format_ts(at),
            actor,
            actor_text: actor.to_string(),
            version,
        }
    }
}

/// The statements that write new cases, prepared once per request rather
/// than looked up in the statement cache for every case.
pub(super) struct CaseInserts<'c> {
    conn: &'c Connection,
    case: rusqlite::CachedStatement<'c>,
    tag: rusqlite::CachedStatement<'c>,
}

impl<'c> CaseInserts<'c> {
    fn new(conn: &'c Connection) -> Result<Self, StoreError> {
        Ok(Self {
            conn,
            case: conn
                .prepare_cached(
                    "INSERT INTO cases (id, dataset_pk, name, inputs, expected_output, metadata,
                         evaluators, source_trace_id, source_span_id, tags, version, created_at,
                         updated_at, created_by, updated_by, from_version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11, ?12, ?12, ?13)",
                )
                .map_err(backend)?,
            tag: conn.prepare_cached(INSERT_TAG).map_err(backend)?,
        })
    }
}

pub(super) fn insert_case(
    inserts: &mut CaseInserts<'_>,
    dataset: &DatasetRow,
    stamp: &Stamp,
    case: EncodedCase,
) -> Result<(i64, CaseRecord), StoreError> {
    let record = case.into_record(dataset.detail.id, stamp.at, stamp.actor);
    let mut id = uuid::Uuid::encode_buffer();
    inserts
        .case
        .execute(params![
            &*record.id.hyphenated().encode_lower(&mut id),
            dataset.pk,
            record.name,
            record.inputs,
            record.expected_output,
            record.metadata,
            record.evaluators,
            record.source_trace_id,
            record.source_span_id,
            to_json_text(&record.tags),
            stamp.at_text,
            stamp.actor_text,
            stamp.version,
        ])
        .map_err(|err| match err {
            rusqlite::Error::SqliteFailure(e, _)
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                name_taken(record.name.as_deref().unwrap_or_default())
            }
            other => backend(other),
        })?;
    let pk = inserts.conn.last_insert_rowid();
    write_tags(&mut inserts.tag, dataset.pk, pk, &record.tags)?;
    Ok((pk, record))
}

/// Replaces the content of an existing case with an imported one. The
/// pydantic-evals fields (inputs, expected output, metadata, evaluators) are
/// replaced wholesale, as a push makes the hosted case match the local one;
/// tags and source ids, which pydantic-evals cases do not carry, are kept
/// unless the import gives them.
pub(super) fn overwrite_case(
    tx: &Connection,
    dataset: &DatasetRow,
    pk: i64,
    stamp: &Stamp,
    version: &mut NewVersion,
    case: EncodedCase,
) -> Result<CaseRecord, StoreError> {
    version.changed += version.archive(tx, "c.pk = ?3", &[&pk])?;
    let tags_json = case.tags.as_ref().map(to_json_text);
    let sql = format!(
        "UPDATE cases SET inputs = ?2, expected_output = ?3, metadata = ?4, evaluators = ?5,
             source_trace_id = COALESCE(?6, source_trace_id),
             source_span_id = COALESCE(?7, source_span_id),
             tags = COALESCE(?8, tags),
             version = version + 1, updated_at = ?9, updated_by = ?10, from_version = ?11
         WHERE pk = ?1
         RETURNING {CASE_RETURNING}"
    );
    let (_, record) = tx
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    pk,
                    case.inputs,
                    case.expected_output,
                    case.metadata,
                    case.evaluators,
                    case.source_trace_id,
                    case.source_span_id,
                    tags_json,
                    stamp.at_text,
                    stamp.actor_text,
                    stamp.version,
                ],
                |row| case_from_row(row, dataset.detail.id),
            )
        })
        .map_err(backend)?;
    if let Some(tags) = &case.tags {
        replace_tags(tx, dataset.pk, pk, tags)?;
    }
    Ok(record)
}

/// The cases of the dataset `?1` that `filter` keeps, tags bound from `?2`.
pub(super) fn cases_query(filter: &CaseFilter) -> String {
    let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.dataset_pk = ?1");
    if !filter.tags.is_empty() {
        let marks: Vec<String> = (0..filter.tags.len())
            .map(|i| format!("?{}", i + 2))
            .collect();
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM case_tags t WHERE t.case_pk = c.pk AND t.dataset_pk = ?1 \
             AND t.tag IN ({}))",
            marks.join(", ")
        ));
    }
    sql
}

/// Streams a dataset and its cases from one read transaction: the dataset
/// (or why it can't be read) goes to `head`, the cases in batches to `rows`.
pub(super) fn stream_snapshot(
    conn: &Connection,
    project: Uuid,
    dataset: &str,
    filter: &CaseFilter,
    head: oneshot::Sender<Result<DatasetDetail, StoreError>>,
    rows: &mpsc::Sender<Result<Vec<CaseRecord>, StoreError>>,
) {
    if let Err(err) = conn.execute_batch("BEGIN DEFERRED") {
        let _ = head.send(Err(backend(err)));
        return;
    }
    let result = (|| {
        let dataset = match load_dataset(conn, project, dataset) {
            Ok(dataset) => dataset,
            Err(err) => {
                let _ = head.send(Err(err));
                return Ok(());
            }
        };
        let at = match &filter.version {
            Some(at) => match resolve(conn, &dataset, at)
                .and_then(|n| Ok((n, detail_at(conn, &dataset, n)?)))
            {
                Ok(found) => Some(found),
                Err(err) => {
                    let _ = head.send(Err(err));
                    return Ok(());
                }
            },
            None => None,
        };
        let detail = at.as_ref().map_or(&dataset.detail, |(_, detail)| detail);
        if head.send(Ok(detail.clone())).is_err() {
            return Ok(());
        }
        let version = at.map_or(dataset.version, |(n, _)| n);
        let (start, all) = (0i64, -1i64);
        let (sql, mut values): (String, Vec<&dyn rusqlite::ToSql>) = if version == dataset.version {
            let mut values: Vec<&dyn rusqlite::ToSql> = vec![&dataset.pk];
            values.extend(filter.tags.iter().map(|tag| tag as &dyn rusqlite::ToSql));
            (format!("{} ORDER BY c.pk", cases_query(filter)), values)
        } else {
            (
                cases_at_query(filter.tags.len()),
                cases_at_values(&dataset.pk, &version, &start, &all, &filter.tags),
            )
        };
        let mut stmt = conn.prepare(&sql)?;
        let mut cursor = stmt.query(values.as_slice())?;
        values.clear();
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        while let Some(row) = cursor.next()? {
            batch.push(case_from_row(row, dataset.detail.id)?.1);
            if batch.len() == STREAM_BATCH
                && rows.blocking_send(Ok(std::mem::take(&mut batch))).is_err()
            {
                return Ok(());
            }
        }
        if !batch.is_empty() {
            let _ = rows.blocking_send(Ok(batch));
        }
        Ok::<(), rusqlite::Error>(())
    })();
    if let Err(err) = result {
        let _ = rows.blocking_send(Err(backend(err)));
    }
    let _ = conn.execute_batch("COMMIT");
}

pub(super) async fn stream_cases(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    filter: CaseFilter,
) -> Result<(DatasetDetail, CaseStream), StoreError> {
    let dataset = dataset.to_owned();
    let permit = store.inner.reader_permit().await?;
    let inner = store.inner.clone();
    let (head_tx, head_rx) = oneshot::channel();
    let (rows_tx, rows_rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let conn = match inner.take_reader() {
            Ok(conn) => conn,
            Err(err) => {
                let _ = head_tx.send(Err(err));
                return;
            }
        };
        stream_snapshot(&conn, project, &dataset, &filter, head_tx, &rows_tx);
        inner.put_reader(conn);
    });
    crate::store::handed_over_stream(head_rx, rows_rx).await
}

pub(super) async fn page_cases(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    filter: CaseFilter,
    after: Option<CasePosition>,
    limit: usize,
) -> Result<CasePage, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read_snapshot(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            let at_version = filter
                .version
                .as_ref()
                .map(|at| resolve(conn, &dataset, at))
                .transpose()?;
            // At the head version the live rows are that version, and this
            // snapshot reads them as one: the faster query below.
            if let Some(n) = at_version
                && n != dataset.version
            {
                let after = after.map_or(0, |position| position.0);
                let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
                let values = cases_at_values(&dataset.pk, &n, &after, &fetch, &filter.tags);
                let rows = conn
                    .prepare_cached(&cases_at_query(filter.tags.len()))
                    .and_then(|mut stmt| {
                        stmt.query_map(values.as_slice(), |row| {
                            case_from_row(row, dataset.detail.id)
                        })?
                        .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(backend)?;
                let mut page = CasePage::from_fetched(dataset.detail.id, rows, limit, after);
                page.version = Some(n as u64);
                return Ok(page);
            }
            let head_version = at_version.map(|n| n as u64);
            let sql = format!(
                "{} AND c.pk > ?{} ORDER BY c.pk LIMIT ?{}",
                cases_query(&filter),
                filter.tags.len() + 2,
                filter.tags.len() + 3
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let after = after.map_or(0, |position| position.0);
            // One more than asked, to know whether a next page exists.
            let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
            let mut values: Vec<&dyn rusqlite::ToSql> = vec![&dataset.pk];
            values.extend(filter.tags.iter().map(|tag| tag as &dyn rusqlite::ToSql));
            values.push(&after);
            values.push(&fetch);
            let rows = stmt
                .query_map(values.as_slice(), |row| {
                    case_from_row(row, dataset.detail.id)
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend)?;
            let mut page = CasePage::from_fetched(dataset.detail.id, rows, limit, after);
            page.version = head_version;
            Ok(page)
        })
        .await
}

pub(super) async fn get_case(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    case: Uuid,
    at: Option<VersionRef>,
) -> Result<CaseRecord, StoreError> {
    let dataset = dataset.to_owned();
    store
        .read_snapshot(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            match &at {
                Some(at) => load_case_at(conn, &dataset, case, at),
                None => Ok(load_case(conn, &dataset, case)?.1),
            }
        })
        .await
}

pub(super) async fn insert_cases(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    cases: IncomingCases,
    mode: InsertMode,
    idempotency: Option<Idempotency>,
) -> Result<Written<Vec<CaseRecord>>, StoreError> {
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            if let Some(idempotency) = &idempotency
                && let Some(answer) = replay(tx, project, idempotency)?
            {
                let pks: Vec<i64> = serde_json::from_str(&answer).map_err(backend)?;
                return Ok(Written::Replayed(load_cases_by_pk(tx, &dataset, &pks)?));
            }
            let schemas = inner.compiled(&dataset)?;
            let mut version = NewVersion::start(tx, dataset.pk)?;
            let stamp = Stamp::new(actor, version.number);
            let upsert = mode == InsertMode::Import(OnConflict::Update);
            let mut records = Vec::with_capacity(cases.cases.len());
            let mut pks = Vec::with_capacity(cases.cases.len());
            let mut inserted = 0i64;
            let mut inserts = CaseInserts::new(tx)?;
            each_valid_case(&schemas, &cases, |case| {
                // Only an upsert looks names up; otherwise a taken name fails
                // the insert on the unique index, which is cheaper than asking.
                let existing = match &case.name {
                    Some(name) if upsert => case_by_name(tx, &dataset, name)?,
                    _ => None,
                };
                let (pk, record) = match existing {
                    // An upsert that changes nothing leaves the case alone.
                    Some((pk, current)) if !case.changes(&current) => (pk, current),
                    Some((pk, _)) => (
                        pk,
                        overwrite_case(tx, &dataset, pk, &stamp, &mut version, case)?,
                    ),
                    None => {
                        inserted += 1;
                        insert_case(&mut inserts, &dataset, &stamp, case)?
                    }
                };
                pks.push(pk);
                records.push(record);
                Ok(())
            })?;
            tx.prepare_cached("UPDATE datasets SET case_count = case_count + ?2 WHERE pk = ?1")
                .and_then(|mut stmt| stmt.execute(params![dataset.pk, inserted]))
                .map_err(backend)?;
            version.added = inserted;
            version.finish(tx, inner, stamp.at, actor)?;
            // A repeat answers with these cases as they are then: their
            // positions are kept, not an answer of perhaps a million cases.
            if let Some(idempotency) = &idempotency {
                remember(tx, project, idempotency, &to_json_text(&pks))?;
            }
            Ok(Written::Fresh(records))
        })
        .await
}

pub(super) async fn update_case(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    case: Uuid,
    update: CaseUpdate,
    expected_version: Option<i64>,
) -> Result<CaseRecord, StoreError> {
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            let (pk, current) = load_case(tx, &dataset, case)?;
            check_version(expected_version, current.version)?;
            // Stored values satisfy the current schemas, so only new values
            // need checking.
            let schemas = inner.compiled(&dataset)?;
            let merged = merge_update(&current, update, &schemas)?;
            if !merged.changes(&current) {
                return Ok(current);
            }
            if merged.renamed
                && let Some(name) = &merged.name
                && case_pk_by_name(tx, dataset.pk, name)?.is_some()
            {
                return Err(name_taken(name));
            }
            let mut version = NewVersion::start(tx, dataset.pk)?;
            version.changed = version.archive(tx, "c.pk = ?3", &[&pk])?;
            let at = now();
            let sql = format!(
                "UPDATE cases SET name = ?2, inputs = ?3, expected_output = ?4, metadata = ?5,
                 evaluators = ?6, source_trace_id = ?7, source_span_id = ?8, tags = ?9,
                 version = version + 1, updated_at = ?10, updated_by = ?11, from_version = ?12
             WHERE pk = ?1
             RETURNING {CASE_RETURNING}"
            );
            let (_, record) = tx
                .query_row(
                    &sql,
                    params![
                        pk,
                        merged.name,
                        merged.inputs,
                        merged.expected_output,
                        merged.metadata,
                        merged.evaluators,
                        merged.source_trace_id,
                        merged.source_span_id,
                        to_json_text(&merged.tags),
                        format_ts(at),
                        actor.to_string(),
                        version.number,
                    ],
                    |row| case_from_row(row, dataset.detail.id),
                )
                .map_err(backend)?;
            if merged.tags_changed {
                replace_tags(tx, dataset.pk, pk, &merged.tags)?;
            }
            version.finish(tx, inner, at, actor)?;
            Ok(record)
        })
        .await
}

pub(super) async fn delete_cases(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    selector: CaseSelector,
    idempotency: Option<Idempotency>,
) -> Result<Written<u64>, StoreError> {
    /// Values bound per statement, well under SQLite's limit.
    const CHUNK: usize = 500;
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            if let Some(idempotency) = &idempotency
                && let Some(answer) = replay(tx, project, idempotency)?
            {
                let deleted: u64 = answer.parse().map_err(backend)?;
                return Ok(Written::Replayed(deleted));
            }
            let mut version = NewVersion::start(tx, dataset.pk)?;
            let mut deleted = 0usize;
            let (sql, values): (&str, Vec<String>) = match &selector {
                CaseSelector::Ids(ids) => (
                    "DELETE FROM cases WHERE dataset_pk = ?1 AND id IN ({})",
                    ids.iter().map(Uuid::to_string).collect(),
                ),
                CaseSelector::Tags(tags) => (
                    "DELETE FROM cases WHERE dataset_pk = ?1 AND pk IN \
                 (SELECT case_pk FROM case_tags WHERE dataset_pk = ?1 AND tag IN ({}))",
                    tags.clone(),
                ),
            };
            for chunk in values.chunks(CHUNK) {
                let values: Vec<&dyn rusqlite::ToSql> =
                    chunk.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
                // The rows are kept as revisions first: the condition of the
                // deletion, its values bound from ?3.
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 3)).collect();
                let condition = match &selector {
                    CaseSelector::Ids(_) => format!("c.id IN ({})", marks.join(",")),
                    CaseSelector::Tags(_) => format!(
                        "c.pk IN (SELECT case_pk FROM case_tags WHERE dataset_pk = ?1 AND tag IN ({}))",
                        marks.join(",")
                    ),
                };
                version.archive(tx, &condition, &values)?;
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
                let statement = sql.replace("{}", &marks.join(","));
                let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&dataset.pk];
                bound.extend(values);
                deleted += tx
                    .prepare_cached(&statement)
                    .and_then(|mut stmt| stmt.execute(bound.as_slice()))
                    .map_err(backend)?;
            }
            tx.execute(
                "UPDATE datasets SET case_count = case_count - ?2 WHERE pk = ?1",
                params![dataset.pk, deleted as i64],
            )
            .map_err(backend)?;
            version.removed = deleted as i64;
            version.finish(tx, inner, now(), actor)?;
            if let Some(idempotency) = &idempotency {
                remember(tx, project, idempotency, &deleted.to_string())?;
            }
            Ok(Written::Fresh(deleted as u64))
        })
        .await
}

pub(super) async fn delete_case(
    store: &SqliteStore,
    project: Uuid,
    actor: Uuid,
    dataset: &str,
    case: Uuid,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    let dataset = dataset.to_owned();
    store
        .write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            let current: i64 = tx
                .prepare_cached("SELECT version FROM cases WHERE dataset_pk = ?1 AND id = ?2")
                .and_then(|mut stmt| {
                    stmt.query_row(params![dataset.pk, case.to_string()], |row| row.get(0))
                        .optional()
                })
                .map_err(backend)?
                .ok_or(StoreError::CaseNotFound)?;
            check_version(expected_version, current)?;
            let mut version = NewVersion::start(tx, dataset.pk)?;
            let id = case.to_string();
            version.removed = version.archive(tx, "c.id = ?3", &[&id])?;
            tx.execute(
                "DELETE FROM cases WHERE dataset_pk = ?1 AND id = ?2",
                params![dataset.pk, id],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE datasets SET case_count = case_count - 1 WHERE pk = ?1",
                [dataset.pk],
            )
            .map_err(backend)?;
            version.finish(tx, inner, now(), actor)?;
            Ok(())
        })
        .await
}

pub(super) async fn search_cases(
    store: &SqliteStore,
    project: Uuid,
    dataset: &str,
    prefix: &str,
    after: Option<String>,
    limit: usize,
) -> Result<(Uuid, Vec<CaseRecord>, bool), StoreError> {
    let (dataset, prefix) = (dataset.to_owned(), prefix.to_owned());
    store
        .read_snapshot(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            // The name index, from the prefix (or the last name shown) up
            // to the first name past the prefix.
            let sql = format!(
                "SELECT {CASE_COLUMNS} FROM cases c
                 WHERE c.dataset_pk = ?1 AND c.name IS NOT NULL
                   AND c.name >= ?2 AND c.name > ?3 AND c.name < ?4
                   AND substr(c.name, 1, length(?2)) = ?2
                 ORDER BY c.name LIMIT ?5"
            );
            let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
            let mut rows: Vec<CaseRecord> = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(
                        rusqlite::params![
                            dataset.pk,
                            prefix,
                            after.unwrap_or_default(),
                            crate::store::prefix_end(&prefix),
                            fetch
                        ],
                        |row| case_from_row(row, dataset.detail.id).map(|(_, case)| case),
                    )?
                    .collect()
                })
                .map_err(backend)?;
            let more = rows.len() > limit;
            rows.truncate(limit);
            Ok((dataset.detail.id, rows, more))
        })
        .await
}
