//! API errors: every error is JSON `{"message": ...}` with the right status, as GitLab does.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wvs_store::StoreError;

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds after which a retry may succeed (`Retry-After`).
    pub retry_after: Option<u32>,
}

/// When a client may try again after the store failed: soon, since a store error heals by
/// itself once its cause is gone (space freed, the database back).
const STORE_RETRY_AFTER: u32 = 5;

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: a malformed or invalid request; the message names the field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 with GitLab's wording: `404 Project Not Found`.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, format!("404 {what} Not Found"))
    }

    /// 422: well-formed, but it cannot be done.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "401 Unauthorized")
    }

    pub fn forbidden() -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "403 Forbidden")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "message": self.message }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ApiError::not_found(&capitalized(what)),
            StoreError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                format!("{what} has already been taken"),
            ),
            StoreError::Invalid(what) => ApiError::unprocessable(format!("invalid {what}")),
            StoreError::IdempotencyKeyReused => ApiError::unprocessable(
                "Idempotency-Key was already used with another body: nothing was stored; \
                 post another event under a new key",
            ),
            StoreError::Database(_) | StoreError::Sqlite(_) => {
                // The detail goes to the log, not to the client.
                tracing::error!(error = %error, "store error");
                ApiError {
                    retry_after: Some(STORE_RETRY_AFTER),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "503 Service Unavailable: the database cannot be reached or failed; \
                         retry later (with the same Idempotency-Key, a retry is never stored twice)",
                    )
                }
            }
            StoreError::Corrupt(_) | StoreError::Migrate(_) => {
                tracing::error!(error = %error, "store error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500 Internal Server Error: stored data could not be read",
                )
            }
        }
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
