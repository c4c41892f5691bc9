//! A registry and hooks for end-to-end tests: a project three groups deep, and one hook at
//! each level that subscribes to everything, each with its own token and receiver path.

use serde_json::{Map, Value, json};

use wvs_server::api::schema::{self, GroupParams, HookParams, ProjectParams, UserParams};

use crate::support::Server;

pub const PROJECT_FLAGS: &[&str] = &[
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "feature_flag_events",
    "releases_events",
    "emoji_events",
    "milestone_events",
    "resource_access_token_events",
    "vulnerability_events",
];
pub const GROUP_ONLY_FLAGS: &[&str] = &["member_events", "subgroup_events", "project_events"];
pub const SYSTEM_FLAGS: &[&str] = &[
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "repository_update_events",
];

/// Ids of what [`registry`] made.
pub struct Registry {
    pub top: i64,
    pub mid: i64,
    pub low: i64,
    pub project: i64,
}

/// Group `name` at `path`, under `parent_id`.
pub fn group(name: &str, path: &str, parent_id: Option<i64>) -> GroupParams {
    GroupParams {
        name: Some(name.to_owned()),
        path: Some(path.to_owned()),
        parent_id,
        ..GroupParams::default()
    }
}

/// Project `name` at `path` in group `namespace_id`.
pub fn project(name: &str, path: &str, namespace_id: i64) -> ProjectParams {
    ProjectParams {
        name: Some(name.to_owned()),
        path: Some(path.to_owned()),
        namespace_id: Some(namespace_id),
        ..ProjectParams::default()
    }
}

/// User `username`, called `name`, at `email`.
pub fn user(username: &str, name: &str, email: &str) -> UserParams {
    UserParams {
        username: Some(username.to_owned()),
        name: Some(name.to_owned()),
        email: Some(email.to_owned()),
        ..UserParams::default()
    }
}

/// Groups `top/mid/low` and project `top/mid/low/app`.
pub async fn registry(server: &Server) -> Registry {
    let top = server.create_group(&group("Top", "top", None)).await.id;
    let mid = server
        .create_group(&group("Mid", "mid", Some(top)))
        .await
        .id;
    let low = server
        .create_group(&group("Low", "low", Some(mid)))
        .await
        .id;
    let project = server.create_project(&project("App", "app", low)).await.id;
    Registry {
        top,
        mid,
        low,
        project,
    }
}

/// A hook body with every flag of `flags` on.
pub fn all_flags(url: &str, token: &str, flags: &[&[&str]]) -> Value {
    let mut body = Map::new();
    body.insert("url".into(), json!(url));
    body.insert("token".into(), json!(token));
    for flag in flags.iter().flat_map(|list| list.iter()) {
        body.insert((*flag).into(), json!(true));
    }
    Value::Object(body)
}

/// Another tenant beside the [`registry`]: group `other` with project `other/app`; their ids.
pub async fn other_tenant(server: &Server) -> (i64, i64) {
    let group = server.create_group(&group("Other", "other", None)).await.id;
    let project = server
        .create_project(&project("App", "app", group))
        .await
        .id;
    (group, project)
}

/// Creates a hook under `owner` (`/projects/1`, `/groups/2`, or `` for system hooks) from a
/// raw body (some tests send shapes the typed [`HookParams`] does not, on purpose).
pub async fn hook(server: &Server, owner: &str, body: Value) -> i64 {
    let path = format!("{owner}/hooks");
    let hook: schema::Hook = server.call(201, "POST", &path, Some(&body)).await;
    hook.id
}

/// The [`registry`]'s project with one hook subscribed to push events, sending to a new
/// loopback receiver: the project's API path (`/projects/:id`) and the receiver.
pub async fn pushed_to_receiver(server: &Server) -> (String, crate::support::Receiver) {
    let ids = registry(server).await;
    let owner = format!("/projects/{}", ids.project);
    let receiver = crate::support::Receiver::start().await;
    let params = HookParams {
        url: Some(receiver.url.clone()),
        events: [("push_events", true)].into(),
        ..HookParams::default()
    };
    server.create_hook(&owner, &params).await;
    (owner, receiver)
}
