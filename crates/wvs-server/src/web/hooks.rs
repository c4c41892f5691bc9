//! The hooks of a project, a group or the instance: the list, add and edit forms, delete,
//! re-enable and test. Every change goes through the API's own functions.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wvs_events::Scope;
use wvs_store::{Hook, HookId, Millis};

use super::WebState;
use super::deliveries;
use super::events;
use super::health;
use super::hook_form::{FormFields, FormView, describe, trigger_labels};
use super::page::{Chrome, ListQuery, Pager, WebError, found, html, page_of};
use super::place::{Place, PlacedHook};
use super::session::Flash;
use crate::service::ServiceError;
use crate::service::hooks as service;
use crate::status;
use crate::stored_hook::{alert_status, scope_of, settings_of};

/// The pages under a hook list (`/projects/{id}/hooks`, `/groups/{id}/hooks`,
/// `/admin/hooks`).
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/new", get(new_form))
        .route("/{hook_id}/edit", get(edit_form).post(update))
        .route("/{hook_id}/delete", post(delete))
        .route("/{hook_id}/enable", post(enable))
        .route("/{hook_id}/recover", post(recover))
        .route("/{hook_id}/test", post(test))
        .route("/{hook_id}/events", get(events::list))
        .route("/{hook_id}/deliveries", get(deliveries::of_hook))
        .route("/{hook_id}/events/{event_id}", get(events::details))
        .route("/{hook_id}/events/{event_id}/resend", post(events::resend))
}

/// One row of the hook list.
struct HookRow {
    id: i64,
    url: String,
    name: String,
    triggers: String,
    ssl: bool,
    /// `Temporarily disabled` or `Disabled`; `None` while it sends.
    alert: Option<&'static str>,
    /// Why, and what happens next; `None` while it sends.
    health: Option<health::HealthNote>,
    /// Its deliveries in flight at once now (the adaptive limit).
    current_limit: u32,
}

impl HookRow {
    fn of(hook: &Hook, now: Millis, current_limit: u32) -> Self {
        let settings = settings_of(hook);
        let alert = match alert_status(hook, now) {
            ("disabled", _) => Some("Disabled"),
            (_, Some(_)) => Some("Temporarily disabled"),
            _ => None,
        };
        HookRow {
            id: hook.id.0,
            url: wvs_send::log_url(&hook.url),
            name: settings.name.unwrap_or_default(),
            triggers: trigger_labels(scope_of(hook.owner), &settings.events).join(", "),
            ssl: settings.enable_ssl_verification,
            alert,
            health: None,
            current_limit,
        }
    }

    /// Whether the search matches its name, URL or id.
    fn matches(&self, search: &str) -> bool {
        search.is_empty()
            || found(&self.name, search)
            || found(&self.url, search)
            || self.id.to_string() == search
    }
}

/// A trigger a test can send: its API name and label.
pub struct TestTrigger {
    pub name: &'static str,
    pub label: &'static str,
}

