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
//!
//! # Durable commits, synced off the writer's thread
//!
//! The connection commits with `synchronous=NORMAL`: in WAL mode a commit appends its frames
//! to the WAL file and does not wait for the disk. A durable commit ([`Commit::Durable`]) is
//! answered only once a second thread has synced the WAL file (`fdatasync`), which makes
//! every commit appended so far durable; the commits that came while it synced share the
//! next sync. Meanwhile the writer runs the next jobs: a claim no longer waits behind an
//! ingest's sync, and a sync costs one wait for many commits. SQLite still syncs the WAL
//! before each checkpoint and the database after it, so a WAL restarted over old frames
//! only overwrites what the database file holds on disk. A power cut can lose commits not
//! yet answered, never one answered: SQLite's recovery keeps the WAL's frames up to the
//! first that was not written whole, and those synced came first.

use std::path::{Path, PathBuf};
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
    syncs: mpsc::Sender<Synced>,
}

/// What runs once the WAL was synced (or could not be): a durable commit's answer.
type Synced = Box<dyn FnOnce(&std::io::Result<()>) + Send>;

/// Syncs the WAL file at the path.
pub type SyncWal = Box<dyn Fn(&Path) -> std::io::Result<()> + Send>;

impl Writer {
    /// Opens the connection and starts its thread; the WAL is synced by `sync` (tests hold
    /// or fail it), [`sync_wal`] in a server.
    pub fn start(options: WriterOptions, sync: SyncWal) -> Result<Writer> {
        let mut conn = connect(&options)?;
        let syncs = start_syncing(wal_of(&options.path), sync)?;
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
        Ok(Writer { jobs, syncs })
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`) on the writer's thread,
    /// committed as `commit` says if it succeeds and rolled back if it fails; `committed` then
    /// runs on the same thread with what it returned, before any other job (what must change
    /// in memory with the commit, and only with it, even if the caller stopped waiting).
    /// Answers once the transaction ended; what it returned, once it is as durable as
    /// `commit` asks, comes from the [`Answer`] (a durable commit's after its sync).
    pub async fn commit<T: Send + 'static>(
        &self,
        commit: Commit,
        work: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        committed: impl FnOnce(&T) + Send + 'static,
    ) -> Result<Answer<T>> {
        let (reply, answer) = oneshot::channel();
        let syncs = self.syncs.clone();
        let job: Job = Box::new(move |conn| {
            let outcome = run(conn, work);
            if let Ok(out) = &outcome {
                committed(out);
            }
            let next = match &outcome {
                Err(error) if !error.is_row_error() => Next::Reopen,
                _ => Next::Keep,
            };
            let _ = reply.send(match outcome {
                Ok(out) if commit == Commit::Durable => Answer::after_sync(out, &syncs),
                outcome => Answer::Now(outcome),
            });
            next
        });
        self.jobs.send(job).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())
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

/// What a committed transaction returned, as durable as its [`Commit`] asked.
pub enum Answer<T> {
    Now(Result<T>),
    /// A durable commit's, once the WAL is synced.
    AfterSync(oneshot::Receiver<Result<T>>),
}

impl<T: Send + 'static> Answer<T> {
    /// Hands `out` to the sync thread, to be answered once the WAL is synced.
    fn after_sync(out: T, syncs: &mpsc::Sender<Synced>) -> Answer<T> {
        let (reply, answer) = oneshot::channel();
        let synced: Synced = Box::new(move |synced| {
            let _ = reply.send(match synced {
                Ok(()) => Ok(out),
                Err(error) => Err(sync_failed(error)),
            });
        });
        if let Err(mpsc::SendError(synced)) = syncs.send(synced) {
            synced(&Err(std::io::Error::other("the WAL's sync thread is gone")));
        }
        Answer::AfterSync(answer)
    }

    pub async fn wait(self) -> Result<T> {
        match self {
            Answer::Now(outcome) => outcome,
            Answer::AfterSync(answer) => answer.await.map_err(|_| closed())?,
        }
    }
}

/// Whether a transaction's commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The commit is on the disk when it is answered (the WAL synced: see the module).
    Durable,
    /// Answered at once; the next sync (of a durable commit or a checkpoint) takes it along.
    /// Only for writes a power cut may lose: the file stays consistent and loses just those
    /// commits. A process that dies loses nothing: the commit is in the file.
    Deferred,
}

/// The WAL file of the database at `path`.
fn wal_of(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Starts the thread that syncs the WAL at `wal` for each batch of durable commits handed
/// to it, then answers them; it ends once every sender is gone.
fn start_syncing(wal: PathBuf, sync: SyncWal) -> Result<mpsc::Sender<Synced>> {
    let (syncs, waiting) = mpsc::channel::<Synced>();
    std::thread::Builder::new()
        .name("wvs-sqlite-sync".to_owned())
        .spawn(move || {
            while let Ok(first) = waiting.recv() {
                // What came while the last sync ran shares this one.
                let batch: Vec<Synced> = std::iter::once(first).chain(waiting.try_iter()).collect();
                let synced = sync(&wal);
                for answer in batch {
                    answer(&synced);
                }
            }
        })
        .map_err(|_| closed())?;
    Ok(syncs)
}

/// Syncs the file at `wal`, opened anew each time: SQLite deletes the WAL when its last
/// connection closes and makes a new one, and a handle kept open would sync the old one. No
/// WAL (the database is not in WAL mode): its commits synced themselves.
pub fn sync_wal(wal: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// A durable commit whose WAL could not be synced: it may not survive a power cut, so it
/// is not answered as stored.
fn sync_failed(error: &std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::new(
        error.kind(),
        format!("syncing the WAL: {error}"),
    )))
}

fn run<T>(conn: &mut Connection, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Dropping `tx` on an error rolls it back.
    let out = work(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// The same settings as the store's sqlx connections (WAL, foreign keys, the busy timeout),
/// but `synchronous=NORMAL`: durable commits are synced by the sync thread (see the
/// module); the file exists and is migrated.
fn connect(options: &WriterOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "synchronous", "normal")?;
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

    /// A writer on a fresh WAL database whose syncs `sync` makes.
    fn writer(dir: &tempfile::TempDir, sync: SyncWal) -> Writer {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        conn.execute("CREATE TABLE t (n INTEGER)", []).unwrap();
        let options = WriterOptions {
            path,
            busy_timeout: Duration::from_secs(1),
            max_page_count: None,
        };
        Writer::start(options, sync).unwrap()
    }

    async fn write<T: Send + 'static>(
        writer: &Writer,
        commit: Commit,
        work: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        writer.commit(commit, work, |_| ()).await?.wait().await
    }

    fn insert(n: i64) -> impl FnOnce(&Transaction<'_>) -> Result<usize> + Send + 'static {
        move |tx| Ok(tx.execute("INSERT INTO t VALUES (?1)", [n])?)
    }

    fn count(tx: &Transaction<'_>) -> Result<i64> {
        Ok(tx.query_row("SELECT count(*) FROM t", [], |row| row.get(0))?)
    }

    /// A durable commit is answered once the WAL is synced; meanwhile the writer goes on
    /// (a deferred commit is answered at once, and sees the durable one's rows).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_durable_commit_waits_for_the_sync_and_the_writer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let gate = std::sync::Mutex::new(gate);
        let (entered, syncing) = std::sync::mpsc::channel::<PathBuf>();
        let writer = writer(
            &dir,
            Box::new(move |wal| {
                let _ = entered.send(wal.to_owned());
                let _ = gate.lock().unwrap().recv();
                Ok(())
            }),
        );
        let durable = tokio::spawn({
            let writer = writer.clone();
            async move { write(&writer, Commit::Durable, insert(1)).await }
        });
        // The durable commit is done and its sync under way (held at the gate).
        let wal = tokio::task::spawn_blocking(move || syncing.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(wal, dir.path().join("w.db-wal"));
        let seen = write(&writer, Commit::Deferred, count).await;
        assert_eq!(seen.unwrap(), 1, "committed, though not answered yet");
        assert!(!durable.is_finished(), "answered before its sync");
        open.send(()).unwrap();
        assert_eq!(durable.await.unwrap().unwrap(), 1);
    }

    /// A durable commit whose sync failed is not answered as stored; the writer goes on.
    #[tokio::test]
    async fn a_failed_sync_fails_the_durable_commit() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(
            &dir,
            Box::new(|_| Err(std::io::Error::other("the disk is gone"))),
        );
        let error = write(&writer, Commit::Durable, insert(1))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("syncing the WAL"), "{error}");
        assert!(write(&writer, Commit::Deferred, insert(2)).await.is_ok());
    }

    /// The real sync: a WAL database's commits are answered.
    #[tokio::test]
    async fn the_wal_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir, Box::new(sync_wal));
        assert_eq!(write(&writer, Commit::Durable, insert(1)).await.unwrap(), 1);
        assert!(dir.path().join("w.db-wal").exists());
        assert_eq!(sync_wal(&dir.path().join("absent-wal")).ok(), Some(()));
    }
}
