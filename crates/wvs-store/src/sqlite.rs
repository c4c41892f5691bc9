//! The SQLite store: one file, WAL, nothing to install.
//!
//! # Layout
//!
//! This file opens the database (pragmas, pools, migrations), runs transactions, and says
//! what SQLite says differently (`dialect`). The SQL itself lives in the query modules under
//! `src/queries/`, shared with the PostgreSQL store (see the crate docs).
//!
//! # Connections
//!
//! SQLite allows one writer at a time. Writes go through exactly one connection, so they
//! queue for it (cheaply, in memory) instead of fighting over the file lock, and
//! every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front,
//! so a transaction that reads and then writes never fails half-way with "database is
//! locked" (another process on the same file waits up to `busy_timeout` instead). Reads use a
//! few separate read-only connections; in WAL mode they see the last committed state and
//! never block the writer. Connections are held open, not pooled (see `connections`).

// The query modules are shared with the PostgreSQL store: each is compiled once per backend,
// against this module's `Conn` and `dialect` (see `queries/` and lib.rs).
query_modules!();

mod connections;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

use tokio::sync::Notify;

use crate::Result;
use crate::cipher::{Cipher, SecretKey};
use crate::group_commit::GroupCommit;
use crate::read_cache::ReadCache;
use crate::write_health::WriteHealth;
use connections::Connections;

/// The connection the shared query modules run on.
type Conn = SqliteConnection;
/// The store the shared `Store` impl is for.
type Backend = SqliteStore;

/// What SQLite says differently. One writer at a time: nothing needs locking or waking.
mod dialect {
    use super::Conn;
    use crate::Result;

    /// Appended to a SELECT whose rows the transaction goes on to change.
    pub const LOCK: &str = "";
    /// Appended to a SELECT of rows that must not be deleted before the transaction ends.
    pub const KEY_SHARE: &str = "";
    /// Whether write transactions (of several nodes) run at the same time. One writer at a
    /// time: what a transaction read cannot change under it.
    pub const WRITES_SIDE_BY_SIDE: bool = false;
    /// Appended to a SELECT of rows to work on that another transaction may hold.
    pub const SKIP_LOCKED: &str = "";
    /// The parameter of a statement whose parameters are bound once each, in the order they
    /// appear: SQLite looks a numbered one (`$7`) up by walking the statement's list of
    /// names, so binding the hundreds of a multi-row INSERT by number costs their square.
    pub const IN_ORDER: Option<&str> = Some("?");

    /// The top-level namespace of the path `path` (an SQL expression): its first segment.
    pub fn top_segment(path: &str) -> String {
        format!("substr({path}, 1, instr({path} || '/', '/') - 1)")
    }

    /// The value of a new row's id: parameter `$param`, or (NULL) the next free one.
    pub fn id_or_next(_table: &str, param: usize) -> String {
        format!("${param}")
    }

    /// After a row was inserted with a given id: SQLite assigns the next one from the
    /// largest id in the table anyway.
    pub async fn ids_taken(_conn: &mut Conn, _table: &str) -> Result<()> {
        Ok(())
    }

    /// Deliveries became claimable: the dispatcher in this process is woken by its caller.
    pub async fn work_added(_conn: &mut Conn) -> Result<()> {
        Ok(())
    }

    /// What the read cache remembers changed: this store, the file's only writer, clears it.
    pub async fn cached_changed(_conn: &mut Conn) -> Result<()> {
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
    /// Exactly one connection: SQLite has one writer.
    writer: Arc<Connections>,
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
    /// The writer can be replaced after a failed transaction (not for an in-memory
    /// database: it lives in its one connection).
    reopen_writer: bool,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file at `path` and applies the migrations;
    /// `key` encrypts hook URLs and secrets at rest.
    pub async fn open(path: &Path, key: &SecretKey) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new().filename(path);
        SqliteStore::connect(options, false, key).await
    }

    /// Opens the file database `options` name, with their settings (a `max_page_count`
    /// pragma, say), and applies the migrations.
    pub async fn open_with(options: SqliteConnectOptions, key: &SecretKey) -> Result<SqliteStore> {
        SqliteStore::connect(options, false, key).await
    }

    /// Opens a database by URL (`sqlite://wvs.db`, `sqlite:data/wvs.db?mode=rwc`, or
    /// `sqlite::memory:` for tests), creating the file if needed, and applies the migrations.
    pub async fn open_url(url: &str, key: &SecretKey) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?;
        // sqlx keeps whether a database is in memory to itself; the URL says it.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        SqliteStore::connect(options, in_memory, key).await
    }

    async fn connect(
        options: SqliteConnectOptions,
        in_memory: bool,
        key: &SecretKey,
    ) -> Result<SqliteStore> {
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
        MIGRATOR.run(&mut *writer.take().await?).await?;
        // One shared-cache in-memory database would make readers and the writer lock each
        // other at table level (SQLITE_LOCKED, which busy_timeout does not wait on): there,
        // the one connection serves everything.
        let reader = if in_memory {
            writer.clone()
        } else {
            Arc::new(Connections::open(&options.read_only(true), READERS).await?)
        };
        tracing::debug!("sqlite store open");
        let mut store = SqliteStore {
            writer,
            reader,
            cipher: Cipher::new(key),
            cache: Arc::new(ReadCache::only_writer()),
            inserts: None,
            writes: Arc::default(),
            reopen_writer: !in_memory,
        };
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

    /// Closes every connection (after which the store is unusable). Closing checkpoints the
    /// WAL into the main file; dropping the store without it is safe too, only slower to
    /// reopen.
    pub async fn close(&self) {
        self.reader.close().await;
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
            if self.reopen_writer
                && !error.is_row_error()
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

/// The newest migration's version: the schema a migrated database is at.
fn schema_version() -> i64 {
    MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}
