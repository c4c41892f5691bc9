//! Registry changes made through the API reach hooks as the documented events: project
//! rename, subgroup create (and no event for a subgroup transfer), group membership to
//! system and group hooks, users and SSH keys.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::setup::{hook, registry};
use crate::support::{Received, Receiver, Server, fixtures_dir};

const WAIT: Duration = Duration::from_secs(20);

/// The requests that arrived at `path` so far.
fn at(receiver: &Receiver, path: &str) -> Vec<Received> {
    receiver
        .received()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

/// Waits for the request at `path` whose `event_name` is `name`, and returns it.
async fn event(receiver: &Receiver, path: &str, name: &str) -> Received {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = at(receiver, path)
            .into_iter()
            .find(|r| r.json()["event_name"] == name)
        {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {name} at {path} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `event_name`s that arrived at `path`, in arrival order.
fn names(receiver: &Receiver, path: &str) -> Vec<String> {
    at(receiver, path)
        .iter()
        .map(|r| {
            r.json()["event_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn keys(value: &Value) -> Vec<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn documented(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures_dir().join(file)).unwrap()).unwrap()
}

/// Registers a project or group from a raw body; both answers carry the new `id`.
async fn create(server: &Server, path: &str, body: Value) -> i64 {
    #[derive(serde::Deserialize)]
    struct Created {
        id: i64,
    }
    let created: Created = server.call(201, "POST", path, Some(&body)).await;
    created.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_rename_and_transfer_carry_the_old_path() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    hook(
        &server,
        "",
        json!({"url": format!("{}/system", receiver.url)}),
    )
    .await;
    let acme = create(&server, "/groups", json!({"name": "Acme", "path": "acme"})).await;
    let other = create(
        &server,
        "/groups",
        json!({"name": "Other", "path": "other"}),
    )
    .await;
    let web = create(
        &server,
        "/projects",
        json!({"name": "Web", "path": "web", "namespace_id": acme}),
    )
    .await;
    let created = event(&receiver, "/system", "project_create").await;
    assert_eq!(created.header("X-WVS-Event"), Some("System Hook"));
    assert_eq!(created.json()["path_with_namespace"], "acme/web");

    server
        .expect(
            200,
            "PUT",
            &format!("/projects/{web}"),
            Some(json!({"path": "site"})),
        )
        .await;
    let renamed = event(&receiver, "/system", "project_rename").await.json();
    assert_eq!(
        keys(&renamed),
        keys(&documented("gitlab-17.8/system-hooks/project_rename.json"))
    );
    assert_eq!(renamed["old_path_with_namespace"], "acme/web");
    assert_eq!(renamed["path_with_namespace"], "acme/site");
    assert_eq!(renamed["owner_name"], "Acme");

    server
        .expect(
            200,
            "PUT",
            &format!("/projects/{web}"),
            Some(json!({"namespace_id": other})),
        )
        .await;
    let moved = event(&receiver, "/system", "project_transfer").await.json();
    assert_eq!(moved["old_path_with_namespace"], "acme/site");
    assert_eq!(moved["path_with_namespace"], "other/site");

    server
        .expect(
            200,
            "PUT",
            &format!("/projects/{web}"),
            Some(json!({"description": "d"})),
        )
        .await;
    event(&receiver, "/system", "project_update").await;
    server
        .expect(202, "DELETE", &format!("/projects/{web}"), None)
        .await;
    event(&receiver, "/system", "project_destroy").await;
    // One event per change, after the two group_create.
    assert_eq!(
        names(&receiver, "/system"),
        [
            "group_create",
            "group_create",
            "project_create",
            "project_rename",
            "project_transfer",
            "project_update",
            "project_destroy"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subgroup_create_fires_and_a_subgroup_transfer_does_not() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await; // top/mid/low
    let flags =
        |name: &str| json!({"url": format!("{}/{name}", receiver.url), "subgroup_events": true});
    // The parent's hook and an ancestor's hook both see subgroups created below.
    hook(&server, &format!("/groups/{}", ids.mid), flags("mid")).await;
    hook(&server, &format!("/groups/{}", ids.top), flags("top")).await;
    let elsewhere = create(&server, "/groups", json!({"name": "Else", "path": "else"})).await;
    hook(&server, &format!("/groups/{elsewhere}"), flags("else")).await;
    hook(
        &server,
        "",
        json!({"url": format!("{}/system", receiver.url)}),
    )
    .await;

    let sub = create(
        &server,
        "/groups",
        json!({"name": "Sub", "path": "sub", "parent_id": ids.mid}),
    )
    .await;
    let created = event(&receiver, "/mid", "subgroup_create").await;
    assert_eq!(created.header("X-WVS-Event"), Some("Subgroup Hook"));
    let payload = created.json();
    assert_eq!(
        keys(&payload),
        keys(&documented(
            "gitlab-17.8/webhook-events/subgroup_create.json"
        ))
    );
    assert_eq!(payload["full_path"], "top/mid/sub");
    assert_eq!(payload["parent_group_id"], ids.mid);
    assert_eq!(payload["parent_full_path"], "top/mid");
    event(&receiver, "/top", "subgroup_create").await;
    event(&receiver, "/system", "group_create").await;

    // The transfer renames the group for system hooks, and fires no subgroup event.
    server
        .expect(
            200,
            "PUT",
            &format!("/groups/{sub}"),
            Some(json!({"parent_id": elsewhere})),
        )
        .await;
    let renamed = event(&receiver, "/system", "group_rename").await.json();
    assert_eq!(renamed["old_full_path"], "top/mid/sub");
    assert_eq!(renamed["full_path"], "else/sub");
    // A later subgroup create under `else` arrives; nothing arrived for the transfer before it.
    create(
        &server,
        "/groups",
        json!({"name": "Marker", "path": "marker", "parent_id": elsewhere}),
    )
    .await;
    event(&receiver, "/else", "subgroup_create").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(names(&receiver, "/else"), ["subgroup_create"]);
    assert_eq!(at(&receiver, "/else")[0].json()["name"], "Marker");
    assert_eq!(names(&receiver, "/mid"), ["subgroup_create"]);
    assert_eq!(names(&receiver, "/top"), ["subgroup_create"]);

    // Removing the subgroup tells its (new) parent.
    server
        .expect(202, "DELETE", &format!("/groups/{sub}"), None)
        .await;
    let destroyed = event(&receiver, "/else", "subgroup_destroy").await.json();
    assert_eq!(destroyed["full_path"], "else/sub");
    event(&receiver, "/system", "group_destroy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_member_reaches_system_hooks_and_member_hooks() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    hook(
        &server,
        "",
        json!({"url": format!("{}/system", receiver.url)}),
    )
    .await;
    hook(
        &server,
        &format!("/groups/{}", ids.mid),
        json!({"url": format!("{}/members", receiver.url), "member_events": true}),
    )
    .await;
    hook(
        &server,
        &format!("/groups/{}", ids.mid),
        json!({"url": format!("{}/silent", receiver.url), "subgroup_events": true}),
    )
    .await;
    let user = create(
        &server,
        "/users",
        json!({"username": "test_user", "name": "Test User", "email": "testuser@example.com"}),
    )
    .await;
    let members = format!("/groups/{}/members", ids.mid);
    server
        .expect(
            201,
            "POST",
            &members,
            Some(json!({"user_id": user, "access_level": 30, "expires_at": "2030-12-14"})),
        )
        .await;

    let system = event(&receiver, "/system", "user_add_to_group").await;
    assert_eq!(system.header("X-WVS-Event"), Some("System Hook"));
    let payload = system.json();
    assert_eq!(
        keys(&payload),
        keys(&documented(
            "gitlab-17.8/system-hooks/user_add_to_group.json"
        ))
    );
    assert_eq!(
        (
            &payload["group_access"],
            &payload["group_path"],
            &payload["user_username"]
        ),
        (&json!("Developer"), &json!("mid"), &json!("test_user"))
    );

    let member = event(&receiver, "/members", "user_add_to_group").await;
    assert_eq!(member.header("X-WVS-Event"), Some("Member Hook"));
    let payload = member.json();
    assert_eq!(
        keys(&payload),
        keys(&documented(
            "gitlab-17.8/webhook-events/user_add_to_group.json"
        ))
    );
    assert_eq!(payload["expires_at"], "2030-12-14T00:00:00Z");
    assert_eq!(payload["group_plan"], Value::Null);

    server
        .expect(
            200,
            "PUT",
            &format!("{members}/{user}"),
            Some(json!({"access_level": 40})),
        )
        .await;
    let updated = event(&receiver, "/members", "user_update_for_group")
        .await
        .json();
    assert_eq!(updated["group_access"], "Maintainer");
    event(&receiver, "/system", "user_update_for_group").await;
    server
        .expect(204, "DELETE", &format!("{members}/{user}"), None)
        .await;
    event(&receiver, "/members", "user_remove_from_group").await;
    event(&receiver, "/system", "user_remove_from_group").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Each hook got each change once, in its own shape; the other group hook nothing.
    let membership = |path| {
        names(&receiver, path)
            .into_iter()
            .filter(|name| name.contains("group") && name.starts_with("user_"))
            .collect::<Vec<_>>()
    };
    let expected = [
        "user_add_to_group",
        "user_update_for_group",
        "user_remove_from_group",
    ];
    assert_eq!(membership("/system"), expected);
    assert_eq!(membership("/members"), expected);
    assert!(at(&receiver, "/silent").is_empty());

    // A bad access level is refused, naming the field.
    let (status, answer) = server
        .api(
            "POST",
            &members,
            Some(json!({"user_id": user, "access_level": 35})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("access_level"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_keys_reach_system_hooks() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    hook(
        &server,
        "",
        json!({"url": format!("{}/system", receiver.url)}),
    )
    .await;
    let user = create(
        &server,
        "/users",
        json!({"username": "js", "name": "John Smith", "email": "js@gitlabhq.com", "password": "ignored"}),
    )
    .await;
    let created = event(&receiver, "/system", "user_create").await.json();
    assert_eq!(
        keys(&created),
        keys(&documented("gitlab-17.8/system-hooks/user_create.json"))
    );
    assert_eq!(
        (&created["username"], &created["user_id"]),
        (&json!("js"), &json!(user))
    );

    server
        .expect(
            200,
            "PUT",
            &format!("/users/{user}"),
            Some(json!({"username": "jsmith"})),
        )
        .await;
    let renamed = event(&receiver, "/system", "user_rename").await.json();
    assert_eq!(
        (&renamed["username"], &renamed["old_username"]),
        (&json!("jsmith"), &json!("js"))
    );

    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl js@host";
    let key_id = create(
        &server,
        &format!("/users/{user}/keys"),
        json!({"title": "laptop", "key": key}),
    )
    .await;
    let added = event(&receiver, "/system", "key_create").await.json();
    assert_eq!(
        keys(&added),
        keys(&documented("gitlab-17.8/system-hooks/key_create.json"))
    );
    assert_eq!(
        (&added["username"], &added["key"], &added["id"]),
        (&json!("jsmith"), &json!(key), &json!(key_id))
    );
    server
        .expect(204, "DELETE", &format!("/users/{user}/keys/{key_id}"), None)
        .await;
    let removed = event(&receiver, "/system", "key_destroy").await.json();
    assert_eq!(removed["id"], key_id);

    // A bad key is refused, naming the field; nothing is sent for it.
    let (status, answer) = server
        .api(
            "POST",
            &format!("/users/{user}/keys"),
            Some(json!({"title": "x", "key": "not a key"})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().starts_with("key"),
        "{answer}"
    );

    server
        .expect(204, "DELETE", &format!("/users/{user}"), None)
        .await;
    event(&receiver, "/system", "user_destroy").await;
    assert_eq!(
        names(&receiver, "/system"),
        [
            "user_create",
            "user_rename",
            "key_create",
            "key_destroy",
            "user_destroy"
        ]
    );
}

/// A project created or deleted in a group reaches the hooks of the group and its ancestors
/// that have `project_events`, as `Project Hook` in the webhook events page's shape; system
/// hooks get their own `project_create` / `project_destroy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_created_or_deleted_in_a_group_is_a_project_hook_event() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    hook(
        &server,
        &format!("/groups/{}", ids.top),
        json!({"url": format!("{}/group", receiver.url), "push_events": false, "project_events": true}),
    )
    .await;
    hook(
        &server,
        &format!("/groups/{}", ids.mid),
        json!({"url": format!("{}/silent", receiver.url), "push_events": false}),
    )
    .await;
    hook(
        &server,
        "",
        json!({"url": format!("{}/system", receiver.url)}),
    )
    .await;
    let created = server
        .expect(
            201,
            "POST",
            "/projects",
            Some(json!({"name": "Site", "path": "site", "namespace_id": ids.low})),
        )
        .await;
    let project_id = created["id"].as_i64().unwrap();
    let group = event(&receiver, "/group", "project_create").await;
    assert_eq!(group.header("X-WVS-Event"), Some("Project Hook"));
    let body = group.json();
    assert_eq!(
        keys(&body),
        keys(&documented(
            "gitlab-17.8/webhook-events/group-project_create.json"
        ))
    );
    assert_eq!(body["path_with_namespace"], "top/mid/low/site");
    assert_eq!(body["project_id"], project_id);
    let system = event(&receiver, "/system", "project_create").await;
    assert_eq!(system.header("X-WVS-Event"), Some("System Hook"));
    assert_eq!(
        keys(&system.json()),
        keys(&documented("gitlab-17.8/system-hooks/project_create.json"))
    );

    server
        .expect(202, "DELETE", &format!("/projects/{project_id}"), None)
        .await;
    let destroyed = event(&receiver, "/group", "project_destroy").await;
    assert_eq!(destroyed.header("X-WVS-Event"), Some("Project Hook"));
    event(&receiver, "/system", "project_destroy").await;
    assert!(
        at(&receiver, "/silent").is_empty(),
        "no project_events, nothing"
    );
}
