-- Failed password attempts, shared by every node (the domain's throttle
-- module holds the rule). One row per (tenant, login key, client address)
-- and one per (tenant, login key) over every address, whose address is ''.
-- Small: a row lives until its login succeeds or, once its failures are
-- older than the policy forgets, until a prune deletes it
-- (login_failures_last finds those).
CREATE TABLE login_failures (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    login           TEXT COLLATE "C" NOT NULL,
    address         TEXT COLLATE "C" NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (tenant_id, login, address),
    CONSTRAINT login_failures_count CHECK (failures >= 0)
);
CREATE INDEX login_failures_last ON login_failures (last_failure_at);

-- Secrets every node must share (the key continuation tokens are signed
-- with), made by the first node that starts and read by every other
-- (see storage's `Store::server_secret`). Never logged or returned.
CREATE TABLE server_secrets (
    name       TEXT COLLATE "C" NOT NULL,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT server_secrets_pkey PRIMARY KEY (name)
);
