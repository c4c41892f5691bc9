//! The `Event` enum: which kind a payload is, its header value, and lossless (de)serialization.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::ParseError;
use crate::model::{group, project, push, system};

/// The scope of the hook that receives an event. It decides the event header: every delivery
/// to a system hook carries `System Hook`, whatever the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Project,
    Group,
    System,
}

impl Scope {
    /// `project`, `group` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Project => "project",
            Scope::Group => "group",
            Scope::System => "system",
        }
    }
}

/// The header value of every delivery to a system hook.
pub const SYSTEM_HOOK: &str = "System Hook";
/// The header value of an issue event whose issue is confidential.
pub const CONFIDENTIAL_ISSUE_HOOK: &str = "Confidential Issue Hook";
/// The header value of a note event on a confidential issue (or an internal note).
pub const CONFIDENTIAL_NOTE_HOOK: &str = "Confidential Note Hook";
/// The name the 8.x documents gave to `Job Hook`; still accepted from senders.
pub const LEGACY_BUILD_HOOK: &str = "Build Hook";
/// The header value of a project created or destroyed, as delivered to a group's hooks.
pub const PROJECT_HOOK: &str = "Project Hook";

/// Declares every event kind once: its variant and payload type, its name (the
/// `object_kind` / `event_name` value, or `note_<target>` for notes), its event header value
/// and the scope it belongs to. `EventKind` and `Event` are generated from this one table.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal, $header:literal, $scope:ident; )*) => {
        /// The kind of an event, without its payload.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EventKind {
            /// Every kind, in the order of the documents.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The kind's name: the `object_kind` or `event_name` value (`push`, `build`,
            /// `project_create`, ...), or `note_commit`, `note_merge_request`, `note_issue`,
            /// `note_snippet` for the four note targets.
            pub fn name(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// The event header value of a delivery to a hook of the kind's own scope
            /// (`Push Hook`, `Job Hook`, `Member Hook`, `System Hook`, ...).
            pub fn header(self) -> &'static str {
                match self { $(EventKind::$variant => $header,)* }
            }

            /// The scope the kind belongs to (push events also go to system hooks: that is
            /// routing, not the kind's scope).
            pub fn scope(self) -> Scope {
                match self { $(EventKind::$variant => Scope::$scope,)* }
            }
        }

        /// A parsed webhook payload, one variant per kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Event {
            /// The kind of this event.
            pub fn kind(&self) -> EventKind {
                match self { $(Event::$variant(_) => EventKind::$variant,)* }
            }

            /// Reads `value` as an event of `kind`.
            pub fn from_value_as(kind: EventKind, value: Value) -> Result<Event, ParseError> {
                match kind { $(EventKind::$variant => decode(kind, value).map(Event::$variant),)* }
            }

            /// Reads `body` as an event of `kind` straight from its JSON; `None` if it is not
            /// one (see [`Event::from_slice`]).
            fn from_slice_as(kind: EventKind, body: &[u8]) -> Option<Event> {
                match kind { $(EventKind::$variant => serde_json::from_slice(body).ok().map(Event::$variant),)* }
            }
        }

        impl Serialize for Event {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $(Event::$variant(e) => e.serialize(serializer),)* }
            }
        }
    };
}

