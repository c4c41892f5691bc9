//! Outbound delivery for WVS: one HTTP `POST` per attempt, with the documented headers, the
//! token and the Standard Webhooks signature, and a record of the exchange that is safe to
//! store and show (no credentials, no URL-variable values, no secret header values).
//!
//! This crate does HTTP only. Whether and when to retry, and where the record goes, is the
//! dispatcher's business: [`Sender::send`] never fails, it returns an [`AttemptResult`] that
//! says what happened, so the caller has one value to record whatever the outcome.
//!
//! # Layout
//!
//! - [`Sender`] (`sender.rs`): the two long-lived HTTP clients (one verifying TLS, one not)
//!   and the attempt itself, bounded by one deadline from connect to the last body byte.
//! - [`Request`] (`request.rs`): what one attempt sends, and how it becomes a header map
//!   plus the redacted copy of it for the log.
//! - `target.rs`: the URL: `{name}` variables filled in, `user:pass@` moved into
//!   `Authorization`, and [`log_url`], the form that is stored and shown.
//! - `response.rs`: capturing the answer within the caps (50 headers of 1 KiB, 8 KiB of body,
//!   [`SenderConfig::max_response_read`] read at most) and `Retry-After`.
//! - `errors.rs`: [`SendError`], and the short human sentence for each way an exchange fails.
//! - [`AttemptResult`] (`attempt.rs`): the outcome of one attempt, as the log stores it.
//!
//! Not here yet: the SSRF guard (resolved-address checks and pinning) and following
//! redirects after checking their targets; until then redirects are recorded, not followed.

mod attempt;
mod errors;
mod request;
mod response;
mod sender;
mod target;

pub use attempt::AttemptResult;
pub use errors::SendError;
pub use request::{REDACTED, Request, is_secret_header};
pub use sender::{Sender, SenderConfig};
pub use target::log_url;
