//! Configuration: command-line flags, then `WVS_*` environment variables, then an optional
//! `wvs.toml`, then defaults, in that order of precedence.
//!
//! One struct, [`ConfigLayer`], is both the clap argument group and the TOML file's shape,
//! so a setting is declared once and every source names it the same way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use wvs_events::Flavor;
use wvs_send::{AllowEntry, OutboundPolicy};
use wvs_store::RateLimit;

use crate::database_url::is_postgres;
use crate::dispatch::auto_disable::AutoDisable;
use crate::dispatch::retry::RetryPolicy;
use crate::http::limits::HttpLimits;

pub mod defaults;

/// Deliveries one namespace may have in flight: its share of the workers, at least one; none
/// (0, no limit) when the share is the whole pool.
fn namespace_in_flight(workers: usize, share: f64) -> u32 {
    if share >= 1.0 {
        return 0;
    }
    // Truncation intended: a share is a floor, never rounded up past it.
    let workers = u32::try_from(workers).unwrap_or(u32::MAX);
    ((f64::from(workers) * share) as u32).max(1)
}

/// One source of settings; every field is optional so that sources can be layered.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigLayer {
    /// Address and port of the API
    #[arg(long, env = "WVS_LISTEN")]
    pub listen: Option<String>,
    /// SQLite file path or `sqlite://` URL, or a `postgres://` URL for several nodes on one
    /// database
    #[arg(long, env = "WVS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL per node (unused with SQLite)
    #[arg(long, env = "WVS_DATABASE_POOL")]
    pub database_pool: Option<u32>,
    /// The admin API token; without it, one is generated on first start and printed once
    #[arg(long, env = "WVS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Header flavor of deliveries: `wvs` (X-WVS-*) or `gitlab` (X-Gitlab-*)
    #[arg(long, env = "WVS_FLAVOR")]
    pub flavor: Option<String>,
    /// This instance's URL, sent as X-WVS-Instance
    #[arg(long, env = "WVS_INSTANCE_URL")]
    pub instance_url: Option<String>,
    /// Timeout of one delivery attempt
    #[arg(long, env = "WVS_DELIVERY_TIMEOUT")]
    pub delivery_timeout: Option<String>,
    /// Run the dispatcher: `false` makes a node that serves the API and ingests but delivers
    /// nothing (other nodes of a shared database deliver)
    #[arg(long, env = "WVS_DELIVER", num_args = 0..=1, default_missing_value = "true")]
    pub deliver: Option<bool>,
    /// Deliveries in flight at once, over all hooks
    #[arg(long, env = "WVS_WORKERS")]
    pub workers: Option<usize>,
    /// The most deliveries of one hook in flight at once while its limit adapts to its
    /// receiver (a hook's own `max_in_flight` caps it lower)
    #[arg(long, env = "WVS_HOOK_CONCURRENCY_CEILING")]
    pub hook_concurrency_ceiling: Option<u32>,
    /// Delays between attempts, comma-separated
    #[arg(long, env = "WVS_RETRY_SCHEDULE")]
    pub retry_schedule: Option<String>,
    /// How long a claimed delivery stays claimed before another node may take it
    #[arg(long, env = "WVS_LEASE")]
    pub lease: Option<String>,
    /// Longest sleep of an idle dispatcher between looks at the store
    #[arg(long, env = "WVS_POLL_INTERVAL")]
    pub poll_interval: Option<String>,
    /// How long the delivery log, and events whose deliveries all settled, are kept; pending
    /// and held deliveries are kept however old
    #[arg(long, env = "WVS_LOG_RETENTION")]
    pub log_retention: Option<String>,
    /// Longest `Retry-After` (of a 429 or 503) honoured
    #[arg(long, env = "WVS_RETRY_AFTER_CAP")]
    pub retry_after_cap: Option<String>,
    /// Deliveries per top-level namespace per rate-limit window, GitLab's `web_hook_calls`;
    /// over it they wait for the next window. 0 = unlimited
    #[arg(long, env = "WVS_WEB_HOOK_CALLS")]
    pub web_hook_calls: Option<u32>,
    /// The rate limit's window
    #[arg(long, env = "WVS_RATE_LIMIT_WINDOW")]
    pub rate_limit_window: Option<String>,
    /// Share of the workers one top-level namespace's deliveries may hold at once, over
    /// every node (at least one worker; the system hooks have a share of their own), so that
    /// one tenant's slow or hung receivers cannot delay the others; 1 = no limit but the
    /// hooks' own
    #[arg(long, env = "WVS_NAMESPACE_SHARE")]
    pub namespace_share: Option<f64>,
    /// First pause of an auto-disabled hook, doubled per further failure
    #[arg(long, env = "WVS_AUTO_DISABLE_BACKOFF")]
    pub auto_disable_backoff: Option<String>,
    /// Longest pause of an auto-disabled hook
    #[arg(long, env = "WVS_AUTO_DISABLE_MAX_BACKOFF")]
    pub auto_disable_max_backoff: Option<String>,
    /// Let project and group hooks reach loopback and private addresses
    #[arg(long, env = "WVS_ALLOW_LOCAL_REQUESTS", num_args = 0..=1, default_missing_value = "true")]
    pub allow_local_requests: Option<bool>,
    /// Let system hooks reach loopback and private addresses
    #[arg(
        long,
        env = "WVS_ALLOW_LOCAL_REQUESTS_FROM_SYSTEM_HOOKS",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub allow_local_requests_from_system_hooks: Option<bool>,
    /// Hosts, IPs and CIDRs hooks may always reach, comma-separated (`*.corp.example`,
    /// `10.0.0.0/8`)
    #[arg(long, env = "WVS_OUTBOUND_ALLOWLIST")]
    pub outbound_allowlist: Option<String>,
    /// Refuse every destination not on the allowlist
    #[arg(
        long,
        env = "WVS_DENY_ALL_REQUESTS_EXCEPT_ALLOWED",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub deny_all_requests_except_allowed: Option<bool>,
    /// Key encrypting hook URLs and secrets at rest, base64 of 32 bytes
    #[arg(long, env = "WVS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// How long a replaced signing secret keeps signing beside the new one
    #[arg(long, env = "WVS_SIGNING_TOKEN_GRACE")]
    pub signing_token_grace: Option<String>,
    /// Hook tests and resends per API token and hook per minute; 0 = unlimited
    #[arg(long, env = "WVS_HOOK_TEST_LIMIT")]
    pub hook_test_limit: Option<u32>,
    /// Branches (or tags) one push may create, update or remove, per action, and still fire
    /// push (tag push) hooks, GitLab's `push_event_hooks_limit`
    #[arg(long, env = "WVS_PUSH_EVENT_HOOKS_LIMIT")]
    pub push_event_hooks_limit: Option<u32>,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept
    #[arg(long, env = "WVS_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<String>,
    /// Time a client has to send a request's body once its headers are in; later, the
    /// request is answered 408 and the connection closed
    #[arg(long, env = "WVS_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<String>,
    /// Connections served at once; past it a new connection is answered 503 and closed
    #[arg(long, env = "WVS_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Send the emails of users and authors in project and group events as `[REDACTED]`, as
    /// GitLab does for emails that are not public
    #[arg(long, env = "WVS_REDACT_EMAILS", num_args = 0..=1, default_missing_value = "true")]
    pub redact_emails: Option<bool>,
}

