//! The records the store takes and returns.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::ids::*;
pub use crate::time::Millis;

/// A page request: 1-based page number and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    /// Rows to skip.
    pub fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }
}

/// One page of results and the total number of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
}

// ---------------------------------------------------------------- registry

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewGroup {
    /// The forge's own id, or `None` to assign one.
    pub id: Option<GroupId>,
    pub name: String,
    pub path: String,
    pub parent_id: Option<GroupId>,
    pub description: Option<String>,
    pub visibility: Option<String>,
}

/// Fields to change; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub path: Option<String>,
    /// `Some(None)` moves the group to the top level.
    pub parent_id: Option<Option<GroupId>>,
    pub description: Option<Option<String>>,
    pub visibility: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub path: String,
    /// Ancestor paths and own path joined by `/`.
    pub full_path: String,
    pub parent_id: Option<GroupId>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The descriptive fields of a project, as its `project` payload block needs them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProjectAttributes {
    pub description: Option<String>,
    pub web_url: Option<String>,
    pub avatar_url: Option<String>,
    pub git_ssh_url: Option<String>,
    pub git_http_url: Option<String>,
    pub visibility_level: Option<i64>,
    pub default_branch: Option<String>,
    pub ci_config_path: Option<String>,
    pub homepage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewProject {
    /// The forge's own id, or `None` to assign one.
    pub id: Option<ProjectId>,
    pub name: String,
    pub path: String,
    /// The group the project lives in; `None` for a user namespace.
    pub namespace_id: Option<GroupId>,
    /// The namespace path when `namespace_id` is `None` (a user's name); ignored otherwise.
    pub namespace_path: Option<String>,
    pub attributes: ProjectAttributes,
}

/// Fields to change; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub path: Option<String>,
    /// `Some(None)` moves the project to the user namespace `namespace_path`.
    pub namespace_id: Option<Option<GroupId>>,
    pub namespace_path: Option<String>,
    pub attributes: Option<ProjectAttributes>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub path: String,
    pub namespace_id: Option<GroupId>,
    /// The namespace's full path (the group's, or the user's name).
    pub namespace_path: String,
    /// `namespace_path/path`.
    pub path_with_namespace: String,
    pub attributes: ProjectAttributes,
    pub created_at: Millis,
    pub updated_at: Millis,
}

// ---------------------------------------------------------------- users and members

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewUser {
    /// The forge's own id, or `None` to assign one.
    pub id: Option<UserId>,
    pub username: String,
    /// The display name.
    pub name: String,
    pub email: String,
}

/// Fields to change; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserUpdate {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub name: String,
    pub email: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewSshKey {
    pub title: String,
    /// The public key, in OpenSSH format.
    pub key: String,
}

/// An SSH key with the user it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SshKey {
    pub id: SshKeyId,
    pub user: User,
    pub title: String,
    pub key: String,
    pub created_at: Millis,
}

/// What a membership is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberOf {
    Project(ProjectId),
    Group(GroupId),
}

/// A membership to create, or (by `user_id`) to change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewMember {
    pub user_id: UserId,
    /// GitLab's access level: 10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner.
    pub access_level: i64,
    /// The last day of the membership (`YYYY-MM-DD`), `None` for no end.
    pub expires_at: Option<String>,
}

/// Fields of a membership to change; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberUpdate {
    pub access_level: Option<i64>,
    /// `Some(None)` removes the end date.
    pub expires_at: Option<Option<String>>,
}

/// A user's membership in a project or group, with the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub of: MemberOf,
    pub user: User,
    pub access_level: i64,
    pub expires_at: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

// ---------------------------------------------------------------- hooks

/// Whom a hook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookOwner {
    Project(ProjectId),
    Group(GroupId),
    System,
}

impl HookOwner {
    /// `project`, `group` or `system`.
    pub fn scope(self) -> &'static str {
        match self {
            HookOwner::Project(_) => "project",
            HookOwner::Group(_) => "group",
            HookOwner::System => "system",
        }
    }
}

