-- SCIM 2.0: see migrations/postgres/2026-12-02-000010_scim/up.sql. SQLite
-- compares text byte by byte (BINARY), as COLLATE "C" does on PostgreSQL.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_tenant_external_id ON users (tenant_id, external_id);

CREATE TABLE organizations (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id      TEXT,
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CONSTRAINT organizations_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT organizations_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT organizations_version_positive CHECK (version >= 1)
) STRICT;
CREATE UNIQUE INDEX organizations_tenant_external_id ON organizations (tenant_id, external_id);
CREATE UNIQUE INDEX organizations_tenant_display_name ON organizations (tenant_id, display_name_key);
CREATE INDEX organizations_tenant_created ON organizations (tenant_id, created_at, id);
