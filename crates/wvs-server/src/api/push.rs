//! `POST /projects/:id/push`: a Git server reports a push (the pusher and every ref change
//! with its commits) and WVS produces the documented events: one `push` per branch change,
//! one `tag_push` per tag change (unless `push_event_hooks_limit` silences them) and one
//! `repository_update`. Each goes through the ordinary ingest path, as if posted to
//! `/projects/:id/events`; the answer, `202 {"events": [...], "skipped": [...]}`, comes once
//! all are committed. Same access as the project ingest endpoint; an unknown project is 404
//! (a push does not register projects: it has no `project` block to register from).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use wvs_events::Event;
use wvs_store::Idempotency;

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::ingest::{EventBody, chain_uuid, idempotency, ingest_layers, received};
use super::schema::{Pushed, PushedEvent, SkippedRef};
use crate::auth::Caller;
use crate::ingest::Incoming;
use crate::project_blocks;
use crate::push::{input, limit, payload};
use crate::service::authorization::find_project;
use crate::service::ingest::{ingest_one, project_target};
use crate::state::AppState;

pub fn routes() -> Documented {
    Endpoints::new("ingest")
        .post(
            "/projects/{id}/push",
            push,
            "Report a push: its push, tag push and repository update events",
        )
        .takes::<input::PushInput>()
        .answers::<Pushed>(202)
        .build()
        .map(ingest_layers)
}

async fn push(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: EventBody,
) -> ApiResult<Response> {
    let body = received(body)?;
    let push = input::parse(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let idempotency = idempotency(&headers, &body)?;
    let chain_uuid = chain_uuid(&headers)?;
    let store = state.store.as_ref();
    let project = find_project(store, &id).await?;
    let (target, groups) = project_target(store, caller.reach, &project).await?;
    let project = crate::push::default_branch::set_by_first_push(store, project, &push).await?;
    let blocks = project_blocks::of(&project, &groups, &state.config.instance_url);

    let limit = state.config.push_event_hooks_limit;
    let mut built: Vec<(Event, Option<&str>)> = Vec::new();
    let mut skipped = Vec::new();
    for (change, fires) in push.changes.iter().zip(limit::fires(&push.changes, limit)) {
        if fires {
            let event = payload::ref_event(&push, change, &blocks);
            built.push((event, Some(&change.git_ref)));
        } else {
            skipped.push(SkippedRef {
                kind: payload::event_name(change.kind).to_owned(),
                git_ref: change.git_ref.clone(),
                reason: format!(
                    "more than push_event_hooks_limit ({limit}) refs of this kind were {} \
                     in this push",
                    change.action.as_str()
                ),
            });
        }
    }
    built.push((payload::repository_update(&push, &blocks), None));

    let mut events = Vec::with_capacity(built.len());
    for (index, (event, git_ref)) in built.iter().enumerate() {
        let inserted = ingest_one(
            &state,
            &target,
            Incoming {
                event,
                body: event.to_vec(),
                // One key per produced event, so a repeated push is stored once.
                idempotency: idempotency.as_ref().map(|first| Idempotency {
                    key: format!("{}#{index}", first.key),
                    body_sha256: first.body_sha256.clone(),
                }),
                chain_uuid,
            },
        )
        .await?;
        events.push(PushedEvent {
            event_uuid: inserted.event_uuid,
            kind: event.kind().name().to_owned(),
            deliveries: inserted.deliveries,
            git_ref: git_ref.map(str::to_owned),
        });
    }
    let answer = Pushed { events, skipped };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
