//! System hook events: projects, project members, users, SSH keys, groups and repository
//! updates, as the system hook documentation shows them (identified by `event_name`).
//!
//! Across these events the ids, names and paths of what the event is about are required, with
//! `event_name`; owners, emails, visibility and timestamps are optional.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Project};
use crate::Opt;

/// A project created, destroyed or updated (`project_create`, `project_destroy`,
/// `project_update`).
///
/// Required: `event_name`, `name`, `path`, `path_with_namespace` and `project_id`.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub event_name: String,
    pub name: String,
    pub owner_email: Opt<String>,
    pub owner_name: Opt<String>,
    pub path: String,
    pub path_with_namespace: String,
    pub project_id: i64,
    /// `private`, `internal` or `public`.
    pub project_visibility: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A project whose path changed: renamed (`project_rename`) or transferred to another
/// namespace (`project_transfer`). The [`ProjectEvent`] fields plus the old path.
///
/// Required: those of [`ProjectEvent`] and `old_path_with_namespace`, without which a receiver
/// cannot find what it knew under the old path.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectMovedEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub event_name: String,
    pub name: String,
    pub path: String,
    pub path_with_namespace: String,
    pub project_id: i64,
    pub owner_name: Opt<String>,
    pub owner_email: Opt<String>,
    /// `private`, `internal` or `public`.
    pub project_visibility: Opt<String>,
    pub old_path_with_namespace: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user added to a project, removed from it, or whose access level changed
/// (`user_add_to_team`, `user_remove_from_team`, `user_update_for_team`), or who asked for
/// access to it or whose request was withdrawn (`user_access_request_to_project`,
/// `user_access_request_revoked_for_project`).
///
/// Required: `event_name`, and the project's and the user's ids, names and paths: without them
/// a receiver cannot tell who got which access where. The access level is `project_access` in
/// older documents and `access_level` in current ones; either, both or neither is accepted.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMemberEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub event_name: String,
    /// The access level's name: `Guest`, `Reporter`, `Developer`, `Maintainer` (`Master` in
    /// older documents), `Owner`. Older GitLab versions send it under this name.
    pub project_access: Opt<String>,
    /// The same, under the name current GitLab versions send.
    pub access_level: Opt<String>,
    pub project_id: i64,
    pub project_name: String,
    pub project_path: String,
    pub project_path_with_namespace: String,
    pub user_email: Opt<String>,
    /// The user's display name.
    pub user_name: String,
    pub user_username: String,
    pub user_id: i64,
    /// `private`, `internal` or `public`.
    pub project_visibility: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user created or removed (`user_create`, `user_destroy`).
///
/// Required: `event_name`, `name`, `username` and `user_id`.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub email: Opt<String>,
    pub event_name: String,
    /// The user's display name.
    pub name: String,
    pub username: String,
    pub user_id: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A blocked user was refused at sign-in (`user_failed_login`).
///
/// Required: `event_name`, `username` and `user_id`: who tried.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFailedLoginEvent {
    pub event_name: String,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    /// The user's display name.
    pub name: Opt<String>,
    pub email: Opt<String>,
    pub user_id: i64,
    pub username: String,
    /// `blocked`, or `ldap_blocked` for a user blocked through LDAP.
    pub state: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user's username changed (`user_rename`). The [`UserEvent`] fields plus the old username,
/// in the order of GitLab's later system hook documentation.
///
/// Required: those of [`UserEvent`] and `old_username`, without which a receiver cannot find
/// what it knew under the old name.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRenamedEvent {
    pub event_name: String,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    /// The user's display name.
    pub name: String,
    pub email: Opt<String>,
    pub user_id: i64,
    pub username: String,
    pub old_username: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An SSH key added or removed (`key_create`, `key_destroy`).
///
/// Required: `event_name`, `username` (the key's owner), `key` and `id`: a receiver that
/// mirrors keys needs all three.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyEvent {
    pub event_name: String,
    /// Kept as sent: the documents show `2014-08-18 18:45:16 UTC` here, not ISO 8601.
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    /// The username of the key's owner.
    pub username: String,
    /// The public key, in OpenSSH format.
    pub key: String,
    /// The key's id.
    pub id: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group created or removed (`group_create`, `group_destroy`).
///
/// Required: `event_name`, `name`, `path` and `group_id`.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub event_name: String,
    pub name: String,
    pub owner_email: Opt<String>,
    pub owner_name: Opt<String>,
    pub path: String,
    pub group_id: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group whose path changed (`group_rename`), in the shape and order of GitLab's later
/// system hook documentation.
///
/// Required: `event_name`, `name`, `path`, `full_path`, `group_id`, and `old_path` and
/// `old_full_path`, without which a receiver cannot find what it knew under the old path.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRenamedEvent {
    pub event_name: String,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub name: String,
    pub path: String,
    /// The path including the parent groups' paths.
    pub full_path: String,
    pub group_id: i64,
    /// `null` in GitLab's documented example.
    pub owner_name: Opt<String>,
    /// `null` in GitLab's documented example.
    pub owner_email: Opt<String>,
    pub old_path: String,
    pub old_full_path: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Sent once per push with every ref it changed, branches and tags alike
/// (`repository_update`).
///
/// Required: `event_name`, `project_id`, `changes` and `refs`: they say what moved where. The
/// pusher's fields and the `project` block are optional, as in push events.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryUpdateEvent {
    pub event_name: String,
    pub user_id: Opt<i64>,
    pub user_name: Opt<String>,
    pub user_email: Opt<String>,
    pub user_avatar: Opt<String>,
    pub project_id: i64,
    pub project: Opt<Project>,
    /// One entry per changed ref.
    pub changes: Vec<RefChange>,
    /// The full names of the changed refs (`refs/heads/master`).
    pub refs: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One ref moved by a push, as listed in `changes[]` of a repository update.
///
/// Required: all three fields; `before` is all zeros for a new ref and `after` for a deleted
/// one.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefChange {
    pub before: String,
    pub after: String,
    /// The full ref name (`refs/heads/master`, `refs/tags/v1.0`).
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(flatten)]
    pub extra: Extra,
}
