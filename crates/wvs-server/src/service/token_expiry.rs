//! Access token expiry notices: an `expiring_access_token` event (`Resource Access Token
//! Hook`) to the hooks of a token's project or group, seven days before the token expires,
//! as GitLab's expiring-token worker sends them.
//!
//! Every node looks. A notice is ingested under an idempotency key of its token's own before
//! the token is marked told, so two nodes looking at once store one event between them, and
//! a node stopped between the event and the mark stores nothing new when it looks again.

use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use wvs_events::{Event, EventKind, Scope, samples};
use wvs_store::{AccessToken, GroupId, HookOwner, Idempotency, Millis, ProjectId};

use super::authorization::project_groups;
use super::emit::ancestry_ids;
use super::error::{ServiceError, ServiceResult};
use super::ingest::ingest_one;
use crate::ingest::{Incoming, Target};
use crate::normalize;
use crate::project_blocks;
use crate::state::AppState;
use crate::time::key_time;

/// How long before a token expires its notice goes out (GitLab's).
pub const NOTICE_AHEAD: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often each node looks for tokens to tell of, besides at start and when a token is
/// created. A token's notice goes out at most this late.
pub const LOOK_EVERY: Duration = Duration::from_secs(10 * 60);

/// Looks for tokens to tell of at start, every [`LOOK_EVERY`] and when a token is created
/// (`state.token_created`), until `shutdown`. A failed look is logged and tried again at the
/// next.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
        match notify_expiring(&state).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "access token expiry notices sent"),
            Err(error) => tracing::warn!(%error, "access token expiry notices: will look again"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = state.token_created.notified() => {}
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

/// Sends the notice of every token that expires within [`NOTICE_AHEAD`] and was not told of
/// yet; how many were sent.
pub async fn notify_expiring(state: &AppState) -> ServiceResult<usize> {
    let now = Millis::now();
    let tokens = state
        .store
        .expiring_access_tokens(now, now + NOTICE_AHEAD)
        .await?;
    let mut sent = 0;
    for token in &tokens {
        match notify(state, token).await {
            Ok(()) => sent += 1,
            // The project or group went away meanwhile: its token went with it.
            Err(ServiceError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        state
            .store
            .access_token_expiry_notified(token.id, now)
            .await?;
    }
    Ok(sent)
}

/// Ingests `token`'s notice, once: an event already stored under its key counts as sent.
async fn notify(state: &AppState, token: &AccessToken) -> ServiceResult<()> {
    let (target, body) = match token.owner {
        HookOwner::Project(project_id) => project_notice(state, project_id, token).await?,
        HookOwner::Group(group_id) => group_notice(state, group_id, token).await?,
        HookOwner::System => return Ok(()),
    };
    let event = Event::from_slice(&body).map_err(|e| ServiceError::internal(e.to_string()))?;
    let key = format!("wvs:access-token-expiry:{}", token.id);
    // The digest stands for the notice, not its bytes: another node's body may differ (the
    // registry changed in between) and is still the same notice, answered as a duplicate.
    let idempotency = Idempotency {
        body_sha256: hex::encode(Sha256::digest(key.as_bytes())),
        key,
    };
    ingest_one(
        state,
        &target,
        Incoming {
            event: &event,
            body,
            idempotency: Some(idempotency),
            chain_uuid: None,
        },
    )
    .await
    .map(drop)
}

/// The notice of a project's token: the documented example made an event of the project.
async fn project_notice(
    state: &AppState,
    project_id: ProjectId,
    token: &AccessToken,
) -> ServiceResult<(Target, Vec<u8>)> {
    let store = state.store.as_ref();
    let project = store
        .project(project_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("Project"))?;
    let groups = project_groups(store, &project).await?;
    let blocks = project_blocks::of(&project, &groups, &state.config.instance_url);
    let sample = samples::for_kind(EventKind::AccessToken, Scope::Project).json;
    let body = normalize::as_registry_project(sample.as_bytes(), &blocks);
    let target = Target::Project {
        project_id,
        group_ids: groups.iter().map(|group| group.id).collect(),
        namespace_path: project.namespace_path.clone(),
    };
    Ok((target, with_token(&body, token, None)?))
}

/// The notice of a group's token, to the group's hooks and its ancestors'.
async fn group_notice(
    state: &AppState,
    group_id: GroupId,
    token: &AccessToken,
) -> ServiceResult<(Target, Vec<u8>)> {
    let group = state
        .store
        .group(group_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("Group"))?;
    let block = json!({
        "group_name": group.name,
        "group_path": group.path,
        "group_id": group.id,
        "full_path": group.full_path,
    });
    let sample = samples::for_kind(EventKind::AccessToken, Scope::Group).json;
    let body = with_token(sample.as_bytes(), token, Some(block))?;
    let group_ids = ancestry_ids(state.store.as_ref(), group_id).await?;
    Ok((Target::Group { group_ids }, body))
}

/// `example` (a documented notice) with the token's attributes, and its `group` block
/// replaced when given; every key stays where the example has it.
fn with_token(example: &[u8], token: &AccessToken, group: Option<Value>) -> ServiceResult<Vec<u8>> {
    let mut payload: Map<String, Value> = serde_json::from_slice(example)
        .map_err(|e| ServiceError::internal(format!("the access token example: {e}")))?;
    if let Some(group) = group {
        payload.insert("group".into(), group);
    }
    payload.insert(
        "object_attributes".into(),
        json!({
            // WVS's tokens act for no user of their own (GitLab's act for a bot user).
            "user_id": Value::Null,
            "created_at": key_time(token.created_at),
            "id": token.id,
            "name": token.name,
            "expires_at": token.expires_at.map(super::tokens::expiry_date),
        }),
    );
    serde_json::to_vec(&payload).map_err(|e| ServiceError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wvs_store::TokenId;

    fn keys(body: &[u8]) -> Vec<String> {
        let map: Map<String, Value> = serde_json::from_slice(body).unwrap();
        map.keys().cloned().collect()
    }

    #[test]
    fn a_group_notice_has_the_documented_keys_in_order() {
        let token = AccessToken {
            id: TokenId(4),
            name: "deploy".into(),
            owner: HookOwner::Group(GroupId(2)),
            created_at: Millis(0),
            expires_at: Some(Millis(86_400_000 * 10)),
        };
        let example = samples::for_kind(EventKind::AccessToken, Scope::Group).json;
        let body = with_token(example.as_bytes(), &token, Some(json!({"group_id": 2}))).unwrap();
        assert_eq!(keys(&body), keys(example.as_bytes()));
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["object_attributes"]["expires_at"], "1970-01-10");
        assert_eq!(value["object_attributes"]["id"], 4);
        assert_eq!(value["group"]["group_id"], 2);
        assert_eq!(value["event_name"], "expiring_access_token");
    }
}
