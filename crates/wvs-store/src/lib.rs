//! WVS storage: the registry (projects, groups, users with their SSH keys and memberships), hooks, events, the delivery queue and the
//! delivery log, behind one [`Store`] trait so that SQLite and PostgreSQL stay
//! interchangeable. The store holds no business rules: it does not know what a push is or
//! which hook wants it; it stores what it is given and answers queries.
//!
//! # Layout
//!
//! - [`model`]: the records the store takes and returns.
//! - `ids`: one id type per table (re-exported by [`model`]), stored and sent as a plain
//!   integer.
//! - `time`: [`Millis`], a point in time (Unix milliseconds), moved only by a `Duration`.
//! - [`sqlite`]: the embedded default (one file, WAL, one writer connection).
//! - [`postgres`]: for several nodes sharing one database.
//! - `write_health`: whether writes are failing and why (the readiness probe, ingest's 503).
//! - `src/queries/`: the SQL, one module per table family, written once for both backends.
//!   Each backend declares `queries/mod.rs` as a module of its own (`#[path]`), so every
//!   query module is compiled against that backend's connection type (`Conn`) and its
//!   `Dialect` (`dialect.rs`: the few things the two say differently: row locks, id
//!   sequences, wake-ups), and the backends run the same statements and cannot drift apart.
//!   The modules are not generic over sqlx's `Database`: that would put a bound on every
//!   query for every type bound and read (`for<'q> &'q str: Encode<'q, DB>` and the like),
//!   and a bound missing for one backend would show up as errors far from its cause; compiled
//!   per backend, each statement is ordinary code against one concrete connection. Since the
//!   modules are declared by ordinary `mod` items, `cargo fmt` formats them.
//! - `migrations/sqlite/`, `migrations/postgres/`: versioned schema migrations of the same
//!   tables, applied at start.
//! - `tests/store.rs`: the behavioural suite, written against the trait so every backend
//!   runs the same checks.
//!
//! # The queue
//!
//! An event's payload is stored once; each hook that wants the event gets a small delivery
//! row pointing at it. Deliveries are claimed in batches with a lease (`lease_owner`,
//! `lease_expires_at`); a claim whose node died expires and is claimed again. On SQLite,
//! whose file one process owns, the lease is held in that process's memory instead of
//! written (`sqlite::leases`): after a crash every delivery not recorded is due again at
//! once. Claims go hook
//! by hook (each hook's `next_due_at`), within each hook's in-flight limit, its ordering, its
//! health (a disabled hook's deliveries are held) and the per-namespace rate limit, so that a
//! hook with a huge or stuck backlog costs the others nothing. Attempts are recorded in
//! batches, one transaction for many deliveries, and each attempt's effect on its hook's
//! health is folded in by the dispatcher's [`HealthRule`] in that same transaction. Times are
//! Unix milliseconds.

// Deliberate: the query modules are compiled once per backend (see Layout above).
#![allow(clippy::duplicate_mod)]

pub mod cipher;
pub mod delivery_view;
mod dialect;
mod group_commit;
mod header_sets;
mod ids;
pub mod model;
pub mod postgres;
mod read_cache;
pub mod sqlite;
#[doc(hidden)]
pub mod testing;
mod time;
mod write_health;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

pub use cipher::{BadKey, SecretKey};
pub use delivery_view::*;
pub use model::*;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row to change or read does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken (e.g. a second project with the same path).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite's write path (its own connection, see `sqlite::writer`) failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A migration failed at start.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data (JSON, a value out of range, a dangling reference) could not be read back.
    #[error("corrupt stored data in {0}")]
    Corrupt(&'static str),
    /// The change would break the registry's shape (a group moved into its own subgroup, a
    /// project without a namespace). A client error: the request cannot be done as asked.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// An idempotency key posted again with another body than the first time.
    #[error("the Idempotency-Key was already used with another body")]
    IdempotencyKeyReused,
}

