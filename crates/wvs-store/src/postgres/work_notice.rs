//! Telling every node that deliveries became claimable, after the commit that made them so.
//!
//! PostgreSQL makes the transactions that send a notification commit one at a time, over
//! the whole database: each holds a lock until its commit is on disk. With `NOTIFY` inside
//! every ingest and every record, those commits queued behind each other on every node. The
//! hot writes (ingest and record) announce their work here instead, once committed: the
//! node's own dispatchers wake at once, and one task sends the notification for the other
//! nodes on the store's relaxed connections (`synchronous_commit = off`: the lock is let go
//! without waiting for the disk; a notification is only a wake-up, and polling covers one
//! that is lost). Announcements made while one is on its way are sent as one more, not one
//! each. The notification carries the node's own mark, so that its listener does not wake
//! the dispatchers a second time. Rare writes (a resend, a hook enabled again) still notify
//! in their transaction, unmarked.

use std::sync::{Arc, Mutex, MutexGuard};

use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};

/// The dispatchers of this node, woken whenever work is added.
type Watchers = Arc<Mutex<Vec<Arc<Notify>>>>;

#[derive(Clone)]
pub struct WorkNotice {
    watchers: Watchers,
    /// This node's mark on the notifications it sends.
    mark: Arc<str>,
    /// Holds one request while the task is busy: what comes meanwhile joins it.
    requests: mpsc::Sender<()>,
}

impl WorkNotice {
    /// Starts the task that notifies `channel` on `pool`, until every copy is dropped.
    pub fn start(pool: PgPool, channel: &'static str) -> WorkNotice {
        let (requests, mut pending) = mpsc::channel(1);
        let mark: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let payload = mark.clone();
        tokio::spawn(async move {
            while pending.recv().await.is_some() {
                if pool.is_closed() {
                    break;
                }
                if let Err(error) = super::notify(&pool, channel, &payload).await {
                    // The other nodes still poll; this node was woken already.
                    tracing::debug!(%error, "could not tell the other nodes of new work");
                }
            }
        });
        WorkNotice {
            watchers: Watchers::default(),
            mark,
            requests,
        }
    }

    /// Adds `wake` to the dispatchers woken.
    pub fn watch(&self, wake: Arc<Notify>) {
        self.watchers().push(wake);
    }

    /// Work was committed: wakes this node's dispatchers and has the others told.
    pub fn announce(&self) {
        self.wake_all();
        // Full: a notification not yet sent will tell of this work too.
        let _ = self.requests.try_send(());
    }

    /// A notification with `payload` was heard: wakes this node's dispatchers, unless this
    /// node sent it (they were woken when it was announced; `""` is never this node's).
    pub fn heard(&self, payload: &str) {
        if *self.mark != *payload {
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        self.watchers().iter().for_each(|wake| wake.notify_one());
    }

    /// The watchers, even if a thread panicked holding them (a list of handles stays valid).
    fn watchers(&self) -> MutexGuard<'_, Vec<Arc<Notify>>> {
        self.watchers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
