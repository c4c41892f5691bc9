//! [`Trigger`]: why a hook received an event, as GitLab's delivery log names it.

/// The trigger recorded with each delivery (GitLab's `hooks_scope` names, shown in the
/// "Recent events" log and returned by the hook events API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    PushHooks,
    TagPushHooks,
    IssueHooks,
    ConfidentialIssueHooks,
    NoteHooks,
    ConfidentialNoteHooks,
    MergeRequestHooks,
    WikiPageHooks,
    PipelineHooks,
    JobHooks,
    DeploymentHooks,
    FeatureFlagHooks,
    ReleaseHooks,
    EmojiHooks,
    MilestoneHooks,
    ResourceAccessTokenHooks,
    VulnerabilityHooks,
    MemberHooks,
    SubgroupHooks,
    ProjectHooks,
    RepositoryUpdateHooks,
    /// Every delivery to a system hook, whatever its event: GitLab's `SystemHooksService`
    /// logs them all under this one name.
    SystemHooks,
}

impl Trigger {
    /// The log name: `push_hooks`, `confidential_issue_hooks`, `system_hooks`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::PushHooks => "push_hooks",
            Trigger::TagPushHooks => "tag_push_hooks",
            Trigger::IssueHooks => "issue_hooks",
            Trigger::ConfidentialIssueHooks => "confidential_issue_hooks",
            Trigger::NoteHooks => "note_hooks",
            Trigger::ConfidentialNoteHooks => "confidential_note_hooks",
            Trigger::MergeRequestHooks => "merge_request_hooks",
            Trigger::WikiPageHooks => "wiki_page_hooks",
            Trigger::PipelineHooks => "pipeline_hooks",
            Trigger::JobHooks => "job_hooks",
            Trigger::DeploymentHooks => "deployment_hooks",
            Trigger::FeatureFlagHooks => "feature_flag_hooks",
            Trigger::ReleaseHooks => "release_hooks",
            Trigger::EmojiHooks => "emoji_hooks",
            Trigger::MilestoneHooks => "milestone_hooks",
            Trigger::ResourceAccessTokenHooks => "resource_access_token_hooks",
            Trigger::VulnerabilityHooks => "vulnerability_hooks",
            Trigger::MemberHooks => "member_hooks",
            Trigger::SubgroupHooks => "subgroup_hooks",
            Trigger::ProjectHooks => "project_hooks",
            Trigger::RepositoryUpdateHooks => "repository_update_hooks",
            Trigger::SystemHooks => "system_hooks",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
