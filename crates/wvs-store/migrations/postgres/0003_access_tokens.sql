-- WVS schema, version 3 (PostgreSQL): project and group access tokens.

-- A token is scoped to one project, or to one group and everything beneath it. Only the
-- SHA-256 digest of the token is kept; the token itself is shown once, when created.
CREATE TABLE access_tokens (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    digest     TEXT NOT NULL UNIQUE,
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    group_id   BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    CHECK ((project_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX access_tokens_project ON access_tokens (project_id);
CREATE INDEX access_tokens_group ON access_tokens (group_id);
