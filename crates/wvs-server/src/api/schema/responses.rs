//! Response bodies. Times are ISO 8601 strings, as GitLab's API writes them.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::EventFlags;

/// Every error, and the answers that carry only a status text (`202 Accepted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    pub message: String,
}

/// `GET /version`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Version {
    pub version: String,
    pub revision: String,
}

/// `GET /-/health` and `GET /-/ready`; `store` is the readiness probe's.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// A project's namespace, as GitLab shows it inside a project.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Namespace {
    pub id: Option<i64>,
    pub name: String,
    pub path: String,
    /// `group` or `user`.
    pub kind: String,
    pub full_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub path_with_namespace: String,
    pub description: Option<String>,
    pub web_url: Option<String>,
    pub avatar_url: Option<String>,
    pub ssh_url_to_repo: Option<String>,
    pub http_url_to_repo: Option<String>,
    pub default_branch: Option<String>,
    pub visibility: String,
    pub ci_config_path: Option<String>,
    pub homepage: Option<String>,
    pub namespace: Namespace,
    pub created_at: String,
    pub last_activity_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub full_path: String,
    /// The ancestors' names and its own, joined by ` / `.
    pub full_name: String,
    pub parent_id: Option<i64>,
    pub description: Option<String>,
    pub visibility: String,
    pub created_at: String,
}

/// A custom header's or URL variable's key; values are never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeyOnly {
    pub key: String,
}

/// Settings only project and group hooks have.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BranchSettings {
    pub push_events_branch_filter: String,
    /// `wildcard`, `regex` or `all_branches`.
    pub branch_filter_strategy: String,
    pub custom_webhook_template: Option<String>,
}

/// A hook as GitLab's API shows it, never a secret value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Hook {
    pub id: i64,
    pub url: String,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    pub created_at: String,
    /// The `*_events` flags of the hook's scope, in GitLab's order.
    #[serde(flatten)]
    pub events: EventFlags,
    #[serde(flatten)]
    pub branch: Option<BranchSettings>,
    pub enable_ssl_verification: bool,
    pub flavor: Option<String>,
    pub max_in_flight: u32,
    pub ordered: bool,
    /// The deliveries in flight at once now, adapted to the receiver (WVS's own).
    pub current_limit: u32,
    pub token_present: bool,
    pub signing_token_present: bool,
    /// While a replaced signing secret still signs too (WVS's own).
    pub signing_token_rotation_ends_at: Option<String>,
    pub custom_headers: Vec<KeyOnly>,
    pub url_variables: Vec<KeyOnly>,
    /// `executable`, `temporarily_disabled` or `disabled`.
    pub alert_status: String,
    pub disabled_until: Option<String>,
    /// The signing secret WVS generated, in the answer to the request that asked for it only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_token: Option<String>,
}

/// `POST .../hooks/{hook_id}/recover`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Recovered {
    pub requeued: u64,
    pub released: bool,
    pub hook: Hook,
}

/// A hook test that reached the receiver.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tested {
    pub message: String,
    pub response_status: u16,
}

/// A resent delivery: the receiver's status, if it answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Resent {
    pub response_status: Option<u16>,
}

/// One row of a hook's delivery log, as GitLab's hook events API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HookEvent {
    pub id: i64,
    pub url: String,
    pub trigger: String,
    pub request_headers: IndexMap<String, String>,
    /// The body sent: JSON, or its text when it is not JSON.
    pub request_data: Value,
    pub response_headers: IndexMap<String, String>,
    pub response_body: String,
    /// The body held bytes that are not text, written `\xNN` (WVS's own).
    pub response_body_binary: bool,
    pub execution_duration: f64,
    /// The status code, or `internal error`.
    pub response_status: String,
    pub internal_error_message: Option<String>,
    /// The delivery waited for its namespace's rate limit before this attempt (WVS's own).
    pub rate_limited: bool,
    pub created_at: String,
}

/// An ingested event: its UUID and how many deliveries it made.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Accepted {
    pub event_uuid: String,
    pub deliveries: u64,
}

/// One event a push produced.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PushedEvent {
    pub event_uuid: String,
    pub kind: String,
    pub deliveries: u64,
    /// The ref it is about; the `repository_update` event has none.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

/// A ref change of a push that sent no event (over `push_event_hooks_limit`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SkippedRef {
    pub kind: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub reason: String,
}

/// `POST /projects/{id}/push`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Pushed {
    pub events: Vec<PushedEvent>,
    pub skipped: Vec<SkippedRef>,
}

/// A project or group access token; `token` only in the answer that created it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AccessToken {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub active: bool,
    pub revoked: bool,
    pub created_at: String,
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub state: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SshKey {
    pub id: i64,
    pub title: String,
    pub key: String,
    pub created_at: String,
}

/// A member of a project or group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub state: String,
    pub access_level: i64,
    pub expires_at: Option<String>,
    pub created_at: String,
}
