//! The PostgreSQL store: several `datasets-server` replicas on one
//! database, every guarantee of [`Store`] held by the database itself.
//!
//! - Transactions run at READ COMMITTED; what must not interleave is
//!   ordered by row locks: a case write takes `FOR KEY SHARE` on its
//!   dataset's row and a schema change `FOR UPDATE`, so a case checked
//!   against the old schemas cannot commit after the new ones.
//! - Names are unique by constraints; a conditional write locks the case's
//!   row and compares its version; an idempotency key is inserted first, so
//!   the same key on two replicas applies once and the second waits for,
//!   then replays, the first's answer.
//! - Serialization failures, deadlocks and a connection that cannot be had
//!   are retried a bounded number of times before the request sees
//!   [`StoreError::Transient`] (503).
//! - The pool reconnects by itself: a database that comes back is used again.

mod cases;
mod datasets;
mod experiments;
mod idempotency;
mod keys;
mod migrate;
mod reads;
mod rows;
mod tls;
mod versions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datasets_core::wire::{
    CaseUpdate, DatasetDetail, DatasetSummary, DatasetUpdate, DatasetVersion, NewDataset,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{
    ApiKeyRecord, CaseFilter, CasePage, CasePosition, CaseRecord, CaseSelector, CaseStream,
    DatasetPage, DiffPage, Idempotency, IncomingCases, InsertMode, Issue, NewApiKey, Project,
    Retention, Store, StoreError, VersionPage, VersionRef, Written,
};
use crate::validation::SchemaCache;

/// Connections per server process: enough to keep two cores busy (more
/// measured no faster on them), and few enough that a dozen replicas stay
/// within PostgreSQL's default `max_connections` of 100.
const POOL_SIZE: usize = 8;
/// Longest wait for a connection (from the pool, or a new one).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries of a transaction that failed by a serialization failure, a
/// deadlock or an unreachable database, before the request is answered 503.
const ATTEMPTS: u32 = 5;

/// The PostgreSQL implementation of [`Store`].
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// The URL without its password, for messages.
    shown_url: String,
    schemas: SchemaCache,
    /// How many versions of each dataset are kept.
    retention: Retention,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.inner.shown_url)
            .finish_non_exhaustive()
    }
}

/// Whether `db` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (which must exist: the server does
    /// not create databases) and brings its tables up to the latest
    /// migration, under an advisory lock so that replicas starting together
    /// migrate once.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let shown_url = redact_url(url);
        let fail = |what: String| StoreError::Backend(format!("{what} ({shown_url})"));
        let tls = tls::split(url);
        let mut config = tokio_postgres::Config::from_str(&tls.url)
            .map_err(|err| fail(format!("not a PostgreSQL URL: {err}")))?;
        if config.get_application_name().is_none() {
            config.application_name("datasets-server");
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if tls.require {
            let connector = tls::connector(tls.root_cert.as_deref()).map_err(fail)?;
            Manager::from_config(config, connector, manager_config)
        } else {
            Manager::from_config(config, NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|err| fail(format!("cannot make a connection pool: {err}")))?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                shown_url: shown_url.clone(),
                schemas: SchemaCache::default(),
                retention: Retention::default(),
            }),
        };
        let mut conn = store.inner.pool.get().await.map_err(|err| {
            fail(format!(
                "cannot connect to PostgreSQL: {}",
                pool_error_text(&err)
            ))
        })?;
        migrate::migrate(&mut conn)
            .await
            .map_err(|err| fail(format!("cannot migrate the database: {err}")))?;
        Ok(store)
    }

    /// The database URL, without its password.
    pub fn url(&self) -> &str {
        &self.inner.shown_url
    }

    /// A connection from the pool; one that cannot be had is transient.
    async fn conn(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.inner.pool.get().await.map_err(|err| {
            StoreError::Transient(format!(
                "cannot reach the database: {}",
                pool_error_text(&err)
            ))
        })
    }
}

/// The cause of a pool error, without deadpool's wrapping.
fn pool_error_text(err: &deadpool_postgres::PoolError) -> String {
    match err {
        deadpool_postgres::PoolError::Backend(err) => error_text(err),
        deadpool_postgres::PoolError::Timeout(_) => {
            "no connection could be had in time (the database is unreachable or busy)".to_owned()
        }
        other => other.to_string(),
    }
}

/// A driver error as one line: the database's own message where there is one.
fn error_text(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        }
    }
}

