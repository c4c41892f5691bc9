//! The server under test: a `wvs serve` child process that the bench starts (on a temporary
//! SQLite file, or on a PostgreSQL database it is given, as one node or several) and may kill
//! and start again on the same store, or one already running. For a child the bench also
//! reads its CPU time and peak RSS from `/proc`, and for either store the store's size.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;

/// How long a spawned server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
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
    /// With `--nodes N`: the N - 1 servers started beside `child`, on the same database.
    pub more_nodes: Vec<Node>,
}

/// A further node the bench started: where it listens, and its process.
pub struct Node {
    pub url: String,
    pub child: Spawned,
}

impl Target {
    /// Every node's URL, the first (where the bench registers) first.
    pub fn urls(&self) -> Vec<&str> {
        std::iter::once(self.url.as_str())
            .chain(self.more_nodes.iter().map(|node| node.url.as_str()))
            .collect()
    }

    /// Every server the bench started, the first node first.
    pub fn children(&self) -> impl Iterator<Item = &Spawned> {
        self.child
            .iter()
            .chain(self.more_nodes.iter().map(|node| &node.child))
    }

    /// Every server the bench started, to stop them.
    pub fn children_mut(&mut self) -> impl Iterator<Item = &mut Spawned> {
        self.child
            .iter_mut()
            .chain(self.more_nodes.iter_mut().map(|node| &mut node.child))
    }

    /// Kills the server the bench started (SIGKILL: no clean shutdown) and starts `wvs serve`
    /// again on the same store, with `extra_args` instead of the first start's.
    pub fn restart(&mut self, extra_args: &[String]) -> Result<()> {
        let killed = self.child.take().context("the bench started no server")?;
        let (url, child) = Launch::start(&killed.kill(), extra_args)?;
        self.url = url;
        self.child = Some(child);
        Ok(())
    }
}

/// How the bench starts `wvs serve`, as often as it needs to, on one store: the temporary
/// directory (the SQLite file, the servers' log), the store's flags and the admin token.
pub struct Launch {
    /// The `wvs` executable whose `serve` runs: this one unless --serve-binary names another.
    exe: PathBuf,
    dir: tempfile::TempDir,
    admin_token: String,
    /// `--database-url` and, for PostgreSQL, `--secret-key`.
    store_args: Vec<OsString>,
    /// Every server the bench starts appends its stderr here.
    log: PathBuf,
}

impl Launch {
    /// The command line of `wvs serve` on the store, with `extra_args`.
    fn command(&self, extra_args: &[String]) -> Result<Command> {
        let mut command = Command::new(&self.exe);
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--allow-local-requests"])
            .args(&self.store_args)
            .args(extra_args)
            .env("WVS_ADMIN_TOKEN", &self.admin_token)
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path());
        // Settings must come from the bench, not from a wvs.toml or WVS_* of whoever runs it.
        for (name, _) in std::env::vars_os() {
            if let Some(name) = name.to_str()
                && name.starts_with("WVS_")
                && name != "WVS_ADMIN_TOKEN"
            {
                command.env_remove(name);
            }
        }
        Ok(command)
    }

    /// Starts a server and waits for it to print its address; returns its URL.
    pub fn start(launch: &Arc<Launch>, extra_args: &[String]) -> Result<(String, Spawned)> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&launch.log)
            .context("opening the server's log file")?;
        let mut command = launch.command(extra_args)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let started = Instant::now();
        let mut child = command.spawn().context("starting wvs serve")?;
        let address = read_address(child.stdout.take().expect("a piped stdout"));
        let spawned = Spawned {
            child,
            started,
            launch: launch.clone(),
        };
        match address.recv_timeout(START_TIMEOUT) {
            Ok(url) => Ok((url, spawned)),
            Err(_) => bail!(
                "wvs serve did not print its address within {START_TIMEOUT:?}; its log:\n{}",
                spawned.log_tail()
            ),
        }
    }
}

/// Reads the server's address from its stdout, then keeps draining it so the server never
/// blocks on it.
fn read_address(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (address_tx, address_rx) = mpsc::channel();
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
    address_rx
}

/// A `wvs serve` started by the bench; killed when dropped.
pub struct Spawned {
    child: Child,
    /// Just before the process was spawned.
    started: Instant,
    launch: Arc<Launch>,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The last lines the servers wrote on stderr, to explain a failure.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.launch.log).unwrap_or_default();
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

    /// Kills the server at once (SIGKILL) and hands back how to start it again.
    fn kill(mut self) -> Arc<Launch> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.launch.clone()
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

/// Starts `nodes` servers, `wvs serve` of `binary` (this executable without one), on
/// `database_url`, or one on a new temporary SQLite file. Several nodes need PostgreSQL: one
/// node owns a SQLite file.
pub fn spawn(
    binary: Option<&Path>,
    database_url: Option<&str>,
    extra_args: &[String],
    nodes: u32,
) -> Result<Target> {
    let exe = match binary {
        Some(binary) => binary.to_owned(),
        None => std::env::current_exe().context("finding the wvs executable")?,
    };
    let dir = tempfile::Builder::new()
        .prefix("wvs-bench-")
        .tempdir()
        .context("creating a temporary directory")?;
    let (store, store_args) = store_of(database_url, dir.path());
    if nodes > 1 && !matches!(store, Store::Postgres(_)) {
        bail!("--nodes {nodes} needs a PostgreSQL --database-url: one node owns a SQLite file");
    }
    let launch = Arc::new(Launch {
        exe,
        log: dir.path().join("server.log"),
        dir,
        admin_token: format!("bench-{}", uuid::Uuid::new_v4().simple()),
        store_args,
    });
    // One after another: each node applies the schema before it serves.
    let (url, child) = Launch::start(&launch, extra_args)?;
    let more_nodes = (1..nodes)
        .map(|_| {
            let (url, child) = Launch::start(&launch, extra_args)?;
            Ok(Node { url, child })
        })
        .collect::<Result<_>>()?;
    Ok(Target {
        url,
        admin_token: launch.admin_token.clone(),
        store,
        child: Some(child),
        more_nodes,
    })
}

/// The store at `database_url` (a new SQLite file in `dir` without one) and the flags that
/// name it to `wvs serve`.
fn store_of(database_url: Option<&str>, dir: &Path) -> (Store, Vec<OsString>) {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            // PostgreSQL needs a secret key; a random one is fine for a throwaway run.
            let mut key = [0u8; 32];
            key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            let key = base64::engine::general_purpose::STANDARD.encode(key);
            let args = ["--database-url", url, "--secret-key", &key].map(OsString::from);
            (Store::Postgres(url.to_owned()), args.to_vec())
        }
        Some(path) => sqlite_store(PathBuf::from(
            path.strip_prefix("sqlite://").unwrap_or(path),
        )),
        None => sqlite_store(dir.join("wvs.db")),
    }
}

fn sqlite_store(path: PathBuf) -> (Store, Vec<OsString>) {
    let args = vec!["--database-url".into(), path.clone().into_os_string()];
    (Store::Sqlite(path), args)
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
