//! Storage behind the API.
//!
//! [`Store`] is the seam between the HTTP layer and a database: the embedded
//! SQLite store ([`SqliteStore`]) implements it today, and a PostgreSQL store
//! can take over without touching the routes. Everything dialect-specific
//! stays inside an implementation; what every implementation must guarantee
//! is written on the trait:
//!
//! - every query is confined to the caller's project;
//! - every case write is validated against the dataset's schemas, within the
//!   same transaction that writes it, so a concurrent schema change can never
//!   let an invalid case in;
//! - a multi-case write is one transaction: all or nothing;
//! - a write that leaves a case equal (`versions::changed_fields` finds
//!   nothing: the diff's own definition) does not touch it: no new case
//!   version, no new `updated_at`; a request that changes nothing at all
//!   makes no dataset version, and every version records what its diff
//!   shows; a version that changes cases also moves the dataset's
//!   `updated_at`;
//! - a write that returned `Ok` is durable;
//! - a POST with an [`Idempotency`] key is applied at most once: its answer
//!   is stored in the same transaction, and a repeat gets it back;
//! - a conditional case write checks the case's version in the transaction
//!   that writes it (compare-and-set: `UPDATE ... WHERE version = $n`, or
//!   a single writer);
//! - these hold with many concurrent writers, by the database and not by a
//!   process-local lock: names are unique by constraints (a taken name is
//!   [`StoreError::Conflict`]), an idempotency key is stored by an insert
//!   that conflicts with a concurrent one, a schema change locks its dataset
//!   against concurrent case writes (`SELECT ... FOR UPDATE`, or a single
//!   writer) so that a case checked against the old schemas cannot land
//!   after the new ones, and the first key is created at most once however
//!   many servers start together ([`Store::insert_first_key`]);
//! - a failure that may pass (busy, serialization failure, deadlock) is
//!   [`StoreError::Transient`], with nothing written, never a `Backend` error.

pub mod experiments;
mod incoming;
mod issue;
mod postgres;
mod sqlite;
mod stream;
pub(crate) mod versions;

use async_trait::async_trait;
use datasets_core::wire::{
    CaseUpdate, DatasetDetail, DatasetSummary, DatasetUpdate, DatasetVersion, NewDataset,
    OnConflict, Timestamp,
};
use uuid::Uuid;

use crate::keys::Scopes;

pub use incoming::{AbandonOnDrop, IncomingCase, IncomingCases};
pub use issue::Issue;
pub use postgres::{PostgresStore, is_postgres_url, redact_url};
pub use sqlite::SqliteStore;
pub use stream::CaseStream;
pub(crate) use stream::{handed_over_stream, stream_in_pages};
pub(crate) use versions::{Definition, REVISION_COLUMNS, Retention, position_diff};
pub use versions::{DiffPage, VersionPage, VersionRef, check_version_tag};

/// The smallest text after every name starting with `prefix` (the
/// prefix with the largest code point appended), for a range scan.
pub(crate) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Opens the store `db` names: a `postgres://` (or `postgresql://`) URL is
/// a [`PostgresStore`] on that existing database; anything else is the path
/// of a SQLite file (created if absent), with or without a `sqlite:` prefix.
/// The error is one line for people, naming the database (without a password).
pub async fn open(db: &str) -> Result<std::sync::Arc<dyn Store>, String> {
    if is_postgres_url(db) {
        return match PostgresStore::connect(db).await {
            Ok(store) => Ok(std::sync::Arc::new(store)),
            Err(StoreError::Backend(msg) | StoreError::Transient(msg)) => Err(msg),
            Err(other) => Err(format!("{other} ({})", redact_url(db))),
        };
    }
    let path = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
        .unwrap_or(db)
        .to_owned();
    let opened = tokio::task::spawn_blocking(move || {
        SqliteStore::open(&path).map_err(|err| format!("{path}: {err}"))
    })
    .await
    .map_err(|err| format!("cannot open the database: {err}"))?;
    Ok(std::sync::Arc::new(opened?))
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The dataset does not exist in the caller's project.
    #[error("Dataset not found")]
    DatasetNotFound,
    /// The dataset exists but the case does not.
    #[error("Case not found")]
    CaseNotFound,
    /// The dataset exists but has no such version or version tag (or the
    /// version was pruned).
    #[error("Version not found")]
    VersionNotFound,
    /// The version exists but has no such tag.
    #[error("Tag not found")]
    TagNotFound,
    /// No such experiment in the caller's project.
    #[error("Experiment not found")]
    ExperimentNotFound,
    /// A name is already taken.
    #[error("{0}")]
    Conflict(String),
    /// A value breaks a rule (a schema, a name); each issue says where.
    #[error("invalid: {} issue(s)", .0.len())]
    Invalid(Vec<Issue>),
    /// An `Idempotency-Key` already used for a different request.
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    /// A conditional write's expected version is not the case's.
    #[error("the case is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the request expected.
        expected: i64,
        /// The case's version.
        current: i64,
    },
    /// A failure that may pass if the request is tried again: the database
    /// busy or locked, a serialization failure, a deadlock. Nothing was
    /// written. Answered 503 with `Retry-After`; a store may retry it
    /// itself a bounded number of times first.
    #[error("storage busy: {0}")]
    Transient(String),
    /// The database failed.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// A project: the unit of tenancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Its id.
    pub id: Uuid,
    /// Its unique name.
    pub name: String,
}

