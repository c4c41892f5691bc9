//! Project-scope events other than pushes: issues, notes, merge requests, wiki pages,
//! pipelines, jobs, deployments, feature flags and releases.
//!
//! Required fields are the ones a receiver cannot act without: the kind, the object's
//! identity (`id`, `iid`), and what happened to it (`action`, `status`, branches, refs).
//! Everything else is an [`Opt`], and unmodelled fields are kept in `extra`.

use serde::{Deserialize, Serialize};
use serde_json::Number;

use super::common::{Commit, Extra, Label, Project, Repository, User};
use crate::Opt;

/// An issue opened, updated, closed or reopened (`Issue Hook`, or `Confidential Issue Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueEvent {
    pub object_kind: String,
    /// `issue` or `confidential_issue`.
    pub event_type: Opt<String>,
    pub user: Opt<User>,
    pub project: Opt<Project>,
    pub object_attributes: IssueAttributes,
    pub repository: Opt<Repository>,
    pub assignees: Opt<Vec<User>>,
    /// Deprecated: the first assignee only.
    pub assignee: Opt<User>,
    pub labels: Opt<Vec<Label>>,
    /// Per changed attribute, its `previous` and `current` values.
    pub changes: Opt<Extra>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl IssueEvent {
    /// Confidential when the sender says so in `event_type` or on the issue itself.
    pub fn is_confidential(&self) -> bool {
        self.event_type.as_deref() == Some("confidential_issue")
            || self.object_attributes.is_confidential()
    }
}

/// An issue, as `object_attributes` of issue events and as `issue` of notes on issues.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueAttributes {
    pub id: i64,
    pub iid: i64,
    pub title: String,
    pub description: Opt<String>,
    pub state: Opt<String>,
    /// `open`, `close`, `reopen` or `update` (issue events only).
    pub action: Opt<String>,
    pub url: Opt<String>,
    pub confidential: Opt<bool>,
    pub author_id: Opt<i64>,
    pub project_id: Opt<i64>,
    pub assignee_ids: Opt<Vec<i64>>,
    /// Deprecated: the first assignee only.
    pub assignee_id: Opt<i64>,
    pub milestone_id: Opt<i64>,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub labels: Opt<Vec<Label>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl IssueAttributes {
    /// Whether the issue is marked confidential.
    pub fn is_confidential(&self) -> bool {
        self.confidential.as_ref() == Some(&true)
    }
}

/// The note itself: `object_attributes` of every comment event.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteAttributes {
    pub id: i64,
    pub note: String,
    /// `Commit`, `MergeRequest`, `Issue` or `Snippet`: which target block the payload has.
    pub noteable_type: String,
    pub noteable_id: Opt<i64>,
    pub author_id: Opt<i64>,
    pub project_id: Opt<i64>,
    pub commit_id: Opt<String>,
    pub line_code: Opt<String>,
    pub system: Opt<bool>,
    /// Internal notes are delivered as confidential notes.
    pub internal: Opt<bool>,
    pub confidential: Opt<bool>,
    pub url: Opt<String>,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Declares the comment event on one kind of target. The four differ only in the name and
