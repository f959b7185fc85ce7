-- userhub's schema on SQLite: the same logical schema as
-- migrations/postgres/ (see docs/storage.md). Tables are STRICT, so a value
-- of the wrong type is refused instead of stored. Text compares with SQLite's
-- default BINARY collation (byte order = code-point order), as PostgreSQL's
-- COLLATE "C" columns do. SQLite reports a unique violation by its columns
-- ("UNIQUE constraint failed: users.tenant_id, users.username_key"), which
-- storage maps onto the field.

CREATE TABLE tenants (
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    password_policy TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_name_key UNIQUE (name)
) STRICT;

-- A user is identified by (tenant_id, id): an id is unique within its tenant
-- only, so a tenant that chooses an id learns nothing about other tenants.
-- Every table that refers to a user does so by both columns.
CREATE TABLE users (
    id                    TEXT NOT NULL,
    tenant_id             TEXT NOT NULL,
    username              TEXT NOT NULL,
    username_key          TEXT NOT NULL,
    email                 TEXT NOT NULL,
    email_key             TEXT NOT NULL,
    status                TEXT NOT NULL,
    password_hash         TEXT,
    version               INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    profile               TEXT NOT NULL,
    last_auth_at          INTEGER,
    last_auth_valid_until INTEGER,
    last_auth_location    TEXT,
    first_name_key        TEXT,
    last_name_key         TEXT,
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT users_version_positive CHECK (version >= 1)
) STRICT;
CREATE UNIQUE INDEX users_tenant_username_key ON users (tenant_id, username_key);
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, email_key);
CREATE INDEX users_tenant_created ON users (tenant_id, created_at, id);
CREATE INDEX users_tenant_updated ON users (tenant_id, updated_at, id);
CREATE INDEX users_tenant_status_created ON users (tenant_id, status, created_at, id);
CREATE INDEX users_tenant_first_name ON users (tenant_id, first_name_key);
CREATE INDEX users_tenant_last_name ON users (tenant_id, last_name_key);

CREATE TABLE user_roles (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    role      TEXT NOT NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (tenant_id, user_id, role),
    CONSTRAINT user_roles_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX user_roles_tenant_role ON user_roles (tenant_id, role, user_id);

CREATE TABLE user_organizations (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    organization TEXT NOT NULL,
    CONSTRAINT user_organizations_pkey PRIMARY KEY (tenant_id, user_id, organization),
    CONSTRAINT user_organizations_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX user_organizations_tenant_org ON user_organizations (tenant_id, organization, user_id);

CREATE TABLE user_attributes (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    CONSTRAINT user_attributes_pkey PRIMARY KEY (tenant_id, user_id, name),
    CONSTRAINT user_attributes_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX user_attributes_tenant_name_value ON user_attributes (tenant_id, name, value, user_id);

-- No foreign key to users on purpose: purging a user keeps its history.
CREATE TABLE user_history (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    version   INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    at        INTEGER NOT NULL,
    changes   TEXT NOT NULL,
    comment   TEXT,
    CONSTRAINT user_history_pkey PRIMARY KEY (tenant_id, user_id, version)
) STRICT;

CREATE TABLE api_keys (
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    roles        TEXT NOT NULL,
    label        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) STRICT;
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at, id);

CREATE TABLE sessions (
    id                 TEXT NOT NULL,
    tenant_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    access_hash        TEXT NOT NULL,
    access_expires_at  INTEGER NOT NULL,
    refresh_hash       TEXT NOT NULL,
    refresh_expires_at INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_access_hash_key UNIQUE (access_hash),
    CONSTRAINT sessions_refresh_hash_key UNIQUE (refresh_hash),
    CONSTRAINT sessions_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE attribute_definitions (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    CONSTRAINT attribute_definitions_pkey PRIMARY KEY (tenant_id, name),
    CONSTRAINT attribute_definitions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) STRICT;
