//! The routes of the v1 datasets API, one module per resource.

pub(crate) mod cases;
pub(crate) mod datasets;

use axum::Router;
use axum::routing::MethodRouter;

use crate::AppState;

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
