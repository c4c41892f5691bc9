//! The forge's account of a push, as posted to `POST /projects/:id/push`: who pushed, which
//! refs moved and with which commits. Read and checked here, before anything is built; every
//! error names the field (`changes[1].commits[0].id: ...`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use thiserror::Error;

/// Why a push body was refused (400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// The body is not JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// A field is missing, of the wrong type or has a value that cannot be.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

impl InputError {
    fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The pusher, as the `user` block of the documented payloads.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pusher {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// A commit author.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// A commit as the forge knows it; `title` and `url` are derived when absent, the file
/// lists are empty when absent.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Commit")]
pub struct CommitInput {
    pub id: String,
    pub message: String,
    #[serde(default)]
    pub title: Option<String>,
    pub timestamp: String,
    #[serde(default)]
    pub url: Option<String>,
    pub author: Author,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub modified: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RefChange")]
struct ChangeInput {
    before: String,
    after: String,
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    commits: Vec<CommitInput>,
    #[serde(default)]
    total_commits_count: Option<u64>,
    #[serde(default)]
    ref_protected: bool,
    #[serde(default)]
    checkout_sha: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// A push as posted: who pushed, which refs moved and with which commits (the API
/// document's schema of the body is this type's).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PushParams")]
pub struct PushInput {
    user: Pusher,
    changes: Vec<ChangeInput>,
    #[serde(default)]
    push_options: Option<Map<String, Value>>,
}

/// Which namespace a ref lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `refs/heads/...`
    Branch,
    /// `refs/tags/...`
    Tag,
}

/// What a push did to a ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `before` is all zeros.
    Created,
    /// Neither is all zeros.
    Updated,
    /// `after` is all zeros.
    Removed,
}

impl Action {
    /// `created`, `updated` or `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Removed => "removed",
        }
    }
}

/// One checked ref change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: RefKind,
    pub action: Action,
    pub before: String,
    pub after: String,
    pub git_ref: String,
    /// Oldest first, as in the payload.
    pub commits: Vec<CommitInput>,
    /// The true number of new commits, at least `commits.len()`.
    pub total_commits_count: u64,
    pub ref_protected: bool,
    /// A tag's commit when `after` is an annotated tag object (tags only).
    pub checkout_sha: Option<String>,
    /// An annotated tag's message (tags only).
    pub message: Option<String>,
}

/// A checked push.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub user: Pusher,
    pub changes: Vec<Change>,
    /// `{}` when none were given.
    pub push_options: Map<String, Value>,
}

/// Reads and checks a push body.
pub fn parse(body: &[u8]) -> Result<Push, InputError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let input: PushInput =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| from_serde(&e))?;
    deserializer.end().map_err(|e| from_serde_json(&e))?;
    if input.changes.is_empty() {
        return Err(InputError::field(
            "changes",
            "must list at least one ref change",
        ));
    }
    let changes = input
        .changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| check_change(&format!("changes[{index}]"), change))
        .collect::<Result<_, _>>()?;
    Ok(Push {
        user: input.user,
        changes,
        push_options: input.push_options.unwrap_or_default(),
    })
}

fn check_change(at: &str, input: ChangeInput) -> Result<Change, InputError> {
    check_object_id(&format!("{at}.before"), &input.before)?;
    check_object_id(&format!("{at}.after"), &input.after)?;
    let kind = ref_kind(&input.git_ref).ok_or_else(|| {
        InputError::field(
            format!("{at}.ref"),
            "must be refs/heads/<branch> or refs/tags/<tag>",
        )
    })?;
    let action = match (is_zero(&input.before), is_zero(&input.after)) {
        (true, true) => {
            return Err(InputError::field(
                at,
                "before and after cannot both be all zeros",
            ));
        }
        (true, false) => Action::Created,
        (false, true) => Action::Removed,
        (false, false) => Action::Updated,
    };
    if action == Action::Removed && !input.commits.is_empty() {
        return Err(InputError::field(
            format!("{at}.commits"),
            "a removed ref has no new commits",
        ));
    }
    for (index, commit) in input.commits.iter().enumerate() {
        check_object_id(&format!("{at}.commits[{index}].id"), &commit.id)?;
    }
    let given = input.commits.len() as u64;
    let total_commits_count = input.total_commits_count.unwrap_or(given);
    if total_commits_count < given {
        return Err(InputError::field(
            format!("{at}.total_commits_count"),
            format!("is {total_commits_count}, fewer than the {given} commits given"),
        ));
    }
    if kind == RefKind::Branch {
        for (name, given) in [
            ("checkout_sha", input.checkout_sha.is_some()),
            ("message", input.message.is_some()),
        ] {
            if given {
                return Err(InputError::field(
                    format!("{at}.{name}"),
                    "is for tags only",
                ));
            }
        }
    }
    if let Some(sha) = &input.checkout_sha {
        check_object_id(&format!("{at}.checkout_sha"), sha)?;
    }
    Ok(Change {
        kind,
        action,
        before: input.before,
        after: input.after,
        git_ref: input.git_ref,
        commits: input.commits,
        total_commits_count,
        ref_protected: input.ref_protected,
        checkout_sha: input.checkout_sha,
        message: input.message,
    })
}

/// The kind of a full ref name with a non-empty short name.
fn ref_kind(git_ref: &str) -> Option<RefKind> {
    [
        ("refs/heads/", RefKind::Branch),
        ("refs/tags/", RefKind::Tag),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| {
        git_ref
            .strip_prefix(prefix)
            .filter(|name| !name.is_empty())
            .map(|_| kind)
    })
}

