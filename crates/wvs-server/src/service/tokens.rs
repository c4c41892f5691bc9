//! Project and group access tokens: created with a name and an optional expiry date, shown
//! once, kept as a digest; revoked by id.

use std::time::Duration;

use chrono::NaiveDate;
use wvs_store::{AccessToken, HookOwner, Millis, NewAccessToken, TokenId};

use super::error::{ServiceError, ServiceResult};
use super::fields::Fields;
use crate::auth::{digest, new_token};
use crate::state::AppState;
use crate::time::utc;

const MAX_NAME_CHARS: usize = 255;

/// Creates an access token of `owner` from request fields (`name`, `expires_at`); the
/// stored token and the token itself, which is never shown again.
pub async fn create(
    state: &AppState,
    owner: HookOwner,
    fields: &Fields,
) -> ServiceResult<(AccessToken, String)> {
    let name = fields.required("name")?;
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    let now = Millis::now();
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
    if stored.expires_at.is_some() {
        // One that expires within the notice period is told of now.
        state.token_created.notify_one();
    }
    Ok((stored, token))
}

/// Revokes token `token_id` of `owner`; it stops working at once.
pub async fn revoke(state: &AppState, owner: HookOwner, token_id: TokenId) -> ServiceResult<()> {
    Ok(state.store.revoke_access_token(owner, token_id).await?)
}

/// The date a token was created with, from the moment it stops working (the next midnight).
pub fn expiry_date(end: Millis) -> String {
    utc(end - Duration::from_millis(1)).date_naive().to_string()
}

/// GitLab's `expires_at` is a date: the token works until the end of that day (UTC), so it
/// stops at the next midnight. Today and earlier are refused: GitLab counts a token whose
/// date has come as expired, so it would never work there.
fn parse_expiry(date: &str, now: Millis) -> ServiceResult<Millis> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| ServiceError::invalid("expires_at must be a date (YYYY-MM-DD)"))?;
    let today = utc(now).date_naive();
    if day <= today {
        return Err(ServiceError::invalid(format!(
            "expires_at must be a date after today ({today})"
        )));
    }
    day.succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|end| Millis(end.and_utc().timestamp_millis()))
        .ok_or_else(|| ServiceError::invalid("expires_at is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(date: &str) -> Millis {
        let noon = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        Millis(noon)
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
            assert!(matches!(err, ServiceError::Invalid { .. }), "{refused}");
            assert!(err.to_string().contains("expires_at"), "{refused}: {err}");
        }
        assert!(parse_expiry("2027-02-30", now).is_err());
    }
}
