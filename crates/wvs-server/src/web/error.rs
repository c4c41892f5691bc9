//! Errors shown as pages: a refusal of the service with the status the API gives it, a
//! sign-in redirect, a form too large, a page that failed to render.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use wvs_store::StoreError;

use crate::service::ServiceError;
use crate::status;

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