/// A SHA-1 (40) or SHA-256 (64) object id in lowercase hex.
fn check_object_id(field: &str, id: &str) -> Result<(), InputError> {
    let hex = id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex && matches!(id.len(), 40 | 64) {
        Ok(())
    } else {
        Err(InputError::field(
            field,
            "must be a 40- or 64-character lowercase hex object id",
        ))
    }
}

/// Whether an object id is the all-zeros id Git uses for "no ref".
pub fn is_zero(id: &str) -> bool {
    id.bytes().all(|b| b == b'0')
}

fn from_serde(error: &serde_path_to_error::Error<serde_json::Error>) -> InputError {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() {
        return from_serde_json(inner);
    }
    let path = error.path().to_string();
    let message = without_position(&inner.to_string());
    // serde reports a missing field at its parent: name the field itself.
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return InputError::field(field, "is missing");
    }
    let field = if path == "." { "body".to_owned() } else { path };
    InputError::field(field, message)
}

fn from_serde_json(error: &serde_json::Error) -> InputError {
    InputError::Json {
        line: error.line(),
        column: error.column(),
        message: without_position(&error.to_string()),
    }
}

/// serde_json's message without its ` at line L column C` suffix.
fn without_position(message: &str) -> String {
    message
        .rsplit_once(" at line ")
        .map_or(message, |(text, _)| text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const OLD: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";
    const NEW: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn body() -> Value {
        json!({
            "user": {"id": 4, "name": "John Smith", "username": "jsmith", "email": "john@example.com"},
            "changes": [{
                "before": OLD, "after": NEW, "ref": "refs/heads/master",
                "commits": [{"id": NEW, "message": "fixed readme", "timestamp": "2012-01-03T23:36:29+02:00",
                             "author": {"name": "A", "email": "a@example.com"}}],
            }],
        })
    }

    fn error(body: &Value) -> String {
        parse(&serde_json::to_vec(body).unwrap())
            .unwrap_err()
            .to_string()
    }

    /// `body()` with the value at a JSON pointer replaced (`None`: removed).
    fn with(pointer: &str, value: Option<Value>) -> Value {
        let mut body = body();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = body.pointer_mut(parent).unwrap();
        match (parent, value) {
            (Value::Object(map), Some(value)) => {
                map.insert(key.to_owned(), value);
            }
            (Value::Object(map), None) => {
                map.remove(key);
            }
            (other, _) => panic!("not an object: {other}"),
        }
        body
    }

    #[test]
    fn a_complete_push_reads() {
        let push = parse(&serde_json::to_vec(&body()).unwrap()).unwrap();
        let change = &push.changes[0];
        assert_eq!(
            (change.kind, change.action),
            (RefKind::Branch, Action::Updated)
        );
        assert_eq!(change.total_commits_count, 1);
        assert_eq!(push.user.avatar_url, None);
        assert!(push.push_options.is_empty());
    }

    #[test]
    fn actions_follow_the_zero_ids() {
        let created = with("/changes/0/before", Some(json!(ZERO)));
        let push = parse(&serde_json::to_vec(&created).unwrap()).unwrap();
        assert_eq!(push.changes[0].action, Action::Created);
        let mut removed = with("/changes/0/after", Some(json!(ZERO)));
        removed["changes"][0]["commits"] = json!([]);
        let push = parse(&serde_json::to_vec(&removed).unwrap()).unwrap();
        assert_eq!(push.changes[0].action, Action::Removed);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (with("/user/email", None), "user.email: is missing"),
            (
                with("/user/id", Some(json!("four"))),
                "user.id: invalid type",
            ),
            (
                with("/changes", Some(json!([]))),
                "changes: must list at least one",
            ),
            (
                with("/changes/0/ref", Some(json!("master"))),
                "changes[0].ref: must be refs/heads/<branch> or refs/tags/<tag>",
            ),
            (
                with("/changes/0/ref", Some(json!("refs/heads/"))),
                "changes[0].ref: must be",
            ),
            (
                with("/changes/0/before", Some(json!("abc"))),
                "changes[0].before: must be a 40- or 64-character",
            ),
            (
                with("/changes/0/commits/0/id", Some(json!("XYZ"))),
                "changes[0].commits[0].id: must be",
            ),
            (
                with("/changes/0/commits/0/author", None),
                "changes[0].commits[0].author: is missing",
            ),
            (
                with("/changes/0/total_commits_count", Some(json!(0))),
                "changes[0].total_commits_count: is 0, fewer than the 1 commits given",
            ),
            (
                with("/changes/0/message", Some(json!("hi"))),
                "changes[0].message: is for tags only",
            ),
            (
                with("/changes/0/after", Some(json!(ZERO))),
                "changes[0].commits: a removed ref has no new commits",
            ),
            (
                with("/changes/0/colour", Some(json!("red"))),
                "changes[0].colour: unknown field `colour`",
            ),
            (
                with("/push_options", Some(json!(["ci.skip"]))),
                "push_options: invalid type",
            ),
        ];
        for (body, want) in cases {
            let got = error(&body);
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
        let mut both_zero = with("/changes/0/before", Some(json!(ZERO)));
        both_zero["changes"][0]["after"] = json!(ZERO);
        assert_eq!(
            error(&both_zero),
            "changes[0]: before and after cannot both be all zeros"
        );
    }

    #[test]
    fn bad_json_says_where() {
        let error = parse(b"{\"user\": ").unwrap_err();
        assert!(matches!(error, InputError::Json { line: 1, .. }), "{error}");
        assert!(parse(b"{} x").is_err());
    }
}
