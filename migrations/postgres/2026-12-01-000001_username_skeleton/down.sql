DROP INDEX users_missing_skeleton;
DROP INDEX users_tenant_username_skeleton;
ALTER TABLE users DROP COLUMN username_skeleton;
