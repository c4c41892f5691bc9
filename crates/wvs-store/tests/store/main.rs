//! The behavioural suite of the [`Store`] trait.
//!
//! Every behaviour is one `check_*` function that takes `&dyn Store` and knows nothing of the
//! backend; the `sqlite` and `postgres` modules at the bottom run each of them against a
//! fresh SQLite file and a fresh PostgreSQL database (`WVS_TEST_DATABASE_URL`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::json;
use wvs_store::*;

mod header_sets;
mod hooks;
mod limits;
mod log;
mod overview;
mod persistence;
mod queue;
mod registry;
mod retention;
mod support;
mod tokens;
mod users;
mod views;

use header_sets::*;
use hooks::*;
use limits::*;
use log::*;
use overview::*;
use persistence::*;
use queue::*;
use registry::*;
use retention::*;
use support::*;
use tokens::*;
use users::*;
use views::*;

/// Calls `$suite!` with every check that takes one fresh store: each backend module runs
/// the same list.
macro_rules! every_check {
    ($suite:ident) => {
        $suite! {
            settings => check_settings,
            registry_crud => check_registry_crud,
            group_move_rewrites_paths => check_group_move_rewrites_paths,
            cascade_delete => check_cascade_delete,
            hooks_crud => check_hooks_crud,
            candidate_hooks => check_candidate_hooks,
            routing_reads_follow_every_change => check_routing_reads_follow_every_change,
            insert_event_idempotency => check_insert_event_idempotency,
            latest_event => check_latest_event,
            claim_and_record => check_claim_and_record,
            new_deliveries_bring_their_hook_forward => check_new_deliveries_bring_their_hook_forward,
            claim_order_and_limit => check_claim_order_and_limit,
            lease_expiry => check_lease_expiry,
            release_claims => check_release_claims,
            record_after_hook_deleted => check_record_after_hook_deleted,
            list_attempts => check_list_attempts,
            attempt_body => check_attempt_body,
            request_headers_read_back_as_logged => check_request_headers_read_back_as_logged,
            in_flight_limit_over_every_owner => check_in_flight_limit_over_every_owner,
            a_full_hook_does_not_block_others => check_a_full_hook_does_not_block_others,
            hook_caps_hold_a_hook_below_its_limit => check_hook_caps_hold_a_hook_below_its_limit,
            ordered_hook => check_ordered_hook,
            disabled_hooks_hold_their_deliveries => check_disabled_hooks_hold_their_deliveries,
            health_is_folded_in_as_attempts_are_recorded => check_health_is_folded_in_as_attempts_are_recorded,
            a_retry_that_changes_health_is_due => check_a_retry_that_changes_health_is_due,
            rate_limit_per_namespace => check_rate_limit_per_namespace,
            chain_hooks => check_chain_hooks,
            access_tokens => check_access_tokens,
            concurrent_inserts_are_each_answered => check_concurrent_inserts_are_each_answered,
            hook_alert_counts => check_hook_alert_counts,
            activity => check_activity,
            users_crud => check_users_crud,
            ssh_keys => check_ssh_keys,
            members => check_members,
            foreign_reply_bytes_are_kept => check_foreign_reply_bytes_are_kept,
            namespace_share => check_namespace_share,
            namespace_share_binds_only_with_other_due_work => check_namespace_share_binds_only_with_other_due_work,
            namespace_share_follows_a_transfer => check_namespace_share_follows_a_transfer,
            hook_caps => check_hook_caps,
            large_payloads_are_read_back_whole => check_large_payloads_are_read_back_whole,
            retention_prunes_what_is_settled_and_old => check_retention_prunes_what_is_settled_and_old,
            deliveries_view => check_deliveries_view,
            search_projects_and_groups => check_search_projects_and_groups,
        }
    };
}

/// One `#[tokio::test]` per check, on the store its module's `open()` makes.
macro_rules! store_tests {
    ($($test:ident => $check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            let (_guard, store) = open().await;
            super::$check(&store).await;
        }
    )*};
}

mod sqlite {
    use std::path::PathBuf;

    use tempfile::TempDir;
    use wvs_store::sqlite::SqliteStore;

    use wvs_store::SecretKey;

    /// The at-rest key of every test store (one key, so that a file can be reopened).
    fn key() -> SecretKey {
        SecretKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap()
    }

