//! [`BranchFilter`]: which branches a push hook fires for, with GitLab's semantics
//! (`ActiveHookFilter` and `RefMatcher`), and the check a filter must pass to be saved.

use regex::{Regex, RegexBuilder};

use crate::{BranchFilterStrategy, HookSettings};

/// The longest filter GitLab accepts.
pub const MAX_FILTER_CHARS: usize = 4000;

/// A bound on a compiled filter regex, so that a hostile pattern cannot make compiling (done
/// once per push per hook) expensive. A 4000-character pattern of ordinary shape stays far
/// below it.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A branch filter ready to match, built once from a hook's settings. Building it compiles
/// the regex of the `regex` strategy; callers that route many pushes may keep it.
#[derive(Debug, Clone)]
pub struct BranchFilter(Matcher);

#[derive(Debug, Clone)]
enum Matcher {
    Every,
    Wildcard(String),
    Regex(Regex),
    /// A stored regex that no longer compiles: GitLab rescues the error and matches nothing.
    Nothing,
}

impl BranchFilter {
    /// The filter of `strategy` over `filter`; a missing or blank filter lets every branch
    /// through, as does `all_branches`.
    pub fn new(strategy: BranchFilterStrategy, filter: Option<&str>) -> Self {
        let filter = filter.map(str::trim).filter(|filter| !filter.is_empty());
        let matcher = match (strategy, filter) {
            (BranchFilterStrategy::AllBranches, _) | (_, None) => Matcher::Every,
            (BranchFilterStrategy::Wildcard, Some(pattern)) => {
                Matcher::Wildcard(pattern.to_owned())
            }
            (BranchFilterStrategy::Regex, Some(pattern)) => {
                compile(pattern).map_or(Matcher::Nothing, Matcher::Regex)
            }
        };
        BranchFilter(matcher)
    }

    /// The filter a hook's settings describe.
    pub fn from_settings(settings: &HookSettings) -> Self {
        BranchFilter::new(
            settings.branch_filter_strategy,
            settings.push_events_branch_filter.as_deref(),
        )
    }

    /// Whether a push to the branch called `branch` passes.
    pub fn matches_branch(&self, branch: &str) -> bool {
        match &self.0 {
            Matcher::Every => true,
            Matcher::Wildcard(pattern) => wildcard_match(pattern, branch),
            // GitLab's regex strategy is an unanchored search; users anchor with `^` and `$`.
            Matcher::Regex(regex) => regex.is_match(branch),
            Matcher::Nothing => false,
        }
    }

    /// Whether a push to `git_ref` passes: the branch name is the ref without
    /// `refs/heads/`. A ref without that prefix is taken as a bare branch name, since
    /// emitters other than Git servers sometimes send one.
    pub fn matches_ref(&self, git_ref: &str) -> bool {
        self.matches_branch(git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref))
    }
}

/// GitLab's `RefMatcher`: a name without `*` matches itself only; with `*`, the pattern is
/// anchored at both ends and each `*` matches any run of characters, `/` included.
/// Matching left to right and taking each literal at its first occurrence is exact for
/// patterns whose only wildcard is `*`, so no regex is needed.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let Some((prefix, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let (middle, suffix) = rest.rsplit_once('*').unwrap_or(("", rest));
    if name.len() < prefix.len() + suffix.len()
        || !name.starts_with(prefix)
        || !name.ends_with(suffix)
    {
        return false;
    }
    // Both bounds are char boundaries: they end the prefix and start the suffix just checked.
    let mut inner = &name[prefix.len()..name.len() - suffix.len()];
    for literal in middle.split('*') {
        match inner.find(literal) {
            Some(at) => inner = &inner[at + literal.len()..],
            None => return false,
        }
    }
    true
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Why `filter` cannot be saved with `strategy`, as the message of a
/// `push_events_branch_filter` error; `None` when it can. `filter` is already trimmed.
pub(crate) fn problem(strategy: BranchFilterStrategy, filter: &str) -> Option<String> {
    if filter.chars().count() > MAX_FILTER_CHARS {
        return Some(format!(
            "is too long (maximum is {MAX_FILTER_CHARS} characters)"
        ));
    }
    match strategy {
        BranchFilterStrategy::AllBranches => None,
        BranchFilterStrategy::Wildcard => (!is_branch_name(&filter.replace('*', "x")))
            .then(|| "is not a valid branch name".to_owned()),
        BranchFilterStrategy::Regex => compile(filter)
            .err()
            .map(|error| format!("is not a valid regular expression: {}", summary(&error))),
    }
}

/// The one line of a regex error that says what is wrong (its `Display` draws the pattern
/// with a caret over several lines).
fn summary(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or(&text)
        .to_owned()
}

