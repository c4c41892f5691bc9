//! `GET /api/v4/openapi.json`: an OpenAPI 3.1 description of every endpoint, built from the
//! same declarations as the routes ([`super::endpoints`]). It names each operation, its path
//! parameters and whether it needs a token; request and response bodies follow GitLab's API
//! v4 and are described in docs/api.md rather than as schemas.

use std::sync::Arc;

use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use super::endpoints::Operation;

/// Serves the document built at start.
pub async fn serve(Extension(document): Extension<Arc<Value>>) -> Json<Value> {
    Json(Value::clone(&document))
}

/// The OpenAPI document of `ops`.
pub fn document(ops: &[Operation]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in ops {
        let item = paths
            .entry(op.path.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object");
        let method = op.method.as_str().to_ascii_lowercase();
        let mut operation = json!({
            "summary": op.summary,
            "operationId": operation_id(op),
            "tags": [op.tag],
            "parameters": parameters(&op.path),
            "responses": {
                "default": {
                    "description": "GitLab API v4 shapes; errors are {\"message\": ...}"
                }
            },
        });
        if !op.authenticated {
            operation["security"] = json!([]);
        }
        item.insert(method, operation);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "WVS webhook server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Webhooks as GitLab's API v4 describes them: registry, hooks, ingest, delivery log.",
        },
        "components": {
            "securitySchemes": {
                "private_token": {"type": "apiKey", "in": "header", "name": "PRIVATE-TOKEN"},
                "bearer": {"type": "http", "scheme": "bearer"},
            }
        },
        "security": [{"private_token": []}, {"bearer": []}],
        "paths": paths,
    })
}

/// `{name}` segments of a path as required string path parameters.
fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

/// A unique id: the method and the path's words (`get_projects_id_hooks`).
fn operation_id(op: &Operation) -> String {
    let words: Vec<String> = op
        .path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    format!(
        "{}_{}",
        op.method.as_str().to_ascii_lowercase(),
        words.join("_")
    )
}
