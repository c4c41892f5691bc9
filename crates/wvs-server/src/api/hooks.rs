//! Hooks of projects, groups and the instance, with GitLab API v4 shapes: list, create, get,
//! edit, delete, test, the delivery log, resend, custom headers and URL variables.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use wvs_events::samples;
use wvs_hooks::{HookInput, NewHookParts};
use wvs_store::{
    HealthEffect, Hook, HookChange, HookHealth, HookOwner, LoggedAttempt, NewHook, Outcome,
    StatusFilter,
};

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::owner::project_groups;
use super::owner::{OwnedHook, Owner};
use super::pagination::Paging;
use super::params::Params;
use crate::auth::Caller;
use crate::delivery::{self, AttemptContext, Envelope, PreparedHook, now_millis};
use crate::hooks::{limits_of, parts_of, render, rotate, scope_of, to_store};
use crate::ingest::idempotency_key;
use crate::state::AppState;
use crate::time::iso8601;
use crate::{normalize, project_blocks};

/// The hook routes, mounted under `/projects/{id}/hooks`, `/groups/{id}/hooks` and `/hooks`.
pub fn routes(system: bool) -> Documented {
    let endpoints = Endpoints::new("hooks")
        .get("/", list_hooks, "List hooks")
        .post("/", create_hook, "Add a hook")
        .get("/{hook_id}", get_hook, "Get a hook")
        .put("/{hook_id}", update_hook, "Edit a hook")
        .delete("/{hook_id}", delete_hook, "Delete a hook");
    // `POST /hooks/:id` tests a system hook, as GitLab's system hooks API does.
    let endpoints = if system {
        endpoints.post(
            "/{hook_id}",
            test_system_hook,
            "Test a system hook with the project_create sample",
        )
    } else {
        endpoints
    };
    endpoints
        .post(
            "/{hook_id}/test/{trigger}",
            test_hook,
            "Send a test event of a trigger",
        )
        .post(
            "/{hook_id}/enable",
            enable_hook,
            "Re-enable a disabled hook",
        )
        .post(
            "/{hook_id}/recover",
            recover,
            "Send again the hook's failed deliveries since a time, and release what a disabled hook holds",
        )
        .get(
            "/{hook_id}/events",
            list_events,
            "List a hook's recent events (delivery log)",
        )
        .post(
            "/{hook_id}/events/{event_id}/resend",
            resend,
            "Resend a logged event",
        )
        .put(
            "/{hook_id}/custom_headers/{key}",
            put_custom_header,
            "Set a custom header",
        )
        .delete(
            "/{hook_id}/custom_headers/{key}",
            delete_custom_header,
            "Delete a custom header",
        )
        .put(
            "/{hook_id}/url_variables/{key}",
            put_url_variable,
            "Set a URL variable",
        )
        .delete(
            "/{hook_id}/url_variables/{key}",
            delete_url_variable,
            "Delete a URL variable",
        )
        .build()
}