impl ConfigLayer {
    /// Fills the fields this layer lacks from `lower`.
    fn or(self, lower: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            listen: self.listen.or(lower.listen),
            database_url: self.database_url.or(lower.database_url),
            database_pool: self.database_pool.or(lower.database_pool),
            admin_token: self.admin_token.or(lower.admin_token),
            flavor: self.flavor.or(lower.flavor),
            instance_url: self.instance_url.or(lower.instance_url),
            delivery_timeout: self.delivery_timeout.or(lower.delivery_timeout),
            deliver: self.deliver.or(lower.deliver),
            workers: self.workers.or(lower.workers),
            hook_concurrency_ceiling: self
                .hook_concurrency_ceiling
                .or(lower.hook_concurrency_ceiling),
            retry_schedule: self.retry_schedule.or(lower.retry_schedule),
            lease: self.lease.or(lower.lease),
            poll_interval: self.poll_interval.or(lower.poll_interval),
            log_retention: self.log_retention.or(lower.log_retention),
            retry_after_cap: self.retry_after_cap.or(lower.retry_after_cap),
            web_hook_calls: self.web_hook_calls.or(lower.web_hook_calls),
            rate_limit_window: self.rate_limit_window.or(lower.rate_limit_window),
            namespace_share: self.namespace_share.or(lower.namespace_share),
            auto_disable_backoff: self.auto_disable_backoff.or(lower.auto_disable_backoff),
            auto_disable_max_backoff: self
                .auto_disable_max_backoff
                .or(lower.auto_disable_max_backoff),
            allow_local_requests: self.allow_local_requests.or(lower.allow_local_requests),
            allow_local_requests_from_system_hooks: self
                .allow_local_requests_from_system_hooks
                .or(lower.allow_local_requests_from_system_hooks),
            outbound_allowlist: self.outbound_allowlist.or(lower.outbound_allowlist),
            deny_all_requests_except_allowed: self
                .deny_all_requests_except_allowed
                .or(lower.deny_all_requests_except_allowed),
            hook_test_limit: self.hook_test_limit.or(lower.hook_test_limit),
            redact_emails: self.redact_emails.or(lower.redact_emails),
            push_event_hooks_limit: self.push_event_hooks_limit.or(lower.push_event_hooks_limit),
            signing_token_grace: self.signing_token_grace.or(lower.signing_token_grace),
            secret_key: self.secret_key.or(lower.secret_key),
            header_read_timeout: self.header_read_timeout.or(lower.header_read_timeout),
            body_read_timeout: self.body_read_timeout.or(lower.body_read_timeout),
            max_connections: self.max_connections.or(lower.max_connections),
        }
    }
}

