//! The documented payloads of a push: one `push` or `tag_push` event per ref change and one
//! `repository_update` per push.
//!
//! Push and tag push payloads carry the keys of the documented example in its order
//! (`object_kind`, `event_name`, `before`, `after`, `ref`, `checkout_sha`, the pusher,
//! `project_id`, `project`, `repository`, `commits`, `total_commits_count`) and, where
//! current GitLab puts them, `ref_protected` (after `ref`), `message` (after
//! `checkout_sha`) and `push_options` (last).

use wvs_events::Event;
use wvs_events::Opt;
use wvs_events::model::common::{Author, Commit};
use wvs_events::model::push::PushEvent;
use wvs_events::model::system::{RefChange, RepositoryUpdateEvent};

use super::input::{Action, Change, CommitInput, Push, RefKind};
use crate::project_blocks::Blocks;

/// Commits a push payload lists at most: the newest ones (GitLab: "If a push includes more
/// than 20 commits, the payload contains only the newest 20").
pub const MAX_PAYLOAD_COMMITS: usize = 20;

/// The event name of a change to a ref of this kind: `push` or `tag_push`.
pub fn event_name(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Branch => "push",
        RefKind::Tag => "tag_push",
    }
}

/// The `push` (branch) or `tag_push` (tag) event of one ref change.
pub fn ref_event(push: &Push, change: &Change, blocks: &Blocks) -> Event {
    let name = event_name(change.kind);
    let checkout_sha = match change.action {
        Action::Removed => None,
        Action::Created | Action::Updated => {
            Some(change.checkout_sha.clone().unwrap_or(change.after.clone()))
        }
    };
    let newest = change.commits.len().saturating_sub(MAX_PAYLOAD_COMMITS);
    let commits = change.commits[newest..]
        .iter()
        .map(|commit| commit_block(commit, &blocks.web_url))
        .collect();
    let user = &push.user;
    let mut extra = serde_json::Map::new();
    extra.insert(
        "push_options".into(),
        serde_json::Value::Object(push.push_options.clone()),
    );
    let event = PushEvent {
        object_kind: Opt::Value(name.to_owned()),
        event_name: Opt::Value(name.to_owned()),
        before: change.before.clone(),
        after: change.after.clone(),
        git_ref: change.git_ref.clone(),
        ref_protected: Opt::Value(change.ref_protected),
        checkout_sha: Opt::from(checkout_sha),
        message: Opt::from(change.message.clone()),
        user_id: Opt::Value(user.id),
        user_name: Opt::Value(user.name.clone()),
        user_username: Opt::Value(user.username.clone()),
        user_email: Opt::Value(user.email.clone()),
        user_avatar: Opt::from(user.avatar_url.clone()),
        project_id: Opt::Value(blocks.project_id),
        project: Opt::Value(blocks.project.clone()),
        repository: Opt::Value(blocks.repository.clone()),
        commits: Opt::Value(commits),
        total_commits_count: Opt::Value(
            i64::try_from(change.total_commits_count).unwrap_or(i64::MAX),
        ),
        extra,
    };
    match change.kind {
        RefKind::Branch => Event::Push(event),
        RefKind::Tag => Event::TagPush(event),
    }
}

/// The one `repository_update` system event of a push: every ref it changed.
pub fn repository_update(push: &Push, blocks: &Blocks) -> Event {
    let user = &push.user;
    Event::RepositoryUpdate(RepositoryUpdateEvent {
        event_name: "repository_update".to_owned(),
        user_id: Opt::Value(user.id),
        user_name: Opt::Value(user.name.clone()),
        user_email: Opt::Value(user.email.clone()),
        user_avatar: Opt::from(user.avatar_url.clone()),
        project_id: blocks.project_id,
        project: Opt::Value(blocks.project.clone()),
        changes: push
            .changes
            .iter()
            .map(|change| RefChange {
                before: change.before.clone(),
                after: change.after.clone(),
                git_ref: change.git_ref.clone(),
                extra: Default::default(),
            })
            .collect(),
        refs: push.changes.iter().map(|c| c.git_ref.clone()).collect(),
        extra: Default::default(),
    })
}

