//! Project and group members (admin only), GitLab's members API:
//! `GET|POST /projects/:id/members`, `PUT|DELETE /projects/:id/members/:user_id`, and the
//! same under `/groups/:id`. Body: `user_id`, `access_level` (10 Guest, 20 Reporter,
//! 30 Developer, 40 Maintainer, 50 Owner), `expires_at` (`YYYY-MM-DD`).
//!
//! A project membership change emits `user_add_to_team` / `user_update_for_team` /
//! `user_remove_from_team` to every system hook. A group membership change emits
//! `user_add_to_group` / `user_update_for_group` / `user_remove_from_group` twice, each in
//! its documented shape: to every system hook, and as a `Member Hook` event to the hooks of
//! the group and of the groups above it that have `member_events`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use wvs_events::EventKind;
use wvs_store::{Group, Member, MemberOf, MemberUpdate, Millis, NewMember, Project, Store, UserId};

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::pagination::Paging;
use super::params::Params;
use super::schema::{self, MemberParams};
use crate::ingest::Target;
use crate::registry_events::access::AccessLevel;
use crate::registry_events::payload;
use crate::service::authorization::{find_group, find_project};
use crate::service::emit::{ancestry_ids, emit};
use crate::service::fields::Fields;
use crate::state::AppState;
use crate::time::iso8601;

pub fn routes() -> Documented {
    Endpoints::new("members")
        .get(
            "/projects/{id}/members",
            list::<ProjectPlace>,
            "List project members",
        )
        .answers::<Vec<schema::Member>>(200)
        .post(
            "/projects/{id}/members",
            add::<ProjectPlace>,
            "Add a project member",
        )
        .takes::<MemberParams>()
        .answers::<schema::Member>(201)
        .put(
            "/projects/{id}/members/{user_id}",
            update::<ProjectPlace>,
            "Change a project member's access",
        )
        .takes::<MemberParams>()
        .answers::<schema::Member>(200)
        .delete(
            "/projects/{id}/members/{user_id}",
            remove::<ProjectPlace>,
            "Remove a project member",
        )
        .answers_empty(204)
        .get(
            "/groups/{id}/members",
            list::<GroupPlace>,
            "List group members",
        )
        .answers::<Vec<schema::Member>>(200)
        .post(
            "/groups/{id}/members",
            add::<GroupPlace>,
            "Add a group member",
        )
        .takes::<MemberParams>()
        .answers::<schema::Member>(201)
        .put(
            "/groups/{id}/members/{user_id}",
            update::<GroupPlace>,
            "Change a group member's access",
        )
        .takes::<MemberParams>()
        .answers::<schema::Member>(200)
        .delete(
            "/groups/{id}/members/{user_id}",
            remove::<GroupPlace>,
            "Remove a group member",
        )
        .answers_empty(204)
        .build()
}

/// What a change of membership did, which names the event.
#[derive(Clone, Copy)]
enum Change {
    Added,
    Updated,
    Removed,
}

/// Where memberships live: a project or a group. Each place finds itself from the path and
/// knows which events a change of its membership makes.
trait Place: Sized + Send + Sync + 'static {
    async fn find(store: &dyn Store, id: &str) -> ApiResult<Self>;
    fn of(&self) -> MemberOf;
    async fn emit(&self, state: &AppState, change: Change, member: &Member) -> ApiResult<()>;
}

struct ProjectPlace(Project);

impl Place for ProjectPlace {
    async fn find(store: &dyn Store, id: &str) -> ApiResult<Self> {
        Ok(find_project(store, id).await.map(ProjectPlace)?)
    }

    fn of(&self) -> MemberOf {
        MemberOf::Project(self.0.id)
    }

    async fn emit(&self, state: &AppState, change: Change, member: &Member) -> ApiResult<()> {
        let kind = match change {
            Change::Added => EventKind::UserAddToTeam,
            Change::Updated => EventKind::UserUpdateForTeam,
            Change::Removed => EventKind::UserRemoveFromTeam,
        };
        let built = payload::team_member(kind, &self.0, member);
        Ok(emit(state, &Target::System, built).await?)
    }
}

