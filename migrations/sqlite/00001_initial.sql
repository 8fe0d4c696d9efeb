-- +goose Up
CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('school', 'distributor', 'publisher', 'kennisnet')),
    brin       TEXT,
    sector     TEXT,
    created_at DATETIME NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME
);

CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    school_id      TEXT NOT NULL REFERENCES organisations (id),
    distributor_id TEXT NOT NULL REFERENCES organisations (id),
    sector         TEXT NOT NULL,
    header         TEXT NOT NULL,
    switch_on      TEXT NOT NULL,
    deadline_on    TEXT NOT NULL,
    status         TEXT NOT NULL,
    cancel_reason  TEXT NOT NULL DEFAULT '',
    version        INTEGER NOT NULL,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    closed_at      DATETIME
);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX cases_school ON cases (school_id);

CREATE TABLE case_parties (
    case_id         TEXT NOT NULL REFERENCES cases (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    role            TEXT NOT NULL,
    PRIMARY KEY (case_id, organisation_id)
);
CREATE INDEX case_parties_org ON case_parties (organisation_id);

CREATE TABLE case_steps (
    case_id       TEXT NOT NULL REFERENCES cases (id),
    key           TEXT NOT NULL,
    position      INTEGER NOT NULL,
    definition    TEXT NOT NULL,
    state         TEXT NOT NULL,
    data          TEXT,
    submission_id TEXT NOT NULL DEFAULT '',
    done_by       TEXT,
    done_at       DATETIME,
    attempt       INTEGER NOT NULL,
    PRIMARY KEY (case_id, key)
);

CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases (id),
    lika_id          TEXT NOT NULL REFERENCES organisations (id),
    state            TEXT NOT NULL,
    clock_started_at DATETIME,
    warn_at          DATETIME,
    due_at           DATETIME,
    warned_at        DATETIME,
    breached_at      DATETIME,
    resolved_at      DATETIME,
    resolved_by      TEXT,
    submission_id    TEXT NOT NULL DEFAULT '',
    note             TEXT NOT NULL DEFAULT '',
    version          INTEGER NOT NULL,
    UNIQUE (case_id, lika_id)
);
CREATE INDEX tickets_lika ON tickets (lika_id, state);

CREATE TABLE submissions (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

-- The audit trail is append-only: rows are inserted once (key makes a
-- retried write a no-op) and never updated or deleted.
CREATE TABLE events (
    key           TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL,
    ticket_id     TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL,
    step          TEXT NOT NULL DEFAULT '',
    actor         TEXT,
    at            DATETIME NOT NULL,
    submission_id TEXT NOT NULL DEFAULT '',
    details       TEXT,
    recorded_at   DATETIME NOT NULL
);
CREATE INDEX events_case ON events (case_id, at);

-- +goose StatementBegin
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE events;
DROP TABLE submissions;
DROP TABLE tickets;
DROP TABLE case_steps;
DROP TABLE case_parties;
DROP TABLE cases;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE organisations;
