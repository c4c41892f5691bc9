//! The SQLite store: one file, WAL, nothing to install.
//!
//! # Layout
//!
//! This file opens the database (pragmas, pools, migrations), runs transactions, and says
//! what SQLite says differently (`SqliteDialect`). The SQL itself lives in the query modules under
//! `src/queries/`, shared with the PostgreSQL store (see the crate docs), except for the
//! queue's three hot writes: `write_path`, run on a thread of their own (`writer`).
//!
//! # Connections
//!
//! SQLite allows one writer at a time. Writes go through one connection at a time, so they
//! queue for it (cheaply, in memory) instead of fighting over the file lock: sqlx's writer
//! connection, or the writer thread's own (`writer`) for the queue's hot writes, each taken
//! only while holding the first; and
//! every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front,
//! so a transaction that reads and then writes never fails half-way with "database is
//! locked" (another process on the same file waits up to `busy_timeout` instead). Reads use a
//! few separate read-only connections; in WAL mode they see the last committed state and
//! never block the writer. Connections are held open, not pooled (see `connections`).

// The query modules are shared with the PostgreSQL store: each is compiled once per backend,
// against this module's `Conn` and `Db` (see `queries/mod.rs` and lib.rs). The queue's hot
// writes (an ingest batch, a claim, a record) run on the writer's thread instead
// (`write_path`), so their query-module versions are PostgreSQL's only: dead code is told by
// PostgreSQL's build, which uses every query.
#[allow(dead_code)]
#[path = "queries/mod.rs"]
mod queries;
use queries::*;

mod connections;
mod leases;
mod tenants;
mod write_path;
mod writer;
pub(crate) use writer::sync_wal;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

use tokio::sync::{Notify, oneshot};

use crate::cipher::{Cipher, SecretKey};
use crate::dialect::Dialect;
use crate::group_commit::GroupCommit;
use crate::group_commit::Pending;
use crate::header_sets::KnownSets;
use crate::model::{
    Attempt, DeliveryCounts, DeliveryId, HealthRule, HookHealth, HookId, Inserted, Millis,
    record_is_durable,
};
use crate::read_cache::ReadCache;
use crate::write_health::WriteHealth;
use crate::{Result, StoreError};
use connections::Connections;
use health::Healths;
use leases::Leases;
use writer::Commit;

/// What the shared query modules are compiled against.
type Db = SqliteDialect;
/// The connection the shared query modules run on.
type Conn = <Db as Dialect>::Conn;
/// The store the shared `Store` impl is for.
type Backend = SqliteStore;

/// What SQLite says differently. One writer at a time: nothing needs locking or waking.
pub(crate) struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Conn = SqliteConnection;

    const LOCK: &'static str = "";
    const KEY_SHARE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    /// SQLite looks a numbered parameter (`$7`) up by walking the statement's list of names,
    /// so binding the hundreds of a multi-row INSERT by number costs their square.
    const IN_ORDER: Option<&'static str> = Some("?");
    /// One writer at a time: what a transaction read cannot change under it.
    const WRITES_SIDE_BY_SIDE: bool = false;

    fn top_segment(path: &str) -> String {
        format!("substr({path}, 1, instr({path} || '/', '/') - 1)")
    }

    fn id_or_next(_table: &str, param: usize) -> String {
        format!("${param}")
    }

    /// SQLite assigns the next id from the largest one in the table anyway.
    async fn ids_taken(_conn: &mut SqliteConnection, _table: &str) -> Result<()> {
        Ok(())
    }

    /// The dispatcher in this process is woken by its caller.
    async fn work_added(_conn: &mut SqliteConnection) -> Result<()> {
        Ok(())
    }

    /// This store, the file's only writer, clears its cache itself.
    async fn cached_changed(_conn: &mut SqliteConnection) -> Result<()> {
        Ok(())
    }
}

/// The schema migrations under `migrations/sqlite/`, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for a lock held by another process before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections: enough for the API and the dispatcher to read side by side.
const READERS: usize = 4;

