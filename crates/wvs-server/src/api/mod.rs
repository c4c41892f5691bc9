//! The REST API: GitLab API v4 paths and shapes under `/api/v4`, authenticated with the
//! admin token (`PRIVATE-TOKEN` or `Authorization: Bearer`).

pub mod error;
mod fields;
mod hooks;
mod ingest;
mod json_depth;
mod meta;
mod owner;
mod pagination;
mod params;
mod registry;
pub mod test_limit;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;

use crate::auth::require_admin;
use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/version", get(meta::version))
        .merge(registry::routes())
        .merge(ingest::routes())
        .nest("/projects/{id}/hooks", hooks::routes(false))
        .nest("/groups/{id}/hooks", hooks::routes(false))
        .nest("/hooks", hooks::routes(true))
        .route_layer(from_fn_with_state(state.clone(), require_admin));
    Router::new()
        .nest("/api/v4", api)
        .route("/-/health", get(meta::health))
        .fallback(|| async { error::ApiError::not_found("Route") })
        .with_state(state)
}
