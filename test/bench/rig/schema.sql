-- The rig's table (mod_dcr_rig.c), shaped like the module's dcr_clients (sql/*.sql): a text
-- primary key, the record, issued_at and an index on the subject, so one insert does
-- comparable index work. Valid for SQLite and PostgreSQL; bench.py creates it before start.
CREATE TABLE rig_clients (
    client_id VARCHAR(255) NOT NULL PRIMARY KEY,
    record TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    subject_key TEXT
);
CREATE INDEX rig_clients_subject ON rig_clients (subject_key, issued_at);
