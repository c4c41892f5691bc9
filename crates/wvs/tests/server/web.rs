//! The web interface: plain HTTP checks of sessions, CSRF and secrets, and one walk through
//! the pages in a real browser (headless Chromium driven over WebDriver by `thirtyfour`).
//!
//! The browser test needs `chromedriver` and `chromium` (Debian's `chromium-driver` and
//! `chromium`; `.ci/run` installs them). Without them it fails: it is never skipped.
//! Screenshots of every page it visits, at 1280 px and at a phone's 400 px, go to
//! `web-screenshots/` under the target directory's test scratch space
//! (`CARGO_TARGET_TMPDIR`).

mod browser;
mod health;
mod pages;
mod sessions;

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
