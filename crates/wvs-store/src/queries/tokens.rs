//! Access tokens scoped to a project or a group: stored by digest, never in clear.

use sqlx::FromRow;

use super::Conn;

use super::sql::{conflict, missing};
use crate::model::{AccessToken, GroupId, HookOwner, Millis, NewAccessToken, ProjectId, TokenId};
use crate::{Result, StoreError};

#[derive(FromRow)]
struct TokenRow {
    id: TokenId,
    name: String,
    project_id: Option<ProjectId>,
    group_id: Option<GroupId>,
    created_at: Millis,
    expires_at: Option<Millis>,
}

impl TokenRow {
    fn into_token(self) -> Result<AccessToken> {
        let owner = match (self.project_id, self.group_id) {
            (Some(id), None) => HookOwner::Project(id),
            (None, Some(id)) => HookOwner::Group(id),
            _ => return Err(StoreError::Corrupt("access_tokens.owner")),
        };
        Ok(AccessToken {
            id: self.id,
            name: self.name,
            owner,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// The (`project_id`, `group_id`) columns of a token's owner; system tokens do not exist.
fn owner_ids(owner: HookOwner) -> Result<(Option<ProjectId>, Option<GroupId>)> {
    match owner {
        HookOwner::Project(id) => Ok((Some(id), None)),
        HookOwner::Group(id) => Ok((None, Some(id))),
        HookOwner::System => Err(StoreError::Invalid(
            "an access token belongs to a project or a group",
        )),
    }
}

pub async fn create(conn: &mut Conn, token: NewAccessToken, now: Millis) -> Result<AccessToken> {
    let (project_id, group_id) = owner_ids(token.owner)?;
    let row: TokenRow = sqlx::query_as(
        "INSERT INTO access_tokens (name, digest, project_id, group_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id, name, project_id, group_id, created_at, expires_at",
    )
    .bind(token.name)
    .bind(token.digest)
    .bind(project_id)
    .bind(group_id)
    .bind(now)
    .bind(token.expires_at)
    .fetch_one(conn)
    .await
    .map_err(|error| match missing("owner")(error) {
        StoreError::Database(error) => conflict("access token")(error),
        other => other,
    })?;
    row.into_token()
}

pub async fn by_digest(conn: &mut Conn, digest: &str) -> Result<Option<AccessToken>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT id, name, project_id, group_id, created_at, expires_at FROM access_tokens \
         WHERE digest = $1",
    )
    .bind(digest)
    .fetch_optional(conn)
    .await?;
    row.map(TokenRow::into_token).transpose()
}

pub async fn list(conn: &mut Conn, owner: HookOwner) -> Result<Vec<AccessToken>> {
    let (project_id, group_id) = owner_ids(owner)?;
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, name, project_id, group_id, created_at, expires_at FROM access_tokens \
         WHERE project_id IS NOT DISTINCT FROM $1 AND group_id IS NOT DISTINCT FROM $2 ORDER BY id",
    )
    .bind(project_id)
    .bind(group_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(TokenRow::into_token).collect()
}

/// Deletes the token `id` of `owner` (another owner's token is not found).
pub async fn revoke(conn: &mut Conn, owner: HookOwner, id: TokenId) -> Result<()> {
    let (project_id, group_id) = owner_ids(owner)?;
    let done = sqlx::query(
        "DELETE FROM access_tokens WHERE id = $1 AND project_id IS NOT DISTINCT FROM $2 AND group_id IS NOT DISTINCT FROM $3",
    )
    .bind(id)
    .bind(project_id)
    .bind(group_id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("access token"));
    }
    Ok(())
}

/// Tokens that expire after `now` and by `horizon` and have not had their expiry notice,
/// soonest first.
pub async fn expiring(conn: &mut Conn, now: Millis, horizon: Millis) -> Result<Vec<AccessToken>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, name, project_id, group_id, created_at, expires_at FROM access_tokens \
         WHERE expiry_notified_at IS NULL AND expires_at > $1 AND expires_at <= $2 \
         ORDER BY expires_at, id",
    )
    .bind(now)
    .bind(horizon)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(TokenRow::into_token).collect()
}

/// Records that token `id`'s expiry notice was sent at `now` (a token revoked meanwhile is
/// gone, and nothing is left to record).
pub async fn expiry_notified(conn: &mut Conn, id: TokenId, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE access_tokens SET expiry_notified_at = $1 \
         WHERE id = $2 AND expiry_notified_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
