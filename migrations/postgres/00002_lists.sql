-- +goose Up
-- One data key per case, stored only wrapped by the master key; deleted
-- (set to NULL) when the case's lists are purged.
CREATE TABLE case_keys (
    case_id     TEXT PRIMARY KEY REFERENCES cases (id),
    wrapped_key BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    purged_at   TIMESTAMPTZ
);

-- Every uploaded version of a list; the rows are AES-256-GCM ciphertext
-- bound to (case, list id, version).
CREATE TABLE lists (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    ticket_id   TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL CHECK (kind IN ('complete', 'supplier', 'returned')),
    format      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    uploaded_by JSONB NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    current     BOOLEAN NOT NULL,
    UNIQUE (case_id, ticket_id, kind, version)
);
CREATE INDEX lists_case ON lists (case_id, kind, current);

-- The ciphertext apart from the metadata, so that marking a version as no
-- longer current never rewrites megabytes.
CREATE TABLE list_data (
    list_id    TEXT PRIMARY KEY REFERENCES lists (id) ON DELETE CASCADE,
    ciphertext BYTEA NOT NULL
);

-- Rows a LiKa reports it could not process when it closes its ticket.
ALTER TABLE tickets ADD COLUMN unprocessed JSONB;

-- +goose Down
ALTER TABLE tickets DROP COLUMN unprocessed;
DROP TABLE list_data;
DROP TABLE lists;
DROP TABLE case_keys;
