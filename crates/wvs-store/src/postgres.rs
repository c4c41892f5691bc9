//! The PostgreSQL store: for several WVS nodes sharing one database.
//!
//! # Layout
//!
//! This file opens the pool, applies the migrations under `migrations/postgres/`, runs
//! transactions, says what PostgreSQL says differently (`PgDialect`), and listens for other
//! nodes' work. The SQL lives in the query modules under `src/queries/`, shared with the
//! SQLite store (see the crate docs), but for the claim and the record, PostgreSQL's own
//! (`postgres/claim_statement.rs`, `postgres/record_statement.rs`).
//!
//! # Nodes side by side
//!
//! Unlike SQLite, PostgreSQL runs the nodes' transactions at the same time, so the queries
//! lock what they read to change: a claim locks the hooks it plans for with `FOR NO KEY UPDATE SKIP
//! LOCKED` (another node's claim takes other hooks meanwhile) and leaves alone a hook changed
//! since the snapshot it counted in (`claim_statement`); rate windows and hook health are
//! read locked. The claim and the record are one statement each, one round trip
//! (`claim_statement`, `record_statement`). Every
//! other write that changes hook rows locks them first, in id order, so that writes never
//! wait for each other in a circle; a queue write that the database still aborts to break a
//! deadlock is run again. Every write that
//! makes deliveries claimable has `NOTIFY wvs_work` sent (ingest and record once committed,
//! through `work_notice`; rare writes in their transaction); each node listens and wakes its
//! dispatcher, and still polls in case a notification is lost with a connection.
//!
//! Every write that may change what the read cache remembers (registry, hooks, settings)
//! sends `NOTIFY wvs_changes`; a node's cache is on only while its listener hears that
//! channel, and forgets everything at each notification (see `read_cache`).

#[path = "queries/mod.rs"]
mod queries;
use queries::*;

mod claim_statement;
mod record_statement;
mod work_notice;

use crate::group_commit;
use crate::model::DeliveryId;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use tokio::sync::Notify;

use crate::Result;
use crate::cipher::{Cipher, SecretKey};
use crate::dialect::Dialect;
use crate::group_commit::GroupCommit;
use crate::header_sets::KnownSets;
use crate::read_cache::ReadCache;
use crate::write_health::WriteHealth;

/// What the shared query modules are compiled against.
type Db = PgDialect;
/// The connection the shared query modules run on.
type Conn = <Db as Dialect>::Conn;
/// The store the shared `Store` impl is for.
type Backend = PgStore;

/// The schema migrations under `migrations/postgres/`, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel on which nodes tell each other that deliveries became claimable.
const WORK_CHANNEL: &str = "wvs_work";
/// The channel on which nodes tell each other that what read caches remember changed.
const CHANGE_CHANNEL: &str = "wvs_changes";
/// How long a request waits for a connection before the store reports itself unavailable:
/// short, so that ingest answers 503 at once while the database is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the listener waits before listening again after losing its connection.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);
/// Connections of the relaxed pool: the record loop's and the notifications'.
const RELAXED_CONNECTIONS: u32 = 2;

/// What PostgreSQL says differently: nodes write side by side, so rows are locked and
/// other nodes are told of new work and changes.
pub(crate) struct PgDialect;

impl Dialect for PgDialect {
    type Conn = PgConnection;

    /// `NO KEY UPDATE`: the foreign-key checks of rows inserted meanwhile (attempts of a
    /// hook) do not wait.
    const LOCK: &'static str = " FOR NO KEY UPDATE";
    const KEY_SHARE: &'static str = " FOR KEY SHARE";
    const SKIP_LOCKED: &'static str = " FOR NO KEY UPDATE SKIP LOCKED";
    /// PostgreSQL numbers every parameter.
    const IN_ORDER: Option<&'static str> = None;
    const WRITES_SIDE_BY_SIDE: bool = true;

    fn top_segment(path: &str) -> String {
        format!("split_part({path}, '/', 1)")
    }

    fn id_or_next(table: &str, param: usize) -> String {
        format!("COALESCE(${param}, nextval(pg_get_serial_sequence('{table}', 'id')))")
    }

    /// Moves the table's sequence past the largest id.
    async fn ids_taken(conn: &mut PgConnection, table: &str) -> Result<()> {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST((SELECT max(id) FROM {table}), \
                      (SELECT last_value FROM {table}_id_seq)))"
        ))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Wakes every node's dispatcher when the transaction commits (PostgreSQL folds
    /// repeated notifications of one transaction into one).
    async fn work_added(conn: &mut PgConnection) -> Result<()> {
        notify(conn, WORK_CHANNEL, "").await
    }

    /// Every node forgets what its cache remembers when the transaction commits.
    async fn cached_changed(conn: &mut PgConnection) -> Result<()> {
        notify(conn, CHANGE_CHANNEL, "").await
    }
}