/// The secret parts of a hook: write-only through the API, never logged.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HookSecrets {
    pub token: Option<String>,
    /// `whsec_` secrets; the first signs, all are sent (key rotation).
    pub signing_tokens: Vec<String>,
    /// Custom header name → value.
    pub custom_headers: Vec<(String, String)>,
    /// URL variable name → value.
    pub url_variables: Vec<(String, String)>,
    /// The signing secret the current one replaced, still used for a second signature until
    /// its grace period ends, so receivers can switch keys without missing a delivery.
    #[serde(default)]
    pub previous_signing_token: Option<RetiredSecret>,
}

/// A replaced signing secret and the end of its grace period.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredSecret {
    pub secret: String,
    pub until: Millis,
}

impl std::fmt::Debug for HookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookSecrets([REDACTED])")
    }
}

/// A hook's health as the dispatcher tracks it (GitLab's auto-disable fields).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookHealth {
    /// Consecutive failed attempts.
    pub recent_failures: i64,
    /// Times the hook was temporarily disabled in a row.
    pub backoff_count: i64,
    pub disabled_until: Option<Millis>,
    pub permanently_disabled: bool,
}

impl HookHealth {
    /// Whether deliveries may be sent to the hook at `now`.
    pub fn is_executable(&self, now: Millis) -> bool {
        !self.permanently_disabled && self.disabled_until.is_none_or(|until| until <= now)
    }
}

/// What an attempt says about its hook's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEffect {
    /// The receiver answered 2xx: the hook is healthy again.
    Success,
    /// The receiver failed (no answer, an error, a non-2xx status).
    Failure,
    /// Nothing about the receiver was learnt (a failed test, a payload that could not be
    /// sent, a loop stopped before sending).
    Unchanged,
}

/// The auto-disable rule, applied by the store inside the transaction that records the
/// attempt, so that concurrent attempts (and several nodes) see each other's effect. The rule
/// itself belongs to the dispatcher; the store only folds attempts through it.
pub trait HealthRule: Send + Sync {
    /// The hook's health after one attempt with `effect` at `now`.
    fn after(
        &self,
        owner: HookOwner,
        health: &HookHealth,
        effect: HealthEffect,
        now: Millis,
    ) -> HookHealth;
}

/// How a hook's deliveries are paced, enforced by the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryLimits {
    /// Deliveries of this hook in flight at once, over every node.
    pub max_in_flight: u32,
    /// One in flight at a time, in event order; a failed delivery blocks the ones behind it
    /// until it succeeds or is given up.
    pub ordered: bool,
}

impl DeliveryLimits {
    pub const DEFAULT_MAX_IN_FLIGHT: u32 = 4;
}

impl Default for DeliveryLimits {
    fn default() -> Self {
        DeliveryLimits {
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            ordered: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewHook {
    pub owner: HookOwner,
    pub url: String,
    pub secrets: HookSecrets,
    /// Everything else (name, event flags, filters, flavor...), owned by the hooks layer.
    pub settings: Value,
    pub limits: DeliveryLimits,
}

/// The replaceable fields of a hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookChange {
    pub url: String,
    pub secrets: HookSecrets,
    pub settings: Value,
    pub limits: DeliveryLimits,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub id: HookId,
    /// The hook's own identifier (each request's `X-WVS-Webhook-UUID` is new, as GitLab's).
    pub uuid: String,
    pub owner: HookOwner,
    pub url: String,
    pub secrets: HookSecrets,
    pub settings: Value,
    pub limits: DeliveryLimits,
    pub health: HookHealth,
    pub created_at: Millis,
}

// ---------------------------------------------------------------- access tokens

/// An access token to create: its owner (a project, or a group and all beneath it) and the
/// digest of the token (the token itself is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccessToken {
    pub name: String,
    pub owner: HookOwner,
    pub digest: String,
    pub expires_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub id: TokenId,
    pub name: String,
    pub owner: HookOwner,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
}

// ---------------------------------------------------------------- events and deliveries

#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// This event's own id, unique.
    pub uuid: String,
    /// Sent as `X-WVS-Event-UUID`: the event's own uuid, or the one of the event that caused
    /// it (a receiver that calls back into WVS passes it on). Loop protection follows it.
    pub chain_uuid: String,
    /// The event kind's name (`push`, `note_issue`, `project_create`...).
    pub kind: String,
    pub project_id: Option<ProjectId>,
    pub group_id: Option<GroupId>,
    /// The JSON body every delivery sends, stored once.
    pub payload: Vec<u8>,
    /// The ingest `Idempotency-Key`, if the emitter sent one.
    pub idempotency: Option<Idempotency>,
}

