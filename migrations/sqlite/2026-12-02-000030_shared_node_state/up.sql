-- Failed password attempts, shared by every connection (the domain's
-- throttle module holds the rule). One row per (tenant, login key, client
-- address) and one per (tenant, login key) over every address, whose
-- address is ''. Pruned once the policy forgets them (login_failures_last).
CREATE TABLE login_failures (
    tenant_id       TEXT NOT NULL,
    login           TEXT NOT NULL,
    address         TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (tenant_id, login, address),
    CONSTRAINT login_failures_count CHECK (failures >= 0)
) STRICT;
CREATE INDEX login_failures_last ON login_failures (last_failure_at);

-- Secrets every connection must share (the key continuation tokens are
-- signed with), made at the first start (see storage's
-- `Store::server_secret`). Never logged or returned.
CREATE TABLE server_secrets (
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT server_secrets_pkey PRIMARY KEY (name)
) STRICT;
