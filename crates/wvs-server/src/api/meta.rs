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

/// Ready when the store answers a read and can write: after a write failed for a reason of
/// the store's own (a full disk), a write of some size tells whether the cause is gone.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // Any read the store does not remember will do: it needs a connection and the schema.
    if let Err(error) = state
        .store
        .hook_alert_counts(crate::delivery::now_millis())
        .await
    {
        tracing::warn!(%error, "not ready: the store does not answer");
        return failing("the database cannot be reached".to_owned());
    }
    if let Some(reason) = state.store.write_failure()
        && state.store.probe_write().await.is_err()
    {
        return failing(format!("the store cannot write: {reason}"));
    }
    (
        StatusCode::OK,
        Json(json!({ "status": "ok", "store": "ok" })),
    )
}

fn failing(store: String) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "failing", "store": store })),
    )
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
