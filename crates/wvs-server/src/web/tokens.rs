//! A project's or group's access tokens (the administrator's): the list, searched by name
//! and paged; creating one, which is shown this once; revoking one.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;
use super::page::{
    Chrome, ListQuery, Pager, WebError, When, admin_only, form_fields, found, html, page_of,
};
use super::place::Place;
use super::session::Flash;
use crate::path_ids::TokenPath;
use crate::service::tokens;
use wvs_store::Millis;

pub fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(list).post(create))
        .route("/{token_id}/revoke", post(revoke))
}

/// One token of the list.
struct TokenRow {
    id: i64,
    name: String,
    created: When,
    /// The last day it works, and whether that day has passed.
    expires: Option<(String, bool)>,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    /// The owner's hook list, and this page.
    base: String,
    action: String,
    rows: Vec<TokenRow>,
    /// A token just created: shown this once.
    created: Option<String>,
    search: String,
    total: u64,
    pager: Pager,
    pager_query: String,
}

/// The tokens page of `place`, with `created` shown when there is one.
async fn page(
    state: &WebState,
    place: Place,
    query: &ListQuery,
    created: Option<String>,
) -> Result<Response, WebError> {
    admin_only(
        &place.signed,
        "Only the administrator manages access tokens.",
    )?;
    let page = Pager::page(query.page.as_deref());
    let search = query.search();
    let now = Millis::now();
    let rows: Vec<TokenRow> = state
        .app
        .store
        .list_access_tokens(place.owner)
        .await?
        .into_iter()
        .filter(|token| search.is_empty() || found(&token.name, &search))
        .map(|token| TokenRow {
            id: token.id.0,
            name: token.name,
            created: When::at(token.created_at, now),
            expires: token
                .expires_at
                .map(|end| (tokens::expiry_date(end), end <= now)),
        })
        .collect();
    let shown = page_of(rows, page);
    let action = tokens_path(&place.base);
    let mut response = html(ListPage {
        chrome: Chrome::new(state, &place.signed),
        title: place.title,
        base: place.base,
        action,
        rows: shown.items,
        created,
        search,
        total: shown.total,
        pager: Pager::new(page, shown.total),
        pager_query: query.pager_query(),
    })?;
    // A page that shows a token is not kept anywhere.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `/projects/15/hooks` → `/projects/15/access_tokens`.
fn tokens_path(hooks_base: &str) -> String {
    format!(
        "{}/access_tokens",
        hooks_base.strip_suffix("/hooks").unwrap_or(hooks_base)
    )
}

async fn list(
    State(state): State<WebState>,
    place: Place,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    page(&state, place, &query, None).await
}

/// Creates a token (`name`, `expires_at`) and shows it this once; a refused one is told.
async fn create(
    State(state): State<WebState>,
    place: Place,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admin_only(
        &place.signed,
        "Only the administrator manages access tokens.",
    )?;
    let fields = form_fields(form, &["name", "expires_at"]);
    match tokens::create(&state.app, place.owner, &fields).await {
        Ok((_, token)) => page(&state, place, &ListQuery::default(), Some(token)).await,
        Err(error) if crate::status::of(&error).is_client_error() => {
            let back = tokens_path(&place.base);
            state
                .sessions
                .flash(&place.signed.session, Flash::error(error.to_string()));
            Ok(Redirect::to(&back).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn revoke(
    State(state): State<WebState>,
    place: Place,
    Path(TokenPath { token_id }): Path<TokenPath>,
) -> Result<Response, WebError> {
    admin_only(
        &place.signed,
        "Only the administrator manages access tokens.",
    )?;
    tokens::revoke(&state.app, place.owner, token_id).await?;
    state.sessions.flash(
        &place.signed.session,
        Flash::ok("Access token was revoked."),
    );
    Ok(Redirect::to(&tokens_path(&place.base)).into_response())
}
