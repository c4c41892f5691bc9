//! Secrets never appear in an API response or in a stored log row.

use std::time::Duration;

use serde_json::json;
use wvs_events::SigningSecret;
use wvs_store::{HookId, Page, StatusFilter, Store};

use crate::setup::registry;
use crate::support::{Receiver, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_responses_or_the_log() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let signing = SigningSecret::generate().expose();
    let secrets = [
        "tok-SECRET-1",
        "hdr-SECRET-2",
        "var-SECRET-3",
        "pw-SECRET-4",
        signing.as_str(),
    ];
    let authority = receiver.url.trim_start_matches("http://");
    let body = json!({
        "url": format!("http://user:pw-SECRET-4@{authority}/{{path}}"),
        "token": "tok-SECRET-1",
        "signing_token": signing,
        "custom_headers": [{"key": "X-Custom", "value": "hdr-SECRET-2"}],
        "url_variables": [{"key": "path", "value": "var-SECRET-3"}],
        "push_events": true,
    });
    let owner = format!("/projects/{}", ids.project);
    let mut responses = Vec::new();
    let created = server
        .expect(201, "POST", &format!("{owner}/hooks"), Some(body))
        .await;
    let hook_id = created["id"].as_i64().unwrap();
    assert_eq!(created["token_present"], true);
    assert_eq!(created["signing_token_present"], true);
    assert_eq!(created["custom_headers"], json!([{"key": "X-Custom"}]));
    assert_eq!(created["url_variables"], json!([{"key": "path"}]));
    responses.push(created.to_string());

    let push = wvs_events::samples::find("push").unwrap().json.as_bytes();
    let (status, answer) = server.ingest(&format!("{owner}/events"), push).await;
    assert_eq!(status, 202);
    responses.push(answer.to_string());
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    // The receiver does get them: the secrets work, they are only kept out of sight.
    assert_eq!(received[0].path, "/var-SECRET-3");
    assert_eq!(received[0].header("X-WVS-Token"), Some("tok-SECRET-1"));
    assert_eq!(received[0].header("X-Custom"), Some("hdr-SECRET-2"));
    assert!(
        received[0]
            .header("Authorization")
            .unwrap()
            .starts_with("Basic ")
    );

    let hook_path = format!("{owner}/hooks/{hook_id}");
    responses.push(
        server
            .expect(201, "POST", &format!("{hook_path}/test/push_events"), None)
            .await
            .to_string(),
    );
    let log = server
        .expect(200, "GET", &format!("{hook_path}/events"), None)
        .await;
    let first = log[0]["id"].as_i64().unwrap();
    responses.push(log.to_string());
    responses.push(
        server
            .expect(
                201,
                "POST",
                &format!("{hook_path}/events/{first}/resend"),
                None,
            )
            .await
            .to_string(),
    );
    responses.push(
        server
            .expect(200, "GET", &hook_path, None)
            .await
            .to_string(),
    );
    responses.push(
        server
            .expect(200, "GET", &format!("{owner}/hooks"), None)
            .await
            .to_string(),
    );
    responses.push(
        server
            .expect(200, "PUT", &hook_path, Some(json!({"name": "renamed"})))
            .await
            .to_string(),
    );
    responses.push(
        server
            .expect(200, "GET", &format!("{hook_path}/events"), None)
            .await
            .to_string(),
    );
    for response in &responses {
        for secret in secrets {
            assert!(
                !response.contains(secret),
                "a response shows a secret: {response}"
            );
        }
    }

    // The stored log rows, read straight from the database file.
    // Nothing in clear in the database files either: hook URLs and secrets are encrypted
    // with the key the server created beside the database on first start.
    for file in ["wvs.db", "wvs.db-wal"] {
        let Ok(bytes) = std::fs::read(server.dir.join(file)) else {
            continue;
        };
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{file} holds a secret in clear");
        }
    }
    let key = std::fs::read_to_string(server.dir.join("wvs.key")).unwrap();
    let key = wvs_store::SecretKey::from_base64(&key).unwrap();
    let store = wvs_store::sqlite::SqliteStore::open(&server.dir.join("wvs.db"), &key)
        .await
        .unwrap();
    let rows = store
        .list_attempts(
            HookId(hook_id),
            StatusFilter::All,
            Page {
                page: 1,
                per_page: 100,
            },
        )
        .await
        .unwrap();
    assert!(rows.total >= 3);
    for row in rows.items {
        let text = format!(
            "{} {:?} {:?} {}",
            row.url,
            row.request_headers,
            row.response_headers,
            String::from_utf8_lossy(&row.response_body)
        );
        for secret in secrets {
            assert!(!text.contains(secret), "a log row shows a secret: {text}");
        }
    }
}

/// Checks a delivery's Standard Webhooks signature header against `secret`.
fn signed_with(received: &crate::support::Received, secret: &str) -> bool {
    let secret = SigningSecret::parse(secret).unwrap();
    wvs_events::signature::verify(
        &[secret],
        received.header("webhook-id").unwrap(),
        received.header("webhook-timestamp").unwrap(),
        received.header("webhook-signature").unwrap(),
        &received.body,
        chrono::Utc::now().timestamp(),
    )
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_signing_secret_is_shown_once_and_rotation_signs_with_both() {
    let receiver = Receiver::start().await;
    let server = Server::start(&["--signing-token-grace", "2s"]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let body = json!({"url": receiver.url, "generate_signing_token": true});
    let created = server
        .expect(201, "POST", &format!("{owner}/hooks"), Some(body))
        .await;
    let first = created["signing_token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("whsec_"));
    let hook_path = format!("{owner}/hooks/{}", created["id"]);
    let shown = server.expect(200, "GET", &hook_path, None).await;
    assert_eq!(
        shown["signing_token"],
        serde_json::Value::Null,
        "shown once"
    );
    assert_eq!(shown["signing_token_present"], true);

    let push = wvs_events::samples::find("push").unwrap().json.as_bytes();
    let events = format!("{owner}/events");
    server.ingest(&events, push).await;
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert!(signed_with(&received[0], &first));

    // A new secret: for the grace period, deliveries carry both signatures.
    let rotated = server
        .expect(
            200,
            "PUT",
            &hook_path,
            Some(json!({"generate_signing_token": true})),
        )
        .await;
    let second = rotated["signing_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(!rotated["signing_token_rotation_ends_at"].is_null());
    server.ingest(&events, push).await;
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    let during = &received[1];
    assert_eq!(
        during
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    assert!(signed_with(during, &first) && signed_with(during, &second));

    // After it, only the new secret signs.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    server.ingest(&events, push).await;
    let received = receiver.wait_for(3, Duration::from_secs(10)).await;
    let after = &received[2];
    assert!(signed_with(after, &second) && !signed_with(after, &first));
    let shown = server.expect(200, "GET", &hook_path, None).await;
    assert_eq!(
        shown["signing_token_rotation_ends_at"],
        serde_json::Value::Null
    );
}
