//! Users and their SSH keys (admin only), GitLab's `/users` API: `GET /users?username=`, `POST /users`,
//! `GET|PUT|DELETE /users/:id`, `GET|POST /users/:id/keys`, `DELETE /users/:id/keys/:key_id`.
//!
//! Creating and deleting a user emit `user_create` / `user_destroy`, a new username
//! `user_rename`, and adding or deleting a key `key_create` / `key_destroy`, to every system
//! hook (see [`super::emit`] for the order of change and event).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wvs_events::EventKind;
use wvs_store::{Millis, NewSshKey, NewUser, SshKey, User, UserId, UserUpdate};

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::pagination::Paging;
use super::params::Params;
use super::schema::{self, KeyParams, UserParams};
use crate::ingest::Target;
use crate::registry_events::payload;
use crate::service::emit::emit;
use crate::service::fields::Fields;
use crate::state::AppState;
use crate::time::iso8601;

/// The longest username, name, email, key title and key accepted.
const MAX_TEXT: usize = 255;
const MAX_KEY: usize = 16 * 1024;

pub fn routes() -> Documented {
    Endpoints::new("users")
        .get("/users", find_users, "Find a user by username")
        .answers::<Vec<schema::User>>(200)
        .post("/users", create_user, "Create a user")
        .takes::<UserParams>()
        .answers::<schema::User>(201)
        .get("/users/{id}", get_user, "Get a user")
        .answers::<schema::User>(200)
        .put("/users/{id}", update_user, "Edit or rename a user")
        .takes::<UserParams>()
        .answers::<schema::User>(200)
        .delete("/users/{id}", delete_user, "Delete a user")
        .answers_empty(204)
        .get("/users/{id}/keys", list_keys, "List a user's SSH keys")
        .answers::<Vec<schema::SshKey>>(200)
        .post("/users/{id}/keys", create_key, "Add an SSH key")
        .takes::<KeyParams>()
        .answers::<schema::SshKey>(201)
        .delete("/users/{id}/keys/{key_id}", delete_key, "Delete an SSH key")
        .answers_empty(204)
        .build()
}

fn render_user(user: &User) -> schema::User {
    schema::User {
        id: user.id.0,
        username: user.username.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
        state: "active".to_owned(),
        created_at: iso8601(user.created_at),
    }
}

fn render_key(key: &SshKey) -> schema::SshKey {
    schema::SshKey {
        id: key.id.0,
        title: key.title.clone(),
        key: key.key.clone(),
        created_at: iso8601(key.created_at),
    }
}

/// A text field within `max` characters and not blank, when given.
fn text(fields: &Fields, name: &str, max: usize) -> ApiResult<Option<String>> {
    let Some(value) = fields.string(name)? else {
        return Ok(None);
    };
    let value = value.trim().to_owned();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{name} must be 1 to {max} characters"
        )));
    }
    Ok(Some(value))
}

/// A username: letters, digits, `_`, `-` and `.`, as GitLab's paths.
fn username(fields: &Fields) -> ApiResult<Option<String>> {
    let value = text(fields, "username", MAX_TEXT)?;
    if let Some(name) = &value
        && !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ApiError::bad_request(
            "username can contain only letters, digits, '_', '-' and '.'",
        ));
    }
    Ok(value)
}

fn email(fields: &Fields) -> ApiResult<Option<String>> {
    let value = text(fields, "email", MAX_TEXT)?;
    if let Some(email) = &value
        && !email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
    {
        return Err(ApiError::bad_request("email is invalid"));
    }
    Ok(value)
}

/// An OpenSSH public key: its type, then its base64 body (then an optional comment).
fn public_key(fields: &Fields) -> ApiResult<String> {
    let key = text(fields, "key", MAX_KEY)?.ok_or_else(|| missing("key"))?;
    let mut parts = key.split_whitespace();
    let kind_ok = parts.next().is_some_and(|kind| {
        kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-")
    });
    if !kind_ok || parts.next().is_none() {
        return Err(ApiError::bad_request(
            "key is invalid: expected an OpenSSH public key (type, base64 body, optional comment)",
        ));
    }
    Ok(key)
}

fn missing(name: &str) -> ApiError {
    ApiError::bad_request(format!("{name} is missing"))
}

fn user_id(id: &str) -> ApiResult<UserId> {
    id.parse().map_err(|_| ApiError::not_found("User"))
}

async fn create_user(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let fields = Fields(params.into_object());
    let new = NewUser {
        id: fields.integer("id")?.map(UserId),
        username: username(&fields)?.ok_or_else(|| missing("username"))?,
        name: text(&fields, "name", MAX_TEXT)?.ok_or_else(|| missing("name"))?,
        email: email(&fields)?.ok_or_else(|| missing("email"))?,
    };
    let user = state.store.create_user(new, Millis::now()).await?;
    emit(
        &state,
        &Target::System,
        payload::user(EventKind::UserCreate, &user),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(render_user(&user))).into_response())
}

#[derive(Deserialize)]
struct UsersQuery {
    username: Option<String>,
}

/// GitLab's `GET /users?username=`: the user of that username, as a list of one (or none).
/// WVS lists users by username only (a Git hook maps its pusher with it).
async fn find_users(
    State(state): State<AppState>,
    Query(query): Query<UsersQuery>,
    paging: Paging,
) -> ApiResult<Response> {
    let username = query
        .username
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("username is missing (WVS lists users by username)")
        })?;
    let found = state.store.user_by_username(&username).await?;
    Ok(paging.respond_whole(found.iter().map(render_user).collect()))
}

async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<schema::User>> {
    let user = state
        .store
        .user(user_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    Ok(Json(render_user(&user)))
}

async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<schema::User>> {
    let store = state.store.as_ref();
    let id = user_id(&id)?;
    let old = store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    let fields = Fields(params.into_object());
    let update = UserUpdate {
        username: username(&fields)?,
        name: text(&fields, "name", MAX_TEXT)?,
        email: email(&fields)?,
    };
    let user = store.update_user(id, update, Millis::now()).await?;
    // GitLab has no system event for other changes of a user.
    if user.username != old.username {
        emit(
            &state,
            &Target::System,
            payload::user_renamed(&user, &old.username),
        )
        .await?;
    }
    Ok(Json(render_user(&user)))
}

async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user = state.store.delete_user(user_id(&id)?).await?;
    emit(
        &state,
        &Target::System,
        payload::user(EventKind::UserDestroy, &user),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_keys(
    State(state): State<AppState>,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<Response> {
    let keys = state.store.list_ssh_keys(user_id(&id)?).await?;
    Ok(paging.respond_whole(keys.iter().map(render_key).collect()))
}

async fn create_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let fields = Fields(params.into_object());
    let new = NewSshKey {
        title: text(&fields, "title", MAX_TEXT)?.ok_or_else(|| missing("title"))?,
        key: public_key(&fields)?,
    };
    let key = state
        .store
        .create_ssh_key(user_id(&id)?, new, Millis::now())
        .await?;
    emit(
        &state,
        &Target::System,
        payload::key(EventKind::KeyCreate, &key),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(render_key(&key))).into_response())
}

async fn delete_key(
    State(state): State<AppState>,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let key_id = key_id.parse().map_err(|_| ApiError::not_found("Key"))?;
    let key = state.store.delete_ssh_key(user_id(&id)?, key_id).await?;
    emit(
        &state,
        &Target::System,
        payload::key(EventKind::KeyDestroy, &key),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
