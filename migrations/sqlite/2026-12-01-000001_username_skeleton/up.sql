-- The confusable skeleton of each username: see
-- migrations/postgres/2026-12-01-000001_username_skeleton/up.sql. SQLite
-- reports a collision as "UNIQUE constraint failed: users.tenant_id,
-- users.username_skeleton".
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_tenant_username_skeleton ON users (tenant_id, username_skeleton);
CREATE INDEX users_missing_skeleton ON users (tenant_id, created_at, id)
    WHERE username_skeleton IS NULL;
