//! The routes of the v1 datasets API, one module per resource.

pub(crate) mod cases;
pub(crate) mod cursor;
pub(crate) mod datasets;
pub(crate) mod experiments;
pub(crate) mod otlp;
mod render;
pub(crate) mod versions;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::Serialize;

use crate::state::AppState;
use crate::store::Written;

/// Marks an answer replayed from an earlier request with the same
/// `Idempotency-Key`.
pub(crate) const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The answer to a write that may repeat an earlier one: the value, marked
/// `Idempotent-Replayed: true` when it is a repeat, with the same status.
pub(crate) fn written<T: Serialize>(status: StatusCode, written: Written<T>) -> Response {
    let replayed = written.is_replay();
    let mut response = (status, Json(written.into_inner())).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

/// Registers `path` with and without its trailing slash: the protocol's paths
/// end in `/`, and the server accepts them without it.
pub(crate) fn route_both(
    router: Router<AppState>,
    path: &str,
    method_router: MethodRouter<AppState>,
) -> Router<AppState> {
    let bare = path.trim_end_matches('/');
    router
        .route(&format!("{bare}/"), method_router.clone())
        .route(bare, method_router)
}
