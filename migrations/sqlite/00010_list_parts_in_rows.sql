-- +goose Up
-- Nothing to change: on PostgreSQL this version keeps a list's parts in
-- their rows; SQLite stores a value as it is. The file keeps the two
-- schemas at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
