-- WVS schema, version 2 (PostgreSQL): per-hook scheduling, delivery limits, rate limits and
-- loop protection.

-- Per-hook limits, enforced by the claim over every node.
ALTER TABLE hooks ADD COLUMN max_in_flight BIGINT NOT NULL DEFAULT 4;
ALTER TABLE hooks ADD COLUMN ordered BOOLEAN NOT NULL DEFAULT FALSE;

-- The claim works hook by hook: it looks at the hooks whose next_due_at has come, then takes
-- each one's due deliveries through deliveries_hook_due. next_due_at is a lower bound of the
-- time the hook next has a claimable delivery; NULL means nothing is pending, or the hook
-- is permanently disabled and holds its backlog. A hook that hangs, is disabled or is over
-- its rate limit therefore costs the claim one hook row, however long its backlog.
ALTER TABLE hooks ADD COLUMN next_due_at BIGINT;
UPDATE hooks SET next_due_at = (
    SELECT min(next_attempt_at) FROM deliveries
    WHERE deliveries.hook_id = hooks.id AND deliveries.state IN ('pending', 'in_flight'));
CREATE INDEX hooks_due ON hooks (next_due_at, id) WHERE next_due_at IS NOT NULL;

DROP INDEX deliveries_due;
-- A hook's due deliveries, oldest due first; also its earliest due time.
CREATE INDEX deliveries_hook_due ON deliveries (hook_id, next_attempt_at, id) WHERE state = 'pending';
-- The head of an ordered hook's queue (its oldest pending delivery, by event order).
CREATE INDEX deliveries_hook_pending ON deliveries (hook_id, id) WHERE state = 'pending';
-- Deliveries in flight per hook, for the in-flight limit.
CREATE INDEX deliveries_in_flight ON deliveries (hook_id) WHERE state = 'in_flight';

-- The top-level namespace a delivery is rate-limited by (NULL: never, e.g. system hooks),
-- and whether it had to wait for that limit (the log says so).
ALTER TABLE deliveries ADD COLUMN rate_key TEXT;
ALTER TABLE deliveries ADD COLUMN rate_limited BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE attempts ADD COLUMN rate_limited BOOLEAN NOT NULL DEFAULT FALSE;

-- Calls made in the current window per rate key; shared by every node.
CREATE TABLE rate_windows (
    key          TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    calls        BIGINT NOT NULL
);

-- The uuid sent as X-WVS-Event-UUID: the event's own, or the one a receiver passed on when
-- it called back into WVS. Events of one chain share it; loop protection counts the hooks a
-- chain reached.
ALTER TABLE events ADD COLUMN chain_uuid TEXT NOT NULL DEFAULT '';
UPDATE events SET chain_uuid = uuid;
CREATE INDEX events_chain ON events (chain_uuid);