/// Git's branch name rules (`git check-ref-format --branch`), which GitLab applies to a
/// wildcard filter with each `*` read as a letter.
fn is_branch_name(name: &str) -> bool {
    let forbidden_char = |c: char| c.is_ascii_control() || " ~^:?[\\".contains(c);
    !name.is_empty()
        && name != "@"
        && !name.starts_with(['-', '/'])
        && !name.ends_with(['/', '.'])
        && !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
        && !name.chars().any(forbidden_char)
        && name
            .split('/')
            .all(|part| !part.starts_with('.') && !part.ends_with(".lock"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use BranchFilterStrategy::{AllBranches, Regex as ByRegex, Wildcard};

    fn passes(strategy: BranchFilterStrategy, filter: &str, branch: &str) -> bool {
        BranchFilter::new(strategy, Some(filter)).matches_branch(branch)
    }

    #[test]
    fn wildcard_star_spans_slashes() {
        assert!(passes(Wildcard, "feature/*", "feature/a"));
        assert!(passes(Wildcard, "feature/*", "feature/a/b"));
        assert!(passes(Wildcard, "feature/*", "feature/"));
        assert!(!passes(Wildcard, "feature/*", "feature"));
        assert!(!passes(Wildcard, "feature/*", "bugfix/feature/a"));
    }

    #[test]
    fn wildcard_is_anchored_at_both_ends() {
        assert!(passes(Wildcard, "*-stable", "13-stable"));
        assert!(passes(Wildcard, "*-stable", "-stable"));
        assert!(!passes(Wildcard, "*-stable", "13-stable-ee"));
        assert!(passes(Wildcard, "release-*-rc*", "release-1.2-rc3"));
        assert!(!passes(Wildcard, "release-*-rc*", "release-1.2"));
        assert!(passes(Wildcard, "a*a", "aa"));
        assert!(!passes(Wildcard, "a*a", "a"));
        assert!(passes(Wildcard, "*", "anything/at/all"));
    }

    #[test]
    fn wildcard_without_star_is_an_exact_name() {
        assert!(passes(Wildcard, "master", "master"));
        assert!(!passes(Wildcard, "master", "master2"));
        assert!(!passes(Wildcard, "master", "old-master"));
        // Everything but `*` is literal: `.` is no regex dot.
        assert!(passes(Wildcard, "v1.0", "v1.0"));
        assert!(!passes(Wildcard, "v1.0", "v1x0"));
        assert!(!passes(Wildcard, "v1.*", "v1x0"));
    }

    #[test]
    fn wildcard_handles_multibyte_names() {
        assert!(passes(Wildcard, "é*ü", "éaü"));
        assert!(!passes(Wildcard, "é*ü", "éa"));
        assert!(passes(Wildcard, "*ß*", "straße/x"));
    }

    #[test]
    fn regex_searches_unanchored() {
        assert!(passes(ByRegex, r"^release-\d+$", "release-12"));
        assert!(!passes(ByRegex, r"^release-\d+$", "release-12a"));
        assert!(!passes(ByRegex, r"^release-\d+$", "pre-release-12"));
        assert!(passes(ByRegex, "hotfix", "team/hotfix-1"));
    }

    #[test]
    fn a_stored_regex_that_no_longer_compiles_matches_nothing() {
        assert!(!passes(ByRegex, "(", "("));
    }

    #[test]
    fn all_branches_and_blank_filters_let_everything_through() {
        assert!(passes(AllBranches, "master", "dev"));
        assert!(passes(Wildcard, "  ", "dev"));
        assert!(BranchFilter::new(ByRegex, None).matches_branch("dev"));
    }

    #[test]
    fn refs_lose_their_heads_prefix() {
        let filter = BranchFilter::new(Wildcard, Some("feature/*"));
        assert!(filter.matches_ref("refs/heads/feature/x"));
        assert!(filter.matches_ref("feature/x"));
        assert!(!filter.matches_ref("refs/heads/master"));
    }

    #[test]
    fn problems_name_what_is_wrong() {
        assert_eq!(problem(Wildcard, "feature/*"), None);
        assert_eq!(problem(Wildcard, "*-stable"), None);
        for bad in [
            "a b", "a..b", "-a", "a/", "a.lock", "a~1", "a:b", "x@{1}", "a//b",
        ] {
            assert_eq!(
                problem(Wildcard, bad).as_deref(),
                Some("is not a valid branch name"),
                "{bad}"
            );
        }
        assert_eq!(problem(ByRegex, r"^release-\d+$"), None);
        let message = problem(ByRegex, "(").unwrap();
        assert!(
            message.starts_with("is not a valid regular expression: "),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        assert_eq!(problem(AllBranches, "a b"), None);
        assert!(
            problem(AllBranches, &"a".repeat(4001))
                .unwrap()
                .contains("too long")
        );
    }
}
