//! The Deliveries view, for one hook and for the instance: what is pending, held, retrying,
//! in flight or given up, with the next attempt and each event's attempts together,
//! filtered by state, trigger, time range and event UUID, and paged.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use wvs_store::{
    DeliveryFilter, DeliveryRecord, DeliveryState, DeliveryStates, Hook, HookHealth, HookId, Store,
};

use super::WebState;
use super::events::trigger_label;
use super::page::{Chrome, Pager, WebError, When, html};
use super::place::{PlacedHook, hooks_path};
use super::session::SignedIn;
use crate::auth::Reach;
use crate::service::ServiceError;
use wvs_store::Millis;

/// The filter form's fields, as the query string carries them.
#[derive(Deserialize, Default)]
pub struct DeliveriesQuery {
    /// A [`DeliveryState`] name, `waiting`, `any`, or nothing: what is not delivered yet.
    #[serde(default)]
    state: String,
    /// A log trigger name (`push_hooks`).
    #[serde(default)]
    trigger: String,
    /// Dates (`YYYY-MM-DD`, UTC), both included.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    event: String,
    page: Option<String>,
}

const DAY: Duration = Duration::from_secs(86_400);

impl DeliveriesQuery {
    fn filter(&self, hook_id: Option<HookId>) -> Result<DeliveryFilter, ServiceError> {
        let states = match self.state.as_str() {
            "" => DeliveryStates::Undelivered,
            "any" => DeliveryStates::Any,
            "waiting" => DeliveryStates::Waiting,
            name => DeliveryStates::Only(
                DeliveryState::parse(name)
                    .ok_or_else(|| ServiceError::invalid("state is not a delivery state"))?,
            ),
        };
        let text = |value: &str| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
        Ok(DeliveryFilter {
            hook_id,
            states,
            trigger: text(&self.trigger),
            event_uuid: text(&self.event),
            from: day_start(&self.from, "from")?,
            // The whole of the last day.
            to: day_start(&self.to, "to")?.map(|start| start + DAY),
        })
    }

    /// The pager links' other parameters.
    fn pager_query(&self) -> String {
        url::form_urlencoded::Serializer::new("&".to_owned())
            .append_pair("state", &self.state)
            .append_pair("trigger", &self.trigger)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .append_pair("event", &self.event)
            .finish()
    }
}

/// Midnight (UTC) of a `YYYY-MM-DD` date, in Unix milliseconds; `None` when blank.
fn day_start(date: &str, field: &str) -> Result<Option<Millis>, ServiceError> {
    let date = date.trim();
    if date.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|start| Some(Millis(start.and_utc().timestamp_millis())))
        .ok_or_else(|| ServiceError::invalid(format!("{field} must be a date (YYYY-MM-DD)")))
}

/// One attempt of a delivery's line.
struct AttemptCell {
    id: i64,
    /// The status, or `error` without a response (the error on hover).
    status: String,
    error: String,
    ok: bool,
    when: When,
}

/// One line of the view.
struct DeliveryRow {
    event_uuid: String,
    hook_name: String,
    /// Where the hook's pages are (`/projects/15/hooks/3`).
    hook_path: String,
    trigger: String,
    trigger_name: String,
    state: &'static str,
    /// A word on the state (`Held while the hook is disabled`).
    state_label: &'static str,
    received: When,
    /// When it goes next, for what still waits (HTML made by [`next_attempt`]).
    next: Option<String>,
    attempts: Vec<AttemptCell>,
    /// The attempt a resend repeats: the last one of a delivery given up.
    resend: Option<i64>,
}

/// When a waiting delivery goes (a `<time>` element, or words made here: never input):
/// its own due time, or later while its hook is disabled.
fn next_attempt(record: &DeliveryRecord, health: &HookHealth, now: Millis) -> Option<String> {
    let at = match record.state {
        DeliveryState::Held if health.permanently_disabled => {
            return Some("when the hook is re-enabled".to_owned());
        }
        DeliveryState::Held => record
            .next_attempt_at
            .max(health.disabled_until.unwrap_or(Millis::EPOCH)),
        DeliveryState::Pending | DeliveryState::Retrying => record.next_attempt_at.max(now),
        _ => return None,
    };
    Some(When::at(at, now).to_string())
}

fn state_label(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "Pending",
        DeliveryState::Held => "Held (hook disabled)",
        DeliveryState::Retrying => "Retrying",
        DeliveryState::InFlight => "In flight",
        DeliveryState::Failed => "Failed",
        DeliveryState::Succeeded => "Succeeded",
    }
}

impl DeliveryRow {
    fn of(record: DeliveryRecord, hook: Option<&Hook>, now: Millis) -> Self {
        let hook_path = hook
            .map(|hook| format!("{}/{}", hooks_path(hook.owner), hook.id))
            .unwrap_or_default();
        let health = hook.map(|hook| hook.health.clone()).unwrap_or_default();
        let resend = (record.state == DeliveryState::Failed)
            .then(|| record.attempts.last().map(|attempt| attempt.id))
            .flatten();
        DeliveryRow {
            hook_name: hook.map(super::place::display_name).unwrap_or_default(),
            hook_path,
            trigger: trigger_label(&record.trigger),
            state: record.state.name(),
            state_label: state_label(record.state),
            received: When::at(record.event_at, now),
            next: next_attempt(&record, &health, now),
            attempts: record
                .attempts
                .iter()
                .map(|attempt| AttemptCell {
                    id: attempt.id.0,
                    status: attempt
                        .response_status
                        .map_or_else(|| "error".to_owned(), |code| code.to_string()),
                    error: attempt.internal_error.clone().unwrap_or_default(),
                    ok: attempt
                        .response_status
                        .is_some_and(|code| (200..300).contains(&code)),
                    when: When::at(attempt.created_at, now),
                })
                .collect(),
            resend: resend.map(|id| id.0),
            trigger_name: record.trigger,
            event_uuid: record.event_uuid,
        }
    }
}