/// type of the target block (`commit`, `merge_request`, `issue`, `snippet`).
macro_rules! note_event {
    ($(#[$doc:meta])* $name:ident, $target:ident: $target_ty:ty) => {
        $(#[$doc])*
        #[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            pub object_kind: String,
            /// `note` or `confidential_note`.
            pub event_type: Opt<String>,
            pub user: Opt<User>,
            pub project_id: Opt<i64>,
            pub project: Opt<Project>,
            pub repository: Opt<Repository>,
            pub object_attributes: NoteAttributes,
            pub $target: $target_ty,
            #[serde(flatten)]
            pub extra: Extra,
        }

        impl $name {
            /// Confidential per `event_type`, or an internal or confidential note.
            pub fn is_confidential(&self) -> bool {
                let attributes = &self.object_attributes;
                self.event_type.as_deref() == Some("confidential_note")
                    || attributes.internal.as_ref() == Some(&true)
                    || attributes.confidential.as_ref() == Some(&true)
            }
        }
    };
}

note_event!(
    /// A comment on a commit (`Note Hook`).
    CommitNoteEvent, commit: Commit
);
note_event!(
    /// A comment on a merge request (`Note Hook`).
    MergeRequestNoteEvent, merge_request: MergeRequestAttributes
);
note_event!(
    /// A comment on an issue (`Note Hook`, or `Confidential Note Hook` when the issue is
    /// confidential).
    IssueNoteEvent, issue: IssueAttributes
);
note_event!(
    /// A comment on a code snippet (`Note Hook`).
    SnippetNoteEvent, snippet: Snippet
);

/// The `snippet` block of a note on a snippet.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snippet {
    pub id: i64,
    pub title: String,
    pub content: Opt<String>,
    pub author_id: Opt<i64>,
    pub project_id: Opt<i64>,
    pub file_name: Opt<String>,
    #[serde(rename = "type")]
    pub snippet_type: Opt<String>,
    pub visibility_level: Opt<i64>,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A merge request opened, updated, approved, merged or closed (`Merge Request Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestEvent {
    pub object_kind: String,
    pub event_type: Opt<String>,
    pub user: Opt<User>,
    pub project: Opt<Project>,
    pub repository: Opt<Repository>,
    pub object_attributes: MergeRequestAttributes,
    pub labels: Opt<Vec<Label>>,
    /// Per changed attribute, its `previous` and `current` values.
    pub changes: Opt<Extra>,
    pub assignees: Opt<Vec<User>>,
    pub reviewers: Opt<Vec<User>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A merge request, as `object_attributes` of merge request events and as `merge_request`
/// of notes on merge requests.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestAttributes {
    pub id: i64,
    pub iid: i64,
    pub title: String,
    pub source_branch: String,
    pub target_branch: String,
    pub source_project_id: Opt<i64>,
    pub target_project_id: Opt<i64>,
    pub author_id: Opt<i64>,
    pub assignee_id: Opt<i64>,
    pub description: Opt<String>,
    pub state: Opt<String>,
    pub merge_status: Opt<String>,
    /// `open`, `close`, `reopen`, `update`, `approved`, `unapproved`, `approval`,
    /// `unapproval` or `merge` (merge request events only).
    pub action: Opt<String>,
    pub url: Opt<String>,
    pub work_in_progress: Opt<bool>,
    /// The source and target project blocks.
    pub source: Opt<Extra>,
    pub target: Opt<Extra>,
    pub last_commit: Opt<Commit>,
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A wiki page created, updated or deleted (`Wiki Page Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WikiPageEvent {
    pub object_kind: String,
    pub user: Opt<User>,
    pub project: Opt<Project>,
    pub wiki: Opt<Wiki>,
    pub object_attributes: WikiPageAttributes,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `wiki` block: the wiki's own repository.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wiki {
    pub web_url: String,
    pub git_ssh_url: Opt<String>,
    pub git_http_url: Opt<String>,
    pub path_with_namespace: Opt<String>,
    pub default_branch: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The page of a wiki page event.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WikiPageAttributes {
    pub title: String,
    pub content: Opt<String>,
    pub format: Opt<String>,
    pub message: Opt<String>,
    pub slug: String,
    pub url: Opt<String>,
    /// `create`, `update` or `delete`.
    pub action: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A pipeline's status changed (`Pipeline Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineEvent {
    pub object_kind: String,
    pub object_attributes: PipelineAttributes,
    pub merge_request: Opt<Extra>,
    pub user: Opt<User>,
    pub project: Opt<Project>,
    pub repository: Opt<Repository>,
    pub commit: Opt<Commit>,
    /// The latest jobs of the pipeline.
    pub builds: Opt<Vec<PipelineJob>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The pipeline of a pipeline event.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineAttributes {
    pub id: i64,
    pub iid: Opt<i64>,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub tag: Opt<bool>,
    pub sha: String,
    pub before_sha: Opt<String>,
    pub source: Opt<String>,
    pub status: String,
    pub detailed_status: Opt<String>,
    /// The stage running now (in the proposal's payload).
    pub stage: Opt<String>,
    pub stages: Opt<Vec<String>>,
    pub created_at: Opt<String>,
    pub started_at: Opt<String>,
    pub finished_at: Opt<String>,
    /// Seconds; a sender may give an integer or a fraction.
    pub duration: Opt<Number>,
    pub queued_duration: Opt<Number>,
    pub variables: Opt<Vec<Extra>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A job as listed in `builds[]` of a pipeline event.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineJob {
    pub id: i64,
    pub stage: Opt<String>,
    pub name: String,
    pub status: String,
    pub created_at: Opt<String>,
    pub started_at: Opt<String>,
    pub finished_at: Opt<String>,
    pub duration: Opt<Number>,
    pub queued_duration: Opt<Number>,
    pub failure_reason: Opt<String>,
    pub when: Opt<String>,
    pub manual: Opt<bool>,
    pub allow_failure: Opt<bool>,
    pub user: Opt<User>,
    pub runner: Opt<Runner>,
    pub artifacts_file: Opt<Extra>,
    pub environment: Opt<Extra>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The runner that took a job.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runner {
    pub id: i64,
    pub description: Opt<String>,
    pub active: Opt<bool>,
    pub is_shared: Opt<bool>,
    pub runner_type: Opt<String>,
    pub tags: Opt<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A job's status changed (`Job Hook`; `Build Hook` in the 8.x documents).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    pub object_kind: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub tag: Opt<bool>,
    pub before_sha: Opt<String>,
    pub sha: String,
    pub build_id: i64,
    pub build_name: String,
    pub build_stage: Opt<String>,
    pub build_status: String,
    pub build_created_at: Opt<String>,
    pub build_started_at: Opt<String>,
    pub build_finished_at: Opt<String>,
    pub build_duration: Opt<Number>,
    pub build_queued_duration: Opt<Number>,
    pub build_allow_failure: Opt<bool>,
    pub build_failure_reason: Opt<String>,
    pub pipeline_id: Opt<i64>,
    pub project_id: Opt<i64>,
    pub project_name: Opt<String>,
    pub user: Opt<User>,
    pub commit: Opt<JobCommit>,
    pub repository: Opt<Repository>,
    pub project: Opt<Project>,
    pub runner: Opt<Runner>,
    pub environment: Opt<Extra>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `commit` block of a job event. Its `id` is the pipeline's ID, not the commit's.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCommit {
    /// The pipeline ID.
    pub id: i64,
    pub sha: Opt<String>,
    pub message: Opt<String>,
    pub author_name: Opt<String>,
    pub author_email: Opt<String>,
    pub author_url: Opt<String>,
    pub status: Opt<String>,
    pub duration: Opt<Number>,
    pub started_at: Opt<String>,
    pub finished_at: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A deployment started, succeeded, failed or was canceled (`Deployment Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentEvent {
    pub object_kind: String,
    /// `running`, `success`, `failed` or `canceled`.
    pub status: String,
    pub status_changed_at: Opt<String>,
    pub deployment_id: i64,
    /// The ID of the CI/CD job that deploys.
    pub deployable_id: Opt<i64>,
    pub deployable_url: Opt<String>,
    pub environment: String,
    pub environment_slug: Opt<String>,
    pub environment_external_url: Opt<String>,
    pub project: Opt<Project>,
    pub short_sha: Opt<String>,
    pub user: Opt<User>,
    pub user_url: Opt<String>,
    pub commit_url: Opt<String>,
    pub commit_title: Opt<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A feature flag turned on or off (`Feature Flag Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureFlagEvent {
    pub object_kind: String,
    pub project: Opt<Project>,
    pub user: Opt<User>,
    pub user_url: Opt<String>,
    pub object_attributes: FeatureFlagAttributes,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The flag of a feature flag event.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureFlagAttributes {
    pub id: i64,
    pub name: String,
    pub description: Opt<String>,
    pub active: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A release created or updated (`Release Hook`).
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseEvent {
    pub id: i64,
    pub created_at: Opt<String>,
    pub description: Opt<String>,
    pub name: Opt<String>,
    pub released_at: Opt<String>,
    pub tag: String,
    pub object_kind: String,
    pub project: Opt<Project>,
    pub url: Opt<String>,
    /// `create` or `update`.
    pub action: String,
    /// `count`, `links[]` and `sources[]`.
    pub assets: Opt<Extra>,
    pub commit: Opt<Commit>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An event WVS routes by its kind alone (emoji reactions, milestones, access token expiry,
/// vulnerabilities): `object_kind` is read, and every other field, from any GitLab version,
/// passes through untouched in `extra`, in the order it was sent.
///
/// Required: `object_kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindOnlyEvent {
    pub object_kind: String,
    #[serde(flatten)]
    pub extra: Extra,
}