/// A setting that could not be read; names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

/// The resolved configuration of `wvs serve`.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// A `sqlite://` or `postgres://` URL.
    pub database_url: String,
    /// Connections to PostgreSQL per node.
    pub database_pool: u32,
    pub admin_token: Option<String>,
    pub flavor: Flavor,
    pub instance_url: String,
    /// Whether this node runs the dispatcher (false: API and ingest only).
    pub deliver: bool,
    pub delivery: DeliveryConfig,
    /// Where hooks may send (the SSRF guard); the listen address is added once bound.
    pub outbound: OutboundPolicy,
    /// Hook tests and resends per API token and hook per minute (0 = unlimited).
    pub hook_test_limit: u32,
    /// Emails in project and group events are sent as `[REDACTED]`.
    pub redact_emails: bool,
    /// Ref changes of one kind and action one push may have and still fire its hooks.
    pub push_event_hooks_limit: u32,
    /// How long a replaced signing secret keeps signing beside the new one.
    pub signing_token_grace: Duration,
    /// The at-rest key as configured (base64); `None`: the key file.
    pub secret_key: Option<String>,
    /// How long the delivery log and settled events are kept (see [`crate::retention`]).
    pub log_retention: Duration,
    /// What the HTTP server allows a client (timeouts, connections).
    pub http: HttpLimits,
}

/// How the dispatcher works.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub timeout: Duration,
    pub workers: usize,
    /// The most any hook's adaptive limit reaches.
    pub hook_ceiling: u32,
    pub retry: RetryPolicy,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub rate_limit: RateLimit,
    pub auto_disable: AutoDisable,
}

impl Config {
    /// The configuration once the listener is bound to `bound`: without `--instance-url`,
    /// payload URLs are formed from the address WVS actually listens on (the port a `:0`
    /// listen address was given), so that they are never null nor point at port 0.
    pub fn bound_to(mut self, bound: SocketAddr) -> Config {
        if self.instance_url == format!("http://{}", self.listen) {
            self.instance_url = format!("http://{bound}");
        }
        self
    }

