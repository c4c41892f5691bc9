//! Memberships: a user's access level in a project or a group, one per user and place.

use sqlx::FromRow;

use super::Conn;
use super::users;

use super::sql::{conflict, missing};
use crate::model::{GroupId, Member, MemberOf, MemberUpdate, Millis, NewMember, ProjectId, UserId};
use crate::{Result, StoreError};

/// The columns of [`MemberRow`], in a macro so that statements stay `&'static str`.
macro_rules! columns {
    () => {
        "user_id, access_level, expires_at, created_at, updated_at"
    };
}

#[derive(FromRow)]
struct MemberRow {
    user_id: UserId,
    access_level: i64,
    expires_at: Option<String>,
    created_at: Millis,
    updated_at: Millis,
}

impl MemberRow {
    /// The membership in `of`, with its user read in the same transaction.
    async fn into_member(self, conn: &mut Conn, of: MemberOf) -> Result<Member> {
        let user = users::get(conn, self.user_id)
            .await?
            .ok_or(StoreError::Corrupt("members.user_id"))?;
        Ok(Member {
            of,
            user,
            access_level: self.access_level,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The (`project_id`, `group_id`) columns of `of`.
fn place(of: MemberOf) -> (Option<ProjectId>, Option<GroupId>) {
    match of {
        MemberOf::Project(id) => (Some(id), None),
        MemberOf::Group(id) => (None, Some(id)),
    }
}

/// What a missing `of` is called in errors.
fn place_name(of: MemberOf) -> &'static str {
    match of {
        MemberOf::Project(_) => "project",
        MemberOf::Group(_) => "group",
    }
}

pub async fn add(conn: &mut Conn, of: MemberOf, member: NewMember, now: Millis) -> Result<Member> {
    users::get(conn, member.user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let (project_id, group_id) = place(of);
    let row: MemberRow = sqlx::query_as(concat!(
        "INSERT INTO members (user_id, project_id, group_id, access_level, expires_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
        columns!()
    ))
    .bind(member.user_id)
    .bind(project_id)
    .bind(group_id)
    .bind(member.access_level)
    .bind(member.expires_at)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|error| match missing(place_name(of))(error) {
        StoreError::Database(error) => conflict("member")(error),
        other => other,
    })?;
    row.into_member(conn, of).await
}

async fn get_row(conn: &mut Conn, of: MemberOf, user_id: UserId) -> Result<Option<MemberRow>> {
    let (project_id, group_id) = place(of);
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM members WHERE user_id = $1 AND project_id IS NOT DISTINCT FROM $2 \
         AND group_id IS NOT DISTINCT FROM $3"
    ))
    .bind(user_id)
    .bind(project_id)
    .bind(group_id)
    .fetch_optional(conn)
    .await?)
}

pub async fn update(
    conn: &mut Conn,
    of: MemberOf,
    user_id: UserId,
    update: MemberUpdate,
    now: Millis,
) -> Result<Member> {
    let current = get_row(conn, of, user_id)
        .await?
        .ok_or(StoreError::NotFound("member"))?;
    let (project_id, group_id) = place(of);
    let row: MemberRow = sqlx::query_as(concat!(
        "UPDATE members SET access_level = $4, expires_at = $5, updated_at = $6 \
         WHERE user_id = $1 AND project_id IS NOT DISTINCT FROM $2 \
         AND group_id IS NOT DISTINCT FROM $3 RETURNING ",
        columns!()
    ))
    .bind(user_id)
    .bind(project_id)
    .bind(group_id)
    .bind(update.access_level.unwrap_or(current.access_level))
    .bind(update.expires_at.unwrap_or(current.expires_at))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    row.into_member(conn, of).await
}

/// Removes the membership and returns what it was.
pub async fn remove(conn: &mut Conn, of: MemberOf, user_id: UserId) -> Result<Member> {
    let (project_id, group_id) = place(of);
    let row: Option<MemberRow> = sqlx::query_as(concat!(
        "DELETE FROM members WHERE user_id = $1 AND project_id IS NOT DISTINCT FROM $2 \
         AND group_id IS NOT DISTINCT FROM $3 RETURNING ",
        columns!()
    ))
    .bind(user_id)
    .bind(project_id)
    .bind(group_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => row.into_member(conn, of).await,
        None => Err(StoreError::NotFound("member")),
    }
}

/// The members of `of`, by user id.
pub async fn list(conn: &mut Conn, of: MemberOf) -> Result<Vec<Member>> {
    let (project_id, group_id) = place(of);
    let rows: Vec<MemberRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM members WHERE project_id IS NOT DISTINCT FROM $1 \
         AND group_id IS NOT DISTINCT FROM $2 ORDER BY user_id"
    ))
    .bind(project_id)
    .bind(group_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    for row in rows {
        members.push(row.into_member(conn, of).await?);
    }
    Ok(members)
}
