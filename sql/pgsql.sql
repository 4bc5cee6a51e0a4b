-- mod_dcr_trusted registration store, schema version 3, PostgreSQL (docs/storage.md).
-- The module runs these statements itself in post_config unless DCRDBDCreateSchema Off.
CREATE TABLE IF NOT EXISTS dcr_clients (
    client_id VARCHAR(255) NOT NULL PRIMARY KEY,
    record TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    subject_key TEXT,
    rat_hash CHAR(64) NOT NULL,
    -- version 3: the secrets of a client an upstream holds (DCRUpstream, docs/upstream.md),
    -- kept out of the record
    upstream_secret TEXT
);
ALTER TABLE dcr_clients ADD COLUMN IF NOT EXISTS upstream_secret TEXT;
CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at);
CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at) WHERE expires_at IS NOT NULL;
-- Version 2: statements that register once (DCRVCBinding aud, docs/vc.md) are remembered
-- by their hash until they expire; the sweep deletes expired rows.
CREATE TABLE IF NOT EXISTS dcr_used_statements (
    hash CHAR(64) NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS dcr_used_statements_expires ON dcr_used_statements (expires_at);
CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL);
INSERT INTO dcr_schema (version) SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema);
-- Older databases (version 1: no dcr_used_statements; 2: no upstream_secret) are migrated
-- in place.
UPDATE dcr_schema SET version = 3 WHERE version < 3;
-- The subject lock of a registration (docs/storage.md, "race-free lifecycle"): a session
-- advisory lock, then the subject's live clients read under it, in one round trip. VOLATILE:
-- the read takes its snapshot after the lock, so it sees what the previous holder committed.
-- The write that ends the registration moves the lock to its own transaction (store_sql.c).
CREATE OR REPLACE FUNCTION dcr_lock_find(lock_key BIGINT, subject TEXT, now_s BIGINT)
    RETURNS TABLE (client_id VARCHAR, record TEXT) VOLATILE LANGUAGE plpgsql
AS $$ BEGIN
    PERFORM pg_advisory_lock(lock_key);
    RETURN QUERY SELECT c.client_id, c.record FROM dcr_clients c WHERE c.subject_key = subject
        AND (c.expires_at IS NULL OR c.expires_at > now_s) ORDER BY c.issued_at, c.client_id;
END $$;
