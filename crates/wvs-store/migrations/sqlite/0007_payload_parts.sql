-- WVS schema, version 7: large payloads stored in parts.
--
-- A payload of more than 1 MiB keeps its first MiB in events.payload and the rest here, one
-- MiB a row, in order. Each statement then carries at most one part: storing or reading a
-- 25 MiB event no longer holds several copies of all of it at once (the driver's, the
-- database binding's and the record's). Payloads of up to 1 MiB, the common case, are
-- stored as before.
CREATE TABLE event_payload_parts (
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    part     BLOB NOT NULL,
    PRIMARY KEY (event_id, seq)
);
