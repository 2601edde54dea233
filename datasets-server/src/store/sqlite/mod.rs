//! The embedded SQLite store: one file, WAL journal, foreign keys on, and
//! `synchronous = FULL` so that a committed write survives a crash.
//!
//! Writes go through one connection (SQLite has one writer at a time
//! anyway) in `BEGIN IMMEDIATE` transactions; reads use a small pool of
//! connections that see consistent snapshots beside the writer. All database
//! work runs on tokio's blocking pool.

mod cases;
mod datasets;
mod experiments;
mod idempotency;
mod keys;
mod migrate;
mod rows;
mod versions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use datasets_core::wire::{
    CaseUpdate, DatasetDetail, DatasetSummary, DatasetUpdate, DatasetVersion, NewDataset,
};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use uuid::Uuid;

use self::migrate::migrate;
use self::rows::DatasetRow;
use super::{
    ApiKeyRecord, CaseFilter, CasePage, CasePosition, CaseRecord, CaseSelector, CaseStream,
    DatasetPage, DiffPage, Idempotency, IncomingCases, InsertMode, NewApiKey, Project, Retention,
    Store, StoreError, VersionPage, VersionRef, Written,
};
use crate::validation::{CompiledSchemas, SchemaCache};

/// Idle read connections kept open.
/// Read connections; reads beyond as many wait for one (without holding a
/// thread) rather than open and close connections of their own.
pub(super) const READERS: usize = 6;

/// Cases per batch of a case stream.
pub(super) const STREAM_BATCH: usize = 256;

/// The embedded SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// The one permit to use `writer`.
    write_permit: Arc<tokio::sync::Semaphore>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per read connection.
    read_permits: Arc<tokio::sync::Semaphore>,
    schemas: SchemaCache,
    /// How many versions of each dataset are kept.
    retention: Retention,
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
        create_private(&path)?;
        // Servers starting together on a new file race to switch it to WAL
        // and to migrate it; the losers find it busy, wait and try again.
        let mut attempt = 0;
        let writer = loop {
            let opened = open_connection(&path, false).and_then(|mut writer| {
                migrate(&mut writer)?;
                Ok(writer)
            });
            match opened {
                Err(StoreError::Transient(_)) if attempt < 100 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 + fastrand::u64(0..80)));
                }
                other => break other?,
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                write_permit: Arc::new(tokio::sync::Semaphore::new(1)),
                readers: Mutex::new(Vec::new()),
                read_permits: Arc::new(tokio::sync::Semaphore::new(READERS)),
                schemas: SchemaCache::default(),
                retention: Retention::default(),
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

    /// Runs `f` in one read transaction (one snapshot of the database) on
    /// a read connection.
    async fn read_snapshot<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.read(move |conn| {
            conn.execute_batch("BEGIN DEFERRED").map_err(backend)?;
            let result = f(conn);
            let _ = conn.execute_batch("COMMIT");
            result
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
        crate::rules::compiled_schemas(&self.schemas, &dataset.detail, dataset.schema_version)
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a transaction rolls it back when the guard's transaction
    // drops; the connection itself stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) async fn run_blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| StoreError::Backend(format!("storage task failed: {err}")))?
}

/// A database error as the store's error: busy or locked is transient
/// (nothing was written; the request may be tried again), anything else a
/// backend failure.
pub(super) fn backend(err: impl std::fmt::Display + 'static) -> StoreError {
    let transient = (&err as &dyn std::any::Any)
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        .is_some_and(|code| {
            matches!(
                code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        });
    if transient {
        StoreError::Transient(err.to_string())
    } else {
        StoreError::Backend(err.to_string())
    }
}

/// Creates the database file, readable and writable by its owner only
/// (0600), unless it exists: it holds every project's cases and key
/// hashes. SQLite gives its `-wal` and `-shm` files the database file's
/// permissions. An existing file keeps the permissions it has.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::Backend(format!(
            "cannot create {}: {err}",
            path.display()
        ))),
    }
}

