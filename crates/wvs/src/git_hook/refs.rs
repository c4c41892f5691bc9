//! From the `<old> <new> <ref>` lines Git gives `post-receive` to the `changes` of a push, with
//! GitLab's rules for which commits each ref change lists:
//!
//! - a new branch that is the default branch, or any new branch while the default branch did
//!   not exist before the push (a first push): the branch's whole history;
//! - another new branch: the commits the default branch does not reach (`default..new`);
//! - an updated branch, forced or not: `old..new`, what is new since `old`;
//! - a removed ref: none;
//! - a tag: the one commit it points to, with `checkout_sha` (the commit, for an annotated
//!   tag) and `message` (the annotation).
//!
//! `total_commits_count` is always the true count of the range; only the newest
//! [`commits::MAX_LISTED`] commits are read.

use serde_json::{Map, Value, json};
use thiserror::Error;

use super::commits::{self, Range};
use super::git::{GitError, Repo};

/// Why the hook's input was refused.
#[derive(Debug, Error)]
pub enum RefError {
    #[error("line {line} of the hook's input is not `<old> <new> <ref>`: {text:?}")]
    Malformed { line: usize, text: String },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// One ref change as Git reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefLine {
    pub old: String,
    pub new: String,
    pub name: String,
}

impl RefLine {
    fn created(&self) -> bool {
        is_zero(&self.old)
    }

    fn removed(&self) -> bool {
        is_zero(&self.new)
    }
}

