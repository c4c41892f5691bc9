//! Hooks of projects, groups and the instance, with GitLab API v4 shapes: list, create, get,
//! edit, delete, test, the delivery log, resend, custom headers and URL variables.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use wvs_events::Scope;
use wvs_hooks::{EventFlags, HookInput};
use wvs_store::{Hook, HookOwner, LoggedAttempt, Millis};

use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::owner::{OwnedHook, RouteOwner};
use super::pagination::Paging;
use super::params::Params;
use super::schema::{self, BranchSettings, HookEvent, HookParams, KeyOnly, NoParams, Recovered};
use super::schema::{RecoverParams, Resent, Tested, ValueParam};
use crate::auth::Caller;
use crate::path_ids::AttemptPath;
use crate::service::hooks::{self, Keyed};
use crate::state::AppState;
use crate::stored_hook::{alert_status, scope_of, settings_of};
use crate::time::iso8601;

/// The hook routes, mounted under `/projects/{id}/hooks`, `/groups/{id}/hooks` and `/hooks`.
pub fn routes(system: bool) -> Documented {
    let endpoints = Endpoints::new("hooks")
        .get("/", list_hooks, "List hooks")
        .answers::<Vec<schema::Hook>>(200)
        .post("/", create_hook, "Add a hook")
        .takes::<HookParams>()
        .answers::<schema::Hook>(201)
        .get("/{hook_id}", get_hook, "Get a hook")
        .answers::<schema::Hook>(200)
        .put("/{hook_id}", update_hook, "Edit a hook")
        .takes::<HookParams>()
        .answers::<schema::Hook>(200)
        .delete("/{hook_id}", delete_hook, "Delete a hook")
        .answers_empty(204);
    // `POST /hooks/:id` tests a system hook, as GitLab's system hooks API does.
    let endpoints = if system {
        endpoints
            .post(
                "/{hook_id}",
                test_system_hook,
                "Test a system hook with the project_create sample",
            )
            .takes::<NoParams>()
            // The sample event sent; its shape is docs/events.md's.
            .answers::<schema::EventBody>(201)
    } else {
        endpoints
    };
    endpoints
        .post(
            "/{hook_id}/test/{trigger}",
            test_hook,
            "Send a test event of a trigger",
        )
        .takes::<NoParams>()
        .answers::<Tested>(201)
        .post(
            "/{hook_id}/enable",
            enable_hook,
            "Re-enable a disabled hook",
        )
        .takes::<NoParams>()
        .answers::<schema::Hook>(200)
        .post(
            "/{hook_id}/recover",
            recover,
            "Send again the hook's failed deliveries since a time, and release what a disabled hook holds",
        )
        .takes::<RecoverParams>()
        .answers::<Recovered>(200)
        .get(
            "/{hook_id}/events",
            list_events,
            "List a hook's recent events (delivery log)",
        )
        .answers::<Vec<HookEvent>>(200)
        .post(
            "/{hook_id}/events/{event_id}/resend",
            resend,
            "Resend a logged event",
        )
        .takes::<NoParams>()
        .answers::<Resent>(201)
        .put(
            "/{hook_id}/custom_headers/{key}",
            put_custom_header,
            "Set a custom header",
        )
        .takes::<ValueParam>()
        .answers_empty(204)
        .delete(
            "/{hook_id}/custom_headers/{key}",
            delete_custom_header,
            "Delete a custom header",
        )
        .answers_empty(204)
        .put(
            "/{hook_id}/url_variables/{key}",
            put_url_variable,
            "Set a URL variable",
        )
        .takes::<ValueParam>()
        .answers_empty(204)
        .delete(
            "/{hook_id}/url_variables/{key}",
            delete_url_variable,
            "Delete a URL variable",
        )
        .answers_empty(204)
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
    RouteOwner(owner): RouteOwner,
    paging: Paging,
) -> ApiResult<Response> {
    let hooks = state.store.list_hooks(owner, paging.page).await?;
    let now = Millis::now();
    let items = hooks
        .items
        .iter()
        .map(|hook| render(hook, now, state.limits.shown(hook)))
        .collect();
    Ok(paging.respond(items, hooks.total))
}

