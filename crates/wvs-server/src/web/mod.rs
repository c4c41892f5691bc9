//! The web interface: server-rendered HTML pages at `/`, over the same rules and store
//! calls as the REST API. Forms work without JavaScript; every asset is in the binary.
//!
//! # Layout
//!
//! - [`session`]: sign-in sessions (random ids kept in memory, a cookie), CSRF tokens, and
//!   the middleware that refuses a POST without its session's token.
//! - [`page`]: what every page shares (the signed-in caller, flash messages).
//! - `error`: errors shown as pages.
//! - `sign_in`: signing in with an access token, signing out, the home page's redirect.
//! - `place`: whose hooks a page is about (a project, a group, the instance).
//! - `hooks`: the hook list, add and edit forms, delete, re-enable, test.
//! - `hook_form`: a submitted hook form → the API's hook fields.
//! - `health`: why a hook is disabled and when it tries again.
//! - `deliveries`: the Deliveries view (what waits, is held, retries or failed), per hook
//!   and for the instance.
//! - `events`: recent events of a hook, one event's details, resend.
//! - `disabled`: the hooks disabled now, of every owner (what the overview counts).
//! - `registry`: the lists of projects and groups, searched and paged, and their creation.
//! - `tokens`: a project's or group's access tokens: list, create, revoke.
//! - `overview`: the instance overview (admin), with a chart drawn as inline SVG.
//! - `assets`: the stylesheet.

mod assets;
mod deliveries;
mod disabled;
mod error;
mod events;
mod health;
mod hook_form;
mod hooks;
mod overview;
mod page;
mod place;
mod registry;
mod session;
mod sign_in;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

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
        .route("/admin/deliveries", get(deliveries::of_instance))
        .route("/admin/disabled_hooks", get(disabled::page))
        .route(
            "/admin/projects",
            get(registry::projects).post(registry::create_project),
        )
        .route(
            "/admin/groups",
            get(registry::groups).post(registry::create_group),
        )
        .nest("/projects/{id}/hooks", hooks::routes())
        .nest("/groups/{id}/hooks", hooks::routes())
        .nest("/projects/{id}/access_tokens", tokens::routes())
        .nest("/groups/{id}/access_tokens", tokens::routes())
        .nest("/admin/hooks", hooks::routes())
        .layer(from_fn_with_state(state.clone(), session::check_csrf))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // The pages hold hook paths and ids, and WVS checks no `Referer` (its forms carry
        // CSRF tokens): nothing is gained by sending one anywhere.
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// What a page may load: its own stylesheet and nothing else. The pages have no scripts,
/// images, fonts or inline styles (the overview's chart is inline SVG styled by class from
/// the stylesheet); forms post only to WVS; no page may be framed.
const CONTENT_SECURITY: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
                                base-uri 'none'; frame-ancestors 'none'";
