//! Every documented example, ingested through the API, reaches exactly the hooks that
//! subscribed, with the right event header, token and body.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::setup::{GROUP_ONLY_FLAGS, PROJECT_FLAGS, SYSTEM_FLAGS, all_flags, hook, registry};
use crate::support::{Receiver, Server, fixtures, retarget};

/// Where a fixture is posted, and which of the project / group / system hooks get it.
fn route(file: &str, value: &Value) -> (&'static str, [bool; 3]) {
    let name = value
        .get("object_kind")
        .or_else(|| value.get("event_name"))
        .and_then(Value::as_str)
        .unwrap();
    let stem = file.rsplit('/').next().unwrap();
    if file.contains("system-hooks/") {
        return ("system", [false, false, true]);
    }
    // A group's own variants: its projects created or destroyed (`Project Hook`), its access
    // tokens; system hooks get their own variant of the first, posted to the instance.
    if stem.starts_with("group-") || stem.ends_with("-group.json") {
        return ("group", [false, true, false]);
    }
    match name {
        "user_add_to_group"
        | "user_update_for_group"
        | "user_remove_from_group"
        | "user_access_request_to_group"
        | "user_access_request_denied_for_group" => ("group", [false, true, true]),
        "subgroup_create" | "subgroup_destroy" => ("group", [false, true, false]),
        // System hooks take pushes, tag pushes and merge requests of projects.
        "push" | "tag_push" | "merge_request" => ("project", [true, true, true]),
        _ => ("project", [true, true, false]),
    }
}

/// What one ingested fixture must look like where it arrives.
struct Expected {
    file: String,
    header: String,
    /// The body as posted.
    value: Value,
    /// The posted bytes, when they must arrive unchanged (today's examples).
    exact: Option<Vec<u8>>,
    /// Whether the project, group and system hooks get it.
    hooks: [bool; 3],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_reaches_exactly_its_subscribers() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let project_hook = format!("/projects/{}", ids.project);
    // The group hook sits two levels above the project's group.
    let group_hook = format!("/groups/{}", ids.top);
    hook(
        &server,
        &project_hook,
        all_flags(
            &format!("{}/project", receiver.url),
            "project-token",
            &[PROJECT_FLAGS],
        ),
    )
    .await;
    hook(
        &server,
        &group_hook,
        all_flags(
            &format!("{}/group", receiver.url),
            "group-token",
            &[PROJECT_FLAGS, GROUP_ONLY_FLAGS],
        ),
    )
    .await;
    hook(
        &server,
        "",
        all_flags(
            &format!("{}/system", receiver.url),
            "system-token",
            &[SYSTEM_FLAGS],
        ),
    )
    .await;

    // Per event: its file, header, the body as posted, its bytes when they must arrive
    // unchanged, and which hooks get it.
    let mut expected: HashMap<String, Expected> = HashMap::new();
    let mut total = 0;
    for (file, header, bytes) in fixtures() {
        let (target, hooks) = route(&file, &serde_json::from_slice(&bytes).unwrap());
        let path = match target {
            "project" => format!("/projects/{}/events", ids.project),
            "group" => format!("/groups/{}/events", ids.low),
            _ => "/system/events".to_owned(),
        };
        // As posted: naming the project or group it is posted to.
        let posted = retarget(&path, &bytes);
        let value: Value = serde_json::from_slice(&posted).unwrap();
        // Today's examples name everything a payload of their kind has: nothing is filled
        // in, so they arrive byte for byte (older ones may be completed from the registry).
        let exact = file.starts_with("gitlab-").then(|| posted.clone());
        let (status, answer) = server.ingest(&path, &bytes).await;
        assert_eq!(status, 202, "{file}: {answer}");
        let count = hooks.iter().filter(|on| **on).count();
        assert_eq!(answer["deliveries"], count, "{file}");
        total += count;
        let uuid = answer["event_uuid"].as_str().unwrap().to_owned();
        expected.insert(
            uuid,
            Expected {
                file,
                header,
                value,
                exact,
                hooks,
            },
        );
    }
    assert_eq!(expected.len(), 106);

    let received = receiver.wait_for(total, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        total,
        "no delivery beyond the expected ones"
    );
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for request in &received {
        let uuid = request.header("X-WVS-Event-UUID").unwrap().to_owned();
        let Expected {
            file,
            header,
            value,
            exact,
            hooks,
        } = &expected[&uuid];
        let (index, token) = match request.path.as_str() {
            "/project" => (0, "project-token"),
            "/group" => (1, "group-token"),
            "/system" => (2, "system-token"),
            other => panic!("unexpected path {other}"),
        };
        assert!(hooks[index], "{file} must not reach {}", request.path);
        *seen
            .entry((uuid.clone(), request.path.clone()))
            .or_default() += 1;
        let wanted_header = match (index, header.as_str()) {
            (2, _) => "System Hook",
            (_, "Build Hook") => "Job Hook",
            (_, header) => header,
        };
        assert_eq!(
            request.header("X-WVS-Event"),
            Some(wanted_header),
            "{file} at {}",
            request.path
        );
        assert_eq!(request.header("X-WVS-Token"), Some(token), "{file}");
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert!(request.header("Idempotency-Key").is_some());
        assert!(request.header("User-Agent").unwrap().starts_with("WVS/"));
        assert_eq!(
            as_posted(request.json(), value),
            *value,
            "{file}: the body is what was ingested (completed from the registry at most)"
        );
        if let Some(exact) = exact {
            assert!(request.body == *exact, "{file}: byte for byte");
        }
    }
    assert!(
        seen.values().all(|count| *count == 1),
        "each hook gets each event once"
    );
}

/// The delivered body without what normalization may add to a project event that lacks it
/// (older documented versions have no `event_name`, for instance).
fn as_posted(mut delivered: Value, posted: &Value) -> Value {
    if let Value::Object(map) = &mut delivered {
        for key in [
            "project_id",
            "project",
            "repository",
            "event_name",
            "event_type",
        ] {
            if posted.get(key).is_none() {
                map.shift_remove(key);
            }
        }
    }
    delivered
}
