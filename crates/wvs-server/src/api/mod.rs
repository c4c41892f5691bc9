//! The REST API: GitLab API v4 paths and shapes under `/api/v4`, authenticated with the
//! admin token or a project / group access token (`PRIVATE-TOKEN` or `Authorization:
//! Bearer`). Access tokens reach only their project's or group's hooks, logs and ingest;
//! everything else answers as if it did not exist (404) or, for instance-wide routes, 403.

mod emit;
pub mod error;
mod fields;
pub(crate) mod hooks;
mod ingest;
mod json_depth;
mod members;
mod meta;
pub(crate) mod owner;
pub(crate) mod pagination;
mod params;
mod push;
mod registry;
pub mod test_limit;
mod tokens;
mod users;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;

use crate::auth::{authenticate, require_admin};
use crate::state::AppState;

/// Every route of the server: the API, probes, metrics and the web interface.
pub fn router(state: AppState) -> Router {
    let admin_only = Router::new()
        .merge(registry::routes())
        .merge(ingest::system_routes())
        .merge(tokens::routes())
        .merge(users::routes())
        .merge(members::routes())
        .nest("/hooks", hooks::routes(true))
        .route_layer(from_fn(require_admin));
    let scoped = Router::new()
        .route("/version", get(meta::version))
        .merge(ingest::routes())
        .merge(push::routes())
        .nest("/projects/{id}/hooks", hooks::routes(false))
        .nest("/groups/{id}/hooks", hooks::routes(false));
    let api = admin_only
        .merge(scoped)
        .route_layer(from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .nest("/api/v4", api)
        .route("/-/health", get(meta::health))
        .route("/-/ready", get(meta::ready))
        .route("/metrics", get(meta::metrics))
        .fallback(|| async { error::ApiError::not_found("Route") })
        .with_state(state.clone())
        .merge(crate::web::router(state))
}
