//! The ids of the store's rows, one type per table, so that an event's id cannot be passed
//! where a hook's is wanted. Each is a row's integer id: stored, bound and read as `i64` on
//! both backends (sqlx's `transparent`, and [`rusqlite`]'s traits for SQLite's writer
//! thread), written in JSON as a plain number and in text as its digits.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// Declares each id type with everything an id needs.
macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize,
            Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    )*};
}

ids! {
    /// A group's id (GitLab's, when the forge gave one).
    GroupId;
    /// A project's id (GitLab's, when the forge gave one).
    ProjectId;
    /// A user's id (GitLab's, when the forge gave one).
    UserId;
    /// An SSH key's id.
    SshKeyId;
    /// A project or group access token's id.
    TokenId;
    /// A hook's id.
    HookId;
    /// A stored event's id.
    EventId;
    /// A queued delivery's id: one event to one hook.
    DeliveryId;
    /// A delivery-log row's id: one attempt.
    AttemptId;
    /// A set of request headers shared by delivery-log rows.
    HeaderSetId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_plain_number_in_json_and_text() {
        assert_eq!(serde_json::to_string(&HookId(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<EventId>("7").unwrap(), EventId(7));
        assert_eq!(GroupId(9).to_string(), "9");
        assert_eq!("12".parse::<ProjectId>(), Ok(ProjectId(12)));
        assert!("twelve".parse::<ProjectId>().is_err());
    }
}
