//! What can be done to a hook, for the API and the web pages alike: create, edit (whole or
//! one custom header or URL variable), delete, re-enable, bulk recovery, test and resend,
//! and the delivery log's status filter. Every refusal is a [`ServiceError`] naming the
//! field or the reason, so both adapters give the same errors.

use serde_json::{Value, json};
use wvs_events::samples;
use wvs_hooks::{HookInput, NewHookParts};
use wvs_store::{
    AttemptId, EventId, HealthEffect, Hook, HookChange, HookHealth, HookId, HookOwner, NewHook,
    Outcome, ProjectId, StatusFilter,
};

use super::authorization::project_groups;
use super::error::{ServiceError, ServiceResult};
use crate::auth::Caller;
use crate::delivery::{self, AttemptContext, Envelope, PreparedHook};
use crate::ingest::idempotency_key;
use crate::state::AppState;
use crate::stored_hook::{limits_of, parts_of, rotate, scope_of, to_store};
use crate::{normalize, project_blocks};
use wvs_store::Millis;

/// Creates a hook of `owner` from a request's fields, through the hook rules and the
/// outbound guard (shared by the API and the web pages, so both give the same errors).
pub async fn create(state: &AppState, owner: HookOwner, input: HookInput) -> ServiceResult<Hook> {
    let parts = wvs_hooks::create(scope_of(owner), input)
        .map_err(|e| ServiceError::invalid(e.to_string()))?;
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
            Millis::now(),
        )
        .await?;
    Ok(hook)
}

/// Applies a request's fields to a hook through the hook rules and saves it (shared by the
/// API and the web pages).
pub async fn update(state: &AppState, hook: &Hook, input: HookInput) -> ServiceResult<Hook> {
    let parts = wvs_hooks::update(scope_of(hook.owner), &parts_of(hook), input)
        .map_err(|e| ServiceError::invalid(e.to_string()))?;
    save(state, hook, parts).await
}

