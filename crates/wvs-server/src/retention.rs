//! Retention in the background: every node deletes, beside its dispatcher, the delivery
//! log and the settled events older than `--log-retention`, a small batch per transaction
//! (the store's `prune_log`, `prune_events`), so that the store stops growing and no
//! batch keeps ingest or delivery waiting long. Nodes sharing a database take different rows.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wvs_store::{Millis, Store, StoreError};

/// Log rows deleted per transaction.
const LOG_BATCH: u32 = 500;
/// Events looked at per transaction. Each takes its deliveries with it (a hundred at a
/// fan-out of 100), so fewer than log rows.
const EVENT_BATCH: u32 = 32;
/// The shortest and longest pause between passes: a tenth of the retention within these,
/// so a short retention (a test, a soak) is kept closely and a week's costs a look a minute.
const PAUSE_MIN: Duration = Duration::from_millis(100);
const PAUSE_MAX: Duration = Duration::from_secs(60);

/// Deletes what `retention` lets go from `store` until `shutdown`.
pub async fn run(store: Arc<dyn Store>, retention: Duration, shutdown: CancellationToken) {
    let pause = (retention / 10).clamp(PAUSE_MIN, PAUSE_MAX);
    loop {
        let cutoff = Millis::now() - retention;
        tokio::select! {
            outcome = pass(store.as_ref(), cutoff) => match outcome {
                Ok((log, events)) if log + events > 0 => {
                    tracing::debug!(log, events, "retention pruned");
                }
                Ok(_) => {}
                // Tried again next pass; the write path's own health says if the store fails.
                Err(error) => tracing::warn!(%error, "retention could not prune"),
            },
            () = shutdown.cancelled() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// One pass: the whole log before `cutoff`, then every event before it, batch after batch;
/// how many log rows and events were deleted.
async fn pass(store: &dyn Store, cutoff: Millis) -> Result<(u64, u64), StoreError> {
    let mut log = 0;
    loop {
        let deleted = store.prune_log(cutoff, LOG_BATCH).await?;
        log += deleted;
        if deleted < u64::from(LOG_BATCH) {
            break;
        }
        // Writers waiting for the store go first.
        tokio::task::yield_now().await;
    }
    let (mut events, mut after) = (0, None);
    loop {
        let batch = store.prune_events(cutoff, after, EVENT_BATCH).await?;
        events += batch.deleted;
        match batch.next {
            Some(next) => after = Some(next),
            None => return Ok((log, events)),
        }
        tokio::task::yield_now().await;
    }
}
