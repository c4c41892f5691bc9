//! The routing rules, each through the API: branch filters, confidential issues and notes,
//! ancestor groups, and hooks that do not subscribe.

use std::time::Duration;

use serde_json::{Value, json};
use wvs_events::samples;

use crate::setup::{group, hook, registry};
use crate::support::{Receiver, Server, retarget};

fn sample(name: &str) -> Value {
    serde_json::from_str(samples::find(name).unwrap().json).unwrap()
}

fn push_to(branch: &str) -> Vec<u8> {
    let mut push = sample("push");
    push["ref"] = json!(format!("refs/heads/{branch}"));
    serde_json::to_vec(&push).unwrap()
}

/// Posts `body` and returns how many deliveries the server created.
async fn deliveries(server: &Server, path: &str, body: &[u8]) -> u64 {
    let (status, answer) = server.ingest(path, body).await;
    assert_eq!(status, 202, "{answer}");
    answer["deliveries"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_filter_strategies() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let url = |name: &str| format!("{}/{name}", receiver.url);
    hook(
        &server,
        &owner,
        json!({"url": url("wildcard"), "push_events_branch_filter": "feature/*"}),
    )
    .await;
    hook(
        &server,
        &owner,
        json!({"url": url("exact"), "push_events_branch_filter": "main"}),
    )
    .await;
    hook(&server, &owner, json!({"url": url("regex"), "branch_filter_strategy": "regex", "push_events_branch_filter": "^release-\\d+$"})).await;
    hook(
        &server,
        &owner,
        json!({"url": url("all"), "branch_filter_strategy": "all_branches"}),
    )
    .await;
    let events = format!("/projects/{}/events", ids.project);
    for branch in ["feature/a/b", "main", "release-12", "release-12x", "other"] {
        deliveries(&server, &events, &push_to(branch)).await;
    }
    // Tag pushes are not filtered by branch.
    let tag = serde_json::to_vec(&sample("tag_push")).unwrap();
    assert_eq!(
        deliveries(&server, &events, &tag).await,
        0,
        "no hook subscribed to tag pushes"
    );

    let received = receiver.wait_for(8, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.json()["ref"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("refs/heads/")
                    .to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("/all", "feature/a/b"),
        ("/all", "main"),
        ("/all", "other"),
        ("/all", "release-12"),
        ("/all", "release-12x"),
        ("/exact", "main"),
        ("/regex", "release-12"),
        ("/wildcard", "feature/a/b"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(received.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_issues_and_notes_go_only_to_confidential_subscribers() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let url = |name: &str| format!("{}/{name}", receiver.url);
    hook(&server, &owner, json!({"url": url("plain"), "push_events": false, "issues_events": true, "note_events": true})).await;
    hook(&server, &owner, json!({"url": url("confidential"), "push_events": false, "confidential_issues_events": true, "confidential_note_events": true})).await;
    let events = format!("/projects/{}/events", ids.project);

    let mut issue = sample("issue");
    deliveries(&server, &events, &serde_json::to_vec(&issue).unwrap()).await;
    issue["object_attributes"]["confidential"] = json!(true);
    deliveries(&server, &events, &serde_json::to_vec(&issue).unwrap()).await;
    let mut note = sample("note_issue");
    deliveries(&server, &events, &serde_json::to_vec(&note).unwrap()).await;
    note["event_type"] = json!("confidential_note");
    deliveries(&server, &events, &serde_json::to_vec(&note).unwrap()).await;

    receiver.wait_for(4, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|r| (r.path.clone(), r.header("X-WVS-Event").unwrap().to_owned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "/confidential".to_owned(),
                "Confidential Issue Hook".to_owned()
            ),
            (
                "/confidential".to_owned(),
                "Confidential Note Hook".to_owned()
            ),
            ("/plain".to_owned(), "Issue Hook".to_owned()),
            ("/plain".to_owned(), "Note Hook".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ancestor_groups_and_non_subscribers() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let url = |name: &str| format!("{}/{name}", receiver.url);
    // Two levels up from the project's group, and a sibling group that is no ancestor.
    hook(
        &server,
        &format!("/groups/{}", ids.top),
        json!({"url": url("top"), "push_events": false, "issues_events": true}),
    )
    .await;
    hook(
        &server,
        &format!("/groups/{}", ids.mid),
        json!({"url": url("mid-no-issues"), "push_events": true}),
    )
    .await;
    let sibling = server
        .create_group(&group("Sibling", "sibling", None))
        .await
        .id;
    hook(
        &server,
        &format!("/groups/{sibling}"),
        json!({"url": url("sibling"), "push_events": false, "issues_events": true}),
    )
    .await;
    // A system hook never receives issue events.
    hook(
        &server,
        "",
        json!({"url": url("system"), "push_events": true, "merge_requests_events": true}),
    )
    .await;

    let events = format!("/projects/{}/events", ids.project);
    let issue = serde_json::to_vec(&sample("issue")).unwrap();
    assert_eq!(deliveries(&server, &events, &issue).await, 1);
    receiver.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paths: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/top"]);

    // The project-level push reaches the mid group and the system hook, which subscribed.
    receiver.clear();
    assert_eq!(deliveries(&server, &events, &push_to("main")).await, 2);
    let mut paths: Vec<String> = receiver
        .wait_for(2, Duration::from_secs(20))
        .await
        .iter()
        .map(|r| r.path.clone())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/mid-no-issues", "/system"]);
    let system = receiver
        .received()
        .into_iter()
        .find(|r| r.path == "/system")
        .unwrap();
    assert_eq!(system.header("X-WVS-Event"), Some("System Hook"));
}

/// A push posted without its `project` and `repository` blocks and `event_name` is
/// completed from the registry, in the documented places; a complete one is sent as posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_completed_from_the_registry() {
    let receiver = Receiver::start().await;
    let server = Server::start(&["--instance-url", "https://git.example.com"]);
    let ids = registry(&server).await;
    hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/hook", receiver.url)}),
    )
    .await;
    let events = format!("/projects/{}/events", ids.project);
    // As the project's emitter posts it: naming this project.
    let documented: Value = serde_json::from_slice(&retarget(
        &events,
        &serde_json::to_vec(&sample("push")).unwrap(),
    ))
    .unwrap();
    let mut lean = documented.clone();
    for key in ["project", "repository", "event_name"] {
        lean.as_object_mut().unwrap().shift_remove(key);
    }
    deliveries(&server, &events, &serde_json::to_vec(&lean).unwrap()).await;
    let complete = serde_json::to_vec(&documented).unwrap();
    deliveries(&server, &events, &complete).await;

    let received = receiver.wait_for(2, Duration::from_secs(20)).await;
    // Delivered side by side: either may arrive first.
    let (as_posted, filled): (Vec<_>, Vec<_>) = received.iter().partition(|r| r.body == complete);
    assert_eq!(as_posted.len(), 1, "a complete event is sent byte for byte");
    let filled = filled[0].json();
    let keys =
        |value: &Value| -> Vec<String> { value.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&filled), keys(&documented));
    assert_eq!(keys(&filled["project"]), keys(&documented["project"]));
    assert_eq!(keys(&filled["repository"]), keys(&documented["repository"]));
    assert_eq!(filled["event_name"], "push");
    assert_eq!(filled["project"]["path_with_namespace"], "top/mid/low/app");
    assert_eq!(
        filled["project"]["web_url"],
        "https://git.example.com/top/mid/low/app"
    );
    assert_eq!(
        filled["commits"], documented["commits"],
        "the rest as posted"
    );
}

/// With `--redact-emails`, user and author emails reach the receiver, and the delivery log,
/// as `[REDACTED]`; the rest of the payload is as posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_are_redacted_when_the_instance_says_so() {
    let receiver = Receiver::start().await;
    let server = Server::start(&["--redact-emails"]);
    let ids = registry(&server).await;
    let base = format!("/projects/{}/hooks", ids.project);
    let hook_id = hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/hook", receiver.url)}),
    )
    .await;
    let push = sample("push");
    let events = format!("/projects/{}/events", ids.project);
    deliveries(&server, &events, &serde_json::to_vec(&push).unwrap()).await;

    let sent = receiver.wait_for(1, Duration::from_secs(20)).await[0].json();
    assert_eq!(sent["user_email"], "[REDACTED]");
    assert_eq!(sent["commits"][0]["author"]["email"], "[REDACTED]");
    assert_eq!(
        sent["commits"][0]["author"]["name"],
        push["commits"][0]["author"]["name"]
    );
    assert_eq!(sent["user_name"], push["user_name"]);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server
        .expect(200, "GET", &format!("{base}/{hook_id}/events"), None)
        .await;
    assert_eq!(log[0]["request_data"], sent, "the log holds what was sent");
}

/// A hook test with no event of its kind seen yet sends the documented sample as an event of
/// this project (its project and repository blocks from the registry); once a push was
/// seen, a push test sends that push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_tests_are_built_from_the_registry() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let hook_id = hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/hook", receiver.url)}),
    )
    .await;
    let test = format!(
        "/projects/{}/hooks/{hook_id}/test/issues_events",
        ids.project
    );
    server.expect(201, "POST", &test, None).await;
    let sent = receiver.wait_for(1, Duration::from_secs(20)).await[0].json();
    let documented = sample("issue");
    assert_eq!(sent["project"]["path_with_namespace"], "top/mid/low/app");
    assert_eq!(sent["project"]["id"], ids.project);
    assert_eq!(sent["repository"]["name"], "App");
    assert_eq!(sent["object_attributes"], documented["object_attributes"]);

    let mut push = sample("push");
    push["after"] = json!("1111111111111111111111111111111111111111");
    let events = format!("/projects/{}/events", ids.project);
    deliveries(&server, &events, &serde_json::to_vec(&push).unwrap()).await;
    receiver.wait_for(2, Duration::from_secs(20)).await;
    let test = format!("/projects/{}/hooks/{hook_id}/test/push_events", ids.project);
    server.expect(201, "POST", &test, None).await;
    let tested = receiver.wait_for(3, Duration::from_secs(20)).await[2].json();
    assert_eq!(
        tested["after"], push["after"],
        "the latest push of the project"
    );
}

