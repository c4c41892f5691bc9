//! Waiting out a store that is briefly unreachable while a node starts.
//!
//! A node started beside others on a loaded database may find its pool's first
//! connections slow to come (sqlx's acquire gives up after a few seconds): a start-up step
//! that fails so is tried again for a while instead of ending the process. Any other error
//! ends it at once.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use wvs_store::StoreError;

/// How long a start-up step keeps trying while the store is unreachable.
pub const AT_START: Duration = Duration::from_secs(30);
/// The first pause between tries; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// Runs `step` until it succeeds, fails with an error other than "unreachable", or
/// `patience` has passed; returns its last outcome.
pub async fn retry_while_unavailable<T, F, Fut>(
    what: &str,
    patience: Duration,
    mut step: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let give_up_at = Instant::now() + patience;
    let mut pause = FIRST_PAUSE;
    loop {
        match step().await {
            Err(error) if error.is_unavailable() && Instant::now() + pause < give_up_at => {
                tracing::warn!(%error, "{what}: the store does not answer yet; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn unreachable() -> StoreError {
        StoreError::Database(sqlx::Error::PoolTimedOut)
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_store_is_tried_again_until_it_answers() {
        let tries = Cell::new(0);
        let outcome = retry_while_unavailable("test", AT_START, || {
            tries.set(tries.get() + 1);
            let answer = if tries.get() < 4 {
                Err(unreachable())
            } else {
                Ok(7)
            };
            async move { answer }
        })
        .await;
        assert_eq!(outcome.unwrap(), 7);
        assert_eq!(tries.get(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn another_error_ends_at_once() {
        let tries = Cell::new(0);
        let outcome: Result<(), _> = retry_while_unavailable("test", AT_START, || {
            tries.set(tries.get() + 1);
            async { Err(StoreError::NotFound("hook")) }
        })
        .await;
        assert!(matches!(outcome, Err(StoreError::NotFound("hook"))));
        assert_eq!(tries.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn patience_runs_out() {
        let started = Instant::now();
        let outcome: Result<(), _> =
            retry_while_unavailable("test", AT_START, || async { Err(unreachable()) }).await;
        assert!(outcome.unwrap_err().is_unavailable());
        assert!(started.elapsed() <= AT_START, "{:?}", started.elapsed());
        assert!(started.elapsed() >= AT_START - LONGEST_PAUSE);
    }
}
