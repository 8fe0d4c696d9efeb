-- +goose Up
-- The case list is newest first, 500 at a time: without an index on that
-- order every list read the whole cases table (each row carries its ~1 KB
-- header) and sorted it; with it the read walks the index and stops after
-- a page. BenchmarkReads (api/readbench_test.go) measures it.
CREATE INDEX cases_created ON cases (created_at DESC, id);

-- The open tickets of a party's cases (the case list's at-risk flags, the
-- overdue filter) were found by reading every ticket; tickets_lika only
-- serves a LiKa's own queue. With case_id second, "has this case an open
-- ticket" is one lookup too (SQLite, without statistics, would otherwise
-- pick an index on state alone and walk every open ticket for each case).
CREATE INDEX tickets_state ON tickets (state, case_id);

-- +goose Down
DROP INDEX tickets_state;
DROP INDEX cases_created;
