//! A failing hook as the pages show it: red events, the alert, re-enabling, and a delivery
//! given up listed with its Resend.

use super::*;

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
