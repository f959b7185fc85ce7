DROP TABLE organizations;
DROP INDEX users_tenant_external_id;
ALTER TABLE users DROP COLUMN external_id;
