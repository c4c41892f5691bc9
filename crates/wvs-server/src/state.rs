//! What every request handler shares.

use std::sync::Arc;

use tokio::sync::Notify;
use wvs_send::Sender;
use wvs_store::Store;

use crate::api::test_limit::TestLimiter;
use crate::config::Config;

/// The application state behind every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub sender: Sender,
    pub config: Arc<Config>,
    /// Wakes the dispatcher when new deliveries are committed.
    pub wake: Arc<Notify>,
    /// Tests and resends per caller and hook.
    pub test_limiter: Arc<TestLimiter>,
}
