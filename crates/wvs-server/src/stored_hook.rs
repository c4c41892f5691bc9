//! Glue between the hook rules (`wvs-hooks`) and the stored hooks (`wvs-store`): settings
//! read back from the store, secrets converted, and a hook's health as GitLab names it.

use serde::Deserialize;
use std::time::Duration;
use wvs_events::Scope;
use wvs_hooks::{HookSettings, NewHookParts, Secrets};

use wvs_store::{DeliveryLimits, Hook, HookOwner, HookSecrets, Millis, RetiredSecret};

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
        tracing::error!(hook = hook.id.0, %error, "unreadable hook settings; using defaults");
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
pub fn rotate(
    old: &HookSecrets,
    mut new: HookSecrets,
    grace: Duration,
    now: Millis,
) -> HookSecrets {
    new.previous_signing_token = match (old.signing_tokens.first(), new.signing_tokens.first()) {
        (Some(before), Some(after)) if before != after => Some(RetiredSecret {
            secret: before.clone(),
            until: now + grace,
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

/// GitLab's `alert_status` and `disabled_until` from the hook's health.
pub fn alert_status(hook: &Hook, now: Millis) -> (&'static str, Option<String>) {
    let health = &hook.health;
    if health.permanently_disabled {
        return ("disabled", None);
    }
    match health.disabled_until {
        Some(until) if until > now => ("temporarily_disabled", Some(iso8601(until))),
        _ => ("executable", None),
    }
}
