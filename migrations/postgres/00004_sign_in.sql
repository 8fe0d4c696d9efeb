-- +goose Up
-- What a first OIDC login is matched on (seed 003): a person's names, a
-- short code, or an explicit user name set by the organisation's admin.
ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN short_code TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN oidc_username TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;

-- What an API token is for, as its organisation's admin named it.
ALTER TABLE api_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';

-- An organisation's e-mail patterns, one per line, e.g.
-- [firstname].[lastname]@lyceum.nl.
ALTER TABLE organisations ADD COLUMN email_patterns TEXT NOT NULL DEFAULT '';

-- A person's accounts at identity providers, keyed on (issuer, subject):
-- never on an e-mail address, which providers let people change.
CREATE TABLE user_identities (
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- Sign-ins under way: the state, nonce and PKCE verifier of one redirect to
-- a provider, used once at the callback. The state is stored hashed.
CREATE TABLE oidc_logins (
    state_hash      TEXT PRIMARY KEY,
    nonce           TEXT NOT NULL,
    verifier        TEXT NOT NULL,
    provider        TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    return_to       TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE oidc_logins;
DROP TABLE user_identities;
ALTER TABLE organisations DROP COLUMN email_patterns;
ALTER TABLE api_tokens DROP COLUMN label;
ALTER TABLE users DROP COLUMN admin;
ALTER TABLE users DROP COLUMN oidc_username;
ALTER TABLE users DROP COLUMN short_code;
ALTER TABLE users DROP COLUMN last_name;
ALTER TABLE users DROP COLUMN first_name;
