-- +goose Up
-- A list's ciphertext in parts of at most 12 KB, in order. The embedded
-- database's driver copies a value it writes into memory of its own, and
-- maps a block over 16 KB afresh for every copy: a 1.2 MB list written as
-- one value cost 11.6 ms of CPU, most of it page faults and unmaps; in
-- parts that fit the driver's 16 KB slots, whose pages the store keeps
-- mapped, 6 ms (gormdb.listPartSize, gormdb/slots.go).
-- The parts are one sealed message: one missing, doubled or out of order
-- and the list does not decrypt.
CREATE TABLE list_data_parts (
    list_id    TEXT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    part       INTEGER NOT NULL,
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (list_id, part)
);
INSERT INTO list_data_parts (list_id, part, ciphertext) SELECT list_id, 0, ciphertext FROM list_data;
DROP TABLE list_data;

-- +goose Down
CREATE TABLE list_data (
    list_id    TEXT PRIMARY KEY REFERENCES lists (id) ON DELETE CASCADE,
    ciphertext BLOB NOT NULL
);
INSERT INTO list_data (list_id, ciphertext)
    SELECT list_id, CAST(group_concat(ciphertext, '' ORDER BY part) AS BLOB) FROM list_data_parts GROUP BY list_id;
DROP TABLE list_data_parts;
