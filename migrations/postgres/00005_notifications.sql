-- +goose Up
-- Notification preferences per person: the language of their messages,
-- e-mail on or off, and the notice kinds they do not want (comma list).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'nl';
ALTER TABLE users ADD COLUMN notify_email BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN notify_muted TEXT NOT NULL DEFAULT '';

-- An organisation's webhook: every notice for it is POSTed there, signed
-- with HMAC-SHA256 under the secret.
ALTER TABLE organisations ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';

-- One row per notice per recipient and channel. The ID is derived from the
-- event, the kind, the channel and the recipient, so a retried or replayed
-- activity finds its row and never sends twice what was sent.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_key       TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    ticket_id       TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX deliveries_org ON deliveries (organisation_id, channel, created_at);
CREATE INDEX deliveries_event ON deliveries (event_key);

-- +goose Down
DROP TABLE deliveries;
ALTER TABLE organisations DROP COLUMN webhook_secret;
ALTER TABLE organisations DROP COLUMN webhook_url;
ALTER TABLE users DROP COLUMN notify_muted;
ALTER TABLE users DROP COLUMN notify_email;
ALTER TABLE users DROP COLUMN language;
