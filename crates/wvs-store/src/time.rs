//! [`Millis`]: a point in time as the store keeps it, Unix milliseconds. Stored, bound and
//! read as `i64` on both backends and written in JSON as a plain number, like the ids. It is
//! moved by a [`Duration`] (`now + delay`, `now - retention`) and two of them are compared
//! or measured apart ([`Millis::saturating_duration_since`]); raw integers are not added to
//! it, so a delay in seconds cannot be added to a time in milliseconds by mistake.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// Unix time in milliseconds.
#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// The Unix epoch.
    pub const EPOCH: Millis = Millis(0);
    /// The earliest time there is: before every time stored.
    pub const MIN: Millis = Millis(i64::MIN);
    /// The latest time there is: "never" where a time is required.
    pub const MAX: Millis = Millis(i64::MAX);

    /// The time now, by the system clock.
    pub fn now() -> Millis {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Millis::EPOCH + since_epoch
    }

    /// How long after `earlier` this is; zero when it is not after it (as
    /// [`std::time::Instant::saturating_duration_since`]).
    pub fn saturating_duration_since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0).try_into().unwrap_or(0))
    }

    /// The start of the `period`-long stretch (counted from the epoch) this falls in: a
    /// minute's start for a minute. A period under a millisecond counts as one.
    pub fn period_start(self, period: Duration) -> Millis {
        Millis(self.0 - self.0.rem_euclid(whole_millis(period).max(1)))
    }
}

/// A duration in whole milliseconds, saturating at `i64::MAX` (about 292 million years).
fn whole_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Add<Duration> for Millis {
    type Output = Millis;

    /// Saturates at [`Millis::MAX`], so an unbounded delay means "never".
    fn add(self, duration: Duration) -> Millis {
        Millis(self.0.saturating_add(whole_millis(duration)))
    }
}

impl Sub<Duration> for Millis {
    type Output = Millis;

    /// Saturates at `i64::MIN`, so an unbounded retention reaches back before every time.
    fn sub(self, duration: Duration) -> Millis {
        Millis(self.0.saturating_sub(whole_millis(duration)))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ToSql for Millis {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl FromSql for Millis {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(value).map(Millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_a_plain_number_in_json_and_text() {
        assert_eq!(serde_json::to_string(&Millis(1_500)).unwrap(), "1500");
        assert_eq!(serde_json::from_str::<Millis>("7").unwrap(), Millis(7));
        assert_eq!(Millis(9).to_string(), "9");
    }

    #[test]
    fn a_time_moves_by_a_duration_and_saturates_at_the_ends() {
        let time = Millis(10_000);
        assert_eq!(time + Duration::from_secs(2), Millis(12_000));
        assert_eq!(time - Duration::from_millis(2_500), Millis(7_500));
        assert_eq!(time + Duration::MAX, Millis::MAX);
        assert_eq!(time - Duration::MAX, Millis(10_000 - i64::MAX));
        assert_eq!(Millis::MAX + Duration::from_secs(1), Millis::MAX);
    }

    #[test]
    fn the_duration_between_two_times_is_never_negative() {
        let (earlier, later) = (Millis(1_000), Millis(4_500));
        assert_eq!(
            later.saturating_duration_since(earlier),
            Duration::from_millis(3_500)
        );
        assert_eq!(earlier.saturating_duration_since(later), Duration::ZERO);
    }

    #[test]
    fn a_period_starts_at_a_whole_multiple_of_it() {
        let minute = Duration::from_secs(60);
        assert_eq!(Millis(125_000).period_start(minute), Millis(120_000));
        assert_eq!(Millis(120_000).period_start(minute), Millis(120_000));
        assert_eq!(Millis(-1).period_start(minute), Millis(-60_000));
        assert_eq!(Millis(7).period_start(Duration::ZERO), Millis(7));
    }
}