/// The SQLite [`Store`]. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    /// The sqlx writer: one connection, for every write but the queue's hot three. Its lock
    /// is also held around each of those (see `on_writer`): SQLite has one writer.
    writer: Arc<Connections>,
    /// The queue's hot writes, each one transaction on the writer thread.
    write_path: writer::Writer,
    /// The claims, held in memory (this process owns the file).
    leases: Leases,
    /// The directory of an "in-memory" database's file (see `connect`), removed with the
    /// store.
    _scratch: Option<Arc<tempfile::TempDir>>,
    /// Read-only connections (the writer itself for an in-memory database).
    reader: Arc<Connections>,
    /// Encrypts hook URLs and secrets at rest.
    cipher: Cipher,
    /// This process is the file's only writer: the reads of every ingest are remembered.
    cache: Arc<ReadCache>,
    /// Ingested events go through a group commit (`None` in the committing task's own copy,
    /// which writes directly).
    inserts: Option<GroupCommit>,
    /// Whether writes are failing, and why.
    writes: Arc<WriteHealth>,
    /// The header sets the writer thread knows (see `crate::header_sets`).
    header_sets: Arc<KnownSets>,
    /// Each hook's top-level namespace, for the claims' shares.
    tenants: tenants::Tenants,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file at `path` and applies the migrations;
    /// `key` encrypts hook URLs and secrets at rest.
    pub async fn open(path: &Path, key: &SecretKey) -> Result<SqliteStore> {
        SqliteStore::open_syncing_with(path, key, Box::new(writer::sync_wal)).await
    }

    /// [`SqliteStore::open`], with the writer's WAL synced by `sync` (see
    /// [`crate::testing::SyncGate`]).
    pub(crate) async fn open_syncing_with(
        path: &Path,
        key: &SecretKey,
        sync: writer::SyncWal,
    ) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new().filename(path);
        SqliteStore::connect(options, false, key, sync).await
    }

    /// Opens the file database `options` name, with their settings (a `max_page_count`
    /// pragma, say), and applies the migrations.
    pub async fn open_with(options: SqliteConnectOptions, key: &SecretKey) -> Result<SqliteStore> {
        SqliteStore::connect(options, false, key, Box::new(writer::sync_wal)).await
    }

    /// Opens a database by URL (`sqlite://wvs.db`, `sqlite:data/wvs.db?mode=rwc`, or
    /// `sqlite::memory:` for tests), creating the file if needed, and applies the migrations.
    pub async fn open_url(url: &str, key: &SecretKey) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?;
        // sqlx keeps whether a database is in memory to itself; the URL says it.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        SqliteStore::connect(options, in_memory, key, Box::new(writer::sync_wal)).await
    }

    async fn connect(
        options: SqliteConnectOptions,
        in_memory: bool,
        key: &SecretKey,
        sync: writer::SyncWal,
    ) -> Result<SqliteStore> {
        // The writer thread's connection and sqlx's are two connections, and an in-memory
        // database is private to one: a database asked for in memory is a file in a
        // temporary directory, removed when the store is dropped.
        let scratch = match in_memory {
            true => {
                Some(Arc::new(tempfile::tempdir().map_err(|error| {
                    StoreError::Database(sqlx::Error::Io(error))
                })?))
            }
            false => None,
        };
        let options = match &scratch {
            // Options made afresh: sqlx's own in-memory flag would stay set on `options`.
            Some(dir) => SqliteConnectOptions::new().filename(dir.path().join("wvs.db")),
            None => options,
        };
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // In WAL mode, NORMAL syncs only at checkpoints: a commit survives a crash of the
            // process (kill -9) but may be lost on power failure or an OS crash. FULL syncs
            // the WAL at every commit, so an event acknowledged with 202 survives both. The
            // cost is one fsync per write transaction, which batching (many deliveries per
            // event, many attempts per record) keeps small.
            .synchronous(SqliteSynchronous::Full);
        let writer_options = options.clone().journal_mode(SqliteJournalMode::Wal);
        // An in-memory database lives as long as its connection: held for the store's life.
        let writer = Arc::new(Connections::open(&writer_options, 1).await?);
        let max_page_count = {
            let mut conn = writer.take().await?;
            MIGRATOR.run(&mut *conn).await?;
            // A size limit set in `options` (a test's full disk) holds for both writers.
            sqlx::query_scalar::<_, i64>("PRAGMA max_page_count")
                .fetch_one(&mut *conn)
                .await?
        };
        let write_path = writer::Writer::start(
            writer::WriterOptions {
                path: options.get_filename().to_owned(),
                busy_timeout: BUSY_TIMEOUT,
                max_page_count: Some(max_page_count),
            },
            sync,
        )?;
        let reader = Arc::new(Connections::open(&options.read_only(true), READERS).await?);
        tracing::debug!("sqlite store open");
        let mut store = SqliteStore {
            writer,
            write_path,
            leases: Leases::default(),
            _scratch: scratch,
            reader,
            cipher: Cipher::new(key),
            cache: Arc::new(ReadCache::only_writer()),
            inserts: None,
            writes: Arc::default(),
            header_sets: Arc::default(),
            tenants: tenants::Tenants::default(),
        };
        store
            .on_writer(write_path::claim::forget_claims, |_| ())
            .await?;
        store.inserts = Some(store::group_commit(store.clone()));
        Ok(store)
    }

    /// Applies the migrations to the database at `url` (creating the file) without
    /// serving (`wvs migrate`); returns the schema version it is at.
    pub async fn migrate(url: &str) -> Result<i64> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        pool.close().await;
        Ok(schema_version())
    }

    /// Writes a consistent copy of the database at `url` to the new file `destination`
    /// (`wvs backup`), with SQLite's `VACUUM INTO`: a snapshot of one read transaction, taken
    /// on a read-only connection of its own, so that a server using the file goes on
    /// ingesting and delivering meanwhile (in WAL mode a reader never blocks the writer).
    pub async fn backup(url: &str, destination: &Path) -> Result<()> {
        let options = SqliteConnectOptions::from_str(url)?
            .read_only(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        sqlx::query("VACUUM INTO $1")
            .bind(destination.to_string_lossy().into_owned())
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }

    /// Rewrites the store at `url` into as few pages as its data needs, giving the pages
    /// freed by retention back to the file system (`VACUUM`). Needs the file to itself: it
    /// is run on a stopped store.
    pub async fn vacuum(url: &str) -> Result<()> {
        let options = SqliteConnectOptions::from_str(url)?.busy_timeout(BUSY_TIMEOUT);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        sqlx::query("VACUUM").execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    /// Closes every connection (after which the store is unusable). Closing checkpoints the
    /// WAL into the main file; dropping the store without it is safe too, only slower to
    /// reopen.
    pub async fn close(&self) {
        self.reader.close().await;
        // The sqlx writer's lock first: no hot write runs while the thread closes.
        let turn = self.writer.take().await;
        self.write_path.close().await;
        drop(turn);
        self.writer.close().await;
    }

    /// Other processes never add work to this database (one node per file): the dispatcher
    /// is woken by its own process.
    fn listen_for_work(&self, _wake: Arc<Notify>) {}

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`), committed if it succeeds
    /// and rolled back if it fails. After a failure of the store's own (a full disk, an I/O
    /// error) the writer connection is replaced, so the next write works as soon as the
    /// cause is gone, without a restart.
    async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.writer.take().await?;
        let outcome = async {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            let out = work(&mut tx).await?;
            tx.commit().await?;
            Ok(out)
        }
        .await;
        if let Err(error) = &outcome {
            self.writes.failed(error);
            if !error.is_row_error()
                && let Err(reopen) = self.writer.reopen(&mut conn).await
            {
                tracing::warn!(error = %reopen, "could not reopen the SQLite writer; the next write tries again");
            }
        }
        outcome
    }

    /// Runs `work` in one read transaction: several statements see the same snapshot (a
    /// page and its total, for instance).
    async fn read<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.reader.take().await?;
        let mut tx = conn.begin().await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs a read of one statement on a read connection (no transaction needed).
    async fn read_one<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.reader.take().await?;
        work(&mut conn).await
    }
}

impl SqliteStore {
    /// Runs `work` as one transaction on the writer thread, holding the sqlx writer meanwhile
    /// (the two never wait on each other's lock inside SQLite). A failure of the store's own
    /// marks the store failing; the thread replaces its connection.
    async fn on_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
        committed: impl FnOnce(&T) + Send + 'static,
    ) -> Result<T> {
        self.on_writer_with(Commit::Durable, work, committed).await
    }

    /// [`Self::on_writer`], committed as `commit` says.
    async fn on_writer_with<T: Send + 'static>(
        &self,
        commit: Commit,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
        committed: impl FnOnce(&T) + Send + 'static,
    ) -> Result<T> {
        // The sqlx writer's turn is held while the transaction runs, not while its sync does:
        // the next transaction may run meanwhile (see `writer`).
        let answer = {
            let _turn = self.writer.take().await?;
            self.write_path.commit(commit, work, committed).await
        };
        let outcome = match answer {
            Ok(answer) => answer.wait().await,
            Err(error) => Err(error),
        };
        if let Err(error) = &outcome {
            self.writes.failed(error);
        }
        outcome
    }

    async fn store_batch(&self, batch: Arc<[Pending]>) -> Result<Vec<Result<Inserted>>> {
        self.on_writer(
            move |tx| write_path::ingest::insert_events(tx, &batch),
            |_| (),
        )
        .await
    }

    async fn claim_rows(&self, spec: &claim::ClaimSpec<'_>) -> Result<Vec<claim::ClaimedRow>> {
        // The job outlives no borrow: what it needs of `spec` is moved into it.
        let hook_caps = spec.hook_caps.clone();
        let (now, lease_until, limit, rate) = (spec.now, spec.lease_until, spec.limit, spec.rate);
        let owner: Arc<str> = Arc::from(spec.owner);
        let (leases, holder) = (self.leases.clone(), self.leases.clone());
        let (tenants, generation) = (self.tenants.clone(), self.cache.generation());
        // A claim writes only what the next start rebuilds (`forget_claims`: every hook's
        // due time from its pending deliveries) or may lose (a rate window's count): its
        // commit need not wait for the disk, which on this path was a sync between an
        // event's acknowledgement and its delivery.
        self.on_writer_with(
            Commit::Deferred,
            move |tx| {
                let spec = claim::ClaimSpec {
                    owner: &owner,
                    now,
                    lease_until,
                    limit,
                    rate,
                    hook_caps: &hook_caps,
                };
                let claimed =
                    write_path::claim::claim_due(tx, &spec, &leases, &tenants, generation)?;
                Ok((claimed, owner))
            },
            // Held once the claim committed (its writes: due times and rate windows).
            move |(claimed, owner)| {
                let mut held = holder.lock();
                for row in claimed {
                    held.hold(row.id, row.hook_id, owner, lease_until, row.next_attempt_at);
                }
            },
        )
        .await
        .map(|(claimed, _)| claimed)
    }

    /// Records attempts in one transaction, in two hand-offs: the writer logs them, settles
    /// their deliveries and hands back their hooks' health; this task folds the attempts
    /// into it with `rule` (which it may only borrow) and hands back what changed, which
    /// the writer writes before it commits. If this task is dropped meanwhile, the writer
    /// rolls back.
    async fn record(
        &self,
        owner: &str,
        attempts: Vec<Attempt>,
        rule: &dyn HealthRule,
    ) -> Result<()> {
        let attempts = Arc::new(attempts);
        let (healths_tx, healths_rx) = oneshot::channel::<Healths>();
        let (changes_tx, changes_rx) = std::sync::mpsc::channel();
        let owner: Arc<str> = Arc::from(owner);
        let (logged, settled) = (Arc::clone(&attempts), Arc::clone(&attempts));
        let (leases, holder) = (self.leases.clone(), self.leases.clone());
        let (known, learnt) = (Arc::clone(&self.header_sets), Arc::clone(&self.header_sets));
        let released = Arc::clone(&owner);
        let commit = match record_is_durable(&attempts) {
            true => Commit::Durable,
            false => Commit::Deferred,
        };
        let write = self.on_writer_with(
            commit,
            move |tx| {
                let (healths, new_sets) =
                    write_path::record::log_and_settle(tx, &owner, &logged, &leases, &known)?;
                healths_tx
                    .send(healths)
                    .map_err(|_| StoreError::Corrupt("record"))?;
                let changes: Vec<(HookId, HookHealth)> = changes_rx
                    .recv()
                    .map_err(|_| StoreError::Corrupt("record"))?;
                let deliveries = logged.iter().filter_map(|a| a.delivery_id);
                let held = leases.lock().ids_after(deliveries, &owner);
                write_path::record::apply(tx, &changes, held)?;
                Ok(new_sets)
            },
            // The claims recorded are settled in the file: no longer held (a delivery of a
            // hook deleted meanwhile too: it is gone). The header sets added are there to
            // stay.
            move |new_sets| {
                learnt.remember(new_sets.iter().map(|(digest, id)| (digest.clone(), *id)));
                let mut held = holder.lock();
                for delivery in settled.iter().filter_map(|a| a.delivery_id) {
                    if held.held_by(delivery, &released) {
                        held.release(delivery);
                    }
                }
            },
        );
        let fold = async {
            // No health comes back when the writer failed first.
            if let Ok(healths) = healths_rx.await {
                let kept: Vec<&Attempt> = attempts
                    .iter()
                    .filter(|a| healths.contains(a.hook_id))
                    .collect();
                let changes = healths.changes(&kept, rule);
                healths.log(&changes, &kept);
                let _ = changes_tx.send(changes);
            }
        };
        let (outcome, ()) = tokio::join!(write, fold);
        outcome.map(|_| ())
    }
}

impl SqliteStore {
    /// Gives back `owner`'s claims: due at `now`, and no longer held.
    async fn release(&self, owner: &str, now: Millis) -> Result<u64> {
        let owner = owner.to_owned();
        let (leases, holder) = (self.leases.clone(), self.leases.clone());
        let released = self
            .on_writer(
                move |tx| write_path::claim::release(tx, &owner, now, &leases),
                move |theirs| {
                    let mut held = holder.lock();
                    for delivery in theirs {
                        held.release(*delivery);
                    }
                },
            )
            .await?;
        Ok(released.len() as u64)
    }

    fn first_lease_expiry(&self) -> Option<Millis> {
        self.leases.lock().first_expiry()
    }

    /// The deliveries held are pending in the file and in flight in fact.
    fn count_held(&self, counts: &mut DeliveryCounts) {
        let held = self.leases.lock().count();
        counts.pending = counts.pending.saturating_sub(held);
        counts.in_flight += held;
    }

    /// The deliveries claimed now: pending in the file, in flight in fact.
    fn held_claims(&self) -> Vec<DeliveryId> {
        self.leases.lock().ids().into_iter().collect()
    }
}

/// The newest migration's version: the schema a migrated database is at.
fn schema_version() -> i64 {
    MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}
