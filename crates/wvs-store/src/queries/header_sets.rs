//! The `header_sets` table: the request headers that log rows share (see
//! `crate::header_sets`).

use super::Conn;
use crate::header_sets::Split;
use crate::model::Id;
use crate::{Result, StoreError};

/// The id of `split`'s set, added if the store has none yet. Several nodes may add the same
/// set at once without an error: the insert that loses waits for the winner, does nothing,
/// and the lookup after it (a statement of its own, so it sees what committed) finds it.
pub async fn intern(conn: &mut Conn, split: &Split) -> Result<Id> {
    if let Some(id) = find(conn, &split.digest).await? {
        return Ok(id);
    }
    let added: Option<Id> = sqlx::query_scalar(
        "INSERT INTO header_sets (digest, headers) VALUES ($1, $2) \
         ON CONFLICT (digest) DO NOTHING RETURNING id",
    )
    .bind(&split.digest)
    .bind(&split.set)
    .fetch_optional(&mut *conn)
    .await?;
    match added {
        Some(id) => Ok(id),
        None => find(conn, &split.digest)
            .await?
            .ok_or(StoreError::Corrupt("header_sets")),
    }
}

async fn find(conn: &mut Conn, digest: &[u8]) -> Result<Option<Id>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM header_sets WHERE digest = $1")
            .bind(digest)
            .fetch_optional(conn)
            .await?,
    )
}
