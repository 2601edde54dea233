//! The OTLP/HTTP endpoints Logfire's SDK sends to, so that an unmodified
//! pydantic-evals run configured with `logfire.configure(token=<key>,
//! advanced=logfire.AdvancedOptions(base_url=<server>))` lands here:
//!
//! - `GET /v1/info`: the token check `logfire.configure` makes, answered
//!   with `project_name` and `project_url`;
//! - `POST /v1/traces`: an `ExportTraceServiceRequest` in protobuf
//!   (`application/x-protobuf`) or JSON (`application/json`), plain or
//!   `Content-Encoding: gzip`, with a key that may write. Experiment spans
//!   (pydantic-evals' `evaluate {name}` and `case: {case_name}`) are stored;
//!   every other span, and Logfire's pending-span copies, are accepted and
//!   dropped. A body over the limit, compressed or not, is 413 (Logfire's
//!   SDK then sends the batch in halves);
//! - `POST /v1/metrics` and `POST /v1/logs`: accepted and dropped.
//!
//! The key may come as `Bearer <key>` or alone, as Logfire sends it.

use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use datasets_core::wire::ValidationIssue;
use serde_json::json;

use super::route_both;
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::otlp;
use crate::state::AppState;
use crate::store::experiments::rows_of_spans;

pub(crate) fn router(state: AppState) -> Router<AppState> {
    let router = Router::new();
    let router = route_both(router, "/v1/info", get(info));
    let router = route_both(router, "/v1/traces", post(traces));
    let router = route_both(router, "/v1/metrics", post(dropped));
    route_both(router, "/v1/logs", post(dropped)).route_layer(axum::middleware::from_fn_with_state(
        state,
        crate::extract::bounded_body,
    ))
}

/// `GET /v1/info`: what Logfire's SDK reads when it checks its token.
async fn info(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Result<Response, ApiError> {
    let key = authenticate(&parts, &state).await?;
    let headers = &parts.headers;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    Ok(axum::Json(json!({
        "project_name": key.project_name,
        "project_url": format!("http://{host}/v1/experiments/"),
    }))
    .into_response())
}

/// The body's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "OTLP bodies are application/x-protobuf or application/json, not {content_type:?}"
        ))),
    }
}

/// The body as sent, decompressed when gzip, never past `limit` bytes.
fn decoded_body(headers: &HeaderMap, body: &Bytes, limit: usize) -> Result<Vec<u8>, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(body.to_vec()),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let mut reader = flate2::read::MultiGzDecoder::new(&body[..]).take(limit as u64 + 1);
            reader.read_to_end(&mut out).map_err(|err| {
                ApiError::BadRequest(vec![ValidationIssue::new(
                    vec!["body".into()],
                    format!("the gzip body does not decompress: {err}"),
                    "invalid_encoding",
                )])
            })?;
            if out.len() > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            Ok(out)
        }
        other => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {other:?} is not supported; send gzip or no encoding"
        ))),
    }
}

/// The empty `ExportTraceServiceResponse`, in the request's format.
fn accepted(format: Format) -> Response {
    match format {
        Format::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::new(),
        )
            .into_response(),
        Format::Json => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
    }
}

async fn traces(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let format = format_of(&headers)?;
    let limit = state.config.body_limit;
    let rows = tokio::task::spawn_blocking(move || {
        let bytes = decoded_body(&headers, &body, limit)?;
        let spans = match format {
            Format::Protobuf => otlp::decode_protobuf(&bytes),
            Format::Json => crate::json_guard::check(&bytes)
                .map_err(|rejection| otlp::DecodeError::Invalid(rejection.message))
                .and_then(|()| otlp::decode_json(&bytes)),
        }
        .map_err(|err| match err {
            otlp::DecodeError::Invalid(msg) => ApiError::BadRequest(vec![ValidationIssue::new(
                vec!["body".into()],
                format!("not an OTLP trace export: {msg}"),
                "invalid_otlp",
            )]),
            otlp::DecodeError::TooLarge(msg) => ApiError::TooLargeToExpand(msg),
        })?;
        drop(bytes);
        Ok::<_, ApiError>(rows_of_spans(&spans))
    })
    .await
    .map_err(|err| ApiError::Internal(format!("decoding the spans failed: {err}")))??;
    tracing::debug!(
        runs = rows.runs.len(),
        cases = rows.cases.len(),
        dropped = rows.dropped,
        "spans received"
    );
    if !rows.runs.is_empty() || !rows.cases.is_empty() {
        state
            .store
            .ingest_spans(principal.project_id, principal.key_id, rows)
            .await?;
    }
    Ok(accepted(format))
}

/// `/v1/metrics` and `/v1/logs`: checked like traces, then dropped.
async fn dropped(_principal: Principal, headers: HeaderMap) -> Result<Response, ApiError> {
    Ok(accepted(format_of(&headers)?))
}
