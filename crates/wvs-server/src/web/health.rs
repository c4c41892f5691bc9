//! Why a hook is disabled and when it tries again, as the pages say it: its state, its
//! failures in a row, and its last attempt (status or error, and when).

use wvs_store::{Hook, Millis, Page, StatusFilter, Store};

use super::page::When;

/// What the pages say of a hook that does not send now (`templates/health.html`).
pub struct HealthNote {
    /// When it tries again; `None` when it waits to be re-enabled.
    pub until: Option<When>,
    pub failures: u32,
    /// Its last attempt: when, and what came of it (`answered 500`, an error).
    pub last: Option<(When, String)>,
}

/// The note for a hook that does not send now; `None` while it sends.
pub async fn note(
    store: &dyn Store,
    hook: &Hook,
    now: Millis,
) -> wvs_store::Result<Option<HealthNote>> {
    let health = &hook.health;
    if health.is_executable(now) {
        return Ok(None);
    }
    let until = health
        .disabled_until
        .filter(|_| !health.permanently_disabled)
        .map(|until| When::at(until, now));
    let last = store
        .list_attempts(
            hook.id,
            StatusFilter::All,
            Page {
                page: 1,
                per_page: 1,
            },
        )
        .await?
        .items
        .into_iter()
        .next()
        .map(|attempt| {
            let what = match (attempt.response_status, attempt.internal_error) {
                (Some(status), _) => format!("answered {status}"),
                (None, Some(error)) => error,
                (None, None) => "no answer".to_owned(),
            };
            (When::at(attempt.created_at, now), what)
        });
    Ok(Some(HealthNote {
        until,
        failures: u32::try_from(health.recent_failures).unwrap_or(u32::MAX),
        last,
    }))
}
