//! The documented example payload of every kind, for tests, for `wvs trigger` and for the
//! test button of a hook that has seen no real event yet.
//!
//! The files under `samples/` are copies of the current GitLab documents' examples
//! (`fixtures/gitlab-17.8/`, and `fixtures/gitlab-18.2/` for what 17.8 does not show; a test
//! keeps them equal), so that what WVS sends itself has today's shape. `work_item`, which the
//! documents describe but do not show, is the issue example as a task.

use crate::{Event, EventKind, Scope};

/// One sample payload and how WVS delivers it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// The name `wvs trigger` takes: the kind's name, or `system_<kind>` for the system hook
    /// variant of a project or group event.
    pub name: &'static str,
    pub kind: EventKind,
    /// The scope of the hooks that receive it, which decides the header.
    pub scope: Scope,
    /// The fixture it copies (`gitlab-17.8/webhook-events/push.json`), if the documents show one.
    pub fixture: Option<&'static str>,
    /// The payload, as in the documents.
    pub json: &'static str,
}

macro_rules! sample {
    ($name:literal, $kind:ident, $scope:ident, $fixture:expr) => {
        Sample {
            name: $name,
            kind: EventKind::$kind,
            scope: Scope::$scope,
            fixture: $fixture,
            json: include_str!(concat!("../samples/", $name, ".json")),
        }
    };
}

