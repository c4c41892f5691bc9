//! What today's GitLab sends: membership events with `access_level`, the kinds added since the
//! 8.x documents, and the group variant of project events.

use serde_json::{Value, json};
use wvs_events::event::PROJECT_HOOK;
use wvs_events::{Event, EventKind, Scope};

fn team_member(access: Value) -> Value {
    let mut event = json!({
        "event_name": "user_add_to_team",
        "project_id": 74,
        "project_name": "StoreCloud",
        "project_path": "storecloud",
        "project_path_with_namespace": "jsmith/storecloud",
        "user_name": "John Smith",
        "user_username": "johnsmith",
        "user_id": 41
    });
    event
        .as_object_mut()
        .unwrap()
        .extend(access.as_object().unwrap().clone());
    event
}

#[test]
fn team_member_events_take_access_level_or_project_access() {
    for access in [
        json!({"access_level": "Maintainer"}),
        json!({"project_access": "Master"}),
        json!({}),
    ] {
        let value = team_member(access.clone());
        let event = Event::from_value(value.clone()).unwrap_or_else(|e| panic!("{access}: {e}"));
        assert_eq!(event.kind(), EventKind::UserAddToTeam);
        assert_eq!(event.to_value(), value, "{access}: passes through");
    }
}

#[test]
fn group_member_events_take_access_level_or_group_access() {
    for access in ["access_level", "group_access"] {
        let value = json!({
            "event_name": "user_access_request_to_group",
            "group_id": 78,
            "group_name": "StoreCloud",
            "group_path": "storecloud",
            "user_name": "John Smith",
            "user_username": "johnsmith",
            "user_id": 41,
            access: "Developer"
        });
        let event = Event::from_value(value.clone()).unwrap();
        assert_eq!(event.kind(), EventKind::UserAccessRequestToGroup);
        assert_eq!(event.header(), "Member Hook");
        assert_eq!(event.to_value(), value);
    }
}

/// A field membership routing needs is still refused by name when wrong.
#[test]
fn a_mistyped_user_id_is_named() {
    let mut value = team_member(json!({"access_level": "Guest"}));
    value["user_id"] = json!("forty-one");
    let error = Event::from_value(value).unwrap_err().to_string();
    assert!(error.contains(".user_id"), "{error}");
}

/// The new kinds read `object_kind` only; the rest, whatever it is, passes through.
#[test]
fn kind_only_events_pass_everything_else_through() {
    for (kind, header) in [
        ("emoji", "Emoji Hook"),
        ("milestone", "Milestone Hook"),
        ("access_token", "Resource Access Token Hook"),
        ("vulnerability", "Vulnerability Hook"),
    ] {
        let value = json!({"object_kind": kind, "future_field": {"any": [1, "shape"]}});
        let event = Event::from_value(value.clone()).unwrap();
        assert_eq!(event.kind().name(), kind);
        assert_eq!(event.header(), header);
        assert_eq!(event.to_value(), value);
    }
}

#[test]
fn work_items_are_delivered_as_issues() {
    let value = json!({
        "object_kind": "work_item",
        "event_type": "work_item",
        "object_attributes": {"id": 1, "iid": 2, "title": "A task", "type": "Task", "confidential": true}
    });
    let event = Event::from_value(value).unwrap();
    assert_eq!(event.kind(), EventKind::WorkItem);
    assert_eq!(event.header(), "Confidential Issue Hook");
}

#[test]
fn a_project_created_reaches_group_hooks_as_project_hook() {
    let value = json!({
        "event_name": "project_create",
        "name": "project1",
        "path": "project1",
        "path_with_namespace": "group1/project1",
        "project_id": 22
    });
    let event = Event::from_value(value).unwrap();
    assert_eq!(event.header_for(Scope::Group), PROJECT_HOOK);
    assert_eq!(event.header_for(Scope::System), "System Hook");
    assert!(event.kind().accepts_header(PROJECT_HOOK));
}

#[test]
fn user_failed_login_is_a_system_event() {
    let value = json!({
        "event_name": "user_failed_login",
        "user_id": 26,
        "username": "user4",
        "state": "blocked"
    });
    let event = Event::from_value(value).unwrap();
    assert_eq!(event.kind(), EventKind::UserFailedLogin);
    assert_eq!(event.kind().scope(), Scope::System);
}
