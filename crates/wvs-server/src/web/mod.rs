//! The web interface: server-rendered HTML pages at `/`, over the same rules and store
//! calls as the REST API. Forms work without JavaScript; every asset is in the binary.
//!
//! # Layout
//!
//! - [`session`]: sign-in sessions (random ids kept in memory, a cookie), CSRF tokens, and
//!   the middleware that refuses a POST without its session's token.
//! - [`page`]: what every page shares (the signed-in caller, flash messages), errors as pages.
//! - `sign_in`: signing in with an access token, signing out, the home page's redirect.
//! - `place`: whose hooks a page is about (a project, a group, the instance).
//! - `hooks`: the hook list, add and edit forms, delete, re-enable, test.
//! - `hook_form`: a submitted hook form → the API's hook fields.
//! - `events`: recent events of a hook, one event's details, resend.
//! - `overview`: the instance overview (admin), with a chart drawn as inline SVG.
//! - `assets`: the stylesheet.

mod assets;
mod events;
mod hook_form;
mod hooks;
mod overview;
mod page;
mod place;
mod session;
mod sign_in;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::state::AppState;
use session::Sessions;

/// What the pages' handlers share: the server's state and the sessions.
#[derive(Clone)]
struct WebState {
    app: AppState,
    sessions: Arc<Sessions>,
}

/// The web interface's routes.
pub fn router(app: AppState) -> Router {
    let secure = app.config.instance_url.starts_with("https://");
    let state = WebState {
        app,
        sessions: Arc::new(Sessions::new(secure)),
    };
    Router::new()
        .route("/", get(sign_in::home))
        .route("/-/sign_in", get(sign_in::form).post(sign_in::submit))
        .route("/-/sign_out", post(sign_in::sign_out))
        .route("/-/assets/wvs.css", get(assets::stylesheet))
        .route("/admin", get(overview::page))
        .nest("/projects/{id}/hooks", hooks::routes())
        .nest("/groups/{id}/hooks", hooks::routes())
        .nest("/admin/hooks", hooks::routes())
        .layer(from_fn_with_state(state.clone(), session::check_csrf))
        .with_state(state)
}
