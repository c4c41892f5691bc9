//! Why a hook is disabled and when it tries again, as the pages say it: its state, its
//! failures in a row, and its last attempt (status or error, and when).

use wvs_store::{Hook, Page, StatusFilter, Store};

use crate::time::iso8601;

/// The sentence for a hook that does not send now; `None` while it sends.
pub async fn note(store: &dyn Store, hook: &Hook, now: i64) -> wvs_store::Result<Option<String>> {
    let health = &hook.health;
    if health.is_executable(now) {
        return Ok(None);
    }
    let state = match health.disabled_until {
        Some(until) if !health.permanently_disabled => {
            format!("Temporarily disabled until {}", iso8601(until))
        }
        _ => "Disabled until it is re-enabled".to_owned(),
    };
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
            format!("; last attempt at {}: {what}", iso8601(attempt.created_at))
        })
        .unwrap_or_default();
    Ok(Some(format!(
        "{state} after {} failures in a row{last}. Its deliveries are held until then.",
        health.recent_failures
    )))
}
