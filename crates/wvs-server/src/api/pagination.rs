//! GitLab's offset pagination: `page` and `per_page` parameters, and the `X-Page`,
//! `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and `Link` headers.

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use wvs_store::Page;

use super::error::ApiError;

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;

/// A paginated request: the page asked for, and the URL to build `Link` headers from.
/// Like GitLab, an out-of-range `per_page` is clamped; a value that is not a number is
/// refused.
#[derive(Debug, Clone)]
pub struct Paging {
    pub page: Page,
    uri: Uri,
    /// `http://host` from the `Host` header: clients follow `Link` URLs as they are.
    base: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut page = None;
        let mut per_page = None;
        for (key, value) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        {
            match key.as_ref() {
                "page" => page = Some(number("page", &value)?),
                "per_page" => per_page = Some(number("per_page", &value)?),
                _ => {}
            }
        }
        let host = parts
            .headers
            .get(HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("localhost");
        Ok(Paging {
            page: Page {
                page: page.unwrap_or(1).max(1),
                per_page: per_page.unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE),
            },
            // The whole path: a nested router sees only the part below its prefix, and a
            // `Link` without the rest leads clients (python-gitlab's `get_all`) elsewhere.
            uri: parts
                .extensions
                .get::<OriginalUri>()
                .map_or_else(|| parts.uri.clone(), |original| original.0.clone()),
            base: format!("http://{host}"),
        })
    }
}

fn number(name: &str, value: &str) -> Result<u32, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{name} is invalid")))
}

impl Paging {
    /// A JSON array answer with the pagination headers.
    pub fn respond<T: Serialize>(&self, items: Vec<T>, total: u64) -> Response {
        paged(items, total, self.page, &self.uri, &self.base)
    }

    /// The asked page of a list read whole (a place's tokens, members or keys: few).
    pub fn respond_whole<T: Serialize>(&self, items: Vec<T>) -> Response {
        let total = items.len() as u64;
        let per_page = self.page.per_page as usize;
        let skip = (self.page.page as usize - 1).saturating_mul(per_page);
        let page = items.into_iter().skip(skip).take(per_page).collect();
        self.respond(page, total)
    }
}

fn paged<T: Serialize>(items: Vec<T>, total: u64, page: Page, uri: &Uri, base: &str) -> Response {
    let per_page = u64::from(page.per_page);
    let total_pages = total.div_ceil(per_page).max(1);
    let current = u64::from(page.page);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("x-page", current.to_string());
    set("x-per-page", per_page.to_string());
    set("x-total", total.to_string());
    set("x-total-pages", total_pages.to_string());
    set(
        "x-next-page",
        if current < total_pages {
            (current + 1).to_string()
        } else {
            String::new()
        },
    );
    set(
        "x-prev-page",
        if current > 1 {
            (current - 1).to_string()
        } else {
            String::new()
        },
    );
    let mut links = Vec::new();
    if current > 1 {
        links.push(link(base, uri, current - 1, per_page, "prev"));
    }
    if current < total_pages {
        links.push(link(base, uri, current + 1, per_page, "next"));
    }
    links.push(link(base, uri, 1, per_page, "first"));
    links.push(link(base, uri, total_pages, per_page, "last"));
    set("link", links.join(", "));
    (headers, Json(items)).into_response()
}

/// `<path?...&page=N&per_page=M>; rel="rel"`, keeping the other query parameters.
fn link(base: &str, uri: &Uri, page: u64, per_page: u64, rel: &str) -> String {
    let kept = uri
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .filter(|(key, _)| key != "page" && key != "per_page")
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(kept);
    query.append_pair("page", &page.to_string());
    query.append_pair("per_page", &per_page.to_string());
    format!("<{base}{}?{}>; rel=\"{rel}\"", uri.path(), query.finish())
}
