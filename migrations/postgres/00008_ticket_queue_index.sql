-- +goose Up
-- A LiKa's queue is its tickets most urgent first (due time, those
-- without one last, then ID), a page at a time. With the order in the
-- index the page is read straight off it and stops after the page; the
-- index on (lika_id, state) alone fetched every ticket of the LiKa's
-- state and sorted them, which cost more than the rest of the request
-- (BenchmarkReads, api/readbench_test.go).
CREATE INDEX tickets_queue ON tickets (lika_id, state, (due_at IS NULL), due_at, id);
CREATE INDEX tickets_queue_all ON tickets (lika_id, (due_at IS NULL), due_at, id);

-- +goose Down
DROP INDEX tickets_queue_all;
DROP INDEX tickets_queue;
