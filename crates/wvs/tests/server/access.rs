//! Scoped access: project and group access tokens reach their own hooks, logs and ingest,
//! and nothing else. Another tenant's resources answer 404 on every endpoint, exactly as if
//! they did not exist; instance-wide routes answer 403.

use serde_json::{Value, json};
use wvs_events::samples;
use wvs_server::api::schema::TokenParams;

use crate::setup::{hook, other_tenant, registry};
use crate::support::{Receiver, Server, retarget};

/// Sends a request with `token` instead of the admin token; returns the status and body.
pub async fn call(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .request(method, format!("{}/api/v4{path}", server.url))
        .header("PRIVATE-TOKEN", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `event` naming the project or group of the ingest `path` (see [`retarget`]).
fn posted_to(path: &str, event: &Value) -> Value {
    serde_json::from_slice(&retarget(path, &serde_json::to_vec(event).unwrap())).unwrap()
}

pub async fn token(server: &Server, owner: &str) -> String {
    let params = TokenParams {
        name: "ci".to_owned(),
        scopes: Some(vec!["api".to_owned()]),
        expires_at: None,
    };
    let created = server.create_access_token(owner, &params).await;
    assert_eq!(created.scopes, ["api"]);
    created.token.expect("the new token's secret")
}

/// Every hook, log and ingest endpoint of `owner` (a `/projects/:id` or `/groups/:id`
/// prefix) for the hook `hook_id` and the logged attempt `attempt_id`.
fn endpoints(
    owner: &str,
    hook_id: i64,
    attempt_id: i64,
) -> Vec<(&'static str, String, Option<Value>)> {
    let hooks = format!("{owner}/hooks");
    let one = format!("{hooks}/{hook_id}");
    // A valid event of the owner's kind: the answer must depend on the owner alone.
    let kind = if owner.starts_with("/groups") {
        "user_add_to_group"
    } else {
        "push"
    };
    let event: Value = serde_json::from_str(samples::find(kind).unwrap().json).unwrap();
    vec![
        ("GET", hooks.clone(), None),
        ("POST", hooks, Some(json!({"url": "https://example.com/x"}))),
        ("GET", one.clone(), None),
        ("PUT", one.clone(), Some(json!({"name": "taken over"}))),
        ("POST", format!("{one}/test/push_events"), None),
        ("GET", format!("{one}/events"), None),
        ("POST", format!("{one}/events/{attempt_id}/resend"), None),
        ("POST", format!("{one}/enable"), None),
        (
            "PUT",
            format!("{one}/custom_headers/X-A"),
            Some(json!({"value": "v"})),
        ),
        ("DELETE", format!("{one}/custom_headers/X-A"), None),
        (
            "PUT",
            format!("{one}/url_variables/v"),
            Some(json!({"value": "v"})),
        ),
        ("DELETE", format!("{one}/url_variables/v"), None),
        ("DELETE", one, None),
        (
            "POST",
            format!("{owner}/events"),
            Some(posted_to(&format!("{owner}/events"), &event)),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_reach_their_scope_and_nothing_else() {
    let server = Server::start(&[]);
    let receiver = Receiver::start().await;
    let ours = registry(&server).await;
    // Another tenant: group `other` with project `other/app`, a hook on each, one delivery.
    let (other_group, other_project) = other_tenant(&server).await;
    let hook_body = json!({"url": receiver.url, "push_events": true, "member_events": true});
    let project_owner = format!("/projects/{other_project}");
    let group_owner = format!("/groups/{other_group}");
    let other_project_hook = hook(&server, &project_owner, json!({"url": receiver.url})).await;
    let other_group_hook = hook(&server, &group_owner, hook_body).await;
    let push = samples::find("push").unwrap().json.as_bytes();
    let (status, _) = server
        .ingest(&format!("{project_owner}/events"), push)
        .await;
    assert_eq!(status, 202);
    receiver
        .wait_for(2, std::time::Duration::from_secs(10))
        .await;
    let logged = server
        .wait_for_log(
            &format!("{project_owner}/hooks/{other_project_hook}/events"),
            1,
        )
        .await;
    let attempt = logged[0]["id"].as_i64().unwrap();

    let project_token = token(&server, &format!("/projects/{}", ours.project)).await;
    let group_token = token(&server, &format!("/groups/{}", ours.mid)).await;

    // Another tenant's project and group, by id and by path: 404, every endpoint.
    let mut targets = Vec::new();
    for owner in [project_owner.clone(), "/projects/other%2Fapp".to_owned()] {
        targets.extend(endpoints(&owner, other_project_hook, attempt));
    }
    for owner in [group_owner.clone(), "/groups/other".to_owned()] {
        targets.extend(endpoints(&owner, other_group_hook, attempt));
    }
    // The group token's ancestor is outside its reach too.
    targets.extend(endpoints(
        &format!("/groups/{}", ours.top),
        other_group_hook,
        attempt,
    ));
    for token in [&project_token, &group_token] {
        for (method, path, body) in &targets {
            let (status, answer) = call(&server, token, method, path, body.clone()).await;
            assert_eq!(status, 404, "{method} {path}: {answer}");
        }
    }
    // A hook id of another tenant under one's own project: 404 as well.
    let own = format!("/projects/{}", ours.project);
    for (method, path, body) in endpoints(&own, other_project_hook, attempt) {
        if path.ends_with("/hooks") || path.ends_with("/events") && !path.contains("/hooks/") {
            continue;
        }
        let (status, answer) = call(&server, &project_token, method, &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    // Instance-wide routes: 403.
    for (method, path) in [
        ("GET", "/hooks".to_owned()),
        ("GET", "/projects".to_owned()),
        ("POST", "/system/events".to_owned()),
        ("GET", format!("{own}/access_tokens")),
    ] {
        let (status, _) = call(&server, &project_token, method, &path, None).await;
        assert_eq!(status, 403, "{method} {path}");
    }

    // Within reach: the project token manages its project's hooks and posts its events; the
    // group token reaches its subgroup and the project beneath.
    let body = json!({"url": receiver.url});
    let (status, _) = call(
        &server,
        &project_token,
        "POST",
        &format!("{own}/hooks"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let (status, answer) = call(
        &server,
        &project_token,
        "GET",
        &format!("{own}/hooks"),
        None,
    )
    .await;
    assert_eq!((status, answer.as_array().unwrap().len()), (200, 1));
    let events = format!("{own}/events");
    let push_value = posted_to(&events, &serde_json::from_slice(push).unwrap());
    let (status, _) = call(&server, &project_token, "POST", &events, Some(push_value)).await;
    assert_eq!(status, 202);
    for path in [
        format!("/groups/{}/hooks", ours.low),
        format!("{own}/hooks"),
    ] {
        let (status, answer) = call(&server, &group_token, "GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }

    // A revoked token no longer works; a wrong one never did.
    let tokens = server
        .expect(200, "GET", &format!("{own}/access_tokens"), None)
        .await;
    let token_id = tokens[0]["id"].as_i64().unwrap();
    assert!(tokens[0].get("token").is_none(), "shown once");
    server
        .expect(
            204,
            "DELETE",
            &format!("{own}/access_tokens/{token_id}"),
            None,
        )
        .await;
    let (status, _) = call(
        &server,
        &project_token,
        "GET",
        &format!("{own}/hooks"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(&server, "wvsat_nope", "GET", &format!("{own}/hooks"), None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_keeps_its_expiry_date_and_one_in_the_past_is_refused() {
    let server = Server::start(&[]);
    let ours = registry(&server).await;
    let tokens = format!("/projects/{}/access_tokens", ours.project);
    let body = json!({"name": "ci", "expires_at": "2099-06-30"});
    let created = server.expect(201, "POST", &tokens, Some(body)).await;
    assert_eq!(created["expires_at"], "2099-06-30");
    let listed = server.expect(200, "GET", &tokens, None).await;
    assert_eq!(listed[0]["expires_at"], "2099-06-30");
    let body = json!({"name": "ci", "expires_at": "2020-01-01"});
    let refused = server.expect(400, "POST", &tokens, Some(body)).await;
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("expires_at"), "{message}");
}
