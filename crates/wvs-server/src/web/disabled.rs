//! The hooks disabled now, of every owner (the administrator's, linked from the overview's
//! counts): for a while (`?alert=temporarily_disabled`) or until re-enabled
//! (`?alert=disabled`), each with why and when it tries again, paged.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::WebState;
use super::health::{self, HealthNote};
use super::page::{Chrome, Pager, WebError, admin_only, html, page_of};
use super::place::hooks_path;
use super::session::SignedIn;
use crate::service::ServiceError;
use wvs_store::Millis;

#[derive(Deserialize)]
pub struct AlertQuery {
    #[serde(default)]
    alert: String,
    page: Option<String>,
}

struct Row {
    name: String,
    url: String,
    /// Its pages (`/projects/15/hooks/3`) and its owner's list.
    path: String,
    list: String,
    note: Option<HealthNote>,
}

#[derive(Template)]
#[template(path = "disabled.html")]
struct DisabledPage {
    chrome: Chrome,
    heading: &'static str,
    rows: Vec<Row>,
    total: u64,
    pager: Pager,
    pager_query: String,
}

pub async fn page(
    State(state): State<WebState>,
    signed: SignedIn,
    Query(query): Query<AlertQuery>,
) -> Result<Response, WebError> {
    admin_only(&signed, "Only the administrator sees every hook.")?;
    let (permanently, heading) = match query.alert.as_str() {
        "" | "temporarily_disabled" => (false, "Temporarily disabled hooks"),
        "disabled" => (true, "Disabled hooks"),
        _ => {
            return Err(
                ServiceError::invalid("alert must be temporarily_disabled or disabled").into(),
            );
        }
    };
    let store = state.app.store.as_ref();
    let now = Millis::now();
    let ids = store.disabled_hook_ids(now, permanently).await?;
    let page = Pager::page(query.page.as_deref());
    let shown = page_of(ids, page);
    let mut rows = Vec::with_capacity(shown.items.len());
    for hook in store.hooks_by_ids(&shown.items).await? {
        let list = hooks_path(hook.owner);
        rows.push(Row {
            name: super::place::display_name(&hook),
            url: wvs_send::log_url(&hook.url),
            path: format!("{list}/{}", hook.id),
            note: health::note(store, &hook, now).await?,
            list,
        });
    }
    html(DisabledPage {
        chrome: Chrome::new(&state, &signed),
        heading,
        rows,
        total: shown.total,
        pager: Pager::new(page, shown.total),
        pager_query: format!(
            "&alert={}",
            if permanently {
                "disabled"
            } else {
                "temporarily_disabled"
            }
        ),
    })
}
