-- userhub's schema on PostgreSQL. The logical schema is the same as
-- migrations/sqlite/ (see docs/storage.md):
--   * ids are TEXT (lowercase hyphenated UUIDs), times are BIGINT
--     microseconds since the Unix epoch, so one diesel code path
--     (MultiConnection) serves both backends;
--   * every text column that is compared, sorted or range-scanned uses
--     COLLATE "C" (byte order = code-point order, as in SQLite and in Rust),
--     so a prefix filter is a plain index range and both backends list users
--     in the same order whatever the database's default collation;
--   * constraint and index names are part of the contract: storage maps a
--     unique violation onto the field it names.

CREATE TABLE tenants (
    id              TEXT COLLATE "C" NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    password_policy TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_name_key UNIQUE (name)
);

-- A user is identified by (tenant_id, id): an id is unique within its tenant
-- only, so a tenant that chooses an id learns nothing about other tenants.
-- Every table that refers to a user does so by both columns.
CREATE TABLE users (
    id                    TEXT COLLATE "C" NOT NULL,
    tenant_id             TEXT COLLATE "C" NOT NULL,
    username              TEXT NOT NULL,
    username_key          TEXT COLLATE "C" NOT NULL,
    email                 TEXT NOT NULL,
    email_key             TEXT COLLATE "C" NOT NULL,
    status                TEXT COLLATE "C" NOT NULL,
    password_hash         TEXT,
    version               BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    -- Every other field of the user, as JSON (see storage's `profile` module).
    profile               TEXT NOT NULL,
    last_auth_at          BIGINT,
    last_auth_valid_until BIGINT,
    last_auth_location    TEXT,
    -- Name keys (case-insensitive NFKC, as usernames) for name filters.
    first_name_key        TEXT COLLATE "C",
    last_name_key         TEXT COLLATE "C",
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT users_version_positive CHECK (version >= 1)
);
-- Uniqueness per tenant; also the index for key lookups, key filters
-- (exact and prefix) and the Username / Email orders.
CREATE UNIQUE INDEX users_tenant_username_key ON users (tenant_id, username_key);
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, email_key);
-- The CreatedAt / UpdatedAt orders, ties broken by id.
CREATE INDEX users_tenant_created ON users (tenant_id, created_at, id);
CREATE INDEX users_tenant_updated ON users (tenant_id, updated_at, id);
-- Status filters (a single status, or a small set) in creation order.
CREATE INDEX users_tenant_status_created ON users (tenant_id, status, created_at, id);
-- Name filters (exact or prefix on the key).
CREATE INDEX users_tenant_first_name ON users (tenant_id, first_name_key);
CREATE INDEX users_tenant_last_name ON users (tenant_id, last_name_key);

-- Derived from the user's roles, written in the same transaction as the
-- user: the index behind role filters and the last-admin count.
CREATE TABLE user_roles (
    tenant_id TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    role      TEXT COLLATE "C" NOT NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (tenant_id, user_id, role),
    CONSTRAINT user_roles_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_roles_tenant_role ON user_roles (tenant_id, role, user_id);

-- Derived from the user's memberships: the index behind organization filters.
CREATE TABLE user_organizations (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    organization TEXT COLLATE "C" NOT NULL,
    CONSTRAINT user_organizations_pkey PRIMARY KEY (tenant_id, user_id, organization),
    CONSTRAINT user_organizations_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_organizations_tenant_org ON user_organizations (tenant_id, organization, user_id);

-- Derived from the user's custom attributes: the index behind attribute
-- filters (Nevis's `?<attribute>=value`).
CREATE TABLE user_attributes (
    tenant_id TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    CONSTRAINT user_attributes_pkey PRIMARY KEY (tenant_id, user_id, name),
    CONSTRAINT user_attributes_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_attributes_tenant_name_value ON user_attributes (tenant_id, name, value, user_id);

-- The audit trail. No foreign key to users on purpose: purging a user keeps
-- its history.
CREATE TABLE user_history (
    tenant_id TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    version   BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    at        BIGINT NOT NULL,
    changes   TEXT NOT NULL,
    comment   TEXT,
    CONSTRAINT user_history_pkey PRIMARY KEY (tenant_id, user_id, version)
);

CREATE TABLE api_keys (
    id           TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    prefix       TEXT COLLATE "C" NOT NULL,
    key_hash     TEXT NOT NULL,
    roles        TEXT NOT NULL,
    label        TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at, id);

CREATE TABLE sessions (
    id                 TEXT COLLATE "C" NOT NULL,
    tenant_id          TEXT COLLATE "C" NOT NULL,
    user_id            TEXT COLLATE "C" NOT NULL,
    access_hash        TEXT COLLATE "C" NOT NULL,
    access_expires_at  BIGINT NOT NULL,
    refresh_hash       TEXT COLLATE "C" NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    revoked_at         BIGINT,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_access_hash_key UNIQUE (access_hash),
    CONSTRAINT sessions_refresh_hash_key UNIQUE (refresh_hash),
    CONSTRAINT sessions_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- Revoking a user's sessions, and the cascade when a user is purged.
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE attribute_definitions (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT,
    created_at  BIGINT NOT NULL,
    CONSTRAINT attribute_definitions_pkey PRIMARY KEY (tenant_id, name),
    CONSTRAINT attribute_definitions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);
