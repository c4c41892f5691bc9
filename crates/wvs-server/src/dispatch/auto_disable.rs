//! Auto-disable, with GitLab's thresholds: a hook is temporarily disabled on its 4th failure
//! in a row, for 1 minute, doubling with each further failure up to 24 hours, and
//! permanently disabled on its 40th; any success (a delivery or a test) makes it executable
//! again. Unlike GitLab, a disabled hook's deliveries are held, not dropped (the store's
//! claim skips the hook). System hooks are never disabled.
//!
//! Failures that arrive while the hook is already temporarily disabled (deliveries that were
//! in flight when it was disabled) count towards the permanent threshold but do not lengthen
//! the pause: the doubling is per failure after the hook was tried again.

use std::time::Duration;

use wvs_store::{HealthEffect, HealthRule, HookHealth, HookOwner, Millis};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoDisable {
    /// Failures in a row that disable the hook for a while (GitLab: 4).
    pub temporary_after: i64,
    /// Failures in a row that disable it until an operator re-enables it (GitLab: 40).
    pub permanent_after: i64,
    /// The first pause; each further failure doubles it (GitLab: 1 minute).
    pub initial_backoff: Duration,
    /// The longest pause (GitLab: 24 hours).
    pub max_backoff: Duration,
}

impl Default for AutoDisable {
    fn default() -> Self {
        AutoDisable {
            temporary_after: 4,
            permanent_after: 40,
            initial_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl AutoDisable {
    /// The pause after the `backoff_count`-th disable in a row (1 = the first).
    fn backoff(&self, backoff_count: i64) -> Duration {
        let doublings = u32::try_from(backoff_count.saturating_sub(1)).unwrap_or(u32::MAX);
        2u32.checked_pow(doublings)
            .and_then(|factor| self.initial_backoff.checked_mul(factor))
            .map_or(self.max_backoff, |pause| pause.min(self.max_backoff))
    }

    fn failed(&self, health: &HookHealth, now: Millis) -> HookHealth {
        if health.permanently_disabled {
            return health.clone();
        }
        let recent_failures = health.recent_failures.saturating_add(1);
        if recent_failures >= self.permanent_after {
            return HookHealth {
                recent_failures,
                backoff_count: health.backoff_count,
                disabled_until: None,
                permanently_disabled: true,
            };
        }
        let resting = health.disabled_until.is_some_and(|until| until > now);
        if recent_failures < self.temporary_after || resting {
            return HookHealth {
                recent_failures,
                ..health.clone()
            };
        }
        let backoff_count = health.backoff_count.saturating_add(1);
        HookHealth {
            recent_failures,
            backoff_count,
            disabled_until: Some(now + self.backoff(backoff_count)),
            permanently_disabled: false,
        }
    }
}

impl HealthRule for AutoDisable {
    fn after(
        &self,
        owner: HookOwner,
        health: &HookHealth,
        effect: HealthEffect,
        now: Millis,
    ) -> HookHealth {
        match (owner, effect) {
            (HookOwner::System, _) | (_, HealthEffect::Unchanged) => health.clone(),
            (_, HealthEffect::Success) => HookHealth::default(),
            (_, HealthEffect::Failure) => self.failed(health, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wvs_store::{GroupId, ProjectId};

    const MINUTE: Duration = Duration::from_secs(60);
    const PROJECT: HookOwner = HookOwner::Project(ProjectId(1));

    fn fail(health: &HookHealth, now: Millis) -> HookHealth {
        AutoDisable::default().after(PROJECT, health, HealthEffect::Failure, now)
    }

    fn failures(n: i64) -> HookHealth {
        HookHealth {
            recent_failures: n,
            ..HookHealth::default()
        }
    }

    #[test]
    fn executable_to_executable_on_the_first_three_failures() {
        let mut health = HookHealth::default();
        for n in 1..=3 {
            health = fail(&health, Millis(0));
            assert_eq!(health, failures(n));
            assert!(health.is_executable(Millis(0)));
        }
    }

    #[test]
    fn executable_to_temporarily_disabled_for_a_minute_on_the_fourth() {
        let health = fail(&failures(3), Millis(1_000));
        assert_eq!(
            health,
            HookHealth {
                recent_failures: 4,
                backoff_count: 1,
                disabled_until: Some(Millis(1_000) + MINUTE),
                permanently_disabled: false,
            }
        );
        assert!(!health.is_executable(Millis::EPOCH + MINUTE));
        assert!(health.is_executable(Millis(1_000) + MINUTE));
    }

    #[test]
    fn temporarily_disabled_to_a_doubled_pause_on_each_further_failure() {
        let mut health = fail(&failures(3), Millis(0));
        let mut now = Millis(0);
        for expected in [2, 4, 8, 16] {
            now = health.disabled_until.unwrap();
            health = fail(&health, now);
            assert_eq!(health.disabled_until, Some(now + expected * MINUTE));
        }
        assert_eq!(health.backoff_count, 5);
        assert!(now > Millis(0));
    }

    #[test]
    fn the_pause_stops_growing_at_24_hours() {
        let health = HookHealth {
            recent_failures: 20,
            backoff_count: 16,
            disabled_until: Some(Millis(0)),
            permanently_disabled: false,
        };
        let health = fail(&health, Millis(0));
        assert_eq!(
            health.disabled_until,
            Some(Millis::EPOCH + 24 * 60 * MINUTE)
        );
        let rule = AutoDisable::default();
        assert_eq!(rule.backoff(i64::MAX), rule.max_backoff);
    }

    #[test]
    fn a_failure_while_disabled_counts_but_does_not_lengthen_the_pause() {
        let disabled = fail(&failures(3), Millis(0));
        let later = fail(&disabled, Millis(10_000));
        assert_eq!(later.recent_failures, 5);
        assert_eq!(later.disabled_until, disabled.disabled_until);
        assert_eq!(later.backoff_count, 1);
    }

    #[test]
    fn temporarily_disabled_to_permanently_disabled_on_the_fortieth() {
        let health = HookHealth {
            recent_failures: 39,
            backoff_count: 30,
            disabled_until: Some(Millis(5)),
            permanently_disabled: false,
        };
        let health = fail(&health, Millis(10));
        assert!(health.permanently_disabled);
        assert_eq!((health.recent_failures, health.disabled_until), (40, None));
        assert!(!health.is_executable(Millis::MAX));
    }

    #[test]
    fn permanently_disabled_stays_so_on_failure() {
        let dead = HookHealth {
            recent_failures: 40,
            permanently_disabled: true,
            ..HookHealth::default()
        };
        assert_eq!(fail(&dead, Millis(1)), dead);
    }

    #[test]
    fn any_success_makes_the_hook_executable_again() {
        let rule = AutoDisable::default();
        let temporary = fail(&failures(3), Millis(0));
        let permanent = HookHealth {
            recent_failures: 40,
            permanently_disabled: true,
            ..HookHealth::default()
        };
        for health in [failures(2), temporary, permanent] {
            let healed = rule.after(PROJECT, &health, HealthEffect::Success, Millis(1));
            assert_eq!(healed, HookHealth::default());
        }
    }

    #[test]
    fn an_attempt_that_says_nothing_of_the_receiver_changes_nothing() {
        let rule = AutoDisable::default();
        let health = fail(&failures(3), Millis(0));
        assert_eq!(
            rule.after(PROJECT, &health, HealthEffect::Unchanged, Millis(1)),
            health
        );
    }

    #[test]
    fn system_hooks_are_never_disabled() {
        let rule = AutoDisable::default();
        let mut health = HookHealth::default();
        for now in 0..100 {
            health = rule.after(
                HookOwner::System,
                &health,
                HealthEffect::Failure,
                Millis(now),
            );
        }
        assert_eq!(health, HookHealth::default());
    }

    #[test]
    fn group_hooks_are_disabled_like_project_hooks() {
        let rule = AutoDisable::default();
        let health = rule.after(
            HookOwner::Group(GroupId(7)),
            &failures(3),
            HealthEffect::Failure,
            Millis(0),
        );
        assert_eq!(health.disabled_until, Some(Millis::EPOCH + MINUTE));
    }
}
