//! Routing: whether a hook of a scope takes an event ([`wants`]), and which sample a test
//! request names ([`test_kind`]).
//!
//! Which hooks are asked (the project's, its ancestor groups', the system hooks) is the
//! ingest's business; this module answers for one hook.

use wvs_events::{Event, EventKind, Scope};

use crate::{BranchFilter, Flag, HookSettings, Trigger};

/// The trigger under which a hook of `scope` with `settings` receives `event`, or `None`
/// when it does not subscribe to it.
///
/// - Project and group hooks: the kind's flag (the confidential flag alone for a
///   confidential issue or note); group hooks also have the member and subgroup flags.
/// - System hooks: push, tag push, merge request and repository update by their flags;
///   every system event and group membership change always (they have no flag for them; the
///   group hooks' `project_events` is not theirs either); nothing else. Every delivery to a system hook is logged as `system_hooks`.
/// - Pushes (not tag pushes) also pass the hook's branch filter.
pub fn wants(settings: &HookSettings, scope: Scope, event: &Event) -> Option<Trigger> {
    let kind = event.kind();
    let trigger = match (scope, flag_for(kind, event.is_confidential())) {
        // System hooks have no flag for instance events nor for group membership changes:
        // GitLab sends those to every system hook.
        (Scope::System, None) if kind.scope() == Scope::System => Trigger::SystemHooks,
        (Scope::System, Some(Flag::MemberEvents | Flag::ProjectEvents)) => Trigger::SystemHooks,
        // A flag the hook's scope lacks (a project hook's member_events) is off by definition.
        (_, Some(flag)) if flag.in_scope(scope) && settings.events.is_on(flag) => match scope {
            Scope::System => Trigger::SystemHooks,
            Scope::Project | Scope::Group => flag.trigger(),
        },
        _ => return None,
    };
    if let Event::Push(push) = event
        && !BranchFilter::from_settings(settings).matches_ref(&push.git_ref)
    {
        return None;
    }
    Some(trigger)
}

/// The flag that subscribes a hook to events of `kind`; `None` for the system events, which
/// no flag governs.
fn flag_for(kind: EventKind, confidential: bool) -> Option<Flag> {
    use EventKind as K;
    Some(match kind {
        K::Push => Flag::PushEvents,
        K::TagPush => Flag::TagPushEvents,
        K::Issue | K::WorkItem if confidential => Flag::ConfidentialIssuesEvents,
        K::Issue | K::WorkItem => Flag::IssuesEvents,
        K::CommitNote | K::MergeRequestNote | K::IssueNote | K::SnippetNote if confidential => {
            Flag::ConfidentialNoteEvents
        }
        K::CommitNote | K::MergeRequestNote | K::IssueNote | K::SnippetNote => Flag::NoteEvents,
        K::MergeRequest => Flag::MergeRequestsEvents,
        K::WikiPage => Flag::WikiPageEvents,
        K::Pipeline => Flag::PipelineEvents,
        K::Build => Flag::JobEvents,
        K::Deployment => Flag::DeploymentEvents,
        K::FeatureFlag => Flag::FeatureFlagEvents,
        K::Release => Flag::ReleasesEvents,
        K::Emoji => Flag::EmojiEvents,
        K::Milestone => Flag::MilestoneEvents,
        K::AccessToken => Flag::ResourceAccessTokenEvents,
        K::Vulnerability => Flag::VulnerabilityEvents,
        K::UserAddToGroup
        | K::UserUpdateForGroup
        | K::UserRemoveFromGroup
        | K::UserAccessRequestToGroup
        | K::UserAccessRequestDeniedForGroup => Flag::MemberEvents,
        K::SubgroupCreate | K::SubgroupDestroy => Flag::SubgroupEvents,
        // A group's hooks receive these as `Project Hook`; system hooks always (see `wants`).
        K::ProjectCreate | K::ProjectDestroy => Flag::ProjectEvents,
        K::RepositoryUpdate => Flag::RepositoryUpdateEvents,
        K::ProjectRename
        | K::ProjectTransfer
        | K::ProjectUpdate
        | K::UserAddToTeam
        | K::UserRemoveFromTeam
        | K::UserUpdateForTeam
        | K::UserAccessRequestToProject
        | K::UserAccessRequestRevokedForProject
        | K::UserAccessRequestRevokedForGroup
        | K::UserFailedLogin
        | K::UserCreate
        | K::UserDestroy
        | K::UserRename
        | K::KeyCreate
        | K::KeyDestroy
        | K::GroupCreate
        | K::GroupDestroy
        | K::GroupRename => return None,
    })
}

