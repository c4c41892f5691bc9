//! SQLite's write path on a thread of its own: one thread owns a `rusqlite` connection and
//! runs each whole write transaction handed to it as one job.
//!
//! sqlx's SQLite driver runs every statement on its connection's worker thread and hands the
//! result back: a transaction of N statements is 2N thread switches, and on two busy cores
//! each switch waits for a core. Here a transaction is one hand-off there and one back,
//! whatever its statements, and statements are prepared once per connection
//! (`prepare_cached`).
//!
//! The store still takes its sqlx writer's lock around each job (`SqliteStore::on_writer`),
//! so that the two connections never wait on each other's write lock inside SQLite.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// Statements each connection keeps prepared: the write path's, with room to spare.
const PREPARED: usize = 64;

/// A job: runs on the writer's connection and says what becomes of it.
type Job = Box<dyn FnOnce(&mut Connection) -> Next + Send>;

enum Next {
    Keep,
    /// The transaction failed for a reason of the store's own: a fresh connection.
    Reopen,
    /// The store is closing: the connection closes, then the sender hears it and the
    /// thread ends.
    Stop(oneshot::Sender<()>),
}

/// How the writer's connection is opened (and opened again after a failure).
#[derive(Clone)]
pub struct WriterOptions {
    pub path: PathBuf,
    pub busy_timeout: Duration,
    /// The sqlx writer's `max_page_count`, so that both connections see one size limit.
    pub max_page_count: Option<i64>,
}

/// The handle to the writer thread; the thread ends once every handle is gone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Opens the connection and starts its thread.
    pub fn start(options: WriterOptions) -> Result<Writer> {
        let mut conn = connect(&options)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("wvs-sqlite-writer".to_owned())
            .spawn(move || {
                for job in queue {
                    match job(&mut conn) {
                        Next::Keep => {}
                        // After a failed transaction the connection may hold a state no
                        // later one can start from (SQLite rolled back on a full disk):
                        // a fresh one, so that the next write works once the cause is gone.
                        Next::Reopen => match connect(&options) {
                            Ok(fresh) => conn = fresh,
                            Err(error) => tracing::warn!(%error, "could not reopen the SQLite writer; the next write tries again"),
                        },
                        Next::Stop(done) => {
                            // Dropping the connection closes it; the queue goes with the
                            // thread, and later writes fail.
                            drop(conn);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })
            .map_err(|_| closed())?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`) on the writer's thread,
    /// committed as `commit` says if it succeeds and rolled back if it fails; `committed` then
    /// runs on the same thread with what it returned, before any other job (what must change
    /// in memory with the commit, and only with it, even if the caller stopped waiting).
    pub async fn write<T: Send + 'static>(
        &self,
        commit: Commit,
        work: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        committed: impl FnOnce(&T) + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = transaction(conn, commit, work);
            if let Ok(out) = &outcome {
                committed(out);
            }
            let next = match &outcome {
                Err(error) if !error.is_row_error() => Next::Reopen,
                _ => Next::Keep,
            };
            let _ = reply.send(outcome);
            next
        });
        self.jobs.send(job).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Closes the connection once the jobs before this one ran; writing afterwards fails.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        let job: Job = Box::new(move |_| Next::Stop(done));
        if self.jobs.send(job).is_ok() {
            let _ = closed.await;
        }
    }
}

/// Whether a transaction's commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// `synchronous=FULL`: the commit is on the disk when it returns.
    Durable,
    /// `synchronous=NORMAL` (in WAL mode, the commit does not sync; the next durable commit
    /// or checkpoint syncs it with its own). Only for writes a power cut may lose: the
    /// file stays consistent and loses just those commits. A process that dies loses
    /// nothing: the commit is in the file.
    Deferred,
}

fn transaction<T>(
    conn: &mut Connection,
    commit: Commit,
    work: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    if commit == Commit::Deferred {
        conn.pragma_update(None, "synchronous", "normal")?;
    }
    let outcome = run(conn, work);
    if commit == Commit::Deferred {
        // Every other transaction of this connection is durable.
        conn.pragma_update(None, "synchronous", "full")?;
    }
    outcome
}

fn run<T>(conn: &mut Connection, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Dropping `tx` on an error rolls it back.
    let out = work(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// The same settings as the store's sqlx connections (WAL, `synchronous=FULL`, foreign
/// keys, the busy timeout); the file exists and is migrated.
fn connect(options: &WriterOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "synchronous", "full")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if let Some(pages) = options.max_page_count {
        conn.pragma_update(None, "max_page_count", pages)?;
    }
    conn.set_prepared_statement_cache_capacity(PREPARED);
    Ok(conn)
}

/// The writer's thread is gone (the store was closed, or it panicked).
fn closed() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(tx: &Transaction<'_>) -> Result<i64> {
        Ok(tx.query_row("PRAGMA synchronous", [], |row| row.get(0))?)
    }

    /// A deferred transaction commits without `synchronous=FULL`; the ones after it have
    /// it again, a failed deferred one included.
    #[tokio::test]
    async fn a_deferred_commit_leaves_the_next_ones_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "journal_mode", "wal")
            .unwrap();
        let writer = Writer::start(WriterOptions {
            path,
            busy_timeout: Duration::from_secs(1),
            max_page_count: None,
        })
        .unwrap();
        let (full, normal) = (2, 1);
        let level = writer.write(Commit::Durable, synchronous, |_| ()).await;
        assert_eq!(level.unwrap(), full);
        let level = writer.write(Commit::Deferred, synchronous, |_| ()).await;
        assert_eq!(level.unwrap(), normal);
        let level = writer.write(Commit::Durable, synchronous, |_| ()).await;
        assert_eq!(level.unwrap(), full);
        let failed = writer
            .write(
                Commit::Deferred,
                |tx| Ok(tx.execute("INSERT INTO missing VALUES (1)", [])?),
                |_| (),
            )
            .await;
        assert!(failed.is_err());
        let level = writer.write(Commit::Durable, synchronous, |_| ()).await;
        assert_eq!(level.unwrap(), full);
    }
}
