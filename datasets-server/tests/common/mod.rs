//! Shared set-up of the router tests: an app over a fresh SQLite file, keys,
//! and one-call requests through `tower::ServiceExt::oneshot`.

#![allow(dead_code, unreachable_pub)]

pub mod http;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use datasets_server::auth::Scopes;
use datasets_server::store::SqliteStore;
use datasets_server::{AppState, ServerConfig, app};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    /// Read+write key of project `alpha`.
    pub key: String,
    _dir: tempfile::TempDir,
    /// On the suite's PostgreSQL leg, the server whose schema the app uses.
    _postgres: Option<datasets_server::EmbeddedServer>,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(ServerConfig::default()).await
    }

    pub async fn with_config(config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // With DATASETS_EMBEDDED_POSTGRES_URL set (the PostgreSQL leg of the
        // suite), the app runs on a fresh schema of that database.
        let postgres = std::env::var_os("DATASETS_EMBEDDED_POSTGRES_URL")
            .map(|_| datasets_server::EmbeddedServer::with_config(config.clone()).unwrap());
        let state = match &postgres {
            Some(server) => server.state().clone(),
            None => AppState::new(
                SqliteStore::open(dir.path().join("test.db")).unwrap(),
                config,
            ),
        };
        let (_, key) = state
            .create_key("alpha", Scopes::READ_WRITE, None)
            .await
            .unwrap();
        Self {
            router: app(state.clone()),
            state,
            key,
            _dir: dir,
            _postgres: postgres,
        }
    }

    pub async fn key(&self, project: &str, scopes: Scopes) -> String {
        self.state
            .create_key(project, scopes, None)
            .await
            .unwrap()
            .1
    }

    /// Sends a request with `key` (or none) and a JSON body (or none).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Body>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let request = request
            .header("content-type", "application/json")
            .body(body.unwrap_or_else(Body::empty))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                panic!(
                    "{status} body is not JSON ({err}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, value)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(&self.key.clone(), method, path, body).await
    }

    pub async fn call_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(
            method,
            path,
            Some(key),
            body.map(|b| Body::from(serde_json::to_vec(&b).unwrap())),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates a dataset and returns its body, asserting success.
    pub async fn create_dataset(&self, body: Value) -> Value {
        let (status, value) = self.post("/v1/datasets/", body).await;
        assert_eq!(status, StatusCode::CREATED, "{value}");
        value
    }

    pub async fn case_count(&self, dataset: &str) -> u64 {
        let (status, value) = self.get(&format!("/v1/datasets/{dataset}/")).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["case_count"].as_u64().unwrap()
    }
}

/// The `loc` paths of a 4xx detail list, each joined with dots.
pub fn locs(body: &Value) -> Vec<String> {
    body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("detail is not a list: {body}"))
        .iter()
        .map(|issue| {
            issue["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|segment| match segment {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

/// A JSON Schema as Pydantic generates it for the seed's `QuestionInput`.
pub fn question_schema() -> Value {
    serde_json::json!({
        "properties": {
            "question": {"title": "Question", "type": "string"},
            "context": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Context"}
        },
        "required": ["question"],
        "title": "QuestionInput",
        "type": "object"
    })
}

/// The seed's `AnswerOutput`.
pub fn answer_schema() -> Value {
    serde_json::json!({
        "properties": {
            "answer": {"title": "Answer", "type": "string"},
            "confidence": {"title": "Confidence", "type": "number"}
        },
        "required": ["answer", "confidence"],
        "title": "AnswerOutput",
        "type": "object"
    })
}

/// The seed's `CaseMetadata`.
pub fn metadata_schema() -> Value {
    serde_json::json!({
        "properties": {
            "category": {"title": "Category", "type": "string"},
            "difficulty": {"title": "Difficulty", "type": "string"},
            "reviewed": {"default": false, "title": "Reviewed", "type": "boolean"}
        },
        "required": ["category", "difficulty"],
        "title": "CaseMetadata",
        "type": "object"
    })
}

/// A dataset with the seed's three schemas.
pub fn qa_dataset(name: &str) -> Value {
    serde_json::json!({
        "name": name,
        "description": "Golden test cases for the Q&A system",
        "input_schema": question_schema(),
        "output_schema": answer_schema(),
        "metadata_schema": metadata_schema(),
        "guidance": "Each case should represent a realistic user question with a verified answer."
    })
}

/// A valid case for [`qa_dataset`].
pub fn qa_case(name: &str) -> Value {
    serde_json::json!({
        "name": name,
        "inputs": {"question": format!("question {name}")},
        "expected_output": {"answer": "a", "confidence": 0.5},
        "metadata": {"category": "geography", "difficulty": "easy"},
        "tags": ["geography"]
    })
}
