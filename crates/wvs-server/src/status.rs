//! The HTTP status of a service error: one table for the API's JSON answers and the web
//! pages' error pages, so both answer a refusal alike.

use axum::http::StatusCode;

use crate::service::ServiceError;

/// The status a [`ServiceError`] is answered with.
pub fn of(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::NotFound { .. } | ServiceError::Pruned { .. } => StatusCode::NOT_FOUND,
        ServiceError::Invalid { .. } => StatusCode::BAD_REQUEST,
        ServiceError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Forbidden => StatusCode::FORBIDDEN,
        ServiceError::Conflict { .. } => StatusCode::CONFLICT,
        ServiceError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::EventNotStored { source, .. } => of(source),
        ServiceError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        ServiceError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}
