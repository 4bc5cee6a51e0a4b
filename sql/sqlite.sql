-- mod_dcr_trusted registration store, schema version 1, SQLite (docs/storage.md).
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
CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL);
INSERT INTO dcr_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema);
