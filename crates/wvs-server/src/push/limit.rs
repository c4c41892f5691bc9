//! GitLab's `push_event_hooks_limit`: when one push creates, updates or removes more than
//! `limit` branches (or tags), none of those changes fires push (tag push) hooks. The count
//! is per ref kind and per action, as GitLab groups them: four new branches fire nothing,
//! three new branches and one updated branch fire all four. The skipped changes reach no
//! hook at all, system hooks included (GitLab runs both from the same call); the
//! `repository_update` of the push is sent regardless.

use std::collections::HashMap;

use super::input::{Action, Change, RefKind};

/// For each change, in order, whether it fires hooks.
pub fn fires(changes: &[Change], limit: u32) -> Vec<bool> {
    let mut counts: HashMap<(RefKind, Action), u64> = HashMap::new();
    for change in changes {
        *counts.entry((change.kind, change.action)).or_default() += 1;
    }
    changes
        .iter()
        .map(|change| counts[&(change.kind, change.action)] <= u64::from(limit))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";
    const NEW: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn change(kind: RefKind, action: Action, n: usize) -> Change {
        let (before, after) = match action {
            Action::Created => (ZERO, NEW),
            Action::Updated => (OLD, NEW),
            Action::Removed => (OLD, ZERO),
        };
        let prefix = match kind {
            RefKind::Branch => "refs/heads/b",
            RefKind::Tag => "refs/tags/t",
        };
        Change {
            kind,
            action,
            before: before.into(),
            after: after.into(),
            git_ref: format!("{prefix}{n}"),
            commits: Vec::new(),
            total_commits_count: 0,
            ref_protected: false,
            checkout_sha: None,
            message: None,
        }
    }

    fn many(kind: RefKind, action: Action, count: usize) -> Vec<Change> {
        (0..count).map(|n| change(kind, action, n)).collect()
    }

    #[test]
    fn four_new_branches_fire_nothing_three_fire_all() {
        let four = many(RefKind::Branch, Action::Created, 4);
        assert_eq!(fires(&four, 3), [false; 4]);
        let three = many(RefKind::Branch, Action::Created, 3);
        assert_eq!(fires(&three, 3), [true; 3]);
    }

    #[test]
    fn the_limit_counts_per_kind_and_per_action() {
        // 3 created + 1 updated + 3 removed branches, and 3 new tags: every group is at the
        // limit, none over it.
        let mut changes = many(RefKind::Branch, Action::Created, 3);
        changes.push(change(RefKind::Branch, Action::Updated, 9));
        changes.extend(many(RefKind::Branch, Action::Removed, 3));
        changes.extend(many(RefKind::Tag, Action::Created, 3));
        assert!(fires(&changes, 3).iter().all(|fires| *fires));
        // A fourth new tag silences the new tags only.
        changes.push(change(RefKind::Tag, Action::Created, 3));
        let fired = fires(&changes, 3);
        for (change, fired) in changes.iter().zip(fired) {
            assert_eq!(fired, change.kind == RefKind::Branch, "{}", change.git_ref);
        }
    }

    #[test]
    fn the_limit_is_a_setting() {
        let four = many(RefKind::Tag, Action::Removed, 4);
        assert_eq!(fires(&four, 4), [true; 4]);
        assert_eq!(fires(&four[..1], 0), [false]);
    }
}