/// An ingest `Idempotency-Key` with the SHA-256 (hex) of the body posted under it: a key
/// posted again answers the first event only when the body is the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Idempotency {
    pub key: String,
    pub body_sha256: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub hook_id: HookId,
    /// The event header value for this hook (`Push Hook`, `System Hook`...).
    pub event_header: String,
    /// GitLab's log trigger name (`push_hooks`, `system_hooks`...).
    pub trigger: String,
    /// Stable across retries and resends of this event to this hook.
    pub idempotency_key: String,
    /// The top-level namespace whose rate limit the delivery counts against; `None` for
    /// deliveries that are never rate-limited (system hooks).
    pub rate_key: Option<RateKey>,
}

/// A top-level namespace (a tenant), as the rate limit and the fair share count it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// A top-level group.
    Group(GroupId),
    /// A user namespace, by its path.
    User(String),
}

/// The key as stored (`group:7`, `user:alice`): the limits compare stored keys as text.
impl std::fmt::Display for RateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateKey::Group(id) => write!(f, "group:{id}"),
            RateKey::User(path) => write!(f, "user:{path}"),
        }
    }
}

/// What [`Store::insert_event`](crate::Store::insert_event) did.
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub event_id: EventId,
    /// The event's chain uuid (what receivers see as its uuid).
    pub event_uuid: String,
    pub deliveries: u64,
    /// True when the idempotency key had been seen: nothing new was written.
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: EventId,
    pub uuid: String,
    pub kind: String,
    pub project_id: Option<ProjectId>,
    pub group_id: Option<GroupId>,
    pub payload: Vec<u8>,
    pub created_at: Millis,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub delivery_id: DeliveryId,
    pub hook_id: HookId,
    pub event_id: EventId,
    /// The chain uuid, sent as `X-WVS-Event-UUID`.
    pub event_uuid: String,
    pub event_header: String,
    pub trigger: String,
    pub idempotency_key: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The delivery waited for its namespace's rate limit at least once.
    pub rate_limited: bool,
    /// The event's payload, read once per claim and shared by its deliveries (cloning is a
    /// reference count, not a copy).
    pub payload: bytes::Bytes,
}

/// What each top-level namespace (a tenant) may use. The rate limit (GitLab's
/// `web_hook_calls`): at most `calls` deliveries per `window`; over it, deliveries wait for
/// the next window. The fair share: at most `in_flight` deliveries in flight at once, over
/// every node, so that one tenant's hung receivers cannot hold every worker; the system
/// hooks share one such allowance of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// 0 = unlimited.
    pub calls: u32,
    /// A minute in production.
    pub window: std::time::Duration,
    /// Deliveries in flight per top-level namespace; 0 = no limit but the hooks' own.
    pub in_flight: u32,
}

impl RateLimit {
    pub const UNLIMITED: RateLimit = RateLimit {
        calls: 0,
        window: std::time::Duration::from_secs(60),
        in_flight: 0,
    };
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Due again at this time.
    RetryAt(Millis),
    /// Given up: stays in the log, resendable.
    Failed,
}

