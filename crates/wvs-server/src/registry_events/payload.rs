//! The payloads of registry events, built from stored records with the keys of today's
//! documented examples in their order (`fixtures/gitlab-17.8/`: the system hooks page; the
//! webhook events page for `Member Hook` and `Subgroup Hook`). Group events keep
//! `owner_name` / `owner_email`, which older documents show, after the documented keys' order.
//!
//! Every builder parses what it built with the event model, so a payload that leaves here is
//! one a receiver using `wvs-events` reads.

use serde_json::{Value, json};
use wvs_events::{Event, EventKind, ParseError};
use wvs_store::{Group, Member, Project, SshKey, User};

use super::access::{AccessLevel, UnknownAccessLevel};
use crate::time::{key_time, payload_time};

/// A built payload: the event, and the bytes stored and sent (keys in documented order).
#[derive(Debug)]
pub struct Built {
    pub event: Event,
    pub body: Vec<u8>,
}

/// A payload that could not be built from the stored records.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("stored membership: {0}")]
    AccessLevel(#[from] UnknownAccessLevel),
    #[error("the built {kind} payload does not parse: {source}")]
    Parse {
        kind: EventKind,
        #[source]
        source: ParseError,
    },
}

pub type Result<T> = std::result::Result<T, BuildError>;

/// Who owns a project or group, as `owner_name` / `owner_email` show it; `null` when unknown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Owner {
    pub name: Option<String>,
    pub email: Option<String>,
}

fn built(kind: EventKind, value: Value) -> Result<Built> {
    let body = value.to_string().into_bytes();
    let event =
        Event::from_value_as(kind, value).map_err(|source| BuildError::Parse { kind, source })?;
    Ok(Built { event, body })
}

/// GitLab's `visibility` name for a project's `visibility_level`.
pub fn project_visibility(project: &Project) -> &'static str {
    match project.attributes.visibility_level {
        Some(20) => "public",
        Some(10) => "internal",
        _ => "private",
    }
}

/// The `owners` list of project events: the owner, when known.
fn owners(owner: &Owner) -> Value {
    match &owner.name {
        Some(name) => json!([{ "name": name, "email": owner.email.as_deref().unwrap_or("") }]),
        None => json!([]),
    }
}

/// `project_namespace_id`: GitLab's id of the namespace each project has of its own. WVS keeps
/// no such record, so the project's id, as unique, stands for it.
fn project_namespace_id(project: &Project) -> i64 {
    project.id.0
}

/// `project_create`, `project_destroy`, `project_update`.
pub fn project(kind: EventKind, project: &Project, owner: &Owner) -> Result<Built> {
    built(
        kind,
        json!({
            "created_at": payload_time(project.created_at),
            "updated_at": payload_time(project.updated_at),
            "event_name": kind.name(),
            "name": project.name,
            "owner_email": owner.email,
            "owner_name": owner.name,
            "owners": owners(owner),
            "path": project.path,
            "path_with_namespace": project.path_with_namespace,
            "project_id": project.id,
            "project_namespace_id": project_namespace_id(project),
            "project_visibility": project_visibility(project),
        }),
    )
}

/// `project_create`, `project_destroy` as a group's hooks receive them (`Project Hook`), in
/// the order of the webhook events page: without the deprecated `owner_name` / `owner_email`.
pub fn group_project(kind: EventKind, project: &Project, owner: &Owner) -> Result<Built> {
    built(
        kind,
        json!({
            "event_name": kind.name(),
            "created_at": payload_time(project.created_at),
            "updated_at": payload_time(project.updated_at),
            "name": project.name,
            "path": project.path,
            "path_with_namespace": project.path_with_namespace,
            "project_id": project.id,
            "project_namespace_id": project_namespace_id(project),
            "owners": owners(owner),
            "project_visibility": project_visibility(project),
        }),
    )
}

