//! Push and tag push events (project hooks and, without `object_kind`, system hooks).

use serde::{Deserialize, Serialize};

use super::common::{Commit, Extra, Project, Repository};
use crate::Opt;

/// A push to a branch (`Push Hook`) or of a tag (`Tag Push Hook`); system hooks receive the
/// same shape with `event_name` and without `object_kind`.
///
/// Required: `ref`, `before` and `after`: without them a receiver cannot tell what moved.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushEvent {
    pub object_kind: Opt<String>,
    pub event_name: Opt<String>,
    pub before: String,
    pub after: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub ref_protected: Opt<bool>,
    /// `null` when the ref was deleted.
    pub checkout_sha: Opt<String>,
    pub message: Opt<String>,
    pub user_id: Opt<i64>,
    pub user_name: Opt<String>,
    pub user_username: Opt<String>,
    pub user_email: Opt<String>,
    pub user_avatar: Opt<String>,
    pub project_id: Opt<i64>,
    pub project: Opt<Project>,
    /// Deprecated since the 8.5 documents: use `project`.
    pub repository: Opt<Repository>,
    /// The newest 20 commits at most; `total_commits_count` has the real number.
    pub commits: Opt<Vec<Commit>>,
    pub total_commits_count: Opt<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Tag pushes carry exactly the push payload; only the ref namespace and the header differ.
pub type TagPushEvent = PushEvent;