/// One attempt, as written to the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The queued delivery this attempt belongs to; `None` for tests and resends.
    pub delivery_id: Option<DeliveryId>,
    pub hook_id: HookId,
    pub event_id: Option<EventId>,
    /// The new state of the delivery (ignored without `delivery_id`).
    pub outcome: Outcome,
    /// What the attempt does to the hook's auto-disable state.
    pub health: HealthEffect,
    /// The delivery had waited for its namespace's rate limit.
    pub rate_limited: bool,
    pub trigger: String,
    /// The URL with credentials and URL variable values masked.
    pub url: String,
    /// Request headers with secrets redacted.
    pub request_headers: Vec<(String, String)>,
    /// The body sent, when it is not the event's stored payload (tests, templates).
    pub request_body: Option<Vec<u8>>,
    /// The HTTP status, or `None` when there was no response.
    pub response_status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    /// The start of the response body as received: any bytes (NUL, invalid UTF-8, binary).
    pub response_body: Vec<u8>,
    /// Seconds.
    pub execution_duration: f64,
    /// Why there was no response (connection refused, timeout...).
    pub internal_error: Option<String>,
    pub created_at: Millis,
}

/// Whether recording `attempts` must wait for the disk: a failure counts towards its hook's
/// auto-disable, and a crash may not forget it. A record of successes only that a crash
/// loses leaves its deliveries pending (SQLite) or in flight (PostgreSQL), and they are
/// sent again: the documented at-least-once window.
pub fn record_is_durable(attempts: &[Attempt]) -> bool {
    attempts.iter().any(|a| a.health == HealthEffect::Failure)
}

/// An attempt read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedAttempt {
    pub id: AttemptId,
    pub hook_id: HookId,
    pub delivery_id: Option<DeliveryId>,
    pub event_id: Option<EventId>,
    pub trigger: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    /// The body that was sent (the event payload when the attempt stored none of its own).
    pub request_body: Vec<u8>,
    pub response_status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    /// As received: any bytes.
    pub response_body: Vec<u8>,
    pub execution_duration: f64,
    pub internal_error: Option<String>,
    pub rate_limited: bool,
    pub created_at: Millis,
}

/// Filter of the delivery log, as GitLab's `status` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    /// One status code.
    Code(u16),
    /// 2xx.
    Successful,
    /// 4xx.
    ClientFailure,
    /// 5xx and attempts without a response.
    ServerFailure,
}

/// Attempts of one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteActivity {
    /// The minute's start (Unix milliseconds).
    pub minute: Millis,
    /// Answered with a 2xx.
    pub succeeded: u64,
    /// Anything else, internal errors included.
    pub failed: u64,
}

/// A hook's attempts over a time span.
#[derive(Debug, Clone, PartialEq)]
pub struct HookTiming {
    pub hook_id: HookId,
    pub attempts: u64,
    /// The mean attempt duration, in seconds.
    pub mean_seconds: f64,
}

/// Recent delivery activity, for the overview.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Activity {
    /// Minutes with attempts, oldest first.
    pub per_minute: Vec<MinuteActivity>,
    /// The hooks with the slowest mean attempt, slowest first.
    pub slowest_hooks: Vec<HookTiming>,
}

/// Hooks per alert status (GitLab's auto-disable states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HookAlertCounts {
    /// Sending as usual.
    pub executable: u64,
    /// Failing: disabled until a backoff ends.
    pub temporarily_disabled: u64,
    /// Disabled until re-enabled by hand.
    pub disabled: u64,
}

/// Deliveries per state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// Where a retention pass over the events goes on from: the last event it looked at (events
/// are looked at oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneCursor {
    pub created_at: Millis,
    pub id: EventId,
}

/// What one batch of retention did to the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunedEvents {
    /// Events deleted, with their payload and deliveries.
    pub deleted: u64,
    /// Where the next batch starts; `None` when no older event is left to look at.
    pub next: Option<PruneCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_key_is_stored_as_its_namespace() {
        assert_eq!(RateKey::Group(GroupId(7)).to_string(), "group:7");
        assert_eq!(RateKey::User("alice".into()).to_string(), "user:alice");
    }
}
