//! Writes that are safe to repeat and to race: `Idempotency-Key` on every
//! POST, and `If-Match` on case updates and deletes. Through the router, as
//! `router.rs`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::TestApp;
use datasets_server::auth::Scopes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An answer: status, the headers the tests look at, and the JSON body.
struct Answer {
    status: StatusCode,
    replayed: bool,
    etag: Option<String>,
    body: Value,
}

async fn send(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(serde_json::to_vec(&b).unwrap()));
    let response = app
        .router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        replayed,
        etag,
        body,
    }
}

async fn post_with_key(app: &TestApp, path: &str, key: &str, body: Value) -> Answer {
    let api_key = app.key.clone();
    send(
        app,
        &api_key,
        Method::POST,
        path,
        &[("idempotency-key", key)],
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_repeated_post_with_the_same_key_is_answered_once_and_applied_once() {
    let app = TestApp::new().await;
    let created = post_with_key(&app, "/v1/datasets/", "create-qa", json!({"name": "qa"})).await;
    assert_eq!(
        (created.status, created.replayed),
        (StatusCode::CREATED, false)
    );
    let again = post_with_key(&app, "/v1/datasets/", "create-qa", json!({"name": "qa"})).await;
    assert_eq!(
        (again.status, again.replayed),
        (StatusCode::CREATED, true),
        "{}",
        again.body
    );
    assert_eq!(again.body, created.body, "the first answer, as it was");

    // Every POST route: one case, bulk, import.
    let routes = [
        (
            "/v1/datasets/qa/cases/",
            json!({"inputs": {"q": 1}}),
            StatusCode::CREATED,
        ),
        (
            "/v1/datasets/qa/cases/bulk/",
            json!({"cases": [{"inputs": {"q": 2}}, {"inputs": {"q": 3}}]}),
            StatusCode::CREATED,
        ),
        (
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": [{"name": "n", "inputs": {"q": 4}}]}),
            StatusCode::OK,
        ),
    ];
    for (path, body, status) in routes {
        let first = post_with_key(&app, path, "k1", body.clone()).await;
        assert_eq!(
            (first.status, first.replayed),
            (status, false),
            "{path}: {}",
            first.body
        );
        let count = app.case_count("qa").await;
        for _ in 0..3 {
            let repeat = post_with_key(&app, path, "k1", body.clone()).await;
            assert_eq!((repeat.status, repeat.replayed), (status, true), "{path}");
            assert_eq!(repeat.body, first.body, "{path}");
        }
        assert_eq!(
            app.case_count("qa").await,
            count,
            "{path}: repeats wrote nothing"
        );
    }
    assert_eq!(app.case_count("qa").await, 4);
    let (_, cases) = app.get("/v1/datasets/qa/cases/").await;
    assert_eq!(
        cases.as_array().unwrap()[3]["version"],
        1,
        "the import ran once"
    );
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_and_writes_nothing() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    let path = "/v1/datasets/qa/cases/";
    post_with_key(&app, path, "k", json!({"inputs": {"q": 1}})).await;
    let other = post_with_key(&app, path, "k", json!({"inputs": {"q": 2}})).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(
        other.body["detail"][0]["loc"],
        json!(["header", "Idempotency-Key"])
    );
    assert_eq!(other.body["detail"][0]["type"], "idempotency_key_reused");
    // Another query string is another request too.
    let import = "/v1/datasets/qa/import/";
    let body = json!({"cases": [{"name": "n", "inputs": {}}]});
    post_with_key(
        &app,
        &format!("{import}?on_conflict=error"),
        "i",
        body.clone(),
    )
    .await;
    let other = post_with_key(&app, &format!("{import}?on_conflict=update"), "i", body).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.case_count("qa").await, 2);
}

#[tokio::test]
async fn keys_are_scoped_to_the_project_and_the_route() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    app.create_dataset(json!({"name": "other"})).await;
    let body = json!({"inputs": {}});
    // The same key on another path is another request.
    let a = post_with_key(&app, "/v1/datasets/qa/cases/", "same", body.clone()).await;
    let b = post_with_key(&app, "/v1/datasets/other/cases/", "same", body.clone()).await;
    assert!(!a.replayed && !b.replayed);
    assert_eq!(
        (app.case_count("qa").await, app.case_count("other").await),
        (1, 1)
    );
    // A key of another project never sees this project's answers.
    let beta = app.key("beta", Scopes::READ_WRITE).await;
    let mine = send(
        &app,
        &beta,
        Method::POST,
        "/v1/datasets/",
        &[("idempotency-key", "same")],
        Some(json!({"name": "qa"})),
    )
    .await;
    assert_eq!(
        (mine.status, mine.replayed),
        (StatusCode::CREATED, false),
        "{}",
        mine.body
    );
    assert_ne!(mine.body["project_id"], a.body["project_id"]);
}

