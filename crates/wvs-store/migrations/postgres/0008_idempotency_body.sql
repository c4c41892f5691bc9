-- WVS schema, version 8: the body an idempotency key was first posted with.
--
-- The SHA-256 (hex) of the ingest body stored under events.idempotency_key: the same key
-- posted again with another body is refused instead of answered with the first event.
-- Keys stored before this version have none, and any body is taken as theirs.
ALTER TABLE events ADD COLUMN idempotency_sha256 TEXT;
