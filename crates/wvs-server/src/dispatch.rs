//! The dispatcher: claims due deliveries in batches with a lease, sends them from one global
//! pool of workers, and records the attempts in batches.
//!
//! The store is the only queue: a delivery waiting for its next attempt is a row with a
//! `next_attempt_at`, never a sleeping task, so nothing acknowledged lives only in memory.
//! Sending never holds a database transaction open (claim and commit, send, then record).
//!
//! Isolation: the claim gives no hook more deliveries than its free slots (its adaptive limit
//! on this node, under its `max_in_flight`, less what is in flight), so a receiver that hangs
//! until the timeout holds at most that many workers of the pool, a number its timeouts soon
//! cut to one, and every other hook keeps the rest.
//!
//! # Layout
//!
//! - this file: the claim / send / record loop.
//! - `retry`: when a failed delivery is tried again (schedule, jitter, `Retry-After`).
//! - `limiter`: each hook's in-flight limit, adapted to how its receiver answers.
//! - `auto_disable`: GitLab's auto-disable thresholds, applied by the store as attempts are
//!   recorded.

pub mod auto_disable;
mod limiter;
pub mod retry;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use auto_disable::AutoDisable;
pub use limiter::HookLimits;
pub use retry::RetryPolicy;

use bytes::Bytes;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wvs_events::Flavor;
use wvs_send::Sender;
use wvs_store::{Attempt, Claimed, HealthEffect, HookId, Millis, Outcome, Store, StoreError};

