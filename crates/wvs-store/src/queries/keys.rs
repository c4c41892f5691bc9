//! SSH keys of users.

use sqlx::FromRow;

use super::Conn;
use super::users;

use crate::model::{Millis, NewSshKey, SshKey, SshKeyId, User, UserId};
use crate::{Result, StoreError};

#[derive(FromRow)]
struct KeyRow {
    id: SshKeyId,
    title: String,
    public_key: String,
    created_at: Millis,
}

impl KeyRow {
    fn with_user(self, user: User) -> SshKey {
        SshKey {
            id: self.id,
            user,
            title: self.title,
            key: self.public_key,
            created_at: self.created_at,
        }
    }
}

/// The user `user_id`, or `NotFound("user")`.
async fn owner(conn: &mut Conn, user_id: UserId) -> Result<User> {
    users::get(conn, user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))
}

pub async fn create(
    conn: &mut Conn,
    user_id: UserId,
    key: NewSshKey,
    now: Millis,
) -> Result<SshKey> {
    let user = owner(conn, user_id).await?;
    let row: KeyRow = sqlx::query_as(
        "INSERT INTO ssh_keys (user_id, title, public_key, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, title, public_key, created_at",
    )
    .bind(user_id)
    .bind(key.title)
    .bind(key.key)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(row.with_user(user))
}

pub async fn list(conn: &mut Conn, user_id: UserId) -> Result<Vec<SshKey>> {
    let user = owner(conn, user_id).await?;
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT id, title, public_key, created_at FROM ssh_keys WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| row.with_user(user.clone()))
        .collect())
}

/// Deletes key `key_id` of user `user_id` (another user's key is not found) and returns it.
pub async fn delete(conn: &mut Conn, user_id: UserId, key_id: SshKeyId) -> Result<SshKey> {
    let user = owner(conn, user_id).await?;
    let row: Option<KeyRow> = sqlx::query_as(
        "DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2 \
         RETURNING id, title, public_key, created_at",
    )
    .bind(key_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| row.with_user(user))
        .ok_or(StoreError::NotFound("key"))
}
