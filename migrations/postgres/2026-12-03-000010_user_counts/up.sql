-- Exact user counts for the common list filters, kept in the same
-- transaction as every write by triggers, so that every writer (the
-- dialects, SCIM, the admin API, the bulk import) keeps them right without
-- knowing of them. One row per tenant, kind and name, and status:
--   kind 'all'          name ''                 every user of the tenant
--   kind 'role'         name the role           users holding that role
--   kind 'organization' name the organization   members of it
-- A total for a status set is the sum of its rows (storage `list.rs`).
CREATE TABLE user_counts (
    tenant_id TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    status    TEXT COLLATE "C" NOT NULL,
    n         BIGINT NOT NULL,
    CONSTRAINT user_counts_pkey PRIMARY KEY (tenant_id, kind, name, status)
);

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

-- Statement-level triggers: a bulk insert of many users adds to each count
-- once, and each statement updates its count rows in key order (so two
-- statements never take two count rows' locks in opposite orders). Each
-- trigger sums its deltas per key and adds them (`INSERT ... ON CONFLICT`).

CREATE FUNCTION user_counts_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (tenant_id, kind, name, status, n)
    SELECT tenant_id, 'all', '', status, count(*) FROM new_users
    GROUP BY tenant_id, status ORDER BY tenant_id, status
    ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER user_counts_users_inserted AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_users_inserted();

-- A status change moves the user, with its roles and organizations, from
-- the old status's counts to the new one's.
CREATE FUNCTION user_counts_users_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (tenant_id, kind, name, status, n)
    SELECT tenant_id, kind, name, status, sum(n) FROM (
        SELECT k.tenant_id, k.kind, k.name, s.status, s.n
        FROM (
            SELECT o.tenant_id, o.id, o.status AS old_status, n.status AS new_status
            FROM old_users o JOIN new_users n ON n.tenant_id = o.tenant_id AND n.id = o.id
            WHERE o.status <> n.status
        ) m
        CROSS JOIN LATERAL (
            SELECT m.tenant_id, 'all' AS kind, '' AS name
            UNION ALL
            SELECT m.tenant_id, 'role', r.role
            FROM user_roles r WHERE r.tenant_id = m.tenant_id AND r.user_id = m.id
            UNION ALL
            SELECT m.tenant_id, 'organization', g.organization
            FROM user_organizations g WHERE g.tenant_id = m.tenant_id AND g.user_id = m.id
        ) k
        CROSS JOIN LATERAL (VALUES (m.old_status, -1), (m.new_status, 1)) AS s(status, n)
    ) d
    GROUP BY tenant_id, kind, name, status
    HAVING sum(n) <> 0
    ORDER BY tenant_id, kind, name, status
    ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER user_counts_users_updated AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_users_updated();

-- A purged user leaves every count it was in. Before the row goes, while
-- its roles and organizations are still there: their own rows are then
-- deleted by the cascade, and their trigger finds no user to count.
CREATE FUNCTION user_counts_user_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts c SET n = c.n - 1
    FROM (
        SELECT 'all' AS kind, '' AS name
        UNION ALL
        SELECT 'role', r.role FROM user_roles r
        WHERE r.tenant_id = OLD.tenant_id AND r.user_id = OLD.id
        UNION ALL
        SELECT 'organization', g.organization FROM user_organizations g
        WHERE g.tenant_id = OLD.tenant_id AND g.user_id = OLD.id
    ) k
    WHERE c.tenant_id = OLD.tenant_id AND c.kind = k.kind AND c.name = k.name
      AND c.status = OLD.status;
    RETURN OLD;
END $$;
CREATE TRIGGER user_counts_user_deleted BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION user_counts_user_deleted();

-- Roles and organizations given or taken, counted under their user's
-- current status.
CREATE FUNCTION user_counts_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign BIGINT := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    IF TG_TABLE_NAME = 'user_roles' THEN
        INSERT INTO user_counts (tenant_id, kind, name, status, n)
        SELECT r.tenant_id, 'role', r.role, u.status, sign * count(*)
        FROM changed_rows r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
        GROUP BY r.tenant_id, r.role, u.status ORDER BY r.tenant_id, r.role, u.status
        ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    ELSE
        INSERT INTO user_counts (tenant_id, kind, name, status, n)
        SELECT g.tenant_id, 'organization', g.organization, u.status, sign * count(*)
        FROM changed_rows g JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
        GROUP BY g.tenant_id, g.organization, u.status ORDER BY g.tenant_id, g.organization, u.status
        ON CONFLICT (tenant_id, kind, name, status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER user_counts_roles_inserted AFTER INSERT ON user_roles
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_rows_changed();
CREATE TRIGGER user_counts_roles_deleted AFTER DELETE ON user_roles
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_rows_changed();
CREATE TRIGGER user_counts_organizations_inserted AFTER INSERT ON user_organizations
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_rows_changed();
CREATE TRIGGER user_counts_organizations_deleted AFTER DELETE ON user_organizations
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_rows_changed();

-- Offset pages in the default order read the page's ids from this index
-- alone (the status is in it, so a status filter needs no table row),
-- then only the page's rows: a deep page walks index entries, not rows.
CREATE INDEX users_tenant_created_status ON users (tenant_id, created_at, id, status);
DROP INDEX users_tenant_created;
