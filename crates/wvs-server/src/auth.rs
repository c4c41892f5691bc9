//! The admin API token: given by the operator (`WVS_ADMIN_TOKEN`) or generated on first start
//! and printed once. Only its SHA-256 digest is stored, and presented tokens are compared
//! digest to digest in constant time.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wvs_store::Store;

use crate::api::error::ApiError;
use crate::state::AppState;

const ADMIN_TOKEN_DIGEST: &str = "admin_token_sha256";

/// Makes sure an admin token exists. Returns a newly generated token, which the caller shows
/// once; `None` when the configured or an earlier token stays in force.
pub async fn ensure_admin_token(
    store: &dyn Store,
    configured: Option<&str>,
) -> Result<Option<String>, wvs_store::StoreError> {
    if let Some(token) = configured {
        store
            .set_setting(ADMIN_TOKEN_DIGEST, &digest(token))
            .await?;
        return Ok(None);
    }
    if store.setting(ADMIN_TOKEN_DIGEST).await?.is_some() {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = format!("wvs_{}", URL_SAFE_NO_PAD.encode(bytes));
    store
        .set_setting(ADMIN_TOKEN_DIGEST, &digest(&token))
        .await?;
    Ok(Some(token))
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

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

/// Who is calling: the digest of the token the request presented (never the token).
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// Middleware: the request must carry the admin token.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = presented(request.headers()).ok_or_else(ApiError::unauthorized)?;
    let stored = state
        .store
        .setting(ADMIN_TOKEN_DIGEST)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let digest = digest(token);
    if bool::from(digest.as_bytes().ct_eq(stored.as_bytes())) {
        let mut request = request;
        request.extensions_mut().insert(Caller(digest));
        Ok(next.run(request).await)
    } else {
        Err(ApiError::unauthorized())
    }
}
