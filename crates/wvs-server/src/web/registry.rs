//! The administrator's pages of projects and groups: each list searched by path and paged,
//! with a form to register one (through the service, which sends its system events), and
//! links to its hooks and access tokens.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;
use super::page::{Chrome, ListQuery, Pager, WebError, When, admin_only, form_fields, html};
use super::session::{Flash, SignedIn};
use crate::service::registry;
use wvs_store::Millis;

/// One project or group of a list.
struct Row {
    id: i64,
    /// Its full path (`acme/web`).
    path: String,
    name: String,
    /// Where its pages are (`/projects/15`).
    base: String,
    created: When,
}

#[derive(Template)]
#[template(path = "registry.html")]
struct ListPage {
    chrome: Chrome,
    /// `Projects` or `Groups`.
    title: &'static str,
    /// This page (`/admin/projects`).
    action: &'static str,
    /// Whether the form registers projects (a namespace) or groups (a parent).
    projects: bool,
    rows: Vec<Row>,
    search: String,
    total: u64,
    pager: Pager,
    pager_query: String,
}

impl ListPage {
    fn new(
        state: &WebState,
        signed: &SignedIn,
        projects: bool,
        query: &ListQuery,
        rows: Vec<Row>,
        total: u64,
        page: wvs_store::Page,
    ) -> Self {
        let (title, action) = if projects {
            ("Projects", "/admin/projects")
        } else {
            ("Groups", "/admin/groups")
        };
        ListPage {
            chrome: Chrome::new(state, signed),
            title,
            action,
            projects,
            rows,
            search: query.search(),
            total,
            pager: Pager::new(page, total),
            pager_query: query.pager_query(),
        }
    }
}

pub async fn projects(
    State(state): State<WebState>,
    signed: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    admin_only(&signed, "Only the administrator lists every project.")?;
    let page = Pager::page(query.page.as_deref());
    let found = state
        .app
        .store
        .search_projects(&query.search(), page)
        .await?;
    let now = Millis::now();
    let rows = found
        .items
        .into_iter()
        .map(|project| Row {
            id: project.id.0,
            base: format!("/projects/{}", project.id),
            path: project.path_with_namespace,
            name: project.name,
            created: When::at(project.created_at, now),
        })
        .collect();
    html(ListPage::new(
        &state,
        &signed,
        true,
        &query,
        rows,
        found.total,
        page,
    ))
}

pub async fn groups(
    State(state): State<WebState>,
    signed: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    admin_only(&signed, "Only the administrator lists every group.")?;
    let page = Pager::page(query.page.as_deref());
    let found = state.app.store.search_groups(&query.search(), page).await?;
    let now = Millis::now();
    let rows = found
        .items
        .into_iter()
        .map(|group| Row {
            id: group.id.0,
            base: format!("/groups/{}", group.id),
            path: group.full_path,
            name: group.name,
            created: When::at(group.created_at, now),
        })
        .collect();
    html(ListPage::new(
        &state,
        &signed,
        false,
        &query,
        rows,
        found.total,
        page,
    ))
}

/// Registers a project (`name`, `path`, `namespace_path`), then back to the list.
pub async fn create_project(
    State(state): State<WebState>,
    signed: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admin_only(&signed, "Only the administrator registers projects.")?;
    let fields = form_fields(form, &["name", "path", "namespace_path"]);
    let flash = match registry::create_project(&state.app, &fields).await {
        Ok(project) => Flash::ok(format!(
            "Project {} was created.",
            project.path_with_namespace
        )),
        Err(error) => refused(error)?,
    };
    state.sessions.flash(&signed.session, flash);
    Ok(Redirect::to("/admin/projects").into_response())
}

/// Registers a group (`name`, `path`, `parent_id`), then back to the list.
pub async fn create_group(
    State(state): State<WebState>,
    signed: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    admin_only(&signed, "Only the administrator registers groups.")?;
    let fields = form_fields(form, &["name", "path", "parent_id"]);
    let flash = match registry::create_group(&state.app, &fields).await {
        Ok(group) => Flash::ok(format!("Group {} was created.", group.full_path)),
        Err(error) => refused(error)?,
    };
    state.sessions.flash(&signed.session, flash);
    Ok(Redirect::to("/admin/groups").into_response())
}

/// A refusal of what was typed is told on the list (a flash); any other failure is a page.
fn refused(error: crate::service::ServiceError) -> Result<Flash, WebError> {
    if crate::status::of(&error).is_client_error() {
        Ok(Flash::error(error.to_string()))
    } else {
        Err(error.into())
    }
}
