//! The [`Store`] implementation, shared by the backends: each method opens the right kind of
//! transaction (`write`, `read`, `read_one` of the backend, or `change`: a write the read
//! cache must hear of) and calls one query module; the reads every ingested event makes go
//! through the backend's [`ReadCache`](crate::read_cache::ReadCache).
//! The queue's writes, which nodes sharing a PostgreSQL database run side by side, are
//! retried when the database aborts one of them to break a deadlock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{
    Backend, Conn, Db, claim, groups, health, hooks, keys, log, members, projects, queue,
    retention, settings, tokens, users, views,
};
use crate::delivery_view::{DeliveryFilter, DeliveryRecord, DeliveryState};
use crate::dialect::Dialect;
use crate::group_commit::{GroupCommit, Pending};
use crate::model::*;
use crate::model::{AttemptId, DeliveryId, GroupId, HookId, ProjectId, SshKeyId, TokenId, UserId};
use crate::{Result, Store, StoreError};

/// Stores one group-commit batch in one write transaction of the store (the backend's
/// `store_batch`); each event's own outcome, in order.
async fn insert_batch(store: &Backend, batch: Arc<[Pending]>) -> Result<Vec<Result<Inserted>>> {
    let outcome = store.store_batch(batch).await;
    store.writes.note(&outcome);
    outcome
}

/// The queue's hot writes run through the query modules, each in one write
/// transaction of the store, retried when the database aborted it to break a deadlock.
/// PostgreSQL's; SQLite runs them on its writer thread instead (`sqlite::write_path`).
pub mod through_queries {
    use super::*;

    pub async fn store_batch(store: &Backend, batch: &[Pending]) -> Result<Vec<Result<Inserted>>> {
        retrying(|| store.write(async |c| queue::insert_events(c, batch).await)).await
    }

    pub async fn release(store: &Backend, owner: &str, now: Millis) -> Result<u64> {
        retrying(|| store.write(async |c| queue::release_claims(c, owner, now).await)).await
    }
}

/// Starts the group commit of `store`'s inserts, on a store sharing its connections.
pub fn group_commit(store: Backend) -> GroupCommit {
    GroupCommit::start(move |batch| {
        let store = store.clone();
        async move { insert_batch(&store, batch).await }
    })
}

/// Times a write is tried again after the database aborted it to break a deadlock.
const DEADLOCK_RETRIES: u32 = 5;

/// Runs `write` until it does not fail with a deadlock (or serialization) abort, at most
/// [`DEADLOCK_RETRIES`] more times. SQLite runs one write at a time and never aborts so.
pub async fn retrying<T, F: Future<Output = Result<T>>>(mut write: impl FnMut() -> F) -> Result<T> {
    let mut retries = 0;
    loop {
        match write().await {
            Err(error) if error.is_lost_race() && retries < DEADLOCK_RETRIES => retries += 1,
            outcome => return outcome,
        }
    }
}

impl Backend {
    /// A write that may change what the read cache remembers (the registry, hooks,
    /// settings): the cache forgets everything once it committed (or failed). The delivery
    /// queue's writes use `write` directly: they change none of it.
    async fn change<T>(&self, work: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let outcome = self
            .write(async |c| {
                let out = work(c).await?;
                // Other nodes' caches forget it too.
                Db::cached_changed(c).await?;
                Ok(out)
            })
            .await;
        self.cache.invalidate();
        outcome
    }
}

#[async_trait]
impl Store for Backend {
    fn watch_for_work(&self, wake: Arc<Notify>) {
        self.listen_for_work(wake);
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let read = self.read_one(async |c| settings::get(c, key).await);
        self.cache.setting(key, read).await
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.change(async |c| settings::set(c, key, value).await)
            .await
    }

    async fn create_group(&self, group: NewGroup, now: Millis) -> Result<Group> {
        self.change(async |c| groups::create(c, group, now).await)
            .await
    }

    async fn group(&self, id: GroupId) -> Result<Option<Group>> {
        self.read_one(async |c| groups::get(c, id).await).await
    }