/// An API key as stored (its hash, never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The key's id.
    pub id: Uuid,
    /// The project it belongs to.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// A label for people.
    pub name: Option<String>,
    /// The shown part of the key (see [`crate::keys::display_prefix`]).
    pub prefix: String,
    /// SHA-256 of the key.
    pub key_hash: [u8; 32],
    /// What it may do.
    pub scopes: Scopes,
    /// When it was created.
    pub created_at: Timestamp,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// A web UI session to store: the SHA-256 of its cookie's random id (never
/// the id), the key that signed in, its forms' CSRF token, and its end.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the session id.
    pub id_hash: [u8; 32],
    /// The key that signed in.
    pub key_id: Uuid,
    /// The CSRF token every form of the session carries.
    pub csrf: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A live session: its key (never revoked) and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The key that signed in.
    pub key: ApiKeyRecord,
    /// The CSRF token of its forms.
    pub csrf: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The project it belongs to.
    pub project_id: Uuid,
    /// A label for people.
    pub name: Option<String>,
    /// The shown part of the key.
    pub prefix: String,
    /// SHA-256 of the key.
    pub key_hash: [u8; 32],
    /// What it may do.
    pub scopes: Scopes,
}

/// A stored case: its values as the compact JSON text they were stored as
/// (checked when written, and kept as the client wrote them: key order and
/// number formatting intact), so an answer copies them instead of parsing
/// and encoding them again; everything else typed. The HTTP layer writes
/// it as the protocol's case object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// The case's id.
    pub id: Uuid,
    /// The dataset's id.
    pub dataset_id: Uuid,
    /// Its name.
    pub name: Option<String>,
    /// Its inputs, JSON.
    pub inputs: String,
    /// Its expected output, JSON.
    pub expected_output: Option<String>,
    /// Its metadata, JSON.
    pub metadata: Option<String>,
    /// Its evaluators, JSON.
    pub evaluators: Option<String>,
    /// The trace it came from.
    pub source_trace_id: Option<String>,
    /// The span it came from.
    pub source_span_id: Option<String>,
    /// Its tags, in first-seen order, without repeats.
    pub tags: Vec<String>,
    /// Its version.
    pub version: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// Who created it.
    pub created_by: Option<Uuid>,
    /// Who last changed it.
    pub updated_by: Option<Uuid>,
}

/// How long the answer to a POST with an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// An `Idempotency-Key` and what it guards. A POST carrying one is applied
/// once: its answer is stored in the transaction that applies it, and a
/// repeat within [`IDEMPOTENCY_RETENTION`] gets that answer back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key.
    pub key: String,
    /// The method and path it was sent to; a key is scoped to it (and to the project).
    pub scope: String,
    /// SHA-256 of the request's query string and body.
    pub request_hash: [u8; 32],
}

/// The outcome of a write that may repeat an earlier one.
#[derive(Debug)]
pub enum Written<T> {
    /// Applied now.
    Fresh(T),
    /// Applied before, under the same `Idempotency-Key`, and not again: for
    /// a dataset, the answer then; for cases, the cases written then, as
    /// they are now (an answer of a million cases is not kept twice).
    Replayed(T),
}

impl<T> Written<T> {
    /// The value, fresh or replayed.
    pub fn into_inner(self) -> T {
        match self {
            Written::Fresh(value) | Written::Replayed(value) => value,
        }
    }

    /// Whether it repeats an earlier write.
    pub fn is_replay(&self) -> bool {
        matches!(self, Written::Replayed(_))
    }

