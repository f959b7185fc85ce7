-- The confusable skeleton of each username (the domain's UsernameSkeleton:
-- UTS #39 over the username key), unique per tenant like username_key, so
-- that Cyrillic "аlice" is refused while Latin "alice" is taken. A
-- collision is reported as a taken username (see storage's users module).
--
-- SQL cannot compute a skeleton, so the column starts NULL: Store::migrate
-- fills it in Rust after the migrations (in batches), and every write sets
-- it. NULLs never collide in a unique index, so two look-alike users that
-- exist already do not stop this migration: the backfill keeps the older
-- one's skeleton and leaves the other NULL, with a warning.
ALTER TABLE users ADD COLUMN username_skeleton TEXT COLLATE "C";
CREATE UNIQUE INDEX users_tenant_username_skeleton ON users (tenant_id, username_skeleton);
-- The rows the backfill still has to visit, oldest first in each tenant;
-- empty (and free) once every skeleton is filled.
CREATE INDEX users_missing_skeleton ON users (tenant_id, created_at, id)
    WHERE username_skeleton IS NULL;
