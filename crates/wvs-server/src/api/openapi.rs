//! `GET /api/v4/openapi.json`: an OpenAPI 3.1 description of every endpoint, built from the
//! same declarations as the routes ([`super::endpoints`]). It names each operation, its path
//! parameters, whether it needs a token, and the JSON Schemas (2020-12, which OpenAPI 3.1
//! uses as is) of its request and response bodies, made from the types of [`super::schema`]
//! and shared under `components/schemas`. Every error answers a [`Message`].

use std::sync::Arc;

use axum::{Extension, Json};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::endpoints::{Body, Operation};
use super::schema::Message;

/// Serves the document built at start.
pub async fn serve(Extension(document): Extension<Arc<Value>>) -> Json<Value> {
    Json(Value::clone(&document))
}

/// The OpenAPI document of `ops`.
pub fn document(ops: &[Operation]) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.definitions_path = "/components/schemas".into())
        .into_generator();
    let error = generator.subschema_for::<Message>();
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
            "responses": responses(op, &mut generator, &error),
        });
        if let Some(request) = op.request {
            operation["requestBody"] = json!({
                "required": true,
                "content": {
                    "application/json": {"schema": request(&mut generator)},
                    "application/x-www-form-urlencoded": {"schema": request(&mut generator)},
                },
            });
        }
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
            },
            "schemas": generator.take_definitions(true),
        },
        "security": [{"private_token": []}, {"bearer": []}],
        "paths": paths,
    })
}

/// The operation's answers on success, and `default`: an error's `{"message": ...}`.
fn responses(op: &Operation, generator: &mut SchemaGenerator, error: &schemars::Schema) -> Value {
    let mut answers = Map::new();
    for (status, body) in &op.responses {
        let content = match body {
            Body::Empty => None,
            Body::Json(schema) => Some(json!({"application/json": {"schema": schema(generator)}})),
            Body::Text => Some(json!({"text/plain": {"schema": {"type": "string"}}})),
        };
        let mut answer = json!({"description": reason(*status)});
        if let Some(content) = content {
            answer["content"] = content;
        }
        answers.insert(status.to_string(), answer);
    }
    answers.insert(
        "default".to_owned(),
        json!({"description": "An error", "content": {"application/json": {"schema": error}}}),
    );
    Value::Object(answers)
}

/// The status's reason phrase (`201 Created`), as a response's description.
fn reason(status: u16) -> String {
    let phrase = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    format!("{status} {phrase}")
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
