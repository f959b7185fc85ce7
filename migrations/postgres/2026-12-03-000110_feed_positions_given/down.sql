CREATE OR REPLACE FUNCTION user_history_feed_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_feed AS f (tenant_id, last_seq) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last_seq = f.last_seq + 1
    RETURNING f.last_seq INTO NEW.feed_seq;
    RETURN NEW;
END
$$;
