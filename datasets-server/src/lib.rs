//! `datasets-server`: the v1 datasets API (the contract of Pydantic Logfire's
//! managed datasets), self-hosted on embedded SQLite, validating every case
//! against its dataset's JSON Schemas.
//!
//! The library exposes the pieces the binary is made of, so they can be
//! embedded and tested:
//!
//! - [`app`] builds the axum [`Router`] over an [`AppState`];
//! - [`store`] holds the [`Store`] trait and its SQLite
//!   implementation;
//! - [`EmbeddedServer`] starts the whole server in-process on 127.0.0.1 with
//!   a fresh database, for tests and examples.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let server = datasets_server::EmbeddedServer::start()?;
//! println!("serving on {} with key {}", server.base_url(), server.api_key());
//! # Ok(()) }
//! ```

pub mod auth;
mod conn;
mod embedded;
pub mod error;
mod extract;
pub mod json_guard;
mod routes;
pub mod store;
/// The case rules (limits, JSON Schema validation), shared with the client.
pub use datasets_core::rules as validation;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub use embedded::EmbeddedServer;
pub use routes::cases::MAX_PAGE_SIZE;

use crate::auth::Scopes;
use crate::error::ApiError;
use crate::store::{NewApiKey, Store, StoreError};

/// The default request body limit: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The default time for a request's line and headers to arrive: 10 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time a request body may send nothing: 20 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);
/// The default time an idle keep-alive connection is kept open: 60 s.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default number of connections served at once: 1024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Settings of a running server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes; larger bodies get a 413
    /// (at once, when the `Content-Length` announces one).
    pub body_limit: usize,
    /// Time for a request's line and headers to arrive, from its first byte
    /// (from the accept, for a connection's first request); a connection
    /// past it is answered 408 and closed.
    pub header_timeout: Duration,
    /// Longest wait for the next part of a request body; past it, 408.
    pub body_timeout: Duration,
    /// An idle keep-alive connection is closed after this long.
    pub keep_alive_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServerConfig {
    /// The largest accepted request body, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Time for a request's line and headers to arrive.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Longest wait for the next part of a request body.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How long an idle keep-alive connection is kept open.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.keep_alive_timeout = timeout;
        self
    }

    /// How many connections are served at once.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }
}

/// What every handler shares: the store and the configuration. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// The server's settings.
    pub config: Arc<ServerConfig>,
}

impl AppState {
    /// A state over `store` with `config`.
    pub fn new(store: impl Store, config: ServerConfig) -> Self {
        Self {
            store: Arc::new(store),
            config: Arc::new(config),
        }
    }

    /// Creates a key for `project` (creating the project if absent) and
    /// returns the key; only its hash is stored.
    pub async fn create_key(
        &self,
        project: &str,
        scopes: Scopes,
        name: Option<String>,
    ) -> Result<(store::ApiKeyRecord, String), StoreError> {
        let project = self.store.ensure_project(project).await?;
        let key = auth::generate_key();
        let record = self
            .store
            .insert_key(NewApiKey {
                project_id: project.id,
                name,
                prefix: auth::display_prefix(&key),
                key_hash: auth::hash_key(&key),
                scopes,
            })
            .await?;
        Ok((record, key))
    }

    /// Makes sure the server can be used at start-up.
    ///
    /// With `bootstrap_key`, that key exists (read and write, project
    /// `default`) afterwards. Without it, a database with no keys at all gets
    /// project `default` and one read+write key, which is returned so the
    /// caller can print it once.
    pub async fn bootstrap(
        &self,
        bootstrap_key: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(key) = bootstrap_key {
            let hash = auth::hash_key(key);
            if self.store.find_key(&hash).await?.is_none() {
                let project = self.store.ensure_project("default").await?;
                self.store
                    .insert_key(NewApiKey {
                        project_id: project.id,
                        name: Some("bootstrap".to_owned()),
                        prefix: auth::display_prefix(key),
                        key_hash: hash,
                        scopes: Scopes::READ_WRITE,
                    })
                    .await?;
            }
            return Ok(None);
        }
        if !self.store.list_keys().await?.is_empty() {
            return Ok(None);
        }
        let (_, key) = self
            .create_key("default", Scopes::READ_WRITE, Some("initial".to_owned()))
            .await?;
        Ok(Some(key))
    }
}

