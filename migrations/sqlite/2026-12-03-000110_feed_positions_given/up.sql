-- See the PostgreSQL migration of the same name: a row written with its
-- feed position (the bulk import reserves a batch's positions at once)
-- is left as it is; a row written without one (0, the column's default)
-- is numbered as before.
DROP TRIGGER user_history_feed_seq;
CREATE TRIGGER user_history_feed_seq AFTER INSERT ON user_history
WHEN NEW.feed_seq = 0
BEGIN
    INSERT OR IGNORE INTO tenant_feed (tenant_id, last_seq) VALUES (NEW.tenant_id, 0);
    UPDATE tenant_feed SET last_seq = last_seq + 1 WHERE tenant_id = NEW.tenant_id;
    UPDATE user_history
    SET feed_seq = (SELECT last_seq FROM tenant_feed WHERE tenant_id = NEW.tenant_id)
    WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id AND version = NEW.version;
END;
