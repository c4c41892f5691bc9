//! `GET /api/v4/version` and the load balancer probe `GET /-/health`.

use axum::Json;
use serde_json::{Value, json};

pub async fn version() -> Json<Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION"), "revision": "wvs" }))
}

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
