//! Timestamps as the API shows them.

use chrono::{DateTime, SecondsFormat, Utc};

/// Unix milliseconds as ISO 8601 with milliseconds, GitLab's format
/// (`2012-10-12T17:04:47.123Z`).
pub fn iso8601(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
