//! Timestamps as the API shows them.

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
