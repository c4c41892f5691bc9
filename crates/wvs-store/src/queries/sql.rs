//! Helpers shared by the SQLite modules: numbered placeholders for statements built at run
//! time, the mapping of constraint violations to [`StoreError`], and JSON columns.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;

use super::Db;
use crate::dialect::Dialect;
use crate::{Result, StoreError};

/// Rows per multi-row statement (and ids per `IN (...)` list) at most.
const BATCH: usize = 64;

/// A run of a multi-row statement: up to 64 items, bound as a power-of-two number of rows
/// (the last item repeated to fill it), each row followed by one more column saying whether
/// it is real. The statement keeps the real rows only ([`kept_values`], or `AND v.columnN`).
///
/// SQLite parses a statement at a cost that grows faster than its length (a 500-row insert
/// of attempts takes tens of milliseconds to prepare), so a statement built for each batch
/// size would cost more to parse than to run. Padded runs come in only seven shapes per
/// statement, each prepared once per connection and then served from sqlx's statement
/// cache, and a run of any length is one statement (split into powers of two, 45 rows took
/// four): every statement of a write transaction holds the store's one writer.
pub struct Run<'a, T> {
    items: &'a [T],
}

impl<'a, T> Run<'a, T> {
    /// Rows bound, padding included.
    pub fn rows(&self) -> usize {
        self.items.len().next_power_of_two()
    }

    /// The real items.
    pub fn items(&self) -> &'a [T] {
        self.items
    }

    /// The items to bind, row after row, each with whether the row is kept.
    pub fn bound(&self) -> impl Iterator<Item = (&'a T, bool)> + use<'a, T> {
        padded(self.items)
    }
}

/// `items` (kept), then copies of the last one (not kept) up to a power of two: the rows of
/// a [`Run`] of them, or of values that go with its items one for one.
pub fn padded<U>(items: &[U]) -> impl Iterator<Item = (&U, bool)> {
    let padding = items.len().next_power_of_two() - items.len();
    let last = items.last().map(|item| (item, false));
    items
        .iter()
        .map(|item| (item, true))
        .chain(std::iter::repeat_n(last, padding).flatten())
}

/// Splits `items` into runs of 64 for multi-row statements (see [`Run`]).
pub fn runs<T>(items: &[T]) -> impl Iterator<Item = Run<'_, T>> {
    items.chunks(BATCH).map(|items| Run { items })
}

