-- The change feed and webhooks (docs/admin-api.md).
--
-- The feed is the history: each user_history row gets `feed_seq`, its
-- position in its tenant's feed. Positions are handed out in COMMIT order,
-- not insert order: the trigger below takes the next number from the
-- tenant's row of `tenant_feed` with an UPDATE, whose row lock is held
-- until the writing transaction ends. A second writer of the same tenant
-- waits for that lock, so it gets its number only after the first one has
-- committed (or rolled back, which undoes the increment: no gaps). A
-- reader that has seen position N has therefore seen every position below
-- N: a consumer that keeps the last position it processed never skips a
-- row committed later with a smaller number (which plain sequence ids on
-- PostgreSQL would allow). The price: writes of one tenant's users are
-- serialised from their history insert (the end of the transaction) to
-- their commit.
CREATE TABLE tenant_feed (
    tenant_id TEXT COLLATE "C" NOT NULL,
    last_seq  BIGINT NOT NULL,
    CONSTRAINT tenant_feed_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_feed_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);

ALTER TABLE user_history ADD COLUMN feed_seq BIGINT;
-- History written before the feed existed: in time order per tenant.
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
ALTER TABLE user_history ALTER COLUMN feed_seq SET NOT NULL;
-- The feed's order, and its reads (`feed_seq > cursor`).
CREATE UNIQUE INDEX user_history_tenant_feed ON user_history (tenant_id, feed_seq);

CREATE FUNCTION user_history_feed_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_feed AS f (tenant_id, last_seq) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last_seq = f.last_seq + 1
    RETURNING f.last_seq INTO NEW.feed_seq;
    RETURN NEW;
END
$$;
CREATE TRIGGER user_history_feed_seq BEFORE INSERT ON user_history
    FOR EACH ROW EXECUTE FUNCTION user_history_feed_seq();

-- Webhooks: consumers of the feed, each with its own cursor (the last
-- event handled: delivered, or passed over as not subscribed) and the
-- state of its pending delivery. A node delivering holds a lease
-- (`lease_id`, `lease_until`) taken in a short transaction (FOR UPDATE
-- SKIP LOCKED), so two nodes never deliver the same attempt.
CREATE TABLE webhooks (
    id              TEXT COLLATE "C" NOT NULL,
    tenant_id       TEXT COLLATE "C" NOT NULL,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    description     TEXT,
    -- The signing secret. Kept as is: signing needs it (unlike an API key,
    -- which is only ever checked and so is stored hashed).
    secret          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    cursor_seq      BIGINT NOT NULL,
    cursor_index    BIGINT NOT NULL,
    state           TEXT COLLATE "C" NOT NULL,
    attempts        BIGINT NOT NULL,
    failing_since   BIGINT,
    next_attempt_at BIGINT NOT NULL,
    lease_id        TEXT COLLATE "C",
    lease_until     BIGINT,
    CONSTRAINT webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT webhooks_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);
CREATE INDEX webhooks_tenant_created ON webhooks (tenant_id, created_at, id);
-- The worker's question: which active webhooks are due.
CREATE INDEX webhooks_due ON webhooks (state, next_attempt_at);

CREATE TABLE webhook_deliveries (
    id            TEXT COLLATE "C" NOT NULL,
    webhook_id    TEXT COLLATE "C" NOT NULL,
    event_cursor  TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    attempt       BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    status_code   BIGINT,
    latency_ms    BIGINT NOT NULL,
    error         TEXT,
    next_retry_at BIGINT,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_webhook_fk FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_webhook_at ON webhook_deliveries (webhook_id, at);