async fn save(state: &AppState, hook: &Hook, parts: NewHookParts) -> ServiceResult<Hook> {
    check_destination(state, hook.owner, &parts).await?;
    let now = Millis::now();
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

/// What bulk recovery did.
pub struct Recovered {
    /// Failed deliveries queued again.
    pub requeued: u64,
    /// The hook was disabled and is re-enabled: its held deliveries go out.
    pub released: bool,
    /// The hook as it is now.
    pub hook: Hook,
}

/// Queues again the hook's deliveries failed since `since` and re-enables it if it is
/// disabled (shared by the API and the web pages).
pub async fn recover_deliveries(
    state: &AppState,
    hook: &Hook,
    since: Millis,
) -> ServiceResult<Recovered> {
    let now = Millis::now();
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
pub async fn enable(state: &AppState, hook: &Hook) -> ServiceResult<Hook> {
    state
        .store
        .set_hook_health(hook.id, HookHealth::default())
        .await?;
    if !hook.health.is_executable(Millis::now()) {
        tracing::info!(
            hook = hook.id.0,
            "hook enabled again by hand: its held deliveries go out"
        );
    }
    state.wake.notify_one();
    state
        .store
        .hook(hook.id)
        .await?
        .ok_or_else(|| ServiceError::not_found("Hook"))
}

/// The SSRF guard on the hook's URL as saved (it checks again at every delivery): 422 with
/// the reason when the destination is refused.
async fn check_destination(
    state: &AppState,
    owner: HookOwner,
    parts: &NewHookParts,
) -> ServiceResult<()> {
    state
        .sender
        .guard()
        .check_url(
            &parts.url,
            &parts.secrets.url_variables,
            owner == HookOwner::System,
        )
        .await
        .map_err(|refusal| ServiceError::refused(format!("url is blocked: {refusal}")))
}

fn settings_value(settings: &wvs_hooks::HookSettings) -> Value {
    serde_json::to_value(settings).unwrap_or(Value::Null)
}

/// Which keyed secret list an endpoint edits.
#[derive(Clone, Copy)]
pub enum Keyed {
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
pub async fn edit_keyed(
    state: &AppState,
    hook: wvs_store::Hook,
    which: Keyed,
    key: String,
    value: Option<String>,
) -> ServiceResult<()> {
    let current = parts_of(&hook);
    let mut list = which.list(&current).clone();
    let existed = list.iter().any(|(k, _)| *k == key);
    list.retain(|(k, _)| *k != key);
    match value {
        Some(value) => list.push((key, value)),
        None if !existed => return Err(ServiceError::not_found(which.field())),
        None => {}
    }
    let entries: Vec<Value> = list
        .into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    let input = HookInput::from_json(&json!({ which.field(): entries }))
        .map_err(|e| ServiceError::invalid(e.to_string()))?;
    let parts = wvs_hooks::update(scope_of(hook.owner), &current, input)
        .map_err(|e| ServiceError::refused(e.to_string()))?;
    save(state, &hook, parts).await.map(drop)
}

/// Refused (429 in GitLab's words) when the caller tested or resent to this hook too often, with
/// `Retry-After`: the seconds until the limiter allows the next one.
fn rate_limit(state: &AppState, caller: &Caller, hook_id: HookId) -> ServiceResult<()> {
    state
        .test_limiter
        .check(&caller.key, hook_id, std::time::Instant::now())
        .map_err(|wait| ServiceError::TooMany {
            retry_after: retry_after_seconds(wait),
        })
}

/// A wait as whole seconds, rounded up (a retry sooner would be refused), at least 1.
fn retry_after_seconds(wait: std::time::Duration) -> u32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)
}

/// Sends a hook the test event of `trigger` and logs it; the receiver's status, `None`
/// without a response (shared by the API and the web pages).
pub async fn test(
    state: &AppState,
    caller: &Caller,
    hook: Hook,
    trigger: &str,
) -> ServiceResult<Option<u16>> {
    rate_limit(state, caller, hook.id)?;
    let scope = scope_of(hook.owner);
    let (kind, confidential) = wvs_hooks::test_kind(trigger, scope)
        .ok_or_else(|| ServiceError::invalid("trigger does not have a valid value"))?;
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
        wvs_events::Event::from_slice(&body).map_err(|e| ServiceError::refused(e.to_string()))?;
    let body = delivery::templated(
        &crate::stored_hook::settings_of(&hook),
        &body,
        state.sender.max_payload(),
    )
    .map_err(ServiceError::refused)?
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

/// The `project` and `repository` blocks of a registry project.
async fn registry_blocks(
    state: &AppState,
    project_id: ProjectId,
) -> ServiceResult<project_blocks::Blocks> {
    let store = state.store.as_ref();
    let project = store
        .project(project_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("Project"))?;
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

/// Sends a body to a hook outside the queue and logs the attempt; returns the status.
async fn send_and_log(
    state: &AppState,
    hook: wvs_store::Hook,
    event_uuid: &str,
    event_header: &str,
    body: &[u8],
    trigger: String,
) -> ServiceResult<Option<u16>> {
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
    event_id: Option<EventId>,
) -> ServiceResult<(Option<u16>, AttemptId)> {
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
            now: Millis::now(),
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

/// Sends a logged attempt again and logs it; the receiver's status (shared by the API and
/// the web pages).
pub async fn resend_attempt(
    state: &AppState,
    caller: &Caller,
    hook: Hook,
    attempt_id: AttemptId,
) -> ServiceResult<Option<u16>> {
    rate_limit(state, caller, hook.id)?;
    let Some(logged) = state.store.attempt(hook.id, attempt_id).await? else {
        return Err(if state.store.attempt_pruned(attempt_id).await? {
            ServiceError::Pruned {
                what: "Hook event".to_owned(),
            }
        } else {
            ServiceError::not_found("Hook event")
        });
    };
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
        return Err(ServiceError::refused(
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

pub fn status_filter(status: Option<&str>) -> ServiceResult<StatusFilter> {
    Ok(match status {
        None | Some("") => StatusFilter::All,
        Some("successful") => StatusFilter::Successful,
        Some("client_failure") => StatusFilter::ClientFailure,
        Some("server_failure") => StatusFilter::ServerFailure,
        Some(code) => StatusFilter::Code(
            code.parse()
                .ok()
                .filter(|c| (100..600).contains(c))
                .ok_or_else(|| ServiceError::invalid("status does not have a valid value"))?,
        ),
    })
}

/// Deletes a hook (its queued deliveries and log go with it).
pub async fn delete(state: &AppState, hook: &Hook) -> ServiceResult<()> {
    Ok(state.store.delete_hook(hook.id).await?)
}

/// Tests a system hook with the documented `project_create` sample, as GitLab's system
/// hooks API does; the receiver's status and the sample sent.
pub async fn test_system(
    state: &AppState,
    caller: &Caller,
    hook: Hook,
) -> ServiceResult<(Option<u16>, Vec<u8>)> {
    rate_limit(state, caller, hook.id)?;
    let sample =
        samples::find("project_create").ok_or_else(|| ServiceError::not_found("Sample"))?;
    let body = sample.json.as_bytes().to_vec();
    let event_uuid = uuid::Uuid::now_v7().to_string();
    let status = send_and_log(
        state,
        hook,
        &event_uuid,
        sample.header(),
        &body,
        "system_hooks".into(),
    )
    .await?;
    Ok((status, body))
}
