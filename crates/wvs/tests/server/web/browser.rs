//! One walk through the pages in a real browser (headless Chromium over WebDriver), at
//! 1280 px and at a phone's 400 px.

use super::*;

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
