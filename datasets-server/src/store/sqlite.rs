//! The embedded SQLite store: one file, WAL journal, foreign keys on, and
//! `synchronous = FULL` so that a committed write survives a crash.
//!
//! Writes go through one connection (SQLite has one writer at a time
//! anyway) in `BEGIN IMMEDIATE` transactions; reads use a small pool of
//! connections that see consistent snapshots beside the writer. All database
//! work runs on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use datasets_core::Patch;
use datasets_core::wire::{
    CaseUpdate, DatasetDetail, DatasetSummary, DatasetUpdate, NewDataset, OnConflict, Timestamp,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    ApiKeyRecord, CaseFilter, CasePage, CasePosition, CaseRecord, CaseSelector, CaseStream,
    IDEMPOTENCY_RETENTION, Idempotency, IncomingCases, InsertMode, NewApiKey, Project, Store,
    StoreError, Written,
};
use crate::keys::Scopes;
use crate::rules::cases::{EncodedCase, each_valid_case};
use crate::rules::merge::merge_update;
use crate::rules::recheck::{Recheck, StoredRow};
use crate::rules::{check_version, json_text};
use crate::validation::{CompiledSchemas, SchemaCache, SchemaKind};

/// Versioned migrations, applied in order, each in its own transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_initial.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_idempotency.sql"),
    ),
];
/// Idle read connections kept open.
/// Read connections; reads beyond as many wait for one (without holding a
/// thread) rather than open and close connections of their own.
const READERS: usize = 6;
/// Cases per batch of a case stream.
const STREAM_BATCH: usize = 256;

const DATASET_COLUMNS: &str = "d.pk, d.id, d.project_id, d.name, d.description, d.input_schema, \
     d.output_schema, d.metadata_schema, d.guidance, d.ai_managed_guidance, d.evaluators, \
     d.report_evaluators, d.case_count, d.created_at, d.updated_at, d.created_by, d.schema_version";

const CASE_COLUMNS: &str = "c.pk, c.id, c.name, c.inputs, c.expected_output, c.metadata, \
     c.evaluators, c.source_trace_id, c.source_span_id, c.tags, c.version, c.created_at, \
     c.updated_at, c.created_by, c.updated_by";

/// [`CASE_COLUMNS`] for `RETURNING`, which takes no table alias.
const CASE_RETURNING: &str = "pk, id, name, inputs, expected_output, metadata, evaluators, \
     source_trace_id, source_span_id, tags, version, created_at, updated_at, created_by, updated_by";

