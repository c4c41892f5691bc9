//! [`EventFlags`]: which events a hook subscribed to, one GitLab `*_events` flag each, and
//! [`Flag`], the flags as values so that the API renders and parses them generically.

use serde::{Deserialize, Serialize};
use wvs_events::Scope;

use crate::Trigger;

/// Scope membership bits of a flag (a `const`-friendly set of [`Scope`]s).
const PROJECT: u8 = 1;
const GROUP: u8 = 2;
const SYSTEM: u8 = 4;

const fn scope_bit(scope: Scope) -> u8 {
    match scope {
        Scope::Project => PROJECT,
        Scope::Group => GROUP,
        Scope::System => SYSTEM,
    }
}

/// Declares every flag once: its variant, its field (= its API name), the trigger a
/// delivery it causes is logged under, and the hook scopes that have it. `Flag` and
/// `EventFlags` are generated from this one table.
macro_rules! event_flags {
    ($( $variant:ident => $field:ident, $trigger:ident, $scopes:expr; )*) => {
        /// One event flag of a hook.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Flag {
            $( $variant, )*
        }

        impl Flag {
            /// Every flag, in the order the API renders them.
            pub const ALL: &'static [Flag] = &[$(Flag::$variant),*];

            /// The API field name: `push_events`, `merge_requests_events`, ...
            pub const fn name(self) -> &'static str {
                match self { $(Flag::$variant => stringify!($field),)* }
            }

            /// The trigger of a delivery this flag causes to a project or group hook.
            pub fn trigger(self) -> Trigger {
                match self { $(Flag::$variant => Trigger::$trigger,)* }
            }

            const fn scope_bits(self) -> u8 {
                match self { $(Flag::$variant => $scopes,)* }
            }
        }

        /// The event flags of a hook. Stored inside [`HookSettings`](crate::HookSettings);
        /// a flag missing from a stored blob reads as off, as a new GitLab column would.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct EventFlags {
            $( pub $field: bool, )*
        }

        impl EventFlags {
            /// Whether `flag` is on.
            pub fn is_on(&self, flag: Flag) -> bool {
                match flag { $(Flag::$variant => self.$field,)* }
            }

            /// Turns `flag` on or off.
            pub fn turn(&mut self, flag: Flag, on: bool) {
                match flag { $(Flag::$variant => self.$field = on,)* }
            }
        }
    };
}

event_flags! {
    PushEvents => push_events, PushHooks, PROJECT | GROUP | SYSTEM;
    TagPushEvents => tag_push_events, TagPushHooks, PROJECT | GROUP | SYSTEM;
    MergeRequestsEvents => merge_requests_events, MergeRequestHooks, PROJECT | GROUP | SYSTEM;
    IssuesEvents => issues_events, IssueHooks, PROJECT | GROUP;
    ConfidentialIssuesEvents => confidential_issues_events, ConfidentialIssueHooks, PROJECT | GROUP;
    NoteEvents => note_events, NoteHooks, PROJECT | GROUP;
    ConfidentialNoteEvents => confidential_note_events, ConfidentialNoteHooks, PROJECT | GROUP;
    JobEvents => job_events, JobHooks, PROJECT | GROUP;
    PipelineEvents => pipeline_events, PipelineHooks, PROJECT | GROUP;
    WikiPageEvents => wiki_page_events, WikiPageHooks, PROJECT | GROUP;
    DeploymentEvents => deployment_events, DeploymentHooks, PROJECT | GROUP;
    FeatureFlagEvents => feature_flag_events, FeatureFlagHooks, PROJECT | GROUP;
    ReleasesEvents => releases_events, ReleaseHooks, PROJECT | GROUP;
    EmojiEvents => emoji_events, EmojiHooks, PROJECT | GROUP;
    MilestoneEvents => milestone_events, MilestoneHooks, PROJECT | GROUP;
    ResourceAccessTokenEvents => resource_access_token_events, ResourceAccessTokenHooks, PROJECT | GROUP;
    VulnerabilityEvents => vulnerability_events, VulnerabilityHooks, PROJECT | GROUP;
    MemberEvents => member_events, MemberHooks, GROUP;
    SubgroupEvents => subgroup_events, SubgroupHooks, GROUP;
    ProjectEvents => project_events, ProjectHooks, GROUP;
    RepositoryUpdateEvents => repository_update_events, RepositoryUpdateHooks, SYSTEM;
}

impl Flag {
    /// The flag with this API name.
    pub fn from_name(name: &str) -> Option<Flag> {
        Flag::ALL.iter().copied().find(|flag| flag.name() == name)
    }

    /// Whether hooks of `scope` have this flag.
    pub const fn in_scope(self, scope: Scope) -> bool {
        self.scope_bits() & scope_bit(scope) != 0
    }
}

