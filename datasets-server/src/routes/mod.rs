//! The routes of the v1 datasets API, one module per resource.

pub(crate) mod cases;
pub(crate) mod datasets;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::Serialize;

use crate::AppState;
use crate::store::Written;

/// Marks an answer replayed from an earlier request with the same
/// `Idempotency-Key`.
pub(crate) const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The answer to a write that may repeat an earlier one: the value, or the
/// remembered answer marked `Idempotent-Replayed: true`, with the same status.
pub(crate) fn written<T: Serialize>(status: StatusCode, written: Written<T>) -> Response {
    match written {
        Written::Fresh(value) => (status, Json(value)).into_response(),
        Written::Replayed(answer) => replayed(status, answer),
    }
}

/// A remembered answer, replayed.
pub(crate) fn replayed(status: StatusCode, answer: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (IDEMPOTENT_REPLAYED, HeaderValue::from_static("true")),
        ],
        answer,
    )
        .into_response()
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