    /// Resolves the flags and environment (`cli`) over the TOML file at `file` (or
    /// `./wvs.toml` when it exists) over the defaults.
    pub fn load(cli: ConfigLayer, file: Option<&Path>) -> Result<Config, ConfigError> {
        let default_file = Path::new(defaults::CONFIG_FILE);
        let file_layer = match file {
            Some(path) => read_file(path)?,
            None if default_file.is_file() => read_file(default_file)?,
            None => ConfigLayer::default(),
        };
        Config::resolve(cli.or(file_layer))
    }

    /// Applies defaults and checks every value.
    pub fn resolve(layer: ConfigLayer) -> Result<Config, ConfigError> {
        let listen: SocketAddr = parse(
            "listen",
            layer.listen.as_deref().unwrap_or(defaults::LISTEN),
        )?;
        let flavor: Flavor = parse(
            "flavor",
            layer.flavor.as_deref().unwrap_or(defaults::FLAVOR),
        )?;
        let delivery = delivery_config(&layer)?;
        let http = http_limits(&layer)?;
        let outbound = outbound_policy(&layer)?;
        Ok(Config {
            listen,
            database_url: database_url(layer.database_url.as_deref().unwrap_or(defaults::DATABASE)),
            database_pool: layer
                .database_pool
                .unwrap_or(defaults::DATABASE_POOL)
                .max(2),
            admin_token: layer.admin_token.filter(|token| !token.is_empty()),
            flavor,
            instance_url: layer
                .instance_url
                .unwrap_or_else(|| format!("http://{listen}")),
            deliver: layer.deliver.unwrap_or(defaults::DELIVER),
            delivery,
            outbound,
            hook_test_limit: layer.hook_test_limit.unwrap_or(defaults::HOOK_TEST_LIMIT),
            redact_emails: layer.redact_emails.unwrap_or(defaults::REDACT_EMAILS),
            push_event_hooks_limit: layer
                .push_event_hooks_limit
                .unwrap_or(defaults::PUSH_EVENT_HOOKS_LIMIT),
            signing_token_grace: setting(
                "signing_token_grace",
                &layer.signing_token_grace,
                defaults::SIGNING_TOKEN_GRACE,
            )?,
            secret_key: layer.secret_key.filter(|key| !key.is_empty()),
            log_retention: retention(setting(
                "log_retention",
                &layer.log_retention,
                defaults::LOG_RETENTION,
            )?)?,
            http,
        })
    }
}

fn read_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Toml {
        path: path.to_owned(),
        source,
    })
}

/// A bare path becomes a `sqlite://` URL; a URL (SQLite or PostgreSQL) stays as it is.
pub fn database_url(database: &str) -> String {
    if database.contains("://") || database.starts_with("sqlite:") {
        database.to_owned()
    } else {
        format!("sqlite://{database}")
    }
}

/// The file of a SQLite database URL; `None` for an in-memory database or PostgreSQL.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    if is_postgres(database_url)
        || database_url.contains(":memory:")
        || database_url.contains("mode=memory")
    {
        return None;
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// The dispatcher's settings: workers, limits, retries, leases, rate limits, auto-disable.
fn delivery_config(layer: &ConfigLayer) -> Result<DeliveryConfig, ConfigError> {
    let workers = layer.workers.unwrap_or(defaults::WORKERS);
    if workers == 0 {
        return Err(invalid("workers", "must be at least 1"));
    }
    let hook_ceiling = match layer.hook_concurrency_ceiling {
        Some(0) => return Err(invalid("hook_concurrency_ceiling", "must be at least 1")),
        Some(ceiling) => ceiling,
        None => u32::try_from(workers).unwrap_or(u32::MAX),
    };
    let retry_schedule = layer
        .retry_schedule
        .as_deref()
        .unwrap_or(defaults::RETRY_SCHEDULE)
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| duration("retry_schedule", part))
        .collect::<Result<Vec<_>, _>>()?;
    let rate_limit_window = setting(
        "rate_limit_window",
        &layer.rate_limit_window,
        defaults::RATE_LIMIT_WINDOW,
    )?;
    if rate_limit_window.is_zero() {
        return Err(invalid("rate_limit_window", "must be longer than zero"));
    }
    let namespace_share = layer.namespace_share.unwrap_or(defaults::NAMESPACE_SHARE);
    if !(namespace_share > 0.0 && namespace_share <= 1.0) {
        return Err(invalid(
            "namespace_share",
            "must be more than 0 and at most 1",
        ));
    }
    Ok(DeliveryConfig {
        timeout: setting(
            "delivery_timeout",
            &layer.delivery_timeout,
            defaults::DELIVERY_TIMEOUT,
        )?,
        workers,
        hook_ceiling,
        retry: RetryPolicy {
            schedule: retry_schedule,
            retry_after_cap: setting(
                "retry_after_cap",
                &layer.retry_after_cap,
                defaults::RETRY_AFTER_CAP,
            )?,
        },
        lease: setting("lease", &layer.lease, defaults::LEASE)?,
        poll_interval: setting(
            "poll_interval",
            &layer.poll_interval,
            defaults::POLL_INTERVAL,
        )?,
        rate_limit: RateLimit {
            calls: layer.web_hook_calls.unwrap_or(defaults::WEB_HOOK_CALLS),
            window: rate_limit_window,
            in_flight: namespace_in_flight(workers, namespace_share),
        },
        auto_disable: AutoDisable {
            initial_backoff: setting(
                "auto_disable_backoff",
                &layer.auto_disable_backoff,
                defaults::AUTO_DISABLE_BACKOFF,
            )?,
            max_backoff: setting(
                "auto_disable_max_backoff",
                &layer.auto_disable_max_backoff,
                defaults::AUTO_DISABLE_MAX_BACKOFF,
            )?,
            ..AutoDisable::default()
        },
    })
}

