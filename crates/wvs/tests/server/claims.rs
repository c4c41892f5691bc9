//! A posted event cannot claim another project or group than the one it is posted to:
//! `project_id` / `project.id` on a project, `group_id` / `group.id` / a subgroup event's
//! `parent_group_id` outside the group and its subgroups, for an access token and the admin
//! alike (422 naming the field). Naming the right one, or none, is accepted.

use serde_json::{Value, json};
use wvs_events::samples;

use crate::access::{call, token};
use crate::setup::{other_tenant, registry};
use crate::support::{ADMIN_TOKEN, Server};

fn sample(name: &str) -> Value {
    serde_json::from_str(samples::find(name).unwrap().json).unwrap()
}

/// Posts `event` to `path` with `token`, expecting `status`; returns the answer's message.
async fn post(server: &Server, token: &str, path: &str, event: &Value, status: u16) -> String {
    let (got, answer) = call(server, token, "POST", path, Some(event.clone())).await;
    assert_eq!(got, status, "{path}: {answer}");
    answer["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_event_cannot_name_another_project() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let (_, other) = other_tenant(&server).await;
    let path = format!("/projects/{}/events", ids.project);
    let project_token = token(&server, &format!("/projects/{}", ids.project)).await;
    let mut right = sample("push");
    right["project_id"] = json!(ids.project);
    right["project"]["id"] = json!(ids.project);
    for caller in [ADMIN_TOKEN, project_token.as_str()] {
        let mut event = right.clone();
        event["project_id"] = json!(other);
        let message = post(&server, caller, &path, &event, 422).await;
        assert!(message.starts_with("project_id "), "{message}");
        let mut event = right.clone();
        event["project"]["id"] = json!(other);
        let message = post(&server, caller, &path, &event, 422).await;
        assert!(message.starts_with("project.id "), "{message}");

        post(&server, caller, &path, &right, 202).await;
        // Named by path, the project is the same one.
        let by_path = "/projects/top%2Fmid%2Flow%2Fapp/events";
        post(&server, caller, by_path, &right, 202).await;
        // Naming none: the registry's are filled in.
        let mut unnamed = right.clone();
        let object = unnamed.as_object_mut().unwrap();
        object.remove("project_id");
        object.remove("project");
        post(&server, caller, &path, &unnamed, 202).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_registered_on_its_first_event_must_be_the_one_the_event_names() {
    let server = Server::start(&[]);
    let mut event = sample("push");
    event["project_id"] = json!(77);
    event["project"]["id"] = json!(77);
    let message = post(&server, ADMIN_TOKEN, "/projects/76/events", &event, 422).await;
    assert!(message.starts_with("project_id "), "{message}");
    // Nothing was registered by the refused event.
    server.expect(404, "GET", "/projects/76", None).await;
    post(&server, ADMIN_TOKEN, "/projects/77/events", &event, 202).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_event_cannot_name_a_group_outside_the_route_and_its_subgroups() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let (other, _) = other_tenant(&server).await;
    let mid_token = token(&server, &format!("/groups/{}", ids.mid)).await;
    let path = format!("/groups/{}/events", ids.mid);
    for caller in [ADMIN_TOKEN, mid_token.as_str()] {
        // A membership of the group itself or of a group beneath it is the group's.
        let mut member = sample("user_add_to_group");
        for inside in [ids.mid, ids.low] {
            member["group_id"] = json!(inside);
            post(&server, caller, &path, &member, 202).await;
        }
        // Another tenant's group, the group above, and a group that does not exist are not.
        for outside in [other, ids.top, 999_999] {
            member["group_id"] = json!(outside);
            let message = post(&server, caller, &path, &member, 422).await;
            assert!(message.starts_with("group_id "), "{message}");
        }
        member["group_id"] = json!(ids.mid);
        member["group"] = json!({"id": other, "name": "Other"});
        let message = post(&server, caller, &path, &member, 422).await;
        assert!(message.starts_with("group.id "), "{message}");

        // A subgroup event names its parent: this group or one beneath it. Its `group_id` is
        // the subgroup, new to the registry.
        let mut subgroup = sample("subgroup_create");
        subgroup["group_id"] = json!(123_456);
        for inside in [ids.mid, ids.low] {
            subgroup["parent_group_id"] = json!(inside);
            post(&server, caller, &path, &subgroup, 202).await;
        }
        subgroup["parent_group_id"] = json!(other);
        let message = post(&server, caller, &path, &subgroup, 422).await;
        assert!(message.starts_with("parent_group_id "), "{message}");
    }
}
