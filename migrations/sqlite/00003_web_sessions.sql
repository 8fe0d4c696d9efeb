-- +goose Up
-- Signed-in people of the web pages. The browser holds a random ID; only
-- its SHA-256 is stored, so a copy of this table signs nobody in. Kept in
-- the database so that a restart or a second `cmr serve` behind a load
-- balancer keeps everyone signed in.
CREATE TABLE web_sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen_at);

-- +goose Down
DROP TABLE web_sessions;
