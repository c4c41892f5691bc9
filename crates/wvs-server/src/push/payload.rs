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
use super::project::Blocks;

/// Commits a push payload lists at most: the newest ones (GitLab: "If a push includes more
/// than 20 commits, the payload contains only the newest 20").
pub const MAX_PAYLOAD_COMMITS: usize = 20;

/// The `push` (branch) or `tag_push` (tag) event of one ref change.
pub fn ref_event(push: &Push, change: &Change, blocks: &Blocks) -> Event {
    let name = match change.kind {
        RefKind::Branch => "push",
        RefKind::Tag => "tag_push",
    };
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
