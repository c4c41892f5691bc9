-- WVS schema, version 1 (PostgreSQL).
--
-- The same tables as the SQLite schema of the same version, so that one set of queries
-- serves both: every integer is BIGINT (read as i64), ids are BIGSERIAL (a given id, the
-- forge's, is kept and the sequence moved past it), payloads BYTEA. Times are Unix
-- milliseconds. JSON is stored as TEXT, byte for byte as received, never queried inside.

-- Instance settings (e.g. the admin token's hash).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Groups form a tree through parent_id; full_path is denormalized (kept in sync on rename
-- and move) so that lookups by path are one index probe. Deleting a group deletes its
-- subgroups, their projects and, through those, every hook among them.
CREATE TABLE groups (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    full_path   TEXT NOT NULL UNIQUE,
    parent_id   BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    description TEXT,
    visibility  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX groups_parent ON groups (parent_id);

-- A project lives in a group (namespace_id) or in a user namespace (namespace_id NULL,
-- namespace_path = the user's name). The descriptive attributes are one JSON document: they
-- are only ever read whole, to fill a payload's `project` block.
CREATE TABLE projects (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT NOT NULL,
    path                TEXT NOT NULL,
    namespace_id        BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    namespace_path      TEXT NOT NULL,
    path_with_namespace TEXT NOT NULL UNIQUE,
    attributes          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX projects_namespace ON projects (namespace_id);

-- Hooks belong to a project, a group, or the instance (system). `secrets` is serialized by
-- one function in the store (to be encrypted at rest later); `settings` belongs to the hooks
-- layer. The health columns are GitLab's auto-disable state.
CREATE TABLE hooks (
    id                   BIGSERIAL PRIMARY KEY,
    uuid                 TEXT NOT NULL UNIQUE,
    scope                TEXT NOT NULL CHECK (scope IN ('project', 'group', 'system')),
    project_id           BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    group_id             BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    url                  TEXT NOT NULL,
    secrets              TEXT NOT NULL,
    settings             TEXT NOT NULL,
    recent_failures      BIGINT NOT NULL DEFAULT 0,
    backoff_count        BIGINT NOT NULL DEFAULT 0,
    disabled_until       BIGINT,
    permanently_disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    CHECK ((scope = 'project') = (project_id IS NOT NULL)),
    CHECK ((scope = 'group') = (group_id IS NOT NULL))
);
CREATE INDEX hooks_project ON hooks (project_id);
CREATE INDEX hooks_group ON hooks (group_id);
CREATE INDEX hooks_scope ON hooks (scope);

-- An event's payload is stored once, however many hooks receive it. No foreign keys to
-- projects or groups: events outlive them (project_destroy names a deleted project).
CREATE TABLE events (
    id              BIGSERIAL PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    project_id      BIGINT,
    group_id        BIGINT,
    payload         BYTEA NOT NULL,
    idempotency_key TEXT UNIQUE,
    delivery_count  BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
-- latest_event (hook tests): newest event of a kind for a project.
CREATE INDEX events_latest ON events (project_id, kind, id);

-- The queue: one small row per (event, hook). A claim sets state 'in_flight' with a lease;
-- an attempt moves it to 'succeeded', 'failed', or back to 'pending' with a later
-- next_attempt_at.
CREATE TABLE deliveries (
    id               BIGSERIAL PRIMARY KEY,
    event_id         BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    hook_id          BIGINT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    event_header     TEXT NOT NULL,
    trigger          TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'succeeded', 'failed')),
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    updated_at       BIGINT NOT NULL
);
-- Partial indexes hold only the rows the dispatcher looks for, so they stay small however
-- many finished deliveries pile up: due pending rows in claim order, and leases by expiry
-- (for taking over a dead node's claims) and by owner (for release at shutdown).
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_leases ON deliveries (lease_expires_at, id) WHERE state = 'in_flight';
CREATE INDEX deliveries_owner ON deliveries (lease_owner) WHERE state = 'in_flight';
-- Deleting a hook deletes its deliveries.
CREATE INDEX deliveries_hook ON deliveries (hook_id);

-- The delivery log. delivery_id and event_id carry no foreign key: the log is history and
-- outlives pruned deliveries. request_body NULL means "the event's payload" (not copied).
CREATE TABLE attempts (
    id                 BIGSERIAL PRIMARY KEY,
    hook_id            BIGINT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    delivery_id        BIGINT,
    event_id           BIGINT,
    trigger            TEXT NOT NULL,
    url                TEXT NOT NULL,
    request_headers    TEXT NOT NULL,
    request_body       BYTEA,
    response_status    BIGINT,
    response_headers   TEXT NOT NULL,
    response_body      TEXT NOT NULL,
    execution_duration DOUBLE PRECISION NOT NULL,
    internal_error     TEXT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX attempts_hook ON attempts (hook_id, id);
