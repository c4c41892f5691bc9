-- WVS schema, version 5: the delivery log by time, for the overview's recent activity
-- (attempts per minute, slowest hooks) without reading the whole log.
CREATE INDEX attempts_created ON attempts (created_at);