async fn create_hook(
    State(state): State<AppState>,
    RouteOwner(owner): RouteOwner,
    params: Params,
) -> ApiResult<Response> {
    let input = input_of(params)?;
    let generated = input.generate_signing_token == Some(true);
    let hook = hooks::create(&state, owner, input).await?;
    let body = answer(&state, &hook, generated);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The hook as the API shows it, plus, once, the signing secret WVS just generated.
fn answer(state: &AppState, hook: &Hook, generated: bool) -> schema::Hook {
    let mut body = render(hook, Millis::now(), state.limits.shown(hook));
    if generated {
        body.signing_token = hook.secrets.signing_tokens.first().cloned();
    }
    body
}

/// The hook as the API shows it: GitLab's fields, never a secret value (`token_present`,
/// `signing_token_present`, and only the keys of custom headers and URL variables), and
/// `current_limit`, the deliveries in flight at once now, adapted to the receiver.
fn render(hook: &Hook, now: Millis, current_limit: u32) -> schema::Hook {
    let scope = scope_of(hook.owner);
    let settings = settings_of(hook);
    let (project_id, group_id) = match hook.owner {
        HookOwner::Project(id) => (Some(id), None),
        HookOwner::Group(id) => (None, Some(id)),
        HookOwner::System => (None, None),
    };
    let events = schema::EventFlags(
        EventFlags::names(scope)
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    settings.events.get(name).unwrap_or(false),
                )
            })
            .collect(),
    );
    let branch = (scope != Scope::System).then(|| BranchSettings {
        push_events_branch_filter: settings
            .push_events_branch_filter
            .clone()
            .unwrap_or_default(),
        branch_filter_strategy: settings.branch_filter_strategy.as_str().to_owned(),
        custom_webhook_template: settings.custom_webhook_template.clone(),
    });
    let secrets = &hook.secrets;
    let (alert_status, disabled_until) = alert_status(hook, now);
    schema::Hook {
        id: hook.id.0,
        url: wvs_send::log_url(&hook.url),
        name: settings.name,
        description: settings.description,
        project_id: project_id.map(|id| id.0),
        group_id: group_id.map(|id| id.0),
        created_at: iso8601(hook.created_at),
        events,
        branch,
        enable_ssl_verification: settings.enable_ssl_verification,
        flavor: settings.flavor.map(|flavor| flavor.as_str().to_owned()),
        max_in_flight: settings.max_in_flight,
        ordered: settings.ordered,
        current_limit,
        token_present: secrets.token.is_some(),
        signing_token_present: !secrets.signing_tokens.is_empty(),
        signing_token_rotation_ends_at: secrets
            .previous_signing_token
            .as_ref()
            .filter(|previous| previous.until > now)
            .map(|previous| iso8601(previous.until)),
        custom_headers: keys(&secrets.custom_headers),
        url_variables: keys(&secrets.url_variables),
        alert_status: alert_status.to_owned(),
        disabled_until,
        signing_token: None,
    }
}

fn keys(pairs: &[(String, String)]) -> Vec<KeyOnly> {
    pairs
        .iter()
        .map(|(key, _)| KeyOnly { key: key.clone() })
        .collect()
}

async fn get_hook(State(state): State<AppState>, OwnedHook(hook): OwnedHook) -> Json<schema::Hook> {
    Json(render(&hook, Millis::now(), state.limits.shown(&hook)))
}

async fn update_hook(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    params: Params,
) -> ApiResult<Json<schema::Hook>> {
    let input = input_of(params)?;
    let generated = input.generate_signing_token == Some(true);
    let saved = hooks::update(&state, &hook, input).await?;
    Ok(Json(answer(&state, &saved, generated)))
}

/// Re-enables an auto-disabled hook (WVS's own endpoint; in GitLab only a successful test
/// does): its failure count is reset and its held deliveries go out.
async fn enable_hook(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
) -> ApiResult<Json<schema::Hook>> {
    let hook = hooks::enable(&state, &hook).await?;
    Ok(Json(render(
        &hook,
        Millis::now(),
        state.limits.shown(&hook),
    )))
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
) -> ApiResult<Json<Recovered>> {
    let since = match params.into_object().get("since") {
        None | Some(Value::Null) => Millis::MIN,
        Some(Value::String(text)) => Millis(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| ApiError::bad_request("since is not an ISO 8601 time"))?
                .timestamp_millis(),
        ),
        Some(_) => return Err(ApiError::bad_request("since is not an ISO 8601 time")),
    };
    let recovered = hooks::recover_deliveries(&state, &hook, since).await?;
    Ok(Json(Recovered {
        requeued: recovered.requeued,
        released: recovered.released,
        hook: render(
            &recovered.hook,
            Millis::now(),
            state.limits.shown(&recovered.hook),
        ),
    }))
}

