//! `GET /api/v4/version`, the probes `GET /-/health` (the process is up) and `GET /-/ready`
//! (the store answers; its migrations were applied when it opened), and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wvs_store::Millis;

use super::error::ApiError;
use super::schema::{Health, Version};
use crate::state::AppState;

pub async fn version() -> Json<Version> {
    Json(Version {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        revision: "wvs".to_owned(),
    })
}

pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        store: None,
    })
}

/// Ready when the store answers a read and can write: after a write failed for a reason of
/// the store's own (a full disk), a write of some size tells whether the cause is gone.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    // Any read the store does not remember will do: it needs a connection and the schema.
    if let Err(error) = state.store.hook_alert_counts(Millis::now()).await {
        tracing::warn!(%error, "not ready: the store does not answer");
        return failing("the database cannot be reached".to_owned());
    }
    if let Some(reason) = state.store.write_failure()
        && state.store.probe_write().await.is_err()
    {
        return failing(format!("the store cannot write: {reason}"));
    }
    (StatusCode::OK, health_of("ok", "ok".to_owned()))
}

fn failing(store: String) -> (StatusCode, Json<Health>) {
    (StatusCode::SERVICE_UNAVAILABLE, health_of("failing", store))
}

fn health_of(status: &str, store: String) -> Json<Health> {
    Json(Health {
        status: status.to_owned(),
        store: Some(store),
    })
}

/// Prometheus text format; no authentication, as scrapers expect (nothing secret in it).
pub async fn metrics(State(state): State<AppState>) -> Response {
    match crate::metrics::render(state.store.as_ref(), state.limits.all()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
