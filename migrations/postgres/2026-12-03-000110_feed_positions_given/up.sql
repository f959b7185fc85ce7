-- A writer of many history rows at once (the bulk import) reserves their
-- feed positions with one UPDATE of its tenant's `tenant_feed` row and
-- writes them in the rows; the trigger numbers only the rows that come
-- without one. The row lock and so the commit order are the same as
-- before; what goes is one UPDATE of the same row per history row, each
-- leaving a row version the next one walks past until the transaction
-- ends (quadratic in the batch).
CREATE OR REPLACE FUNCTION user_history_feed_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.feed_seq IS NULL THEN
        INSERT INTO tenant_feed AS f (tenant_id, last_seq) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = f.last_seq + 1
        RETURNING f.last_seq INTO NEW.feed_seq;
    END IF;
    RETURN NEW;
END
$$;
