//! The defaults of `wvs serve`, each written once: [`Config::resolve`](super::Config::resolve)
//! applies them and [`show_in_help`] prints them in `wvs serve --help`, from which
//! `docs/operations.md` is checked by a test.
//!
//! They are not clap `default_value`s on purpose: a clap default would always be present, so
//! a value from `wvs.toml` (which ranks below flags and environment but above the defaults)
//! could never be told from it.

use std::fmt::Display;

/// The settings file read when `--config` names none, if it exists.
pub const CONFIG_FILE: &str = "wvs.toml";
/// Address and port of the API.
pub const LISTEN: &str = "127.0.0.1:8080";
/// The SQLite file, beside the working directory.
pub const DATABASE: &str = "wvs.db";
/// Connections to PostgreSQL per node.
pub const DATABASE_POOL: u32 = 10;
/// The header flavor of deliveries.
pub const FLAVOR: &str = "wvs";
/// What `--instance-url` is when not given: formed from the bound address.
pub const INSTANCE_URL: &str = "http://<listen>";
/// Timeout of one delivery attempt.
pub const DELIVERY_TIMEOUT: &str = "10s";
/// Whether a node runs the dispatcher.
pub const DELIVER: bool = true;
/// Deliveries in flight at once, over all hooks (and the default ceiling of one hook's). A
/// slot is held from the claim to the record: with 64, one busy hook on a 2-core machine
/// stopped at about 9,300 deliveries/s, about 7 ms a slot (BENCHMARKS.md).
pub const WORKERS: usize = 256;
/// The most deliveries of one hook in flight while its limit adapts: the worker count.
pub const HOOK_CONCURRENCY_CEILING: &str = "the workers";
/// Immediately, 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h (about two days in all),
/// then the delivery is marked failed.
pub const RETRY_SCHEDULE: &str = "0s,10s,1m,5m,30m,2h,6h,12h,24h";
/// How long a claim holds before another node may take the delivery.
pub const LEASE: &str = "60s";
/// Longest sleep of an idle dispatcher.
pub const POLL_INTERVAL: &str = "1s";
/// How long the delivery log and settled events are kept (GitLab keeps hook logs 7 days).
pub const LOG_RETENTION: &str = "7d";
/// Longest `Retry-After` honoured.
pub const RETRY_AFTER_CAP: &str = "1h";
/// Deliveries per top-level namespace per window; 0 = unlimited (GitLab's default).
pub const WEB_HOOK_CALLS: u32 = 0;
/// The rate limit's window.
pub const RATE_LIMIT_WINDOW: &str = "1m";
/// The share of the workers one top-level namespace may hold: a quarter.
pub const NAMESPACE_SHARE: f64 = 0.25;
/// First pause of an auto-disabled hook (GitLab's).
pub const AUTO_DISABLE_BACKOFF: &str = "1m";
/// Longest pause of an auto-disabled hook (GitLab's).
pub const AUTO_DISABLE_MAX_BACKOFF: &str = "24h";
/// Project and group hooks may not reach local addresses (GitLab's default).
pub const ALLOW_LOCAL_REQUESTS: bool = false;
/// System hooks may (GitLab's default).
pub const ALLOW_LOCAL_REQUESTS_FROM_SYSTEM_HOOKS: bool = true;
/// Destinations off the allowlist are allowed unless local.
pub const DENY_ALL_REQUESTS_EXCEPT_ALLOWED: bool = false;
/// Where the at-rest key comes from when none is configured.
pub const SECRET_KEY: &str = "the key file wvs.key beside the database, created on first start";
/// How long a replaced signing secret keeps signing beside the new one.
pub const SIGNING_TOKEN_GRACE: &str = "24h";
/// Hook tests and resends per API token and hook per minute (GitLab's).
pub const HOOK_TEST_LIMIT: u32 = 5;
/// GitLab's `push_event_hooks_limit`.
pub const PUSH_EVENT_HOOKS_LIMIT: u32 = 3;
/// Time a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: &str = "10s";
/// Time a client has to send a request's body.
pub const BODY_READ_TIMEOUT: &str = "60s";
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Emails are sent as posted.
pub const REDACT_EMAILS: bool = false;

/// Each setting's default as `--help` shows it, by the setting's argument id (its field
/// name in [`ConfigLayer`](super::ConfigLayer)). Settings without one (the admin token, the
/// allowlist) are absent.
pub fn shown() -> Vec<(&'static str, String)> {
    fn show(id: &'static str, value: impl Display) -> (&'static str, String) {
        (id, value.to_string())
    }
    vec![
        show("listen", LISTEN),
        show("database_url", DATABASE),
        show("database_pool", DATABASE_POOL),
        show("flavor", FLAVOR),
        show("instance_url", INSTANCE_URL),
        show("delivery_timeout", DELIVERY_TIMEOUT),
        show("deliver", DELIVER),
        show("workers", WORKERS),
        show("hook_concurrency_ceiling", HOOK_CONCURRENCY_CEILING),
        show("retry_schedule", RETRY_SCHEDULE),
        show("lease", LEASE),
        show("poll_interval", POLL_INTERVAL),
        show("log_retention", LOG_RETENTION),
        show("retry_after_cap", RETRY_AFTER_CAP),
        show("web_hook_calls", WEB_HOOK_CALLS),
        show("rate_limit_window", RATE_LIMIT_WINDOW),
        show("namespace_share", NAMESPACE_SHARE),
        show("auto_disable_backoff", AUTO_DISABLE_BACKOFF),
        show("auto_disable_max_backoff", AUTO_DISABLE_MAX_BACKOFF),
        show("allow_local_requests", ALLOW_LOCAL_REQUESTS),
        show(
            "allow_local_requests_from_system_hooks",
            ALLOW_LOCAL_REQUESTS_FROM_SYSTEM_HOOKS,
        ),
        show(
            "deny_all_requests_except_allowed",
            DENY_ALL_REQUESTS_EXCEPT_ALLOWED,
        ),
        show("secret_key", SECRET_KEY),
        show("signing_token_grace", SIGNING_TOKEN_GRACE),
        show("hook_test_limit", HOOK_TEST_LIMIT),
        show("push_event_hooks_limit", PUSH_EVENT_HOOKS_LIMIT),
        show("header_read_timeout", HEADER_READ_TIMEOUT),
        show("body_read_timeout", BODY_READ_TIMEOUT),
        show("max_connections", MAX_CONNECTIONS),
        show("redact_emails", REDACT_EMAILS),
    ]
}

/// Appends `[default: ...]` to the help of every setting of `command` (the `serve`
/// subcommand, which flattens [`ConfigLayer`](super::ConfigLayer)) that has a default.
pub fn show_in_help(mut command: clap::Command) -> clap::Command {
    for (id, value) in shown() {
        command = command.mut_arg(id, |arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} [default: {value}]"))
        });
    }
    command
}

#[cfg(test)]
mod tests {
    use clap::Args;

    use super::*;
    use crate::config::ConfigLayer;

    #[test]
    fn every_default_names_a_setting_and_reaches_its_help() {
        let command = show_in_help(ConfigLayer::augment_args(clap::Command::new("serve")));
        for (id, value) in shown() {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .unwrap_or_else(|| panic!("no setting {id}"));
            let help = arg.get_help().unwrap().to_string();
            assert!(help.ends_with(&format!("[default: {value}]")), "{help}");
        }
    }
}
