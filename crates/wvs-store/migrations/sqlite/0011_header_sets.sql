-- WVS schema, version 11: request headers stored once per hook (header sets).
--
-- A header set: the request headers a hook's log rows share, as a JSON list of
-- [name, value] in the order sent, value null where each row holds its own (the event's
-- UUID, the idempotency key, the signing time). digest is the SHA-256 of headers, its key.
-- Sets are never deleted.
CREATE TABLE header_sets (
    id      INTEGER PRIMARY KEY,
    digest  BLOB NOT NULL UNIQUE,
    headers TEXT NOT NULL
);

-- A row with a header set keeps in request_headers only the JSON list of its own values,
-- in order; a row without (logged before version 11) keeps every header there, as before.
-- No foreign key: sets are never deleted, and the check would cost every logged attempt a
-- lookup (and, on PostgreSQL, a share lock on one much-shared row).
ALTER TABLE attempts ADD COLUMN header_set_id INTEGER;