/// Today's flags (`emoji_events`, `milestone_events`, `resource_access_token_events`,
/// `vulnerability_events`, and a group's `project_events`) are stored and returned by the
/// hooks API, and each one's test trigger sends its kind with its header; a group's access
/// token test is the group example.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_flags_are_kept_and_their_tests_send_their_kinds() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let flags = [
        ("emoji_events", "Emoji Hook", "emoji"),
        ("milestone_events", "Milestone Hook", "milestone"),
        (
            "resource_access_token_events",
            "Resource Access Token Hook",
            "access_token",
        ),
        (
            "vulnerability_events",
            "Vulnerability Hook",
            "vulnerability",
        ),
        ("project_events", "Project Hook", "project_create"),
    ];
    let mut body = json!({"url": format!("{}/group", receiver.url), "push_events": false});
    for (flag, _, _) in flags {
        body[flag] = json!(true);
    }
    let owner = format!("/groups/{}", ids.top);
    let hook_id = hook(&server, &owner, body).await;
    let stored = server.get_hook(&owner, hook_id).await.events;
    for (flag, _, _) in flags {
        assert_eq!(stored.0.get(flag), Some(&true), "{flag}");
    }
    assert_eq!(stored.0.get("push_events"), Some(&false));

    for (index, (flag, header, kind)) in flags.iter().enumerate() {
        let test = format!("{owner}/hooks/{hook_id}/test/{flag}");
        server.expect(201, "POST", &test, None).await;
        let sent = &receiver.wait_for(index + 1, Duration::from_secs(20)).await[index];
        assert_eq!(sent.header("X-WVS-Event"), Some(*header), "{flag}");
        let body = sent.json();
        let name = body
            .get("object_kind")
            .or_else(|| body.get("event_name"))
            .and_then(Value::as_str);
        assert_eq!(name, Some(*kind), "{flag}");
    }
    let token = receiver.received()[2].json();
    assert!(
        token.get("group").is_some(),
        "the group's access token example"
    );

    // A project hook has no `project_events`: it is ignored, not stored.
    let project = format!("/projects/{}", ids.project);
    let project_hook = hook(
        &server,
        &project,
        json!({"url": format!("{}/project", receiver.url), "project_events": true, "emoji_events": true}),
    )
    .await;
    let stored = server
        .expect(200, "GET", &format!("{project}/hooks/{project_hook}"), None)
        .await;
    assert_eq!(stored["emoji_events"], true);
    assert!(stored.get("project_events").is_none());
}