async fn delete_hook(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
) -> ApiResult<StatusCode> {
    hooks::delete(&state, &hook).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- custom headers, URL variables

#[derive(Deserialize)]
struct KeyPath {
    key: String,
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
    hooks::edit_keyed(&state, hook, Keyed::CustomHeader, key, Some(value)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_custom_header(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
) -> ApiResult<StatusCode> {
    hooks::edit_keyed(&state, hook, Keyed::CustomHeader, key, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_url_variable(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
    params: Params,
) -> ApiResult<StatusCode> {
    let value = value_param(params)?;
    hooks::edit_keyed(&state, hook, Keyed::UrlVariable, key, Some(value)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_url_variable(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Path(KeyPath { key }): Path<KeyPath>,
) -> ApiResult<StatusCode> {
    hooks::edit_keyed(&state, hook, Keyed::UrlVariable, key, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- test and resend

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
    test_answer(hooks::test(&state, &caller, hook, &trigger).await?)
}

/// `POST /hooks/:id`: tests a system hook with the documented `project_create` sample and
/// answers with that sample, as GitLab does.
async fn test_system_hook(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OwnedHook(hook): OwnedHook,
) -> ApiResult<Response> {
    let (status, body) = hooks::test_system(&state, &caller, hook).await?;
    match status {
        Some(code) if (200..300).contains(&code) => {
            let data: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Ok((StatusCode::CREATED, Json(data)).into_response())
        }
        other => test_answer(other),
    }
}

fn test_answer(status: Option<u16>) -> ApiResult<Response> {
    match status {
        Some(code) if (200..300).contains(&code) => Ok((
            StatusCode::CREATED,
            Json(Tested {
                message: "201 Created".to_owned(),
                response_status: code,
            }),
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

/// Sends a logged delivery again: the original body, event header, event UUID and
/// Idempotency-Key (all read from the log), to the hook's current settings.
async fn resend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OwnedHook(hook): OwnedHook,
    Path(AttemptPath { attempt_id }): Path<AttemptPath>,
) -> ApiResult<Response> {
    let status = hooks::resend_attempt(&state, &caller, hook, attempt_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(Resent {
            response_status: status,
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------- delivery log

#[derive(Deserialize)]
struct EventsQuery {
    status: Option<String>,
}

async fn list_events(
    State(state): State<AppState>,
    OwnedHook(hook): OwnedHook,
    Query(query): Query<EventsQuery>,
    paging: Paging,
) -> ApiResult<Response> {
    let filter = hooks::status_filter(query.status.as_deref())?;
    let attempts = state
        .store
        .list_attempts(hook.id, filter, paging.page)
        .await?;
    let items = attempts.items.iter().map(render_attempt).collect();
    Ok(paging.respond(items, attempts.total))
}

/// A log row as GitLab's hook events API shows it.
fn render_attempt(attempt: &LoggedAttempt) -> HookEvent {
    let request_data = serde_json::from_slice(&attempt.request_body).unwrap_or_else(|_| {
        Value::String(String::from_utf8_lossy(&attempt.request_body).into_owned())
    });
    let response_body = crate::body_text::BodyText::of(&attempt.response_body);
    HookEvent {
        id: attempt.id.0,
        url: attempt.url.clone(),
        trigger: attempt.trigger.clone(),
        request_headers: headers_map(&attempt.request_headers),
        request_data,
        response_headers: headers_map(&attempt.response_headers),
        response_body: response_body.text,
        response_body_binary: response_body.binary,
        execution_duration: attempt.execution_duration,
        response_status: attempt
            .response_status
            .map_or_else(|| "internal error".to_owned(), |s| s.to_string()),
        internal_error_message: attempt.internal_error.clone(),
        rate_limited: attempt.rate_limited,
        created_at: iso8601(attempt.created_at),
    }
}

fn headers_map(headers: &[(String, String)]) -> IndexMap<String, String> {
    headers.iter().cloned().collect()
}
