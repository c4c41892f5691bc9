//! Request parameters as GitLab accepts them: a JSON body, a form-encoded body, or the query
//! string (which fills what the body does not give).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The parameters of a request, in the shape they arrived.
#[derive(Debug, Clone)]
pub enum Params {
    /// A JSON object (query parameters merged in as strings).
    Json(Map<String, Value>),
    /// Form-encoded pairs, body first, then the query string.
    Form(Vec<(String, String)>),
}

impl Params {
    /// The parameters as a JSON object; form values become strings.
    pub fn into_object(self) -> Map<String, Value> {
        match self {
            Params::Json(map) => map,
            Params::Form(pairs) => {
                let mut map = Map::new();
                for (key, value) in pairs {
                    map.entry(key).or_insert(Value::String(value));
                }
                map
            }
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> = request
            .uri()
            .query()
            .map(|query| form_urlencoded_pairs(query.as_bytes()))
            .unwrap_or_default();
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        if is_json && !body.iter().all(u8::is_ascii_whitespace) {
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
            let Value::Object(mut map) = value else {
                return Err(ApiError::bad_request("the body must be a JSON object"));
            };
            for (key, value) in query {
                map.entry(key).or_insert(Value::String(value));
            }
            return Ok(Params::Json(map));
        }
        let mut pairs = form_urlencoded_pairs(&body);
        pairs.extend(query);
        Ok(Params::Form(pairs))
    }
}

fn form_urlencoded_pairs(input: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input).into_owned().collect()
}