struct GroupPlace(Group);

impl Place for GroupPlace {
    async fn find(store: &dyn Store, id: &str) -> ApiResult<Self> {
        Ok(find_group(store, id).await.map(GroupPlace)?)
    }

    fn of(&self) -> MemberOf {
        MemberOf::Group(self.0.id)
    }

    async fn emit(&self, state: &AppState, change: Change, member: &Member) -> ApiResult<()> {
        let kind = match change {
            Change::Added => EventKind::UserAddToGroup,
            Change::Updated => EventKind::UserUpdateForGroup,
            Change::Removed => EventKind::UserRemoveFromGroup,
        };
        let group = &self.0;
        let built = payload::group_member_for_system(kind, group, member);
        emit(state, &Target::System, built).await?;
        let group_ids = ancestry_ids(state.store.as_ref(), group.id).await?;
        let built = payload::group_member_for_group(kind, group, member);
        Ok(emit(state, &Target::GroupHooks { group_ids }, built).await?)
    }
}

fn render_member(member: &Member) -> schema::Member {
    schema::Member {
        id: member.user.id.0,
        username: member.user.username.clone(),
        name: member.user.name.clone(),
        state: "active".to_owned(),
        access_level: member.access_level,
        expires_at: member.expires_at.clone(),
        created_at: iso8601(member.created_at),
    }
}

/// `access_level`, one of the documented levels, when given.
fn access_level(fields: &Fields) -> ApiResult<Option<i64>> {
    fields
        .integer("access_level")?
        .map(|level| {
            AccessLevel::try_from(level)
                .map(i64::from)
                .map_err(|error| ApiError::bad_request(error.to_string()))
        })
        .transpose()
}

/// `expires_at`, a date, when given: `Some(None)` when given empty or `null` (no end).
fn expires_at(fields: &Fields) -> ApiResult<Option<Option<String>>> {
    if !fields.has("expires_at") {
        return Ok(None);
    }
    let Some(date) = fields.string("expires_at")?.filter(|d| !d.is_empty()) else {
        return Ok(Some(None));
    };
    NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map(|day| Some(Some(day.format("%Y-%m-%d").to_string())))
        .map_err(|_| ApiError::bad_request("expires_at must be a date (YYYY-MM-DD)"))
}

fn user_id(text: &str) -> ApiResult<UserId> {
    text.parse().map_err(|_| ApiError::not_found("Member"))
}

async fn list<P: Place>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<Response> {
    let place = P::find(state.store.as_ref(), &id).await?;
    let members = state.store.list_members(place.of()).await?;
    Ok(paging.respond_whole(members.iter().map(render_member).collect()))
}

async fn add<P: Place>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let place = P::find(state.store.as_ref(), &id).await?;
    let fields = Fields(params.into_object());
    let new = NewMember {
        user_id: UserId(
            fields
                .integer("user_id")?
                .ok_or_else(|| ApiError::bad_request("user_id is missing"))?,
        ),
        access_level: access_level(&fields)?
            .ok_or_else(|| ApiError::bad_request("access_level is missing"))?,
        expires_at: expires_at(&fields)?.flatten(),
    };
    let member = state
        .store
        .add_member(place.of(), new, Millis::now())
        .await?;
    place.emit(&state, Change::Added, &member).await?;
    Ok((StatusCode::CREATED, Json(render_member(&member))).into_response())
}

async fn update<P: Place>(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<schema::Member>> {
    let place = P::find(state.store.as_ref(), &id).await?;
    let fields = Fields(params.into_object());
    let update = MemberUpdate {
        access_level: access_level(&fields)?,
        expires_at: expires_at(&fields)?,
    };
    let member = state
        .store
        .update_member(place.of(), user_id(&user)?, update, Millis::now())
        .await?;
    place.emit(&state, Change::Updated, &member).await?;
    Ok(Json(render_member(&member)))
}

async fn remove<P: Place>(
    State(state): State<AppState>,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let place = P::find(state.store.as_ref(), &id).await?;
    let member = state
        .store
        .remove_member(place.of(), user_id(&user)?)
        .await?;
    place.emit(&state, Change::Removed, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}