events! {
    /// A push to a branch.
    Push(push::PushEvent) = "push", "Push Hook", Project;
    /// A tag created or deleted.
    TagPush(push::TagPushEvent) = "tag_push", "Tag Push Hook", Project;
    /// An issue opened, updated, closed or reopened.
    Issue(project::IssueEvent) = "issue", "Issue Hook", Project;
    /// A comment on a commit.
    CommitNote(project::CommitNoteEvent) = "note_commit", "Note Hook", Project;
    /// A comment on a merge request.
    MergeRequestNote(project::MergeRequestNoteEvent) = "note_merge_request", "Note Hook", Project;
    /// A comment on an issue.
    IssueNote(project::IssueNoteEvent) = "note_issue", "Note Hook", Project;
    /// A comment on a code snippet.
    SnippetNote(project::SnippetNoteEvent) = "note_snippet", "Note Hook", Project;
    /// A merge request opened, updated, approved, merged or closed.
    MergeRequest(project::MergeRequestEvent) = "merge_request", "Merge Request Hook", Project;
    /// A wiki page created, updated or deleted.
    WikiPage(project::WikiPageEvent) = "wiki_page", "Wiki Page Hook", Project;
    /// A pipeline's status changed.
    Pipeline(project::PipelineEvent) = "pipeline", "Pipeline Hook", Project;
    /// A job's (formerly build's) status changed.
    Build(project::JobEvent) = "build", "Job Hook", Project;
    /// A deployment started, succeeded, failed or was canceled.
    Deployment(project::DeploymentEvent) = "deployment", "Deployment Hook", Project;
    /// A feature flag turned on or off.
    FeatureFlag(project::FeatureFlagEvent) = "feature_flag", "Feature Flag Hook", Project;
    /// A release created or updated.
    Release(project::ReleaseEvent) = "release", "Release Hook", Project;
    /// A work item other than an issue (task, epic, incident, ...) created, updated, closed or
    /// reopened; delivered as issues are.
    WorkItem(project::IssueEvent) = "work_item", "Issue Hook", Project;
    /// An emoji reaction awarded or revoked.
    Emoji(project::KindOnlyEvent) = "emoji", "Emoji Hook", Project;
    /// A milestone created, closed, reopened or deleted.
    Milestone(project::KindOnlyEvent) = "milestone", "Milestone Hook", Project;
    /// A project or group access token about to expire.
    AccessToken(project::KindOnlyEvent) = "access_token", "Resource Access Token Hook", Project;
    /// A vulnerability created or updated, or an issue linked to it.
    Vulnerability(project::KindOnlyEvent) = "vulnerability", "Vulnerability Hook", Project;
    /// A user added to a group.
    UserAddToGroup(group::MemberEvent) = "user_add_to_group", "Member Hook", Group;
    /// A group member's access level or expiry changed.
    UserUpdateForGroup(group::MemberEvent) = "user_update_for_group", "Member Hook", Group;
    /// A user removed from a group.
    UserRemoveFromGroup(group::MemberEvent) = "user_remove_from_group", "Member Hook", Group;
    /// A user asked for access to a group.
    UserAccessRequestToGroup(group::MemberEvent) = "user_access_request_to_group", "Member Hook", Group;
    /// A user's request for access to a group was denied.
    UserAccessRequestDeniedForGroup(group::MemberEvent) = "user_access_request_denied_for_group", "Member Hook", Group;
    /// A subgroup created in a group.
    SubgroupCreate(group::SubgroupEvent) = "subgroup_create", "Subgroup Hook", Group;
    /// A subgroup removed from a group.
    SubgroupDestroy(group::SubgroupEvent) = "subgroup_destroy", "Subgroup Hook", Group;
    /// A project created.
    ProjectCreate(system::ProjectEvent) = "project_create", "System Hook", System;
    /// A project destroyed.
    ProjectDestroy(system::ProjectEvent) = "project_destroy", "System Hook", System;
    /// A project renamed (its path changed).
    ProjectRename(system::ProjectMovedEvent) = "project_rename", "System Hook", System;
    /// A project transferred to another namespace.
    ProjectTransfer(system::ProjectMovedEvent) = "project_transfer", "System Hook", System;
    /// A project's settings updated.
    ProjectUpdate(system::ProjectEvent) = "project_update", "System Hook", System;
    /// A user added to a project.
    UserAddToTeam(system::TeamMemberEvent) = "user_add_to_team", "System Hook", System;
    /// A user removed from a project.
    UserRemoveFromTeam(system::TeamMemberEvent) = "user_remove_from_team", "System Hook", System;
    /// A project member's access level changed.
    UserUpdateForTeam(system::TeamMemberEvent) = "user_update_for_team", "System Hook", System;
    /// A user asked for access to a project.
    UserAccessRequestToProject(system::TeamMemberEvent) = "user_access_request_to_project", "System Hook", System;
    /// A user's request for access to a project was withdrawn.
    UserAccessRequestRevokedForProject(system::TeamMemberEvent) = "user_access_request_revoked_for_project", "System Hook", System;
    /// A user's request for access to a group was withdrawn.
    UserAccessRequestRevokedForGroup(group::MemberEvent) = "user_access_request_revoked_for_group", "System Hook", System;
    /// A user created.
    UserCreate(system::UserEvent) = "user_create", "System Hook", System;
    /// A user removed.
    UserDestroy(system::UserEvent) = "user_destroy", "System Hook", System;
    /// A blocked user refused at sign-in.
    UserFailedLogin(system::UserFailedLoginEvent) = "user_failed_login", "System Hook", System;
    /// A user's username changed.
    UserRename(system::UserRenamedEvent) = "user_rename", "System Hook", System;
    /// An SSH key added.
    KeyCreate(system::KeyEvent) = "key_create", "System Hook", System;
    /// An SSH key removed.
    KeyDestroy(system::KeyEvent) = "key_destroy", "System Hook", System;
    /// A group created.
    GroupCreate(system::GroupEvent) = "group_create", "System Hook", System;
    /// A group removed.
    GroupDestroy(system::GroupEvent) = "group_destroy", "System Hook", System;
    /// A group renamed (its path changed).
    GroupRename(system::GroupRenamedEvent) = "group_rename", "System Hook", System;
    /// Once per push, with every ref it changed.
    RepositoryUpdate(system::RepositoryUpdateEvent) = "repository_update", "System Hook", System;
}

