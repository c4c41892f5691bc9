//! A registry and hooks for end-to-end tests: a project three groups deep, and one hook at
//! each level that subscribes to everything, each with its own token and receiver path.

use serde_json::{Map, Value, json};

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

/// Groups `top/mid/low` and project `top/mid/low/app`.
pub async fn registry(server: &Server) -> Registry {
    let top = server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({"name": "Top", "path": "top"})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let mid = server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({"name": "Mid", "path": "mid", "parent_id": top})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let low = server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({"name": "Low", "path": "low", "parent_id": mid})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let project = server
        .expect(
            201,
            "POST",
            "/projects",
            Some(json!({"name": "App", "path": "app", "namespace_id": low})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
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

/// Creates a hook under `owner` (`/projects/1`, `/groups/2`, or `` for system hooks).
pub async fn hook(server: &Server, owner: &str, body: Value) -> i64 {
    server
        .expect(201, "POST", &format!("{owner}/hooks"), Some(body))
        .await["id"]
        .as_i64()
        .unwrap()
}

/// The [`registry`]'s project with one hook subscribed to push events, sending to a new
/// loopback receiver: the project's API path (`/projects/:id`) and the receiver.
pub async fn pushed_to_receiver(server: &Server) -> (String, crate::support::Receiver) {
    let ids = registry(server).await;
    let owner = format!("/projects/{}", ids.project);
    let receiver = crate::support::Receiver::start().await;
    hook(
        server,
        &owner,
        json!({ "url": receiver.url, "push_events": true }),
    )
    .await;
    (owner, receiver)
}