impl StoreError {
    /// The database aborted the transaction to break a deadlock or a serialization
    /// conflict with another one (PostgreSQL): the same transaction may simply run again.
    pub fn is_lost_race(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("40P01" | "40001")))
    }

    /// The database refused this write's data, not the write itself: a constraint, a value
    /// it cannot hold, a row too large, a missing or duplicate row. The same rows would
    /// fail again however often they are tried, while other writes go through. Every other
    /// failure of a write (a full disk, an I/O error, a lost connection) is the store's own.
    pub fn is_row_error(&self) -> bool {
        match self {
            StoreError::NotFound(_)
            | StoreError::Conflict(_)
            | StoreError::Invalid(_)
            | StoreError::IdempotencyKeyReused
            | StoreError::Corrupt(_) => true,
            StoreError::Migrate(_) => false,
            StoreError::Sqlite(error) => match error {
                rusqlite::Error::SqliteFailure(failure, _) => {
                    is_sqlite_row_code(failure.extended_code)
                }
                rusqlite::Error::ToSqlConversionFailure(_)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::Utf8Error(_)
                | rusqlite::Error::QueryReturnedNoRows => true,
                _ => false,
            },
            StoreError::Database(error) => match error {
                sqlx::Error::Encode(_)
                | sqlx::Error::Decode(_)
                | sqlx::Error::ColumnDecode { .. }
                | sqlx::Error::RowNotFound => true,
                sqlx::Error::Database(db) => {
                    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                        // Data exception, integrity constraint violation, program limit
                        // exceeded (a row or value too large).
                        matches!(pg.code().get(..2), Some("22" | "23" | "54"))
                    } else {
                        db.code()
                            .and_then(|code| code.parse::<i32>().ok())
                            .is_some_and(is_sqlite_row_code)
                    }
                }
                _ => false,
            },
        }
    }

    /// The database could not be reached (refused, closed, timed out waiting for a
    /// connection): the request may succeed later, when it is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(error) => {
                matches!(
                    error,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || matches!(error, sqlx::Error::Database(db)
                // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
                if matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03" | "53300")))
            }
            _ => false,
        }
    }
}

