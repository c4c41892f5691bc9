//! `GET /api/v4/openapi.json` parses as OpenAPI 3.1, and every operation it lists is served:
//! the routes and the document come from the same declarations, and this checks the
//! document against the running server.

use crate::support::{ADMIN_TOKEN, Server};

/// A value for a path parameter that routes (the resource need not exist).
fn sample(parameter: &str) -> &'static str {
    match parameter {
        "trigger" => "push_events",
        "key" => "X-Test",
        _ => "4242",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_parses_and_covers_every_route() {
    let server = Server::start(&[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let text = client
        .get(format!("{}/api/v4/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let paths = spec.paths.clone().unwrap_or_default();

    let mut operations = 0;
    for (path, item) in &paths {
        for (method, _) in item.methods() {
            operations += 1;
            let concrete: String = path
                .split('/')
                .map(
                    |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => sample(name),
                        None => segment,
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            let response = client
                .request(method.clone(), format!("{}{concrete}", server.url))
                .header("PRIVATE-TOKEN", ADMIN_TOKEN)
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path}: documented but not routed");
            assert!(
                !body.contains("Route Not Found"),
                "{method} {path}: documented but not routed"
            );
        }
    }
    assert!(operations >= 60, "{operations} operations documented");
    for documented in [
        "/api/v4/projects/{id}/hooks",
        "/api/v4/projects/{id}/push",
        "/api/v4/hooks/{hook_id}",
        "/metrics",
    ] {
        assert!(paths.contains_key(documented), "{documented} is documented");
    }
}
