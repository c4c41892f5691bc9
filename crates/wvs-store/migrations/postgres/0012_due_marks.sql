-- WVS schema, version 12 (PostgreSQL only): due marks.
--
-- An ingest that gives a hook deliveries used to bring the hook's next_due_at forward, a
-- write to the hook's row: every node's ingests of one busy hook then queued on that row,
-- behind each other's commits and behind the claims that lock it. An ingest now adds a mark
-- instead (rows of their own: nothing to wait for), and a claim that locks the hook takes
-- its marks with it, in the same snapshot as the deliveries it reads, and writes the row.
-- A hook is due when its next_due_at has come or it has a mark that has (see
-- postgres/claim_statement.rs). SQLite has one writer and no such table.
CREATE TABLE hook_due_marks (
    id      BIGSERIAL PRIMARY KEY,
    hook_id BIGINT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    due_at  BIGINT NOT NULL
);
CREATE INDEX hook_due_marks_by_hook ON hook_due_marks (hook_id, due_at);
