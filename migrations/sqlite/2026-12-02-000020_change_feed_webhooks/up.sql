-- The change feed and webhooks: see
-- migrations/postgres/2026-12-02-000020_change_feed_webhooks/up.sql. On
-- SQLite every write transaction starts with BEGIN IMMEDIATE, so writers
-- are serialised anyway and positions follow commit order; the trigger
-- only hands them out.
CREATE TABLE tenant_feed (
    tenant_id TEXT NOT NULL,
    last_seq  INTEGER NOT NULL,
    CONSTRAINT tenant_feed_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_feed_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) STRICT;

-- 0 until the trigger below sets it in the same statement (SQLite cannot
-- add a NOT NULL column without a default, nor change NEW in a trigger).
ALTER TABLE user_history ADD COLUMN feed_seq INTEGER NOT NULL DEFAULT 0;
UPDATE user_history AS h
SET feed_seq = n.seq
FROM (
    SELECT tenant_id, user_id, version,
           row_number() OVER (PARTITION BY tenant_id ORDER BY at, user_id, version) AS seq
    FROM user_history
) AS n
WHERE h.tenant_id = n.tenant_id AND h.user_id = n.user_id AND h.version = n.version;
INSERT INTO tenant_feed (tenant_id, last_seq)
SELECT tenant_id, MAX(feed_seq) FROM user_history GROUP BY tenant_id;
CREATE UNIQUE INDEX user_history_tenant_feed ON user_history (tenant_id, feed_seq);

CREATE TRIGGER user_history_feed_seq AFTER INSERT ON user_history
BEGIN
    INSERT OR IGNORE INTO tenant_feed (tenant_id, last_seq) VALUES (NEW.tenant_id, 0);
    UPDATE tenant_feed SET last_seq = last_seq + 1 WHERE tenant_id = NEW.tenant_id;
    UPDATE user_history
    SET feed_seq = (SELECT last_seq FROM tenant_feed WHERE tenant_id = NEW.tenant_id)
    WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id AND version = NEW.version;
END;

CREATE TABLE webhooks (
    id              TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    description     TEXT,
    secret          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    cursor_seq      INTEGER NOT NULL,
    cursor_index    INTEGER NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    failing_since   INTEGER,
    next_attempt_at INTEGER NOT NULL,
    lease_id        TEXT,
    lease_until     INTEGER,
    CONSTRAINT webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT webhooks_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) STRICT;
CREATE INDEX webhooks_tenant_created ON webhooks (tenant_id, created_at, id);
CREATE INDEX webhooks_due ON webhooks (state, next_attempt_at);

CREATE TABLE webhook_deliveries (
    id            TEXT NOT NULL,
    webhook_id    TEXT NOT NULL,
    event_cursor  TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    status_code   INTEGER,
    latency_ms    INTEGER NOT NULL,
    error         TEXT,
    next_retry_at INTEGER,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_webhook_fk FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX webhook_deliveries_webhook_at ON webhook_deliveries (webhook_id, at);
