-- Exact user counts for the common list filters, kept in the same
-- transaction as every write by triggers, so that every writer (the
-- dialects, SCIM, the admin API, the bulk import) keeps them right without
-- knowing of them. One row per tenant, kind and name, and status:
--   kind 'all'          name ''                 every user of the tenant
--   kind 'role'         name the role           users holding that role
--   kind 'organization' name the organization   members of it
-- A total for a status set is the sum of its rows (storage `list.rs`).
-- SQLite has one writer at a time, so row-level triggers cannot deadlock.
CREATE TABLE user_counts (
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    CONSTRAINT user_counts_pkey PRIMARY KEY (tenant_id, kind, name, status)
) STRICT, WITHOUT ROWID;

INSERT INTO user_counts (tenant_id, kind, name, status, n)
SELECT tenant_id, 'all', '', status, count(*) FROM users GROUP BY tenant_id, status;
INSERT INTO user_counts (tenant_id, kind, name, status, n)
SELECT r.tenant_id, 'role', r.role, u.status, count(*)
FROM user_roles r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
GROUP BY r.tenant_id, r.role, u.status;
INSERT INTO user_counts (tenant_id, kind, name, status, n)
SELECT o.tenant_id, 'organization', o.organization, u.status, count(*)
FROM user_organizations o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id
GROUP BY o.tenant_id, o.organization, u.status;

CREATE TRIGGER user_counts_user_inserted AFTER INSERT ON users
BEGIN
    INSERT INTO user_counts (tenant_id, kind, name, status, n)
    VALUES (NEW.tenant_id, 'all', '', NEW.status, 1)
    ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = n + 1;
END;

-- A status change moves the user, with its roles and organizations, from
-- the old status's counts to the new one's.
CREATE TRIGGER user_counts_user_status_changed AFTER UPDATE OF status ON users
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE tenant_id = OLD.tenant_id AND status = OLD.status AND (
        (kind = 'all' AND name = '')
        OR (kind = 'role' AND name IN (
            SELECT role FROM user_roles WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id))
        OR (kind = 'organization' AND name IN (
            SELECT organization FROM user_organizations
            WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id))
    );
    INSERT INTO user_counts (tenant_id, kind, name, status, n)
    SELECT NEW.tenant_id, 'all', '', NEW.status, 1
    UNION ALL
    SELECT NEW.tenant_id, 'role', role, NEW.status, 1 FROM user_roles
    WHERE tenant_id = NEW.tenant_id AND user_id = NEW.id
    UNION ALL
    SELECT NEW.tenant_id, 'organization', organization, NEW.status, 1 FROM user_organizations
    WHERE tenant_id = NEW.tenant_id AND user_id = NEW.id
    ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = n + 1;
END;

-- A purged user leaves every count it was in. Before the row goes, while
-- its roles and organizations are still there: the cascade deletes them
-- after the user row, and their trigger then finds no user to count.
CREATE TRIGGER user_counts_user_deleted BEFORE DELETE ON users
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE tenant_id = OLD.tenant_id AND status = OLD.status AND (
        (kind = 'all' AND name = '')
        OR (kind = 'role' AND name IN (
            SELECT role FROM user_roles WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id))
        OR (kind = 'organization' AND name IN (
            SELECT organization FROM user_organizations
            WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id))
    );
END;

-- Roles and organizations given or taken, counted under their user's
-- current status.
CREATE TRIGGER user_counts_role_inserted AFTER INSERT ON user_roles
BEGIN
    INSERT INTO user_counts (tenant_id, kind, name, status, n)
    SELECT NEW.tenant_id, 'role', NEW.role, status, 1 FROM users
    WHERE tenant_id = NEW.tenant_id AND id = NEW.user_id
    ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER user_counts_role_deleted AFTER DELETE ON user_roles
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE tenant_id = OLD.tenant_id AND kind = 'role' AND name = OLD.role
      AND status = (SELECT status FROM users WHERE tenant_id = OLD.tenant_id AND id = OLD.user_id);
END;
CREATE TRIGGER user_counts_organization_inserted AFTER INSERT ON user_organizations
BEGIN
    INSERT INTO user_counts (tenant_id, kind, name, status, n)
    SELECT NEW.tenant_id, 'organization', NEW.organization, status, 1 FROM users
    WHERE tenant_id = NEW.tenant_id AND id = NEW.user_id
    ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER user_counts_organization_deleted AFTER DELETE ON user_organizations
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE tenant_id = OLD.tenant_id AND kind = 'organization' AND name = OLD.organization
      AND status = (SELECT status FROM users WHERE tenant_id = OLD.tenant_id AND id = OLD.user_id);
END;

-- Offset pages in the default order read the page's ids from this index
-- alone (the status is in it, so a status filter needs no table row),
-- then only the page's rows: a deep page walks index entries, not rows.
CREATE INDEX users_tenant_created_status ON users (tenant_id, created_at, id, status);
DROP INDEX users_tenant_created;
