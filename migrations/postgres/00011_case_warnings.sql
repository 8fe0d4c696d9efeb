-- +goose Up
-- A case's warnings in a column of their own, so the case list reads them
-- without decoding each case's whole header (a quarter of the list
-- handler's time, in a profile). Filled here from the headers written
-- before; 'null' where a case has none, so no row falls back to its header.
ALTER TABLE cases ADD COLUMN warnings JSONB;
UPDATE cases SET warnings = COALESCE(header -> 'warnings', 'null'::jsonb);

-- +goose Down
ALTER TABLE cases DROP COLUMN warnings;