use crate::config::DeliveryConfig;
use crate::delivery::{self, AttemptContext, Envelope, PreparedHook};
use crate::metrics;
use crate::stored_hook::scope_of;
use limiter::{Signal, Ticket};

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
    /// Each hook's in-flight limit on this node.
    limits: Arc<HookLimits>,
    /// The recorder cannot write its attempts: claim nothing until it can.
    recording_fails: AtomicBool,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        sender: Sender,
        config: DeliveryConfig,
        flavor: Flavor,
        wake: Arc<Notify>,
        limits: Arc<HookLimits>,
    ) -> Dispatcher {
        Dispatcher {
            store,
            sender,
            config,
            flavor,
            owner: format!("node-{}", uuid::Uuid::new_v4()),
            wake,
            limits,
            recording_fails: AtomicBool::new(false),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let dispatcher = Arc::new(self);
        let (record_tx, record_rx) = mpsc::channel::<Attempt>(RECORD_BATCH * 4);
        let give_up = CancellationToken::new();
        let recorder = tokio::spawn(record_loop(dispatcher.clone(), record_rx, give_up.clone()));
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
            if dispatcher.recording_fails.load(Ordering::Relaxed) {
                // Claims made now could expire before their attempts are recorded, and be
                // sent twice.
                dispatcher
                    .pause(&shutdown, dispatcher.config.poll_interval)
                    .await;
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
                let woken = dispatcher.pause(&shutdown, sleep).await;
                while in_flight.try_join_next().is_some() {}
                if gathers(&woken, in_flight.len()) {
                    tokio::time::sleep(GATHER).await;
                }
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
                    dispatcher.limits.forget(delivery.hook_id);
                    continue;
                };
                let Ok(permit) = workers.clone().acquire_owned().await else {
                    break;
                };
                let ticket = dispatcher.limits.started(delivery.hook_id);
                let dispatcher = dispatcher.clone();
                let record_tx = record_tx.clone();
                in_flight.spawn(async move {
                    let attempt = dispatcher.deliver(&hook, delivery, ticket).await;
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
        // Recording may wait for a store that cannot write: it gets the same grace.
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        let mut recorder = recorder;
        tokio::select! {
            _ = &mut recorder => {}
            () = &mut deadline => {
                give_up.cancel();
                let _ = recorder.await;
            }
        }
        match dispatcher
            .store
            .release_claims(&dispatcher.owner, Millis::now())
            .await
        {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released unfinished claims"),
            Err(error) => tracing::warn!(%error, "could not release claims; they will expire"),
        }
    }

    async fn claim(&self, limit: u32) -> wvs_store::Result<Vec<Claimed>> {
        let now = Millis::now();
        self.store
            .claim_due(
                &self.owner,
                now,
                now + self.config.lease,
                limit,
                self.config.rate_limit,
                &self.limits.caps(),
            )
            .await
    }

    async fn hooks_for(
        &self,
        claimed: &[Claimed],
    ) -> wvs_store::Result<HashMap<HookId, Arc<PreparedHook>>> {
        let ids: Vec<HookId> = claimed
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

    /// How long to sleep when nothing could be claimed: until something falls due, at most
    /// the poll interval. A wake-up cuts it short: an event ingested, or attempts recorded
    /// (which free the slots of hooks that were full).
    async fn idle_sleep(&self) -> Duration {
        let poll = self.config.poll_interval;
        let now = Millis::now();
        match self.store.next_due_at(now).await {
            Ok(Some(at)) => poll.min(at.saturating_duration_since(now)),
            _ => poll,
        }
    }

    async fn pause(&self, shutdown: &CancellationToken, duration: Duration) -> WokenBy {
        tokio::select! {
            () = tokio::time::sleep(duration) => WokenBy::Clock,
            () = self.wake.notified() => WokenBy::Work,
            () = shutdown.cancelled() => WokenBy::Shutdown,
        }
    }

    async fn deliver(&self, hook: &PreparedHook, delivery: Claimed, ticket: Ticket) -> Attempt {
        let limit = self.sender.max_payload();
        let (result, request_body) =
            match delivery::templated(&hook.settings, &delivery.payload, limit) {
                Err(reason) => {
                    self.limits
                        .finished(ticket, Signal::Unknown, Duration::ZERO);
                    (delivery::unsendable(hook, reason), None)
                }
                Ok(templated) => {
                    // The log keeps the start of a body of the hook's own; the event's
                    // payload is stored already.
                    let logged = templated.as_deref().map(delivery::logged_body);
                    let body = match templated {
                        Some(body) => Bytes::from(body),
                        // Shared with every other delivery of the event: not copied.
                        None => delivery.payload.clone(),
                    };
                    let envelope = Envelope {
                        event_uuid: &delivery.event_uuid,
                        event_header: &delivery.event_header,
                        idempotency_key: &delivery.idempotency_key,
                        body,
                    };
                    let result = delivery::send(&self.sender, self.flavor, hook, &envelope).await;
                    self.limits
                        .finished(ticket, Signal::of(&result), result.duration);
                    (result, logged)
                }
            };
        let now = Millis::now();
        let (outcome, health) = if result.is_success() {
            (Outcome::Succeeded, HealthEffect::Success)
        } else if result.permanent {
            // Retrying cannot help (a payload over the limit, a URL that can never be sent
            // to), and it says nothing about the receiver.
            (Outcome::Failed, HealthEffect::Unchanged)
        } else {
            let outcome = self.config.retry.after_failure(
                delivery.attempts + 1,
                result.retry_after,
                now,
                &mut rand::rng(),
            );
            (outcome, HealthEffect::Failure)
        };
        let attempt = delivery::attempt_row(
            result,
            AttemptContext {
                hook_id: delivery.hook_id,
                delivery_id: Some(delivery.delivery_id),
                event_id: Some(delivery.event_id),
                trigger: delivery.trigger,
                outcome,
                health,
                rate_limited: delivery.rate_limited,
                // The event's stored payload, unless a template made another body.
                request_body,
                now,
            },
        );
        // Never the URL or headers: they may hold credentials.
        tracing::debug!(
            hook_id = attempt.hook_id.0,
            delivery_id = delivery.delivery_id.0,
            status = attempt.response_status,
            seconds = attempt.execution_duration,
            outcome = ?attempt.outcome,
            error = attempt.internal_error.as_deref(),
            "delivery attempt"
        );
        metrics::attempt(
            scope_of(hook.hook.owner),
            &attempt.outcome,
            attempt.execution_duration,
        );
        attempt
    }
}

/// What ended a pause of the claim loop.
#[derive(Debug, PartialEq, Eq)]
enum WokenBy {
    Clock,
    /// An event was ingested or attempts recorded.
    Work,
    Shutdown,
}

/// How long a claim loop woken while deliveries are in flight lets work gather before it
/// claims: a few events ingested or attempts recorded together are then claimed, sent and
/// recorded together.
const GATHER: Duration = Duration::from_millis(2);

/// Sends in flight from which a claim loop woken by work gathers: a loop this busy has more
/// on its way. Below it, at a steady 1,000 events/s (one or two in flight), gathering put
/// 2 ms into the latency of most deliveries it touched and saved little.
const GATHER_FROM: usize = 16;

/// Whether the claim loop, woken as `woken` with `in_flight` sends not yet finished, waits
/// [`GATHER`] before it claims. With many deliveries in flight, more work is on its way
/// (their records free slots) and one claim of many costs about what one claim of one does;
/// with few, the event that woke it goes out at once, its latency not stretched by the wait.
fn gathers(woken: &WokenBy, in_flight: usize) -> bool {
    *woken == WokenBy::Work && in_flight >= GATHER_FROM
}

/// Writes attempts in batches: whatever has arrived while the previous batch was being
/// written goes into the next transaction. Each commit wakes the claim loop: the recorded
/// deliveries freed their hooks' slots.
///
/// No attempt is dropped while the store cannot write (a full disk, the database out of
/// reach): the batch is retried, and the claim loop claims nothing meanwhile, so that no
/// claim expires and is sent again while its attempt waits here. A batch the database
/// refuses for its data (a row it cannot hold) is split until the bad row is alone; that row
/// is recorded without the parts it came with ([`reduced`]), and only if even that fails is
/// it set aside with a log line (its delivery is then sent again once its lease expires).
/// Recording gives up at shutdown, after the grace period: unrecorded deliveries are due
/// again at the next start.
async fn record_loop(
    dispatcher: Arc<Dispatcher>,
    mut attempts: mpsc::Receiver<Attempt>,
    give_up: CancellationToken,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while attempts.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let mut backoff = Duration::from_millis(50);
        let mut parts = vec![std::mem::take(&mut batch)];
        while let Err(error) = record_parts(&mut parts, |part| dispatcher.record(part)).await {
            dispatcher.recording_fails.store(true, Ordering::Relaxed);
            let waiting: usize = parts.iter().map(Vec::len).sum();
            tracing::warn!(%error, attempts = waiting, "recording attempts failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = give_up.cancelled() => {
                    tracing::warn!(attempts = waiting, "stopping with attempts not recorded: their deliveries are due again at the next start");
                    return;
                }
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        dispatcher.recording_fails.store(false, Ordering::Relaxed);
        dispatcher.wake.notify_one();
    }
}

/// Records every part of `parts` with `record`, taking them off as they are written. A part
/// the database refuses for its data is split in two until the bad attempt is alone; that
/// one is recorded [`reduced`], or set aside with a log line if even that is refused. Stops
/// at the first failure of the store's own, leaving what is unwritten in `parts`.
async fn record_parts<R>(
    parts: &mut Vec<Vec<Attempt>>,
    record: impl Fn(Vec<Attempt>) -> R,
) -> Result<(), StoreError>
where
    R: Future<Output = Result<(), StoreError>>,
{
    while let Some(mut part) = parts.pop() {
        let error = match record(part.clone()).await {
            Ok(()) => continue,
            Err(error) if error.is_row_error() => error,
            Err(error) => {
                parts.push(part);
                return Err(error);
            }
        };
        if part.len() > 1 {
            let second = part.split_off(part.len() / 2);
            parts.push(second);
            parts.push(part);
            continue;
        }
        for attempt in part {
            // Logged as plain numbers.
            let (hook_id, delivery_id) = (attempt.hook_id.0, attempt.delivery_id.map(|id| id.0));
            tracing::warn!(hook_id, delivery_id, %error, "the store refused an attempt's log row; recording it without its response");
            if let Err(error) = record(vec![reduced(attempt)]).await {
                tracing::error!(hook_id, delivery_id, %error, "the store refused an attempt even without its response; set aside (the delivery is sent again once its claim expires)");
            }
        }
    }
    Ok(())
}

impl Dispatcher {
    /// Records attempts in one transaction of the store.
    async fn record(&self, attempts: Vec<Attempt>) -> wvs_store::Result<()> {
        self.store
            .record_attempts(&self.owner, attempts, &self.config.auto_disable)
            .await
    }
}

/// `attempt` without what came from outside (the response's headers and body, the body sent,
/// the error's text), and a note of why in their place.
fn reduced(attempt: Attempt) -> Attempt {
    Attempt {
        request_headers: Vec::new(),
        request_body: None,
        response_headers: Vec::new(),
        response_body: Vec::new(),
        internal_error: Some(
            "the log row of this attempt was stored without its request and response: \
             the store refused them"
                .to_owned(),
        ),
        ..attempt
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use wvs_store::{DeliveryId, EventId};

    #[test]
    fn only_a_busy_loop_woken_by_work_gathers() {
        assert!(
            gathers(&WokenBy::Work, GATHER_FROM),
            "many deliveries in flight: more comes"
        );
        assert!(!gathers(&WokenBy::Work, 0), "a quiet node sends at once");
        assert!(
            !gathers(&WokenBy::Work, GATHER_FROM - 1),
            "a node at a steady rate sends at once"
        );
        assert!(!gathers(&WokenBy::Clock, GATHER_FROM));
        assert!(!gathers(&WokenBy::Shutdown, GATHER_FROM));
    }

    fn attempt(n: i64) -> Attempt {
        Attempt {
            delivery_id: Some(DeliveryId(n)),
            hook_id: HookId(n),
            event_id: Some(EventId(1)),
            outcome: Outcome::Succeeded,
            health: HealthEffect::Success,
            rate_limited: false,
            trigger: "push_hooks".into(),
            url: "http://example.com/".into(),
            request_headers: vec![("X-WVS-Event".into(), "Push Hook".into())],
            request_body: None,
            response_status: Some(200),
            response_headers: Vec::new(),
            response_body: b"refused by the store".to_vec(),
            execution_duration: 0.1,
            internal_error: None,
            created_at: Millis(1),
        }
    }

    /// A store that refuses any batch holding hook 13's attempt with its response body,
    /// fails as a whole (a full disk) while `down`, and keeps what it accepts.
    struct Fake {
        kept: Mutex<Vec<Attempt>>,
        calls: Mutex<usize>,
        down: Mutex<bool>,
    }

    impl Fake {
        async fn record(&self, attempts: Vec<Attempt>) -> Result<(), StoreError> {
            *self.calls.lock().unwrap() += 1;
            if *self.down.lock().unwrap() {
                return Err(StoreError::Database(sqlx::Error::PoolClosed));
            }
            if attempts
                .iter()
                .any(|a| a.hook_id == HookId(13) && !a.response_body.is_empty())
            {
                return Err(StoreError::Invalid("a value the column cannot hold"));
            }
            self.kept.lock().unwrap().extend(attempts);
            Ok(())
        }
    }

    #[tokio::test]
    async fn one_refused_attempt_is_split_off_and_recorded_without_its_response() {
        let fake = Fake {
            kept: Mutex::default(),
            calls: Mutex::default(),
            down: Mutex::new(false),
        };
        let mut parts = vec![(1..=64).map(attempt).collect::<Vec<_>>()];
        record_parts(&mut parts, |part| fake.record(part))
            .await
            .unwrap();
        assert!(parts.is_empty());
        let kept = fake.kept.lock().unwrap();
        assert_eq!(kept.len(), 64, "every attempt recorded once");
        let bad = kept.iter().find(|a| a.hook_id == HookId(13)).unwrap();
        assert!(bad.response_body.is_empty() && bad.request_headers.is_empty());
        assert!(
            bad.internal_error
                .as_deref()
                .unwrap()
                .contains("stored without")
        );
        assert_eq!(bad.response_status, Some(200), "the outcome is kept");
        // Halving: about two writes per level of 64 = 2^6, not one per attempt.
        assert!(
            *fake.calls.lock().unwrap() <= 2 * 7 + 1,
            "{}",
            fake.calls.lock().unwrap()
        );
    }

    #[tokio::test]
    async fn a_store_that_cannot_write_keeps_every_attempt_waiting() {
        let fake = Fake {
            kept: Mutex::default(),
            calls: Mutex::default(),
            down: Mutex::new(true),
        };
        let mut parts = vec![(1..=8).map(attempt).collect::<Vec<_>>()];
        let error = record_parts(&mut parts, |part| fake.record(part))
            .await
            .unwrap_err();
        assert!(!error.is_row_error());
        assert_eq!(
            parts.iter().map(Vec::len).sum::<usize>(),
            8,
            "nothing dropped"
        );
        assert_eq!(
            *fake.calls.lock().unwrap(),
            1,
            "not split: the store is down"
        );
        *fake.down.lock().unwrap() = false;
        record_parts(&mut parts, |part| fake.record(part))
            .await
            .unwrap();
        assert_eq!(fake.kept.lock().unwrap().len(), 8);
    }
}
