-- WVS schema, version 9: retention (`--log-retention`).
--
-- Events by age, for the pruner's scan from the oldest; deliveries by event, for the
-- pruner's check of an event's deliveries and for the cascade that deletes them with it.
CREATE INDEX events_created ON events (created_at, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- The largest delivery-log id deleted by retention: a missing attempt at or below it was
-- pruned, and a resend of it says so.
CREATE TABLE log_retention (
    pruned_through BIGINT NOT NULL
);
INSERT INTO log_retention (pruned_through) VALUES (0);
