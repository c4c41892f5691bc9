//! Request bodies. The handlers read JSON and form bodies alike (GitLab's clients send
//! both), field by field, so these types describe what they accept rather than parse it;
//! absent fields leave a setting as it is. Clients serialize them as JSON.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::EventFlags;

/// `POST /projects`, `PUT /projects/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ProjectParams {
    /// The project's id in GitLab (chosen by WVS when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The group it belongs to; a transfer on update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<i64>,
    /// The user namespace's path, for a project outside groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `private`, `internal` or `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// 0, 10 or 20 (GitLab's levels); wins over `visibility`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_level: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ssh_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_http_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_config_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// `POST /groups`, `PUT /groups/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct GroupParams {
    /// The group's id in GitLab (chosen by WVS when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The parent group; a move on update (`null` makes it top-level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
}

/// A custom header or URL variable given with its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `POST .../hooks`, `PUT .../hooks/{hook_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct HookParams {
    /// Required on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Sent as `X-Gitlab-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// One `whsec_` secret that signs deliveries; it replaces the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_token: Option<String>,
    /// WVS generates the signing secret, shown once in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_signing_token: Option<bool>,
    /// The `*_events` flags to set.
    #[serde(flatten)]
    pub events: EventFlags,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_events_branch_filter: Option<String>,
    /// `wildcard`, `regex` or `all_branches`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_filter_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ssl_verification: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_webhook_template: Option<String>,
    /// Replaces every custom header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_headers: Option<Vec<KeyValue>>,
    /// Replaces every URL variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_variables: Option<Vec<KeyValue>>,
    /// `gitlab` or `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
}

/// `PUT .../custom_headers/{key}` and `.../url_variables/{key}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ValueParam {
    pub value: String,
}

/// `POST .../hooks/{hook_id}/recover`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RecoverParams {
    /// ISO 8601; every failed delivery when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// A request with no body fields (tests, resends, enabling a hook).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct NoParams {}

/// A GitLab webhook event body (`object_kind` or `event_name` names it), as docs/events.md
/// describes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct EventBody(pub Map<String, Value>);

/// `POST .../access_tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokenParams {
    pub name: String,
    /// GitLab's clients send them; every WVS token has the `api` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// `YYYY-MM-DD`: the token works through that day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST /users`, `PUT /users/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct UserParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /users/{id}/keys`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyParams {
    pub title: String,
    pub key: String,
}

/// `POST .../members`, `PUT .../members/{user_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct MemberParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// 10, 20, 30, 40 or 50 (GitLab's roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_level: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}
