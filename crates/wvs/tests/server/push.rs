//! Push processing end to end: a Git server's account of a push, posted to
//! `POST /projects/:id/push`, and exactly the events and payloads that reach the hooks.

use std::time::Duration;

use serde_json::{Value, json};

use crate::setup::{hook, registry};
use crate::support::{Received, Receiver, Server};

const ZERO: &str = "0000000000000000000000000000000000000000";
const OLD: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";

fn sha(n: usize) -> String {
    format!("{n:040x}")
}

fn commits(count: usize) -> Vec<Value> {
    (1..=count)
        .map(|n| {
            json!({
                "id": sha(n),
                "message": format!("Commit {n}\n\nDetails."),
                "timestamp": "2024-05-01T10:00:00+00:00",
                "author": {"name": "Jordi Mallach", "email": "jordi@example.com"},
                "modified": ["README.md"],
            })
        })
        .collect()
}

fn new_ref(git_ref: &str) -> Value {
    json!({"before": ZERO, "after": sha(1000), "ref": git_ref})
}

/// Posts a push by John Smith with `changes` to project `project`, expecting 202.
async fn push(server: &Server, project: i64, changes: Value) -> Value {
    let body = json!({
        "user": {"id": 4, "name": "John Smith", "username": "jsmith", "email": "john@example.com"},
        "changes": changes,
    });
    server
        .expect(
            202,
            "POST",
            &format!("/projects/{project}/push"),
            Some(body),
        )
        .await
}

