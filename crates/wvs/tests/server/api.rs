//! The REST API's contract: GitLab shapes and status codes, pagination, parameters as JSON
//! or form, ingest validation and idempotency, test, the log, retries and clean shutdown.

use std::time::Duration;

use serde_json::{Value, json};
use wvs_events::samples;
use wvs_server::api::schema::{MemberParams, TokenParams};

use crate::setup::{hook, registry, user};
use crate::support::{ADMIN_TOKEN, Receiver, Server, retarget};

fn push() -> &'static [u8] {
    samples::find("push").unwrap().json.as_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ssrf_guard_refuses_local_urls() {
    let server = Server::start_guarded(&[]);
    let ids = registry(&server).await;
    // The guard's own table: every literal address is refused with the same reason here
    // (422); a URL that is not an http(s) URL is refused by validation (400). Names under
    // `.test` resolve only through the guard tests' resolver and are left to them.
    let table = include_str!("../../../wvs-send/tests/refused_urls.tsv");
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (url, phrase) = line.split_once('\t').unwrap();
        if url.contains(".test") || url.contains('{') {
            continue;
        }
        let (status, answer) = server
            .api(
                "POST",
                &format!("/projects/{}/hooks", ids.project),
                Some(json!({ "url": url })),
            )
            .await;
        let message = answer["message"].as_str().unwrap_or_default();
        if phrase.contains("scheme") || phrase.contains("invalid URL") {
            assert_eq!(status, 400, "{url}: {answer}");
            assert!(message.starts_with("url is invalid"), "{url}: {message}");
        } else {
            assert_eq!(status, 422, "{url}: {answer}");
            assert!(message.starts_with("url is blocked: "), "{url}: {message}");
            assert!(message.contains(phrase), "{url}: {message}");
        }
        checked += 1;
    }
    assert!(checked >= 60, "{checked}");
    let (status, answer) = server
        .api(
            "POST",
            &format!("/projects/{}/hooks", ids.project),
            Some(json!({ "url": "http://localhost/hook" })),
        )
        .await;
    assert_eq!(status, 422, "a name that resolves to loopback: {answer}");
    // System hooks may reach the local network by default; the cloud metadata address
    // stays refused.
    server
        .expect(
            201,
            "POST",
            "/hooks",
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await;
    let (status, _) = server
        .api(
            "POST",
            "/hooks",
            Some(json!({"url": "http://169.254.169.254/"})),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_crud_with_gitlab_shapes_and_pagination() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let hooks = format!("/projects/{}/hooks", ids.project);
    let created = server
        .expect(
            201,
            "POST",
            &hooks,
            Some(json!({"url": "http://example.com/a", "token": "t1", "issues_events": "true"})),
        )
        .await;
    for field in [
        "id",
        "url",
        "project_id",
        "created_at",
        "push_events",
        "tag_push_events",
        "issues_events",
        "confidential_issues_events",
        "merge_requests_events",
        "note_events",
        "job_events",
        "pipeline_events",
        "wiki_page_events",
        "deployment_events",
        "releases_events",
        "feature_flag_events",
        "enable_ssl_verification",
        "push_events_branch_filter",
        "branch_filter_strategy",
        "token_present",
        "signing_token_present",
        "alert_status",
        "disabled_until",
        "custom_headers",
        "url_variables",
    ] {
        assert!(created.get(field).is_some(), "missing {field}: {created}");
    }
    assert_eq!(created["issues_events"], true);
    assert_eq!(created["push_events"], true, "GitLab's default");
    assert_eq!(created["alert_status"], "executable");
    assert!(created.get("token").is_none());
    let id = created["id"].as_i64().unwrap();

    // Changing the URL clears the token unless a new one comes with it.
    let edited = server
        .expect(
            200,
            "PUT",
            &format!("{hooks}/{id}"),
            Some(json!({"url": "http://example.com/b"})),
        )
        .await;
    assert_eq!(edited["token_present"], false);
    let edited = server
        .expect(
            200,
            "PUT",
            &format!("{hooks}/{id}"),
            Some(json!({"url": "http://example.com/c", "token": "t2"})),
        )
        .await;
    assert_eq!(edited["token_present"], true);

    // Form-encoded parameters, as GitLab accepts them.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v4{hooks}", server.url))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .form(&[
            ("url", "http://example.com/form"),
            ("tag_push_events", "true"),
            ("push_events", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let form_hook: Value = response.json().await.unwrap();
    assert_eq!(
        (
            form_hook["tag_push_events"].clone(),
            form_hook["push_events"].clone()
        ),
        (json!(true), json!(false))
    );
    hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": "http://example.com/third"}),
    )
    .await;

    let (status, headers, body) = server
        .api_raw("GET", &format!("{hooks}?per_page=2"), None, &[])
        .await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(headers["x-total"], "3");
    assert_eq!(headers["x-page"], "1");
    assert_eq!(headers["x-per-page"], "2");
    assert_eq!(headers["x-next-page"], "2");
    assert_eq!(headers["x-total-pages"], "2");
    let link = headers["link"].to_str().unwrap();
    // The whole path, as clients follow it (a nested route once lost all but its tail).
    assert!(
        link.contains(&format!("/api/v4{hooks}?page=2&per_page=2>; rel=\"next\"")),
        "{link}"
    );
    assert!(
        link.starts_with("<http://"),
        "Link URLs are absolute: {link}"
    );

    // The project may be named by its URL-encoded path.
    let by_path = server
        .expect(
            200,
            "GET",
            &format!("/projects/top%2Fmid%2Flow%2Fapp/hooks/{id}"),
            None,
        )
        .await;
    assert_eq!(by_path["id"], id);

    // A hook of another owner is not found; so is an unknown project.
    server
        .expect(404, "GET", &format!("/groups/{}/hooks/{id}", ids.top), None)
        .await;
    let missing = server
        .expect(404, "GET", "/projects/999999/hooks", None)
        .await;
    assert_eq!(missing["message"], "404 Project Not Found");

    // Invalid input names the field.
    let bad = server
        .expect(
            400,
            "POST",
            &hooks,
            Some(json!({"url": "ftp://example.com"})),
        )
        .await;
    assert!(bad["message"].as_str().unwrap().starts_with("url"), "{bad}");
    let too_long = format!("http://example.com/{}", "a".repeat(8192));
    let bad = server
        .expect(400, "POST", &hooks, Some(json!({ "url": too_long })))
        .await;
    assert_eq!(
        bad["message"], "url is too long (maximum is 8192 characters)",
        "{bad}"
    );
    let bad = server
        .expect(
            400,
            "POST",
            &hooks,
            Some(json!({"url": "http://x", "push_events": "sometimes"})),
        )
        .await;
    assert_eq!(bad["message"], "push_events is invalid", "{bad}");

    server
        .expect(204, "DELETE", &format!("{hooks}/{id}"), None)
        .await;
    server
        .expect(404, "GET", &format!("{hooks}/{id}"), None)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_headers_and_url_variables_endpoints() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let authority = receiver.url.trim_start_matches("http://");
    let body = json!({"url": format!("http://{authority}/{{dest}}"), "url_variables": [{"key": "dest", "value": "one"}]});
    let id = hook(&server, &format!("/projects/{}", ids.project), body).await;
    let base = format!("/projects/{}/hooks/{id}", ids.project);
    server
        .expect(
            204,
            "PUT",
            &format!("{base}/custom_headers/X-Team"),
            Some(json!({"value": "blue"})),
        )
        .await;
    // A new destination drops the custom headers, as a new URL drops the token.
    server
        .expect(
            204,
            "PUT",
            &format!("{base}/url_variables/dest"),
            Some(json!({"value": "two"})),
        )
        .await;
    assert_eq!(
        server.expect(200, "GET", &base, None).await["custom_headers"],
        json!([])
    );
    server
        .expect(
            204,
            "PUT",
            &format!("{base}/custom_headers/X-Team"),
            Some(json!({"value": "blue"})),
        )
        .await;
    let shown = server.expect(200, "GET", &base, None).await;
    assert_eq!(shown["custom_headers"], json!([{"key": "X-Team"}]));
    assert_eq!(shown["url"], format!("http://{authority}/{{dest}}"));
    server
        .expect(201, "POST", &format!("{base}/test/push_events"), None)
        .await;
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received[0].path, "/two");
    assert_eq!(received[0].header("X-Team"), Some("blue"));
    server
        .expect(
            204,
            "DELETE",
            &format!("{base}/custom_headers/X-Team"),
            None,
        )
        .await;
    server
        .expect(
            404,
            "DELETE",
            &format!("{base}/custom_headers/X-Team"),
            None,
        )
        .await;
    let shown = server.expect(200, "GET", &base, None).await;
    assert_eq!(shown["custom_headers"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_validates_and_is_idempotent() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/h", receiver.url)}),
    )
    .await;
    let events = format!("/projects/{}/events", ids.project);

    // A missing required field: 400 naming the kind and the field.
    let mut value: Value = serde_json::from_slice(push()).unwrap();
    value.as_object_mut().unwrap().remove("ref");
    let (status, answer) = server
        .ingest(&events, &serde_json::to_vec(&value).unwrap())
        .await;
    assert_eq!(
        (status, answer["message"].as_str().unwrap()),
        (400, "push: .ref: missing field")
    );
    let (status, _) = server.ingest(&events, b"{not json").await;
    assert_eq!(status, 400);
    // Nesting deeper than 64 levels, in a field the model does not know: 400.
    let nested = format!("{}{}", "[".repeat(65), "]".repeat(65));
    let mut body = push().trim_ascii_end().to_vec();
    body.pop(); // the closing brace
    body.extend_from_slice(format!(r#","extra":{nested}}}"#).as_bytes());
    let (status, answer) = server.ingest(&events, &body).await;
    assert_eq!(
        (status, answer["message"].as_str().unwrap()),
        (400, "the event nests deeper than 64 levels")
    );
    // A group event posted to a project: 422.
    let member = samples::find("user_add_to_group").unwrap().json.as_bytes();
    let (status, answer) = server.ingest(&events, member).await;
    assert_eq!(status, 422, "{answer}");
    // Over 26,214,400 bytes: 413, as JSON, from the announced length, before the body is
    // read; and the same when the body comes without a length and is cut off as it is read.
    let too_large = "the body is larger than the limit of 26,214,400 bytes (25 MiB)";
    let (status, answer) = post_announcing(&server, &events, 26_214_401).await;
    assert_eq!((status, answer["message"].as_str()), (413, Some(too_large)));
    let (status, answer) = post_chunked(&server, &events, 26_214_401).await;
    assert_eq!((status, answer["message"].as_str()), (413, Some(too_large)));
    // Without a token: 401.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v4{events}", server.url))
        .body(push().to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // The same Idempotency-Key twice: the first answer, no new delivery.
    let headers = [
        ("Idempotency-Key", "emit-42"),
        ("Content-Type", "application/json"),
    ];
    let post = |body: Vec<u8>| async {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v4{events}", server.url))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .header(headers[0].0, headers[0].1)
            .header(headers[1].0, headers[1].1)
            .body(body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let body = retarget(&events, push());
    let first = post(body.clone()).await;
    let second = post(body.clone()).await;
    assert_eq!(first.0, 202);
    assert_eq!(first, second);
    assert_eq!(first.1["deliveries"], 1);
    // The same key with another body: 422 saying so, nothing stored.
    let mut other: Value = serde_json::from_slice(&body).unwrap();
    other["ref"] = Value::from("refs/heads/other");
    let (status, answer) = post(serde_json::to_vec(&other).unwrap()).await;
    assert_eq!(status, 422, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("Idempotency-Key was already used with another body"),
        "{message}"
    );
    receiver.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1);

    // An unknown project is registered from the event's project block.
    let (status, answer) = server.ingest("/projects/4242/events", push()).await;
    assert_eq!(status, 202, "{answer}");
    let project = server.expect(200, "GET", "/projects/4242", None).await;
    assert_eq!(project["path_with_namespace"], "mike/diaspora");
    server
        .expect(200, "GET", "/projects/mike%2Fdiaspora", None)
        .await;

    // An unknown project without a project block: 404.
    let member_like = serde_json::to_vec(
        &json!({"object_kind": "push", "ref": "refs/heads/x", "before": "0", "after": "1"}),
    )
    .unwrap();
    let (status, _) = server.ingest("/projects/777/events", &member_like).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_logged_filterable_and_resendable() {
    let receiver = Receiver::start().await;
    receiver.set_status(500);
    let server = Server::start(&["--retry-schedule", "300ms,300ms"]);
    let ids = registry(&server).await;
    let id = hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/h", receiver.url), "token": "tok"}),
    )
    .await;
    let base = format!("/projects/{}/hooks/{id}", ids.project);

    // A failing test answers 422 with the reason.
    let failed = server
        .expect(422, "POST", &format!("{base}/test/push_events"), None)
        .await;
    assert!(
        failed["message"].as_str().unwrap().contains("500"),
        "{failed}"
    );

    let events = format!("/projects/{}/events", ids.project);
    let (status, _) = server.ingest(&events, push()).await;
    assert_eq!(status, 202);
    receiver.wait_for(2, Duration::from_secs(10)).await; // test + first attempt
    receiver.set_status(200);
    let received = receiver.wait_for(3, Duration::from_secs(10)).await;
    // Retries carry the same Idempotency-Key and event UUID.
    let attempts: Vec<_> = received.iter().skip(1).collect();
    assert_eq!(
        attempts[0].header("Idempotency-Key"),
        attempts[1].header("Idempotency-Key")
    );
    assert_eq!(
        attempts[0].header("X-WVS-Event-UUID"),
        attempts[1].header("X-WVS-Event-UUID")
    );

    let log = server.wait_for_log(&format!("{base}/events"), 3).await;
    let statuses: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["200", "500", "500"], "newest first");
    let entry = &log[0];
    assert_eq!(entry["trigger"], "push_hooks");
    assert_eq!(entry["request_headers"]["X-WVS-Token"], "[REDACTED]");
    assert_eq!(
        entry["request_data"],
        serde_json::from_slice::<Value>(&retarget(&events, push())).unwrap()
    );
    assert!(entry["execution_duration"].as_f64().unwrap() >= 0.0);
    let failures = server
        .expect(
            200,
            "GET",
            &format!("{base}/events?status=server_failure"),
            None,
        )
        .await;
    assert_eq!(failures.as_array().unwrap().len(), 2);
    let ok = server
        .expect(200, "GET", &format!("{base}/events?status=200"), None)
        .await;
    assert_eq!(ok.as_array().unwrap().len(), 1);
    server
        .expect(400, "GET", &format!("{base}/events?status=sometimes"), None)
        .await;

    // Resend: the original body, event UUID and Idempotency-Key.
    let resent = server
        .expect(
            201,
            "POST",
            &format!("{base}/events/{}/resend", entry["id"]),
            None,
        )
        .await;
    assert_eq!(resent["response_status"], 200);
    let received = receiver.wait_for(4, Duration::from_secs(10)).await;
    assert_eq!(
        received[3].header("Idempotency-Key"),
        received[2].header("Idempotency-Key")
    );
    assert_eq!(received[3].body, received[2].body);

    // A receiver that is down: the log says `internal error` with the reason.
    let down = Receiver::start().await;
    let down_url = down.url.clone();
    down.stop();
    let gone = hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{down_url}/x"), "push_events": false}),
    )
    .await;
    server
        .expect(
            422,
            "POST",
            &format!("/projects/{}/hooks/{gone}/test/push_events", ids.project),
            None,
        )
        .await;
    let log = server
        .expect(
            200,
            "GET",
            &format!("/projects/{}/hooks/{gone}/events", ids.project),
            None,
        )
        .await;
    assert_eq!(log[0]["response_status"], "internal error");
    assert!(
        log[0]["internal_error_message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_health_and_clean_shutdown() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let version = server.expect(200, "GET", "/version", None).await;
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    let health = reqwest::get(format!("{}/-/health", server.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // SIGTERM: the process exits cleanly, and what was acknowledged is delivered after a
    // restart.
    let ids = registry(&server).await;
    receiver.set_status(503);
    hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/h", receiver.url)}),
    )
    .await;
    let (status, answer) = server
        .ingest(&format!("/projects/{}/events", ids.project), push())
        .await;
    assert_eq!(status, 202);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let dir = server.dir.clone();
    assert!(server.terminate().success(), "a clean exit on SIGTERM");
    receiver.set_status(200);
    let _restarted = Server::start_in(&dir, &["--retry-schedule", "0s,200ms"]);
    let received = receiver.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(
        received[1].header("X-WVS-Event-UUID"),
        answer["event_uuid"].as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_paths_follow_group_moves() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let other = server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({"name": "Other", "path": "other"})),
        )
        .await;
    server
        .expect(
            200,
            "PUT",
            &format!("/groups/{}", ids.mid),
            Some(json!({"parent_id": other["id"]})),
        )
        .await;
    let project = server
        .expect(200, "GET", &format!("/projects/{}", ids.project), None)
        .await;
    assert_eq!(project["path_with_namespace"], "other/mid/low/app");
    server
        .expect(
            409,
            "POST",
            "/groups",
            Some(json!({"name": "Other", "path": "other"})),
        )
        .await;
    server
        .expect(202, "DELETE", &format!("/groups/{}", ids.mid), None)
        .await;
    server
        .expect(404, "GET", &format!("/projects/{}", ids.project), None)
        .await;
    let (status, headers, _) = server.api_raw("GET", "/groups", None, &[]).await;
    assert_eq!((status, headers["x-total"].to_str().unwrap()), (200, "2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_in_a_path_that_is_not_a_number_is_a_bad_request_naming_it() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let hook_id = hook(&server, &owner, json!({"url": "http://127.0.0.1:9/"})).await;
    for (method, path, name) in [
        (
            "POST",
            format!("{owner}/hooks/{hook_id}/events/x1/resend"),
            "event_id",
        ),
        ("DELETE", format!("{owner}/access_tokens/x1"), "token_id"),
    ] {
        let (status, _, body) = server.api_raw(method, &path, None, &[]).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body.contains(&format!("Cannot parse `{name}` with value `x1` to a `i64`")),
            "{path}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_and_resends_are_limited_to_five_a_minute_per_hook() {
    let server = Server::start(&[]);
    let receiver = Receiver::start().await;
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let first = hook(&server, &owner, json!({"url": receiver.url})).await;
    let second = hook(&server, &owner, json!({"url": receiver.url})).await;
    let test = |hook_id: i64| format!("{owner}/hooks/{hook_id}/test/push_events");
    for _ in 0..4 {
        server.expect(201, "POST", &test(first), None).await;
    }
    // A resend counts too: the fifth request.
    let attempt = server.hook_log(&owner, first).await[0].id;
    server
        .expect(
            201,
            "POST",
            &format!("{owner}/hooks/{first}/events/{attempt}/resend"),
            None,
        )
        .await;
    // The sixth, a test or a resend: 429, with the seconds until the window ends.
    let resend = format!("{owner}/hooks/{first}/events/{attempt}/resend");
    for path in [test(first), resend] {
        let (status, headers, body) = server.api_raw("POST", &path, None, &[]).await;
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 429, "{path}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("too many times")
        );
        let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            (1..=60).contains(&retry_after),
            "Retry-After: {retry_after}"
        );
    }
    server.expect(201, "POST", &test(second), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_webhook_template_replaces_the_body() {
    let server = Server::start(&[]);
    let receiver = Receiver::start().await;
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let template = r#"{"event": "{{object_kind}}", "first": "{{commits.0.id}}", "project": {{project.id}}, "count": {{total_commits_count}}}"#;
    let hook_id = hook(
        &server,
        &owner,
        json!({"url": receiver.url, "custom_webhook_template": template}),
    )
    .await;
    let (status, answer) = server
        .api(
            "POST",
            &format!("{owner}/hooks"),
            Some(json!({"url": receiver.url, "custom_webhook_template": "{\"a\": {{x}"})),
        )
        .await;
    assert_eq!(status, 400, "refused at save: {answer}");
    let events = format!("{owner}/events");
    server.ingest(&events, push()).await;
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    let event: Value = serde_json::from_slice(&retarget(&events, push())).unwrap();
    assert_eq!(
        received[0].json(),
        json!({
            "event": "push",
            "first": event["commits"][0]["id"],
            "project": event["project"]["id"],
            "count": event["total_commits_count"],
        })
    );
    // The log keeps what was sent (recorded after the receiver answered: wait for it).
    let log = server
        .wait_for_log(&format!("{owner}/hooks/{hook_id}/events"), 1)
        .await;
    assert_eq!(log[0]["request_data"], received[0].json());
}

/// Posts to `path` a request that announces a body of `length` bytes and sends none, over a
/// bare connection, and reads the answer. (Sending an oversized body instead races the
/// server, which answers from the header and closes, against the client still writing it.)
async fn post_announcing(server: &Server, path: &str, length: usize) -> (u16, Value) {
    let head = format!("Content-Length: {length}\r\n");
    post_raw(server, path, &head, Vec::new()).await
}

/// Posts `length` bytes of a JSON string in chunks (`Transfer-Encoding: chunked`, no length
/// announced); returns the status and the JSON answer.
async fn post_chunked(server: &Server, path: &str, length: usize) -> (u16, Value) {
    const CHUNK: usize = 1024 * 1024;
    let mut body = Vec::with_capacity(length + 64);
    let mut left = length;
    while left > 0 {
        let size = left.min(CHUNK);
        body.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        body.resize(body.len() + size, b' ');
        body.extend_from_slice(b"\r\n");
        left -= size;
    }
    body.extend_from_slice(b"0\r\n\r\n");
    post_raw(server, path, "Transfer-Encoding: chunked\r\n", body).await
}

/// Sends a POST with the extra `headers` lines and `body` bytes on a connection of its own
/// (written beside the reading: the server may answer and close before it is all sent).
async fn post_raw(server: &Server, path: &str, headers: &str, body: Vec<u8>) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.url.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/v4{path} HTTP/1.1\r\nHost: {address}\r\nPRIVATE-TOKEN: {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\n{headers}Connection: close\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut answer = Vec::new();
    // A reset after the answer (the server closed with body bytes unread) ends the read.
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer))
        .await
        .expect("the server answers in time");
    writing.abort();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// `wvs trigger KIND --print` writes the sample it would send, and a server takes it as an
/// event of the project it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_sample_is_accepted_by_ingest() {
    let server = Server::start(&[]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wvs"))
        .args(["trigger", "push", "--print"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        output.stdout,
        samples::find("push").unwrap().json.as_bytes()
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let project = printed["project_id"].as_i64().unwrap();
    let events = format!("/projects/{project}/events");
    let (status, _, body) = server.api_raw_bytes("POST", &events, &output.stdout).await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
}

/// Header names go on the wire Title-Case, as GitLab's Ruby `Net::HTTP` writes them (each
/// word capitalized: `X-Gitlab-Event-Uuid`), in both flavors; hyper alone writes lower case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_names_are_written_title_case_in_both_flavors() {
    for (flavor, prefix) in [("gitlab", "X-Gitlab"), ("wvs", "X-Wvs")] {
        let server = Server::start(&["--flavor", flavor]);
        let (url, heads) = crate::scripted::recording_heads().await;
        let ids = registry(&server).await;
        let owner = format!("/projects/{}", ids.project);
        let id = hook(&server, &owner, json!({"url": url, "token": "s3cret"})).await;
        server
            .expect(
                201,
                "POST",
                &format!("{owner}/hooks/{id}/test/push_events"),
                None,
            )
            .await;
        let head = heads.lock().unwrap()[0].clone();
        let names: Vec<&str> = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':').map(|(name, _)| name))
            .collect();
        for expected in [
            format!("{prefix}-Event"),
            format!("{prefix}-Token"),
            format!("{prefix}-Event-Uuid"),
            format!("{prefix}-Webhook-Uuid"),
            format!("{prefix}-Instance"),
            "Idempotency-Key".to_owned(),
            "User-Agent".to_owned(),
            "Content-Type".to_owned(),
        ] {
            assert!(
                names.contains(&expected.as_str()),
                "{flavor}: {expected} in {head}"
            );
        }
    }
}

/// A hook test is an execution of its own, as in GitLab: it sends the project's latest push
/// with a new event UUID and Idempotency-Key; a resend keeps the original key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_is_a_new_execution_and_a_resend_is_not() {
    let server = Server::start(&[]);
    let receiver = crate::scripted::Scripted::start(|_| crate::scripted::Reply::Status(200)).await;
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let id = hook(
        &server,
        &owner,
        json!({"url": receiver.url, "push_events": true}),
    )
    .await;
    let (status, answer) = server.ingest(&format!("{owner}/events"), push()).await;
    assert_eq!(status, 202, "{answer}");
    receiver.wait_for(1, Duration::from_secs(30)).await;
    let log = server
        .wait_for_log(&format!("{owner}/hooks/{id}/events"), 1)
        .await;
    let original = log[0]["id"].as_i64().unwrap();

    server
        .expect(
            201,
            "POST",
            &format!("{owner}/hooks/{id}/test/push_events"),
            None,
        )
        .await;
    let resend = format!("{owner}/hooks/{id}/events/{original}/resend");
    server.expect(201, "POST", &resend, None).await;
    let arrivals = receiver.wait_for(3, Duration::from_secs(30)).await;
    let (delivery, test, resent) = (&arrivals[0], &arrivals[1], &arrivals[2]);
    assert!(!test.event_uuid.is_empty() && !test.idempotency_key.is_empty());
    assert_ne!(test.event_uuid, delivery.event_uuid);
    assert_ne!(test.idempotency_key, delivery.idempotency_key);
    assert_eq!(resent.event_uuid, delivery.event_uuid);
    assert_eq!(resent.idempotency_key, delivery.idempotency_key);
}

/// Hook flags a scope does not have are ignored, as GitLab ignores unknown attributes; a
/// flag the scope has still needs a boolean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_a_scope_does_not_have_are_ignored() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let url = "http://127.0.0.1:9/hook";
    let created = server
        .expect(
            201,
            "POST",
            "/hooks",
            Some(json!({"url": url, "issues_events": true, "member_events": "maybe"})),
        )
        .await;
    assert_eq!(created.get("issues_events"), None, "{created}");
    let project = format!("/projects/{}/hooks", ids.project);
    let created = server
        .expect(
            201,
            "POST",
            &project,
            Some(json!({"url": url, "subgroup_events": true})),
        )
        .await;
    let edit = format!("{project}/{}", created["id"]);
    server
        .expect(200, "PUT", &edit, Some(json!({"member_events": true})))
        .await;
    let (status, answer) = server
        .api(
            "POST",
            "/hooks",
            Some(json!({"url": url, "push_events": "maybe"})),
        )
        .await;
    assert_eq!(
        (status, &answer["message"]),
        (400, &json!("push_events is invalid"))
    );
}

/// A project posted without a namespace goes to the admin's user namespace `root`, as
/// GitLab puts it in the current user's; a group's `full_name` is its ancestry's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_without_namespace_is_the_admins_and_full_names_name_the_ancestry() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let project = server
        .expect(201, "POST", "/projects", Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(project["path_with_namespace"], "root/mine", "{project}");
    assert_eq!(project["namespace"]["kind"], "user");
    assert_eq!(project["namespace"]["full_path"], "root");

    let low = server
        .expect(200, "GET", &format!("/groups/{}", ids.low), None)
        .await;
    assert_eq!(low["full_name"], "Top / Mid / Low", "{low}");
    assert_eq!(low["full_path"], "top/mid/low");
    let renamed = server
        .expect(
            200,
            "PUT",
            &format!("/groups/{}", ids.mid),
            Some(json!({"name": "Middle"})),
        )
        .await;
    assert_eq!(renamed["full_name"], "Top / Middle");
    let listed = server.expect(200, "GET", "/groups", None).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Top", "Top / Middle", "Top / Middle / Low"]);
}

/// Every list endpoint pages as GitLab's do, also those read whole from the store: access
/// tokens, members and users found by username.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_members_lists_are_paged() {
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let project = format!("/projects/{}", ids.project);
    let group = format!("/groups/{}", ids.mid);
    for n in 0..3 {
        let token = TokenParams {
            name: format!("t{n}"),
            scopes: None,
            expires_at: Some("2030-01-01".to_owned()),
        };
        server.create_access_token(&project, &token).await;
        let params = user(&format!("u{n}"), "U", &format!("u{n}@example.com"));
        let member = MemberParams {
            user_id: Some(server.create_user(&params).await.id),
            access_level: Some(30),
            ..MemberParams::default()
        };
        server.add_member(&group, &member).await;
    }
    for list in [
        format!("{project}/access_tokens"),
        format!("{group}/members"),
    ] {
        for (page, count) in [(1, 2), (2, 1)] {
            let (status, headers, body) = server
                .api_raw("GET", &format!("{list}?per_page=2&page={page}"), None, &[])
                .await;
            assert_eq!(status, 200, "{list}");
            assert_eq!(headers["x-total"], "3", "{list}");
            assert_eq!(headers["x-total-pages"], "2", "{list}");
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body.as_array().unwrap().len(), count, "{list} page {page}");
        }
    }
    let (status, headers, _) = server.api_raw("GET", "/users?username=u1", None, &[]).await;
    assert_eq!((status, headers["x-total"].to_str().unwrap()), (200, "1"));
}
