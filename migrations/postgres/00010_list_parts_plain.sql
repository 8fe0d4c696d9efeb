-- +goose Up
-- A list's ciphertext is now stored in parts that fit a heap page with
-- their row (gormdb: pgListPartSize), kept in the row as they are: one
-- tuple per part, where a value stored out of line is a TOAST chunk and an
-- index entry per 2 KB. Parts written before stay out of line and read as
-- before.
ALTER TABLE list_data_parts ALTER COLUMN ciphertext SET STORAGE PLAIN;

-- +goose Down
ALTER TABLE list_data_parts ALTER COLUMN ciphertext SET STORAGE EXTERNAL;
