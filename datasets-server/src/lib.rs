//! `datasets-server`: the v1 datasets API (the contract of Pydantic Logfire's
//! managed datasets), self-hosted on embedded SQLite, validating every case
//! against its dataset's JSON Schemas.
//!
//! The library exposes the pieces the binary is made of, so they can be
//! embedded and tested:
//!
//! - [`app`] builds the axum [`Router`] over an [`AppState`];
//! - [`store`] holds the [`Store`](store::Store) trait and its SQLite
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
pub use datasets_core::json_guard;
pub mod keys;
pub mod otlp;
mod pressure;
mod routes;
mod rules;
mod state;
pub mod store;
mod throttle;
mod ui;
/// The case rules (limits, JSON Schema validation), shared with the client.
pub use datasets_core::rules as validation;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub use embedded::EmbeddedServer;
pub use routes::cases::MAX_PAGE_SIZE;
pub use state::{
    AppState, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_FAILED_KEY_LIMIT,
    DEFAULT_FAILED_KEY_WINDOW, DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_WRITE_TIMEOUT, SecureCookies, ServerConfig,
};

use crate::error::ApiError;

/// The router of the whole API over `state`.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let ui = if state.config.ui {
        ui::router(state.clone())
    } else {
        Router::new()
    };
    Router::new()
        .route("/health", get(health))
        .merge(routes::datasets::router())
        .merge(routes::cases::router())
        .merge(routes::versions::router())
        .merge(routes::experiments::router())
        .merge(routes::otlp::router(state.clone()))
        .merge(ui)
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
    let pressure = Arc::clone(&state.pressure);
    conn::serve(listener, app(state), config, pressure, shutdown).await
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

    /// Any bytes, as an OTLP trace export in protobuf and in JSON: decoding
    /// never panics nor expands past a request's limits, and what decodes
    /// becomes experiment rows (attributes holding JSON text read under a
    /// body's limits) without panicking.
    pub fn otlp_body(data: &[u8]) {
        let decoded = [
            crate::otlp::decode_protobuf(data),
            json_guard::check(data)
                .map_err(|rejection| crate::otlp::DecodeError::Invalid(rejection.message))
                .and_then(|()| crate::otlp::decode_json(data)),
        ];
        for spans in decoded.into_iter().flatten() {
            assert!(spans.len() <= crate::otlp::MAX_SPANS);
            let _ = crate::store::experiments::rows_of_spans(&spans);
        }
    }
}
