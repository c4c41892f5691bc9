//! The documented example payload of every kind, for tests, for `wvs trigger` and for the
//! test button of a hook that has seen no real event yet.
//!
//! The files under `samples/` are copies of the shared fixtures (a test keeps them equal);
//! `user_update_for_team`, `user_rename` and `group_rename`, which the seed documents name
//! but do not show, follow the shape of GitLab's later system hook documentation.

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
    /// The fixture it copies (`webhooks-current/push.json`), if the documents show one.
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
    sample!("push", Push, Project, Some("webhooks-current/push.json")),
    sample!(
        "tag_push",
        TagPush,
        Project,
        Some("webhooks-current/tag_push.json")
    ),
    sample!("issue", Issue, Project, Some("webhooks-current/issue.json")),
    sample!(
        "note_commit",
        CommitNote,
        Project,
        Some("webhooks-current/note-commit.json")
    ),
    sample!(
        "note_merge_request",
        MergeRequestNote,
        Project,
        Some("webhooks-current/note-merge_request.json")
    ),
    sample!(
        "note_issue",
        IssueNote,
        Project,
        Some("webhooks-current/note-issue.json")
    ),
    sample!(
        "note_snippet",
        SnippetNote,
        Project,
        Some("webhooks-current/note-snippet.json")
    ),
    sample!(
        "merge_request",
        MergeRequest,
        Project,
        Some("webhooks-current/merge_request.json")
    ),
    sample!(
        "wiki_page",
        WikiPage,
        Project,
        Some("webhooks-current/wiki_page.json")
    ),
    sample!(
        "pipeline",
        Pipeline,
        Project,
        Some("webhooks-current/pipeline.json")
    ),
    sample!("build", Build, Project, Some("webhooks-current/build.json")),
    sample!(
        "deployment",
        Deployment,
        Project,
        Some("webhooks-current/deployment.json")
    ),
    sample!(
        "feature_flag",
        FeatureFlag,
        Project,
        Some("webhooks-current/feature_flag.json")
    ),
    sample!(
        "release",
        Release,
        Project,
        Some("webhooks-current/release.json")
    ),
    sample!(
        "user_add_to_group",
        UserAddToGroup,
        Group,
        Some("webhooks-current/user_add_to_group.json")
    ),
    sample!(
        "user_update_for_group",
        UserUpdateForGroup,
        Group,
        Some("webhooks-current/user_update_for_group.json")
    ),
    sample!(
        "user_remove_from_group",
        UserRemoveFromGroup,
        Group,
        Some("webhooks-current/user_remove_from_group.json")
    ),
    sample!(
        "subgroup_create",
        SubgroupCreate,
        Group,
        Some("webhooks-current/subgroup_create.json")
    ),
    sample!(
        "subgroup_destroy",
        SubgroupDestroy,
        Group,
        Some("webhooks-current/subgroup_destroy.json")
    ),
    sample!(
        "project_create",
        ProjectCreate,
        System,
        Some("system-hooks/project_create.json")
    ),
    sample!(
        "project_destroy",
        ProjectDestroy,
        System,
        Some("system-hooks/project_destroy.json")
    ),
    sample!(
        "project_rename",
        ProjectRename,
        System,
        Some("system-hooks/project_rename.json")
    ),
    sample!(
        "project_transfer",
        ProjectTransfer,
        System,
        Some("system-hooks/project_transfer.json")
    ),
    sample!(
        "project_update",
        ProjectUpdate,
        System,
        Some("system-hooks/project_update.json")
    ),
    sample!(
        "user_add_to_team",
        UserAddToTeam,
        System,
        Some("system-hooks/user_add_to_team.json")
    ),
    sample!(
        "user_remove_from_team",
        UserRemoveFromTeam,
        System,
        Some("system-hooks/user_remove_from_team.json")
    ),
    sample!("user_update_for_team", UserUpdateForTeam, System, None),
    sample!(
        "user_create",
        UserCreate,
        System,
        Some("system-hooks/user_create.json")
    ),
    sample!(
        "user_destroy",
        UserDestroy,
        System,
        Some("system-hooks/user_destroy.json")
    ),
    sample!("user_rename", UserRename, System, None),
    sample!(
        "key_create",
        KeyCreate,
        System,
        Some("system-hooks/key_create.json")
    ),
    sample!(
        "key_destroy",
        KeyDestroy,
        System,
        Some("system-hooks/key_destroy.json")
    ),
    sample!(
        "group_create",
        GroupCreate,
        System,
        Some("system-hooks/group_create.json")
    ),
    sample!(
        "group_destroy",
        GroupDestroy,
        System,
        Some("system-hooks/group_destroy.json")
    ),
    sample!("group_rename", GroupRename, System, None),
    sample!(
        "system_user_add_to_group",
        UserAddToGroup,
        System,
        Some("system-hooks/user_add_to_group.json")
    ),
    sample!(
        "system_user_remove_from_group",
        UserRemoveFromGroup,
        System,
        Some("system-hooks/user_remove_from_group.json")
    ),
    sample!(
        "system_push",
        Push,
        System,
        Some("system-hooks/system-push.json")
    ),
    sample!(
        "system_tag_push",
        TagPush,
        System,
        Some("system-hooks/system-tag_push.json")
    ),
    sample!(
        "repository_update",
        RepositoryUpdate,
        System,
        Some("system-hooks/repository_update.json")
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
