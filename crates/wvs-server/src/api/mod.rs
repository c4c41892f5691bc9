//! The REST API: GitLab API v4 paths and shapes under `/api/v4`, authenticated with the
//! admin token or a project / group access token (`PRIVATE-TOKEN` or `Authorization:
//! Bearer`). Access tokens reach only their project's or group's hooks, logs and ingest;
//! everything else answers as if it did not exist (404) or, for instance-wide routes, 403.

mod authenticate;
mod endpoints;
pub mod error;
pub(crate) mod hooks;
mod ingest;
mod json_depth;
mod members;
mod meta;
mod openapi;
pub(crate) mod owner;
pub(crate) mod pagination;
mod params;
mod push;
mod registry;
pub mod schema;
mod tokens;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};

use self::authenticate::{authenticate, require_admin};
use self::endpoints::{Documented, Endpoints};
use crate::state::AppState;

/// Every route of the server: the API, probes, metrics, the API's OpenAPI document and the
/// web interface.
pub fn router(state: AppState) -> Router {
    let admin_only = Documented::empty()
        .merge(registry::routes())
        .merge(ingest::system_routes())
        .merge(tokens::routes())
        .merge(users::routes())
        .merge(members::routes())
        .nest("/hooks", hooks::routes(true))
        .map(|router| router.route_layer(from_fn(require_admin)));
    let scoped = Endpoints::new("meta")
        .get("/version", meta::version, "The WVS version")
        .answers::<schema::Version>(200)
        .build()
        .merge(ingest::routes())
        .merge(push::routes())
        .nest("/projects/{id}/hooks", hooks::routes(false))
        .nest("/groups/{id}/hooks", hooks::routes(false));
    let api = admin_only
        .merge(scoped)
        .map(|router| router.route_layer(from_fn_with_state(state.clone(), authenticate)));
    let open = Endpoints::new("meta")
        .get(
            "/openapi.json",
            openapi::serve,
            "This document: OpenAPI 3.1 of every endpoint",
        )
        .answers::<serde_json::Map<String, serde_json::Value>>(200)
        .build()
        .public();
    let probes = Endpoints::new("meta")
        .get("/-/health", meta::health, "The process is up")
        .answers::<schema::Health>(200)
        .get("/-/ready", meta::ready, "The store answers")
        .answers::<schema::Health>(200)
        .answers::<schema::Health>(503)
        .get("/metrics", meta::metrics, "Prometheus metrics")
        .answers_text(200)
        .build()
        .public();
    let all = Documented::empty()
        .nest("/api/v4", api.merge(open))
        .merge(probes);
    let document = Arc::new(openapi::document(&all.ops));
    all.router
        .fallback(|| async { error::ApiError::not_found("Route") })
        .layer(axum::Extension(document))
        .with_state(state.clone())
        .merge(crate::web::router(state))
}