/// `SELECT column1, ..., column<width><extra> FROM (VALUES ...) AS v WHERE v.column<width+1>`:
/// the real rows of a [`Run`] of `rows` rows, each bound as `width` values and then whether
/// it is kept, for `INSERT INTO t (...) <this>`. `extra` adds constant columns (`, 0`).
pub fn kept_values(rows: usize, width: usize, extra: &str) -> String {
    let columns = (1..=width)
        .map(|n| format!("column{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}{extra} FROM (VALUES {}) AS v WHERE v.column{}",
        rows_in_order(rows, width + 1, ""),
        width + 1
    )
}

/// Splits `items` for `IN (...)` lists: runs of 64, the last one padded to a power of two by
/// repeating its last item (a value listed twice selects nothing more). A list of any length
/// then takes one statement per 64, in one of seven shapes each prepared once (see [`Run`]),
/// where splitting it into powers of two would take up to seven.
pub fn in_lists<T: Copy>(items: &[T]) -> impl Iterator<Item = Vec<T>> {
    items.chunks(BATCH).map(|run| {
        let mut list = run.to_vec();
        if let Some(&last) = run.last() {
            list.resize(run.len().next_power_of_two(), last);
        }
        list
    })
}

/// `$first, $first+1, ...`: `count` numbered placeholders. `$n` placeholders work in SQLite
/// and PostgreSQL alike.
pub fn placeholders(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 6);
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// `(...), (...)`: `rows` tuples of `width` numbered placeholders from `first`, each followed
/// by `suffix` (values shared by every row, e.g. `, $1, 'pending'`), for a multi-row INSERT.
pub fn tuples(rows: usize, width: usize, first: usize, suffix: &str) -> String {
    (0..rows)
        .map(|row| format!("({}{suffix})", placeholders(first + row * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(...), (...)`: `rows` tuples of `width` parameters, each followed by `suffix` (constants
/// only), for a multi-row INSERT whose only parameters they are, bound row after row.
pub fn rows_in_order(rows: usize, width: usize, suffix: &str) -> String {
    let Some(parameter) = Db::IN_ORDER else {
        return tuples(rows, width, 1, suffix);
    };
    let row = format!("({}{suffix})", vec![parameter; width].join(", "));
    vec![row.as_str(); rows].join(", ")
}

/// Maps a uniqueness violation to [`StoreError::Conflict`]`(what)`; other errors pass.
pub fn conflict(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Conflict(what)
        }
        _ => StoreError::Database(error),
    }
}

/// Maps a foreign-key violation (a row pointing at a missing `what`) to
/// [`StoreError::NotFound`]`(what)`; other errors pass.
pub fn missing(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation => {
            StoreError::NotFound(what)
        }
        _ => StoreError::Database(error),
    }
}

/// A value as JSON text for a TEXT column; `what` names the column in the error.
pub fn to_json<T: Serialize + ?Sized>(value: &T, what: &'static str) -> Result<String> {
    serde_json::to_string(value).map_err(|_| StoreError::Corrupt(what))
}

/// A JSON TEXT column read back; `what` names the column in the error.
pub fn from_json<T: DeserializeOwned>(text: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(what))
}

/// A `LIKE ... ESCAPE '\\'` pattern matching lowercase text that contains `text` (any
/// case); `%`, `_` and `\\` in it are taken literally. Empty text matches everything.
pub fn contains(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A row count from SQL (never negative) as the `u64` the contract uses.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 1), "$1");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn runs_are_padded_to_a_power_of_two_with_rows_not_kept() {
        let items: Vec<usize> = (0..133).collect();
        let split: Vec<Run<'_, usize>> = runs(&items).collect();
        let rows: Vec<usize> = split.iter().map(Run::rows).collect();
        assert_eq!(rows, vec![64, 64, 8]);
        let last: Vec<(usize, bool)> = split[2].bound().map(|(n, kept)| (*n, kept)).collect();
        assert_eq!(
            last,
            vec![
                (128, true),
                (129, true),
                (130, true),
                (131, true),
                (132, true),
                (132, false),
                (132, false),
                (132, false)
            ]
        );
        let kept: Vec<usize> = split
            .iter()
            .flat_map(|run| run.bound().filter(|(_, kept)| *kept).map(|(n, _)| *n))
            .collect();
        assert_eq!(kept, items);
        assert_eq!(runs::<u8>(&[]).count(), 0);
    }

    #[test]
    fn kept_values_select_the_real_rows() {
        let expected = match Db::IN_ORDER {
            Some(_) => {
                "SELECT column1, column2, 0 FROM (VALUES (?, ?, ?), (?, ?, ?)) AS v WHERE v.column3"
            }
            None => {
                "SELECT column1, column2, 0 FROM (VALUES ($1, $2, $3), ($4, $5, $6)) AS v WHERE v.column3"
            }
        };
        assert_eq!(kept_values(2, 2, ", 0"), expected);
    }

    #[test]
    fn rows_in_order_are_plain_on_sqlite_and_numbered_on_postgres() {
        let expected = match Db::IN_ORDER {
            Some(_) => "(?, ?, 'x'), (?, ?, 'x')",
            None => "($1, $2, 'x'), ($3, $4, 'x')",
        };
        assert_eq!(rows_in_order(2, 2, ", 'x'"), expected);
    }

    #[test]
    fn in_lists_pad_the_last_run_to_a_power_of_two() {
        let items: Vec<usize> = (0..133).collect();
        let lists: Vec<Vec<usize>> = in_lists(&items).collect();
        let sizes: Vec<usize> = lists.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![64, 64, 8]);
        assert_eq!(lists[2], vec![128, 129, 130, 131, 132, 132, 132, 132]);
        assert_eq!(in_lists(&[7]).collect::<Vec<_>>(), vec![vec![7]]);
        assert_eq!(in_lists::<u8>(&[]).count(), 0);
    }

    #[test]
    fn tuples_number_rows_one_after_another() {
        assert_eq!(tuples(2, 2, 3, ", $1"), "($3, $4, $1), ($5, $6, $1)");
    }
}
