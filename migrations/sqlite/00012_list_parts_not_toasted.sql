-- +goose Up
-- Nothing to change: on PostgreSQL this version stops trying to compress
-- a list's parts; SQLite never does. The file keeps the two schemas at
-- the same version.
SELECT 1;

-- +goose Down
SELECT 1;