    /// The value mapped, fresh or replayed as it was.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Written<U> {
        match self {
            Written::Fresh(value) => Written::Fresh(f(value)),
            Written::Replayed(value) => Written::Replayed(f(value)),
        }
    }
}

/// Which cases a bulk deletion removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseSelector {
    /// These cases; ids that name no case of the dataset are ignored.
    Ids(Vec<Uuid>),
    /// Every case having any of these tags.
    Tags(Vec<String>),
}

/// How a multi-case write treats a case name that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// `POST .../cases/` and `.../cases/bulk/`: a taken name is a 409.
    Create,
    /// `POST .../import/`: as `on_conflict` says.
    Import(OnConflict),
}

/// Which cases a listing returns.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Cases having any of these tags; all cases when empty.
    pub tags: Vec<String>,
    /// The cases as they were at this version; the head when `None`.
    pub version: Option<VersionRef>,
}

/// A position in a dataset's cases, in insertion order: a page starts after it.
/// Positions only grow, so a page never repeats a case or skips one that
/// existed when the listing began, whatever is inserted meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CasePosition(pub i64);

/// One page of cases, and where the next one starts if there are more.
#[derive(Debug)]
pub struct CasePage {
    /// The id of the dataset listed, to which a cursor is bound.
    pub dataset_id: Uuid,
    /// The cases, in insertion order.
    pub cases: Vec<CaseRecord>,
    /// The position after the last case, when more cases follow.
    pub next: Option<CasePosition>,
    /// The version read, when the listing asked for one.
    pub version: Option<u64>,
}

impl CasePage {
    /// A page of `dataset_id` from rows fetched by position, one more than
    /// `limit` asked (so that the extra one tells whether more follow), after
    /// position `after`.
    pub(crate) fn from_fetched(
        dataset_id: Uuid,
        mut rows: Vec<(i64, CaseRecord)>,
        limit: usize,
        after: i64,
    ) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = more.then(|| CasePosition(rows.last().map_or(after, |(pk, _)| *pk)));
        Self {
            dataset_id,
            cases: rows.into_iter().map(|(_, case)| case).collect(),
            next,
            version: None,
        }
    }
}

/// The current time, at the microsecond precision both stores and
/// Python's datetime keep.
pub(crate) fn now() -> Timestamp {
    let now = Timestamp::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// Refuses a database migrated by a newer server than this one.
pub(crate) fn check_migration_level(applied: i64, latest: i64) -> Result<(), StoreError> {
    if applied > latest {
        return Err(StoreError::Backend(format!(
            "the database is at migration {applied}, newer than this server knows ({latest}); \
             upgrade the server"
        )));
    }
    Ok(())
}

/// One page of a dataset listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetPage {
    /// The name of the last dataset of the page before; `None` for the first.
    pub after: Option<String>,
    /// Most datasets in the page.
    pub limit: usize,
}

