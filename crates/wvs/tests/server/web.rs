//! The web interface: plain HTTP checks of sessions, CSRF and secrets, and one walk through
//! the pages in a real browser (headless Chromium driven over WebDriver by `thirtyfour`).
//!
//! The browser test needs `chromedriver` and `chromium` (Debian's `chromium-driver` and
//! `chromium`; `.ci/run` installs them). Without them it fails: it is never skipped.
//! Screenshots of every page it visits, at 1280 px and at a phone's 400 px, go to
//! `web-screenshots/` under the target directory's test scratch space
//! (`CARGO_TARGET_TMPDIR`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;
use thirtyfour::common::capabilities::chromium::ChromiumLikeCapabilities;
use thirtyfour::prelude::*;

use crate::support::{ADMIN_TOKEN, Receiver, Server};

// ---------------------------------------------------------------- plain HTTP

/// A browser without a browser: one session cookie, no redirects followed.
struct Visitor {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

/// A page's answer: status, `Set-Cookie` values, `Location`, body.
struct Answer {
    status: StatusCode,
    cookies: Vec<String>,
    location: Option<String>,
    body: String,
}

impl Visitor {
    fn new(server: &Server) -> Visitor {
        Visitor {
            base: server.url.clone(),
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie.as_str()),
            None => request,
        };
        let response = request.send().await.expect("the page answers");
        let cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        if let Some(cookie) = cookies.last() {
            self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        }
        Answer {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|value| value.to_str().unwrap().to_owned()),
            cookies,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        self.send(request).await
    }

    /// The CSRF token of the form on the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        csrf_of(&page.body)
    }

    async fn sign_in(&mut self, token: &str) {
        let csrf = self.csrf("/-/sign_in").await;
        let answer = self
            .post("/-/sign_in", &[("_csrf", &csrf), ("token", token)])
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    }
}

