//! WVS's own ingest endpoints: `POST /projects/:id/events`, `/groups/:id/events` and
//! `/system/events`. A project event is completed from the registry first (see
//! [`crate::normalize`]). The answer, `202 {"event_uuid", "deliveries"}`, comes only after the
//! event and its deliveries are committed.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wvs_events::{Event, Scope};
use wvs_store::{HookOwner, Idempotency};

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::json_depth;
use super::schema::{Accepted, EventBody as EventSchema};
use crate::auth::{Caller, Reach};
use crate::ingest::{Incoming, Target, accepts};
use crate::service::authorization::{authorize, find_group, find_project};
use crate::service::claims::Claims;
use crate::service::ingest::{ingest_one, project_target};
use crate::service::registry::register;
use crate::state::AppState;
use crate::{metrics, normalize, project_blocks};

/// The largest event body accepted: 26,214,400 bytes (25 MiB), GitLab's webhook payload
/// limit.
pub const MAX_EVENT_BYTES: usize = 25 * 1024 * 1024;

/// Project and group ingest: open to access tokens within their reach.
pub fn routes() -> Documented {
    Endpoints::new("ingest")
        .post(
            "/projects/{id}/events",
            project_event,
            "Post an event of a project",
        )
        .takes::<EventSchema>()
        .answers::<Accepted>(202)
        .post(
            "/groups/{id}/events",
            group_event,
            "Post an event of a group",
        )
        .takes::<EventSchema>()
        .answers::<Accepted>(202)
        .build()
        .map(ingest_layers)
}

/// Instance-wide ingest: admin only.
pub fn system_routes() -> Documented {
    Endpoints::new("ingest")
        .post(
            "/system/events",
            system_event,
            "Post an instance-wide (system) event",
        )
        .takes::<EventSchema>()
        .answers::<Accepted>(202)
        .build()
        .map(ingest_layers)
}

/// Every ingest route: the announced size checked before reading, and the error count.
pub(super) fn ingest_layers(router: Router<AppState>) -> Router<AppState> {
    router
        .layer(from_fn(refuse_announced_oversize))
        .route_layer(from_fn(count_errors))
}

/// Refuses an event whose announced length (`Content-Length`) is over the limit before
/// reading any of it; a body without one is cut off at the limit as it is read.
async fn refuse_announced_oversize(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_EVENT_BYTES as u64) {
        return too_large().into_response();
    }
    next.run(request).await
}

/// 413, naming the limit in bytes.
fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the body is larger than the limit of {}",
            wvs_send::byte_size(MAX_EVENT_BYTES)
        ),
    )
}

/// Counts ingest requests refused (`wvs_ingest_errors_total`), whatever refused them.
pub(super) async fn count_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        metrics::ingest_error(status.as_u16());
    }
    response
}

/// A posted body read into one buffer, sized by its `Content-Length` up to the limit. axum's
/// `Bytes` gathers the frames and then copies them into one buffer, holding a 25 MiB event
/// twice for a moment; this holds it once, and gives it to the store without a copy.
pub(super) struct EventBody(Vec<u8>);

impl<S: Send + Sync> FromRequest<S> for EventBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let announced = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(0);
        let mut buffer = Vec::with_capacity(announced.min(MAX_EVENT_BYTES));
        let mut frames = request.into_body().into_data_stream();
        while let Some(frame) = frames.next().await {
            let data = frame.map_err(|error| {
                ApiError::bad_request(format!("the body could not be read: {error}"))
            })?;
            // A body over the limit (no or a false `Content-Length`) is refused with the
            // same 413 as an announced one, as soon as it passes the limit.
            if buffer.len() + data.len() > MAX_EVENT_BYTES {
                return Err(too_large());
            }
            buffer.extend_from_slice(&data);
        }
        Ok(EventBody(buffer))
    }
}

/// A parsed ingest request.
struct Posted {
    event: Event,
    body: Vec<u8>,
    idempotency: Option<Idempotency>,
    chain_uuid: Option<Uuid>,
}

