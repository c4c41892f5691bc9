//! Project and group access tokens, GitLab's `/projects/:id/access_tokens` and
//! `/groups/:id/access_tokens` (admin only): a token reaches the hooks, logs and ingest of
//! its project, or of its group and everything beneath it. The token is shown once, in the
//! answer to its creation; only its digest is kept.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use wvs_store::{AccessToken, NewAccessToken};

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::owner::Owner;
use super::pagination::Paging;
use super::params::Params;
use crate::auth::{digest, new_token};
use crate::delivery::now_millis;
use crate::service::fields::Fields;
use crate::state::AppState;
use crate::time::iso8601;

const MAX_NAME_CHARS: usize = 255;

pub fn routes() -> Documented {
    Endpoints::new("access tokens")
        .get(
            "/projects/{id}/access_tokens",
            list_tokens,
            "List a project's access tokens",
        )
        .post(
            "/projects/{id}/access_tokens",
            create_token,
            "Create a project access token",
        )
        .delete(
            "/projects/{id}/access_tokens/{token_id}",
            revoke_token,
            "Revoke a project access token",
        )
        .get(
            "/groups/{id}/access_tokens",
            list_tokens,
            "List a group's access tokens",
        )
        .post(
            "/groups/{id}/access_tokens",
            create_token,
            "Create a group access token",
        )
        .delete(
            "/groups/{id}/access_tokens/{token_id}",
            revoke_token,
            "Revoke a group access token",
        )
        .build()
}

fn render(token: &AccessToken) -> Value {
    json!({
        "id": token.id,
        "name": token.name,
        "scopes": ["api"],
        "active": token.expires_at.is_none_or(|at| at > now_millis()),
        "revoked": false,
        "created_at": iso8601(token.created_at),
        "expires_at": token.expires_at.map(expiry_date),
    })
}

/// The date a token was created with, from the moment it stops working (the next midnight).
fn expiry_date(end: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(end - 1)
        .unwrap_or_default()
        .date_naive()
        .to_string()
}

/// GitLab's `expires_at` is a date: the token works until the end of that day (UTC), so it
/// stops at the next midnight. Today and earlier are refused: GitLab counts a token whose
/// date has come as expired, so it would never work there.
fn parse_expiry(date: &str, now: i64) -> ApiResult<i64> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("expires_at must be a date (YYYY-MM-DD)"))?;
    let today = DateTime::<Utc>::from_timestamp_millis(now)
        .unwrap_or_default()
        .date_naive();
    if day <= today {
        return Err(ApiError::bad_request(format!(
            "expires_at must be a date after today ({today})"
        )));
    }
    day.succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|end| end.and_utc().timestamp_millis())
        .ok_or_else(|| ApiError::bad_request("expires_at is out of range"))
}

async fn list_tokens(
    State(state): State<AppState>,
    Owner(owner): Owner,
    paging: Paging,
) -> ApiResult<Response> {
    let tokens = state.store.list_access_tokens(owner).await?;
    Ok(paging.respond_whole(tokens.iter().map(render).collect()))
}

async fn create_token(
    State(state): State<AppState>,
    Owner(owner): Owner,
    params: Params,
) -> ApiResult<Response> {
    let fields = Fields(params.into_object());
    let name = fields.required("name")?;
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    let now = now_millis();
    let expires_at = fields
        .string("expires_at")?
        .filter(|date| !date.is_empty())
        .map(|date| parse_expiry(&date, now))
        .transpose()?;
    let token = new_token("wvsat_");
    let stored = state
        .store
        .create_access_token(
            NewAccessToken {
                name,
                owner,
                digest: digest(&token),
                expires_at,
            },
            now,
        )
        .await?;
    let mut body = render(&stored);
    body["token"] = Value::String(token);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize)]
struct TokenPath {
    token_id: i64,
}

async fn revoke_token(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(TokenPath { token_id }): Path<TokenPath>,
) -> ApiResult<StatusCode> {
    state.store.revoke_access_token(owner, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(date: &str) -> i64 {
        NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    #[test]
    fn an_expiry_date_round_trips_and_must_be_after_today() {
        let now = millis("2026-12-05");
        let end = parse_expiry("2027-06-30", now).unwrap();
        assert_eq!(expiry_date(end), "2027-06-30");
        assert_eq!(
            expiry_date(parse_expiry("2026-12-06", now).unwrap()),
            "2026-12-06"
        );
        for refused in ["2026-12-05", "2026-12-04", "2020-01-01"] {
            let err = parse_expiry(refused, now).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{refused}");
            assert!(
                err.message.contains("expires_at"),
                "{refused}: {}",
                err.message
            );
        }
        assert!(parse_expiry("2027-02-30", now).is_err());
    }
}