impl EventKind {
    /// The kind with this name (see [`EventKind::name`]); `job` is accepted for `build`.
    pub fn from_name(name: &str) -> Option<EventKind> {
        let name = if name == "job" { "build" } else { name };
        EventKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// True for the four note kinds.
    pub fn is_note(self) -> bool {
        matches!(
            self,
            EventKind::CommitNote
                | EventKind::MergeRequestNote
                | EventKind::IssueNote
                | EventKind::SnippetNote
        )
    }

    /// True for issues and the other work items, which are delivered alike.
    pub fn is_issue_like(self) -> bool {
        matches!(self, EventKind::Issue | EventKind::WorkItem)
    }

    /// True for the project events a group's hooks receive as `Project Hook`.
    pub fn is_project_hook(self) -> bool {
        matches!(self, EventKind::ProjectCreate | EventKind::ProjectDestroy)
    }

    /// Whether a sender's header value fits this kind: its own header, the confidential
    /// variant, `System Hook`, or the legacy `Build Hook` for jobs.
    pub fn accepts_header(self, header: &str) -> bool {
        header == self.header()
            || header == SYSTEM_HOOK
            || (self.is_issue_like() && header == CONFIDENTIAL_ISSUE_HOOK)
            || (self.is_project_hook() && header == PROJECT_HOOK)
            || (self.is_note() && header == CONFIDENTIAL_NOTE_HOOK)
            || (self == EventKind::Build && header == LEGACY_BUILD_HOOK)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Event {
    /// Parses a JSON body, telling the kind from `object_kind` / `event_name` (and
    /// `object_attributes.noteable_type` for notes).
    pub fn from_slice(body: &[u8]) -> Result<Event, ParseError> {
        if let Some(event) = Event::from_slice_directly(body) {
            return Ok(event);
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| ParseError::json(&e))?;
        Event::from_value(value)
    }

    /// The common body parsed without building a JSON value first (a third of the parse's
    /// time, all allocation): its names are read in one pass, its type in a second. `None`
    /// for anything unusual (a name of the wrong type, a field that does not fit, a key given
    /// twice, bad JSON): going through a JSON value then tells exactly what is wrong, and
    /// decides as it always did.
    fn from_slice_directly(body: &[u8]) -> Option<Event> {
        let names: Names<'_> = serde_json::from_slice(body).ok()?;
        let object_kind = match names.object_kind {
            Some(Some(name)) => Some(name),
            Some(None) => return None,
            None => None,
        };
        let kind = match named_kind(object_kind, names.event_name).ok()? {
            Named::Kind(kind) => kind,
            Named::Note => noteable_kind(names.object_attributes?.noteable_type?).ok()?,
        };
        Event::from_slice_as(kind, body)
    }

    /// Reads a JSON value as an event, telling the kind from its fields.
    pub fn from_value(value: Value) -> Result<Event, ParseError> {
        let Value::Object(map) = &value else {
            return Err(ParseError::NotAnObject);
        };
        let kind = detect_kind(map)?;
        Event::from_value_as(kind, value)
    }

    /// The event as a JSON value: every field that was parsed, modelled or not.
    pub fn to_value(&self) -> Value {
        // Serializing these types cannot fail: they hold only JSON-representable data.
        serde_json::to_value(self).expect("an event always serializes to JSON")
    }

    /// The event as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event always serializes to JSON")
    }

    /// Whether the event concerns a confidential issue (or is an internal note): such events
    /// go only to hooks that subscribed to the confidential variants.
    pub fn is_confidential(&self) -> bool {
        match self {
            Event::Issue(e) | Event::WorkItem(e) => e.is_confidential(),
            Event::CommitNote(e) => e.is_confidential(),
            Event::MergeRequestNote(e) => e.is_confidential(),
            Event::SnippetNote(e) => e.is_confidential(),
            Event::IssueNote(e) => e.is_confidential() || e.issue.is_confidential(),
            _ => false,
        }
    }

    /// The event header value for a delivery to a hook of the event's own scope, taking
    /// confidentiality into account (`Confidential Issue Hook`, `Confidential Note Hook`).
    pub fn header(&self) -> &'static str {
        let kind = self.kind();
        match (kind, self.is_confidential()) {
            (k, true) if k.is_issue_like() => CONFIDENTIAL_ISSUE_HOOK,
            (k, true) if k.is_note() => CONFIDENTIAL_NOTE_HOOK,
            (k, _) => k.header(),
        }
    }

    /// The event header value for a delivery to a hook of `scope`: `System Hook` for system
    /// hooks, `Project Hook` for a project created or destroyed as a group's hooks receive it,
    /// [`Event::header`] otherwise.
    pub fn header_for(&self, scope: Scope) -> &'static str {
        match scope {
            Scope::System => SYSTEM_HOOK,
            Scope::Group if self.kind().is_project_hook() => PROJECT_HOOK,
            Scope::Project | Scope::Group => self.header(),
        }
    }
}

