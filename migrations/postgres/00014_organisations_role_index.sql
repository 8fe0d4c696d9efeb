-- +goose Up
-- The directory is read by role (the LiKas an opening names, Kennisnet,
-- a page of GET /organisations?role=publisher) among thousands of schools:
-- by index, in ID order, not by reading every organisation.
CREATE INDEX organisations_role ON organisations (role, id);

-- +goose Down
DROP INDEX organisations_role;
