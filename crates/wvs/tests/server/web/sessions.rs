//! Sessions: the browser security headers, CSRF on every post, the session cookie and
//! where signing in returns to.

use super::*;

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