/// Membership events with `access_level`, as today's system hooks send them, and the system
/// events added since the older documents are accepted and reach system hooks only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_system_events_are_accepted_and_routed() {
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
        &format!("/groups/{}", ids.top),
        json!({"url": format!("{}/group", receiver.url), "member_events": true}),
    )
    .await;
    let names = [
        "user_add_to_team",
        "user_failed_login",
        "user_access_request_to_project",
        "user_access_request_revoked_for_project",
        "user_access_request_revoked_for_group",
    ];
    for name in names {
        let body = samples::find(name).unwrap().json.as_bytes();
        let (status, answer) = server.ingest("/system/events", body).await;
        assert_eq!(status, 202, "{name}: {answer}");
        assert_eq!(answer["deliveries"], 1, "{name}");
    }
    let received = receiver
        .wait_for(names.len(), Duration::from_secs(20))
        .await;
    assert!(received.iter().all(|r| r.path == "/system"));
    assert!(
        received
            .iter()
            .all(|r| r.header("X-WVS-Event") == Some("System Hook"))
    );
    assert!(
        received
            .iter()
            .any(|r| r.json()["access_level"] == "Maintainer")
    );

    // A group access request reaches the group's member hooks and system hooks.
    let request = samples::find("user_access_request_to_group").unwrap().json;
    let (status, answer) = server
        .ingest(&format!("/groups/{}/events", ids.low), request.as_bytes())
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["deliveries"], 2);
}