fn input_of(params: Params) -> ApiResult<HookInput> {
    let input = match params {
        Params::Json(map) => HookInput::from_json(&Value::Object(map)),
        Params::Form(pairs) => HookInput::from_form(&pairs),
    };
    input.map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn list_hooks(
    State(state): State<AppState>,
    Owner(owner): Owner,
    paging: Paging,
) -> ApiResult<Response> {
    let hooks = state.store.list_hooks(owner, paging.page).await?;
    let now = now_millis();
    let items = hooks
        .items
        .iter()
        .map(|hook| render(hook, now, state.limits.shown(hook)))
        .collect();
    Ok(paging.respond(items, hooks.total))
}

async fn create_hook(
    State(state): State<AppState>,
    Owner(owner): Owner,
    params: Params,
) -> ApiResult<Response> {
    let input = input_of(params)?;
    let generated = input.generate_signing_token == Some(true);
    let hook = create(&state, owner, input).await?;
    let body = answer(&state, &hook, generated);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Creates a hook of `owner` from a request's fields, through the hook rules and the
/// outbound guard (shared by the API and the web pages, so both give the same errors).
pub(crate) async fn create(
    state: &AppState,
    owner: HookOwner,
    input: HookInput,
) -> ApiResult<Hook> {
    let parts = wvs_hooks::create(scope_of(owner), input)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    check_destination(state, owner, &parts).await?;
    let hook = state
        .store
        .create_hook(
            NewHook {
                owner,
                url: parts.url,
                secrets: to_store(parts.secrets),
                settings: settings_value(&parts.settings),
                limits: limits_of(&parts.settings),
            },
            now_millis(),
        )
        .await?;
    Ok(hook)
}

/// The hook as the API shows it, plus, once, the signing secret WVS just generated.
fn answer(state: &AppState, hook: &Hook, generated: bool) -> Value {
    let mut body = render(hook, now_millis(), state.limits.shown(hook));
    if generated && let Some(secret) = hook.secrets.signing_tokens.first() {
        body["signing_token"] = Value::String(secret.clone());
    }
    body
}

async fn get_hook(State(state): State<AppState>, OwnedHook(hook): OwnedHook) -> Json<Value> {
    Json(render(&hook, now_millis(), state.limits.shown(&hook)))
}

async fn update_hook(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    params: Params,
) -> ApiResult<Json<Value>> {
    let input = input_of(params)?;
    let generated = input.generate_signing_token == Some(true);
    let saved = update(&state, &hook, input).await?;
    Ok(Json(answer(&state, &saved, generated)))
}

/// Applies a request's fields to a hook through the hook rules and saves it (shared by the
/// API and the web pages).
pub(crate) async fn update(state: &AppState, hook: &Hook, input: HookInput) -> ApiResult<Hook> {
    let parts = wvs_hooks::update(scope_of(hook.owner), &parts_of(hook), input)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    save(state, hook, parts).await
}

async fn save(state: &AppState, hook: &Hook, parts: NewHookParts) -> ApiResult<Hook> {
    check_destination(state, hook.owner, &parts).await?;
    let now = now_millis();
    let secrets = rotate(
        &hook.secrets,
        to_store(parts.secrets),
        state.config.signing_token_grace,
        now,
    );
    let hook_id = hook.id;
    let hook = state
        .store
        .update_hook(
            hook_id,
            HookChange {
                url: parts.url,
                secrets,
                settings: settings_value(&parts.settings),
                limits: limits_of(&parts.settings),
            },
            now,
        )
        .await?;
    Ok(hook)
}

/// Re-enables an auto-disabled hook (WVS's own endpoint; in GitLab only a successful test
/// does): its failure count is reset and its held deliveries go out.
async fn enable_hook(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
) -> ApiResult<Json<Value>> {
    let hook = enable(&state, &hook).await?;
    Ok(Json(render(&hook, now_millis(), state.limits.shown(&hook))))
}

/// `POST .../hooks/:hook_id/recover` (WVS's own), `{"since": ISO 8601}`: bulk recovery.
/// Every failed delivery of the hook settled since then (all of them without `since`) is
/// queued again, each to go out once more with its original Idempotency-Key; a disabled
/// hook is re-enabled, so that the deliveries it holds go out too. Answers how many were
/// queued and whether the hook was released, with the hook as it is now.
async fn recover(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    params: Params,
) -> ApiResult<Json<Value>> {
    let since = match params.into_object().get("since") {
        None | Some(Value::Null) => i64::MIN,
        Some(Value::String(text)) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| ApiError::bad_request("since is not an ISO 8601 time"))?
            .timestamp_millis(),
        Some(_) => return Err(ApiError::bad_request("since is not an ISO 8601 time")),
    };
    let recovered = recover_deliveries(&state, &hook, since).await?;
    Ok(Json(json!({
        "requeued": recovered.requeued,
        "released": recovered.released,
        "hook": render(
            &recovered.hook,
            now_millis(),
            state.limits.shown(&recovered.hook)
        ),
    })))
}

/// What bulk recovery did.
pub(crate) struct Recovered {
    /// Failed deliveries queued again.
    pub requeued: u64,
    /// The hook was disabled and is re-enabled: its held deliveries go out.
    pub released: bool,
    /// The hook as it is now.
    pub hook: Hook,
}

/// Queues again the hook's deliveries failed since `since` and re-enables it if it is
/// disabled (shared by the API and the web pages).
pub(crate) async fn recover_deliveries(
    state: &AppState,
    hook: &Hook,
    since: i64,
) -> ApiResult<Recovered> {
    let now = now_millis();
    let requeued = state.store.requeue_failed(hook.id, since, now).await?;
    let released = !hook.health.is_executable(now);
    let hook = if released {
        enable(state, hook).await?
    } else {
        state.wake.notify_one();
        hook.clone()
    };
    Ok(Recovered {
        requeued,
        released,
        hook,
    })
}

/// Resets a hook's health and wakes the dispatcher for its held deliveries; the hook as it
/// is now.
pub(crate) async fn enable(state: &AppState, hook: &Hook) -> ApiResult<Hook> {
    state
        .store
        .set_hook_health(hook.id, HookHealth::default())
        .await?;
    if !hook.health.is_executable(now_millis()) {
        tracing::info!(
            hook = hook.id,
            "hook enabled again by hand: its held deliveries go out"
        );
    }
    state.wake.notify_one();
    state
        .store
        .hook(hook.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Hook"))
}

/// The SSRF guard on the hook's URL as saved (it checks again at every delivery): 422 with
/// the reason when the destination is refused.
async fn check_destination(
    state: &AppState,
    owner: HookOwner,
    parts: &NewHookParts,
) -> ApiResult<()> {
    state
        .sender
        .guard()
        .check_url(
            &parts.url,
            &parts.secrets.url_variables,
            owner == HookOwner::System,
        )
        .await
        .map_err(|refusal| ApiError::unprocessable(format!("url is blocked: {refusal}")))
}

fn settings_value(settings: &wvs_hooks::HookSettings) -> Value {
    serde_json::to_value(settings).unwrap_or(Value::Null)
}

async fn delete_hook(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
) -> ApiResult<StatusCode> {
    state.store.delete_hook(hook.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- custom headers, URL variables

#[derive(Deserialize)]
struct KeyPath {
    key: String,
}

/// Which keyed secret list an endpoint edits.
#[derive(Clone, Copy)]
enum Keyed {
    CustomHeader,
    UrlVariable,
}

impl Keyed {
    fn field(self) -> &'static str {
        match self {
            Keyed::CustomHeader => "custom_headers",
            Keyed::UrlVariable => "url_variables",
        }
    }

    fn list(self, parts: &NewHookParts) -> &Vec<(String, String)> {
        match self {
            Keyed::CustomHeader => &parts.secrets.custom_headers,
            Keyed::UrlVariable => &parts.secrets.url_variables,
        }
    }
}

/// Sets or removes one key by re-validating the whole list through the hook rules, so the
/// single-key endpoints cannot bypass a limit the full update enforces.
async fn edit_keyed(
    state: &AppState,
    hook: wvs_store::Hook,
    which: Keyed,
    key: String,
    value: Option<String>,
) -> ApiResult<StatusCode> {
    let current = parts_of(&hook);
    let mut list = which.list(&current).clone();
    let existed = list.iter().any(|(k, _)| *k == key);
    list.retain(|(k, _)| *k != key);
    match value {
        Some(value) => list.push((key, value)),
        None if !existed => return Err(ApiError::not_found(which.field())),
        None => {}
    }
    let entries: Vec<Value> = list
        .into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    let input = HookInput::from_json(&json!({ which.field(): entries }))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let parts = wvs_hooks::update(scope_of(hook.owner), &current, input)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let _saved = save(state, &hook, parts).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn value_param(params: Params) -> ApiResult<String> {
    match params.into_object().remove("value") {
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(ApiError::bad_request("value is invalid")),
        None => Err(ApiError::bad_request("value is missing")),
    }
}

async fn put_custom_header(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
    params: Params,
) -> ApiResult<StatusCode> {
    let value = value_param(params)?;
    edit_keyed(&state, hook, Keyed::CustomHeader, key, Some(value)).await
}

async fn delete_custom_header(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
) -> ApiResult<StatusCode> {
    edit_keyed(&state, hook, Keyed::CustomHeader, key, None).await
}

async fn put_url_variable(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
    params: Params,
) -> ApiResult<StatusCode> {
    let value = value_param(params)?;
    edit_keyed(&state, hook, Keyed::UrlVariable, key, Some(value)).await
}

async fn delete_url_variable(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
) -> ApiResult<StatusCode> {
    edit_keyed(&state, hook, Keyed::UrlVariable, key, None).await
}

// ---------------------------------------------------------------- test and resend

/// 429, GitLab's words, when the caller tested or resent to this hook too often, with
/// `Retry-After`: the seconds until the limiter allows the next one.
fn rate_limit(state: &AppState, caller: &Caller, hook_id: i64) -> ApiResult<()> {
    state
        .test_limiter
        .check(&caller.key, hook_id, std::time::Instant::now())
        .map_err(|wait| ApiError {
            retry_after: Some(retry_after_seconds(wait)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "This endpoint has been requested too many times. Try again later.",
            )
        })
}

/// A wait as whole seconds, rounded up (a retry sooner would be refused), at least 1.
fn retry_after_seconds(wait: std::time::Duration) -> u32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)
}

#[derive(Deserialize)]
struct TriggerPath {
    trigger: String,
}

/// Sends the latest real event of the trigger's kind seen for the project, or the documented
/// sample when there is none, and answers with the receiver's status.
async fn test_hook(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OwnedHook(hook): OwnedHook,
    Path(TriggerPath { trigger }): Path<TriggerPath>,
) -> ApiResult<Response> {
    test_answer(test(&state, &caller, hook, &trigger).await?)
}

/// Sends a hook the test event of `trigger` and logs it; the receiver's status, `None`
/// without a response (shared by the API and the web pages).
pub(crate) async fn test(
    state: &AppState,
    caller: &Caller,
    hook: Hook,
    trigger: &str,
) -> ApiResult<Option<u16>> {
    rate_limit(state, caller, hook.id)?;
    let scope = scope_of(hook.owner);
    let (kind, confidential) = wvs_hooks::test_kind(trigger, scope)
        .ok_or_else(|| ApiError::bad_request("trigger does not have a valid value"))?;
    let body = match hook.owner {
        HookOwner::Project(project_id) => {
            let latest = state
                .store
                .latest_event(Some(project_id), kind.name())
                .await?;
            match latest {
                Some(event) => event.payload,
                None => {
                    // The documented sample, made an event of this project.
                    let sample = sample_body(samples::for_kind(kind, scope).json, confidential);
                    let blocks = registry_blocks(state, project_id).await?;
                    normalize::as_registry_project(&sample, &blocks)
                }
            }
        }
        _ => sample_body(samples::for_kind(kind, scope).json, confidential),
    };
    // A test is an execution of its own, as in GitLab: even when it sends a stored event's
    // payload it gets a new event UUID, hence a new Idempotency-Key.
    let event_uuid = uuid::Uuid::now_v7().to_string();
    let event =
        wvs_events::Event::from_slice(&body).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let body = delivery::templated(
        &crate::hooks::settings_of(&hook),
        &body,
        state.sender.max_payload(),
    )
    .map_err(ApiError::unprocessable)?
    .unwrap_or(body);
    send_and_log(
        state,
        hook,
        &event_uuid,
        event.header_for(scope),
        &body,
        test_trigger(trigger),
    )
    .await
}

/// `POST /hooks/:id`: tests a system hook with the documented `project_create` sample and
/// answers with that sample, as GitLab does.
async fn test_system_hook(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OwnedHook(hook): OwnedHook,
) -> ApiResult<Response> {
    rate_limit(&state, &caller, hook.id)?;
    let sample = samples::find("project_create").ok_or_else(|| ApiError::not_found("Sample"))?;
    let body = sample.json.as_bytes().to_vec();
    let event_uuid = uuid::Uuid::now_v7().to_string();
    let status = send_and_log(
        &state,
        hook,
        &event_uuid,
        sample.header(),
        &body,
        "system_hooks".into(),
    )
    .await?;
    match status {
        Some(code) if (200..300).contains(&code) => {
            let data: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Ok((StatusCode::CREATED, Json(data)).into_response())
        }
        other => test_answer(other),
    }
}

/// The `project` and `repository` blocks of a registry project.
async fn registry_blocks(state: &AppState, project_id: i64) -> ApiResult<project_blocks::Blocks> {
    let store = state.store.as_ref();
    let project = store
        .project(project_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Project"))?;
    let groups = project_groups(store, &project).await?;
    Ok(project_blocks::of(
        &project,
        &groups,
        &state.config.instance_url,
    ))
}

/// A confidential test trigger gets the sample marked confidential.
fn sample_body(json: &str, confidential: bool) -> Vec<u8> {
    let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(json) else {
        return json.as_bytes().to_vec();
    };
    if confidential {
        if let Some(Value::Object(attributes)) = map.get_mut("object_attributes") {
            attributes.insert("confidential".into(), Value::Bool(true));
        }
        if let Some(Value::String(event_type)) = map.get_mut("event_type") {
            *event_type = format!("confidential_{event_type}");
        }
    }
    serde_json::to_vec(&Value::Object(map)).unwrap_or_else(|_| json.as_bytes().to_vec())
}

/// GitLab logs test deliveries under the trigger's hook name (`push_hooks` for
/// `push_events`).
fn test_trigger(trigger: &str) -> String {
    let base = trigger.trim_end_matches("_events").trim_end_matches('s');
    format!("{base}_hooks")
}

fn test_answer(status: Option<u16>) -> ApiResult<Response> {
    match status {
        Some(code) if (200..300).contains(&code) => Ok((
            StatusCode::CREATED,
            Json(json!({ "message": "201 Created", "response_status": code })),
        )
            .into_response()),
        Some(code) => Err(ApiError::unprocessable(format!(
            "Hook execution failed: the receiver answered {code}"
        ))),
        None => Err(ApiError::unprocessable(
            "Hook execution failed: no response from the receiver",
        )),
    }
}

/// Sends a body to a hook outside the queue and logs the attempt; returns the status.
async fn send_and_log(
    state: &AppState,
    hook: wvs_store::Hook,
    event_uuid: &str,
    event_header: &str,
    body: &[u8],
    trigger: String,
) -> ApiResult<Option<u16>> {
    let key = match uuid::Uuid::parse_str(event_uuid) {
        Ok(uuid) => idempotency_key(uuid, &hook.uuid),
        Err(_) => uuid::Uuid::new_v4().to_string(),
    };
    send_logged(
        state,
        hook,
        event_header,
        event_uuid,
        &key,
        body,
        trigger,
        None,
    )
    .await
    .map(|(status, _)| status)
}

#[allow(clippy::too_many_arguments)]
async fn send_logged(
    state: &AppState,
    hook: wvs_store::Hook,
    event_header: &str,
    event_uuid: &str,
    idempotency_key: &str,
    body: &[u8],
    trigger: String,
    event_id: Option<i64>,
) -> ApiResult<(Option<u16>, i64)> {
    let prepared = PreparedHook::new(hook);
    let envelope = Envelope {
        event_uuid,
        event_header,
        idempotency_key,
        body: bytes::Bytes::copy_from_slice(body),
    };
    let result = delivery::send(&state.sender, state.config.flavor, &prepared, &envelope).await;
    let status = result.status;
    // Any success re-enables a disabled hook; a failed test or resend is not held against it.
    let health = if result.is_success() {
        HealthEffect::Success
    } else {
        HealthEffect::Unchanged
    };
    let row = delivery::attempt_row(
        result,
        AttemptContext {
            hook_id: prepared.hook.id,
            delivery_id: None,
            event_id,
            trigger,
            outcome: Outcome::Succeeded,
            health,
            rate_limited: false,
            request_body: Some(delivery::logged_body(body)),
            now: now_millis(),
        },
    );
    let id = state
        .store
        .log_attempt(row, &state.config.delivery.auto_disable)
        .await?;
    if health == HealthEffect::Success {
        // A disabled hook may be executable again: its held deliveries can go.
        state.wake.notify_one();
    }
    Ok((status, id))
}

#[derive(Deserialize)]
struct EventPath {
    event_id: i64,
}

/// Sends a logged delivery again: the original body, event header, event UUID and
/// Idempotency-Key (all read from the log), to the hook's current settings.
async fn resend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OwnedHook(hook): OwnedHook,
    Path(EventPath { event_id }): Path<EventPath>,
) -> ApiResult<Response> {
    let status = resend_attempt(&state, &caller, hook, event_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "response_status": status })),
    )
        .into_response())
}

