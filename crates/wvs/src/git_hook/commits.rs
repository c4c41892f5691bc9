//! The commits of a push as GitLab lists them: the newest [`MAX_LISTED`] of a revision range,
//! oldest first, each with its author, dates and the files its diff against its first parent
//! added, modified or removed. Only those commits are read: the rest of the range is counted
//! by `git rev-list --count`, so a push of 10,000 commits costs about what one of 20 does.

use serde_json::{Value, json};

use super::git::{GitError, Repo, text};

/// How many commits a payload lists (GitLab keeps the newest 20).
pub const MAX_LISTED: usize = 20;

/// Fields of one commit in the `git log` format below, in order.
const FIELDS: usize = 6;
/// Id, parents, author name, author email, committer date (strict ISO 8601 with the offset
/// it was recorded with: GitLab's `timestamp` is the commit's `committed_date`, not the
/// author date), raw message; `-z` ends each commit with a NUL, the fields are NUL-separated.
const FORMAT: &str = "--format=%H%x00%P%x00%an%x00%ae%x00%cI%x00%B";

/// A revision range in `git rev-list` terms: these tips, minus what these exclusions reach.
#[derive(Debug, Clone)]
pub struct Range {
    pub tips: Vec<String>,
    pub exclude: Vec<String>,
}

impl Range {
    fn args(&self) -> Vec<&str> {
        let mut args: Vec<&str> = self.tips.iter().map(String::as_str).collect();
        if !self.exclude.is_empty() {
            args.push("--not");
            args.extend(self.exclude.iter().map(String::as_str));
        }
        // Nothing after this is a path.
        args.push("--");
        args
    }
}

/// How many commits the range holds.
pub fn count(repo: &Repo, range: &Range) -> Result<u64, GitError> {
    let mut args = vec!["rev-list", "--count"];
    args.extend(range.args());
    let line = repo.line(&args)?;
    line.parse().map_err(|_| GitError::Failed {
        args: args.join(" "),
        stderr: format!("not a count: {line:?}"),
    })
}

/// The newest `limit` commits of the range, oldest first, as push payloads list them.
pub fn newest(repo: &Repo, range: &Range, limit: usize) -> Result<Vec<Value>, GitError> {
    let limit = limit.to_string();
    let mut args = vec!["log", "-z", FORMAT, "-n", &limit];
    args.extend(range.args());
    let output = text(repo.output(&args)?);
    let fields: Vec<&str> = output
        .strip_suffix('\0')
        .unwrap_or(&output)
        .split('\0')
        .collect();
    let mut commits = fields
        .chunks(FIELDS)
        .filter_map(|chunk| <&[&str; FIELDS]>::try_from(chunk).ok())
        .map(|fields| commit(repo, fields))
        .collect::<Result<Vec<_>, _>>()?;
    commits.reverse();
    Ok(commits)
}

fn commit(repo: &Repo, fields: &[&str; FIELDS]) -> Result<Value, GitError> {
    let [id, parents, name, email, date, message] = fields;
    let files = changed_files(repo, id, parents.split(' ').find(|p| !p.is_empty()))?;
    // `title` and `url` are left to WVS, which derives them as GitLab does.
    Ok(json!({
        "id": id,
        "message": message,
        "timestamp": date,
        "author": {"name": name, "email": email},
        "added": files.added,
        "modified": files.modified,
        "removed": files.removed,
    }))
}

/// A commit's files, as GitLab's push payloads report them.
#[derive(Debug, Default, PartialEq)]
pub struct Files {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

/// The files of the commit's diff against its first parent (a root commit: against nothing;
/// a merge: against the branch it was merged into), renames detected. GitLab lists a renamed
/// file's new path as added and does not list its old path at all; so does this.
fn changed_files(repo: &Repo, id: &str, parent: Option<&str>) -> Result<Files, GitError> {
    let mut args = vec![
        "diff-tree",
        "-r",
        "-z",
        "-M",
        "--name-status",
        "--no-commit-id",
    ];
    match parent {
        Some(parent) => args.extend([parent, id]),
        None => args.extend(["--root", id]),
    }
    Ok(parse_name_status(&text(repo.output(&args)?)))
}

/// Reads `--name-status -z` output: a status, then one path (two for renames and copies).
fn parse_name_status(output: &str) -> Files {
    let mut files = Files::default();
    let mut items = output.split('\0').filter(|item| !item.is_empty());
    while let Some(status) = items.next() {
        let two_paths = status.starts_with('R') || status.starts_with('C');
        let first = items.next().unwrap_or_default().to_owned();
        let path = if two_paths {
            items.next().unwrap_or_default().to_owned()
        } else {
            first
        };
        match status.as_bytes().first() {
            Some(b'A' | b'R' | b'C') => files.added.push(path),
            Some(b'D') => files.removed.push(path),
            _ => files.modified.push(path),
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_follows_gitlab() {
        let files = parse_name_status(
            "A\0new.txt\0M\0lib.rs\0D\0gone.md\0R087\0old.rs\0moved.rs\0T\0link\0",
        );
        assert_eq!(
            files,
            Files {
                added: vec!["new.txt".into(), "moved.rs".into()],
                modified: vec!["lib.rs".into(), "link".into()],
                removed: vec!["gone.md".into()],
            }
        );
        assert_eq!(parse_name_status(""), Files::default());
    }
}
