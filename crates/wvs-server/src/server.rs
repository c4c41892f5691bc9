//! `wvs serve`: opens the store, makes sure an admin token exists, and runs the API, the
//! dispatcher (unless delivery is off) and retention until Ctrl-C (or SIGTERM), then shuts
//! down cleanly: no new claims, in-flight deliveries finish or are released.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wvs_send::{Sender, SenderConfig};
use wvs_store::Store;
use wvs_store::postgres::PgStore;
use wvs_store::sqlite::SqliteStore;

use crate::config::Config;
use crate::database_url::is_postgres;
use crate::dispatch::{Dispatcher, HookLimits};
use crate::patience;
use crate::service::test_limit::TestLimiter;
use crate::service::token_expiry;
use crate::state::{AppState, Shared};

/// Opens the store named by the configuration (PostgreSQL for a `postgres://` URL, SQLite
/// otherwise) and applies its migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let key = crate::secret_key::load(config)?;
    let url = &config.database_url;
    let store: Arc<dyn Store> = if is_postgres(url) {
        let store = PgStore::open(url, &key, config.database_pool)
            .await
            .with_context(|| {
                format!(
                    "cannot open the PostgreSQL store at {} — is the server up and the URL \
                     (--database-url, WVS_DATABASE_URL) right?",
                    redacted(url)
                )
            })?;
        Arc::new(store)
    } else {
        let store = SqliteStore::open_url(url, &key).await.with_context(|| {
            format!(
                "cannot open {url} — pass --database-url (WVS_DATABASE_URL) or run from a \
                     writable directory"
            )
        })?;
        Arc::new(store)
    };
    Ok(store)
}

/// Applies the schema migrations of the database at `url` without serving; returns the
/// schema version.
pub async fn migrate(url: &str) -> anyhow::Result<i64> {
    let _lock = crate::db_lock::acquire(url)?;
    let version = if is_postgres(url) {
        PgStore::migrate(url).await
    } else {
        SqliteStore::migrate(url).await
    };
    version.with_context(|| format!("applying the migrations to {}", redacted(url)))
}

/// Writes a consistent copy of the SQLite database at `url` to the new file `destination`
/// while it may be in use (see [`SqliteStore::backup`]).
pub async fn backup(url: &str, destination: &std::path::Path) -> anyhow::Result<()> {
    if is_postgres(url) {
        anyhow::bail!(
            "wvs backup copies a SQLite store; back up PostgreSQL with pg_dump (see docs/operations.md)"
        );
    }
    if destination.exists() {
        anyhow::bail!("{} exists already: give a new file", destination.display());
    }
    SqliteStore::backup(url, destination)
        .await
        .with_context(|| format!("backing up {url} to {}", destination.display()))
}

/// Gives the space of a stopped SQLite store's freed pages back to the file system: the
/// file's size before and after. Refused while a server holds the store, and for PostgreSQL,
/// whose autovacuum makes deleted rows' space reusable by itself.
pub async fn vacuum(url: &str) -> anyhow::Result<(u64, u64)> {
    if is_postgres(url) {
        anyhow::bail!(
            "wvs vacuum compacts a SQLite store; PostgreSQL's autovacuum reuses the space of deleted rows (see docs/operations.md)"
        );
    }
    let Some(path) = crate::config::sqlite_path(url) else {
        anyhow::bail!("{url} is not a SQLite file");
    };
    // Held while the file is rewritten: no server may start on it meanwhile.
    let _lock = crate::db_lock::acquire(url)?;
    let before = store_bytes(&path).with_context(|| format!("reading {}", path.display()))?;
    SqliteStore::vacuum(url)
        .await
        .with_context(|| format!("vacuuming {}", path.display()))?;
    Ok((before, store_bytes(&path)?))
}

/// The bytes of a SQLite store on disk: its file and its write-ahead log, if any.
fn store_bytes(path: &std::path::Path) -> std::io::Result<u64> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(wal).map_or(0, |metadata| metadata.len());
    Ok(std::fs::metadata(path)?.len() + wal)
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Runs the server until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    // Held until the server has stopped: no other process may write this SQLite file.
    let _lock = crate::db_lock::acquire(&config.database_url)?;
    crate::metrics::install();
    let store = open_store(&config).await?;
    let admin_token = config.admin_token.as_deref();
    if let Some(token) =
        patience::retry_while_unavailable("storing the admin token", patience::AT_START, || {
            crate::auth::ensure_admin_token(store.as_ref(), admin_token)
        })
        .await
        .context("storing the admin token")?
    {
        // Shown once: only its hash is kept.
        println!("Generated admin token (shown once, store it now): {token}");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let config = config.bound_to(address);
    // Hooks may never call this instance's own API (the port is known only once bound).
    let mut outbound = config.outbound.clone();
    outbound.own_addresses.push(address);
    let sender = Sender::new(SenderConfig {
        timeout: config.delivery.timeout,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        instance: config.instance_url.clone(),
        outbound,
        ..SenderConfig::default()
    })
    .context("building the HTTP client")?;
    let wake = Arc::new(Notify::new());
    if config.deliver {
        // Other nodes on the same database wake this one's dispatcher too.
        store.watch_for_work(wake.clone());
    }
    let limits = Arc::new(HookLimits::new(config.delivery.hook_ceiling));
    let state = AppState::new(Shared {
        store: store.clone(),
        limits: limits.clone(),
        sender: sender.clone(),
        config: Arc::new(config.clone()),
        wake: wake.clone(),
        test_limiter: Arc::new(TestLimiter::new(
            config.hook_test_limit,
            std::time::Duration::from_secs(60),
        )),
        token_created: Notify::new(),
    });
    tokio::spawn(token_expiry::run(state.clone(), shutdown.clone()));
    let pruning = tokio::spawn(crate::retention::run(
        store.clone(),
        config.log_retention,
        shutdown.clone(),
    ));
    let dispatching = config.deliver.then(|| {
        let dispatcher = Dispatcher::new(
            store,
            sender,
            config.delivery.clone(),
            config.flavor,
            wake,
            limits,
        );
        tokio::spawn(dispatcher.run(shutdown.clone()))
    });
    println!("WVS listening on http://{address}");
    println!("Store: {}", redacted(&config.database_url));
    if dispatching.is_none() {
        println!("Delivery off (--deliver false): this node ingests and serves the API only");
    }
    tracing::info!(
        listen = %address,
        store = %redacted(&config.database_url),
        deliver = config.deliver,
        "WVS started"
    );
    crate::http::serve(
        listener,
        crate::api::router(state),
        &config.http,
        shutdown.clone(),
    )
    .await;
    if let Some(dispatching) = dispatching {
        dispatching
            .await
            .context("the dispatcher stopped abnormally")?;
    }
    pruning.await.context("retention stopped abnormally")?;
    tracing::info!("WVS stopped");
    Ok(())
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        token.cancel();
    });
}
