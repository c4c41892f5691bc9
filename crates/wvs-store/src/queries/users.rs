//! Users: the accounts that memberships, SSH keys and user events are about. A username is
//! unique; deleting a user takes their keys and memberships with it.

use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::sql::conflict;
use crate::model::{Millis, NewUser, User, UserId, UserUpdate};
use crate::{Result, StoreError};

/// The columns of [`UserRow`], in a macro so that statements stay `&'static str`.
macro_rules! columns {
    () => {
        "id, username, name, email, created_at, updated_at"
    };
}

#[derive(FromRow)]
struct UserRow {
    id: UserId,
    username: String,
    name: String,
    email: String,
    created_at: Millis,
    updated_at: Millis,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            username: row.username,
            name: row.name,
            email: row.email,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub async fn create(conn: &mut Conn, user: NewUser, now: Millis) -> Result<User> {
    let given_id = user.id.is_some();
    // A NULL id makes the database assign the next one; a given id (the forge's) is kept.
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (id, username, name, email, created_at, updated_at) \
         VALUES ({}, $2, $3, $4, $5, $5) RETURNING {}",
        Db::id_or_next("users", 1),
        columns!()
    ))
    .bind(user.id)
    .bind(user.username)
    .bind(user.name)
    .bind(user.email)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict("user"))?;
    if given_id {
        Db::ids_taken(conn, "users").await?;
    }
    Ok(row.into())
}

pub async fn get(conn: &mut Conn, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(User::from))
}

pub async fn by_username(conn: &mut Conn, username: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(User::from))
}

pub async fn update(conn: &mut Conn, id: UserId, update: UserUpdate, now: Millis) -> Result<User> {
    let current = get(conn, id).await?.ok_or(StoreError::NotFound("user"))?;
    let row: UserRow = sqlx::query_as(concat!(
        "UPDATE users SET username = $2, name = $3, email = $4, updated_at = $5 WHERE id = $1 \
         RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(update.username.unwrap_or(current.username))
    .bind(update.name.unwrap_or(current.name))
    .bind(update.email.unwrap_or(current.email))
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(conflict("user"))?;
    Ok(row.into())
}

/// Deletes the user (the schema's cascades take their keys and memberships) and returns
/// what was deleted.
pub async fn delete(conn: &mut Conn, id: UserId) -> Result<User> {
    let row: Option<UserRow> = sqlx::query_as(concat!(
        "DELETE FROM users WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(User::from).ok_or(StoreError::NotFound("user"))
}
