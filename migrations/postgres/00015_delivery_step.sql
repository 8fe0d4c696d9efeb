-- +goose Up
-- The step a notice is about ("step_waiting": which step waits), so that a
-- delivery sent again by hand carries it as the first one did.
ALTER TABLE deliveries ADD COLUMN step TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN step;
