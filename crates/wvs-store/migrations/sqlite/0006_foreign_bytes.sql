-- WVS schema, version 6 (SQLite).
--
-- A receiver's reply is kept as the bytes it sent: `attempts.response_body` is bound as a
-- BLOB from now on. SQLite stores whatever a column is given, so the column needs no change
-- (PostgreSQL's becomes BYTEA); older rows are UTF-8 text and read back the same.

-- The readiness probe writes here (and deletes what it wrote in the same transaction) to tell
-- whether the store can take a write of some size again after a write failed (a full disk,
-- or the file at its max_page_count).
CREATE TABLE write_probe (
    filler BLOB NOT NULL
);
