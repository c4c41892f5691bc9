//! Glue between the hook rules (`wvs-hooks`) and the stored hooks (`wvs-store`): settings
//! read back from the store, secrets converted, and a hook rendered as GitLab's API shows it.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Duration;
use wvs_events::Scope;
use wvs_hooks::{EventFlags, HookSettings, NewHookParts, Secrets};

use wvs_store::{DeliveryLimits, Hook, HookOwner, HookSecrets, RetiredSecret};

use crate::time::iso8601;

/// The scope of a hook's owner.
pub fn scope_of(owner: HookOwner) -> Scope {
    match owner {
        HookOwner::Project(_) => Scope::Project,
        HookOwner::Group(_) => Scope::Group,
        HookOwner::System => Scope::System,
    }
}

/// A stored hook's settings. Settings are written only by this server, so a blob that does
/// not read back is a bug; the hook then behaves as a fresh one of its scope rather than
/// stopping every delivery.
pub fn settings_of(hook: &Hook) -> HookSettings {
    // Read from the JSON in place: routing reads every candidate hook's settings for every
    // event, and `from_value` would want a copy of the whole tree first.
    let mut settings = HookSettings::deserialize(&hook.settings).unwrap_or_else(|error| {
        tracing::error!(hook = hook.id, %error, "unreadable hook settings; using defaults");
        HookSettings::for_scope(scope_of(hook.owner))
    });
    settings.max_in_flight = hook.limits.max_in_flight;
    settings.ordered = hook.limits.ordered;
    settings
}

/// The settings the store keeps in their own columns.
pub fn limits_of(settings: &HookSettings) -> DeliveryLimits {
    DeliveryLimits {
        max_in_flight: settings.max_in_flight,
        ordered: settings.ordered,
    }
}

pub fn to_store(secrets: Secrets) -> HookSecrets {
    HookSecrets {
        token: secrets.token,
        signing_tokens: secrets.signing_tokens,
        custom_headers: secrets.custom_headers,
        url_variables: secrets.url_variables,
        previous_signing_token: None,
    }
}

/// The secrets to store when `new` replaces `old`: a signing secret replaced by another
/// stays for `grace` as the previous one, so deliveries carry both signatures while
/// receivers switch keys. Removing signing ends any grace at once.
pub fn rotate(old: &HookSecrets, mut new: HookSecrets, grace: Duration, now: i64) -> HookSecrets {
    let grace = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    new.previous_signing_token = match (old.signing_tokens.first(), new.signing_tokens.first()) {
        (Some(before), Some(after)) if before != after => Some(RetiredSecret {
            secret: before.clone(),
            until: now.saturating_add(grace),
        }),
        (_, Some(_)) => old
            .previous_signing_token
            .clone()
            .filter(|previous| previous.until > now),
        (_, None) => None,
    };
    new
}

/// The hook as `wvs-hooks` validates changes to it.
pub fn parts_of(hook: &Hook) -> NewHookParts {
    let secrets = &hook.secrets;
    NewHookParts {
        url: hook.url.clone(),
        secrets: Secrets {
            token: secrets.token.clone(),
            signing_tokens: secrets.signing_tokens.clone(),
            custom_headers: secrets.custom_headers.clone(),
            url_variables: secrets.url_variables.clone(),
        },
        settings: settings_of(hook),
    }
}

/// The hook as the API shows it: GitLab's fields, never a secret value (`token_present`,
/// `signing_token_present`, and only the keys of custom headers and URL variables).
pub fn render(hook: &Hook, now: i64, current_limit: u32) -> Value {
    let scope = scope_of(hook.owner);
    let settings = settings_of(hook);
    let mut out = Map::new();
    out.insert("id".into(), json!(hook.id));
    out.insert("url".into(), json!(wvs_send::log_url(&hook.url)));
    out.insert("name".into(), json!(settings.name));
    out.insert("description".into(), json!(settings.description));
    match hook.owner {
        HookOwner::Project(id) => {
            out.insert("project_id".into(), json!(id));
        }
        HookOwner::Group(id) => {
            out.insert("group_id".into(), json!(id));
        }
        HookOwner::System => {}
    }
    out.insert("created_at".into(), json!(iso8601(hook.created_at)));
    for name in EventFlags::names(scope) {
        out.insert(
            (*name).into(),
            json!(settings.events.get(name).unwrap_or(false)),
        );
    }
    if scope != Scope::System {
        out.insert(
            "push_events_branch_filter".into(),
            json!(
                settings
                    .push_events_branch_filter
                    .clone()
                    .unwrap_or_default()
            ),
        );
        out.insert(
            "branch_filter_strategy".into(),
            json!(settings.branch_filter_strategy),
        );
        out.insert(
            "custom_webhook_template".into(),
            json!(settings.custom_webhook_template),
        );
    }
    out.insert(
        "enable_ssl_verification".into(),
        json!(settings.enable_ssl_verification),
    );
    out.insert("flavor".into(), json!(settings.flavor.map(|f| f.as_str())));
    out.insert("max_in_flight".into(), json!(settings.max_in_flight));
    out.insert("ordered".into(), json!(settings.ordered));
    // WVS's own: the deliveries in flight at once now, adapted to the receiver.
    out.insert("current_limit".into(), json!(current_limit));
    out.insert("token_present".into(), json!(hook.secrets.token.is_some()));
    out.insert(
        "signing_token_present".into(),
        json!(!hook.secrets.signing_tokens.is_empty()),
    );
    // WVS's own: while a replaced signing secret still signs too.
    let rotation_ends = hook
        .secrets
        .previous_signing_token
        .as_ref()
        .filter(|previous| previous.until > now)
        .map(|previous| iso8601(previous.until));
    out.insert(
        "signing_token_rotation_ends_at".into(),
        json!(rotation_ends),
    );
    out.insert("custom_headers".into(), keys(&hook.secrets.custom_headers));
    out.insert("url_variables".into(), keys(&hook.secrets.url_variables));
    let (alert_status, disabled_until) = alert_status(hook, now);
    out.insert("alert_status".into(), json!(alert_status));
    out.insert("disabled_until".into(), json!(disabled_until));
    Value::Object(out)
}

fn keys(pairs: &[(String, String)]) -> Value {
    Value::Array(pairs.iter().map(|(key, _)| json!({ "key": key })).collect())
}

/// GitLab's `alert_status` and `disabled_until` from the hook's health.
pub fn alert_status(hook: &Hook, now: i64) -> (&'static str, Option<String>) {
    let health = &hook.health;
    if health.permanently_disabled {
        return ("disabled", None);
    }
    match health.disabled_until {
        Some(until) if until > now => ("temporarily_disabled", Some(iso8601(until))),
        _ => ("executable", None),
    }
}
