//! Signing in with an access token (the admin token, or a project or group access token),
//! signing out, and the home page, which sends each caller where it can act.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::WebState;
use super::page::{WebError, html};
use super::session::{SignedIn, session_id, with_cookie};
use crate::auth::{Reach, caller_of, digest};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
    /// The page to return to once signed in.
    return_to: &'a str,
}

/// Where signing in goes on to: the page asked for, if it is a path of this site (never
/// another site: `//host` and `/\host` are refused), else the home page.
#[derive(Deserialize, Default)]
pub struct ReturnTo {
    #[serde(default)]
    return_to: String,
}

impl ReturnTo {
    fn target(&self) -> &str {
        let path = self.return_to.as_str();
        let local = path.starts_with('/')
            && !path.starts_with("//")
            && !path.starts_with("/\\")
            && !path.chars().any(char::is_control);
        if local { path } else { "/" }
    }
}

/// `/`: the instance overview for the admin, the hooks of its project or group for an
/// access token.
pub async fn home(signed: SignedIn) -> Redirect {
    Redirect::to(&match signed.caller.reach {
        Reach::Admin => "/admin".to_owned(),
        Reach::Project(id) => format!("/projects/{id}/hooks"),
        Reach::Group(id) => format!("/groups/{id}/hooks"),
    })
}

/// The sign-in form, with a fresh anonymous session for its CSRF token.
pub async fn form(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(back): Query<ReturnTo>,
) -> Result<Response, WebError> {
    let existing =
        session_id(&headers).and_then(|id| state.sessions.csrf(&id).map(|csrf| (id, csrf)));
    let (id, csrf) = match existing {
        Some(found) => found,
        None => {
            let id = state.sessions.start();
            let csrf = state.sessions.csrf(&id).unwrap_or_default();
            (id, csrf)
        }
    };
    let page = html(SignInPage {
        csrf: &csrf,
        error: None,
        return_to: back.target(),
    })?;
    Ok(with_cookie(state.sessions.cookie(&id), page))
}

#[derive(Deserialize)]
pub struct Credentials {
    token: String,
    #[serde(flatten)]
    back: ReturnTo,
}

/// Checks the token (only its digest is kept) and starts a signed-in session.
pub async fn submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Result<Response, WebError> {
    let old = session_id(&headers);
    let key = digest(credentials.token.trim());
    match caller_of(state.app.store.as_ref(), key.clone()).await? {
        Some(_) => {
            let id = state.sessions.sign_in(old.as_deref(), key);
            let to = credentials.back.target();
            Ok(with_cookie(state.sessions.cookie(&id), Redirect::to(to)))
        }
        None => {
            // The CSRF check passed, so the session exists.
            let csrf = old
                .and_then(|id| state.sessions.csrf(&id))
                .unwrap_or_default();
            let mut page = html(SignInPage {
                csrf: &csrf,
                error: Some("Invalid or expired access token."),
                return_to: credentials.back.target(),
            })?;
            *page.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(page)
        }
    }
}

/// Ends the session and removes its cookie.
pub async fn sign_out(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&headers) {
        state.sessions.end(&id);
    }
    with_cookie(state.sessions.clear_cookie(), Redirect::to("/-/sign_in")).into_response()
}