/// The embedded SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// The one permit to use `writer`.
    write_permit: Arc<tokio::sync::Semaphore>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per read connection.
    read_permits: Arc<tokio::sync::Semaphore>,
    schemas: SchemaCache,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// tables up to the latest migration.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path, false)?;
        migrate(&mut writer)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                write_permit: Arc::new(tokio::sync::Semaphore::new(1)),
                readers: Mutex::new(Vec::new()),
                read_permits: Arc::new(tokio::sync::Semaphore::new(READERS)),
                schemas: SchemaCache::default(),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in a write transaction on the blocking pool; commits on `Ok`.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, &Inner) -> Result<T, StoreError> + Send + 'static,
    {
        // Writers queue here, in order and without a thread each; only the
        // one holding the permit takes a thread for the connection.
        let permit = self
            .inner
            .write_permit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("the store is closed".to_owned()))?;
        let inner = self.inner.clone();
        run_blocking(move || {
            let _permit = permit;
            let mut conn = lock(&inner.writer);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let value = f(&tx, &inner)?;
            tx.commit().map_err(backend)?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` on a read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self.inner.reader_permit().await?;
        let inner = self.inner.clone();
        run_blocking(move || {
            let conn = inner.take_reader()?;
            let result = f(&conn);
            inner.put_reader(conn);
            drop(permit);
            result
        })
        .await
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = lock(&self.readers).pop() {
            return Ok(conn);
        }
        open_connection(&self.path, true)
    }

    /// Waits for a read connection to be free.
    async fn reader_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, StoreError> {
        self.read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("the store is closed".to_owned()))
    }

    /// Returns a connection to the pool (one left inside a transaction by
    /// a failure is closed instead).
    fn put_reader(&self, conn: Connection) {
        if conn.is_autocommit() {
            lock(&self.readers).push(conn);
        }
    }

    fn compiled(&self, dataset: &DatasetRow) -> Result<Arc<CompiledSchemas>, StoreError> {
        let detail = &dataset.detail;
        self.schemas
            .get_or_compile(detail.id, dataset.schema_version, || {
                CompiledSchemas::compile(
                    detail.input_schema.as_ref(),
                    detail.output_schema.as_ref(),
                    detail.metadata_schema.as_ref(),
                )
            })
            .map_err(|err| StoreError::Backend(format!("stored schema does not compile: {err}")))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a transaction rolls it back when the guard's transaction
    // drops; the connection itself stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn run_blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| StoreError::Backend(format!("storage task failed: {err}")))?
}

fn backend(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|err| StoreError::Backend(format!("cannot open {}: {err}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(backend)?;
    // Statement journals (which a multi-row write keeps to undo itself on a
    // constraint error) stay in memory: on disk they cost a write per page.
    let mut pragmas = String::from(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
    );
    if !read_only {
        pragmas.push_str("PRAGMA journal_mode = WAL;");
    }
    conn.execute_batch(&pragmas).map_err(backend)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )
    .map_err(backend)?;
    let applied: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(backend)?;
    let latest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if applied > latest {
        return Err(StoreError::Backend(format!(
            "the database is at migration {applied}, newer than this server knows ({latest}); \
             upgrade the server"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        tx.execute_batch(sql)
            .map_err(|err| StoreError::Backend(format!("migration {version} failed: {err}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, format_ts(now())],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

/// The current time, at the microsecond precision Python's datetime keeps.
fn now() -> Timestamp {
    let now = Timestamp::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

fn format_ts(ts: Timestamp) -> String {
    ts.format(&Rfc3339).expect("UTC timestamps always format")
}

fn parse_ts(text: &str) -> rusqlite::Result<Timestamp> {
    Timestamp::parse(text, &Rfc3339).map_err(|err| conversion_error(err.to_string()))
}

fn parse_uuid(text: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(text).map_err(|err| conversion_error(err.to_string()))
}

fn parse_opt_uuid(text: Option<String>) -> rusqlite::Result<Option<Uuid>> {
    text.as_deref().map(parse_uuid).transpose()
}

fn parse_json<T: serde::de::DeserializeOwned>(text: Option<String>) -> rusqlite::Result<Option<T>> {
    text.map(|t| serde_json::from_str(&t).map_err(|err| conversion_error(err.to_string())))
        .transpose()
}

fn conversion_error(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, msg.into())
}

fn to_json_text<T: serde::Serialize>(value: &T) -> String {
    json_text(value)
}

/// A dataset row: the wire detail plus what only the store needs.
struct DatasetRow {
    pk: i64,
    schema_version: i64,
    detail: DatasetDetail,
}

fn dataset_from_row(row: &Row<'_>) -> rusqlite::Result<DatasetRow> {
    Ok(DatasetRow {
        pk: row.get(0)?,
        schema_version: row.get(16)?,
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
        },
    })
}

fn case_from_row(row: &Row<'_>, dataset_id: Uuid) -> rusqlite::Result<(i64, CaseRecord)> {
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
            tags: row.get(9)?,
            version: row.get(10)?,
            created_at: row.get(11)?,
            updated_at: row.get(12)?,
            created_by: parse_opt_uuid(row.get(13)?)?,
            updated_by: parse_opt_uuid(row.get(14)?)?,
        },
    ))
}

/// Resolves `{dataset}`: the id of a dataset in the project wins, otherwise
/// the segment is a name.
fn load_dataset(conn: &Connection, project: Uuid, dataset: &str) -> Result<DatasetRow, StoreError> {
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

fn load_case(
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

fn case_pk_by_name(
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

fn replace_tags(
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
const INSERT_TAG: &str =
    "INSERT OR IGNORE INTO case_tags (case_pk, dataset_pk, tag) VALUES (?1, ?2, ?3)";

/// Indexes a new case's tags.
fn insert_tags(
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

fn write_tags(
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

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "A case named {name:?} already exists in this dataset"
    ))
}

/// What every case of one write shares: when, and by whom.
struct Stamp {
    at_text: String,
    actor: Uuid,
    actor_text: String,
}

impl Stamp {
    fn new(actor: Uuid) -> Self {
        Self {
            at_text: format_ts(now()),
            actor,
            actor_text: actor.to_string(),
        }
    }
}

/// The statements that write new cases, prepared once per request rather
/// than looked up in the statement cache for every case.
struct CaseInserts<'c> {
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
                         updated_at, created_by, updated_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11, ?12, ?12)",
                )
                .map_err(backend)?,
            tag: conn.prepare_cached(INSERT_TAG).map_err(backend)?,
        })
    }
}

fn insert_case(
    inserts: &mut CaseInserts<'_>,
    dataset: &DatasetRow,
    stamp: &Stamp,
    case: EncodedCase,
) -> Result<(i64, CaseRecord), StoreError> {
    let tags = case.tags.unwrap_or_default();
    let tags_json = to_json_text(&tags);
    let mut id = uuid::Uuid::encode_buffer();
    inserts
        .case
        .execute(params![
            &*case.id.hyphenated().encode_lower(&mut id),
            dataset.pk,
            case.name,
            case.inputs,
            case.expected_output,
            case.metadata,
            case.evaluators,
            case.source_trace_id,
            case.source_span_id,
            tags_json,
            stamp.at_text,
            stamp.actor_text,
        ])
        .map_err(|err| match err {
            rusqlite::Error::SqliteFailure(e, _)
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                name_taken(case.name.as_deref().unwrap_or_default())
            }
            other => backend(other),
        })?;
    let pk = inserts.conn.last_insert_rowid();
    write_tags(&mut inserts.tag, dataset.pk, pk, &tags)?;
    let record = CaseRecord {
        id: case.id,
        dataset_id: dataset.detail.id,
        name: case.name,
        inputs: case.inputs,
        expected_output: case.expected_output,
        metadata: case.metadata,
        evaluators: case.evaluators,
        source_trace_id: case.source_trace_id,
        source_span_id: case.source_span_id,
        tags: tags_json,
        version: 1,
        created_at: stamp.at_text.clone(),
        updated_at: stamp.at_text.clone(),
        created_by: Some(stamp.actor),
        updated_by: Some(stamp.actor),
    };
    Ok((pk, record))
}

/// Cases by position, in the order given; positions no longer there are skipped.
fn load_cases_by_pk(
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

/// Replaces the content of an existing case with an imported one. The
/// pydantic-evals fields (inputs, expected output, metadata, evaluators) are
/// replaced wholesale, as a push makes the hosted case match the local one;
/// tags and source ids, which pydantic-evals cases do not carry, are kept
/// unless the import gives them.
fn overwrite_case(
    tx: &Connection,
    dataset: &DatasetRow,
    pk: i64,
    stamp: &Stamp,
    case: EncodedCase,
) -> Result<CaseRecord, StoreError> {
    let tags_json = case.tags.as_ref().map(to_json_text);
    let sql = format!(
        "UPDATE cases SET inputs = ?2, expected_output = ?3, metadata = ?4, evaluators = ?5,
             source_trace_id = COALESCE(?6, source_trace_id),
             source_span_id = COALESCE(?7, source_span_id),
             tags = COALESCE(?8, tags),
             version = version + 1, updated_at = ?9, updated_by = ?10
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

fn unix_now() -> i64 {
    Timestamp::now_utc().unix_timestamp()
}

/// The answer remembered for `idempotency`, if any, after forgetting keys
/// past the retention. The same key with a different request is refused.
fn replay(
    tx: &Connection,
    project: Uuid,
    idempotency: &Idempotency,
) -> Result<Option<String>, StoreError> {
    let cutoff = unix_now() - IDEMPOTENCY_RETENTION.as_secs() as i64;
    tx.prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")
        .and_then(|mut stmt| stmt.execute([cutoff]))
        .map_err(backend)?;
    let found: Option<(Vec<u8>, String)> = tx
        .prepare_cached(
            "SELECT request_hash, response FROM idempotency_keys
             WHERE project_id = ?1 AND scope = ?2 AND key = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![project.to_string(), idempotency.scope, idempotency.key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
        })
        .map_err(backend)?;
    match found {
        None => Ok(None),
        Some((hash, response)) if hash == idempotency.request_hash => Ok(Some(response)),
        Some(_) => Err(StoreError::IdempotencyKeyReused),
    }
}

/// Remembers the answer to `idempotency`, in the transaction of the write.
fn remember(
    tx: &Connection,
    project: Uuid,
    idempotency: &Idempotency,
    response: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO idempotency_keys (project_id, scope, key, request_hash, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            project.to_string(),
            idempotency.scope,
            idempotency.key,
            &idempotency.request_hash[..],
            response,
            unix_now(),
        ])
    })
    .map_err(backend)?;
    Ok(())
}

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let hash: Vec<u8> = row.get(5)?;
    Ok(ApiKeyRecord {
        id: parse_uuid(&row.get::<_, String>(0)?)?,
        project_id: parse_uuid(&row.get::<_, String>(1)?)?,
        project_name: row.get(2)?,
        name: row.get(3)?,
        prefix: row.get(4)?,
        key_hash: hash
            .try_into()
            .map_err(|_| conversion_error("key hash is not 32 bytes".to_owned()))?,
        scopes: Scopes {
            read: row.get(6)?,
            write: row.get(7)?,
        },
        created_at: parse_ts(&row.get::<_, String>(8)?)?,
        revoked: row.get::<_, Option<String>>(9)?.is_some(),
    })
}

const KEY_SELECT: &str = "SELECT k.id, k.project_id, p.name, k.name, k.prefix, k.key_hash, \
     k.can_read, k.can_write, k.created_at, k.revoked_at \
     FROM api_keys k JOIN projects p ON p.id = k.project_id";

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        let name = name.to_owned();
        self.write(move |tx, _| {
            tx.execute(
                "INSERT OR IGNORE INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![Uuid::now_v7().to_string(), name, format_ts(now())],
            )
            .map_err(backend)?;
            let id: String = tx
                .query_row("SELECT id FROM projects WHERE name = ?1", [&name], |row| {
                    row.get(0)
                })
                .map_err(backend)?;
            Ok(Project {
                id: parse_uuid(&id).map_err(backend)?,
                name,
            })
        })
        .await
    }

    async fn insert_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        self.write(move |tx, _| {
            let id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO api_keys (id, project_id, name, prefix, key_hash, can_read, can_write, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id.to_string(),
                    key.project_id.to_string(),
                    key.name,
                    key.prefix,
                    &key.key_hash[..],
                    key.scopes.read,
                    key.scopes.write,
                    format_ts(now()),
                ],
            )
            .map_err(backend)?;
            tx.query_row(&format!("{KEY_SELECT} WHERE k.id = ?1"), [id.to_string()], key_from_row)
                .map_err(backend)
        })
        .await
    }

    async fn find_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError> {
        let hash = *hash;
        self.read(move |conn| {
            conn.prepare_cached(&format!("{KEY_SELECT} WHERE k.key_hash = ?1"))
                .and_then(|mut stmt| stmt.query_row([&hash[..]], key_from_row).optional())
                .map_err(backend)
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!("{KEY_SELECT} ORDER BY k.created_at, k.id"))
                .map_err(backend)?;
            stmt.query_map([], key_from_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(backend)
        })
        .await
    }

    async fn revoke_key(&self, id: Uuid) -> Result<bool, StoreError> {
        self.write(move |tx, _| {
            let exists = tx
                .query_row(
                    "SELECT 1 FROM api_keys WHERE id = ?1",
                    [id.to_string()],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
            tx.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.to_string(), format_ts(now())],
            )
            .map_err(backend)?;
            Ok(exists)
        })
        .await
    }

    async fn list_datasets(&self, project: Uuid) -> Result<Vec<DatasetSummary>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT d.id, d.project_id, d.name, d.description, d.guidance,
                            d.ai_managed_guidance, d.case_count, d.created_at, d.updated_at,
                            kc.name, ku.name
                     FROM datasets d
                     LEFT JOIN api_keys kc ON kc.id = d.created_by
                     LEFT JOIN api_keys ku ON ku.id = d.updated_by
                     WHERE d.project_id = ?1
                     ORDER BY d.name",
                )
                .map_err(backend)?;
            stmt.query_map([project.to_string()], |row| {
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
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend)
        })
        .await
    }

    async fn get_dataset(&self, project: Uuid, dataset: &str) -> Result<DatasetDetail, StoreError> {
        let dataset = dataset.to_owned();
        self.read(move |conn| Ok(load_dataset(conn, project, &dataset)?.detail))
            .await
    }

    async fn create_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        new: NewDataset,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<DatasetDetail>, StoreError> {
        self.write(move |tx, _| {
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
                    return Err(StoreError::Conflict(format!(
                        "A dataset named {:?} already exists in this project",
                        new.name
                    )));
                }
                Err(other) => return Err(backend(other)),
            }
            let detail = load_dataset(tx, project, &id.to_string())?.detail;
            if let Some(idempotency) = &idempotency {
                remember(tx, project, idempotency, &to_json_text(&detail))?;
            }
            Ok(Written::Fresh(detail))
        })
        .await
    }

    async fn update_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        update: DatasetUpdate,
    ) -> Result<DatasetDetail, StoreError> {
        let dataset = dataset.to_owned();
        self.write(move |tx, inner| {
            let current = load_dataset(tx, project, &dataset)?;
            let old = &current.detail;
            if let Patch::Set(name) = &update.name
                && name != &old.name
            {
                let taken = tx
                    .query_row(
                        "SELECT 1 FROM datasets WHERE project_id = ?1 AND name = ?2",
                        params![project.to_string(), name],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend)?
                    .is_some();
                if taken {
                    return Err(StoreError::Conflict(format!(
                        "A dataset named {name:?} already exists in this project"
                    )));
                }
            }
            let new_schemas = [
                update.input_schema.clone().apply(old.input_schema.clone()),
                update
                    .output_schema
                    .clone()
                    .apply(old.output_schema.clone()),
                update
                    .metadata_schema
                    .clone()
                    .apply(old.metadata_schema.clone()),
            ];
            let old_schemas = [&old.input_schema, &old.output_schema, &old.metadata_schema];
            let changed: Vec<SchemaKind> = SchemaKind::ALL
                .into_iter()
                .zip(new_schemas.iter().zip(old_schemas))
                .filter(|(_, (new, old))| new != old)
                .map(|(kind, _)| kind)
                .collect();
            if !changed.is_empty() {
                recheck_cases(tx, &current, &new_schemas, &changed)?;
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
                    update.name.apply(Some(old.name.clone())),
                    update.description.apply(old.description.clone()),
                    update.guidance.apply(old.guidance.clone()),
                    update
                        .ai_managed_guidance
                        .apply(Some(old.ai_managed_guidance))
                        .unwrap_or(false),
                    new_schemas[0].as_ref().map(to_json_text),
                    new_schemas[1].as_ref().map(to_json_text),
                    new_schemas[2].as_ref().map(to_json_text),
                    update
                        .evaluators
                        .apply(old.evaluators.clone())
                        .as_ref()
                        .map(to_json_text),
                    update
                        .report_evaluators
                        .apply(old.report_evaluators.clone())
                        .as_ref()
                        .map(to_json_text),
                    schema_version,
                    format_ts(now()),
                    actor.to_string(),
                ],
            )
            .map_err(backend)?;
            if !changed.is_empty() {
                inner.schemas.forget(old.id);
            }
            Ok(load_dataset(tx, project, &old.id.to_string())?.detail)
        })
        .await
    }

    async fn delete_dataset(&self, project: Uuid, dataset: &str) -> Result<(), StoreError> {
        let dataset = dataset.to_owned();
        self.write(move |tx, inner| {
            let current = load_dataset(tx, project, &dataset)?;
            tx.execute("DELETE FROM datasets WHERE pk = ?1", [current.pk])
                .map_err(backend)?;
            inner.schemas.forget(current.detail.id);
            Ok(())
        })
        .await
    }

    async fn stream_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
    ) -> Result<(DatasetDetail, CaseStream), StoreError> {
        let dataset = dataset.to_owned();
        let permit = self.inner.reader_permit().await?;
        let inner = self.inner.clone();
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
        let detail = head_rx
            .await
            .map_err(|_| StoreError::Backend("case stream ended early".to_owned()))??;
        Ok((detail, rows_rx))
    }

    async fn page_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<CasePage, StoreError> {
        let dataset = dataset.to_owned();
        self.read(move |conn| {
            conn.execute_batch("BEGIN DEFERRED").map_err(backend)?;
            let page = (|| {
                let dataset = load_dataset(conn, project, &dataset)?;
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
                let mut rows = stmt
                    .query_map(values.as_slice(), |row| {
                        case_from_row(row, dataset.detail.id)
                    })
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(backend)?;
                let more = rows.len() > limit;
                rows.truncate(limit);
                let next = more.then(|| CasePosition(rows.last().map_or(after, |(pk, _)| *pk)));
                Ok(CasePage {
                    dataset_id: dataset.detail.id,
                    cases: rows.into_iter().map(|(_, case)| case).collect(),
                    next,
                })
            })();
            let _ = conn.execute_batch("COMMIT");
            page
        })
        .await
    }

    async fn get_case(
        &self,
        project: Uuid,
        dataset: &str,
        case: Uuid,
    ) -> Result<CaseRecord, StoreError> {
        let dataset = dataset.to_owned();
        self.read(move |conn| {
            let dataset = load_dataset(conn, project, &dataset)?;
            Ok(load_case(conn, &dataset, case)?.1)
        })
        .await
    }

    async fn insert_cases(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        mut cases: IncomingCases,
        mode: InsertMode,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<Vec<CaseRecord>>, StoreError> {
        let dataset = dataset.to_owned();
        self.write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            if let Some(idempotency) = &idempotency
                && let Some(answer) = replay(tx, project, idempotency)?
            {
                let pks: Vec<i64> = serde_json::from_str(&answer).map_err(backend)?;
                return Ok(Written::Replayed(load_cases_by_pk(tx, &dataset, &pks)?));
            }
            let schemas = inner.compiled(&dataset)?;
            let stamp = Stamp::new(actor);
            let upsert = mode == InsertMode::Import(OnConflict::Update);
            let mut records = Vec::with_capacity(cases.cases.len());
            let mut pks = Vec::with_capacity(cases.cases.len());
            let mut inserted = 0i64;
            let incoming = std::mem::take(&mut cases.cases);
            let mut inserts = CaseInserts::new(tx)?;
            each_valid_case(&schemas, &cases, incoming, |case| {
                // Only an upsert looks names up; otherwise a taken name fails
                // the insert on the unique index, which is cheaper than asking.
                let existing = match &case.name {
                    Some(name) if upsert => case_pk_by_name(tx, dataset.pk, name)?,
                    _ => None,
                };
                let (pk, record) = match existing {
                    Some(pk) => (pk, overwrite_case(tx, &dataset, pk, &stamp, case)?),
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
            // A repeat answers with these cases as they are then: their
            // positions are kept, not an answer of perhaps a million cases.
            if let Some(idempotency) = &idempotency {
                remember(tx, project, idempotency, &to_json_text(&pks))?;
            }
            Ok(Written::Fresh(records))
        })
        .await
    }

    async fn update_case(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        case: Uuid,
        update: CaseUpdate,
        expected_version: Option<i64>,
    ) -> Result<CaseRecord, StoreError> {
        let dataset = dataset.to_owned();
        self.write(move |tx, inner| {
            let dataset = load_dataset(tx, project, &dataset)?;
            let (pk, current) = load_case(tx, &dataset, case)?;
            check_version(expected_version, current.version)?;
            // Stored values satisfy the current schemas, so only new values
            // need checking.
            let schemas = inner.compiled(&dataset)?;
            let merged = merge_update(&current, update, &schemas)?;
            if merged.renamed
                && let Some(name) = &merged.name
                && case_pk_by_name(tx, dataset.pk, name)?.is_some()
            {
                return Err(name_taken(name));
            }
            let sql = format!(
                "UPDATE cases SET name = ?2, inputs = ?3, expected_output = ?4, metadata = ?5,
                     evaluators = ?6, source_trace_id = ?7, source_span_id = ?8, tags = ?9,
                     version = version + 1, updated_at = ?10, updated_by = ?11
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
                        format_ts(now()),
                        actor.to_string(),
                    ],
                    |row| case_from_row(row, dataset.detail.id),
                )
                .map_err(backend)?;
            if merged.tags_changed {
                replace_tags(tx, dataset.pk, pk, &merged.tags)?;
            }
            Ok(record)
        })
        .await
    }

    async fn delete_cases(
        &self,
        project: Uuid,
        dataset: &str,
        selector: CaseSelector,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<u64>, StoreError> {
        /// Values bound per statement, well under SQLite's limit.
        const CHUNK: usize = 500;
        let dataset = dataset.to_owned();
        self.write(move |tx, _| {
            let dataset = load_dataset(tx, project, &dataset)?;
            if let Some(idempotency) = &idempotency
                && let Some(answer) = replay(tx, project, idempotency)?
            {
                let deleted: u64 = answer.parse().map_err(backend)?;
                return Ok(Written::Replayed(deleted));
            }
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
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
                let statement = sql.replace("{}", &marks.join(","));
                let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&dataset.pk];
                bound.extend(chunk.iter().map(|v| v as &dyn rusqlite::ToSql));
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
            if let Some(idempotency) = &idempotency {
                remember(tx, project, idempotency, &deleted.to_string())?;
            }
            Ok(Written::Fresh(deleted as u64))
        })
        .await
    }

    async fn delete_case(
        &self,
        project: Uuid,
        dataset: &str,
        case: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let dataset = dataset.to_owned();
        self.write(move |tx, _| {
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
            tx.execute(
                "DELETE FROM cases WHERE dataset_pk = ?1 AND id = ?2",
                params![dataset.pk, case.to_string()],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE datasets SET case_count = case_count - 1 WHERE pk = ?1",
                [dataset.pk],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

/// Checks every existing case against changed schemas, streaming the rows
/// to the re-check rule.
fn recheck_cases(
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

/// The cases of the dataset `?1` that `filter` keeps, tags bound from `?2`.
fn cases_query(filter: &CaseFilter) -> String {
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
fn stream_snapshot(
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
        if head.send(Ok(dataset.detail.clone())).is_err() {
            return Ok(());
        }
        let sql = format!("{} ORDER BY c.pk", cases_query(filter));
        let mut stmt = conn.prepare(&sql)?;
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&dataset.pk];
        values.extend(filter.tags.iter().map(|tag| tag as &dyn rusqlite::ToSql));
        let mut cursor = stmt.query(values.as_slice())?;
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
