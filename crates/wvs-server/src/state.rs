//! What every request handler shares.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Notify;
use wvs_send::Sender;
use wvs_store::Store;

use crate::config::Config;
use crate::dispatch::HookLimits;
use crate::service::test_limit::TestLimiter;

/// The application state behind every handler. Every layer and handler a request passes
/// takes its own clone, so it is one shared allocation: a clone is one reference count, not
/// one per field (each bounced between the cores on every request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub sender: Sender,
    pub config: Arc<Config>,
    /// Wakes the dispatcher when new deliveries are committed.
    pub wake: Arc<Notify>,
    /// Each hook's adaptive in-flight limit on this node (shown by the API, the pages and the
    /// metrics; learnt by the dispatcher).
    pub limits: Arc<HookLimits>,
    /// Tests and resends per caller and hook.
    pub test_limiter: Arc<TestLimiter>,
    /// Wakes the access token expiry notices when a token is created.
    pub token_created: Notify,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