/// The prefix of a transient error after which nothing may be retried: the
/// connection failed during COMMIT, so the write may have landed.
const COMMIT_UNKNOWN: &str = "the connection failed while committing";

/// A driver error as the store's error: a serialization failure, a
/// deadlock or a lost connection is transient (the transaction rolled
/// back), text PostgreSQL cannot hold is invalid, anything else a backend
/// failure.
pub(super) fn pg(err: tokio_postgres::Error) -> StoreError {
    let code = err.code();
    if code == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
        || code == Some(&SqlState::ADMIN_SHUTDOWN)
        || code == Some(&SqlState::CANNOT_CONNECT_NOW)
        || code.is_some_and(|code| code.code().starts_with("08"))
        || (code.is_none() && err.as_db_error().is_none())
    {
        return StoreError::Transient(error_text(&err));
    }
    if code == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE)
        || code == Some(&SqlState::UNTRANSLATABLE_CHARACTER)
    {
        return StoreError::Invalid(vec![Issue::whole(
            format!(
                "a text holds a character PostgreSQL cannot store (the NUL character, U+0000): {}",
                error_text(&err)
            ),
            "forbidden_character",
        )]);
    }
    StoreError::Backend(error_text(&err))
}

/// A read-only transaction on one snapshot of the database.
pub(super) async fn snapshot(
    conn: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    conn.build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)
}

/// Commits `tx`; a connection lost during the commit leaves the outcome
/// unknown, so it is transient but never retried here.
pub(super) async fn commit(tx: deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.commit().await.map_err(|err| match pg(err) {
        StoreError::Transient(msg) => StoreError::Transient(format!("{COMMIT_UNKNOWN}: {msg}")),
        other => other,
    })
}

