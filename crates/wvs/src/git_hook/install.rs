//! `wvs git-hook install REPO`: makes a repository report its pushes. Writes
//! `hooks/post-receive` (where `core.hooksPath` says, if set), a two-line script that runs this
//! binary; turns on `receive.advertisePushOptions` so that `git push -o` reaches the hook;
//! and stores the settings given in the repository's `git config`.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::git::{GitError, Repo};

/// The line that marks a hook as written by this command (re-installing replaces it).
const MARKER: &str = "# Written by `wvs git-hook install`";

#[derive(clap::Args)]
pub struct Args {
    /// The repository (bare or not)
    repo: PathBuf,
    /// Store `wvs.url` in the repository's git config
    #[arg(long)]
    url: Option<String>,
    /// Store `wvs.project` (id or `group/project`) in the repository's git config
    #[arg(long)]
    project: Option<String>,
    /// Store `wvs.token` in the repository's git config (readable by whoever can read the
    /// repository; prefer `WVS_TOKEN` in the Git server's environment where you can)
    #[arg(long)]
    token: Option<String>,
    /// Replace a `post-receive` hook this command did not write
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Error)]
pub enum InstallError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(
        "{0} exists and was not written by wvs: keep it and call `wvs git-hook post-receive` from it (passing its input), or pass --force"
    )]
    Exists(PathBuf),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the path of this wvs binary: {0}")]
    Exe(#[source] io::Error),
}

/// Installs the hook; returns its path.
pub fn install(args: &Args) -> Result<PathBuf, InstallError> {
    let repo = Repo::open(&args.repo)?;
    let hooks = hooks_dir(&repo)?;
    let hook = hooks.join("post-receive");
    if hook.exists() && !args.force {
        let ours = fs::read_to_string(&hook).is_ok_and(|text| text.contains(MARKER));
        if !ours {
            return Err(InstallError::Exists(hook));
        }
    }
    let exe = std::env::current_exe().map_err(InstallError::Exe)?;
    let write = |source| InstallError::Write {
        path: hook.clone(),
        source,
    };
    fs::create_dir_all(&hooks).map_err(write)?;
    fs::write(&hook, script(&exe)).map_err(write)?;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).map_err(write)?;
    repo.output(&["config", "receive.advertisePushOptions", "true"])?;
    for (key, value) in [
        ("wvs.url", &args.url),
        ("wvs.project", &args.project),
        ("wvs.token", &args.token),
    ] {
        if let Some(value) = value {
            repo.output(&["config", key, value])?;
        }
    }
    Ok(hook)
}

/// The hooks directory Git runs this repository's hooks from.
fn hooks_dir(repo: &Repo) -> Result<PathBuf, GitError> {
    let path = PathBuf::from(repo.line(&["rev-parse", "--git-path", "hooks"])?);
    Ok(if path.is_absolute() {
        path
    } else {
        repo.git_dir().join(path)
    })
}

fn script(exe: &Path) -> String {
    // Single quotes keep the shell from reading anything in the path; a quote in it is
    // closed, escaped and reopened.
    let quoted = exe.to_string_lossy().replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n{MARKER}: reports each push to WVS as GitLab push events.\n\
         # Settings: git config wvs.url, wvs.project, wvs.token (or WVS_URL, ...).\n\
         exec '{quoted}' git-hook post-receive\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_quotes_the_binary_path() {
        let text = script(Path::new("/opt/it's here/wvs"));
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.ends_with("exec '/opt/it'\\''s here/wvs' git-hook post-receive\n"));
    }
}
