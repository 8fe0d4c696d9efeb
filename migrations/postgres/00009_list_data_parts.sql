-- +goose Up
-- A list's ciphertext in parts, in order. PostgreSQL stores each list as
-- one part (until 00010); the embedded database of `cmr dev` in parts of at most 12 KB,
-- which its driver writes without mapping fresh memory (see the SQLite
-- file of this version). The parts are one sealed message: one missing,
-- doubled or out of order and the list does not decrypt.
CREATE TABLE list_data_parts (
    list_id    TEXT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    part       INTEGER NOT NULL,
    ciphertext BYTEA NOT NULL,
    PRIMARY KEY (list_id, part)
);
-- Ciphertext does not compress: stored out of line without trying.
ALTER TABLE list_data_parts ALTER COLUMN ciphertext SET STORAGE EXTERNAL;
INSERT INTO list_data_parts (list_id, part, ciphertext) SELECT list_id, 0, ciphertext FROM list_data;
DROP TABLE list_data;

-- +goose Down
CREATE TABLE list_data (
    list_id    TEXT PRIMARY KEY REFERENCES lists (id) ON DELETE CASCADE,
    ciphertext BYTEA NOT NULL
);
INSERT INTO list_data (list_id, ciphertext)
    SELECT list_id, string_agg(ciphertext, ''::bytea ORDER BY part) FROM list_data_parts GROUP BY list_id;
DROP TABLE list_data_parts;