    async fn group_by_path(&self, full_path: &str) -> Result<Option<Group>> {
        self.read_one(async |c| groups::by_path(c, full_path).await)
            .await
    }

    async fn update_group(&self, id: GroupId, update: GroupUpdate, now: Millis) -> Result<Group> {
        self.change(async |c| groups::update(c, id, update, now).await)
            .await
    }

    async fn delete_group(&self, id: GroupId) -> Result<()> {
        self.change(async |c| groups::delete(c, id).await).await
    }

    async fn list_groups(&self, page: Page) -> Result<Paged<Group>> {
        self.read(async |c| groups::list(c, "", page).await).await
    }

    async fn search_groups(&self, search: &str, page: Page) -> Result<Paged<Group>> {
        self.read(async |c| groups::list(c, search, page).await)
            .await
    }

    async fn group_ancestry(&self, id: GroupId) -> Result<Vec<Group>> {
        let read = self.read_one(async |c| groups::ancestry(c, id).await);
        self.cache.ancestry(id, read).await
    }

    async fn create_project(&self, project: NewProject, now: Millis) -> Result<Project> {
        self.change(async |c| projects::create(c, project, now).await)
            .await
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>> {
        let read = self.read_one(async |c| projects::get(c, id).await);
        self.cache.project(id, read).await
    }

    async fn project_by_path(&self, path_with_namespace: &str) -> Result<Option<Project>> {
        self.read_one(async |c| projects::by_path(c, path_with_namespace).await)
            .await
    }

    async fn update_project(
        &self,
        id: ProjectId,
        update: ProjectUpdate,
        now: Millis,
    ) -> Result<Project> {
        self.change(async |c| projects::update(c, id, update, now).await)
            .await
    }

    async fn delete_project(&self, id: ProjectId) -> Result<()> {
        self.change(async |c| projects::delete(c, id).await).await
    }

    async fn list_projects(&self, page: Page) -> Result<Paged<Project>> {
        self.read(async |c| projects::list(c, "", page).await).await
    }

    async fn search_projects(&self, search: &str, page: Page) -> Result<Paged<Project>> {
        self.read(async |c| projects::list(c, search, page).await)
            .await
    }

    async fn create_user(&self, user: NewUser, now: Millis) -> Result<User> {
        self.change(async |c| users::create(c, user, now).await)
            .await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.read_one(async |c| users::get(c, id).await).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        self.read_one(async |c| users::by_username(c, username).await)
            .await
    }

    async fn update_user(&self, id: UserId, update: UserUpdate, now: Millis) -> Result<User> {
        self.change(async |c| users::update(c, id, update, now).await)
            .await
    }

    async fn delete_user(&self, id: UserId) -> Result<User> {
        self.change(async |c| users::delete(c, id).await).await
    }

    async fn create_ssh_key(&self, user_id: UserId, key: NewSshKey, now: Millis) -> Result<SshKey> {
        self.change(async |c| keys::create(c, user_id, key, now).await)
            .await
    }

    async fn list_ssh_keys(&self, user_id: UserId) -> Result<Vec<SshKey>> {
        self.read(async |c| keys::list(c, user_id).await).await
    }

    async fn delete_ssh_key(&self, user_id: UserId, key_id: SshKeyId) -> Result<SshKey> {
        self.change(async |c| keys::delete(c, user_id, key_id).await)
            .await
    }

    async fn add_member(&self, of: MemberOf, member: NewMember, now: Millis) -> Result<Member> {
        self.change(async |c| members::add(c, of, member, now).await)
            .await
    }

    async fn update_member(
        &self,
        of: MemberOf,
        user_id: UserId,
        update: MemberUpdate,
        now: Millis,
    ) -> Result<Member> {
        self.change(async |c| members::update(c, of, user_id, update, now).await)
            .await
    }

    async fn remove_member(&self, of: MemberOf, user_id: UserId) -> Result<Member> {
        self.change(async |c| members::remove(c, of, user_id).await)
            .await
    }

    async fn list_members(&self, of: MemberOf) -> Result<Vec<Member>> {
        self.read(async |c| members::list(c, of).await).await
    }

    async fn create_hook(&self, hook: NewHook, now: Millis) -> Result<Hook> {
        self.change(async |c| hooks::create(c, &self.cipher, hook, now).await)
            .await
    }

    async fn hook(&self, id: HookId) -> Result<Option<Hook>> {
        self.read_one(async |c| hooks::get(c, &self.cipher, id).await)
            .await
    }

    async fn hooks_by_ids(&self, ids: &[HookId]) -> Result<Vec<Hook>> {
        self.read(async |c| hooks::by_ids(c, &self.cipher, ids).await)
            .await
    }

    async fn update_hook(&self, id: HookId, hook: HookChange, now: Millis) -> Result<Hook> {
        self.change(async |c| hooks::update(c, &self.cipher, id, hook, now).await)
            .await
    }

    async fn set_hook_health(&self, id: HookId, health: HookHealth) -> Result<()> {
        retrying(|| self.change(async |c| hooks::set_health(c, id, &health).await)).await
    }

    async fn delete_hook(&self, id: HookId) -> Result<()> {
        self.change(async |c| hooks::delete(c, id).await).await
    }

    async fn list_hooks(&self, owner: HookOwner, page: Page) -> Result<Paged<Hook>> {
        self.read(async |c| hooks::list(c, &self.cipher, owner, page).await)
            .await
    }

    async fn candidate_hooks(
        &self,
        project_id: Option<ProjectId>,
        group_ids: &[GroupId],
    ) -> Result<Arc<[Hook]>> {
        let read = self
            .read_one(async |c| hooks::candidates(c, &self.cipher, project_id, group_ids).await);
        self.cache.candidates(project_id, group_ids, read).await
    }

    async fn create_access_token(&self, token: NewAccessToken, now: Millis) -> Result<AccessToken> {
        self.change(async |c| tokens::create(c, token, now).await)
            .await
    }

    async fn access_token_by_digest(&self, digest: &str) -> Result<Option<AccessToken>> {
        self.read_one(async |c| tokens::by_digest(c, digest).await)
            .await
    }

    async fn list_access_tokens(&self, owner: HookOwner) -> Result<Vec<AccessToken>> {
        self.read_one(async |c| tokens::list(c, owner).await).await
    }

    async fn revoke_access_token(&self, owner: HookOwner, id: TokenId) -> Result<()> {
        self.change(async |c| tokens::revoke(c, owner, id).await)
            .await
    }

    async fn expiring_access_tokens(
        &self,
        now: Millis,
        horizon: Millis,
    ) -> Result<Vec<AccessToken>> {
        self.read_one(async |c| tokens::expiring(c, now, horizon).await)
            .await
    }

    async fn access_token_expiry_notified(&self, id: TokenId, now: Millis) -> Result<()> {
        self.change(async |c| tokens::expiry_notified(c, id, now).await)
            .await
    }

    async fn insert_event(
        &self,
        event: NewEvent,
        deliveries: Vec<NewDelivery>,
        now: Millis,
    ) -> Result<Inserted> {
        let pending = Pending {
            event,
            deliveries,
            now,
        };
        match &self.inserts {
            Some(inserts) => inserts.insert(pending).await,
            None => insert_batch(self, Arc::from([pending]))
                .await?
                .pop()
                .ok_or(StoreError::Corrupt("batch"))?,
        }
    }

    async fn latest_event(
        &self,
        project_id: Option<ProjectId>,
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
        hook_caps: &HashMap<HookId, u32>,
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
            hook_caps,
        };
        let claimed = self.claim_rows(&spec).await?;
        // Stored events never change: their payloads are read once the claim committed, on a
        // read connection, instead of holding the one writer for it. (Failing here leaves the
        // claims to expire, as a node that died would.)
        self.read_one(async |c| claim::with_payloads(c, claimed).await)
            .await
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
        let outcome = self.record(owner, attempts, rule).await;
        self.writes.note(&outcome);
        outcome
    }

