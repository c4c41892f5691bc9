//! The one error of the service layer. Its text is what a client is told (GitLab's wording
//! where GitLab has one); the API and the web pages each choose their status from the
//! variant (see [`crate::status`]).

use wvs_store::StoreError;

/// Why an operation of the service layer did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// What the request names does not exist, or the caller may not reach it (the two
    /// answer alike).
    #[error("404 {what} Not Found")]
    NotFound { what: String },
    /// What the request names was deleted by retention (`--log-retention`).
    #[error(
        "404 {what} Not Found: removed by retention (older than the log retention, --log-retention)"
    )]
    Pruned { what: String },
    /// A malformed or invalid request; the message names the field.
    #[error("{message}")]
    Invalid { message: String },
    /// Well-formed, but it cannot be done (a blocked URL, a failed execution...).
    #[error("{message}")]
    Refused { message: String },
    /// The caller may not do this at all.
    #[error("403 Forbidden")]
    Forbidden,
    /// A uniqueness rule: `what` is taken.
    #[error("{what} has already been taken")]
    Conflict { what: String },
    /// The caller did this too often; it may try again after `retry_after` seconds.
    #[error("This endpoint has been requested too many times. Try again later.")]
    TooMany { retry_after: u32 },
    /// A registry change was saved but one of its events was not stored: the cause's
    /// answer, saying so.
    #[error("the change was saved, but its {kind} event could not be stored: {source}")]
    EventNotStored {
        kind: String,
        source: Box<ServiceError>,
    },
    /// A bug or broken data on WVS's side; the message says what, without secrets.
    #[error("{message}")]
    Internal { message: String },
    /// The database cannot be reached or failed (the detail is logged, not shown).
    #[error(
        "503 Service Unavailable: the database cannot be reached or failed; \
         retry later (with the same Idempotency-Key, a retry is never stored twice)"
    )]
    Unavailable,
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn not_found(what: &str) -> Self {
        ServiceError::NotFound {
            what: what.to_owned(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            message: message.into(),
        }
    }

    pub fn refused(message: impl Into<String>) -> Self {
        ServiceError::Refused {
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ServiceError::Internal {
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ServiceError::NotFound {
                what: capitalized(what),
            },
            StoreError::Conflict(what) => ServiceError::Conflict {
                what: what.to_owned(),
            },
            StoreError::Invalid(what) => ServiceError::refused(format!("invalid {what}")),
            StoreError::IdempotencyKeyReused => ServiceError::refused(
                "Idempotency-Key was already used with another body: nothing was stored; \
                 post another event under a new key",
            ),
            StoreError::Database(_) | StoreError::Sqlite(_) => {
                // The detail goes to the log, not to the client.
                tracing::error!(error = %error, "store error");
                ServiceError::Unavailable
            }
            StoreError::Corrupt(_) | StoreError::Migrate(_) => {
                tracing::error!(error = %error, "store error");
                ServiceError::internal("500 Internal Server Error: stored data could not be read")
            }
        }
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