fn posted(headers: &HeaderMap, body: EventBody, scope: Scope) -> ApiResult<Posted> {
    let body = received(body)?;
    let event = Event::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    accepts(scope, &event).map_err(ApiError::unprocessable)?;
    Ok(Posted {
        event,
        idempotency: idempotency(headers, &body)?,
        body,
        chain_uuid: chain_uuid(headers)?,
    })
}

/// A posted body within the nesting limit (its size was checked as it was read).
pub(super) fn received(EventBody(body): EventBody) -> ApiResult<Vec<u8>> {
    if json_depth::too_deep(&body, json_depth::MAX_DEPTH) {
        return Err(ApiError::bad_request(format!(
            "the event nests deeper than {} levels",
            json_depth::MAX_DEPTH
        )));
    }
    Ok(body)
}

/// The request's `Idempotency-Key`, if it has one, with the digest of the body as posted
/// (before anything is filled in, which depends on the registry at the time).
pub(super) fn idempotency(headers: &HeaderMap, body: &[u8]) -> ApiResult<Option<Idempotency>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|key| !key.is_empty() && key.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key must be 1 to 255 visible characters")
        })?;
    Ok(Some(Idempotency {
        key: key.to_owned(),
        body_sha256: hex::encode(Sha256::digest(body)),
    }))
}

/// The UUID of the event that caused this one, when the poster passed it on (a receiver
/// calling back into WVS): either flavor's event UUID header.
pub(super) fn chain_uuid(headers: &HeaderMap) -> ApiResult<Option<Uuid>> {
    let Some((name, value)) = ["x-wvs-event-uuid", "x-gitlab-event-uuid"]
        .into_iter()
        .find_map(|name| headers.get(name).map(|value| (name, value)))
    else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| Uuid::parse_str(text.trim()).ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a UUID")))
}

async fn accept(state: &AppState, target: Target, posted: Posted) -> ApiResult<Response> {
    let inserted = ingest_one(
        state,
        &target,
        Incoming {
            event: &posted.event,
            body: posted.body,
            idempotency: posted.idempotency,
            chain_uuid: posted.chain_uuid,
        },
    )
    .await?;
    let answer = Accepted {
        event_uuid: inserted.event_uuid,
        deliveries: inserted.deliveries,
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

async fn project_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: EventBody,
) -> ApiResult<Response> {
    let mut posted = posted(&headers, body, Scope::Project)?;
    let claims = Claims::of(&posted.body);
    let store = state.store.as_ref();
    let project = match find_project(store, &id).await {
        Ok(project) => project,
        // Only an admin registers projects on their first event.
        Err(not_found) if caller.reach != Reach::Admin => return Err(not_found.into()),
        Err(not_found) => register(store, &id, &posted.event, &claims)
            .await?
            .ok_or(not_found)?,
    };
    let (target, groups) = project_target(store, caller.reach, &project).await?;
    claims.check_project(project.id)?;
    let blocks = || project_blocks::of(&project, &groups, &state.config.instance_url);
    if let Some(filled) = normalize::fill(&posted.body, &posted.event, blocks) {
        posted.body = filled;
    }
    accept(&state, target, posted).await
}

async fn group_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: EventBody,
) -> ApiResult<Response> {
    let posted = posted(&headers, body, Scope::Group)?;
    let store = state.store.as_ref();
    let group = find_group(store, &id).await?;
    authorize(store, caller.reach, HookOwner::Group(group.id)).await?;
    Claims::of(&posted.body)
        .check_group(store, &posted.event, group.id)
        .await?;
    let group_ids = store
        .group_ancestry(group.id)
        .await?
        .iter()
        .map(|g| g.id)
        .collect();
    accept(&state, Target::Group { group_ids }, posted).await
}

async fn system_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: EventBody,
) -> ApiResult<Response> {
    let posted = posted(&headers, body, Scope::System)?;
    accept(&state, Target::System, posted).await
}
