//! Keys: stored only as hashes, never in logs, error bodies or listings,
//! and checked by hash, so that how much of a guess matches a real key
//! never changes what the check does. (Revocation taking effect on the next
//! request is in `router.rs` and, across processes, `cli.rs`; `Debug` of
//! the client never showing its key is in `datasets-core`.)

mod support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datasets_core::wire::{
    CaseUpdate, DatasetDetail, DatasetSummary, DatasetUpdate, DatasetVersion, NewDataset,
};
use datasets_server::auth::{Scopes, hash_key};
use datasets_server::store::{
    ApiKeyRecord, CaseFilter, CasePage, CasePosition, CaseRecord, CaseSelector, CaseStream,
    DatasetPage, DiffPage, Idempotency, IncomingCases, InsertMode, NewApiKey, NewSession, Project,
    Session, SqliteStore, Store, StoreError, VersionPage, VersionRef, Written, experiments,
};
use datasets_server::{AppState, ServerConfig};
use support::{KEY, ServerProcess, temp_db};
use uuid::Uuid;

/// `KEY` with its last character changed, and with its first after the prefix.
fn near_misses(key: &str) -> [String; 2] {
    let mut last = key.to_owned();
    last.pop();
    last.push(if key.ends_with('x') { 'y' } else { 'x' });
    let mut first = key.to_owned();
    first.replace_range(4..5, if &key[4..5] == "x" { "y" } else { "x" });
    [last, first]
}

#[tokio::test]
async fn keys_never_reach_the_database_the_logs_or_an_error_body() {
    let (dir, db) = temp_db();
    let (server, log) = ServerProcess::start_logged(&db);
    let http = reqwest::Client::new();
    let base = &server.base_url;
    let mut bodies = Vec::new();
    let mut guesses = near_misses(KEY).to_vec();
    guesses.push(format!("{KEY}{KEY}"));
    for key in guesses.iter().map(String::as_str).chain([KEY]) {
        for (method, path) in [
            (reqwest::Method::GET, "/v1/datasets/"),
            (reqwest::Method::POST, "/v1/datasets/"),
            (reqwest::Method::GET, "/v1/datasets/missing/?api_key=x"),
        ] {
            let answer = http
                .request(method, format!("{base}{path}"))
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(r#"{"name": "secret-test"}"#)
                .send()
                .await
                .unwrap();
            bodies.push(answer.text().await.unwrap());
        }
    }
    drop(server);
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("request"),
        "the server logged its requests: {log}"
    );
    for key in guesses.iter().map(String::as_str).chain([KEY]) {
        let secret = &key[4..];
        assert!(!log.contains(secret), "a key is in the log:\n{log}");
        for body in &bodies {
            assert!(!body.contains(secret), "a key is in an answer: {body}");
        }
    }
    // At rest: the key's SHA-256, never the key.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&hash_key(KEY)), "the hash is what is stored");
    assert!(!contains(&KEY.as_bytes()[4..]), "the key is not");
}

/// A store that records the key hashes it is asked for, around the real one.
struct Spy {
    inner: SqliteStore,
    asked: Arc<Mutex<Vec<[u8; 32]>>>,
}

