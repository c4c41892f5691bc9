//! Sign-in sessions and CSRF protection.
//!
//! A session is a random id in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when the
//! instance URL is https). The server keeps, in memory, only the id's SHA-256 digest, mapped
//! to the digest of the token that signed in (never the token) and the session's CSRF
//! token. Who the caller is gets asked of the store at every request, so revoking a token
//! ends its sessions. Signing in replaces the session id (no fixation). Every POST must
//! carry its session's CSRF token in the `_csrf` form field, or it is refused with 403;
//! the sign-in form is covered too, by a session made when the form is shown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::WebState;
use super::error::WebError;
use crate::auth::{Caller, caller_of, digest, new_token};

const COOKIE_NAME: &str = "wvs_session";
/// A signed-in session ends after this long without a request.
const SIGNED_IN_IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session that never signed in (the sign-in form's CSRF token) lasts this long.
const ANONYMOUS_IDLE: Duration = Duration::from_secs(3600);
/// Sessions kept at most; past it, the one closest to expiry goes first.
const MAX_SESSIONS: usize = 10_000;
/// The largest form body a page accepts (a hook form with its template fits easily).
const MAX_FORM_BYTES: usize = 256 * 1024;
/// The form field that carries the CSRF token.
const CSRF_FIELD: &str = "_csrf";

/// A one-time message shown on the next page (after a redirect).
#[derive(Debug, Clone)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Flash {
            ok: true,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Flash {
            ok: false,
            text: text.into(),
        }
    }
}

struct Session {
    /// The digest of the token that signed in; `None` before signing in.
    caller_key: Option<String>,
    csrf: String,
    expires_at: Instant,
    flash: Option<Flash>,
}

/// Every session of this process, by the digest of its id.
pub struct Sessions {
    secure: bool,
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(secure: bool) -> Self {
        Sessions {
            secure,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new session (signed in when `caller_key` is given); its id, for the cookie.
    fn create(&self, caller_key: Option<String>) -> String {
        let id = new_token("");
        let idle = if caller_key.is_some() {
            SIGNED_IN_IDLE
        } else {
            ANONYMOUS_IDLE
        };
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, session| session.expires_at > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, session)| session.expires_at)
                .map(|(key, _)| key.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            digest(&id),
            Session {
                caller_key,
                csrf: new_token(""),
                expires_at: now + idle,
                flash: None,
            },
        );
        id
    }

    /// An anonymous session for the sign-in form; its id.
    pub fn start(&self) -> String {
        self.create(None)
    }

    /// Ends `old` (if any) and starts a signed-in session; its id.
    pub fn sign_in(&self, old: Option<&str>, caller_key: String) -> String {
        if let Some(old) = old {
            self.end(old);
        }
        self.create(Some(caller_key))
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(&digest(id));
    }

    /// The session's CSRF token and signed-in caller key, renewing its idle time; `None`
    /// for an unknown or expired id.
    fn touch(&self, id: &str) -> Option<(String, Option<String>)> {
        let now = Instant::now();
        let mut map = self.lock();
        let key = digest(id);
        let session = map.get_mut(&key)?;
        if session.expires_at <= now {
            map.remove(&key);
            return None;
        }
        let idle = if session.caller_key.is_some() {
            SIGNED_IN_IDLE
        } else {
            ANONYMOUS_IDLE
        };
        session.expires_at = now + idle;
        Some((session.csrf.clone(), session.caller_key.clone()))
    }

    /// The CSRF token of a live session.
    pub fn csrf(&self, id: &str) -> Option<String> {
        self.touch(id).map(|(csrf, _)| csrf)
    }

    /// Leaves a message for the session's next page.
    pub fn flash(&self, id: &str, flash: Flash) {
        if let Some(session) = self.lock().get_mut(&digest(id)) {
            session.flash = Some(flash);
        }
    }

    /// The message left for this page, once.
    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.lock()
            .get_mut(&digest(id))
            .and_then(|session| session.flash.take())
    }

    /// `Set-Cookie` for a session id.
    pub fn cookie(&self, id: &str) -> HeaderValue {
        self.cookie_header(&format!(
            "{COOKIE_NAME}={id}; Max-Age={}",
            SIGNED_IN_IDLE.as_secs()
        ))
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        self.cookie_header(&format!("{COOKIE_NAME}=; Max-Age=0"))
    }

    fn cookie_header(&self, start: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{start}; Path=/; HttpOnly; SameSite=Strict{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The session id a request's cookie carries.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// A response that sets the session cookie.
pub fn with_cookie(cookie: HeaderValue, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

/// A signed-in request: its session and the caller it stands for.
pub struct SignedIn {
    pub session: String,
    pub csrf: String,
    pub caller: Caller,
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        // A page asked for with GET is where signing in returns to (a form's POST is not
        // sent again).
        // The whole path: a nested router sees only the part below its prefix.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let back = (parts.method == axum::http::Method::GET)
            .then(|| uri.path_and_query().map(|p| p.as_str().to_owned()))
            .flatten();
        let sign_in = || WebError::SignIn { back: back.clone() };
        let session = session_id(&parts.headers).ok_or_else(sign_in)?;
        let (csrf, key) = state.sessions.touch(&session).ok_or_else(sign_in)?;
        let key = key.ok_or_else(sign_in)?;
        match caller_of(state.app.store.as_ref(), key).await? {
            Some(caller) => Ok(SignedIn {
                session,
                csrf,
                caller,
            }),
            None => {
                // The token was revoked or expired: so is the session.
                state.sessions.end(&session);
                Err(sign_in())
            }
        }
    }
}

/// Middleware: a POST must carry its session's CSRF token in the `_csrf` field (403
/// otherwise). The form body is read here and handed on unchanged.
pub async fn check_csrf(State(state): State<WebState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return WebError::TooLarge.into_response();
    };
    let expected = session_id(&parts.headers).and_then(|id| state.sessions.csrf(&id));
    let given = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    match (expected, given) {
        (Some(expected), Some(given))
            if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) =>
        {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => WebError::Forbidden(
            "The form has expired or did not come from this site: reload the page and try again.",
        )
        .into_response(),
    }
}
