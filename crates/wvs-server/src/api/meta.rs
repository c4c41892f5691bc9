//! `GET /api/v4/version`, the probes `GET /-/health` (the process is up) and `GET /-/ready`
//! (the store answers; its migrations were applied when it opened), and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::state::AppState;

pub async fn version() -> Json<Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION"), "revision": "wvs" }))
}

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // Any read the store does not remember will do: it needs a connection and the schema.
    match state
        .store
        .hook_alert_counts(crate::delivery::now_millis())
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "store": "ok" })),
        ),
        Err(error) => {
            tracing::warn!(%error, "not ready: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "failing", "store": "the database cannot be reached" })),
            )
        }
    }
}

/// Prometheus text format; no authentication, as scrapers expect (nothing secret in it).
pub async fn metrics(State(state): State<AppState>) -> Response {
    match crate::metrics::render(state.store.as_ref()).await {
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
