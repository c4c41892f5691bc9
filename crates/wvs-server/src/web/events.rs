//! Recent events of a hook (the delivery log): status, trigger, elapsed time and when,
//! filtered by status and paged; one event's request and response; resend.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wvs_store::{AttemptId, LoggedAttempt, Millis};

use super::WebState;
use super::health;
use super::page::{Chrome, Pager, WebError, html};
use super::place::PlacedHook;
use super::session::Flash;
use crate::body_text::BodyText;
use crate::path_ids::AttemptPath;
use crate::service::ServiceError;
use crate::service::hooks::{resend_attempt, status_filter};
use crate::status;
use crate::time::{iso8601, relative};

/// The status filters of the list: query value and label.
const FILTERS: [(&str, &str); 4] = [
    ("", "Any status"),
    ("successful", "Succeeded (2xx)"),
    ("client_failure", "Client errors (4xx)"),
    ("server_failure", "Server errors (5xx) and internal errors"),
];

/// One attempt as the list and the details page show it.
struct EventRow {
    id: i64,
    /// The HTTP status, or `internal error` without a response.
    status: String,
    ok: bool,
    /// As GitLab's pages say it (`Push events`), with the log name (`push_hooks`) on hover.
    trigger: String,
    trigger_name: String,
    elapsed: String,
    /// ISO 8601, on hover, and how long ago, shown.
    when: String,
    ago: String,
}

impl EventRow {
    fn of(attempt: &LoggedAttempt, now: Millis) -> Self {
        EventRow {
            id: attempt.id.0,
            status: attempt
                .response_status
                .map_or_else(|| "internal error".to_owned(), |code| code.to_string()),
            ok: attempt
                .response_status
                .is_some_and(|code| (200..300).contains(&code)),
            trigger: trigger_label(&attempt.trigger),
            trigger_name: attempt.trigger.clone(),
            elapsed: elapsed(attempt.execution_duration),
            when: iso8601(attempt.created_at),
            ago: relative(attempt.created_at, now),
        }
    }
}

/// A log's trigger name as GitLab's pages say it: `push_hooks` → `Push events`,
/// `confidential_issue_hooks` → `Confidential issue events`.
pub fn trigger_label(name: &str) -> String {
    let words = name
        .strip_suffix("_hooks")
        .unwrap_or(name)
        .replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => format!("{}{} events", first.to_uppercase(), chars.as_str()),
        None => name.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "events.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    base: String,
    hook_path: String,
    hook_url: String,
    /// Why the hook does not send, while it does not (a banner).
    health: Option<health::HealthNote>,
    rows: Vec<EventRow>,
    filters: [(&'static str, &'static str); 4],
    status: String,
    pager: Pager,
    /// The list's other query parameters, for the pager's links.
    pager_query: String,
}

#[derive(Deserialize)]
pub struct EventsQuery {
    status: Option<String>,
    page: Option<String>,
}

pub async fn list(
    State(state): State<WebState>,
    placed: PlacedHook,
    Query(query): Query<EventsQuery>,
) -> Result<Response, WebError> {
    let status = query.status.unwrap_or_default();
    let filter = status_filter(Some(&status))?;
    let page = Pager::page(query.page.as_deref());
    let attempts = state
        .app
        .store
        .list_attempts(placed.hook.id, filter, page)
        .await?;
    let health = health::note(state.app.store.as_ref(), &placed.hook, Millis::now()).await?;
    html(ListPage {
        chrome: Chrome::new(&state, &placed.place.signed),
        hook_path: placed.path(),
        hook_url: wvs_send::log_url(&placed.hook.url),
        health,
        title: placed.place.title,
        base: placed.place.base,
        rows: attempts
            .items
            .iter()
            .map(|attempt| EventRow::of(attempt, Millis::now()))
            .collect(),
        filters: FILTERS,
        pager: Pager::new(page, attempts.total),
        pager_query: url::form_urlencoded::Serializer::new("&".to_owned())
            .append_pair("status", &status)
            .finish(),
        status,
    })
}

#[derive(Template)]
#[template(path = "event.html")]
struct DetailsPage {
    chrome: Chrome,
    title: String,
    base: String,
    hook_path: String,
    row: EventRow,
    url: String,
    internal_error: Option<String>,
    request_headers: Vec<(String, String)>,
    request_body: String,
    response_headers: Vec<(String, String)>,
    response_body: BodyText,
    /// The state of the attempt's delivery when it will be sent again anyway (held,
    /// retrying...): then no Resend is offered.
    goes_anyway: Option<&'static str>,
}

async fn logged(
    state: &WebState,
    placed: &PlacedHook,
    attempt_id: AttemptId,
) -> Result<LoggedAttempt, WebError> {
    Ok(state
        .app
        .store
        .attempt(placed.hook.id, attempt_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("Hook event"))?)
}

pub async fn details(
    State(state): State<WebState>,
    placed: PlacedHook,
    Path(AttemptPath { attempt_id }): Path<AttemptPath>,
) -> Result<Response, WebError> {
    let attempt = logged(&state, &placed, attempt_id).await?;
    let goes_anyway = match attempt.delivery_id {
        Some(delivery) => state
            .app
            .store
            .delivery_states(&[delivery], Millis::now())
            .await?
            .into_iter()
            .map(|(_, state)| state)
            .find(|state| state.will_be_sent())
            .map(|state| state.name()),
        None => None,
    };
    html(DetailsPage {
        goes_anyway,
        chrome: Chrome::new(&state, &placed.place.signed),
        hook_path: placed.path(),
        title: placed.place.title,
        base: placed.place.base,
        row: EventRow::of(&attempt, Millis::now()),
        url: attempt.url.clone(),
        internal_error: attempt.internal_error.clone(),
        request_body: pretty(&attempt.request_body),
        response_body: BodyText::of(&attempt.response_body),
        // Logged with secrets redacted (token, signatures, custom header values).
        request_headers: attempt.request_headers,
        response_headers: attempt.response_headers,
    })
}

/// Seconds in words: milliseconds below one second.
fn elapsed(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

/// A JSON body indented for reading; anything else as text.
fn pretty(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

/// Sends the logged event again (same body, event UUID and Idempotency-Key).
pub async fn resend(
    State(state): State<WebState>,
    placed: PlacedHook,
    Path(AttemptPath { attempt_id }): Path<AttemptPath>,
) -> Result<Response, WebError> {
    let events_path = format!("{}/events", placed.path());
    let PlacedHook { place, hook } = placed;
    let flash = match resend_attempt(&state.app, &place.signed.caller, hook, attempt_id).await {
        Ok(status) => answer_flash(status),
        Err(error) if status::of(&error).is_client_error() => Flash::error(error.to_string()),
        Err(error) => return Err(error.into()),
    };
    state.sessions.flash(&place.signed.session, flash);
    Ok(Redirect::to(&events_path).into_response())
}

/// The receiver's answer to a test or resend, in words.
pub fn answer_flash(status: Option<u16>) -> Flash {
    match status {
        Some(code) if (200..300).contains(&code) => {
            Flash::ok(format!("Hook executed successfully: HTTP {code}"))
        }
        Some(code) => Flash::error(format!(
            "Hook execution failed: the receiver answered HTTP {code}"
        )),
        None => Flash::error("Hook execution failed: no response from the receiver"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn triggers_are_labelled_as_gitlab_does() {
        assert_eq!(super::trigger_label("push_hooks"), "Push events");
        assert_eq!(
            super::trigger_label("confidential_issue_hooks"),
            "Confidential issue events"
        );
    }
}
