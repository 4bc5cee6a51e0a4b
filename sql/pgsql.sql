-- mod_dcr_trusted registration store, schema version 1, PostgreSQL (docs/storage.md).
-- The module runs these statements itself in post_config unless DCRDBDCreateSchema Off.
CREATE TABLE IF NOT EXISTS dcr_clients (
    client_id VARCHAR(255) NOT NULL PRIMARY KEY,
    record TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    subject_key TEXT,
    rat_hash CHAR(64) NOT NULL
);
CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at);
CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL);
INSERT INTO dcr_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema);
