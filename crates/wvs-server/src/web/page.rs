//! What every page shares: the header (who is signed in, the sign-out form with its CSRF
//! token, the flash message), rendering, and errors shown as pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use wvs_store::StoreError;

use super::WebState;
use super::session::{Flash, SignedIn};
use crate::auth::Reach;
use crate::service::ServiceError;
use crate::status;

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

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or the session ended): to the sign-in form, which returns to the page
    /// asked for (a path of this site) once signed in.
    SignIn { back: Option<String> },
    /// 403 with a reason.
    Forbidden(&'static str),
    /// The form body is over the limit.
    TooLarge,
    /// A refusal or failure of the service (404, 422, 429, 503...), shown as a page with
    /// the status the API answers it with.
    Service(ServiceError),
    /// A template failed to render (a bug).
    Render(askama::Error),
}

impl From<ServiceError> for WebError {
    fn from(error: ServiceError) -> Self {
        WebError::Service(error)
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        WebError::Service(error.into())
    }
}

impl From<askama::Error> for WebError {
    fn from(error: askama::Error) -> Self {
        WebError::Render(error)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            WebError::SignIn { back } => {
                let to = match back {
                    Some(back) => format!(
                        "/-/sign_in?{}",
                        url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("return_to", back)
                            .finish()
                    ),
                    None => "/-/sign_in".to_owned(),
                };
                return Redirect::to(&to).into_response();
            }
            WebError::Forbidden(message) => (StatusCode::FORBIDDEN, (*message).to_owned()),
            WebError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.".to_owned(),
            ),
            WebError::Service(error) => (status::of(error), error.to_string()),
            WebError::Render(error) => {
                tracing::error!(%error, "a page failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be shown.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        };
        match page.render() {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
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
