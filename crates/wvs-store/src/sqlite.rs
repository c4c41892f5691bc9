//! The SQLite store: one file, WAL, nothing to install.
//!
//! # Layout
//!
//! - this file: opening the database (pragmas, pools, migrations) and the [`Store`] impl,
//!   which only opens the right kind of transaction and calls one of the modules below.
//! - `settings`, `groups`, `projects`, `hooks`: one module per table.
//! - `secrets`: the one place hook secrets are turned into a stored value and back.
//! - `queue`: events and the delivery queue (insert, settle, release).
//! - `claim`: claiming due deliveries hook by hook, within each hook's limits; `rate`: the
//!   per-namespace rate limit it applies; `health`: auto-disable state folded in as
//!   attempts are recorded.
//! - `log`: the delivery log (attempt rows).
//! - `tokens`: project and group access tokens, by digest.
//! - `sql`: helpers shared by the modules (placeholders, error mapping, JSON columns).
//!
//! # Connections
//!
//! SQLite allows one writer at a time. Writes go through a pool of exactly one connection, so
//! they queue in the pool (cheaply, in memory) instead of fighting over the file lock, and
//! every write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front,
//! so a transaction that reads and then writes never fails half-way with "database is
//! locked" (another process on the same file waits up to `busy_timeout` instead). Reads use a
//! separate small pool of read-only connections; in WAL mode they see the last committed
//! state and never block the writer.

mod claim;
mod groups;
mod health;
mod hooks;
mod log;
mod projects;
mod queue;
mod rate;
mod secrets;
mod settings;
mod sql;
mod tokens;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::cipher::{Cipher, SecretKey};
use crate::model::*;
use crate::{Result, Store};

/// The schema migrations under `migrations/sqlite/`, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for a lock held by another process before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections: enough for the API and the dispatcher to read side by side.
const READERS: u32 = 4;

