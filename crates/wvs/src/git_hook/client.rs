//! WVS's API as the hook uses it: `POST /projects/:id/push` with an `Idempotency-Key`,
//! creating the project (and its groups) on first use, and finding the pusher among the
//! registry's users. Every request is bounded by a short timeout: the hook must not hold a
//! push up because WVS is slow.

use std::time::Duration;

use reqwest::{Client as Http, Method, StatusCode};
use serde_json::{Value, json};
use thiserror::Error;

/// Why a request did not succeed, by what the hook should do about it.
#[derive(Debug, Error)]
pub enum SendError {
    /// No answer (connection refused, timeout) or a server error: try again later.
    #[error("WVS did not take it ({0}); it will be sent again")]
    Retry(String),
    /// WVS refused the push itself (400, 422): sending it again cannot help.
    #[error("WVS refused the push: {status} {message}")]
    Refused { status: u16, message: String },
    /// The settings are wrong (401, 403, 404...): kept until they are fixed.
    #[error("WVS answered {status} {message}; check wvs.url, wvs.project and wvs.token")]
    Settings { status: u16, message: String },
}

/// A connection to WVS's API.
pub struct Client {
    http: Http,
    api: String,
    token: Option<String>,
}

impl Client {
    /// A client of the WVS at `url`; each request gives up after `timeout`.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Client, SendError> {
        let http = Http::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .build()
            .map_err(|e| SendError::Retry(e.to_string()))?;
        Ok(Client {
            http,
            api: format!("{}/api/v4", url.trim_end_matches('/')),
            token,
        })
    }

    /// Posts a push body; a project given by path that does not exist yet is created first.
    pub async fn push(&self, project: &str, key: &str, body: &Value) -> Result<(), SendError> {
        let path = format!("/projects/{}/push", encode(project));
        let headers = [("Idempotency-Key", key)];
        match self
            .request(Method::POST, &path, Some(body), &headers)
            .await
        {
            Err(SendError::Settings { status: 404, .. }) if project.contains('/') => {
                self.create_project(project).await?;
                self.request(Method::POST, &path, Some(body), &headers)
                    .await
                    .map(drop)
            }
            other => other.map(drop),
        }
    }

    /// The registry user of this username, when there is one (`None` also when the token
    /// may not read users); an error only when WVS did not answer.
    pub async fn user(&self, username: &str) -> Result<Option<Value>, SendError> {
        let path = format!("/users?username={}", encode(username));
        match self.request(Method::GET, &path, None, &[]).await {
            Ok(found) => Ok(found.as_array().and_then(|users| users.first().cloned())),
            Err(error @ SendError::Retry(_)) => Err(error),
            Err(_) => Ok(None),
        }
    }

    /// Creates `group/.../project`: each missing group from the top, then the project.
    async fn create_project(&self, project: &str) -> Result<(), SendError> {
        let (namespace, name) = project.rsplit_once('/').unwrap_or(("", project));
        let mut parent: Option<i64> = None;
        let mut full_path = String::new();
        for segment in namespace.split('/') {
            if !full_path.is_empty() {
                full_path.push('/');
            }
            full_path.push_str(segment);
            let path = format!("/groups/{}", encode(&full_path));
            let group = match self.request(Method::GET, &path, None, &[]).await {
                Err(SendError::Settings { status: 404, .. }) => {
                    let body = json!({"name": segment, "path": segment, "parent_id": parent});
                    self.request(Method::POST, "/groups", Some(&body), &[])
                        .await?
                }
                other => other?,
            };
            parent = group["id"].as_i64();
        }
        let body = json!({"name": name, "path": name, "namespace_path": namespace});
        self.request(Method::POST, "/projects", Some(&body), &[])
            .await
            .map(drop)
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, SendError> {
        let mut request = self.http.request(method, format!("{}{path}", self.api));
        if let Some(token) = &self.token {
            request = request.header("PRIVATE-TOKEN", token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        // reqwest's errors name the URL, never the headers: the token stays out of messages.
        let response = request
            .send()
            .await
            .map_err(|e| SendError::Retry(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::Retry(e.without_url().to_string()))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let message = value["message"]
            .as_str()
            .or(value["error"].as_str())
            .unwrap_or_default()
            .to_owned();
        let code = status.as_u16();
        Err(match status {
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => SendError::Refused {
                status: code,
                message,
            },
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                SendError::Retry(format!("{code} {message}"))
            }
            s if s.is_server_error() => SendError::Retry(format!("{code} {message}")),
            _ => SendError::Settings {
                status: code,
                message,
            },
        })
    }
}

/// A path parameter as GitLab's API takes it: `group/project` is `group%2Fproject`.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_as_gitlab_takes_them() {
        assert_eq!(encode("acme/web-app"), "acme%2Fweb-app");
        assert_eq!(encode("15"), "15");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
