-- WVS schema, version 6 (PostgreSQL): a receiver's reply is kept as the bytes it sent.
--
-- `text` cannot hold a NUL byte and refuses invalid UTF-8, and a receiver may answer with
-- either (or with binary data): one such reply could not be logged, and its attempt could
-- not be recorded. The log keeps the start of the body as bytes; existing rows are UTF-8.
ALTER TABLE attempts ALTER COLUMN response_body TYPE BYTEA USING convert_to(response_body, 'UTF8');

-- The readiness probe writes here (and deletes what it wrote in the same transaction) to tell
-- whether the store can take a write of some size again after a write failed.
CREATE TABLE write_probe (
    filler BYTEA NOT NULL
);
