-- +goose Up
-- A list part (gormdb: pgListPartSize) and its row fit a heap page, but
-- are larger than the 2 KB from which PostgreSQL tries to shrink a row:
-- with STORAGE MAIN it first ran pglz over every part's ciphertext, which
-- does not compress, for nothing (a tenth of inserting a list's parts,
-- measured in psql: 9.2-10 ms → 8.2-8.4 ms for 150 parts of 8,000 bytes).
-- From 8160 bytes, a page's room for one row, it tries only for rows that
-- would not fit, as a larger part from a binary before 00010 would be.
ALTER TABLE list_data_parts SET (toast_tuple_target = 8160);

-- +goose Down
ALTER TABLE list_data_parts RESET (toast_tuple_target);
