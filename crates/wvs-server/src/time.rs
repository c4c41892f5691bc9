//! Timestamps as the API shows them, and as the pages say them to people.

use chrono::{DateTime, SecondsFormat, Utc};
use wvs_store::Millis;

/// A time as a calendar time in UTC; one out of chrono's range (never stored) as the epoch.
pub fn utc(time: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.0).unwrap_or_default()
}

/// A time as ISO 8601 with milliseconds, GitLab's format
/// (`2012-10-12T17:04:47.123Z`).
pub fn iso8601(time: Millis) -> String {
    utc(time).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as ISO 8601 to the second, as the documented payloads show timestamps
/// (`2012-07-21T07:30:54Z`).
pub fn payload_time(time: Millis) -> String {
    utc(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time as the SSH key events show them (`2014-08-18 18:45:16 UTC`).
pub fn key_time(time: Millis) -> String {
    utc(time).format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago (or, for a time to come, how soon) `time` is from `now`, in the largest
/// whole unit, as the pages say it: `just now`, `3 minutes ago`, `in 2 hours`.
pub fn relative(time: Millis, now: Millis) -> String {
    let past = time <= now;
    let distance = if past {
        now.saturating_duration_since(time)
    } else {
        time.saturating_duration_since(now)
    }
    .as_secs();
    if distance < 10 {
        return "just now".to_owned();
    }
    let (count, unit) = match distance {
        0..60 => (distance, "second"),
        60..3_600 => (distance / 60, "minute"),
        3_600..172_800 => (distance / 3_600, "hour"),
        _ => (distance / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    if past {
        format!("{count} {unit}{plural} ago")
    } else {
        format!("in {count} {unit}{plural}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_are_said_in_their_largest_whole_unit() {
        let now = Millis(1_000_000_000);
        let seconds = Duration::from_secs;
        assert_eq!(relative(now - seconds(3), now), "just now");
        assert_eq!(relative(now - seconds(45), now), "45 seconds ago");
        assert_eq!(relative(now - seconds(60), now), "1 minute ago");
        assert_eq!(relative(now - seconds(3 * 60 + 5), now), "3 minutes ago");
        assert_eq!(relative(now - seconds(5 * 3_600), now), "5 hours ago");
        assert_eq!(relative(now - seconds(3 * 86_400), now), "3 days ago");
        assert_eq!(relative(now + seconds(2 * 3_600), now), "in 2 hours");
    }
}
