//! Group commit of ingested events: events that arrive while the previous batch is being
//! committed are stored together, in one transaction, so that many concurrent ingests share
//! one commit (one fsync on SQLite, one WAL flush on PostgreSQL) instead of queueing for
//! one each. Each caller is answered only once its event is committed: nothing is
//! acknowledged before it is durable.
//!
//! One bad event does not fail its neighbours: when a batch fails, its events are stored
//! again one by one, and each caller gets its own outcome.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::model::{Inserted, Millis, NewDelivery, NewEvent};
use crate::{Result, StoreError};

/// Events per transaction at most.
const BATCH: usize = 128;

/// One event to store, with its deliveries.
#[derive(Clone)]
pub struct Pending {
    pub event: NewEvent,
    pub deliveries: Vec<NewDelivery>,
    pub now: Millis,
}

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Result<Inserted>>,
}

/// The handle callers insert through; the committing task ends when every handle is gone.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the committing task; `write` stores a batch in one transaction and returns
    /// each event's outcome, in order.
    pub fn start<W, F>(write: W) -> GroupCommit
    where
        W: Fn(Arc<[Pending]>) -> F + Send + 'static,
        F: Future<Output = Result<Vec<Result<Inserted>>>> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel(BATCH * 4);
        tokio::spawn(commit_loop(queue, write));
        GroupCommit { jobs }
    }

    /// Stores one event, in whichever batch it joins; returns once that batch is committed.
    pub async fn insert(&self, pending: Pending) -> Result<Inserted> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { pending, reply })
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        answer
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?
    }
}

async fn commit_loop<W, F>(mut queue: mpsc::Receiver<Job>, write: W)
where
    W: Fn(Arc<[Pending]>) -> F,
    F: Future<Output = Result<Vec<Result<Inserted>>>>,
{
    let mut jobs = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut jobs, BATCH).await > 0 {
        let (batch, replies): (Vec<Pending>, Vec<_>) =
            jobs.drain(..).map(|job| (job.pending, job.reply)).unzip();
        let batch: Arc<[Pending]> = batch.into();
        match write(Arc::clone(&batch)).await {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for reply in replies {
                    let _ =
                        reply.send(outcomes.next().unwrap_or(Err(StoreError::Corrupt("batch"))));
                }
            }
            Err(error) if batch.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(error));
                }
            }
            // Nothing of the batch was stored: each event again on its own.
            Err(_) => {
                for (pending, reply) in batch.iter().zip(replies) {
                    let outcome =
                        write(Arc::from([pending.clone()]))
                            .await
                            .and_then(|mut outcomes| {
                                outcomes.pop().unwrap_or(Err(StoreError::Corrupt("batch")))
                            });
                    let _ = reply.send(outcome);
                }
            }
        }
    }
}
