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
//! - [`Sender`] (`sender.rs`): the four long-lived HTTP clients (TLS verifying or not, for
//!   system hooks or the others) and the attempt itself: the payload cap, the guard's check
//!   of each destination, the exchange and the redirects it follows, all bounded by one
//!   deadline from the first connect to the last body byte.
//! - [`Request`] (`request.rs`): what one attempt sends, and how it becomes a header map
//!   plus the redacted copy of it for the log.
//! - `target.rs`: the URL: `{name}` variables filled in, `user:pass@` moved into
//!   `Authorization`, and [`log_url`], the form that is stored and shown.
//! - The SSRF guard, in three layers:
//!   - `address.rs`: what kind of destination an IP address is ([`AddressKind`]: loopback,
//!     private, link-local, cloud metadata...), IPv6 forms of IPv4 addresses included.
//!   - `allowlist.rs` and `policy.rs`: [`OutboundPolicy`], its [`AllowEntry`]s, and the
//!     decision for one address, refused with a [`Refusal`] that says why.
//!   - `guard.rs`: [`Guard`] applies the policy to URLs ([`check_url`], for saving a hook)
//!     and, as the clients' DNS resolver, to what names resolve to, so each connection goes
//!     to an address that was checked (no second lookup for DNS rebinding to answer).
//! - `redirect.rs`: which redirects are followed (307 and 308, at most 5, each target
//!   guarded) and which credentials a cross-origin hop drops.
//! - `response.rs`: capturing the answer within the caps (50 headers of 1 KiB, 8 KiB of body,
//!   [`SenderConfig::max_response_read`] read at most) and `Retry-After`.
//! - `errors.rs`: [`SendError`], and the short human sentence for each way an exchange fails.
//! - [`AttemptResult`] (`attempt.rs`): the outcome of one attempt, as the log stores it.

mod address;
mod allowlist;
mod attempt;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod policy;
mod redirect;
mod request;
mod response;
mod sender;
mod target;

pub use address::{AddressKind, CLOUD_METADATA};
pub use allowlist::{AllowEntry, AllowEntryError};
pub use attempt::AttemptResult;
pub use errors::{SendError, byte_size};
pub use guard::{BoxFuture, Guard, HostResolver, SystemResolver, check_url};
pub use policy::{BlockReason, Blocked, OutboundPolicy, Refusal};
pub use request::{REDACTED, Request, is_secret_header};
pub use sender::{Sender, SenderConfig};
pub use target::log_url;