pub(super) fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
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

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        keys::ensure_project(self, name).await
    }

    async fn insert_first_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        keys::insert_first_key(self, key).await
    }

    async fn insert_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        keys::insert_key(self, key).await
    }

    async fn find_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError> {
        keys::find_key(self, hash).await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        keys::list_keys(self).await
    }

    async fn create_session(&self, session: super::NewSession) -> Result<(), StoreError> {
        keys::create_session(self, session).await
    }

    async fn find_session(&self, hash: &[u8; 32]) -> Result<Option<super::Session>, StoreError> {
        keys::find_session(self, hash).await
    }

    async fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        keys::delete_session(self, hash).await
    }

    async fn revoke_key(&self, id: Uuid) -> Result<bool, StoreError> {
        keys::revoke_key(self, id).await
    }

    async fn list_datasets(
        &self,
        project: Uuid,
        page: Option<DatasetPage>,
    ) -> Result<Vec<DatasetSummary>, StoreError> {
        datasets::list_datasets(self, project, page).await
    }

    async fn get_dataset(&self, project: Uuid, dataset: &str) -> Result<DatasetDetail, StoreError> {
        datasets::get_dataset(self, project, dataset).await
    }

    async fn create_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        new: NewDataset,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<DatasetDetail>, StoreError> {
        datasets::create_dataset(self, project, actor, new, idempotency).await
    }

    async fn update_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        update: DatasetUpdate,
    ) -> Result<DatasetDetail, StoreError> {
        datasets::update_dataset(self, project, actor, dataset, update).await
    }

    async fn delete_dataset(&self, project: Uuid, dataset: &str) -> Result<(), StoreError> {
        datasets::delete_dataset(self, project, dataset).await
    }

    async fn stream_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
    ) -> Result<(DatasetDetail, CaseStream), StoreError> {
        cases::stream_cases(self, project, dataset, filter).await
    }

    async fn page_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<CasePage, StoreError> {
        cases::page_cases(self, project, dataset, filter, after, limit).await
    }

    async fn get_case(
        &self,
        project: Uuid,
        dataset: &str,
        case: Uuid,
        at: Option<VersionRef>,
    ) -> Result<CaseRecord, StoreError> {
        cases::get_case(self, project, dataset, case, at).await
    }

    async fn insert_cases(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        cases: IncomingCases,
        mode: InsertMode,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<Vec<CaseRecord>>, StoreError> {
        cases::insert_cases(self, project, actor, dataset, cases, mode, idempotency).await
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
        cases::update_case(
            self,
            project,
            actor,
            dataset,
            case,
            update,
            expected_version,
        )
        .await
    }

    async fn delete_cases(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        selector: CaseSelector,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<u64>, StoreError> {
        cases::delete_cases(self, project, actor, dataset, selector, idempotency).await
    }

    async fn delete_case(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        case: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        cases::delete_case(self, project, actor, dataset, case, expected_version).await
    }

    async fn search_cases(
        &self,
        project: Uuid,
        dataset: &str,
        prefix: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Uuid, Vec<CaseRecord>, bool), StoreError> {
        cases::search_cases(self, project, dataset, prefix, after, limit).await
    }

    fn set_keep_versions(&self, keep: Option<u64>) {
        self.inner.retention.set(keep);
    }

    async fn get_dataset_at(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetDetail, StoreError> {
        versions::get_dataset_at(self, project, dataset, at).await
    }

    async fn list_versions(
        &self,
        project: Uuid,
        dataset: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<VersionPage, StoreError> {
        versions::list_versions(self, project, dataset, before, limit).await
    }

    async fn get_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetVersion, StoreError> {
        versions::get_version(self, project, dataset, at).await
    }

    async fn tag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<DatasetVersion, StoreError> {
        versions::tag_version(self, project, dataset, at, Some(tag), None)
            .await?
            .ok_or(StoreError::VersionNotFound)
    }

    async fn untag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<(), StoreError> {
        versions::tag_version(self, project, dataset, at, None, Some(tag))
            .await
            .map(drop)
    }

    async fn diff_versions(
        &self,
        project: Uuid,
        dataset: &str,
        from: VersionRef,
        to: VersionRef,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<DiffPage, StoreError> {
        versions::diff_versions(self, project, dataset, from, to, after, limit).await
    }

    async fn ingest_spans(
        &self,
        project: Uuid,
        actor: Uuid,
        rows: super::experiments::SpanRows,
    ) -> Result<(), StoreError> {
        experiments::ingest_spans(self, project, actor, rows).await
    }

    async fn record_experiment(
        &self,
        project: Uuid,
        actor: Uuid,
        run: super::experiments::RunRow,
        cases: Vec<super::experiments::CaseRow>,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<datasets_core::wire::Experiment>, StoreError> {
        experiments::record_experiment(self, project, actor, run, cases, idempotency).await
    }

    async fn list_experiments(
        &self,
        project: Uuid,
        filter: super::experiments::ExperimentFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<super::experiments::ExperimentPage, StoreError> {
        experiments::list_experiments(self, project, filter, before, limit).await
    }

    async fn get_experiment(
        &self,
        project: Uuid,
        id: Uuid,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<super::experiments::ExperimentCases, StoreError> {
        experiments::get_experiment(self, project, id, after, limit).await
    }

    async fn delete_experiment(&self, project: Uuid, id: Uuid) -> Result<(), StoreError> {
        experiments::delete_experiment(self, project, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_transient_and_other_failures_are_not() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(backend(busy), StoreError::Transient(_)));
        let locked = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_LOCKED),
            None,
        );
        assert!(matches!(backend(locked), StoreError::Transient(_)));
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        assert!(matches!(backend(corrupt), StoreError::Backend(_)));
        assert!(matches!(backend("anything else"), StoreError::Backend(_)));
    }
}