/// A commit as push payloads list it; the title is the message's first line and the URL
/// the project's commit page unless the forge gave them.
fn commit_block(commit: &CommitInput, web_url: &str) -> Commit {
    let title = commit
        .title
        .clone()
        .unwrap_or_else(|| commit.message.lines().next().unwrap_or_default().to_owned());
    let url = commit
        .url
        .clone()
        .unwrap_or_else(|| format!("{web_url}/commit/{}", commit.id));
    Commit {
        id: commit.id.clone(),
        message: Opt::Value(commit.message.clone()),
        title: Opt::Value(title),
        timestamp: Opt::Value(commit.timestamp.clone()),
        url: Opt::Value(url),
        author: Opt::Value(Author {
            name: commit.author.name.clone(),
            email: Opt::Value(commit.author.email.clone()),
            extra: Default::default(),
        }),
        added: Opt::Value(commit.added.clone()),
        modified: Opt::Value(commit.modified.clone()),
        removed: Opt::Value(commit.removed.clone()),
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use wvs_events::EventKind;
    use wvs_store::ProjectAttributes;

    use super::*;
    use crate::documented::{assert_documented_keys, fixture};
    use crate::project_blocks::testing::keys;
    use crate::push::input;

    const ZERO: &str = "0000000000000000000000000000000000000000";
    const OLD: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";
    const NEW: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";

    fn sha(n: usize) -> String {
        format!("{n:040x}")
    }

    fn commits(count: usize) -> Vec<Value> {
        (1..=count)
            .map(|n| {
                json!({
                    "id": sha(n),
                    "message": format!("Commit {n}\n\nBody of {n}."),
                    "timestamp": "2012-01-03T23:36:29+02:00",
                    "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
                    "added": ["CHANGELOG"],
                })
            })
            .collect()
    }

    fn blocks() -> Blocks {
        crate::project_blocks::testing::diaspora(ProjectAttributes::default())
    }

    /// A push of `changes` by John Smith.
    fn push(changes: Value) -> Push {
        let body = json!({
            "user": {"id": 4, "name": "John Smith", "username": "jsmith",
                     "email": "john@example.com", "avatar_url": "https://s.gravatar.com/a"},
            "changes": changes,
        });
        input::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    fn built(change: Value) -> Value {
        let push = push(json!([change]));
        ref_event(&push, &push.changes[0], &blocks()).to_value()
    }

    #[test]
    fn more_than_20_commits_keep_the_newest_20_and_the_true_count() {
        let payload = built(
            json!({"before": OLD, "after": sha(25), "ref": "refs/heads/master",
                                   "commits": commits(25)}),
        );
        let ids: Vec<&str> = payload["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let newest: Vec<String> = (6..=25).map(sha).collect();
        assert_eq!(ids, newest);
        assert_eq!(payload["total_commits_count"], 25);
        assert_eq!(payload["checkout_sha"], json!(sha(25)));
    }

    #[test]
    fn a_given_total_commits_count_wins() {
        let payload = built(
            json!({"before": OLD, "after": sha(2), "ref": "refs/heads/master",
                                   "commits": commits(2), "total_commits_count": 4}),
        );
        assert_eq!(payload["commits"].as_array().unwrap().len(), 2);
        assert_eq!(payload["total_commits_count"], 4);
    }

    #[test]
    fn a_new_branch_without_commits_lists_none() {
        let payload = built(json!({"before": ZERO, "after": NEW, "ref": "refs/heads/topic"}));
        assert_eq!(payload["commits"], json!([]));
        assert_eq!(payload["total_commits_count"], 0);
        assert_eq!(payload["checkout_sha"], NEW);
    }

    #[test]
    fn a_deleted_branch_has_no_checkout_sha() {
        let payload = built(json!({"before": OLD, "after": ZERO, "ref": "refs/heads/topic"}));
        assert_eq!(payload["checkout_sha"], Value::Null);
        assert_eq!(payload["after"], ZERO);
        assert_eq!(payload["commits"], json!([]));
    }

    #[test]
    fn commit_titles_and_urls_are_derived_when_absent() {
        let payload = built(
            json!({"before": OLD, "after": sha(1), "ref": "refs/heads/master",
                                   "commits": commits(1)}),
        );
        let commit = &payload["commits"][0];
        assert_eq!(commit["title"], "Commit 1");
        assert_eq!(commit["message"], "Commit 1\n\nBody of 1.");
        assert_eq!(
            commit["url"],
            json!(format!(
                "http://example.com/mike/diaspora/commit/{}",
                sha(1)
            ))
        );
        assert_eq!(commit["modified"], json!([]));
    }

    #[test]
    fn an_annotated_tag_carries_its_commit_and_message() {
        let payload = built(
            json!({"before": ZERO, "after": NEW, "ref": "refs/tags/v1.0.0",
                                   "checkout_sha": OLD, "message": "Release 1.0"}),
        );
        assert_eq!(payload["object_kind"], "tag_push");
        assert_eq!(payload["checkout_sha"], OLD);
        assert_eq!(payload["message"], "Release 1.0");
    }

    #[test]
    fn push_payloads_have_the_documented_keys_in_the_documented_order() {
        let branch = built(
            json!({"before": OLD, "after": sha(2), "ref": "refs/heads/master",
                                  "commits": commits(2)}),
        );
        let tag = built(json!({"before": ZERO, "after": NEW, "ref": "refs/tags/v1.0.0"}));
        let exact = [
            "object_kind",
            "event_name",
            "before",
            "after",
            "ref",
            "ref_protected",
            "checkout_sha",
            "message",
            "user_id",
            "user_name",
            "user_username",
            "user_email",
            "user_avatar",
            "project_id",
            "project",
            "repository",
            "commits",
            "total_commits_count",
            "push_options",
        ];
        for (payload, file, kind) in [
            (
                &branch,
                "gitlab-17.8/webhook-events/push.json",
                EventKind::Push,
            ),
            (
                &tag,
                "gitlab-17.8/webhook-events/tag_push.json",
                EventKind::TagPush,
            ),
        ] {
            assert_eq!(keys(payload), exact, "{file}");
            assert_documented_keys(payload, &fixture(file), file);
            // The system hook variant's keys are all there too: system hooks get this body.
            let system = file.replace("webhook-events/", "system-hooks/system-");
            assert_documented_keys(payload, &fixture(&system), &system);
            let parsed = Event::from_slice(&serde_json::to_vec(payload).unwrap()).unwrap();
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.to_value(), *payload, "a lossless round trip");
        }
        assert_eq!(branch["push_options"], json!({}));
        assert_eq!(branch["ref_protected"], false);
        assert_eq!(branch["message"], Value::Null);
    }

    #[test]
    fn the_repository_update_lists_every_ref_in_the_documented_shape() {
        let push = push(json!([
            {"before": OLD, "after": NEW, "ref": "refs/heads/master"},
            {"before": ZERO, "after": NEW, "ref": "refs/tags/v1.0.0"},
        ]));
        let event = repository_update(&push, &blocks());
        let payload = event.to_value();
        assert_eq!(
            keys(&payload),
            [
                "event_name",
                "user_id",
                "user_name",
                "user_email",
                "user_avatar",
                "project_id",
                "project",
                "changes",
                "refs"
            ]
        );
        let documented = fixture("gitlab-17.8/system-hooks/repository_update.json");
        assert_documented_keys(&payload, &documented, "repository_update");
        assert_eq!(
            payload["changes"],
            json!([
                {"before": OLD, "after": NEW, "ref": "refs/heads/master"},
                {"before": ZERO, "after": NEW, "ref": "refs/tags/v1.0.0"},
            ])
        );
        assert_eq!(
            payload["refs"],
            json!(["refs/heads/master", "refs/tags/v1.0.0"])
        );
        let parsed = Event::from_slice(&event.to_vec()).unwrap();
        assert_eq!(parsed.kind(), EventKind::RepositoryUpdate);
    }
}
