//! Blocks shared by many payloads: the project, the deprecated repository, users and commits.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Opt;

/// Fields a type does not model, kept so that a round trip loses nothing.
pub type Extra = Map<String, Value>;

/// The `project` block of project-scope payloads.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: Opt<i64>,
    pub name: String,
    pub description: Opt<String>,
    pub web_url: String,
    pub avatar_url: Opt<String>,
    pub git_ssh_url: Opt<String>,
    pub git_http_url: Opt<String>,
    pub namespace: Opt<String>,
    pub visibility_level: Opt<i64>,
    pub path_with_namespace: String,
    pub default_branch: Opt<String>,
    pub ci_config_path: Opt<String>,
    pub homepage: Opt<String>,
    /// Deprecated alias of `git_ssh_url` or `git_http_url`.
    pub url: Opt<String>,
    /// Deprecated: use `git_ssh_url`.
    pub ssh_url: Opt<String>,
    /// Deprecated: use `git_http_url`.
    pub http_url: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The deprecated `repository` block (replaced by `project` since the 8.5 documents).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    pub url: Opt<String>,
    pub description: Opt<String>,
    pub homepage: Opt<String>,
    pub git_http_url: Opt<String>,
    pub git_ssh_url: Opt<String>,
    pub visibility_level: Opt<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user as embedded in `user`, `assignee`, `assignees[]` and similar blocks.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Opt<i64>,
    pub name: String,
    pub username: Opt<String>,
    pub avatar_url: Opt<String>,
    /// `[REDACTED]` when the user's email is not public.
    pub email: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A commit author (`name` and `email`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub name: String,
    pub email: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Git commit as listed in push payloads and as the `commit` block of notes and pipelines.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// The commit SHA.
    pub id: String,
    pub message: Opt<String>,
    pub title: Opt<String>,
    pub timestamp: Opt<String>,
    pub url: Opt<String>,
    pub author: Opt<Author>,
    pub added: Opt<Vec<String>>,
    pub modified: Opt<Vec<String>>,
    pub removed: Opt<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A label as listed in `labels[]` of issues and merge requests.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub id: Opt<i64>,
    pub title: String,
    pub color: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
