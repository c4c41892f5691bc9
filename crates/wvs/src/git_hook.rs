//! `wvs git-hook`: turns any Git server into a source of GitLab push webhooks.
//!
//! - `post-receive`: run as (or from) a repository's `hooks/post-receive`. Reads the
//!   `<old> <new> <ref>` lines Git gives the hook, reads the commits from the repository,
//!   writes the push to the spool and sends the spool, oldest first, to WVS's push processing
//!   (`POST /api/v4/projects/:id/push`). It never fails a push over WVS: what WVS did not
//!   take stays spooled for the next push or `flush`.
//! - `flush`: sends what the spool holds.
//! - `install REPO`: writes the hook (see [`install`]).
//!
//! # Layout
//!
//! - [`git`]: the repository, read with the `git` binary (the module says why).
//! - [`refs`]: the ref lines, and the commits GitLab lists for each change.
//! - [`commits`]: the newest commits of a range and their files, and its count.
//! - [`options`]: `git push -o` options as GitLab's `push_options`.
//! - [`spool`]: one file per push until WVS accepted it.
//! - [`client`]: the requests to WVS.
//! - [`settings`]: flags, `WVS_*` variables, `git config wvs.*`.
//! - [`install`]: `wvs git-hook install`.

mod client;
mod commits;
mod git;
mod install;
mod options;
mod refs;
mod settings;
mod spool;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Value, json};

use client::{Client, SendError};
use git::Repo;
use settings::{Flags, Settings};
use spool::Spool;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: HookCommand,
}

#[derive(Subcommand)]
enum HookCommand {
    /// Run as a repository's post-receive hook: report the push on stdin to WVS.
    PostReceive(RepoArgs),
    /// Send the pushes waiting in the repository's spool (wvs-spool/), oldest first.
    Flush(RepoArgs),
    /// Install the post-receive hook in a repository.
    Install(install::Args),
}

#[derive(clap::Args)]
struct RepoArgs {
    /// The repository (default: the current directory, which is the repository in a hook)
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    #[command(flatten)]
    flags: Flags,
}

pub async fn run(args: Args) -> Result<()> {
    match args.command {
        HookCommand::PostReceive(args) => post_receive(&args).await,
        HookCommand::Flush(args) => flush(&args).await,
        HookCommand::Install(args) => {
            let hook = install::install(&args)?;
            println!("installed {}", hook.display());
            Ok(())
        }
    }
}

async fn post_receive(args: &RepoArgs) -> Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the hook's input")?;
    let repo = open(&args.repo)?;
    let settings = args.flags.resolve(&repo)?;
    let client = connect(&settings)?;
    let lines = refs::parse_lines(&input)?;
    let spool = Spool::of(repo.git_dir());
    let mut target = target(client.as_ref(), &settings);
    if !lines.is_empty() {
        let changes = refs::changes(&repo, &lines).context("reading the pushed commits")?;
        let username = args.flags.pusher(&repo)?;
        let user = match &target {
            Target::Ready { client, .. } => match client.user(&username).await {
                Ok(user) => user,
                // Unreachable: the push is spooled at once instead of waiting out a second
                // timeout.
                Err(error) => {
                    target = Target::NotNow(error.to_string());
                    None
                }
            },
            Target::NotNow(_) => None,
        };
        let body = json!({
            "user": pusher(&username, user),
            "changes": changes,
            "push_options": options::push_options(&options::from_env()),
        });
        spool
            .add(repo.git_dir(), &input, body)
            .context("spooling the push")?;
    }
    // The hook may hold the push only briefly: what is not sent by then waits for the next.
    let deadline = Instant::now() + 2 * settings.timeout;
    let outcome = send_spool(&spool, &target, Some(deadline)).await?;
    if let Some(note) = outcome.note() {
        eprintln!("wvs: {note}");
    }
    Ok(())
}

