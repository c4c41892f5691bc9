//! What every page shares: the header (who is signed in, the sign-out form with its CSRF
//! token, the flash message) and rendering; errors shown as pages are [`super::error`]'s.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::WebState;
use super::session::{Flash, SignedIn};
use crate::auth::Reach;

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
