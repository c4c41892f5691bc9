//! The repository, read with the `git` binary as a subprocess.
//!
//! Why a subprocess rather than a Git library: every Git server already has `git` (it runs
//! this hook), WVS gains no heavy dependency, and the answers are exactly those of the
//! repository's own Git: its version, its configuration (`diff.renames`, object format,
//! alternates) and its view of the refs during `post-receive`.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// Why Git could not answer.
#[derive(Debug, Error)]
pub enum GitError {
    #[error("could not run git: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("git {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
}

/// A repository (its Git directory).
#[derive(Debug, Clone)]
pub struct Repo {
    git_dir: PathBuf,
}

impl Repo {
    /// The repository at `path` (a bare repository, a work tree, or `.` inside a hook).
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        let output = run(Command::new("git")
            .arg("-C")
            .arg(path)
            .args(["rev-parse", "--absolute-git-dir"]))?;
        Ok(Repo {
            git_dir: PathBuf::from(text(output).trim_end()),
        })
    }

    /// The absolute Git directory.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// Runs `git <args>` on this repository and returns its stdout.
    pub fn output(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        run(Command::new("git")
            .arg("--git-dir")
            .arg(&self.git_dir)
            .args(args))
    }

    /// Like [`Repo::output`], as text without the final newline.
    pub fn line(&self, args: &[&str]) -> Result<String, GitError> {
        let mut line = text(self.output(args)?);
        line.truncate(line.trim_end_matches('\n').len());
        Ok(line)
    }

    /// Runs `git <args>` where exit status 1 means "none" (`config --get`, `symbolic-ref -q`,
    /// `rev-parse -q --verify`).
    pub fn optional_line(&self, args: &[&str]) -> Result<Option<String>, GitError> {
        let output = Command::new("git")
            .arg("--git-dir")
            .arg(&self.git_dir)
            .args(args)
            .output()
            .map_err(GitError::Spawn)?;
        match output.status.code() {
            Some(0) => Ok(Some(text(output.stdout).trim_end().to_owned())),
            Some(1) => Ok(None),
            _ => Err(failed(args.iter().copied(), &output.stderr)),
        }
    }

    /// A `git config` value (repository, global and system configuration, as Git reads them).
    pub fn config(&self, key: &str) -> Result<Option<String>, GitError> {
        self.optional_line(&["config", "--get", key])
    }
}

fn run(command: &mut Command) -> Result<Vec<u8>, GitError> {
    let output = command.output().map_err(GitError::Spawn)?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Err(failed(args.iter().map(String::as_str), &output.stderr))
    }
}

fn failed<'a>(args: impl Iterator<Item = &'a str>, stderr: &[u8]) -> GitError {
    GitError::Failed {
        args: args.collect::<Vec<_>>().join(" "),
        stderr: String::from_utf8_lossy(stderr).trim().to_owned(),
    }
}

/// Git's output as text; bytes that are not UTF-8 (old commits in Latin-1) are replaced.
pub fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
