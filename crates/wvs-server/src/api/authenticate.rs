//! The API's authentication layers: the token a request presents (`PRIVATE-TOKEN` or
//! `Authorization: Bearer`) must stand for a caller (see [`crate::auth`]), and the admin-only
//! routes take the admin's alone.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use crate::auth::{Caller, Reach, caller_of, digest};
use crate::state::AppState;

/// The token a request presents: `PRIVATE-TOKEN`, or `Authorization: Bearer`.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers.get("private-token").and_then(|v| v.to_str().ok()) {
        return Some(token);
    }
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Middleware: the request must carry the admin token or a valid access token; the caller
/// is put in the request's extensions.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = presented(request.headers()).ok_or_else(ApiError::unauthorized)?;
    let caller = caller_of(state.store.as_ref(), digest(token))
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Middleware behind [`authenticate`]: only the admin token passes (registry, system hooks,
/// system events, token management).
pub async fn require_admin(request: Request, next: Next) -> Result<Response, ApiError> {
    match request.extensions().get::<Caller>() {
        Some(Caller {
            reach: Reach::Admin,
            ..
        }) => Ok(next.run(request).await),
        _ => Err(ApiError::forbidden()),
    }
}
