//! What the pages show and to whom: every hook list, no secret on any page, search and
//! paging, and access tokens made, shown once and revoked from the pages.

use super::*;

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
