//! The server under test: a `wvs serve` child process that the bench starts (on a temporary
//! SQLite file, or on a PostgreSQL database it is given), or one already running. For a child
//! the bench also reads its CPU time and peak RSS from `/proc`, and for either store the
//! store's size.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;

/// How long a spawned server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub enum Store {
    /// A SQLite file: its size is the file plus its `-wal` and `-shm`.
    Sqlite(PathBuf),
    /// A PostgreSQL database: its size is `pg_database_size`.
    Postgres(String),
    /// A server the bench did not start and whose database it was not told.
    Unknown,
}

impl Store {
    pub fn name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
            Store::Unknown => "unknown",
        }
    }

    /// Moves a SQLite WAL into the database file (`wal_checkpoint(TRUNCATE)`), so that the
    /// size is the data's, not the log's. Done before the load (while nothing writes) and
    /// after the server stopped.
    pub async fn settle(&self) -> Result<()> {
        if let Store::Sqlite(path) = self {
            use sqlx::Connection;
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(Duration::from_secs(10));
            let mut connection = sqlx::SqliteConnection::connect_with(&options)
                .await
                .context("opening the SQLite store to checkpoint it")?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut connection)
                .await
                .context("checkpointing the SQLite store")?;
            let _ = connection.close().await;
        }
        Ok(())
    }

    /// The store's size in bytes, when it can be measured.
    pub async fn size(&self) -> Result<Option<u64>> {
        match self {
            Store::Sqlite(path) => {
                let mut total = 0;
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    if let Ok(metadata) = std::fs::metadata(&name) {
                        total += metadata.len();
                    }
                }
                Ok(Some(total))
            }
            Store::Postgres(url) => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(url)
                    .await
                    .context("connecting to PostgreSQL to read the database size")?;
                let (size,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                    .fetch_one(&mut connection)
                    .await
                    .context("reading pg_database_size")?;
                let _ = connection.close().await;
                Ok(u64::try_from(size).ok())
            }
            Store::Unknown => Ok(None),
        }
    }
}

/// Where the server under test is.
pub struct Target {
    pub url: String,
    pub admin_token: String,
    pub store: Store,
    /// Set when the bench started the server.
    pub child: Option<Spawned>,
}

/// A `wvs serve` started by the bench; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Spawned {
    child: Child,
    log: PathBuf,
    /// The temporary directory holding the SQLite file and the server's log.
    _dir: tempfile::TempDir,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server wrote on stderr, to explain a failure.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the server cleanly (SIGTERM) and waits up to 10 s before killing it.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `wvs serve` (this executable) on `database_url`, or on a new temporary SQLite file.
pub fn spawn(database_url: Option<&str>, extra_args: &[String]) -> Result<Target> {
    let dir = tempfile::Builder::new()
        .prefix("wvs-bench-")
        .tempdir()
        .context("creating a temporary directory")?;
    let admin_token = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let exe = std::env::current_exe().context("finding the wvs executable")?;
    let log = dir.path().join("server.log");
    let mut command = Command::new(exe);
    command
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--allow-local-requests"])
        .env("WVS_ADMIN_TOKEN", &admin_token)
        .env("RUST_LOG", "warn")
        .current_dir(dir.path());
    // Settings must come from the bench, not from a wvs.toml or WVS_* of whoever runs it.
    for (name, _) in std::env::vars_os() {
        if let Some(name) = name.to_str()
            && name.starts_with("WVS_")
            && name != "WVS_ADMIN_TOKEN"
        {
            command.env_remove(name);
        }
    }
    let store = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            // PostgreSQL needs a secret key; a random one is fine for a throwaway run.
            let mut key = [0u8; 32];
            key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            let key = base64::engine::general_purpose::STANDARD.encode(key);
            command
                .args(["--database-url", url])
                .args(["--secret-key", &key]);
            Store::Postgres(url.to_owned())
        }
        Some(path) => {
            let path = PathBuf::from(path.strip_prefix("sqlite://").unwrap_or(path));
            command.arg("--database-url").arg(&path);
            Store::Sqlite(path)
        }
        None => {
            let path = dir.path().join("wvs.db");
            command.arg("--database-url").arg(&path);
            Store::Sqlite(path)
        }
    };
    let mut child = command
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).context("creating the server's log file")?)
        .spawn()
        .context("starting wvs serve")?;
    let stdout = child.stdout.take().expect("a piped stdout");
    let (address_tx, address_rx) = mpsc::channel();
    // Reads the address, then keeps draining stdout so the server never blocks on it.
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(url) = line.trim_end().strip_prefix("WVS listening on ") {
                let _ = address_tx.send(url.to_owned());
                break;
            }
            line.clear();
        }
        let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
    });
    let spawned = Spawned {
        child,
        log,
        _dir: dir,
    };
    let url = match address_rx.recv_timeout(START_TIMEOUT) {
        Ok(url) => url,
        Err(_) => bail!(
            "wvs serve did not print its address within {START_TIMEOUT:?}; its log:\n{}",
            spawned.log_tail()
        ),
    };
    Ok(Target {
        url,
        admin_token,
        store,
        child: Some(spawned),
    })
}

/// CPU time and memory of a process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessStats {
    /// User plus system time, in seconds.
    pub cpu_seconds: f64,
    /// Peak resident set size (`VmHWM`), in bytes.
    pub peak_rss_bytes: u64,
    /// Resident set size now (`VmRSS`), in bytes.
    pub rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status` (`pid` "self" for this process).
pub fn process_stats(pid: &str) -> Result<ProcessStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("an unexpected /proc/PID/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of the whole line; `fields` starts at field 3.
    let ticks = |index: usize| -> Result<u64> {
        fields
            .get(index - 3)
            .and_then(|field| field.parse().ok())
            .context("an unexpected /proc/PID/stat")
    };
    let cpu_seconds = (ticks(14)? + ticks(15)?) as f64 / clock_ticks_per_second();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcessStats {
        cpu_seconds,
        peak_rss_bytes: kib("VmHWM:") * 1024,
        rss_bytes: kib("VmRSS:") * 1024,
    })
}

/// `USER_HZ`, the unit of `/proc` CPU times: asked of `getconf`, else Linux's usual 100.
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|ticks: &f64| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

/// The 1-minute load average, to tell a quiet machine from a busy one.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
