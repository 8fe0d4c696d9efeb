-- +goose Up
-- Every request to open a case first reserves its case ID here, before the
-- case workflow starts. A client that sent an Idempotency-Key and lost the
-- answer (a timeout, a dropped connection) sends the request again with
-- the same key: the reservation leads it to the case its first attempt
-- opened, instead of opening a second case for the same school.
CREATE TABLE case_openings (
    case_id         TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    idempotency_key TEXT,
    request_hash    TEXT NOT NULL,
    created_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX case_openings_key ON case_openings (organisation_id, idempotency_key);

-- +goose Down
DROP TABLE case_openings;
