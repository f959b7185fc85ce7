DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TRIGGER user_history_feed_seq;
DROP INDEX user_history_tenant_feed;
ALTER TABLE user_history DROP COLUMN feed_seq;
DROP TABLE tenant_feed;