/// What a client of the API is allowed: read timeouts and connections at once.
fn http_limits(layer: &ConfigLayer) -> Result<HttpLimits, ConfigError> {
    let max_connections = layer.max_connections.unwrap_or(defaults::MAX_CONNECTIONS);
    if !(1..=tokio::sync::Semaphore::MAX_PERMITS).contains(&max_connections) {
        return Err(invalid("max_connections", "must be at least 1"));
    }
    Ok(HttpLimits {
        header_read_timeout: positive(setting(
            "header_read_timeout",
            &layer.header_read_timeout,
            defaults::HEADER_READ_TIMEOUT,
        )?)
        .ok_or_else(|| invalid("header_read_timeout", "must be longer than zero"))?,
        body_read_timeout: positive(setting(
            "body_read_timeout",
            &layer.body_read_timeout,
            defaults::BODY_READ_TIMEOUT,
        )?)
        .ok_or_else(|| invalid("body_read_timeout", "must be longer than zero"))?,
        max_connections,
    })
}

/// Where hooks may send: local addresses, the allowlist.
fn outbound_policy(layer: &ConfigLayer) -> Result<OutboundPolicy, ConfigError> {
    let allowlist = layer
        .outbound_allowlist
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<AllowEntry>()
                .map_err(|e| invalid("outbound_allowlist", &e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OutboundPolicy {
        allow_local_requests: layer
            .allow_local_requests
            .unwrap_or(defaults::ALLOW_LOCAL_REQUESTS),
        allow_local_requests_from_system_hooks: layer
            .allow_local_requests_from_system_hooks
            .unwrap_or(defaults::ALLOW_LOCAL_REQUESTS_FROM_SYSTEM_HOOKS),
        allowlist,
        deny_all_requests_except_allowed: layer
            .deny_all_requests_except_allowed
            .unwrap_or(defaults::DENY_ALL_REQUESTS_EXCEPT_ALLOWED),
        own_addresses: Vec::new(),
    })
}

/// A duration setting: its value when given, else its default.
fn setting(
    name: &'static str,
    value: &Option<String>,
    default: &str,
) -> Result<Duration, ConfigError> {
    duration(name, value.as_deref().unwrap_or(default))
}

fn parse<T: std::str::FromStr>(setting: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e: T::Err| invalid(setting, &e.to_string()))
}

fn duration(setting: &'static str, value: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value).map_err(|e| invalid(setting, &format!("`{value}`: {e}")))
}

/// A retention of zero would delete the log as it is written.
fn retention(duration: Duration) -> Result<Duration, ConfigError> {
    positive(duration).ok_or_else(|| invalid("log_retention", "must be longer than 0s"))
}

