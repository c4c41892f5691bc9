//! How the listener answers one request: the status, the outcome of the token and signature
//! checks, and the error, if any. The answer body is always JSON, with a `message`.

use std::borrow::Cow;

use axum::Json;
use axum::http::header::ALLOW;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wvs_events::{Check, EventKind, Incoming, ReceiveError};

/// A check that was asked for and holds.
const VALID: &str = "valid";
/// A check that was not asked for, or not reached.
const NOT_CHECKED: &str = "not checked";

/// Which checks the listener's flags ask for.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    pub token: bool,
    pub signature: bool,
}

#[derive(Debug)]
pub struct Verdict {
    pub status: StatusCode,
    /// The kind of an accepted event.
    pub kind: Option<EventKind>,
    /// `valid`, `not checked`, `wrong` or `missing`.
    pub token: Cow<'static, str>,
    /// `valid`, `not checked`, or why the signature was refused.
    pub signature: Cow<'static, str>,
    pub error: Option<String>,
}

impl Verdict {
    /// The verdict on a POST: 200 when accepted, 401 when the token or signature does not
    /// check out, 400 when the delivery is malformed.
    pub fn new(received: Result<Incoming, ReceiveError>, checks: Checks) -> Self {
        match received {
            Ok(incoming) => Verdict {
                status: StatusCode::OK,
                kind: Some(incoming.event.kind()),
                token: check_name(incoming.token),
                signature: check_name(incoming.signature),
                error: None,
            },
            Err(err) => {
                let (token, signature) = checks_before(&err, checks);
                let status = if err.is_unauthorized() {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                Verdict {
                    status,
                    kind: None,
                    token,
                    signature,
                    error: Some(err.to_string()),
                }
            }
        }
    }

    /// A request refused before any check (an unreadable or oversized body).
    pub fn refused(status: StatusCode, message: String) -> Self {
        Verdict {
            status,
            kind: None,
            token: NOT_CHECKED.into(),
            signature: NOT_CHECKED.into(),
            error: Some(message),
        }
    }

    /// Anything but a POST.
    pub fn not_post() -> Self {
        Verdict::refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "webhooks are sent with POST".to_owned(),
        )
    }
}

impl IntoResponse for Verdict {
    fn into_response(self) -> Response {
        let body = match self.error {
            None => json!({ "message": "accepted", "kind": self.kind.map(EventKind::name) }),
            Some(error) => json!({ "message": error }),
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

fn check_name(check: Check) -> Cow<'static, str> {
    match check {
        Check::Valid => VALID.into(),
        Check::NotChecked => NOT_CHECKED.into(),
    }
}

/// The token and signature outcomes of a refused delivery. `Event::from_http` reads the
/// event header, then checks the token, then the signature, then parses the body, and its
/// error names only the step that failed: every check before that step passed (or was not
/// asked for), and every check after it was not reached.
fn checks_before(err: &ReceiveError, checks: Checks) -> (Cow<'static, str>, Cow<'static, str>) {
    let passed = |asked: bool| Cow::Borrowed(if asked { VALID } else { NOT_CHECKED });
    match err {
        ReceiveError::MissingEventHeader => (NOT_CHECKED.into(), NOT_CHECKED.into()),
        ReceiveError::MissingToken => ("missing".into(), NOT_CHECKED.into()),
        ReceiveError::WrongToken => ("wrong".into(), NOT_CHECKED.into()),
        ReceiveError::MissingSignature | ReceiveError::BadSignature(_) => {
            (passed(checks.token), err.to_string().into())
        }
        ReceiveError::HeaderMismatch { .. } | ReceiveError::Parse(_) => {
            (passed(checks.token), passed(checks.signature))
        }
    }
}
