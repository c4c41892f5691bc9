//! The contract between the shared query modules (`src/queries/`) and a backend: the few
//! things SQLite and PostgreSQL say differently (row locks, parameters, id sequences,
//! wake-ups). Each backend implements [`Dialect`] once, on a unit type, and the query
//! modules compiled for it call that type through the backend's alias `Db`: a backend
//! that lacks an item, or declares it differently, does not compile.

use crate::Result;

/// What one backend says differently. Every item is read or called by the query modules as
/// `Db::ITEM` (see `queries/mod.rs`).
pub(crate) trait Dialect {
    /// The connection the query modules run on.
    type Conn: Send;

    /// Appended to a SELECT whose rows the transaction goes on to change.
    const LOCK: &'static str;
    /// Appended to a SELECT of rows that must not be deleted before the transaction ends,
    /// while other transactions may still lock them to change them.
    const KEY_SHARE: &'static str;
    /// Appended to a SELECT of rows to work on that another transaction may hold.
    const SKIP_LOCKED: &'static str;
    /// The parameter of a statement whose parameters are bound once each, in the order they
    /// appear, or `None` where only numbered ones (`$7`) are cheap (see
    /// `sql::rows_in_order`).
    const IN_ORDER: Option<&'static str>;
    /// Whether write transactions (of several nodes) run at the same time, so that what a
    /// transaction read before locking may be stale.
    const WRITES_SIDE_BY_SIDE: bool;

    /// The top-level namespace of the path `path` (an SQL expression): its first segment.
    fn top_segment(path: &str) -> String;

    /// The value of a new row's id in `table`: parameter `$param`, or (NULL) the next free
    /// one.
    fn id_or_next(table: &str, param: usize) -> String;

    /// After a row was inserted into `table` with a given id (the forge's): makes sure an
    /// id assigned later does not collide with it.
    async fn ids_taken(conn: &mut Self::Conn, table: &str) -> Result<()>;

    /// Deliveries became claimable: wakes the dispatchers that would not hear of it
    /// otherwise.
    async fn work_added(conn: &mut Self::Conn) -> Result<()>;

    /// What read caches remember changed: makes every cache that would not hear of it
    /// otherwise forget it.
    async fn cached_changed(conn: &mut Self::Conn) -> Result<()>;
}