/// Sends a logged attempt again and logs it; the receiver's status (shared by the API and
/// the web pages).
pub(crate) async fn resend_attempt(
    state: &AppState,
    caller: &Caller,
    hook: Hook,
    event_id: i64,
) -> ApiResult<Option<u16>> {
    rate_limit(state, caller, hook.id)?;
    let logged = state
        .store
        .attempt(hook.id, event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Hook event"))?;
    let header = |suffix: &str| {
        logged
            .request_headers
            .iter()
            .find(|(name, _)| {
                name.eq_ignore_ascii_case(&format!("X-WVS-{suffix}"))
                    || name.eq_ignore_ascii_case(&format!("X-Gitlab-{suffix}"))
            })
            .map(|(_, value)| value.clone())
    };
    let idempotency = logged
        .request_headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Idempotency-Key"))
        .map(|(_, value)| value.clone());
    let (Some(event_header), Some(event_uuid), Some(idempotency)) =
        (header("Event"), header("Event-UUID"), idempotency)
    else {
        return Err(ApiError::unprocessable(
            "this log entry lacks the headers needed to resend it",
        ));
    };
    let (status, _) = send_logged(
        state,
        hook,
        &event_header,
        &event_uuid,
        &idempotency,
        &logged.request_body,
        logged.trigger.clone(),
        logged.event_id,
    )
    .await?;
    Ok(status)
}

// ---------------------------------------------------------------- delivery log

#[derive(Deserialize)]
struct EventsQuery {
    status: Option<String>,
}

pub(crate) fn status_filter(status: Option<&str>) -> ApiResult<StatusFilter> {
    Ok(match status {
        None | Some("") => StatusFilter::All,
        Some("successful") => StatusFilter::Successful,
        Some("client_failure") => StatusFilter::ClientFailure,
        Some("server_failure") => StatusFilter::ServerFailure,
        Some(code) => StatusFilter::Code(
            code.parse()
                .ok()
                .filter(|c| (100..600).contains(c))
                .ok_or_else(|| ApiError::bad_request("status does not have a valid value"))?,
        ),
    })
}

async fn list_events(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Query(query): Query<EventsQuery>,
    paging: Paging,
) -> ApiResult<Response> {
    let filter = status_filter(query.status.as_deref())?;
    let attempts = state
        .store
        .list_attempts(hook.id, filter, paging.page)
        .await?;
    let items = attempts.items.iter().map(render_attempt).collect();
    Ok(paging.respond(items, attempts.total))
}

/// A log row as GitLab's hook events API shows it.
fn render_attempt(attempt: &LoggedAttempt) -> Value {
    let request_data = serde_json::from_slice(&attempt.request_body).unwrap_or_else(|_| {
        Value::String(String::from_utf8_lossy(&attempt.request_body).into_owned())
    });
    let response_body = crate::body_text::BodyText::of(&attempt.response_body);
    json!({
        "id": attempt.id,
        "url": attempt.url,
        "trigger": attempt.trigger,
        "request_headers": headers_object(&attempt.request_headers),
        "request_data": request_data,
        "response_headers": headers_object(&attempt.response_headers),
        "response_body": response_body.text,
        // WVS's own: the body held bytes that are not text, written `\xNN` above.
        "response_body_binary": response_body.binary,
        "execution_duration": attempt.execution_duration,
        "response_status": attempt.response_status.map_or_else(|| "internal error".to_owned(), |s| s.to_string()),
        "internal_error_message": attempt.internal_error,
        // WVS's own: the delivery waited for its namespace's rate limit before this attempt.
        "rate_limited": attempt.rate_limited,
        "created_at": iso8601(attempt.created_at),
    })
}

fn headers_object(headers: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        map.insert(name.clone(), Value::String(value.clone()));
    }
    Value::Object(map)
}