/// `project_rename`, `project_transfer`: the project as it is now, and where it was.
pub fn project_moved(
    kind: EventKind,
    project: &Project,
    owner: &Owner,
    old_path_with_namespace: &str,
) -> Result<Built> {
    built(
        kind,
        json!({
            "created_at": payload_time(project.created_at),
            "updated_at": payload_time(project.updated_at),
            "event_name": kind.name(),
            "name": project.name,
            "path": project.path,
            "path_with_namespace": project.path_with_namespace,
            "project_id": project.id,
            "owner_name": owner.name,
            "owner_email": owner.email,
            "owners": owners(owner),
            "project_namespace_id": project_namespace_id(project),
            "project_visibility": project_visibility(project),
            "old_path_with_namespace": old_path_with_namespace,
        }),
    )
}

/// `user_add_to_team`, `user_update_for_team`, `user_remove_from_team`.
pub fn team_member(kind: EventKind, project: &Project, member: &Member) -> Result<Built> {
    let access = AccessLevel::try_from(member.access_level)?;
    built(
        kind,
        json!({
            "created_at": payload_time(member.created_at),
            "updated_at": payload_time(member.updated_at),
            "event_name": kind.name(),
            "access_level": access.name(),
            "project_id": project.id,
            "project_name": project.name,
            "project_path": project.path,
            "project_path_with_namespace": project.path_with_namespace,
            "user_email": member.user.email,
            "user_name": member.user.name,
            "user_username": member.user.username,
            "user_id": member.user.id,
            "project_visibility": project_visibility(project),
        }),
    )
}

/// `user_add_to_group`, `user_update_for_group`, `user_remove_from_group` as system hooks
/// receive them.
pub fn group_member_for_system(kind: EventKind, group: &Group, member: &Member) -> Result<Built> {
    let access = AccessLevel::try_from(member.access_level)?;
    built(
        kind,
        json!({
            "created_at": payload_time(member.created_at),
            "updated_at": payload_time(member.updated_at),
            "event_name": kind.name(),
            "group_access": access.name(),
            "group_id": group.id,
            "group_name": group.name,
            "group_path": group.path,
            "user_email": member.user.email,
            "user_name": member.user.name,
            "user_username": member.user.username,
            "user_id": member.user.id,
        }),
    )
}

/// The same membership change as group hooks receive it (`Member Hook`): with `group_plan`
/// (WVS has no plans: `null`) and `expires_at` (the last day, at midnight UTC).
pub fn group_member_for_group(kind: EventKind, group: &Group, member: &Member) -> Result<Built> {
    let access = AccessLevel::try_from(member.access_level)?;
    built(
        kind,
        json!({
            "created_at": payload_time(member.created_at),
            "updated_at": payload_time(member.updated_at),
            "group_name": group.name,
            "group_path": group.path,
            "group_id": group.id,
            "user_username": member.user.username,
            "user_name": member.user.name,
            "user_email": member.user.email,
            "user_id": member.user.id,
            "group_access": access.name(),
            "group_plan": null,
            "expires_at": member.expires_at.as_ref().map(|day| format!("{day}T00:00:00Z")),
            "event_name": kind.name(),
        }),
    )
}

/// `user_create`, `user_destroy`.
pub fn user(kind: EventKind, user: &User) -> Result<Built> {
    built(
        kind,
        json!({
            "created_at": payload_time(user.created_at),
            "updated_at": payload_time(user.updated_at),
            "email": user.email,
            "event_name": kind.name(),
            "name": user.name,
            "username": user.username,
            "user_id": user.id,
        }),
    )
}

/// `user_rename`: the user as they are now, and their old username.
pub fn user_renamed(user: &User, old_username: &str) -> Result<Built> {
    let kind = EventKind::UserRename;
    built(
        kind,
        json!({
            "event_name": kind.name(),
            "created_at": payload_time(user.created_at),
            "updated_at": payload_time(user.updated_at),
            "name": user.name,
            "email": user.email,
            "user_id": user.id,
            "username": user.username,
            "old_username": old_username,
        }),
    )
}

/// `key_create`, `key_destroy`. Keys never change: `updated_at` is when it was added.
pub fn key(kind: EventKind, key: &SshKey) -> Result<Built> {
    built(
        kind,
        json!({
            "event_name": kind.name(),
            "created_at": key_time(key.created_at),
            "updated_at": payload_time(key.created_at),
            "username": key.user.username,
            "key": key.key,
            "id": key.id,
        }),
    )
}