fn positive(duration: Duration) -> Option<Duration> {
    (!duration.is_zero()).then_some(duration)
}

fn invalid(setting: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        setting,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let cli = ConfigLayer {
            listen: Some("127.0.0.1:9999".into()),
            ..ConfigLayer::default()
        };
        let file: ConfigLayer = toml::from_str(
            "listen = \"0.0.0.0:1\"\nflavor = \"gitlab\"\nretry_schedule = \"1s, 2s\"",
        )
        .unwrap();
        let config = Config::resolve(cli.or(file)).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(config.flavor, Flavor::Gitlab);
        assert_eq!(
            config.delivery.retry.schedule,
            [Duration::from_secs(1), Duration::from_secs(2)]
        );
        assert_eq!(config.delivery.timeout, Duration::from_secs(10));
        assert_eq!(config.database_url, "sqlite://wvs.db");
        assert!(config.deliver);
        assert_eq!(config.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.http.body_read_timeout, Duration::from_secs(60));
        assert_eq!(config.http.max_connections, 1024);
    }

    /// Without `--instance-url`, URLs come from the address bound (a `:0` port resolved);
    /// a configured instance URL is kept.
    #[test]
    fn the_instance_url_defaults_to_the_bound_address() {
        let listen = |instance_url: Option<&str>| ConfigLayer {
            listen: Some("127.0.0.1:0".into()),
            instance_url: instance_url.map(str::to_owned),
            ..ConfigLayer::default()
        };
        let bound: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        let config = Config::resolve(listen(None)).unwrap().bound_to(bound);
        assert_eq!(config.instance_url, "http://127.0.0.1:40123");
        let config = Config::resolve(listen(Some("https://git.example.com")))
            .unwrap()
            .bound_to(bound);
        assert_eq!(config.instance_url, "https://git.example.com");
    }

    #[test]
    fn http_limits_must_let_something_through() {
        for (layer, setting) in [
            (
                ConfigLayer {
                    max_connections: Some(0),
                    ..ConfigLayer::default()
                },
                "max_connections",
            ),
            (
                ConfigLayer {
                    header_read_timeout: Some("0s".into()),
                    ..ConfigLayer::default()
                },
                "header_read_timeout",
            ),
            (
                ConfigLayer {
                    body_read_timeout: Some("0s".into()),
                    ..ConfigLayer::default()
                },
                "body_read_timeout",
            ),
        ] {
            let error = Config::resolve(layer).unwrap_err().to_string();
            assert!(error.starts_with(setting), "{error}");
        }
    }

    #[test]
    fn delivery_can_be_turned_off_in_the_file_and_back_on_by_a_flag() {
        let file: ConfigLayer = toml::from_str("deliver = false").unwrap();
        assert!(!Config::resolve(file.clone()).unwrap().deliver);
        let cli = ConfigLayer {
            deliver: Some(true),
            ..ConfigLayer::default()
        };
        assert!(Config::resolve(cli.or(file)).unwrap().deliver);
    }

    #[test]
    fn log_retention_is_a_week_unless_set_and_never_zero() {
        let default = Config::resolve(ConfigLayer::default()).unwrap();
        assert_eq!(default.log_retention, Duration::from_secs(7 * 24 * 3600));
        let file: ConfigLayer = toml::from_str("log_retention = \"1m\"").unwrap();
        assert_eq!(
            Config::resolve(file).unwrap().log_retention,
            Duration::from_secs(60)
        );
        let zero = ConfigLayer {
            log_retention: Some("0s".into()),
            ..ConfigLayer::default()
        };
        let error = Config::resolve(zero).unwrap_err().to_string();
        assert!(error.starts_with("log_retention"), "{error}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let layer = ConfigLayer {
            delivery_timeout: Some("soon".into()),
            ..ConfigLayer::default()
        };
        let error = Config::resolve(layer).unwrap_err().to_string();
        assert!(error.starts_with("delivery_timeout: `soon`"), "{error}");
        let unknown: Result<ConfigLayer, _> = toml::from_str("listn = \"x\"");
        assert!(unknown.unwrap_err().to_string().contains("listn"));
    }
}