/// Reads the hook's input. Refs other than branches and tags (notes, merge request refs)
/// are left out: GitLab sends no push event for them.
pub fn parse_lines(input: &str) -> Result<Vec<RefLine>, RefError> {
    let mut lines = Vec::new();
    for (index, text) in input.lines().enumerate() {
        let malformed = || RefError::Malformed {
            line: index + 1,
            text: text.to_owned(),
        };
        if text.trim().is_empty() {
            continue;
        }
        let mut parts = text.split(' ');
        let (Some(old), Some(new), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        if !is_object_id(old) || !is_object_id(new) || name.is_empty() {
            return Err(malformed());
        }
        if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            lines.push(RefLine {
                old: old.to_owned(),
                new: new.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    Ok(lines)
}

/// The `changes` of the push body, one per line, in Git's order.
pub fn changes(repo: &Repo, lines: &[RefLine]) -> Result<Vec<Value>, RefError> {
    let default = default_branch(repo, lines)?;
    lines
        .iter()
        .map(|line| change(repo, line, default.as_deref()))
        .collect::<Result<_, GitError>>()
        .map_err(RefError::from)
}

/// The default branch (what `HEAD` names) if it existed before this push.
fn default_branch(repo: &Repo, lines: &[RefLine]) -> Result<Option<String>, GitError> {
    let Some(head) = repo.optional_line(&["symbolic-ref", "-q", "HEAD"])? else {
        return Ok(None);
    };
    let created_now = lines.iter().any(|l| l.name == head && l.created());
    let exists = repo
        .optional_line(&["rev-parse", "-q", "--verify", &head])?
        .is_some();
    Ok((exists && !created_now).then_some(head))
}

fn change(repo: &Repo, line: &RefLine, default: Option<&str>) -> Result<Value, GitError> {
    let mut change = Map::new();
    change.insert("before".into(), json!(line.old));
    change.insert("after".into(), json!(line.new));
    change.insert("ref".into(), json!(line.name));
    if line.removed() {
        return Ok(Value::Object(change));
    }
    let (range, tag) = if line.name.starts_with("refs/tags/") {
        let tag = tag(repo, &line.new)?;
        let Some(commit) = tag.commit.clone() else {
            // A tag of a tree or a blob: no commit to list.
            return Ok(Value::Object(change));
        };
        let range = Range {
            tips: vec![commit],
            exclude: Vec::new(),
        };
        (range, Some(tag))
    } else {
        (branch_range(line, default), None)
    };
    let listed = match &tag {
        Some(_) => 1,
        None => commits::MAX_LISTED,
    };
    let commits = commits::newest(repo, &range, listed)?;
    let total = match &tag {
        Some(_) => commits.len() as u64,
        None => commits::count(repo, &range)?,
    };
    change.insert("commits".into(), Value::Array(commits));
    change.insert("total_commits_count".into(), json!(total));
    if let Some(tag) = tag {
        if let Some(commit) = tag.commit.filter(|c| *c != line.new) {
            change.insert("checkout_sha".into(), json!(commit));
        }
        if let Some(message) = tag.message {
            change.insert("message".into(), json!(message));
        }
    }
    Ok(Value::Object(change))
}

/// The commits a branch change lists (see the module documentation).
fn branch_range(line: &RefLine, default: Option<&str>) -> Range {
    let exclude = match (line.created(), default) {
        (false, _) => vec![line.old.clone()],
        (true, Some(default)) if default != line.name => vec![default.to_owned()],
        (true, _) => Vec::new(),
    };
    Range {
        tips: vec![line.new.clone()],
        exclude,
    }
}

/// What a tag points to.
struct Tag {
    /// The commit it reaches (`None` for a tag of a tree or a blob).
    commit: Option<String>,
    /// An annotated tag's message, without the trailing newline and any signature.
    message: Option<String>,
}

fn tag(repo: &Repo, object: &str) -> Result<Tag, GitError> {
    let commit = repo.optional_line(&[
        "rev-parse",
        "-q",
        "--verify",
        &format!("{object}^{{commit}}"),
    ])?;
    let message = if repo.line(&["cat-file", "-t", object])? == "tag" {
        let raw = repo.line(&["cat-file", "tag", object])?;
        Some(annotation(&raw))
    } else {
        None
    };
    Ok(Tag { commit, message })
}

/// A tag object's message: what follows its header, without a PGP or SSH signature.
fn annotation(raw: &str) -> String {
    let body = raw.split_once("\n\n").map_or("", |(_, body)| body);
    let body = body
        .find("-----BEGIN ")
        .map_or(body, |start| &body[..start]);
    body.trim_end().to_owned()
}

/// Whether an object id is the all-zeros id Git uses for "no ref".
fn is_zero(id: &str) -> bool {
    id.bytes().all(|b| b == b'0')
}

/// A SHA-1 or SHA-256 object id in lowercase hex.
fn is_object_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64)
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn lines_are_read_and_other_refs_left_out() {
        let input = format!(
            "{ZERO} {A} refs/heads/main\n{A} {ZERO} refs/tags/v1\n{ZERO} {A} refs/notes/commits\n\n"
        );
        let lines = parse_lines(&input).unwrap();
        let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["refs/heads/main", "refs/tags/v1"]);
        assert!(lines[0].created() && lines[1].removed());
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        for bad in [
            "nonsense",
            "abc def refs/heads/x",
            &format!("{A} {A}"),
            &format!("{A} {A} r x"),
        ] {
            let input = format!("{ZERO} {A} refs/heads/main\n{bad}\n");
            let error = parse_lines(&input).unwrap_err().to_string();
            assert!(error.starts_with("line 2 of the hook's input"), "{error}");
        }
    }

    #[test]
    fn branch_ranges_follow_gitlab() {
        let line = |old: &str, name: &str| RefLine {
            old: old.into(),
            new: A.into(),
            name: name.into(),
        };
        let main = "refs/heads/main";
        let exclude = |l: RefLine, d: Option<&str>| branch_range(&l, d).exclude;
        assert_eq!(exclude(line(ZERO, main), Some(main)), Vec::<String>::new());
        assert_eq!(
            exclude(line(ZERO, "refs/heads/topic"), None),
            Vec::<String>::new()
        );
        assert_eq!(exclude(line(ZERO, "refs/heads/topic"), Some(main)), [main]);
        let old = "1".repeat(40);
        assert_eq!(exclude(line(&old, "refs/heads/topic"), Some(main)), [old]);
    }

    #[test]
    fn annotations_lose_their_header_and_signature() {
        let raw = "object 1\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n\nRelease 1\n\nNotes.\n-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n";
        assert_eq!(annotation(raw), "Release 1\n\nNotes.");
    }
}