#[tokio::test]
async fn failed_posts_are_not_remembered_and_bad_keys_are_refused() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa", "input_schema": {"type": "object"}}))
        .await;
    let path = "/v1/datasets/qa/cases/";
    let refused = post_with_key(&app, path, "k", json!({"inputs": 1})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let again = post_with_key(&app, path, "k", json!({"inputs": 1})).await;
    assert_eq!(
        (again.status, again.replayed),
        (StatusCode::UNPROCESSABLE_ENTITY, false)
    );
    assert_eq!(app.case_count("qa").await, 0);
    let long = "x".repeat(256);
    for bad in ["", "has space", long.as_str(), "tab\tkey"] {
        let answer = post_with_key(&app, path, bad, json!({"inputs": {}})).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{bad:?}: {}",
            answer.body
        );
        assert_eq!(
            answer.body["detail"][0]["loc"],
            json!(["header", "Idempotency-Key"])
        );
    }
    assert_eq!(app.case_count("qa").await, 0);
}

#[tokio::test]
async fn if_match_updates_and_deletes_only_the_version_named() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    let key = app.key.clone();
    let created = send(
        &app,
        &key,
        Method::POST,
        "/v1/datasets/qa/cases/",
        &[],
        Some(json!({"inputs": {"q": 1}})),
    )
    .await;
    assert_eq!(created.etag.as_deref(), Some("\"1\""));
    let path = format!(
        "/v1/datasets/qa/cases/{}/",
        created.body["id"].as_str().unwrap()
    );

    let fetched = send(&app, &key, Method::GET, &path, &[], None).await;
    assert_eq!(fetched.etag.as_deref(), Some("\"1\""));
    let updated = send(
        &app,
        &key,
        Method::PATCH,
        &path,
        &[("if-match", "\"1\"")],
        Some(json!({"tags": ["a"]})),
    )
    .await;
    assert_eq!(
        (updated.status, updated.etag.as_deref()),
        (StatusCode::OK, Some("\"2\""))
    );

    // A writer still holding version 1 is refused, with the current version.
    for method in [Method::PATCH, Method::PUT] {
        let stale = send(
            &app,
            &key,
            method,
            &path,
            &[("if-match", "\"1\"")],
            Some(json!({"tags": ["b"]})),
        )
        .await;
        assert_eq!(
            stale.status,
            StatusCode::PRECONDITION_FAILED,
            "{}",
            stale.body
        );
        assert_eq!(
            stale.body,
            json!({"detail": "Case is at version 2, not 1", "current_version": 2})
        );
    }
    let stale = send(
        &app,
        &key,
        Method::DELETE,
        &path,
        &[("if-match", "1")],
        None,
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let now = send(&app, &key, Method::GET, &path, &[], None).await;
    assert_eq!(
        (now.body["version"].clone(), now.body["tags"].clone()),
        (json!(2), json!(["a"]))
    );

    // Weak tags and bare numbers name versions too; `*` is any.
    let weak = send(
        &app,
        &key,
        Method::PUT,
        &path,
        &[("if-match", "W/\"2\"")],
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(weak.status, StatusCode::OK);
    let any = send(
        &app,
        &key,
        Method::PATCH,
        &path,
        &[("if-match", "*")],
        Some(json!({"name": "y"})),
    )
    .await;
    assert_eq!(any.status, StatusCode::OK);
    let bad = send(
        &app,
        &key,
        Method::PATCH,
        &path,
        &[("if-match", "latest")],
        Some(json!({})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["header", "If-Match"]));
    let deleted = send(
        &app,
        &key,
        Method::DELETE,
        &path,
        &[("if-match", "\"4\"")],
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(app.case_count("qa").await, 0);
}
