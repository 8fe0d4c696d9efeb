-- +goose Up
CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('school', 'distributor', 'publisher', 'kennisnet')),
    brin       TEXT,
    sector     TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    school_id      TEXT NOT NULL REFERENCES organisations (id),
    distributor_id TEXT NOT NULL REFERENCES organisations (id),
    sector         TEXT NOT NULL,
    header         JSONB NOT NULL,
    switch_on      TEXT NOT NULL,
    deadline_on    TEXT NOT NULL,
    status         TEXT NOT NULL,
    cancel_reason  TEXT NOT NULL DEFAULT '',
    version        INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    closed_at      TIMESTAMPTZ
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
    definition    JSONB NOT NULL,
    state         TEXT NOT NULL,
    data          JSONB,
    submission_id TEXT NOT NULL DEFAULT '',
    done_by       JSONB,
    done_at       TIMESTAMPTZ,
    attempt       INTEGER NOT NULL,
    PRIMARY KEY (case_id, key)
);

CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases (id),
    lika_id          TEXT NOT NULL REFERENCES organisations (id),
    state            TEXT NOT NULL,
    clock_started_at TIMESTAMPTZ,
    warn_at          TIMESTAMPTZ,
    due_at           TIMESTAMPTZ,
    warned_at        TIMESTAMPTZ,
    breached_at      TIMESTAMPTZ,
    resolved_at      TIMESTAMPTZ,
    resolved_by      JSONB,
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
    data       JSONB NOT NULL,
    actor      JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The audit trail is append-only: rows are inserted once (key makes a
-- retried write a no-op) and never updated or deleted.
CREATE TABLE events (
    key           TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL,
    ticket_id     TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL,
    step          TEXT NOT NULL DEFAULT '',
    actor         JSONB,
    at            TIMESTAMPTZ NOT NULL,
    submission_id TEXT NOT NULL DEFAULT '',
    details       JSONB,
    recorded_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_case ON events (case_id, at);

-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- +goose Down
DROP TABLE events;
DROP FUNCTION events_append_only;
DROP TABLE submissions;
DROP TABLE tickets;
DROP TABLE case_steps;
DROP TABLE case_parties;
DROP TABLE cases;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE organisations;
