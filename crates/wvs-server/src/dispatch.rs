//! The dispatcher: claims due deliveries in batches with a lease, sends them from one global
//! pool of workers, and records the attempts in batches.
//!
//! The store is the only queue: a delivery waiting for its next attempt is a row with a
//! `next_attempt_at`, never a sleeping task, so nothing acknowledged lives only in memory.
//! Sending never holds a database transaction open (claim and commit, send, then record).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wvs_events::Flavor;
use wvs_send::Sender;
use wvs_store::{Attempt, Claimed, Id, Millis, Outcome, Store};

use crate::config::DeliveryConfig;
use crate::delivery::{self, AttemptContext, Envelope, PreparedHook, now_millis};

/// Attempts written to the store in one transaction at most.
const RECORD_BATCH: usize = 512;
/// Deliveries claimed in one transaction at most.
const CLAIM_BATCH: u32 = 256;

/// Runs the delivery loop until `shutdown` is cancelled, then lets in-flight deliveries
/// finish (within the delivery timeout) and gives back any claim still held.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    sender: Sender,
    config: DeliveryConfig,
    flavor: Flavor,
    /// This node's claim owner id.
    owner: String,
    wake: Arc<Notify>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        sender: Sender,
        config: DeliveryConfig,
        flavor: Flavor,
        wake: Arc<Notify>,
    ) -> Dispatcher {
        Dispatcher {
            store,
            sender,
            config,
            flavor,
            owner: format!("node-{}", uuid::Uuid::new_v4()),
            wake,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let dispatcher = Arc::new(self);
        let (record_tx, record_rx) = mpsc::channel::<Attempt>(RECORD_BATCH * 4);
        let recorder = tokio::spawn(record_loop(
            dispatcher.store.clone(),
            dispatcher.owner.clone(),
            record_rx,
        ));
        let workers = Arc::new(Semaphore::new(dispatcher.config.workers));
        let mut in_flight = JoinSet::new();
        while !shutdown.is_cancelled() {
            // Reap finished sends so the set does not grow.
            while in_flight.try_join_next().is_some() {}
            let free = workers.available_permits();
            if free == 0 {
                tokio::select! {
                    _ = in_flight.join_next() => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            let limit = CLAIM_BATCH.min(u32::try_from(free).unwrap_or(CLAIM_BATCH));
            let claimed = match dispatcher.claim(limit).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claiming deliveries failed; retrying");
                    dispatcher
                        .pause(&shutdown, dispatcher.config.poll_interval)
                        .await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let sleep = dispatcher.idle_sleep().await;
                dispatcher.pause(&shutdown, sleep).await;
                continue;
            }
            let hooks = match dispatcher.hooks_for(&claimed).await {
                Ok(hooks) => hooks,
                Err(error) => {
                    tracing::warn!(%error, "loading hooks failed; the claims will expire and be retried");
                    dispatcher
                        .pause(&shutdown, dispatcher.config.poll_interval)
                        .await;
                    continue;
                }
            };
            for delivery in claimed {
                // A hook deleted since the claim took its deliveries with it.
                let Some(hook) = hooks.get(&delivery.hook_id).cloned() else {
                    continue;
                };
                let Ok(permit) = workers.clone().acquire_owned().await else {
                    break;
                };
                let dispatcher = dispatcher.clone();
                let record_tx = record_tx.clone();
                in_flight.spawn(async move {
                    let attempt = dispatcher.deliver(&hook, delivery).await;
                    // The recorder only stops after every sender is gone.
                    let _ = record_tx.send(attempt).await;
                    drop(permit);
                });
            }
        }
        // Shutdown: no new claims; let what is in flight finish, bounded by the timeout.
        let grace = dispatcher.config.timeout + Duration::from_secs(1);
        if tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            in_flight.abort_all();
        }
        drop(record_tx);
        let _ = recorder.await;
        match dispatcher
            .store
            .release_claims(&dispatcher.owner, now_millis())
            .await
        {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released unfinished claims"),
            Err(error) => tracing::warn!(%error, "could not release claims; they will expire"),
        }
    }

    async fn claim(&self, limit: u32) -> wvs_store::Result<Vec<Claimed>> {
        let now = now_millis();
        let lease = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        self.store
            .claim_due(&self.owner, now, now.saturating_add(lease), limit)
            .await
    }

    async fn hooks_for(
        &self,
        claimed: &[Claimed],
    ) -> wvs_store::Result<HashMap<Id, Arc<PreparedHook>>> {
        let ids: Vec<Id> = claimed
            .iter()
            .map(|c| c.hook_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let hooks = self.store.hooks_by_ids(&ids).await?;
        Ok(hooks
            .into_iter()
            .map(|hook| (hook.id, Arc::new(PreparedHook::new(hook))))
            .collect())
    }

    /// How long to sleep when nothing is due: until the next delivery falls due, at most the
    /// poll interval (a wake-up from ingest cuts it short).
    async fn idle_sleep(&self) -> Duration {
        let poll = self.config.poll_interval;
        match self.store.next_due_at().await {
            Ok(Some(at)) => {
                let wait = u64::try_from(at.saturating_sub(now_millis())).unwrap_or(0);
                poll.min(Duration::from_millis(wait))
            }
            _ => poll,
        }
    }

    async fn pause(&self, shutdown: &CancellationToken, duration: Duration) {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.wake.notified() => {}
            () = shutdown.cancelled() => {}
        }
    }

    async fn deliver(&self, hook: &PreparedHook, delivery: Claimed) -> Attempt {
        let envelope = Envelope {
            event_uuid: &delivery.event_uuid,
            event_header: &delivery.event_header,
            idempotency_key: &delivery.idempotency_key,
            body: &delivery.payload,
        };
        let result = delivery::send(&self.sender, self.flavor, hook, &envelope).await;
        let now = now_millis();
        let outcome = if result.is_success() {
            Outcome::Succeeded
        } else {
            next_outcome(&self.config.retry_schedule, delivery.attempts + 1, now)
        };
        delivery::attempt_row(
            result,
            AttemptContext {
                hook_id: delivery.hook_id,
                delivery_id: Some(delivery.delivery_id),
                event_id: Some(delivery.event_id),
                trigger: delivery.trigger,
                outcome,
                request_body: None,
                now,
            },
        )
    }
}

/// After the `attempts_made`-th failed attempt: retry after the schedule's next delay, or
/// give up once the schedule is used up.
fn next_outcome(schedule: &[Duration], attempts_made: i64, now: Millis) -> Outcome {
    let index = usize::try_from(attempts_made - 1).unwrap_or(0);
    match schedule.get(index) {
        Some(delay) => {
            let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            Outcome::RetryAt(now.saturating_add(delay))
        }
        None => Outcome::Failed,
    }
}

/// Writes attempts in batches: whatever has arrived while the previous batch was being
/// written goes into the next transaction. A failed write is retried, never dropped: the
/// claims would otherwise expire and the deliveries be sent again.
async fn record_loop(store: Arc<dyn Store>, owner: String, mut attempts: mpsc::Receiver<Attempt>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while attempts.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let mut backoff = Duration::from_millis(50);
        loop {
            match store.record_attempts(&owner, batch.clone()).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, "recording attempts failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_sets_each_retry_and_ends_in_failure() {
        let schedule = [Duration::ZERO, Duration::from_secs(10)];
        assert_eq!(next_outcome(&schedule, 1, 1_000), Outcome::RetryAt(1_000));
        assert_eq!(next_outcome(&schedule, 2, 1_000), Outcome::RetryAt(11_000));
        assert_eq!(next_outcome(&schedule, 3, 1_000), Outcome::Failed);
    }
}
