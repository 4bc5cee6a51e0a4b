-- mod_dcr_trusted registration store, schema version 3, SQLite (docs/storage.md).
-- The module runs these statements itself when it opens the store; they are idempotent.
CREATE TABLE IF NOT EXISTS dcr_clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    record TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    subject_key TEXT,
    rat_hash TEXT NOT NULL,
    -- version 3: the secrets of a client an upstream holds (DCRUpstream, docs/upstream.md),
    -- kept out of the record. A version 2 table gets it from the module, or by hand, once:
    -- ALTER TABLE dcr_clients ADD COLUMN upstream_secret TEXT;
    upstream_secret TEXT
);
CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at);
CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at) WHERE expires_at IS NOT NULL;
-- Version 2: statements that register once (DCRVCBinding aud, docs/vc.md) are remembered
-- by their hash until they expire; the sweep deletes expired rows.
CREATE TABLE IF NOT EXISTS dcr_used_statements (
    hash TEXT NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dcr_used_statements_expires ON dcr_used_statements (expires_at);
CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL);
INSERT INTO dcr_schema (version) SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema);
-- Older databases (version 1: no dcr_used_statements; 2: no upstream_secret) are migrated
-- in place.
UPDATE dcr_schema SET version = 3 WHERE version < 3;