    fn write_failure(&self) -> Option<String> {
        self.writes.failure()
    }

    async fn probe_write(&self) -> Result<()> {
        let outcome = self.write(async |c| queue::probe_write(c).await).await;
        self.writes.note(&outcome);
        outcome
    }

    async fn requeue_failed(&self, hook_id: HookId, since: Millis, now: Millis) -> Result<u64> {
        retrying(|| self.write(async |c| queue::requeue_failed(c, hook_id, since, now).await)).await
    }

    async fn release_claims(&self, owner: &str, now: Millis) -> Result<u64> {
        self.release(owner, now).await
    }

    async fn next_due_at(&self, after: Millis) -> Result<Option<Millis>> {
        let due = self
            .read_one(async |c| queue::next_due_at(c, after).await)
            .await?;
        // Claims held in memory (SQLite) are claimable just after their lease runs out.
        let held = self
            .first_lease_expiry()
            .map(|at| at + Duration::from_millis(1));
        Ok(due.into_iter().chain(held).min())
    }

    async fn chain_hooks(&self, chain_uuid: &str) -> Result<Vec<HookId>> {
        self.read_one(async |c| queue::chain_hooks(c, chain_uuid).await)
            .await
    }

    async fn activity(&self, since: Millis, slowest: u32) -> Result<Activity> {
        self.read(async |c| log::activity(c, since, slowest).await)
            .await
    }