/// The router of the whole API over `state`.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .route("/health", get(health))
        .merge(routes::datasets::router())
        .merge(routes::cases::router())
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// `GET /health`: 200 when the database answers, without a key.
async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// Logs each request's method, route template (never the query string or
/// headers, which may carry data or keys), status and duration.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, under the
/// connection limits of the state's [`ServerConfig`] (header, body and
/// keep-alive timeouts, a cap on connections, `TCP_NODELAY` on each).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = Arc::clone(&state.config);
    conn::serve(listener, app(state), config, shutdown).await
}

/// The body of the fuzz target over request decoding and validation
/// (`fuzz/` in the repository), callable from tests that replay the corpus
/// and every crash found. Not a public API.
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::OnceLock;

    use datasets_core::wire::{CaseUpdate, LocSegment, NewDataset};
    use serde_json::{Value, json};

    use crate::validation::{self, CompiledSchemas, SchemaKind};
    use crate::{extract, json_guard, routes};

    fn schemas() -> &'static CompiledSchemas {
        static SCHEMAS: OnceLock<CompiledSchemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| {
            let input = json!({
                "$defs": {"Ctx": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 50}}}},
                "type": "object", "title": "QuestionInput",
                "properties": {
                    "question": {"type": "string", "pattern": "^[A-Z]"},
                    "context": {"anyOf": [{"$ref": "#/$defs/Ctx"}, {"type": "null"}]}
                },
                "required": ["question"]
            });
            let output = json!({"type": "object", "properties": {"confidence": {"type": "number", "minimum": 0, "maximum": 1}}});
            CompiledSchemas::compile(Some(&input), Some(&output), None).expect("the fixed schemas compile")
        })
    }

    /// Any bytes, as the body of every route that takes one: decoding,
    /// the hostile-input guard, name and tag rules, schema compilation and
    /// case validation never panic, and what the guard accepts and the
    /// parser reads, written back, the guard accepts again.
    pub fn request_body(data: &[u8]) {
        let guarded = json_guard::check(data);
        if guarded.is_ok()
            && let Ok(value) = serde_json::from_slice::<Value>(data)
        {
            let written = serde_json::to_vec(&value).expect("values serialize");
            assert_eq!(json_guard::check(&written), Ok(()), "{value}");
        }
        let mut issues = Vec::new();
        for listed in [true, false] {
            let Ok(cases) = routes::cases::incoming(bytes::Bytes::copy_from_slice(data), listed)
            else {
                continue;
            };
            // What is accepted is one JSON document, and an object.
            let whole: Value =
                serde_json::from_slice(data).expect("an accepted body is one JSON value");
            assert!(whole.is_object(), "an accepted body is an object: {whole}");
            for (index, case) in cases.cases.iter().enumerate() {
                let base = [LocSegment::from("body"), "cases".into(), index.into()];
                let value = |range: &std::ops::Range<usize>| -> Value {
                    serde_json::from_str(cases.text(range)).expect("a case's values are JSON")
                };
                schemas().check_case(
                    &value(&case.inputs),
                    case.expected_output.as_ref().map(value).as_ref(),
                    case.metadata.as_ref().map(value).as_ref(),
                    &base,
                    &mut issues,
                );
                let minified = json_guard::minify(cases.text(&case.inputs));
                assert_eq!(
                    serde_json::from_str::<Value>(&minified).expect("minified JSON parses"),
                    value(&case.inputs)
                );
            }
        }
        if let Ok(update) = extract::parse_json::<CaseUpdate>(data) {
            validation::check_case_update(&update, &mut issues);
        }
        if let Ok(new) = extract::parse_json::<NewDataset>(data) {
            let _ = validation::check_schemas([
                (SchemaKind::Input, new.input_schema.as_ref()),
                (SchemaKind::Output, new.output_schema.as_ref()),
                (SchemaKind::Metadata, new.metadata_schema.as_ref()),
            ]);
        }
        // A body that is a schema itself, as the fuzzer's dictionary suggests.
        if let Ok(schema) = serde_json::from_slice::<Value>(data)
            && schema.is_object()
        {
            let _ = validation::compile_schema(&schema);
        }
    }
}
