//! `wvs`: the WVS webhook server's command line.
//!
//! # Layout
//!
//! - [`serve`]: `wvs serve`, the server: API, dispatcher and store.
//! - [`trigger`]: `wvs trigger`, send one sample event to a URL exactly as WVS delivers it.
//! - [`listen`]: `wvs listen`, a receiver that checks, prints and logs every webhook it gets.
//! - [`migrate`]: `wvs migrate`, apply the store's schema migrations without serving.
//! - [`backup`]: `wvs backup FILE`, a consistent copy of a SQLite store in use.
//! - [`git_hook`]: `wvs git-hook`, a post-receive hook that reports a Git server's pushes to
//!   WVS's push processing, spooling what WVS does not take.
//! - [`bench`]: `wvs bench`, measure a server end to end: ingest, delivery, latency, CPU,
//!   memory and store growth.
//! - [`listen::verdict`]: how the listener answers one request (status, checks, error).
//! - [`listen::record`]: one request as printed on stdout and appended to `--jsonl`.
//! - [`secrets`]: reading `--signing-token` values and keeping tokens out of everything printed.
//!
//! Each subcommand owns its flags (`Args`) and its `run`; this file only parses the command line
//! and turns an error into one line on stderr and a non-zero exit status.

mod backup;
mod bench;
mod git_hook;
mod listen;
mod migrate;
mod secrets;
mod serve;
mod trigger;
mod vacuum;

use std::io::IsTerminal;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a delivery allocates and frees many small
/// buffers across threads (request, JSON, rows), which glibc's malloc spent a sixth of the
/// server's CPU on (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "wvs", version, about = "WVS webhook server")]
struct Cli {
    /// Diagnostics on stderr as text lines or as one JSON object per line; `RUST_LOG` sets
    /// the level (`RUST_LOG=debug` logs one line per delivery attempt)
    #[arg(long, env = "WVS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: REST API, ingest and delivery, on ./wvs.db by default.
    // Boxed: the server's settings are many times larger than the other commands' arguments.
    Serve(Box<serve::Args>),
    /// Send a sample event to a URL exactly as WVS delivers it.
    Trigger(trigger::Args),
    /// Receive webhooks: check, print and log each one, and answer at once.
    Listen(listen::Args),
    /// Apply the store's schema migrations (SQLite or PostgreSQL) and exit.
    Migrate(migrate::Args),
    /// Measure throughput and latency end to end: start a server and a receiver, post
    /// events, and report what it took.
    Bench(Box<bench::Args>),
    /// Report pushes from a Git server: the post-receive hook, its installer and its spool.
    GitHook(git_hook::Args),
    /// Copy a SQLite store consistently while a server keeps using it.
    Backup(backup::Args),
    /// Give the space that retention freed in a stopped SQLite store back to the disk.
    Vacuum(vacuum::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parse_command_line();
    // Diagnostics go to stderr so that stdout carries only what the subcommand reports.
    // `try_init` only fails when a subscriber is already set, and then that one is used.
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours on a terminal only: a log file or journal gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        );
    let _ = match cli.log_format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs.json().try_init(),
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Trigger(args) => trigger::run(args).await,
        Command::Listen(args) => listen::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Bench(args) => bench::run(*args).await,
        Command::GitHook(args) => git_hook::run(args).await,
        Command::Backup(args) => backup::run(args).await,
        Command::Vacuum(args) => vacuum::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The command line, with `wvs serve --help` showing each setting's default from the one
/// constant the server applies.
fn parse_command_line() -> Cli {
    let command =
        Cli::command().mut_subcommand("serve", wvs_server::config::defaults::show_in_help);
    Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|err| err.exit())
}

/// The error and its causes on one line ("sending to URL: connection refused"), each said
/// once: many errors already include their source's message in their own (`database error:
/// {0}`, a TOML error naming its file), which `{:#}` would print again after it.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line
}
