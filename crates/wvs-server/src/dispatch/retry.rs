//! When a failed delivery is tried again.
//!
//! The schedule lists the delay before each retry (default: immediately, 10 s, 1 min, 5 min,
//! 30 min, 2 h, 6 h, 12 h, 24 h). Each delay is jittered over the whole step from the
//! previous entry to this one ("full jitter" of the step's growth): receivers that failed
//! together are not retried together, yet a retry never comes before the previous step's
//! delay nor after this one's. A `Retry-After` the receiver sent with a 429 or 503 is
//! honoured when longer, up to a cap. Once the schedule is used up the delivery is failed: it
//! stays in the log, resendable.

use std::time::Duration;

use rand::Rng;
use wvs_store::{Millis, Outcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub schedule: Vec<Duration>,
    /// The longest `Retry-After` honoured.
    pub retry_after_cap: Duration,
}

impl RetryPolicy {
    /// What becomes of a delivery after its `attempts_made`-th attempt failed at `now`.
    pub fn after_failure(
        &self,
        attempts_made: i64,
        retry_after: Option<Duration>,
        now: Millis,
        rng: &mut impl Rng,
    ) -> Outcome {
        let Some(step) = usize::try_from(attempts_made - 1)
            .ok()
            .and_then(|index| self.delay_bounds(index))
        else {
            return Outcome::Failed;
        };
        let (low, high) = step;
        let jittered = if high > low {
            rng.random_range(low..=high)
        } else {
            high
        };
        let asked = retry_after.map_or(Duration::ZERO, |asked| asked.min(self.retry_after_cap));
        Outcome::RetryAt(now + jittered.max(asked))
    }

    /// The range the `index`-th retry's delay is drawn from.
    fn delay_bounds(&self, index: usize) -> Option<(Duration, Duration)> {
        let high = *self.schedule.get(index)?;
        let previous = index
            .checked_sub(1)
            .and_then(|i| self.schedule.get(i))
            .copied()
            .unwrap_or(Duration::ZERO);
        Some((previous.min(high), high))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            schedule: crate::config::defaults::RETRY_SCHEDULE
                .split(',')
                .map(|d| humantime::parse_duration(d).unwrap())
                .collect(),
            retry_after_cap: Duration::from_secs(3600),
        }
    }

    fn delay(outcome: Outcome) -> Duration {
        match outcome {
            Outcome::RetryAt(at) => at.saturating_duration_since(Millis::EPOCH),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn each_retry_falls_within_its_step_and_the_tenth_attempt_gives_up() {
        let policy = policy();
        let mut rng = StdRng::seed_from_u64(7);
        let mut previous = Duration::ZERO;
        for (index, high) in policy.schedule.iter().enumerate() {
            let attempts = i64::try_from(index).unwrap() + 1;
            for _ in 0..50 {
                let d = delay(policy.after_failure(attempts, None, Millis(0), &mut rng));
                assert!(previous <= d && d <= *high, "retry {attempts}: {d:?}");
            }
            previous = *high;
        }
        assert_eq!(
            policy.after_failure(10, None, Millis(0), &mut rng),
            Outcome::Failed
        );
    }

    #[test]
    fn the_first_retry_is_immediate_and_later_ones_are_spread() {
        let policy = policy();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            policy.after_failure(1, None, Millis(500), &mut rng),
            Outcome::RetryAt(Millis(500))
        );
        let spread: std::collections::HashSet<Duration> = (0..20)
            .map(|_| delay(policy.after_failure(4, None, Millis(0), &mut rng)))
            .collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
    }

    #[test]
    fn retry_after_wins_when_longer_up_to_the_cap() {
        let policy = policy();
        let mut rng = StdRng::seed_from_u64(3);
        let asked = Some(Duration::from_secs(120));
        assert_eq!(
            delay(policy.after_failure(2, asked, Millis(0), &mut rng)),
            Duration::from_secs(120),
            "10 s step, the receiver asked for 2 minutes"
        );
        let greedy = Some(Duration::from_secs(7 * 24 * 3600));
        assert_eq!(
            delay(policy.after_failure(1, greedy, Millis(0), &mut rng)),
            Duration::from_secs(3600),
            "capped"
        );
        let short = Some(Duration::from_secs(1));
        let d = delay(policy.after_failure(9, short, Millis(0), &mut rng));
        assert!(
            d >= Duration::from_secs(12 * 3600),
            "a shorter Retry-After does not hurry the schedule"
        );
        assert_eq!(
            policy.after_failure(10, asked, Millis(0), &mut rng),
            Outcome::Failed
        );
    }
}