/// How many flags hooks of `scope` have.
const fn count(scope: Scope) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < Flag::ALL.len() {
        if Flag::ALL[i].in_scope(scope) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The names of the flags hooks of `scope` have, in table order. Computed at compile time
/// so that [`EventFlags::names`] can hand out `'static` slices without a second table.
const fn names_of<const N: usize>(scope: Scope) -> [&'static str; N] {
    let mut names = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < Flag::ALL.len() {
        if Flag::ALL[i].in_scope(scope) {
            names[n] = Flag::ALL[i].name();
            n += 1;
        }
        i += 1;
    }
    names
}

const PROJECT_NAMES: [&str; count(Scope::Project)] = names_of(Scope::Project);
const GROUP_NAMES: [&str; count(Scope::Group)] = names_of(Scope::Group);
const SYSTEM_NAMES: [&str; count(Scope::System)] = names_of(Scope::System);

impl EventFlags {
    /// GitLab's defaults for a new hook: project and group hooks listen to pushes only;
    /// system hooks to repository updates only (GitLab's `SystemHook` model turns
    /// `push_events` off and `repository_update_events` on).
    pub fn defaults(scope: Scope) -> EventFlags {
        EventFlags {
            push_events: scope != Scope::System,
            repository_update_events: scope == Scope::System,
            ..EventFlags::default()
        }
    }

    /// The names of the flags hooks of `scope` have: project hooks `push_events` to
    /// `vulnerability_events`; group hooks those and `member_events`, `subgroup_events`,
    /// `project_events`; system
    /// hooks `push_events`, `tag_push_events`, `merge_requests_events`,
    /// `repository_update_events`.
    pub fn names(scope: Scope) -> &'static [&'static str] {
        match scope {
            Scope::Project => &PROJECT_NAMES,
            Scope::Group => &GROUP_NAMES,
            Scope::System => &SYSTEM_NAMES,
        }
    }

    /// The flag called `name`, or `None` for a name that is no flag.
    pub fn get(&self, name: &str) -> Option<bool> {
        Flag::from_name(name).map(|flag| self.is_on(flag))
    }

    /// Sets the flag called `name`; false (and nothing changes) for a name that is no flag.
    pub fn set(&mut self, name: &str, on: bool) -> bool {
        let flag = Flag::from_name(name);
        if let Some(flag) = flag {
            self.turn(flag, on);
        }
        flag.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_have_gitlabs_flags() {
        assert_eq!(EventFlags::names(Scope::Project).len(), 17);
        assert_eq!(
            EventFlags::names(Scope::Project).last(),
            Some(&"vulnerability_events")
        );
        assert_eq!(
            EventFlags::names(Scope::Group),
            [
                EventFlags::names(Scope::Project),
                &["member_events", "subgroup_events", "project_events"]
            ]
            .concat()
        );
        assert_eq!(
            EventFlags::names(Scope::System),
            [
                "push_events",
                "tag_push_events",
                "merge_requests_events",
                "repository_update_events"
            ]
        );
    }

    #[test]
    fn every_field_is_a_flag_and_serializes_under_its_name() {
        let json = serde_json::to_value(EventFlags::default()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let names: Vec<&str> = Flag::ALL.iter().map(|flag| flag.name()).collect();
        assert_eq!(keys, names);
    }

    #[test]
    fn defaults_follow_gitlab() {
        for scope in [Scope::Project, Scope::Group] {
            let flags = EventFlags::defaults(scope);
            let on: Vec<_> = Flag::ALL.iter().filter(|f| flags.is_on(**f)).collect();
            assert_eq!(on, [&Flag::PushEvents], "{scope:?}");
        }
        let system = EventFlags::defaults(Scope::System);
        let on: Vec<_> = Flag::ALL.iter().filter(|f| system.is_on(**f)).collect();
        assert_eq!(on, [&Flag::RepositoryUpdateEvents]);
    }

    #[test]
    fn get_and_set_by_name() {
        let mut flags = EventFlags::default();
        for flag in Flag::ALL {
            assert_eq!(flags.get(flag.name()), Some(false));
            assert!(flags.set(flag.name(), true));
            assert_eq!(flags.get(flag.name()), Some(true));
            assert!(flags.is_on(*flag));
        }
        assert_eq!(flags.get("nope_events"), None);
        assert!(!flags.set("nope_events", true));
    }

    #[test]
    fn a_stored_blob_without_a_flag_reads_it_as_off() {
        let flags: EventFlags = serde_json::from_str(r#"{"push_events": true}"#).unwrap();
        assert!(flags.push_events);
        assert!(!flags.member_events);
    }
}
