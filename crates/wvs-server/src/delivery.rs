//! One delivery attempt to one hook, shared by the dispatcher, hook tests and resends: the
//! hook's settings turned into a send request, and the result turned into a log row.

use wvs_events::{Flavor, SigningSecret};
use wvs_hooks::HookSettings;
use wvs_send::{AttemptResult, Sender};
use wvs_store::{
    Attempt, DeliveryId, EventId, HealthEffect, Hook, HookId, HookOwner, Millis, Outcome,
};

/// A hook ready to send: its settings and signing keys read once.
pub struct PreparedHook {
    pub hook: Hook,
    pub settings: HookSettings,
    signing_secrets: Vec<SigningSecret>,
}

impl PreparedHook {
    pub fn new(hook: Hook) -> PreparedHook {
        let settings = crate::stored_hook::settings_of(&hook);
        // Signing tokens were validated when saved; one that no longer parses is skipped
        // rather than blocking every delivery.
        // The previous secret signs too until its grace period ends (key rotation).
        let now = Millis::now();
        let previous = hook
            .secrets
            .previous_signing_token
            .iter()
            .filter(|previous| previous.until > now)
            .map(|previous| &previous.secret);
        let signing_secrets = hook
            .secrets
            .signing_tokens
            .iter()
            .chain(previous)
            .filter_map(|secret| SigningSecret::parse(secret).ok())
            .collect();
        PreparedHook {
            hook,
            settings,
            signing_secrets,
        }
    }
}

/// Bytes of a request body the log keeps when the body is not the event's stored payload (a
/// template's output, a test's sample): a template can make a body as large as the payload
/// limit, which the log need not hold again.
pub const MAX_LOGGED_REQUEST_BODY: usize = 64 * 1024;

/// The start of `body` that the log keeps.
pub fn logged_body(body: &[u8]) -> Vec<u8> {
    body[..body.len().min(MAX_LOGGED_REQUEST_BODY)].to_vec()
}

/// The body a hook with a `custom_webhook_template` sends instead of the event's payload;
/// `None` when it has no template. `Err` says why the template gave no valid JSON, or that
/// its output would pass `limit` bytes (rendering stops there).
pub fn templated(
    settings: &HookSettings,
    payload: &[u8],
    limit: usize,
) -> Result<Option<Vec<u8>>, String> {
    let Some(template) = &settings.custom_webhook_template else {
        return Ok(None);
    };
    let event: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|error| format!("custom webhook template: the event is not JSON: {error}"))?;
    wvs_hooks::template::render(template, &event, limit)
        .map(|body| Some(body.into_bytes()))
        .map_err(|error| format!("custom webhook template: {error}"))
}

/// The result of an attempt that was never sent because its body could not be built:
/// retrying cannot help.
pub fn unsendable(hook: &PreparedHook, reason: String) -> AttemptResult {
    AttemptResult {
        url: wvs_send::log_url(&hook.hook.url),
        error: Some(format!("internal error: {reason}")),
        permanent: true,
        ..AttemptResult::default()
    }
}

/// What is sent, besides the hook.
pub struct Envelope<'a> {
    pub event_uuid: &'a str,
    pub event_header: &'a str,
    pub idempotency_key: &'a str,
    pub body: bytes::Bytes,
}

/// Sends `envelope` to `hook` with the hook's current settings.
pub async fn send(
    sender: &Sender,
    default_flavor: Flavor,
    hook: &PreparedHook,
    envelope: &Envelope<'_>,
) -> AttemptResult {
    let secrets = &hook.hook.secrets;
    // A new one for every request, retries and resends included, as GitLab's WebHookService
    // does; the event UUID and Idempotency-Key are what stays the same.
    let webhook_uuid = uuid::Uuid::new_v4().to_string();
    let request = wvs_send::Request {
        url: &hook.hook.url,
        flavor: hook.settings.flavor.unwrap_or(default_flavor),
        event_header: envelope.event_header,
        token: secrets.token.as_deref(),
        signing_secrets: &hook.signing_secrets,
        custom_headers: &secrets.custom_headers,
        url_variables: &secrets.url_variables,
        event_uuid: envelope.event_uuid,
        webhook_uuid: &webhook_uuid,
        idempotency_key: envelope.idempotency_key,
        body: envelope.body.clone(),
        verify_tls: hook.settings.enable_ssl_verification,
        system_hook: hook.hook.owner == HookOwner::System,
    };
    sender.send(&request).await
}

/// Where an attempt belongs in the store.
pub struct AttemptContext {
    pub hook_id: HookId,
    pub delivery_id: Option<DeliveryId>,
    pub event_id: Option<EventId>,
    pub trigger: String,
    pub outcome: Outcome,
    pub health: HealthEffect,
    /// The delivery had waited for its namespace's rate limit.
    pub rate_limited: bool,
    /// The body, when it is not the event's stored payload.
    pub request_body: Option<Vec<u8>>,
    pub now: Millis,
}

/// The log row of an attempt.
pub fn attempt_row(result: AttemptResult, context: AttemptContext) -> Attempt {
    Attempt {
        delivery_id: context.delivery_id,
        hook_id: context.hook_id,
        event_id: context.event_id,
        outcome: context.outcome,
        health: context.health,
        rate_limited: context.rate_limited,
        trigger: context.trigger,
        url: result.url,
        request_headers: result.request_headers,
        request_body: context.request_body,
        response_status: result.status,
        response_headers: result.response_headers,
        response_body: result.response_body,
        execution_duration: result.duration.as_secs_f64(),
        internal_error: result.error,
        created_at: context.now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_renders_the_event_and_an_event_that_is_not_json_fails_with_the_reason() {
        let settings = HookSettings {
            custom_webhook_template: Some(r#"{"kind": "{{object_kind}}"}"#.into()),
            ..HookSettings::default()
        };
        let body = templated(&settings, br#"{"object_kind": "push"}"#, usize::MAX).unwrap();
        assert_eq!(body.as_deref(), Some(br#"{"kind": "push"}"#.as_slice()));
        let error = templated(&settings, b"not json", usize::MAX).unwrap_err();
        assert!(
            error.starts_with("custom webhook template: the event is not JSON"),
            "{error}"
        );
        assert_eq!(
            templated(&HookSettings::default(), b"{}", usize::MAX).unwrap(),
            None
        );
    }
}