/// The event kind (and whether to make it confidential) that GitLab's test request
/// `POST .../hooks/:id/test/:trigger` sends, `trigger` being a flag name of the hook's scope:
/// `note_events` tests with a comment on an issue, `member_events` with a user added to a
/// group, `subgroup_events` with a subgroup created, `project_events` with a project created.
/// `None` for any other name.
pub fn test_kind(trigger: &str, scope: Scope) -> Option<(EventKind, bool)> {
    let flag = Flag::from_name(trigger).filter(|flag| flag.in_scope(scope))?;
    Some(match flag {
        Flag::PushEvents => (EventKind::Push, false),
        Flag::TagPushEvents => (EventKind::TagPush, false),
        Flag::MergeRequestsEvents => (EventKind::MergeRequest, false),
        Flag::IssuesEvents => (EventKind::Issue, false),
        Flag::ConfidentialIssuesEvents => (EventKind::Issue, true),
        Flag::NoteEvents => (EventKind::IssueNote, false),
        Flag::ConfidentialNoteEvents => (EventKind::IssueNote, true),
        Flag::JobEvents => (EventKind::Build, false),
        Flag::PipelineEvents => (EventKind::Pipeline, false),
        Flag::WikiPageEvents => (EventKind::WikiPage, false),
        Flag::DeploymentEvents => (EventKind::Deployment, false),
        Flag::FeatureFlagEvents => (EventKind::FeatureFlag, false),
        Flag::ReleasesEvents => (EventKind::Release, false),
        Flag::EmojiEvents => (EventKind::Emoji, false),
        Flag::MilestoneEvents => (EventKind::Milestone, false),
        Flag::ResourceAccessTokenEvents => (EventKind::AccessToken, false),
        Flag::VulnerabilityEvents => (EventKind::Vulnerability, false),
        Flag::MemberEvents => (EventKind::UserAddToGroup, false),
        Flag::SubgroupEvents => (EventKind::SubgroupCreate, false),
        Flag::ProjectEvents => (EventKind::ProjectCreate, false),
        Flag::RepositoryUpdateEvents => (EventKind::RepositoryUpdate, false),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use wvs_events::samples;

    use super::*;
    use crate::{BranchFilterStrategy, EventFlags};
    use Trigger as T;

    fn sample(name: &str) -> Event {
        samples::find(name).unwrap().event()
    }

    /// A sample with one top-level field changed.
    fn edited(name: &str, field: &str, value: Value) -> Event {
        let mut json: Value = serde_json::from_str(samples::find(name).unwrap().json).unwrap();
        json[field] = value;
        Event::from_value(json).unwrap()
    }

    fn confidential(name: &str) -> Event {
        let event_type = if name == "issue" {
            "confidential_issue"
        } else {
            "confidential_note"
        };
        let event = edited(name, "event_type", event_type.into());
        assert!(event.is_confidential());
        event
    }

    fn with_flags(flags: &[Flag]) -> HookSettings {
        let mut settings = HookSettings::default();
        for flag in flags {
            settings.events.turn(*flag, true);
        }
        settings
    }

    fn every_flag() -> HookSettings {
        with_flags(Flag::ALL)
    }

    /// What a hook of each scope with every flag on receives, per sample: [project, group,
    /// system].
    const ROUTES: &[(&str, [Option<Trigger>; 3])] = &[
        (
            "push",
            [Some(T::PushHooks), Some(T::PushHooks), Some(T::SystemHooks)],
        ),
        (
            "tag_push",
            [
                Some(T::TagPushHooks),
                Some(T::TagPushHooks),
                Some(T::SystemHooks),
            ],
        ),
        ("issue", [Some(T::IssueHooks), Some(T::IssueHooks), None]),
        (
            "note_commit",
            [Some(T::NoteHooks), Some(T::NoteHooks), None],
        ),
        (
            "note_merge_request",
            [Some(T::NoteHooks), Some(T::NoteHooks), None],
        ),
        ("note_issue", [Some(T::NoteHooks), Some(T::NoteHooks), None]),
        (
            "note_snippet",
            [Some(T::NoteHooks), Some(T::NoteHooks), None],
        ),
        (
            "merge_request",
            [
                Some(T::MergeRequestHooks),
                Some(T::MergeRequestHooks),
                Some(T::SystemHooks),
            ],
        ),
        (
            "wiki_page",
            [Some(T::WikiPageHooks), Some(T::WikiPageHooks), None],
        ),
        (
            "pipeline",
            [Some(T::PipelineHooks), Some(T::PipelineHooks), None],
        ),
        ("build", [Some(T::JobHooks), Some(T::JobHooks), None]),
        (
            "deployment",
            [Some(T::DeploymentHooks), Some(T::DeploymentHooks), None],
        ),
        (
            "feature_flag",
            [Some(T::FeatureFlagHooks), Some(T::FeatureFlagHooks), None],
        ),
        (
            "release",
            [Some(T::ReleaseHooks), Some(T::ReleaseHooks), None],
        ),
        (
            "user_add_to_group",
            [None, Some(T::MemberHooks), Some(T::SystemHooks)],
        ),
        (
            "user_update_for_group",
            [None, Some(T::MemberHooks), Some(T::SystemHooks)],
        ),
        (
            "user_remove_from_group",
            [None, Some(T::MemberHooks), Some(T::SystemHooks)],
        ),
        (
            "work_item",
            [Some(T::IssueHooks), Some(T::IssueHooks), None],
        ),
        ("emoji", [Some(T::EmojiHooks), Some(T::EmojiHooks), None]),
        (
            "milestone",
            [Some(T::MilestoneHooks), Some(T::MilestoneHooks), None],
        ),
        (
            "access_token",
            [
                Some(T::ResourceAccessTokenHooks),
                Some(T::ResourceAccessTokenHooks),
                None,
            ],
        ),
        (
            "group_access_token",
            [
                Some(T::ResourceAccessTokenHooks),
                Some(T::ResourceAccessTokenHooks),
                None,
            ],
        ),
        (
            "vulnerability",
            [
                Some(T::VulnerabilityHooks),
                Some(T::VulnerabilityHooks),
                None,
            ],
        ),
        (
            "user_access_request_to_group",
            [None, Some(T::MemberHooks), Some(T::SystemHooks)],
        ),
        (
            "user_access_request_denied_for_group",
            [None, Some(T::MemberHooks), Some(T::SystemHooks)],
        ),
        (
            "group_project_create",
            [None, Some(T::ProjectHooks), Some(T::SystemHooks)],
        ),
        (
            "group_project_destroy",
            [None, Some(T::ProjectHooks), Some(T::SystemHooks)],
        ),
        ("subgroup_create", [None, Some(T::SubgroupHooks), None]),
        ("subgroup_destroy", [None, Some(T::SubgroupHooks), None]),
        ("repository_update", [None, None, Some(T::SystemHooks)]),
        (
            "system_push",
            [Some(T::PushHooks), Some(T::PushHooks), Some(T::SystemHooks)],
        ),
        (
            "system_tag_push",
            [
                Some(T::TagPushHooks),
                Some(T::TagPushHooks),
                Some(T::SystemHooks),
            ],
        ),
    ];

    #[test]
    fn every_kind_in_every_scope() {
        let settings = every_flag();
        for (name, [project, group, system]) in ROUTES {
            let event = sample(name);
            assert_eq!(
                wants(&settings, Scope::Project, &event),
                *project,
                "{name} to a project hook"
            );
            assert_eq!(
                wants(&settings, Scope::Group, &event),
                *group,
                "{name} to a group hook"
            );
            assert_eq!(
                wants(&settings, Scope::System, &event),
                *system,
                "{name} to a system hook"
            );
        }
    }

    #[test]
    fn system_events_go_to_system_hooks_only_and_always() {
        let system_samples: Vec<_> = samples::all()
            .iter()
            .filter(|sample| {
                sample.kind.scope() == Scope::System && sample.kind != EventKind::RepositoryUpdate
            })
            .collect();
        assert_eq!(system_samples.len(), 22);
        for sample in system_samples {
            let event = sample.event();
            for settings in [every_flag(), HookSettings::default()] {
                // A group's hooks take a project created or destroyed by their own flag.
                let group = (sample.kind.is_project_hook() && settings.events.project_events)
                    .then_some(T::ProjectHooks);
                assert_eq!(
                    wants(&settings, Scope::System, &event),
                    Some(T::SystemHooks),
                    "{}",
                    sample.name
                );
                assert_eq!(
                    wants(&settings, Scope::Project, &event),
                    None,
                    "{}",
                    sample.name
                );
                assert_eq!(
                    wants(&settings, Scope::Group, &event),
                    group,
                    "{}",
                    sample.name
                );
            }
        }
    }

    #[test]
    fn a_hook_without_flags_gets_nothing_but_unflagged_system_events() {
        let settings = HookSettings::default();
        for sample in samples::all() {
            let event = sample.event();
            assert_eq!(
                wants(&settings, Scope::Project, &event),
                None,
                "{}",
                sample.name
            );
            assert_eq!(
                wants(&settings, Scope::Group, &event),
                None,
                "{}",
                sample.name
            );
            let always = sample.kind.scope() == Scope::System
                && sample.kind != EventKind::RepositoryUpdate
                || flag_for(sample.kind, false) == Some(Flag::MemberEvents);
            assert_eq!(
                wants(&settings, Scope::System, &event).is_some(),
                always,
                "{}",
                sample.name
            );
        }
    }

    #[test]
    fn each_flag_alone_selects_its_own_kinds() {
        for flag in Flag::ALL {
            let settings = with_flags(&[*flag]);
            for scope in [Scope::Project, Scope::Group]
                .into_iter()
                .filter(|s| flag.in_scope(*s))
            {
                for (name, _) in ROUTES {
                    let event = sample(name);
                    let expected =
                        (flag_for(event.kind(), false) == Some(*flag)).then(|| flag.trigger());
                    assert_eq!(
                        wants(&settings, scope, &event),
                        expected,
                        "{name} with {}",
                        flag.name()
                    );
                }
            }
        }
    }

    #[test]
    fn system_hooks_follow_their_flags() {
        let push = sample("system_push");
        let update = sample("repository_update");
        assert_eq!(wants(&HookSettings::default(), Scope::System, &push), None);
        assert_eq!(
            wants(&HookSettings::default(), Scope::System, &update),
            None
        );
        let settings = with_flags(&[Flag::PushEvents]);
        assert_eq!(wants(&settings, Scope::System, &push), Some(T::SystemHooks));
        assert_eq!(wants(&settings, Scope::System, &update), None);
        let defaults = HookSettings::for_scope(Scope::System);
        assert_eq!(
            wants(&defaults, Scope::System, &update),
            Some(T::SystemHooks)
        );
        // A flag system hooks lack does not open the door to project events.
        assert_eq!(wants(&every_flag(), Scope::System, &sample("issue")), None);
    }

    #[test]
    fn confidential_issues_need_the_confidential_flag() {
        let secret = confidential("issue");
        let public = sample("issue");
        let issues = with_flags(&[Flag::IssuesEvents]);
        let confidential_issues = with_flags(&[Flag::ConfidentialIssuesEvents]);
        for scope in [Scope::Project, Scope::Group] {
            assert_eq!(wants(&issues, scope, &secret), None);
            assert_eq!(wants(&issues, scope, &public), Some(T::IssueHooks));
            assert_eq!(
                wants(&confidential_issues, scope, &secret),
                Some(T::ConfidentialIssueHooks)
            );
            assert_eq!(wants(&confidential_issues, scope, &public), None);
        }
        assert_eq!(wants(&every_flag(), Scope::System, &secret), None);
    }

    #[test]
    fn confidential_notes_need_the_confidential_flag() {
        let notes = with_flags(&[Flag::NoteEvents]);
        let confidential_notes = with_flags(&[Flag::ConfidentialNoteEvents]);
        for name in [
            "note_issue",
            "note_commit",
            "note_merge_request",
            "note_snippet",
        ] {
            let secret = confidential(name);
            assert_eq!(wants(&notes, Scope::Project, &secret), None, "{name}");
            assert_eq!(
                wants(&confidential_notes, Scope::Project, &secret),
                Some(T::ConfidentialNoteHooks),
                "{name}"
            );
            assert_eq!(
                wants(&confidential_notes, Scope::Project, &sample(name)),
                None,
                "{name}"
            );
        }
    }

    fn filtered(strategy: BranchFilterStrategy, filter: &str) -> HookSettings {
        let mut settings = with_flags(&[Flag::PushEvents, Flag::TagPushEvents]);
        settings.branch_filter_strategy = strategy;
        settings.push_events_branch_filter = Some(filter.to_owned());
        settings
    }

    #[test]
    fn pushes_pass_the_branch_filter() {
        let to = |branch: &str| edited("push", "ref", format!("refs/heads/{branch}").into());
        let wildcard = filtered(BranchFilterStrategy::Wildcard, "feature/*");
        assert_eq!(
            wants(&wildcard, Scope::Project, &to("feature/a/b")),
            Some(T::PushHooks)
        );
        assert_eq!(wants(&wildcard, Scope::Project, &to("master")), None);
        let exact = filtered(BranchFilterStrategy::Wildcard, "master");
        assert_eq!(
            wants(&exact, Scope::Group, &to("master")),
            Some(T::PushHooks)
        );
        assert_eq!(wants(&exact, Scope::Group, &to("master-2")), None);
        let regex = filtered(BranchFilterStrategy::Regex, r"^release-\d+$");
        assert_eq!(
            wants(&regex, Scope::Project, &to("release-7")),
            Some(T::PushHooks)
        );
        assert_eq!(wants(&regex, Scope::Project, &to("release-7-fix")), None);
        let all = filtered(BranchFilterStrategy::AllBranches, "nothing");
        assert_eq!(
            wants(&all, Scope::Project, &to("anything")),
            Some(T::PushHooks)
        );
    }

    #[test]
    fn system_hook_pushes_pass_the_branch_filter_too() {
        let settings = filtered(BranchFilterStrategy::Wildcard, "feature/*");
        assert_eq!(
            wants(&settings, Scope::System, &sample("system_push")),
            None
        );
        let settings = filtered(BranchFilterStrategy::Wildcard, "master");
        assert_eq!(
            wants(&settings, Scope::System, &sample("system_push")),
            Some(T::SystemHooks)
        );
    }

    #[test]
    fn tag_pushes_ignore_the_branch_filter() {
        let settings = filtered(BranchFilterStrategy::Wildcard, "feature/*");
        assert_eq!(
            wants(&settings, Scope::Project, &sample("tag_push")),
            Some(T::TagPushHooks)
        );
        assert_eq!(
            wants(&settings, Scope::System, &sample("system_tag_push")),
            Some(T::SystemHooks)
        );
    }

    #[test]
    fn test_triggers_are_the_scopes_flags() {
        for scope in [Scope::Project, Scope::Group, Scope::System] {
            for flag in Flag::ALL {
                assert_eq!(
                    test_kind(flag.name(), scope).is_some(),
                    EventFlags::names(scope).contains(&flag.name()),
                    "{} for {scope:?}",
                    flag.name()
                );
            }
            assert_eq!(test_kind("push_hooks", scope), None);
        }
        assert_eq!(
            test_kind("confidential_issues_events", Scope::Project),
            Some((EventKind::Issue, true))
        );
        assert_eq!(
            test_kind("note_events", Scope::Group),
            Some((EventKind::IssueNote, false))
        );
        assert_eq!(test_kind("member_events", Scope::Project), None);
        assert_eq!(
            test_kind("repository_update_events", Scope::System),
            Some((EventKind::RepositoryUpdate, false))
        );
    }

    #[test]
    fn a_test_event_reaches_a_hook_with_only_that_flag() {
        for scope in [Scope::Project, Scope::Group, Scope::System] {
            for name in EventFlags::names(scope) {
                let (kind, secret) = test_kind(name, scope).unwrap();
                let sample = samples::for_kind(kind, scope);
                let event = if secret {
                    confidential(sample.name)
                } else {
                    sample.event()
                };
                let mut settings = HookSettings::default();
                assert!(settings.events.set(name, true));
                assert!(
                    wants(&settings, scope, &event).is_some(),
                    "{name} for {scope:?}"
                );
            }
        }
    }
}
