-- mod_dcr_trusted registration store, schema version 2, SQLite (docs/storage.md).
-- The module runs these statements itself when it opens the store; they are idempotent.
CREATE TABLE IF NOT EXISTS dcr_clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    record TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    subject_key TEXT,
    rat_hash TEXT NOT NULL
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
INSERT INTO dcr_schema (version) SELECT 2 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema);
-- A version 1 database (this file's tables but dcr_used_statements) is migrated in place.
UPDATE dcr_schema SET version = 2 WHERE version = 1;
