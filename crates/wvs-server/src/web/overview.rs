//! The instance overview (admin): deliveries per state (the backlog), failures, hooks per
//! alert status, with a bar chart drawn here as inline SVG, and the way to every hook list.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use wvs_store::{Group, Page, Project};

use super::WebState;
use super::page::{Chrome, WebError, html};
use super::session::SignedIn;
use crate::auth::Reach;
use crate::delivery::now_millis;

/// Width of the longest bar, in SVG units.
const BAR_SPACE: u64 = 300;
/// Where bars start (labels are left of it).
const BAR_X: u64 = 170;
const BAR_HEIGHT: u64 = 22;
const BAR_GAP: u64 = 8;

/// One bar of a chart, positioned.
struct Bar {
    label: &'static str,
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
    fn new(values: &[(&'static str, u64, &'static str)]) -> Self {
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
                    label,
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
    hooks: Chart,
    failed: u64,
    backlog: u64,
    groups: Vec<Group>,
    projects: Vec<Project>,
}

/// Groups and projects listed on the overview (the first ones, by id).
const LISTED: Page = Page {
    page: 1,
    per_page: 100,
};

pub async fn page(State(state): State<WebState>, signed: SignedIn) -> Result<Response, WebError> {
    if signed.caller.reach != Reach::Admin {
        return Err(WebError::Forbidden(
            "Only the administrator sees the instance overview.",
        ));
    }
    let store = state.app.store.as_ref();
    let counts = store.delivery_counts().await?;
    let alerts = store.hook_alert_counts(now_millis()).await?;
    let groups = store.list_groups(LISTED).await?.items;
    let projects = store.list_projects(LISTED).await?.items;
    html(OverviewPage {
        chrome: Chrome::new(&state, &signed),
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