    /// A fresh database file in its own directory (removed on drop).
    async fn open() -> (TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("wvs.db"), &key())
            .await
            .expect("open store");
        (dir, store)
    }

    every_check!(store_tests);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_failures_wait_for_the_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let gate = wvs_store::testing::SyncGate::default();
        let store = gate
            .store(&dir.path().join("wvs.db"), &key())
            .await
            .expect("open store");
        super::check_only_failures_wait_for_the_disk(&store, &gate).await;
    }

    /// The store's file, read and written behind its back.
    async fn raw(dir: &TempDir) -> super::Raw {
        let url = format!("sqlite://{}", dir.path().join("wvs.db").display());
        super::Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.expect("raw"))
    }

    #[tokio::test]
    async fn rows_share_their_header_set() {
        let (dir, store) = open().await;
        super::check_rows_share_their_header_set(&store, &raw(&dir).await).await;
    }

    #[tokio::test]
    async fn an_old_row_reads_back() {
        let (dir, store) = open().await;
        super::check_an_old_row_reads_back(&store, &raw(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claimers_one_store() {
        let (_dir, store) = open().await;
        super::check_concurrent_claimers(&store, &store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ingest_beside_claims_one_store() {
        let (_dir, store) = open().await;
        super::check_ingest_beside_claims(&store, &store).await;
    }

    /// Two stores on one file are two writers competing for SQLite's lock, as two processes
    /// would: `BEGIN IMMEDIATE` and the busy timeout must keep them apart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    /// One process owns a SQLite file, so a claim is held in its memory, not written: after
    /// a crash (the store dropped with claims held, nothing released) every delivery whose
    /// attempt was not recorded is due again at once, with no lease to wait for; a recorded
    /// one is not.
    async fn claims_not_recorded_are_due_again_after_a_crash() {
        use wvs_store::*;
        let (dir, store) = open().await;
        let h = super::hook(&store, HookOwner::System).await;
        super::enqueue(&store, "e1", h.id, 3, Millis(1_000)).await;
        let claimed = super::claim(&store, "n1", Millis(1_000), 10).await;
        assert_eq!(claimed.len(), 3);
        super::record(
            &store,
            "n1",
            &claimed[..1],
            Outcome::Succeeded,
            Millis(1_100),
        )
        .await;
        drop(store);

        let store = SqliteStore::open(&dir.path().join("wvs.db"), &key())
            .await
            .expect("reopen");
        assert_eq!(
            super::counts(&store).await,
            DeliveryCounts {
                pending: 2,
                succeeded: 1,
                ..DeliveryCounts::default()
            }
        );
        let again = super::claim(&store, "n2", Millis(1_200), 10).await;
        assert_eq!(super::ids(&again), super::ids(&claimed[1..]));
    }

    #[tokio::test]
    async fn persistence_across_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path: PathBuf = dir.path().join("wvs.db");
        let store = SqliteStore::open(&path, &key()).await.expect("open");
        let written = super::check_persistence_write(&store).await;
        store.close().await;
        drop(store);
        let store = SqliteStore::open(&path, &key()).await.expect("reopen");
        super::check_persistence_read(&store, written).await;
    }

    /// A write that fails for want of space (the file at its `max_page_count`, as a full
    /// disk) marks the store failing and leaves its writer usable: once space is freed the
    /// readiness probe and the next event go through, without reopening the store.
    #[tokio::test]
    async fn a_full_store_heals_once_space_is_back() {
        use sqlx::sqlite::SqliteConnectOptions;
        use wvs_store::*;
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("wvs.db"))
            .pragma("max_page_count", "300");
        let store = SqliteStore::open_with(options, &key()).await.unwrap();
        // Room to free later: a hook whose settings take ~100 pages.
        let ballast = store
            .create_hook(
                NewHook {
                    owner: HookOwner::System,
                    url: "https://example.com/hook".into(),
                    secrets: HookSecrets::default(),
                    settings: serde_json::json!({ "pad": "x".repeat(400_000) }),
                    limits: DeliveryLimits::default(),
                },
                Millis(1),
            )
            .await
            .unwrap();
        let sized = |bytes: usize, n: usize| NewEvent {
            payload: vec![b' '; bytes],
            ..super::new_event(&format!("fill-{bytes}-{n}"), None)
        };
        let big = |n: usize| sized(100_000, n);
        // Events of 100 kB until one fails, then of 20 kB: what is left is then less than
        // the probe writes, wherever the schema's own pages put the last big event.
        for (bytes, most) in [(100_000, 20), (20_000, 30)] {
            let mut stored = 0;
            let error = loop {
                match store
                    .insert_event(sized(bytes, stored), Vec::new(), Millis(1))
                    .await
                {
                    Ok(_) => stored += 1,
                    Err(error) => break error,
                }
                assert!(
                    stored < most,
                    "300 pages hold fewer than {most} events of {bytes} B"
                );
            };
            assert!(!error.is_row_error(), "{error}");
        }
        assert!(store.write_failure().is_some());
        assert!(store.probe_write().await.is_err());
        assert!(store.write_failure().is_some());

        // Space is back: the writer was replaced after the failure, so this works.
        store
            .delete_hook(ballast.id)
            .await
            .expect("delete after a full disk");
        store.probe_write().await.expect("the probe fits again");
        assert_eq!(store.write_failure(), None);
        store
            .insert_event(big(99), Vec::new(), Millis(1))
            .await
            .expect("an event fits again");
    }

    #[tokio::test]
    async fn open_url_creates_the_file_and_memory_works() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("by-url.db");
        let store = SqliteStore::open_url(&format!("sqlite://{}", path.display()), &key())
            .await
            .expect("open url");
        super::check_settings(&store).await;
        assert!(path.exists());

        let memory = SqliteStore::open_url("sqlite::memory:", &key())
            .await
            .expect("in memory");
        super::check_claim_and_record(&memory).await;
    }

    /// Hook URLs and secrets are encrypted in the file: none of them is found in the raw
    /// bytes of the database (or its WAL), and another key cannot read them back.
    #[tokio::test]
    async fn hook_secrets_are_encrypted_at_rest() {
        use wvs_store::*;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wvs.db");
        let store = SqliteStore::open(&path, &key()).await.unwrap();
        let secrets = [
            "tok-SECRET-1",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "hdr-SECRET-2",
            "var-SECRET-3",
            "pa55word",
        ];
        let hook = store
            .create_hook(
                NewHook {
                    owner: HookOwner::System,
                    url: "https://user:pa55word@example.com/{path}".into(),
                    secrets: HookSecrets {
                        token: Some(secrets[0].into()),
                        signing_tokens: vec![secrets[1].into()],
                        custom_headers: vec![("X-Custom".into(), secrets[2].into())],
                        url_variables: vec![("path".into(), secrets[3].into())],
                        previous_signing_token: None,
                    },
                    settings: serde_json::json!({}),
                    limits: DeliveryLimits::default(),
                },
                Millis(1),
            )
            .await
            .unwrap();
        assert_eq!(store.hook(hook.id).await.unwrap(), Some(hook.clone()));
        // The URL exactly as an operator would give it, credentials and all.
        let plain_url = "https://user:pa55word@example.com/hook";
        let plain = store
            .create_hook(
                NewHook {
                    owner: HookOwner::System,
                    url: plain_url.into(),
                    secrets: HookSecrets::default(),
                    settings: serde_json::json!({}),
                    limits: DeliveryLimits::default(),
                },
                Millis(2),
            )
            .await
            .unwrap();
        assert_eq!(store.hook(plain.id).await.unwrap().unwrap().url, plain_url);
        store.close().await;
        drop(store);
        for file in ["wvs.db", "wvs.db-wal"] {
            let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
                continue;
            };
            for secret in secrets.iter().copied().chain([plain_url, "user:pa55word@"]) {
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "{file} holds {secret} in clear");
            }
        }
        let other = SqliteStore::open(&path, &SecretKey::generate())
            .await
            .unwrap();
        // The URL is read first: another key is corrupt data of that column, and the error
        // says so without the value.
        for id in [hook.id, plain.id] {
            let error = other.hook(id).await.unwrap_err();
            assert!(
                matches!(error, StoreError::Corrupt("hooks.url")),
                "{error:?}"
            );
            assert!(!error.to_string().contains("pa55word"));
        }
        let listed = other
            .list_hooks(
                HookOwner::System,
                Page {
                    page: 1,
                    per_page: 20,
                },
            )
            .await;
        assert!(matches!(listed, Err(StoreError::Corrupt("hooks.url"))));
    }
}