/// The names that tell an event's kind, read without the rest of the body.
#[derive(Deserialize)]
struct Names<'a> {
    /// Absent (`None`), or given: as a name or as null (`Some(None)`, which is no name).
    #[serde(default, deserialize_with = "given")]
    object_kind: Option<Option<&'a str>>,
    #[serde(borrow)]
    event_name: Option<&'a str>,
    #[serde(borrow)]
    object_attributes: Option<NoteAttributes<'a>>,
}

#[derive(Deserialize)]
struct NoteAttributes<'a> {
    #[serde(borrow)]
    noteable_type: Option<&'a str>,
}

/// A field that is present, null or not.
fn given<'de, D: Deserializer<'de>>(field: D) -> Result<Option<Option<&'de str>>, D::Error> {
    Option::<&'de str>::deserialize(field).map(Some)
}

/// What a payload's names say it is.
enum Named {
    Kind(EventKind),
    /// A note: its kind follows `object_attributes.noteable_type`.
    Note,
}

/// The kind `object_kind` names, else `event_name`.
fn named_kind(object_kind: Option<&str>, event_name: Option<&str>) -> Result<Named, ParseError> {
    if let Some(name) = object_kind {
        return match name {
            "note" => Ok(Named::Note),
            // Push and member events carry both fields; object_kind wins.
            name => match EventKind::from_name(name) {
                Some(kind) if !kind.is_note() => Ok(Named::Kind(kind)),
                _ => Err(ParseError::UnknownKind(format!(
                    "unknown object_kind `{name}`"
                ))),
            },
        };
    }
    let Some(name) = event_name else {
        return Err(ParseError::UnknownKind(
            "the payload has neither `object_kind` nor `event_name`".to_owned(),
        ));
    };
    EventKind::from_name(name)
        .filter(|k| {
            k.scope() != Scope::Project || matches!(k, EventKind::Push | EventKind::TagPush)
        })
        .map(Named::Kind)
        .ok_or_else(|| ParseError::UnknownKind(format!("unknown event_name `{name}`")))
}