#[async_trait]
impl Store for Spy {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn ensure_project(&self, name: &str) -> Result<Project, StoreError> {
        self.inner.ensure_project(name).await
    }
    async fn insert_first_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.insert_first_key(key).await
    }
    async fn insert_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        self.inner.insert_key(key).await
    }
    async fn find_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.asked.lock().unwrap().push(*hash);
        self.inner.find_key(hash).await
    }
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.inner.list_keys().await
    }
    async fn revoke_key(&self, id: Uuid) -> Result<bool, StoreError> {
        self.inner.revoke_key(id).await
    }
    async fn list_datasets(
        &self,
        project: Uuid,
        page: Option<DatasetPage>,
    ) -> Result<Vec<DatasetSummary>, StoreError> {
        self.inner.list_datasets(project, page).await
    }
    async fn get_dataset(&self, project: Uuid, dataset: &str) -> Result<DatasetDetail, StoreError> {
        self.inner.get_dataset(project, dataset).await
    }
    async fn create_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        new: NewDataset,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<DatasetDetail>, StoreError> {
        self.inner
            .create_dataset(project, actor, new, idempotency)
            .await
    }
    async fn update_dataset(
        &self,
        project: Uuid,
        actor: Uuid,
        dataset: &str,
        update: DatasetUpdate,
    ) -> Result<DatasetDetail, StoreError> {
        self.inner
            .update_dataset(project, actor, dataset, update)
            .await
    }
    async fn delete_dataset(&self, project: Uuid, dataset: &str) -> Result<(), StoreError> {
        self.inner.delete_dataset(project, dataset).await
    }
    async fn stream_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
    ) -> Result<(DatasetDetail, CaseStream), StoreError> {
        self.inner.stream_cases(project, dataset, filter).await
    }
    async fn page_cases(
        &self,
        project: Uuid,
        dataset: &str,
        filter: CaseFilter,
        after: Option<CasePosition>,
        limit: usize,
    ) -> Result<CasePage, StoreError> {
        self.inner
            .page_cases(project, dataset, filter, after, limit)
            .await
    }
    async fn get_case(
        &self,
        project: Uuid,
        dataset: &str,
        case: Uuid,
        at: Option<VersionRef>,
    ) -> Result<CaseRecord, StoreError> {
        self.inner.get_case(project, dataset, case, at).await
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
        self.inner
            .insert_cases(project, actor, dataset, cases, mode, idempotency)
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
        self.inner
            .update_case(project, actor, dataset, case, update, expected_version)
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
        self.inner
            .delete_case(project, actor, dataset, case, expected_version)
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
        self.inner
            .delete_cases(project, actor, dataset, selector, idempotency)
            .await
    }
    fn set_keep_versions(&self, keep: Option<u64>) {
        self.inner.set_keep_versions(keep);
    }
    async fn get_dataset_at(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetDetail, StoreError> {
        self.inner.get_dataset_at(project, dataset, at).await
    }
    async fn list_versions(
        &self,
        project: Uuid,
        dataset: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<VersionPage, StoreError> {
        self.inner
            .list_versions(project, dataset, before, limit)
            .await
    }
    async fn get_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
    ) -> Result<DatasetVersion, StoreError> {
        self.inner.get_version(project, dataset, at).await
    }
    async fn tag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<DatasetVersion, StoreError> {
        self.inner.tag_version(project, dataset, at, tag).await
    }
    async fn untag_version(
        &self,
        project: Uuid,
        dataset: &str,
        at: VersionRef,
        tag: String,
    ) -> Result<(), StoreError> {
        self.inner.untag_version(project, dataset, at, tag).await
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
        self.inner
            .diff_versions(project, dataset, from, to, after, limit)
            .await
    }
    async fn ingest_spans(
        &self,
        project: Uuid,
        actor: Uuid,
        rows: experiments::SpanRows,
    ) -> Result<(), StoreError> {
        self.inner.ingest_spans(project, actor, rows).await
    }
    async fn record_experiment(
        &self,
        project: Uuid,
        actor: Uuid,
        run: experiments::RunRow,
        cases: Vec<experiments::CaseRow>,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<datasets_core::wire::Experiment>, StoreError> {
        self.inner
            .record_experiment(project, actor, run, cases, idempotency)
            .await
    }
    async fn list_experiments(
        &self,
        project: Uuid,
        filter: experiments::ExperimentFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<experiments::ExperimentPage, StoreError> {
        self.inner
            .list_experiments(project, filter, before, limit)
            .await
    }
    async fn get_experiment(
        &self,
        project: Uuid,
        id: Uuid,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<experiments::ExperimentCases, StoreError> {
        self.inner.get_experiment(project, id, after, limit).await
    }
    async fn delete_experiment(&self, project: Uuid, id: Uuid) -> Result<(), StoreError> {
        self.inner.delete_experiment(project, id).await
    }
    async fn search_cases(
        &self,
        project: Uuid,
        dataset: &str,
        prefix: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Uuid, Vec<CaseRecord>, bool), StoreError> {
        self.inner
            .search_cases(project, dataset, prefix, after, limit)
            .await
    }
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }
    async fn find_session(&self, hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        self.inner.find_session(hash).await
    }
    async fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.inner.delete_session(hash).await
    }
}

/// The store is asked for the SHA-256 of whatever was presented, once, and
/// nothing else: a guess matching 63 of 64 characters and one matching
/// none take the same path (hash, one indexed lookup of an unrelated-looking
/// value, a constant-time comparison), so timing tells nothing about how
/// close a guess is. `datasets-bench`'s load binary measures it too.
#[tokio::test]
async fn the_key_check_compares_hashes_never_key_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let spy = Spy {
        inner: SqliteStore::open(dir.path().join("spy.db")).unwrap(),
        asked: asked.clone(),
    };
    let state = AppState::new(spy, ServerConfig::default());
    let (_, key) = state
        .create_key("p", Scopes::READ_WRITE, None)
        .await
        .unwrap();
    let router = datasets_server::app(state);
    let [last, first] = near_misses(&key);
    let far = format!("dsk_{}", "0".repeat(64));
    let mut statuses = Vec::new();
    for presented in [&key, &last, &first, &far] {
        asked.lock().unwrap().clear();
        let request = axum::http::Request::get("/v1/datasets/")
            .header("authorization", format!("Bearer {presented}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let status = tower::ServiceExt::oneshot(router.clone(), request)
            .await
            .unwrap()
            .status();
        statuses.push(status.as_u16());
        assert_eq!(
            *asked.lock().unwrap(),
            [hash_key(presented)],
            "one lookup, by hash"
        );
    }
    assert_eq!(statuses, [200, 401, 401, 401]);
    // Near misses share their key's prefix; their hashes share nothing with its hash.
    let common = |a: [u8; 32], b: [u8; 32]| a.iter().zip(b).take_while(|(x, y)| **x == *y).count();
    assert!(common(hash_key(&key), hash_key(&last)) < 4);
    assert!(common(hash_key(&key), hash_key(&first)) < 4);
}

/// The SQLite file holds every project's cases and key hashes: it and its
/// write-ahead log are created readable by their owner only.
#[cfg(unix)]
#[test]
fn the_database_file_and_its_log_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = datasets_server::EmbeddedServer::start().unwrap();
    if server.is_postgres() {
        eprintln!("skipped: this store is PostgreSQL, which has no file");
        return;
    }
    // Starting made the server's key: the log has been written.
    let db = server.db_path().to_path_buf();
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{}: {mode:o}", file.display());
        assert_eq!(mode & 0o600, 0o600, "{}: {mode:o}", file.display());
    }
}