/// `group_create`, `group_destroy`.
pub fn group(kind: EventKind, group: &Group, owner: &Owner) -> Result<Built> {
    built(
        kind,
        json!({
            "created_at": payload_time(group.created_at),
            "updated_at": payload_time(group.updated_at),
            "event_name": kind.name(),
            "name": group.name,
            "owner_email": owner.email,
            "owner_name": owner.name,
            "path": group.path,
            "group_id": group.id,
        }),
    )
}

/// `group_rename`: the group as it is now, and its old path and full path.
pub fn group_renamed(group: &Group, owner: &Owner, old: &Group) -> Result<Built> {
    let kind = EventKind::GroupRename;
    built(
        kind,
        json!({
            "event_name": kind.name(),
            "created_at": payload_time(group.created_at),
            "updated_at": payload_time(group.updated_at),
            "name": group.name,
            "path": group.path,
            "full_path": group.full_path,
            "group_id": group.id,
            "owner_name": owner.name,
            "owner_email": owner.email,
            "old_path": old.path,
            "old_full_path": old.full_path,
        }),
    )
}

/// `subgroup_create`, `subgroup_destroy`, for the hooks of `parent` (and its ancestors).
pub fn subgroup(kind: EventKind, subgroup: &Group, parent: &Group) -> Result<Built> {
    built(
        kind,
        json!({
            "created_at": payload_time(subgroup.created_at),
            "updated_at": payload_time(subgroup.updated_at),
            "event_name": kind.name(),
            "name": subgroup.name,
            "path": subgroup.path,
            "full_path": subgroup.full_path,
            "group_id": subgroup.id,
            "parent_group_id": parent.id,
            "parent_name": parent.name,
            "parent_path": parent.path,
            "parent_full_path": parent.full_path,
        }),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use wvs_store::{MemberOf, Millis, ProjectAttributes};

    use super::*;
    use crate::documented::{assert_documented_keys, fixture};
    use wvs_store::{GroupId, ProjectId, SshKeyId, UserId};

    const T: Millis = Millis(1_342_855_854_000); // 2012-07-21T07:30:54Z

    fn group_of(id: i64, path: &str, full_path: &str) -> Group {
        Group {
            id: GroupId(id),
            name: path.to_uppercase(),
            path: path.into(),
            full_path: full_path.into(),
            parent_id: None,
            description: None,
            visibility: None,
            created_at: T,
            updated_at: T,
        }
    }

    fn a_project() -> Project {
        Project {
            id: ProjectId(74),
            name: "StoreCloud".into(),
            path: "storecloud".into(),
            namespace_id: None,
            namespace_path: "jsmith".into(),
            path_with_namespace: "jsmith/storecloud".into(),
            attributes: ProjectAttributes::default(),
            created_at: T,
            updated_at: T,
        }
    }

    fn a_user() -> User {
        User {
            id: UserId(41),
            username: "js".into(),
            name: "John Smith".into(),
            email: "js@gitlabhq.com".into(),
            created_at: T,
            updated_at: T,
        }
    }

    fn a_member(of: MemberOf) -> Member {
        Member {
            of,
            user: a_user(),
            access_level: 40,
            expires_at: Some("2020-12-14".into()),
            created_at: T,
            updated_at: T,
        }
    }

    fn owner() -> Owner {
        Owner {
            name: Some("John Smith".into()),
            email: Some("johnsmith@example.com".into()),
        }
    }

    /// The built payload has exactly the documented keys, in the documented order (nested
    /// objects too), names the kind, and parses back to the same event.
    fn assert_as_documented(built: &Built, kind: EventKind, documented: &Value) {
        let value: Value = serde_json::from_slice(&built.body).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&value), keys(documented), "{kind}: keys");
        assert_documented_keys(&value, documented, kind.name());
        assert_eq!(built.event.kind(), kind);
        assert_eq!(Event::from_slice(&built.body).unwrap().kind(), kind);
        assert_eq!(value["event_name"], kind.name(), "{kind}");
    }

    /// As [`assert_as_documented`], for the group events, which keep `owner_name` and
    /// `owner_email` besides today's documented keys.
    fn assert_as_documented_with_owner(built: &Built, kind: EventKind, documented: &Value) {
        let mut value: Value = serde_json::from_slice(&built.body).unwrap();
        let map = value.as_object_mut().unwrap();
        assert!(map.shift_remove("owner_name").is_some(), "{kind}");
        assert!(map.shift_remove("owner_email").is_some(), "{kind}");
        let without_owner = Built {
            event: built.event.clone(),
            body: value.to_string().into_bytes(),
        };
        assert_as_documented(&without_owner, kind, documented);
    }

    #[test]
    fn project_events_are_as_documented() {
        let project = a_project();
        for (kind, file) in [
            (EventKind::ProjectCreate, "project_create"),
            (EventKind::ProjectDestroy, "project_destroy"),
            (EventKind::ProjectUpdate, "project_update"),
        ] {
            let built = super::project(kind, &project, &owner()).unwrap();
            assert_as_documented(
                &built,
                kind,
                &fixture(&format!("gitlab-17.8/system-hooks/{file}.json")),
            );
        }
        for (kind, file) in [
            (EventKind::ProjectRename, "project_rename"),
            (EventKind::ProjectTransfer, "project_transfer"),
        ] {
            let built = project_moved(kind, &project, &owner(), "jsmith/overscore").unwrap();
            assert_as_documented(
                &built,
                kind,
                &fixture(&format!("gitlab-17.8/system-hooks/{file}.json")),
            );
            let value: Value = serde_json::from_slice(&built.body).unwrap();
            assert_eq!(value["old_path_with_namespace"], "jsmith/overscore");
        }
    }

    #[test]
    fn group_project_events_are_as_documented() {
        for (kind, file) in [
            (EventKind::ProjectCreate, "group-project_create"),
            (EventKind::ProjectDestroy, "group-project_destroy"),
        ] {
            let built = group_project(kind, &a_project(), &owner()).unwrap();
            let documented = fixture(&format!("gitlab-17.8/webhook-events/{file}.json"));
            assert_as_documented(&built, kind, &documented);
            assert_eq!(
                built.event.header_for(wvs_events::Scope::Group),
                "Project Hook"
            );
        }
    }

    #[test]
    fn the_documented_project_create_is_rebuilt_value_for_value() {
        let built = super::project(EventKind::ProjectCreate, &a_project(), &owner()).unwrap();
        let value: Value = serde_json::from_slice(&built.body).unwrap();
        let documented = fixture("gitlab-17.8/system-hooks/project_create.json");
        for key in [
            "created_at",
            "name",
            "owner_email",
            "owner_name",
            "path",
            "path_with_namespace",
            "project_id",
            "project_visibility",
        ] {
            assert_eq!(value[key], documented[key], "{key}");
        }
    }

    #[test]
    fn team_member_events_are_as_documented() {
        let project = a_project();
        let member = a_member(MemberOf::Project(ProjectId(74)));
        for (kind, documented) in [
            (
                EventKind::UserAddToTeam,
                fixture("gitlab-17.8/system-hooks/user_add_to_team.json"),
            ),
            (
                EventKind::UserRemoveFromTeam,
                fixture("gitlab-17.8/system-hooks/user_remove_from_team.json"),
            ),
            (
                EventKind::UserUpdateForTeam,
                fixture("gitlab-17.8/system-hooks/user_update_for_team.json"),
            ),
        ] {
            let built = team_member(kind, &project, &member).unwrap();
            assert_as_documented(&built, kind, &documented);
            let value: Value = serde_json::from_slice(&built.body).unwrap();
            assert_eq!(value["access_level"], "Maintainer");
        }
    }

    #[test]
    fn group_member_events_are_as_documented_for_system_and_group_hooks() {
        let group = group_of(78, "storecloud", "storecloud");
        let member = a_member(MemberOf::Group(GroupId(78)));
        let system = fixture("gitlab-17.8/system-hooks/user_add_to_group.json");
        for (kind, for_system, for_group) in [
            (
                EventKind::UserAddToGroup,
                system.clone(),
                fixture("gitlab-17.8/webhook-events/user_add_to_group.json"),
            ),
            (
                EventKind::UserUpdateForGroup,
                fixture("gitlab-17.8/system-hooks/user_update_for_group.json"),
                fixture("gitlab-17.8/webhook-events/user_update_for_group.json"),
            ),
            (
                EventKind::UserRemoveFromGroup,
                fixture("gitlab-17.8/system-hooks/user_remove_from_group.json"),
                fixture("gitlab-17.8/webhook-events/user_remove_from_group.json"),
            ),
        ] {
            let built = group_member_for_system(kind, &group, &member).unwrap();
            assert_as_documented(&built, kind, &for_system);
            let built = group_member_for_group(kind, &group, &member).unwrap();
            assert_as_documented(&built, kind, &for_group);
            let value: Value = serde_json::from_slice(&built.body).unwrap();
            assert_eq!(value["expires_at"], "2020-12-14T00:00:00Z");
            assert_eq!(value["group_access"], "Maintainer");
        }
    }

    #[test]
    fn user_and_key_events_are_as_documented() {
        let user = a_user();
        for kind in [EventKind::UserCreate, EventKind::UserDestroy] {
            let built = super::user(kind, &user).unwrap();
            assert_as_documented(
                &built,
                kind,
                &fixture(&format!("gitlab-17.8/system-hooks/{}.json", kind.name())),
            );
        }
        let built = user_renamed(&user, "old-js").unwrap();
        assert_as_documented(
            &built,
            EventKind::UserRename,
            &fixture("gitlab-17.8/system-hooks/user_rename.json"),
        );
        let key = SshKey {
            id: SshKeyId(4),
            user: a_user(),
            title: "laptop".into(),
            key: "ssh-rsa AAAA john@localhost".into(),
            created_at: Millis(1_408_387_516_000),
        };
        for kind in [EventKind::KeyCreate, EventKind::KeyDestroy] {
            let built = super::key(kind, &key).unwrap();
            assert_as_documented(
                &built,
                kind,
                &fixture(&format!("gitlab-17.8/system-hooks/{}.json", kind.name())),
            );
            let value: Value = serde_json::from_slice(&built.body).unwrap();
            assert_eq!(value["created_at"], "2014-08-18 18:45:16 UTC");
        }
    }

    #[test]
    fn group_and_subgroup_events_are_as_documented() {
        let parent = group_of(7, "group1", "group1");
        let sub = group_of(10, "subgroup1", "group1/subgroup1");
        for kind in [EventKind::GroupCreate, EventKind::GroupDestroy] {
            let built = super::group(kind, &sub, &Owner::default()).unwrap();
            assert_as_documented_with_owner(
                &built,
                kind,
                &fixture(&format!("gitlab-17.8/system-hooks/{}.json", kind.name())),
            );
        }
        let old = group_of(10, "old", "group1/old");
        let built = group_renamed(&sub, &Owner::default(), &old).unwrap();
        assert_as_documented_with_owner(
            &built,
            EventKind::GroupRename,
            &fixture("gitlab-17.8/system-hooks/group_rename.json"),
        );
        let value: Value = serde_json::from_slice(&built.body).unwrap();
        assert_eq!(
            (value["old_path"].as_str(), value["old_full_path"].as_str()),
            (Some("old"), Some("group1/old"))
        );
        for kind in [EventKind::SubgroupCreate, EventKind::SubgroupDestroy] {
            let built = subgroup(kind, &sub, &parent).unwrap();
            let documented = fixture(&format!("gitlab-17.8/webhook-events/{}.json", kind.name()));
            assert_as_documented(&built, kind, &documented);
            let value: Value = serde_json::from_slice(&built.body).unwrap();
            for key in [
                "event_name",
                "name",
                "path",
                "full_path",
                "group_id",
                "parent_group_id",
                "parent_name",
                "parent_path",
                "parent_full_path",
            ] {
                let expected = match key {
                    "name" => Value::from("SUBGROUP1"),
                    "parent_name" => Value::from("GROUP1"),
                    _ => documented[key].clone(),
                };
                assert_eq!(value[key], expected, "{key}");
            }
        }
    }

    #[test]
    fn an_unknown_stored_access_level_is_an_error_not_a_payload() {
        let mut member = a_member(MemberOf::Project(ProjectId(74)));
        member.access_level = 35;
        let error = team_member(EventKind::UserAddToTeam, &a_project(), &member).unwrap_err();
        assert!(error.to_string().contains("(35)"), "{error}");
    }
}