/// The storage of projects, keys, datasets and cases. See the module
/// documentation for the guarantees every implementation gives.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The project of this name, created if absent.
    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError>;
    /// Stores a key; a key whose hash is stored already is a
    /// [`StoreError::Conflict`].
    async fn insert_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError>;
    /// Stores `key` only if no key exists yet, atomically: of several
    /// servers starting together on one empty database, one creates the
    /// first key; `None` for the others.
    async fn insert_first_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// The key with this hash, revoked or not.
    async fn find_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Every key, oldest first.
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Stores a web UI session, forgetting expired ones.
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;
    /// The live session whose id hashes to `hash`: `None` when there is
    /// none, it has expired, or its key was revoked.
    async fn find_session(&self, hash: &[u8; 32]) -> Result<Option<Session>, StoreError>;
    /// Ends a session (nothing when there is none).
    async fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError>;
    /// Revokes a key; `false` if there is no such key.
    async fn revoke_key(&self, id: Uuid) -> Result<bool, StoreError>;

    /// The project's datasets, by name (in byte order): all of them, or the
    /// `page.limit` after the name `page.after`.
    async fn list_datasets(
        &self,
        project: Uuid,
        page: Option<DatasetPage>,
    ) -> Result<Vec<DatasetSummary>, StoreError>;
    /// A dataset by id or name.
    async fn get_dataset(&self, project: Uuid, dataset: &str) -> Result<DatasetDetail, StoreError>;
    /// A dataset as it was at a version: its schemas, evaluators and case
    /// count then (its name, description and guidance are not versioned).
    async fn get_dataset_at(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetDetail, StoreError>;
    /// Creates a dataset; the name and schemas are already validated.
    async fn create_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        new: NewDataset,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<DatasetDetail>, StoreError>;
    /// Updates a dataset; new schemas are already checked as schemas, and the
    /// store re-checks the existing cases against them.
    async fn update_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        update: DatasetUpdate,
    ) -> Result<DatasetDetail, StoreError>;
    /// Deletes a dataset and its cases.
    async fn delete_dataset(&self, project: Uuid, dataset: &str) -> Result<(), StoreError>;

    /// A dataset and its cases, from one snapshot.
    async fn stream_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
    ) -> Result<(DatasetDetail, CaseStream), StoreError>;
    /// At most `limit` cases after `after` (from the start when `None`),
    /// in insertion order, with the position of the next page.
    async fn page_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<CasePage, StoreError>;
    /// One case, at the head or as it was at a version.
    async fn get_case(
        &self,
        project: Uuid,
        dataset: &str,
        case: Uuid,
        at: Option<VersionRef>,
    ) -> Result<CaseRecord, StoreError>;
    /// Validates and writes cases, all or nothing; the result is in the
    /// order of `cases`. Every invalid case is named by its index ([`Issue::case`]).
    async fn insert_cases(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        cases: IncomingCases,
        mode: InsertMode,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<Vec<CaseRecord>>, StoreError>;
    /// Validates and applies a partial update to a case; with
    /// `expected_version`, only if the case is still at that version.
    async fn update_case(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        case: Uuid,
        update: CaseUpdate,
        expected_version: Option<i64>,
    ) -> Result<CaseRecord, StoreError>;
    /// Deletes the cases `selector` picks in one transaction, and answers
    /// how many; with `idempotency`, a repeat answers the first count.
    async fn delete_cases(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        selector: CaseSelector,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<u64>, StoreError>;
    /// Deletes a case; with `expected_version`, only if it is still at that version.
    async fn delete_case(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        case: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError>;

    /// The head cases whose name starts with `prefix`, in name order (by
    /// the bytes of the name), after the name `after`: at most `limit`, and
    /// whether more follow. The dataset's id comes first.
    async fn search_cases(
        &self,
        project: Uuid,
        dataset: &str,
        prefix: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Uuid, Vec<CaseRecord>, bool), StoreError>;
    /// Keeps the latest `keep` versions of each dataset (and every tagged
    /// one), pruning older ones as new ones are made; `None` keeps all.
    fn set_keep_versions(&self, keep: Option<u64>);
    /// A dataset's versions below `before` (all when `None`), newest first,
    /// at most `limit`; pruned versions are not listed.
    async fn list_versions(
        &self,
        project: Uuid,
        dataset: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<VersionPage, StoreError>;
    /// One version.
    async fn get_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetVersion, StoreError>;
    /// Puts `tag` on a version, moving it from another version that has it.
    async fn tag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<DatasetVersion, StoreError>;
    /// Takes `tag` off a version ([`StoreError::TagNotFound`] if it is not on it).
    async fn untag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<(), StoreError>;
    /// The cases that differ between two versions, in case order, after
    /// `after`: at most `limit` of them, with where the next page starts.
    async fn diff_versions(
        &self,
        project: Uuid,
        dataset: &str,
        from: VersionRef,
        to: VersionRef,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<DiffPage, StoreError>;

    /// Stores the runs and case results of a trace body in one
    /// transaction. A span sent again replaces its row, so a batch retried
    /// or delivered to two replicas is stored once.
    async fn ingest_spans(
        &self,
        project: Uuid,
        actor: Uuid,
        rows: experiments::SpanRows,
    ) -> Result<(), StoreError>;
    /// Stores a posted report as an experiment, in one transaction; the
    /// run's `dataset`, when given, must be one of the project's datasets.
    async fn record_experiment(
        &self,
        project: Uuid,
        actor: Uuid,
        run: experiments::RunRow,
        cases: Vec<experiments::CaseRow>,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<datasets_core::wire::Experiment>, StoreError>;
    /// Experiments newest first, before position `before`, at most `limit`.
    async fn list_experiments(
        &self,
        project: Uuid,
        filter: experiments::ExperimentFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<experiments::ExperimentPage, StoreError>;
    /// One experiment and at most `limit` of its case results in order,
    /// after position `after`.
    async fn get_experiment(
        &self,
        project: Uuid,
        id: Uuid,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<experiments::ExperimentCases, StoreError>;
    /// Deletes an experiment and its case results.
    async fn delete_experiment(&self, project: Uuid, id: Uuid) -> Result<(), StoreError>;
}
