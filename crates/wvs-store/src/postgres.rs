//! The PostgreSQL store: for several WVS nodes sharing one database.
//!
//! # Layout
//!
//! This file opens the pool, applies the migrations under `migrations/postgres/`, runs
//! transactions, says what PostgreSQL says differently (`dialect`), and listens for other
//! nodes' work. The SQL lives in the query modules under `src/queries/`, shared with the
//! SQLite store (see the crate docs).
//!
//! # Nodes side by side
//!
//! Unlike SQLite, PostgreSQL runs the nodes' transactions at the same time, so the queries
//! lock what they read to change: a claim locks the hooks it plans for with `FOR NO KEY UPDATE SKIP
//! LOCKED` (another node's claim takes other hooks meanwhile) and counts their deliveries in
//! flight only once it holds them; rate windows and hook health are read locked. Every
//! other write that changes hook rows locks them first, in id order, so that writes never
//! wait for each other in a circle; a queue write that the database still aborts to break a
//! deadlock is run again. Every write that
//! makes deliveries claimable sends `NOTIFY wvs_work`; each node listens and wakes its
//! dispatcher, and still polls in case a notification is lost with a connection.

query_modules!();

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use tokio::sync::Notify;

use crate::Result;
use crate::cipher::{Cipher, SecretKey};
use crate::group_commit::GroupCommit;
use crate::read_cache::ReadCache;

/// The connection the shared query modules run on.
type Conn = PgConnection;
/// The store the shared `Store` impl is for.
type Backend = PgStore;

/// The schema migrations under `migrations/postgres/`, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel on which nodes tell each other that deliveries became claimable.
const WORK_CHANNEL: &str = "wvs_work";
/// How long a request waits for a connection before the store reports itself unavailable:
/// short, so that ingest answers 503 at once while the database is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the listener waits before listening again after losing its connection.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// What PostgreSQL says differently.
mod dialect {
    use super::{Conn, WORK_CHANNEL};
    use crate::Result;

    /// Appended to a SELECT whose rows the transaction goes on to change. `NO KEY UPDATE`:
    /// the foreign-key checks of rows inserted meanwhile (attempts of a hook) do not wait.
    pub const LOCK: &str = " FOR NO KEY UPDATE";
    /// PostgreSQL numbers every parameter (see `sql::rows_in_order`).
    pub const IN_ORDER: Option<&str> = None;
    /// Whether claims of several nodes run at the same time. Nodes claim at the same time: counts read before locking may be stale.
    pub const CLAIMS_SIDE_BY_SIDE: bool = true;
    /// Appended to a SELECT of rows to work on that another transaction may hold.
    pub const SKIP_LOCKED: &str = " FOR NO KEY UPDATE SKIP LOCKED";

    /// The value of a new row's id: parameter `$param`, or (NULL) the table's next one.
    pub fn id_or_next(table: &str, param: usize) -> String {
        format!("COALESCE(${param}, nextval(pg_get_serial_sequence('{table}', 'id')))")
    }

    /// After a row was inserted with a given id (the forge's): moves the table's sequence
    /// past the largest id, so that an id assigned later does not collide with it.
    pub async fn ids_taken(conn: &mut Conn, table: &str) -> Result<()> {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST((SELECT max(id) FROM {table}), \
                      (SELECT last_value FROM {table}_id_seq)))"
        ))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deliveries became claimable: wakes every node's dispatcher when the transaction
    /// commits (PostgreSQL folds repeated notifications of one transaction into one).
    pub async fn work_added(conn: &mut Conn) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WORK_CHANNEL)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// The PostgreSQL [`Store`](crate::Store). Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Encrypts hook URLs and secrets at rest.
    cipher: Cipher,
    /// Off: other nodes write to the database too.
    cache: Arc<ReadCache>,
    /// Ingested events go through a group commit (`None` in the committing task's own copy,
    /// which writes directly).
    inserts: Option<GroupCommit>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) with a pool of at
    /// most `connections`, and applies the migrations; `key` encrypts hook URLs and secrets
    /// at rest. Several nodes may start at once: the migrator takes a lock.
    pub async fn open(url: &str, key: &SecretKey, connections: u32) -> Result<PgStore> {
        let options = PgConnectOptions::from_str(url)?.application_name("wvs");
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(2))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection broken while the database restarted is found out before use.
            .test_before_acquire(true)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        tracing::debug!("postgres store open");
        let mut store = PgStore {
            pool,
            cipher: Cipher::new(key),
            cache: Arc::new(ReadCache::off()),
            inserts: None,
        };
        store.inserts = Some(store::group_commit(store.clone()));
        Ok(store)
    }

    /// Applies the migrations to the database at `url` without serving (`wvs migrate`);
    /// returns the schema version it is at.
    pub async fn migrate(url: &str) -> Result<i64> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(PgConnectOptions::from_str(url)?.application_name("wvs migrate"))
            .await?;
        MIGRATOR.run(&pool).await?;
        pool.close().await;
        Ok(schema_version())
    }

    /// Closes every connection (after which the store is unusable).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Wakes `wake` whenever a node sharing the database (this one included) makes
    /// deliveries claimable, until the store is closed. A lost connection is listened on
    /// again; notifications sent meanwhile are lost, which the dispatcher's polling covers.
    fn listen_for_work(&self, wake: Arc<Notify>) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            while !pool.is_closed() {
                let error = relay_notifications(&pool, &wake).await;
                if !pool.is_closed() {
                    tracing::warn!(%error, "not listening for other nodes' work; retrying");
                    tokio::time::sleep(RELISTEN_AFTER).await;
                }
            }
        });
    }

    /// Runs `work` in one transaction, committed if it succeeds and rolled back (on drop)
    /// if it fails.
    async fn write<T>(&self, work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>) -> Result<T> {
        let mut tx = self.pool.begin().await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs `work` in one read-only transaction on one snapshot (a page and its total).
    async fn read<T>(&self, work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>) -> Result<T> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs a read of one statement (no transaction needed).
    async fn read_one<T>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.pool.acquire().await?;
        work(&mut conn).await
    }
}

/// Listens on [`WORK_CHANNEL`] and wakes `wake` at each notification, until the connection
/// fails for good; returns why.
async fn relay_notifications(pool: &PgPool, wake: &Notify) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(WORK_CHANNEL).await {
        return error;
    }
    // Work may have been added while nobody listened.
    wake.notify_one();
    loop {
        match listener.recv().await {
            Ok(_) => wake.notify_one(),
            Err(error) => return error,
        }
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
