//! The instance overview (admin): attempts per minute over the last quarter hour, the
//! slowest hooks, deliveries per state (the backlog), failures, hooks per alert status, with a bar chart drawn here as inline SVG, and the way to every hook list.

use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use wvs_store::{Activity, HookId, Millis, Page, Store};

use super::WebState;
use super::page::{Chrome, WebError, html};
use super::place::hooks_path;
use super::session::SignedIn;
use crate::auth::Reach;

/// Width of the longest bar, in SVG units.
const BAR_SPACE: u64 = 300;
/// Where bars start (labels are left of it).
const BAR_X: u64 = 170;
const BAR_HEIGHT: u64 = 22;
const BAR_GAP: u64 = 8;

/// One bar of a chart, positioned.
struct Bar {
    label: String,
    value: u64,
    class: &'static str,
    y: u64,
    text_y: u64,
    width: u64,
    value_x: u64,
}

/// A horizontal bar chart, scaled to its largest value.
struct Chart {
    bars: Vec<Bar>,
    height: u64,
    bar_x: u64,
    bar_height: u64,
}

impl Chart {
    fn new(values: &[(&str, u64, &'static str)]) -> Self {
        let max = values
            .iter()
            .map(|(_, value, _)| *value)
            .max()
            .unwrap_or(0)
            .max(1);
        let bars = values
            .iter()
            .zip(0u64..)
            .map(|((label, value, class), index)| {
                let y = index * (BAR_HEIGHT + BAR_GAP);
                // A bar for a non-zero value stays visible.
                let width = match value {
                    0 => 0,
                    value => (value * BAR_SPACE / max).max(2),
                };
                Bar {
                    label: (*label).to_owned(),
                    value: *value,
                    class,
                    y,
                    text_y: y + BAR_HEIGHT * 7 / 10,
                    width,
                    value_x: BAR_X + width + 6,
                }
            })
            .collect::<Vec<_>>();
        Chart {
            height: (bars.len() as u64) * (BAR_HEIGHT + BAR_GAP),
            bars,
            bar_x: BAR_X,
            bar_height: BAR_HEIGHT,
        }
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    deliveries: Chart,
    /// Attempts per minute over the last [`RECENT`].
    per_minute: Chart,
    slowest: Vec<SlowHook>,
    hooks: Chart,
    failed: u64,
    backlog: u64,
    temporarily_disabled: u64,
    disabled: u64,
    groups: u64,
    projects: u64,
}

/// The recent activity shown: attempts per minute and the slowest hooks over this span.
const RECENT: Duration = Duration::from_secs(15 * 60);
/// Slowest hooks listed.
const SLOWEST: u32 = 5;

/// A hook among the slowest, with a link to its recent events.
struct SlowHook {
    events_path: String,
    /// Its name, or `Hook N` when it has none (its URL on hover).
    name: String,
    url: String,
    attempts: u64,
    mean_ms: String,
}

/// Each recent minute with attempts: `14:31`, its successful attempts, and its failed
/// attempts in the label (the bar is the successes). Attempts, not deliveries: a delivery
/// that is retried fails more than once.
fn per_minute(activity: &Activity) -> Chart {
    let bars: Vec<(String, u64)> = activity
        .per_minute
        .iter()
        .map(|minute| {
            let at = chrono::DateTime::from_timestamp_millis(minute.minute.0)
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default();
            let label = match minute.failed {
                0 => at,
                failed => format!("{at} ({failed} failed attempts)"),
            };
            (label, minute.succeeded)
        })
        .collect();
    let values: Vec<(&str, u64, &'static str)> = bars
        .iter()
        .map(|(label, value)| (label.as_str(), *value, "good"))
        .collect();
    Chart::new(&values)
}

/// The slowest hooks of `activity`, with where to look at them.
async fn slowest(store: &dyn Store, activity: &Activity) -> Result<Vec<SlowHook>, WebError> {
    let ids: Vec<HookId> = activity.slowest_hooks.iter().map(|h| h.hook_id).collect();
    let hooks = store.hooks_by_ids(&ids).await?;
    Ok(activity
        .slowest_hooks
        .iter()
        .filter_map(|timing| {
            let hook = hooks.iter().find(|hook| hook.id == timing.hook_id)?;
            Some(SlowHook {
                events_path: format!("{}/{}/events", hooks_path(hook.owner), hook.id),
                name: super::place::display_name(hook),
                url: wvs_send::log_url(&hook.url),
                attempts: timing.attempts,
                mean_ms: format!("{:.1}", timing.mean_seconds * 1000.0),
            })
        })
        .collect())
}

/// Only the totals of groups and projects are read (their lists have their pages).
const COUNTED: Page = Page {
    page: 1,
    per_page: 1,
};

pub async fn page(State(state): State<WebState>, signed: SignedIn) -> Result<Response, WebError> {
    if signed.caller.reach != Reach::Admin {
        return Err(WebError::Forbidden(
            "Only the administrator sees the instance overview.",
        ));
    }
    let store = state.app.store.as_ref();
    let counts = store.delivery_counts().await?;
    let now = Millis::now();
    let alerts = store.hook_alert_counts(now).await?;
    let activity = store.activity(now - RECENT, SLOWEST).await?;
    let groups = store.list_groups(COUNTED).await?.total;
    let projects = store.list_projects(COUNTED).await?.total;
    html(OverviewPage {
        chrome: Chrome::new(&state, &signed),
        per_minute: per_minute(&activity),
        slowest: slowest(store, &activity).await?,
        deliveries: Chart::new(&[
            ("Pending", counts.pending, "pending"),
            ("In flight", counts.in_flight, "flight"),
            ("Succeeded", counts.succeeded, "good"),
            ("Failed", counts.failed, "bad"),
        ]),
        hooks: Chart::new(&[
            ("Executable", alerts.executable, "good"),
            (
                "Temporarily disabled",
                alerts.temporarily_disabled,
                "pending",
            ),
            ("Disabled", alerts.disabled, "bad"),
        ]),
        failed: counts.failed,
        backlog: counts.pending + counts.in_flight,
        temporarily_disabled: alerts.temporarily_disabled,
        disabled: alerts.disabled,
        groups,
        projects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_small_ones_stay_visible() {
        let chart = Chart::new(&[("a", 0, "x"), ("b", 1, "x"), ("c", 1000, "x")]);
        let widths: Vec<_> = chart.bars.iter().map(|bar| bar.width).collect();
        assert_eq!(widths, [0, 2, BAR_SPACE]);
        assert_eq!(chart.bars[2].y, 2 * (BAR_HEIGHT + BAR_GAP));
        assert_eq!(chart.height, 3 * (BAR_HEIGHT + BAR_GAP));
    }
}
