//! What every page shares: the header (who is signed in, the sign-out form with its CSRF
//! token, the flash message) and rendering; errors shown as pages are [`super::error`]'s.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use wvs_store::Millis;

use super::WebState;
use super::session::{Flash, SignedIn};
use crate::auth::Reach;
use crate::service::fields::Fields;

pub use super::error::WebError;

/// The page header's data.
pub struct Chrome {
    pub csrf: String,
    /// Who is signed in, in words.
    pub who: String,
    pub admin: bool,
    pub flash: Option<Flash>,
}

impl Chrome {
    /// The header of a page shown to `signed`; takes the session's flash message.
    pub fn new(state: &WebState, signed: &SignedIn) -> Self {
        let who = match signed.caller.reach {
            Reach::Admin => "Administrator".to_owned(),
            Reach::Project(id) => format!("Project access token (project {id})"),
            Reach::Group(id) => format!("Group access token (group {id})"),
        };
        Chrome {
            csrf: signed.csrf.clone(),
            who,
            admin: signed.caller.reach == Reach::Admin,
            flash: state.sessions.take_flash(&signed.session),
        }
    }
}

/// A rendered page.
pub fn html(page: impl Template) -> Result<Response, WebError> {
    Ok(Html(page.render()?).into_response())
}

/// Where a paged list is, for its previous / next links.
pub struct Pager {
    pub page: u32,
    pub pages: u64,
}

impl Pager {
    pub const PER_PAGE: u32 = 20;

    /// The page asked for by a `page` query parameter (1 when absent or not a number).
    pub fn page(asked: Option<&str>) -> wvs_store::Page {
        wvs_store::Page {
            page: asked.and_then(|page| page.parse().ok()).unwrap_or(1).max(1),
            per_page: Self::PER_PAGE,
        }
    }

    pub fn new(page: wvs_store::Page, total: u64) -> Self {
        Pager {
            page: page.page,
            pages: total.div_ceil(u64::from(page.per_page)).max(1),
        }
    }

    pub fn prev(&self) -> Option<u32> {
        (self.page > 1).then(|| self.page - 1)
    }

    pub fn next(&self) -> Option<u32> {
        (u64::from(self.page) < self.pages).then(|| self.page + 1)
    }
}

/// A moment as the pages show it: how long ago (or how soon), the exact time on hover.
pub struct When {
    /// ISO 8601, for `datetime` and `title`.
    pub exact: String,
    pub ago: String,
}

impl When {
    pub fn at(time: Millis, now: Millis) -> Self {
        When {
            exact: crate::time::iso8601(time),
            ago: crate::time::relative(time, now),
        }
    }
}

/// The `<time>` element the pages show (`{{ when|safe }}`): both parts are made here from a
/// number, never from input, so they need no escaping.
impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            r#"<time datetime="{0}" title="{0}">{1}</time>"#,
            self.exact, self.ago
        )
    }
}

/// A searchable, paged list's query: `?search=...&page=N`.
#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    pub page: Option<String>,
    pub search: Option<String>,
}

impl ListQuery {
    /// What was searched for, trimmed (empty when nothing).
    pub fn search(&self) -> String {
        self.search.as_deref().unwrap_or_default().trim().to_owned()
    }

    /// The pager links' other parameters (`&search=...`).
    pub fn pager_query(&self) -> String {
        match self.search() {
            search if search.is_empty() => String::new(),
            search => url::form_urlencoded::Serializer::new("&".to_owned())
                .append_pair("search", &search)
                .finish(),
        }
    }
}

/// One page of a list held whole (a hook list, an owner's tokens: short lists that are
/// searched by what the database cannot match, such as sealed URLs).
pub fn page_of<T>(items: Vec<T>, page: wvs_store::Page) -> wvs_store::Paged<T> {
    let total = items.len() as u64;
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    wvs_store::Paged {
        items: items
            .into_iter()
            .skip(skip)
            .take(page.per_page as usize)
            .collect(),
        total,
    }
}

/// Whether `text` contains `search`, in any case.
pub fn found(text: &str, search: &str) -> bool {
    text.to_lowercase().contains(&search.to_lowercase())
}

/// Refuses a page of the administrator's to anyone else, saying why.
pub fn admin_only(signed: &SignedIn, why: &'static str) -> Result<(), WebError> {
    match signed.caller.reach {
        Reach::Admin => Ok(()),
        _ => Err(WebError::Forbidden(why)),
    }
}

/// The fields named in `names` of a posted form, as the service reads request parameters
/// (the CSRF token and anything else left out).
pub fn form_fields(form: Vec<(String, String)>, names: &[&str]) -> Fields {
    Fields(
        form.into_iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect(),
    )
}