fn test_triggers(scope: Scope) -> Vec<TestTrigger> {
    wvs_hooks::Flag::ALL
        .iter()
        .filter(|flag| flag.in_scope(scope))
        .map(|flag| TestTrigger {
            name: flag.name(),
            label: describe(*flag).0,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "hooks.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    base: String,
    hooks: Vec<HookRow>,
    triggers: Vec<TestTrigger>,
    search: String,
    /// Hooks of the owner, before the search.
    all: u64,
    pager: Pager,
    /// The list's other query parameters, for the pager's links.
    pager_query: String,
}

/// Every hook of one owner: the list is searched here, since hook URLs are sealed in the
/// store and only readable once opened.
const EVERY_HOOK: wvs_store::Page = wvs_store::Page {
    page: 1,
    per_page: u32::MAX,
};

async fn list(
    State(state): State<WebState>,
    place: Place,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let page = Pager::page(query.page.as_deref());
    let search = query.search();
    let hooks = state.app.store.list_hooks(place.owner, EVERY_HOOK).await?;
    let now = Millis::now();
    let matching: Vec<HookRow> = hooks
        .items
        .iter()
        .map(|hook| HookRow::of(hook, now, state.app.limits.shown(hook)))
        .filter(|row| row.matches(&search))
        .collect();
    let shown = page_of(matching, page);
    let mut rows = Vec::with_capacity(shown.items.len());
    for mut row in shown.items {
        if let Some(hook) = hooks.items.iter().find(|hook| hook.id == HookId(row.id)) {
            row.health = health::note(state.app.store.as_ref(), hook, now).await?;
        }
        rows.push(row);
    }
    html(ListPage {
        chrome: Chrome::new(&state, &place.signed),
        title: place.title,
        base: place.base,
        hooks: rows,
        triggers: test_triggers(scope_of(place.owner)),
        all: hooks.total,
        pager: Pager::new(page, shown.total),
        pager_query: query.pager_query(),
        search,
    })
}

#[derive(Template)]
#[template(path = "hook_form.html")]
struct FormPage {
    chrome: Chrome,
    title: String,
    base: String,
    /// Where the form posts.
    action: String,
    /// The hook being edited.
    hook_id: Option<i64>,
    view: FormView,
    error: Option<String>,
    /// A signing token WVS just generated: shown this once.
    signing_token: Option<String>,
}

impl FormPage {
    fn new(state: &WebState, place: &Place, hook: Option<&Hook>, view: FormView) -> Self {
        let action = match hook {
            Some(hook) => format!("{}/{}/edit", place.base, hook.id),
            None => place.base.clone(),
        };
        FormPage {
            chrome: Chrome::new(state, &place.signed),
            title: place.title.clone(),
            base: place.base.clone(),
            action,
            hook_id: hook.map(|hook| hook.id.0),
            view,
            error: None,
            signing_token: None,
        }
    }

    /// The form again with what was typed (secrets left out) and why it was refused.
    fn refused(mut self, error: String) -> Result<Response, WebError> {
        self.error = Some(error);
        let mut response = html(self)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(response)
    }
}

async fn new_form(State(state): State<WebState>, place: Place) -> Result<Response, WebError> {
    let view = FormView::blank(scope_of(place.owner));
    html(FormPage::new(&state, &place, None, view))
}

async fn edit_form(
    State(state): State<WebState>,
    placed: PlacedHook,
) -> Result<Response, WebError> {
    let view = FormView::of_hook(&placed.hook);
    html(FormPage::new(
        &state,
        &placed.place,
        Some(&placed.hook),
        view,
    ))
}

/// A refusal the form shows (a field's rule, a blocked URL); anything else is an error page.
fn shown_on_form(error: &ServiceError) -> bool {
    matches!(
        status::of(error),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
    )
}

async fn create(
    State(state): State<WebState>,
    place: Place,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = FormFields(fields);
    let scope = scope_of(place.owner);
    let refused = |error: String| {
        let view = FormView::submitted(scope, &fields, None);
        FormPage::new(&state, &place, None, view).refused(error)
    };
    let input = match fields.to_input(scope, None) {
        Ok(input) => input,
        Err(error) => return refused(error.to_string()),
    };
    let generated = input.generate_signing_token == Some(true);
    let hook = match service::create(&state.app, place.owner, input).await {
        Ok(hook) => hook,
        Err(error) if shown_on_form(&error) => return refused(error.to_string()),
        Err(error) => return Err(error.into()),
    };
    saved(&state, &place, &hook, generated, "Hook was created.")
}

async fn update(
    State(state): State<WebState>,
    placed: PlacedHook,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = FormFields(fields);
    let PlacedHook { place, hook } = placed;
    let scope = scope_of(place.owner);
    let refused = |error: String| {
        let view = FormView::submitted(scope, &fields, Some(&hook));
        FormPage::new(&state, &place, Some(&hook), view).refused(error)
    };
    let input = match fields.to_input(scope, Some(&hook)) {
        Ok(input) => input,
        Err(error) => return refused(error.to_string()),
    };
    let generated = input.generate_signing_token == Some(true);
    let saved_hook = match service::update(&state.app, &hook, input).await {
        Ok(saved) => saved,
        Err(error) if shown_on_form(&error) => return refused(error.to_string()),
        Err(error) => return Err(error.into()),
    };
    saved(&state, &place, &saved_hook, generated, "Hook was updated.")
}

/// After a save: back to the list, or, when WVS generated a signing token, the hook's form
/// with the token shown this once (it is never shown again).
fn saved(
    state: &WebState,
    place: &Place,
    hook: &Hook,
    generated: bool,
    message: &str,
) -> Result<Response, WebError> {
    match hook.secrets.signing_tokens.first().filter(|_| generated) {
        Some(secret) => {
            let mut page = FormPage::new(state, place, Some(hook), FormView::of_hook(hook));
            page.signing_token = Some(secret.clone());
            let mut response = html(page)?;
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        None => {
            state
                .sessions
                .flash(&place.signed.session, Flash::ok(message));
            Ok(Redirect::to(&place.base).into_response())
        }
    }
}

async fn delete(State(state): State<WebState>, placed: PlacedHook) -> Result<Response, WebError> {
    service::delete(&state.app, &placed.hook).await?;
    let place = placed.place;
    state
        .sessions
        .flash(&place.signed.session, Flash::ok("Hook was deleted."));
    Ok(Redirect::to(&place.base).into_response())
}

async fn enable(State(state): State<WebState>, placed: PlacedHook) -> Result<Response, WebError> {
    service::enable(&state.app, &placed.hook).await?;
    let place = placed.place;
    state
        .sessions
        .flash(&place.signed.session, Flash::ok("Hook was re-enabled."));
    Ok(Redirect::to(&place.base).into_response())
}

/// Sends again the hook's failed deliveries and releases what it holds (bulk recovery, as
/// `POST .../recover` without `since`).
async fn recover(State(state): State<WebState>, placed: PlacedHook) -> Result<Response, WebError> {
    let recovered = service::recover_deliveries(&state.app, &placed.hook, Millis::MIN).await?;
    let events = format!("{}/events", placed.path());
    state.sessions.flash(
        &placed.place.signed.session,
        Flash::ok(format!(
            "{} failed deliveries queued again; held deliveries released.",
            recovered.requeued
        )),
    );
    Ok(Redirect::to(&events).into_response())
}

#[derive(Deserialize)]
pub struct TestForm {
    trigger: String,
}

/// Sends the trigger's test event; the hook's recent events show the receiver's answer.
async fn test(
    State(state): State<WebState>,
    placed: PlacedHook,
    Form(form): Form<TestForm>,
) -> Result<Response, WebError> {
    let events_path = format!("{}/events", placed.path());
    let PlacedHook { place, hook } = placed;
    let flash = match service::test(&state.app, &place.signed.caller, hook, &form.trigger).await {
        Ok(status) => events::answer_flash(status),
        Err(error) if status::of(&error).is_client_error() => Flash::error(error.to_string()),
        Err(error) => return Err(error.into()),
    };
    state.sessions.flash(&place.signed.session, flash);
    Ok(Redirect::to(&events_path).into_response())
}