/// Whether SQLite's extended result `code` refuses a write's data: its low byte is the
/// primary code, one of TOOBIG, CONSTRAINT, MISMATCH, RANGE.
fn is_sqlite_row_code(code: i32) -> bool {
    matches!(code & 0xff, 18 | 19 | 20 | 25)
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage boundary. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Wakes `wake` whenever another process sharing the database made deliveries
    /// claimable (PostgreSQL's LISTEN/NOTIFY); nothing where one process owns the database.
    fn watch_for_work(&self, wake: Arc<Notify>);

    // ---- instance settings (key/value) ----

    /// A stored instance setting (e.g. the admin token's hash).
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Sets an instance setting.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    // ---- registry ----

    /// Creates a group; `id` may be given (the forge's own id) or assigned.
    async fn create_group(&self, group: NewGroup, now: Millis) -> Result<Group>;
    async fn group(&self, id: GroupId) -> Result<Option<Group>>;
    async fn group_by_path(&self, full_path: &str) -> Result<Option<Group>>;
    /// Updates a group; its `full_path` and those of its subgroups and projects follow.
    async fn update_group(&self, id: GroupId, update: GroupUpdate, now: Millis) -> Result<Group>;
    /// Deletes a group with its subgroups, projects and every hook among them.
    async fn delete_group(&self, id: GroupId) -> Result<()>;
    async fn list_groups(&self, page: Page) -> Result<Paged<Group>>;
    /// The groups whose full path contains `search` (any case), by id.
    async fn search_groups(&self, search: &str, page: Page) -> Result<Paged<Group>>;
    /// The group and its ancestors, nearest first.
    async fn group_ancestry(&self, id: GroupId) -> Result<Vec<Group>>;

    /// Creates a project; `id` may be given (the forge's own id) or assigned.
    async fn create_project(&self, project: NewProject, now: Millis) -> Result<Project>;
    async fn project(&self, id: ProjectId) -> Result<Option<Project>>;
    async fn project_by_path(&self, path_with_namespace: &str) -> Result<Option<Project>>;
    async fn update_project(
        &self,
        id: ProjectId,
        update: ProjectUpdate,
        now: Millis,
    ) -> Result<Project>;
    /// Deletes a project and its hooks.
    async fn delete_project(&self, id: ProjectId) -> Result<()>;
    async fn list_projects(&self, page: Page) -> Result<Paged<Project>>;
    /// The projects whose full path contains `search` (any case), by id.
    async fn search_projects(&self, search: &str, page: Page) -> Result<Paged<Project>>;

    // ---- users, SSH keys and memberships ----

    /// Creates a user; `id` may be given (the forge's own id) or assigned. A username is
    /// unique.
    async fn create_user(&self, user: NewUser, now: Millis) -> Result<User>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    /// The user with this username (usernames are unique).
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn update_user(&self, id: UserId, update: UserUpdate, now: Millis) -> Result<User>;
    /// Deletes a user with their keys and memberships; returns what was deleted.
    async fn delete_user(&self, id: UserId) -> Result<User>;
    async fn create_ssh_key(&self, user_id: UserId, key: NewSshKey, now: Millis) -> Result<SshKey>;
    /// The keys of one user, by id.
    async fn list_ssh_keys(&self, user_id: UserId) -> Result<Vec<SshKey>>;
    /// Deletes a key of `user_id` (another user's key is not found); returns what was deleted.
    async fn delete_ssh_key(&self, user_id: UserId, key_id: SshKeyId) -> Result<SshKey>;
    /// Adds a user to a project or group (once: a second membership is a conflict).
    async fn add_member(&self, of: MemberOf, member: NewMember, now: Millis) -> Result<Member>;
    async fn update_member(
        &self,
        of: MemberOf,
        user_id: UserId,
        update: MemberUpdate,
        now: Millis,
    ) -> Result<Member>;
    /// Removes a membership; returns what it was.
    async fn remove_member(&self, of: MemberOf, user_id: UserId) -> Result<Member>;
    /// The members of a project or group, by user id.
    async fn list_members(&self, of: MemberOf) -> Result<Vec<Member>>;

    // ---- hooks ----

    async fn create_hook(&self, hook: NewHook, now: Millis) -> Result<Hook>;
    async fn hook(&self, id: HookId) -> Result<Option<Hook>>;
    /// Several hooks at once (for a batch of claimed deliveries); missing ids are skipped.
    async fn hooks_by_ids(&self, ids: &[HookId]) -> Result<Vec<Hook>>;
    /// Replaces a hook's changeable fields.
    async fn update_hook(&self, id: HookId, hook: HookChange, now: Millis) -> Result<Hook>;
    /// Sets a hook's health (an operator re-enabling it); nothing else of the hook changes.
    /// A hook that is executable again sends its held deliveries; a permanently disabled one
    /// holds them.
    async fn set_hook_health(&self, id: HookId, health: HookHealth) -> Result<()>;
    /// Deletes a hook with its pending deliveries and its log.
    async fn delete_hook(&self, id: HookId) -> Result<()>;
    /// The hooks of one owner, by id.
    async fn list_hooks(&self, owner: HookOwner, page: Page) -> Result<Paged<Hook>>;
    /// Every hook that may receive an event of this project: its own, those of the given
    /// groups (its ancestors), and the system hooks, by id. Their settings are current (on
    /// PostgreSQL, as of the last change this node heard of: milliseconds behind another
    /// node's); their health may be as of an earlier call (the store remembers this read
    /// until the registry or a hook changes, not when attempts are recorded): routing does
    /// not look at health.
    async fn candidate_hooks(
        &self,
        project_id: Option<ProjectId>,
        group_ids: &[GroupId],
    ) -> Result<Arc<[Hook]>>;

    // ---- access tokens ----

    /// Stores a project or group access token (by digest).
    async fn create_access_token(&self, token: NewAccessToken, now: Millis) -> Result<AccessToken>;
    /// The token with this digest, if any.
    async fn access_token_by_digest(&self, digest: &str) -> Result<Option<AccessToken>>;
    /// The tokens of one project or group.
    async fn list_access_tokens(&self, owner: HookOwner) -> Result<Vec<AccessToken>>;
    /// Revokes (deletes) a token of `owner`.
    async fn revoke_access_token(&self, owner: HookOwner, id: TokenId) -> Result<()>;
    /// The tokens that expire after `now` and by `horizon` whose expiry notice was not
    /// recorded as sent, soonest first.
    async fn expiring_access_tokens(
        &self,
        now: Millis,
        horizon: Millis,
    ) -> Result<Vec<AccessToken>>;
    /// Records that token `id`'s expiry notice was sent.
    async fn access_token_expiry_notified(&self, id: TokenId, now: Millis) -> Result<()>;

    // ---- events and the delivery queue ----

    /// Stores an event and one delivery per hook in ONE transaction. When the event carries
    /// an idempotency key that was seen before, nothing is written and the first event's
    /// outcome is returned, or [`StoreError::IdempotencyKeyReused`] when the key came with
    /// another body.
    async fn insert_event(
        &self,
        event: NewEvent,
        deliveries: Vec<NewDelivery>,
        now: Millis,
    ) -> Result<Inserted>;
    /// The newest event of `kind` for this project (for hook tests), if any.
    async fn latest_event(
        &self,
        project_id: Option<ProjectId>,
        kind: &str,
    ) -> Result<Option<StoredEvent>>;

    /// Claims up to `limit` deliveries that are due (`next_attempt_at <= now`, pending, or
    /// in flight with an expired lease) for `owner` until `lease_until`, oldest due first,
    /// within every limit: none of a disabled hook; no more in flight per hook (over every
    /// owner) than its `max_in_flight`; for an ordered hook, only its oldest pending delivery
    /// and only when nothing of it is in flight; no more per top-level namespace and window
    /// than `rate` allows (the others stay pending, marked `rate_limited`). A hook listed in
    /// `hook_caps` (the dispatcher's current limit for it) has at most the smaller of that cap
    /// and its `max_in_flight` in flight.
    ///
    /// On SQLite the lease is held in the store's memory, not written: the file has one
    /// process, and after a crash every delivery not recorded is due again.
    async fn claim_due(
        &self,
        owner: &str,
        now: Millis,
        lease_until: Millis,
        limit: u32,
        rate: RateLimit,
        hook_caps: &HashMap<HookId, u32>,
    ) -> Result<Vec<Claimed>>;
    /// Records attempts and their outcome, in one transaction. Only claims still held by
    /// `owner` are changed; the attempt rows are always written, and each attempt's health
    /// effect is folded into its hook's health through `rule`, in order.
    async fn record_attempts(
        &self,
        owner: &str,
        attempts: Vec<Attempt>,
        rule: &dyn HealthRule,
    ) -> Result<()>;
    /// Why the store cannot write now (a full disk, an I/O error, the database out of
    /// reach), or `None` when it can: set when a write transaction fails for a reason of the
    /// store's own, cleared when a write that stores something succeeds (an event, attempts,
    /// [`probe_write`](Store::probe_write)).
    fn write_failure(&self) -> Option<String>;
    /// Writes (and deletes, in the same transaction) a row of some size, to tell whether the
    /// store can take writes again after a failure; success clears
    /// [`write_failure`](Store::write_failure).
    async fn probe_write(&self) -> Result<()>;
    /// The failed deliveries of a hook settled at or after `since` become pending and due
    /// at `now`, each to be sent once more with its own Idempotency-Key (bulk recovery);
    /// returns how many.
    async fn requeue_failed(&self, hook_id: HookId, since: Millis, now: Millis) -> Result<u64>;
    /// Gives back every claim `owner` holds (graceful shutdown): they become due now.
    async fn release_claims(&self, owner: &str, now: Millis) -> Result<u64>;
    /// The earliest time after `after` at which a claim may find new work (a hook falling
    /// due, a lease expiring), for the dispatcher's sleep. Work that waits for a free slot
    /// is not included: a recorded attempt frees it.
    async fn next_due_at(&self, after: Millis) -> Result<Option<Millis>>;
    /// The hooks that events of this chain (same chain uuid) were routed to, for loop
    /// protection.
    async fn chain_hooks(&self, chain_uuid: &str) -> Result<Vec<HookId>>;
    /// Deliveries per state, for tests, health and metrics.
    async fn delivery_counts(&self) -> Result<DeliveryCounts>;
    /// The ids of the hooks disabled at `now`: for good (`permanently`), or for a while
    /// (the ones [`HookAlertCounts::temporarily_disabled`] counts); by id.
    async fn disabled_hook_ids(&self, now: Millis, permanently: bool) -> Result<Vec<HookId>>;
    /// Hooks per alert status at `now`, for metrics.
    async fn hook_alert_counts(&self, now: Millis) -> Result<HookAlertCounts>;
    /// Attempts per minute since `since`, and the `slowest` hooks by mean attempt duration
    /// over that time.
    async fn activity(&self, since: Millis, slowest: u32) -> Result<Activity>;

    // ---- delivery log ----

    /// One hook's attempts, newest first, filtered by response status.
    async fn list_attempts(
        &self,
        hook_id: HookId,
        filter: StatusFilter,
        page: Page,
    ) -> Result<Paged<LoggedAttempt>>;
    /// One attempt of one hook, with the body that was sent.
    async fn attempt(
        &self,
        hook_id: HookId,
        attempt_id: AttemptId,
    ) -> Result<Option<LoggedAttempt>>;
    // ---- the Deliveries pages (read only) ----

    /// The deliveries matching `filter`, in their state at `now`, newest first, each with
    /// its attempts.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        now: Millis,
        page: Page,
    ) -> Result<Paged<DeliveryRecord>>;
    /// The state at `now` of each delivery among `ids` that exists, by id.
    async fn delivery_states(
        &self,
        ids: &[DeliveryId],
        now: Millis,
    ) -> Result<Vec<(DeliveryId, DeliveryState)>>;

    /// Writes one attempt made outside the queue (test, resend, a stopped loop), and folds its
    /// health effect into the hook's health through `rule`.
    async fn log_attempt(&self, attempt: Attempt, rule: &dyn HealthRule) -> Result<AttemptId>;

    // ---- retention ----

    /// Deletes up to `limit` delivery-log rows created before `cutoff`, oldest first, in one
    /// short transaction; returns how many. Nodes sharing a database delete different rows.
    async fn prune_log(&self, cutoff: Millis, limit: u32) -> Result<u64>;
    /// Looks at up to `limit` events created before `cutoff` (oldest first, after `after`)
    /// and deletes, in one short transaction, those whose deliveries all settled before
    /// `cutoff`, with their payload, deliveries and idempotency key. Pending (retrying,
    /// held) and in-flight deliveries keep their event however old.
    async fn prune_events(
        &self,
        cutoff: Millis,
        after: Option<PruneCursor>,
        limit: u32,
    ) -> Result<PrunedEvents>;
    /// Whether the delivery-log row `attempt_id`, not found, was deleted by retention.
    async fn attempt_pruned(&self, attempt_id: AttemptId) -> Result<bool>;
}
