-- SCIM 2.0 (docs/scim.md): the identity provider's id of a user, and groups.
--
-- users.external_id is the provider's id (SCIM `externalId`), compared
-- exactly (case-sensitive, so COLLATE "C"), unique per tenant. NULLs never
-- collide, so users without one are not constrained. The unique index is
-- also the index behind `externalId eq` filters.
ALTER TABLE users ADD COLUMN external_id TEXT COLLATE "C";
CREATE UNIQUE INDEX users_tenant_external_id ON users (tenant_id, external_id);

-- A SCIM Group is an organization of the tenant: its id is the organization
-- id that memberships name (user_organizations.organization, Blocks'
-- `organizationId`), so a group's members are the users with a membership
-- in it. The row holds what an organization has beyond its id.
CREATE TABLE organizations (
    tenant_id        TEXT COLLATE "C" NOT NULL,
    id               TEXT COLLATE "C" NOT NULL,
    display_name     TEXT NOT NULL,
    -- Case-insensitive NFKC key of the display name, for filters and order.
    display_name_key TEXT COLLATE "C" NOT NULL,
    external_id      TEXT COLLATE "C",
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CONSTRAINT organizations_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT organizations_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT organizations_version_positive CHECK (version >= 1)
);
CREATE UNIQUE INDEX organizations_tenant_external_id ON organizations (tenant_id, external_id);
CREATE UNIQUE INDEX organizations_tenant_display_name ON organizations (tenant_id, display_name_key);
CREATE INDEX organizations_tenant_created ON organizations (tenant_id, created_at, id);