/// The SQLite [`Store`]. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: SQLite has one writer.
    writer: SqlitePool,
    /// Read-only connections (the writer itself for an in-memory database).
    reader: SqlitePool,
    /// Encrypts hook URLs and secrets at rest.
    cipher: Cipher,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file at `path` and applies the migrations;
    /// `key` encrypts hook URLs and secrets at rest.
    pub async fn open(path: &Path, key: &SecretKey) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new().filename(path);
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // An in-memory database lives as long as its connection: never drop it.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options)
            .await?;
        MIGRATOR.run(&writer).await?;
        // One shared-cache in-memory database would make readers and the writer lock each
        // other at table level (SQLITE_LOCKED, which busy_timeout does not wait on): there,
        // the one connection serves everything.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options.read_only(true))
                .await?
        };
        tracing::debug!("sqlite store open");
        Ok(SqliteStore {
            writer,
            reader,
            cipher: Cipher::new(key),
        })
    }

    /// Closes every connection (after which the store is unusable). Closing checkpoints the
    /// WAL into the main file; dropping the store without it is safe too, only slower to
    /// reopen.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE`), committed if it succeeds
    /// and rolled back (on drop) if it fails.
    async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs `work` in one read transaction: several statements see the same snapshot (a
    /// page and its total, for instance).
    async fn read<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.reader.begin().await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs a read of one statement on a read connection (no transaction needed).
    async fn read_one<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.reader.acquire().await?;
        work(&mut conn).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.read_one(async |c| settings::get(c, key).await).await
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.write(async |c| settings::set(c, key, value).await)
            .await
    }

    async fn create_group(&self, group: NewGroup, now: Millis) -> Result<Group> {
        self.write(async |c| groups::create(c, group, now).await)
            .await
    }

    async fn group(&self, id: Id) -> Result<Option<Group>> {
        self.read_one(async |c| groups::get(c, id).await).await
    }

    async fn group_by_path(&self, full_path: &str) -> Result<Option<Group>> {
        self.read_one(async |c| groups::by_path(c, full_path).await)
            .await
    }

    async fn update_group(&self, id: Id, update: GroupUpdate, now: Millis) -> Result<Group> {
        self.write(async |c| groups::update(c, id, update, now).await)
            .await
    }

    async fn delete_group(&self, id: Id) -> Result<()> {
        self.write(async |c| groups::delete(c, id).await).await
    }

    async fn list_groups(&self, page: Page) -> Result<Paged<Group>> {
        self.read(async |c| groups::list(c, page).await).await
    }

    async fn group_ancestry(&self, id: Id) -> Result<Vec<Group>> {
        self.read_one(async |c| groups::ancestry(c, id).await).await
    }

    async fn create_project(&self, project: NewProject, now: Millis) -> Result<Project> {
        self.write(async |c| projects::create(c, project, now).await)
            .await
    }

    async fn project(&self, id: Id) -> Result<Option<Project>> {
        self.read_one(async |c| projects::get(c, id).await).await
    }

    async fn project_by_path(&self, path_with_namespace: &str) -> Result<Option<Project>> {
        self.read_one(async |c| projects::by_path(c, path_with_namespace).await)
            .await
    }

    async fn update_project(&self, id: Id, update: ProjectUpdate, now: Millis) -> Result<Project> {
        self.write(async |c| projects::update(c, id, update, now).await)
            .await
    }

    async fn delete_project(&self, id: Id) -> Result<()> {
        self.write(async |c| projects::delete(c, id).await).await
    }

    async fn list_projects(&self, page: Page) -> Result<Paged<Project>> {
        self.read(async |c| projects::list(c, page).await).await
    }

    async fn create_hook(&self, hook: NewHook, now: Millis) -> Result<Hook> {
        self.write(async |c| hooks::create(c, &self.cipher, hook, now).await)
            .await
    }

    async fn hook(&self, id: Id) -> Result<Option<Hook>> {
        self.read_one(async |c| hooks::get(c, &self.cipher, id).await)
            .await
    }

    async fn hooks_by_ids(&self, ids: &[Id]) -> Result<Vec<Hook>> {
        self.read(async |c| hooks::by_ids(c, &self.cipher, ids).await)
            .await
    }

    async fn update_hook(&self, id: Id, hook: HookChange, now: Millis) -> Result<Hook> {
        self.write(async |c| hooks::update(c, &self.cipher, id, hook, now).await)
            .await
    }

    async fn set_hook_health(&self, id: Id, health: HookHealth) -> Result<()> {
        self.write(async |c| hooks::set_health(c, id, &health).await)
            .await
    }

    async fn delete_hook(&self, id: Id) -> Result<()> {
        self.write(async |c| hooks::delete(c, id).await).await
    }

    async fn list_hooks(&self, owner: HookOwner, page: Page) -> Result<Paged<Hook>> {
        self.read(async |c| hooks::list(c, &self.cipher, owner, page).await)
            .await
    }

    async fn candidate_hooks(&self, project_id: Option<Id>, group_ids: &[Id]) -> Result<Vec<Hook>> {
        self.read(async |c| hooks::candidates(c, &self.cipher, project_id, group_ids).await)
            .await
    }

    async fn create_access_token(&self, token: NewAccessToken, now: Millis) -> Result<AccessToken> {
        self.write(async |c| tokens::create(c, token, now).await)
            .await
    }

    async fn access_token_by_digest(&self, digest: &str) -> Result<Option<AccessToken>> {
        self.read_one(async |c| tokens::by_digest(c, digest).await)
            .await
    }

    async fn list_access_tokens(&self, owner: HookOwner) -> Result<Vec<AccessToken>> {
        self.read_one(async |c| tokens::list(c, owner).await).await
    }

    async fn revoke_access_token(&self, owner: HookOwner, id: Id) -> Result<()> {
        self.write(async |c| tokens::revoke(c, owner, id).await)
            .await
    }

    async fn insert_event(
        &self,
        event: NewEvent,
        deliveries: Vec<NewDelivery>,
        now: Millis,
    ) -> Result<Inserted> {
        self.write(async |c| queue::insert_event(c, event, &deliveries, now).await)
            .await
    }

    async fn latest_event(
        &self,
        project_id: Option<Id>,
        kind: &str,
    ) -> Result<Option<StoredEvent>> {
        self.read_one(async |c| queue::latest_event(c, project_id, kind).await)
            .await
    }

    async fn claim_due(
        &self,
        owner: &str,
        now: Millis,
        lease_until: Millis,
        limit: u32,
        rate: RateLimit,
    ) -> Result<Vec<Claimed>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let spec = claim::ClaimSpec {
            owner,
            now,
            lease_until,
            limit,
            rate,
        };
        self.write(async |c| claim::claim_due(c, &spec).await).await
    }

    async fn record_attempts(
        &self,
        owner: &str,
        attempts: Vec<Attempt>,
        rule: &dyn HealthRule,
    ) -> Result<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        self.write(async |c| {
            // A hook deleted while its delivery was in flight took its log and deliveries
            // with it; its attempts have nowhere to go. Dropping them here (instead of failing
            // on the foreign key) keeps one vanished hook from blocking the whole batch.
            let live = hooks::existing(c, attempts.iter().map(|a| a.hook_id)).await?;
            let attempts: Vec<&Attempt> = attempts
                .iter()
                .filter(|a| live.contains(&a.hook_id))
                .collect();
            log::insert(c, &attempts).await?;
            queue::settle(c, owner, &attempts).await?;
            health::apply(c, &attempts, rule).await
        })
        .await
    }

    async fn release_claims(&self, owner: &str, now: Millis) -> Result<u64> {
        self.write(async |c| queue::release_claims(c, owner, now).await)
            .await
    }

    async fn next_due_at(&self, after: Millis) -> Result<Option<Millis>> {
        self.read_one(async |c| queue::next_due_at(c, after).await)
            .await
    }

    async fn chain_hooks(&self, chain_uuid: &str) -> Result<Vec<Id>> {
        self.read_one(async |c| queue::chain_hooks(c, chain_uuid).await)
            .await
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts> {
        self.read_one(async |c| queue::counts(c).await).await
    }

    async fn list_attempts(
        &self,
        hook_id: Id,
        filter: StatusFilter,
        page: Page,
    ) -> Result<Paged<LoggedAttempt>> {
        self.read(async |c| log::list(c, hook_id, filter, page).await)
            .await
    }

    async fn attempt(&self, hook_id: Id, attempt_id: Id) -> Result<Option<LoggedAttempt>> {
        self.read_one(async |c| log::get(c, hook_id, attempt_id).await)
            .await
    }

    async fn log_attempt(&self, attempt: Attempt, rule: &dyn HealthRule) -> Result<Id> {
        self.write(async |c| {
            let id = log::insert_one(c, &attempt).await?;
            health::apply(c, &[&attempt], rule).await?;
            Ok(id)
        })
        .await
    }
}