async fn flush(args: &RepoArgs) -> Result<()> {
    let repo = open(&args.repo)?;
    let settings = args.flags.resolve(&repo)?;
    let client = connect(&settings)?;
    let spool = Spool::of(repo.git_dir());
    let outcome = send_spool(&spool, &target(client.as_ref(), &settings), None).await?;
    println!("{} sent, {} waiting", outcome.sent, outcome.waiting);
    match outcome.stopped {
        Some(reason) => bail!("{reason}"),
        None => Ok(()),
    }
}

fn open(path: &Path) -> Result<Repo> {
    Repo::open(path).with_context(|| format!("opening the repository {}", path.display()))
}

fn connect(settings: &Settings) -> Result<Option<Client>> {
    settings
        .url
        .as_deref()
        .map(|url| Client::new(url, settings.token.clone(), settings.timeout))
        .transpose()
        .context("setting up the HTTP client")
}

/// The `user` block: the registry's user of that username, else the username alone (id 0,
/// no email: the hook knows no more).
fn pusher(username: &str, registry: Option<Value>) -> Value {
    match registry {
        Some(user) => json!({
            "id": user["id"],
            "name": user["name"],
            "username": user["username"],
            "email": user["email"],
        }),
        None => json!({"id": 0, "name": username, "username": username, "email": ""}),
    }
}

/// What a pass over the spool did.
#[derive(Debug, Default)]
struct Outcome {
    sent: usize,
    waiting: usize,
    /// Why sending stopped with pushes still waiting.
    stopped: Option<String>,
}

impl Outcome {
    /// What the pusher should read, if anything.
    fn note(&self) -> Option<String> {
        let reason = self.stopped.as_ref()?;
        Some(format!(
            "{reason}; {} push(es) wait in wvs-spool/ for the next push or `wvs git-hook flush`",
            self.waiting
        ))
    }
}

/// Where the spool goes, or why it cannot go now.
enum Target<'a> {
    Ready {
        client: &'a Client,
        project: &'a str,
    },
    NotNow(String),
}

fn target<'a>(client: Option<&'a Client>, settings: &'a Settings) -> Target<'a> {
    match (client, settings.project.as_deref()) {
        (Some(client), Some(project)) => Target::Ready { client, project },
        _ => Target::NotNow("wvs.url or wvs.project is not set".to_owned()),
    }
}

/// Sends the spooled pushes oldest first, until one is not taken or the deadline passes.
async fn send_spool(
    spool: &Spool,
    target: &Target<'_>,
    deadline: Option<Instant>,
) -> Result<Outcome> {
    let locked = spool.lock()?;
    let pending = locked.pending()?;
    let mut outcome = Outcome {
        waiting: pending.len(),
        ..Outcome::default()
    };
    if pending.is_empty() {
        return Ok(outcome);
    }
    let (client, project) = match target {
        Target::Ready { client, project } => (*client, *project),
        Target::NotNow(reason) => {
            outcome.stopped = Some(reason.clone());
            return Ok(outcome);
        }
    };
    for path in pending {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            outcome.stopped = Some("out of time for this push".to_owned());
            break;
        }
        let entry = match locked.read(&path) {
            Ok(entry) => entry,
            Err(error) => {
                let moved = locked.reject(&path)?;
                eprintln!("wvs: {error}; moved to {}", moved.display());
                outcome.waiting -= 1;
                continue;
            }
        };
        match client
            .push(project, &entry.idempotency_key, &entry.body)
            .await
        {
            Ok(()) => {
                locked.done(&path)?;
                outcome.sent += 1;
                outcome.waiting -= 1;
            }
            Err(error @ SendError::Refused { .. }) => {
                let moved = locked.reject(&path)?;
                eprintln!("wvs: {error}; kept in {}", moved.display());
                outcome.waiting -= 1;
            }
            Err(error) => {
                outcome.stopped = Some(error.to_string());
                break;
            }
        }
    }
    Ok(outcome)
}
