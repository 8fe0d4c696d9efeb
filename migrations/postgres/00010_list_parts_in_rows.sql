-- +goose Up
-- A list's ciphertext is now stored in parts that fit a heap page with
-- their row (gormdb: pgListPartSize), kept in the row: one tuple per part,
-- where a value stored out of line is a TOAST chunk and an index entry per
-- 2 KB. MAIN, not PLAIN: a larger value, as a binary from before this
-- version writes, is still accepted and stored out of line. (MAIN first
-- tries to compress a value; on ciphertext pglz gives up within 1 KB.)
-- Parts written before stay out of line and read as before.
ALTER TABLE list_data_parts ALTER COLUMN ciphertext SET STORAGE MAIN;

-- +goose Down
ALTER TABLE list_data_parts ALTER COLUMN ciphertext SET STORAGE EXTERNAL;