/// Sends a notification on `channel` with `payload` when the transaction commits.
async fn notify<'c>(conn: impl sqlx::PgExecutor<'c>, channel: &str, payload: &str) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// The PostgreSQL [`Store`](crate::Store). Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Connections whose commits do not wait for the disk (`synchronous_commit = off`), for
    /// the writes that a database crash may lose without losing a delivery: a record of
    /// successes lost so leaves its deliveries in flight, sent again once their lease runs out
    /// (at-least-once); a notification is a wake-up. Events, claims and failures (which
    /// count towards auto-disable) are written on `pool`, durably.
    relaxed: PgPool,
    /// Tells this node's dispatchers and the other nodes of work committed.
    work: work_notice::WorkNotice,
    /// Encrypts hook URLs and secrets at rest.
    cipher: Cipher,
    /// On while the listener hears the other nodes' changes.
    cache: Arc<ReadCache>,
    /// Ingested events go through a group commit (`None` in the committing task's own copy,
    /// which writes directly).
    inserts: Option<GroupCommit>,
    /// Whether writes are failing, and why.
    writes: Arc<WriteHealth>,
    /// The header sets this node added or found (see `crate::header_sets`).
    header_sets: Arc<KnownSets>,
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
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let relaxed = PgPoolOptions::new()
            .max_connections(RELAXED_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .connect_with(options.options([("synchronous_commit", "off")]))
            .await?;
        tracing::debug!("postgres store open");
        let mut store = PgStore {
            pool,
            work: work_notice::WorkNotice::start(relaxed.clone(), WORK_CHANNEL),
            relaxed,
            cipher: Cipher::new(key),
            cache: Arc::new(ReadCache::shared()),
            inserts: None,
            writes: Arc::default(),
            header_sets: Arc::default(),
        };
        store.inserts = Some(store::group_commit(store.clone()));
        store.listen();
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
        self.relaxed.close().await;
        self.pool.close().await;
    }

    /// Wakes `wake` whenever a node sharing the database (this one included) makes
    /// deliveries claimable, until the store is closed. Notifications sent while the
    /// listener has lost its connection are lost, which the dispatcher's polling covers.
    fn listen_for_work(&self, wake: Arc<Notify>) {
        // Work may be waiting already.
        wake.notify_one();
        self.work.watch(wake);
    }

    /// Listens to the other nodes until the store is closed, on one connection of its own:
    /// work they made claimable wakes this node's dispatchers, their changes clear this
    /// node's read cache. A lost connection is listened on again; meanwhile the cache is off.
    fn listen(&self) {
        let (pool, cache, work) = (self.pool.clone(), self.cache.clone(), self.work.clone());
        let heard = move |payload: &str| work.heard(payload);
        tokio::spawn(async move {
            while !pool.is_closed() {
                let error = relay_notifications(&pool, &cache, &heard).await;
                cache.hearing(false);
                if !pool.is_closed() {
                    tracing::warn!(%error, "not listening to other nodes; retrying");
                    tokio::time::sleep(RELISTEN_AFTER).await;
                }
            }
        });
    }

    /// Runs `work` in one transaction, committed if it succeeds and rolled back (on drop)
    /// if it fails.
    async fn write<T>(&self, work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>) -> Result<T> {
        let outcome = async {
            let mut tx = self.pool.begin().await?;
            let out = work(&mut tx).await?;
            tx.commit().await?;
            Ok(out)
        }
        .await;
        if let Err(error) = &outcome {
            self.writes.failed(error);
        }
        outcome
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

    // The queue's hot writes: ingest through the query modules, the claim and the record
    // one statement each.

    async fn store_batch(
        &self,
        batch: Arc<[group_commit::Pending]>,
    ) -> Result<Vec<Result<crate::Inserted>>> {
        let answers = store::through_queries::store_batch(self, &batch).await?;
        let added = |answer: &Result<crate::Inserted>| {
            answer
                .as_ref()
                .is_ok_and(|inserted| !inserted.duplicate && inserted.deliveries > 0)
        };
        if answers.iter().any(added) {
            self.work.announce();
        }
        Ok(answers)
    }

    async fn claim_rows(&self, spec: &claim::ClaimSpec<'_>) -> Result<Vec<claim::ClaimedRow>> {
        claim_statement::claim_due(self, spec).await
    }

    async fn record(
        &self,
        owner: &str,
        attempts: Vec<crate::Attempt>,
        rule: &dyn crate::HealthRule,
    ) -> Result<()> {
        record_statement::record(self, owner, &attempts, rule).await
    }

    async fn release(&self, owner: &str, now: crate::Millis) -> Result<u64> {
        store::through_queries::release(self, owner, now).await
    }

    /// Claims are written (leases), not held in memory: nothing to add to what is read.
    fn first_lease_expiry(&self) -> Option<crate::Millis> {
        None
    }

    fn count_held(&self, _counts: &mut crate::DeliveryCounts) {}

    fn held_claims(&self) -> Vec<DeliveryId> {
        Vec::new()
    }
}

/// Listens on [`WORK_CHANNEL`] (calling `heard` with each notification's payload) and on
/// [`CHANGE_CHANNEL`] (clearing `cache`), until the connection fails for good; returns why.
async fn relay_notifications(
    pool: &PgPool,
    cache: &ReadCache,
    heard: &impl Fn(&str),
) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen_all([WORK_CHANNEL, CHANGE_CHANNEL]).await {
        return error;
    }
    cache.hearing(true);
    // Work may have been added while nobody listened.
    heard("");
    loop {
        match listener.recv().await {
            Ok(notification) if notification.channel() == CHANGE_CHANNEL => cache.invalidate(),
            Ok(notification) => heard(notification.payload()),
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
