//! The store's SQLite connections, opened once and held for its whole life, each behind a
//! lock.
//!
//! Not an sqlx pool: a pool pings a connection when it is checked out and again when it is
//! returned (from a task it spawns), and each ping is a round trip to the connection's worker
//! thread — two thread hand-offs per transaction that test nothing for a local file, and on
//! this workload more than the statements themselves cost. A connection here is taken by
//! locking it. A transaction abandoned half-way (its future dropped) is rolled back by sqlx
//! before the connection runs anything else.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::Result;

pub struct Connections {
    /// `None` once closed.
    slots: Vec<Mutex<Option<SqliteConnection>>>,
    /// How the connections were opened, to open a replacement.
    options: SqliteConnectOptions,
    /// Where a caller that found every connection busy queues: round robin.
    next: AtomicUsize,
}

/// A connection taken from [`Connections`]; given back when dropped.
pub type Taken<'a> = MappedMutexGuard<'a, SqliteConnection>;

impl Connections {
    /// Opens `count` connections with `options`.
    pub async fn open(options: &SqliteConnectOptions, count: usize) -> Result<Connections> {
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            slots.push(Mutex::new(Some(options.connect().await?)));
        }
        Ok(Connections {
            slots,
            options: options.clone(),
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection, or the first of one queue to come free.
    pub async fn take(&self) -> Result<Taken<'_>> {
        let guard = match self.slots.iter().find_map(|slot| slot.try_lock().ok()) {
            Some(guard) => guard,
            None => {
                let queue = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
                self.slots[queue].lock().await
            }
        };
        MutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed.into())
    }

    /// Replaces `taken` with a new connection to the same file (the old one is closed in
    /// the background). After a failed transaction sqlx may hold the old one in a state no
    /// later transaction can start from: when SQLite itself rolled the transaction back (a
    /// full disk), sqlx's own ROLLBACK fails and it still counts the transaction open. Not
    /// for an in-memory database, which lives and dies with its connection.
    pub async fn reopen(&self, taken: &mut Taken<'_>) -> Result<()> {
        let fresh = self.options.connect().await?;
        drop(std::mem::replace(&mut **taken, fresh));
        Ok(())
    }

    /// Closes every connection, waiting for those in use; taking one afterwards fails.
    pub async fn close(&self) {
        for slot in &self.slots {
            if let Some(connection) = slot.lock().await.take() {
                // Closing can only fail on a connection that is already broken.
                let _ = sqlx::Connection::close(connection).await;
            }
        }
    }
}
