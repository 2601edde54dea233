//! A SQLite database written before dataset versions existed (migrations 1
//! and 2 only, rows as that server wrote them) is upgraded when a server
//! opens it: what it held is version 1, reads and exports as before, and
//! the first write after the upgrade makes version 2 while version 1 still
//! reads back as it was.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use datasets_server::auth::Scopes;
use datasets_server::store::SqliteStore;
use datasets_server::{AppState, ServerConfig, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const AT: &str = "2026-11-20T10:00:00Z";

/// A database as the server before versions left it: one dataset with a
/// schema and three cases, one of them tagged.
fn database_before_versions(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../migrations/sqlite/0001_initial.sql"))
        .unwrap();
    conn.execute_batch(include_str!("../migrations/sqlite/0002_idempotency.sql"))
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, '2026-11-20T10:00:00Z'), (2, '2026-11-20T10:00:00Z');",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO projects (id, name, created_at) VALUES (?1, 'alpha', ?2)",
        [uuid::Uuid::now_v7().to_string(), AT.to_owned()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO datasets (id, project_id, name, input_schema, case_count, created_at, updated_at)
         SELECT ?1, id, 'legacy', '{\"type\":\"object\"}', 3, ?2, ?2 FROM projects",
        [uuid::Uuid::now_v7().to_string(), AT.to_owned()],
    )
    .unwrap();
    for (n, tags) in [(1, "[\"keep\"]"), (2, "[]"), (3, "[]")] {
        conn.execute(
            "INSERT INTO cases (id, dataset_pk, name, inputs, tags, version, created_at, updated_at)
             VALUES (?1, 1, ?2, ?3, ?4, 1, ?5, ?5)",
            [
                uuid::Uuid::now_v7().to_string(),
                format!("c{n}"),
                format!("{{\"n\":{n}}}"),
                tags.to_owned(),
                AT.to_owned(),
            ],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO case_tags (case_pk, dataset_pk, tag) VALUES (1, 1, 'keep')",
        [],
    )
    .unwrap();
}

async fn call(
    router: &axum::Router,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn names(export: &Value) -> Vec<String> {
    export["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_database_from_before_versions_is_upgraded_to_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    database_before_versions(&path);
    let state = AppState::new(SqliteStore::open(&path).unwrap(), ServerConfig::default());
    let (_, key) = state
        .create_key("alpha", Scopes::READ_WRITE, None)
        .await
        .unwrap();
    let router = app(state);

    let (status, detail) = call(&router, &key, "GET", "/v1/datasets/legacy/", None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(
        (detail["version"].as_u64(), detail["case_count"].as_u64()),
        (Some(1), Some(3))
    );
    let (_, versions) = call(&router, &key, "GET", "/v1/datasets/legacy/versions/", None).await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["case_count"], 3);
    assert_eq!(versions[0]["created_at"], AT);

    // A write after the upgrade is version 2; version 1 reads as it was.
    let (status, _) = call(
        &router,
        &key,
        "POST",
        "/v1/datasets/legacy/cases/delete/",
        Some(json!({"tags": ["keep"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, head) = call(&router, &key, "GET", "/v1/datasets/legacy/export/", None).await;
    assert_eq!(names(&head), ["c2", "c3"]);
    let (_, first) = call(
        &router,
        &key,
        "GET",
        "/v1/datasets/legacy/export/?version=1",
        None,
    )
    .await;
    assert_eq!(names(&first), ["c1", "c2", "c3"]);
    let (_, tagged) = call(
        &router,
        &key,
        "GET",
        "/v1/datasets/legacy/cases/?version=1&tags=keep",
        None,
    )
    .await;
    assert_eq!(tagged.as_array().unwrap().len(), 1);
    let (_, at_one) = call(&router, &key, "GET", "/v1/datasets/legacy/?version=1", None).await;
    assert_eq!(at_one["input_schema"], json!({"type": "object"}));
    let (_, diff) = call(
        &router,
        &key,
        "GET",
        "/v1/datasets/legacy/diff/?from=1&to=2",
        None,
    )
    .await;
    assert_eq!(diff[0]["change"], "removed");
    assert_eq!(diff[0]["name"], "c1");
}