const SAMPLES: &[Sample] = &[
    sample!(
        "push",
        Push,
        Project,
        Some("gitlab-17.8/webhook-events/push.json")
    ),
    sample!(
        "tag_push",
        TagPush,
        Project,
        Some("gitlab-17.8/webhook-events/tag_push.json")
    ),
    sample!(
        "issue",
        Issue,
        Project,
        Some("gitlab-17.8/webhook-events/issue.json")
    ),
    sample!(
        "note_commit",
        CommitNote,
        Project,
        Some("gitlab-17.8/webhook-events/note-commit.json")
    ),
    sample!(
        "note_merge_request",
        MergeRequestNote,
        Project,
        Some("gitlab-17.8/webhook-events/note-merge_request.json")
    ),
    sample!(
        "note_issue",
        IssueNote,
        Project,
        Some("gitlab-17.8/webhook-events/note-issue.json")
    ),
    sample!(
        "note_snippet",
        SnippetNote,
        Project,
        Some("gitlab-17.8/webhook-events/note-snippet.json")
    ),
    sample!(
        "merge_request",
        MergeRequest,
        Project,
        Some("gitlab-17.8/webhook-events/merge_request.json")
    ),
    sample!(
        "wiki_page",
        WikiPage,
        Project,
        Some("gitlab-17.8/webhook-events/wiki_page.json")
    ),
    sample!(
        "pipeline",
        Pipeline,
        Project,
        Some("gitlab-17.8/webhook-events/pipeline.json")
    ),
    sample!(
        "build",
        Build,
        Project,
        Some("gitlab-17.8/webhook-events/build.json")
    ),
    sample!(
        "deployment",
        Deployment,
        Project,
        Some("gitlab-17.8/webhook-events/deployment.json")
    ),
    sample!(
        "feature_flag",
        FeatureFlag,
        Project,
        Some("gitlab-17.8/webhook-events/feature_flag.json")
    ),
    sample!(
        "release",
        Release,
        Project,
        Some("gitlab-17.8/webhook-events/release.json")
    ),
    sample!("work_item", WorkItem, Project, None),
    sample!(
        "emoji",
        Emoji,
        Project,
        Some("gitlab-17.8/webhook-events/emoji.json")
    ),
    sample!(
        "milestone",
        Milestone,
        Project,
        Some("gitlab-18.2/webhook-events/milestone.json")
    ),
    sample!(
        "access_token",
        AccessToken,
        Project,
        Some("gitlab-17.8/webhook-events/access_token-project.json")
    ),
    sample!(
        "vulnerability",
        Vulnerability,
        Project,
        Some("gitlab-18.2/webhook-events/vulnerability.json")
    ),
    sample!(
        "user_add_to_group",
        UserAddToGroup,
        Group,
        Some("gitlab-17.8/webhook-events/user_add_to_group.json")
    ),
    sample!(
        "user_update_for_group",
        UserUpdateForGroup,
        Group,
        Some("gitlab-17.8/webhook-events/user_update_for_group.json")
    ),
    sample!(
        "user_remove_from_group",
        UserRemoveFromGroup,
        Group,
        Some("gitlab-17.8/webhook-events/user_remove_from_group.json")
    ),
    sample!(
        "subgroup_create",
        SubgroupCreate,
        Group,
        Some("gitlab-17.8/webhook-events/subgroup_create.json")
    ),
    sample!(
        "subgroup_destroy",
        SubgroupDestroy,
        Group,
        Some("gitlab-17.8/webhook-events/subgroup_destroy.json")
    ),
    sample!(
        "group_access_token",
        AccessToken,
        Group,
        Some("gitlab-17.8/webhook-events/access_token-group.json")
    ),
    sample!(
        "user_access_request_to_group",
        UserAccessRequestToGroup,
        Group,
        Some("gitlab-17.8/webhook-events/user_access_request_to_group.json")
    ),
    sample!(
        "user_access_request_denied_for_group",
        UserAccessRequestDeniedForGroup,
        Group,
        Some("gitlab-17.8/webhook-events/user_access_request_denied_for_group.json")
    ),
    sample!(
        "group_project_create",
        ProjectCreate,
        Group,
        Some("gitlab-17.8/webhook-events/group-project_create.json")
    ),
    sample!(
        "group_project_destroy",
        ProjectDestroy,
        Group,
        Some("gitlab-17.8/webhook-events/group-project_destroy.json")
    ),
    sample!(
        "project_create",
        ProjectCreate,
        System,
        Some("gitlab-17.8/system-hooks/project_create.json")
    ),
    sample!(
        "project_destroy",
        ProjectDestroy,
        System,
        Some("gitlab-17.8/system-hooks/project_destroy.json")
    ),
    sample!(
        "project_rename",
        ProjectRename,
        System,
        Some("gitlab-17.8/system-hooks/project_rename.json")
    ),
    sample!(
        "project_transfer",
        ProjectTransfer,
        System,
        Some("gitlab-17.8/system-hooks/project_transfer.json")
    ),
    sample!(
        "project_update",
        ProjectUpdate,
        System,
        Some("gitlab-17.8/system-hooks/project_update.json")
    ),
    sample!(
        "user_add_to_team",
        UserAddToTeam,
        System,
        Some("gitlab-17.8/system-hooks/user_add_to_team.json")
    ),
    sample!(
        "user_remove_from_team",
        UserRemoveFromTeam,
        System,
        Some("gitlab-17.8/system-hooks/user_remove_from_team.json")
    ),
    sample!(
        "user_update_for_team",
        UserUpdateForTeam,
        System,
        Some("gitlab-17.8/system-hooks/user_update_for_team.json")
    ),
    sample!(
        "user_create",
        UserCreate,
        System,
        Some("gitlab-17.8/system-hooks/user_create.json")
    ),
    sample!(
        "user_destroy",
        UserDestroy,
        System,
        Some("gitlab-17.8/system-hooks/user_destroy.json")
    ),
    sample!(
        "user_rename",
        UserRename,
        System,
        Some("gitlab-17.8/system-hooks/user_rename.json")
    ),
    sample!(
        "key_create",
        KeyCreate,
        System,
        Some("gitlab-17.8/system-hooks/key_create.json")
    ),
    sample!(
        "key_destroy",
        KeyDestroy,
        System,
        Some("gitlab-17.8/system-hooks/key_destroy.json")
    ),
    sample!(
        "group_create",
        GroupCreate,
        System,
        Some("gitlab-17.8/system-hooks/group_create.json")
    ),
    sample!(
        "group_destroy",
        GroupDestroy,
        System,
        Some("gitlab-17.8/system-hooks/group_destroy.json")
    ),
    sample!(
        "group_rename",
        GroupRename,
        System,
        Some("gitlab-17.8/system-hooks/group_rename.json")
    ),
    sample!(
        "system_user_add_to_group",
        UserAddToGroup,
        System,
        Some("gitlab-17.8/system-hooks/user_add_to_group.json")
    ),
    sample!(
        "system_user_remove_from_group",
        UserRemoveFromGroup,
        System,
        Some("gitlab-17.8/system-hooks/user_remove_from_group.json")
    ),
    sample!(
        "system_push",
        Push,
        System,
        Some("gitlab-17.8/system-hooks/system-push.json")
    ),
    sample!(
        "system_tag_push",
        TagPush,
        System,
        Some("gitlab-17.8/system-hooks/system-tag_push.json")
    ),
    sample!(
        "repository_update",
        RepositoryUpdate,
        System,
        Some("gitlab-17.8/system-hooks/repository_update.json")
    ),
    sample!(
        "system_user_update_for_group",
        UserUpdateForGroup,
        System,
        Some("gitlab-17.8/system-hooks/user_update_for_group.json")
    ),
    sample!(
        "system_user_access_request_to_group",
        UserAccessRequestToGroup,
        System,
        Some("gitlab-17.8/system-hooks/user_access_request_to_group.json")
    ),
    sample!(
        "user_access_request_revoked_for_group",
        UserAccessRequestRevokedForGroup,
        System,
        Some("gitlab-17.8/system-hooks/user_access_request_revoked_for_group.json")
    ),
    sample!(
        "user_access_request_to_project",
        UserAccessRequestToProject,
        System,
        Some("gitlab-17.8/system-hooks/user_access_request_to_project.json")
    ),
    sample!(
        "user_access_request_revoked_for_project",
        UserAccessRequestRevokedForProject,
        System,
        Some("gitlab-17.8/system-hooks/user_access_request_revoked_for_project.json")
    ),
    sample!(
        "user_failed_login",
        UserFailedLogin,
        System,
        Some("gitlab-17.8/system-hooks/user_failed_login.json")
    ),
    sample!(
        "system_merge_request",
        MergeRequest,
        System,
        Some("gitlab-17.8/system-hooks/system-merge_request.json")
    ),
];

/// Every sample, project events first, then group and system events.
pub fn all() -> &'static [Sample] {
    SAMPLES
}

/// The sample with this name (`push`, `system_push`, `note_issue`, ...; `job` for `build`).
pub fn find(name: &str) -> Option<&'static Sample> {
    let name = if name == "job" { "build" } else { name };
    SAMPLES.iter().find(|sample| sample.name == name)
}

/// The sample of `kind` as delivered to hooks of `scope`, falling back to the kind's own
/// scope (a system hook tested with `issue` gets the issue sample, with `System Hook`).
pub fn for_kind(kind: EventKind, scope: Scope) -> &'static Sample {
    SAMPLES
        .iter()
        .find(|sample| sample.kind == kind && sample.scope == scope)
        .or_else(|| SAMPLES.iter().find(|sample| sample.kind == kind))
        .expect("every kind has a sample (checked by a test)")
}

impl Sample {
    /// The payload as an event.
    pub fn event(&self) -> Event {
        Event::from_slice(self.json.as_bytes()).expect("every sample parses (checked by a test)")
    }

    /// The event header value a delivery of this sample carries.
    pub fn header(&self) -> &'static str {
        self.event().header_for(self.scope)
    }
}