    async fn disabled_hook_ids(&self, now: Millis, permanently: bool) -> Result<Vec<HookId>> {
        self.read_one(async |c| hooks::disabled_ids(c, now, permanently).await)
            .await
    }

    async fn hook_alert_counts(&self, now: Millis) -> Result<HookAlertCounts> {
        self.read_one(async |c| hooks::alert_counts(c, now).await)
            .await
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts> {
        let mut counts = self.read_one(async |c| queue::counts(c).await).await?;
        self.count_held(&mut counts);
        Ok(counts)
    }

    async fn list_attempts(
        &self,
        hook_id: HookId,
        filter: StatusFilter,
        page: Page,
    ) -> Result<Paged<LoggedAttempt>> {
        self.read(async |c| log::list(c, hook_id, filter, page).await)
            .await
    }

    async fn attempt(
        &self,
        hook_id: HookId,
        attempt_id: AttemptId,
    ) -> Result<Option<LoggedAttempt>> {
        self.read_one(async |c| log::get(c, hook_id, attempt_id).await)
            .await
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        now: Millis,
        page: Page,
    ) -> Result<Paged<DeliveryRecord>> {
        let claimed = self.held_claims();
        self.read(async |c| views::list(c, filter, &claimed, now, page).await)
            .await
    }

    async fn delivery_states(
        &self,
        ids: &[DeliveryId],
        now: Millis,
    ) -> Result<Vec<(DeliveryId, DeliveryState)>> {
        let claimed = self.held_claims();
        self.read(async |c| views::states(c, ids, &claimed, now).await)
            .await
    }

    async fn log_attempt(&self, attempt: Attempt, rule: &dyn HealthRule) -> Result<AttemptId> {
        let outcome = retrying(|| {
            self.write(async |c| {
                let healths =
                    health::load(c, std::iter::once(attempt.hook_id), Db::KEY_SHARE).await?;
                let id = log::insert_one(c, &attempt).await?;
                health::apply(c, &[&attempt], rule, healths).await?;
                Ok(id)
            })
        })
        .await;
        self.writes.note(&outcome);
        outcome
    }

    async fn prune_log(&self, cutoff: Millis, limit: u32) -> Result<u64> {
        retrying(|| self.write(async |c| retention::prune_log(c, cutoff, limit).await)).await
    }

    async fn prune_events(
        &self,
        cutoff: Millis,
        after: Option<PruneCursor>,
        limit: u32,
    ) -> Result<PrunedEvents> {
        retrying(|| self.write(async |c| retention::prune_events(c, cutoff, after, limit).await))
            .await
    }

    async fn attempt_pruned(&self, attempt_id: AttemptId) -> Result<bool> {
        self.read_one(async |c| retention::was_pruned(c, attempt_id).await)
            .await
    }
}
