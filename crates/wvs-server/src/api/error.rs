//! API errors: every error is JSON `{"message": ...}` with the right status, as GitLab does.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wvs_store::StoreError;

use super::schema::Message;
use crate::service::ServiceError;
use crate::status;

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
        let body = Message {
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let retry_after = match error {
            ServiceError::TooMany { retry_after } => Some(retry_after),
            ServiceError::Unavailable => Some(STORE_RETRY_AFTER),
            _ => None,
        };
        ApiError {
            retry_after,
            ..ApiError::new(status::of(&error), error.to_string())
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}