/// The triggers a delivery can have: log name and label.
fn triggers() -> Vec<(&'static str, String)> {
    let mut names: Vec<&'static str> = wvs_hooks::Flag::ALL
        .iter()
        .map(|flag| flag.trigger().as_str())
        .chain([wvs_hooks::Trigger::SystemHooks.as_str()])
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| (name, trigger_label(name)))
        .collect()
}

/// The state filter's choices: value and label.
fn state_choices() -> Vec<(&'static str, &'static str)> {
    [
        ("", "Not delivered (waiting or failed)"),
        ("waiting", "Waiting (to be sent without asking)"),
        ("any", "Any state"),
    ]
    .into_iter()
    .chain(
        DeliveryState::ALL
            .into_iter()
            .map(|state| (state.name(), state_label(state))),
    )
    .collect()
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    /// `Deliveries of Receiver` or `Deliveries`.
    heading: String,
    /// The hook list and hook shown, on a hook's view.
    crumbs: Option<(String, String)>,
    /// Where the form goes (this page).
    action: String,
    /// The hook's path, on a hook's view (its recovery button).
    hook_path: Option<String>,
    /// Whether the view is the instance's (a hook column).
    instance: bool,
    rows: Vec<DeliveryRow>,
    query: DeliveriesQuery,
    states: Vec<(&'static str, &'static str)>,
    triggers: Vec<(&'static str, String)>,
    total: u64,
    pager: Pager,
    pager_query: String,
}

/// The deliveries matching the query, with their hooks.
async fn rows(
    store: &dyn Store,
    filter: &DeliveryFilter,
    page: wvs_store::Page,
    now: Millis,
) -> Result<(Vec<DeliveryRow>, u64), WebError> {
    let listed = store.list_deliveries(filter, now, page).await?;
    let mut ids: Vec<HookId> = listed.items.iter().map(|record| record.hook_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let hooks = store.hooks_by_ids(&ids).await?;
    let rows = listed
        .items
        .into_iter()
        .map(|record| {
            let hook = hooks.iter().find(|hook| hook.id == record.hook_id);
            DeliveryRow::of(record, hook, now)
        })
        .collect();
    Ok((rows, listed.total))
}

/// One hook's deliveries.
pub async fn of_hook(
    State(state): State<WebState>,
    placed: PlacedHook,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Response, WebError> {
    let filter = query.filter(Some(placed.hook.id))?;
    let page = Pager::page(query.page.as_deref());
    let now = Millis::now();
    let (rows, total) = rows(state.app.store.as_ref(), &filter, page, now).await?;
    let hook_path = placed.path();
    html(DeliveriesPage {
        chrome: Chrome::new(&state, &placed.place.signed),
        heading: format!("Deliveries of {}", super::place::display_name(&placed.hook)),
        crumbs: Some((placed.place.base.clone(), placed.place.title.clone())),
        action: format!("{hook_path}/deliveries"),
        hook_path: Some(hook_path),
        instance: false,
        rows,
        pager_query: query.pager_query(),
        query,
        states: state_choices(),
        triggers: triggers(),
        total,
        pager: Pager::new(page, total),
    })
}

/// Every hook's deliveries (the administrator's).
pub async fn of_instance(
    State(state): State<WebState>,
    signed: SignedIn,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Response, WebError> {
    if signed.caller.reach != Reach::Admin {
        return Err(WebError::Forbidden(
            "Only the administrator sees every hook's deliveries.",
        ));
    }
    let filter = query.filter(None)?;
    let page = Pager::page(query.page.as_deref());
    let now = Millis::now();
    let (rows, total) = rows(state.app.store.as_ref(), &filter, page, now).await?;
    html(DeliveriesPage {
        chrome: Chrome::new(&state, &signed),
        heading: "Deliveries".to_owned(),
        crumbs: None,
        action: "/admin/deliveries".to_owned(),
        hook_path: None,
        instance: true,
        rows,
        pager_query: query.pager_query(),
        query,
        states: state_choices(),
        triggers: triggers(),
        total,
        pager: Pager::new(page, total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_days_and_bad_ones_name_their_field() {
        let query = DeliveriesQuery {
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            ..DeliveriesQuery::default()
        };
        let filter = query.filter(None).unwrap();
        assert_eq!(
            filter
                .to
                .unwrap()
                .saturating_duration_since(filter.from.unwrap()),
            DAY
        );
        assert_eq!(filter.states, DeliveryStates::Undelivered);
        let bad = DeliveriesQuery {
            to: "yesterday".into(),
            ..DeliveriesQuery::default()
        };
        assert!(
            bad.filter(None)
                .unwrap_err()
                .to_string()
                .contains("to must be a date")
        );
        let bad = DeliveriesQuery {
            state: "lost".into(),
            ..DeliveriesQuery::default()
        };
        assert!(bad.filter(None).unwrap_err().to_string().contains("state"));
    }
}