/// Runs `attempt` until it succeeds, fails for good, or has failed
/// transiently [`ATTEMPTS`] times, with a short random backoff between.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(StoreError::Transient(msg))
                if tries < ATTEMPTS && !msg.starts_with(COMMIT_UNKNOWN) =>
            {
                let backoff = 10u64 << tries.min(5);
                tokio::time::sleep(Duration::from_millis(backoff + fastrand::u64(0..backoff)))
                    .await;
                tries += 1;
            }
            other => return other,
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.simple_query("SELECT 1").await.map_err(pg)?;
        Ok(())
    }

    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        retrying(|| keys::ensure_project(self, name)).await
    }

    async fn insert_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        retrying(|| keys::insert_key(self, key.clone(), false))
            .await
            .and_then(|key| key.ok_or_else(|| StoreError::Backend("key not stored".to_owned())))
    }

    async fn insert_first_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        retrying(|| keys::insert_key(self, key.clone(), true)).await
    }

    async fn find_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError> {
        retrying(|| keys::find_key(self, hash)).await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        retrying(|| keys::list_keys(self)).await
    }

    async fn create_session(&self, session: super::NewSession) -> Result<(), StoreError> {
        retrying(|| keys::create_session(self, &session)).await
    }

    async fn find_session(&self, hash: &[u8; 32]) -> Result<Option<super::Session>, StoreError> {
        retrying(|| keys::find_session(self, hash)).await
    }

    async fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        retrying(|| keys::delete_session(self, hash)).await
    }

    async fn revoke_key(&self, id: Uuid) -> Result<bool, StoreError> {
        retrying(|| keys::revoke_key(self, id)).await
    }

    async fn list_datasets(
        &self,
        project: Uuid,
        page: Option<DatasetPage>,
    ) -> Result<Vec<DatasetSummary>, StoreError> {
        retrying(|| datasets::list_datasets(self, project, page.clone())).await
    }

    async fn get_dataset(&self, project: Uuid, dataset: &str) -> Result<DatasetDetail, StoreError> {
        retrying(|| datasets::get_dataset(self, project, dataset)).await
    }

    async fn create_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        new: NewDataset,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<DatasetDetail>, StoreError> {
        retrying(|| {
            datasets::create_dataset(self, project, actor, new.clone(), idempotency.as_ref())
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
        retrying(|| datasets::update_dataset(self, project, actor, dataset, update.clone())).await
    }

    async fn delete_dataset(&self, project: Uuid, dataset: &str) -> Result<(), StoreError> {
        retrying(|| datasets::delete_dataset(self, project, dataset)).await
    }

    async fn stream_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
    ) -> Result<(DatasetDetail, CaseStream), StoreError> {
        retrying(|| reads::stream_cases(self, project, dataset, filter.clone())).await
    }

    async fn page_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<CasePage, StoreError> {
        retrying(|| reads::page_cases(self, project, dataset, &filter, after, limit)).await
    }

    async fn get_case(
        &self,
        project: Uuid,
        dataset: &str,
        case: Uuid,
        at: Option<VersionRef>,
    ) -> Result<CaseRecord, StoreError> {
        retrying(|| reads::get_case(self, project, dataset, case, at.as_ref())).await
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
        // Shared by the attempts, not copied for each: a request's cases
        // may be tens of megabytes.
        let cases = Arc::new(cases);
        retrying(|| {
            cases::insert_cases(
                self,
                project,
                actor,
                dataset,
                Arc::clone(&cases),
                mode,
                idempotency.as_ref(),
            )
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
        retrying(|| {
            cases::update_case(
                self,
                project,
                actor,
                dataset,
                case,
                update.clone(),
                expected_version,
            )
        })
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
        retrying(|| {
            cases::delete_cases(
                self,
                (project, actor),
                dataset,
                &selector,
                idempotency.as_ref(),
            )
        })
        .await
    }

    async fn delete_case(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        case: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        retrying(|| cases::delete_case(self, project, actor, dataset, case, expected_version)).await
    }

    async fn search_cases(
        &self,
        project: Uuid,
        dataset: &str,
        prefix: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Uuid, Vec<CaseRecord>, bool), StoreError> {
        retrying(|| reads::search_cases(self, project, dataset, prefix, after.as_deref(), limit))
            .await
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
        retrying(|| versions::get_dataset_at(self, project, dataset, &at)).await
    }

    async fn list_versions(
        &self,
        project: Uuid,
        dataset: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<VersionPage, StoreError> {
        retrying(|| versions::list_versions(self, project, dataset, before, limit)).await
    }

    async fn get_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetVersion, StoreError> {
        retrying(|| versions::get_version(self, project, dataset, &at)).await
    }

    async fn tag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<DatasetVersion, StoreError> {
        retrying(|| versions::tag_version(self, project, dataset, &at, Some(&tag), None))
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
        retrying(|| versions::tag_version(self, project, dataset, &at, None, Some(&tag)))
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
        retrying(|| versions::diff_versions(self, project, dataset, (&from, &to), after, limit))
            .await
    }

    async fn ingest_spans(
        &self,
        project: Uuid,
        actor: Uuid,
        rows: super::experiments::SpanRows,
    ) -> Result<(), StoreError> {
        retrying(|| experiments::ingest_spans(self, project, actor, &rows)).await
    }

    async fn record_experiment(
        &self,
        project: Uuid,
        actor: Uuid,
        run: super::experiments::RunRow,
        cases: Vec<super::experiments::CaseRow>,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<datasets_core::wire::Experiment>, StoreError> {
        retrying(|| {
            experiments::record_experiment(self, project, actor, &run, &cases, idempotency.as_ref())
        })
        .await
    }

    async fn list_experiments(
        &self,
        project: Uuid,
        filter: super::experiments::ExperimentFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<super::experiments::ExperimentPage, StoreError> {
        retrying(|| experiments::list_experiments(self, project, &filter, before, limit)).await
    }

    async fn get_experiment(
        &self,
        project: Uuid,
        id: Uuid,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<super::experiments::ExperimentCases, StoreError> {
        retrying(|| experiments::get_experiment(self, project, id, after, limit)).await
    }

    async fn delete_experiment(&self, project: Uuid, id: Uuid) -> Result<(), StoreError> {
        retrying(|| experiments::delete_experiment(self, project, id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/evals"),
            "postgres://app:***@db.internal:5432/evals"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/evals?sslmode=disable"),
            "postgres://postgres@127.0.0.1/evals?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgresql://u:p@w@host/db"),
            "postgresql://u:***@host/db"
        );
        assert_eq!(redact_url("postgres:///db"), "postgres:///db");
    }

    #[test]
    fn urls_of_postgres_are_told_from_paths() {
        assert!(is_postgres_url("postgres://x/y"));
        assert!(is_postgres_url("postgresql://x/y"));
        assert!(!is_postgres_url("./datasets.db"));
        assert!(!is_postgres_url("sqlite:datasets.db"));
    }
}
