//! Throwaway PostgreSQL databases for tests (of this crate and of the server), and a SQLite
//! store whose syncs a test holds ([`SyncGate`]).
//!
//! Tests connect to `WVS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), create a database of their own there and
//! drop it when done. A database that cannot be reached fails the test: it is never
//! skipped.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Where test databases are made, unless `WVS_TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own for one test, dropped (with its connections) on drop.
pub struct TestDatabase {
    admin: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database named after `label` and a random suffix.
    ///
    /// # Panics
    /// When PostgreSQL cannot be reached: these tests must run, not pass by skipping.
    pub async fn create(label: &str) -> TestDatabase {
        let admin_url = std::env::var("WVS_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin = PgConnectOptions::from_str(&admin_url).expect("WVS_TEST_DATABASE_URL");
        let name = format!("wvs_test_{label}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .unwrap_or_else(|error| {
                panic!("PostgreSQL at {admin_url} (WVS_TEST_DATABASE_URL) is needed: {error}")
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("WVS_TEST_DATABASE_URL has no database name: {admin_url}"),
        };
        TestDatabase { admin, name, url }
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// An outage of this database alone (the server and other tests' databases stay up):
    /// `false` refuses new connections and ends every open one, `true` lets them in again.
    pub async fn set_reachable(&self, reachable: bool) {
        let mut conn = PgConnection::connect_with(&self.admin)
            .await
            .expect("admin connection");
        sqlx::query(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {reachable}",
            self.name
        ))
        .execute(&mut conn)
        .await
        .expect("alter database");
        if !reachable {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&self.name)
            .execute(&mut conn)
            .await
            .expect("end connections");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await; a thread of its own runs the statement to the end.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect_with(&admin).await.ok()?;
                sqlx::query(&sql).execute(&mut conn).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// Holds a SQLite store's syncs of its WAL while closed: a durable commit is not answered
/// until the gate opens; what needs no sync goes on.
#[derive(Clone, Default)]
pub struct SyncGate(Arc<(Mutex<bool>, Condvar)>);

impl SyncGate {
    /// Opens a SQLite store at `path` whose syncs pass this gate, open to begin with.
    pub async fn store(
        &self,
        path: &Path,
        key: &crate::SecretKey,
    ) -> crate::Result<crate::sqlite::SqliteStore> {
        self.set_open(true);
        let gate = self.clone();
        crate::sqlite::SqliteStore::open_syncing_with(
            path,
            key,
            Box::new(move |wal| {
                gate.wait_open();
                crate::sqlite::sync_wal(wal)
            }),
        )
        .await
    }

    /// Lets syncs through (`true`) or holds the next ones (`false`).
    pub fn set_open(&self, open: bool) {
        let (state, changed) = &*self.0;
        *state.lock().unwrap_or_else(|poison| poison.into_inner()) = open;
        changed.notify_all();
    }

    fn wait_open(&self) {
        let (state, changed) = &*self.0;
        let open = state.lock().unwrap_or_else(|poison| poison.into_inner());
        drop(changed.wait_while(open, |open| !*open));
    }
}