fn csrf_of(body: &str) -> String {
    let start = body
        .find(r#"name="_csrf" value=""#)
        .expect("a form with a CSRF token")
        + r#"name="_csrf" value=""#.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// A server with group `acme` and project 15 `acme/web`.
async fn server_with_project(extra_args: &[&str]) -> Server {
    let server = Server::start(extra_args);
    server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({"name": "Acme", "path": "acme"})),
        )
        .await;
    let project = json!({"id": 15, "name": "Web", "path": "web", "namespace_path": "acme"});
    server.expect(201, "POST", "/projects", Some(project)).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_the_browser_security_headers() {
    let server = Server::start(&[]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The sign-in page, and the home page's redirect to it.
    for (path, status) in [("/-/sign_in", StatusCode::OK), ("/", StatusCode::SEE_OTHER)] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(
                "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; \
                 frame-ancestors 'none'"
            ),
            "{path}"
        );
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_needs_its_sessions_csrf_token() {
    let server = server_with_project(&[]).await;
    let mut visitor = Visitor::new(&server);
    // Signing in without the form's token is refused too.
    let answer = visitor.post("/-/sign_in", &[("token", ADMIN_TOKEN)]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    visitor.sign_in(ADMIN_TOKEN).await;
    let form = [("url", "http://127.0.0.1:9/hook"), ("push_events", "on")];
    let answer = visitor.post("/projects/15/hooks", &form).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "no token");
    let mut forged = form.to_vec();
    forged.push(("_csrf", "forged"));
    let answer = visitor.post("/projects/15/hooks", &forged).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "a wrong token");
    let (_, hooks) = server.api("GET", "/projects/15/hooks", None).await;
    assert_eq!(hooks, json!([]), "nothing was created");

    let csrf = visitor.csrf("/projects/15/hooks/new").await;
    let mut good = form.to_vec();
    good.push(("_csrf", &csrf));
    // The delivery settings of the API are in the form too.
    good.extend([
        ("flavor", "gitlab"),
        ("max_in_flight", "7"),
        ("ordered", "on"),
    ]);
    let answer = visitor.post("/projects/15/hooks", &good).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let created = server
        .expect(200, "GET", "/projects/15/hooks/1", None)
        .await;
    assert_eq!(
        (
            &created["flavor"],
            &created["max_in_flight"],
            &created["ordered"]
        ),
        (&json!("gitlab"), &json!(7), &json!(true))
    );
    let edit = visitor.get("/projects/15/hooks/1/edit").await.body;
    assert!(
        edit.contains(r#"<option value="gitlab" selected>"#)
            && edit.contains(r#"name="max_in_flight" min="1" max="1000" value="7""#)
            && edit.contains(r#"name="ordered" checked"#),
        "{edit}"
    );
    // The list shows the limit in force: one at a time, the hook being ordered.
    let list = visitor.get("/projects/15/hooks").await.body;
    assert!(list.contains("Up to 1 in flight at once"), "{list}");
    // Another session's token is no good either.
    let mut other = Visitor::new(&server);
    other.sign_in(ADMIN_TOKEN).await;
    let answer = other
        .post("/projects/15/hooks/1/delete", &[("_csrf", &csrf)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_http_only_strict_and_ends_at_sign_out() {
    let server = server_with_project(&[]).await;
    let mut visitor = Visitor::new(&server);
    let answer = visitor.get("/admin").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.location.as_deref(),
        Some("/-/sign_in?return_to=%2Fadmin")
    );

    let form = visitor.get("/-/sign_in").await;
    let cookie = &form.cookies[0];
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http instance: {cookie}");

    let before = visitor.cookie.clone();
    let csrf = csrf_of(&form.body);
    let wrong = visitor
        .post("/-/sign_in", &[("_csrf", &csrf), ("token", "not-a-token")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Invalid or expired access token"));
    let signed = visitor
        .post("/-/sign_in", &[("_csrf", &csrf), ("token", ADMIN_TOKEN)])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_ne!(visitor.cookie, before, "signing in gives a new session id");
    assert!(!signed.cookies[0].contains(ADMIN_TOKEN));
    assert_eq!(visitor.get("/admin").await.status, StatusCode::OK);

    let csrf = visitor.csrf("/admin").await;
    let session = visitor.cookie.clone();
    let out = visitor.post("/-/sign_out", &[("_csrf", &csrf)]).await;
    assert!(out.cookies[0].contains("Max-Age=0"), "{}", out.cookies[0]);
    // The old session id no longer opens anything.
    visitor.cookie = session;
    assert_eq!(visitor.get("/admin").await.status, StatusCode::SEE_OTHER);

    // An https instance marks the cookie Secure.
    let https = Server::start(&["--instance-url", "https://wvs.example.com"]);
    let mut visitor = Visitor::new(&https);
    let form = visitor.get("/-/sign_in").await;
    assert!(form.cookies[0].contains("; Secure"), "{}", form.cookies[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_list_opens_and_an_access_token_reaches_its_own_only() {
    let server = server_with_project(&[]).await;
    let project = json!({"id": 16, "name": "Other", "path": "other", "namespace_path": "acme"});
    server.expect(201, "POST", "/projects", Some(project)).await;
    let created = server
        .expect(
            201,
            "POST",
            "/projects/15/access_tokens",
            Some(json!({"name": "web"})),
        )
        .await;
    // The admin reaches every hook list, by id or by full path.
    let mut admin = Visitor::new(&server);
    admin.sign_in(ADMIN_TOKEN).await;
    // A hook subscribed to nothing says so.
    let silent = json!({"url": "http://127.0.0.1:9/", "push_events": false});
    server
        .expect(201, "POST", "/projects/16/hooks", Some(silent))
        .await;
    let list = admin.get("/projects/16/hooks").await.body;
    assert!(list.contains("None: this hook receives no event"), "{list}");
    for path in [
        "/admin/hooks",
        "/groups/acme/hooks",
        "/projects/acme%2Fweb/hooks/new",
        "/groups/1/hooks/new",
    ] {
        let page = admin.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    }
    assert!(
        admin
            .get("/admin/hooks/new")
            .await
            .body
            .contains("repository_update_events")
    );
    assert_eq!(
        admin.get("/projects/99/hooks").await.status,
        StatusCode::NOT_FOUND
    );

    let mut visitor = Visitor::new(&server);
    // The stylesheet is served from the binary, to anyone.
    let css = visitor.get("/-/assets/wvs.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains("badge"));
    visitor.sign_in(created["token"].as_str().unwrap()).await;
    let home = visitor.get("/").await;
    assert_eq!(home.location.as_deref(), Some("/projects/15/hooks"));
    assert_eq!(
        visitor.get("/projects/15/hooks").await.status,
        StatusCode::OK
    );
    assert_eq!(
        visitor.get("/projects/16/hooks").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(visitor.get("/admin").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        visitor.get("/admin/hooks").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_shows_a_secret() {
    let receiver = Receiver::start().await;
    let server = server_with_project(&[]).await;
    let secrets = [
        "url-password-1",
        "secret-token-2",
        "header-value-3",
        "variable-value-4",
        "whsec_c2lnbmluZy1zZWNyZXQtNQ==",
    ];
    let url = receiver
        .url
        .replace("http://", "http://user:url-password-1@")
        + "/{path}";
    let hook = json!({
        "url": url,
        "token": "secret-token-2",
        "signing_token": secrets[4],
        "custom_headers": [{"key": "X-Auth", "value": "header-value-3"}],
        "url_variables": [{"key": "path", "value": "variable-value-4"}],
    });
    let hook = server
        .expect(201, "POST", "/projects/15/hooks", Some(hook))
        .await;
    let id = hook["id"].as_i64().unwrap();
    server
        .expect(
            201,
            "POST",
            &format!("/projects/15/hooks/{id}/test/push_events"),
            None,
        )
        .await;
    let (_, events) = server
        .api("GET", &format!("/projects/15/hooks/{id}/events"), None)
        .await;
    let event_id = events[0]["id"].as_i64().unwrap();

    let mut visitor = Visitor::new(&server);
    visitor.sign_in(ADMIN_TOKEN).await;
    let mut pages = Vec::new();
    for path in [
        "/admin".to_owned(),
        "/projects/15/hooks".to_owned(),
        format!("/projects/15/hooks/{id}/edit"),
        format!("/projects/15/hooks/{id}/events"),
        format!("/projects/15/hooks/{id}/events/{event_id}"),
    ] {
        let page = visitor.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        pages.push((path, page.body));
    }
    // A refused form does not send back what was typed into its secret fields.
    let csrf = visitor.csrf("/projects/15/hooks/new").await;
    let refused = visitor
        .post(
            "/projects/15/hooks",
            &[
                ("_csrf", &csrf),
                ("url", "ftp://user:url-password-1@example.com/"),
                ("token", "secret-token-2"),
                ("new_header_key", "X-Auth"),
                ("new_header_value", "header-value-3"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("url is invalid"),
        "the API's message: {}",
        refused.body
    );
    pages.push(("refused form".to_owned(), refused.body));
    for (path, body) in &pages {
        for secret in secrets {
            assert!(!body.contains(secret), "{secret} on {path}");
        }
    }
    assert!(pages[2].1.contains("X-Auth"), "header keys are shown");
}

/// A deep link asked for before signing in is where signing in returns to; a link to
/// another site is not followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_returns_to_the_page_asked_for() {
    let server = server_with_project(&[]).await;
    let mut visitor = Visitor::new(&server);
    let asked = visitor.get("/projects/15/hooks?page=1").await;
    let to_sign_in = asked.location.expect("a redirect to sign in");
    assert_eq!(
        to_sign_in,
        "/-/sign_in?return_to=%2Fprojects%2F15%2Fhooks%3Fpage%3D1"
    );
    let form = visitor.get(&to_sign_in).await.body;
    assert!(
        form.contains(r#"name="return_to" value="/projects/15/hooks?page=1""#),
        "{form}"
    );
    let csrf = csrf_of(&form);
    let signed = visitor
        .post(
            "/-/sign_in",
            &[
                ("_csrf", &csrf),
                ("token", ADMIN_TOKEN),
                ("return_to", "/projects/15/hooks?page=1"),
            ],
        )
        .await;
    assert_eq!(
        signed.location.as_deref(),
        Some("/projects/15/hooks?page=1")
    );

    let mut other = Visitor::new(&server);
    let csrf = other.csrf("/-/sign_in").await;
    let signed = other
        .post(
            "/-/sign_in",
            &[
                ("_csrf", &csrf),
                ("token", ADMIN_TOKEN),
                ("return_to", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(signed.location.as_deref(), Some("/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_shows_red_events_its_alert_and_can_be_re_enabled() {
    let receiver = Receiver::start().await;
    receiver.set_status(500);
    let server = server_with_project(&["--retry-schedule", "0s,0s,0s,0s,0s,0s"]).await;
    let hook = json!({"url": receiver.url});
    server
        .expect(201, "POST", "/projects/15/hooks", Some(hook))
        .await;
    let push = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wvs-events/samples/push.json"
    ))
    .unwrap();
    let (status, _) = server.ingest("/projects/15/events", &push).await;
    assert_eq!(status, 202);
    // The fourth failure in a row disables the hook for a while.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, hook) = server.api("GET", "/projects/15/hooks/1", None).await;
        if hook["alert_status"] == "temporarily_disabled" {
            break;
        }
        assert!(Instant::now() < deadline, "{hook}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut visitor = Visitor::new(&server);
    visitor.sign_in(ADMIN_TOKEN).await;
    let list = visitor.get("/projects/15/hooks").await.body;
    // When it tries again, said relatively, the exact time on hover.
    assert!(
        list.contains(r#"Temporarily disabled, tries again <time datetime="20"#)
            && list.contains(">in "),
        "{list}"
    );
    // Why: failures in a row and the last attempt's answer.
    assert!(
        list.contains(r#"4 failures in a row; last attempt <time datetime="20"#)
            && list.contains("answered 500"),
        "{list}"
    );
    assert!(list.contains(r#"href="/projects/15/hooks/1/deliveries""#));

    // The Deliveries view: the event is held while the hook rests, its four attempts
    // together on its line, and no Resend (it goes anyway once the hook sends again).
    let deliveries = visitor.get("/projects/15/hooks/1/deliveries").await.body;
    assert!(
        deliveries.contains(r#"<tr class="delivery held">"#)
            && deliveries.contains("Held (hook disabled)"),
        "{deliveries}"
    );
    let attempts = &deliveries[deliveries.find(r#"<ol class="attempts">"#).unwrap()..];
    let attempts = &attempts[..attempts.find("</ol>").unwrap()];
    assert_eq!(attempts.matches(">500</a>").count(), 4, "{attempts}");
    assert!(!deliveries.contains("resend"), "{deliveries}");
    assert!(deliveries.contains(r#"id="delivery-count">1 deliveries"#));
    // Filtered: by state, by trigger, by event UUID, by received date.
    for (query, count) in [
        ("state=held", 1),
        ("state=failed", 0),
        ("trigger=push_hooks", 1),
        ("trigger=issue_hooks", 0),
        ("event=no-such-uuid", 0),
        ("from=2000-01-01&to=2000-01-02", 0),
        ("from=2000-01-01", 1),
    ] {
        let page = visitor
            .get(&format!("/projects/15/hooks/1/deliveries?{query}"))
            .await
            .body;
        assert!(
            page.contains(&format!(r#"id="delivery-count">{count} deliveries"#)),
            "{query}: {page}"
        );
    }
    let refused = visitor.get("/admin/deliveries?from=yesterday").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("from must be a date"),
        "{}",
        refused.body
    );
    // Its attempt's page offers no Resend either, and says why.
    let details = visitor
        .get(&format!("/projects/15/hooks/1/events/{}", {
            let start = attempts
                .find(r#"href="/projects/15/hooks/1/events/"#)
                .unwrap()
                + 34;
            attempts[start..].split('"').next().unwrap().to_owned()
        }))
        .await
        .body;
    assert!(
        details.contains(r#"id="goes-anyway""#) && !details.contains(r#"id="resend""#),
        "{details}"
    );
    // The instance's view names the hook.
    let instance = visitor.get("/admin/deliveries?state=held").await.body;
    assert!(
        instance.contains(r#"<a href="/projects/15/hooks/1/deliveries">Hook 1</a>"#),
        "{instance}"
    );
    let recent = visitor.get("/projects/15/hooks/1/events").await.body;
    assert!(
        recent.contains(r#"id="hook-health""#),
        "a banner while disabled: {recent}"
    );
    let failed = visitor
        .get("/projects/15/hooks/1/events?status=server_failure")
        .await;
    assert!(
        failed
            .body
            .matches(r#"class="badge status bad">500<"#)
            .count()
            >= 4,
        "{}",
        failed.body
    );
    let succeeded = visitor
        .get("/projects/15/hooks/1/events?status=successful")
        .await;
    assert!(
        succeeded.body.contains("No events yet."),
        "{}",
        succeeded.body
    );
    let overview = visitor.get("/admin").await.body;
    assert!(
        overview.contains("Temporarily disabled: 1."),
        "the chart's label"
    );
    // The numbers link to what they count.
    assert!(
        overview.contains(
            r#"href="/admin/disabled_hooks?alert=temporarily_disabled" id="temporarily-disabled-link"><span class="number" id="temporarily-disabled">1<"#
        ) && overview.contains(r#"id="backlog">1<"#)
            && overview.contains(r#"href="/admin/deliveries?state=waiting""#),
        "{overview}"
    );
    let resting = visitor
        .get("/admin/disabled_hooks?alert=temporarily_disabled")
        .await
        .body;
    assert!(
        resting.contains(r#"id="count">1 hooks"#)
            && resting.contains("<strong>Hook 1</strong>")
            && resting.contains("answered 500"),
        "{resting}"
    );
    let waiting = visitor.get("/admin/deliveries?state=waiting").await.body;
    assert!(
        waiting.contains(r#"id="delivery-count">1 deliveries"#),
        "{waiting}"
    );
    // The failures of this minute, and the failing hook among the slowest, linked.
    // Counted as attempts (a retried delivery fails more than once), not deliveries.
    assert!(
        overview.contains("failed attempts)"),
        "per-minute chart: {overview}"
    );
    // The hook by its name (`Hook 1` when it has none), its URL on hover.
    assert!(
        overview.contains(">Hook 1</a>"),
        "slowest hooks by name: {overview}"
    );
    assert!(
        overview.contains(r#"<table id="slowest">"#)
            && overview.contains(r#"href="/projects/15/hooks/1/events""#),
        "slowest hooks: {overview}"
    );

    let csrf = csrf_of(&list);
    let enabled = visitor
        .post("/projects/15/hooks/1/enable", &[("_csrf", &csrf)])
        .await;
    assert_eq!(enabled.location.as_deref(), Some("/projects/15/hooks"));
    let list = visitor.get("/projects/15/hooks").await.body;
    assert!(
        list.contains("Hook was re-enabled.") && list.contains("Active"),
        "{list}"
    );

    // Recovery from the page: the receiver is back, and what failed or waits goes out.
    receiver.set_status(200);
    let recovered = visitor
        .post("/projects/15/hooks/1/recover", &[("_csrf", &csrf)])
        .await;
    assert_eq!(
        recovered.location.as_deref(),
        Some("/projects/15/hooks/1/events")
    );
    server
        .wait_for_log("/projects/15/hooks/1/events?status=successful", 1)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_given_up_is_listed_failed_with_resend_and_the_overview_links_it() {
    let receiver = Receiver::start().await;
    receiver.set_status(500);
    // One retry: two failures, fewer than disable a hook.
    let server = server_with_project(&["--retry-schedule", "0s"]).await;
    let hook = json!({"url": receiver.url, "name": "Flaky"});
    server
        .expect(201, "POST", "/projects/15/hooks", Some(hook))
        .await;
    let push = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wvs-events/samples/push.json"
    ))
    .unwrap();
    let (status, _) = server.ingest("/projects/15/events", &push).await;
    assert_eq!(status, 202);
    let mut visitor = Visitor::new(&server);
    visitor.sign_in(ADMIN_TOKEN).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let page = visitor.get("/admin/deliveries?state=failed").await.body;
        if page.contains(r#"id="delivery-count">1 deliveries"#) {
            break page;
        }
        assert!(Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        failed.contains(r#"<tr class="delivery failed">"#) && failed.contains(">Flaky</a>"),
        "{failed}"
    );
    let attempts = &failed[failed.find(r#"<ol class="attempts">"#).unwrap()..];
    assert_eq!(
        attempts[..attempts.find("</ol>").unwrap()]
            .matches(">500</a>")
            .count(),
        2
    );
    // Resend is offered on the delivery given up: it repeats its last attempt.
    let start = failed
        .find(r#"action="/projects/15/hooks/1/events/"#)
        .unwrap();
    let action = failed[start + r#"action=""#.len()..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(action.ends_with("/resend"), "{action}");
    let details = visitor
        .get(action.strip_suffix("/resend").unwrap())
        .await
        .body;
    assert!(details.contains(r#"id="resend""#), "{details}");
    let overview = visitor.get("/admin").await.body;
    assert!(
        overview.contains(
            r#"href="/admin/deliveries?state=failed" id="failed-link"><span class="number bad-text" id="failed">1<"#
        ),
        "{overview}"
    );
    receiver.set_status(200);
    let csrf = csrf_of(&failed);
    let resent = visitor.post(&action, &[("_csrf", &csrf)]).await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER, "{}", resent.body);
    receiver.wait_for(3, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_project_and_group_lists_are_searched_and_paged() {
    let receiver = Receiver::start().await;
    let server = server_with_project(&[]).await;
    for name in ["Alpha", "Beta"] {
        let hook = json!({"url": receiver.url, "name": name});
        server
            .expect(201, "POST", "/projects/15/hooks", Some(hook))
            .await;
    }
    for n in 1..=22 {
        let project = json!({"name": format!("P{n:02}"), "path": format!("p{n:02}"), "namespace_path": "acme"});
        server.expect(201, "POST", "/projects", Some(project)).await;
    }
    let mut visitor = Visitor::new(&server);
    visitor.sign_in(ADMIN_TOKEN).await;

    let hooks = visitor.get("/projects/15/hooks?search=alp").await.body;
    assert!(
        hooks.contains("<strong>Alpha</strong>") && !hooks.contains("<strong>Beta</strong>"),
        "{hooks}"
    );
    let none = visitor.get("/projects/15/hooks?search=gamma").await.body;
    assert!(none.contains("No webhook matches."), "{none}");

    // 23 projects: two pages of 20; the pager keeps the search.
    let first = visitor.get("/admin/projects").await.body;
    assert!(
        first.contains(r#"id="count">23 projects"#) && first.contains("Page 1 of 2"),
        "{first}"
    );
    let second = visitor.get("/admin/projects?page=2").await.body;
    assert_eq!(second.matches(r#"<tr id="row-"#).count(), 3, "{second}");
    let found = visitor.get("/admin/projects?search=ACME/P1").await.body;
    assert!(
        found.contains(r#"id="count">10 projects"#) && !found.contains(">acme/web<"),
        "{found}"
    );
    let groups = visitor.get("/admin/groups?search=acm").await.body;
    assert!(
        groups.contains(r#"id="count">1 groups"#) && groups.contains(">acme</a>"),
        "{groups}"
    );
    // A group and a project created from the pages.
    let csrf = csrf_of(&groups);
    let created = visitor
        .post(
            "/admin/groups",
            &[("_csrf", &csrf), ("name", "Tools"), ("path", "tools")],
        )
        .await;
    assert_eq!(created.location.as_deref(), Some("/admin/groups"));
    let created = visitor
        .post(
            "/admin/projects",
            &[
                ("_csrf", &csrf),
                ("name", "CLI"),
                ("path", "cli"),
                ("namespace_path", "tools"),
            ],
        )
        .await;
    assert_eq!(created.location.as_deref(), Some("/admin/projects"));
    let listed = visitor.get("/admin/projects?search=tools").await.body;
    assert!(
        listed.contains("Project tools/cli was created.") && listed.contains(">tools/cli</a>"),
        "{listed}"
    );
    // A bad one is told, naming the field.
    visitor
        .post("/admin/groups", &[("_csrf", &csrf), ("name", "")])
        .await;
    let told = visitor.get("/admin/groups").await.body;
    assert!(told.contains("name is missing"), "{told}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_are_created_shown_once_listed_and_revoked_from_the_pages() {
    let server = server_with_project(&[]).await;
    let mut visitor = Visitor::new(&server);
    visitor.sign_in(ADMIN_TOKEN).await;
    let page = visitor.get("/projects/15/access_tokens").await.body;
    assert!(page.contains("No access tokens."), "{page}");
    let csrf = csrf_of(&page);
    let created = visitor
        .post(
            "/projects/15/access_tokens",
            &[
                ("_csrf", &csrf),
                ("name", "deploy bot"),
                ("expires_at", "2099-06-30"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let start = created
        .body
        .find("<code>wvsat_")
        .expect("the token, shown once")
        + 6;
    let token = created.body[start..].split('<').next().unwrap().to_owned();
    assert!(
        created.body.contains("end of 2099-06-30"),
        "{}",
        created.body
    );
    // Shown once: the list does not show it again.
    let list = visitor.get("/projects/15/access_tokens").await.body;
    assert!(
        list.contains("deploy bot") && !list.contains(&token),
        "{list}"
    );
    // It works, and reaches its project's hooks.
    let mut bot = Visitor::new(&server);
    bot.sign_in(&token).await;
    assert_eq!(bot.get("/projects/15/hooks").await.status, StatusCode::OK);
    // A date in the past is refused, naming the field.
    visitor
        .post(
            "/projects/15/access_tokens",
            &[
                ("_csrf", &csrf),
                ("name", "old"),
                ("expires_at", "2001-01-01"),
            ],
        )
        .await;
    let told = visitor.get("/projects/15/access_tokens").await.body;
    assert!(
        told.contains("expires_at must be a date after today"),
        "{told}"
    );
    // Searched by name.
    let none = visitor
        .get("/projects/15/access_tokens?search=nobody")
        .await
        .body;
    assert!(none.contains("No token matches."), "{none}");
    let (_, tokens) = server.api("GET", "/projects/15/access_tokens", None).await;
    let id = tokens[0]["id"].as_i64().unwrap();
    let revoked = visitor
        .post(
            &format!("/projects/15/access_tokens/{id}/revoke"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(
        revoked.location.as_deref(),
        Some("/projects/15/access_tokens")
    );
    let (_, tokens) = server.api("GET", "/projects/15/access_tokens", None).await;
    assert_eq!(tokens, json!([]));
    // Group tokens have the same pages; only the administrator reaches them.
    assert_eq!(
        visitor.get("/groups/acme/access_tokens").await.status,
        StatusCode::OK
    );
    let mut bot = Visitor::new(&server);
    let (_, made) = server
        .api(
            "POST",
            "/projects/15/access_tokens",
            Some(json!({"name": "other"})),
        )
        .await;
    bot.sign_in(made["token"].as_str().unwrap()).await;
    assert_eq!(
        bot.get("/projects/15/access_tokens").await.status,
        StatusCode::FORBIDDEN
    );
}

// ---------------------------------------------------------------- in a browser

/// `chromedriver` on a free loopback port, stopped when dropped.
struct ChromeDriver {
    url: String,
    child: Child,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver must be installed for the browser test \
                 (apt-get install chromium chromium-driver; .ci/run does it)",
            );
        ChromeDriver {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// A headless Chromium session, once chromedriver answers.
    async fn session(&self) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,1000",
        ] {
            caps.add_arg(arg).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match WebDriver::new(&self.url, caps.clone()).await {
                Ok(driver) => return driver,
                Err(error) if Instant::now() > deadline => {
                    panic!("chromedriver at {} gives no session: {error}", self.url)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves a screenshot of the current page as a test artifact.
async fn screenshot(driver: &WebDriver, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    driver
        .screenshot(&dir.join(format!("{name}.png")))
        .await
        .unwrap();
}

/// The element, once the page shows it.
async fn wait_for(driver: &WebDriver, by: By) -> WebElement {
    driver.query(by).first().await.unwrap()
}

/// The page's text, once it contains `text` (after a click, the next page).
async fn wait_for_text(driver: &WebDriver, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The body found may belong to the page being left (a stale element): ask again.
        let body = match wait_for(driver, By::Tag("body")).await.text().await {
            Ok(body) if body.contains(text) => return body,
            Ok(body) => body,
            Err(error) => error.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "{text:?} not on the page: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_is_managed_tested_and_resent_in_a_browser() {
    let receiver = Receiver::start().await;
    // Retries at once: a failing hook is disabled within the test.
    let server = server_with_project(&["--retry-schedule", "0s,0s,0s,0s,0s,0s"]).await;
    let chromedriver = ChromeDriver::start();
    let driver = chromedriver.session().await;
    let mut result = walk_through(&driver, &server, &receiver).await;
    if result.is_ok() {
        result = operator_pages(&driver, &server, &receiver).await;
    }
    if result.is_ok() {
        result = at_phone_width(&driver, &server).await;
    }
    driver.quit().await.unwrap();
    result.unwrap();
}

async fn walk_through(
    driver: &WebDriver,
    server: &Server,
    receiver: &Receiver,
) -> WebDriverResult<()> {
    let base = &server.url;
    // Sign in.
    driver.goto(format!("{base}/")).await?;
    wait_for(driver, By::Id("token"))
        .await
        .send_keys(ADMIN_TOKEN)
        .await?;
    screenshot(driver, "01-sign-in").await;
    driver.find(By::Id("sign-in")).await?.click().await?;
    wait_for_text(driver, "Instance overview").await;
    screenshot(driver, "02-overview").await;

    // Create a hook.
    driver.goto(format!("{base}/projects/15/hooks")).await?;
    wait_for(driver, By::Id("add-hook")).await.click().await?;
    wait_for(driver, By::Id("url"))
        .await
        .send_keys(&receiver.url)
        .await?;
    driver
        .find(By::Id("name"))
        .await?
        .send_keys("Receiver")
        .await?;
    driver
        .find(By::Id("token"))
        .await?
        .send_keys("browser-secret")
        .await?;
    driver.find(By::Id("issues_events")).await?.click().await?;
    screenshot(driver, "03-new-hook").await;
    driver.find(By::Id("save-hook")).await?.click().await?;
    let list = wait_for_text(driver, "Hook was created.").await;
    assert!(
        list.contains("Receiver") && list.contains("Push events, Issues events"),
        "{list}"
    );
    screenshot(driver, "04-hooks").await;

    // Test it: the event is green in recent events.
    driver.find(By::Css("button.test")).await?.click().await?;
    let events = wait_for_text(driver, "Hook executed successfully: HTTP 200").await;
    // The trigger as GitLab says it, and the time as how long ago.
    assert!(events.contains("Push events"), "{events}");
    assert!(
        events.contains("just now") || events.contains("seconds ago"),
        "{events}"
    );
    let badge = wait_for(driver, By::Css("table.events .badge")).await;
    assert_eq!(badge.text().await?, "200");
    assert!(
        badge
            .class_name()
            .await?
            .unwrap_or_default()
            .contains("good")
    );
    assert_eq!(receiver.received().len(), 1);
    screenshot(driver, "05-recent-events").await;

    // Its details, then resend.
    driver.find(By::Css("a.details")).await?.click().await?;
    let details = wait_for_text(driver, "Request headers").await;
    assert!(
        details.contains("X-WVS-Event") && details.contains("Push Hook"),
        "{details}"
    );
    assert!(!details.contains("browser-secret"), "the token is redacted");
    let body = driver.find(By::Id("request-body")).await?.text().await?;
    assert!(body.contains("\"object_kind\": \"push\""), "{body}");
    screenshot(driver, "06-event-details").await;
    driver.find(By::Id("resend")).await?.click().await?;
    wait_for_text(driver, "Hook executed successfully: HTTP 200").await;
    assert_eq!(
        driver
            .find_all(By::Css("table.events tbody tr"))
            .await?
            .len(),
        2
    );
    receiver.wait_for(2, Duration::from_secs(5)).await;
    screenshot(driver, "07-resent").await;

    // Turn SSL verification off.
    driver.goto(format!("{base}/projects/15/hooks")).await?;
    wait_for(driver, By::Css("a.edit")).await.click().await?;
    let ssl = wait_for(driver, By::Id("enable_ssl_verification")).await;
    assert!(ssl.is_selected().await?);
    ssl.click().await?;
    screenshot(driver, "08-edit-hook").await;
    driver.find(By::Id("save-hook")).await?.click().await?;
    wait_for_text(driver, "Hook was updated.").await;
    let (_, hooks) = server.api("GET", "/projects/15/hooks", None).await;
    assert_eq!(hooks[0]["enable_ssl_verification"], false);
    assert_eq!(
        hooks[0]["token_present"], true,
        "a blank token field keeps it"
    );
    screenshot(driver, "09-ssl-off").await;

    // Delete it.
    driver.find(By::Css("button.delete")).await?.click().await?;
    wait_for_text(driver, "Hook was deleted.").await;
    wait_for_text(driver, "No webhooks yet.").await;
    screenshot(driver, "10-deleted").await;
    let (_, hooks) = server.api("GET", "/projects/15/hooks", None).await;
    assert_eq!(hooks, json!([]));
    Ok(())
}

/// A failing hook in the Deliveries view and its bulk recovery, search on the hook list,
/// and the access token pages.
async fn operator_pages(
    driver: &WebDriver,
    server: &Server,
    receiver: &Receiver,
) -> WebDriverResult<()> {
    let base = &server.url;
    receiver.clear();
    receiver.set_status(500);
    for name in ["Flaky", "Quiet"] {
        let hook = json!({"url": receiver.url, "name": name, "push_events": name == "Flaky"});
        server
            .expect(201, "POST", "/projects/15/hooks", Some(hook))
            .await;
    }
    let (_, hooks) = server.api("GET", "/projects/15/hooks", None).await;
    let flaky = hooks[0]["id"].as_i64().unwrap();
    let push = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wvs-events/samples/push.json"
    ))
    .unwrap();
    let (status, _) = server.ingest("/projects/15/events", &push).await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, hook) = server
            .api("GET", &format!("/projects/15/hooks/{flaky}"), None)
            .await;
        if hook["alert_status"] == "temporarily_disabled" {
            break;
        }
        assert!(Instant::now() < deadline, "{hook}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Search the hook list; follow the hook to its deliveries.
    driver.goto(format!("{base}/projects/15/hooks")).await?;
    wait_for(driver, By::Id("search"))
        .await
        .send_keys("flaky")
        .await?;
    driver.find(By::Id("search-button")).await?.click().await?;
    // `Clear` is on the searched page only (the page left has the same hook).
    let list = wait_for_text(driver, "Clear").await;
    assert!(list.contains("Temporarily disabled, tries again"), "{list}");
    assert!(list.contains("Flaky") && !list.contains("Quiet"), "{list}");
    screenshot(driver, "11-hooks-searched").await;
    driver.find(By::Css("a.deliveries")).await?.click().await?;
    let deliveries = wait_for_text(driver, "Held (hook disabled)").await;
    assert!(deliveries.contains("1 deliveries"), "{deliveries}");
    assert!(
        driver.find_all(By::Css("button.resend")).await?.is_empty(),
        "no Resend on a delivery that goes anyway"
    );
    assert_eq!(
        driver.find_all(By::Css("ol.attempts li")).await?.len(),
        4,
        "its attempts, together"
    );
    screenshot(driver, "12-deliveries-held").await;

    // Bulk recovery: the receiver is back; what the hook held goes out.
    receiver.set_status(200);
    driver.find(By::Id("recover")).await?.click().await?;
    wait_for_text(driver, "held deliveries released").await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    server
        .wait_for_log(
            &format!("/projects/15/hooks/{flaky}/events?status=successful"),
            1,
        )
        .await;
    screenshot(driver, "13-recovered").await;
    driver
        .goto(format!(
            "{base}/projects/15/hooks/{flaky}/deliveries?state=any"
        ))
        .await?;
    wait_for_text(driver, "Succeeded").await;
    screenshot(driver, "14-deliveries-succeeded").await;

    // Access tokens: create (shown once), list, revoke.
    driver
        .goto(format!("{base}/projects/15/access_tokens"))
        .await?;
    wait_for(driver, By::Id("token_name"))
        .await
        .send_keys("ci")
        .await?;
    driver.find(By::Id("create-token")).await?.click().await?;
    wait_for_text(driver, "Copy it now").await;
    let token = driver
        .find(By::Css("#new-token code"))
        .await?
        .text()
        .await?;
    assert!(token.starts_with("wvsat_"), "{token}");
    screenshot(driver, "15-token-created").await;
    driver.find(By::Css("button.revoke")).await?.click().await?;
    wait_for_text(driver, "Access token was revoked.").await;
    wait_for_text(driver, "No access tokens.").await;
    screenshot(driver, "16-token-revoked").await;
    Ok(())
}

/// Every element's box within the page's width: what sticks out (tag, class, right edge),
/// the page's width and how wide it scrolls.
const OVERFLOW: &str = r#"
const width = document.documentElement.clientWidth;
const out = [];
for (const element of document.querySelectorAll("body *")) {
  const box = element.getBoundingClientRect();
  if (box.width > 0 && (box.right > width + 1 || box.left < -1)) {
    out.push(`${element.tagName}.${element.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
  }
}
return [width, document.documentElement.scrollWidth, out];
"#;

/// At a phone's width (400 px) every page fits: no element reaches past the screen's edge,
/// so the tables' Status and Actions are on screen.
async fn at_phone_width(driver: &WebDriver, server: &Server) -> WebDriverResult<()> {
    let base = &server.url;
    let (_, hooks) = server.api("GET", "/projects/15/hooks", None).await;
    let hook = hooks[0]["id"].as_i64().unwrap();
    let (_, events) = server
        .api("GET", &format!("/projects/15/hooks/{hook}/events"), None)
        .await;
    let event = events[0]["id"].as_i64().unwrap();
    let pages = [
        ("overview", "/admin".to_owned()),
        ("hooks", "/projects/15/hooks".to_owned()),
        ("hook-form", format!("/projects/15/hooks/{hook}/edit")),
        ("events", format!("/projects/15/hooks/{hook}/events")),
        ("event", format!("/projects/15/hooks/{hook}/events/{event}")),
        (
            "deliveries",
            format!("/projects/15/hooks/{hook}/deliveries?state=any"),
        ),
        ("all-deliveries", "/admin/deliveries?state=any".to_owned()),
        ("projects", "/admin/projects".to_owned()),
        ("groups", "/admin/groups".to_owned()),
        ("tokens", "/projects/15/access_tokens".to_owned()),
        ("disabled-hooks", "/admin/disabled_hooks".to_owned()),
    ];
    for (width, label) in [(1280, "wide"), (400, "phone")] {
        driver.set_window_rect(0, 0, width, 900).await?;
        for (name, path) in &pages {
            driver.goto(format!("{base}{path}")).await?;
            wait_for(driver, By::Tag("h1")).await;
            screenshot(driver, &format!("{label}-{name}")).await;
            if width == 400 {
                let (inner, scrolled, out): (u64, u64, Vec<String>) =
                    driver.execute(OVERFLOW, vec![]).await?.convert()?;
                assert!(inner <= 400, "the window is a phone's width: {inner}");
                assert!(
                    out.is_empty() && scrolled <= inner,
                    "{path} overflows at {inner} px (scrolls to {scrolled}): {out:?}"
                );
            }
        }
    }
    Ok(())
}