/// Tells the kind of a payload from `object_kind`, else `event_name`.
fn detect_kind(map: &Map<String, Value>) -> Result<EventKind, ParseError> {
    let name_of = |field: &str| match map.get(field) {
        Some(value) => value
            .as_str()
            .map(Some)
            .ok_or_else(|| ParseError::UnknownKind(format!("`{field}` must be a string"))),
        None => Ok(None),
    };
    let object_kind = name_of("object_kind")?;
    let event_name = match object_kind {
        Some(_) => None,
        None => name_of("event_name")?,
    };
    match named_kind(object_kind, event_name)? {
        Named::Kind(kind) => Ok(kind),
        Named::Note => {
            let noteable_type = map
                .get("object_attributes")
                .and_then(|attributes| attributes.get("noteable_type"))
                .ok_or_else(|| note_field("missing field"))?;
            noteable_kind(
                noteable_type
                    .as_str()
                    .ok_or_else(|| note_field("expected a string"))?,
            )
        }
    }
}

/// The kind of a note on a `noteable_type`.
fn noteable_kind(noteable_type: &str) -> Result<EventKind, ParseError> {
    match noteable_type {
        "Commit" => Ok(EventKind::CommitNote),
        "MergeRequest" => Ok(EventKind::MergeRequestNote),
        "Issue" => Ok(EventKind::IssueNote),
        "Snippet" => Ok(EventKind::SnippetNote),
        other => Err(note_field(&format!(
            "unknown noteable_type `{other}`, expected Commit, MergeRequest, Issue or Snippet"
        ))),
    }
}

fn note_field(message: &str) -> ParseError {
    ParseError::Field {
        kind: "note",
        path: ".object_attributes.noteable_type".to_owned(),
        message: message.to_owned(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(kind: EventKind, value: Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| ParseError::field(kind.name(), &e.path().to_string(), e.inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    /// The direct parse is the one taken (not the JSON value's), and it reads the same event.
    #[test]
    fn every_sample_parses_directly_into_what_the_value_gives() {
        for sample in samples::all() {
            let body = sample.json.as_bytes();
            let direct = Event::from_slice_directly(body)
                .unwrap_or_else(|| panic!("{} did not parse directly", sample.name));
            let value: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(direct, Event::from_value(value).unwrap(), "{}", sample.name);
        }
    }

    /// A null `object_kind` is refused, whatever `event_name` says (as through a value).
    #[test]
    fn a_null_object_kind_is_not_read_past() {
        let body = br#"{"object_kind": null, "event_name": "push"}"#;
        assert!(Event::from_slice_directly(body).is_none());
        let error = Event::from_slice(body).unwrap_err().to_string();
        assert!(error.contains("`object_kind` must be a string"), "{error}");
    }
}
