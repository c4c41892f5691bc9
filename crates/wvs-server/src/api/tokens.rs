//! Project and group access tokens, GitLab's `/projects/:id/access_tokens` and
//! `/groups/:id/access_tokens` (admin only): a token reaches the hooks, logs and ingest of
//! its project, or of its group and everything beneath it. The token is shown once, in the
//! answer to its creation; only its digest is kept.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wvs_store::{AccessToken, Millis};

use super::endpoints::{Documented, Endpoints};
use super::error::ApiResult;
use super::owner::RouteOwner;
use super::pagination::Paging;
use super::params::Params;
use super::schema::{self, TokenParams};
use crate::path_ids::TokenPath;
use crate::service::fields::Fields;
use crate::service::tokens;
use crate::state::AppState;
use crate::time::iso8601;

pub fn routes() -> Documented {
    Endpoints::new("access tokens")
        .get(
            "/projects/{id}/access_tokens",
            list_tokens,
            "List a project's access tokens",
        )
        .answers::<Vec<schema::AccessToken>>(200)
        .post(
            "/projects/{id}/access_tokens",
            create_token,
            "Create a project access token",
        )
        .takes::<TokenParams>()
        .answers::<schema::AccessToken>(201)
        .delete(
            "/projects/{id}/access_tokens/{token_id}",
            revoke_token,
            "Revoke a project access token",
        )
        .answers_empty(204)
        .get(
            "/groups/{id}/access_tokens",
            list_tokens,
            "List a group's access tokens",
        )
        .answers::<Vec<schema::AccessToken>>(200)
        .post(
            "/groups/{id}/access_tokens",
            create_token,
            "Create a group access token",
        )
        .takes::<TokenParams>()
        .answers::<schema::AccessToken>(201)
        .delete(
            "/groups/{id}/access_tokens/{token_id}",
            revoke_token,
            "Revoke a group access token",
        )
        .answers_empty(204)
        .build()
}

fn render(token: &AccessToken) -> schema::AccessToken {
    schema::AccessToken {
        id: token.id.0,
        name: token.name.clone(),
        scopes: vec!["api".to_owned()],
        active: token.expires_at.is_none_or(|at| at > Millis::now()),
        revoked: false,
        created_at: iso8601(token.created_at),
        expires_at: token.expires_at.map(tokens::expiry_date),
        token: None,
    }
}

async fn list_tokens(
    State(state): State<AppState>,
    RouteOwner(owner): RouteOwner,
    paging: Paging,
) -> ApiResult<Response> {
    let tokens = state.store.list_access_tokens(owner).await?;
    Ok(paging.respond_whole(tokens.iter().map(render).collect()))
}

async fn create_token(
    State(state): State<AppState>,
    RouteOwner(owner): RouteOwner,
    params: Params,
) -> ApiResult<Response> {
    let fields = Fields(params.into_object());
    let (stored, token) = tokens::create(&state, owner, &fields).await?;
    let mut body = render(&stored);
    body.token = Some(token);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    RouteOwner(owner): RouteOwner,
    Path(TokenPath { token_id }): Path<TokenPath>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&state, owner, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