mod postgres {
    use std::time::Duration;
    use wvs_store::Store;

    use wvs_store::SecretKey;
    use wvs_store::postgres::PgStore;
    use wvs_store::testing::TestDatabase;

    fn key() -> SecretKey {
        SecretKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap()
    }

    /// A fresh database (dropped with the guard) and a store on it.
    async fn open() -> (TestDatabase, PgStore) {
        let database = TestDatabase::create("store").await;
        let store = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("open store");
        (database, store)
    }

    every_check!(store_tests);

    /// Two stores on one fresh database: two nodes.
    async fn two_nodes() -> (TestDatabase, PgStore, PgStore) {
        let (database, a) = open().await;
        let b = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("second store");
        (database, a, b)
    }

    async fn raw(database: &TestDatabase) -> super::Raw {
        super::Raw::Postgres(sqlx::PgPool::connect(database.url()).await.expect("raw"))
    }

    #[tokio::test]
    async fn rows_share_their_header_set() {
        let (database, store) = open().await;
        super::check_rows_share_their_header_set(&store, &raw(&database).await).await;
    }

    #[tokio::test]
    async fn an_old_row_reads_back() {
        let (database, store) = open().await;
        super::check_an_old_row_reads_back(&store, &raw(&database).await).await;
    }

    /// Two nodes add the same new header set at the same moment.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_add_a_set_once() {
        let (database, a, b) = two_nodes().await;
        super::check_two_nodes_add_a_set_once(&a, &b, &raw(&database).await).await;
    }

    /// Two stores on one database are two nodes: their claims run at the same time, and
    /// the row locks must keep them apart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claimers_two_nodes() {
        let (_database, a, b) = two_nodes().await;
        super::check_concurrent_claimers(&a, &b).await;
    }

    /// Two nodes ingest and claim one hook at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ingest_beside_claims_two_nodes() {
        let (_database, a, b) = two_nodes().await;
        super::check_ingest_beside_claims(&a, &b).await;
    }

    /// An ingest waits for no claim: while a transaction holds the hook's row as a claim
    /// does (`FOR NO KEY UPDATE`), an event for the hook is still stored, and it is claimed
    /// once the row is let go.
    #[tokio::test]
    async fn an_ingest_waits_for_no_claim_of_its_hook() {
        use wvs_store::*;
        let (database, store) = open().await;
        let h = super::hook(&store, HookOwner::System).await;
        let raw = sqlx::PgPool::connect(database.url()).await.expect("raw");
        let mut claim = raw.begin().await.expect("begin");
        sqlx::query("SELECT id FROM hooks WHERE id = $1 FOR NO KEY UPDATE")
            .bind(h.id)
            .execute(&mut *claim)
            .await
            .expect("hold the hook's row");
        let stored = tokio::time::timeout(
            Duration::from_secs(10),
            super::enqueue(&store, "while-held", h.id, 3, Millis(1_000)),
        )
        .await
        .expect("the ingest waited for the claim's lock");
        assert_eq!(stored.deliveries, 3);
        claim.rollback().await.expect("let go");
        let claimed = super::claim(&store, "node", Millis(1_000), 10).await;
        assert_eq!(claimed.len(), 3);
    }

    /// The other nodes hear of new work once it is committed: after an ingest and after a
    /// record (a freed slot), each sent from outside the write's transaction.
    #[tokio::test]
    async fn other_nodes_hear_of_work_once_committed() {
        use wvs_store::*;
        let (database, store) = open().await;
        let h = super::hook(&store, HookOwner::System).await;
        let raw = sqlx::PgPool::connect(database.url()).await.expect("raw");
        let mut other_node = sqlx::postgres::PgListener::connect_with(&raw)
            .await
            .expect("listener");
        other_node.listen("wvs_work").await.expect("listen");
        let heard = async |listener: &mut sqlx::postgres::PgListener| {
            tokio::time::timeout(Duration::from_secs(10), listener.recv())
                .await
                .expect("a notification within 10 s")
                .expect("the listener's connection")
        };
        super::enqueue(&store, "announced", h.id, 1, Millis(1_000)).await;
        heard(&mut other_node).await;
        let claimed = super::claim(&store, "node", Millis(1_000), 10).await;
        super::record(&store, "node", &claimed, Outcome::Succeeded, Millis(1_100)).await;
        heard(&mut other_node).await;
    }

    /// Two nodes prune the same database at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_prune_side_by_side() {
        let (_database, a, b) = two_nodes().await;
        super::check_two_nodes_prune_side_by_side(&a, &b).await;
    }

    /// Another node's cache: it remembers reads while it hears the others, and forgets
    /// them once a change made through another node is announced.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_on_one_node_reaches_the_others_cache() {
        let (database, a, b) = two_nodes().await;
        // Up to 30 s: with the whole suite running, b's listener may wait for a connection.
        const LISTENING_WAITS: usize = 600;
        let raw = sqlx::PgPool::connect(database.url()).await.unwrap();
        // Written behind every store's back: no node hears of it.
        let set_unannounced = async |value: &str| {
            sqlx::query("UPDATE settings SET value = $1 WHERE key = 'k'")
                .bind(value)
                .execute(&raw)
                .await
                .unwrap();
        };
        a.set_setting("k", "1").await.unwrap();
        let mut remembered = false;
        for _ in 0..LISTENING_WAITS {
            set_unannounced("1").await;
            b.setting("k").await.unwrap();
            set_unannounced("unannounced").await;
            if b.setting("k").await.unwrap().as_deref() == Some("1") {
                remembered = true;
                break;
            }
            // b's listener is not listening yet: nothing is remembered until it is.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(remembered, "b remembers its reads once it hears the others");

        a.set_setting("k", "2").await.unwrap();
        let mut seen = None;
        for _ in 0..LISTENING_WAITS {
            seen = b.setting("k").await.unwrap();
            if seen.as_deref() == Some("2") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen.as_deref(), Some("2"), "a's change reached b's cache");
    }

    #[tokio::test]
    async fn persistence_across_reopen() {
        let (database, store) = open().await;
        let written = super::check_persistence_write(&store).await;
        store.close().await;
        let store = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("reopen");
        super::check_persistence_read(&store, written).await;
    }
}
