-- WVS schema, version 4 (PostgreSQL): users, their SSH keys, and project and group memberships,
-- which the registry API keeps so that it can emit the documented system and member events.

CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ssh_keys (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ssh_keys_user ON ssh_keys (user_id);

-- A membership is in one project or in one group. `expires_at` is a date (YYYY-MM-DD).
CREATE TABLE members (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    group_id     BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    access_level BIGINT NOT NULL,
    expires_at   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CHECK ((project_id IS NULL) <> (group_id IS NULL)),
    UNIQUE (project_id, user_id),
    UNIQUE (group_id, user_id)
);
CREATE INDEX members_user ON members (user_id);