/// Waits for `count` requests, then a little longer to be sure no more come.
async fn exactly(receiver: &Receiver, count: usize) -> Vec<Received> {
    receiver.wait_for(count, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(received.len(), count, "{received:#?}");
    received
}

fn kinds(answer: &Value) -> Vec<&str> {
    answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect()
}

fn sorted_refs(received: &[Received]) -> Vec<String> {
    let mut refs: Vec<String> = received
        .iter()
        .map(|r| r.json()["ref"].as_str().unwrap().to_owned())
        .collect();
    refs.sort();
    refs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_of_25_commits_sends_the_newest_20_and_the_true_count() {
    let receiver = Receiver::start().await;
    let server = Server::start(&["--instance-url", "https://git.example.com"]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    hook(
        &server,
        &owner,
        json!({"url": receiver.url, "push_events": true}),
    )
    .await;

    let answer = push(
        &server,
        ids.project,
        json!([{"before": OLD, "after": sha(25), "ref": "refs/heads/main", "commits": commits(25)}]),
    )
    .await;
    assert_eq!(kinds(&answer), ["push", "repository_update"], "{answer}");
    assert_eq!(answer["events"][0]["ref"], "refs/heads/main");
    assert_eq!(answer["events"][0]["deliveries"], 1);
    assert_eq!(answer["skipped"], json!([]));

    let received = exactly(&receiver, 1).await;
    assert_eq!(received[0].header("X-WVS-Event"), Some("Push Hook"));
    let payload = received[0].json();
    let ids_sent: Vec<&str> = payload["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let newest: Vec<String> = (6..=25).map(sha).collect();
    assert_eq!(ids_sent, newest);
    assert_eq!(payload["total_commits_count"], 25);
    assert_eq!(payload["checkout_sha"], json!(sha(25)));
    assert_eq!(payload["user_username"], "jsmith");
    assert_eq!(payload["project_id"], ids.project);
    assert_eq!(payload["commits"][19]["title"], "Commit 25");
    // The project block comes from the registry, its URLs from the instance URL.
    let project = &payload["project"];
    assert_eq!(project["path_with_namespace"], "top/mid/low/app");
    assert_eq!(project["namespace"], "Low");
    assert_eq!(
        project["web_url"],
        "https://git.example.com/top/mid/low/app"
    );
    assert_eq!(
        project["git_ssh_url"],
        "git@git.example.com:top/mid/low/app.git"
    );
    assert_eq!(payload["repository"]["name"], "App");
    let keys: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "object_kind",
            "event_name",
            "before",
            "after",
            "ref",
            "ref_protected",
            "checkout_sha",
            "message",
            "user_id",
            "user_name",
            "user_username",
            "user_email",
            "user_avatar",
            "project_id",
            "project",
            "repository",
            "commits",
            "total_commits_count",
            "push_options",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_new_branches_fire_no_push_hooks_while_three_do() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    hook(
        &server,
        &owner,
        json!({"url": receiver.url, "push_events": true}),
    )
    .await;

    let four: Vec<Value> = (1..=4)
        .map(|n| new_ref(&format!("refs/heads/four-{n}")))
        .collect();
    let answer = push(&server, ids.project, json!(four)).await;
    assert_eq!(kinds(&answer), ["repository_update"], "{answer}");
    let skipped = answer["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 4);
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("push_event_hooks_limit (3)"),
        "{answer}"
    );

    let mut three: Vec<Value> = (1..=3)
        .map(|n| new_ref(&format!("refs/heads/three-{n}")))
        .collect();
    // An update is counted apart from the creations.
    three.push(
        json!({"before": OLD, "after": sha(1), "ref": "refs/heads/main", "commits": commits(1)}),
    );
    let answer = push(&server, ids.project, json!(three)).await;
    assert_eq!(
        kinds(&answer),
        ["push", "push", "push", "push", "repository_update"]
    );

    let received = exactly(&receiver, 4).await;
    assert_eq!(
        sorted_refs(&received),
        [
            "refs/heads/main",
            "refs/heads/three-1",
            "refs/heads/three-2",
            "refs/heads/three-3"
        ]
    );
    let created = received
        .iter()
        .find(|r| r.json()["ref"] == "refs/heads/three-1")
        .unwrap()
        .json();
    assert_eq!(created["commits"], json!([]));
    assert_eq!(created["total_commits_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_push_fires_the_tag_push_hook() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    hook(
        &server,
        &owner,
        json!({"url": receiver.url, "push_events": false, "tag_push_events": true}),
    )
    .await;

    let answer = push(
        &server,
        ids.project,
        json!([
            new_ref("refs/tags/v1.0.0"),
            {"before": OLD, "after": sha(1), "ref": "refs/heads/main", "commits": commits(1)},
        ]),
    )
    .await;
    assert_eq!(kinds(&answer), ["tag_push", "push", "repository_update"]);

    let received = exactly(&receiver, 1).await;
    assert_eq!(received[0].header("X-WVS-Event"), Some("Tag Push Hook"));
    let payload = received[0].json();
    assert_eq!(payload["object_kind"], "tag_push");
    assert_eq!(payload["ref"], "refs/tags/v1.0.0");
    assert_eq!(payload["checkout_sha"], json!(sha(1000)));
    assert_eq!(payload["commits"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_hooks_get_one_repository_update_per_push_and_the_pushes_they_asked_for() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let url = |name: &str| format!("{}/{name}", receiver.url);
    hook(
        &server,
        "",
        json!({"url": url("updates"), "push_events": false, "tag_push_events": false,
               "repository_update_events": true}),
    )
    .await;
    hook(
        &server,
        "",
        json!({"url": url("pushes"), "push_events": true, "tag_push_events": false,
               "repository_update_events": false}),
    )
    .await;

    push(
        &server,
        ids.project,
        json!([
            {"before": OLD, "after": sha(1), "ref": "refs/heads/main", "commits": commits(1)},
            new_ref("refs/tags/v1.0.0"),
        ]),
    )
    .await;
    push(&server, ids.project, json!([new_ref("refs/heads/topic")])).await;

    let received = exactly(&receiver, 4).await;
    assert!(
        received
            .iter()
            .all(|r| r.header("X-WVS-Event") == Some("System Hook"))
    );
    let updates: Vec<Value> = received
        .iter()
        .filter(|r| r.path == "/updates")
        .map(Received::json)
        .collect();
    assert_eq!(updates.len(), 2, "one repository_update per push");
    assert!(
        updates
            .iter()
            .all(|u| u["event_name"] == "repository_update")
    );
    let mut refs: Vec<Value> = updates.iter().map(|u| u["refs"].clone()).collect();
    refs.sort_by_key(Value::to_string);
    assert_eq!(
        refs,
        [
            json!(["refs/heads/main", "refs/tags/v1.0.0"]),
            json!(["refs/heads/topic"])
        ]
    );
    let pushes: Vec<Received> = received
        .into_iter()
        .filter(|r| r.path == "/pushes")
        .collect();
    assert_eq!(
        sorted_refs(&pushes),
        ["refs/heads/main", "refs/heads/topic"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pushes_name_the_field_unknown_projects_are_404_and_retries_are_stored_once() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let (status, answer) = server
        .api(
            "POST",
            &format!("/projects/{}/push", ids.project),
            Some(
                json!({"user": {"id": 4, "name": "J", "username": "j", "email": "j@x"},
                        "changes": [{"before": OLD, "after": "nope", "ref": "refs/heads/main"}]}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("changes[0].after: "),
        "{answer}"
    );
    let (status, _) = server
        .api(
            "POST",
            "/projects/9999/push",
            Some(
                json!({"user": {"id": 4, "name": "J", "username": "j", "email": "j@x"},
                        "changes": [new_ref("refs/heads/main")]}),
            ),
        )
        .await;
    assert_eq!(status, 404);

    // A retried post with the same Idempotency-Key stores nothing twice.
    let body = json!({"user": {"id": 4, "name": "J", "username": "j", "email": "j@x"},
                      "changes": [new_ref("refs/heads/main")]});
    let path = format!("/projects/{}/push", ids.project);
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (status, _, answer) = server
            .api_raw(
                "POST",
                &path,
                Some(body.clone()),
                &[("Idempotency-Key", "push-1")],
            )
            .await;
        assert_eq!(status, 202);
        answers.push(serde_json::from_slice::<Value>(&answer).unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(kinds(&answers[0]), ["push", "repository_update"]);
    // The same key with another push: 422, not the first push's answer.
    let other = json!({"user": {"id": 4, "name": "J", "username": "j", "email": "j@x"},
                       "changes": [new_ref("refs/heads/other")]});
    let (status, _, answer) = server
        .api_raw("POST", &path, Some(other), &[("Idempotency-Key", "push-1")])
        .await;
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("another body"),
        "{answer}"
    );
}

/// A project's first pushed branch becomes its default branch, as in GitLab: the push's own
/// payload says so, the projects API shows it, and a later branch does not change it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_pushed_branch_becomes_the_default_branch() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let project = format!("/projects/{}", ids.project);
    hook(
        &server,
        &project,
        json!({"url": format!("{}/hook", receiver.url)}),
    )
    .await;
    let before = server.expect(200, "GET", &project, None).await;
    assert_eq!(before["default_branch"], Value::Null);

    push(&server, ids.project, json!([new_ref("refs/heads/trunk")])).await;
    let sent = exactly(&receiver, 1).await[0].json();
    assert_eq!(sent["project"]["default_branch"], "trunk");
    let url = sent["project"]["web_url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.starts_with("http://127.0.0.1:0/"), "{url}");

    push(&server, ids.project, json!([new_ref("refs/heads/other")])).await;
    let after = server.expect(200, "GET", &project, None).await;
    assert_eq!(after["default_branch"], "trunk");
}
