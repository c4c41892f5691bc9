//! Timestamps as the API shows them, and as the pages say them to people.

use chrono::{DateTime, SecondsFormat, Utc};

/// Unix milliseconds as ISO 8601 with milliseconds, GitLab's format
/// (`2012-10-12T17:04:47.123Z`).
pub fn iso8601(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Unix milliseconds as ISO 8601 to the second, as the documented payloads show timestamps
/// (`2012-07-21T07:30:54Z`).
pub fn payload_time(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Unix milliseconds as the SSH key events show them (`2014-08-18 18:45:16 UTC`).
pub fn key_time(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// How long ago (or, for a time to come, how soon) `millis` is from `now`, in the largest
/// whole unit, as the pages say it: `just now`, `3 minutes ago`, `in 2 hours`.
pub fn relative(millis: i64, now: i64) -> String {
    let seconds = (now - millis) / 1000;
    let distance = seconds.unsigned_abs();
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
    if seconds >= 0 {
        format!("{count} {unit}{plural} ago")
    } else {
        format!("in {count} {unit}{plural}")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn times_are_said_in_their_largest_whole_unit() {
        let now = 1_000_000_000;
        assert_eq!(relative(now - 3_000, now), "just now");
        assert_eq!(relative(now - 45_000, now), "45 seconds ago");
        assert_eq!(relative(now - 60_000, now), "1 minute ago");
        assert_eq!(relative(now - 3 * 60_000 - 5_000, now), "3 minutes ago");
        assert_eq!(relative(now - 5 * 3_600_000, now), "5 hours ago");
        assert_eq!(relative(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(relative(now + 2 * 3_600_000, now), "in 2 hours");
    }
}
